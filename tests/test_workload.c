/* The workload of `dmacoh run`: strict parsing of its string, the per-IRP results it reports,
 * injected faults with several requests outstanding, sizes checked against the device, IRP
 * timeouts that follow the device's speed, and verification that keeps memory bounded. */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/check.h"
#include "devices/ring.h"
#include "hw/device.h"
#include "hw/parse.h"
#include "kernel/workload.h"
#include "kflow.h"

DC_TEST(parse_u64_strict)
{
	uint64_t v = 7;
	CHECK_EQ(dc_parse_u64("42", 0, UINT64_MAX, &v), DC_OK);
	CHECK_EQ(v, 42);
	CHECK_EQ(dc_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), DC_OK);
	CHECK_EQ(v, UINT64_MAX);
	static const char *const bad[] = {"", " 1", "1 ", "-1", "+5", "0x10", "1e3", "1,0", "12k"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(bad); i++)
		CHECK_MSG(dc_parse_u64(bad[i], 0, UINT64_MAX, &v) == DC_ERR_PARSE, "'%s'", bad[i]);
	CHECK_EQ(dc_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), DC_ERR_RANGE);
	CHECK_EQ(dc_parse_u64("65", 0, 64, &v), DC_ERR_RANGE);
	CHECK_EQ(dc_parse_u64("0x10", DC_NUM_HEX, UINT64_MAX, &v), DC_OK);
	CHECK_EQ(v, 16);
	CHECK_EQ(dc_parse_u64("64K", DC_NUM_SIZE, UINT64_MAX, &v), DC_OK);
	CHECK_EQ(v, 65536);
	CHECK_EQ(dc_parse_u64("2KiB", DC_NUM_SIZE, UINT64_MAX, &v), DC_OK);
	CHECK_EQ(v, 2048);
	CHECK_EQ(dc_parse_u64("16777216T", DC_NUM_SIZE, UINT64_MAX, &v), DC_ERR_RANGE);
	char q[16];
	CHECK(!strcmp(dc_parse_quote(q, sizeof(q), "a\nb\tc"), "a\\nb\\tc"));
	CHECK(!strcmp(dc_parse_quote(q, sizeof(q), "0123456789abcdefgh"), "0123456789ab..."));
}

DC_TEST(workload_parse_refuses_what_it_cannot_take)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"count=18446744073709551616", "count=18446744073709551616: out of range"},
	    {"count= -1", "count= -1: not a plain decimal number"},
	    {"count=-1", "not a plain decimal number"},
	    {"count=+5", "not a plain decimal number"},
	    {"count=5 ", "not a plain decimal number"},
	    {"count=", "not a plain decimal number"},
	    {"seed=0x10", "not a plain decimal number"},
	    {"count=0", "this workload moves no data"},
	    {"", "workload: empty"},
	    {"count=5,,seed=1", "an empty item"},
	    {"count=5,", "an empty item"},
	    {"read=0,write=0", "this workload moves no data"},
	    {"size=0", "this workload moves no data"},
	    {"size=0-0", "this workload moves no data"},
	    {"size=1-65M", "need MIN <= MAX <= 64M"},
	    /* longer than 63 characters: once cut to its first 63 and accepted */
	    {"size=512-00000000000000000000000000000000000000000000000000000004096"
	     "x",
	     "expected N or MIN-MAX"},
	    {"outstanding=0", "out of range"},
	    {"outstanding=65", "out of range"},
	    {"align=4096", "expected any, line, page or 0-4095"},
	    {"zone=ISA", "expected any, isa, dma32 or high"},
	    {"count\n=5", "unknown key 'count\\n'"},
	    {"size=1\n2", "size=1\\n2"},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(bad); i++) {
		struct dc_workload w;
		dc_workload_default(&w);
		char err[256] = "";
		CHECK_MSG(dc_workload_parse(bad[i].text, &w, err, sizeof(err)) == DC_ERR_PARSE,
		          "'%s' accepted", bad[i].text);
		CHECK_MSG(strstr(err, bad[i].msg) && !strchr(err, '\n') &&
		              !strncmp(err, "workload: ", 10),
		          "'%s': '%s'", bad[i].text, err);
		CHECK_EQ(w.count, 100); /* untouched */
	}
	static const char *const good[] = {
	    /* the README's example: refused once (fault=N needed outstanding=1) */
	    "count=1000,size=512-65536,align=any,outstanding=4,fault=50",
	    "count=1000000000000",
	    "size=64K",
	    "size=1-64M",
	    "read=0,write=1,ioctl=0",
	    "seed=18446744073709551615"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(good); i++) {
		struct dc_workload w;
		dc_workload_default(&w);
		char err[256] = "";
		CHECK_MSG(dc_workload_parse(good[i], &w, err, sizeof(err)) == DC_OK, "'%s': %s",
		          good[i], err);
	}
	struct dc_workload w;
	dc_workload_default(&w);
	char err[256];
	CHECK_EQ(dc_workload_parse("size=1K-2K,outstanding=4,fault=3", &w, err, sizeof(err)),
	         DC_OK);
	CHECK_EQ(w.size_min, 1024);
	CHECK_EQ(w.size_max, 2048);
	CHECK_EQ(w.outstanding, 4);
	CHECK_EQ(w.fault, 3);
}

