/* The sanitizer's kernel events (check.c has the contract): adapters, channels, map
 * registers, MapTransfer/FlushAdapterBuffers, scatter/gather lists, KeFlushIoBuffers, IRPs,
 * common buffers, IRQL and device accesses by logical address, and the rules they break.  The
 * shadow and transfer bookkeeping it relies on is xfer.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"

/* --- Kernel events ---------------------------------------------------------------------------- */

static const char *routine(const struct dc_kev *e, const char *dflt)
{
	return e->routine ? e->routine : dflt;
}

/* A06 for a NULL or released adapter; returns the adapter record (NULL if none). */
static struct dc_adapter *use_adapter(struct dc_check *c, const struct dc_kev *e, const char *dflt)
{
	if (!e->adapter) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A06, e->pc, e->time);
		f.device = dc_chk_dev_no(c, e->device);
		dc_chk_what(&f, "%s called with a NULL adapter", routine(e, dflt));
		dc_finding_add(c, &f);
		return NULL;
	}
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	if (a && a->put) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A06, e->pc, e->time);
		f.device = a->dev_no;
		dc_chk_site(&f, "released at", a->put_pc, NO_TIME);
		dc_chk_what(&f, "%s called with an adapter released by PutDmaAdapter {0}",
		            routine(e, dflt));
		dc_finding_add(c, &f);
	}
	return a;
}

static const char *const c07_how[] = {"completed", "released by FreeAdapterChannel",
                                      "released by FreeMapRegisters", "mapped again"};
static const char *const c07_label[] = {"completed at", "freed at", "freed at", "remapped at"};

static void c07(struct dc_check *c, struct dc_xfer *x, const struct dc_kev *e, int how)
{
	if (x->c07)
		return;
	x->c07 = true;
	struct dc_finding f = dc_chk_fnd(x->v3 ? DC_RULE_V01 : DC_RULE_C07, e->pc, e->time);
	dc_chk_fill_xfer(c, &f, x);
	uint64_t total = 0;
	for (size_t i = 0; i < c->n_xf; i++)
		if (c->xf[i]->group == x->group && c->xf[i]->adapter == x->adapter)
			total += c->xf[i]->len_out;
	f.bytes = total ? total : x->len_out;
	dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
	dc_chk_site(&f, c07_label[how], e->pc, e->time);
	dc_chk_what(&f, "%s of %llu bytes {0} %s without %s {1}",
	            x->sg   ? "GetScatterGatherList"
	            : x->v3 ? "MapTransferEx"
	                    : "MapTransfer",
	            (unsigned long long)f.bytes, c07_how[how],
	            x->sg   ? "PutScatterGatherList"
	            : x->v3 ? "FlushAdapterBuffersEx"
	                    : "FlushAdapterBuffers");
	bool bounced = false;
	for (uint32_t k = 0; k < x->n_pieces; k++)
		bounced |=
		    (x->pieces[k].logical >> DC_PAGE_SHIFT) != (x->pieces[k].pa >> DC_PAGE_SHIFT);
	f.manifested = x->dir == DC_DIR_FROM_DEVICE && (bounced || x->issued > x->landed);
	dc_finding_add(c, &f);
	/* The rest of the chain is the same mistake. */
	for (size_t i = 0; i < c->n_xf; i++)
		if (c->xf[i]->group == x->group && c->xf[i]->adapter == x->adapter)
			c->xf[i]->c07 = true;
}

/* C07 for the open transfers of an adapter (mrb: of that base only, unless any_mrb), which
 * then end. */
static void close_open(struct dc_check *c, const struct dc_kev *e, const void *adapter,
                       const void *mrb, bool any_mrb, int how)
{
	for (size_t i = 0; i < c->n_xf;) {
		struct dc_xfer *x = c->xf[i];
		if (x->adapter == adapter && !x->sg && (any_mrb || x->mrb == mrb)) {
			c07(c, x, e, how);
			dc_chk_xfer_close(c, x);
			continue;
		}
		i++;
	}
}

static void alignment_warning(struct dc_check *c, struct dc_xfer *x)
{
	if (!c->opts.alignment_warnings || x->dir != DC_DIR_FROM_DEVICE || x->common ||
	    !x->n_pieces)
		return;
	uint64_t ls = line_size(c);
	const struct dc_kev_piece *first = &x->pieces[0], *last = &x->pieces[x->n_pieces - 1];
	bool head = first->pa & (ls - 1), tail = (last->pa + last->len) & (ls - 1);
	if (!head && !tail)
		return;
	struct dc_finding f = dc_chk_fnd(DC_RULE_C05, x->map_pc, x->map_time);
	f.severity = DC_SEV_WARNING;
	dc_chk_fill_xfer(c, &f, x);
	f.bytes = (head ? (first->pa & (ls - 1)) : 0) +
	          (tail ? ls - ((last->pa + last->len) & (ls - 1)) : 0);
	dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
	dc_chk_what(&f,
	            "from-device transfer #%llu of %llu bytes %s inside a %llu-byte cache line {0}",
	            (unsigned long long)x->id, (unsigned long long)x->len_out,
	            head && tail ? "starts and ends"
	            : head       ? "starts"
	                         : "ends",
	            (unsigned long long)ls);
	dc_finding_add(c, &f);
}

/* A MapTransfer that mapped nothing because it could not (A12): why, or NULL if it was not
 * refused for a reason of that kind. */
static const char *refusal(const struct dc_kev *e)
{
	switch ((enum dc_kmap_status)e->status) {
	case DC_KMAP_NO_CHANNEL:
		return "no map registers are held on this MapRegisterBase (no AdapterControl "
		       "granted it, or they were freed)";
	case DC_KMAP_BAD_MDL:
		return e->mdl ? "the MDL's pages are not locked (no MmProbeAndLockPages or "
		                "MmBuildMdlForNonPagedPool)"
		              : "the MDL is NULL";
	case DC_KMAP_HW_REFUSED:
		return "the HAL cannot map this range for the device";
	default:
		return NULL;
	}
}

/* S03: a MapRegisterBase no AdapterControl delivered, used while the adapter's grant is still
 * pending (more AllocateAdapterChannel calls than AdapterControls): the driver assumed the
 * grant synchronous.  True when reported. */
