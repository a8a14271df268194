/* The hostile-driver suite (docs/hostile.md): every module in the hostile directory beside the
 * dmacoh binary (built from tests/hostile/NAME.c by mk/hostile.mk; found by scanning, so any
 * NAME.c added there is picked up) is run by the real tool, as a user runs it, and must give:
 * exit status 1, no signal death, no hang, no sanitizer report from dmacoh itself, and the
 * rule its source marks with an EXPECT comment at exactly that file:line -- in the text report
 * (stderr), the JSON report (stdout), the SARIF report (stdout, valid against the 2.1.0 schema
 * when python3-jsonschema is there) and a log_path file.
 *
 * Hangs never hang the suite: each run has a host-time deadline enforced here (fork/exec, then
 * waitpid polling, then SIGKILL), so a missing watchdog in dmacoh is a failure.  A source that
 * A source may name its device with a DEVICE comment (default sysblk, passed as --device: the
 * mem_* cases' modules name none).  There is no "pending" case: a PENDING comment (the marker
 * an earlier harness excused failures with) is refused, so a case either passes everywhere --
 * CI included -- or is not merged.  Not checked here, except for the cases that say so below:
 * what else the report says (other findings may come with the expected one). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmacoh/check.h"
#include "dctest.h"
#include "dctool.h"

#define HOSTILE_SRC_DIR "tests/hostile"
#define WORKLOAD "count=8,size=512-8192,align=page"
/* Host seconds a run may take before this harness kills it: well above dmacoh's own watchdog
 * (asked for with --timeout when the tool has one), far below forever. */
#define DEADLINE_S 60
#define TOOL_TIMEOUT "2"
/* The counted watchdog ends a loop that touches memory long before the host one: the base
 * driver makes far fewer accesses than this between two returns to the kernel. */
#define TOOL_MAX_ACCESSES "2000000"
#define MAX_CASES 128
#define MAX_OUT (4u << 20)

struct hcase {
	char name[64];
	char src[320]; /* tests/hostile/NAME.c */
	char module[1400];
	char rule[8];
	unsigned line;
	char device[32]; /* DEVICE marker, else sysblk */
};

struct hrun {
	bool ran, timed_out, signalled;
	int status, sig;
	char *out, *err, *log;
	char cmd[2048]; /* to reproduce it */
};

static void hrun_free(struct hrun *r)
{
	free(r->out);
	free(r->err);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

static char *slurp_path(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_OUT + 1);
	size_t n = buf ? fread(buf, 1, MAX_OUT, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

static int temp_file(char *path, size_t len, const char *what)
{
	snprintf(path, len, "/tmp/dmacoh-hostile-%s-XXXXXX", what);
	return mkstemp(path);
}

static bool tool_has_timeout_flag(void)
{
	static int known = -1;
	if (known < 0) {
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "'%s' run --help 2>/dev/null | grep -q -- '--timeout'",
		         dct_tool());
		known = system(cmd) == 0;
	}
	return known == 1;
}

/* Runs dmacoh on the case's module: format NULL for text, else "json" or "sarif"; with_log
 * points DMACOH_OPTIONS's log_path at a file and collects it. */
static void run_case(const struct hcase *c, const char *format, bool with_log, int deadline_s,
                     struct hrun *r)
{
	memset(r, 0, sizeof(*r));
	const char *bin = dct_tool();
	const char *argv[24];
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "run";
	argv[n++] = "--driver";
	argv[n++] = c->module;
	argv[n++] = "--device";
	argv[n++] = c->device;
	argv[n++] = "--workload";
	argv[n++] = WORKLOAD;
	argv[n++] = "--deterministic";
	argv[n++] = "--quiet";
	if (tool_has_timeout_flag()) {
		argv[n++] = "--timeout";
		argv[n++] = TOOL_TIMEOUT;
		argv[n++] = "--max-accesses";
		argv[n++] = TOOL_MAX_ACCESSES;
	}
	if (format) {
		argv[n++] = "--format";
		argv[n++] = format;
	}
	argv[n] = NULL;

	char outp[64], errp[64], logp[64], env[128] = "";
	int out = temp_file(outp, sizeof(outp), "out");
	int err = temp_file(errp, sizeof(errp), "err");
	int lg = with_log ? temp_file(logp, sizeof(logp), "log") : -1;
	if (lg >= 0) {
		close(lg);
		unlink(logp); /* dmacoh creates it */
		snprintf(env, sizeof(env), "log_path=%s", logp);
	}
	size_t k = (size_t)snprintf(r->cmd, sizeof(r->cmd), "%s", *env ? "DMACOH_OPTIONS=" : "");
	if (*env)
		k += (size_t)snprintf(r->cmd + k, sizeof(r->cmd) - k, "%s ", env);
	for (size_t i = 0; i < n && k < sizeof(r->cmd); i++)
		k +=
		    (size_t)snprintf(r->cmd + k, sizeof(r->cmd) - k, "%s%s", i ? " " : "", argv[i]);
	if (out < 0 || err < 0 || (with_log && lg < 0)) {
		if (out >= 0)
			close(out);
		if (err >= 0)
			close(err);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		/* A process group of its own: the deadline kills dmacoh and any child it forked. */
		setpgid(0, 0);
		if (*env)
			setenv("DMACOH_OPTIONS", env, 1);
		else
			unsetenv("DMACOH_OPTIONS");
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(out);
	close(err);
	if (pid > 0) {
		struct timespec t0, now, nap = {0, 5 * 1000 * 1000};
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int st = 0;
		for (;;) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			if (w < 0 && errno != EINTR)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!r->timed_out && now.tv_sec - t0.tv_sec >= deadline_s) {
				r->timed_out = true;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
			}
			nanosleep(&nap, NULL);
		}
		r->ran = true;
		r->signalled = WIFSIGNALED(st);
		r->sig = r->signalled ? WTERMSIG(st) : 0;
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r->timed_out)
			kill(-pid, SIGKILL); /* anything it left behind */
	}
	r->out = slurp_path(outp);
	r->err = slurp_path(errp);
	unlink(outp);
	unlink(errp);
	if (with_log) {
		r->log = slurp_path(logp);
		unlink(logp);
	}
}

