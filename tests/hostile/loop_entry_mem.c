/* loop_entry_mem.c -- hostile driver: an infinite loop storing to pool in DriverEntry: X02 at the
 * loop See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-entry-mem", "sysblk",
              "hostile: an infinite loop storing to pool in DriverEntry");

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	volatile ULONG *counter = (volatile ULONG *)ExAllocatePoolWithTag(NonPagedPool, 64, 'tsoH');

	if (counter == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	/* clang-format off */
	for (;;) (*counter)++; /* EXPECT: X02 */
	/* clang-format on */
	return STATUS_SUCCESS; /* not reached */
}
