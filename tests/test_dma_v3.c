/* Version 3 of the DMA operations interface called directly (the test plays the driver): the
 * tables IoGetDmaAdapter hands out per DEVICE_DESCRIPTION version, what each v3 and Windows 10
 * routine returns for good and bad arguments, the IRQL each one requires, MapTransferEx's
 * partial mappings into the caller's scatter/gather buffer and its cache maintenance, the
 * synchronous AllocateAdapterChannelEx failing when busy, and cancellation. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/sys.h"

struct v3log {
	unsigned by_type[DC_KEV_COUNT];
	char irql_routine[16][40];
	unsigned n_irql;
	struct dc_kev last_map_ex;
	unsigned ke_flush_v3; /* DC_KEV_KE_FLUSH named MapTransferEx */
};

static void v3_kev(void *opaque, const struct dc_kev *e)
{
	struct v3log *l = opaque;
	l->by_type[e->type]++;
	if (e->type == DC_KEV_IRQL && l->n_irql < 16)
		snprintf(l->irql_routine[l->n_irql++], sizeof(l->irql_routine[0]), "%s",
		         e->routine ? e->routine : "?");
	if (e->type == DC_KEV_MAP_EX)
		l->last_map_ex = *e;
	if (e->type == DC_KEV_KE_FLUSH && e->routine && !strcmp(e->routine, "MapTransferEx"))
		l->ke_flush_v3++;
}

static const struct dc_observer v3_logger = {.kev = v3_kev};

static struct dc_sys *v3_sys(const char *plat, const char *dev, struct dc_sysdev **d,
                             struct v3log *log)
{
	struct dc_platform p;
	if (dc_platform_builtin(plat, &p))
		return NULL;
	struct dc_sys *s;
	if (dc_sys_create(&p, &s))
		return NULL;
	if (dc_sys_add_device(s, dev, NULL, d)) {
		dc_sys_destroy(s);
		return NULL;
	}
	memset(log, 0, sizeof(*log));
	dc_machine_add_observer(dc_sys_machine(s), &v3_logger, log);
	return s;
}

static DEVICE_DESCRIPTION bm_desc(ULONG version, ULONG max)
{
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = version;
	dd.Master = TRUE;
	dd.ScatterGather = TRUE;
	dd.Dma32BitAddresses = TRUE;
	dd.DmaAddressWidth = 32;
	dd.InterfaceType = PCIBus;
	dd.MaximumLength = max;
	return dd;
}

static DEVICE_DESCRIPTION sys_desc(ULONG version)
{
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = version;
	dd.DmaChannel = 3;
	dd.DmaWidth = Width8Bits;
	dd.InterfaceType = Isa;
	dd.MaximumLength = 16384;
	return dd;
}

struct grant {
	unsigned calls;
	PVOID mrb;
	IO_ALLOCATION_ACTION action;
};

static IO_ALLOCATION_ACTION grant_control(PDEVICE_OBJECT dev, PIRP irp, PVOID mrb, PVOID ctx)
{
	struct grant *g = ctx;
	(void)dev;
	(void)irp;
	g->calls++;
	g->mrb = mrb;
	return g->action;
}

