/* The HAL's DMA side: adapter objects (IoGetDmaAdapter, HalGetAdapter), every DMA_OPERATIONS
 * member of versions 1 and 2, the legacy Io and Hal routines, and KeFlushIoBuffers.
 *
 * A system DMA adapter owns an 8237 channel and a file of map registers whose bounce pages are
 * one contiguous run inside a 64 KiB DMA page below 16 MiB (the 8237 reaches one contiguous
 * range), so a piece whose pages are not contiguous, or lie above the controller's reach, is
 * copied through them.  MapTransfer programs the channel through its ports as a real HAL does;
 * FlushAdapterBuffers drains the controller's internal buffer, then copies bounced read data
 * back.  A bus-master adapter has a map register file of its own (bounces only what the
 * device cannot address); FlushAdapterBuffers drains the host bridge's posted writes for the
 * device.  On a non-coherent platform, FlushAdapterBuffers of a device->memory transfer also
 * invalidates the CPU caches over the bytes the device wrote directly (as v3's
 * FlushAdapterBuffersEx is documented to do), so that a driver that follows G1-G7 always gets
 * correct data.
 *
 * Bad arguments get what Windows gives (NULL, FALSE, an NTSTATUS, or nothing) and a kernel
 * event that tells the checker what happened; nothing here trusts a pointer a driver passes
 * until it is found in the kernel's own lists. */
#include <stdlib.h>
#include <string.h>

#include "dma_priv.h"

static const DMA_OPERATIONS dma_ops;

/* The adapter behind a pointer a driver passed, or NULL if it is none of ours.  A released
 * adapter is still found (its use is reported, not a crash). */
static struct dc_adapter *adapter_of(struct dc_sys *s, const void *p)
{
	for (struct dc_adapter *a = s->adapters; a; a = a->next)
		if (a == p)
			return a;
	return NULL;
}

static struct dc_mrb *mrb_of(struct dc_adapter *a, const void *p)
{
	for (struct dc_mrb *b = a->mrbs; b; b = b->next)
		if (b == p)
			return b;
	return NULL;
}

struct dc_kev dc_dmap_kev(enum dc_kev_type t, const char *routine, const void *pc,
                          struct dc_adapter *a, const void *adapter_arg)
{
	struct dc_kev e = {.type = t, .routine = routine, .pc = pc, .adapter = adapter_arg};
	if (a)
		e.device = a->dev ? a->dev->pdo : NULL;
	return e;
}

/* An adapter argument that is NULL, not ours or released: report it, and tell the caller. */
struct dc_adapter *dc_dmap_check_adapter(struct dc_sys *s, const void *p, enum dc_kev_type t,
                                         const char *routine, const void *pc)
{
	struct dc_adapter *a = adapter_of(s, p);
	if (a && !a->released)
		return a;
	struct dc_kev e = dc_dmap_kev(t, routine, pc, a, p);
	e.status = -1;
	if (t == DC_KEV_MAP)
		e.status = DC_KMAP_NO_ADAPTER;
	dc_kev_emit(s, &e);
	return NULL;
}

/* --- IoGetDmaAdapter ------------------------------------------------------------------------ */

/* The 8237's DMA page: its address counter is 16 bits (of words on channels 5-7) and does not
 * carry into the page register, so one operation stays inside 64 KiB (128 KiB). */
static uint64_t sysdma_page(const struct dc_adapter *a)
{
	if (a->plch >= 0)
		return UINT64_C(1) << 32; /* the PL080's 32-bit addresses have no DMA page */
	return dc_i8237_width((unsigned)a->channel) == 1 ? 0x10000 : 0x20000;
}

static struct dc_adapter *adapter_new(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_DESCRIPTION dd,
                                      ULONG *nmr_out)
{
	if (dd->Version > DEVICE_DESCRIPTION_VERSION3)
		return NULL; /* NULL, as for any version the HAL lacks */
	/* Version 3 ignores Dma32/64BitAddresses: a bus master says DmaAddressWidth. */
	bool v3 = dd->Version == DEVICE_DESCRIPTION_VERSION3;
	if (v3 && dd->Master && (dd->DmaAddressWidth < 24 || dd->DmaAddressWidth > 64))
		return NULL;
	struct dc_adapter *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->v3 = v3;
	a->plch = -1;
	a->s = s;
	a->dev = d;
	a->master = dd->Master;
	a->autoinit = !dd->Master && dd->AutoInitialize;
	a->demand = !dd->Master && dd->Version >= DEVICE_DESCRIPTION_VERSION2 && dd->DemandMode;
	uint64_t need = dd->MaximumLength
	                    ? (dd->MaximumLength + DC_PAGE_SIZE - 1) / DC_PAGE_SIZE + 1
	                    : s->m->plat.map_registers;
	if (a->master) {
		a->sg = dd->ScatterGather;
		a->channel = -1;
		if (v3)
			a->addr_bits = dd->DmaAddressWidth >= 64   ? 64
			               : dd->DmaAddressWidth >= 32 ? 32
			                                           : 24;
		else if (dd->Dma64BitAddresses)
			a->addr_bits = 64;
		else if (dd->Dma32BitAddresses || dd->InterfaceType == PCIBus)
			a->addr_bits = 32;
		else
			a->addr_bits = 24;
		a->nmr = (uint32_t)DC_MIN(need, (uint64_t)s->m->plat.map_registers);
	} else if (v3 && s->pl080 && !s->dma) {
		/* A request-line controller: the channel follows DmaRequestLine (dma_v3_soc.c). */
		a->channel = -1;
		a->sg = false;
		a->lli = true;
		a->addr_bits = 32;
		a->plch =
		    dc_v3soc_bind(s, a, dd->DmaRequestLine, (uint64_t)dd->DeviceAddress.QuadPart);
		if (a->plch < 0)
			goto fail;
		a->nmr = (uint32_t)DC_MIN(need, (uint64_t)DC_V3SOC_MAX / DC_PAGE_SIZE + 1);
		a->nmr = DC_MIN(a->nmr, s->m->plat.map_registers);
	} else {
		unsigned ch = dd->DmaChannel;
		/* v3 on the 8237: the channel is DmaChannel or DmaRequestLine (both, if given,
		 * the same). */
		if (v3 && dd->DmaRequestLine && ch && ch != dd->DmaRequestLine)
			goto fail;
		if (v3 && !ch)
			ch = dd->DmaRequestLine;
		bool wide = ch >= 4;
		if (!s->dma || ch > 7 || ch == 4 || (dd->DmaWidth == Width16Bits) != wide ||
		    (dd->DmaWidth != Width8Bits && dd->DmaWidth != Width16Bits))
			goto fail;
		for (struct dc_adapter *o = s->adapters; o; o = o->next)
			if (!o->released && !o->master && o->channel == (int)ch)
				goto fail; /* one adapter per channel */
		a->channel = (int)ch;
		a->sg = false;
		a->addr_bits = s->m->plat.sysdma_addr_bits;
		/* One operation of the 8237 moves at most 64 KiB (128 KiB on 16-bit channels),
		 * inside one DMA page: 16 registers. */
		a->nmr = (uint32_t)DC_MIN(need, (uint64_t)16);
		a->nmr = DC_MIN(a->nmr, s->m->plat.map_registers);
	}
	if (a->nmr == 0)
		a->nmr = 1;
	uint32_t file = a->master ? DC_MIN(a->nmr * 4, 4096u) : a->nmr;
	if (dc_mapreg_create(s->m, file, a->addr_bits, (!a->master || !a->sg) && !a->lli, &a->mr))
		goto fail;
	if (!a->master)
		dc_mapreg_set_dma_page(a->mr, sysdma_page(a));
	a->pub.Version = 1;
	a->pub.Size = sizeof(DMA_ADAPTER);
	a->pub.DmaOperations = (PDMA_OPERATIONS)(v3 ? dc_dma_v3_ops(&dma_ops) : &dma_ops);
	a->next = s->adapters;
	s->adapters = a;
	*nmr_out = a->nmr;
	return a;
fail:
	if (a->plch >= 0)
		dc_v3soc_unbind(s, a);
	free(a);
	return NULL;
}

