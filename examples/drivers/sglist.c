/*
 * sglist.c -- WDM function driver for the bmblk bus-master scatter/gather disk using the
 * system's scatter/gather support, the alternative of the packet-based bus-master flow
 * (wdm-dma-spec 5.3, G13):
 *
 *   dispatch    validate, IoMarkIrpPending, IoStartPacket
 *   StartIo     KeFlushIoBuffers(mdl, read, TRUE) (G1), GetScatterGatherList for the first
 *               piece of the request
 *   AdapterListControl  copies the SCATTER_GATHER_LIST into the device's SG table and rings
 *               the doorbell
 *   ISR         reads and acknowledges INT_STATUS, queues the DPC
 *   DPC         PutScatterGatherList first -- it flushes the adapter buffers, frees the map
 *               registers and the list, and only then is the data the driver's or the
 *               caller's (G13) -- then either GetScatterGatherList for the next piece or
 *               IoStatus from the device status, IoStartNextPacket, IoCompleteRequest.
 *
 * Splitting: one list must fit both the adapter's map registers and the device's SG table,
 * so a piece spans at most min(NumberOfMapRegisters, max_sg) pages (cut to whole sectors); a
 * longer request is moved piece by piece, each with its own GetScatterGatherList /
 * PutScatterGatherList.  A list with more elements than the table holds cannot happen then;
 * should the HAL ever return one, the request fails with STATUS_INSUFFICIENT_RESOURCES
 * (after PutScatterGatherList).  PutScatterGatherList returns nothing: a failed transfer is
 * known from the device's ERROR interrupt bit.
 *
 * Before reporting the device started, the driver reads sector 0 once through the same path
 * (GetScatterGatherList, AdapterListControl, ISR, DPC, PutScatterGatherList) into a buffer of
 * its own, and waits for it: a self-test of the device, its interrupt and the adapter, as
 * storage drivers issue an identify command at start.  Only the completion status matters.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>): C03 the DPC peeks at the transferred bytes (for a debug
 * trace) before PutScatterGatherList; A05 the self-test's completion path forgets
 * PutScatterGatherList, so its list (and map register) is still outstanding when PutDmaAdapter
 * runs at stop or remove.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("sglist", "bmblk",
              "bus-master DMA with GetScatterGatherList/PutScatterGatherList, split in pieces");

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

#define SG_TAG 'lgSb'

typedef struct _SG_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;
	PDMA_ADAPTER DmaAdapter;
	ULONG NumberOfMapRegisters;    /* what IoGetDmaAdapter granted */
	ULONG MaxSg;                   /* CAPS[7:0] */
	ULONGLONG Capacity;            /* bytes */
	volatile LONG InterruptStatus; /* INT_STATUS bits the ISR acknowledged, for the DPC */

	/* The request in progress (StartIo serialises them). */
	PIRP Irp;
	PMDL Mdl;
	BOOLEAN WriteToDevice;
	ULONGLONG Lba; /* first sector of the request */
	ULONG Length;  /* bytes requested */
	ULONG Done;    /* bytes of finished pieces */

	/* The piece in progress. */
	ULONG PieceLength;
	PSCATTER_GATHER_LIST SgList; /* from AdapterListControl until PutScatterGatherList */
	NTSTATUS PieceStatus;        /* failure to program it: the DPC fails the IRP */

	/* The start-time self-test: a request of the driver's own, without an IRP. */
	BOOLEAN Probing;
	NTSTATUS ProbeStatus;
	KEVENT ProbeDone;
	PUCHAR ProbeBuffer; /* one page of its own: no line shared with anything */
	PMDL ProbeMdl;
} SG_EXTENSION, *PSG_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SgAddDevice;
static DRIVER_UNLOAD SgUnload;
static DRIVER_STARTIO SgStartIo;
static DRIVER_LIST_CONTROL SgListControl;
static KSERVICE_ROUTINE SgIsr;
static IO_DPC_ROUTINE SgDpc;
static DRIVER_DISPATCH SgCreateClose;
static DRIVER_DISPATCH SgReadWrite;
static DRIVER_DISPATCH SgDeviceControl;
static DRIVER_DISPATCH SgPnp;
static DRIVER_DISPATCH SgPower;

