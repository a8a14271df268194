/*
 * pio.c -- WDM function driver for the pio device: programmed I/O into direct-I/O buffers.
 *
 * The device has a backing store and one data port; the processor moves every byte (wdm-dma-spec
 * 5.5).  Requests are serialised by StartIo:
 *   read   StartIo writes OFFSET, LENGTH and READ; after the command latency the device raises
 *          DRDY.  The DpcForIsr maps the caller's buffer with MmGetSystemAddressForMdlSafe
 *          (P2: NULL fails the request), reads the data port into it (dword string reads for
 *          the aligned middle, bytes at the edges), then KeFlushIoBuffers(mdl, TRUE, FALSE) --
 *          the CPU filled the buffer through its data cache (P1) -- and completes.
 *   write  StartIo writes OFFSET, LENGTH and WRITE, waits for DRDY (the device is ready at
 *          once), writes the caller's buffer to the data port; the device commits the bytes
 *          after its latency and interrupts (DONE), and the DpcForIsr completes.  P3: no flush
 *          is owed for a PIO write; the CPU reads the buffer through its own cache.
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>): C06, A07 -- see the MISTAKE comments.
 *
 * pio registers (datasheet: docs/devices/pio.md), I/O ports from the base:
 *   +0x00 DATA (R/W, 1/2/4 bytes: the data stream; 0x00-0x03 are all the same register)
 *   +0x04 CMD (W) 1 READ, 2 WRITE, 3 ABORT     STATUS (R) 0x01 BUSY, 0x02 DRDY, 0x04 DONE,
 *                                                         0x08 ERR, 0x80 IRQ
 *   +0x05 ERROR (R)  +0x06 IACK (W: 1s clear causes 0x01 DRDY, 0x02 DONE, 0x04 ERR) / CAUSES (R)
 *   +0x07 CTRL (0x01 IEN)  +0x08 OFFSET (32 bits)  +0x0C LENGTH (32 bits)
 *   +0x10 REMAIN (R, 32 bits: bytes DATA still has to move)  +0x14 ID (16 bits) = 0x4F49
 * Registers other than DATA are byte-wide; a wider access reaches consecutive ones.  The device
 * has no size register: the driver sizes the store at start (a command past its end is
 * refused: REMAIN stays 0).
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("pio", "pio", "programmed I/O: port string reads into the MDL's system address");

#define PIO_REG_DATA 0x00
#define PIO_REG_CMD 0x04
#define PIO_REG_STATUS 0x04
#define PIO_REG_ERROR 0x05
#define PIO_REG_IACK 0x06
#define PIO_REG_CAUSES 0x06
#define PIO_REG_CTRL 0x07
#define PIO_REG_OFFSET 0x08
#define PIO_REG_LENGTH 0x0C
#define PIO_REG_REMAIN 0x10
#define PIO_REG_ID 0x14
#define PIO_PORT_COUNT 0x16 /* registers decoded (the device claims 32 ports) */

#define PIO_CMD_READ 0x01
#define PIO_CMD_WRITE 0x02
#define PIO_CMD_ABORT 0x03

#define PIO_ST_BUSY 0x01
#define PIO_ST_DRDY 0x02
#define PIO_ST_DONE 0x04
#define PIO_ST_ERR 0x08

#define PIO_INT_DRDY 0x01
#define PIO_INT_DONE 0x02
#define PIO_INT_ERR 0x04
#define PIO_INT_ALL (PIO_INT_DRDY | PIO_INT_DONE | PIO_INT_ERR)

#define PIO_CTRL_IEN 0x01
#define PIO_ID 0x4F49

/* Microseconds to wait for DRDY after WRITE (the device is ready at once). */
#define PIO_READY_POLLS 1000

typedef struct _PIO_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT LowerDevice;
	BOOLEAN Started;

	PUCHAR Registers;
	ULONG RegistersLength;
	BOOLEAN RegistersMapped;
	PKINTERRUPT InterruptObject;
	ULONGLONG Capacity;

	/* The request in progress */
	BOOLEAN Busy;
	BOOLEAN WriteToDevice;
	ULONG Length;
	volatile LONG Causes;
} PIO_EXTENSION, *PPIO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE PioAddDevice;
static DRIVER_UNLOAD PioUnload;
static DRIVER_STARTIO PioStartIo;
static KSERVICE_ROUTINE PioIsr;
static IO_DPC_ROUTINE PioDpcForIsr;
static DRIVER_DISPATCH PioCreateClose;
static DRIVER_DISPATCH PioReadWrite;
static DRIVER_DISPATCH PioDeviceControl;
static DRIVER_DISPATCH PioPnp;
static DRIVER_DISPATCH PioPower;

/* --- Register access: I/O ports, or the same registers mapped into memory space ---------- */