static bool s03(struct dc_check *c, const struct dc_kev *e, struct dc_adapter *a, const char *what)
{
	if (!a || a->allocs <= a->controls)
		return false;
	struct dc_mrb *r = dc_chk_mrb_find(c, e->adapter, e->mrb);
	if (r && !r->freed)
		return false;
	struct dc_finding f = dc_chk_fnd(DC_RULE_S03, e->pc, e->time);
	f.device = a->dev_no;
	f.dir = (int)e->dir;
	f.len = e->len;
	dc_chk_what(&f,
	            "%s with a MapRegisterBase no AdapterControl delivered: the grant asked by "
	            "AllocateAdapterChannel is still pending",
	            what);
	dc_finding_add(c, &f);
	a->map_refused = true; /* what follows from it is this finding's */
	return true;
}

/* What a MapTransfer's status says about the call (it may still have mapped a part).  A refused
 * map (A12) marks the adapter: the findings that only follow from it are not reported (see
 * A12's details in rules.c). */
static void map_status(struct dc_check *c, const struct dc_kev *e, struct dc_adapter *a)
{
	struct dc_finding f = dc_chk_fnd(DC_RULE_A07, e->pc, e->time);
	f.device = a ? a->dev_no : 0;
	f.dir = (int)e->dir;
	f.len = e->len;
	const char *why = refusal(e);
	if (e->status == DC_KMAP_NO_CHANNEL && s03(c, e, a, routine(e, "MapTransfer")))
		return;
	if (why) {
		f.rule = DC_RULE_A12;
		dc_chk_what(&f, "%s of %llu bytes mapped nothing: %s", routine(e, "MapTransfer"),
		            (unsigned long long)e->len, why);
		if (a)
			a->map_refused = true;
		f.severity = dc_rule_info(f.rule)->severity;
		dc_finding_add(c, &f);
		return;
	}
	switch ((enum dc_kmap_status)e->status) {
	case DC_KMAP_TOO_MANY_REGS: {
		f.rule = DC_RULE_A03;
		struct dc_mrb *r = dc_chk_mrb_find(c, e->adapter, e->mrb);
		dc_chk_what(
		    &f, "%s of %llu bytes spans more pages than the %u map registers allocated",
		    routine(e, "MapTransfer"), (unsigned long long)e->len, r ? r->count : 0);
		break;
	}
	case DC_KMAP_OUTSIDE_MDL:
		dc_chk_what(&f, "%s: CurrentVa/Length (%llu bytes) not inside the MDL",
		            routine(e, "MapTransfer"), (unsigned long long)e->len);
		break;
	case DC_KMAP_ZERO_LENGTH:
		dc_chk_what(&f, "%s of zero bytes", routine(e, "MapTransfer"));
		break;
	case DC_KMAP_GARBAGE_MDL:
		dc_chk_what(
		    &f,
		    "%s on bytes that are not an MDL (never allocated by IoAllocateMdl nor built "
		    "by MmBuildMdlForNonPagedPool, MmProbeAndLockPages or IoBuildPartialMdl, or "
		    "freed): mapped nothing",
		    routine(e, "MapTransfer"));
		if (a)
			a->map_refused = true; /* its flush and the hung request follow from it */
		break;
	default:
		return; /* fine, no adapter (A06 said so), busy (C07) */
	}
	f.severity = dc_rule_info(f.rule)->severity;
	dc_finding_add(c, &f);
}

static void ev_map(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "MapTransfer");
	bool mapped = e->xfer && e->len_out;
	/* An open transfer on the same registers: a scatter/gather chain continues, anything
	 * else is a MapTransfer without the flush of the previous one. */
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	struct dc_xfer *prev = NULL;
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		if (x->adapter == e->adapter && x->mrb == e->mrb && !x->sg)
			prev = x; /* the newest */
	}
	uint64_t group = 0;
	if (prev) {
		bool chain = mapped && a && ((a->master && a->sg) || (e->flags & DC_KEVF_RUN)) &&
		             prev->mdl == e->mdl && prev->dir == e->dir &&
		             (uintptr_t)e->va == (uintptr_t)prev->va + prev->len_out;
		if (chain)
			group = prev->group;
		else
			close_open(c, e, e->adapter, e->mrb, false, 3);
	}
	map_status(c, e, a);
	if (!mapped)
		return;
	struct dc_xfer *x = dc_chk_xfer_open(c, e, false);
	if (!x)
		return;
	if (group)
		x->group = group;
	else
		alignment_warning(c, x);
}

/* FlushAdapterBuffers or PutScatterGatherList ended x: the HAL invalidated what the device
 * wrote (DESIGN §3.4), so the CPU is synchronised with those lines. */
static void xfer_end(struct dc_check *c, struct dc_xfer *x)
{
	if (x->dir == DC_DIR_FROM_DEVICE)
		for (uint32_t k = 0; k < x->n_pieces; k++)
			dc_chk_sync_range(c, x->pieces[k].pa, x->pieces[k].len, false);
	dc_chk_xfer_close(c, x);
}

static void ev_flush(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "FlushAdapterBuffers");
	struct dc_mrb *r = dc_chk_mrb_find(c, e->adapter, e->mrb);
	bool v3 = dc_v3_routine(e->routine);
	if (e->status == 0 && e->mdl && GROW(c->ff, c->n_ff, c->cap_ff))
		c->ff[c->n_ff++] = (struct dc_failed_flush){e->mdl, e->pc, e->time, v3, -1};
	struct dc_xfer *x = e->xfer ? dc_chk_xfer_find(c, e->xfer) : NULL;
	if (!x) {
		if (e->xfer)
			return; /* already ended here (a C07 closed it) */
		struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
		if (a && a->map_refused)
			return; /* the flush of a piece MapTransfer refused: A12 said so */
		if (s03(c, e, a, routine(e, "FlushAdapterBuffers")))
			return;
		struct dc_finding f = dc_chk_fnd(DC_RULE_A02, e->pc, e->time);
		f.device = a ? a->dev_no : 0;
		f.dir = (int)e->dir;
		f.len = e->len;
		if (r && r->freed) {
			dc_chk_site(&f, "freed at", r->free_pc, r->free_time);
			dc_chk_what(&f,
			            "FlushAdapterBuffers after its map registers were freed {0}");
		} else if (r && r->last_flushed) {
			f.xfer = r->last_flushed;
			dc_chk_site(&f, "flushed at", r->flush_pc, r->flush_time);
			dc_chk_what(
			    &f,
			    "FlushAdapterBuffers with nothing mapped: transfer #%llu was flushed "
			    "already {0}",
			    (unsigned long long)r->last_flushed);
		} else {
			dc_chk_what(
			    &f, "FlushAdapterBuffers of a map register base nothing was mapped on");
		}
		dc_finding_add(c, &f);
		return;
	}
	/* The chain x belongs to: its first CurrentVa and total length. */
	struct dc_xfer *head = x;
	uint64_t total = 0;
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *y = c->xf[i];
		if (y->group == x->group && y->adapter == x->adapter && !y->sg) {
			total += y->len_out;
			if (y->id < head->id)
				head = y;
		}
	}
	/* A flush per MapTransfer of the chain, or one for the whole chain: either names its
	 * MapTransfer's CurrentVa and Length.  Anything else is judged against the transfer the
	 * kernel drained. */
	bool chain = !(e->va == x->va && e->len == x->len_out) && e->va == head->va;
	const struct dc_xfer *ref = chain ? head : x;
	if (v3 != x->v3) {
		/* A v1 flush of a v3 mapping or the reverse: that is the mistake (V08). */
		struct dc_finding f = dc_chk_fnd(DC_RULE_V08, e->pc, e->time);
		dc_chk_fill_xfer(c, &f, ref);
		dc_chk_site(&f, "mapped at", ref->map_pc, ref->map_time);
		dc_chk_what(&f, "%s of a transfer mapped by %s {0}",
		            routine(e, "FlushAdapterBuffers"),
		            x->v3 ? "MapTransferEx" : "MapTransfer");
		dc_finding_add(c, &f);
	}
	uint64_t ref_len = chain ? total : x->len_out;
	char got[160] = "", want[160] = "";
	size_t gn = 0, wn = 0;
