/* The demo's main table: every driver module on every built-in platform.  A correct driver
 * must be clean (no finding) with every byte right; a buggy twin must be caught by exactly the
 * rule its name carries, on every platform — and the table shows where the bug also corrupted
 * data.  Each cell runs in a child process, so a crashing twin costs one cell, not the demo.
 * A twin of rule S03 (MapRegisterBase used before AdapterControl delivered it) runs with the
 * grant deferred (`dmacoh run --deferred-grant`), the one mode in which its mistake can show:
 * with a free channel the grant is synchronous and the twin behaves as its correct driver.
 * Every other driver runs with the grant as the channel gives it (wave, for one, has an
 * expected S01 under --deferred-grant).
 *
 * Cells are independent (each builds its own machine and session from nothing), so as many
 * run at once as the host has processors; the table is printed in order as rows complete, so
 * the output is the same whatever the number of processors. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmacoh/check.h"
#include "dmacoh/driver.h"
#include "kernel/sys.h"
#include "kernel/workload.h"
#include "cmds.h"

struct cell {
	int ok;            /* the run completed */
	int timed_out;     /* the cell ran past DEMO_CELL_LIMIT_S of host time */
	int no_8237;       /* skipped: the driver's device needs an 8237 the platform lacks */
	int no_pl080;      /* skipped: its device needs a request-line controller (arm-soc's) */
	uint32_t rules[2]; /* bit per rule hit (DC_RULE_COUNT <= 64) */
	uint64_t mismatched, failed, hung, false_ok;
};

/* A cell that runs longer than this (host seconds) is a driver that loops without end. */
#define DEMO_CELL_LIMIT_S 60

/* The child's checker and pipe, for the timeout handler. */
static struct dc_check *cell_chk;
static int cell_fd = -1;

static void cell_rules(struct dc_check *chk, struct cell *c)
{
	/* R01-R03 are what the workload saw (wrong data, hung or failed IRPs): the CORRUPT
	 * column shows them, the rule list shows rules only. */
	for (int r = 0; r < DC_RULE_COUNT && r < 64; r++)
		if ((r < DC_RULE_R01 || r > DC_RULE_R03) &&
		    dc_check_rule_hits(chk, (enum dc_rule)r))
			c->rules[r / 32] |= 1u << (r % 32);
}

/* SIGALRM in the child: what was found so far, marked as timed out. */
static void cell_timeout(int sig)
{
	(void)sig;
	struct cell c;
	memset(&c, 0, sizeof(c));
	c.timed_out = 1;
	if (cell_chk)
		cell_rules(cell_chk, &c);
	ssize_t n = write(cell_fd, &c, sizeof(c));
	_exit(n == (ssize_t)sizeof(c) ? 4 : 3);
}

/* The run options a driver's cell takes from its name: see the file's comment. */
static bool cell_deferred_grant(const char *path)
{
	const char *bug = strstr(path, "-bug-");
	return bug && !strncmp(bug + 5, "S03", 3);
}

static void run_cell(const char *path, const char *plat, struct cell *c)
{
	memset(c, 0, sizeof(*c));
	struct dc_platform p;
	if (dc_platform_builtin(plat, &p))
		return;
	p.deferred_grant = cell_deferred_grant(path);
	struct dc_check_opts co;
	dc_check_opts_init(&co);
	co.alignment_warnings = false;
	struct dc_tool_session t;
	char err[512];
	if (dc_tool_session_open(&t, &p, &co, path, NULL, err, sizeof(err))) {
		c->no_8237 = strstr(err, "(no 8237") != NULL;
		c->no_pl080 = strstr(err, "without a request-line DMA controller") != NULL;
		return;
	}
	cell_chk = t.chk;
	struct dc_workload w;
	dc_workload_default(&w);
	w.count = 40;
	/* Every 7th transfer fails, so the error paths run too (not on ring, which refuses
	 * injected errors: its frames loop back). */
	w.fault = strcmp(t.device, "ring") ? 7 : 0;
	/* An S02 twin shows only when cancels race with the driver's queue: every request is
	 * cancelled once sent, on a seeded random schedule (seed 1 catches it on every platform;
	 * tests/test_race_irp.c bounds the seeds). */
	if (strstr(path, "-bug-S02")) {
		w.cancel = 1;
		dc_sys_set_schedule(t.s, "random", 1, 0, 0, 0);
	}
	struct dc_run_stats rs;
	if (!dc_tool_session_run(&t, &w, &rs, NULL, NULL, err, sizeof(err))) {
		c->ok = 1;
		c->mismatched = rs.mismatched;
		c->failed = rs.failed;
		c->hung = rs.hung;
		c->false_ok = rs.false_ok;
	}
	cell_rules(t.chk, c);
	cell_chk = NULL;
	dc_tool_session_close(&t);
}

/* A cell running in a child: its pipe and process. */
struct cell_job {
	int fd;
	pid_t pid;
};

/* Starts a cell in a child; cell_finish reads its result.  A crash of the child reads as
 * "crashed", a run past the time limit as "timeout" with what was found until then. */
