/*
 * common_buffer.c -- a WDM function driver for a PCI bus-master device that exchanges data
 * with the host through one common buffer (think of a simple capture/playback engine).
 *
 * The common buffer is allocated cached (CacheEnabled = TRUE), so on a machine whose caches
 * are not coherent with DMA the driver must flush it around every transfer.  It describes
 * the buffer with an MDL (IoAllocateMdl + MmBuildMdlForNonPagedPool) so that it can call
 * KeFlushIoBuffers on it:
 *   write: copy the user data in, KeFlushIoBuffers(mdl, FALSE, TRUE), start the device;
 *   read:  start the device, and on completion KeFlushIoBuffers(mdl, TRUE, TRUE) before
 *          copying the data out.
 * Requests wait in a driver-managed, cancel-safe queue (spin lock + IoSetCancelRoutine).
 *
 * Registers (memory BAR 0):
 *   0x00 BUF_ADDR_LO  0x04 BUF_ADDR_HI  0x08 BUF_LENGTH
 *   0x0c COMMAND  1 = device reads the buffer, 2 = device fills the buffer
 *   0x10 STATUS   bit 0 done, bit 1 error (write 1 to clear)
 *   0x14 COUNT    bytes the device moved
 */
#include <dmacoh/wdm.h>

#define CBD_TAG 'dbCD'
#define CBD_BUFFER_SIZE (16 * 1024)

#define CBD_REG_BUF_ADDR_LO 0x00
#define CBD_REG_BUF_ADDR_HI 0x04
#define CBD_REG_BUF_LENGTH 0x08
#define CBD_REG_COMMAND 0x0c
#define CBD_REG_STATUS 0x10
#define CBD_REG_COUNT 0x14

#define CBD_CMD_TO_DEVICE 1
#define CBD_CMD_FROM_DEVICE 2
#define CBD_STATUS_DONE 0x1
#define CBD_STATUS_ERROR 0x2

typedef struct _CBD_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;

	volatile ULONG *Registers;
	ULONG RegistersLength;
	PKINTERRUPT Interrupt;

	PDMA_ADAPTER DmaAdapter;
	ULONG MapRegisterCount;
	PVOID CommonBuffer;
	PHYSICAL_ADDRESS CommonBufferLogical;
	PMDL CommonBufferMdl;

	KSPIN_LOCK QueueLock;
	LIST_ENTRY PendingIrps;
	PIRP ActiveIrp;
	ULONG Status;
	ULONG Count;
	volatile LONG OutstandingIo;
	KEVENT StopEvent;
	BOOLEAN Started;
} CBD_EXTENSION, *PCBD_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE CbdAddDevice;
static DRIVER_UNLOAD CbdUnload;
static DRIVER_CANCEL CbdCancel;
static KSERVICE_ROUTINE CbdIsr;
static KDEFERRED_ROUTINE CbdDpc;
static KSYNCHRONIZE_ROUTINE CbdProgramDevice;
static DRIVER_DISPATCH CbdCreateClose;
static DRIVER_DISPATCH CbdReadWrite;
static DRIVER_DISPATCH CbdPnp;
static DRIVER_DISPATCH CbdPower;

/* A KDPC of our own (not DeviceObject->Dpc), to show KeInitializeDpc/KeInsertQueueDpc. */
static KDPC CbdCompletionDpc;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	DriverObject->DriverExtension->AddDevice = CbdAddDevice;
	DriverObject->DriverUnload = CbdUnload;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = CbdCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = CbdCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = CbdReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = CbdReadWrite;
	DriverObject->MajorFunction[IRP_MJ_PNP] = CbdPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = CbdPower;
	return STATUS_SUCCESS;
}

