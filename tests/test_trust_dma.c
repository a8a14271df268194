/* Regressions of issue 13 on the DMA side, run through the built tool as a user runs it:
 * correct system-DMA drivers on ISA-zone buffers that cross a 64 KiB DMA page (the HAL
 * double-buffers them instead of refusing them silently), and the map-refused and
 * transfer-coverage rules on the twins that break them. */
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "test_check.h"

/* A correct driver's run: exit 0, no finding, no failed or hung IRP, every byte verified. */
static void clean_run(const char *const *args)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, args));
	CHECK_MSG(r.status == 0, "%s %s: exit %d\n%s%s", args[2], args[6], r.status, r.out, r.err);
	CHECK_MSG(strstr(r.out, "0 failed, 0 hung") && strstr(r.out, "every byte verified") &&
	              strstr(r.out, "findings   none"),
	          "%s %s:\n%s%s", args[2], args[6], r.out, r.err);
}

DC_TEST(trust_isa_dma_page_floppy_clean)
{
	clean_run((const char *const[]){"run", "--driver", "floppy", "--platform", "noncoherent",
	                                "--workload", "count=200,outstanding=4,zone=isa",
	                                "--deterministic", NULL});
}

DC_TEST(trust_isa_dma_page_sysdma_clean)
{
	clean_run((const char *const[]){"run", "--driver", "sysdma", "--platform", "pc",
	                                "--workload", "count=300,zone=isa", "--seed", "4",
	                                "--deterministic", NULL});
}

/* The checker side of a refused MapTransfer: A12 with its reason, and none of the findings
 * that only follow from it (the driver's flush of nothing, the channel it never got back). */
static char ad_obj, pdo_o, mdl_o, mrb_o;

DC_TEST(trust_map_refused_is_a12_alone)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	uint8_t *buf = dc_alloc_cached(v.m, 1, DC_ZONE_ISA, false);
	tc_emit(&v,
	        (struct dc_kev){
	            .type = DC_KEV_ADAPTER_GET, .adapter = &ad_obj, .device = &pdo_o, .count = 2});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                            .pc = tc_pc_start_io,
	                            .adapter = &ad_obj,
	                            .device = &pdo_o,
	                            .count = 1});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                            .adapter = &ad_obj,
	                            .device = &pdo_o,
	                            .mrb = &mrb_o,
	                            .count = 1,
	                            .status = 1 /* KeepObject */});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_MAP,
	                            .pc = tc_pc_start_io,
	                            .routine = "MapTransfer",
	                            .adapter = &ad_obj,
	                            .mdl = &mdl_o,
	                            .mrb = &mrb_o,
	                            .va = buf,
	                            .len = 512,
	                            .dir = DC_DIR_FROM_DEVICE,
	                            .status = DC_KMAP_BAD_MDL});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_FLUSH,
	                            .pc = tc_pc_dpc,
	                            .adapter = &ad_obj,
	                            .mdl = &mdl_o,
	                            .mrb = &mrb_o,
	                            .va = buf,
	                            .len = 0,
	                            .dir = DC_DIR_FROM_DEVICE,
	                            .status = 1});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_UNLOAD});
	bool a12 = dc_check_rule_hits(v.c, DC_RULE_A12) == 1;
	size_t n = dc_check_count(v.c);
	static char sig[4096];
	tc_signature(&v, sig, sizeof(sig));
	tc_fini(&v);
	CHECK_MSG(a12 && n == 1, "want A12 alone:\n%s", sig);
}

/* A correct driver that moves one read in several scatter/gather lists cut to 512-byte sectors
 * of a buffer that starts inside a cache line (so every piece ends mid-line), with one
 * KeFlushIoBuffers for the IRP, and reads each piece only after its PutScatterGatherList: the
 * read caches a clean line the next piece's DMA writes.  Clean, it cannot be written back over
 * the device's bytes, and the next Put invalidates it: no finding.  The same with a line the
 * CPU *wrote* after the flush is a true C02, and must stay one. */
