/* The 8237A pair and its internal buffer, programmed through its ports as a HAL does. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dctest.h"
#include "hw/i8237.h"
#include "hw/machine.h"

/* ---- A scripted device on one channel --------------------------------------------------- */

#define TDEV_MAX (256u << 10)

struct tdev {
	struct dc_i8237 *d;
	struct dc_machine *m;
	unsigned ch;
	uint8_t *src; /* device -> memory stream */
	uint32_t src_pos, src_len;
	uint8_t *dst; /* memory -> device sink */
	uint32_t dst_pos, dst_len;
	unsigned tcs;
	bool drop_dreq_when_done, quiet;
	char trace[8192];
	size_t tlen;
};

static void tlog(struct tdev *t, const char *what, uint64_t v)
{
	if (t->quiet)
		return;
	int k = snprintf(t->trace + t->tlen, sizeof(t->trace) - t->tlen,
	                 "%" PRIu64 ":%s%" PRIu64 " ", t->m->clock.now, what, v);
	if (k > 0 && t->tlen + (size_t)k < sizeof(t->trace))
		t->tlen += (size_t)k;
}

static const uint8_t *t_from(void *opaque, uint32_t max, uint32_t *n)
{
	struct tdev *t = opaque;
	uint32_t k = DC_MIN(max, t->src_len - t->src_pos);
	const uint8_t *p = t->src + t->src_pos;
	t->src_pos += k;
	*n = k;
	tlog(t, "in", k);
	if (t->src_pos == t->src_len && t->drop_dreq_when_done)
		dc_i8237_dreq(t->d, t->ch, false);
	return p;
}

static uint8_t *t_to(void *opaque, uint32_t max, uint32_t *n)
{
	struct tdev *t = opaque;
	uint32_t k = DC_MIN(max, t->dst_len - t->dst_pos);
	uint8_t *p = t->dst + t->dst_pos;
	t->dst_pos += k;
	*n = k;
	tlog(t, "out", k);
	if (t->dst_pos == t->dst_len && t->drop_dreq_when_done)
		dc_i8237_dreq(t->d, t->ch, false);
	return p;
}

static void t_tc(void *opaque)
{
	struct tdev *t = opaque;
	t->tcs++;
	tlog(t, "tc", t->tcs);
}

static const struct dc_dma_client tdev_client = {
    .dack_from_device = t_from,
    .dack_to_device = t_to,
    .tc = t_tc,
};

static void tdev_init(struct tdev *t, struct dc_machine *m, struct dc_i8237 *d, unsigned ch)
{
	memset(t, 0, sizeof(*t));
	t->m = m;
	t->d = d;
	t->ch = ch;
	t->src = malloc(TDEV_MAX);
	t->dst = calloc(1, TDEV_MAX);
	for (uint32_t i = 0; i < TDEV_MAX; i++)
		t->src[i] = (uint8_t)(i * 7 + 3 + (i >> 8));
	t->drop_dreq_when_done = true;
	dc_i8237_attach(d, ch, &tdev_client, t);
}

static void tdev_fini(struct tdev *t)
{
	free(t->src);
	free(t->dst);
}

/* ---- Machines and programming ------------------------------------------------------------ */

static struct dc_machine *mk(const char *prof, uint32_t chunk, uint32_t depth, bool wait_full,
                             struct dc_i8237 **d)
{
	struct dc_platform p;
	struct dc_machine *m = NULL;
	if (dc_platform_builtin(prof, &p) < 0)
		return NULL;
	p.sysdma_chunk = chunk;
	p.sysdma_depth = depth;
	p.sysdma_wait_full = wait_full;
	if (dc_machine_create(&p, &m) < 0)
		return NULL;
	if (dc_i8237_create(m, NULL, d) < 0) {
		dc_machine_destroy(m);
		return NULL;
	}
	return m;
}

static void rm(struct dc_machine *m, struct dc_i8237 *d)
{
	dc_i8237_destroy(d);
	dc_machine_destroy(m);
}

static void outb(struct dc_machine *m, uint32_t port, uint32_t v)
{
	dc_bus_port_write(&m->bus, port, v & 0xFF, 1);
}

static uint8_t inb(struct dc_machine *m, uint32_t port)
{
	return (uint8_t)dc_bus_port_read(&m->bus, port, 1);
}

/* The datasheet sequence a HAL uses: mask, clear flip-flop, mode, address (low, high), page,
 * count - 1 (low, high), unmask. */
