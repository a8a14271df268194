/*
 * autoinit.c -- WDM function driver for sysblk through an auto-initialize common buffer.
 *
 * The system DMA controller runs in auto-initialize mode around a small ring in a common
 * buffer, the way ISA sound and tape drivers stream: the channel is programmed once per request
 * over the whole ring and reloads itself at every terminal count, while the driver copies data
 * between the ring and the caller's buffer as the transfer progresses (wdm-dma-spec 5.2).
 *
 *   START_DEVICE   IoGetDmaAdapter with AutoInitialize; AllocateCommonBuffer(CacheEnabled=TRUE)
 *                  of two pages; IoAllocateMdl + MmBuildMdlForNonPagedPool for it (G2 needs an
 *                  MDL to flush it).
 *   StartIo        a write copies the first ring-full in and flushes the ring (G2); a read
 *                  flushes it before the device writes into it.  AllocateAdapterChannel.
 *   AdapterControl MapTransfer ONCE over the whole ring, one device command for the whole
 *                  request, arms the poll timer, KeepObject (G8).
 *   poll DPC       every AUTOINIT_POLL_US: ReadDmaCounter gives the channel's place in the ring.
 *                  Read: KeFlushIoBuffers(ring) before reading what the device wrote (G2), copy
 *                  out, KeFlushIoBuffers(ring) again to hand those lines back to the device for
 *                  its next lap.  Write: refill what the controller has read, KeFlushIoBuffers.
 *   DpcForIsr      TC (a lap ended) services the ring too; DONE or ERR ends the request:
 *                  FlushAdapterBuffers (drains the controller), FreeAdapterChannel, the last
 *                  copy, KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE) after filling the
 *                  caller's buffer by CPU (P1), completion.
 *   STOP/REMOVE    IoFreeMdl, FreeCommonBuffer, then PutDmaAdapter (G14).
 * There is no flow control between the device and the ring: a driver that falls more than a
 * ring behind fails the request (STATUS_DATA_OVERRUN / STATUS_DATA_LATE_ERROR).  For a read,
 * bytes within AUTOINIT_HELD_MAX of the channel's count may still be in the controller's
 * internal buffer, so they are copied only after the final drain.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>): C04, A05 -- see the MISTAKE comments.
 *
 * sysblk registers (docs/devices/sysblk.md), byte-wide I/O ports from the base:
 *   +0x0 CMD (W) 1 READ, 2 WRITE, 3 ABORT   STATUS (R) 0x01 BUSY, 0x04 DONE, 0x08 ERR, 0x10 TC
 *   +0x1 ERROR (R)  +0x2 IACK (W: 1s clear causes) / CAUSES (R)  +0x3 CTRL (0x01 IEN)
 *   +0x4 LBA (32 bits)  +0x8 COUNT (16 bits, sectors)  +0xE ID (16 bits) = 0x5342
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("autoinit", "sysblk",
              "common-buffer system DMA: auto-initialize ring, ReadDmaCounter polling");

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
#define SYSBLK_ID 0x5342
#define SYSBLK_SECTOR 512
#define SYSBLK_MAX_SECTORS 0xFFFF

#define AUTOINIT_RING (2 * PAGE_SIZE) /* the common buffer the channel runs around */
#define AUTOINIT_HELD_MAX 1024        /* the controller holds back fewer bytes than this */
#define AUTOINIT_POLL_US 100          /* well under a lap at ISA rates */
#define AUTOINIT_PROBE_POLLS 100000

