/* Shared vocabulary of every dmacoh layer: error codes, the always-on invariant check,
 * and small helpers.  Three kinds of failure are never mixed (STYLE.md): simulator
 * invariants (DC_ASSERT, always on, abort), recoverable errors (a negative dc_err),
 * driver bugs (sanitizer findings, never an abort). */
#ifndef DMACOH_COMMON_H
#define DMACOH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dc_err {
	DC_OK = 0,
	DC_ERR_NOMEM = -1,    /* host or simulated memory exhausted */
	DC_ERR_INVAL = -2,    /* bad argument */
	DC_ERR_RANGE = -3,    /* address or size outside what the machine has */
	DC_ERR_IO = -4,       /* host I/O failed (memfd, file) */
	DC_ERR_PARSE = -5,    /* malformed input file */
	DC_ERR_BUSY = -6,     /* resource in use */
	DC_ERR_NOTFOUND = -7, /* no such name */
	DC_ERR_STATE = -8,    /* not possible in the current state (a driver refused, ...) */
	DC_ERR_TIMEOUT = -9,  /* simulated time ran out */
};
const char *dc_err_name(int err);

void dc_assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));
#define DC_ASSERT(e) ((e) ? (void)0 : dc_assert_fail(#e, __FILE__, __LINE__, __func__))

#define DC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define DC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DC_LIKELY(x) __builtin_expect(!!(x), 1)
#define DC_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define DC_PAGE_SHIFT 12
#define DC_PAGE_SIZE (1u << DC_PAGE_SHIFT)
#define DC_PAGE_MASK ((uint64_t)DC_PAGE_SIZE - 1)

/* An invalid physical address (no frame behind a virtual page). */
#define DC_PA_INVALID UINT64_MAX

/* Direction of a data movement, named from memory's point of view as Windows does:
 * a "read operation" moves device data into memory. */
enum dc_dir {
	DC_DIR_TO_DEVICE,   /* memory -> device (a Windows "write") */
	DC_DIR_FROM_DEVICE, /* device -> memory (a Windows "read") */
};
const char *dc_dir_name(enum dc_dir d);

#ifdef __cplusplus
}
#endif

#endif