static void emit_get(struct dc_sys *s, struct dc_adapter *a, PDEVICE_OBJECT pdo,
                     PDEVICE_DESCRIPTION dd, const char *routine, const void *pc)
{
	struct dc_kev e = dc_dmap_kev(DC_KEV_ADAPTER_GET, routine, pc, a, a);
	e.device = pdo;
	e.count = a ? a->nmr : 0;
	if (dd) {
		e.flags = (dd->Master ? DC_KEVF_MASTER : 0) | (dd->ScatterGather ? DC_KEVF_SG : 0) |
		          (dd->AutoInitialize ? DC_KEVF_AUTOINIT : 0) |
		          (dd->Dma32BitAddresses ? DC_KEVF_DMA32 : 0) |
		          (dd->Dma64BitAddresses ? DC_KEVF_DMA64 : 0);
		e.len = dd->MaximumLength;
		e.status = dd->Version;
		e.value = dd->DmaChannel;
	}
	dc_kev_emit(s, &e);
}

/* HalGetAdapter's lookup, also IoGetDmaAdapter's with no PDO (a legacy driver's, as the I/O
 * manager hands it to the HAL): the device is found by its DMA channel, or is the first bus
 * master without an adapter. */
static struct dc_adapter *hal_get(struct dc_sys *s, PDEVICE_DESCRIPTION DeviceDescription,
                                  PULONG NumberOfMapRegisters, const char *routine, const void *pc)
{
	struct dc_adapter *a = NULL;
	struct dc_sysdev *d = NULL;
	if (DeviceDescription && NumberOfMapRegisters) {
		/* No PDO: the device is the one on that channel, or the first bus master without an
		 * adapter. */
		for (unsigned i = 0; i < s->n_devs && !d; i++) {
			struct dc_sysdev *c = s->devs[i];
			if (!DeviceDescription->Master)
				d = c->dev.res.dma_channel == (int)DeviceDescription->DmaChannel ||
				            (c->dev.res.has_dma2 &&
				             c->dev.res.dma_channel2 ==
				                 (int)DeviceDescription->DmaChannel)
				        ? c
				        : NULL;
			else if (c->bm) {
				bool taken = false;
				for (struct dc_adapter *o = s->adapters; o; o = o->next)
					taken |= o->dev == c && !o->released;
				d = taken ? NULL : c;
			}
		}
		ULONG n = 0;
		if (d && (a = adapter_new(s, d, DeviceDescription, &n)))
			*NumberOfMapRegisters = n;
	}
	emit_get(s, a, d ? d->pdo : NULL, DeviceDescription, routine, pc);
	return a;
}

struct _DMA_ADAPTER *IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                                     struct _DEVICE_DESCRIPTION *DeviceDescription,
                                     PULONG NumberOfMapRegisters)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoGetDmaAdapter", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	/* PhysicalDeviceObject is optional (required of PnP drivers only). */
	if (!PhysicalDeviceObject) {
		struct dc_adapter *la =
		    hal_get(s, DeviceDescription, NumberOfMapRegisters, "IoGetDmaAdapter", RA());
		return la ? &la->pub : NULL;
	}
	struct dc_sysdev *d = dc_io_pdo_sysdev(PhysicalDeviceObject);
	struct dc_adapter *a = NULL;
	if (d && DeviceDescription && NumberOfMapRegisters) {
		dc_ktouch(s, DeviceDescription, sizeof(*DeviceDescription), false);
		ULONG n = 0;
		a = adapter_new(s, d, DeviceDescription, &n);
		if (a) {
			dc_ktouch(s, NumberOfMapRegisters, sizeof(ULONG), true);
			*NumberOfMapRegisters = n;
		}
	}
	emit_get(s, a, PhysicalDeviceObject, DeviceDescription, "IoGetDmaAdapter", RA());
	return a ? &a->pub : NULL;
}

PADAPTER_OBJECT HalGetAdapter(PDEVICE_DESCRIPTION DeviceDescription, PULONG NumberOfMapRegisters)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "HalGetAdapter", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_adapter *a =
	    hal_get(s, DeviceDescription, NumberOfMapRegisters, "HalGetAdapter", RA());
	return a ? &a->pub : NULL;
}

/* --- Granting the adapter ------------------------------------------------------------------ */

static struct dc_mrb *mrb_new(struct dc_adapter *a, uint32_t n)
{
	struct dc_mrb *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (n) {
		int first = dc_mapreg_alloc(a->mr, n);
		if (first < 0) {
			free(b);
			return NULL;
		}
		b->first = (uint32_t)first;
	}
	b->ad = a;
	b->n = n;
	b->next = a->mrbs;
	a->mrbs = b;
	return b;
}

void dc_dmap_xfer_free(struct dc_xfer *x)
{
	free(x->pieces);
	free(x);
}

/* Frees a map register base; open transfers are abandoned (their bounced data is lost). */
void dc_dmap_mrb_free(struct dc_adapter *a, struct dc_mrb *b)
{
	for (struct dc_xfer *x = b->xfers, *nx; x; x = nx) {
		nx = x->next;
		dc_mapreg_discard(a->mr, x->first, x->n);
		dc_dmap_xfer_free(x);
	}
	if (b->n)
		dc_mapreg_free(a->mr, b->first, b->n);
	for (struct dc_mrb **pp = &a->mrbs; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	if (a->channel_mrb == b)
		a->channel_mrb = NULL;
	free(b);
}

/* Hands the adapter to queued requests while it is free and registers are available. */
void dc_dmap_try_grant(struct dc_adapter *a)
{
	struct dc_sys *s = a->s;
	if (a->granting)
		return;
	a->granting = true;
	while (a->waitq && !a->owned && !a->released) {
		struct dc_wait *w = a->waitq;
		struct dc_mrb *b = mrb_new(a, w->nregs);
		if (!b)
			break; /* registers busy: wait for a free */
		a->waitq = w->next;
		KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
		dc_ksync(s, DC_SYNC_CONSUME, w, 0);
		dc_ksync(s, DC_SYNC_ACQUIRE, a, 0); /* after the grant's previous holder let go */
		if (w->kind == WAIT_SG) {
			dc_dmap_run_sg(a, w, b);
		} else {
			a->owned = true;
			PIRP irp = w->dev ? w->dev->CurrentIrp : NULL;
			a->granting = false;
			IO_ALLOCATION_ACTION act = w->control(w->dev, irp, b, w->ctx);
			a->granting = true;
			struct dc_kev e =
			    dc_dmap_kev(DC_KEV_ADAPTER_CONTROL, "AdapterControl", NULL, a, a);
			e.device = w->dev;
			e.irp = irp;
			e.mrb = b;
			e.count = w->nregs;
			e.status = act;
			dc_kev_emit(s, &e);
			if (mrb_of(a, b)) {
				if (act == DeallocateObject) {
					dc_dmap_mrb_free(a, b);
					a->owned = false;
				} else if (act == DeallocateObjectKeepRegisters) {
					a->owned = false;
				} else {
					/* KeepObject, and any undefined value the HAL cannot act
					 * on. */
					a->channel_mrb = b;
				}
			}
		}
		dc_ksync(s, DC_SYNC_RELEASE, a, 0);
		dc_irql_lower(s, old);
		free(w);
	}
	a->granting = false;
}

static void grant_dpc(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)a1, (void)a2;
	dc_dmap_try_grant(ctx);
}

