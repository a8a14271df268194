/* The sanitizer's version 3 rules on short event sequences (the test plays the kernel): the
 * rules no v3bm twin can show on bmblk (V05: FlushAdapterBuffersEx failing; V06: the adapter
 * object still allocated at PutDmaAdapter), V04 at the completion of an IRP whose partial
 * mapping was not continued, and that the same sequences from the v1/v2 routines stay C08 / A05
 * (the v3 rules only take over v3 calls on v3 adapters). */
#include <string.h>

#include "dctest.h"
#include "test_check.h"
#include "check/check_int.h"

/* DMA_COMPLETION_STATUS values (wdm.h is the driver's side, not included here). */
enum { DmaComplete = 0, DmaError = 2, DmaCancelled = 3 };

static char adapter_obj, pdo_obj, mdl_obj, mrb_obj, irp_obj;

static void get_adapter(struct tc_env *v, int version)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 16,
	                           .status = version,
	                           .flags = DC_KEVF_MASTER | DC_KEVF_SG});
}

static void grant(struct tc_env *v, int action, const char *routine)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .routine = routine,
	                           .pc = tc_pc_start_io,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 4});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .mrb = &mrb_obj,
	                           .count = 4,
	                           .status = action});
}

static void put(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_PUT,
	                           .routine = "PutDmaAdapter",
	                           .pc = tc_pc_complete,
	                           .adapter = &adapter_obj,
	                           .status = 1});
}

/* A one-page write mapped by `map_routine`, its DmaCompletionRoutine called with `completion`
 * (-1: none), flushed by `flush_routine` with `flush_ok` as the verdict, its IRP completed
 * with success; the registers freed, the adapter put. */
static void transfer_then_success(struct tc_env *v, int version, const char *map_routine,
                                  int completion, const char *flush_routine, int flush_ok)
{
	uint8_t *buf = dc_alloc_cached(v->m, 1, DC_ZONE_DMA32, false);
	uint64_t pa = dc_va_to_pa(v->m, buf);
	struct dc_kev_piece p = {buf, pa, pa, DC_PAGE_SIZE};
	get_adapter(v, version);
	grant(v, 3, "AllocateAdapterChannel");
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_SEND,
	                           .irp = &irp_obj,
	                           .device = &pdo_obj,
	                           .value = 4 /* IRP_MJ_WRITE */,
	                           .mdl = &mdl_obj,
	                           .len = DC_PAGE_SIZE,
	                           .pieces = &p,
	                           .n_pieces = 1});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = tc_pc_start_io,
	                           .routine = map_routine,
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = buf,
	                           .len = DC_PAGE_SIZE,
	                           .len_out = DC_PAGE_SIZE,
	                           .logical = pa,
	                           .dir = DC_DIR_TO_DEVICE,
	                           .xfer = 1,
	                           .pieces = &p,
	                           .n_pieces = 1});
	if (completion >= 0)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_DMA_COMPLETION,
		                           .pc = tc_pc_dpc,
		                           .routine = "DmaCompletionRoutine",
		                           .adapter = &adapter_obj,
		                           .device = &pdo_obj,
		                           .mdl = &mdl_obj,
		                           .mrb = &mrb_obj,
		                           .status = completion});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_FLUSH,
	                           .pc = tc_pc_dpc,
	                           .routine = flush_routine,
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = buf,
	                           .len = DC_PAGE_SIZE,
	                           .dir = DC_DIR_TO_DEVICE,
	                           .status = flush_ok,
	                           .xfer = 1});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAPREG_FREE,
	                           .pc = tc_pc_dpc,
	                           .adapter = &adapter_obj,
	                           .mrb = &mrb_obj,
	                           .count = 4,
	                           .status = 1});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                           .pc = tc_pc_complete,
	                           .irp = &irp_obj,
	                           .device = &pdo_obj,
	                           .mdl = &mdl_obj,
	                           .status = 0,
	                           .len = DC_PAGE_SIZE,
	                           .len_out = DC_PAGE_SIZE,
	                           .value = 4});
	put(v);
}

