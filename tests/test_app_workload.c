/* The built-in workload as an application of the Win32 layer: it opens the device (one
 * IRP_MJ_CREATE), sends every request on that FILE_OBJECT, closes it (IRP_MJ_CLEANUP then
 * IRP_MJ_CLOSE), and never sends IOCTL_DMACOH_QUERY_CAPACITY to a driver that did not opt into
 * it (no DMACOH_DRIVER) unless the workload string asks for ioctls. */
#include <string.h>

#include "dctest.h"
#include "kernel/sys.h"
#include "kernel/workload.h"

/* A driver with no dmacoh_driver_info that counts what reaches it and completes reads and
 * writes with success without moving anything (the workload then sees wrong data: not what
 * this test is about). */
static struct {
	unsigned major[IRP_MJ_MAXIMUM_FUNCTION + 1];
	void *files[4];
	unsigned n_files;
	PDEVICE_OBJECT lower;
} seen;

static NTSTATUS count_dispatch(PDEVICE_OBJECT dev, PIRP irp)
{
	(void)dev;
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	seen.major[sp->MajorFunction]++;
	bool known = false;
	for (unsigned i = 0; i < seen.n_files; i++)
		known |= seen.files[i] == sp->FileObject;
	if (!known && seen.n_files < 4)
		seen.files[seen.n_files++] = sp->FileObject;
	irp->IoStatus.Status = STATUS_SUCCESS;
	irp->IoStatus.Information =
	    sp->MajorFunction == IRP_MJ_READ || sp->MajorFunction == IRP_MJ_WRITE
	        ? sp->Parameters.Read.Length
	        : 0;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

static NTSTATUS count_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	UCHAR minor = sp->MinorFunction;
	IoSkipCurrentIrpStackLocation(irp);
	NTSTATUS st = IoCallDriver(seen.lower, irp);
	if (minor == IRP_MN_REMOVE_DEVICE) {
		IoDetachDevice(seen.lower);
		IoDeleteDevice(dev);
	}
	return st;
}

static NTSTATUS count_add(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
	PDEVICE_OBJECT fdo;
	NTSTATUS st = IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &fdo);
	if (!NT_SUCCESS(st))
		return st;
	seen.lower = IoAttachDeviceToDeviceStack(fdo, pdo);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS count_entry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
	(void)reg;
	for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
		drv->MajorFunction[i] = count_dispatch;
	drv->MajorFunction[IRP_MJ_PNP] = count_pnp;
	drv->DriverExtension->AddDevice = count_add;
	return STATUS_SUCCESS;
}

static void run_counting(const char *spec, struct dc_run_stats *rs)
{
	memset(&seen, 0, sizeof(seen));
	struct dc_platform p;
	struct dc_sys *s = NULL;
	struct dc_sysdev *d = NULL;
	struct dc_driver *drv = NULL;
	PDEVICE_OBJECT top = NULL;
	struct dc_workload w;
	char err[256];
	dc_workload_default(&w);
	if (dc_platform_builtin("noncoherent", &p) || dc_sys_create(&p, &s) ||
	    dc_workload_parse(spec, &w, err, sizeof(err)) ||
	    dc_sys_add_device(s, "sysblk", NULL, &d) ||
	    dc_sys_load_entry(s, "counting", count_entry, &drv, NULL) ||
	    dc_sys_start_device(s, drv, d, &top, NULL) ||
	    dc_run_workload(s, d, top, &w, rs, NULL, NULL, err, sizeof(err)))
		memset(rs, 0xFF, sizeof(*rs));
	if (s) {
		if (top)
			dc_sys_remove_device(s, d, NULL);
		if (drv)
			dc_sys_unload(s, drv);
		dc_sys_destroy(s);
	}
}

DC_TEST(workload_no_ioctl_to_a_driver_that_did_not_opt_in)
{
	struct dc_run_stats rs;
	/* The default mix has ioctl=5: none of them for this driver. */
	run_counting("count=200,size=512-4096", &rs);
	CHECK_EQ(rs.irps, 200);
	CHECK_EQ(rs.ioctls, 0);
	CHECK_EQ(seen.major[IRP_MJ_DEVICE_CONTROL], 0);
	CHECK_EQ(seen.major[IRP_MJ_READ] + seen.major[IRP_MJ_WRITE], 200);
	/* Asked for explicitly: sent. */
	run_counting("count=200,size=512-4096,ioctl=50", &rs);
	CHECK(rs.ioctls > 0);
	CHECK_EQ(seen.major[IRP_MJ_DEVICE_CONTROL], rs.ioctls);
}

DC_TEST(workload_opens_and_closes_the_device_as_an_application)
{
	struct dc_run_stats rs;
	run_counting("count=20,size=512-4096", &rs);
	CHECK_EQ(rs.irps, 20);
	CHECK_EQ(seen.major[IRP_MJ_CREATE], 1);
	CHECK_EQ(seen.major[IRP_MJ_CLEANUP], 1);
	CHECK_EQ(seen.major[IRP_MJ_CLOSE], 1);
	/* Every request on the one FILE_OBJECT the CREATE made. */
	CHECK_EQ(seen.n_files, 1);
	CHECK(seen.files[0] != NULL);
}
