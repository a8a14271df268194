/*
 * legacy.c -- an NT4-style (legacy) driver for sysblk, a disk on a system DMA (8237) channel.
 *
 * No AddDevice and no PnP: as drivers were written before Windows 2000, DriverEntry does
 * everything at boot, with the machine's hardware already there:
 *   - reads its parameters from its service key (RegistryPath\Parameters) with
 *     RtlQueryRegistryValues: BufferSize (bytes one DMA operation moves, a multiple of 512
 *     from 512 to 64 KiB; default 8 KiB) and DmaChannel (default: the one the hardware
 *     reports); examples/registry/legacy.reg sets them;
 *   - finds its controller in the hardware tree NTDETECT built (IoQueryDeviceDescription,
 *     OtherController entries whose Identifier is "sysblk"), its raw resources in the
 *     configuration data, and checks the ID register;
 *   - reports the resources it uses (IoReportResourceUsage), translates them
 *     (HalTranslateBusAddress, HalGetInterruptVector) and gets the channel's adapter
 *     (HalGetAdapter, no PDO);
 *   - creates \Device\Legacy0 and the Win32 name \DosDevices\Legacy0 (\\.\Legacy0) itself,
 *     connects its interrupt and enables the device.
 * DriverUnload undoes it all: interrupt, adapter, symbolic link, device.
 *
 * The I/O path is sysdma.c's packet-based system DMA (wdm-dma-spec 5.1): StartIo,
 * KeFlushIoBuffers (G1), AllocateAdapterChannel, MapTransfer of pieces of at most BufferSize,
 * FlushAdapterBuffers of each (G3) in the DpcForIsr, FreeAdapterChannel (G7).
 *
 * Buggy twin (built with -DDMACOH_BUG_A13): the split loop does not advance past a piece of
 * exactly the registry-configured BufferSize -- see the MISTAKE comment.
 *
 * sysblk registers: see sysdma.c and docs/devices/sysblk.md.
 */
#include <ntddk.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER(
    "legacy", "sysblk",
    "NT4-style: no AddDevice; registry parameters, IoQueryDeviceDescription, HalGetAdapter");

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

/* Parameters: what the registry may set, and the defaults. */
#define LEGACY_DEFAULT_BUFFER 0x2000
#define LEGACY_MAX_BUFFER 0x10000
#define LEGACY_ANY_CHANNEL 0xFFFFFFFF
/* Microseconds to wait for a refused command's ERR while sizing the disk. */
#define LEGACY_PROBE_POLLS 100000

typedef struct _LEGACY_EXTENSION {
	PDEVICE_OBJECT Self;
	BOOLEAN Started;
	BOOLEAN LinkCreated;

	/* Parameters (the registry's, or defaults) */
	ULONG BufferSize;

	/* Hardware resources */
	PUCHAR Registers;
	ULONG RegistersLength;
	BOOLEAN RegistersMapped; /* memory space: MmMapIoSpace, READ/WRITE_REGISTER_* */
	PKINTERRUPT InterruptObject;
	PDMA_ADAPTER Adapter;
	ULONG MapRegisterCount; /* what HalGetAdapter granted */
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
} LEGACY_EXTENSION, *PLEGACY_EXTENSION;

/* What the hardware tree says about the controller. */
typedef struct _LEGACY_HARDWARE {
	BOOLEAN Found;
	INTERFACE_TYPE Bus;
	ULONG BusNumber;
	PHYSICAL_ADDRESS Port;
	ULONG PortLength;
	BOOLEAN PortInMemory;
	ULONG Irq;
	KINTERRUPT_MODE Mode;
	BOOLEAN HaveIrq;
	ULONG DmaChannel;
	BOOLEAN HaveDma;
	DMA_WIDTH Width;
} LEGACY_HARDWARE, *PLEGACY_HARDWARE;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LegacyUnload;
static DRIVER_STARTIO LegacyStartIo;
static DRIVER_CONTROL LegacyAdapterControl;
static KSERVICE_ROUTINE LegacyIsr;
static IO_DPC_ROUTINE LegacyDpcForIsr;
static DRIVER_DISPATCH LegacyCreateClose;
static DRIVER_DISPATCH LegacyReadWrite;
static DRIVER_DISPATCH LegacyDeviceControl;
static IO_QUERY_DEVICE_ROUTINE LegacyConfigCallout;

