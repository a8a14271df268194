/* recursion.c -- hostile driver: unbounded recursion in the dispatch routine overflows the stack:
 * X01 See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-recursion", "sysblk",
              "hostile: unbounded recursion in the dispatch routine overflows the stack");

/* Each frame keeps a buffer the next one reads, so it is neither a tail call nor folded. */
/* clang-format off */
static ULONG CaseRecurse(volatile UCHAR *up, ULONG depth) { volatile UCHAR pad[256]; pad[0] = up[0]; pad[1] = (UCHAR)depth; if (depth == ~0u) return 0; return CaseRecurse(pad, depth + 1) + pad[1]; } /* EXPECT: X01 */
/* clang-format on */

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	volatile UCHAR first = 1;

	UNREFERENCED_PARAMETER(irp);
	ext->Scratch[0] = CaseRecurse(&first, 0);
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
