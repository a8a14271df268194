/* The cache hierarchy model: up to three levels, one line size, set-associative, LRU or seeded
 * random replacement, write-back and write-allocate.
 *
 * Levels behave as cachegrind's do, so miss counts can be checked against it: level i+1 is
 * looked up only when level i misses, and each level keeps its own LRU order (non-inclusive).
 * A line is *present* while any level holds it; the bytes live once, in the cached window, so a
 * fill from memory happens only when every level misses, and a write-back to memory only when a
 * dirty line leaves the last level that holds it (or on maintenance).  A dirty line evicted
 * from level i passes its dirtiness to a lower level that holds it, without touching that
 * level's LRU order (cachegrind models no write-back traffic either).
 *
 * The model knows nothing of memory: it calls fill with the line's physical address and the
 * data pointer of the access that missed, writeback with the physical address and what the
 * owner's line_data says.  Keys are physical addresses; tag-only users pass data = NULL.
 *
 * Several processors (docs/machine.md "Processors"): each has its own private levels (L1, and L2
 * when there are three levels; the last level is shared, except with one level), coherent with
 * each other by MOESI write-invalidate snooping.  The bytes still live once, in the cached
 * window: a read miss of a line another processor holds is supplied by that cache (its copy goes
 * Owned or Shared), a write invalidates every other copy and takes its dirtiness, so the window
 * always holds the one value the processors agree on; what differs between processors is which
 * of them holds a line and in which state.  Maintenance by line (clean/invalidate) acts on every
 * processor's copies, as ARM's broadcast DC CIVAC and x86's CLFLUSH do, and as the HAL's
 * IPI-based flush does.  The calls act on behalf of the current processor (dc_cache_set_cpu).
 *
 * Not modelled: write-through, no-write-allocate, victim caches, snoop filters or directories,
 * the timing of snoops, inclusive last levels. */
#ifndef DC_CACHE_H
#define DC_CACHE_H

#include "dmacoh/platform.h"
#include "rng.h"

enum dc_cache_op {
	DC_CACHE_CLEAN,       /* write a dirty line back; it stays present, clean */
	DC_CACHE_INVAL,       /* drop the line; dirty bytes are lost */
	DC_CACHE_CLEAN_INVAL, /* write back if dirty, then drop */
};
const char *dc_cache_op_name(enum dc_cache_op op);

enum dc_access {
	DC_ACC_READ,
	DC_ACC_WRITE,
};
const char *dc_access_name(enum dc_access a);

struct dc_cache_stats {
	uint64_t hits[2], misses[2]; /* indexed by enum dc_access */
	uint64_t evictions, writebacks, fills;
};

/* A copy's state bits.  In a private level they make the MOESI state: M = DIRTY|EXCL,
 * O = DIRTY, E = EXCL, S = 0 (valid: tag != 0).  In a shared level only DIRTY means anything. */
#define DC_LS_DIRTY 1u
#define DC_LS_EXCL 2u
#define DC_LS_M (DC_LS_DIRTY | DC_LS_EXCL)
#define DC_LS_O DC_LS_DIRTY
#define DC_LS_E DC_LS_EXCL
#define DC_LS_S 0u

/* One level of one processor (private) or of all (shared).  Way k of set s is index
 * s * ways + k of parallel arrays, one per field, so that a lookup reads only the set's tags
 * (one host line for 8 ways): a record per way put every field of the set in each scan (four
 * host lines for 8 ways, eight for 16).
 *
 * LRU order: with 16 ways or fewer, a power of two, each set keeps its ways in recency order as
 * nibbles of one word (order[s]: nibble 0 the most recently used way, nibble ways-1 the least) and
 * a bit per valid way (valid[s]), so choosing a victim is O(1) rather than a scan of the set.
 * Otherwise (order == NULL: more ways, or a number not a power of two, or random replacement) each
 * way has a stamp, its last use, and the victim is the least.  Both choose the same way: the lowest
 * invalid way if there is one, else the least recently used. */
struct dc_cache_level {
	uint32_t sets, ways;
	uint32_t set_mask;
	uint32_t way_shift; /* with order: log2(ways) */
	enum dc_repl repl;
	uint64_t clock;
	uint64_t *tag;   /* line number (pa >> line_shift) + 1; 0 = invalid */
	uint64_t *stamp; /* LRU without order: last use; 0 for an invalid way (else NULL) */
	uint64_t *order; /* LRU with <= 16 ways: per set, ways in recency order; else NULL */
	uint32_t *valid; /* with order: per set, bit w = way w is valid */
	uint8_t *state;  /* DC_LS_* */
	/* A private level: the cache's count of private copies per line (struct dc_cache), kept
	 * where a way takes or loses a line; NULL for a shared level. */
	uint8_t *pcopies;
	uint64_t pcopies_n;
	struct dc_cache_stats st;
};

