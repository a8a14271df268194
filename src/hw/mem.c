/* Simulated physical memory (a sparse memfd) and the cached window's page table.  See mem.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"

#define ZONE_ISA_END (16ull << 20)
#define ZONE_DMA32_END (4ull << 30)
#define REFILL 16 /* frames taken from a zone's bump pointer at a time */

const char *dc_zone_name(enum dc_zone z)
{
	static const char *const names[] = {"isa", "dma32", "high", "any"};
	return (unsigned)z < DC_ARRAY_SIZE(names) ? names[z] : "?";
}

static void *map_anon(uint64_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	return p;
}

/* --- Lazily enabled reservations ---------------------------------------------------------- */

int dc_mem_add_lazy(struct dc_mem *m, void *base, uint64_t elem, bool per_pfn)
{
	if (!m->guard)
		return DC_OK;
	if (m->n_lazy == DC_MEM_LAZY)
		return DC_ERR_NOMEM;
	uint64_t n = per_pfn ? m->phys_size >> DC_PAGE_SHIFT : m->va_size >> DC_PAGE_SHIFT;
	struct dc_lazy *a = &m->lazy[m->n_lazy];
	a->base = base;
	a->elem = elem;
	a->pages = (n * elem + DC_PAGE_MASK) >> DC_PAGE_SHIFT;
	a->per_pfn = per_pfn;
	/* calloc of a large bitmap is itself lazily backed by the OS. */
	a->on = calloc((a->pages + 63) / 64, sizeof(uint64_t));
	if (!a->on)
		return DC_ERR_NOMEM;
	m->n_lazy++;
	return DC_OK;
}

/* Enables the host pages holding elements [lo, hi) of a. */
static void lazy_enable(struct dc_lazy *a, uint64_t lo, uint64_t hi)
{
	uint64_t p = (lo * a->elem) >> DC_PAGE_SHIFT;
	uint64_t e = DC_MIN((hi * a->elem + DC_PAGE_MASK) >> DC_PAGE_SHIFT, a->pages);
	while (p < e) {
		if (a->on[p >> 6] == ~UINT64_C(0)) {
			p = (p | 63) + 1;
			continue;
		}
		if (a->on[p >> 6] >> (p & 63) & 1) {
			p++;
			continue;
		}
		uint64_t q = p;
		while (q < e && !(a->on[q >> 6] >> (q & 63) & 1)) {
			a->on[q >> 6] |= UINT64_C(1) << (q & 63);
			q++;
		}
		/* Failure (no memory for the split) leaves the pages read-only: a later store
		 * faults, which the crash handler reports; nothing is silently corrupted. */
		(void)mprotect(a->base + (p << DC_PAGE_SHIFT), (q - p) << DC_PAGE_SHIFT,
		               PROT_READ | PROT_WRITE);
		p = q;
	}
}

static void lazy_grow(struct dc_mem *m, bool per_pfn, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < m->n_lazy; i++)
		if (m->lazy[i].per_pfn == per_pfn)
			lazy_enable(&m->lazy[i], lo, hi);
}

void dc_mem_enable_phys(struct dc_mem *m, uint64_t pa, uint64_t len)
{
	if (m->phys_lazy >= 0 && len)
		lazy_enable(&m->lazy[m->phys_lazy], pa >> DC_PAGE_SHIFT,
		            ((pa + len - 1) >> DC_PAGE_SHIFT) + 1);
}

void dc_mem_enable_host_page(struct dc_mem *m, const void *va)
{
	if (m->guard && dc_mem_in_cached(m, va)) {
		uint64_t pg = (uint64_t)((const uint8_t *)va - m->cwin) >> DC_PAGE_SHIFT;
		(void)mprotect(m->cwin + (pg << DC_PAGE_SHIFT), DC_PAGE_SIZE,
		               PROT_READ | PROT_WRITE);
		m->open[pg >> 6] |= UINT64_C(1) << (pg & 63);
	}
}

