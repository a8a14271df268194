/* Memory as drivers see it: nonpaged pool and contiguous memory in the cached window, MDLs and
 * their system mappings, device register space (MmMapIoSpace), port and register access, and
 * work items.
 *
 * Pool: blocks up to 2 KiB come from power-of-two size classes carved out of single pages
 * (16-byte aligned, as x64 pool; cache-aligned pool types get at least a line), larger ones are
 * whole pages; redzones and a quarantine around them (below).  Bookkeeping lives in host
 * memory, so a driver overrunning a block is reported and corrupts nothing of dmacoh's. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define RA() __builtin_return_address(0)

/* --- Pool ----------------------------------------------------------------------------------- *
 *
 * Memory safety (as Driver Verifier's Special Pool and ASan): every block has redzones the
 * machine's shadow marks (machine.h), which the CPU hooks report as M01.
 *  - Small blocks (power-of-two classes 16 .. 2048): a slab page holds blocks at every other
 *    class slot, so a block keeps the class's natural alignment (at least 16 bytes, as x64
 *    pool) and is followed by a class-sized redzone; the slab has a frameless guard page on
 *    each side.  The bytes of the class past the size asked are redzone too.
 *  - Large blocks: whole pages (page-aligned, as pool for >= PAGE_SIZE), DC_GUARD_PAGES
 *    frameless pages on each side, and the last page's tail past the size asked.
 * Freed blocks (and common buffers, dma.c) are poisoned DC_SH_FREED and wait in a FIFO
 * quarantine bounded in bytes before they can be handed out again: an access meanwhile is M02.
 * Redzones cost virtual addresses and frames for small slabs only; a driver's block never
 * shares a line with another block's bytes where it did not before (the classes' alignment is
 * kept). */

#define POOL_CLASSES 8 /* 16 .. 2048 */
#define POOL_SMALL_MAX 2048u
#define QUARANTINE_BYTES (4u << 20)

struct pool_ent {
	uintptr_t key; /* block address; 0 empty, 1 deleted */
	uint64_t size; /* small: class size; large: pages * PAGE_SIZE */
	uint64_t req;  /* bytes asked */
	uint32_t tag;
	bool large;
};

enum quar_kind { Q_SMALL, Q_LARGE, Q_COMMON_CACHED, Q_COMMON_UNCACHED };

struct quar_ent {
	void *va;
	uint64_t size; /* small: class size; else pages * PAGE_SIZE */
	enum quar_kind kind;
};

struct dc_pool {
	struct pool_ent *tab;
	size_t cap, used, tomb;
	void **free[POOL_CLASSES];
	size_t n_free[POOL_CLASSES], cap_free[POOL_CLASSES];
	void **slabs;
	size_t n_slabs, cap_slabs;
	uint64_t bytes_live;
	struct quar_ent *q; /* FIFO ring */
	size_t q_head, q_n, q_cap;
	uint64_t q_bytes;
};

static size_t hash_ptr(uintptr_t p, size_t cap)
{
	uint64_t h = (uint64_t)p * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 20) & (cap - 1);
}

static struct pool_ent *pool_find(struct dc_pool *p, uintptr_t key)
{
	if (!p->cap)
		return NULL;
	for (size_t i = hash_ptr(key, p->cap), n = 0; n < p->cap; i = (i + 1) & (p->cap - 1), n++) {
		if (p->tab[i].key == 0)
			return NULL;
		if (p->tab[i].key == key)
			return &p->tab[i];
	}
	return NULL;
}

/* Rehashes the table without its tombstones: at twice the size if the live blocks alone would
 * fill over a quarter of it, else at the same size.  (Always doubling grew the table by one
 * slot per block ever freed: a driver allocating a block per request made it grow for as
 * long as it ran.) */
static bool pool_grow(struct dc_pool *p)
{
	size_t ncap = !p->cap ? 1024 : (p->used + 1) * 4 > p->cap ? p->cap * 2 : p->cap;
	struct pool_ent *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return false;
	for (size_t i = 0; i < p->cap; i++) {
		if (p->tab[i].key <= 1)
			continue;
		size_t j = hash_ptr(p->tab[i].key, ncap);
		while (nt[j].key)
			j = (j + 1) & (ncap - 1);
		nt[j] = p->tab[i];
	}
	free(p->tab);
	p->tab = nt;
	p->cap = ncap;
	p->tomb = 0;
	return true;
}

static bool pool_insert(struct dc_pool *p, struct pool_ent e)
{
	if ((p->used + p->tomb + 1) * 2 > p->cap && !pool_grow(p))
		return false;
	size_t i = hash_ptr(e.key, p->cap);
	while (p->tab[i].key > 1)
		i = (i + 1) & (p->cap - 1);
	if (p->tab[i].key == 1)
		p->tomb--;
	p->tab[i] = e;
	p->used++;
	return true;
}

static bool push_ptr(void ***v, size_t *n, size_t *cap, void *x)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void **nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return false;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return true;
}

static unsigned class_of(uint64_t size)
{
	unsigned c = 0;
	while ((16u << c) < size)
		c++;
	return c;
}

/* Gives a quarantined entry back for good. */
static void quar_release(struct dc_sys *s, const struct quar_ent *q)
{
	struct dc_pool *p = s->pool;
	switch (q->kind) {
	case Q_SMALL: {
		unsigned c = class_of(q->size);
		/* If the free list cannot grow the block is leaked, never handed out twice. */
		(void)push_ptr(&p->free[c], &p->n_free[c], &p->cap_free[c], q->va);
		break;
	}
	case Q_LARGE:
	case Q_COMMON_CACHED:
		dc_free_cached_guarded(s->m, q->va, q->size >> DC_PAGE_SHIFT, DC_GUARD_PAGES);
		break;
	case Q_COMMON_UNCACHED:
		dc_free_uncached(s->m, q->va, q->size >> DC_PAGE_SHIFT);
		break;
	}
}

