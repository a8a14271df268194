/* The I/O manager: device and driver objects, IRPs and their stacks, completion, packet queues
 * (IoStartPacket / StartIo), interrupt objects, the bus driver that owns the PDOs, driver
 * loading and PnP as the PnP manager drives it, and the application's requests.
 *
 * The bus driver answers IRP_MN_START_DEVICE, STOP and REMOVE with success and leaves other
 * PnP and power requests' status as it finds it, as a root-enumerated bus driver does. */
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmacoh/driver.h"
#include "kernel.h"
#include "obnames.h"
#include "win32.h"

#define RA() __builtin_return_address(0)

/* DEVICE_OBJECT.DmacohReserved: [0] the PDO's dc_sysdev, [1] the device's IO_DPC_ROUTINE. */
#define RES_SYSDEV 0
#define RES_IODPC 1

/* IRP.DmacohReserved: [0] the application's request record. */
#define RES_REQ 0

/* --- Device objects ----------------------------------------------------------------------- */

NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                        PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                        ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                        PDEVICE_OBJECT *DeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoCreateDevice", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DriverObject || !DeviceObject)
		return STATUS_INVALID_PARAMETER;
	/* An empty name is no name; an existing one is refused before anything is made. */
	if (DeviceName && (!DeviceName->Buffer || !DeviceName->Length))
		DeviceName = NULL;
	/* The extension follows the object, 16-byte aligned, as the I/O manager lays it out. */
	size_t objsz = (sizeof(DEVICE_OBJECT) + 15) & ~(size_t)15;
	DEVICE_OBJECT *d = calloc(1, objsz + DeviceExtensionSize);
	if (!d)
		return STATUS_INSUFFICIENT_RESOURCES;
	d->Type = 3; /* IO_TYPE_DEVICE */
	d->Size = (USHORT)(objsz + DeviceExtensionSize);
	d->ReferenceCount = 1;
	d->DriverObject = DriverObject;
	d->DeviceType = DeviceType;
	d->Characteristics = DeviceCharacteristics;
	d->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0) |
	           (DeviceName ? DO_DEVICE_HAS_NAME : 0);
	d->StackSize = 1;
	d->DeviceExtension = DeviceExtensionSize ? (uint8_t *)d + objsz : NULL;
	d->AlignmentRequirement = 0; /* FILE_BYTE_ALIGNMENT */
	d->SectorSize = 512;
	KeInitializeDeviceQueue(&d->DeviceQueue);
	KeInitializeEvent(&d->DeviceLock, SynchronizationEvent, TRUE);
	if (DeviceName) {
		/* The one namespace: what links, CreateFile and IoGetDeviceObjectPointer find. */
		NTSTATUS nst = dc_ob_name_device(s, DeviceName, d);
		if (!NT_SUCCESS(nst)) {
			free(d);
			return nst;
		}
	}
	d->NextDevice = DriverObject->DeviceObject;
	DriverObject->DeviceObject = d;
	dc_plumb_device_new(s, d, DeviceName);
	dc_ktouch(s, DeviceObject, sizeof(*DeviceObject), true);
	*DeviceObject = d;
	return STATUS_SUCCESS;
}

void IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoDeleteDevice", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DeviceObject)
		return;
	PDRIVER_OBJECT drv = DeviceObject->DriverObject;
	for (PDEVICE_OBJECT *pp = &drv->DeviceObject; *pp; pp = &(*pp)->NextDevice) {
		if (*pp == DeviceObject) {
			*pp = DeviceObject->NextDevice;
			break;
		}
	}
	if (DeviceObject->AttachedDevice)
		dc_kbugcheck(s, 0x00000044,
		             "IoDeleteDevice while another device is attached on top", RA());
	dc_ob_forget_device(s, DeviceObject);
	dc_plumb_device_gone(s, DeviceObject);
	free(DeviceObject);
}

PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoAttachDeviceToDeviceStack", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!SourceDevice || !TargetDevice)
		return NULL;
	PDEVICE_OBJECT top = TargetDevice;
	while (top->AttachedDevice)
		top = top->AttachedDevice;
	top->AttachedDevice = SourceDevice;
	SourceDevice->StackSize = (CCHAR)(top->StackSize + 1);
	SourceDevice->AlignmentRequirement = top->AlignmentRequirement;
	SourceDevice->SectorSize = top->SectorSize;
	return top;
}

void IoDetachDevice(PDEVICE_OBJECT TargetDevice)
{
	if (TargetDevice)
		TargetDevice->AttachedDevice = NULL;
}

NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
	if (!SymbolicLinkName || !DeviceName)
		return STATUS_INVALID_PARAMETER;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoCreateSymbolicLink", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	return dc_ob_link(s, SymbolicLinkName, DeviceName);
}

NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
	if (!SymbolicLinkName)
		return STATUS_INVALID_PARAMETER;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoDeleteSymbolicLink", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	return dc_ob_unlink(s, SymbolicLinkName);
}

NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                   const GUID *InterfaceClassGuid, PUNICODE_STRING ReferenceString,
                                   PUNICODE_STRING SymbolicLinkName)
{
	if (!PhysicalDeviceObject || !InterfaceClassGuid || !SymbolicLinkName)
		return STATUS_INVALID_PARAMETER;
	/* The link names the PDO's stack; the caller frees it with RtlFreeUnicodeString. */
	return dc_ob_register_interface(dc_k(), PhysicalDeviceObject, InterfaceClassGuid,
	                                ReferenceString, SymbolicLinkName);
}

NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable)
{
	if (!SymbolicLinkName)
		return STATUS_INVALID_PARAMETER;
	return dc_ob_interface_state(dc_k(), SymbolicLinkName, Enable != 0);
}

void RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
	size_t n = 0;
	if (SourceString)
		while (SourceString[n])
			n++;
	DestinationString->Buffer = (PWSTR)SourceString;
	DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
	DestinationString->MaximumLength = (USHORT)(SourceString ? (n + 1) * sizeof(WCHAR) : 0);
}

void RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
	if (UnicodeString && UnicodeString->Buffer) {
		ExFreePool(UnicodeString->Buffer);
		UnicodeString->Buffer = NULL;
		UnicodeString->Length = UnicodeString->MaximumLength = 0;
	}
}

SIZE_T RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length)
{
	struct dc_sys *s = dc_k();
	const uint8_t *a = Source1, *b = Source2;
	SIZE_T i = 0;
	for (; i < Length; i++) {
		dc_ktouch(s, a + i, 1, false);
		dc_ktouch(s, b + i, 1, false);
		if (a[i] != b[i])
			break;
	}
	return i;
}

/* --- IRPs --------------------------------------------------------------------------------- */

/* The registry of live IRPs: never dereference a pointer the kernel did not hand out (a stale
 * IRP completed again would read freed memory). */
static ssize_t live_irp(const struct dc_sys *s, const void *irp)
{
	for (size_t i = s->n_live_irps; i-- > 0;)
		if (s->live_irps[i] == irp)
			return (ssize_t)i;
	return -1;
}

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
	(void)ChargeQuota;
	if (StackSize < 1)
		return NULL;
	struct dc_sys *s = dc_k();
	if (s && s->n_live_irps == s->cap_live_irps) {
		size_t cap = s->cap_live_irps ? 2 * s->cap_live_irps : 64;
		void **n = realloc(s->live_irps, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->live_irps = n;
		s->cap_live_irps = cap;
	}
	size_t sz = sizeof(IRP) + (size_t)StackSize * sizeof(IO_STACK_LOCATION);
	IRP *irp = calloc(1, sz);
	if (!irp)
		return NULL;
	if (s)
		s->live_irps[s->n_live_irps++] = irp;
	irp->Type = 6; /* IO_TYPE_IRP */
	irp->Size = (USHORT)sz;
	irp->StackCount = StackSize;
	irp->CurrentLocation = (CHAR)(StackSize + 1);
	irp->Tail.Overlay.CurrentStackLocation = (PIO_STACK_LOCATION)(irp + 1) + StackSize;
	return irp;
}

