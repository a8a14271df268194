/* The machine: glue between memory, the cache model, the adversary, the DMA side of memory and
 * observers.  See machine.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "machine.h"

#define OBS_EACH(m, member, ...)                                                          \
	do {                                                                              \
		dc_machine_obs_sync(m);                                                   \
		for (unsigned oi_ = 0; oi_ < (m)->n_obs; oi_++)                           \
			if ((m)->obs[oi_]->member)                                        \
				(m)->obs[oi_]->member((m)->obs_opaque[oi_], __VA_ARGS__); \
	} while (0)

static inline uint64_t *present_of(const struct dc_machine *m, uint64_t pa)
{
	return m->present_bits + (pa >> DC_PAGE_SHIFT) * m->present_words;
}

static inline void present_set(struct dc_machine *m, uint64_t line_pa, bool on)
{
	uint32_t i = (uint32_t)((line_pa & DC_PAGE_MASK) >> m->cache.line_shift);
	uint64_t bit = UINT64_C(1) << (i & 63), *w = &present_of(m, line_pa)[i >> 6];
	*w = on ? *w | bit : *w & ~bit;
}

/* Index of the first present line of pa's frame in [i, last], or -1. */
static inline long present_next(const struct dc_machine *m, uint64_t pa, uint32_t i, uint32_t last)
{
	const uint64_t *w = present_of(m, pa);
	while (i <= last) {
		uint64_t bits = w[i >> 6] >> (i & 63);
		if (bits) {
			i += (uint32_t)__builtin_ctzll(bits);
			return i <= last ? (long)i : -1;
		}
		i = (i | 63) + 1;
	}
	return -1;
}

static void on_fill(void *opaque, uint64_t line_pa, uint8_t *data)
{
	struct dc_machine *m = opaque;
	present_set(m, line_pa, true);
	memcpy(data, dc_mem_pa_ptr(&m->mem, line_pa), m->cache.line_size);
	m->mem.present[line_pa >> DC_PAGE_SHIFT]++;
	OBS_EACH(m, cache_fill, line_pa, m->in_adversary);
}

static void on_writeback(void *opaque, uint64_t line_pa, const uint8_t *data)
{
	struct dc_machine *m = opaque;
	DC_ASSERT(data); /* a present line has a cached mapping (on_line_data) */
	memcpy(dc_mem_pa_ptr(&m->mem, line_pa), data, m->cache.line_size);
	if (m->in_adversary)
		m->st.adversary_writebacks++;
	OBS_EACH(m, cache_writeback, line_pa);
}

static void on_gone(void *opaque, uint64_t line_pa)
{
	struct dc_machine *m = opaque;
	uint16_t *p = &m->mem.present[line_pa >> DC_PAGE_SHIFT];
	present_set(m, line_pa, false);
	DC_ASSERT(*p > 0);
	(*p)--;
	OBS_EACH(m, cache_gone, line_pa);
}

/* A present line's bytes: its frame's cached mapping (one per frame; a frame is unmapped only
 * after its lines were cleaned and invalidated, dc_free_cached_guarded). */
static uint8_t *on_line_data(void *opaque, uint64_t line_pa)
{
	struct dc_machine *m = opaque;
	return dc_mem_pa_to_cached(&m->mem, line_pa);
}

static const struct dc_cache_ops machine_cache_ops = {
    .fill = on_fill,
    .writeback = on_writeback,
    .gone = on_gone,
    .line_data = on_line_data,
};

/* References until the next random eviction: geometric with parameter random_evict. */
static uint64_t next_eviction(struct dc_machine *m)
{
	double p = m->plat.adv.random_evict;
	if (p <= 0)
		return UINT64_MAX;
	if (p >= 1)
		return 1;
	double u = dc_rng_unit(&m->adv_rng);
	double k = floor(log1p(-u) / log1p(-p)) + 1;
	return k >= 1e18 ? UINT64_MAX : (uint64_t)k;
}

static void outer_update(struct dc_machine *m);

