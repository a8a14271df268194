/* Map registers and bounce pages: logical == physical when the device reaches the page, a bounce
 * page below its limit otherwise; to-device data is copied at map time, from-device data reaches
 * the caller's buffer only at the drain; exhaustion is an error; lookup tells mapped from not. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "hw/mapreg.h"

#define GIB4 (UINT64_C(1) << 32)

static struct dc_machine *make(const char *platform)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	return dc_machine_create(&p, &m) < 0 ? NULL : m;
}

/* The page pieces of [va, va + len), as a HAL walks an MDL. */
static uint32_t pieces_of(struct dc_machine *m, uint8_t *va, uint64_t len,
                          struct dc_mapreg_piece *pc, uint32_t max)
{
	uint32_t n = 0;
	while (len && n < max) {
		uint64_t l = DC_MIN(len, DC_PAGE_SIZE - ((uintptr_t)va & DC_PAGE_MASK));
		pc[n++] = (struct dc_mapreg_piece){
		    .va = va, .pa = dc_va_to_pa(m, va), .len = (uint32_t)l};
		va += l;
		len -= l;
	}
	return n;
}

static void show(const char *step, const uint8_t *caller, const uint8_t *bounce,
                 const uint8_t *device)
{
	dct_log(
	    "  %-34s caller %02x %02x %02x | bounce page %02x %02x %02x | device %02x %02x %02x\n",
	    step, caller[0], caller[1], caller[2], bounce[0], bounce[1], bounce[2], device[0],
	    device[1], device[2]);
}

DC_TEST(mapreg_direct_when_device_reaches_the_page)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 16, 32, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 3, DC_ZONE_DMA32, false);
	CHECK(buf);
	struct dc_mapreg_piece pc[4];
	uint32_t n = pieces_of(m, buf + 100, 3 * DC_PAGE_SIZE - 200, pc, 4);
	CHECK_EQ(n, 3);
	uint64_t lg[4];
	CHECK_EQ(dc_mapreg_map(f, 0, pc, n, DC_DIR_TO_DEVICE, lg), DC_OK);
	for (uint32_t i = 0; i < n; i++)
		CHECK_EQ(lg[i], pc[i].pa);
	CHECK_EQ(dc_mapreg_stats(f)->bounces, 0);
	CHECK_EQ(dc_mapreg_drain(f, 0, n), 0);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 3);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_high_buffer_bounced_for_32bit_not_64bit)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f32 = NULL, *f64 = NULL;
	CHECK_EQ(dc_mapreg_create(m, 8, 32, false, &f32), DC_OK);
	CHECK_EQ(dc_mapreg_create(m, 8, 64, false, &f64), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_HIGH, false);
	CHECK(buf);
	struct dc_mapreg_piece pc[2];
	uint32_t n = pieces_of(m, buf, 2 * DC_PAGE_SIZE, pc, 2);
	CHECK(pc[0].pa >= GIB4 && pc[1].pa >= GIB4);
	uint64_t l32[2], l64[2];
	CHECK_EQ(dc_mapreg_map(f32, 0, pc, n, DC_DIR_FROM_DEVICE, l32), DC_OK);
	CHECK_EQ(dc_mapreg_map(f64, 0, pc, n, DC_DIR_FROM_DEVICE, l64), DC_OK);
	for (uint32_t i = 0; i < n; i++) {
		dct_log("  page %u: pa %#llx  32-bit device -> %#llx  64-bit device -> %#llx\n", i,
		        (unsigned long long)pc[i].pa, (unsigned long long)l32[i],
		        (unsigned long long)l64[i]);
		CHECK(l32[i] + DC_PAGE_SIZE <= GIB4);
		CHECK(l32[i] != pc[i].pa);
		CHECK(dc_mapreg_entry(f32, i)->bounced);
		CHECK_EQ(l64[i], pc[i].pa);
		CHECK(!dc_mapreg_entry(f64, i)->bounced);
	}
	CHECK_EQ(dc_mapreg_stats(f32)->bounces, 2);
	CHECK_EQ(dc_mapreg_stats(f64)->bounces, 0);
	dc_mapreg_destroy(f32);
	dc_mapreg_destroy(f64);
	dc_free_cached(m, buf, 2);
	dc_machine_destroy(m);
}

/* On both platforms: the CPU's bytes may still be dirty in the cache (noncoherent) when the
 * driver maps without flushing; the HAL's copy reads through the cache, so the bounce page gets
 * the caller's bytes anyway — at map time, not later. */
