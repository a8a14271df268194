/*
 * echo_drv.c -- the tutorial's WDM driver for the "echo" loopback device (echo_dev.c;
 * docs/devices/writing-a-device.md walks through both).  Packet-based bus-master DMA through
 * map registers, the flow of wdm-dma-spec 5.3 for a device with one descriptor:
 *
 *   dispatch        WriteFile sends the caller's buffer as one frame, ReadFile receives the next
 *                   frame into it (Information = the frame's length); IoStartPacket
 *   StartIo         KeFlushIoBuffers(mdl, read, TRUE) (G1), AllocateAdapterChannel
 *   AdapterControl  one MapTransfer for the whole frame (the adapter is not scatter/gather, so
 *                   the HAL gives one logically contiguous range through its map registers),
 *                   program TX or RX, ring the doorbell, DeallocateObjectKeepRegisters
 *   ISR             acknowledge INT_STATUS, queue the DPC
 *   DPC             FlushAdapterBuffers with MapTransfer's arguments (G3/G4) -- on a machine
 *                   that bounces, this is where a received frame reaches the caller's buffer --
 *                   FreeMapRegisters (G7), status from the flush and the device (G6),
 *                   IoStartNextPacket, IoCompleteRequest.
 *
 * Frames are at most (map registers - 1) pages, so one MapTransfer always covers one; longer
 * requests fail with STATUS_INVALID_BUFFER_SIZE.  Requests are served one at a time in order,
 * so a ReadFile waits for a frame only behind the WriteFile that sends it.
 *
 * Buggy twin (-DDMACOH_BUG_C07): the DPC skips FlushAdapterBuffers after a receive "because
 * the device already wrote the memory" -- true on a coherent PC with memory below 4 GiB,
 * wrong wherever the HAL bounced the frame or the controller still holds bytes (C07).
 */
#include <wdm.h>

#include <dmacoh/driver.h> /* optional: lets `dmacoh list drivers` name it */

DMACOH_DRIVER("echo_drv", "echo", "tutorial: packet-based bus master, one descriptor");

/* --- echo registers (docs/devices/writing-a-device.md): 32 bits, memory space --- */
#define ECHO_REG_ID 0x00
#define ECHO_REG_CTRL 0x04
#define ECHO_REG_STATUS 0x08
#define ECHO_REG_INT_STATUS 0x0C /* write 1 to clear */
#define ECHO_REG_INT_MASK 0x10
#define ECHO_REG_TX_ADDR_LO 0x14
#define ECHO_REG_TX_ADDR_HI 0x18
#define ECHO_REG_TX_LEN 0x1C
#define ECHO_REG_RX_ADDR_LO 0x20
#define ECHO_REG_RX_ADDR_HI 0x24
#define ECHO_REG_RX_LEN 0x28
#define ECHO_REG_RX_FRAME_LEN 0x2C
#define ECHO_REG_DOORBELL 0x30
#define ECHO_REG_MAX_FRAME 0x34
#define ECHO_REGS_LEN 0x40

#define ECHO_ID_VALUE 0x4F484345 /* "ECHO" */
#define ECHO_CTRL_RESET 0x1
#define ECHO_INT_TX_DONE 0x1
#define ECHO_INT_RX_DONE 0x2
#define ECHO_INT_ERROR 0x4
#define ECHO_INT_ALL (ECHO_INT_TX_DONE | ECHO_INT_RX_DONE | ECHO_INT_ERROR)
#define ECHO_DOORBELL_TX 1
#define ECHO_DOORBELL_RX 2

typedef struct _ECHO_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;
	UNICODE_STRING DeviceName; /* \Device\Echo0 */
	UNICODE_STRING LinkName;   /* \DosDevices\Echo0: what CreateFile("\\.\Echo0") opens */

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters;
	ULONG MaxFrame;                /* bytes: the device's and the map registers' limit */
	volatile LONG InterruptStatus; /* INT_STATUS bits the ISR acknowledged, for the DPC */

	/* The request in progress (StartIo serialises them). */
	PIRP Irp;
	PMDL Mdl;
	PVOID Va;
	ULONG Length;
	BOOLEAN WriteToDevice;
	BOOLEAN Mapped;
	PVOID MapRegisterBase;
	ULONG MapRegisters;
} ECHO_EXTENSION, *PECHO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE EchoAddDevice;
static DRIVER_UNLOAD EchoUnload;
static DRIVER_STARTIO EchoStartIo;
static DRIVER_CONTROL EchoAdapterControl;
static KSERVICE_ROUTINE EchoIsr;
static IO_DPC_ROUTINE EchoDpc;
static DRIVER_DISPATCH EchoCreateClose;
static DRIVER_DISPATCH EchoReadWrite;
static DRIVER_DISPATCH EchoPnp;
static DRIVER_DISPATCH EchoPower;

