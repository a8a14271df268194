/* dmacoh torture as a campaign runner meets it: shards partition a campaign deterministically,
 * merging shard results gives the unsharded summary, and a failure comes with a reproduce
 * command that, run, fails the same way.  Kept to a few seconds: small --runs, few drivers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"

static bool temp_dir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/dmacoh-torture-XXXXXX");
	return mkdtemp(buf) != NULL;
}

static void rm_dir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		dct_log("could not remove %s\n", dir);
}

/* Lines of text, each NUL-terminated in place. */
static size_t split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

DC_TEST(cli_torture_shards_partition_the_campaign)
{
	char dir[64];
	CHECK(temp_dir(dir, sizeof(dir)));
	static struct dct_run all, again, shard[3];
	const char *base[] = {"torture", "--runs",   "30",   "--seed", "5",  "--list", "--dir",
	                      dir,       "--driver", "pio*", NULL,     NULL, NULL};
	CHECK(dct_run_tool(&all, base));
	CHECK_MSG(all.status == 0, "exit %d: %s", all.status, all.err);
	char *lines[64], *slines[3][64];
	size_t n = split_lines(all.out, lines, 64), sn[3];
	CHECK_EQ(n, 30);
	for (int i = 0; i < 3; i++) {
		char spec[8];
		snprintf(spec, sizeof(spec), "%d/3", i);
		const char *a[13];
		memcpy(a, base, sizeof(a));
		a[10] = "--shard";
		a[11] = spec;
		CHECK(dct_run_tool(&shard[i], a));
		CHECK_EQ(shard[i].status, 0);
		if (i == 1) { /* the same shard twice: the same runs */
			CHECK(dct_run_tool(&again, a));
			CHECK_MSG(!strcmp(again.out, shard[i].out),
			          "shard 1/3 differs between runs");
		}
		sn[i] = split_lines(shard[i].out, slines[i], 64);
		CHECK_MSG(sn[i] > 0 && sn[i] < 30, "shard %d/3 has %zu runs", i, sn[i]);
	}
	CHECK_EQ(sn[0] + sn[1] + sn[2], 30);
	/* every run (index and command) in exactly one shard */
	for (size_t k = 0; k < n; k++) {
		int found = 0;
		for (int i = 0; i < 3; i++)
			for (size_t j = 0; j < sn[i]; j++)
				found += !strcmp(lines[k], slines[i][j]);
		CHECK_MSG(found == 1, "run '%s' is in %d shards", lines[k], found);
	}
	rm_dir(dir);
}

static const char *summary_line(const char *out)
{
	static char line[512];
	const char *p = strstr(out, "torture: ");
	line[0] = 0;
	if (p)
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}

DC_TEST(cli_torture_merge_of_shards_is_the_unsharded_summary)
{
	char dir[64], a[128], s0[128], s1[128];
	CHECK(temp_dir(dir, sizeof(dir)));
	snprintf(a, sizeof(a), "%s/all.json", dir);
	snprintf(s0, sizeof(s0), "%s/s0.json", dir);
	snprintf(s1, sizeof(s1), "%s/s1.json", dir);
	static struct dct_run all, r0, r1, m;
	CHECK(dct_run_tool(&all, (const char *const[]){"torture", "--runs", "6", "--seed", "9",
	                                               "--jobs", "2", "--dir", dir, "--driver",
	                                               "pio*", "--json", a, NULL}));
	CHECK_MSG(all.status == 0 || all.status == 1, "exit %d: %s", all.status, all.err);
	/* (dct_run_tool takes 14 arguments: --jobs is left at its default here) */
	CHECK(dct_run_tool(&r0, (const char *const[]){"torture", "--runs", "6", "--seed", "9",
	                                              "--dir", dir, "--driver", "pio*", "--json",
	                                              s0, "--shard", "0/2", NULL}));
	CHECK(dct_run_tool(&r1, (const char *const[]){"torture", "--runs", "6", "--seed", "9",
	                                              "--dir", dir, "--driver", "pio*", "--json",
	                                              s1, "--shard", "1/2", NULL}));
	CHECK(dct_run_tool(&m, (const char *const[]){"torture", "--merge", s0, s1, NULL}));
	CHECK_EQ(m.status, all.status);
	const char *want = summary_line(all.out);
	CHECK_MSG(strstr(want, "torture: 6 runs, 3 drivers"), "unsharded summary: %s", all.out);
	static char got[512];
	snprintf(got, sizeof(got), "%s", summary_line(m.out));
	CHECK_MSG(!strcmp(got, summary_line(all.out)), "merged:    %s\nunsharded: %s", got,
	          summary_line(all.out));
	/* a file that is not a result is refused */
	static struct dct_run bad;
	CHECK(dct_run_tool(&bad, (const char *const[]){"torture", "--merge", dir, NULL}));
	CHECK_EQ(bad.status, 2);
	rm_dir(dir);
}

