/* The sanitizer as an observer (check.h): CPU accesses, device accesses, cache events and
 * kernel events update the contract shadow and are judged against it.
 *
 * Contract state (judged, platform-independent):
 *  - W (bytes): the CPU wrote them since the last flush covering them.  Set by every cached CPU
 *    write (the HAL's and the application's too: pc NULL); cleared by KeFlushIoBuffers over
 *    the line and by FlushAdapterBuffers/PutScatterGatherList of a device-to-memory transfer
 *    (the HAL invalidates, DESIGN §3.4).
 *  - T (lines): the CPU touched them since the last such flush, so they may be cached.
 *  - open transfers: MapTransfer/GetScatterGatherList until the FlushAdapterBuffers/
 *    PutScatterGatherList that names them (the kernel's xfer id), with their exact bytes; each
 *    snapshots at map time which of its lines were dirty (to-device) or touched (from-device),
 *    so that what the CPU does during the transfer is C03/C05's, not C01/C02's.
 *  - D (bytes): the device wrote them (cache-enabled common buffers) since the CPU last
 *    synchronised them (KeFlushIoBuffers) or overwrote them.
 *  - PW (lines): driver code wrote them since the IRP was sent / since KeFlushIoBuffers(Mdl,
 *    TRUE, ...) (C06).
 * Device accesses are judged when the device issues them (DC_KEV_DEVICE_ACCESS, by logical
 * address); for a DMA source that never issues that event, when the machine reports its memory
 * access (the `dma` event, by physical address).
 *
 * Real state (for `manifested` only): what the cache model holds, read through dc_cache_probe
 * and the windows (never changed), and the cache events: a line cached when the device wrote
 * under it is *stale*; its write-back, or a CPU read of it, is a manifestation.  Accesses with
 * pc == NULL (the HAL's bounce copies, the application) are never blamed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "hw/machine.h"

#define IRP_MJ_READ_ 3
#define KEEP_OBJECT 1
#define DEALLOCATE_OBJECT 2
#define DEALLOCATE_KEEP_REGISTERS 3

#define NO_TIME UINT64_MAX

#define GROW(arr, n, cap) \
	((n) < (cap) || grow_((void **)&(arr), &(cap), sizeof(*(arr)), (n) + 1) == 0)

static int grow_(void **arr, size_t *cap, size_t elem, size_t need)
{
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

static inline bool nt_success(int64_t st)
{
	return (int32_t)(uint32_t)st >= 0;
}

static inline bool nt_error(int64_t st)
{
	return ((uint32_t)st >> 30) == 3;
}

static uint64_t now(const struct dc_check *c)
{
	return c->m->clock.now;
}

static inline uint32_t line_of(const struct dc_check *c, uint64_t pa)
{
	return (uint32_t)((pa & DC_PAGE_MASK) >> c->ls);
}

static inline uint64_t line_size(const struct dc_check *c)
{
	return UINT64_C(1) << c->ls;
}

uint64_t dc_check_show_va(const struct dc_check *c, const void *va)
{
	const struct dc_mem *mem = &c->m->mem;
	if (dc_mem_in_cached(mem, va))
		return DC_CHECK_CACHED_BASE + (uint64_t)((const uint8_t *)va - mem->cwin);
	if (dc_mem_in_uncached(mem, va))
		return DC_CHECK_UNCACHED_BASE + (uint64_t)((const uint8_t *)va - mem->phys);
	return 0;
}

static uint64_t show_pa(const struct dc_check *c, uint64_t pa)
{
	const uint8_t *va = dc_mem_pa_to_cached(&c->m->mem, pa);
	return va ? dc_check_show_va(c, va) : 0;
}

static unsigned dev_no(struct dc_check *c, const void *dev)
{
	if (!dev)
		return 0;
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i] == dev)
			return (unsigned)i + 1;
	if (!GROW(c->devs, c->n_devs, c->cap_devs))
		return 0;
	c->devs[c->n_devs++] = dev;
	return (unsigned)c->n_devs;
}

/* A finding template with the common fields set. */
static struct dc_finding fnd(enum dc_rule r, const void *pc, uint64_t time)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = r;
	f.severity = dc_rule_info(r)->severity;
	f.pc = pc;
	f.time = time;
	f.pa = DC_PA_INVALID;
	f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.count = 1;
	return f;
}

static void site(struct dc_finding *f, const char *label, const void *pc, uint64_t time)
{
	if (f->n_sites < DC_FINDING_SITES)
		f->site[f->n_sites++] = (struct dc_site){label, pc, time};
}

__attribute__((format(printf, 2, 3))) static void what(struct dc_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

static void set_range(struct dc_check *c, struct dc_finding *f, const void *va, uint64_t pa,
                      uint64_t logical, uint64_t len)
{
	f->va = va ? dc_check_show_va(c, va) : show_pa(c, pa);
	f->pa = pa;
	f->logical = logical;
	f->len = len;
}

/* --- Adapters, map register bases, common buffers, IRPs --------------------------------- */

static struct dc_adapter *adapter_find(struct dc_check *c, const void *ptr)
{
	for (size_t i = 0; i < c->n_ad; i++)
		if (c->ad[i].ptr == ptr)
			return &c->ad[i];
	return NULL;
}

static struct dc_mrb *mrb_find(struct dc_check *c, const void *adapter, const void *mrb)
{
	for (size_t i = 0; i < c->n_mrbs; i++)
		if (c->mrbs[i].adapter == adapter && c->mrbs[i].mrb == mrb)
			return &c->mrbs[i];
	return NULL;
}

static struct dc_common *common_by_pa(struct dc_check *c, uint64_t pa, uint32_t *piece)
{
	for (size_t i = 0; i < c->n_cb; i++) {
		struct dc_common *b = &c->cb[i];
		if (b->freed)
			continue;
		for (uint32_t k = 0; k < b->n_pieces; k++)
			if (pa - b->pieces[k].pa < b->pieces[k].len) {
				if (piece)
					*piece = k;
				return b;
			}
	}
	return NULL;
}

static struct dc_irp *irp_find(struct dc_check *c, const void *irp)
{
	for (size_t i = 0; i < c->n_irps; i++)
		if (c->irps[i].irp == irp)
			return &c->irps[i];
	return NULL;
}

static struct dc_kev_piece *copy_pieces(const struct dc_kev *e)
{
	if (!e->n_pieces || !e->pieces)
		return NULL;
	struct dc_kev_piece *p = malloc(e->n_pieces * sizeof(*p));
	if (p)
		memcpy(p, e->pieces, e->n_pieces * sizeof(*p));
	return p;
}

/* Calls fn for each page-bounded part of [pa, pa + len). */
#define EACH_PAGE(pa_, len_, q_, n_)                         \
	for (uint64_t q_ = (pa_), end_ = (pa_) + (len_), n_; \
	     q_ < end_ && ((n_ = DC_MIN(end_, (q_ | DC_PAGE_MASK) + 1) - q_), 1); q_ += n_)

/* --- Open transfers ----------------------------------------------------------------------- */

static struct dc_xfer *xfer_find(struct dc_check *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_xf; i++)
		if (c->xf[i]->id == id)
			return c->xf[i];
	return NULL;
}

static inline uint32_t xline(const struct dc_check *c, const struct dc_xfer *x, uint32_t i,
                             uint64_t pa)
{
	return x->lbase[i] + (uint32_t)((pa >> c->ls) - (x->pieces[i].pa >> c->ls));
}

static void xfer_free(struct dc_xfer *x)
{
	free(x->pieces);
	free(x->lbase);
	free(x->pre);
	free(x);
}

