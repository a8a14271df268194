/*
 * plumbed.c -- the bus-master driver of busmaster.c (flow 5.3 on the bmblk disk) with the WDM
 * plumbing a production driver wraps around its DMA path:
 *
 *   registry    DriverEntry reads Parameters\MaxTransferSectors and WatchdogSeconds under its
 *               service key with RtlQueryRegistryValues (DIRECT, TYPECHECK, defaults 2 and
 *               4); AddDevice lets the device's hardware key (IoOpenDeviceRegistryKey,
 *               "Device Parameters", ZwQueryValueKey) override MaxTransferSectors.  Every
 *               transfer operation is cut to that many sectors, so the split loop runs for any
 *               request larger than it.
 *   remove lock every IRP holds the device's remove lock while the driver works on it;
 *               IRP_MN_REMOVE_DEVICE waits for all of them (IoReleaseRemoveLockAndWait).
 *   IoTimer     a once-a-second watchdog: a request that makes no progress for WatchdogSeconds
 *               is written to the error log.
 *   error log   one informational entry when the device starts (its transfer limit).
 *   MSI         IoConnectInterruptEx(CONNECT_MESSAGE_BASED): on bmblk-msi one
 *               KMESSAGE_SERVICE_ROUTINE call per message (0: done, 1: error) through the
 *               IO_INTERRUPT_MESSAGE_INFO table; on bmblk (no messages) the I/O manager falls
 *               back to the line and BmIsr, and says so in Version.
 *
 * Buggy twin (-DDMACOH_BUG_A13): the split loop advances the disk position but not the buffer
 * position, so every operation after the first maps the start of the buffer again -- bytes
 * transferred twice, others never (transfer-coverage).  Only requests larger than the
 * registry's MaxTransferSectors are split, so the registry decides which requests show it.
 *
 * Buggy twin (-DDMACOH_BUG_C03): trusting MSI ordering (the device's data is in memory before
 * its message arrives), the DPC of a completion message peeks at the first byte of a read before
 * FlushAdapterBuffers: the data is in memory, but the transfer is not over for the CPU, whose
 * cache may still hold the old line (cpu-access-during-dma).
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("plumbed", "bmblk-msi",
              "bus master with registry parameters, remove locks, IoTimer, error log and MSI");

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

typedef struct _BM_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT LowerDevice;
	PDEVICE_OBJECT Pdo;
	BOOLEAN Started;

	PUCHAR Registers;
	SIZE_T RegistersLength;
	PKINTERRUPT Interrupt;                   /* line-based (the fallback) */
	PIO_INTERRUPT_MESSAGE_INFO MessageTable; /* message-based */
	ULONG ConnectVersion;                    /* what IoConnectInterruptEx connected */
	volatile LONG Messages;                  /* bit per MessageID seen since the DPC ran */
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

	/* Plumbing. */
	IO_REMOVE_LOCK RemoveLock;
	ULONG MaxTransferSectors; /* registry: sectors per transfer operation */
	volatile LONG Progress;   /* bumped by every finished operation, read by the watchdog */
	LONG SeenProgress;
	ULONG StuckSeconds;
	BOOLEAN StuckLogged;
	UCHAR Peeked; /* the C03 twin's look at the data */
} BM_EXTENSION, *PBM_EXTENSION;

#define BM_TAG 'mulP'
#define BM_LOG_STARTED ((NTSTATUS)0x40DC0001L) /* informational: the device started */
#define BM_LOG_STUCK ((NTSTATUS)0xC0DC0002L)   /* error: a request made no progress */

/* From the service key's Parameters (DriverEntry); a device's own key may override the first. */
static ULONG BmMaxTransferSectors = 2;
static ULONG BmWatchdogSeconds = 4;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE BmAddDevice;
static DRIVER_UNLOAD BmUnload;
static DRIVER_STARTIO BmStartIo;
static DRIVER_CONTROL BmAdapterControl;
static KSERVICE_ROUTINE BmIsr;
static KMESSAGE_SERVICE_ROUTINE BmMessageIsr;
static IO_DPC_ROUTINE BmDpc;
static DRIVER_DISPATCH BmCreateClose;
static DRIVER_DISPATCH BmReadWrite;
static DRIVER_DISPATCH BmDeviceControl;
static DRIVER_DISPATCH BmPnp;
static DRIVER_DISPATCH BmPower;
static IO_TIMER_ROUTINE BmTimer;

static ULONG BmRead(PBM_EXTENSION ext, ULONG reg)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
}

static VOID BmWrite(PBM_EXTENSION ext, ULONG reg, ULONG value)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
}

