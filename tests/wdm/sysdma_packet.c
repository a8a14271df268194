/*
 * sysdma_packet.c -- a WDM function driver for a subordinate (system DMA) device.
 *
 * The device sits on an ISA-style bus and moves data through a system DMA controller
 * channel.  It is packet based: one IRP at a time goes through StartIo, the adapter channel
 * is allocated with AllocateAdapterChannel, and a transfer larger than the map registers we
 * were granted is split: MapTransfer a piece, let the device run, FlushAdapterBuffers in the
 * DPC, advance CurrentVa, MapTransfer the next piece ... FreeAdapterChannel at the end.
 *
 * Registers (I/O ports, from the translated resources):
 *   +0 COMMAND  (W)  1 = read from device into memory, 2 = write to device, 0x80 = ack
 *   +1 STATUS   (R)  bit 0 = transfer done, bit 7 = error
 *   +2 COUNT_LO (W)  bytes in this piece
 *   +3 COUNT_HI (W)
 */
#include <dmacoh/wdm.h>

#define SDP_TAG 'pdsS'

#define SDP_REG_COMMAND 0
#define SDP_REG_STATUS 1
#define SDP_REG_COUNT_LO 2
#define SDP_REG_COUNT_HI 3

#define SDP_CMD_READ 0x01
#define SDP_CMD_WRITE 0x02
#define SDP_CMD_ACK 0x80

#define SDP_STATUS_DONE 0x01
#define SDP_STATUS_ERROR 0x80

#define SDP_MAX_TRANSFER (64 * 1024)

typedef struct _SDP_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;

	PUCHAR PortBase;
	ULONG PortLength;
	ULONG DmaChannel;
	ULONG DmaPort;
	KIRQL InterruptIrql;
	ULONG InterruptVector;
	KAFFINITY InterruptAffinity;
	KINTERRUPT_MODE InterruptMode;
	PKINTERRUPT InterruptObject;

	PDMA_ADAPTER DmaAdapter;
	ULONG MapRegisterCount;

	/* The transfer in progress */
	PVOID MapRegisterBase;
	PUCHAR CurrentVa;
	ULONG BytesRemaining;
	ULONG PieceLength;
	BOOLEAN WriteToDevice;
	UCHAR LastStatus;
	BOOLEAN Started;
} SDP_EXTENSION, *PSDP_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SdpAddDevice;
static DRIVER_UNLOAD SdpUnload;
static DRIVER_STARTIO SdpStartIo;
static DRIVER_CONTROL SdpAdapterControl;
static KSERVICE_ROUTINE SdpIsr;
static IO_DPC_ROUTINE SdpDpc;
static IO_COMPLETION_ROUTINE SdpStartCompletion;

_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) static DRIVER_DISPATCH SdpCreateClose;
_Dispatch_type_(IRP_MJ_READ) _Dispatch_type_(IRP_MJ_WRITE) static DRIVER_DISPATCH SdpReadWrite;
_Dispatch_type_(IRP_MJ_PNP) static DRIVER_DISPATCH SdpPnp;
_Dispatch_type_(IRP_MJ_POWER) static DRIVER_DISPATCH SdpPower;