int dc_machine_create(const struct dc_platform *p, struct dc_machine **out)
{
	char err[256];
	*out = NULL;
	if (dc_platform_validate(p, err, sizeof(err)) < 0)
		return DC_ERR_INVAL;
	struct dc_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return DC_ERR_NOMEM;
	m->plat = *p;
	int rc = dc_mem_init(&m->mem, p->phys_size, p->va_size);
	if (rc < 0) {
		free(m);
		return rc;
	}
	rc = dc_cache_init(&m->cache, p, &machine_cache_ops, m, p->seed ^ 0xcac4e5eedull);
	if (rc < 0) {
		dc_mem_fini(&m->mem);
		free(m);
		return rc;
	}
	outer_update(m);
	/* Sparse like memory itself: only frames that ever held a cached line cost a page. */
	m->present_words = (DC_PAGE_SIZE / p->line_size + 63) / 64;
	size_t bytes = (size_t)(p->phys_size >> DC_PAGE_SHIFT) * m->present_words * 8;
	/* Read-only until used (mem.h): a wild store into them faults. */
	int ro = m->mem.guard ? PROT_READ : PROT_READ | PROT_WRITE;
	void *bits = mmap(NULL, bytes, ro, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *msh = mmap(NULL, p->va_size >> DC_SH_GRANULE_SHIFT, ro,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (bits == MAP_FAILED || msh == MAP_FAILED ||
	    dc_mem_add_lazy(&m->mem, bits, (uint64_t)m->present_words * 8, true) < 0 ||
	    dc_mem_add_lazy(&m->mem, msh, DC_PAGE_SIZE >> DC_SH_GRANULE_SHIFT, false) < 0) {
		if (bits != MAP_FAILED)
			munmap(bits, bytes);
		if (msh != MAP_FAILED)
			munmap(msh, p->va_size >> DC_SH_GRANULE_SHIFT);
		dc_cache_fini(&m->cache);
		dc_mem_fini(&m->mem);
		free(m);
		return DC_ERR_NOMEM;
	}
	m->present_bits = bits;
	m->msh = msh;
	dc_clock_init(&m->clock);
	dc_irq_init(&m->irq);
	dc_bus_init(&m->bus);
	dc_rng_seed(&m->adv_rng, p->seed ^ 0xad5e55a1ull);
	m->evict_countdown = next_eviction(m);
	*out = m;
	return DC_OK;
}

void dc_machine_destroy(struct dc_machine *m)
{
	if (!m)
		return;
	if (dc_machine_current() == m)
		dc_machine_set_current(NULL);
	dc_clock_fini(&m->clock);
	dc_cache_fini(&m->cache);
	munmap(m->present_bits,
	       (size_t)(m->plat.phys_size >> DC_PAGE_SHIFT) * m->present_words * 8);
	munmap(m->msh, m->plat.va_size >> DC_SH_GRANULE_SHIFT);
	dc_mem_fini(&m->mem);
	free(m);
}

static void report_cpu(struct dc_machine *m, const struct dc_quiet *q, uint32_t off, uint32_t n,
                       bool write, const void *pc)
{
	for (unsigned i = 0; i < m->n_obs; i++)
		if (m->obs[i]->cpu_access)
			m->obs[i]->cpu_access(m->obs_opaque[i], q->va + off, q->pa + off, n, write,
			                      true, pc);
}

/* What a quiet slot gathered (machine.h): one write per run of bytes by the last writer, then
 * the last read if it came after and by another pc than the last reported; the slot is then
 * free for the next vote. */
static void flush_slot(struct dc_machine *m, struct dc_quiet *q)
{
	uint64_t pend = q->pend;
	q->on = false;
	q->pend = 0;
	if (m->q_mru == q)
		m->q_mru = NULL;
	m->q_on = m->q[0].on || m->q[1].on;
	while (pend) {
		uint32_t lo = (uint32_t)__builtin_ctzll(pend);
		uint64_t rest = ~(pend >> lo);
		uint32_t n = rest ? (uint32_t)__builtin_ctzll(rest) : 64 - lo;
		report_cpu(m, q, lo, n, true, q->wpc);
		q->tpc = q->wpc;
		pend = n + lo >= 64 ? 0 : pend & ~(((UINT64_C(1) << n) - 1) << lo);
	}
	if (q->rpc && q->rpc != q->tpc)
		report_cpu(m, q, q->roff, q->rsize, false, q->rpc);
	q->rpc = NULL;
}

/* Every slot, the one used longer ago first. */
void dc_machine_obs_flush(struct dc_machine *m)
{
	unsigned first = m->q_last ^ 1u;
	for (unsigned i = 0; i < 2; i++)
		if (m->q[first ^ i].on)
			flush_slot(m, &m->q[first ^ i]);
	m->q_on = false;
}

static void count_observers(struct dc_machine *m)
{
	m->n_obs_cpu = m->n_obs_access = m->n_obs_no_run = 0;
	for (unsigned i = 0; i < m->n_obs; i++) {
		m->n_obs_cpu += m->obs[i]->cpu_access != NULL;
		m->n_obs_no_run += m->obs[i]->cpu_access && !m->obs[i]->cpu_run;
		m->n_obs_access += m->obs[i]->cpu_access || m->obs[i]->mem_fault;
	}
}

int dc_machine_add_observer(struct dc_machine *m, const struct dc_observer *o, void *opaque)
{
	dc_machine_obs_sync(m);
	if (m->n_obs == DC_MAX_OBSERVERS)
		return DC_ERR_NOMEM;
	m->obs[m->n_obs] = o;
	m->obs_opaque[m->n_obs] = opaque;
	m->n_obs++;
	count_observers(m);
	return DC_OK;
}

void dc_machine_remove_observer(struct dc_machine *m, const struct dc_observer *o, void *opaque)
{
	dc_machine_obs_sync(m);
	for (unsigned i = 0; i < m->n_obs; i++) {
		if (m->obs[i] == o && m->obs_opaque[i] == opaque) {
			memmove(&m->obs[i], &m->obs[i + 1], (m->n_obs - i - 1) * sizeof(m->obs[0]));
			memmove(&m->obs_opaque[i], &m->obs_opaque[i + 1],
			        (m->n_obs - i - 1) * sizeof(m->obs_opaque[0]));
			m->n_obs--;
			count_observers(m);
			return;
		}
	}
}

int dc_machine_dma_source(struct dc_machine *m, const char *name)
{
	for (unsigned i = 0; i < m->n_dma_sources; i++)
		if (!strcmp(m->dma_source_name[i], name))
			return (int)i;
	if (m->n_dma_sources == DC_MAX_DMA_SOURCES)
		return DC_ERR_NOMEM;
	m->dma_source_name[m->n_dma_sources] = name;
	return (int)m->n_dma_sources++;
}

int dc_machine_dma_source_get(struct dc_machine *m, const char *name)
{
	for (unsigned i = 0; i < m->n_dma_sources; i++)
		if (!(m->dma_source_held & (1u << i)) && !strcmp(m->dma_source_name[i], name)) {
			m->dma_source_held |= 1u << i;
			return (int)i;
		}
	if (m->n_dma_sources == DC_MAX_DMA_SOURCES)
		return DC_ERR_NOMEM;
	m->dma_source_name[m->n_dma_sources] = name;
	m->dma_source_held |= 1u << m->n_dma_sources;
	return (int)m->n_dma_sources++;
}

void dc_machine_dma_source_put(struct dc_machine *m, int source)
{
	if (source >= 0 && (unsigned)source < m->n_dma_sources)
		m->dma_source_held &= ~(1u << source);
}

/* --- Memory for buffers ------------------------------------------------------------------ */

void dc_machine_poison(struct dc_machine *m, const void *va, uint64_t len, uint8_t kind)
{
	if (!dc_mem_in_cached(&m->mem, va) || !len)
		return;
	dc_machine_obs_sync(m); /* the fast path's line may change: report what it gathered */
	uint64_t off = (uint64_t)((const uint8_t *)va - m->mem.cwin);
	DC_ASSERT(!(off & (DC_SH_GRANULE - 1)));
	len = DC_MIN(len, m->mem.va_size - off);
	uint8_t *sh = m->msh + (off >> DC_SH_GRANULE_SHIFT);
	uint64_t full = len >> DC_SH_GRANULE_SHIFT, part = len & (DC_SH_GRANULE - 1);
	memset(sh, kind, full);
	if (part)
		sh[full] = kind ? kind : (uint8_t)part;
	/* The hook's fast paths remember lines, not bytes: forget them. */
	m->mru_vline = UINT64_MAX;
}

void *dc_alloc_cached_guarded(struct dc_machine *m, uint64_t pages, enum dc_zone z, bool contig,
                              uint64_t guard)
{
	uint8_t *va = dc_mem_map_guarded(&m->mem, pages, z, contig, guard);
	if (va && guard) {
		dc_machine_poison(m, va - (guard << DC_PAGE_SHIFT), guard << DC_PAGE_SHIFT,
		                  DC_SH_REDZONE);
		dc_machine_poison(m, va + (pages << DC_PAGE_SHIFT), guard << DC_PAGE_SHIFT,
		                  DC_SH_REDZONE);
	}
	return va;
}

void *dc_alloc_cached(struct dc_machine *m, uint64_t pages, enum dc_zone z, bool contig)
{
	return dc_alloc_cached_guarded(m, pages, z, contig, 0);
}

void dc_free_cached_guarded(struct dc_machine *m, void *va, uint64_t pages, uint64_t guard)
{
	/* The frames go to other owners: their lines must leave the cache first (dirty bytes are
	 * written back, as a real cache eventually would), since the next owner's lines will be
	 * looked up by the same physical tags. */
	dc_cpu_cache_range(m, va, pages << DC_PAGE_SHIFT, DC_CACHE_CLEAN_INVAL, true);
	dc_machine_poison(m, (uint8_t *)va - (guard << DC_PAGE_SHIFT),
	                  (pages + 2 * guard) << DC_PAGE_SHIFT, 0);
	dc_mem_unmap_guarded(&m->mem, va, pages, guard);
}

void dc_free_cached(struct dc_machine *m, void *va, uint64_t pages)
{
	dc_free_cached_guarded(m, va, pages, 0);
}

void *dc_alloc_uncached(struct dc_machine *m, uint64_t pages, enum dc_zone z)
{
	uint64_t pfn = dc_mem_frames_alloc_contig(&m->mem, pages, z);
	return pfn ? dc_mem_pa_ptr(&m->mem, pfn << DC_PAGE_SHIFT) : NULL;
}

void dc_free_uncached(struct dc_machine *m, void *va, uint64_t pages)
{
	uint64_t pa = dc_va_to_pa(m, va);
	DC_ASSERT(pa != DC_PA_INVALID && !(pa & DC_PAGE_MASK) && dc_mem_in_uncached(&m->mem, va));
	for (uint64_t i = 0; i < pages; i++)
		dc_mem_frame_free(&m->mem, (pa >> DC_PAGE_SHIFT) + i);
}

/* --- The CPU side ------------------------------------------------------------------------ */

static void adversary_before_ref(struct dc_machine *m)
{
	if (DC_LIKELY(--m->evict_countdown))
		return;
	m->in_adversary = true;
	if (dc_cache_evict_random(&m->cache))
		m->st.random_evictions++;
	m->in_adversary = false;
	m->evict_countdown = next_eviction(m);
}

/* Speculative fills of the next lines of the same page after a CPU fill (ARM-like). */
static void prefetch_after_fill(struct dc_machine *m, uint64_t pa, uint8_t *va, enum dc_access a)
{
	uint32_t ls = m->cache.line_size;
	uint64_t line = pa & ~(uint64_t)(ls - 1);
	uint8_t *vline = va - (pa - line);
	m->in_adversary = true;
	for (uint32_t k = 1; k <= m->plat.adv.prefetch_lines; k++) {
		uint64_t npa = line + (uint64_t)k * ls;
		if ((npa ^ line) >> DC_PAGE_SHIFT)
			break;
		if (dc_cache_prefetch(&m->cache, npa, vline + (uint64_t)k * ls))
			m->st.speculative_fills++;
	}
	m->in_adversary = false;
	/* A prefetch may have pushed the referenced line out of a tiny cache: reference it again,
	 * as the same kind of access, so the caller's access lands in a present line — and a
	 * store in a dirty one (as a read the line came back clean, and the store made after
	 * this hook returned was dropped at its eviction: wrong data on every platform). */
	if (dc_cache_probe(&m->cache, pa, NULL) < 0)
		dc_cache_access_slow(&m->cache, pa, va, a);
}

/* One reference inside a single line of the cached window. */
__attribute__((always_inline)) static inline void ref_line(struct dc_machine *m, uint8_t *va,
                                                           uint64_t pa, enum dc_access a)
{
	adversary_before_ref(m);
	uint32_t lvl = dc_cache_access(&m->cache, pa, va, a);
	if (lvl == m->cache.n_levels && m->plat.adv.prefetch_lines)
		prefetch_after_fill(m, pa, va, a);
	m->mru_vline = (uint64_t)(va - m->mem.cwin) >> m->cache.line_shift;
	m->mru_ctag = m->cache.mru_tag;
	m->q_mru = NULL; /* until quiet_begin gives this line a slot */
	if (m->mru_ctag)
		m->l1_hint[m->mru_vline & (DC_LINE_HINTS - 1)] = (uint32_t)m->cache.mru_k;
}

/* ref_line for a reference that is likely an L1 hit (driver code's, dc_cpu_ref): the line the
 * hints remember at this virtual line, if L1 still holds there the tag the page table gives
 * now, is hit as dc_cache_access would hit it, without searching the set (what dc_cpu_hook's
 * inline path does with no observer).  Anything else: ref_line. */
__attribute__((always_inline)) static inline void ref_line_hinted(struct dc_machine *m, uint8_t *va,
                                                                  uint64_t pa, enum dc_access a)
{
	uint32_t shift = m->cache.line_shift;
	uint64_t vl = (uint64_t)(va - m->mem.cwin) >> shift;
	uint32_t k = m->l1_hint[vl & (DC_LINE_HINTS - 1)];
	if (m->cache.l1->tag[k] == (pa >> shift) + 1 && m->evict_countdown > 1) {
		m->evict_countdown--;
		dc_cache_l1_hit_at(&m->cache, k, a);
		m->mru_vline = vl;
		m->mru_ctag = m->cache.mru_tag;
		m->q_mru = NULL;
		return;
	}
	ref_line(m, va, pa, a);
}

/* outer_lo, outer_size: the hull of the windows other than the cached one (empty ones
 * ignored).  An address outside it is none of dmacoh's, whatever the windows hold. */
static void outer_update(struct dc_machine *m)
{
	uintptr_t base[3] = {(uintptr_t)m->mem.phys, m->trap_base, m->host_base};
	uint64_t size[3] = {m->mem.phys_size, m->trap_size, m->host_size};
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (!size[i])
			continue;
		lo = DC_MIN(lo, base[i]);
		hi = DC_MAX(hi, base[i] + (uintptr_t)size[i]);
	}
	m->outer_lo = lo <= hi ? lo : 0;
	m->outer_size = lo <= hi ? hi - lo : 0;
}

void dc_machine_set_trap(struct dc_machine *m, const void *base, uint64_t size,
                         void (*fn)(void *opaque, const void *va, uint64_t len, bool write,
                                    const void *pc),
                         void *opaque)
{
	m->trap_base = (uintptr_t)base;
	m->trap_size = fn ? size : 0;
	m->trap_fn = fn;
	m->trap_opaque = opaque;
	m->trap_open_lo = m->trap_open_hi = 0;
	outer_update(m);
}

void dc_machine_set_host_span(struct dc_machine *m, const void *base, uint64_t size)
{
	m->host_base = (uintptr_t)base;
	m->host_size = size;
	outer_update(m);
}

void dc_cpu_atomic(struct dc_machine *m, const void *va, uint32_t len, int mo, bool rmw)
{
	OBS_EACH(m, atomic, va, len, mo, rmw);
}

/* Offset in [off, off + n) of the first byte the shadow does not give out, or n. */
static uint64_t shadow_bad(const struct dc_machine *m, uint64_t off, uint64_t n)
{
	const uint8_t *sh = m->msh + (off >> DC_SH_GRANULE_SHIFT);
	uint64_t last = (off + n - 1) >> DC_SH_GRANULE_SHIFT, g0 = off >> DC_SH_GRANULE_SHIFT;
	for (uint64_t g = g0; g <= last; g++, sh++) {
		uint8_t v = *sh;
		if (!v)
			continue;
		uint64_t lo = g << DC_SH_GRANULE_SHIFT;
		uint64_t from = DC_MAX(lo, off), to = DC_MIN(lo + DC_SH_GRANULE, off + n);
		if (v < DC_SH_GRANULE) {
			if (to - lo <= v)
				continue;
			from = DC_MAX(from, lo + v);
		}
		return from - off;
	}
	return n;
}

/* Is every byte of [off, off + n) (n at most a line) given out?  The hot path: a driver
 * reference is at most 16 bytes, so two shadow bytes (its first and last granule) decide;
 * zero means the whole granule. */
static inline bool shadow_clean(const struct dc_machine *m, uint64_t off, uint64_t n)
{
	if (DC_LIKELY(n <= DC_SH_GRANULE))
		return !(m->msh[off >> DC_SH_GRANULE_SHIFT] |
		         m->msh[(off + n - 1) >> DC_SH_GRANULE_SHIFT]);
	/* A whole line (range copies): its shadow bytes or-ed a word at a time; any nonzero one
	 * and shadow_bad decides. */
	const uint8_t *sh = m->msh + (off >> DC_SH_GRANULE_SHIFT);
	uint64_t cnt = ((off + n - 1) >> DC_SH_GRANULE_SHIFT) - (off >> DC_SH_GRANULE_SHIFT) + 1;
	uint64_t acc = 0;
	for (; cnt >= 8; cnt -= 8, sh += 8) {
		uint64_t v;
		memcpy(&v, sh, 8);
		acc |= v;
	}
	if (cnt >= 4) {
		uint32_t v;
		memcpy(&v, sh, 4);
		acc |= v;
		sh += 4;
		cnt -= 4;
	}
	for (; cnt; cnt--)
		acc |= *sh++;
	return !acc || shadow_bad(m, off, n) == n;
}

/* One line's reference that touches a page with no frame or bytes the shadow does not give
 * out (or a partial granule): reported to observers when driver code made it (M01-M03),
 * then carried out harmlessly. */
__attribute__((noinline)) static void ref_line_checked(struct dc_machine *m, uint8_t *q,
                                                       uint64_t pa, uint64_t n, enum dc_access a,
                                                       const void *pc)
{
	uint64_t off = (uint64_t)(q - m->mem.cwin);
	uint64_t bad = shadow_bad(m, off, n);
	if (pa == DC_PA_INVALID) {
		/* A guard page is a redzone; anything else maps nothing.  The host page is then
		 * enabled so that the access itself does not fault. */
		uint8_t v = m->msh[(off + (bad < n ? bad : 0)) >> DC_SH_GRANULE_SHIFT];
		int kind = v == DC_SH_REDZONE ? DC_MEMF_REDZONE
		           : v == DC_SH_FREED ? DC_MEMF_FREED
		                              : DC_MEMF_UNMAPPED;
		if (pc)
			OBS_EACH(m, mem_fault, q, (uint32_t)n, a == DC_ACC_WRITE,
			         q + (bad < n ? bad : 0), kind, pc);
		dc_mem_enable_host_page(&m->mem, q);
		return;
	}
	if (bad < n && pc) {
		int kind = m->msh[(off + bad) >> DC_SH_GRANULE_SHIFT] == DC_SH_FREED
		               ? DC_MEMF_FREED
		               : DC_MEMF_REDZONE;
		OBS_EACH(m, mem_fault, q, (uint32_t)n, a == DC_ACC_WRITE, q + bad, kind, pc);
	}
	ref_line(m, q, pa, a);
}

/* Every observer of CPU accesses voted after a reference by pc to the line of q: further
 * ones may stay in dc_cpu_hook's fast paths (a quiet slot, machine.h) if the whole line is given
 * out (no mem_fault can be due in it) and no more than 64 bytes. */
static void quiet_begin(struct dc_machine *m, uint8_t *q, uint64_t pa, const void *pc)
{
	uint32_t ls = m->cache.line_size;
	uint64_t loff = (uint64_t)(q - m->mem.cwin) & ~(uint64_t)(ls - 1);
	if (ls > 64 || m->mru_vline != loff >> m->cache.line_shift || !shadow_clean(m, loff, ls))
		return;
	/* A free slot, else the one used longer ago, its references reported first (the
	 * reference just reported was to another line: dc_cpu_ref flushed this line's slot). */
	unsigned i = !m->q[0].on ? 0 : !m->q[1].on ? 1 : m->q_last ^ 1u;
	struct dc_quiet *s = &m->q[i];
	if (s->on)
		flush_slot(m, s);
	s->on = true; /* field by field: the rest is left as flush_slot leaves it */
	s->cpu = m->cache.cur;
	s->vline = loff >> m->cache.line_shift;
	s->va = m->mem.cwin + loff;
	s->pa = pa & ~(uint64_t)(ls - 1);
	s->pend = 0;
	s->tpc = pc;
	s->rpc = NULL;
	m->q_on = true;
	m->q_last = (uint8_t)i;
	m->q_mru = s;
}

/* Where dc_cpu_hook's inline paths did not apply.  With observers of CPU accesses, an L1 hit
 * (on the line the hints remember) in a quiet slot's line is gathered there, off dc_cpu_ref,
 * unless a scheduler tick is due (dc_cpu_ref takes it). */
void dc_cpu_hook_rest(struct dc_machine *m, const void *va, uint32_t size, enum dc_access a,
                      const void *pc)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)m->mem.cwin;
	struct dc_quiet *q = m->n_obs_access && m->q_on ? dc_cpu_quiet_slot(m, off) : NULL;
	if (q) {
		uint32_t shift = m->cache.line_shift;
		uint64_t vl = off >> shift;
		uint32_t k = m->l1_hint[vl & (DC_LINE_HINTS - 1)];
		uint64_t pa = ((uint64_t)m->mem.pt[off >> DC_PAGE_SHIFT] << DC_PAGE_SHIFT) |
		              (off & DC_PAGE_MASK);
		bool tick = m->tick_every && pc;
		if (m->cache.l1->tag[k] == (pa >> shift) + 1 && ((off + size - 1) >> shift) == vl &&
		    m->evict_countdown > 1 && q->pa == (pa & ~(uint64_t)(m->cache.line_size - 1)) &&
		    !(tick && m->tick_n + 1 >= m->tick_every)) {
			if (tick)
				m->tick_n++;
			m->evict_countdown--;
			dc_cache_l1_hit_at(&m->cache, k, a);
			m->mru_vline = vl;
			m->mru_ctag = m->cache.l1->tag[k];
			m->q_mru = q;
			m->q_last = (uint8_t)(q - m->q);
			if (a == DC_ACC_READ)
				m->st.reads++;
			else
				m->st.writes++;
			dc_cpu_gather(m, q, off, size, a, pc);
			return;
		}
	}
	dc_cpu_ref(m, va, size, a, pc);
}