/* Puts freed memory in quarantine (poisoned), then releases the oldest entries beyond the
 * bound.  Without room in the ring the memory is released at once. */
static void quarantine(struct dc_sys *s, void *va, uint64_t size, enum quar_kind kind)
{
	struct dc_pool *p = s->pool;
	struct quar_ent e = {va, size, kind};
	if (kind != Q_COMMON_UNCACHED)
		dc_machine_poison(s->m, va, size, DC_SH_FREED);
	if (p->q_n == p->q_cap) {
		size_t nc = p->q_cap ? p->q_cap * 2 : 256;
		struct quar_ent *nq = malloc(nc * sizeof(*nq));
		if (!nq) {
			quar_release(s, &e);
			return;
		}
		for (size_t i = 0; i < p->q_n; i++)
			nq[i] = p->q[(p->q_head + i) % p->q_cap];
		free(p->q);
		p->q = nq;
		p->q_cap = nc;
		p->q_head = 0;
	}
	p->q[(p->q_head + p->q_n++) % p->q_cap] = e;
	p->q_bytes += size;
	while (p->q_bytes > QUARANTINE_BYTES && p->q_n > 1) {
		struct quar_ent old = p->q[p->q_head];
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_n--;
		p->q_bytes -= old.size;
		quar_release(s, &old);
	}
}

void dc_quarantine_common(struct dc_sys *s, void *va, uint64_t pages, bool cached)
{
	quarantine(s, va, pages << DC_PAGE_SHIFT, cached ? Q_COMMON_CACHED : Q_COMMON_UNCACHED);
}

int dc_pool_create(struct dc_sys *s)
{
	s->pool = calloc(1, sizeof(*s->pool));
	return s->pool ? DC_OK : DC_ERR_NOMEM;
}

size_t dc_pool_table_slots(const struct dc_sys *s)
{
	return s->pool ? s->pool->cap : 0;
}

void dc_pool_destroy(struct dc_sys *s)
{
	struct dc_pool *p = s->pool;
	if (!p)
		return;
	/* Small blocks in quarantine go with their slabs. */
	for (size_t i = 0; i < p->q_n; i++) {
		struct quar_ent *q = &p->q[(p->q_head + i) % p->q_cap];
		if (q->kind != Q_SMALL)
			quar_release(s, q);
	}
	free(p->q);
	for (size_t i = 0; i < p->cap; i++)
		if (p->tab[i].key > 1 && p->tab[i].large)
			dc_free_cached_guarded(s->m, (void *)p->tab[i].key,
			                       p->tab[i].size >> DC_PAGE_SHIFT, DC_GUARD_PAGES);
	for (size_t i = 0; i < p->n_slabs; i++)
		dc_free_cached_guarded(s->m, p->slabs[i], 1, 1);
	for (unsigned c = 0; c < POOL_CLASSES; c++)
		free(p->free[c]);
	free(p->slabs);
	free(p->tab);
	free(p);
	s->pool = NULL;
}

static void pool_event(struct dc_sys *s, enum dc_kev_type t, const void *va, uint64_t len,
                       uint32_t tag, int64_t status, const char *routine, const void *pc)
{
	struct dc_kev e = {.type = t, .pc = pc, .routine = routine, .va = va, .len = len};
	e.value = tag;
	e.status = status;
	dc_kev_emit(s, &e);
}

/* A block of at least `cls` bytes' class for `bytes` asked (the shadow gives out exactly
 * `bytes`). */
static void *pool_alloc(struct dc_sys *s, uint64_t bytes, uint64_t cls, bool zero, uint32_t tag,
                        const char *routine, const void *pc)
{
	struct dc_pool *p = s->pool;
	cls = DC_MAX(DC_MAX(cls, bytes), 1);
	void *blk;
	struct pool_ent e = {.tag = tag, .req = bytes};
	if (cls > POOL_SMALL_MAX) {
		uint64_t pages = (cls + DC_PAGE_SIZE - 1) >> DC_PAGE_SHIFT;
		blk = dc_alloc_cached_guarded(s->m, pages, DC_ZONE_ANY, false, DC_GUARD_PAGES);
		if (!blk)
			return NULL;
		e.large = true;
		e.size = pages << DC_PAGE_SHIFT;
	} else {
		unsigned c = class_of(cls);
		uint32_t csz = 16u << c;
		if (!p->n_free[c]) {
			uint8_t *page = dc_alloc_cached_guarded(s->m, 1, DC_ZONE_ANY, false, 1);
			if (!page)
				return NULL;
			if (!push_ptr(&p->slabs, &p->n_slabs, &p->cap_slabs, page)) {
				dc_free_cached_guarded(s->m, page, 1, 1);
				return NULL;
			}
			dc_machine_poison(s->m, page, DC_PAGE_SIZE, DC_SH_REDZONE);
			/* Every other slot: the one after each block is its redzone. */
			for (uint32_t off = DC_PAGE_SIZE; off >= 2 * csz; off -= 2 * csz)
				if (!push_ptr(&p->free[c], &p->n_free[c], &p->cap_free[c],
				              page + off - 2 * csz))
					return NULL;
		}
		blk = p->free[c][--p->n_free[c]];
		e.size = csz;
	}
	e.key = (uintptr_t)blk;
	if (!pool_insert(p, e)) {
		if (e.large)
			dc_free_cached_guarded(s->m, blk, e.size >> DC_PAGE_SHIFT, DC_GUARD_PAGES);
		else
			(void)push_ptr(&p->free[class_of(e.size)], &p->n_free[class_of(e.size)],
			               &p->cap_free[class_of(e.size)], blk);
		return NULL;
	}
	p->bytes_live += e.size;
	dc_machine_poison(s->m, blk, e.size, DC_SH_REDZONE);
	dc_machine_poison(s->m, blk, bytes, 0);
	pool_event(s, DC_KEV_POOL_ALLOC, blk, bytes, tag, 1, routine, pc);
	if (zero)
		dc_cpu_fill(s->m, blk, 0, bytes);
	return blk;
}