DC_TEST(dma_v3_tables_per_version)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("pc", "bmblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	/* v2: the v2 table, which ends at BuildMdlFromScatterGatherList (the v2 WDK's end), with
	 * no v3 member behind it. */
	DEVICE_DESCRIPTION dd = bm_desc(DEVICE_DESCRIPTION_VERSION2, 65536);
	PDMA_ADAPTER a2 = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a2);
	CHECK_EQ(a2->DmaOperations->Size,
	         RTL_SIZEOF_THROUGH_FIELD(DMA_OPERATIONS, BuildMdlFromScatterGatherList));
	CHECK(a2->DmaOperations->MapTransferEx == NULL);
	CHECK(a2->DmaOperations->GetDmaAdapterInfo == NULL);
	CHECK(a2->DmaOperations->FlushDmaBuffer == NULL);
	a2->DmaOperations->PutDmaAdapter(a2);
	/* v3: the whole table, every member present, v1/v2 members included. */
	dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 65536);
	PDMA_ADAPTER a3 = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a3);
	CHECK_EQ(a3->Version, 1);
	CHECK_EQ(a3->DmaOperations->Size, sizeof(DMA_OPERATIONS));
	const PVOID *member = (const PVOID *)((const char *)a3->DmaOperations + 8);
	for (size_t i = 0; i < (sizeof(DMA_OPERATIONS) - 8) / sizeof(PVOID); i++)
		CHECK_MSG(member[i] != NULL, "v3 member %zu is NULL", i);
	CHECK(a3->DmaOperations->MapTransfer != NULL);
	CHECK(a2->DmaOperations != a3->DmaOperations);
	a3->DmaOperations->PutDmaAdapter(a3);
	/* v3 ignores Dma32/64BitAddresses: a bus master without a DmaAddressWidth it can have
	 * gets no adapter. */
	dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 65536);
	dd.DmaAddressWidth = 0;
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	dd.DmaAddressWidth = 65;
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	dc_sys_destroy(s);
}

