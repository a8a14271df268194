/* pio: programmed I/O through the data port, end to end against the backing store, and the
 * PIO-read rule P1 (KeFlushIoBuffers(mdl, TRUE, FALSE) after the read) on a non-coherent
 * machine. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "devices/pio.h"
#include "hw/machine.h"

struct prig {
	struct dc_machine *m;
	struct dc_device dev;
	struct dc_pio_cfg cfg;
};

static bool up(struct prig *r, const char *prof)
{
	struct dc_platform p;
	memset(r, 0, sizeof(*r));
	if (dc_platform_builtin(prof, &p) < 0 || dc_machine_create(&p, &r->m) < 0)
		return false;
	dc_pio_cfg_default(&r->cfg);
	if (dc_pio_create(r->m, &r->cfg, &r->dev) < 0)
		return false;
	uint8_t *img = malloc(r->cfg.size);
	if (!img)
		return false;
	for (uint64_t i = 0; i < r->cfg.size; i++)
		img[i] = (uint8_t)(i * 29 + (i >> 8) + 1);
	r->dev.ops->store_write(r->dev.opaque, 0, img, r->cfg.size);
	free(img);
	return true;
}

static void down(struct prig *r)
{
	if (r->dev.ops)
		dc_device_detach(&r->dev);
	if (r->m)
		dc_machine_destroy(r->m);
}

static uint32_t in(struct prig *r, uint32_t reg, unsigned size)
{
	return dc_bus_port_read(&r->m->bus, r->cfg.port_base + reg, size);
}

static void out(struct prig *r, uint32_t reg, uint32_t v, unsigned size)
{
	dc_bus_port_write(&r->m->bus, r->cfg.port_base + reg, v, size);
}

static void start(struct prig *r, uint8_t cmd, uint32_t off, uint32_t len)
{
	out(r, DC_PIO_REG_OFFSET, off, 4);
	out(r, DC_PIO_REG_LENGTH, len, 4);
	out(r, DC_PIO_REG_CMD, cmd, 1);
}

static bool wait_irq(struct prig *r)
{
	struct dc_machine *m = r->m;
	uint64_t end = m->clock.now + 100000000;
	while (!dc_irq_asserted(&m->irq, (unsigned)r->cfg.irq)) {
		uint64_t nx = dc_clock_next(&m->clock);
		if (nx == UINT64_MAX || nx > end)
			return false;
		dc_clock_step(&m->clock);
	}
	return true;
}

/* The driver's PIO read loop: dwords, then the odd bytes, stored by the CPU into the MDL's
 * system address (a cached buffer). */
static void pio_read_into(struct prig *r, uint8_t *va, uint32_t len)
{
	uint32_t i = 0;
	for (; i + 4 <= len; i += 4) {
		uint32_t v = in(r, DC_PIO_REG_DATA, 4);
		dc_cpu_write(r->m, va + i, &v, 4);
	}
	for (; i < len; i++) {
		uint8_t b = (uint8_t)in(r, DC_PIO_REG_DATA, 1);
		dc_cpu_write(r->m, va + i, &b, 1);
	}
}

static bool memory_matches_store(struct prig *r, const uint8_t *va, uint32_t off, uint32_t len)
{
	/* What another agent (a device) reads there: memory, snooping only if coherent. */
	uint8_t *mem = malloc(len), *want = malloc(len);
	int src = dc_machine_dma_source(r->m, "other-agent");
	bool ok = mem && want && src >= 0;
	for (uint32_t i = 0; ok && i < len;) {
		uint64_t pa = dc_va_to_pa(r->m, va + i);
		uint32_t k =
		    (uint32_t)DC_MIN((uint64_t)len - i, DC_PAGE_SIZE - (pa & DC_PAGE_MASK));
		ok = dc_dma_read(r->m, src, pa, mem + i, k) == DC_OK;
		i += k;
	}
	ok = ok && r->dev.ops->store_read(r->dev.opaque, off, want, len) == DC_OK &&
	     !memcmp(mem, want, len);
	free(mem);
	free(want);
	return ok;
}

DC_TEST(pio_read_end_to_end_and_p1_flush)
{
	const char *profs[] = {"pc", "noncoherent"};
	for (int k = 0; k < 2; k++) {
		struct prig r;
		CHECK(up(&r, profs[k]));
		uint8_t *buf = dc_alloc_cached(r.m, 1, DC_ZONE_ANY, false);
		CHECK(buf);
		start(&r, DC_PIO_CMD_READ, 1000, 1001);
		CHECK(in(&r, DC_PIO_REG_CMD, 1) & DC_PIO_ST_BUSY);
		CHECK(wait_irq(&r));
		CHECK_EQ(in(&r, DC_PIO_REG_IACK, 1), DC_PIO_INT_DRDY);
		out(&r, DC_PIO_REG_IACK, DC_PIO_INT_DRDY, 1);
		CHECK(!dc_irq_asserted(&r.m->irq, (unsigned)r.cfg.irq));
		CHECK_EQ(in(&r, DC_PIO_REG_REMAIN, 4), 1001);
		pio_read_into(&r, buf, 1001);
		CHECK_EQ(in(&r, DC_PIO_REG_CMD, 1) & (DC_PIO_ST_DONE | DC_PIO_ST_DRDY),
		         DC_PIO_ST_DONE);
		CHECK_EQ(in(&r, DC_PIO_REG_REMAIN, 4), 0);
		bool before = memory_matches_store(&r, buf, 1000, 1001);
		/* P1: KeFlushIoBuffers(mdl, ReadOperation=TRUE, DmaOperation=FALSE). */
		dc_cpu_cache_range(r.m, buf, 1001, DC_CACHE_CLEAN, false);
		bool after = memory_matches_store(&r, buf, 1000, 1001);
		dct_log("  %-12s memory right after the PIO read: %s; after P1: %s\n", profs[k],
		        before ? "current" : "stale", after ? "current" : "stale");
		CHECK(after);
		CHECK_EQ(before, k == 0); /* only the coherent PC gets away without P1 */
		CHECK_EQ(dc_pio_stats(r.dev.opaque)->bytes, 1001);
		down(&r);
	}
}

