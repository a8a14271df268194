/* dmacoh torture: a campaign of random valid runs of every driver module (correct drivers and
 * buggy twins) on the built-in platforms and on random valid profiles, each run a separate
 * `dmacoh run` process (this same binary), judged from its exit status and report.  Fails on a
 * finding for a correct driver, a twin not caught where its workload can trigger it, a hang,
 * a crash, an exit status other than 0/1, wrong bytes or failed/hung IRPs on a correct driver,
 * and prints the exact command that reproduces each failure.  --shard i/N splits a campaign
 * deterministically across machines; --merge joins their --json results.
 * What it does not do: minimise a failing run, or look inside a run (only what `dmacoh run`
 * reports).  Generation: torture_gen.c; verdicts: torture_verdict.c. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmacoh/common.h"
#include "dmacoh/platform.h"
#include "cmds.h"
#include "torture.h"

#define TT_MAX_DRIVERS 512
#define TT_OUT_MAX (4u << 20) /* bytes of a child's stdout or stderr kept */

struct tt_opts {
	uint64_t seconds, runs, seed, timeout;
	unsigned shard, nshards, jobs;
	const char *json, *dir, *driver_pat, *as_correct;
	bool quiet, list;
};

struct tt_done {
	struct tt_run run;
	struct tt_result res;
	char cmd[2048];
};

static char self_exe[PATH_MAX];
/* SIGINT/SIGTERM/SIGHUP: launch nothing more, end the runs in flight, write the results. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dmacoh torture [--seconds N | --runs N] [--seed S] [--shard i/N] [--jobs J]\n"
	    "                      [--json FILE] [--dir DIR] [--driver PATTERN] [--timeout S]\n"
	    "                      [--quiet] [--schedule random|round-robin|pct]\n"
	    "       dmacoh torture --merge A.json B.json ...\n"
	    "       dmacoh torture --triggers\n\n"
	    "Runs random valid workloads of every driver module (correct drivers and buggy twins)\n"
	    "on the built-in platforms and on random valid profiles, each as its own `dmacoh run`\n"
	    "process, and fails on: a finding for a correct driver, a twin not caught by its rule\n"
	    "where its workload can trigger it, a hang, a crash, an exit status other than 0/1,\n"
	    "wrong bytes or failed/hung IRPs on a correct driver.  Each failure is printed with "
	    "the\n"
	    "exact `dmacoh run` command that reproduces it.\n\n"
	    "  --seconds N      run for N seconds of host time (default: --runs 100)\n"
	    "  --runs N         the first N runs of the campaign's sequence\n"
	    "  --seed S         the campaign's seed: same seed, same sequence of runs (default 1)\n"
	    "  --shard i/N      only the runs of shard i (0 <= i < N): a deterministic partition\n"
	    "  --jobs J         runs at once (default: the number of processors)\n"
	    "  --json FILE      every run's command, verdict and duration; failures in detail\n"
	    "  --dir DIR        where generated profiles go (default torture-out); those of\n"
	    "                   failing runs are kept for the reproduce command\n"
	    "  --driver PAT     only driver modules matching the shell pattern PAT\n"
	    "  --timeout S      host seconds one run may take before it counts as a hang "
	    "(default 120)\n"
	    "  --schedule P     every run under `dmacoh run --schedule P` (its seed the run's)\n"
	    "  --merge F...     join shards' --json results into one summary\n"
	    "  --triggers       print what each twin's workload needs for its rule to fire\n"
	    "  --list           print the runs (index and command) this shard would make; run "
	    "none\n"
	    "  --as-correct PAT (for tests) judge matching twins as if they were correct\n\n"
	    "Exit status: 0 no failure, 1 failures, 2 usage error.\n");
}

static int uerr(const char *fmt, const char *a)
{
	fprintf(stderr, "dmacoh torture: ");
	fprintf(stderr, fmt, a);
	fputc('\n', stderr);
	return 2;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	if (!s || !*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* ---- Children ------------------------------------------------------------------------------ */
