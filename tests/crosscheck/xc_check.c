/* `make crosscheck`: dmacoh's cache model against a peer nobody here wrote.  For several
 * two-level geometries and several address streams, runs xc_stream under
 * `valgrind --tool=cachegrind` with that geometry, reads the stream lines' data events from
 * cachegrind's out file, replays the same virtual addresses through the model, and requires
 * the level-1 and last-level read and write misses to be equal.  Prints one table row per
 * (geometry, stream) and exits 1 on any difference, 2 if the check itself could not run.
 *
 *   xc_check XC_STREAM_BINARY XC_STREAM_SOURCE WORKDIR
 *
 * Besides the misses, a row also fails when cachegrind did not simulate the geometry it was
 * asked for, when the marked lines' reads and writes are not exactly the replayed ones (the
 * compiler added or merged references), or when the stream function made more than a handful
 * of other references (a spill inside the loop would disturb the LRU order the replay
 * assumes; see xc_stream.c for why references outside the function cannot). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_lib.h"

static const struct xc_geom geoms[] = {
    {32 << 10, 8, 1 << 20, 16, 64},  /* a PC: dmacoh's "pc" profile */
    {4 << 10, 2, 64 << 10, 4, 64},   /* small and low associativity: many conflicts */
    {16 << 10, 4, 256 << 10, 8, 32}, /* 32-byte lines */
    {8 << 10, 1, 2 << 20, 32, 128},  /* direct-mapped L1, 128-byte lines */
};

struct stream {
	const char *name;
	const char *fn; /* the function of xc_stream.c that performs it */
	const char *args[4];
};

static const struct stream streams[] = {
    {"copy 2M", "xc_copy", {"copy", "262144"}},
    {"copy 256K x4", "xc_copy", {"copy", "32768", "4"}},
    {"random 4M", "xc_random", {"random", "524288", "1000000", "1"}},
    {"random 256K", "xc_random", {"random", "32768", "1000000", "2"}},
};

/* Non-stream references the stream function may make: pushes, pops and ret. */
#define XC_MAX_OTHER 8

/* Parses cachegrind's "32768 B, 64 B, 8-way associative" (or direct-mapped / fully). */
static bool desc_is(const char *desc, uint64_t size, uint32_t ways, uint32_t line)
{
	unsigned long long s;
	unsigned l, w;
	int k = 0;
	if (sscanf(desc, "%llu B, %u B, %n", &s, &l, &k) < 2 || !k)
		return false;
	const char *a = desc + k;
	if (sscanf(a, "%u-way", &w) == 1)
		;
	else if (!strncmp(a, "direct-mapped", 13))
		w = 1;
	else if (!strncmp(a, "fully associative", 17))
		w = (unsigned)(s / l);
	else
		return false;
	return s == size && l == line && w == ways;
}

static void cell(char *buf, size_t len, uint64_t cg, uint64_t model)
{
	if (cg == model)
		snprintf(buf, len, "%" PRIu64, cg);
	else
		snprintf(buf, len, "%" PRIu64 "!=%" PRIu64, cg, model);
}

static void show_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[512];
	while (fgets(buf, sizeof(buf), f))
		fprintf(stderr, "    %s", buf);
	fclose(f);
}

