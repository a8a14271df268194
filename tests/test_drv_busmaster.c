/* examples/drivers/busmaster.c (flow 5.3, MapTransfer builds the SG table) run on the bmblk
 * device on every built-in platform: data verified end to end for unaligned, sub-page,
 * page-crossing and multi-page buffers, below and above 4 GiB (bounced by the map registers),
 * several seeds; the split loop with few map registers and a small SG table; bad requests,
 * the capacity IOCTL and a failed transfer; the kernel's events audited for API misuse; and
 * each buggy twin doing its one mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/machine.h"
#include "bm_audit.h"
#include "kflow.h"

/* What the kernel reports, counted (not judged). */
struct bm_count {
	struct audit audit;
	unsigned maps, flushes, flushes_failed, flushes_empty;
	unsigned frees, frees_mismatched, ke_flush_read, ke_flush_write;
	unsigned pieces, bounced;
	uint64_t max_map_len;
};

static void bm_kev(void *opaque, const struct dc_kev *e)
{
	struct bm_count *c = opaque;
	audit_kev(&c->audit, e);
	switch (e->type) {
	case DC_KEV_MAP:
		if (!e->len_out)
			break;
		c->maps++;
		c->max_map_len = DC_MAX(c->max_map_len, e->len_out);
		for (uint32_t i = 0; i < e->n_pieces; i++) {
			c->pieces++;
			c->bounced += e->pieces[i].logical != e->pieces[i].pa;
		}
		break;
	case DC_KEV_FLUSH:
		c->flushes++;
		c->flushes_failed += !e->status;
		c->flushes_empty += !e->xfer;
		break;
	case DC_KEV_MAPREG_FREE:
		c->frees++;
		c->frees_mismatched += !e->status;
		break;
	case DC_KEV_KE_FLUSH:
		if (e->flags & DC_KEVF_READ)
			c->ke_flush_read++;
		else
			c->ke_flush_write++;
		break;
	default:
		break;
	}
}

static const struct dc_observer bm_observer = {.kev = bm_kev};

static int bm_open(struct kf *k, struct bm_count *c, const struct dc_platform *p, const char *plat,
                   uint64_t seed, const struct dc_sysdev_opts *o, const char *driver)
{
	memset(c, 0, sizeof(*c));
	return kf_open_observed(k, p, plat, seed, &bm_observer, c, "bmblk", o, driver);
}

struct bm_shape {
	const char *what;
	uint64_t off;
	ULONG len;
	uint32_t boff;
	enum dc_zone zone;
};

static const struct bm_shape bm_shapes[] = {
    {"unaligned multi-page, high", 1024, 5 * 4096 + 1536, 100, DC_ZONE_HIGH},
    {"unaligned multi-page, dma32", 3072, 7 * 4096 + 512, 4000, DC_ZONE_DMA32},
    {"sub-page", 512, 512, 3000, DC_ZONE_ANY},
    {"page-crossing sector", 0, 1024, 3584, DC_ZONE_DMA32},
    {"40 pages (split loop)", 65536, 40 * 4096, 2048, DC_ZONE_ANY},
    {"aligned 16 pages", 8192, 16 * 4096, 0, DC_ZONE_HIGH},
    {"one sector at the end", 1024 * 1024 - 512, 512, 7, DC_ZONE_DMA32},
};

/* Writes then reads one shape; false after a failure message. */
static bool bm_roundtrip(struct kf *k, const char *driver, const char *plat, uint64_t seed,
                         const struct bm_shape *sh)
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

DC_TEST(drv_busmaster_every_platform_shape_and_seed)
{
	for (const char *const *p = kf_platforms; *p; p++)
		for (uint64_t seed = 1; seed <= 4; seed++) {
			struct kf k;
			struct bm_count c;
			CHECK_MSG(bm_open(&k, &c, NULL, *p, seed, NULL, "busmaster") == 0, "%s: %s",
			          *p, k.err);
			for (size_t i = 0; i < DC_ARRAY_SIZE(bm_shapes); i++)
				if (!bm_roundtrip(&k, "busmaster", *p, seed, &bm_shapes[i]))
					return;
			kf_close(&k);
			AUDIT_CHECK(c.audit, *p);
			/* Every MapTransfer got its own flush, each drained an open transfer and
			 * succeeded; every FreeMapRegisters matched its allocation. */
			CHECK_MSG(c.maps > 0 && c.flushes == c.maps && c.flushes_empty == 0 &&
			              c.flushes_failed == 0,
			          "%s: %u MapTransfers, %u flushes (%u of nothing, %u failed)", *p,
			          c.maps, c.flushes, c.flushes_empty, c.flushes_failed);
			CHECK_MSG(c.frees == 2 * DC_ARRAY_SIZE(bm_shapes) &&
			              c.frees_mismatched == 0,
			          "%s: %u FreeMapRegisters, %u mismatched", *p, c.frees,
			          c.frees_mismatched);
			/* G1 before each transfer, in its direction. */
			CHECK_EQ(c.ke_flush_read, DC_ARRAY_SIZE(bm_shapes));
			CHECK_EQ(c.ke_flush_write, DC_ARRAY_SIZE(bm_shapes));
			/* The device is 32-bit: pages above 4 GiB went through bounce pages. */
			CHECK_MSG(c.bounced > 0 && c.bounced < c.pieces,
			          "%s: %u of %u pieces bounced", *p, c.bounced, c.pieces);
		}
}

