/* The supervised `dmacoh run` (docs/supervise.md) against drivers that crash, hang, exit or
 * fail, and against signals mid-run: every case ends with a finding at the driver's source
 * line, exit status 1, and a complete report (text, JSON, SARIF, log_path).  The modules are
 * tests/hostile/sup_hostile.c built per case by mk/supervise.mk into $(BUILD)/sup/. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "kernel/trace.h"

struct sup_run {
	int status; /* exit status, 128 + signal if killed, -1 if it could not run */
	char out[65536], err[65536];
};

static char sup_tmp[256];

static const char *tmpdir(void)
{
	if (!*sup_tmp) {
		snprintf(sup_tmp, sizeof(sup_tmp), "/tmp/dmacoh-sup-XXXXXX");
		if (!mkdtemp(sup_tmp))
			snprintf(sup_tmp, sizeof(sup_tmp), "/tmp");
	}
	return sup_tmp;
}

/* $(BUILD)/sup/sup_<name>.so beside the dmacoh binary. */
static const char *module(const char *name)
{
	static char path[PATH_MAX];
	const char *tool = dct_tool();
	snprintf(path, sizeof(path), "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(path, '/');
	size_t at = slash ? (size_t)(slash - path) + 1 : 0;
	snprintf(path + at, sizeof(path) - at, "sup/sup_%s.so", name);
	return path;
}

/* "tests/hostile/sup_hostile.c:N:" for the line carrying "SUP:<tag> " */
static const char *line_of(const char *tag)
{
	static char buf[128];
	FILE *f = fopen("tests/hostile/sup_hostile.c", "r");
	char l[512], want[64];
	snprintf(want, sizeof(want), "SUP:%s */", tag);
	int n = 0, found = 0;
	while (f && fgets(l, sizeof(l), f)) {
		n++;
		if (strstr(l, want)) {
			found = n;
			break;
		}
	}
	if (f)
		fclose(f);
	snprintf(buf, sizeof(buf), "tests/hostile/sup_hostile.c:%d:", found);
	return buf;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Starts the tool with args and DMACOH_OPTIONS=opts (NULL: none); output to files. */
static pid_t spawn(const char *const *args, const char *opts, char *outp, char *errp)
{
	snprintf(outp, PATH_MAX, "%s/out.%d", tmpdir(), (int)getpid());
	snprintf(errp, PATH_MAX, "%s/err.%d", tmpdir(), (int)getpid());
	const char *tool = dct_tool();
	if (!tool)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[64];
		size_t n = 0;
		argv[n++] = tool;
		for (size_t i = 0; args[i] && n < 62; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		if (opts)
			setenv("DMACOH_OPTIONS", opts, 1);
		else
			unsetenv("DMACOH_OPTIONS");
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits (at most limit seconds, then SIGKILL) and collects the run. */
static void finish(struct sup_run *r, pid_t pid, const char *outp, const char *errp, double limit)
{
	double t0 = now_s();
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (now_s() - t0 > limit)
			kill(pid, SIGKILL);
		usleep(10000);
	}
	r->status = st < 0            ? -1
	            : WIFEXITED(st)   ? WEXITSTATUS(st)
	            : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
	                              : -1;
	slurp(outp, r->out, sizeof(r->out));
	slurp(errp, r->err, sizeof(r->err));
	unlink(outp);
	unlink(errp);
}

static bool run(struct sup_run *r, const char *const *args, const char *opts)
{
	char outp[PATH_MAX], errp[PATH_MAX];
	pid_t pid = spawn(args, opts, outp, errp);
	if (pid < 0)
		return false;
	finish(r, pid, outp, errp, 120);
	return true;
}

static bool has_rule(json_object *j, const char *rule)
{
	json_object *f;
	if (!json_object_object_get_ex(j, "findings", &f))
		return false;
	for (size_t i = 0; i < json_object_array_length(f); i++) {
		json_object *id;
		if (json_object_object_get_ex(json_object_array_get_idx(f, i), "rule", &id) &&
		    !strcmp(json_object_get_string(id), rule))
			return true;
	}
	return false;
}

static bool sarif_has_rule(json_object *j, const char *rule)
{
	json_object *runs, *res;
	if (!json_object_object_get_ex(j, "runs", &runs) || !json_object_array_length(runs) ||
	    !json_object_object_get_ex(json_object_array_get_idx(runs, 0), "results", &res))
		return false;
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		json_object *id;
		if (json_object_object_get_ex(json_object_array_get_idx(res, i), "ruleId", &id) &&
		    !strcmp(json_object_get_string(id), rule))
			return true;
	}
	return false;
}

DC_TEST(sup_crash_in_driver_entry_and_constructor_is_x01_at_the_line)
{
	static struct sup_run r;
	/* crash_libc faults inside libc's memset (called through dmacoh's __dc_memset): the
	 * location is the driver line that called it. */
	static const char *const cases[][2] = {{"crash_entry", "CRASH_ENTRY"},
	                                       {"crash_ctor", "CRASH_CTOR"},
	                                       {"crash_libc", "CRASH_LIBC"}};
	for (size_t i = 0; i < 3; i++) {
		CHECK(run(&r,
		          (const char *const[]){"run", "--driver", module(cases[i][0]),
		                                "--deterministic", NULL},
		          NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i][0], r.status, r.err);
		CHECK_MSG(strstr(r.err, "ERROR: X01 driver-crash: SIGSEGV"), "%s:\n%s", cases[i][0],
		          r.err);
		CHECK_MSG(strstr(r.err, line_of(cases[i][1])), "%s: no %s in\n%s", cases[i][0],
		          line_of(cases[i][1]), r.err);
	}
	/* JSON on stdout after a crash, not on stderr. */
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", module("crash_entry"), "--format",
	                                "json", "--deterministic", NULL},
	          NULL));
	CHECK_EQ(r.status, 1);
	json_object *j = json_tokener_parse(r.out);
	CHECK_MSG(j && has_rule(j, "X01"), "stdout is not the JSON report:\n%s", r.out);
	json_object_put(j);
}

