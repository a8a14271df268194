/*
 * v3sub.c -- WDM function driver for spififo, a SPI-flash-like block peripheral on a request
 * line of the arm-soc platform's PL080 (or, on the PC platforms, on the 8237 channel its line
 * is wired to), written against version 3 of the DMA operations interface as a v3
 * *subordinate* (system DMA) driver (wdm-dma-spec 3, docs/kernel.md "DMA version 3"):
 *
 *   START       IoGetDmaAdapter(VERSION3, DmaRequestLine = spififo's line, DeviceAddress = its
 *               DATA register): the HAL binds a controller channel to the line.  With a DMA
 *               resource in the start resources (an ISA channel: the PC's 8237) the
 *               description also names DmaChannel, and the driver enables the device's TC
 *               interrupt: the 8237 raises none of its own, so the HAL never calls the
 *               completion routine there (the WDK's DmaCompletionRoutine remarks) and the
 *               device's TC interrupt ends each piece instead.
 *               InitializeDmaTransferContext and AllocateAdapterChannelEx (KeepObject): the
 *               adapter object and its map registers are the driver's while the device runs.
 *   StartIo     programs the device (LBA, COUNT, CMD) for the whole request, then the first
 *               piece: MapTransferEx(Offset, *Length = what is left) with a completion
 *               routine.  The HAL cleans the CPU caches, programs the channel and starts it;
 *               it may map less (*Length shortened, STATUS_SUCCESS).
 *   completion  (DmaCompletionRoutine, DISPATCH_LEVEL) FlushAdapterBuffersEx(Offset, the
 *               *Length returned): the channel halts and its FIFO tail reaches memory, the
 *               caches are invalidated after a read; the DMA_COMPLETION_STATUS and the flush's
 *               NTSTATUS decide the piece; the next piece continues at Offset + *Length.
 *   ISR/DPC     the device's DONE/ERR: the request ends once the device has answered and no
 *               piece is mapped; an ERR with a piece mapped cancels it (CancelMappedTransfer,
 *               then the flush it still owes).
 *   STOP        FreeAdapterObject, PutDmaAdapter.
 *
 * No KeFlushIoBuffers anywhere: v3's MapTransferEx and FlushAdapterBuffersEx do the cache
 * maintenance of transfers.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>, one mistake each): V01 no FlushAdapterBuffersEx after a
 * piece ("the completion routine says it is done"): the FIFO tail never reaches memory and the
 * map registers are never given back; V04 the next piece starts after what was asked for, not
 * after what was mapped; V05 the completion status and the flush's status are not looked at
 * (the request succeeds with the bytes that moved); V06 the adapter object is never given back
 * before PutDmaAdapter.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("v3sub", "spififo",
              "system DMA v3 on a request line (PL080): MapTransferEx, completion routine, "
              "partial mappings");

/* --- spififo registers (docs/devices/spififo.md): 32 bits, memory space --- */
#define SF_REG_DATA 0x00
#define SF_REG_CMD 0x04
#define SF_REG_LBA 0x08
#define SF_REG_COUNT 0x0C
#define SF_REG_STATUS 0x10
#define SF_REG_ID 0x18
#define SF_REG_CAPACITY 0x1C
#define SF_REG_CTRL 0x20
#define SF_CTRL_TCIE 0x1       /* interrupt at the controller's terminal count too */
#define SF_ID_VALUE 0x4F464953 /* "SIFO" */
#define SF_CMD_READ 1
#define SF_CMD_WRITE 2
#define SF_ST_DONE 0x2
#define SF_ST_ERR 0x4
#define SF_ST_TC 0x8
#define SF_SECTOR 512
#define SF_REQUEST_LINE 3     /* its line on the SoC's DMA controller (the board's wiring) */
#define SUB_CHUNK (36 * 1024) /* bytes asked of one MapTransferEx at most */

#define SUB_PIECE_TAGS 4 /* a late completion is at most one piece behind */

struct _SUB_EXTENSION;

/* The CompletionContext of one MapTransferEx: which piece the completion is of.  A
 * cancelled piece's DmaCancelled completion comes from a DPC of its own, possibly after
 * the next request's piece has started; it must not end that one. */
