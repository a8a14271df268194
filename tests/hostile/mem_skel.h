/* mem_skel.h -- the rest of a minimal WDM driver for the mem_* hostile cases: DriverEntry,
 * AddDevice (which calls the case's MemHostile once with the PDO), PnP that starts and removes
 * the device, and read/write/ioctl dispatch that completes every request at once with nothing
 * moved.  Each case defines MemHostile and marks the line a finding must name with
 * EXPECT: RULE.  Not a model of anything: just enough for `dmacoh run` to reach the case. */
#include <dmacoh/wdm.h>

static void MemHostile(PDEVICE_OBJECT Pdo);

typedef struct _MEM_EXT {
	PDEVICE_OBJECT Lower;
} MEM_EXT;

static NTSTATUS MemComplete(PIRP Irp, NTSTATUS status)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

static NTSTATUS MemDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return MemComplete(Irp, STATUS_SUCCESS);
}

static NTSTATUS MemPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	MEM_EXT *ext = (MEM_EXT *)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->Lower;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		status = IoForwardIrpSynchronously(lower, Irp) ? Irp->IoStatus.Status
		                                               : STATUS_UNSUCCESSFUL;
		return MemComplete(Irp, status);
	case IRP_MN_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		IoDetachDevice(lower);
		IoDeleteDevice(DeviceObject);
		return status;
	default:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		return IoCallDriver(lower, Irp);
	}
}

static NTSTATUS MemAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
	PDEVICE_OBJECT fdo;
	NTSTATUS status = IoCreateDevice(DriverObject, sizeof(MEM_EXT), NULL, FILE_DEVICE_UNKNOWN,
	                                 0, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;
	MEM_EXT *ext = (MEM_EXT *)fdo->DeviceExtension;
	ext->Lower = IoAttachDeviceToDeviceStack(fdo, Pdo);
	fdo->Flags |= DO_DIRECT_IO;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	MemHostile(Pdo);
	return STATUS_SUCCESS;
}

static VOID MemUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

DRIVER_INITIALIZE DriverEntry;
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	DriverObject->DriverExtension->AddDevice = MemAddDevice;
	DriverObject->DriverUnload = MemUnload;
	for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
		DriverObject->MajorFunction[i] = MemDispatch;
	DriverObject->MajorFunction[IRP_MJ_PNP] = MemPnp;
	return STATUS_SUCCESS;
}

/* A system DMA adapter for the device (channel 1 of the 8237 on sysblk) and a cached common
 * buffer of `len` bytes from it. */
static inline PDMA_ADAPTER MemAdapter(PDEVICE_OBJECT Pdo)
{
	DEVICE_DESCRIPTION dd;
	ULONG n = 0;
	RtlZeroMemory(&dd, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION;
	dd.InterfaceType = Isa;
	dd.DmaChannel = 1;
	dd.DmaWidth = Width8Bits;
	dd.DmaSpeed = Compatible;
	dd.MaximumLength = 0x10000;
	return IoGetDmaAdapter(Pdo, &dd, &n);
}
