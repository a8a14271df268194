/* The loops of the instrumented-access section (bench/drv_loop.c's functions) and how long each
 * is timed: shared by bench.c, which times dmacoh's hooks, and peer.c, which times real
 * sanitizers on the same loops, so both rows measure the same work. */
#ifndef DC_BENCH_LOOPS_H
#define DC_BENCH_LOOPS_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
