/* The ring device: frames go end to end in loopback through descriptor rings in a common buffer;
 * a cached ring without flushes stalls on noncoherent; large frames span descriptors; scripted
 * RX; drops; faults; interrupts per event; reproducibility. */
#include <string.h>

#include "dctest.h"
#include "hw/bridge.h"
#include "hw/busmaster.h"
#include "devices/ring.h"
#include "hw/machine.h"

#define IRQ 9
#define N 8       /* entries per ring */
#define BUF 2048u /* bytes per packet buffer */

struct rig {
	struct dc_machine *m;
	struct dc_bridge *br;
	struct dc_device dev;
	uint64_t base;
	uint8_t *cb; /* common buffer: page 0 rings, then N TX buffers, then N RX buffers */
	uint64_t cb_pa;
	uint8_t *txr, *rxr; /* the rings (in cb, or cached for some tests) */
	uint32_t tx_tail, rx_tail;
};

static bool rig_init(struct rig *r, const char *platform, uint64_t seed)
{
	*r = (struct rig){0};
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return false;
	p.adv = (struct dc_adversary){0};
	if (seed)
		p.seed = seed;
	if (dc_machine_create(&p, &r->m) < 0 || dc_bridge_create(r->m, p.bridge_posted, &r->br) < 0)
		return false;
	struct dc_ring_config c = {.irq = IRQ};
	if (dc_ring_create(r->m, r->br, &c, &r->dev) < 0)
		return false;
	r->base = r->dev.res.mmio_base;
	r->cb = dc_alloc_uncached(r->m, 1 + 2 * N * BUF / DC_PAGE_SIZE, DC_ZONE_DMA32);
	if (!r->cb)
		return false;
	r->cb_pa = dc_va_to_pa(r->m, r->cb);
	r->txr = r->cb;
	r->rxr = r->cb + 2048;
	return true;
}

static void rig_fini(struct rig *r)
{
	if (r->cb)
		dc_free_uncached(r->m, r->cb, 1 + 2 * N * BUF / DC_PAGE_SIZE);
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

static uint8_t *tx_buf(struct rig *r, uint32_t i)
{
	return r->cb + DC_PAGE_SIZE + i * BUF;
}

static uint8_t *rx_buf(struct rig *r, uint32_t i)
{
	return r->cb + DC_PAGE_SIZE + (N + i) * BUF;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, status;
};

/* The driver's descriptor stores and loads, through the CPU path (cached or not). */
static void put_desc(struct rig *r, uint8_t *ring, uint32_t i, uint64_t addr, uint32_t len,
                     uint16_t flags)
{
	uint8_t b[16];
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(addr >> (8 * k));
	for (int k = 0; k < 4; k++)
		b[8 + k] = (uint8_t)(len >> (8 * k));
	b[12] = (uint8_t)flags;
	b[13] = (uint8_t)(flags >> 8);
	b[14] = b[15] = 0;
	dc_cpu_write(r->m, ring + 16 * i, b, 16);
}

static struct desc get_desc(struct rig *r, uint8_t *ring, uint32_t i)
{
	uint8_t b[16];
	dc_cpu_read(r->m, ring + 16 * i, b, 16);
	struct desc d = {0};
	for (int k = 0; k < 8; k++)
		d.addr |= (uint64_t)b[k] << (8 * k);
	for (int k = 0; k < 4; k++)
		d.len |= (uint32_t)b[8 + k] << (8 * k);
	d.flags = (uint16_t)(b[12] | b[13] << 8);
	d.status = (uint16_t)(b[14] | b[15] << 8);
	return d;
}

static void setup_rings(struct rig *r, uint32_t ctrl)
{
	uint64_t t = dc_va_to_pa(r->m, r->txr), x = dc_va_to_pa(r->m, r->rxr);
	wr(r, DC_RING_REG_TX_BASE_LO, (uint32_t)t);
	wr(r, DC_RING_REG_TX_BASE_HI, (uint32_t)(t >> 32));
	wr(r, DC_RING_REG_TX_SIZE, N);
	wr(r, DC_RING_REG_RX_BASE_LO, (uint32_t)x);
	wr(r, DC_RING_REG_RX_BASE_HI, (uint32_t)(x >> 32));
	wr(r, DC_RING_REG_RX_SIZE, N);
	wr(r, DC_RING_REG_INT_MASK, 0xF);
	wr(r, DC_RING_REG_CTRL, ctrl);
	r->tx_tail = r->rx_tail = 0;
}

/* Posts count empty RX buffers of len bytes. */
static void post_rx(struct rig *r, uint32_t count, uint32_t len)
{
	for (uint32_t k = 0; k < count; k++) {
		uint32_t i = r->rx_tail;
		put_desc(r, r->rxr, i, dc_va_to_pa(r->m, rx_buf(r, i)), len, DC_RING_DESC_OWN);
		r->rx_tail = (i + 1) % N;
	}
	wr(r, DC_RING_REG_RX_TAIL, r->rx_tail);
}

/* Queues one frame for TX in nfrag descriptors (the last with EOP), rings the doorbell. */
static void send(struct rig *r, const uint8_t *frame, uint32_t len, uint32_t nfrag)
{
	uint32_t per = (len + nfrag - 1) / nfrag, done = 0;
	for (uint32_t f = 0; f < nfrag; f++) {
		uint32_t i = r->tx_tail, l = DC_MIN(per, len - done);
		dc_cpu_write(r->m, tx_buf(r, i), frame + done, l);
		put_desc(r, r->txr, i, dc_va_to_pa(r->m, tx_buf(r, i)), l,
		         (uint16_t)(DC_RING_DESC_OWN | (f + 1 == nfrag ? DC_RING_DESC_EOP : 0)));
		done += l;
		r->tx_tail = (i + 1) % N;
	}
	wr(r, DC_RING_REG_TX_TAIL, r->tx_tail);
}

static void run(struct rig *r)
{
	while (dc_clock_step(&r->m->clock))
		;
}

static void frame_of(uint8_t *f, uint32_t len, uint32_t salt)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 13 + salt * 101 + (i >> 8));
}

