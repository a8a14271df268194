/* mdl_flush.c -- hostile driver: KeFlushIoBuffers on an MDL of garbage pool bytes: A07 at the
 * call See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-mdl-flush", "sysblk",
              "hostile: KeFlushIoBuffers on an MDL of garbage pool bytes");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	PMDL junk = (PMDL)ExAllocatePoolWithTag(NonPagedPool, 256, 'tsoH');

	UNREFERENCED_PARAMETER(ext);
	UNREFERENCED_PARAMETER(irp);
	if (junk == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	RtlFillMemory(junk, 256, 0xA5);
	KeFlushIoBuffers(junk, TRUE, TRUE); /* EXPECT: A07 */
	ExFreePoolWithTag(junk, 'tsoH');
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	Hostile.Io = CaseIo;
	return STATUS_SUCCESS;
}
