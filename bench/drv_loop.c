/* The loops whose instrumented cost `make bench` measures.  This one file is compiled twice:
 * as driver code (the Makefile's INSTR_CFLAGS, -fsanitize=thread without its runtime, then
 * objcopy $(REDEFINE)) with DRV_SUFFIX=_instr, and plainly with DRV_SUFFIX=_plain.  Same source,
 * same optimisation: the only difference is the hooks.
 *
 * The pointers are volatile so that both builds make exactly one 8-byte load or store per
 * element: otherwise the compiler may vectorise one build and not the other, or turn the fill
 * and the copy into memset/memcpy calls (which the driver build routes through the model as
 * whole ranges), and "cost of one access" would mean different things in the two builds. */
#include <stddef.h>
#include <stdint.h>

#define DRV_CAT2(a, b) a##b
#define DRV_CAT(a, b) DRV_CAT2(a, b)
#define DRV(name) DRV_CAT(name, DRV_SUFFIX)

uint64_t DRV(drv_sum)(const volatile uint64_t *p, size_t n);
void DRV(drv_fill)(volatile uint64_t *p, size_t n, uint64_t v);
void DRV(drv_copy)(volatile uint64_t *d, const volatile uint64_t *s, size_t n);
uint64_t DRV(drv_stride)(const volatile uint64_t *p, size_t n, size_t stride);

/* n sequential reads. */
uint64_t DRV(drv_sum)(const volatile uint64_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* n sequential writes. */
void DRV(drv_fill)(volatile uint64_t *p, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		p[i] = v;
}

/* n reads and n writes, alternating between two buffers (never twice the same line in a row). */
void DRV(drv_copy)(volatile uint64_t *d, const volatile uint64_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

/* n reads, one every stride words (the caller's buffer holds n * stride words). */
uint64_t DRV(drv_stride)(const volatile uint64_t *p, size_t n, size_t stride)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i * stride];
	return s;
}
