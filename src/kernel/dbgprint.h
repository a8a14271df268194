/* Driver debug output (DbgPrint, DbgPrintEx, KdPrint, KdPrintEx): always captured per system,
 * bounded — the last DC_DBG_RING whole lines (each cut at DC_DBG_LINE bytes) with the simulated
 * time each was completed, and counts of everything — and passed as it is made to up to
 * DC_DBG_SINKS sinks (the tool's live display, the trace).  A line is what ends in '\n'; text
 * after the last newline waits for the rest of its line (dc_dbgprint_flush ends it).
 *
 * The filter is Windows' default one (Vista and later, no component mask set): DbgPrintEx and
 * KdPrintEx pass when their level includes DPFLTR_ERROR_LEVEL (Level 0, or a mask above 31 with
 * bit 0 set: Kd_WIN2000_Mask is 1 and every component mask 0); the rest are counted as filtered.
 * DbgPrint and KdPrint always pass, as a debugger with Kd_DEFAULT_Mask set shows them (Windows
 * Vista would filter them as DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL); a driver author
 * reading a failure wants them).
 *
 * Deliberately not modelled: vDbgPrintEx(WithPrefix), component masks other than the default,
 * DbgPrompt; a %s argument pointing into simulated memory is read directly, not through the
 * cache model (a string the driver wrote but did not flush may show its memory copy). */
#ifndef DC_KERNEL_DBGPRINT_H
#define DC_KERNEL_DBGPRINT_H

#include "dmacoh/common.h"

#define DC_DBG_RING 64  /* whole lines kept per system */
#define DC_DBG_LINE 240 /* bytes of a line kept (a longer one is cut and counted) */
#define DC_DBG_SINKS 4

struct dc_sys;

struct dc_dbg_line {
	uint64_t seq;           /* 1-based number of the line in the run */
	uint64_t time;          /* simulated ns when its newline came */
	char text[DC_DBG_LINE]; /* without the newline */
};

struct dc_dbg_stats {
	uint64_t lines;     /* whole lines captured */
	uint64_t filtered;  /* DbgPrintEx calls the default filter dropped */
	uint64_t truncated; /* lines cut at DC_DBG_LINE bytes */
	uint64_t bytes;     /* bytes captured (filtered calls excluded) */
};

/* Called with every whole line as it is completed (text without the newline). */
typedef void (*dc_dbg_sink_fn)(void *opaque, const struct dc_dbg_line *l);
/* DC_ERR_BUSY when DC_DBG_SINKS are attached, DC_ERR_NOMEM. */
int dc_dbgprint_add_sink(struct dc_sys *s, dc_dbg_sink_fn fn, void *opaque);
void dc_dbgprint_remove_sink(struct dc_sys *s, dc_dbg_sink_fn fn, void *opaque);

/* Output of the driver: text as formatted (any number of lines, or part of one). */
void dc_dbgprint_text(struct dc_sys *s, const char *text);
/* The default filter for DbgPrintEx(ComponentId, Level): true if Windows would send it. */
bool dc_dbgprint_passes(uint32_t component, uint32_t level);
/* Counts a DbgPrintEx the filter dropped. */
void dc_dbgprint_filtered(struct dc_sys *s);
/* Ends a pending partial line (as if its newline came now). */
void dc_dbgprint_flush(struct dc_sys *s);

/* The last (up to) n lines kept, oldest first, into out[]; returns how many. */
size_t dc_dbgprint_last(struct dc_sys *s, size_t n, struct dc_dbg_line *out);
void dc_dbgprint_stats(struct dc_sys *s, struct dc_dbg_stats *st);
/* Frees the system's capture (dc_sys_destroy). */
void dc_dbgprint_free(struct dc_sys *s);

/* "STATUS_INSUFFICIENT_RESOURCES" for the NTSTATUS values <dmacoh/wdm.h> defines (the first
 * name of a value with several), NULL for others (ntstatus.c). */
const char *dc_ntstatus_name(int32_t status);

#endif
