/*
 * floppy.c -- WDM function driver for the PC floppy disk controller (Intel 82077AA at 0x3F0,
 * IRQ 6, system DMA channel 2) and the 3.5" disk in its drive 0.
 *
 * The design is the one of the Windows floppy driver (flpydisk): every request goes to ONE
 * system thread that owns the controller, because a floppy operation is a long conversation
 * with waits in the middle of it -- motor spin-up, head seeks, interrupts, the disk turning
 * -- and a thread at PASSIVE_LEVEL can simply wait for each step where a StartIo/DPC design
 * would need a state machine.  The dispatch routines only check a request and queue it.
 *
 *   START_DEVICE   ports, interrupt (IoConnectInterrupt) and DMA channel from the translated
 *                  resources; IoGetDmaAdapter for a subordinate (slave) device on an 8-bit
 *                  channel in demand mode, not auto-initialize; the cancel-safe queue (IoCsq*);
 *                  PsCreateSystemThread, and the thread object (ObReferenceObjectByHandle)
 *                  so that stop and remove can wait for the thread to end.
 *   READ/WRITE     checked (sector multiples, DO_DIRECT_IO), queued (IoCsqInsertIrp marks the
 *                  IRP pending), the thread woken through a semaphore.
 *   thread         motor on and spin-up (KeDelayExecutionThread); after a reset SPECIFY and
 *                  RECALIBRATE; the disk-change line and the medium's type (READ ID at each
 *                  data rate); KeFlushIoBuffers once before the transfer (G1); then for each
 *                  piece -- at most the rest of one cylinder, the two tracks READ/WRITE DATA
 *                  covers with multi-track (MT) -- SEEK (SENSE INTERRUPT STATUS in the ISR),
 *                  IoAllocateAdapterChannel (AdapterControl sets an event, KeepObject: G8),
 *                  IoMapTransfer (programs the 8237 for exactly the piece, so its terminal
 *                  count ends the command), the command through the FIFO with the MSR
 *                  handshake, the interrupt (the ISR reads the result phase, the DPC sets an
 *                  event), IoFlushAdapterBuffers with the map's own arguments (G3; its result
 *                  is the transfer's: G6), IoFreeAdapterChannel (G7), the next piece.  Errors
 *                  the medium reports are retried (a recalibrate first); the request
 *                  completes with the bytes moved, or with an error status and 0 (G6).
 *                  The motor goes off after FLOPPY_MOTOR_IDLE of idleness.
 *   STOP/REMOVE    the thread is told to exit and waited for (its object), then the
 *                  interrupt is disconnected and the adapter put (G14).
 *
 * Buggy twins (built with -DDMACOH_BUG_<RULE>, one mistake each): C01, C07, C08, A01, A03,
 * A05, A10, S02 -- see the MISTAKE comments.  S02 shows only when requests are cancelled
 * while the thread takes the next one: `dmacoh run --driver floppy-bug-S02 --workload
 * cancel=2 --schedule pct` (tests/test_race_irp.c gives the seeds that catch it).
 *
 * 82077AA registers (docs/devices/fdc.md), byte-wide I/O ports from the base (0x3F0):
 *   +2 DOR (R/W)  1:0 drive select, 2 /RESET, 3 DMAGATE (INT and DRQ enable), 7:4 motors
 *   +4 MSR (R)    7 RQM, 6 DIO (1: controller -> CPU), 4 CB (command busy), 3:0 drive seeking
 *   +5 FIFO       command, parameter and result bytes
 *   +7 DIR (R)    7 DSKCHG (the door was opened)   CCR (W) 1:0 data rate
 * A command: first byte and parameters while MSR says RQM and not DIO; then the execution
 * phase (data by DMA); then result bytes while MSR says RQM and DIO.
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("floppy", "fdc",
              "system thread, packet-based system DMA (IoMapTransfer), track-sized transfers");

/* --- The controller ------------------------------------------------------------------------ */

#define FDC_REG_DOR 2
#define FDC_REG_MSR 4
#define FDC_REG_FIFO 5
#define FDC_REG_DIR 7 /* read: DIR; write: CCR */
#define FDC_PORT_COUNT 8

#define FDC_DOR_DRIVE0 0x00
#define FDC_DOR_NRESET 0x04
#define FDC_DOR_DMAGATE 0x08
#define FDC_DOR_MOTOR0 0x10

#define FDC_MSR_RQM 0x80
#define FDC_MSR_DIO 0x40
#define FDC_MSR_CB 0x10

#define FDC_DIR_DSKCHG 0x80

#define FDC_CMD_SPECIFY 0x03
#define FDC_CMD_WRITE_DATA 0x05
#define FDC_CMD_READ_DATA 0x06
#define FDC_CMD_RECALIBRATE 0x07
#define FDC_CMD_SENSE_INTERRUPT 0x08
#define FDC_CMD_READ_ID 0x0A
#define FDC_CMD_SEEK 0x0F
#define FDC_MT 0x80  /* multi-track: after the last sector of head 0, head 1 */
#define FDC_MFM 0x40 /* double density: every PC format */

#define FDC_ST0_IC_MASK 0xC0
#define FDC_ST0_IC_INVALID 0x80 /* SENSE INTERRUPT STATUS with nothing pending */
#define FDC_ST0_SE 0x20
#define FDC_ST0_NR 0x08
#define FDC_ST1_EN 0x80
#define FDC_ST1_DE 0x20
#define FDC_ST1_OR 0x10
#define FDC_ST1_ND 0x04
#define FDC_ST1_NW 0x02
#define FDC_ST1_MA 0x01
#define FDC_RESULT_BYTES 7 /* READ/WRITE DATA, READ ID: ST0 ST1 ST2 C H R N */

/* SPECIFY: step rate 3 ms (SRT 0xD at 500 kbps), head unload 240 ms (HUT 0xF), head load
 * 2 ms (HLT 1), DMA mode (ND 0). */
#define FDC_SPECIFY_1 0xDF
#define FDC_SPECIFY_2 0x02

