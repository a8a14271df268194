/* Diagnostics a driver author needs (issue 14 item 6): DbgPrint capture (ring, counts, the
 * default DbgPrintEx filter, --dbgprint, the trace), failed and hung IRPs named in the summary
 * and the report with their status and the driver's last DbgPrint lines, summary lines that
 * claim nothing false, and `run --help` generated from the parser's own key table.  The driver
 * modules are tests/hostile/diag_hostile.c (mk/test_diag.mk). */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/wdm.h"
#include "kernel/dbgprint.h"
#include "kernel/sys.h"
#include "kernel/workload.h"

#define WL "count=4,ioctl=0,size=4096,align=page"

/* $(BUILD)/diag/diag_<name>.so beside the dmacoh binary. */
static const char *module(const char *name)
{
	static char path[PATH_MAX];
	const char *tool = dct_tool();
	snprintf(path, sizeof(path), "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(path, '/');
	size_t at = slash ? (size_t)(slash - path) + 1 : 0;
	snprintf(path + at, sizeof(path) - at, "diag/diag_%s.so", name);
	return path;
}

DC_TEST(diag_failed_irp_in_summary_with_status_and_dbgprint)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", module("fail"),
	                                             "--workload", WL, "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	static const char *const out[] = {
	    "1 failed, 0 hung",
	    "  failed     IRP 2 (write, IRP_MJ_WRITE, offset 0x67e00, length 4096): "
	    "STATUS_INSUFFICIENT_RESOURCES (0xC000009A), Win32 error 1450\n",
	    "DbgPrint [t=1051000 ns] diag: GetScatterGatherList: 17 map registers needed, 16 "
	    "granted\n",
	    "not verified: the 1 failed IRP",
	};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		CHECK_MSG(strstr(r.out, out[i]), "summary lacks '%s':\n%s", out[i], r.out);
	CHECK_MSG(!strstr(r.out, "every byte verified"), "%s", r.out);
	static const char *const err[] = {
	    "R03 irp-failed: IRP 2 (write, offset 0x67e00, length 4096) completed with "
	    "STATUS_INSUFFICIENT_RESOURCES (0xC000009A)",
	    "    IRP 2: IRP_MJ_WRITE, offset 0x67e00, length 4096, status "
	    "STATUS_INSUFFICIENT_RESOURCES (0xC000009A), Win32 error 1450\n",
	    "      [t=1051000 ns] diag: GetScatterGatherList: 17 map registers needed",
	};
	for (size_t i = 0; i < sizeof(err) / sizeof(err[0]); i++)
		CHECK_MSG(strstr(r.err, err[i]), "report lacks '%s':\n%s", err[i], r.err);
}

/* The summary is bounded: the first DC_RUN_IRPS_SHOWN (8) failed IRPs, then a count. */
DC_TEST(diag_many_failed_irps_bounded)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", module("failall"),
	                                             "--workload", "count=12,ioctl=0,align=page",
	                                             "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	size_t n = 0;
	for (const char *p = r.out; (p = strstr(p, "\n  failed     IRP ")); p++)
		n++;
	CHECK_MSG(n == 8 && strstr(r.out, "12 failed, 0 hung") &&
	              strstr(r.out, "  ...        4 more failed or hung IRPs") &&
	              strstr(r.out, "  failed     IRP 8 (") &&
	              strstr(r.out, "STATUS_DEVICE_DATA_ERROR (0xC000009C), Win32 error 23\n") &&
	              strstr(r.out, "] diag: request 8: medium error\n") &&
	              strstr(r.out, "findings   R03 x12"),
	          "%zu shown:\n%s", n, r.out);
}

/* JSON and SARIF carry the IRP and the lines; the supervised and single-process runs agree. */
static json_object *report_file(const char *fmt, bool supervised, char *text, size_t cap)
{
	static struct dct_run r;
	char path[] = "/tmp/dmacoh-diag-report-XXXXXX", opts[128];
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	close(fd);
	snprintf(opts, sizeof(opts), "log_path=%s:format=%s", path, fmt);
	setenv("DMACOH_OPTIONS", opts, 1);
	bool ran =
	    dct_run_tool(&r, (const char *const[]){"run", "--driver", module("fail"), "--workload",
	                                           WL, "--deterministic",
	                                           supervised ? NULL : "--no-supervise", NULL});
	unsetenv("DMACOH_OPTIONS");
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, cap - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	json_object *j = ran && r.status == 1 ? json_object_from_file(path) : NULL;
	unlink(path);
	return j;
}