struct buf {
	char *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const char *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap * 2 : 65536;
		while (c < b->n + n + 1)
			c *= 2;
		if (c > TT_OUT_MAX + 1)
			c = TT_OUT_MAX + 1;
		char *q = realloc(b->p, c);
		if (!q)
			return;
		b->p = q;
		b->cap = c;
	}
	if (b->n + n + 1 > b->cap)
		n = b->cap - b->n - 1;
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
}

struct child {
	pid_t pid;
	int fd[2]; /* stdout, stderr; -1 once closed */
	struct buf out[2];
	double t0;
	bool killed, interrupted;
	size_t slot; /* index in the done array */
};

/* Starts self with args (NULL-terminated) in its own process group. */
static bool spawn(struct child *c, char *const *args)
{
	int po[2], pe[2];
	memset(c, 0, sizeof(*c));
	if (pipe2(po, O_CLOEXEC))
		return false;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]), close(po[1]);
		return false;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		return false;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		execv(self_exe, args);
		_exit(127);
	}
	setpgid(pid, pid);
	close(po[1]), close(pe[1]);
	c->pid = pid;
	c->fd[0] = po[0];
	c->fd[1] = pe[0];
	fcntl(c->fd[0], F_SETFL, O_NONBLOCK);
	fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
	c->t0 = now_s();
	return true;
}

