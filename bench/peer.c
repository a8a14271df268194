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

static const struct loop_fns san = {drv_sum_san, drv_fill_san, drv_copy_san, drv_stride_san};
static const struct loop_fns plain = {drv_sum_plain, drv_fill_plain, drv_copy_plain,
                                      drv_stride_plain};

int main(int argc, char **argv)
{
	char *end;
	unsigned long ci = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || ci >= LOOP_CASES) {
		fprintf(stderr, "usage: %s CASE (0..%d)\n", argv[0], LOOP_CASES - 1);
		return 2;
	}
	const struct loop_case *c = &loop_cases[ci];
	size_t pages = (c->bytes + 4095) / 4096;
	uint64_t *a = aligned_alloc(4096, pages * 4096), *b = aligned_alloc(4096, pages * 4096);
	if (!a || !b) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 1;
	}
	for (size_t i = 0; i < pages * 512; i++)
		a[i] = b[i] = i;
	double ratio[DC_BENCH_RUNS], extra[DC_BENCH_RUNS];
	loop_compare(c, &san, &plain, a, b, ratio, extra);
	struct summary rs = summarize(ratio, DC_BENCH_RUNS), es = summarize(extra, DC_BENCH_RUNS);
	printf("%g %g %g %g %g %g\n", rs.med, rs.min, rs.max, es.med, es.min, es.max);
	free(a);
	free(b);
	return 0;
}
