/* `make bench`, scale (issue 8, DESIGN §6 last row): many IRPs of mixed sizes through the
 * scatter/gather bus-master driver (examples/drivers/sglist.c on bmblk) with the sanitizer on —
 * IRPs/s, simulated bytes/s and peak RSS — against the same run with the sanitizer off, and
 * peak RSS against the size of simulated memory.  bench/run.sh splices the Markdown this prints
 * into bench/RESULTS.md before the goals table, the goal rows it writes to
 * WORKDIR/scale-goals.md into the table.
 *
 *   dmacoh-bench-scale WORKDIR DRIVER.so [IRPS [SMALL]]
 *       the whole section (IRPS: the large run's count, default 1 000 000; SMALL: the
 *       repeated runs' count, default 100 000).  Its every-device table runs each device's
 *       example driver at the counts DC_BENCH_SCALE_DEVICE_IRPS gives (comma-separated),
 *       default 1 000 and 10 000: ten times the IRPs shows the peak RSS flat, and the slow
 *       devices (the floppy, the ISA sound card) at a million IRPs would take hours.
 *   dmacoh-bench-scale --child DRIVER.so PLATFORM COUNT on|off [DEVICE WORKLOAD]
 *       one run, what `dmacoh run` does (tools/cmd_run.c): the system, the checker (on), the
 *       module, the device (bmblk), the workload (count=COUNT, then WORKLOAD or the mixed
 *       sizes below) with every byte verified, removal and unload; prints "key value" lines.
 *       Exit 0 if the run was clean.
 *   dmacoh-bench-scale --devices WORKDIR DRIVER_DIR COUNT...
 *       only the "every device" table: peak RSS of each device's example driver at each
 *       COUNT of IRPs (flat in the number of IRPs: verification streams).
 *
 * Every run is a fresh process, so its peak RSS (wait4's ru_maxrss) is its own. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"
#include "dmacoh/check.h"
#include "hw/machine.h"
#include "kernel/sys.h"
#include "kernel/workload.h"

#define RUNS 5                /* runs per figure: median, min, max */
#define BIG_DEFAULT 1000000u  /* the large run's IRPs */
#define SMALL_DEFAULT 100000u /* the repeated runs' IRPs */
/* The every-device table's IRP counts (DC_BENCH_SCALE_DEVICE_IRPS overrides). */
static const unsigned device_irps_default[] = {1000, 10000};
#define DEVICE_IRPS_DEFAULT_STR "1000,10000"
#define PLATFORM "noncoherent"
/* Mixed sizes: 512 B to 64 KiB (whole sectors), reads, writes and device controls. */
#define WORKLOAD_FMT "count=%u,read=50,write=45,ioctl=5,size=512-65536,outstanding=1,seed=1"
#define GOAL_RSS 1.1    /* peak RSS at the largest memory ÷ at the smallest, same workload */
#define GOAL_SUP 1.05   /* `dmacoh run` supervised ÷ --no-supervise, wall time ("a few percent") */
#define GOAL_BIG_S 15.0 /* issue 18: 1 000 000 IRPs with the sanitizer, wall seconds */
#define GOAL_ON_OFF 0.9 /* issue 18: IRPs/s with the sanitizer ÷ without */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-scale: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* --- One run (the child) ------------------------------------------------------------------ */