typedef struct _AUTOINIT_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT LowerDevice;
	BOOLEAN Started;

	/* Hardware resources */
	PUCHAR Registers;
	ULONG RegistersLength;
	BOOLEAN RegistersMapped;
	PKINTERRUPT InterruptObject;
	PDMA_ADAPTER Adapter;
	ULONG MapRegisterCount;
	ULONGLONG Capacity;

	/* The ring: a cached common buffer and the MDL that describes it */
	PUCHAR RingVa;
	PHYSICAL_ADDRESS RingLogical;
	PMDL RingMdl;
	KTIMER PollTimer;
	KDPC PollDpc;
	KSPIN_LOCK ServiceLock; /* the poll DPC and DpcForIsr may run at once on two processors */

	/* The request in progress */
	BOOLEAN Busy;
	BOOLEAN ChannelHeld; /* AdapterControl ran, FreeAdapterChannel not yet called */
	BOOLEAN WriteToDevice;
	ULONG Length;
	ULONG FirstSector;
	ULONG RingPages;
	PVOID MapRegisterBase;
	ULONG RingMapped; /* Length of the one MapTransfer */
	PUCHAR Buffer;    /* the caller's buffer, system address */
	ULONG LastOffset; /* the channel's place in the ring at the last poll */
	ULONG Position;   /* bytes through the channel so far (all laps) */
	ULONG Copied;     /* read: bytes copied out; write: bytes copied into the ring */
	BOOLEAN DeviceDone;
	BOOLEAN DeviceFailed;
	volatile LONG Causes;
} AUTOINIT_EXTENSION, *PAUTOINIT_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE AutoinitAddDevice;
static DRIVER_UNLOAD AutoinitUnload;
static DRIVER_STARTIO AutoinitStartIo;
static DRIVER_CONTROL AutoinitAdapterControl;
static KSERVICE_ROUTINE AutoinitIsr;
static IO_DPC_ROUTINE AutoinitDpcForIsr;
static KDEFERRED_ROUTINE AutoinitPollDpc;
static DRIVER_DISPATCH AutoinitCreateClose;
static DRIVER_DISPATCH AutoinitReadWrite;
static DRIVER_DISPATCH AutoinitDeviceControl;
static DRIVER_DISPATCH AutoinitPnp;
static DRIVER_DISPATCH AutoinitPower;

/* --- Register access ---------------------------------------------------------------------- */

static UCHAR AutoinitRead8(PAUTOINIT_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_UCHAR(ext->Registers + reg);
	return READ_PORT_UCHAR(ext->Registers + reg);
}

static USHORT AutoinitRead16(PAUTOINIT_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg));
	return READ_PORT_USHORT((PUSHORT)(ext->Registers + reg));
}

static VOID AutoinitWrite8(PAUTOINIT_EXTENSION ext, ULONG reg, UCHAR value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_UCHAR(ext->Registers + reg, value);
	else
		WRITE_PORT_UCHAR(ext->Registers + reg, value);
}

static VOID AutoinitWrite16(PAUTOINIT_EXTENSION ext, ULONG reg, USHORT value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg), value);
	else
		WRITE_PORT_USHORT((PUSHORT)(ext->Registers + reg), value);
}

static VOID AutoinitWrite32(PAUTOINIT_EXTENSION ext, ULONG reg, ULONG value)
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

	DriverObject->DriverExtension->AddDevice = AutoinitAddDevice;
	DriverObject->DriverUnload = AutoinitUnload;
	DriverObject->DriverStartIo = AutoinitStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = AutoinitCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = AutoinitCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = AutoinitReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = AutoinitReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = AutoinitDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = AutoinitPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = AutoinitPower;
	return STATUS_SUCCESS;
}

