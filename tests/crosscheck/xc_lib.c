/* Helpers of the cachegrind cross-check and the benchmarks; see xc_lib.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hw/cache.h"
#include "xc_lib.h"
#include "xc_stream.h"

extern char **environ;

int xc_spawn(char *const argv[], const char *out_path, const char *err_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_path)
		posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC,
		                                 0644);
	if (err_path)
		posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC,
		                                 0644);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Value of " key=" in line, parsed as a number (hex with 0x). */
static bool field(const char *line, const char *key, uint64_t *v)
{
	char pat[32];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	char *end;
	errno = 0;
	*v = strtoull(p + strlen(pat), &end, 0);
	return !errno && end != p + strlen(pat);
}

bool xc_parse_run(const char *line, struct xc_run *r)
{
	*r = (struct xc_run){0};
	if (!strncmp(line, "copy ", 5)) {
		r->kind = XC_COPY;
		return field(line, "src", &r->src) && field(line, "dst", &r->dst) &&
		       field(line, "words", &r->words) && field(line, "passes", &r->passes) &&
		       field(line, "refs", &r->refs) && field(line, "ns", &r->ns);
	}
	if (!strncmp(line, "random ", 7)) {
		r->kind = XC_RANDOM;
		return field(line, "base", &r->src) && field(line, "words", &r->words) &&
		       field(line, "refs", &r->refs) && field(line, "seed", &r->seed) &&
		       field(line, "ns", &r->ns);
	}
	return false;
}

int xc_read_runs(const char *path, struct xc_run *runs, int max)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512];
	int n = 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (xc_parse_run(line, &runs[n]))
			n++;
	fclose(f);
	return n;
}

/* --- cachegrind's out file ------------------------------------------------------------ */

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Which lines (1-based) of src_path carry the marker: a byte per line, *n_lines of them. */
static uint8_t *marked_lines(const char *src_path, size_t *n_lines)
{
	FILE *f = fopen(src_path, "r");
	if (!f)
		return NULL;
	size_t cap = 0, line = 0, len = 0;
	uint8_t *mark = NULL;
	char *buf = NULL;
	while (getline(&buf, &len, f) >= 0) {
		line++;
		if (line >= cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			uint8_t *m = realloc(mark, ncap);
			if (!m)
				break;
			memset(m + cap, 0, ncap - cap);
			mark = m, cap = ncap;
		}
		mark[line] = strstr(buf, "/* xc:stream */") != NULL;
	}
	free(buf);
	fclose(f);
	*n_lines = cap;
	return mark;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool fn_matches(const char *have, const char *want)
{
	size_t n = strlen(want);
	return !strncmp(have, want, n) && (have[n] == 0 || have[n] == '.');
}

int xc_cg_read(const char *cg_path, const char *src_path, const char *fn, struct xc_counts *stream,
               struct xc_counts *other, char desc[2][160], char *err, size_t errlen)
{
	*stream = (struct xc_counts){0};
	*other = (struct xc_counts){0};
	if (desc)
		desc[0][0] = desc[1][0] = 0;
	size_t n_lines;
	uint8_t *mark = marked_lines(src_path, &n_lines);
	if (!mark) {
		errf(err, errlen, "%s: cannot read", src_path);
		return -1;
	}
	FILE *f = fopen(cg_path, "r");
	if (!f) {
		free(mark);
		errf(err, errlen, "%s: cannot read", cg_path);
		return -1;
	}
	/* Column of each counter we want in the "events:" list (-1: absent). */
	static const char *const want[6] = {"Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw"};
	int col[6] = {-1, -1, -1, -1, -1, -1};
	bool in_src = false, in_fn = false, seen_fn = false;
	const char *src_base = base_name(src_path);
	char buf[4096];
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		if (!strncmp(buf, "events:", 7)) {
			int k = 0;
			for (char *save, *t = strtok_r(buf + 7, " ", &save); t;
			     t = strtok_r(NULL, " ", &save), k++)
				for (int w = 0; w < 6; w++)
					if (!strcmp(t, want[w]))
						col[w] = k;
		} else if (!strncmp(buf, "desc: D1 cache:", 15) && desc) {
			snprintf(desc[0], sizeof(desc[0]), "%s", buf + 15 + strspn(buf + 15, " "));
		} else if (!strncmp(buf, "desc: LL cache:", 15) && desc) {
			snprintf(desc[1], sizeof(desc[1]), "%s", buf + 15 + strspn(buf + 15, " "));
		} else if (!strncmp(buf, "fl=", 3)) {
			in_src = !strcmp(base_name(buf + 3), src_base);
		} else if (!strncmp(buf, "fn=", 3)) {
			in_fn = fn_matches(buf + 3, fn);
			seen_fn |= in_fn;
		} else if (buf[0] >= '0' && buf[0] <= '9' && in_fn) {
			uint64_t v[16] = {0};
			char *p = buf, *end;
			uint64_t line = strtoull(p, &end, 10);
			p = end;
			for (int k = 0; k < 16; k++, p = end) {
				v[k] = strtoull(p, &end, 10);
				if (end == p)
					break;
			}
			bool is_stream = in_src && line < n_lines && mark[line];
			uint64_t *dst = (uint64_t *)(is_stream ? stream : other);
			for (int w = 0; w < 6; w++)
				if (col[w] >= 0 && col[w] < 16)
					dst[w] += v[col[w]];
		}
	}
	fclose(f);
	free(mark);
	for (int w = 0; w < 6; w++) {
		if (col[w] < 0) {
			errf(err, errlen, "%s: no %s event (was --cache-sim=yes given?)", cg_path,
			     want[w]);
			return -1;
		}
	}
	if (!seen_fn) {
		errf(err, errlen, "%s: no function %s (built without -g?)", cg_path, fn);
		return -1;
	}
	return 0;
}

