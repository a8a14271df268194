/*
 * pio_read.c -- a legacy-style (non-PnP) driver for a programmed-I/O device: the processor
 * moves every byte through a data port, so there is no DMA adapter at all.
 *
 * The read path is the one Microsoft documents for PIO into a direct-I/O buffer: map the
 * request's MDL with MmGetSystemAddressForMdlSafe, READ_PORT_BUFFER_UCHAR into it, then
 * KeFlushIoBuffers(mdl, TRUE, FALSE) -- a read, and not a DMA operation -- so that the data
 * written through the system mapping is seen through every other mapping of those pages.
 *
 * A timer guards each command; an IOCTL resets the device from a work item at PASSIVE_LEVEL.
 *
 * Ports (fixed, ISA-style):  base+0 DATA (R), base+1 STATUS (R) bit 0 ready, bit 1 error,
 * base+1 COMMAND (W) 0x20 = read block, 0x08 = reset; base+2 COUNT (W, 16-bit).
 */
#include <dmacoh/wdm.h>

#define PIO_TAG 'rOIP'
#define PIO_BASE_PORT 0x300
#define PIO_ISA_IRQ 5

#define PIO_REG_DATA 0
#define PIO_REG_STATUS 1
#define PIO_REG_COMMAND 1
#define PIO_REG_COUNT 2

#define PIO_STATUS_READY 0x01
#define PIO_STATUS_ERROR 0x02
#define PIO_CMD_READ_BLOCK 0x20
#define PIO_CMD_RESET 0x08

#define PIO_BLOCK_SIZE 512
#define PIO_TIMEOUT_MS 2000

#define IOCTL_PIO_RESET CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_WRITE_ACCESS)
#define IOCTL_PIO_GET_STATUS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_READ_ACCESS)

typedef struct _PIO_EXTENSION {
	PDEVICE_OBJECT Self;
	PUCHAR Port;
	PKINTERRUPT Interrupt;
	KTIMER Timer;
	KDPC TimerDpc;
	PIO_WORKITEM ResetWorkItem;
	PIRP ResetIrp;
	KSPIN_LOCK Lock;
	UCHAR LastStatus;
	volatile LONG TimedOut;
	UNICODE_STRING LinkName;
} PIO_EXTENSION, *PPIO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD PioUnload;
static DRIVER_STARTIO PioStartIo;
static KSERVICE_ROUTINE PioIsr;
static IO_DPC_ROUTINE PioDpc;
static KDEFERRED_ROUTINE PioTimeoutDpc;
static IO_WORKITEM_ROUTINE PioResetWorker;
static DRIVER_DISPATCH PioCreateClose;
static DRIVER_DISPATCH PioRead;
static DRIVER_DISPATCH PioDeviceControl;

static const WCHAR PioDeviceName[] = u"\\Device\\PioRead0";
static const WCHAR PioLinkName[] = u"\\DosDevices\\PioRead0";

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING deviceName;
	PDEVICE_OBJECT device;
	PPIO_EXTENSION ext;
	PHYSICAL_ADDRESS busPort, translated;
	ULONG addressSpace = 1; /* I/O space */
	ULONG vector;
	KIRQL irql;
	KAFFINITY affinity;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(RegistryPath);
	KdPrint(("pio_read: DriverEntry\n"));

	RtlInitUnicodeString(&deviceName, PioDeviceName);
	status = IoCreateDevice(DriverObject, sizeof(PIO_EXTENSION), &deviceName,
	                        FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, TRUE, &device);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PPIO_EXTENSION)device->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = device;

	busPort.QuadPart = PIO_BASE_PORT;
	if (!HalTranslateBusAddress(Isa, 0, busPort, &addressSpace, &translated)) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}
	if (addressSpace == 0) {
		/* The bus maps the ports into memory space. */
		ext->Port = (PUCHAR)MmMapIoSpace(translated, 4, MmNonCached);
		if (ext->Port == NULL) {
			status = STATUS_INSUFFICIENT_RESOURCES;
			goto fail;
		}
	} else {
		ext->Port = (PUCHAR)(ULONG_PTR)translated.QuadPart;
	}

	KeInitializeSpinLock(&ext->Lock);
	KeInitializeTimerEx(&ext->Timer, NotificationTimer);
	KeInitializeDpc(&ext->TimerDpc, PioTimeoutDpc, ext);
	IoInitializeDpcRequest(device, PioDpc);
	ext->ResetWorkItem = IoAllocateWorkItem(device);
	if (ext->ResetWorkItem == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	vector = HalGetInterruptVector(Isa, 0, PIO_ISA_IRQ, PIO_ISA_IRQ, &irql, &affinity);
	status = IoConnectInterrupt(&ext->Interrupt, PioIsr, device, NULL, vector, irql, irql,
	                            Latched, FALSE, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail;

	RtlInitUnicodeString(&ext->LinkName, PioLinkName);
	status = IoCreateSymbolicLink(&ext->LinkName, &deviceName);
	if (!NT_SUCCESS(status))
		goto fail;

	DriverObject->DriverUnload = PioUnload;
	DriverObject->DriverStartIo = PioStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = PioCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = PioCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = PioRead;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PioDeviceControl;
	device->Flags |= DO_DIRECT_IO;
	device->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;

fail:
	if (ext->Interrupt != NULL)
		IoDisconnectInterrupt(ext->Interrupt);
	if (ext->ResetWorkItem != NULL)
		IoFreeWorkItem(ext->ResetWorkItem);
	if (addressSpace == 0 && ext->Port != NULL)
		MmUnmapIoSpace(ext->Port, 4);
	IoDeleteDevice(device);
	return status;
}

static VOID PioUnload(PDRIVER_OBJECT DriverObject)
{
	PDEVICE_OBJECT device = DriverObject->DeviceObject;
	PPIO_EXTENSION ext = (PPIO_EXTENSION)device->DeviceExtension;

	KeCancelTimer(&ext->Timer);
	IoDeleteSymbolicLink(&ext->LinkName);
	IoDisconnectInterrupt(ext->Interrupt);
	IoFreeWorkItem(ext->ResetWorkItem);
	IoDeleteDevice(device);
}

static NTSTATUS PioCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	Irp->IoStatus.Status = STATUS_SUCCESS;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

static NTSTATUS PioRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;

	if (length == 0 || length > 0xffff || (length % PIO_BLOCK_SIZE) != 0) {
		Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return STATUS_INVALID_PARAMETER;
	}
	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static VOID PioStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LARGE_INTEGER due;

	InterlockedExchange(&ext->TimedOut, 0);
	due.QuadPart = -10000LL * PIO_TIMEOUT_MS;
	KeSetTimer(&ext->Timer, due, &ext->TimerDpc);

	WRITE_PORT_USHORT((PUSHORT)(ext->Port + PIO_REG_COUNT), (USHORT)length);
	WRITE_PORT_UCHAR(ext->Port + PIO_REG_COMMAND, PIO_CMD_READ_BLOCK);
}