DC_TEST(cli_torture_failure_prints_a_command_that_reproduces_it)
{
	char dir[64];
	CHECK(temp_dir(dir, sizeof(dir)));
	/* A twin judged as if it were a correct driver: its findings are false findings. */
	static struct dct_run r;
	CHECK(dct_run_tool(&r,
	                   (const char *const[]){"torture", "--runs", "2", "--seed", "3", "--jobs",
	                                         "2", "--dir", dir, "--driver", "sysdma-bug-C07",
	                                         "--as-correct", "sysdma-bug-C07", NULL}));
	CHECK_MSG(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK_MSG(strstr(r.out, "FAIL [false finding]") && strstr(r.out, "C07"), "%s", r.out);
	CHECK_MSG(strstr(r.out, " failures (false finding 2)"), "%s", r.out);
	const char *p = strstr(r.out, "  reproduce: ");
	CHECK(p);
	p += strlen("  reproduce: ");
	static char cmd[4096];
	snprintf(cmd, sizeof(cmd), "%.*s >%s/out.txt 2>&1", (int)strcspn(p, "\n"), p, dir);
	CHECK_MSG(strstr(cmd, " run --driver sysdma-bug-C07 "), "%s", cmd);
	int st = system(cmd);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "'%s' gave status %d", cmd, st);
	char path[128];
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	FILE *f = fopen(path, "r");
	CHECK(f);
	static char out[65536];
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	fclose(f);
	out[n] = 0;
	CHECK_MSG(strstr(out, "\"rule\": \"C07\""), "the reproduced run does not report C07:\n%s",
	          out);
	/* judged as the twin it is, the same runs are no failure */
	static struct dct_run t;
	CHECK(dct_run_tool(&t, (const char *const[]){"torture", "--runs", "2", "--seed", "3",
	                                             "--jobs", "2", "--dir", dir, "--driver",
	                                             "sysdma-bug-C07", NULL}));
	CHECK_MSG(t.status == 0, "exit %d\n%s", t.status, t.out);
	CHECK(strstr(t.out, "twin runs: 2 caught"));
	rm_dir(dir);
}

DC_TEST(cli_torture_usage_errors_exit_2)
{
	static const char *const bad[][5] = {
	    {"torture", "--runs", "-1", NULL},
	    {"torture", "--shard", "3/3", NULL},
	    {"torture", "--shard", "1", NULL},
	    {"torture", "--jobs", "0", NULL},
	    {"torture", "--seconds", "5", "--runs", "5"},
	    {"torture", "--bogus", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct dct_run r;
		const char *a[6] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4], NULL};
		CHECK(dct_run_tool(&r, a));
		CHECK_MSG(r.status == 2, "%s %s: exit %d", a[1], a[2] ? a[2] : "", r.status);
		CHECK_MSG(strstr(r.err, "dmacoh torture: ") &&
		              strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		          "not one line: %s", r.err);
	}
}
