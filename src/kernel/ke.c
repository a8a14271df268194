/* The kernel core drivers call: IRQL and spin locks, simulated time, DPCs, interrupt objects,
 * dispatcher objects a driver waits on (events, semaphores, mutexes, timers), debug output.
 *
 * A spin lock is an IRQL raise and, under --schedule, a lock that excludes (sched.c): a
 * second acquire on the processor holding it is L01, locks taken in both orders L02.  A wait
 * at PASSIVE_LEVEL runs other threads and simulated time — devices, interrupts, DPCs, timers —
 * until the object is signalled or the timeout passes (thread.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbgprint.h"
#include "kernel.h"

#define RA() __builtin_return_address(0)

/* --- IRQL and spin locks ------------------------------------------------------------------ */

KIRQL KeGetCurrentIrql(void)
{
	return dc_k()->irql;
}

void KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql)
{
	struct dc_sys *s = dc_k();
	if (NewIrql < s->irql) {
		/* IRQL_NOT_GREATER_OR_EQUAL on Windows. */
		struct dc_kev e = {.type = DC_KEV_IRQL,
		                   .routine = "KeRaiseIrql",
		                   .pc = RA(),
		                   .irql = s->irql,
		                   .irql_min = NewIrql,
		                   .irql_max = HIGH_LEVEL};
		dc_kev_emit(s, &e);
	}
	KIRQL old = s->irql;
	s->irql = NewIrql > HIGH_LEVEL ? HIGH_LEVEL : NewIrql;
	if (OldIrql) {
		dc_ktouch(s, OldIrql, sizeof(*OldIrql), true);
		*OldIrql = old;
	}
}

void KeLowerIrql(KIRQL NewIrql)
{
	struct dc_sys *s = dc_k();
	if (NewIrql > s->irql) {
		struct dc_kev e = {.type = DC_KEV_IRQL,
		                   .routine = "KeLowerIrql",
		                   .pc = RA(),
		                   .irql = s->irql,
		                   .irql_min = 0,
		                   .irql_max = NewIrql};
		dc_kev_emit(s, &e);
		return;
	}
	if (NewIrql < DISPATCH_LEVEL && s->irql >= DISPATCH_LEVEL)
		dc_ksync(s, DC_SYNC_LOWER, NULL, dc_machine_cpu(s->m));
	s->irql = NewIrql;
	dc_sys_deliver(s);
}

KIRQL KeRaiseIrqlToDpcLevel(void)
{
	struct dc_sys *s = dc_k();
	return dc_irql_raise(s, DISPATCH_LEVEL);
}

void KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, SpinLock, sizeof(*SpinLock), true);
	*SpinLock = 0;
}

/* Spin locks exclude (sched.c): a lock held by another processor's context spins (in simulated
 * time, under --schedule); one held on this processor is a self-deadlock (L01); the order
 * locks are taken in is checked (L02). */
static void lock_acquire(struct dc_sys *s, PKSPIN_LOCK l, const void *pc)
{
	dc_spin_acquire(s, l, pc);
	dc_ksync(s, DC_SYNC_ACQUIRE, l, 0);
}

static void lock_release(struct dc_sys *s, PKSPIN_LOCK l, const void *pc)
{
	dc_ksync(s, DC_SYNC_RELEASE, l, 0);
	dc_spin_release(s, l, pc);
}

void KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeAcquireSpinLock", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	lock_acquire(s, SpinLock, RA());
	dc_ktouch(s, OldIrql, sizeof(*OldIrql), true);
	*OldIrql = old;
}

void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
	struct dc_sys *s = dc_k();
	lock_release(s, SpinLock, RA());
	dc_irql_lower(s, NewIrql);
}

void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeAcquireSpinLockAtDpcLevel", DISPATCH_LEVEL, HIGH_LEVEL, RA());
	lock_acquire(s, SpinLock, RA());
}

