/* The PL080 DMA controller, programmed through its MMIO window as ARM DDI 0196 describes:
 * identification, the channel programming sequence, linked-list items, the FIFO tail held
 * until the channel is halted, terminal-count and error interrupts and their clear registers,
 * controller and channel enable, and flow control by a peripheral's request line. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "hw/pl080.h"

#define BASE UINT64_C(0x1F0000000)
#define IRQ 20u
#define BW 100000000u /* bytes per simulated second */

struct rig {
	struct dc_machine *m;
	struct dc_pl080 *d;
	int src; /* the test's own DMA source, to see memory as it is */
	/* A peripheral on request line 3: a stream out of it and a sink into it. */
	uint8_t out[8192], in[8192];
	uint32_t out_pos, out_len, in_pos, in_len;
	bool drop_when_done;
};

static const uint8_t *p_from(void *opaque, uint32_t max, uint32_t *n)
{
	struct rig *r = opaque;
	uint32_t k = DC_MIN(max, r->out_len - r->out_pos);
	const uint8_t *p = r->out + r->out_pos;
	r->out_pos += k;
	*n = k;
	if (r->out_pos == r->out_len && r->drop_when_done)
		dc_pl080_request(r->d, 3, false);
	return p;
}

static uint8_t *p_to(void *opaque, uint32_t max, uint32_t *n)
{
	struct rig *r = opaque;
	uint32_t k = DC_MIN(max, r->in_len - r->in_pos);
	uint8_t *p = r->in + r->in_pos;
	r->in_pos += k;
	*n = k;
	if (r->in_pos == r->in_len && r->drop_when_done)
		dc_pl080_request(r->d, 3, false);
	return p;
}

static const struct dc_dma_client periph = {.dack_from_device = p_from, .dack_to_device = p_to};

static bool rig_up(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct dc_platform p;
	if (dc_platform_builtin("noncoherent", &p) < 0)
		return false;
	p.sysdma_bw = BW;
	p.phys_size = UINT64_C(1) << 30; /* so that 0xFFFFF000 is outside memory */
	p.va_size = UINT64_C(1) << 30;
	if (dc_machine_create(&p, &r->m) < 0)
		return false;
	if (dc_pl080_create(r->m, BASE, IRQ, &r->d) < 0)
		return false;
	r->src = dc_machine_dma_source(r->m, "test");
	for (unsigned i = 0; i < sizeof(r->out); i++)
		r->out[i] = (uint8_t)(i * 13 + 5 + (i >> 8));
	r->drop_when_done = true;
	return dc_pl080_attach(r->d, 3, &periph, r) == DC_OK;
}

static void rig_down(struct rig *r)
{
	dc_pl080_destroy(r->d);
	dc_machine_destroy(r->m);
}

static uint32_t rd(struct rig *r, uint32_t off)
{
	return dc_bus_mmio_read(&r->m->bus, BASE + off, 4);
}

static void wr(struct rig *r, uint32_t off, uint32_t v)
{
	dc_bus_mmio_write(&r->m->bus, BASE + off, v, 4);
}

static void run_ns(struct rig *r, uint64_t ns)
{
	dc_clock_run_until(&r->m->clock, r->m->clock.now + ns);
}

static uint32_t ctl(uint32_t units, unsigned sbsize, unsigned dbsize, unsigned sw, unsigned dw,
                    bool si, bool di, bool irq)
{
	return units | sbsize << DC_PL080_CTL_SBSIZE_SHIFT | dbsize << DC_PL080_CTL_DBSIZE_SHIFT |
	       sw << DC_PL080_CTL_SWIDTH_SHIFT | dw << DC_PL080_CTL_DWIDTH_SHIFT |
	       (si ? DC_PL080_CTL_SI : 0) | (di ? DC_PL080_CTL_DI : 0) | (irq ? DC_PL080_CTL_I : 0);
}

static uint32_t ccfg(unsigned flowc, unsigned srcper, unsigned dstper, bool en)
{
	return (en ? DC_PL080_CCFG_E : 0) | srcper << DC_PL080_CCFG_SRCPER_SHIFT |
	       dstper << DC_PL080_CCFG_DSTPER_SHIFT | flowc << DC_PL080_CCFG_FLOW_SHIFT |
	       DC_PL080_CCFG_ITC | DC_PL080_CCFG_IE;
}

/* The TRM's sequence: clear pending interrupts, program the channel registers, then the
 * configuration with E set. */