static ULONG SgRead(PSG_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID SgWrite(PSG_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS SgCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = SgAddDevice;
	DriverObject->DriverUnload = SgUnload;
	DriverObject->DriverStartIo = SgStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = SgCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = SgCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = SgReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = SgReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SgDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = SgPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = SgPower;
	return STATUS_SUCCESS;
}

static VOID SgUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object was deleted at IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS SgAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PSG_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(SG_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PSG_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(SG_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, SgDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS SgCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return SgCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS SgReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;

	if (!ext->Started)
		return SgCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return SgCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return SgCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static NTSTATUS SgDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return SgCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return SgCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return SgCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return SgCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* The largest piece from the current position: it must fit the map registers and the SG
 * table (one element per page at worst), in whole sectors.  0 if not even one sector fits. */
static ULONG SgPieceLength(PSG_EXTENSION ext)
{
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) + ext->Done;
	ULONG remaining = ext->Length - ext->Done;
	ULONG pages =
	    ext->NumberOfMapRegisters < ext->MaxSg ? ext->NumberOfMapRegisters : ext->MaxSg;
	ULONG length = pages * PAGE_SIZE - BYTE_OFFSET(va);

	if (length > remaining)
		length = remaining;
	return length & ~(ULONG)(BM_SECTOR - 1);
}

/* Asks for the list of the next piece; AdapterListControl starts the device. */
static NTSTATUS SgStartPiece(PSG_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;

	ext->PieceLength = SgPieceLength(ext);
	if (ext->PieceLength == 0)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->PieceStatus = STATUS_SUCCESS;
	return ad->DmaOperations->GetScatterGatherList(
	    ad, ext->Self, ext->Mdl, (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) + ext->Done,
	    ext->PieceLength, SgListControl, ext, ext->WriteToDevice);
}

static VOID SgStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	NTSTATUS status;

	if (!ext->Started) {
		/* Stopped while the request waited in the device queue. */
		IoStartNextPacket(DeviceObject, FALSE);
		SgCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ext->Lba = (ULONGLONG)stack->Parameters.Read.ByteOffset.QuadPart / BM_SECTOR;
	ext->Length = stack->Parameters.Read.Length;
	ext->Done = 0;

	/* G1, once for the whole buffer: every piece is moved after this point. */
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);

	status = SgStartPiece(ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		SgCompleteIrp(Irp, status, 0);
	}
}

static VOID SgListControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, PSCATTER_GATHER_LIST ScatterGather,
                          PVOID Context)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)Context;
	ULONGLONG lba = ext->Lba + ext->Done / BM_SECTOR;
	ULONG i;

	ext->SgList = ScatterGather;
	if (ScatterGather->NumberOfElements == 0 || ScatterGather->NumberOfElements > ext->MaxSg) {
		/* The DPC puts the list and fails the IRP. */
		ext->PieceStatus = STATUS_INSUFFICIENT_RESOURCES;
		IoRequestDpc(DeviceObject, Irp, NULL);
		return;
	}
	for (i = 0; i < ScatterGather->NumberOfElements; i++) {
		PSCATTER_GATHER_ELEMENT e = &ScatterGather->Elements[i];
		SgWrite(ext, BM_REG_SG_ADDR_LO(i), e->Address.LowPart);
		SgWrite(ext, BM_REG_SG_ADDR_HI(i), (ULONG)e->Address.HighPart);
		SgWrite(ext, BM_REG_SG_LEN(i), e->Length);
	}
	SgWrite(ext, BM_REG_LBA_LO, (ULONG)lba);
	SgWrite(ext, BM_REG_LBA_HI, (ULONG)(lba >> 32));
	SgWrite(ext, BM_REG_SECTOR_COUNT, ext->PieceLength / BM_SECTOR);
	SgWrite(ext, BM_REG_SG_COUNT, ScatterGather->NumberOfElements);
	SgWrite(ext, BM_REG_DOORBELL, ext->WriteToDevice ? BM_CMD_WRITE : BM_CMD_READ);
}

