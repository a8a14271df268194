/*
 * sg_busmaster.c -- a WDM function driver for a PCI bus-master block device with a
 * scatter/gather engine.
 *
 * StartIo hands the request's MDL to GetScatterGatherList; the list-control routine copies
 * the elements into the device's descriptor registers and starts it; the DPC calls
 * PutScatterGatherList (which flushes the adapter buffers and frees the map registers) and
 * completes the IRP.  Queued IRPs can be cancelled.
 *
 * Registers (memory BAR 0, 32-bit):
 *   0x00 CONTROL     bit 0 start, bit 1 direction (1 = to device), bit 31 reset
 *   0x04 STATUS      bit 0 done, bit 1 error (write 1 to clear)
 *   0x08 SG_COUNT    number of descriptors written
 *   0x0c INT_ENABLE
 *   0x100 + 16 * n   descriptor n: ADDR_LO, ADDR_HI, LENGTH, FLAGS
 */
#include <dmacoh/wdm.h>

#define SGB_TAG 'bgSD'

#define SGB_REG_CONTROL 0x00
#define SGB_REG_STATUS 0x04
#define SGB_REG_SG_COUNT 0x08
#define SGB_REG_INT_ENABLE 0x0c
#define SGB_REG_DESC(n) (0x100 + 16 * (n))

#define SGB_CONTROL_START 0x00000001
#define SGB_CONTROL_TO_DEVICE 0x00000002
#define SGB_CONTROL_RESET 0x80000000U
#define SGB_STATUS_DONE 0x00000001
#define SGB_STATUS_ERROR 0x00000002

#define SGB_MAX_DESCRIPTORS 32
#define SGB_MAX_TRANSFER (1024 * 1024)
#define SGB_SECTOR_SIZE 512

#define IOCTL_SGB_GET_ALIGNMENT CTL_CODE(FILE_DEVICE_DISK, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _SGB_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;

	PUCHAR Registers;
	ULONG RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG MapRegisterCount;
	ULONG Alignment;

	PSCATTER_GATHER_LIST SgList; /* the request in progress */
	BOOLEAN WriteToDevice;
	ULONG Status;
	BOOLEAN Started;
	UNICODE_STRING InterfaceName;
} SGB_EXTENSION, *PSGB_EXTENSION;

/* {3d0a3f2e-7b1c-4b61-9a0e-5c2b7d8e9f10} */
DEFINE_GUID(GUID_DEVINTERFACE_SGB, 0x3d0a3f2e, 0x7b1c, 0x4b61, 0x9a, 0x0e, 0x5c, 0x2b, 0x7d, 0x8e,
            0x9f, 0x10);

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SgbAddDevice;
static DRIVER_UNLOAD SgbUnload;
static DRIVER_STARTIO SgbStartIo;
static DRIVER_LIST_CONTROL SgbListControl;
static DRIVER_CANCEL SgbCancel;
static KSERVICE_ROUTINE SgbIsr;
static IO_DPC_ROUTINE SgbDpc;
static KSYNCHRONIZE_ROUTINE SgbResetSynchronized;
static DRIVER_DISPATCH SgbCreateClose;
static DRIVER_DISPATCH SgbReadWrite;
static DRIVER_DISPATCH SgbDeviceControl;
static DRIVER_DISPATCH SgbPnp;
static DRIVER_DISPATCH SgbPower;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "sgb: loaded\n");
	DriverObject->DriverExtension->AddDevice = SgbAddDevice;
	DriverObject->DriverUnload = SgbUnload;
	DriverObject->DriverStartIo = SgbStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = SgbCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = SgbCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = SgbReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SgbReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SgbDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SgbPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = SgbPower;
	return STATUS_SUCCESS;
}

static VOID SgbUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS SgbAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PSGB_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(SGB_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PSGB_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(SGB_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;

	status = IoRegisterDeviceInterface(PhysicalDeviceObject, &GUID_DEVINTERFACE_SGB, NULL,
	                                   &ext->InterfaceName);
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(fdo);
		return status;
	}

	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		RtlFreeUnicodeString(&ext->InterfaceName);
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, SgbDpc);
	fdo->AlignmentRequirement = SGB_SECTOR_SIZE - 1;
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS SgbCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