/* dc_cpu_ref would count a scheduler tick for any address with a pc, so only the windows'
 * own addresses go there. */
void dc_cpu_hook_outer(struct dc_machine *m, const void *va, uint32_t size, enum dc_access a,
                       const void *pc)
{
	if ((uintptr_t)va - (uintptr_t)m->mem.phys < m->mem.phys_size ||
	    (uintptr_t)va - m->trap_base < m->trap_size ||
	    (uintptr_t)va - m->host_base < m->host_size)
		dc_cpu_ref(m, va, size, a, pc);
}

/* Before a reference to [p, p + len) that is not gathered: the slots of its lines, and those of
 * another processor, report what they gathered.  The other slots stay (machine.h). */
static inline void sync_lines(struct dc_machine *m, const uint8_t *p, uint64_t len)
{
	uintptr_t lo = (uintptr_t)p - (uintptr_t)m->mem.cwin, hi = lo + len - 1;
	uint32_t sh = m->cache.line_shift;
	for (unsigned i = 0; i < 2; i++) {
		struct dc_quiet *q = &m->q[i];
		if (q->on &&
		    (q->vline - (lo >> sh) <= (hi >> sh) - (lo >> sh) || q->cpu != m->cache.cur))
			flush_slot(m, q);
	}
}

/* A write reference over several lines: the caller stores its bytes after dc_cpu_ref returns,
 * so every line must still be present then, or the store lands in the window of a line that is
 * gone and the next fill brings the old memory back (a lost store).  Referencing the later
 * lines can push an earlier one out (their fills, the prefetch after them, a random eviction):
 * such a line is referenced again, as prefetch_after_fill does for a single line.  A few
 * passes settle it (each pass needs another eviction of a line just brought back). */
