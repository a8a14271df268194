/* v3 subordinate DMA on the PC platforms' 8237 (issue 16, "both v3 examples clean on every
 * built-in platform"): spififo's request line becomes the 8237 channel of that number when the
 * platform has no request-line controller, the channel's terminal count reaches the device
 * (its TC status, an interrupt with CTRL.TCIE), every byte checked at register level; then
 * v3sub and its twins run by `dmacoh run` on every built-in platform: clean with every byte
 * verified, each twin caught by exactly its rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "devices/spififo.h"
#include "hw/i8237.h"
#include "hw/machine.h"

#define CH DC_SPIFIFO_LINE /* the 8237 channel the line is wired to */
#define IRQ 5

struct rig {
	struct dc_machine *m;
	struct dc_i8237 *d;
	struct dc_device dev;
	int src;
};

static bool rig_up(struct rig *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct dc_platform p;
	if (dc_platform_builtin("noncoherent", &p) < 0 || dc_machine_create(&p, &r->m) < 0 ||
	    dc_i8237_create(r->m, NULL, &r->d) < 0)
		return false;
	r->src = dc_machine_dma_source(r->m, "test");
	struct dc_device_res res = dc_spififo_model.res;
	res.irq = IRQ;
	res.mmio_base = 0;
	struct dc_device_cfg cfg = {.capacity = 64 * 1024};
	return dc_device_attach(r->m, NULL, &dc_spififo_model, &res, &cfg, &r->dev, err, errlen) ==
	       DC_OK;
}

static void rig_down(struct rig *r)
{
	if (r->dev.opaque)
		dc_device_detach(&r->dev);
	dc_i8237_destroy(r->d);
	dc_machine_destroy(r->m);
}

static void outb(struct rig *r, uint32_t port, uint32_t v)
{
	dc_bus_port_write(&r->m->bus, port, v & 0xFF, 1);
}

static uint32_t rd(struct rig *r, uint32_t reg)
{
	return dc_bus_mmio_read(&r->m->bus, r->dev.res.mmio_base + reg, 4);
}

static void wr(struct rig *r, uint32_t reg, uint32_t v)
{
	dc_bus_mmio_write(&r->m->bus, r->dev.res.mmio_base + reg, v, 4);
}

/* What the HAL's MapTransfer does for an 8237 channel: single mode, one run. */
static void hal_program(struct rig *r, bool to_mem, uint64_t pa, uint32_t bytes)
{
	uint8_t mode = DC_I8237_MODE_SINGLE | (to_mem ? DC_I8237_MODE_WRITE : DC_I8237_MODE_READ);
	uint32_t cnt = bytes - 1;
	outb(r, dc_i8237_port(CH, DC_I8237_REG_MASK), DC_I8237_MASK_SET | (CH & 3));
	outb(r, dc_i8237_port(CH, DC_I8237_REG_CLEAR_FF), 0);
	outb(r, dc_i8237_port(CH, DC_I8237_REG_MODE), mode | (CH & 3));
	outb(r, dc_i8237_port_addr(CH), (uint32_t)pa);
	outb(r, dc_i8237_port_addr(CH), (uint32_t)(pa >> 8));
	outb(r, dc_i8237_port_page(CH), (uint32_t)(pa >> 16));
	outb(r, dc_i8237_port_count(CH), cnt);
	outb(r, dc_i8237_port_count(CH), cnt >> 8);
	outb(r, dc_i8237_port(CH, DC_I8237_REG_MASK), CH & 3);
}

static void run_for(struct rig *r, uint64_t ns)
{
	dc_clock_run_until(&r->m->clock, r->m->clock.now + ns);
}

