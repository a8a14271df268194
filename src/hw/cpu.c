/* The instrumented CPU access path (DESIGN §3.3).  Driver code is compiled with
 * -fsanitize=thread but never linked with the TSan runtime: these are dmacoh's definitions of
 * the entry points gcc and clang emit before every load and store, as KCSAN does in Linux.
 * Each returns at once for an address outside the simulated windows (stack, globals, heap);
 * otherwise it runs the cache model, so that the real access that follows finds the right
 * bytes in the cached window.  memcpy/memset/memmove calls left in driver objects are renamed
 * by dmacoh-cc (objcopy --redefine-sym) to __dc_memcpy & co., which copy line by line through
 * the model.  Atomics run through the model, then as host atomics (one host thread).
 *
 * Not done: distinguishing volatile from plain accesses (they are modelled alike; device
 * registers are reached through READ/WRITE_REGISTER_*, not through volatile pointers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

static struct dc_machine *cur;

void dc_machine_set_current(struct dc_machine *m)
{
	cur = m;
}

struct dc_machine *dc_machine_current(void)
{
	return cur;
}

/* The shadow call stack fed by __tsan_func_entry/exit: driver frames for reports. */
#define DC_SHADOW_STACK 256
static const void *shadow_stack[DC_SHADOW_STACK];
static unsigned shadow_depth;

unsigned dc_cpu_callstack(const void **frames, unsigned max);
unsigned dc_cpu_callstack(const void **frames, unsigned max)
{
	unsigned n = DC_MIN(shadow_depth, DC_SHADOW_STACK), k = 0;
	while (k < max && k < n) {
		frames[k] = shadow_stack[n - 1 - k];
		k++;
	}
	return k;
}

#define PC() __builtin_return_address(0)

/* The simulated watchdog (docs/supervise.md): instrumented accesses since the driver last
 * returned to the kernel (the shadow stack emptied) or waited (a thread switch).  Counted, not
 * timed, so the verdict is the same on every host. */
static uint64_t wd_count, wd_limit;
static void (*wd_fn)(const void *pc, uint64_t n);
/* And simulated time: a routine that spins on KeStallExecutionProcessor makes no access but
 * moves the clock.  wd_t0 is when the driver's current run began (entered from the kernel, or
 * resumed after a wait). */
static uint64_t wd_t0, wd_sim_limit;
static void (*wd_sim_fn)(const void *pc, uint64_t ns);

void dc_cpu_set_watchdog(uint64_t limit, void (*fn)(const void *pc, uint64_t n));
void dc_cpu_set_watchdog(uint64_t limit, void (*fn)(const void *pc, uint64_t n))
{
	wd_limit = fn ? limit : 0;
	wd_fn = fn;
	wd_count = 0;
}

void dc_cpu_set_sim_watchdog(uint64_t ns, void (*fn)(const void *pc, uint64_t ns));
void dc_cpu_set_sim_watchdog(uint64_t ns, void (*fn)(const void *pc, uint64_t ns))
{
	wd_sim_limit = fn ? ns : 0;
	wd_sim_fn = fn;
	wd_t0 = cur ? cur->clock.now : 0;
}

void dc_cpu_watchdog_reset(void);
void dc_cpu_watchdog_reset(void)
{
	wd_count = 0;
	wd_t0 = cur ? cur->clock.now : 0;
}

/* The kernel moved the clock on the driver's behalf without a wait (KeStallExecutionProcessor):
 * pc is the driver's call. */
void dc_cpu_watchdog_time(const void *pc);
void dc_cpu_watchdog_time(const void *pc)
{
	if (!wd_sim_limit || !shadow_depth || !cur || cur->clock.now - wd_t0 <= wd_sim_limit)
		return;
	uint64_t ns = cur->clock.now - wd_t0;
	wd_t0 = cur->clock.now;
	wd_sim_fn(pc, ns);
}

/* The watchdog's limit reached: it fires, then the reference goes on.  Out of line and
 * entered by a tail call, so that hook() needs no stack frame. */
static __attribute__((noinline, cold)) void watchdog_fire(const void *a, uint32_t size,
                                                          enum dc_access acc, const void *pc)
{
	uint64_t n = wd_count;
	wd_count = 0;
	if (wd_fn)
		wd_fn(pc, n);
	struct dc_machine *m = cur;
	if (m)
		dc_cpu_hook(m, a, size, acc, pc);
}

