/* examples/drivers/floppy.c (a system thread, packet-based system DMA through the legacy
 * IoMapTransfer/IoFlushAdapterBuffers, cylinder-sized pieces) on the 82077AA floppy controller,
 * on every built-in platform: a 1.44 MB disk written whole through the driver and read back,
 * and a pre-filled one read whole, byte for byte against the medium; requests of one track,
 * one cylinder and odd numbers of sectors across track and cylinder boundaries from buffers
 * anywhere in a page; a 720 KB disk (the driver finds its data rate); a write-protected disk,
 * damaged sectors and an empty drive as the NTSTATUS a floppy driver returns, Information 0;
 * a transfer error (the flush fails: the request fails, the next one works); a queued request
 * cancelled; the motor off after idling and the thread gone at removal.  The kernel's events are
 * audited throughout (drv_audit); the sanitizer is clean on the driver and finds exactly its
 * rule in each buggy twin, on every platform and 20 seeds. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/check.h"
#include "dmacoh/driver.h"
#include "devices/fdc.h"
#include "hw/machine.h"
#include "hw/rng.h"
#include "kernel/workload.h"
#include "drv_audit.h"
#include "kflow.h"

#define SECTOR 512u
#define DISK_1440 1474560u
#define DISK_720 737280u
#define WAIT_NS UINT64_C(600000000000) /* a whole disk takes most of a minute */

static void *fdc_of(struct kf *k)
{
	return dc_sysdev_device(k->dev)->opaque;
}

static void gen(uint64_t seed, uint8_t *p, size_t n)
{
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)dc_rng_next(&r);
}

static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* One request through buf; its IoStatus.  False if it never completed. */
static bool fl_request(struct kf *k, UCHAR major, void *buf, ULONG len, uint64_t off,
                       IO_STATUS_BLOCK *io)
{
	PIRP irp = dc_sys_build_rw(k->s, k->top, major, buf, len, off);
	if (!irp)
		return false;
	dc_sys_send(k->s, irp);
	if (dc_sys_wait(k->s, irp, WAIT_NS))
		return false;
	*io = dc_sys_finish(k->s, irp);
	return true;
}

/* A request of len bytes at off whose data does not matter: its status and Information. */
static bool fl_status(struct kf *k, UCHAR major, ULONG len, uint64_t off, NTSTATUS *st,
                      ULONG_PTR *info)
{
	void *buf = dc_sys_alloc_buffer(k->s, len ? len : 1, 0, DC_ZONE_ANY);
	IO_STATUS_BLOCK io = {0};
	bool ok = buf && fl_request(k, major, buf, len, off, &io);
	if (buf)
		dc_sys_free_buffer(k->s, buf);
	*st = io.Status;
	*info = io.Information;
	return ok;
}

/* The whole disk through the driver: written from seeded bytes (checked on the medium), read
 * back into a poisoned buffer, then a medium pre-filled with other bytes read whole. */
