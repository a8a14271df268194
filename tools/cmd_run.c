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
#include "kernel/dbgprint.h"
#include "kernel/obnames.h"
#include "kernel/plumb.h"
#include "kernel/registry.h"
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

/* Which devices (built-in and loaded) honour fault=N and how, from their models' declared
 * store kinds: "honoured by sysblk, bmblk (the IRP fails), sb16 (the driver recovers);
 * refused on ring". */
static void fault_devices(FILE *f)
{
	static const char *const how[] = {[DC_STORE_BLOCK] = "the IRP fails",
	                                  [DC_STORE_FRAME] = "the IRP fails",
	                                  [DC_STORE_STREAM] = "the driver recovers"};
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "honoured by");
	const char *sep = " ";
	for (int kind = DC_STORE_BLOCK; kind <= DC_STORE_STREAM; kind++) {
		bool any = false;
		for (const char *const *d = dc_sys_device_names(); *d && n < sizeof(line); d++) {
			const struct dc_device_model *m = dc_sys_device_model(*d);
			if (!m || m->no_fault || (int)m->store_kind != kind)
				continue;
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", sep, *d);
			sep = ", ";
			any = true;
		}
		if (any && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " (%s)", how[kind]);
	}
	sep = "; refused on ";
	for (const char *const *d = dc_sys_device_names(); *d && n < sizeof(line); d++) {
		const struct dc_device_model *m = dc_sys_device_model(*d);
		if (m && (m->no_fault || m->store_kind == DC_STORE_NONE)) {
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", sep, *d);
			sep = ", ";
		}
	}
	/* wrapped to the help's width, as continuation lines of the key */
	for (const char *p = line; *p;) {
		size_t w = strlen(p);
		if (w > 52) {
			w = 52;
			while (w && p[w] != ' ')
				w--;
			if (!w)
				w = 52;
		}
		fprintf(f, "      %-22s %.*s\n", "", (int)w, p);
		p += w;
		while (*p == ' ')
			p++;
	}
}