#define DIFF(name, gfmt, gval, wfmt, wval)                                                 \
	do {                                                                               \
		gn += (size_t)snprintf(got + gn, sizeof(got) - DC_MIN(gn, sizeof(got)),    \
		                       "%s" name "=" gfmt, gn ? ", " : "", gval);          \
		wn += (size_t)snprintf(want + wn, sizeof(want) - DC_MIN(wn, sizeof(want)), \
		                       "%s" name "=" wfmt, wn ? ", " : "", wval);          \
		gn = DC_MIN(gn, sizeof(got) - 1), wn = DC_MIN(wn, sizeof(want) - 1);       \
	} while (0)
	if (e->adapter != ref->adapter)
		DIFF("DmaAdapter", "%s", "another", "%s", "the MapTransfer's");
	if (e->mdl != ref->mdl)
		DIFF("Mdl", "%s", "another", "%s", "the MapTransfer's");
	if (e->va != ref->va) {
		long long go = (long long)((intptr_t)e->va - (intptr_t)ref->va) + ref->va_off;
		if (x->v3)
			DIFF("Offset", "%lld", go, "%lld", (long long)ref->va_off);
		else
			DIFF("CurrentVa", "MDL+%lld", go, "MDL+%lld", (long long)ref->va_off);
	}
	if (e->len != ref_len)
		DIFF("Length", "%llu", (unsigned long long)e->len, "%llu",
		     (unsigned long long)ref_len);
	if (e->dir != ref->dir)
		DIFF("WriteToDevice", "%s", e->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE", "%s",
		     ref->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE");
#undef DIFF
	if (gn && v3 == x->v3) {
		struct dc_finding f = dc_chk_fnd(x->v3 ? DC_RULE_V02 : DC_RULE_A01, e->pc, e->time);
		dc_chk_fill_xfer(c, &f, ref);
		dc_chk_site(&f, "mapped at", ref->map_pc, ref->map_time);
		if (x->v3)
			dc_chk_what(
			    &f, "FlushAdapterBuffersEx(%s) differs from its MapTransferEx(%s) {0}",
			    got, want);
		else
			dc_chk_what(&f,
			            "FlushAdapterBuffers(%s) differs from its MapTransfer(%s) {0}",
			            got, want);
		dc_finding_add(c, &f);
	}
	if (r) {
		r->last_flushed = ref->id;
		r->flush_pc = e->pc;
		r->flush_time = e->time;
	}
	if (!chain) {
		xfer_end(c, x);
		return;
	}
	/* x is freed in the loop: keep what identifies its chain. */
	const uint64_t group = x->group;
	const void *adapter = x->adapter;
	for (size_t i = 0; i < c->n_xf;) {
		struct dc_xfer *y = c->xf[i];
		if (y->group == group && y->adapter == adapter && !y->sg) {
			xfer_end(c, y);
			continue;
		}
		i++;
	}
}

static void ev_sg_map(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "GetScatterGatherList");
	if (!nt_success(e->status) || !e->xfer)
		return;
	struct dc_xfer *x = dc_chk_xfer_open(c, e, true);
	if (x)
		alignment_warning(c, x);
}

static void ev_sg_put(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "PutScatterGatherList");
	struct dc_xfer *x = e->xfer ? dc_chk_xfer_find(c, e->xfer) : NULL;
	if (!x) {
		if (e->xfer)
			return;
		struct dc_finding f = dc_chk_fnd(DC_RULE_A04, e->pc, e->time);
		struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
		f.device = a ? a->dev_no : 0;
		dc_chk_what(&f,
		            "PutScatterGatherList of a list that is not outstanding (put twice, or "
		            "never handed out)");
		dc_finding_add(c, &f);
		return;
	}
	if (e->dir != x->dir) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A01, e->pc, e->time);
		dc_chk_fill_xfer(c, &f, x);
		dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
		dc_chk_what(&f,
		            "PutScatterGatherList(WriteToDevice=%s) differs from its "
		            "GetScatterGatherList(WriteToDevice=%s) {0}",
		            e->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE",
		            x->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE");
		dc_finding_add(c, &f);
	}
	if (e->status == 0 && x->mdl && GROW(c->ff, c->n_ff, c->cap_ff))
		c->ff[c->n_ff++] = (struct dc_failed_flush){x->mdl, e->pc, e->time, x->v3, -1};
	xfer_end(c, x);
}

static void ev_ke_flush(struct dc_check *c, const struct dc_kev *e)
{
	if (!e->mdl || e->status == DC_KFLUSH_BAD_MDL) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A07, e->pc, e->time);
		if (e->mdl)
			dc_chk_what(
			    &f,
			    "KeFlushIoBuffers on bytes that are not an MDL (never allocated by "
			    "IoAllocateMdl nor built by MmBuildMdlForNonPagedPool, "
			    "MmProbeAndLockPages or IoBuildPartialMdl, or freed): nothing flushed");
		else
			dc_chk_what(&f, "KeFlushIoBuffers with a NULL MDL");
		dc_finding_add(c, &f);
		return;
	}
	for (uint32_t i = 0; e->pieces && i < e->n_pieces; i++)
		dc_chk_sync_range(c, e->pieces[i].pa, e->pieces[i].len,
		                  (e->flags & DC_KEVF_READ) != 0);
}

