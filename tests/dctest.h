/* The test harness: a test is a function registered by DC_TEST; a failed CHECK ends that test
 * and records file:line and the expression.  The runner ends with "N passed, N failed". */
#ifndef DCTEST_H
#define DCTEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*dct_fn)(void);
void dct_register(const char *name, dct_fn fn, const char *file);
void dct_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool dct_failed(void);
/* Verbose diagnostics (the ASCII state diagrams): printed when the test fails or with -v. */
void dct_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define DC_TEST(name)                                                  \
	static void name(void);                                        \
	__attribute__((constructor)) static void name##_register(void) \
	{                                                              \
		dct_register(#name, name, __FILE__);                   \
	}                                                              \
	static void name(void)

#define CHECK(cond)                                                \
	do {                                                       \
		if (!(cond)) {                                     \
			dct_fail(__FILE__, __LINE__, "%s", #cond); \
			return;                                    \
		}                                                  \
	} while (0)

#define CHECK_MSG(cond, ...)                                       \
	do {                                                       \
		if (!(cond)) {                                     \
			dct_fail(__FILE__, __LINE__, __VA_ARGS__); \
			return;                                    \
		}                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                            \
	do {                                                                                      \
		uint64_t dct_a_ = (uint64_t)(a), dct_b_ = (uint64_t)(b);                          \
		if (dct_a_ != dct_b_) {                                                           \
			dct_fail(__FILE__, __LINE__, "%s == %s (0x%" PRIx64 " != 0x%" PRIx64 ")", \
			         #a, #b, dct_a_, dct_b_);                                         \
			return;                                                                   \
		}                                                                                 \
	} while (0)

#endif