typedef struct _SUB_PIECE_TAG {
	struct _SUB_EXTENSION *Ext;
	ULONG Seq;
} SUB_PIECE_TAG;

typedef struct _SUB_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters;
	ULONGLONG Capacity;
	BOOLEAN IsaChannel;         /* an 8237 channel: pieces end at the device's TC interrupt */
	volatile LONG DeviceStatus; /* DONE/ERR/TC seen by the ISR */

	UCHAR DmaContext[DMA_TRANSFER_CONTEXT_SIZE_V1];
	PVOID MapRegisterBase; /* kept with the adapter object while started */
	KEVENT Granted;

	/* The request in progress. */
	PIRP Irp;
	PMDL Mdl;
	BOOLEAN WriteToDevice;
	ULONG Length;
	ULONG Done;       /* bytes moved */
	NTSTATUS Verdict; /* the DMA side's: completion status and flush */
	ULONG DevAnswer;  /* the device's DONE/ERR for this request, 0 until it answered */

	/* The piece in progress. */
	BOOLEAN PieceActive;
	KSPIN_LOCK ProgressLock; /* the completion routine and the DPC may run at once (two CPUs) */
	ULONG PieceOffset;       /* Offset passed to MapTransferEx */
	ULONG PieceRequested;    /* *Length passed */
	ULONG PieceMapped;       /* *Length returned */
	ULONG PieceSeq;          /* pieces started; the one in progress is this one */
	SUB_PIECE_TAG PieceTag[SUB_PIECE_TAGS];

	/* A request that ended under ProgressLock: completed (and the next one started) by
	 * whoever holds the lock, once it has let go (StartIo takes the lock too). */
	PIRP Ended;
	NTSTATUS EndedStatus;
	ULONG_PTR EndedInformation;
} SUB_EXTENSION, *PSUB_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SubAddDevice;
static DRIVER_UNLOAD SubUnload;
static DRIVER_STARTIO SubStartIo;
static DRIVER_CONTROL SubAdapterControl;
static KSERVICE_ROUTINE SubIsr;
static IO_DPC_ROUTINE SubDpc;
static DMA_COMPLETION_ROUTINE SubDmaComplete;
static DRIVER_DISPATCH SubCreateClose;
static DRIVER_DISPATCH SubReadWrite;
static DRIVER_DISPATCH SubDeviceControl;
static DRIVER_DISPATCH SubPnp;
static DRIVER_DISPATCH SubPower;

