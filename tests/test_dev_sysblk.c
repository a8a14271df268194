/* sysblk end to end: the 8237 programmed through its ports exactly as a HAL does (mask,
 * flip-flop, mode, address, page, count, unmask), the device through its registers, the
 * interrupt awaited, the channel drained (FlushAdapterBuffers), and the bytes checked against
 * the backing store — on a coherent PC and on a non-coherent machine where the CPU side must
 * clean before a write and invalidate after a read. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "devices/sysblk.h"
#include "hw/i8237.h"
#include "hw/machine.h"

struct rig {
	struct dc_machine *m;
	struct dc_i8237 *d;
	struct dc_device dev;
	struct dc_sysblk_cfg cfg;
};

static bool rig_up(struct rig *r, const char *prof, unsigned ch, uint32_t chunk, uint32_t depth)
{
	struct dc_platform p;
	memset(r, 0, sizeof(*r));
	if (dc_platform_builtin(prof, &p) < 0)
		return false;
	if (chunk) {
		p.sysdma_chunk = chunk;
		p.sysdma_depth = depth;
	}
	if (dc_machine_create(&p, &r->m) < 0)
		return false;
	if (dc_i8237_create(r->m, NULL, &r->d) < 0)
		return false;
	dc_sysblk_cfg_default(&r->cfg);
	r->cfg.dma_channel = ch;
	if (dc_sysblk_create(r->m, &r->cfg, &r->dev) < 0)
		return false;
	/* A recognisable disk: byte i of the store. */
	uint64_t size = r->dev.ops->store_size(r->dev.opaque);
	uint8_t *img = malloc(size);
	if (!img)
		return false;
	for (uint64_t i = 0; i < size; i++)
		img[i] = (uint8_t)(i * 13 + (i >> 9) * 101 + 7);
	r->dev.ops->store_write(r->dev.opaque, 0, img, size);
	free(img);
	return true;
}

static void rig_down(struct rig *r)
{
	if (r->dev.ops)
		dc_device_detach(&r->dev);
	dc_i8237_destroy(r->d);
	if (r->m)
		dc_machine_destroy(r->m);
}

static void outb(struct rig *r, uint32_t port, uint32_t v)
{
	dc_bus_port_write(&r->m->bus, port, v & 0xFF, 1);
}

static uint8_t inb(struct rig *r, uint32_t port)
{
	return (uint8_t)dc_bus_port_read(&r->m->bus, port, 1);
}

