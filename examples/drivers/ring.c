/*
 * ring.c -- WDM function driver for the ring NIC-like device (docs/devices/ring.md) in loopback
 * mode: common-buffer bus-master DMA (wdm-dma-spec 5.4).
 *
 * At IRP_MN_START_DEVICE the driver allocates ONE common buffer for everything the device
 * reaches: the TX and RX descriptor rings, a TX packet buffer and the RX packet buffers.
 * There is no AdapterControl, no MapTransfer: the device reads descriptors and TX packets and
 * writes RX packets and descriptor status by itself, whenever it likes.
 *
 *   IRP_MJ_WRITE  transmits the caller's buffer as one frame: copied into the TX buffer,
 *                 described by a TX descriptor, TX_TAIL rung; completed at TX_DONE with the
 *                 descriptor's status.  One frame is in flight at a time, the others queue.
 *   IRP_MJ_READ   receives the next frame: queued until one is in the RX ring, then copied
 *                 into the caller's buffer (Information = frame length), and
 *                 KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE) because the CPU filled it
 *                 (P1).  A buffer too small for the frame fails with STATUS_BUFFER_TOO_SMALL
 *                 and leaves the frame for the next read; a frame the device marked bad fails
 *                 the read with STATUS_DEVICE_DATA_ERROR.
 *
 * With RING_CACHED (the default) the common buffer is cached (CacheEnabled=TRUE) and the driver
 * keeps it coherent itself (G2), through partial MDLs (IoBuildPartialMdl) of one MDL built with
 * IoAllocateMdl + MmBuildMdlForNonPagedPool:
 *   - KeFlushIoBuffers before the device reads what the CPU wrote (TX packet: ReadOperation
 *     FALSE; descriptors, which the device also writes back: TRUE, so nothing stays cached);
 *   - KeFlushIoBuffers(..., TRUE, TRUE) before the CPU reads what the device wrote (descriptor
 *     status, RX packets), and on an RX buffer before handing it back to the device;
 *   - the CPU never writes a cache line the device may write: RX descriptors (16 bytes, several
 *     per line) are handed back in line-sized groups only when the whole group is the driver's,
 *     only one TX descriptor is in flight, and per-buffer bookkeeping lives in the device
 *     extension, not next to the packet data.  The line size is GetDmaAlignment's, but at
 *     least 64 bytes.
 * ring-uncached.c builds the same source with RING_CACHED 0: CacheEnabled=FALSE, every CPU
 * access is a memory access, and none of the G2 flushes is needed.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>): C01 the TX packet is handed to the device without its
 * flush; C04 RX descriptor status is read without the flush that precedes it; C05 a per-buffer
 * header the driver writes after posting shares a cache line with the RX packet data.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

#ifndef RING_CACHED
#define RING_CACHED 1
#endif

#if RING_CACHED
#define RING_DRIVER_NAME "ring"
#define RING_DRIVER_STYLE "common-buffer bus-master DMA, cached buffer kept coherent (G2)"
#else
#define RING_DRIVER_NAME "ring-uncached"
#define RING_DRIVER_STYLE "common-buffer bus-master DMA, uncached buffer (no flushes)"
#endif
DMACOH_DRIVER(RING_DRIVER_NAME, "ring", RING_DRIVER_STYLE);

/* --- ring registers (docs/devices/ring.md): 32 bits, memory space --------------------- */
#define RING_REG_ID 0x00
#define RING_REG_CAPS 0x04 /* [15:0] max ring entries, [23:16] address bits */
#define RING_REG_CTRL 0x08
#define RING_REG_STATUS 0x0C
#define RING_REG_INT_STATUS 0x10 /* write 1 to clear */
#define RING_REG_INT_MASK 0x14
#define RING_REG_TX_BASE_LO 0x20
#define RING_REG_TX_BASE_HI 0x24
#define RING_REG_TX_SIZE 0x28
#define RING_REG_TX_HEAD 0x2C
#define RING_REG_TX_TAIL 0x30
#define RING_REG_RX_BASE_LO 0x40
#define RING_REG_RX_BASE_HI 0x44
#define RING_REG_RX_SIZE 0x48
#define RING_REG_RX_HEAD 0x4C
#define RING_REG_RX_TAIL 0x50
#define RING_REG_MAX_FRAME 0x6C

