/* The sanitizer's transfers and judging (check.c has the contract this enforces): open
 * transfers and their map-time snapshot, synchronisation (KeFlushIoBuffers, the end of a
 * from-device transfer), manifestation, device accesses judged against transfers and common
 * buffers, and the observer's CPU, cache and DMA callbacks (the hot path: on_cpu_access).  It
 * does not interpret kernel events beyond what kev.c hands it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"

/* --- Open transfers ----------------------------------------------------------------------- */

struct dc_xfer *dc_chk_xfer_find(struct dc_check *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_xf; i++)
		if (c->xf[i]->id == id)
			return c->xf[i];
	return NULL;
}

void dc_chk_xfer_free(struct dc_xfer *x)
{
	free(x->pieces);
	free(x->lbase);
	free(x->lorder);
	free(x->pre);
	free(x);
}

void dc_chk_xfer_close(struct dc_check *c, struct dc_xfer *x)
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
	if (GROW(c->xf_pool, c->n_pool, c->cap_pool))
		c->xf_pool[c->n_pool++] = x;
	else
		dc_chk_xfer_free(x);
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

/* A transfer record with room for n pieces and w words of `pre` (zeroed), from the pool when
 * one is there: a transfer allocates nothing once the pool holds as many as are open at once. */
static struct dc_xfer *xfer_get(struct dc_check *c, uint32_t n, uint32_t w)
{
	struct dc_xfer *x;
	if (c->n_pool) {
		x = c->xf_pool[--c->n_pool];
		struct dc_kev_piece *pieces = x->pieces;
		uint32_t *lbase = x->lbase;
		struct dc_lpiece *lorder = x->lorder;
		uint64_t *pre = x->pre;
		uint32_t cp = x->cap_pieces, cw = x->cap_pre;
		memset(x, 0, sizeof(*x));
		x->pieces = pieces, x->lbase = lbase, x->lorder = lorder, x->pre = pre;
		x->cap_pieces = cp, x->cap_pre = cw;
	} else {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
	}
	if (n > x->cap_pieces) {
		struct dc_kev_piece *p = realloc(x->pieces, n * sizeof(*p));
		if (p)
			x->pieces = p;
		uint32_t *b = realloc(x->lbase, (n + 1) * sizeof(*b));
		if (b)
			x->lbase = b;
		struct dc_lpiece *o = realloc(x->lorder, 2 * (size_t)n * sizeof(*o));
		if (o)
			x->lorder = o;
		if (!p || !b || !o) {
			dc_chk_xfer_free(x);
			return NULL;
		}
		x->cap_pieces = n;
	}
	if (!x->lbase) {
		x->lbase = calloc(1, sizeof(*x->lbase));
		if (!x->lbase) {
			dc_chk_xfer_free(x);
			return NULL;
		}
	}
	if (w > x->cap_pre) {
		uint64_t *p = realloc(x->pre, w * sizeof(*p));
		if (!p) {
			dc_chk_xfer_free(x);
			return NULL;
		}
		x->pre = p;
		x->cap_pre = w;
	}
	memset(x->pre, 0, w * sizeof(*x->pre));
	return x;
}

/* ORs the n bits of src (from bit 0) into dst from bit off. */
static void bits_or_at(uint64_t *dst, uint32_t off, const uint64_t *src, uint32_t n)
{
	uint32_t s = off & 63;
	uint64_t *d = dst + (off >> 6);
	for (uint32_t k = 0; k * 64 < n; k++) {
		uint64_t v = src[k];
		if (n - k * 64 < 64)
			v &= (UINT64_C(1) << (n - k * 64)) - 1;
		if (!v)
			continue;
		d[k] |= v << s;
		if (s)
			d[k + 1] |= v >> (64 - s);
	}
}

/* Lines [l0, l0 + n) of a page (n <= lines per page): out bit j is set when line l0 + j's bit
 * is set in `and` (a line bitmap) and bm (a byte bitmap) has a bit in that line.  Driven by
 * `and`: a line whose bit is clear there costs nothing, so a page synchronised since the CPU
 * last touched it (the usual case at map time) is a few word tests. */