/* What the HAL's MapTransfer does for a system DMA adapter. */
static void hal_program(struct rig *r, enum dc_dir dir, uint64_t pa, uint32_t bytes)
{
	unsigned ch = r->cfg.dma_channel, w = dc_i8237_width(ch);
	uint8_t mode = DC_I8237_MODE_SINGLE |
	               (dir == DC_DIR_FROM_DEVICE ? DC_I8237_MODE_WRITE : DC_I8237_MODE_READ);
	uint32_t a = w == 1 ? (uint32_t)(pa & 0xFFFF) : (uint32_t)((pa >> 1) & 0xFFFF);
	uint32_t cnt = bytes / w - 1;
	outb(r, dc_i8237_port(ch, DC_I8237_REG_MASK), DC_I8237_MASK_SET | (ch & 3));
	outb(r, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	outb(r, dc_i8237_port(ch, DC_I8237_REG_MODE), mode | (ch & 3));
	outb(r, dc_i8237_port_addr(ch), a);
	outb(r, dc_i8237_port_addr(ch), a >> 8);
	outb(r, dc_i8237_port_page(ch), (uint32_t)(pa >> 16));
	outb(r, dc_i8237_port_count(ch), cnt);
	outb(r, dc_i8237_port_count(ch), cnt >> 8);
	outb(r, dc_i8237_port(ch, DC_I8237_REG_MASK), ch & 3);
}

/* What FlushAdapterBuffers does: drain, then mask the channel. */
static bool hal_flush(struct rig *r)
{
	unsigned ch = r->cfg.dma_channel;
	bool ok = dc_i8237_flush(r->d, ch);
	outb(r, dc_i8237_port(ch, DC_I8237_REG_MASK), DC_I8237_MASK_SET | (ch & 3));
	return ok;
}

static void dev_cmd(struct rig *r, uint8_t cmd, uint32_t lba, uint16_t count)
{
	uint32_t b = r->cfg.port_base;
	dc_bus_port_write(&r->m->bus, b + DC_SYSBLK_REG_LBA, lba, 4);
	dc_bus_port_write(&r->m->bus, b + DC_SYSBLK_REG_COUNT, count, 2);
	outb(r, b + DC_SYSBLK_REG_CMD, cmd);
}

static bool wait_irq(struct rig *r, uint64_t max_ns)
{
	struct dc_machine *m = r->m;
	uint64_t end = m->clock.now + max_ns;
	while (!dc_irq_asserted(&m->irq, (unsigned)r->cfg.irq)) {
		uint64_t nx = dc_clock_next(&m->clock);
		if (nx == UINT64_MAX || nx > end)
			return false;
		dc_clock_step(&m->clock);
	}
	return true;
}

/* ISR: read the causes, acknowledge them. */
static uint8_t isr(struct rig *r)
{
	uint8_t st = inb(r, r->cfg.port_base + DC_SYSBLK_REG_CMD);
	outb(r, r->cfg.port_base + DC_SYSBLK_REG_IACK, st & DC_SYSBLK_ST_CAUSES);
	return st;
}

/* An ISA-reachable, physically contiguous, cached buffer that does not cross a 64 KiB
 * (128 KiB) DMA page. */
static uint8_t *dma_buf(struct rig *r, uint64_t pages, uint64_t *pa)
{
	uint64_t lim = dc_i8237_width(r->cfg.dma_channel) == 1 ? 0x10000 : 0x20000;
	for (int tries = 0; tries < 64; tries++) {
		uint8_t *p = dc_alloc_cached(r->m, pages, DC_ZONE_ISA, true);
		if (!p)
			return NULL;
		*pa = dc_va_to_pa(r->m, p);
		if ((*pa & (lim - 1)) + pages * DC_PAGE_SIZE <= lim)
			return p;
	}
	return NULL;
}

static bool store_matches(struct rig *r, uint64_t off, const uint8_t *cpu, uint64_t len)
{
	uint8_t *want = malloc(len);
	bool ok = want && r->dev.ops->store_read(r->dev.opaque, off, want, len) == DC_OK &&
	          !memcmp(want, cpu, len);
	free(want);
	return ok;
}

/* One read of `sectors` sectors at lba into a cached buffer, as a correct driver does it. */
static bool read_e2e_g1(struct rig *r, uint32_t lba, uint16_t sectors, bool *flush_ok, uint8_t *st,
                        bool g1)
{
	uint32_t len = sectors * DC_SYSBLK_SECTOR;
	uint64_t pa;
	uint8_t *buf = dma_buf(r, (len + DC_PAGE_SIZE - 1) / DC_PAGE_SIZE, &pa);
	uint8_t *cpu = malloc(len);
	if (!buf || !cpu)
		return false;
	/* The CPU dirtied the buffer before (pool memory is reused). */
	dc_cpu_fill(r->m, buf, 0xAB, len);
	/* G1: KeFlushIoBuffers(mdl, ReadOperation=TRUE, DmaOperation=TRUE). */
	if (g1)
		dc_cpu_cache_range(r->m, buf, len, DC_CACHE_CLEAN_INVAL, false);
	hal_program(r, DC_DIR_FROM_DEVICE, pa, len);
	dev_cmd(r, DC_SYSBLK_CMD_READ, lba, sectors);
	if (!wait_irq(r, 1000000000))
		return false;
	*st = isr(r);
	*flush_ok = hal_flush(r);
	/* The v3 wording of FlushAdapterBuffers: stale lines go after a read. */
	dc_cpu_cache_range(r->m, buf, len, DC_CACHE_INVAL, false);
	dc_cpu_read(r->m, buf, cpu, len);
	bool ok = store_matches(r, (uint64_t)lba * DC_SYSBLK_SECTOR, cpu, len);
	free(cpu);
	return ok;
}

static bool read_e2e(struct rig *r, uint32_t lba, uint16_t sectors, bool *flush_ok, uint8_t *st)
{
	return read_e2e_g1(r, lba, sectors, flush_ok, st, true);
}

static bool write_e2e(struct rig *r, uint32_t lba, uint16_t sectors, bool clean, bool *flush_ok)
{
	uint32_t len = sectors * DC_SYSBLK_SECTOR;
	uint64_t pa;
	uint8_t *buf = dma_buf(r, (len + DC_PAGE_SIZE - 1) / DC_PAGE_SIZE, &pa);
	uint8_t *data = malloc(len);
	if (!buf || !data)
		return false;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + lba);
	dc_cpu_write(r->m, buf, data, len);
	if (clean) /* G1: KeFlushIoBuffers(mdl, ReadOperation=FALSE, TRUE) */
		dc_cpu_cache_range(r->m, buf, len, DC_CACHE_CLEAN, false);
	hal_program(r, DC_DIR_TO_DEVICE, pa, len);
	dev_cmd(r, DC_SYSBLK_CMD_WRITE, lba, sectors);
	if (!wait_irq(r, 1000000000))
		return false;
	uint8_t st = isr(r);
	*flush_ok = hal_flush(r);
	bool ok = (st & DC_SYSBLK_ST_DONE) &&
	          store_matches(r, (uint64_t)lba * DC_SYSBLK_SECTOR, data, len);
	free(data);
	return ok;
}

