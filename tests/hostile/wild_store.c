/* wild_store.c -- hostile driver: a store through a small integer taken for a pointer (page 1,
 * below every mapping the process may have): the SIGSEGV is reported as X01 at the store.  (It
 * was 64 MiB past the device extension until extensions moved into simulated pool: that
 * address is now the simulated kernel's, M03.)  (Wild stores *into*
 * dmacoh's reservations, which must not land silently, are mem_wild.c; an unmapped page of the
 * simulated kernel, M03, is mem_unmapped.c.)  See hostile.h for the base driver and the
 * markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-wild-store", "sysblk",
              "hostile: a wild store through a small integer taken for a pointer");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	volatile ULONG *wild = (volatile ULONG *)(ULONG_PTR)0x1000;

	UNREFERENCED_PARAMETER(ext);
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
