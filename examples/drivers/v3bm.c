/*
 * v3bm.c -- WDM function driver for the bmblk bus-master scatter/gather disk written against
 * version 3 of the DMA operations interface (IoGetDmaAdapter with DEVICE_DESCRIPTION_VERSION3;
 * wdm-dma-spec 3, docs/kernel.md "DMA version 3"):
 *
 *   START       IoGetDmaAdapter(VERSION3) -> a v3 DMA_OPERATIONS; GetDmaAdapterInfo; the
 *               driver's own scatter/gather buffer (V3_SG_ELEMENTS elements, from pool); a
 *               cache-enabled common buffer from AllocateCommonBufferEx below 4 GiB, into
 *               which the device reads sector 0 at start (a self-test: FlushDmaBuffer before
 *               the CPU looks at it -- v3's KeFlushIoBuffers for common buffers)
 *   StartIo     GetDmaTransferInfo (map registers the request needs),
 *               InitializeDmaTransferContext, AllocateAdapterChannelEx (asynchronous)
 *   AdapterControl  saves MapRegisterBase, maps the first piece, DeallocateObjectKeepRegisters
 *   piece       MapTransferEx(Offset, *Length = what is left of the chunk) into the driver's
 *               scatter/gather buffer: it cleans the CPU caches over the bytes and may map
 *               less than asked (*Length shortened, STATUS_SUCCESS) when the buffer's elements
 *               run out.  The device is programmed with the whole sectors of what was mapped.
 *   ISR         reads and acknowledges INT_STATUS, queues the DPC
 *   DPC         FlushAdapterBuffersEx(Offset, the *Length MapTransferEx returned): drains the
 *               bridge and invalidates the caches after a read; its NTSTATUS and the device's
 *               status decide the piece; then the next piece at Offset + what was moved, or
 *               FreeMapRegisters and IoCompleteRequest.
 *
 * No KeFlushIoBuffers anywhere: v3's MapTransferEx and FlushAdapterBuffersEx do the cache
 * maintenance of transfers.  A request is moved in chunks of at most V3_CHUNK bytes; a chunk
 * that MapTransferEx maps only partly continues where the mapping ended.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>, one mistake each): V01 no FlushAdapterBuffersEx after a
 * write piece; V02 FlushAdapterBuffersEx with the Length asked for, not the one MapTransferEx
 * returned; V03 the DPC peeks at the data before FlushAdapterBuffersEx; V04 the next piece
 * starts after the whole chunk asked for, not after what was mapped; V07 the self-test reads
 * the cache-enabled common buffer without FlushDmaBuffer; V08 the DPC flushes a MapTransferEx
 * with the v1 FlushAdapterBuffers.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("v3bm", "bmblk",
              "bus-master DMA v3: MapTransferEx into the driver's SG buffer, partial mappings, "
              "AllocateCommonBufferEx");

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

#define V3_TAG '3vBD'
#define V3_SG_ELEMENTS 4     /* the driver's scatter/gather buffer */
#define V3_CHUNK (32 * 1024) /* bytes asked of one MapTransferEx at most */
#define V3_SG_BYTES (sizeof(SCATTER_GATHER_LIST) + V3_SG_ELEMENTS * sizeof(SCATTER_GATHER_ELEMENT))