static bool keep_written(struct dc_machine *m, uint8_t *p, uint8_t *end)
{
	uint32_t ls = m->cache.line_size;
	for (unsigned pass = 0; pass < 8; pass++) {
		bool all = true;
		for (uint8_t *q = p; q < end; q = (uint8_t *)(((uintptr_t)q | (ls - 1)) + 1)) {
			uint64_t pa = dc_mem_va_to_pa(&m->mem, q);
			bool dirty = false;
			if (pa != DC_PA_INVALID &&
			    (dc_cache_probe(&m->cache, pa, &dirty) < 0 || !dirty)) {
				all = false;
				ref_line(m, q, pa, DC_ACC_WRITE);
			}
		}
		if (all)
			return true;
	}
	return false;
}

/* The caller of a write reference keep_written could not keep present has stored its bytes
 * by now (it stores before it calls the machine again): in a line that is gone they are only
 * in the window, where the line's next fill would overwrite them with memory's old bytes.
 * They go to memory, exactly the range's bytes (a line's other bytes in the window may be older
 * than memory's), as the line's write-back would have taken them had the store come while it
 * was present.  Observers heard of the reference, and of each line's eviction, already. */
static void spill_commit(struct dc_machine *m)
{
	uint8_t *p = m->spill_va, *end = p + m->spill_len;
	uint32_t ls = m->cache.line_size;
	m->spill_len = 0;
	for (uint8_t *q = p; q < end;) {
		uint8_t *next = (uint8_t *)(((uintptr_t)q | (ls - 1)) + 1);
		uint64_t n = (uint64_t)((next < end ? next : end) - q);
		uint64_t pa = dc_mem_va_to_pa(&m->mem, q);
		if (pa != DC_PA_INVALID && dc_cache_probe(&m->cache, pa, NULL) < 0)
			memcpy(dc_mem_pa_ptr(&m->mem, pa), q, n);
		q = next;
	}
}