static void xfer_close(struct dc_check *c, struct dc_xfer *x)
{
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		EACH_PAGE(x->pieces[i].pa, x->pieces[i].len, q, n)
		{
			(void)n;
			struct dc_pshadow *ps = dc_shadow_find(c, q);
			if (ps && ps->owned) {
				ps->owned--;
				dc_shadow_rewatch(ps);
			}
		}
	}
	for (size_t i = 0; i < c->n_xf; i++) {
		if (c->xf[i] == x) {
			memmove(&c->xf[i], &c->xf[i + 1], (c->n_xf - i - 1) * sizeof(c->xf[0]));
			c->n_xf--;
			break;
		}
	}
	xfer_free(x);
}

/* A new open transfer from a MAP or SG_MAP event; NULL on exhaustion. */
/* A13: which bytes of an outstanding IRP's buffer the transfer x maps, found by physical
 * address (a bounced piece names the caller's page; a partial MDL the same pages). */
static void cover_irp(struct dc_check *c, const struct dc_xfer *x)
{
	for (uint32_t k = 0; k < x->n_pieces; k++) {
		const struct dc_kev_piece *p = &x->pieces[k];
		for (size_t i = 0; i < c->n_irps; i++) {
			struct dc_irp *r = &c->irps[i];
			uint64_t off = 0;
			for (uint32_t j = 0; j < r->n_pieces; off += r->pieces[j].len, j++) {
				const struct dc_kev_piece *q = &r->pieces[j];
				if (p->pa < q->pa || p->pa >= q->pa + q->len)
					continue;
				uint64_t o = off + (p->pa - q->pa);
				struct dc_span *last =
				    r->n_spans ? &r->spans[r->n_spans - 1] : NULL;
				if (last && k && last->pc == x->map_pc &&
				    last->off + last->len == o) {
					last->len += p->len;
				} else if (GROW(r->spans, r->n_spans, r->cap_spans)) {
					r->spans[r->n_spans++] = (struct dc_span){
					    o, p->len, x->map_pc, x->map_time, x->v3};
				}
				goto next_piece;
			}
		}
	next_piece:;
	}
}

static struct dc_xfer *xfer_open(struct dc_check *c, const struct dc_kev *e, bool sg)
{
	struct dc_xfer *x = calloc(1, sizeof(*x));
	if (!x || !GROW(c->xf, c->n_xf, c->cap_xf)) {
		free(x);
		return NULL;
	}
	x->id = e->xfer;
	x->group = e->xfer;
	x->dir = e->dir;
	x->sg = sg;
	x->adapter = e->adapter;
	x->mdl = e->mdl;
	x->mrb = e->mrb;
	x->sgl = e->sgl;
	x->irp = e->irp;
	x->va = e->va;
	x->va_off = e->value;
	x->len = e->len;
	x->len_out = sg ? e->len : e->len_out;
	x->map_pc = e->pc;
	x->map_time = e->time;
	x->c03 = -1;
	x->v3 = dc_v3_routine(e->routine);
	struct dc_adapter *a = adapter_find(c, e->adapter);
	x->device = a ? a->dev_no : dev_no(c, e->device);
	x->pieces = copy_pieces(e);
	x->n_pieces = x->pieces ? e->n_pieces : 0;
	x->lbase = calloc(x->n_pieces + 1, sizeof(*x->lbase));
	if (!x->lbase) {
		xfer_free(x);
		return NULL;
	}
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		x->lbase[i] = x->nlines;
		if (p->len)
			x->nlines +=
			    (uint32_t)(((p->pa + p->len - 1) >> c->ls) - (p->pa >> c->ls) + 1);
	}
	x->pre = calloc((x->nlines + 63) / 64 + 1, sizeof(uint64_t));
	if (!x->pre) {
		xfer_free(x);
		return NULL;
	}
	x->common = x->n_pieces && common_by_pa(c, x->pieces[0].pa, NULL);
	/* Own the pages; snapshot the lines the contract already breaks. */
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		EACH_PAGE(p->pa, p->len, q, n)
		{
			struct dc_pshadow *ps = dc_shadow_get(c, q);
			if (!ps)
				continue;
			ps->owned++;
			ps->watch = true;
			for (uint64_t l = q >> c->ls; l <= (q + n - 1) >> c->ls; l++) {
				uint32_t li = (uint32_t)(l & ((DC_PAGE_SIZE >> c->ls) - 1));
				uint64_t lo = DC_MAX(q, l << c->ls),
				         hi = DC_MIN(q + n, (l + 1) << c->ls);
				/* To the device: bytes of the piece the CPU wrote and did not
				 * flush. From it: a line the CPU may hold *dirty* (written anywhere
				 * in the line since the last flush).  A clean line the CPU only
				 * read cannot be written back over the device's bytes, and
				 * FlushAdapterBuffers invalidates it before the CPU reads the data
				 * (a read before that is C03/C04), as judge_common knows for common
				 * buffers. */
				bool pre = x->dir == DC_DIR_TO_DEVICE
				               ? dc_bits_first(ps->w, (uint32_t)(lo & DC_PAGE_MASK),
				                               (uint32_t)(hi - lo)) >= 0
				               : dc_bit_test(ps->t, li) &&
				                     dc_bits_first(ps->w, li << c->ls,
				                                   (uint32_t)line_size(c)) >= 0;
				if (pre)
					dc_bit_set(x->pre, xline(c, x, i, lo));
			}
		}
	}
	c->xf[c->n_xf++] = x;
	cover_irp(c, x);
	return x;
}

/* --- Synchronisation (KeFlushIoBuffers, FlushAdapterBuffers of a read) --------------------- */

static void sync_range(struct dc_check *c, uint64_t pa, uint64_t len, bool pio_read)
{
	if (!len)
		return;
	uint64_t ls = line_size(c);
	uint64_t lo = pa & ~(ls - 1), hi = (pa + len + ls - 1) & ~(ls - 1);
	EACH_PAGE(lo, hi - lo, q, n)
	{
		struct dc_pshadow *ps = dc_shadow_find(c, q);
		if (!ps)
			continue;
		uint32_t off = (uint32_t)(q & DC_PAGE_MASK);
		dc_bits_clear(ps->w, off, (uint32_t)n);
		if (pio_read)
			dc_bits_clear(ps->pw, off, (uint32_t)n);
		for (uint32_t l = line_of(c, q); l <= line_of(c, q + n - 1); l++) {
			dc_bit_clear(ps->t, l);
			if (ps->ext) {
				ps->ext->mf[l] = 0;
				ps->ext->cand[l] = 0;
			}
		}
		if (ps->ext) {
			dc_bits_clear(ps->ext->d, off, (uint32_t)n);
			dc_shadow_rewatch(ps);
		}
	}
	/* What open transfers snapshotted for these lines is settled now. */
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		for (uint32_t k = 0; k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			uint64_t a = DC_MAX(lo, p->pa), b = DC_MIN(hi, p->pa + p->len);
			for (uint64_t q = a; q < b; q = ((q >> c->ls) + 1) << c->ls)
				dc_bit_clear(x->pre, xline(c, x, k, q));
		}
	}
}

/* --- Manifestation ------------------------------------------------------------------------ */

static void manifest_line(struct dc_check *c, struct dc_pshadow *ps, uint32_t l, uint8_t fact)
{
	struct dc_pext *x = dc_shadow_ext(c, ps);
	if (!x)
		return;
	x->mf[l] |= fact;
	if (x->cand[l])
		dc_finding_manifest(c, (int)x->cand[l] - 1);
}