static void to_device_copy_at_map_time(const char *platform)
{
	struct dc_machine *m = make(platform);
	CHECK(m);
	int src = dc_machine_dma_source(m, "test-dev");
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 32, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_HIGH, false);
	CHECK(buf);
	dc_cpu_fill(m, buf, 0x11, DC_PAGE_SIZE);
	struct dc_mapreg_piece pc;
	CHECK_EQ(pieces_of(m, buf + 64, 512, &pc, 1), 1);
	uint64_t lg;
	uint8_t dev[512], now[3];
	CHECK_EQ(dc_mapreg_map(f, 0, &pc, 1, DC_DIR_TO_DEVICE, &lg), DC_OK);
	CHECK_EQ(dc_mapreg_stats(f)->bytes_bounced, 512);
	const uint8_t *bounce = dc_mem_pa_ptr(&m->mem, lg);
	dc_cpu_read(m, buf + 64, now, 3);
	show("mapped (copied to the bounce page)", now, bounce, (const uint8_t *)"\0\0\0");
	/* A CPU store after the map does not reach the device: the copy was made at map time. */
	dc_cpu_fill(m, buf + 64, 0x22, 512);
	CHECK_EQ(dc_dma_read(m, src, lg, dev, sizeof(dev)), DC_OK);
	dc_cpu_read(m, buf + 64, now, 3);
	show("CPU wrote 22, device read", now, bounce, dev);
	for (int i = 0; i < 512; i++)
		CHECK_EQ(dev[i], 0x11);
	CHECK_EQ(dc_mapreg_drain(f, 0, 1), 0); /* to-device: nothing comes back */
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 1);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_to_device_bounce_copies_at_map_time_pc)
{
	to_device_copy_at_map_time("pc");
}

DC_TEST(mapreg_to_device_bounce_copies_at_map_time_noncoherent)
{
	to_device_copy_at_map_time("noncoherent");
}

static void from_device_reaches_caller_at_drain(const char *platform)
{
	struct dc_machine *m = make(platform);
	CHECK(m);
	int src = dc_machine_dma_source(m, "test-dev");
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 32, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_HIGH, false);
	CHECK(buf);
	dc_cpu_fill(m, buf, 0xAA, 2 * DC_PAGE_SIZE);
	/* The driver follows G1 (clean+invalidate before a read) on a non-coherent platform. */
	dc_cpu_cache_range(m, buf, 2 * DC_PAGE_SIZE, DC_CACHE_CLEAN_INVAL, false);
	struct dc_mapreg_piece pc[2];
	uint32_t n = pieces_of(m, buf + 2048, DC_PAGE_SIZE, pc, 2);
	CHECK_EQ(n, 2);
	uint64_t lg[2];
	CHECK_EQ(dc_mapreg_map(f, 1, pc, n, DC_DIR_FROM_DEVICE, lg), DC_OK);
	CHECK_EQ(dc_mapreg_stats(f)->bytes_bounced, 0); /* nothing copied for a read at map */
	uint8_t data[DC_PAGE_SIZE], got[DC_PAGE_SIZE];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(dc_dma_write(m, src, lg[0], data, pc[0].len), DC_OK);
	CHECK_EQ(dc_dma_write(m, src, lg[1], data + pc[0].len, pc[1].len), DC_OK);
	dc_cpu_read(m, buf + 2048, got, sizeof(got));
	show("device wrote, before the drain", got, dc_mem_pa_ptr(&m->mem, lg[0]), data);
	for (unsigned i = 0; i < sizeof(got); i++)
		CHECK_EQ(got[i], 0xAA);
	CHECK_EQ(dc_mapreg_drain(f, 1, n), DC_PAGE_SIZE);
	dc_cpu_read(m, buf + 2048, got, sizeof(got));
	show("after the drain", got, dc_mem_pa_ptr(&m->mem, lg[0]), data);
	CHECK(!memcmp(got, data, sizeof(got)));
	/* The bytes around the transfer are untouched. */
	dc_cpu_read(m, buf + 2047, got, 1);
	CHECK_EQ(got[0], 0xAA);
	dc_cpu_read(m, buf + 2048 + DC_PAGE_SIZE, got, 1);
	CHECK_EQ(got[0], 0xAA);
	CHECK(!dc_mapreg_entry(f, 1)->mapped && !dc_mapreg_entry(f, 2)->mapped);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 2);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_from_device_bounce_reaches_caller_only_at_drain_pc)
{
	from_device_reaches_caller_at_drain("pc");
}

DC_TEST(mapreg_from_device_bounce_reaches_caller_only_at_drain_noncoherent)
{
	from_device_reaches_caller_at_drain("noncoherent");
}