static inline void spill_check(struct dc_machine *m)
{
	if (DC_UNLIKELY(m->spill_len))
		spill_commit(m);
}

void dc_cpu_ref(struct dc_machine *m, const void *va, uint64_t len, enum dc_access a,
                const void *pc)
{
	if (!len)
		return;
	spill_check(m);
	uint8_t *p = (uint8_t *)va;
	uint64_t woff = (uint64_t)((uintptr_t)p - (uintptr_t)m->mem.cwin);
	if (m->q_on) {
		if (woff < m->mem.va_size)
			sync_lines(m, p, DC_MIN(len, m->mem.va_size - woff));
		else
			dc_machine_obs_flush(m);
	}
	if (DC_UNLIKELY(m->tick_every) && pc && ++m->tick_n >= m->tick_every) {
		m->tick_n = 0;
		m->tick_fn(m->tick_opaque);
	}
	if (woff < m->mem.va_size) {
		uint32_t ls = m->cache.line_size;
		/* A range never runs past the window (the shadow ends there). */
		uint8_t *end = p + DC_MIN(len, m->mem.va_size - woff);
		if (a == DC_ACC_READ)
			m->st.reads++;
		else
			m->st.writes++;
		for (uint8_t *q = p; q < end;) {
			uint8_t *next = (uint8_t *)(((uintptr_t)q | (ls - 1)) + 1);
			uint64_t pa = dc_mem_va_to_pa(&m->mem, q);
			uint64_t n = (uint64_t)((next < end ? next : end) - q);
			bool clean =
			    pa != DC_PA_INVALID && shadow_clean(m, (uint64_t)(q - m->mem.cwin), n);
			if (DC_LIKELY(clean))
				ref_line_hinted(m, q, pa, a);
			else
				ref_line_checked(m, q, pa, n, a, pc);
			if (m->n_obs_access) {
				m->q_votes = 0;
				/* Not OBS_EACH: the other lines' slots stay (sync_lines). */
				for (unsigned oi = 0; oi < m->n_obs; oi++)
					if (m->obs[oi]->cpu_access)
						m->obs[oi]->cpu_access(m->obs_opaque[oi], q, pa,
						                       (uint32_t)n,
						                       a == DC_ACC_WRITE, true, pc);
				if (clean && pc && m->q_votes == m->n_obs_cpu)
					quiet_begin(m, q, pa, pc);
			}
			q = next;
		}
		if (a == DC_ACC_WRITE &&
		    (uintptr_t)(end - 1) >> m->cache.line_shift !=
		        (uintptr_t)p >> m->cache.line_shift &&
		    !keep_written(m, p, end)) {
			m->spill_va = p;
			m->spill_len = (uint64_t)(end - p);
		}
	} else if (dc_mem_in_uncached(&m->mem, p)) {
		m->st.uncached++;
		uint64_t pa = dc_mem_va_to_pa(&m->mem, p);
		uint64_t n = DC_MIN(len, m->mem.phys_size - pa);
		/* A frame nothing allocated has no mapping on Windows: reported, then the page is
		 * enabled so that the access itself is harmless. */
		if (DC_UNLIKELY(!dc_mem_frame_allocated(&m->mem, pa >> DC_PAGE_SHIFT) ||
		                !dc_mem_frame_allocated(&m->mem, (pa + n - 1) >> DC_PAGE_SHIFT))) {
			uint64_t bad = dc_mem_frame_allocated(&m->mem, pa >> DC_PAGE_SHIFT)
			                   ? ((pa + n - 1) & ~DC_PAGE_MASK) - pa
			                   : 0;
			if (pc)
				OBS_EACH(m, mem_fault, p, (uint32_t)n, a == DC_ACC_WRITE, p + bad,
				         DC_MEMF_UNMAPPED, pc);
			dc_mem_enable_phys(&m->mem, pa, n);
		}
		OBS_EACH(m, cpu_access, p, pa, (uint32_t)len, a == DC_ACC_WRITE, false, pc);
	} else if ((uintptr_t)p - m->host_base < m->host_size) {
		OBS_EACH(m, host_access, p, (uint32_t)len, a == DC_ACC_WRITE, pc);
	} else if ((uintptr_t)p - m->trap_base < m->trap_size) {
		m->trap_fn(m->trap_opaque, p, len, a == DC_ACC_WRITE, pc);
		/* The trap range is reserved inaccessible: once reported, let the access land. */
		if (m->mem.guard) {
			uintptr_t lo = (uintptr_t)p & ~(uintptr_t)DC_PAGE_MASK;
			uintptr_t hi =
			    ((uintptr_t)p + len + DC_PAGE_MASK) & ~(uintptr_t)DC_PAGE_MASK;
			hi = DC_MIN(hi, m->trap_base + m->trap_size);
			if (lo < m->trap_open_lo || hi > m->trap_open_hi) {
				(void)mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE);
				m->trap_open_lo = lo;
				m->trap_open_hi = hi;
			}
		}
	}
}