#define RING_ID_VALUE 0x474E4952 /* "RING" */
#define RING_CTRL_ENABLE 0x1
#define RING_CTRL_LOOPBACK 0x2
#define RING_CTRL_RESET 0x80000000U
#define RING_INT_TX_DONE 0x1
#define RING_INT_RX_READY 0x2
#define RING_INT_RX_DROP 0x4
#define RING_INT_ERROR 0x8
#define RING_INT_ALL 0xF

/* A descriptor, little-endian, as the device reads and writes it back. */
typedef struct _RING_DESC {
	ULONGLONG Address; /* logical address of the buffer */
	ULONG Length;      /* TX: bytes to send; RX: buffer size, then bytes received */
	USHORT Flags;
	USHORT Status; /* written by the device: 0 ok */
} RING_DESC, *PRING_DESC;
C_ASSERT(sizeof(RING_DESC) == 16);

#define RING_DESC_OWN 0x1 /* the device owns it */
#define RING_DESC_EOP 0x2 /* last descriptor of a frame */
#define RING_DESC_ERR 0x4

/* --- The common buffer --------------------------------------------------------------- */
#define RING_TX_ENTRIES 16
#define RING_RX_ENTRIES 16
#define RING_TX_RING_OFFSET 0
#define RING_RX_RING_OFFSET 2048 /* apart from the TX ring for any line up to 2 KiB */
#define RING_TX_BUF_OFFSET PAGE_SIZE
#define RING_TX_BUF_SIZE (3 * PAGE_SIZE) /* one frame of up to MAX_FRAME (9216) bytes */
#define RING_RX_BUF_OFFSET (4 * PAGE_SIZE)
#define RING_RX_SLOT 2048 /* one RX buffer per RX descriptor */
#define RING_COMMON_SIZE (RING_RX_BUF_OFFSET + RING_RX_ENTRIES * RING_RX_SLOT)
#define RING_MIN_LINE 64 /* assumed cache line when GetDmaAlignment says less */

#ifdef DMACOH_BUG_C05
/* BUG C05: the driver keeps its per-buffer bookkeeping in a small header at the start of each
 * RX slot, and the device's buffer begins right after it -- in the same cache line.  The
 * driver updates the header after handing the buffer to the device; its dirty line is
 * written back (evicted or flushed) over the packet bytes the device wrote next to it. */
typedef struct _RING_RX_HEADER {
	ULONGLONG PostedAt;
	ULONG Posts;
	ULONG Reserved;
} RING_RX_HEADER, *PRING_RX_HEADER;
#define RING_RX_DATA_OFFSET sizeof(RING_RX_HEADER)
#else
#define RING_RX_DATA_OFFSET 0
#endif
#define RING_RX_DATA_SIZE (RING_RX_SLOT - RING_RX_DATA_OFFSET)

typedef struct _RING_RX_INFO {
	ULONGLONG PostedAt; /* KeQueryInterruptTime when last handed to the device */
	ULONG Posts;
} RING_RX_INFO;

typedef struct _RING_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters;
	ULONG MaxFrame;
	ULONG RxGroup; /* RX descriptors per cache line: handed back together */

	PUCHAR Common; /* the common buffer */
	PHYSICAL_ADDRESS CommonLogical;
	volatile RING_DESC *TxRing;
	volatile RING_DESC *RxRing;
#if RING_CACHED
	PMDL CommonMdl; /* the whole buffer, and partial MDLs of its parts for G2 */
	PMDL TxRingMdl;
	PMDL RxRingMdl;
	PMDL TxBufMdl;
	PMDL RxBufMdl[RING_RX_ENTRIES];