#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, SdpAddDevice)
#pragma alloc_text(PAGE, SdpUnload)

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	KdPrint(("sysdma: DriverEntry\n"));
	DriverObject->DriverExtension->AddDevice = SdpAddDevice;
	DriverObject->DriverUnload = SdpUnload;
	DriverObject->DriverStartIo = SdpStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = SdpCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = SdpCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = SdpReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SdpReadWrite;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SdpPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = SdpPower;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID SdpUnload(PDRIVER_OBJECT DriverObject)
{
	PAGED_CODE();
	UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ static NTSTATUS SdpAddDevice(PDRIVER_OBJECT DriverObject,
                                                    PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PSDP_EXTENSION ext;
	NTSTATUS status;

	PAGED_CODE();

	status = IoCreateDevice(DriverObject, sizeof(SDP_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PSDP_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}

	IoInitializeDpcRequest(fdo, SdpDpc);
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS SdpCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	Irp->IoStatus.Status = STATUS_SUCCESS;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS SdpReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->MajorFunction == IRP_MJ_READ ? stack->Parameters.Read.Length
	                                                   : stack->Parameters.Write.Length;

	if (!ext->Started) {
		Irp->IoStatus.Status = STATUS_DEVICE_NOT_READY;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return STATUS_DEVICE_NOT_READY;
	}
	if (length == 0 || Irp->MdlAddress == NULL) {
		Irp->IoStatus.Status = STATUS_SUCCESS;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return STATUS_SUCCESS;
	}

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

/* Programs the device for the piece just mapped. */
static VOID SdpStartPiece(PSDP_EXTENSION ext)
{
	WRITE_PORT_UCHAR(ext->PortBase + SDP_REG_COUNT_LO, (UCHAR)(ext->PieceLength & 0xff));
	WRITE_PORT_UCHAR(ext->PortBase + SDP_REG_COUNT_HI, (UCHAR)((ext->PieceLength >> 8) & 0xff));
	WRITE_PORT_UCHAR(ext->PortBase + SDP_REG_COMMAND,
	                 ext->WriteToDevice ? SDP_CMD_WRITE : SDP_CMD_READ);
}

/* Maps the next piece of the buffer: as much as the map registers cover. */
static VOID SdpMapPiece(PSDP_EXTENSION ext, PMDL mdl)
{
	ULONG length = ext->BytesRemaining;
	ULONG maxLength = ext->MapRegisterCount * PAGE_SIZE - BYTE_OFFSET(ext->CurrentVa);

	if (length > maxLength)
		length = maxLength;
	/* System DMA: MapTransfer programs the controller; the returned address is unused. */
	(void)ext->DmaAdapter->DmaOperations->MapTransfer(ext->DmaAdapter, mdl,
	                                                  ext->MapRegisterBase, ext->CurrentVa,
	                                                  &length, ext->WriteToDevice);
	ext->PieceLength = length;
}

_Use_decl_annotations_ static VOID SdpStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PMDL mdl = Irp->MdlAddress;
	ULONG mapRegisters;
	NTSTATUS status;

	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->CurrentVa = (PUCHAR)MmGetMdlVirtualAddress(mdl);
	ext->BytesRemaining = MmGetMdlByteCount(mdl);
	if (ext->BytesRemaining > SDP_MAX_TRANSFER)
		ext->BytesRemaining = SDP_MAX_TRANSFER;

	/* Before any DMA: write back (device reads memory) or flush for a read. */
	KeFlushIoBuffers(mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);

	mapRegisters = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->CurrentVa, ext->BytesRemaining);
	if (mapRegisters > ext->MapRegisterCount)
		mapRegisters = ext->MapRegisterCount;

	status = ext->DmaAdapter->DmaOperations->AllocateAdapterChannel(
	    ext->DmaAdapter, DeviceObject, mapRegisters, SdpAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		Irp->IoStatus.Status = status;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		IoStartNextPacket(DeviceObject, FALSE);
	}
}

_Use_decl_annotations_ static IO_ALLOCATION_ACTION
SdpAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID MapRegisterBase, PVOID Context)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)Context;

	UNREFERENCED_PARAMETER(DeviceObject);
	ext->MapRegisterBase = MapRegisterBase;
	SdpMapPiece(ext, Irp->MdlAddress);
	SdpStartPiece(ext);
	/* Keep the channel: the DPC maps the following pieces. */
	return KeepObject;
}

_Use_decl_annotations_ static BOOLEAN SdpIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PDEVICE_OBJECT fdo = (PDEVICE_OBJECT)ServiceContext;
	PSDP_EXTENSION ext = (PSDP_EXTENSION)fdo->DeviceExtension;
	UCHAR status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = READ_PORT_UCHAR(ext->PortBase + SDP_REG_STATUS);
	if ((status & (SDP_STATUS_DONE | SDP_STATUS_ERROR)) == 0)
		return FALSE;
	WRITE_PORT_UCHAR(ext->PortBase + SDP_REG_COMMAND, SDP_CMD_ACK);
	ext->LastStatus = status;
	IoRequestDpc(fdo, fdo->CurrentIrp, NULL);
	return TRUE;
}

