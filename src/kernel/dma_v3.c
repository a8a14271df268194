/* Version 3 of the DMA operations interface (Windows 8, DEVICE_DESCRIPTION_VERSION3) and the
 * Windows 10 members at the end of DMA_OPERATIONS: the table IoGetDmaAdapter hands a v3
 * caller.  A v3 table keeps every v1/v2 member (Windows' does), so the v1/v2 routines of
 * dma.c serve it unchanged; the v3 routines here are written on top of dma.c's (dma_int.h),
 * reporting under their own names so the checker can tell v3 calls from v1/v2 ones.
 *
 * What v3 adds and how it is modelled:
 *  - MapTransferEx maps an MDL chain from a byte Offset, into the caller's scatter/gather
 *    buffer, and may map less than asked (*Length shortened, STATUS_SUCCESS): when the map
 *    registers of the base are used up, when the list buffer holds no more elements, or (system
 *    DMA) when the controller does one contiguous run per transfer.  Before it maps, it cleans
 *    and invalidates the CPU caches over the bytes (v3 drivers need no KeFlushIoBuffers).
 *  - FlushAdapterBuffersEx drains the controller or the bridge and invalidates the CPU caches
 *    over what a device->memory transfer wrote (dma.c's drain).
 *  - System DMA goes through a small controller table (struct sysdma_ctl) so that a second
 *    controller (a request-line SoC DMAC) can plug in next to the 8237.  The 8237 raises no
 *    interrupt of its own at terminal count (TC goes to the device), so no HAL can call a
 *    DmaCompletionRoutine for it.  The WDK says the routine "is called only if" the system DMA
 *    controller can interrupt at the end of a transfer, and that other drivers learn the end
 *    by other means: MapTransferEx on an 8237 channel accepts one and never calls it, and the
 *    driver learns of the end from its device's interrupt, as on the ISA HAL.
 *  - DMA domains and CreateCommonBufferFromMdl need DMA remapping (an IOMMU), which no dmacoh
 *    platform has: they fail as Windows does without it (STATUS_NOT_SUPPORTED, NULL domain).
 * Not modelled: NUMA (PreferredNode is accepted, memory has one node), DMA_ZERO_BUFFERS. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dma_int.h"

#define RA() __builtin_return_address(0)

/* An initialized DMA transfer context (InitializeDmaTransferContext) and what it is used for. */
enum ctx_state { CTX_IDLE, CTX_PENDING, CTX_GRANTED };

struct v3ctx {
	struct v3ctx *next;
	struct dc_dma_v3 *v;
	PVOID dtc; /* the driver's DMA_TRANSFER_CONTEXT */
	enum ctx_state state;
	PDRIVER_CONTROL control;
	PVOID control_ctx;
	bool sync_no_routine;
	PVOID mrb; /* what the grant gave */
	/* GetScatterGatherListEx without a routine: the list handed back. */
	PDRIVER_LIST_CONTROL list_control;
	PSCATTER_GATHER_LIST sgl;
	bool sgl_done;
};

/* An open MapTransferEx (until its FlushAdapterBuffersEx). */
struct v3map {
	struct v3map *next;
	PVOID mrb;
	bool cancelled;
};

struct cbvec_elem {
	PVOID va;
	PHYSICAL_ADDRESS logical;
	ULONG len;
	bool live;
};

struct _DMA_COMMON_BUFFER_VECTOR {
	struct _DMA_COMMON_BUFFER_VECTOR *next;
	ULONG n;
	BOOLEAN cached;
	struct cbvec_elem *elems;
};

struct dc_dma_v3 {
	struct v3ctx *ctxs;
	struct v3map *maps;
	DMA_COMMON_BUFFER_VECTOR *vectors;
};

/* --- System DMA controllers ------------------------------------------------------------------ */

/* What the HAL needs of a system DMA controller for v3.  The 8237 is programmed by dma.c's
 * MapTransfer path (ports, page registers); a request-line controller would supply its own
 * members. */
struct sysdma_ctl {
	const char *name;
	bool completion_irq; /* interrupts at the end of a transfer: DmaCompletionRoutine works */
	ULONG max_runs;      /* contiguous runs one transfer can move */
	ULONG max_bytes;     /* bytes one transfer can move (0: what the map registers allow) */
	/* stop the channel */
	void (*cancel)(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_facts *f);
	/* program and start it over a mapped run (the 8237: dma.c's MapTransfer already did) */
	int (*start)(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_soc_req *rq);
};

static void i8237_cancel(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_facts *f)
{
	(void)ad;
	dc_i8237_hal_mask(s->dma, (unsigned)f->channel, true);
}

static const struct sysdma_ctl ctl_8237 = {
    .name = "8237", .completion_irq = false, .max_runs = 1, .cancel = i8237_cancel};

/* The arm-soc PL080 (dma_v3_soc.c): linked-list items over the physically contiguous runs of the
 * buffer (one item at least per run, 8 items), a terminal-count and an error interrupt the HAL
 * turns into the DmaCompletionRoutine. */
static void pl080_cancel(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_facts *f)
{
	(void)f;
	dc_dma_soc_cancel(s, ad);
}

static const struct sysdma_ctl ctl_pl080 = {.name = "PL080",
                                            .completion_irq = true,
                                            .max_runs = DC_DMA_SOC_RUNS,
                                            .max_bytes = DC_DMA_SOC_MAX,
                                            .cancel = pl080_cancel,
                                            .start = dc_dma_soc_start};

static const struct sysdma_ctl *sysdma_ctl_of(const struct dc_dma_facts *f)
{
	return f->plch >= 0 ? &ctl_pl080 : &ctl_8237;
}

/* --- Helpers ------------------------------------------------------------------------------------
 */

static struct dc_dma_v3 *v3_of(struct dc_sys *s, const void *ad)
{
	struct dc_dma_v3 **slot = dc_dma_v3_slot(s, ad);
	if (!slot)
		return NULL;
	if (!*slot)
		*slot = calloc(1, sizeof(**slot));
	return *slot;
}