static size_t sector_lists(bool write_between, int *c02)
{
	struct tc_env v;
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	o.alignment_warnings = false; /* the buffer splits lines on purpose */
	if (!tc_init(&v, "noncoherent", 1, &o))
		return SIZE_MAX;
	uint8_t *page = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	uint8_t *buf = page + 40; /* inside a line */
	const uint32_t sector = 512, n = 4;
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                            .adapter = &ad_obj,
	                            .device = &pdo_o,
	                            .count = 16,
	                            .flags = DC_KEVF_MASTER | DC_KEVF_SG});
	struct dc_kev_piece all = {buf, dc_va_to_pa(v.m, buf), dc_va_to_pa(v.m, buf), sector * n};
	dc_cpu_cache_range(v.m, buf, sector * n, DC_CACHE_CLEAN_INVAL, false);
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_KE_FLUSH,
	                            .pc = tc_pc_start_io,
	                            .routine = "KeFlushIoBuffers",
	                            .mdl = &mdl_o,
	                            .flags = DC_KEVF_READ | DC_KEVF_DMA,
	                            .pieces = &all,
	                            .n_pieces = 1});
	uint8_t data[512];
	for (uint32_t k = 0; k < n; k++) {
		uint8_t *va = buf + k * sector;
		struct dc_kev_piece p = {va, dc_va_to_pa(v.m, va), dc_va_to_pa(v.m, va), sector};
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_SG_MAP,
		                            .pc = tc_pc_start_io,
		                            .routine = "GetScatterGatherList",
		                            .adapter = &ad_obj,
		                            .mdl = &mdl_o,
		                            .va = va,
		                            .len = sector,
		                            .len_out = sector,
		                            .dir = DC_DIR_FROM_DEVICE,
		                            .xfer = k + 1,
		                            .sgl = &pdo_o + k,
		                            .pieces = &p,
		                            .n_pieces = 1});
		memset(data, 0x60 + (int)k, sizeof(data));
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
		                            .device = &pdo_o,
		                            .adapter = &ad_obj,
		                            .logical = p.logical,
		                            .len = sector,
		                            .dir = DC_DIR_FROM_DEVICE,
		                            .value = v.src,
		                            .status = 1});
		dc_dma_write(v.m, v.src, p.pa, data, sector);
		/* PutScatterGatherList: the HAL invalidates what the device wrote. */
		dc_cpu_cache_range(v.m, va, sector, DC_CACHE_CLEAN_INVAL, false);
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_SG_PUT,
		                            .pc = tc_pc_dpc,
		                            .routine = "PutScatterGatherList",
		                            .adapter = &ad_obj,
		                            .dir = DC_DIR_FROM_DEVICE,
		                            .xfer = k + 1,
		                            .status = 1});
		dc_cpu_ref(v.m, va, sector, DC_ACC_READ, tc_pc_copy);
		if (write_between && k == 1)
			dc_cpu_fill_pc(v.m, va + sector - 1, 0x11, 1, tc_pc_copy);
	}
	*c02 = (int)dc_check_rule_hits(v.c, DC_RULE_C02);
	size_t count = dc_check_count(v.c);
	if (count) {
		static char sig[4096];
		tc_signature(&v, sig, sizeof(sig));
		dct_log("%s", sig);
	}
	tc_fini(&v);
	return count;
}

DC_TEST(trust_sector_lists_read_after_put_no_false_c02)
{
	int c02 = 0;
	CHECK_EQ(sector_lists(false, &c02), 0);
	size_t n = sector_lists(true, &c02);
	CHECK_MSG(c02 == 1, "a dirty line under the next piece must stay C02 (%zu findings)", n);
}

/* A split loop that never advances CurrentVa (MapTransfer and FlushAdapterBuffers agree, so no
 * other rule sees it) maps the buffer's first bytes again and again: A13, the bytes never
 * transferred, at the MapTransfer. */
DC_TEST(trust_a13_unadvanced_split_loop_caught)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r,
	                   (const char *const[]){"run", "--driver", "sysdma-bug-A13", "--workload",
	                                         "count=20", "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	CHECK_MSG(strstr(r.err, "ERROR: A13 transfer-coverage: IRP completed with Information") &&
	              strstr(r.err, "transferred never [mapped at examples/drivers/sysdma.c:"),
	          "%s", r.err);
	CHECK_MSG(strstr(r.out, "findings   A13 x"), "%s", r.out);
}

/* KeFlushIoBuffers on bytes that are not an MDL: A07 at the driver's call. */
DC_TEST(trust_garbage_mdl_flush_is_a07)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_KE_FLUSH,
	                            .pc = tc_pc_start_io,
	                            .routine = "KeFlushIoBuffers",
	                            .mdl = &mdl_o,
	                            .flags = DC_KEVF_READ | DC_KEVF_DMA,
	                            .status = DC_KFLUSH_BAD_MDL});
	bool a07 = dc_check_rule_hits(v.c, DC_RULE_A07) == 1;
	size_t n = dc_check_count(v.c);
	tc_fini(&v);
	CHECK(a07 && n == 1);
}

/* A13 on the events: a read IRP of 2048 bytes moved in scatter/gather lists over the given
 * [offset, offset + length) pieces of its buffer, completed with Information 2048. */