/* --- Streams and the model ------------------------------------------------------------ */

size_t xc_trace(const struct xc_run *r, uint64_t *trace)
{
	size_t n = 0;
	if (r->kind == XC_COPY) {
		for (uint64_t p = 0; p < r->passes; p++) {
			for (uint64_t i = 0; i < r->words; i++, n += 2) {
				if (trace) {
					trace[n] = r->src + 8 * i;
					trace[n + 1] = (r->dst + 8 * i) | XC_TRACE_WRITE;
				}
			}
		}
		return n;
	}
	uint64_t x = r->seed, mask = r->words - 1;
	for (uint64_t i = 0; i < r->refs; i++, n++) {
		x = xc_lcg(x);
		if (trace)
			trace[n] = (r->src + 8 * xc_index(x, mask)) |
			           (xc_is_write(x) ? XC_TRACE_WRITE : 0);
	}
	return n;
}

int xc_replay_model(const uint64_t *trace, size_t n, const struct xc_geom *g, struct xc_counts *out)
{
	struct dc_platform p = {
	    .line_size = g->line,
	    .n_levels = 2,
	    .level = {{g->l1_size, g->l1_ways, DC_REPL_LRU}, {g->ll_size, g->ll_ways, DC_REPL_LRU}},
	};
	struct dc_cache c;
	int rc = dc_cache_init(&c, &p, NULL, NULL, 0);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint64_t t = trace[i];
		dc_cache_access(&c, t & ~XC_TRACE_WRITE, NULL,
		                (t & XC_TRACE_WRITE) ? DC_ACC_WRITE : DC_ACC_READ);
	}
	const struct dc_cache_stats *l1 = &c.lv[0].st, *ll = &c.lv[1].st;
	*out = (struct xc_counts){
	    .dr = l1->hits[DC_ACC_READ] + l1->misses[DC_ACC_READ],
	    .d1mr = l1->misses[DC_ACC_READ],
	    .dlmr = ll->misses[DC_ACC_READ],
	    .dw = l1->hits[DC_ACC_WRITE] + l1->misses[DC_ACC_WRITE],
	    .d1mw = l1->misses[DC_ACC_WRITE],
	    .dlmw = ll->misses[DC_ACC_WRITE],
	};
	dc_cache_fini(&c);
	return 0;
}

void xc_level_str(uint64_t size, uint32_t ways, uint32_t line, char *buf, size_t len)
{
	if (size >= (1u << 20) && !(size & ((1u << 20) - 1)))
		snprintf(buf, len, "%" PRIu64 "M/%u-way/%u", size >> 20, ways, line);
	else
		snprintf(buf, len, "%" PRIu64 "K/%u-way/%u", size >> 10, ways, line);
}