/* --- Host protection of the cached window ---------------------------------------------------
 * A page is accessible while mapped (and when a reported access enabled it); unmapped, it is
 * made inaccessible again, but lazily: mprotect to PROT_NONE flushes the TLB, which on a
 * virtual machine cost half of a run whose IRPs each map and unmap a buffer, and the free
 * lists hand the same span to the next allocation of its size, which would only open it
 * again.  So an unmapped span stays accessible (noted in m->reprotect) until another
 * DC_MEM_REPROTECT_BATCH pages were unmapped (or dc_mem_reprotect), then every page of it not
 * mapped again is closed.  Driver code never relies on the host protection (its references
 * to unmapped pages are reported by the hook from the page table and the shadow); what the
 * window keeps is that pages never mapped are never accessible, and that a freed page is
 * closed within a bounded number of unmaps. */

static bool open_all(const struct dc_mem *m, uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n; p++) {
		if (!(p & 63) && p + 64 <= first + n && m->open[p >> 6] == ~UINT64_C(0)) {
			p += 63;
			continue;
		}
		if (!(m->open[p >> 6] >> (p & 63) & 1))
			return false;
	}
	return true;
}

static bool open_any(const struct dc_mem *m, uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n; p++)
		if (m->open[p >> 6] >> (p & 63) & 1)
			return true;
	return false;
}

static void open_set(struct dc_mem *m, uint64_t first, uint64_t n, bool on)
{
	for (uint64_t p = first; p < first + n; p++) {
		uint64_t bit = UINT64_C(1) << (p & 63);
		m->open[p >> 6] = on ? m->open[p >> 6] | bit : m->open[p >> 6] & ~bit;
	}
}

static void close_pages(struct dc_mem *m, uint64_t first, uint64_t n)
{
	(void)mprotect(m->cwin + (first << DC_PAGE_SHIFT), n << DC_PAGE_SHIFT, PROT_NONE);
	open_set(m, first, n, false);
}

void dc_mem_reprotect(struct dc_mem *m)
{
	for (size_t i = 0; i + 1 < m->reprotect.n; i += 2) {
		uint64_t p = m->reprotect.slot[i], end = p + m->reprotect.slot[i + 1];
		while (p < end) {
			while (p < end && (m->pt[p] || !(m->open[p >> 6] >> (p & 63) & 1)))
				p++;
			uint64_t q = p;
			while (q < end && !m->pt[q] && m->open[q >> 6] >> (q & 63) & 1)
				q++;
			if (q > p)
				close_pages(m, p, q - p);
			p = q;
		}
	}
	m->reprotect.n = 0;
	m->reprotect_pages = 0;
}

static bool push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		uint64_t *nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return false;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return true;
}

int dc_mem_init(struct dc_mem *m, uint64_t phys_size, uint64_t va_size)
{
	*m = (struct dc_mem){.fd = -1, .phys_lazy = -1};
	if (!phys_size || (phys_size & DC_PAGE_MASK) || !va_size || (va_size & DC_PAGE_MASK) ||
	    (phys_size >> DC_PAGE_SHIFT) > UINT32_MAX || (va_size >> DC_PAGE_SHIFT) > UINT32_MAX)
		return DC_ERR_INVAL;
	m->phys_size = phys_size;
	m->va_size = va_size;
	m->fd = memfd_create("dmacoh-phys", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)phys_size) < 0)
		goto fail;
	m->guard = sysconf(_SC_PAGESIZE) == DC_PAGE_SIZE;
	int ro = m->guard ? PROT_READ : PROT_READ | PROT_WRITE;
	m->phys = mmap(NULL, phys_size, ro, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->phys == MAP_FAILED) {
		m->phys = NULL;
		goto fail;
	}
	uint64_t pfns = phys_size >> DC_PAGE_SHIFT, vpages = va_size >> DC_PAGE_SHIFT;
	m->cwin = map_anon(va_size, m->guard ? PROT_NONE : PROT_READ | PROT_WRITE);
	m->pt = map_anon(vpages * sizeof(*m->pt), ro);
	m->rmap = map_anon(pfns * sizeof(*m->rmap), ro);
	m->present = map_anon(pfns * sizeof(*m->present), ro);
	m->fstate = map_anon(pfns * sizeof(*m->fstate), ro);
	if (!m->cwin || !m->pt || !m->rmap || !m->present || !m->fstate)
		goto fail;
	m->phys_lazy = (int)m->n_lazy;
	if (dc_mem_add_lazy(m, m->phys, DC_PAGE_SIZE, true) < 0 ||
	    dc_mem_add_lazy(m, m->pt, sizeof(*m->pt), false) < 0 ||
	    dc_mem_add_lazy(m, m->rmap, sizeof(*m->rmap), true) < 0 ||
	    dc_mem_add_lazy(m, m->present, sizeof(*m->present), true) < 0 ||
	    dc_mem_add_lazy(m, m->fstate, sizeof(*m->fstate), true) < 0)
		goto fail;
	if (!m->guard)
		m->phys_lazy = -1;
	const uint64_t bounds[DC_ZONE_COUNT + 1] = {1, ZONE_ISA_END >> DC_PAGE_SHIFT,
	                                            ZONE_DMA32_END >> DC_PAGE_SHIFT, UINT64_MAX};
	for (int z = 0; z < DC_ZONE_COUNT; z++) {
		m->zone[z].lo = DC_MIN(bounds[z], pfns);
		m->zone[z].hi = DC_MIN(bounds[z + 1], pfns);
		m->zone[z].bump = m->zone[z].lo;
	}
	if (m->guard && !(m->open = calloc((vpages + 63) / 64, sizeof(uint64_t))))
		goto fail;
	m->va_bump = 1; /* page 0 of the window is never handed out */
	return DC_OK;