static size_t only(struct tc_env *v, enum dc_rule r)
{
	size_t n = dc_check_count(v->c), hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += dc_check_finding(v->c, i)->rule == r;
	if (hits != n || !n) {
		static char sig[4096];
		tc_signature(v, sig, sizeof(sig));
		dct_log("%s", sig);
	}
	return hits == n ? n : 0;
}

DC_TEST(dma_v3_rules_failed_flush_ex_then_success_is_v05)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	transfer_then_success(&v, 3, "MapTransferEx", -1, "FlushAdapterBuffersEx", 0);
	CHECK_EQ(only(&v, DC_RULE_V05), 1);
	tc_fini(&v);
	/* The same from the v1 routines: C08, as before. */
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	transfer_then_success(&v, 2, "MapTransfer", -1, "FlushAdapterBuffers", 0);
	CHECK_EQ(only(&v, DC_RULE_C08), 1);
	tc_fini(&v);
}

/* The DmaCompletionRoutine's status decides the IRP as the flush's does: DmaError or
 * DmaCancelled then success is V05 even when FlushAdapterBuffersEx succeeded; DmaComplete is
 * clean; a failed completion and a failed flush of one transfer are one finding. */
DC_TEST(dma_v3_rules_completion_status_then_success_is_v05)
{
	static const int bad[] = {DmaError, DmaCancelled};
	for (unsigned i = 0; i < 2; i++) {
		struct tc_env v;
		CHECK(tc_init(&v, "noncoherent", 1, NULL));
		transfer_then_success(&v, 3, "MapTransferEx", bad[i], "FlushAdapterBuffersEx", 1);
		CHECK_EQ(only(&v, DC_RULE_V05), 1);
		const struct dc_finding *f = dc_check_finding(v.c, 0);
		CHECK(f && strstr(f->what, bad[i] == DmaError ? "DmaError" : "DmaCancelled"));
		tc_fini(&v);
	}
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	transfer_then_success(&v, 3, "MapTransferEx", DmaComplete, "FlushAdapterBuffersEx", 1);
	CHECK_EQ(dc_check_count(v.c), 0);
	tc_fini(&v);
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	transfer_then_success(&v, 3, "MapTransferEx", DmaError, "FlushAdapterBuffersEx", 0);
	CHECK_EQ(only(&v, DC_RULE_V05), 1);
	tc_fini(&v);
}

DC_TEST(dma_v3_rules_adapter_object_held_at_put_is_v06)
{
	struct tc_env v;
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	grant(&v, 1 /* KeepObject: a synchronous AllocateAdapterChannelEx */,
	      "AllocateAdapterChannelEx");
	put(&v);
	CHECK_EQ(only(&v, DC_RULE_V06), 1);
	tc_fini(&v);
	/* Released by FreeAdapterObject(DeallocateObject): clean. */
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	grant(&v, 1, "AllocateAdapterChannelEx");
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_CHANNEL_FREE,
	                            .routine = "FreeAdapterObject",
	                            .pc = tc_pc_dpc,
	                            .adapter = &adapter_obj,
	                            .mrb = &mrb_obj,
	                            .count = 4,
	                            .status = 1});
	put(&v);
	CHECK_EQ(dc_check_count(v.c), 0);
	tc_fini(&v);
	/* DeallocateObjectKeepRegisters then FreeMapRegisters: clean. */
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	grant(&v, 1, "AllocateAdapterChannelEx");
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_CHANNEL_FREE,
	                            .routine = "FreeAdapterObject",
	                            .pc = tc_pc_dpc,
	                            .adapter = &adapter_obj,
	                            .mrb = &mrb_obj,
	                            .flags = DC_KEVF_KEEP_REGS,
	                            .status = 1});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_MAPREG_FREE,
	                            .pc = tc_pc_dpc,
	                            .adapter = &adapter_obj,
	                            .mrb = &mrb_obj,
	                            .count = 4,
	                            .status = 1});
	put(&v);
	CHECK_EQ(dc_check_count(v.c), 0);
	tc_fini(&v);
	/* A v2 adapter's channel held at PutDmaAdapter is A05, as before. */
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 2);
	grant(&v, 1, "AllocateAdapterChannel");
	put(&v);
	CHECK_EQ(only(&v, DC_RULE_A05), 1);
	tc_fini(&v);
}