static void prog(struct rig *r, unsigned ch, uint32_t s, uint32_t d, uint32_t lli, uint32_t c,
                 uint32_t cfg)
{
	wr(r, DC_PL080_INT_TC_CLEAR, 1u << ch);
	wr(r, DC_PL080_INT_ERR_CLEAR, 1u << ch);
	wr(r, DC_PL080_CH(ch) + DC_PL080_CH_SRC, s);
	wr(r, DC_PL080_CH(ch) + DC_PL080_CH_DST, d);
	wr(r, DC_PL080_CH(ch) + DC_PL080_CH_LLI, lli);
	wr(r, DC_PL080_CH(ch) + DC_PL080_CH_CONTROL, c);
	wr(r, DC_PL080_CH(ch) + DC_PL080_CH_CONFIG, cfg);
}

static void fill(struct rig *r, uint32_t pa, uint32_t n, uint8_t seed)
{
	uint8_t *b = malloc(n);
	for (uint32_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 3 + (i >> 7));
	dc_dma_write(r->m, r->src, pa, b, n);
	free(b);
}

static bool same(struct rig *r, uint32_t pa, const uint8_t *want, uint32_t n)
{
	uint8_t *b = malloc(n);
	dc_dma_read(r->m, r->src, pa, b, n);
	bool ok = !memcmp(b, want, n);
	free(b);
	return ok;
}

static bool is_zero(struct rig *r, uint32_t pa, uint32_t n)
{
	uint8_t *b = malloc(n);
	dc_dma_read(r->m, r->src, pa, b, n);
	bool ok = true;
	for (uint32_t i = 0; i < n; i++)
		ok &= b[i] == 0;
	free(b);
	return ok;
}

DC_TEST(pl080_identification_and_reset_state)
{
	struct rig r;
	CHECK(rig_up(&r));
	static const uint8_t pid[4] = {0x80, 0x10, 0x04, 0x00}, cid[4] = {0x0D, 0xF0, 0x05, 0xB1};
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(rd(&r, DC_PL080_PERIPH_ID0 + 4 * i), pid[i]);
		CHECK_EQ(rd(&r, DC_PL080_CELL_ID0 + 4 * i), cid[i]);
	}
	for (uint32_t off = 0; off <= DC_PL080_SYNC; off += 4)
		CHECK_EQ(rd(&r, off), 0);
	for (unsigned ch = 0; ch < DC_PL080_CHANNELS; ch++)
		for (uint32_t o = 0; o <= DC_PL080_CH_CONFIG; o += 4)
			CHECK_EQ(rd(&r, DC_PL080_CH(ch) + o), 0);
	CHECK(dc_pl080_from_bus(&r.m->bus) == r.d);
	struct dc_pl080 *d2 = NULL;
	CHECK_EQ(dc_pl080_create(r.m, BASE, IRQ, &d2), DC_ERR_BUSY);
	CHECK_EQ(dc_pl080_create(r.m, BASE + 4, IRQ, &d2), DC_ERR_INVAL);
	CHECK_EQ(dc_pl080_attach(r.d, 3, &periph, &r), DC_ERR_BUSY);
	CHECK_EQ(dc_pl080_attach(r.d, 16, &periph, &r), DC_ERR_INVAL);
	rig_down(&r);
}

DC_TEST(pl080_memory_to_memory_tc_interrupt_and_clear)
{
	struct rig r;
	CHECK(rig_up(&r));
	fill(&r, 0x10000, 4096, 7);
	uint8_t want[4096];
	dc_dma_read(r.m, r.src, 0x10000, want, sizeof(want));
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	CHECK_EQ(rd(&r, DC_PL080_CONFIG), 1);
	/* 1024 words, bursts of 4, word widths, both addresses incrementing, TC interrupt. */
	prog(&r, 2, 0x10000, 0x20000, 0,
	     ctl(1024, DC_PL080_BSIZE_4, DC_PL080_BSIZE_4, DC_PL080_WIDTH_32, DC_PL080_WIDTH_32,
	         true, true, true),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true));
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 1u << 2);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	/* 4096 bytes at 100 MB/s: 40.96 us.  Nothing before. */
	run_ns(&r, 40000);
	CHECK(is_zero(&r, 0x20000, 4096));
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	run_ns(&r, 1000);
	CHECK(same(&r, 0x20000, want, sizeof(want)));
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 1u << 2);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1u << 2);
	CHECK_EQ(rd(&r, DC_PL080_INT_STATUS), 1u << 2);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ));
	/* The finished channel disabled itself; its addresses moved past the data. */
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	CHECK_EQ(rd(&r, DC_PL080_CH(2) + DC_PL080_CH_SRC), 0x11000);
	CHECK_EQ(rd(&r, DC_PL080_CH(2) + DC_PL080_CH_DST), 0x21000);
	CHECK_EQ(rd(&r, DC_PL080_CH(2) + DC_PL080_CH_CONFIG) & DC_PL080_CCFG_E, 0);
	/* IntTCClear clears the bit and drops the line. */
	wr(&r, DC_PL080_INT_TC_CLEAR, 1u << 2);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	rig_down(&r);
}

