/* legacy_nodev.c -- a legacy (NT4-style) driver for tests/test_drv_legacy.c that creates no
 * device object: DriverEntry succeeds without AddDevice and without IoCreateDevice, after
 * one mistake the report must keep (IoCreateSymbolicLink at DISPATCH_LEVEL: A08) and a
 * dangling \DosDevices\Ghost link.  Built by mk/test_legacy.mk. */
#include <ntddk.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("legacy-nodev", "sysblk", "legacy driver that creates no device");

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD NodevUnload;

static VOID NodevUnload(PDRIVER_OBJECT DriverObject)
{
	UNICODE_STRING link;

	UNREFERENCED_PARAMETER(DriverObject);
	RtlInitUnicodeString(&link, L"\\DosDevices\\Ghost");
	IoDeleteSymbolicLink(&link);
	DbgPrint("legacy-nodev: unloaded\n");
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING link, target;
	KIRQL old;

	UNREFERENCED_PARAMETER(RegistryPath);
	RtlInitUnicodeString(&link, L"\\DosDevices\\Ghost");
	RtlInitUnicodeString(&target, L"\\Device\\Ghost");
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	(void)IoCreateSymbolicLink(&link, &target); /* MISTAKE: PASSIVE_LEVEL only (A08) */
	KeLowerIrql(old);
	DriverObject->DriverUnload = NodevUnload;
	DbgPrint("legacy-nodev: DriverEntry done, no device\n");
	return STATUS_SUCCESS;
}