DC_TEST(diag_failed_irp_json_and_sarif)
{
	static char a[1 << 20], b[1 << 20];
	static const char *const fmts[] = {"json", "sarif"};
	for (int i = 0; i < 2; i++) {
		json_object *j = report_file(fmts[i], true, a, sizeof(a)), *f, *o, *v, *x;
		json_object *j1 = report_file(fmts[i], false, b, sizeof(b));
		CHECK_MSG(j && j1, "%s: no report", fmts[i]);
		CHECK_MSG(!strcmp(a, b), "%s: supervised and single-process reports differ",
		          fmts[i]);
		json_object_put(j1);
		if (i == 0) {
			CHECK(json_object_object_get_ex(j, "findings", &f));
			o = json_object_array_get_idx(f, 0);
		} else {
			CHECK(json_object_object_get_ex(j, "runs", &f));
			CHECK(json_object_object_get_ex(json_object_array_get_idx(f, 0), "results",
			                                &f));
			CHECK(json_object_object_get_ex(json_object_array_get_idx(f, 0),
			                                "properties", &o));
		}
		CHECK(json_object_object_get_ex(o, "irp", &v));
		CHECK(json_object_object_get_ex(v, "status_name", &x) &&
		      !strcmp(json_object_get_string(x), "STATUS_INSUFFICIENT_RESOURCES"));
		CHECK(json_object_object_get_ex(v, "status", &x) &&
		      !strcmp(json_object_get_string(x), "0xC000009A"));
		CHECK(json_object_object_get_ex(v, "major", &x) &&
		      !strcmp(json_object_get_string(x), "IRP_MJ_WRITE"));
		CHECK(json_object_object_get_ex(v, "number", &x) && json_object_get_int(x) == 2);
		CHECK(json_object_object_get_ex(o, "dbgprint", &v));
		size_t n = json_object_array_length(v);
		CHECK(n >= 1 &&
		      json_object_object_get_ex(json_object_array_get_idx(v, n - 1), "text", &x));
		CHECK(strstr(json_object_get_string(x), "17 map registers needed"));
		json_object_put(j);
	}
}

DC_TEST(diag_hung_irp_named_and_never_all_good)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", module("hang"),
	                                             "--workload", WL, "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	CHECK_MSG(strstr(r.out, "  hung       IRP 2 (write, IRP_MJ_WRITE, offset 0x67e00, length "
	                        "4096): not completed at ") &&
	              strstr(r.out, "] diag: waiting for an interrupt that never comes\n") &&
	              strstr(r.out, "not verified: the 1 hung IRP") &&
	              !strstr(r.out, "every byte verified"),
	          "%s", r.out);
	CHECK_MSG(strstr(r.err, "    IRP 2: IRP_MJ_WRITE, offset 0x67e00, length 4096, not "
	                        "completed\n") &&
	              strstr(r.err, "diag: waiting for an interrupt that never comes"),
	          "%s", r.err);
}

/* halt_on_error ends the workload at the first error: the summary says so and does not say
 * every byte was verified (it used to). */
DC_TEST(diag_halted_run_is_not_every_byte_verified)
{
	static struct dct_run r;
	setenv("DMACOH_OPTIONS", "halt_on_error=1", 1);
	bool ran = dct_run_tool(&r, (const char *const[]){"run", "--driver", "sysdma-bug-C01",
	                                                  "--platform", "pc", "--workload",
	                                                  "count=50", "--deterministic", NULL});
	unsetenv("DMACOH_OPTIONS");
	CHECK(ran);
	CHECK_EQ(r.status, 1);
	CHECK_MSG(strstr(r.out, "run        stopped: halt_on_error") &&
	              strstr(r.out, "not verified: the rest of the workload") &&
	              !strstr(r.out, "every byte verified"),
	          "%s", r.out);
}

/* A failed START_DEVICE: the report shows what the driver printed before it. */
DC_TEST(diag_failed_start_shows_dbgprint)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", module("start"),
	                                             "--workload", WL, "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	CHECK_MSG(strstr(r.err, "failed with status STATUS_INSUFFICIENT_RESOURCES (0xC000009A)") &&
	              strstr(r.err, "] diag: START_DEVICE: no interrupt resource\n"),
	          "%s", r.err);
	CHECK_MSG(strstr(r.out, "stopped: the driver failed IRP_MN_START_DEVICE: "
	                        "STATUS_INSUFFICIENT_RESOURCES") &&
	              !strstr(r.out, "every byte verified"),
	          "%s", r.out);
}