/* Host time (--timeout) interrupts a loop at whichever of its instructions is running: in a
 * loop with a memory access that is the access's line (the hook's return address) or the
 * loop's own jump (the `for` line), so either line is right.  The counted watchdog
 * (--max-accesses) stops at an access: exactly the access's line. */
DC_TEST(sup_infinite_loops_end_with_x02_at_the_loop_line)
{
	static struct sup_run r;
	static const char *const cases[][2] = {{"loop_entry", "LOOP"},
	                                       {"loop_entry_mem", "LOOP_MEM"},
	                                       {"loop_dispatch", "LOOP"},
	                                       {"loop_dispatch_mem", "LOOP_MEM"}};
	for (size_t i = 0; i < 4; i++) {
		CHECK(
		    run(&r,
		        (const char *const[]){"run", "--driver", module(cases[i][0]), "--timeout",
		                              "1", "--max-accesses", "0", "--deterministic", NULL},
		        NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i][0], r.status, r.err);
		CHECK_MSG(strstr(r.err, "ERROR: X02 driver-hang:"), "%s:\n%s", cases[i][0], r.err);
		char at[128], at_for[128] = "(none)";
		snprintf(at, sizeof(at), "%s", line_of(cases[i][1]));
		if (!strcmp(cases[i][1], "LOOP_MEM"))
			snprintf(at_for, sizeof(at_for), "%s", line_of("LOOP_MEM_FOR"));
		CHECK_MSG(strstr(r.err, at) || strstr(r.err, at_for),
		          "%s: neither %s nor %s in\n%s", cases[i][0], at, at_for, r.err);
	}
}