/* --- Register access: I/O ports, or the same registers mapped into memory space ---------- */

static UCHAR LegacyRead8(PLEGACY_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_UCHAR(ext->Registers + reg);
	return READ_PORT_UCHAR(ext->Registers + reg);
}

static USHORT LegacyRead16(PLEGACY_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg));
	return READ_PORT_USHORT((PUSHORT)(ext->Registers + reg));
}

static VOID LegacyWrite8(PLEGACY_EXTENSION ext, ULONG reg, UCHAR value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_UCHAR(ext->Registers + reg, value);
	else
		WRITE_PORT_UCHAR(ext->Registers + reg, value);
}

static VOID LegacyWrite16(PLEGACY_EXTENSION ext, ULONG reg, USHORT value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg), value);
	else
		WRITE_PORT_USHORT((PUSHORT)(ext->Registers + reg), value);
}

static VOID LegacyWrite32(PLEGACY_EXTENSION ext, ULONG reg, ULONG value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
	else
		WRITE_PORT_ULONG((PULONG)(ext->Registers + reg), value);
}

static NTSTATUS LegacyCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS LegacyCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return LegacyCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* --- Read and write ------------------------------------------------------------------------ */

static NTSTATUS LegacyReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;
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
		return LegacyCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return LegacyCompleteNow(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || offset % SYSBLK_SECTOR != 0 || length % SYSBLK_SECTOR != 0 ||
	    length / SYSBLK_SECTOR > SYSBLK_MAX_SECTORS || (ULONGLONG)offset > ext->Capacity ||
	    length > ext->Capacity - (ULONGLONG)offset || Irp->MdlAddress == NULL ||
	    MmGetMdlByteCount(Irp->MdlAddress) < length ||
	    ((ULONG_PTR)MmGetMdlVirtualAddress(Irp->MdlAddress) & ext->AlignmentMask) != 0)
		return LegacyCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

/* Completes the current request and starts the next one. */
static VOID LegacyCompleteCurrent(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;

	ext->Busy = FALSE;
	Irp->IoStatus.Status = status;
	/* G6: the bytes moved on success, 0 with any failure. */
	Irp->IoStatus.Information = NT_SUCCESS(status) ? ext->Transferred : 0;
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* Maps the next piece at CurrentVa: MapTransfer loads the map registers and programs the
 * channel (its return value means nothing for system DMA). */
static VOID LegacyMapPiece(PLEGACY_EXTENSION ext, PMDL mdl)
{
	ULONG length = ext->Remaining;
	ULONG cap = ext->RegistersAllocated * PAGE_SIZE - BYTE_OFFSET(ext->CurrentVa);

	if (cap > ext->BufferSize)
		cap = ext->BufferSize;
	/* G9: no more than the allocated map registers cover from here, and whole sectors (the
	 * device counts sectors; a piece that split one would leave it to the next piece). */
	if (length > cap) {
		length = cap & ~(ULONG)(SYSBLK_SECTOR - 1);
		if (length == 0)
			length = cap;
	}
	(void)ext->Adapter->DmaOperations->MapTransfer(ext->Adapter, mdl, ext->MapRegisterBase,
	                                               ext->CurrentVa, &length, ext->WriteToDevice);
	ext->PieceLength = length;
	ext->PieceMapped = TRUE;
}

/* FlushAdapterBuffers for the piece in flight: drains what the controller still holds and
 * reports whether the transfer succeeded. */
static BOOLEAN LegacyFlushPiece(PLEGACY_EXTENSION ext, PMDL mdl)
{
	/* G3: exactly the MapTransfer's Mdl, MapRegisterBase, CurrentVa, Length and direction. */
	return ext->Adapter->DmaOperations->FlushAdapterBuffers(
	    ext->Adapter, mdl, ext->MapRegisterBase, ext->CurrentVa, ext->PieceLength,
	    ext->WriteToDevice);
}

static VOID LegacyStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;
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

	/* G1: before the transfer starts, for either direction. */
	KeFlushIoBuffers(mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);

	/* G9: as many map registers as the buffer spans, never more than the adapter has. */
	need = ADDRESS_AND_SIZE_TO_SPAN_PAGES(ext->StartVa, ext->Length);
	ext->RegistersAllocated = need < ext->MapRegisterCount ? need : ext->MapRegisterCount;
	status = ext->Adapter->DmaOperations->AllocateAdapterChannel(
	    ext->Adapter, DeviceObject, ext->RegistersAllocated, LegacyAdapterControl, ext);
	if (!NT_SUCCESS(status))
		LegacyCompleteCurrent(DeviceObject, Irp, status);
}