#endif

	KSPIN_LOCK Lock; /* everything below */
	LIST_ENTRY WriteQueue;
	LIST_ENTRY ReadQueue;
	PIRP TxIrp; /* the frame in flight */
	ULONG TxLength;
	ULONG TxPending; /* its descriptor */
	ULONG TxNext;    /* next TX descriptor = TX_TAIL */
	ULONG RxClean;   /* next RX descriptor to consume */
	ULONG RxTail;    /* next RX descriptor to hand to the device = RX_TAIL */
	ULONG RxPosted;  /* descriptors from RxClean to RxTail: the device's, or unread frames */
	RING_RX_INFO RxInfo[RING_RX_ENTRIES];
	ULONG RxDropped;

	volatile LONG InterruptStatus; /* INT_STATUS bits the ISR acknowledged, for the DPC */
} RING_EXTENSION, *PRING_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE RingAddDevice;
static DRIVER_UNLOAD RingUnload;
static KSERVICE_ROUTINE RingIsr;
static IO_DPC_ROUTINE RingDpc;
static DRIVER_DISPATCH RingCreateClose;
static DRIVER_DISPATCH RingRead;
static DRIVER_DISPATCH RingWrite;
static DRIVER_DISPATCH RingDeviceControl;
static DRIVER_DISPATCH RingPnp;
static DRIVER_DISPATCH RingPower;

