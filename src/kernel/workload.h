/* Workloads: the application side of `dmacoh run` — a seeded mix of IRPs (read, write, device
 * control) of chosen sizes and buffer alignments, some outstanding at once, with every byte
 * verified end to end against the device's backing store (block devices) or against the frames
 * sent (frame devices, which loop frames back).
 *
 * A workload string is comma-separated key=value pairs, e.g.
 *     count=1000,read=50,write=45,ioctl=5,size=512-65536,align=any,outstanding=4,seed=7
 * Keys: count (IRPs), read / write / ioctl (relative weights; the ioctl is driver.h's
 * IOCTL_DMACOH_QUERY_CAPACITY, sent only to a driver that opted into it: one that declares
 * DMACOH_DRIVER, whose conventions include it, or when the string gives ioctl=W), size (N or
 * MIN-MAX bytes; block devices round to their sector), align (any | line | page | an offset 0-4095
 * of the buffer in its first page), zone (any | isa | dma32 | high: where application buffers
 * live), outstanding (IRPs in flight at once, 1-64), seed, fault (every Nth read or write meets an
 * injected transfer error: on a block device it must fail, with Information 0 — with several
 * requests outstanding, one of the batch it was armed in; on a stream device the driver must
 * recover and the request succeed; 0 = never; refused on a device whose model says no_fault,
 * e.g. one whose frames are looped back).
 * Numbers are plain decimal (size also takes K and M); anything else is refused with one
 * line, as is a workload that moves no data.  Outstanding requests use disjoint parts of the
 * store, so the expected contents never depend on the order the driver serves them in.
 *
 * The workload is an application of the Win32 layer (win32.h): it opens the device (IRP_MJ_CREATE
 * on a FILE_OBJECT), sends its requests on that file as ReadFile, WriteFile and DeviceIoControl
 * build them (io.c), and closes it (IRP_MJ_CLEANUP, IRP_MJ_CLOSE); a driver with no
 * IRP_MJ_CREATE routine gets the requests without a file.  A device's capacity is its
 * backing store's size, from the device model, never from the driver.
 *
 * Verification streams: a block device's expected contents are one copy of its store, a frame
 * or stream device's only what is in flight or not yet played, so memory stays flat in the
 * number of IRPs. */
#ifndef DC_KERNEL_WORKLOAD_H
#define DC_KERNEL_WORKLOAD_H

#include "sys.h"

/* What the workload saw go wrong with one IRP (see dc_workload.on_result). */
enum dc_irp_outcome { DC_IRP_WRONG_DATA, DC_IRP_HUNG, DC_IRP_FAILED };
struct dc_irp_result {
	enum dc_irp_outcome outcome;
	uint64_t irp;     /* 1-based number in the workload */
	const char *kind; /* "read", "write", "ioctl" */
	uint8_t major;    /* IRP_MJ_* */
	uint64_t offset, length;
	NTSTATUS status;                        /* DC_IRP_HUNG: 0 */
	uint64_t bad_bytes, store_off, buf_off; /* DC_IRP_WRONG_DATA: the first wrong byte */
	uint8_t want, got;
	uint64_t time; /* simulated ns when it was seen */
};
typedef void (*dc_run_result_fn)(void *opaque, const struct dc_irp_result *r);

#define DC_ALIGN_ANY (-1)
#define DC_ALIGN_LINE (-2)

struct dc_workload {
	uint64_t count;
	unsigned w_read, w_write, w_ioctl;
	bool
	    ioctl_given; /* the string said ioctl=W: send them whether the driver opted in or not */
	uint32_t size_min, size_max; /* 0: the device's default */
	int align;                   /* DC_ALIGN_*, or an offset in the page */
	enum dc_zone zone;
	unsigned outstanding;
	uint64_t seed;
	uint64_t fault;
	uint64_t
	    cancel; /* every Nth data request is cancelled once sent (block devices); 0: none */
	dc_run_result_fn on_result;
	void *result_opaque;
};

/* The keys of a workload string, for the parser and for `dmacoh run --help`. */
struct dc_workload_key {
	const char *name;  /* "count" */
	const char *value; /* what it takes: "N", "any|line|page|N" */
	uint64_t min, max; /* a plain decimal number key's range; max 0: not a number key */
	const char *range; /* a number key's range in its error message */
	const char *help;  /* what it does and its constraints ('\n' between lines) */
};
const struct dc_workload_key *dc_workload_keys(size_t *n);

void dc_workload_default(struct dc_workload *w);
/* Applies a workload string over *w.  DC_ERR_PARSE with one line in err ("workload: ..."),
 * also for a workload that moves no data (count=0, no read or write weight). */
int dc_workload_parse(const char *text, struct dc_workload *w, char *err, size_t errlen);

struct dc_run_stats {
	uint64_t irps, reads, writes, ioctls, bytes;
	uint64_t failed;     /* completed with an error status the workload did not expect */
	uint64_t faults;     /* transfer errors injected (their IRPs are expected to fail) */
	uint64_t cancelled;  /* cancel=N: requests that ended STATUS_CANCELLED (not failures) */
	uint64_t false_ok;   /* an injected error reported as success, or Information != 0 */
	uint64_t hung;       /* never completed (the run stops there) */
	uint64_t mismatched; /* completed with success but wrong data */
	uint64_t bad_bytes;  /* wrong bytes in all */
	/* The first mismatch: which IRP (1-based), its kind, the store offset and buffer offset of
	 * its first wrong byte, and the byte expected and seen. */
	uint64_t first_irp;
	const char *first_kind;
	uint64_t first_store_off, first_buf_off;
	uint8_t first_want, first_got;
	uint64_t sim_ns;
	/* A test application's run (`dmacoh run --app`): what main returned or exit() was given,
	 * and what its requests did (win32.h's dc_w32_stats). */
	bool app_ran;
	int app_exit;
	uint64_t app_irps, app_cancelled, app_failed, app_hung, app_deadlocks;
	/* --schedule (dc_sys_schedule_stats): points, switches, the interleaving's hash. */
	uint64_t sched_points, sched_switches, sched_trace;
};

/* Called every so often with IRPs done so far; returning true stops the run early. */
typedef bool (*dc_run_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/* Runs w against the started device d (top of its stack: top).  Returns DC_OK (the stats say
 * what happened), or DC_ERR_NOMEM / DC_ERR_INVAL (a workload the device cannot take, e.g. a size
 * above the store; err says why). */
int dc_run_workload(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top,
                    const struct dc_workload *w, struct dc_run_stats *st, dc_run_progress_fn fn,
                    void *opaque, char *err, size_t errlen);

#endif