static bool whole_disk(struct kf *k, const char *plat, uint64_t cap, uint32_t boff, enum dc_zone z,
                       uint64_t seed)
{
	struct dc_machine *m = dc_sys_machine(k->s);
	uint8_t *want = malloc(cap), *got = malloc(cap);
	uint8_t *buf = dc_sys_alloc_buffer(k->s, cap, boff, z);
	uint64_t size = 0;
	uint8_t *img = dc_fdc_image(fdc_of(k), 0, &size);
	IO_STATUS_BLOCK io = {0};
	bool ok = false;
	long bad = -1;
	const char *step = "setup";
	if (!want || !got || !buf || !img || size != cap)
		goto out;

	step = "write";
	gen(seed, want, cap);
	dc_cpu_write(m, buf, want, cap);
	uint64_t tcs = dc_fdc_stats(fdc_of(k))->tcs, t0 = dc_sys_now(k->s);
	if (!fl_request(k, IRP_MJ_WRITE, buf, (ULONG)cap, 0, &io) || io.Status != STATUS_SUCCESS ||
	    io.Information != cap || (bad = first_diff(img, want, cap)) >= 0)
		goto out;
	/* Track-sized pieces: one READ/WRITE DATA per cylinder (both tracks, multi-track), each
	 * ended by the channel's terminal count. */
	step = "pieces";
	tcs = dc_fdc_stats(fdc_of(k))->tcs - tcs;
	dct_log("%s: %llu-byte disk written in %llu pieces, %.1f s simulated\n", plat,
	        (unsigned long long)cap, (unsigned long long)tcs,
	        (double)(dc_sys_now(k->s) - t0) / 1e9);
	if (tcs != 80)
		goto out;

	step = "read back";
	dc_cpu_fill(m, buf, 0xA5, cap);
	if (!fl_request(k, IRP_MJ_READ, buf, (ULONG)cap, 0, &io) || io.Status != STATUS_SUCCESS ||
	    io.Information != cap)
		goto out;
	dc_cpu_read(m, buf, got, cap);
	if ((bad = first_diff(got, want, cap)) >= 0)
		goto out;

	step = "read pre-filled";
	gen(seed + 1000, want, cap);
	memcpy(img, want, cap);
	dc_cpu_fill(m, buf, 0x5A, cap);
	if (!fl_request(k, IRP_MJ_READ, buf, (ULONG)cap, 0, &io) || io.Status != STATUS_SUCCESS ||
	    io.Information != cap)
		goto out;
	dc_cpu_read(m, buf, got, cap);
	bad = first_diff(got, want, cap);
	ok = bad < 0;
out:
	if (!ok)
		dct_fail(__FILE__, __LINE__,
		         "%s %llu-byte disk, %s: status 0x%08X info %llu, first wrong byte %ld %s",
		         plat, (unsigned long long)cap, step, (unsigned)io.Status,
		         (unsigned long long)io.Information, bad, k->err);
	if (buf)
		dc_sys_free_buffer(k->s, buf);
	free(want);
	free(got);
	return ok;
}

DC_TEST(drv_floppy_whole_1440k_disk_every_platform)
{
	static const enum dc_zone zones[] = {DC_ZONE_ISA, DC_ZONE_DMA32, DC_ZONE_HIGH};
	static const uint32_t boffs[] = {0, 100, 4095};
	for (int i = 0; kf_platforms[i]; i++) {
		struct kf k;
		struct drv_audit a;
		int err =
		    drv_open(&k, &a, NULL, kf_platforms[i], 1 + (uint64_t)i, "fdc", NULL, "floppy");
		CHECK_MSG(err == 0, "%s: %s", kf_platforms[i], k.err);
		NTSTATUS st;
		uint64_t cap = drv_capacity(&k, &st);
		CHECK_MSG(st == STATUS_SUCCESS && cap == DISK_1440,
		          "%s: capacity %llu status 0x%08X", kf_platforms[i],
		          (unsigned long long)cap, (unsigned)st);
		bool ok =
		    whole_disk(&k, kf_platforms[i], cap, boffs[i], zones[i], 10 + (uint64_t)i);
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
		if (!ok)
			return;
	}
}

/* Shapes on a disk of spt sectors per track: whole tracks and cylinders, odd counts across the
 * head and cylinder boundaries, the last sector, 64 KiB; then seeded ones. */
static bool shapes(struct kf *k, const char *plat, unsigned spt, uint64_t seed)
{
	const uint64_t cyl = 2 * spt;
	const uint64_t cap = 80 * cyl * SECTOR;
	const struct {
		uint64_t sector, count;
	} fixed[] = {
	    {5 * cyl, spt},                /* one track, head 0 */
	    {5 * cyl + spt, spt},          /* one track, head 1 */
	    {7 * cyl, cyl},                /* one cylinder */
	    {10 * cyl + spt - 2, 3},       /* head 0 into head 1 */
	    {11 * cyl + cyl - 2, 5},       /* head 1 into the next cylinder */
	    {20 * cyl + 7, 80},            /* mid-track, over two cylinder boundaries */
	    {cap / SECTOR - 1, 1},         /* the last sector */
	    {0, 128},                      /* 64 KiB from the first sector */
	    {30 * cyl + 1, 2 * cyl + spt}, /* odd start, five tracks */
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		uint32_t boff = (uint32_t)((i * 613) % 4096);
		if (!drv_rw(k, plat, fixed[i].sector * SECTOR, (ULONG)(fixed[i].count * SECTOR),
		            boff, (enum dc_zone)(i % 3 + 1), seed * 100 + 2 * i))
			return false;
	}
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	for (int i = 0; i < 6; i++) {
		uint64_t n = 1 + dc_rng_below(&r, 3 * cyl);
		uint64_t s = dc_rng_below(&r, cap / SECTOR - n + 1);
		uint32_t boff = (uint32_t)dc_rng_below(&r, 4096);
		if (!drv_rw(k, plat, s * SECTOR, (ULONG)(n * SECTOR), boff, DC_ZONE_ANY,
		            seed * 100 + 50 + 2 * (uint64_t)i))
			return false;
	}
	return true;
}

