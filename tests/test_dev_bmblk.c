/* bmblk end to end, driven the way a WDM driver drives it: cache maintenance (G1), map
 * registers, the SG table, the doorbell, the interrupt, the register read in the ISR, the
 * drain FlushAdapterBuffers performs — checked against the device's backing store on pc and on
 * noncoherent, with bounce pages, posted writes, faults and reproducibility. */
#include <string.h>

#include "dctest.h"
#include "hw/bridge.h"
#include "hw/busmaster.h"
#include "devices/bmblk.h"
#include "hw/machine.h"
#include "hw/mapreg.h"

#define IRQ 5
#define SECT DC_BMBLK_SECTOR

struct rig {
	struct dc_machine *m;
	struct dc_bridge *br;
	struct dc_device dev;
	struct dc_mapreg_file *mr;
	uint64_t base;
};

static bool rig_init(struct rig *r, const char *platform, uint32_t addr_bits, int64_t posted,
                     bool adversary, uint64_t seed)
{
	*r = (struct rig){0};
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return false;
	if (!adversary)
		p.adv = (struct dc_adversary){0};
	if (seed)
		p.seed = seed;
	if (dc_machine_create(&p, &r->m) < 0)
		return false;
	uint32_t cap = posted < 0 ? p.bridge_posted : (uint32_t)posted;
	struct dc_bmblk_config c = {.addr_bits = addr_bits, .irq = IRQ, .sectors = 4096};
	if (dc_bridge_create(r->m, cap, &r->br) < 0 ||
	    dc_bmblk_create(r->m, r->br, &c, &r->dev) < 0 ||
	    dc_mapreg_create(r->m, 32, addr_bits, false, &r->mr) < 0)
		return false;
	r->base = r->dev.res.mmio_base;
	return true;
}

static void rig_fini(struct rig *r)
{
	dc_mapreg_destroy(r->mr);
	if (r->dev.ops)
		dc_device_detach(&r->dev);
	dc_bridge_destroy(r->br);
	dc_machine_destroy(r->m);
}

static uint32_t rd(struct rig *r, uint32_t off)
{
	return dc_bus_mmio_read(&r->m->bus, r->base + off, 4);
}

static void wr(struct rig *r, uint32_t off, uint32_t v)
{
	dc_bus_mmio_write(&r->m->bus, r->base + off, v, 4);
}

/* Runs the clock until the device's interrupt line is asserted (false if it never is). */
static bool wait_irq(struct rig *r)
{
	while (!dc_irq_asserted(&r->m->irq, IRQ))
		if (!dc_clock_step(&r->m->clock))
			return false;
	return true;
}

/* Maps [buf, buf + len) (as MapTransfer would, one register per page piece), programs the SG
 * table and the command, and rings the doorbell.  Returns the registers used. */
static uint32_t start_io(struct rig *r, uint8_t *buf, uint64_t len, uint64_t lba,
                         enum dc_bmblk_cmd cmd)
{
	struct dc_mapreg_piece pc[32];
	uint64_t lg[32];
	int np = dc_mapreg_pieces(r->m, buf, len, pc, 32);
	if (np <= 0)
		return 0;
	uint32_t n = (uint32_t)np;
	enum dc_dir dir = cmd == DC_BMBLK_CMD_READ ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	if (dc_mapreg_map(r->mr, 0, pc, n, dir, lg) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		wr(r, DC_BMBLK_REG_SG_BASE + 16 * i, (uint32_t)lg[i]);
		wr(r, DC_BMBLK_REG_SG_BASE + 16 * i + 4, (uint32_t)(lg[i] >> 32));
		wr(r, DC_BMBLK_REG_SG_BASE + 16 * i + 8, pc[i].len);
	}
	wr(r, DC_BMBLK_REG_SG_COUNT, n);
	wr(r, DC_BMBLK_REG_LBA_LO, (uint32_t)lba);
	wr(r, DC_BMBLK_REG_LBA_HI, (uint32_t)(lba >> 32));
	wr(r, DC_BMBLK_REG_SECTOR_COUNT, (uint32_t)(len / SECT));
	wr(r, DC_BMBLK_REG_INT_MASK, DC_BMBLK_INT_DONE | DC_BMBLK_INT_ERROR);
	wr(r, DC_BMBLK_REG_DOORBELL, cmd);
	return n;
}

