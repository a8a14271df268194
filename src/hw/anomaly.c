/* The seed's anomaly scenarios.  See anomaly.h. */
#include <stdio.h>
#include <string.h>

#include "anomaly.h"
#include "machine.h"

const char *dc_anomaly_name(enum dc_anomaly a)
{
	static const char *const names[] = {"stale-device-read", "eviction-over-dma",
	                                    "stale-cpu-read", "other-processor"};
	return (unsigned)a < DC_ARRAY_SIZE(names) ? names[a] : "?";
}

const char *dc_anomaly_fix(enum dc_anomaly a)
{
	static const char *const fixes[] = {
	    "clean before the transfer (KeFlushIoBuffers(Mdl, FALSE, TRUE))",
	    "clean+invalidate before the transfer (KeFlushIoBuffers(Mdl, TRUE, TRUE))",
	    "invalidate after the transfer (FlushAdapterBuffers)",
	    "clean on every processor before the transfer (KeFlushIoBuffers(Mdl, FALSE, TRUE))"};
	return (unsigned)a < DC_ARRAY_SIZE(fixes) ? fixes[a] : "?";
}

struct run {
	struct dc_machine *m;
	dc_anomaly_draw_fn draw;
	void *opaque;
	bool per_cpu; /* draw each processor's private copy, not one cache line */
};

static size_t bytes_str(char *out, size_t len, const char *label, const uint8_t *b)
{
	char s[17];
	for (int i = 0; i < 16; i++)
		s[i] = (b[i] >= 32 && b[i] < 127) ? (char)b[i] : '.';
	s[16] = 0;
	int n = snprintf(out, len, "    %-22s |%s...|\n", label, s);
	return n > 0 ? DC_MIN((size_t)n, len ? len - 1 : 0) : 0;
}

/* Draws the line holding va: its cache state and bytes, memory's bytes, the device's. */
static void draw(struct run *r, const char *step, const uint8_t *va, const uint8_t *dev)
{
	if (!r->draw)
		return;
	char text[512], state[48];
	size_t n = 0;
	uint64_t pa = dc_va_to_pa(r->m, va);
	bool dirty = false;
	int lvl = dc_cache_probe(&r->m->cache, pa, &dirty);
	int k = snprintf(text, sizeof(text), "  %s\n", step);
	n = k > 0 ? DC_MIN((size_t)k, sizeof(text) - 1) : 0;
	if (r->per_cpu) {
		/* Each processor's own copy, by its MOESI letter; the bytes are the ones the
		 * processors agree on (a copy holds them unless it is I). */
		for (uint32_t cpu = 0; cpu < r->m->cache.n_cpus && cpu < 4; cpu++) {
			char letter = dc_cache_state_letter(&r->m->cache, cpu, pa);
			static const char *const what[] = {"modified", "owned", "exclusive",
			                                   "shared"};
			const char *w = letter == 'M'   ? what[0]
			                : letter == 'O' ? what[1]
			                : letter == 'E' ? what[2]
			                                : what[3];
			if (letter == 'I') {
				snprintf(state, sizeof(state), "cpu%u L1: I (invalid)", cpu);
				k = snprintf(text + n, sizeof(text) - n, "    %-22s |%16s   |\n",
				             state, "");
				n += k > 0 ? DC_MIN((size_t)k, sizeof(text) - n - 1) : 0;
			} else {
				snprintf(state, sizeof(state), "cpu%u L1: %c %s", cpu, letter, w);
				n += bytes_str(text + n, sizeof(text) - n, state, va);
			}
		}
	} else if (lvl < 0) {
		k = snprintf(text + n, sizeof(text) - n, "    %-22s |%16s   |\n",
		             "cache: not present", "");
		n += k > 0 ? DC_MIN((size_t)k, sizeof(text) - n - 1) : 0;
	} else {
		snprintf(state, sizeof(state), "cache: L%d %s", lvl + 1, dirty ? "dirty" : "clean");
		n += bytes_str(text + n, sizeof(text) - n, state, va);
	}
	n += bytes_str(text + n, sizeof(text) - n, "memory", dc_mem_pa_ptr(&r->m->mem, pa));
	if (dev)
		bytes_str(text + n, sizeof(text) - n, "device", dev);
	r->draw(r->opaque, text);
}