DC_TEST(pl080_tc_interrupt_masked_by_itc_and_i)
{
	struct rig r;
	CHECK(rig_up(&r));
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	/* ITC clear: the raw status is set, the masked one and the line are not. */
	prog(&r, 0, 0x10000, 0x20000, 0,
	     ctl(16, 0, 0, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8, true, true, true),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true) & ~DC_PL080_CCFG_ITC);
	run_ns(&r, 100000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 1);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 0);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	/* Control.I clear: no terminal count at all. */
	prog(&r, 1, 0x10000, 0x30000, 0,
	     ctl(16, 0, 0, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8, true, true, false),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true));
	run_ns(&r, 100000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS) & 2u, 0);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	CHECK_EQ(dc_pl080_stats(r.d, 1)->dst_bytes, 16);
	rig_down(&r);
}

DC_TEST(pl080_linked_list_items)
{
	struct rig r;
	CHECK(rig_up(&r));
	fill(&r, 0x40000, 3000, 11);
	uint8_t want[3000];
	dc_dma_read(r.m, r.src, 0x40000, want, sizeof(want));
	/* Three items: 1000 bytes to 0x50000 (registers), 1000 to 0x60100, 1000 to 0x70ff0
	 * (from memory), the interrupt on the last only. */
	uint32_t c8 = ctl(0, DC_PL080_BSIZE_4, DC_PL080_BSIZE_4, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8,
	                  true, true, false);
	uint32_t lli1[4] = {0x40000 + 1000, 0x60100, 0x9010, c8 | 1000};
	uint32_t lli2[4] = {0x40000 + 2000, 0x70ff0, 0, c8 | 1000 | DC_PL080_CTL_I};
	dc_dma_write(r.m, r.src, 0x9000, lli1, sizeof(lli1));
	dc_dma_write(r.m, r.src, 0x9010, lli2, sizeof(lli2));
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	prog(&r, 5, 0x40000, 0x50000, 0x9000, c8 | 1000, ccfg(DC_PL080_FLOW_M2M, 0, 0, true));
	CHECK_EQ(rd(&r, DC_PL080_CH(5) + DC_PL080_CH_LLI), 0x9000);
	run_ns(&r, 15000); /* first item done, second under way: no interrupt yet */
	CHECK(same(&r, 0x50000, want, 1000));
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	CHECK_EQ(rd(&r, DC_PL080_CH(5) + DC_PL080_CH_LLI), 0x9010);
	run_ns(&r, 100000);
	CHECK(same(&r, 0x60100, want + 1000, 1000));
	CHECK(same(&r, 0x70ff0, want + 2000, 1000));
	CHECK_EQ(dc_pl080_stats(r.d, 5)->llis, 2);
	CHECK_EQ(dc_pl080_stats(r.d, 5)->tcs, 1);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1u << 5);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	rig_down(&r);
}

/* Peripheral to memory, 1000 bytes in destination bursts of 4 words: 62 bursts reach memory,
 * the last 8 bytes stay in the FIFO (Active) after the terminal count until the halt. */
static bool p2m_1000(struct rig *r)
{
	r->out_len = 1000;
	wr(r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	prog(r, 0, 0xDEAD0000, 0x80000, 0,
	     ctl(1000, DC_PL080_BSIZE_4, DC_PL080_BSIZE_4, DC_PL080_WIDTH_8, DC_PL080_WIDTH_32,
	         false, true, true),
	     ccfg(DC_PL080_FLOW_P2M, 3, 0, true));
	return true;
}

DC_TEST(pl080_request_line_gates_peripheral_to_memory)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	/* No request: nothing moves however long it waits. */
	run_ns(&r, 1000000);
	CHECK_EQ(r.out_pos, 0);
	struct dc_pl080_chan_state st;
	dc_pl080_state(r.d, 0, &st);
	CHECK(!st.requesting);
	CHECK_EQ(st.left, 1000);
	/* The peripheral requests: the transfer runs at the channel's rate. */
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 9000);
	CHECK_EQ(r.out_pos, 0);
	run_ns(&r, 2000);
	CHECK_EQ(r.out_pos, 1000);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1);
	rig_down(&r);
}