void IoFreeIrp(PIRP Irp)
{
	struct dc_sys *s = dc_k();
	if (s && Irp) {
		ssize_t i = live_irp(s, Irp);
		if (i < 0) {
			/* Freed already, or never an IRP: freeing it again would corrupt the heap.
			 */
			dc_kbugcheck(s, 0x000000C2 /* BAD_POOL_CALLER */,
			             "IoFreeIrp of an IRP that is not allocated (freed already?)",
			             RA());
			return;
		}
		s->live_irps[i] = s->live_irps[--s->n_live_irps];
	}
	free(Irp);
}

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	struct dc_sys *s = dc_k();
	if (!DeviceObject || !Irp) {
		dc_kbugcheck(s, 0x0000001E, "IoCallDriver with a NULL device or IRP", RA());
		return STATUS_INVALID_PARAMETER;
	}
	Irp->CurrentLocation--;
	if (Irp->CurrentLocation <= 0) {
		dc_kbugcheck(s, 0x00000035 /* NO_MORE_IRP_STACK_LOCATIONS */,
		             "IoCallDriver: no more IRP stack locations", RA());
		Irp->CurrentLocation++;
		return STATUS_INVALID_PARAMETER;
	}
	Irp->Tail.Overlay.CurrentStackLocation--;
	PIO_STACK_LOCATION sp = Irp->Tail.Overlay.CurrentStackLocation;
	sp->DeviceObject = DeviceObject;
	PDRIVER_DISPATCH fn = DeviceObject->DriverObject->MajorFunction[sp->MajorFunction];
	return fn(DeviceObject, Irp);
}

NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	return IofCallDriver(DeviceObject, Irp);
}

void PoStartNextPowerIrp(PIRP Irp)
{
	(void)Irp;
}

POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type, POWER_STATE State)
{
	(void)DeviceObject, (void)Type;
	return State;
}

/* The application's record of a request it sent. */
struct dc_req {
	struct dc_sys *s;
	bool done;
	UCHAR major;
	ULONG length;
	void *user_out; /* buffered I/O: where output goes back */
	ULONG out_len;
	void *sysbuf;
	PMDL mdl;
	PDEVICE_OBJECT top;
	/* Direct I/O over a buffer outside simulated memory (an application's stack or global):
	 * the pages the MDL describes instead, copied back to `bounced` at the finish. */
	void *bounce, *bounced;
	bool bounce_back;
	dc_irp_done_fn on_done;
	void *done_opaque;
};

static void complete_to_app(struct dc_sys *s, PIRP irp)
{
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	if (r) {
		r->done = true;
		if (r->on_done)
			r->on_done(r->done_opaque, irp);
	} else {
		dc_irpbuild_complete(s, irp); /* an IRP a driver built (irpbuild.c) */
	}
}

void IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
	(void)PriorityBoost;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoCompleteRequest", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!Irp)
		return;
	if (live_irp(s, Irp) < 0) {
		/* Windows bug-checks a completion of an IRP that is not one (any more). */
		dc_kbugcheck(s, 0x00000044 /* MULTIPLE_IRP_COMPLETE_REQUESTS */,
		             "IoCompleteRequest on an IRP that is not live (completed and freed "
		             "already, or never allocated)",
		             RA());
		return;
	}
	if (Irp->CurrentLocation > Irp->StackCount) {
		/* No driver owns a stack location: the IRP was allocated (IoAllocateIrp) and never
		 * sent, or it was completed already and not sent again.  Windows has nothing to
		 * complete it to (no caller's location, no thread for I/O completion). */
		dc_kbugcheck(
		    s, 0x00000044 /* MULTIPLE_IRP_COMPLETE_REQUESTS */,
		    "IoCompleteRequest on an IRP no driver holds (allocated with "
		    "IoAllocateIrp and never sent with IoCallDriver, or completed already)",
		    RA());
		return;
	}
	PIO_STACK_LOCATION sp0 = Irp->Tail.Overlay.CurrentStackLocation;
	struct dc_req *r = Irp->DmacohReserved[RES_REQ];
	if (Irp->IoStatus.Status == STATUS_PENDING) {
		dc_kbugcheck(s, 0x00000044 /* MULTIPLE_IRP_COMPLETE_REQUESTS-like */,
		             "IoCompleteRequest with STATUS_PENDING", RA());
	}
	if (r && r->done) {
		dc_kbugcheck(s, 0x00000044 /* MULTIPLE_IRP_COMPLETE_REQUESTS */,
		             "IRP completed twice", RA());
		return;
	}
	/* The completing driver's call is the event the checker needs (G5, G6, A10). */
	struct dc_kev e = {.type = DC_KEV_IRP_COMPLETE,
	                   .routine = "IoCompleteRequest",
	                   .pc = RA(),
	                   .irp = Irp,
	                   .device = sp0 ? sp0->DeviceObject : NULL,
	                   .mdl = Irp->MdlAddress,
	                   .status = Irp->IoStatus.Status,
	                   .len_out = Irp->IoStatus.Information,
	                   .len = r ? r->length : 0,
	                   .value = r ? r->major : (sp0 ? sp0->MajorFunction : 0)};
	dc_kev_emit(s, &e);

	/* Walk up the stack, running completion routines (as IofCompleteRequest does). */
	while (Irp->CurrentLocation <= Irp->StackCount) {
		PIO_STACK_LOCATION sp = Irp->Tail.Overlay.CurrentStackLocation;
		Irp->PendingReturned = (sp->Control & SL_PENDING_RETURNED) != 0;
		PIO_COMPLETION_ROUTINE routine = sp->CompletionRoutine;
		PVOID ctx = sp->Context;
		UCHAR ctl = sp->Control;
		Irp->CurrentLocation++;
		Irp->Tail.Overlay.CurrentStackLocation++;
		bool ok = NT_SUCCESS(Irp->IoStatus.Status);
		bool invoke = routine && ((ok && (ctl & SL_INVOKE_ON_SUCCESS)) ||
		                          (!ok && (ctl & SL_INVOKE_ON_ERROR)) ||
		                          (Irp->Cancel && (ctl & SL_INVOKE_ON_CANCEL)));
		if (invoke) {
			PDEVICE_OBJECT dev =
			    Irp->CurrentLocation <= Irp->StackCount
			        ? Irp->Tail.Overlay.CurrentStackLocation->DeviceObject
			        : NULL;
			NTSTATUS st = routine(dev, Irp, ctx);
			if (st == STATUS_MORE_PROCESSING_REQUIRED)
				return;
		} else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
			IoMarkIrpPending(Irp);
		}
	}
	complete_to_app(s, Irp);
}

static NTSTATUS forward_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject, (void)Irp;
	KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

BOOLEAN IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoForwardIrpSynchronously", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DeviceObject || !Irp || Irp->CurrentLocation <= 1)
		return FALSE;
	KEVENT ev;
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	IoCopyCurrentIrpStackLocationToNext(Irp);
	IoSetCompletionRoutine(Irp, forward_done, &ev, TRUE, TRUE, TRUE);
	NTSTATUS st = IofCallDriver(DeviceObject, Irp);
	if (st == STATUS_PENDING)
		KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
	return TRUE;
}