static IO_ALLOCATION_ACTION LegacyAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID MapRegisterBase, PVOID Context)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)Context;

	UNREFERENCED_PARAMETER(DeviceObject);
	ext->MapRegisterBase = MapRegisterBase;
	LegacyMapPiece(ext, Irp->MdlAddress);

	/* One command for the whole request: the device keeps DREQ asserted across the pieces. */
	LegacyWrite32(ext, SYSBLK_REG_LBA, ext->FirstSector);
	LegacyWrite16(ext, SYSBLK_REG_COUNT, (USHORT)(ext->Length / SYSBLK_SECTOR));
	LegacyWrite8(ext, SYSBLK_REG_CMD, ext->WriteToDevice ? SYSBLK_CMD_WRITE : SYSBLK_CMD_READ);

	/* G8: system DMA keeps the channel; the DPC maps the later pieces. */
	return KeepObject;
}

static BOOLEAN LegacyIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)ServiceContext;
	UCHAR causes;

	UNREFERENCED_PARAMETER(Interrupt);
	causes = LegacyRead8(ext, SYSBLK_REG_CAUSES) & SYSBLK_CAUSES;
	if (causes == 0)
		return FALSE; /* not ours */
	if (causes & SYSBLK_ST_ERR)
		ext->LastError = LegacyRead8(ext, SYSBLK_REG_ERROR);
	LegacyWrite8(ext, SYSBLK_REG_IACK, causes);
	InterlockedOr(&ext->Causes, causes);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* Ends the request after its last flush (or after a failed one): G7, then G6. */
static VOID LegacyFinish(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;

	if (!NT_SUCCESS(status) && (LegacyRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY))
		LegacyWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
	ext->Adapter->DmaOperations->FreeAdapterChannel(ext->Adapter);
	ext->MapRegisterBase = NULL;
	LegacyCompleteCurrent(DeviceObject, Irp, status);
}

static VOID LegacyDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;
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
		flushed = LegacyFlushPiece(ext, mdl);
		/* G6: the drain's result is the transfer's status (sysblk reports a medium error to
		 * its DMA channel, so the flush fails for it). */
		if (!flushed) {
			LegacyFinish(DeviceObject, Irp, STATUS_DEVICE_DATA_ERROR);
			return;
		}
		ext->Transferred += ext->PieceLength;
		ext->Remaining -= ext->PieceLength;
#ifdef DMACOH_BUG_A13
		/* MISTAKE (A13): the loop advances only past a piece the map registers cut short,
		 * taking a piece of exactly the registry's BufferSize for "the buffer again": every
		 * full piece is mapped again at the same CurrentVa, so with any request longer than
		 * BufferSize (the .reg's 4 KiB, or the 8 KiB default) the first BufferSize bytes
		 * are transferred again and again and the rest never. */
		if (ext->PieceLength != ext->BufferSize)
			ext->CurrentVa += ext->PieceLength;
#else
		ext->CurrentVa += ext->PieceLength;