static UCHAR PioRead8(PPIO_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_UCHAR(ext->Registers + reg);
	return READ_PORT_UCHAR(ext->Registers + reg);
}

static USHORT PioRead16(PPIO_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_USHORT((volatile USHORT *)(ext->Registers + reg));
	return READ_PORT_USHORT((PUSHORT)(ext->Registers + reg));
}

static ULONG PioRead32(PPIO_EXTENSION ext, ULONG reg)
{
	if (ext->RegistersMapped)
		return READ_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg));
	return READ_PORT_ULONG((PULONG)(ext->Registers + reg));
}

static VOID PioWrite8(PPIO_EXTENSION ext, ULONG reg, UCHAR value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_UCHAR(ext->Registers + reg, value);
	else
		WRITE_PORT_UCHAR(ext->Registers + reg, value);
}

static VOID PioWrite32(PPIO_EXTENSION ext, ULONG reg, ULONG value)
{
	if (ext->RegistersMapped)
		WRITE_REGISTER_ULONG((volatile ULONG *)(ext->Registers + reg), value);
	else
		WRITE_PORT_ULONG((PULONG)(ext->Registers + reg), value);
}

/* Bytes to the edge of the next dword boundary, at most length. */
static ULONG PioHeadBytes(PUCHAR buffer, ULONG length)
{
	ULONG head = (ULONG)((4 - ((ULONG_PTR)buffer & 3)) & 3);

	return head < length ? head : length;
}

/* Reads length bytes of the data stream into buffer: bytes up to a dword boundary, dwords,
 * then the remaining bytes. */
static VOID PioReadData(PPIO_EXTENSION ext, PUCHAR buffer, ULONG length)
{
	PUCHAR port = ext->Registers + PIO_REG_DATA;
	ULONG head = PioHeadBytes(buffer, length);
	ULONG dwords = (length - head) / 4;
	ULONG tail = length - head - dwords * 4;

	if (ext->RegistersMapped) {
		if (head != 0)
			READ_REGISTER_BUFFER_UCHAR(port, buffer, head);
		if (dwords != 0)
			READ_REGISTER_BUFFER_ULONG((volatile ULONG *)port, (PULONG)(buffer + head),
			                           dwords);
		if (tail != 0)
			READ_REGISTER_BUFFER_UCHAR(port, buffer + head + dwords * 4, tail);
	} else {
		if (head != 0)
			READ_PORT_BUFFER_UCHAR(port, buffer, head);
		if (dwords != 0)
			READ_PORT_BUFFER_ULONG((PULONG)port, (PULONG)(buffer + head), dwords);
		if (tail != 0)
			READ_PORT_BUFFER_UCHAR(port, buffer + head + dwords * 4, tail);
	}
}

static VOID PioWriteData(PPIO_EXTENSION ext, PUCHAR buffer, ULONG length)
{
	PUCHAR port = ext->Registers + PIO_REG_DATA;
	ULONG head = PioHeadBytes(buffer, length);
	ULONG dwords = (length - head) / 4;
	ULONG tail = length - head - dwords * 4;

	if (ext->RegistersMapped) {
		if (head != 0)
			WRITE_REGISTER_BUFFER_UCHAR(port, buffer, head);
		if (dwords != 0)
			WRITE_REGISTER_BUFFER_ULONG((volatile ULONG *)port, (PULONG)(buffer + head),
			                            dwords);
		if (tail != 0)
			WRITE_REGISTER_BUFFER_UCHAR(port, buffer + head + dwords * 4, tail);
	} else {
		if (head != 0)
			WRITE_PORT_BUFFER_UCHAR(port, buffer, head);
		if (dwords != 0)
			WRITE_PORT_BUFFER_ULONG((PULONG)port, (PULONG)(buffer + head), dwords);
		if (tail != 0)
			WRITE_PORT_BUFFER_UCHAR(port, buffer + head + dwords * 4, tail);
	}
}

/* --- DriverEntry, AddDevice, Unload ------------------------------------------------------- */

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = PioAddDevice;
	DriverObject->DriverUnload = PioUnload;
	DriverObject->DriverStartIo = PioStartIo;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = PioCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = PioCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = PioReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = PioReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = PioDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = PioPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = PioPower;
	return STATUS_SUCCESS;
}

static VOID PioUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS PioAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PPIO_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(PIO_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PPIO_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS PioCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS PioCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return PioCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* --- Read and write ------------------------------------------------------------------------ */

static NTSTATUS PioReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
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
		return PioCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	/* 5.5 step 1: a zero-length request has no MDL and nothing to move. */
	if (length == 0)
		return PioCompleteNow(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (ULONGLONG)offset > ext->Capacity ||
	    length > ext->Capacity - (ULONGLONG)offset || Irp->MdlAddress == NULL ||
	    MmGetMdlByteCount(Irp->MdlAddress) < length)
		return PioCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);

	IoMarkIrpPending(Irp);
	IoStartPacket(DeviceObject, Irp, NULL, NULL);
	return STATUS_PENDING;
}