void dc_dma_v3_free(struct dc_dma_v3 *v)
{
	if (!v)
		return;
	for (struct v3ctx *c = v->ctxs, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	for (struct v3map *m = v->maps, *n; m; m = n) {
		n = m->next;
		free(m);
	}
	for (DMA_COMMON_BUFFER_VECTOR *vec = v->vectors, *n; vec; vec = n) {
		n = vec->next;
		free(vec->elems);
		free(vec);
	}
	free(v);
}

/* A live adapter (NULL: reported as dma.c reports a bad adapter, with this event type). */
static bool facts(struct dc_sys *s, PDMA_ADAPTER ad, struct dc_dma_facts *f, enum dc_kev_type t,
                  const char *routine, const void *pc)
{
	if (dc_dma_facts(s, ad, f))
		return true;
	struct dc_kev e = {.type = t, .routine = routine, .pc = pc, .adapter = ad, .status = -1};
	if (t == DC_KEV_MAP)
		e.status = DC_KMAP_NO_ADAPTER;
	dc_kev_emit(s, &e);
	return false;
}

static struct v3ctx *ctx_find(struct dc_dma_v3 *v, const void *dtc)
{
	for (struct v3ctx *c = v ? v->ctxs : NULL; c; c = c->next)
		if (c->dtc == dtc)
			return c;
	return NULL;
}

/* The MDL of the chain that holds byte `off` of it, and the offset inside that MDL. */
static PMDL chain_at(PMDL mdl, ULONGLONG off, ULONG *in)
{
	for (; mdl; mdl = mdl->Next) {
		if (off < mdl->ByteCount) {
			*in = (ULONG)off;
			return mdl;
		}
		off -= mdl->ByteCount;
	}
	return NULL;
}

static ULONGLONG chain_bytes(PMDL mdl)
{
	ULONGLONG n = 0;
	for (; mdl; mdl = mdl->Next)
		n += mdl->ByteCount;
	return n;
}

static ULONG sg_size(ULONG elems)
{
	return (ULONG)(sizeof(SCATTER_GATHER_LIST) + elems * sizeof(SCATTER_GATHER_ELEMENT));
}

/* --- GetDmaAdapterInfo, GetDmaTransferInfo, InitializeDmaTransferContext --------------------- */

static NTSTATUS op_get_dma_adapter_info(PDMA_ADAPTER DmaAdapter, PDMA_ADAPTER_INFO AdapterInfo)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "GetDmaAdapterInfo", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "GetDmaAdapterInfo", RA()) || !AdapterInfo)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, AdapterInfo, sizeof(*AdapterInfo), false);
	if (AdapterInfo->Version != DMA_ADAPTER_INFO_VERSION1)
		return STATUS_NOT_SUPPORTED;
	dc_ktouch(s, AdapterInfo, sizeof(*AdapterInfo), true);
	AdapterInfo->V1.ReadDmaCounterAvailable = !f.master;
	AdapterInfo->V1.ScatterGatherLimit = f.master ? f.nmr : sysdma_ctl_of(&f)->max_runs;
	AdapterInfo->V1.DmaAddressWidth = f.addr_bits;
	AdapterInfo->V1.Flags = ADAPTER_INFO_SYNCHRONOUS_CALLBACK;
	AdapterInfo->V1.MinimumTransferUnit = !f.master && f.channel >= 4 ? 2 : 1;
	return STATUS_SUCCESS;
}

static NTSTATUS op_get_dma_transfer_info(PDMA_ADAPTER DmaAdapter, PMDL Mdl, ULONGLONG Offset,
                                         ULONG Length, BOOLEAN WriteOnly,
                                         PDMA_TRANSFER_INFO TransferInfo)
{
	struct dc_sys *s = dc_k();
	(void)WriteOnly;
	dc_irql_require(s, "GetDmaTransferInfo", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "GetDmaTransferInfo", RA()) || !Mdl ||
	    !TransferInfo || Length == 0 || dc_mdl_bad(s, Mdl))
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, TransferInfo, sizeof(*TransferInfo), false);
	if (TransferInfo->Version != DMA_TRANSFER_INFO_VERSION1 &&
	    TransferInfo->Version != DMA_TRANSFER_INFO_VERSION2)
		return STATUS_NOT_SUPPORTED;
	if (Offset + Length > chain_bytes(Mdl))
		return STATUS_INVALID_PARAMETER;
	/* Pages spanned, MDL by MDL: one map register and (at worst) one element each. */
	ULONG in = 0, left = Length, pages = 0;
	for (PMDL m = chain_at(Mdl, Offset, &in); m && left; m = m->Next, in = 0) {
		ULONG here = DC_MIN(left, (ULONG)(m->ByteCount - in));
		pages +=
		    ADDRESS_AND_SIZE_TO_SPAN_PAGES((PUCHAR)MmGetMdlVirtualAddress(m) + in, here);
		left -= here;
	}
	dc_ktouch(s, TransferInfo, sizeof(*TransferInfo), true);
	TransferInfo->V2.MapRegisterCount = pages;
	TransferInfo->V2.ScatterGatherElementCount = pages;
	TransferInfo->V2.ScatterGatherListSize = sg_size(pages);
	if (TransferInfo->Version == DMA_TRANSFER_INFO_VERSION2)
		TransferInfo->V2.LogicalPageCount = pages;
	return STATUS_SUCCESS;
}

static NTSTATUS op_initialize_dma_transfer_context(PDMA_ADAPTER DmaAdapter,
                                                   PVOID DmaTransferContext)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "InitializeDmaTransferContext", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "InitializeDmaTransferContext", RA()) ||
	    !DmaTransferContext)
		return STATUS_INVALID_PARAMETER;
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	struct v3ctx *c = ctx_find(v, DmaTransferContext);
	if (c && c->state == CTX_PENDING)
		return STATUS_INVALID_PARAMETER; /* still queued: cancel it first */
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!v || !c) {
			free(c);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		c->dtc = DmaTransferContext;
		c->v = v;
		c->next = v->ctxs;
		v->ctxs = c;
	}
	c->state = CTX_IDLE;
	c->mrb = NULL;
	/* The context is opaque: the HAL clears it (through the cache model). */
	dc_ktouch(s, DmaTransferContext, DMA_TRANSFER_CONTEXT_SIZE_V1, true);
	memset(DmaTransferContext, 0, DMA_TRANSFER_CONTEXT_SIZE_V1);
	return STATUS_SUCCESS;
}

