/* The contract shadow's storage: a direct-mapped table of page shadows indexed by physical
 * frame number (reserved for all frames with MAP_NORESERVE: the host backs only the table's
 * pages that are written), each allocated on the first CPU access or device access to its
 * page, so memory grows with the memory touched, not with the memory simulated.  A page shadow
 * holds byte bitmaps (who wrote which byte since when) and line bitmaps (which lines the CPU
 * touched), plus the last driver instruction per line for reports; what only pages with DMA history
 * need lives in a second block (struct dc_pext) allocated on the first device access. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check_int.h"

int dc_shadow_init(struct dc_check *c)
{
	size_t n = c->phys_pages ? (size_t)c->phys_pages : 1;
	c->flat_bytes = (n * sizeof(*c->flat) + DC_PAGE_MASK) & ~(size_t)DC_PAGE_MASK;
	void *p = mmap(NULL, c->flat_bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		c->flat = NULL;
		return -1;
	}
	c->flat = p;
	return 0;
}

struct dc_pshadow *dc_shadow_find(struct dc_check *c, uint64_t pa)
{
	uint64_t pfn = pa >> DC_PAGE_SHIFT;
	return pfn < c->phys_pages ? c->flat[pfn] : NULL;
}

struct dc_pshadow *dc_shadow_new(struct dc_check *c, uint64_t pa)
{
	uint64_t pfn = pa >> DC_PAGE_SHIFT;
	if (pfn >= c->phys_pages)
		return NULL;
	struct dc_pshadow *ps = c->flat[pfn];
	if (ps)
		return ps;
	/* One block: the shadow, then the two per-line pc arrays. */
	ps = calloc(1, sizeof(*ps) + 2 * (size_t)c->nl * sizeof(void *));
	if (!ps) {
		c->oom = true;
		return NULL;
	}
	ps->wpc = (const void **)(ps + 1);
	ps->tpc = ps->wpc + c->nl;
	c->flat[pfn] = ps;
	ps->next = c->shadows;
	c->shadows = ps;
	c->shadow_pages++;
	return ps;
}

struct dc_pext *dc_shadow_ext(struct dc_check *c, struct dc_pshadow *ps)
{
	if (ps->ext)
		return ps->ext;
	struct dc_pext *x = calloc(1, sizeof(*x) + (size_t)c->nl * (3 * sizeof(uint32_t) + 1));
	if (!x) {
		c->oom = true;
		return NULL;
	}
	x->cand = (uint32_t *)(x + 1);
	x->stamp = x->cand + c->nl;
	x->fseq = x->stamp + c->nl;
	x->mf = (uint8_t *)(x->fseq + c->nl);
	for (uint32_t l = 0; l < c->nl; l++)
		x->fseq[l] = ps->fseq;
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
	if (!c->flat)
		return;
	for (struct dc_pshadow *ps = c->shadows, *nx; ps; ps = nx) {
		nx = ps->next;
		free(ps->ext);
		free(ps);
	}
	c->shadows = NULL;
	munmap(c->flat, c->flat_bytes);
	c->flat = NULL;
}

/* --- Bitmaps ---------------------------------------------------------------------------- */

static inline uint64_t word_mask(uint32_t lo, uint32_t n)
{
	return (n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << lo;
}

/* Set and clear take the whole words in the middle of the range at once (a page's byte bitmap
 * is 64 words: synchronising a page is three memsets, not 192 masked word updates). */
void dc_bits_set(uint64_t *bm, uint32_t off, uint32_t len)
{
	uint32_t b = off & 63;
	if (b) {
		uint32_t n = DC_MIN(len, 64 - b);
		bm[off >> 6] |= word_mask(b, n);
		off += n, len -= n;
	}
	if (len >= 64) {
		memset(&bm[off >> 6], 0xff, (size_t)(len >> 6) * sizeof(*bm));
		off += len & ~63u, len &= 63;
	}
	if (len)
		bm[off >> 6] |= word_mask(0, len);
}

void dc_bits_copy(uint64_t *dst, const uint64_t *src, uint32_t off, uint32_t len)
{
	while (len) {
		uint32_t b = off & 63, n = DC_MIN(len, 64 - b);
		uint64_t m = word_mask(b, n);
		dst[off >> 6] = (dst[off >> 6] & ~m) | (src[off >> 6] & m);
		off += n, len -= n;
	}
}

void dc_bits_clear(uint64_t *bm, uint32_t off, uint32_t len)
{
	uint32_t b = off & 63;
	if (b) {
		uint32_t n = DC_MIN(len, 64 - b);
		bm[off >> 6] &= ~word_mask(b, n);
		off += n, len -= n;
	}
	if (len >= 64) {
		memset(&bm[off >> 6], 0, (size_t)(len >> 6) * sizeof(*bm));
		off += len & ~63u, len &= 63;
	}
	if (len)
		bm[off >> 6] &= ~word_mask(0, len);
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
