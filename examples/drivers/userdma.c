/*
 * userdma.c -- a WDM function driver for the bmblk bus-master disk that is driven by its own
 * control codes, as most real drivers are: its test application (examples/apps/userdma_app.c)
 * opens it by its symbolic link \\.\UserDma and asks it to DMA straight from and into its
 * own buffers (userdma_ioctl.h):
 *
 *   IOCTL_USERDMA_WRITE  METHOD_IN_DIRECT: the output buffer, locked by the I/O manager for
 *                        IoReadAccess, is DMA'd to the disk at the offset the input says
 *   IOCTL_USERDMA_READ   METHOD_OUT_DIRECT: the disk is DMA'd into the output buffer
 *   IOCTL_USERDMA_QUERY  METHOD_BUFFERED: capacity, sector size, transfers done
 *   IOCTL_USERDMA_COUNT  METHOD_NEITHER: the transfer count, written to the raw UserBuffer
 *   IOCTL_USERDMA_WAIT   METHOD_BUFFERED: pends until the next transfer completes; its cancel
 *                        routine completes it with STATUS_CANCELLED (CancelIoEx, and
 *                        IRP_MJ_CLEANUP when the handle closes)
 *
 * IRP_MJ_READ / IRP_MJ_WRITE are served too (the built-in workload's requests).  Every DMA
 * request, whatever its major function, goes through the packet-based bus-master flow of
 * busmaster.c (StartIo, AllocateAdapterChannel, MapTransfer into the SG table, the split
 * loop, one FlushAdapterBuffers per MapTransfer, FreeMapRegisters).
 *
 * Buggy twin (-DDMACOH_BUG_<RULE>): C01 flushes the caller's buffer before reads only, so the
 * device reads what the application wrote from memory while it is still in the cache.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

#include "userdma_ioctl.h"

DMACOH_DRIVER("userdma", "bmblk",
              "custom IOCTLs that DMA from and into the caller's buffer (IN/OUT_DIRECT)");

static const WCHAR UdDeviceName[] = u"\\Device\\UserDma0";
static const WCHAR UdLinkName[] = u"\\DosDevices\\UserDma";
static const GUID UdInterfaceGuid = USERDMA_INTERFACE_GUID;

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

typedef struct _UD_EXTENSION {
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
	ULONG Done;    /* bytes of finished operations */
	PVOID MapRegisterBase;
	ULONG MapRegistersAllocated; /* the count given to AllocateAdapterChannel */

	/* The transfer operation in progress: its MapTransfers, each to be given back to its own
	 * FlushAdapterBuffers. */
	PUCHAR PieceVa[BM_MAX_SG];
	ULONG PieceLength[BM_MAX_SG];
	ULONG PieceCount;
	ULONG OpLength;
	BOOLEAN OpMapped;
	NTSTATUS OpStatus; /* failure to program it: the DPC fails the IRP */

	ULONGLONG Transfers; /* requests completed with success */
	PIRP WaitIrp;        /* IOCTL_USERDMA_WAIT pending (the cancel spin lock guards it) */
	BOOLEAN LinkCreated;
	UNICODE_STRING InterfaceName; /* the device interface's link (Buffer NULL: none) */
} UD_EXTENSION, *PUD_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE UdAddDevice;
static DRIVER_UNLOAD UdUnload;
static DRIVER_STARTIO UdStartIo;
static DRIVER_CONTROL UdAdapterControl;
static KSERVICE_ROUTINE UdIsr;
static IO_DPC_ROUTINE UdDpc;
static DRIVER_DISPATCH UdCreateClose;
static DRIVER_DISPATCH UdReadWrite;
static DRIVER_DISPATCH UdDeviceControl;
static DRIVER_DISPATCH UdPnp;
static DRIVER_DISPATCH UdPower;
static DRIVER_DISPATCH UdCleanup;
static DRIVER_CANCEL UdCancelWait;

static ULONG UdRead(PUD_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID UdWrite(PUD_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS UdCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = UdAddDevice;
	DriverObject->DriverUnload = UdUnload;
	DriverObject->DriverStartIo = UdStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = UdCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = UdCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLEANUP] = UdCleanup;
	DriverObject->MajorFunction[IRP_MJ_READ] = UdReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = UdReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = UdDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = UdPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = UdPower;
	return STATUS_SUCCESS;
}