#define FLOPPY_SECTOR 512
#define FLOPPY_HEADS 2
#define FLOPPY_CYLINDERS 80
#define FLOPPY_SECTOR_CODE 2 /* N: 128 << 2 = 512 bytes */
#define FLOPPY_MAX_SPT 18    /* 1.44 MB */
#define FLOPPY_MAX_CYL_BYTES (FLOPPY_HEADS * FLOPPY_MAX_SPT * FLOPPY_SECTOR)
#define FLOPPY_ATTEMPTS 3 /* per piece: the first try and two retries */
#define FLOPPY_HANDSHAKE_POLLS 1000

/* Times in 100 ns units (relative times are negative). */
#define MS_100NS 10000LL
#define FLOPPY_SPINUP (500 * MS_100NS)      /* motor on -> full speed */
#define FLOPPY_HEAD_SETTLE (15 * MS_100NS)  /* after a seek */
#define FLOPPY_MOTOR_IDLE (2000 * MS_100NS) /* idle -> motor off */
#define FLOPPY_INTERRUPT_TIMEOUT (4000 * MS_100NS)

/* The media the drive takes, tried in this order: the data rate finds them (READ ID succeeds
 * only at the rate the medium was written with). */
typedef struct _FLOPPY_MEDIA {
	UCHAR SectorsPerTrack;
	UCHAR DataRate; /* CCR: 0 = 500 kbps, 2 = 250 kbps */
	UCHAR Gap;      /* GPL of READ/WRITE DATA */
	ULONG Capacity;
} FLOPPY_MEDIA;

static const FLOPPY_MEDIA FloppyMediaTable[] = {
    {18, 0, 0x1B, FLOPPY_CYLINDERS *FLOPPY_HEADS * 18 * FLOPPY_SECTOR}, /* 1.44 MB */
    {9, 2, 0x2A, FLOPPY_CYLINDERS *FLOPPY_HEADS * 9 * FLOPPY_SECTOR},   /* 720 KB */
};
#define FLOPPY_MEDIA_TYPES (sizeof(FloppyMediaTable) / sizeof(FloppyMediaTable[0]))

typedef struct _FLOPPY_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT LowerDevice;
	volatile LONG Started; /* requests are accepted */

	/* Hardware resources */
	PUCHAR Ports;
	PKINTERRUPT InterruptObject;
	PDMA_ADAPTER Adapter; /* the same object as the legacy PADAPTER_OBJECT */
	ULONG MapRegisterCount;

	/* The queue: an IRP list behind a cancel-safe queue, a semaphore counting wake-ups */
	IO_CSQ Csq;
	LIST_ENTRY PendingIrps;
	KSPIN_LOCK QueueLock;
	KSEMAPHORE WorkSemaphore;

	/* The thread */
	PVOID ThreadObject;
	volatile LONG ThreadExit;

	/* ISR -> DPC -> thread */
	KEVENT InterruptEvent; /* set by the DPC after an interrupt */
	KEVENT AdapterEvent;   /* set by AdapterControl */
	UCHAR Result[10];      /* the result phase the ISR read */
	ULONG ResultLength;
	UCHAR SenseSt0; /* SENSE INTERRUPT STATUS for drive 0 (after a seek or recalibrate) */
	UCHAR SensePcn;
	BOOLEAN SenseValid;

	/* What the thread knows (only the thread touches these) */
	UCHAR Dor;
	BOOLEAN ControllerReady; /* reset, SPECIFY done */
	BOOLEAN Recalibrated;    /* the controller's cylinder matches the head */
	BOOLEAN MotorOn;
	UCHAR Cylinder; /* where the head is */
	const FLOPPY_MEDIA *Media;
	PVOID MapRegisterBase;
	BOOLEAN DmaFailed;    /* the last piece's IoFlushAdapterBuffers returned FALSE */
	BOOLEAN MediaChanged; /* the disk-change line was seen since the request began */
} FLOPPY_EXTENSION, *PFLOPPY_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE FloppyAddDevice;
static DRIVER_UNLOAD FloppyUnload;
static DRIVER_DISPATCH FloppyCreateClose;
static DRIVER_DISPATCH FloppyReadWrite;
static DRIVER_DISPATCH FloppyDeviceControl;
static DRIVER_DISPATCH FloppyPnp;
static DRIVER_DISPATCH FloppyPower;
static DRIVER_CONTROL FloppyAdapterControl;
static KSERVICE_ROUTINE FloppyIsr;
static IO_DPC_ROUTINE FloppyDpcForIsr;
static KSTART_ROUTINE FloppyThread;
static IO_CSQ_INSERT_IRP FloppyCsqInsert;
static IO_CSQ_REMOVE_IRP FloppyCsqRemove;
static IO_CSQ_PEEK_NEXT_IRP FloppyCsqPeekNext;
static IO_CSQ_ACQUIRE_LOCK FloppyCsqAcquireLock;
static IO_CSQ_RELEASE_LOCK FloppyCsqReleaseLock;
static IO_CSQ_COMPLETE_CANCELED_IRP FloppyCsqCompleteCanceled;

/* --- DriverEntry, AddDevice, Unload ------------------------------------------------------- */

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = FloppyAddDevice;
	DriverObject->DriverUnload = FloppyUnload;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = FloppyCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = FloppyCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = FloppyReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = FloppyReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = FloppyDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = FloppyPnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = FloppyPower;
	return STATUS_SUCCESS;
}

