/* The processors' coherence protocol (MOESI, src/hw/cache.c) against its state table: every
 * transition of a processor's copy on a local read/write, a remote read/write snoop, an
 * eviction, clean/invalidate maintenance and, through the machine, a DMA snoop on a coherent
 * platform; then the seed's anomaly with the buffer dirty in another processor's L1. */
#include <string.h>

#include "dctest.h"
#include "hw/cache.h"
#include "hw/machine.h"

struct rec {
	int fills, writebacks, gone;
};

static void r_fill(void *o, uint64_t pa, uint8_t *d)
{
	(void)pa, (void)d;
	((struct rec *)o)->fills++;
}

static void r_wb(void *o, uint64_t pa, const uint8_t *d)
{
	(void)pa, (void)d;
	((struct rec *)o)->writebacks++;
}

static void r_gone(void *o, uint64_t pa)
{
	(void)pa;
	((struct rec *)o)->gone++;
}

static const struct dc_cache_ops rec_ops = {.fill = r_fill, .writeback = r_wb, .gone = r_gone};

#define L(n) ((uint64_t)(n)*64)

/* line 64; L1 2 sets x 2 ways per processor; L2 (shared, or private with 3 levels) 4 x 2;
 * L3 shared 8 x 2. */
static void geom(struct dc_platform *p, uint32_t levels, uint32_t cpus)
{
	memset(p, 0, sizeof(*p));
	p->line_size = 64;
	p->n_levels = levels;
	p->processors = cpus;
	p->level[0] = (struct dc_cache_geom){.size = 256, .ways = 2, .repl = DC_REPL_LRU};
	p->level[1] = (struct dc_cache_geom){.size = 512, .ways = 2, .repl = DC_REPL_LRU};
	p->level[2] = (struct dc_cache_geom){.size = 1024, .ways = 2, .repl = DC_REPL_LRU};
}

static uint32_t acc(struct dc_cache *c, uint32_t cpu, uint64_t pa, enum dc_access a)
{
	dc_cache_set_cpu(c, cpu);
	return dc_cache_access(c, pa, NULL, a);
}

static char st(const struct dc_cache *c, uint32_t cpu, uint64_t pa)
{
	return dc_cache_state_letter(c, cpu, pa);
}

/* Two processors, shared L2, one line. */
#define SETUP2()              \
	struct dc_platform p; \
	struct dc_cache c;    \
	struct rec r = {0};   \
	geom(&p, 2, 2);       \
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0)

DC_TEST(mesi_local_read_miss_alone_is_exclusive)
{
	SETUP2();
	CHECK_EQ(acc(&c, 0, L(0), DC_ACC_READ), 2);
	CHECK_EQ(st(&c, 0, L(0)), 'E');
	CHECK_EQ(st(&c, 1, L(0)), 'I');
	CHECK_EQ(r.fills, 1);
	dc_cache_fini(&c);
}

DC_TEST(mesi_local_write_hit_exclusive_is_silent)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 0, L(0), DC_ACC_WRITE); /* E -> M, nobody told */
	CHECK_EQ(st(&c, 0, L(0)), 'M');
	CHECK_EQ(c.cst[0].upgrades, 0);
	CHECK_EQ(c.cst[1].invalidated, 0);
	dc_cache_fini(&c);
}

DC_TEST(mesi_remote_read_of_exclusive_shares)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 1, L(0), DC_ACC_READ); /* E -> S here; the L2 hit serves, no fill */
	CHECK_EQ(st(&c, 0, L(0)), 'S');
	CHECK_EQ(st(&c, 1, L(0)), 'S');
	CHECK_EQ(r.fills, 1);
	CHECK_EQ(c.cst[0].supplied, 1);
	dc_cache_fini(&c);
}