/* --- Packet queues: IoStartPacket / StartIo ---------------------------------------------- */

void KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	DeviceQueue->Type = 20; /* DeviceQueueObject */
	DeviceQueue->Size = sizeof(*DeviceQueue);
	InitializeListHead(&DeviceQueue->DeviceListHead);
	DeviceQueue->Lock = 0;
	DeviceQueue->Busy = FALSE;
}

BOOLEAN KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	dc_ktouch(s, DeviceQueueEntry, sizeof(*DeviceQueueEntry), true);
	if (!DeviceQueue->Busy) {
		DeviceQueue->Busy = TRUE;
		DeviceQueueEntry->Inserted = FALSE;
		return FALSE;
	}
	InsertTailList(&DeviceQueue->DeviceListHead, &DeviceQueueEntry->DeviceListEntry);
	DeviceQueueEntry->Inserted = TRUE;
	return TRUE;
}

BOOLEAN KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry,
                                 ULONG SortKey)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	dc_ktouch(s, DeviceQueueEntry, sizeof(*DeviceQueueEntry), true);
	DeviceQueueEntry->SortKey = SortKey;
	if (!DeviceQueue->Busy) {
		DeviceQueue->Busy = TRUE;
		DeviceQueueEntry->Inserted = FALSE;
		return FALSE;
	}
	PLIST_ENTRY le = DeviceQueue->DeviceListHead.Flink;
	while (le != &DeviceQueue->DeviceListHead &&
	       CONTAINING_RECORD(le, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey <= SortKey)
		le = le->Flink;
	/* Insert before le. */
	PLIST_ENTRY prev = le->Blink;
	DeviceQueueEntry->DeviceListEntry.Flink = le;
	DeviceQueueEntry->DeviceListEntry.Blink = prev;
	prev->Flink = &DeviceQueueEntry->DeviceListEntry;
	le->Blink = &DeviceQueueEntry->DeviceListEntry;
	DeviceQueueEntry->Inserted = TRUE;
	return TRUE;
}

PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	if (IsListEmpty(&DeviceQueue->DeviceListHead)) {
		DeviceQueue->Busy = FALSE;
		return NULL;
	}
	PKDEVICE_QUEUE_ENTRY e = CONTAINING_RECORD(RemoveHeadList(&DeviceQueue->DeviceListHead),
	                                           KDEVICE_QUEUE_ENTRY, DeviceListEntry);
	e->Inserted = FALSE;
	return e;
}

PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	if (IsListEmpty(&DeviceQueue->DeviceListHead)) {
		DeviceQueue->Busy = FALSE;
		return NULL;
	}
	PLIST_ENTRY le = DeviceQueue->DeviceListHead.Flink;
	while (le != &DeviceQueue->DeviceListHead &&
	       CONTAINING_RECORD(le, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey < SortKey)
		le = le->Flink;
	if (le == &DeviceQueue->DeviceListHead)
		le = DeviceQueue->DeviceListHead.Flink;
	RemoveEntryList(le);
	PKDEVICE_QUEUE_ENTRY e = CONTAINING_RECORD(le, KDEVICE_QUEUE_ENTRY, DeviceListEntry);
	e->Inserted = FALSE;
	return e;
}

BOOLEAN KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, DeviceQueue, sizeof(*DeviceQueue), true);
	dc_ktouch(s, DeviceQueueEntry, sizeof(*DeviceQueueEntry), true);
	if (!DeviceQueueEntry->Inserted)
		return FALSE;
	RemoveEntryList(&DeviceQueueEntry->DeviceListEntry);
	DeviceQueueEntry->Inserted = FALSE;
	return TRUE;
}

static void start_io(PDEVICE_OBJECT dev, PIRP irp)
{
	dev->CurrentIrp = irp;
	dev->DriverObject->DriverStartIo(dev, irp);
}

void IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key, PDRIVER_CANCEL CancelFunction)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoStartPacket", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!DeviceObject || !Irp || !DeviceObject->DriverObject->DriverStartIo) {
		dc_kbugcheck(s, 0x0000001E, "IoStartPacket without a StartIo routine", RA());
		return;
	}
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	if (CancelFunction)
		Irp->CancelRoutine = CancelFunction;
	BOOLEAN queued = Key ? KeInsertByKeyDeviceQueue(&DeviceObject->DeviceQueue,
	                                                &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
	                     : KeInsertDeviceQueue(&DeviceObject->DeviceQueue,
	                                           &Irp->Tail.Overlay.DeviceQueueEntry);
	if (!queued)
		start_io(DeviceObject, Irp);
	dc_irql_lower(s, old);
}

static void start_next(PDEVICE_OBJECT dev, bool by_key, ULONG key)
{
	dev->CurrentIrp = NULL;
	PKDEVICE_QUEUE_ENTRY e = by_key ? KeRemoveByKeyDeviceQueue(&dev->DeviceQueue, key)
	                                : KeRemoveDeviceQueue(&dev->DeviceQueue);
	if (e)
		start_io(dev, CONTAINING_RECORD(e, IRP, Tail.Overlay.DeviceQueueEntry));
}

void IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable)
{
	(void)Cancelable;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoStartNextPacket", DISPATCH_LEVEL, DISPATCH_LEVEL, RA());
	if (!DeviceObject)
		return;
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	start_next(DeviceObject, false, 0);
	dc_irql_lower(s, old);
}

void IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key)
{
	(void)Cancelable;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoStartNextPacketByKey", DISPATCH_LEVEL, DISPATCH_LEVEL, RA());
	if (!DeviceObject)
		return;
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	start_next(DeviceObject, true, Key);
	dc_irql_lower(s, old);
}

/* --- DPC requests ------------------------------------------------------------------------- */

static void io_dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
	PDEVICE_OBJECT dev = DeferredContext;
	PIO_DPC_ROUTINE fn = (PIO_DPC_ROUTINE)(uintptr_t)dev->DmacohReserved[RES_IODPC];
	fn(Dpc, dev, SystemArgument1, SystemArgument2);
}

void IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine)
{
	if (!DeviceObject || !DpcRoutine)
		return;
	/* A function pointer kept in a data slot: POSIX guarantees the round trip. */
	DeviceObject->DmacohReserved[RES_IODPC] = (PVOID)(uintptr_t)DpcRoutine;
	KeInitializeDpc(&DeviceObject->Dpc, io_dpc, DeviceObject);
}

/* --- Interrupt objects -------------------------------------------------------------------- */

struct _KINTERRUPT {
	struct dc_kint *next; /* on the same line */
	struct dc_sys *s;
	unsigned line;
	PKSERVICE_ROUTINE isr;
	PVOID ctx;
	KIRQL irql, sync_irql;
	KINTERRUPT_MODE mode;
	PKSPIN_LOCK lock;
	KSPIN_LOCK own_lock;
	bool connected;
};
struct dc_kint {
	struct _KINTERRUPT k;
};

