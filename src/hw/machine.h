/* The simulated machine: memory, the cache hierarchy, the CPU access path, the DMA side of
 * memory, time, interrupt lines and the I/O buses, built from one platform profile.
 *
 * Two sides reach memory:
 *  - the CPU: instrumented driver code (through the __tsan_* hooks, cpu.c) and dmacoh's own
 *    code acting as the CPU (dc_cpu_read/dc_cpu_write), both through the cache model;
 *  - devices: dc_dma_read/dc_dma_write on physical addresses.  On a coherent platform they
 *    snoop the hierarchy; on a non-coherent one they see memory only.
 * The adversary (random evictions, dirty evictions right after a device write, speculative
 * fills) acts only through these paths, seeded, so a run is reproducible. */
#ifndef DC_MACHINE_H
#define DC_MACHINE_H

#include "dmacoh/observer.h"
#include "dmacoh/platform.h"
#include "bus.h"
#include "cache.h"
#include "clock.h"
#include "irq.h"
#include "mem.h"

#define DC_MAX_DMA_SOURCES 32

/* The memory-safety shadow of the cached window, one byte per 16-byte granule (as ASan's):
 * 0: every byte addressable; 1..15: only the first k; DC_SH_REDZONE: a redzone around pool or a
 * common buffer; DC_SH_FREED: freed memory in quarantine. */
#define DC_SH_GRANULE_SHIFT 4
#define DC_SH_GRANULE (1u << DC_SH_GRANULE_SHIFT)
#define DC_SH_REDZONE 0xfau
#define DC_SH_FREED 0xfdu
/* Frameless redzone pages the kernel puts on each side of large pool blocks and cached common
 * buffers; the farthest a redzone byte lies from its allocation. */
#define DC_GUARD_PAGES 4
#define DC_GUARD_RANGE ((DC_GUARD_PAGES + 1) * DC_PAGE_SIZE)
#define DC_LINE_HINTS 1024 /* a power of two */

struct dc_cpu_stats {
	uint64_t reads, writes; /* instrumented references in the cached window */
	uint64_t uncached;      /* references in the uncached window */
	uint64_t speculative_fills, random_evictions, adversary_writebacks;
	uint64_t dma_read_bytes, dma_write_bytes;
	uint64_t maint_lines; /* lines touched by range maintenance */
};