DC_TEST(mesi_remote_read_of_modified_goes_owned)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_WRITE);
	acc(&c, 1, L(0), DC_ACC_READ); /* M -> O: supplied cache to cache, memory not written */
	CHECK_EQ(st(&c, 0, L(0)), 'O');
	CHECK_EQ(st(&c, 1, L(0)), 'S');
	CHECK_EQ(r.writebacks, 0);
	bool dirty;
	CHECK(dc_cache_probe(&c, L(0), &dirty) == 0 && dirty);
	dc_cache_fini(&c);
}

DC_TEST(mesi_remote_write_invalidates)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 1, L(0), DC_ACC_WRITE); /* E -> I in 0, M in 1 */
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(st(&c, 1, L(0)), 'M');
	CHECK_EQ(c.cst[0].invalidated, 1);
	/* The remote write of a Modified line takes its dirtiness, without a write-back. */
	acc(&c, 0, L(0), DC_ACC_WRITE);
	CHECK_EQ(st(&c, 1, L(0)), 'I');
	CHECK_EQ(st(&c, 0, L(0)), 'M');
	CHECK_EQ(r.writebacks, 0);
	CHECK_EQ(r.gone, 0);
	dc_cache_fini(&c);
}

DC_TEST(mesi_local_write_to_shared_and_owned_upgrades)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 1, L(0), DC_ACC_READ);  /* S, S */
	acc(&c, 1, L(0), DC_ACC_WRITE); /* S -> M, the other S -> I */
	CHECK_EQ(st(&c, 1, L(0)), 'M');
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(c.cst[1].upgrades, 1);
	acc(&c, 0, L(0), DC_ACC_READ); /* 1: M -> O, 0: S */
	CHECK_EQ(st(&c, 1, L(0)), 'O');
	acc(&c, 1, L(0), DC_ACC_WRITE); /* O -> M, the other S -> I */
	CHECK_EQ(st(&c, 1, L(0)), 'M');
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(c.cst[1].upgrades, 2);
	CHECK_EQ(r.writebacks, 0);
	dc_cache_fini(&c);
}

DC_TEST(mesi_local_read_hit_keeps_state)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_WRITE);
	acc(&c, 1, L(0), DC_ACC_READ);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(acc(&c, 0, L(0), DC_ACC_READ), 0);
		CHECK_EQ(acc(&c, 1, L(0), DC_ACC_READ), 0);
	}
	CHECK_EQ(st(&c, 0, L(0)), 'O');
	CHECK_EQ(st(&c, 1, L(0)), 'S');
	dc_cache_fini(&c);
}

/* The fast path must not keep answering for a line another processor invalidated. */
DC_TEST(mesi_fast_path_sees_remote_invalidation)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_WRITE);
	CHECK_EQ(acc(&c, 0, L(0), DC_ACC_WRITE), 0); /* MRU, Modified */
	acc(&c, 1, L(0), DC_ACC_WRITE);
	CHECK_EQ(acc(&c, 0, L(0), DC_ACC_WRITE), 1); /* L1 miss: it was invalidated; L2 hit */
	CHECK_EQ(st(&c, 0, L(0)), 'M');
	CHECK_EQ(st(&c, 1, L(0)), 'I');
	dc_cache_fini(&c);
}

DC_TEST(mesi_eviction_writes_back_modified_and_owned_only)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	geom(&p, 1, 2); /* one private level: an L1 eviction leaves the processor */
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	/* Set 0 holds L(0), L(2), L(4)...; two ways. */
	acc(&c, 0, L(0), DC_ACC_WRITE); /* M */
	acc(&c, 1, L(0), DC_ACC_READ);  /* 0: O, 1: S */
	acc(&c, 0, L(2), DC_ACC_READ);
	acc(&c, 0, L(4), DC_ACC_READ); /* evicts O L(0) from 0: written back, 1 keeps S */
	CHECK_EQ(r.writebacks, 1);
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(st(&c, 1, L(0)), 'S');
	CHECK_EQ(r.gone, 0); /* still present in processor 1 */
	acc(&c, 1, L(2), DC_ACC_READ);
	acc(&c, 1, L(6), DC_ACC_READ); /* evicts clean S L(0) from 1: no write-back, gone */
	CHECK_EQ(r.writebacks, 1);
	CHECK_EQ(r.gone, 1);
	acc(&c, 0, L(8), DC_ACC_WRITE); /* M */
	acc(&c, 0, L(10), DC_ACC_READ);
	acc(&c, 0, L(12), DC_ACC_READ); /* set 0 held L(8) M, L(10): evicts L(8) */
	CHECK_EQ(st(&c, 0, L(8)), 'I');
	CHECK_EQ(r.writebacks, 2); /* M evicted: written back */
	dc_cache_fini(&c);
}

