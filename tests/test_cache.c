/* Unit tests of the cache model alone (tag-only or with recording callbacks). */
#include <string.h>

#include "dctest.h"
#include "hw/cache.h"

struct rec {
	int fills, writebacks, gone;
	uint64_t last_wb;
};

static void r_fill(void *o, uint64_t pa, uint8_t *d)
{
	(void)pa, (void)d;
	((struct rec *)o)->fills++;
}

static void r_wb(void *o, uint64_t pa, const uint8_t *d)
{
	(void)d;
	((struct rec *)o)->writebacks++;
	((struct rec *)o)->last_wb = pa;
}

static void r_gone(void *o, uint64_t pa)
{
	(void)pa;
	((struct rec *)o)->gone++;
}

static const struct dc_cache_ops rec_ops = {.fill = r_fill, .writeback = r_wb, .gone = r_gone};

/* A tiny geometry: line 64; L1 2 sets x 2 ways; optional L2 4 sets x 2 ways. */
static void tiny(struct dc_platform *p, uint32_t levels)
{
	memset(p, 0, sizeof(*p));
	p->line_size = 64;
	p->n_levels = levels;
	p->level[0] = (struct dc_cache_geom){.size = 256, .ways = 2, .repl = DC_REPL_LRU};
	p->level[1] = (struct dc_cache_geom){.size = 512, .ways = 2, .repl = DC_REPL_LRU};
}

#define L(n) ((uint64_t)(n)*64)

DC_TEST(cache_lru_one_level)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	tiny(&p, 1);
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	/* Lines 0, 2, 4 share set 0 (2 sets). */
	CHECK_EQ(dc_cache_access(&c, L(0), NULL, DC_ACC_READ), 1);
	CHECK_EQ(dc_cache_access(&c, L(2), NULL, DC_ACC_READ), 1);
	CHECK_EQ(dc_cache_access(&c, L(0), NULL, DC_ACC_READ), 0); /* 0 is now MRU */
	CHECK_EQ(dc_cache_access(&c, L(4), NULL, DC_ACC_READ), 1); /* evicts 2 (LRU) */
	CHECK_EQ(dc_cache_probe(&c, L(2), NULL), -1);
	CHECK_EQ(dc_cache_probe(&c, L(0), NULL), 0);
	CHECK_EQ(c.lv[0].st.misses[DC_ACC_READ], 3);
	CHECK_EQ(c.lv[0].st.hits[DC_ACC_READ], 1);
	CHECK_EQ(c.lv[0].st.evictions, 1);
	CHECK_EQ(r.fills, 3);
	CHECK_EQ(r.gone, 1);
	CHECK_EQ(r.writebacks, 0);
	dc_cache_fini(&c);
}

DC_TEST(cache_dirty_eviction_writes_back)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	tiny(&p, 1);
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	dc_cache_access(&c, L(0), NULL, DC_ACC_WRITE);
	dc_cache_access(&c, L(2), NULL, DC_ACC_READ);
	dc_cache_access(&c, L(4), NULL, DC_ACC_READ); /* evicts dirty 0 */
	CHECK_EQ(r.writebacks, 1);
	CHECK_EQ(r.last_wb, L(0));
	dc_cache_fini(&c);
}

DC_TEST(cache_two_levels_pass_dirtiness_down)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	tiny(&p, 2);
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	/* L1 set 0 holds lines 0,2,4,...; L2 set 0 holds 0,4,8,... */
	dc_cache_access(&c, L(0), NULL, DC_ACC_WRITE);
	dc_cache_access(&c, L(2), NULL, DC_ACC_READ);
	dc_cache_access(&c, L(6), NULL, DC_ACC_READ); /* L1 evicts dirty 0; L2 still holds it */
	bool dirty = false;
	CHECK_EQ(dc_cache_probe(&c, L(0), &dirty), 1);
	CHECK(dirty);
	CHECK_EQ(r.writebacks, 0);
	/* L2 hit brings it back to L1 without a fill from memory. */
	int fills = r.fills;
	CHECK_EQ(dc_cache_access(&c, L(0), NULL, DC_ACC_READ), 1);
	CHECK_EQ(r.fills, fills);
	/* Clean writes it back once and leaves it present in both levels. */
	CHECK(dc_cache_line_op(&c, L(0), DC_CACHE_CLEAN));
	CHECK_EQ(r.writebacks, 1);
	CHECK_EQ(dc_cache_probe(&c, L(0), &dirty), 0);
	CHECK(!dirty);
	dc_cache_fini(&c);
}