static VOID FloppyUnload(PDRIVER_OBJECT DriverObject)
{
	/* Every device object, and with it the thread, went away with IRP_MN_REMOVE_DEVICE. */
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS FloppyAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PFLOPPY_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(
	    DriverObject, sizeof(FLOPPY_EXTENSION), NULL, FILE_DEVICE_DISK,
	    FILE_REMOVABLE_MEDIA | FILE_FLOPPY_DISKETTE | FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PFLOPPY_EXTENSION)fdo->DeviceExtension;
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

static NTSTATUS FloppyCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS FloppyCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return FloppyCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* --- The cancel-safe queue ------------------------------------------------------------------ */

static VOID FloppyCsqInsert(PIO_CSQ Csq, PIRP Irp)
{
	PFLOPPY_EXTENSION ext = CONTAINING_RECORD(Csq, FLOPPY_EXTENSION, Csq);
	InsertTailList(&ext->PendingIrps, &Irp->Tail.Overlay.ListEntry);
}

static VOID FloppyCsqRemove(PIO_CSQ Csq, PIRP Irp)
{
	UNREFERENCED_PARAMETER(Csq);
	RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

static PIRP FloppyCsqPeekNext(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
	PFLOPPY_EXTENSION ext = CONTAINING_RECORD(Csq, FLOPPY_EXTENSION, Csq);
	PLIST_ENTRY next;

	UNREFERENCED_PARAMETER(PeekContext);
#ifdef DMACOH_BUG_S02
	/* MISTAKE (S02), as an open-source floppy driver has it: the IRP "after" Irp is taken
	 * from the ADDRESS of its list entry's Flink field, which is the entry itself, so the
	 * peek returns the IRP it was given.  Nothing shows until IoCsqRemoveNextIrp meets an
	 * IRP whose cancel is under way on another processor (its cancel routine already
	 * cleared) and asks for the next one: it gets the same IRP again, and comes back to it
	 * after the cancel path completed it. */
	if (Irp != NULL)
		return CONTAINING_RECORD(&Irp->Tail.Overlay.ListEntry.Flink, IRP,
		                         Tail.Overlay.ListEntry);
#endif
	next = Irp ? Irp->Tail.Overlay.ListEntry.Flink : ext->PendingIrps.Flink;
	if (next == &ext->PendingIrps)
		return NULL;
	return CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
}

static VOID FloppyCsqAcquireLock(PIO_CSQ Csq, PKIRQL Irql)
{
	PFLOPPY_EXTENSION ext = CONTAINING_RECORD(Csq, FLOPPY_EXTENSION, Csq);
	KeAcquireSpinLock(&ext->QueueLock, Irql);
}

static VOID FloppyCsqReleaseLock(PIO_CSQ Csq, KIRQL Irql)
{
	PFLOPPY_EXTENSION ext = CONTAINING_RECORD(Csq, FLOPPY_EXTENSION, Csq);
	KeReleaseSpinLock(&ext->QueueLock, Irql);
}

static VOID FloppyCsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp)
{
	UNREFERENCED_PARAMETER(Csq);
	FloppyCompleteNow(Irp, STATUS_CANCELLED, 0);
}

/* Hands a checked request to the thread. */
static NTSTATUS FloppyQueue(PFLOPPY_EXTENSION ext, PIRP Irp)
{
#ifdef DMACOH_BUG_A10
	/* MISTAKE (A10): Information is filled in with the length asked for when the request is
	 * queued, and the thread only ever changes Status: a request that fails claims it moved
	 * every byte, and a caller that trusts Information uses data that never arrived. */
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	if (stack->MajorFunction == IRP_MJ_READ || stack->MajorFunction == IRP_MJ_WRITE)
		Irp->IoStatus.Information = stack->Parameters.Read.Length;
#endif
	/* IoCsqInsertIrp marks the IRP pending and makes it cancellable while it waits. */
	IoCsqInsertIrp(&ext->Csq, Irp, NULL);
	KeReleaseSemaphore(&ext->WorkSemaphore, IO_NO_INCREMENT, 1, FALSE);
	return STATUS_PENDING;
}

/* --- Read, write, device control ------------------------------------------------------------- */

static NTSTATUS FloppyReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)DeviceObject->DeviceExtension;
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
		return FloppyCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return FloppyCompleteNow(Irp, STATUS_SUCCESS, 0);
	/* Whole sectors.  Whether the range is inside the medium only the thread can tell: the
	 * medium in the drive may change at any time, and its type is found by asking it. */
	if (offset < 0 || offset % FLOPPY_SECTOR != 0 || length % FLOPPY_SECTOR != 0 ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return FloppyCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);
	return FloppyQueue(ext, Irp);
}

static NTSTATUS FloppyDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (!ext->Started)
			return FloppyCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
		if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONGLONG))
			return FloppyCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		/* The capacity is the medium's: the thread finds out which one is in. */
		return FloppyQueue(ext, Irp);
	default:
		return FloppyCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- Talking to the controller ------------------------------------------------------------- */

static UCHAR FloppyRead(PFLOPPY_EXTENSION ext, ULONG reg)
{
	return READ_PORT_UCHAR(ext->Ports + reg);
}

static VOID FloppyWrite(PFLOPPY_EXTENSION ext, ULONG reg, UCHAR value)
{
	WRITE_PORT_UCHAR(ext->Ports + reg, value);
}

/* Waits until the FIFO is the host's in the given direction (MSR RQM, and DIO as asked).
 * FALSE if the controller does not get there. */
static BOOLEAN FloppyHandshake(PFLOPPY_EXTENSION ext, UCHAR dio)
{
	ULONG i;
	UCHAR msr;

	for (i = 0; i < FLOPPY_HANDSHAKE_POLLS; i++) {
		msr = FloppyRead(ext, FDC_REG_MSR);
		if ((msr & (FDC_MSR_RQM | FDC_MSR_DIO)) == (FDC_MSR_RQM | dio))
			return TRUE;
		KeStallExecutionProcessor(1);
	}
	return FALSE;
}

/* Writes a command's bytes, each when MSR says the controller takes one. */
static NTSTATUS FloppySendCommand(PFLOPPY_EXTENSION ext, const UCHAR *bytes, ULONG count)
{
	ULONG i;

	for (i = 0; i < count; i++) {
		if (!FloppyHandshake(ext, 0)) {
			ext->ControllerReady = FALSE; /* out of step: reset it */
			return STATUS_DEVICE_NOT_READY;
		}
		FloppyWrite(ext, FDC_REG_FIFO, bytes[i]);
	}
	return STATUS_SUCCESS;
}

/* Waits for the interrupt that ends a command (its result or SENSE INTERRUPT STATUS already
 * read by the ISR). */
static NTSTATUS FloppyWaitInterrupt(PFLOPPY_EXTENSION ext)
{
	LARGE_INTEGER timeout;
	NTSTATUS status;

	timeout.QuadPart = -FLOPPY_INTERRUPT_TIMEOUT;
	status =
	    KeWaitForSingleObject(&ext->InterruptEvent, Executive, KernelMode, FALSE, &timeout);
	if (status == STATUS_TIMEOUT) {
		ext->ControllerReady = FALSE;
		return STATUS_IO_TIMEOUT;
	}
	return STATUS_SUCCESS;
}