DC_TEST(drv_floppy_tracks_and_odd_sizes)
{
	for (int i = 0; kf_platforms[i]; i++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, kf_platforms[i], 3, "fdc", NULL, "floppy");
		CHECK_MSG(err == 0, "%s: %s", kf_platforms[i], k.err);
		bool ok = shapes(&k, kf_platforms[i], 18, 7 + (uint64_t)i);
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
		if (!ok)
			return;
	}
}

/* A 720 KB disk: 9 sectors a track at 250 kbps; the driver finds it by its data rate. */
DC_TEST(drv_floppy_720k_disk)
{
	struct dc_sysdev_opts o = {.capacity = DISK_720};
	for (int i = 0; kf_platforms[i]; i++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, kf_platforms[i], 5, "fdc", &o, "floppy");
		CHECK_MSG(err == 0, "%s: %s", kf_platforms[i], k.err);
		NTSTATUS st;
		uint64_t cap = drv_capacity(&k, &st);
		CHECK_MSG(st == STATUS_SUCCESS && cap == DISK_720,
		          "%s: capacity %llu status 0x%08X", kf_platforms[i],
		          (unsigned long long)cap, (unsigned)st);
		/* Past the end of a 720 KB disk is a bad request, not a missing sector. */
		ULONG_PTR info = 1;
		CHECK(fl_status(&k, IRP_MJ_READ, 2 * SECTOR, DISK_720 - SECTOR, &st, &info));
		CHECK_EQ(st, STATUS_INVALID_PARAMETER);
		CHECK_EQ(info, 0);
		bool ok = shapes(&k, kf_platforms[i], 9, 20 + (uint64_t)i) &&
		          (i != 1 || whole_disk(&k, kf_platforms[i], cap, 300, DC_ZONE_ANY, 21));
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
		if (!ok)
			return;
	}
}

DC_TEST(drv_floppy_refuses_bad_requests)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 2, "fdc", NULL, "floppy");
	CHECK_MSG(err == 0, "%s", k.err);
	static const struct {
		ULONG len;
		uint64_t off;
		NTSTATUS want;
	} cases[] = {
	    {0, 0, STATUS_SUCCESS},
	    {100, 0, STATUS_INVALID_PARAMETER},
	    {SECTOR, 3, STATUS_INVALID_PARAMETER},
	    {2 * SECTOR, DISK_1440 - SECTOR, STATUS_INVALID_PARAMETER},
	    {SECTOR, DISK_1440, STATUS_INVALID_PARAMETER},
	    {2 * SECTOR, DISK_1440 - 2 * SECTOR, STATUS_SUCCESS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int w = 0; w < 2; w++) {
			NTSTATUS st = 0;
			ULONG_PTR info = 1;
			CHECK(fl_status(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, cases[i].len,
			                cases[i].off, &st, &info));
			CHECK_MSG(st == cases[i].want, "case %zu %s: status 0x%08X", i,
			          w ? "write" : "read", (unsigned)st);
			CHECK_EQ(info, NT_SUCCESS(st) ? cases[i].len : 0);
		}
	}
	IO_STATUS_BLOCK io = {0};
	ULONGLONG small = 0;
	CHECK(drv_roundtrip(
	          &k,
	          dc_sys_build_ioctl(k.s, k.top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0, &small, 4),
	          &io) == 0);
	CHECK_EQ(io.Status, STATUS_BUFFER_TOO_SMALL);
	CHECK(drv_roundtrip(&k, dc_sys_build_ioctl(k.s, k.top, 0x00222008u, NULL, 0, NULL, 0),
	                    &io) == 0);
	CHECK_EQ(io.Status, STATUS_INVALID_DEVICE_REQUEST);
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

