/* IRP cancellation (IoCancelIrp) and cancel-safe queues (IoCsq*).
 *
 * The driver owns the queue (its insert, remove and peek callbacks) and the lock; these
 * routines own the IRP's cancel routine.  The race they close: an IRP is taken off the queue
 * by exactly one side — the driver's removal (which first clears the cancel routine, and
 * skips an IRP whose routine is already gone because a cancel is under way) or the cancel
 * path (which runs the routine it cleared itself).  The IRP's link to its queue or context is
 * kept in Tail.Overlay.DriverContext[3], as Windows does. */
#include "kernel.h"

#define RA() __builtin_extract_return_addr(__builtin_return_address(0))

BOOLEAN IoCancelIrp(PIRP Irp)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoCancelIrp", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!Irp)
		return FALSE;
	KIRQL irql;
	IoAcquireCancelSpinLock(&irql);
	Irp->Cancel = TRUE;
	PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, NULL);
	if (!routine) {
		IoReleaseCancelSpinLock(irql);
		return FALSE;
	}
	/* The routine runs with the cancel spin lock held and releases it. */
	Irp->CancelIrql = irql;
	PDEVICE_OBJECT dev = Irp->CurrentLocation <= Irp->StackCount
	                         ? IoGetCurrentIrpStackLocation(Irp)->DeviceObject
	                         : NULL;
	routine(dev, Irp);
	return TRUE;
}

static PIO_CSQ csq_of(PIRP irp, PIO_CSQ_IRP_CONTEXT *ctx)
{
	void *p = irp->Tail.Overlay.DriverContext[3];
	*ctx = NULL;
	if (!p)
		return NULL;
	if (*(ULONG *)p == IO_TYPE_CSQ_IRP_CONTEXT) {
		*ctx = p;
		return (*ctx)->Csq;
	}
	return p;
}

/* Takes the IRP out of the driver's queue (lock held) and unlinks it from its context. */
static void csq_take(PIO_CSQ csq, PIRP irp, PIO_CSQ_IRP_CONTEXT ctx)
{
	csq->CsqRemoveIrp(csq, irp);
	if (ctx)
		ctx->Irp = NULL;
	irp->Tail.Overlay.DriverContext[3] = NULL;
}

static void csq_cancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	(void)DeviceObject;
	IoReleaseCancelSpinLock(Irp->CancelIrql);
	PIO_CSQ_IRP_CONTEXT ctx;
	PIO_CSQ csq = csq_of(Irp, &ctx);
	if (!csq)
		return;
	KIRQL irql;
	csq->CsqAcquireLock(csq, &irql);
	csq_take(csq, Irp, ctx);
	csq->CsqReleaseLock(csq, irql);
	csq->CsqCompleteCanceledIrp(csq, Irp);
}

static NTSTATUS csq_init(PIO_CSQ Csq, ULONG type, PIO_CSQ_INSERT_IRP insert,
                         PIO_CSQ_REMOVE_IRP remove, PIO_CSQ_PEEK_NEXT_IRP peek,
                         PIO_CSQ_ACQUIRE_LOCK acquire, PIO_CSQ_RELEASE_LOCK release,
                         PIO_CSQ_COMPLETE_CANCELED_IRP complete)
{
	struct dc_sys *s = dc_k();
	if (!Csq || !insert || !remove || !peek || !acquire || !release || !complete)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, Csq, sizeof(*Csq), true);
	Csq->Type = type;
	Csq->CsqInsertIrp = insert;
	Csq->CsqRemoveIrp = remove;
	Csq->CsqPeekNextIrp = peek;
	Csq->CsqAcquireLock = acquire;
	Csq->CsqReleaseLock = release;
	Csq->CsqCompleteCanceledIrp = complete;
	Csq->ReservePointer = NULL;
	return STATUS_SUCCESS;
}

NTSTATUS IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp,
                         PIO_CSQ_REMOVE_IRP CsqRemoveIrp, PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                         PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock, PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                         PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
	return csq_init(Csq, IO_TYPE_CSQ, CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp,
	                CsqAcquireLock, CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                           PIO_CSQ_REMOVE_IRP CsqRemoveIrp, PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                           PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock, PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                           PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
	return csq_init(Csq, IO_TYPE_CSQ_EX, (PIO_CSQ_INSERT_IRP)(void (*)(void))CsqInsertIrp,
	                CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock, CsqReleaseLock,
	                CsqCompleteCanceledIrp);
}

NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext)
{
	struct dc_sys *s = dc_k();
	if (!Csq || !Irp)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, Csq, sizeof(*Csq), false);
	KIRQL irql;
	Csq->CsqAcquireLock(Csq, &irql);
	if (Csq->Type == IO_TYPE_CSQ_EX) {
		NTSTATUS st = ((PIO_CSQ_INSERT_IRP_EX)(void (*)(void))Csq->CsqInsertIrp)(
		    Csq, Irp, InsertContext);
		if (!NT_SUCCESS(st)) {
			Csq->CsqReleaseLock(Csq, irql);
			return st;
		}
	} else
		Csq->CsqInsertIrp(Csq, Irp);
	if (Context) {
		dc_ktouch(s, Context, sizeof(*Context), true);
		Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
		Context->Irp = Irp;
		Context->Csq = Csq;
		Irp->Tail.Overlay.DriverContext[3] = Context;
	} else
		Irp->Tail.Overlay.DriverContext[3] = Csq;
	IoMarkIrpPending(Irp);
	IoSetCancelRoutine(Irp, csq_cancel);
	if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL)) {
		/* Cancelled before the routine was set, and nobody ran it: take it back out. */
		csq_take(Csq, Irp, Context);
		Csq->CsqReleaseLock(Csq, irql);
		Csq->CsqCompleteCanceledIrp(Csq, Irp);
		return STATUS_PENDING;
	}
	Csq->CsqReleaseLock(Csq, irql);
	return STATUS_PENDING;
}

VOID IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context)
{
	IoCsqInsertIrpEx(Csq, Irp, Context, NULL);
}

/* How long (simulated) IoCsqRemoveNextIrp lets a cancel that owns an IRP its peek routine
 * keeps returning run to its end. */
#define CSQ_CANCEL_WAIT_NS UINT64_C(1000000000)

static bool irp_completed(void *opaque)
{
	void **a = opaque;
	return dc_io_irp_completed(a[0], a[1]);
}

PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
	struct dc_sys *s = dc_k();
	const void *pc = RA();
	if (!Csq)
		return NULL;
	dc_ktouch(s, Csq, sizeof(*Csq), false);
	KIRQL irql;
	Csq->CsqAcquireLock(Csq, &irql);
	PIRP irp = Csq->CsqPeekNextIrp(Csq, NULL, PeekContext);
	while (irp) {
		/* The peek handed back an IRP that was completed (S02): the queue is broken. */
		if (dc_io_irp_touch(s, irp, "IoCsqRemoveNextIrp", pc)) {
			irp = NULL;
			break;
		}
		/* A NULL routine: a cancel is under way and owns the IRP; look further. */
		if (IoSetCancelRoutine(irp, NULL)) {
			PIO_CSQ_IRP_CONTEXT ctx;
			csq_of(irp, &ctx);
			csq_take(Csq, irp, ctx);
			break;
		}
		PIRP next = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);
		if (next == irp) {
			/* The peek routine returned the IRP it was given, not the next one. Windows
			 * asks again and again, forever, with the queue lock held, while the cancel
			 * that owns the IRP spins for that lock on another processor: both hang.
			 * dmacoh lets the cancel finish first (the lock dropped meanwhile) and then
			 * asks again, as Windows would: the driver then touches an IRP the cancel
			 * path completed (S02) instead of the run hanging without a finding. */
			Csq->CsqReleaseLock(Csq, irql);
			if (s->irql < DISPATCH_LEVEL) {
				void *arg[2] = {s, irp};
				struct dc_kwait w = {.deadline = dc_sys_now(s) + CSQ_CANCEL_WAIT_NS,
				                     .pred = irp_completed,
				                     .pred_arg = arg};
				dc_sched_wait(s, &w);
			}
			Csq->CsqAcquireLock(Csq, &irql);
			if (!dc_io_irp_completed(s, irp)) {
				irp = NULL; /* the cancel never ended: give up rather than spin */
				break;
			}
			next = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);
		}
		irp = next;
	}
	Csq->CsqReleaseLock(Csq, irql);
	return irp;
}

PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
	struct dc_sys *s = dc_k();
	if (!Csq || !Context)
		return NULL;
	dc_ktouch(s, Context, sizeof(*Context), true);
	KIRQL irql;
	Csq->CsqAcquireLock(Csq, &irql);
	PIRP irp = Context->Irp;
	if (irp && IoSetCancelRoutine(irp, NULL))
		csq_take(Csq, irp, Context);
	else
		irp = NULL; /* gone already, or a cancel owns it */
	Csq->CsqReleaseLock(Csq, irql);
	return irp;
}