static void lines_any(const struct dc_check *c, const uint64_t *bm, const uint64_t *and,
                      uint32_t l0, uint32_t n, uint64_t *out)
{
	uint32_t ls = c->ls;
	for (uint32_t k = 0; k * 64 < n; k++) {
		uint32_t s = (l0 + k * 64) & 63, w = (l0 + k * 64) >> 6;
		uint64_t v = and[w] >> s;
		if (s && w + 1 < DC_SH_LWORDS)
			v |= and[w + 1] << (64 - s);
		if (n - k * 64 < 64)
			v &= (UINT64_C(1) << (n - k * 64)) - 1;
		/* In a register: out may alias bm for the compiler. */
		uint64_t acc = 0;
		for (; v; v &= v - 1) {
			uint32_t j = (uint32_t)__builtin_ctzll(v), l = l0 + k * 64 + j;
			uint64_t any;
			if (ls >= 6) {
				const uint64_t *wd = bm + ((size_t)l << (ls - 6));
				any = 0;
				for (uint32_t i = 0; i < 1u << (ls - 6); i++)
					any |= wd[i];
			} else {
				uint32_t b = l << ls;
				any = bm[b >> 6] >> (b & 63) & ((UINT64_C(1) << (1u << ls)) - 1);
			}
			acc |= (uint64_t)(any != 0) << j;
		}
		out[k] = acc;
	}
}

/* Merges the sorted runs a[0, m) and a[m, n) into out, the left one first among equal keys. */
static void merge_runs(const struct dc_lpiece *a, uint32_t m, uint32_t n, struct dc_lpiece *out)
{
	uint32_t i = 0, j = m, k = 0;
	while (i < m && j < n)
		out[k++] = a[j].lo < a[i].lo ? a[j++] : a[i++];
	while (i < m)
		out[k++] = a[i++];
	while (j < n)
		out[k++] = a[j++];
}

/* x->lorder: x's pieces by increasing logical address, with their ends (an SG list of a
 * buffer whose pages are scattered in memory comes in any order), and x->lsorted when no two
 * of them overlap, none is empty and none wraps: then the pieces a device access falls in are
 * found by bisection (dc_chk_xfer_at).  A stable merge sort of the keys in place (lorder has
 * room for twice the pieces): O(n log n), deterministic, nothing to do for a list already in
 * order. */
static void order_pieces(struct dc_xfer *x)
{
	const struct dc_kev_piece *p = x->pieces;
	uint32_t n = x->n_pieces;
	struct dc_lpiece *a = x->lorder;
	bool ascending = true, sane = true;
	for (uint32_t i = 0; i < n; i++) {
		sane &= p[i].len && p[i].len <= UINT64_MAX - p[i].logical;
		a[i] = (struct dc_lpiece){p[i].logical, p[i].logical + p[i].len, i};
		ascending &= !i || p[i].logical >= p[i - 1].logical;
	}
	if (!ascending) {
		enum { RUN = 8 };
		for (uint32_t s = 0; s < n; s += RUN) { /* insertion sort of short runs */
			uint32_t e = DC_MIN(n, s + RUN);
			for (uint32_t i = s + 1; i < e; i++) {
				struct dc_lpiece v = a[i];
				uint32_t j = i;
				for (; j > s && v.lo < a[j - 1].lo; j--)
					a[j] = a[j - 1];
				a[j] = v;
			}
		}
		struct dc_lpiece *src = a, *dst = a + n;
		for (uint32_t w = RUN; w < n; w *= 2) {
			for (uint32_t s = 0; s < n; s += 2 * w) {
				uint32_t m = DC_MIN(n - s, w), e = DC_MIN(n - s, 2 * w);
				merge_runs(src + s, m, e, dst + s);
			}
			struct dc_lpiece *t = src;
			src = dst, dst = t;
		}
		if (src != a)
			memcpy(a, src, n * sizeof(*a));
	}
	x->lsorted = sane;
	for (uint32_t i = 1; i < n && sane; i++)
		x->lsorted &= a[i].lo >= a[i - 1].hi;
}