static void prog(struct dc_machine *m, unsigned ch, uint8_t mode, uint64_t pa, uint32_t bytes)
{
	unsigned w = dc_i8237_width(ch);
	uint32_t a = w == 1 ? (uint32_t)(pa & 0xFFFF) : (uint32_t)((pa >> 1) & 0xFFFF);
	uint32_t cnt = bytes / w - 1;
	outb(m, dc_i8237_port(ch, DC_I8237_REG_MASK), DC_I8237_MASK_SET | (ch & 3));
	outb(m, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	outb(m, dc_i8237_port(ch, DC_I8237_REG_MODE), mode | (ch & 3));
	outb(m, dc_i8237_port_addr(ch), a);
	outb(m, dc_i8237_port_addr(ch), a >> 8);
	outb(m, dc_i8237_port_page(ch), (uint32_t)(pa >> 16));
	outb(m, dc_i8237_port_count(ch), cnt);
	outb(m, dc_i8237_port_count(ch), cnt >> 8);
	outb(m, dc_i8237_port(ch, DC_I8237_REG_MASK), ch & 3);
}

static uint16_t read_count(struct dc_machine *m, unsigned ch)
{
	outb(m, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	uint16_t lo = inb(m, dc_i8237_port_count(ch));
	return (uint16_t)(lo | inb(m, dc_i8237_port_count(ch)) << 8);
}

static uint16_t read_addr(struct dc_machine *m, unsigned ch)
{
	outb(m, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	uint16_t lo = inb(m, dc_i8237_port_addr(ch));
	return (uint16_t)(lo | inb(m, dc_i8237_port_addr(ch)) << 8);
}

static void run_for(struct dc_machine *m, uint64_t ns)
{
	dc_clock_run_until(&m->clock, m->clock.now + ns);
}

static void draw(struct dc_i8237 *d, unsigned ch, const struct tdev *t, const char *when)
{
	struct dc_i8237_chan_state s;
	dc_i8237_state(d, ch, &s);
	dct_log("  %-22s device[in %5u out %5u]  ==>  ch%u buf[%4u %s]  ==>  memory  "
	        "(addr %04x count %04x mask %d)\n",
	        when, t->src_pos, t->dst_pos, ch, s.residue,
	        s.residue ? dc_dir_name(s.buf_dir) : "-", s.cur_addr, s.cur_count, s.masked);
}

static uint8_t *isa_buf(struct dc_machine *m, uint64_t pages, uint64_t *pa)
{
	uint8_t *p = dc_alloc_uncached(m, pages, DC_ZONE_ISA);
	if (p) {
		memset(p, 0xEE, pages * DC_PAGE_SIZE);
		*pa = dc_va_to_pa(m, p);
	}
	return p;
}

/* ---- Tests ------------------------------------------------------------------------------- */

DC_TEST(i8237_device_to_memory_residue_waits_for_drain)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("noncoherent", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	t.src_len = 100;
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_SINGLE | DC_I8237_MODE_WRITE, pa, 100);
	draw(d, 2, &t, "programmed");
	run_for(m, 1000000);
	draw(d, 2, &t, "after TC");
	/* 100 = one full 64-byte buffer + 36 bytes that never filled it. */
	CHECK_EQ(t.src_pos, 100);
	CHECK_EQ(t.tcs, 1);
	CHECK(!memcmp(buf, t.src, 64));
	CHECK_EQ(buf[64], 0xEE);
	CHECK_EQ(buf[99], 0xEE);
	struct dc_i8237_chan_state s;
	dc_i8237_state(d, 2, &s);
	CHECK_EQ(s.residue, 36);
	CHECK_EQ(read_count(m, 2), 0xFFFF); /* the count says: all moved */
	CHECK(dc_i8237_flush(d, 2));
	draw(d, 2, &t, "after drain");
	CHECK(!memcmp(buf, t.src, 100));
	CHECK_EQ(buf[100], 0xEE);
	dc_i8237_state(d, 2, &s);
	CHECK_EQ(s.residue, 0);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_residue_is_chunk_remainder_without_wait_full)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, false, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 1);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	t.src_len = 100;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 100);
	run_for(m, 1000000);
	draw(d, 1, &t, "after TC");
	CHECK(!memcmp(buf, t.src, 96));
	CHECK_EQ(buf[96], 0xEE);
	CHECK(dc_i8237_flush(d, 1));
	CHECK(!memcmp(buf, t.src, 100));
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_memory_to_device_short_until_drain)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("noncoherent", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 3);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	for (unsigned i = 0; i < 200; i++)
		buf[i] = (uint8_t)(i ^ 0x5A);
	t.dst_len = 200;
	dc_i8237_dreq(d, 3, true);
	prog(m, 3, DC_I8237_MODE_DEMAND | DC_I8237_MODE_READ, pa, 200);
	run_for(m, 1000000);
	draw(d, 3, &t, "after TC");
	/* Three full buffers reached the device; 8 bytes wait in the controller. */
	CHECK_EQ(t.tcs, 1);
	CHECK_EQ(t.dst_pos, 192);
	CHECK(!memcmp(t.dst, buf, 192));
	CHECK(dc_i8237_flush(d, 3));
	draw(d, 3, &t, "after drain");
	CHECK_EQ(t.dst_pos, 200);
	CHECK(!memcmp(t.dst, buf, 200));
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_tc_status_set_then_cleared_by_read)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint64_t pa;
	CHECK(isa_buf(m, 1, &pa));
	t.src_len = 64;
	t.drop_dreq_when_done = false; /* keep DREQ: status bit 6 must show it */
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_SINGLE | DC_I8237_MODE_WRITE, pa, 64);
	CHECK_EQ(inb(m, 0x08), 0x40); /* requesting, no TC yet */
	run_for(m, 1000000);
	CHECK_EQ(inb(m, 0x08), 0x44); /* TC on channel 2, still requesting */
	CHECK_EQ(inb(m, 0x08), 0x40); /* the read cleared TC */
	/* No auto-initialize: terminal count set the mask bit (read back on port 0x0F). */
	CHECK_EQ(inb(m, 0x0F) & 0x04, 0x04);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_autoinit_reloads_at_tc)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 8, 1, false, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 1);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	t.src_len = 80;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE | DC_I8237_MODE_AUTOINIT, pa, 32);
	run_for(m, 1000000);
	draw(d, 1, &t, "80 bytes through 32");
	CHECK(dc_i8237_flush(d, 1));
	CHECK_EQ(t.tcs, 2);
	CHECK(!memcmp(buf, t.src + 64, 16));
	CHECK(!memcmp(buf + 16, t.src + 48, 16));
	CHECK_EQ(buf[32], 0xEE);
	CHECK_EQ(read_addr(m, 1), (uint16_t)((pa & 0xFFFF) + 16));
	CHECK_EQ(read_count(m, 1), 15);
	CHECK_EQ(inb(m, 0x0F) & 0x02, 0); /* auto-initialize never masks */
	CHECK_EQ(inb(m, 0x08) & 0x02, 0x02);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_count_readback_mid_transfer)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d); /* 4 MB/s: 250 ns a byte */
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 3);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	t.src_len = 4000;
	dc_i8237_dreq(d, 3, true);
	prog(m, 3, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 4000);
	run_for(m, 250000);
	draw(d, 3, &t, "at 250 us");
	CHECK_EQ(read_count(m, 3), 4000 - 1 - 1000);
	CHECK_EQ(read_addr(m, 3), (uint16_t)((pa & 0xFFFF) + 1000));
	CHECK_EQ(t.src_pos, 1000);
	/* What reached memory: the 15 whole 64-byte buffers; 40 bytes wait in the controller. */
	CHECK(!memcmp(buf, t.src, 960));
	CHECK_EQ(buf[960], 0xEE);
	run_for(m, 10000000);
	CHECK_EQ(read_count(m, 3), 0xFFFF);
	CHECK(dc_i8237_flush(d, 3));
	CHECK(!memcmp(buf, t.src, 4000));
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_single_mode_runs_at_half_rate)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint64_t pa;
	CHECK(isa_buf(m, 1, &pa));
	t.src_len = 4000;
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_SINGLE | DC_I8237_MODE_WRITE, pa, 4000);
	run_for(m, 250000);
	CHECK_EQ(read_count(m, 2), 4000 - 1 - 500);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_sixteen_bit_channel_words_and_page)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("noncoherent", 16, 4, false, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 5);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 2, &pa);
	CHECK(buf);
	t.src_len = 200;
	dc_i8237_dreq(d, 5, true);
	/* Page bit 0 is not an address bit on a 16-bit channel: set it to prove it is ignored. */
	prog(m, 5, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 200);
	outb(m, dc_i8237_port_page(5), (uint32_t)(pa >> 16) | 1);
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 5));
	CHECK_EQ(t.src_pos, 200);
	CHECK(!memcmp(buf, t.src, 200));
	CHECK_EQ(buf[200], 0xEE);
	CHECK_EQ(read_count(m, 5), 0xFFFF);
	CHECK_EQ(read_addr(m, 5), (uint16_t)(((pa >> 1) & 0xFFFF) + 100)); /* words */
	CHECK_EQ(inb(m, 0xD0) & 0x02, 0x02);                               /* TC bit of ch5 */
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_address_wraps_inside_128k_page)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, false, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 6);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 64, &pa); /* 256 KiB: holds one whole 128 KiB page */
	CHECK(buf);
	uint64_t page = (pa + 0x1FFFF) & ~UINT64_C(0x1FFFF);
	uint8_t *pg = buf + (page - pa);
	uint64_t start = page + 0x20000 - 32; /* word address 0xFFF0 */
	t.src_len = 64;
	dc_i8237_dreq(d, 6, true);
	prog(m, 6, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, start, 64);
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 6));
	dct_log("  page %#" PRIx64 ": 32 bytes at its end, then the address wraps to its start\n",
	        page);
	CHECK(!memcmp(pg + 0x20000 - 32, t.src, 32));
	CHECK(!memcmp(pg, t.src + 32, 32));
	CHECK_EQ(pg[0x20000], 0xEE);
	CHECK_EQ(read_addr(m, 6), 0x0010);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_decrement_mode_both_widths)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 8, 1, false, &d);
	CHECK(m);
	struct tdev t1, t5;
	tdev_init(&t1, m, d, 1);
	tdev_init(&t5, m, d, 5);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	/* 8-bit, device -> memory, going down from pa + 99: stream byte k lands at 99 - k. */
	t1.src_len = 40;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE | DC_I8237_MODE_DECREMENT, pa + 99,
	     40);
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 1));
	for (unsigned k = 0; k < 40; k++)
		CHECK_EQ(buf[99 - k], t1.src[k]);
	CHECK_EQ(buf[59], 0xEE);
	CHECK_EQ(buf[100], 0xEE);
	CHECK_EQ(read_addr(m, 1), (uint16_t)((pa & 0xFFFF) + 59));
	/* 16-bit, memory -> device, going down by words from pa + 2000: word k comes from
	 * pa + 2000 - 2k, its bytes in their usual order. */
	for (unsigned i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 5 + 1);
	t5.dst_len = 100;
	dc_i8237_dreq(d, 5, true);
	prog(m, 5, DC_I8237_MODE_DEMAND | DC_I8237_MODE_READ | DC_I8237_MODE_DECREMENT, pa + 2000,
	     100);
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 5));
	CHECK_EQ(t5.dst_pos, 100);
	for (unsigned k = 0; k < 50; k++) {
		CHECK_EQ(t5.dst[2 * k], buf[2000 - 2 * k]);
		CHECK_EQ(t5.dst[2 * k + 1], buf[2001 - 2 * k]);
	}
	tdev_fini(&t1);
	tdev_fini(&t5);
	rm(m, d);
}

