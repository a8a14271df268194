/* System threads (cooperative, switching only at waits), thread objects and handles, and
 * cancel-safe queues: the scheduling order is a function of the program, so the tests expect
 * exact interleavings and simulated times. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/sys.h"

static unsigned crashes;
static ULONG last_crash;

static void on_kev(void *opaque, const struct dc_kev *e)
{
	(void)opaque;
	if (e->type == DC_KEV_CRASH) {
		crashes++;
		last_crash = (ULONG)e->status;
	}
}

static const struct dc_observer watcher = {.kev = on_kev};

static struct dc_sys *open_sys(void)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin("noncoherent", &p) || dc_sys_create(&p, &s))
		return NULL;
	crashes = 0;
	last_crash = 0;
	dc_machine_add_observer(dc_sys_machine(s), &watcher, NULL);
	return s;
}

/* --- Scheduling ---------------------------------------------------------------------------- */

struct tlog {
	char text[256];
	struct dc_sys *s;
	KEVENT ping, pong;
	int rounds;
};

static void say(struct tlog *l, const char *what)
{
	char buf[48];
	snprintf(buf, sizeof(buf), "%s@%llu ", what,
	         (unsigned long long)(dc_sys_now(l->s) / 1000000));
	strncat(l->text, buf, sizeof(l->text) - strlen(l->text) - 1);
}

static void sleeper(PVOID ctx)
{
	struct tlog *l = ctx;
	LARGE_INTEGER d = {.QuadPart = -30000}; /* 3 ms */
	say(l, "s0");
	KeDelayExecutionThread(KernelMode, FALSE, &d);
	say(l, "s1");
}

static void pinger(PVOID ctx)
{
	struct tlog *l = ctx;
	for (int i = 0; i < l->rounds; i++) {
		say(l, "ping");
		KeSetEvent(&l->ping, IO_NO_INCREMENT, FALSE);
		KeWaitForSingleObject(&l->pong, Executive, KernelMode, FALSE, NULL);
	}
	PsTerminateSystemThread(STATUS_SUCCESS);
	say(l, "never");
}

static void ponger(PVOID ctx)
{
	struct tlog *l = ctx;
	for (int i = 0; i < l->rounds; i++) {
		KeWaitForSingleObject(&l->ping, Executive, KernelMode, FALSE, NULL);
		say(l, "pong");
		LARGE_INTEGER d = {.QuadPart = -10000}; /* 1 ms */
		KeDelayExecutionThread(KernelMode, FALSE, &d);
		KeSetEvent(&l->pong, IO_NO_INCREMENT, FALSE);
	}
}

static PVOID object_of(HANDLE h)
{
	PVOID o = NULL;
	return NT_SUCCESS(ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
	                                            &o, NULL))
	           ? o
	           : NULL;
}

DC_TEST(threads_run_at_waits_in_a_fixed_order)
{
	struct dc_sys *s = open_sys();
	CHECK(s);
	static struct tlog l;
	memset(&l, 0, sizeof(l));
	l.s = s;
	l.rounds = 2;
	KeInitializeEvent(&l.ping, SynchronizationEvent, FALSE);
	KeInitializeEvent(&l.pong, SynchronizationEvent, FALSE);
	HANDLE h[3];
	CHECK_EQ(PsCreateSystemThread(&h[0], THREAD_ALL_ACCESS, NULL, NULL, NULL, sleeper, &l),
	         STATUS_SUCCESS);
	CHECK_EQ(PsCreateSystemThread(&h[1], THREAD_ALL_ACCESS, NULL, NULL, NULL, pinger, &l),
	         STATUS_SUCCESS);
	CHECK_EQ(PsCreateSystemThread(&h[2], THREAD_ALL_ACCESS, NULL, NULL, NULL, ponger, &l),
	         STATUS_SUCCESS);
	/* Nothing runs until the creator waits. */
	CHECK_EQ(strlen(l.text), 0);
	PVOID objs[3];
	for (int i = 0; i < 3; i++) {
		CHECK((objs[i] = object_of(h[i])) != NULL);
		CHECK_EQ(ZwClose(h[i]), STATUS_SUCCESS);
	}
	CHECK_EQ(
	    KeWaitForMultipleObjects(3, objs, WaitAll, Executive, KernelMode, FALSE, NULL, NULL),
	    STATUS_SUCCESS);
	CHECK_MSG(!strcmp(l.text, "s0@0 ping@0 pong@0 ping@1 pong@1 s1@3 "), "%s", l.text);
	CHECK_EQ(dc_sys_now(s), 3000000);
	for (int i = 0; i < 3; i++)
		ObDereferenceObject(objs[i]);
	CHECK_EQ(crashes, 0);
	dc_sys_destroy(s);
}

