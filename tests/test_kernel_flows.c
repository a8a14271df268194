/* Issue 4's acceptance: the flows of wdm-dma-spec §5, run by example drivers written only
 * against wdm.h, on every built-in platform, with every byte verified end to end against the
 * device's backing store — the split loop, a 24-bit ISA device bounced above 16 MiB, unaligned
 * sub-page and multi-page buffers, 100 seeds of the adversary — and the real symptom of a
 * driver that skips FlushAdapterBuffers on a bounced read. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kflow.h"

/* Counts what the kernel reports, to see the flows' structure (not to judge it). */
struct kcount {
	unsigned maps, flushes, bounced_pieces, pieces, ke_flush, sg;
	uint64_t max_map_len;
};

static void count_kev(void *opaque, const struct dc_kev *e)
{
	struct kcount *c = opaque;
	switch (e->type) {
	case DC_KEV_MAP:
		if (!e->len_out)
			break;
		c->maps++;
		c->max_map_len = DC_MAX(c->max_map_len, e->len_out);
		/* fallthrough */
	case DC_KEV_SG_MAP:
		c->sg += e->type == DC_KEV_SG_MAP;
		for (uint32_t i = 0; i < e->n_pieces; i++) {
			c->pieces++;
			c->bounced_pieces += e->pieces[i].logical != e->pieces[i].pa;
		}
		break;
	case DC_KEV_FLUSH:
		c->flushes++;
		break;
	case DC_KEV_KE_FLUSH:
		c->ke_flush++;
		break;
	default:
		break;
	}
}

static const struct dc_observer counter = {.kev = count_kev};

/* One buffer shape: store offset, length, offset of the buffer in its first page, zone. */
struct shape {
	const char *what;
	uint64_t off;
	ULONG len;
	uint32_t boff;
	enum dc_zone zone;
};

static const struct shape block_shapes[] = {
    {"unaligned multi-page", 1024, 5 * 4096 + 1536, 100, DC_ZONE_ANY},
    {"sub-page", 512, 512, 3000, DC_ZONE_ANY},
    {"page-crossing sector", 0, 1024, 3584, DC_ZONE_ANY},
    {"aligned 16 pages", 8192, 16 * 4096, 0, DC_ZONE_ANY},
    /* Below 16 MiB the 8237 reaches single pages directly and bounces the rest: bounced and
     * direct pieces of one request share the cache lines at their edges. */
    {"bounced then direct below 16 MiB", 4096, 32768 + 1024, 2051, DC_ZONE_ISA},
};

struct flow {
	const char *spec, *driver, *device;
};

static const struct flow block_flows[] = {
    {"5.1 packet system DMA", "sysdma", "sysblk"},
    {"5.2 common-buffer auto-initialize", "autoinit", "sysblk"},
    {"5.3 packet bus master (MapTransfer)", "busmaster", "bmblk"},
    {"5.3 scatter/gather bus master", "sglist", "bmblk"},
    {"5.5 PIO", "pio", "pio"},
};