DC_TEST(sup_counted_watchdog_stops_a_memory_loop_at_its_access_line)
{
	static struct sup_run r;
	static const char *const cases[] = {"loop_entry_mem", "loop_dispatch_mem"};
	for (size_t i = 0; i < 2; i++) {
		CHECK(
		    run(&r,
		        (const char *const[]){"run", "--driver", module(cases[i]), "--timeout", "0",
		                              "--max-accesses", "100000", "--deterministic", NULL},
		        NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i], r.status, r.err);
		CHECK_MSG(strstr(r.err, "ERROR: X02 driver-hang:"), "%s:\n%s", cases[i], r.err);
		CHECK_MSG(strstr(r.err, line_of("LOOP_MEM")), "%s: no %s in\n%s", cases[i],
		          line_of("LOOP_MEM"), r.err);
	}
}

DC_TEST(sup_exit_and_abort_in_a_driver_are_x03_exit_1)
{
	static struct sup_run r;
	static const char *const cases[][3] = {
	    {"exit_entry", "EXIT_ENTRY", "the driver called exit(0)"},
	    {"abort_dispatch", "ABORT_DISPATCH", "the driver called abort()"}};
	for (size_t i = 0; i < 2; i++) {
		CHECK(run(&r,
		          (const char *const[]){"run", "--driver", module(cases[i][0]), "--format",
		                                "sarif", "--deterministic", NULL},
		          NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i][0], r.status, r.err);
		json_object *j = json_tokener_parse(r.out);
		CHECK_MSG(j && sarif_has_rule(j, "X03"), "%s: no X03 in SARIF:\n%s", cases[i][0],
		          r.out);
		const char *s = json_object_to_json_string(j);
		CHECK_MSG(strstr(s, cases[i][2]), "%s: %s", cases[i][0], s);
		json_object_put(j);
		CHECK(run(&r,
		          (const char *const[]){"run", "--driver", module(cases[i][0]),
		                                "--deterministic", NULL},
		          NULL));
		CHECK_MSG(strstr(r.err, line_of(cases[i][1])), "%s: no %s in\n%s", cases[i][0],
		          line_of(cases[i][1]), r.err);
	}
}

DC_TEST(sup_failing_driver_entry_and_start_device_are_r03_not_a_crash)
{
	static struct sup_run r;
	CHECK(run(
	    &r,
	    (const char *const[]){"run", "--driver", module("start_fail"), "--deterministic", NULL},
	    NULL));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.err, "R03 irp-failed:") && strstr(r.err, "sup_hostile.c:") &&
	              strstr(r.err, "SupPnp"),
	          "%s", r.err);
	CHECK(run(
	    &r,
	    (const char *const[]){"run", "--driver", module("entry_fail"), "--deterministic", NULL},
	    NULL));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.err, "R03 irp-failed: DriverEntry failed with status "
	                        "STATUS_INSUFFICIENT_RESOURCES (0xC000009A)") &&
	              strstr(r.err, "sup_hostile.c:"),
	          "%s", r.err);
	/* A real driver on a device it cannot start: a finding, not a segfault. */
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", "sysdma", "--device", "ring",
	                                "--deterministic", NULL},
	          NULL));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.err, "R03 irp-failed:"), "%s", r.err);
}

DC_TEST(sup_non_instrumented_module_and_directory_refused_exit_2)
{
	static struct sup_run r;
	CHECK(run(&r, (const char *const[]){"run", "--driver", module("plain"), NULL}, NULL));
	CHECK_EQ(r.status, 2);
	CHECK_MSG(strstr(r.err, "not built by dmacoh-cc") && !strchr(strchr(r.err, '\n') + 1, '\n'),
	          "%s", r.err);
	CHECK(run(&r, (const char *const[]){"run", "--driver", tmpdir(), NULL}, NULL));
	CHECK_EQ(r.status, 2);
	CHECK_MSG(strstr(r.err, "is a directory") && !strchr(strchr(r.err, '\n') + 1, '\n'), "%s",
	          r.err);
}

DC_TEST(sup_unwritable_log_path_is_one_line_exit_2)
{
	static struct sup_run r;
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", "sysdma", "--workload", "count=2", NULL},
	          "log_path=/nonexistent-dir/report.txt"));
	CHECK_EQ(r.status, 2);
	CHECK_MSG(strstr(r.err, "log_path=/nonexistent-dir/report.txt") &&
	              !strchr(strchr(r.err, '\n') + 1, '\n'),
	          "%s", r.err);
}