static void run_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dmacoh run --driver NAME|FILE [--device NAME] [--platform NAME|FILE]\n"
	    "                  [--workload SPEC] [--seed N] [--format text|json|sarif]\n"
	    "                  [--trace FILE] [--timeout SECONDS] [--dbgprint] [--quiet]\n"
	    "                  [--deterministic] [--deferred-grant]\n"
	    "                  [--app APP.so [-- ARGS...]]\n"
	    "                  [--processors N] [--schedule random|round-robin|pct]\n"
	    "                  [--schedule-seed N] [--schedule-every N]\n"
	    "                  [--registry FILE.reg] [--open \\\\.\\NAME]\n\n"
	    "Runs a driver module (built by dmacoh-cc; NAME is one of 'dmacoh list drivers') on\n"
	    "its device under a workload, verifies every byte end to end, and reports every\n"
	    "coherency rule the driver breaks.\n\n"
	    "  --device NAME      the device model (default: the one the driver names)\n"
	    "  --device-model FILE.so  load a device model built by dmacoh-cc --device-model\n"
	    "                     (several allowed); --device NAME then picks it\n"
	    "  --platform P       built-in platform or profile file (default: noncoherent)\n"
	    "  --workload SPEC    key=value,... (default: count=100,read=50,write=45,ioctl=5);\n"
	    "                     plain decimal numbers; a workload moving no data is refused\n");
	/* The keys from the parser's own table (src/kernel/workload.c). */
	size_t nk;
	const struct dc_workload_key *k = dc_workload_keys(&nk);
	for (size_t i = 0; i < nk; i++) {
		char head[48];
		snprintf(head, sizeof(head), "%s=%s", k[i].name, k[i].value);
		fprintf(f, "      %-22s", head);
		if (strlen(head) > 22)
			fprintf(f, "\n      %-22s", "");
		for (const char *p = k[i].help; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(f, " %.*s\n", (int)n, p);
			p += n;
			if (*p == '\n') {
				p++;
				fprintf(f, "      %-22s", "");
			}
		}
		if (!strcmp(k[i].name, "fault"))
			fault_devices(f);
	}
	fprintf(
	    f,
	    "  --app APP.so       run a test application (built by dmacoh-cc --app; its main\n"
	    "                     or wmain gets ARGS after --) on the started device instead of\n"
	    "                     the workload (after it when --workload is given too); its\n"
	    "                     exit status counts: non-zero is exit 1 (docs/apps.md)\n"
	    "  --seed N           seeds both the platform's adversary and the workload\n"
	    "  --processors N     processors of the platform (1..8; default: its profile's)\n"
	    "  --schedule P       run work beside other work: a seeded scheduler preempts at\n"
	    "                     kernel calls and every --schedule-every accesses (default\n"
	    "                     200) and picks what runs next: random, round-robin or pct\n"
	    "                     (probabilistic concurrency testing, depth 3); default: none,\n"
	    "                     work switches only at waits\n"
	    "  --schedule-seed N  the scheduler's seed (default: --seed)\n"
	    "  --schedule-steps K pct: the run's expected preemption points, the range its\n"
	    "                     change points are drawn from (default: 40 per IRP of the\n"
	    "                     workload, at least 500; the summary says how many it took)\n"
	    "  --registry F.reg   loads a regedit export (REGEDIT4 or version 5.00) into the\n"
	    "                     simulated registry before DriverEntry: the driver's\n"
	    "                     Services\\<driver>\\Parameters, devices' "
	    "Enum\\DMACOH\\<device>\\<n>\n"
	    "  --open \\\\.\\NAME    the device the workload opens, as CreateFile does (a\n"
	    "                     \\DosDevices link, \\\\.\\GLOBALROOT\\Device\\X, an interface);\n"
	    "                     default: the started PnP stack; for a legacy driver (no\n"
	    "                     AddDevice) its one \\DosDevices link, else its one device\n"
	    "  --format F         report format (default text; also DMACOH_OPTIONS=format=...)\n"
	    "  --trace FILE       write a Chrome/Perfetto trace of the run\n"
	    "  --timeout S        host-time watchdog: a driver still running after S seconds\n"
	    "                     is reported as hung (X02); default 300, 0: off\n"
	    "  --max-accesses N   simulated watchdog: a driver routine that makes N loads and\n"
	    "                     stores without returning or waiting is hung (X02);\n"
	    "                     default 268435456 (2^28), 0: off\n"
	    "  --dbgprint         show the driver's DbgPrint/KdPrint lines on stderr as they come\n"
	    "                     (also DMACOH_OPTIONS=dbgprint=1); DbgPrintEx passes Windows'\n"
	    "                     default filter: DPFLTR_ERROR_LEVEL only.  Always captured: the\n"
	    "                     last lines before a failed or hung IRP are in the report\n"
	    "  --deferred-grant   AllocateAdapterChannel's AdapterControl always runs later, at\n"
	    "                     the next DPC, as when the channel is busy: a driver that\n"
	    "                     uses MapRegisterBase before AdapterControl ran is S03\n"
	    "  --quiet            no progress bar\n"
	    "  --deterministic    leave wall time out of the summary (for byte-identical "
	    "output)\n\n"
	    "Exit status: 0 clean, 1 findings or wrong data (or an application that exited\n"
	    "non-zero, left requests hung or deadlocked), 2 usage or input error.\n"
	    "DMACOH_OPTIONS: halt_on_error, max_reports, suppressions=FILE, log_path=FILE, "
	    "format, dbgprint.\n");
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

/* --dbgprint: each line of the driver's debug output on stderr as it is completed. */
static void live_dbgprint(void *opaque, const struct dc_dbg_line *l)
{
	(void)opaque;
	fprintf(stderr, "[DbgPrint t=%llu ns] %s\n", (unsigned long long)l->time, l->text);
	fflush(stderr);
}

void dc_run_keep_irp(struct dc_run_ctx *x, const struct dc_run_irp *ri)
{
	if (x->n_irps < DC_RUN_IRPS_SHOWN)
		x->irps[x->n_irps] = *ri;
	x->n_irps++;
}

/* A workload result: the finding (session.c) and, for a failed or hung IRP, its line in the
 * summary, streamed to the supervisor at once. */