struct dc_machine {
	struct dc_platform plat;
	struct dc_mem mem;
	struct dc_cache cache;
	struct dc_clock clock;
	struct dc_irq irq;
	struct dc_bus bus;
	struct dc_rng adv_rng;
	uint64_t evict_countdown; /* CPU references until the next random eviction */
	struct dc_cpu_stats st;
	const char *dma_source_name[DC_MAX_DMA_SOURCES];
	unsigned n_dma_sources;
	uint32_t dma_source_held; /* bit i: source i belongs to an attached device instance */
	const struct dc_observer *obs[DC_MAX_OBSERVERS];
	void *obs_opaque[DC_MAX_OBSERVERS];
	unsigned n_obs;
	/* Observers that see CPU accesses: with cpu_access (each must vote, below), and with
	 * cpu_access or mem_fault (none: the fast paths need nobody's consent). */
	unsigned n_obs_cpu, n_obs_access;
	unsigned n_obs_no_run; /* observers with cpu_access and no cpu_run */
	/* The fast path with observers (dc_cpu_hook).  After reporting a reference to a line
	 * whose memory-safety shadow is clean, the machine counts the cpu_access observers that
	 * called dc_machine_cpu_vote: if all did, the line takes a quiet slot (q[]), and further
	 * references to it (by any instruction) stay inline while L1 holds it, their effect
	 * gathered (struct dc_quiet).  Two slots, so that code alternating between two lines (a
	 * copy, a descriptor and its buffer) stays inline.  A slot's references are reported, as
	 * one write per run of bytes by the last writer, then the last read if its pc is not
	 * the last reported one, before any event other than a CPU access to another line
	 * reaches observers (dc_machine_obs_sync; a vote promises that references to other lines
	 * neither depend on this line's gathered state nor change it), and before a reference to
	 * the slot's line that is not gathered.  q_on: some slot is on.  Lines of at most 64
	 * bytes. */
	struct dc_quiet {
		bool on;
		uint32_t cpu;   /* the processor that made the references */
		uint64_t vline; /* window offset >> line_shift */
		uint8_t *va;
		uint64_t pa, pend; /* pend bit i: byte i of the line written */
		const void *wpc, *rpc, *tpc;
		uint32_t roff, rsize;
	} q[2];
	bool q_on;
	uint8_t q_last;         /* the slot that became the MRU line's last */
	struct dc_quiet *q_mru; /* the slot of line mru_vline, if it has one */
	unsigned q_votes;
	bool in_adversary; /* adversary fills must not recurse into the adversary */
	/* A write reference of several lines that could not keep them all present for the store
	 * that follows it (a range larger than the caches): the stored bytes of its lines that are
	 * gone are put in memory, as those lines' write-backs would have, before anything else can
	 * fill them again or read memory (spill_commit, machine.c).  spill_len 0: none. */
	uint8_t *spill_va;
	uint64_t spill_len;
	/* Fast path of the CPU hook: the cached-window line last referenced and the cache's MRU
	 * tag at that moment; valid while the cache still says that tag is MRU in L1. */
	uint64_t mru_vline, mru_ctag;
	/* Second fast path: where in L1's arrays a recently referenced cached-window line was,
	 * indexed by virtual line.  Only a hint: it is used when L1 holds, at that index, the
	 * tag the page table gives now, so no remapping or eviction can make it wrong. */
	uint32_t l1_hint[DC_LINE_HINTS];
	/* Which lines of each frame are present (bit i: line i of the frame), present_words
	 * words per frame, so range maintenance visits present lines only.  mem.present still
	 * counts them, for the quick "anything of this page?" test. */
	uint64_t *present_bits;
	uint32_t present_words;
	/* A host range instrumented code must never touch (the kernel's user-address alias of
	 * MDL buffers): references there are reported to trap_fn, then proceed. */
	uintptr_t trap_base;
	uint64_t trap_size;
	void (*trap_fn)(void *opaque, const void *va, uint64_t len, bool write, const void *pc);
	void *trap_opaque;
	/* The trap range's pages made accessible by the last report, [lo, hi): the range is
	 * never protected again, so a repeat of the same page needs no mprotect. */
	uintptr_t trap_open_lo, trap_open_hi;
	/* Tracked host memory (device extensions): instrumented accesses there reach observers'
	 * host_access and nothing else (never the cache model). */
	uintptr_t host_base;
	uint64_t host_size;
	/* The smallest range holding the uncached window, the trap range and the host span
	 * (dc_cpu_hook's first test outside the cached window): kept by machine.c. */
	uintptr_t outer_lo;
	uint64_t outer_size;
	/* The memory-safety shadow (DC_SH_*), indexed by window offset >> DC_SH_GRANULE_SHIFT;
	 * reserved read-only, enabled as the window's VA comes into use. */
	uint8_t *msh;
	/* A tick every tick_every driver accesses that reach the slow path (dc_cpu_ref with a
	 * pc): the kernel's scheduler preempts there (0: never). */
	uint64_t tick_every, tick_n;
	void (*tick_fn)(void *opaque);
	void *tick_opaque;
};

/* Builds a machine from a validated profile.  On error nothing is left allocated. */
int dc_machine_create(const struct dc_platform *p, struct dc_machine **out);
void dc_machine_destroy(struct dc_machine *m);

static inline void dc_machine_set_tick(struct dc_machine *m, uint64_t every,
                                       void (*fn)(void *opaque), void *opaque)
{
	m->tick_every = fn ? every : 0;
	m->tick_n = 0;
	m->tick_fn = fn;
	m->tick_opaque = opaque;
}