/* dc_cpu_read/dc_cpu_write/dc_cpu_fill's range form: what dc_cpu_ref does once per call (the
 * gathered accesses' flush, the window test) is done once per run of lines, then each line is
 * referenced as dc_cpu_ref(m, line, n, a, NULL) would (same counts; with no pc nothing ticks and
 * no fast path starts) and its bytes are copied (host == NULL: set to `byte`) while it is
 * present.  Observers hear of the lines a page at a time (cpu_run) when all of them can, else
 * line by line.  False (nothing done) for a range not wholly inside the cached window. */
static bool cpu_copy_lines(struct dc_machine *m, uint8_t *va, uint8_t *host, uint64_t len,
                           enum dc_access a, int byte)
{
	uint64_t woff = (uint64_t)((uintptr_t)va - (uintptr_t)m->mem.cwin);
	if (woff >= m->mem.va_size || len > m->mem.va_size - woff)
		return false;
	spill_check(m);
	dc_machine_obs_sync(m);
	uint32_t ls = m->cache.line_size;
	bool write = a == DC_ACC_WRITE, runs = m->n_obs_access && !m->n_obs_no_run;
	uint8_t *run_va = va;
	uint64_t run_pa = 0;
	for (uint8_t *q = va, *end = va + len; q < end;) {
		uint8_t *next = (uint8_t *)(((uintptr_t)q | (ls - 1)) + 1);
		uint64_t n = (uint64_t)((next < end ? next : end) - q);
		uint64_t pa = dc_mem_va_to_pa(&m->mem, q);
		if (write)
			m->st.writes++;
		else
			m->st.reads++;
		if (DC_LIKELY(pa != DC_PA_INVALID &&
		              shadow_clean(m, (uint64_t)(q - m->mem.cwin), n)))
			ref_line(m, q, pa, a);
		else
			ref_line_checked(m, q, pa, n, a, NULL);
		if (runs) {
			if (q == run_va)
				run_pa = pa;
			/* The run ends with its page, or where the range does. */
			if (!(((uintptr_t)next - (uintptr_t)m->mem.cwin) & DC_PAGE_MASK) ||
			    next >= end) {
				uint32_t rn = (uint32_t)(q + n - run_va);
				OBS_EACH(m, cpu_run, run_va, run_pa, rn, write);
				run_va = q + n;
			}
		} else if (m->n_obs_access) {
			m->q_votes = 0;
			OBS_EACH(m, cpu_access, q, pa, (uint32_t)n, write, true, NULL);
		}
		if (!host)
			memset(q, byte, n);
		else if (write)
			memcpy(q, host, n);
		else
			memcpy(host, q, n);
		if (host)
			host += n;
		q = next;
	}
	return true;
}