/* A crash after a DbgPrint: the X01 finding shows the line, supervised or not. */
DC_TEST(diag_crash_shows_dbgprint)
{
	static struct dct_run r;
	for (int sup = 0; sup < 2; sup++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", module("crash"),
		                                             "--workload", WL, "--deterministic",
		                                             sup ? NULL : "--no-supervise", NULL}));
		CHECK_EQ(r.status, 1);
		CHECK_MSG(strstr(r.err, "X01 driver-crash") &&
		              strstr(r.err, "] diag: about to use a NULL descriptor\n"),
		          "%s", r.err);
		/* The supervisor writes the summary (a single process ends in its handler). */
		CHECK_MSG(!sup || (!strstr(r.out, "every byte verified") &&
		                   strstr(r.out, "not verified") && strstr(r.out, "stopped: X01")),
		          "%s", r.out);
	}
}

/* Live output: --dbgprint, DMACOH_OPTIONS=dbgprint=1 and the old DMACOH_DBGPRINT=1; what the
 * default filter passes; nothing shown without them, but counted. */
DC_TEST(diag_dbgprint_live_and_filtered)
{
	static struct dct_run r;
	for (int how = 0; how < 4; how++) {
		if (how == 1)
			setenv("DMACOH_OPTIONS", "dbgprint=1", 1);
		if (how == 2)
			setenv("DMACOH_DBGPRINT", "1", 1);
		bool ran =
		    dct_run_tool(&r, (const char *const[]){"run", "--driver", module("print"),
		                                           "--workload", WL, "--deterministic",
		                                           how == 0 ? "--dbgprint" : NULL, NULL});
		unsetenv("DMACOH_OPTIONS");
		unsetenv("DMACOH_DBGPRINT");
		CHECK(ran);
		CHECK_MSG(r.status == 0, "%d: exit %d\n%s%s", how, r.status, r.out, r.err);
		CHECK_MSG(strstr(r.out, "  DbgPrint   118 lines, 12 DbgPrintEx calls below "
		                        "DPFLTR_ERROR_LEVEL filtered out, 1 cut at 239 bytes"),
		          "%d:\n%s", how, r.out);
		if (how == 3) {
			CHECK_MSG(!strstr(r.err, "DbgPrint t=") &&
			              strstr(r.out, "--dbgprint shows"),
			          "%s", r.err);
			continue;
		}
		static const char *const want[] = {
		    "[DbgPrint t=0 ns] diag: DriverEntry\n",
		    "] diag: DriverEntry line 99\n",
		    "] diag: error level 1\n",
		    "] diag: mask with the error bit\n",
		    "] diag: first half, second half\n",
		    "] abcdefghijklmnopqrstuvwxyz",
		};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			CHECK_MSG(strstr(r.err, want[i]), "%d: lacks '%s':\n%s", how, want[i],
			          r.err);
		CHECK_MSG(!strstr(r.err, "(filtered)"), "%d:\n%s", how, r.err);
	}
}

DC_TEST(diag_dbgprint_in_trace)
{
	static struct dct_run r;
	char trace[] = "/tmp/dmacoh-diag-trace-XXXXXX";
	int fd = mkstemp(trace);
	CHECK(fd >= 0);
	close(fd);
	CHECK(
	    dct_run_tool(&r, (const char *const[]){"run", "--driver", module("fail"), "--workload",
	                                           WL, "--trace", trace, "--deterministic", NULL}));
	json_object *t = json_object_from_file(trace);
	unlink(trace);
	CHECK_MSG(t, "the trace is not JSON");
	json_object *ev;
	CHECK(json_object_object_get_ex(t, "traceEvents", &ev));
	bool found = false, track = false;
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		json_object *e = json_object_array_get_idx(ev, i), *name, *args, *text;
		if (!json_object_object_get_ex(e, "name", &name))
			continue;
		if (json_object_object_get_ex(e, "args", &args) &&
		    json_object_object_get_ex(args, "name", &text) &&
		    !strcmp(json_object_get_string(text), "DbgPrint"))
			track = true;
		if (strcmp(json_object_get_string(name), "DbgPrint") ||
		    !json_object_object_get_ex(e, "args", &args) ||
		    !json_object_object_get_ex(args, "text", &text))
			continue;
		if (strstr(json_object_get_string(text), "17 map registers needed"))
			found = true;
	}
	json_object_put(t);
	CHECK_MSG(found && track, "no DbgPrint event (%d) or track (%d) in the trace", found,
	          track);
}