void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
	struct dc_sys *s = dc_k();
	lock_release(s, SpinLock, RA());
}

static KSPIN_LOCK cancel_lock;

void IoAcquireCancelSpinLock(PKIRQL Irql)
{
	struct dc_sys *s = dc_k();
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	lock_acquire(s, &cancel_lock, RA());
	dc_ktouch(s, Irql, sizeof(*Irql), true);
	*Irql = old;
}

void IoReleaseCancelSpinLock(KIRQL Irql)
{
	struct dc_sys *s = dc_k();
	lock_release(s, &cancel_lock, RA());
	dc_irql_lower(s, Irql);
}

/* --- Time --------------------------------------------------------------------------------- */

void dc_cpu_watchdog_time(const void *pc); /* src/hw/cpu.c */

void KeStallExecutionProcessor(ULONG MicroSeconds)
{
	struct dc_sys *s = dc_k();
	dc_sys_advance(s, (uint64_t)MicroSeconds * 1000);
	/* A busy wait is no wait: a driver that stalls forever is stopped by the watchdog. */
	dc_cpu_watchdog_time(__builtin_return_address(0));
}

LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
	struct dc_sys *s = dc_k();
	if (PerformanceFrequency) {
		dc_ktouch(s, PerformanceFrequency, sizeof(*PerformanceFrequency), true);
		PerformanceFrequency->QuadPart = 1000000000;
	}
	LARGE_INTEGER r;
	r.QuadPart = (LONGLONG)s->m->clock.now;
	return r;
}

/* 2026-01-01 in 100 ns units since 1601: simulated wall time starts there, always. */
#define DC_EPOCH_100NS 134117856000000000LL

void KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, CurrentTime, sizeof(*CurrentTime), true);
	CurrentTime->QuadPart = DC_EPOCH_100NS + (LONGLONG)(s->m->clock.now / 100);
}

ULONGLONG KeQueryInterruptTime(void)
{
	return dc_k()->m->clock.now / 100;
}

/* --- DPCs --------------------------------------------------------------------------------- */

#define DC_DPC_OBJECT 19          /* DpcObject in KOBJECTS */
#define DC_THREADED_DPC_OBJECT 24 /* ThreadedDpcObject (KeInitializeThreadedDpc, iosvc.c) */

void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	memset(Dpc, 0, sizeof(*Dpc));
	Dpc->Type = DC_DPC_OBJECT;
	Dpc->Importance = MediumImportance;
	Dpc->DeferredRoutine = DeferredRoutine;
	Dpc->DeferredContext = DeferredContext;
}

BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	dc_ksync(s, DC_SYNC_RELEASE, Dpc, 0); /* ordered before the DPC's run (queued or not) */
	if (Dpc->DpcData)
		return FALSE;
	if ((Dpc->Type != DC_DPC_OBJECT && Dpc->Type != DC_THREADED_DPC_OBJECT) ||
	    !Dpc->DeferredRoutine) {
		dc_kbugcheck(s, 0x0A, "KeInsertQueueDpc on a DPC that was never initialized", RA());
		return FALSE;
	}
	Dpc->SystemArgument1 = SystemArgument1;
	Dpc->SystemArgument2 = SystemArgument2;
	Dpc->DpcData = &s->dpcs;
	dc_mp_dpc_queued(s, Dpc);
	if (Dpc->Importance == HighImportance)
		InsertHeadList(&s->dpcs, &Dpc->DpcListEntry);
	else
		InsertTailList(&s->dpcs, &Dpc->DpcListEntry);
	/* Queued at PASSIVE (rare), it runs at once, as the DPC interrupt would fire. */
	if (s->irql < DISPATCH_LEVEL)
		dc_sys_deliver(s);
	return TRUE;
}

BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	if (!Dpc->DpcData)
		return FALSE;
	RemoveEntryList(&Dpc->DpcListEntry);
	Dpc->DpcData = NULL;
	return TRUE;
}

