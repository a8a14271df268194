/* The cache's snoop filter (a count of private copies per line, src/hw/cache.c): a cache that
 * keeps it and one that does not (no memory size given) run the same seeded random references,
 * upgrades, maintenance, random evictions and prefetches on 1, 2 and 4 processors with two
 * and three levels; every answer, every fill, write-back and line gone (with its address, in
 * order) and every processor's state of every line must be the same, and the filter's counts
 * those of the private levels' tags.  (With one processor the cache keeps no filter.) */
#include <string.h>

#include "dctest.h"
#include "hw/cache.h"
#include "hw/rng.h"

#define LINES 96 /* lines of memory used: three times the largest cache here */

struct log {
	uint64_t h;
	unsigned events;
};

static void mix(struct log *l, uint64_t kind, uint64_t pa)
{
	l->h = (l->h ^ (kind << 56 ^ pa)) * 0x100000001b3ull;
	l->events++;
}

static void f_fill(void *o, uint64_t pa, uint8_t *d)
{
	(void)d;
	mix(o, 1, pa);
}

static void f_wb(void *o, uint64_t pa, const uint8_t *d)
{
	(void)d;
	mix(o, 2, pa);
}

static void f_gone(void *o, uint64_t pa)
{
	mix(o, 3, pa);
}

static const struct dc_cache_ops log_ops = {.fill = f_fill, .writeback = f_wb, .gone = f_gone};

static void geom(struct dc_platform *p, uint32_t levels, uint32_t cpus, uint64_t phys)
{
	memset(p, 0, sizeof(*p));
	p->line_size = 64;
	p->n_levels = levels;
	p->processors = cpus;
	p->phys_size = phys;
	p->level[0] = (struct dc_cache_geom){.size = 512, .ways = 2, .repl = DC_REPL_LRU};
	p->level[1] = (struct dc_cache_geom){.size = 1024, .ways = 4, .repl = DC_REPL_LRU};
	p->level[2] = (struct dc_cache_geom){.size = 2048, .ways = 4, .repl = DC_REPL_RANDOM};
}

/* The private copies of line tag by a walk of every private level's tags. */
static unsigned walked(const struct dc_cache *c, uint64_t tag)
{
	unsigned n = 0;
	for (uint32_t q = 0; q < c->n_cpus; q++)
		for (uint32_t i = 0; i < c->n_private; i++) {
			const struct dc_cache_level *l = c->view[q][i];
			for (size_t k = 0; k < (size_t)l->sets * l->ways; k++)
				n += l->tag[k] == tag;
		}
	return n;
}

DC_TEST(cache_snoop_filter_changes_no_answer_and_counts_right)
{
	unsigned bad = 0, runs = 0;
	for (uint32_t levels = 2; levels <= 3; levels++) {
		for (uint32_t cpus = 1; cpus <= 4; cpus *= 2) {
			struct dc_platform pf, pn;
			geom(&pf, levels, cpus, LINES * 64);
			geom(&pn, levels, cpus, 0);
			struct dc_cache f, n;
			struct log lf = {0}, ln = {0};
			CHECK(dc_cache_init(&f, &pf, &log_ops, &lf, 7) == 0);
			CHECK(dc_cache_init(&n, &pn, &log_ops, &ln, 7) == 0);
			/* One processor has nobody to snoop: no filter (its random probes into a
			 * byte per line of memory cost more than scanning its own L1). */
			CHECK((f.pcopies != NULL) == (cpus > 1));
			CHECK(n.pcopies == NULL);
			struct dc_rng r;
			dc_rng_seed(&r, levels * 10 + cpus);
			for (int step = 0; step < 20000 && !bad; step++) {
				uint32_t cpu = (uint32_t)dc_rng_below(&r, cpus);
				uint64_t pa = dc_rng_below(&r, LINES) * 64 + dc_rng_below(&r, 64);
				int op = (int)dc_rng_below(&r, 16);
				dc_cache_set_cpu(&f, cpu);
				dc_cache_set_cpu(&n, cpu);
				long a, b;
				bool da = false, db = false;
				if (op < 10) {
					enum dc_access x = op < 6 ? DC_ACC_READ : DC_ACC_WRITE;
					a = dc_cache_access(&f, pa, NULL, x);
					b = dc_cache_access(&n, pa, NULL, x);
				} else if (op < 13) {
					enum dc_cache_op o = (enum dc_cache_op)(op - 10);
					a = dc_cache_line_op(&f, pa, o);
					b = dc_cache_line_op(&n, pa, o);
				} else if (op == 13) {
					a = dc_cache_evict_random(&f);
					b = dc_cache_evict_random(&n);
				} else if (op == 14) {
					a = dc_cache_prefetch(&f, pa, NULL);
					b = dc_cache_prefetch(&n, pa, NULL);
				} else {
					a = dc_cache_probe(&f, pa, &da);
					b = dc_cache_probe(&n, pa, &db);
				}
				if (a != b || da != db || lf.h != ln.h || lf.events != ln.events) {
					dct_log("levels %u cpus %u step %d op %d pa %#llx: %ld/%ld "
					        "%d/%d "
					        "events %u/%u",
					        levels, cpus, step, op, (unsigned long long)pa, a,
					        b, da, db, lf.events, ln.events);
					bad++;
				}
			}
			for (uint64_t t = 1; t <= LINES && !bad; t++) {
				for (uint32_t q = 0; q < cpus; q++)
					if (dc_cache_state_letter(&f, q, (t - 1) * 64) !=
					    dc_cache_state_letter(&n, q, (t - 1) * 64))
						bad++;
				if (f.pcopies && f.pcopies[t - 1] != walked(&f, t)) {
					dct_log("line %llu: filter %u, tags %u",
					        (unsigned long long)t - 1, f.pcopies[t - 1],
					        walked(&f, t));
					bad++;
				}
			}
			runs++;
			dc_cache_fini(&f);
			dc_cache_fini(&n);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(runs, 6);
}