static VOID PioCompleteCurrent(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;

	ext->Busy = FALSE;
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = NT_SUCCESS(status) ? ext->Length : 0;
	IoStartNextPacket(DeviceObject, FALSE);
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* Stops the device's command and fails the request. */
static VOID PioFail(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS status)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;

	PioWrite8(ext, PIO_REG_CMD, PIO_CMD_ABORT);
	PioCompleteCurrent(DeviceObject, Irp, status);
}

/* The caller's buffer as the CPU may touch it. */
static PUCHAR PioBufferAddress(PIRP Irp)
{
#ifdef DMACOH_BUG_A07
	/* MISTAKE (A07): copies through MmGetMdlVirtualAddress, the requester's user-mode address.
	 * It is only an index into the MDL: in an arbitrary thread (StartIo, the DPC) it belongs
	 * to whatever process runs, and dereferencing it reads or writes the wrong memory or
	 * faults at DISPATCH_LEVEL. */
	return (PUCHAR)MmGetMdlVirtualAddress(Irp->MdlAddress);
#else
	/* P2: the system address of the locked pages; NULL when mappings run short. */
	return (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress,
	                                            NormalPagePriority | MdlMappingNoExecute);
#endif
}

static VOID PioStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	LONGLONG offset;
	PUCHAR buffer;
	UCHAR status = 0;
	ULONG i;

	ext->WriteToDevice = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	if (ext->WriteToDevice) {
		ext->Length = stack->Parameters.Write.Length;
		offset = stack->Parameters.Write.ByteOffset.QuadPart;
	} else {
		ext->Length = stack->Parameters.Read.Length;
		offset = stack->Parameters.Read.ByteOffset.QuadPart;
	}
	InterlockedExchange(&ext->Causes, 0);
	ext->Busy = TRUE;

	PioWrite32(ext, PIO_REG_OFFSET, (ULONG)offset);
	PioWrite32(ext, PIO_REG_LENGTH, ext->Length);
	if (!ext->WriteToDevice) {
		/* The data is there after the command latency: DRDY interrupts. */
		PioWrite8(ext, PIO_REG_CMD, PIO_CMD_READ);
		return;
	}

	PioWrite8(ext, PIO_REG_CMD, PIO_CMD_WRITE);
	for (i = 0; i < PIO_READY_POLLS; i++) {
		status = PioRead8(ext, PIO_REG_STATUS);
		if (status & (PIO_ST_DRDY | PIO_ST_ERR))
			break;
		KeStallExecutionProcessor(1);
	}
	if (!(status & PIO_ST_DRDY)) {
		PioFail(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
		return;
	}
	buffer = PioBufferAddress(Irp);
	if (buffer == NULL) {
		PioFail(DeviceObject, Irp, STATUS_INSUFFICIENT_RESOURCES);
		return;
	}
	PioWriteData(ext, buffer, ext->Length);
	/* The device commits the bytes after its latency and interrupts (DONE or ERR). */
}

static BOOLEAN PioIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)ServiceContext;
	UCHAR causes;

	UNREFERENCED_PARAMETER(Interrupt);
	causes = PioRead8(ext, PIO_REG_CAUSES) & PIO_INT_ALL;
	if (causes == 0)
		return FALSE; /* not ours */
	PioWrite8(ext, PIO_REG_IACK, causes);
	InterlockedOr(&ext->Causes, causes);
	IoRequestDpc(ext->Self, ext->Self->CurrentIrp, NULL);
	return TRUE;
}

static VOID PioDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	LONG causes = InterlockedExchange(&ext->Causes, 0);
	PUCHAR buffer;
	UCHAR status;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Context);
	Irp = DeviceObject->CurrentIrp;
	if (Irp == NULL || !ext->Busy || causes == 0)
		return;

	if (causes & PIO_INT_ERR) {
		PioFail(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
		return;
	}
	if (ext->WriteToDevice) {
		if (causes & PIO_INT_DONE)
			PioCompleteCurrent(DeviceObject, Irp, STATUS_SUCCESS);
		return;
	}
	if (!(causes & PIO_INT_DRDY))
		return;

	/* 5.5: map, read the device into the buffer, flush, complete. */
	buffer = PioBufferAddress(Irp);
	if (buffer == NULL) {
		PioFail(DeviceObject, Irp, STATUS_INSUFFICIENT_RESOURCES);
		return;
	}
	PioReadData(ext, buffer, ext->Length);
#ifdef DMACOH_BUG_C06
	/* MISTAKE (C06): no flush after the PIO read.  The CPU stored the data through its data
	 * cache; on a non-coherent platform memory (and any agent reading it: a DMA engine, an
	 * instruction fetch) still holds the old bytes. */
#else
	/* P1: once, after the whole sequence of reads. */
	KeFlushIoBuffers(Irp->MdlAddress, TRUE, FALSE);
#endif
	status = PioRead8(ext, PIO_REG_STATUS);
	if ((status & (PIO_ST_DONE | PIO_ST_ERR)) != PIO_ST_DONE ||
	    PioRead32(ext, PIO_REG_REMAIN) != 0) {
		PioFail(DeviceObject, Irp, STATUS_IO_DEVICE_ERROR);
		return;
	}
	PioCompleteCurrent(DeviceObject, Irp, STATUS_SUCCESS);
}