static void ev_irp_send(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_irp *r = dc_chk_irp_find(c, e->irp);
	if (!r) {
		if (!GROW(c->irps, c->n_irps, c->cap_irps))
			return;
		r = &c->irps[c->n_irps++];
	} else {
		free(r->pieces);
		free(r->spans);
	}
	*r =
	    (struct dc_irp){e->irp, e->mdl, e->value, e->len, dc_chk_copy_pieces(e), 0, NULL, 0, 0};
	r->n_pieces = r->pieces ? e->n_pieces : 0;
	for (size_t i = 0; i < c->n_ff;)
		if (e->mdl && c->ff[i].mdl == e->mdl)
			c->ff[i] = c->ff[--c->n_ff];
		else
			i++;
	if (e->value != IRP_MJ_READ_)
		return;
	/* C06 is about writes made for this IRP. */
	for (uint32_t i = 0; i < r->n_pieces; i++) {
		EACH_PAGE(r->pieces[i].pa, r->pieces[i].len, q, n)
		{
			struct dc_pshadow *ps = dc_shadow_find(c, q);
			if (ps)
				dc_bits_clear(ps->pw, (uint32_t)(q & DC_PAGE_MASK), (uint32_t)n);
		}
	}
}

static int span_cmp(const void *pa, const void *pb)
{
	const struct dc_span *a = pa, *b = pb;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->time < b->time ? -1 : a->time > b->time;
}

/* A13 at a successful completion: the transfers that mapped the IRP's own pages must cover
 * [0, Information) exactly once.  Skipped: bytes no transfer mapped.  Twice: a transfer that
 * starts inside bytes an earlier one mapped (a split loop that advanced by the wrong amount).
 * A transfer that starts exactly where an earlier one did is a retry (a floppy re-reads a
 * piece after a controller error) and counts once: a loop that never advances is caught by
 * the bytes it then skips.  IRPs whose pages no transfer mapped (PIO, common buffers) are not
 * judged. */
static void coverage(struct dc_check *c, struct dc_irp *r, const struct dc_kev *e, unsigned dev)
{
	uint64_t info = DC_MIN(e->len_out, r->len);
	if (!r->n_spans || !info || dc_v3_skipped(c, r->mdl))
		return; /* bytes a MapTransferEx skipped: V04 said so */
	qsort(r->spans, r->n_spans, sizeof(r->spans[0]), span_cmp);
	uint64_t covered = 0, skipped = 0, twice = 0, start = UINT64_MAX;
	const struct dc_span *culprit = NULL;
	for (size_t i = 0; i < r->n_spans && covered < info; i++) {
		const struct dc_span *sp = &r->spans[i];
		if (sp->off > covered) {
			skipped += DC_MIN(sp->off, info) - covered;
			if (!culprit && i)
				culprit = &r->spans[i - 1];
		} else if (sp->off < covered && sp->off != start && !sp->v3) {
			/* (A MapTransferEx may map again the tail of a partial mapping that the
			 * device could not take whole, a partial sector: v3 continues at or before
			 * Offset + *Length, and only skipping is wrong, V04.) */
			twice += DC_MIN(DC_MIN(covered, sp->off + sp->len), info) - sp->off;
			if (!culprit)
				culprit = sp;
		}
		start = sp->off;
		covered = DC_MAX(covered, sp->off + sp->len);
	}
	if (covered < info) {
		skipped += info - covered;
		if (!culprit)
			culprit = &r->spans[r->n_spans - 1];
	}
	if (!skipped && !twice)
		return;
	if (!culprit)
		culprit = &r->spans[0];
	struct dc_finding f = dc_chk_fnd(DC_RULE_A13, culprit->pc, e->time);
	f.device = dev;
	f.dir = r->major == IRP_MJ_READ_ ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	f.bytes = skipped ? skipped : twice;
	if (r->n_pieces) {
		f.va = dc_check_show_va(c, r->pieces[0].va);
		f.pa = r->pieces[0].pa;
	}
	dc_chk_site(&f, "mapped at", culprit->pc, culprit->time);
	dc_chk_site(&f, "completed at", e->pc, e->time);
	if (skipped && twice)
		dc_chk_what(
		    &f,
		    "IRP completed with Information %llu: %llu bytes of its buffer transferred "
		    "never and %llu twice {0} {1}",
		    (unsigned long long)info, (unsigned long long)skipped,
		    (unsigned long long)twice);
	else
		dc_chk_what(
		    &f,
		    "IRP completed with Information %llu: %llu bytes of its buffer transferred %s "
		    "{0} {1}",
		    (unsigned long long)info, (unsigned long long)f.bytes,
		    skipped ? "never" : "twice");
	f.manifested = true;
	dc_finding_add(c, &f);
}