/* --- AllocateAdapterChannelEx, CancelAdapterChannel, ConfigureAdapterChannel, FreeAdapterObject */

static IO_ALLOCATION_ACTION ctx_control(PDEVICE_OBJECT dev, PIRP irp, PVOID mrb, PVOID context)
{
	struct v3ctx *c = context;
	c->state = CTX_GRANTED;
	c->mrb = mrb;
	if (c->sync_no_routine)
		return KeepObject; /* the caller owns the adapter object until FreeAdapterObject */
	return c->control(dev, irp, mrb, c->control_ctx);
}

static NTSTATUS op_allocate_adapter_channel_ex(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                               PVOID DmaTransferContext, ULONG NumberOfMapRegisters,
                                               ULONG Flags, PDRIVER_CONTROL ExecutionRoutine,
                                               PVOID ExecutionContext, PVOID *MapRegisterBase)
{
	struct dc_sys *s = dc_k();
	const char *r = "AllocateAdapterChannelEx";
	bool sync = (Flags & DMA_SYNCHRONOUS_CALLBACK) != 0;
	dc_irql_require(s, r, sync ? PASSIVE_LEVEL : DISPATCH_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_CHANNEL_ALLOC, r, RA()))
		return STATUS_INVALID_PARAMETER;
	struct v3ctx *c = ctx_find(v3_of(s, DmaAdapter), DmaTransferContext);
	struct dc_kev e = {.type = DC_KEV_CHANNEL_ALLOC,
	                   .routine = r,
	                   .pc = RA(),
	                   .adapter = DmaAdapter,
	                   .device = DeviceObject,
	                   .count = NumberOfMapRegisters};
	if (!c || c->state == CTX_PENDING || (Flags & ~(ULONG)DMA_SYNCHRONOUS_CALLBACK) ||
	    (!ExecutionRoutine && (!sync || !MapRegisterBase))) {
		e.status = STATUS_INVALID_PARAMETER;
		dc_kev_emit(s, &e);
		return STATUS_INVALID_PARAMETER;
	}
	if (sync && NumberOfMapRegisters <= f.nmr &&
	    (f.owned || f.waiting || !dc_dma_regs_free(s, DmaAdapter, NumberOfMapRegisters))) {
		/* Synchronous: the resources are not free right now. */
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		dc_kev_emit(s, &e);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	c->control = ExecutionRoutine;
	c->control_ctx = ExecutionContext;
	c->sync_no_routine = sync && !ExecutionRoutine;
	c->state = CTX_PENDING;
	c->mrb = NULL;
	NTSTATUS st = dc_dma_alloc_channel(s, DmaAdapter, DeviceObject, NumberOfMapRegisters,
	                                   ctx_control, c, r, RA());
	if (!NT_SUCCESS(st)) {
		c->state = CTX_IDLE;
		return st;
	}
	if (sync && c->state == CTX_PENDING) {
		/* Not granted at once after all (cannot happen when the checks above hold). */
		dc_dma_cancel_wait(s, DmaAdapter, c);
		c->state = CTX_IDLE;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (c->sync_no_routine) {
		dc_ktouch(s, MapRegisterBase, sizeof(*MapRegisterBase), true);
		*MapRegisterBase = c->mrb;
	}
	return STATUS_SUCCESS;
}

static BOOLEAN op_cancel_adapter_channel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                         PVOID DmaTransferContext)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "CancelAdapterChannel", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "CancelAdapterChannel", RA()))
		return FALSE;
	struct v3ctx *c = ctx_find(v3_of(s, DmaAdapter), DmaTransferContext);
	if (!c || c->state != CTX_PENDING || !dc_dma_cancel_wait(s, DmaAdapter, c))
		return FALSE; /* nothing pending: granted already (or never asked) */
	c->state = CTX_IDLE;
	/* The checker counts the request as withdrawn. */
	struct dc_kev e = {.type = DC_KEV_CHANNEL_ALLOC,
	                   .routine = "CancelAdapterChannel",
	                   .pc = RA(),
	                   .adapter = DmaAdapter,
	                   .device = DeviceObject,
	                   .status = STATUS_CANCELLED};
	dc_kev_emit(s, &e);
	return TRUE;
}

static NTSTATUS op_configure_adapter_channel(PDMA_ADAPTER DmaAdapter, ULONG FunctionNumber,
                                             PVOID Context)
{
	struct dc_sys *s = dc_k();
	(void)FunctionNumber;
	(void)Context;
	dc_irql_require(s, "ConfigureAdapterChannel", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "ConfigureAdapterChannel", RA()))
		return STATUS_INVALID_PARAMETER;
	/* Controller-specific functions come from a HAL DMA extension; neither the 8237 nor a
	 * bus master has any. */
	return STATUS_NOT_SUPPORTED;
}

static VOID op_free_adapter_object(PDMA_ADAPTER DmaAdapter, IO_ALLOCATION_ACTION AllocationAction)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "FreeAdapterObject", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	switch (AllocationAction) {
	case KeepObject:
		return; /* nothing to do (the reference page) */
	case DeallocateObject:
		dc_dma_free_channel(s, DmaAdapter, "FreeAdapterObject", RA());
		return;
	case DeallocateObjectKeepRegisters:
		dc_dma_release_object(s, DmaAdapter, "FreeAdapterObject", RA());
		return;
	default:
		dc_kbugcheck(s, 0xE6, "FreeAdapterObject with an undefined IO_ALLOCATION_ACTION",
		             RA());
	}
}

