/*
 * combm.cpp -- a C++ WDM function driver for the bmblk bus-master scatter/gather disk, written
 * as audio (port-class) and other C++ drivers are: the DMA channel is a COM-style interface
 * object.  IBmDmaChannel (AddRef/Release/QueryInterface plus the DMA operations, pure
 * virtual) is implemented by CBmDmaChannel, which owns the DMA adapter: it is created with the
 * WDK's `new (NonPagedPool, tag)` in IRP_MN_START_DEVICE, every map, flush and register
 * release of the driver goes through its vtable, and the last Release puts the adapter back
 * and frees the object (operator delete on pool).  Built by dmacoh-cc as C++ (-fno-exceptions
 * -fno-rtti) against <wdm.h> of the WDK include tree; its loads and stores, vtable pointers
 * included, go through the cache model like a C driver's.
 *
 * The request flow is busmaster.c's (the packet-based bus-master flow, wdm-dma-spec 5.3):
 * dispatch -> IoStartPacket; StartIo flushes the buffer (G1) and allocates the channel;
 * AdapterControl maps one transfer operation into the device's SG table; the DPC flushes
 * every MapTransfer (G3/G4) and runs the split loop; FreeMapRegisters with the count
 * allocated (G7).
 *
 * Buggy twin (-DDMACOH_BUG_C02): no KeFlushIoBuffers before a read.
 */
#include <wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("combm", "bmblk",
              "C++ COM-style: an IDmaChannel interface object does the bus-master DMA");

#define BM_TAG 'hCmB' /* pool tag of the channel object */

/* --- The DMA channel as a COM-style interface (as a port-class miniport sees IDmaChannel) --- */
struct IBmDmaChannel {
	virtual NTSTATUS QueryInterface(const GUID &iid, PVOID *object) = 0;
	virtual ULONG AddRef() = 0;
	virtual ULONG Release() = 0;
	virtual NTSTATUS AllocateAdapterChannel(PDEVICE_OBJECT device, ULONG registers,
	                                        PDRIVER_CONTROL control, PVOID context) = 0;
	virtual PHYSICAL_ADDRESS MapTransfer(PMDL mdl, PVOID base, PVOID va, PULONG length,
	                                     BOOLEAN toDevice) = 0;
	virtual BOOLEAN FlushAdapterBuffers(PMDL mdl, PVOID base, PVOID va, ULONG length,
	                                    BOOLEAN toDevice) = 0;
	virtual VOID FreeMapRegisters(PVOID base, ULONG registers) = 0;
	virtual ULONG MapRegisterCount() = 0;

      protected:
	~IBmDmaChannel()
	{
	}
};

/* {6a4c1e52-6f3d-4c35-9b43-1bd5a3e8c201} */
static const GUID IID_IBmDmaChannel = {
    0x6a4c1e52, 0x6f3d, 0x4c35, {0x9b, 0x43, 0x1b, 0xd5, 0xa3, 0xe8, 0xc2, 0x01}};

class CBmDmaChannel final : public IBmDmaChannel
{
      public:
	CBmDmaChannel(PDMA_ADAPTER adapter, ULONG registers)
	    : m_Ref(1), m_Adapter(adapter), m_Registers(registers)
	{
	}

