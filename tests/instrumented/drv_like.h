/* Driver-like routines compiled as driver code (TSan instrumentation, no TSan runtime, mem*
 * renamed): plain pointers, loops, struct copies, mem* calls and atomics. */
#ifndef DRV_LIKE_H
#define DRV_LIKE_H

#include <stddef.h>
#include <stdint.h>

struct drv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, status;
	uint8_t pad[48];
};

void drv_fill(uint8_t *buf, size_t n, uint8_t v);
uint64_t drv_sum32(const uint32_t *p, size_t n);
/* n 4-byte stores of v / loads, one by one, by one instruction each (volatile and not
 * unrolled: never a memset call, vector accesses or copies of the access at other pcs). */
void drv_store32(volatile uint32_t *p, size_t n, uint32_t v);
uint64_t drv_load32(const volatile uint32_t *p, size_t n);
/* Per two elements: a store of v to the first, a load of the second (two pcs per line). */
uint64_t drv_mix32(volatile uint32_t *p, size_t n, uint32_t v);
void drv_copy32(volatile uint32_t *dst, const volatile uint32_t *src, size_t n);
void drv_copy_desc(struct drv_desc *dst, const struct drv_desc *src);
void drv_memcpy(void *dst, const void *src, size_t n);
void drv_memset(void *dst, int c, size_t n);
uint32_t drv_atomic_inc(uint32_t *p);
uint16_t drv_read_u16_unaligned(const uint8_t *p);

#endif