NTSTATUS IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                            PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql,
                            KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                            BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                            BOOLEAN FloatingSave)
{
	(void)FloatingSave;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoConnectInterrupt", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!InterruptObject || !ServiceRoutine || Vector < DC_VECTOR_BASE ||
	    Vector >= DC_VECTOR_BASE + DC_IRQ_LINES || ProcessorEnableMask == 0 ||
	    SynchronizeIrql < Irql)
		return STATUS_INVALID_PARAMETER;
	unsigned line = Vector - DC_VECTOR_BASE;
	if (Irql != DC_DIRQL(line))
		return STATUS_INVALID_PARAMETER;
	if (s->ints[line] && (!ShareVector || !s->ints[line]->k.ctx))
		return STATUS_INVALID_PARAMETER;
	struct dc_kint *ki = calloc(1, sizeof(*ki));
	if (!ki)
		return STATUS_INSUFFICIENT_RESOURCES;
	ki->k.s = s;
	ki->k.line = line;
	ki->k.isr = ServiceRoutine;
	ki->k.ctx = ServiceContext;
	ki->k.irql = Irql;
	ki->k.sync_irql = SynchronizeIrql;
	ki->k.mode = InterruptMode;
	s->mp.affinity[line] = ProcessorEnableMask; /* issue 17: the processors it goes to */
	ki->k.lock = SpinLock ? SpinLock : &ki->k.own_lock;
	ki->k.connected = true;
	ki->k.next = s->ints[line];
	s->ints[line] = ki;
	dc_ktouch(s, InterruptObject, sizeof(*InterruptObject), true);
	*InterruptObject = &ki->k;
	/* A line already asserted interrupts as soon as the IRQL allows. */
	if (dc_irq_asserted(&s->m->irq, line))
		s->irq_pending |= 1u << line;
	return STATUS_SUCCESS;
}

void IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoDisconnectInterrupt", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!InterruptObject)
		return;
	for (unsigned l = 0; l < DC_IRQ_LINES; l++) {
		for (struct dc_kint **pp = &s->ints[l]; *pp; pp = &(*pp)->k.next) {
			if (&(*pp)->k == InterruptObject) {
				struct dc_kint *ki = *pp;
				*pp = ki->k.next;
				free(ki);
				return;
			}
		}
	}
	dc_kbugcheck(s, 0x0000001E, "IoDisconnectInterrupt of an interrupt that is not connected",
	             RA());
}

BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                               PVOID SynchronizeContext)
{
	struct dc_sys *s = dc_k();
	if (!Interrupt || !SynchronizeRoutine) {
		dc_kbugcheck(s, 0x0000001E, "KeSynchronizeExecution with a NULL argument", RA());
		return FALSE;
	}
	dc_irql_require(s, "KeSynchronizeExecution", PASSIVE_LEVEL, Interrupt->sync_irql, RA());
	KIRQL old = dc_irql_raise(s, Interrupt->sync_irql);
	BOOLEAN r = SynchronizeRoutine(SynchronizeContext);
	dc_irql_lower(s, old);
	return r;
}

KIRQL KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
	struct dc_sys *s = dc_k();
	if (!Interrupt) {
		dc_kbugcheck(s, 0x0000001E, "KeAcquireInterruptSpinLock with a NULL interrupt",
		             RA());
		return s->irql;
	}
	dc_irql_require(s, "KeAcquireInterruptSpinLock", PASSIVE_LEVEL, Interrupt->sync_irql, RA());
	return dc_irql_raise(s, Interrupt->sync_irql);
}

void KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
	struct dc_sys *s = dc_k();
	if (!Interrupt) {
		dc_kbugcheck(s, 0x0000001E, "KeReleaseInterruptSpinLock with a NULL interrupt",
		             RA());
		return;
	}
	dc_irql_require(s, "KeReleaseInterruptSpinLock", Interrupt->sync_irql, Interrupt->sync_irql,
	                RA());
	dc_irql_lower(s, OldIrql);
}

void dc_io_run_isrs(struct dc_sys *s, unsigned line)
{
	struct dc_kint *ki = s->ints[line];
	if (!ki)
		return; /* nobody connected: the interrupt is dismissed */
	KIRQL old = s->irql;
	s->irql = DC_DIRQL(line);
	bool claimed = false;
	bool was = s->delivering;
	s->delivering = false;
	struct dc_kev e = {.type = DC_KEV_ISR, .value = line, .status = 1, .irql = s->irql};
	dc_kev_emit(s, &e);
	for (; ki && !claimed; ki = ki->k.next) {
		struct dc_kint *k = ki;
		claimed = k->k.isr(&k->k, k->k.ctx);
	}
	e = (struct dc_kev){
	    .type = DC_KEV_ISR, .value = line, .status = 0, .irql = s->irql, .count = claimed};
	dc_kev_emit(s, &e);
	s->delivering = was;
	s->irql = old;
	/* A level-triggered line still asserted interrupts again; a storm from an ISR that never
	 * claims or acknowledges its device is cut off, as Windows' interrupt storm detection
	 * does with a bug check.  A latched (edge-triggered) line interrupts once per rising
	 * edge: still asserted is no new interrupt. */
	bool latched = s->ints[line] && s->ints[line]->k.mode == Latched;
	if (dc_irq_asserted(&s->m->irq, line) && !latched) {
		if (++s->irq_storm[line] > 1000) {
			dc_kbugcheck(s, 0x0000009C /* INTERRUPT_STORM */,
			             "interrupt storm: the ISR does not acknowledge its device",
			             NULL);
			s->irq_storm[line] = 0;
			return;
		}
		s->irq_pending |= 1u << line;
	} else {
		s->irq_storm[line] = 0;
	}
}

/* --- The bus driver (PDOs) ------------------------------------------------------------------ */

static NTSTATUS bus_complete(PIRP irp, NTSTATUS st)
{
	irp->IoStatus.Status = st;
	IofCompleteRequest(irp, IO_NO_INCREMENT);
	return st;
}

static NTSTATUS bus_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
	struct dc_sysdev *d = dev->DmacohReserved[RES_SYSDEV];
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	switch (sp->MinorFunction) {
	case IRP_MN_START_DEVICE:
		d->started = true;
		return bus_complete(irp, STATUS_SUCCESS);
	case IRP_MN_STOP_DEVICE:
	case IRP_MN_REMOVE_DEVICE:
	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		return bus_complete(irp, STATUS_SUCCESS);
	default:
		return bus_complete(irp, irp->IoStatus.Status);
	}
}

static NTSTATUS bus_power(PDEVICE_OBJECT dev, PIRP irp)
{
	(void)dev;
	return bus_complete(irp, STATUS_SUCCESS);
}

static NTSTATUS bus_other(PDEVICE_OBJECT dev, PIRP irp)
{
	(void)dev;
	irp->IoStatus.Information = 0;
	return bus_complete(irp, STATUS_INVALID_DEVICE_REQUEST);
}

bool dc_io_handles(PDEVICE_OBJECT dev, UCHAR major)
{
	return dev && dev->DriverObject && major <= IRP_MJ_MAXIMUM_FUNCTION &&
	       dev->DriverObject->MajorFunction[major] != bus_other;
}

int dc_io_create_bus(struct dc_sys *s)
{
	DRIVER_OBJECT *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->Type = 4;
	d->Size = sizeof(*d);
	for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
		d->MajorFunction[i] = bus_other;
	d->MajorFunction[IRP_MJ_PNP] = bus_pnp;
	d->MajorFunction[IRP_MJ_POWER] = bus_power;
	s->bus_driver = d;
	return DC_OK;
}

void dc_io_destroy_bus(struct dc_sys *s)
{
	free(s->bus_driver);
	s->bus_driver = NULL;
}

