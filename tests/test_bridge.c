/* The host bridge's posted-write buffer and the bus-master engine behind it: posted writes land
 * on a drain, a flush (register read, the device's own read) or a full buffer, oldest first, and
 * not before; the engine moves bytes over simulated time, batched, through the bridge. */
#include <string.h>

#include "dctest.h"
#include "hw/bridge.h"
#include "hw/busmaster.h"
#include "hw/machine.h"

static struct dc_machine *make(const char *platform)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	p.adv = (struct dc_adversary){0};
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

/* One row per region: what memory holds, and how many bytes are still posted. */
static void draw(struct dc_bridge *br, const char *step, const uint8_t *a, const uint8_t *b,
                 size_t n)
{
	dct_log("  %-40s mem A %02x..%02x  mem B %02x..%02x  posted %llu\n", step, a[0], a[n - 1],
	        b[0], b[n - 1], (unsigned long long)dc_bridge_pending(br, -1));
}

DC_TEST(bridge_posted_writes_land_on_drain_not_before)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	int src = dc_machine_dma_source(m, "dev");
	uint8_t *buf = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(buf);
	uint64_t pa = dc_va_to_pa(m, buf);
	uint8_t data[64];
	memset(data, 0x5A, sizeof(data));
	dc_bridge_post(br, src, pa, data, sizeof(data));
	draw(br, "posted 64 bytes", buf, buf + 64, 64);
	CHECK(all(buf, 0, 64));
	CHECK_EQ(dc_bridge_pending(br, src), 64);
	dc_clock_run_until(&m->clock, 1000000); /* time alone lands nothing */
	CHECK(all(buf, 0, 64));
	CHECK(dc_bridge_drain(br, src));
	draw(br, "drained", buf, buf + 64, 64);
	CHECK(all(buf, 0x5A, 64));
	CHECK_EQ(dc_bridge_pending(br, -1), 0);
	dc_free_uncached(m, buf, 1);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(bridge_full_buffer_lands_oldest_bytes_first)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	int src = dc_machine_dma_source(m, "dev");
	uint8_t *a = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	uint8_t *b = a + 2048;
	CHECK(a);
	uint8_t d1[200], d2[100];
	memset(d1, 1, sizeof(d1));
	memset(d2, 2, sizeof(d2));
	dc_bridge_post(br, src, dc_va_to_pa(m, a), d1, sizeof(d1));
	draw(br, "posted 200 to A", a, b, 100);
	CHECK(all(a, 0, 200));
	dc_bridge_post(br, src, dc_va_to_pa(m, b), d2, sizeof(d2));
	draw(br, "posted 100 to B: 44 of A must land", a, b, 100);
	CHECK(all(a, 1, 44));
	CHECK(all(a + 44, 0, 156));
	CHECK(all(b, 0, 100));
	CHECK_EQ(dc_bridge_pending(br, src), 256);
	CHECK_EQ(dc_bridge_stats(br)->landed_full, 44);
	/* A write larger than the buffer: everything older lands, and all but its last 256 bytes.
	 */
	uint8_t big[1000];
	memset(big, 3, sizeof(big));
	uint8_t *c = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(c);
	dc_bridge_post(br, src, dc_va_to_pa(m, c), big, sizeof(big));
	CHECK(all(a, 1, 200));
	CHECK(all(b, 2, 100));
	CHECK(all(c, 3, 744));
	CHECK(all(c + 744, 0, 256));
	CHECK_EQ(dc_bridge_pending(br, src), 256);
	dc_bridge_flush(br, src);
	CHECK(all(c, 3, 1000));
	CHECK_EQ(dc_bridge_stats(br)->posted_bytes, 1300);
	CHECK_EQ(dc_bridge_stats(br)->landed_full + dc_bridge_stats(br)->landed_flush, 1300);
	dc_free_uncached(m, a, 1);
	dc_free_uncached(m, c, 1);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(bridge_flush_keeps_fifo_order_across_sources)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 4096, &br), DC_OK);
	int s1 = dc_machine_dma_source(m, "dev1"), s2 = dc_machine_dma_source(m, "dev2");
	uint8_t *x = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(x);
	uint64_t pa = dc_va_to_pa(m, x);
	/* s1 then s2 write the same byte: flushing s1 lands only its own (older) write. */
	dc_bridge_post(br, s1, pa, "\x01", 1);
	dc_bridge_post(br, s2, pa, "\x02", 1);
	dc_bridge_flush(br, s1);
	CHECK_EQ(x[0], 1);
	CHECK_EQ(dc_bridge_pending(br, s2), 1);
	dc_bridge_flush(br, s2);
	CHECK_EQ(x[0], 2);
	/* s2 then s1: flushing s1 must push s2's older write ahead of it, so memory ends with s1's
	 * byte, never s2's. */
	dc_bridge_post(br, s2, pa, "\x03", 1);
	dc_bridge_post(br, s1, pa, "\x04", 1);
	dc_bridge_flush(br, s1);
	CHECK_EQ(x[0], 4);
	CHECK_EQ(dc_bridge_pending(br, -1), 0);
	dc_free_uncached(m, x, 1);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(bridge_device_read_is_ordered_behind_its_posted_writes)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	int src = dc_machine_dma_source(m, "dev");
	uint8_t *x = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(x);
	uint64_t pa = dc_va_to_pa(m, x);
	dc_bridge_post(br, src, pa + 8, "posted!", 8);
	char got[8];
	CHECK_EQ(dc_bridge_read(br, src, pa + 8, got, 8), DC_OK);
	CHECK(!memcmp(got, "posted!", 8));
	CHECK_EQ(dc_bridge_pending(br, -1), 0);
	CHECK(dc_bridge_read(br, src, m->plat.phys_size, got, 8) < 0); /* master abort */
	dc_free_uncached(m, x, 1);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(bridge_drain_reports_a_transfer_error_once)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	int s1 = dc_machine_dma_source(m, "dev1"), s2 = dc_machine_dma_source(m, "dev2");
	dc_bridge_set_error(br, s1);
	CHECK(dc_bridge_drain(br, s2));
	CHECK(!dc_bridge_drain(br, s1));
	CHECK(dc_bridge_drain(br, s1));
	/* A posted write outside memory is a master abort: dropped, and the drain says so. */
	dc_bridge_post(br, s2, m->plat.phys_size + 4096, "x", 1);
	CHECK(!dc_bridge_drain(br, s2));
	CHECK_EQ(dc_bridge_stats(br)->land_errors, 1);
	CHECK_EQ(dc_bridge_stats(br)->failed_drains, 2);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