static int child(const char *driver, const char *platform, unsigned count, bool san,
                 const char *device, const char *workload)
{
	struct dc_platform plat;
	char err[1024];
	if (dc_platform_builtin(platform, &plat) != DC_OK &&
	    dc_platform_load(platform, &plat, err, sizeof(err)) != DC_OK)
		die("%s", err);
	char text[512];
	if (workload)
		snprintf(text, sizeof(text), "count=%u,%s", count, workload);
	else
		snprintf(text, sizeof(text), WORKLOAD_FMT, count);
	struct dc_workload wl;
	dc_workload_default(&wl);
	if (dc_workload_parse(text, &wl, err, sizeof(err)) != DC_OK)
		die("%s", err);
	uint64_t t0 = now_ns();
	struct dc_sys *s;
	if (dc_sys_create(&plat, &s))
		die("cannot build the machine");
	/* The processors rows: a seeded schedule (DC_BENCH_SCHEDULE=random|round-robin|pct). */
	const char *sched = getenv("DC_BENCH_SCHEDULE");
	if (sched && *sched && dc_sys_set_schedule(s, sched, 1, 200, 0, 0))
		die("DC_BENCH_SCHEDULE=%s: expected random, round-robin or pct", sched);
	struct dc_machine *m = dc_sys_machine(s);
	struct dc_check *chk = NULL;
	if (san) {
		struct dc_check_opts co;
		dc_check_opts_init(&co);
		co.alignment_warnings = false; /* as `dmacoh run` */
		if (dc_check_create(m, &co, &chk))
			die("dc_check_create failed");
	}
	struct dc_driver *drv;
	NTSTATUS st = 0;
	if (dc_sys_load_module(s, driver, &drv, &st, err, sizeof(err)))
		die("%s", err);
	struct dc_sysdev *d;
	if (dc_sys_add_device(s, device, NULL, &d))
		die("cannot add %s", device);
	PDEVICE_OBJECT top;
	if (dc_sys_start_device(s, drv, d, &top, &st))
		die("the driver failed IRP_MN_START_DEVICE: 0x%08X", (unsigned)st);
	struct dc_run_stats rs;
	uint64_t t1 = now_ns();
	if (dc_run_workload(s, d, top, &wl, &rs, NULL, NULL, err, sizeof(err)))
		die("workload: %s", err);
	uint64_t t2 = now_ns();
	/* Simulated memory touched: the pages the machine's memfd holds now (sparse). */
	struct stat sb;
	uint64_t touched = fstat(m->mem.fd, &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : 0;
	dc_sys_remove_device(s, d, NULL);
	dc_sys_unload(s, drv);
	size_t findings = chk ? dc_check_count(chk) : 0;
	printf("irps %" PRIu64 "\nbytes %" PRIu64 "\nsim_ns %" PRIu64 "\nwall_ns %" PRIu64
	       "\nsetup_ns %" PRIu64 "\ntouched %" PRIu64 "\nfindings %zu\nbad %" PRIu64 "\n",
	       rs.irps, rs.bytes, rs.sim_ns, t2 - t1, t1 - t0, touched, findings,
	       rs.mismatched + rs.failed + rs.hung + rs.false_ok);
	bool clean = !findings && !rs.mismatched && !rs.failed && !rs.hung && !rs.false_ok &&
	             rs.irps >= count; /* ring: a write and its receive per data IRP */
	if (chk)
		dc_check_destroy(chk);
	dc_sys_destroy(s);
	return clean ? 0 : 1;
}

/* --- The parent: runs children, measures, prints ------------------------------------------ */

struct run {
	uint64_t irps, bytes, sim_ns, wall_ns, setup_ns, touched, findings, bad;
	uint64_t maxrss; /* bytes */
};

static const char *self, *driver, *workdir;
static unsigned small_irps = SMALL_DEFAULT;

static void parse_run(const char *path, struct run *r)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read %s", path);
	char key[32];
	uint64_t v;
	while (fscanf(f, "%31s %" SCNu64, key, &v) == 2) {
		uint64_t *slot = !strcmp(key, "irps")       ? &r->irps
		                 : !strcmp(key, "bytes")    ? &r->bytes
		                 : !strcmp(key, "sim_ns")   ? &r->sim_ns
		                 : !strcmp(key, "wall_ns")  ? &r->wall_ns
		                 : !strcmp(key, "setup_ns") ? &r->setup_ns
		                 : !strcmp(key, "touched")  ? &r->touched
		                 : !strcmp(key, "findings") ? &r->findings
		                 : !strcmp(key, "bad")      ? &r->bad
		                                            : NULL;
		if (slot)
			*slot = v;
	}
	fclose(f);
}

/* One child run; dies unless it was clean. */
static struct run spawn_dev(const char *drv, const char *platform, unsigned count, bool san,
                            const char *device, const char *workload)
{
	char out[600], cnt[16];
	snprintf(out, sizeof(out), "%s/scale-run.txt", workdir);
	snprintf(cnt, sizeof(cnt), "%u", count);
	fprintf(stderr, "bench: scale: %s, %u IRPs, sanitizer %s\n", platform, count,
	        san ? "on" : "off");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (!freopen(out, "w", stdout))
			_exit(127);
		if (device)
			execl(self, self, "--child", drv, platform, cnt, san ? "on" : "off", device,
			      workload, (char *)NULL);
		else
			execl(self, self, "--child", drv, platform, cnt, san ? "on" : "off",
			      (char *)NULL);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid)
		die("wait4: %s", strerror(errno));
	struct run r = {.maxrss = (uint64_t)ru.ru_maxrss * 1024};
	parse_run(out, &r);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s, %u IRPs, sanitizer %s: the run was not clean (exit %d, %" PRIu64
		    " findings, %" PRIu64 " IRPs wrong)",
		    platform, count, san ? "on" : "off",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, r.findings, r.bad);
	return r;
}

