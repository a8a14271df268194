/*
 * wdksg.c -- a C driver written against the real WDK's headers, as a Windows driver author's
 * source is: <ntddk.h>, <ntdddisk.h>, <ntstrsafe.h> and <ntintsafe.h> of dmacoh's WDK include
 * tree (no dmacoh header but the one-line DMACOH_DRIVER registration), SAL annotations on
 * every routine (_Dispatch_type_, _IRQL_requires_max_, _Use_decl_annotations_, _In_ ...),
 * L"..." wide strings (16-bit under dmacoh-cc's -fshort-wchar) formatted with
 * RtlStringCbPrintfW into a named device object and a \DosDevices symbolic link, and
 * structured exception handling: the device-control path validates the caller's buffer inside
 * __try (ProbeForWrite for a user-mode METHOD_NEITHER caller, ExRaiseStatus for a short
 * buffer) and turns the exception into the IRP's status in __except.  It answers
 * IOCTL_DISK_GET_DRIVE_GEOMETRY and IOCTL_DISK_GET_LENGTH_INFO as a disk does.
 *
 * The DMA path is the system scatter/gather flow (wdm-dma-spec 5.3, G13) on the bmblk
 * bus-master disk: StartIo flushes the buffer (G1) and calls GetScatterGatherList for the
 * first piece; AdapterListControl loads the device's SG table; the DPC calls
 * PutScatterGatherList before anything looks at the data, then starts the next piece or
 * completes.  Piece sizes use the overflow-checked RtlULongMult of <ntintsafe.h>.  Before
 * reporting the device started it reads sector 0 through the same path (a self-test).
 *
 * Buggy twin (-DDMACOH_BUG_C03): the DPC peeks at the transferred bytes (a debug trace)
 * before PutScatterGatherList.
 */
#include <ntddk.h>
#include <ntdddisk.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("wdksg", "bmblk",
              "WDK headers, SAL, __try/ProbeForWrite: GetScatterGatherList in pieces");

static volatile LONG SgInstances; /* numbers the device names */

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

	ULONG Instance;
	WCHAR LinkBuffer[64];
	UNICODE_STRING LinkName; /* \DosDevices\WdkSg<n> */
} SG_EXTENSION, *PSG_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE SgAddDevice;
static DRIVER_UNLOAD SgUnload;
static DRIVER_STARTIO SgStartIo;
static DRIVER_LIST_CONTROL SgListControl;
static KSERVICE_ROUTINE SgIsr;
static IO_DPC_ROUTINE SgDpc;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) static DRIVER_DISPATCH SgCreateClose;
_Dispatch_type_(IRP_MJ_READ) _Dispatch_type_(IRP_MJ_WRITE) static DRIVER_DISPATCH SgReadWrite;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) static DRIVER_DISPATCH SgDeviceControl;
_Dispatch_type_(IRP_MJ_PNP) static DRIVER_DISPATCH SgPnp;
_Dispatch_type_(IRP_MJ_POWER) static DRIVER_DISPATCH SgPower;