typedef struct _V3_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters;
	ULONG MaxSg;
	ULONGLONG Capacity;
	volatile LONG InterruptStatus;

	/* The driver's scatter/gather buffer (MapTransferEx fills it) and transfer context. */
	PSCATTER_GATHER_LIST SgBuffer;
	UCHAR DmaContext[DMA_TRANSFER_CONTEXT_SIZE_V1];

	/* The request in progress. */
	PIRP Irp;
	PMDL Mdl;
	BOOLEAN WriteToDevice;
	ULONGLONG Lba;
	ULONG Length;
	ULONG Done; /* bytes moved */
	PVOID MapRegisterBase;
	ULONG MapRegisters; /* asked of AllocateAdapterChannelEx */

	/* The piece in progress. */
	BOOLEAN PieceActive;
	ULONG PieceOffset;    /* Offset passed to MapTransferEx */
	ULONG PieceRequested; /* *Length passed */
	ULONG PieceMapped;    /* *Length returned */
	ULONG PieceLength;    /* whole sectors of it given to the device */

	/* The start-time self-test: sector 0 into a cache-enabled common buffer. */
	PUCHAR Common;
	PHYSICAL_ADDRESS CommonLogical;
	PMDL CommonMdl;
	BOOLEAN Probing;
	KEVENT ProbeDone;
	ULONG Sector0Sum;
} V3_EXTENSION, *PV3_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE V3AddDevice;
static DRIVER_UNLOAD V3Unload;
static DRIVER_STARTIO V3StartIo;
static DRIVER_CONTROL V3AdapterControl;
static KSERVICE_ROUTINE V3Isr;
static IO_DPC_ROUTINE V3Dpc;
static DRIVER_DISPATCH V3CreateClose;
static DRIVER_DISPATCH V3ReadWrite;
static DRIVER_DISPATCH V3DeviceControl;
static DRIVER_DISPATCH V3Pnp;
static DRIVER_DISPATCH V3Power;

static ULONG V3Read(PV3_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID V3Write(PV3_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS V3CompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = V3AddDevice;
	DriverObject->DriverUnload = V3Unload;
	DriverObject->DriverStartIo = V3StartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = V3CreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = V3CreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = V3ReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = V3ReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = V3DeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = V3Pnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = V3Power;
	return STATUS_SUCCESS;
}

static VOID V3Unload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS V3AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PV3_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(V3_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PV3_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(V3_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, V3Dpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS V3CreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return V3CompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS V3ReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;

	if (!ext->Started)
		return V3CompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return V3CompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return V3CompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static NTSTATUS V3DeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return V3CompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return V3CompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return V3CompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return V3CompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* Ends the request: the registers back (FreeMapRegisters, as DeallocateObjectKeepRegisters
 * asks), then the IRP. */
static VOID V3FinishRequest(PV3_EXTENSION ext, NTSTATUS status)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PIRP irp = ext->Irp;
	/* Taken before IoStartNextPacket: StartIo may begin the next request at once. */
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	if (ext->MapRegisterBase != NULL)
		ad->DmaOperations->FreeMapRegisters(ad, ext->MapRegisterBase, ext->MapRegisters);
	ext->MapRegisterBase = NULL;
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	V3CompleteIrp(irp, status, information);
}

/* Maps and starts the next piece: at most V3_CHUNK bytes from ext->Done.  MapTransferEx may
 * map less; the device gets the whole sectors of what it mapped. */
static NTSTATUS V3StartPiece(PV3_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PSCATTER_GATHER_LIST sg = ext->SgBuffer;
	ULONGLONG lba = ext->Lba + ext->Done / BM_SECTOR;
	ULONG length = ext->Length - ext->Done, program, total, i, n;
	NTSTATUS status;

	if (length > V3_CHUNK)
		length = V3_CHUNK;
	ext->PieceOffset = ext->Done;
	ext->PieceRequested = length;
	status = ad->DmaOperations->MapTransferEx(ad, ext->Mdl, ext->MapRegisterBase,
	                                          ext->PieceOffset, 0, &length, ext->WriteToDevice,
	                                          sg, V3_SG_BYTES, NULL, NULL);
	if (!NT_SUCCESS(status))
		return status;
	ext->PieceActive = TRUE;
	ext->PieceMapped = length;
	program = length & ~(ULONG)(BM_SECTOR - 1);
	ext->PieceLength = program;
	if (program == 0 || sg->NumberOfElements == 0 || sg->NumberOfElements > ext->MaxSg) {
		/* Not one whole sector mapped: give the mapping back (the DPC flushes). */
		ext->PieceLength = 0;
		InterlockedOr(&ext->InterruptStatus, BM_INT_ERROR);
		IoRequestDpc(ext->Self, ext->Irp, NULL);
		return STATUS_SUCCESS;
	}
	/* The device's table: the elements up to `program` bytes. */
	for (i = 0, n = 0, total = 0; i < sg->NumberOfElements && total < program; i++, n++) {
		PSCATTER_GATHER_ELEMENT e = &sg->Elements[i];
		ULONG len = e->Length;
		if (len > program - total)
			len = program - total;
		V3Write(ext, BM_REG_SG_ADDR_LO(n), e->Address.LowPart);
		V3Write(ext, BM_REG_SG_ADDR_HI(n), (ULONG)e->Address.HighPart);
		V3Write(ext, BM_REG_SG_LEN(n), len);
		total += len;
	}
	V3Write(ext, BM_REG_LBA_LO, (ULONG)lba);
	V3Write(ext, BM_REG_LBA_HI, (ULONG)(lba >> 32));
	V3Write(ext, BM_REG_SECTOR_COUNT, program / BM_SECTOR);
	V3Write(ext, BM_REG_SG_COUNT, n);
	V3Write(ext, BM_REG_DOORBELL, ext->WriteToDevice ? BM_CMD_WRITE : BM_CMD_READ);
	return STATUS_SUCCESS;
}

static IO_ALLOCATION_ACTION V3AdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PVOID MapRegisterBase, PVOID Context)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)Context;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	ext->MapRegisterBase = MapRegisterBase;
	status = V3StartPiece(ext);
	if (!NT_SUCCESS(status)) {
		/* Nothing mapped: the DPC ends the request with this status. */
		ext->PieceActive = FALSE;
		ext->PieceLength = 0;
		ext->PieceMapped = (ULONG)status; /* carried to the DPC */
		InterlockedOr(&ext->InterruptStatus, BM_INT_ERROR);
		IoRequestDpc(ext->Self, ext->Irp, NULL);
	}
	/* A bus master keeps only the registers: the adapter object is free for others. */
	return DeallocateObjectKeepRegisters;
}

