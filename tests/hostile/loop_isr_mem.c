/* loop_isr_mem.c -- hostile driver: an infinite loop storing to the device extension in the ISR:
 * X02 See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-loop-isr-mem", "sysblk",
              "hostile: an infinite loop storing to the device extension in the ISR");

static VOID CaseIsr(PHOSTILE_EXTENSION ext)
{
	volatile ULONG *counter = &ext->Scratch[0];

	/* clang-format off */
	for (;;) (*counter)++; /* EXPECT: X02 */
	/* clang-format on */
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Isr = CaseIsr;
	return STATUS_SUCCESS;
}