/* Reads wire record k (0-based) from the backing store into f; returns its length or 0. */
static uint32_t wire_record(struct rig *r, uint32_t k, uint8_t *f)
{
	uint64_t off = 0, size = r->dev.ops->store_size(r->dev.opaque);
	for (;;) {
		uint8_t h[4];
		if (off + 4 > size || r->dev.ops->store_read(r->dev.opaque, off, h, 4) < 0)
			return 0;
		uint32_t len = (uint32_t)h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
		if (k-- == 0)
			return r->dev.ops->store_read(r->dev.opaque, off + 4, f, len) < 0 ? 0 : len;
		off += 4 + len;
	}
}

static void loopback(const char *platform)
{
	struct rig r;
	CHECK(rig_init(&r, platform, 0));
	CHECK_EQ(rd(&r, DC_RING_REG_ID), DC_RING_ID);
	setup_rings(&r, DC_RING_CTRL_ENABLE | DC_RING_CTRL_LOOPBACK);
	post_rx(&r, N - 1, BUF);
	static const uint32_t lens[] = {60, 1514, 333, 2048, 1};
	static const uint32_t frags[] = {1, 2, 1, 1, 1};
	static uint8_t f[BUF], got[BUF];
	uint32_t rx_i = 0;
	for (uint32_t k = 0; k < DC_ARRAY_SIZE(lens); k++) {
		frame_of(f, lens[k], k);
		send(&r, f, lens[k], frags[k]);
		run(&r);
		/* The ISR: read and acknowledge; then the DPC reaps both rings. */
		uint32_t is = rd(&r, DC_RING_REG_INT_STATUS);
		dct_log("  frame %u (%u bytes, %u frags): INT_STATUS %#x TX_HEAD %u RX_HEAD %u\n",
		        k, lens[k], frags[k], is, rd(&r, DC_RING_REG_TX_HEAD),
		        rd(&r, DC_RING_REG_RX_HEAD));
		CHECK_EQ(is, DC_RING_INT_TX_DONE | DC_RING_INT_RX_READY);
		CHECK(dc_irq_asserted(&r.m->irq, IRQ));
		wr(&r, DC_RING_REG_INT_STATUS, is);
		CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
		CHECK(dc_busmaster_drain(dc_ring_busmaster(r.dev.opaque)));
		struct desc d = get_desc(&r, r.rxr, rx_i);
		CHECK_EQ(d.flags, DC_RING_DESC_EOP);
		CHECK_EQ(d.status, DC_RING_DS_OK);
		CHECK_EQ(d.len, lens[k]);
		dc_cpu_read(r.m, rx_buf(&r, rx_i), got, lens[k]);
		CHECK(!memcmp(got, f, lens[k]));
		rx_i = (rx_i + 1) % N;
		post_rx(&r, 1, BUF); /* give the buffer back */
		CHECK_EQ(wire_record(&r, k, got), lens[k]);
		CHECK(!memcmp(got, f, lens[k]));
	}
	for (uint32_t i = 0; i < 6; i++)
		CHECK_EQ(get_desc(&r, r.txr, i).flags & DC_RING_DESC_OWN, 0);
	CHECK_EQ(rd(&r, DC_RING_REG_TX_FRAMES), 5);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_FRAMES), 5);
	CHECK_EQ(dc_ring_stats(r.dev.opaque)->tx_events, 5);
	CHECK_EQ(dc_ring_stats(r.dev.opaque)->rx_events, 5);
	rig_fini(&r);
}