/* The children of pid (the supervised run's child). */
static pid_t child_of(pid_t pid)
{
	char p[64], buf[256];
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	slurp(p, buf, sizeof(buf));
	return (pid_t)atoi(buf);
}

/* Starts a long run of a twin that finds C07 on its first IRP, waits for the finding to be
 * in log_path, then does `what` to the run; returns the log's text. */
static bool interrupt_run(struct sup_run *r, const char *fmt, const char *what, char *log,
                          size_t cap, char *trace)
{
	char logp[PATH_MAX], opts[PATH_MAX + 64], outp[PATH_MAX], errp[PATH_MAX];
	snprintf(logp, sizeof(logp), "%s/log.%s.%s", tmpdir(), what, fmt);
	snprintf(trace, PATH_MAX, "%s/trace.%s.%s.json", tmpdir(), what, fmt);
	unlink(logp);
	snprintf(opts, sizeof(opts), "log_path=%s", logp);
	pid_t pid = spawn((const char *const[]){"run", "--driver", "sysdma-bug-C07", "--workload",
	                                        "count=100000000", "--format", fmt, "--trace",
	                                        trace, "--quiet", NULL},
	                  opts, outp, errp);
	if (pid < 0)
		return false;
	double t0 = now_s();
	bool seen = false;
	while (!seen && now_s() - t0 < 60) {
		slurp(logp, log, cap);
		seen = strstr(log, "C07") != NULL;
		usleep(20000);
	}
	pid_t c = child_of(pid);
	if (!strcmp(what, "SIGKILL-child"))
		kill(c > 0 ? c : pid, SIGKILL);
	else
		kill(pid, !strcmp(what, "SIGTERM") ? SIGTERM : SIGINT);
	finish(r, pid, outp, errp, 60);
	slurp(logp, log, cap);
	unlink(logp);
	return seen;
}

DC_TEST(sup_signals_mid_run_leave_a_complete_report)
{
	static struct sup_run r;
	static char log[1 << 17]; /* a SARIF report carries every rule: over 64 KiB */
	char trace[PATH_MAX];
	static const char *const cases[][2] = {
	    {"SIGTERM", "json"}, {"SIGINT", "sarif"}, {"SIGKILL-child", "json"}};
	for (size_t i = 0; i < 3; i++) {
		CHECK_MSG(interrupt_run(&r, cases[i][1], cases[i][0], log, sizeof(log), trace),
		          "%s: no C07 in log_path within 60 s", cases[i][0]);
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i][0], r.status, r.err);
		json_object *j = json_tokener_parse(log);
		bool ok = j && (!strcmp(cases[i][1], "json") ? has_rule(j, "C07")
		                                             : sarif_has_rule(j, "C07"));
		CHECK_MSG(ok, "%s: log_path is not a %s report with C07:\n%.2000s", cases[i][0],
		          cases[i][1], log);
		json_object_put(j);
		/* The trace is valid JSON too, whoever stopped the run. */
		json_object *t = json_object_from_file(trace);
		CHECK_MSG(t, "%s: the trace is not valid JSON", cases[i][0]);
		json_object_put(t);
		unlink(trace);
		CHECK_MSG(strstr(r.out, "run        stopped:") ||
		              strstr(r.err, "run        stopped:"),
		          "%s: the summary does not say the run stopped:\n%s%s", cases[i][0], r.out,
		          r.err);
	}
}

DC_TEST(sup_run_stops_at_a_bug_check_with_nothing_after_it)
{
	static struct sup_run r;
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", module("bugcheck_dispatch"),
	                                "--deterministic", NULL},
	          NULL));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.err, "X01 driver-crash: bug check 0xe2"), "%s", r.err);
	/* The workload's other IRPs never ran: one finding, and the run says it stopped. */
	CHECK_MSG(strstr(r.out, "findings   X01 x1\n") && strstr(r.out, "stopped: X01"), "%s",
	          r.out);
}