DC_TEST(sysblk_read_write_end_to_end_pc)
{
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 0, 0));
	bool fok = false;
	uint8_t st = 0;
	CHECK(read_e2e(&r, 10, 8, &fok, &st));
	CHECK(fok);
	CHECK_EQ(st & (DC_SYSBLK_ST_DONE | DC_SYSBLK_ST_TC), DC_SYSBLK_ST_DONE | DC_SYSBLK_ST_TC);
	CHECK(write_e2e(&r, 100, 8, true, &fok));
	CHECK(fok);
	CHECK_EQ(dc_sysblk_stats(r.dev.opaque)->bytes, 2 * 8 * 512);
	CHECK_EQ(inb(&r, r.cfg.port_base + DC_SYSBLK_REG_ERROR), DC_SYSBLK_ERR_NONE);
	rig_down(&r);
}

DC_TEST(sysblk_read_write_end_to_end_noncoherent)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent", 1, 0, 0));
	bool fok = false;
	uint8_t st = 0;
	CHECK(read_e2e(&r, 3, 8, &fok, &st));
	CHECK(fok);
	CHECK(write_e2e(&r, 200, 8, true, &fok));
	CHECK(fok);
	rig_down(&r);
}

DC_TEST(sysblk_write_without_clean_sends_stale_memory_on_noncoherent)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent", 1, 0, 0));
	bool fok = false;
	/* The data sits in dirty cache lines; the device reads memory. */
	CHECK(!write_e2e(&r, 50, 8, false, &fok));
	rig_down(&r);
	/* The same driver bug is invisible on a coherent PC. */
	CHECK(rig_up(&r, "pc", 1, 0, 0));
	CHECK(write_e2e(&r, 50, 8, false, &fok));
	rig_down(&r);
}

DC_TEST(sysblk_read_without_flush_loses_data_on_noncoherent)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent", 1, 0, 0));
	bool fok = false;
	uint8_t st = 0;
	/* Dirty lines over the buffer are evicted right after the device wrote under them. */
	CHECK(!read_e2e_g1(&r, 3, 8, &fok, &st, false));
	CHECK(fok);
	rig_down(&r);
}

DC_TEST(sysblk_sixteen_bit_channel)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent", 5, 0, 0));
	CHECK_EQ(r.dev.res.dma_width, 16);
	bool fok = false;
	uint8_t st = 0;
	CHECK(read_e2e(&r, 7, 16, &fok, &st));
	CHECK(fok);
	CHECK(write_e2e(&r, 64, 16, true, &fok));
	CHECK(fok);
	rig_down(&r);
}

DC_TEST(sysblk_tail_reaches_memory_only_at_the_drain)
{
	/* A 24-byte buffer (3 chunks of 8, wait_full): 512 = 21 * 24 + 8. */
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 8, 3));
	uint64_t pa;
	uint8_t *buf = dma_buf(&r, 1, &pa);
	CHECK(buf);
	uint8_t want[512], got[512];
	r.dev.ops->store_read(r.dev.opaque, 0, want, 512);
	dc_cpu_fill(r.m, buf, 0, 512);
	hal_program(&r, DC_DIR_FROM_DEVICE, pa, 512);
	dev_cmd(&r, DC_SYSBLK_CMD_READ, 0, 1);
	CHECK(wait_irq(&r, 1000000000));
	uint8_t st = isr(&r);
	CHECK(st & DC_SYSBLK_ST_DONE);
	dc_cpu_read(r.m, buf, got, 512);
	dct_log("  at the interrupt: %u bytes in memory, 8 in the controller\n", 504);
	CHECK(!memcmp(got, want, 504));
	CHECK(memcmp(got + 504, want + 504, 8));
	CHECK(hal_flush(&r));
	dc_cpu_read(r.m, buf, got, 512);
	CHECK(!memcmp(got, want, 512));
	rig_down(&r);
}