static VOID V3StartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDMA_ADAPTER ad = ext->DmaAdapter;
	DMA_TRANSFER_INFO info;
	NTSTATUS status;

	if (!ext->Started) {
		IoStartNextPacket(DeviceObject, FALSE);
		V3CompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->Lba = (ULONGLONG)stack->Parameters.Read.ByteOffset.QuadPart / BM_SECTOR;
	ext->Length = stack->Parameters.Read.Length;
	ext->Done = 0;
	ext->PieceActive = FALSE;

	/* How many map registers the request needs, and no more than the adapter has. */
	RtlZeroMemory(&info, sizeof(info));
	info.Version = DMA_TRANSFER_INFO_VERSION1;
	status = ad->DmaOperations->GetDmaTransferInfo(ad, ext->Mdl, 0, ext->Length,
	                                               ext->WriteToDevice, &info);
	if (NT_SUCCESS(status)) {
		ext->MapRegisters = info.V1.MapRegisterCount;
		if (ext->MapRegisters > ext->NumberOfMapRegisters)
			ext->MapRegisters = ext->NumberOfMapRegisters;
		status = ad->DmaOperations->InitializeDmaTransferContext(ad, ext->DmaContext);
	}
	if (NT_SUCCESS(status))
		status = ad->DmaOperations->AllocateAdapterChannelEx(
		    ad, DeviceObject, ext->DmaContext, ext->MapRegisters, 0, V3AdapterControl, ext,
		    NULL);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		V3CompleteIrp(Irp, status, 0);
	}
}