DC_TEST(pio_write_end_to_end_mixed_widths)
{
	struct prig r;
	CHECK(up(&r, "pc"));
	start(&r, DC_PIO_CMD_WRITE, 4100, 7);
	dc_clock_run_until(&r.m->clock, r.m->clock.now); /* ready at once */
	CHECK(in(&r, DC_PIO_REG_CMD, 1) & DC_PIO_ST_DRDY);
	out(&r, DC_PIO_REG_DATA, 0x44332211, 4);
	out(&r, DC_PIO_REG_DATA, 0x6655, 2);
	uint8_t old;
	r.dev.ops->store_read(r.dev.opaque, 4100, &old, 1);
	CHECK_EQ(old, (uint8_t)(4100 * 29 + (4100 >> 8) + 1)); /* not before the last byte */
	out(&r, DC_PIO_REG_DATA, 0x77, 1);
	CHECK(wait_irq(&r));
	CHECK_EQ(in(&r, DC_PIO_REG_IACK, 1), DC_PIO_INT_DONE);
	uint8_t got[8];
	r.dev.ops->store_read(r.dev.opaque, 4100, got, 8);
	const uint8_t want[7] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	CHECK(!memcmp(got, want, 7));
	CHECK_EQ(got[7], (uint8_t)(4107 * 29 + (4107 >> 8) + 1));
	/* One byte too many: an overrun, all ones on a read. */
	out(&r, DC_PIO_REG_DATA, 0x88, 1);
	CHECK_EQ(in(&r, DC_PIO_REG_ERROR, 1), DC_PIO_ERR_OVERRUN);
	CHECK_EQ(in(&r, DC_PIO_REG_DATA, 2), 0xFFFF);
	CHECK_EQ(in(&r, DC_PIO_REG_ID, 2), DC_PIO_ID);
	down(&r);
}

DC_TEST(pio_faults_and_bad_commands)
{
	struct prig r;
	CHECK(up(&r, "pc"));
	/* A read that fails never becomes ready. */
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	start(&r, DC_PIO_CMD_READ, 0, 16);
	CHECK(wait_irq(&r));
	CHECK_EQ(in(&r, DC_PIO_REG_IACK, 1), DC_PIO_INT_ERR);
	CHECK_EQ(in(&r, DC_PIO_REG_ERROR, 1), DC_PIO_ERR_TRANSFER);
	CHECK_EQ(in(&r, DC_PIO_REG_DATA, 4), 0xFFFFFFFF);
	out(&r, DC_PIO_REG_IACK, DC_PIO_INT_ALL, 1);
	/* A write that fails leaves the medium as it was. */
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	start(&r, DC_PIO_CMD_WRITE, 0, 4);
	dc_clock_run_until(&r.m->clock, r.m->clock.now);
	out(&r, DC_PIO_REG_DATA, 0xDEADBEEF, 4);
	CHECK(wait_irq(&r));
	CHECK_EQ(in(&r, DC_PIO_REG_IACK, 1), DC_PIO_INT_ERR);
	uint8_t b;
	r.dev.ops->store_read(r.dev.opaque, 0, &b, 1);
	CHECK_EQ(b, 1);
	out(&r, DC_PIO_REG_IACK, DC_PIO_INT_ALL, 1);
	/* Past the end, and not a command. */
	start(&r, DC_PIO_CMD_READ, (uint32_t)r.cfg.size - 2, 4);
	CHECK(wait_irq(&r));
	CHECK_EQ(in(&r, DC_PIO_REG_ERROR, 1), DC_PIO_ERR_BAD_RANGE);
	out(&r, DC_PIO_REG_IACK, DC_PIO_INT_ALL, 1);
	start(&r, 9, 0, 4);
	CHECK(wait_irq(&r));
	CHECK_EQ(in(&r, DC_PIO_REG_ERROR, 1), DC_PIO_ERR_BAD_CMD);
	CHECK_EQ(dc_pio_stats(r.dev.opaque)->errors, 4);
	CHECK(!strcmp(dc_pio_error_name(DC_PIO_ERR_OVERRUN), "overrun"));
	CHECK(!strcmp(dc_pio_reg_name(DC_PIO_REG_LENGTH + 3), "length"));
	CHECK(!strcmp(dc_pio_reg_name(2), "data"));
	down(&r);
}