/* FlushAdapterBuffers as a correct HAL performs it: the device's posted writes land, stale lines
 * over a from-device buffer go (non-coherent), then bounced data is copied back by the CPU. */
static bool flush_adapter(struct rig *r, uint8_t *buf, uint64_t len, uint32_t nregs, bool read)
{
	bool ok = dc_busmaster_drain(dc_bmblk_busmaster(r->dev.opaque));
	if (read)
		dc_cpu_cache_range(r->m, buf, len, DC_CACHE_INVAL, false);
	dc_mapreg_drain(r->mr, 0, nregs);
	return ok;
}

/* One whole transfer as a driver does it; returns FlushAdapterBuffers' result. */
static bool do_io(struct rig *r, uint8_t *buf, uint64_t len, uint64_t lba, enum dc_bmblk_cmd cmd,
                  uint32_t *status)
{
	bool read = cmd == DC_BMBLK_CMD_READ;
	/* KeFlushIoBuffers (G1): write back before a write; write back and drop before a read, so
	 * no dirty line is evicted over the device's data later. */
	dc_cpu_cache_range(r->m, buf, len, read ? DC_CACHE_CLEAN_INVAL : DC_CACHE_CLEAN, false);
	uint32_t n = start_io(r, buf, len, lba, cmd);
	if (!n || !wait_irq(r))
		return false;
	/* The ISR reads and acknowledges the interrupt status. */
	uint32_t is = rd(r, DC_BMBLK_REG_INT_STATUS);
	wr(r, DC_BMBLK_REG_INT_STATUS, is);
	if (status)
		*status = rd(r, DC_BMBLK_REG_STATUS);
	return flush_adapter(r, buf, len, n, read);
}

static void pattern(uint8_t *b, uint64_t n, uint32_t salt)
{
	for (uint64_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + salt * 7 + (i >> 9)) ^ salt);
}

DC_TEST(bmblk_identifies_itself)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 64, -1, false, 0));
	CHECK(r.base >= r.m->plat.phys_size);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_ID), DC_BMBLK_ID);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_CAPS), 32 | 64 << 8);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_CAPACITY_LO), 4096);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_CAPACITY_HI), 0);
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 4096 * SECT);
	CHECK(r.dev.res.bus_master && r.dev.res.scatter_gather);
	CHECK(!strcmp(r.dev.ops->name, "bmblk"));
	rig_fini(&r);
}

/* Write then read back 3 pages starting mid-page (4 map registers, 4 SG elements, scattered
 * frames), checked against the backing store. */
static void end_to_end(const char *platform, uint32_t addr_bits, enum dc_zone zone,
                       bool expect_bounce)
{
	struct rig r;
	CHECK(rig_init(&r, platform, addr_bits, -1, false, 0));
	const uint64_t len = 3 * DC_PAGE_SIZE;
	uint8_t *mem = dc_alloc_cached(r.m, 4, zone, false);
	CHECK(mem);
	uint8_t *buf = mem + 1024;
	static uint8_t want[3 * 4096], got[3 * 4096];
	pattern(want, len, 1);
	dc_cpu_write(r.m, buf, want, len);
	uint32_t status = 0;
	CHECK(do_io(&r, buf, len, 100, DC_BMBLK_CMD_WRITE, &status));
	CHECK_EQ(status & (DC_BMBLK_STATUS_ERROR | DC_BMBLK_STATUS_DONE), DC_BMBLK_STATUS_DONE);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_BYTES_DONE), len);
	CHECK_EQ(r.dev.ops->store_read(r.dev.opaque, 100 * SECT, got, len), DC_OK);
	CHECK(!memcmp(got, want, len));
	CHECK_EQ(dc_mapreg_stats(r.mr)->bounces, expect_bounce ? 4 : 0);

	/* Read different data back over a buffer the CPU dirtied. */
	pattern(want, len, 2);
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 2000 * SECT, want, len), DC_OK);
	dc_cpu_fill(r.m, buf, 0xEE, len);
	CHECK(do_io(&r, buf, len, 2000, DC_BMBLK_CMD_READ, &status));
	CHECK_EQ(status & DC_BMBLK_STATUS_ERROR, 0);
	dc_cpu_read(r.m, buf, got, len);
	CHECK(!memcmp(got, want, len));
	/* The bytes around the buffer are untouched. */
	dc_cpu_read(r.m, buf - 1, got, 1);
	CHECK_EQ(got[0], 0);
	CHECK_EQ(dc_mapreg_stats(r.mr)->bounces, expect_bounce ? 8 : 0);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	dc_free_cached(r.m, mem, 4);
	rig_fini(&r);
}