static void waits_forever(PVOID ctx)
{
	KeWaitForSingleObject(ctx, Executive, KernelMode, FALSE, NULL);
}

DC_TEST(threads_handles_objects_and_deadlock)
{
	struct dc_sys *s = open_sys();
	CHECK(s);
	/* Not a system thread: Windows refuses. */
	CHECK_EQ(PsTerminateSystemThread(STATUS_SUCCESS), STATUS_INVALID_PARAMETER);
	HANDLE h;
	CHECK_EQ(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, NULL, NULL),
	         STATUS_INVALID_PARAMETER);
	PVOID o = (PVOID)1;
	CHECK_EQ(ObReferenceObjectByHandle((HANDLE)(uintptr_t)0x1234567, 0, *PsThreadType,
	                                   KernelMode, &o, NULL),
	         STATUS_INVALID_HANDLE);
	CHECK(o == NULL);
	KEVENT never;
	KeInitializeEvent(&never, NotificationEvent, FALSE);
	CHECK_EQ(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, waits_forever, &never),
	         STATUS_SUCCESS);
	PVOID t = object_of(h);
	CHECK(t != NULL);
	CHECK_EQ(ZwClose(h), STATUS_SUCCESS);
	CHECK_EQ(ZwClose(h), STATUS_INVALID_HANDLE); /* closed already */
	/* A timeout passes while the thread waits. */
	LARGE_INTEGER to = {.QuadPart = -50000};
	CHECK_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &to), STATUS_TIMEOUT);
	CHECK_EQ(dc_sys_now(s), 5000000);
	/* Nothing will ever end it: the application's wait is a deadlock, reported, not a hang. */
	CHECK_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_TIMEOUT);
	CHECK_EQ(crashes, 1);
	CHECK_EQ(last_crash, 0xE4);
	/* Signalling the event lets it end. */
	KeSetEvent(&never, IO_NO_INCREMENT, FALSE);
	CHECK_EQ(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
	ObDereferenceObject(t);
	/* A thread still waiting when the system goes away is freed with it. */
	KeClearEvent(&never);
	CHECK_EQ(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, waits_forever, &never),
	         STATUS_SUCCESS);
	dc_sys_run_for(s, 1000);
	dc_sys_destroy(s);
}

/* --- Cancel-safe queues -------------------------------------------------------------------- */

struct queue {
	IO_CSQ csq;
	LIST_ENTRY list;
	KSPIN_LOCK lock;
	unsigned cancelled;
	PIRP last_cancelled;
};

static void q_insert(PIO_CSQ csq, PIRP irp)
{
	struct queue *q = CONTAINING_RECORD(csq, struct queue, csq);
	InsertTailList(&q->list, &irp->Tail.Overlay.ListEntry);
}

static void q_remove(PIO_CSQ csq, PIRP irp)
{
	(void)csq;
	RemoveEntryList(&irp->Tail.Overlay.ListEntry);
}