/* Marks lines of [pa, pa + len) so that a later manifestation there marks finding idx; true if
 * one of the facts in `facts` already happened there. */
static bool candidate(struct dc_check *c, uint64_t pa, uint64_t len, int idx, uint8_t facts)
{
	bool already = false;
	EACH_PAGE(pa, len, q, n)
	{
		struct dc_pshadow *ps = dc_shadow_get(c, q);
		struct dc_pext *x = ps ? dc_shadow_ext(c, ps) : NULL;
		if (!x)
			continue;
		for (uint32_t l = line_of(c, q); l <= line_of(c, q + n - 1); l++) {
			if (idx >= 0)
				x->cand[l] = (uint32_t)idx + 1;
			already |= (x->mf[l] & facts) != 0;
		}
	}
	return already;
}

static bool noncoherent(const struct dc_check *c)
{
	return c->m->plat.coherency != DC_COHERENT;
}

/* Bytes of [pa, pa + len) (one line) that differ between the cached copy and memory, skipping
 * bytes the CPU itself wrote since the last flush. */
static bool cached_differs(struct dc_check *c, const struct dc_pshadow *ps, uint64_t pa,
                           uint64_t len)
{
	const uint8_t *cv = dc_mem_pa_to_cached(&c->m->mem, pa);
	const uint8_t *mv = dc_mem_pa_ptr(&c->m->mem, pa);
	if (!cv)
		return false;
	uint32_t off = (uint32_t)(pa & DC_PAGE_MASK);
	for (uint64_t i = 0; i < len; i++)
		if (cv[i] != mv[i] && !(ps && dc_bit_test(ps->w, off + (uint32_t)i)))
			return true;
	return false;
}

/* --- Judging device accesses --------------------------------------------------------------- */

static uint64_t xfer_bytes_in_pre(struct dc_check *c, const struct dc_xfer *x, bool w_only)
{
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		for (uint64_t q = p->pa, end = p->pa + p->len; q < end;) {
			uint64_t next = DC_MIN(end, ((q >> c->ls) + 1) << c->ls);
			if (dc_bit_test(x->pre, xline(c, x, i, q))) {
				struct dc_pshadow *ps = dc_shadow_find(c, q);
				if (!w_only)
					bytes += next - q;
				else if (ps)
					bytes += dc_bits_count(ps->w, (uint32_t)(q & DC_PAGE_MASK),
					                       (uint32_t)(next - q));
			}
			q = next;
		}
	}
	return bytes;
}

/* First line of the transfer in `pre` (its pa), DC_PA_INVALID if none. */
static uint64_t xfer_first_pre(struct dc_check *c, const struct dc_xfer *x)
{
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		for (uint64_t q = p->pa, end = p->pa + p->len; q < end;
		     q = DC_MIN(end, ((q >> c->ls) + 1) << c->ls))
			if (dc_bit_test(x->pre, xline(c, x, i, q)))
				return q;
	}
	return DC_PA_INVALID;
}

static void fill_xfer(struct dc_check *c, struct dc_finding *f, const struct dc_xfer *x)
{
	f->device = x->device;
	f->xfer = x->id;
	f->dir = (int)x->dir;
	if (x->n_pieces) {
		const struct dc_kev_piece *p = &x->pieces[0];
		set_range(c, f, p->va, p->pa, p->logical, x->len_out);
	}
}

/* The device read (or wrote) [pa, pa + len) of piece i of open transfer x. */
static void judge_xfer(struct dc_check *c, struct dc_xfer *x, uint32_t i, uint64_t pa, uint64_t len,
                       bool dev_write, uint64_t time)
{
	if (x->c03 >= 0 && pa < x->c03_hi && x->c03_lo < pa + len) {
		dc_finding_manifest(c, x->c03);
		x->c03 = -1;
	}
	if (dev_write)
		x->issued += len;
	if (x->common)
		return;
	bool hit = false;
	for (uint64_t q = pa, end = pa + len; q < end && !hit;
	     q = DC_MIN(end, ((q >> c->ls) + 1) << c->ls)) {
		if (!dc_bit_test(x->pre, xline(c, x, i, q)))
			continue;
		if (dev_write) {
			hit = true;
		} else {
			struct dc_pshadow *ps = dc_shadow_find(c, q);
			uint64_t e2 = DC_MIN(end, ((q >> c->ls) + 1) << c->ls);
			hit = ps && dc_bits_first(ps->w, (uint32_t)(q & DC_PAGE_MASK),
			                          (uint32_t)(e2 - q)) >= 0;
		}
	}
	if (!hit)
		return;
	uint64_t first = xfer_first_pre(c, x);
	struct dc_pshadow *ps = first != DC_PA_INVALID ? dc_shadow_find(c, first) : NULL;
	uint32_t fl = first != DC_PA_INVALID ? line_of(c, first) : 0;
	if (!dev_write && x->dir == DC_DIR_TO_DEVICE && !x->c01) {
		x->c01 = true;
		struct dc_finding f = fnd(DC_RULE_C01, x->map_pc, time);
		fill_xfer(c, &f, x);
		f.bytes = xfer_bytes_in_pre(c, x, true);
		const void *wpc = ps ? ps->wpc[fl] : NULL;
		if (wpc) {
			site(&f, "last written by the CPU at", wpc, NO_TIME);
			site(&f, "mapped at", x->map_pc, x->map_time);
			what(
			    &f,
			    "device read %llu bytes of transfer #%llu the CPU wrote since the last "
			    "flush covering them {0} {1}",
			    (unsigned long long)f.bytes, (unsigned long long)x->id);
		} else {
			site(&f, "mapped at", x->map_pc, x->map_time);
			what(
			    &f,
			    "device read %llu bytes of transfer #%llu the CPU wrote since the last "
			    "flush covering them {0}",
			    (unsigned long long)f.bytes, (unsigned long long)x->id);
		}
		bool m = false;
		for (uint32_t k = 0; k < x->n_pieces; k++)
			m |= candidate(c, x->pieces[k].pa, x->pieces[k].len, -1,
			               DC_MF_DEV_READ_STALE);
		f.manifested = m;
		int idx = dc_finding_add(c, &f);
		for (uint32_t k = 0; idx >= 0 && k < x->n_pieces; k++)
			candidate(c, x->pieces[k].pa, x->pieces[k].len, idx, 0);
	} else if (dev_write && x->dir == DC_DIR_FROM_DEVICE && !x->c02) {
		x->c02 = true;
		struct dc_finding f = fnd(DC_RULE_C02, x->map_pc, time);
		fill_xfer(c, &f, x);
		f.bytes = xfer_bytes_in_pre(c, x, false);
		const void *tpc = ps ? ps->tpc[fl] : NULL;
		if (tpc) {
			site(&f, "last touched by the CPU at", tpc, NO_TIME);
			site(&f, "mapped at", x->map_pc, x->map_time);
			what(&f,
			     "device wrote %llu bytes of transfer #%llu over lines the CPU may "
			     "hold in its cache {0} {1}",
			     (unsigned long long)f.bytes, (unsigned long long)x->id);
		} else {
			site(&f, "mapped at", x->map_pc, x->map_time);
			what(&f,
			     "device wrote %llu bytes of transfer #%llu over lines the CPU may "
			     "hold in its cache {0}",
			     (unsigned long long)f.bytes, (unsigned long long)x->id);
		}
		bool m = false;
		for (uint32_t k = 0; k < x->n_pieces; k++)
			m |= candidate(c, x->pieces[k].pa, x->pieces[k].len, -1,
			               DC_MF_OVERWRITTEN | DC_MF_CPU_READ_STALE);
		f.manifested = m;
		int idx = dc_finding_add(c, &f);
		/* Only the lines the CPU may hold can manifest. */
		for (uint32_t k = 0; idx >= 0 && k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			for (uint64_t q = p->pa, end = p->pa + p->len; q < end;
			     q = DC_MIN(end, ((q >> c->ls) + 1) << c->ls))
				if (dc_bit_test(x->pre, xline(c, x, k, q)))
					candidate(c, q, 1, idx, 0);
		}
	}
}