static inline __attribute__((always_inline)) void hook(const void *a, uint32_t size,
                                                       enum dc_access acc, const void *pc)
{
	struct dc_machine *m = cur;
	if (wd_limit && DC_UNLIKELY(++wd_count > wd_limit)) {
		watchdog_fire(a, size, acc, pc);
		return;
	}
	if (m)
		dc_cpu_hook(m, a, size, acc, pc);
}

/* An atomic operation's access: observers learn its memory order first. */
static inline void ahook(const void *a, uint32_t size, enum dc_access acc, int mo, bool rmw,
                         const void *pc)
{
	struct dc_machine *m = cur;
	if (m && m->n_obs)
		dc_cpu_atomic(m, a, size, mo, rmw);
	hook(a, size, acc, pc);
}

static inline void hook_range(const void *a, uint64_t size, enum dc_access acc, const void *pc)
{
	struct dc_machine *m = cur;
	if (m && size)
		dc_cpu_ref(m, a, size, acc, pc);
}

/* Every entry point gets a prototype first (-Wmissing-prototypes): they are called only by
 * compiler-generated code.  Volatile accesses (dmacoh-cc asks the compiler to tell them
 * apart) are what MSVC's /volatile:ms makes them on x86/x64 Windows: an acquiring read and a
 * releasing write, atomic for naturally aligned sizes. */
#define DEF_RW(n)                                         \
	void __tsan_read##n(void *a);                     \
	void __tsan_read##n(void *a)                      \
	{                                                 \
		hook(a, n, DC_ACC_READ, PC());            \
	}                                                 \
	void __tsan_write##n(void *a);                    \
	void __tsan_write##n(void *a)                     \
	{                                                 \
		hook(a, n, DC_ACC_WRITE, PC());           \
	}                                                 \
	void __tsan_unaligned_read##n(void *a);           \
	void __tsan_unaligned_read##n(void *a)            \
	{                                                 \
		hook(a, n, DC_ACC_READ, PC());            \
	}                                                 \
	void __tsan_unaligned_write##n(void *a);          \
	void __tsan_unaligned_write##n(void *a)           \
	{                                                 \
		hook(a, n, DC_ACC_WRITE, PC());           \
	}                                                 \
	void __tsan_volatile_read##n(void *a);            \
	void __tsan_volatile_read##n(void *a)             \
	{                                                 \
		ahook(a, n, DC_ACC_READ, 2, 0, PC());     \
	}                                                 \
	void __tsan_volatile_write##n(void *a);           \
	void __tsan_volatile_write##n(void *a)            \
	{                                                 \
		ahook(a, n, DC_ACC_WRITE, 3, 0, PC());    \
	}                                                 \
	void __tsan_unaligned_volatile_read##n(void *a);  \
	void __tsan_unaligned_volatile_read##n(void *a)   \
	{                                                 \
		ahook(a, n, DC_ACC_READ, 2, 0, PC());     \
	}                                                 \
	void __tsan_unaligned_volatile_write##n(void *a); \
	void __tsan_unaligned_volatile_write##n(void *a)  \
	{                                                 \
		ahook(a, n, DC_ACC_WRITE, 3, 0, PC());    \
	}                                                 \
	void __tsan_read##n##_pc(void *a, void *pc);      \
	void __tsan_read##n##_pc(void *a, void *pc)       \
	{                                                 \
		hook(a, n, DC_ACC_READ, pc);              \
	}                                                 \
	void __tsan_write##n##_pc(void *a, void *pc);     \
	void __tsan_write##n##_pc(void *a, void *pc)      \
	{                                                 \
		hook(a, n, DC_ACC_WRITE, pc);             \
	}

DEF_RW(1)
DEF_RW(2)
DEF_RW(4)
DEF_RW(8)
DEF_RW(16)

void __tsan_read_range(void *a, unsigned long size);
void __tsan_read_range(void *a, unsigned long size)
{
	hook_range(a, size, DC_ACC_READ, PC());
}

void __tsan_write_range(void *a, unsigned long size);
void __tsan_write_range(void *a, unsigned long size)
{
	hook_range(a, size, DC_ACC_WRITE, PC());
}

