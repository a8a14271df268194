/* One driver on one machine with the sanitizer watching: the sequence `dmacoh run` and every
 * cell of the demo table share (build the machine and the checker, load the module, add the
 * device it names, run DriverEntry, start the device through PnP, run a workload, remove,
 * unload).  A legacy (NT4-style) driver, one without AddDevice, gets no PnP IRPs: it found its
 * hardware and made its devices in DriverEntry, and the workload opens one by name. */
#include <stdio.h>
#include <string.h>

#include "dmacoh/driver.h"
#include "kernel/dbgprint.h"
#include "kernel/obnames.h"
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
	/* The module first (its info names its device), then the device, then DriverEntry: the
	 * machine and its devices exist before any driver runs, as at boot, so that a legacy
	 * driver finds its hardware in DriverEntry. */
	if ((e = dc_sys_open_module(t->s, path, &t->drv, err, errlen)))
		return e;
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
	if ((e = dc_sys_init_driver(t->s, t->drv, &st))) {
		/* DriverEntry failed: a result at the line it returned from. */
		char what[160], sb[80];
		struct dc_irp_note n;
		snprintf(err, errlen, "%s: DriverEntry failed with status 0x%08X", path,
		         (unsigned)st);
		dc_tool_note(t, &n);
		dc_tool_note_status(&n, st);
		snprintf(what, sizeof(what), "DriverEntry failed with status %s",
		         dc_tool_status_str(st, sb, sizeof(sb)));
		dc_check_add_irp_result(t->chk, DC_RULE_R03, dc_cpu_last_exit(), false,
		                        dc_sys_now(t->s), what, &n);
		t->failed_routine = true;
		return e;
	}
	t->legacy = dc_sys_driver_is_legacy(t->drv);
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

/* The device object (top of its stack) the name opens, as CreateFile would reach it. */
static int open_name(struct dc_tool_session *t, const char *name, PDEVICE_OBJECT *top, char *err,
                     size_t errlen)
{
	char k[600];
	uint32_t w = dc_ob_win32_path(name, k, sizeof(k));
	if (w) {
		snprintf(err, errlen, "--open %s: not a device name (expected \\\\.\\NAME)", name);
		return DC_ERR_INVAL;
	}
	PDEVICE_OBJECT dev = NULL;
	if (!NT_SUCCESS(dc_ob_lookup_a(t->s, k, &dev))) {
		char have[400] = "";
		size_t n = 0;
		enum dc_ob_kind kind;
		PDEVICE_OBJECT d;
		char nm[160];
		for (size_t i = 0; dc_ob_entry(t->s, i, &kind, &d, nm, sizeof(nm)) && n < 300; i++)
			if (kind == DC_OB_LINK && !strncmp(nm, "\\??\\", 4))
				n += (size_t)snprintf(have + n, sizeof(have) - n, "%s\\\\.\\%s",
				                      n ? ", " : "", nm + 4);
		snprintf(err, errlen, "--open %s: no such device or symbolic link (%s%s)", name,
		         n ? "the names there are: " : "no \\DosDevices link exists", have);
		return DC_ERR_NOTFOUND;
	}
	while (dev->AttachedDevice)
		dev = dev->AttachedDevice;
	*top = dev;
	snprintf(t->opened, sizeof(t->opened), "%s", name);
	return DC_OK;
}

/* What a legacy driver's workload opens without --open: its one \DosDevices link, else its
 * one device object. */
static int legacy_target(struct dc_tool_session *t, PDEVICE_OBJECT *top, char *err, size_t errlen)
{
	PDRIVER_OBJECT drv = dc_driver_object(t->drv);
	unsigned links = 0, devs = 0;
	char link[160] = "", nm[160];
	enum dc_ob_kind kind;
	PDEVICE_OBJECT d;
	for (size_t i = 0; dc_ob_entry(t->s, i, &kind, &d, nm, sizeof(nm)); i++)
		if (kind == DC_OB_LINK && !strncmp(nm, "\\??\\", 4) && d &&
		    d->DriverObject == drv && !links++)
			snprintf(link, sizeof(link), "\\\\.\\%s", nm + 4);
	PDEVICE_OBJECT one = NULL;
	for (d = drv->DeviceObject; d; d = d->NextDevice, devs++)
		one = d;
	const char *who = *t->name ? t->name : "the driver";
	if (links == 1)
		return open_name(t, link, top, err, errlen);
	if (devs == 1) {
		while (one->AttachedDevice)
			one = one->AttachedDevice;
		*top = one;
		snprintf(t->opened, sizeof(t->opened), "its device object");
		return DC_OK;
	}
	if (!devs)
		snprintf(err, errlen,
		         "%s is a legacy driver (no AddDevice) and created no device object in "
		         "DriverEntry: nothing to open",
		         who);
	else
		snprintf(
		    err, errlen,
		    "%s created %u device objects and %u \\DosDevices links to them: say which "
		    "to open with --open \\\\.\\NAME",
		    who, devs, links);
	return DC_ERR_NOTFOUND;
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
	if (t->legacy) {
		/* NT4-style: the driver made its devices and links in DriverEntry; no PnP IRP is
		 * ever sent to it. */
		e = t->open ? open_name(t, t->open, &top, err, errlen)
		            : legacy_target(t, &top, err, errlen);
		if (!e)
			e = t->no_workload ? DC_OK
			                   : dc_run_workload(t->s, t->d, top, w, rs, progress,
			                                     opaque, err, errlen);
		if (!e && t->after)
			e = t->after(t->after_opaque, t);
	} else if (dc_sys_start_device(t->s, t->drv, t->d, &top, &st) != DC_OK) {
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
		e = t->open ? open_name(t, t->open, &top, err, errlen) : DC_OK;
		if (!e)
			e = t->no_workload ? DC_OK
			                   : dc_run_workload(t->s, t->d, top, w, rs, progress,
			                                     opaque, err, errlen);
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
