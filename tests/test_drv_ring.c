/* examples/drivers/ring.c and ring-uncached.c (flow 5.4: common-buffer bus master, descriptor
 * rings in one common buffer, loopback) on the ring device on every built-in platform: frames
 * of every size class (one RX buffer, several, the largest) come back byte for byte, several
 * seeds; frames wait in the ring until read; a too-small read keeps the frame; bad requests,
 * the capacity IOCTL, failed TX and RX transfers; the cached driver's G2 flushes and the
 * uncached one's none; the kernel's events audited for API misuse throughout; and each buggy
 * twin doing its one mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/machine.h"
#include "hw/rng.h"
#include "bm_audit.h"
#include "kflow.h"

#define RING_MAX_FRAME 9216

static const char *const ring_drivers[] = {"ring", "ring-uncached"};

struct ring_count {
	struct audit audit;
	unsigned ke_dma, ke_pio, commons, commons_cached;
};

static void ring_kev(void *opaque, const struct dc_kev *e)
{
	struct ring_count *c = opaque;
	audit_kev(&c->audit, e);
	if (e->type == DC_KEV_KE_FLUSH) {
		if (e->flags & DC_KEVF_DMA)
			c->ke_dma++;
		else
			c->ke_pio++;
	} else if (e->type == DC_KEV_COMMON_ALLOC && e->va) {
		c->commons++;
		c->commons_cached += !!(e->flags & DC_KEVF_CACHED);
	}
}

static const struct dc_observer ring_observer = {.kev = ring_kev};

static int ring_open(struct kf *k, struct ring_count *c, const char *plat, uint64_t seed,
                     const char *driver)
{
	memset(c, 0, sizeof(*c));
	return kf_open_observed(k, NULL, plat, seed, &ring_observer, c, "ring", NULL, driver);
}

/* An application buffer holding a seeded frame (or poison, for reads). */
struct ring_buf {
	uint8_t *va;
	uint8_t *want;
	ULONG len;
	PIRP irp;
};

static bool ring_buf_init(struct kf *k, struct ring_buf *b, ULONG len, uint32_t boff, uint64_t seed,
                          bool frame)
{
	struct dc_machine *m = dc_sys_machine(k->s);
	memset(b, 0, sizeof(*b));
	b->len = len;
	b->va = dc_sys_alloc_buffer(k->s, len, boff % 4096, DC_ZONE_ANY);
	b->want = malloc(len);
	if (!b->va || !b->want)
		return false;
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	for (ULONG i = 0; i < len; i++)
		b->want[i] = (uint8_t)dc_rng_next(&r);
	if (frame)
		dc_cpu_write(m, b->va, b->want, len);
	else
		dc_cpu_fill(m, b->va, 0x5A, len);
	return true;
}

static void ring_buf_free(struct kf *k, struct ring_buf *b)
{
	if (b->va)
		dc_sys_free_buffer(k->s, b->va);
	free(b->want);
	memset(b, 0, sizeof(*b));
}

static void ring_send(struct kf *k, struct ring_buf *b, UCHAR major, ULONG len)
{
	b->irp = dc_sys_build_rw(k->s, k->top, major, b->va, len, 0);
	if (b->irp)
		dc_sys_send(k->s, b->irp);
}

static IO_STATUS_BLOCK ring_wait(struct kf *k, struct ring_buf *b)
{
	IO_STATUS_BLOCK io = {.Status = STATUS_UNSUCCESSFUL};
	if (b->irp && dc_sys_wait(k->s, b->irp, UINT64_C(10000000000)) == 0)
		io = dc_sys_finish(k->s, b->irp);
	b->irp = NULL;
	return io;
}