DC_TEST(dma_v3_info_context_and_channel)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("noncoherent", "bmblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 16384);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	CHECK_EQ(n, 5);
	PDMA_OPERATIONS ops = a->DmaOperations;
	/* GetDmaAdapterInfo */
	DMA_ADAPTER_INFO info;
	memset(&info, 0, sizeof(info));
	CHECK_EQ(ops->GetDmaAdapterInfo(a, NULL), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->GetDmaAdapterInfo(NULL, &info), STATUS_INVALID_PARAMETER);
	info.Version = 2;
	CHECK_EQ(ops->GetDmaAdapterInfo(a, &info), STATUS_NOT_SUPPORTED);
	info.Version = DMA_ADAPTER_INFO_VERSION1;
	CHECK_EQ(ops->GetDmaAdapterInfo(a, &info), STATUS_SUCCESS);
	CHECK_EQ(info.V1.DmaAddressWidth, 32);
	CHECK_EQ(info.V1.ReadDmaCounterAvailable, 0);
	CHECK(info.V1.Flags & ADAPTER_INFO_SYNCHRONOUS_CALLBACK);
	/* GetDmaTransferInfo: pages spanned; bad arguments. */
	uint8_t *buf = dc_sys_alloc_buffer(s, 3 * 4096, 100, DC_ZONE_ANY);
	CHECK(buf);
	PMDL mdl = IoAllocateMdl(buf, 3 * 4096, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	DMA_TRANSFER_INFO ti;
	memset(&ti, 0, sizeof(ti));
	ti.Version = DMA_TRANSFER_INFO_VERSION2;
	CHECK_EQ(ops->GetDmaTransferInfo(a, mdl, 0, 3 * 4096, FALSE, &ti), STATUS_SUCCESS);
	CHECK_EQ(ti.V2.MapRegisterCount, 4); /* 100 bytes into a page: 4 pages */
	CHECK_EQ(ti.V2.LogicalPageCount, 4);
	CHECK_EQ(ti.V2.ScatterGatherListSize,
	         sizeof(SCATTER_GATHER_LIST) + 4 * sizeof(SCATTER_GATHER_ELEMENT));
	CHECK_EQ(ops->GetDmaTransferInfo(a, mdl, 4000, 100, FALSE, &ti), STATUS_SUCCESS);
	CHECK_EQ(ti.V2.MapRegisterCount, 1);
	CHECK_EQ(ops->GetDmaTransferInfo(a, NULL, 0, 512, FALSE, &ti), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->GetDmaTransferInfo(a, mdl, 0, 0, FALSE, &ti), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->GetDmaTransferInfo(a, mdl, 3 * 4096, 1, FALSE, &ti),
	         STATUS_INVALID_PARAMETER);
	ti.Version = 9;
	CHECK_EQ(ops->GetDmaTransferInfo(a, mdl, 0, 512, FALSE, &ti), STATUS_NOT_SUPPORTED);
	/* Transfer contexts and AllocateAdapterChannelEx. */
	static UCHAR ctx1[DMA_TRANSFER_CONTEXT_SIZE_V1], ctx2[DMA_TRANSFER_CONTEXT_SIZE_V1];
	CHECK_EQ(ops->InitializeDmaTransferContext(a, NULL), STATUS_INVALID_PARAMETER);
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	struct grant g = {.action = DeallocateObjectKeepRegisters};
	/* Not initialized; a flag that does not exist; asynchronous without a routine. */
	CHECK_EQ(
	    ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, 2, 0, grant_control, &g, NULL),
	    STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->InitializeDmaTransferContext(a, ctx1), STATUS_SUCCESS);
	CHECK_EQ(ops->InitializeDmaTransferContext(a, ctx2), STATUS_SUCCESS);
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, 2, 0x80, grant_control,
	                                       &g, NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, 2, 0, NULL, NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	/* More registers than the adapter has. */
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, n + 1, 0, grant_control,
	                                       &g, NULL),
	         STATUS_INSUFFICIENT_RESOURCES);
	CHECK_EQ(g.calls, 0);
	/* Synchronous without a routine: the registers come back at once, the adapter object
	 * stays allocated until FreeAdapterObject. */
	PVOID mrb = NULL;
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, 2,
	                                       DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb),
	         STATUS_SUCCESS);
	CHECK(mrb != NULL);
	/* Busy: a synchronous request fails at once, an asynchronous one is queued. */
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx2, 2,
	                                       DMA_SYNCHRONOUS_CALLBACK, grant_control, &g, NULL),
	         STATUS_INSUFFICIENT_RESOURCES);
	CHECK_EQ(g.calls, 0);
	CHECK_EQ(
	    ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx2, 2, 0, grant_control, &g, NULL),
	    STATUS_SUCCESS);
	CHECK_EQ(g.calls, 0);
	/* Queued: CancelAdapterChannel takes it back (TRUE), a second time there is nothing. */
	CHECK(ops->CancelAdapterChannel(a, dc_sysdev_pdo(d), ctx2));
	CHECK(!ops->CancelAdapterChannel(a, dc_sysdev_pdo(d), ctx2));
	CHECK(!ops->CancelAdapterChannel(a, dc_sysdev_pdo(d), ctx1)); /* granted: too late */
	CHECK_EQ(ops->ConfigureAdapterChannel(a, 1, NULL), STATUS_NOT_SUPPORTED);
	/* DeallocateObjectKeepRegisters: the object is free again, the registers still ours. */
	ops->FreeAdapterObject(a, DeallocateObjectKeepRegisters);
	CHECK_EQ(
	    ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx2, 2, 0, grant_control, &g, NULL),
	    STATUS_SUCCESS);
	CHECK_EQ(g.calls, 1);
	ops->FreeMapRegisters(a, g.mrb, 2);
	ops->FreeMapRegisters(a, mrb, 2);
	/* KeepObject is a no-op; DeallocateObject releases object and registers. */
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx1, 1,
	                                       DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb),
	         STATUS_SUCCESS);
	ops->FreeAdapterObject(a, KeepObject);
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx2, 1,
	                                       DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb),
	         STATUS_INSUFFICIENT_RESOURCES);
	ops->FreeAdapterObject(a, DeallocateObject);
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx2, 1,
	                                       DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb),
	         STATUS_SUCCESS);
	ops->FreeAdapterObject(a, DeallocateObject);
	KeLowerIrql(old);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 0);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(s, buf);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