DC_TEST(pl080_fifo_tail_held_until_halt)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1);
	CHECK(same(&r, 0x80000, r.out, 992));
	CHECK(is_zero(&r, 0x80000 + 992, 8));
	uint32_t cfg = rd(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG);
	CHECK(cfg & DC_PL080_CCFG_A);
	CHECK(cfg & DC_PL080_CCFG_E);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 1);
	/* Time does not drain it. */
	run_ns(&r, UINT64_C(1000000000));
	CHECK(is_zero(&r, 0x80000 + 992, 8));
	/* The TRM's disable sequence: set H, poll A until 0, clear E. */
	wr(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG, cfg | DC_PL080_CCFG_H);
	CHECK_EQ(rd(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG) & DC_PL080_CCFG_A, 0);
	CHECK(same(&r, 0x80000, r.out, 1000));
	CHECK_EQ(dc_pl080_stats(r.d, 0)->drained_bytes, 8);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	rig_down(&r);
}

DC_TEST(pl080_clearing_enable_loses_the_fifo)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	uint32_t cfg = rd(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG);
	wr(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG, cfg & ~DC_PL080_CCFG_E);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	CHECK(is_zero(&r, 0x80000 + 992, 8));
	CHECK_EQ(dc_pl080_stats(r.d, 0)->lost_bytes, 8);
	rig_down(&r);
}

DC_TEST(pl080_burst_size_sets_the_tail)
{
	struct rig r;
	CHECK(rig_up(&r));
	/* Single-byte destination bursts: nothing is held back. */
	r.out_len = 1000;
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	prog(&r, 0, 0, 0x80000, 0,
	     ctl(1000, DC_PL080_BSIZE_1, DC_PL080_BSIZE_1, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8,
	         false, true, true),
	     ccfg(DC_PL080_FLOW_P2M, 3, 0, true));
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK(same(&r, 0x80000, r.out, 1000));
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	CHECK_EQ(rd(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG) & DC_PL080_CCFG_A, 0);
	rig_down(&r);
}

DC_TEST(pl080_memory_to_peripheral)
{
	struct rig r;
	CHECK(rig_up(&r));
	fill(&r, 0x30000, 2048, 99);
	uint8_t want[2048];
	dc_dma_read(r.m, r.src, 0x30000, want, sizeof(want));
	r.in_len = 2048;
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	prog(&r, 7, 0x30000, 0xDEAD0000, 0,
	     ctl(512, DC_PL080_BSIZE_4, DC_PL080_BSIZE_4, DC_PL080_WIDTH_32, DC_PL080_WIDTH_8, true,
	         false, true),
	     ccfg(DC_PL080_FLOW_M2P, 0, 3, true));
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(r.in_pos, 2048);
	CHECK(!memcmp(r.in, want, sizeof(want)));
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1u << 7);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	rig_down(&r);
}

DC_TEST(pl080_stalled_peripheral_restarts_on_request)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	r.out_len = 400; /* the device has 400 bytes now, keeps requesting */
	r.drop_when_done = false;
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(r.out_pos, 400);
	struct dc_pl080_chan_state st;
	dc_pl080_state(r.d, 0, &st);
	CHECK_EQ(st.left, 600);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	/* More data arrives; the device requests again. */
	r.out_len = 1000;
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(r.out_pos, 1000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 1);
	rig_down(&r);
}

DC_TEST(pl080_soft_request)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	/* The line stays low; a software burst request moves the transfer. */
	wr(&r, DC_PL080_SOFT_BREQ, 1u << 3);
	CHECK_EQ(rd(&r, DC_PL080_SOFT_BREQ), 1u << 3);
	run_ns(&r, 100000);
	CHECK_EQ(r.out_pos, 1000);
	CHECK_EQ(rd(&r, DC_PL080_SOFT_BREQ), 0); /* cleared by the transfer */
	rig_down(&r);
}