static PIRP q_peek(PIO_CSQ csq, PIRP irp, PVOID peek)
{
	(void)peek;
	struct queue *q = CONTAINING_RECORD(csq, struct queue, csq);
	PLIST_ENTRY e = irp ? irp->Tail.Overlay.ListEntry.Flink : q->list.Flink;
	return e == &q->list ? NULL : CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
}

static void q_lock(PIO_CSQ csq, PKIRQL irql)
{
	KeAcquireSpinLock(&CONTAINING_RECORD(csq, struct queue, csq)->lock, irql);
}

static void q_unlock(PIO_CSQ csq, KIRQL irql)
{
	KeReleaseSpinLock(&CONTAINING_RECORD(csq, struct queue, csq)->lock, irql);
}

static void q_cancelled(PIO_CSQ csq, PIRP irp)
{
	struct queue *q = CONTAINING_RECORD(csq, struct queue, csq);
	q->cancelled++;
	q->last_cancelled = irp;
	irp->IoStatus.Status = STATUS_CANCELLED;
	irp->IoStatus.Information = 0;
}

static PIRP new_irp(void)
{
	PIRP irp = IoAllocateIrp(1, FALSE);
	if (irp)
		IoSetNextIrpStackLocation(irp);
	return irp;
}

DC_TEST(csq_removal_and_cancellation_take_each_irp_once)
{
	struct dc_sys *s = open_sys();
	CHECK(s);
	static struct queue q;
	memset(&q, 0, sizeof(q));
	InitializeListHead(&q.list);
	KeInitializeSpinLock(&q.lock);
	CHECK_EQ(IoCsqInitialize(&q.csq, NULL, q_remove, q_peek, q_lock, q_unlock, q_cancelled),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(IoCsqInitialize(&q.csq, q_insert, q_remove, q_peek, q_lock, q_unlock, q_cancelled),
	         STATUS_SUCCESS);
	PIRP irp[4];
	IO_CSQ_IRP_CONTEXT ctx[4];
	for (int i = 0; i < 4; i++) {
		CHECK((irp[i] = new_irp()) != NULL);
		IoCsqInsertIrp(&q.csq, irp[i], i == 3 ? &ctx[i] : NULL);
		CHECK(irp[i]->CancelRoutine != NULL);
		CHECK(IoGetCurrentIrpStackLocation(irp[i])->Control & SL_PENDING_RETURNED);
	}
	/* Cancelling a queued IRP takes it out and completes it through the driver. */
	CHECK(IoCancelIrp(irp[1]));
	CHECK_EQ(q.cancelled, 1);
	CHECK(q.last_cancelled == irp[1]);
	CHECK_EQ(irp[1]->IoStatus.Status, STATUS_CANCELLED);
	/* The queue skips it; removal clears the cancel routine so a later cancel does nothing. */
	CHECK(IoCsqRemoveNextIrp(&q.csq, NULL) == irp[0]);
	CHECK(irp[0]->CancelRoutine == NULL);
	CHECK(!IoCancelIrp(irp[0]));
	CHECK_EQ(q.cancelled, 1);
	/* Removal by context; then the context no longer names it. */
	CHECK(IoCsqRemoveIrp(&q.csq, &ctx[3]) == irp[3]);
	CHECK(IoCsqRemoveIrp(&q.csq, &ctx[3]) == NULL);
	CHECK(IoCsqRemoveNextIrp(&q.csq, NULL) == irp[2]);
	CHECK(IoCsqRemoveNextIrp(&q.csq, NULL) == NULL);
	/* An IRP cancelled before it is queued is completed as cancelled at once. */
	PIRP late = new_irp();
	CHECK(late);
	CHECK(!IoCancelIrp(late));
	IoCsqInsertIrp(&q.csq, late, NULL);
	CHECK_EQ(q.cancelled, 2);
	CHECK(IsListEmpty(&q.list));
	for (int i = 0; i < 4; i++)
		IoFreeIrp(irp[i]);
	IoFreeIrp(late);
	CHECK_EQ(crashes, 0);
	dc_sys_destroy(s);
}

/* --- A driver with a worker thread: the pattern real drivers (floppy) use ------------------- */

struct wdev {
	PDEVICE_OBJECT self, lower;
	struct queue q;
	KSEMAPHORE work;
	KEVENT stop;
	PVOID thread;
	ULONG served;
};

static void worker(PVOID ctx)
{
	struct wdev *w = ctx;
	PVOID objs[2] = {&w->work, &w->stop};
	for (;;) {
		NTSTATUS st = KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode,
		                                       FALSE, NULL, NULL);
		if (st == STATUS_WAIT_1)
			break;
		PIRP irp = IoCsqRemoveNextIrp(&w->q.csq, NULL);
		if (!irp)
			continue;                       /* cancelled meanwhile */
		LARGE_INTEGER d = {.QuadPart = -20000}; /* the "device" takes 2 ms */
		KeDelayExecutionThread(KernelMode, FALSE, &d);
		irp->IoStatus.Status = STATUS_SUCCESS;
		irp->IoStatus.Information = ++w->served;
		IoCompleteRequest(irp, IO_NO_INCREMENT);
	}
	PsTerminateSystemThread(STATUS_SUCCESS);
}