DC_TEST(ring_loopback_end_to_end_uncached_rings_pc)
{
	loopback("pc");
}

DC_TEST(ring_loopback_end_to_end_uncached_rings_noncoherent)
{
	loopback("noncoherent");
}

/* A driver that keeps its TX ring in cached memory and flushes nothing: the device reads the
 * descriptor from memory, where OWN is not set yet, and stalls — on noncoherent only.  With a
 * clean (KeFlushIoBuffers on the common buffer, G2) it goes. */
static void cached_ring(const char *platform, bool flush, bool expect_sent)
{
	struct rig r;
	CHECK(rig_init(&r, platform, 0));
	uint8_t *cached = dc_alloc_cached(r.m, 1, DC_ZONE_DMA32, true);
	CHECK(cached);
	r.txr = cached;
	setup_rings(&r, DC_RING_CTRL_ENABLE);
	static uint8_t f[100];
	frame_of(f, sizeof(f), 7);
	uint32_t i = r.tx_tail;
	dc_cpu_write(r.m, tx_buf(&r, i), f, sizeof(f));
	put_desc(&r, r.txr, i, dc_va_to_pa(r.m, tx_buf(&r, i)), sizeof(f),
	         DC_RING_DESC_OWN | DC_RING_DESC_EOP);
	if (flush)
		dc_cpu_cache_range(r.m, r.txr, N * 16, DC_CACHE_CLEAN, false);
	r.tx_tail = 1;
	wr(&r, DC_RING_REG_TX_TAIL, 1);
	run(&r);
	uint32_t status = rd(&r, DC_RING_REG_STATUS);
	dct_log("  %s, %s: STATUS %#x, TX_FRAMES %u, stalls %llu\n", platform,
	        flush ? "flushed" : "no flush", status, rd(&r, DC_RING_REG_TX_FRAMES),
	        (unsigned long long)dc_ring_stats(r.dev.opaque)->tx_stalls);
	CHECK_EQ(rd(&r, DC_RING_REG_TX_FRAMES), expect_sent ? 1 : 0);
	CHECK_EQ(!!(status & DC_RING_STATUS_TX_STALLED), !expect_sent);
	if (expect_sent) {
		/* The device's write-back landed in memory; a cached ring needs an invalidate
		 * before the driver looks (on pc the write snooped the line). */
		dc_cpu_cache_range(r.m, r.txr, N * 16, DC_CACHE_INVAL, false);
		CHECK_EQ(get_desc(&r, r.txr, 0).flags, DC_RING_DESC_EOP);
	}
	dc_free_cached(r.m, cached, 1);
	rig_fini(&r);
}

