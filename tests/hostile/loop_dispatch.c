/* loop_dispatch.c -- hostile driver: an infinite loop with no memory access in the read/write
 * dispatch routine: X02 See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-dispatch", "sysblk",
              "hostile: an infinite loop with no memory access in the read/write dispatch routine");

static NTSTATUS CaseReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	/* clang-format off */
	for (;;) {} /* EXPECT: X02 */
	/* clang-format on */
	return STATUS_SUCCESS; /* not reached */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	DriverObject->MajorFunction[IRP_MJ_READ] = CaseReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = CaseReadWrite;
	return STATUS_SUCCESS;
}
