/*
 * mpdpc.c -- WDM function driver for the bmblk bus-master disk, written for a multiprocessor:
 * the work of one request runs on two processors, as it does on every machine Windows ships on.
 *
 *   dispatch    (the caller's thread, processor 0) validates the request and touches its
 *               buffer there: a read's buffer is zeroed (so a short transfer leaves no stale
 *               bytes), a write's data is summed for the driver's statistics (a spin lock);
 *               then IoMarkIrpPending, IoStartPacket
 *   StartIo     KeFlushIoBuffers over the whole MDL (G1): the buffer's lines are dirty in
 *               processor 0's L1 while the transfer may be started from processor 1, and the
 *               flush acts on every processor's caches; then AllocateAdapterChannel
 *   AdapterControl  saves MapRegisterBase and starts the first operation: everything that
 *               needs the MapRegisterBase runs here, never after AllocateAdapterChannel
 *               returns (the grant may come later, on another processor)
 *   ISR         reads and acknowledges INT_STATUS, ORs it into IntStatus, queues the DPC
 *   DPC         targeted (KeSetTargetProcessorDpc) to processor 1: takes IntStatus inside
 *               KeSynchronizeExecution, ends the operation (FlushAdapterBuffers per
 *               MapTransfer), starts the next one -- an operation is at most MP_OP_PAGES
 *               pages, so most transfers are started by the DPC on the other processor --
 *               and after the last one sums a read's data there, releases the registers,
 *               IoStartNextPacket (whose StartIo then runs on processor 1), IoCompleteRequest.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>):
 *   S01  the DPC reads IntStatus without KeSynchronizeExecution and clears it at its end,
 *        after it started the next operation: the ISR of that operation, on another
 *        processor, may OR in DONE between the read and the clear, and the clear loses it
 *        (the next DPC finds nothing to do: the request hangs).
 *   S03  AdapterControl only saves MapRegisterBase; StartIo maps and starts the operation
 *        right after AllocateAdapterChannel returns, as if the grant were synchronous.  It is
 *        while the channel is free; with the grant deferred (`dmacoh run --deferred-grant`,
 *        as when the channel is busy) MapTransfer gets a MapRegisterBase nobody delivered.
 *   C01  no KeFlushIoBuffers before a write: "the DPC that starts the transfer runs on
 *        another processor, so that processor's cache cannot hold the caller's data" -- but
 *        the data is dirty in processor 0's L1 and the device reads stale memory on the
 *        non-coherent platforms (the seed's "one or more processor caches").
 * Not done: several devices sharing the DPC's processor, threaded DPCs.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("mpdpc", "bmblk",
              "bus master on two processors: dispatch on 0, DPC targeted to 1, synchronised");

/* --- bmblk registers (docs/devices/bmblk.md): 32 bits, little-endian, memory space --- */
#define BM_REG_ID 0x00
#define BM_REG_CAPS 0x04 /* [7:0] SG elements, [15:8] address bits */
#define BM_REG_CTRL 0x08
#define BM_REG_STATUS 0x0C
#define BM_REG_INT_STATUS 0x10 /* write 1 to clear */
#define BM_REG_INT_MASK 0x14
#define BM_REG_LBA_LO 0x18
#define BM_REG_LBA_HI 0x1C
#define BM_REG_SECTOR_COUNT 0x20
#define BM_REG_SG_COUNT 0x24
#define BM_REG_DOORBELL 0x28
#define BM_REG_ERROR 0x2C
#define BM_REG_CAPACITY_LO 0x30
#define BM_REG_CAPACITY_HI 0x34
#define BM_REG_BYTES_DONE 0x38
#define BM_REG_SG_ADDR_LO(i) (0x100 + 16 * (i))
#define BM_REG_SG_ADDR_HI(i) (0x104 + 16 * (i))
#define BM_REG_SG_LEN(i) (0x108 + 16 * (i))

#define BM_ID_VALUE 0x4B424D42 /* "BMBK" */
#define BM_CTRL_RESET 0x1
#define BM_INT_DONE 0x1
#define BM_INT_ERROR 0x2
#define BM_CMD_READ 1  /* disk -> memory */
#define BM_CMD_WRITE 2 /* memory -> disk */
#define BM_SECTOR 512
#define BM_MAX_SG 64

