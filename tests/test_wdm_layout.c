/* The WDM surface (include/dmacoh/wdm.h): x64 sizes and offsets a driver depends on, the
 * values of the constants, and the behaviour of the macros and inline helpers.  Only types,
 * macros and static inlines are used — no routine of dmacoh's kernel. */
#include "dctest.h"
#include "dmacoh/wdm.h"

DC_TEST(wdm_basic_type_sizes)
{
	CHECK_EQ(sizeof(UCHAR), 1);
	CHECK_EQ(sizeof(BOOLEAN), 1);
	CHECK_EQ(sizeof(CSHORT), 2);
	CHECK_EQ(sizeof(WCHAR), 2);
	CHECK_EQ(sizeof(ULONG), 4);
	CHECK_EQ(sizeof(LONG), 4);
	CHECK_EQ(sizeof(NTSTATUS), 4);
	CHECK_EQ(sizeof(ULONG_PTR), 8);
	CHECK_EQ(sizeof(SIZE_T), 8);
	CHECK_EQ(sizeof(PFN_NUMBER), 8);
	CHECK_EQ(sizeof(KSPIN_LOCK), 8);
	CHECK_EQ(sizeof(LONGLONG), 8);
	CHECK_EQ(sizeof(LARGE_INTEGER), 8);
	CHECK_EQ(sizeof(PHYSICAL_ADDRESS), 8);
	CHECK_EQ(sizeof(UNICODE_STRING), 16);
	CHECK_EQ(sizeof(LIST_ENTRY), 16);
	CHECK_EQ(sizeof(GUID), 16);
	CHECK_EQ(sizeof(KIRQL), 1);
}

DC_TEST(wdm_large_integer_parts)
{
	LARGE_INTEGER li;
	li.QuadPart = 0x123456789abcdef0LL;
	CHECK_EQ(li.LowPart, 0x9abcdef0U);
	CHECK_EQ(li.HighPart, 0x12345678);
	CHECK_EQ(li.u.LowPart, 0x9abcdef0U);
	CHECK_EQ(li.u.HighPart, 0x12345678);
	li.QuadPart = -1;
	CHECK(li.HighPart == -1);
}

DC_TEST(wdm_ntstatus_values)
{
	CHECK_EQ((ULONG)STATUS_SUCCESS, 0);
	CHECK_EQ((ULONG)STATUS_PENDING, 0x103);
	CHECK_EQ((ULONG)STATUS_TIMEOUT, 0x102);
	CHECK_EQ((ULONG)STATUS_UNSUCCESSFUL, 0xC0000001U);
	CHECK_EQ((ULONG)STATUS_NOT_IMPLEMENTED, 0xC0000002U);
	CHECK_EQ((ULONG)STATUS_INVALID_PARAMETER, 0xC000000DU);
	CHECK_EQ((ULONG)STATUS_NO_SUCH_DEVICE, 0xC000000EU);
	CHECK_EQ((ULONG)STATUS_INVALID_DEVICE_REQUEST, 0xC0000010U);
	CHECK_EQ((ULONG)STATUS_END_OF_FILE, 0xC0000011U);
	CHECK_EQ((ULONG)STATUS_NO_MEDIA_IN_DEVICE, 0xC0000013U);
	CHECK_EQ((ULONG)STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016U);
	CHECK_EQ((ULONG)STATUS_NO_MEMORY, 0xC0000017U);
	CHECK_EQ((ULONG)STATUS_BUFFER_TOO_SMALL, 0xC0000023U);
	CHECK_EQ((ULONG)STATUS_DATA_ERROR, 0xC000003EU);
	CHECK_EQ((ULONG)STATUS_CRC_ERROR, 0xC000003FU);
	CHECK_EQ((ULONG)STATUS_DELETE_PENDING, 0xC0000056U);
	CHECK_EQ((ULONG)STATUS_INSUFFICIENT_RESOURCES, 0xC000009AU);
	CHECK_EQ((ULONG)STATUS_DEVICE_DATA_ERROR, 0xC000009CU);
	CHECK_EQ((ULONG)STATUS_MEDIA_WRITE_PROTECTED, 0xC00000A2U);
	CHECK_EQ((ULONG)STATUS_DEVICE_NOT_READY, 0xC00000A3U);
	CHECK_EQ((ULONG)STATUS_NOT_SUPPORTED, 0xC00000BBU);
	CHECK_EQ((ULONG)STATUS_CANCELLED, 0xC0000120U);
	CHECK_EQ((ULONG)STATUS_INVALID_DEVICE_STATE, 0xC0000184U);
	CHECK_EQ((ULONG)STATUS_IO_DEVICE_ERROR, 0xC0000185U);
	CHECK_EQ((ULONG)STATUS_BUFFER_OVERFLOW, 0x80000005U);
	CHECK_EQ((ULONG)STATUS_DEVICE_POWERED_OFF, 0x8000000FU);
	CHECK_EQ((ULONG)STATUS_DEVICE_BUSY, 0x80000011U);
	CHECK(STATUS_UNSUCCESSFUL < 0);
}