/* One rule's share of a device access to a common buffer. */
struct cb_hit {
	uint64_t bytes, first; /* bytes affected, pa of the first affected line */
	const void *pc;        /* the CPU write not flushed */
};

static void cb_hit_add(struct cb_hit *h, uint64_t bytes, uint64_t pa, const void *pc)
{
	if (!h->bytes) {
		h->first = pa;
		h->pc = pc;
	}
	h->bytes += bytes;
}

static void cb_report(struct dc_check *c, const struct dc_common *b, uint32_t k, uint64_t pa,
                      uint64_t len, enum dc_rule r, const struct cb_hit *h, uint64_t time)
{
	static const char *const forms[] = {
	    [DC_RULE_C01] = "device read %llu bytes of a cache-enabled common buffer the CPU wrote "
	                    "since the last flush covering them",
	    [DC_RULE_C02] = "device wrote %llu bytes of a cache-enabled common buffer over bytes "
	                    "the CPU wrote since the last flush",
	    [DC_RULE_C05] = "device wrote %llu bytes of a cache-enabled common buffer into lines "
	                    "whose other bytes the CPU wrote since the last flush",
	};
	const struct dc_kev_piece *p = &b->pieces[k];
	struct dc_finding f = fnd(b->v3 ? DC_RULE_V07 : r, h->pc, time);
	struct dc_adapter *a = adapter_find(c, b->adapter);
	bool dev_write = r != DC_RULE_C01;
	f.device = a ? a->dev_no : 0;
	f.dir = dev_write ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	set_range(c, &f, (const uint8_t *)p->va + (pa - p->pa), pa, p->logical + (pa - p->pa), len);
	f.bytes = h->bytes;
	char form[200];
	snprintf(form, sizeof(form), "%s%s", forms[r], h->pc ? " {0}" : "");
	if (h->pc)
		site(&f, "last written by the CPU at", h->pc, NO_TIME);
	snprintf(f.what, sizeof(f.what), form, (unsigned long long)h->bytes);
	uint8_t facts = dev_write ? DC_MF_OVERWRITTEN | DC_MF_CPU_READ_STALE : DC_MF_DEV_READ_STALE;
	f.manifested = candidate(c, pa, len, -1, facts);
	int idx = dc_finding_add(c, &f);
	if (idx >= 0)
		candidate(c, pa, len, idx, 0);
}

/* The device read or wrote [pa, pa + len) of a common buffer.  A read of bytes the CPU wrote
 * and did not flush is C01; a write over such bytes is C02; a write next to them, in the same
 * line, is C05 (the line is shared: its write-back overwrites the device's bytes).  A clean
 * line the CPU only read is judged when it reads again (C04): polling is legitimate. */
static void judge_common(struct dc_check *c, const struct dc_common *b, uint32_t k, uint64_t pa,
                         uint64_t len, bool dev_write, uint64_t time)
{
	if (!b->cached)
		return;
	struct cb_hit h01 = {0, 0, NULL}, h02 = {0, 0, NULL}, h05 = {0, 0, NULL};
	EACH_PAGE(pa, len, q, n)
	{
		struct dc_pshadow *ps = dc_shadow_get(c, q);
		if (!ps)
			continue;
		uint32_t off = (uint32_t)(q & DC_PAGE_MASK);
		for (uint32_t l = line_of(c, q); l <= line_of(c, q + n - 1); l++) {
			uint32_t lo = DC_MAX(off, l << c->ls);
			uint32_t hi = DC_MIN(off + (uint32_t)n, (l + 1) << c->ls);
			uint64_t lpa = (q & ~DC_PAGE_MASK) | lo;
			uint32_t mine = dc_bits_count(ps->w, lo, hi - lo);
			if (!dev_write) {
				if (mine)
					cb_hit_add(&h01, mine, lpa, ps->wpc[l]);
			} else if (mine) {
				cb_hit_add(&h02, hi - lo, lpa, ps->wpc[l]);
			} else if (dc_bits_first(ps->w, l << c->ls, (uint32_t)line_size(c)) >= 0) {
				cb_hit_add(&h05, hi - lo, lpa, ps->wpc[l]);
			}
		}
		struct dc_pext *x = dev_write ? dc_shadow_ext(c, ps) : NULL;
		if (x) {
			dc_bits_set(x->d, off, (uint32_t)n);
			ps->watch = true;
		}
	}
	if (h01.bytes)
		cb_report(c, b, k, pa, len, DC_RULE_C01, &h01, time);
	if (h02.bytes)
		cb_report(c, b, k, pa, len, DC_RULE_C02, &h02, time);
	if (h05.bytes)
		cb_report(c, b, k, pa, len, DC_RULE_C05, &h05, time);
}

/* A device access as the machine reports it, for DMA sources that issue no DEVICE_ACCESS
 * events (the 8237): without an IOMMU the address on the bus is the logical address, so it is
 * matched against what transfers and common buffers were mapped at (a bounce page included). */
static void judge_by_bus_address(struct dc_check *c, uint64_t addr, uint64_t len, bool dev_write)
{
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		for (uint32_t k = 0; k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			uint64_t a = DC_MAX(addr, p->logical),
			         b = DC_MIN(addr + len, p->logical + p->len);
			if (a < b)
				judge_xfer(c, x, k, p->pa + (a - p->logical), b - a, dev_write,
				           now(c));
		}
	}
	for (size_t i = 0; i < c->n_cb; i++) {
		const struct dc_common *cb = &c->cb[i];
		for (uint32_t k = 0; !cb->freed && k < cb->n_pieces; k++) {
			const struct dc_kev_piece *p = &cb->pieces[k];
			uint64_t a = DC_MAX(addr, p->logical),
			         b = DC_MIN(addr + len, p->logical + p->len);
			if (a < b)
				judge_common(c, cb, k, p->pa + (a - p->logical), b - a, dev_write,
				             now(c));
		}
	}
}

/* --- The observer: CPU side ------------------------------------------------------------------ */

