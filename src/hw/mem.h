/* Simulated physical memory and the two kernel virtual windows onto it.
 *
 * Physical memory is a memfd (sparse: an untouched page costs nothing).  The *uncached window*
 * is a MAP_SHARED mapping of the whole memfd, so the byte at physical address PA lives at
 * phys + PA and a CPU access there is a memory access.  The *cached window* is private,
 * MAP_NORESERVE host memory that plays the cache's data array: each mapped virtual page has a
 * physical frame (page table `pt`), and a byte of the window is meaningful only while its line
 * is present in the cache model.  Every frame has at most one cached virtual address, so the
 * physically tagged cache can keep one data pointer per line.
 *
 * Frames are handed out deliberately non-contiguously (within each refill group, in the order
 * 1,0,3,2,...), so a multi-page buffer has several PFNs and map registers matter.  Zones let a
 * caller put a buffer below 16 MiB (ISA DMA), below 4 GiB, or above 4 GiB (forcing bounce
 * pages for 32-bit devices).
 *
 * Host protection (a wild store must fault, never land in dmacoh's own memory): the cached
 * window is reserved PROT_NONE and a page is read-write only while it maps a frame; the uncached
 * window and every per-page or per-frame array are reserved read-only (reads see zeros) and
 * their host pages are enabled on first use (dc_lazy), as the VA and frame bump pointers grow.
 *
 * Not modelled: paging, user address spaces, several virtual aliases of one cached frame. */
#ifndef DC_MEM_H
#define DC_MEM_H

#include "dmacoh/common.h"
#include "rng.h"

enum dc_zone {
	DC_ZONE_ISA,   /* [1 page, 16 MiB) */
	DC_ZONE_DMA32, /* [16 MiB, 4 GiB) */
	DC_ZONE_HIGH,  /* [4 GiB, phys_size) */
	DC_ZONE_ANY,   /* highest zone with a free frame */
	DC_ZONE_COUNT = DC_ZONE_ANY
};
const char *dc_zone_name(enum dc_zone z);

struct dc_frame_zone {
	uint64_t lo, hi; /* pfn range [lo, hi) */
	uint64_t bump;   /* next never-used pfn */
	uint64_t *free;  /* stack of free pfns */
	size_t n_free, cap_free;
};

struct dc_va_free {
	uint64_t *slot; /* stack of free first-page indices; class 0 holds (first, count) pairs */
	size_t n, cap;
};

/* An array reserved read-only whose host pages are made read-write on first use. */
struct dc_lazy {
	uint8_t *base;
	uint64_t elem;  /* bytes per index */
	uint64_t pages; /* host pages of the reservation */
	uint64_t *on;   /* host pages enabled (bitmap) */
	bool per_pfn;   /* indexed by pfn (else by cached-window page) */
};
#define DC_MEM_LAZY 8

#define DC_MEM_RELEASE_BATCH 4096 /* pages (16 MiB) of unmapped window kept before release */
/* Pages of unmapped window left accessible before they are made inaccessible again. */
#define DC_MEM_REPROTECT_BATCH 1024
#define DC_VA_CLASSES 257 /* exact free lists for 1..256 pages; class 0 holds larger ranges */

struct dc_mem {
	int fd;
	uint64_t phys_size, va_size;
	uint8_t *phys;     /* uncached window: PA p at phys + p */
	uint8_t *cwin;     /* cached window */
	uint32_t *pt;      /* cached-window page -> pfn (0: unmapped; pfn 0 is never handed out) */
	uint32_t *rmap;    /* pfn -> cached-window page (0: no cached mapping) */
	uint16_t *present; /* pfn -> lines of that frame present in the cache (kept by machine) */
	uint8_t *fstate;   /* pfn -> 1 while the frame is allocated */
	uint64_t va_bump;  /* next never-used cached-window page */
	struct dc_va_free va_free[DC_VA_CLASSES];
	/* Unmapped spans whose host pages are not yet given back (dc_mem_unmap_guarded), as
	 * (first, count) pairs, and their pages: released together past DC_MEM_RELEASE_BATCH. */
	struct dc_va_free release;
	uint64_t release_pages;
	/* Cached-window pages the host lets be read and written (bitmap), and the unmapped spans
	 * still so, (first, count) pairs: made inaccessible together past DC_MEM_REPROTECT_BATCH
	 * pages, unless mapped again first (which then needs no mprotect). */
	uint64_t *open;
	struct dc_va_free reprotect;
	uint64_t reprotect_pages;
	struct dc_frame_zone zone[DC_ZONE_COUNT];
	uint64_t frames_in_use, pages_mapped;
	bool guard; /* host pages are 4 KiB: protections are kept (else everything is read-write) */
	struct dc_lazy lazy[DC_MEM_LAZY];
	unsigned n_lazy;
	int phys_lazy; /* index of the uncached window in lazy[] */
};