static BOOLEAN PioIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PDEVICE_OBJECT device = (PDEVICE_OBJECT)ServiceContext;
	PPIO_EXTENSION ext = (PPIO_EXTENSION)device->DeviceExtension;
	UCHAR status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = READ_PORT_UCHAR(ext->Port + PIO_REG_STATUS);
	if ((status & (PIO_STATUS_READY | PIO_STATUS_ERROR)) == 0)
		return FALSE;
	ext->LastStatus = status;
	IoRequestDpc(device, device->CurrentIrp, NULL);
	return TRUE;
}

static VOID PioFinish(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS Status, ULONG_PTR Bytes)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Bytes;
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, NT_SUCCESS(Status) ? IO_DISK_INCREMENT : IO_NO_INCREMENT);
}

static VOID PioDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack;
	PUCHAR buffer;
	ULONG length;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Context);
	if (Irp == NULL || !KeCancelTimer(&ext->Timer) || ext->TimedOut)
		return; /* the timeout DPC owns the request */

	if (ext->LastStatus & PIO_STATUS_ERROR) {
		PioFinish(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR, 0);
		return;
	}

	stack = IoGetCurrentIrpStackLocation(Irp);
	length = stack->Parameters.Read.Length;
	buffer = (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress,
	                                              NormalPagePriority | MdlMappingNoExecute);
	if (buffer == NULL) {
		PioFinish(DeviceObject, Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
		return;
	}

	READ_PORT_BUFFER_UCHAR(ext->Port + PIO_REG_DATA, buffer, length);
	/* PIO into the buffer through the system mapping: flush it for the other mappings. */
	KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE);
	PioFinish(DeviceObject, Irp, STATUS_SUCCESS, length);
}

static VOID PioTimeoutDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                          PVOID SystemArgument2)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeferredContext;
	PDEVICE_OBJECT device = ext->Self;
	PIRP irp = device->CurrentIrp;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(SystemArgument1);
	UNREFERENCED_PARAMETER(SystemArgument2);
	if (irp == NULL)
		return;
	InterlockedExchange(&ext->TimedOut, 1);
	DbgPrint("pio_read: command timed out after %d ms\n", PIO_TIMEOUT_MS);
	PioFinish(device, irp, STATUS_IO_TIMEOUT, 0);
}

static VOID PioResetWorker(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIRP irp = (PIRP)Context;
	LARGE_INTEGER delay;
	ULONG tries;
	NTSTATUS status = STATUS_DEVICE_NOT_READY;

	PAGED_CODE();
	WRITE_PORT_UCHAR(ext->Port + PIO_REG_COMMAND, PIO_CMD_RESET);
	for (tries = 0; tries < 10; tries++) {
		KeStallExecutionProcessor(10);
		if (READ_PORT_UCHAR(ext->Port + PIO_REG_STATUS) & PIO_STATUS_READY) {
			status = STATUS_SUCCESS;
			break;
		}
		delay.QuadPart = -10LL * 1000 * 10; /* 10 ms */
		KeDelayExecutionThread(KernelMode, FALSE, &delay);
	}
	irp->IoStatus.Status = status;
	irp->IoStatus.Information = 0;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static NTSTATUS PioDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	NTSTATUS status;

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_PIO_RESET:
		IoMarkIrpPending(Irp);
		IoQueueWorkItem(ext->ResetWorkItem, PioResetWorker, DelayedWorkQueue, Irp);
		return STATUS_PENDING;
	case IOCTL_PIO_GET_STATUS:
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(UCHAR)) {
			status = STATUS_BUFFER_TOO_SMALL;
			Irp->IoStatus.Information = 0;
			break;
		}
		*(PUCHAR)Irp->AssociatedIrp.SystemBuffer =
		    READ_PORT_UCHAR(ext->Port + PIO_REG_STATUS);
		Irp->IoStatus.Information = sizeof(UCHAR);
		status = STATUS_SUCCESS;
		break;
	default:
		status = STATUS_INVALID_DEVICE_REQUEST;
		Irp->IoStatus.Information = 0;
		break;
	}
	Irp->IoStatus.Status = status;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}