DC_TEST(bmblk_end_to_end_pc)
{
	end_to_end("pc", 32, DC_ZONE_DMA32, false);
}

DC_TEST(bmblk_end_to_end_noncoherent)
{
	end_to_end("noncoherent", 32, DC_ZONE_DMA32, false);
}

DC_TEST(bmblk_end_to_end_high_buffer_bounced_32bit_pc)
{
	end_to_end("pc", 32, DC_ZONE_HIGH, true);
}

DC_TEST(bmblk_end_to_end_high_buffer_bounced_32bit_noncoherent)
{
	end_to_end("noncoherent", 32, DC_ZONE_HIGH, true);
}

DC_TEST(bmblk_end_to_end_high_buffer_direct_64bit_noncoherent)
{
	end_to_end("noncoherent", 64, DC_ZONE_HIGH, false);
}

static void draw_posted(struct rig *r, const char *step, const uint8_t *mem, uint64_t len)
{
	uint64_t landed = 0;
	for (uint64_t i = 0; i < len; i++)
		landed += mem[i] != 0;
	dct_log("  %-44s irq %-3s  in memory %5llu/%llu  posted %llu\n", step,
	        dc_irq_asserted(&r->m->irq, IRQ) ? "on" : "off", (unsigned long long)landed,
	        (unsigned long long)len, (unsigned long long)dc_bridge_pending(r->br, -1));
}

DC_TEST(bmblk_posted_writes_land_on_register_read_not_on_interrupt)
{
	struct rig r;
	CHECK(rig_init(&r, "noncoherent", 32, 8192, false, 0));
	uint8_t *mem = dc_alloc_uncached(r.m, 1, DC_ZONE_DMA32);
	CHECK(mem);
	static uint8_t want[4096];
	pattern(want, sizeof(want), 3);
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] |= 1; /* no zero bytes: "landed" is "non-zero" in the drawing */
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, want, sizeof(want)), DC_OK);
	uint32_t n = start_io(&r, mem, sizeof(want), 0, DC_BMBLK_CMD_READ);
	CHECK_EQ(n, 1);
	draw_posted(&r, "doorbell rung", mem, sizeof(want));
	CHECK(wait_irq(&r));
	draw_posted(&r, "transfer done, interrupt asserted", mem, sizeof(want));
	CHECK_EQ(mem[0], 0); /* INTx pushes nothing */
	CHECK_EQ(dc_bridge_pending(r.br, -1), sizeof(want));
	/* The ISR's first register read: the completion pushes the posted writes first. */
	uint32_t is = rd(&r, DC_BMBLK_REG_INT_STATUS);
	draw_posted(&r, "ISR read INT_STATUS", mem, sizeof(want));
	CHECK_EQ(is & DC_BMBLK_INT_DONE, DC_BMBLK_INT_DONE);
	CHECK(!memcmp(mem, want, sizeof(want)));
	wr(&r, DC_BMBLK_REG_INT_STATUS, is);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	CHECK(flush_adapter(&r, mem, sizeof(want), n, true));
	dc_free_uncached(r.m, mem, 1);
	rig_fini(&r);
}

