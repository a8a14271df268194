/* dmacoh run: load a driver module, give it its device on a platform, drive a workload through
 * it with every byte verified, and report what the sanitizer found.
 * Exit: 0 clean, 1 findings or wrong data (or failed/hung IRPs), 2 usage or input error. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmacoh/check.h"
#include "dmacoh/driver.h"
#include "dmacoh/platform.h"
#include "hw/machine.h"
#include "hw/parse.h"
#include "kernel/sys.h"
#include "kernel/trace.h"
#include "kernel/win32.h"
#include "kernel/win32_app.h"
#include "kernel/workload.h"
#include "cmds.h"
#include "supervise.h"

const char *dc_tool_driver_dir(char *buf, size_t len)
{
	const char *env = getenv("DMACOH_DRIVER_DIR");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return buf;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(buf, len, "%s/drivers", self);
	return buf;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dc_tool_driver_modules(const char *dir, char **names, size_t max)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	size_t n = 0;
	for (struct dirent *de; (de = readdir(dp)) && n < max;) {
		size_t l = strlen(de->d_name);
		if (l > 3 && !strcmp(de->d_name + l - 3, ".so") && (names[n] = strdup(de->d_name)))
			n++;
	}
	closedir(dp);
	/* Sorted by file name, ".so" included: a twin "x-bug-C01.so" comes before "x.so". */
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++)
		names[i][strlen(names[i]) - 3] = 0;
	return (int)n;
}

static bool readable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

static void run_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dmacoh run --driver NAME|FILE [--device NAME] [--platform NAME|FILE]\n"
	    "                  [--workload SPEC] [--seed N] [--format text|json|sarif]\n"
	    "                  [--trace FILE] [--timeout SECONDS] [--quiet] [--deterministic]\n"
	    "                  [--app APP.so [-- ARGS...]]\n\n"
	    "Runs a driver module (built by dmacoh-cc; NAME is one of 'dmacoh list drivers') on\n"
	    "its device under a workload, verifies every byte end to end, and reports every\n"
	    "coherency rule the driver breaks.\n\n"
	    "  --device NAME      the device model (default: the one the driver names)\n"
	    "  --platform P       built-in platform or profile file (default: noncoherent)\n"
	    "  --workload SPEC    key=value,... (default: count=100,read=50,write=45,ioctl=5);\n"
	    "                     plain decimal numbers; a workload moving no data is refused\n"
	    "      count=N          IRPs, 1 to 10^12\n"
	    "      read=W write=W ioctl=W  relative weights, 0 to 1000000 (read+write > 0);\n"
	    "                       the ioctl (IOCTL_DMACOH_QUERY_CAPACITY) goes only to a\n"
	    "                       driver that declares DMACOH_DRIVER, unless ioctl=W is given\n"
	    "      size=N|MIN-MAX   bytes per request, 1 to 64M (K, M allowed); rounded to the\n"
	    "                       device's sector (512 on sysblk, bmblk, fdc) or frame (sb16);\n"
	    "                       at most the store / outstanding, a ring frame 9216, sb16 1M\n"
	    "      align=any|line|page|N  where buffers start in their first page (N 0-4095)\n"
	    "      zone=any|isa|dma32|high  where application buffers live\n"
	    "      outstanding=N    requests in flight at once, 1 to 64\n"
	    "      seed=N           0 to 2^64-1 (also set by --seed)\n"
	    "      fault=N          every Nth read or write meets a transfer error (0 never;\n"
	    "                       not on ring)\n"
	    "  --app APP.so       run a test application (built by dmacoh-cc --app; its main\n"
	    "                     or wmain gets ARGS after --) on the started device instead of\n"
	    "                     the workload (after it when --workload is given too); its\n"
	    "                     exit status counts: non-zero is exit 1 (docs/apps.md)\n"
	    "  --seed N           seeds both the platform's adversary and the workload\n"
	    "  --format F         report format (default text; also DMACOH_OPTIONS=format=...)\n"
	    "  --trace FILE       write a Chrome/Perfetto trace of the run\n"
	    "  --timeout S        host-time watchdog: a driver still running after S seconds\n"
	    "                     is reported as hung (X02); default 300, 0: off\n"
	    "  --max-accesses N   simulated watchdog: a driver routine that makes N loads and\n"
	    "                     stores without returning or waiting is hung (X02);\n"
	    "                     default 268435456 (2^28), 0: off\n"
	    "  --quiet            no progress bar\n"
	    "  --deterministic    leave wall time out of the summary (for byte-identical "
	    "output)\n\n"
	    "Exit status: 0 clean, 1 findings or wrong data (or an application that exited\n"
	    "non-zero, left requests hung or deadlocked), 2 usage or input error.\n"
	    "DMACOH_OPTIONS: halt_on_error, max_reports, suppressions=FILE, log_path=FILE, "
	    "format.\n");
}