DC_TEST(sup_supervised_report_is_byte_identical_to_the_single_process_one)
{
	static struct sup_run a, b;
	static const char *const drivers[] = {"sysdma-bug-C07", "busmaster-bug-C02",
	                                      "ring-bug-C05"};
	static const char *const formats[] = {"text", "json", "sarif"};
	for (size_t i = 0; i < 3; i++) {
		CHECK(run(&a,
		          (const char *const[]){"run", "--driver", drivers[i], "--workload",
		                                "count=12", "--format", formats[i],
		                                "--deterministic", NULL},
		          NULL));
		CHECK(run(&b,
		          (const char *const[]){"run", "--driver", drivers[i], "--workload",
		                                "count=12", "--format", formats[i],
		                                "--deterministic", "--no-supervise", NULL},
		          NULL));
		CHECK_MSG(a.status == 1 && b.status == 1, "%s: exit %d / %d", drivers[i], a.status,
		          b.status);
		CHECK_MSG(!strcmp(a.out, b.out) && !strcmp(a.err, b.err),
		          "%s: supervised:\n%s%s\nsingle process:\n%s%s", drivers[i], a.out, a.err,
		          b.out, b.err);
	}
}

DC_TEST(sup_hung_irp_does_not_say_every_byte_verified)
{
	static struct sup_run r;
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", module("hang_irp"), "--workload",
	                                "count=3", "--deterministic", NULL},
	          NULL));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.out, "1 hung") && !strstr(r.out, "every byte verified") &&
	              strstr(r.out, "not verified"),
	          "%s", r.out);
}

DC_TEST(sup_trace_is_valid_json_after_exit_and_watchdog)
{
	static struct sup_run r;
	static const char *const cases[][2] = {{"abort_dispatch", "0"}, {"loop_dispatch", "1"}};
	for (size_t i = 0; i < 2; i++) {
		char trace[PATH_MAX];
		snprintf(trace, sizeof(trace), "%s/trace.%s.json", tmpdir(), cases[i][0]);
		unlink(trace);
		CHECK(run(&r,
		          (const char *const[]){"run", "--driver", module(cases[i][0]), "--trace",
		                                trace, "--timeout", cases[i][1], "--deterministic",
		                                NULL},
		          NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i][0], r.status, r.err);
		json_object *t = json_object_from_file(trace);
		CHECK_MSG(t, "%s: the trace is not valid JSON", cases[i][0]);
		/* The finding that ended the run is in it. */
		const char *s = t ? json_object_to_json_string(t) : "";
		CHECK_MSG(strstr(s, i ? "\"X02\"" : "\"X03\""), "%s: no finding in the trace",
		          cases[i][0]);
		json_object_put(t);
		unlink(trace);
	}
}

DC_TEST(sup_simulated_watchdog_counts_accesses_deterministically)
{
	static struct sup_run r;
	static const char *const cases[] = {"loop_entry_mem", "loop_dispatch_mem"};
	for (size_t i = 0; i < 2; i++) {
		CHECK(
		    run(&r,
		        (const char *const[]){"run", "--driver", module(cases[i]), "--timeout", "0",
		                              "--max-accesses", "1000000", "--deterministic", NULL},
		        NULL));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i], r.status, r.err);
		CHECK_MSG(strstr(r.err,
		                 "X02 driver-hang: the driver ran for 1000001 instrumented "
		                 "accesses without returning or waiting (simulated watchdog)"),
		          "%s:\n%s", cases[i], r.err);
		CHECK_MSG(strstr(r.err, line_of("LOOP_MEM")), "%s: no %s in\n%s", cases[i],
		          line_of("LOOP_MEM"), r.err);
	}
}

/* The location of the first finding in a JSON report, as JSON text ("" if none). */
static void first_location(const char *report, char *out, size_t cap)
{
	*out = 0;
	json_object *j = json_tokener_parse(report), *fs, *loc;
	if (j && json_object_object_get_ex(j, "findings", &fs) && json_object_array_length(fs) &&
	    json_object_object_get_ex(json_object_array_get_idx(fs, 0), "location", &loc))
		snprintf(out, cap, "%s", json_object_to_json_string(loc));
	json_object_put(j);
}