int dc_mem_init(struct dc_mem *m, uint64_t phys_size, uint64_t va_size);
void dc_mem_fini(struct dc_mem *m);

/* One frame from zone z (DC_ZONE_ANY: highest zone with room).  Returns the pfn, 0 if none. */
uint64_t dc_mem_frame_alloc(struct dc_mem *m, enum dc_zone z);
/* n physically contiguous frames; returns the first pfn, 0 if none. */
uint64_t dc_mem_frames_alloc_contig(struct dc_mem *m, uint64_t n, enum dc_zone z);
void dc_mem_frame_free(struct dc_mem *m, uint64_t pfn);

/* Maps n pages of the cached window, each on a fresh frame of zone z (contig: one physically
 * contiguous run).  Returns the first page's address, NULL when memory or VA runs out.  The
 * caller must remove the pages' lines from the cache before dc_mem_unmap (the machine does). */
void *dc_mem_map(struct dc_mem *m, uint64_t n, enum dc_zone z, bool contig);
void dc_mem_unmap(struct dc_mem *m, void *va, uint64_t n);
/* Makes the unmapped pages still accessible (the pending DC_MEM_REPROTECT_BATCH) inaccessible
 * now. */
void dc_mem_reprotect(struct dc_mem *m);
/* As dc_mem_map, with `guard` frameless pages of VA before and after (page table entries 0,
 * host pages inaccessible): what a wild reference just past the run touches.  Unmap with the
 * same n and guard. */
void *dc_mem_map_guarded(struct dc_mem *m, uint64_t n, enum dc_zone z, bool contig, uint64_t guard);
void dc_mem_unmap_guarded(struct dc_mem *m, void *va, uint64_t n, uint64_t guard);

/* Registers an array of elem bytes per frame (per_pfn) or per cached-window page, reserved
 * read-only by the caller: its host pages are enabled as frames or VA come into use.  Call
 * before the first allocation.  DC_ERR_NOMEM if the table is full or the bitmap cannot be had. */
int dc_mem_add_lazy(struct dc_mem *m, void *base, uint64_t elem, bool per_pfn);
/* Makes [pa, pa + len) of the uncached window writable (a device may write any frame). */
void dc_mem_enable_phys(struct dc_mem *m, uint64_t pa, uint64_t len);
/* Makes the host page of the cached window at va read-write (a reference to an unmapped page
 * was reported; the access then proceeds harmlessly). */
void dc_mem_enable_host_page(struct dc_mem *m, const void *va);

static inline bool dc_mem_frame_allocated(const struct dc_mem *m, uint64_t pfn)
{
	return pfn < m->phys_size >> DC_PAGE_SHIFT && m->fstate[pfn];
}

static inline bool dc_mem_in_cached(const struct dc_mem *m, const void *p)
{
	return (uintptr_t)p - (uintptr_t)m->cwin < m->va_size;
}

static inline bool dc_mem_in_uncached(const struct dc_mem *m, const void *p)
{
	return (uintptr_t)p - (uintptr_t)m->phys < m->phys_size;
}

/* Physical address behind a cached- or uncached-window address; DC_PA_INVALID otherwise. */
static inline uint64_t dc_mem_va_to_pa(const struct dc_mem *m, const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)m->cwin;
	if (off < m->va_size) {
		uint32_t pfn = m->pt[off >> DC_PAGE_SHIFT];
		if (!pfn)
			return DC_PA_INVALID;
		return ((uint64_t)pfn << DC_PAGE_SHIFT) | (off & DC_PAGE_MASK);
	}
	off = (uintptr_t)p - (uintptr_t)m->phys;
	if (off < m->phys_size)
		return off;
	return DC_PA_INVALID;
}

/* Cached-window address of physical address pa, NULL if its frame has none. */
static inline uint8_t *dc_mem_pa_to_cached(const struct dc_mem *m, uint64_t pa)
{
	uint32_t page = m->rmap[pa >> DC_PAGE_SHIFT];
	if (!page)
		return NULL;
	return m->cwin + ((uint64_t)page << DC_PAGE_SHIFT) + (pa & DC_PAGE_MASK);
}

/* The memory bytes at physical address pa (the uncached window). */
static inline uint8_t *dc_mem_pa_ptr(const struct dc_mem *m, uint64_t pa)
{
	return m->phys + pa;
}

#endif