/* --- Where a report puts the rule --------------------------------------------------------- */

/* A text report: a "==dmacoh== ERROR: RULE ..." (or WARNING) line, then its "    at
 * FILE:LINE[:FUNCTION]" line.  True if one names rule at file:line; where lists what the
 * rule's findings named instead. */
static bool text_has(const char *t, const struct hcase *c, char *where, size_t wlen)
{
	char want[400];
	snprintf(want, sizeof(want), "%s:%u", c->src, c->line);
	size_t wl = strlen(want), used = 0;
	where[0] = 0;
	for (const char *p = t; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *rest = NULL;
		if (!strncmp(p, "==dmacoh== ERROR: ", 18))
			rest = p + 18;
		else if (!strncmp(p, "==dmacoh== WARNING: ", 20))
			rest = p + 20;
		if (rest && !strncmp(rest, c->rule, strlen(c->rule)) &&
		    rest[strlen(c->rule)] == ' ') {
			/* Its "at" line, before the next finding. */
			for (const char *q = eol ? eol + 1 : NULL; q && *q;) {
				const char *qe = strchr(q, '\n');
				if (!strncmp(q, "==dmacoh==", 10))
					break;
				if (!strncmp(q, "    at ", 7)) {
					const char *at = q + 7;
					if (!strncmp(at, want, wl) &&
					    (at[wl] == ':' || at[wl] == '\n' || at[wl] == 0 ||
					     at[wl] == ' '))
						return true;
					size_t al = qe ? (size_t)(qe - at) : strlen(at);
					if (used + al + 3 < wlen)
						used += (size_t)snprintf(where + used, wlen - used,
						                         "%s%.*s", used ? ", " : "",
						                         (int)al, at);
					break;
				}
				q = qe ? qe + 1 : NULL;
			}
		}
		p = eol ? eol + 1 : NULL;
		(void)len;
	}
	return false;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static void note_where(char *where, size_t wlen, const char *file, int64_t line)
{
	size_t used = strlen(where);
	if (used + 8 < wlen)
		snprintf(where + used, wlen - used, "%s%s:%lld", used ? ", " : "",
		         file ? file : "(no file)", (long long)line);
}

/* dmacoh's JSON: findings[] with rule and location {file, line}. -1: not JSON. */
static int json_has(const char *t, const struct hcase *c, char *where, size_t wlen)
{
	where[0] = 0;
	json_object *root = t ? json_tokener_parse(t) : NULL, *arr;
	if (!root)
		return -1;
	int found = 0;
	if (json_object_object_get_ex(root, "findings", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr) && !found; i++) {
			json_object *f = json_object_array_get_idx(arr, i), *loc;
			const char *rule = jstr(f, "rule");
			if (!rule || strcmp(rule, c->rule) ||
			    !json_object_object_get_ex(f, "location", &loc))
				continue;
			const char *file = jstr(loc, "file");
			int64_t line = jint(loc, "line");
			if (file && !strcmp(file, c->src) && line == (int64_t)c->line)
				found = 1;
			else
				note_where(where, wlen, file, line);
		}
	}
	json_object_put(root);
	return found;
}