static void cpu_slow(struct dc_check *c, struct dc_pshadow *ps, uint64_t pa, uint32_t len,
                     bool write, const void *pc)
{
	uint32_t off = (uint32_t)(pa & DC_PAGE_MASK), l = line_of(c, pa);
	bool in_xfer = false;
	uint64_t t = now(c);
	for (size_t i = 0; ps->owned && i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		if (x->common)
			continue;
		for (uint32_t k = 0; k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			uint64_t a = DC_MAX(pa, p->pa), b = DC_MIN(pa + len, p->pa + p->len);
			if (a < b) {
				in_xfer = true;
				if (!pc || (!write && x->dir == DC_DIR_TO_DEVICE))
					continue;
				struct dc_finding f = fnd(x->v3 ? DC_RULE_V03 : DC_RULE_C03, pc, t);
				fill_xfer(c, &f, x);
				set_range(c, &f, NULL, a, p->logical + (a - p->pa), b - a);
				f.bytes = b - a;
				site(&f, "mapped at", x->map_pc, x->map_time);
				what(&f,
				     "CPU %s %llu bytes of %s transfer #%llu while the device owns "
				     "them {0}",
				     write ? "wrote" : "read", (unsigned long long)(b - a),
				     dc_dir_name(x->dir), (unsigned long long)x->id);
				int idx = dc_finding_add_access(c, &f);
				if (idx >= 0) {
					x->c03 = idx;
					x->c03_lo = a;
					x->c03_hi = b;
				}
			} else if (pc && write && x->dir == DC_DIR_FROM_DEVICE && p->len &&
			           (pa >> c->ls) >= (p->pa >> c->ls) &&
			           (pa >> c->ls) <= ((p->pa + p->len - 1) >> c->ls)) {
				/* Outside the buffer, inside one of its lines. */
				struct dc_finding f = fnd(DC_RULE_C05, pc, t);
				fill_xfer(c, &f, x);
				set_range(c, &f, NULL, pa, DC_PA_INVALID, len);
				f.bytes = len;
				site(&f, "mapped at", x->map_pc, x->map_time);
				what(&f,
				     "CPU wrote %u bytes in a cache line shared with from-device "
				     "transfer #%llu {0}",
				     len, (unsigned long long)x->id);
				f.manifested = candidate(c, pa, len, -1,
				                         DC_MF_OVERWRITTEN | DC_MF_CPU_READ_STALE);
				int idx = dc_finding_add_access(c, &f);
				if (idx >= 0)
					candidate(c, pa, len, idx, 0);
			}
		}
	}
	struct dc_pext *x = ps->ext;
	if (!x)
		return;
	bool stale_read = !write && dc_bit_test(x->stale, l) && cached_differs(c, ps, pa, len);
	if (write) {
		dc_bits_clear(x->d, off, len);
		dc_shadow_rewatch(ps);
	} else if (!in_xfer && pc && dc_bits_first(x->d, off, len) >= 0) {
		struct dc_finding f = fnd(DC_RULE_C04, pc, t);
		uint32_t piece = 0;
		struct dc_common *b = common_by_pa(c, pa, &piece);
		struct dc_adapter *a = b ? adapter_find(c, b->adapter) : NULL;
		if (b && b->v3) {
			f.rule = DC_RULE_V07;
			f.severity = dc_rule_info(f.rule)->severity;
		}
		f.device = a ? a->dev_no : 0;
		f.dir = DC_DIR_FROM_DEVICE;
		set_range(c, &f, NULL, pa,
		          b ? b->pieces[piece].logical + (pa - b->pieces[piece].pa) : DC_PA_INVALID,
		          len);
		f.bytes = dc_bits_count(x->d, off, len);
		what(&f,
		     "CPU read %llu bytes the device wrote since the CPU last synchronised them",
		     (unsigned long long)f.bytes);
		f.manifested = stale_read;
		int idx = dc_finding_add_access(c, &f);
		if (idx >= 0)
			x->cand[l] = (uint32_t)idx + 1;
	}
	if (stale_read && pc)
		manifest_line(c, ps, l, DC_MF_CPU_READ_STALE);
}

static void on_cpu_access(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                          bool cached, const void *pc)
{
	struct dc_check *c = opaque;
	(void)va;
	c->n_recent = 0;
	if (!cached || !len)
		return;
	struct dc_pshadow *ps;
	if (DC_LIKELY(pa >> DC_PAGE_SHIFT == c->last_pfn)) {
		ps = c->last_ps;
	} else {
		ps = dc_shadow_get(c, pa);
		if (DC_UNLIKELY(!ps))
			return;
		c->last_pfn = pa >> DC_PAGE_SHIFT;
		c->last_ps = ps;
	}
	uint32_t off = (uint32_t)(pa & DC_PAGE_MASK), l = off >> c->ls;
	ps->t[l >> 6] |= UINT64_C(1) << (l & 63);
	if (write) {
		if (DC_LIKELY((off & 63) + len <= 64)) {
			uint64_t mask = (len >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << len) - 1)
			                << (off & 63);
			ps->w[off >> 6] |= mask;
			if (pc)
				ps->pw[off >> 6] |= mask;
		} else {
			dc_bits_set(ps->w, off, len);
			if (pc)
				dc_bits_set(ps->pw, off, len);
		}
		if (pc)
			ps->wpc[l] = pc;
	}
	if (pc)
		ps->tpc[l] = pc;
	if (DC_UNLIKELY(ps->watch))
		cpu_slow(c, ps, pa, len, write, pc);
}

/* --- Cache events (real state) ------------------------------------------------------------ */

static void on_cache_fill(void *opaque, uint64_t line_pa, bool speculative)
{
	struct dc_check *c = opaque;
	(void)line_pa, (void)speculative;
	/* Write-backs before a fill happened before the device's data landed (dc_dma_write
	 * speculates, then writes memory, then evicts). */
	c->n_recent = 0;
}

static void on_cache_writeback(void *opaque, uint64_t line_pa)
{
	struct dc_check *c = opaque;
	if (c->n_recent < DC_RECENT)
		c->recent[c->n_recent++] = line_pa;
	struct dc_pshadow *ps = dc_shadow_find(c, line_pa);
	if (ps && ps->ext && dc_bit_test(ps->ext->stale, line_of(c, line_pa)) && noncoherent(c))
		manifest_line(c, ps, line_of(c, line_pa), DC_MF_OVERWRITTEN);
}

static void on_cache_gone(void *opaque, uint64_t line_pa)
{
	struct dc_check *c = opaque;
	struct dc_pshadow *ps = dc_shadow_find(c, line_pa);
	if (ps && ps->ext) {
		uint32_t l = line_of(c, line_pa);
		if (dc_bit_test(ps->ext->stale, l)) {
			dc_bit_clear(ps->ext->stale, l);
			dc_shadow_rewatch(ps);
		}
	}
}

static void on_cache_maint(void *opaque, const void *va, uint64_t len, int op)
{
	struct dc_check *c = opaque;
	(void)va, (void)len, (void)op;
	c->n_recent = 0;
}

/* --- Device side ---------------------------------------------------------------------------- */

static void on_dma(void *opaque, int source, uint64_t pa, uint64_t len, bool write)
{
	struct dc_check *c = opaque;
	if (!len)
		return;
	if (source < 0 || source >= (int)DC_ARRAY_SIZE(c->src_da) || !c->src_da[source])
		judge_by_bus_address(c, pa, len, write);
	const struct dc_mem *mem = &c->m->mem;
	uint64_t ls = line_size(c);
	if (write) {
		for (size_t i = 0; i < c->n_xf; i++) {
			struct dc_xfer *x = c->xf[i];
			for (uint32_t k = 0; x->dir == DC_DIR_FROM_DEVICE && k < x->n_pieces; k++) {
				const struct dc_kev_piece *p = &x->pieces[k];
				uint64_t a = DC_MAX(pa, p->logical),
				         b = DC_MIN(pa + len, p->logical + p->len);
				if (a < b)
					x->landed += b - a;
			}
		}
		/* Dirty lines written back after the data landed overwrote it. */
		for (unsigned i = 0; noncoherent(c) && i < c->n_recent; i++) {
			uint64_t line = c->recent[i];
			if (line + ls > pa && line < pa + len) {
				struct dc_pshadow *ps = dc_shadow_get(c, line);
				if (ps)
					manifest_line(c, ps, line_of(c, line), DC_MF_OVERWRITTEN);
			}
		}
	}
	c->n_recent = 0;
	for (uint64_t q = pa & ~(ls - 1); q < pa + len; q += ls) {
		if (!mem->present[q >> DC_PAGE_SHIFT]) {
			q = (q | DC_PAGE_MASK) + 1 - ls;
			continue;
		}
		bool dirty;
		if (dc_cache_probe(&c->m->cache, q, &dirty) < 0)
			continue;
		struct dc_pshadow *ps = dc_shadow_get(c, q);
		if (!ps)
			continue;
		uint32_t l = line_of(c, q);
		if (write) {
			struct dc_pext *x = dc_shadow_ext(c, ps);
			if (x) {
				dc_bit_set(x->stale, l);
				ps->watch = true;
			}
		} else if (dirty) {
			uint64_t a = DC_MAX(q, pa), b = DC_MIN(q + ls, pa + len);
			const uint8_t *cv = dc_mem_pa_to_cached(mem, a);
			if (cv && memcmp(cv, dc_mem_pa_ptr(mem, a), b - a))
				manifest_line(c, ps, l, DC_MF_DEV_READ_STALE);
		}
	}
}