static ULONG SubRead(PSUB_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID SubWrite(PSUB_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS SubCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = SubAddDevice;
	DriverObject->DriverUnload = SubUnload;
	DriverObject->DriverStartIo = SubStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = SubCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = SubCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = SubReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SubReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SubDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SubPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = SubPower;
	return STATUS_SUCCESS;
}

static VOID SubUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS SubAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PSUB_EXTENSION ext;
	NTSTATUS status;
	ULONG i;

	status = IoCreateDevice(DriverObject, sizeof(SUB_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PSUB_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(SUB_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, SubDpc);
	KeInitializeSpinLock(&ext->ProgressLock);
	for (i = 0; i < SUB_PIECE_TAGS; i++)
		ext->PieceTag[i].Ext = ext; /* once: read before the lock by the completion */
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS SubCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return SubCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS SubReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;

	if (!ext->Started)
		return SubCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return SubCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % SF_SECTOR) != 0 || (length % SF_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return SubCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static NTSTATUS SubDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return SubCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return SubCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return SubCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return SubCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* Maps and starts the next piece: at most SUB_CHUNK bytes from ext->Done.  MapTransferEx may
 * map less (the controller's linked-list budget, the map registers). */
static NTSTATUS SubStartPiece(PSUB_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG length = ext->Length - ext->Done;
	NTSTATUS status;
	SUB_PIECE_TAG *tag;

	if (length > SUB_CHUNK)
		length = SUB_CHUNK;
	ext->PieceOffset = ext->Done;
	ext->PieceRequested = length;
	ext->PieceSeq++;
	tag = &ext->PieceTag[ext->PieceSeq % SUB_PIECE_TAGS];
	tag->Seq = ext->PieceSeq;
	status = ad->DmaOperations->MapTransferEx(ad, ext->Mdl, ext->MapRegisterBase,
	                                          ext->PieceOffset, 0, &length, ext->WriteToDevice,
	                                          NULL, 0, SubDmaComplete, tag);
	if (!NT_SUCCESS(status))
		return status;
	ext->PieceMapped = length;
	ext->PieceActive = TRUE;
	return STATUS_SUCCESS;
}

/* The piece's end: exactly one FlushAdapterBuffersEx per MapTransferEx, with its Offset and
 * the Length it returned. */
static NTSTATUS SubFlushPiece(PSUB_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;

	ext->PieceActive = FALSE;
#ifdef DMACOH_BUG_V01
	/* BUG V01: "the completion routine says the transfer is done": no flush, so the FIFO
	 * tail stays in the controller and the caches are never invalidated. */
	UNREFERENCED_PARAMETER(ad);
	return STATUS_SUCCESS;
#else
	return ad->DmaOperations->FlushAdapterBuffersEx(ad, ext->Mdl, ext->MapRegisterBase,
	                                                ext->PieceOffset, ext->PieceMapped,
	                                                ext->WriteToDevice);
#endif
}

/* Moves the request on (DISPATCH_LEVEL, from the completion routine or the DPC): the next
 * piece, or the end once the device has answered and nothing is mapped. */
static VOID SubProgress(PSUB_EXTENSION ext)
{
	PIRP irp = ext->Irp;
	NTSTATUS status;
	ULONG_PTR information;

	if (irp == NULL)
		return;
	if ((ext->DevAnswer & SF_ST_ERR) && ext->PieceActive) {
		/* The device gave up: stop the channel, then the flush the mapping still owes. */
		ext->DmaAdapter->DmaOperations->CancelMappedTransfer(ext->DmaAdapter,
		                                                     ext->DmaContext);
		SubFlushPiece(ext);
		ext->Verdict = STATUS_DEVICE_DATA_ERROR;
	}
	if (ext->PieceActive)
		return;
	if (NT_SUCCESS(ext->Verdict) && ext->Done < ext->Length && !(ext->DevAnswer & SF_ST_ERR)) {
		status = SubStartPiece(ext);
		if (NT_SUCCESS(status))
			return;
		ext->Verdict = status;
	}
	if (ext->DevAnswer == 0)
		return; /* the device has not answered yet */
	status = ext->Verdict;
	if (NT_SUCCESS(status) && (ext->DevAnswer & SF_ST_ERR))
		status = STATUS_DEVICE_DATA_ERROR;
	if (NT_SUCCESS(status) && ext->Done != ext->Length)
		status = STATUS_DEVICE_DATA_ERROR;
	information = NT_SUCCESS(status) ? ext->Length : 0;
#ifdef DMACOH_BUG_V05
	/* BUG V05: "the device interrupted, so what moved is good": the completion status and
	 * the flush's status are not looked at; the request succeeds with the bytes moved. */
	status = STATUS_SUCCESS;
	information = ext->Done;
#endif
	ext->Irp = NULL;
	ext->Ended = irp;
	ext->EndedStatus = status;
	ext->EndedInformation = information;
}

/* Releases ProgressLock, then completes the request that ended under it and starts the
 * next: StartIo takes the lock itself, so it is never called with the lock held. */
static VOID SubUnlockAndFinish(PSUB_EXTENSION ext)
{
	PIRP irp = ext->Ended;
	NTSTATUS status = ext->EndedStatus;
	ULONG_PTR information = ext->EndedInformation;

	ext->Ended = NULL;
	KeReleaseSpinLockFromDpcLevel(&ext->ProgressLock);
	if (irp == NULL)
		return;
	IoStartNextPacket(ext->Self, FALSE);
	SubCompleteIrp(irp, status, information);
}

/* The end of a piece: its flush, the verdict, the next piece.  Called under ProgressLock. */
static VOID SubPieceEnd(PSUB_EXTENSION ext, DMA_COMPLETION_STATUS Status)
{
	NTSTATUS flushStatus;

	if (ext->Irp == NULL || !ext->PieceActive)
		return;
	flushStatus = SubFlushPiece(ext);
	if (Status != DmaComplete)
		ext->Verdict = STATUS_DEVICE_DATA_ERROR;
	else if (!NT_SUCCESS(flushStatus))
		ext->Verdict = flushStatus;
#ifdef DMACOH_BUG_V04
	/* BUG V04: advances by what it asked for, as if MapTransferEx always mapped it all. */
	ext->Done += ext->PieceRequested;
#else
	ext->Done += ext->PieceMapped;
#endif
	SubProgress(ext);
}

/* The HAL's completion DPC and the device's DPC may run at the same time on two processors:
 * each moves the request on under ProgressLock.  A completion of a piece that already ended
 * (cancelled when the device gave up, and flushed then) is only that piece's news. */
static VOID SubDmaComplete(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                           PVOID CompletionContext, DMA_COMPLETION_STATUS Status)
{
	SUB_PIECE_TAG *tag = (SUB_PIECE_TAG *)CompletionContext;
	PSUB_EXTENSION ext = tag->Ext;

	UNREFERENCED_PARAMETER(DmaAdapter);
	UNREFERENCED_PARAMETER(DeviceObject);
	KeAcquireSpinLockAtDpcLevel(&ext->ProgressLock);
	if (tag->Seq == ext->PieceSeq)
		SubPieceEnd(ext, Status);
	SubUnlockAndFinish(ext);
}

static VOID SubStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG lba = (ULONGLONG)stack->Parameters.Read.ByteOffset.QuadPart / SF_SECTOR;
	NTSTATUS status;

	if (!ext->Started) {
		IoStartNextPacket(DeviceObject, FALSE);
		SubCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	/* The completion routine and the DPC may run on another processor as soon as
	 * MapTransferEx has started the piece: the piece's fields are written under the lock
	 * they read them under. */
	KeAcquireSpinLockAtDpcLevel(&ext->ProgressLock);
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->Length = stack->Parameters.Read.Length;
	ext->Done = 0;
	ext->Verdict = STATUS_SUCCESS;
	ext->DevAnswer = 0;
	ext->PieceActive = FALSE;

	/* The device first (it waits for the channel through its request line), then the DMA. */
	SubWrite(ext, SF_REG_LBA, (ULONG)lba);
	SubWrite(ext, SF_REG_COUNT, ext->Length / SF_SECTOR);
	SubWrite(ext, SF_REG_CMD, ext->WriteToDevice ? SF_CMD_WRITE : SF_CMD_READ);
	status = SubStartPiece(ext);
	if (!NT_SUCCESS(status))
		ext->Verdict = status; /* the device's answer ends the request */
	KeReleaseSpinLockFromDpcLevel(&ext->ProgressLock);
}

static BOOLEAN SubIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = SubRead(ext, SF_REG_STATUS) &
	         (SF_ST_DONE | SF_ST_ERR | (ext->IsaChannel ? SF_ST_TC : 0));
	if (status == 0)
		return FALSE;
	SubWrite(ext, SF_REG_STATUS, status);
	InterlockedOr(&ext->DeviceStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID SubDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;
	ULONG status = (ULONG)InterlockedExchange(&ext->DeviceStatus, 0);

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	KeAcquireSpinLockAtDpcLevel(&ext->ProgressLock);
	if (ext->Irp != NULL && status != 0) {
		/* An 8237 channel: the device's TC says the piece has moved (no completion routine
		 * is called there); the flush's status decides it. */
		if ((status & SF_ST_TC) && ext->IsaChannel)
			SubPieceEnd(ext, DmaComplete);
		if (ext->Irp != NULL) {
			ext->DevAnswer |= status & (SF_ST_DONE | SF_ST_ERR);
			SubProgress(ext);
		}
	}
	SubUnlockAndFinish(ext);
}

/* --- PnP ---------------------------------------------------------------------------- */

static IO_ALLOCATION_ACTION SubAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              PVOID MapRegisterBase, PVOID Context)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)Context;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	ext->MapRegisterBase = MapRegisterBase;
	KeSetEvent(&ext->Granted, IO_NO_INCREMENT, FALSE);
	/* System DMA: the channel and its registers stay the driver's until FreeAdapterObject. */
	return KeepObject;
}

static VOID SubReleaseAdapter(PSUB_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (ad == NULL)
		return;
	if (ext->MapRegisterBase != NULL) {
#ifndef DMACOH_BUG_V06
		KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
		ad->DmaOperations->FreeAdapterObject(ad, DeallocateObject);
		KeLowerIrql(oldIrql);
#else
		/* BUG V06: the adapter object kept by KeepObject is never given back. */
		UNREFERENCED_PARAMETER(oldIrql);
#endif
	}
	ext->MapRegisterBase = NULL;
	ad->DmaOperations->PutDmaAdapter(ad);
	ext->DmaAdapter = NULL;
}

static NTSTATUS SubStartDevice(PSUB_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS regsStart = {{0, 0}};
	ULONG regsLength = 0, vector = 0, level = 0, channel = 0, i;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveInterrupt = FALSE, haveChannel = FALSE;
	KIRQL oldIrql;
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
		case CmResourceTypeDma:
			channel = d->u.Dma.Channel;
			haveChannel = TRUE;
			break;
		default:
			break;
		}
	}
	if (regsLength < SF_REG_CAPACITY + 4 || !haveInterrupt)
		return STATUS_INSUFFICIENT_RESOURCES;

	ext->Registers = (PUCHAR)MmMapIoSpace(regsStart, regsLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = regsLength;
	if (SubRead(ext, SF_REG_ID) != SF_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	ext->Capacity = (ULONGLONG)SubRead(ext, SF_REG_CAPACITY) * SF_SECTOR;
	SubWrite(ext, SF_REG_STATUS, SF_ST_DONE | SF_ST_ERR | SF_ST_TC);
	ext->IsaChannel = haveChannel;
	SubWrite(ext, SF_REG_CTRL, haveChannel ? SF_CTRL_TCIE : 0);

	/* Version 3 subordinate DMA: the request line and the peripheral's FIFO register. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION3;
	desc.Master = FALSE;
	desc.InterfaceType = haveChannel ? Isa : ACPIBus;
	desc.DmaWidth = Width8Bits;
	desc.DmaChannel = channel;
	desc.DmaRequestLine = haveChannel ? channel : SF_REQUEST_LINE;
	desc.DeviceAddress.QuadPart = regsStart.QuadPart + SF_REG_DATA;
	/* On the 8237 the map registers bound a transfer (one run, bounced through them when the
	 * buffer's pages are scattered): 16 KiB of them, so a 36 KiB piece is mapped in part. */
	desc.MaximumLength = haveChannel ? 16 * 1024 : 64 * 1024;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (ext->DmaAdapter == NULL || ext->NumberOfMapRegisters == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_unmap;
	}
	status = ext->DmaAdapter->DmaOperations->InitializeDmaTransferContext(ext->DmaAdapter,
	                                                                      ext->DmaContext);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	KeInitializeEvent(&ext->Granted, NotificationEvent, FALSE);
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	status = ext->DmaAdapter->DmaOperations->AllocateAdapterChannelEx(
	    ext->DmaAdapter, ext->Self, ext->DmaContext, ext->NumberOfMapRegisters, 0,
	    SubAdapterControl, ext, NULL);
	KeLowerIrql(oldIrql);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	KeWaitForSingleObject(&ext->Granted, Executive, KernelMode, FALSE, NULL);

	status = IoConnectInterrupt(&ext->Interrupt, SubIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_adapter:
	SubReleaseAdapter(ext);
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

static VOID SubStopDevice(PSUB_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	InterlockedExchange(&ext->DeviceStatus, 0);
	/* Under the lock the completion routine and the DPC take: either may still run. */
	KeAcquireSpinLockAtDpcLevel(&ext->ProgressLock);
	if (ext->Irp != NULL) {
		/* A request in flight: stop the channel, flush its mapping, fail it. */
		if (ext->PieceActive) {
			ad->DmaOperations->CancelMappedTransfer(ad, ext->DmaContext);
			SubFlushPiece(ext);
		}
		ext->Ended = ext->Irp;
		ext->EndedStatus = STATUS_DEVICE_REMOVED;
		ext->EndedInformation = 0;
		ext->Irp = NULL;
	}
	SubUnlockAndFinish(ext);
	KeLowerIrql(oldIrql);

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	SubReleaseAdapter(ext);
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS SubPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			return SubCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = SubStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return SubCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		SubStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		SubStopDevice(ext);
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

static NTSTATUS SubPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSUB_EXTENSION ext = (PSUB_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