DC_TEST(mesi_dirty_eviction_passes_to_shared_level)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_WRITE);
	acc(&c, 0, L(2), DC_ACC_READ);
	acc(&c, 0, L(4), DC_ACC_READ); /* M L(0) leaves 0's L1; the shared L2 holds it dirty */
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(r.writebacks, 0);
	bool dirty;
	CHECK(dc_cache_probe(&c, L(0), &dirty) == 1 && dirty);
	/* Processor 1's read is served by the shared level, dirty there: no fill, Exclusive. */
	CHECK_EQ(acc(&c, 1, L(0), DC_ACC_READ), 1);
	CHECK_EQ(st(&c, 1, L(0)), 'E');
	CHECK_EQ(r.fills, 3);
	dc_cache_fini(&c);
}

DC_TEST(mesi_maintenance_acts_on_every_processor)
{
	SETUP2();
	acc(&c, 0, L(0), DC_ACC_WRITE);
	acc(&c, 1, L(0), DC_ACC_READ); /* O, S */
	/* Clean from processor 1 (the HAL's broadcast): one write-back, O -> S. */
	CHECK(dc_cache_line_op(&c, L(0), DC_CACHE_CLEAN));
	CHECK_EQ(r.writebacks, 1);
	CHECK_EQ(st(&c, 0, L(0)), 'S');
	CHECK_EQ(st(&c, 1, L(0)), 'S');
	acc(&c, 1, L(0), DC_ACC_WRITE); /* M in 1 */
	CHECK(dc_cache_line_op(&c, L(0), DC_CACHE_CLEAN));
	CHECK_EQ(st(&c, 1, L(0)), 'E'); /* M -> E */
	CHECK_EQ(r.writebacks, 2);
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 1, L(0), DC_ACC_WRITE);
	/* Invalidate drops every copy, dirty bytes lost. */
	CHECK(dc_cache_line_op(&c, L(0), DC_CACHE_INVAL));
	CHECK_EQ(r.writebacks, 2);
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(st(&c, 1, L(0)), 'I');
	CHECK_EQ(dc_cache_probe(&c, L(0), NULL), -1);
	CHECK_EQ(r.gone, 1);
	/* Clean+invalidate writes the Modified copy of the other processor back, then drops. */
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 1, L(0), DC_ACC_WRITE);
	dc_cache_set_cpu(&c, 0);
	CHECK(dc_cache_line_op(&c, L(0), DC_CACHE_CLEAN_INVAL));
	CHECK_EQ(r.writebacks, 3);
	CHECK_EQ(dc_cache_probe(&c, L(0), NULL), -1);
	dc_cache_fini(&c);
}