DC_TEST(dma_v3_map_transfer_ex_partial_and_flush)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("noncoherent", "bmblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 65536);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	uint8_t *buf = dc_sys_alloc_buffer(s, 8 * 4096, 0, DC_ZONE_DMA32);
	CHECK(buf);
	PMDL mdl = IoAllocateMdl(buf, 8 * 4096, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	static UCHAR ctx[DMA_TRANSFER_CONTEXT_SIZE_V1];
	static union {
		SCATTER_GATHER_LIST l;
		UCHAR b[sizeof(SCATTER_GATHER_LIST) + 16 * sizeof(SCATTER_GATHER_ELEMENT)];
	} sg;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(ops->InitializeDmaTransferContext(a, ctx), STATUS_SUCCESS);
	PVOID mrb = NULL;
	CHECK_EQ(ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx, 3,
	                                       DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb),
	         STATUS_SUCCESS);
	/* Bad arguments: no Length, zero, past the MDL, a base never granted, a bus master
	 * without its list buffer or with a completion routine, a buffer too small for one
	 * element. */
	ULONG len = 0;
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 0, 0, NULL, TRUE, &sg.l, sizeof(sg), NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 0, 0, &len, TRUE, &sg.l, sizeof(sg), NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	len = 4096;
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 8 * 4096 - 100, 0, &len, TRUE, &sg.l, sizeof(sg),
	                            NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->MapTransferEx(a, mdl, ctx, 0, 0, &len, TRUE, &sg.l, sizeof(sg), NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 0, 0, &len, TRUE, NULL, 0, NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 0, 0, &len, TRUE, &sg.l, 20, NULL, NULL),
	         STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(log.by_type[DC_KEV_MAP], 0); /* nothing was mapped */
	/* Six pages asked with three registers: three mapped, *Length shortened, SUCCESS; the
	 * caches were cleaned over the bytes first (no KeFlushIoBuffers needed). */
	len = 6 * 4096;
	CHECK_EQ(
	    ops->MapTransferEx(a, mdl, mrb, 4096, 0, &len, TRUE, &sg.l, sizeof(sg), NULL, NULL),
	    STATUS_SUCCESS);
	CHECK_EQ(len, 3 * 4096);
	CHECK(sg.l.NumberOfElements >= 1 && sg.l.NumberOfElements <= 3);
	ULONG total = 0;
	for (ULONG i = 0; i < sg.l.NumberOfElements; i++)
		total += sg.l.Elements[i].Length;
	CHECK_EQ(total, 3 * 4096);
	CHECK(log.ke_flush_v3 >= 1);
	CHECK_EQ(log.last_map_ex.len, 6 * 4096);
	CHECK_EQ(log.last_map_ex.len_out, 3 * 4096);
	CHECK_EQ(log.last_map_ex.value, 4096);
	/* Its flush; a flush of nothing NULL MDL. */
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, mdl, mrb, 4096, len, TRUE), STATUS_SUCCESS);
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, NULL, mrb, 0, 512, TRUE), STATUS_INVALID_PARAMETER);
	/* The rest continues at Offset + *Length, with the registers free again. */
	len = 3 * 4096;
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 4 * 4096, 0, &len, FALSE, &sg.l, sizeof(sg), NULL,
	                            NULL),
	         STATUS_SUCCESS);
	CHECK_EQ(len, 3 * 4096);
	/* A bus master stops its own engine: CancelMappedTransfer is not for it. */
	CHECK_EQ(ops->CancelMappedTransfer(a, ctx), STATUS_NOT_SUPPORTED);
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, mdl, mrb, 4 * 4096, len, FALSE), STATUS_SUCCESS);
	/* A one-element list buffer: a partial mapping of the first contiguous run only. */
	len = 6 * 4096;
	CHECK_EQ(ops->MapTransferEx(a, mdl, mrb, 100, 0, &len, TRUE, &sg.l,
	                            sizeof(SCATTER_GATHER_LIST) + sizeof(SCATTER_GATHER_ELEMENT),
	                            NULL, NULL),
	         STATUS_SUCCESS);
	CHECK_EQ(sg.l.NumberOfElements, 1);
	CHECK(len >= 4096 - 100 && len < 6 * 4096);
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, mdl, mrb, 100, len, TRUE), STATUS_SUCCESS);
	ops->FreeAdapterObject(a, DeallocateObject);
	KeLowerIrql(old);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 0);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(s, buf);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