static ULONG EchoRead(PECHO_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID EchoWrite(PECHO_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS EchoComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	DriverObject->DriverExtension->AddDevice = EchoAddDevice;
	DriverObject->DriverUnload = EchoUnload;
	DriverObject->DriverStartIo = EchoStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = EchoCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = EchoCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLEANUP] = EchoCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = EchoReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = EchoReadWrite;
	DriverObject->MajorFunction[IRP_MJ_PNP] = EchoPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = EchoPower;
	return STATUS_SUCCESS;
}

static VOID EchoUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject); /* devices go at IRP_MN_REMOVE_DEVICE */
}

static NTSTATUS EchoAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PECHO_EXTENSION ext;
	UNICODE_STRING deviceName, linkName;
	NTSTATUS status;

	RtlInitUnicodeString(&deviceName, L"\\Device\\Echo0");
	RtlInitUnicodeString(&linkName, L"\\DosDevices\\Echo0");
	status = IoCreateDevice(DriverObject, sizeof(ECHO_EXTENSION), &deviceName,
	                        FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PECHO_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(ECHO_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->DeviceName = deviceName;
	ext->LinkName = linkName;
	status = IoCreateSymbolicLink(&ext->LinkName, &ext->DeviceName);
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(fdo);
		return status;
	}
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteSymbolicLink(&ext->LinkName);
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, EchoDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS EchoCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return EchoComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS EchoReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;

	if (!ext->Started)
		return EchoComplete(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0 || Irp->MdlAddress == NULL)
		return EchoComplete(Irp, STATUS_INVALID_PARAMETER, 0);
	if (length > ext->MaxFrame)
		return EchoComplete(Irp, STATUS_INVALID_BUFFER_SIZE, 0);
	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static VOID EchoStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDMA_ADAPTER ad = ext->DmaAdapter;
	NTSTATUS status;

	if (!ext->Started) {
		IoStartNextPacket(DeviceObject, FALSE);
		EchoComplete(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	ext->Va = MmGetMdlVirtualAddress(ext->Mdl);
	ext->Length = stack->Parameters.Read.Length;
	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->Mapped = FALSE;
	ext->MapRegisters = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->Va, ext->Length);

	/* G1: write back the buffer's lines (and, before a receive, invalidate them). */
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);
	status = ad->DmaOperations->AllocateAdapterChannel(ad, DeviceObject, ext->MapRegisters,
	                                                   EchoAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		EchoComplete(Irp, status, 0);
	}
}

static IO_ALLOCATION_ACTION EchoAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                               PVOID MapRegisterBase, PVOID Context)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)Context;
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG len = ext->Length;
	PHYSICAL_ADDRESS logical;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	ext->MapRegisterBase = MapRegisterBase;
	logical = ad->DmaOperations->MapTransfer(ad, ext->Mdl, MapRegisterBase, ext->Va, &len,
	                                         ext->WriteToDevice);
	ext->Mapped = TRUE;
	if (len != ext->Length) {
		/* Not one contiguous range: cannot happen with enough map registers; fail. */
		ext->Length = len;
		InterlockedOr(&ext->InterruptStatus, ECHO_INT_ERROR);
		IoRequestDpc(ext->Self, ext->Irp, NULL);
		return DeallocateObjectKeepRegisters;
	}
	if (ext->WriteToDevice) {
		EchoWrite(ext, ECHO_REG_TX_ADDR_LO, logical.LowPart);
		EchoWrite(ext, ECHO_REG_TX_ADDR_HI, (ULONG)logical.HighPart);
		EchoWrite(ext, ECHO_REG_TX_LEN, len);
		EchoWrite(ext, ECHO_REG_DOORBELL, ECHO_DOORBELL_TX);
	} else {
		EchoWrite(ext, ECHO_REG_RX_ADDR_LO, logical.LowPart);
		EchoWrite(ext, ECHO_REG_RX_ADDR_HI, (ULONG)logical.HighPart);
		EchoWrite(ext, ECHO_REG_RX_LEN, len);
		EchoWrite(ext, ECHO_REG_DOORBELL, ECHO_DOORBELL_RX);
	}
	return DeallocateObjectKeepRegisters; /* a bus master keeps the registers (G8) */
}