fail:
	dc_mem_fini(m);
	return m->fd < 0 ? DC_ERR_IO : DC_ERR_NOMEM;
}

void dc_mem_fini(struct dc_mem *m)
{
	uint64_t pfns = m->phys_size >> DC_PAGE_SHIFT, vpages = m->va_size >> DC_PAGE_SHIFT;
	if (m->phys)
		munmap(m->phys, m->phys_size);
	if (m->cwin)
		munmap(m->cwin, m->va_size);
	if (m->pt)
		munmap(m->pt, vpages * sizeof(*m->pt));
	if (m->rmap)
		munmap(m->rmap, pfns * sizeof(*m->rmap));
	if (m->present)
		munmap(m->present, pfns * sizeof(*m->present));
	if (m->fstate)
		munmap(m->fstate, pfns * sizeof(*m->fstate));
	for (unsigned i = 0; i < m->n_lazy; i++)
		free(m->lazy[i].on);
	if (m->fd >= 0)
		close(m->fd);
	for (int z = 0; z < DC_ZONE_COUNT; z++)
		free(m->zone[z].free);
	for (int c = 0; c < DC_VA_CLASSES; c++)
		free(m->va_free[c].slot);
	free(m->release.slot);
	free(m->reprotect.slot);
	free(m->open);
	*m = (struct dc_mem){.fd = -1, .phys_lazy = -1};
}

/* Takes up to REFILL frames from the bump pointer onto the free stack so that they pop as
 * b+1, b+0, b+3, b+2, ...: consecutive allocations are never physically ascending. */
static bool zone_refill(struct dc_mem *m, struct dc_frame_zone *zn)
{
	uint64_t k = DC_MIN((uint64_t)REFILL, zn->hi - zn->bump);
	if (!k)
		return false;
	for (uint64_t j = k; j-- > 0;) {
		uint64_t idx = (j ^ 1) < k ? (j ^ 1) : j;
		if (!push(&zn->free, &zn->n_free, &zn->cap_free, zn->bump + idx))
			return false;
	}
	lazy_grow(m, true, zn->bump, zn->bump + k);
	zn->bump += k;
	return true;
}

static uint64_t zone_alloc(struct dc_mem *m, struct dc_frame_zone *zn)
{
	if (!zn->n_free && !zone_refill(m, zn))
		return 0;
	return zn->free[--zn->n_free];
}

uint64_t dc_mem_frame_alloc(struct dc_mem *m, enum dc_zone z)
{
	uint64_t pfn = 0;
	if (z == DC_ZONE_ANY) {
		for (int i = DC_ZONE_COUNT - 1; i >= 0 && !pfn; i--)
			pfn = zone_alloc(m, &m->zone[i]);
	} else if ((unsigned)z < DC_ZONE_COUNT) {
		pfn = zone_alloc(m, &m->zone[z]);
	}
	if (pfn) {
		m->frames_in_use++;
		m->fstate[pfn] = 1;
	}
	return pfn;
}

