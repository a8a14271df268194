/* WDM plumbing around a driver's DMA path, with Windows' semantics and IRQL rules: remove locks,
 * the per-device IoTimer (its routine runs once a simulated second in a DPC, at DISPATCH_LEVEL),
 * the error log (entries in simulated pool; a written entry becomes a DC_KEV_ERRLOG event the
 * trace shows, and is kept for dc_sys_errlog), fast mutexes and critical regions,
 * IoGetConfigurationInformation, KeFlushWriteBuffer.  What Windows would bug-check for (a
 * remove lock released more often than acquired, a fast mutex acquired recursively or released
 * by a thread that does not own it, an error-log entry written or freed twice) is reported as a
 * bug check and dmacoh carries on.  Not modelled: APCs (a critical region only counts), remove
 * lock tag tracking, the event-log service's own limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "plumb.h"

#define RA() __builtin_return_address(0)

#define DC_SECOND_NS UINT64_C(1000000000)

/* One IO_TIMER (host memory; DEVICE_OBJECT.Timer points to it). */
struct _IO_TIMER {
	struct dc_sys *s;
	PDEVICE_OBJECT dev;
	PDRIVER_OBJECT drv;
	PIO_TIMER_ROUTINE fn;
	PVOID ctx;
	bool running;
	struct dc_event ev;
	KDPC dpc;
	struct _IO_TIMER *next;
};

struct dc_errlog {
	void *entry; /* the pool block the driver fills */
	bool written;
	char text[400];
};

struct dc_plumb {
	struct _IO_TIMER *timers;
	struct dc_errlog *log;
	size_t n_log, cap_log;
	CONFIGURATION_INFORMATION config;
	ULONG errlog_seq;
	unsigned critical; /* KeEnterCriticalRegion depth of the running thread (one count) */
};

static struct dc_plumb *plumb(struct dc_sys *s)
{
	if (!s->plumb) {
		s->plumb = calloc(1, sizeof(*s->plumb));
		if (s->plumb)
			s->plumb->config.Version = sizeof(CONFIGURATION_INFORMATION);
	}
	return s->plumb;
}

void dc_plumb_fini(struct dc_sys *s)
{
	dc_irpbuild_fini(s);
	dc_mdlpages_fini(s);
	struct dc_plumb *p = s->plumb;
	if (!p)
		return;
	while (p->timers) {
		struct _IO_TIMER *t = p->timers;
		p->timers = t->next;
		dc_event_cancel(&s->m->clock, &t->ev);
		free(t);
	}
	free(p->log);
	free(p);
	s->plumb = NULL;
}

static struct dc_driver *driver_of(struct dc_sys *s, PDRIVER_OBJECT obj)
{
	for (unsigned i = 0; i < s->n_drvs; i++)
		if (s->drvs[i]->obj == obj)
			return s->drvs[i];
	return NULL;
}

/* --- Remove locks ------------------------------------------------------------------------- */

VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                              ULONG HighWatermark, ULONG RemlockSize)
{
	(void)AllocateTag, (void)MaxLockedMinutes, (void)HighWatermark;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoInitializeRemoveLock", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!Lock || RemlockSize < sizeof(IO_REMOVE_LOCK_COMMON_BLOCK))
		return;
	dc_ktouch(s, Lock, sizeof(Lock->Common), true);
	Lock->Common.Removed = FALSE;
	Lock->Common.IoCount = 1;
	KeInitializeEvent(&Lock->Common.RemoveEvent, SynchronizationEvent, FALSE);
}

NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                               ULONG RemlockSize)
{
	(void)Tag, (void)File, (void)Line, (void)RemlockSize;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoAcquireRemoveLock", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!RemoveLock) {
		dc_kbugcheck(s, 0x1E, "IoAcquireRemoveLock with a NULL lock", RA());
		return STATUS_INVALID_PARAMETER;
	}
	dc_ktouch(s, RemoveLock, sizeof(RemoveLock->Common), true);
	InterlockedIncrement(&RemoveLock->Common.IoCount);
	if (!RemoveLock->Common.Removed)
		return STATUS_SUCCESS;
	if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0)
		KeSetEvent(&RemoveLock->Common.RemoveEvent, 0, FALSE);
	return STATUS_DELETE_PENDING;
}

VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
	(void)Tag, (void)RemlockSize;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoReleaseRemoveLock", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	if (!RemoveLock) {
		dc_kbugcheck(s, 0x1E, "IoReleaseRemoveLock with a NULL lock", RA());
		return;
	}
	dc_ktouch(s, RemoveLock, sizeof(RemoveLock->Common), true);
	LONG n = InterlockedDecrement(&RemoveLock->Common.IoCount);
	if (n < 0 || (n == 0 && !RemoveLock->Common.Removed)) {
		/* The count the lock started with is gone: a release without its acquire. */
		dc_kbugcheck(
		    s, 0xC4,
		    "IoReleaseRemoveLock released the lock more often than it was acquired", RA());
		if (n < 0)
			RemoveLock->Common.IoCount = 0;
		return;
	}
	if (n == 0)
		KeSetEvent(&RemoveLock->Common.RemoveEvent, 0, FALSE);
}

VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
	(void)Tag, (void)RemlockSize;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoReleaseRemoveLockAndWait", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!RemoveLock) {
		dc_kbugcheck(s, 0x1E, "IoReleaseRemoveLockAndWait with a NULL lock", RA());
		return;
	}
	dc_ktouch(s, RemoveLock, sizeof(RemoveLock->Common), true);
	if (RemoveLock->Common.Removed) {
		dc_kbugcheck(s, 0xC4, "IoReleaseRemoveLockAndWait called twice on one lock", RA());
		return;
	}
	RemoveLock->Common.Removed = TRUE;
	/* The caller's own acquire, then the count the lock started with. */
	InterlockedDecrement(&RemoveLock->Common.IoCount);
	if (InterlockedDecrement(&RemoveLock->Common.IoCount) > 0) {
		NTSTATUS st = KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive,
		                                    KernelMode, FALSE, NULL);
		if (st == DC_STATUS_DEADLOCK)
			dc_kbugcheck(s, 0xE4,
			             "IoReleaseRemoveLockAndWait waits forever: an acquired remove "
			             "lock is never released",
			             RA());
	}
}

/* --- IoTimer ------------------------------------------------------------------------------ */

static void iotimer_dpc(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)a1, (void)a2;
	struct _IO_TIMER *t = ctx;
	if (t->running && t->fn)
		t->fn(t->dev, t->ctx);
}

static void iotimer_fire(void *opaque)
{
	struct _IO_TIMER *t = opaque;
	struct dc_sys *s = t->s;
	struct dc_driver *drv = driver_of(s, t->drv);
	if (!t->running || !drv || drv->unloaded) {
		t->running = false;
		return;
	}
	dc_event_schedule(&s->m->clock, &t->ev, s->m->clock.now + DC_SECOND_NS);
	KeInsertQueueDpc(&t->dpc, NULL, NULL);
}

NTSTATUS IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine,
                           PVOID Context)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoInitializeTimer", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_plumb *p = plumb(s);
	if (!DeviceObject || !p)
		return STATUS_INSUFFICIENT_RESOURCES;
	struct _IO_TIMER *t = DeviceObject->Timer;
	if (!t) {
		if (!(t = calloc(1, sizeof(*t))))
			return STATUS_INSUFFICIENT_RESOURCES;
		t->s = s;
		t->dev = DeviceObject;
		t->drv = DeviceObject->DriverObject;
		dc_event_init(&t->ev, "IoTimer", iotimer_fire, t);
		KeInitializeDpc(&t->dpc, iotimer_dpc, t);
		t->next = p->timers;
		p->timers = t;
		DeviceObject->Timer = t;
	}
	/* A second call replaces the routine, as Windows does. */
	t->fn = TimerRoutine;
	t->ctx = Context;
	return STATUS_SUCCESS;
}

static struct _IO_TIMER *timer_of(struct dc_sys *s, PDEVICE_OBJECT dev, const char *routine,
                                  const void *pc)
{
	if (!dev || !dev->Timer) {
		char what[128];
		snprintf(what, sizeof(what),
		         "%s on a device without IoInitializeTimer (DeviceObject->Timer is NULL)",
		         routine);
		/* Windows dereferences the NULL timer. */
		static _Thread_local char msg[128];
		memcpy(msg, what, sizeof(msg));
		dc_kbugcheck(s, 0x1E, msg, pc);
		return NULL;
	}
	return dev->Timer;
}

