/* One driver on one machine with the sanitizer watching: the sequence `dmacoh run` and every
 * cell of the demo table share (build the machine and the checker, load the module, add the
 * device it names, start it through PnP, run a workload, remove, unload). */
#include <stdio.h>
#include <string.h>

#include "dmacoh/driver.h"
#include "kernel/dbgprint.h"
#include "cmds.h"

int dc_tool_session_open(struct dc_tool_session *t, const struct dc_platform *plat,
                         const struct dc_check_opts *co, const char *path, const char *device,
                         char *err, size_t errlen)
{
	int e = dc_tool_session_build(t, plat, co, err, errlen);
	if (!e && (e = dc_tool_session_load(t, path, device, err, errlen)))
		dc_tool_session_close(t);
	return e;
}

int dc_tool_session_build(struct dc_tool_session *t, const struct dc_platform *plat,
                          const struct dc_check_opts *co, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	int e = dc_sys_create(plat, &t->s);
	if (e) {
		snprintf(err, errlen, "cannot build the machine: %s", dc_err_name(e));
		return e;
	}
	char msg[512] = "";
	if ((e = dc_check_create_err(dc_sys_machine(t->s), co, &t->chk, msg, sizeof(msg)))) {
		snprintf(err, errlen, "%s", *msg ? msg : dc_err_name(e));
		dc_tool_session_close(t);
		return e;
	}
	return DC_OK;
}

const void *dc_cpu_last_exit(void); /* src/hw/cpu.c */

int dc_tool_session_load(struct dc_tool_session *t, const char *path, const char *device, char *err,
                         size_t errlen)
{
	NTSTATUS st = 0;
	int e;
	if ((e = dc_sys_load_module(t->s, path, &t->drv, &st, err, errlen))) {
		if (e == DC_ERR_STATE) {
			/* DriverEntry failed: a result at the line it returned from. */
			char what[160], sb[80];
			struct dc_irp_note n;
			dc_tool_note(t, &n);
			dc_tool_note_status(&n, st);
			snprintf(what, sizeof(what), "DriverEntry failed with status %s",
			         dc_tool_status_str(st, sb, sizeof(sb)));
			dc_check_add_irp_result(t->chk, DC_RULE_R03, dc_cpu_last_exit(), false,
			                        dc_sys_now(t->s), what, &n);
			t->failed_routine = true;
		}
		return e;
	}
	/* The module's strings go away with it at unload: keep copies. */
	const struct dmacoh_driver_info *info = dc_driver_info(t->drv);
	if (info && info->name)
		snprintf(t->name, sizeof(t->name), "%s%s%s", info->name, info->bug ? "-bug-" : "",
		         info->bug ? info->bug : "");
	if (info && info->device)
		snprintf(t->device, sizeof(t->device), "%s", info->device);
	if (device)
		snprintf(t->device, sizeof(t->device), "%s", device);
	if (!*t->device) {
		snprintf(err, errlen,
		         "%s names no device: give --device NAME (see 'dmacoh list devices')",
		         path);
		return DC_ERR_INVAL;
	}
	if ((e = dc_sys_add_device(t->s, t->device, NULL, &t->d))) {
		if (e == DC_ERR_NOTFOUND)
			snprintf(err, errlen, "unknown device '%s' (see 'dmacoh list devices')",
			         t->device);
		else
			snprintf(err, errlen, "device %s: %s", t->device,
			         *dc_sys_device_error() ? dc_sys_device_error() : dc_err_name(e));
		return e;
	}
	return DC_OK;
}

/* The Win32 error an application would get from GetLastError for status (the kernel's
 * RtlNtStatusToDosError, Microsoft's documented mapping). */
static int64_t dc_tool_win32_error(NTSTATUS status)
{
	return (int64_t)RtlNtStatusToDosError(status);
}

void dc_tool_note(struct dc_tool_session *t, struct dc_irp_note *n)
{
	memset(n, 0, sizeof(*n));
	n->win32 = -1;
	if (!t->s)
		return;
	/* A line the driver has not ended yet is part of what it said before. */
	dc_dbgprint_flush(t->s);
	struct dc_dbg_line l[DC_NOTE_LINES];
	n->n_lines = (unsigned)dc_dbgprint_last(t->s, DC_NOTE_LINES, l);
	for (unsigned k = 0; k < n->n_lines; k++) {
		n->line_seq[k] = l[k].seq;
		n->line_time[k] = l[k].time;
		snprintf(n->line[k], sizeof(n->line[k]), "%s", l[k].text);
	}
}

void dc_tool_note_status(struct dc_irp_note *n, NTSTATUS st)
{
	n->has_status = true;
	n->status = st;
	const char *name = dc_ntstatus_name(st);
	snprintf(n->status_name, sizeof(n->status_name), "%s", name ? name : "");
	n->win32 = dc_tool_win32_error(st);
}