/* Copies line by line so that each line is present while its bytes are touched. */
void dc_cpu_read(struct dc_machine *m, const void *va, void *dst, uint64_t len)
{
	const uint8_t *s = va;
	uint8_t *d = dst;
	if (len && cpu_copy_lines(m, (uint8_t *)(uintptr_t)s, d, len, DC_ACC_READ, 0))
		return;
	uint32_t ls = m->cache.line_size;
	while (len) {
		uint64_t n = DC_MIN(len, ls - ((uintptr_t)s & (ls - 1)));
		dc_cpu_ref(m, s, n, DC_ACC_READ, NULL);
		memcpy(d, s, n);
		s += n, d += n, len -= n;
	}
}

void dc_cpu_write(struct dc_machine *m, void *va, const void *src, uint64_t len)
{
	uint8_t *d = va;
	const uint8_t *s = src;
	if (len && cpu_copy_lines(m, d, (uint8_t *)(uintptr_t)s, len, DC_ACC_WRITE, 0))
		return;
	uint32_t ls = m->cache.line_size;
	while (len) {
		uint64_t n = DC_MIN(len, ls - ((uintptr_t)d & (ls - 1)));
		dc_cpu_ref(m, d, n, DC_ACC_WRITE, NULL);
		memcpy(d, s, n);
		s += n, d += n, len -= n;
	}
}

void dc_cpu_fill_pc(struct dc_machine *m, void *va, int byte, uint64_t len, const void *pc)
{
	uint8_t *d = va;
	if (!pc && len && cpu_copy_lines(m, d, NULL, len, DC_ACC_WRITE, byte))
		return;
	uint32_t ls = m->cache.line_size;
	while (len) {
		uint64_t n = DC_MIN(len, ls - ((uintptr_t)d & (ls - 1)));
		dc_cpu_ref(m, d, n, DC_ACC_WRITE, pc);
		memset(d, byte, n);
		d += n, len -= n;
	}
}

void dc_cpu_fill(struct dc_machine *m, void *va, int byte, uint64_t len)
{
	dc_cpu_fill_pc(m, va, byte, len, NULL);
}

uint64_t dc_cpu_cache_range(struct dc_machine *m, const void *va, uint64_t len, enum dc_cache_op op,
                            bool force)
{
	spill_check(m);
	if (!len || (m->plat.coherency == DC_COHERENT && !force))
		return 0;
	const uint8_t *p = va;
	if (!dc_mem_in_cached(&m->mem, p))
		return 0;
	uint64_t room = m->mem.va_size - (uint64_t)(p - m->mem.cwin);
	len = DC_MIN(len, room);
	uint32_t ls = m->cache.line_size;
	const uint8_t *lo = (const uint8_t *)((uintptr_t)p & ~(uintptr_t)(ls - 1));
	const uint8_t *hi = p + len;
	uint64_t lines = (uint64_t)(hi - lo + ls - 1) / ls;
	uint64_t affected = 0;
	if (lines > dc_cache_total_lines(&m->cache)) {
		affected = dc_cache_data_range_op(&m->cache, lo, hi, op);
	} else {
		/* Page by page, visiting only the lines the present bitmap names. */
		uint32_t sh = m->cache.line_shift;
		for (const uint8_t *q = lo; q < hi;) {
			uint64_t pa = dc_mem_va_to_pa(&m->mem, q);
			const uint8_t *page_end =
			    (const uint8_t *)(((uintptr_t)q | DC_PAGE_MASK) + 1);
			if (pa != DC_PA_INVALID && m->mem.present[pa >> DC_PAGE_SHIFT]) {
				uint64_t page_pa = pa & ~DC_PAGE_MASK;
				const uint8_t *end = page_end < hi ? page_end : hi;
				uint32_t last =
				    (uint32_t)(((uintptr_t)(end - 1) & DC_PAGE_MASK) >> sh);
				long i = present_next(m, pa, (uint32_t)((pa & DC_PAGE_MASK) >> sh),
				                      last);
				while (i >= 0) {
					affected += dc_cache_line_op(
					    &m->cache, page_pa + ((uint64_t)i << sh), op);
					i = present_next(m, pa, (uint32_t)i + 1, last);
				}
			}
			q = page_end;
		}
	}
	m->st.maint_lines += affected;
	OBS_EACH(m, cache_maint, va, len, (int)op);
	return affected;
}

/* --- The DMA side ------------------------------------------------------------------------ */

static bool dma_range_ok(const struct dc_machine *m, uint64_t pa, uint64_t len)
{
	return pa <= m->mem.phys_size && len <= m->mem.phys_size - pa;
}

/* Calls fn for every line of [pa, pa + len) whose frame has any line cached. */
static void each_cached_line(struct dc_machine *m, uint64_t pa, uint64_t len,
                             void (*fn)(struct dc_machine *, uint64_t line, uint64_t lo,
                                        uint64_t hi))
{
	uint32_t ls = m->cache.line_size;
	uint64_t end = pa + len;
	for (uint64_t q = pa & ~(uint64_t)(ls - 1); q < end;) {
		if (!m->mem.present[q >> DC_PAGE_SHIFT]) {
			q = (q | DC_PAGE_MASK) + 1;
			continue;
		}
		fn(m, q, DC_MAX(q, pa), DC_MIN(q + ls, end));
		q += ls;
	}
}