/* SARIF 2.1.0: runs[].results[] with ruleId and locations[0].physicalLocation. */
static int sarif_has(const char *t, const struct hcase *c, char *where, size_t wlen)
{
	where[0] = 0;
	json_object *root = t ? json_tokener_parse(t) : NULL, *runs;
	if (!root)
		return -1;
	int found = 0;
	if (json_object_object_get_ex(root, "runs", &runs) &&
	    json_object_is_type(runs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(runs) && !found; i++) {
			json_object *run = json_object_array_get_idx(runs, i), *res;
			if (!json_object_object_get_ex(run, "results", &res) ||
			    !json_object_is_type(res, json_type_array))
				continue;
			for (size_t j = 0; j < json_object_array_length(res) && !found; j++) {
				json_object *r = json_object_array_get_idx(res, j), *locs, *pl, *al,
				            *reg;
				const char *rule = jstr(r, "ruleId");
				if (!rule || strcmp(rule, c->rule) ||
				    !json_object_object_get_ex(r, "locations", &locs) ||
				    !json_object_object_get_ex(json_object_array_get_idx(locs, 0),
				                               "physicalLocation", &pl) ||
				    !json_object_object_get_ex(pl, "artifactLocation", &al) ||
				    !json_object_object_get_ex(pl, "region", &reg))
					continue;
				const char *file = jstr(al, "uri");
				int64_t line = jint(reg, "startLine");
				if (file && !strcmp(file, c->src) && line == (int64_t)c->line)
					found = 1;
				else
					note_where(where, wlen, file, line);
			}
		}
	}
	json_object_put(root);
	return found;
}

/* dmacoh's own memory errors (ASan, UBSan, LSan in a SANITIZER= build). */
static const char *sanitizer_report(const char *err)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer",
	                                    "runtime error:", "ERROR: LeakSanitizer",
	                                    "ERROR: UndefinedBehavior"};
	for (size_t i = 0; err && i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(err, marks[i]))
			return marks[i];
	return NULL;
}

static bool have_jsonschema(void)
{
	static int known = -1;
	if (known < 0)
		known = system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
	return known == 1;
}

/* Validates a SARIF text against the published schema: 1 valid, 0 not, -1 could not check. */
static int sarif_valid(const char *t, char *why, size_t wlen)
{
	why[0] = 0;
	if (!have_jsonschema())
		return -1;
	char path[64];
	int fd = temp_file(path, sizeof(path), "sarif");
	if (fd < 0)
		return -1;
	size_t n = strlen(t);
	bool wrote = write(fd, t, n) == (ssize_t)n;
	close(fd);
	if (!wrote) {
		unlink(path);
		return -1;
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import json, sys, jsonschema; "
	         "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' "
	         "tests/data/sarif-schema-2.1.0.json %s 2>&1 | tail -n 1",
	         path);
	FILE *p = popen(cmd, "r");
	size_t k = p ? fread(why, 1, wlen - 1, p) : 0;
	why[k] = 0;
	int st = p ? pclose(p) : -1;
	unlink(path);
	if (k && why[k - 1] == '\n')
		why[k - 1] = 0;
	return st == 0 && !k ? 1 : 0;
}

/* --- The corpus ---------------------------------------------------------------------------- */

static const char *hostile_dir(char *buf, size_t len)
{
	const char *bin = dct_tool();
	if (!bin)
		return NULL;
	snprintf(buf, len, "%s", bin);
	char *slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	snprintf(slash, len - (size_t)(slash - buf), "/hostile");
	return buf;
}

/* Reads the markers of tests/hostile/NAME.c: exactly one EXPECT comment naming a known rule,
 * an optional DEVICE comment, no PENDING comment.  False with why set if the source is
 * unusable. */