void __tsan_read_range_pc(void *a, unsigned long size, void *pc);
void __tsan_read_range_pc(void *a, unsigned long size, void *pc)
{
	hook_range(a, size, DC_ACC_READ, pc);
}

void __tsan_write_range_pc(void *a, unsigned long size, void *pc);
void __tsan_write_range_pc(void *a, unsigned long size, void *pc)
{
	hook_range(a, size, DC_ACC_WRITE, pc);
}

void __tsan_init(void);
void __tsan_init(void)
{
}

void __tsan_func_entry(void *pc);
void __tsan_func_entry(void *pc)
{
	if (!shadow_depth)
		wd_t0 = cur ? cur->clock.now : 0; /* the kernel called into the driver */
	if (shadow_depth < DC_SHADOW_STACK)
		shadow_stack[shadow_depth] = pc;
	shadow_depth++;
}

/* Where the last driver function returned (its epilogue): the line a failing DriverEntry,
 * AddDevice or dispatch routine returned its status from. */
static const void *last_exit;
const void *dc_cpu_last_exit(void);
const void *dc_cpu_last_exit(void)
{
	return last_exit;
}

/* Called each time the driver returns to the kernel (the supervised run's heartbeat). */
static void (*ret_fn)(void);
void dc_cpu_set_return_hook(void (*fn)(void));
void dc_cpu_set_return_hook(void (*fn)(void))
{
	ret_fn = fn;
}

void __tsan_func_exit(void);
void __tsan_func_exit(void)
{
	last_exit = PC();
	if (shadow_depth)
		shadow_depth--;
	if (!shadow_depth) {
		wd_count = 0; /* back in the kernel */
		if (ret_fn)
			ret_fn();
	}
}

/* The structured-exception emulation (src/kernel/seh.c): a raise longjmps out of driver
 * frames whose __tsan_func_exit never runs, so it puts the depth back to the __try's. */
unsigned dc_cpu_shadow_depth(void);
unsigned dc_cpu_shadow_depth(void)
{
	return shadow_depth;
}

/* A context switch of the kernel's scheduler (--schedule): the frames of the context that
 * leaves are kept with it and those of the one that comes back put in place (innermost last;
 * at most max kept). */
unsigned dc_cpu_shadow_save(const void **frames, unsigned max);
unsigned dc_cpu_shadow_save(const void **frames, unsigned max)
{
	unsigned n = DC_MIN(DC_MIN(shadow_depth, DC_SHADOW_STACK), max);
	memcpy(frames, shadow_stack, n * sizeof(*frames));
	return n;
}

void dc_cpu_shadow_restore(const void *const *frames, unsigned n);
void dc_cpu_shadow_restore(const void *const *frames, unsigned n)
{
	n = DC_MIN(n, DC_SHADOW_STACK);
	memcpy(shadow_stack, frames, n * sizeof(*frames));
	shadow_depth = n;
}

void dc_cpu_shadow_unwind(unsigned depth);
void dc_cpu_shadow_unwind(unsigned depth)
{
	if (depth < shadow_depth)
		shadow_depth = depth;
}

void __tsan_vptr_update(void **vptr, void *val);
void __tsan_vptr_update(void **vptr, void *val)
{
	(void)val;
	hook(vptr, sizeof(*vptr), DC_ACC_WRITE, PC());
}

void __tsan_vptr_read(void **vptr);
void __tsan_vptr_read(void **vptr)
{
	hook(vptr, sizeof(*vptr), DC_ACC_READ, PC());
}

/* --- mem* through the model, line by line -------------------------------------------- */

static bool touches_windows(const struct dc_machine *m, const void *p, size_t n)
{
	if (!m || !n)
		return false;
	const uint8_t *b = p;
	return dc_mem_in_cached(&m->mem, b) || dc_mem_in_cached(&m->mem, b + n - 1) ||
	       dc_mem_in_uncached(&m->mem, b) || dc_mem_in_uncached(&m->mem, b + n - 1);
}