DC_TEST(bmblk_posted_writes_land_on_drain_or_when_buffer_full)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 32, 1024, false, 0));
	uint8_t *mem = dc_alloc_uncached(r.m, 2, DC_ZONE_DMA32);
	CHECK(mem);
	static uint8_t want[8192];
	memset(want, 0x3C, sizeof(want));
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, want, sizeof(want)), DC_OK);
	uint32_t n = start_io(&r, mem, sizeof(want), 0, DC_BMBLK_CMD_READ);
	CHECK_EQ(n, 2);
	CHECK(wait_irq(&r));
	draw_posted(&r, "done: all but the buffer's 1024 bytes landed", mem, sizeof(want));
	CHECK(!memcmp(mem, want, sizeof(want) - 1024)); /* landed as the buffer filled */
	CHECK_EQ(mem[sizeof(want) - 1024], 0);
	CHECK_EQ(dc_bridge_pending(r.br, -1), 1024);
	/* FlushAdapterBuffers in the DPC, with no register read before it. */
	CHECK(flush_adapter(&r, mem, sizeof(want), n, true));
	draw_posted(&r, "FlushAdapterBuffers", mem, sizeof(want));
	CHECK(!memcmp(mem, want, sizeof(want)));
	dc_free_uncached(r.m, mem, 2);
	rig_fini(&r);
}

DC_TEST(bmblk_timing_follows_bandwidth_and_latency)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 32, -1, false, 0));
	uint8_t *mem = dc_alloc_uncached(r.m, 4, DC_ZONE_DMA32);
	CHECK(mem);
	uint64_t t0 = r.m->clock.now;
	uint32_t n = start_io(&r, mem, 4 * DC_PAGE_SIZE, 0, DC_BMBLK_CMD_WRITE);
	CHECK(n);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_STATUS) & DC_BMBLK_STATUS_BUSY, DC_BMBLK_STATUS_BUSY);
	CHECK(wait_irq(&r));
	uint64_t want = (uint64_t)(4 * DC_PAGE_SIZE) * 1000000000u / r.m->plat.bm_bw;
	dct_log("  16 KiB at %llu B/s took %llu ns\n", (unsigned long long)r.m->plat.bm_bw,
	        (unsigned long long)(r.m->clock.now - t0));
	CHECK_EQ(r.m->clock.now - t0, want);
	dc_free_uncached(r.m, mem, 4);
	rig_fini(&r);
}

DC_TEST(bmblk_injected_transfer_error_fails_the_command_and_the_flush)
{
	struct rig r;
	CHECK(rig_init(&r, "noncoherent", 32, -1, false, 0));
	uint8_t *mem = dc_alloc_cached(r.m, 2, DC_ZONE_DMA32, false);
	CHECK(mem);
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	uint32_t status = 0;
	CHECK(!do_io(&r, mem, 2 * DC_PAGE_SIZE, 8, DC_BMBLK_CMD_READ, &status));
	CHECK_EQ(status & DC_BMBLK_STATUS_ERROR, DC_BMBLK_STATUS_ERROR);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_ERROR), DC_BMBLK_ERR_TRANSFER);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_BYTES_DONE), DC_PAGE_SIZE); /* half the sectors moved */
	CHECK(!strcmp(dc_bmblk_error_name(DC_BMBLK_ERR_TRANSFER), "transfer"));
	/* One command only: the next one succeeds and so does its flush. */
	CHECK(do_io(&r, mem, 2 * DC_PAGE_SIZE, 8, DC_BMBLK_CMD_READ, &status));
	CHECK_EQ(status & DC_BMBLK_STATUS_ERROR, 0);
	CHECK_EQ(dc_bmblk_stats(r.dev.opaque)->errors, 1);
	dc_free_cached(r.m, mem, 2);
	rig_fini(&r);
}