static void ev_irp_complete(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_irp *r = dc_chk_irp_find(c, e->irp);
	const void *mdl = e->mdl ? e->mdl : r ? r->mdl : NULL;
	int64_t major = r ? r->major : e->value;
	unsigned dev = dc_chk_dev_no(c, e->device);
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		if ((mdl && x->mdl == mdl) || (e->irp && x->irp == e->irp))
			c07(c, x, e, 0);
	}
	if (major == IRP_MJ_READ_ && r) {
		uint64_t bytes = 0, first = DC_PA_INVALID;
		const void *wpc = NULL;
		bool dirty_left = false;
		for (uint32_t i = 0; i < r->n_pieces; i++) {
			EACH_PAGE(r->pieces[i].pa, r->pieces[i].len, q, n)
			{
				struct dc_pshadow *ps = dc_shadow_find(c, q);
				/* Nothing the driver wrote on this part of the page (the usual
				 * case): a word at a time, not a line. */
				if (ps && dc_bits_first(ps->pw, (uint32_t)(q & DC_PAGE_MASK),
				                        (uint32_t)n) < 0)
					ps = NULL;
				for (uint32_t l = line_of(c, q); ps && l <= line_of(c, q + n - 1);
				     l++) {
					uint64_t lpa = (q & ~DC_PAGE_MASK) | ((uint64_t)l << c->ls);
					uint64_t a = DC_MAX(q, lpa),
					         b = DC_MIN(q + n, lpa + line_size(c));
					uint32_t k =
					    dc_bits_count(ps->pw, (uint32_t)(a & DC_PAGE_MASK),
					                  (uint32_t)(b - a));
					if (!k)
						continue;
					bytes += k;
					if (first == DC_PA_INVALID) {
						first = a;
						wpc = ps->wpc[l];
					}
					bool dirty;
					if (dc_cache_probe(&c->m->cache, lpa, &dirty) >= 0 && dirty)
						dirty_left = true;
				}
			}
		}
		if (bytes) {
			struct dc_finding f = dc_chk_fnd(DC_RULE_C06, e->pc, e->time);
			f.device = dev;
			f.dir = DC_DIR_FROM_DEVICE;
			dc_chk_set_range(c, &f, NULL, first, DC_PA_INVALID, r->len);
			if (r->n_pieces) {
				f.va = dc_check_show_va(c, r->pieces[0].va);
				f.pa = r->pieces[0].pa;
			}
			f.bytes = bytes;
			dc_chk_site(&f, "last written by the CPU at", wpc, NO_TIME);
			dc_chk_site(&f, "completed at", e->pc, e->time);
			dc_chk_what(
			    &f,
			    "read IRP completed after the CPU wrote %llu bytes of its buffer "
			    "without KeFlushIoBuffers(Mdl, TRUE, FALSE) {0} {1}",
			    (unsigned long long)bytes);
			f.manifested = dirty_left && noncoherent(c);
			dc_finding_add(c, &f);
		}
	}
	bool ff_told = false; /* one finding per IRP; every failure of its MDL is consumed */
	for (size_t i = 0; i < c->n_ff; i++) {
		if (!mdl || c->ff[i].mdl != mdl)
			continue;
		if (nt_success(e->status) && !ff_told) {
			ff_told = true;
			bool v3 = c->ff[i].v3;
			struct dc_finding f =
			    dc_chk_fnd(v3 ? DC_RULE_V05 : DC_RULE_C08, e->pc, e->time);
			int cs = c->ff[i].completion;
			static const char *const cs_name[] = {"DmaComplete", "DmaAborted",
			                                      "DmaError", "DmaCancelled"};
			f.device = dev;
			dc_chk_site(&f, cs >= 0 ? "completion routine" : "flushed at", c->ff[i].pc,
			            c->ff[i].time);
			dc_chk_site(&f, "completed at", e->pc, e->time);
			if (cs >= 0)
				dc_chk_what(
				    &f,
				    "the DmaCompletionRoutine got %s {0} and the IRP completed "
				    "with status 0x%08x {1}",
				    cs < 4 ? cs_name[cs] : "a failure status",
				    (unsigned)(uint32_t)e->status);
			else
				dc_chk_what(&f,
				            "%s {0} and the IRP completed with status 0x%08x {1}",
				            v3 ? "FlushAdapterBuffersEx failed"
				               : "FlushAdapterBuffers returned FALSE",
				            (unsigned)(uint32_t)e->status);
			f.manifested = true;
			dc_finding_add(c, &f);
		}
		c->ff[i] = c->ff[--c->n_ff];
		i--; /* look at the entry moved here (size_t wraps, the loop's ++ undoes it) */
	}
	bool fail_info = nt_error(e->status) && e->len_out;
	bool too_much = e->len_out > e->len && (major != IRP_MJ_READ_ || r || e->len);
	if (fail_info || too_much) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A10, e->pc, e->time);
		f.device = dev;
		f.bytes = e->len_out;
		if (fail_info)
			dc_chk_what(
			    &f,
			    "IRP completed with status 0x%08x and Information %llu: non-zero "
			    "with a failure status",
			    (unsigned)(uint32_t)e->status, (unsigned long long)e->len_out);
		else
			dc_chk_what(
			    &f,
			    "IRP completed with status 0x%08x and Information %llu: more than "
			    "the %llu bytes requested",
			    (unsigned)(uint32_t)e->status, (unsigned long long)e->len_out,
			    (unsigned long long)e->len);
		dc_finding_add(c, &f);
	}
	if (nt_success(e->status) && mdl)
		dc_v3_irp_complete(c, e, mdl, dev);
	if (r && nt_success(e->status))
		coverage(c, r, e, dev);
	if (r) {
		free(r->pieces);
		free(r->spans);
		*r = c->irps[--c->n_irps];
	}
}

static void ev_adapter_get(struct dc_check *c, const struct dc_kev *e)
{
	if (!e->adapter)
		return;
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	if (!a) {
		if (!GROW(c->ad, c->n_ad, c->cap_ad))
			return;
		a = &c->ad[c->n_ad++];
	}
	*a = (struct dc_adapter){.ptr = e->adapter,
	                         .device = e->device,
	                         .dev_no = dc_chk_dev_no(c, e->device),
	                         .master = (e->flags & DC_KEVF_MASTER) != 0,
	                         .sg = (e->flags & DC_KEVF_SG) != 0,
	                         .nmr = e->count,
	                         .v3 = e->status == 3};
	/* A new adapter at an old address: forget what the old one had. */
	for (size_t i = 0; i < c->n_mrbs;)
		if (c->mrbs[i].adapter == e->adapter)
			c->mrbs[i] = c->mrbs[--c->n_mrbs];
		else
			i++;
}

/* What the adapter (NULL: every adapter of device `dev`, or all if dev is NULL too) still
 * holds; reports A05 once per adapter. */
static void leaks(struct dc_check *c, const struct dc_kev *e, struct dc_adapter *only,
                  const void *dev, const char *when)
{
	for (size_t i = 0; i < c->n_ad; i++) {
		struct dc_adapter *a = &c->ad[i];
		if (only ? a != only : (a->leak_reported || (dev && a->device != dev)))
			continue;
		if (!only && a->put)
			continue;
		if (a->map_refused)
			continue; /* the request that MapTransfer refused never ended: A12 said so
			           */
		unsigned cbs = 0, chans = a->held_ctl != 0, runs = 0, lists = 0;
		for (size_t k = 0; k < c->n_cb; k++)
			cbs += c->cb[k].adapter == a->ptr && !c->cb[k].freed;
		for (size_t k = 0; k < c->n_mrbs; k++)
			runs += c->mrbs[k].adapter == a->ptr && c->mrbs[k].allocated &&
			        !c->mrbs[k].freed && !c->mrbs[k].with_channel;
		for (size_t k = 0; k < c->n_xf; k++)
			lists += c->xf[k]->adapter == a->ptr && c->xf[k]->sg;
		if (!only || cbs || chans || runs || lists) {
			char held[200];
			snprintf(held, sizeof(held),
			         "%u common buffer%s, %u channel%s, %u map register run%s and %u "
			         "scatter/gather list%s outstanding",
			         cbs, cbs == 1 ? "" : "s", chans, chans == 1 ? "" : "s", runs,
			         runs == 1 ? "" : "s", lists, lists == 1 ? "" : "s");
			if (!only || cbs || chans || runs || lists) {
				/* A v3 adapter object still allocated, and nothing else: V06. */
				bool v06 = a->v3 && chans && !cbs && !runs && !lists;
				struct dc_finding f =
				    dc_chk_fnd(v06 ? DC_RULE_V06 : DC_RULE_A05, e->pc, e->time);
				f.device = a->dev_no;
				if (only)
					dc_chk_what(&f, "PutDmaAdapter with %s", held);
				else
					dc_chk_what(
					    &f,
					    "%s with the adapter not released (no PutDmaAdapter), "
					    "%s",
					    when, held);
				dc_finding_add(c, &f);
			}
			a->leak_reported = true;
		}
	}
}

