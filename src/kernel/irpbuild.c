/* IRPs a driver builds for another driver, and finding that driver: IoBuildDeviceIoControlRequest
 * (all four transfer methods), IoBuildSynchronousFsdRequest and IoBuildAsynchronousFsdRequest
 * (buffered, direct or neither I/O as the target device asks), their completion by the I/O
 * manager (output copied back, *UserIosb set, UserEvent signalled, buffers, MDLs and the IRP
 * freed; an asynchronous IRP is the caller's to free in its completion routine), PoRequestPowerIrp
 * with its completion function, and IoGetDeviceObjectPointer over the object manager's namespace
 * (obnames.h: device names and the links to them).  System buffers are simulated pool, so a
 * driver's accesses to them go through the cache model.  Not modelled: file-object semantics
 * (the FILE_OBJECT returned is a token), APC-based
 * completion (the event and IOSB are set at completion time, on the completing thread). */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "obnames.h"

#define RA() __builtin_return_address(0)

struct built {
	struct built *next;
	struct dc_sys *s;
	PIRP irp;
	bool sync;
	void *sysbuf; /* pool: the buffered copy */
	void *out;    /* where buffered output goes back (NULL: none) */
	ULONG out_len;
	PMDL mdl; /* direct I/O: the caller's buffer locked */
};

static _Thread_local struct built *builts;

/* --- Named devices --------------------------------------------------------------------------- */

NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                  PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject)
{
	(void)DesiredAccess;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoGetDeviceObjectPointer", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!ObjectName || !FileObject || !DeviceObject)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, ObjectName, sizeof(*ObjectName), false);
	size_t n = ObjectName->Length / sizeof(WCHAR);
	if (!n || !ObjectName->Buffer)
		return STATUS_OBJECT_NAME_INVALID;
	dc_ktouch(s, ObjectName->Buffer, ObjectName->Length, false);
	/* The object manager's namespace: device names, and links to them (\DosDevices\X). */
	PDEVICE_OBJECT dev = NULL;
	NTSTATUS st = dc_ob_lookup(s, ObjectName->Buffer, n, &dev);
	if (!NT_SUCCESS(st))
		return st;
	/* The top of the device's stack, as an open of the name reaches it. */
	PDEVICE_OBJECT top = dev;
	while (top->AttachedDevice)
		top = top->AttachedDevice;
	dc_ktouch(s, FileObject, sizeof(*FileObject), true);
	dc_ktouch(s, DeviceObject, sizeof(*DeviceObject), true);
	*FileObject = (PFILE_OBJECT)dc_ob_file_token(s); /* a token: FILE_OBJECT is opaque */
	*DeviceObject = top;
	return STATUS_SUCCESS;
}

/* --- Built IRPs ------------------------------------------------------------------------------- */

static struct built *built_of(struct dc_sys *s, PIRP irp)
{
	for (struct built *b = builts; b; b = b->next)
		if (b->s == s && b->irp == irp)
			return b;
	return NULL;
}