PDEVICE_OBJECT dc_io_create_pdo(struct dc_sys *s, struct dc_sysdev *d)
{
	PDEVICE_OBJECT pdo = NULL;
	KIRQL old = s->irql;
	s->irql = PASSIVE_LEVEL;
	NTSTATUS st = IoCreateDevice(s->bus_driver, 0, NULL, FILE_DEVICE_BUS_EXTENDER,
	                             FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &pdo);
	s->irql = old;
	if (!NT_SUCCESS(st))
		return NULL;
	pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
	pdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
	pdo->DmacohReserved[RES_SYSDEV] = d;
	return pdo;
}

void dc_io_delete_pdo(struct dc_sys *s, struct dc_sysdev *d)
{
	(void)s;
	if (!d->pdo)
		return;
	PDRIVER_OBJECT drv = d->pdo->DriverObject;
	for (PDEVICE_OBJECT *pp = &drv->DeviceObject; *pp; pp = &(*pp)->NextDevice)
		if (*pp == d->pdo) {
			*pp = d->pdo->NextDevice;
			break;
		}
	free(d->pdo);
	d->pdo = NULL;
}

struct dc_sysdev *dc_io_pdo_sysdev(PDEVICE_OBJECT pdo)
{
	if (!pdo)
		return NULL;
	struct dc_sys *s = dc_sys_cur;
	/* Only the kernel's own PDOs carry a device: a driver may pass any device object. */
	for (unsigned i = 0; s && i < s->n_devs; i++)
		if (s->devs[i]->pdo == pdo)
			return s->devs[i];
	return NULL;
}

/* --- Resources ---------------------------------------------------------------------------- */

int dc_io_resources(struct dc_sys *s, struct dc_sysdev *d, PCM_RESOURCE_LIST *raw,
                    PCM_RESOURCE_LIST *translated)
{
	(void)s;
	const struct dc_device_res *r = &d->dev.res;
	unsigned n = (r->port_len ? 1 : 0) + (r->mmio_len ? 1 : 0) + (r->irq >= 0 ? 1 : 0) +
	             (r->dma_channel >= 0 ? 1 : 0) + (r->has_dma2 ? 1 : 0);
	size_t sz =
	    sizeof(CM_RESOURCE_LIST) + (n ? n - 1 : 0) * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR);
	PCM_RESOURCE_LIST lists[2];
	for (int t = 0; t < 2; t++) {
		PCM_RESOURCE_LIST l = calloc(1, sz);
		if (!l) {
			if (t)
				free(lists[0]);
			return DC_ERR_NOMEM;
		}
		lists[t] = l;
		l->Count = 1;
		l->List[0].InterfaceType = d->bm ? PCIBus : Isa;
		l->List[0].PartialResourceList.Version = 1;
		l->List[0].PartialResourceList.Revision = 1;
		l->List[0].PartialResourceList.Count = n;
		PCM_PARTIAL_RESOURCE_DESCRIPTOR p =
		    l->List[0].PartialResourceList.PartialDescriptors;
		if (r->port_len) {
			p->Type = CmResourceTypePort;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = CM_RESOURCE_PORT_IO | CM_RESOURCE_PORT_16_BIT_DECODE;
			p->u.Port.Start.QuadPart = r->port_base;
			p->u.Port.Length = r->port_len;
			p++;
		}
		if (r->mmio_len) {
			p->Type = CmResourceTypeMemory;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = CM_RESOURCE_MEMORY_READ_WRITE;
			p->u.Memory.Start.QuadPart = (LONGLONG)r->mmio_base;
			p->u.Memory.Length = (ULONG)r->mmio_len;
			p++;
		}
		if (r->irq >= 0 && r->irq_mode == DC_IRQ_MSI) {
			/* One descriptor for all messages, as the PCI bus reports MSI. */
			p->Type = CmResourceTypeInterrupt;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = CM_RESOURCE_INTERRUPT_LATCHED | CM_RESOURCE_INTERRUPT_MESSAGE;
			if (t == 0) {
				p->u.MessageInterrupt.Raw.MessageCount = (USHORT)r->msi_messages;
				p->u.MessageInterrupt.Raw.Vector =
				    CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN;
				p->u.MessageInterrupt.Raw.Affinity = 1;
			} else {
				p->u.MessageInterrupt.Translated.Level = DC_DIRQL((unsigned)r->irq);
				p->u.MessageInterrupt.Translated.Vector =
				    DC_VECTOR_BASE + (ULONG)r->irq;
				p->u.MessageInterrupt.Translated.Affinity = 1;
			}
			p++;
		} else if (r->irq >= 0) {
			p->Type = CmResourceTypeInterrupt;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE;
			if (t == 0) {
				p->u.Interrupt.Level = (ULONG)r->irq;
				p->u.Interrupt.Vector = (ULONG)r->irq;
			} else {
				p->u.Interrupt.Level = DC_DIRQL((unsigned)r->irq);
				p->u.Interrupt.Vector = DC_VECTOR_BASE + (ULONG)r->irq;
			}
			/* Every processor, as the PnP manager assigns by default (issue 17). */
			p->u.Interrupt.Affinity = (KAFFINITY)((UINT64_C(1) << dc_mp_count(s)) - 1);
			p++;
		}
		if (r->dma_channel >= 0) {
			p->Type = CmResourceTypeDma;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = r->dma_width == 16 ? CM_RESOURCE_DMA_16 : CM_RESOURCE_DMA_8;
			p->u.Dma.Channel = (ULONG)r->dma_channel;
			p->u.Dma.Port = 0;
			p++;
		}
		if (r->has_dma2) {
			p->Type = CmResourceTypeDma;
			p->ShareDisposition = CmResourceShareDeviceExclusive;
			p->Flags = r->dma_width2 == 16 ? CM_RESOURCE_DMA_16 : CM_RESOURCE_DMA_8;
			p->u.Dma.Channel = (ULONG)r->dma_channel2;
			p->u.Dma.Port = 0;
			p++;
		}
	}
	*raw = lists[0];
	*translated = lists[1];
	return DC_OK;
}

/* --- Loading and PnP ------------------------------------------------------------------------ */

static int add_driver(struct dc_sys *s, const char *name, void *handle, PDRIVER_INITIALIZE entry,
                      const struct dmacoh_driver_info *info, struct dc_driver **out)
{
	if (s->n_drvs == DC_SYS_MAX_DRIVERS)
		return DC_ERR_NOMEM;
	struct dc_driver *drv = calloc(1, sizeof(*drv));
	DRIVER_OBJECT *obj = calloc(1, sizeof(*obj));
	DRIVER_EXTENSION *ext = calloc(1, sizeof(*ext));
	if (!drv || !obj || !ext) {
		free(drv), free(obj), free(ext);
		return DC_ERR_NOMEM;
	}
	drv->s = s;
	snprintf(drv->name, sizeof(drv->name), "%s", name);
	drv->handle = handle;
	drv->info = info;
	drv->obj = obj;
	drv->ext = ext;
	obj->Type = 4;
	obj->Size = sizeof(*obj);
	obj->DriverExtension = ext;
	obj->DriverInit = entry;
	ext->DriverObject = obj;
	/* Until DriverEntry fills them, every major function fails as the I/O manager's default. */
	for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
		obj->MajorFunction[i] = bus_other;
	s->drvs[s->n_drvs++] = drv;
	drv->unloaded = true; /* until DriverEntry succeeds: nothing to unload */
	*out = drv;
	return DC_OK;
}