/* What the medium reports, as the NTSTATUS a floppy driver returns, always with Information 0;
 * and the driver goes on once the cause is gone. */
DC_TEST(drv_floppy_medium_errors)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 4, "fdc", NULL, "floppy");
	CHECK_MSG(err == 0, "%s", k.err);
	void *fdc = fdc_of(&k);
	NTSTATUS st;
	ULONG_PTR info;
	const uint64_t cyl = 36 * SECTOR;

	/* Write protection: writes fail at once, reads work; the tab back, writes work. */
	CHECK(dc_fdc_set_write_protect(fdc, 0, true) == 0);
	info = 1;
	CHECK(fl_status(&k, IRP_MJ_WRITE, 4 * SECTOR, 3 * cyl, &st, &info));
	CHECK_MSG(st == STATUS_MEDIA_WRITE_PROTECTED && info == 0, "write-protected: 0x%08X %llu",
	          (unsigned)st, (unsigned long long)info);
	CHECK(fl_status(&k, IRP_MJ_READ, 4 * SECTOR, 3 * cyl, &st, &info));
	CHECK_EQ(st, STATUS_SUCCESS);
	CHECK(dc_fdc_set_write_protect(fdc, 0, false) == 0);
	CHECK(drv_rw(&k, "noncoherent", 3 * cyl, 4 * SECTOR, 0, DC_ZONE_ANY, 2));

	/* A sector whose data field has a bad CRC, in the middle of a two-track request: retried,
	 * then a CRC error; rewriting it repairs it. */
	CHECK(dc_fdc_inject_bad_sector(fdc, 0, 9, 1, 4, DC_FDC_BAD_CRC) == 0);
	info = 1;
	CHECK(fl_status(&k, IRP_MJ_READ, 30 * SECTOR, 9 * cyl + 10 * SECTOR, &st, &info));
	CHECK_MSG(st == STATUS_CRC_ERROR && info == 0, "CRC: 0x%08X %llu", (unsigned)st,
	          (unsigned long long)info);
	CHECK(drv_rw(&k, "noncoherent", 9 * cyl + 10 * SECTOR, 30 * SECTOR, 12, DC_ZONE_ANY, 3));

	/* A sector whose ID cannot be read: not found. */
	CHECK(dc_fdc_inject_bad_sector(fdc, 0, 40, 0, 18, DC_FDC_BAD_NO_ID) == 0);
	info = 1;
	CHECK(fl_status(&k, IRP_MJ_WRITE, 8 * SECTOR, 40 * cyl + 12 * SECTOR, &st, &info));
	CHECK_MSG(st == STATUS_NONEXISTENT_SECTOR && info == 0, "no ID: 0x%08X %llu", (unsigned)st,
	          (unsigned long long)info);
	CHECK(dc_fdc_inject_bad_sector(fdc, 0, 40, 0, 18, DC_FDC_BAD_NONE) == 0);
	CHECK(drv_rw(&k, "noncoherent", 40 * cyl + 12 * SECTOR, 8 * SECTOR, 0, DC_ZONE_ANY, 4));

	/* The drive empty: reads, writes and the capacity say so. */
	dc_fdc_eject(fdc, 0);
	for (int w = 0; w < 2; w++) {
		info = 1;
		CHECK(fl_status(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, SECTOR, 0, &st, &info));
		CHECK_MSG(st == STATUS_NO_MEDIA_IN_DEVICE && info == 0, "no media: 0x%08X %llu",
		          (unsigned)st, (unsigned long long)info);
	}
	drv_capacity(&k, &st);
	CHECK_EQ(st, STATUS_NO_MEDIA_IN_DEVICE);

	/* Another disk, of the other kind: the driver notices the change and its type. */
	CHECK(dc_fdc_insert(fdc, 0, DC_FDC_MEDIA_720K, NULL) == 0);
	uint64_t cap = drv_capacity(&k, &st);
	CHECK_MSG(st == STATUS_SUCCESS && cap == DISK_720, "capacity %llu status 0x%08X",
	          (unsigned long long)cap, (unsigned)st);
	CHECK(drv_rw(&k, "noncoherent", 0, 20 * SECTOR, 5, DC_ZONE_ANY, 5));
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

