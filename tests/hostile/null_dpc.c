/* null_dpc.c -- hostile driver: a NULL dereference in the DpcForIsr: X01 at the load
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-null-dpc", "sysblk", "hostile: a NULL dereference in the DpcForIsr");

static VOID CaseDpc(PHOSTILE_EXTENSION ext)
{
	PIRP irp = ext->Self->CurrentIrp; /* no request is in progress: NULL */

	ext->Scratch[0] = (ULONG)irp->IoStatus.Information; /* EXPECT: X01 */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Dpc = CaseDpc;
	return STATUS_SUCCESS;
}