static bool have_driver(const char *name)
{
	char path[512];
	FILE *f = fopen(kf_driver_path(name, path, sizeof(path)), "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* Writes then reads every shape through the driver; returns false (after a CHECK failure
 * message) on the first problem. */
static bool run_shapes(const struct flow *fl, const char *plat, uint64_t seed)
{
	struct kf k;
	const struct dc_sysdev_opts o = {.capacity = 1u << 20};
	int err = kf_open(&k, plat, seed, fl->device, &o, fl->driver);
	if (err) {
		dct_fail(__FILE__, __LINE__, "%s on %s: %s", fl->driver, plat, k.err);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < DC_ARRAY_SIZE(block_shapes); i++) {
		const struct shape *sh = &block_shapes[i];
		for (int dir = 0; ok && dir < 2; dir++) {
			UCHAR major = dir ? IRP_MJ_READ : IRP_MJ_WRITE;
			NTSTATUS st = 0;
			ULONG_PTR info = 0;
			long first = -1;
			long bad = kf_io(&k, major, sh->off, sh->len, sh->boff, sh->zone,
			                 seed * 131 + i * 2 + (uint64_t)dir, &st, &info, &first);
			if (bad != 0 || info != sh->len) {
				dct_fail(__FILE__, __LINE__,
				         "%s (%s) on %s seed %llu, %s %s: %ld bytes wrong (first "
				         "at %ld), "
				         "status 0x%08X, Information %lu of %u %s",
				         fl->spec, fl->driver, plat, (unsigned long long)seed,
				         dir ? "read" : "write", sh->what, bad, first, (unsigned)st,
				         (unsigned long)info, (unsigned)sh->len, k.err);
				ok = false;
			}
		}
	}
	kf_close(&k);
	return ok;
}

DC_TEST(kflow_block_flows_every_platform_every_shape)
{
	for (size_t f = 0; f < DC_ARRAY_SIZE(block_flows); f++) {
		if (!have_driver(block_flows[f].driver)) {
			dct_fail(__FILE__, __LINE__, "driver module %s missing",
			         block_flows[f].driver);
			return;
		}
		for (const char *const *p = kf_platforms; *p; p++)
			if (!run_shapes(&block_flows[f], *p, 1))
				return;
	}
}

/* G1-G7 are enough: 100 seeds of the adversary (random evictions, dirty evictions after DMA,
 * prefetch, speculative fills) on every platform, for the packet-based flows. */
DC_TEST(kflow_following_g1_g7_is_enough_100_seeds)
{
	static const struct flow *const flows[] = {&block_flows[0], &block_flows[2],
	                                           &block_flows[3]};
	for (size_t f = 0; f < DC_ARRAY_SIZE(flows); f++)
		for (const char *const *p = kf_platforms; *p; p++)
			for (uint64_t seed = 1; seed <= 100; seed++) {
				struct kf k;
				int err =
				    kf_open(&k, *p, seed, flows[f]->device, NULL, flows[f]->driver);
				CHECK_MSG(err == 0, "%s: %s", flows[f]->driver, k.err);
				const struct shape *sh =
				    &block_shapes[seed % DC_ARRAY_SIZE(block_shapes)];
				for (int dir = 0; dir < 2; dir++) {
					NTSTATUS st = 0;
					ULONG_PTR info = 0;
					long first = -1;
					long bad = kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE,
					                 sh->off, sh->len, sh->boff, sh->zone, seed,
					                 &st, &info, &first);
					CHECK_MSG(
					    bad == 0,
					    "%s on %s seed %llu %s %s: %ld wrong (first %ld) %s",
					    flows[f]->driver, *p, (unsigned long long)seed,
					    dir ? "read" : "write", sh->what, bad, first, k.err);
				}
				kf_close(&k);
			}
}

/* 5.1's split loop: 12 pages needing registers, 5 map registers => 3 operations (5, 5, 2 pages),
 * each MapTransfer with exactly one FlushAdapterBuffers. */
DC_TEST(kflow_split_loop_12_pages_5_registers_3_operations)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct dc_platform plat;
		CHECK(dc_platform_builtin(*p, &plat) == 0);
		plat.map_registers = 5;
		struct kf k;
		CHECK_MSG(kf_open_plat(&k, &plat, "sysblk", NULL, "sysdma") == 0, "%s", k.err);
		struct kcount c = {0};
		dc_machine_add_observer(dc_sys_machine(k.s), &counter, &c);
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		for (int dir = 0; dir < 2; dir++) {
			memset(&c, 0, sizeof(c));
			long bad = kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, 0, 12 * 4096, 0,
			                 DC_ZONE_ISA, 3 + (uint64_t)dir, &st, &info, &first);
			CHECK_MSG(bad == 0, "%s: %ld wrong (first %ld)", *p, bad, first);
			CHECK_MSG(c.maps == 3 && c.flushes == 3, "%s: %u MapTransfers, %u flushes",
			          *p, c.maps, c.flushes);
			CHECK_EQ(c.max_map_len, 5 * 4096);
		}
		dc_machine_remove_observer(dc_sys_machine(k.s), &counter, &c);
		kf_close(&k);
	}
}

/* The 8237 of a PC drives 24 address bits: a buffer above 16 MiB goes through the map
 * registers' bounce pages, and the data still arrives, both ways. */
DC_TEST(kflow_isa_24bit_device_buffer_above_16m_bounced)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		CHECK_MSG(kf_open(&k, *p, 5, "sysblk", NULL, "sysdma") == 0, "%s", k.err);
		struct kcount c = {0};
		dc_machine_add_observer(dc_sys_machine(k.s), &counter, &c);
		for (int dir = 0; dir < 2; dir++) {
			NTSTATUS st = 0;
			ULONG_PTR info = 0;
			long first = -1;
			long bad =
			    kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, 4096, 3 * 4096 + 512, 1000,
			          DC_ZONE_DMA32, 11 + (uint64_t)dir, &st, &info, &first);
			CHECK_MSG(bad == 0, "%s %s: %ld wrong (first %ld)", *p,
			          dir ? "read" : "write", bad, first);
		}
		CHECK_MSG(c.pieces > 0 && c.bounced_pieces == c.pieces,
		          "%s: %u of %u pieces bounced", *p, c.bounced_pieces, c.pieces);
		dc_machine_remove_observer(dc_sys_machine(k.s), &counter, &c);
		kf_close(&k);
	}
}