DC_TEST(bmblk_rejects_bad_commands_with_an_error)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 32, -1, false, 0));
	uint8_t *mem = dc_alloc_uncached(r.m, 1, DC_ZONE_DMA32);
	CHECK(mem);
	uint64_t pa = dc_va_to_pa(r.m, mem);
	wr(&r, DC_BMBLK_REG_INT_MASK, DC_BMBLK_INT_DONE | DC_BMBLK_INT_ERROR);
	wr(&r, DC_BMBLK_REG_SG_BASE, (uint32_t)pa);
	wr(&r, DC_BMBLK_REG_SG_BASE + 4, 0x12345678); /* a 32-bit device has no upper half */
	CHECK_EQ(rd(&r, DC_BMBLK_REG_SG_BASE + 4), 0);
	wr(&r, DC_BMBLK_REG_SG_BASE + 8, 1024);
	wr(&r, DC_BMBLK_REG_SG_COUNT, 1);
	static const struct {
		uint32_t lba, count, sg_count, cmd;
		enum dc_bmblk_error err;
	} cases[] = {
	    {0, 2, 1, 7, DC_BMBLK_ERR_BAD_CMD},
	    {0, 0, 1, DC_BMBLK_CMD_READ, DC_BMBLK_ERR_BAD_RANGE},
	    {4095, 2, 1, DC_BMBLK_CMD_READ, DC_BMBLK_ERR_BAD_RANGE},
	    {0, 3, 1, DC_BMBLK_CMD_READ, DC_BMBLK_ERR_BAD_SG},
	    {0, 2, 0, DC_BMBLK_CMD_READ, DC_BMBLK_ERR_BAD_SG},
	    {0, 2, 33, DC_BMBLK_CMD_READ, DC_BMBLK_ERR_BAD_SG},
	    {0, 2, 1, DC_BMBLK_CMD_WRITE, DC_BMBLK_ERR_NONE},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		wr(&r, DC_BMBLK_REG_LBA_LO, cases[i].lba);
		wr(&r, DC_BMBLK_REG_SECTOR_COUNT, cases[i].count);
		wr(&r, DC_BMBLK_REG_SG_COUNT, cases[i].sg_count);
		wr(&r, DC_BMBLK_REG_DOORBELL, cases[i].cmd);
		CHECK(!dc_irq_asserted(&r.m->irq, IRQ)); /* never inside the register write */
		CHECK(wait_irq(&r));
		dct_log("  case %zu: error %s\n", i,
		        dc_bmblk_error_name(rd(&r, DC_BMBLK_REG_ERROR)));
		CHECK_EQ(rd(&r, DC_BMBLK_REG_ERROR), cases[i].err);
		wr(&r, DC_BMBLK_REG_INT_STATUS, 0xFFFFFFFF);
		CHECK_EQ(dc_busmaster_drain(dc_bmblk_busmaster(r.dev.opaque)),
		         cases[i].err == DC_BMBLK_ERR_NONE);
	}
	/* A doorbell while busy is ignored; the running command completes normally. */
	wr(&r, DC_BMBLK_REG_DOORBELL, DC_BMBLK_CMD_READ);
	wr(&r, DC_BMBLK_REG_DOORBELL, DC_BMBLK_CMD_WRITE);
	CHECK(wait_irq(&r));
	CHECK_EQ(rd(&r, DC_BMBLK_REG_ERROR), DC_BMBLK_ERR_NONE);
	CHECK_EQ(rd(&r, DC_BMBLK_REG_DOORBELL), DC_BMBLK_CMD_READ);
	CHECK_EQ(dc_bmblk_stats(r.dev.opaque)->rejected_doorbells, 7);
	/* Reset drops the line and the registers. */
	wr(&r, DC_BMBLK_REG_CTRL, DC_BMBLK_CTRL_RESET);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	CHECK_EQ(rd(&r, DC_BMBLK_REG_SG_COUNT), 0);
	dc_free_uncached(r.m, mem, 1);
	rig_fini(&r);
}

DC_TEST(bmblk_32bit_device_truncates_a_64bit_address)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 32, 0, false, 0));
	uint8_t *high = dc_alloc_uncached(r.m, 1, DC_ZONE_HIGH);
	CHECK(high);
	uint64_t pa = dc_va_to_pa(r.m, high);
	CHECK(pa >> 32);
	static uint8_t want[SECT];
	memset(want, 0x42, sizeof(want));
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, want, sizeof(want)), DC_OK);
	/* A driver that believes its device does 64-bit DMA hands it the raw address. */
	wr(&r, DC_BMBLK_REG_SG_BASE, (uint32_t)pa);
	wr(&r, DC_BMBLK_REG_SG_BASE + 4, (uint32_t)(pa >> 32));
	wr(&r, DC_BMBLK_REG_SG_BASE + 8, SECT);
	wr(&r, DC_BMBLK_REG_SG_COUNT, 1);
	wr(&r, DC_BMBLK_REG_SECTOR_COUNT, 1);
	wr(&r, DC_BMBLK_REG_INT_MASK, DC_BMBLK_INT_DONE);
	wr(&r, DC_BMBLK_REG_DOORBELL, DC_BMBLK_CMD_READ);
	CHECK(wait_irq(&r));
	CHECK_EQ(high[0], 0); /* the data went to pa mod 4 GiB instead */
	CHECK(!memcmp(dc_mem_pa_ptr(&r.m->mem, (uint32_t)pa), want, SECT));
	dc_free_uncached(r.m, high, 1);
	rig_fini(&r);
}