/* --deferred-grant: the waiting AdapterControls run from a DPC of the HAL's, as they do when
 * the channel is freed by another request; nothing runs inside AllocateAdapterChannel. */
void dc_dmap_defer_grant(struct dc_adapter *a)
{
	if (a->grant_dpc.Type == 0)
		KeInitializeDpc(&a->grant_dpc, grant_dpc, a);
	KeInsertQueueDpc(&a->grant_dpc, NULL, NULL);
}

static NTSTATUS allocate_channel(struct dc_sys *s, PDMA_ADAPTER DmaAdapter,
                                 PDEVICE_OBJECT DeviceObject, ULONG NumberOfMapRegisters,
                                 PDRIVER_CONTROL ExecutionRoutine, PVOID Context,
                                 const char *routine, const void *pc)
{
	dc_irql_require(s, routine, DISPATCH_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_CHANNEL_ALLOC, routine, pc);
	if (!a)
		return STATUS_INVALID_PARAMETER;
	struct dc_kev e = dc_dmap_kev(DC_KEV_CHANNEL_ALLOC, routine, pc, a, a);
	e.device = DeviceObject;
	e.count = NumberOfMapRegisters;
	if (NumberOfMapRegisters > a->nmr || !ExecutionRoutine) {
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		dc_kev_emit(s, &e);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	struct dc_wait *w = calloc(1, sizeof(*w));
	if (!w) {
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		dc_kev_emit(s, &e);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	w->kind = WAIT_CHANNEL;
	w->dev = DeviceObject;
	w->nregs = NumberOfMapRegisters;
	w->control = ExecutionRoutine;
	w->ctx = Context;
	struct dc_wait **pp = &a->waitq;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	e.status = STATUS_SUCCESS;
	bool defer = s->m->plat.deferred_grant;
	e.flags = (a->owned || a->waitq != w || defer) ? DC_KEVF_QUEUED : 0;
	dc_kev_emit(s, &e);
	dc_ksync(s, DC_SYNC_RELEASE, w, 0); /* the caller is ordered before its AdapterControl */
	if (defer)
		dc_dmap_defer_grant(a);
	else
		dc_dmap_try_grant(a);
	return STATUS_SUCCESS;
}

static NTSTATUS op_allocate_adapter_channel(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                            ULONG NumberOfMapRegisters,
                                            PDRIVER_CONTROL ExecutionRoutine, PVOID Context)
{
	return allocate_channel(dc_k(), DmaAdapter, DeviceObject, NumberOfMapRegisters,
	                        ExecutionRoutine, Context, "AllocateAdapterChannel", RA());
}

static void free_channel(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, const char *routine,
                         const void *pc)
{
	dc_irql_require(s, routine, DISPATCH_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_CHANNEL_FREE, routine, pc);
	if (!a)
		return;
	struct dc_kev e = dc_dmap_kev(DC_KEV_CHANNEL_FREE, routine, pc, a, a);
	dc_ksync(s, DC_SYNC_RELEASE, a, 0);
	if (a->channel_mrb) {
		e.count = a->channel_mrb->n;
		e.mrb = a->channel_mrb;
		dc_dmap_mrb_free(a, a->channel_mrb);
	}
	e.status = a->owned;
	a->owned = false;
	if (!a->master && a->channel >= 0)
		dc_i8237_hal_mask(a->s->dma, (unsigned)a->channel, true);
	dc_kev_emit(s, &e);
	dc_dmap_try_grant(a);
}

static void op_free_adapter_channel(PDMA_ADAPTER DmaAdapter)
{
	free_channel(dc_k(), DmaAdapter, "FreeAdapterChannel", RA());
}

static void free_map_registers(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                               ULONG NumberOfMapRegisters, const char *routine, const void *pc)
{
	dc_irql_require(s, routine, DISPATCH_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_MAPREG_FREE, routine, pc);
	if (!a)
		return;
	struct dc_kev e = dc_dmap_kev(DC_KEV_MAPREG_FREE, routine, pc, a, a);
	dc_ksync(s, DC_SYNC_RELEASE, a, 0);
	e.mrb = MapRegisterBase;
	e.count = NumberOfMapRegisters;
	struct dc_mrb *b = mrb_of(a, MapRegisterBase);
	e.status = b && b->n == NumberOfMapRegisters;
	/* The run is freed whatever count was passed: the checker reports a mismatch, and the
	 * registers are not leaked to block every later request. */
	if (b)
		dc_dmap_mrb_free(a, b);
	dc_kev_emit(s, &e);
	dc_dmap_try_grant(a);
}

static void op_free_map_registers(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                                  ULONG NumberOfMapRegisters)
{
	free_map_registers(dc_k(), DmaAdapter, MapRegisterBase, NumberOfMapRegisters,
	                   "FreeMapRegisters", RA());
}

/* --- MapTransfer / FlushAdapterBuffers -------------------------------------------------------- */

static PHYSICAL_ADDRESS map_transfer(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                     PVOID MapRegisterBase, PVOID CurrentVa, PULONG Length,
                                     BOOLEAN WriteToDevice, const char *routine, const void *pc)
{
	PHYSICAL_ADDRESS ret = {.QuadPart = 0};
	dc_irql_require(s, routine, PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_MAP, routine, pc);
	if (!a)
		return ret;
	struct dc_kev e = dc_dmap_kev(DC_KEV_MAP, routine, pc, a, a);
	e.mdl = Mdl;
	e.mrb = MapRegisterBase;
	e.va = CurrentVa;
	e.dir = WriteToDevice ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE;
	e.value = -1;
	if (s->map_run)
		e.flags |= DC_KEVF_RUN;
	ULONG len = 0;
	if (Length) {
		dc_ktouch(s, Length, sizeof(*Length), false);
		len = *Length;
	}
	e.len = len;
	struct dc_mrb *b = mrb_of(a, MapRegisterBase);
	struct dc_mapreg_piece *pieces = NULL;
	if (!b) {
		e.status = DC_KMAP_NO_CHANNEL;
		goto refuse;
	}
	if (Mdl && dc_mdl_bad(s, Mdl)) {
		e.status = DC_KMAP_GARBAGE_MDL;
		goto refuse;
	}
	if (!Mdl ||
	    !(Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL))) {
		e.status = DC_KMAP_BAD_MDL;
		goto refuse;
	}
	if (len == 0) {
		e.status = DC_KMAP_ZERO_LENGTH;
		goto refuse;
	}
	uint8_t *mdl_va = MmGetMdlVirtualAddress(Mdl);
	if ((uint8_t *)CurrentVa < mdl_va ||
	    (uint64_t)((uint8_t *)CurrentVa - mdl_va) >= Mdl->ByteCount ||
	    (uint64_t)((uint8_t *)CurrentVa - mdl_va) + len > Mdl->ByteCount) {
		e.status = DC_KMAP_OUTSIDE_MDL;
		goto refuse;
	}
	uint64_t off = (uint64_t)((uint8_t *)CurrentVa - mdl_va);
	e.value = (int64_t)off;
	uint32_t file = dc_mapreg_count(a->mr);
	uint32_t max = file;
	pieces = malloc((size_t)max * sizeof(*pieces));
	if (!pieces) {
		e.status = DC_KMAP_HW_REFUSED;
		goto refuse;
	}
	int np = dc_mdl_pieces(s, Mdl, off, len, pieces, max);
	if (!(a->master && a->sg) && !a->lli) {
		/* Without scatter/gather every MapTransfer loads the base's registers from the
		 * first: an earlier mapping that was never flushed is overwritten (its bounced
		 * read data lost, its residue left in the controller). */
		for (struct dc_xfer *x = b->xfers, *nx; x; x = nx) {
			nx = x->next;
			dc_mapreg_discard(a->mr, x->first, x->n);
			dc_dmap_xfer_free(x);
		}
		b->xfers = NULL;
		b->cursor = 0;
	}
	uint32_t avail = b->n > b->cursor ? b->n - b->cursor : 0;
	e.status = DC_KMAP_OK;
	if (np == DC_ERR_RANGE) {
		/* Longer than the whole register file: it certainly overruns this base. */
		e.status = DC_KMAP_TOO_MANY_REGS;
		np = (int)max;
	}
	if (np <= 0) {
		e.status = DC_KMAP_BAD_MDL;
		goto refuse;
	}
	/* More pieces than the registers this base holds: map what they hold and shorten
	 * *Length (the HAL maps one register per page; the split loop continues from there). */
	uint32_t use = (uint32_t)np;
	if (use > avail || e.status == DC_KMAP_TOO_MANY_REGS) {
		e.status = DC_KMAP_TOO_MANY_REGS;
		use = DC_MIN(use, avail);
	}
	/* Scatter/gather bus masters get one logically contiguous run per call. */
	bool direct_sg = a->master && a->sg;
	if (use == 0) {
		goto refuse;
	}
	uint64_t *logical = malloc(use * sizeof(*logical));
	if (!logical) {
		e.status = DC_KMAP_HW_REFUSED;
		goto refuse;
	}
	uint32_t first = b->first + b->cursor;
	int err = dc_mapreg_map(a->mr, first, pieces, use, e.dir, logical);
	if (err) {
		free(logical);
		e.status = err == DC_ERR_BUSY ? DC_KMAP_BUSY : DC_KMAP_HW_REFUSED;
		goto refuse;
	}
	uint32_t keep = use;
	if (direct_sg) {
		keep = 1;
		while (keep < use && logical[keep] == logical[keep - 1] + pieces[keep - 1].len)
			keep++;
		if (keep < use)
			dc_mapreg_discard(a->mr, first + keep, use - keep);
		if (keep < (uint32_t)np && e.status == DC_KMAP_OK)
			e.status = DC_KMAP_SHORT;
	}
	if (!a->master) {
		/* The HAL double-buffers a physically contiguous run that would cross a DMA page
		 * (the map registers' bounce pages lie inside one: dc_mapreg_set_dma_page); should
		 * even the bounce run cross one, the piece ends at the boundary and *Length says
		 * so, as the ReactOS HAL's IoMapTransfer does.  The split loop goes on from there.
		 */
		uint64_t page = sysdma_page(a);
		keep = 1;
		while (keep < use && logical[keep] == logical[keep - 1] + pieces[keep - 1].len &&
		       logical[keep] / page == logical[0] / page)
			keep++;
		if (keep < use) {
			dc_mapreg_discard(a->mr, first + keep, use - keep);
			if (e.status == DC_KMAP_OK)
				e.status = DC_KMAP_SHORT;
		}
	}
	uint64_t mapped = 0;
	for (uint32_t i = 0; i < keep; i++)
		mapped += pieces[i].len;
	if (!a->master && a->channel >= 0) {
		uint8_t mode = (WriteToDevice ? DC_I8237_MODE_READ : DC_I8237_MODE_WRITE) |
		               (a->autoinit ? DC_I8237_MODE_AUTOINIT : 0) |
		               (a->demand ? DC_I8237_MODE_DEMAND : DC_I8237_MODE_SINGLE);
		if (dc_i8237_hal_program(s->dma, (unsigned)a->channel, mode, logical[0],
		                         (uint32_t)mapped)) {
			dc_mapreg_discard(a->mr, first, keep);
			free(logical);
			e.status = DC_KMAP_HW_REFUSED;
			goto refuse;
		}
	}
	struct dc_xfer *x = calloc(1, sizeof(*x));
	struct dc_kev_piece *kp = calloc(keep, sizeof(*kp));
	if (!x || !kp) {
		free(x);
		free(kp);
		dc_mapreg_discard(a->mr, first, keep);
		free(logical);
		e.status = DC_KMAP_HW_REFUSED;
		goto refuse;
	}
	for (uint32_t i = 0; i < keep; i++)
		kp[i] = (struct dc_kev_piece){.va = pieces[i].va,
		                              .pa = pieces[i].pa,
		                              .logical = logical[i],
		                              .len = pieces[i].len};
	x->id = ++s->xfer_seq;
	x->mdl = Mdl;
	x->va = CurrentVa;
	x->len = (ULONG)mapped;
	x->dir = e.dir;
	x->first = first;
	x->n = keep;
	x->pieces = kp;
	x->n_pieces = keep;
	x->next = b->xfers;
	b->xfers = x;
	b->cursor += keep;
	ret.QuadPart = (LONGLONG)logical[0];
	free(logical);
	if (Length && mapped != len) {
		dc_ktouch(s, Length, sizeof(*Length), true);
		*Length = (ULONG)mapped;
	}
	e.len_out = mapped;
	e.logical = (uint64_t)ret.QuadPart;
	e.xfer = x->id;
	e.pieces = kp;
	e.n_pieces = keep;
	dc_kev_emit(s, &e);
	free(pieces);
	return ret;
refuse:
	/* Nothing mapped: *Length = 0 says so, where the driver looks (the checker reports the
	 * refusal, A12, with its reason). */
	free(pieces);
	if (Length) {
		dc_ktouch(s, Length, sizeof(*Length), true);
		*Length = 0;
	}
	e.len_out = 0;
	dc_kev_emit(s, &e);
	return ret;
}

static PHYSICAL_ADDRESS op_map_transfer(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                        PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
	return map_transfer(dc_k(), DmaAdapter, Mdl, MapRegisterBase, CurrentVa, Length,
	                    WriteToDevice, "MapTransfer", RA());
}

/* Cache maintenance after a device wrote memory directly (non-coherent platforms): whole lines
 * are invalidated; a partial line at either edge is cleaned and invalidated, so the CPU's bytes
 * beside the buffer survive (and if the CPU wrote that line during the transfer, its stale
 * copy of the buffer's bytes lands over the device's: the cacheline-sharing hazard). */
static void invalidate_after_read(struct dc_sys *s, const struct dc_kev_piece *p, uint32_t n,
                                  struct dc_mapreg_file *mr, uint32_t first)
{
	struct dc_machine *m = s->m;
	if (m->plat.coherency == DC_COHERENT)
		return;
	uint64_t line = m->plat.line_size;
	for (uint32_t i = 0; i < n; i++) {
		const struct dc_mapreg_entry *re = dc_mapreg_entry(mr, first + i);
		if (re->bounced || !dc_mem_in_cached(&m->mem, p[i].va))
			continue;
		uintptr_t lo = (uintptr_t)p[i].va, hi = lo + p[i].len;
		uintptr_t alo = (lo + line - 1) & ~(uintptr_t)(line - 1);
		uintptr_t ahi = hi & ~(uintptr_t)(line - 1);
		if (alo >= ahi) {
			dc_cpu_cache_range(m, (void *)lo, hi - lo, DC_CACHE_CLEAN_INVAL, false);
			continue;
		}
		if (lo < alo)
			dc_cpu_cache_range(m, (void *)lo, alo - lo, DC_CACHE_CLEAN_INVAL, false);
		dc_cpu_cache_range(m, (void *)alo, ahi - alo, DC_CACHE_INVAL, false);
		if (ahi < hi)
			dc_cpu_cache_range(m, (void *)ahi, hi - ahi, DC_CACHE_CLEAN_INVAL, false);
	}
}

/* The device side of a drain: the 8237's internal buffer, or the bridge's posted writes. */
bool dc_dmap_drain_device(struct dc_adapter *a)
{
	if (a->plch >= 0)
		return dc_v3soc_drain(a->s, a);
	if (!a->master)
		return dc_i8237_hal_flush(a->s->dma, (unsigned)a->channel);
	if (a->dev && a->dev->bm)
		return dc_busmaster_drain(a->dev->bm);
	return true;
}

bool dc_dmap_drain_xfer(struct dc_adapter *a, struct dc_xfer *x, bool device_ok)
{
	struct dc_machine *m = a->s->m;
	if (x->dir == DC_DIR_FROM_DEVICE)
		invalidate_after_read(a->s, x->pieces, x->n_pieces, a->mr, x->first);
	dc_mapreg_drain(a->mr, x->first, x->n);
	/* The copy back from the bounce pages went through the cache: on a non-coherent platform
	 * write it back at once, or a dirty edge line shared with the next piece (which the device
	 * may write directly) would later land over that piece's data. */
	if (x->dir == DC_DIR_FROM_DEVICE && m->plat.coherency != DC_COHERENT)
		for (uint32_t i = 0; i < x->n_pieces; i++)
			if (x->pieces[i].logical != x->pieces[i].pa &&
			    dc_mem_in_cached(&m->mem, x->pieces[i].va))
				dc_cpu_cache_range(m, x->pieces[i].va, x->pieces[i].len,
				                   DC_CACHE_CLEAN, false);
	return device_ok;
}

static BOOLEAN flush_adapter(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                             PVOID MapRegisterBase, PVOID CurrentVa, ULONG Length,
                             BOOLEAN WriteToDevice, const char *routine, const void *pc)
{
	dc_irql_require(s, routine, PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_FLUSH, routine, pc);
	if (!a)
		return FALSE;
	struct dc_kev e = dc_dmap_kev(DC_KEV_FLUSH, routine, pc, a, a);
	e.mdl = Mdl;
	e.mrb = MapRegisterBase;
	e.va = CurrentVa;
	e.len = Length;
	e.dir = WriteToDevice ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE;
	struct dc_mrb *b = mrb_of(a, MapRegisterBase);
	BOOLEAN ok = TRUE;
	if (b && b->xfers) {
		/* The transfer these arguments name; if they name none (wrong CurrentVa), the HAL
		 * drains what the registers hold, the most recent mapping first. */
		struct dc_xfer **pp = &b->xfers, **hit = NULL;
		for (; *pp; pp = &(*pp)->next)
			if ((*pp)->mdl == Mdl && (*pp)->va == CurrentVa)
				hit = pp;
		if (!hit)
			hit = &b->xfers;
		struct dc_xfer *x = *hit;
		*hit = x->next;
		bool dev_ok = dc_dmap_drain_device(a);
		ok = dc_dmap_drain_xfer(a, x, dev_ok);
		/* A scatter/gather operation built by several MapTransfers is flushed once, with
		 * its first CurrentVa and its total Length: the rest of it drains too. */
		if (((a->master && a->sg) || a->lli) && x->va == CurrentVa)
			for (struct dc_xfer **qq = &b->xfers; *qq;) {
				struct dc_xfer *y = *qq;
				if (y->mdl == Mdl && (uint8_t *)y->va > (uint8_t *)CurrentVa &&
				    (uint8_t *)y->va + y->len <= (uint8_t *)CurrentVa + Length) {
					*qq = y->next;
					dc_dmap_drain_xfer(a, y, dev_ok);
					dc_dmap_xfer_free(y);
					continue;
				}
				qq = &y->next;
			}
		e.xfer = x->id;
		e.pieces = x->pieces;
		e.n_pieces = x->n_pieces;
		e.status = ok;
		dc_kev_emit(s, &e);
		dc_dmap_xfer_free(x);
		if (!b->xfers)
			b->cursor = 0;
		return ok;
	}
	/* Nothing mapped: the controller is drained all the same. */
	ok = dc_dmap_drain_device(a);
	e.status = ok;
	dc_kev_emit(s, &e);
	return ok;
}

static BOOLEAN op_flush_adapter_buffers(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                        PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
	return flush_adapter(dc_k(), DmaAdapter, Mdl, MapRegisterBase, CurrentVa, Length,
	                     WriteToDevice, "FlushAdapterBuffers", RA());
}

static ULONG read_counter(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, const char *routine,
                          const void *pc)
{
	dc_irql_require(s, routine, PASSIVE_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_NONE, routine, pc);
	if (!a || a->master || a->channel < 0)
		return 0;
	dc_ksync(s, DC_SYNC_DEVICE, NULL, 0); /* the count says what the device wrote */
	return dc_i8237_hal_read_counter(s->dma, (unsigned)a->channel);
}

static ULONG op_read_dma_counter(PDMA_ADAPTER DmaAdapter)
{
	return read_counter(dc_k(), DmaAdapter, "ReadDmaCounter", RA());
}

static ULONG op_get_dma_alignment(PDMA_ADAPTER DmaAdapter)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "GetDmaAlignment", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_NONE, "GetDmaAlignment", RA());
	/* The PC HAL places no alignment requirement on DMA buffers, except that a 16-bit
	 * channel moves words from even addresses. */
	return a && !a->master && a->channel >= 4 ? 2 : 1;
}