static void w_cancelled(PIO_CSQ csq, PIRP irp)
{
	(void)csq;
	irp->IoStatus.Status = STATUS_CANCELLED;
	irp->IoStatus.Information = 0;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static NTSTATUS w_read(PDEVICE_OBJECT dev, PIRP irp)
{
	struct wdev *w = dev->DeviceExtension;
	IoCsqInsertIrp(&w->q.csq, irp, NULL);
	KeReleaseSemaphore(&w->work, IO_NO_INCREMENT, 1, FALSE);
	return STATUS_PENDING;
}

static NTSTATUS w_pnp(PDEVICE_OBJECT dev, PIRP irp)
{
	struct wdev *w = dev->DeviceExtension;
	UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
	NTSTATUS st = STATUS_SUCCESS;
	if (minor == IRP_MN_START_DEVICE) {
		IoForwardIrpSynchronously(w->lower, irp);
		HANDLE h;
		st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, worker, w);
		if (NT_SUCCESS(st)) {
			st = ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType,
			                               KernelMode, &w->thread, NULL);
			ZwClose(h);
		}
	} else if (minor == IRP_MN_REMOVE_DEVICE) {
		KeSetEvent(&w->stop, IO_NO_INCREMENT, FALSE);
		KeWaitForSingleObject(w->thread, Executive, KernelMode, FALSE, NULL);
		ObDereferenceObject(w->thread);
		IoSkipCurrentIrpStackLocation(irp);
		st = IoCallDriver(w->lower, irp);
		IoDetachDevice(w->lower);
		IoDeleteDevice(dev);
		return st;
	}
	irp->IoStatus.Status = st;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	return st;
}

static NTSTATUS w_add(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
	PDEVICE_OBJECT dev;
	NTSTATUS st =
	    IoCreateDevice(drv, sizeof(struct wdev), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev);
	if (!NT_SUCCESS(st))
		return st;
	struct wdev *w = dev->DeviceExtension;
	memset(w, 0, sizeof(*w));
	w->self = dev;
	w->lower = IoAttachDeviceToDeviceStack(dev, pdo);
	InitializeListHead(&w->q.list);
	KeInitializeSpinLock(&w->q.lock);
	IoCsqInitialize(&w->q.csq, q_insert, q_remove, q_peek, q_lock, q_unlock, w_cancelled);
	KeInitializeSemaphore(&w->work, 0, MAXLONG);
	KeInitializeEvent(&w->stop, NotificationEvent, FALSE);
	dev->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static void w_unload(PDRIVER_OBJECT drv)
{
	(void)drv;
}

static NTSTATUS w_entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	(void)path;
	drv->MajorFunction[IRP_MJ_READ] = w_read;
	drv->MajorFunction[IRP_MJ_PNP] = w_pnp;
	drv->DriverExtension->AddDevice = w_add;
	drv->DriverUnload = w_unload;
	return STATUS_SUCCESS;
}