/* Reads what is ready; true when both pipes are closed. */
static bool drain(struct child *c)
{
	char tmp[65536];
	for (int i = 0; i < 2; i++)
		while (c->fd[i] >= 0) {
			ssize_t n = read(c->fd[i], tmp, sizeof(tmp));
			if (n > 0) {
				buf_add(&c->out[i], tmp, (size_t)n);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	return c->fd[0] < 0 && c->fd[1] < 0;
}

/* Runs self with args to the end (for `list drivers`); stdout in *out (malloc'ed). */
static int run_sync(char *const *args, char **out)
{
	struct child c;
	if (!spawn(&c, args))
		return -1;
	while (!drain(&c)) {
		struct pollfd pf[2] = {{c.fd[0], POLLIN, 0}, {c.fd[1], POLLIN, 0}};
		poll(pf, 2, 1000);
	}
	int st;
	waitpid(c.pid, &st, 0);
	*out = c.out[0].p ? c.out[0].p : strdup("");
	free(c.out[1].p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- Drivers ------------------------------------------------------------------------------- */
static int load_drivers(struct tt_driver *drv, const struct tt_opts *o)
{
	char *args[] = {"dmacoh", "list", "drivers", NULL};
	char *out = NULL;
	if (run_sync(args, &out) != 0) {
		free(out);
		return -1;
	}
	int n = 0;
	for (char *save = NULL, *line = strtok_r(out, "\n", &save); line && n < TT_MAX_DRIVERS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct tt_driver d;
		memset(&d, 0, sizeof(d));
		char rest[256] = "";
		if (sscanf(line, "%63s %15s %255[^\n]", d.name, d.device, rest) < 2)
			continue;
		const char *br = strstr(rest, " that breaks ");
		if (!strncmp(rest, "twin of ", 8) && br)
			snprintf(d.rule, sizeof(d.rule), "%.7s", br + 13);
		if (o->driver_pat && fnmatch(o->driver_pat, d.name, 0))
			continue;
		drv[n++] = d;
	}
	free(out);
	return n;
}

/* ---- Commands ------------------------------------------------------------------------------ */
static void shell_quote(char *dst, size_t len, const char *s)
{
	bool plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:+",
		        *p))
			plain = false;
	if (plain) {
		snprintf(dst, len, "%s", s);
		return;
	}
	size_t n = 0;
	if (n + 1 < len)
		dst[n++] = '\'';
	for (const char *p = s; *p && n + 5 < len; p++) {
		if (*p == '\'') {
			memcpy(dst + n, "'\\''", 4);
			n += 4;
		} else {
			dst[n++] = *p;
		}
	}
	if (n + 1 < len)
		dst[n++] = '\'';
	dst[n] = 0;
}

/* --schedule P: every run under the seeded scheduler, its seed the run's (NULL: none). */
static const char *tt_schedule;

/* The child's argv (pointers into r and the statics) and the command line that repeats it. */
static void run_args(const struct tt_run *r, const struct tt_driver *d, char *seed, size_t sl,
                     char **args, char *cmd, size_t cl)
{
	snprintf(seed, sl, "%" PRIu64, r->seed);
	int i = 0;
	args[i++] = "dmacoh";
	args[i++] = "run";
	args[i++] = "--driver";
	args[i++] = (char *)d->name;
	args[i++] = "--platform";
	args[i++] = (char *)(r->profile ? r->prof_path : r->platform);
	args[i++] = "--workload";
	args[i++] = (char *)r->workload;
	args[i++] = "--seed";
	args[i++] = seed;
	args[i++] = "--format";
	args[i++] = "json";
	args[i++] = "--quiet";
	args[i++] = "--deterministic";
	if (tt_schedule) {
		args[i++] = "--schedule";
		args[i++] = (char *)tt_schedule;
	}
	/* An S03 twin's mistake shows only when the grant comes later (as `dmacoh demo`). */
	if (!strcmp(d->rule, "S03"))
		args[i++] = "--deferred-grant";
	args[i] = NULL;
	size_t n = 0;
	const char *env = getenv("DMACOH_DRIVER_DIR");
	char q[PATH_MAX + 64];
	if (env && *env) {
		shell_quote(q, sizeof(q), env);
		n += (size_t)snprintf(cmd + n, cl - n, "DMACOH_DRIVER_DIR=%s ", q);
	}
	shell_quote(q, sizeof(q), self_exe);
	n += (size_t)snprintf(cmd + n, cl - n, "%s", q);
	for (int k = 1; args[k] && n < cl; k++) {
		shell_quote(q, sizeof(q), args[k]);
		n += (size_t)snprintf(cmd + n, cl - n, " %s", q);
	}
}

static bool write_profile(const struct tt_run *r, char *err, size_t errlen)
{
	FILE *f = fopen(r->prof_path, "w");
	if (!f || fputs(r->prof_text, f) < 0 || fclose(f)) {
		snprintf(err, errlen, "cannot write the profile file");
		return false;
	}
	/* Validate it as `dmacoh platform check` does before any run uses it. */
	struct dc_platform p;
	return dc_platform_load(r->prof_path, &p, err, errlen) == DC_OK;
}

/* ---- Summary ------------------------------------------------------------------------------- */
struct tt_summary {
	uint64_t runs, failures, by_class[TT_NCLASSES], caught, not_triggered;
	unsigned drivers, correct, twins, platforms, builtin, profiles;
};

struct name_set {
	char (*v)[64];
	size_t n, cap;
};

static bool set_add(struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return false;
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 64;
		void *q = realloc(s->v, c * sizeof(*s->v));
		if (!q)
			return false;
		s->v = q;
		s->cap = c;
	}
	snprintf(s->v[s->n++], 64, "%s", name);
	return true;
}

struct tt_rec {
	const char *driver, *platform, *verdict, *cls;
	bool twin, profile;
};

static void summarize(const struct tt_rec *recs, size_t n, struct tt_summary *s)
{
	memset(s, 0, sizeof(*s));
	struct name_set drv = {0}, plat = {0};
	for (size_t i = 0; i < n; i++) {
		const struct tt_rec *r = &recs[i];
		s->runs++;
		if (set_add(&drv, r->driver))
			*(r->twin ? &s->twins : &s->correct) += 1;
		if (set_add(&plat, r->platform))
			*(r->profile ? &s->profiles : &s->builtin) += 1;
		if (!strcmp(r->verdict, "FAIL")) {
			s->failures++;
			for (int c = 0; c < TT_NCLASSES; c++)
				if (!strcmp(r->cls, tt_classes[c]))
					s->by_class[c]++;
		} else if (!strcmp(r->verdict, "caught")) {
			s->caught++;
		} else if (!strcmp(r->verdict, "not-triggered")) {
			s->not_triggered++;
		}
	}
	s->drivers = (unsigned)drv.n;
	s->platforms = (unsigned)plat.n;
	free(drv.v);
	free(plat.v);
}

static void print_summary(FILE *f, const struct tt_summary *s)
{
	fprintf(f,
	        "torture: %" PRIu64 " runs, %u drivers (%u correct, %u twins), %u platforms (%u "
	        "built-in, %u generated profiles), %" PRIu64 " failures",
	        s->runs, s->drivers, s->correct, s->twins, s->platforms, s->builtin, s->profiles,
	        s->failures);
	bool any = false;
	for (int c = 0; c < TT_NCLASSES; c++)
		if (s->by_class[c]) {
			fprintf(f, "%s%s %" PRIu64, any ? ", " : " (", tt_classes[c],
			        s->by_class[c]);
			any = true;
		}
	fprintf(f,
	        "%s; twin runs: %" PRIu64 " caught, %" PRIu64 " not triggerable by their "
	        "workload\n",
	        any ? ")" : "", s->caught, s->not_triggered);
}

/* ---- JSON ---------------------------------------------------------------------------------- */
static json_object *run_json(const struct tt_done *d, const struct tt_driver *drv, bool twin)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "role", json_object_new_string(twin ? "twin" : "correct"));
	json_object_object_add(o, "index", json_object_new_int64((int64_t)d->run.index));
	json_object_object_add(o, "driver", json_object_new_string(drv->name));
	json_object_object_add(o, "twin_rule", json_object_new_string(drv->rule));
	json_object_object_add(o, "platform", json_object_new_string(d->run.platform));
	json_object_object_add(o, "profile",
	                       d->run.profile ? json_object_new_string(d->run.prof_path) : NULL);
	json_object_object_add(o, "workload", json_object_new_string(d->run.workload));
	json_object_object_add(o, "seed", json_object_new_int64((int64_t)d->run.seed));
	json_object_object_add(o, "command", json_object_new_string(d->cmd));
	json_object_object_add(o, "verdict", json_object_new_string(d->res.verdict));
	json_object_object_add(o, "class", json_object_new_string(d->res.cls));
	json_object_object_add(o, "detail", json_object_new_string(d->res.detail));
	json_object_object_add(o, "exit", json_object_new_int(d->res.exit_code));
	json_object_object_add(o, "signal", json_object_new_int(d->res.signal));
	json_object_object_add(o, "duration_s", json_object_new_double(d->res.secs));
	json_object_object_add(o, "rules", json_object_new_string(d->res.rules));
	json_object_object_add(o, "irps", json_object_new_int64((int64_t)d->res.irps));
	json_object_object_add(o, "reads", json_object_new_int64((int64_t)d->res.reads));
	json_object_object_add(o, "writes", json_object_new_int64((int64_t)d->res.writes));
	json_object_object_add(o, "faults", json_object_new_int64((int64_t)d->res.faults));
	if (d->res.failure && d->run.profile)
		json_object_object_add(o, "profile_text", json_object_new_string(d->run.prof_text));
	return o;
}