/* Bytes of the read buffer that differ from the frame (read through the CPU cache). */
static long ring_diff(struct kf *k, const struct ring_buf *rx, const struct ring_buf *tx, ULONG len)
{
	uint8_t *got = malloc(len);
	long bad = 0;
	if (!got)
		return -1;
	dc_cpu_read(dc_sys_machine(k->s), rx->va, got, len);
	for (ULONG i = 0; i < len; i++)
		bad += got[i] != tx->want[i];
	free(got);
	return bad;
}

/* One frame out and back: write then read, or the read posted first. */
static long ring_echo(struct kf *k, ULONG len, uint32_t boff, uint64_t seed, bool read_first,
                      NTSTATUS *ws, NTSTATUS *rs, ULONG_PTR *rinfo)
{
	struct ring_buf tx, rx;
	long bad = -1;
	*ws = *rs = STATUS_UNSUCCESSFUL;
	*rinfo = 0;
	if (ring_buf_init(k, &tx, len, boff, seed, true) &&
	    ring_buf_init(k, &rx, RING_MAX_FRAME, boff * 3 + 5, seed, false)) {
		if (read_first)
			ring_send(k, &rx, IRP_MJ_READ, RING_MAX_FRAME);
		ring_send(k, &tx, IRP_MJ_WRITE, len);
		if (!read_first)
			ring_send(k, &rx, IRP_MJ_READ, RING_MAX_FRAME);
		*ws = ring_wait(k, &tx).Status;
		IO_STATUS_BLOCK io = ring_wait(k, &rx);
		*rs = io.Status;
		*rinfo = io.Information;
		if (NT_SUCCESS(*rs))
			bad = ring_diff(k, &rx, &tx, len);
	}
	ring_buf_free(k, &tx);
	ring_buf_free(k, &rx);
	return bad;
}

static const ULONG ring_sizes[] = {1, 60, 1514, 2048, 2049, 4097, 6000, RING_MAX_FRAME, 64};

/* Twice round the sizes: 18 frames, more than the rings hold, so both wrap. */
static void ring_loopback(const char *driver, const char *plat, uint64_t seed)
{
	struct kf k;
	struct ring_count c;
	CHECK_MSG(ring_open(&k, &c, plat, seed, driver) == 0, "%s %s: %s", driver, plat, k.err);
	for (size_t i = 0; i < 2 * DC_ARRAY_SIZE(ring_sizes); i++) {
		ULONG n = ring_sizes[i % DC_ARRAY_SIZE(ring_sizes)];
		NTSTATUS ws, rs;
		ULONG_PTR info;
		long bad = ring_echo(&k, n, (uint32_t)(seed * 97 + i * 37), seed * 100 + i, i & 1,
		                     &ws, &rs, &info);
		CHECK_MSG(ws == STATUS_SUCCESS && rs == STATUS_SUCCESS && info == n && bad == 0,
		          "%s on %s seed %llu frame %zu (%u bytes): write 0x%08X, read 0x%08X with "
		          "%lu bytes, %ld wrong",
		          driver, plat, (unsigned long long)seed, i, (unsigned)n, (unsigned)ws,
		          (unsigned)rs, (unsigned long)info, bad);
	}
	kf_close(&k);
	AUDIT_CHECK(c.audit, driver);
	bool cached = !strcmp(driver, "ring");
	CHECK_MSG(c.commons == 1 && c.commons_cached == cached, "%s: %u common buffers, %u cached",
	          driver, c.commons, c.commons_cached);
	/* P1 after each read the CPU filled; G2 flushes only on the cached buffer. */
	CHECK_EQ(c.ke_pio, 2 * DC_ARRAY_SIZE(ring_sizes));
	if (cached)
		CHECK_MSG(c.ke_dma > 0, "%s: no G2 flush", plat);
	else
		CHECK_MSG(c.ke_dma == 0, "%s: %u flushes of an uncached buffer", plat, c.ke_dma);
}