/* A command that ends with an interrupt: sent, then waited for. */
static NTSTATUS FloppyCommandAndWait(PFLOPPY_EXTENSION ext, const UCHAR *bytes, ULONG count)
{
	NTSTATUS status;

	KeClearEvent(&ext->InterruptEvent);
	ext->ResultLength = 0;
	ext->SenseValid = FALSE;
	status = FloppySendCommand(ext, bytes, count);
	if (NT_SUCCESS(status))
		status = FloppyWaitInterrupt(ext);
	return status;
}

static VOID FloppyDelay(LONGLONG hundredNs)
{
	LARGE_INTEGER interval;

	interval.QuadPart = -hundredNs;
	KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

static VOID FloppyMotorOn(PFLOPPY_EXTENSION ext)
{
	if (ext->MotorOn)
		return;
	ext->Dor |= FDC_DOR_MOTOR0;
	FloppyWrite(ext, FDC_REG_DOR, ext->Dor);
	ext->MotorOn = TRUE;
	/* The controller would wait for the disk itself; waiting here keeps the spin-up out of
	 * every command's timeout. */
	FloppyDelay(FLOPPY_SPINUP);
}

static VOID FloppyMotorOff(PFLOPPY_EXTENSION ext)
{
	if (!ext->MotorOn)
		return;
	ext->Dor &= (UCHAR)~FDC_DOR_MOTOR0;
	FloppyWrite(ext, FDC_REG_DOR, ext->Dor);
	ext->MotorOn = FALSE;
}

/* Controller reset: DOR /RESET low then high; the reset interrupt (the ISR collects the four
 * polling SENSE INTERRUPT STATUS results); SPECIFY.  The data rate is set per medium. */
static NTSTATUS FloppyResetController(PFLOPPY_EXTENSION ext)
{
	static const UCHAR specify[3] = {FDC_CMD_SPECIFY, FDC_SPECIFY_1, FDC_SPECIFY_2};
	NTSTATUS status;

	KeClearEvent(&ext->InterruptEvent);
	FloppyWrite(ext, FDC_REG_DOR, 0);
	KeStallExecutionProcessor(10);
	ext->Dor =
	    FDC_DOR_NRESET | FDC_DOR_DMAGATE | FDC_DOR_DRIVE0 | (ext->MotorOn ? FDC_DOR_MOTOR0 : 0);
	FloppyWrite(ext, FDC_REG_DOR, ext->Dor);
	status = FloppyWaitInterrupt(ext);
	if (!NT_SUCCESS(status))
		return status;
	status = FloppySendCommand(ext, specify, sizeof(specify));
	if (!NT_SUCCESS(status))
		return status;
	ext->ControllerReady = TRUE;
	ext->Recalibrated = FALSE; /* the reset cleared the controller's cylinder numbers */
	if (ext->Media != NULL)
		FloppyWrite(ext, FDC_REG_DIR, ext->Media->DataRate);
	return STATUS_SUCCESS;
}

/* RECALIBRATE: the head out to track 0.  A head beyond track 79 needs a second one. */
static NTSTATUS FloppyRecalibrate(PFLOPPY_EXTENSION ext)
{
	static const UCHAR recalibrate[2] = {FDC_CMD_RECALIBRATE, 0};
	NTSTATUS status = STATUS_SUCCESS;
	ULONG i;

	for (i = 0; i < 2; i++) {
		status = FloppyCommandAndWait(ext, recalibrate, sizeof(recalibrate));
		if (!NT_SUCCESS(status))
			return status;
		if (ext->SenseValid && (ext->SenseSt0 & FDC_ST0_SE) &&
		    (ext->SenseSt0 & FDC_ST0_IC_MASK) == 0 && ext->SensePcn == 0) {
			ext->Cylinder = 0;
			ext->Recalibrated = TRUE;
			return STATUS_SUCCESS;
		}
	}
	return STATUS_DEVICE_DATA_ERROR;
}

/* SEEK to a cylinder (head 0's side is as good as any: both heads move together), then
 * the head settles. */
static NTSTATUS FloppySeek(PFLOPPY_EXTENSION ext, UCHAR cylinder)
{
	UCHAR seek[3];
	NTSTATUS status;

	if (ext->Cylinder == cylinder)
		return STATUS_SUCCESS;
	seek[0] = FDC_CMD_SEEK;
	seek[1] = 0;
	seek[2] = cylinder;
	status = FloppyCommandAndWait(ext, seek, sizeof(seek));
	if (!NT_SUCCESS(status))
		return status;
	if (!ext->SenseValid || !(ext->SenseSt0 & FDC_ST0_SE) ||
	    (ext->SenseSt0 & FDC_ST0_IC_MASK) != 0 || ext->SensePcn != cylinder) {
		ext->Recalibrated = FALSE;
		return STATUS_DEVICE_DATA_ERROR;
	}
	ext->Cylinder = cylinder;
	FloppyDelay(FLOPPY_HEAD_SETTLE);
	return STATUS_SUCCESS;
}

/* The status a failed READ/WRITE DATA or READ ID stands for. */
static NTSTATUS FloppyResultStatus(PFLOPPY_EXTENSION ext)
{
	UCHAR st0, st1;

	if (ext->ResultLength < FDC_RESULT_BYTES) {
		ext->ControllerReady = FALSE; /* out of step with the controller: reset it */
		return STATUS_DEVICE_PROTOCOL_ERROR;
	}
	st0 = ext->Result[0];
	st1 = ext->Result[1];
	if ((st0 & FDC_ST0_IC_MASK) == 0)
		return STATUS_SUCCESS;
	if (st0 & FDC_ST0_NR)
		return STATUS_NO_MEDIA_IN_DEVICE;
	if (st1 & FDC_ST1_NW)
		return STATUS_MEDIA_WRITE_PROTECTED;
	if (st1 & FDC_ST1_DE)
		return STATUS_CRC_ERROR;
	if (st1 & FDC_ST1_OR)
		return STATUS_DATA_OVERRUN;
	if (st1 & (FDC_ST1_ND | FDC_ST1_MA))
		return STATUS_NONEXISTENT_SECTOR;
	return STATUS_DEVICE_DATA_ERROR; /* EN, a wrong cylinder, an invalid command */
}

/* Errors a second try may cure (the medium, the head's position); the others are final. */
static BOOLEAN FloppyRetryable(NTSTATUS status)
{
	return status == STATUS_CRC_ERROR || status == STATUS_DATA_OVERRUN ||
	       status == STATUS_NONEXISTENT_SECTOR || status == STATUS_DEVICE_DATA_ERROR ||
	       status == STATUS_IO_TIMEOUT || status == STATUS_DEVICE_PROTOCOL_ERROR ||
	       status == STATUS_DEVICE_NOT_READY;
}

/* The controller reset, the motor on, the head recalibrated, the medium known. */
static NTSTATUS FloppyPrepare(PFLOPPY_EXTENSION ext)
{
	static const UCHAR readId[2] = {FDC_CMD_READ_ID | FDC_MFM, 0};
	NTSTATUS status;
	ULONG i;

	if (!ext->ControllerReady) {
		status = FloppyResetController(ext);
		if (!NT_SUCCESS(status))
			return status;
	}
	FloppyMotorOn(ext);
	if (!ext->Recalibrated) {
		status = FloppyRecalibrate(ext);
		if (!NT_SUCCESS(status))
			return status;
	}

	/* The disk-change line: the door was opened since the last step pulse.  Step pulses
	 * with a disk in reset it; if it stays active the drive is empty. */
	if (FloppyRead(ext, FDC_REG_DIR) & FDC_DIR_DSKCHG) {
		ext->Media = NULL;
		ext->MediaChanged = TRUE;
		status = FloppySeek(ext, 1);
		if (NT_SUCCESS(status))
			status = FloppySeek(ext, 0);
		if (!NT_SUCCESS(status))
			return status;
		if (FloppyRead(ext, FDC_REG_DIR) & FDC_DIR_DSKCHG)
			return STATUS_NO_MEDIA_IN_DEVICE;
	}
	if (ext->Media != NULL)
		return STATUS_SUCCESS;

	/* Which medium: READ ID finds an ID only at the data rate it was written with. */
	for (i = 0; i < FLOPPY_MEDIA_TYPES; i++) {
		FloppyWrite(ext, FDC_REG_DIR, FloppyMediaTable[i].DataRate);
		status = FloppyCommandAndWait(ext, readId, sizeof(readId));
		if (!NT_SUCCESS(status))
			return status;
		status = FloppyResultStatus(ext);
		if (NT_SUCCESS(status)) {
			ext->Media = &FloppyMediaTable[i];
			return STATUS_SUCCESS;
		}
		if (status == STATUS_NO_MEDIA_IN_DEVICE)
			return status;
	}
	return STATUS_UNRECOGNIZED_MEDIA;
}

/* --- DMA: one piece ------------------------------------------------------------------------ */

static IO_ALLOCATION_ACTION FloppyAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID MapRegisterBase, PVOID Context)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)Context;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	/* G8: at DISPATCH_LEVEL, no waiting: keep the base, wake the thread, keep the channel. */
	ext->MapRegisterBase = MapRegisterBase;
	KeSetEvent(&ext->AdapterEvent, IO_NO_INCREMENT, FALSE);
	return KeepObject;
}

