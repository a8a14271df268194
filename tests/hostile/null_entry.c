/* null_entry.c -- hostile driver: a NULL dereference in DriverEntry: X01 at the store
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-null-entry", "sysblk", "hostile: a NULL dereference in DriverEntry");

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	PDEVICE_OBJECT none = DriverObject->DeviceObject; /* no device yet: NULL */

	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	none->Flags |= DO_BUFFERED_IO; /* EXPECT: X01 */
	return STATUS_SUCCESS;
}