DC_TEST(threads_serve_a_driver_queue_and_cancel)
{
	struct dc_sys *s = open_sys();
	CHECK(s);
	struct dc_sysdev *d;
	struct dc_driver *drv;
	PDEVICE_OBJECT top;
	CHECK_EQ(dc_sys_add_device(s, "pio", NULL, &d), DC_OK);
	CHECK_EQ(dc_sys_load_entry(s, "worker", w_entry, &drv, NULL), DC_OK);
	CHECK_EQ(dc_sys_start_device(s, drv, d, &top, NULL), DC_OK);
	void *buf = dc_sys_alloc_buffer(s, 512, 0, DC_ZONE_ANY);
	CHECK(buf);
	PIRP irp[4];
	for (int i = 0; i < 4; i++) {
		CHECK((irp[i] = dc_sys_build_rw(s, top, IRP_MJ_READ, buf, 512, 0)) != NULL);
		CHECK_EQ(dc_sys_send(s, irp[i]), STATUS_PENDING);
	}
	/* Nothing ran yet (the application has not waited); cancel the third. */
	CHECK(dc_sys_cancel(s, irp[2]));
	CHECK(dc_sys_irp_done(irp[2]));
	uint64_t t0 = dc_sys_now(s);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(dc_sys_wait(s, irp[i], UINT64_MAX), DC_OK);
	CHECK_EQ(dc_sys_now(s) - t0, 3 * 2000000);
	static const NTSTATUS want_st[4] = {STATUS_SUCCESS, STATUS_SUCCESS, STATUS_CANCELLED,
	                                    STATUS_SUCCESS};
	static const ULONG_PTR want_info[4] = {1, 2, 0, 3};
	for (int i = 0; i < 4; i++) {
		IO_STATUS_BLOCK io = dc_sys_finish(s, irp[i]);
		CHECK_EQ(io.Status, want_st[i]);
		CHECK_EQ(io.Information, want_info[i]);
	}
	/* Remove waits for the thread to end. */
	CHECK_EQ(dc_sys_remove_device(s, d, NULL), DC_OK);
	CHECK_EQ(dc_sys_unload(s, drv), DC_OK);
	CHECK_EQ(crashes, 0);
	dc_sys_free_buffer(s, buf);
	dc_sys_destroy(s);
}

/* A driver unloaded with its thread still running: Windows' bug check 0xCE. */
static void idle_forever(PVOID ctx)
{
	(void)ctx;
	KEVENT e;
	KeInitializeEvent(&e, NotificationEvent, FALSE);
	KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, NULL);
}

static NTSTATUS leaky_entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	(void)path;
	drv->DriverUnload = w_unload;
	HANDLE h;
	NTSTATUS st = PsCreateSystemThread(&h, 0, NULL, NULL, NULL, idle_forever, NULL);
	if (NT_SUCCESS(st))
		ZwClose(h);
	return st;
}

DC_TEST(threads_left_running_at_unload_are_a_bug_check)
{
	struct dc_sys *s = open_sys();
	CHECK(s);
	struct dc_driver *drv;
	CHECK_EQ(dc_sys_load_entry(s, "leaky", leaky_entry, &drv, NULL), DC_OK);
	dc_sys_run_for(s, 1000000);
	CHECK_EQ(crashes, 0);
	CHECK_EQ(dc_sys_unload(s, drv), DC_OK);
	CHECK_EQ(crashes, 1);
	CHECK_EQ(last_crash, 0xCE);
	/* It never runs again, and nothing hangs. */
	dc_sys_run_for(s, 1000000);
	dc_sys_destroy(s);
}
