/* examples/drivers/sglist.c (flow 5.3's alternative: GetScatterGatherList, PutScatterGatherList
 * before the data is touched) run on the bmblk device on every built-in platform: data
 * verified end to end for unaligned, sub-page, page-crossing and multi-page buffers, below and
 * above 4 GiB (bounced), several seeds; requests split in pieces that fit the map registers
 * and a small SG table; bad requests, the capacity IOCTL and a failed transfer; and each buggy
 * twin doing its one mistake; the kernel's events audited for API misuse throughout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/machine.h"
#include "bm_audit.h"
#include "kflow.h"

#define SG_MAX_PIECES 64

/* What the kernel reports, counted (not judged), and the driver's CPU accesses to the bytes
 * of a list that is still outstanding. */
struct sg_count {
	struct audit audit;
	unsigned lists, lists_failed, puts, puts_empty, puts_failed, ke_flush;
	unsigned pieces, bounced, max_pieces;
	unsigned driver_touches; /* driver loads/stores inside an outstanding list */
	struct dc_kev_piece open[SG_MAX_PIECES];
	unsigned n_open;
};

static void sg_kev(void *opaque, const struct dc_kev *e)
{
	struct sg_count *c = opaque;
	audit_kev(&c->audit, e);
	switch (e->type) {
	case DC_KEV_SG_MAP:
		if (e->status != STATUS_SUCCESS) {
			c->lists_failed++;
			break;
		}
		c->lists++;
		c->max_pieces = DC_MAX(c->max_pieces, e->n_pieces);
		c->n_open = 0;
		for (uint32_t i = 0; i < e->n_pieces; i++) {
			c->pieces++;
			c->bounced += e->pieces[i].logical != e->pieces[i].pa;
			if (c->n_open < SG_MAX_PIECES)
				c->open[c->n_open++] = e->pieces[i];
		}
		break;
	case DC_KEV_SG_PUT:
		c->puts++;
		c->puts_empty += !e->xfer;
		c->puts_failed += !e->status;
		c->n_open = 0;
		break;
	case DC_KEV_KE_FLUSH:
		c->ke_flush++;
		break;
	default:
		break;
	}
}

static void sg_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write, bool cached,
                   const void *pc)
{
	struct sg_count *c = opaque;
	(void)pa;
	(void)write;
	(void)cached;
	if (!pc)
		return; /* the application, not the driver */
	for (unsigned i = 0; i < c->n_open; i++) {
		const uint8_t *lo = c->open[i].va;
		if ((const uint8_t *)va < lo + c->open[i].len && (const uint8_t *)va + len > lo) {
			c->driver_touches++;
			return;
		}
	}
}

static const struct dc_observer sg_observer = {.kev = sg_kev, .cpu_access = sg_cpu};

static int sg_open(struct kf *k, struct sg_count *c, const struct dc_platform *p, const char *plat,
                   uint64_t seed, const struct dc_sysdev_opts *o, const char *driver)
{
	memset(c, 0, sizeof(*c));
	return kf_open_observed(k, p, plat, seed, &sg_observer, c, "bmblk", o, driver);
}

struct sg_shape {
	const char *what;
	uint64_t off;
	ULONG len;
	uint32_t boff;
	enum dc_zone zone;
};

static const struct sg_shape sg_shapes[] = {
    {"unaligned multi-page, high", 1024, 5 * 4096 + 1536, 100, DC_ZONE_HIGH},
    {"unaligned multi-page, dma32", 3072, 7 * 4096 + 512, 4000, DC_ZONE_DMA32},
    {"sub-page", 512, 512, 3000, DC_ZONE_ANY},
    {"page-crossing sector", 0, 1024, 3584, DC_ZONE_DMA32},
    {"40 pages (pieces)", 65536, 40 * 4096, 2048, DC_ZONE_ANY},
    {"aligned 16 pages", 8192, 16 * 4096, 0, DC_ZONE_HIGH},
    {"one sector at the end", 1024 * 1024 - 512, 512, 7, DC_ZONE_DMA32},
};