DC_TEST(wdm_ntstatus_classes)
{
	CHECK(NT_SUCCESS(STATUS_SUCCESS));
	CHECK(NT_SUCCESS(STATUS_PENDING));
	CHECK(NT_SUCCESS(STATUS_TIMEOUT));
	CHECK(!NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
	CHECK(!NT_SUCCESS(STATUS_INSUFFICIENT_RESOURCES));
	CHECK(NT_WARNING(STATUS_BUFFER_OVERFLOW));
	CHECK(NT_WARNING(STATUS_DEVICE_BUSY));
	CHECK(NT_ERROR(STATUS_IO_DEVICE_ERROR));
	CHECK(!NT_ERROR(STATUS_SUCCESS));
	CHECK(!NT_INFORMATION(STATUS_SUCCESS));
	CHECK(NT_INFORMATION((NTSTATUS)0x40000000L));
}

DC_TEST(wdm_irql_and_page_constants)
{
	CHECK_EQ(PASSIVE_LEVEL, 0);
	CHECK_EQ(APC_LEVEL, 1);
	CHECK_EQ(DISPATCH_LEVEL, 2);
	CHECK_EQ(CLOCK_LEVEL, 13);
	CHECK_EQ(HIGH_LEVEL, 15);
	CHECK_EQ(PAGE_SIZE, 0x1000);
	CHECK_EQ(PAGE_SHIFT, 12);
}

DC_TEST(wdm_page_macros)
{
	CHECK_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)0x1ff0, 0x20), 2);
	CHECK_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)0x1000, 0x1000), 1);
	CHECK_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)0x1001, 0x1000), 2);
	CHECK_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)0x1000, 0), 0);
	CHECK_EQ(BYTES_TO_PAGES(4097), 2);
	CHECK_EQ(BYTES_TO_PAGES(4096), 1);
	CHECK_EQ(BYTES_TO_PAGES(0), 0);
	CHECK_EQ(BYTE_OFFSET((PVOID)0x12345), 0x345);
	CHECK_EQ((ULONG_PTR)PAGE_ALIGN((PVOID)0x7fff12345ULL), 0x7fff12000ULL);
	CHECK_EQ(ROUND_TO_PAGES(1), 0x1000);
	CHECK_EQ(ROUND_TO_PAGES(0x1000), 0x1000);
	CHECK_EQ(ROUND_TO_PAGES(0x1001), 0x2000);
}

struct wdm_rec {
	ULONG a;
	LIST_ENTRY link;
};

DC_TEST(wdm_record_macros)
{
	struct wdm_rec r;
	CHECK_EQ(FIELD_OFFSET(struct wdm_rec, link), 8);
	CHECK(CONTAINING_RECORD(&r.link, struct wdm_rec, link) == &r);
	CHECK_EQ(RTL_FIELD_SIZE(struct wdm_rec, link), 16);
}

DC_TEST(wdm_memory_macros)
{
	UCHAR a[16], b[16];
	RtlFillMemory(a, sizeof(a), 0xab);
	RtlZeroMemory(b, sizeof(b));
	CHECK_EQ(a[15], 0xab);
	CHECK_EQ(b[3], 0);
	CHECK(!RtlEqualMemory(a, b, sizeof(a)));
	RtlCopyMemory(b, a, sizeof(a));
	CHECK(RtlEqualMemory(a, b, sizeof(a)));
	RtlMoveMemory(a + 1, a, 8);
	CHECK_EQ(a[8], 0xab);
}

