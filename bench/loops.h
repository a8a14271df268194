/* The loops of the instrumented-access section (bench/drv_loop.c's functions) and how long each
 * is timed: shared by bench.c, which times dmacoh's hooks, and peer.c, which times real
 * sanitizers on the same loops, so both rows measure the same work. */
#ifndef DC_BENCH_LOOPS_H
#define DC_BENCH_LOOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DC_BENCH_RUNS 7
#define DC_BENCH_SLICES 16

enum loop_kind {
	LOOP_SUM,
	LOOP_FILL,
	LOOP_COPY,
	LOOP_STRIDE,
};

struct loop_case {
	const char *name;
	enum loop_kind kind;
	size_t bytes; /* of each buffer */
};

static const struct loop_case loop_cases[] = {
    {"sequential read, 16 KiB (L1-resident)", LOOP_SUM, 16 << 10},
    {"sequential write, 16 KiB (L1-resident)", LOOP_FILL, 16 << 10},
    {"copy 8 KiB → 8 KiB (L1-resident; lines alternate)", LOOP_COPY, 8 << 10},
    {"one read per line, 16 KiB (L1-resident)", LOOP_STRIDE, 16 << 10},
    {"sequential read, 512 KiB (LL-resident)", LOOP_SUM, 512 << 10},
    {"copy 4 MiB → 4 MiB (misses to memory, dirty write-backs)", LOOP_COPY, 4 << 20},
};
#define LOOP_CASES ((int)(sizeof(loop_cases) / sizeof(loop_cases[0])))

static inline size_t loop_accesses(const struct loop_case *c)
{
	size_t words = c->bytes / 8;
	switch (c->kind) {
	case LOOP_COPY:
		return 2 * words;
	case LOOP_STRIDE:
		return words / 8;
	default:
		return words;
	}
}

/* Calls of the loop per run: about 8 M accesses, at least one per slice. */
#define LOOP_CALLS(acc)                                                                \
	((size_t)DC_BENCH_SLICES > ((size_t)8 << 20) / (acc) ? (size_t)DC_BENCH_SLICES \
	                                                     : ((size_t)8 << 20) / (acc))

/* One build's copies of drv_loop.c's functions (_instr, _plain, _san). */
struct loop_fns {
	uint64_t (*sum)(const volatile uint64_t *p, size_t n);
	void (*fill)(volatile uint64_t *p, size_t n, uint64_t v);
	void (*copy)(volatile uint64_t *d, const volatile uint64_t *s, size_t n);
	uint64_t (*stride)(const volatile uint64_t *p, size_t n, size_t stride);
};

static inline uint64_t loop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns for `calls` calls of loop c of build f on buffers a (and b). */
static inline uint64_t loop_time(const struct loop_case *c, const struct loop_fns *f, uint64_t *a,
                                 uint64_t *b, size_t calls)
{
	static volatile uint64_t sink;
	size_t words = c->bytes / 8;
	uint64_t t0 = loop_now_ns(), s = 0;
	for (size_t k = 0; k < calls; k++) {
		switch (c->kind) {
		case LOOP_SUM:
			s += f->sum(a, words);
			break;
		case LOOP_FILL:
			f->fill(a, words, k);
			break;
		case LOOP_COPY:
			f->copy(b, a, words);
			break;
		case LOOP_STRIDE:
			s += f->stride(a, words / 8, 8);
			break;
		}
	}
	uint64_t dt = loop_now_ns() - t0;
	sink += s;
	return dt;
}

/* Build `test` against `plain` on loop c, both warmed first, then DC_BENCH_RUNS runs of
 * LOOP_CALLS calls each in DC_BENCH_SLICES alternating slices: per run, the time ratio
 * test ÷ plain and the extra ns per access. */
static inline void loop_compare(const struct loop_case *c, const struct loop_fns *test,
                                const struct loop_fns *plain, uint64_t *a, uint64_t *b,
                                double ratio[DC_BENCH_RUNS], double extra[DC_BENCH_RUNS])
{
	size_t acc = loop_accesses(c), n = LOOP_CALLS(acc) / DC_BENCH_SLICES;
	loop_time(c, test, a, b, 1);
	loop_time(c, plain, a, b, 1);
	for (int r = 0; r < DC_BENCH_RUNS; r++) {
		uint64_t tp = 0, tt = 0;
		for (int k = 0; k < DC_BENCH_SLICES; k++) {
			if (k % 2) {
				tp += loop_time(c, plain, a, b, n);
				tt += loop_time(c, test, a, b, n);
			} else {
				tt += loop_time(c, test, a, b, n);
				tp += loop_time(c, plain, a, b, n);
			}
		}
		ratio[r] = (double)tt / (double)tp;
		extra[r] = ((double)tt - (double)tp) / (double)(acc * (n * DC_BENCH_SLICES));
	}
}

#endif