/* --- Common buffers ----------------------------------------------------------------------------
 */

static enum dc_zone zone_for(uint32_t addr_bits)
{
	return addr_bits <= 24 ? DC_ZONE_ISA : addr_bits <= 32 ? DC_ZONE_DMA32 : DC_ZONE_ANY;
}

/* Cached common buffers get DC_GUARD_PAGES redzone pages of VA on each side (no frames, so
 * the buffer's pages and lines are what they would be without); uncached ones live in the
 * uncached window, where no redzone can be placed without taking frames. */
static void *alloc_run(struct dc_sys *s, uint64_t pages, enum dc_zone z, bool cached)
{
	return cached ? dc_alloc_cached_guarded(s->m, pages, z, true, DC_GUARD_PAGES)
	              : dc_alloc_uncached(s->m, pages, z);
}

static void free_run(struct dc_sys *s, void *va, uint64_t pages, bool cached)
{
	if (cached)
		dc_free_cached_guarded(s->m, va, pages, DC_GUARD_PAGES);
	else
		dc_free_uncached(s->m, va, pages);
}

static PVOID allocate_common(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, ULONG Length,
                             PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled,
                             uint64_t min_pa, uint64_t max_pa, const char *routine, const void *pc)
{
	dc_irql_require(s, routine, PASSIVE_LEVEL, PASSIVE_LEVEL, pc);
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_COMMON_ALLOC, routine, pc);
	if (!a)
		return NULL;
	struct dc_kev e = dc_dmap_kev(DC_KEV_COMMON_ALLOC, routine, pc, a, a);
	e.len = Length;
	e.flags = CacheEnabled ? DC_KEVF_CACHED : 0;
	uint64_t pages = Length ? (Length + DC_PAGE_SIZE - 1) / DC_PAGE_SIZE : 0;
	struct dc_cbuf *c = pages ? calloc(1, sizeof(*c)) : NULL;
	void *va = NULL;
	if (c && LogicalAddress) {
		/* v3's MaximumAddress narrows the zone; the allocator's zones are its lows. */
		uint32_t bits = a->addr_bits;
		if (max_pa < (UINT64_C(1) << 24) - 1)
			bits = 0; /* below what any zone guarantees: refused below */
		else if (max_pa < (UINT64_C(1) << 32) - 1)
			bits = DC_MIN(bits, 24u);
		else if (max_pa < UINT64_MAX)
			bits = DC_MIN(bits, 32u);
		enum dc_zone z = zone_for(bits);
		va = bits ? alloc_run(s, pages, z, CacheEnabled) : NULL;
		/* The 8237 cannot cross a 64 KiB DMA page: retry past the boundary. */
		uint64_t pa = va ? dc_va_to_pa(s->m, va) : 0;
		if (va && !a->master && pages <= 16 &&
		    (pa >> 16) != ((pa + pages * DC_PAGE_SIZE - 1) >> 16)) {
			void *again = alloc_run(s, pages, z, CacheEnabled);
			free_run(s, va, pages, CacheEnabled);
			va = again;
			pa = va ? dc_va_to_pa(s->m, va) : 0;
			if (va && (pa >> 16) != ((pa + pages * DC_PAGE_SIZE - 1) >> 16)) {
				free_run(s, va, pages, CacheEnabled);
				va = NULL;
			}
		}
	}
	if (va && (dc_va_to_pa(s->m, va) < min_pa ||
	           dc_va_to_pa(s->m, va) + pages * DC_PAGE_SIZE - 1 > max_pa)) {
		free_run(s, va, pages, CacheEnabled);
		va = NULL;
	}
	if (!va) {
		free(c);
		dc_kev_emit(s, &e);
		return NULL;
	}
	uint64_t pa = dc_va_to_pa(s->m, va);
	/* The tail of the last page past Length is a redzone too (page alignment is kept). */
	dc_machine_poison(s->m, va, pages << DC_PAGE_SHIFT, DC_SH_REDZONE);
	dc_machine_poison(s->m, va, Length, 0);
	c->va = va;
	c->len = Length;
	c->logical = pa;
	c->pages = pages;
	c->cached = CacheEnabled;
	c->next = a->cbufs;
	a->cbufs = c;
	dc_ktouch(s, LogicalAddress, sizeof(*LogicalAddress), true);
	LogicalAddress->QuadPart = (LONGLONG)pa;
	struct dc_kev_piece p = {.va = va, .pa = pa, .logical = pa, .len = Length};
	e.va = va;
	e.logical = pa;
	e.pieces = &p;
	e.n_pieces = 1;
	dc_kev_emit(s, &e);
	return va;
}