DC_TEST(sysblk_write_tail_reaches_the_device_only_at_the_drain)
{
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 8, 3)); /* a 24-byte buffer again */
	uint64_t pa;
	uint8_t *buf = dma_buf(&r, 1, &pa);
	CHECK(buf);
	uint8_t data[512], got[512];
	for (unsigned i = 0; i < 512; i++)
		data[i] = (uint8_t)(i ^ 0xC3);
	dc_cpu_write(r.m, buf, data, 512);
	hal_program(&r, DC_DIR_TO_DEVICE, pa, 512);
	dev_cmd(&r, DC_SYSBLK_CMD_WRITE, 9, 1);
	CHECK(wait_irq(&r, 1000000000));
	uint8_t st = isr(&r);
	/* Terminal count, but the device is 8 bytes short: still busy, not done. */
	CHECK_EQ(st & (DC_SYSBLK_ST_TC | DC_SYSBLK_ST_DONE | DC_SYSBLK_ST_BUSY),
	         DC_SYSBLK_ST_TC | DC_SYSBLK_ST_BUSY);
	CHECK(hal_flush(&r));
	CHECK(wait_irq(&r, 1000000000));
	st = isr(&r);
	CHECK(st & DC_SYSBLK_ST_DONE);
	r.dev.ops->store_read(r.dev.opaque, 9 * 512, got, 512);
	CHECK(!memcmp(got, data, 512));
	rig_down(&r);
}

DC_TEST(sysblk_split_transfer_interrupts_at_tc)
{
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 0, 0));
	uint64_t pa;
	uint8_t *buf = dma_buf(&r, 2, &pa);
	CHECK(buf);
	/* One 16-sector command, two 4 KiB pieces (the map-register split of wdm-dma-spec 5.1). */
	hal_program(&r, DC_DIR_FROM_DEVICE, pa, 4096);
	dev_cmd(&r, DC_SYSBLK_CMD_READ, 20, 16);
	CHECK(wait_irq(&r, 1000000000));
	uint8_t st = isr(&r);
	CHECK_EQ(st & (DC_SYSBLK_ST_TC | DC_SYSBLK_ST_DONE | DC_SYSBLK_ST_BUSY),
	         DC_SYSBLK_ST_TC | DC_SYSBLK_ST_BUSY);
	CHECK(hal_flush(&r));
	hal_program(&r, DC_DIR_FROM_DEVICE, pa + 4096, 4096);
	CHECK(wait_irq(&r, 1000000000));
	st = isr(&r);
	CHECK(st & DC_SYSBLK_ST_DONE);
	CHECK(hal_flush(&r));
	uint8_t *cpu = malloc(8192);
	CHECK(cpu);
	dc_cpu_read(r.m, buf, cpu, 8192);
	bool ok = store_matches(&r, 20 * 512, cpu, 8192);
	free(cpu);
	CHECK(ok);
	rig_down(&r);
}

/* wdm-dma-spec 5.2: common-buffer system DMA.  One 8-sector READ through a 1 KiB
 * auto-initialize ring in an uncached common buffer; at each terminal count the "driver"
 * copies the ring out (ReadDmaCounter tells it where the controller is). */
DC_TEST(sysblk_autoinit_common_buffer_ring)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent", 3, 0, 0));
	uint8_t *ring = dc_alloc_uncached(r.m, 1, DC_ZONE_ISA);
	CHECK(ring);
	uint64_t pa = dc_va_to_pa(r.m, ring);
	uint8_t out[8 * 512];
	CHECK_EQ(dc_i8237_hal_program(
	             r.d, 3, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE | DC_I8237_MODE_AUTOINIT,
	             pa, 1024),
	         DC_OK);
	dev_cmd(&r, DC_SYSBLK_CMD_READ, 40, 8);
	for (unsigned lap = 0; lap < 4; lap++) {
		CHECK(wait_irq(&r, 1000000000));
		uint8_t st = isr(&r);
		CHECK(st & DC_SYSBLK_ST_TC);
		CHECK_EQ(dc_i8237_hal_read_counter(r.d, 3), 1024); /* reloaded */
		memcpy(out + lap * 1024, ring, 1024);
		dct_log("  lap %u at %" PRIu64 " ns: status %02x\n", lap, r.m->clock.now, st);
		if (lap == 3)
			CHECK(st & DC_SYSBLK_ST_DONE);
		else
			CHECK(st & DC_SYSBLK_ST_BUSY);
	}
	CHECK(dc_i8237_hal_flush(r.d, 3));
	CHECK(store_matches(&r, 40 * 512, out, sizeof(out)));
	rig_down(&r);
}

DC_TEST(sysblk_fault_fails_command_and_drain)
{
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 0, 0));
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	bool fok = true;
	uint8_t st = 0;
	CHECK(!read_e2e(&r, 0, 4, &fok, &st));
	CHECK(!fok);
	CHECK(st & DC_SYSBLK_ST_ERR);
	CHECK_EQ(inb(&r, r.cfg.port_base + DC_SYSBLK_REG_ERROR), DC_SYSBLK_ERR_TRANSFER);
	/* The fault was for one command. */
	CHECK(read_e2e(&r, 0, 4, &fok, &st));
	CHECK(fok);
	rig_down(&r);
}

