/*
 * hostile.h -- the correct base every hostile test driver (tests/hostile/NAME.c) is built on: a
 * small polled sysblk driver (packet system DMA, one 8237 command per piece, completion in the
 * dispatch routine) that moves every byte right, so the one misbehaviour of each case is the
 * only thing wrong with it.  It does not use StartIo, queue requests or wait for interrupts:
 * it keeps the device's interrupt off and polls STATUS at DISPATCH_LEVEL.
 *
 * A case file includes this header, writes its own DriverEntry (calling HostileInit first) and
 * plugs its misbehaviour into one of the hooks below, or replaces a MajorFunction entry.  The
 * line where dmacoh must report the finding carries a trailing comment
 *     EXPECT: RULE        (e.g. X01; exactly one per file)
 * in C comment delimiters, and a case that cannot pass until someone else's work is merged a
 * second one on the same line,
 *     PENDING: who/what
 * that makes tests/test_hostile.c report it as pending instead of failing (docs/hostile.md).
 *
 * Hooks (Hostile.*; all optional):
 *   Start(ext)  at the end of a successful IRP_MN_START_DEVICE; its status is START's.
 *   Isr(ext)    from the ISR after the causes are acknowledged.  Setting it (or Dpc) makes
 *               START_DEVICE raise one interrupt (a refused command: ERR) and wait for it.
 *   Dpc(ext)    from the DpcForIsr the ISR queues.
 *   Io(ext, irp)  before every read or write is moved; a status other than STATUS_SUCCESS
 *               ends the request there (STATUS_PENDING: the hook completed or kept the IRP).
 * Workload: sector-aligned offsets, multiples of 512 bytes, page-aligned buffers (align=page).
 */
#ifndef DMACOH_TESTS_HOSTILE_H
#define DMACOH_TESTS_HOSTILE_H

#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

#define HOSTILE_REG_CMD 0x0
#define HOSTILE_REG_STATUS 0x0
#define HOSTILE_REG_CAUSES 0x2
#define HOSTILE_REG_IACK 0x2
#define HOSTILE_REG_CTRL 0x3
#define HOSTILE_REG_LBA 0x4
#define HOSTILE_REG_COUNT 0x8
#define HOSTILE_CMD_READ 0x01
#define HOSTILE_CMD_WRITE 0x02
#define HOSTILE_ST_DONE 0x04
#define HOSTILE_ST_ERR 0x08
#define HOSTILE_CAUSES 0x1C
#define HOSTILE_SECTOR 512
#define HOSTILE_MAX_PIECE 0x8000
/* sysblk's default disk (1 MiB); the workload uses what IOCTL_DMACOH_QUERY_CAPACITY says. */
#define HOSTILE_CAPACITY (1024 * 1024)
#define HOSTILE_POLLS 1000000

typedef struct _HOSTILE_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT Lower;
	BOOLEAN Started;
	PUCHAR Registers;
	ULONG RegistersLength;
	BOOLEAN RegistersMapped;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER Adapter;
	ULONG MapRegisterCount;
	PVOID MapRegisterBase;
	volatile LONG Interrupts;
	volatile LONG Dpcs;
	ULONG Scratch[16]; /* for the cases: memory in the simulated kernel */
} HOSTILE_EXTENSION, *PHOSTILE_EXTENSION;

typedef struct _HOSTILE_HOOKS {
	NTSTATUS (*Start)(PHOSTILE_EXTENSION ext);
	VOID (*Isr)(PHOSTILE_EXTENSION ext);
	VOID (*Dpc)(PHOSTILE_EXTENSION ext);
	NTSTATUS (*Io)(PHOSTILE_EXTENSION ext, PIRP irp);
} HOSTILE_HOOKS;

static HOSTILE_HOOKS Hostile;

static UCHAR HostileRead8(PHOSTILE_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_UCHAR(ext->Registers + reg);
	return READ_PORT_UCHAR(ext->Registers + reg);
}

static VOID HostileWrite8(PHOSTILE_EXTENSION ext, ULONG reg, UCHAR value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_UCHAR(ext->Registers + reg, value);
	else
		WRITE_PORT_UCHAR(ext->Registers + reg, value);
}