uint32_t dc_chk_xfer_at(const struct dc_xfer *x, uint64_t lo, uint64_t hi, uint32_t *first)
{
	const struct dc_lpiece *o = x->lorder;
	uint32_t k = 0, n = x->n_pieces;
	if (!x->lsorted) {
		*first = 0;
		return n;
	}
	while (k < n) { /* the first piece ending after lo: ends increase */
		uint32_t mid = k + (n - k) / 2;
		if (o[mid].hi > lo)
			n = mid;
		else
			k = mid + 1;
	}
	*first = k;
	for (n = x->n_pieces; k < n && o[k].lo < hi;)
		k++;
	return k;
}

struct dc_xfer *dc_chk_xfer_open(struct dc_check *c, const struct dc_kev *e, bool sg)
{
	uint32_t np = e->n_pieces && e->pieces ? e->n_pieces : 0, nlines = 0;
	for (uint32_t i = 0; i < np; i++)
		if (e->pieces[i].len)
			nlines += (uint32_t)(((e->pieces[i].pa + e->pieces[i].len - 1) >> c->ls) -
			                     (e->pieces[i].pa >> c->ls) + 1);
	if (!GROW(c->xf, c->n_xf, c->cap_xf))
		return NULL;
	struct dc_xfer *x = xfer_get(c, np, (nlines + 63) / 64 + 1);
	if (!x)
		return NULL;
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
	struct dc_adapter *a = dc_chk_adapter_find(c, e->adapter);
	x->device = a ? a->dev_no : dc_chk_dev_no(c, e->device);
	if (np)
		memcpy(x->pieces, e->pieces, np * sizeof(*x->pieces));
	x->n_pieces = np;
	x->lbase[0] = 0;
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		x->lbase[i] = x->nlines;
		if (p->len)
			x->nlines +=
			    (uint32_t)(((p->pa + p->len - 1) >> c->ls) - (p->pa >> c->ls) + 1);
	}
	order_pieces(x);
	x->common = x->n_pieces && dc_chk_common_by_pa(c, x->pieces[0].pa, NULL);
	/* Own the pages; snapshot the lines the contract already breaks.  To the device: a line
	 * with bytes of the piece the CPU wrote and did not flush.  From it: a line the CPU may
	 * hold *dirty* (touched, and written anywhere in the line since the last flush).  A clean
	 * line the CPU only read cannot be written back over the device's bytes, and
	 * FlushAdapterBuffers invalidates it before the CPU reads the data (a read before that
	 * is C03/C04), as judge_common knows for common buffers.  Whole lines are taken a page at
	 * a time from the line summary of W; only the piece's partial first and last lines (to
	 * the device) look at the bytes. */
	uint64_t sum[DC_SH_LWORDS];
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		EACH_PAGE(p->pa, p->len, q, n)
		{
			struct dc_pshadow *ps = dc_shadow_get(c, q);
			if (!ps)
				continue;
			ps->owned++;
			ps->watch = true;
			uint32_t l0 = line_of(c, q), cnt = line_of(c, q + n - 1) - l0 + 1;
			bool to_dev = x->dir == DC_DIR_TO_DEVICE;
			/* W has bits only in lines T has (every access sets its line's T bit, and
			 * a flush clears both over whole lines), so T drives the walk both ways. */
			lines_any(c, ps->w, ps->t, l0, cnt, sum);
			/* To the device, a line the piece covers in part: its own bytes only. */
			for (uint32_t j = 0; to_dev && j < cnt; j = j ? cnt : DC_MAX(cnt - 1, 1)) {
				uint64_t llo = ((q >> c->ls) + j) << c->ls,
				         lhi = llo + line_size(c);
				uint64_t lo = DC_MAX(q, llo), hi = DC_MIN(q + n, lhi);
				if (lo == llo && hi == lhi)
					continue;
				if (dc_bits_first(ps->w, (uint32_t)(lo & DC_PAGE_MASK),
				                  (uint32_t)(hi - lo)) >= 0)
					dc_bit_set(sum, j);
				else
					dc_bit_clear(sum, j);
			}
			bits_or_at(x->pre, xline(c, x, i, q), sum, cnt);
			for (uint32_t k = 0; k * 64 < cnt && !x->pre_live; k++)
				x->pre_live = sum[k] != 0;
		}
	}
	c->xf[c->n_xf++] = x;
	cover_irp(c, x);
	return x;
}

