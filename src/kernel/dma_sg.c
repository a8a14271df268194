/* The HAL's scatter/gather lists for v1/v2 adapters (split from dma.c, unchanged):
 * GetScatterGatherList and BuildScatterGatherList (the list built when the adapter is granted,
 * through the map registers), PutScatterGatherList (drain, copy back, release),
 * CalculateScatterGatherList and BuildMdlFromScatterGatherList.  What it shares with dma.c is in
 * dma_priv.h; it does not program any DMA controller itself. */
#include <stdlib.h>
#include <string.h>

#include "dma_priv.h"

/* --- Scatter/gather lists ------------------------------------------------------------------------
 */

static ULONG sg_size(ULONG elems)
{
	return (ULONG)(sizeof(SCATTER_GATHER_LIST) + elems * sizeof(SCATTER_GATHER_ELEMENT));
}

/* Pieces of an MDL chain range (GetScatterGatherList handles chains): count only, or fill. */
static int chain_pieces(struct dc_sys *s, PMDL mdl, PVOID va, ULONG len,
                        struct dc_mapreg_piece *out, uint32_t max)
{
	uint8_t *mva = MmGetMdlVirtualAddress(mdl);
	if ((uint8_t *)va < mva || (uint64_t)((uint8_t *)va - mva) >= mdl->ByteCount)
		return DC_ERR_INVAL;
	uint64_t off = (uint64_t)((uint8_t *)va - mva);
	uint32_t n = 0;
	while (len && mdl) {
		uint64_t here = DC_MIN((uint64_t)len, mdl->ByteCount - off);
		int k = dc_mdl_pieces(s, mdl, off, here, out ? out + n : NULL, out ? max - n : 0);
		if (!out) {
			/* Counting: pages spanned. */
			uint64_t at = mdl->ByteOffset + off;
			k = (int)(((at & DC_PAGE_MASK) + here + DC_PAGE_SIZE - 1) >> DC_PAGE_SHIFT);
		}
		if (k < 0)
			return k;
		n += (uint32_t)k;
		len -= (ULONG)here;
		mdl = mdl->Next;
		off = 0;
	}
	return len ? DC_ERR_INVAL : (int)n;
}