static VOID UdUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object was deleted at IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS UdAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PUD_EXTENSION ext;
	NTSTATUS status;
	UNICODE_STRING name, link;

	RtlInitUnicodeString(&name, UdDeviceName);
	RtlInitUnicodeString(&link, UdLinkName);
	status = IoCreateDevice(DriverObject, sizeof(UD_EXTENSION), &name, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PUD_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(UD_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	/* The name the application opens: \\.\UserDma. */
	ext->LinkCreated = (BOOLEAN)NT_SUCCESS(IoCreateSymbolicLink(&link, &name));
	/* And a device interface, enabled while the device is started. */
	if (!NT_SUCCESS(IoRegisterDeviceInterface(PhysicalDeviceObject, &UdInterfaceGuid, NULL,
	                                          &ext->InterfaceName)))
		ext->InterfaceName.Buffer = NULL;
	IoInitializeDpcRequest(fdo, UdDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS UdCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return UdCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS UdReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;

	if (!ext->Started)
		return UdCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return UdCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return UdCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static VOID UdFillInfo(PUD_EXTENSION ext, USERDMA_INFO *info)
{
	info->Capacity = ext->Capacity;
	info->Transfers = ext->Transfers;
	info->SectorSize = BM_SECTOR;
	info->MaxTransfer = 1u << 20;
}

/* The cancel routine of a pending IOCTL_USERDMA_WAIT: called with the cancel spin lock held. */
static VOID UdCancelWait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;

	if (ext->WaitIrp == Irp)
		ext->WaitIrp = NULL;
	IoReleaseCancelSpinLock(Irp->CancelIrql);
	UdCompleteIrp(Irp, STATUS_CANCELLED, 0);
}

/* Completes the pending wait, if any, with `status` (at most DISPATCH_LEVEL). */
static VOID UdCompleteWait(PUD_EXTENSION ext, NTSTATUS status)
{
	KIRQL irql;
	PIRP irp;

	IoAcquireCancelSpinLock(&irql);
	irp = ext->WaitIrp;
	if (irp != NULL && IoSetCancelRoutine(irp, NULL) == NULL)
		irp = NULL; /* its cancel routine runs (or ran): it completes it */
	if (irp != NULL)
		ext->WaitIrp = NULL;
	IoReleaseCancelSpinLock(irql);
	if (irp == NULL)
		return;
	if (NT_SUCCESS(status)) {
		UdFillInfo(ext, (USERDMA_INFO *)irp->AssociatedIrp.SystemBuffer);
		UdCompleteIrp(irp, status, sizeof(USERDMA_INFO));
	} else {
		UdCompleteIrp(irp, status, 0);
	}
}

static NTSTATUS UdQueueWait(PUD_EXTENSION ext, PIRP Irp)
{
	KIRQL irql;

	IoAcquireCancelSpinLock(&irql);
	if (ext->WaitIrp != NULL) {
		IoReleaseCancelSpinLock(irql);
		return UdCompleteIrp(Irp, STATUS_DEVICE_BUSY, 0);
	}
	IoMarkIrpPending(Irp);
	IoSetCancelRoutine(Irp, UdCancelWait);
	if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
		/* Cancelled before the routine was set: ours to complete. */
		IoReleaseCancelSpinLock(irql);
		UdCompleteIrp(Irp, STATUS_CANCELLED, 0);
		return STATUS_PENDING;
	}
	ext->WaitIrp = Irp;
	IoReleaseCancelSpinLock(irql);
	return STATUS_PENDING;
}

static NTSTATUS UdDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG inLen = stack->Parameters.DeviceIoControl.InputBufferLength;
	ULONG outLen = stack->Parameters.DeviceIoControl.OutputBufferLength;
	USERDMA_REQUEST *req;
	ULONGLONG offset;

	if (!ext->Started)
		return UdCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (outLen < sizeof(ULONGLONG))
			return UdCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return UdCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));

	case IOCTL_USERDMA_QUERY:
		if (outLen < sizeof(USERDMA_INFO))
			return UdCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		UdFillInfo(ext, (USERDMA_INFO *)Irp->AssociatedIrp.SystemBuffer);
		return UdCompleteIrp(Irp, STATUS_SUCCESS, sizeof(USERDMA_INFO));

	case IOCTL_USERDMA_COUNT: {
		/* METHOD_NEITHER: the caller's own addresses, valid in its context only (the
		 * dispatch routine runs in it). */
		unsigned int *reset =
		    (unsigned int *)stack->Parameters.DeviceIoControl.Type3InputBuffer;
		unsigned long long *count = (unsigned long long *)Irp->UserBuffer;
		if (inLen < sizeof(*reset) || outLen < sizeof(*count) || reset == NULL ||
		    count == NULL)
			return UdCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);
		*count = ext->Transfers;
		if (*reset)
			ext->Transfers = 0;
		return UdCompleteIrp(Irp, STATUS_SUCCESS, sizeof(*count));
	}

	case IOCTL_USERDMA_WAIT:
		if (outLen < sizeof(USERDMA_INFO))
			return UdCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		return UdQueueWait(ext, Irp);

	case IOCTL_USERDMA_WRITE:
	case IOCTL_USERDMA_READ:
		/* The direct methods: input in the system buffer, the data buffer in an MDL. */
		req = (USERDMA_REQUEST *)Irp->AssociatedIrp.SystemBuffer;
		if (inLen < sizeof(USERDMA_REQUEST) || req == NULL)
			return UdCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);
		offset = req->Offset;
		if (outLen == 0)
			return UdCompleteIrp(Irp, STATUS_SUCCESS, 0);
		if ((offset % BM_SECTOR) != 0 || (outLen % BM_SECTOR) != 0 ||
		    offset > ext->Capacity || outLen > ext->Capacity - offset ||
		    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < outLen)
			return UdCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);
		IoMarkIrpPending(Irp);
		IoStartPacket(DeviceObject, Irp, NULL, NULL);
		return STATUS_PENDING;

	default:
		return UdCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* The handle is closing: nothing of it may stay pending (the wait is this driver's only
 * request without a bounded life). */
