/* A minimal WDM driver that misbehaves in one way chosen at build time (-DSUP_<CASE>), for the
 * supervised run's tests (tests/test_cli_supervise.c, built by mk/supervise.mk).  The lines the
 * tests expect in reports carry a marker comment "SUP:<CASE>" that the tests look up.
 * Deliberately not a working driver: reads and writes complete with success and move nothing. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime (SUP_SLOW_DISPATCH) */
#include <dmacoh/driver.h>
#include <dmacoh/wdm.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

DMACOH_DRIVER("sup", "sysblk", "a driver that crashes, hangs or exits on purpose");

typedef struct {
	PDEVICE_OBJECT Lower;
	volatile ULONG *Pool;
} SUP_EXT;

static DRIVER_ADD_DEVICE SupAddDevice;
static DRIVER_DISPATCH SupPnp, SupRw;

#ifdef SUP_CRASH_CTOR
__attribute__((constructor)) static void SupCtor(void)
{
	*(volatile int *)(ULONG_PTR)8 = 1; /* SUP:CRASH_CTOR */
}
#endif

__attribute__((noinline)) static void SupSpin(volatile ULONG *p)
{
#ifdef SUP_LOOP_MEM
	for (;;)          /* SUP:LOOP_MEM_FOR */
		(void)*p; /* SUP:LOOP_MEM */
#else
	(void)p;
	for (;;) /* SUP:LOOP */
		;
#endif
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	(void)RegistryPath;
	volatile ULONG *pool = ExAllocatePoolWithTag(NonPagedPool, 64, 'puS');
#ifdef SUP_CRASH_ENTRY
	*(volatile int *)(ULONG_PTR)16 = 1; /* SUP:CRASH_ENTRY */
#endif
#ifdef SUP_CRASH_LIBC
	memset((void *)(ULONG_PTR)32, 0, 64); /* SUP:CRASH_LIBC */
#endif
#ifdef SUP_EXIT_ENTRY
	exit(0); /* SUP:EXIT_ENTRY */
#endif
#ifdef SUP_ENTRY_FAIL
	if (pool)
		return STATUS_INSUFFICIENT_RESOURCES; /* SUP:ENTRY_FAIL */
#endif
#if defined(SUP_LOOP_ENTRY)
	SupSpin(pool);
#endif
	if (pool)
		ExFreePoolWithTag((PVOID)pool, 'puS');
	DriverObject->DriverExtension->AddDevice = SupAddDevice;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SupPnp;
	DriverObject->MajorFunction[IRP_MJ_READ] = SupRw;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SupRw;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SupRw;
	return STATUS_SUCCESS;
}

static NTSTATUS SupAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	NTSTATUS status = IoCreateDevice(DriverObject, sizeof(SUP_EXT), NULL, FILE_DEVICE_UNKNOWN,
	                                 0, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	SUP_EXT *ext = fdo->DeviceExtension;
	ext->Pool = ExAllocatePoolWithTag(NonPagedPool, 64, 'puS');
	ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS SupPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	SUP_EXT *ext = DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->Lower;
	NTSTATUS status;
	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
#ifdef SUP_START_FAIL
		status = STATUS_DEVICE_CONFIGURATION_ERROR; /* SUP:START_FAIL */
#endif
		Irp->IoStatus.Status = status;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return status;
	case IRP_MN_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		if (ext->Pool)
			ExFreePoolWithTag((PVOID)ext->Pool, 'puS');
		IoDetachDevice(lower);
		IoDeleteDevice(DeviceObject);
		return status;
	default:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		return IoCallDriver(lower, Irp);
	}
}

static NTSTATUS SupRw(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	SUP_EXT *ext = DeviceObject->DeviceExtension;
#ifdef SUP_LOOP_DISPATCH
	SupSpin(ext->Pool);
#endif
#ifdef SUP_BUGCHECK_DISPATCH
	/* Windows never returns from here; dmacoh stops the run, so the exit() below is never
	 * reported. */
	KeBugCheckEx(0xE2, 1, 2, 3, 4); /* SUP:BUGCHECK_DISPATCH */
	exit(3);
#endif
#ifdef SUP_HANG_IRP
	/* Pending forever: the workload sees a hung IRP. */
	IoMarkIrpPending(Irp);
	return STATUS_PENDING; /* SUP:HANG_IRP */
#endif
#ifdef SUP_ABORT_DISPATCH
	abort(); /* SUP:ABORT_DISPATCH */
#endif
#ifdef SUP_CLOSE_FDS
	/* Closes every descriptor the run has (its findings stream too), then spins. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	SupSpin(ext->Pool); /* SUP:CLOSE_FDS */
#endif
#ifdef SUP_HELPER_DPC
	/* wdm.h's inline IoRequestDpc on a DPC never initialized, at PASSIVE_LEVEL. */
	IoRequestDpc(DeviceObject, Irp, NULL); /* SUP:HELPER_DPC */
#endif
#ifdef SUP_SLOW_DISPATCH
	/* 200 ms of host time in each call, returning every time: a long run, never a hang. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 200000000L);
#endif
	(void)ext;
	Irp->IoStatus.Status = STATUS_SUCCESS;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}
