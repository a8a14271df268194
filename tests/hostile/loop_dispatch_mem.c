/* loop_dispatch_mem.c -- hostile driver: an infinite loop storing to the device extension in the
 * read/write dispatch routine: X02 See hostile.h for the base driver and the EXPECT/PENDING
 * markers. */
#include "hostile.h"

DMACOH_DRIVER(
    "hostile-loop-dispatch-mem", "sysblk",
    "hostile: an infinite loop storing to the device extension in the read/write dispatch routine");

static NTSTATUS CaseReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;
	volatile ULONG *counter = &ext->Scratch[0];

	UNREFERENCED_PARAMETER(Irp);
	/* clang-format off */
	for (;;) (*counter)++; /* EXPECT: X02 */
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
