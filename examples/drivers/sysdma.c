/*
 * sysdma.c -- WDM function driver for sysblk, a disk on a system DMA (8237) channel.
 *
 * sysblk is an ISA-style disk of 512-byte sectors.  The driver writes a first sector and a
 * sector count into the device's I/O registers and then a READ or WRITE command; the device
 * asserts DREQ on its DMA channel and the system DMA controller moves the data between the disk
 * and memory.  The driver never touches the controller itself: the HAL's adapter object
 * programs it (MapTransfer) and drains it (FlushAdapterBuffers).
 *
 * Packet-based system DMA (wdm-dma-spec 5.1).  StartIo serialises the requests:
 *   StartIo        KeFlushIoBuffers(mdl, read, TRUE) (G1), then AllocateAdapterChannel for the
 *                  map registers the buffer spans, at most the adapter's NumberOfMapRegisters.
 *   AdapterControl MapTransfer of the first piece (programs the channel), one device command
 *                  for the whole request, KeepObject (G8).
 *   ISR            acknowledges the device's causes and queues the DpcForIsr.
 *   DpcForIsr      the channel stops at terminal count after each piece (the device interrupts
 *                  with TC and keeps DREQ asserted): FlushAdapterBuffers of that piece with its
 *                  MapTransfer's arguments (G3), then the next piece at CurrentVa += Length
 *                  (split loop, step 6); after the last flush FreeAdapterChannel (G7) and
 *                  completion with the flush's verdict (G6).
 * A piece is at most what the allocated map registers cover from its CurrentVa (G9), at most
 * MaximumLength, and a whole number of sectors.
 *
 * Buggy twins (built with -DDMACOH_BUG_<RULE>, one mistake each): C01, C07, C08, A01, A03,
 * A10 -- see the MISTAKE comments.
 *
 * sysblk registers (datasheet: docs/devices/sysblk.md), byte-wide I/O ports from the base; a
 * 16- or 32-bit access reaches consecutive registers, little-endian:
 *   +0x0 CMD (W)     1 READ (disk -> memory), 2 WRITE (memory -> disk), 3 ABORT
 *   +0x0 STATUS (R)  0x01 BUSY, 0x02 DRQ, 0x04 DONE, 0x08 ERR, 0x10 TC, 0x80 IRQ
 *   +0x1 ERROR (R)   of the last command: 0 none, 1 bad-cmd, 2 bad-range, 3 transfer, 4 aborted
 *   +0x2 IACK (W)    write 1s to clear causes (DONE, ERR, TC); CAUSES (R) reads them
 *   +0x3 CTRL (R/W)  0x01 IEN
 *   +0x4 LBA (32 bits)   +0x8 COUNT (16 bits, sectors)   +0xE ID (16 bits) = 0x5342
 * The device has no capacity register: the driver sizes the disk at start (a command past the
 * last sector is refused).
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("sysdma", "sysblk", "packet-based system DMA (8237): StartIo, split loop, DpcForIsr");

#define SYSBLK_REG_CMD 0x0
#define SYSBLK_REG_STATUS 0x0
#define SYSBLK_REG_ERROR 0x1
#define SYSBLK_REG_IACK 0x2
#define SYSBLK_REG_CAUSES 0x2
#define SYSBLK_REG_CTRL 0x3
#define SYSBLK_REG_LBA 0x4
#define SYSBLK_REG_COUNT 0x8
#define SYSBLK_REG_ID 0xE
#define SYSBLK_PORT_COUNT 16

#define SYSBLK_CMD_READ 0x01
#define SYSBLK_CMD_WRITE 0x02
#define SYSBLK_CMD_ABORT 0x03

#define SYSBLK_ST_BUSY 0x01
#define SYSBLK_ST_DONE 0x04
#define SYSBLK_ST_ERR 0x08
#define SYSBLK_ST_TC 0x10
#define SYSBLK_CAUSES (SYSBLK_ST_DONE | SYSBLK_ST_ERR | SYSBLK_ST_TC)

#define SYSBLK_CTRL_IEN 0x01
#define SYSBLK_ERROR_TRANSFER 3
#define SYSBLK_ID 0x5342
#define SYSBLK_SECTOR 512
#define SYSBLK_MAX_SECTORS 0xFFFF /* COUNT is 16 bits */

/* Bytes one operation of the controller moves; longer requests are split (G9). */
#define SYSDMA_MAX_PIECE 0x8000
/* Microseconds to wait for a refused command's ERR while sizing the disk. */
#define SYSDMA_PROBE_POLLS 100000