static void copy_through(struct dc_machine *m, uint8_t *d, const uint8_t *s, size_t n,
                         const void *pc)
{
	uint32_t ls = m->cache.line_size;
	while (n) {
		size_t k = DC_MIN(n, (size_t)(ls - ((uintptr_t)s & (ls - 1))));
		k = DC_MIN(k, (size_t)(ls - ((uintptr_t)d & (ls - 1))));
		dc_cpu_ref(m, s, k, DC_ACC_READ, pc);
		dc_cpu_ref(m, d, k, DC_ACC_WRITE, pc);
		memcpy(d, s, k);
		d += k, s += k, n -= k;
	}
}

static void *do_memcpy(void *dst, const void *src, size_t n, const void *pc)
{
	struct dc_machine *m = cur;
	if (!touches_windows(m, dst, n) && !touches_windows(m, src, n))
		return memcpy(dst, src, n);
	copy_through(m, dst, src, n, pc);
	return dst;
}

static void *do_memmove(void *dst, const void *src, size_t n, const void *pc)
{
	struct dc_machine *m = cur;
	if (!touches_windows(m, dst, n) && !touches_windows(m, src, n))
		return memmove(dst, src, n);
	const uint8_t *s = src;
	uint8_t *d = dst;
	if (d + n <= s || s + n <= d) {
		copy_through(m, d, s, n, pc);
		return dst;
	}
	/* Overlapping: the source referenced whole and set aside (its bytes are right in the
	 * window whether or not its lines are still present: only a fill changes them), then
	 * stored a line at a time while each line is present, as copy_through does.  One
	 * reference of the whole destination before the move lost the bytes of the lines it had
	 * already evicted, when the range is larger than the caches. */
	uint8_t *tmp = malloc(n);
	dc_cpu_ref(m, s, n, DC_ACC_READ, pc);
	if (!tmp) {
		dc_cpu_ref(m, d, n, DC_ACC_WRITE, pc);
		return memmove(dst, src, n);
	}
	memcpy(tmp, s, n);
	uint32_t ls = m->cache.line_size;
	for (size_t o = 0; o < n;) {
		size_t k = DC_MIN(n - o, (size_t)(ls - ((uintptr_t)(d + o) & (ls - 1))));
		dc_cpu_ref(m, d + o, k, DC_ACC_WRITE, pc);
		memcpy(d + o, tmp + o, k);
		o += k;
	}
	free(tmp);
	return dst;
}

static void *do_memset(void *dst, int c, size_t n, const void *pc)
{
	struct dc_machine *m = cur;
	if (!touches_windows(m, dst, n))
		return memset(dst, c, n);
	dc_cpu_fill_pc(m, dst, c, n, pc);
	return dst;
}

void *__dc_memcpy(void *dst, const void *src, size_t n);
void *__dc_memcpy(void *dst, const void *src, size_t n)
{
	return do_memcpy(dst, src, n, PC());
}

void *__dc_memmove(void *dst, const void *src, size_t n);
void *__dc_memmove(void *dst, const void *src, size_t n)
{
	return do_memmove(dst, src, n, PC());
}

void *__dc_memset(void *dst, int c, size_t n);
void *__dc_memset(void *dst, int c, size_t n)
{
	return do_memset(dst, c, n, PC());
}

/* Newer clang emits these instead of plain mem* calls. */
void *__tsan_memcpy(void *dst, const void *src, size_t n);
void *__tsan_memcpy(void *dst, const void *src, size_t n)
{
	return do_memcpy(dst, src, n, PC());
}

void *__tsan_memmove(void *dst, const void *src, size_t n);
void *__tsan_memmove(void *dst, const void *src, size_t n)
{
	return do_memmove(dst, src, n, PC());
}

void *__tsan_memset(void *dst, int c, size_t n);
void *__tsan_memset(void *dst, int c, size_t n)
{
	return do_memset(dst, c, n, PC());
}

/* --- Atomics: modelled as a read and a write of the object, then done on the host ------- */

__extension__ typedef __int128 dc_a128;