struct seen {
	unsigned n;
	uint64_t bytes[2];
};

static void count_access(void *opaque, int source, uint64_t logical, uint64_t len, enum dc_dir dir)
{
	struct seen *s = opaque;
	(void)source;
	(void)logical;
	s->n++;
	s->bytes[dir] += len;
}

struct done {
	int calls, status;
	uint64_t bytes, when;
	struct dc_machine *m;
};

static void on_done(void *opaque, int status, uint64_t bytes)
{
	struct done *d = opaque;
	d->calls++;
	d->status = status;
	d->bytes = bytes;
	d->when = d->m->clock.now;
}

DC_TEST(busmaster_moves_sg_list_over_time_through_the_bridge)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	struct seen seen = {0};
	dc_bridge_set_check(br, count_access, &seen);
	int src = dc_machine_dma_source(m, "bm");
	struct dc_busmaster bm;
	CHECK_EQ(dc_busmaster_init(&bm, m, br, src, 64, 1000000000), DC_OK); /* 1 byte/ns */
	uint8_t *mem = dc_alloc_uncached(m, 4, DC_ZONE_DMA32);
	CHECK(mem);
	uint64_t pa = dc_va_to_pa(m, mem);
	static uint8_t dev[3 * 4096];
	for (unsigned i = 0; i < sizeof(dev); i++)
		dev[i] = (uint8_t)(i ^ (i >> 8));
	/* Three segments out of order in memory. */
	struct dc_bm_seg sg[3] = {{pa + 2 * 4096, 4096}, {pa + 100, 4096}, {pa + 3 * 4096, 4096}};
	struct done d = {.m = m};
	uint64_t t0 = m->clock.now;
	bm.run_max = 4096; /* one event per segment here, to watch the segments land one by one */
	CHECK_EQ(dc_busmaster_start(&bm, sg, 3, DC_DIR_FROM_DEVICE, dev, on_done, &d), DC_OK);
	CHECK(dc_busmaster_busy(&bm));
	CHECK_EQ(dc_busmaster_start(&bm, sg, 3, DC_DIR_FROM_DEVICE, dev, on_done, &d), DC_ERR_BUSY);
	CHECK_EQ(d.calls, 0); /* never from inside start */
	dc_clock_run_until(&m->clock, t0 + 4096);
	dct_log("  t=+4096ns: first segment moved; posted %llu\n",
	        (unsigned long long)dc_bridge_pending(br, src));
	CHECK(!memcmp(mem + 2 * 4096, dev, 4096 - 256));
	CHECK(all(mem + 2 * 4096 + 4096 - 256, 0, 256)); /* its tail still posted */
	CHECK(all(mem + 100, 0, 4096));
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.calls, 1);
	CHECK_EQ(d.status, DC_OK);
	CHECK_EQ(d.bytes, 3 * 4096);
	CHECK_EQ(d.when - t0, 3 * 4096);
	CHECK_EQ(bm.st.runs, 3); /* one event per segment, not per byte */
	/* The second segment landed when the third was posted; the third's tail is posted. */
	CHECK(!memcmp(mem + 100, dev + 4096, 4096));
	CHECK(all(mem + 3 * 4096 + 4096 - 256, 0, 256));
	CHECK(dc_busmaster_drain(&bm));
	CHECK(!memcmp(mem + 2 * 4096, dev, 4096));
	CHECK(!memcmp(mem + 100, dev + 4096, 4096));
	CHECK(!memcmp(mem + 3 * 4096, dev + 2 * 4096, 4096));
	CHECK_EQ(seen.n, 3);
	CHECK_EQ(seen.bytes[DC_DIR_FROM_DEVICE], 3 * 4096);
	/* And back: memory to the device, reads through the bridge, with the default run size:
	 * the three segments are one run, one event, and nothing moves before its time is up. */
	static uint8_t back[3 * 4096];
	bm.run_max = DC_BM_RUN_MAX;
	t0 = m->clock.now;
	CHECK_EQ(dc_busmaster_start(&bm, sg, 3, DC_DIR_TO_DEVICE, back, on_done, &d), DC_OK);
	dc_clock_run_until(&m->clock, t0 + 3 * 4096 - 1);
	CHECK(all(back, 0, sizeof(back)));
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.calls, 2);
	CHECK_EQ(d.when - t0, 3 * 4096);
	CHECK_EQ(bm.st.runs, 4);
	CHECK(!memcmp(back, dev, sizeof(dev)));
	CHECK_EQ(seen.bytes[DC_DIR_TO_DEVICE], 3 * 4096);
	dc_busmaster_fini(&bm);
	dc_free_uncached(m, mem, 4);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(busmaster_32bit_engine_drops_upper_address_bits)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 0, &br), DC_OK); /* no buffer: writes land at once */
	int src = dc_machine_dma_source(m, "bm32");
	struct dc_busmaster bm;
	CHECK_EQ(dc_busmaster_init(&bm, m, br, src, 32, 0), DC_OK);
	uint8_t *low = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(low);
	uint64_t pa = dc_va_to_pa(m, low);
	struct dc_bm_seg sg = {pa | (UINT64_C(1) << 32), 16}; /* a 64-bit logical address */
	struct done d = {.m = m};
	CHECK_EQ(
	    dc_busmaster_start(&bm, &sg, 1, DC_DIR_FROM_DEVICE, "wrong page!!!!!", on_done, &d),
	    DC_OK);
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.status, DC_OK);
	CHECK(!memcmp(low, "wrong page!!!!!", 16));
	dc_busmaster_fini(&bm);
	dc_free_uncached(m, low, 1);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(busmaster_injected_failure_and_master_abort)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	int src = dc_machine_dma_source(m, "bm");
	struct dc_busmaster bm;
	CHECK_EQ(dc_busmaster_init(&bm, m, br, src, 64, 0), DC_OK);
	uint8_t *mem = dc_alloc_uncached(m, 2, DC_ZONE_DMA32);
	CHECK(mem);
	static uint8_t dev[8192];
	memset(dev, 0x77, sizeof(dev));
	struct dc_bm_seg sg = {dc_va_to_pa(m, mem), 8192};
	struct done d = {.m = m};
	dc_busmaster_fail_next(&bm, 1024);
	CHECK_EQ(dc_busmaster_start(&bm, &sg, 1, DC_DIR_FROM_DEVICE, dev, on_done, &d), DC_OK);
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.status, DC_ERR_IO);
	CHECK_EQ(d.bytes, 1024);
	CHECK(!dc_busmaster_drain(&bm));
	CHECK(all(mem, 0x77, 1024));
	CHECK(all(mem + 1024, 0, 8192 - 1024));
	/* The fault was for one transfer only. */
	CHECK_EQ(dc_busmaster_start(&bm, &sg, 1, DC_DIR_FROM_DEVICE, dev, on_done, &d), DC_OK);
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.status, DC_OK);
	CHECK(dc_busmaster_drain(&bm));
	/* Reading past the end of memory: master abort. */
	struct dc_bm_seg bad = {m->plat.phys_size - 512, 1024};
	CHECK_EQ(dc_busmaster_start(&bm, &bad, 1, DC_DIR_TO_DEVICE, dev, on_done, &d), DC_OK);
	while (dc_clock_step(&m->clock))
		;
	CHECK_EQ(d.status, DC_ERR_RANGE);
	CHECK(!dc_busmaster_drain(&bm));
	dc_busmaster_fini(&bm);
	dc_free_uncached(m, mem, 2);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

/* Two instances of one model are two requesters: their posted writes and the checker's state
 * are per source, so they must not share one (they did while sources were looked up by the
 * model's name).  A detached instance's source is reused by the next of that name. */
DC_TEST(dma_sources_are_per_device_instance_and_reused_after_detach)
{
	struct dc_platform p;
	struct dc_machine *m;
	CHECK(dc_platform_builtin("pc", &p) == 0);
	CHECK(dc_machine_create(&p, &m) == 0);
	unsigned n0 = m->n_dma_sources;
	int a = dc_machine_dma_source_get(m, "bmblk"), b = dc_machine_dma_source_get(m, "bmblk");
	CHECK(a >= 0 && b >= 0 && a != b);
	CHECK_EQ(m->n_dma_sources, n0 + 2);
	dc_machine_dma_source_put(m, a);
	CHECK_EQ(dc_machine_dma_source_get(m, "bmblk"), a);
	CHECK(dc_machine_dma_source_get(m, "ring") != a);
	CHECK_EQ(m->n_dma_sources, n0 + 3);
	dc_machine_destroy(m);
}