static NTSTATUS BmCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

/* An entry in the system event log (allowed up to DISPATCH_LEVEL). */
static VOID BmLog(PDEVICE_OBJECT DeviceObject, NTSTATUS code, ULONG unique, ULONG dump)
{
	PIO_ERROR_LOG_PACKET e = (PIO_ERROR_LOG_PACKET)IoAllocateErrorLogEntry(
	    DeviceObject, (UCHAR)(sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG)));
	if (e == NULL)
		return;
	RtlZeroMemory(e, sizeof(IO_ERROR_LOG_PACKET) + sizeof(ULONG));
	e->ErrorCode = code;
	e->UniqueErrorValue = unique;
	e->FinalStatus = STATUS_SUCCESS;
	e->DumpDataSize = sizeof(ULONG);
	e->DumpData[0] = dump;
	IoWriteErrorLogEntry(e);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	RTL_QUERY_REGISTRY_TABLE query[4];
	ULONG defaultMax = BmMaxTransferSectors, defaultWatchdog = BmWatchdogSeconds;
	NTSTATUS status;

	/* Parameters under the service key; missing values keep their defaults. */
	RtlZeroMemory(query, sizeof(query));
	query[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
	query[0].Name = (PWSTR)u"Parameters";
	query[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK |
	                 (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT);
	query[1].Name = (PWSTR)u"MaxTransferSectors";
	query[1].EntryContext = &BmMaxTransferSectors;
	query[1].DefaultType = REG_DWORD;
	query[1].DefaultData = &defaultMax;
	query[1].DefaultLength = sizeof(ULONG);
	query[2] = query[1];
	query[2].Name = (PWSTR)u"WatchdogSeconds";
	query[2].EntryContext = &BmWatchdogSeconds;
	query[2].DefaultData = &defaultWatchdog;
	status =
	    RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, query, NULL, NULL);
	if (!NT_SUCCESS(status))
		return status;
	if (BmMaxTransferSectors == 0)
		BmMaxTransferSectors = 1;
	if (BmWatchdogSeconds == 0)
		BmWatchdogSeconds = 1;

	DriverObject->DriverExtension->AddDevice = BmAddDevice;
	DriverObject->DriverUnload = BmUnload;
	DriverObject->DriverStartIo = BmStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = BmCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = BmCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = BmReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = BmReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = BmDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = BmPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = BmPower;
	return STATUS_SUCCESS;
}

