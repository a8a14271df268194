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
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetDmaAdapterInfo), 128);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateAdapterChannelEx), 160);
	CHECK_EQ(offsetof(DMA_OPERATIONS, MapTransferEx), 184);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FlushAdapterBuffersEx), 208);
	CHECK_EQ(offsetof(DMA_OPERATIONS, CancelMappedTransfer), 224);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetDmaTransferInfo), 136);
	CHECK_EQ(offsetof(DMA_OPERATIONS, InitializeDmaTransferContext), 144);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateCommonBufferEx), 152);
	CHECK_EQ(offsetof(DMA_OPERATIONS, ConfigureAdapterChannel), 168);
	CHECK_EQ(offsetof(DMA_OPERATIONS, CancelAdapterChannel), 176);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetScatterGatherListEx), 192);
	CHECK_EQ(offsetof(DMA_OPERATIONS, BuildScatterGatherListEx), 200);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeAdapterObject), 216);
	/* The Windows 10 members, in the WDK's order after CancelMappedTransfer. */
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateDomainCommonBuffer), 232);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FlushDmaBuffer), 240);
	CHECK_EQ(offsetof(DMA_OPERATIONS, JoinDmaDomain), 248);
	CHECK_EQ(offsetof(DMA_OPERATIONS, LeaveDmaDomain), 256);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetDmaDomain), 264);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateCommonBufferWithBounds), 272);
	CHECK_EQ(offsetof(DMA_OPERATIONS, AllocateCommonBufferVector), 280);
	CHECK_EQ(offsetof(DMA_OPERATIONS, GetCommonBufferFromVectorByIndex), 288);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeCommonBufferFromVector), 296);
	CHECK_EQ(offsetof(DMA_OPERATIONS, FreeCommonBufferVector), 304);
	CHECK_EQ(offsetof(DMA_OPERATIONS, CreateCommonBufferFromMdl), 312);
	CHECK_EQ(sizeof(DMA_OPERATIONS), 320);
	CHECK_EQ(RTL_SIZEOF_THROUGH_FIELD(DMA_OPERATIONS, BuildMdlFromScatterGatherList), 128);
	CHECK_EQ(RTL_SIZEOF_THROUGH_FIELD(DMA_OPERATIONS, CancelMappedTransfer), 232);
	CHECK_EQ(sizeof(DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION), 40);
	CHECK_EQ(offsetof(DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION, LogicalAddressLimits), 8);
	CHECK_EQ(DmaComplete, 0);
	CHECK_EQ(DmaCancelled, 3);
}

DC_TEST(wdm_irp_layout)
{
	CHECK_EQ(sizeof(IO_STATUS_BLOCK), 16);
	CHECK_EQ(offsetof(IO_STATUS_BLOCK, Information), 8);
	CHECK_EQ(offsetof(IRP, Type), 0);
	CHECK_EQ(offsetof(IRP, MdlAddress), 8);
	CHECK_EQ(offsetof(IRP, Flags), 16);
	CHECK_EQ(offsetof(IRP, AssociatedIrp.SystemBuffer), 24);
	CHECK_EQ(offsetof(IRP, ThreadListEntry), 32);
	CHECK_EQ(offsetof(IRP, IoStatus), 48);
	CHECK_EQ(offsetof(IRP, RequestorMode), 64);
	CHECK_EQ(offsetof(IRP, PendingReturned), 65);
	CHECK_EQ(offsetof(IRP, StackCount), 66);
	CHECK_EQ(offsetof(IRP, CurrentLocation), 67);
	CHECK_EQ(offsetof(IRP, Cancel), 68);
	CHECK_EQ(offsetof(IRP, CancelIrql), 69);
	CHECK_EQ(offsetof(IRP, UserIosb), 72);
	CHECK_EQ(offsetof(IRP, UserEvent), 80);
	CHECK_EQ(offsetof(IRP, Overlay), 88);
	CHECK_EQ(offsetof(IRP, CancelRoutine), 104);
	CHECK_EQ(offsetof(IRP, UserBuffer), 112);
	CHECK_EQ(offsetof(IRP, Tail), 120);
	CHECK_EQ(offsetof(IRP, Tail.Overlay.DriverContext), 120);
	CHECK_EQ(offsetof(IRP, Tail.Overlay.Thread), 152);
	CHECK_EQ(offsetof(IRP, Tail.Overlay.ListEntry), 168);
	CHECK_EQ(offsetof(IRP, Tail.Overlay.CurrentStackLocation), 184);
	CHECK_EQ(offsetof(IRP, Tail.Overlay.OriginalFileObject), 192);
	CHECK_EQ(sizeof(KAPC), 88);
	/* the WDK's 208 bytes, then dmacoh's reserved room */
	CHECK_EQ(offsetof(IRP, DmacohReserved), 208);
}

