/* The seed's anomaly, step by step, with the state of one cache line and its memory drawn
 * between steps (shown when a test fails, or always with -v):
 *  (a) the CPU writes a line, the device reads memory and gets stale bytes;
 *  (b) the device writes memory, a later eviction of the CPU's dirty line overwrites the DMA
 *      data;
 *  (c) the CPU reads a stale clean line after the device wrote memory;
 *  (d) processor 1 writes the line, processor 0 starts the DMA: the clean must act on every
 *      processor's caches;
 * each made correct by range maintenance at the right point, and correct without it on pc. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"

#define LINE 64

#include "hw/anomaly.h"

static void to_log(void *opaque, const char *text)
{
	(void)opaque;
	dct_log("%s", text);
}

/* 1: correct, 0: corrupted, -1: could not run. */
static int run(const char *platform, enum dc_anomaly a, bool maintain, bool *evicted)
{
	struct dc_platform p;
	struct dc_anomaly_result r;
	if (dc_platform_builtin(platform, &p) < 0)
		return -1;
	dct_log("(%s) %s, %s\n", dc_anomaly_name(a), platform,
	        maintain ? dc_anomaly_fix(a) : "no maintenance");
	if (dc_anomaly_run(&p, a, maintain, to_log, NULL, &r) < 0)
		return -1;
	if (evicted)
		*evicted = r.evicted;
	return r.correct;
}

static struct dc_machine *make(const char *platform)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	struct dc_machine *m = NULL;
	return dc_machine_create(&p, &m) < 0 ? NULL : m;
}

static bool all(const uint8_t *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

DC_TEST(anomaly_a_stale_device_read_noncoherent)
{
	CHECK_MSG(run("noncoherent", DC_ANOMALY_STALE_DEVICE_READ, false, NULL) == 0,
	          "the device should have read stale memory");
	CHECK(run("noncoherent", DC_ANOMALY_STALE_DEVICE_READ, true, NULL) == 1);
}

DC_TEST(anomaly_a_correct_on_pc_without_flush)
{
	CHECK(run("pc", DC_ANOMALY_STALE_DEVICE_READ, false, NULL) == 1);
}

DC_TEST(anomaly_b_eviction_overwrites_dma_noncoherent)
{
	bool evicted = false;
	CHECK_MSG(run("noncoherent", DC_ANOMALY_EVICTION_OVER_DMA, false, &evicted) == 0,
	          "the dirty line should have overwritten the DMA data");
	CHECK_MSG(evicted, "the conflicting accesses did not evict the line");
	CHECK(run("noncoherent", DC_ANOMALY_EVICTION_OVER_DMA, true, &evicted) == 1);
}

DC_TEST(anomaly_b_correct_on_pc_without_flush)
{
	CHECK(run("pc", DC_ANOMALY_EVICTION_OVER_DMA, false, NULL) == 1);
}

DC_TEST(anomaly_c_stale_cpu_read_noncoherent)
{
	CHECK_MSG(run("noncoherent", DC_ANOMALY_STALE_CPU_READ, false, NULL) == 0,
	          "the CPU should have read stale data");
	CHECK(run("noncoherent", DC_ANOMALY_STALE_CPU_READ, true, NULL) == 1);
}

DC_TEST(anomaly_c_correct_on_pc_without_flush)
{
	CHECK(run("pc", DC_ANOMALY_STALE_CPU_READ, false, NULL) == 1);
}

/* On the 3-level ARM-like profile too. */
DC_TEST(anomaly_all_on_three_levels)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	p.n_levels = 3;
	p.level[0] = (struct dc_cache_geom){32768, 4, DC_REPL_LRU};
	p.level[1] = (struct dc_cache_geom){262144, 8, DC_REPL_RANDOM};
	p.level[2] = (struct dc_cache_geom){2097152, 16, DC_REPL_LRU};
	for (int a = 0; a < DC_ANOMALY_COUNT; a++) {
		struct dc_anomaly_result r;
		CHECK(dc_anomaly_run(&p, (enum dc_anomaly)a, false, to_log, NULL, &r) == 0);
		CHECK_MSG(!r.correct, "%s did not show", dc_anomaly_name((enum dc_anomaly)a));
		CHECK(dc_anomaly_run(&p, (enum dc_anomaly)a, true, to_log, NULL, &r) == 0);
		CHECK_MSG(r.correct, "%s not fixed", dc_anomaly_name((enum dc_anomaly)a));
	}
}