VOID IoStartTimer(PDEVICE_OBJECT DeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoStartTimer", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct _IO_TIMER *t = timer_of(s, DeviceObject, "IoStartTimer", RA());
	if (!t || t->running)
		return;
	t->running = true;
	if (!dc_event_pending(&t->ev))
		dc_event_schedule(&s->m->clock, &t->ev, s->m->clock.now + DC_SECOND_NS);
}

VOID IoStopTimer(PDEVICE_OBJECT DeviceObject)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoStopTimer", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct _IO_TIMER *t = timer_of(s, DeviceObject, "IoStopTimer", RA());
	if (!t)
		return;
	t->running = false;
	dc_event_cancel(&s->m->clock, &t->ev);
	KeRemoveQueueDpc(&t->dpc);
}

void dc_plumb_device_new(struct dc_sys *s, PDEVICE_OBJECT dev, PUNICODE_STRING name)
{
	(void)s, (void)name;
	dc_iosvc_vpb_new(dev);
}

void dc_plumb_device_gone(struct dc_sys *s, PDEVICE_OBJECT dev)
{
	struct dc_plumb *p = s->plumb;
	dc_iosvc_vpb_gone(dev);
	if (!p || !dev->Timer)
		return;
	for (struct _IO_TIMER **pp = &p->timers; *pp; pp = &(*pp)->next)
		if (*pp == dev->Timer) {
			struct _IO_TIMER *t = *pp;
			*pp = t->next;
			dc_event_cancel(&s->m->clock, &t->ev);
			KeRemoveQueueDpc(&t->dpc);
			free(t);
			break;
		}
	dev->Timer = NULL;
}

/* --- The error log ------------------------------------------------------------------------- */

PVOID IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoAllocateErrorLogEntry", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_plumb *p = plumb(s);
	if (!IoObject || !p || EntrySize < sizeof(IO_ERROR_LOG_PACKET) ||
	    EntrySize > ERROR_LOG_MAXIMUM_SIZE)
		return NULL;
	if (p->n_log == p->cap_log) {
		size_t cap = p->cap_log ? 2 * p->cap_log : 8;
		struct dc_errlog *q = realloc(p->log, cap * sizeof(*q));
		if (!q)
			return NULL;
		p->log = q;
		p->cap_log = cap;
	}
	void *e = dc_pool_alloc(s, EntrySize, true, 'rrEI');
	if (!e)
		return NULL;
	p->log[p->n_log++] = (struct dc_errlog){.entry = e};
	return e;
}

static struct dc_errlog *log_of(struct dc_plumb *p, const void *entry)
{
	for (size_t i = 0; p && i < p->n_log; i++)
		if (p->log[i].entry == entry)
			return &p->log[i];
	return NULL;
}

VOID IoWriteErrorLogEntry(PVOID ElEntry)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoWriteErrorLogEntry", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_plumb *p = s->plumb;
	struct dc_errlog *l = log_of(p, ElEntry);
	if (!l) {
		dc_kbugcheck(
		    s, 0xC2,
		    "IoWriteErrorLogEntry of an entry IoAllocateErrorLogEntry did not hand "
		    "out (or one written or freed already)",
		    RA());
		return;
	}
	IO_ERROR_LOG_PACKET pk;
	dc_ktouch(s, ElEntry, sizeof(pk), false);
	memcpy(&pk, ElEntry, sizeof(pk));
	int n = snprintf(l->text, sizeof(l->text),
	                 "error log: ErrorCode 0x%08X UniqueErrorValue %u FinalStatus 0x%08X "
	                 "MajorFunction %u RetryCount %u",
	                 (unsigned)pk.ErrorCode, (unsigned)pk.UniqueErrorValue,
	                 (unsigned)pk.FinalStatus, pk.MajorFunctionCode, pk.RetryCount);
	/* The dump data, a word at a time, as Event Viewer shows it. */
	for (unsigned i = 0;
	     i < pk.DumpDataSize / 4 && i < 8 && n > 0 && (size_t)n < sizeof(l->text) - 16; i++) {
		ULONG w;
		const uint8_t *src =
		    (const uint8_t *)ElEntry + offsetof(IO_ERROR_LOG_PACKET, DumpData);
		dc_ktouch(s, src + 4 * i, 4, false);
		memcpy(&w, src + 4 * i, 4);
		n += snprintf(l->text + n, sizeof(l->text) - (size_t)n, "%s0x%08X",
		              i ? " " : " dump ", (unsigned)w);
	}
	l->written = true;
	struct dc_kev e = {.type = DC_KEV_ERRLOG,
	                   .routine = l->text,
	                   .pc = RA(),
	                   .va = ElEntry,
	                   .status = pk.ErrorCode,
	                   .value = pk.UniqueErrorValue};
	dc_kev_emit(s, &e);
	/* The I/O manager owns the entry now and frees it after logging. */
	dc_pool_free(s, ElEntry);
	l->entry = NULL;
}

