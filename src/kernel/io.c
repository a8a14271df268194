/* The I/O manager: device and driver objects, IRPs and their stacks, completion, packet queues
 * (IoStartPacket / StartIo), interrupt objects and the application's requests.  Driver loading,
 * the bus driver that owns the PDOs and PnP as the PnP manager drives it are in pnp.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* --- Synchronisation events and the device-extension arena ------------------------------- */

void dc_ksync(struct dc_sys *s, enum dc_sync_op op, const void *obj, uint64_t arg)
{
	struct dc_machine *m = s->m;
	/* The accesses the hook's fast path gathered came before this edge (machine.h). */
	dc_machine_obs_sync(m);
	for (unsigned i = 0; i < m->n_obs; i++)
		if (m->obs[i]->sync)
			m->obs[i]->sync(m->obs_opaque[i], op, obj, arg);
}

/* Device extensions live in one reserved span so that driver accesses to them reach the race
 * detector (dc_machine_set_host_span) without entering the cache model: a device extension is
 * nonpaged pool on Windows, but its lines are never handed to a device, and modelling them in
 * the caches made gcc- and clang-built drivers differ.  Blocks are bump-allocated; a freed
 * block is reused for a request it fits (first fit, whole block).  When the span is full,
 * the extension comes from the host heap (untracked). */
#define DC_EXT_ARENA (64u << 20)
#define DC_EXT_ALIGN 16u

struct dc_ext_free {
	struct dc_ext_free *next;
	size_t size;
};

/* IRPs come just before the extensions in the same span (DC_IRP_REGION bytes, DC_IRP_SLOT per
 * IRP; before, so a wild store past the extensions still faults): the checker sees the
 * driver's accesses to an IRP's fields and can tell a completed one (S02).
 * A freed slot is reused only after DC_IRP_QUARANTINE others were freed, so a driver that
 * touches an IRP late touches its old bytes (reported), not another request's. */
#define DC_IRP_REGION (8u << 20)
#define DC_IRP_SLOTS (DC_IRP_REGION / DC_IRP_SLOT)
#define DC_IRP_QUARANTINE 256u

/* IRPS_FREED: freed after its completion (a touch is S02); IRPS_DEAD: freed by the driver that
 * owned it (the old bug checks apply). */
enum dc_irp_slot_state { IRPS_UNUSED, IRPS_LIVE, IRPS_COMPLETED, IRPS_FREED, IRPS_DEAD };