static VOID AutoinitUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS AutoinitAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PAUTOINIT_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(AUTOINIT_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PAUTOINIT_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	KeInitializeTimer(&ext->PollTimer);
	KeInitializeDpc(&ext->PollDpc, AutoinitPollDpc, ext);
	KeInitializeSpinLock(&ext->ServiceLock);
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS AutoinitCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS AutoinitCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return AutoinitCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* --- Read and write ------------------------------------------------------------------------ */

static NTSTATUS AutoinitReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
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
		return AutoinitCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return AutoinitCompleteNow(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || offset % SYSBLK_SECTOR != 0 || length % SYSBLK_SECTOR != 0 ||
	    length / SYSBLK_SECTOR > SYSBLK_MAX_SECTORS || (ULONGLONG)offset > ext->Capacity ||
	    length > ext->Capacity - (ULONGLONG)offset || Irp->MdlAddress == NULL ||
	    MmGetMdlByteCount(Irp->MdlAddress) < length)
		return AutoinitCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static VOID AutoinitCompleteCurrent(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;

	ext->Busy = FALSE;
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = NT_SUCCESS(status) ? ext->Length : 0;
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID AutoinitArmPoll(PAUTOINIT_EXTENSION ext)
{
	LARGE_INTEGER due;

	due.QuadPart = -10LL * AUTOINIT_POLL_US; /* relative, in 100 ns units */
	KeSetTimer(&ext->PollTimer, due, &ext->PollDpc);
}

/* Where the channel is: ReadDmaCounter gives the bytes left in the current lap; the driver
 * polls more than once a lap, so the way from the last place is the distance travelled. */
static VOID AutoinitTrackChannel(PAUTOINIT_EXTENSION ext)
{
	ULONG left = ext->Adapter->DmaOperations->ReadDmaCounter(ext->Adapter);
	ULONG offset = (ext->RingMapped - left % ext->RingMapped) % ext->RingMapped;

	ext->Position += (offset + ext->RingMapped - ext->LastOffset) % ext->RingMapped;
	ext->LastOffset = offset;
}

/* Copies what the device wrote into the ring out to the caller's buffer: everything up to
 * `upto` bytes of the request. */
static VOID AutoinitCopyOut(PAUTOINIT_EXTENSION ext, ULONG upto)
{
	ULONG at, n;

	if (upto <= ext->Copied)
		return;
#ifdef DMACOH_BUG_C04
		/* MISTAKE (C04): the cached ring is read without first synchronising it with
		 * memory; lines the CPU (or the cache's prefetcher) brought in before the device
		 * wrote there are read as they were, stale.  The flush after the copy stays, so the
		 * lines go back clean. */
#else
	/* G2: see what the device wrote, not what the cache kept. */
	KeFlushIoBuffers(ext->RingMdl, TRUE, TRUE);
#endif
	while (ext->Copied < upto) {
		at = ext->Copied % ext->RingMapped;
		n = upto - ext->Copied;
		if (n > ext->RingMapped - at)
			n = ext->RingMapped - at;
		RtlCopyMemory(ext->Buffer + ext->Copied, ext->RingVa + at, n);
		ext->Copied += n;
	}
	/* G2 again: the device writes these bytes on its next lap; no line of them may stay in the
	 * cache to be written back over it or read instead of it. */
	KeFlushIoBuffers(ext->RingMdl, TRUE, TRUE);
}

/* Refills the ring behind the controller for a write, as far as it has read. */
static VOID AutoinitCopyIn(PAUTOINIT_EXTENSION ext)
{
	ULONG limit = ext->Position + ext->RingMapped, at, n;
	BOOLEAN copied = FALSE;

	if (limit > ext->Length)
		limit = ext->Length;
	while (ext->Copied < limit) {
		at = ext->Copied % ext->RingMapped;
		n = limit - ext->Copied;
		if (n > ext->RingMapped - at)
			n = ext->RingMapped - at;
		RtlCopyMemory(ext->RingVa + at, ext->Buffer + ext->Copied, n);
		ext->Copied += n;
		copied = TRUE;
	}
	/* G2: to memory before the controller reads it. */
	if (copied)
		KeFlushIoBuffers(ext->RingMdl, FALSE, TRUE);
}

/* One look at the channel while the request runs.  Fails when the driver fell a ring behind. */
static NTSTATUS AutoinitService(PAUTOINIT_EXTENSION ext)
{
	AutoinitTrackChannel(ext);
	if (ext->WriteToDevice) {
		if (ext->Copied < ext->Length && ext->Position > ext->Copied)
			return STATUS_DATA_LATE_ERROR; /* the controller read a stale ring */
		AutoinitCopyIn(ext);
	} else {
		if (ext->Position - ext->Copied > ext->RingMapped)
			return STATUS_DATA_OVERRUN; /* the device wrote over bytes not copied out */
		if (ext->Position > AUTOINIT_HELD_MAX)
			AutoinitCopyOut(ext, ext->Position - AUTOINIT_HELD_MAX);
	}
	return STATUS_SUCCESS;
}

/* Ends the request: drain and release the channel (G3, G7), the last copy, completion. */
static VOID AutoinitFinish(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
	BOOLEAN flushed;

	KeCancelTimer(&ext->PollTimer);
	if (AutoinitRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY)
		AutoinitWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
	flushed = ext->Adapter->DmaOperations->FlushAdapterBuffers(
	    ext->Adapter, ext->RingMdl, ext->MapRegisterBase, MmGetMdlVirtualAddress(ext->RingMdl),
	    ext->RingMapped, ext->WriteToDevice);
	ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter);
	ext->ChannelHeld = FALSE;
	ext->MapRegisterBase = NULL;
	if (!flushed && NT_SUCCESS(status))
		status = STATUS_DEVICE_DATA_ERROR; /* G6 */

	if (ext->WriteToDevice) {
		if (NT_SUCCESS(status) && ext->Copied < ext->Length)
			status = STATUS_DATA_LATE_ERROR;
	} else {
		/* The drain wrote the controller's last bytes: everything the device sent is in
		 * the ring now. */
		if (NT_SUCCESS(status) && ext->Length - ext->Copied > ext->RingMapped)
			status = STATUS_DATA_OVERRUN;
		if (NT_SUCCESS(status))
			AutoinitCopyOut(ext, ext->Length);
		/* P1: the caller's buffer was filled by the CPU. */
		if (ext->Copied != 0)
			KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE);
	}
	AutoinitCompleteCurrent(DeviceObject, Irp, status);
}

