/* examples/drivers/autoinit.c (common-buffer system DMA in auto-initialize mode, wdm-dma-spec
 * 5.2) run on every built-in platform: writes and reads through buffers that start anywhere in
 * a page, from one sector to requests many times the size of the driver's ring (the channel
 * laps it while the driver copies), in every memory zone, verified byte for byte against the
 * disk; a 16-bit channel; the capacity the driver sized; the requests it must refuse; a
 * transfer error (failure with Information 0, and the next request works); each buggy twin
 * making its mistake.  The kernel's events are audited throughout (drv_audit). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/rng.h"
#include "hw/machine.h"
#include "drv_audit.h"
#include "kflow.h"

#define SECTOR 512u

static void drv_cases(const char *driver, const struct dc_sysdev_opts *o)
{
	static const enum dc_zone zones[] = {DC_ZONE_ISA, DC_ZONE_DMA32, DC_ZONE_HIGH};
	for (const char *const *p = kf_platforms; *p; p++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct kf k;
			struct drv_audit a;
			int err = drv_open(&k, &a, NULL, *p, seed, "sysblk", o, driver);
			CHECK_MSG(err == 0, "%s: %s", *p, k.err);
			NTSTATUS st;
			uint64_t cap = drv_capacity(&k, &st);
			struct dc_device *dev = dc_sysdev_device(k.dev);
			CHECK_MSG(st == STATUS_SUCCESS && cap == dev->ops->store_size(dev->opaque),
			          "%s: capacity %llu status 0x%08X", *p, (unsigned long long)cap,
			          (unsigned)st);
			/* Fixed shapes: sub-page unaligned, one page, twelve laps of the ring. */
			bool ok =
			    drv_rw(&k, *p, 0, SECTOR, 100, DC_ZONE_ISA, seed * 100) &&
			    drv_rw(&k, *p, 7 * SECTOR, 4096, 0, DC_ZONE_DMA32, seed * 100 + 2) &&
			    drv_rw(&k, *p, cap - 96 * 1024, 96 * 1024, 4095, DC_ZONE_HIGH,
			           seed * 100 + 4);
			/* Seeded shapes anywhere on the disk. */
			struct dc_rng r;
			dc_rng_seed(&r, seed);
			for (int i = 0; ok && i < 8; i++) {
				ULONG sectors = 1 + (ULONG)dc_rng_below(&r, 160);
				uint64_t off =
				    dc_rng_below(&r, cap / SECTOR - sectors + 1) * SECTOR;
				uint32_t boff = (uint32_t)dc_rng_below(&r, 4096);
				ok = drv_rw(&k, *p, off, sectors * SECTOR, boff, zones[i % 3],
				            seed * 100 + 10 + 2 * (uint64_t)i);
			}
			kf_close(&k);
			DRV_AUDIT_CHECK(a);
			if (!ok)
				return;
		}
	}
}

DC_TEST(drv_autoinit_data_end_to_end)
{
	drv_cases("autoinit", NULL);
}

DC_TEST(drv_autoinit_16bit_channel)
{
	struct dc_sysdev_opts o = {.dma_channel = 6, .capacity = 512 * 1024};
	drv_cases("autoinit", &o);
}

DC_TEST(drv_autoinit_refuses_bad_requests)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 5, "sysblk", NULL, "autoinit");
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
	DRV_AUDIT_CHECK(a);
}

DC_TEST(drv_autoinit_transfer_error_fails_the_request)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, *p, 9, "sysblk", NULL, "autoinit");
		CHECK_MSG(err == 0, "%s: %s", *p, k.err);
		struct dc_device *dev = dc_sysdev_device(k.dev);
		/* Within the ring, then laps of it. */
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
		DRV_AUDIT_CHECK(a);
	}
}

/* A controller buffer of 24 bytes: every 512-byte sector leaves 8 bytes in it at terminal
 * count, which only FlushAdapterBuffers moves on (to memory, or to the device). */
DC_TEST(drv_autoinit_controller_tail)
{
	static const char *const plats[] = {"pc", "noncoherent"};
	for (int i = 0; i < 2; i++) {
		struct dc_platform p;
		CHECK(dc_platform_builtin(plats[i], &p) == 0);
		p.sysdma_chunk = 8;
		p.sysdma_depth = 3;
		p.sysdma_wait_full = true;
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, &p, NULL, 0, "sysblk", NULL, "autoinit");
		CHECK_MSG(err == 0, "%s: %s", plats[i], k.err);
		bool ok = drv_rw(&k, plats[i], 0, SECTOR, 24, DC_ZONE_ISA, 1) &&
		          drv_rw(&k, plats[i], 64 * SECTOR, 48 * 1024, 777, DC_ZONE_DMA32, 3) &&
		          drv_rw(&k, plats[i], 3 * SECTOR, 100 * 1024, 4000, DC_ZONE_HIGH, 5);
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
		if (!ok)
			return;
	}
}

/* The buggy twins make their one mistake where a test sees it without the sanitizer (the
 * sanitizer's tests judge their findings). */
DC_TEST(drv_autoinit_twins_make_their_mistake)
{
	struct drv_audit a;
	NTSTATUS st;
	ULONG_PTR info;
	long bad;

	/* C04: the CPU reads ring bytes the device wrote since the last KeFlushIoBuffers. */
	bad = drv_twin("autoinit-bug-C04", "noncoherent", "sysblk", IRP_MJ_READ, 65536,
	               DC_ZONE_DMA32, false, &a, &st, &info);
	CHECK_MSG(bad >= 0, "C04: the request did not complete: %s", a.kinds);
	CHECK_MSG(drv_saw(&a, "ring bytes the device wrote"), "C04: %ld bad, %s", bad, a.kinds);
	/* A05: the common buffer is still allocated when the adapter is put at remove. */
	bad = drv_twin("autoinit-bug-A05", "pc", "sysblk", IRP_MJ_READ, 4096, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(bad == 0 && drv_saw(&a, "adapter put with a common buffer"), "A05: %ld bad, %s",
	          bad, a.kinds);
	CHECK_EQ(a.problems, 1);
}
