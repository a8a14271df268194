/* The flows of wdm-dma-spec §5 run by the example drivers (written only against wdm.h) on every
 * built-in platform, with data verified end to end against the device's backing store. */
#include "dctest.h"
#include "kflow.h"

DC_TEST(kflow_sysdma_smoke)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		int err = kf_open(&k, *p, 1, "sysblk", NULL, "sysdma");
		CHECK_MSG(err == 0, "%s: %s", *p, k.err);
		if (err)
			continue;
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad = kf_io(&k, IRP_MJ_WRITE, 0, 8192, 0, DC_ZONE_ISA, 7, &st, &info, &first);
		CHECK_MSG(bad == 0, "%s write: %ld bad (first %ld) st 0x%08X %s", *p, bad, first,
		          (unsigned)st, k.err);
		bad = kf_io(&k, IRP_MJ_READ, 4096, 8192, 100, DC_ZONE_DMA32, 8, &st, &info, &first);
		CHECK_MSG(bad == 0, "%s read: %ld bad (first %ld) st 0x%08X %s", *p, bad, first,
		          (unsigned)st, k.err);
		kf_close(&k);
	}
}