DC_TEST(wdm_io_stack_location_layout)
{
	CHECK_EQ(offsetof(IO_STACK_LOCATION, MajorFunction), 0);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, MinorFunction), 1);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Flags), 2);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Control), 3);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters), 8);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Read.Length), 8);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Read.Key), 16);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Read.ByteOffset), 24);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Write.ByteOffset), 24);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.OutputBufferLength), 8);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.InputBufferLength), 16);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode), 24);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.Type3InputBuffer), 32);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.StartDevice.AllocatedResourcesTranslated),
	         16);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Power.Type), 16);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Power.State), 24);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Parameters.Others.Argument4), 32);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, DeviceObject), 40);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, FileObject), 48);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, CompletionRoutine), 56);
	CHECK_EQ(offsetof(IO_STACK_LOCATION, Context), 64);
	CHECK_EQ(sizeof(IO_STACK_LOCATION), 72);
	CHECK_EQ(IoSizeOfIrp(2), sizeof(IRP) + 2 * 72);
}

DC_TEST(wdm_irp_codes)
{
	CHECK_EQ(IRP_MJ_CREATE, 0x00);
	CHECK_EQ(IRP_MJ_CLOSE, 0x02);
	CHECK_EQ(IRP_MJ_READ, 0x03);
	CHECK_EQ(IRP_MJ_WRITE, 0x04);
	CHECK_EQ(IRP_MJ_FLUSH_BUFFERS, 0x09);
	CHECK_EQ(IRP_MJ_DEVICE_CONTROL, 0x0e);
	CHECK_EQ(IRP_MJ_INTERNAL_DEVICE_CONTROL, 0x0f);
	CHECK_EQ(IRP_MJ_SHUTDOWN, 0x10);
	CHECK_EQ(IRP_MJ_CLEANUP, 0x12);
	CHECK_EQ(IRP_MJ_POWER, 0x16);
	CHECK_EQ(IRP_MJ_SYSTEM_CONTROL, 0x17);
	CHECK_EQ(IRP_MJ_PNP, 0x1b);
	CHECK_EQ(IRP_MJ_MAXIMUM_FUNCTION, 0x1b);
	CHECK_EQ(IRP_MN_START_DEVICE, 0x00);
	CHECK_EQ(IRP_MN_QUERY_REMOVE_DEVICE, 0x01);
	CHECK_EQ(IRP_MN_REMOVE_DEVICE, 0x02);
	CHECK_EQ(IRP_MN_CANCEL_REMOVE_DEVICE, 0x03);
	CHECK_EQ(IRP_MN_STOP_DEVICE, 0x04);
	CHECK_EQ(IRP_MN_QUERY_STOP_DEVICE, 0x05);
	CHECK_EQ(IRP_MN_CANCEL_STOP_DEVICE, 0x06);
	CHECK_EQ(IRP_MN_QUERY_CAPABILITIES, 0x09);
	CHECK_EQ(IRP_MN_SURPRISE_REMOVAL, 0x17);
	CHECK_EQ(IRP_MN_SET_POWER, 0x02);
	CHECK_EQ(SL_PENDING_RETURNED, 0x01);
	CHECK_EQ(SL_INVOKE_ON_CANCEL, 0x20);
	CHECK_EQ(SL_INVOKE_ON_SUCCESS, 0x40);
	CHECK_EQ(SL_INVOKE_ON_ERROR, 0x80);
	CHECK_EQ(IO_NO_INCREMENT, 0);
	CHECK_EQ(IO_DISK_INCREMENT, 1);
	CHECK_EQ(IO_NETWORK_INCREMENT, 2);
	CHECK_EQ(IO_SOUND_INCREMENT, 8);
}