/* Pages per transfer operation: small, so a request is a chain the DPC continues. */
#define MP_OP_PAGES 2

typedef struct _MP_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters; /* what IoGetDmaAdapter granted */
	ULONG MaxSg;                /* CAPS[7:0] */
	ULONGLONG Capacity;         /* bytes */
	/* INT_STATUS bits the ISR acknowledged, for the DPC: ORed in by the ISR (holding the
	 * interrupt's lock, interlocked), taken by the DPC inside KeSynchronizeExecution.  Not
	 * volatile: a volatile access is atomic (MSVC's /volatile:ms), and the lock is the
	 * point. */
	LONG IntStatus;

	/* Statistics: dispatch routines (processor 0) and the DPC (processor 1) add to them
	 * under StatsLock. */
	KSPIN_LOCK StatsLock;
	ULONGLONG WriteSum, ReadSum;
	ULONG Requests;

	/* The request in progress (StartIo serialises them). */
	PIRP Irp;
	PMDL Mdl;
	BOOLEAN WriteToDevice;
	ULONGLONG Lba;
	ULONG Length;
	ULONG Done;
	/* Published with interlocked operations: AdapterControl may run on another processor
	 * than StartIo (a grant deferred to a DPC of the HAL's). */
	PVOID volatile MapRegisterBase;
	ULONG MapRegistersAllocated;

	PUCHAR PieceVa[BM_MAX_SG];
	ULONG PieceLength[BM_MAX_SG];
	ULONG PieceCount;
	ULONG OpLength;
	BOOLEAN OpMapped;
	NTSTATUS OpStatus;
} MP_EXTENSION, *PMP_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE MpAddDevice;
static DRIVER_UNLOAD MpUnload;
static DRIVER_STARTIO MpStartIo;
static DRIVER_CONTROL MpAdapterControl;
static KSERVICE_ROUTINE MpIsr;
static IO_DPC_ROUTINE MpDpc;
#ifndef DMACOH_BUG_S01
static KSYNCHRONIZE_ROUTINE MpTakeStatus;
#endif
static KSYNCHRONIZE_ROUTINE MpClearStatus;
static DRIVER_DISPATCH MpCreateClose;
static DRIVER_DISPATCH MpReadWrite;
static DRIVER_DISPATCH MpDeviceControl;
static DRIVER_DISPATCH MpPnp;
static DRIVER_DISPATCH MpPower;