#define DEF_ATOMIC(bits, T)                                                                        \
	T __tsan_atomic##bits##_load(const volatile T *a, int mo);                                 \
	T __tsan_atomic##bits##_load(const volatile T *a, int mo)                                  \
	{                                                                                          \
		(void)mo;                                                                          \
		ahook((const void *)a, sizeof(T), DC_ACC_READ, mo, 0, PC());                       \
		return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                       \
	}                                                                                          \
	void __tsan_atomic##bits##_store(volatile T *a, T v, int mo);                              \
	void __tsan_atomic##bits##_store(volatile T *a, T v, int mo)                               \
	{                                                                                          \
		(void)mo;                                                                          \
		ahook((const void *)a, sizeof(T), DC_ACC_WRITE, mo, 0, PC());                      \
		__atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                          \
	}                                                                                          \
	DEF_ATOMIC_RMW(bits, T, exchange, __atomic_exchange_n)                                     \
	DEF_ATOMIC_RMW(bits, T, fetch_add, __atomic_fetch_add)                                     \
	DEF_ATOMIC_RMW(bits, T, fetch_sub, __atomic_fetch_sub)                                     \
	DEF_ATOMIC_RMW(bits, T, fetch_and, __atomic_fetch_and)                                     \
	DEF_ATOMIC_RMW(bits, T, fetch_or, __atomic_fetch_or)                                       \
	DEF_ATOMIC_RMW(bits, T, fetch_xor, __atomic_fetch_xor)                                     \
	DEF_ATOMIC_RMW(bits, T, fetch_nand, __atomic_fetch_nand)                                   \
	int __tsan_atomic##bits##_compare_exchange_strong(volatile T *a, T *c, T v, int mo,        \
	                                                  int fmo);                                \
	int __tsan_atomic##bits##_compare_exchange_strong(volatile T *a, T *c, T v, int mo,        \
	                                                  int fmo)                                 \
	{                                                                                          \
		(void)mo, (void)fmo;                                                               \
		ahook((const void *)a, sizeof(T), DC_ACC_WRITE, mo, 1, PC());                      \
		return __atomic_compare_exchange_n(a, c, v, 0, __ATOMIC_SEQ_CST,                   \
		                                   __ATOMIC_SEQ_CST);                              \
	}                                                                                          \
	int __tsan_atomic##bits##_compare_exchange_weak(volatile T *a, T *c, T v, int mo,          \
	                                                int fmo);                                  \
	int __tsan_atomic##bits##_compare_exchange_weak(volatile T *a, T *c, T v, int mo, int fmo) \
	{                                                                                          \
		(void)mo, (void)fmo;                                                               \
		ahook((const void *)a, sizeof(T), DC_ACC_WRITE, mo, 1, PC());                      \
		return __atomic_compare_exchange_n(a, c, v, 0, __ATOMIC_SEQ_CST,                   \
		                                   __ATOMIC_SEQ_CST);                              \
	}                                                                                          \
	T __tsan_atomic##bits##_compare_exchange_val(volatile T *a, T c, T v, int mo, int fmo);    \
	T __tsan_atomic##bits##_compare_exchange_val(volatile T *a, T c, T v, int mo, int fmo)     \
	{                                                                                          \
		(void)mo, (void)fmo;                                                               \
		ahook((const void *)a, sizeof(T), DC_ACC_WRITE, mo, 1, PC());                      \
		__atomic_compare_exchange_n(a, &c, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);      \
		return c;                                                                          \
	}

#define DEF_ATOMIC_RMW(bits, T, op, builtin)                                  \
	T __tsan_atomic##bits##_##op(volatile T *a, T v, int mo);             \
	T __tsan_atomic##bits##_##op(volatile T *a, T v, int mo)              \
	{                                                                     \
		(void)mo;                                                     \
		ahook((const void *)a, sizeof(T), DC_ACC_WRITE, mo, 1, PC()); \
		return builtin(a, v, __ATOMIC_SEQ_CST);                       \
	}

DEF_ATOMIC(8, uint8_t)
DEF_ATOMIC(16, uint16_t)
DEF_ATOMIC(32, uint32_t)
DEF_ATOMIC(64, uint64_t)

/* 16-byte atomics: host atomics would need libatomic; with one host thread plain operations
 * are exact. */
#define DEF_A128_RMW(op, expr)                                                 \
	dc_a128 __tsan_atomic128_##op(volatile dc_a128 *a, dc_a128 v, int mo); \
	dc_a128 __tsan_atomic128_##op(volatile dc_a128 *a, dc_a128 v, int mo)  \
	{                                                                      \
		(void)mo;                                                      \
		ahook((const void *)a, 16, DC_ACC_WRITE, mo, 1, PC());         \
		dc_a128 old = *a;                                              \
		*a = (expr);                                                   \
		return old;                                                    \
	}