static void ev_adapter_put(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = use_adapter(c, e, "PutDmaAdapter");
	if (!a || a->put)
		return;
	unsigned n = 0;
	for (size_t k = 0; k < c->n_cb; k++)
		n += c->cb[k].adapter == a->ptr && !c->cb[k].freed;
	for (size_t k = 0; k < c->n_mrbs; k++)
		n += c->mrbs[k].adapter == a->ptr && c->mrbs[k].allocated && !c->mrbs[k].freed;
	for (size_t k = 0; k < c->n_xf; k++)
		n += c->xf[k]->adapter == a->ptr && c->xf[k]->sg;
	if (n || a->held_ctl)
		leaks(c, e, a, NULL, NULL);
	a->put = true;
	a->put_pc = e->pc;
}

static void ev_common_alloc(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "AllocateCommonBuffer");
	if (!e->va)
		return;
	struct dc_common *b = NULL;
	for (size_t i = 0; i < c->n_cb && !b; i++)
		if (c->cb[i].freed && c->cb[i].va == e->va)
			b = &c->cb[i];
	if (!b) {
		if (!GROW(c->cb, c->n_cb, c->cap_cb))
			return;
		b = &c->cb[c->n_cb++];
	} else {
		free(b->pieces);
	}
	*b = (struct dc_common){.adapter = e->adapter,
	                        .va = e->va,
	                        .len = e->len,
	                        .logical = e->logical,
	                        .cached = (e->flags & DC_KEVF_CACHED) != 0,
	                        .pc = e->pc,
	                        .pieces = dc_chk_copy_pieces(e),
	                        .v3 = dc_v3_routine(e->routine)};
	b->n_pieces = b->pieces ? e->n_pieces : 0;
}

static void ev_common_free(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "FreeCommonBuffer");
	struct dc_common *live = NULL, *dead = NULL;
	for (size_t i = 0; i < c->n_cb; i++) {
		struct dc_common *b = &c->cb[i];
		if (b->adapter != e->adapter && e->adapter)
			continue;
		if (b->va == e->va || b->logical == e->logical) {
			if (!b->freed && !live)
				live = b;
			else if (b->freed && !dead)
				dead = b;
		}
	}
	if (e->status == 1) {
		if (live)
			live->freed = true, live->free_pc = e->pc;
		return;
	}
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	struct dc_finding f = dc_chk_fnd(DC_RULE_A11, e->pc, e->time);
	f.device = a ? a->dev_no : 0;
	f.va = dc_check_show_va(c, e->va);
	f.logical = e->logical;
	f.len = e->len;
	if (live) {
		char got[160] = "", want[160] = "";
		size_t gn = 0, wn = 0;
		if (e->len != live->len) {
			gn += (size_t)snprintf(got + gn, sizeof(got) - gn, "Length=%llu",
			                       (unsigned long long)e->len);
			wn += (size_t)snprintf(want + wn, sizeof(want) - wn, "Length=%llu",
			                       (unsigned long long)live->len);
		}
		if (e->logical != live->logical && gn < 100 && wn < 100) {
			gn +=
			    (size_t)snprintf(got + gn, sizeof(got) - gn, "%sLogicalAddress=0x%llx",
			                     gn ? ", " : "", (unsigned long long)e->logical);
			wn += (size_t)snprintf(want + wn, sizeof(want) - wn,
			                       "%sLogicalAddress=0x%llx", wn ? ", " : "",
			                       (unsigned long long)live->logical);
		}
		if (e->va != live->va && gn < 100 && wn < 100) {
			gn += (size_t)snprintf(got + gn, sizeof(got) - gn,
			                       "%sVirtualAddress=0x%llx", gn ? ", " : "",
			                       (unsigned long long)dc_check_show_va(c, e->va));
			wn += (size_t)snprintf(want + wn, sizeof(want) - wn,
			                       "%sVirtualAddress=0x%llx", wn ? ", " : "",
			                       (unsigned long long)dc_check_show_va(c, live->va));
		}
		bool cached = (e->flags & DC_KEVF_CACHED) != 0;
		if (cached != live->cached && gn < 100 && wn < 100) {
			gn += (size_t)snprintf(got + gn, sizeof(got) - gn, "%sCacheEnabled=%s",
			                       gn ? ", " : "", cached ? "TRUE" : "FALSE");
			wn += (size_t)snprintf(want + wn, sizeof(want) - wn, "%sCacheEnabled=%s",
			                       wn ? ", " : "", live->cached ? "TRUE" : "FALSE");
		}
		dc_chk_site(&f, "allocated at", live->pc, NO_TIME);
		dc_chk_what(&f, "FreeCommonBuffer(%s) differs from AllocateCommonBuffer(%s) {0}",
		            got, want);
		/* The kernel frees the allocation all the same (docs/kernel.md): one finding,
		 * not a leak reported again at PutDmaAdapter or removal. */
		live->freed = true, live->free_pc = e->pc;
	} else if (dead) {
		f.rule = DC_RULE_A04;
		dc_chk_site(&f, "freed at", dead->free_pc, NO_TIME);
		dc_chk_what(&f, "FreeCommonBuffer of a common buffer freed already {0}");
	} else {
		dc_chk_what(&f, "FreeCommonBuffer of memory AllocateCommonBuffer did not return");
	}
	f.severity = dc_rule_info(f.rule)->severity;
	dc_finding_add(c, &f);
}

static void ev_channel_alloc(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = use_adapter(c, e, "AllocateAdapterChannel");
	if (!a)
		return;
	if (e->status == (int64_t)(int32_t)0xC0000120 && a->allocs) {
		a->allocs--; /* CancelAdapterChannel withdrew a queued request */
		return;
	}
	if (e->count > a->nmr) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A03, e->pc, e->time);
		f.device = a->dev_no;
		dc_chk_what(&f, "%s asked for %u map registers; the adapter has %u",
		            routine(e, "AllocateAdapterChannel"), e->count, a->nmr);
		dc_finding_add(c, &f);
	}
	if (!nt_success(e->status))
		return;
	uint64_t n = ++a->allocs;
	const char *why = NULL;
	if (a->held_ctl && a->held_ctl < n)
		why =
		    "while the adapter's channel is still held (KeepObject, no FreeAdapterChannel)";
	else if (a->controls + 1 < n)
		why = "before the AdapterControl of the previous request ran";
	if (why) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A06, e->pc, e->time);
		f.device = a->dev_no;
		dc_chk_what(&f, "%s %s", routine(e, "AllocateAdapterChannel"), why);
		dc_finding_add(c, &f);
	}
}