static void map_ex(struct tc_env *v, uint64_t off, uint64_t asked, uint64_t got)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP_EX,
	                           .pc = tc_pc_start_io,
	                           .routine = "MapTransferEx",
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .value = (int64_t)off,
	                           .len = asked,
	                           .len_out = got,
	                           .dir = DC_DIR_TO_DEVICE});
}

DC_TEST(dma_v3_rules_partial_mapping_continued_or_not)
{
	/* Continued at Offset + *Length (or before it, the tail again): clean. */
	struct tc_env v;
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	map_ex(&v, 0, 32768, 16000);
	map_ex(&v, 15872, 16896, 16896);
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                            .pc = tc_pc_complete,
	                            .mdl = &mdl_obj,
	                            .len = 32768,
	                            .len_out = 32768,
	                            .value = 4});
	CHECK_EQ(dc_check_count(v.c), 0);
	tc_fini(&v);
	/* The next call past the end: V04; the IRP completed past it: V04 too. */
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	map_ex(&v, 0, 32768, 16000);
	map_ex(&v, 32768, 8192, 8192);
	CHECK_EQ(only(&v, DC_RULE_V04), 1);
	tc_fini(&v);
	CHECK(tc_init(&v, "pc", 1, NULL));
	get_adapter(&v, 3);
	map_ex(&v, 0, 32768, 16000);
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                            .pc = tc_pc_complete,
	                            .mdl = &mdl_obj,
	                            .len = 32768,
	                            .len_out = 32768,
	                            .value = 4});
	CHECK_EQ(only(&v, DC_RULE_V04), 1);
	CHECK_EQ(dc_check_finding(v.c, 0)->bytes, 32768 - 16000);
	tc_fini(&v);
}

/* Which routine names are version 3's (the sanitizer's V rules key on it): all of them, and none
 * of the version 1/2 routines or near misses, whatever the quick filter in front of the list. */
DC_TEST(v3_routine_names_are_told_apart)
{
	static const char *const v3[] = {"MapTransferEx",
	                                 "FlushAdapterBuffersEx",
	                                 "GetScatterGatherListEx",
	                                 "BuildScatterGatherListEx",
	                                 "AllocateCommonBufferEx",
	                                 "AllocateCommonBufferWithBounds",
	                                 "AllocateCommonBufferVector",
	                                 "AllocateAdapterChannelEx",
	                                 "FreeAdapterObject"};
	static const char *const v1[] = {"MapTransfer",
	                                 "FlushAdapterBuffers",
	                                 "GetScatterGatherList",
	                                 "PutScatterGatherList",
	                                 "BuildScatterGatherList",
	                                 "AllocateCommonBuffer",
	                                 "AllocateAdapterChannel",
	                                 "FreeAdapterChannel",
	                                 "FreeMapRegisters",
	                                 "KeFlushIoBuffers",
	                                 "Ex",
	                                 "x",
	                                 "",
	                                 "MapTransferEX",
	                                 "AllocateCommonBufferExx"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(v3); i++)
		CHECK_MSG(dc_v3_routine(v3[i]), "%s is a v3 routine", v3[i]);
	for (size_t i = 0; i < DC_ARRAY_SIZE(v1); i++)
		CHECK_MSG(!dc_v3_routine(v1[i]), "%s is not a v3 routine", v1[i]);
	CHECK(!dc_v3_routine(NULL));
}