struct progress {
	bool on;
	struct dc_check *chk;
	int last;
};

static bool on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct progress *p = opaque;
	if (p->on && total) {
		int pct = (int)(done * 100 / total);
		if (pct != p->last) {
			p->last = pct;
			char bar[41];
			int fill = pct * 40 / 100;
			for (int i = 0; i < 40; i++)
				bar[i] = i < fill ? '#' : '.';
			bar[40] = 0;
			fprintf(stderr, "\r[%s] %3d%% %llu/%llu IRPs", bar, pct,
			        (unsigned long long)done, (unsigned long long)total);
			if (done == total)
				fputc('\n', stderr);
			fflush(stderr);
		}
	}
	return p->chk && dc_check_halted(p->chk);
}

static int fail2(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "dmacoh run: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 2;
}

void dc_run_close_trace(struct dc_run_ctx *x)
{
	struct dc_trace *tr = x->tr;
	if (!tr)
		return;
	x->tr = NULL;
	struct dc_check *chk = x->t.chk;
	for (size_t i = 0; chk && i < dc_check_count(chk); i++) {
		const struct dc_finding *f = dc_check_finding(chk, i);
		char msg[512];
		dc_check_message(chk, f, msg, sizeof(msg));
		dc_trace_instant(tr, dc_rule_info(f->rule)->id, f->time, msg);
	}
	if (dc_trace_close(tr))
		fprintf(stderr, "dmacoh run: could not write the trace %s\n", x->trace_path);
}

/* The application's module, loaded before the driver's: the symbolizer then reads the process
 * once with both in it (reading it again later, after the driver's unload, loses the
 * driver's lines). */
static struct dc_app *loaded_app;

/* The test application, on the started device (dc_tool_session.after). */
static int run_app(void *opaque, struct dc_tool_session *t)
{
	struct dc_run_ctx *x = opaque;
	struct dc_app *a = loaded_app;
	if (!a)
		return DC_OK; /* its load failed: x->what says why */
	int status = 0;
	char *argv0 = (char *)x->app_path;
	char **argv = calloc((size_t)x->app_argc + 2, sizeof(*argv));
	if (!argv)
		return DC_ERR_NOMEM;
	argv[0] = argv0;
	for (int i = 0; i < x->app_argc; i++)
		argv[i + 1] = x->app_argv[i];
	int e = dc_app_run(t->s, a, x->app_argc + 1, argv, &status);
	/* The application's printf output, before the report (the supervised child _exits). */
	fflush(stdout);
	free(argv);
	if (e)
		return e;
	const struct dc_w32_stats *ws = dc_w32_stats(t->s);
	struct dc_run_stats *rs = &x->rs;
	rs->app_ran = true;
	rs->app_exit = status;
	rs->app_irps = ws->irps;
	rs->app_cancelled = ws->cancelled;
	rs->app_failed = ws->failed;
	rs->app_hung = ws->hung;
	rs->app_deadlocks = ws->deadlocks;
	return DC_OK;
}