static NTSTATUS SgbCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return SgbCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS SgbReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LARGE_INTEGER offset = stack->Parameters.Read.ByteOffset;

	if (!ext->Started)
		return SgbCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if ((length & (SGB_SECTOR_SIZE - 1)) != 0 ||
	    (offset.LowPart & (SGB_SECTOR_SIZE - 1)) != 0 || length > SGB_MAX_TRANSFER)
		return SgbCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);
	if (length == 0)
		return SgbCompleteIrp(Irp, STATUS_SUCCESS, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, &offset.LowPart, SgbCancel);
	return STATUS_PENDING;
}

static VOID SgbCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	if (Irp == DeviceObject->CurrentIrp) {
		/* Already handed to StartIo: the hardware finishes it. */
		IoReleaseCancelSpinLock(Irp->CancelIrql);
		return;
	}
	if (!KeRemoveEntryDeviceQueue(&DeviceObject->DeviceQueue,
	                              &Irp->Tail.Overlay.DeviceQueueEntry)) {
		IoReleaseCancelSpinLock(Irp->CancelIrql);
		return;
	}
	IoReleaseCancelSpinLock(Irp->CancelIrql);
	SgbCompleteIrp(Irp, STATUS_CANCELLED, 0);
}

static VOID SgbStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PMDL mdl = Irp->MdlAddress;
	KIRQL cancelIrql;
	NTSTATUS status;

	IoAcquireCancelSpinLock(&cancelIrql);
	if (Irp->Cancel) {
		IoReleaseCancelSpinLock(cancelIrql);
		SgbCompleteIrp(Irp, STATUS_CANCELLED, 0);
		IoStartNextPacket(DeviceObject, TRUE);
		return;
	}
	IoSetCancelRoutine(Irp, NULL);
	IoReleaseCancelSpinLock(cancelIrql);

	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);

	/* On a machine without cache-coherent DMA the processor caches must be flushed. */
	KeFlushIoBuffers(mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);

	status = ext->DmaAdapter->DmaOperations->GetScatterGatherList(
	    ext->DmaAdapter, DeviceObject, mdl, MmGetMdlVirtualAddress(mdl), MmGetMdlByteCount(mdl),
	    SgbListControl, Irp, ext->WriteToDevice);
	if (!NT_SUCCESS(status)) {
		SgbCompleteIrp(Irp, status, 0);
		IoStartNextPacket(DeviceObject, TRUE);
	}
}

static VOID SgbListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                           PSCATTER_GATHER_LIST ScatterGather, PVOID Context)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PUCHAR regs = ext->Registers;
	ULONG i;

	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	ext->SgList = ScatterGather;

	if (ScatterGather->NumberOfElements > SGB_MAX_DESCRIPTORS) {
		/* Cannot happen with MaximumLength sized for the table; fail it in the DPC. */
		ext->Status = SGB_STATUS_ERROR;
		IoRequestDpc(DeviceObject, Irp, NULL);
		return;
	}
	for (i = 0; i < ScatterGather->NumberOfElements; i++) {
		PSCATTER_GATHER_ELEMENT e = &ScatterGather->Elements[i];
		WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_DESC(i)),
		                     e->Address.LowPart);
		WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_DESC(i) + 4),
		                     (ULONG)e->Address.HighPart);
		WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_DESC(i) + 8), e->Length);
		WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_DESC(i) + 12), 0);
	}
	WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_SG_COUNT),
	                     ScatterGather->NumberOfElements);
	WRITE_REGISTER_ULONG((volatile ULONG *)(regs + SGB_REG_CONTROL),
	                     SGB_CONTROL_START | (ext->WriteToDevice ? SGB_CONTROL_TO_DEVICE : 0));
}

static BOOLEAN SgbIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + SGB_REG_STATUS));
	if ((status & (SGB_STATUS_DONE | SGB_STATUS_ERROR)) == 0)
		return FALSE;
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + SGB_REG_STATUS), status);
	ext->Status = status;
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID SgbDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Context);
	if (Irp == NULL || ext->SgList == NULL)
		return;

	/* Flushes the adapter buffers, frees the map registers and the list. */
	ext->DmaAdapter->DmaOperations->PutScatterGatherList(ext->DmaAdapter, ext->SgList,
	                                                     ext->WriteToDevice);
	ext->SgList = NULL;

	status = (ext->Status & SGB_STATUS_ERROR) ? STATUS_DEVICE_DATA_ERROR : STATUS_SUCCESS;
	IoStartNextPacket(DeviceObject, TRUE);
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = NT_SUCCESS(status) ? MmGetMdlByteCount(Irp->MdlAddress) : 0;
	IoCompleteRequest(Irp, IO_DISK_INCREMENT);
}

