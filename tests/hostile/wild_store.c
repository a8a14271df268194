/* wild_store.c -- hostile driver: a store 64 MiB past the device extension, outside every
 * mapping of the process: the SIGSEGV is reported as X01 at the store.  (Wild stores *into*
 * dmacoh's reservations, which must not land silently, are mem_wild.c; an unmapped page of the
 * simulated kernel, M03, is mem_unmapped.c.)  See hostile.h for the base driver and the
 * markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-wild-store", "sysblk",
              "hostile: a wild store 64 MiB past the device extension");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	volatile ULONG *wild = (volatile ULONG *)((PUCHAR)ext + 64 * 1024 * 1024);

	UNREFERENCED_PARAMETER(irp);
	*wild = 0xDEADBEEF; /* EXPECT: X01 */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