static ULONG RingReadReg(PRING_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID RingWriteReg(PRING_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

/* The device's write-backs go through the host bridge as posted writes; a read of one of its
 * registers lands them (PCI ordering).  The ISR's read of INT_STATUS does, but a descriptor
 * written back after that read -- its event bit already set and then acknowledged -- would
 * stay posted, unseen, with no interrupt to come: so read before looking at descriptors. */
static VOID RingLandPostedWrites(PRING_EXTENSION ext)
{
	(void)RingReadReg(ext, RING_REG_STATUS);
}

#if RING_CACHED
/* G2 on a part of the cached common buffer. */
#define RING_FLUSH(Mdl, ReadOperation) KeFlushIoBuffers((Mdl), (ReadOperation), TRUE)
#else
/* An uncached common buffer: the CPU reads and writes memory itself. */
#define RING_FLUSH(Mdl, ReadOperation) ((void)0)
#endif

static NTSTATUS RingCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

/* IRPs are completed after the lock is released: collected on a local list. */
static VOID RingQueueCompletion(PLIST_ENTRY Done, PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	InsertTailList(Done, &Irp->Tail.Overlay.ListEntry);
}

static VOID RingCompleteList(PLIST_ENTRY Done)
{
	while (!IsListEmpty(Done)) {
		PIRP irp = CONTAINING_RECORD(RemoveHeadList(Done), IRP, Tail.Overlay.ListEntry);
		IoCompleteRequest(irp, IO_NO_INCREMENT);
	}
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = RingAddDevice;
	DriverObject->DriverUnload = RingUnload;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = RingCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = RingCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = RingRead;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = RingWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = RingDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = RingPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = RingPower;
	return STATUS_SUCCESS;
}

static VOID RingUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object was deleted at IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS RingAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PRING_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(RING_EXTENSION), NULL, FILE_DEVICE_NETWORK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PRING_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(RING_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	KeInitializeSpinLock(&ext->Lock);
	InitializeListHead(&ext->WriteQueue);
	InitializeListHead(&ext->ReadQueue);
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, RingDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS RingCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return RingCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

/* --- TX --------------------------------------------------------------------------------- */

/* Under the lock: if no frame is in flight, sends the next queued write. */
static VOID RingStartTx(PRING_EXTENSION ext, PLIST_ENTRY Done)
{
	while (ext->TxIrp == NULL && !IsListEmpty(&ext->WriteQueue)) {
		PIRP irp = CONTAINING_RECORD(RemoveHeadList(&ext->WriteQueue), IRP,
		                             Tail.Overlay.ListEntry);
		ULONG length = IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length;
		PUCHAR src =
		    (PUCHAR)MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
		volatile RING_DESC *d = &ext->TxRing[ext->TxNext];

		if (src == NULL) {
			RingQueueCompletion(Done, irp, STATUS_INSUFFICIENT_RESOURCES, 0);
			continue;
		}
		RtlCopyMemory(ext->Common + RING_TX_BUF_OFFSET, src, length);
#ifdef DMACOH_BUG_C01
		/* BUG C01: the packet was just written through the cache, and the driver rings the
		 * doorbell without flushing it (it flushes the descriptor only): the device reads
		 * the old bytes from memory and sends them. */
#else
		/* G2: the packet must be in memory before the device reads it. */
		RING_FLUSH(ext->TxBufMdl, FALSE);
#endif
		d->Address = (ULONGLONG)ext->CommonLogical.QuadPart + RING_TX_BUF_OFFSET;
		d->Length = length;
		d->Status = 0;
		d->Flags = RING_DESC_OWN | RING_DESC_EOP;
		/* G2: the descriptor too; TRUE as the device writes it back, so the line must not
		 * stay in the cache. */
		RING_FLUSH(ext->TxRingMdl, TRUE);

		ext->TxIrp = irp;
		ext->TxLength = length;
		ext->TxPending = ext->TxNext;
		ext->TxNext = (ext->TxNext + 1) % RING_TX_ENTRIES;
		RingWriteReg(ext, RING_REG_TX_TAIL, ext->TxNext);
	}
}

/* Under the lock, after an interrupt: completes the frame in flight if the device is done. */
static VOID RingTxComplete(PRING_EXTENSION ext, PLIST_ENTRY Done)
{
	volatile RING_DESC *d;
	USHORT flags;

	if (ext->TxIrp == NULL)
		return;
	RingLandPostedWrites(ext);
	/* G2: drop any stale copy of the descriptor before reading its write-back. */
	RING_FLUSH(ext->TxRingMdl, TRUE);
	d = &ext->TxRing[ext->TxPending];
	flags = d->Flags;
	if (flags & RING_DESC_OWN)
		return;
	if ((flags & RING_DESC_ERR) || d->Status != 0)
		RingQueueCompletion(Done, ext->TxIrp, STATUS_DEVICE_DATA_ERROR, 0);
	else
		RingQueueCompletion(Done, ext->TxIrp, STATUS_SUCCESS, ext->TxLength);
	ext->TxIrp = NULL;
	RingStartTx(ext, Done);
}

/* --- RX --------------------------------------------------------------------------------- */

static PUCHAR RingRxData(PRING_EXTENSION ext, ULONG i)
{
	return ext->Common + RING_RX_BUF_OFFSET + i * RING_RX_SLOT + RING_RX_DATA_OFFSET;
}

/* Under the lock: hands every free line-sized group of RX descriptors back to the device.
 * A group is free when none of its descriptors is the device's or holds an unread frame. */
static VOID RingPostRx(PRING_EXTENSION ext)
{
	ULONG first = ext->RxTail, posted = 0, i, k;
	ULONGLONG now;

	while (ext->RxPosted + posted + ext->RxGroup <= RING_RX_ENTRIES - 1) {
		for (k = 0; k < ext->RxGroup; k++) {
			volatile RING_DESC *d;
			i = (first + posted + k) % RING_RX_ENTRIES;
			d = &ext->RxRing[i];
			/* Nothing of the buffer may stay cached while the device fills it. */
			RING_FLUSH(ext->RxBufMdl[i], TRUE);
			d->Address = (ULONGLONG)ext->CommonLogical.QuadPart + RING_RX_BUF_OFFSET +
			             i * RING_RX_SLOT + RING_RX_DATA_OFFSET;
			d->Length = RING_RX_DATA_SIZE;
			d->Status = 0;
			d->Flags = RING_DESC_OWN;
		}
		posted += ext->RxGroup;
	}
	/* G2: the descriptors to memory, and no line of the ring left in the cache while the
	 * device writes status into it. */
	RING_FLUSH(ext->RxRingMdl, TRUE);
	if (posted == 0)
		return;
	ext->RxTail = (first + posted) % RING_RX_ENTRIES;
	ext->RxPosted += posted;
	RingWriteReg(ext, RING_REG_RX_TAIL, ext->RxTail);

	now = KeQueryInterruptTime();
	for (k = 0; k < posted; k++) {
		i = (first + k) % RING_RX_ENTRIES;
#ifdef DMACOH_BUG_C05
		{
			PRING_RX_HEADER h =
			    (PRING_RX_HEADER)(ext->Common + RING_RX_BUF_OFFSET + i * RING_RX_SLOT);
			h->PostedAt = now;
			h->Posts++;
		}
#else
		ext->RxInfo[i].PostedAt = now;
		ext->RxInfo[i].Posts++;
#endif
	}
}

/* Under the lock: gives received frames to waiting reads, in order, then reposts buffers. */
static VOID RingServiceRx(PRING_EXTENSION ext, PLIST_ENTRY Done)
{
	if (IsListEmpty(&ext->ReadQueue))
		return; /* frames wait in the ring until someone reads */
	RingLandPostedWrites(ext);

#ifdef DMACOH_BUG_C04
	/* BUG C04: reads the descriptors the device wrote back without first dropping the
	 * cache's copy of them: a stale line shows a finished descriptor as still owned by
	 * the device (or an old length and status). */
#else
	/* G2: before reading what the device wrote. */
	RING_FLUSH(ext->RxRingMdl, TRUE);
#endif
	while (!IsListEmpty(&ext->ReadQueue)) {
		ULONG i = ext->RxClean, n = 0, total = 0, k, offset;
		BOOLEAN complete = FALSE, error = FALSE;
		PIRP irp;
		ULONG length;
		PUCHAR dst;

		while (n < ext->RxPosted) {
			volatile RING_DESC *d = &ext->RxRing[i];
			USHORT flags = d->Flags;
			if (flags & RING_DESC_OWN)
				break;
			n++;
			total += d->Length;
			if ((flags & RING_DESC_ERR) || d->Status != 0)
				error = TRUE;
			if (flags & RING_DESC_EOP) {
				complete = TRUE;
				break;
			}
			i = (i + 1) % RING_RX_ENTRIES;
		}
		if (!complete)
			break; /* the next frame is not all there yet */

		irp = CONTAINING_RECORD(ext->ReadQueue.Flink, IRP, Tail.Overlay.ListEntry);
		length = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
		if (!error && total > length) {
			/* The frame stays for a read with room for it. */
			RemoveEntryList(&irp->Tail.Overlay.ListEntry);
			RingQueueCompletion(Done, irp, STATUS_BUFFER_TOO_SMALL, 0);
			continue;
		}
		dst = error ? NULL
		            : (PUCHAR)MmGetSystemAddressForMdlSafe(irp->MdlAddress,
		                                                   NormalPagePriority);
		RemoveEntryList(&irp->Tail.Overlay.ListEntry);
		if (!error && dst == NULL) {
			RingQueueCompletion(Done, irp, STATUS_INSUFFICIENT_RESOURCES, 0);
			continue;
		}
		if (error) {
			RingQueueCompletion(Done, irp, STATUS_DEVICE_DATA_ERROR, 0);
		} else {
			for (k = 0, offset = 0; k < n; k++) {
				ULONG j = (ext->RxClean + k) % RING_RX_ENTRIES;
				ULONG got = ext->RxRing[j].Length;
				/* G2: before reading the packet the device wrote. */
				RING_FLUSH(ext->RxBufMdl[j], TRUE);
				RtlCopyMemory(dst + offset, RingRxData(ext, j), got);
				offset += got;
			}
			/* P1: the CPU filled the caller's buffer. */
			KeFlushIoBuffers(irp->MdlAddress, TRUE, FALSE);
			RingQueueCompletion(Done, irp, STATUS_SUCCESS, total);
		}
		ext->RxClean = (ext->RxClean + n) % RING_RX_ENTRIES;
		ext->RxPosted -= n;
	}
	RingPostRx(ext);
}

/* --- Interrupts ------------------------------------------------------------------------- */

static BOOLEAN RingIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	/* Reading a register also lands the device's posted writes (PCI ordering): the packets
	 * and descriptor write-backs of the events reported here are in memory. */
	status = RingReadReg(ext, RING_REG_INT_STATUS) & RING_INT_ALL;
	if (status == 0)
		return FALSE; /* not ours: the line is shared */
	RingWriteReg(ext, RING_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, NULL, NULL);
	return TRUE;
}

static VOID RingDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;
	ULONG status = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	LIST_ENTRY done;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	InitializeListHead(&done);
	KeAcquireSpinLockAtDpcLevel(&ext->Lock);
	if (ext->Started) {
		/* One event bit may stand for several events; both directions are looked at. */
		if (status & RING_INT_RX_DROP)
			ext->RxDropped++;
		RingTxComplete(ext, &done);
		RingServiceRx(ext, &done);
	}
	KeReleaseSpinLockFromDpcLevel(&ext->Lock);
	RingCompleteList(&done);
}

/* --- Dispatch --------------------------------------------------------------------------- */

static NTSTATUS RingWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;
	ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
	LIST_ENTRY done;
	KIRQL irql;

	if (!ext->Started)
		return RingCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return RingCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (length > ext->MaxFrame || Irp->MdlAddress == NULL ||
	    MmGetMdlByteCount(Irp->MdlAddress) < length)
		return RingCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	InitializeListHead(&done);
	IoMarkIrpPending(Irp);
	KeAcquireSpinLock(&ext->Lock, &irql);
	InsertTailList(&ext->WriteQueue, &Irp->Tail.Overlay.ListEntry);
	RingStartTx(ext, &done);
	KeReleaseSpinLock(&ext->Lock, irql);
	RingCompleteList(&done);
	return STATUS_PENDING;
}