void *dc_pool_alloc(struct dc_sys *s, uint64_t bytes, bool zero, uint32_t tag)
{
	return pool_alloc(s, bytes, 0, zero, tag, "the I/O manager", NULL);
}

static void mdl_unregister_range(struct dc_sys *s, const void *blk, uint64_t len);

static bool pool_free(struct dc_sys *s, void *blk, const char *routine, const void *pc)
{
	struct dc_pool *p = s->pool;
	struct pool_ent *e = pool_find(p, (uintptr_t)blk);
	if (!e) {
		pool_event(s, DC_KEV_POOL_FREE, blk, 0, 0, 0, routine, pc);
		return false;
	}
	struct pool_ent v = *e;
	e->key = 1;
	p->used--;
	p->tomb++;
	p->bytes_live -= v.size;
	pool_event(s, DC_KEV_POOL_FREE, blk, v.req, v.tag, 1, routine, pc);
	mdl_unregister_range(s, blk, v.size);
	quarantine(s, blk, v.size, v.large ? Q_LARGE : Q_SMALL);
	return true;
}

bool dc_pool_free(struct dc_sys *s, void *blk)
{
	return pool_free(s, blk, "the I/O manager", NULL);
}

static void *pool_alloc_typed(struct dc_sys *s, POOL_TYPE type, SIZE_T n, ULONG tag, bool zero,
                              const char *routine, const void *pc)
{
	/* Cache-aligned pool types start on a line: use a class at least a line big. */
	uint64_t cls = 0;
	if (type & 4) /* the CacheAligned pool types */
		cls = s->m->plat.line_size;
	return pool_alloc(s, n, cls, zero, tag, routine, pc);
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExAllocatePoolWithTag", PASSIVE_LEVEL,
	                (PoolType & 1) ? APC_LEVEL : DISPATCH_LEVEL, RA());
	return pool_alloc_typed(s, PoolType, NumberOfBytes, Tag, false, "ExAllocatePoolWithTag",
	                        RA());
}

PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExAllocatePool", PASSIVE_LEVEL,
	                (PoolType & 1) ? APC_LEVEL : DISPATCH_LEVEL, RA());
	return pool_alloc_typed(s, PoolType, NumberOfBytes, 'enoN', false, "ExAllocatePool", RA());
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExAllocatePool2", PASSIVE_LEVEL,
	                (Flags & POOL_FLAG_PAGED) ? APC_LEVEL : DISPATCH_LEVEL, RA());
	POOL_TYPE t = (Flags & POOL_FLAG_CACHE_ALIGNED) ? NonPagedPoolCacheAligned : NonPagedPool;
	return pool_alloc_typed(s, t, NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED),
	                        "ExAllocatePool2", RA());
}

void ExFreePoolWithTag(PVOID P, ULONG Tag)
{
	(void)Tag;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExFreePool", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!pool_free(s, P, "ExFreePoolWithTag", RA()))
		dc_kbugcheck(s, 0x000000C2 /* BAD_POOL_CALLER */,
		             "ExFreePool of memory not from pool", RA());
}

void ExFreePool(PVOID P)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExFreePool", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!pool_free(s, P, "ExFreePool", RA()))
		dc_kbugcheck(s, 0x000000C2 /* BAD_POOL_CALLER */,
		             "ExFreePool of memory not from pool", RA());
}

/* --- Contiguous memory ----------------------------------------------------------------------- */

struct contig {
	struct contig *next;
	void *va;
	uint64_t pages;
	bool cached;
};
static _Thread_local struct contig *contigs;

static enum dc_zone zone_below(PHYSICAL_ADDRESS highest)
{
	uint64_t h = (uint64_t)highest.QuadPart;
	if (h < (UINT64_C(16) << 20))
		return DC_ZONE_ISA;
	if (h < (UINT64_C(4) << 30))
		return DC_ZONE_DMA32;
	return DC_ZONE_ANY;
}

PVOID MmAllocateContiguousMemorySpecifyCache(SIZE_T NumberOfBytes,
                                             PHYSICAL_ADDRESS LowestAcceptableAddress,
                                             PHYSICAL_ADDRESS HighestAcceptableAddress,
                                             PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                             MEMORY_CACHING_TYPE CacheType)
{
	(void)LowestAcceptableAddress, (void)BoundaryAddressMultiple;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmAllocateContiguousMemorySpecifyCache", PASSIVE_LEVEL, PASSIVE_LEVEL,
	                RA());
	if (NumberOfBytes == 0)
		return NULL;
	uint64_t pages = (NumberOfBytes + DC_PAGE_SIZE - 1) >> DC_PAGE_SHIFT;
	struct contig *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	enum dc_zone z = zone_below(HighestAcceptableAddress);
	c->cached = CacheType != MmNonCached;
	c->va =
	    c->cached ? dc_alloc_cached(s->m, pages, z, true) : dc_alloc_uncached(s->m, pages, z);
	if (!c->va) {
		free(c);
		return NULL;
	}
	c->pages = pages;
	c->next = contigs;
	contigs = c;
	return c->va;
}

PVOID MmAllocateContiguousMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS HighestAcceptableAddress)
{
	PHYSICAL_ADDRESS zero = {.QuadPart = 0};
	return MmAllocateContiguousMemorySpecifyCache(NumberOfBytes, zero, HighestAcceptableAddress,
	                                              zero, MmCached);
}