static VOID AutoinitStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	LONGLONG offset;
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
	ext->LastOffset = 0;
	ext->Position = 0;
	ext->Copied = 0;
	ext->RingMapped = AUTOINIT_RING;
	ext->DeviceDone = FALSE;
	ext->DeviceFailed = FALSE;
	InterlockedExchange(&ext->Causes, 0);
	ext->Busy = TRUE;

	/* P2: the caller's buffer through its system address, never the MDL's user address. */
	ext->Buffer = (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
	if (ext->Buffer == NULL) {
		AutoinitCompleteCurrent(DeviceObject, Irp, STATUS_INSUFFICIENT_RESOURCES);
		return;
	}

	if (ext->WriteToDevice)
		AutoinitCopyIn(ext); /* the first ring-full, flushed (G2) */
	else
		KeFlushIoBuffers(ext->RingMdl, TRUE, TRUE); /* G2: before the device writes */

	status = ext->Adapter->DmaOperations->AllocateAdapterChannel(
	    ext->Adapter, DeviceObject, ext->RingPages, AutoinitAdapterControl, ext);
	if (!NT_SUCCESS(status))
		AutoinitCompleteCurrent(DeviceObject, Irp, status);
}

static IO_ALLOCATION_ACTION AutoinitAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                   PVOID MapRegisterBase, PVOID Context)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)Context;
	ULONG length = AUTOINIT_RING;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	ext->MapRegisterBase = MapRegisterBase;
	ext->ChannelHeld = TRUE;

	/* Once, over the whole ring: the channel auto-initializes at every terminal count. */
	(void)ext->Adapter->DmaOperations->MapTransfer(ext->Adapter, ext->RingMdl, MapRegisterBase,
	                                               MmGetMdlVirtualAddress(ext->RingMdl),
	                                               &length, ext->WriteToDevice);
	ext->RingMapped = length;

	AutoinitWrite32(ext, SYSBLK_REG_LBA, ext->FirstSector);
	AutoinitWrite16(ext, SYSBLK_REG_COUNT, (USHORT)(ext->Length / SYSBLK_SECTOR));
	AutoinitWrite8(ext, SYSBLK_REG_CMD,
	               ext->WriteToDevice ? SYSBLK_CMD_WRITE : SYSBLK_CMD_READ);
	AutoinitArmPoll(ext);
	return KeepObject;
}