static VOID CbdUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS CbdAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	UNICODE_STRING name;
	PDEVICE_OBJECT fdo;
	PCBD_EXTENSION ext;
	NTSTATUS status;

	RtlInitUnicodeString(&name, u"\\Device\\CommonBufferDemo0");
	status = IoCreateDevice(DriverObject, sizeof(CBD_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PCBD_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	KeInitializeSpinLock(&ext->QueueLock);
	InitializeListHead(&ext->PendingIrps);
	KeInitializeEvent(&ext->StopEvent, NotificationEvent, FALSE);
	KeInitializeDpc(&CbdCompletionDpc, CbdDpc, ext);

	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	fdo->Flags |= DO_BUFFERED_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS CbdCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	Irp->IoStatus.Status = STATUS_SUCCESS;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

typedef struct _CBD_PROGRAM {
	PCBD_EXTENSION Ext;
	ULONG Command;
	ULONG Length;
} CBD_PROGRAM;

static BOOLEAN CbdProgramDevice(PVOID SynchronizeContext)
{
	CBD_PROGRAM *p = (CBD_PROGRAM *)SynchronizeContext;
	volatile ULONG *regs = p->Ext->Registers;

	WRITE_REGISTER_ULONG(&regs[CBD_REG_BUF_LENGTH / 4], p->Length);
	WRITE_REGISTER_ULONG(&regs[CBD_REG_COMMAND / 4], p->Command);
	return TRUE;
}

/* Called with QueueLock held: starts the next queued IRP if the device is idle. */
static VOID CbdStartNextLocked(PCBD_EXTENSION ext)
{
	PIO_STACK_LOCATION stack;
	CBD_PROGRAM program;
	PLIST_ENTRY entry;
	PIRP irp;

	while (ext->ActiveIrp == NULL && !IsListEmpty(&ext->PendingIrps)) {
		entry = RemoveHeadList(&ext->PendingIrps);
		irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
		if (IoSetCancelRoutine(irp, NULL) == NULL) {
			/* The cancel routine is running and will complete it. */
			InitializeListHead(&irp->Tail.Overlay.ListEntry);
			continue;
		}
		ext->ActiveIrp = irp;
		stack = IoGetCurrentIrpStackLocation(irp);
		program.Ext = ext;
		if (stack->MajorFunction == IRP_MJ_WRITE) {
			program.Command = CBD_CMD_TO_DEVICE;
			program.Length = stack->Parameters.Write.Length;
			RtlCopyMemory(ext->CommonBuffer, irp->AssociatedIrp.SystemBuffer,
			              program.Length);
			/* The device reads the buffer: write the cached data back to memory. */
			KeFlushIoBuffers(ext->CommonBufferMdl, FALSE, TRUE);
		} else {
			program.Command = CBD_CMD_FROM_DEVICE;
			program.Length = stack->Parameters.Read.Length;
			/* The device writes the buffer: no dirty line may be evicted over it. */
			KeFlushIoBuffers(ext->CommonBufferMdl, TRUE, TRUE);
		}
		KeSynchronizeExecution(ext->Interrupt, CbdProgramDevice, &program);
	}
}

static VOID CbdCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)DeviceObject->DeviceExtension;
	KIRQL irql;

	IoReleaseCancelSpinLock(Irp->CancelIrql);
	KeAcquireSpinLock(&ext->QueueLock, &irql);
	RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
	KeReleaseSpinLock(&ext->QueueLock, irql);

	Irp->IoStatus.Status = STATUS_CANCELLED;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	if (InterlockedDecrement(&ext->OutstandingIo) == 0)
		KeSetEvent(&ext->StopEvent, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS CbdReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->MajorFunction == IRP_MJ_WRITE ? stack->Parameters.Write.Length
	                                                    : stack->Parameters.Read.Length;
	KIRQL irql;

	if (!ext->Started || length == 0 || length > CBD_BUFFER_SIZE) {
		Irp->IoStatus.Status =
		    ext->Started ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return Irp->IoStatus.Status;
	}

	InterlockedIncrement(&ext->OutstandingIo);
	KeAcquireSpinLock(&ext->QueueLock, &irql);
	IoSetCancelRoutine(Irp, CbdCancel);
	if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
		KeReleaseSpinLock(&ext->QueueLock, irql);
		Irp->IoStatus.Status = STATUS_CANCELLED;
		Irp->IoStatus.Information = 0;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		InterlockedDecrement(&ext->OutstandingIo);
		return STATUS_CANCELLED;
	}
	IoMarkIrpPending(Irp);
	InsertTailList(&ext->PendingIrps, &Irp->Tail.Overlay.ListEntry);
	CbdStartNextLocked(ext);
	KeReleaseSpinLock(&ext->QueueLock, irql);
	return STATUS_PENDING;
}