/* The processor whose caches the CPU side uses from now on (0..processors - 1). */
static inline void dc_machine_set_cpu(struct dc_machine *m, uint32_t cpu)
{
	dc_cache_set_cpu(&m->cache, cpu);
}
static inline uint32_t dc_machine_cpu(const struct dc_machine *m)
{
	return m->cache.cur;
}

/* The machine instrumented code runs against (one per host thread; NULL: hooks do nothing). */
void dc_machine_set_current(struct dc_machine *m);
struct dc_machine *dc_machine_current(void);

int dc_machine_add_observer(struct dc_machine *m, const struct dc_observer *o, void *opaque);
void dc_machine_remove_observer(struct dc_machine *m, const struct dc_observer *o, void *opaque);
/* Called by a cpu_access observer from inside its cpu_access: until the next event of any
 * kind other than a CPU reference to another line reaches it, it judges nothing per reference
 * on this line, what references to it do to its state depends only on the bytes written, the
 * last writer and the last instruction, and what it does for references to other lines
 * neither reads nor changes that state, so that it may get them gathered, and reported after
 * references to another line made later (the quiet slots, struct dc_quiet).  Observers that
 * never call it see every reference, in order. */
static inline void dc_machine_cpu_vote(struct dc_machine *m)
{
	m->q_votes++;
}
/* Reports the writes the fast path gathered and ends it; called before any observer event
 * other than cpu_access (the kernel calls it before its kernel events). */
void dc_machine_obs_flush(struct dc_machine *m);
static inline void dc_machine_obs_sync(struct dc_machine *m)
{
	if (m->q_on)
		dc_machine_obs_flush(m);
}
/* Sets the trap range (size 0: none). */
void dc_machine_set_trap(struct dc_machine *m, const void *base, uint64_t size,
                         void (*fn)(void *opaque, const void *va, uint64_t len, bool write,
                                    const void *pc),
                         void *opaque);
/* Sets the tracked host span (size 0: none): see host_base. */
void dc_machine_set_host_span(struct dc_machine *m, const void *base, uint64_t size);
/* The processor-independent part of an atomic operation by instrumented code at va: tells
 * observers (their `atomic`), before the access itself goes through dc_cpu_hook. */
void dc_cpu_atomic(struct dc_machine *m, const void *va, uint32_t len, int mo, bool rmw);
/* Registers a DMA engine's name for reports; returns its source id. */
int dc_machine_dma_source(struct dc_machine *m, const char *name);
/* A source of its own for one device instance: a free source of that name is reused (a
 * device detached and attached again), else a new one, so two instances of one model never
 * share a source (the bridge's posted writes and the checker's per-source state are per
 * source).  dc_machine_dma_source_put gives it back when the instance detaches. */
int dc_machine_dma_source_get(struct dc_machine *m, const char *name);
void dc_machine_dma_source_put(struct dc_machine *m, int source);

/* Memory for buffers (kernel pool, MDL pages, common buffers).  Cached: n pages of the
 * cached window on scattered frames (contig: one physical run).  Uncached: a physically
 * contiguous run seen through the uncached window.  NULL when memory runs out. */
void *dc_alloc_cached(struct dc_machine *m, uint64_t pages, enum dc_zone z, bool contig);
void dc_free_cached(struct dc_machine *m, void *va, uint64_t pages);
/* As dc_alloc_cached with `guard` frameless redzone pages of VA on each side (shadowed
 * DC_SH_REDZONE, no host memory); free with the same pages and guard.  Freeing clears the
 * shadow of the whole range. */
void *dc_alloc_cached_guarded(struct dc_machine *m, uint64_t pages, enum dc_zone z, bool contig,
                              uint64_t guard);