static bool read_markers(struct hcase *c, char *why, size_t wlen)
{
	FILE *f = fopen(c->src, "r");
	if (!f) {
		snprintf(why, wlen, "%s: cannot read the source of %s", c->src, c->module);
		return false;
	}
	char line[1024];
	unsigned no = 0, expects = 0;
	snprintf(c->device, sizeof(c->device), "sysblk");
	while (fgets(line, sizeof(line), f)) {
		no++;
		const char *e = strstr(line, "/* EXPECT: ");
		if (e) {
			expects++;
			char rule[8] = "";
			if (sscanf(e + 11, "%7[A-Z0-9]", rule) != 1 || dc_rule_find(rule) < 0 ||
			    rule[0] == 0 ||
			    strcmp(dc_rule_info((enum dc_rule)dc_rule_find(rule))->id, rule)) {
				snprintf(why, wlen, "%s:%u: EXPECT names no rule ID ('%s')", c->src,
				         no, rule);
				fclose(f);
				return false;
			}
			snprintf(c->rule, sizeof(c->rule), "%s", rule);
			c->line = no;
		}
		const char *d = strstr(line, "/* DEVICE: ");
		if (d)
			sscanf(d + 11, "%31[a-z0-9_]", c->device);
		if (strstr(line, "/* PENDING: ")) {
			snprintf(why, wlen,
			         "%s:%u: a PENDING marker: a hostile case passes or is not merged",
			         c->src, no);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	if (expects != 1) {
		snprintf(why, wlen, "%s: %u EXPECT markers (need exactly one)", c->src, expects);
		return false;
	}
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct hcase *)a)->name, ((const struct hcase *)b)->name);
}

/* The modules in the hostile directory, sorted; -1 if it cannot be read. */
static int scan_cases(struct hcase *cases, size_t max, char *dir, size_t dlen)
{
	if (!hostile_dir(dir, dlen))
		return -1;
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	size_t n = 0;
	for (struct dirent *de; (de = readdir(dp)) && n < max;) {
		size_t l = strlen(de->d_name);
		if (l <= 3 || l - 3 >= sizeof(cases[0].name) || strcmp(de->d_name + l - 3, ".so"))
			continue;
		struct hcase *c = &cases[n++];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%.*s", (int)(l - 3), de->d_name);
		snprintf(c->src, sizeof(c->src), "%s/%.63s.c", HOSTILE_SRC_DIR, c->name);
		snprintf(c->module, sizeof(c->module), "%s/%s", dir, de->d_name);
	}
	closedir(dp);
	qsort(cases, n, sizeof(cases[0]), by_name);
	return (int)n;
}

/* --- One case ------------------------------------------------------------------------------ */

struct verdict {
	char failed[2048]; /* "; "-separated checks that failed, each with its command */
	size_t len;
};