/* --- MapTransferEx, FlushAdapterBuffersEx, CancelMappedTransfer ------------------------------ */

/* v3's cache maintenance before a transfer (what KeFlushIoBuffers(mdl, read, TRUE) does for
 * v1/v2), over [in, in + len) of one MDL, reported as the routine's own. */
static void clean_before(struct dc_sys *s, PMDL m, ULONG in, ULONG len, bool read,
                         const char *routine, const void *pc)
{
	uint32_t n = 0;
	struct dc_kev_piece *p = dc_mdl_kev_pieces(s, m, in, len, &n);
	if (s->m->plat.coherency != DC_COHERENT)
		for (uint32_t i = 0; i < n; i++)
			dc_cpu_cache_range(s->m, p[i].va, p[i].len, DC_CACHE_CLEAN_INVAL, false);
	struct dc_kev e = {.type = DC_KEV_KE_FLUSH,
	                   .routine = routine,
	                   .pc = pc,
	                   .mdl = m,
	                   .flags = (read ? DC_KEVF_READ : 0) | DC_KEVF_DMA,
	                   .pieces = p,
	                   .n_pieces = n};
	dc_kev_emit(s, &e);
	free(p);
}

static NTSTATUS map_ex(struct dc_sys *s, const struct dc_dma_facts f, PDMA_ADAPTER DmaAdapter,
                       PMDL Mdl, PVOID MapRegisterBase, ULONGLONG Offset, PULONG Length, ULONG want,
                       BOOLEAN WriteToDevice, PSCATTER_GATHER_LIST ScatterGatherBuffer,
                       ULONG ScatterGatherBufferLength,
                       PDMA_COMPLETION_ROUTINE DmaCompletionRoutine, PVOID CompletionContext,
                       const void *pc)
{
	const char *r = "MapTransferEx";
	uint32_t regs = 0;
	ULONG in = 0;
	PMDL m = Mdl && !dc_mdl_bad(s, Mdl) ? chain_at(Mdl, Offset, &in) : NULL;
	if (!Length || want == 0 || !m || Offset + want > chain_bytes(Mdl) ||
	    !dc_dma_mrb_room(s, DmaAdapter, MapRegisterBase, &regs) ||
	    (f.master && (!ScatterGatherBuffer || DmaCompletionRoutine)))
		return STATUS_INVALID_PARAMETER;
	const struct sysdma_ctl *ctl = f.master ? NULL : sysdma_ctl_of(&f);
	if (ctl && !ctl->completion_irq)
		DmaCompletionRoutine = NULL; /* accepted, never called (no completion interrupt) */
	ULONG cap = ctl ? ctl->max_runs : 0;
	if (ScatterGatherBuffer) {
		if (ScatterGatherBufferLength < sg_size(1))
			return STATUS_BUFFER_TOO_SMALL;
		ULONG fit =
		    (ScatterGatherBufferLength - sg_size(0)) / sizeof(SCATTER_GATHER_ELEMENT);
		cap = ctl ? DC_MIN(cap, fit) : fit;
	}
	if (regs == 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (ctl && ctl->max_bytes)
		want =
		    DC_MIN(want, ctl->max_bytes); /* the controller's budget: a partial mapping */
	/* The bytes this call can map at most (registers left, one MDL at a time), cleaned from
	 * the CPU caches first: the device may start as soon as they are mapped. */
	ULONG bound = 0;
	{
		ULONG bin = in, left = want;
		uint32_t rl = regs;
		for (PMDL b = m; b && left && rl; b = b->Next, bin = 0) {
			PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(b) + bin;
			ULONG here = DC_MIN(left, (ULONG)(b->ByteCount - bin));
			ULONG span = ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, here);
			if (span > rl)
				here = rl * PAGE_SIZE - BYTE_OFFSET(va), span = rl;
			clean_before(s, b, bin, here, !WriteToDevice, r, pc);
			bound += here;
			left -= here;
			rl -= span;
			if (ctl)
				break; /* one run: one MDL at most */
		}
	}
	ULONG done = 0, elems = 0;
	/* A controller with linked-list items (the PL080): one run per physically contiguous
	 * stretch of the MDL's pages (dma.c maps them without copying when it can reach them), as
	 * many as the items allow; the channel starts once they are all mapped. */
	bool lli = ctl && ctl->start;
	ULONG items = DC_DMA_SOC_RUNS;
	PMDL m0 = m;
	PUCHAR va0 = m ? (PUCHAR)MmGetMdlVirtualAddress(m) + in : NULL;
	struct dc_dma_soc_req rq = {.to_device = WriteToDevice,
	                            .cr = DmaCompletionRoutine,
	                            .cr_ctx = CompletionContext,
	                            .mdl = Mdl,
	                            .mrb = MapRegisterBase,
	                            .offset = Offset};
	while (done < bound && elems < cap && m && (!lli || items)) {
		PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(m) + in;
		ULONG len = DC_MIN(bound - done, (ULONG)(m->ByteCount - in));
		if (lli)
			len = DC_MIN(len, items * DC_DMA_SOC_LLI_BYTES);
		ULONG room = 0;
		if (!dc_dma_mrb_room(s, DmaAdapter, MapRegisterBase, &room) || room == 0)
			break;
		if (ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, len) > room)
			len = room * PAGE_SIZE - BYTE_OFFSET(va);
		ULONG got = len;
		PHYSICAL_ADDRESS la = dc_dma_map(s, DmaAdapter, m, MapRegisterBase, va, &got,
		                                 WriteToDevice, elems > 0, r, pc);
		if (got == 0)
			break;
		if (lli) {
			rq.runs[rq.n_runs].logical = (uint64_t)la.QuadPart;
			rq.runs[rq.n_runs++].len = got;
			items -= (got + DC_DMA_SOC_LLI_BYTES - 1) / DC_DMA_SOC_LLI_BYTES;
		}
		if (ScatterGatherBuffer) {
			dc_ktouch(s, &ScatterGatherBuffer->Elements[elems],
			          sizeof(SCATTER_GATHER_ELEMENT), true);
			ScatterGatherBuffer->Elements[elems].Address = la;
			ScatterGatherBuffer->Elements[elems].Length = got;
			ScatterGatherBuffer->Elements[elems].Reserved = 0;
		}
		elems++;
		done += got;
		in += got;
		if (in == m->ByteCount) {
			m = m->Next;
			in = 0;
		}
		if (ctl && !lli)
			break; /* the 8237: one run */
	}
	if (done == 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (lli && ctl->start(s, DmaAdapter, &rq)) {
		/* The controller refused: unmap every run (drains nothing that moved). */
		dc_dma_flush(s, DmaAdapter, m0, MapRegisterBase, va0, done, WriteToDevice, r, pc);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (ScatterGatherBuffer) {
		dc_ktouch(s, ScatterGatherBuffer, sg_size(0), true);
		ScatterGatherBuffer->NumberOfElements = elems;
		ScatterGatherBuffer->Reserved = 0;
	}
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	struct v3map *mp = calloc(1, sizeof(*mp));
	if (v && mp) {
		mp->mrb = MapRegisterBase;
		mp->next = v->maps;
		v->maps = mp;
	} else {
		free(mp);
	}
	/* Partial mapping: *Length says how much, and the call still succeeds. */
	dc_ktouch(s, Length, sizeof(*Length), true);
	*Length = done;
	return STATUS_SUCCESS;
}

static NTSTATUS op_map_transfer_ex(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                   ULONGLONG Offset, ULONG DeviceOffset, PULONG Length,
                                   BOOLEAN WriteToDevice, PSCATTER_GATHER_LIST ScatterGatherBuffer,
                                   ULONG ScatterGatherBufferLength,
                                   PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                   PVOID CompletionContext)
{
	struct dc_sys *s = dc_k();
	const void *pc = RA();
	(void)DeviceOffset; /* no controller here has a device-side address to offset */
	dc_irql_require(s, "MapTransferEx", PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_MAP, "MapTransferEx", pc))
		return STATUS_INVALID_PARAMETER;
	ULONG want = 0;
	if (Length) {
		dc_ktouch(s, Length, sizeof(*Length), false);
		want = *Length;
	}
	NTSTATUS st = map_ex(s, f, DmaAdapter, Mdl, MapRegisterBase, Offset, Length, want,
	                     WriteToDevice, ScatterGatherBuffer, ScatterGatherBufferLength,
	                     DmaCompletionRoutine, CompletionContext, pc);
	struct dc_kev e = {.type = DC_KEV_MAP_EX,
	                   .routine = "MapTransferEx",
	                   .pc = pc,
	                   .adapter = DmaAdapter,
	                   .device = f.pdo,
	                   .mdl = Mdl,
	                   .mrb = MapRegisterBase,
	                   .value = (int64_t)Offset,
	                   .len = want,
	                   .len_out = NT_SUCCESS(st) ? *Length : 0,
	                   .dir = WriteToDevice ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE,
	                   .status = st};
	dc_kev_emit(s, &e);
	return st;
}