static size_t coverage_case(const uint32_t (*spans)[2], size_t n, int *a13, char *sig, size_t len)
{
	struct tc_env v;
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	o.alignment_warnings = false;
	if (!tc_init(&v, "noncoherent", 1, &o))
		return SIZE_MAX;
	static char irp_o;
	uint8_t *buf = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	struct dc_kev_piece whole = {buf, dc_va_to_pa(v.m, buf), 0, 2048};
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                            .adapter = &ad_obj,
	                            .device = &pdo_o,
	                            .count = 16,
	                            .flags = DC_KEVF_MASTER | DC_KEVF_SG});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRP_SEND,
	                            .irp = &irp_o,
	                            .device = &pdo_o,
	                            .mdl = &mdl_o,
	                            .value = 3 /* IRP_MJ_READ */,
	                            .len = 2048,
	                            .pieces = &whole,
	                            .n_pieces = 1});
	for (size_t k = 0; k < n; k++) {
		uint8_t *va = buf + spans[k][0];
		struct dc_kev_piece p = {va, dc_va_to_pa(v.m, va), dc_va_to_pa(v.m, va),
		                         spans[k][1]};
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_SG_MAP,
		                            .pc = tc_pc_start_io,
		                            .routine = "GetScatterGatherList",
		                            .adapter = &ad_obj,
		                            .mdl = &mdl_o,
		                            .va = va,
		                            .len = p.len,
		                            .len_out = p.len,
		                            .dir = DC_DIR_FROM_DEVICE,
		                            .xfer = k + 1,
		                            .sgl = &pdo_o + k,
		                            .pieces = &p,
		                            .n_pieces = 1});
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_SG_PUT,
		                            .pc = tc_pc_dpc,
		                            .routine = "PutScatterGatherList",
		                            .adapter = &ad_obj,
		                            .dir = DC_DIR_FROM_DEVICE,
		                            .xfer = k + 1,
		                            .status = 1});
	}
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                            .pc = tc_pc_complete,
	                            .irp = &irp_o,
	                            .device = &pdo_o,
	                            .mdl = &mdl_o,
	                            .status = 0,
	                            .len_out = 2048,
	                            .len = 2048,
	                            .value = 3});
	*a13 = (int)dc_check_rule_hits(v.c, DC_RULE_A13);
	size_t count = dc_check_count(v.c);
	tc_signature(&v, sig, len);
	tc_fini(&v);
	return count;
}

DC_TEST(trust_a13_twice_skipped_and_retry)
{
	static char sig[4096];
	int a13 = 0;
	static const uint32_t exact[][2] = {{0, 1024}, {1024, 1024}};
	CHECK_MSG(coverage_case(exact, 2, &a13, sig, sizeof(sig)) == 0, "%s", sig);
	/* A retry of the first piece (same start) is not a duplicate. */
	static const uint32_t retry[][2] = {{0, 1024}, {0, 1024}, {1024, 1024}};
	CHECK_MSG(coverage_case(retry, 3, &a13, sig, sizeof(sig)) == 0, "%s", sig);
	/* A loop that advanced by too little: 512 bytes twice. */
	static const uint32_t twice[][2] = {{0, 1024}, {512, 1024}, {1536, 512}};
	coverage_case(twice, 3, &a13, sig, sizeof(sig));
	CHECK_MSG(a13 == 1 && strstr(sig, "A13 error") && strstr(sig, "bytes 512"), "%s", sig);
	/* One that advanced by too much: 512 bytes never. */
	static const uint32_t skip[][2] = {{0, 512}, {1024, 1024}};
	coverage_case(skip, 2, &a13, sig, sizeof(sig));
	CHECK_MSG(a13 == 1 && strstr(sig, "bytes 512"), "%s", sig);
}

/* A bounded sweep: every correct example driver on every built-in platform with ISA-zone
 * buffers anywhere in a page and four requests in flight (the workloads that hung or failed
 * them before the HAL double-buffered DMA-page crossings): clean, no failed or hung IRP. */
DC_TEST(trust_correct_drivers_clean_on_isa_zone_every_platform)
{
	static const char *const drivers[] = {"autoinit",      "busmaster", "floppy", "pio", "ring",
	                                      "ring-uncached", "sglist",    "sysdma", "wave"};
	static const char *const platforms[] = {"pc", "noncoherent", "noncoherent-prefetch"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(drivers); i++)
		for (size_t k = 0; k < DC_ARRAY_SIZE(platforms); k++) {
			const char *w =
			    !strcmp(drivers[i], "pio")
			        ? "count=40,zone=isa,align=any,outstanding=4,size=1-8192"
			        : "count=40,zone=isa,align=any,outstanding=4";
			clean_run((const char *const[]){"run", "--driver", drivers[i], "--platform",
			                                platforms[k], "--workload", w, "--seed",
			                                "2", "--deterministic", NULL});
		}
}