static NTSTATUS RingRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;
	ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length;
	LIST_ENTRY done;
	KIRQL irql;

	if (!ext->Started)
		return RingCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return RingCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return RingCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	InitializeListHead(&done);
	IoMarkIrpPending(Irp);
	KeAcquireSpinLock(&ext->Lock, &irql);
	InsertTailList(&ext->ReadQueue, &Irp->Tail.Overlay.ListEntry);
	RingServiceRx(ext, &done); /* a frame may be waiting already */
	KeReleaseSpinLock(&ext->Lock, irql);
	RingCompleteList(&done);
	return STATUS_PENDING;
}

static NTSTATUS RingDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY: /* a frame device: the largest frame */
		if (!ext->Started)
			return RingCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return RingCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->MaxFrame;
		return RingCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return RingCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- PnP ---------------------------------------------------------------------------- */

#if RING_CACHED
static PMDL RingPartialMdl(PRING_EXTENSION ext, ULONG Offset, ULONG Length)
{
	PMDL mdl = IoAllocateMdl(ext->Common + Offset, Length, FALSE, FALSE, NULL);
	if (mdl != NULL)
		IoBuildPartialMdl(ext->CommonMdl, mdl, ext->Common + Offset, Length);
	return mdl;
}
#endif

static VOID RingFreeCommonBuffer(PRING_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
#if RING_CACHED
	ULONG i;

	for (i = 0; i < RING_RX_ENTRIES; i++) {
		if (ext->RxBufMdl[i] != NULL)
			IoFreeMdl(ext->RxBufMdl[i]);
		ext->RxBufMdl[i] = NULL;
	}
	if (ext->TxBufMdl != NULL)
		IoFreeMdl(ext->TxBufMdl);
	if (ext->RxRingMdl != NULL)
		IoFreeMdl(ext->RxRingMdl);
	if (ext->TxRingMdl != NULL)
		IoFreeMdl(ext->TxRingMdl);
	if (ext->CommonMdl != NULL)
		IoFreeMdl(ext->CommonMdl);
	ext->TxBufMdl = ext->RxRingMdl = ext->TxRingMdl = ext->CommonMdl = NULL;
#endif
	if (ext->Common != NULL)
		ad->DmaOperations->FreeCommonBuffer(ad, RING_COMMON_SIZE, ext->CommonLogical,
		                                    ext->Common, RING_CACHED);
	ext->Common = NULL;
	ext->TxRing = ext->RxRing = NULL;
}