void MmFreeContiguousMemory(PVOID BaseAddress)
{
	struct dc_sys *s = dc_k();
	for (struct contig **pp = &contigs; *pp; pp = &(*pp)->next) {
		struct contig *c = *pp;
		if (c->va != BaseAddress)
			continue;
		*pp = c->next;
		if (c->cached)
			dc_free_cached(s->m, c->va, c->pages);
		else
			dc_free_uncached(s->m, c->va, c->pages);
		free(c);
		return;
	}
	dc_kbugcheck(s, 0x000000C2, "MmFreeContiguousMemory of memory it did not allocate", RA());
}

/* --- Addresses ------------------------------------------------------------------------------- */

void *dc_uva_of(struct dc_sys *s, const void *sysva)
{
	if (!dc_mem_in_cached(&s->m->mem, sysva))
		return (void *)sysva;
	return s->uva + ((const uint8_t *)sysva - s->m->mem.cwin);
}

bool dc_is_uva(struct dc_sys *s, const void *p)
{
	return s->uva && (uintptr_t)p - (uintptr_t)s->uva < s->m->mem.va_size;
}

/* The frame behind any address a driver may build an MDL over (0: none). */
static uint64_t pfn_of(struct dc_sys *s, const void *va)
{
	if (dc_is_uva(s, va))
		va = s->m->mem.cwin + ((const uint8_t *)va - s->uva);
	uint64_t pa = dc_va_to_pa(s->m, va);
	return pa == DC_PA_INVALID ? 0 : pa >> DC_PAGE_SHIFT;
}

PHYSICAL_ADDRESS MmGetPhysicalAddress(PVOID BaseAddress)
{
	struct dc_sys *s = dc_k();
	PHYSICAL_ADDRESS r = {.QuadPart = 0};
	uint64_t pfn = pfn_of(s, BaseAddress);
	if (pfn)
		r.QuadPart =
		    (LONGLONG)((pfn << DC_PAGE_SHIFT) | ((uintptr_t)BaseAddress & DC_PAGE_MASK));
	return r;
}

BOOLEAN MmIsAddressValid(PVOID VirtualAddress)
{
	struct dc_sys *s = dc_k();
	return dc_va_to_pa(s->m, VirtualAddress) != DC_PA_INVALID;
}

/* --- MDLs ----------------------------------------------------------------------------------- */

/* --- The MDL registry --------------------------------------------------------------------------
 * A set of pointers (open addressing, linear probing, backward-shift delete: s->live_mdls has
 * s->cap_live_mdls slots, a power of two, NULL empty): O(1) per check on every MapTransfer.
 * Only membership is asked, never the order, so the host addresses it is keyed by change
 * nothing a run reports. */

static size_t mdl_slot(const void *mdl, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)mdl * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 24) & (cap - 1);
}

static bool mdl_live(const struct dc_sys *s, const void *mdl)
{
	if (!s->cap_live_mdls || !mdl)
		return false;
	size_t i = mdl_slot(mdl, s->cap_live_mdls);
	while (s->live_mdls[i] && s->live_mdls[i] != mdl)
		i = (i + 1) & (s->cap_live_mdls - 1);
	return s->live_mdls[i] != NULL;
}

static void mdl_register(struct dc_sys *s, PMDL mdl)
{
	if (!s || !mdl)
		return;
	if ((s->n_live_mdls + 1) * 2 > s->cap_live_mdls) {
		size_t nc = s->cap_live_mdls ? s->cap_live_mdls * 2 : 64;
		void **nt = calloc(nc, sizeof(*nt));
		if (!nt)
			return;
		for (size_t i = 0; i < s->cap_live_mdls; i++) {
			if (!s->live_mdls[i])
				continue;
			size_t j = mdl_slot(s->live_mdls[i], nc);
			while (nt[j])
				j = (j + 1) & (nc - 1);
			nt[j] = s->live_mdls[i];
		}
		free(s->live_mdls);
		s->live_mdls = nt;
		s->cap_live_mdls = nc;
	}
	size_t i = mdl_slot(mdl, s->cap_live_mdls);
	while (s->live_mdls[i] && s->live_mdls[i] != mdl)
		i = (i + 1) & (s->cap_live_mdls - 1);
	if (!s->live_mdls[i]) {
		s->live_mdls[i] = mdl;
		s->n_live_mdls++;
	}
}

/* Removes mdl from the registry; false if it was not there. */
static bool mdl_unregister(struct dc_sys *s, const void *mdl)
{
	if (!s->cap_live_mdls || !mdl)
		return false;
	size_t cap = s->cap_live_mdls, i = mdl_slot(mdl, cap);
	while (s->live_mdls[i] && s->live_mdls[i] != mdl)
		i = (i + 1) & (cap - 1);
	if (!s->live_mdls[i])
		return false;
	s->live_mdls[i] = NULL;
	s->n_live_mdls--;
	for (size_t j = (i + 1) & (cap - 1); s->live_mdls[j]; j = (j + 1) & (cap - 1)) {
		size_t home = mdl_slot(s->live_mdls[j], cap);
		if (((j - home) & (cap - 1)) >= ((j - i) & (cap - 1))) {
			s->live_mdls[i] = s->live_mdls[j];
			s->live_mdls[j] = NULL;
			i = j;
		}
	}
	return true;
}

/* A pool block [blk, blk + len) is freed: the caller-owned MDLs built inside it
 * (MmBuildMdlForNonPagedPool, MmProbeAndLockPages, IoBuildPartialMdl) are MDLs no more.  Costs
 * the smaller of the block's length and the registry's size. */
static void mdl_unregister_range(struct dc_sys *s, const void *blk, uint64_t len)
{
	const uint8_t *b = blk;
	if (!s->n_live_mdls || !len)
		return;
	if (len <= s->cap_live_mdls) {
		for (uint64_t k = 0; k < len; k++)
			(void)mdl_unregister(s, b + k);
		return;
	}
	for (size_t i = 0; i < s->cap_live_mdls;) {
		const uint8_t *m = s->live_mdls[i];
		/* A removal may shift a later entry into slot i: look at it again. */
		if (m && m >= b && (uint64_t)(m - b) < len && mdl_unregister(s, m))
			continue;
		i++;
	}
}