/* A 64-bit device (CAPS says so): the driver asks for Dma64BitAddresses and nothing bounces. */
DC_TEST(drv_busmaster_64bit_device_is_not_bounced)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct dc_sysdev_opts o = {.addr_bits = 64};
		struct kf k;
		struct bm_count c;
		CHECK_MSG(bm_open(&k, &c, NULL, *p, 3, &o, "busmaster") == 0, "%s: %s", *p, k.err);
		if (!bm_roundtrip(&k, "busmaster", *p, 3, &bm_shapes[0]))
			return;
		kf_close(&k);
		AUDIT_CHECK(c.audit, *p);
		CHECK_MSG(c.pieces > 0 && c.bounced == 0, "%s: %u of %u pieces bounced", *p,
		          c.bounced, c.pieces);
	}
}

/* The split loop with 3 map registers and a 2-element SG table: a 10-page unaligned request
 * moves in operations of at most 2 pages, every byte still in place. */
DC_TEST(drv_busmaster_split_loop_few_registers_small_sg_table)
{
	static const struct bm_shape sh = {"10 pages unaligned", 4096, 10 * 4096, 1000,
	                                   DC_ZONE_ANY};
	for (const char *const *p = kf_platforms; *p; p++)
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct dc_platform plat;
			CHECK(dc_platform_builtin(*p, &plat) == 0);
			plat.map_registers = 3;
			plat.seed = seed;
			struct dc_sysdev_opts o = {.max_sg = 2};
			struct kf k;
			struct bm_count c;
			CHECK_MSG(bm_open(&k, &c, &plat, NULL, 0, &o, "busmaster") == 0, "%s: %s",
			          *p, k.err);
			if (!bm_roundtrip(&k, "busmaster", *p, seed, &sh))
				return;
			kf_close(&k);
			AUDIT_CHECK(c.audit, *p);
			/* ceil((1000 + 40960) / 4096) = 11 pages, at most 2 per operation: >= 6
			 * operations each way, and no MapTransfer mapped more than 2 pages. */
			CHECK_MSG(c.maps >= 12 && c.flushes == c.maps && c.max_map_len <= 2 * 4096,
			          "%s: %u MapTransfers, %u flushes, longest %llu", *p, c.maps,
			          c.flushes, (unsigned long long)c.max_map_len);
		}
}

static NTSTATUS bm_ioctl(struct kf *k, ULONG code, ULONGLONG *out, ULONG_PTR *info)
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

/* Bad requests fail at once with Information 0, a zero-length one succeeds, the capacity
 * IOCTL answers, and a failed transfer fails its IRP without leaking the registers. */