/* One READ or WRITE DATA of `length` bytes (whole sectors of one cylinder) from sector
 * (cylinder, head, sector) to or from the buffer at `currentVa` (an index into the MDL,
 * never dereferenced: G11).  *moved: the bytes moved, when it succeeds. */
static NTSTATUS FloppyPiece(PFLOPPY_EXTENSION ext, PMDL mdl, PUCHAR startVa, PUCHAR currentVa,
                            ULONG length, BOOLEAN write, UCHAR cylinder, UCHAR head, UCHAR sector,
                            PULONG moved)
{
	UCHAR command[9];
	ULONG registers = ADDRESS_AND_SIZE_TO_SPAN_PAGES(currentVa, length);
	ULONG mapped = length;
	KIRQL irql;
	NTSTATUS status;
	BOOLEAN flushed;

	UNREFERENCED_PARAMETER(startVa);
	ext->DmaFailed = FALSE;
#ifdef DMACOH_BUG_A03
	/* MISTAKE (A03): the registers are counted from the length alone, as if the piece started
	 * on a page boundary; a piece that starts inside a page spans one page more than it was
	 * given, and its MapTransfer overruns the map registers. */
	registers = BYTES_TO_PAGES(length);
#endif

	/* The adapter channel (the 8237 channel and the map registers) for this piece.
	 * IoAllocateAdapterChannel runs at DISPATCH_LEVEL; AdapterControl may run inside it or
	 * later, and tells the thread by the event. */
	KeClearEvent(&ext->AdapterEvent);
	KeRaiseIrql(DISPATCH_LEVEL, &irql);
	status =
	    IoAllocateAdapterChannel(ext->Adapter, ext->Self, registers, FloppyAdapterControl, ext);
	KeLowerIrql(irql);
	if (!NT_SUCCESS(status))
		return status;
	KeWaitForSingleObject(&ext->AdapterEvent, Executive, KernelMode, FALSE, NULL);

	/* Programs the channel for exactly the piece: its terminal count is what ends the
	 * command after the last sector (the command's EOT is the end of the track).  For
	 * system DMA the returned address means nothing. */
	(void)IoMapTransfer(ext->Adapter, mdl, ext->MapRegisterBase, currentVa, &mapped, write);

	command[0] = (write ? FDC_CMD_WRITE_DATA : FDC_CMD_READ_DATA) | FDC_MT | FDC_MFM;
	command[1] = (UCHAR)(head << 2); /* drive 0 */
	command[2] = cylinder;
	command[3] = head;
	command[4] = sector;
	command[5] = FLOPPY_SECTOR_CODE;
	command[6] = ext->Media->SectorsPerTrack; /* EOT */
	command[7] = ext->Media->Gap;
	command[8] = 0xFF; /* DTL: unused with N != 0 */
	/* A mapping that is not whole sectors could not end the command at a sector's end. */
	status = mapped != 0 && mapped % FLOPPY_SECTOR == 0
	             ? FloppyCommandAndWait(ext, command, sizeof(command))
	             : STATUS_DEVICE_DATA_ERROR;

	/* The end of the transfer, whatever happened to it.  FlushAdapterBuffers drains what the
	 * controller still holds and masks the channel (and, on a bounced read, copies the data
	 * into the caller's pages); its result says whether the DMA itself succeeded. */
#if defined(DMACOH_BUG_C07)
	/* MISTAKE (C07): the piece is taken as finished at the interrupt and never flushed:
	 * bytes still in the controller's buffer never reach memory, and a read that went
	 * through the map registers' bounce pages never reaches the caller's buffer. */
	UNREFERENCED_PARAMETER(mdl);
	flushed = TRUE;
#elif defined(DMACOH_BUG_A01)
	/* MISTAKE (A01): flushes from the start of the request's buffer, not from where this
	 * piece's IoMapTransfer started: right for the first piece, wrong for every later one
	 * (bounced read data is copied back over the wrong bytes). */
	flushed =
	    IoFlushAdapterBuffers(ext->Adapter, mdl, ext->MapRegisterBase, startVa, mapped, write);
#else
	/* G3: exactly the IoMapTransfer's Mdl, MapRegisterBase, CurrentVa, Length, direction. */
	flushed = IoFlushAdapterBuffers(ext->Adapter, mdl, ext->MapRegisterBase, currentVa, mapped,
	                                write);
#endif
	/* G7: the channel goes back right after the flush (IoFreeAdapterChannel: DISPATCH). */
	KeRaiseIrql(DISPATCH_LEVEL, &irql);
	IoFreeAdapterChannel(ext->Adapter);
	KeLowerIrql(irql);
	ext->MapRegisterBase = NULL;

#ifdef DMACOH_BUG_C08
	/* MISTAKE (C08): the flush's verdict is only logged; the controller's result bytes decide
	 * alone, and a transfer the DMA hardware failed is retried or even counted as moved. */
	if (!flushed)
		KdPrint(("floppy: IoFlushAdapterBuffers failed\n"));
#else
	/* G6: the DMA failed, so whatever the controller says, the data in memory (or on the
	 * disk) cannot be trusted.  Not retried: the hardware path itself is broken. */
	if (!flushed) {
		ext->DmaFailed = TRUE;
		return STATUS_DEVICE_DATA_ERROR;
	}
#endif
	if (!NT_SUCCESS(status))
		return status;
	status = FloppyResultStatus(ext);
	if (NT_SUCCESS(status))
		*moved = mapped;
	return status;
}