DC_TEST(mapreg_discard_loses_bounced_read_data)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	int src = dc_machine_dma_source(m, "test-dev");
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 32, false, &f), DC_OK);
	int base = dc_mapreg_alloc(f, 1);
	CHECK_EQ(base, 0);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_HIGH, false);
	CHECK(buf);
	dc_cpu_fill(m, buf, 0x55, DC_PAGE_SIZE);
	struct dc_mapreg_piece pc;
	pieces_of(m, buf, 16, &pc, 1);
	uint64_t lg;
	CHECK_EQ(dc_mapreg_map(f, 0, &pc, 1, DC_DIR_FROM_DEVICE, &lg), DC_OK);
	CHECK_EQ(dc_dma_write(m, src, lg, "0123456789abcdef", 16), DC_OK);
	/* FreeMapRegisters before FlushAdapterBuffers: the data stays in the bounce page. */
	CHECK_EQ(dc_mapreg_free(f, 0, 1), DC_OK);
	uint8_t got[16];
	dc_cpu_read(m, buf, got, 16);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(got[i], 0x55);
	CHECK_EQ(dc_mapreg_drain(f, 0, 1), 0);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 1);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_exhaustion_is_an_error)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 32, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 6, DC_ZONE_HIGH, false);
	CHECK(buf);
	struct dc_mapreg_piece pc[6];
	uint32_t n = pieces_of(m, buf, 6 * DC_PAGE_SIZE, pc, 6);
	CHECK_EQ(n, 6);
	uint64_t lg[6];
	CHECK_EQ(dc_mapreg_map(f, 0, pc, 5, DC_DIR_TO_DEVICE, lg), DC_ERR_RANGE);
	CHECK_EQ(dc_mapreg_map(f, 3, pc, 2, DC_DIR_TO_DEVICE, lg), DC_ERR_RANGE);
	CHECK_EQ(dc_mapreg_map(f, 7, pc, 1, DC_DIR_TO_DEVICE, lg), DC_ERR_RANGE);
	CHECK_EQ(dc_mapreg_stats(f)->bytes_bounced, 0); /* nothing was copied */
	CHECK_EQ(dc_mapreg_alloc(f, 5), DC_ERR_RANGE);
	CHECK_EQ(dc_mapreg_alloc(f, 3), 0);
	CHECK_EQ(dc_mapreg_alloc(f, 2), DC_ERR_BUSY);
	CHECK_EQ(dc_mapreg_alloc(f, 1), 3);
	CHECK_EQ(dc_mapreg_map(f, 0, pc, 3, DC_DIR_TO_DEVICE, lg), DC_OK);
	/* A second map over registers not yet drained is refused, not overwritten. */
	CHECK_EQ(dc_mapreg_map(f, 2, pc + 3, 2, DC_DIR_TO_DEVICE, lg), DC_ERR_BUSY);
	CHECK(!dc_mapreg_entry(f, 3)->mapped);
	CHECK_EQ(dc_mapreg_free(f, 1, 3), DC_OK);
	CHECK_EQ(dc_mapreg_free(f, 1, 1), DC_ERR_INVAL); /* double free */
	CHECK_EQ(dc_mapreg_alloc(f, 3), 1);
	CHECK_EQ(dc_mapreg_stats(f)->refused, 4);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 6);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_bad_pieces_are_refused)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 32, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_HIGH, false);
	CHECK(buf);
	uint64_t lg;
	struct dc_mapreg_piece cross = {buf + 100, dc_va_to_pa(m, buf + 100), DC_PAGE_SIZE};
	CHECK_EQ(dc_mapreg_map(f, 0, &cross, 1, DC_DIR_TO_DEVICE, &lg), DC_ERR_INVAL);
	struct dc_mapreg_piece wrong = {buf, dc_va_to_pa(m, buf + DC_PAGE_SIZE), 10};
	CHECK_EQ(dc_mapreg_map(f, 0, &wrong, 1, DC_DIR_TO_DEVICE, &lg), DC_ERR_INVAL);
	struct dc_mapreg_piece nova = {NULL, dc_va_to_pa(m, buf), 10};
	CHECK_EQ(dc_mapreg_map(f, 0, &nova, 1, DC_DIR_TO_DEVICE, &lg), DC_ERR_INVAL);
	struct dc_mapreg_piece empty = {buf, dc_va_to_pa(m, buf), 0};
	CHECK_EQ(dc_mapreg_map(f, 0, &empty, 1, DC_DIR_TO_DEVICE, &lg), DC_ERR_INVAL);
	struct dc_mapreg_file *g = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 8, false, &g), DC_ERR_INVAL);
	CHECK(!g);
	CHECK_EQ(dc_mapreg_create(m, 0, 32, false, &g), DC_OK); /* the profile's count */
	CHECK_EQ(dc_mapreg_count(g), m->plat.map_registers);
	dc_mapreg_destroy(g);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 2);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_pieces_split_a_range_at_page_boundaries)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 3, DC_ZONE_ANY, false);
	CHECK(buf);
	struct dc_mapreg_piece pc[4];
	CHECK_EQ(dc_mapreg_pieces(m, buf + 4000, 200, pc, 4), 2);
	CHECK_EQ(pc[0].len, 96);
	CHECK_EQ(pc[1].len, 104);
	CHECK_EQ(pc[1].pa, dc_va_to_pa(m, buf + 4096));
	CHECK(pc[1].va == buf + 4096);
	CHECK_EQ(dc_mapreg_pieces(m, buf + 1, 3 * DC_PAGE_SIZE - 1, pc, 2), DC_ERR_RANGE);
	CHECK_EQ(dc_mapreg_pieces(m, buf, 0, pc, 4), DC_ERR_INVAL);
	uint8_t host[16];
	CHECK_EQ(dc_mapreg_pieces(m, host, sizeof(host), pc, 4), DC_ERR_INVAL);
	dc_free_cached(m, buf, 3);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_lookup_mapped_past_length_and_unmapped)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 64, false, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_DMA32, true); /* physically contiguous */
	CHECK(buf);
	struct dc_mapreg_piece pc[2];
	uint32_t n = pieces_of(m, buf + 0x800, DC_PAGE_SIZE, pc, 2);
	uint64_t lg[2];
	CHECK_EQ(dc_mapreg_map(f, 2, pc, n, DC_DIR_FROM_DEVICE, lg), DC_OK);
	CHECK_EQ(lg[1], lg[0] + 0x800);
	struct dc_mapreg_hit h;
	CHECK(dc_mapreg_lookup(f, lg[0], 0x800, &h));
	CHECK_EQ(h.reg, 2);
	CHECK_EQ(h.nregs, 1);
	CHECK_EQ(h.pa, pc[0].pa);
	/* Across the two registers: one logical range. */
	CHECK(dc_mapreg_lookup(f, lg[0] + 0x10, DC_PAGE_SIZE - 0x10, &h));
	CHECK_EQ(h.nregs, 2);
	/* Past the mapped length. */
	CHECK(!dc_mapreg_lookup(f, lg[0] + 0x10, DC_PAGE_SIZE, &h));
	CHECK_EQ(h.reg, 2);
	CHECK_EQ(h.covered, DC_PAGE_SIZE - 0x10);
	/* Before the first byte: never mapped. */
	CHECK(!dc_mapreg_lookup(f, lg[0] - 1, 2, &h));
	CHECK_EQ(h.reg, UINT32_MAX);
	CHECK_EQ(h.covered, 0);
	CHECK_EQ(dc_mapreg_drain(f, 2, 2), 0);
	CHECK(!dc_mapreg_lookup(f, lg[0], 1, &h));
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 2);
	dc_machine_destroy(m);
}