void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	Dpc->Importance = (UCHAR)Importance;
}

/* --- Debug output and bug checks ---------------------------------------------------------- */

/* Driver debug output is captured by the system (dbgprint.c: a ring of lines, counts, the
 * tool's live display and the trace); DbgPrintEx through Windows' default filter. */
static void dbg_vprint(struct dc_sys *s, PCSTR Format, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), Format, ap);
	if (n >= (int)sizeof(buf)) /* the rest of an over-long call is lost: keep its newline */
		buf[sizeof(buf) - 2] = '\n';
	if (n > 0)
		dc_dbgprint_text(s, buf);
}

ULONG DbgPrint(PCSTR Format, ...)
{
	/* Debug output needs no system: with none current (a constructor of a module loaded
	 * outside dmacoh run), it goes nowhere. */
	struct dc_sys *s = dc_sys_cur;
	if (!s)
		return 0;
	va_list ap;
	va_start(ap, Format);
	dbg_vprint(s, Format, ap);
	va_end(ap);
	return 0; /* STATUS_SUCCESS */
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
	struct dc_sys *s = dc_sys_cur;
	if (!s)
		return 0;
	if (!dc_dbgprint_passes(ComponentId, Level)) {
		dc_dbgprint_filtered(s);
		return 0;
	}
	va_list ap;
	va_start(ap, Format);
	dbg_vprint(s, Format, ap);
	va_end(ap);
	return 0;
}

void RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber, PSTR MutableMessage)
{
	(void)MutableMessage;
	struct dc_sys *s = dc_k();
	static _Thread_local char what[256];
	snprintf(what, sizeof(what), "assertion failed: %s at %s:%u",
	         (const char *)VoidFailedAssertion, (const char *)VoidFileName,
	         (unsigned)LineNumber);
	dc_kbugcheck(s, 0xDEADDEAD, what, RA());
}

void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
	(void)P1, (void)P2, (void)P3, (void)P4;
	dc_kbugcheck(dc_k(), BugCheckCode, "KeBugCheckEx called by the driver", RA());
	/* Windows stops here; so does the run (the crash handler writes the report out). */
	abort();
}

void KeBugCheck(ULONG BugCheckCode)
{
	dc_kbugcheck(dc_k(), BugCheckCode, "KeBugCheck called by the driver", RA());
	abort();
}

/* --- Dispatcher objects ----------------------------------------------------------------------
 * Header.Type: 0 notification event, 1 synchronization event, 5 semaphore, 2 mutant, 8/9
 * timers, as the KOBJECTS numbering.  SignalState is the object's state. */
enum {
	OBJ_NEVENT = 0,
	OBJ_SEVENT = 1,
	OBJ_MUTANT = 2,
	OBJ_SEMAPHORE = 5,
	OBJ_NTIMER = 8,
	OBJ_STIMER = 9
};

void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Event, sizeof(*Event), true);
	memset(Event, 0, sizeof(*Event));
	Event->Header.Type = Type == SynchronizationEvent ? OBJ_SEVENT : OBJ_NEVENT;
	Event->Header.SignalState = State ? 1 : 0;
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
	(void)Increment, (void)Wait;
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Event, sizeof(*Event), true);
	LONG old = Event->Header.SignalState;
	Event->Header.SignalState = 1;
	dc_ksync(s, DC_SYNC_RELEASE, Event, 0);
	return old;
}

LONG KeResetEvent(PRKEVENT Event)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Event, sizeof(*Event), true);
	LONG old = Event->Header.SignalState;
	Event->Header.SignalState = 0;
	return old;
}

void KeClearEvent(PRKEVENT Event)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Event, sizeof(*Event), true);
	Event->Header.SignalState = 0;
}

LONG KeReadStateEvent(PRKEVENT Event)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Event, sizeof(*Event), false);
	return Event->Header.SignalState;
}