void dc_free_cached_guarded(struct dc_machine *m, void *va, uint64_t pages, uint64_t guard);
/* Marks [va, va + len) of the cached window with shadow value `kind` (DC_SH_REDZONE or
 * DC_SH_FREED; va granule-aligned, len rounded up to granules), or addressable (kind 0; the
 * last granule partially so when len is not a multiple of the granule).  Other windows:
 * nothing. */
void dc_machine_poison(struct dc_machine *m, const void *va, uint64_t len, uint8_t kind);
void *dc_alloc_uncached(struct dc_machine *m, uint64_t pages, enum dc_zone z);
void dc_free_uncached(struct dc_machine *m, void *va, uint64_t pages);

static inline uint64_t dc_va_to_pa(const struct dc_machine *m, const void *va)
{
	return dc_mem_va_to_pa(&m->mem, va);
}

/* --- The CPU side --------------------------------------------------------------------- */

/* Runs the cache model for a CPU reference of len bytes at va (any window; outside both it
 * does nothing), then tells observers.  The caller then touches the bytes itself. */
void dc_cpu_ref(struct dc_machine *m, const void *va, uint64_t len, enum dc_access a,
                const void *pc);
/* The quiet slot of the line at window offset off for the current processor, or NULL. */
static inline struct dc_quiet *dc_cpu_quiet_slot(struct dc_machine *m, uintptr_t off)
{
	uint64_t vl = off >> m->cache.line_shift;
	struct dc_quiet *q = &m->q[m->q_last]; /* the MRU line's, mostly */
	if (q->vline == vl && q->on && q->cpu == m->cache.cur)
		return q;
	q = &m->q[m->q_last ^ 1];
	if (q->vline == vl && q->on && q->cpu == m->cache.cur)
		return q;
	return NULL;
}
/* Gathers a reference into its line's slot. */
static inline void dc_cpu_gather(struct dc_machine *m, struct dc_quiet *q, uintptr_t off,
                                 uint32_t size, enum dc_access a, const void *pc)
{
	uint32_t loff = (uint32_t)(off & (m->cache.line_size - 1));
	if (a == DC_ACC_READ) {
		q->rpc = pc;
		q->roff = loff;
		q->rsize = size;
	} else {
		q->pend |= ((UINT64_C(1) << size) - 1) << loff;
		q->wpc = pc;
		q->rpc = NULL;
	}
}
/* May a fast-path reference skip the observers?  Yes with none that see CPU accesses; else
 * only while they all voted for the line (its quiet slot), the reference gathered. */
static inline bool dc_cpu_quiet(struct dc_machine *m, uintptr_t off, uint32_t size,
                                enum dc_access a, const void *pc)
{
	if (DC_LIKELY(!m->n_obs_access))
		return true;
	struct dc_quiet *q = m->q_mru; /* the caller checked that the line is mru_vline */
	if (!q)
		return false;
	dc_cpu_gather(m, q, off, size, a, pc);
	return true;
}

/* The rest of dc_cpu_hook, out of line: with observers, an L1 hit in a quiet slot's line
 * (the other line of two in turn) does to the cache what dc_cpu_ref would, the reference
 * gathered in the slot; anything else goes to dc_cpu_ref. */
void dc_cpu_hook_rest(struct dc_machine *m, const void *va, uint32_t size, enum dc_access a,
                      const void *pc);
/* A reference outside the cached window but inside outer_lo .. + outer_size: dc_cpu_ref if it
 * is in the uncached window, the trap range or the tracked host span. */
void dc_cpu_hook_outer(struct dc_machine *m, const void *va, uint32_t size, enum dc_access a,
                       const void *pc);

/* The hook's entry: a reference of size bytes (1..16) by instrumented code.  Inline fast paths
 * with no adversary due: an address outside every window (one range test: outer_lo), a
 * repeated reference to the MRU line (with observers, as dc_cpu_quiet allows), and with no
 * observer of CPU accesses, an L1 hit on a line the hints remember.  Everything else:
 * dc_cpu_hook_rest.  Always inlined into each entry point (cpu.c), where size and the access
 * are constants, so that these paths make no call. */