DC_TEST(i8237_eisa_high_page_reaches_above_16m)
{
	struct dc_platform p;
	struct dc_machine *m = NULL;
	struct dc_i8237 *d = NULL;
	CHECK(dc_platform_builtin("pc", &p) == DC_OK);
	p.sysdma_addr_bits = 32;
	CHECK(dc_machine_create(&p, &m) == DC_OK);
	CHECK(dc_i8237_create(m, NULL, &d) == DC_OK);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint8_t *buf = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(buf);
	memset(buf, 0xEE, 256);
	uint64_t pa = dc_va_to_pa(m, buf);
	CHECK(pa >= (16u << 20));
	/* A page write clears the high page, so write it last. */
	outb(m, dc_i8237_port_hpage(2), 0x5A);
	outb(m, dc_i8237_port_page(2), 0x00);
	CHECK_EQ(inb(m, dc_i8237_port_hpage(2)), 0);
	t.src_len = 128;
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 128);
	outb(m, dc_i8237_port_hpage(2), (uint32_t)(pa >> 24));
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 2));
	CHECK(!memcmp(buf, t.src, 128));
	CHECK_EQ(buf[128], 0xEE);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_hal_helpers_program_through_ports)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 5);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	CHECK_EQ(dc_i8237_hal_program(d, 4, 0, pa, 64), DC_ERR_INVAL);
	CHECK_EQ(dc_i8237_hal_program(d, 5, 0, pa + 1, 64), DC_ERR_INVAL);
	CHECK_EQ(dc_i8237_hal_program(d, 5, 0, pa, 3), DC_ERR_INVAL);
	CHECK_EQ(dc_i8237_hal_program(d, 1, 0, 0x1FFF0, 32), DC_ERR_RANGE);  /* crosses 128 KiB */
	CHECK_EQ(dc_i8237_hal_program(d, 5, 0, 0x1FFF0, 32), DC_ERR_RANGE);  /* crosses 128 KiB */
	CHECK_EQ(dc_i8237_hal_program(d, 5, 0, 0x3FFF0, 16), DC_OK);         /* ends at it */
	CHECK_EQ(dc_i8237_hal_program(d, 1, 0, 0xFFFFF0, 32), DC_ERR_RANGE); /* past 16 MiB */
	t.src_len = 1000;
	dc_i8237_dreq(d, 5, true);
	CHECK_EQ(dc_i8237_hal_program(d, 5, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 1000),
	         DC_OK);
	CHECK_EQ(dc_i8237_hal_read_counter(d, 5), 1000);
	run_for(m, 100000); /* 400 bytes at 4 MB/s */
	CHECK_EQ(dc_i8237_hal_read_counter(d, 5), 600);
	run_for(m, 1000000);
	CHECK_EQ(dc_i8237_hal_read_counter(d, 5), 0);
	CHECK(dc_i8237_hal_flush(d, 5));
	CHECK(!memcmp(buf, t.src, 1000));
	CHECK_EQ(inb(m, 0xDE) & 0x02, 0x02); /* masked */
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_flipflop_sequences_bytes)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	outb(m, 0x0C, 0);
	outb(m, 0x02, 0x34);
	outb(m, 0x02, 0x12);
	CHECK_EQ(read_addr(m, 1), 0x1234);
	/* One read leaves the flip-flop on the high byte: the next write lands there. */
	outb(m, 0x0C, 0);
	CHECK_EQ(inb(m, 0x02), 0x34);
	outb(m, 0x02, 0x56);
	CHECK_EQ(read_addr(m, 1), 0x5634);
	/* Address and count share the flip-flop. */
	outb(m, 0x0C, 0);
	outb(m, 0x02, 0x00);
	outb(m, 0x03, 0x99); /* high byte of the count */
	CHECK_EQ(read_count(m, 1) >> 8, 0x99);
	/* Master clear clears the flip-flop and masks every channel of the controller. */
	inb(m, 0x02);
	outb(m, 0x0D, 0);
	CHECK_EQ(inb(m, 0x0F), 0xFF);
	CHECK_EQ(inb(m, 0x02), 0x00); /* low byte first again (0x5600 now) */
	rm(m, d);
}