void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Semaphore, sizeof(*Semaphore), true);
	memset(Semaphore, 0, sizeof(*Semaphore));
	Semaphore->Header.Type = OBJ_SEMAPHORE;
	Semaphore->Header.SignalState = Count;
	Semaphore->Limit = Limit;
}

LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait)
{
	(void)Increment, (void)Wait;
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Semaphore, sizeof(*Semaphore), true);
	LONG old = Semaphore->Header.SignalState;
	if (Adjustment <= 0 || old + Adjustment > Semaphore->Limit) {
		dc_kbugcheck(s, 0x7F /* STATUS_SEMAPHORE_LIMIT_EXCEEDED */,
		             "semaphore limit exceeded", RA());
		return old;
	}
	Semaphore->Header.SignalState = old + Adjustment;
	dc_ksync(s, DC_SYNC_RELEASE, Semaphore, 0);
	return old;
}

void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
	(void)Level;
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Mutex, sizeof(*Mutex), true);
	memset(Mutex, 0, sizeof(*Mutex));
	Mutex->Header.Type = OBJ_MUTANT;
	Mutex->Header.SignalState = 1;
}

LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
	(void)Wait;
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Mutex, sizeof(*Mutex), true);
	LONG old = Mutex->Header.SignalState;
	if (old >= 1) {
		dc_kbugcheck(s, 0xD /* MUTEX_LEVEL_NUMBER_VIOLATION */,
		             "mutex released while not owned", RA());
		return old;
	}
	Mutex->Header.SignalState = old + 1;
	dc_ksync(s, DC_SYNC_RELEASE, Mutex, 0);
	return old;
}

/* Timers: a clock event per armed timer, kept in host memory and found by the KTIMER's
 * address.  When it fires the timer is signalled and its DPC queued. */
struct dc_ktimer {
	struct dc_ktimer *next;
	PKTIMER t;
	struct dc_event ev;
	struct dc_sys *s;
	LONG period_ms;
};
static _Thread_local struct dc_ktimer *timers;

static struct dc_ktimer *timer_find(PKTIMER t)
{
	for (struct dc_ktimer *k = timers; k; k = k->next)
		if (k->t == t)
			return k;
	return NULL;
}

static void timer_fire(void *opaque)
{
	struct dc_ktimer *k = opaque;
	struct dc_sys *s = k->s;
	PKTIMER t = k->t;
	dc_ktouch(s, t, sizeof(*t), true);
	t->Header.SignalState = 1;
	if (k->period_ms > 0)
		dc_event_schedule(&s->m->clock, &k->ev,
		                  s->m->clock.now + (uint64_t)k->period_ms * 1000000);
	if (t->Dpc)
		KeInsertQueueDpc(t->Dpc, (PVOID)(uintptr_t)s->m->clock.now, NULL);
}

void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
	struct dc_sys *s = dc_k();
	struct dc_ktimer *k = timer_find(Timer);
	if (k)
		dc_event_cancel(&s->m->clock, &k->ev);
	dc_ktouch(s, Timer, sizeof(*Timer), true);
	memset(Timer, 0, sizeof(*Timer));
	Timer->Header.Type = Type == SynchronizationTimer ? OBJ_STIMER : OBJ_NTIMER;
}

