/* fail_entry.c -- hostile driver: DriverEntry fails: R03 at DriverEntry
 * See hostile.h for the base driver and the markers. */
/* PENDING: H1: a failing DriverEntry is R03, exit 1 (today exit 2, no finding) */
#include "hostile.h"

DMACOH_DRIVER("hostile-fail-entry", "sysblk", "hostile: DriverEntry fails");

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) /* EXPECT: R03 */
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	return STATUS_INSUFFICIENT_RESOURCES; /* the finding names DriverEntry's line */
}