static PVOID op_allocate_common_buffer(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                       PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled)
{
	return allocate_common(dc_k(), DmaAdapter, Length, LogicalAddress, CacheEnabled, 0,
	                       UINT64_MAX, "AllocateCommonBuffer", RA());
}

static void free_common(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, ULONG Length,
                        PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress, BOOLEAN CacheEnabled,
                        const char *routine, const void *pc)
{
	dc_irql_require(s, routine, PASSIVE_LEVEL, PASSIVE_LEVEL, pc);
	struct dc_adapter *a = adapter_of(s, DmaAdapter);
	if (!a) {
		(void)dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_COMMON_FREE, routine, pc);
		return;
	}
	struct dc_kev e = dc_dmap_kev(DC_KEV_COMMON_FREE, routine, pc, a, a);
	e.len = Length;
	e.logical = (uint64_t)LogicalAddress.QuadPart;
	e.va = VirtualAddress;
	e.flags = CacheEnabled ? DC_KEVF_CACHED : 0;
	for (struct dc_cbuf **pp = &a->cbufs; *pp; pp = &(*pp)->next) {
		struct dc_cbuf *c = *pp;
		if (c->va != VirtualAddress)
			continue;
		e.status =
		    c->len == Length && c->logical == e.logical && c->cached == !!CacheEnabled;
		*pp = c->next;
		/* Freed with the allocation's own size: a mismatched argument is reported, and the
		 * memory neither leaks nor takes a neighbour with it.  Quarantined first: a late
		 * access is a use after free, not someone else's data. */
		dc_quarantine_common(s, c->va, c->pages, c->cached);
		free(c);
		break;
	}
	dc_kev_emit(s, &e);
}