/* A seeded random workload with the adversary on: correct maintenance gives correct data, and
 * the same seed gives the same time, statistics and store. */
static uint64_t workload(uint64_t seed, bool *ok)
{
	*ok = false;
	struct rig r;
	if (!rig_init(&r, "noncoherent", 32, -1, true, seed))
		return 0;
	struct dc_rng rng;
	dc_rng_seed(&rng, seed);
	uint8_t *mem = dc_alloc_cached(r.m, 9, DC_ZONE_ANY, false);
	static uint8_t want[8 * 4096], got[8 * 4096];
	bool good = mem != NULL;
	for (int it = 0; good && it < 40; it++) {
		uint64_t sectors = 1 + dc_rng_below(&rng, 16);
		uint64_t off = dc_rng_below(&rng, 8) * SECT;
		uint64_t lba = dc_rng_below(&rng, 4096 - sectors);
		uint8_t *buf = mem + off;
		uint64_t len = sectors * SECT;
		if (dc_rng_below(&rng, 2)) {
			pattern(want, len, (uint32_t)it);
			dc_cpu_write(r.m, buf, want, len);
			good = do_io(&r, buf, len, lba, DC_BMBLK_CMD_WRITE, NULL) &&
			       r.dev.ops->store_read(r.dev.opaque, lba * SECT, got, len) == DC_OK &&
			       !memcmp(got, want, len);
		} else {
			r.dev.ops->store_read(r.dev.opaque, lba * SECT, want, len);
			dc_cpu_fill(r.m, buf, it, len);
			good = do_io(&r, buf, len, lba, DC_BMBLK_CMD_READ, NULL);
			dc_cpu_read(r.m, buf, got, len);
			good = good && !memcmp(got, want, len);
		}
		if (!good)
			dct_log("  seed %llu: iteration %d went wrong\n", (unsigned long long)seed,
			        it);
	}
	uint64_t h = 1469598103934665603ull;
	for (uint64_t off = 0; off < 4096 * SECT; off += sizeof(got)) {
		r.dev.ops->store_read(r.dev.opaque, off, got, sizeof(got));
		for (size_t i = 0; i < sizeof(got); i++)
			h = (h ^ got[i]) * 1099511628211ull;
	}
	h ^= r.m->clock.now * 31 + r.m->st.random_evictions * 7 + r.m->st.speculative_fills;
	if (mem)
		dc_free_cached(r.m, mem, 9);
	rig_fini(&r);
	*ok = good;
	return h;
}

DC_TEST(bmblk_same_seed_same_results)
{
	bool ok1, ok2, ok3;
	uint64_t a = workload(1234, &ok1), b = workload(1234, &ok2), c = workload(99, &ok3);
	dct_log("  seed 1234: %016llx %016llx  seed 99: %016llx\n", (unsigned long long)a,
	        (unsigned long long)b, (unsigned long long)c);
	CHECK(ok1 && ok2 && ok3);
	CHECK_EQ(a, b);
	CHECK(a != c);
}

/* The negative twin: skip the invalidate around a read and the CPU sees its own stale lines on
 * noncoherent, the device's data on pc. */