static NTSTATUS op_flush_adapter_buffers_ex(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                            PVOID MapRegisterBase, ULONGLONG Offset, ULONG Length,
                                            BOOLEAN WriteToDevice)
{
	struct dc_sys *s = dc_k();
	const char *r = "FlushAdapterBuffersEx";
	const void *pc = RA();
	dc_irql_require(s, r, PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_FLUSH, r, pc))
		return STATUS_INVALID_PARAMETER;
	ULONG in = 0;
	PMDL m = Mdl && !dc_mdl_bad(s, Mdl) ? chain_at(Mdl, Offset, &in) : NULL;
	if (!m || Length == 0) {
		/* Nothing it could name: reported as a flush of nothing mapped. */
		dc_dma_flush(s, DmaAdapter, Mdl, MapRegisterBase, NULL, Length, WriteToDevice, r,
		             pc);
		return STATUS_INVALID_PARAMETER;
	}
	/* One call covers the whole chain: a flush per MDL the range touches. */
	BOOLEAN ok = TRUE;
	ULONG left = Length;
	for (; m && left; m = m->Next, in = 0) {
		ULONG here = DC_MIN(left, (ULONG)(m->ByteCount - in));
		ok &= dc_dma_flush(s, DmaAdapter, m, MapRegisterBase,
		                   (PUCHAR)MmGetMdlVirtualAddress(m) + in, here, WriteToDevice, r,
		                   pc);
		left -= here;
	}
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	for (struct v3map **pp = v ? &v->maps : NULL; pp && *pp; pp = &(*pp)->next)
		if ((*pp)->mrb == MapRegisterBase) {
			struct v3map *mp = *pp;
			*pp = mp->next;
			free(mp);
			break;
		}
	return ok ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static NTSTATUS op_cancel_mapped_transfer(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "CancelMappedTransfer", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "CancelMappedTransfer", RA()))
		return STATUS_INVALID_PARAMETER;
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	struct v3ctx *c = ctx_find(v, DmaTransferContext);
	if (!c || c->state != CTX_GRANTED)
		return STATUS_INVALID_PARAMETER;
	if (f.master)
		return STATUS_NOT_SUPPORTED; /* a bus master stops its own engine */
	for (struct v3map *mp = v->maps; mp; mp = mp->next)
		if (mp->mrb == c->mrb && !mp->cancelled) {
			sysdma_ctl_of(&f)->cancel(s, DmaAdapter, &f);
			mp->cancelled = true;
			/* FlushAdapterBuffersEx is still owed (and drains what moved). */
			return STATUS_SUCCESS;
		}
	return STATUS_UNSUCCESSFUL; /* nothing mapped on it */
}

/* --- GetScatterGatherListEx, BuildScatterGatherListEx ------------------------------------------
 */

