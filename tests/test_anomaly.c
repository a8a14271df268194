/* The seed's anomaly, step by step, with the state of one cache line and its memory drawn
 * between steps (shown when a test fails, or always with -v):
 *  (a) the CPU writes a line, the device reads memory and gets stale bytes;
 *  (b) the device writes memory, a later eviction of the CPU's dirty line overwrites the DMA
 *      data;
 *  (c) the CPU reads a stale clean line after the device wrote memory;
 * each made correct by range maintenance at the right point, and correct without it on pc. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"

#define LINE 64

static struct dc_machine *make(const char *platform, bool adversary)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	if (!adversary)
		p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	return dc_machine_create(&p, &m) < 0 ? NULL : m;
}

static void show_bytes(const char *label, const uint8_t *b)
{
	char s[17];
	for (int i = 0; i < 16; i++)
		s[i] = (b[i] >= 32 && b[i] < 127) ? (char)b[i] : '.';
	s[16] = 0;
	dct_log("    %-22s |%s...|\n", label, s);
}

/* Draws the line holding va: its cache state and bytes, memory's bytes, and what the device
 * holds (if any). */
static void draw(struct dc_machine *m, const char *step, const uint8_t *va, const uint8_t *dev)
{
	uint64_t pa = dc_va_to_pa(m, va);
	bool dirty = false;
	int lvl = dc_cache_probe(&m->cache, pa, &dirty);
	char state[48];
	if (lvl < 0)
		snprintf(state, sizeof(state), "cache: not present");
	else
		snprintf(state, sizeof(state), "cache: L%d %s", lvl + 1, dirty ? "dirty" : "clean");
	dct_log("  %s\n", step);
	if (lvl >= 0)
		show_bytes(state, va);
	else
		dct_log("    %-22s |%16s   |\n", state, "");
	show_bytes("memory", dc_mem_pa_ptr(&m->mem, pa));
	if (dev)
		show_bytes("device", dev);
}