static VOID AutoinitPoll(PAUTOINIT_EXTENSION ext)
{
	PIRP irp = ext->Self->CurrentIrp;
	NTSTATUS status;

	if (irp == NULL || !ext->Busy || !ext->ChannelHeld)
		return;
	status = AutoinitService(ext);
	if (!NT_SUCCESS(status)) {
		AutoinitFinish(ext->Self, irp, status);
		return;
	}
	AutoinitArmPoll(ext);
}

/* Both DPCs service the ring under ServiceLock: on a multiprocessor the timer's DPC and the
 * ISR's may run at the same time on two processors. */
static VOID AutoinitPollDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                            PVOID SystemArgument2)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeferredContext;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(SystemArgument1);
	UNREFERENCED_PARAMETER(SystemArgument2);
	KeAcquireSpinLockAtDpcLevel(&ext->ServiceLock);
	AutoinitPoll(ext);
	KeReleaseSpinLockFromDpcLevel(&ext->ServiceLock);
}

static BOOLEAN AutoinitIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)ServiceContext;
	UCHAR causes;

	UNREFERENCED_PARAMETER(Interrupt);
	causes = AutoinitRead8(ext, SYSBLK_REG_CAUSES) & SYSBLK_CAUSES;
	if (causes == 0)
		return FALSE;
	AutoinitWrite8(ext, SYSBLK_REG_IACK, causes);
	InterlockedOr(&ext->Causes, causes);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID AutoinitServiceIsr(PDEVICE_OBJECT DeviceObject)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
	LONG causes = InterlockedExchange(&ext->Causes, 0);
	NTSTATUS status;
	PIRP Irp = DeviceObject->CurrentIrp;

	if (Irp == NULL || !ext->Busy || !ext->ChannelHeld || causes == 0)
		return;
	if (causes & SYSBLK_ST_DONE)
		ext->DeviceDone = TRUE;
	if (causes & SYSBLK_ST_ERR)
		ext->DeviceFailed = TRUE;

	/* A lap ended (TC), or the request did: bring the ring up to date either way. */
	status = AutoinitService(ext);
	if (NT_SUCCESS(status) && ext->DeviceFailed)
		status = STATUS_IO_DEVICE_ERROR;
	if (!NT_SUCCESS(status) || ext->DeviceDone)
		AutoinitFinish(DeviceObject, Irp, status);
}

static VOID AutoinitDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	KeAcquireSpinLockAtDpcLevel(&ext->ServiceLock);
	AutoinitServiceIsr(DeviceObject);
	KeReleaseSpinLockFromDpcLevel(&ext->ServiceLock);
}

/* --- Device control ------------------------------------------------------------------------ */

static NTSTATUS AutoinitDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG capacity;

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return AutoinitCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return AutoinitCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		capacity = ext->Capacity;
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
		return AutoinitCompleteNow(Irp, STATUS_SUCCESS, sizeof(capacity));
	default:
		return AutoinitCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- Start and stop ------------------------------------------------------------------------ */

/* Is there a sector at lba?  (sysblk has no capacity register; see sysdma.c.) */
static BOOLEAN AutoinitSectorExists(PAUTOINIT_EXTENSION ext, ULONG lba)
{
	ULONG i;

	AutoinitWrite32(ext, SYSBLK_REG_LBA, lba);
	AutoinitWrite16(ext, SYSBLK_REG_COUNT, 1);
	AutoinitWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_READ);
	if (AutoinitRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY) {
		AutoinitWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
		return TRUE;
	}
	/* Refused: its ERR comes after the command latency; let it come and clear it. */
	for (i = 0; i < AUTOINIT_PROBE_POLLS; i++) {
		if (AutoinitRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_ERR)
			break;
		KeStallExecutionProcessor(1);
	}
	AutoinitWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	return FALSE;
}