DC_TEST(i8237_mask_stops_and_resumes)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 1);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	t.src_len = 4000;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 4000);
	run_for(m, 250000);
	outb(m, 0x0A, DC_I8237_MASK_SET | 1);
	draw(d, 1, &t, "masked at 1000");
	run_for(m, 10000000);
	draw(d, 1, &t, "10 ms later");
	CHECK_EQ(t.src_pos, 1000);
	CHECK_EQ(read_count(m, 1), 2999);
	CHECK_EQ(t.tcs, 0);
	outb(m, 0x0A, 1);
	run_for(m, 10000000);
	CHECK_EQ(t.tcs, 1);
	CHECK(dc_i8237_flush(d, 1));
	CHECK(!memcmp(buf, t.src, 4000));
	/* Masking channel 4 (the cascade) silences all of controller 1. */
	t.src_pos = 0;
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 4000);
	dc_i8237_dreq(d, 1, true);
	outb(m, 0xD4, DC_I8237_MASK_SET | 0);
	run_for(m, 10000000);
	CHECK_EQ(t.src_pos, 0);
	outb(m, 0xD4, 0);
	run_for(m, 10000000);
	CHECK_EQ(t.src_pos, 4000);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_block_mode_and_software_request)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, false, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 1, &pa);
	CHECK(buf);
	/* Block mode: DREQ starts it; the device runs dry after 40 bytes, the block goes on to TC
	 * with open-bus bytes. */
	t.src_len = 40;
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_BLOCK | DC_I8237_MODE_WRITE, pa, 64);
	run_for(m, 1000000);
	CHECK(dc_i8237_flush(d, 2));
	CHECK_EQ(t.tcs, 1);
	CHECK(!memcmp(buf, t.src, 40));
	CHECK_EQ(buf[40], 0xFF);
	CHECK_EQ(buf[63], 0xFF);
	CHECK_EQ(buf[64], 0xEE);
	/* A software request on a masked block-mode channel (requests are not maskable) in verify
	 * mode: addresses and count run, memory is untouched. */
	memset(buf, 0xEE, 128);
	prog(m, 2, DC_I8237_MODE_BLOCK | DC_I8237_MODE_VERIFY, pa, 64);
	outb(m, 0x0A, DC_I8237_MASK_SET | 2);
	outb(m, 0x09, DC_I8237_REQ_SET | 2);
	run_for(m, 1000000);
	CHECK_EQ(inb(m, 0x08) & 0x04, 0x04);
	CHECK_EQ(read_count(m, 2), 0xFFFF);
	CHECK_EQ(buf[0], 0xEE);
	/* In demand mode a software request is ignored. */
	prog(m, 2, DC_I8237_MODE_DEMAND | DC_I8237_MODE_VERIFY, pa, 64);
	dc_i8237_dreq(d, 2, false);
	outb(m, 0x09, DC_I8237_REQ_SET | 2);
	run_for(m, 1000000);
	CHECK_EQ(read_count(m, 2), 63);
	tdev_fini(&t);
	rm(m, d);
}