static VOID HostileWrite16(PHOSTILE_EXTENSION ext, ULONG reg, USHORT value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg), value);
	else
		WRITE_PORT_USHORT((PUSHORT)(ext->Registers + reg), value);
}

static VOID HostileWrite32(PHOSTILE_EXTENSION ext, ULONG reg, ULONG value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
	else
		WRITE_PORT_ULONG((PULONG)(ext->Registers + reg), value);
}

static NTSTATUS HostileComplete(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

/* --- Read and write: polled packet DMA, one command per piece ------------------------------ */

static IO_ALLOCATION_ACTION HostileAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                  PVOID MapRegisterBase, PVOID Context)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	((PHOSTILE_EXTENSION)Context)->MapRegisterBase = MapRegisterBase;
	return KeepObject;
}

/* Moves one piece at va: MapTransfer programs the channel, the device runs one command, the
 * poll waits for it, FlushAdapterBuffers drains the controller (G3) and gives the verdict. */
static BOOLEAN HostilePiece(PHOSTILE_EXTENSION ext, PMDL mdl, PUCHAR va, ULONG length, ULONG lba,
                            BOOLEAN write)
{
	ULONG mapped = length, i;
	UCHAR status = 0;
	BOOLEAN flushed;

	(void)ext->Adapter->DmaOperations->MapTransfer(ext->Adapter, mdl, ext->MapRegisterBase, va,
	                                               &mapped, write);
	HostileWrite32(ext, HOSTILE_REG_LBA, lba);
	HostileWrite16(ext, HOSTILE_REG_COUNT, (USHORT)(length / HOSTILE_SECTOR));
	HostileWrite8(ext, HOSTILE_REG_CMD, write ? HOSTILE_CMD_WRITE : HOSTILE_CMD_READ);
	for (i = 0; i < HOSTILE_POLLS; i++) {
		status = HostileRead8(ext, HOSTILE_REG_STATUS);
		if (status & (HOSTILE_ST_DONE | HOSTILE_ST_ERR))
			break;
		KeStallExecutionProcessor(10);
	}
	flushed = ext->Adapter->DmaOperations->FlushAdapterBuffers(
	    ext->Adapter, mdl, ext->MapRegisterBase, va, mapped, write);
	HostileWrite8(ext, HOSTILE_REG_IACK, HOSTILE_CAUSES);
	return flushed && mapped == length && (status & HOSTILE_ST_DONE) &&
	       !(status & HOSTILE_ST_ERR);
}

static NTSTATUS HostileTransfer(PHOSTILE_EXTENSION ext, PIRP Irp, ULONG length, ULONG lba,
                                BOOLEAN write)
{
	PMDL mdl = Irp->MdlAddress;
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(mdl);
	ULONG need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, length), piece, cap;
	NTSTATUS status = STATUS_SUCCESS;
	KIRQL old;

	if (need > ext->MapRegisterCount)
		need = ext->MapRegisterCount;
	KeFlushIoBuffers(mdl, (BOOLEAN)!write, TRUE); /* G1 */
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	ext->MapRegisterBase = NULL;
	status = ext->Adapter->DmaOperations->AllocateAdapterChannel(ext->Adapter, ext->Self, need,
	                                                             HostileAdapterControl, ext);
	if (NT_SUCCESS(status) && ext->MapRegisterBase == NULL)
		status = STATUS_DEVICE_BUSY; /* the channel is free whenever a request runs */
	while (NT_SUCCESS(status) && length != 0) {
		cap = need * PAGE_SIZE - BYTE_OFFSET(va);
		if (cap > HOSTILE_MAX_PIECE)
			cap = HOSTILE_MAX_PIECE;
		piece = length < cap ? length : cap & ~(ULONG)(HOSTILE_SECTOR - 1);
		if (piece == 0 || !HostilePiece(ext, mdl, va, piece, lba, write)) {
			status = piece == 0 ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_DATA_ERROR;
			break;
		}
		va += piece;
		lba += piece / HOSTILE_SECTOR;
		length -= piece;
	}
	if (ext->MapRegisterBase != NULL)
		ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter); /* G7 */
	KeLowerIrql(old);
	return status;
}