static void ev_adapter_control(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	if (!a)
		return;
	a->controls++;
	struct dc_mrb *r = dc_chk_mrb_find(c, e->adapter, e->mrb);
	if (!r) {
		if (!GROW(c->mrbs, c->n_mrbs, c->cap_mrbs))
			return;
		r = &c->mrbs[c->n_mrbs++];
	}
	*r = (struct dc_mrb){.adapter = e->adapter, .mrb = e->mrb, .count = e->count};
	const char *bad = NULL;
	switch (e->status) {
	case KEEP_OBJECT:
		r->allocated = true;
		r->with_channel = true;
		a->held_ctl = a->controls;
		break;
	case DEALLOCATE_KEEP_REGISTERS:
		r->allocated = true;
		if (!a->master)
			bad = "DeallocateObjectKeepRegisters for a system DMA adapter: the channel "
			      "is "
			      "released while the controller still runs it (return KeepObject)";
		break;
	case DEALLOCATE_OBJECT:
		if (!a->master)
			bad =
			    "DeallocateObject for a system DMA adapter: the channel and its "
			    "registers are released while the controller runs (return KeepObject)";
		else if (e->count)
			bad = "DeallocateObject: the map registers are released at once, while the "
			      "transfer needs them (return DeallocateObjectKeepRegisters)";
		break;
	default:
		bad = "an IO_ALLOCATION_ACTION that is none of KeepObject, DeallocateObject, "
		      "DeallocateObjectKeepRegisters";
	}
	if (bad) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a->dev_no;
		dc_chk_what(&f, "AdapterControl returned %s", bad);
		dc_finding_add(c, &f);
	}
}

static void ev_channel_free(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = use_adapter(c, e, "FreeAdapterChannel");
	if (!a)
		return;
	if (e->flags & DC_KEVF_KEEP_REGS) {
		/* FreeAdapterObject(DeallocateObjectKeepRegisters): the registers stay, and their
		 * transfers with them; FreeMapRegisters is owed. */
		a->held_ctl = 0;
		for (size_t i = 0; i < c->n_mrbs; i++)
			if (c->mrbs[i].adapter == e->adapter && c->mrbs[i].with_channel &&
			    !c->mrbs[i].freed)
				c->mrbs[i].with_channel = false;
		return;
	}
	close_open(c, e, e->adapter, NULL, true, 1);
	if (!a->held_ctl) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a->dev_no;
		dc_chk_what(
		    &f, "FreeAdapterChannel with no channel held (freed already, or AdapterControl "
		        "did not return KeepObject)");
		dc_finding_add(c, &f);
		return;
	}
	a->held_ctl = 0;
	a->map_refused = false;
	for (size_t i = 0; i < c->n_mrbs; i++) {
		struct dc_mrb *r = &c->mrbs[i];
		if (r->adapter == e->adapter && r->with_channel && !r->freed) {
			r->freed = true;
			r->free_pc = e->pc;
			r->free_time = e->time;
		}
	}
}

static void ev_mapreg_free(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = use_adapter(c, e, "FreeMapRegisters");
	if (e->status == 0 && s03(c, e, a, "FreeMapRegisters"))
		return;
	if (a)
		a->map_refused = false;
	close_open(c, e, e->adapter, e->mrb, false, 2);
	struct dc_mrb *r = dc_chk_mrb_find(c, e->adapter, e->mrb);
	const char *bad = NULL;
	char buf[160];
	if (r && r->with_channel && !r->freed) {
		bad = "of registers that came with the channel (AdapterControl returned "
		      "KeepObject): release them with FreeAdapterChannel";
	} else if (e->status == 0) {
		if (r && r->freed)
			bad = "of registers freed already";
		else if (r && r->allocated && r->count != e->count) {
			snprintf(buf, sizeof(buf),
			         "with NumberOfMapRegisters %u; %u were allocated at this base",
			         e->count, r->count);
			bad = buf;
		} else {
			bad = "of registers that were not allocated there";
		}
	}
	if (bad) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a ? a->dev_no : 0;
		dc_chk_what(&f, "FreeMapRegisters %s", bad);
		dc_finding_add(c, &f);
	}
	/* Registers freed wrongly stay allocated; the mistake is this finding, not a leak later. */
	if (r && (e->status == 1 || bad)) {
		r->freed = true;
		r->free_pc = e->pc;
		r->free_time = e->time;
	}
}

static const char *irql_name(unsigned irql, char *buf, size_t len)
{
	static const char *const names[] = {"PASSIVE_LEVEL", "APC_LEVEL", "DISPATCH_LEVEL"};
	if (irql < DC_ARRAY_SIZE(names))
		return names[irql];
	snprintf(buf, len, "%u", irql);
	return buf;
}

static void ev_irql(struct dc_check *c, const struct dc_kev *e)
{
	char b1[16], b2[16], b3[16];
	struct dc_finding f = dc_chk_fnd(DC_RULE_A08, e->pc, e->time);
	f.device = dc_chk_dev_no(c, e->device);
	if (e->irql_min == e->irql_max)
		dc_chk_what(&f, "%s called at IRQL %s (requires %s)", routine(e, "?"),
		            irql_name(e->irql, b1, sizeof(b1)),
		            irql_name(e->irql_min, b2, sizeof(b2)));
	else
		dc_chk_what(&f, "%s called at IRQL %s (allowed: %s..%s)", routine(e, "?"),
		            irql_name(e->irql, b1, sizeof(b1)),
		            irql_name(e->irql_min, b2, sizeof(b2)),
		            irql_name(e->irql_max, b3, sizeof(b3)));
	dc_finding_add(c, &f);
}

/* Spin locks (L01, L02): the kernel decided; the finding names both acquires. */
static void ev_lock(struct dc_check *c, const struct dc_kev *e)
{
	bool self = e->status == 1;
	struct dc_finding f = dc_chk_fnd(self ? DC_RULE_L01 : DC_RULE_L02, e->pc, e->time);
	f.manifested = e->status != 2;
	if (self) {
		dc_chk_what(&f, "%s of a spin lock this processor holds {0}", routine(e, "?"));
		dc_chk_site(&f, "acquired at", e->sgl, NO_TIME);
	} else {
		dc_chk_what(&f, "%s: %s {0}", routine(e, "?"),
		            e->status == 2 ? "lock B acquired while holding A, but A was acquired "
		                             "while holding B"
		                           : "deadlock: every processor left spins for a lock held "
		                             "by another that spins (locks taken in both orders)");
		dc_chk_site(&f, e->status == 2 ? "other order at" : "held since", e->sgl, NO_TIME);
	}
	dc_finding_add(c, &f);
}

