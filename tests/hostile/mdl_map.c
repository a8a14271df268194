/* mdl_map.c -- hostile driver: MapTransfer of an MDL of garbage pool bytes: A07 at the call
 * See hostile.h for the base driver and the markers. */
#include "hostile.h"

DMACOH_DRIVER("hostile-mdl-map", "sysblk", "hostile: MapTransfer of an MDL of garbage pool bytes");

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	PMDL junk = (PMDL)ExAllocatePoolWithTag(NonPagedPool, 256, 'tsoH');
	PVOID va = MmGetMdlVirtualAddress(irp->MdlAddress);
	ULONG length = HOSTILE_SECTOR;
	PDMA_ADAPTER adapter = ext->Adapter;
	KIRQL old;
	NTSTATUS status;

	if (junk == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	RtlFillMemory(junk, 256, 0x5A);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	ext->MapRegisterBase = NULL;
	status = ext->Adapter->DmaOperations->AllocateAdapterChannel(ext->Adapter, ext->Self, 1,
	                                                             HostileAdapterControl, ext);
	if (NT_SUCCESS(status) && ext->MapRegisterBase != NULL) {
		/* clang-format off */
		(void)adapter->DmaOperations->MapTransfer(adapter, junk, ext->MapRegisterBase, va, &length, FALSE); /* EXPECT: A07 */
		/* clang-format on */
		ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter);
	}
	KeLowerIrql(old);
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