static struct run spawn(const char *platform, unsigned count, bool san)
{
	return spawn_dev(driver, platform, count, san, NULL, NULL);
}

/* Host ns of a whole `dmacoh run` of the driver (the dmacoh binary beside this one's
 * directory: build/CC/dmacoh), supervised or not; a run that is not clean stops the bench. */
static uint64_t time_dmacoh_run(unsigned count, bool supervised)
{
	char tool[PATH_MAX], wl[256];
	snprintf(tool, sizeof(tool), "%s", self);
	char *slash = strrchr(tool, '/');
	if (!slash)
		die("cannot find the dmacoh binary beside %s", self);
	*slash = 0;
	slash = strrchr(tool, '/');
	if (!slash)
		die("cannot find the dmacoh binary beside %s", self);
	snprintf(slash + 1, sizeof(tool) - (size_t)(slash + 1 - tool), "dmacoh");
	snprintf(wl, sizeof(wl), WORKLOAD_FMT, count);
	fprintf(stderr, "bench: scale: dmacoh run, %u IRPs, %s\n", count,
	        supervised ? "supervised" : "--no-supervise");
	fflush(NULL);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		char *argv[] = {tool,         "run",
		                "--driver",   (char *)driver,
		                "--platform", PLATFORM,
		                "--quiet",    "--workload",
		                wl,           supervised ? NULL : "--no-supervise",
		                NULL};
		execv(tool, argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	uint64_t t = now_ns() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s run (%s, %u IRPs): not clean (exit %d)", tool,
		    supervised ? "supervised" : "--no-supervise", count,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return t;
}

/* Every device, its example driver, a workload of small mixed requests (so a million IRPs
 * take minutes, not hours). */
static const struct {
	const char *driver, *device, *workload;
} devs[] = {
    {"sysdma", "sysblk", "size=512-4096,outstanding=1,seed=1"},
    {"sglist", "bmblk", "size=512-4096,outstanding=4,seed=1"},
    {"ring", "ring", "size=64-1514,outstanding=4,seed=1"},
    {"pio", "pio", "size=1-4096,seed=1"},
    {"floppy", "fdc", "size=512-4096,seed=1"},
    {"wave", "sb16", "size=1-4096,outstanding=2,seed=1"},
};

static double mib(uint64_t b);

/* Peak RSS of every device at each count: flat in the number of IRPs. */
static void devices_table(const char *drvdir, const unsigned *counts, size_t n)
{
	printf("### Peak RSS against the number of IRPs, every device\n\n");
	printf("Each device's example driver, sanitizer on, platform `%s`; one fresh process per "
	       "cell (`dmacoh-bench-scale --child`), every byte verified.  The workload keeps "
	       "what it must still check (one copy of a block store, the frames or sound in "
	       "flight), not what went through, so each row's peaks should stay flat as the "
	       "IRPs grow.  Cells: peak RSS in MiB (host seconds of the workload).\n\n",
	       PLATFORM);
	printf("| driver on device | workload |");
	for (size_t j = 0; j < n; j++)
		printf(" %u IRPs |", counts[j]);
	printf(" largest ÷ smallest |\n|---|---|");
	for (size_t j = 0; j <= n; j++)
		printf("---|");
	printf("\n");
	const char *only = getenv("DC_BENCH_SCALE_DEVICES"); /* e.g. "ring,pio": these only */
	for (size_t i = 0; i < DC_ARRAY_SIZE(devs); i++) {
		if (only && !strstr(only, devs[i].device))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s.so", drvdir, devs[i].driver);
		printf("| %s on %s | `%s` |", devs[i].driver, devs[i].device, devs[i].workload);
		double first = 0, last = 0;
		for (size_t j = 0; j < n; j++) {
			struct run r = spawn_dev(path, PLATFORM, counts[j], true, devs[i].device,
			                         devs[i].workload);
			last = mib(r.maxrss);
			if (!j)
				first = last;
			printf(" %.1f (%.0f s) |", last, (double)r.wall_ns / 1e9);
			fflush(stdout);
		}
		printf(" %.2f× |\n", last / first);
		fflush(stdout);
	}
	printf("\n");
}

static double irps_per_s(const struct run *r)
{
	return (double)r->irps * 1e9 / (double)r->wall_ns;
}

static double mib(uint64_t b)
{
	return (double)b / (1 << 20);
}

static const unsigned mem_gib[] = {1, 4, 16, 64};
#define N_MEM DC_ARRAY_SIZE(mem_gib)

/* A goals-table row for a figure that must be at most limit: met, or by how much over. */
static void goal_at_most(FILE *goals, const char *what, const char *target, const char *got,
                         double v, double limit)
{
	char by[64] = "";
	if (v > limit)
		snprintf(by, sizeof(by), "%.2f× over", v / limit);
	fprintf(goals, "| %s | %s | %s | %s | %s |\n", what, target, got,
	        v <= limit ? "yes" : "**no**", by);
}

static void section(unsigned big)
{
	FILE *goals;
	char gpath[600];
	snprintf(gpath, sizeof(gpath), "%s/scale-goals.md", workdir);
	if (!(goals = fopen(gpath, "w")))
		die("cannot write %s", gpath);

	/* 1. The large run, once each way (about a minute or two each). */
	struct run big_on = spawn(PLATFORM, big, true);
	struct run big_off = spawn(PLATFORM, big, false);

	/* 2. The smaller run, RUNS times each way, alternately. */
	double r_on[RUNS], r_off[RUNS], r_vs[RUNS], b_on[RUNS], rss_on[RUNS], rss_off[RUNS];
	struct run small_on = {0};
	for (int k = 0; k < RUNS; k++) {
		struct run a, b;
		if (k % 2) {
			b = spawn(PLATFORM, small_irps, false);
			a = spawn(PLATFORM, small_irps, true);
		} else {
			a = spawn(PLATFORM, small_irps, true);
			b = spawn(PLATFORM, small_irps, false);
		}
		r_on[k] = irps_per_s(&a);
		r_off[k] = irps_per_s(&b);
		r_vs[k] = r_on[k] / r_off[k];
		b_on[k] = (double)a.bytes * 1e9 / (double)a.wall_ns / 1e9;
		rss_on[k] = mib(a.maxrss);
		rss_off[k] = mib(b.maxrss);
		small_on = a;
	}

	/* 3. Peak RSS against simulated memory: the smaller run, sanitizer on, on platforms that
	 * differ only in phys_size, RUNS rounds over the sizes. */
	char plat[N_MEM][600];
	for (size_t i = 0; i < N_MEM; i++) {
		snprintf(plat[i], sizeof(plat[i]), "%s/%s-%ug.ini", workdir, PLATFORM, mem_gib[i]);
		FILE *f = fopen(plat[i], "w");
		if (!f)
			die("cannot write %s", plat[i]);
		fprintf(f, "[platform]\nbase = %s\nname = %s-%ug\n\n[memory]\nphys_size = %uG\n",
		        PLATFORM, PLATFORM, mem_gib[i], mem_gib[i]);
		fclose(f);
	}
	double m_rss[N_MEM][RUNS], m_irps[N_MEM][RUNS], m_vs[N_MEM][RUNS];
	uint64_t m_touched[N_MEM] = {0}, m_sim[N_MEM] = {0};
	/* The floor: the same process with one IRP (binary, libraries, store and its model). */
	double floor_rss[RUNS];
	for (int k = 0; k < RUNS; k++)
		floor_rss[k] = mib(spawn(plat[0], 1, true).maxrss);
	for (int k = 0; k < RUNS; k++) {
		double base = 0;
		for (size_t j = 0; j < N_MEM; j++) {
			size_t i = k % 2 ? N_MEM - 1 - j : j;
			struct run r = spawn(plat[i], small_irps, true);
			m_rss[i][k] = mib(r.maxrss);
			m_irps[i][k] = irps_per_s(&r);
			m_touched[i] = r.touched;
			m_sim[i] = r.sim_ns;
		}
		base = m_rss[0][k];
		for (size_t i = 0; i < N_MEM; i++)
			m_vs[i][k] = m_rss[i][k] / base;
	}

	char a[64], b[64], c[64], d[64];
	printf("## Scale: IRPs through the scatter/gather bus-master driver (DESIGN §6, last "
	       "row)\n\n");
	char wl[256];
	snprintf(wl, sizeof(wl), WORKLOAD_FMT, big);
	printf(
	    "`examples/drivers/sglist.c` (built by `dmacoh-cc`) on `bmblk`, platform `%s`, "
	    "workload `%s` (mixed sizes, 512 B – 64 KiB; every byte verified end to end).  Each "
	    "run "
	    "is a fresh process (`dmacoh-bench-scale --child`, `bench/scale.c`) doing what `dmacoh "
	    "run` does: the system, the checker (sanitizer on) or none (off), the module, the "
	    "device, the workload, removal and unload; a run with any finding or wrong byte stops "
	    "the bench.  *Wall* is the host time of the workload alone (`dc_run_workload`); "
	    "*simulated bytes/s* the bytes the IRPs moved per host second; *peak RSS* the child's "
	    "`ru_maxrss` from `wait4` (everything: the binary, the libraries, the store's model, "
	    "the shadow); *memory touched* the simulated physical memory the machine holds at the "
	    "end (allocated pages of its memfd: simulated memory is sparse, untouched pages cost "
	    "nothing).\n\n",
	    PLATFORM, wl);
	printf("### %u IRPs\n\n", big);
	printf("One run each way: %u IRPs take about %.0f s with the sanitizer, so %d runs each "
	       "would make `make bench` %.0f minutes longer; the %u-IRP rows below are the "
	       "median (min–max) of %d runs, alternately on and off.\n\n",
	       big, (double)big_on.wall_ns / 1e9, RUNS,
	       (double)(big_on.wall_ns + big_off.wall_ns) * (RUNS - 1) / 60e9, small_irps, RUNS);
	printf("| sanitizer | IRPs | bytes moved | simulated time | wall | IRPs/s | simulated "
	       "bytes/s | peak RSS | memory touched |\n|---|---|---|---|---|---|---|---|---|\n");
	const struct run *br[2] = {&big_on, &big_off};
	for (int i = 0; i < 2; i++) {
		const struct run *r = br[i];
		printf("| %s | %" PRIu64
		       " | %.2f GiB | %.2f s | %.1f s | %.0f | %.2f GB/s | %.1f MiB "
		       "| %.1f MiB |\n",
		       i ? "off" : "on", r->irps, (double)r->bytes / (1u << 30),
		       (double)r->sim_ns / 1e9, (double)r->wall_ns / 1e9, irps_per_s(r),
		       (double)r->bytes / (double)r->wall_ns, mib(r->maxrss), mib(r->touched));
	}
	double big_vs = irps_per_s(&big_on) / irps_per_s(&big_off);
	printf("\nIRPs/s with the sanitizer ÷ without, %u IRPs: %.2f× (one run each).\n\n", big,
	       big_vs);
	printf("### %u IRPs, %d runs each way\n\n", small_irps, RUNS);
	printf("| sanitizer | IRPs/s | simulated bytes/s (GB/s) | peak RSS, MiB |\n"
	       "|---|---|---|---|\n");
	struct summary s_on = summarize(r_on, RUNS), s_off = summarize(r_off, RUNS);
	printf("| on | %s | %s | %s |\n", num_str(s_on, a, sizeof(a)),
	       num_str(summarize(b_on, RUNS), b, sizeof(b)),
	       num_str(summarize(rss_on, RUNS), c, sizeof(c)));
	printf("| off | %s | | %s |\n", num_str(s_off, a, sizeof(a)),
	       num_str(summarize(rss_off, RUNS), d, sizeof(d)));
	struct summary vs = summarize(r_vs, RUNS);
	printf("\nIRPs/s with the sanitizer ÷ without (per pair of runs): %s.  Memory touched: "
	       "%.1f MiB with %u IRPs, %.1f MiB with %u.\n\n",
	       ratio_str(vs, a, sizeof(a)), mib(small_on.touched), small_irps, mib(big_on.touched),
	       big);

	printf("### Peak RSS against simulated memory size (goal: in proportion to memory "
	       "touched, not to memory simulated)\n\n");
	printf("The %u-IRP workload, sanitizer on, on platform files that differ from `%s` only "
	       "in `[memory] phys_size`; %d rounds over the sizes (in turn, the order reversed "
	       "every round); *÷ 1 GiB* is the ratio to the 1 GiB run of the same round.\n\n",
	       small_irps, PLATFORM, RUNS);
	printf("| phys_size | memory touched | peak RSS, MiB | ÷ 1 GiB | simulated time | IRPs/s "
	       "|\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_MEM; i++)
		printf("| %u GiB | %.2f MiB | %s | %s | %.3f s | %s |\n", mem_gib[i],
		       mib(m_touched[i]), num_str(summarize(m_rss[i], RUNS), a, sizeof(a)),
		       ratio_str(summarize(m_vs[i], RUNS), b, sizeof(b)), (double)m_sim[i] / 1e9,
		       num_str(summarize(m_irps[i], RUNS), c, sizeof(c)));
	printf("\nThe floor, the same process with one IRP on the 1 GiB platform: %s MiB peak "
	       "RSS.  Above 4 GiB of memory the workload's buffers (zone `any`) land above 4 GiB "
	       "and the 32-bit bmblk reaches them through map registers and bounce pages, so the "
	       "simulated work (and time) differs from 16 GiB on; that, not the memory size, is "
	       "what moves IRPs/s.\n\n",
	       num_str(summarize(floor_rss, RUNS), a, sizeof(a)));

	/* 3b. Processors: the same run on 1, 2 and 4 processors, and on 4 with --schedule random
	 * (preemption points, contexts beside each other, spin locks that spin). */
	{
		static const struct {
			unsigned cpus;
			const char *sched;
		} pr[] = {{1, NULL}, {2, NULL}, {4, NULL}, {4, "random"}};
		double p_irps[DC_ARRAY_SIZE(pr)][RUNS];
		for (int k = 0; k < RUNS; k++)
			for (size_t i = 0; i < DC_ARRAY_SIZE(pr); i++) {
				char pf[600];
				snprintf(pf, sizeof(pf), "%s/%s-%ucpu.ini", workdir, PLATFORM,
				         pr[i].cpus);
				FILE *f = fopen(pf, "w");
				if (!f)
					die("cannot write %s", pf);
				fprintf(f,
				        "[platform]\nbase = %s\nname = %s-%ucpu\nprocessors = %u\n",
				        PLATFORM, PLATFORM, pr[i].cpus, pr[i].cpus);
				fclose(f);
				setenv("DC_BENCH_SCHEDULE", pr[i].sched ? pr[i].sched : "", 1);
				struct run r = spawn(pf, small_irps, true);
				p_irps[i][k] = irps_per_s(&r);
			}
		setenv("DC_BENCH_SCHEDULE", "", 1);
		printf("### Processors (issue 17)\n\n");
		printf(
		    "The %u-IRP workload, sanitizer on, on platform files that differ from `%s` "
		    "only in `processors`; *--schedule random* is `dmacoh run --schedule random` "
		    "(seed 1, a preemption point at every kernel call and every 200 accesses, "
		    "interrupts and DPCs of other processors as contexts of their own).  %d "
		    "rounds; median (min–max).\n\n",
		    small_irps, PLATFORM, RUNS);
		printf("| processors | schedule | IRPs/s | ÷ 1 processor |\n|---|---|---|---|\n");
		struct summary one = summarize(p_irps[0], RUNS);
		for (size_t i = 0; i < DC_ARRAY_SIZE(pr); i++) {
			struct summary sm = summarize(p_irps[i], RUNS);
			printf("| %u | %s | %s | %.2f× |\n", pr[i].cpus,
			       pr[i].sched ? pr[i].sched : "none", num_str(sm, a, sizeof(a)),
			       sm.med / one.med);
		}
		printf("\n");
	}

	/* 3c. Supervision: `dmacoh run` as a user runs it (the run in a supervised child that
	 * streams its findings to the parent, tools/supervise.c) against `--no-supervise` (the
	 * run in the tool's own process), whole processes, alternately. */
	unsigned sup_irps = DC_MAX(small_irps / 5, 1u);
	double sup_vs[RUNS], sup_s[2][RUNS];
	for (int k = 0; k < RUNS; k++)
		for (int j = 0; j < 2; j++) {
			bool sup = (j + k) % 2 == 0;
			sup_s[!sup][k] = (double)time_dmacoh_run(sup_irps, sup) / 1e9;
			if (j)
				sup_vs[k] = sup_s[0][k] / sup_s[1][k];
		}
	struct summary sup = summarize(sup_vs, RUNS);
	{
		char wl2[256];
		snprintf(wl2, sizeof(wl2), WORKLOAD_FMT, sup_irps);
		printf("### Supervision (the trust issue's supervised run)\n\n");
		printf("`dmacoh run --driver sglist.so --platform %s --quiet --workload %s`, a "
		       "whole process each time, as a user runs it: supervised (the default: the "
		       "run in a child that streams each finding to the parent as it is made, so a "
		       "crash or hang of the driver loses nothing) and with `--no-supervise` (the "
		       "run in the tool's own process); %d pairs, alternately, median "
		       "(min–max).\n\n",
		       PLATFORM, wl2, RUNS);
		printf("| run | wall, s |\n|---|---|\n| supervised | %s |\n| `--no-supervise` | %s "
		       "|\n\nSupervised ÷ in-process (per pair): %s.\n\n",
		       num_str(summarize(sup_s[0], RUNS), a, sizeof(a)),
		       num_str(summarize(sup_s[1], RUNS), b, sizeof(b)),
		       ratio_str(sup, c, sizeof(c)));
	}

	/* 4. Every device: peak RSS flat in the number of IRPs (DC_BENCH_SCALE_DEVICE_IRPS:
	 * the counts, comma-separated; default device_irps_default). */
	{
		char drvdir[PATH_MAX];
		snprintf(drvdir, sizeof(drvdir), "%s", driver);
		char *slash = strrchr(drvdir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(drvdir, sizeof(drvdir), ".");
		const char *env = getenv("DC_BENCH_SCALE_DEVICE_IRPS");
		unsigned counts[8];
		size_t n = DC_ARRAY_SIZE(device_irps_default);
		memcpy(counts, device_irps_default, sizeof(device_irps_default));
		if (env) {
			n = 0;
			for (const char *p = env; *p && n < 8; p += *p == ',') {
				char *end;
				counts[n++] = (unsigned)strtoul(p, &end, 10);
				if (end == p)
					die("DC_BENCH_SCALE_DEVICE_IRPS: expected counts like "
					    "1000,10000");
				p = end;
			}
		}
		devices_table(drvdir, counts, n);
	}

	double us_on = (double)big_on.wall_ns / (double)big_on.irps / 1e3,
	       us_off = (double)big_off.wall_ns / (double)big_off.irps / 1e3;
	printf("### Where the time goes\n\n");
	printf(
	    "No goal is set for IRPs/s; for the record: %.0f µs per IRP with the sanitizer, %.0f "
	    "without (%u IRPs, %.1f KiB per IRP on average).  The profiles at the end (*scale*) "
	    "show most of a sanitizer-off run in the cache model — `install`, "
	    "`dc_cache_line_op`, `dc_cache_access_slow`, `dc_cpu_ref` — because the application "
	    "side moves every byte through it: the workload writes a write IRP's data and poisons "
	    "a read IRP's buffer with `dc_cpu_write` / `dc_cpu_fill`, reads the buffer back with "
	    "`dc_cpu_read` to verify it (`mismatch` is the comparison), `KeFlushIoBuffers` and "
	    "the HAL's invalidate visit every line present, and on this 8 GiB platform the 32-bit "
	    "bmblk bounces buffers above 4 GiB through map registers (another CPU copy each way).  "
	    "Each of those is a line-at-a-time walk of up to 64 KiB (the buffer is as large as "
	    "L1 several times over, so nearly every line misses and evicts).  The sanitizer adds "
	    "its per-line shadow walks (see the DMA notes) to the same IRPs.\n\n",
	    us_on, us_off, big, (double)big_on.bytes / (double)big_on.irps / 1024);
	printf(
	    "What the peak RSS grows with (the 1 000 → 10 000-IRP rows above, the %u ÷ %u "
	    "goal below), measured from `/proc/<pid>/smaps` during runs and an allocation trace: "
	    "bounded structures that take many IRPs to fill, as a sanitizer's quarantines do.  "
	    "The IRP slots (`src/kernel/io.c`: 8 MiB of 2 KiB slots, each used fresh once before "
	    "freed ones are reused, so a late touch of an IRP finds its old bytes for as long as "
	    "possible) are all touched by about 4 000 IRPs — the whole 1.6–2× of the every-device "
	    "table; the pool's quarantine (`src/kernel/mm.c`: 4 MiB of freed blocks counted at "
	    "their class size, held on slab pages with their redzones, with shadow and "
	    "race-detector slots behind them) fills at the rate small blocks are freed, here the "
	    "5 %% of IOCTL requests, so the simulated memory touched and its shadows still grow "
	    "between 100 000 and 1 000 000 IRPs.  One structure grew without bound and was "
	    "fixed in d03698d: the pool's table of live blocks doubled whenever its tombstones "
	    "filled it, about one slot per block ever freed (512 KiB by 300 000 IRPs here).\n\n",
	    big, small_irps);

	/* Goals. */
	struct summary top = summarize(m_vs[N_MEM - 1], RUNS);
	char what[256], target[64], got[96], by[96] = "";
	snprintf(what, sizeof(what),
	         "scale: peak RSS, %u IRPs with the sanitizer, %u GiB ÷ %u GiB simulated (memory "
	         "touched %.1f / %.1f MiB)",
	         small_irps, mem_gib[N_MEM - 1], mem_gib[0], mib(m_touched[N_MEM - 1]),
	         mib(m_touched[0]));
	snprintf(target, sizeof(target), "≤ %.1f× (∝ memory touched)", GOAL_RSS);
	goal_at_most(goals, what, target, ratio_str(top, a, sizeof(a)), top.med, GOAL_RSS);
	/* Ten times the IRPs over the same memory: the peak must not grow with the IRPs. */
	struct summary rs = summarize(rss_on, RUNS);
	double grow = mib(big_on.maxrss) / rs.med;
	snprintf(got, sizeof(got), "%.2f× (%.1f / %.1f MiB)", grow, mib(big_on.maxrss), rs.med);
	snprintf(what, sizeof(what),
	         "scale: peak RSS, %u ÷ %u IRPs with the sanitizer (memory touched %.1f / %.1f "
	         "MiB)",
	         big, small_irps, mib(big_on.touched), mib(small_on.touched));
	goal_at_most(goals, what, target, got, grow, GOAL_RSS);
	snprintf(what, sizeof(what),
	         "scale: `dmacoh run` supervised ÷ `--no-supervise`, wall time, %u IRPs", sup_irps);
	snprintf(target, sizeof(target), "≤ %.2f×", GOAL_SUP);
	goal_at_most(goals, what, target, ratio_str(sup, a, sizeof(a)), sup.med, GOAL_SUP);
	/* Issue 18: the large run's wall time (per 1 000 000 IRPs, if another count was asked
	 * for) and its speed with the sanitizer against without.  One run each way (see above);
	 * the repeated smaller runs give the spread. */
	double per_m = (double)big_on.wall_ns / 1e9 * 1e6 / big;
	snprintf(got, sizeof(got), "%.1f s (one run)", per_m);
	snprintf(what, sizeof(what),
	         "scale: 1 000 000 IRPs, `sglist` on `bmblk` (%s), sanitizer on, wall time%s",
	         PLATFORM, big == 1000000u ? "" : " (scaled from the large run)");
	snprintf(target, sizeof(target), "≤ %.0f s", GOAL_BIG_S);
	goal_at_most(goals, what, target, got, per_m, GOAL_BIG_S);
	snprintf(got, sizeof(got), "%.2f× (one run each; %u IRPs: %s)", big_vs, small_irps,
	         ratio_str(vs, a, sizeof(a)));
	if (big_vs < GOAL_ON_OFF)
		snprintf(by, sizeof(by), "needs %.2f× faster with the sanitizer",
		         GOAL_ON_OFF / big_vs);
	fprintf(
	    goals,
	    "| scale: IRPs/s with the sanitizer ÷ without, %u IRPs | ≥ %.1f× | %s | %s | %s |\n",
	    big, GOAL_ON_OFF, got, big_vs >= GOAL_ON_OFF ? "yes" : "**no**", by);
	fclose(goals);
}

static void find_self(void)
{
	static char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die("cannot find my own executable");
	exe[n] = 0;
	self = exe;
}

int main(int argc, char **argv)
{
	if ((argc == 6 || argc == 8) && !strcmp(argv[1], "--child")) {
		bool on = !strcmp(argv[5], "on");
		if (!on && strcmp(argv[5], "off"))
			die("sanitizer: on or off");
		return child(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10), on,
		             argc == 8 ? argv[6] : "bmblk", argc == 8 ? argv[7] : NULL);
	}
	if (argc >= 5 && !strcmp(argv[1], "--devices")) {
		find_self();
		workdir = argv[2];
		unsigned counts[8];
		size_t n = 0;
		for (int i = 4; i < argc && n < 8; i++)
			counts[n++] = (unsigned)strtoul(argv[i], NULL, 10);
		devices_table(argv[3], counts, n);
		return 0;
	}
	if (argc < 3 || argc > 5) {
		fprintf(stderr,
		        "usage: dmacoh-bench-scale WORKDIR DRIVER.so [IRPS [SMALL]]\n"
		        "         the whole section (IRPS default %u, SMALL default %u; the "
		        "every-device table's\n"
		        "         counts: DC_BENCH_SCALE_DEVICE_IRPS=N,N,... default %s)\n"
		        "       dmacoh-bench-scale --child DRIVER.so PLATFORM COUNT on|off [DEVICE "
		        "WORKLOAD]\n"
		        "         one run, \"key value\" lines\n"
		        "       dmacoh-bench-scale --devices WORKDIR DRIVER_DIR COUNT...\n"
		        "         the every-device table alone\n",
		        BIG_DEFAULT, SMALL_DEFAULT, DEVICE_IRPS_DEFAULT_STR);
		return 2;
	}
	find_self();
	workdir = argv[1];
	driver = argv[2];
	unsigned big = argc >= 4 ? (unsigned)strtoul(argv[3], NULL, 10) : BIG_DEFAULT;
	if (argc == 5)
		small_irps = (unsigned)strtoul(argv[4], NULL, 10);
	if (!small_irps)
		small_irps = SMALL_DEFAULT;
	section(big ? big : BIG_DEFAULT);
	return 0;
}