typedef struct _SYSDMA_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT LowerDevice;
	BOOLEAN Started;

	/* Hardware resources */
	PUCHAR Registers;
	ULONG RegistersLength;
	BOOLEAN RegistersMapped; /* memory space: MmMapIoSpace, READ/WRITE_REGISTER_* */
	PKINTERRUPT InterruptObject;
	PDMA_ADAPTER Adapter;
	ULONG MapRegisterCount; /* nMR: what IoGetDmaAdapter granted */
	ULONG AlignmentMask;    /* a buffer must start at a multiple of this + 1 */
	ULONGLONG Capacity;     /* bytes */

	/* The request in progress (StartIo to completion) */
	BOOLEAN Busy;
	BOOLEAN WriteToDevice;
	ULONG Length;
	ULONG FirstSector;
	ULONG RegistersAllocated; /* passed to AllocateAdapterChannel */
	PVOID MapRegisterBase;
	PUCHAR StartVa;   /* MmGetMdlVirtualAddress: an index into the MDL, never dereferenced */
	PUCHAR CurrentVa; /* where the piece in flight starts */
	ULONG PieceLength;
	BOOLEAN PieceMapped; /* MapTransfer'd and not yet flushed */
	ULONG Remaining;
	ULONG Transferred;
	BOOLEAN DeviceDone;
	BOOLEAN DeviceFailed;
	UCHAR LastError;
	volatile LONG Causes; /* gathered by the ISR, taken by the DPC */
} SYSDMA_EXTENSION, *PSYSDMA_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SysdmaAddDevice;
static DRIVER_UNLOAD SysdmaUnload;
static DRIVER_STARTIO SysdmaStartIo;
static DRIVER_CONTROL SysdmaAdapterControl;
static KSERVICE_ROUTINE SysdmaIsr;
static IO_DPC_ROUTINE SysdmaDpcForIsr;
static DRIVER_DISPATCH SysdmaCreateClose;
static DRIVER_DISPATCH SysdmaReadWrite;
static DRIVER_DISPATCH SysdmaDeviceControl;
static DRIVER_DISPATCH SysdmaPnp;
static DRIVER_DISPATCH SysdmaPower;

/* --- Register access: I/O ports, or the same registers mapped into memory space ---------- */

static UCHAR SysdmaRead8(PSYSDMA_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_UCHAR(ext->Registers + reg);
	return READ_PORT_UCHAR(ext->Registers + reg);
}

static USHORT SysdmaRead16(PSYSDMA_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg));
	return READ_PORT_USHORT((PUSHORT)(ext->Registers + reg));
}

static VOID SysdmaWrite8(PSYSDMA_EXTENSION ext, ULONG reg, UCHAR value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_UCHAR(ext->Registers + reg, value);
	else
		WRITE_PORT_UCHAR(ext->Registers + reg, value);
}

static VOID SysdmaWrite16(PSYSDMA_EXTENSION ext, ULONG reg, USHORT value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg), value);
	else
		WRITE_PORT_USHORT((PUSHORT)(ext->Registers + reg), value);
}

static VOID SysdmaWrite32(PSYSDMA_EXTENSION ext, ULONG reg, ULONG value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
	else
		WRITE_PORT_ULONG((PULONG)(ext->Registers + reg), value);
}

/* --- DriverEntry, AddDevice, Unload ------------------------------------------------------- */

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = SysdmaAddDevice;
	DriverObject->DriverUnload = SysdmaUnload;
	DriverObject->DriverStartIo = SysdmaStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = SysdmaCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = SysdmaCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = SysdmaReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SysdmaReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SysdmaDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SysdmaPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = SysdmaPower;
	return STATUS_SUCCESS;
}