static ULONG MpRead(PMP_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID MpWrite(PMP_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static PVOID MpMapRegisterBase(PMP_EXTENSION ext)
{
	return InterlockedCompareExchangePointer(&ext->MapRegisterBase, NULL, NULL);
}

static NTSTATUS MpCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = MpAddDevice;
	DriverObject->DriverUnload = MpUnload;
	DriverObject->DriverStartIo = MpStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = MpCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = MpCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = MpReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = MpReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = MpDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = MpPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = MpPower;
	return STATUS_SUCCESS;
}

static VOID MpUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS MpAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PMP_EXTENSION ext;
	NTSTATUS status;
	ULONG processors;

	status = IoCreateDevice(DriverObject, sizeof(MP_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PMP_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(MP_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	KeInitializeSpinLock(&ext->StatsLock);
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, MpDpc);
	/* The DPC runs on processor 1 (when there is one), never where it was queued: the
	 * dispatch routines run on processor 0, so the buffers' lines are dirty in the other
	 * processor's cache when the DPC starts or ends a transfer. */
	processors = KeQueryActiveProcessorCount(NULL);
	KeSetTargetProcessorDpc(&fdo->Dpc, (CCHAR)(processors > 1 ? 1 : 0));
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS MpCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return MpCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static ULONGLONG MpSum(const UCHAR *p, ULONG length)
{
	ULONGLONG sum = 0;
	ULONG i;

	for (i = 0; i < length; i++)
		sum = sum * 31 + p[i];
	return sum;
}

static NTSTATUS MpReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;
	PUCHAR buffer;
	KIRQL irql;

	if (!ext->Started)
		return MpCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return MpCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return MpCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);
	buffer = (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
	if (buffer == NULL)
		return MpCompleteIrp(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);

	/* On this processor: a read's buffer is zeroed (its lines now dirty here), a write's
	 * data summed. */
	if (stack->MajorFunction == IRP_MJ_READ) {
		RtlZeroMemory(buffer, length);
	} else {
		ULONGLONG sum = MpSum(buffer, length);
		KeAcquireSpinLock(&ext->StatsLock, &irql);
		ext->WriteSum += sum;
		ext->Requests++;
		KeReleaseSpinLock(&ext->StatsLock, irql);
	}

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static NTSTATUS MpDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return MpCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return MpCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return MpCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return MpCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* Ends the operation in progress: one flush per MapTransfer (G3/G4).  FALSE if any failed. */
static BOOLEAN MpFlushOperation(PMP_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	BOOLEAN ok = TRUE;
	ULONG i;

	for (i = 0; i < ext->PieceCount; i++)
		if (!ad->DmaOperations->FlushAdapterBuffers(ad, ext->Mdl, MpMapRegisterBase(ext),
		                                            ext->PieceVa[i], ext->PieceLength[i],
		                                            ext->WriteToDevice))
			ok = FALSE;
	return ok;
}

/* Maps the next operation (at most MP_OP_PAGES pages) into the SG table and starts it.  On
 * failure nothing is left mapped and the device is not started. */
static NTSTATUS MpStartOperation(PMP_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) + ext->Done;
	ULONG remaining = ext->Length - ext->Done;
	ULONG pages =
	    ext->MapRegistersAllocated < ext->MaxSg ? ext->MapRegistersAllocated : ext->MaxSg;
	ULONG opLength, mapped = 0, n = 0;
	ULONGLONG lba;

	if (pages > MP_OP_PAGES)
		pages = MP_OP_PAGES;
	opLength = pages * PAGE_SIZE - BYTE_OFFSET(va);
	if (opLength > remaining)
		opLength = remaining;
	opLength &= ~(ULONG)(BM_SECTOR - 1);
	if (opLength == 0)
		return STATUS_INSUFFICIENT_RESOURCES;

	while (mapped < opLength && n < ext->MaxSg) {
		ULONG len = opLength - mapped;
		PHYSICAL_ADDRESS logical = ad->DmaOperations->MapTransfer(
		    ad, ext->Mdl, MpMapRegisterBase(ext), va + mapped, &len, ext->WriteToDevice);
		if (len == 0)
			break;
		MpWrite(ext, BM_REG_SG_ADDR_LO(n), logical.LowPart);
		MpWrite(ext, BM_REG_SG_ADDR_HI(n), (ULONG)logical.HighPart);
		MpWrite(ext, BM_REG_SG_LEN(n), len);
		ext->PieceVa[n] = va + mapped;
		ext->PieceLength[n] = len;
		mapped += len;
		n++;
	}
	ext->PieceCount = n;
	ext->OpLength = mapped;
	if (mapped != opLength) {
		MpFlushOperation(ext);
		ext->PieceCount = 0;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	ext->OpMapped = TRUE;

	lba = ext->Lba + ext->Done / BM_SECTOR;
	MpWrite(ext, BM_REG_LBA_LO, (ULONG)lba);
	MpWrite(ext, BM_REG_LBA_HI, (ULONG)(lba >> 32));
	MpWrite(ext, BM_REG_SECTOR_COUNT, opLength / BM_SECTOR);
	MpWrite(ext, BM_REG_SG_COUNT, n);
	MpWrite(ext, BM_REG_DOORBELL, ext->WriteToDevice ? BM_CMD_WRITE : BM_CMD_READ);
	return STATUS_SUCCESS;
}

static VOID MpStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG needed;
	NTSTATUS status;

	if (!ext->Started) {
		IoStartNextPacket(DeviceObject, FALSE);
		MpCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->Lba = (ULONGLONG)stack->Parameters.Read.ByteOffset.QuadPart / BM_SECTOR;
	ext->Length = stack->Parameters.Read.Length;
	ext->Done = 0;
	ext->OpMapped = FALSE;
	ext->PieceCount = 0;
	ext->OpStatus = STATUS_SUCCESS;

	needed = ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(ext->Mdl), ext->Length);
	ext->MapRegistersAllocated =
	    needed < ext->NumberOfMapRegisters ? needed : ext->NumberOfMapRegisters;

	/* G1: the buffer's lines may be dirty in any processor's cache (processor 0 wrote a
	 * write's data or zeroed a read's buffer; StartIo may run on processor 1): the flush
	 * writes back, and for a read also invalidates, every processor's copies. */
#ifdef DMACOH_BUG_C01
	/* BUG C01: flushes only before reads, reasoning that the DPC that starts the transfer
	 * runs on another processor, whose cache never saw the caller's data.  The data is dirty
	 * in processor 0's L1: the device reads stale memory. */
	if (!ext->WriteToDevice)
		KeFlushIoBuffers(ext->Mdl, TRUE, TRUE);
#else
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);
#endif

	status = ad->DmaOperations->AllocateAdapterChannel(
	    ad, DeviceObject, ext->MapRegistersAllocated, MpAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		MpCompleteIrp(Irp, status, 0);
		return;
	}
#ifdef DMACOH_BUG_S03
	/* BUG S03: the operation is started here, as if AdapterControl had run inside
	 * AllocateAdapterChannel.  It has while the channel was free; when the grant is
	 * deferred, ext->MapRegisterBase is the previous request's (NULL after its release). */
	status = MpStartOperation(ext);
	if (!NT_SUCCESS(status)) {
		ext->OpStatus = status;
		IoRequestDpc(DeviceObject, Irp, NULL);
	}
#endif
}

static IO_ALLOCATION_ACTION MpAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PVOID MapRegisterBase, PVOID Context)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)Context;
#ifndef DMACOH_BUG_S03
	NTSTATUS status;
