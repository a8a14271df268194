/* examples/drivers/sysdma.c (packet-based system DMA, wdm-dma-spec 5.1) run on every built-in
 * platform: writes and reads through buffers that start anywhere in a page, from one sector to
 * requests split over several map-register-sized pieces, in every memory zone, verified byte
 * for byte against the disk; a 16-bit channel; the capacity the driver sized; the requests it
 * must refuse; a transfer error (failure with Information 0, and the next request works). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/rng.h"
#include "kflow.h"

#define SECTOR 512u

/* Sends an IRP already built and waits for it; its IoStatus. */
static int drv_roundtrip(struct kf *k, PIRP irp, IO_STATUS_BLOCK *io)
{
	if (!irp)
		return DC_ERR_NOMEM;
	dc_sys_send(k->s, irp);
	int w = dc_sys_wait(k->s, irp, UINT64_C(10000000000));
	if (w)
		return w;
	*io = dc_sys_finish(k->s, irp);
	return 0;
}

static uint64_t drv_capacity(struct kf *k, NTSTATUS *st)
{
	ULONGLONG cap = 0;
	IO_STATUS_BLOCK io = {0};
	PIRP irp = dc_sys_build_ioctl(k->s, k->top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0, &cap,
	                              sizeof(cap));
	*st = drv_roundtrip(k, irp, &io) ? STATUS_UNSUCCESSFUL : io.Status;
	return io.Information == sizeof(cap) ? cap : 0;
}

/* One write and one read of len bytes at off through a buffer `boff` into a page of zone z. */
static bool drv_rw(struct kf *k, const char *plat, uint64_t off, ULONG len, uint32_t boff,
                   enum dc_zone z, uint64_t seed)
{
	static const UCHAR majors[2] = {IRP_MJ_WRITE, IRP_MJ_READ};
	for (int i = 0; i < 2; i++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad =
		    kf_io(k, majors[i], off, len, boff, z, seed + (uint64_t)i, &st, &info, &first);
		if (bad != 0 || info != len) {
			dct_fail(
			    __FILE__, __LINE__,
			    "%s seed %llu %s off %llu len %u boff %u zone %s: %ld bad (first %ld), "
			    "status 0x%08X info %llu %s",
			    plat, (unsigned long long)seed, i ? "read" : "write",
			    (unsigned long long)off, len, boff, dc_zone_name(z), bad, first,
			    (unsigned)st, (unsigned long long)info, k->err);
			return false;
		}
	}
	return true;
}

/* align: what a buffer's start must be a multiple of (2 on a 16-bit channel). */
static void drv_cases(const char *driver, const struct dc_sysdev_opts *o, uint32_t align)
{
	static const enum dc_zone zones[] = {DC_ZONE_ISA, DC_ZONE_DMA32, DC_ZONE_HIGH};
	for (const char *const *p = kf_platforms; *p; p++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct kf k;
			int err = kf_open(&k, *p, seed, "sysblk", o, driver);
			CHECK_MSG(err == 0, "%s: %s", *p, k.err);
			NTSTATUS st;
			uint64_t cap = drv_capacity(&k, &st);
			struct dc_device *dev = dc_sysdev_device(k.dev);
			CHECK_MSG(st == STATUS_SUCCESS && cap == dev->ops->store_size(dev->opaque),
			          "%s: capacity %llu status 0x%08X", *p, (unsigned long long)cap,
			          (unsigned)st);
			/* Fixed shapes: sub-page unaligned, one page, several pieces unaligned. */
			bool ok =
			    drv_rw(&k, *p, 0, SECTOR, 100, DC_ZONE_ISA, seed * 100) &&
			    drv_rw(&k, *p, 7 * SECTOR, 4096, 0, DC_ZONE_DMA32, seed * 100 + 2) &&
			    drv_rw(&k, *p, cap - 96 * 1024, 96 * 1024, 4096 - align, DC_ZONE_HIGH,
			           seed * 100 + 4);
			/* Seeded shapes anywhere on the disk. */
			struct dc_rng r;
			dc_rng_seed(&r, seed);
			for (int i = 0; ok && i < 8; i++) {
				ULONG sectors = 1 + (ULONG)dc_rng_below(&r, 160);
				uint64_t off =
				    dc_rng_below(&r, cap / SECTOR - sectors + 1) * SECTOR;
				uint32_t boff = (uint32_t)dc_rng_below(&r, 4096) & ~(align - 1);
				ok = drv_rw(&k, *p, off, sectors * SECTOR, boff, zones[i % 3],
				            seed * 100 + 10 + 2 * (uint64_t)i);
			}
			kf_close(&k);
			if (!ok)
				return;
		}
	}
}

DC_TEST(drv_sysdma_data_end_to_end)
{
	drv_cases("sysdma", NULL, 1);
}

DC_TEST(drv_sysdma_16bit_channel)
{
	struct dc_sysdev_opts o = {.dma_channel = 5, .capacity = 512 * 1024};
	drv_cases("sysdma", &o, 2);
	/* A 16-bit channel addresses words: an odd buffer is refused, not half programmed. */
	struct kf k;
	int err = kf_open(&k, "pc", 1, "sysblk", &o, "sysdma");
	CHECK_MSG(err == 0, "%s", k.err);
	void *buf = dc_sys_alloc_buffer(k.s, 2 * SECTOR, 1, DC_ZONE_ISA);
	CHECK(buf != NULL);
	IO_STATUS_BLOCK io = {0};
	CHECK(drv_roundtrip(&k, dc_sys_build_rw(k.s, k.top, IRP_MJ_READ, buf, 2 * SECTOR, 0),
	                    &io) == 0);
	CHECK_EQ(io.Status, STATUS_INVALID_PARAMETER);
	CHECK_EQ(io.Information, 0);
	dc_sys_free_buffer(k.s, buf);
	kf_close(&k);
}

