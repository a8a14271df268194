/* The contract shadow's storage: a two-level table of page shadows indexed by physical frame
 * number, allocated on the first CPU access or device access to a page, so memory grows with
 * the memory touched, not with the memory simulated.  A page shadow holds byte bitmaps (who
 * wrote which byte since when) and line bitmaps (which lines the CPU touched), plus the last
 * driver instruction per line for reports; what only pages with DMA history need lives in a
 * second block (struct dc_pext) allocated on the first device access. */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

#define TOP_SHIFT 10
#define LEAF (1u << TOP_SHIFT)

struct dc_pshadow *dc_shadow_find(struct dc_check *c, uint64_t pa)
{
	uint64_t pfn = pa >> DC_PAGE_SHIFT;
	if (pfn >= c->phys_pages)
		return NULL;
	struct dc_pshadow **leaf = c->top[pfn >> TOP_SHIFT];
	return leaf ? leaf[pfn & (LEAF - 1)] : NULL;
}

struct dc_pshadow *dc_shadow_get(struct dc_check *c, uint64_t pa)
{
	uint64_t pfn = pa >> DC_PAGE_SHIFT;
	if (pfn >= c->phys_pages)
		return NULL;
	struct dc_pshadow **leaf = c->top[pfn >> TOP_SHIFT];
	if (DC_UNLIKELY(!leaf)) {
		leaf = calloc(LEAF, sizeof(*leaf));
		if (!leaf) {
			c->oom = true;
			return NULL;
		}
		c->top[pfn >> TOP_SHIFT] = leaf;
	}
	struct dc_pshadow *ps = leaf[pfn & (LEAF - 1)];
	if (DC_LIKELY(ps))
		return ps;
	/* One block: the shadow, then the two per-line pc arrays. */
	ps = calloc(1, sizeof(*ps) + 2 * (size_t)c->nl * sizeof(void *));
	if (!ps) {
		c->oom = true;
		return NULL;
	}
	ps->wpc = (const void **)(ps + 1);
	ps->tpc = ps->wpc + c->nl;
	leaf[pfn & (LEAF - 1)] = ps;
	c->shadow_pages++;
	return ps;
}

struct dc_pext *dc_shadow_ext(struct dc_check *c, struct dc_pshadow *ps)
{
	if (ps->ext)
		return ps->ext;
	struct dc_pext *x = calloc(1, sizeof(*x) + (size_t)c->nl * (sizeof(uint32_t) + 1));
	if (!x) {
		c->oom = true;
		return NULL;
	}
	x->cand = (uint32_t *)(x + 1);
	x->mf = (uint8_t *)(x->cand + c->nl);
	ps->ext = x;
	return x;
}

static bool any(const uint64_t *bm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bm[i])
			return true;
	return false;
}

void dc_shadow_rewatch(struct dc_pshadow *ps)
{
	ps->watch =
	    ps->owned ||
	    (ps->ext && (any(ps->ext->d, DC_SH_WORDS) || any(ps->ext->stale, DC_SH_LWORDS)));
}

void dc_shadow_free(struct dc_check *c)
{
	if (!c->top)
		return;
	for (uint64_t i = 0; i < c->n_top; i++) {
		struct dc_pshadow **leaf = c->top[i];
		if (!leaf)
			continue;
		for (unsigned k = 0; k < LEAF; k++) {
			if (leaf[k]) {
				free(leaf[k]->ext);
				free(leaf[k]);
			}
		}
		free(leaf);
	}
	free(c->top);
	c->top = NULL;
}

/* --- Bitmaps ---------------------------------------------------------------------------- */

static inline uint64_t word_mask(uint32_t lo, uint32_t n)
{
	return (n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << lo;
}

void dc_bits_set(uint64_t *bm, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t b = off & 63, n = DC_MIN(len, 64 - b);
		bm[off >> 6] |= word_mask(b, n);
		off += n, len -= n;
	}
}

void dc_bits_clear(uint64_t *bm, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t b = off & 63, n = DC_MIN(len, 64 - b);
		bm[off >> 6] &= ~word_mask(b, n);
		off += n, len -= n;
	}
}

uint32_t dc_bits_count(const uint64_t *bm, uint32_t off, uint32_t len)
{
	uint32_t k = 0;
	while (len) {
		uint32_t b = off & 63, n = DC_MIN(len, 64 - b);
		k += (uint32_t)__builtin_popcountll(bm[off >> 6] & word_mask(b, n));
		off += n, len -= n;
	}
	return k;
}

int dc_bits_first(const uint64_t *bm, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t b = off & 63, n = DC_MIN(len, 64 - b);
		uint64_t v = bm[off >> 6] & word_mask(b, n);
		if (v)
			return (int)((off & ~63u) + (uint32_t)__builtin_ctzll(v));
		off += n, len -= n;
	}
	return -1;
}