static VOID completion(PDMA_ADAPTER a, PDEVICE_OBJECT dev, PVOID ctx, DMA_COMPLETION_STATUS st)
{
	(void)a, (void)dev, (void)st;
	if (ctx)
		++*(unsigned *)ctx;
}

DC_TEST(dma_v3_system_dma_on_the_8237)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("pc", "sysblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = sys_desc(DEVICE_DESCRIPTION_VERSION3);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	DMA_ADAPTER_INFO info;
	memset(&info, 0, sizeof(info));
	info.Version = DMA_ADAPTER_INFO_VERSION1;
	CHECK_EQ(ops->GetDmaAdapterInfo(a, &info), STATUS_SUCCESS);
	CHECK_EQ(info.V1.ReadDmaCounterAvailable, 1);
	CHECK_EQ(info.V1.ScatterGatherLimit, 1);
	CHECK_EQ(info.V1.DmaAddressWidth, 24);
	uint8_t *buf = dc_sys_alloc_buffer(s, 4 * 4096, 0, DC_ZONE_ANY);
	PMDL mdl = IoAllocateMdl(buf, 4 * 4096, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	static UCHAR ctx[DMA_TRANSFER_CONTEXT_SIZE_V1];
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(ops->InitializeDmaTransferContext(a, ctx), STATUS_SUCCESS);
	CHECK_EQ(ops->CancelMappedTransfer(a, ctx), STATUS_INVALID_PARAMETER); /* nothing yet */
	struct grant g = {.action = KeepObject};
	CHECK_EQ(
	    ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx, 4, 0, grant_control, &g, NULL),
	    STATUS_SUCCESS);
	CHECK_EQ(g.calls, 1);
	/* The 8237 raises no interrupt of its own: the routine is accepted and never called
	 * (the WDK: only a controller that interrupts at the end calls it). */
	ULONG len = 4 * 4096;
	unsigned calls = 0;
	CHECK_EQ(ops->MapTransferEx(a, mdl, g.mrb, 0, 0, &len, TRUE, NULL, 0, completion, &calls),
	         STATUS_SUCCESS);
	CHECK(len > 0 && len <= 4 * 4096);
	dc_sys_run_for(s, 1000000);
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, mdl, g.mrb, 0, len, TRUE), STATUS_SUCCESS);
	CHECK_EQ(calls, 0);
	/* Without one: the internal list; one contiguous run per transfer (bounced through the
	 * registers' pages when the buffer's pages are not contiguous). */
	len = 4 * 4096;
	CHECK_EQ(ops->MapTransferEx(a, mdl, g.mrb, 0, 0, &len, TRUE, NULL, 0, NULL, NULL),
	         STATUS_SUCCESS);
	CHECK(len > 0 && len <= 4 * 4096);
	/* Cancelled: the channel is masked; FlushAdapterBuffersEx is still owed. */
	CHECK_EQ(ops->CancelMappedTransfer(a, ctx), STATUS_SUCCESS);
	CHECK_EQ(ops->FlushAdapterBuffersEx(a, mdl, g.mrb, 0, len, TRUE), STATUS_SUCCESS);
	CHECK_EQ(ops->CancelMappedTransfer(a, ctx), STATUS_UNSUCCESSFUL);
	ops->FreeAdapterObject(a, DeallocateObject);
	KeLowerIrql(old);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(s, buf);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