/* --- The thread's requests ------------------------------------------------------------------ */

/* A read or a write: split at cylinder boundaries (and at what the map registers cover),
 * each piece retried on the errors a floppy has. */
static NTSTATUS FloppyTransfer(PFLOPPY_EXTENSION ext, PIRP Irp, PULONG_PTR moved)
{
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	BOOLEAN write = (BOOLEAN)(stack->MajorFunction == IRP_MJ_WRITE);
	ULONG length = write ? stack->Parameters.Write.Length : stack->Parameters.Read.Length;
	ULONGLONG offset = (ULONGLONG)(write ? stack->Parameters.Write.ByteOffset.QuadPart
	                                     : stack->Parameters.Read.ByteOffset.QuadPart);
	PMDL mdl = Irp->MdlAddress;
	PUCHAR startVa = (PUCHAR)MmGetMdlVirtualAddress(mdl);
	PUCHAR currentVa = startVa;
	ULONG remaining = length, spt, lba, cylSectors, pieceLength, cap, done, attempt;
	UCHAR cylinder, head, sector;
	NTSTATUS status;

	*moved = 0;
	status = FloppyPrepare(ext);
	if (!NT_SUCCESS(status))
		return status;
	if (offset > ext->Media->Capacity || length > ext->Media->Capacity - offset)
		return STATUS_INVALID_PARAMETER;
	ext->MediaChanged = FALSE;
	spt = ext->Media->SectorsPerTrack;
	cylSectors = FLOPPY_HEADS * spt;
	lba = (ULONG)(offset / FLOPPY_SECTOR);

#ifdef DMACOH_BUG_C01
	/* MISTAKE (C01): the buffer is flushed only before reads, as if a write needed nothing;
	 * what the application just wrote may still sit in dirty cache lines, and the DMA
	 * controller reads stale memory. */
	if (!write)
		KeFlushIoBuffers(mdl, TRUE, TRUE);
#else
	/* G1: once, before the transfer's first piece, for either direction.  Nothing touches the
	 * buffer by CPU until completion, so the later pieces need no other. */
	KeFlushIoBuffers(mdl, (BOOLEAN)!write, TRUE);
#endif

	while (remaining != 0) {
		cylinder = (UCHAR)(lba / cylSectors);
		head = (UCHAR)((lba / spt) % FLOPPY_HEADS);
		sector = (UCHAR)(lba % spt + 1);
		/* Track-sized pieces: to the end of the cylinder (MT goes on from head 0 to head
		 * 1), and no more than the map registers cover from this piece's start (G9), in
		 * whole sectors. */
		pieceLength = (cylSectors - lba % cylSectors) * FLOPPY_SECTOR;
		if (pieceLength > remaining)
			pieceLength = remaining;
		cap = (ext->MapRegisterCount * PAGE_SIZE - BYTE_OFFSET(currentVa)) &
		      ~(ULONG)(FLOPPY_SECTOR - 1);
		if (pieceLength > cap)
			pieceLength = cap;

		for (attempt = 0;; attempt++) {
			done = 0;
			status = STATUS_SUCCESS;
			if (!ext->ControllerReady || !ext->Recalibrated)
				status = FloppyPrepare(ext);
			/* Another disk went in half-way through: what was moved went to (or came
			 * from) the old one.  The caller must look at the new disk first. */
			if (NT_SUCCESS(status) && ext->MediaChanged)
				return STATUS_VERIFY_REQUIRED;
			if (NT_SUCCESS(status))
				status = FloppySeek(ext, cylinder);
			if (NT_SUCCESS(status))
				status = FloppyPiece(ext, mdl, startVa, currentVa, pieceLength,
				                     write, cylinder, head, sector, &done);
			if (NT_SUCCESS(status))
				break;
			if (ext->DmaFailed || !FloppyRetryable(status) ||
			    attempt + 1 == FLOPPY_ATTEMPTS)
				return status;
			/* Before the first retry the head goes back to track 0 and out again: a
			 * seek error is the commonest cause of a sector not found. */
			if (attempt == 0)
				ext->Recalibrated = FALSE;
		}
#ifdef DMACOH_BUG_A13
		/* MISTAKE (A13): the buffer position is not advanced with the disk position: every
		 * piece of a request that spans cylinders moves to (or from) the start of the
		 * buffer, so its first bytes are transferred again and the rest never. */
#else
		currentVa += done;
#endif
		lba += done / FLOPPY_SECTOR;
		remaining -= done;
		*moved += done;
	}
	return STATUS_SUCCESS;
}