DC_TEST(sup_supervised_json_keeps_the_inline_helper_of_a_location)
{
	/* The finding is inside wdm.h's inline IoRequestDpc: the parent's report must name the
	 * helper as the single-process one does (the symbol comes down the stream). */
	static struct sup_run a, b;
	static char la[4096], lb[4096];
	CHECK(run(&a,
	          (const char *const[]){"run", "--driver", module("helper_dpc"), "--workload",
	                                "count=1", "--format", "json", "--deterministic", NULL},
	          NULL));
	CHECK(run(&b,
	          (const char *const[]){"run", "--driver", module("helper_dpc"), "--workload",
	                                "count=1", "--format", "json", "--deterministic",
	                                "--no-supervise", NULL},
	          NULL));
	first_location(a.out, la, sizeof(la));
	first_location(b.out, lb, sizeof(lb));
	CHECK_MSG(strstr(lb, "\"helper\": \"IoRequestDpc\"") ||
	              strstr(lb, "\"helper\":\"IoRequestDpc\""),
	          "single process: %s\n%s", lb, b.out);
	CHECK_MSG(!strcmp(la, lb), "supervised: %s\nsingle process: %s", la, lb);
}

DC_TEST(sup_host_watchdog_counts_from_the_last_return_not_the_run_start)
{
	/* Each IRP takes 200 ms of host time and returns: 10 of them run past --timeout 1, yet
	 * the driver never ran 1 s without returning, so there is no X02. */
	static struct sup_run r;
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", module("slow_dispatch"), "--workload",
	                                "count=10", "--timeout", "1", "--deterministic", NULL},
	          NULL));
	CHECK_MSG(!strstr(r.err, "X02") && !strstr(r.out, "X02") && strstr(r.out, "IRPs       10"),
	          "exit %d\n%s%s", r.status, r.out, r.err);
}

DC_TEST(sup_driver_that_closes_its_descriptors_and_spins_still_ends_with_x02)
{
	/* The stream ends at once (EOF) while the driver keeps running: the parent must go on
	 * watching it instead of blocking in waitpid. */
	static struct sup_run r;
	CHECK(run(&r,
	          (const char *const[]){"run", "--driver", module("close_fds"), "--workload",
	                                "count=1", "--timeout", "1", "--deterministic", NULL},
	          NULL));
	CHECK_MSG(r.status == 1 && strstr(r.err, "X02 driver-hang"), "exit %d\n%s%s", r.status,
	          r.out, r.err);
}

DC_TEST(sup_trace_repair_of_a_trace_larger_than_its_chunk)
{
	/* Events over several 64 KiB chunks, cut inside the last one (and, the second time, with
	 * the last ",\n" split across a chunk boundary): the repair keeps every whole event. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/repair.json", tmpdir());
	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		int n = fprintf(f, "{\"traceEvents\":[\n{\"ph\":\"M\"}");
		int events = 0;
		while (n < 3 * 65536 - 40) {
			n += fprintf(f, ",\n{\"ph\":\"i\",\"ts\":%d}", events++);
		}
		if (pass == 0) {
			fprintf(f, ",\n{\"ph\":\"i\",\"ts\":");
		} else {
			/* '\n' + 65535 bytes: the '\n' opens the last chunk, its ',' ends the one
			 * before. */
			int k = fprintf(f, ",\n{\"ph\":\"i\",\"name\":\"") - 1;
			for (; k < 65536; k++)
				fputc('a', f);
		}
		fclose(f);
		CHECK_EQ(dc_trace_repair(path), 0);
		static char buf[4 * 65536];
		slurp(path, buf, sizeof(buf));
		json_object *j = json_tokener_parse(buf), *ev;
		CHECK_MSG(j && json_object_object_get_ex(j, "traceEvents", &ev), "pass %d", pass);
		CHECK_MSG(json_object_array_length(ev) == (size_t)events + 1, "pass %d: %zu of %d",
		          pass, json_object_array_length(ev), events + 1);
		json_object_put(j);
	}
	unlink(path);
}