/* The real symptom (wdm-dma-spec §7 bug 5): without FlushAdapterBuffers, a bounced read never
 * reaches the caller's buffer, yet the IRP completes with success — on every platform, since
 * bouncing does not depend on caches. */
DC_TEST(kflow_skipping_flush_on_bounced_read_gives_wrong_data)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		CHECK_MSG(kf_open(&k, *p, 5, "sysblk", NULL, "sysdma-bug-C07") == 0, "%s", k.err);
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad =
		    kf_io(&k, IRP_MJ_READ, 0, 2 * 4096, 0, DC_ZONE_DMA32, 21, &st, &info, &first);
		CHECK_MSG(NT_SUCCESS(st) && bad > 0, "%s: status 0x%08X, %ld wrong bytes", *p,
		          (unsigned)st, bad);
		kf_close(&k);
		/* The same driver with FlushAdapterBuffers gets the data. */
		CHECK_MSG(kf_open(&k, *p, 5, "sysblk", NULL, "sysdma") == 0, "%s", k.err);
		bad = kf_io(&k, IRP_MJ_READ, 0, 2 * 4096, 0, DC_ZONE_DMA32, 21, &st, &info, &first);
		CHECK_MSG(bad == 0, "%s: correct driver: %ld wrong", *p, bad);
		kf_close(&k);
	}
}

/* 5.4: a common-buffer bus master (descriptor rings), cached with G2 flushes and uncached:
 * frames written come back through loopback byte for byte. */
DC_TEST(kflow_ring_common_buffer_loopback)
{
	static const char *const drivers[] = {"ring", "ring-uncached"};
	static const ULONG sizes[] = {60, 1514, 64, 9000, 1};
	for (size_t d = 0; d < DC_ARRAY_SIZE(drivers); d++)
		for (const char *const *p = kf_platforms; *p; p++) {
			struct kf k;
			CHECK_MSG(kf_open(&k, *p, 9, "ring", NULL, drivers[d]) == 0, "%s %s: %s",
			          drivers[d], *p, k.err);
			struct dc_machine *m = dc_sys_machine(k.s);
			for (size_t i = 0; i < DC_ARRAY_SIZE(sizes); i++) {
				ULONG n = sizes[i];
				uint8_t *tx = dc_sys_alloc_buffer(k.s, n, (uint32_t)(i * 37) % 4096,
				                                  DC_ZONE_ANY);
				uint8_t *rx = dc_sys_alloc_buffer(k.s, 9216, 7, DC_ZONE_ANY);
				uint8_t *want = malloc(n), *got = malloc(n);
				CHECK(tx && rx && want && got);
				for (ULONG j = 0; j < n; j++)
					want[j] = (uint8_t)(j * 7 + i);
				dc_cpu_write(m, tx, want, n);
				dc_cpu_fill(m, rx, 0x5A, 9216);
				PIRP w = dc_sys_build_rw(k.s, k.top, IRP_MJ_WRITE, tx, n, 0);
				PIRP r = dc_sys_build_rw(k.s, k.top, IRP_MJ_READ, rx, 9216, 0);
				dc_sys_send(k.s, r);
				dc_sys_send(k.s, w);
				CHECK_MSG(dc_sys_wait(k.s, w, UINT64_C(10000000000)) == 0,
				          "%s %s: write hangs", drivers[d], *p);
				CHECK_MSG(dc_sys_wait(k.s, r, UINT64_C(10000000000)) == 0,
				          "%s %s: read hangs", drivers[d], *p);
				IO_STATUS_BLOCK ws = dc_sys_finish(k.s, w),
				                rs = dc_sys_finish(k.s, r);
				CHECK_MSG(
				    NT_SUCCESS(ws.Status) && NT_SUCCESS(rs.Status) &&
				        rs.Information == n,
				    "%s %s frame %u: write 0x%08X, read 0x%08X with %lu bytes",
				    drivers[d], *p, (unsigned)n, (unsigned)ws.Status,
				    (unsigned)rs.Status, (unsigned long)rs.Information);
				dc_cpu_read(m, rx, got, n);
				CHECK_MSG(memcmp(got, want, n) == 0, "%s %s frame %u differs",
				          drivers[d], *p, (unsigned)n);
				dc_sys_free_buffer(k.s, tx);
				dc_sys_free_buffer(k.s, rx);
				free(want);
				free(got);
			}
			kf_close(&k);
		}
}