static VOID BmUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object was deleted at IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS BmAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo = NULL;
	PBM_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(BM_EXTENSION), NULL, FILE_DEVICE_DISK,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	ext = (PBM_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(BM_EXTENSION));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	IoInitializeRemoveLock(&ext->RemoveLock, BM_TAG, 0, 0);
	ext->MaxTransferSectors = BmMaxTransferSectors;
	{
		/* The device's own setting wins over the service's. */
		HANDLE key;
		UNICODE_STRING name;
		UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
		PKEY_VALUE_PARTIAL_INFORMATION info = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
		ULONG got;

		if (NT_SUCCESS(IoOpenDeviceRegistryKey(PhysicalDeviceObject, PLUGPLAY_REGKEY_DEVICE,
		                                       KEY_READ, &key))) {
			RtlInitUnicodeString(&name, u"MaxTransferSectors");
			if (NT_SUCCESS(ZwQueryValueKey(key, &name, KeyValuePartialInformation, info,
			                               sizeof(buffer), &got)) &&
			    info->Type == REG_DWORD && info->DataLength == sizeof(ULONG)) {
				RtlCopyMemory(&ext->MaxTransferSectors, info->Data, sizeof(ULONG));
				if (ext->MaxTransferSectors == 0)
					ext->MaxTransferSectors = 1;
			}
			ZwClose(key);
		}
	}
	status = IoInitializeTimer(fdo, BmTimer, ext);
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(fdo);
		return status;
	}
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	IoInitializeDpcRequest(fdo, BmDpc);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS BmCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return BmCompleteIrp(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS BmReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG length = stack->Parameters.Read.Length;
	LONGLONG offset = stack->Parameters.Read.ByteOffset.QuadPart;
	NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);

	if (!NT_SUCCESS(status))
		return BmCompleteIrp(Irp, status, 0);
	status = STATUS_SUCCESS;
	if (!ext->Started)
		status = STATUS_DEVICE_NOT_READY;
	else if (length == 0)
		status = STATUS_SUCCESS;
	else if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	         (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	         Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		status = STATUS_INVALID_PARAMETER;
	else
		status = STATUS_PENDING;
	if (status != STATUS_PENDING) {
		BmCompleteIrp(Irp, status, 0);
		IoReleaseRemoveLock(&ext->RemoveLock, Irp);
		return status;
	}

	/* The lock is released when the request completes (BmFinishRequest). */
	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static NTSTATUS BmDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return BmCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return BmCompleteIrp(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		*(PULONGLONG)Irp->AssociatedIrp.SystemBuffer = ext->Capacity;
		return BmCompleteIrp(Irp, STATUS_SUCCESS, sizeof(ULONGLONG));
	default:
		return BmCompleteIrp(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* Ends the operation in progress: one flush per MapTransfer (G3/G4).  FALSE if any failed. */
static BOOLEAN BmFlushOperation(PBM_EXTENSION ext)
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
static NTSTATUS BmStartOperation(PBM_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
#ifdef DMACOH_BUG_A13
	/* BUG A13: the buffer position is not advanced with the disk position: every operation of
	 * a split request maps the start of the buffer again. */
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl);
#else
	PUCHAR va = (PUCHAR)MmGetMdlVirtualAddress(ext->Mdl) + ext->Done;
#endif
	ULONG remaining = ext->Length - ext->Done;
	ULONG pages =
	    ext->MapRegistersAllocated < ext->MaxSg ? ext->MapRegistersAllocated : ext->MaxSg;
	ULONG opLength = pages * PAGE_SIZE - BYTE_OFFSET(va);
	ULONG mapped = 0, n = 0;
	ULONGLONG lba;

	if (opLength > remaining)
		opLength = remaining;
	if (opLength > ext->MaxTransferSectors * BM_SECTOR)
		opLength = ext->MaxTransferSectors * BM_SECTOR; /* the registry's limit */
	opLength &= ~(ULONG)(BM_SECTOR - 1);                    /* the device moves whole sectors */
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
		BmWrite(ext, BM_REG_SG_ADDR_LO(n), logical.LowPart);
		BmWrite(ext, BM_REG_SG_ADDR_HI(n), (ULONG)logical.HighPart);
		BmWrite(ext, BM_REG_SG_LEN(n), len);
		ext->PieceVa[n] = va + mapped;
		ext->PieceLength[n] = len;
		mapped += len;
		n++;
	}
	ext->PieceCount = n;
	ext->OpLength = mapped;
	if (mapped != opLength) {
		/* The HAL mapped less than the table holds: undo and fail the request. */
		BmFlushOperation(ext);
		ext->PieceCount = 0;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	ext->OpMapped = TRUE;

	lba = ext->Lba + ext->Done / BM_SECTOR;
	BmWrite(ext, BM_REG_LBA_LO, (ULONG)lba);
	BmWrite(ext, BM_REG_LBA_HI, (ULONG)(lba >> 32));
	BmWrite(ext, BM_REG_SECTOR_COUNT, opLength / BM_SECTOR);
	BmWrite(ext, BM_REG_SG_COUNT, n);
	BmWrite(ext, BM_REG_DOORBELL, ext->WriteToDevice ? BM_CMD_WRITE : BM_CMD_READ);
	return STATUS_SUCCESS;
}

static VOID BmStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDMA_ADAPTER ad = ext->DmaAdapter;
	ULONG needed;
	NTSTATUS status;

	if (!ext->Started) {
		/* Stopped while the request waited in the device queue. */
		IoStartNextPacket(DeviceObject, FALSE);
		BmCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
		IoReleaseRemoveLock(&ext->RemoveLock, Irp);
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

	/* G1: write back (and for a read also invalidate) the buffer's cache lines before the
	 * device touches memory. */
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);

	status = ad->DmaOperations->AllocateAdapterChannel(
	    ad, DeviceObject, ext->MapRegistersAllocated, BmAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		BmCompleteIrp(Irp, status, 0);
		IoReleaseRemoveLock(&ext->RemoveLock, Irp);
	}
}

static IO_ALLOCATION_ACTION BmAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                             PVOID MapRegisterBase, PVOID Context)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)Context;
	NTSTATUS status;

	ext->MapRegisterBase = MapRegisterBase;
	/* OpStatus stays STATUS_SUCCESS (StartIo's) unless nothing was started: once the device
	 * is, its DPC may read OpStatus on another processor. */
	status = BmStartOperation(ext);
	if (!NT_SUCCESS(status)) {
		ext->OpStatus = status;
		IoRequestDpc(DeviceObject, Irp, NULL); /* the DPC releases and fails the IRP */
	}
	/* A bus master keeps the registers, not the adapter (G8). */
	return DeallocateObjectKeepRegisters;
}