static BOOLEAN CbdIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = READ_REGISTER_ULONG(&ext->Registers[CBD_REG_STATUS / 4]);
	if ((status & (CBD_STATUS_DONE | CBD_STATUS_ERROR)) == 0)
		return FALSE;
	WRITE_REGISTER_ULONG(&ext->Registers[CBD_REG_STATUS / 4], status);
	ext->Status = status;
	ext->Count = READ_REGISTER_ULONG(&ext->Registers[CBD_REG_COUNT / 4]);
	KeInsertQueueDpc(&CbdCompletionDpc, NULL, NULL);
	return TRUE;
}

static VOID CbdDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)DeferredContext;
	PIO_STACK_LOCATION stack;
	PIRP irp;
	ULONG count;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(SystemArgument1);
	UNREFERENCED_PARAMETER(SystemArgument2);

	KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
	irp = ext->ActiveIrp;
	ext->ActiveIrp = NULL;
	KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);
	if (irp == NULL)
		return;

	stack = IoGetCurrentIrpStackLocation(irp);
	count = ext->Count;
	if (ext->Status & CBD_STATUS_ERROR) {
		irp->IoStatus.Status = STATUS_DEVICE_DATA_ERROR;
		irp->IoStatus.Information = 0;
	} else if (stack->MajorFunction == IRP_MJ_READ) {
		if (count > stack->Parameters.Read.Length)
			count = stack->Parameters.Read.Length;
		/* The device wrote memory behind the caches: drop stale lines, then read. */
		KeFlushIoBuffers(ext->CommonBufferMdl, TRUE, TRUE);
		RtlCopyMemory(irp->AssociatedIrp.SystemBuffer, ext->CommonBuffer, count);
		irp->IoStatus.Status = STATUS_SUCCESS;
		irp->IoStatus.Information = count;
	} else {
		irp->IoStatus.Status = STATUS_SUCCESS;
		irp->IoStatus.Information = stack->Parameters.Write.Length;
	}
	IoCompleteRequest(irp, IO_SOUND_INCREMENT);
	if (InterlockedDecrement(&ext->OutstandingIo) == 0)
		KeSetEvent(&ext->StopEvent, IO_NO_INCREMENT, FALSE);

	KeAcquireSpinLockAtDpcLevel(&ext->QueueLock);
	CbdStartNextLocked(ext);
	KeReleaseSpinLockFromDpcLevel(&ext->QueueLock);
}

static VOID CbdReleaseHardware(PCBD_EXTENSION ext)
{
	if (ext->Interrupt != NULL) {
		IoDisconnectInterrupt(ext->Interrupt);
		ext->Interrupt = NULL;
	}
	if (ext->CommonBufferMdl != NULL) {
		IoFreeMdl(ext->CommonBufferMdl);
		ext->CommonBufferMdl = NULL;
	}
	if (ext->CommonBuffer != NULL) {
		ext->DmaAdapter->DmaOperations->FreeCommonBuffer(ext->DmaAdapter, CBD_BUFFER_SIZE,
		                                                 ext->CommonBufferLogical,
		                                                 ext->CommonBuffer, TRUE);
		ext->CommonBuffer = NULL;
	}
	if (ext->DmaAdapter != NULL) {
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
		ext->DmaAdapter = NULL;
	}
	if (ext->Registers != NULL) {
		MmUnmapIoSpace((PVOID)ext->Registers, ext->RegistersLength);
		ext->Registers = NULL;
	}
}

