/* lock_self.c -- hostile driver: acquires a spin lock its processor already holds (a second
 * acquire on one path): it would hang on Windows; L01 at the second acquire, the run goes on.
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-lock-self", "sysblk", "hostile: a spin lock acquired twice on one path");

static KSPIN_LOCK Lock;

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(ext);
	UNREFERENCED_PARAMETER(irp);
	KIRQL old;
	KeAcquireSpinLock(&Lock, &old);
	KeAcquireSpinLockAtDpcLevel(&Lock); /* EXPECT: L01 */
	KeReleaseSpinLockFromDpcLevel(&Lock);
	KeReleaseSpinLock(&Lock, old);
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	KeInitializeSpinLock(&Lock);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