#endif
	}

	/* The command ended with ERR.  A medium error (ERROR = transfer) was the flush's to report,
	 * above; anything else means sectors did not move although the channel saw no error. */
	if (ext->DeviceFailed && (ext->Remaining != 0 || ext->LastError != SYSBLK_ERROR_TRANSFER)) {
		LegacyFinish(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
		return;
	}

	if (ext->Remaining != 0) {
		if (ext->DeviceDone) {
			LegacyFinish(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
			return;
		}
		/* Split loop: the next piece; the device still asserts DREQ. */
		LegacyMapPiece(ext, mdl);
		return;
	}

	/* All pieces flushed.  A write's last bytes may have reached the device only with that
	 * flush: it completes (DONE) a moment later. */
	if (!ext->DeviceDone && !ext->DeviceFailed)
		return;
	LegacyFinish(DeviceObject, Irp, STATUS_SUCCESS);
}

/* --- Device control ------------------------------------------------------------------------ */

static NTSTATUS LegacyDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG capacity;

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return LegacyCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return LegacyCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		capacity = ext->Capacity;
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
		return LegacyCompleteNow(Irp, STATUS_SUCCESS, sizeof(capacity));
	default:
		return LegacyCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* Is there a sector at lba?  An accepted command is BUSY at once and is aborted before it
 * asserts DREQ; a refused one reports ERR after the command latency, which is waited for so
 * that it cannot land on the next command.  Interrupts are off meanwhile. */
static BOOLEAN LegacySectorExists(PLEGACY_EXTENSION ext, ULONG lba)
{
	ULONG i;

	LegacyWrite32(ext, SYSBLK_REG_LBA, lba);
	LegacyWrite16(ext, SYSBLK_REG_COUNT, 1);
	LegacyWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_READ);
	if (LegacyRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_BUSY) {
		LegacyWrite8(ext, SYSBLK_REG_CMD, SYSBLK_CMD_ABORT);
		return TRUE;
	}
	for (i = 0; i < LEGACY_PROBE_POLLS; i++) {
		if (LegacyRead8(ext, SYSBLK_REG_STATUS) & SYSBLK_ST_ERR)
			break;
		KeStallExecutionProcessor(1);
	}
	LegacyWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	return FALSE;
}

/* The disk's size in bytes: a binary search for its last sector (LBA is 32 bits). */
static ULONGLONG LegacyProbeCapacity(PLEGACY_EXTENSION ext)
{
	ULONGLONG present = 0, absent = 0x100000000ULL, mid;

	if (!LegacySectorExists(ext, 0))
		return 0;
	while (absent - present > 1) {
		mid = present + (absent - present) / 2;
		if (LegacySectorExists(ext, (ULONG)mid))
			present = mid;
		else
			absent = mid;
	}
	return (present + 1) * SYSBLK_SECTOR;
}

/* --- DriverEntry: parameters, hardware, device, name ------------------------------------ */

/* BufferSize and DmaChannel from RegistryPath\Parameters; defaults for what is absent. */
static VOID LegacyReadParameters(PUNICODE_STRING RegistryPath, PULONG bufferSize, PULONG dmaChannel)
{
	RTL_QUERY_REGISTRY_TABLE table[4];
	ULONG defBuffer = LEGACY_DEFAULT_BUFFER, defChannel = LEGACY_ANY_CHANNEL;
	WCHAR path[256];
	UNICODE_STRING params;
	NTSTATUS status;

	*bufferSize = defBuffer;
	*dmaChannel = defChannel;
	params.Buffer = path;
	params.Length = 0;
	params.MaximumLength = sizeof(path);
	if (!NT_SUCCESS(RtlAppendUnicodeStringToString(&params, RegistryPath)) ||
	    !NT_SUCCESS(RtlAppendUnicodeToString(&params, L"\\Parameters")))
		return;
	path[params.Length / sizeof(WCHAR)] = 0;

	RtlZeroMemory(table, sizeof(table));
	table[0].Flags = RTL_QUERY_REGISTRY_DIRECT;
	table[0].Name = L"BufferSize";
	table[0].EntryContext = bufferSize;
	table[0].DefaultType = REG_DWORD;
	table[0].DefaultData = &defBuffer;
	table[0].DefaultLength = sizeof(ULONG);
	table[1].Flags = RTL_QUERY_REGISTRY_DIRECT;
	table[1].Name = L"DmaChannel";
	table[1].EntryContext = dmaChannel;
	table[1].DefaultType = REG_DWORD;
	table[1].DefaultData = &defChannel;
	table[1].DefaultLength = sizeof(ULONG);
	status = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE | RTL_REGISTRY_OPTIONAL, path, table,
	                                NULL, NULL);
	if (!NT_SUCCESS(status)) {
		*bufferSize = defBuffer;
		*dmaChannel = defChannel;
	}
	/* A piece is whole sectors and at most what one 8237 operation can move. */
	if (*bufferSize < SYSBLK_SECTOR || *bufferSize > LEGACY_MAX_BUFFER ||
	    *bufferSize % SYSBLK_SECTOR != 0) {
		KdPrint(
		    ("legacy: BufferSize %lu is not a multiple of 512 up to 64 KiB; using %lu\n",
		     (unsigned long)*bufferSize, (unsigned long)defBuffer));
		*bufferSize = defBuffer;
	}
}

