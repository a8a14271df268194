/* The same driver built by gcc and by clang gives the same report: every example driver and
 * twin (the current compiler's modules in the driver directory, the other compiler's in
 * DIR-gcc or DIR-clang beside it, built by mk/xcc.mk through dmacoh-cc --cc=) runs on the same
 * platform, seed and workload with --deterministic, and the report (stderr) and the summary
 * (stdout) must be byte-identical.  Findings name source lines (never line 0), grouped by
 * line and counted per event, so neither where a compiler put the instructions nor how many
 * loads and stores it emitted may show.  Not compared: wall time (--deterministic leaves it
 * out). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "kflow.h"

#define XCC_OUT (1u << 18)

struct xcc_out {
	char text[XCC_OUT];
	size_t n;
};

/* Runs `dmacoh run` on one module: stderr then stdout into o->text.  False if it could not
 * run or the output did not fit. */
static bool xcc_run(const char *module, struct xcc_out *o)
{
	const char *bin = dct_tool();
	if (!bin)
		return false;
	char errp[] = "/tmp/dmacoh-xcc-XXXXXX", outp[] = "/tmp/dmacoh-xcc-XXXXXX";
	int ef = mkstemp(errp), of = mkstemp(outp);
	if (ef >= 0)
		close(ef);
	if (of >= 0)
		close(of);
	if (ef < 0 || of < 0)
		return false;
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
	         "'%s' run --driver '%s' --platform noncoherent --seed 3 "
	         "--workload count=24,fault=7 --deterministic --quiet >'%s' 2>'%s'",
	         bin, module, outp, errp);
	int st = system(cmd);
	o->n = 0;
	bool ok = st != -1;
	const char *paths[] = {errp, outp};
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(paths[i], "r");
		if (f) {
			o->n += fread(o->text + o->n, 1, sizeof(o->text) - 1 - o->n, f);
			ok = ok && feof(f); /* everything was read */
			fclose(f);
		} else {
			ok = false;
		}
		unlink(paths[i]);
	}
	o->text[o->n] = 0;
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first line where a and b differ, for the log. */
static void first_diff(const char *a, const char *b)
{
	int line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++, b++;
	}
	dct_log("  line %d:\n    %.*s\n    %.*s\n", line, (int)strcspn(la, "\n"), la,
	        (int)strcspn(lb, "\n"), lb);
}

DC_TEST(xcc_gcc_and_clang_modules_give_the_same_report)
{
	char buf[4096];
	const char *probe = kf_driver_path("x", buf, sizeof(buf));
	char dir[4096], other[4096 + 16];
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(probe, '/') - probe), probe);
	struct stat st;
	snprintf(other, sizeof(other), "%s-clang", dir);
	if (stat(other, &st) != 0)
		snprintf(other, sizeof(other), "%s-gcc", dir);
	CHECK_MSG(stat(other, &st) == 0, "no %s-clang or %s-gcc: make test builds them (mk/xcc.mk)",
	          dir, dir);
	DIR *d = opendir(dir);
	CHECK(d);
	char *names[256];
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) && n < 256;) {
		size_t k = strlen(e->d_name);
		if (k > 3 && !strcmp(e->d_name + k - 3, ".so"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	static struct xcc_out a, b;
	size_t differ = 0, compared = 0;
	for (size_t i = 0; i < n; i++) {
		char pa[8192], pb[8192 + 16];
		snprintf(pa, sizeof(pa), "%s/%s", dir, names[i]);
		snprintf(pb, sizeof(pb), "%s/%s", other, names[i]);
		bool ok = xcc_run(pa, &a) && xcc_run(pb, &b);
		if (!ok || a.n != b.n || memcmp(a.text, b.text, a.n) || strstr(a.text, ".c:0:") ||
		    strstr(b.text, ".c:0:")) {
			dct_log("%s: %s\n", names[i], ok ? "reports differ" : "could not run");
			if (ok)
				first_diff(a.text, b.text);
			differ++;
		}
		compared++;
		free(names[i]);
	}
	CHECK_MSG(compared >= 20, "only %zu modules in %s", compared, dir);
	CHECK_MSG(!differ, "%zu of %zu modules report differently built by gcc and clang (-v)",
	          differ, compared);
}