static NTSTATUS RingAllocateCommonBuffer(PRING_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
#if RING_CACHED
	ULONG i;
#endif

	ext->Common = (PUCHAR)ad->DmaOperations->AllocateCommonBuffer(
	    ad, RING_COMMON_SIZE, &ext->CommonLogical, RING_CACHED);
	if (ext->Common == NULL)
		return STATUS_INSUFFICIENT_RESOURCES; /* 5.4: no fallback to packet DMA here */
	RtlZeroMemory(ext->Common, RING_COMMON_SIZE);
	ext->TxRing = (volatile RING_DESC *)(ext->Common + RING_TX_RING_OFFSET);
	ext->RxRing = (volatile RING_DESC *)(ext->Common + RING_RX_RING_OFFSET);
#if RING_CACHED
	ext->CommonMdl = IoAllocateMdl(ext->Common, RING_COMMON_SIZE, FALSE, FALSE, NULL);
	if (ext->CommonMdl == NULL)
		goto fail;
	MmBuildMdlForNonPagedPool(ext->CommonMdl);
	ext->TxRingMdl =
	    RingPartialMdl(ext, RING_TX_RING_OFFSET, RING_TX_ENTRIES * sizeof(RING_DESC));
	ext->RxRingMdl =
	    RingPartialMdl(ext, RING_RX_RING_OFFSET, RING_RX_ENTRIES * sizeof(RING_DESC));
	ext->TxBufMdl = RingPartialMdl(ext, RING_TX_BUF_OFFSET, RING_TX_BUF_SIZE);
	if (ext->TxRingMdl == NULL || ext->RxRingMdl == NULL || ext->TxBufMdl == NULL)
		goto fail;
	for (i = 0; i < RING_RX_ENTRIES; i++) {
		ext->RxBufMdl[i] =
		    RingPartialMdl(ext, RING_RX_BUF_OFFSET + i * RING_RX_SLOT + RING_RX_DATA_OFFSET,
		                   RING_RX_DATA_SIZE);
		if (ext->RxBufMdl[i] == NULL)
			goto fail;
	}
	/* The zeroed buffer to memory, nothing of it left in the cache. */
	KeFlushIoBuffers(ext->CommonMdl, TRUE, TRUE);
#endif
	return STATUS_SUCCESS;
#if RING_CACHED
fail:
	RingFreeCommonBuffer(ext);
	return STATUS_INSUFFICIENT_RESOURCES;
#endif
}