dc_a128 __tsan_atomic128_load(const volatile dc_a128 *a, int mo);
dc_a128 __tsan_atomic128_load(const volatile dc_a128 *a, int mo)
{
	(void)mo;
	ahook((const void *)a, 16, DC_ACC_READ, mo, 0, PC());
	return *a;
}

void __tsan_atomic128_store(volatile dc_a128 *a, dc_a128 v, int mo);
void __tsan_atomic128_store(volatile dc_a128 *a, dc_a128 v, int mo)
{
	(void)mo;
	ahook((const void *)a, 16, DC_ACC_WRITE, mo, 0, PC());
	*a = v;
}

DEF_A128_RMW(exchange, v)
DEF_A128_RMW(fetch_add, old + v)
DEF_A128_RMW(fetch_sub, old - v)
DEF_A128_RMW(fetch_and, old &v)
DEF_A128_RMW(fetch_or, old | v)
DEF_A128_RMW(fetch_xor, old ^ v)
DEF_A128_RMW(fetch_nand, ~(old &v))

static int cas128(volatile dc_a128 *a, dc_a128 *c, dc_a128 v)
{
	if (*a == *c) {
		*a = v;
		return 1;
	}
	*c = *a;
	return 0;
}

int __tsan_atomic128_compare_exchange_strong(volatile dc_a128 *a, dc_a128 *c, dc_a128 v, int mo,
                                             int fmo);
int __tsan_atomic128_compare_exchange_strong(volatile dc_a128 *a, dc_a128 *c, dc_a128 v, int mo,
                                             int fmo)
{
	(void)mo, (void)fmo;
	ahook((const void *)a, 16, DC_ACC_WRITE, mo, 1, PC());
	return cas128(a, c, v);
}

int __tsan_atomic128_compare_exchange_weak(volatile dc_a128 *a, dc_a128 *c, dc_a128 v, int mo,
                                           int fmo);
int __tsan_atomic128_compare_exchange_weak(volatile dc_a128 *a, dc_a128 *c, dc_a128 v, int mo,
                                           int fmo)
{
	(void)mo, (void)fmo;
	ahook((const void *)a, 16, DC_ACC_WRITE, mo, 1, PC());
	return cas128(a, c, v);
}

dc_a128 __tsan_atomic128_compare_exchange_val(volatile dc_a128 *a, dc_a128 c, dc_a128 v, int mo,
                                              int fmo);
dc_a128 __tsan_atomic128_compare_exchange_val(volatile dc_a128 *a, dc_a128 c, dc_a128 v, int mo,
                                              int fmo)
{
	(void)mo, (void)fmo;
	ahook((const void *)a, 16, DC_ACC_WRITE, mo, 1, PC());
	cas128(a, &c, v);
	return c;
}