DC_TEST(mesi_three_levels_private_l2)
{
	struct dc_platform p;
	struct dc_cache c;
	struct rec r = {0};
	geom(&p, 3, 2);
	CHECK(dc_cache_init(&c, &p, &rec_ops, &r, 1) == 0);
	CHECK_EQ(c.n_private, 2);
	CHECK(c.view[0][1] != c.view[1][1]);
	CHECK(c.view[0][2] == c.view[1][2]);
	acc(&c, 0, L(0), DC_ACC_READ);
	acc(&c, 0, L(2), DC_ACC_READ);
	acc(&c, 0, L(4), DC_ACC_READ); /* L(0) left 0's L1, is in its private L2 */
	CHECK_EQ(dc_cache_probe_cpu(&c, 0, L(0), NULL), 1);
	CHECK_EQ(st(&c, 0, L(0)), 'E');
	acc(&c, 1, L(0), DC_ACC_WRITE);                     /* invalidates the copy in 0's L2 too */
	CHECK_EQ(dc_cache_probe_cpu(&c, 0, L(0), NULL), 2); /* only the shared L3 */
	CHECK_EQ(st(&c, 0, L(0)), 'I');
	CHECK_EQ(st(&c, 1, L(0)), 'M');
	/* A write by 0 to a Shared copy held only in its own L2 invalidates the others. */
	acc(&c, 0, L(6), DC_ACC_READ);
	acc(&c, 1, L(6), DC_ACC_READ);
	acc(&c, 0, L(8), DC_ACC_READ);
	acc(&c, 0, L(10), DC_ACC_READ); /* L(6) only in 0's L2 now, S */
	CHECK_EQ(dc_cache_probe_cpu(&c, 0, L(6), NULL), 1);
	CHECK_EQ(acc(&c, 0, L(6), DC_ACC_WRITE), 1);
	CHECK_EQ(st(&c, 0, L(6)), 'M');
	CHECK_EQ(st(&c, 1, L(6)), 'I');
	dc_cache_fini(&c);
}

/* With every reference on processor 0, a second processor changes no count (the cachegrind
 * cross-check's premise). */
DC_TEST(mesi_idle_processor_changes_nothing)
{
	struct dc_platform p;
	geom(&p, 2, 1);
	struct dc_cache a, b;
	CHECK(dc_cache_init(&a, &p, NULL, NULL, 1) == 0);
	p.processors = 4;
	CHECK(dc_cache_init(&b, &p, NULL, NULL, 1) == 0);
	uint64_t x = 5;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t pa = ((x >> 40) % 40) * 64;
		enum dc_access ac = (x >> 60) & 1 ? DC_ACC_WRITE : DC_ACC_READ;
		dc_cache_access(&a, pa, NULL, ac);
		dc_cache_access(&b, pa, NULL, ac);
	}
	for (int l = 0; l < 2; l++)
		for (int k = 0; k < 2; k++) {
			CHECK_EQ(a.lv[l].st.hits[k], b.lv[l].st.hits[k]);
			CHECK_EQ(a.lv[l].st.misses[k], b.lv[l].st.misses[k]);
		}
	CHECK_EQ(a.lv[0].st.evictions, b.lv[0].st.evictions);
	dc_cache_fini(&a);
	dc_cache_fini(&b);
}

/* --- Through the machine: DMA snoops and the seed's anomaly ------------------------------ */

static struct dc_machine *make(const char *platform, uint32_t cpus)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	p.processors = cpus;
	p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	return dc_machine_create(&p, &m) < 0 ? NULL : m;
}

/* Processor 1 fills a buffer (its lines Modified in 1's L1); processor 0 starts a device read
 * of it, optionally after KeFlushIoBuffers' maintenance issued from processor 0.  Returns
 * whether the device read what processor 1 wrote. */
static int device_reads_other_cpus_data(const char *platform, bool flush)
{
	struct dc_machine *m = make(platform, 2);
	if (!m)
		return -1;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint8_t pat[256], got[256];
	memset(pat, 0x5a, sizeof(pat));
	dc_machine_set_cpu(m, 1);
	dc_cpu_write(m, buf, pat, sizeof(pat));
	dc_machine_set_cpu(m, 0);
	uint64_t pa = dc_va_to_pa(m, buf);
	int ok = dc_cache_state_letter(&m->cache, 1, pa) == 'M' &&
	         dc_cache_state_letter(&m->cache, 0, pa) == 'I';
	if (flush)
		dc_cpu_cache_range(m, buf, sizeof(pat), DC_CACHE_CLEAN, false);
	dc_dma_read(m, 0, pa, got, sizeof(got));
	int r = ok ? !memcmp(got, pat, sizeof(pat)) : -1;
	dc_machine_destroy(m);
	return r;
}