static NTSTATUS UdCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;

	UdCompleteWait(ext, STATUS_CANCELLED);
	return UdCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

/* Ends the operation in progress: one flush per MapTransfer (G3/G4).  FALSE if any failed. */
static BOOLEAN UdFlushOperation(PUD_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	BOOLEAN ok = TRUE;
	ULONG i;

	for (i = 0; i < ext->PieceCount; i++)
		if (!ad->DmaOperations->FlushAdapterBuffers(ad, ext->Mdl, ext->MapRegisterBase,
		                                            ext->PieceVa[i], ext->PieceLength[i],
		                                            ext->WriteToDevice))
			ok = FALSE;
	return ok;
}

/* Maps the next transfer operation of the current request into the device's SG table and
 * starts it.  On failure nothing is left mapped and the device is not started. */
static NTSTATUS UdStartOperation(PUD_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) + ext->Done;
	ULONG remaining = ext->Length - ext->Done;
	ULONG pages =
	    ext->MapRegistersAllocated < ext->MaxSg ? ext->MapRegistersAllocated : ext->MaxSg;
	ULONG opLength = pages * PAGE_SIZE - BYTE_OFFSET(va);
	ULONG mapped = 0, n = 0;
	ULONGLONG lba;

	if (opLength > remaining)
		opLength = remaining;
	opLength &= ~(ULONG)(BM_SECTOR - 1); /* the device moves whole sectors */
	if (opLength == 0)
		return STATUS_INSUFFICIENT_RESOURCES;

	/* Scatter/gather: each MapTransfer maps what is logically contiguous from va on and says
	 * how much in its Length argument -- a local, never the IRP's Length (G10). */
	while (mapped < opLength && n < ext->MaxSg) {
		ULONG len = opLength - mapped;
		PHYSICAL_ADDRESS logical = ad->DmaOperations->MapTransfer(
		    ad, ext->Mdl, ext->MapRegisterBase, va + mapped, &len, ext->WriteToDevice);
		if (len == 0)
			break;
		UdWrite(ext, BM_REG_SG_ADDR_LO(n), logical.LowPart);
		UdWrite(ext, BM_REG_SG_ADDR_HI(n), (ULONG)logical.HighPart);
		UdWrite(ext, BM_REG_SG_LEN(n), len);
		ext->PieceVa[n] = va + mapped;
		ext->PieceLength[n] = len;
		mapped += len;
		n++;
	}
	ext->PieceCount = n;
	ext->OpLength = mapped;
	if (mapped != opLength) {
		/* The HAL mapped less than the table holds: undo and fail the request. */
		UdFlushOperation(ext);
		ext->PieceCount = 0;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	ext->OpMapped = TRUE;

	lba = ext->Lba + ext->Done / BM_SECTOR;
	UdWrite(ext, BM_REG_LBA_LO, (ULONG)lba);
	UdWrite(ext, BM_REG_LBA_HI, (ULONG)(lba >> 32));
	UdWrite(ext, BM_REG_SECTOR_COUNT, opLength / BM_SECTOR);
	UdWrite(ext, BM_REG_SG_COUNT, n);
	UdWrite(ext, BM_REG_DOORBELL, ext->WriteToDevice ? BM_CMD_WRITE : BM_CMD_READ);
	return STATUS_SUCCESS;
}