uint64_t dc_mem_frames_alloc_contig(struct dc_mem *m, uint64_t n, enum dc_zone z)
{
	for (int i = DC_ZONE_COUNT - 1; i >= 0; i--) {
		if (z != DC_ZONE_ANY && (int)z != i)
			continue;
		struct dc_frame_zone *zn = &m->zone[i];
		if (n && zn->hi - zn->bump >= n) {
			uint64_t first = zn->bump;
			lazy_grow(m, true, first, first + n);
			zn->bump += n;
			m->frames_in_use += n;
			memset(m->fstate + first, 1, n);
			return first;
		}
	}
	return 0;
}

void dc_mem_frame_free(struct dc_mem *m, uint64_t pfn)
{
	for (int i = 0; i < DC_ZONE_COUNT; i++) {
		struct dc_frame_zone *zn = &m->zone[i];
		if (pfn >= zn->lo && pfn < zn->hi) {
			DC_ASSERT(m->frames_in_use > 0);
			/* If the stack cannot grow the frame is leaked, not corrupted. */
			if (push(&zn->free, &zn->n_free, &zn->cap_free, pfn))
				m->frames_in_use--;
			m->fstate[pfn] = 0;
			return;
		}
	}
	DC_ASSERT(!"frame outside every zone");
}

static uint64_t va_alloc(struct dc_mem *m, uint64_t n)
{
	if (n < DC_VA_CLASSES) {
		struct dc_va_free *f = &m->va_free[n];
		if (f->n)
			return f->slot[--f->n];
	}
	if (m->va_bump + n <= m->va_size >> DC_PAGE_SHIFT) {
		uint64_t first = m->va_bump;
		lazy_grow(m, false, first, first + n);
		m->va_bump += n;
		return first;
	}
	/* Out of fresh VA: split a larger freed range. */
	struct dc_va_free *big = &m->va_free[0];
	for (size_t i = 0; i + 1 < big->n; i += 2) {
		if (big->slot[i + 1] >= n) {
			uint64_t first = big->slot[i];
			big->slot[i] += n;
			big->slot[i + 1] -= n;
			if (!big->slot[i + 1]) {
				big->slot[i] = big->slot[big->n - 2];
				big->slot[i + 1] = big->slot[big->n - 1];
				big->n -= 2;
			}
			return first;
		}
	}
	return 0;
}

static void va_free(struct dc_mem *m, uint64_t first, uint64_t n)
{
	if (n < DC_VA_CLASSES) {
		struct dc_va_free *f = &m->va_free[n];
		push(&f->slot, &f->n, &f->cap, first);
		return;
	}
	struct dc_va_free *big = &m->va_free[0];
	if (push(&big->slot, &big->n, &big->cap, first) && !push(&big->slot, &big->n, &big->cap, n))
		big->n--;
}

/* Gives pages [first, first + n) of the window frames; false (nothing left) if none. */
static bool map_at(struct dc_mem *m, uint64_t first, uint64_t n, enum dc_zone z, bool contig)
{
	uint64_t base = 0;
	if (contig && !(base = dc_mem_frames_alloc_contig(m, n, z)))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = contig ? base + i : dc_mem_frame_alloc(m, z);
		if (!pfn) {
			for (uint64_t j = 0; j < i; j++) {
				dc_mem_frame_free(m, m->pt[first + j]);
				m->rmap[m->pt[first + j]] = 0;
				m->pt[first + j] = 0;
			}
			return false;
		}
		m->pt[first + i] = (uint32_t)pfn;
		m->rmap[pfn] = (uint32_t)(first + i);
	}
	/* The host refusing (no room for another mapping) is running out of memory. */
	if (m->guard && !open_all(m, first, n) &&
	    mprotect(m->cwin + (first << DC_PAGE_SHIFT), n << DC_PAGE_SHIFT,
	             PROT_READ | PROT_WRITE)) {
		for (uint64_t j = 0; j < n; j++) {
			dc_mem_frame_free(m, m->pt[first + j]);
			m->rmap[m->pt[first + j]] = 0;
			m->pt[first + j] = 0;
		}
		return false;
	}
	if (m->guard)
		open_set(m, first, n, true);
	m->pages_mapped += n;
	return true;
}

