/* loop_isr.c -- hostile driver: an infinite loop with no memory access in the ISR: X02
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-isr", "sysblk",
              "hostile: an infinite loop with no memory access in the ISR");

static VOID CaseIsr(PHOSTILE_EXTENSION ext)
{
	UNREFERENCED_PARAMETER(ext);
	/* clang-format off */
	for (;;) {} /* EXPECT: X02 */
	/* clang-format on */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Isr = CaseIsr;
	return STATUS_SUCCESS;
}