void KeInitializeTimer(PKTIMER Timer)
{
	KeInitializeTimerEx(Timer, NotificationTimer);
}

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
	struct dc_sys *s = dc_k();
	struct dc_ktimer *k = timer_find(Timer);
	BOOLEAN was = FALSE;
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return FALSE;
		k->t = Timer;
		k->s = s;
		dc_event_init(&k->ev, "KTIMER", timer_fire, k);
		k->next = timers;
		timers = k;
	} else {
		was = dc_event_pending(&k->ev);
		dc_event_cancel(&s->m->clock, &k->ev);
	}
	dc_ktouch(s, Timer, sizeof(*Timer), true);
	Timer->Header.SignalState = 0;
	Timer->Dpc = Dpc;
	dc_ksync(s, DC_SYNC_RELEASE, Dpc, 0); /* the setter is ordered before the timer's DPC */
	dc_ksync(s, DC_SYNC_RELEASE, Timer, 0);
	Timer->Period = Period;
	k->period_ms = Period;
	uint64_t now = s->m->clock.now;
	uint64_t when;
	if (DueTime.QuadPart < 0)
		when = now + (uint64_t)(-DueTime.QuadPart) * 100;
	else {
		uint64_t abs_ns = (uint64_t)(DueTime.QuadPart - DC_EPOCH_100NS) * 100;
		when = DueTime.QuadPart < DC_EPOCH_100NS || abs_ns < now ? now : abs_ns;
	}
	dc_event_schedule(&s->m->clock, &k->ev, when);
	return was;
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
	return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN KeCancelTimer(PKTIMER Timer)
{
	struct dc_sys *s = dc_k();
	struct dc_ktimer *k = timer_find(Timer);
	if (!k || !dc_event_pending(&k->ev))
		return FALSE;
	dc_event_cancel(&s->m->clock, &k->ev);
	return TRUE;
}

BOOLEAN KeReadStateTimer(PKTIMER Timer)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Timer, sizeof(*Timer), false);
	return Timer->Header.SignalState != 0;
}

/* Forgets the timers of a system that goes away. */
void dc_ke_timers_fini(struct dc_sys *s)
{
	for (struct dc_ktimer **pp = &timers; *pp;) {
		struct dc_ktimer *k = *pp;
		if (k->s != s) {
			pp = &k->next;
			continue;
		}
		dc_event_cancel(&s->m->clock, &k->ev);
		*pp = k->next;
		free(k);
	}
}

/* Is the object signalled?  Satisfies the wait if so (auto-reset, counts, ownership). */
static bool try_acquire(struct dc_sys *s, DISPATCHER_HEADER *h)
{
	dc_ktouch(s, h, sizeof(*h), true);
	if (h->SignalState <= 0)
		return false;
	switch (h->Type) {
	case OBJ_SEVENT:
	case OBJ_STIMER:
		h->SignalState = 0;
		break;
	case OBJ_SEMAPHORE:
	case OBJ_MUTANT:
		h->SignalState--;
		break;
	default:
		break;
	}
	return true;
}

bool dc_ke_try_wait(struct dc_sys *s, ULONG n, PVOID *objs, bool all, NTSTATUS *st)
{
	if (all) {
		for (ULONG i = 0; i < n; i++) {
			DISPATCHER_HEADER *h = objs[i];
			dc_ktouch(s, h, sizeof(*h), false);
			if (h->SignalState <= 0)
				return false;
		}
		for (ULONG i = 0; i < n; i++)
			try_acquire(s, objs[i]);
		*st = STATUS_SUCCESS;
		return true;
	}
	for (ULONG i = 0; i < n; i++)
		if (try_acquire(s, objs[i])) {
			*st = STATUS_WAIT_0 + (NTSTATUS)i;
			return true;
		}
	return false;
}

static uint64_t deadline_of(struct dc_sys *s, PLARGE_INTEGER Timeout)
{
	if (!Timeout)
		return UINT64_MAX;
	dc_ktouch(s, Timeout, sizeof(*Timeout), false);
	LONGLONG t = Timeout->QuadPart;
	if (t < 0)
		return s->m->clock.now + (uint64_t)(-t) * 100;
	return t <= DC_EPOCH_100NS ? s->m->clock.now : (uint64_t)(t - DC_EPOCH_100NS) * 100;
}