/* Bug 4 of the spec: the driver skips FlushAdapterBuffers and programs the next transfer. */
static void reprogram_without_drain(enum dc_i8237_residue policy, uint8_t *out_a99, uint64_t *lost,
                                    uint64_t *late)
{
	struct dc_platform p;
	struct dc_machine *m = NULL;
	struct dc_i8237 *d = NULL;
	struct dc_i8237_cfg cfg = {.residue = policy};
	dc_platform_builtin("pc", &p);
	*out_a99 = 0;
	if (dc_machine_create(&p, &m) < 0)
		return;
	if (dc_i8237_create(m, &cfg, &d) < 0) {
		dc_machine_destroy(m);
		return;
	}
	struct tdev t;
	tdev_init(&t, m, d, 1);
	uint64_t pa, pb;
	uint8_t *a = isa_buf(m, 1, &pa), *b = isa_buf(m, 1, &pb);
	t.src_len = 100;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 100);
	run_for(m, 1000000);
	t.src_len = 200;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pb, 100);
	run_for(m, 1000000);
	*out_a99 = a[99];
	(void)b;
	*lost = dc_i8237_stats(d, 1)->lost_bytes;
	*late = dc_i8237_stats(d, 1)->late_bytes;
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_reprogram_without_drain_keep_or_lose)
{
	uint8_t a99;
	uint64_t lost, late;
	reprogram_without_drain(DC_I8237_RESIDUE_KEEP, &a99, &lost, &late);
	/* KEEP: the first transfer's tail lands late, with the second transfer's first buffer. */
	CHECK_EQ(late, 36);
	CHECK_EQ(lost, 0);
	CHECK_EQ(a99, (uint8_t)(99 * 7 + 3));
	reprogram_without_drain(DC_I8237_RESIDUE_LOSE, &a99, &lost, &late);
	CHECK_EQ(lost, 36);
	CHECK_EQ(a99, 0xEE);
}

