/* The program the cross-check runs under cachegrind (and the bench times natively and under
 * valgrind): it performs one of the streams of xc_stream.h on a fresh anonymous mapping and
 * prints where the buffers were, so the same virtual addresses can be replayed through
 * dmacoh's cache model.
 *
 *   xc_stream copy WORDS [PASSES [REPS]]
 *   xc_stream random WORDS REFS SEED [REPS]
 *
 * One line per repetition on stdout:
 *   copy src=0x… dst=0x… words=N passes=P refs=R ns=T
 *   random base=0x… words=N refs=R seed=S ns=T
 * (ns: wall time of the stream function alone, measured by the program itself, so a run under
 * valgrind can be timed without its start-up).
 *
 * What cachegrind measures must be exactly the stream:
 *  - the stream functions are leaves whose loops keep everything in registers; the only memory
 *    references in a loop are the volatile ones on the lines marked "xc:stream", which the
 *    checker sums (the function's prologue/epilogue and `ret` land on other lines, and the
 *    checker verifies they stay a handful: a spill inside a loop would show up there);
 *  - volatile gives one 8-byte load or store per word: no vectorisation, no merging, and no
 *    read-modify-write instruction (cachegrind counts those as one read only).
 *
 * Why the references made before the stream (ld.so, libc start-up, argument parsing, stdio)
 * cannot change the stream's misses, although they leave lines in both cachegrind levels:
 * the buffers are a fresh mapping that nothing touched before the stream (the kernel's
 * zero-fill is not a guest reference), so no stream line is present at the start, and no other
 * reference happens while the stream runs.  In every set of an LRU level, an earlier line is
 * therefore older than any stream line for the whole stream: it is evicted before any stream
 * line is, exactly as an invalid way would be.  The stream lines a set holds are at every
 * moment the most recent ones mapping there, up to the associativity, whether the set started
 * empty or full; hence hits and misses equal those of a replay into empty caches.  LL sees only
 * D1 misses and keeps its own LRU order, so the same argument holds there.  (Several
 * repetitions in one run are for timing only: only REPS=1 runs are compared.) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "xc_stream.h"

void xc_copy(volatile uint64_t *dst, const volatile uint64_t *src, uint64_t words, uint64_t passes);
uint64_t xc_random(volatile uint64_t *p, uint64_t mask, uint64_t refs, uint64_t x);

/* Several passes in one call: a repetition from main would run other references in between. */
__attribute__((noinline)) void xc_copy(volatile uint64_t *dst, const volatile uint64_t *src,
                                       uint64_t words, uint64_t passes)
{
	for (uint64_t p = 0; p < passes; p++)
		for (uint64_t i = 0; i < words; i++)
			dst[i] = src[i]; /* xc:stream */
}

__attribute__((noinline)) uint64_t xc_random(volatile uint64_t *p, uint64_t mask, uint64_t refs,
                                             uint64_t x)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < refs; i++) {
		x = xc_lcg(x);
		if (xc_is_write(x))
			p[xc_index(x, mask)] = x; /* xc:stream */
		else
			acc += p[xc_index(x, mask)]; /* xc:stream */
	}
	return acc;
}

/* dst starts this far past the end of src, so src[i] and dst[i] fall in different sets. */
#define XC_COPY_GAP (4096 + 5 * 64)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t arg_u64(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	if (!*s || *end) {
		fprintf(stderr, "xc_stream: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void *map(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("xc_stream: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "copy")) {
		uint64_t words = arg_u64(argv[2]);
		uint64_t passes = argc > 3 ? arg_u64(argv[3]) : 1,
		         reps = argc > 4 ? arg_u64(argv[4]) : 1;
		uint8_t *base = map(2 * words * 8 + XC_COPY_GAP);
		volatile uint64_t *src = (volatile uint64_t *)base;
		volatile uint64_t *dst = (volatile uint64_t *)(base + words * 8 + XC_COPY_GAP);
		for (uint64_t r = 0; r < reps; r++) {
			uint64_t t0 = now_ns();
			xc_copy(dst, src, words, passes);
			uint64_t t1 = now_ns();
			printf("copy src=%p dst=%p words=%" PRIu64 " passes=%" PRIu64
			       " refs=%" PRIu64 " ns=%" PRIu64 "\n",
			       (void *)src, (void *)dst, words, passes, 2 * words * passes,
			       t1 - t0);
		}
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "random")) {
		uint64_t words = arg_u64(argv[2]), refs = arg_u64(argv[3]), seed = arg_u64(argv[4]);
		uint64_t reps = argc > 5 ? arg_u64(argv[5]) : 1;
		if (!words || (words & (words - 1))) {
			fprintf(stderr, "xc_stream: WORDS must be a power of two\n");
			return 2;
		}
		volatile uint64_t *p = map(words * 8);
		uint64_t sink = 0;
		for (uint64_t r = 0; r < reps; r++) {
			uint64_t t0 = now_ns();
			sink += xc_random(p, words - 1, refs, seed);
			uint64_t t1 = now_ns();
			printf("random base=%p words=%" PRIu64 " refs=%" PRIu64 " seed=%" PRIu64
			       " ns=%" PRIu64 "\n",
			       (void *)p, words, refs, seed, t1 - t0);
		}
		return sink == 1; /* keeps the reads' sum alive; practically always 0 */
	}
	fprintf(stderr, "usage: xc_stream copy WORDS [PASSES [REPS]]\n"
	                "       xc_stream random WORDS REFS SEED [REPS]\n");
	return 2;
}