static BOOLEAN EchoIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = EchoRead(ext, ECHO_REG_INT_STATUS) & ECHO_INT_ALL;
	if (status == 0)
		return FALSE;
	EchoWrite(ext, ECHO_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* Ends the request in progress: flush (G3), release the registers (G7), complete (G6). */
static VOID EchoFinish(PECHO_EXTENSION ext, BOOLEAN deviceError)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PIRP irp = ext->Irp;
	BOOLEAN flushed = TRUE;
	ULONG_PTR information = ext->Length;
	NTSTATUS status;

	if (ext->Mapped) {
#ifdef DMACOH_BUG_C07
		/* BUG C07: "the device has written memory, so the frame is there" -- a receive
		 * skips FlushAdapterBuffers.  Wherever the HAL bounced the buffer (a 32-bit device
		 * and memory above 4 GiB), the frame never leaves the bounce page. */
		if (ext->WriteToDevice)
#endif
			flushed = ad->DmaOperations->FlushAdapterBuffers(
			    ad, ext->Mdl, ext->MapRegisterBase, ext->Va, ext->Length,
			    ext->WriteToDevice);
		ext->Mapped = FALSE;
	}
	if (!ext->WriteToDevice && !deviceError)
		information = EchoRead(ext, ECHO_REG_RX_FRAME_LEN);
	status = (flushed && !deviceError) ? STATUS_SUCCESS : STATUS_DEVICE_DATA_ERROR;
	ad->DmaOperations->FreeMapRegisters(ad, ext->MapRegisterBase, ext->MapRegisters);
	ext->MapRegisterBase = NULL;
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	EchoComplete(irp, status, NT_SUCCESS(status) ? information : 0);
}

static VOID EchoDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
	ULONG intStatus;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if (ext->Irp == NULL || !ext->Mapped)
		return;
	intStatus = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	if (intStatus & ECHO_INT_ERROR)
		EchoFinish(ext, TRUE);
	else if (intStatus & (ext->WriteToDevice ? ECHO_INT_TX_DONE : ECHO_INT_RX_DONE))
		EchoFinish(ext, FALSE);
}

/* --- PnP ---------------------------------------------------------------------------- */

static NTSTATUS EchoStartDevice(PECHO_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS regs = {{0, 0}};
	ULONG regsLength = 0, vector = 0, level = 0, maxFrame, i;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveInterrupt = FALSE;
	NTSTATUS status;

	if (translated == NULL || translated->Count == 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	list = &translated->List[0].PartialResourceList;
	for (i = 0; i < list->Count; i++) {
		PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
		if (d->Type == CmResourceTypeMemory && regsLength == 0) {
			regs = d->u.Memory.Start;
			regsLength = d->u.Memory.Length;
		} else if (d->Type == CmResourceTypeInterrupt) {
			level = d->u.Interrupt.Level;
			vector = d->u.Interrupt.Vector;
			affinity = d->u.Interrupt.Affinity;
			mode =
			    (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
			shared = (BOOLEAN)(d->ShareDisposition == CmResourceShareShared);
			haveInterrupt = TRUE;
		}
	}
	if (regsLength < ECHO_REGS_LEN || !haveInterrupt)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->Registers = (PUCHAR)MmMapIoSpace(regs, regsLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = regsLength;
	if (EchoRead(ext, ECHO_REG_ID) != ECHO_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	EchoWrite(ext, ECHO_REG_CTRL, ECHO_CTRL_RESET);
	maxFrame = EchoRead(ext, ECHO_REG_MAX_FRAME);

	/* G14: a zeroed description.  One descriptor: not scatter/gather, so the HAL maps each
	 * request into one logically contiguous range through its map registers. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = TRUE;
	desc.ScatterGather = FALSE;
	desc.Dma32BitAddresses = TRUE;
	desc.InterfaceType = PCIBus;
	desc.MaximumLength = maxFrame + PAGE_SIZE;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (ext->DmaAdapter == NULL || ext->NumberOfMapRegisters < 2) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}
	/* Any buffer of MaxFrame bytes spans at most NumberOfMapRegisters pages. */
	ext->MaxFrame = (ext->NumberOfMapRegisters - 1) * PAGE_SIZE;
	if (ext->MaxFrame > maxFrame)
		ext->MaxFrame = maxFrame;

	status = IoConnectInterrupt(&ext->Interrupt, EchoIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	EchoWrite(ext, ECHO_REG_INT_STATUS, ECHO_INT_ALL);
	EchoWrite(ext, ECHO_REG_INT_MASK, ECHO_INT_ALL);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_adapter:
	if (ext->DmaAdapter != NULL)
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

static VOID EchoStopDevice(PECHO_EXTENSION ext)
{
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	EchoWrite(ext, ECHO_REG_INT_MASK, 0);
	EchoWrite(ext, ECHO_REG_CTRL, ECHO_CTRL_RESET);
	InterlockedExchange(&ext->InterruptStatus, 0);
	if (ext->Irp != NULL)
		EchoFinish(ext, TRUE); /* aborted in flight: release what it holds */
	KeLowerIrql(oldIrql);
	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS EchoPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			return EchoComplete(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = EchoStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return EchoComplete(Irp, status, 0);
	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		EchoStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;
	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;
	case IRP_MN_REMOVE_DEVICE:
		EchoStopDevice(ext);
		IoDeleteSymbolicLink(&ext->LinkName);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		IoDetachDevice(lower);
		IoDeleteDevice(DeviceObject);
		return status;
	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(lower, Irp);
}

static NTSTATUS EchoPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PECHO_EXTENSION ext = (PECHO_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