static NTSTATUS CbdStartDevice(PCBD_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST partial;
	DEVICE_DESCRIPTION desc;
	ULONG i;
	ULONG vector = 0, level = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	NTSTATUS status;

	if (translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	partial = &translated->List[0].PartialResourceList;
	for (i = 0; i < partial->Count; i++) {
		PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[i];
		switch (d->Type) {
		case CmResourceTypeMemory:
			if (ext->Registers == NULL) {
				ext->Registers = (volatile ULONG *)MmMapIoSpace(
				    d->u.Memory.Start, d->u.Memory.Length, MmNonCached);
				ext->RegistersLength = d->u.Memory.Length;
			}
			break;
		case CmResourceTypeInterrupt:
			vector = d->u.Interrupt.Vector;
			level = d->u.Interrupt.Level;
			affinity = d->u.Interrupt.Affinity;
			if (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED)
				mode = Latched;
			break;
		default:
			break;
		}
	}
	if (ext->Registers == NULL || affinity == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION;
	desc.Master = TRUE;
	desc.ScatterGather = FALSE;
	desc.Dma32BitAddresses = TRUE;
	desc.InterfaceType = PCIBus;
	desc.MaximumLength = CBD_BUFFER_SIZE;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->DmaAdapter == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	ext->CommonBuffer = ext->DmaAdapter->DmaOperations->AllocateCommonBuffer(
	    ext->DmaAdapter, CBD_BUFFER_SIZE, &ext->CommonBufferLogical, TRUE);
	if (ext->CommonBuffer == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	ext->CommonBufferMdl =
	    IoAllocateMdl(ext->CommonBuffer, CBD_BUFFER_SIZE, FALSE, FALSE, NULL);
	if (ext->CommonBufferMdl == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	MmBuildMdlForNonPagedPool(ext->CommonBufferMdl);

	WRITE_REGISTER_ULONG(&ext->Registers[CBD_REG_BUF_ADDR_LO / 4],
	                     ext->CommonBufferLogical.LowPart);
	WRITE_REGISTER_ULONG(&ext->Registers[CBD_REG_BUF_ADDR_HI / 4],
	                     (ULONG)ext->CommonBufferLogical.HighPart);

	status = IoConnectInterrupt(&ext->Interrupt, CbdIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, TRUE, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail;

	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	CbdReleaseHardware(ext);
	return status;
}

static NTSTATUS CbdPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	LARGE_INTEGER timeout;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (IoForwardIrpSynchronously(ext->LowerDevice, Irp)) {
			status = Irp->IoStatus.Status;
			if (NT_SUCCESS(status))
				status = CbdStartDevice(
				    ext,
				    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		} else {
			status = STATUS_UNSUCCESSFUL;
		}
		Irp->IoStatus.Status = status;
		IoCompleteRequest(Irp, IO_NO_INCREMENT);
		return status;

	case IRP_MN_REMOVE_DEVICE:
		ext->Started = FALSE;
		if (ext->OutstandingIo != 0) {
			timeout.QuadPart = -10 * 1000 * 1000; /* 1 s, relative */
			KeWaitForSingleObject(&ext->StopEvent, Executive, KernelMode, FALSE,
			                      &timeout);
		}
		KeRemoveQueueDpc(&CbdCompletionDpc);
		CbdReleaseHardware(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(ext->LowerDevice, Irp);
		IoDetachDevice(ext->LowerDevice);
		IoDeleteDevice(DeviceObject);
		return status;

	case IRP_MN_SURPRISE_REMOVAL:
	case IRP_MN_STOP_DEVICE:
		ext->Started = FALSE;
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(ext->LowerDevice, Irp);
}

static NTSTATUS CbdPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PCBD_EXTENSION ext = (PCBD_EXTENSION)DeviceObject->DeviceExtension;
	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