DC_TEST(drv_busmaster_bad_requests_ioctl_and_failed_transfer)
{
	static const struct {
		uint64_t off;
		ULONG len;
		NTSTATUS want;
	} reqs[] = {
	    {100, 512, STATUS_INVALID_PARAMETER},                /* offset not a sector */
	    {0, 100, STATUS_INVALID_PARAMETER},                  /* length not sectors */
	    {1024 * 1024 - 512, 1024, STATUS_INVALID_PARAMETER}, /* past the end */
	    {2 * 1024 * 1024, 512, STATUS_INVALID_PARAMETER},    /* beyond the disk */
	    {0, 0, STATUS_SUCCESS},                              /* nothing to do */
	};
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct bm_count c;
		CHECK_MSG(bm_open(&k, &c, NULL, *p, 7, NULL, "busmaster") == 0, "%s: %s", *p,
		          k.err);
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
		CHECK_EQ(c.maps, 0);

		ULONGLONG cap = 0;
		ULONG_PTR info = 0;
		CHECK_EQ(bm_ioctl(&k, IOCTL_DMACOH_QUERY_CAPACITY, &cap, &info), STATUS_SUCCESS);
		CHECK_EQ(info, sizeof(ULONGLONG));
		CHECK_EQ(cap, 1024 * 1024);
		CHECK_EQ(bm_ioctl(&k, 0x00222008u, &cap, &info), STATUS_INVALID_DEVICE_REQUEST);

		/* An injected transfer error: the flush reports it, the IRP fails with nothing
		 * transferred, and the registers are free for the next request. */
		struct dc_device *d = dc_sysdev_device(k.dev);
		for (int dir = 0; dir < 2; dir++) {
			unsigned failed = c.flushes_failed, frees = c.frees;
			d->ops->inject_fault(d->opaque, DC_FAULT_TRANSFER_ERROR);
			NTSTATUS st = 0;
			ULONG_PTR inf = 99;
			long first;
			long bad = kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, 4096, 3 * 4096, 200,
			                 DC_ZONE_ANY, 5, &st, &inf, &first);
			CHECK_MSG(bad < 0 && st == STATUS_DEVICE_DATA_ERROR && inf == 0,
			          "%s failed %s: status 0x%08X Information %lu", *p,
			          dir ? "read" : "write", (unsigned)st, (unsigned long)inf);
			CHECK_MSG(c.flushes_failed > failed && c.frees == frees + 1,
			          "%s: %u flushes failed, %u frees", *p, c.flushes_failed - failed,
			          c.frees - frees);
			if (!bm_roundtrip(&k, "busmaster", *p, 8, &bm_shapes[1]))
				return;
		}
		kf_close(&k);
		AUDIT_CHECK(c.audit, *p);
		CHECK_EQ(c.flushes, c.maps);
	}
}

/* Each twin makes its one mistake, visible in what the kernel reports (the sanitizer's rules
 * are tested elsewhere) -- and C02's shows as wrong data on the non-coherent platform. */
DC_TEST(drv_busmaster_twins_make_their_mistake)
{
	static const struct bm_shape small = {"3 pages", 0, 3 * 4096, 300, DC_ZONE_DMA32};
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct bm_count c;
		NTSTATUS st;
		ULONG_PTR info;
		long first;

		/* C02: no KeFlushIoBuffers before a read -- and no API problem. */
		CHECK_MSG(bm_open(&k, &c, NULL, *p, 2, NULL, "busmaster-bug-C02") == 0, "%s",
		          k.err);
		long bad = kf_io(&k, IRP_MJ_READ, small.off, small.len, small.boff, small.zone, 4,
		                 &st, &info, &first);
		kf_close(&k);
		AUDIT_CHECK(c.audit, "C02 twin");
		CHECK_MSG(c.ke_flush_read == 0, "%s: C02 twin flushed before a read", *p);
		/* The application's dirty lines are evicted over the DMA data right after it lands
		 * on "noncoherent"; a coherent platform hides the bug. */
		if (!strcmp(*p, "noncoherent"))
			CHECK_MSG(bad > 0, "%s: C02 twin read %ld wrong bytes", *p, bad);
		if (!strcmp(*p, "pc"))
			CHECK_MSG(bad == 0, "%s: C02 twin read %ld wrong bytes", *p, bad);

		/* A02: flushes every mapping of the last operation a second time. */
		CHECK_MSG(bm_open(&k, &c, NULL, *p, 2, NULL, "busmaster-bug-A02") == 0, "%s",
		          k.err);
		if (!bm_roundtrip(&k, "busmaster-bug-A02", *p, 2, &small))
			return;
		kf_close(&k);
		CHECK_MSG(c.flushes == 2 * c.maps && c.flushes_empty == c.maps &&
		              c.audit.problems == c.maps,
		          "%s: A02 twin: %u maps, %u flushes, %u of nothing, %u problems", *p,
		          c.maps, c.flushes, c.flushes_empty, c.audit.problems);

		/* A04: FreeMapRegisters with the adapter's count, not the 4 this IRP allocated. */
		CHECK_MSG(bm_open(&k, &c, NULL, *p, 2, NULL, "busmaster-bug-A04") == 0, "%s",
		          k.err);
		if (!bm_roundtrip(&k, "busmaster-bug-A04", *p, 2, &small))
			return;
		kf_close(&k);
		CHECK_MSG(c.frees == 2 && c.frees_mismatched == 2 && c.audit.problems == 2,
		          "%s: A04 twin: %u of %u frees mismatched, %u problems", *p,
		          c.frees_mismatched, c.frees, c.audit.problems);
	}
}