/* The adversary makes (b) show at once: evict_dirty_after_dma writes the dirty line back right
 * after the device write. */
DC_TEST(anomaly_b_adversary_evicts_at_the_worst_moment)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[LINE];
	memset(data, 'D', LINE);
	dc_cpu_fill(m, buf, 'c', LINE);
	dc_dma_write(m, 0, pa, data, LINE);
	bool lost = all(dc_mem_pa_ptr(&m->mem, pa), 'c', LINE);
	uint64_t wb = m->st.adversary_writebacks;
	dc_machine_destroy(m);
	CHECK(lost);
	CHECK_EQ(wb, 1);
}

/* noncoherent-prefetch: a line invalidated before the transfer is fetched again speculatively
 * while the device writes, so only an invalidate after the transfer gives correct data. */
DC_TEST(anomaly_speculative_fill_needs_invalidate_after)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent-prefetch", &p) == 0);
	p.adv.speculative_fill = 1.0;
	p.adv.random_evict = 0;
	struct dc_machine *m = NULL;
	CHECK(dc_machine_create(&p, &m) == 0);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[LINE], seen[LINE];
	memset(data, 'D', LINE);
	memset(dc_mem_pa_ptr(&m->mem, pa), 'x', LINE);
	dc_cpu_cache_range(m, buf, LINE, DC_CACHE_CLEAN_INVAL, false);
	dc_dma_write(m, 0, pa, data, LINE);
	dc_cpu_read(m, buf, seen, LINE);
	bool stale = all(seen, 'x', LINE);
	dc_cpu_cache_range(m, buf, LINE, DC_CACHE_INVAL, false);
	dc_cpu_read(m, buf, seen, LINE);
	bool fresh = all(seen, 'D', LINE);
	dc_machine_destroy(m);
	CHECK(stale);
	CHECK(fresh);
}

DC_TEST(anomaly_d_other_processor_noncoherent)
{
	CHECK_MSG(run("noncoherent", DC_ANOMALY_OTHER_PROCESSOR, false, NULL) == 0,
	          "the device should have read stale memory: the line is dirty in cpu1's L1");
	CHECK(run("noncoherent", DC_ANOMALY_OTHER_PROCESSOR, true, NULL) == 1);
	CHECK(run("arm-soc", DC_ANOMALY_OTHER_PROCESSOR, false, NULL) == 0);
	CHECK(run("arm-soc", DC_ANOMALY_OTHER_PROCESSOR, true, NULL) == 1);
}

DC_TEST(anomaly_d_correct_on_pc_without_flush)
{
	CHECK(run("pc", DC_ANOMALY_OTHER_PROCESSOR, false, NULL) == 1);
}

/* A one-processor profile still runs (d) on two: the scenario needs another processor. */
DC_TEST(anomaly_d_runs_on_two_processors_at_least)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	p.processors = 1;
	struct dc_anomaly_result r;
	CHECK(dc_anomaly_run(&p, DC_ANOMALY_OTHER_PROCESSOR, false, to_log, NULL, &r) == 0);
	CHECK(!r.correct);
	CHECK(dc_anomaly_run(&p, DC_ANOMALY_OTHER_PROCESSOR, true, to_log, NULL, &r) == 0);
	CHECK(r.correct);
}

/* The clean processor 0 does reaches processor 1's dirty copy: M (or O) there becomes clean,
 * memory gets the bytes, and a clean by processor 1 afterwards has nothing left to write. */
DC_TEST(anomaly_d_clean_acts_on_every_processor)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	memset(dc_mem_pa_ptr(&m->mem, pa), 'o', LINE);
	dc_machine_set_cpu(m, 1);
	dc_cpu_fill(m, buf, 'N', LINE);
	char before = dc_cache_state_letter(&m->cache, 1, pa);
	dc_machine_set_cpu(m, 0);
	char cpu0_before = dc_cache_state_letter(&m->cache, 0, pa);
	dc_cpu_cache_range(m, buf, LINE, DC_CACHE_CLEAN, false);
	char after = dc_cache_state_letter(&m->cache, 1, pa);
	bool mem_new = all(dc_mem_pa_ptr(&m->mem, pa), 'N', LINE);
	bool dirty = true;
	int lvl = dc_cache_probe(&m->cache, pa, &dirty);
	dc_machine_destroy(m);
	CHECK_EQ(before, 'M');
	CHECK_EQ(cpu0_before, 'I');
	CHECK_EQ(after, 'E');
	CHECK(mem_new);
	CHECK(lvl >= 0);
	CHECK(!dirty);
}