/* Coherence traffic seen by one processor. */
struct dc_cache_cpu_stats {
	uint64_t supplied;    /* its copy answered another processor's miss (cache to cache) */
	uint64_t invalidated; /* its copy was invalidated by another processor's write */
	uint64_t upgrades;    /* its write to a Shared/Owned line invalidated the others */
};

struct dc_cache_ops {
	/* Copy the line from memory into data (every level missed). */
	void (*fill)(void *opaque, uint64_t line_pa, uint8_t *data);
	/* Copy a dirty line's data to memory. */
	void (*writeback)(void *opaque, uint64_t line_pa, const uint8_t *data);
	/* The line left the whole hierarchy (after any write-back). */
	void (*gone)(void *opaque, uint64_t line_pa);
	/* Where a present line's bytes are (what writeback is given, and what
	 * dc_cache_data_range_op compares); NULL (or no op): nowhere, a tag-only user.  The
	 * levels keep no pointer per way: a lookup of the owner's map costs less than the host
	 * misses an array of them cost every install and eviction. */
	uint8_t *(*line_data)(void *opaque, uint64_t line_pa);
};

struct dc_cache {
	uint32_t n_levels;
	uint32_t n_private; /* levels each processor has its own: 1, or 2 of 3 */
	uint32_t n_cpus, cur;
	uint32_t line_shift, line_size;
	/* Storage: processor 0's private levels and the shared ones, so lv[i] is what a
	 * single-processor user expects; other processors' private levels in cpl. */
	struct dc_cache_level lv[DC_MAX_CACHE_LEVELS];
	struct dc_cache_level cpl[DC_MAX_CPUS - 1][DC_MAX_CACHE_LEVELS - 1];
	/* view[p][i]: level i as processor p sees it (shared levels alias). */
	struct dc_cache_level *view[DC_MAX_CPUS][DC_MAX_CACHE_LEVELS];
	struct dc_cache_level *l1; /* view[cur][0] */
	struct dc_cache_cpu_stats cst[DC_MAX_CPUS];
	const struct dc_cache_ops *ops;
	void *opaque;
	struct dc_rng rng;
	/* Fast path: the last line looked up by the current processor, known to be MRU in its
	 * L1 (tag, and whether Modified: writable without telling anyone), and its index in
	 * L1's ways. */
	uint64_t mru_tag;
	bool mru_dirty;
	long mru_k;
	/* A snoop filter: per line of simulated memory (tag - 1 < pcopies_n), how many copies the
	 * private levels of all processors hold, so that a miss no other processor can answer,
	 * and the question whether a line left the hierarchy, need not search them.  NULL (not
	 * kept) when the platform gives no memory size or the host refuses the reservation. */
	uint8_t *pcopies;
	uint64_t pcopies_n;
};

/* p->processors processors (0 is taken as 1). */
int dc_cache_init(struct dc_cache *c, const struct dc_platform *p, const struct dc_cache_ops *ops,
                  void *opaque, uint64_t seed);
void dc_cache_fini(struct dc_cache *c);

/* The processor the following references are made by. */
static inline void dc_cache_set_cpu(struct dc_cache *c, uint32_t cpu)
{
	if (cpu == c->cur || cpu >= c->n_cpus)
		return;
	c->cur = cpu;
	c->l1 = c->view[cpu][0];
	c->mru_tag = 0;
}

/* A write to a line the current processor holds but not exclusively (S or O) in L1 way k:
 * invalidates the other copies.  Out of line: the fast paths never need it with one
 * processor. */
void dc_cache_upgrade(struct dc_cache *c, long k);

/* One CPU reference to the line holding pa; data is the host address of the byte at pa in the
 * cached window (NULL for tag-only use).  Returns the level that
 * hit (0 = L1) or n_levels for a miss in every level (the line was filled from memory). */
uint32_t dc_cache_access_slow(struct dc_cache *c, uint64_t pa, uint8_t *data, enum dc_access a);

static inline uint32_t dc_cache_access(struct dc_cache *c, uint64_t pa, uint8_t *data,
                                       enum dc_access a)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	if (DC_LIKELY(tag == c->mru_tag && (a == DC_ACC_READ || c->mru_dirty))) {
		c->l1->st.hits[a]++;
		return 0;
	}
	return dc_cache_access_slow(c, pa, data, a);
}

#define DC_NIB_ONES 0x1111111111111111ull