/* IoQueryDeviceDescription's callout: the first OtherController called "sysblk". */
static NTSTATUS LegacyConfigCallout(PVOID Context, PUNICODE_STRING PathName, INTERFACE_TYPE BusType,
                                    ULONG BusNumber, PKEY_VALUE_FULL_INFORMATION *BusInformation,
                                    CONFIGURATION_TYPE ControllerType, ULONG ControllerNumber,
                                    PKEY_VALUE_FULL_INFORMATION *ControllerInformation,
                                    CONFIGURATION_TYPE PeripheralType, ULONG PeripheralNumber,
                                    PKEY_VALUE_FULL_INFORMATION *PeripheralInformation)
{
	PLEGACY_HARDWARE hw = (PLEGACY_HARDWARE)Context;
	PKEY_VALUE_FULL_INFORMATION id, cfg;
	PCM_FULL_RESOURCE_DESCRIPTOR full;
	UNICODE_STRING name, want;
	ULONG i;

	UNREFERENCED_PARAMETER(PathName);
	UNREFERENCED_PARAMETER(BusInformation);
	UNREFERENCED_PARAMETER(ControllerType);
	UNREFERENCED_PARAMETER(ControllerNumber);
	UNREFERENCED_PARAMETER(PeripheralType);
	UNREFERENCED_PARAMETER(PeripheralNumber);
	UNREFERENCED_PARAMETER(PeripheralInformation);
	if (hw->Found || ControllerInformation == NULL)
		return STATUS_SUCCESS;
	id = ControllerInformation[IoQueryDeviceIdentifier];
	cfg = ControllerInformation[IoQueryDeviceConfigurationData];
	if (id == NULL || cfg == NULL || id->DataLength < sizeof(WCHAR) ||
	    cfg->DataLength <
	        FIELD_OFFSET(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList.PartialDescriptors))
		return STATUS_SUCCESS;
	name.Buffer = (PWCH)((PUCHAR)id + id->DataOffset);
	name.Length = (USHORT)(id->DataLength - sizeof(WCHAR)); /* without the NUL */
	name.MaximumLength = (USHORT)id->DataLength;
	RtlInitUnicodeString(&want, L"sysblk");
	if (!RtlEqualUnicodeString(&name, &want, TRUE))
		return STATUS_SUCCESS;

	full = (PCM_FULL_RESOURCE_DESCRIPTOR)((PUCHAR)cfg + cfg->DataOffset);
	hw->Bus = BusType;
	hw->BusNumber = BusNumber;
	for (i = 0; i < full->PartialResourceList.Count; i++) {
		PCM_PARTIAL_RESOURCE_DESCRIPTOR d =
		    &full->PartialResourceList.PartialDescriptors[i];

		switch (d->Type) {
		case CmResourceTypePort:
			hw->Port = d->u.Port.Start;
			hw->PortLength = d->u.Port.Length;
			hw->PortInMemory = (d->Flags & CM_RESOURCE_PORT_IO) == 0;
			break;
		case CmResourceTypeMemory:
			hw->Port = d->u.Memory.Start;
			hw->PortLength = d->u.Memory.Length;
			hw->PortInMemory = TRUE;
			break;
		case CmResourceTypeInterrupt:
			hw->Irq = d->u.Interrupt.Level;
			hw->Mode =
			    (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
			hw->HaveIrq = TRUE;
			break;
		case CmResourceTypeDma:
			hw->DmaChannel = d->u.Dma.Channel;
			hw->Width = ((d->Flags & CM_RESOURCE_DMA_16) || hw->DmaChannel >= 4)
			                ? Width16Bits
			                : Width8Bits;
			hw->HaveDma = TRUE;
			break;
		default:
			break;
		}
	}
	hw->Found = hw->PortLength >= SYSBLK_PORT_COUNT && hw->HaveIrq && hw->HaveDma;
	return STATUS_SUCCESS;
}

/* Tells the I/O manager which resources the driver claims (the raw, bus-relative ones). */
static NTSTATUS LegacyReportResources(PDRIVER_OBJECT DriverObject, PLEGACY_HARDWARE hw)
{
	UCHAR buffer[sizeof(CM_RESOURCE_LIST) + 2 * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR)];
	PCM_RESOURCE_LIST list = (PCM_RESOURCE_LIST)buffer;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR d;
	BOOLEAN conflict = FALSE;
	NTSTATUS status;

	RtlZeroMemory(buffer, sizeof(buffer));
	list->Count = 1;
	list->List[0].InterfaceType = hw->Bus;
	list->List[0].BusNumber = hw->BusNumber;
	list->List[0].PartialResourceList.Version = 1;
	list->List[0].PartialResourceList.Revision = 1;
	list->List[0].PartialResourceList.Count = 3;
	d = list->List[0].PartialResourceList.PartialDescriptors;
	d[0].Type = hw->PortInMemory ? CmResourceTypeMemory : CmResourceTypePort;
	d[0].ShareDisposition = CmResourceShareDeviceExclusive;
	d[0].Flags = hw->PortInMemory ? CM_RESOURCE_MEMORY_READ_WRITE : CM_RESOURCE_PORT_IO;
	d[0].u.Port.Start = hw->Port;
	d[0].u.Port.Length = hw->PortLength;
	d[1].Type = CmResourceTypeInterrupt;
	d[1].ShareDisposition = CmResourceShareDeviceExclusive;
	d[1].Flags = hw->Mode == Latched ? CM_RESOURCE_INTERRUPT_LATCHED
	                                 : CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE;
	d[1].u.Interrupt.Level = hw->Irq;
	d[1].u.Interrupt.Vector = hw->Irq;
	d[1].u.Interrupt.Affinity = (KAFFINITY)-1;
	d[2].Type = CmResourceTypeDma;
	d[2].ShareDisposition = CmResourceShareDeviceExclusive;
	d[2].Flags = hw->Width == Width16Bits ? CM_RESOURCE_DMA_16 : CM_RESOURCE_DMA_8;
	d[2].u.Dma.Channel = hw->DmaChannel;
	status = IoReportResourceUsage(NULL, DriverObject, list, sizeof(buffer), NULL, NULL, 0,
	                               FALSE, &conflict);
	if (NT_SUCCESS(status) && conflict)
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
	return status;
}

