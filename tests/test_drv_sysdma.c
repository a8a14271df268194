/* examples/drivers/sysdma.c (packet-based system DMA, wdm-dma-spec 5.1) run on every built-in
 * platform: writes and reads through buffers that start anywhere in a page, from one sector to
 * requests split over several map-register-sized pieces, in every memory zone, verified byte
 * for byte against the disk; a 16-bit channel; the capacity the driver sized; the requests it
 * must refuse; a transfer error (failure with Information 0, and the next request works); each
 * buggy twin making its mistake.  The kernel's events are audited throughout (drv_audit). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/rng.h"
#include "hw/machine.h"
#include "drv_audit.h"
#include "kflow.h"

#define SECTOR 512u

/* align: what a buffer's start must be a multiple of (2 on a 16-bit channel). */
static void drv_cases(const char *driver, const struct dc_sysdev_opts *o, uint32_t align)
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
			DRV_AUDIT_CHECK(a);
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
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "pc", 1, "sysblk", &o, "sysdma");
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
	DRV_AUDIT_CHECK(a);
}

DC_TEST(drv_sysdma_refuses_bad_requests)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 5, "sysblk", NULL, "sysdma");
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

DC_TEST(drv_sysdma_transfer_error_fails_the_request)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, *p, 9, "sysblk", NULL, "sysdma");
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
		DRV_AUDIT_CHECK(a);
	}
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
		struct drv_audit a;
		int err = drv_open(&k, &a, &p, NULL, 0, "sysblk", NULL, "sysdma");
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

/* The buggy twins make their one mistake where a test sees it without the sanitizer: in the
 * data, the status or the kernel's events (the sanitizer's tests judge their findings).
 * Buffers start on a cache line, so that nothing else is to be said about them. */
DC_TEST(drv_sysdma_twins_make_their_mistake)
{
	struct drv_audit a;
	NTSTATUS st;
	ULONG_PTR info;
	long bad;

	/* C01: a one-sector write from below 16 MiB (the 8237 reaches it: not bounced) on a
	 * non-coherent machine: the device reads what memory held before the application wrote. */
	bad = drv_twin("sysdma-bug-C01", "noncoherent", "sysblk", IRP_MJ_WRITE, SECTOR, DC_ZONE_ISA,
	               false, &a, &st, &info);
	CHECK_MSG(bad > 0 && a.problems == 0, "C01: %ld bad, %s", bad, a.kinds);
	/* C07: a read bounced through the map registers: unflushed, the data never leaves them. */
	bad = drv_twin("sysdma-bug-C07", "pc", "sysblk", IRP_MJ_READ, 4096, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(bad > 0 && drv_saw(&a, "released with a transfer still mapped"),
	          "C07: %ld bad, %s", bad, a.kinds);
	/* C08: the transfer fails half-way and the request succeeds anyway. */
	bad = drv_twin("sysdma-bug-C08", "pc", "sysblk", IRP_MJ_READ, 8 * SECTOR, DC_ZONE_DMA32,
	               true, &a, &st, &info);
	CHECK_MSG(bad > 0 && st == STATUS_SUCCESS && a.flush_failures == 1 && a.problems == 0,
	          "C08: %ld bad, status 0x%08X, %u failed flushes, %s", bad, (unsigned)st,
	          a.flush_failures, a.kinds);
	/* A01 and A03 need a request split in pieces. */
	bad = drv_twin("sysdma-bug-A01", "pc", "sysblk", IRP_MJ_READ, 65536, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(drv_saw(&a, "flush arguments differ"), "A01: %ld bad, %s", bad, a.kinds);
	bad = drv_twin("sysdma-bug-A03", "pc", "sysblk", IRP_MJ_READ, 65536, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(drv_saw(&a, "spans more pages than granted"), "A03: %ld bad, %s", bad, a.kinds);
	/* A10: a failed request that claims every byte. */
	bad = drv_twin("sysdma-bug-A10", "pc", "sysblk", IRP_MJ_READ, 4096, DC_ZONE_DMA32, true, &a,
	               &st, &info);
	CHECK_MSG(!NT_SUCCESS(st) && info == 4096 && drv_saw(&a, "Information wrong"),
	          "A10: status 0x%08X info %llu, %s", (unsigned)st, (unsigned long long)info,
	          a.kinds);
}
