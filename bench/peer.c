/* The peer rows of `make bench`'s instrumented-access section: bench/drv_loop.c built with a real
 * sanitizer and linked with its runtime (dmacoh-bench-peer-tsan: -fsanitize=thread;
 * dmacoh-bench-peer-asan: -fsanitize=address), timed against its plain twin in the same process,
 * on the same loops, buffer sizes, call counts and alternating slices as bench.c's rows, so the
 * checked access can be set beside the sanitizers a user would compare it with.  dmacoh-bench
 * runs this binary once per loop, at the point where it measures its own rows for that loop.
 *
 *   dmacoh-bench-peer-{tsan,asan} CASE   (CASE: index into bench.c's loop_cases)
 * prints one line: ratio median min max, then extra ns per access median min max.
 *
 * It does not model anything: no machine, no checker; the buffers come from the host heap (the
 * runtime's allocator: shadow mapped, as a driver's buffers would be under a real sanitizer).
 * This file is compiled without instrumentation; only the _san copy of drv_loop.c is. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loops.h"
#include "stats.h"

uint64_t drv_sum_san(const volatile uint64_t *p, size_t n);
void drv_fill_san(volatile uint64_t *p, size_t n, uint64_t v);
void drv_copy_san(volatile uint64_t *d, const volatile uint64_t *s, size_t n);
uint64_t drv_stride_san(const volatile uint64_t *p, size_t n, size_t stride);
uint64_t drv_sum_plain(const volatile uint64_t *p, size_t n);
void drv_fill_plain(volatile uint64_t *p, size_t n, uint64_t v);
void drv_copy_plain(volatile uint64_t *d, const volatile uint64_t *s, size_t n);
uint64_t drv_stride_plain(const volatile uint64_t *p, size_t n, size_t stride);

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t time_loop(const struct loop_case *c, bool san, uint64_t *a, uint64_t *b,
                          size_t calls)
{
	size_t words = c->bytes / 8;
	uint64_t t0 = now_ns(), s = 0;
	for (size_t k = 0; k < calls; k++) {
		switch (c->kind) {
		case LOOP_SUM:
			s += san ? drv_sum_san(a, words) : drv_sum_plain(a, words);
			break;
		case LOOP_FILL:
			san ? drv_fill_san(a, words, k) : drv_fill_plain(a, words, k);
			break;
		case LOOP_COPY:
			san ? drv_copy_san(b, a, words) : drv_copy_plain(b, a, words);
			break;
		case LOOP_STRIDE:
			s += san ? drv_stride_san(a, words / 8, 8)
			         : drv_stride_plain(a, words / 8, 8);
			break;
		}
	}
	uint64_t dt = now_ns() - t0;
	sink += s;
	return dt;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long ci = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || ci >= LOOP_CASES) {
		fprintf(stderr, "usage: %s CASE (0..%d)\n", argv[0], LOOP_CASES - 1);
		return 2;
	}
	const struct loop_case *c = &loop_cases[ci];
	size_t acc = loop_accesses(c), pages = (c->bytes + 4095) / 4096;
	size_t calls = LOOP_CALLS(acc);
	uint64_t *a = aligned_alloc(4096, pages * 4096), *b = aligned_alloc(4096, pages * 4096);
	if (!a || !b) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 1;
	}
	for (size_t i = 0; i < pages * 512; i++)
		a[i] = b[i] = i;
	time_loop(c, true, a, b, 1);
	time_loop(c, false, a, b, 1);
	double ratio[DC_BENCH_RUNS], extra[DC_BENCH_RUNS];
	for (int r = 0; r < DC_BENCH_RUNS; r++) {
		uint64_t tp = 0, ts = 0;
		size_t n = calls / DC_BENCH_SLICES;
		for (int k = 0; k < DC_BENCH_SLICES; k++) {
			if (k % 2) {
				tp += time_loop(c, false, a, b, n);
				ts += time_loop(c, true, a, b, n);
			} else {
				ts += time_loop(c, true, a, b, n);
				tp += time_loop(c, false, a, b, n);
			}
		}
		ratio[r] = (double)ts / (double)tp;
		extra[r] = ((double)ts - (double)tp) / (double)(acc * (n * DC_BENCH_SLICES));
	}
	struct summary rs = summarize(ratio, DC_BENCH_RUNS), es = summarize(extra, DC_BENCH_RUNS);
	printf("%g %g %g %g %g %g\n", rs.med, rs.min, rs.max, es.med, es.min, es.max);
	free(a);
	free(b);
	return 0;
}