/* Gives back everything DriverEntry took, in reverse order (G14: the adapter last of the
 * DMA resources). */
static VOID LegacyReleaseHardware(PLEGACY_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		LegacyWrite8(ext, SYSBLK_REG_CTRL, 0);
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

static NTSTATUS LegacyStartHardware(PDEVICE_OBJECT fdo, PLEGACY_HARDWARE hw, ULONG dmaChannel)
{
	PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)fdo->DeviceExtension;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS translated;
	ULONG addressSpace = hw->PortInMemory ? 0 : 1, vector;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	NTSTATUS status;

	if (!HalTranslateBusAddress(hw->Bus, hw->BusNumber, hw->Port, &addressSpace, &translated))
		return STATUS_DEVICE_CONFIGURATION_ERROR;
	ext->RegistersLength = hw->PortLength;
	if (addressSpace == 0) {
		ext->Registers = (PUCHAR)MmMapIoSpace(translated, hw->PortLength, MmNonCached);
		if (ext->Registers == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
		ext->RegistersMapped = TRUE;
	} else {
		ext->Registers = (PUCHAR)(ULONG_PTR)translated.QuadPart;
	}
	if (LegacyRead16(ext, SYSBLK_REG_ID) != SYSBLK_ID) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail;
	}

	/* Size the disk with the device's interrupt off. */
	LegacyWrite8(ext, SYSBLK_REG_CTRL, 0);
	ext->Capacity = LegacyProbeCapacity(ext);
	LegacyWrite8(ext, SYSBLK_REG_IACK, SYSBLK_CAUSES);
	if (ext->Capacity == 0) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	/* G14: a zeroed description; a subordinate device on its channel; no PDO (HalGetAdapter).
	 */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.DemandMode = TRUE; /* sysblk holds DREQ for the whole command */
	desc.AutoInitialize = FALSE;
	desc.BusNumber = hw->BusNumber;
	desc.DmaChannel = dmaChannel;
	desc.InterfaceType = hw->Bus;
	desc.DmaWidth = hw->Width;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = ext->BufferSize;
	ext->Adapter = (PDMA_ADAPTER)HalGetAdapter(&desc, &ext->MapRegisterCount);
	if (ext->Adapter == NULL || ext->MapRegisterCount == 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}
	ext->AlignmentMask = ext->Adapter->DmaOperations->GetDmaAlignment(ext->Adapter);
	ext->AlignmentMask = ext->AlignmentMask != 0 ? ext->AlignmentMask - 1 : 0;
	if (hw->Width == Width16Bits)
		ext->AlignmentMask |= 1;
	fdo->AlignmentRequirement = ext->AlignmentMask;

	/* The DPC first: the ISR may queue it as soon as it is connected.  The vector and IRQL
	 * are the HAL's translation of the bus interrupt level. */
	IoInitializeDpcRequest(fdo, LegacyDpcForIsr);
	vector = HalGetInterruptVector(hw->Bus, hw->BusNumber, hw->Irq, hw->Irq, &irql, &affinity);
	if (vector == 0) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}
	status = IoConnectInterrupt(&ext->InterruptObject, LegacyIsr, ext, NULL, vector, irql, irql,
	                            hw->Mode, FALSE, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}
	LegacyWrite8(ext, SYSBLK_REG_CTRL, SYSBLK_CTRL_IEN);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	LegacyReleaseHardware(ext);
	return status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	INTERFACE_TYPE bus = Isa;
	CONFIGURATION_TYPE controller = OtherController;
	LEGACY_HARDWARE hw;
	ULONG bufferSize, dmaChannel;
	UNICODE_STRING deviceName, linkName;
	PDEVICE_OBJECT fdo;
	PLEGACY_EXTENSION ext;
	NTSTATUS status;

	LegacyReadParameters(RegistryPath, &bufferSize, &dmaChannel);
	KdPrint(("legacy: BufferSize %lu, DmaChannel %ld\n", (unsigned long)bufferSize,
	         (long)(LONG)dmaChannel));

	RtlZeroMemory(&hw, sizeof(hw));
	(void)IoQueryDeviceDescription(&bus, NULL, &controller, NULL, NULL, NULL,
	                               LegacyConfigCallout, &hw);
	if (!hw.Found) {
		KdPrint(("legacy: no sysblk controller in the hardware tree\n"));
		return STATUS_NO_SUCH_DEVICE;
	}
	if (dmaChannel == LEGACY_ANY_CHANNEL)
		dmaChannel = hw.DmaChannel;
	status = LegacyReportResources(DriverObject, &hw);
	if (!NT_SUCCESS(status))
		return status;

	RtlInitUnicodeString(&deviceName, L"\\Device\\Legacy0");
	status = IoCreateDevice(DriverObject, sizeof(LEGACY_EXTENSION), &deviceName,
	                        FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PLEGACY_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->BufferSize = bufferSize;
	fdo->Flags |= DO_DIRECT_IO;

	status = LegacyStartHardware(fdo, &hw, dmaChannel);
	if (NT_SUCCESS(status)) {
		RtlInitUnicodeString(&linkName, L"\\DosDevices\\Legacy0");
		status = IoCreateSymbolicLink(&linkName, &deviceName);
		if (!NT_SUCCESS(status))
			LegacyReleaseHardware(ext);
	}
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(fdo);
		return status;
	}
	ext->LinkCreated = TRUE;

	DriverObject->DriverUnload = LegacyUnload;
	DriverObject->DriverStartIo = LegacyStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = LegacyCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = LegacyCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLEANUP] = LegacyCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = LegacyReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = LegacyReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = LegacyDeviceControl;
	/* The I/O manager clears DO_DEVICE_INITIALIZING for devices made in DriverEntry. */
	return STATUS_SUCCESS;
}

static VOID LegacyUnload(PDRIVER_OBJECT DriverObject)
{
	PDEVICE_OBJECT fdo = DriverObject->DeviceObject;
	UNICODE_STRING linkName;

	while (fdo != NULL) {
		PDEVICE_OBJECT next = fdo->NextDevice;
		PLEGACY_EXTENSION ext = (PLEGACY_EXTENSION)fdo->DeviceExtension;

		LegacyReleaseHardware(ext);
		if (ext->LinkCreated) {
			RtlInitUnicodeString(&linkName, L"\\DosDevices\\Legacy0");
			IoDeleteSymbolicLink(&linkName);
		}
		IoDeleteDevice(fdo);
		fdo = next;
	}
}
