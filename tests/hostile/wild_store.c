/* wild_store.c -- hostile driver: a store 64 MiB past the device extension, into no allocation: M03
 * at the store See hostile.h for the base driver and the markers. */
/* PENDING: H3: M03 for a store to an unmapped page of the simulated kernel */
#include "hostile.h"

DMACOH_DRIVER("hostile-wild-store", "sysblk",
              "hostile: a store 64 MiB past the device extension, into no allocation");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	volatile ULONG *wild = (volatile ULONG *)((PUCHAR)ext + 64 * 1024 * 1024);

	UNREFERENCED_PARAMETER(irp);
	*wild = 0xDEADBEEF; /* EXPECT: M03 */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