_IRQL_requires_max_(HIGH_LEVEL) static ULONG SgRead(_In_ PSG_EXTENSION ext, _In_ ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

_IRQL_requires_max_(HIGH_LEVEL) static VOID
    SgWrite(_In_ PSG_EXTENSION ext, _In_ ULONG reg, _In_ ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

_IRQL_requires_max_(DISPATCH_LEVEL) static NTSTATUS
    SgCompleteIrp(__in PIRP Irp, __in NTSTATUS Status, __in ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
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

_Use_decl_annotations_ static VOID SgUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object was deleted at IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_ static NTSTATUS SgAddDevice(PDRIVER_OBJECT DriverObject,
                                                   PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PSG_EXTENSION ext;
	NTSTATUS status;
	WCHAR nameBuffer[64];
	UNICODE_STRING deviceName;
	ULONG instance = (ULONG)InterlockedIncrement(&SgInstances) - 1;

	/* \Device\WdkSg<n>, formatted from an L"" literal (16-bit WCHAR). */
	status = RtlStringCbPrintfW(nameBuffer, sizeof(nameBuffer), L"\\Device\\WdkSg%u", instance);
	if (!NT_SUCCESS(status))
		return status;
	RtlInitUnicodeString(&deviceName, nameBuffer);
	status = IoCreateDevice(DriverObject, sizeof(SG_EXTENSION), &deviceName, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PSG_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(SG_EXTENSION));
	ext->Instance = instance;
	status = RtlStringCbPrintfW(ext->LinkBuffer, sizeof(ext->LinkBuffer),
	                            L"\\DosDevices\\WdkSg%u", instance);
	if (NT_SUCCESS(status)) {
		RtlInitUnicodeString(&ext->LinkName, ext->LinkBuffer);
		status = IoCreateSymbolicLink(&ext->LinkName, &deviceName);
	}
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(fdo);
		return status;
	}
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteSymbolicLink(&ext->LinkName);
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, SgDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_ static NTSTATUS SgCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return SgCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_ static NTSTATUS SgReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
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

/* The output buffer of a device control, validated as drivers do it: inside __try, a short
 * buffer raises STATUS_BUFFER_TOO_SMALL, and a user-mode METHOD_NEITHER buffer is probed
 * (ProbeForWrite raises STATUS_ACCESS_VIOLATION or STATUS_DATATYPE_MISALIGNMENT).  The
 * exception becomes the returned status; *Buffer is NULL then. */
_IRQL_requires_max_(PASSIVE_LEVEL) static NTSTATUS
    SgOutputBuffer(_In_ PIRP Irp, _In_ ULONG Needed, _Outptr_ PVOID *Buffer)
{
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
	NTSTATUS status = STATUS_SUCCESS;

	*Buffer = NULL;
	__try {
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < Needed)
			ExRaiseStatus(STATUS_BUFFER_TOO_SMALL);
		if (METHOD_FROM_CTL_CODE(code) == METHOD_NEITHER) {
			if (Irp->RequestorMode != KernelMode)
				ProbeForWrite(Irp->UserBuffer, Needed, sizeof(ULONG));
			*Buffer = Irp->UserBuffer;
		} else {
			*Buffer = Irp->AssociatedIrp.SystemBuffer;
		}
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		status = GetExceptionCode();
		*Buffer = NULL;
	}
	return status;
}

_Use_decl_annotations_ static NTSTATUS SgDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PSG_EXTENSION ext = (PSG_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PVOID out;
	NTSTATUS status;

	if (!ext->Started)
		return SgCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		status = SgOutputBuffer(Irp, sizeof(ULONGLONG), &out);
		if (!NT_SUCCESS(status))
			return SgCompleteIrp(Irp, status, 0);
		*(PULONGLONG)out = ext->Capacity;
		return SgCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	case IOCTL_DISK_GET_LENGTH_INFO:
		status = SgOutputBuffer(Irp, sizeof(GET_LENGTH_INFORMATION), &out);
		if (!NT_SUCCESS(status))
			return SgCompleteIrp(Irp, status, 0);
		((PGET_LENGTH_INFORMATION)out)->Length.QuadPart = (LONGLONG)ext->Capacity;
		return SgCompleteIrp(Irp, STATUS_SUCCESS, sizeof(GET_LENGTH_INFORMATION));
	case IOCTL_DISK_GET_DRIVE_GEOMETRY: {
		PDISK_GEOMETRY g;
		status = SgOutputBuffer(Irp, sizeof(DISK_GEOMETRY), &out);
		if (!NT_SUCCESS(status))
			return SgCompleteIrp(Irp, status, 0);
		g = (PDISK_GEOMETRY)out;
		g->MediaType = FixedMedia;
		g->TracksPerCylinder = 1;
		g->SectorsPerTrack = 64;
		g->BytesPerSector = BM_SECTOR;
		g->Cylinders.QuadPart = (LONGLONG)(ext->Capacity / (64 * BM_SECTOR));
		return SgCompleteIrp(Irp, STATUS_SUCCESS, sizeof(DISK_GEOMETRY));
	}
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
	ULONG length;

	if (!NT_SUCCESS(RtlULongMult(pages, PAGE_SIZE, &length)))
		return 0;
	length -= BYTE_OFFSET(va);
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

#ifdef DMACOH_BUG_C03
	{
		/* BUG C03: a debug trace of the piece's first bytes, read while its transfer is
		 * still open (before PutScatterGatherList).  A read's data may not be in the
		 * buffer yet (bounce pages), and the line read now stays cached. */
		PUCHAR p = (PUCHAR)MmGetSystemAddressForMdlSafe(ext->Mdl, NormalPagePriority);
		if (p != NULL)
			KdPrint(("wdksg: piece at %lu: %02x %02x %02x %02x\n",
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
		IoDeleteSymbolicLink(&ext->LinkName);
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
