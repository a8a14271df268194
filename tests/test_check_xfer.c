/* The sanitizer's transfer records as src/check/xfer.c keeps them since they are snapshotted a
 * page of lines at a time and reused from a pool: a to-device transfer that covers a cache line
 * in part counts only its own bytes of that line (at its head and at its tail), and a record
 * taken from the pool starts with nothing of the transfer before it.  The device is an engine
 * that issues no DEVICE_ACCESS events (judged by bus address, as the 8237).  And the search of a
 * transfer's pieces by bus address (dc_chk_xfer_at), against a walk of every piece. */
#include <string.h>

#include "dctest.h"
#include "test_check.h"
#include "check/chk.h"
#include "hw/rng.h"

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

/* Random piece lists — in order, shuffled (the pages of a buffer scattered in memory), touching,
 * with gaps, overlapping, empty or reaching the top of the address space — and random bus
 * ranges: where the search applies (lsorted exactly when no two pieces overlap and none is
 * empty or wraps), it finds the pieces a walk of every piece finds, and the one ending at the
 * range's start. */
DC_TEST(check_xfer_pieces_by_bus_address_bisected_as_walked)
{
	struct tc_env v;
	CHECK(tc_init(&v, "pc", 1, NULL));
	struct dc_check *c = v.c;
	struct dc_rng r;
	dc_rng_seed(&r, 18);
	enum { MAXP = 80 };
	struct dc_kev_piece pc[MAXP];
	unsigned bad = 0, sorted_lists = 0;
	for (int round = 0; round < 400 && !bad; round++) {
		uint32_t n = (uint32_t)dc_rng_below(&r, MAXP) + (round < 4 ? 0 : 1);
		uint64_t base =
		    round % 7 == 0 ? UINT64_MAX - 40 * 4096 : dc_rng_below(&r, 1u << 30);
		uint64_t at = base;
		int kind = (int)dc_rng_below(&r, 4); /* 0 touching, 1 gaps, 2 overlaps, 3 empties */
		for (uint32_t i = 0; i < n; i++) {
			uint64_t len = 1 + dc_rng_below(&r, 8192);
			if (kind == 3 && dc_rng_below(&r, 8) == 0)
				len = 0;
			pc[i] = (struct dc_kev_piece){NULL, 0x1000, at, len};
			if (kind == 2 && dc_rng_below(&r, 6) == 0 && len > 1)
				at +=
				    dc_rng_below(&r, 2) ? len / 2 : len - 1; /* a byte in common */
			else
				at += len + (kind == 1 ? dc_rng_below(&r, 3) * 4096 : 0);
		}
		if (dc_rng_below(&r, 2)) /* shuffled */
			for (uint32_t i = n; i > 1; i--) {
				uint32_t j = (uint32_t)dc_rng_below(&r, i);
				struct dc_kev_piece t = pc[i - 1];
				pc[i - 1] = pc[j], pc[j] = t;
			}
		/* The property lsorted must have: no overlap, no empty piece, no wrap. */
		bool disjoint = true;
		for (uint32_t i = 0; i < n; i++) {
			disjoint &= pc[i].len && pc[i].len <= UINT64_MAX - pc[i].logical;
			for (uint32_t j = 0; j < i; j++)
				disjoint &= pc[i].logical >= pc[j].logical + pc[j].len ||
				            pc[j].logical >= pc[i].logical + pc[i].len;
		}
		struct dc_kev e = {.type = DC_KEV_SG_MAP,
		                   .xfer = 1000u + (unsigned)round,
		                   .dir = DC_DIR_FROM_DEVICE,
		                   .pieces = pc,
		                   .n_pieces = n};
		struct dc_xfer *x = dc_chk_xfer_open(c, &e, true);
		CHECK(x != NULL);
		if (x->lsorted != disjoint) {
			dct_log("round %d: lsorted %d, pieces disjoint %d", round, x->lsorted,
			        disjoint);
			bad++;
		}
		sorted_lists += x->lsorted;
		for (int q = 0; q < 60 && x->lsorted && !bad; q++) {
			uint32_t k = (uint32_t)dc_rng_below(&r, n);
			uint64_t lo = pc[k].logical + dc_rng_below(&r, pc[k].len + 1) -
			              (q % 3 == 0 ? dc_rng_below(&r, 9000) : 0);
			uint64_t hi = lo + dc_rng_below(&r, 3 * 8192);
			if (hi < lo)
				hi = UINT64_MAX;
			uint32_t first, end = dc_chk_xfer_at(x, lo, hi, &first);
			/* Walk: which pieces overlap [lo, hi), and which one ends at lo. */
			uint32_t overl = 0, in_range = 0;
			int ends = -1;
			for (uint32_t i = 0; i < n; i++) {
				bool ov = DC_MAX(lo, pc[i].logical) <
				          DC_MIN(hi, pc[i].logical + pc[i].len);
				overl += ov;
				if (pc[i].logical + pc[i].len == lo)
					ends = (int)i;
			}
			for (uint32_t i = first; i < end; i++) {
				const struct dc_kev_piece *p = &x->pieces[x->lorder[i].i];
				in_range +=
				    DC_MAX(lo, p->logical) < DC_MIN(hi, p->logical + p->len);
				if (i > first && p->logical < x->pieces[x->lorder[i - 1].i].logical)
					bad++;
			}
			bool before_ok =
			    ends < 0 || (first > 0 && x->lorder[first - 1].i == (uint32_t)ends);
			if (in_range != overl || end - first != overl || !before_ok) {
				dct_log(
				    "round %d: [%#llx, %#llx): walk %u (ends at lo: %d), search %u "
				    "of [%u, %u)",
				    round, (unsigned long long)lo, (unsigned long long)hi, overl,
				    ends, in_range, first, end);
				bad++;
			}
		}
		dc_chk_xfer_close(c, x);
	}
	tc_fini(&v);
	CHECK_EQ(bad, 0);
	CHECK(sorted_lists > 50); /* the search itself was tried */
}