static VOID ctx_list_control(PDEVICE_OBJECT dev, PIRP irp, PSCATTER_GATHER_LIST sgl, PVOID context)
{
	struct v3ctx *c = context;
	c->state = CTX_GRANTED;
	c->sgl = sgl;
	c->sgl_done = true;
	if (c->list_control)
		c->list_control(dev, irp, sgl, c->control_ctx);
}

static NTSTATUS sg_ex(struct dc_sys *s, PDMA_ADAPTER ad, PDEVICE_OBJECT dev, PVOID dtc, PMDL mdl,
                      ULONGLONG off, ULONG len, ULONG flags, PDRIVER_LIST_CONTROL control,
                      PVOID ctx, BOOLEAN write, PDMA_COMPLETION_ROUTINE cr, PVOID buf,
                      ULONG buf_len, PSCATTER_GATHER_LIST *out, const char *r, const void *pc)
{
	bool sync = (flags & DMA_SYNCHRONOUS_CALLBACK) != 0;
	dc_irql_require(s, r, PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_dma_facts f;
	if (!facts(s, ad, &f, DC_KEV_SG_MAP, r, pc))
		return STATUS_INVALID_PARAMETER;
	struct v3ctx *c = ctx_find(v3_of(s, ad), dtc);
	ULONG in = 0;
	PMDL m = mdl && !dc_mdl_bad(s, mdl) ? chain_at(mdl, off, &in) : NULL;
	if (!c || c->state == CTX_PENDING || !m || len == 0 || (f.master && cr) ||
	    (flags & ~(ULONG)(DMA_SYNCHRONOUS_CALLBACK | DMA_ZERO_BUFFERS)) ||
	    (!control && (!sync || !out)))
		return STATUS_INVALID_PARAMETER;
	if (sync && (f.owned || f.waiting))
		return STATUS_INSUFFICIENT_RESOURCES;
	c->list_control = control;
	c->control_ctx = ctx;
	c->sgl = NULL;
	c->sgl_done = false;
	c->state = CTX_PENDING;
	NTSTATUS st = dc_dma_get_sg(s, ad, dev, m, (PUCHAR)MmGetMdlVirtualAddress(m) + in, len,
	                            ctx_list_control, c, write, buf, buf_len, r, pc);
	if (!NT_SUCCESS(st)) {
		c->state = CTX_IDLE;
		return st;
	}
	if (sync && !c->sgl_done) {
		dc_dma_cancel_wait(s, ad, c);
		c->state = CTX_IDLE;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (!control && out) {
		dc_ktouch(s, out, sizeof(*out), true);
		*out = c->sgl;
	}
	return STATUS_SUCCESS;
}

static NTSTATUS
op_get_scatter_gather_list_ex(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                              PVOID DmaTransferContext, PMDL Mdl, ULONGLONG Offset, ULONG Length,
                              ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                              BOOLEAN WriteToDevice, PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                              PVOID CompletionContext, PSCATTER_GATHER_LIST *ScatterGatherList)
{
	(void)CompletionContext;
	return sg_ex(dc_k(), DmaAdapter, DeviceObject, DmaTransferContext, Mdl, Offset, Length,
	             Flags, ExecutionRoutine, Context, WriteToDevice, DmaCompletionRoutine, NULL, 0,
	             ScatterGatherList, "GetScatterGatherListEx", RA());
}

static NTSTATUS op_build_scatter_gather_list_ex(
    PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PVOID DmaTransferContext, PMDL Mdl,
    ULONGLONG Offset, ULONG Length, ULONG Flags, PDRIVER_LIST_CONTROL ExecutionRoutine,
    PVOID Context, BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer, ULONG ScatterGatherLength,
    PDMA_COMPLETION_ROUTINE DmaCompletionRoutine, PVOID CompletionContext,
    PSCATTER_GATHER_LIST *ScatterGatherList)
{
	(void)CompletionContext;
	if (!ScatterGatherBuffer)
		return STATUS_INVALID_PARAMETER;
	return sg_ex(dc_k(), DmaAdapter, DeviceObject, DmaTransferContext, Mdl, Offset, Length,
	             Flags, ExecutionRoutine, Context, WriteToDevice, DmaCompletionRoutine,
	             ScatterGatherBuffer, ScatterGatherLength, ScatterGatherList,
	             "BuildScatterGatherListEx", RA());
}

/* --- Common buffers ----------------------------------------------------------------------------
 */

static PVOID op_allocate_common_buffer_ex(PDMA_ADAPTER DmaAdapter, PPHYSICAL_ADDRESS MaximumAddress,
                                          ULONG Length, PPHYSICAL_ADDRESS LogicalAddress,
                                          BOOLEAN CacheEnabled, NODE_REQUIREMENT PreferredNode)
{
	struct dc_sys *s = dc_k();
	(void)PreferredNode; /* one node: any preference is met */
	dc_irql_require(s, "AllocateCommonBufferEx", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	uint64_t max = UINT64_MAX;
	if (MaximumAddress) {
		dc_ktouch(s, MaximumAddress, sizeof(*MaximumAddress), false);
		max = (uint64_t)MaximumAddress->QuadPart;
	}
	return dc_dma_alloc_common(s, DmaAdapter, Length, LogicalAddress, CacheEnabled, 0, max,
	                           "AllocateCommonBufferEx", RA());
}

static PVOID op_allocate_common_buffer_with_bounds(PDMA_ADAPTER DmaAdapter,
                                                   PPHYSICAL_ADDRESS MinimumAddress,
                                                   PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
                                                   ULONG Flags, MEMORY_CACHING_TYPE *CacheType,
                                                   NODE_REQUIREMENT PreferredNode,
                                                   PPHYSICAL_ADDRESS LogicalAddress)
{
	struct dc_sys *s = dc_k();
	(void)PreferredNode;
	dc_irql_require(s, "AllocateCommonBufferWithBounds", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	uint64_t lo = 0, hi = UINT64_MAX;
	BOOLEAN cached = TRUE;
	if (MinimumAddress) {
		dc_ktouch(s, MinimumAddress, sizeof(*MinimumAddress), false);
		lo = (uint64_t)MinimumAddress->QuadPart;
	}
	if (MaximumAddress) {
		dc_ktouch(s, MaximumAddress, sizeof(*MaximumAddress), false);
		hi = (uint64_t)MaximumAddress->QuadPart;
	}
	if (CacheType) {
		dc_ktouch(s, CacheType, sizeof(*CacheType), false);
		if (*CacheType != MmCached && *CacheType != MmNonCached)
			return NULL;
		cached = *CacheType == MmCached;
	}
	if (Flags || lo > hi)
		return NULL;
	return dc_dma_alloc_common(s, DmaAdapter, Length, LogicalAddress, cached, lo, hi,
	                           "AllocateCommonBufferWithBounds", RA());
}

static NTSTATUS op_flush_dma_buffer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, BOOLEAN ReadOperation)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "FlushDmaBuffer", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "FlushDmaBuffer", RA()))
		return STATUS_INVALID_PARAMETER;
	dc_dma_ke_flush(s, Mdl, ReadOperation, TRUE, "FlushDmaBuffer", RA());
	return Mdl && !dc_mdl_bad(s, Mdl) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

static NTSTATUS
op_allocate_common_buffer_vector(PDMA_ADAPTER DmaAdapter, PHYSICAL_ADDRESS LowAddress,
                                 PHYSICAL_ADDRESS HighAddress, MEMORY_CACHING_TYPE CacheType,
                                 ULONG IdealNode, ULONG Flags, ULONG NumberOfElements,
                                 ULONGLONG SizeOfElements, PDMA_COMMON_BUFFER_VECTOR *VectorOut)
{
	struct dc_sys *s = dc_k();
	(void)IdealNode;
	const char *r = "AllocateCommonBufferVector";
	dc_irql_require(s, r, PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, r, RA()) || !VectorOut || Flags ||
	    NumberOfElements == 0 || SizeOfElements == 0 || SizeOfElements > 0xFFFFFFFFu ||
	    (CacheType != MmCached && CacheType != MmNonCached) ||
	    (uint64_t)LowAddress.QuadPart > (uint64_t)HighAddress.QuadPart)
		return STATUS_INVALID_PARAMETER;
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	DMA_COMMON_BUFFER_VECTOR *vec = calloc(1, sizeof(*vec));
	struct cbvec_elem *el = calloc(NumberOfElements, sizeof(*el));
	if (!v || !vec || !el) {
		free(vec);
		free(el);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	vec->n = NumberOfElements;
	vec->cached = CacheType == MmCached;
	vec->elems = el;
	for (ULONG i = 0; i < NumberOfElements; i++) {
		el[i].len = (ULONG)SizeOfElements;
		el[i].va = dc_dma_alloc_common(s, DmaAdapter, el[i].len, &el[i].logical,
		                               vec->cached, (uint64_t)LowAddress.QuadPart,
		                               (uint64_t)HighAddress.QuadPart, r, RA());
		if (!el[i].va) {
			/* All or nothing. */
			for (ULONG k = 0; k < i; k++)
				dc_dma_free_common(s, DmaAdapter, el[k].len, el[k].logical,
				                   el[k].va, vec->cached, "FreeCommonBufferVector",
				                   RA());
			free(el);
			free(vec);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		el[i].live = true;
	}
	vec->next = v->vectors;
	v->vectors = vec;
	dc_ktouch(s, VectorOut, sizeof(*VectorOut), true);
	*VectorOut = vec;
	return STATUS_SUCCESS;
}

static DMA_COMMON_BUFFER_VECTOR *vector_of(struct dc_sys *s, PDMA_ADAPTER ad, const void *p)
{
	struct dc_dma_v3 *v = v3_of(s, ad);
	for (DMA_COMMON_BUFFER_VECTOR *vec = v ? v->vectors : NULL; vec; vec = vec->next)
		if (vec == p)
			return vec;
	return NULL;
}

static VOID op_get_common_buffer_from_vector_by_index(PDMA_ADAPTER DmaAdapter,
                                                      PDMA_COMMON_BUFFER_VECTOR Vector, ULONG Index,
                                                      PVOID *VirtualAddressOut,
                                                      PPHYSICAL_ADDRESS LogicalAddressOut)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "GetCommonBufferFromVectorByIndex", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	DMA_COMMON_BUFFER_VECTOR *vec = vector_of(s, DmaAdapter, Vector);
	bool ok = vec && Index < vec->n && vec->elems[Index].live;
	if (VirtualAddressOut) {
		dc_ktouch(s, VirtualAddressOut, sizeof(*VirtualAddressOut), true);
		*VirtualAddressOut = ok ? vec->elems[Index].va : NULL;
	}
	if (LogicalAddressOut) {
		dc_ktouch(s, LogicalAddressOut, sizeof(*LogicalAddressOut), true);
		LogicalAddressOut->QuadPart = ok ? vec->elems[Index].logical.QuadPart : 0;
	}
}

static VOID op_free_common_buffer_from_vector(PDMA_ADAPTER DmaAdapter,
                                              PDMA_COMMON_BUFFER_VECTOR Vector, ULONG Index)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "FreeCommonBufferFromVector", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	DMA_COMMON_BUFFER_VECTOR *vec = vector_of(s, DmaAdapter, Vector);
	if (!vec || Index >= vec->n || !vec->elems[Index].live)
		return;
	struct cbvec_elem *e = &vec->elems[Index];
	dc_dma_free_common(s, DmaAdapter, e->len, e->logical, e->va, vec->cached,
	                   "FreeCommonBufferFromVector", RA());
	e->live = false;
}

