/* Small I/O-manager, Ke and Mm services real drivers call beside their DMA path, each with
 * Windows' IRQL rule: volume parameter blocks for disk, CD-ROM, tape and virtual-disk devices,
 * IoAttachDeviceToDeviceStackSafe, IoInvalidateDeviceRelations, IoSetHardErrorOrVerifyDevice,
 * threaded DPCs, KeFlushQueuedDpcs, MmAllocateNonCachedMemory, MmMapIoSpaceEx and
 * HalGetDmaAlignment.  Not modelled: a PnP manager that re-enumerates after
 * IoInvalidateDeviceRelations (nothing is sent), file systems mounting on a VPB, the verify
 * pop-up IoSetHardErrorOrVerifyDevice prepares. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define RA() __builtin_return_address(0)

/* --- VPBs (called from IoCreateDevice / IoDeleteDevice through plumb.c) -------------------- */

void dc_iosvc_vpb_new(PDEVICE_OBJECT dev)
{
	switch (dev->DeviceType) {
	case FILE_DEVICE_DISK:
	case FILE_DEVICE_CD_ROM:
	case FILE_DEVICE_TAPE:
	case FILE_DEVICE_VIRTUAL_DISK:
		break;
	default:
		return;
	}
	/* Nonpaged pool, as IoCreateDevice's: a driver reading or setting its fields goes through
	 * the cache model. */
	struct dc_sys *s = dc_k();
	VPB *v = dc_pool_alloc(s, sizeof(*v), true, ' bpV');
	if (!v)
		return;
	VPB init = {.Type = IO_TYPE_VPB, .Size = sizeof(VPB), .RealDevice = dev};
	dc_cpu_write(s->m, v, &init, sizeof(init));
	dev->Vpb = v;
}

void dc_iosvc_vpb_gone(PDEVICE_OBJECT dev)
{
	if (dev->Vpb)
		dc_pool_free(dc_k(), dev->Vpb);
	dev->Vpb = NULL;
}

/* --- Device stacks and PnP ------------------------------------------------------------------- */

NTSTATUS IoAttachDeviceToDeviceStackSafe(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice,
                                         PDEVICE_OBJECT *AttachedToDeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoAttachDeviceToDeviceStackSafe", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!SourceDevice || !TargetDevice || !AttachedToDeviceObject)
		return STATUS_INVALID_PARAMETER;
	/* The "safe" part: the lower device is stored before the source can see an IRP. */
	dc_ktouch(s, AttachedToDeviceObject, sizeof(*AttachedToDeviceObject), true);
	*AttachedToDeviceObject = IoAttachDeviceToDeviceStack(SourceDevice, TargetDevice);
	return *AttachedToDeviceObject ? STATUS_SUCCESS : STATUS_NO_SUCH_DEVICE;
}

VOID IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoInvalidateDeviceRelations", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	/* Only a PDO's relations can be invalidated; Windows bug-checks 0xCA otherwise.  The
	 * PnP manager would then query them: nothing changes here, so nothing is sent. */
	(void)Type;
	if (!dc_io_pdo_sysdev(DeviceObject))
		dc_kbugcheck(s, 0xCA, "IoInvalidateDeviceRelations on a device that is not a PDO",
		             RA());
}

VOID IoSetHardErrorOrVerifyDevice(PIRP Irp, PDEVICE_OBJECT DeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoSetHardErrorOrVerifyDevice", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!Irp || !DeviceObject)
		dc_kbugcheck(s, 0x1E, "IoSetHardErrorOrVerifyDevice with a NULL IRP or device",
		             RA());
}

/* --- DPCs ------------------------------------------------------------------------------- */

#define DC_THREADED_DPC_OBJECT 24

VOID KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
	struct dc_sys *s = dc_k();
	KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	Dpc->Type = DC_THREADED_DPC_OBJECT;
}

VOID KeFlushQueuedDpcs(void)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeFlushQueuedDpcs", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	/* One processor: every queued DPC runs before this returns. */
	if (s->irql < DISPATCH_LEVEL)
		dc_sys_deliver(s);
}

/* --- Memory ------------------------------------------------------------------------------- */

PVOID MmAllocateNonCachedMemory(SIZE_T NumberOfBytes)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmAllocateNonCachedMemory", PASSIVE_LEVEL, APC_LEVEL, RA());
	/* Physically contiguous here (Windows does not promise it), in the uncached window. */
	PHYSICAL_ADDRESS lo = {.QuadPart = 0}, hi = {.QuadPart = -1}, none = {.QuadPart = 0};
	KIRQL irql = s->irql;
	s->irql = PASSIVE_LEVEL; /* its rule was checked above, APC_LEVEL included */
	PVOID p = MmAllocateContiguousMemorySpecifyCache(NumberOfBytes, lo, hi, none, MmNonCached);
	s->irql = irql;
	return p;
}

VOID MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes)
{
	(void)NumberOfBytes;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmFreeNonCachedMemory", PASSIVE_LEVEL, APC_LEVEL, RA());
	KIRQL irql = s->irql;
	s->irql = PASSIVE_LEVEL;
	MmFreeContiguousMemory(BaseAddress);
	s->irql = irql;
}

PVOID MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmMapIoSpaceEx", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	/* PAGE_READWRITE or PAGE_READONLY with at most one of NOCACHE / WRITECOMBINE. */
	ULONG access = Protect & 0xFF, cache = Protect & (PAGE_NOCACHE | PAGE_WRITECOMBINE);
	if ((access != PAGE_READWRITE && access != PAGE_READONLY) ||
	    cache == (PAGE_NOCACHE | PAGE_WRITECOMBINE) ||
	    (Protect & ~(ULONG)(0xFF | PAGE_NOCACHE | PAGE_WRITECOMBINE)))
		return NULL;
	return MmMapIoSpace(PhysicalAddress, NumberOfBytes,
	                    cache == PAGE_WRITECOMBINE ? MmWriteCombined
	                    : cache == PAGE_NOCACHE    ? MmNonCached
	                                               : MmCached);
}

ULONG HalGetDmaAlignment(PDMA_ADAPTER DmaAdapter)
{
	struct dc_sys *s = dc_k();
	if (!DmaAdapter || !DmaAdapter->DmaOperations ||
	    !DmaAdapter->DmaOperations->GetDmaAlignment) {
		dc_kbugcheck(s, 0x1E, "HalGetDmaAlignment with a NULL or released adapter", RA());
		return 1;
	}
	return DmaAdapter->DmaOperations->GetDmaAlignment(DmaAdapter);
}