static void op_free_common_buffer(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                  PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                                  BOOLEAN CacheEnabled)
{
	free_common(dc_k(), DmaAdapter, Length, LogicalAddress, VirtualAddress, CacheEnabled,
	            "FreeCommonBuffer", RA());
}

static void op_put_dma_adapter(PDMA_ADAPTER DmaAdapter)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "PutDmaAdapter", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_ADAPTER_PUT, "PutDmaAdapter", RA());
	if (!a)
		return;
	struct dc_kev e = dc_dmap_kev(DC_KEV_ADAPTER_PUT, "PutDmaAdapter", RA(), a, a);
	e.status = 1;
	dc_kev_emit(s, &e);
	/* What the driver still holds stays allocated (leaked), as on Windows; requests still
	 * queued never run. */
	a->released = true;
	dc_v3soc_unbind(s, a);
	for (struct dc_wait *w = a->waitq, *nw; w; w = nw) {
		nw = w->next;
		free(w);
	}
	a->waitq = NULL;
}

static const DMA_OPERATIONS dma_ops = {
    .Size = offsetof(DMA_OPERATIONS, GetDmaAdapterInfo), /* version 2 */
    .PutDmaAdapter = op_put_dma_adapter,
    .AllocateCommonBuffer = op_allocate_common_buffer,
    .FreeCommonBuffer = op_free_common_buffer,
    .AllocateAdapterChannel = op_allocate_adapter_channel,
    .FlushAdapterBuffers = op_flush_adapter_buffers,
    .FreeAdapterChannel = op_free_adapter_channel,
    .FreeMapRegisters = op_free_map_registers,
    .MapTransfer = op_map_transfer,
    .GetDmaAlignment = op_get_dma_alignment,
    .ReadDmaCounter = op_read_dma_counter,
    .GetScatterGatherList = dc_dmap_op_get_sg_list,
    .PutScatterGatherList = dc_dmap_op_put_sg_list,
    .CalculateScatterGatherList = dc_dmap_op_calculate_sg_list,
    .BuildScatterGatherList = dc_dmap_op_build_sg_list,
    .BuildMdlFromScatterGatherList = dc_dmap_op_build_mdl_from_sg_list,
};