#endif

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	InterlockedExchangePointer(&ext->MapRegisterBase, MapRegisterBase);
#ifndef DMACOH_BUG_S03
	/* Everything that needs MapRegisterBase happens here, whenever the grant comes. */
	status = MpStartOperation(ext);
	if (!NT_SUCCESS(status)) {
		ext->OpStatus = status;
		IoRequestDpc(DeviceObject, Irp, NULL); /* the DPC releases and fails the IRP */
	}
#endif
	return DeallocateObjectKeepRegisters;
}

static BOOLEAN MpIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = MpRead(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	if (status == 0)
		return FALSE;
	MpWrite(ext, BM_REG_INT_STATUS, status);
	/* The ISR holds the interrupt's spin lock: the DPC takes the bits under the same lock
	 * (KeSynchronizeExecution). */
	InterlockedOr(&ext->IntStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

#ifndef DMACOH_BUG_S01
typedef struct _MP_TAKE {
	PMP_EXTENSION Ext;
	ULONG Status;
} MP_TAKE;

/* At DIRQL with the interrupt's lock held: the ISR on any processor is excluded. */
static BOOLEAN MpTakeStatus(PVOID Context)
{
	MP_TAKE *take = (MP_TAKE *)Context;

	take->Status = (ULONG)take->Ext->IntStatus;
	take->Ext->IntStatus = 0;
	return TRUE;
}
#endif

static VOID MpFinishRequest(PMP_EXTENSION ext, NTSTATUS status)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PIRP irp = ext->Irp;
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	/* A read's data summed on this processor (the DPC's), after its FlushAdapterBuffers. */
	if (NT_SUCCESS(status) && !ext->WriteToDevice) {
		PUCHAR buffer = (PUCHAR)MmGetSystemAddressForMdlSafe(ext->Mdl, NormalPagePriority);
		if (buffer != NULL) {
			ULONGLONG sum = MpSum(buffer, ext->Length);
			KeAcquireSpinLockAtDpcLevel(&ext->StatsLock);
			ext->ReadSum += sum;
			ext->Requests++;
			KeReleaseSpinLockFromDpcLevel(&ext->StatsLock);
		}
	}
	ad->DmaOperations->FreeMapRegisters(ad,
	                                    InterlockedExchangePointer(&ext->MapRegisterBase, NULL),
	                                    ext->MapRegistersAllocated);
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	MpCompleteIrp(irp, status, information);
}

static VOID MpDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;
	NTSTATUS status = ext->OpStatus;
	ULONG intStatus;
#ifdef DMACOH_BUG_S01
	/* BUG S01: reads the ISR's bits without the interrupt's lock, and clears the word at
	 * the end, after the next operation started: that operation's ISR may have ORed DONE in
	 * meanwhile, on another processor, and the clear loses it.  (The ISR's InterlockedOr
	 * does not help: both sides must be atomic or locked.) */
	intStatus = (ULONG)ext->IntStatus;
#else
	MP_TAKE take;

	take.Ext = ext;
	take.Status = 0;
	KeSynchronizeExecution(ext->Interrupt, MpTakeStatus, &take);
	intStatus = take.Status;
#endif

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if (ext->Irp == NULL ||
	    (NT_SUCCESS(status) &&
	     (!ext->OpMapped || (intStatus & (BM_INT_DONE | BM_INT_ERROR)) == 0)))
		goto out; /* no operation in progress, or it is not finished */

	if (ext->OpMapped) {
		BOOLEAN ok = MpFlushOperation(ext);
		ext->OpMapped = FALSE;
		if (!ok || (intStatus & BM_INT_ERROR) != 0)
			status = STATUS_DEVICE_DATA_ERROR;
		if (NT_SUCCESS(status)) {
			ext->Done += ext->OpLength;
			if (ext->Done < ext->Length) {
				/* The next operation, started from this processor. */
				status = MpStartOperation(ext);
				if (NT_SUCCESS(status))
					goto out;
			}
		}
	}
	MpFinishRequest(ext, status);
out:
#ifdef DMACOH_BUG_S01
	ext->IntStatus = 0;
#endif
	return;
}