DC_TEST(wdm_ioctl_and_device_constants)
{
	CHECK_EQ(CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS), 0x222000);
	CHECK_EQ(CTL_CODE(FILE_DEVICE_DISK, 0x1, METHOD_OUT_DIRECT, FILE_READ_ACCESS), 0x74006);
	CHECK_EQ(METHOD_FROM_CTL_CODE(0x222003), METHOD_NEITHER);
	CHECK_EQ(DEVICE_TYPE_FROM_CTL_CODE(0x222003), FILE_DEVICE_UNKNOWN);
	CHECK_EQ(IoGetFunctionCodeFromCtlCode(0x222000), 0x800);
	CHECK_EQ(METHOD_IN_DIRECT, 1);
	CHECK_EQ(FILE_WRITE_ACCESS, 2);
	CHECK_EQ(DO_BUFFERED_IO, 0x4);
	CHECK_EQ(DO_DIRECT_IO, 0x10);
	CHECK_EQ(DO_DEVICE_INITIALIZING, 0x80);
	CHECK_EQ(DO_POWER_PAGABLE, 0x2000);
	CHECK_EQ(FILE_DEVICE_DISK, 0x7);
	CHECK_EQ(FILE_DEVICE_NETWORK, 0x12);
	CHECK_EQ(FILE_DEVICE_SOUND, 0x1d);
	CHECK_EQ(FILE_DEVICE_UNKNOWN, 0x22);
	CHECK_EQ(FILE_DEVICE_SECURE_OPEN, 0x100);
}

DC_TEST(wdm_irp_stack_helpers)
{
	/* An IRP with two stack locations, as the I/O manager lays it out, positioned as the
	 * top driver (location 2) sees it when its dispatch routine runs. */
	union {
		IRP irp;
		UCHAR bytes[sizeof(IRP) + 2 * sizeof(IO_STACK_LOCATION)];
		PVOID align;
	} u;
	memset(&u, 0, sizeof(u));
	PIRP irp = &u.irp;
	PIO_STACK_LOCATION stack = (PIO_STACK_LOCATION)(irp + 1);
	irp->StackCount = 2;
	irp->CurrentLocation = 2;
	irp->Tail.Overlay.CurrentStackLocation = &stack[1];
	stack[1].MajorFunction = IRP_MJ_READ;
	stack[1].Parameters.Read.Length = 512;
	stack[1].CompletionRoutine = (PIO_COMPLETION_ROUTINE)NULL;

	CHECK(IoGetCurrentIrpStackLocation(irp) == &stack[1]);
	CHECK(IoGetNextIrpStackLocation(irp) == &stack[0]);

	IoMarkIrpPending(irp);
	CHECK_EQ(stack[1].Control, SL_PENDING_RETURNED);

	stack[0].Control = 0xff;
	IoCopyCurrentIrpStackLocationToNext(irp);
	CHECK_EQ(stack[0].MajorFunction, IRP_MJ_READ);
	CHECK_EQ(stack[0].Parameters.Read.Length, 512);
	CHECK_EQ(stack[0].Control, 0);

	int ctx;
	IoSetCompletionRoutine(irp, NULL, &ctx, TRUE, FALSE, TRUE);
	CHECK(stack[0].Context == &ctx);
	CHECK_EQ(stack[0].Control, SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_CANCEL);
	IoSetCompletionRoutine(irp, NULL, NULL, FALSE, TRUE, FALSE);
	CHECK_EQ(stack[0].Control, SL_INVOKE_ON_ERROR);

	IoSkipCurrentIrpStackLocation(irp);
	CHECK_EQ(irp->CurrentLocation, 3);
	CHECK(IoGetNextIrpStackLocation(irp) == &stack[1]);
	IoSetNextIrpStackLocation(irp);
	CHECK_EQ(irp->CurrentLocation, 2);
	CHECK(IoGetCurrentIrpStackLocation(irp) == &stack[1]);
}