DC_TEST(wdm_list_entry)
{
	LIST_ENTRY head;
	struct wdm_rec r1, r2, r3;
	InitializeListHead(&head);
	CHECK(IsListEmpty(&head));
	InsertTailList(&head, &r1.link);
	InsertTailList(&head, &r2.link);
	InsertHeadList(&head, &r3.link);
	CHECK(!IsListEmpty(&head));
	CHECK(head.Flink == &r3.link);
	CHECK(head.Blink == &r2.link);
	CHECK(RemoveHeadList(&head) == &r3.link);
	CHECK(!RemoveEntryList(&r2.link));
	CHECK(RemoveHeadList(&head) == &r1.link);
	CHECK(IsListEmpty(&head));
	InsertTailList(&head, &r1.link);
	CHECK(RemoveEntryList(&r1.link));
}

DC_TEST(wdm_mdl_layout)
{
	CHECK_EQ(offsetof(MDL, Next), 0);
	CHECK_EQ(offsetof(MDL, Size), 8);
	CHECK_EQ(offsetof(MDL, MdlFlags), 10);
	CHECK_EQ(offsetof(MDL, Process), 16);
	CHECK_EQ(offsetof(MDL, MappedSystemVa), 24);
	CHECK_EQ(offsetof(MDL, StartVa), 32);
	CHECK_EQ(offsetof(MDL, ByteCount), 40);
	CHECK_EQ(offsetof(MDL, ByteOffset), 44);
	CHECK_EQ(sizeof(MDL), 48);
	CHECK_EQ(MDL_MAPPED_TO_SYSTEM_VA, 0x1);
	CHECK_EQ(MDL_PAGES_LOCKED, 0x2);
	CHECK_EQ(MDL_SOURCE_IS_NONPAGED_POOL, 0x4);
	CHECK_EQ(MDL_ALLOCATED_FIXED_SIZE, 0x8);
	CHECK_EQ(MDL_PARTIAL, 0x10);
	CHECK_EQ(MDL_PARTIAL_HAS_BEEN_MAPPED, 0x20);
	CHECK_EQ(MDL_IO_PAGE_READ, 0x40);
	CHECK_EQ(MDL_WRITE_OPERATION, 0x80);
}

DC_TEST(wdm_mdl_macros)
{
	union {
		MDL mdl;
		UCHAR bytes[sizeof(MDL) + 3 * sizeof(PFN_NUMBER)];
	} u;
	PMDL mdl = &u.mdl;
	PVOID va = (PVOID)0x7f0000001ff0ULL;
	MmInitializeMdl(mdl, va, 0x1020);
	CHECK(mdl->Next == NULL);
	CHECK_EQ(mdl->MdlFlags, 0);
	CHECK_EQ((ULONG_PTR)mdl->StartVa, 0x7f0000001000ULL);
	CHECK_EQ(MmGetMdlByteOffset(mdl), 0xff0);
	CHECK_EQ(MmGetMdlByteCount(mdl), 0x1020);
	CHECK(MmGetMdlVirtualAddress(mdl) == va);
	CHECK(MmGetMdlBaseVa(mdl) == mdl->StartVa);
	/* 0xff0 + 0x1020 spans three pages */
	CHECK_EQ(mdl->Size, sizeof(MDL) + 3 * sizeof(PFN_NUMBER));
	CHECK((PUCHAR)MmGetMdlPfnArray(mdl) == u.bytes + sizeof(MDL));

	/* A hand-built MDL, as a driver sees one from the I/O manager */
	MDL m = {0};
	m.StartVa = (PVOID)0x10000;
	m.ByteOffset = 0x234;
	m.ByteCount = 100;
	CHECK_EQ((ULONG_PTR)MmGetMdlVirtualAddress(&m), 0x10234);
}

DC_TEST(wdm_memory_enums)
{
	CHECK_EQ(LowPagePriority, 0);
	CHECK_EQ(NormalPagePriority, 16);
	CHECK_EQ(HighPagePriority, 32);
	CHECK_EQ(MdlMappingNoWrite, 0x80000000U);
	CHECK_EQ(MdlMappingNoExecute, 0x40000000U);
	CHECK_EQ(MmNonCached, 0);
	CHECK_EQ(MmCached, 1);
	CHECK_EQ(MmWriteCombined, 2);
	CHECK_EQ(KernelMode, 0);
	CHECK_EQ(UserMode, 1);
	CHECK_EQ(IoReadAccess, 0);
	CHECK_EQ(IoWriteAccess, 1);
	CHECK_EQ(IoModifyAccess, 2);
	CHECK_EQ(NonPagedPool, 0);
	CHECK_EQ(PagedPool, 1);
	CHECK_EQ(NonPagedPoolMustSucceed, 2);
	CHECK_EQ(NonPagedPoolCacheAligned, 4);
	CHECK_EQ(NonPagedPoolNx, 512);
	CHECK_EQ(POOL_FLAG_NON_PAGED, 0x40);
	CHECK_EQ(POOL_FLAG_PAGED, 0x100);
	CHECK_EQ(sizeof(POOL_FLAGS), 8);
}