static NTSTATUS SgbDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_SGB_GET_ALIGNMENT:
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG))
			return SgbCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONG)Irp->AssociatedIrp.SystemBuffer = ext->Alignment;
		return SgbCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONG));
	default:
		return SgbCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

static BOOLEAN SgbResetSynchronized(PVOID SynchronizeContext)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)SynchronizeContext;

	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + SGB_REG_CONTROL),
	                     SGB_CONTROL_RESET);
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + SGB_REG_INT_ENABLE), 1);
	return TRUE;
}

static NTSTATUS SgbStartDevice(PSGB_EXTENSION ext, PCM_RESOURCE_LIST raw,
                               PCM_RESOURCE_LIST translated)
{
	PCM_FULL_RESOURCE_DESCRIPTOR full;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR d;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS barStart = {{0, 0}};
	ULONG barLength = 0, vector = 0, level = 0, i;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveIrq = FALSE;
	ULONG sgSize = 0, sgMapRegs = 0;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(raw);
	if (translated == NULL || translated->Count == 0)
		return STATUS_INSUFFICIENT_RESOURCES;

	full = &translated->List[0];
	for (i = 0; i < full->PartialResourceList.Count; i++) {
		d = &full->PartialResourceList.PartialDescriptors[i];
		if (d->Type == CmResourceTypeMemory && barLength == 0) {
			barStart = d->u.Memory.Start;
			barLength = d->u.Memory.Length;
		} else if (d->Type == CmResourceTypeInterrupt &&
		           !(d->Flags & CM_RESOURCE_INTERRUPT_MESSAGE)) {
			vector = d->u.Interrupt.Vector;
			level = d->u.Interrupt.Level;
			affinity = d->u.Interrupt.Affinity;
			mode =
			    (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
			shared = (BOOLEAN)(d->ShareDisposition == CmResourceShareShared);
			haveIrq = TRUE;
		}
	}
	if (barLength == 0 || !haveIrq)
		return STATUS_INSUFFICIENT_RESOURCES;

	ext->Registers = (PUCHAR)MmMapIoSpace(barStart, barLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = barLength;

	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = TRUE;
	desc.ScatterGather = TRUE;
	desc.Dma32BitAddresses = TRUE;
	desc.Dma64BitAddresses = TRUE;
	desc.InterfaceType = PCIBus;
	desc.MaximumLength = SGB_MAX_TRANSFER;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->DmaAdapter == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_unmap;
	}
	ext->Alignment = ext->DmaAdapter->DmaOperations->GetDmaAlignment(ext->DmaAdapter);

	/* Version 2 operations: how big a list the worst-case request needs. */
	if (ext->DmaAdapter->DmaOperations->Size >=
	    RTL_SIZEOF_THROUGH_FIELD(DMA_OPERATIONS, CalculateScatterGatherList)) {
		status = ext->DmaAdapter->DmaOperations->CalculateScatterGatherList(
		    ext->DmaAdapter, NULL, NULL, SGB_MAX_TRANSFER, &sgSize, &sgMapRegs);
		if (NT_SUCCESS(status))
			KdPrint(("sgb: worst-case list %lu bytes, %lu map registers\n",
			         (unsigned long)sgSize, (unsigned long)sgMapRegs));
	}

	status = IoConnectInterrupt(&ext->Interrupt, SgbIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;

	KeSynchronizeExecution(ext->Interrupt, SgbResetSynchronized, ext);
	IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_adapter:
	ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

static VOID SgbStopDevice(PSGB_EXTENSION ext)
{
	if (!ext->Started)
		return;
	ext->Started = FALSE;
	IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
	IoDisconnectInterrupt(ext->Interrupt);
	ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Interrupt = NULL;
	ext->DmaAdapter = NULL;
	ext->Registers = NULL;
}

static NTSTATUS SgbPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(ext->LowerDevice, Irp))
			return SgbCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = SgbStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResources,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return SgbCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		SgbStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		SgbStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(ext->LowerDevice, Irp);
		RtlFreeUnicodeString(&ext->InterfaceName);
		IoDetachDevice(ext->LowerDevice);
		IoDeleteDevice(DeviceObject);
		return status;

	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(ext->LowerDevice, Irp);
}

static NTSTATUS SgbPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSGB_EXTENSION ext = (PSGB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	if (stack->MinorFunction == IRP_MN_SET_POWER &&
	    stack->Parameters.Power.Type == DevicePowerState)
		PoSetPowerState(DeviceObject, DevicePowerState, stack->Parameters.Power.State);
	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