DC_TEST(i8237_to_device_tail_mixes_into_next_transfer)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d); /* KEEP by default */
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 1);
	uint64_t pa, pb;
	uint8_t *a = isa_buf(m, 1, &pa), *b = isa_buf(m, 1, &pb);
	CHECK(a && b);
	for (unsigned i = 0; i < 256; i++) {
		a[i] = (uint8_t)(0xA0 + i);
		b[i] = (uint8_t)(0x10 + i);
	}
	t.dst_len = 200;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_READ, pa, 200);
	run_for(m, 1000000);
	CHECK_EQ(t.dst_pos, 192);
	draw(d, 1, &t, "first: 8 held");
	/* No drain: the driver programs the next transfer. */
	t.dst_pos = 0;
	t.dst_len = 128;
	dc_i8237_dreq(d, 1, true);
	prog(m, 1, DC_I8237_MODE_DEMAND | DC_I8237_MODE_READ, pb, 128);
	run_for(m, 1000000);
	draw(d, 1, &t, "second");
	CHECK_EQ(t.dst_pos, 128);
	CHECK(!memcmp(t.dst, a + 192, 8));
	CHECK(!memcmp(t.dst + 8, b, 120));
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_device_error_fails_the_drain)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 2);
	uint64_t pa;
	CHECK(isa_buf(m, 1, &pa));
	t.src_len = 10;
	dc_i8237_dreq(d, 2, true);
	prog(m, 2, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa, 10);
	run_for(m, 1000000);
	dc_i8237_error(d, 2);
	CHECK(!dc_i8237_flush(d, 2));
	CHECK(dc_i8237_flush(d, 2)); /* reported once */
	CHECK_EQ(dc_i8237_stats(d, 2)->failed_drains, 1);
	tdev_fini(&t);
	rm(m, d);
}

DC_TEST(i8237_finds_itself_on_the_bus)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	CHECK(dc_i8237_from_bus(&m->bus) == d);
	/* The BIOS state: channel 4 in cascade mode and unmasked, the rest masked. */
	CHECK_EQ(inb(m, 0xDE) & 0x0F, 0x0E);
	CHECK_EQ(inb(m, 0x0F) & 0x0F, 0x0F);
	struct dc_i8237 *d2;
	CHECK_EQ(dc_i8237_create(m, NULL, &d2), DC_ERR_BUSY);
	rm(m, d);
	/* A taken page-register window: nothing is claimed, not even the free windows. */
	struct dc_platform p;
	CHECK(dc_platform_builtin("pc", &p) == DC_OK);
	CHECK(dc_machine_create(&p, &m) == DC_OK);
	static const struct dc_io_ops none = {0};
	CHECK(dc_bus_add_ports(&m->bus, 0x80, 1, &none, NULL, "post") == DC_OK);
	CHECK_EQ(dc_i8237_create(m, NULL, &d2), DC_ERR_BUSY);
	CHECK(!dc_i8237_from_bus(&m->bus));
	CHECK_EQ(m->bus.n_port, 1);
	dc_machine_destroy(m);
}

