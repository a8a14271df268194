/* null_isr.c -- hostile driver: a NULL dereference in the ISR: X01 at the load
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-null-isr", "sysblk", "hostile: a NULL dereference in the ISR");

static VOID CaseIsr(PHOSTILE_EXTENSION ext)
{
	PIRP irp = ext->Self->CurrentIrp; /* no request is in progress: NULL */

	ext->Scratch[0] = irp->IoStatus.Status; /* EXPECT: X01 */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Isr = CaseIsr;
	return STATUS_SUCCESS;
}
