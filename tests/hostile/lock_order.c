/* lock_order.c -- hostile driver: one path takes lock A then B, another B then A: two processors
 * can each hold one and spin for the other.  L02 at the acquire that closes the cycle (the
 * lock order graph sees it on one processor, without a schedule).  See hostile.h. */
#include "hostile.h"

DMACOH_DRIVER("hostile-lock-order", "sysblk", "hostile: two spin locks taken in both orders");

static KSPIN_LOCK LockA, LockB;

static void AThenB(void)
{
	KIRQL old;
	KeAcquireSpinLock(&LockA, &old);
	KeAcquireSpinLockAtDpcLevel(&LockB);
	KeReleaseSpinLockFromDpcLevel(&LockB);
	KeReleaseSpinLock(&LockA, old);
}

static void BThenA(void)
{
	KIRQL old;
	KeAcquireSpinLock(&LockB, &old);
	KeAcquireSpinLockAtDpcLevel(&LockA); /* EXPECT: L02 */
	KeReleaseSpinLockFromDpcLevel(&LockA);
	KeReleaseSpinLock(&LockB, old);
}

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(ext);
	UNREFERENCED_PARAMETER(irp);
	AThenB(); /* one path */
	BThenA(); /* another: on two processors at once, each can hold one lock */
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	KeInitializeSpinLock(&LockA);
	KeInitializeSpinLock(&LockB);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
