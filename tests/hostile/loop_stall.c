/* loop_stall.c -- hostile driver: the read/write dispatch routine polls a status the device
 * never sets, with KeStallExecutionProcessor between polls and no memory access: no host or
 * access watchdog would see it soon, the simulated-time one does (X02 at the stall call).
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-stall", "sysblk",
              "hostile: a busy-wait on KeStallExecutionProcessor that never ends");

static NTSTATUS CaseReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	for (;;)
		KeStallExecutionProcessor(50); /* EXPECT: X02 */
	return STATUS_SUCCESS;                 /* not reached */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	DriverObject->MajorFunction[IRP_MJ_READ] = CaseReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = CaseReadWrite;
	return STATUS_SUCCESS;
}