DC_TEST(v3sub_8237_spififo_line_is_the_8237_channel_tc_interrupts)
{
	struct rig r;
	char err[256] = "";
	CHECK_MSG(rig_up(&r, err, sizeof(err)), "%s", err);
	CHECK_EQ(r.dev.res.dma_channel, CH);
	CHECK_EQ(dc_host_request_line(r.dev.host), CH);
	uint8_t pat[2048], got[2048];
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 37 + 3 + (i >> 9));
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 4 * 512, pat, sizeof(pat)), DC_OK);
	wr(&r, DC_SPIFIFO_CTRL, DC_SPIFIFO_CTRL_TCIE);
	CHECK_EQ(rd(&r, DC_SPIFIFO_CTRL), DC_SPIFIFO_CTRL_TCIE);
	/* Read sectors 4-7 in two pieces: the first piece's terminal count stops the channel,
	 * the device sets TC and interrupts, keeps its request and waits for the second. */
	hal_program(&r, true, 0x100000, 1024);
	wr(&r, DC_SPIFIFO_LBA, 4);
	wr(&r, DC_SPIFIFO_COUNT, 4);
	wr(&r, DC_SPIFIFO_CMD, DC_SPIFIFO_CMD_READ);
	run_for(&r, 20000000);
	CHECK_EQ(rd(&r, DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_BUSY | DC_SPIFIFO_ST_TC);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ));
	CHECK_EQ(rd(&r, DC_SPIFIFO_REMAIN), 1024);
	wr(&r, DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_TC);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	hal_program(&r, true, 0x100000 + 1024, 1024);
	run_for(&r, 20000000);
	CHECK_EQ(rd(&r, DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_TC);
	dc_i8237_flush(r.d, CH);
	dc_dma_read(r.m, r.src, 0x100000, got, sizeof(got));
	CHECK(!memcmp(got, pat, sizeof(pat)));
	/* Without TCIE the terminal count is not latched (the PL080's way: the controller
	 * interrupts itself). */
	wr(&r, DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_TC);
	wr(&r, DC_SPIFIFO_CTRL, 0);
	for (unsigned i = 0; i < 1024; i++)
		pat[i] = (uint8_t)(0x5A ^ i ^ (i >> 2));
	dc_dma_write(r.m, r.src, 0x120000, pat, 1024);
	hal_program(&r, false, 0x120000, 1024);
	wr(&r, DC_SPIFIFO_LBA, 20);
	wr(&r, DC_SPIFIFO_COUNT, 2);
	wr(&r, DC_SPIFIFO_CMD, DC_SPIFIFO_CMD_WRITE);
	run_for(&r, 20000000);
	CHECK_EQ(rd(&r, DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_DONE);
	CHECK_EQ(r.dev.ops->store_read(r.dev.opaque, 20 * 512, got, 1024), DC_OK);
	CHECK(!memcmp(got, pat, 1024));
	wr(&r, DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_TC);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	rig_down(&r);
}

DC_TEST(v3sub_8237_fault_is_the_channels_error)
{
	struct rig r;
	char err[256] = "";
	CHECK_MSG(rig_up(&r, err, sizeof(err)), "%s", err);
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	hal_program(&r, true, 0x100000, 2048);
	wr(&r, DC_SPIFIFO_COUNT, 4);
	wr(&r, DC_SPIFIFO_CMD, DC_SPIFIFO_CMD_READ);
	run_for(&r, 20000000);
	CHECK(rd(&r, DC_SPIFIFO_STATUS) & DC_SPIFIFO_ST_ERR);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ));
	/* The HAL's drain (FlushAdapterBuffers) reports the failed transfer. */
	CHECK(!dc_i8237_flush(r.d, CH));
	rig_down(&r);
}

/* v3sub and its twins on every built-in platform, through `dmacoh run`, with injected faults. */
DC_TEST(v3sub_8237_clean_and_twins_caught_on_every_platform)
{
	static struct dct_run r;
	static const char *const twins[] = {"v3sub", "v3sub-bug-V01", "v3sub-bug-V04",
	                                    "v3sub-bug-V05", "v3sub-bug-V06"};
	for (const char *const *p = dc_platform_builtin_names(); *p; p++)
		for (unsigned t = 0; t < DC_ARRAY_SIZE(twins); t++) {
			const char *args[] = {
			    "run",        "--driver",         twins[t],          "--platform", *p,
			    "--workload", "count=40,fault=7", "--deterministic", NULL};
			CHECK(dct_run_tool(&r, args));
			const char *bug = strstr(twins[t], "-bug-");
			if (!bug) {
				CHECK_MSG(r.status == 0, "%s: status %d\n%s\n%s", *p, r.status,
				          r.out, r.err);
				CHECK_MSG(strstr(r.out, "every byte verified"), "%s:\n%s", *p,
				          r.out);
				CHECK_MSG(strstr(r.out, "findings   none"), "%s:\n%s", *p, r.out);
				continue;
			}
			/* Exactly its rule (R02, a hung IRP, is what the workload saw). */
			const char *f = strstr(r.out, "findings   ");
			CHECK_MSG(f, "%s %s:\n%s\n%s", *p, twins[t], r.out, r.err);
			if (!f)
				continue;
			char fl[256];
			snprintf(fl, sizeof(fl), "%.*s", (int)strcspn(f, "\n"), f);
			bool only = true;
			for (const char *c = fl + 11; *c; c++)
				if (c[0] >= 'A' && c[0] <= 'Z' && c[1] >= '0' && c[1] <= '9' &&
				    c[2] >= '0' && c[2] <= '9' && (c == fl + 11 || c[-1] == ' ')) {
					bool ok = !strncmp(c, bug + 5, 3) ||
					          !strncmp(c, "R02", 3) || !strncmp(c, "R01", 3);
					only &= ok;
				}
			CHECK_MSG(strstr(fl, bug + 5) && only, "%s %s: %s", *p, twins[t], fl);
		}
}
