/* The Win32 layer's kernel side: what an application's CreateFile, ReadFile, WriteFile,
 * DeviceIoControl, CancelIo(Ex), CloseHandle, events and waits do in the kernel, shared by the
 * Win32 routines a test application calls (<dmacoh/app/windows.h>, win32.c, win32_sync.c),
 * the built-in workload (workload.c opens its device and closes it through here) and the
 * application loader (win32_app.c).
 *
 * One application thread (thread 0, the host thread), handles in one table per system.
 * Requests are IRPs built by the I/O manager's code (io.c, dc_sys_build_*), sent on the
 * handle's FILE_OBJECT; a completed request is finished (buffered output copied back, MDL
 * unlocked, OVERLAPPED written) the next time the application enters the layer, as Windows
 * finishes it in an APC on the requesting thread.
 *
 * Deliberately not modelled: several application threads or processes, I/O completion ports,
 * APCs (ReadFileEx), security and sharing checks, file positions beyond a per-handle byte
 * offset for synchronous reads and writes. */
#ifndef DC_KERNEL_WIN32_H
#define DC_KERNEL_WIN32_H

#include "kernel.h"

/* What the application did, for the summary. */
struct dc_w32_stats {
	uint64_t irps;      /* read, write and device-control requests sent */
	uint64_t cancelled; /* completed with STATUS_CANCELLED */
	uint64_t failed;    /* completed with another error status */
	uint64_t hung;      /* still pending when the application ended (after CancelIo) */
	uint64_t deadlocks; /* waits that nothing could ever satisfy */
	uint64_t handles;   /* handles the application left open (closed for it) */
};

struct dc_w32;
/* The system's Win32 state, created on first use (NULL when memory runs out). */
struct dc_w32 *dc_w32_get(struct dc_sys *s);
/* Frees the state (dc_sys_destroy). */
void dc_w32_destroy(struct dc_sys *s);

/* --- Handles -------------------------------------------------------------------------------- */
/* Opens the device stack whose top is `top` (IRP_MJ_CREATE on a new FILE_OBJECT); *h is the
 * handle.  The driver's failure status is returned (and no handle made). */
NTSTATUS dc_w32_open(struct dc_sys *s, PDEVICE_OBJECT top, bool overlapped, HANDLE *h);
/* The FILE_OBJECT behind a file handle (NULL: not one). */
void *dc_w32_file_object(struct dc_sys *s, HANDLE h);
/* CloseHandle's kernel side for any handle; false if h is not a handle. */
bool dc_w32_close(struct dc_sys *s, HANDLE h);
/* The application ended: cancels what its handles still have pending, closes them, runs
 * simulated time (up to timeout_ns) for the cancelled requests to complete, and counts those
 * that never do as hung. */
void dc_w32_app_end(struct dc_sys *s, uint64_t timeout_ns);
const struct dc_w32_stats *dc_w32_stats(struct dc_sys *s);

/* --- Inside the layer (win32*.c) -------------------------------------------------------------- */
struct dc_w32 *dc_w32_enter(void); /* the current system's state, requests reaped */
void dc_w32_set_error(struct dc_w32 *w, uint32_t err);
uint32_t dc_w32_last_error(struct dc_w32 *w);
void dc_w32_reap(struct dc_w32 *w);                  /* finishes the completed requests */
PKEVENT dc_w32_waitable(struct dc_w32 *w, HANDLE h); /* event or file handle's KEVENT */
struct dc_sys *dc_w32_sys(struct dc_w32 *w);
void dc_w32_count_deadlock(struct dc_w32 *w);

#endif