static VOID wdm_test_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
}

DC_TEST(wdm_cancel_routine_exchange)
{
	IRP irp;
	memset(&irp, 0, sizeof(irp));
	CHECK(IoSetCancelRoutine(&irp, wdm_test_cancel) == NULL);
	CHECK(irp.CancelRoutine == wdm_test_cancel);
	CHECK(IoSetCancelRoutine(&irp, NULL) == wdm_test_cancel);
	CHECK(irp.CancelRoutine == NULL);
}

DC_TEST(wdm_interlocked)
{
	LONG volatile v = 5;
	CHECK_EQ(InterlockedIncrement(&v), 6);
	CHECK_EQ(InterlockedDecrement(&v), 5);
	CHECK_EQ(InterlockedExchange(&v, 9), 5);
	CHECK_EQ(InterlockedExchangeAdd(&v, 3), 9);
	CHECK_EQ(v, 12);
	CHECK_EQ(InterlockedCompareExchange(&v, 1, 0), 12);
	CHECK_EQ(v, 12);
	CHECK_EQ(InterlockedCompareExchange(&v, 1, 12), 12);
	CHECK_EQ(v, 1);
	CHECK_EQ(InterlockedOr(&v, 6), 1);
	CHECK_EQ(InterlockedAnd(&v, 3), 7);
	CHECK_EQ(v, 3);
	v = 0;
	CHECK(InterlockedDecrement(&v) == -1);
	PVOID volatile p = NULL;
	int x;
	CHECK(InterlockedCompareExchangePointer(&p, &x, NULL) == NULL);
	CHECK(InterlockedExchangePointer(&p, NULL) == &x);
}