/* The capture itself: a bounded ring, partial lines, the filter. */
DC_TEST(diag_dbgprint_ring_bounded)
{
	struct dc_platform p;
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	struct dc_sys *s;
	CHECK_EQ(dc_sys_create(&p, &s), DC_OK);
	for (int i = 1; i <= 100; i++)
		DbgPrint("line %d\n", i);
	DbgPrint("no newline yet");
	struct dc_dbg_line l[DC_DBG_RING + 1];
	size_t n = dc_dbgprint_last(s, DC_DBG_RING + 1, l);
	CHECK_EQ(n, (size_t)DC_DBG_RING);
	CHECK(l[n - 1].seq == 100 && !strcmp(l[n - 1].text, "line 100"));
	CHECK(l[0].seq == 100 - DC_DBG_RING + 1);
	dc_dbgprint_flush(s);
	CHECK(dc_dbgprint_last(s, 1, l) == 1 && !strcmp(l[0].text, "no newline yet"));
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "filtered\n");
	struct dc_dbg_stats st;
	dc_dbgprint_stats(s, &st);
	CHECK(st.lines == 101 && st.filtered == 1);
	CHECK(dc_dbgprint_passes(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL));
	CHECK(!dc_dbgprint_passes(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL));
	CHECK(dc_dbgprint_passes(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 1));
	CHECK(!dc_dbgprint_passes(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 2));
	dc_sys_destroy(s);
}

/* Every STATUS_ value wdm.h defines has its name in reports. */
DC_TEST(diag_ntstatus_names_cover_wdm_h)
{
	FILE *f = fopen("include/dmacoh/wdm.h", "r");
	CHECK(f);
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned v;
		if (sscanf(line, "#define %127s ((NTSTATUS)0x%xL)", name, &v) != 2 ||
		    strncmp(name, "STATUS_", 7))
			continue;
		n++;
		const char *got = dc_ntstatus_name((int32_t)v);
		CHECK_MSG(got, "%s (0x%08X) has no name", name, v);
	}
	if (f)
		fclose(f);
	CHECK(n > 50);
	CHECK(!strcmp(dc_ntstatus_name((int32_t)0xC000009A), "STATUS_INSUFFICIENT_RESOURCES"));
	CHECK(dc_ntstatus_name(0x12345) == NULL);
}

/* `run --help` shows every key of the parser's table with its constraints, and every key it
 * shows is one the parser takes. */
DC_TEST(diag_help_lists_every_workload_key)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--help", NULL}));
	CHECK_EQ(r.status, 0);
	size_t n;
	const struct dc_workload_key *k = dc_workload_keys(&n);
	CHECK(n >= 10);
	for (size_t i = 0; i < n; i++) {
		char head[64], spec[64], err[256];
		snprintf(head, sizeof(head), "\n      %s=%s", k[i].name, k[i].value);
		CHECK_MSG(strstr(r.out, head), "help lacks '%s'", head + 1);
		/* The first line of its help follows it. */
		char first[80];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(k[i].help, "\n"), k[i].help);
		CHECK_MSG(strstr(r.out, first), "help lacks '%s'", first);
		/* The parser takes the key, and refuses a number outside a number key's range. */
		struct dc_workload w;
		dc_workload_default(&w);
		snprintf(spec, sizeof(spec), "%s=%s", k[i].name,
		         k[i].max                     ? "1"
		         : !strcmp(k[i].name, "size") ? "512"
		                                      : "any");
		CHECK_MSG(dc_workload_parse(spec, &w, err, sizeof(err)) == DC_OK, "%s: %s", spec,
		          err);
		if (k[i].max && k[i].max < UINT64_MAX) {
			snprintf(spec, sizeof(spec), "%s=%llu", k[i].name,
			         (unsigned long long)k[i].max + 1);
			CHECK_MSG(dc_workload_parse(spec, &w, err, sizeof(err)) != DC_OK &&
			              strstr(err, k[i].range),
			          "%s: %s", spec, err);
		}
	}
	/* The keys the help shows under --workload are exactly the table's. */
	const char *p = strstr(r.out, "--workload SPEC");
	CHECK(p);
	size_t shown = 0;
	for (const char *q = p; (q = strstr(q, "\n      ")) && q < strstr(p, "  --seed N");) {
		q += 7;
		if (*q != ' ')
			shown++;
	}
	CHECK_EQ(shown, n);
	/* fault says which devices honour it. */
	/* (The help wraps lines: "refused on" and "ring" may be a line apart.) */
	const char *ro = strstr(r.out, "); refused on");
	CHECK(strstr(r.out, "sysblk,") && ro);
	ro += strlen("); refused on");
	ro += strspn(ro, " \n");
	CHECK(!strncmp(ro, "ring", 4));
}