/* The DMA fails half-way (the flush says so): the request fails with Information 0 whatever the
 * controller's result bytes say, and the next request moves its data. */
DC_TEST(drv_floppy_transfer_error_fails_the_request)
{
	for (int i = 0; kf_platforms[i]; i++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, kf_platforms[i], 9, "fdc", NULL, "floppy");
		CHECK_MSG(err == 0, "%s: %s", kf_platforms[i], k.err);
		struct dc_device *dev = dc_sysdev_device(k.dev);
		static const ULONG lens[] = {4 * SECTOR, 100 * SECTOR};
		for (int l = 0; l < 2; l++) {
			for (int w = 0; w < 2; w++) {
				NTSTATUS st = 0;
				ULONG_PTR info = 1;
				dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
				CHECK(fl_status(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, lens[l],
				                17 * SECTOR, &st, &info));
				CHECK_MSG(st == STATUS_DEVICE_DATA_ERROR && info == 0,
				          "%s: status 0x%08X info %llu", kf_platforms[i],
				          (unsigned)st, (unsigned long long)info);
				CHECK(drv_rw(&k, kf_platforms[i], 17 * SECTOR, lens[l], 40,
				             DC_ZONE_ANY, 77));
			}
		}
		CHECK_MSG(a.flush_failures == 4, "%s: %u failed flushes", kf_platforms[i],
		          a.flush_failures);
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
	}
}

/* The queue is cancel-safe: a request cancelled while it waits behind another completes as
 * cancelled and never reaches the disk; the motor goes off after the thread idles; removal
 * waits for the thread. */
DC_TEST(drv_floppy_cancel_motor_and_removal)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "pc", 6, "fdc", NULL, "floppy");
	CHECK_MSG(err == 0, "%s", k.err);
	struct dc_machine *m = dc_sys_machine(k.s);
	void *fdc = fdc_of(&k);
	uint64_t size;
	uint8_t *img = dc_fdc_image(fdc, 0, &size);
	memset(img, 0x11, size);
	void *b1 = dc_sys_alloc_buffer(k.s, 8 * SECTOR, 0, DC_ZONE_ANY);
	void *b2 = dc_sys_alloc_buffer(k.s, 8 * SECTOR, 0, DC_ZONE_ANY);
	CHECK(b1 && b2);
	dc_cpu_fill(m, b1, 0x22, 8 * SECTOR);
	dc_cpu_fill(m, b2, 0x33, 8 * SECTOR);
	PIRP i1 = dc_sys_build_rw(k.s, k.top, IRP_MJ_WRITE, b1, 8 * SECTOR, 0);
	PIRP i2 = dc_sys_build_rw(k.s, k.top, IRP_MJ_WRITE, b2, 8 * SECTOR, 64 * SECTOR);
	CHECK(i1 && i2);
	CHECK_EQ(dc_sys_send(k.s, i1), STATUS_PENDING);
	CHECK_EQ(dc_sys_send(k.s, i2), STATUS_PENDING);
	CHECK(IoCancelIrp(i2));
	CHECK(dc_sys_irp_done(i2));
	CHECK(dc_sys_wait(k.s, i1, WAIT_NS) == 0);
	IO_STATUS_BLOCK io1 = dc_sys_finish(k.s, i1), io2 = dc_sys_finish(k.s, i2);
	CHECK_EQ(io1.Status, STATUS_SUCCESS);
	CHECK_EQ(io1.Information, 8 * SECTOR);
	CHECK_EQ(io2.Status, STATUS_CANCELLED);
	CHECK_EQ(io2.Information, 0);
	CHECK(img[0] == 0x22 && img[64 * SECTOR] == 0x11);

	struct dc_fdc_state fs;
	dc_fdc_state(fdc, &fs);
	CHECK(fs.spinning[0]);
	dc_sys_run_for(k.s, UINT64_C(3000000000));
	dc_fdc_state(fdc, &fs);
	CHECK_MSG(!fs.spinning[0] && !(fs.dor & DC_FDC_DOR_MOTEN(0)), "motor still on: DOR 0x%02X",
	          fs.dor);
	/* The next request spins it up again. */
	CHECK(drv_rw(&k, "pc", 100 * SECTOR, 3 * SECTOR, 0, DC_ZONE_ANY, 8));
	dc_sys_free_buffer(k.s, b1);
	dc_sys_free_buffer(k.s, b2);
	/* Stop and remove: the thread ends, the controller is left held in reset. */
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