DC_TEST(wdm_object_layouts)
{
	CHECK_EQ(sizeof(DISPATCHER_HEADER), 24);
	CHECK_EQ(sizeof(KEVENT), 24);
	CHECK_EQ(sizeof(KSEMAPHORE), 32);
	CHECK_EQ(sizeof(KMUTEX), 56);
	CHECK_EQ(sizeof(KTIMER), 64);
	CHECK_EQ(sizeof(KDPC), 64);
	CHECK_EQ(offsetof(KDPC, DeferredRoutine), 24);
	CHECK_EQ(offsetof(KDPC, DeferredContext), 32);
	CHECK_EQ(offsetof(KDPC, SystemArgument1), 40);
	CHECK_EQ(sizeof(KDEVICE_QUEUE_ENTRY), 24);
	CHECK_EQ(sizeof(KDEVICE_QUEUE), 40);
	CHECK_EQ(sizeof(WAIT_CONTEXT_BLOCK), 72);

	CHECK_EQ(offsetof(DEVICE_OBJECT, ReferenceCount), 4);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DriverObject), 8);
	CHECK_EQ(offsetof(DEVICE_OBJECT, CurrentIrp), 32);
	CHECK_EQ(offsetof(DEVICE_OBJECT, Flags), 48);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DeviceExtension), 64);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DeviceType), 72);
	CHECK_EQ(offsetof(DEVICE_OBJECT, StackSize), 76);
	CHECK_EQ(offsetof(DEVICE_OBJECT, Queue), 80);
	CHECK_EQ(offsetof(DEVICE_OBJECT, AlignmentRequirement), 152);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DeviceQueue), 160);
	CHECK_EQ(offsetof(DEVICE_OBJECT, Dpc), 200);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DeviceLock), 280);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DeviceObjectExtension), 312);
	CHECK_EQ(offsetof(DEVICE_OBJECT, DmacohReserved), 328);

	CHECK_EQ(offsetof(DRIVER_OBJECT, DeviceObject), 8);
	CHECK_EQ(offsetof(DRIVER_OBJECT, DriverExtension), 48);
	CHECK_EQ(offsetof(DRIVER_OBJECT, DriverName), 56);
	CHECK_EQ(offsetof(DRIVER_OBJECT, DriverStartIo), 96);
	CHECK_EQ(offsetof(DRIVER_OBJECT, DriverUnload), 104);
	CHECK_EQ(offsetof(DRIVER_OBJECT, MajorFunction), 112);
	CHECK_EQ(sizeof(DRIVER_OBJECT), 112 + 28 * 8);
	CHECK_EQ(offsetof(DRIVER_EXTENSION, AddDevice), 8);

	CHECK_EQ(sizeof(OBJECT_ATTRIBUTES), 48);
	OBJECT_ATTRIBUTES oa;
	InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
	CHECK_EQ(oa.Length, sizeof(OBJECT_ATTRIBUTES));
	CHECK_EQ(oa.Attributes, 0x200);
	CHECK_EQ(NotificationEvent, 0);
	CHECK_EQ(SynchronizationEvent, 1);
	CHECK_EQ(Executive, 0);
	CHECK_EQ(LevelSensitive, 0);
	CHECK_EQ(Latched, 1);
}

DC_TEST(wdm_cm_resources)
{
	CHECK_EQ(sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR), 20);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_DESCRIPTOR, u), 4);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Port.Length), 12);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Vector), 8);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Affinity), 12);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Dma.Port), 8);
	CHECK_EQ(offsetof(CM_PARTIAL_RESOURCE_LIST, PartialDescriptors), 8);
	CHECK_EQ(offsetof(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList), 8);
	CHECK_EQ(sizeof(CM_FULL_RESOURCE_DESCRIPTOR), 36);
	CHECK_EQ(offsetof(CM_RESOURCE_LIST, List), 4);
	CHECK_EQ(sizeof(CM_RESOURCE_LIST), 40);
	CHECK_EQ(CmResourceTypeNull, 0);
	CHECK_EQ(CmResourceTypePort, 1);
	CHECK_EQ(CmResourceTypeInterrupt, 2);
	CHECK_EQ(CmResourceTypeMemory, 3);
	CHECK_EQ(CmResourceTypeDma, 4);
	CHECK_EQ(CmResourceTypeDeviceSpecific, 5);
	CHECK_EQ(CmResourceTypeBusNumber, 6);
	CHECK_EQ(CM_RESOURCE_PORT_IO, 1);
	CHECK_EQ(CM_RESOURCE_INTERRUPT_LATCHED, 1);
	CHECK_EQ(CM_RESOURCE_DMA_8, 0);
	CHECK_EQ(CM_RESOURCE_DMA_16, 1);
	CHECK_EQ(CmResourceShareDeviceExclusive, 1);
	CHECK_EQ(CmResourceShareShared, 3);

	CM_RESOURCE_LIST list;
	memset(&list, 0, sizeof(list));
	list.Count = 1;
	list.List[0].InterfaceType = PCIBus;
	list.List[0].PartialResourceList.Count = 1;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list.List[0].PartialResourceList.PartialDescriptors[0];
	d->Type = CmResourceTypePort;
	d->Flags = CM_RESOURCE_PORT_IO;
	d->u.Port.Start.QuadPart = 0x3f8;
	d->u.Port.Length = 8;
	CHECK_EQ(d->u.Generic.Start.LowPart, 0x3f8);
	CHECK_EQ(d->u.Generic.Length, 8);
}