static VOID FloppyProcess(PFLOPPY_EXTENSION ext, PIRP Irp)
{
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG_PTR moved = 0;
	ULONGLONG capacity;
	NTSTATUS status;

	if (stack->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
		status = FloppyPrepare(ext);
		if (NT_SUCCESS(status)) {
			capacity = ext->Media->Capacity;
			RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
			moved = sizeof(capacity);
		}
		FloppyCompleteNow(Irp, status, NT_SUCCESS(status) ? moved : 0);
		return;
	}
	status = FloppyTransfer(ext, Irp, &moved);
	Irp->IoStatus.Status = status;
#ifndef DMACOH_BUG_A10
	/* G6: the bytes moved on success, 0 with any failure. */
	Irp->IoStatus.Information = NT_SUCCESS(status) ? moved : 0;
#endif
	IoCompleteRequest(Irp, IO_DISK_INCREMENT);
}

/* The thread that owns the controller: one request at a time, the motor off when idle. */
static VOID FloppyThread(PVOID StartContext)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)StartContext;
	LARGE_INTEGER idle;
	NTSTATUS status;
	PIRP irp;

	idle.QuadPart = -FLOPPY_MOTOR_IDLE;
	for (;;) {
		status = KeWaitForSingleObject(&ext->WorkSemaphore, Executive, KernelMode, FALSE,
		                               ext->MotorOn ? &idle : NULL);
		if (status == STATUS_TIMEOUT) {
			FloppyMotorOff(ext);
			continue;
		}
		if (ext->ThreadExit)
			break;
		/* NULL when the IRP this wake-up was for has been cancelled meanwhile. */
		irp = IoCsqRemoveNextIrp(&ext->Csq, NULL);
		if (irp != NULL)
			FloppyProcess(ext, irp);
	}

	/* Stop or removal: what is still queued will not be served. */
	while ((irp = IoCsqRemoveNextIrp(&ext->Csq, NULL)) != NULL)
		FloppyCompleteNow(irp, STATUS_DELETE_PENDING, 0);
	FloppyMotorOff(ext);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

/* --- Interrupt ---------------------------------------------------------------------------- */

/* The controller interrupts at the end of an execution phase (its result bytes are waiting:
 * reading the first one drops the line), and after a seek, a recalibrate or a reset (SENSE
 * INTERRUPT STATUS drops it, one per drive that has something to say).  The ISR does what
 * drops the line and leaves the rest to the thread. */
static BOOLEAN FloppyIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)ServiceContext;
	UCHAR msr = FloppyRead(ext, FDC_REG_MSR);
	UCHAR st0, pcn;
	ULONG n, i;

	UNREFERENCED_PARAMETER(Interrupt);
	if ((msr & (FDC_MSR_RQM | FDC_MSR_DIO)) == (FDC_MSR_RQM | FDC_MSR_DIO)) {
		/* The result phase of READ/WRITE DATA or READ ID: reading its first byte drops
		 * the line.  CB drops with the last byte. */
		n = 0;
		while (n < sizeof(ext->Result) && FloppyHandshake(ext, FDC_MSR_DIO)) {
			ext->Result[n++] = FloppyRead(ext, FDC_REG_FIFO);
			if (!(FloppyRead(ext, FDC_REG_MSR) & FDC_MSR_CB))
				break;
		}
		ext->ResultLength = n;
	} else if ((msr & (FDC_MSR_RQM | FDC_MSR_DIO | FDC_MSR_CB)) == FDC_MSR_RQM) {
		/* Idle in the command phase: a seek, a recalibrate or a reset ended. */
		for (i = 0; i < 4; i++) {
			if (!FloppyHandshake(ext, 0))
				break;
			FloppyWrite(ext, FDC_REG_FIFO, FDC_CMD_SENSE_INTERRUPT);
			if (!FloppyHandshake(ext, FDC_MSR_DIO))
				break;
			st0 = FloppyRead(ext, FDC_REG_FIFO);
			if (st0 == FDC_ST0_IC_INVALID)
				break; /* nothing more pending */
			if (!FloppyHandshake(ext, FDC_MSR_DIO))
				break;
			pcn = FloppyRead(ext, FDC_REG_FIFO);
			if ((st0 & 0x03) == 0) {
				ext->SenseSt0 = st0;
				ext->SensePcn = pcn;
				ext->SenseValid = TRUE;
			}
		}
	} else {
		return FALSE; /* mid-command: not this controller's interrupt */
	}
	IoRequestDpc(ext->Self, NULL, ext);
	return TRUE;
}

static VOID FloppyDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)DeviceObject->DeviceExtension;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	KeSetEvent(&ext->InterruptEvent, IO_NO_INCREMENT, FALSE);
}

/* --- Start and stop ------------------------------------------------------------------------ */

/* Tells the thread to go and waits until it has (its object is signalled when it ends). */
static VOID FloppyStopThread(PFLOPPY_EXTENSION ext)
{
	if (ext->ThreadObject == NULL)
		return;
	InterlockedExchange(&ext->ThreadExit, 1);
	KeReleaseSemaphore(&ext->WorkSemaphore, IO_NO_INCREMENT, 1, FALSE);
	KeWaitForSingleObject(ext->ThreadObject, Executive, KernelMode, FALSE, NULL);
	ObDereferenceObject(ext->ThreadObject);
	ext->ThreadObject = NULL;
}