static json_object *summary_json(const struct tt_summary *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)s->runs));
	json_object_object_add(o, "drivers", json_object_new_int((int)s->drivers));
	json_object_object_add(o, "platforms", json_object_new_int((int)s->platforms));
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)s->failures));
	json_object *bc = json_object_new_object();
	for (int c = 0; c < TT_NCLASSES; c++)
		json_object_object_add(bc, tt_classes[c],
		                       json_object_new_int64((int64_t)s->by_class[c]));
	json_object_object_add(o, "by_class", bc);
	return o;
}

/* ---- The campaign -------------------------------------------------------------------------- */
static void report_failure(const struct tt_done *d, const struct tt_driver *drv)
{
	printf("FAIL [%s] run %" PRIu64 " %s on %s: %s\n", d->res.cls, d->run.index, drv->name,
	       d->run.platform, d->res.detail);
	if (d->run.profile)
		printf("  profile:   %s (kept)\n", d->run.prof_path);
	printf("  reproduce: %s\n", d->cmd);
	fflush(stdout);
}

static void finish(struct child *c, struct tt_done *d, const struct tt_driver *drv,
                   const struct tt_opts *o)
{
	int st = 0;
	waitpid(c->pid, &st, 0);
	struct tt_result *res = &d->res;
	res->secs = now_s() - c->t0;
	res->timed_out = c->killed;
	res->signal = !c->killed && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	res->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	tt_parse_output(res, c->out[0].p ? c->out[0].p : "", c->out[1].p ? c->out[1].p : "");
	bool as_correct = o->as_correct && !fnmatch(o->as_correct, drv->name, 0);
	tt_judge(res, &d->run, drv, as_correct);
	if (res->failure)
		report_failure(d, drv);
	else if (d->run.profile)
		unlink(d->run.prof_path);
	if (res->failure && !o->quiet && c->out[1].n) {
		/* the child's summary, indented, so the failure can be read without rerunning */
		const char *p = c->out[1].p;
		size_t shown = 0;
		for (const char *l = p; *l && shown < 24; shown++) {
			const char *e = strchr(l, '\n');
			int len = e ? (int)(e - l) : (int)strlen(l);
			printf("    | %.*s\n", len, l);
			l = e ? e + 1 : l + len;
		}
	}
	free(c->out[0].p);
	free(c->out[1].p);
	c->pid = 0;
}

