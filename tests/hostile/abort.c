/* abort.c -- hostile driver: abort() in the dispatch routine: X03 at the call
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-abort", "sysblk", "hostile: abort() in the dispatch routine");
#include <stdlib.h>

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(irp);
	if (++ext->Scratch[0] == 3)
		abort(); /* EXPECT: X03 */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