/* --- PnP ---------------------------------------------------------------------------- */

static NTSTATUS MpStartDevice(PMP_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS regsStart = {{0, 0}};
	ULONG regsLength = 0, vector = 0, level = 0, caps, addressBits, i;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveInterrupt = FALSE;
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
		default: /* no ports, no system DMA channel: a bus master */
			break;
		}
	}
	if (regsLength < BM_REG_SG_LEN(BM_MAX_SG - 1) + 4 || !haveInterrupt)
		return STATUS_INSUFFICIENT_RESOURCES;

	ext->Registers = (PUCHAR)MmMapIoSpace(regsStart, regsLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = regsLength;
	if (MpRead(ext, BM_REG_ID) != BM_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	MpWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	caps = MpRead(ext, BM_REG_CAPS);
	ext->MaxSg = caps & 0xFF;
	if (ext->MaxSg == 0 || ext->MaxSg > BM_MAX_SG)
		ext->MaxSg = 1;
	addressBits = (caps >> 8) & 0xFF;
	ext->Capacity =
	    ((ULONGLONG)MpRead(ext, BM_REG_CAPACITY_HI) << 32 | MpRead(ext, BM_REG_CAPACITY_LO)) *
	    BM_SECTOR;

	/* G14: a zeroed description; a 32-bit scatter/gather bus master unless CAPS says 64. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = TRUE;
	desc.ScatterGather = TRUE;
	desc.Dma32BitAddresses = TRUE;
	desc.Dma64BitAddresses = (BOOLEAN)(addressBits >= 64);
	desc.InterfaceType = PCIBus;
	desc.MaximumLength = ext->MaxSg * PAGE_SIZE; /* one full SG table */
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (ext->DmaAdapter == NULL || ext->NumberOfMapRegisters == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}

	status = IoConnectInterrupt(&ext->Interrupt, MpIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	MpWrite(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	MpWrite(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
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

/* At DIRQL with the interrupt's lock held. */
static BOOLEAN MpClearStatus(PVOID Context)
{
	((PMP_EXTENSION)Context)->IntStatus = 0;
	return TRUE;
}

/* Stop or remove: quiesce the device, give back every DMA resource, then the adapter (G14). */
static VOID MpStopDevice(PMP_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	MpWrite(ext, BM_REG_INT_MASK, 0);
	MpWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	KeSynchronizeExecution(ext->Interrupt, MpClearStatus, ext);
	if (ext->Irp != NULL) {
		/* A request was still in flight: abort it and release what it holds. */
		if (ext->OpMapped)
			MpFlushOperation(ext);
		ext->OpMapped = FALSE;
		MpFinishRequest(ext, STATUS_DEVICE_REMOVED);
	}
	KeLowerIrql(oldIrql);

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	ad->DmaOperations->PutDmaAdapter(ad);
	ext->DmaAdapter = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS MpPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			return MpCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = MpStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return MpCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		MpStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		MpStopDevice(ext);
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

static NTSTATUS MpPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PMP_EXTENSION ext = (PMP_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