DC_TEST(cache_invalidate_discards_dirty_bytes)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	tiny(&p, 2);
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	dc_cache_access(&c, L(1), NULL, DC_ACC_WRITE);
	CHECK(dc_cache_line_op(&c, L(1), DC_CACHE_INVAL));
	CHECK_EQ(r.writebacks, 0);
	CHECK_EQ(r.gone, 1);
	CHECK_EQ(dc_cache_probe(&c, L(1), NULL), -1);
	CHECK(!dc_cache_line_op(&c, L(1), DC_CACHE_CLEAN_INVAL));
	dc_cache_fini(&c);
}

DC_TEST(cache_random_replacement_is_seeded)
{
	struct dc_platform p;
	tiny(&p, 1);
	p.level[0].repl = DC_REPL_RANDOM;
	uint64_t misses[2];
	for (int run = 0; run < 2; run++) {
		struct dc_cache c;
		CHECK(dc_cache_init(&c, &p, NULL, NULL, 42) == 0);
		uint64_t x = 7;
		for (int i = 0; i < 10000; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			dc_cache_access(&c, L((x >> 33) % 16), NULL, DC_ACC_READ);
		}
		misses[run] = c.lv[0].st.misses[0];
		dc_cache_fini(&c);
	}
	CHECK_EQ(misses[0], misses[1]);
}

/* The MRU fast path must not change what the slow path would count. */
DC_TEST(cache_fast_path_counts_like_slow_path)
{
	struct dc_platform p;
	tiny(&p, 2);
	struct dc_cache a, b;
	CHECK(dc_cache_init(&a, &p, NULL, NULL, 1) == 0);
	CHECK(dc_cache_init(&b, &p, NULL, NULL, 1) == 0);
	uint64_t x = 3;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t pa = ((x >> 40) % 24) * 64 + ((x >> 20) & 63);
		enum dc_access acc = (x >> 60) & 1 ? DC_ACC_WRITE : DC_ACC_READ;
		dc_cache_access(&a, pa, NULL, acc);
		dc_cache_access_slow(&b, pa, NULL, acc);
	}
	for (int l = 0; l < 2; l++)
		for (int k = 0; k < 2; k++) {
			CHECK_EQ(a.lv[l].st.hits[k], b.lv[l].st.hits[k]);
			CHECK_EQ(a.lv[l].st.misses[k], b.lv[l].st.misses[k]);
		}
	dc_cache_fini(&a);
	dc_cache_fini(&b);
}

/* The way a line is placed in, with the recency word (power-of-two ways up to 16) and with
 * stamps (12 ways): the lowest invalid way, else the least recently used, as a reference model
 * kept here with stamps decides, over a seeded stream of reads, writes and invalidations that
 * leaves holes in sets.  Placement is observable: random eviction picks a way index. */
static void placement_matches_reference(uint32_t ways)
{
	enum { SETS = 4 };
	struct dc_platform p;
	memset(&p, 0, sizeof(p));
	p.line_size = 64;
	p.n_levels = 1;
	p.level[0] =
	    (struct dc_cache_geom){.size = 64u * SETS * ways, .ways = ways, .repl = DC_REPL_LRU};
	struct dc_cache c;
	CHECK(dc_cache_init(&c, &p, NULL, NULL, 1) == 0);
	CHECK_EQ(c.lv[0].order != NULL, ways <= 16 && !(ways & (ways - 1)));
	uint64_t tag[SETS][16] = {{0}}, stamp[SETS][16] = {{0}}, clock = 0;
	struct dc_rng r;
	dc_rng_seed(&r, ways);
	for (int i = 0; i < 20000; i++) {
		uint64_t line = dc_rng_below(&r, SETS * ways * 2), t = line + 1;
		uint32_t set = (uint32_t)(line % SETS), w = 0;
		if (dc_rng_below(&r, 8) == 0) {
			dc_cache_line_op(&c, line * 64, DC_CACHE_INVAL);
			for (w = 0; w < ways; w++)
				if (tag[set][w] == t)
					tag[set][w] = stamp[set][w] = 0;
			continue;
		}
		dc_cache_access(&c, line * 64, NULL,
		                dc_rng_below(&r, 2) ? DC_ACC_WRITE : DC_ACC_READ);
		while (w < ways && tag[set][w] != t)
			w++;
		if (w == ways) {
			w = 0;
			for (uint32_t v = 1; v < ways; v++)
				if (stamp[set][v] < stamp[set][w])
					w = v;
			tag[set][w] = t;
		}
		stamp[set][w] = ++clock;
		CHECK_EQ(c.mru_k, (long)(set * ways + w));
	}
	dc_cache_fini(&c);
}

DC_TEST(cache_placement_is_lowest_invalid_else_lru_in_both_forms)
{
	placement_matches_reference(1);
	placement_matches_reference(4);
	placement_matches_reference(8);
	placement_matches_reference(16);
	placement_matches_reference(12);
}