VOID IoFreeErrorLogEntry(PVOID ElEntry)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoFreeErrorLogEntry", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	struct dc_errlog *l = log_of(s->plumb, ElEntry);
	if (!l || l->written) {
		dc_kbugcheck(s, 0xC2,
		             "IoFreeErrorLogEntry of an entry IoAllocateErrorLogEntry did not hand "
		             "out (or one written or freed already)",
		             RA());
		return;
	}
	dc_pool_free(s, ElEntry);
	/* Forgotten: only written entries are kept. */
	size_t i = (size_t)(l - s->plumb->log);
	memmove(l, l + 1, (s->plumb->n_log - i - 1) * sizeof(*l));
	s->plumb->n_log--;
}

size_t dc_sys_errlog_count(struct dc_sys *s)
{
	size_t n = 0;
	for (size_t i = 0; s->plumb && i < s->plumb->n_log; i++)
		n += s->plumb->log[i].written;
	return n;
}

const char *dc_sys_errlog_text(struct dc_sys *s, size_t i)
{
	for (size_t j = 0; s->plumb && j < s->plumb->n_log; j++)
		if (s->plumb->log[j].written && i-- == 0)
			return s->plumb->log[j].text;
	return NULL;
}

/* --- Fast mutexes -------------------------------------------------------------------------- */

/* Count: 1 free, 0 owned (waiters wait on Event). */
VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExInitializeFastMutex", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	dc_ktouch(s, FastMutex, sizeof(*FastMutex), true);
	FastMutex->Count = 1;
	FastMutex->Owner = NULL;
	FastMutex->Contention = 0;
	FastMutex->OldIrql = 0;
	KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

static bool fm_take(struct dc_sys *s, PFAST_MUTEX m, const char *routine, const void *pc)
{
	dc_ktouch(s, m, sizeof(*m), true);
	PVOID me = (PVOID)s->cur_thread;
	if (m->Count != 1 && m->Owner == me) {
		char what[128];
		snprintf(what, sizeof(what),
		         "%s: the thread already owns this fast mutex (a self-deadlock)", routine);
		static _Thread_local char msg[128];
		memcpy(msg, what, sizeof(msg));
		dc_kbugcheck(s, 0xC4, msg, pc);
		return false;
	}
	while (m->Count != 1) {
		m->Contention++;
		NTSTATUS st = KeWaitForSingleObject(&m->Event, Executive, KernelMode, FALSE, NULL);
		dc_ktouch(s, m, sizeof(*m), true);
		if (st == DC_STATUS_DEADLOCK) {
			dc_kbugcheck(s, 0xE4, "a fast mutex is never released", pc);
			return false;
		}
	}
	m->Count = 0;
	m->Owner = me;
	dc_ksync(s, DC_SYNC_ACQUIRE, m, 0);
	return true;
}

static bool fm_give(struct dc_sys *s, PFAST_MUTEX m, const char *routine, const void *pc)
{
	dc_ktouch(s, m, sizeof(*m), true);
	if (m->Count == 1 || m->Owner != (PVOID)s->cur_thread) {
		char what[128];
		snprintf(what, sizeof(what), "%s of a fast mutex the thread does not own", routine);
		static _Thread_local char msg[128];
		memcpy(msg, what, sizeof(msg));
		dc_kbugcheck(s, 0xC4, msg, pc);
		return false;
	}
	m->Count = 1;
	m->Owner = NULL;
	dc_ksync(s, DC_SYNC_RELEASE, m, 0);
	if (m->Contention) {
		m->Contention--;
		KeSetEvent(&m->Event, 0, FALSE);
	}
	return true;
}

VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExAcquireFastMutex", PASSIVE_LEVEL, APC_LEVEL, RA());
	KIRQL old = dc_irql_raise(s, APC_LEVEL);
	if (fm_take(s, FastMutex, "ExAcquireFastMutex", RA()))
		FastMutex->OldIrql = old;
	else
		dc_irql_lower(s, old);
}

VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExReleaseFastMutex", APC_LEVEL, APC_LEVEL, RA());
	KIRQL old = (KIRQL)FastMutex->OldIrql;
	if (fm_give(s, FastMutex, "ExReleaseFastMutex", RA()))
		dc_irql_lower(s, old);
}

BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ExTryToAcquireFastMutex", PASSIVE_LEVEL, APC_LEVEL, RA());
	dc_ktouch(s, FastMutex, sizeof(*FastMutex), true);
	if (FastMutex->Count != 1)
		return FALSE;
	KIRQL old = dc_irql_raise(s, APC_LEVEL);
	FastMutex->Count = 0;
	FastMutex->Owner = (PVOID)s->cur_thread;
	FastMutex->OldIrql = old;
	return TRUE;
}

/* The Unsafe forms leave the IRQL alone: the caller is at APC_LEVEL or in a critical region. */
static void require_apcs_off(struct dc_sys *s, const char *routine, const void *pc)
{
	if (s->irql == APC_LEVEL || (s->plumb && s->plumb->critical))
		return;
	if (s->irql > APC_LEVEL) {
		dc_irql_require(s, routine, PASSIVE_LEVEL, APC_LEVEL, pc);
		return;
	}
	struct dc_kev e = {.type = DC_KEV_IRQL,
	                   .routine = routine,
	                   .pc = pc,
	                   .irql = s->irql,
	                   .irql_min = APC_LEVEL,
	                   .irql_max = APC_LEVEL};
	dc_kev_emit(s, &e);
}

VOID ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	require_apcs_off(s, "ExAcquireFastMutexUnsafe", RA());
	fm_take(s, FastMutex, "ExAcquireFastMutexUnsafe", RA());
}

VOID ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
	struct dc_sys *s = dc_k();
	require_apcs_off(s, "ExReleaseFastMutexUnsafe", RA());
	fm_give(s, FastMutex, "ExReleaseFastMutexUnsafe", RA());
}

VOID KeEnterCriticalRegion(void)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeEnterCriticalRegion", PASSIVE_LEVEL, APC_LEVEL, RA());
	struct dc_plumb *p = plumb(s);
	if (p)
		p->critical++;
}

VOID KeLeaveCriticalRegion(void)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeLeaveCriticalRegion", PASSIVE_LEVEL, APC_LEVEL, RA());
	struct dc_plumb *p = plumb(s);
	if (p && p->critical)
		p->critical--;
}

BOOLEAN KeAreApcsDisabled(void)
{
	struct dc_sys *s = dc_k();
	return s->irql >= APC_LEVEL || (s->plumb && s->plumb->critical);
}

/* --- Small services ----------------------------------------------------------------------- */

PCONFIGURATION_INFORMATION IoGetConfigurationInformation(void)
{
	struct dc_sys *s = dc_k();
	struct dc_plumb *p = plumb(s);
	if (!p)
		return NULL;
	/* Counted from the machine: fdc's drive is the floppy; block devices are disks. */
	ULONG floppies = 0, disks = 0;
	for (unsigned i = 0; i < s->n_devs; i++) {
		if (!strcmp(s->devs[i]->kind, "fdc"))
			floppies++;
		else if (strstr(s->devs[i]->kind, "blk"))
			disks++;
	}
	/* Drivers add their own devices to the counts; only the first call sets them. */
	if (!p->config.FloppyCount && !p->config.DiskCount) {
		p->config.FloppyCount = floppies;
		p->config.DiskCount = disks;
	}
	return &p->config;
}

VOID KeFlushWriteBuffer(void)
{
	/* x64: stores are not buffered past a locked instruction; a full fence is what it does. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