static int campaign(const struct tt_opts *o)
{
	static struct tt_driver drv[TT_MAX_DRIVERS];
	int ndrv = load_drivers(drv, o);
	if (ndrv < 0)
		return uerr("cannot list the driver modules ('dmacoh list drivers' failed)%s", "");
	if (ndrv == 0)
		return uerr("no driver module matches%s", "");
	if (mkdir(o->dir, 0777) && errno != EEXIST)
		return uerr("%s: cannot create the profile directory", o->dir);
	for (int i = 0; i < ndrv; i++)
		if (drv[i].rule[0] && !tt_trigger_find(drv[i].name))
			fprintf(stderr,
			        "dmacoh torture: warning: twin %s has no row in the trigger table; "
			        "each of its misses is reported as a torture bug\n",
			        drv[i].name);
	if (o->list) {
		/* The plan only: which runs this shard makes, as the commands that make them. */
		for (uint64_t k = 0; k < o->runs; k++) {
			if (o->nshards > 1 && tt_shard_of(o->seed, k, o->nshards) != o->shard)
				continue;
			static struct tt_done d;
			tt_generate(&d.run, o->seed, k, drv, ndrv, o->dir);
			char seed[32], *args[20];
			run_args(&d.run, &drv[d.run.driver], seed, sizeof(seed), args, d.cmd,
			         sizeof(d.cmd));
			printf("%" PRIu64 " %s\n", k, d.cmd);
		}
		return 0;
	}
	size_t cap = 1024, ndone = 0;
	struct tt_done *done = calloc(cap, sizeof(*done));
	struct child *kids = calloc(o->jobs, sizeof(*kids));
	if (!done || !kids)
		return uerr("out of memory%s", "");
	double t0 = now_s();
	uint64_t k = 0, launched = 0;
	unsigned running = 0;
	for (;;) {
		bool more = o->seconds ? now_s() - t0 < (double)o->seconds : k < o->runs;
		if (stop_requested) {
			more = false;
			for (unsigned j = 0; j < o->jobs; j++)
				if (kids[j].pid && !kids[j].killed) {
					kill(-kids[j].pid, SIGKILL);
					kill(kids[j].pid, SIGKILL);
					kids[j].killed = true;
					kids[j].interrupted = true;
				}
		}
		/* launch */
		while (more && running < o->jobs) {
			while (o->nshards > 1 && tt_shard_of(o->seed, k, o->nshards) != o->shard &&
			       (o->seconds || k < o->runs))
				k++;
			if (!o->seconds && k >= o->runs) {
				more = false;
				break;
			}
			if (ndone == cap) {
				struct tt_done *q = realloc(done, 2 * cap * sizeof(*done));
				if (!q)
					break;
				done = q;
				cap *= 2;
			}
			struct tt_done *d = &done[ndone];
			memset(d, 0, sizeof(*d));
			tt_generate(&d->run, o->seed, k++, drv, ndrv, o->dir);
			const struct tt_driver *dv = &drv[d->run.driver];
			char seed[32], *args[20];
			run_args(&d->run, dv, seed, sizeof(seed), args, d->cmd, sizeof(d->cmd));
			char err[512];
			if (d->run.profile && !write_profile(&d->run, err, sizeof(err))) {
				d->res.verdict = "FAIL";
				d->res.cls = "torture bug";
				d->res.failure = true;
				d->res.exit_code = -1;
				snprintf(d->res.detail, sizeof(d->res.detail),
				         "generated profile invalid: %.400s", err);
				report_failure(d, dv);
				ndone++;
				continue;
			}
			size_t slot = 0;
			while (kids[slot].pid)
				slot++;
			if (!spawn(&kids[slot], args)) {
				free(done);
				free(kids);
				return uerr("cannot start a run (fork/pipe failed)%s", "");
			}
			kids[slot].slot = ndone++;
			running++;
			launched++;
			more = (o->seconds ? now_s() - t0 < (double)o->seconds : k < o->runs) &&
			       !stop_requested;
		}
		if (!running && !more)
			break;
		/* wait for output or an exit */
		struct pollfd pf[2 * 256];
		unsigned np = 0;
		for (unsigned j = 0; j < o->jobs && np + 2 <= DC_ARRAY_SIZE(pf); j++)
			for (int i = 0; i < 2; i++)
				if (kids[j].pid && kids[j].fd[i] >= 0)
					pf[np++] = (struct pollfd){kids[j].fd[i], POLLIN, 0};
		poll(pf, np, 100);
		for (unsigned j = 0; j < o->jobs; j++) {
			struct child *c = &kids[j];
			if (!c->pid)
				continue;
			bool closed = drain(c);
			if (!c->killed && now_s() - c->t0 > (double)o->timeout) {
				kill(-c->pid, SIGKILL);
				kill(c->pid, SIGKILL);
				c->killed = true;
			}
			if (closed || c->killed) {
				if (c->killed && !closed) {
					/* killed: the pipes close once the whole group is gone */
					while (!drain(c)) {
						struct pollfd p2[2] = {{c->fd[0], POLLIN, 0},
						                       {c->fd[1], POLLIN, 0}};
						poll(p2, 2, 100);
					}
				}
				if (c->interrupted) {
					/* not a result: torture itself was stopped */
					int st;
					waitpid(c->pid, &st, 0);
					free(c->out[0].p);
					free(c->out[1].p);
					if (done[c->slot].run.profile)
						unlink(done[c->slot].run.prof_path);
					done[c->slot].res.verdict = NULL;
					c->pid = 0;
				} else {
					finish(c, &done[c->slot], &drv[done[c->slot].run.driver],
					       o);
				}
				running--;
			}
		}
	}
	double wall = now_s() - t0;
	/* Drop the runs an interruption cut short (verdict NULL), keeping index order. */
	size_t kept = 0;
	for (size_t i = 0; i < ndone; i++)
		if (done[i].res.verdict)
			done[kept++] = done[i];
	if (kept < ndone)
		fprintf(stderr, "dmacoh torture: interrupted: %zu runs in flight dropped\n",
		        ndone - kept);
	ndone = kept;
	/* Summary over the runs, in index order (as a merge of shards sees them). */
	struct tt_rec *recs = calloc(ndone ? ndone : 1, sizeof(*recs));
	double sum = 0, mx = 0;
	for (size_t i = 0; i < ndone; i++) {
		const struct tt_driver *dv = &drv[done[i].run.driver];
		bool ac = o->as_correct && !fnmatch(o->as_correct, dv->name, 0);
		recs[i] =
		    (struct tt_rec){dv->name,        done[i].run.platform, done[i].res.verdict,
		                    done[i].res.cls, dv->rule[0] && !ac,   done[i].run.profile};
		sum += done[i].res.secs;
		if (done[i].res.secs > mx)
			mx = done[i].res.secs;
	}
	struct tt_summary s;
	summarize(recs, ndone, &s);
	print_summary(stdout, &s);
	printf("torture: seed %" PRIu64 ", shard %u/%u, %u jobs, %.1f s wall; per run %.3f s mean, "
	       "%.3f s max\n",
	       o->seed, o->shard, o->nshards, o->jobs, wall, ndone ? sum / (double)ndone : 0.0, mx);
	int rc = s.failures ? 1 : 0;
	if (o->json) {
		json_object *root = json_object_new_object();
		json_object *camp = json_object_new_object();
		json_object_object_add(camp, "seed", json_object_new_int64((int64_t)o->seed));
		json_object_object_add(camp, "shard", json_object_new_int((int)o->shard));
		json_object_object_add(camp, "shards", json_object_new_int((int)o->nshards));
		json_object_object_add(camp, "jobs", json_object_new_int((int)o->jobs));
		json_object_object_add(camp, "wall_s", json_object_new_double(wall));
		json_object_object_add(camp, "interrupted",
		                       json_object_new_boolean(stop_requested));
		json_object_object_add(root, "campaign", camp);
		json_object *runs = json_object_new_array();
		for (size_t i = 0; i < ndone; i++)
			json_object_array_add(
			    runs, run_json(&done[i], &drv[done[i].run.driver], recs[i].twin));
		json_object_object_add(root, "runs", runs);
		json_object_object_add(root, "summary", summary_json(&s));
		if (json_object_to_file_ext(o->json, root, JSON_C_TO_STRING_PRETTY)) {
			fprintf(stderr, "dmacoh torture: cannot write %s\n", o->json);
			rc = rc ? rc : 1;
		}
		json_object_put(root);
	}
	free(recs);
	free(done);
	free(kids);
	return rc;
}

