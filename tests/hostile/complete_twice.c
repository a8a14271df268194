/* complete_twice.c -- hostile driver: IoCompleteRequest twice on one IRP (Windows: bug check
 * 0x44): S02 at the second call, naming the first (and not also X01).  See hostile.h for the
 * base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-complete-twice", "sysblk", "hostile: IoCompleteRequest twice on one IRP");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(ext);
	HostileComplete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	IoCompleteRequest(irp, IO_NO_INCREMENT); /* EXPECT: S02 */
	return STATUS_PENDING;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