int dc_run_body(struct dc_run_ctx *x)
{
	struct dc_tool_session *t = &x->t;
	/* In place before the module's constructors and DriverEntry run. */
	dc_check_install_crash_handler(t->chk, 1);
	dc_check_set_access_watchdog(x->max_accesses);
	if (x->app_path && dc_app_load(x->app_path, &loaded_app, x->err, sizeof(x->err))) {
		snprintf(x->what, sizeof(x->what), "--app %.1000s", x->err);
		*x->err = 0;
		loaded_app = NULL;
	}
	int e = dc_tool_session_load(t, x->path, x->device_arg, x->err, sizeof(x->err));
	if (e) {
		if (!t->failed_routine)
			return 2;
		snprintf(x->what, sizeof(x->what), "%s", x->err);
		*x->err = 0;
		return 0;
	}
	/* The symbolizer read the process before the module was loaded: let it read it again
	 * now, so that a report written after the unload still knows the module's lines. */
	char sym[256];
	PDRIVER_OBJECT dobj = dc_driver_object(t->drv);
	if (dobj && dobj->DriverInit)
		dc_check_symbolize(t->chk, (const void *)(uintptr_t)dobj->DriverInit, true, sym,
		                   sizeof(sym));
	snprintf(x->name, sizeof(x->name), "%s", t->name);
	snprintf(x->device, sizeof(x->device), "%s", t->device);
	char info[128];
	memcpy(info, x->name, 64);
	memcpy(info + 64, x->device, 64);
	dc_check_stream_write(t->chk, DC_REC_INFO, info, sizeof(info));
	char err[1024];
	if (x->trace_path && dc_trace_open(t->s, x->trace_path, &x->tr, err, sizeof(err))) {
		snprintf(x->err, sizeof(x->err), "--trace %.1000s", err);
		return 2;
	}
	struct progress pr = {
	    .on = !x->quiet && isatty(2) && x->wl.count >= 1000, .chk = t->chk, .last = -1};
	if (x->app_path) {
		t->after = run_app;
		t->after_opaque = x;
		t->no_workload = !x->workload_given;
	}
	e = dc_tool_session_run(t, &x->wl, &x->rs, on_progress, &pr, err, sizeof(err));
	if (e == DC_ERR_INVAL) {
		dc_run_close_trace(x);
		snprintf(x->err, sizeof(x->err), "%s", err);
		return 2;
	}
	if (e)
		snprintf(x->what, sizeof(x->what), "%s", err);
	if (x->rs.first_kind)
		snprintf(x->first_kind, sizeof(x->first_kind), "%s", x->rs.first_kind);
	x->rs.first_kind = NULL;
	x->sim_ns = dc_sys_now(t->s);
	x->ran = true;
	dc_check_set_access_watchdog(0);
	dc_run_close_trace(x);
	return 0;
}