/* Gives back everything START_DEVICE took, in reverse order (G14: the adapter last of the
 * DMA resources, after the thread that used it has ended). */
static VOID FloppyReleaseHardware(PFLOPPY_EXTENSION ext)
{
	InterlockedExchange(&ext->Started, 0);
	FloppyStopThread(ext);
	if (ext->InterruptObject != NULL) {
		/* Held in reset, motors off, INT and DRQ gated off. */
		FloppyWrite(ext, FDC_REG_DOR, 0);
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
	}
#ifdef DMACOH_BUG_A05
	/* MISTAKE (A05): the thread, the interrupt and the ports are given back, but the adapter
	 * -- no handle, nothing that fails if it stays -- is forgotten: the DMA channel stays
	 * taken after the device is gone. */
	ext->Adapter = NULL;
#else
	if (ext->Adapter != NULL) {
		ext->Adapter->DmaOperations->PutDmaAdapter(ext->Adapter);
		ext->Adapter = NULL;
	}
#endif
	ext->Ports = NULL;
}

static NTSTATUS FloppyStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST translated)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)fdo->DeviceExtension;
	DEVICE_DESCRIPTION desc;
	OBJECT_ATTRIBUTES attributes;
	HANDLE thread;
	BOOLEAN havePorts = FALSE, haveInterrupt = FALSE, haveDma = FALSE, shareVector = FALSE;
	ULONG vector = 0, dmaChannel = 0, dmaPort = 0, busNumber = 0, portLength = 0, i, j;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	INTERFACE_TYPE bus = Isa;
	NTSTATUS status;

	if (translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (i = 0; i < translated->Count; i++) {
		PCM_FULL_RESOURCE_DESCRIPTOR full = &translated->List[i];
		PCM_PARTIAL_RESOURCE_LIST partial = &full->PartialResourceList;

		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];

			switch (d->Type) {
			case CmResourceTypePort:
				/* 0x3F0-0x3F7, or 0x3F0-0x3F5 and 0x3F7 as two ranges: the base is
				 * the lowest. */
				if (!havePorts ||
				    (ULONG_PTR)d->u.Port.Start.QuadPart < (ULONG_PTR)ext->Ports) {
					ext->Ports = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
					portLength = d->u.Port.Length;
				}
				if ((d->Flags & CM_RESOURCE_PORT_IO) == 0)
					return STATUS_DEVICE_CONFIGURATION_ERROR;
				havePorts = TRUE;
				bus = full->InterfaceType;
				busNumber = full->BusNumber;
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
			case CmResourceTypeDma:
				dmaChannel = d->u.Dma.Channel;
				dmaPort = d->u.Dma.Port;
				haveDma = TRUE;
				break;
			default:
				break;
			}
		}
	}
	if (!havePorts || !haveInterrupt || !haveDma || portLength < FDC_REG_FIFO + 1)
		return STATUS_DEVICE_CONFIGURATION_ERROR;

	/* G14: a zeroed description.  The floppy controller is a subordinate device on an 8-bit
	 * channel; it asserts DREQ for a whole sector at a time (demand mode); every request
	 * programs the channel anew (no auto-initialize).  At most a cylinder per transfer. */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION2;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.DemandMode = TRUE;
	desc.AutoInitialize = FALSE;
	desc.Dma32BitAddresses = FALSE;
	desc.IgnoreCount = FALSE;
	desc.BusNumber = busNumber;
	desc.DmaChannel = dmaChannel;
	desc.DmaPort = dmaPort;
	desc.InterfaceType = bus;
	desc.DmaWidth = Width8Bits;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = FLOPPY_MAX_CYL_BYTES;
	ext->Adapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->MapRegisterCount);
	/* A sector that starts anywhere in a page spans two: fewer registers cannot move one. */
	if (ext->Adapter == NULL || ext->MapRegisterCount < 2) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	InitializeListHead(&ext->PendingIrps);
	KeInitializeSpinLock(&ext->QueueLock);
	KeInitializeSemaphore(&ext->WorkSemaphore, 0, MAXLONG);
	KeInitializeEvent(&ext->InterruptEvent, SynchronizationEvent, FALSE);
	KeInitializeEvent(&ext->AdapterEvent, SynchronizationEvent, FALSE);
	status =
	    IoCsqInitialize(&ext->Csq, FloppyCsqInsert, FloppyCsqRemove, FloppyCsqPeekNext,
	                    FloppyCsqAcquireLock, FloppyCsqReleaseLock, FloppyCsqCompleteCanceled);
	if (!NT_SUCCESS(status))
		goto fail;
	ext->ControllerReady = FALSE;
	ext->Recalibrated = FALSE;
	ext->MotorOn = FALSE;
	ext->Media = NULL;
	ext->ThreadExit = 0;

	/* The controller is held in reset (DOR 0: INT gated off) until the thread resets it. */
	FloppyWrite(ext, FDC_REG_DOR, 0);
	IoInitializeDpcRequest(fdo, FloppyDpcForIsr);
	status = IoConnectInterrupt(&ext->InterruptObject, FloppyIsr, ext, NULL, vector, irql, irql,
	                            mode, shareVector, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}

	/* The thread, and a reference to its object: the handle says nothing about when the
	 * thread has really ended; waiting on the object does. */
	InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
	status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, &attributes, NULL, NULL,
	                              FloppyThread, ext);
	if (!NT_SUCCESS(status))
		goto fail;
	status = ObReferenceObjectByHandle(thread, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
	                                   &ext->ThreadObject, NULL);
	ZwClose(thread);
	if (!NT_SUCCESS(status)) {
		/* Cannot happen for a handle just made; the thread would run on unwaited. */
		ext->ThreadObject = NULL;
		goto fail;
	}
	InterlockedExchange(&ext->Started, 1);
	return STATUS_SUCCESS;

fail:
	FloppyReleaseHardware(ext);
	return status;
}

static NTSTATUS FloppyPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = FloppyStartDevice(
			    DeviceObject,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return FloppyCompleteNow(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		FloppyReleaseHardware(ext);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		FloppyReleaseHardware(ext);
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

static NTSTATUS FloppyPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PFLOPPY_EXTENSION ext = (PFLOPPY_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
