/* fail_start.c -- hostile driver: IRP_MN_START_DEVICE fails: R03 at the dispatch
 * routine that failed it (its first line: which line chose the status is not knowable).
 * Before failing, START takes an adapter and a common buffer that only REMOVE gives back, as a
 * correct driver may: Windows sends IRP_MN_REMOVE_DEVICE after a failed start, so nothing else
 * (no A05 leak) may be reported.  See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-fail-start", "sysblk", "hostile: IRP_MN_START_DEVICE fails");

#define FAIL_START_COMMON 4096

static PVOID Common;
static PHYSICAL_ADDRESS CommonLogical;

/* START_DEVICE fails although the bus driver started the device: the driver completes it with
 * an error of its own. */
static NTSTATUS CasePnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{ /* EXPECT: R03 */
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	if (stack->MinorFunction == IRP_MN_REMOVE_DEVICE && Common != NULL &&
	    ext->Adapter != NULL) {
		ext->Adapter->DmaOperations->FreeCommonBuffer(ext->Adapter, FAIL_START_COMMON,
		                                              CommonLogical, Common, FALSE);
		Common = NULL;
	}
	if (stack->MinorFunction != IRP_MN_START_DEVICE)
		return HostilePnp(DeviceObject, Irp);
	if (IoForwardIrpSynchronously(ext->Lower, Irp) && NT_SUCCESS(Irp->IoStatus.Status) &&
	    NT_SUCCESS(HostileStart(DeviceObject,
	                            stack->Parameters.StartDevice.AllocatedResourcesTranslated)))
		Common = ext->Adapter->DmaOperations->AllocateCommonBuffer(
		    ext->Adapter, FAIL_START_COMMON, &CommonLogical, FALSE);
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