static NTSTATUS wait_any_(struct dc_sys *s, ULONG n, PVOID *objs, bool all, PLARGE_INTEGER Timeout,
                          const char *routine, const void *pc)
{
	uint64_t deadline = deadline_of(s, Timeout);
	if (s->irql > APC_LEVEL && !(Timeout && Timeout->QuadPart == 0))
		dc_irql_require(s, routine, PASSIVE_LEVEL, APC_LEVEL, pc);
	NTSTATUS st;
	if (dc_ke_try_wait(s, n, objs, all, &st))
		return st;
	struct dc_clock *c = &s->m->clock;
	if (c->now >= deadline)
		return STATUS_TIMEOUT;
	if (s->irql <= APC_LEVEL) {
		/* Other threads run while this one waits (thread.c). */
		struct dc_kwait w = {.n = n, .objs = objs, .all = all, .deadline = deadline};
		st = dc_sched_wait(s, &w);
		if (st == DC_STATUS_DEADLOCK) {
			dc_kbugcheck(s, 0x000000E4 /* WORKER_INVALID-like: deadlock */,
			             "wait can never be satisfied (deadlock)", pc);
			return STATUS_TIMEOUT;
		}
		return st;
	}
	/* Above APC_LEVEL (a rule already broken and reported): no thread switch; time runs
	 * on this processor until the wait is satisfied. */
	for (;;) {
		if (dc_ke_try_wait(s, n, objs, all, &st))
			return st;
		uint64_t next = dc_clock_next(c);
		if (c->now >= deadline)
			return STATUS_TIMEOUT;
		if (next == UINT64_MAX || s->irql >= DISPATCH_LEVEL) {
			/* Nothing can ever signal it: on Windows the thread waits forever. */
			if (deadline != UINT64_MAX) {
				c->now = deadline > c->now ? deadline : c->now;
				return STATUS_TIMEOUT;
			}
			dc_kbugcheck(s, 0x000000E4 /* WORKER_INVALID-like: deadlock */,
			             "wait can never be satisfied (deadlock)", pc);
			return STATUS_TIMEOUT;
		}
		if (next > deadline) {
			c->now = deadline;
			continue;
		}
		dc_clock_step(c);
		dc_sys_deliver(s);
	}
}

/* A satisfied wait is ordered after what signalled its objects (the race detector's edge). */
static NTSTATUS wait_any(struct dc_sys *s, ULONG n, PVOID *objs, bool all, PLARGE_INTEGER Timeout,
                         const char *routine, const void *pc)
{
	NTSTATUS st = wait_any_(s, n, objs, all, Timeout, routine, pc);
	for (ULONG i = 0; st != STATUS_TIMEOUT && objs && i < n; i++)
		dc_ksync(s, DC_SYNC_ACQUIRE, objs[i], 0);
	return st;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
	(void)WaitReason, (void)WaitMode, (void)Alertable;
	struct dc_sys *s = dc_k();
	return wait_any(s, 1, &Object, false, Timeout, "KeWaitForSingleObject", RA());
}

NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray)
{
	(void)WaitReason, (void)WaitMode, (void)Alertable, (void)WaitBlockArray;
	struct dc_sys *s = dc_k();
	if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS ||
	    (Count > THREAD_WAIT_OBJECTS && !WaitBlockArray)) {
		dc_kbugcheck(s, 0x0C /* MAXIMUM_WAIT_OBJECTS_EXCEEDED */, "too many wait objects",
		             RA());
		return STATUS_INVALID_PARAMETER;
	}
	return wait_any(s, Count, Object, WaitType == WaitAll, Timeout, "KeWaitForMultipleObjects",
	                RA());
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval)
{
	(void)WaitMode, (void)Alertable;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeDelayExecutionThread", PASSIVE_LEVEL, APC_LEVEL, RA());
	uint64_t now = s->m->clock.now;
	uint64_t until = deadline_of(s, Interval);
	if (s->irql > APC_LEVEL) {
		dc_sys_advance(s, until > now ? until - now : 0);
		return STATUS_SUCCESS;
	}
	/* Other threads run meanwhile; a zero interval yields to those that can run. */
	struct dc_kwait w = {.deadline = until};
	dc_sched_wait(s, &w);
	return STATUS_SUCCESS;
}