void dc_dmap_run_sg(struct dc_adapter *a, struct dc_wait *w, struct dc_mrb *b)
{
	struct dc_sys *s = a->s;
	struct dc_kev e = dc_dmap_kev(DC_KEV_SG_MAP, w->routine, w->pc, a, a);
	e.device = w->dev;
	e.irp = w->dev ? w->dev->CurrentIrp : NULL;
	e.mdl = w->mdl;
	e.va = w->va;
	e.len = w->len;
	e.dir = w->write ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE;
	struct dc_mapreg_piece *pieces = malloc(b->n * sizeof(*pieces));
	uint64_t *logical = malloc(b->n * sizeof(*logical));
	struct dc_kev_piece *kp = calloc(b->n, sizeof(*kp));
	struct dc_sgrec *rec = calloc(1, sizeof(*rec));
	int np = pieces ? chain_pieces(s, w->mdl, w->va, w->len, pieces, b->n) : DC_ERR_NOMEM;
	PSCATTER_GATHER_LIST sgl = NULL;
	if (np <= 0 || !logical || !kp || !rec ||
	    dc_mapreg_map(a->mr, b->first, pieces, (uint32_t)np, e.dir, logical)) {
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	/* Adjacent logical pieces merge into one element. */
	ULONG elems = 0;
	for (int i = 0; i < np; i++)
		if (i == 0 || logical[i] != logical[i - 1] + pieces[i - 1].len)
			elems++;
	if (w->sg_buf) {
		if (w->sg_buf_len < sg_size(elems)) {
			dc_mapreg_discard(a->mr, b->first, (uint32_t)np);
			e.status = STATUS_BUFFER_TOO_SMALL;
			goto fail;
		}
		sgl = w->sg_buf;
	} else {
		sgl = calloc(1, sg_size(elems));
		if (!sgl) {
			dc_mapreg_discard(a->mr, b->first, (uint32_t)np);
			e.status = STATUS_INSUFFICIENT_RESOURCES;
			goto fail;
		}
		rec->own_buffer = true;
	}
	dc_ktouch(s, sgl, sg_size(elems), true);
	sgl->NumberOfElements = 0;
	sgl->Reserved = 0;
	for (int i = 0; i < np; i++) {
		kp[i] = (struct dc_kev_piece){.va = pieces[i].va,
		                              .pa = pieces[i].pa,
		                              .logical = logical[i],
		                              .len = pieces[i].len};
		if (i && logical[i] == logical[i - 1] + pieces[i - 1].len) {
			sgl->Elements[sgl->NumberOfElements - 1].Length += pieces[i].len;
			continue;
		}
		SCATTER_GATHER_ELEMENT *el = &sgl->Elements[sgl->NumberOfElements++];
		el->Address.QuadPart = (LONGLONG)logical[i];
		el->Length = pieces[i].len;
		el->Reserved = 0;
	}
	struct dc_xfer *x = calloc(1, sizeof(*x));
	if (!x) {
		dc_mapreg_discard(a->mr, b->first, (uint32_t)np);
		if (rec->own_buffer)
			free(sgl);
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	x->id = ++s->xfer_seq;
	x->mdl = w->mdl;
	x->va = w->va;
	x->len = w->len;
	x->dir = e.dir;
	x->first = b->first;
	x->n = (uint32_t)np;
	x->pieces = kp;
	x->n_pieces = (uint32_t)np;
	b->xfers = x;
	rec->sgl = sgl;
	rec->mrb = b;
	rec->next = a->sgls;
	a->sgls = rec;
	e.status = STATUS_SUCCESS;
	e.xfer = x->id;
	e.sgl = sgl;
	e.pieces = kp;
	e.n_pieces = (uint32_t)np;
	e.logical = (uint64_t)sgl->Elements[0].Address.QuadPart;
	e.len_out = w->len;
	dc_kev_emit(s, &e);
	free(pieces);
	free(logical);
	/* The adapter is free again once the list is handed over; the registers stay with it. */
	a->granting = false;
	w->list_control(w->dev, (PIRP)e.irp, sgl, w->ctx);
	a->granting = true;
	return;
fail:
	dc_kev_emit(s, &e);
	free(pieces);
	free(logical);
	free(kp);
	free(rec);
	dc_dmap_mrb_free(a, b);
}

NTSTATUS dc_dmap_get_sg(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                        PMDL Mdl, PVOID CurrentVa, ULONG Length,
                        PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context, BOOLEAN WriteToDevice,
                        PVOID buf, ULONG buf_len, const char *routine, const void *pc)
{
	dc_irql_require(s, routine, DISPATCH_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_SG_MAP, routine, pc);
	if (!a)
		return STATUS_INVALID_PARAMETER;
	struct dc_kev e = dc_dmap_kev(DC_KEV_SG_MAP, routine, pc, a, a);
	e.device = DeviceObject;
	e.mdl = Mdl;
	e.va = CurrentVa;
	e.len = Length;
	e.dir = WriteToDevice ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE;
	int n = Mdl && Length && ExecutionRoutine ? chain_pieces(s, Mdl, CurrentVa, Length, NULL, 0)
	                                          : DC_ERR_INVAL;
	if (n <= 0) {
		e.status = STATUS_INVALID_PARAMETER;
		dc_kev_emit(s, &e);
		return STATUS_INVALID_PARAMETER;
	}
	if ((uint32_t)n > a->nmr) {
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		dc_kev_emit(s, &e);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (buf && buf_len < sg_size((ULONG)n)) {
		e.status = STATUS_BUFFER_TOO_SMALL;
		dc_kev_emit(s, &e);
		return STATUS_BUFFER_TOO_SMALL;
	}
	struct dc_wait *w = calloc(1, sizeof(*w));
	if (!w) {
		e.status = STATUS_INSUFFICIENT_RESOURCES;
		dc_kev_emit(s, &e);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	w->kind = WAIT_SG;
	dc_ksync(s, DC_SYNC_RELEASE, w, 0); /* the caller is ordered before AdapterListControl */
	w->dev = DeviceObject;
	w->nregs = (ULONG)n;
	w->list_control = ExecutionRoutine;
	w->ctx = Context;
	w->mdl = Mdl;
	w->va = CurrentVa;
	w->len = Length;
	w->write = WriteToDevice;
	w->sg_buf = buf;
	w->sg_buf_len = buf_len;
	w->routine = routine;
	w->pc = pc;
	struct dc_wait **pp = &a->waitq;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	dc_dmap_try_grant(a);
	return STATUS_SUCCESS;
}

NTSTATUS dc_dmap_op_get_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                PVOID CurrentVa, ULONG Length,
                                PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                BOOLEAN WriteToDevice)
{
	return dc_dmap_get_sg(dc_k(), DmaAdapter, DeviceObject, Mdl, CurrentVa, Length,
	                      ExecutionRoutine, Context, WriteToDevice, NULL, 0,
	                      "GetScatterGatherList", RA());
}

NTSTATUS dc_dmap_op_build_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                  PVOID CurrentVa, ULONG Length,
                                  PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                  BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer,
                                  ULONG ScatterGatherLength)
{
	struct dc_sys *s = dc_k();
	if (!ScatterGatherBuffer)
		return STATUS_INVALID_PARAMETER;
	return dc_dmap_get_sg(s, DmaAdapter, DeviceObject, Mdl, CurrentVa, Length, ExecutionRoutine,
	                      Context, WriteToDevice, ScatterGatherBuffer, ScatterGatherLength,
	                      "BuildScatterGatherList", RA());
}

void dc_dmap_put_sg(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                    BOOLEAN WriteToDevice, const char *routine, const void *pc)
{
	dc_irql_require(s, routine, DISPATCH_LEVEL, DISPATCH_LEVEL, pc);
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_SG_PUT, routine, pc);
	if (!a)
		return;
	struct dc_kev e = dc_dmap_kev(DC_KEV_SG_PUT, routine, pc, a, a);
	e.sgl = ScatterGather;
	e.dir = WriteToDevice ? DC_DIR_TO_DEVICE : DC_DIR_FROM_DEVICE;
	struct dc_sgrec **pp = &a->sgls;
	while (*pp && (*pp)->sgl != ScatterGather)
		pp = &(*pp)->next;
	if (!*pp) {
		e.status = 0;
		dc_kev_emit(s, &e);
		return;
	}
	struct dc_sgrec *rec = *pp;
	*pp = rec->next;
	struct dc_mrb *b = rec->mrb;
	struct dc_xfer *x = b->xfers;
	bool ok = dc_dmap_drain_device(a);
	if (x) {
		ok = dc_dmap_drain_xfer(a, x, ok);
		e.xfer = x->id;
		e.mdl = x->mdl;
		e.pieces = x->pieces;
		e.n_pieces = x->n_pieces;
	}
	e.status = ok;
	dc_kev_emit(s, &e);
	if (x) {
		b->xfers = NULL;
		dc_dmap_xfer_free(x);
	}
	dc_dmap_mrb_free(a, b);
	if (rec->own_buffer)
		free(rec->sgl);
	free(rec);
	dc_dmap_try_grant(a);
}

void dc_dmap_op_put_sg_list(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                            BOOLEAN WriteToDevice)
{
	dc_dmap_put_sg(dc_k(), DmaAdapter, ScatterGather, WriteToDevice, "PutScatterGatherList",
	               RA());
}

NTSTATUS dc_dmap_op_calculate_sg_list(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID CurrentVa,
                                      ULONG Length, PULONG ScatterGatherListSize,
                                      PULONG NumberOfMapRegisters)
{
	struct dc_sys *s = dc_k();
	struct dc_adapter *a =
	    dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_NONE, "CalculateScatterGatherList", RA());
	if (!a || !ScatterGatherListSize || Length == 0)
		return STATUS_INVALID_PARAMETER;
	int n;
	if (!Mdl)
		n = (int)ADDRESS_AND_SIZE_TO_SPAN_PAGES(CurrentVa, Length);
	else
		n = chain_pieces(s, Mdl, CurrentVa, Length, NULL, 0);
	if (n <= 0)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, ScatterGatherListSize, sizeof(ULONG), true);
	*ScatterGatherListSize = sg_size((ULONG)n);
	if (NumberOfMapRegisters) {
		dc_ktouch(s, NumberOfMapRegisters, sizeof(ULONG), true);
		*NumberOfMapRegisters = (ULONG)n;
	}
	return STATUS_SUCCESS;
}