const char *dc_mdl_bad(struct dc_sys *s, const void *p)
{
	if (!p)
		return "a NULL MDL";
	if (!mdl_live(s, p))
		return "not an MDL: never allocated by IoAllocateMdl nor built by "
		       "MmBuildMdlForNonPagedPool, MmProbeAndLockPages or IoBuildPartialMdl (freed "
		       "already, a wild pointer, or other bytes)";
	const MDL *m = p;
	if (m->ByteOffset >= DC_PAGE_SIZE || (uintptr_t)m->StartVa & DC_PAGE_MASK)
		return "a corrupt MDL: StartVa/ByteOffset are not a page and an offset in it";
	uint64_t pages =
	    ADDRESS_AND_SIZE_TO_SPAN_PAGES((uint8_t *)m->StartVa + m->ByteOffset, m->ByteCount);
	if (m->Size < 0 || (uint64_t)m->Size < sizeof(MDL) + pages * sizeof(PFN_NUMBER))
		return "a corrupt MDL: ByteCount spans more pages than its PFN array holds";
	return NULL;
}

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length)
{
	return sizeof(MDL) + sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES(Base, Length);
}

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
                   PIRP Irp)
{
	(void)ChargeQuota;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoAllocateMdl", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (Length == 0)
		return NULL;
	SIZE_T sz = MmSizeOfMdl(VirtualAddress, Length);
	PMDL mdl = calloc(1, sz);
	if (!mdl)
		return NULL;
	MmInitializeMdl(mdl, VirtualAddress, Length);
	mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
	mdl_register(s, mdl);
	if (Irp) {
		if (!SecondaryBuffer) {
			Irp->MdlAddress = mdl;
		} else {
			PMDL *pp = &Irp->MdlAddress;
			while (*pp)
				pp = &(*pp)->Next;
			*pp = mdl;
		}
	}
	return mdl;
}

void IoFreeMdl(PMDL Mdl)
{
	struct dc_sys *s = dc_k();
	if (!Mdl)
		return;
	if (s && !mdl_unregister(s, Mdl)) {
		dc_kbugcheck(s, 0x000000C2 /* BAD_POOL_CALLER */,
		             "IoFreeMdl of an MDL that is not allocated (freed already?)", RA());
		return;
	}
	if ((Mdl->MdlFlags & MDL_PAGES_LOCKED) && !(Mdl->MdlFlags & MDL_PARTIAL))
		dc_kbugcheck(s, 0x00000076 /* PROCESS_HAS_LOCKED_PAGES */,
		             "IoFreeMdl of an MDL whose pages are still locked", RA());
	free(Mdl);
}

static ULONG mdl_pages(PMDL m)
{
	return (ULONG)ADDRESS_AND_SIZE_TO_SPAN_PAGES((uint8_t *)m->StartVa + m->ByteOffset,
	                                             m->ByteCount);
}

static void fill_pfns(struct dc_sys *s, PMDL mdl, const void *pc)
{
	PPFN_NUMBER pfn = MmGetMdlPfnArray(mdl);
	ULONG n = mdl_pages(mdl);
	for (ULONG i = 0; i < n; i++) {
		pfn[i] = pfn_of(s, (uint8_t *)mdl->StartVa + (uint64_t)i * DC_PAGE_SIZE);
		if (!pfn[i]) {
			dc_kbugcheck(
			    s, 0x00000050 /* PAGE_FAULT_IN_NONPAGED_AREA */,
			    "MDL over memory that is not simulated memory (stack, globals?)", pc);
			break;
		}
	}
}

void MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
	struct dc_sys *s = dc_k();
	PMDL m = MemoryDescriptorList;
	mdl_register(s, m);
	fill_pfns(s, m, RA());
	m->MappedSystemVa = (uint8_t *)m->StartVa + m->ByteOffset;
	m->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

void MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                         LOCK_OPERATION Operation)
{
	(void)AccessMode, (void)Operation;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmProbeAndLockPages", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	mdl_register(s, MemoryDescriptorList);
	fill_pfns(s, MemoryDescriptorList, RA());
	MemoryDescriptorList->MdlFlags |= MDL_PAGES_LOCKED;
}

void MmUnlockPages(PMDL MemoryDescriptorList)
{
	struct dc_sys *s = dc_k();
	if (!(MemoryDescriptorList->MdlFlags & MDL_PAGES_LOCKED)) {
		dc_kbugcheck(s, 0x0000004E /* PFN_LIST_CORRUPT */,
		             "MmUnlockPages of unlocked pages", RA());
		return;
	}
	MemoryDescriptorList->MdlFlags &=
	    (CSHORT) ~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
}

void *dc_mdl_sysva(struct dc_sys *s, PMDL mdl, uint64_t off)
{
	uint64_t at = mdl->ByteOffset + off;
	PFN_NUMBER pfn = MmGetMdlPfnArray(mdl)[at >> DC_PAGE_SHIFT];
	uint64_t pa = ((uint64_t)pfn << DC_PAGE_SHIFT) | (at & DC_PAGE_MASK);
	uint8_t *c = dc_mem_pa_to_cached(&s->m->mem, pa);
	return c ? c : dc_mem_pa_ptr(&s->m->mem, pa);
}