_Use_decl_annotations_ static VOID SdpDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                          PVOID Context)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)DeviceObject->DeviceExtension;
	PMDL mdl;
	BOOLEAN flushed;
	NTSTATUS status = STATUS_SUCCESS;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Context);
	if (Irp == NULL)
		return;
	mdl = Irp->MdlAddress;

	/* Drain the controller for this piece: CurrentVa is where MapTransfer started. */
	flushed = ext->DmaAdapter->DmaOperations->FlushAdapterBuffers(
	    ext->DmaAdapter, mdl, ext->MapRegisterBase, ext->CurrentVa, ext->PieceLength,
	    ext->WriteToDevice);
	if (!flushed || (ext->LastStatus & SDP_STATUS_ERROR))
		status = STATUS_DEVICE_DATA_ERROR;

	if (NT_SUCCESS(status)) {
		ext->BytesRemaining -= ext->PieceLength;
		ext->CurrentVa += ext->PieceLength;
		if (ext->BytesRemaining != 0) {
			SdpMapPiece(ext, mdl);
			SdpStartPiece(ext);
			return;
		}
	}

	ext->DmaAdapter->DmaOperations->FreeAdapterChannel(ext->DmaAdapter);
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information =
	    NT_SUCCESS(status) ? (ULONG_PTR)(ext->CurrentVa - (PUCHAR)MmGetMdlVirtualAddress(mdl))
	                       : 0;
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, IO_DISK_INCREMENT);
}

_Use_decl_annotations_ static NTSTATUS SdpStartCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                          PVOID Context)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	if (Irp->PendingReturned)
		KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS SdpStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST translated)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)fdo->DeviceExtension;
	DEVICE_DESCRIPTION desc;
	BOOLEAN havePort = FALSE, haveIrq = FALSE, haveDma = FALSE;
	ULONG i, j;
	NTSTATUS status;

	if (translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;

	for (i = 0; i < translated->Count; i++) {
		PCM_PARTIAL_RESOURCE_LIST partial = &translated->List[i].PartialResourceList;
		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];
			switch (d->Type) {
			case CmResourceTypePort:
				ext->PortBase = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
				ext->PortLength = d->u.Port.Length;
				havePort = TRUE;
				break;
			case CmResourceTypeInterrupt:
				ext->InterruptIrql = (KIRQL)d->u.Interrupt.Level;
				ext->InterruptVector = d->u.Interrupt.Vector;
				ext->InterruptAffinity = d->u.Interrupt.Affinity;
				ext->InterruptMode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED)
				                         ? Latched
				                         : LevelSensitive;
				haveIrq = TRUE;
				break;
			case CmResourceTypeDma:
				ext->DmaChannel = d->u.Dma.Channel;
				ext->DmaPort = d->u.Dma.Port;
				haveDma = TRUE;
				break;
			default:
				break;
			}
		}
	}
	if (!havePort || !haveIrq || !haveDma)
		return STATUS_INSUFFICIENT_RESOURCES;

	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.DemandMode = TRUE;
	desc.AutoInitialize = FALSE;
	desc.IgnoreCount = FALSE;
	desc.DmaChannel = ext->DmaChannel;
	desc.DmaPort = ext->DmaPort;
	desc.InterfaceType = Isa;
	desc.DmaWidth = Width16Bits;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = SDP_MAX_TRANSFER;

	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->DmaAdapter == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;

	status = IoConnectInterrupt(&ext->InterruptObject, SdpIsr, fdo, NULL, ext->InterruptVector,
	                            ext->InterruptIrql, ext->InterruptIrql, ext->InterruptMode,
	                            FALSE, ext->InterruptAffinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
		ext->DmaAdapter = NULL;
		return status;
	}
	ext->Started = TRUE;
	return STATUS_SUCCESS;
}

static VOID SdpStopDevice(PSDP_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
	}
	if (ext->DmaAdapter != NULL) {
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
		ext->DmaAdapter = NULL;
	}
}

_Use_decl_annotations_ static NTSTATUS SdpPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	KEVENT event;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; wait for it. */
		KeInitializeEvent(&event, NotificationEvent, FALSE);
		IoCopyCurrentIrpStackLocationToNext(Irp);
		IoSetCompletionRoutine(Irp, SdpStartCompletion, &event, TRUE, TRUE, TRUE);
		status = IoCallDriver(ext->LowerDevice, Irp);
		if (status == STATUS_PENDING) {
			KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
			status = Irp->IoStatus.Status;
		}
		if (NT_SUCCESS(status))
			status = SdpStartDevice(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		Irp->IoStatus.Status = status;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return status;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		SdpStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		SdpStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(ext->LowerDevice, Irp);
		IoDetachDevice(ext->LowerDevice);
		IoDeleteDevice(DeviceObject);
		return status;

	default:
		break;
	}

	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(ext->LowerDevice, Irp);
}

_Use_decl_annotations_ static NTSTATUS SdpPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSDP_EXTENSION ext = (PSDP_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