static VOID UdStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG needed;
	NTSTATUS status;

	if (!ext->Started) {
		/* Stopped while the request waited in the device queue. */
		IoStartNextPacket(DeviceObject, FALSE);
		UdCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		return;
	}
	ext->Irp = Irp;
	ext->Mdl = Irp->MdlAddress;
	if (stack->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
		ext->WriteToDevice = (BOOLEAN)(stack->Parameters.DeviceIoControl.IoControlCode ==
		                               IOCTL_USERDMA_WRITE);
		ext->Lba = ((USERDMA_REQUEST *)Irp->AssociatedIrp.SystemBuffer)->Offset / BM_SECTOR;
		ext->Length = stack->Parameters.DeviceIoControl.OutputBufferLength;
	} else {
		ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
		ext->Lba = (ULONGLONG)stack->Parameters.Read.ByteOffset.QuadPart / BM_SECTOR;
		ext->Length = stack->Parameters.Read.Length;
	}
	ext->Done = 0;
	ext->OpMapped = FALSE;
	ext->PieceCount = 0;
	ext->OpStatus = STATUS_SUCCESS;

	needed = ADDRESS_AND_SIZE_TO_SPAN_PAGES(MmGetMdlVirtualAddress(ext->Mdl), ext->Length);
	ext->MapRegistersAllocated =
	    needed < ext->NumberOfMapRegisters ? needed : ext->NumberOfMapRegisters;

	/* G1: write back (and for a read also invalidate) the buffer's cache lines before the
	 * device touches memory. */
#ifdef DMACOH_BUG_C01
	/* BUG C01: flushes only before reads, as if the device saw the CPU's writes anyway.  The
	 * caller's data is still in dirty cache lines when the device reads memory: it writes
	 * stale bytes to the disk (stale-device-read). */
	if (!ext->WriteToDevice)
		KeFlushIoBuffers(ext->Mdl, TRUE, TRUE);
#else
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);
#endif

	status = ad->DmaOperations->AllocateAdapterChannel(
	    ad, DeviceObject, ext->MapRegistersAllocated, UdAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		UdCompleteIrp(Irp, status, 0);
	}
}

static IO_ALLOCATION_ACTION UdAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PVOID MapRegisterBase, PVOID Context)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)Context;
	NTSTATUS status;

	ext->MapRegisterBase = MapRegisterBase;
	/* OpStatus stays STATUS_SUCCESS (StartIo's) unless nothing was started: once the device
	 * is, its DPC may read OpStatus on another processor. */
	status = UdStartOperation(ext);
	if (!NT_SUCCESS(status)) {
		ext->OpStatus = status;
		IoRequestDpc(DeviceObject, Irp, NULL); /* the DPC releases and fails the IRP */
	}
	/* A bus master keeps the registers, not the adapter (G8). */
	return DeallocateObjectKeepRegisters;
}