DC_TEST(sysblk_registers_and_bad_commands)
{
	struct rig r;
	CHECK(rig_up(&r, "pc", 3, 0, 0));
	uint32_t b = r.cfg.port_base;
	CHECK_EQ(dc_bus_port_read(&r.m->bus, b + DC_SYSBLK_REG_ID, 2), DC_SYSBLK_ID);
	CHECK(!strcmp(dc_sysblk_reg_name(DC_SYSBLK_REG_LBA + 2), "lba"));
	CHECK(!strcmp(dc_sysblk_cmd_name(DC_SYSBLK_CMD_WRITE), "write"));
	CHECK_EQ(inb(&r, b + DC_SYSBLK_REG_CHAN), 3);
	CHECK_EQ(inb(&r, b + DC_SYSBLK_REG_IRQ), 5);
	dc_bus_port_write(&r.m->bus, b + DC_SYSBLK_REG_LBA, 0x01020304, 4);
	CHECK_EQ(dc_bus_port_read(&r.m->bus, b + DC_SYSBLK_REG_LBA, 4), 0x01020304);
	dev_cmd(&r, DC_SYSBLK_CMD_READ, 2047, 2); /* past the end */
	CHECK(wait_irq(&r, 1000000000));
	CHECK(isr(&r) & DC_SYSBLK_ST_ERR);
	CHECK_EQ(inb(&r, b + DC_SYSBLK_REG_ERROR), DC_SYSBLK_ERR_BAD_RANGE);
	CHECK(!dc_irq_asserted(&r.m->irq, 5)); /* acknowledged */
	outb(&r, b + DC_SYSBLK_REG_CMD, 0x77);
	CHECK(wait_irq(&r, 1000000000));
	isr(&r);
	CHECK_EQ(inb(&r, b + DC_SYSBLK_REG_ERROR), DC_SYSBLK_ERR_BAD_CMD);
	/* With interrupts disabled the cause is still visible in STATUS. */
	outb(&r, b + DC_SYSBLK_REG_CTRL, 0);
	dev_cmd(&r, DC_SYSBLK_CMD_READ, 0, 0);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1000000);
	CHECK(!dc_irq_asserted(&r.m->irq, 5));
	CHECK(inb(&r, b + DC_SYSBLK_REG_CMD) & DC_SYSBLK_ST_ERR);
	rig_down(&r);
}

/* Same seed => same interrupt times, same bytes.  The noncoherent adversary is seeded too. */
static uint64_t seeded(uint64_t seed, char *trace, size_t cap)
{
	struct rig r;
	size_t n = 0;
	uint64_t h = 1469598103934665603ull;
	if (!rig_up(&r, "noncoherent", 1, 0, 0))
		return 0;
	struct dc_rng g;
	dc_rng_seed(&g, seed);
	for (int i = 0; i < 12; i++) {
		uint32_t lba = (uint32_t)dc_rng_below(&g, 2000);
		uint16_t cnt = (uint16_t)(1 + dc_rng_below(&g, 8));
		bool fok = false;
		uint8_t st = 0;
		bool ok = dc_rng_below(&g, 2) ? read_e2e(&r, lba, cnt, &fok, &st)
		                              : write_e2e(&r, lba, cnt, true, &fok);
		int k = snprintf(trace + n, cap - n, "%" PRIu64 ":%d%d%02x ", r.m->clock.now, ok,
		                 fok, st);
		if (k > 0 && n + (size_t)k < cap)
			n += (size_t)k;
		h = (h ^ r.m->clock.now ^ ok) * 1099511628211ull;
	}
	uint8_t img[4096];
	for (uint64_t off = 0; off < 2048 * 512; off += sizeof(img)) {
		r.dev.ops->store_read(r.dev.opaque, off, img, sizeof(img));
		for (size_t i = 0; i < sizeof(img); i++)
			h = (h ^ img[i]) * 1099511628211ull;
	}
	rig_down(&r);
	return h;
}

DC_TEST(sysblk_same_seed_same_run)
{
	static char a[4096], b[4096];
	uint64_t ha = seeded(42, a, sizeof(a)), hb = seeded(42, b, sizeof(b));
	dct_log("  trace: %s\n", a);
	CHECK(ha != 0);
	CHECK_EQ(ha, hb);
	CHECK(!strcmp(a, b));
}