/* --- The legacy routines ---------------------------------------------------------------------- */

PHYSICAL_ADDRESS IoMapTransfer(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                               PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice)
{
	return map_transfer(dc_k(), AdapterObject, Mdl, MapRegisterBase, CurrentVa, Length,
	                    WriteToDevice, "IoMapTransfer", RA());
}

BOOLEAN IoFlushAdapterBuffers(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                              PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice)
{
	return flush_adapter(dc_k(), AdapterObject, Mdl, MapRegisterBase, CurrentVa, Length,
	                     WriteToDevice, "IoFlushAdapterBuffers", RA());
}

NTSTATUS IoAllocateAdapterChannel(PADAPTER_OBJECT AdapterObject, PDEVICE_OBJECT DeviceObject,
                                  ULONG NumberOfMapRegisters, PDRIVER_CONTROL ExecutionRoutine,
                                  PVOID Context)
{
	return allocate_channel(dc_k(), AdapterObject, DeviceObject, NumberOfMapRegisters,
	                        ExecutionRoutine, Context, "IoAllocateAdapterChannel", RA());
}

void IoFreeAdapterChannel(PADAPTER_OBJECT AdapterObject)
{
	free_channel(dc_k(), AdapterObject, "IoFreeAdapterChannel", RA());
}

void IoFreeMapRegisters(PADAPTER_OBJECT AdapterObject, PVOID MapRegisterBase,
                        ULONG NumberOfMapRegisters)
{
	free_map_registers(dc_k(), AdapterObject, MapRegisterBase, NumberOfMapRegisters,
	                   "IoFreeMapRegisters", RA());
}

PVOID HalAllocateCommonBuffer(PADAPTER_OBJECT AdapterObject, ULONG Length,
                              PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled)
{
	return allocate_common(dc_k(), AdapterObject, Length, LogicalAddress, CacheEnabled, 0,
	                       UINT64_MAX, "HalAllocateCommonBuffer", RA());
}

void HalFreeCommonBuffer(PADAPTER_OBJECT AdapterObject, ULONG Length,
                         PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                         BOOLEAN CacheEnabled)
{
	free_common(dc_k(), AdapterObject, Length, LogicalAddress, VirtualAddress, CacheEnabled,
	            "HalFreeCommonBuffer", RA());
}

ULONG HalReadDmaCounter(PADAPTER_OBJECT AdapterObject)
{
	return read_counter(dc_k(), AdapterObject, "HalReadDmaCounter", RA());
}

BOOLEAN HalTranslateBusAddress(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                               PHYSICAL_ADDRESS BusAddress, PULONG AddressSpace,
                               PPHYSICAL_ADDRESS TranslatedAddress)
{
	(void)InterfaceType, (void)BusNumber;
	if (!AddressSpace || !TranslatedAddress)
		return FALSE;
	/* One bus, no translation: ports stay ports (AddressSpace 1), memory stays memory. */
	*TranslatedAddress = BusAddress;
	return TRUE;
}

ULONG HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber, ULONG BusInterruptLevel,
                            ULONG BusInterruptVector, PKIRQL Irql, PKAFFINITY Affinity)
{
	(void)InterfaceType, (void)BusNumber, (void)BusInterruptVector;
	if (BusInterruptLevel >= DC_IRQ_LINES || !Irql || !Affinity)
		return 0;
	*Irql = DC_DIRQL(BusInterruptLevel);
	*Affinity = (KAFFINITY)((UINT64_C(1) << dc_mp_count(dc_k())) - 1); /* every processor */
	return DC_VECTOR_BASE + BusInterruptLevel;
}

/* --- KeFlushIoBuffers ----------------------------------------------------------------------------
 */

void KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeFlushIoBuffers", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	dc_dma_ke_flush(s, Mdl, ReadOperation, DmaOperation, "KeFlushIoBuffers", RA());
}

void dc_dma_ke_flush(struct dc_sys *s, PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation,
                     const char *routine, const void *pc)
{
	struct dc_kev e = {.type = DC_KEV_KE_FLUSH,
	                   .routine = routine,
	                   .pc = pc,
	                   .mdl = Mdl,
	                   .flags = (ReadOperation ? DC_KEVF_READ : 0) |
	                            (DmaOperation ? DC_KEVF_DMA : 0)};
	if (!Mdl) {
		e.status = -1;
		dc_kev_emit(s, &e);
		return;
	}
	if (dc_mdl_bad(s, Mdl)) {
		/* Bytes that are not an MDL: nothing is read through them (A07). */
		e.status = DC_KFLUSH_BAD_MDL;
		dc_kev_emit(s, &e);
		return;
	}
	uint32_t n = 0;
	struct dc_kev_piece *p = NULL;
	if (Mdl->ByteCount &&
	    (Mdl->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)))
		p = dc_mdl_kev_pieces(s, Mdl, 0, Mdl->ByteCount, &n);
	/* Coherent: nothing to do, O(1) (the x86 macro is empty).  Non-coherent: write back and
	 * invalidate the MDL's lines, at a cost in proportion to the lines present. */
	if (s->m->plat.coherency != DC_COHERENT)
		for (uint32_t i = 0; i < n; i++)
			dc_cpu_cache_range(s->m, p[i].va, p[i].len, DC_CACHE_CLEAN_INVAL, false);
	e.pieces = p;
	e.n_pieces = n;
	dc_kev_emit(s, &e);
	free(p);
}

/* --- Device accesses, teardown -----------------------------------------------------------------
 */

void dc_dma_bridge_check(void *opaque, int source, uint64_t logical, uint64_t len, enum dc_dir dir)
{
	struct dc_sys *s = opaque;
	struct dc_machine *m = s->m;
	bool watched = false;
	for (unsigned i = 0; i < m->n_obs; i++)
		watched |= m->obs[i]->kev != NULL;
	if (!watched)
		return;
	struct dc_sysdev *d = NULL;
	for (unsigned i = 0; i < s->n_devs && !d; i++)
		if (s->devs[i]->bm && s->devs[i]->bm->source == source)
			d = s->devs[i];
	struct dc_kev e = {.type = DC_KEV_DEVICE_ACCESS,
	                   .routine = "bus master",
	                   .device = d ? d->pdo : NULL,
	                   .logical = logical,
	                   .len = len,
	                   .dir = dir,
	                   .value = source};
	for (struct dc_adapter *a = s->adapters; a && !e.status; a = a->next) {
		if (!d || a->dev != d)
			continue;
		if (dc_mapreg_lookup(a->mr, logical, len, NULL)) {
			e.adapter = a;
			e.status = 1;
		}
		for (struct dc_cbuf *c = a->cbufs; c && !e.status; c = c->next)
			if (logical >= c->logical && logical + len <= c->logical + c->len) {
				e.adapter = a;
				e.status = 1;
			}
	}
	dc_kev_emit(s, &e);
}