static void cell_start(const char *path, const char *plat, struct cell_job *j)
{
	j->fd = -1;
	j->pid = -1;
	int fd[2];
	if (pipe(fd))
		return;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		/* The checker's own report is not wanted here: the table says it all. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		cell_fd = fd[1];
		signal(SIGALRM, cell_timeout);
		alarm(DEMO_CELL_LIMIT_S);
		struct cell r;
		run_cell(path, plat, &r);
		alarm(0);
		ssize_t n = write(fd[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 3);
	}
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return;
	}
	j->fd = fd[0];
	j->pid = pid;
}

static void cell_finish(struct cell_job *j, struct cell *c)
{
	memset(c, 0, sizeof(*c));
	if (j->fd < 0)
		return;
	ssize_t n = read(j->fd, c, sizeof(*c));
	if (n != (ssize_t)sizeof(*c))
		memset(c, 0, sizeof(*c));
	waitpid(j->pid, NULL, 0);
	close(j->fd);
}

/* Children run at once: the host's processors, at most DEMO_MAX_JOBS. */
#define DEMO_MAX_JOBS 16

static int demo_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > DEMO_MAX_JOBS ? DEMO_MAX_JOBS : (int)n;
}

static void rules_str(const struct cell *c, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int r = 0; r < DC_RULE_COUNT && r < 64; r++)
		if (c->rules[r / 32] >> (r % 32) & 1) {
			int k = snprintf(buf + n, len - n, "%s%s", n ? "," : "",
			                 dc_rule_info((enum dc_rule)r)->id);
			if (k > 0 && (size_t)k < len - n)
				n += (size_t)k;
		}
}

int dc_demo_drivers_table(void)
{
	char dir[PATH_MAX];
	dc_tool_driver_dir(dir, sizeof(dir));
	char *names[512];
	int n = dc_tool_driver_modules(dir, names, DC_ARRAY_SIZE(names));
	if (n < 0) {
		printf("(no driver modules in %s: run 'make drivers')\n", dir);
		return 1;
	}
	const char *const *plats = dc_platform_builtin_names();
	printf("Every example driver on every platform (40 IRPs each, every 7th transfer failing\n"
	       "except on ring, every byte verified).\n");
	printf("A correct driver must be clean; a twin <driver>-bug-<RULE> must be caught by\n"
	       "exactly its rule everywhere. CORRUPT: the bug also damaged data on that "
	       "platform.\n"
	       "S03 twins run with the grant deferred (dmacoh run --deferred-grant).\n\n");
	printf("%-20s", "driver");
	for (const char *const *p = plats; *p; p++)
		printf(" %-22s", *p);
	printf(" verdict\n");
	int np = 0;
	while (plats[np])
		np++;
	/* Cells in table order, cell x = driver x / np on platform x % np; children are started
	 * up to jobs ahead of the one the table waits for. */
	int jobs = demo_jobs(), total = n * np, started = 0;
	struct cell_job job[DEMO_MAX_JOBS];
	int bad = 0, skipped = 0, skipped_pl080 = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		const char *bug = strstr(name, "-bug-");
		const char *want = bug ? bug + 5 : "";
		printf("%-20s", name);
		bool as_expected = true;
		for (int pi = 0; pi < np; pi++) {
			int x = i * np + pi;
			for (; started < total && started - x < jobs; started++) {
				char path[PATH_MAX + 256];
				snprintf(path, sizeof(path), "%s/%s.so", dir, names[started / np]);
				cell_start(path, plats[started % np], &job[started % jobs]);
			}
			struct cell c;
			cell_finish(&job[x % jobs], &c);
			char rs[96], cellbuf[128];
			rules_str(&c, rs, sizeof(rs));
			bool corrupt = c.mismatched || c.failed || c.hung || c.false_ok;
			if (c.no_8237 || c.no_pl080) {
				printf(" %-22s", c.no_8237 ? "n/a (no 8237)" : "n/a (no PL080)");
				if (c.no_8237)
					skipped++;
				else
					skipped_pl080++;
				continue;
			}
			if (!c.ok)
				snprintf(cellbuf, sizeof(cellbuf), "%s%s%s", rs, *rs ? " " : "",
				         c.timed_out ? "TIMEOUT" : "CRASHED");
			else
				snprintf(cellbuf, sizeof(cellbuf), "%s%s%s", *rs ? rs : "clean",
				         corrupt ? " CORRUPT" : "", "");
			printf(" %-22s", cellbuf);
			as_expected &= c.ok && !strcmp(rs, want) && (bug || !corrupt);
		}
		printf(" %s\n", as_expected ? (bug ? "caught" : "clean") : "UNEXPECTED");
		bad += !as_expected;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	printf("\n%d drivers, %d not as expected.\n", n, bad);
	if (skipped)
		printf("n/a (no 8237): the driver's device needs the PC's 8237 system DMA "
		       "controller,\nwhich that platform does not have (arm-soc has a PL080).\n");
	if (skipped_pl080)
		printf("n/a (no PL080): the driver's device is on a request line of a SoC's DMA "
		       "controller,\nwhich only arm-soc has (the PC platforms have an 8237).\n");
	printf("\n");
	return bad ? 1 : 0;
}
