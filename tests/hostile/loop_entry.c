/* loop_entry.c -- hostile driver: an infinite loop with no memory access in DriverEntry: X02 at the
 * loop See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-entry", "sysblk",
              "hostile: an infinite loop with no memory access in DriverEntry");

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	/* clang-format off */
	for (;;) {} /* EXPECT: X02 */
	/* clang-format on */
	return STATUS_SUCCESS; /* not reached */
}