int dc_mdl_pieces(struct dc_sys *s, PMDL mdl, uint64_t off, uint64_t len,
                  struct dc_mapreg_piece *out, uint32_t max)
{
	if (!mdl || dc_mdl_bad(s, mdl) || len == 0 || off + len > mdl->ByteCount || off + len < off)
		return DC_ERR_INVAL;
	uint32_t n = 0;
	while (len) {
		uint64_t at = mdl->ByteOffset + off;
		PFN_NUMBER pfn = MmGetMdlPfnArray(mdl)[at >> DC_PAGE_SHIFT];
		if (!pfn)
			return DC_ERR_INVAL;
		uint64_t chunk = DC_MIN(len, DC_PAGE_SIZE - (at & DC_PAGE_MASK));
		if (n == max)
			return DC_ERR_RANGE;
		out[n].pa = ((uint64_t)pfn << DC_PAGE_SHIFT) | (at & DC_PAGE_MASK);
		out[n].va = dc_mdl_sysva(s, mdl, off);
		out[n].len = (uint32_t)chunk;
		n++;
		off += chunk;
		len -= chunk;
	}
	return (int)n;
}

struct dc_kev_piece *dc_mdl_kev_pieces(struct dc_sys *s, PMDL mdl, uint64_t off, uint64_t len,
                                       uint32_t *n)
{
	*n = 0;
	if (!mdl || dc_mdl_bad(s, mdl) || !len || off + len > mdl->ByteCount)
		return NULL;
	uint32_t max = (uint32_t)(len / DC_PAGE_SIZE + 2);
	struct dc_mapreg_piece *p = malloc(max * sizeof(*p));
	struct dc_kev_piece *k = malloc(max * sizeof(*k));
	int got = p && k ? dc_mdl_pieces(s, mdl, off, len, p, max) : DC_ERR_NOMEM;
	if (got <= 0) {
		free(p);
		free(k);
		return NULL;
	}
	for (int i = 0; i < got; i++)
		k[i] = (struct dc_kev_piece){
		    .va = p[i].va, .pa = p[i].pa, .logical = 0, .len = p[i].len};
	free(p);
	*n = (uint32_t)got;
	return k;
}

PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                   ULONG BugCheckOnFailure, ULONG Priority)
{
	(void)AccessMode, (void)CacheType, (void)RequestedAddress, (void)BugCheckOnFailure,
	    (void)Priority;
	struct dc_sys *s = dc_k();
	PMDL m = MemoryDescriptorList;
	dc_irql_require(s, "MmMapLockedPagesSpecifyCache", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	void *va = NULL;
	if (m->MdlFlags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL)) {
		/* The system mapping is the cached window: the pages must be consecutive there (an
		 * application buffer always is); otherwise mapping fails, as under PTE pressure. */
		ULONG n = mdl_pages(m);
		PPFN_NUMBER pfn = MmGetMdlPfnArray(m);
		uint8_t *first =
		    pfn[0] ? dc_mem_pa_to_cached(&s->m->mem, (uint64_t)pfn[0] << DC_PAGE_SHIFT)
		           : NULL;
		bool ok = first != NULL;
		for (ULONG i = 1; ok && i < n; i++)
			ok = pfn[i] &&
			     dc_mem_pa_to_cached(&s->m->mem, (uint64_t)pfn[i] << DC_PAGE_SHIFT) ==
			         first + (uint64_t)i * DC_PAGE_SIZE;
		if (ok) {
			va = first + m->ByteOffset;
			m->MappedSystemVa = va;
			m->MdlFlags |= (m->MdlFlags & MDL_PARTIAL) ? MDL_PARTIAL_HAS_BEEN_MAPPED
			                                           : MDL_MAPPED_TO_SYSTEM_VA;
		}
	}
	struct dc_kev e = {.type = DC_KEV_MDL_MAP,
	                   .routine = "MmGetSystemAddressForMdlSafe",
	                   .pc = RA(),
	                   .mdl = m,
	                   .va = va};
	dc_kev_emit(s, &e);
	return va;
}

void MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)
{
	(void)BaseAddress;
	MemoryDescriptorList->MdlFlags &=
	    (CSHORT) ~(MDL_MAPPED_TO_SYSTEM_VA | MDL_PARTIAL_HAS_BEEN_MAPPED);
}

void IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
	struct dc_sys *s = dc_k();
	uint8_t *src_va = (uint8_t *)MmGetMdlVirtualAddress(SourceMdl);
	uint64_t off = (uint64_t)((uint8_t *)VirtualAddress - src_va);
	if (Length == 0)
		Length = SourceMdl->ByteCount - (ULONG)off;
	if ((uint8_t *)VirtualAddress < src_va || off + Length > SourceMdl->ByteCount) {
		dc_kbugcheck(s, 0x0000001E, "IoBuildPartialMdl range outside the source MDL", RA());
		return;
	}
	mdl_register(s, TargetMdl);
	TargetMdl->StartVa = PAGE_ALIGN(VirtualAddress);
	TargetMdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
	TargetMdl->ByteCount = Length;
	TargetMdl->MdlFlags =
	    (CSHORT)((TargetMdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE) | MDL_PARTIAL |
	             (SourceMdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL));
	uint64_t first = (SourceMdl->ByteOffset + off) >> DC_PAGE_SHIFT;
	ULONG n = (ULONG)ADDRESS_AND_SIZE_TO_SPAN_PAGES(VirtualAddress, Length);
	memcpy(MmGetMdlPfnArray(TargetMdl), MmGetMdlPfnArray(SourceMdl) + first,
	       n * sizeof(PFN_NUMBER));
	if (SourceMdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) {
		TargetMdl->MappedSystemVa = (uint8_t *)SourceMdl->MappedSystemVa + off;
		if (SourceMdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
			TargetMdl->MdlFlags |= MDL_PARTIAL_HAS_BEEN_MAPPED;
	}
}

/* --- Register space and ports ----------------------------------------------------------------- */

/* Simulated cost of one access, in ns: an ISA port cycle, a PCI read round trip, a posted PCI
 * write.  Time passes while the CPU waits, so a polling loop makes progress. */
#define PORT_NS 1000u
#define MMIO_READ_NS 500u
#define MMIO_WRITE_NS 100u

PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                   MEMORY_CACHING_TYPE CacheType)
{
	(void)CacheType;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmMapIoSpace", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	uint64_t pa = (uint64_t)PhysicalAddress.QuadPart;
	if (NumberOfBytes == 0)
		return NULL;
	/* Memory itself: the uncached window is its non-cached mapping. */
	if (pa + NumberOfBytes <= s->m->mem.phys_size)
		return dc_mem_pa_ptr(&s->m->mem, pa);
	uint64_t base = pa & ~DC_PAGE_MASK;
	uint64_t len = ((pa + NumberOfBytes + DC_PAGE_MASK) & ~DC_PAGE_MASK) - base;
	uint64_t off = 0;
	int slot = -1;
	for (int i = 0; i < DC_IOMAP_MAX; i++) {
		if (s->iomaps[i].used)
			off = DC_MAX(off, s->iomaps[i].off + s->iomaps[i].len + DC_PAGE_SIZE);
		else if (slot < 0)
			slot = i;
	}
	if (slot < 0 || off + len > DC_IOSPACE_SIZE)
		return NULL;
	s->iomaps[slot] = (struct dc_iomap){.off = off, .pa = base, .len = len, .used = true};
	return s->iospace + off + (pa - base);
}

void MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
	struct dc_sys *s = dc_k();
	(void)NumberOfBytes;
	uintptr_t off = (uintptr_t)BaseAddress - (uintptr_t)s->iospace;
	if (dc_mem_in_uncached(&s->m->mem, BaseAddress))
		return;
	for (int i = 0; i < DC_IOMAP_MAX; i++)
		if (s->iomaps[i].used && off >= s->iomaps[i].off &&
		    off < s->iomaps[i].off + s->iomaps[i].len) {
			s->iomaps[i].used = false;
			return;
		}
	dc_kbugcheck(s, 0x0000001E, "MmUnmapIoSpace of an address MmMapIoSpace did not return",
	             RA());
}

/* The bus address behind a mapped register address, or DC_PA_INVALID. */
static uint64_t io_pa(struct dc_sys *s, const volatile void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)s->iospace;
	if (off >= DC_IOSPACE_SIZE)
		return DC_PA_INVALID;
	for (int i = 0; i < DC_IOMAP_MAX; i++)
		if (s->iomaps[i].used && off >= s->iomaps[i].off &&
		    off < s->iomaps[i].off + s->iomaps[i].len)
			return s->iomaps[i].pa + (off - s->iomaps[i].off);
	return DC_PA_INVALID;
}

static uint64_t reg_read(struct dc_sys *s, const volatile void *p, unsigned size, const void *pc)
{
	uint64_t pa = io_pa(s, p);
	uint64_t v = 0;
	if (pa != DC_PA_INVALID) {
		if (size == 8) {
			v = dc_bus_mmio_read(&s->m->bus, pa, 4);
			v |= (uint64_t)dc_bus_mmio_read(&s->m->bus, pa + 4, 4) << 32;
		} else {
			v = dc_bus_mmio_read(&s->m->bus, pa, size);
		}
		dc_ksync(s, DC_SYNC_DEVICE, NULL, 0); /* a status register says what was done */
	} else if ((uintptr_t)p - (uintptr_t)s->iospace < DC_IOSPACE_SIZE) {
		struct dc_kev e = {.type = DC_KEV_BAD_ACCESS,
		                   .routine = "register read outside any MmMapIoSpace mapping",
		                   .pc = pc,
		                   .va = (const void *)p};
		dc_kev_emit(s, &e);
		v = UINT64_MAX;
	} else {
		/* Memory (READ_REGISTER_* on a common buffer is legal): through the cache model. */
		dc_ktouch(s, (const void *)p, size, false);
		memcpy(&v, (const void *)p, size);
	}
	dc_sys_advance(s, MMIO_READ_NS);
	return v;
}

static void reg_write(struct dc_sys *s, volatile void *p, uint64_t v, unsigned size, const void *pc)
{
	dc_ksync(s, DC_SYNC_RELEASE, &s->irq_pending, 0); /* ordered before its interrupt */
	uint64_t pa = io_pa(s, p);
	if (pa != DC_PA_INVALID) {
		if (size == 8) {
			dc_bus_mmio_write(&s->m->bus, pa, (uint32_t)v, 4);
			dc_bus_mmio_write(&s->m->bus, pa + 4, (uint32_t)(v >> 32), 4);
		} else {
			dc_bus_mmio_write(&s->m->bus, pa, (uint32_t)v, size);
		}
	} else if ((uintptr_t)p - (uintptr_t)s->iospace < DC_IOSPACE_SIZE) {
		struct dc_kev e = {.type = DC_KEV_BAD_ACCESS,
		                   .routine = "register write outside any MmMapIoSpace mapping",
		                   .pc = pc,
		                   .va = (const void *)p};
		dc_kev_emit(s, &e);
	} else {
		dc_ktouch(s, (const void *)p, size, true);
		memcpy((void *)p, &v, size);
	}
	dc_sys_advance(s, MMIO_WRITE_NS);
}

#define REG_RW(T, SUF, SZ)                                                             \
	T READ_REGISTER_##SUF(volatile T *Register)                                    \
	{                                                                              \
		return (T)reg_read(dc_k(), Register, SZ, RA());                        \
	}                                                                              \
	void WRITE_REGISTER_##SUF(volatile T *Register, T Value)                       \
	{                                                                              \
		reg_write(dc_k(), Register, Value, SZ, RA());                          \
	}                                                                              \
	void READ_REGISTER_BUFFER_##SUF(volatile T *Register, T *Buffer, ULONG Count)  \
	{                                                                              \
		struct dc_sys *s = dc_k();                                             \
		for (ULONG i = 0; i < Count; i++) {                                    \
			T v = (T)reg_read(s, Register, SZ, RA());                      \
			dc_cpu_ref(s->m, &Buffer[i], SZ, DC_ACC_WRITE, RA());          \
			Buffer[i] = v;                                                 \
		}                                                                      \
	}                                                                              \
	void WRITE_REGISTER_BUFFER_##SUF(volatile T *Register, T *Buffer, ULONG Count) \
	{                                                                              \
		struct dc_sys *s = dc_k();                                             \
		for (ULONG i = 0; i < Count; i++) {                                    \
			dc_cpu_ref(s->m, &Buffer[i], SZ, DC_ACC_READ, RA());           \
			reg_write(s, Register, Buffer[i], SZ, RA());                   \
		}                                                                      \
	}