static bool all(const uint8_t *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* (a) CPU store, then device read. */
static int stale_device_read(const char *platform, bool flush)
{
	struct dc_machine *m = make(platform, false);
	if (!m)
		return -1;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t dev[LINE] = {0};
	dct_log("(a) %s, %s\n", platform, flush ? "with clean before the transfer" : "no flush");
	memset(dc_mem_pa_ptr(&m->mem, pa), 'o', LINE);
	draw(m, "0: memory holds old data", buf, NULL);
	dc_cpu_fill(m, buf, 'N', LINE);
	draw(m, "1: CPU writes NEW into the line", buf, NULL);
	if (flush) {
		dc_cpu_cache_range(m, buf, LINE, DC_CACHE_CLEAN, false);
		draw(m, "2: clean (KeFlushIoBuffers, write)", buf, NULL);
	}
	dc_dma_read(m, 0, pa, dev, LINE);
	draw(m, "3: device reads memory", buf, dev);
	int good = all(dev, 'N', LINE);
	dc_machine_destroy(m);
	return good;
}

DC_TEST(anomaly_a_stale_device_read_noncoherent)
{
	CHECK_MSG(stale_device_read("noncoherent", false) == 0,
		  "the device should have read stale memory");
	CHECK(stale_device_read("noncoherent", true) == 1);
}

DC_TEST(anomaly_a_correct_on_pc_without_flush)
{
	CHECK(stale_device_read("pc", false) == 1);
}

/* Evicts the line holding va from every level by touching lines of the same sets (the
 * buffer is physically contiguous, so 64 KiB apart means the same set in L1 and L2). */
static void evict_by_conflicts(struct dc_machine *m, uint8_t *region)
{
	uint64_t stride = (uint64_t)dc_platform_sets(&m->plat, m->plat.n_levels - 1) * LINE;
	uint32_t ways = 0;
	for (uint32_t i = 0; i < m->plat.n_levels; i++)
		ways = DC_MAX(ways, m->plat.level[i].ways);
	uint8_t tmp[8];
	for (uint32_t k = 1; k <= ways; k++)
		dc_cpu_read(m, region + k * stride, tmp, sizeof(tmp));
}

/* (b) device write, then a dirty line the CPU wrote earlier is evicted over it. */
static int eviction_over_dma(const char *platform, bool flush, bool *evicted)
{
	struct dc_machine *m = make(platform, false);
	if (!m)
		return -1;
	/* 32 pages contiguous: the DMA line at offset 0, conflicting lines 64 KiB apart. */
	uint64_t stride = (uint64_t)dc_platform_sets(&m->plat, m->plat.n_levels - 1) * LINE;
	uint64_t pages = (stride * (m->plat.level[m->plat.n_levels - 1].ways + 1)) >> 12;
	uint8_t *buf = dc_alloc_cached(m, pages + 1, DC_ZONE_DMA32, true);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[LINE];
	memset(data, 'D', LINE);
	dct_log("(b) %s, %s\n", platform,
		flush ? "with clean+invalidate before the transfer" : "no flush");
	dc_cpu_fill(m, buf, 'c', LINE);
	draw(m, "1: CPU writes the buffer (dirty line)", buf, NULL);
	if (flush) {
		dc_cpu_cache_range(m, buf, LINE, DC_CACHE_CLEAN_INVAL, false);
		draw(m, "2: clean+invalidate (KeFlushIoBuffers, read)", buf, NULL);
	}
	dc_dma_write(m, 0, pa, data, LINE);
	draw(m, "3: device writes DMA data to memory", buf, NULL);
	evict_by_conflicts(m, buf);
	*evicted = dc_cache_probe(&m->cache, pa, NULL) < 0;
	draw(m, "4: other accesses evict the line", buf, NULL);
	uint8_t seen[LINE];
	dc_cpu_read(m, buf, seen, LINE);
	draw(m, "5: CPU reads the buffer", buf, NULL);
	int good = all(seen, 'D', LINE) && all(dc_mem_pa_ptr(&m->mem, pa), 'D', LINE);
	dc_machine_destroy(m);
	return good;
}

DC_TEST(anomaly_b_eviction_overwrites_dma_noncoherent)
{
	bool evicted = false;
	CHECK_MSG(eviction_over_dma("noncoherent", false, &evicted) == 0,
		  "the dirty line should have overwritten the DMA data");
	CHECK_MSG(evicted, "the conflicting accesses did not evict the line");
	CHECK(eviction_over_dma("noncoherent", true, &evicted) == 1);
}

DC_TEST(anomaly_b_correct_on_pc_without_flush)
{
	bool evicted = false;
	CHECK(eviction_over_dma("pc", false, &evicted) == 1);
}

/* The adversary makes (b) show at once: evict_dirty_after_dma writes the dirty line back right
 * after the device write. */
DC_TEST(anomaly_b_adversary_evicts_at_the_worst_moment)
{
	struct dc_machine *m = make("noncoherent", true);
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[LINE];
	memset(data, 'D', LINE);
	dc_cpu_fill(m, buf, 'c', LINE);
	dc_dma_write(m, 0, pa, data, LINE);
	draw(m, "device wrote; adversary evicted the dirty line", buf, NULL);
	bool lost = all(dc_mem_pa_ptr(&m->mem, pa), 'c', LINE);
	uint64_t wb = m->st.adversary_writebacks;
	dc_machine_destroy(m);
	CHECK(lost);
	CHECK_EQ(wb, 1);
}

/* (c) CPU holds a clean line, device writes memory, CPU reads again. */
static int stale_cpu_read(const char *platform, bool inval)
{
	struct dc_machine *m = make(platform, false);
	if (!m)
		return -1;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[LINE], seen[LINE];
	memset(data, 'D', LINE);
	memset(dc_mem_pa_ptr(&m->mem, pa), 'x', LINE);
	dct_log("(c) %s, %s\n", platform, inval ? "with invalidate after the transfer" : "no flush");
	dc_cpu_read(m, buf, seen, LINE);
	draw(m, "1: CPU reads the buffer (clean line)", buf, NULL);
	dc_dma_write(m, 0, pa, data, LINE);
	draw(m, "2: device writes memory", buf, NULL);
	if (inval) {
		dc_cpu_cache_range(m, buf, LINE, DC_CACHE_INVAL, false);
		draw(m, "3: invalidate (FlushAdapterBuffers)", buf, NULL);
	}
	dc_cpu_read(m, buf, seen, LINE);
	draw(m, "4: CPU reads the buffer again", buf, NULL);
	int good = all(seen, 'D', LINE);
	dc_machine_destroy(m);
	return good;
}

DC_TEST(anomaly_c_stale_cpu_read_noncoherent)
{
	CHECK_MSG(stale_cpu_read("noncoherent", false) == 0, "the CPU should have read stale data");
	CHECK(stale_cpu_read("noncoherent", true) == 1);
}

DC_TEST(anomaly_c_correct_on_pc_without_flush)
{
	CHECK(stale_cpu_read("pc", false) == 1);
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
	draw(m, "device wrote after a speculative fill", buf, NULL);
	dc_cpu_read(m, buf, seen, LINE);
	bool stale = all(seen, 'x', LINE);
	dc_cpu_cache_range(m, buf, LINE, DC_CACHE_INVAL, false);
	dc_cpu_read(m, buf, seen, LINE);
	bool fresh = all(seen, 'D', LINE);
	dc_machine_destroy(m);
	CHECK(stale);
	CHECK(fresh);
}