DC_TEST(mapreg_contiguous_file_gives_one_logical_run_below_16m)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	struct dc_mapreg_file *f = NULL;
	CHECK_EQ(dc_mapreg_create(m, 4, 24, true, &f), DC_OK);
	uint8_t *buf = dc_alloc_cached(m, 3, DC_ZONE_HIGH, false);
	CHECK(buf);
	struct dc_mapreg_piece pc[4];
	uint32_t n = pieces_of(m, buf + 300, 2 * DC_PAGE_SIZE, pc, 4);
	CHECK_EQ(n, 3);
	uint64_t lg[4];
	CHECK_EQ(dc_mapreg_map(f, 1, pc, n, DC_DIR_TO_DEVICE, lg), DC_OK);
	for (uint32_t i = 0; i < n; i++) {
		CHECK(lg[i] + pc[i].len <= (UINT64_C(1) << 24));
		if (i + 1 < n)
			CHECK_EQ(lg[i + 1], lg[i] + pc[i].len);
	}
	CHECK_EQ(dc_mapreg_bounce_pa(f, 2), dc_mapreg_bounce_pa(f, 1) + DC_PAGE_SIZE);
	dc_mapreg_destroy(f);
	dc_free_cached(m, buf, 3);
	dc_machine_destroy(m);
}