/* --- Device control ------------------------------------------------------------------------ */

static NTSTATUS PioDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONGLONG capacity;

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return PioCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return PioCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		capacity = ext->Capacity;
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
		return PioCompleteNow(Irp, STATUS_SUCCESS, sizeof(capacity));
	default:
		return PioCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- Start and stop ------------------------------------------------------------------------ */

/* Is there a byte at offset?  The device accepts a one-byte READ there (REMAIN becomes 1 at
 * once) or refuses it (REMAIN stays 0); ABORT drops the command either way, before the
 * latency runs out, so nothing interrupts. */
static BOOLEAN PioByteExists(PPIO_EXTENSION ext, ULONG offset)
{
	ULONG remain;

	PioWrite32(ext, PIO_REG_OFFSET, offset);
	PioWrite32(ext, PIO_REG_LENGTH, 1);
	PioWrite8(ext, PIO_REG_CMD, PIO_CMD_READ);
	remain = PioRead32(ext, PIO_REG_REMAIN);
	PioWrite8(ext, PIO_REG_CMD, PIO_CMD_ABORT);
	return remain != 0;
}

/* The store's size in bytes: a binary search for its last byte (OFFSET is 32 bits). */
static ULONGLONG PioProbeCapacity(PPIO_EXTENSION ext)
{
	ULONGLONG present = 0, absent = 0x100000000ULL, mid;

	if (!PioByteExists(ext, 0))
		return 0;
	while (absent - present > 1) {
		mid = present + (absent - present) / 2;
		if (PioByteExists(ext, (ULONG)mid))
			present = mid;
		else
			absent = mid;
	}
	return present + 1;
}

static VOID PioReleaseHardware(PPIO_EXTENSION ext)
{
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		PioWrite8(ext, PIO_REG_CTRL, 0);
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
	}
	if (ext->RegistersMapped && ext->Registers != NULL)
		MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	ext->RegistersMapped = FALSE;
}

static NTSTATUS PioStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST translated)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)fdo->DeviceExtension;
	PHYSICAL_ADDRESS registersPa;
	BOOLEAN haveRegisters = FALSE, registersInMemory = FALSE, haveInterrupt = FALSE,
	        shareVector = FALSE;
	ULONG vector = 0, i, j;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	NTSTATUS status;

	registersPa.QuadPart = 0;
	if (translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (i = 0; i < translated->Count; i++) {
		PCM_PARTIAL_RESOURCE_LIST partial = &translated->List[i].PartialResourceList;

		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];

			switch (d->Type) {
			case CmResourceTypePort:
				registersPa = d->u.Port.Start;
				ext->RegistersLength = d->u.Port.Length;
				registersInMemory = (d->Flags & CM_RESOURCE_PORT_IO) == 0;
				haveRegisters = TRUE;
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
			default:
				break;
			}
		}
	}
	if (!haveRegisters || !haveInterrupt || ext->RegistersLength < PIO_PORT_COUNT)
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
	if (PioRead16(ext, PIO_REG_ID) != PIO_ID) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	PioWrite8(ext, PIO_REG_CTRL, 0);
	ext->Capacity = PioProbeCapacity(ext);
	PioWrite8(ext, PIO_REG_IACK, PIO_INT_ALL);
	if (ext->Capacity == 0) {
		status = STATUS_DEVICE_CONFIGURATION_ERROR;
		goto fail;
	}

	IoInitializeDpcRequest(fdo, PioDpcForIsr);
	status = IoConnectInterrupt(&ext->InterruptObject, PioIsr, ext, NULL, vector, irql, irql,
	                            mode, shareVector, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}
	PioWrite8(ext, PIO_REG_CTRL, PIO_CTRL_IEN);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	PioReleaseHardware(ext);
	return status;
}

static NTSTATUS PioPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;
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
			status = PioStartDevice(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return PioCompleteNow(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		PioReleaseHardware(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		PioReleaseHardware(ext);
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

static NTSTATUS PioPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PPIO_EXTENSION ext = (PPIO_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