static BOOLEAN BmIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	/* Reading a register also lands the device's posted writes (PCI ordering). */
	status = BmRead(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	if (status == 0)
		return FALSE; /* not ours: the line is shared */
	BmWrite(ext, BM_REG_INT_STATUS, status);
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* One message of bmblk-msi: 0 a completion, 1 an error.  A message is never shared, and its
 * data (PCI ordering) is in memory, not yet in the CPU's view: the DPC still flushes. */
static BOOLEAN BmMessageIsr(PKINTERRUPT Interrupt, PVOID ServiceContext, ULONG MessageID)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)ServiceContext;
	ULONG status;

	UNREFERENCED_PARAMETER(Interrupt);
	status = BmRead(ext, BM_REG_INT_STATUS) & (BM_INT_DONE | BM_INT_ERROR);
	BmWrite(ext, BM_REG_INT_STATUS, status);
	if (MessageID == 1)
		status |= BM_INT_ERROR | BM_INT_DONE;
	InterlockedOr(&ext->InterruptStatus, (LONG)status);
	InterlockedOr(&ext->Messages, (LONG)(1u << MessageID));
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

/* Releases the map registers and completes the request (G7: after the last flush). */
static VOID BmFinishRequest(PBM_EXTENSION ext, NTSTATUS status)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	PIRP irp = ext->Irp;
	/* G6: on success the bytes moved, on failure nothing. */
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	ad->DmaOperations->FreeMapRegisters(ad, ext->MapRegisterBase, ext->MapRegistersAllocated);
	ext->MapRegisterBase = NULL;
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	BmCompleteIrp(irp, status, information);
	IoReleaseRemoveLock(&ext->RemoveLock, irp);
}

static VOID BmDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	ULONG intStatus = (ULONG)InterlockedExchange(&ext->InterruptStatus, 0);
	ULONG messages = (ULONG)InterlockedExchange(&ext->Messages, 0);
	NTSTATUS status = ext->OpStatus;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	if (ext->Irp == NULL ||
	    (NT_SUCCESS(status) &&
	     (!ext->OpMapped || (intStatus & (BM_INT_DONE | BM_INT_ERROR)) == 0)))
		return; /* no operation in progress, or it is not finished */

#ifdef DMACOH_BUG_C03
	/* BUG C03: "the message came after the data", so the first byte of a read is looked at
	 * before FlushAdapterBuffers ends the transfer for the CPU. */
	if ((messages & 1) != 0 && ext->OpMapped && !ext->WriteToDevice) {
		PUCHAR va = (PUCHAR)MmGetSystemAddressForMdlSafe(ext->Mdl, NormalPagePriority);
		if (va != NULL)
			ext->Peeked = va[ext->Done];
	}
#else
	UNREFERENCED_PARAMETER(messages);
#endif
	if (ext->OpMapped) {
		BOOLEAN ok = BmFlushOperation(ext);
		ext->OpMapped = FALSE;
		if (!ok || (intStatus & BM_INT_ERROR) != 0)
			status = STATUS_DEVICE_DATA_ERROR;
		InterlockedIncrement(&ext->Progress);
		if (NT_SUCCESS(status)) {
			ext->Done += ext->OpLength;
			if (ext->Done < ext->Length) {
				/* Split loop: the next operation, same registers, va advanced. */
				status = BmStartOperation(ext);
				if (NT_SUCCESS(status))
					return;
			}
		}
	}
	BmFinishRequest(ext, status);
}

/* The watchdog, once a second at DISPATCH_LEVEL: a request in flight that made no progress
 * for WatchdogSeconds goes to the error log (once per request). */
static VOID BmTimer(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)Context;
	LONG progress = ext->Progress;

	if (ext->Irp == NULL || progress != ext->SeenProgress) {
		ext->SeenProgress = progress;
		ext->StuckSeconds = 0;
		ext->StuckLogged = FALSE;
		return;
	}
	if (++ext->StuckSeconds >= BmWatchdogSeconds && !ext->StuckLogged) {
		ext->StuckLogged = TRUE;
		BmLog(DeviceObject, BM_LOG_STUCK, 2, ext->Done);
	}
}

/* --- PnP ---------------------------------------------------------------------------- */