static NTSTATUS HostileReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	BOOLEAN write = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ULONG length = write ? stack->Parameters.Write.Length : stack->Parameters.Read.Length;
	LONGLONG offset = write ? stack->Parameters.Write.ByteOffset.QuadPart
	                        : stack->Parameters.Read.ByteOffset.QuadPart;
	NTSTATUS status;

	if (!ext->Started)
		return HostileComplete(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return HostileComplete(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || offset % HOSTILE_SECTOR != 0 || length % HOSTILE_SECTOR != 0 ||
	    offset > HOSTILE_CAPACITY || length > HOSTILE_CAPACITY - offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return HostileComplete(Irp, STATUS_INVALID_PARAMETER, 0);
	if (Hostile.Io != NULL) {
		status = Hostile.Io(ext, Irp);
		if (status == STATUS_PENDING)
			return status;
		if (status != STATUS_SUCCESS)
			return HostileComplete(Irp, status, 0);
	}
	status = HostileTransfer(ext, Irp, length, (ULONG)(offset / HOSTILE_SECTOR), write);
	return HostileComplete(Irp, status, NT_SUCCESS(status) ? length : 0);
}

static NTSTATUS HostileCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return HostileComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS HostileDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG capacity = HOSTILE_CAPACITY;

	if (stack->Parameters.DeviceIoControl.IoControlCode != IOCTL_DMACOH_QUERY_CAPACITY)
		return HostileComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	if (!ext->Started)
		return HostileComplete(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(capacity))
		return HostileComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
	RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
	return HostileComplete(Irp, STATUS_SUCCESS, sizeof(capacity));
}

/* --- Interrupt: off except for one refused command when a case hooks the ISR or DPC -------- */

static BOOLEAN HostileIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)ServiceContext;
	UCHAR causes = HostileRead8(ext, HOSTILE_REG_CAUSES) & HOSTILE_CAUSES;

	UNREFERENCED_PARAMETER(Interrupt);
	if (causes == 0)
		return FALSE;
	HostileWrite8(ext, HOSTILE_REG_IACK, causes);
	InterlockedIncrement(&ext->Interrupts);
	if (Hostile.Isr != NULL)
		Hostile.Isr(ext);
	IoRequestDpc(ext->Self, NULL, NULL);
	return TRUE;
}

static VOID HostileDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	InterlockedIncrement(&ext->Dpcs);
	if (Hostile.Dpc != NULL)
		Hostile.Dpc(ext);
}

/* A command past the disk's end: refused, ERR after the latency, one interrupt. */
static VOID HostileRaiseInterrupt(PHOSTILE_EXTENSION ext)
{
	ULONG i;

	HostileWrite8(ext, HOSTILE_REG_CTRL, 0x01);
	HostileWrite32(ext, HOSTILE_REG_LBA, 0xFFFFFFF0u);
	HostileWrite16(ext, HOSTILE_REG_COUNT, 1);
	HostileWrite8(ext, HOSTILE_REG_CMD, HOSTILE_CMD_READ);
	for (i = 0; i < 10000 && ext->Dpcs == 0; i++)
		KeStallExecutionProcessor(10);
	HostileWrite8(ext, HOSTILE_REG_CTRL, 0);
	HostileWrite8(ext, HOSTILE_REG_IACK, HOSTILE_CAUSES);
}

/* --- PnP ------------------------------------------------------------------------------------ */

static VOID HostileRelease(PHOSTILE_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->Interrupt != NULL) {
		HostileWrite8(ext, HOSTILE_REG_CTRL, 0);
		IoDisconnectInterrupt(ext->Interrupt);
		ext->Interrupt = NULL;
	}
	if (ext->Adapter != NULL) {
		ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
		ext->Adapter = NULL;
	}
	if (ext->RegistersMapped && ext->Registers != NULL)
		MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	ext->RegistersMapped = FALSE;
}