static bool sg_roundtrip(struct kf *k, const char *driver, const char *plat, uint64_t seed,
                         const struct sg_shape *sh)
{
	for (int dir = 0; dir < 2; dir++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad = kf_io(k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, sh->off, sh->len, sh->boff,
		                 sh->zone, seed * 1000 + (uint64_t)dir, &st, &info, &first);
		if (bad != 0 || info != sh->len) {
			dct_fail(
			    __FILE__, __LINE__,
			    "%s on %s seed %llu, %s %s: %ld bytes wrong (first at %ld), status "
			    "0x%08X, Information %lu of %u %s",
			    driver, plat, (unsigned long long)seed, dir ? "read" : "write",
			    sh->what, bad, first, (unsigned)st, (unsigned long)info,
			    (unsigned)sh->len, k->err);
			return false;
		}
	}
	return true;
}

DC_TEST(drv_sglist_every_platform_shape_and_seed)
{
	for (const char *const *p = kf_platforms; *p; p++)
		for (uint64_t seed = 1; seed <= 4; seed++) {
			struct kf k;
			struct sg_count c;
			CHECK_MSG(sg_open(&k, &c, NULL, *p, seed, NULL, "sglist") == 0, "%s: %s",
			          *p, k.err);
			for (size_t i = 0; i < DC_ARRAY_SIZE(sg_shapes); i++)
				if (!sg_roundtrip(&k, "sglist", *p, seed, &sg_shapes[i]))
					return;
			kf_close(&k);
			AUDIT_CHECK(c.audit, *p);
			/* Every list was put back, each ending an open transfer that succeeded; the
			 * driver never touched a buffer while its list was out (G13). */
			CHECK_MSG(c.lists > 2 * DC_ARRAY_SIZE(sg_shapes) && c.lists_failed == 0 &&
			              c.puts == c.lists && c.puts_empty == 0 && c.puts_failed == 0,
			          "%s: %u lists (%u failed), %u puts (%u empty, %u failed)", *p,
			          c.lists, c.lists_failed, c.puts, c.puts_empty, c.puts_failed);
			CHECK_EQ(c.driver_touches, 0);
			/* G1 before each request, and before the start-time self-test. */
			CHECK_EQ(c.ke_flush, 2 * DC_ARRAY_SIZE(sg_shapes) + 1);
			CHECK_MSG(c.bounced > 0 && c.bounced < c.pieces,
			          "%s: %u of %u pieces bounced", *p, c.bounced, c.pieces);
		}
}

/* 3 map registers and a 2-element SG table: a 10-page unaligned request goes in pieces of at
 * most 2 pages, each with its own list. */
DC_TEST(drv_sglist_pieces_fit_registers_and_sg_table)
{
	static const struct sg_shape sh = {"10 pages unaligned", 4096, 10 * 4096, 1000,
	                                   DC_ZONE_ANY};
	for (const char *const *p = kf_platforms; *p; p++)
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct dc_platform plat;
			CHECK(dc_platform_builtin(*p, &plat) == 0);
			plat.map_registers = 3;
			plat.seed = seed;
			struct dc_sysdev_opts o = {.max_sg = 2};
			struct kf k;
			struct sg_count c;
			CHECK_MSG(sg_open(&k, &c, &plat, NULL, 0, &o, "sglist") == 0, "%s: %s", *p,
			          k.err);
			if (!sg_roundtrip(&k, "sglist", *p, seed, &sh))
				return;
			kf_close(&k);
			AUDIT_CHECK(c.audit, *p);
			CHECK_MSG(c.lists >= 12 && c.puts == c.lists && c.max_pieces <= 2,
			          "%s: %u lists, %u puts, at most %u pieces", *p, c.lists, c.puts,
			          c.max_pieces);
		}
}

static NTSTATUS sg_ioctl(struct kf *k, ULONG code, ULONGLONG *out, ULONG_PTR *info)
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