static void run_result(void *opaque, const struct dc_irp_result *r)
{
	struct dc_run_ctx *x = opaque;
	struct dc_run_irp ri;
	memset(&ri, 0, sizeof(ri));
	dc_tool_irp_result(&x->t, r, &ri.note);
	if (r->outcome == DC_IRP_WRONG_DATA)
		return;
	snprintf(ri.kind, sizeof(ri.kind), "%s", r->kind ? r->kind : "?");
	ri.hung = r->outcome == DC_IRP_HUNG;
	ri.time = r->time;
	dc_run_keep_irp(x, &ri);
	dc_check_stream_write(x->t.chk, DC_REC_IRP, &ri, sizeof(ri));
}

/* A crash, a hang or an exit() ends the run: its finding shows the driver's last lines. */
static void final_note(void *opaque, struct dc_irp_note *n)
{
	struct dc_run_ctx *x = opaque;
	dc_tool_note(&x->t, n);
}

int dc_run_body(struct dc_run_ctx *x)
{
	struct dc_tool_session *t = &x->t;
	if (x->dbgprint)
		dc_dbgprint_add_sink(t->s, live_dbgprint, x);
	dc_check_set_final_note(final_note, x);
	/* In place before the module's constructors and DriverEntry run. */
	dc_check_install_crash_handler(t->chk, 1);
	dc_check_set_access_watchdog(x->max_accesses);
	if (x->app_path && dc_app_load(x->app_path, &loaded_app, x->err, sizeof(x->err))) {
		snprintf(x->what, sizeof(x->what), "--app %.1000s", x->err);
		*x->err = 0;
		loaded_app = NULL;
	}
	t->open = x->open;
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
	x->wl.on_result = run_result;
	x->wl.result_opaque = x;
	e = dc_tool_session_run(t, &x->wl, &x->rs, on_progress, &pr, err, sizeof(err));
	dc_sys_schedule_stats(t->s, &x->rs.sched_points, &x->rs.sched_switches, &x->rs.sched_trace);
	dc_dbgprint_flush(t->s);
	dc_dbgprint_stats(t->s, &x->dbg);
	if (e == DC_ERR_INVAL || e == DC_ERR_NOTFOUND) {
		/* An input error found only now (a workload the device cannot take, --open naming
		 * nothing, a legacy driver with no device): exit 2, the findings so far reported.
		 */
		dc_run_close_trace(x);
		snprintf(x->err, sizeof(x->err), "%s", err);
		return 2;
	}
	if (e)
		snprintf(x->what, sizeof(x->what), "%s", err);
	else if (dc_check_halted(t->chk) && x->rs.irps < x->wl.count)
		snprintf(
		    x->what, sizeof(x->what),
		    "halt_on_error: the first error ended the workload after %llu of %llu IRPs",
		    (unsigned long long)x->rs.irps, (unsigned long long)x->wl.count);
	if (x->rs.first_kind)
		snprintf(x->first_kind, sizeof(x->first_kind), "%s", x->rs.first_kind);
	x->rs.first_kind = NULL;
	x->sim_ns = dc_sys_now(t->s);
	x->ran = true;
	dc_check_set_access_watchdog(0);
	dc_check_set_final_note(NULL, NULL);
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

/* Every failed or hung IRP (the first DC_RUN_IRPS_SHOWN): number, kind, major function,
 * offset, length, status (name and hex), and the driver's last DbgPrint lines before it. */
static void write_irps(FILE *out, const struct dc_run_ctx *x)
{
	uint64_t shown = DC_MIN(x->n_irps, (uint64_t)DC_RUN_IRPS_SHOWN);
	for (uint64_t i = 0; i < shown; i++) {
		const struct dc_run_irp *ri = &x->irps[i];
		const struct dc_irp_note *n = &ri->note;
		char mb[24], sb[96];
		fprintf(out, "  %-10s IRP %llu (%s, %s, offset 0x%llx, length %llu): ",
		        ri->hung ? "hung" : "failed", (unsigned long long)n->irp, ri->kind,
		        dc_irp_major_name(n->major, mb, sizeof(mb)), (unsigned long long)n->offset,
		        (unsigned long long)n->length);
		if (ri->hung)
			fprintf(out, "not completed at %llu ns", (unsigned long long)ri->time);
		else
			fprintf(out, "%s", dc_tool_status_str(n->status, sb, sizeof(sb)));
		if (n->win32 >= 0)
			fprintf(out, ", Win32 error %lld", (long long)n->win32);
		fputc('\n', out);
		/* The last lines before it (the report has up to DC_NOTE_LINES). */
		unsigned from = n->n_lines > 3 ? n->n_lines - 3 : 0;
		if (!n->n_lines)
			fprintf(out, "               DbgPrint: none before it\n");
		for (unsigned k = from; k < n->n_lines; k++)
			fprintf(out, "               DbgPrint [t=%llu ns] %s\n",
			        (unsigned long long)n->line_time[k], n->line[k]);
	}
	if (x->n_irps > shown)
		fprintf(out, "  %-10s %llu more failed or hung IRPs (counted in R02/R03)\n", "...",
		        (unsigned long long)(x->n_irps - shown));
}

/* The data line says only what was checked: "every byte verified" only when every request the
 * workload meant to check completed and was checked. */
static void write_data(FILE *out, const struct dc_run_ctx *x)
{
	const struct dc_run_stats *rs = &x->rs;
	if (!x->ran) {
		fprintf(out, "  data       not verified: the run stopped before the workload "
		             "ended\n");
		return;
	}
	if (rs->mismatched) {
		if (*x->first_kind)
			fprintf(
			    out,
			    "  data       WRONG in %llu IRPs (%llu bytes); first: IRP %llu (%s), "
			    "store offset 0x%llx (byte %llu of the buffer): expected 0x%02x, got "
			    "0x%02x\n",
			    (unsigned long long)rs->mismatched, (unsigned long long)rs->bad_bytes,
			    (unsigned long long)rs->first_irp, x->first_kind,
			    (unsigned long long)rs->first_store_off,
			    (unsigned long long)rs->first_buf_off, rs->first_want, rs->first_got);
		else
			fprintf(out, "  data       WRONG in %llu IRPs (lengths or capacities)\n",
			        (unsigned long long)rs->mismatched);
		return;
	}
	if (!rs->irps) {
		fprintf(out, "  data       nothing moved%s\n",
		        *x->what ? ": the run stopped before the first IRP" : "");
		return;
	}
	uint64_t unchecked = rs->failed + rs->hung;
	bool cut = *x->what;
	if (!unchecked && !cut) {
		if (rs->faults)
			fprintf(out,
			        "  data       every byte verified (the %llu IRPs with an injected "
			        "fault failed, as they must)\n",
			        (unsigned long long)rs->faults);
		else
			fprintf(out, "  data       every byte verified\n");
		return;
	}
	fprintf(out, "  data       no wrong byte in what completed; not verified:");
	const char *sep = " ";
	if (rs->failed) {
		fprintf(out, "%sthe %llu failed IRP%s", sep, (unsigned long long)rs->failed,
		        rs->failed == 1 ? "" : "s");
		sep = ", ";
	}
	if (rs->hung) {
		fprintf(out, "%sthe %llu hung IRP%s", sep, (unsigned long long)rs->hung,
		        rs->hung == 1 ? "" : "s");
		sep = ", ";
	}
	if (cut)
		fprintf(out, "%sthe rest of the workload (the run stopped after %llu IRPs)", sep,
		        (unsigned long long)rs->irps);
	fputc('\n', out);
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
	if (x->ran && x->sched)
		fprintf(out,
		        "  schedule   %s, seed %llu, %u processors: %llu preemption points, %llu "
		        "switches, interleaving %016llx\n",
		        x->sched, (unsigned long long)x->sched_seed, x->plat.processors,
		        (unsigned long long)rs->sched_points,
		        (unsigned long long)rs->sched_switches,
		        (unsigned long long)rs->sched_trace);
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
	}
	write_irps(out, x);
	if (x->ran) {
		fprintf(out, "  bytes      %llu\n", (unsigned long long)rs->bytes);
		if (rs->faults)
			fprintf(out,
			        "  faults     %llu injected, %llu reported as success or with "
			        "Information\n",
			        (unsigned long long)rs->faults, (unsigned long long)rs->false_ok);
	}
	if (*x->what)
		fprintf(out, "  run        stopped: %s\n", x->what);
	if (!app_only)
		write_data(out, x); /* an application checks its own data */
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
	/* "none" is all a finished run can say; a stopped one made none until it stopped. */
	fprintf(out, "%s\n",
	        any                   ? ""
	        : *x->what || !x->ran ? "none until the run stopped"
	                              : "none");
	if (x->ran && (x->dbg.lines || x->dbg.filtered)) {
		fprintf(out, "  DbgPrint   %llu line%s", (unsigned long long)x->dbg.lines,
		        x->dbg.lines == 1 ? "" : "s");
		if (x->dbg.filtered)
			fprintf(
			    out, ", %llu DbgPrintEx call%s below DPFLTR_ERROR_LEVEL filtered out",
			    (unsigned long long)x->dbg.filtered, x->dbg.filtered == 1 ? "" : "s");
		if (x->dbg.truncated)
			fprintf(out, ", %llu cut at %u bytes", (unsigned long long)x->dbg.truncated,
			        DC_DBG_LINE - 1);
		fprintf(out, "%s\n", x->dbgprint ? "" : " (--dbgprint shows them)");
	}
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
	const char *accesses_s = NULL, *app = NULL, *registry = NULL, *open_s = NULL;
	const char *sched_s = NULL, *sched_seed_s = NULL, *sched_every_s = NULL,
	           *sched_steps_s = NULL, *cpus_s = NULL;
	int app_argc = 0;
	char **app_argv = NULL;
	bool quiet = false, deterministic = false, supervise = true, dbgprint = false;
	bool deferred_grant = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = !strcmp(a, "--driver")           ? &driver
		                    : !strcmp(a, "--device")         ? &device
		                    : !strcmp(a, "--platform")       ? &platform
		                    : !strcmp(a, "--workload")       ? &workload
		                    : !strcmp(a, "--format")         ? &format
		                    : !strcmp(a, "--trace")          ? &trace_path
		                    : !strcmp(a, "--seed")           ? &seed_s
		                    : !strcmp(a, "--timeout")        ? &timeout_s
		                    : !strcmp(a, "--max-accesses")   ? &accesses_s
		                    : !strcmp(a, "--app")            ? &app
		                    : !strcmp(a, "--registry")       ? &registry
		                    : !strcmp(a, "--open")           ? &open_s
		                    : !strcmp(a, "--schedule")       ? &sched_s
		                    : !strcmp(a, "--schedule-seed")  ? &sched_seed_s
		                    : !strcmp(a, "--schedule-every") ? &sched_every_s
		                    : !strcmp(a, "--schedule-steps") ? &sched_steps_s
		                    : !strcmp(a, "--processors")     ? &cpus_s
		                                                     : NULL;
		if (!strcmp(a, "--device-model")) {
			/* Loaded at once: a bad model is an input error before anything runs. */
			char merr[1024];
			if (i + 1 >= argc)
				return fail2("%s needs a value (try 'dmacoh run --help')%s", a, "");
			if (dc_sys_load_device_model(argv[++i], NULL, merr, sizeof(merr))) {
				fprintf(stderr, "dmacoh: %s\n", merr);
				return 2;
			}
		} else if (slot) {
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
		} else if (!strcmp(a, "--dbgprint")) {
			dbgprint = true;
		} else if (!strcmp(a, "--deferred-grant")) {
			deferred_grant = true;
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
	plat->deferred_grant = deferred_grant;
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
	if (cpus_s) {
		if (dc_parse_u64(cpus_s, 1, DC_MAX_CPUS, &v) != DC_OK)
			return fail2("--processors '%s': expected 1..8%s", cpus_s, "");
		plat->processors = (uint32_t)v;
	}
	if (sched_s && strcmp(sched_s, "random") && strcmp(sched_s, "round-robin") &&
	    strcmp(sched_s, "pct"))
		return fail2("--schedule '%s': expected random, round-robin or pct%s", sched_s, "");
	x->sched = sched_s;
	x->sched_seed = plat->seed;
	if (sched_seed_s) {
		if (dc_parse_u64(sched_seed_s, 0, UINT64_MAX, &v) != DC_OK)
			return fail2("--schedule-seed '%s': expected a whole number%s",
			             sched_seed_s, "");
		x->sched_seed = v;
	}
	x->sched_every = 200;
	if (sched_every_s) {
		if (dc_parse_u64(sched_every_s, 0, UINT32_MAX, &v) != DC_OK)
			return fail2(
			    "--schedule-every '%s': expected a whole number (0: kernel calls "
			    "only)%s",
			    sched_every_s, "");
		x->sched_every = (uint32_t)v;
	}
	/* PCT draws its change points from the steps [1, k]: k near the run's length, or they
	 * fall after its end.  Runs of the example drivers take 20 to 50 points per IRP
	 * counted by the workload (torture, --schedule-every 200); 40 per IRP, at least 500. */
	x->sched_steps = DC_MIN(DC_MAX(40 * wl->count, 500), UINT64_C(100000000));
	if (sched_steps_s) {
		if (dc_parse_u64(sched_steps_s, 1, UINT32_MAX, &v) != DC_OK)
			return fail2("--schedule-steps '%s': expected a whole number of steps, "
			             "1 or more%s",
			             sched_steps_s, "");
		x->sched_steps = v;
	}
	if ((sched_seed_s || sched_every_s || sched_steps_s) && !sched_s)
		return fail2("--schedule-seed, --schedule-every and --schedule-steps need "
		             "--schedule%s%s",
		             "", "");
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
	if (registry) {
		/* Parsed whole now, so that a bad file stops the run before anything ran. */
		struct dc_reg *scratch = dc_reg_create();
		int re =
		    scratch ? dc_regfile_load(scratch, registry, err, sizeof(err)) : DC_ERR_NOMEM;
		dc_reg_destroy(scratch);
		if (re == DC_ERR_NOMEM && !scratch)
			snprintf(err, sizeof(err), "%s: out of memory", registry);
		if (re)
			return fail2("%s%s", err, "");
	}
	char kpath[600];
	if (open_s && dc_ob_win32_path(open_s, kpath, sizeof(kpath)))
		return fail2("--open '%s': expected a device name \\\\.\\NAME (or \\\\?\\NAME)%s",
		             open_s, "");
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
	x->open = open_s;
	x->trace_path = trace_path;
	x->quiet = quiet;
	/* DMACOH_DBGPRINT=1: the old spelling of DMACOH_OPTIONS=dbgprint=1, still honoured. */
	const char *old_dbg = getenv("DMACOH_DBGPRINT");
	x->dbgprint = dbgprint || co->dbgprint || (old_dbg && !strcmp(old_dbg, "1"));
	x->deterministic = deterministic;

	clock_gettime(CLOCK_MONOTONIC, &x->w0);
	if (dc_tool_session_build(&x->t, plat, co, err, sizeof(err)))
		return fail2("%s%s", err, "");
	if (x->sched)
		dc_sys_set_schedule(x->t.s, x->sched, x->sched_seed, x->sched_every, 0,
		                    x->sched_steps);
	if (registry && dc_sys_load_registry(x->t.s, registry, err, sizeof(err))) {
		dc_tool_session_close(&x->t);
		return fail2("%s%s", err, "");
	}
	if (supervise)
		return dc_run_supervised(x);
	int rc = dc_run_body(x);
	dc_check_uninstall_crash_handler();
	if (rc) {
		/* Nothing lost: what the driver did before the error is still reported. */
		if (dc_check_count(x->t.chk))
			(void)dc_run_finish(x, x->t.chk);
		dc_tool_session_close(&x->t);
		return fail2("%s%s", x->err, "");
	}
	rc = dc_run_finish(x, x->t.chk);
	dc_tool_session_close(&x->t);
	return rc;
}
