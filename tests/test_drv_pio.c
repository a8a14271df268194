/* examples/drivers/pio.c (programmed I/O into direct-I/O buffers, wdm-dma-spec 5.5) run on
 * every built-in platform: writes and reads of any byte length through buffers that start
 * anywhere in a page (the driver's dword string accesses meet byte edges on both sides), from
 * one byte to several pages, verified byte for byte against the store (the flush after each
 * PIO read, P1, is checked by the audit: data read back through the cache cannot show it); the
 * capacity the driver sized; the requests it must refuse; a device error (failure with Information
 * 0, and the next request works); each buggy twin making its mistake.  The kernel's events are
 * audited throughout (drv_audit). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/rng.h"
#include "drv_audit.h"
#include "kflow.h"
#include "hw/machine.h"

DC_TEST(drv_pio_data_end_to_end)
{
	static const enum dc_zone zones[] = {DC_ZONE_ISA, DC_ZONE_DMA32, DC_ZONE_HIGH};
	for (const char *const *p = kf_platforms; *p; p++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct kf k;
			struct drv_audit a;
			int err = drv_open(&k, &a, NULL, *p, seed, "pio", NULL, "pio");
			CHECK_MSG(err == 0, "%s: %s", *p, k.err);
			NTSTATUS st;
			uint64_t cap = drv_capacity(&k, &st);
			struct dc_device *dev = dc_sysdev_device(k.dev);
			CHECK_MSG(st == STATUS_SUCCESS && cap == dev->ops->store_size(dev->opaque),
			          "%s: capacity %llu status 0x%08X", *p, (unsigned long long)cap,
			          (unsigned)st);
			/* One byte, a sub-page run with byte edges, one page, several pages, the
			 * last bytes of the store. */
			bool ok = drv_rw(&k, *p, 5, 1, 3, DC_ZONE_ISA, seed * 100) &&
			          drv_rw(&k, *p, 1001, 509, 4093, DC_ZONE_DMA32, seed * 100 + 2) &&
			          drv_rw(&k, *p, 4096, 4096, 0, DC_ZONE_HIGH, seed * 100 + 4) &&
			          drv_rw(&k, *p, 77, 40000, 2050, DC_ZONE_DMA32, seed * 100 + 6) &&
			          drv_rw(&k, *p, cap - 6, 6, 1, DC_ZONE_ISA, seed * 100 + 8);
			struct dc_rng r;
			dc_rng_seed(&r, seed);
			for (int i = 0; ok && i < 10; i++) {
				ULONG len = 1 + (ULONG)dc_rng_below(&r, 20000);
				uint64_t off = dc_rng_below(&r, cap - len + 1);
				uint32_t boff = (uint32_t)dc_rng_below(&r, 4096);
				ok = drv_rw(&k, *p, off, len, boff, zones[i % 3],
				            seed * 100 + 10 + 2 * (uint64_t)i);
			}
			kf_close(&k);
			DRV_AUDIT_CHECK(a);
			if (!ok)
				return;
		}
	}
}

DC_TEST(drv_pio_refuses_bad_requests)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 5, "pio", NULL, "pio");
	CHECK_MSG(err == 0, "%s", k.err);
	NTSTATUS st;
	uint64_t cap = drv_capacity(&k, &st);
	CHECK_EQ(st, STATUS_SUCCESS);
	const struct {
		ULONG len;
		uint64_t off;
		NTSTATUS want;
	} cases[] = {
	    {0, 0, STATUS_SUCCESS},
	    {2, cap - 1, STATUS_INVALID_PARAMETER},
	    {1, cap, STATUS_INVALID_PARAMETER},
	    {1, cap - 1, STATUS_SUCCESS},
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
	IO_STATUS_BLOCK io = {0};
	CHECK(drv_roundtrip(&k, dc_sys_build_ioctl(k.s, k.top, 0x00222008u, NULL, 0, NULL, 0),
	                    &io) == 0);
	CHECK_EQ(io.Status, STATUS_INVALID_DEVICE_REQUEST);
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

DC_TEST(drv_pio_device_error_fails_the_request)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, *p, 9, "pio", NULL, "pio");
		CHECK_MSG(err == 0, "%s: %s", *p, k.err);
		struct dc_device *dev = dc_sysdev_device(k.dev);
		for (int w = 0; w < 2; w++) {
			NTSTATUS st = 0;
			ULONG_PTR info = 1;
			dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
			CHECK(
			    drv_request(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, 3000, 17, &st, &info));
			CHECK_MSG(!NT_SUCCESS(st), "%s: status 0x%08X", *p, (unsigned)st);
			CHECK_EQ(info, 0);
			CHECK(drv_rw(&k, *p, 17, 3000, 5, DC_ZONE_DMA32, 77));
		}
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
	}
}

/* The buggy twins make their one mistake where a test sees it without the sanitizer (the
 * sanitizer's tests judge their findings).  The A07 twin is not run here: it dereferences the
 * MDL's user address, which the kernel never maps, and crashes the process as it should. */
DC_TEST(drv_pio_twins_make_their_mistake)
{
	struct drv_audit a;
	NTSTATUS st;
	ULONG_PTR info;
	long bad;

	/* C06: the buffer the CPU filled is completed without KeFlushIoBuffers(mdl, TRUE, FALSE).
	 */
	bad = drv_twin("pio-bug-C06", "noncoherent", "pio", IRP_MJ_READ, 4096, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(bad == 0 && drv_saw(&a, "not flushed"), "C06: %ld bad, %s", bad, a.kinds);
	CHECK_EQ(a.problems, 1);
}