static NTSTATUS RingStartDevice(PRING_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS regsStart = {{0, 0}};
	ULONG regsLength = 0, vector = 0, level = 0, addressBits, line, i;
	ULONGLONG base;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveInterrupt = FALSE;
	KIRQL irql;
	NTSTATUS status;

	if (translated == NULL || translated->Count == 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	list = &translated->List[0].PartialResourceList;
	for (i = 0; i < list->Count; i++) {
		PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &list->PartialDescriptors[i];
		switch (d->Type) {
		case CmResourceTypeMemory:
			if (regsLength == 0) {
				regsStart = d->u.Memory.Start;
				regsLength = d->u.Memory.Length;
			}
			break;
		case CmResourceTypeInterrupt:
			level = d->u.Interrupt.Level;
			vector = d->u.Interrupt.Vector;
			affinity = d->u.Interrupt.Affinity;
			mode =
			    (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
			shared = (BOOLEAN)(d->ShareDisposition == CmResourceShareShared);
			haveInterrupt = TRUE;
			break;
		default:
			break;
		}
	}
	if (regsLength < RING_REG_MAX_FRAME + 4 || !haveInterrupt)
		return STATUS_INSUFFICIENT_RESOURCES;

	ext->Registers = (PUCHAR)MmMapIoSpace(regsStart, regsLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = regsLength;
	if (RingReadReg(ext, RING_REG_ID) != RING_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	RingWriteReg(ext, RING_REG_CTRL, RING_CTRL_RESET);
	addressBits = (RingReadReg(ext, RING_REG_CAPS) >> 16) & 0xFF;
	ext->MaxFrame = RingReadReg(ext, RING_REG_MAX_FRAME);
	if (ext->MaxFrame > RING_TX_BUF_SIZE)
		ext->MaxFrame = RING_TX_BUF_SIZE;

	/* G14: a zeroed description.  Version 1 is enough for a bus master. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION1;
	desc.Master = TRUE;
	desc.ScatterGather = TRUE;
	desc.Dma32BitAddresses = TRUE;
	desc.Dma64BitAddresses = (BOOLEAN)(addressBits >= 64);
	desc.InterfaceType = PCIBus;
	desc.MaximumLength = RING_COMMON_SIZE;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (ext->DmaAdapter == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_unmap;
	}
	/* 5.4: every page of the common buffer takes a map register. */
	if (ext->NumberOfMapRegisters < BYTES_TO_PAGES(RING_COMMON_SIZE)) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}
	/* GetDmaAlignment is 1 on a PC HAL (DMA snoops the caches); the lines the device and
	 * the CPU must not share are the processors' (KeGetRecommendedSharedDataAlignment). */
	line = ext->DmaAdapter->DmaOperations->GetDmaAlignment(ext->DmaAdapter);
	if (line < KeGetRecommendedSharedDataAlignment())
		line = KeGetRecommendedSharedDataAlignment();
	if (line < RING_MIN_LINE)
		line = RING_MIN_LINE;
	ext->RxGroup = line / sizeof(RING_DESC);
	if (ext->RxGroup > RING_RX_ENTRIES / 2)
		ext->RxGroup = RING_RX_ENTRIES / 2;
	while (RING_RX_ENTRIES % ext->RxGroup != 0)
		ext->RxGroup--;

	status = RingAllocateCommonBuffer(ext);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	ext->TxIrp = NULL;
	ext->TxNext = ext->RxClean = ext->RxTail = ext->RxPosted = 0;

	status = IoConnectInterrupt(&ext->Interrupt, RingIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_buffer;

	base = (ULONGLONG)ext->CommonLogical.QuadPart;
	RingWriteReg(ext, RING_REG_TX_BASE_LO, (ULONG)(base + RING_TX_RING_OFFSET));
	RingWriteReg(ext, RING_REG_TX_BASE_HI, (ULONG)((base + RING_TX_RING_OFFSET) >> 32));
	RingWriteReg(ext, RING_REG_TX_SIZE, RING_TX_ENTRIES);
	RingWriteReg(ext, RING_REG_RX_BASE_LO, (ULONG)(base + RING_RX_RING_OFFSET));
	RingWriteReg(ext, RING_REG_RX_BASE_HI, (ULONG)((base + RING_RX_RING_OFFSET) >> 32));
	RingWriteReg(ext, RING_REG_RX_SIZE, RING_RX_ENTRIES);
	RingWriteReg(ext, RING_REG_INT_STATUS, RING_INT_ALL);
	RingWriteReg(ext, RING_REG_INT_MASK, RING_INT_ALL);

	KeAcquireSpinLock(&ext->Lock, &irql);
	RingPostRx(ext);
	ext->Started = TRUE;
	RingWriteReg(ext, RING_REG_CTRL, RING_CTRL_ENABLE | RING_CTRL_LOOPBACK);
	KeReleaseSpinLock(&ext->Lock, irql);
	return STATUS_SUCCESS;

fail_buffer:
	RingFreeCommonBuffer(ext);
fail_adapter:
	ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

/* Stop or remove: quiesce the device, fail what waits, free the common buffer, then the
 * adapter (G14). */
static VOID RingStopDevice(PRING_EXTENSION ext)
{
	LIST_ENTRY done;
	KIRQL irql;

	if (!ext->Started)
		return;
	InitializeListHead(&done);
	KeAcquireSpinLock(&ext->Lock, &irql);
	ext->Started = FALSE;
	RingWriteReg(ext, RING_REG_INT_MASK, 0);
	RingWriteReg(ext, RING_REG_CTRL, RING_CTRL_RESET); /* both engines stop */
	if (ext->TxIrp != NULL)
		RingQueueCompletion(&done, ext->TxIrp, STATUS_DEVICE_REMOVED, 0);
	ext->TxIrp = NULL;
	while (!IsListEmpty(&ext->WriteQueue))
		RingQueueCompletion(&done,
		                    CONTAINING_RECORD(RemoveHeadList(&ext->WriteQueue), IRP,
		                                      Tail.Overlay.ListEntry),
		                    STATUS_DEVICE_REMOVED, 0);
	while (!IsListEmpty(&ext->ReadQueue))
		RingQueueCompletion(
		    &done,
		    CONTAINING_RECORD(RemoveHeadList(&ext->ReadQueue), IRP, Tail.Overlay.ListEntry),
		    STATUS_DEVICE_REMOVED, 0);
	KeReleaseSpinLock(&ext->Lock, irql);
	RingCompleteList(&done);

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	InterlockedExchange(&ext->InterruptStatus, 0);
	RingFreeCommonBuffer(ext);
	ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS RingPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			return RingCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = RingStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return RingCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		RingStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		RingStopDevice(ext);
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

static NTSTATUS RingPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PRING_EXTENSION ext = (PRING_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