	NTSTATUS QueryInterface(const GUID &iid, PVOID *object) override
	{
		if (!RtlEqualMemory(&iid, &IID_IBmDmaChannel, sizeof(GUID))) {
			*object = NULL;
			return STATUS_NOT_SUPPORTED;
		}
		AddRef();
		*object = static_cast<IBmDmaChannel *>(this);
		return STATUS_SUCCESS;
	}
	ULONG AddRef() override
	{
		return (ULONG)InterlockedIncrement(&m_Ref);
	}
	ULONG Release() override
	{
		LONG ref = InterlockedDecrement(&m_Ref);
		if (ref == 0)
			delete this;
		return (ULONG)ref;
	}
	NTSTATUS AllocateAdapterChannel(PDEVICE_OBJECT device, ULONG registers,
	                                PDRIVER_CONTROL control, PVOID context) override
	{
		return m_Adapter->DmaOperations->AllocateAdapterChannel(
		    m_Adapter, device, registers, control, context);
	}
	PHYSICAL_ADDRESS MapTransfer(PMDL mdl, PVOID base, PVOID va, PULONG length,
	                             BOOLEAN toDevice) override
	{
		return m_Adapter->DmaOperations->MapTransfer(m_Adapter, mdl, base, va, length,
		                                             toDevice);
	}
	BOOLEAN FlushAdapterBuffers(PMDL mdl, PVOID base, PVOID va, ULONG length,
	                            BOOLEAN toDevice) override
	{
		return m_Adapter->DmaOperations->FlushAdapterBuffers(m_Adapter, mdl, base, va,
		                                                     length, toDevice);
	}
	VOID FreeMapRegisters(PVOID base, ULONG registers) override
	{
		m_Adapter->DmaOperations->FreeMapRegisters(m_Adapter, base, registers);
	}
	ULONG MapRegisterCount() override
	{
		return m_Registers;
	}

      private:
	/* Only Release ends the object: the adapter goes back with it (G14). */
	~CBmDmaChannel()
	{
		m_Adapter->DmaOperations->PutDmaAdapter(m_Adapter);
	}

	volatile LONG m_Ref;
	PDMA_ADAPTER m_Adapter;
	ULONG m_Registers;
};

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
	PKINTERRUPT Interrupt;
	IBmDmaChannel *Channel;        /* owns the DMA adapter */
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
} BM_EXTENSION, *PBM_EXTENSION;

extern "C" DRIVER_INITIALIZE DriverEntry; /* C linkage: the kernel looks it up by name */
static DRIVER_ADD_DEVICE BmAddDevice;
static DRIVER_UNLOAD BmUnload;
static DRIVER_STARTIO BmStartIo;
static DRIVER_CONTROL BmAdapterControl;
static KSERVICE_ROUTINE BmIsr;
static IO_DPC_ROUTINE BmDpc;
static DRIVER_DISPATCH BmCreateClose;
static DRIVER_DISPATCH BmReadWrite;
static DRIVER_DISPATCH BmDeviceControl;
static DRIVER_DISPATCH BmPnp;
static DRIVER_DISPATCH BmPower;

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

extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

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

	if (!ext->Started)
		return BmCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return BmCompleteIrp(Irp, STATUS_SUCCESS, 0);
	if (offset < 0 || (offset % BM_SECTOR) != 0 || (length % BM_SECTOR) != 0 ||
	    (ULONGLONG)offset > ext->Capacity || length > ext->Capacity - (ULONGLONG)offset ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return BmCompleteIrp(Irp, STATUS_INVALID_PARAMETER, 0);

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
	BOOLEAN ok = TRUE;
	ULONG i;

	for (i = 0; i < ext->PieceCount; i++)
		if (!ext->Channel->FlushAdapterBuffers(ext->Mdl, ext->MapRegisterBase,
		                                       ext->PieceVa[i], ext->PieceLength[i],
		                                       ext->WriteToDevice))
			ok = FALSE;
	return ok;
}

/* Maps the next transfer operation of the current request into the device's SG table and
 * starts it.  On failure nothing is left mapped and the device is not started. */
