/* spififo on the PL080: the device model on the public API, its request line driving a
 * controller channel programmed at register level as a HAL does, every byte checked against
 * the backing store, the injected fault as the controller's error interrupt. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "devices/spififo.h"
#include "hw/bridge.h"
#include "hw/machine.h"
#include "hw/pl080.h"

struct rig {
	struct dc_machine *m;
	struct dc_pl080 *d;
	struct dc_device dev;
	uint64_t dma_base, win;
	int src;
};

static bool rig_up(struct rig *r, const char *plat, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct dc_platform p;
	if (dc_platform_builtin(plat, &p) < 0 || dc_machine_create(&p, &r->m) < 0)
		return false;
	r->win = dc_mmio_window(r->m);
	r->dma_base = r->win + DC_PL080_MMIO_OFFSET;
	if (p.sysdma_ctl == DC_SYSDMA_PL080 &&
	    dc_pl080_create(r->m, r->dma_base, DC_PL080_IRQ, &r->d) < 0)
		return false;
	r->src = dc_machine_dma_source(r->m, "test");
	struct dc_device_res res = dc_spififo_model.res;
	res.irq = 5;
	res.mmio_base = 0; /* the device window + the model's offset */
	struct dc_device_cfg cfg = {.capacity = 64 * 1024};
	return dc_device_attach(r->m, NULL, &dc_spififo_model, &res, &cfg, &r->dev, err, errlen) ==
	       DC_OK;
}

static void rig_down(struct rig *r)
{
	if (r->dev.opaque)
		dc_device_detach(&r->dev);
	dc_pl080_destroy(r->d);
	dc_machine_destroy(r->m);
}

static void wr(struct rig *r, uint64_t pa, uint32_t v)
{
	dc_bus_mmio_write(&r->m->bus, pa, v, 4);
}

static uint32_t rd(struct rig *r, uint64_t pa)
{
	return dc_bus_mmio_read(&r->m->bus, pa, 4);
}

/* One channel, one item: the device's DATA register on one side, memory on the other. */
static void prog(struct rig *r, bool to_mem, uint32_t mem, uint32_t bytes)
{
	uint64_t ch = r->dma_base + DC_PL080_CH(0);
	uint32_t data = (uint32_t)(r->dev.res.mmio_base + DC_SPIFIFO_DATA);
	wr(r, r->dma_base + DC_PL080_CONFIG, DC_PL080_CFG_E);
	wr(r, r->dma_base + DC_PL080_INT_TC_CLEAR, 1);
	wr(r, r->dma_base + DC_PL080_INT_ERR_CLEAR, 1);
	wr(r, ch + DC_PL080_CH_SRC, to_mem ? data : mem);
	wr(r, ch + DC_PL080_CH_DST, to_mem ? mem : data);
	wr(r, ch + DC_PL080_CH_LLI, 0);
	wr(r, ch + DC_PL080_CH_CONTROL,
	   (bytes / 4) | DC_PL080_BSIZE_4 << DC_PL080_CTL_SBSIZE_SHIFT |
	       DC_PL080_BSIZE_4 << DC_PL080_CTL_DBSIZE_SHIFT |
	       DC_PL080_WIDTH_32 << DC_PL080_CTL_SWIDTH_SHIFT |
	       DC_PL080_WIDTH_32 << DC_PL080_CTL_DWIDTH_SHIFT |
	       (to_mem ? DC_PL080_CTL_DI : DC_PL080_CTL_SI) | DC_PL080_CTL_I);
	wr(r, ch + DC_PL080_CH_CONFIG,
	   DC_PL080_CCFG_E | DC_PL080_CCFG_ITC | DC_PL080_CCFG_IE |
	       (to_mem ? DC_PL080_FLOW_P2M << DC_PL080_CCFG_FLOW_SHIFT |
	                     DC_SPIFIFO_LINE << DC_PL080_CCFG_SRCPER_SHIFT
	               : DC_PL080_FLOW_M2P << DC_PL080_CCFG_FLOW_SHIFT |
	                     DC_SPIFIFO_LINE << DC_PL080_CCFG_DSTPER_SHIFT));
}