static VOID SysdmaUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object went away with IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS SysdmaAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PSYSDMA_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(SYSDMA_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PSYSDMA_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS SysdmaCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS SysdmaCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return SysdmaCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* --- Read and write ------------------------------------------------------------------------ */

static NTSTATUS SysdmaReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length;
	LONGLONG offset;

	if (stack->MajorFunction == IRP_MJ_WRITE) {
		length = stack->Parameters.Write.Length;
		offset = stack->Parameters.Write.ByteOffset.QuadPart;
	} else {
		length = stack->Parameters.Read.Length;
		offset = stack->Parameters.Read.ByteOffset.QuadPart;
	}

	if (!ext->Started)
		return SysdmaCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return SysdmaCompleteNow(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || offset % SYSBLK_SECTOR != 0 || length % SYSBLK_SECTOR != 0 ||
	    length / SYSBLK_SECTOR > SYSBLK_MAX_SECTORS || (ULONGLONG)offset > ext->Capacity ||
	    length > ext->Capacity - (ULONGLONG)offset || Irp->MdlAddress == NULL ||
	    MmGetMdlByteCount(Irp->MdlAddress) < length ||
	    ((ULONG_PTR)MmGetMdlVirtualAddress(Irp->MdlAddress) & ext->AlignmentMask) != 0)
		return SysdmaCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

/* Completes the current request and starts the next one. */
static VOID SysdmaCompleteCurrent(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;

	ext->Busy = FALSE;
	Irp->IoStatus.Status = status;
#ifdef DMACOH_BUG_A10
	/* MISTAKE (A10): Information is set to the requested length whatever happened, so a
	 * failed request claims it moved every byte; callers that trust Information on failure
	 * use data that never arrived. */
	Irp->IoStatus.Information = ext->Length;
#else
	/* G6: the bytes moved on success, 0 with any failure. */
	Irp->IoStatus.Information = NT_SUCCESS(status) ? ext->Transferred : 0;
#endif
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* Maps the next piece at CurrentVa: MapTransfer loads the map registers and programs the
 * channel (its return value means nothing for system DMA). */
static VOID SysdmaMapPiece(PSYSDMA_EXTENSION ext, PMDL mdl)
{
	ULONG length = ext->Remaining;
	ULONG cap = ext->RegistersAllocated * PAGE_SIZE - BYTE_OFFSET(ext->CurrentVa);

	if (cap > SYSDMA_MAX_PIECE)
		cap = SYSDMA_MAX_PIECE;
#ifdef DMACOH_BUG_A03
	/* MISTAKE (A03): the whole rest of the request is mapped at once, as if the map registers
	 * were unlimited; a buffer that spans more pages than were allocated overruns them. */
	UNREFERENCED_PARAMETER(cap);
#else
	/* G9: no more than the allocated map registers cover from here, and whole sectors (the
	 * device counts sectors; a piece that split one would leave it to the next piece). */
	if (length > cap) {
		length = cap & ~(ULONG)(SYSBLK_SECTOR - 1);
		if (length == 0)
			length = cap;
	}
#endif
	(void)ext->Adapter->DmaOperations->MapTransfer(ext->Adapter, mdl, ext->MapRegisterBase,
	                                               ext->CurrentVa, &length, ext->WriteToDevice);
	ext->PieceLength = length;
	ext->PieceMapped = TRUE;
}

/* FlushAdapterBuffers for the piece in flight: drains what the controller still holds and
 * reports whether the transfer succeeded. */
static BOOLEAN SysdmaFlushPiece(PSYSDMA_EXTENSION ext, PMDL mdl)
{
#if defined(DMACOH_BUG_C07)
	/* MISTAKE (C07): the piece is taken as finished at terminal count and never flushed: bytes
	 * still in the controller's buffer reach memory late (over the next transfer) or never
	 * reach the device.  Everything else (freeing the channel, completion) is as usual. */
	UNREFERENCED_PARAMETER(ext);
	UNREFERENCED_PARAMETER(mdl);
	return TRUE;
#elif defined(DMACOH_BUG_A01)
	/* MISTAKE (A01): flushes from the start of the IRP's buffer, not from where this piece's
	 * MapTransfer started; right for the first piece only, every later flush names the wrong
	 * range (with bounce buffers, read data is copied back to the wrong place). */
	return ext->Adapter->DmaOperations->FlushAdapterBuffers(
	    ext->Adapter, mdl, ext->MapRegisterBase, ext->StartVa, ext->PieceLength,
	    ext->WriteToDevice);
#else
	/* G3: exactly the MapTransfer's Mdl, MapRegisterBase, CurrentVa, Length and direction. */
	return ext->Adapter->DmaOperations->FlushAdapterBuffers(
	    ext->Adapter, mdl, ext->MapRegisterBase, ext->CurrentVa, ext->PieceLength,
	    ext->WriteToDevice);
#endif
}

static VOID SysdmaStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PMDL mdl = Irp->MdlAddress;
	LONGLONG offset;
	ULONG need;
	NTSTATUS status;

	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	if (ext->WriteToDevice) {
		ext->Length = stack->Parameters.Write.Length;
		offset = stack->Parameters.Write.ByteOffset.QuadPart;
	} else {
		ext->Length = stack->Parameters.Read.Length;
		offset = stack->Parameters.Read.ByteOffset.QuadPart;
	}
	ext->FirstSector = (ULONG)(offset / SYSBLK_SECTOR);
	ext->StartVa = (PUCHAR)MmGetMdlVirtualAddress(mdl);
	ext->CurrentVa = ext->StartVa;
	ext->Remaining = ext->Length;
	ext->Transferred = 0;
	ext->PieceLength = 0;
	ext->PieceMapped = FALSE;
	ext->DeviceDone = FALSE;
	ext->DeviceFailed = FALSE;
	ext->LastError = 0;
	InterlockedExchange(&ext->Causes, 0);
	ext->Busy = TRUE;

#ifdef DMACOH_BUG_C01
	/* MISTAKE (C01): the buffer is flushed only before reads, as if a write needed nothing;
	 * what the application just wrote may still sit in dirty cache lines, and the controller
	 * reads stale memory. */
	if (!ext->WriteToDevice)
		KeFlushIoBuffers(mdl, TRUE, TRUE);
#else
	/* G1: before the transfer starts, for either direction. */
	KeFlushIoBuffers(mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);
#endif

	/* G9: as many map registers as the buffer spans, never more than the adapter has. */
	need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->StartVa, ext->Length);
	ext->RegistersAllocated = need < ext->MapRegisterCount ? need : ext->MapRegisterCount;
	status = ext->Adapter->DmaOperations->AllocateAdapterChannel(
	    ext->Adapter, DeviceObject, ext->RegistersAllocated, SysdmaAdapterControl, ext);
	if (!NT_SUCCESS(status))
		SysdmaCompleteCurrent(DeviceObject, Irp, status);
}

