/* The pieces of `dmacoh run` that the supervised and the single-process run share
 * (cmd_run.c), and the supervisor (supervise.c, docs/supervise.md). */
#ifndef DC_TOOLS_SUPERVISE_H
#define DC_TOOLS_SUPERVISE_H

#include <time.h>

#include "dmacoh/check.h"
#include "dmacoh/platform.h"
#include "kernel/dbgprint.h"
#include "kernel/trace.h"
#include "kernel/workload.h"
#include "cmds.h"

/* A failed or hung IRP the summary names (its note: number, major function, offset, length,
 * status, the driver's last DbgPrint lines). */
#define DC_RUN_IRPS_SHOWN 8
struct dc_run_irp {
	struct dc_irp_note note;
	char kind[16];
	bool hung;
	uint64_t time; /* simulated ns when the workload saw it */
};

struct dc_run_ctx {
	/* Inputs, all checked before anything runs. */
	const char *path, *device_arg, *trace_path;
	const char *open; /* --open \\.\NAME (NULL: the default) */
	/* A test application (--app FILE [-- ARGS...]) and whether --workload was given too. */
	const char *app_path;
	int app_argc;
	char **app_argv;
	bool workload_given;
	struct dc_platform plat;
	struct dc_workload wl;
	struct dc_check_opts co;
	bool quiet, deterministic;
	bool dbgprint;    /* --dbgprint, DMACOH_OPTIONS=dbgprint=1 (or DMACOH_DBGPRINT=1): live */
	unsigned timeout; /* host watchdog, seconds (0: off) */
	uint64_t max_accesses; /* simulated watchdog (0: off) */
	const char *sched;     /* --schedule (NULL: none) */
	uint64_t sched_seed;
	uint32_t sched_every;
	uint64_t sched_steps; /* PCT's k (--schedule-steps, else estimated from the workload) */
	struct timespec w0;
	/* The session (machine and checker built before the fork). */
	struct dc_tool_session t;
	struct dc_trace *tr;
	/* The outcome. */
	bool ran; /* rs and sim_ns are valid */
	struct dc_run_stats rs;
	char first_kind[16];
	uint64_t sim_ns;
	char what[1100]; /* why the run stopped early ("": it did not) */
	/* Failed and hung IRPs in the order seen: the first DC_RUN_IRPS_SHOWN, and how many in
	 * all (streamed as they happen, so a run that crashes later still names them). */
	struct dc_run_irp irps[DC_RUN_IRPS_SHOWN];
	uint64_t n_irps;
	struct dc_dbg_stats dbg; /* the driver's DbgPrint output (valid when ran) */
	char name[64], device[64];
	char err[1100]; /* an input error (exit 2) */
};

/* Loads the module (crash handlers in place first), adds its device, runs the workload and
 * unloads; fills the outcome.  0, or 2 with x->err (an input error found only now). */
int dc_run_body(struct dc_run_ctx *x);
/* Ends the trace (findings as instants) if one is open. */
void dc_run_close_trace(struct dc_run_ctx *x);
/* Writes the report (text to stderr, JSON/SARIF to stdout, or log_path) and the summary;
 * returns the exit status. */
int dc_run_finish(struct dc_run_ctx *x, struct dc_check *chk);
/* Writes the report to log_path through a temporary file renamed over it (a reader always
 * sees a whole document).  DC_ERR_IO if that failed. */
int dc_run_write_log(struct dc_check *chk, const struct dc_check_opts *co);

/* Runs dc_run_body in a child process and supervises it (supervise.c); returns the exit
 * status after writing the report. */
int dc_run_supervised(struct dc_run_ctx *x);

/* Tool records on the findings stream. */
enum { DC_REC_INFO = DC_STREAM_TOOL, DC_REC_STATS, DC_REC_ERR, DC_REC_IRP };
/* Keeps a failed or hung IRP for the summary (both processes). */
void dc_run_keep_irp(struct dc_run_ctx *x, const struct dc_run_irp *ri);

#endif