/* Whatever the buffer geometry, mode, width, direction and interruptions (masking, count
 * reads, DREQ pauses), a transfer followed by a drain moves exactly the programmed bytes. */
DC_TEST(i8237_random_geometries_lose_nothing)
{
	static const unsigned chans[] = {0, 1, 2, 3, 5, 6, 7};
	static const uint8_t msels[] = {DC_I8237_MODE_DEMAND, DC_I8237_MODE_SINGLE,
	                                DC_I8237_MODE_BLOCK};
	struct dc_rng g;
	uint64_t seed = 0x5eed8237;
	dc_rng_seed(&g, seed);
	for (int iter = 0; iter < 300; iter++) {
		uint32_t chunk = 8u << dc_rng_below(&g, 5);
		uint32_t depth = 1 + (uint32_t)dc_rng_below(&g, 6);
		bool wf = dc_rng_below(&g, 2);
		struct dc_i8237 *d;
		struct dc_machine *m =
		    mk(dc_rng_below(&g, 2) ? "pc" : "noncoherent", chunk, depth, wf, &d);
		CHECK(m);
		unsigned ch = chans[dc_rng_below(&g, 7)];
		unsigned w = dc_i8237_width(ch);
		bool to_dev = dc_rng_below(&g, 2);
		uint8_t msel = msels[dc_rng_below(&g, 3)];
		uint32_t n = w * (1 + (uint32_t)dc_rng_below(&g, 3000));
		struct tdev t;
		tdev_init(&t, m, d, ch);
		t.quiet = true;
		uint64_t pa;
		uint8_t *buf = isa_buf(m, 2, &pa);
		CHECK(buf);
		for (uint32_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(i * 11 + (unsigned)iter);
		t.src_len = t.dst_len = n;
		dc_i8237_dreq(d, ch, true);
		prog(m, ch, msel | (to_dev ? DC_I8237_MODE_READ : DC_I8237_MODE_WRITE), pa, n);
		for (int k = 0; k < 4; k++) {
			run_for(m, dc_rng_below(&g, 400000));
			switch (dc_rng_below(&g, 3)) {
			case 0: { /* masked for a while (unless TC masked it for good) */
				struct dc_i8237_chan_state st;
				dc_i8237_state(d, ch, &st);
				outb(m, dc_i8237_port(ch, DC_I8237_REG_MASK),
				     DC_I8237_MASK_SET | (ch & 3));
				run_for(m, dc_rng_below(&g, 100000));
				if (!st.masked)
					outb(m, dc_i8237_port(ch, DC_I8237_REG_MASK), ch & 3);
				break;
			}
			case 1:
				read_count(m, ch);
				break;
			default: /* the device pauses */
				if (msel != DC_I8237_MODE_BLOCK) {
					dc_i8237_dreq(d, ch, false);
					run_for(m, dc_rng_below(&g, 100000));
					dc_i8237_dreq(d, ch, true);
				}
				break;
			}
		}
		run_for(m, 100000000);
		bool ok = dc_i8237_flush(d, ch);
		bool same = to_dev ? t.dst_pos == n && !memcmp(t.dst, buf, n)
		                   : t.src_pos == n && !memcmp(buf, t.src, n);
		unsigned tcs = t.tcs;
		tdev_fini(&t);
		rm(m, d);
		CHECK_MSG(ok && same && tcs == 1,
		          "seed %#" PRIx64 " iter %d: ch%u %s %s n=%u chunk=%u depth=%u "
		          "wait_full=%d (ok %d same %d tcs %u)",
		          seed, iter, ch, dc_i8237_msel_name((enum dc_i8237_msel)(msel >> 6)),
		          to_dev ? "to-device" : "from-device", n, chunk, depth, wf, ok, same, tcs);
	}
}

/* Same seed, same workload => same event order and same bytes. */
static uint64_t seeded_run(uint64_t seed, char *trace, size_t cap)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("noncoherent", 16, 4, true, &d);
	if (!m)
		return 0;
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	struct tdev t1, t5;
	tdev_init(&t1, m, d, 1);
	tdev_init(&t5, m, d, 5);
	uint64_t pa1, pa5;
	uint8_t *b1 = isa_buf(m, 4, &pa1), *b5 = isa_buf(m, 4, &pa5);
	uint64_t h = 1469598103934665603ull;
	for (int round = 0; round < 20; round++) {
		uint32_t n1 = 1 + (uint32_t)dc_rng_below(&r, 8000);
		uint32_t n5 = 2 * (1 + (uint32_t)dc_rng_below(&r, 4000));
		bool to1 = dc_rng_below(&r, 2);
		uint8_t msel = (uint8_t)(dc_rng_below(&r, 2) ? DC_I8237_MODE_SINGLE : 0);
		t1.src_pos = t1.dst_pos = t5.src_pos = 0;
		t1.src_len = t1.dst_len = n1;
		t5.src_len = n5;
		dc_i8237_dreq(d, 1, true);
		dc_i8237_dreq(d, 5, true);
		prog(m, 1, msel | (to1 ? DC_I8237_MODE_READ : DC_I8237_MODE_WRITE), pa1, n1);
		prog(m, 5, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE, pa5, n5);
		run_for(m, dc_rng_below(&r, 3000000));
		uint16_t c1 = read_count(m, 1);
		run_for(m, 10000000);
		dc_i8237_flush(d, 1);
		dc_i8237_flush(d, 5);
		for (uint32_t i = 0; i < n5; i++)
			h = (h ^ b5[i]) * 1099511628211ull;
		for (uint32_t i = 0; i < n1; i++)
			h = (h ^ (to1 ? t1.dst[i] : b1[i])) * 1099511628211ull;
		h = (h ^ c1) * 1099511628211ull;
	}
	snprintf(trace, cap, "%s|%s|%" PRIu64, t1.trace, t5.trace, m->clock.events_run);
	tdev_fini(&t1);
	tdev_fini(&t5);
	rm(m, d);
	return h;
}