static VOID op_free_common_buffer_vector(PDMA_ADAPTER DmaAdapter, PDMA_COMMON_BUFFER_VECTOR Vector)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "FreeCommonBufferVector", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_v3 *v = v3_of(s, DmaAdapter);
	for (DMA_COMMON_BUFFER_VECTOR **pp = v ? &v->vectors : NULL; pp && *pp; pp = &(*pp)->next)
		if (*pp == Vector) {
			DMA_COMMON_BUFFER_VECTOR *vec = *pp;
			*pp = vec->next;
			for (ULONG i = 0; i < vec->n; i++)
				if (vec->elems[i].live)
					dc_dma_free_common(s, DmaAdapter, vec->elems[i].len,
					                   vec->elems[i].logical, vec->elems[i].va,
					                   vec->cached, "FreeCommonBufferVector",
					                   RA());
			free(vec->elems);
			free(vec);
			return;
		}
}

/* --- DMA domains and CreateCommonBufferFromMdl: DMA remapping only -----------------------------
 */

static NTSTATUS op_allocate_domain_common_buffer(PDMA_ADAPTER DmaAdapter, HANDLE DomainHandle,
                                                 PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
                                                 ULONG Flags, MEMORY_CACHING_TYPE *CacheType,
                                                 NODE_REQUIREMENT PreferredNode,
                                                 PPHYSICAL_ADDRESS LogicalAddress,
                                                 PVOID *VirtualAddress)
{
	struct dc_sys *s = dc_k();
	(void)MaximumAddress, (void)Length, (void)Flags, (void)CacheType, (void)PreferredNode;
	(void)LogicalAddress;
	dc_irql_require(s, "AllocateDomainCommonBuffer", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "AllocateDomainCommonBuffer", RA()) ||
	    !DomainHandle || !VirtualAddress)
		return STATUS_INVALID_PARAMETER;
	return STATUS_INVALID_PARAMETER; /* no domain exists: no handle is one */
}

