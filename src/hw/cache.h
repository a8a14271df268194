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
 * The model knows nothing of memory: it calls fill/writeback with the line's physical address
 * and its data pointer.  Keys are physical addresses; tag-only users pass data = NULL.
 *
 * Not modelled: write-through, no-write-allocate, victim caches, MESI between CPUs (the CPUs
 * are coherent with each other by assumption). */
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

/* One level: parallel arrays indexed set * ways + way, so a set's tags share a host line. */
struct dc_cache_level {
	uint32_t sets, ways;
	uint32_t set_mask;
	enum dc_repl repl;
	uint64_t clock;
	uint64_t *tag;   /* line number (pa >> line_shift) + 1; 0 = invalid */
	uint64_t *stamp; /* LRU: last use */
	uint8_t **data;  /* the line's bytes in the cached window */
	uint8_t *dirty;
	struct dc_cache_stats st;
};

struct dc_cache_ops {
	/* Copy the line from memory into data (every level missed). */
	void (*fill)(void *opaque, uint64_t line_pa, uint8_t *data);
	/* Copy a dirty line's data to memory. */
	void (*writeback)(void *opaque, uint64_t line_pa, const uint8_t *data);
	/* The line left the whole hierarchy (after any write-back). */
	void (*gone)(void *opaque, uint64_t line_pa);
};

struct dc_cache {
	uint32_t n_levels;
	uint32_t line_shift, line_size;
	struct dc_cache_level lv[DC_MAX_CACHE_LEVELS];
	const struct dc_cache_ops *ops;
	void *opaque;
	struct dc_rng rng;
	/* Fast path: the last line looked up, known to be MRU in L1 (tag, and whether dirty),
	 * and its index in L1's arrays. */
	uint64_t mru_tag;
	bool mru_dirty;
	long mru_k;
};

int dc_cache_init(struct dc_cache *c, const struct dc_platform *p, const struct dc_cache_ops *ops,
                  void *opaque, uint64_t seed);
void dc_cache_fini(struct dc_cache *c);

/* One CPU reference to the line holding pa; data is the host address of the byte at pa in the
 * cached window (NULL for tag-only use).  Returns the level that
 * hit (0 = L1) or n_levels for a miss in every level (the line was filled from memory). */
uint32_t dc_cache_access_slow(struct dc_cache *c, uint64_t pa, uint8_t *data, enum dc_access a);

static inline uint32_t dc_cache_access(struct dc_cache *c, uint64_t pa, uint8_t *data,
                                       enum dc_access a)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	if (DC_LIKELY(tag == c->mru_tag && (a == DC_ACC_READ || c->mru_dirty))) {
		c->lv[0].st.hits[a]++;
		return 0;
	}
	return dc_cache_access_slow(c, pa, data, a);
}

/* An L1 hit on the line at index k of L1's arrays, whose tag the caller has just checked:
 * exactly what dc_cache_access does for an L1 hit, without looking the line up. */
static inline void dc_cache_l1_hit_at(struct dc_cache *c, long k, enum dc_access a)
{
	struct dc_cache_level *l1 = &c->lv[0];
	l1->st.hits[a]++;
	l1->stamp[k] = ++l1->clock;
	if (a == DC_ACC_WRITE)
		l1->dirty[k] = 1;
	c->mru_tag = l1->tag[k];
	c->mru_dirty = l1->dirty[k];
	c->mru_k = k;
}

/* Level that holds the line (lowest index), or -1.  *dirty: dirty in any level. */
int dc_cache_probe(const struct dc_cache *c, uint64_t pa, bool *dirty);

/* Maintenance of one line in every level.  Returns true if the line was present. */
bool dc_cache_line_op(struct dc_cache *c, uint64_t pa, enum dc_cache_op op);

/* Maintenance of every present line whose data lies in [lo, hi): walks all lines of the
 * hierarchy, so it costs the cache size, not the range.  Returns the lines affected. */
uint64_t dc_cache_data_range_op(struct dc_cache *c, const uint8_t *lo, const uint8_t *hi,
                                enum dc_cache_op op);

/* Fills a line without a CPU reference (speculative fill / prefetch).  No statistics as a
 * reference; counted in fills.  Returns false if it was already present. */
bool dc_cache_prefetch(struct dc_cache *c, uint64_t pa, uint8_t *data);

/* Evicts one valid line chosen at random (adversary).  Returns true if one was evicted. */
bool dc_cache_evict_random(struct dc_cache *c);

/* Total lines of all levels; the crossover for range maintenance. */
uint64_t dc_cache_total_lines(const struct dc_cache *c);

/* Drops every line, writing dirty ones back. */
void dc_cache_flush_all(struct dc_cache *c);

#endif