static BOOLEAN SgIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	/* Reading a register also lands the device's posted writes (PCI ordering). */
	status = SgRead(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	if (status == 0)
		return FALSE; /* not ours: the line is shared */
	SgWrite(ext, BM_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID SgFinishRequest(PSG_EXTENSION ext, NTSTATUS status)
{
	PIRP irp = ext->Irp;
	/* On success the bytes moved, on failure nothing. */
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	if (ext->Probing) {
		/* The self-test: wake the START routine waiting for it. */
		ext->ProbeStatus = status;
		ext->Probing = FALSE;
		KeSetEvent(&ext->ProbeDone, IO_NO_INCREMENT, FALSE);
		return;
	}
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	SgCompleteIrp(irp, status, information);
}

static VOID SgDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG intStatus = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	NTSTATUS status = ext->PieceStatus;
	PSCATTER_GATHER_LIST list = ext->SgList;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if ((ext->Irp == NULL && !ext->Probing) || list == NULL ||
	    (NT_SUCCESS(status) && (intStatus & (BM_INT_DONE | BM_INT_ERROR)) == 0))
		return; /* no piece in progress, or it is not finished */
	if (NT_SUCCESS(status) && (intStatus & BM_INT_ERROR) != 0)
		status = STATUS_DEVICE_DATA_ERROR;

#ifdef DMACOH_BUG_A05
	/* BUG A05: the self-test only wants the status, and its completion path wakes the START
	 * routine without PutScatterGatherList.  The list, its map register and its transfer
	 * stay outstanding for good: PutDmaAdapter at stop or remove leaks them (and the
	 * register is missing from every later request that needs them all). */
	if (ext->Probing) {
		ext->SgList = NULL;
		SgFinishRequest(ext, status);
		return;
	}
#endif
#ifdef DMACOH_BUG_C03
	{
		/* BUG C03: a debug trace of the piece's first bytes, read while its transfer is
		 * still open (before PutScatterGatherList).  A read's data may not be in the
		 * buffer yet (bounce pages), and the line read now stays cached. */
		PUCHAR p = (PUCHAR)MmGetSystemAddressForMdlSafe(ext->Mdl, NormalPagePriority);
		if (p != NULL)
			KdPrint(("sglist: piece at %lu: %02x %02x %02x %02x\n",
			         (unsigned long)ext->Done, p[ext->Done], p[ext->Done + 1],
			         p[ext->Done + 2], p[ext->Done + 3]));
	}
#endif
	/* G13: flushes the adapter buffers, frees the map registers and the list -- before
	 * anyone looks at the data. */
	ext->SgList = NULL;
	ad->DmaOperations->PutScatterGatherList(ad, list, ext->WriteToDevice);

	if (NT_SUCCESS(status)) {
		ext->Done += ext->PieceLength;
		if (ext->Done < ext->Length) {
			status = SgStartPiece(ext); /* split: the next piece */
			if (NT_SUCCESS(status))
				return;
		}
	}
	SgFinishRequest(ext, status);
}

/* --- PnP ---------------------------------------------------------------------------- */

/* The start-time self-test: sector 0 into the driver's own buffer, through the same DMA path
 * as every request, waited for at PASSIVE_LEVEL.  Returns the request's status. */
static NTSTATUS SgSelfTest(PSG_EXTENSION ext)
{
	LARGE_INTEGER timeout;
	NTSTATUS status;
	KIRQL irql;

	ext->ProbeBuffer = (PUCHAR)ExAllocatePoolWithTag(NonPagedPool, PAGE_SIZE, SG_TAG);
	if (ext->ProbeBuffer == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	ext->ProbeMdl = IoAllocateMdl(ext->ProbeBuffer, BM_SECTOR, FALSE, FALSE, NULL);
	if (ext->ProbeMdl == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	MmBuildMdlForNonPagedPool(ext->ProbeMdl);

	KeInitializeEvent(&ext->ProbeDone, NotificationEvent, FALSE);
	ext->Mdl = ext->ProbeMdl;
	ext->WriteToDevice = FALSE;
	ext->Lba = 0;
	ext->Length = BM_SECTOR;
	ext->Done = 0;
	ext->Probing = TRUE;
	KeFlushIoBuffers(ext->Mdl, TRUE, TRUE); /* G1 */
	KeRaiseIrql(DISPATCH_LEVEL, &irql);
	status = SgStartPiece(ext);
	KeLowerIrql(irql);
	if (!NT_SUCCESS(status)) {
		ext->Probing = FALSE;
		return status;
	}
	timeout.QuadPart = -10 * 1000 * 1000; /* 1 s, relative */
	if (KeWaitForSingleObject(&ext->ProbeDone, Executive, KernelMode, FALSE, &timeout) ==
	    STATUS_TIMEOUT) {
		/* No interrupt: stop the device and take the list back. */
		KeRaiseIrql(DISPATCH_LEVEL, &irql);
		SgWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
		if (ext->SgList != NULL)
			ext->DmaAdapter->DmaOperations->PutScatterGatherList(ext->DmaAdapter,
			                                                     ext->SgList, FALSE);
		ext->SgList = NULL;
		ext->Probing = FALSE;
		KeLowerIrql(irql);
		return STATUS_IO_TIMEOUT;
	}
	return ext->ProbeStatus;
}

static VOID SgFreeSelfTest(PSG_EXTENSION ext)
{
	if (ext->ProbeMdl != NULL)
		IoFreeMdl(ext->ProbeMdl);
	if (ext->ProbeBuffer != NULL)
		ExFreePoolWithTag(ext->ProbeBuffer, SG_TAG);
	ext->ProbeMdl = NULL;
	ext->ProbeBuffer = NULL;
}

static NTSTATUS SgStartDevice(PSG_EXTENSION ext, PCM_RESOURCE_LIST translated)
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
	if (SgRead(ext, BM_REG_ID) != BM_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	SgWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	caps = SgRead(ext, BM_REG_CAPS);
	ext->MaxSg = caps & 0xFF;
	if (ext->MaxSg == 0 || ext->MaxSg > BM_MAX_SG)
		ext->MaxSg = 1;
	addressBits = (caps >> 8) & 0xFF;
	ext->Capacity =
	    ((ULONGLONG)SgRead(ext, BM_REG_CAPACITY_HI) << 32 | SgRead(ext, BM_REG_CAPACITY_LO)) *
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

	status = IoConnectInterrupt(&ext->Interrupt, SgIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	SgWrite(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	SgWrite(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
	status = SgSelfTest(ext);
	if (!NT_SUCCESS(status))
		goto fail_interrupt;
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_interrupt:
	SgWrite(ext, BM_REG_INT_MASK, 0);
	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
fail_adapter:
	if (ext->DmaAdapter != NULL)
		ext->DmaAdapter->DmaOperations->PutDmaAdapter(ext->DmaAdapter);
	ext->DmaAdapter = NULL;
	SgFreeSelfTest(ext);
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

/* Stop or remove: quiesce the device, give back every DMA resource, then the adapter (G14). */
static VOID SgStopDevice(PSG_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	SgWrite(ext, BM_REG_INT_MASK, 0);
	SgWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	InterlockedExchange(&ext->InterruptStatus, 0);
	if (ext->Irp != NULL) {
		/* A request was still in flight: abort it and release what it holds. */
		if (ext->SgList != NULL)
			ad->DmaOperations->PutScatterGatherList(ad, ext->SgList,
			                                        ext->WriteToDevice);
		ext->SgList = NULL;
		SgFinishRequest(ext, STATUS_DEVICE_REMOVED);
	}
	KeLowerIrql(oldIrql);

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	ad->DmaOperations->PutDmaAdapter(ad);
	ext->DmaAdapter = NULL;
	SgFreeSelfTest(ext);
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS SgPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			return SgCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = SgStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return SgCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		SgStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		SgStopDevice(ext);
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

static NTSTATUS SgPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
