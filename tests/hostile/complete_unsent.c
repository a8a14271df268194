/* complete_unsent.c -- hostile driver: IoCompleteRequest on an IRP the driver allocated and never
 * sent: X01 at the call See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-complete-unsent", "sysblk",
              "hostile: IoCompleteRequest on an IRP the driver allocated and never sent");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	PIRP own = IoAllocateIrp(ext->Self->StackSize, FALSE);

	UNREFERENCED_PARAMETER(irp);
	if (own == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	own->IoStatus.Status = STATUS_SUCCESS;
	IoCompleteRequest(own, IO_NO_INCREMENT); /* EXPECT: X01 */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
