/* complete_stale.c -- hostile driver: IoCompleteRequest on an IRP completed (and freed) earlier:
 * S02 at its first touch (the store to its status; the bytes are quarantined, so neither the
 * store nor the completion reaches freed memory).  See hostile.h for the base driver and the
 * markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-complete-stale", "sysblk",
              "hostile: IoCompleteRequest on an IRP completed (and freed) earlier");

static PIRP Stale;

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(ext);
	if (Stale == NULL) {
		Stale = irp; /* the base completes it: the pointer goes stale */
		return STATUS_SUCCESS;
	}
	Stale->IoStatus.Status = STATUS_SUCCESS; /* EXPECT: S02 */
	IoCompleteRequest(Stale, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