void __tsan_atomic_thread_fence(int mo);
void __tsan_atomic_thread_fence(int mo)
{
	(void)mo;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void __tsan_atomic_signal_fence(int mo);
void __tsan_atomic_signal_fence(int mo)
{
	(void)mo;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* --- C library reads of simulated memory ----------------------------------------------------
 * memcmp, memchr and the str* routines run in the host C library, which is not instrumented:
 * called on simulated memory they would read the cached window as it is, stale where a line is
 * not cached and DMA has since written memory.  dmacoh-cc renames a module's calls to these,
 * which first read every byte the routine looks at through the model (a line not cached is
 * filled from memory then), and then call the library. */

/* Reads [p, p + max) through the model one line at a time, the lines in the windows; with stop
 * 0, only up to the first NUL (included).  Returns the bytes before that NUL, else max.  One
 * walker for the mem* routines (stop -1) and the str* ones (stop 0, max often SIZE_MAX). */
static size_t read_through_until(struct dc_machine *m, const void *p, size_t max, int stop,
                                 const void *pc)
{
	if (!m)
		return stop < 0 ? max : strnlen(p, max);
	if (stop < 0 && !touches_windows(m, p, max))
		return max;
	uint32_t ls = m->cache.line_size;
	const char *s = p;
	size_t n = 0;
	while (n < max) {
		const char *b = s + n;
		size_t k = DC_MIN(max - n, (size_t)(ls - ((uintptr_t)b & (ls - 1))));
		if (touches_windows(m, b, k))
			dc_cpu_ref(m, b, k, DC_ACC_READ, pc);
		const char *z = stop < 0 ? NULL : memchr(b, stop, k);
		if (z)
			return n + (size_t)(z - b);
		n += k;
	}
	return max;
}

static void read_through(struct dc_machine *m, const void *p, size_t n, const void *pc)
{
	read_through_until(m, p, n, -1, pc);
}

/* The length of the string at s (at most max), its bytes and NUL read through the model. */
static size_t strnlen_through(struct dc_machine *m, const char *s, size_t max, const void *pc)
{
	return read_through_until(m, s, max, 0, pc);
}

static int do_memcmp(const void *a, const void *b, size_t n, const void *pc)
{
	read_through(cur, a, n, pc);
	read_through(cur, b, n, pc);
	return memcmp(a, b, n);
}

int __dc_memcmp(const void *a, const void *b, size_t n);
int __dc_memcmp(const void *a, const void *b, size_t n)
{
	return do_memcmp(a, b, n, PC());
}

int __dc_bcmp(const void *a, const void *b, size_t n);
int __dc_bcmp(const void *a, const void *b, size_t n)
{
	return do_memcmp(a, b, n, PC());
}

void *__dc_memchr(const void *s, int c, size_t n);
void *__dc_memchr(const void *s, int c, size_t n)
{
	read_through(cur, s, n, PC());
	return memchr(s, c, n);
}

size_t __dc_strlen(const char *s);
size_t __dc_strlen(const char *s)
{
	return strnlen_through(cur, s, SIZE_MAX, PC());
}

size_t __dc_strnlen(const char *s, size_t max);
size_t __dc_strnlen(const char *s, size_t max)
{
	return strnlen_through(cur, s, max, PC());
}

int __dc_strcmp(const char *a, const char *b);
int __dc_strcmp(const char *a, const char *b)
{
	const void *pc = PC();
	strnlen_through(cur, a, SIZE_MAX, pc);
	strnlen_through(cur, b, SIZE_MAX, pc);
	return strcmp(a, b);
}

int __dc_strncmp(const char *a, const char *b, size_t n);
int __dc_strncmp(const char *a, const char *b, size_t n)
{
	const void *pc = PC();
	strnlen_through(cur, a, n, pc);
	strnlen_through(cur, b, n, pc);
	return strncmp(a, b, n);
}

char *__dc_strchr(const char *s, int c);
char *__dc_strchr(const char *s, int c)
{
	strnlen_through(cur, s, SIZE_MAX, PC());
	return strchr(s, c);
}

char *__dc_strrchr(const char *s, int c);
char *__dc_strrchr(const char *s, int c)
{
	strnlen_through(cur, s, SIZE_MAX, PC());
	return strrchr(s, c);
}

char *__dc_strstr(const char *h, const char *n);
char *__dc_strstr(const char *h, const char *n)
{
	const void *pc = PC();
	strnlen_through(cur, h, SIZE_MAX, pc);
	strnlen_through(cur, n, SIZE_MAX, pc);
	return strstr(h, n);
}

char *__dc_strcpy(char *d, const char *src);
char *__dc_strcpy(char *d, const char *src)
{
	const void *pc = PC();
	do_memmove(d, src, strnlen_through(cur, src, SIZE_MAX, pc) + 1, pc);
	return d;
}

/* strncpy: the string's bytes, then NULs up to n. */
char *__dc_strncpy(char *d, const char *src, size_t n);
char *__dc_strncpy(char *d, const char *src, size_t n)
{
	const void *pc = PC();
	size_t k = strnlen_through(cur, src, n, pc);
	do_memmove(d, src, k, pc);
	do_memset(d + k, 0, n - k, pc);
	return d;
}

char *__dc_strcat(char *d, const char *src);
char *__dc_strcat(char *d, const char *src)
{
	const void *pc = PC();
	size_t k = strnlen_through(cur, d, SIZE_MAX, pc);
	do_memmove(d + k, src, strnlen_through(cur, src, SIZE_MAX, pc) + 1, pc);
	return d;
}