REG_RW(UCHAR, UCHAR, 1)
REG_RW(USHORT, USHORT, 2)
REG_RW(ULONG, ULONG, 4)
REG_RW(ULONG64, ULONG64, 8)

static uint32_t port_read(struct dc_sys *s, const void *port, unsigned size)
{
	uint32_t v = dc_bus_port_read(&s->m->bus, (uint32_t)(uintptr_t)port & 0xFFFF, size);
	dc_ksync(s, DC_SYNC_DEVICE, NULL, 0); /* a status port says what was done */
	dc_sys_advance(s, PORT_NS);
	return v;
}

static void port_write(struct dc_sys *s, const void *port, uint32_t v, unsigned size)
{
	dc_ksync(s, DC_SYNC_RELEASE, &s->irq_pending, 0); /* ordered before its interrupt */
	dc_bus_port_write(&s->m->bus, (uint32_t)(uintptr_t)port & 0xFFFF, v, size);
	dc_sys_advance(s, PORT_NS);
}

/* The buffer forms move the data with the CPU: the driver's buffer is touched through the
 * cache model on the driver's behalf (pc = its call site), as its own stores would be. */
#define PORT_RW(T, SUF, SZ)                                                   \
	T READ_PORT_##SUF(T *Port)                                            \
	{                                                                     \
		return (T)port_read(dc_k(), Port, SZ);                        \
	}                                                                     \
	void WRITE_PORT_##SUF(T *Port, T Value)                               \
	{                                                                     \
		port_write(dc_k(), Port, Value, SZ);                          \
	}                                                                     \
	void READ_PORT_BUFFER_##SUF(T *Port, T *Buffer, ULONG Count)          \
	{                                                                     \
		struct dc_sys *s = dc_k();                                    \
		for (ULONG i = 0; i < Count; i++) {                           \
			T v = (T)port_read(s, Port, SZ);                      \
			dc_cpu_ref(s->m, &Buffer[i], SZ, DC_ACC_WRITE, RA()); \
			Buffer[i] = v;                                        \
		}                                                             \
	}                                                                     \
	void WRITE_PORT_BUFFER_##SUF(T *Port, T *Buffer, ULONG Count)         \
	{                                                                     \
		struct dc_sys *s = dc_k();                                    \
		for (ULONG i = 0; i < Count; i++) {                           \
			dc_cpu_ref(s->m, &Buffer[i], SZ, DC_ACC_READ, RA());  \
			port_write(s, Port, Buffer[i], SZ);                   \
		}                                                             \
	}

PORT_RW(UCHAR, UCHAR, 1)
PORT_RW(USHORT, USHORT, 2)
PORT_RW(ULONG, ULONG, 4)

/* --- Work items ------------------------------------------------------------------------------ */

struct _IO_WORKITEM {
	PDEVICE_OBJECT dev;
	PIO_WORKITEM_ROUTINE routine;
	PVOID ctx;
	bool queued;
	struct dc_event ev;
	struct dc_sys *s;
};

static void work_run(void *opaque)
{
	PIO_WORKITEM w = opaque;
	struct dc_sys *s = w->s;
	/* A worker thread runs at PASSIVE_LEVEL; until the processor gets there, retry. */
	if (s->irql != PASSIVE_LEVEL) {
		dc_event_schedule(&s->m->clock, &w->ev, s->m->clock.now + 1000);
		return;
	}
	w->queued = false;
	/* Under --schedule a work item runs on a processor of its own turn (sched.c). */
	uint32_t prev = s->mp.sched != DC_SCHED_NONE
	                    ? dc_mp_enter(s, dc_mp_thread_cpu(s, ~(uint64_t)0))
	                    : dc_machine_cpu(s->m);
	dc_ksync(s, DC_SYNC_ENTER, w, DC_CTX_WORKITEM);
	w->routine(w->dev, w->ctx);
	dc_ksync(s, DC_SYNC_LEAVE, w, DC_CTX_WORKITEM);
	dc_mp_enter(s, prev);
	dc_sys_deliver(s);
}

PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
	struct dc_sys *s = dc_k();
	PIO_WORKITEM w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->dev = DeviceObject;
	w->s = s;
	dc_event_init(&w->ev, "IO_WORKITEM", work_run, w);
	return w;
}

void IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                     WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	(void)QueueType;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoQueueWorkItem", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!IoWorkItem || IoWorkItem->queued) {
		dc_kbugcheck(s, 0x000000E4 /* WORKER_INVALID */, "work item queued twice", RA());
		return;
	}
	IoWorkItem->routine = WorkerRoutine;
	IoWorkItem->ctx = Context;
	IoWorkItem->queued = true;
	dc_ksync(s, DC_SYNC_RELEASE, IoWorkItem, 0);
	dc_event_schedule(&s->m->clock, &IoWorkItem->ev, s->m->clock.now);
}

void IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
	struct dc_sys *s = dc_k();
	if (!IoWorkItem)
		return;
	if (IoWorkItem->queued) {
		dc_kbugcheck(s, 0x000000E4 /* WORKER_INVALID */,
		             "IoFreeWorkItem of a queued work item", RA());
		dc_event_cancel(&s->m->clock, &IoWorkItem->ev);
	}
	free(IoWorkItem);
}