/* --- Synchronisation (KeFlushIoBuffers, FlushAdapterBuffers of a read) --------------------- */

void dc_chk_sync_range(struct dc_check *c, uint64_t pa, uint64_t len, bool pio_read)
{
	if (!len)
		return;
	uint32_t learnt = 0, seq = dc_race_dev_flush_seq(c);
	uint64_t ls = line_size(c);
	uint64_t lo = pa & ~(ls - 1), hi = (pa + len + ls - 1) & ~(ls - 1);
	EACH_PAGE(lo, hi - lo, q, n)
	{
		struct dc_pshadow *ps = dc_shadow_find(c, q);
		if (!ps)
			continue;
		uint32_t off = (uint32_t)(q & DC_PAGE_MASK);
		uint32_t l0 = line_of(c, q), cnt = line_of(c, q + n - 1) - l0 + 1;
		/* W and R have bits only in lines T has (lines_any): lines the CPU did not
		 * touch since they were last flushed have nothing to clear there. */
		if (dc_bits_first(ps->t, l0, cnt) >= 0) {
			dc_bits_clear(ps->w, off, (uint32_t)n);
			dc_bits_clear(ps->t, l0, cnt);
			dc_bits_clear(ps->r, off, (uint32_t)n);
		}
		if (pio_read)
			dc_bits_clear(ps->pw, off, (uint32_t)n);
		ps->fseq = seq;
		if (ps->ext) {
			for (uint32_t l = l0; l < l0 + cnt; l++) {
				learnt = DC_MAX(learnt, ps->ext->stamp[l]);
				ps->ext->fseq[l] = seq;
			}
			dc_bits_clear(ps->ext->pr, off, (uint32_t)n);
			memset(ps->ext->mf + l0, 0, cnt * sizeof(*ps->ext->mf));
			memset(ps->ext->cand + l0, 0, cnt * sizeof(*ps->ext->cand));
			dc_bits_clear(ps->ext->d, off, (uint32_t)n);
			dc_shadow_rewatch(ps);
		}
	}
	/* The flushing context reads these lines as the device left them: it knows the writes
	 * that put them there, and what the devices wrote before those (C04, race.c). */
	if (learnt)
		dc_race_dev_learn(c, learnt + 1);
	/* What open transfers snapshotted for these lines is settled now (a transfer that
	 * snapshotted nothing has nothing to settle: the usual case, and the walk of its pieces
	 * would make a flush of every piece of a long list quadratic). */
	for (size_t i = 0; i < c->n_xf; i++) {
		struct dc_xfer *x = c->xf[i];
		for (uint32_t k = 0; x->pre_live && k < x->n_pieces; k++) {
			const struct dc_kev_piece *p = &x->pieces[k];
			uint64_t a = DC_MAX(lo, p->pa), b = DC_MIN(hi, p->pa + p->len);
			if (a < b) {
				uint32_t first = xline(c, x, k, a);
				dc_bits_clear(x->pre, first, xline(c, x, k, b - 1) - first + 1);
			}
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
	int b = x->nlines ? dc_bits_first(x->pre, 0, x->nlines) : -1;
	if (b < 0)
		return DC_PA_INVALID;
	for (uint32_t i = 0; i < x->n_pieces; i++) {
		const struct dc_kev_piece *p = &x->pieces[i];
		if (!p->len)
			continue;
		uint32_t nl = (uint32_t)(((p->pa + p->len - 1) >> c->ls) - (p->pa >> c->ls) + 1);
		if ((uint32_t)b >= x->lbase[i] + nl)
			continue;
		uint64_t q = ((p->pa >> c->ls) + ((uint32_t)b - x->lbase[i])) << c->ls;
		return DC_MAX(q, p->pa);
	}
	return DC_PA_INVALID;
}

void dc_chk_fill_xfer(struct dc_check *c, struct dc_finding *f, const struct dc_xfer *x)
{
	f->device = x->device;
	f->xfer = x->id;
	f->dir = (int)x->dir;
	if (x->n_pieces) {
		const struct dc_kev_piece *p = &x->pieces[0];
		dc_chk_set_range(c, f, p->va, p->pa, p->logical, x->len_out);
	}
}

/* C01 (a device read bytes the CPU wrote, not flushed) or C02 (a device wrote over lines the
 * CPU may hold) of transfer x, built alike: its bytes in `pre`, the CPU's last instruction on
 * its first such line (cpu_pc, NULL if unknown), the map site; manifested if a line of it
 * already shows one of `mf`.  Returns the finding's index (< 0: not recorded). */
static int pre_finding(struct dc_check *c, struct dc_xfer *x, enum dc_rule r, uint64_t time,
                       const void *cpu_pc, uint8_t mf)
{
	bool c01 = r == DC_RULE_C01;
	struct dc_finding f = dc_chk_fnd(r, x->map_pc, time);
	dc_chk_fill_xfer(c, &f, x);
	f.bytes = xfer_bytes_in_pre(c, x, c01);
	if (cpu_pc)
		dc_chk_site(&f, c01 ? "last written by the CPU at" : "last touched by the CPU at",
		            cpu_pc, NO_TIME);
	dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
	dc_chk_what(&f, "device %s %llu bytes of transfer #%llu %s {0}%s", c01 ? "read" : "wrote",
	            (unsigned long long)f.bytes, (unsigned long long)x->id,
	            c01 ? "the CPU wrote since the last flush covering them"
	                : "over lines the CPU may hold in its cache",
	            cpu_pc ? " {1}" : "");
	bool m = false;
	for (uint32_t k = 0; k < x->n_pieces; k++)
		m |= candidate(c, x->pieces[k].pa, x->pieces[k].len, -1, mf);
	f.manifested = m;
	return dc_finding_add(c, &f);
}

/* The device read (or wrote) [pa, pa + len) of piece i of open transfer x. */
void dc_chk_judge_xfer(struct dc_check *c, struct dc_xfer *x, uint32_t i, uint64_t pa, uint64_t len,
                       bool dev_write, uint64_t time)
{
	if (x->c03 >= 0 && pa < x->c03_hi && x->c03_lo < pa + len) {
		dc_finding_manifest(c, x->c03);
		x->c03 = -1;
	}
	if (dev_write)
		x->issued += len;
	if (x->common || !len || !x->pre_live)
		return;
	/* The lines of [pa, pa + len) in `pre`, a word at a time; a read must also find bytes
	 * the CPU wrote in the part of such a line the device reads. */
	uint32_t l_first = xline(c, x, i, pa), last = xline(c, x, i, pa + len - 1);
	bool hit = false;
	for (int b = dc_bits_first(x->pre, l_first, last - l_first + 1); b >= 0 && !hit;
	     b = (uint32_t)b < last ? dc_bits_first(x->pre, (uint32_t)b + 1, last - (uint32_t)b)
	                            : -1) {
		if (dev_write) {
			hit = true;
			break;
		}
		uint64_t lpa = ((pa >> c->ls) + ((uint32_t)b - l_first)) << c->ls;
		uint64_t q = DC_MAX(pa, lpa), e2 = DC_MIN(pa + len, lpa + line_size(c));
		struct dc_pshadow *ps = dc_shadow_find(c, q);
		hit = ps &&
		      dc_bits_first(ps->w, (uint32_t)(q & DC_PAGE_MASK), (uint32_t)(e2 - q)) >= 0;
	}
	if (!hit)
		return;
	uint64_t first = xfer_first_pre(c, x);
	struct dc_pshadow *ps = first != DC_PA_INVALID ? dc_shadow_find(c, first) : NULL;
	uint32_t fl = first != DC_PA_INVALID ? line_of(c, first) : 0;
	if (!dev_write && x->dir == DC_DIR_TO_DEVICE && !x->c01) {
		x->c01 = true;
		int idx = pre_finding(c, x, DC_RULE_C01, time, ps ? ps->wpc[fl] : NULL,
		                      DC_MF_DEV_READ_STALE);
		for (uint32_t k = 0; idx >= 0 && k < x->n_pieces; k++)
			candidate(c, x->pieces[k].pa, x->pieces[k].len, idx, 0);
	} else if (dev_write && x->dir == DC_DIR_FROM_DEVICE && !x->c02) {
		x->c02 = true;
		int idx = pre_finding(c, x, DC_RULE_C02, time, ps ? ps->tpc[fl] : NULL,
		                      DC_MF_OVERWRITTEN | DC_MF_CPU_READ_STALE);
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
	struct dc_finding f = dc_chk_fnd(b->v3 ? DC_RULE_V07 : r, h->pc, time);
	struct dc_adapter *a = dc_chk_adapter_find(c, b->adapter);
	bool dev_write = r != DC_RULE_C01;
	f.device = a ? a->dev_no : 0;
	f.dir = dev_write ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	dc_chk_set_range(c, &f, (const uint8_t *)p->va + (pa - p->pa), pa,
	                 p->logical + (pa - p->pa), len);
	f.bytes = h->bytes;
	char form[200];
	snprintf(form, sizeof(form), "%s%s", forms[r], h->pc ? " {0}" : "");
	if (h->pc)
		dc_chk_site(&f, "last written by the CPU at", h->pc, NO_TIME);
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
void dc_chk_judge_common(struct dc_check *c, const struct dc_common *b, uint32_t k, uint64_t pa,
                         uint64_t len, bool dev_write, uint64_t time)
{
	if (!b->cached)
		return;
	struct cb_hit h01 = {0, 0, NULL}, h02 = {0, 0, NULL}, h05 = {0, 0, NULL};
	uint32_t stamp = dev_write ? dc_race_dev_write(c) : 0;
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
			/* Bytes the CPU read since its last sync and the device now changes: a
			 * copy of them may be in its cache, whatever it knows (polling). */
			dc_bits_copy(x->pr, ps->r, off, (uint32_t)n);
			for (uint32_t l = line_of(c, q); l <= line_of(c, q + n - 1); l++)
				x->stamp[l] = stamp;
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
				dc_chk_judge_xfer(c, x, k, p->pa + (a - p->logical), b - a,
				                  dev_write, now(c));
		}
	}
	for (size_t i = 0; i < c->n_cb; i++) {
		const struct dc_common *cb = &c->cb[i];
		for (uint32_t k = 0; !cb->freed && k < cb->n_pieces; k++) {
			const struct dc_kev_piece *p = &cb->pieces[k];
			uint64_t a = DC_MAX(addr, p->logical),
			         b = DC_MIN(addr + len, p->logical + p->len);
			if (a < b)
				dc_chk_judge_common(c, cb, k, p->pa + (a - p->logical), b - a,
				                    dev_write, now(c));
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
	/* Without a pc (the HAL's bounce copies, the application's fills and checks) the scan
	 * can report nothing, and in_xfer is read only with a pc: skipped, since a bounce copy
	 * would otherwise visit every piece of every open transfer for each of its lines. */
	for (size_t i = 0; pc && ps->owned && i < c->n_xf; i++) {
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
				struct dc_finding f =
				    dc_chk_fnd(x->v3 ? DC_RULE_V03 : DC_RULE_C03, pc, t);
				dc_chk_fill_xfer(c, &f, x);
				dc_chk_set_range(c, &f, NULL, a, p->logical + (a - p->pa), b - a);
				f.bytes = b - a;
				dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
				dc_chk_what(
				    &f,
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
				struct dc_finding f = dc_chk_fnd(DC_RULE_C05, pc, t);
				dc_chk_fill_xfer(c, &f, x);
				dc_chk_set_range(c, &f, NULL, pa, DC_PA_INVALID, len);
				f.bytes = len;
				dc_chk_site(&f, "mapped at", x->map_pc, x->map_time);
				dc_chk_what(
				    &f,
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
	bool stale_read =
	    pc && !write && dc_bit_test(x->stale, l) && cached_differs(c, ps, pa, len);
	/* Driver code reads bytes a device wrote since the last sync.  A write the reader did not
	 * know about and that landed after the line's flush (race.c) was read by a poll: what
	 * the read returns is the protocol's business. */
	bool dev_bytes = !write && pc && !in_xfer && dc_bits_first(x->d, off, len) >= 0;
	bool known = dev_bytes &&
	             (dc_race_dev_known(c, x->stamp[l]) || dc_race_dev_heard_since(c, x->fseq[l]) ||
	              dc_bits_first(x->pr, off, len) >= 0);
	if (!write && pc)
		dc_race_dev_learn(c, x->stamp[l]);
	if (write) {
		dc_bits_clear(x->d, off, len);
		dc_bits_clear(x->pr, off, len);
		dc_shadow_rewatch(ps);
	} else if (known) {
		struct dc_finding f = dc_chk_fnd(DC_RULE_C04, pc, t);
		uint32_t piece = 0;
		struct dc_common *b = dc_chk_common_by_pa(c, pa, &piece);
		struct dc_adapter *a = b ? dc_chk_adapter_find(c, b->adapter) : NULL;
		if (b && b->v3) {
			f.rule = DC_RULE_V07;
			f.severity = dc_rule_info(f.rule)->severity;
		}
		f.device = a ? a->dev_no : 0;
		f.dir = DC_DIR_FROM_DEVICE;
		dc_chk_set_range(
		    c, &f, NULL, pa,
		    b ? b->pieces[piece].logical + (pa - b->pieces[piece].pa) : DC_PA_INVALID, len);
		f.bytes = dc_bits_count(x->d, off, len);
		dc_chk_what(
		    &f, "CPU read %llu bytes the device wrote since the CPU last synchronised them",
		    (unsigned long long)f.bytes);
		f.manifested = stale_read;
		int idx = dc_finding_add_access(c, &f);
		if (idx >= 0)
			x->cand[l] = (uint32_t)idx + 1;
	} else if (dev_bytes) {
		/* The poll read the line as the device left it (the driver goes on only if it
		 * did): its later reads of the line are of that copy, not stale. */
		uint32_t lo = l << c->ls, n = (uint32_t)line_size(c);
		dc_bits_clear(x->d, lo, n);
		dc_bits_clear(x->pr, lo, n);
		dc_shadow_rewatch(ps);
	}
	if (stale_read && pc)
		manifest_line(c, ps, l, DC_MF_CPU_READ_STALE);
}

void dc_chk_on_cpu_access(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                          bool cached, const void *pc)
{
	struct dc_check *c = opaque;
	(void)va;
	c->n_recent = 0;
	if (!cached || !len)
		return;
	struct dc_pshadow *ps;
	ps = dc_shadow_get(c, pa);
	if (DC_UNLIKELY(!ps))
		return;
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
	} else if (DC_LIKELY((off & 63) + len <= 64)) {
		ps->r[off >> 6] |= (len >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << len) - 1)
		                   << (off & 63);
	} else {
		dc_bits_set(ps->r, off, len);
	}
	if (pc)
		ps->tpc[l] = pc;
	if (DC_UNLIKELY(ps->watch))
		cpu_slow(c, ps, pa, len, write, pc);
	else
		/* Nothing on this page is judged per access (no open transfer, no device bytes,
		 * no stale line: those come with events, which end the vote), and references to
		 * this line set only T (set now), tpc (the last instruction), wpc (the last
		 * writer), W and PW (the bytes written): what the machine reports, gathered,
		 * before any other event. */
		dc_machine_cpu_vote(c->m);
}

/* A run of lines of one page referenced with no pc: what on_cpu_access does for each of them
 * (T, then W or R; for a write on a watched page, device bytes forgotten, as cpu_slow does
 * with no pc; nothing else is judged without a pc), once for the run. */
void dc_chk_on_cpu_run(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write)
{
	struct dc_check *c = opaque;
	(void)va;
	c->n_recent = 0;
	if (!len)
		return;
	struct dc_pshadow *ps = dc_shadow_get(c, pa);
	if (!ps)
		return;
	uint32_t off = (uint32_t)(pa & DC_PAGE_MASK), l0 = off >> c->ls;
	dc_bits_set(ps->t, l0, ((off + len - 1) >> c->ls) - l0 + 1);
	dc_bits_set(write ? ps->w : ps->r, off, len);
	/* The lines' own calls would stop clearing once the page is no longer watched; D is then
	 * empty, and so is PR (it only ever has bits where D has), so clearing the rest changes
	 * nothing. */
	if (write && ps->watch && ps->ext) {
		dc_bits_clear(ps->ext->d, off, len);
		dc_bits_clear(ps->ext->pr, off, len);
		dc_shadow_rewatch(ps);
	}
}

/* --- Cache events (real state) ------------------------------------------------------------ */

void dc_chk_on_cache_fill(void *opaque, uint64_t line_pa, bool speculative)
{
	struct dc_check *c = opaque;
	(void)line_pa, (void)speculative;
	/* Write-backs before a fill happened before the device's data landed (dc_dma_write
	 * speculates, then writes memory, then evicts). */
	c->n_recent = 0;
}

void dc_chk_on_cache_writeback(void *opaque, uint64_t line_pa)
{
	struct dc_check *c = opaque;
	if (c->n_recent < DC_RECENT)
		c->recent[c->n_recent++] = line_pa;
	if (!c->n_stale)
		return;
	struct dc_pshadow *ps = dc_shadow_find(c, line_pa);
	if (ps && ps->ext && dc_bit_test(ps->ext->stale, line_of(c, line_pa)) && noncoherent(c))
		manifest_line(c, ps, line_of(c, line_pa), DC_MF_OVERWRITTEN);
}

void dc_chk_on_cache_gone(void *opaque, uint64_t line_pa)
{
	struct dc_check *c = opaque;
	if (!c->n_stale)
		return;
	struct dc_pshadow *ps = dc_shadow_find(c, line_pa);
	if (ps && ps->ext) {
		uint32_t l = line_of(c, line_pa);
		if (dc_bit_test(ps->ext->stale, l)) {
			dc_bit_clear(ps->ext->stale, l);
			c->n_stale--;
			dc_shadow_rewatch(ps);
		}
	}
}

void dc_chk_on_cache_maint(void *opaque, const void *va, uint64_t len, int op)
{
	struct dc_check *c = opaque;
	(void)va, (void)len, (void)op;
	c->n_recent = 0;
}

/* --- Device side ---------------------------------------------------------------------------- */

/* Bytes of [pa, pa + len) (bus addresses) that fall in x's pieces. */
static uint64_t landed_bytes(const struct dc_xfer *x, uint64_t pa, uint64_t len)
{
	uint32_t k, e = dc_chk_xfer_at(x, pa, pa + len, &k);
	uint64_t bytes = 0;
	for (; k < e; k++) {
		const struct dc_kev_piece *p = &x->pieces[dc_chk_xfer_piece(x, k)];
		uint64_t a = DC_MAX(pa, p->logical), b = DC_MIN(pa + len, p->logical + p->len);
		if (a < b)
			bytes += b - a;
	}
	return bytes;
}

void dc_chk_on_dma(void *opaque, int source, uint64_t pa, uint64_t len, bool write)
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
			if (x->dir == DC_DIR_FROM_DEVICE)
				x->landed += landed_bytes(x, pa, len);
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
				c->n_stale += !dc_bit_test(x->stale, l);
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