struct results {
	uint64_t n[3];
	struct dc_irp_result first[3];
};

static void on_result(void *opaque, const struct dc_irp_result *r)
{
	struct results *rs = opaque;
	if (!rs->n[r->outcome]++)
		rs->first[r->outcome] = *r;
}

/* Runs `driver` on `device` over the workload string; DC_OK or the run's error (err). */
static int run(const char *driver, const char *device, const char *plat, const char *text,
               struct dc_run_stats *st, struct results *res, char *err, size_t errlen)
{
	struct kf k;
	int rc = kf_open(&k, plat, 1, device, NULL, driver);
	if (rc) {
		snprintf(err, errlen, "%s", k.err);
		return rc;
	}
	struct dc_workload w;
	dc_workload_default(&w);
	rc = dc_workload_parse(text, &w, err, errlen);
	if (!rc) {
		if (res) {
			memset(res, 0, sizeof(*res));
			w.on_result = on_result;
			w.result_opaque = res;
		}
		rc = dc_run_workload(k.s, k.dev, k.top, &w, st, NULL, NULL, err, errlen);
	}
	kf_close(&k);
	return rc;
}

DC_TEST(workload_reports_each_wrong_irp)
{
	/* The twin never flushes after DMA: reads see stale lines on a non-coherent machine. */
	struct dc_run_stats st;
	static struct results res;
	char err[256] = "";
	CHECK_EQ(run("sysdma-bug-C07", "sysblk", "noncoherent", "count=20,size=4096-16384", &st,
	             &res, err, sizeof(err)),
	         DC_OK);
	CHECK_MSG(st.mismatched > 0, "the twin corrupted nothing");
	CHECK_EQ(res.n[DC_IRP_WRONG_DATA], st.mismatched);
	const struct dc_irp_result *r = &res.first[DC_IRP_WRONG_DATA];
	CHECK_EQ(r->irp, st.first_irp);
	CHECK(!strcmp(r->kind, st.first_kind));
	CHECK_EQ(r->store_off, st.first_store_off);
	CHECK_EQ(r->buf_off, st.first_buf_off);
	CHECK_EQ(r->want, st.first_want);
	CHECK_EQ(r->got, st.first_got);
	CHECK(r->bad_bytes > 0 && r->bad_bytes <= r->length);
	CHECK(r->time > 0);
	CHECK_EQ(res.n[DC_IRP_HUNG], 0);
	CHECK_EQ(res.n[DC_IRP_FAILED], st.failed);
}

DC_TEST(workload_fault_with_outstanding_requests)
{
	/* fault=N was refused with outstanding > 1 (and the README's own example with it). */
	static const char *const cases[][2] = {
	    {"sysdma", "sysblk"}, {"sglist", "bmblk"}, {"busmaster", "bmblk"}};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		struct dc_run_stats st;
		static struct results res;
		char err[256] = "";
		int rc = run(cases[i][0], cases[i][1], "noncoherent",
		             "count=80,size=512-16384,outstanding=4,fault=5", &st, &res, err,
		             sizeof(err));
		CHECK_MSG(rc == DC_OK, "%s: %s", cases[i][0], err);
		CHECK_MSG(st.faults > 0 && !st.false_ok && !st.failed && !st.mismatched && !st.hung,
		          "%s: %llu faults, %llu false ok, %llu failed, %llu wrong, %llu hung",
		          cases[i][0], (unsigned long long)st.faults,
		          (unsigned long long)st.false_ok, (unsigned long long)st.failed,
		          (unsigned long long)st.mismatched, (unsigned long long)st.hung);
		CHECK_EQ(res.n[DC_IRP_FAILED] + res.n[DC_IRP_HUNG] + res.n[DC_IRP_WRONG_DATA], 0);
	}
}

DC_TEST(workload_sizes_checked_against_the_device)
{
	struct dc_run_stats st;
	char err[256] = "";
	/* A sector device: once zero-byte IRPs and "every byte verified". */
	CHECK_EQ(run("sysdma", "sysblk", "pc", "size=0-100", &st, NULL, err, sizeof(err)),
	         DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "this workload moves no data") && !strchr(err, '\n'), "%s", err);
	/* A stream request of 64M was taken, failed, and held 2 GB. */
	CHECK_EQ(run("wave", "sb16", "pc", "size=64M", &st, NULL, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "at most"), "%s", err);
	/* fault=N was silently ignored on ring. */
	CHECK_EQ(run("ring", "ring", "pc", "count=4,fault=2", &st, NULL, err, sizeof(err)),
	         DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "not on ring"), "%s", err);
	/* The store shared by the outstanding requests. */
	CHECK_EQ(
	    run("sysdma", "sysblk", "pc", "size=1M,outstanding=2", &st, NULL, err, sizeof(err)),
	    DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "does not fit"), "%s", err);
}