/* --- The sanitizer ------------------------------------------------------------------------- */

struct cell {
	bool ran;
	uint64_t hits[DC_RULE_COUNT];
	struct dc_run_stats rs;
	char err[256];
};

/* One workload (with transfer errors) through `driver` on a platform with this seed, the
 * sanitizer watching from before the driver loads until after it is unloaded. */
static void run_cell(const char *driver, const char *plat, uint64_t seed, struct cell *c)
{
	memset(c, 0, sizeof(*c));
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin(plat, &p))
		return;
	p.seed = seed;
	if (dc_sys_create(&p, &s))
		return;
	struct dc_check_opts co;
	dc_check_opts_init(&co);
	co.alignment_warnings = false;
	struct dc_check *chk;
	if (dc_check_create(dc_sys_machine(s), &co, &chk)) {
		dc_sys_destroy(s);
		return;
	}
	char path[512];
	struct dc_driver *drv;
	struct dc_sysdev *d;
	PDEVICE_OBJECT top;
	NTSTATUS st;
	if (!dc_sys_load_module(s, kf_driver_path(driver, path, sizeof(path)), &drv, &st, c->err,
	                        sizeof(c->err))) {
		if (!dc_sys_add_device(s, "fdc", NULL, &d) &&
		    !dc_sys_start_device(s, drv, d, &top, &st)) {
			struct dc_workload w;
			dc_workload_default(&w);
			w.count = 16;
			w.fault = 5;
			w.seed = seed;
			c->ran = !dc_run_workload(s, d, top, &w, &c->rs, NULL, NULL, c->err,
			                          sizeof(c->err));
			dc_sys_remove_device(s, d, NULL);
		}
		dc_sys_unload(s, drv);
	}
	for (int r = 0; r < DC_RULE_COUNT; r++)
		c->hits[r] = dc_check_rule_hits(chk, (enum dc_rule)r);
	dc_check_destroy(chk);
	dc_sys_destroy(s);
}

static void rules_hit(const struct cell *c, char *buf, size_t len)
{
	size_t l = 0;
	buf[0] = 0;
	for (int r = 0; r < DC_RULE_COUNT && l < len; r++)
		if (c->hits[r])
			l += (size_t)snprintf(buf + l, len - l, "%s ",
			                      dc_rule_info((enum dc_rule)r)->id);
}

DC_TEST(drv_floppy_sanitizer_clean_and_twins_exact)
{
	static const char *const drivers[] = {"floppy",         "floppy-bug-C01", "floppy-bug-C07",
	                                      "floppy-bug-C08", "floppy-bug-A01", "floppy-bug-A03",
	                                      "floppy-bug-A05", "floppy-bug-A10"};
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		const char *bug = strstr(drivers[i], "-bug-");
		int want = bug ? dc_rule_find(bug + 5) : -1;
		CHECK(!bug || want >= 0);
		for (int p = 0; kf_platforms[p]; p++) {
			for (uint64_t seed = 1; seed <= 20; seed++) {
				static struct cell c;
				char hit[128];
				run_cell(drivers[i], kf_platforms[p], seed, &c);
				rules_hit(&c, hit, sizeof(hit));
				CHECK_MSG(c.ran && !c.rs.hung, "%s %s seed %llu did not run: %s",
				          drivers[i], kf_platforms[p], (unsigned long long)seed,
				          c.err);
				bool exact = true;
				for (int r = 0; r < DC_RULE_COUNT; r++)
					exact = exact && (c.hits[r] != 0) == (r == want);
				CHECK_MSG(exact, "%s %s seed %llu: rules %s", drivers[i],
				          kf_platforms[p], (unsigned long long)seed, hit);
				if (!bug)
					CHECK_MSG(
					    c.rs.mismatched == 0 && c.rs.failed == 0 &&
					        c.rs.false_ok == 0 && c.rs.faults > 0,
					    "%s seed %llu: %llu wrong, %llu failed, %llu false "
					    "successes, %llu faults",
					    kf_platforms[p], (unsigned long long)seed,
					    (unsigned long long)c.rs.mismatched,
					    (unsigned long long)c.rs.failed,
					    (unsigned long long)c.rs.false_ok,
					    (unsigned long long)c.rs.faults);
			}
		}
	}
}