static NTSTATUS op_join_dma_domain(PDMA_ADAPTER DmaAdapter, HANDLE DomainHandle)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "JoinDmaDomain", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "JoinDmaDomain", RA()) || !DomainHandle)
		return STATUS_INVALID_PARAMETER;
	return STATUS_NOT_SUPPORTED;
}

static NTSTATUS op_leave_dma_domain(PDMA_ADAPTER DmaAdapter)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "LeaveDmaDomain", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "LeaveDmaDomain", RA()))
		return STATUS_INVALID_PARAMETER;
	return STATUS_NOT_SUPPORTED;
}

static HANDLE op_get_dma_domain(PDMA_ADAPTER DmaAdapter)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "GetDmaDomain", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	(void)facts(s, DmaAdapter, &f, DC_KEV_NONE, "GetDmaDomain", RA());
	return NULL;
}

static NTSTATUS
op_create_common_buffer_from_mdl(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                 PDMA_COMMON_BUFFER_EXTENDED_CONFIGURATION ExtendedConfigs,
                                 ULONG ExtendedConfigsCount, PPHYSICAL_ADDRESS LogicalAddress)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "CreateCommonBufferFromMdl", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_dma_facts f;
	if (!facts(s, DmaAdapter, &f, DC_KEV_NONE, "CreateCommonBufferFromMdl", RA()) || !Mdl ||
	    !LogicalAddress || (ExtendedConfigsCount && !ExtendedConfigs))
		return STATUS_INVALID_PARAMETER;
	return STATUS_NOT_SUPPORTED;
}

/* --- The table ----------------------------------------------------------------------------------
 */

static DMA_OPERATIONS v3_ops;
static const DMA_OPERATIONS *v2_ops;
static pthread_once_t v3_once = PTHREAD_ONCE_INIT;

static void v3_ops_init(void)
{
	/* Every v1/v2 member as dma.c serves it, then the v3 and Windows 10 members. */
	memcpy(&v3_ops, v2_ops, offsetof(DMA_OPERATIONS, GetDmaAdapterInfo));
	v3_ops.Size = sizeof(DMA_OPERATIONS);
	v3_ops.GetDmaAdapterInfo = op_get_dma_adapter_info;
	v3_ops.GetDmaTransferInfo = op_get_dma_transfer_info;
	v3_ops.InitializeDmaTransferContext = op_initialize_dma_transfer_context;
	v3_ops.AllocateCommonBufferEx = op_allocate_common_buffer_ex;
	v3_ops.AllocateAdapterChannelEx = op_allocate_adapter_channel_ex;
	v3_ops.ConfigureAdapterChannel = op_configure_adapter_channel;
	v3_ops.CancelAdapterChannel = op_cancel_adapter_channel;
	v3_ops.MapTransferEx = op_map_transfer_ex;
	v3_ops.GetScatterGatherListEx = op_get_scatter_gather_list_ex;
	v3_ops.BuildScatterGatherListEx = op_build_scatter_gather_list_ex;
	v3_ops.FlushAdapterBuffersEx = op_flush_adapter_buffers_ex;
	v3_ops.FreeAdapterObject = op_free_adapter_object;
	v3_ops.CancelMappedTransfer = op_cancel_mapped_transfer;
	v3_ops.AllocateDomainCommonBuffer = op_allocate_domain_common_buffer;
	v3_ops.FlushDmaBuffer = op_flush_dma_buffer;
	v3_ops.JoinDmaDomain = op_join_dma_domain;
	v3_ops.LeaveDmaDomain = op_leave_dma_domain;
	v3_ops.GetDmaDomain = op_get_dma_domain;
	v3_ops.AllocateCommonBufferWithBounds = op_allocate_common_buffer_with_bounds;
	v3_ops.AllocateCommonBufferVector = op_allocate_common_buffer_vector;
	v3_ops.GetCommonBufferFromVectorByIndex = op_get_common_buffer_from_vector_by_index;
	v3_ops.FreeCommonBufferFromVector = op_free_common_buffer_from_vector;
	v3_ops.FreeCommonBufferVector = op_free_common_buffer_vector;
	v3_ops.CreateCommonBufferFromMdl = op_create_common_buffer_from_mdl;
}

const DMA_OPERATIONS *dc_dma_v3_ops(const DMA_OPERATIONS *v2)
{
	v2_ops = v2;
	pthread_once(&v3_once, v3_ops_init);
	return &v3_ops;
}