static IO_ALLOCATION_ACTION SysdmaAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID MapRegisterBase, PVOID Context)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)Context;

	UNREFERENCED_PARAMETER(DeviceObject);
	ext->MapRegisterBase = MapRegisterBase;
	SysdmaMapPiece(ext, Irp->MdlAddress);

	/* One command for the whole request: the device keeps DREQ asserted across the pieces. */
	SysdmaWrite32(ext, SYSBLK_REG_LBA, ext->FirstSector);
	SysdmaWrite16(ext, SYSBLK_REG_COUNT, (USHORT)(ext->Length / SYSBLK_SECTOR));
	SysdmaWrite8(ext, SYSBLK_REG_CMD, ext->WriteToDevice ? SYSBLK_CMD_WRITE : SYSBLK_CMD_READ);

	/* G8: system DMA keeps the channel; the DPC maps the later pieces. */
	return KeepObject;
}

static BOOLEAN SysdmaIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)ServiceContext;
	UCHAR causes;

	UNREFERENCED_PARAMETER(Interrupt);
	causes = SysdmaRead8(ext, SYSBLK_REG_CAUSES) & SYSBLK_CAUSES;
	if (causes == 0)
		return FALSE; /* not ours */
	if (causes & SYSBLK_ST_ERR)
		ext->LastError = SysdmaRead8(ext, SYSBLK_REG_ERROR);
	SysdmaWrite8(ext, SYSBLK_REG_IACK, causes);
	InterlockedOr(&ext->Causes, causes);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* Ends the request after its last flush (or after a failed one): G7, then G6. */
static VOID SysdmaFinish(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;

	if (!NT_SUCCESS(status) && (SysdmaRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY))
		SysdmaWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
	ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter);
	ext->MapRegisterBase = NULL;
	SysdmaCompleteCurrent(DeviceObject, Irp, status);
}