const char *dc_tool_status_str(NTSTATUS st, char *buf, size_t len)
{
	const char *name = dc_ntstatus_name(st);
	if (name)
		snprintf(buf, len, "%s (0x%08X)", name, (unsigned)st);
	else
		snprintf(buf, len, "0x%08X", (unsigned)st);
	return buf;
}

/* What the workload saw go wrong becomes a result in the report (R01, R02, R03), so JSON and
 * SARIF carry it too.  No driver location: the IRP is the place; a hung or failed IRP's note
 * says which and what the driver printed last before the workload saw it. */
void dc_tool_irp_result(struct dc_tool_session *t, const struct dc_irp_result *r,
                        struct dc_irp_note *note)
{
	struct dc_check *chk = t->chk;
	char what[240], sb[80];
	const char *kind = r->kind ? r->kind : "?";
	struct dc_irp_note local, *n = note ? note : &local;
	if (r->outcome == DC_IRP_WRONG_DATA) {
		snprintf(what, sizeof(what),
		         "IRP %llu (%s): %llu bytes wrong; first at store offset 0x%llx (byte %llu "
		         "of the buffer): expected 0x%02x, got 0x%02x",
		         (unsigned long long)r->irp, kind, (unsigned long long)r->bad_bytes,
		         (unsigned long long)r->store_off, (unsigned long long)r->buf_off, r->want,
		         r->got);
		if (chk)
			dc_check_add_result(chk, DC_RULE_R01, NULL, false, r->time, what);
		return;
	}
	dc_tool_note(t, n);
	n->irp = r->irp;
	n->major = r->major;
	n->offset = r->offset;
	n->length = r->length;
	enum dc_rule rule;
	if (r->outcome == DC_IRP_HUNG) {
		rule = DC_RULE_R02;
		snprintf(what, sizeof(what),
		         "IRP %llu (%s, offset 0x%llx, length %llu) still not completed at %llu ns",
		         (unsigned long long)r->irp, kind, (unsigned long long)r->offset,
		         (unsigned long long)r->length, (unsigned long long)r->time);
	} else {
		rule = DC_RULE_R03;
		dc_tool_note_status(n, r->status);
		snprintf(what, sizeof(what),
		         "IRP %llu (%s, offset 0x%llx, length %llu) completed with %s",
		         (unsigned long long)r->irp, kind, (unsigned long long)r->offset,
		         (unsigned long long)r->length,
		         dc_tool_status_str(r->status, sb, sizeof(sb)));
	}
	if (chk)
		dc_check_add_irp_result(chk, rule, NULL, false, r->time, what, n);
}

static void on_result(void *opaque, const struct dc_irp_result *r)
{
	dc_tool_irp_result(opaque, r, NULL);
}

int dc_tool_session_run(struct dc_tool_session *t, const struct dc_workload *w0,
                        struct dc_run_stats *rs, dc_run_progress_fn progress, void *opaque,
                        char *err, size_t errlen)
{
	struct dc_workload wl = *w0, *w = &wl;
	if (!wl.on_result && t->chk) {
		wl.on_result = on_result;
		wl.result_opaque = t;
	}
	memset(rs, 0, sizeof(*rs));
	PDEVICE_OBJECT top = NULL;
	NTSTATUS st = 0;
	int e;
	if (dc_sys_start_device(t->s, t->drv, t->d, &top, &st) != DC_OK) {
		char what[160], sb[80];
		snprintf(err, errlen, "the driver failed IRP_MN_START_DEVICE: %s",
		         dc_tool_status_str(st, sb, sizeof(sb)));
		snprintf(what, sizeof(what),
		         "AddDevice or IRP_MN_START_DEVICE failed with status %s",
		         dc_tool_status_str(st, sb, sizeof(sb)));
		struct dc_irp_note n;
		dc_tool_note(t, &n);
		dc_tool_note_status(&n, st);
		/* Located at the routine that failed (its first line): the line that chose the
		 * status is not knowable, and the return path's line is the shared epilogue's. */
		const void *at = dc_sys_start_failed_at(t->s);
		dc_check_add_irp_result(t->chk, DC_RULE_R03, at ? at : dc_cpu_last_exit(),
		                        at != NULL, dc_sys_now(t->s), what, &n);
		e = DC_ERR_STATE;
	} else {
		e = t->no_workload
		        ? DC_OK
		        : dc_run_workload(t->s, t->d, top, w, rs, progress, opaque, err, errlen);
		if (!e && t->after)
			e = t->after(t->after_opaque, t);
		dc_sys_remove_device(t->s, t->d, NULL);
	}
	dc_sys_unload(t->s, t->drv);
	return e;
}

void dc_tool_session_close(struct dc_tool_session *t)
{
	if (t->chk)
		dc_check_destroy(t->chk);
	if (t->s)
		dc_sys_destroy(t->s);
	t->chk = NULL;
	t->s = NULL;
}
