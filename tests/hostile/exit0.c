/* exit0.c -- hostile driver: exit(0) in the dispatch routine (a CI gate must not pass): X03 at the
 * call See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-exit0", "sysblk",
              "hostile: exit(0) in the dispatch routine (a CI gate must not pass)");
#include <stdlib.h>

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(irp);
	if (++ext->Scratch[0] == 3)
		exit(0); /* EXPECT: X03 */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