static NTSTATUS BmStartDevice(PBM_EXTENSION ext, PCM_RESOURCE_LIST translated)
{
	PCM_PARTIAL_RESOURCE_LIST list;
	DEVICE_DESCRIPTION desc;
	PHYSICAL_ADDRESS regsStart = {{0, 0}};
	ULONG regsLength = 0, vector = 0, level = 0, caps, addressBits, i;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	BOOLEAN shared = FALSE, haveInterrupt = FALSE;
	IO_CONNECT_INTERRUPT_PARAMETERS connect;
	PVOID connectContext = NULL;
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
	if (BmRead(ext, BM_REG_ID) != BM_ID_VALUE) {
		status = STATUS_NO_SUCH_DEVICE;
		goto fail_unmap;
	}
	BmWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	caps = BmRead(ext, BM_REG_CAPS);
	ext->MaxSg = caps & 0xFF;
	if (ext->MaxSg == 0 || ext->MaxSg > BM_MAX_SG)
		ext->MaxSg = 1;
	addressBits = (caps >> 8) & 0xFF;
	ext->Capacity =
	    ((ULONGLONG)BmRead(ext, BM_REG_CAPACITY_HI) << 32 | BmRead(ext, BM_REG_CAPACITY_LO)) *
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

	/* Messages if the device was given any, else the line (Version says which). */
	RtlZeroMemory(&connect, sizeof(connect));
	connect.Version = CONNECT_MESSAGE_BASED;
	connect.MessageBased.PhysicalDeviceObject = ext->Pdo;
	connect.MessageBased.ConnectionContext.Generic = &connectContext;
	connect.MessageBased.MessageServiceRoutine = BmMessageIsr;
	connect.MessageBased.ServiceContext = ext;
	connect.MessageBased.FallBackServiceRoutine = BmIsr;
	status = IoConnectInterruptEx(&connect);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	ext->ConnectVersion = connect.Version;
	if (connect.Version == CONNECT_MESSAGE_BASED)
		ext->MessageTable = (PIO_INTERRUPT_MESSAGE_INFO)connectContext;
	else
		ext->Interrupt = (PKINTERRUPT)connectContext;
	UNREFERENCED_PARAMETER(vector);
	UNREFERENCED_PARAMETER(level);
	UNREFERENCED_PARAMETER(affinity);
	UNREFERENCED_PARAMETER(mode);
	UNREFERENCED_PARAMETER(shared);
	BmWrite(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	BmWrite(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
	ext->Started = TRUE;
	IoStartTimer(ext->Self);
	BmLog(ext->Self, BM_LOG_STARTED, 1, ext->MaxTransferSectors);
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
static VOID BmStopDevice(PBM_EXTENSION ext)
{
	PDMA_ADAPTER ad = ext->DmaAdapter;
	IO_DISCONNECT_INTERRUPT_PARAMETERS disconnect;
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
	IoStopTimer(ext->Self);
	KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
	BmWrite(ext, BM_REG_INT_MASK, 0);
	BmWrite(ext, BM_REG_CTRL, BM_CTRL_RESET);
	InterlockedExchange(&ext->InterruptStatus, 0);
	if (ext->Irp != NULL) {
		/* A request was still in flight: abort it and release what it holds. */
		if (ext->OpMapped)
			BmFlushOperation(ext);
		ext->OpMapped = FALSE;
		BmFinishRequest(ext, STATUS_DEVICE_REMOVED);
	}
	KeLowerIrql(oldIrql);

	RtlZeroMemory(&disconnect, sizeof(disconnect));
	disconnect.Version = ext->ConnectVersion;
	if (ext->ConnectVersion == CONNECT_MESSAGE_BASED)
		disconnect.ConnectionContext.InterruptMessageTable = ext->MessageTable;
	else
		disconnect.ConnectionContext.InterruptObject = ext->Interrupt;
	IoDisconnectInterruptEx(&disconnect);
	ext->Interrupt = NULL;
	ext->MessageTable = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	ad->DmaOperations->PutDmaAdapter(ad);
	ext->DmaAdapter = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS BmPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);

	if (!NT_SUCCESS(status))
		return BmCompleteIrp(Irp, status, 0);
	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = BmStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		BmCompleteIrp(Irp, status, 0);
		IoReleaseRemoveLock(&ext->RemoveLock, Irp);
		return status;

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		BmStopDevice(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		/* Waits until every IRP that holds the lock has released it. */
		IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
		BmStopDevice(ext);
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
	status = IoCallDriver(lower, Irp);
	IoReleaseRemoveLock(&ext->RemoveLock, Irp);
	return status;
}

static NTSTATUS BmPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);

	PoStartNextPowerIrp(Irp);
	if (!NT_SUCCESS(status))
		return BmCompleteIrp(Irp, status, 0);
	IoSkipCurrentIrpStackLocation(Irp);
	status = PoCallDriver(ext->LowerDevice, Irp);
	IoReleaseRemoveLock(&ext->RemoveLock, Irp);
	return status;
}