int dc_run_write_log(struct dc_check *chk, const struct dc_check_opts *co)
{
	char tmp[sizeof(co->log_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", co->log_path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return DC_ERR_IO;
	int r = dc_check_write(chk, f, co->format);
	if (fclose(f) != 0)
		r = DC_ERR_IO;
	if (r || rename(tmp, co->log_path) != 0) {
		remove(tmp);
		return DC_ERR_IO;
	}
	return DC_OK;
}

int dc_run_finish(struct dc_run_ctx *x, struct dc_check *chk)
{
	const struct dc_check_opts *co = &x->co;
	/* The report: text to stderr (or log_path) like a sanitizer; JSON and SARIF to stdout
	 * (or log_path) for tools, with the human summary on stderr. */
	bool machine_fmt = co->format != DC_FMT_TEXT;
	if (co->log_path[0]) {
		if (dc_run_write_log(chk, co))
			fprintf(stderr, "dmacoh run: could not write the report to %s\n",
			        co->log_path);
	} else {
		dc_check_write(chk, machine_fmt ? stdout : stderr, co->format);
	}
	FILE *out = machine_fmt && !co->log_path[0] ? stderr : stdout;
	const char *shown = *x->name ? x->name : x->path;
	const struct dc_run_stats *rs = &x->rs;
	fprintf(out, "dmacoh run: %s on %s, platform %s, seed %llu\n", shown,
	        *x->device      ? x->device
	        : x->device_arg ? x->device_arg
	                        : "?",
	        x->plat.name, (unsigned long long)x->plat.seed);
	bool app_only = x->app_path && !x->workload_given;
	if (x->ran && rs->app_ran)
		fprintf(out,
		        "  app        %s exited with %d; %llu IRPs (%llu cancelled, %llu failed), "
		        "%llu hung, %llu deadlocked waits\n",
		        x->app_path, rs->app_exit, (unsigned long long)rs->app_irps,
		        (unsigned long long)rs->app_cancelled, (unsigned long long)rs->app_failed,
		        (unsigned long long)rs->app_hung, (unsigned long long)rs->app_deadlocks);
	if (x->ran && !app_only) {
		fprintf(out,
		        "  IRPs       %llu (%llu read, %llu write, %llu ioctl), %llu failed, %llu "
		        "hung\n",
		        (unsigned long long)rs->irps, (unsigned long long)rs->reads,
		        (unsigned long long)rs->writes, (unsigned long long)rs->ioctls,
		        (unsigned long long)rs->failed, (unsigned long long)rs->hung);
		fprintf(out, "  bytes      %llu\n", (unsigned long long)rs->bytes);
		if (rs->faults)
			fprintf(out,
			        "  faults     %llu injected, %llu reported as success or with "
			        "Information\n",
			        (unsigned long long)rs->faults, (unsigned long long)rs->false_ok);
	}
	if (*x->what)
		fprintf(out, "  run        stopped: %s\n", x->what);
	if (!x->ran || app_only)
		;
	else if (!rs->mismatched && rs->hung)
		fprintf(out, "  data       not verified for the %llu hung IRP%s\n",
		        (unsigned long long)rs->hung, rs->hung == 1 ? "" : "s");
	else if (!rs->mismatched)
		fprintf(out, "  data       %s\n",
		        rs->irps ? "every byte verified" : "nothing moved");
	else if (*x->first_kind)
		fprintf(out,
		        "  data       WRONG in %llu IRPs (%llu bytes); first: IRP %llu (%s), store "
		        "offset 0x%llx (byte %llu of the buffer): expected 0x%02x, got 0x%02x\n",
		        (unsigned long long)rs->mismatched, (unsigned long long)rs->bad_bytes,
		        (unsigned long long)rs->first_irp, x->first_kind,
		        (unsigned long long)rs->first_store_off,
		        (unsigned long long)rs->first_buf_off, rs->first_want, rs->first_got);
	else
		fprintf(out, "  data       WRONG in %llu IRPs (lengths or capacities)\n",
		        (unsigned long long)rs->mismatched);
	fprintf(out, "  findings   ");
	bool any = false;
	for (int r = 0; r < DC_RULE_COUNT; r++) {
		uint64_t h = dc_check_rule_hits(chk, (enum dc_rule)r);
		if (!h)
			continue;
		fprintf(out, "%s%s x%llu", any ? ", " : "", dc_rule_info((enum dc_rule)r)->id,
		        (unsigned long long)h);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : "none");
	if (x->ran)
		fprintf(out, "  sim time   %llu.%06llu ms\n",
		        (unsigned long long)(x->sim_ns / 1000000),
		        (unsigned long long)(x->sim_ns % 1000000));
	if (!x->deterministic) {
		struct timespec w1;
		clock_gettime(CLOCK_MONOTONIC, &w1);
		double wall =
		    (double)(w1.tv_sec - x->w0.tv_sec) + (double)(w1.tv_nsec - x->w0.tv_nsec) / 1e9;
		fprintf(out, "  wall time  %.3f s\n", wall);
	}
	fflush(out);
	bool app_bad =
	    x->app_path && (!rs->app_ran || rs->app_exit || rs->app_hung || rs->app_deadlocks);
	return (dc_check_errors(chk) || rs->mismatched || rs->failed || rs->hung || rs->false_ok ||
	        *x->what || !x->ran || app_bad)
	           ? 1
	           : 0;
}

/* log_path must be writable, and so its directory (the report is renamed into place). */
static int check_log_path(const struct dc_check_opts *co)
{
	if (!co->log_path[0])
		return 0;
	int fd = open(co->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail2("DMACOH_OPTIONS: log_path=%s: cannot write: %s", co->log_path,
		             strerror(errno));
	close(fd);
	char tmp[sizeof(co->log_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", co->log_path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail2("DMACOH_OPTIONS: log_path=%s: cannot write in its directory: %s",
		             co->log_path, strerror(errno));
	close(fd);
	unlink(tmp);
	return 0;
}

int dc_cmd_run(int argc, char **argv)
{
	static struct dc_run_ctx ctx;
	struct dc_run_ctx *x = &ctx;
	memset(x, 0, sizeof(*x));
	const char *driver = NULL, *device = NULL, *platform = "noncoherent", *workload = NULL;
	const char *format = NULL, *trace_path = NULL, *seed_s = NULL, *timeout_s = NULL;
	const char *accesses_s = NULL, *app = NULL;
	int app_argc = 0;
	char **app_argv = NULL;
	bool quiet = false, deterministic = false, supervise = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = !strcmp(a, "--driver")         ? &driver
		                    : !strcmp(a, "--device")       ? &device
		                    : !strcmp(a, "--platform")     ? &platform
		                    : !strcmp(a, "--workload")     ? &workload
		                    : !strcmp(a, "--format")       ? &format
		                    : !strcmp(a, "--trace")        ? &trace_path
		                    : !strcmp(a, "--seed")         ? &seed_s
		                    : !strcmp(a, "--timeout")      ? &timeout_s
		                    : !strcmp(a, "--max-accesses") ? &accesses_s
		                    : !strcmp(a, "--app")          ? &app
		                                                   : NULL;
		if (slot) {
			if (i + 1 >= argc)
				return fail2("%s needs a value (try 'dmacoh run --help')%s", a, "");
			*slot = argv[++i];
		} else if (!strcmp(a, "--") && app) {
			/* The rest is the application's. */
			app_argc = argc - i - 1;
			app_argv = argv + i + 1;
			break;
		} else if (!strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--deterministic")) {
			deterministic = true;
		} else if (!strcmp(a, "--no-supervise")) {
			/* Hidden: one process, for measuring what supervision costs. */
			supervise = false;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			run_usage(stdout);
			return 0;
		} else {
			return fail2("unknown argument '%s' (try 'dmacoh run --help')%s", a, "");
		}
	}
	if (!driver)
		return fail2("missing --driver NAME|FILE (see 'dmacoh list drivers')%s%s", "", "");

	/* Inputs first, all of them, before anything runs. */
	struct dc_platform *plat = &x->plat;
	char err[1024];
	if (dc_platform_builtin(platform, plat) != DC_OK) {
		if (!strchr(platform, '/') && !strchr(platform, '.'))
			return fail2("unknown platform '%s' (see 'dmacoh list platforms')%s",
			             platform, "");
		if (dc_platform_load(platform, plat, err, sizeof(err)) != DC_OK)
			return fail2("%s%s", err, "");
	}
	struct dc_workload *wl = &x->wl;
	dc_workload_default(wl);
	if (workload && dc_workload_parse(workload, wl, err, sizeof(err)) != DC_OK)
		return fail2("%s%s", err, "");
	/* Every number through the one strict parser (src/hw/parse.c): no sign, blank or
	 * overflow slips through as it did with strtoull. */
	uint64_t v;
	if (seed_s) {
		if (dc_parse_u64(seed_s, 0, UINT64_MAX, &v) != DC_OK)
			return fail2("--seed '%s': expected a whole number%s", seed_s, "");
		plat->seed = v;
		wl->seed = v;
	}
	x->timeout = 300;
	if (timeout_s) {
		if (dc_parse_u64(timeout_s, 0, 86400 * 365, &v) != DC_OK)
			return fail2("--timeout '%s': expected whole seconds (0: off)%s", timeout_s,
			             "");
		x->timeout = (unsigned)v;
	}
	x->max_accesses = DC_ACCESS_WATCHDOG_DEFAULT;
	if (accesses_s) {
		if (dc_parse_u64(accesses_s, 0, UINT64_MAX, &v) != DC_OK)
			return fail2("--max-accesses '%s': expected a whole number (0: off)%s",
			             accesses_s, "");
		x->max_accesses = v;
	}
	struct dc_check_opts *co = &x->co;
	dc_check_opts_init(co);
	/* The PC HAL's GetDmaAlignment is 1: buffers that split a line are the application's
	 * choice, not a driver bug.  DMACOH_OPTIONS=alignment_warnings=1 asks for them. */
	co->alignment_warnings = false;
	const char *env = getenv("DMACOH_OPTIONS");
	if (env && dc_check_opts_parse(co, env, err, sizeof(err)) != DC_OK)
		return fail2("%s%s", err, "");
	char fmtopt[64];
	snprintf(fmtopt, sizeof(fmtopt), "format=%s", format ? format : "");
	if (format && (strchr(format, ':') || strchr(format, ' ') ||
	               dc_check_opts_parse(co, fmtopt, err, sizeof(err)) != DC_OK))
		return fail2("--format %s: expected text, json or sarif%s", format, "");
	static char path[PATH_MAX];
	char dir[PATH_MAX];
	bool as_file = strchr(driver, '/') || strstr(driver, ".so");
	if (as_file)
		snprintf(path, sizeof(path), "%s", driver);
	else
		snprintf(path, sizeof(path), "%s/%s.so", dc_tool_driver_dir(dir, sizeof(dir)),
		         driver);
	struct stat st;
	if (as_file && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fail2("%s: is a directory, not a driver module (give the .so file)%s", path,
		             "");
	if (!readable(path)) {
		if (as_file)
			return fail2("%s: no such driver module%s", path, "");
		return fail2("unknown driver '%s' (see 'dmacoh list drivers')%s", driver, "");
	}
	if (app) {
		if (!readable(app))
			return fail2("--app %s: no such application module%s", app, "");
		if (dc_app_check(app, err, sizeof(err)) != DC_OK)
			return fail2("--app %s%s", err, "");
	}
	if (check_log_path(co))
		return 2;
	x->app_path = app;
	x->app_argc = app_argc;
	x->app_argv = app_argv;
	x->workload_given = workload != NULL;
	x->path = path;
	x->device_arg = device;
	x->trace_path = trace_path;
	x->quiet = quiet;
	x->deterministic = deterministic;

	clock_gettime(CLOCK_MONOTONIC, &x->w0);
	if (dc_tool_session_build(&x->t, plat, co, err, sizeof(err)))
		return fail2("%s%s", err, "");
	if (supervise)
		return dc_run_supervised(x);
	int rc = dc_run_body(x);
	dc_check_uninstall_crash_handler();
	if (rc) {
		dc_tool_session_close(&x->t);
		return fail2("%s%s", x->err, "");
	}
	rc = dc_run_finish(x, x->t.chk);
	dc_tool_session_close(&x->t);
	return rc;
}
