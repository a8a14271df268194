/* fail_entry.c -- hostile driver: DriverEntry fails: R03 at the line it returns from
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-fail-entry", "sysblk", "hostile: DriverEntry fails");

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	return STATUS_INSUFFICIENT_RESOURCES; /* EXPECT: R03 */
}