/* Runs one (geometry, stream) pair; prints its row.  Returns 0 equal, 1 different, 2 error. */
static int check_one(const char *bin, const char *src, const char *dir, int gi, int si)
{
	const struct xc_geom *g = &geoms[gi];
	const struct stream *s = &streams[si];
	char i1[64], d1[64], ll[64], out[512], cg[400], run[400], log[400], err[512];
	snprintf(i1, sizeof(i1), "--I1=%" PRIu64 ",%u,%u", g->l1_size, g->l1_ways, g->line);
	snprintf(d1, sizeof(d1), "--D1=%" PRIu64 ",%u,%u", g->l1_size, g->l1_ways, g->line);
	snprintf(ll, sizeof(ll), "--LL=%" PRIu64 ",%u,%u", g->ll_size, g->ll_ways, g->line);
	snprintf(cg, sizeof(cg), "%s/cg-%d-%d.out", dir, gi, si);
	snprintf(out, sizeof(out), "--cachegrind-out-file=%s", cg);
	snprintf(run, sizeof(run), "%s/run-%d-%d.txt", dir, gi, si);
	snprintf(log, sizeof(log), "%s/valgrind-%d-%d.log", dir, gi, si);
	/* I1 is given too: without it cachegrind takes the host's, and may warn or refuse. */
	char *argv[16] = {
	    "valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=no", i1, d1, ll,
	    out,        (char *)bin};
	int n = 9;
	for (int k = 0; k < 4 && s->args[k]; k++)
		argv[n++] = (char *)s->args[k];
	argv[n] = NULL;

	char l1s[32], lls[32];
	xc_level_str(g->l1_size, g->l1_ways, g->line, l1s, sizeof(l1s));
	xc_level_str(g->ll_size, g->ll_ways, g->line, lls, sizeof(lls));
	printf("%-15s %-16s %-12s", l1s, lls, s->name);
	fflush(stdout);

	int rc = xc_spawn(argv, run, log);
	struct xc_run r;
	if (rc != 0 || xc_read_runs(run, &r, 1) != 1) {
		printf(" ERROR: valgrind exit %d\n", rc);
		fprintf(stderr, "  valgrind's output (%s):\n", log);
		show_file(log);
		return 2;
	}
	struct xc_counts c, other, m;
	char desc[2][160];
	if (xc_cg_read(cg, src, s->fn, &c, &other, desc, err, sizeof(err)) < 0) {
		printf(" ERROR: %s\n", err);
		return 2;
	}
	size_t nref = xc_trace(&r, NULL);
	uint64_t *trace = malloc(nref * sizeof(*trace));
	if (!trace) {
		printf(" ERROR: out of memory\n");
		return 2;
	}
	xc_trace(&r, trace);
	rc = xc_replay_model(trace, nref, g, &m);
	free(trace);
	if (rc < 0) {
		printf(" ERROR: the model rejects this geometry (%d)\n", rc);
		return 2;
	}

	char a[4][48];
	cell(a[0], sizeof(a[0]), c.d1mr, m.d1mr);
	cell(a[1], sizeof(a[1]), c.dlmr, m.dlmr);
	cell(a[2], sizeof(a[2]), c.d1mw, m.d1mw);
	cell(a[3], sizeof(a[3]), c.dlmw, m.dlmw);
	printf(" %9" PRIu64 " %9" PRIu64 " %11s %11s %11s %11s", c.dr, c.dw, a[0], a[1], a[2],
	       a[3]);

	const char *why = NULL;
	if (!desc_is(desc[0], g->l1_size, g->l1_ways, g->line) ||
	    !desc_is(desc[1], g->ll_size, g->ll_ways, g->line))
		why = "cachegrind simulated another geometry";
	else if (c.dr != m.dr || c.dw != m.dw)
		why = "the marked lines' references are not the stream's";
	else if (other.dr + other.dw > XC_MAX_OTHER)
		why = "the stream function makes other references";
	else if (c.d1mr != m.d1mr || c.dlmr != m.dlmr || c.d1mw != m.d1mw || c.dlmw != m.dlmw)
		why = "miss counts differ";
	printf("  %s\n", why ? "MISMATCH" : "ok");
	if (why) {
		fprintf(stderr,
		        "  %s: cachegrind D1 \"%s\" LL \"%s\"; Dr %" PRIu64 " Dw %" PRIu64
		        " (model %" PRIu64 " %" PRIu64 "); other references %" PRIu64 "\n",
		        why, desc[0], desc[1], c.dr, c.dw, m.dr, m.dw, other.dr + other.dw);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: xc_check XC_STREAM_BINARY XC_STREAM_SOURCE WORKDIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* rows and stderr details stay in order */
	char *vargv[] = {"valgrind", "--version", NULL};
	if (xc_spawn(vargv, "/dev/null", "/dev/null") != 0) {
		fprintf(stderr, "xc_check: valgrind is not installed (apt-get install valgrind)\n");
		return 2;
	}
	printf("cachegrind cross-check: data misses of the same address stream, cachegrind vs "
	       "dmacoh's model\n(a cell reads cg!=model where they differ)\n\n");
	printf("%-15s %-16s %-12s %9s %9s %11s %11s %11s %11s\n", "D1", "LL", "stream", "Dr", "Dw",
	       "D1mr", "DLmr", "D1mw", "DLmw");
	int worst = 0, rows = 0, bad = 0;
	for (int gi = 0; gi < (int)(sizeof(geoms) / sizeof(geoms[0])); gi++) {
		for (int si = 0; si < (int)(sizeof(streams) / sizeof(streams[0])); si++) {
			int rc = check_one(argv[1], argv[2], argv[3], gi, si);
			rows++;
			bad += rc != 0;
			worst = rc > worst ? rc : worst;
		}
	}
	printf("\n%d rows, %d equal, %d not\n", rows, rows - bad, bad);
	return worst;
}
