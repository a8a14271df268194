/* See drv_like.h.  This file is compiled the way dmacoh-cc compiles a driver. */
#include <string.h>

#include "drv_like.h"

void drv_fill(uint8_t *buf, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = v;
}

uint64_t drv_sum32(const uint32_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* Not unrolled (clang unrolls by 8 otherwise): one store instruction, one pc, for every
 * element, so that its references to a line repeat each other. */
void drv_store32(volatile uint32_t *p, size_t n, uint32_t v)
{
#pragma GCC unroll 1
	for (size_t i = 0; i < n; i++)
		p[i] = v;
}

/* Word by word from src to dst: references alternate between two lines. */
void drv_copy32(volatile uint32_t *dst, const volatile uint32_t *src, size_t n)
{
#pragma GCC unroll 1
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

/* A store and a load of the next element per step: two pcs alternating on each line. */
uint64_t drv_mix32(volatile uint32_t *p, size_t n, uint32_t v)
{
	uint64_t s = 0;
#pragma GCC unroll 1
	for (size_t i = 0; i + 1 < n; i += 2) {
		p[i] = v;
		s += p[i + 1];
	}
	return s;
}

uint64_t drv_load32(const volatile uint32_t *p, size_t n)
{
	uint64_t s = 0;
#pragma GCC unroll 1
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

void drv_copy_desc(struct drv_desc *dst, const struct drv_desc *src)
{
	*dst = *src;
}

void drv_memcpy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

void drv_memset(void *dst, int c, size_t n)
{
	memset(dst, c, n);
}

uint32_t drv_atomic_inc(uint32_t *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

uint16_t drv_read_u16_unaligned(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}