static void snoop_for_read(struct dc_machine *m, uint64_t line, uint64_t lo, uint64_t hi)
{
	(void)lo, (void)hi;
	bool dirty;
	if (dc_cache_probe(&m->cache, line, &dirty) >= 0 && dirty)
		dc_cache_line_op(&m->cache, line, DC_CACHE_CLEAN);
}

static void snoop_for_write(struct dc_machine *m, uint64_t line, uint64_t lo, uint64_t hi)
{
	bool whole = lo == line && hi == line + m->cache.line_size;
	dc_cache_line_op(&m->cache, line, whole ? DC_CACHE_INVAL : DC_CACHE_CLEAN_INVAL);
}

static void evict_dirty(struct dc_machine *m, uint64_t line, uint64_t lo, uint64_t hi)
{
	(void)lo, (void)hi;
	bool dirty;
	if (dc_cache_probe(&m->cache, line, &dirty) >= 0 && dirty)
		dc_cache_line_op(&m->cache, line, DC_CACHE_CLEAN_INVAL);
}

/* Before a device write lands: the CPU may speculatively fetch lines of the target that have
 * a cached mapping, capturing the old memory contents (geometric skipping: cost per fill). */
static void speculate(struct dc_machine *m, uint64_t pa, uint64_t len)
{
	double p = m->plat.adv.speculative_fill;
	uint32_t ls = m->cache.line_size;
	uint64_t first = pa & ~(uint64_t)(ls - 1), n = (pa + len - first + ls - 1) / ls;
	for (uint64_t i = 0;;) {
		double u = dc_rng_unit(&m->adv_rng);
		double skip = p >= 1 ? 0 : floor(log1p(-u) / log1p(-p));
		if (skip >= (double)(n - i))
			break;
		i += (uint64_t)skip;
		uint64_t line = first + i * ls;
		uint8_t *va = dc_mem_pa_to_cached(&m->mem, line);
		if (va && dc_cache_prefetch(&m->cache, line, va))
			m->st.speculative_fills++;
		if (++i >= n)
			break;
	}
}

int dc_dma_read(struct dc_machine *m, int source, uint64_t pa, void *dst, uint64_t len)
{
	if (!dma_range_ok(m, pa, len))
		return DC_ERR_RANGE;
	spill_check(m);
	if (m->plat.coherency == DC_COHERENT)
		each_cached_line(m, pa, len, snoop_for_read);
	memcpy(dst, dc_mem_pa_ptr(&m->mem, pa), len);
	m->st.dma_read_bytes += len;
	OBS_EACH(m, dma, source, pa, len, false);
	return DC_OK;
}

int dc_dma_write(struct dc_machine *m, int source, uint64_t pa, const void *src, uint64_t len)
{
	if (!dma_range_ok(m, pa, len))
		return DC_ERR_RANGE;
	spill_check(m);
	if (m->plat.coherency == DC_COHERENT) {
		each_cached_line(m, pa, len, snoop_for_write);
	} else if (m->plat.adv.speculative_fill > 0 && len) {
		m->in_adversary = true;
		speculate(m, pa, len);
		m->in_adversary = false;
	}
	/* Any frame, allocated or not, is memory to a device. */
	dc_mem_enable_phys(&m->mem, pa, len);
	memcpy(dc_mem_pa_ptr(&m->mem, pa), src, len);
	if (m->plat.coherency == DC_NONCOHERENT && m->plat.adv.evict_dirty_after_dma) {
		m->in_adversary = true;
		each_cached_line(m, pa, len, evict_dirty);
		m->in_adversary = false;
	}
	m->st.dma_write_bytes += len;
	OBS_EACH(m, dma, source, pa, len, true);
	return DC_OK;
}

size_t dc_machine_stats_str(const struct dc_machine *m, char *buf, size_t len)
{
	size_t n = 0;
	int k;
#define OUT(...)                                                           \
	do {                                                               \
		k = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (k > 0)                                                 \
			n += (size_t)k;                                    \
	} while (0)
	OUT("platform %s (%s)\n", m->plat.name, dc_coherency_name(m->plat.coherency));
	for (uint32_t i = 0; i < m->cache.n_levels; i++) {
		struct dc_cache_stats s;
		dc_cache_level_stats(&m->cache, i, &s);
		OUT("L%u: hits %llu/%llu misses %llu/%llu (r/w) evictions %llu writebacks %llu\n",
		    i + 1, (unsigned long long)s.hits[0], (unsigned long long)s.hits[1],
		    (unsigned long long)s.misses[0], (unsigned long long)s.misses[1],
		    (unsigned long long)s.evictions, (unsigned long long)s.writebacks);
	}
	/* Per processor (with one, the lines above are its own). */
	for (uint32_t q = 0; m->cache.n_cpus > 1 && q < m->cache.n_cpus; q++) {
		OUT("cpu%u:", q);
		for (uint32_t i = 0; i < m->cache.n_private; i++) {
			const struct dc_cache_stats *s = &m->cache.view[q][i]->st;
			OUT(" L%u hits %llu/%llu misses %llu/%llu;", i + 1,
			    (unsigned long long)s->hits[0], (unsigned long long)s->hits[1],
			    (unsigned long long)s->misses[0], (unsigned long long)s->misses[1]);
		}
		const struct dc_cache_cpu_stats *cs = &m->cache.cst[q];
		OUT(" snoops: supplied %llu, invalidated %llu, upgrades %llu\n",
		    (unsigned long long)cs->supplied, (unsigned long long)cs->invalidated,
		    (unsigned long long)cs->upgrades);
	}
	OUT("cpu: reads %llu writes %llu uncached %llu; adversary: random evictions %llu, "
	    "speculative fills %llu, write-backs %llu\n",
	    (unsigned long long)m->st.reads, (unsigned long long)m->st.writes,
	    (unsigned long long)m->st.uncached, (unsigned long long)m->st.random_evictions,
	    (unsigned long long)m->st.speculative_fills,
	    (unsigned long long)m->st.adversary_writebacks);
	OUT("dma: read %llu bytes, wrote %llu bytes\n", (unsigned long long)m->st.dma_read_bytes,
	    (unsigned long long)m->st.dma_write_bytes);
#undef OUT
	return n;
}