void dc_dma_destroy_all(struct dc_sys *s)
{
	for (struct dc_adapter *a = s->adapters, *na; a; a = na) {
		na = a->next;
		while (a->mrbs)
			dc_dmap_mrb_free(a, a->mrbs);
		for (struct dc_cbuf *c = a->cbufs, *nc; c; c = nc) {
			nc = c->next;
			free_run(s, c->va, c->pages, c->cached);
			free(c);
		}
		for (struct dc_sgrec *r = a->sgls, *nr; r; r = nr) {
			nr = r->next;
			if (r->own_buffer)
				free(r->sgl);
			free(r);
		}
		for (struct dc_wait *w = a->waitq, *nw; w; w = nw) {
			nw = w->next;
			free(w);
		}
		if (a->grant_dpc.DpcData) {
			RemoveEntryList(&a->grant_dpc.DpcListEntry);
			a->grant_dpc.DpcData = NULL;
		}
		dc_mapreg_destroy(a->mr);
		dc_dma_v3_free(a->v3s);
		free(a);
	}
	s->adapters = NULL;
	dc_v3soc_fini(s);
}

/* --- What the version 3 layer borrows (dma_int.h) ------------------------------------------- */

bool dc_dma_facts(struct dc_sys *s, const void *p, struct dc_dma_facts *out)
{
	struct dc_adapter *a = adapter_of(s, p);
	if (!a || a->released)
		return false;
	*out = (struct dc_dma_facts){.master = a->master,
	                             .sg = a->sg,
	                             .v3 = a->v3,
	                             .channel = a->channel,
	                             .plch = a->plch,
	                             .nmr = a->nmr,
	                             .addr_bits = a->addr_bits,
	                             .owned = a->owned,
	                             .waiting = a->waitq != NULL,
	                             .pdo = a->dev ? a->dev->pdo : NULL};
	return true;
}

bool dc_dma_regs_free(struct dc_sys *s, const void *p, uint32_t n)
{
	struct dc_adapter *a = adapter_of(s, p);
	if (!a || a->released)
		return false;
	if (!n)
		return true;
	int first = dc_mapreg_alloc(a->mr, n);
	if (first < 0)
		return false;
	dc_mapreg_free(a->mr, (uint32_t)first, n);
	return true;
}

bool dc_dma_mrb_room(struct dc_sys *s, const void *p, const void *mrb, uint32_t *left)
{
	struct dc_adapter *a = adapter_of(s, p);
	struct dc_mrb *b = a && !a->released ? mrb_of(a, mrb) : NULL;
	if (!b)
		return false;
	*left = b->n > b->cursor ? b->n - b->cursor : 0;
	return true;
}

struct dc_dma_v3 **dc_dma_v3_slot(struct dc_sys *s, const void *p)
{
	struct dc_adapter *a = adapter_of(s, p);
	return a && !a->released ? &a->v3s : NULL;
}

PHYSICAL_ADDRESS dc_dma_map(struct dc_sys *s, PDMA_ADAPTER ad, PMDL mdl, PVOID mrb, PVOID va,
                            PULONG len, BOOLEAN write, bool run, const char *routine,
                            const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	s->map_run = run;
	PHYSICAL_ADDRESS la = map_transfer(s, ad, mdl, mrb, va, len, write, routine, pc);
	s->map_run = false;
	return la;
}

BOOLEAN dc_dma_flush(struct dc_sys *s, PDMA_ADAPTER ad, PMDL mdl, PVOID mrb, PVOID va, ULONG len,
                     BOOLEAN write, const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	return flush_adapter(s, ad, mdl, mrb, va, len, write, routine, pc);
}

NTSTATUS dc_dma_alloc_channel(struct dc_sys *s, PDMA_ADAPTER ad, PDEVICE_OBJECT dev, ULONG nregs,
                              PDRIVER_CONTROL control, PVOID ctx, const char *routine,
                              const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	return allocate_channel(s, ad, dev, nregs, control, ctx, routine, pc);
}

void dc_dma_free_channel(struct dc_sys *s, PDMA_ADAPTER ad, const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	free_channel(s, ad, routine, pc);
}

void dc_dma_release_object(struct dc_sys *s, PDMA_ADAPTER ad, const char *routine, const void *pc)
{
	struct dc_adapter *a = dc_dmap_check_adapter(s, ad, DC_KEV_CHANNEL_FREE, routine, pc);
	if (!a)
		return;
	struct dc_kev e = dc_dmap_kev(DC_KEV_CHANNEL_FREE, routine, pc, a, a);
	e.flags = DC_KEVF_KEEP_REGS;
	e.mrb = a->channel_mrb;
	e.status = a->owned;
	a->channel_mrb = NULL; /* the registers stay in a->mrbs: FreeMapRegisters frees them */
	a->owned = false;
	dc_kev_emit(s, &e);
	dc_dmap_try_grant(a);
}

void dc_dma_free_map_registers(struct dc_sys *s, PDMA_ADAPTER ad, PVOID mrb, ULONG n,
                               const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	free_map_registers(s, ad, mrb, n, routine, pc);
}

bool dc_dma_cancel_wait(struct dc_sys *s, PDMA_ADAPTER ad, PVOID ctx)
{
	struct dc_adapter *a = adapter_of(s, ad);
	if (!a || a->released)
		return false;
	for (struct dc_wait **pp = &a->waitq; *pp; pp = &(*pp)->next)
		if ((*pp)->ctx == ctx) {
			struct dc_wait *w = *pp;
			*pp = w->next;
			free(w);
			return true;
		}
	return false;
}

NTSTATUS dc_dma_get_sg(struct dc_sys *s, PDMA_ADAPTER ad, PDEVICE_OBJECT dev, PMDL mdl, PVOID va,
                       ULONG len, PDRIVER_LIST_CONTROL control, PVOID ctx, BOOLEAN write, PVOID buf,
                       ULONG buf_len, const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	return dc_dmap_get_sg(s, ad, dev, mdl, va, len, control, ctx, write, buf, buf_len, routine,
	                      pc);
}

PVOID dc_dma_alloc_common(struct dc_sys *s, PDMA_ADAPTER ad, ULONG len, PPHYSICAL_ADDRESS logical,
                          BOOLEAN cached, uint64_t min_pa, uint64_t max_pa, const char *routine,
                          const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	return allocate_common(s, ad, len, logical, cached, min_pa, max_pa, routine, pc);
}

void dc_dma_free_common(struct dc_sys *s, PDMA_ADAPTER ad, ULONG len, PHYSICAL_ADDRESS logical,
                        PVOID va, BOOLEAN cached, const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	free_common(s, ad, len, logical, va, cached, routine, pc);
}

void dc_dma_put_sg(struct dc_sys *s, PDMA_ADAPTER ad, PSCATTER_GATHER_LIST sgl, BOOLEAN write,
                   const char *routine, const void *pc)
{
	s->irql_judged = pc; /* the v3 routine judged the IRQL */
	dc_dmap_put_sg(s, ad, sgl, write, routine, pc);
}