void *dc_mem_map_guarded(struct dc_mem *m, uint64_t n, enum dc_zone z, bool contig, uint64_t guard)
{
	if (!n || n + 2 * guard > m->va_size >> DC_PAGE_SHIFT)
		return NULL;
	uint64_t first = va_alloc(m, n + 2 * guard);
	if (!first)
		return NULL;
	if (!map_at(m, first + guard, n, z, contig)) {
		va_free(m, first, n + 2 * guard);
		return NULL;
	}
	/* A span reused with its pages split differently: its guard pages are closed. */
	if (m->guard && guard) {
		if (open_any(m, first, guard))
			close_pages(m, first, guard);
		if (open_any(m, first + guard + n, guard))
			close_pages(m, first + guard + n, guard);
	}
	return m->cwin + ((first + guard) << DC_PAGE_SHIFT);
}

void *dc_mem_map(struct dc_mem *m, uint64_t n, enum dc_zone z, bool contig)
{
	return dc_mem_map_guarded(m, n, z, contig, 0);
}

/* Gives back the host memory of the unmapped spans noted since the last batch, skipping the
 * pages mapped again since (page table entry set). */
static void release_batch(struct dc_mem *m)
{
	for (size_t i = 0; i + 1 < m->release.n; i += 2) {
		uint64_t p = m->release.slot[i], end = p + m->release.slot[i + 1];
		while (p < end) {
			while (p < end && m->pt[p])
				p++;
			uint64_t q = p;
			while (q < end && !m->pt[q])
				q++;
			if (q > p)
				madvise(m->cwin + (p << DC_PAGE_SHIFT), (q - p) << DC_PAGE_SHIFT,
				        MADV_DONTNEED);
			p = q;
		}
	}
	m->release.n = 0;
	m->release_pages = 0;
}

void dc_mem_unmap_guarded(struct dc_mem *m, void *va, uint64_t n, uint64_t guard)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)m->cwin;
	DC_ASSERT(off < m->va_size && !(off & DC_PAGE_MASK));
	uint64_t first = off >> DC_PAGE_SHIFT;
	DC_ASSERT(first >= guard);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t pfn = m->pt[first + i];
		DC_ASSERT(pfn);
		m->rmap[pfn] = 0;
		m->pt[first + i] = 0;
		dc_mem_frame_free(m, pfn);
	}
	/* The pages (and guard pages a reported access enabled) become inaccessible again.  The
	 * window's bytes mean nothing once unmapped: their host memory is given back, but in
	 * batches (release_batch), since the free lists hand the same span to the next
	 * allocation of its size, which would only fault the pages in again. */
	uint8_t *lo = m->cwin + ((first - guard) << DC_PAGE_SHIFT);
	uint64_t bytes = (n + 2 * guard) << DC_PAGE_SHIFT;
	if (m->guard) {
		bool pend =
		    push(&m->reprotect.slot, &m->reprotect.n, &m->reprotect.cap, first - guard);
		if (pend &&
		    !push(&m->reprotect.slot, &m->reprotect.n, &m->reprotect.cap, n + 2 * guard)) {
			m->reprotect.n--;
			pend = false;
		}
		if (!pend)
			close_pages(m, first - guard, n + 2 * guard);
		else if ((m->reprotect_pages += n + 2 * guard) >= DC_MEM_REPROTECT_BATCH)
			dc_mem_reprotect(m);
	}
	m->pages_mapped -= n;
	va_free(m, first - guard, n + 2 * guard);
	bool noted = push(&m->release.slot, &m->release.n, &m->release.cap, first - guard);
	if (noted && !push(&m->release.slot, &m->release.n, &m->release.cap, n + 2 * guard)) {
		m->release.n--;
		noted = false;
	}
	if (!noted)
		madvise(lo, bytes, MADV_DONTNEED);
	else if ((m->release_pages += n + 2 * guard) >= DC_MEM_RELEASE_BATCH)
		release_batch(m);
}

void dc_mem_unmap(struct dc_mem *m, void *va, uint64_t n)
{
	dc_mem_unmap_guarded(m, va, n, 0);
}