static void read_without_invalidate(const char *platform, bool expect_stale)
{
	struct rig r;
	CHECK(rig_init(&r, platform, 32, -1, false, 0));
	uint8_t *buf = dc_alloc_cached(r.m, 1, DC_ZONE_DMA32, false);
	CHECK(buf);
	static uint8_t want[DC_PAGE_SIZE], got[DC_PAGE_SIZE];
	memset(want, 0x99, sizeof(want));
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, want, sizeof(want)), DC_OK);
	dc_cpu_fill(r.m, buf, 0xEE, sizeof(want));
	dc_cpu_cache_range(r.m, buf, sizeof(want), DC_CACHE_CLEAN, false); /* clean, still cached */
	uint32_t n = start_io(&r, buf, sizeof(want), 0, DC_BMBLK_CMD_READ);
	CHECK(n && wait_irq(&r));
	CHECK(dc_busmaster_drain(dc_bmblk_busmaster(r.dev.opaque)));
	dc_mapreg_drain(r.mr, 0, n);
	dc_cpu_read(r.m, buf, got, sizeof(got));
	dct_log("  %s: CPU reads %02x after the device wrote 99\n", platform, got[0]);
	CHECK_EQ(got[0], expect_stale ? 0xEE : 0x99);
	dc_free_cached(r.m, buf, 1);
	rig_fini(&r);
}

DC_TEST(bmblk_read_without_invalidate_is_stale_on_noncoherent_only)
{
	read_without_invalidate("noncoherent", true);
	if (!dct_failed())
		read_without_invalidate("pc", false);
}

/* What the sanitizer's rule A09 will do: the bridge's check hook sees every access the device
 * issues, and dc_mapreg_lookup says whether it lies in what the driver mapped. */
struct a09 {
	struct dc_mapreg_file *mr;
	unsigned accesses, bad;
	uint64_t covered;
};

static void a09_check(void *opaque, int source, uint64_t logical, uint64_t len, enum dc_dir dir)
{
	struct a09 *c = opaque;
	struct dc_mapreg_hit h;
	(void)source;
	c->accesses++;
	if (!dc_mapreg_lookup(c->mr, logical, len, &h) || h.dir != dir) {
		c->bad++;
		c->covered = h.covered;
	}
}

DC_TEST(bmblk_check_hook_sees_an_access_past_the_mapped_length)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 32, -1, false, 0));
	struct a09 c = {.mr = r.mr};
	dc_bridge_set_check(r.br, a09_check, &c);
	uint8_t *mem = dc_alloc_uncached(r.m, 2, DC_ZONE_DMA32);
	CHECK(mem);
	/* A correct transfer: every access inside the mapping. */
	uint32_t n = start_io(&r, mem, DC_PAGE_SIZE, 0, DC_BMBLK_CMD_READ);
	CHECK_EQ(n, 1);
	CHECK(wait_irq(&r));
	wr(&r, DC_BMBLK_REG_INT_STATUS, rd(&r, DC_BMBLK_REG_INT_STATUS));
	CHECK(flush_adapter(&r, mem, DC_PAGE_SIZE, n, true));
	CHECK(c.accesses > 0);
	CHECK_EQ(c.bad, 0);
	/* The driver maps one page, then, still mapped, tells the device 9 sectors. */
	n = start_io(&r, mem, DC_PAGE_SIZE, 0, DC_BMBLK_CMD_READ);
	CHECK(wait_irq(&r));
	CHECK_EQ(c.bad, 0);
	wr(&r, DC_BMBLK_REG_SG_BASE + 8, DC_PAGE_SIZE + SECT);
	wr(&r, DC_BMBLK_REG_SECTOR_COUNT, 9);
	wr(&r, DC_BMBLK_REG_INT_STATUS, 0xFF);
	wr(&r, DC_BMBLK_REG_DOORBELL, DC_BMBLK_CMD_READ);
	CHECK(wait_irq(&r));
	dct_log("  accesses %u, outside the mapping %u, covered %llu of %u\n", c.accesses, c.bad,
	        (unsigned long long)c.covered, DC_PAGE_SIZE + SECT);
	CHECK_EQ(c.bad, 1);
	CHECK_EQ(c.covered, DC_PAGE_SIZE);
	CHECK(flush_adapter(&r, mem, DC_PAGE_SIZE, n, true));
	dc_free_uncached(r.m, mem, 2);
	rig_fini(&r);
}