/* ---- --merge ------------------------------------------------------------------------------- */
static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_string(v)
	           ? json_object_get_string(v)
	           : "";
}

static int merge(int n, char **files)
{
	json_object **roots = calloc((size_t)n, sizeof(*roots));
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		roots[i] = json_object_from_file(files[i]);
		json_object *runs;
		if (!roots[i] || !json_object_object_get_ex(roots[i], "runs", &runs) ||
		    !json_object_is_type(runs, json_type_array)) {
			for (int j = 0; j <= i; j++)
				if (roots[j])
					json_object_put(roots[j]);
			free(roots);
			return uerr("%s: not a 'dmacoh torture --json' result", files[i]);
		}
		total += json_object_array_length(runs);
	}
	struct tt_rec *recs = calloc(total ? total : 1, sizeof(*recs));
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		json_object *runs;
		json_object_object_get_ex(roots[i], "runs", &runs);
		for (size_t j = 0; j < json_object_array_length(runs); j++) {
			json_object *r = json_object_array_get_idx(runs, j), *prof;
			recs[k].driver = jstr(r, "driver");
			recs[k].platform = jstr(r, "platform");
			recs[k].verdict = jstr(r, "verdict");
			recs[k].cls = jstr(r, "class");
			recs[k].twin = !strcmp(jstr(r, "role"), "twin");
			recs[k].profile = json_object_object_get_ex(r, "profile", &prof) && prof;
			if (!strcmp(recs[k].verdict, "FAIL"))
				printf("FAIL [%s] run %s %s on %s: %s\n  reproduce: %s\n",
				       recs[k].cls, jstr(r, "index"), recs[k].driver,
				       recs[k].platform, jstr(r, "detail"), jstr(r, "command"));
			k++;
		}
	}
	struct tt_summary s;
	summarize(recs, k, &s);
	print_summary(stdout, &s);
	free(recs);
	for (int i = 0; i < n; i++)
		json_object_put(roots[i]);
	free(roots);
	return s.failures ? 1 : 0;
}