/* A request built by hand: its status and Information. */
static bool drv_request(struct kf *k, UCHAR major, ULONG len, uint64_t off, NTSTATUS *st,
                        ULONG_PTR *info)
{
	void *buf = dc_sys_alloc_buffer(k->s, len ? len : 1, 0, DC_ZONE_ANY);
	IO_STATUS_BLOCK io = {0};
	int err = buf ? drv_roundtrip(k, dc_sys_build_rw(k->s, k->top, major, buf, len, off), &io)
	              : DC_ERR_NOMEM;
	if (buf)
		dc_sys_free_buffer(k->s, buf);
	*st = io.Status;
	*info = io.Information;
	return err == 0;
}

DC_TEST(drv_sysdma_refuses_bad_requests)
{
	struct kf k;
	int err = kf_open(&k, "noncoherent", 5, "sysblk", NULL, "sysdma");
	CHECK_MSG(err == 0, "%s", k.err);
	NTSTATUS st;
	uint64_t cap = drv_capacity(&k, &st);
	static const struct {
		ULONG len;
		uint64_t off;
		NTSTATUS want;
	} cases[] = {
	    {0, 0, STATUS_SUCCESS},
	    {100, 0, STATUS_INVALID_PARAMETER},
	    {SECTOR, 3, STATUS_INVALID_PARAMETER},
	    {2 * SECTOR, 0, STATUS_SUCCESS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int w = 0; w < 2; w++) {
			ULONG_PTR info = 1;
			CHECK(drv_request(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, cases[i].len,
			                  cases[i].off, &st, &info));
			CHECK_MSG(st == cases[i].want, "case %zu: status 0x%08X", i, (unsigned)st);
			CHECK_EQ(info, NT_SUCCESS(st) ? cases[i].len : 0);
		}
	}
	ULONG_PTR info = 1;
	CHECK(drv_request(&k, IRP_MJ_READ, 2 * SECTOR, cap - SECTOR, &st, &info));
	CHECK_EQ(st, STATUS_INVALID_PARAMETER);
	CHECK_EQ(info, 0);
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
}

DC_TEST(drv_sysdma_transfer_error_fails_the_request)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		int err = kf_open(&k, *p, 9, "sysblk", NULL, "sysdma");
		CHECK_MSG(err == 0, "%s: %s", *p, k.err);
		struct dc_device *dev = dc_sysdev_device(k.dev);
		/* One piece, then a request split in several. */
		static const ULONG lens[] = {8 * SECTOR, 160 * SECTOR};
		for (int i = 0; i < 2; i++) {
			for (int w = 0; w < 2; w++) {
				NTSTATUS st = 0;
				ULONG_PTR info = 1;
				dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
				CHECK(drv_request(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, lens[i],
				                  SECTOR, &st, &info));
				CHECK_MSG(!NT_SUCCESS(st), "%s: status 0x%08X", *p, (unsigned)st);
				CHECK_EQ(info, 0);
				/* The driver recovers: the next request moves its data. */
				CHECK(drv_rw(&k, *p, 0, lens[i], 8, DC_ZONE_DMA32, 77));
			}
		}
		kf_close(&k);
	}
}

/* kf_open on a platform of the test's own making. */
static int drv_open_plat(struct kf *k, const struct dc_platform *p, const char *driver)
{
	char path[512];
	NTSTATUS st = 0;
	memset(k, 0, sizeof(*k));
	int err = dc_sys_create(p, &k->s);
	if (!err)
		err = dc_sys_add_device(k->s, "sysblk", NULL, &k->dev);
	if (!err)
		err = dc_sys_load_module(k->s, kf_driver_path(driver, path, sizeof(path)), &k->drv,
		                         &st, k->err, sizeof(k->err));
	if (!err)
		err = dc_sys_start_device(k->s, k->drv, k->dev, &k->top, &st);
	if (err && k->s) {
		snprintf(k->err + strlen(k->err), sizeof(k->err) - strlen(k->err), " (%s, 0x%08X)",
		         dc_err_name(err), (unsigned)st);
		dc_sys_destroy(k->s);
		k->s = NULL;
	}
	return err;
}

/* A controller buffer of 24 bytes: every 512-byte sector leaves 8 bytes in it at terminal
 * count, which only FlushAdapterBuffers moves on (to memory, or to the device). */
DC_TEST(drv_sysdma_controller_tail)
{
	static const char *const plats[] = {"pc", "noncoherent"};
	for (int i = 0; i < 2; i++) {
		struct dc_platform p;
		CHECK(dc_platform_builtin(plats[i], &p) == 0);
		p.sysdma_chunk = 8;
		p.sysdma_depth = 3;
		p.sysdma_wait_full = true;
		struct kf k;
		int err = drv_open_plat(&k, &p, "sysdma");
		CHECK_MSG(err == 0, "%s: %s", plats[i], k.err);
		bool ok = drv_rw(&k, plats[i], 0, SECTOR, 24, DC_ZONE_ISA, 1) &&
		          drv_rw(&k, plats[i], 64 * SECTOR, 48 * 1024, 777, DC_ZONE_DMA32, 3) &&
		          drv_rw(&k, plats[i], 3 * SECTOR, 100 * 1024, 4000, DC_ZONE_HIGH, 5);
		kf_close(&k);
		if (!ok)
			return;
	}
}
