/* fail_start.c -- hostile driver: IRP_MN_START_DEVICE fails: R03 at the dispatch
 * routine that failed it (its first line: which line chose the status is not knowable)
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-fail-start", "sysblk", "hostile: IRP_MN_START_DEVICE fails");

/* START_DEVICE fails although the bus driver started the device: the driver completes it with
 * an error of its own. */
static NTSTATUS CasePnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{ /* EXPECT: R03 */
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;

	if (IoGetCurrentIrpStackLocation(Irp)->MinorFunction != IRP_MN_START_DEVICE)
		return HostilePnp(DeviceObject, Irp);
	if (!IoForwardIrpSynchronously(ext->Lower, Irp))
		Irp->IoStatus.Status = STATUS_UNSUCCESSFUL;
	Irp->IoStatus.Status = STATUS_DEVICE_CONFIGURATION_ERROR;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_DEVICE_CONFIGURATION_ERROR;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	DriverObject->MajorFunction[IRP_MJ_PNP] = CasePnp;
	return STATUS_SUCCESS;
}