DC_TEST(drv_ring_loopback_every_platform_size_and_seed)
{
	for (size_t d = 0; d < DC_ARRAY_SIZE(ring_drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++)
			for (uint64_t seed = 1; seed <= 3; seed++) {
				ring_loopback(ring_drivers[d], *p, seed);
				if (dct_failed())
					return;
			}
}

/* Frames sent with nobody reading wait in the RX ring (and then in the device's queue) and
 * come out in order when read. */
static void ring_frames_wait(const char *driver, const char *plat)
{
	enum { N = 24 };
	static struct ring_buf tx[N], rx[N];
	struct kf k;
	struct ring_count c;
	CHECK_MSG(ring_open(&k, &c, plat, 5, driver) == 0, "%s", k.err);
	for (int i = 0; i < N; i++) {
		ULONG n = 100 + (ULONG)i * 211;
		CHECK(ring_buf_init(&k, &tx[i], n, (uint32_t)i * 131, 40 + (uint64_t)i, true));
		ring_send(&k, &tx[i], IRP_MJ_WRITE, n);
		IO_STATUS_BLOCK io = ring_wait(&k, &tx[i]);
		CHECK_MSG(io.Status == STATUS_SUCCESS && io.Information == n,
		          "%s %s write %d: 0x%08X", driver, plat, i, (unsigned)io.Status);
	}
	for (int i = 0; i < N; i++) {
		CHECK(ring_buf_init(&k, &rx[i], RING_MAX_FRAME, (uint32_t)i * 17, 0, false));
		ring_send(&k, &rx[i], IRP_MJ_READ, RING_MAX_FRAME);
	}
	for (int i = 0; i < N; i++) {
		IO_STATUS_BLOCK io = ring_wait(&k, &rx[i]);
		long bad = NT_SUCCESS(io.Status) ? ring_diff(&k, &rx[i], &tx[i], tx[i].len) : -1;
		CHECK_MSG(io.Status == STATUS_SUCCESS && io.Information == tx[i].len && bad == 0,
		          "%s %s read %d: 0x%08X, %lu of %u bytes, %ld wrong", driver, plat, i,
		          (unsigned)io.Status, (unsigned long)io.Information, (unsigned)tx[i].len,
		          bad);
	}
	for (int i = 0; i < N; i++) {
		ring_buf_free(&k, &tx[i]);
		ring_buf_free(&k, &rx[i]);
	}
	kf_close(&k);
	AUDIT_CHECK(c.audit, driver);
}

DC_TEST(drv_ring_frames_wait_until_read)
{
	for (size_t d = 0; d < DC_ARRAY_SIZE(ring_drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++) {
			ring_frames_wait(ring_drivers[d], *p);
			if (dct_failed())
				return;
		}
}

/* Several reads and writes in flight at once (a read posted before each write, as an
 * application with outstanding I/O does): every frame reaches its read, in order -- also when
 * events of one kind come faster than the interrupts that report them. */
static void ring_in_flight(const char *driver, const char *plat, uint64_t seed)
{
	enum { MAX_PAIRS = 4, ROUNDS = 40 };
	struct ring_buf tx[MAX_PAIRS], rx[MAX_PAIRS];
	struct kf k;
	struct ring_count c;
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	CHECK_MSG(ring_open(&k, &c, plat, seed, driver) == 0, "%s", k.err);
	for (int round = 0; round < ROUNDS; round++) {
		int pairs = 1 + (int)dc_rng_below(&r, MAX_PAIRS);
		for (int i = 0; i < pairs; i++) {
			ULONG n = 1 + (ULONG)dc_rng_below(&r, 1514);
			CHECK(ring_buf_init(&k, &tx[i], n, (uint32_t)dc_rng_below(&r, 4096),
			                    dc_rng_next(&r), true));
			CHECK(ring_buf_init(&k, &rx[i], RING_MAX_FRAME,
			                    (uint32_t)dc_rng_below(&r, 4096), 0, false));
			ring_send(&k, &rx[i], IRP_MJ_READ, RING_MAX_FRAME);
			ring_send(&k, &tx[i], IRP_MJ_WRITE, n);
		}
		for (int i = 0; i < pairs; i++) {
			IO_STATUS_BLOCK rs = ring_wait(&k, &rx[i]), ws = ring_wait(&k, &tx[i]);
			long bad =
			    NT_SUCCESS(rs.Status) ? ring_diff(&k, &rx[i], &tx[i], tx[i].len) : -1;
			CHECK_MSG(
			    ws.Status == STATUS_SUCCESS && rs.Status == STATUS_SUCCESS &&
			        rs.Information == tx[i].len && bad == 0,
			    "%s %s seed %llu round %d pair %d: write 0x%08X, read 0x%08X with %lu "
			    "of %u bytes, %ld wrong",
			    driver, plat, (unsigned long long)seed, round, i, (unsigned)ws.Status,
			    (unsigned)rs.Status, (unsigned long)rs.Information, (unsigned)tx[i].len,
			    bad);
		}
		for (int i = 0; i < pairs; i++) {
			ring_buf_free(&k, &tx[i]);
			ring_buf_free(&k, &rx[i]);
		}
	}
	kf_close(&k);
	AUDIT_CHECK(c.audit, driver);
}

DC_TEST(drv_ring_reads_and_writes_in_flight)
{
	for (size_t d = 0; d < DC_ARRAY_SIZE(ring_drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++)
			for (uint64_t seed = 1; seed <= 3; seed++) {
				ring_in_flight(ring_drivers[d], *p, seed);
				if (dct_failed())
					return;
			}
}

/* A read too small for the next frame fails with STATUS_BUFFER_TOO_SMALL and leaves the frame
 * for the next read. */
static void ring_small_read(const char *driver, const char *plat)
{
	struct kf k;
	struct ring_count c;
	struct ring_buf tx, small, rx;
	CHECK_MSG(ring_open(&k, &c, plat, 6, driver) == 0, "%s", k.err);
	CHECK(ring_buf_init(&k, &tx, 3000, 10, 77, true));
	CHECK(ring_buf_init(&k, &small, 100, 20, 0, false));
	CHECK(ring_buf_init(&k, &rx, 3000, 30, 0, false));
	ring_send(&k, &tx, IRP_MJ_WRITE, tx.len);
	CHECK_EQ(ring_wait(&k, &tx).Status, STATUS_SUCCESS);
	ring_send(&k, &small, IRP_MJ_READ, small.len);
	IO_STATUS_BLOCK io = ring_wait(&k, &small);
	CHECK_MSG(io.Status == STATUS_BUFFER_TOO_SMALL && io.Information == 0, "%s %s: 0x%08X %lu",
	          driver, plat, (unsigned)io.Status, (unsigned long)io.Information);
	ring_send(&k, &rx, IRP_MJ_READ, rx.len);
	io = ring_wait(&k, &rx);
	CHECK_MSG(io.Status == STATUS_SUCCESS && io.Information == 3000 &&
	              ring_diff(&k, &rx, &tx, 3000) == 0,
	          "%s %s: 0x%08X %lu", driver, plat, (unsigned)io.Status,
	          (unsigned long)io.Information);
	ring_buf_free(&k, &tx);
	ring_buf_free(&k, &small);
	ring_buf_free(&k, &rx);
	kf_close(&k);
	AUDIT_CHECK(c.audit, driver);
}

DC_TEST(drv_ring_small_read_keeps_the_frame)
{
	for (size_t d = 0; d < DC_ARRAY_SIZE(ring_drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++) {
			ring_small_read(ring_drivers[d], *p);
			if (dct_failed())
				return;
		}
}

static NTSTATUS ring_ioctl(struct kf *k, ULONG code, ULONGLONG *out, ULONG_PTR *info)
{
	PIRP irp = dc_sys_build_ioctl(k->s, k->top, code, NULL, 0, out, sizeof(*out));
	if (!irp)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_sys_send(k->s, irp);
	if (dc_sys_wait(k->s, irp, UINT64_C(1000000000)))
		return STATUS_UNSUCCESSFUL;
	IO_STATUS_BLOCK io = dc_sys_finish(k->s, irp);
	*info = io.Information;
	return io.Status;
}

static void ring_bad_requests(const char *driver, const char *plat)
{
	enum { N = 20 };
	static struct ring_buf ftx[N], frx[N];
	struct kf k;
	struct ring_count c;
	struct ring_buf b, tx;
	IO_STATUS_BLOCK io;
	CHECK_MSG(ring_open(&k, &c, plat, 8, driver) == 0, "%s", k.err);
	struct dc_device *dev = dc_sysdev_device(k.dev);

	CHECK(ring_buf_init(&k, &b, RING_MAX_FRAME + 1, 0, 1, true));
	ring_send(&k, &b, IRP_MJ_WRITE, 0);
	io = ring_wait(&k, &b);
	CHECK(io.Status == STATUS_SUCCESS && io.Information == 0);
	ring_send(&k, &b, IRP_MJ_READ, 0);
	io = ring_wait(&k, &b);
	CHECK(io.Status == STATUS_SUCCESS && io.Information == 0);
	ring_send(&k, &b, IRP_MJ_WRITE, RING_MAX_FRAME + 1);
	io = ring_wait(&k, &b);
	CHECK(io.Status == STATUS_INVALID_PARAMETER && io.Information == 0);
	ring_buf_free(&k, &b);

	ULONGLONG cap = 0;
	ULONG_PTR info = 0;
	CHECK_EQ(ring_ioctl(&k, IOCTL_DMACOH_QUERY_CAPACITY, &cap, &info), STATUS_SUCCESS);
	CHECK_EQ(info, sizeof(ULONGLONG));
	CHECK_EQ(cap, RING_MAX_FRAME);
	CHECK_EQ(ring_ioctl(&k, 0x00222008u, &cap, &info), STATUS_INVALID_DEVICE_REQUEST);

	/* A failed TX transfer fails its write; the frame never reaches the wire. */
	dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
	CHECK(ring_buf_init(&k, &tx, 1500, 3, 9, true));
	ring_send(&k, &tx, IRP_MJ_WRITE, tx.len);
	io = ring_wait(&k, &tx);
	CHECK_MSG(io.Status == STATUS_DEVICE_DATA_ERROR && io.Information == 0,
	          "%s %s: failed write 0x%08X %lu", driver, plat, (unsigned)io.Status,
	          (unsigned long)io.Information);
	ring_buf_free(&k, &tx);
	NTSTATUS ws, rs;
	long bad = ring_echo(&k, 700, 5, 10, false, &ws, &rs, &info);
	CHECK_MSG(bad == 0 && info == 700, "%s %s: next frame %ld wrong, read 0x%08X", driver, plat,
	          bad, (unsigned)rs);

	/* A failed RX transfer: 20 frames, more than the RX ring holds, so some wait for a buffer
	 * when the fault is armed; then 20 reads -- exactly one fails, the others get their
	 * frames in order. */
	for (int i = 0; i < N; i++) {
		CHECK(ring_buf_init(&k, &ftx[i], 500 + (ULONG)i, (uint32_t)i * 9, 300 + (uint64_t)i,
		                    true));
		ring_send(&k, &ftx[i], IRP_MJ_WRITE, ftx[i].len);
		CHECK_EQ(ring_wait(&k, &ftx[i]).Status, STATUS_SUCCESS);
	}
	dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
	for (int i = 0; i < N; i++) {
		CHECK(ring_buf_init(&k, &frx[i], RING_MAX_FRAME, (uint32_t)i, 0, false));
		ring_send(&k, &frx[i], IRP_MJ_READ, RING_MAX_FRAME);
	}
	int failed = 0;
	for (int i = 0; i < N; i++) {
		io = ring_wait(&k, &frx[i]);
		if (io.Status == STATUS_DEVICE_DATA_ERROR && io.Information == 0) {
			failed++;
			continue;
		}
		CHECK_MSG(io.Status == STATUS_SUCCESS && io.Information == ftx[i].len &&
		              ring_diff(&k, &frx[i], &ftx[i], ftx[i].len) == 0,
		          "%s %s read %d: 0x%08X %lu", driver, plat, i, (unsigned)io.Status,
		          (unsigned long)io.Information);
	}
	CHECK_MSG(failed == 1, "%s %s: %d reads failed", driver, plat, failed);
	for (int i = 0; i < N; i++) {
		ring_buf_free(&k, &ftx[i]);
		ring_buf_free(&k, &frx[i]);
	}
	kf_close(&k);
	AUDIT_CHECK(c.audit, driver);
}

DC_TEST(drv_ring_bad_requests_ioctl_and_failed_transfers)
{
	for (size_t d = 0; d < DC_ARRAY_SIZE(ring_drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++) {
			ring_bad_requests(ring_drivers[d], *p);
			if (dct_failed())
				return;
		}
}

/* Each twin makes its one mistake and breaks no API rule: C01 and C05 corrupt frames on the
 * non-coherent platform (not on the coherent pc), C04 skips the flush before reading RX
 * descriptors. */
DC_TEST(drv_ring_twins_make_their_mistake)
{
	static const char *const corrupting[] = {"ring-bug-C01", "ring-bug-C05"};
	static const char *const pair[] = {"ring", "ring-bug-C04"};
	for (const char *const *p = kf_platforms; *p; p++) {
		bool coherent = !strcmp(*p, "pc");
		struct kf k;
		struct ring_count c;
		for (size_t t = 0; t < DC_ARRAY_SIZE(corrupting); t++) {
			CHECK_MSG(ring_open(&k, &c, *p, 4, corrupting[t]) == 0, "%s", k.err);
			long wrong = 0;
			for (int i = 0; i < 4; i++) {
				NTSTATUS ws, rs;
				ULONG_PTR info;
				long bad = ring_echo(&k, 1500, 64 * (uint32_t)i, 50 + (uint64_t)i,
				                     false, &ws, &rs, &info);
				CHECK_MSG(NT_SUCCESS(ws) && NT_SUCCESS(rs) && info == 1500,
				          "%s %s: write 0x%08X read 0x%08X", corrupting[t], *p,
				          (unsigned)ws, (unsigned)rs);
				wrong += bad;
			}
			kf_close(&k);
			AUDIT_CHECK(c.audit, corrupting[t]);
			if (coherent)
				CHECK_MSG(wrong == 0, "%s on %s: %ld bytes wrong", corrupting[t],
				          *p, wrong);
			else if (!strcmp(*p, "noncoherent"))
				CHECK_MSG(wrong > 0, "%s on %s: no byte wrong", corrupting[t], *p);
		}

		/* C04: the same workload with one KeFlushIoBuffers fewer per RX pass. */
		unsigned flushes[2];
		for (int t = 0; t < 2; t++) {
			CHECK_MSG(ring_open(&k, &c, *p, 4, pair[t]) == 0, "%s", k.err);
			NTSTATUS ws, rs;
			ULONG_PTR info;
			long bad = ring_echo(&k, 1000, 0, 60, false, &ws, &rs, &info);
			kf_close(&k);
			AUDIT_CHECK(c.audit, pair[t]);
			if (coherent)
				CHECK_MSG(bad == 0, "%s on pc: %ld wrong", pair[t], bad);
			flushes[t] = c.ke_dma;
		}
		CHECK_MSG(flushes[1] < flushes[0], "%s: C04 twin %u flushes, ring %u", *p,
		          flushes[1], flushes[0]);
	}
}