DC_TEST(ring_cached_descriptors_without_flush_stall_on_noncoherent)
{
	cached_ring("noncoherent", false, false);
}

DC_TEST(ring_cached_descriptors_with_flush_work_on_noncoherent)
{
	cached_ring("noncoherent", true, true);
}

DC_TEST(ring_cached_descriptors_without_flush_work_on_pc)
{
	cached_ring("pc", false, true);
}

DC_TEST(ring_rx_frame_spans_descriptors)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 0));
	setup_rings(&r, DC_RING_CTRL_ENABLE);
	post_rx(&r, 2, 1024);
	static uint8_t f[2500], got[2500];
	frame_of(f, sizeof(f), 3);
	CHECK_EQ(dc_ring_inject_rx(r.dev.opaque, f, sizeof(f)), DC_OK);
	run(&r);
	/* Two buffers are not enough: the device waits, consuming nothing. */
	CHECK_EQ(rd(&r, DC_RING_REG_STATUS) & DC_RING_STATUS_RX_NOBUF, DC_RING_STATUS_RX_NOBUF);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_HEAD), 0);
	post_rx(&r, 1, 1024);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_HEAD), 3);
	static const uint32_t want_len[] = {1024, 1024, 452};
	uint32_t off = 0;
	for (uint32_t i = 0; i < 3; i++) {
		struct desc d = get_desc(&r, r.rxr, i);
		CHECK_EQ(d.len, want_len[i]);
		CHECK_EQ(d.flags, i == 2 ? DC_RING_DESC_EOP : 0);
		dc_cpu_read(r.m, rx_buf(&r, i), got + off, d.len);
		off += d.len;
	}
	CHECK(!memcmp(got, f, sizeof(f)));
	CHECK_EQ(dc_ring_inject_rx(r.dev.opaque, f, 0), DC_ERR_INVAL);
	rig_fini(&r);
}

DC_TEST(ring_scripted_rx_from_the_backing_store)
{
	struct rig r;
	CHECK(rig_init(&r, "noncoherent", 0));
	static uint8_t script[3 * (4 + 300)], f[300], got[300];
	uint64_t off = 0;
	for (uint32_t k = 0; k < 3; k++) {
		uint32_t len = 100 + 100 * k;
		script[off] = (uint8_t)len;
		script[off + 1] = (uint8_t)(len >> 8);
		script[off + 2] = script[off + 3] = 0;
		frame_of(script + off + 4, len, 10 + k);
		off += 4 + len;
	}
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, DC_RING_SCRIPT_BASE, script, off), DC_OK);
	CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, script, 4), DC_ERR_RANGE);
	setup_rings(&r, DC_RING_CTRL_ENABLE | DC_RING_CTRL_SCRIPT);
	post_rx(&r, 2, BUF);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_FRAMES), 2); /* two buffers, two frames; no drop */
	post_rx(&r, 2, BUF);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_FRAMES), 3);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_DROPPED), 0);
	for (uint32_t k = 0; k < 3; k++) {
		uint32_t len = 100 + 100 * k;
		frame_of(f, len, 10 + k);
		struct desc d = get_desc(&r, r.rxr, k);
		CHECK_EQ(d.len, len);
		dc_cpu_read(r.m, rx_buf(&r, k), got, len);
		CHECK(!memcmp(got, f, len));
	}
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 0); /* nothing transmitted */
	rig_fini(&r);
}

DC_TEST(ring_drops_when_rx_queue_overflows)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 0));
	setup_rings(&r, DC_RING_CTRL_ENABLE);
	uint8_t f[64] = {1};
	for (uint32_t k = 0; k < DC_RING_RX_QUEUE + 6; k++)
		CHECK_EQ(dc_ring_inject_rx(r.dev.opaque, f, sizeof(f)), DC_OK);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_DROPPED), 6);
	CHECK_EQ(rd(&r, DC_RING_REG_INT_STATUS), DC_RING_INT_RX_DROP);
	post_rx(&r, N - 1, BUF);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_RX_FRAMES), N - 1);
	rig_fini(&r);
}