DC_TEST(pl080_error_interrupts)
{
	struct rig r;
	CHECK(rig_up(&r));
	p2m_1000(&r);
	r.out_len = 404; /* it has 404 bytes so far: 4 of them wait in the FIFO */
	r.drop_when_done = false;
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(r.out_pos, 404);
	CHECK(rd(&r, DC_PL080_CH(0) + DC_PL080_CH_CONFIG) & DC_PL080_CCFG_A);
	/* The peripheral answers with an error: the channel stops, its FIFO is gone. */
	dc_pl080_error(r.d, 3);
	CHECK_EQ(rd(&r, DC_PL080_RAW_ERR_STATUS), 1);
	CHECK_EQ(rd(&r, DC_PL080_INT_ERR_STATUS), 1);
	CHECK_EQ(rd(&r, DC_PL080_INT_STATUS), 1);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 0);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ));
	CHECK_EQ(dc_pl080_stats(r.d, 0)->lost_bytes, 4);
	r.out_len = 1000;
	dc_pl080_request(r.d, 3, true);
	run_ns(&r, 100000);
	CHECK_EQ(r.out_pos, 404);
	wr(&r, DC_PL080_INT_ERR_CLEAR, 1);
	CHECK_EQ(rd(&r, DC_PL080_RAW_ERR_STATUS), 0);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	/* A destination outside memory is a bus error too; IE clear masks it. */
	prog(&r, 1, 0x10000, 0xFFFFF000, 0,
	     ctl(64, 0, 0, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8, true, true, true),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true) & ~DC_PL080_CCFG_IE);
	run_ns(&r, 100000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_ERR_STATUS), 2);
	CHECK_EQ(rd(&r, DC_PL080_INT_ERR_STATUS), 0);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	/* Peripheral flow control is not modelled: enabling it is an error, not silence. */
	prog(&r, 2, 0, 0x10000, 0, ctl(64, 0, 0, 0, 0, false, true, true), ccfg(6, 3, 0, true));
	CHECK_EQ(rd(&r, DC_PL080_RAW_ERR_STATUS) & 4u, 4u);
	rig_down(&r);
}

DC_TEST(pl080_enable_disable)
{
	struct rig r;
	CHECK(rig_up(&r));
	fill(&r, 0x10000, 256, 1);
	/* Controller disabled: an enabled channel does not move. */
	prog(&r, 4, 0x10000, 0x20000, 0,
	     ctl(256, 0, 0, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8, true, true, true),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true));
	run_ns(&r, 1000000);
	CHECK(is_zero(&r, 0x20000, 256));
	/* Channel registers are not written while the channel is enabled. */
	wr(&r, DC_PL080_CH(4) + DC_PL080_CH_DST, 0x30000);
	CHECK_EQ(rd(&r, DC_PL080_CH(4) + DC_PL080_CH_DST), 0x20000);
	CHECK_EQ(dc_pl080_stats(r.d, 4)->dropped_writes, 1);
	wr(&r, DC_PL080_CONFIG, DC_PL080_CFG_E);
	run_ns(&r, 1000000);
	CHECK_EQ(dc_pl080_stats(r.d, 4)->dst_bytes, 256);
	CHECK_EQ(rd(&r, DC_PL080_INT_TC_STATUS), 1u << 4);
	/* Halt pauses a running channel; clearing H resumes it. */
	fill(&r, 0x10000, 4096, 2);
	prog(&r, 4, 0x10000, 0x20000, 0,
	     ctl(4096, 0, 0, DC_PL080_WIDTH_8, DC_PL080_WIDTH_8, true, true, true),
	     ccfg(DC_PL080_FLOW_M2M, 0, 0, true) | DC_PL080_CCFG_H);
	run_ns(&r, 1000000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	CHECK_EQ(rd(&r, DC_PL080_ENBLD_CHNS), 1u << 4);
	wr(&r, DC_PL080_CH(4) + DC_PL080_CH_CONFIG, ccfg(DC_PL080_FLOW_M2M, 0, 0, true));
	run_ns(&r, 1000000);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 1u << 4);
	/* Reset: every register back to 0. */
	dc_pl080_reset(r.d);
	CHECK_EQ(rd(&r, DC_PL080_CONFIG), 0);
	CHECK_EQ(rd(&r, DC_PL080_RAW_TC_STATUS), 0);
	CHECK_EQ(rd(&r, DC_PL080_CH(4) + DC_PL080_CH_SRC), 0);
	rig_down(&r);
}