NTSTATUS dc_dmap_op_build_mdl_from_sg_list(PDMA_ADAPTER DmaAdapter,
                                           PSCATTER_GATHER_LIST ScatterGather, PMDL OriginalMdl,
                                           PMDL *TargetMdl)
{
	struct dc_sys *s = dc_k();
	struct dc_adapter *a = dc_dmap_check_adapter(s, DmaAdapter, DC_KEV_NONE,
	                                             "BuildMdlFromScatterGatherList", RA());
	if (!a || !ScatterGather || !OriginalMdl || !TargetMdl)
		return STATUS_INVALID_PARAMETER;
	struct dc_sgrec *rec = a->sgls;
	while (rec && rec->sgl != ScatterGather)
		rec = rec->next;
	if (!rec)
		return STATUS_INVALID_PARAMETER;
	/* An MDL over the pages the device actually uses: the caller's, or the bounce pages. */
	PMDL m = IoAllocateMdl(MmGetMdlVirtualAddress(OriginalMdl), OriginalMdl->ByteCount, FALSE,
	                       FALSE, NULL);
	if (!m)
		return STATUS_INSUFFICIENT_RESOURCES;
	PPFN_NUMBER pfn = MmGetMdlPfnArray(m);
	ULONG np = (ULONG)ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(m), m->ByteCount);
	ULONG k = 0;
	for (ULONG i = 0; i < ScatterGather->NumberOfElements && k < np; i++) {
		uint64_t lo = (uint64_t)ScatterGather->Elements[i].Address.QuadPart & ~DC_PAGE_MASK;
		uint64_t hi = (uint64_t)ScatterGather->Elements[i].Address.QuadPart +
		              ScatterGather->Elements[i].Length;
		for (uint64_t p = lo; p < hi && k < np; p += DC_PAGE_SIZE)
			pfn[k++] = p >> DC_PAGE_SHIFT;
	}
	m->MdlFlags |= MDL_PAGES_LOCKED | MDL_PARTIAL;
	dc_ktouch(s, TargetMdl, sizeof(*TargetMdl), true);
	*TargetMdl = m;
	return STATUS_SUCCESS;
}