static void ev_device_access(struct dc_check *c, const struct dc_kev *e)
{
	if (e->value >= 0 && e->value < (int64_t)DC_ARRAY_SIZE(c->src_da))
		c->src_da[e->value] = true;
	bool dev_write = e->dir == DC_DIR_FROM_DEVICE;
	uint64_t lo = e->logical, hi = e->logical + e->len;
	struct dc_xfer *near = NULL;
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		if (e->adapter && x->adapter != e->adapter)
			continue;
		/* The pieces around [lo, hi) (every piece when they may overlap): those that
		 * overlap it and the one before them, which may end at lo.  Within a transfer
		 * the order of the pieces judged changes nothing (judge_xfer's findings are the
		 * transfer's, once each). */
		uint32_t k, end = dc_chk_xfer_at(x, lo, hi, &k);
		for (k -= k > 0; k < end; k++) {
			uint32_t pi = dc_chk_xfer_piece(x, k);
			const struct dc_kev_piece *p = &x->pieces[pi];
			uint64_t a = DC_MAX(lo, p->logical), b = DC_MIN(hi, p->logical + p->len);
			if (a < b) {
				near = x;
				dc_chk_judge_xfer(c, x, pi, p->pa + (a - p->logical), b - a,
				                  dev_write, e->time);
			} else if (p->logical + p->len == lo && !near) {
				near = x; /* just past its end */
			}
		}
	}
	for (size_t i = 0; i < c->n_cb; i++) {
		const struct dc_common *b = &c->cb[i];
		if (b->freed || (e->adapter && b->adapter != e->adapter))
			continue;
		for (uint32_t k = 0; k < b->n_pieces; k++) {
			const struct dc_kev_piece *p = &b->pieces[k];
			uint64_t a = DC_MAX(lo, p->logical), z = DC_MIN(hi, p->logical + p->len);
			if (a < z)
				dc_chk_judge_common(c, b, k, p->pa + (a - p->logical), z - a,
				                    dev_write, e->time);
		}
	}
	if (e->status != 0)
		return;
	struct dc_finding f = dc_chk_fnd(DC_RULE_A09, near ? near->map_pc : NULL, e->time);
	f.device = dc_chk_dev_no(c, e->device);
	f.dir = (int)e->dir;
	f.logical = e->logical;
	f.len = e->len;
	f.bytes = e->len;
	f.manifested = dev_write;
	if (near) {
		f.xfer = near->id;
		dc_chk_site(&f, "mapped at", near->map_pc, near->map_time);
		dc_chk_what(
		    &f,
		    "device %s %llu bytes at logical 0x%llx, past the %llu bytes mapped for "
		    "transfer #%llu {0}",
		    dev_write ? "wrote" : "read", (unsigned long long)e->len,
		    (unsigned long long)e->logical, (unsigned long long)near->len_out,
		    (unsigned long long)near->id);
	} else {
		dc_chk_what(
		    &f, "device %s %llu bytes at logical 0x%llx, where nothing is mapped for it",
		    dev_write ? "wrote" : "read", (unsigned long long)e->len,
		    (unsigned long long)e->logical);
	}
	dc_finding_add(c, &f);
}

void dc_chk_on_kev(void *opaque, const struct dc_kev *e)
{
	struct dc_check *c = opaque;
	dc_machine_obs_sync(c->m); /* writes the CPU hook gathered come first (machine.h) */
	c->n_recent = 0;
	dc_memsafe_kev(c, e);
	switch (e->type) {
	case DC_KEV_ADAPTER_GET:
		ev_adapter_get(c, e);
		break;
	case DC_KEV_ADAPTER_PUT:
		ev_adapter_put(c, e);
		break;
	case DC_KEV_COMMON_ALLOC:
		ev_common_alloc(c, e);
		break;
	case DC_KEV_COMMON_FREE:
		ev_common_free(c, e);
		break;
	case DC_KEV_CHANNEL_ALLOC:
		ev_channel_alloc(c, e);
		break;
	case DC_KEV_ADAPTER_CONTROL:
		ev_adapter_control(c, e);
		break;
	case DC_KEV_CHANNEL_FREE:
		ev_channel_free(c, e);
		break;
	case DC_KEV_MAPREG_FREE:
		ev_mapreg_free(c, e);
		break;
	case DC_KEV_MAP:
		ev_map(c, e);
		break;
	case DC_KEV_FLUSH:
		ev_flush(c, e);
		break;
	case DC_KEV_SG_MAP:
		ev_sg_map(c, e);
		break;
	case DC_KEV_SG_PUT:
		ev_sg_put(c, e);
		break;
	case DC_KEV_KE_FLUSH:
		ev_ke_flush(c, e);
		break;
	case DC_KEV_IRP_SEND:
		ev_irp_send(c, e);
		break;
	case DC_KEV_IRP_COMPLETE:
		ev_irp_complete(c, e);
		break;
	case DC_KEV_IRQL:
		ev_irql(c, e);
		break;
	case DC_KEV_DEVICE_ACCESS:
		ev_device_access(c, e);
		break;
	case DC_KEV_BAD_ACCESS: {
		struct dc_finding f = dc_chk_fnd(DC_RULE_A07, e->pc, e->time);
		f.va = dc_check_show_va(c, e->va);
		dc_chk_what(&f, "the driver dereferenced %s",
		            routine(e, "an address it must not use"));
		dc_finding_add_access(c, &f);
		break;
	}
	case DC_KEV_REMOVE:
		leaks(c, e, NULL, e->device, "device removed");
		break;
	case DC_KEV_UNLOAD:
		leaks(c, e, NULL, NULL, "driver unloaded");
		break;
	case DC_KEV_CRASH:
		dc_crash_record(c, (int)e->status, e->pc, e->va,
		                e->routine ? e->routine : "the kernel stopped the driver");
		break;
	case DC_KEV_MAP_EX:
		dc_v3_map_ex(c, e);
		break;
	case DC_KEV_DMA_COMPLETION:
		dc_v3_completion(c, e);
		break;
	case DC_KEV_LOCK:
		ev_lock(c, e);
		break;
	default:
		break;
	}
}