int dc_sys_init_driver(struct dc_sys *s, struct dc_driver *drv, NTSTATUS *status)
{
	dc_sys_cur = s;
	if (drv->entered)
		return DC_ERR_STATE;
	drv->entered = true;
	/* The driver's service key, NUL-terminated as Windows hands it over. */
	static _Thread_local WCHAR regpath[160];
	UNICODE_STRING rp;
	dc_reg_driver_key(s, drv->name, regpath, DC_ARRAY_SIZE(regpath), &rp);
	s->irql = PASSIVE_LEVEL;
	NTSTATUS st = drv->obj->DriverInit(drv->obj, &rp);
	if (status)
		*status = st;
	if (!NT_SUCCESS(st))
		return DC_ERR_STATE;
	drv->unloaded = false;
	/* The I/O manager clears DO_DEVICE_INITIALIZING on the devices DriverEntry created (a
	 * legacy driver's); AddDevice's own devices are the driver's to clear. */
	for (PDEVICE_OBJECT d = drv->obj->DeviceObject; d; d = d->NextDevice)
		d->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
	return DC_OK;
}

bool dc_sys_driver_is_legacy(const struct dc_driver *drv)
{
	return drv->entered && !drv->unloaded && !drv->obj->DriverExtension->AddDevice;
}

int dc_sys_load_entry(struct dc_sys *s, const char *name, PDRIVER_INITIALIZE entry,
                      struct dc_driver **out, NTSTATUS *status)
{
	dc_sys_cur = s;
	if (out)
		*out = NULL;
	if (!entry)
		return DC_ERR_INVAL;
	struct dc_driver *drv;
	int e = add_driver(s, name, NULL, entry, NULL, &drv);
	if (!e && !(e = dc_sys_init_driver(s, drv, status)) && out)
		*out = drv;
	return e;
}

/* Whether the file at path is a module dmacoh-cc built (its dynamic symbols hold the marker),
 * read with libelf before dlopen so that nothing of a foreign module runs. */