static void print_triggers(void)
{
	size_t n;
	const struct tt_trigger *t = tt_triggers(&n);
	/* one name per TT_NEED_* bit, in bit order */
	static const char *const names[] = {"read",
	                                    "write",
	                                    "read|write",
	                                    "fault",
	                                    "size_min",
	                                    "unaligned",
	                                    "fewer-pages-than-map-registers",
	                                    "NEVER",
	                                    "size_max"};
	for (size_t i = 0; i < n; i++) {
		char needs[128] = "";
		for (unsigned b = 0; b < DC_ARRAY_SIZE(names); b++)
			if (t[i].needs >> b & 1) {
				size_t l = strlen(needs);
				snprintf(needs + l, sizeof(needs) - l, "%s%s", l ? "+" : "",
				         names[b]);
			}
		char *sz = strstr(needs, "size_m");
		if (sz) { /* "size_min" -> "size_min>N", "size_max" -> "size_max<=N" */
			char rest[128];
			snprintf(rest, sizeof(rest), "%s", sz + 8);
			snprintf(sz + 8, sizeof(needs) - (size_t)(sz + 8 - needs), "%s%u%s",
			         t[i].needs & TT_NEED_LARGE ? ">" : "<=", t[i].min_size, rest);
		}
		printf("%-18s %-44s %s\n", t[i].twin, *needs ? needs : "always", t[i].why);
	}
}

