/* The two address streams of the cachegrind cross-check, defined once so that the program
 * run under cachegrind (xc_stream.c) and the replay through dmacoh's model (xc_lib.c) cannot
 * disagree about a single address.
 *
 *  - copy:   passes times, for i in [0, words): read src[i], then write dst[i] (8-byte words).
 *  - random: refs references to 8-byte words of one buffer of words (a power of two) words;
 *            a 64-bit LCG picks the word and whether the reference is a write (1 in 4).
 *
 * Every reference is an aligned 8-byte word, so none straddles a cache line (cachegrind
 * counts a straddling reference once but looks up both lines; the streams never need that). */
#ifndef XC_STREAM_H
#define XC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

/* Knuth's MMIX multiplier and increment: full period modulo 2^64. */
static inline uint64_t xc_lcg(uint64_t x)
{
	return x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
}

/* The low bits of a power-of-two LCG have short periods, so both decisions use high bits. */
static inline bool xc_is_write(uint64_t x)
{
	return (x >> 62) == 0;
}

static inline uint64_t xc_index(uint64_t x, uint64_t mask)
{
	return (x >> 24) & mask;
}

#endif