static VOID SysdmaDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;
	LONG causes = InterlockedExchange(&ext->Causes, 0);
	PMDL mdl;
	BOOLEAN flushed;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Context);
	/* The IRP the ISR saw may have been completed by an earlier run of this DPC. */
	Irp = DeviceObject->CurrentIrp;
	if (Irp == NULL || !ext->Busy || causes == 0)
		return;
	mdl = Irp->MdlAddress;
	if (causes & SYSBLK_ST_DONE)
		ext->DeviceDone = TRUE;
	if (causes & SYSBLK_ST_ERR)
		ext->DeviceFailed = TRUE;

	if (ext->PieceMapped) {
		/* Any cause ends the piece in flight: terminal count, or the command ended. */
		ext->PieceMapped = FALSE;
		flushed = SysdmaFlushPiece(ext, mdl);
#ifdef DMACOH_BUG_C08
		/* MISTAKE (C08): the drain's verdict is only logged; the piece counts as moved and
		 * the request can complete with success although the transfer failed. */
		if (!flushed)
			KdPrint(("sysdma: FlushAdapterBuffers failed\n"));
#else
		/* G6: the drain's result is the transfer's status (sysblk reports a medium error to
		 * its DMA channel, so the flush fails for it). */
		if (!flushed) {
			SysdmaFinish(DeviceObject, Irp, STATUS_DEVICE_DATA_ERROR);
			return;
		}
#endif
		ext->Transferred += ext->PieceLength;
		ext->Remaining -= ext->PieceLength;
#ifdef DMACOH_BUG_A13
		/* MISTAKE (A13): the split loop forgets to advance CurrentVa: every piece is mapped
		 * (and flushed, consistently) at the start of the buffer, so its first bytes are
		 * transferred again and again and the rest never. */
#else
		ext->CurrentVa += ext->PieceLength;
#endif
	}

	/* The command ended with ERR.  A medium error (ERROR = transfer) was the flush's to report,
	 * above; anything else means sectors did not move although the channel saw no error. */
	if (ext->DeviceFailed && (ext->Remaining != 0 || ext->LastError != SYSBLK_ERROR_TRANSFER)) {
		SysdmaFinish(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
		return;
	}

	if (ext->Remaining != 0) {
		if (ext->DeviceDone) {
			SysdmaFinish(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
			return;
		}
		/* Split loop: the next piece; the device still asserts DREQ. */
		SysdmaMapPiece(ext, mdl);
		return;
	}

	/* All pieces flushed.  A write's last bytes may have reached the device only with that
	 * flush: it completes (DONE) a moment later. */
	if (!ext->DeviceDone && !ext->DeviceFailed)
		return;
	SysdmaFinish(DeviceObject, Irp, STATUS_SUCCESS);
}

/* --- Device control ------------------------------------------------------------------------ */

static NTSTATUS SysdmaDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG capacity;

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return SysdmaCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return SysdmaCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		capacity = ext->Capacity;
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
		return SysdmaCompleteNow(Irp, STATUS_SUCCESS, sizeof(capacity));
	default:
		return SysdmaCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- Start and stop ------------------------------------------------------------------------ */

/* Is there a sector at lba?  An accepted command is BUSY at once and is aborted before it
 * asserts DREQ; a refused one reports ERR after the command latency, which is waited for so
 * that it cannot land on the next command.  Interrupts are off meanwhile. */
static BOOLEAN SysdmaSectorExists(PSYSDMA_EXTENSION ext, ULONG lba)
{
	ULONG i;

	SysdmaWrite32(ext, SYSBLK_REG_LBA, lba);
	SysdmaWrite16(ext, SYSBLK_REG_COUNT, 1);
	SysdmaWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_READ);
	if (SysdmaRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY) {
		SysdmaWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
		return TRUE;
	}
	for (i = 0; i < SYSDMA_PROBE_POLLS; i++) {
		if (SysdmaRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_ERR)
			break;
		KeStallExecutionProcessor(1);
	}
	SysdmaWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	return FALSE;
}

/* The disk's size in bytes: a binary search for its last sector (LBA is 32 bits). */
static ULONGLONG SysdmaProbeCapacity(PSYSDMA_EXTENSION ext)
{
	ULONGLONG present = 0, absent = 0x100000000ULL, mid;

	if (!SysdmaSectorExists(ext, 0))
		return 0;
	while (absent - present > 1) {
		mid = present + (absent - present) / 2;
		if (SysdmaSectorExists(ext, (ULONG)mid))
			present = mid;
		else
			absent = mid;
	}
	return (present + 1) * SYSBLK_SECTOR;
}

/* Gives back everything START_DEVICE took, in reverse order (G14: the adapter last of the
 * DMA resources). */