static NTSTATUS BmStartOperation(PBM_EXTENSION ext)
{
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
		PHYSICAL_ADDRESS logical = ext->Channel->MapTransfer(
		    ext->Mdl, ext->MapRegisterBase, va + mapped, &len, ext->WriteToDevice);
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
	ULONG needed;
	NTSTATUS status;

	if (!ext->Started) {
		/* Stopped while the request waited in the device queue. */
		IoStartNextPacket(DeviceObject, FALSE);
		BmCompleteIrp(Irp, STATUS_DEVICE_NOT_READY, 0);
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
#ifdef DMACOH_BUG_C02
	/* BUG C02: flushes only before writes, as if a device->memory transfer had nothing to
	 * fear from the cache.  Dirty lines of the caller's buffer stay in the cache during the
	 * read; their eviction overwrites the data the device wrote (dma-over-cached-line). */
	if (ext->WriteToDevice)
		KeFlushIoBuffers(ext->Mdl, FALSE, TRUE);
#else
	KeFlushIoBuffers(ext->Mdl, (BOOLEAN)!ext->WriteToDevice, TRUE);
#endif

	status = ext->Channel->AllocateAdapterChannel(DeviceObject, ext->MapRegistersAllocated,
	                                              BmAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->Irp = NULL;
		IoStartNextPacket(DeviceObject, FALSE);
		BmCompleteIrp(Irp, status, 0);
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

/* Releases the map registers and completes the request (G7: after the last flush). */
static VOID BmFinishRequest(PBM_EXTENSION ext, NTSTATUS status)
{
	PIRP irp = ext->Irp;
	/* G6: on success the bytes moved, on failure nothing. */
	ULONG_PTR information = NT_SUCCESS(status) ? ext->Length : 0;

	ext->Channel->FreeMapRegisters(ext->MapRegisterBase, ext->MapRegistersAllocated);
	ext->MapRegisterBase = NULL;
	ext->Irp = NULL;
	IoStartNextPacket(ext->Self, FALSE);
	BmCompleteIrp(irp, status, information);
}

static VOID BmDpc(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
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
		BOOLEAN ok = BmFlushOperation(ext);
		ext->OpMapped = FALSE;
		if (!ok || (intStatus & BM_INT_ERROR) != 0)
			status = STATUS_DEVICE_DATA_ERROR;
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
	PDMA_ADAPTER adapter;
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
	adapter = IoGetDmaAdapter(ext->Pdo, &desc, &ext->NumberOfMapRegisters);
	if (adapter == NULL || ext->NumberOfMapRegisters == 0) {
		if (adapter != NULL)
			adapter->DmaOperations->PutDmaAdapter(adapter);
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_unmap;
	}
	ext->Channel = new (NonPagedPool, BM_TAG) CBmDmaChannel(adapter, ext->NumberOfMapRegisters);
	if (ext->Channel == NULL) {
		adapter->DmaOperations->PutDmaAdapter(adapter);
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail_unmap;
	}

	status = IoConnectInterrupt(&ext->Interrupt, BmIsr, ext, NULL, vector, (KIRQL)level,
	                            (KIRQL)level, mode, shared, affinity, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_adapter;
	BmWrite(ext, BM_REG_INT_STATUS, BM_INT_DONE | BM_INT_ERROR);
	BmWrite(ext, BM_REG_INT_MASK, BM_INT_DONE | BM_INT_ERROR);
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail_adapter:
	ext->Channel->Release();
	ext->Channel = NULL;
fail_unmap:
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
	return status;
}

/* Stop or remove: quiesce the device, give back every DMA resource, then the adapter (G14). */
static VOID BmStopDevice(PBM_EXTENSION ext)
{
	KIRQL oldIrql;

	if (!ext->Started)
		return;
	ext->Started = FALSE;
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

	IoDisconnectInterrupt(ext->Interrupt);
	ext->Interrupt = NULL;
	KeRemoveQueueDpc(&ext->Self->Dpc);
	ext->Channel->Release(); /* the last reference: the adapter goes back */
	ext->Channel = NULL;
	MmUnmapIoSpace(ext->Registers, ext->RegistersLength);
	ext->Registers = NULL;
}

static NTSTATUS BmPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		/* The bus driver starts the device first; then we use its resources. */
		if (!IoForwardIrpSynchronously(lower, Irp))
			return BmCompleteIrp(Irp, STATUS_UNSUCCESSFUL, 0);
		status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = BmStartDevice(
			    ext, stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return BmCompleteIrp(Irp, status, 0);

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
	return IoCallDriver(lower, Irp);
}

static NTSTATUS BmPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PBM_EXTENSION ext = (PBM_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