DC_TEST(ring_injected_fault_marks_the_descriptor_and_fails_the_flush)
{
	struct rig r;
	CHECK(rig_init(&r, "pc", 0));
	setup_rings(&r, DC_RING_CTRL_ENABLE);
	static uint8_t f[500];
	frame_of(f, sizeof(f), 1);
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	send(&r, f, sizeof(f), 1);
	run(&r);
	CHECK_EQ(rd(&r, DC_RING_REG_INT_STATUS), DC_RING_INT_TX_DONE | DC_RING_INT_ERROR);
	struct desc d = get_desc(&r, r.txr, 0);
	CHECK_EQ(d.flags, DC_RING_DESC_EOP | DC_RING_DESC_ERR);
	CHECK_EQ(d.status, DC_RING_DS_DMA_ERROR);
	CHECK(!strcmp(dc_ring_dstatus_name(d.status), "dma-error"));
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 0); /* never reached the wire */
	CHECK(!dc_busmaster_drain(dc_ring_busmaster(r.dev.opaque)));
	wr(&r, DC_RING_REG_INT_STATUS, 0xF);
	send(&r, f, sizeof(f), 1);
	run(&r);
	/* Nothing read a register yet: the write-back is still posted in the bridge. */
	CHECK_EQ(get_desc(&r, r.txr, 1).flags, DC_RING_DESC_OWN | DC_RING_DESC_EOP);
	CHECK(dc_busmaster_drain(dc_ring_busmaster(r.dev.opaque)));
	CHECK_EQ(get_desc(&r, r.txr, 1).flags, DC_RING_DESC_EOP);
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 4 + sizeof(f));
	/* Reset: rings and interrupt gone, the wire log stays. */
	wr(&r, DC_RING_REG_CTRL, DC_RING_CTRL_RESET);
	CHECK_EQ(rd(&r, DC_RING_REG_TX_SIZE), 0);
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 4 + sizeof(f));
	rig_fini(&r);
}

static uint64_t ring_workload(uint64_t seed)
{
	struct rig r;
	if (!rig_init(&r, "noncoherent", seed))
		return 0;
	struct dc_rng rng;
	dc_rng_seed(&rng, seed);
	setup_rings(&r, DC_RING_CTRL_ENABLE | DC_RING_CTRL_LOOPBACK);
	post_rx(&r, N - 1, BUF);
	static uint8_t f[BUF];
	for (uint32_t k = 0; k < 30; k++) {
		uint32_t len = 1 + (uint32_t)dc_rng_below(&rng, BUF);
		frame_of(f, len, (uint32_t)dc_rng_next(&rng));
		send(&r, f, len, 1);
		run(&r);
		wr(&r, DC_RING_REG_INT_STATUS, rd(&r, DC_RING_REG_INT_STATUS));
		post_rx(&r, 1, BUF);
	}
	uint64_t h = 1469598103934665603ull, size = r.dev.ops->store_size(r.dev.opaque);
	for (uint64_t off = 0; off < size; off++) {
		uint8_t b;
		r.dev.ops->store_read(r.dev.opaque, off, &b, 1);
		h = (h ^ b) * 1099511628211ull;
	}
	h ^= r.m->clock.now + rd(&r, DC_RING_REG_RX_FRAMES) * 977;
	rig_fini(&r);
	return h;
}

DC_TEST(ring_same_seed_same_results)
{
	uint64_t a = ring_workload(5), b = ring_workload(5), c = ring_workload(6);
	dct_log("  seed 5: %016llx %016llx  seed 6: %016llx\n", (unsigned long long)a,
	        (unsigned long long)b, (unsigned long long)c);
	CHECK(a != 0);
	CHECK_EQ(a, b);
	CHECK(a != c);
}