static ULONGLONG AutoinitProbeCapacity(PAUTOINIT_EXTENSION ext)
{
	ULONGLONG present = 0, absent = 0x100000000ULL, mid;

	if (!AutoinitSectorExists(ext, 0))
		return 0;
	while (absent - present > 1) {
		mid = present + (absent - present) / 2;
		if (AutoinitSectorExists(ext, (ULONG)mid))
			present = mid;
		else
			absent = mid;
	}
	return (present + 1) * SYSBLK_SECTOR;
}

/* Gives back everything START_DEVICE took.  G14: the common buffer before the adapter. */
static VOID AutoinitReleaseHardware(PAUTOINIT_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		AutoinitWrite8(ext, SYSBLK_REG_CTRL, 0);
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
	}
	if (ext->RingMdl != NULL) {
		IoFreeMdl(ext->RingMdl);
		ext->RingMdl = NULL;
	}
	if (ext->RingVa != NULL) {
#ifdef DMACOH_BUG_A05
		/* MISTAKE (A05): the common buffer is forgotten at stop/remove; PutDmaAdapter below
		 * then releases an adapter that still owns it, and the buffer (and the map
		 * registers behind it) leak with every stop. */
#else
		ext->Adapter->DmaOperations->FreeCommonBuffer(ext->Adapter, AUTOINIT_RING,
		                                              ext->RingLogical, ext->RingVa, TRUE);
#endif
		ext->RingVa = NULL;
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

static NTSTATUS AutoinitStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST translated)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)fdo->DeviceExtension;
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
	if (AutoinitRead16(ext, SYSBLK_REG_ID) != SYSBLK_ID) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	AutoinitWrite8(ext, SYSBLK_REG_CTRL, 0);
	ext->Capacity = AutoinitProbeCapacity(ext);
	AutoinitWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	if (ext->Capacity == 0) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	/* G14: zeroed; version 1 (DemandMode would need version 2: single-transfer mode). */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION1;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.AutoInitialize = TRUE;
	desc.IgnoreCount = FALSE; /* the counter is what the driver polls */
	desc.BusNumber = busNumber;
	desc.DmaChannel = dmaChannel;
	desc.DmaPort = dmaPort;
	desc.InterfaceType = bus;
	desc.DmaWidth = width;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = AUTOINIT_RING;
	ext->Adapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	if (ext->Adapter == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	ext->RingPages = BYTES_TO_PAGES(AUTOINIT_RING);
	if (ext->MapRegisterCount < ext->RingPages) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	/* 5.2 step 2: the ring, cached (so G2 applies), and an MDL to flush it through. */
	ext->RingVa = (PUCHAR)ext->Adapter->DmaOperations->AllocateCommonBuffer(
	    ext->Adapter, AUTOINIT_RING, &ext->RingLogical, TRUE);
	if (ext->RingVa == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	ext->RingMdl = IoAllocateMdl(ext->RingVa, AUTOINIT_RING, FALSE, FALSE, NULL);
	if (ext->RingMdl == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	MmBuildMdlForNonPagedPool(ext->RingMdl);

	IoInitializeDpcRequest(fdo, AutoinitDpcForIsr);
	status = IoConnectInterrupt(&ext->InterruptObject, AutoinitIsr, ext, NULL, vector, irql,
	                            irql, mode, shareVector, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}
	AutoinitWrite8(ext, SYSBLK_REG_CTRL, SYSBLK_CTRL_IEN);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	AutoinitReleaseHardware(ext);
	return status;
}

static NTSTATUS AutoinitPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = AutoinitStartDevice(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return AutoinitCompleteNow(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		AutoinitReleaseHardware(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		AutoinitReleaseHardware(ext);
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

static NTSTATUS AutoinitPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PAUTOINIT_EXTENSION ext = (PAUTOINIT_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