DC_TEST(mesi_dma_read_of_line_dirty_in_other_processor)
{
	CHECK_EQ(device_reads_other_cpus_data("noncoherent", false), 0); /* stale */
	CHECK_EQ(device_reads_other_cpus_data("noncoherent", true), 1);  /* flushed on all */
	CHECK_EQ(device_reads_other_cpus_data("pc", false), 1);          /* the device snoops */
}

/* On a coherent platform a device write invalidates the line in every processor. */
DC_TEST(mesi_dma_write_snoops_every_processor)
{
	struct dc_machine *m = make("pc", 2);
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint8_t v = 1, pat[64], got[64];
	memset(pat, 0x77, sizeof(pat));
	dc_machine_set_cpu(m, 0);
	dc_cpu_write(m, buf, &v, 1);
	dc_machine_set_cpu(m, 1);
	dc_cpu_read(m, buf, got, 1); /* 0: O, 1: S */
	uint64_t pa = dc_va_to_pa(m, buf);
	CHECK_EQ(dc_cache_state_letter(&m->cache, 0, pa), 'O');
	CHECK(dc_dma_write(m, 0, pa, pat, sizeof(pat)) == 0);
	CHECK_EQ(dc_cache_state_letter(&m->cache, 0, pa), 'I');
	CHECK_EQ(dc_cache_state_letter(&m->cache, 1, pa), 'I');
	dc_machine_set_cpu(m, 0);
	dc_cpu_read(m, buf, got, sizeof(got));
	CHECK(!memcmp(got, pat, sizeof(pat)));
	dc_machine_destroy(m);
}

/* The cachegrind cross-check per processor: two processors run disjoint reference streams,
 * interleaved; each processor's L1 counts are those of a single-processor cache running its
 * stream alone, which `make crosscheck` compares with cachegrind's D1.  (The shared level
 * sees both streams, so its counts are the machine's, not either stream's.) */
DC_TEST(mesi_per_processor_l1_counts_are_each_streams_own)
{
	struct dc_platform p;
	geom(&p, 2, 1);
	p.level[0] = (struct dc_cache_geom){.size = 1024, .ways = 4, .repl = DC_REPL_LRU};
	struct dc_cache one[2], two;
	CHECK(dc_cache_init(&one[0], &p, NULL, NULL, 1) == 0);
	CHECK(dc_cache_init(&one[1], &p, NULL, NULL, 1) == 0);
	p.processors = 2;
	CHECK(dc_cache_init(&two, &p, NULL, NULL, 1) == 0);
	uint64_t x = 11;
	for (int i = 0; i < 40000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t cpu = (x >> 62) & 1;
		/* Disjoint: processor 0 even lines, processor 1 odd lines, 64 lines each. */
		uint64_t pa = (((x >> 40) % 64) * 2 + cpu) * 64 + ((x >> 20) & 63);
		enum dc_access ac = (x >> 61) & 1 ? DC_ACC_WRITE : DC_ACC_READ;
		dc_cache_access(&one[cpu], pa, NULL, ac);
		acc(&two, cpu, pa, ac);
	}
	for (uint32_t q = 0; q < 2; q++)
		for (int k = 0; k < 2; k++) {
			CHECK_EQ(two.view[q][0]->st.hits[k], one[q].lv[0].st.hits[k]);
			CHECK_EQ(two.view[q][0]->st.misses[k], one[q].lv[0].st.misses[k]);
		}
	CHECK(two.view[1][0]->st.misses[0] > 0);
	CHECK_EQ(two.cst[0].invalidated + two.cst[1].invalidated, 0);
	dc_cache_fini(&one[0]);
	dc_cache_fini(&one[1]);
	dc_cache_fini(&two);
}