/* The line at index k of level l was used: it becomes its set's most recent. */
static inline __attribute__((always_inline)) void dc_cache_level_touch(struct dc_cache_level *l,
                                                                       long k)
{
	if (!l->order) {
		l->stamp[k] = ++l->clock;
		return;
	}
	uint64_t set = (uint64_t)k >> l->way_shift;
	uint64_t w = (uint64_t)k & (l->ways - 1);
	uint64_t o = l->order[set];
	if ((o & 15) == w)
		return;
	if (((o >> 4) & 15) == w) { /* the second most recent: two lines used in turn */
		l->order[set] = (o & ~0xffull) | (o & 15) << 4 | w;
		return;
	}
	/* The lowest nibble of o equal to w (each way is in the order once; higher matches of
	 * the borrow trick may be false, the lowest never is), moved to the front. */
	uint64_t x = o ^ (w * DC_NIB_ONES);
	uint64_t z = (x - DC_NIB_ONES) & ~x & (DC_NIB_ONES << 3);
	unsigned sh = (unsigned)__builtin_ctzll(z) - 3;
	uint64_t below = o & ((1ull << sh) - 1);
	uint64_t above = sh >= 60 ? 0 : o & (~0ull << (sh + 4));
	l->order[set] = above | (below << 4) | w;
}

/* The end of dc_cache_l1_hit_at for a write to a shared copy: dc_cache_upgrade, then the line
 * modified and most recent.  Out of line, so that a hit with no upgrade makes no call. */
void dc_cache_l1_upgrade_hit(struct dc_cache *c, long k);

/* An L1 hit on the line at index k of L1's arrays, whose tag the caller has just checked:
 * exactly what dc_cache_access does for an L1 hit, without looking the line up. */
static inline __attribute__((always_inline)) void dc_cache_l1_hit_at(struct dc_cache *c, long k,
                                                                     enum dc_access a)
{
	struct dc_cache_level *l1 = c->l1;
	l1->st.hits[a]++;
	if (a == DC_ACC_WRITE && l1->state[k] != DC_LS_M) {
		if (DC_UNLIKELY(!(l1->state[k] & DC_LS_EXCL))) {
			dc_cache_l1_upgrade_hit(c, k);
			return;
		}
		l1->state[k] = DC_LS_M;
	}
	c->mru_tag = l1->tag[k];
	c->mru_dirty = l1->state[k] == DC_LS_M;
	c->mru_k = k;
	/* Last, so that only l1 and k are live across its arithmetic (no stack frame). */
	dc_cache_level_touch(l1, k);
}

/* Level that holds the line (lowest index) in any processor, or -1.  *dirty: dirty in any
 * level of any processor.  This is what a transfer is judged against: a line dirty in
 * processor 1's L1 is dirty here whichever processor starts the DMA. */
int dc_cache_probe(const struct dc_cache *c, uint64_t pa, bool *dirty);
/* The same for one processor's view (its private levels, then the shared ones); *state: the
 * DC_LS_* bits of its private copies (DC_LS_EXCL|DC_LS_DIRTY etc.), 0 if none; -1: absent. */
int dc_cache_probe_cpu(const struct dc_cache *c, uint32_t cpu, uint64_t pa, uint32_t *state);
/* MOESI letter of a processor's copy: 'M', 'O', 'E', 'S' or 'I'. */
char dc_cache_state_letter(const struct dc_cache *c, uint32_t cpu, uint64_t pa);
/* Statistics of level i summed over processors (a shared level counted once). */
void dc_cache_level_stats(const struct dc_cache *c, uint32_t i, struct dc_cache_stats *out);

/* Maintenance of one line in every level of every processor.  Returns true if the line was
 * present. */
bool dc_cache_line_op(struct dc_cache *c, uint64_t pa, enum dc_cache_op op);

/* Maintenance of every present line whose data lies in [lo, hi): walks all lines of the
 * hierarchy, so it costs the cache size, not the range.  Returns the lines affected. */
uint64_t dc_cache_data_range_op(struct dc_cache *c, const uint8_t *lo, const uint8_t *hi,
                                enum dc_cache_op op);

/* Fills a line into the current processor without a CPU reference (speculative fill /
 * prefetch).  No statistics as a reference; counted in fills.  Returns false if it was
 * already present in any processor. */
bool dc_cache_prefetch(struct dc_cache *c, uint64_t pa, uint8_t *data);

/* Evicts one valid line chosen at random among the current processor's levels (adversary),
 * from every processor.  Returns true if one was evicted. */
bool dc_cache_evict_random(struct dc_cache *c);

/* Total lines of all levels of all processors; the crossover for range maintenance. */
uint64_t dc_cache_total_lines(const struct dc_cache *c);

/* Drops every line, writing dirty ones back. */
void dc_cache_flush_all(struct dc_cache *c);

#endif