DC_TEST(workload_floppy_big_read_not_hung)
{
	/* A 288 KiB read takes a floppy about 10 s: the fixed 10 s timeout called it hung. */
	struct dc_run_stats st;
	static struct results res;
	char err[256] = "";
	CHECK_EQ(run("floppy", "fdc", "pc", "count=2,read=1,write=0,ioctl=0,size=288K", &st, &res,
	             err, sizeof(err)),
	         DC_OK);
	CHECK_MSG(!st.hung && !st.failed && !st.mismatched && st.reads == 2,
	          "%llu hung, %llu failed, %llu wrong", (unsigned long long)st.hung,
	          (unsigned long long)st.failed, (unsigned long long)st.mismatched);
	CHECK_EQ(res.n[DC_IRP_HUNG], 0);
}

DC_TEST(workload_stream_checked_as_it_plays)
{
	/* Many requests on sb16, outstanding and faulted: the sink is checked and consumed as
	 * it plays, the source dropped behind the reads; every byte still verified. */
	struct dc_run_stats st;
	static struct results res;
	char err[256] = "";
	for (uint64_t seed = 1; seed <= 4; seed++) {
		char text[128];
		snprintf(text, sizeof(text), "count=60,size=1-8192,outstanding=3,fault=9,seed=%llu",
		         (unsigned long long)seed);
		CHECK_EQ(run("wave", "sb16", "noncoherent", text, &st, &res, err, sizeof(err)),
		         DC_OK);
		CHECK_MSG(!st.hung && !st.failed && !st.mismatched && st.writes && st.reads,
		          "seed %llu: %llu hung, %llu failed, %llu wrong", (unsigned long long)seed,
		          (unsigned long long)st.hung, (unsigned long long)st.failed,
		          (unsigned long long)st.mismatched);
	}
}

DC_TEST(workload_ring_wire_log_bounded)
{
	/* The wire log kept every frame sent (1e5 x 9 KiB frames: 861 MB). */
	struct kf k;
	CHECK_EQ(kf_open(&k, "pc", 1, "ring", NULL, "ring"), DC_OK);
	struct dc_workload w;
	dc_workload_default(&w);
	char err[256];
	CHECK_EQ(
	    dc_workload_parse("count=400,size=9000,read=1,write=1,ioctl=0", &w, err, sizeof(err)),
	    DC_OK);
	struct dc_run_stats st;
	CHECK_EQ(dc_run_workload(k.s, k.dev, k.top, &w, &st, NULL, NULL, err, sizeof(err)), DC_OK);
	CHECK(!st.mismatched && !st.failed && !st.hung);
	struct dc_device *dev = dc_sysdev_device(k.dev);
	uint64_t size = dev->ops->store_size(dev->opaque);
	CHECK_MSG(size >= 400 * 9004, "%llu bytes on the wire", (unsigned long long)size);
	uint8_t b[4];
	/* The oldest bytes are gone; the newest record is there. */
	CHECK_EQ(dev->ops->store_read(dev->opaque, 0, b, 4), DC_ERR_RANGE);
	CHECK_EQ(dev->ops->store_read(dev->opaque, size - 9004, b, 4), DC_OK);
	CHECK_EQ(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24, 9000);
	kf_close(&k);
}

DC_TEST(options_strict_numbers_one_line_errors)
{
	/* DMACOH_OPTIONS takes the same strict numbers, and a quoted newline in a value gave a
	 * two-line error. */
	static const char *const bad[] = {"max_reports=+5", "max_reports=' 5'",
	                                  "max_reports=-1", "max_reports=4294967296",
	                                  "format='a\nb'",  "halt_on_error='1\n'"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(bad); i++) {
		struct dc_check_opts o;
		dc_check_opts_init(&o);
		char err[256] = "";
		CHECK_MSG(dc_check_opts_parse(&o, bad[i], err, sizeof(err)) == DC_ERR_PARSE,
		          "'%s' accepted", bad[i]);
		CHECK_MSG(err[0] && !strchr(err, '\n'), "'%s': '%s'", bad[i], err);
	}
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	char err[256] = "";
	CHECK_EQ(dc_check_opts_parse(&o, "max_reports=4294967295", err, sizeof(err)), DC_OK);
	CHECK_EQ(o.max_reports, 4294967295u);
}