/* The buggy twins make their one mistake where a test sees it without the sanitizer: in the
 * data, the status or the kernel's events (the test above judges the sanitizer's findings). */
DC_TEST(drv_floppy_twins_make_their_mistake)
{
	struct drv_audit a;
	NTSTATUS st;
	ULONG_PTR info;
	long bad;

	/* C01: a one-sector write from a buffer below 16 MiB on one page (the 8237 reaches it,
	 * nothing is bounced) on a non-coherent machine: the disk gets what memory held before
	 * the application wrote. */
	bad = drv_twin("floppy-bug-C01", "noncoherent", "fdc", IRP_MJ_WRITE, SECTOR, DC_ZONE_ISA,
	               false, &a, &st, &info);
	CHECK_MSG(bad > 0 && a.problems == 0, "C01: %ld bad, %s", bad, a.kinds);
	/* C07: a read bounced through the map registers never leaves them. */
	bad = drv_twin("floppy-bug-C07", "pc", "fdc", IRP_MJ_READ, 4096, DC_ZONE_DMA32, false, &a,
	               &st, &info);
	CHECK_MSG(bad > 0 && drv_saw(&a, "released with a transfer still mapped"),
	          "C07: %ld bad, %s", bad, a.kinds);
	/* C08: the DMA fails, the retry the result bytes ask for succeeds, and the request
	 * completes with success over a failed flush. */
	bad = drv_twin("floppy-bug-C08", "pc", "fdc", IRP_MJ_READ, 8 * SECTOR, DC_ZONE_DMA32, true,
	               &a, &st, &info);
	CHECK_MSG(st == STATUS_SUCCESS && a.flush_failures == 1 && a.problems == 0,
	          "C08: %ld bad, status 0x%08X, %u failed flushes, %s", bad, (unsigned)st,
	          a.flush_failures, a.kinds);
	/* A01 needs a request in several pieces (this one starts in the first cylinder and ends
	 * in the third); A03 a piece that starts inside a page. */
	bad = drv_twin("floppy-bug-A01", "pc", "fdc", IRP_MJ_READ, 65536, DC_ZONE_DMA32, false, &a,
	               &st, &info);
	CHECK_MSG(drv_saw(&a, "flush arguments differ"), "A01: %ld bad, %s", bad, a.kinds);
	struct kf k;
	long first;
	CHECK(drv_open(&k, &a, NULL, "pc", 1, "fdc", NULL, "floppy-bug-A03") == 0);
	bad = kf_io(&k, IRP_MJ_READ, 0, 36 * SECTOR, 3000, DC_ZONE_DMA32, 11, &st, &info, &first);
	kf_close(&k);
	CHECK_MSG(drv_saw(&a, "spans more pages than granted"), "A03: %ld bad, %s", bad, a.kinds);
	/* A10: a failed request that claims every byte. */
	bad = drv_twin("floppy-bug-A10", "pc", "fdc", IRP_MJ_READ, 4096, DC_ZONE_DMA32, true, &a,
	               &st, &info);
	CHECK_MSG(!NT_SUCCESS(st) && info == 4096 && drv_saw(&a, "Information wrong"),
	          "A10: status 0x%08X info %llu, %s", (unsigned)st, (unsigned long long)info,
	          a.kinds);
}

/* `dmacoh run --driver floppy` finds its device in the driver's info and is clean. */
DC_TEST(drv_floppy_cli_run)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "floppy", "--workload",
	                                             "count=20,fault=7", "--deterministic", NULL}));
	CHECK_MSG(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.out, "floppy on fdc") && strstr(r.out, "every byte verified") &&
	              strstr(r.out, "findings   none"),
	          "%s", r.out);
}