static inline __attribute__((always_inline)) void
dc_cpu_hook(struct dc_machine *m, const void *va, uint32_t size, enum dc_access a, const void *pc)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)m->mem.cwin;
	if (off >= m->mem.va_size) {
		if (DC_UNLIKELY((uintptr_t)va - m->outer_lo < m->outer_size))
			dc_cpu_hook_outer(m, va, size, a, pc);
		return;
	}
	uint32_t shift = m->cache.line_shift;
	if (DC_LIKELY((off >> shift) == m->mru_vline &&
	              ((off + size - 1) >> shift) == m->mru_vline &&
	              m->cache.mru_tag == m->mru_ctag && m->mru_ctag &&
	              (a == DC_ACC_READ || m->cache.mru_dirty) && m->evict_countdown > 1 &&
	              dc_cpu_quiet(m, off, size, a, pc))) {
		m->evict_countdown--;
		m->cache.l1->st.hits[a]++;
		if (a == DC_ACC_READ)
			m->st.reads++;
		else
			m->st.writes++;
		return;
	}
	/* An L1 hit on a line the hints remember (no observer of CPU accesses). */
	uint64_t vl = off >> shift;
	uint32_t k = m->l1_hint[vl & (DC_LINE_HINTS - 1)];
	uint64_t pa =
	    ((uint64_t)m->mem.pt[off >> DC_PAGE_SHIFT] << DC_PAGE_SHIFT) | (off & DC_PAGE_MASK);
	uint64_t tag = (pa >> shift) + 1;
	if (DC_LIKELY(m->cache.l1->tag[k] == tag && ((off + size - 1) >> shift) == vl &&
	              m->evict_countdown > 1 && !m->n_obs_access)) {
		m->evict_countdown--;
		m->mru_vline = vl;
		m->mru_ctag = tag;
		if (a == DC_ACC_READ)
			m->st.reads++;
		else
			m->st.writes++;
		dc_cache_l1_hit_at(&m->cache, k, a);
		return;
	}
	dc_cpu_hook_rest(m, va, size, a, pc);
}

/* dmacoh's own code acting as the CPU: copy through the cache model. */
void dc_cpu_read(struct dc_machine *m, const void *va, void *dst, uint64_t len);
void dc_cpu_write(struct dc_machine *m, void *va, const void *src, uint64_t len);
void dc_cpu_fill(struct dc_machine *m, void *va, int byte, uint64_t len);
/* dc_cpu_fill on behalf of driver code at pc (the hooks' memset). */
void dc_cpu_fill_pc(struct dc_machine *m, void *va, int byte, uint64_t len, const void *pc);

/* Cache maintenance over a virtual range, as the kernel's KeFlushIoBuffers does: costs the
 * lines present, bounded by the cache size, never the range size.  On a coherent platform
 * it does nothing (O(1)) unless `force`.  Returns lines affected. */
uint64_t dc_cpu_cache_range(struct dc_machine *m, const void *va, uint64_t len, enum dc_cache_op op,
                            bool force);

/* --- The DMA side ---------------------------------------------------------------------- */

/* A device reads [pa, pa + len) of memory into dst.  Coherent: dirty cached lines are written
 * back first (snoop).  Non-coherent: memory as it is.  DC_ERR_RANGE outside memory. */
int dc_dma_read(struct dc_machine *m, int source, uint64_t pa, void *dst, uint64_t len);
/* A device writes src to [pa, pa + len).  Coherent: cached lines are written back (if dirty and
 * partially covered) and invalidated.  Non-coherent: cached lines are left alone, stale; the
 * adversary may speculatively fill lines just before, or evict dirty ones just after. */
int dc_dma_write(struct dc_machine *m, int source, uint64_t pa, const void *src, uint64_t len);

/* Human-readable dump of machine statistics (for tests and tools; returns bytes written). */
size_t dc_machine_stats_str(const struct dc_machine *m, char *buf, size_t len);

#endif