int dc_cmd_torture(int argc, char **argv)
{
	struct tt_opts o = {
	    .runs = 0, .seed = 1, .timeout = 120, .nshards = 1, .dir = "torture-out"};
	long np = sysconf(_SC_NPROCESSORS_ONLN);
	o.jobs = np > 0 ? (unsigned)np : 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--merge")) {
			if (i + 1 >= argc)
				return uerr("--merge needs result files%s", "");
			return merge(argc - i - 1, argv + i + 1);
		} else if (!strcmp(a, "--triggers")) {
			print_triggers();
			return 0;
		} else if (!strcmp(a, "--quiet")) {
			o.quiet = true;
			continue;
		} else if (!strcmp(a, "--list")) {
			o.list = true;
			continue;
		}
		if (!v)
			return uerr("%s needs a value (try 'dmacoh torture --help')", a);
		i++;
		if (!strcmp(a, "--seconds") || !strcmp(a, "--runs") || !strcmp(a, "--seed") ||
		    !strcmp(a, "--jobs") || !strcmp(a, "--timeout")) {
			if (!parse_u64(v, &x))
				return uerr("%s: expected a non-negative integer", a);
			if (!strcmp(a, "--seconds"))
				o.seconds = x;
			else if (!strcmp(a, "--runs"))
				o.runs = x;
			else if (!strcmp(a, "--seed"))
				o.seed = x;
			else if (!strcmp(a, "--timeout"))
				o.timeout = x;
			else if (x < 1 || x > 256)
				return uerr("--jobs %s: must be 1-256", v);
			else
				o.jobs = (unsigned)x;
			if ((!strcmp(a, "--seconds") || !strcmp(a, "--runs") ||
			     !strcmp(a, "--timeout")) &&
			    x == 0)
				return uerr("%s 0: nothing would run", a);
		} else if (!strcmp(a, "--shard")) {
			unsigned si, sn;
			char c;
			if (sscanf(v, "%u/%u%c", &si, &sn, &c) != 2 || *v < '0' || *v > '9' ||
			    !sn || si >= sn || sn > 1000000)
				return uerr("--shard %s: expected i/N with 0 <= i < N", v);
			o.shard = si;
			o.nshards = sn;
		} else if (!strcmp(a, "--json")) {
			o.json = v;
		} else if (!strcmp(a, "--dir")) {
			o.dir = v;
		} else if (!strcmp(a, "--driver")) {
			o.driver_pat = v;
		} else if (!strcmp(a, "--as-correct")) {
			o.as_correct = v;
		} else if (!strcmp(a, "--schedule")) {
			if (strcmp(v, "random") && strcmp(v, "round-robin") && strcmp(v, "pct"))
				return uerr("--schedule %s: expected random, round-robin or pct",
				            v);
			tt_schedule = v;
		} else {
			return uerr("unknown argument '%s' (try 'dmacoh torture --help')", a);
		}
	}
	if (o.seconds && o.runs)
		return uerr("--seconds and --runs exclude each other%s", "");
	if (o.list && o.seconds)
		return uerr("--list needs --runs N (a time-bound campaign has no fixed plan)%s",
		            "");
	if (!o.seconds && !o.runs)
		o.runs = 100;
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return uerr("cannot find the dmacoh binary (/proc/self/exe)%s", "");
	self_exe[n] = 0;
	/* Runs must not depend on the caller's sanitizer options. */
	unsetenv("DMACOH_OPTIONS");
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return campaign(&o);
}