DC_TEST(dma_v3_common_buffers_domains_and_vectors)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("noncoherent", "bmblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 65536);
	dd.DmaAddressWidth = 64;
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	/* AllocateCommonBufferEx honours MaximumAddress; below 16 MiB nothing is guaranteed. */
	PHYSICAL_ADDRESS max, lg;
	max.QuadPart = 0xFFFFFFFFLL;
	void *cb = ops->AllocateCommonBufferEx(a, &max, 8192, &lg, TRUE, MM_ANY_NODE_OK);
	CHECK(cb);
	CHECK((uint64_t)lg.QuadPart + 8192 - 1 <= 0xFFFFFFFFu);
	CHECK(ops->AllocateCommonBufferEx(a, &max, 0, &lg, TRUE, 0) == NULL);
	max.QuadPart = 0xFFFF;
	CHECK(ops->AllocateCommonBufferEx(a, &max, 4096, &lg, TRUE, 0) == NULL);
	/* FlushDmaBuffer over its MDL; a NULL MDL is refused. */
	PMDL mdl = IoAllocateMdl(cb, 8192, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	CHECK_EQ(ops->FlushDmaBuffer(a, mdl, TRUE), STATUS_SUCCESS);
	CHECK_EQ(ops->FlushDmaBuffer(a, NULL, TRUE), STATUS_INVALID_PARAMETER);
	/* No DMA remapping on any dmacoh platform: domains and CreateCommonBufferFromMdl fail. */
	CHECK(ops->GetDmaDomain(a) == NULL);
	CHECK_EQ(ops->JoinDmaDomain(a, NULL), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->JoinDmaDomain(a, (HANDLE)&lg), STATUS_NOT_SUPPORTED);
	CHECK_EQ(ops->LeaveDmaDomain(a), STATUS_NOT_SUPPORTED);
	PVOID va = NULL;
	MEMORY_CACHING_TYPE ct = MmCached;
	CHECK_EQ(ops->AllocateDomainCommonBuffer(a, NULL, NULL, 4096, 0, &ct, 0, &lg, &va),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->CreateCommonBufferFromMdl(a, mdl, NULL, 0, &lg), STATUS_NOT_SUPPORTED);
	CHECK_EQ(ops->CreateCommonBufferFromMdl(a, NULL, NULL, 0, &lg), STATUS_INVALID_PARAMETER);
	IoFreeMdl(mdl);
	ops->FreeCommonBuffer(a, 8192, lg.QuadPart ? lg : lg, cb, TRUE);
	/* AllocateCommonBufferWithBounds: the bounds, the cache type; flags must be 0. */
	PHYSICAL_ADDRESS lo, hi;
	lo.QuadPart = 16 << 20;
	hi.QuadPart = 0xFFFFFFFFLL;
	ct = MmNonCached;
	void *wb = ops->AllocateCommonBufferWithBounds(a, &lo, &hi, 4096, 0, &ct, 0, &lg);
	if (wb) {
		CHECK((uint64_t)lg.QuadPart >= (16u << 20) && (uint64_t)lg.QuadPart < 0xFFFFFFFFu);
		ops->FreeCommonBuffer(a, 4096, lg, wb, FALSE);
	}
	CHECK(ops->AllocateCommonBufferWithBounds(a, &lo, &hi, 4096, 1, &ct, 0, &lg) == NULL);
	CHECK(ops->AllocateCommonBufferWithBounds(a, &hi, &lo, 4096, 0, &ct, 0, &lg) == NULL);
	/* Vectors: all or nothing, by index, freed one by one or at once. */
	PDMA_COMMON_BUFFER_VECTOR vec = NULL;
	PHYSICAL_ADDRESS vlo, vhi;
	vlo.QuadPart = 0;
	vhi.QuadPart = -1;
	CHECK_EQ(ops->AllocateCommonBufferVector(a, vlo, vhi, MmCached, 0, 0, 0, 4096, &vec),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(ops->AllocateCommonBufferVector(a, vlo, vhi, MmCached, 0, 0, 3, 4096, &vec),
	         STATUS_SUCCESS);
	CHECK(vec);
	PVOID e0 = NULL, e2 = NULL;
	PHYSICAL_ADDRESS l0, l2;
	ops->GetCommonBufferFromVectorByIndex(a, vec, 0, &e0, &l0);
	ops->GetCommonBufferFromVectorByIndex(a, vec, 2, &e2, &l2);
	CHECK(e0 && e2 && e0 != e2 && l0.QuadPart != l2.QuadPart);
	ops->GetCommonBufferFromVectorByIndex(a, vec, 3, &e0, &l0);
	CHECK(e0 == NULL);
	ops->FreeCommonBufferFromVector(a, vec, 1);
	ops->GetCommonBufferFromVectorByIndex(a, vec, 1, &e0, &l0);
	CHECK(e0 == NULL);
	ops->FreeCommonBufferVector(a, vec);
	unsigned allocs = log.by_type[DC_KEV_COMMON_ALLOC], frees = log.by_type[DC_KEV_COMMON_FREE];
	CHECK_EQ(frees, 2 + 3); /* the two buffers above and the vector's three */
	CHECK(allocs >= 5);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

/* Each routine at an IRQL it does not allow: one DC_KEV_IRQL naming it (A08's fact). */
DC_TEST(dma_v3_wrong_irql_is_reported_per_routine)
{
	struct dc_sysdev *d;
	struct v3log log;
	struct dc_sys *s = v3_sys("pc", "bmblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = bm_desc(DEVICE_DESCRIPTION_VERSION3, 16384);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	static UCHAR ctx[DMA_TRANSFER_CONTEXT_SIZE_V1];
	DMA_ADAPTER_INFO info;
	memset(&info, 0, sizeof(info));
	info.Version = DMA_ADAPTER_INFO_VERSION1;
	PHYSICAL_ADDRESS lg;
	KIRQL old;
	/* PASSIVE_LEVEL only, called at DISPATCH_LEVEL. */
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	ops->GetDmaAdapterInfo(a, &info);
	CHECK(ops->AllocateCommonBufferEx(a, NULL, 4096, &lg, FALSE, 0) == NULL || 1);
	ops->GetDmaDomain(a);
	KeLowerIrql(old);
	/* DISPATCH_LEVEL only (the asynchronous AllocateAdapterChannelEx), called at PASSIVE. */
	ops->InitializeDmaTransferContext(a, ctx);
	struct grant g = {.action = DeallocateObjectKeepRegisters};
	ops->AllocateAdapterChannelEx(a, dc_sysdev_pdo(d), ctx, 1, 0, grant_control, &g, NULL);
	/* <= DISPATCH_LEVEL, called above it. */
	KeRaiseIrql(DISPATCH_LEVEL + 1, &old);
	ULONG len = 512;
	ops->MapTransferEx(a, NULL, g.mrb, 0, 0, &len, TRUE, NULL, 0, NULL, NULL);
	ops->FlushAdapterBuffersEx(a, NULL, g.mrb, 0, 512, TRUE);
	ops->FlushDmaBuffer(a, NULL, TRUE);
	ops->FreeAdapterObject(a, KeepObject);
	ops->CancelMappedTransfer(a, ctx);
	KeLowerIrql(old);
	static const char *const want[] = {
	    "GetDmaAdapterInfo",        "AllocateCommonBufferEx", "GetDmaDomain",
	    "AllocateAdapterChannelEx", "MapTransferEx",          "FlushAdapterBuffersEx",
	    "FlushDmaBuffer",           "FreeAdapterObject",      "CancelMappedTransfer"};
	CHECK_EQ(log.n_irql, DC_ARRAY_SIZE(want));
	for (unsigned i = 0; i < DC_ARRAY_SIZE(want) && i < log.n_irql; i++)
		CHECK_MSG(!strcmp(log.irql_routine[i], want[i]), "IRQL event %u: %s, want %s", i,
		          log.irql_routine[i], want[i]);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	if (g.mrb)
		ops->FreeMapRegisters(a, g.mrb, 1);
	KeLowerIrql(old);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}