DC_TEST(i8237_same_seed_same_run)
{
	static char a[20000], b[20000];
	uint64_t seed = 0x8237;
	uint64_t ha = seeded_run(seed, a, sizeof(a));
	uint64_t hb = seeded_run(seed, b, sizeof(b));
	dct_log("  seed %#" PRIx64 ": hash %#" PRIx64 " / %#" PRIx64 "\n", seed, ha, hb);
	CHECK(ha != 0);
	CHECK_EQ(ha, hb);
	CHECK(!strcmp(a, b));
}

/* Host cost: one auto-initialize channel moving 64 MiB through a 64 KiB ring vs memcpy. */
DC_TEST(i8237_throughput_vs_memcpy)
{
	struct dc_i8237 *d;
	struct dc_machine *m = mk("pc", 16, 4, true, &d);
	CHECK(m);
	struct tdev t;
	tdev_init(&t, m, d, 5);
	uint64_t pa;
	uint8_t *buf = isa_buf(m, 16, &pa);
	CHECK(buf);
	const uint64_t total = 64u << 20, pass = 64u << 10;
	memcpy(buf, t.src, pass); /* both sides start with the pages touched */
	dc_i8237_dreq(d, 5, true);
	t.drop_dreq_when_done = false;
	t.quiet = true;
	t.src_len = TDEV_MAX;
	prog(m, 5, DC_I8237_MODE_DEMAND | DC_I8237_MODE_WRITE | DC_I8237_MODE_AUTOINIT, pa, pass);
	double best_dma = 1e9, best_mc = 1e9;
	uint64_t moved = 0;
	for (int round = 0; round < 3; round++) {
		struct timespec a, b;
		uint64_t got = 0;
		clock_gettime(CLOCK_MONOTONIC, &a);
		while (got < total) {
			t.src_pos = 0;
			uint64_t before = dc_i8237_stats(d, 5)->dev_bytes;
			run_for(m, (uint64_t)((double)TDEV_MAX / 4e6 * 1e9) - 1000);
			got += dc_i8237_stats(d, 5)->dev_bytes - before;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		double dma = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
		best_dma = DC_MIN(best_dma, dma / (double)got);
		moved += got;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (uint64_t k = 0; k < got; k += pass)
			memcpy(buf, t.src + (k % (TDEV_MAX - pass)), pass);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double mc = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
		best_mc = DC_MIN(best_mc, mc / (double)got);
	}
	dct_log("  sysdma %.0f MB/s, memcpy %.0f MB/s (ratio %.2f; best of 3 rounds of %" PRIu64
	        " MiB)\n",
	        1e-6 / best_dma, 1e-6 / best_mc, best_mc / best_dma, total >> 20);
	CHECK(moved >= total);
	tdev_fini(&t);
	rm(m, d);
}