static void command(struct rig *r, uint32_t cmd, uint32_t lba, uint32_t count)
{
	uint64_t b = r->dev.res.mmio_base;
	wr(r, b + DC_SPIFIFO_LBA, lba);
	wr(r, b + DC_SPIFIFO_COUNT, count);
	wr(r, b + DC_SPIFIFO_CMD, cmd);
}

DC_TEST(dev_spififo_read_and_write_through_the_pl080)
{
	struct rig r;
	char err[256] = "";
	CHECK_MSG(rig_up(&r, "arm-soc", err, sizeof(err)), "%s", err);
	CHECK_EQ(rd(&r, r.dev.res.mmio_base + DC_SPIFIFO_ID), DC_SPIFIFO_IDVAL);
	uint8_t pat[2048], got[2048];
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 29 + 1 + (i >> 9));
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 2 * 512, pat, sizeof(pat)), DC_OK);
	/* Read sectors 2-5 into memory at 0x100000. */
	prog(&r, true, 0x100000, 2048);
	command(&r, DC_SPIFIFO_CMD_READ, 2, 4);
	CHECK_EQ(rd(&r, r.dev.res.mmio_base + DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_BUSY);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1000000);
	CHECK_EQ(rd(&r, r.dev.res.mmio_base + DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_DONE);
	CHECK(dc_irq_asserted(&r.m->irq, 5));
	CHECK_EQ(rd(&r, r.dma_base + DC_PL080_INT_TC_STATUS), 1);
	CHECK(dc_irq_asserted(&r.m->irq, DC_PL080_IRQ));
	dc_dma_read(r.m, r.src, 0x100000, got, sizeof(got));
	CHECK(!memcmp(got, pat, sizeof(pat)));
	wr(&r, r.dev.res.mmio_base + DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_DONE);
	CHECK(!dc_irq_asserted(&r.m->irq, 5));
	/* Write memory at 0x200000 to sectors 10-11. */
	for (unsigned i = 0; i < 1024; i++)
		pat[i] = (uint8_t)(0xA5 ^ i ^ (i >> 3));
	dc_dma_write(r.m, r.src, 0x200000, pat, 1024);
	prog(&r, false, 0x200000, 1024);
	command(&r, DC_SPIFIFO_CMD_WRITE, 10, 2);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1000000);
	CHECK_EQ(rd(&r, r.dev.res.mmio_base + DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_DONE);
	CHECK_EQ(r.dev.ops->store_read(r.dev.opaque, 10 * 512, got, 1024), DC_OK);
	CHECK(!memcmp(got, pat, 1024));
	CHECK_EQ(dc_spififo_stats(r.dev.opaque)->bytes, 3072);
	rig_down(&r);
}

DC_TEST(dev_spififo_fault_is_the_controllers_error_interrupt)
{
	struct rig r;
	char err[256] = "";
	CHECK_MSG(rig_up(&r, "arm-soc", err, sizeof(err)), "%s", err);
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	prog(&r, true, 0x100000, 2048);
	command(&r, DC_SPIFIFO_CMD_READ, 0, 4);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1000000);
	CHECK_EQ(rd(&r, r.dev.res.mmio_base + DC_SPIFIFO_STATUS), DC_SPIFIFO_ST_ERR);
	CHECK_EQ(rd(&r, r.dma_base + DC_PL080_RAW_ERR_STATUS), 1);
	CHECK_EQ(rd(&r, r.dma_base + DC_PL080_RAW_TC_STATUS), 0);
	CHECK_EQ(rd(&r, r.dma_base + DC_PL080_ENBLD_CHNS), 0);
	CHECK_EQ(dc_spififo_stats(r.dev.opaque)->errors, 1);
	rig_down(&r);
}

DC_TEST(dev_spififo_needs_a_request_line_controller)
{
	struct rig r;
	char err[256] = "";
	CHECK(!rig_up(&r, "pc", err, sizeof(err)));
	CHECK_MSG(strstr(err, "request line 3 without a request-line DMA controller (the "
	                      "platform's system DMA controller is 8237)"),
	          "%s", err);
	r.dev.opaque = NULL;
	rig_down(&r);
}