DC_TEST(wdm_dma_enums)
{
	CHECK_EQ(InterfaceTypeUndefined, -1);
	CHECK_EQ(Internal, 0);
	CHECK_EQ(Isa, 1);
	CHECK_EQ(Eisa, 2);
	CHECK_EQ(MicroChannel, 3);
	CHECK_EQ(TurboChannel, 4);
	CHECK_EQ(PCIBus, 5);
	CHECK_EQ(Width8Bits, 0);
	CHECK_EQ(Width64Bits, 3);
	CHECK_EQ(WidthNoWrap, 4);
	CHECK_EQ(Compatible, 0);
	CHECK_EQ(TypeF, 4);
	CHECK_EQ(KeepObject, 1);
	CHECK_EQ(DeallocateObject, 2);
	CHECK_EQ(DeallocateObjectKeepRegisters, 3);
	CHECK_EQ(DEVICE_DESCRIPTION_VERSION, 0);
	CHECK_EQ(DEVICE_DESCRIPTION_VERSION2, 2);
	CHECK_EQ(DEVICE_DESCRIPTION_VERSION3, 3);
}

DC_TEST(wdm_dma_layout)
{
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, Version), 0);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, Master), 4);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, Dma64BitAddresses), 11);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, BusNumber), 12);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, InterfaceType), 20);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, MaximumLength), 32);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, DmaPort), 36);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, DmaAddressWidth), 40);
	CHECK_EQ(offsetof(DEVICE_DESCRIPTION, DeviceAddress), 56);
	CHECK_EQ(sizeof(DEVICE_DESCRIPTION), 64);

	CHECK_EQ(offsetof(SCATTER_GATHER_ELEMENT, Address), 0);
	CHECK_EQ(offsetof(SCATTER_GATHER_ELEMENT, Length), 8);
	CHECK_EQ(offsetof(SCATTER_GATHER_ELEMENT, Reserved), 16);
	CHECK_EQ(sizeof(SCATTER_GATHER_ELEMENT), 24);
	CHECK_EQ(offsetof(SCATTER_GATHER_LIST, NumberOfElements), 0);
	CHECK_EQ(offsetof(SCATTER_GATHER_LIST, Elements), 16);
	CHECK_EQ(sizeof(SCATTER_GATHER_LIST), 16);

	CHECK_EQ(offsetof(DMA_ADAPTER, Version), 0);
	CHECK_EQ(offsetof(DMA_ADAPTER, Size), 2);
	CHECK_EQ(offsetof(DMA_ADAPTER, DmaOperations), 8);
	CHECK_EQ(sizeof(DMA_ADAPTER), 16);
}

DC_TEST(wdm_dma_operations_layout)
{
	CHECK_EQ(offsetof(DMA_OPERATIONS, Size), 0);
	CHECK_EQ(offsetof(DMA_OPERATIONS, PutDmaAdapter), 8);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateCommonBuffer), 16);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeCommonBuffer), 24);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateAdapterChannel), 32);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FlushAdapterBuffers), 40);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeAdapterChannel), 48);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeMapRegisters), 56);
	CHECK_EQ(offsetof(DMA_OPERATIONS, MapTransfer), 64);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetDmaAlignment), 72);
	CHECK_EQ(offsetof(DMA_OPERATIONS, ReadDmaCounter), 80);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetScatterGatherList), 88);
	CHECK_EQ(offsetof(DMA_OPERATIONS, PutScatterGatherList), 96);
	CHECK_EQ(offsetof(DMA_OPERATIONS, CalculateScatterGatherList), 104);
	CHECK_EQ(offsetof(DMA_OPERATIONS, BuildScatterGatherList), 112);
	CHECK_EQ(offsetof(DMA_OPERATIONS, BuildMdlFromScatterGatherList), 120);
	CHECK(sizeof(DMA_OPERATIONS) >= 128);
}