static void built_free(struct dc_sys *s, struct built *b)
{
	for (struct built **pp = &builts; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	if (b->sysbuf)
		dc_pool_free(s, b->sysbuf);
	if (b->mdl) {
		MmUnlockPages(b->mdl);
		IoFreeMdl(b->mdl);
	}
	free(b);
}

void dc_irpbuild_fini(struct dc_sys *s)
{
	for (struct built **pp = &builts; *pp;) {
		struct built *b = *pp;
		if (b->s == s) {
			*pp = b->next;
			free(b);
		} else {
			pp = &b->next;
		}
	}
}

/* A buffer the target reaches by MDL: locked as Windows' MmProbeAndLockPages(KernelMode). */
static PMDL lock_buffer(PVOID buf, ULONG len, LOCK_OPERATION op)
{
	PMDL mdl = IoAllocateMdl(buf, len, FALSE, FALSE, NULL);
	if (mdl)
		MmProbeAndLockPages(mdl, KernelMode, op);
	return mdl;
}

static struct built *new_built(struct dc_sys *s, PDEVICE_OBJECT dev, bool sync, PIRP *irp)
{
	struct built *b = calloc(1, sizeof(*b));
	*irp = b ? IoAllocateIrp(dev->StackSize, FALSE) : NULL;
	if (!*irp) {
		free(b);
		return NULL;
	}
	b->s = s;
	b->irp = *irp;
	b->sync = sync;
	b->next = builts;
	builts = b;
	(*irp)->RequestorMode = KernelMode;
	(*irp)->Tail.Overlay.Thread = (PETHREAD)s->cur_thread;
	return b;
}

static void *pool_copy(struct dc_sys *s, const void *src, ULONG copy, ULONG size)
{
	void *p = dc_pool_alloc(s, size ? size : 1, true, 'dliB');
	if (p && copy) {
		dc_kcopy(s, p, src, copy);
	}
	return p;
}

PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoBuildDeviceIoControlRequest", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DeviceObject || !IoStatusBlock)
		return NULL;
	PIRP irp;
	struct built *b = new_built(s, DeviceObject, true, &irp);
	if (!b)
		return NULL;
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->MajorFunction =
	    InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
	sp->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
	sp->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
	sp->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
	ULONG in = InputBuffer ? InputBufferLength : 0;
	switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
	case METHOD_BUFFERED: {
		ULONG size =
		    InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength;
		if (size && !(b->sysbuf = pool_copy(s, InputBuffer, in, size)))
			goto fail;
		irp->AssociatedIrp.SystemBuffer = b->sysbuf;
		b->out = OutputBuffer;
		b->out_len = OutputBuffer ? OutputBufferLength : 0;
		break;
	}
	case METHOD_IN_DIRECT:
	case METHOD_OUT_DIRECT:
		if (in && !(b->sysbuf = pool_copy(s, InputBuffer, in, in)))
			goto fail;
		irp->AssociatedIrp.SystemBuffer = b->sysbuf;
		if (OutputBuffer && OutputBufferLength) {
			b->mdl = lock_buffer(OutputBuffer, OutputBufferLength,
			                     METHOD_FROM_CTL_CODE(IoControlCode) == METHOD_IN_DIRECT
			                         ? IoReadAccess
			                         : IoWriteAccess);
			if (!b->mdl)
				goto fail;
			irp->MdlAddress = b->mdl;
		}
		break;
	default: /* METHOD_NEITHER */
		sp->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
		irp->UserBuffer = OutputBuffer;
		break;
	}
	irp->UserIosb = IoStatusBlock;
	irp->UserEvent = Event;
	return irp;
fail:
	built_free(s, b);
	IoFreeIrp(irp);
	return NULL;
}

static PIRP build_fsd(struct dc_sys *s, bool sync, ULONG MajorFunction, PDEVICE_OBJECT DeviceObject,
                      PVOID Buffer, ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                      PIO_STATUS_BLOCK IoStatusBlock)
{
	if (!DeviceObject)
		return NULL;
	switch (MajorFunction) {
	case IRP_MJ_READ:
	case IRP_MJ_WRITE:
	case IRP_MJ_FLUSH_BUFFERS:
	case IRP_MJ_SHUTDOWN:
	case IRP_MJ_PNP:
	case IRP_MJ_POWER:
		break;
	default:
		return NULL;
	}
	PIRP irp;
	struct built *b = new_built(s, DeviceObject, sync, &irp);
	if (!b)
		return NULL;
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->MajorFunction = (UCHAR)MajorFunction;
	if (MajorFunction == IRP_MJ_READ || MajorFunction == IRP_MJ_WRITE) {
		bool write = MajorFunction == IRP_MJ_WRITE;
		sp->Parameters.Read.Length = Length;
		if (StartingOffset) {
			dc_ktouch(s, StartingOffset, sizeof(*StartingOffset), false);
			sp->Parameters.Read.ByteOffset = *StartingOffset;
		}
		if (DeviceObject->Flags & DO_BUFFERED_IO) {
			if (!(b->sysbuf =
			          pool_copy(s, Buffer, write && Buffer ? Length : 0, Length)))
				goto fail;
			irp->AssociatedIrp.SystemBuffer = b->sysbuf;
			b->out = write ? NULL : Buffer;
			b->out_len = write ? 0 : Length;
		} else if (DeviceObject->Flags & DO_DIRECT_IO) {
			if (Buffer && Length) {
				if (!(b->mdl = lock_buffer(Buffer, Length,
				                           write ? IoReadAccess : IoWriteAccess)))
					goto fail;
				irp->MdlAddress = b->mdl;
			}
		} else {
			irp->UserBuffer = Buffer;
		}
	}
	irp->UserIosb = IoStatusBlock;
	irp->UserEvent = Event;
	return irp;
fail:
	built_free(s, b);
	IoFreeIrp(irp);
	return NULL;
}

PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                  ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                  PIO_STATUS_BLOCK IoStatusBlock)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoBuildSynchronousFsdRequest", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!Event || !IoStatusBlock)
		return NULL;
	return build_fsd(s, true, MajorFunction, DeviceObject, Buffer, Length, StartingOffset,
	                 Event, IoStatusBlock);
}

PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                   ULONG Length, PLARGE_INTEGER StartingOffset,
                                   PIO_STATUS_BLOCK IoStatusBlock)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoBuildAsynchronousFsdRequest", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	return build_fsd(s, false, MajorFunction, DeviceObject, Buffer, Length, StartingOffset,
	                 NULL, IoStatusBlock);
}

/* The I/O manager's end of an IRP no driver holds any more (io.c, complete_to_app). */
void dc_irpbuild_complete(struct dc_sys *s, PIRP irp)
{
	struct built *b = built_of(s, irp);
	if (!b)
		return;
	if (b->out && b->sysbuf && NT_SUCCESS(irp->IoStatus.Status)) {
		ULONG n = irp->IoStatus.Information < b->out_len ? (ULONG)irp->IoStatus.Information
		                                                 : b->out_len;
		dc_kcopy(s, b->out, b->sysbuf, n);
	}
	if (irp->UserIosb) {
		dc_ktouch(s, irp->UserIosb, sizeof(*irp->UserIosb), true);
		*irp->UserIosb = irp->IoStatus;
	}
	PKEVENT ev = irp->UserEvent;
	built_free(s, b);
	irp->MdlAddress = NULL;
	IoFreeIrp(irp);
	if (ev)
		KeSetEvent(ev, IO_NO_INCREMENT, FALSE);
}

/* --- PoRequestPowerIrp ------------------------------------------------------------------- */

struct po_req {
	PDEVICE_OBJECT pdo;
	UCHAR minor;
	POWER_STATE state;
	PREQUEST_POWER_COMPLETE fn;
	PVOID ctx;
};

static NTSTATUS po_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject;
	struct po_req *r = Context;
	IO_STATUS_BLOCK iosb = Irp->IoStatus;
	if (r->fn)
		r->fn(r->pdo, r->minor, r->state, r->ctx, &iosb);
	IoFreeIrp(Irp);
	free(r);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE PowerState,
                           PREQUEST_POWER_COMPLETE CompletionFunction, PVOID Context, PIRP *Irp)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "PoRequestPowerIrp", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!dc_io_pdo_sysdev(DeviceObject))
		return STATUS_INVALID_PARAMETER_1; /* a PDO only */
	if (MinorFunction != IRP_MN_SET_POWER && MinorFunction != IRP_MN_QUERY_POWER &&
	    MinorFunction != IRP_MN_WAIT_WAKE)
		return STATUS_INVALID_PARAMETER_2;
	PDEVICE_OBJECT top = DeviceObject;
	while (top->AttachedDevice)
		top = top->AttachedDevice;
	struct po_req *r = calloc(1, sizeof(*r));
	PIRP irp = r ? IoAllocateIrp((CCHAR)(top->StackSize + 1), FALSE) : NULL;
	if (!irp) {
		free(r);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	*r = (struct po_req){DeviceObject, MinorFunction, PowerState, CompletionFunction, Context};
	/* The extra location is the power manager's: its completion routine sits below it. */
	IoSetNextIrpStackLocation(irp);
	PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
	sp->MajorFunction = IRP_MJ_POWER;
	sp->MinorFunction = MinorFunction;
	sp->Parameters.Power.Type = DevicePowerState;
	sp->Parameters.Power.State = PowerState;
	irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
	IoSetCompletionRoutine(irp, po_done, r, TRUE, TRUE, TRUE);
	if (Irp) {
		dc_ktouch(s, Irp, sizeof(*Irp), true);
		*Irp = irp;
	}
	PoCallDriver(top, irp);
	return STATUS_PENDING;
}