static NTSTATUS HostileStart(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST res)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)fdo->DeviceExtension;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS pa;
	BOOLEAN regs = FALSE, irq = FALSE, dma = FALSE, shared = FALSE;
	ULONG vector = 0, channel = 0, port = 0, i, j;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	DMA_WIDTH width = Width8Bits;
	NTSTATUS status;

	pa.QuadPart = 0;
	if (res == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (i = 0; i < res->Count; i++) {
		PCM_PARTIAL_RESOURCE_LIST partial = &res->List[i].PartialResourceList;

		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];

			if (d->Type == CmResourceTypePort) {
				pa = d->u.Port.Start;
				ext->RegistersLength = d->u.Port.Length;
				ext->RegistersMapped = (d->Flags & CM_RESOURCE_PORT_IO) == 0;
				regs = TRUE;
			} else if (d->Type == CmResourceTypeMemory) {
				pa = d->u.Memory.Start;
				ext->RegistersLength = d->u.Memory.Length;
				ext->RegistersMapped = TRUE;
				regs = TRUE;
			} else if (d->Type == CmResourceTypeInterrupt) {
				irql = (KIRQL)d->u.Interrupt.Level;
				vector = d->u.Interrupt.Vector;
				affinity = d->u.Interrupt.Affinity;
				mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched
				                                                  : LevelSensitive;
				shared = d->ShareDisposition == CmResourceShareShared;
				irq = TRUE;
			} else if (d->Type == CmResourceTypeDma) {
				channel = d->u.Dma.Channel;
				port = d->u.Dma.Port;
				width = ((d->Flags & CM_RESOURCE_DMA_16) || channel >= 4)
				            ? Width16Bits
				            : Width8Bits;
				dma = TRUE;
			}
		}
	}
	if (!regs || !irq || !dma || ext->RegistersLength < 16)
		return STATUS_DEVICE_CONFIGURATION_ERROR;
	if (ext->RegistersMapped) {
		ext->Registers = (PUCHAR)MmMapIoSpace(pa, ext->RegistersLength, MmNonCached);
		if (ext->Registers == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
	} else {
		ext->Registers = (PUCHAR)(ULONG_PTR)pa.QuadPart;
	}
	HostileWrite8(ext, HOSTILE_REG_CTRL, 0);

	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.DemandMode = TRUE;
	desc.DmaChannel = channel;
	desc.DmaPort = port;
	desc.InterfaceType = Isa;
	desc.DmaWidth = width;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = HOSTILE_MAX_PIECE;
	ext->Adapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->Adapter == NULL || ext->MapRegisterCount == 0) {
		HostileRelease(ext);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	IoInitializeDpcRequest(fdo, HostileDpcForIsr);
	status = IoConnectInterrupt(&ext->Interrupt, HostileIsr, ext, NULL, vector, irql, irql,
	                            mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->Interrupt = NULL;
		HostileRelease(ext);
		return status;
	}
	ext->Started = TRUE;
	if (Hostile.Isr != NULL || Hostile.Dpc != NULL)
		HostileRaiseInterrupt(ext);
	return Hostile.Start != NULL ? Hostile.Start(ext) : STATUS_SUCCESS;
}

static NTSTATUS HostilePnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->Lower;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		status = IoForwardIrpSynchronously(lower, Irp) ? Irp->IoStatus.Status
		                                               : STATUS_UNSUCCESSFUL;
		if (NT_SUCCESS(status))
			status = HostileStart(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return HostileComplete(Irp, status, 0);
	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		HostileRelease(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;
	case IRP_MN_REMOVE_DEVICE:
		HostileRelease(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		IoDetachDevice(lower);
		IoDeleteDevice(DeviceObject);
		return status;
	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;
	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(lower, Irp);
}

static NTSTATUS HostilePower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PHOSTILE_EXTENSION ext = (PHOSTILE_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->Lower, Irp);
}

static NTSTATUS HostileAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
	PDEVICE_OBJECT fdo;
	PHOSTILE_EXTENSION ext;
	NTSTATUS status = IoCreateDevice(DriverObject, sizeof(HOSTILE_EXTENSION), NULL,
	                                 FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);

	if (!NT_SUCCESS(status))
		return status;
	ext = (PHOSTILE_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = Pdo;
	ext->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
	if (ext->Lower == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static VOID HostileUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

/* Fills the driver object; a case's DriverEntry calls it first. */
static VOID HostileInit(PDRIVER_OBJECT DriverObject)
{
	DriverObject->DriverExtension->AddDevice = HostileAddDevice;
	DriverObject->DriverUnload = HostileUnload;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = HostileCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = HostileCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = HostileReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = HostileReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HostileDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = HostilePnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = HostilePower;
}

DRIVER_INITIALIZE DriverEntry;

#endif