static int module_marked(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the driver module", path);
		return DC_ERR_IO;
	}
	bool elf = false, marked = false;
	Elf *e = NULL;
	if (elf_version(EV_CURRENT) != EV_NONE && (e = elf_begin(fd, ELF_C_READ, NULL)) &&
	    elf_kind(e) == ELF_K_ELF) {
		elf = true;
		for (Elf_Scn *scn = NULL; !marked && (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			for (size_t i = 0; d && !marked && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				const char *name;
				if (gelf_getsym(d, (int)i, &sym) && sym.st_shndx != SHN_UNDEF &&
				    (name = elf_strptr(e, sh.sh_link, sym.st_name)) &&
				    !strcmp(name, DMACOH_MODULE_MARKER))
					marked = true;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!elf) {
		snprintf(err, errlen, "%s: not a driver module (not an ELF shared object)", path);
		return DC_ERR_INVAL;
	}
	if (!marked) {
		snprintf(err, errlen,
		         "%s: not built by dmacoh-cc (no instrumentation marker): rebuild it with "
		         "dmacoh-cc so that its accesses go through the cache model",
		         path);
		return DC_ERR_INVAL;
	}
	return DC_OK;
}

/* After a failed dlopen: every import of the module that nothing in the process defines (the
 * loader names only the first), as one line "N routines not provided by dmacoh: A, B, ...".
 * False if there is none (the dlopen failed for another reason). */
static bool missing_imports(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t n = 0, len = 0;
	char list[1024] = "";
	for (Elf_Scn *scn = NULL; e && (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;
			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx != SHN_UNDEF ||
			    GELF_ST_BIND(sym.st_info) == STB_WEAK ||
			    !(name = elf_strptr(e, sh.sh_link, sym.st_name)) || !*name ||
			    dlsym(RTLD_DEFAULT, name))
				continue;
			int k =
			    snprintf(list + len, sizeof(list) - len, "%s%s", n ? ", " : "", name);
			if (k > 0 && (size_t)k < sizeof(list) - len)
				len += (size_t)k;
			n++;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (n)
		snprintf(
		    err, errlen,
		    "%s: %zu imported routine%s not provided by dmacoh: %s (dmacoh list exports)",
		    path, n, n == 1 ? "" : "s", list);
	return n > 0;
}

int dc_sys_open_module(struct dc_sys *s, const char *path, struct dc_driver **out, char *err,
                       size_t errlen)
{
	dc_sys_cur = s;
	if (out)
		*out = NULL;
	int me = module_marked(path, err, errlen);
	if (me)
		return me;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		missing_imports(path, err, errlen);
		return DC_ERR_IO;
	}
	void *sym = dlsym(h, "DriverEntry");
	if (!sym) {
		snprintf(err, errlen, "%s: no DriverEntry", path);
		dlclose(h);
		return DC_ERR_NOTFOUND;
	}
	PDRIVER_INITIALIZE entry = (PDRIVER_INITIALIZE)(uintptr_t)sym;
	const struct dmacoh_driver_info *info = dlsym(h, "dmacoh_driver_info");
	if (info && info->version != DMACOH_DRIVER_INFO_VERSION)
		info = NULL;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char name[64];
	snprintf(name, sizeof(name), "%s", base);
	char *dot = strrchr(name, '.');
	if (dot)
		*dot = 0;
	int e = add_driver(s, name, h, entry, info, out);
	if (e) {
		snprintf(err, errlen, "%s: too many drivers", path);
		dlclose(h);
	}
	return e;
}

int dc_sys_load_module(struct dc_sys *s, const char *path, struct dc_driver **out, NTSTATUS *status,
                       char *err, size_t errlen)
{
	struct dc_driver *drv;
	if (out)
		*out = NULL;
	int e = dc_sys_open_module(s, path, &drv, err, errlen);
	if (e)
		return e;
	NTSTATUS st = 0;
	e = dc_sys_init_driver(s, drv, &st);
	if (status)
		*status = st;
	if (e == DC_ERR_STATE)
		snprintf(err, errlen, "%s: DriverEntry failed with status 0x%08X", path,
		         (unsigned)st);
	else if (out)
		*out = drv;
	return e;
}

const struct dmacoh_driver_info *dc_driver_info(const struct dc_driver *drv)
{
	return drv->info;
}

PDRIVER_OBJECT dc_driver_object(struct dc_driver *drv)
{
	return drv->obj;
}

static PDEVICE_OBJECT stack_top(PDEVICE_OBJECT pdo)
{
	while (pdo->AttachedDevice)
		pdo = pdo->AttachedDevice;
	return pdo;
}

/* Sends a PnP IRP down the device's stack at PASSIVE and runs time until it completes. */
static NTSTATUS send_pnp(struct dc_sys *s, struct dc_sysdev *d, UCHAR minor, PCM_RESOURCE_LIST raw,
                         PCM_RESOURCE_LIST translated)
{
	PDEVICE_OBJECT top = stack_top(d->pdo);
	PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
	if (!irp)
		return STATUS_INSUFFICIENT_RESOURCES;
	struct dc_req r = {.s = s, .major = IRP_MJ_PNP, .top = top};
	irp->DmacohReserved[RES_REQ] = &r;
	irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->MajorFunction = IRP_MJ_PNP;
	sp->MinorFunction = minor;
	sp->Parameters.StartDevice.AllocatedResources = raw;
	sp->Parameters.StartDevice.AllocatedResourcesTranslated = translated;
	s->irql = PASSIVE_LEVEL;
	IofCallDriver(top, irp);
	dc_sys_wait(s, irp, UINT64_C(10000000000));
	NTSTATUS st = r.done ? irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
	if (r.done)
		IoFreeIrp(irp);
	else
		irp->DmacohReserved[RES_REQ] = NULL; /* leaked to the driver that holds it */
	return st;
}

int dc_sys_start_device(struct dc_sys *s, struct dc_driver *drv, struct dc_sysdev *d,
                        PDEVICE_OBJECT *top, NTSTATUS *status)
{
	dc_sys_cur = s;
	if (top)
		*top = NULL;
	NTSTATUS st = STATUS_SUCCESS;
	PDRIVER_ADD_DEVICE add = drv->obj->DriverExtension->AddDevice;
	if (!add) {
		if (status)
			*status = STATUS_INVALID_DEVICE_REQUEST;
		return DC_ERR_STATE;
	}
	s->irql = PASSIVE_LEVEL;
	s->start_failed_at = NULL;
	st = add(drv->obj, d->pdo);
	if (!NT_SUCCESS(st)) {
		s->start_failed_at = dc_fn_addr((void (*)(void))add);
		if (status)
			*status = st;
		return DC_ERR_STATE;
	}
	PCM_RESOURCE_LIST raw, tr;
	int err = dc_io_resources(s, d, &raw, &tr);
	if (err)
		return err;
	st = send_pnp(s, d, IRP_MN_START_DEVICE, raw, tr);
	free(raw);
	free(tr);
	if (status)
		*status = st;
	/* The bus marked its PDO started when the IRP passed it; the stack as a whole is not.
	 * Windows' PnP manager then sends IRP_MN_REMOVE_DEVICE (no STOP: the device never
	 * started) while the driver is still loaded, so that it frees what START took and
	 * deletes its FDO before DriverUnload; the leak check runs at that remove, as on any
	 * other. */
	if (!NT_SUCCESS(st)) {
		PDEVICE_OBJECT t = stack_top(d->pdo);
		if (t && t->DriverObject && t->DriverObject->MajorFunction[IRP_MJ_PNP])
			s->start_failed_at =
			    dc_fn_addr((void (*)(void))t->DriverObject->MajorFunction[IRP_MJ_PNP]);
		if (t && t != d->pdo) {
			const void *at = s->start_failed_at;
			(void)send_pnp(s, d, IRP_MN_REMOVE_DEVICE, NULL, NULL);
			s->start_failed_at = at;
			struct dc_kev e = {.type = DC_KEV_REMOVE,
			                   .routine = "IRP_MN_REMOVE_DEVICE",
			                   .device = d->pdo};
			dc_kev_emit(s, &e);
		}
		d->started = false;
		return DC_ERR_STATE;
	}
	d->started = true;
	if (top)
		*top = stack_top(d->pdo);
	return DC_OK;
}

const void *dc_sys_start_failed_at(const struct dc_sys *s)
{
	return s->start_failed_at;
}

int dc_sys_remove_device(struct dc_sys *s, struct dc_sysdev *d, NTSTATUS *status)
{
	dc_sys_cur = s;
	NTSTATUS st = send_pnp(s, d, IRP_MN_STOP_DEVICE, NULL, NULL);
	NTSTATUS st2 = send_pnp(s, d, IRP_MN_REMOVE_DEVICE, NULL, NULL);
	d->started = false;
	struct dc_kev e = {
	    .type = DC_KEV_REMOVE, .routine = "IRP_MN_REMOVE_DEVICE", .device = d->pdo};
	dc_kev_emit(s, &e);
	if (status)
		*status = NT_SUCCESS(st) ? st2 : st;
	return NT_SUCCESS(st) && NT_SUCCESS(st2) ? DC_OK : DC_ERR_STATE;
}

int dc_sys_unload(struct dc_sys *s, struct dc_driver *drv)
{
	dc_sys_cur = s;
	if (drv->unloaded)
		return DC_ERR_STATE;
	s->irql = PASSIVE_LEVEL;
	if (drv->obj->DriverUnload)
		drv->obj->DriverUnload(drv->obj);
	struct dc_kev e = {.type = DC_KEV_UNLOAD, .routine = "DriverUnload"};
	dc_kev_emit(s, &e);
	drv->unloaded = true;
	/* Its system threads that are still alive never run again (their code goes away). */
	Dl_info di;
	if (drv->obj->DriverInit && dladdr(dc_fn_addr((void (*)(void))drv->obj->DriverInit), &di))
		dc_threads_unload(s, di.dli_fbase, drv->name);
	/* Device objects the driver did not delete stay (a leak Windows reports too). */
	dc_ke_timers_fini(s);
	if (drv->handle) {
		dlclose(drv->handle);
		drv->handle = NULL;
	}
	return DC_OK;
}

/* --- The application's requests ------------------------------------------------------------ */

static PIRP new_request(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major, ULONG length)
{
	PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
	struct dc_req *r = calloc(1, sizeof(*r));
	if (!irp || !r) {
		free(irp);
		free(r);
		return NULL;
	}
	r->s = s;
	r->major = major;
	r->length = length;
	r->top = top;
	irp->DmacohReserved[RES_REQ] = r;
	irp->IoStatus.Status = STATUS_PENDING;
	irp->RequestorMode = UserMode;
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->MajorFunction = major;
	return irp;
}

/* The pages direct I/O locks for buf: buf itself when it is simulated memory, else a bounce
 * buffer (copied from buf first when the device reads it, back to buf at the finish when the
 * device writes it).  NULL when memory runs out. */
static void *direct_pages(struct dc_sys *s, struct dc_req *r, void *buf, ULONG len, bool to_device,
                          bool from_device)
{
	if (dc_mem_in_cached(&s->m->mem, buf))
		return buf;
	void *b = dc_sys_alloc_buffer(s, len, (uint32_t)((uintptr_t)buf & (DC_PAGE_SIZE - 1)),
	                              DC_ZONE_ANY);
	if (!b)
		return NULL;
	if (to_device)
		dc_cpu_write(s->m, b, buf, len);
	r->bounce = b;
	r->bounced = buf;
	r->bounce_back = from_device;
	return b;
}

/* An MDL over len bytes at buf (simulated memory), by its "user" address, probed and locked. */
static PMDL user_mdl(struct dc_sys *s, void *buf, ULONG len, LOCK_OPERATION op)
{
	PMDL mdl = IoAllocateMdl(dc_uva_of(s, buf), len, FALSE, FALSE, NULL);
	if (mdl)
		MmProbeAndLockPages(mdl, UserMode, op);
	return mdl;
}

static void free_request(struct dc_sys *s, PIRP irp, struct dc_req *r)
{
	if (r->sysbuf)
		dc_pool_free(s, r->sysbuf);
	if (r->bounce)
		dc_sys_free_buffer(s, r->bounce);
	free(r);
	IoFreeIrp(irp);
}

PIRP dc_sys_build_rw(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major, void *buf, ULONG len,
                     uint64_t offset)
{
	dc_sys_cur = s;
	PIRP irp = new_request(s, top, major, len);
	if (!irp)
		return NULL;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->Parameters.Read.Length = len;
	sp->Parameters.Read.ByteOffset.QuadPart = (LONGLONG)offset;
	void *ubuf = buf;
	if (len && (top->Flags & DO_BUFFERED_IO)) {
		r->sysbuf = dc_pool_alloc(s, len, false, 'fuBS');
		if (!r->sysbuf)
			goto fail;
		irp->AssociatedIrp.SystemBuffer = r->sysbuf;
		irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
		if (major == IRP_MJ_WRITE) {
			uint8_t tmp[256];
			for (ULONG o = 0; o < len; o += sizeof(tmp)) {
				ULONG n = DC_MIN(len - o, (ULONG)sizeof(tmp));
				dc_cpu_read(s->m, (uint8_t *)buf + o, tmp, n);
				dc_cpu_write(s->m, (uint8_t *)r->sysbuf + o, tmp, n);
			}
		} else {
			irp->Flags |= IRP_INPUT_OPERATION;
			r->user_out = buf;
			r->out_len = len;
		}
	} else if (len) {
		/* Direct I/O: the application's pages, described by their "user" address. */
		ubuf = direct_pages(s, r, buf, len, major != IRP_MJ_READ, major == IRP_MJ_READ);
		PMDL mdl = ubuf ? user_mdl(s, ubuf, len,
		                           major == IRP_MJ_READ ? IoWriteAccess : IoReadAccess)
		                : NULL;
		if (!mdl)
			goto fail;
		irp->MdlAddress = mdl;
		r->mdl = mdl;
	}
	irp->UserBuffer = dc_uva_of(s, ubuf);
	return irp;
fail:
	free_request(s, irp, r);
	return NULL;
}

PIRP dc_sys_build_ioctl(struct dc_sys *s, PDEVICE_OBJECT top, ULONG code, const void *in,
                        ULONG in_len, void *out, ULONG out_len)
{
	dc_sys_cur = s;
	PIRP irp = new_request(s, top, IRP_MJ_DEVICE_CONTROL, out_len);
	if (!irp)
		return NULL;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->Parameters.DeviceIoControl.IoControlCode = code;
	sp->Parameters.DeviceIoControl.InputBufferLength = in_len;
	sp->Parameters.DeviceIoControl.OutputBufferLength = out_len;
	ULONG method = METHOD_FROM_CTL_CODE(code);
	if (method == METHOD_NEITHER) {
		/* The caller's addresses, raw: the driver probes and reads them in the caller's
		 * context (the application's thread is the one dispatch runs on). */
		sp->Parameters.DeviceIoControl.Type3InputBuffer = (PVOID)(uintptr_t)in;
		irp->UserBuffer = out;
		return irp;
	}
	/* METHOD_BUFFERED: one system buffer of the larger length, input copied in, Information
	 * bytes copied out.  The direct methods: input in the system buffer, output buffer
	 * locked in an MDL (IoReadAccess for IN_DIRECT, the device reads it; IoWriteAccess for
	 * OUT_DIRECT). */
	ULONG n = method == METHOD_BUFFERED ? DC_MAX(in_len, out_len) : in_len;
	if (n) {
		r->sysbuf = dc_pool_alloc(s, n, true, 'fuBS');
		if (!r->sysbuf)
			goto fail;
		if (in_len)
			dc_cpu_write(s->m, r->sysbuf, in, in_len);
		irp->AssociatedIrp.SystemBuffer = r->sysbuf;
		irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER |
		              (method == METHOD_BUFFERED ? IRP_INPUT_OPERATION : 0);
	}
	if (method == METHOD_BUFFERED) {
		r->user_out = out;
		r->out_len = out_len;
	} else if (out_len) {
		bool in_direct = method == METHOD_IN_DIRECT;
		void *ubuf = direct_pages(s, r, out, out_len, true, !in_direct);
		PMDL mdl =
		    ubuf ? user_mdl(s, ubuf, out_len, in_direct ? IoReadAccess : IoWriteAccess)
		         : NULL;
		if (!mdl)
			goto fail;
		irp->MdlAddress = mdl;
		r->mdl = mdl;
		irp->UserBuffer = dc_uva_of(s, ubuf);
	}
	return irp;
fail:
	free_request(s, irp, r);
	return NULL;
}

PIRP dc_sys_build_file(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major)
{
	dc_sys_cur = s;
	return new_request(s, top, major, 0);
}

void dc_sys_irp_set_file(PIRP irp, void *file_object)
{
	IoGetNextIrpStackLocation(irp)->FileObject = file_object;
	irp->Tail.Overlay.OriginalFileObject = file_object;
}

void dc_sys_irp_on_done(PIRP irp, dc_irp_done_fn fn, void *opaque)
{
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	if (r) {
		r->on_done = fn;
		r->done_opaque = opaque;
	}
}

NTSTATUS dc_sys_send(struct dc_sys *s, PIRP irp)
{
	dc_sys_cur = s;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	uint32_t n = 0;
	struct dc_kev_piece *pieces =
	    r->mdl ? dc_mdl_kev_pieces(s, r->mdl, 0, MmGetMdlByteCount(r->mdl), &n) : NULL;
	struct dc_kev e = {.type = DC_KEV_IRP_SEND,
	                   .routine = "IoCallDriver",
	                   .irp = irp,
	                   .device = r->top,
	                   .value = sp->MajorFunction,
	                   .mdl = r->mdl,
	                   .len = r->length,
	                   .pieces = pieces,
	                   .n_pieces = n};
	dc_kev_emit(s, &e);
	free(pieces);
	s->irql = PASSIVE_LEVEL;
	NTSTATUS st = IofCallDriver(r->top, irp);
	dc_sys_deliver(s);
	return st;
}

bool dc_sys_irp_done(PIRP irp)
{
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	return r && r->done;
}

BOOLEAN dc_sys_cancel(struct dc_sys *s, PIRP irp)
{
	dc_sys_cur = s;
	s->irql = PASSIVE_LEVEL;
	return IoCancelIrp(irp);
}

static bool req_done(void *opaque)
{
	return ((struct dc_req *)opaque)->done;
}

int dc_sys_wait(struct dc_sys *s, PIRP irp, uint64_t timeout_ns)
{
	dc_sys_cur = s;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	struct dc_clock *c = &s->m->clock;
	uint64_t deadline = c->now + timeout_ns < c->now ? UINT64_MAX : c->now + timeout_ns;
	s->irql = PASSIVE_LEVEL;
	dc_sys_deliver(s);
	if (!r || r->done)
		return DC_OK;
	/* The application's thread waits; system threads, devices and DPCs run meanwhile. */
	struct dc_kwait w = {.deadline = deadline, .pred = req_done, .pred_arg = r};
	NTSTATUS st = dc_sched_wait(s, &w);
	return st == STATUS_SUCCESS ? DC_OK : st == STATUS_TIMEOUT ? DC_ERR_TIMEOUT : DC_ERR_STATE;
}

IO_STATUS_BLOCK dc_sys_finish(struct dc_sys *s, PIRP irp)
{
	dc_sys_cur = s;
	IO_STATUS_BLOCK iosb = irp->IoStatus;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	if (!r) {
		IoFreeIrp(irp);
		return iosb;
	}
	uint8_t tmp[256];
	if (r->sysbuf && r->user_out && NT_SUCCESS(iosb.Status)) {
		ULONG n = (ULONG)DC_MIN((ULONG_PTR)r->out_len, iosb.Information);
		for (ULONG o = 0; o < n; o += sizeof(tmp)) {
			ULONG k = DC_MIN(n - o, (ULONG)sizeof(tmp));
			dc_cpu_read(s->m, (uint8_t *)r->sysbuf + o, tmp, k);
			dc_cpu_write(s->m, (uint8_t *)r->user_out + o, tmp, k);
		}
	}
	if (r->mdl) {
		MmUnlockPages(r->mdl);
		IoFreeMdl(r->mdl);
	}
	if (r->bounce && r->bounce_back && NT_SUCCESS(iosb.Status)) {
		ULONG n = (ULONG)DC_MIN((ULONG_PTR)r->length, iosb.Information);
		if (r->major == IRP_MJ_DEVICE_CONTROL)
			n = r->out_len ? r->out_len : r->length;
		dc_cpu_read(s->m, r->bounce, r->bounced, n);
	}
	free_request(s, irp, r);
	return iosb;
}