/* The span of extensions and IRPs, made on first use. */
static bool arena_ready(struct dc_sys *s)
{
	if (s->ext_arena)
		return true;
	void *p = mmap(NULL, DC_EXT_ARENA + DC_IRP_REGION, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	s->irp_quar = calloc(DC_IRP_SLOTS, sizeof(*s->irp_quar));
	s->irp_state = calloc(DC_IRP_SLOTS, sizeof(*s->irp_state));
	if (!s->irp_quar || !s->irp_state) {
		free(s->irp_quar);
		free(s->irp_state);
		s->irp_quar = NULL;
		s->irp_state = NULL;
		munmap(p, DC_EXT_ARENA + DC_IRP_REGION);
		return false;
	}
	s->ext_arena = (uint8_t *)p + DC_IRP_REGION;
	s->ext_used = 0;
	s->irp_bump = s->irp_q_head = s->irp_q_len = 0;
	dc_machine_set_host_span(s->m, p, DC_EXT_ARENA + DC_IRP_REGION);
	return true;
}

/* Each block is preceded by DC_EXT_ALIGN bytes holding its size. */
static void *ext_alloc(struct dc_sys *s, size_t n)
{
	n = (n + DC_EXT_ALIGN - 1) & ~(size_t)(DC_EXT_ALIGN - 1);
	if (!arena_ready(s))
		return NULL;
	for (struct dc_ext_free **pp = &s->ext_free; *pp; pp = &(*pp)->next) {
		struct dc_ext_free *f = *pp;
		if (f->size >= n) {
			*pp = f->next;
			size_t size = f->size;
			uint8_t *blk = (uint8_t *)f;
			memset(blk, 0, size + DC_EXT_ALIGN);
			memcpy(blk, &size, sizeof(size));
			dc_ksync(s, DC_SYNC_FORGET, blk + DC_EXT_ALIGN, size);
			return blk + DC_EXT_ALIGN;
		}
	}
	if (n + DC_EXT_ALIGN > DC_EXT_ARENA - s->ext_used)
		return NULL;
	uint8_t *blk = s->ext_arena + s->ext_used;
	s->ext_used += n + DC_EXT_ALIGN;
	memcpy(blk, &n, sizeof(n));
	return blk + DC_EXT_ALIGN;
}

static bool in_ext_arena(const struct dc_sys *s, const void *p)
{
	return s->ext_arena && (uintptr_t)p - (uintptr_t)s->ext_arena < DC_EXT_ARENA;
}

static void ext_free(struct dc_sys *s, void *p)
{
	if (!p || !in_ext_arena(s, p))
		return;
	struct dc_ext_free *f = (struct dc_ext_free *)((uint8_t *)p - DC_EXT_ALIGN);
	size_t size;
	memcpy(&size, f, sizeof(size));
	f->size = size;
	f->next = s->ext_free;
	s->ext_free = f;
}

void dc_io_ext_fini(struct dc_sys *s)
{
	if (!s->ext_arena)
		return;
	dc_machine_set_host_span(s->m, NULL, 0);
	munmap(s->ext_arena - DC_IRP_REGION, DC_EXT_ARENA + DC_IRP_REGION);
	s->ext_arena = NULL;
	free(s->irp_quar);
	free(s->irp_state);
	s->irp_quar = NULL;
	s->irp_state = NULL;
	s->ext_free = NULL;
	s->ext_used = 0;
}

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
	/* The extension is 16-byte aligned, as the I/O manager lays it out; it lives in the
	 * extension arena (above) rather than right after the object. */
	size_t objsz = (sizeof(DEVICE_OBJECT) + 15) & ~(size_t)15;
	void *ext = DeviceExtensionSize ? ext_alloc(s, DeviceExtensionSize) : NULL;
	bool ext_heap = DeviceExtensionSize && !ext;
	DEVICE_OBJECT *d = calloc(1, objsz + (ext_heap ? DeviceExtensionSize : 0));
	if (!d) {
		ext_free(s, ext);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (ext_heap)
		ext = (uint8_t *)d + objsz;
	d->Type = 3; /* IO_TYPE_DEVICE */
	d->Size = (USHORT)(objsz + DeviceExtensionSize);
	d->ReferenceCount = 1;
	d->DriverObject = DriverObject;
	d->DeviceType = DeviceType;
	d->Characteristics = DeviceCharacteristics;
	d->Flags = DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0) |
	           (DeviceName ? DO_DEVICE_HAS_NAME : 0);
	d->StackSize = 1;
	d->DeviceExtension = ext;
	d->AlignmentRequirement = 0; /* FILE_BYTE_ALIGNMENT */
	d->SectorSize = 512;
	KeInitializeDeviceQueue(&d->DeviceQueue);
	KeInitializeEvent(&d->DeviceLock, SynchronizationEvent, TRUE);
	if (DeviceName) {
		/* The one namespace: what links, CreateFile and IoGetDeviceObjectPointer find. */
		NTSTATUS nst = dc_ob_name_device(s, DeviceName, d);
		if (!NT_SUCCESS(nst)) {
			ext_free(s, d->DeviceExtension);
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
	ext_free(s, DeviceObject->DeviceExtension);
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

/* The IRP's slot in the span, or -1 (an IRP from the host heap: the span was full). */
static ssize_t irp_slot(const struct dc_sys *s, const void *irp)
{
	if (!s || !s->ext_arena)
		return -1;
	uintptr_t off = (uintptr_t)irp - (uintptr_t)(s->ext_arena - DC_IRP_REGION);
	return off < DC_IRP_REGION && off % DC_IRP_SLOT == 0 ? (ssize_t)(off / DC_IRP_SLOT) : -1;
}

static void irp_life(struct dc_sys *s, PIRP irp, enum dc_irp_life what, const char *routine,
                     const void *pc)
{
	struct dc_kev e = {
	    .type = DC_KEV_IRP_LIFE, .value = what, .irp = irp, .routine = routine, .pc = pc};
	dc_kev_emit(s, &e);
}

/* Memory for an IRP of sz bytes: a fresh slot, else the oldest quarantined one once enough
 * wait, else the host heap. */
static IRP *irp_mem(struct dc_sys *s, size_t sz)
{
	if (s && sz <= DC_IRP_SLOT && arena_ready(s)) {
		uint32_t k = UINT32_MAX;
		if (s->irp_bump < DC_IRP_SLOTS)
			k = s->irp_bump++;
		else if (s->irp_q_len > DC_IRP_QUARANTINE) {
			k = s->irp_quar[s->irp_q_head];
			s->irp_q_head = (s->irp_q_head + 1) % DC_IRP_SLOTS;
			s->irp_q_len--;
		}
		if (k != UINT32_MAX) {
			uint8_t *p = s->ext_arena - DC_IRP_REGION + (size_t)k * DC_IRP_SLOT;
			memset(p, 0, DC_IRP_SLOT);
			s->irp_state[k] = IRPS_LIVE;
			return (IRP *)p;
		}
	}
	return calloc(1, sz);
}

/* A completed IRP, or a freed one whose bytes are still quarantined: a driver that calls a
 * routine with it touches what it no longer owns (S02). */
bool dc_io_irp_completed(const struct dc_sys *s, const void *irp)
{
	ssize_t k = irp_slot(s, irp);
	return k >= 0 && (s->irp_state[k] == IRPS_COMPLETED || s->irp_state[k] == IRPS_FREED);
}

/* Reports the touch when the IRP is gone: true then (the caller does nothing more with it). */
bool dc_io_irp_touch(struct dc_sys *s, PIRP irp, const char *routine, const void *pc)
{
	if (!dc_io_irp_completed(s, irp))
		return false;
	irp_life(s, irp, DC_IRPL_TOUCH, routine, pc);
	return true;
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
	IRP *irp = irp_mem(s, sz);
	if (!irp)
		return NULL;
	if (s) {
		s->live_irps[s->n_live_irps++] = irp;
		if (irp_slot(s, irp) >= 0) {
			struct dc_kev e = {.type = DC_KEV_IRP_LIFE,
			                   .value = DC_IRPL_ALLOC,
			                   .irp = irp,
			                   .len = sz,
			                   .va = s->ext_arena - DC_IRP_REGION,
			                   .logical = DC_IRP_REGION};
			dc_kev_emit(s, &e);
		}
	}
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
		ssize_t k = irp_slot(s, Irp);
		if (k >= 0) {
			/* Quarantined, bytes kept: a late touch reads the old IRP. */
			s->irp_state[k] =
			    s->irp_state[k] == IRPS_COMPLETED ? IRPS_FREED : IRPS_DEAD;
			s->irp_quar[(s->irp_q_head + s->irp_q_len) % DC_IRP_SLOTS] = (uint32_t)k;
			s->irp_q_len++;
			irp_life(s, Irp, DC_IRPL_FREE, NULL, NULL);
			return;
		}
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
	if (dc_io_irp_touch(s, Irp, "IoCallDriver", RA())) {
		/* Completed (and maybe freed): sending it on would complete it twice.  A touched
		 * IRP is in the span (dc_io_irp_touch), so it has a slot. */
		ssize_t k = irp_slot(s, Irp);
		if (s->irp_state[k] == IRPS_FREED)
			return STATUS_INVALID_PARAMETER;
		s->irp_state[k] = IRPS_LIVE;
		irp_life(s, Irp, DC_IRPL_OWNED, NULL, NULL);
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

PDEVICE_OBJECT dc_io_stack_top(PDEVICE_OBJECT pdo)
{
	while (pdo->AttachedDevice)
		pdo = pdo->AttachedDevice;
	return pdo;
}

/* Sends a PnP IRP down the device's stack at PASSIVE and runs time until it completes. */
NTSTATUS dc_io_send_pnp(struct dc_sys *s, struct dc_sysdev *d, UCHAR minor, PCM_RESOURCE_LIST raw,
                        PCM_RESOURCE_LIST translated)
{
	PDEVICE_OBJECT top = dc_io_stack_top(d->pdo);
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

static void complete_to_app(struct dc_sys *s, PIRP irp)
{
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	dc_ksync(s, DC_SYNC_RELEASE, irp, 0);
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
	/* Completed already by another context (or this one): S02 names both completions, the
	 * bug check would only repeat it. */
	if (dc_io_irp_touch(s, Irp, "IoCompleteRequest", RA()))
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
	const void *completer = RA();
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
	/* No driver owns it from here: a later touch is S02 (until the IRP is sent again). */
	ssize_t k = irp_slot(s, Irp);
	if (k >= 0) {
		s->irp_state[k] = IRPS_COMPLETED;
		irp_life(s, Irp, DC_IRPL_COMPLETED, "IoCompleteRequest", completer);
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
	dc_ksync_locked(s, DeviceQueue);
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
	dc_ksync_locked(s, DeviceQueue);
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
	dc_ksync_locked(s, DeviceQueue);
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
	dc_ksync_locked(s, DeviceQueue);
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
	dc_ksync_locked(s, DeviceQueue);
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
	dc_ctx_drain(s); /* ISRs in progress on other processors end first (--schedule) */
	for (unsigned l = 0; l < DC_IRQ_LINES; l++) {
		for (struct dc_kint **pp = &s->ints[l]; *pp; pp = &(*pp)->k.next) {
			if (&(*pp)->k == InterruptObject) {
				struct dc_kint *ki = *pp;
				*pp = ki->k.next;
				/* Every run of the ISR has ended (Windows waits for them too): what
				 * they did happens before the disconnection returns. */
				dc_ksync(s, DC_SYNC_CONSUME, &ki->k, 0);
				free(ki);
				return;
			}
		}
	}
	dc_kbugcheck(s, 0x0000001E, "IoDisconnectInterrupt of an interrupt that is not connected",
	             RA());
}

void dc_io_ints_fini(struct dc_sys *s)
{
	for (unsigned l = 0; l < DC_IRQ_LINES; l++) {
		while (s->ints[l]) {
			struct dc_kint *ki = s->ints[l];
			s->ints[l] = ki->k.next;
			free(ki);
		}
	}
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
	/* Under --schedule the interrupt's lock excludes its ISR on every processor. */
	bool mp = s->mp.sched != DC_SCHED_NONE;
	if (mp)
		dc_spin_acquire(s, Interrupt->lock, RA());
	dc_ksync(s, DC_SYNC_ACQUIRE, Interrupt, 0);
	BOOLEAN r = SynchronizeRoutine(SynchronizeContext);
	dc_ksync(s, DC_SYNC_RELEASE, Interrupt, 0);
	if (mp)
		dc_spin_release(s, Interrupt->lock, RA());
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
	KIRQL old = dc_irql_raise(s, Interrupt->sync_irql);
	if (s->mp.sched != DC_SCHED_NONE)
		dc_spin_acquire(s, Interrupt->lock, RA());
	dc_ksync(s, DC_SYNC_ACQUIRE, Interrupt, 0);
	return old;
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
	dc_ksync(s, DC_SYNC_RELEASE, Interrupt, 0);
	if (s->mp.sched != DC_SCHED_NONE)
		dc_spin_release(s, Interrupt->lock, RA());
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
	/* An ISR is a context of its own on this processor; it runs holding its interrupt
	 * object's lock, and after the register writes that made its device interrupt. */
	dc_ksync(s, DC_SYNC_ENTER, &s->irq_pending, DC_CTX_ISR);
	bool mp = s->mp.sched != DC_SCHED_NONE;
	for (; ki && !claimed; ki = ki->k.next) {
		struct dc_kint *k = ki;
		/* Under --schedule the ISR takes its interrupt's lock (spinning while another
		 * processor holds it in KeSynchronizeExecution), as the interrupt dispatcher does.
		 */
		if (mp)
			dc_spin_acquire(s, k->k.lock, dc_fn_addr((void (*)(void))k->k.isr));
		dc_ksync(s, DC_SYNC_ACQUIRE, &k->k, 0);
		claimed = k->k.isr(&k->k, k->k.ctx);
		dc_ksync(s, DC_SYNC_RELEASE, &k->k, 0);
		if (mp)
			dc_spin_release(s, k->k.lock, NULL);
	}
	dc_ksync(s, DC_SYNC_LEAVE, NULL, DC_CTX_ISR);
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

/* --- The application's requests ------------------------------------------------------------ */

static PIRP new_request(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major, ULONG length)
{
	PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
	struct dc_req *r = calloc(1, sizeof(*r));
	if (!irp || !r) {
		if (irp)
			IoFreeIrp(irp);
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
	if (!r || r->done) {
		dc_ksync(s, DC_SYNC_ACQUIRE, irp, 0);
		return DC_OK;
	}
	/* The application's thread waits; system threads, devices and DPCs run meanwhile. */
	struct dc_kwait w = {.deadline = deadline, .pred = req_done, .pred_arg = r};
	NTSTATUS st = dc_sched_wait(s, &w);
	if (r->done)
		dc_ksync(s, DC_SYNC_ACQUIRE, irp, 0);
	return st == STATUS_SUCCESS ? DC_OK : st == STATUS_TIMEOUT ? DC_ERR_TIMEOUT : DC_ERR_STATE;
}

IO_STATUS_BLOCK dc_sys_finish(struct dc_sys *s, PIRP irp)
{
	dc_sys_cur = s;
	IO_STATUS_BLOCK iosb = irp->IoStatus;
	struct dc_req *r = irp->DmacohReserved[RES_REQ];
	dc_ksync(s, DC_SYNC_CONSUME, irp, 0);
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