static bool all(const uint8_t *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

static bool stale_device_read(struct run *r, bool maintain, uint32_t ls)
{
	struct dc_machine *m = r->m;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t dev[DC_PAGE_SIZE];
	memset(dc_mem_pa_ptr(&m->mem, pa), 'o', ls);
	draw(r, "0: memory holds old data", buf, NULL);
	dc_cpu_fill(m, buf, 'N', ls);
	draw(r, "1: CPU writes NEW into the line", buf, NULL);
	if (maintain) {
		dc_cpu_cache_range(m, buf, ls, DC_CACHE_CLEAN, false);
		draw(r, "2: clean (KeFlushIoBuffers for a write)", buf, NULL);
	}
	dc_dma_read(m, 0, pa, dev, ls);
	draw(r, "3: device reads memory", buf, dev);
	return all(dev, 'N', ls);
}

static bool eviction_over_dma(struct run *r, bool maintain, uint32_t ls, bool *evicted)
{
	struct dc_machine *m = r->m;
	const struct dc_platform *p = &m->plat;
	/* Lines one last-level "way size" apart share a set in every level (the buffer is
	 * physically contiguous), so touching `ways` of them evicts the first. */
	uint64_t stride = (uint64_t)dc_platform_sets(p, p->n_levels - 1) * ls;
	uint32_t ways = 0;
	for (uint32_t i = 0; i < p->n_levels; i++)
		ways = DC_MAX(ways, p->level[i].ways);
	uint64_t pages = ((stride * (ways + 1)) >> DC_PAGE_SHIFT) + 1;
	uint8_t *buf = dc_alloc_cached(m, pages, DC_ZONE_DMA32, true);
	if (!buf)
		return false;
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[DC_PAGE_SIZE], tmp[8];
	memset(data, 'D', ls);
	dc_cpu_fill(m, buf, 'c', ls);
	draw(r, "1: CPU writes the buffer (dirty line)", buf, NULL);
	if (maintain) {
		dc_cpu_cache_range(m, buf, ls, DC_CACHE_CLEAN_INVAL, false);
		draw(r, "2: clean+invalidate (KeFlushIoBuffers for a read)", buf, NULL);
	}
	dc_dma_write(m, 0, pa, data, ls);
	draw(r, "3: device writes DMA data to memory", buf, NULL);
	for (uint32_t k = 1; k <= ways; k++)
		dc_cpu_read(m, buf + k * stride, tmp, sizeof(tmp));
	*evicted = dc_cache_probe(&m->cache, pa, NULL) < 0;
	draw(r, "4: other accesses evict the line", buf, NULL);
	uint8_t seen[DC_PAGE_SIZE];
	dc_cpu_read(m, buf, seen, ls);
	draw(r, "5: CPU reads the buffer", buf, NULL);
	return all(seen, 'D', ls) && all(dc_mem_pa_ptr(&m->mem, pa), 'D', ls);
}

static bool stale_cpu_read(struct run *r, bool maintain, uint32_t ls)
{
	struct dc_machine *m = r->m;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[DC_PAGE_SIZE], seen[DC_PAGE_SIZE];
	memset(data, 'D', ls);
	memset(dc_mem_pa_ptr(&m->mem, pa), 'x', ls);
	dc_cpu_read(m, buf, seen, ls);
	draw(r, "1: CPU reads the buffer (clean line)", buf, NULL);
	dc_dma_write(m, 0, pa, data, ls);
	draw(r, "2: device writes memory", buf, NULL);
	if (maintain) {
		dc_cpu_cache_range(m, buf, ls, DC_CACHE_INVAL, false);
		draw(r, "3: invalidate (FlushAdapterBuffers)", buf, NULL);
	}
	dc_cpu_read(m, buf, seen, ls);
	draw(r, "4: CPU reads the buffer again", buf, NULL);
	return all(seen, 'D', ls);
}

/* The buffer is written on processor 1 and the transfer started on processor 0: the dirty
 * line is in the OTHER processor's L1, so only maintenance that acts on every processor (as
 * the HAL's IPI-based flush and ARM's broadcast clean do) makes memory right. */
static bool other_processor(struct run *r, bool maintain, uint32_t ls)
{
	struct dc_machine *m = r->m;
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t dev[DC_PAGE_SIZE], seen[DC_PAGE_SIZE];
	memset(dc_mem_pa_ptr(&m->mem, pa), 'o', ls);
	draw(r, "0: memory holds old data", buf, NULL);
	dc_machine_set_cpu(m, 1);
	dc_cpu_fill(m, buf, 'N', ls);
	draw(r, "1: processor 1 writes NEW (dirty in its L1)", buf, NULL);
	dc_machine_set_cpu(m, 0);
	dc_cpu_read(m, buf, seen, ls);
	draw(r, "2: processor 0 reads it (from cpu1's cache)", buf, NULL);
	if (maintain) {
		dc_cpu_cache_range(m, buf, ls, DC_CACHE_CLEAN, false);
		draw(r, "3: processor 0 cleans (KeFlushIoBuffers)", buf, NULL);
	}
	dc_dma_read(m, 0, pa, dev, ls);
	draw(r, "4: processor 0 starts DMA: device reads", buf, dev);
	return all(seen, 'N', ls) && all(dev, 'N', ls);
}

int dc_anomaly_run(const struct dc_platform *p, enum dc_anomaly a, bool maintain,
                   dc_anomaly_draw_fn drawfn, void *opaque, struct dc_anomaly_result *res)
{
	struct dc_platform q = *p;
	q.adv = (struct dc_adversary){0};
	if (a == DC_ANOMALY_OTHER_PROCESSOR && q.processors < 2)
		q.processors = 2;
	struct run r = {
	    .draw = drawfn, .opaque = opaque, .per_cpu = a == DC_ANOMALY_OTHER_PROCESSOR};
	int rc = dc_machine_create(&q, &r.m);
	if (rc < 0)
		return rc;
	uint32_t ls = DC_MIN(q.line_size, (uint32_t)DC_PAGE_SIZE);
	*res = (struct dc_anomaly_result){0};
	switch (a) {
	case DC_ANOMALY_STALE_DEVICE_READ:
		res->correct = stale_device_read(&r, maintain, ls);
		break;
	case DC_ANOMALY_EVICTION_OVER_DMA:
		res->correct = eviction_over_dma(&r, maintain, ls, &res->evicted);
		break;
	case DC_ANOMALY_STALE_CPU_READ:
		res->correct = stale_cpu_read(&r, maintain, ls);
		break;
	case DC_ANOMALY_OTHER_PROCESSOR:
		res->correct = other_processor(&r, maintain, ls);
		break;
	default:
		rc = DC_ERR_INVAL;
	}
	dc_machine_destroy(r.m);
	return rc;
}
