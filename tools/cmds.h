/* The subcommands of the dmacoh tool.  Each lives in tools/cmd_<name>.c and returns the exit
 * status: 0 clean, 1 findings or corruption, 2 usage or input error.  Only tools/ print or
 * exit. */
#ifndef DC_TOOLS_CMDS_H
#define DC_TOOLS_CMDS_H

int dc_cmd_list(int argc, char **argv);     /* cmd_list.c */
int dc_cmd_platform(int argc, char **argv); /* cmd_platform.c */
int dc_cmd_demo(int argc, char **argv);     /* cmd_demo.c */
int dc_cmd_explain(int argc, char **argv);  /* cmd_explain.c */
int dc_cmd_run(int argc, char **argv);      /* cmd_run.c */
int dc_cmd_torture(int argc, char **argv);  /* cmd_torture.c */

#include <stddef.h>
/* Where driver modules are: DMACOH_DRIVER_DIR, or drivers/ beside the dmacoh binary. */
const char *dc_tool_driver_dir(char *buf, size_t len); /* cmd_run.c */
/* The driver modules in dir: up to max file names without ".so", sorted, each strdup'ed (the
 * caller frees them).  Returns the count, -1 if dir cannot be read. */
int dc_tool_driver_modules(const char *dir, char **names, size_t max); /* cmd_run.c */

/* One driver on one machine with the sanitizer (session.c): what `dmacoh run` and each cell of
 * the demo table do. */
#include "dmacoh/check.h"
#include "kernel/sys.h"
#include "kernel/workload.h"
struct dc_tool_session {
	struct dc_sys *s;
	struct dc_check *chk;
	struct dc_driver *drv;
	struct dc_sysdev *d;
	char name[64];       /* the module's name ("sysdma-bug-C07"), "" without driver info */
	char device[64];     /* the device model used */
	bool failed_routine; /* DriverEntry failed (an R03 finding was recorded before close) */
	bool legacy;         /* no AddDevice after DriverEntry: hosted NT4-style, no PnP IRPs */
	/* The Win32 name the workload opens (\\.\NAME), NULL: the started stack's top (PnP) or,
	 * for a legacy driver, its one \DosDevices link, else its one device. */
	const char *open;
	char opened[128]; /* what was opened, for the summary ("" before the run) */
	/* Run after the workload on the started device, before its removal (a test application:
	 * `dmacoh run --app`); no_workload: only that. */
	int (*after)(void *opaque, struct dc_tool_session *t);
	void *after_opaque;
	bool no_workload;
};
/* Builds the machine (current) and a checker with co, loads the module at path and adds
 * `device` (NULL: the one the module names).  On error everything is freed and err holds one
 * line; DC_ERR_* is returned. */
int dc_tool_session_open(struct dc_tool_session *t, const struct dc_platform *plat,
                         const struct dc_check_opts *co, const char *path, const char *device,
                         char *err, size_t errlen);
/* The two halves of dc_tool_session_open: the machine and the checker; then the module and its
 * device (on error of _load the session stays open: close it). */
int dc_tool_session_build(struct dc_tool_session *t, const struct dc_platform *plat,
                          const struct dc_check_opts *co, char *err, size_t errlen);
int dc_tool_session_load(struct dc_tool_session *t, const char *path, const char *device, char *err,
                         size_t errlen);
/* Starts the device through PnP (a legacy driver: nothing, it made its devices in DriverEntry),
 * opens t->open or the default, runs w, removes the device (PnP) and unloads the driver (its
 * DriverUnload always runs).  DC_OK, or the error with one line in err: DC_ERR_STATE
 * (START_DEVICE failed), DC_ERR_INVAL (a workload the device cannot take), DC_ERR_NOTFOUND
 * (nothing to open: --open names nothing, a legacy driver made no device or several),
 * others from dc_run_workload (the run stopped; stats so far). */
int dc_tool_session_run(struct dc_tool_session *t, const struct dc_workload *w,
                        struct dc_run_stats *rs, dc_run_progress_fn progress, void *opaque,
                        char *err, size_t errlen);
/* Frees the checker and the system. */
void dc_tool_session_close(struct dc_tool_session *t);
/* A workload result as a finding (R01 wrong data; R02 hung, R03 failed with a note: the IRP,
 * its status by name, the driver's last DbgPrint lines); the note also to *note when not NULL
 * (R02/R03 only).  What dc_tool_session_run does with results unless w->on_result is set. */
void dc_tool_irp_result(struct dc_tool_session *t, const struct dc_irp_result *r,
                        struct dc_irp_note *note);
/* A note with the driver's last DbgPrint lines (ends a pending partial line) and no status. */
void dc_tool_note(struct dc_tool_session *t, struct dc_irp_note *n);
/* Sets the note's status: its name and Win32 error where known. */
void dc_tool_note_status(struct dc_irp_note *n, NTSTATUS st);
/* "STATUS_INSUFFICIENT_RESOURCES (0xC000009A)", or "0x...." for a status without a name. */
const char *dc_tool_status_str(NTSTATUS st, char *buf, size_t len);

/* The demo's table of every driver module on every platform; 1 if one is not as expected. */
int dc_demo_drivers_table(void); /* demo_table.c */

#endif