static void failf(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct verdict *v, const char *fmt, ...)
{
	if (v->len + 8 >= sizeof(v->failed))
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(v->failed + v->len, sizeof(v->failed) - v->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		v->len = DC_MIN(v->len + (size_t)k, sizeof(v->failed) - 1);
	if (v->len + 2 < sizeof(v->failed)) {
		v->failed[v->len++] = '\n';
		v->failed[v->len] = 0;
	}
}

/* The checks every run gets: finished in time, no signal death, no sanitizer report, exit 1. */
static bool check_process(const struct hrun *r, const char *what, struct verdict *v)
{
	if (!r->ran) {
		failf(v, "      %s: could not run: %s", what, r->cmd);
		return false;
	}
	bool ok = true;
	if (r->timed_out) {
		failf(v, "      %s: hang: killed after the harness's deadline (no watchdog fired)",
		      what);
		ok = false;
	} else if (r->signalled) {
		failf(v, "      %s: dmacoh died of signal %d (%s)", what, r->sig,
		      strsignal(r->sig));
		ok = false;
	} else if (r->status != 1) {
		failf(v, "      %s: exit status %d, want 1", what, r->status);
		ok = false;
	}
	const char *san = sanitizer_report(r->err);
	if (san) {
		failf(v, "      %s: dmacoh itself has a sanitizer report ('%s')", what, san);
		ok = false;
	}
	if (!ok)
		failf(v, "        reproduce: %s", r->cmd);
	return ok;
}

static void check_case(const struct hcase *c, struct verdict *v)
{
	int deadline = DEADLINE_S;
	char where[512];
	struct hrun r;

	/* Text, on stderr. */
	run_case(c, NULL, false, deadline, &r);
	bool proc_ok = check_process(&r, "text", v);
	if (!text_has(r.err, c, where, sizeof(where)))
		failf(v, "      text: no %s at %s:%u on stderr%s%s\n        reproduce: %s", c->rule,
		      c->src, c->line, *where ? "; it names " : "", where, r.cmd);
	hrun_free(&r);
	/* A hang would only repeat. */
	if (!proc_ok && strstr(v->failed, "hang"))
		return;

	/* JSON, on stdout. */
	run_case(c, "json", false, deadline, &r);
	check_process(&r, "json", v);
	int j = json_has(r.out, c, where, sizeof(where));
	if (j < 0)
		failf(v, "      json: stdout is not JSON (%zu bytes)\n        reproduce: %s",
		      r.out ? strlen(r.out) : 0, r.cmd);
	else if (!j)
		failf(v, "      json: no %s finding at %s:%u%s%s\n        reproduce: %s", c->rule,
		      c->src, c->line, *where ? "; it names " : "", where, r.cmd);
	hrun_free(&r);

	/* SARIF, on stdout, valid against the schema. */
	run_case(c, "sarif", false, deadline, &r);
	check_process(&r, "sarif", v);
	int s = sarif_has(r.out, c, where, sizeof(where));
	if (s < 0)
		failf(v, "      sarif: stdout is not JSON (%zu bytes)\n        reproduce: %s",
		      r.out ? strlen(r.out) : 0, r.cmd);
	else if (!s)
		failf(v, "      sarif: no %s result at %s:%u%s%s\n        reproduce: %s", c->rule,
		      c->src, c->line, *where ? "; it names " : "", where, r.cmd);
	if (s >= 0 && sarif_valid(r.out, where, sizeof(where)) == 0)
		failf(v, "      sarif: not valid SARIF 2.1.0: %s\n        reproduce: %s", where,
		      r.cmd);
	hrun_free(&r);

	/* The text report in a log_path file. */
	run_case(c, NULL, true, deadline, &r);
	check_process(&r, "log_path", v);
	if (!r.log)
		failf(v, "      log_path: no file written\n        reproduce: %s", r.cmd);
	else if (!text_has(r.log, c, where, sizeof(where)))
		failf(v, "      log_path: no %s at %s:%u in the file%s%s\n        reproduce: %s",
		      c->rule, c->src, c->line, *where ? "; it names " : "", where, r.cmd);
	hrun_free(&r);
}

DC_TEST(hostile_drivers_are_reported_at_their_marked_line)
{
	static struct hcase cases[MAX_CASES];
	char dir[1024];
	CHECK_MSG(dct_tool(), "no dmacoh binary (DMACOH_BIN)");
	int n = scan_cases(cases, MAX_CASES, dir, sizeof(dir));
	CHECK_MSG(n > 0, "no hostile modules in %s (built by mk/hostile.mk)", n < 0 ? "?" : dir);
	unsigned passed = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		struct hcase *c = &cases[i];
		static struct verdict v;
		memset(&v, 0, sizeof(v));
		if (!read_markers(c, v.failed, sizeof(v.failed))) {
			dct_fail(__FILE__, __LINE__, "%s: %s", c->name, v.failed);
			failed++;
			continue;
		}
		check_case(c, &v);
		if (v.len) {
			failed++;
			dct_fail(__FILE__, __LINE__, "%s: want %s at %s:%u; failed:\n%s", c->name,
			         c->rule, c->src, c->line, v.failed);
		} else {
			passed++;
		}
	}
	if (!dct_failed())
		printf("(%d cases: %u pass) ", n, passed);
	(void)failed;
}

/* Does the source carry an EXPECT marker at all?  Sources without one (another suite's, such
 * as sup_hostile.c) are not hostile cases and are not built by mk/hostile.mk. */
static bool has_marker(const char *src)
{
	FILE *f = fopen(src, "r");
	char line[1024];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "/* EXPECT: ") != NULL;
	if (f)
		fclose(f);
	return found;
}

