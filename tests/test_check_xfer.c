/* The sanitizer's transfer records as src/check/xfer.c keeps them since they are snapshotted a
 * page of lines at a time and reused from a pool: a to-device transfer that covers a cache line
 * in part counts only its own bytes of that line (at its head and at its tail), and a record
 * taken from the pool starts with nothing of the transfer before it.  The device is an engine
 * that issues no DEVICE_ACCESS events (judged by bus address, as the 8237). */
#include <string.h>

#include "dctest.h"
#include "test_check.h"

static char adapter_obj, pdo_obj, mdl_obj, mrb_obj;

static void get_adapter(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER | DC_KEVF_SG});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 4});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .mrb = &mrb_obj,
	                           .count = 4,
	                           .status = 3});
}

/* Maps [va, va + len) as transfer xfer in direction dir (map pc: pc), lets the device read or
 * write it by bus address, then flushes it. */
static void xfer_dir(struct tc_env *v, int src, uint64_t xfer, uint8_t *va, uint64_t len,
                     const void *pc, enum dc_dir dir)
{
	uint64_t pa = dc_va_to_pa(v->m, va);
	struct dc_kev_piece p = {va, pa, pa, len};
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = pc,
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = va,
	                           .len = len,
	                           .len_out = len,
	                           .logical = pa,
	                           .dir = dir,
	                           .xfer = xfer,
	                           .pieces = &p,
	                           .n_pieces = 1});
	uint8_t data[DC_PAGE_SIZE];
	memset(data, 0xd0, sizeof(data));
	if (dir == DC_DIR_TO_DEVICE)
		dc_dma_read(v->m, src, pa, data, len);
	else
		dc_dma_write(v->m, src, pa, data, len);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_FLUSH,
	                           .pc = tc_pc_dpc,
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = va,
	                           .len = len,
	                           .dir = dir,
	                           .status = 1,
	                           .xfer = xfer});
}

static void log_findings_if(struct tc_env *v, bool cond)
{
	static char sig[4096];
	if (!cond)
		return;
	tc_signature(v, sig, sizeof(sig));
	dct_log("%s", sig);
}

/* The CPU writes 8 bytes at buf + wr (never flushed); the device reads [buf + lo, buf + hi).
 * Returns the number of C01 findings. */
static size_t c01_after(uint32_t wr, uint32_t lo, uint32_t hi)
{
	struct tc_env v;
	if (!tc_init(&v, "noncoherent", 1, NULL))
		return 99;
	int src = dc_machine_dma_source(v.m, "i8237");
	uint8_t *buf = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	get_adapter(&v);
	dc_cpu_fill_pc(v.m, buf + wr, 0x42, 8, tc_pc_copy);
	xfer_dir(&v, src, 1, buf + lo, hi - lo, tc_pc_start_io, DC_DIR_TO_DEVICE);
	size_t n = 0;
	for (size_t i = 0; i < dc_check_count(v.c); i++)
		n += dc_check_finding(v.c, i)->rule == DC_RULE_C01;
	tc_fini(&v);
	return n;
}

DC_TEST(check_xfer_partial_line_to_device_counts_only_its_own_bytes)
{
	uint32_t ls = 64; /* the noncoherent platform's line */
	/* Head: the transfer starts in the middle of line 0. */
	CHECK_EQ(c01_after(0, 32, 32 + 512), 0);  /* written before it, same line */
	CHECK_EQ(c01_after(40, 32, 32 + 512), 1); /* written inside it, same line */
	CHECK_EQ(c01_after(ls + 8, 32, 32 + 512), 1);
	/* Tail: it ends in the middle of line 1. */
	CHECK_EQ(c01_after(ls + 48, 0, ls + 36), 0);
	CHECK_EQ(c01_after(ls + 24, 0, ls + 36), 1);
	/* Both in one line. */
	CHECK_EQ(c01_after(0, 16, 40), 0);
	CHECK_EQ(c01_after(48, 16, 40), 0);
	CHECK_EQ(c01_after(24, 16, 40), 1);
	/* Whole lines, and a line past the end. */
	CHECK_EQ(c01_after(2 * ls, 0, 2 * ls), 0);
	CHECK_EQ(c01_after(ls, 0, 2 * ls), 1);
}

DC_TEST(check_xfer_record_reused_starts_clean)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	int src = dc_machine_dma_source(v.m, "i8237");
	uint8_t *a = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	uint8_t *b = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	get_adapter(&v);
	/* Every line of a dirty and unflushed: C01 at the first map. */
	dc_cpu_fill_pc(v.m, a, 0x42, DC_PAGE_SIZE, tc_pc_copy);
	xfer_dir(&v, src, 1, a, DC_PAGE_SIZE, tc_pc_start_io, DC_DIR_TO_DEVICE);
	size_t first = dc_check_count(v.c);
	/* b was never touched: a from-device transfer on it (the same record, from the pool) has
	 * no line the CPU may hold, so the device's writes break nothing (a stale snapshot would
	 * be C02), whole or in part. */
	xfer_dir(&v, src, 2, b, DC_PAGE_SIZE, tc_pc_complete, DC_DIR_FROM_DEVICE);
	xfer_dir(&v, src, 3, b + 64, 128, tc_pc_dpc, DC_DIR_FROM_DEVICE);
	size_t after = dc_check_count(v.c);
	if (after != first)
		dct_log("%s", dc_check_finding(v.c, after - 1)->what);
	tc_fini(&v);
	CHECK_EQ(first, 1);
	CHECK_EQ(after, 1);
}

/* The report names the last writer of the transfer's first line with bytes the CPU wrote: a
 * write before the transfer's start, in the line it starts in, is not that line. */
DC_TEST(check_xfer_partial_head_line_names_the_writer_inside)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	int src = dc_machine_dma_source(v.m, "i8237");
	uint8_t *buf = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
	get_adapter(&v);
	dc_cpu_fill_pc(v.m, buf, 0x42, 8, tc_pc_copy);     /* before the start, line 0 */
	dc_cpu_fill_pc(v.m, buf + 72, 0x42, 8, tc_pc_dpc); /* inside, line 1 */
	xfer_dir(&v, src, 1, buf + 32, 512, tc_pc_start_io, DC_DIR_TO_DEVICE);
	bool one = dc_check_count(v.c) == 1;
	const struct dc_finding *f = one ? dc_check_finding(v.c, 0) : NULL;
	bool c01 = f && f->rule == DC_RULE_C01 && f->n_sites > 0;
	const void *writer = c01 ? f->site[0].pc : NULL;
	log_findings_if(&v, !c01 || writer != tc_pc_dpc);
	tc_fini(&v);
	CHECK(c01);
	CHECK(writer == tc_pc_dpc);
}