/* --- Kernel events ---------------------------------------------------------------------------- */

static const char *routine(const struct dc_kev *e, const char *dflt)
{
	return e->routine ? e->routine : dflt;
}

/* A06 for a NULL or released adapter; returns the adapter record (NULL if none). */
static struct dc_adapter *use_adapter(struct dc_check *c, const struct dc_kev *e, const char *dflt)
{
	if (!e->adapter) {
		struct dc_finding f = fnd(DC_RULE_A06, e->pc, e->time);
		f.device = dev_no(c, e->device);
		what(&f, "%s called with a NULL adapter", routine(e, dflt));
		dc_finding_add(c, &f);
		return NULL;
	}
	struct dc_adapter *a = adapter_find(c, e->adapter);
	if (a && a->put) {
		struct dc_finding f = fnd(DC_RULE_A06, e->pc, e->time);
		f.device = a->dev_no;
		site(&f, "released at", a->put_pc, NO_TIME);
		what(&f, "%s called with an adapter released by PutDmaAdapter {0}",
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
	struct dc_finding f = fnd(x->v3 ? DC_RULE_V01 : DC_RULE_C07, e->pc, e->time);
	fill_xfer(c, &f, x);
	uint64_t total = 0;
	for (size_t i = 0; i < c->n_xf; i++)
		if (c->xf[i]->group == x->group && c->xf[i]->adapter == x->adapter)
			total += c->xf[i]->len_out;
	f.bytes = total ? total : x->len_out;
	site(&f, "mapped at", x->map_pc, x->map_time);
	site(&f, c07_label[how], e->pc, e->time);
	what(&f, "%s of %llu bytes {0} %s without %s {1}",
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
			xfer_close(c, x);
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
	struct dc_finding f = fnd(DC_RULE_C05, x->map_pc, x->map_time);
	f.severity = DC_SEV_WARNING;
	fill_xfer(c, &f, x);
	f.bytes = (head ? (first->pa & (ls - 1)) : 0) +
	          (tail ? ls - ((last->pa + last->len) & (ls - 1)) : 0);
	site(&f, "mapped at", x->map_pc, x->map_time);
	what(&f, "from-device transfer #%llu of %llu bytes %s inside a %llu-byte cache line {0}",
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

/* What a MapTransfer's status says about the call (it may still have mapped a part).  A refused
 * map (A12) marks the adapter: the findings that only follow from it are not reported (see
 * A12's details in rules.c). */
static void map_status(struct dc_check *c, const struct dc_kev *e, struct dc_adapter *a)
{
	struct dc_finding f = fnd(DC_RULE_A07, e->pc, e->time);
	f.device = a ? a->dev_no : 0;
	f.dir = (int)e->dir;
	f.len = e->len;
	const char *why = refusal(e);
	if (why) {
		f.rule = DC_RULE_A12;
		what(&f, "%s of %llu bytes mapped nothing: %s", routine(e, "MapTransfer"),
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
		struct dc_mrb *r = mrb_find(c, e->adapter, e->mrb);
		what(&f, "%s of %llu bytes spans more pages than the %u map registers allocated",
		     routine(e, "MapTransfer"), (unsigned long long)e->len, r ? r->count : 0);
		break;
	}
	case DC_KMAP_OUTSIDE_MDL:
		what(&f, "%s: CurrentVa/Length (%llu bytes) not inside the MDL",
		     routine(e, "MapTransfer"), (unsigned long long)e->len);
		break;
	case DC_KMAP_ZERO_LENGTH:
		what(&f, "%s of zero bytes", routine(e, "MapTransfer"));
		break;
	case DC_KMAP_GARBAGE_MDL:
		what(&f,
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
	struct dc_adapter *a = adapter_find(c, e->adapter);
	struct dc_xfer *prev = NULL;
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		if (x->adapter == e->adapter && x->mrb == e->mrb && !x->sg)
			prev = x; /* the newest */
	}
	uint64_t group = 0;
	if (prev) {
		bool chain = mapped && a && a->master && a->sg && prev->mdl == e->mdl &&
		             prev->dir == e->dir &&
		             (uintptr_t)e->va == (uintptr_t)prev->va + prev->len_out;
		if (chain)
			group = prev->group;
		else
			close_open(c, e, e->adapter, e->mrb, false, 3);
	}
	map_status(c, e, a);
	if (!mapped)
		return;
	struct dc_xfer *x = xfer_open(c, e, false);
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
			sync_range(c, x->pieces[k].pa, x->pieces[k].len, false);
	xfer_close(c, x);
}

static void ev_flush(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "FlushAdapterBuffers");
	struct dc_mrb *r = mrb_find(c, e->adapter, e->mrb);
	bool v3 = dc_v3_routine(e->routine);
	if (e->status == 0 && e->mdl && GROW(c->ff, c->n_ff, c->cap_ff))
		c->ff[c->n_ff++] = (struct dc_failed_flush){e->mdl, e->pc, e->time, v3};
	struct dc_xfer *x = e->xfer ? xfer_find(c, e->xfer) : NULL;
	if (!x) {
		if (e->xfer)
			return; /* already ended here (a C07 closed it) */
		struct dc_adapter *a = adapter_find(c, e->adapter);
		if (a && a->map_refused)
			return; /* the flush of a piece MapTransfer refused: A12 said so */
		struct dc_finding f = fnd(DC_RULE_A02, e->pc, e->time);
		f.device = a ? a->dev_no : 0;
		f.dir = (int)e->dir;
		f.len = e->len;
		if (r && r->freed) {
			site(&f, "freed at", r->free_pc, r->free_time);
			what(&f, "FlushAdapterBuffers after its map registers were freed {0}");
		} else if (r && r->last_flushed) {
			f.xfer = r->last_flushed;
			site(&f, "flushed at", r->flush_pc, r->flush_time);
			what(&f,
			     "FlushAdapterBuffers with nothing mapped: transfer #%llu was flushed "
			     "already {0}",
			     (unsigned long long)r->last_flushed);
		} else {
			what(&f,
			     "FlushAdapterBuffers of a map register base nothing was mapped on");
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
		struct dc_finding f = fnd(DC_RULE_V08, e->pc, e->time);
		fill_xfer(c, &f, ref);
		site(&f, "mapped at", ref->map_pc, ref->map_time);
		what(&f, "%s of a transfer mapped by %s {0}", routine(e, "FlushAdapterBuffers"),
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
		struct dc_finding f = fnd(x->v3 ? DC_RULE_V02 : DC_RULE_A01, e->pc, e->time);
		fill_xfer(c, &f, ref);
		site(&f, "mapped at", ref->map_pc, ref->map_time);
		if (x->v3)
			what(&f, "FlushAdapterBuffersEx(%s) differs from its MapTransferEx(%s) {0}",
			     got, want);
		else
			what(&f, "FlushAdapterBuffers(%s) differs from its MapTransfer(%s) {0}",
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
	struct dc_xfer *x = xfer_open(c, e, true);
	if (x)
		alignment_warning(c, x);
}

static void ev_sg_put(struct dc_check *c, const struct dc_kev *e)
{
	use_adapter(c, e, "PutScatterGatherList");
	struct dc_xfer *x = e->xfer ? xfer_find(c, e->xfer) : NULL;
	if (!x) {
		if (e->xfer)
			return;
		struct dc_finding f = fnd(DC_RULE_A04, e->pc, e->time);
		struct dc_adapter *a = adapter_find(c, e->adapter);
		f.device = a ? a->dev_no : 0;
		what(&f, "PutScatterGatherList of a list that is not outstanding (put twice, or "
		         "never handed out)");
		dc_finding_add(c, &f);
		return;
	}
	if (e->dir != x->dir) {
		struct dc_finding f = fnd(DC_RULE_A01, e->pc, e->time);
		fill_xfer(c, &f, x);
		site(&f, "mapped at", x->map_pc, x->map_time);
		what(&f,
		     "PutScatterGatherList(WriteToDevice=%s) differs from its "
		     "GetScatterGatherList(WriteToDevice=%s) {0}",
		     e->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE",
		     x->dir == DC_DIR_TO_DEVICE ? "TRUE" : "FALSE");
		dc_finding_add(c, &f);
	}
	if (e->status == 0 && x->mdl && GROW(c->ff, c->n_ff, c->cap_ff))
		c->ff[c->n_ff++] = (struct dc_failed_flush){x->mdl, e->pc, e->time, x->v3};
	xfer_end(c, x);
}

static void ev_ke_flush(struct dc_check *c, const struct dc_kev *e)
{
	if (!e->mdl || e->status == DC_KFLUSH_BAD_MDL) {
		struct dc_finding f = fnd(DC_RULE_A07, e->pc, e->time);
		if (e->mdl)
			what(
			    &f,
			    "KeFlushIoBuffers on bytes that are not an MDL (never allocated by "
			    "IoAllocateMdl nor built by MmBuildMdlForNonPagedPool, "
			    "MmProbeAndLockPages or IoBuildPartialMdl, or freed): nothing flushed");
		else
			what(&f, "KeFlushIoBuffers with a NULL MDL");
		dc_finding_add(c, &f);
		return;
	}
	for (uint32_t i = 0; e->pieces && i < e->n_pieces; i++)
		sync_range(c, e->pieces[i].pa, e->pieces[i].len, (e->flags & DC_KEVF_READ) != 0);
}

static void ev_irp_send(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_irp *r = irp_find(c, e->irp);
	if (!r) {
		if (!GROW(c->irps, c->n_irps, c->cap_irps))
			return;
		r = &c->irps[c->n_irps++];
	} else {
		free(r->pieces);
		free(r->spans);
	}
	*r = (struct dc_irp){e->irp, e->mdl, e->value, e->len, copy_pieces(e), 0, NULL, 0, 0};
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
	struct dc_finding f = fnd(DC_RULE_A13, culprit->pc, e->time);
	f.device = dev;
	f.dir = r->major == IRP_MJ_READ_ ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	f.bytes = skipped ? skipped : twice;
	if (r->n_pieces) {
		f.va = dc_check_show_va(c, r->pieces[0].va);
		f.pa = r->pieces[0].pa;
	}
	site(&f, "mapped at", culprit->pc, culprit->time);
	site(&f, "completed at", e->pc, e->time);
	if (skipped && twice)
		what(&f,
		     "IRP completed with Information %llu: %llu bytes of its buffer transferred "
		     "never and %llu twice {0} {1}",
		     (unsigned long long)info, (unsigned long long)skipped,
		     (unsigned long long)twice);
	else
		what(&f,
		     "IRP completed with Information %llu: %llu bytes of its buffer transferred %s "
		     "{0} {1}",
		     (unsigned long long)info, (unsigned long long)f.bytes,
		     skipped ? "never" : "twice");
	f.manifested = true;
	dc_finding_add(c, &f);
}

static void ev_irp_complete(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_irp *r = irp_find(c, e->irp);
	const void *mdl = e->mdl ? e->mdl : r ? r->mdl : NULL;
	int64_t major = r ? r->major : e->value;
	unsigned dev = dev_no(c, e->device);
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
			struct dc_finding f = fnd(DC_RULE_C06, e->pc, e->time);
			f.device = dev;
			f.dir = DC_DIR_FROM_DEVICE;
			set_range(c, &f, NULL, first, DC_PA_INVALID, r->len);
			if (r->n_pieces) {
				f.va = dc_check_show_va(c, r->pieces[0].va);
				f.pa = r->pieces[0].pa;
			}
			f.bytes = bytes;
			site(&f, "last written by the CPU at", wpc, NO_TIME);
			site(&f, "completed at", e->pc, e->time);
			what(&f,
			     "read IRP completed after the CPU wrote %llu bytes of its buffer "
			     "without KeFlushIoBuffers(Mdl, TRUE, FALSE) {0} {1}",
			     (unsigned long long)bytes);
			f.manifested = dirty_left && noncoherent(c);
			dc_finding_add(c, &f);
		}
	}
	for (size_t i = 0; i < c->n_ff; i++) {
		if (!mdl || c->ff[i].mdl != mdl)
			continue;
		if (nt_success(e->status)) {
			bool v3 = c->ff[i].v3;
			struct dc_finding f = fnd(v3 ? DC_RULE_V05 : DC_RULE_C08, e->pc, e->time);
			f.device = dev;
			site(&f, "flushed at", c->ff[i].pc, c->ff[i].time);
			site(&f, "completed at", e->pc, e->time);
			what(&f, "%s {0} and the IRP completed with status 0x%08x {1}",
			     v3 ? "FlushAdapterBuffersEx failed"
			        : "FlushAdapterBuffers returned FALSE",
			     (unsigned)(uint32_t)e->status);
			f.manifested = true;
			dc_finding_add(c, &f);
		}
		c->ff[i] = c->ff[--c->n_ff];
		break;
	}
	bool fail_info = nt_error(e->status) && e->len_out;
	bool too_much = e->len_out > e->len && (major != IRP_MJ_READ_ || r || e->len);
	if (fail_info || too_much) {
		struct dc_finding f = fnd(DC_RULE_A10, e->pc, e->time);
		f.device = dev;
		f.bytes = e->len_out;
		if (fail_info)
			what(&f,
			     "IRP completed with status 0x%08x and Information %llu: non-zero "
			     "with a failure status",
			     (unsigned)(uint32_t)e->status, (unsigned long long)e->len_out);
		else
			what(&f,
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
	struct dc_adapter *a = adapter_find(c, e->adapter);
	if (!a) {
		if (!GROW(c->ad, c->n_ad, c->cap_ad))
			return;
		a = &c->ad[c->n_ad++];
	}
	*a = (struct dc_adapter){.ptr = e->adapter,
	                         .device = e->device,
	                         .dev_no = dev_no(c, e->device),
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
				    fnd(v06 ? DC_RULE_V06 : DC_RULE_A05, e->pc, e->time);
				f.device = a->dev_no;
				if (only)
					what(&f, "PutDmaAdapter with %s", held);
				else
					what(&f,
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
	                        .pieces = copy_pieces(e),
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
	struct dc_adapter *a = adapter_find(c, e->adapter);
	struct dc_finding f = fnd(DC_RULE_A11, e->pc, e->time);
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
		site(&f, "allocated at", live->pc, NO_TIME);
		what(&f, "FreeCommonBuffer(%s) differs from AllocateCommonBuffer(%s) {0}", got,
		     want);
		/* The kernel frees the allocation all the same (docs/kernel.md): one finding,
		 * not a leak reported again at PutDmaAdapter or removal. */
		live->freed = true, live->free_pc = e->pc;
	} else if (dead) {
		f.rule = DC_RULE_A04;
		site(&f, "freed at", dead->free_pc, NO_TIME);
		what(&f, "FreeCommonBuffer of a common buffer freed already {0}");
	} else {
		what(&f, "FreeCommonBuffer of memory AllocateCommonBuffer did not return");
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
		struct dc_finding f = fnd(DC_RULE_A03, e->pc, e->time);
		f.device = a->dev_no;
		what(&f, "%s asked for %u map registers; the adapter has %u",
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
		struct dc_finding f = fnd(DC_RULE_A06, e->pc, e->time);
		f.device = a->dev_no;
		what(&f, "%s %s", routine(e, "AllocateAdapterChannel"), why);
		dc_finding_add(c, &f);
	}
}

static void ev_adapter_control(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_adapter *a = adapter_find(c, e->adapter);
	if (!a)
		return;
	a->controls++;
	struct dc_mrb *r = mrb_find(c, e->adapter, e->mrb);
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
		struct dc_finding f = fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a->dev_no;
		what(&f, "AdapterControl returned %s", bad);
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
		struct dc_finding f = fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a->dev_no;
		what(&f,
		     "FreeAdapterChannel with no channel held (freed already, or AdapterControl "
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
	if (a)
		a->map_refused = false;
	close_open(c, e, e->adapter, e->mrb, false, 2);
	struct dc_mrb *r = mrb_find(c, e->adapter, e->mrb);
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
		struct dc_finding f = fnd(DC_RULE_A04, e->pc, e->time);
		f.device = a ? a->dev_no : 0;
		what(&f, "FreeMapRegisters %s", bad);
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
	struct dc_finding f = fnd(DC_RULE_A08, e->pc, e->time);
	f.device = dev_no(c, e->device);
	if (e->irql_min == e->irql_max)
		what(&f, "%s called at IRQL %s (requires %s)", routine(e, "?"),
		     irql_name(e->irql, b1, sizeof(b1)), irql_name(e->irql_min, b2, sizeof(b2)));
	else
		what(&f, "%s called at IRQL %s (allowed: %s..%s)", routine(e, "?"),
		     irql_name(e->irql, b1, sizeof(b1)), irql_name(e->irql_min, b2, sizeof(b2)),
		     irql_name(e->irql_max, b3, sizeof(b3)));
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
		for (uint32_t k = 0; k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			uint64_t a = DC_MAX(lo, p->logical), b = DC_MIN(hi, p->logical + p->len);
			if (a < b) {
				near = x;
				judge_xfer(c, x, k, p->pa + (a - p->logical), b - a, dev_write,
				           e->time);
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
				judge_common(c, b, k, p->pa + (a - p->logical), z - a, dev_write,
				             e->time);
		}
	}
	if (e->status != 0)
		return;
	struct dc_finding f = fnd(DC_RULE_A09, near ? near->map_pc : NULL, e->time);
	f.device = dev_no(c, e->device);
	f.dir = (int)e->dir;
	f.logical = e->logical;
	f.len = e->len;
	f.bytes = e->len;
	f.manifested = dev_write;
	if (near) {
		f.xfer = near->id;
		site(&f, "mapped at", near->map_pc, near->map_time);
		what(&f,
		     "device %s %llu bytes at logical 0x%llx, past the %llu bytes mapped for "
		     "transfer #%llu {0}",
		     dev_write ? "wrote" : "read", (unsigned long long)e->len,
		     (unsigned long long)e->logical, (unsigned long long)near->len_out,
		     (unsigned long long)near->id);
	} else {
		what(&f, "device %s %llu bytes at logical 0x%llx, where nothing is mapped for it",
		     dev_write ? "wrote" : "read", (unsigned long long)e->len,
		     (unsigned long long)e->logical);
	}
	dc_finding_add(c, &f);
}

static void on_kev(void *opaque, const struct dc_kev *e)
{
	struct dc_check *c = opaque;
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
		struct dc_finding f = fnd(DC_RULE_A07, e->pc, e->time);
		f.va = dc_check_show_va(c, e->va);
		what(&f, "the driver dereferenced %s", routine(e, "an address it must not use"));
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
	default:
		break;
	}
}

static const struct dc_observer check_observer = {
    .cpu_access = on_cpu_access,
    .cache_fill = on_cache_fill,
    .cache_writeback = on_cache_writeback,
    .cache_gone = on_cache_gone,
    .cache_maint = on_cache_maint,
    .dma = on_dma,
    .kev = on_kev,
    .mem_fault = dc_memsafe_fault,
};

/* --- Life cycle ------------------------------------------------------------------------------ */

int dc_check_create_err(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out,
                        char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!m || !out)
		return DC_ERR_INVAL;
	struct dc_check *c = calloc(1, sizeof(*c));
	if (!c)
		return DC_ERR_NOMEM;
	c->m = m;
	if (o)
		c->opts = *o;
	else
		dc_check_opts_init(&c->opts);
	c->ls = m->cache.line_shift;
	c->nl = c->ls >= DC_PAGE_SHIFT ? 1 : DC_PAGE_SIZE >> c->ls;
	c->phys_pages = m->mem.phys_size >> DC_PAGE_SHIFT;
	c->last_pfn = UINT64_MAX;
	c->n_top = (c->phys_pages + 1023) / 1024;
	c->top = calloc(c->n_top ? c->n_top : 1, sizeof(*c->top));
	if (!c->top) {
		free(c);
		return DC_ERR_NOMEM;
	}
	if (c->opts.suppressions[0]) {
		int r = dc_supp_load(c, c->opts.suppressions, err, errlen);
		if (r < 0) {
			dc_check_destroy(c);
			return r;
		}
	}
	int r = dc_machine_add_observer(m, &check_observer, c);
	if (r < 0) {
		c->m = NULL;
		dc_check_destroy(c);
		if (err && errlen)
			snprintf(err, errlen, "dmacoh: the machine has no free observer slot");
		return DC_ERR_BUSY;
	}
	*out = c;
	return DC_OK;
}

int dc_check_create(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out)
{
	return dc_check_create_err(m, o, out, NULL, 0);
}

void dc_check_destroy(struct dc_check *c)
{
	if (!c)
		return;
	if (c->m)
		dc_machine_remove_observer(c->m, &check_observer, c);
	for (size_t i = 0; i < c->n_xf; i++)
		xfer_free(c->xf[i]);
	free(c->xf);
	for (size_t i = 0; i < c->n_cb; i++)
		free(c->cb[i].pieces);
	free(c->cb);
	for (size_t i = 0; i < c->n_irps; i++) {
		free(c->irps[i].pieces);
		free(c->irps[i].spans);
	}
	free(c->irps);
	free(c->ad);
	free(c->mrbs);
	free(c->ff);
	free(c->devs);
	dc_v3_free(c);
	dc_shadow_free(c);
	dc_findings_free(c);
	dc_supp_free(c);
	dc_sym_free(c);
	dc_memsafe_free(c);
	free(c);
}
