/* Helpers shared by the cachegrind cross-check (xc_check.c) and the benchmarks (bench/): run a
 * program with its output in files, read a cachegrind out file for the stream lines of one
 * function, turn an xc_stream run into a trace of references, and replay a trace through
 * dmacoh's cache model (tag-only: no memory behind it). */
#ifndef XC_LIB_H
#define XC_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A two-level geometry as cachegrind takes it (D1 and LL; one line size for both, as the
 * model requires). */
struct xc_geom {
	uint64_t l1_size;
	uint32_t l1_ways;
	uint64_t ll_size;
	uint32_t ll_ways;
	uint32_t line;
};

/* cachegrind's data events, in the model's vocabulary: level-1 and last-level misses. */
struct xc_counts {
	uint64_t dr, d1mr, dlmr;
	uint64_t dw, d1mw, dlmw;
};

enum xc_kind {
	XC_COPY,
	XC_RANDOM,
};

/* One repetition as xc_stream printed it. */
struct xc_run {
	enum xc_kind kind;
	uint64_t src, dst;                  /* copy: both buffers; random: src is the buffer */
	uint64_t words, passes, refs, seed; /* passes: copy only */
	uint64_t ns;                        /* the stream function's wall time in that run */
};

/* Trace entries: an 8-byte-aligned address, bit 0 set for a write. */
#define XC_TRACE_WRITE UINT64_C(1)

/* Runs argv[0] (searched in PATH) with stdout and stderr sent to the two files (NULL: keep).
 * Returns its exit status, or -1 if it could not be run or was killed. */
int xc_spawn(char *const argv[], const char *out_path, const char *err_path);

/* Parses one line of xc_stream output.  Returns false if it is not one. */
bool xc_parse_run(const char *line, struct xc_run *r);
/* Reads every run line of a file; returns the number read (at most max), -1 on I/O error. */
int xc_read_runs(const char *path, struct xc_run *runs, int max);

/* Sums, in a cachegrind out file, the events of function fn (or its compiler clones fn.*) on
 * the lines of src_path marked "xc:stream" into *stream, and on its other lines into *other.
 * desc (if not NULL) receives the file's "desc: D1…" and "desc: LL…" texts, so the caller can
 * check that cachegrind simulated the geometry it was given.  Returns 0, or -1 with a message
 * in err. */
int xc_cg_read(const char *cg_path, const char *src_path, const char *fn, struct xc_counts *stream,
               struct xc_counts *other, char desc[2][160], char *err, size_t errlen);

/* The references of a run, in program order; returns the count.  trace may be NULL (count only). */
size_t xc_trace(const struct xc_run *r, uint64_t *trace);

/* Replays a trace through a fresh two-level dmacoh cache of geometry g.  Returns 0, or a negative
 * dc_err if the model rejects the geometry. */
int xc_replay_model(const uint64_t *trace, size_t n, const struct xc_geom *g,
                    struct xc_counts *out);

/* "32K/8-way/64" style text of a level. */
void xc_level_str(uint64_t size, uint32_t ways, uint32_t line, char *buf, size_t len);

#endif
