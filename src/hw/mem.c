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

static void *map_anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
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
	*m = (struct dc_mem){.fd = -1};
	if (!phys_size || (phys_size & DC_PAGE_MASK) || !va_size || (va_size & DC_PAGE_MASK) ||
	    (phys_size >> DC_PAGE_SHIFT) > UINT32_MAX || (va_size >> DC_PAGE_SHIFT) > UINT32_MAX)
		return DC_ERR_INVAL;
	m->phys_size = phys_size;
	m->va_size = va_size;
	m->fd = memfd_create("dmacoh-phys", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)phys_size) < 0)
		goto fail;
	m->phys =
	    mmap(NULL, phys_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->phys == MAP_FAILED) {
		m->phys = NULL;
		goto fail;
	}
	uint64_t pfns = phys_size >> DC_PAGE_SHIFT, vpages = va_size >> DC_PAGE_SHIFT;
	m->cwin = map_anon(va_size);
	m->pt = map_anon(vpages * sizeof(*m->pt));
	m->rmap = map_anon(pfns * sizeof(*m->rmap));
	m->present = map_anon(pfns * sizeof(*m->present));
	if (!m->cwin || !m->pt || !m->rmap || !m->present)
		goto fail;
	const uint64_t bounds[DC_ZONE_COUNT + 1] = {1, ZONE_ISA_END >> DC_PAGE_SHIFT,
	                                            ZONE_DMA32_END >> DC_PAGE_SHIFT, UINT64_MAX};
	for (int z = 0; z < DC_ZONE_COUNT; z++) {
		m->zone[z].lo = DC_MIN(bounds[z], pfns);
		m->zone[z].hi = DC_MIN(bounds[z + 1], pfns);
		m->zone[z].bump = m->zone[z].lo;
	}
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
	if (m->fd >= 0)
		close(m->fd);
	for (int z = 0; z < DC_ZONE_COUNT; z++)
		free(m->zone[z].free);
	for (int c = 0; c < DC_VA_CLASSES; c++)
		free(m->va_free[c].slot);
	*m = (struct dc_mem){.fd = -1};
}

/* Takes up to REFILL frames from the bump pointer onto the free stack so that they pop as
 * b+1, b+0, b+3, b+2, ...: consecutive allocations are never physically ascending. */
static bool zone_refill(struct dc_frame_zone *zn)
{
	uint64_t k = DC_MIN((uint64_t)REFILL, zn->hi - zn->bump);
	if (!k)
		return false;
	for (uint64_t j = k; j-- > 0;) {
		uint64_t idx = (j ^ 1) < k ? (j ^ 1) : j;
		if (!push(&zn->free, &zn->n_free, &zn->cap_free, zn->bump + idx))
			return false;
	}
	zn->bump += k;
	return true;
}

static uint64_t zone_alloc(struct dc_frame_zone *zn)
{
	if (!zn->n_free && !zone_refill(zn))
		return 0;
	return zn->free[--zn->n_free];
}

uint64_t dc_mem_frame_alloc(struct dc_mem *m, enum dc_zone z)
{
	uint64_t pfn = 0;
	if (z == DC_ZONE_ANY) {
		for (int i = DC_ZONE_COUNT - 1; i >= 0 && !pfn; i--)
			pfn = zone_alloc(&m->zone[i]);
	} else if ((unsigned)z < DC_ZONE_COUNT) {
		pfn = zone_alloc(&m->zone[z]);
	}
	if (pfn)
		m->frames_in_use++;
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
			zn->bump += n;
			m->frames_in_use += n;
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

void *dc_mem_map(struct dc_mem *m, uint64_t n, enum dc_zone z, bool contig)
{
	if (!n || n > m->va_size >> DC_PAGE_SHIFT)
		return NULL;
	uint64_t first = va_alloc(m, n);
	if (!first)
		return NULL;
	uint64_t base = 0;
	if (contig && !(base = dc_mem_frames_alloc_contig(m, n, z))) {
		va_free(m, first, n);
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = contig ? base + i : dc_mem_frame_alloc(m, z);
		if (!pfn) {
			for (uint64_t j = 0; j < i; j++) {
				dc_mem_frame_free(m, m->pt[first + j]);
				m->rmap[m->pt[first + j]] = 0;
				m->pt[first + j] = 0;
			}
			va_free(m, first, n);
			return NULL;
		}
		m->pt[first + i] = (uint32_t)pfn;
		m->rmap[pfn] = (uint32_t)(first + i);
	}
	m->pages_mapped += n;
	return m->cwin + (first << DC_PAGE_SHIFT);
}

void dc_mem_unmap(struct dc_mem *m, void *va, uint64_t n)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)m->cwin;
	DC_ASSERT(off < m->va_size && !(off & DC_PAGE_MASK));
	uint64_t first = off >> DC_PAGE_SHIFT;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t pfn = m->pt[first + i];
		DC_ASSERT(pfn);
		m->rmap[pfn] = 0;
		m->pt[first + i] = 0;
		dc_mem_frame_free(m, pfn);
	}
	/* The window's bytes mean nothing once unmapped; give the host memory back. */
	madvise(va, n << DC_PAGE_SHIFT, MADV_DONTNEED);
	m->pages_mapped -= n;
	va_free(m, first, n);
}
