/* Strict parsing of numbers and values, shared by every parser of user text (workload strings,
 * DMACOH_OPTIONS, platform profiles): digits only — no sign, no blanks, no empty value, no
 * silent wrap on overflow — with optional units, and a quoting helper that keeps a bad value
 * on one line of an error message.
 *
 * Deliberately not here: key=value splitting (each format has its own syntax), floating point
 * (only platform profiles have it). */
#ifndef DC_HW_PARSE_H
#define DC_HW_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* What a number may carry (flags, or-ed). */
#define DC_NUM_HEX 0x1u  /* 0x prefix allowed */
#define DC_NUM_SIZE 0x2u /* unit k/m/g/t (1024-based), optional "iB": 64K, 64KiB */
#define DC_NUM_RATE 0x4u /* unit k/m/g/t (1000-based) */

/* Parses all of s as an unsigned number <= max.  DC_OK (*out set), DC_ERR_PARSE (not a
 * number: empty, a sign, a blank, a stray character) or DC_ERR_RANGE (above max, including
 * overflow of 64 bits). */
int dc_parse_u64(const char *s, unsigned flags, uint64_t max, uint64_t *out);
/* The same on the n bytes at s (they need not be NUL-terminated). */
int dc_parse_u64n(const char *s, size_t n, unsigned flags, uint64_t max, uint64_t *out);

/* Copies s into dst (size n >= 4) for an error message: control characters become \n, \t,
 * \r or \xHH, and a value too long ends in "...", so the message stays on one line. */
const char *dc_parse_quote(char *dst, size_t n, const char *s);

#endif