static BOOLEAN UdIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	/* Reading a register also lands the device's posted writes (PCI ordering). */
	status = UdRead(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	if (status == 0)
		return FALSE; /* not ours: the line is shared */
	UdWrite(ext, BM_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* Releases the map registers and completes the request (G7: after the last flush). */
static VOID UdFinishRequest(PUD_EXTENSION ext, NTSTATUS status)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PIRP irp = ext->Irp;
	/* G6: on success the bytes moved, on failure nothing. */
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	ad->DmaOperations->FreeMapRegisters(ad, ext->MapRegisterBase, ext->MapRegistersAllocated);
	ext->MapRegisterBase = NULL;
	ext->Irp = NULL;
	if (NT_SUCCESS(status))
		ext->Transfers++;
	IoStartNextPacket(ext->Self, FALSE);
	UdCompleteIrp(irp, status, information);
	if (NT_SUCCESS(status))
		UdCompleteWait(ext, STATUS_SUCCESS);
}

static VOID UdDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;
	ULONG intStatus = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	NTSTATUS status = ext->OpStatus;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if (ext->Irp == NULL ||
	    (NT_SUCCESS(status) &&
	     (!ext->OpMapped || (intStatus & (BM_INT_DONE | BM_INT_ERROR)) == 0)))
		return; /* no operation in progress, or it is not finished */

	if (ext->OpMapped) {
		BOOLEAN ok = UdFlushOperation(ext);
		ext->OpMapped = FALSE;
		if (!ok || (intStatus & BM_INT_ERROR) != 0)
			status = STATUS_DEVICE_DATA_ERROR;
		if (NT_SUCCESS(status)) {
			ext->Done += ext->OpLength;
			if (ext->Done < ext->Length) {
				/* Split loop: the next operation, same registers, va advanced. */
				status = UdStartOperation(ext);
				if (NT_SUCCESS(status))
					return;
			}
		}
	}
	UdFinishRequest(ext, status);
}

/* --- PnP ---------------------------------------------------------------------------- */

static NTSTATUS UdStartDevice(PUD_EXTENSION ext, PCM_RESOURCE_LIST translated)
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
	if (UdRead(ext, BM_REG_ID) != BM_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	UdWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	caps = UdRead(ext, BM_REG_CAPS);
	ext->MaxSg = caps & 0xFF;
	if (ext->MaxSg == 0 || ext->MaxSg > BM_MAX_SG)
		ext->MaxSg = 1;
	addressBits = (caps >> 8) & 0xFF;
	ext->Capacity =
	    ((ULONGLONG)UdRead(ext, BM_REG_CAPACITY_HI) << 32 | UdRead(ext, BM_REG_CAPACITY_LO)) *
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

	status = IoConnectInterrupt(&ext->Interrupt, UdIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	UdWrite(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	UdWrite(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
	ext->Started = TRUE;
	if (ext->InterfaceName.Buffer != NULL)
		IoSetDeviceInterfaceState(&ext->InterfaceName, TRUE);
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

/* Stop or remove: quiesce the device, give back every DMA resource, then the adapter (G14). */
static VOID UdStopDevice(PUD_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	if (ext->InterfaceName.Buffer != NULL)
		IoSetDeviceInterfaceState(&ext->InterfaceName, FALSE);
	UdCompleteWait(ext, STATUS_DEVICE_REMOVED);
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	UdWrite(ext, BM_REG_INT_MASK, 0);
	UdWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	InterlockedExchange(&ext->InterruptStatus, 0);
	if (ext->Irp != NULL) {
		/* A request was still in flight: abort it and release what it holds. */
		if (ext->OpMapped)
			UdFlushOperation(ext);
		ext->OpMapped = FALSE;
		UdFinishRequest(ext, STATUS_DEVICE_REMOVED);
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

static NTSTATUS UdPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			return UdCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = UdStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return UdCompleteIrp(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		UdStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		UdStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		IoDetachDevice(lower);
		RtlFreeUnicodeString(&ext->InterfaceName);
		if (ext->LinkCreated) {
			UNICODE_STRING link;
			RtlInitUnicodeString(&link, UdLinkName);
			IoDeleteSymbolicLink(&link);
		}
		IoDeleteDevice(DeviceObject);
		return status;

	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(lower, Irp);
}

static NTSTATUS UdPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PUD_EXTENSION ext = (PUD_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