DC_TEST(drv_sglist_bad_requests_ioctl_and_failed_transfer)
{
	static const struct {
		uint64_t off;
		ULONG len;
		NTSTATUS want;
	} reqs[] = {
	    {100, 512, STATUS_INVALID_PARAMETER},
	    {0, 100, STATUS_INVALID_PARAMETER},
	    {1024 * 1024 - 512, 1024, STATUS_INVALID_PARAMETER},
	    {2 * 1024 * 1024, 512, STATUS_INVALID_PARAMETER},
	    {0, 0, STATUS_SUCCESS},
	};
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct sg_count c;
		CHECK_MSG(sg_open(&k, &c, NULL, *p, 7, NULL, "sglist") == 0, "%s: %s", *p, k.err);
		for (size_t i = 0; i < DC_ARRAY_SIZE(reqs); i++)
			for (int dir = 0; dir < 2; dir++) {
				NTSTATUS st = 0;
				ULONG_PTR info = 99;
				long first;
				kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, reqs[i].off,
				      reqs[i].len, 0, DC_ZONE_ANY, 1, &st, &info, &first);
				CHECK_MSG(st == reqs[i].want && info == 0,
				          "%s request %zu: status 0x%08X Information %lu", *p, i,
				          (unsigned)st, (unsigned long)info);
			}
		CHECK_EQ(c.lists, 1); /* the start-time self-test's */

		ULONGLONG cap = 0;
		ULONG_PTR info = 0;
		CHECK_EQ(sg_ioctl(&k, IOCTL_DMACOH_QUERY_CAPACITY, &cap, &info), STATUS_SUCCESS);
		CHECK_EQ(info, sizeof(ULONGLONG));
		CHECK_EQ(cap, 1024 * 1024);
		CHECK_EQ(sg_ioctl(&k, 0x00222008u, &cap, &info), STATUS_INVALID_DEVICE_REQUEST);

		/* An injected transfer error fails the IRP with nothing transferred; its list was
		 * put back all the same, and the next request works. */
		struct dc_device *d = dc_sysdev_device(k.dev);
		for (int dir = 0; dir < 2; dir++) {
			unsigned lists = c.lists, puts = c.puts;
			d->ops->inject_fault(d->opaque, DC_FAULT_TRANSFER_ERROR);
			NTSTATUS st = 0;
			ULONG_PTR inf = 99;
			long first;
			long bad = kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, 4096, 3 * 4096, 200,
			                 DC_ZONE_ANY, 5, &st, &inf, &first);
			CHECK_MSG(bad < 0 && st == STATUS_DEVICE_DATA_ERROR && inf == 0,
			          "%s failed %s: status 0x%08X Information %lu", *p,
			          dir ? "read" : "write", (unsigned)st, (unsigned long)inf);
			CHECK_MSG(c.lists == lists + 1 && c.puts == puts + 1,
			          "%s: %u lists, %u puts", *p, c.lists - lists, c.puts - puts);
			if (!sg_roundtrip(&k, "sglist", *p, 8, &sg_shapes[1]))
				return;
		}
		kf_close(&k);
		AUDIT_CHECK(c.audit, *p);
	}
}

/* Each twin makes its one mistake, as the kernel and the CPU path see it. */
DC_TEST(drv_sglist_twins_make_their_mistake)
{
	static const struct sg_shape small = {"3 pages", 0, 3 * 4096, 300, DC_ZONE_HIGH};
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct sg_count c;

		/* C03: reads the buffer before PutScatterGatherList (data still right, no API
		 * problem). */
		CHECK_MSG(sg_open(&k, &c, NULL, *p, 2, NULL, "sglist-bug-C03") == 0, "%s", k.err);
		if (!sg_roundtrip(&k, "sglist-bug-C03", *p, 2, &small))
			return;
		kf_close(&k);
		AUDIT_CHECK(c.audit, "C03 twin");
		CHECK_MSG(c.driver_touches > 0 && c.puts == c.lists,
		          "%s: C03 twin: %u touches, %u lists, %u puts", *p, c.driver_touches,
		          c.lists, c.puts);

		/* A05: the start-time self-test's list is never put back (the rest is right). */
		CHECK_MSG(sg_open(&k, &c, NULL, *p, 2, NULL, "sglist-bug-A05") == 0, "%s", k.err);
		CHECK_MSG(c.lists == 1 && c.puts == 0, "%s: A05 twin: %u lists, %u puts at start",
		          *p, c.lists, c.puts);
		if (!sg_roundtrip(&k, "sglist-bug-A05", *p, 2, &small))
			return;
		CHECK_MSG(c.puts + 1 == c.lists, "%s: A05 twin: %u lists, %u puts", *p, c.lists,
		          c.puts);
		CHECK_EQ(c.audit.problems, 0);
		kf_close(&k);
		/* PutDmaAdapter at remove, with the list still out: the leak. */
		CHECK_MSG(c.audit.problems == 1, "%s: A05 twin: %u problems, the first: %s", *p,
		          c.audit.problems, c.audit.first);
	}
}