DC_TEST(hostile_sources_all_built_and_marked)
{
	/* Every marked tests/hostile/NAME.c has a module (mk/hostile.mk builds them all) and
	 * exactly one EXPECT marker naming a rule. */
	char dir[1024];
	CHECK(hostile_dir(dir, sizeof(dir)));
	DIR *dp = opendir(HOSTILE_SRC_DIR);
	CHECK_MSG(dp, "cannot read %s (run from the source tree)", HOSTILE_SRC_DIR);
	unsigned n = 0;
	for (struct dirent *de; (de = readdir(dp));) {
		size_t l = strlen(de->d_name);
		if (l < 3 || strcmp(de->d_name + l - 2, ".c") || l - 2 >= 64)
			continue;
		struct hcase c;
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%.*s", (int)(l - 2), de->d_name);
		snprintf(c.src, sizeof(c.src), "%s/%.63s", HOSTILE_SRC_DIR, de->d_name);
		snprintf(c.module, sizeof(c.module), "%s/%.63s.so", dir, c.name);
		if (!has_marker(c.src))
			continue;
		char why[512] = "";
		struct stat st;
		bool built = stat(c.module, &st) == 0, marked = read_markers(&c, why, sizeof(why));
		if (!built || !marked) {
			closedir(dp);
			CHECK_MSG(built, "%s: no module %s", c.src, c.module);
			CHECK_MSG(marked, "%s", why);
		}
		n++;
	}
	closedir(dp);
	CHECK_MSG(n > 0, "no marked sources in %s", HOSTILE_SRC_DIR);
}

DC_TEST(hostile_pending_marker_is_refused)
{
	/* A PENDING marker once let a case fail without failing the suite (and CI never asked
	 * for strictness): it is now an unusable source. */
	char src[] = "/tmp/dmacoh-hostile-pending-XXXXXX";
	int fd = mkstemp(src);
	CHECK(fd >= 0);
	const char text[] = "/* PENDING: waits for nothing */\n"
	                    "static int f(void)\n{ /* EXPECT: R03 */\n\treturn 0;\n}\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct hcase c;
	memset(&c, 0, sizeof(c));
	snprintf(c.src, sizeof(c.src), "%s", src);
	char why[512] = "";
	bool usable = read_markers(&c, why, sizeof(why));
	unlink(src);
	CHECK_MSG(!usable, "a source with a PENDING marker was accepted");
	CHECK_MSG(strstr(why, ":1: a PENDING marker"), "why: '%s'", why);
	/* The same source without it is a case (the refusal is the marker's, not the text's). */
	fd = mkstemp(strcpy(src, "/tmp/dmacoh-hostile-pending-XXXXXX"));
	CHECK(fd >= 0);
	const char *plain = strchr(text, '\n') + 1;
	CHECK(write(fd, plain, strlen(plain)) == (ssize_t)strlen(plain));
	close(fd);
	snprintf(c.src, sizeof(c.src), "%s", src);
	usable = read_markers(&c, why, sizeof(why));
	unlink(src);
	CHECK_MSG(usable && c.line == 2 && !strcmp(c.rule, "R03"), "why: '%s'", why);
}

DC_TEST(hostile_failed_start_is_removed_without_leaks)
{
	/* fail_start takes an adapter and a common buffer in START, fails it and gives them back
	 * in REMOVE, which Windows sends after a failed start: the report is R03 and nothing else
	 * (before, no REMOVE came and DriverUnload ran with the FDO attached: A05). */
	static struct hcase c;
	char dir[1024];
	CHECK_MSG(dct_tool(), "no dmacoh binary (DMACOH_BIN)");
	CHECK(hostile_dir(dir, sizeof(dir)));
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "fail_start");
	snprintf(c.src, sizeof(c.src), "%s/fail_start.c", HOSTILE_SRC_DIR);
	snprintf(c.module, sizeof(c.module), "%s/fail_start.so", dir);
	char why[512] = "";
	CHECK_MSG(read_markers(&c, why, sizeof(why)), "%s", why);
	struct hrun r;
	run_case(&c, "json", false, DEADLINE_S, &r);
	json_object *root = r.out ? json_tokener_parse(r.out) : NULL, *arr = NULL;
	bool ran = r.ran && !r.timed_out && !r.signalled && r.status == 1;
	char rules[256] = "";
	size_t n = 0, r03 = 0, used = 0;
	if (root && json_object_object_get_ex(root, "findings", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			const char *rule = jstr(json_object_array_get_idx(arr, i), "rule");
			r03 += rule && !strcmp(rule, "R03");
			if (used + 16 < sizeof(rules))
				used += (size_t)snprintf(rules + used, sizeof(rules) - used, " %s",
				                         rule ? rule : "?");
		}
	}
	if (root)
		json_object_put(root);
	char cmd[sizeof(r.cmd)];
	snprintf(cmd, sizeof(cmd), "%s", r.cmd);
	int status = r.status;
	hrun_free(&r);
	CHECK_MSG(ran, "exit status %d (want 1): %s", status, cmd);
	CHECK_MSG(n == 1 && r03 == 1, "findings:%s (want R03 alone): %s", rules, cmd);
}
