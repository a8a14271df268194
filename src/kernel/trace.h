/* A trace of a running system in the Trace Event Format (the JSON object form), which
 * ui.perfetto.dev and chrome://tracing open.  The tracer is an observer: it watches the machine
 * and the kernel and changes nothing.  Time is simulated time (ts in microseconds with three
 * decimals, i.e. exact ns); one process, one track (tid) per kind of activity:
 *   cpu cache   line fills, writebacks and lines leaving the cache (instants; only the first
 *               DC_TRACE_CACHE_MAX, then a closing instant says how many were dropped),
 *   dma         every device access to memory (instants: source, pa, len), with the counters
 *               "8237 buffer" (bytes held per busy channel, after each system DMA access) and
 *               "posted writes" (bytes in the host bridge, after each bus-master access),
 *   interrupts  ISRs (B/E slices per line),       dpcs  DPC routines (B/E slices),
 *   irps        each IRP from IoCallDriver to IoCompleteRequest (async b/e, id = a sequence
 *               number),
 *   kernel      the DMA calls of the driver (MapTransfer, FlushAdapterBuffers, ...) with their
 *               key arguments,
 *   findings    what the tool adds with dc_trace_instant,
 *   DbgPrint    each whole line of the driver's debug output that passed the filter
 *               (instant "DbgPrint", args: line = its number in the run, text; dbgprint.h).
 * The file is written as events happen (nothing is kept in memory but a few counters) and holds
 * no host pointer and no wall time: the same run gives the same bytes.
 *
 * Deliberately not traced: every CPU reference (far too many; the cache events stand for them),
 * host addresses of kernel objects (adapters are numbered in order of appearance instead). */
#ifndef DC_KERNEL_TRACE_H
#define DC_KERNEL_TRACE_H

#include "dmacoh/common.h"

#define DC_TRACE_CACHE_MAX 100000u /* cache events kept per trace */

struct dc_sys;
struct dc_trace;

/* Starts tracing system s into path (file created now).  DC_ERR_IO with err "path: reason";
 * DC_ERR_NOMEM, or the machine's error when no observer slot is left (err says so).  On error
 * nothing is left open.  Close the trace before destroying the system. */
int dc_trace_open(struct dc_sys *s, const char *path, struct dc_trace **out, char *err,
                  size_t errlen);
/* An instant event on the "findings" track (the tool adds one per sanitizer finding).  detail
 * may be NULL. */
void dc_trace_instant(struct dc_trace *t, const char *name, uint64_t time_ns, const char *detail);
/* Stops watching, writes the closing brackets and frees; DC_ERR_IO if the file could not be
 * written.  NULL does nothing. */
int dc_trace_close(struct dc_trace *t);
/* Makes the trace file at path valid JSON when the process writing it died before
 * dc_trace_close: drops a partly written last event and appends the closing.  A closed trace
 * is left alone.  DC_ERR_IO if the file cannot be read or written. */
int dc_trace_repair(const char *path);

#endif