static VOID SysdmaReleaseHardware(PSYSDMA_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		SysdmaWrite8(ext, SYSBLK_REG_CTRL, 0);
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
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

static NTSTATUS SysdmaStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST translated)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)fdo->DeviceExtension;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS registersPa;
	BOOLEAN haveRegisters = FALSE, registersInMemory = FALSE, haveInterrupt = FALSE,
	        haveDma = FALSE, shareVector = FALSE;
	ULONG vector = 0, dmaChannel = 0, dmaPort = 0, busNumber = 0, i, j;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	INTERFACE_TYPE bus = Isa;
	DMA_WIDTH width = Width8Bits;
	NTSTATUS status;

	registersPa.QuadPart = 0;
	if (translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (i = 0; i < translated->Count; i++) {
		PCM_FULL_RESOURCE_DESCRIPTOR full = &translated->List[i];
		PCM_PARTIAL_RESOURCE_LIST partial = &full->PartialResourceList;

		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];

			switch (d->Type) {
			case CmResourceTypePort:
				registersPa = d->u.Port.Start;
				ext->RegistersLength = d->u.Port.Length;
				registersInMemory = (d->Flags & CM_RESOURCE_PORT_IO) == 0;
				haveRegisters = TRUE;
				bus = full->InterfaceType;
				busNumber = full->BusNumber;
				break;
			case CmResourceTypeMemory:
				registersPa = d->u.Memory.Start;
				ext->RegistersLength = d->u.Memory.Length;
				registersInMemory = TRUE;
				haveRegisters = TRUE;
				break;
			case CmResourceTypeInterrupt:
				irql = (KIRQL)d->u.Interrupt.Level;
				vector = d->u.Interrupt.Vector;
				affinity = d->u.Interrupt.Affinity;
				mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched
				                                                  : LevelSensitive;
				shareVector = d->ShareDisposition == CmResourceShareShared;
				haveInterrupt = TRUE;
				break;
			case CmResourceTypeDma:
				dmaChannel = d->u.Dma.Channel;
				dmaPort = d->u.Dma.Port;
				width = ((d->Flags & CM_RESOURCE_DMA_16) || dmaChannel >= 4)
				            ? Width16Bits
				            : Width8Bits;
				haveDma = TRUE;
				break;
			default:
				break;
			}
		}
	}
	if (!haveRegisters || !haveInterrupt || !haveDma ||
	    ext->RegistersLength < SYSBLK_PORT_COUNT)
		return STATUS_DEVICE_CONFIGURATION_ERROR;

	if (registersInMemory) {
		ext->Registers =
		    (PUCHAR)MmMapIoSpace(registersPa, ext->RegistersLength, MmNonCached);
		if (ext->Registers == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
		ext->RegistersMapped = TRUE;
	} else {
		ext->Registers = (PUCHAR)(ULONG_PTR)registersPa.QuadPart;
	}
	if (SysdmaRead16(ext, SYSBLK_REG_ID) != SYSBLK_ID) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	/* Size the disk with the device's interrupt off. */
	SysdmaWrite8(ext, SYSBLK_REG_CTRL, 0);
	ext->Capacity = SysdmaProbeCapacity(ext);
	SysdmaWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	if (ext->Capacity == 0) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	/* G14: a zeroed description; a subordinate device on its channel. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.DemandMode = TRUE; /* sysblk holds DREQ for the whole command */
	desc.AutoInitialize = FALSE;
	desc.IgnoreCount = FALSE;
	desc.Dma32BitAddresses = FALSE;
	desc.BusNumber = busNumber;
	desc.DmaChannel = dmaChannel;
	desc.DmaPort = dmaPort;
	desc.InterfaceType = bus;
	desc.DmaWidth = width;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = SYSDMA_MAX_PIECE;
	ext->Adapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->Adapter == NULL || ext->MapRegisterCount == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	/* A 16-bit channel addresses words: the map registers keep a buffer's offset in its page,
	 * so an odd buffer cannot be programmed at all. */
	ext->AlignmentMask = ext->Adapter->DmaOperations->GetDmaAlignment(ext->Adapter);
	ext->AlignmentMask = ext->AlignmentMask != 0 ? ext->AlignmentMask - 1 : 0;
	if (width == Width16Bits)
		ext->AlignmentMask |= 1;
	fdo->AlignmentRequirement = ext->AlignmentMask;

	/* The DPC first: the ISR may queue it as soon as it is connected. */
	IoInitializeDpcRequest(fdo, SysdmaDpcForIsr);
	status = IoConnectInterrupt(&ext->InterruptObject, SysdmaIsr, ext, NULL, vector, irql, irql,
	                            mode, shareVector, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}
	SysdmaWrite8(ext, SYSBLK_REG_CTRL, SYSBLK_CTRL_IEN);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	SysdmaReleaseHardware(ext);
	return status;
}

static NTSTATUS SysdmaPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = SysdmaStartDevice(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return SysdmaCompleteNow(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		SysdmaReleaseHardware(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		SysdmaReleaseHardware(ext);
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

static NTSTATUS SysdmaPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSYSDMA_EXTENSION ext = (PSYSDMA_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
