/* Seeded, reproducible randomness (xoshiro256**, seeded through splitmix64).  Every random
 * choice in dmacoh goes through one of these, never rand() or time. */
#ifndef DC_RNG_H
#define DC_RNG_H

#include <stdint.h>

__extension__ typedef unsigned __int128 dc_u128;

struct dc_rng {
	uint64_t s[4];
};

static inline uint64_t dc_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void dc_rng_seed(struct dc_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = dc_splitmix64(&seed);
}

static inline uint64_t dc_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t dc_rng_next(struct dc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = dc_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = dc_rng_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t dc_rng_below(struct dc_rng *r, uint64_t n)
{
	return (uint64_t)(((dc_u128)dc_rng_next(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double dc_rng_unit(struct dc_rng *r)
{
	return (double)(dc_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
