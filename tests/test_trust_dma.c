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