static BOOLEAN V3Isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = V3Read(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	if (status == 0)
		return FALSE;
	V3Write(ext, BM_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID V3Dpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG intStatus = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	NTSTATUS status = STATUS_SUCCESS, flushStatus = STATUS_SUCCESS;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if (ext->Probing) {
		if (intStatus & (BM_INT_DONE | BM_INT_ERROR)) {
			ext->Probing = FALSE;
			KeSetEvent(&ext->ProbeDone, IO_NO_INCREMENT, FALSE);
		}
		return;
	}
	if (ext->Irp == NULL || (intStatus & (BM_INT_DONE | BM_INT_ERROR)) == 0)
		return;
	if (!ext->PieceActive) {
		/* MapTransferEx failed in AdapterControl. */
		V3FinishRequest(ext, (NTSTATUS)ext->PieceMapped);
		return;
	}
	if (intStatus & BM_INT_ERROR)
		status = STATUS_DEVICE_DATA_ERROR;

#ifdef DMACOH_BUG_V03
	{
		/* BUG V03: a debug trace of the piece's first bytes, read before
		 * FlushAdapterBuffersEx: the transfer still owns them. */
		PUCHAR p = (PUCHAR)MmGetSystemAddressForMdlSafe(ext->Mdl, NormalPagePriority);
		if (p != NULL)
			KdPrint(("v3bm: piece at %lu: %02x %02x\n", (unsigned long)ext->PieceOffset,
			         p[ext->PieceOffset], p[ext->PieceOffset + 1]));
	}
#endif
	/* Exactly one FlushAdapterBuffersEx per MapTransferEx, with its Offset and the Length it
	 * returned: the bridge is drained and, after a read, the caches invalidated. */
	ext->PieceActive = FALSE;
#if defined(DMACOH_BUG_V01)
	/* BUG V01: "a write needs no flush": the mapping of a write piece is never flushed. */
	if (!ext->WriteToDevice)
		flushStatus = ad->DmaOperations->FlushAdapterBuffersEx(
		    ad, ext->Mdl, ext->MapRegisterBase, ext->PieceOffset, ext->PieceMapped,
		    ext->WriteToDevice);
#elif defined(DMACOH_BUG_V02)
	/* BUG V02: the flush names the Length asked for, not the one MapTransferEx returned. */
	flushStatus = ad->DmaOperations->FlushAdapterBuffersEx(
	    ad, ext->Mdl, ext->MapRegisterBase, ext->PieceOffset, ext->PieceRequested,
	    ext->WriteToDevice);
#elif defined(DMACOH_BUG_V08)
	/* BUG V08: the v1 flush for a v3 mapping (CurrentVa from the Offset). */
	if (!ad->DmaOperations->FlushAdapterBuffers(ad, ext->Mdl, ext->MapRegisterBase,
	                                            (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) +
	                                                ext->PieceOffset,
	                                            ext->PieceMapped, ext->WriteToDevice))
		flushStatus = STATUS_UNSUCCESSFUL;
#else
	flushStatus = ad->DmaOperations->FlushAdapterBuffersEx(ad, ext->Mdl, ext->MapRegisterBase,
	                                                       ext->PieceOffset, ext->PieceMapped,
	                                                       ext->WriteToDevice);
#endif
	if (NT_SUCCESS(status) && !NT_SUCCESS(flushStatus))
		status = flushStatus;
	if (NT_SUCCESS(status) && ext->PieceLength == 0)
		status = STATUS_INSUFFICIENT_RESOURCES;
	if (NT_SUCCESS(status)) {
#ifdef DMACOH_BUG_V04
		/* BUG V04: advances by what it asked for, as if MapTransferEx always mapped it. */
		ext->Done += ext->PieceRequested;
		if (ext->Done > ext->Length)
			ext->Done = ext->Length;
#else
		ext->Done += ext->PieceLength;
#endif
		if (ext->Done < ext->Length) {
			status = V3StartPiece(ext);
			if (NT_SUCCESS(status))
				return;
		}
	}
	V3FinishRequest(ext, status);
}

/* --- PnP ---------------------------------------------------------------------------- */

/* The self-test: the device reads sector 0 straight into the common buffer (its logical
 * address is the device's to use: no mapping), then the CPU looks at it.  PASSIVE_LEVEL. */
static NTSTATUS V3SelfTest(PV3_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	LARGE_INTEGER timeout;
	ULONG i, sum = 0;

	ext->CommonMdl = IoAllocateMdl(ext->Common, PAGE_SIZE, FALSE, FALSE, NULL);
	if (ext->CommonMdl == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	MmBuildMdlForNonPagedPool(ext->CommonMdl);
	/* Nothing of the CPU's may sit over the bytes the device writes. */
	ad->DmaOperations->FlushDmaBuffer(ad, ext->CommonMdl, TRUE);

	KeInitializeEvent(&ext->ProbeDone, NotificationEvent, FALSE);
	ext->Probing = TRUE;
	V3Write(ext, BM_REG_SG_ADDR_LO(0), ext->CommonLogical.LowPart);
	V3Write(ext, BM_REG_SG_ADDR_HI(0), (ULONG)ext->CommonLogical.HighPart);
	V3Write(ext, BM_REG_SG_LEN(0), BM_SECTOR);
	V3Write(ext, BM_REG_LBA_LO, 0);
	V3Write(ext, BM_REG_LBA_HI, 0);
	V3Write(ext, BM_REG_SECTOR_COUNT, 1);
	V3Write(ext, BM_REG_SG_COUNT, 1);
	V3Write(ext, BM_REG_DOORBELL, BM_CMD_READ);
	timeout.QuadPart = -10 * 1000 * 1000; /* 1 s, relative */
	if (KeWaitForSingleObject(&ext->ProbeDone, Executive, KernelMode, FALSE, &timeout) ==
	    STATUS_TIMEOUT) {
		V3Write(ext, BM_REG_CTRL, BM_CTRL_RESET);
		ext->Probing = FALSE;
		return STATUS_IO_TIMEOUT;
	}
	/* An ERROR status (an injected fault) is not fatal: the sum is only informative. */
#ifndef DMACOH_BUG_V07
	/* The device wrote a cache-enabled common buffer: invalidate before the CPU reads. */
	ad->DmaOperations->FlushDmaBuffer(ad, ext->CommonMdl, TRUE);
#endif
	for (i = 0; i < BM_SECTOR; i += 64)
		sum += ext->Common[i];
	ext->Sector0Sum = sum;
	return STATUS_SUCCESS;
}

static VOID V3FreeBuffers(PV3_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;

	if (ext->CommonMdl != NULL)
		IoFreeMdl(ext->CommonMdl);
	ext->CommonMdl = NULL;
	if (ext->Common != NULL)
		ad->DmaOperations->FreeCommonBuffer(ad, PAGE_SIZE, ext->CommonLogical, ext->Common,
		                                    TRUE);
	ext->Common = NULL;
	if (ext->SgBuffer != NULL)
		ExFreePoolWithTag(ext->SgBuffer, V3_TAG);
	ext->SgBuffer = NULL;
}

static NTSTATUS V3StartDevice(PV3_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	DMA_ADAPTER_INFO info;
	PHYSICAL_ADDRESS regsStart = {{0, 0}}, below4g;
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
		default:
			break;
		}
	}
	if (regsLength < BM_REG_SG_LEN(BM_MAX_SG - 1) + 4 || !haveInterrupt)
		return STATUS_INSUFFICIENT_RESOURCES;

	ext->Registers = (PUCHAR)MmMapIoSpace(regsStart, regsLength, MmNonCached);
	if (ext->Registers == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->RegistersLength = regsLength;
	if (V3Read(ext, BM_REG_ID) != BM_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	V3Write(ext, BM_REG_CTRL, BM_CTRL_RESET);
	caps = V3Read(ext, BM_REG_CAPS);
	ext->MaxSg = caps & 0xFF;
	if (ext->MaxSg == 0 || ext->MaxSg > BM_MAX_SG)
		ext->MaxSg = 1;
	addressBits = (caps >> 8) & 0xFF;
	ext->Capacity =
	    ((ULONGLONG)V3Read(ext, BM_REG_CAPACITY_HI) << 32 | V3Read(ext, BM_REG_CAPACITY_LO)) *
	    BM_SECTOR;

	/* Version 3: the address width is said in DmaAddressWidth (Dma32/64BitAddresses are
	 * ignored). */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION3;
	desc.Master = TRUE;
	desc.ScatterGather = TRUE;
	desc.InterfaceType = PCIBus;
	desc.DmaAddressWidth = addressBits >= 64 ? 64 : 32;
	/* Registers for 16 KiB: a chunk of V3_CHUNK is often mapped in part (*Length shortened)
	 * and the rest continues where the mapping ended. */
	desc.MaximumLength = 16 * 1024;
	ext->DmaAdapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (ext->DmaAdapter == NULL || ext->NumberOfMapRegisters == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}
	RtlZeroMemory(&info, sizeof(info));
	info.Version = DMA_ADAPTER_INFO_VERSION1;
	status = ext->DmaAdapter->DmaOperations->GetDmaAdapterInfo(ext->DmaAdapter, &info);
	if (!NT_SUCCESS(status) || info.V1.DmaAddressWidth < 32) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}

	ext->SgBuffer =
	    (PSCATTER_GATHER_LIST)ExAllocatePoolWithTag(NonPagedPool, V3_SG_BYTES, V3_TAG);
	below4g.QuadPart = 0xFFFFFFFFLL;
	ext->Common = (PUCHAR)ext->DmaAdapter->DmaOperations->AllocateCommonBufferEx(
	    ext->DmaAdapter, &below4g, PAGE_SIZE, &ext->CommonLogical, TRUE, MM_ANY_NODE_OK);
	if (ext->SgBuffer == NULL || ext->Common == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_adapter;
	}

	status = IoConnectInterrupt(&ext->Interrupt, V3Isr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	V3Write(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	V3Write(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
	status = V3SelfTest(ext);
	if (!NT_SUCCESS(status))
		goto fail_interrupt;
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_interrupt:
	V3Write(ext, BM_REG_INT_MASK, 0);
	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
fail_adapter:
	if (ext->DmaAdapter != NULL) {
		V3FreeBuffers(ext);
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	}
	ext->DmaAdapter = NULL;
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

static VOID V3StopDevice(PV3_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	V3Write(ext, BM_REG_INT_MASK, 0);
	V3Write(ext, BM_REG_CTRL, BM_CTRL_RESET);
	InterlockedExchange(&ext->InterruptStatus, 0);
	if (ext->Irp != NULL) {
		/* A request in flight: flush its mapping, give everything back, fail it. */
		if (ext->PieceActive)
			ad->DmaOperations->FlushAdapterBuffersEx(ad, ext->Mdl, ext->MapRegisterBase,
			                                         ext->PieceOffset, ext->PieceMapped,
			                                         ext->WriteToDevice);
		ext->PieceActive = FALSE;
		if (ext->MapRegisterBase == NULL)
			ad->DmaOperations->CancelAdapterChannel(ad, ext->Self, ext->DmaContext);
		V3FinishRequest(ext, STATUS_DEVICE_REMOVED);
	}
	KeLowerIrql(oldIrql);

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	V3FreeBuffers(ext);
	ad->DmaOperations->PutDmaAdapter(ad);
	ext->DmaAdapter = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS V3Pnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			return V3CompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = V3StartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return V3CompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		V3StopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		V3StopDevice(ext);
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

static NTSTATUS V3Power(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PV3_EXTENSION ext = (PV3_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
