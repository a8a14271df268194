/* Runs every registered test (or those whose name contains argv[1]) and prints one summary.
 * `--shard I/N` runs only every Nth test from the I-th (0-based) of the sorted list, so that
 * tests/shards.sh can run N processes side by side (`make test` on a machine with N cores). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"

struct dct_case {
	const char *name, *file;
	dct_fn fn;
};

static struct dct_case cases[1024];
static size_t n_cases;
static bool cur_failed, verbose;
static char *logbuf;
static size_t log_len, log_cap;

void dct_register(const char *name, dct_fn fn, const char *file)
{
	if (n_cases == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "dctest: too many tests\n");
		abort();
	}
	cases[n_cases++] = (struct dct_case){name, file, fn};
}

void dct_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (verbose) {
		vprintf(fmt, ap);
		va_end(ap);
		return;
	}
	char tmp[4096];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t k = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
	if (log_len + k + 1 > log_cap) {
		size_t cap = (log_cap ? log_cap * 2 : 8192) + k;
		char *nb = realloc(logbuf, cap);
		if (!nb)
			return;
		logbuf = nb;
		log_cap = cap;
	}
	memcpy(logbuf + log_len, tmp, k);
	log_len += k;
	logbuf[log_len] = 0;
}

void dct_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (!cur_failed)
		printf("FAIL\n");
	cur_failed = true;
	printf("    %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

bool dct_failed(void)
{
	return cur_failed;
}

static int by_file_then_name(const void *a, const void *b)
{
	const struct dct_case *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	unsigned shard = 0, shards = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
			char end;
			if (sscanf(argv[++i], "%u/%u%c", &shard, &shards, &end) != 2 || !shards ||
			    shard >= shards) {
				fprintf(stderr,
				        "dmacoh-tests: --shard wants I/N with I < N, not %s\n",
				        argv[i]);
				return 2;
			}
		} else
			filter = argv[i];
	}
	qsort(cases, n_cases, sizeof(cases[0]), by_file_then_name);
	unsigned passed = 0, failed = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n_cases; i++) {
		if (filter && !strstr(cases[i].name, filter) && !strstr(cases[i].file, filter))
			continue;
		if (i % shards != shard)
			continue;
		cur_failed = false;
		log_len = 0;
		printf("%-60s ", cases[i].name);
		fflush(stdout);
		cases[i].fn();
		if (cur_failed) {
			failed++;
			printf("    (in %s)\n", cases[i].file);
			if (log_len)
				printf("%s", logbuf);
		} else {
			passed++;
			printf("ok\n");
		}
	}
	free(logbuf);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
