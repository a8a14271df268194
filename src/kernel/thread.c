/* System threads: PsCreateSystemThread as cooperative, deterministic threads on one processor.
 *
 * Every context that can wait is a thread: the application (the host thread that calls
 * dc_sys_*; driver dispatch routines, DriverEntry and PnP run on it) is thread 0, and each
 * PsCreateSystemThread adds one with its own stack (ucontext).  The scheduler switches only
 * when the running thread waits (KeWaitFor*, KeDelayExecutionThread, the application waiting
 * for an IRP or for time) or ends: it then runs the first thread, in creation order after the
 * one that waits, whose wait is satisfied (objects signalled, deadline passed, the
 * application's condition true) or that is new.  When none is, simulated time advances to the
 * next event or deadline; interrupts and DPCs run on whatever thread is current, as on
 * Windows.  No preemption, no host threads: a run is a function of its inputs.
 *
 * A thread's IRQL is its own (saved at a switch).  Waits at DISPATCH_LEVEL or above never
 * switch (ke.c keeps its in-place loop for them: the driver broke a rule already).
 *
 * Under --schedule (issue 17) the same machinery runs work beside other work: every context
 * (a thread, or an interrupt or a DPC queue taken on another processor, each with a stack of
 * its own) has a processor, and at preemption points (kernel calls, every Nth access) the
 * seeded scheduler picks the next one among those runnable and not kept off their processor
 * by higher-IRQL work there; a context spinning for a spin lock is runnable only once the lock
 * is free.  A thread that waited may resume on another processor of its affinity.  Not done:
 * priorities beyond PCT's. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "kernel.h"

#if defined(__SANITIZE_ADDRESS__)
#define DC_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DC_FIBER_ASAN 1
#endif
#endif
#ifdef DC_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

/* The fiber annotations below tell ASan about every switch, and a new stack is unpoisoned
 * when it is made, so libc's swapcontext is called directly: ASan's interceptor would only
 * add a warning on stderr, which would differ between sanitized and plain builds. */
static int switch_context(ucontext_t *from, const ucontext_t *to)
{
	static int (*real)(ucontext_t *, const ucontext_t *);
	if (!real) {
		void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		union {
			void *p;
			int (*fn)(ucontext_t *, const ucontext_t *);
		} u = {.p = libc ? dlsym(libc, "swapcontext") : NULL};
		real = u.fn ? u.fn : swapcontext;
	}
	return real(from, to);
}
#else
#define switch_context swapcontext
#endif

#define RA() __builtin_extract_return_addr(__builtin_return_address(0))

/* Stacks are generous (instrumented driver code and ASan use more than the 12-24 KiB a
 * Windows kernel stack has); reserved without backing, with a guard page below. */
#define DC_THREAD_STACK (1u << 20)
#define DC_THREAD_GUARD 4096u
#define DC_HANDLE_BASE 0x1000u

enum dc_tstate { T_RUNNING, T_READY, T_WAITING, T_DONE, T_ORPHANED };

/* What a context is: a thread (the application's or a system thread), or, under --schedule,
 * an interrupt or the DPC queue of a processor run beside the code of another processor. */
enum dc_ckind { K_THREAD, K_ISR, K_DPC };
#define DC_CTX_SHADOW 64

struct dc_kthread {
	/* The thread object drivers wait on (a ThreadObject; signalled when the thread ends).
	 * First, so a PKTHREAD / PETHREAD / PVOID to the object is a DISPATCHER_HEADER *. */
	DISPATCHER_HEADER hdr;
	struct dc_sys *s;
	unsigned id;
	enum dc_tstate state;
	KIRQL irql;
	ucontext_t ctx;
	uint8_t *map; /* guard + stack; NULL for the application's thread */
	size_t map_len;
	const void *stack_lo; /* for ASan's fiber switches */
	size_t stack_len;
	PKSTART_ROUTINE fn;
	PVOID arg;
	void *module_base; /* the module the start routine is in (dladdr) */
	unsigned refs;     /* the handle and object references */
	bool handle_open;
	struct dc_kwait w;
	NTSTATUS result;
	struct dc_kthread *next;
	/* Processors (issue 17): the processor it runs on (cpu), the one it was on when it was
	 * switched out (a nested ISR or DPC may have been entered on another), what it is. */
	uint32_t cpu, cpu_now;
	KAFFINITY affinity; /* KeSetSystemAffinityThread(Ex); 0: none */
	enum dc_ckind kind;
	unsigned line;                   /* K_ISR: the interrupt line */
	uint64_t seq;                    /* creation order across contexts */
	int prio;                        /* PCT */
	const volatile KSPIN_LOCK *spin; /* spinning for this lock */
	bool deadlocked; /* the scheduler found every other context blocked while it spun */
	bool delivering;
	const void *judged;
	unsigned shadow_n; /* its driver frames while switched out (--schedule) */
	const void *shadow[DC_CTX_SHADOW];
};

static char thread_type_object;
static POBJECT_TYPE thread_type = (POBJECT_TYPE)&thread_type_object;
POBJECT_TYPE *PsThreadType = &thread_type;

static struct dc_kthread *last_thread(struct dc_sys *s)
{
	struct dc_kthread *t = s->threads;
	while (t->next)
		t = t->next;
	return t;
}

int dc_threads_init(struct dc_sys *s)
{
	struct dc_kthread *t = calloc(1, sizeof(*t));
	if (!t)
		return DC_ERR_NOMEM;
	t->s = s;
	t->state = T_RUNNING;
	t->hdr.Type = 6; /* ThreadObject */
	t->refs = 1;     /* never freed before the system */
	t->seq = ++s->thread_seq_all;
	t->prio = (int)(DC_SCHED_MAX_DEPTH + 1);
	s->threads = s->cur_thread = t;
	return DC_OK;
}

static void thread_free(struct dc_kthread *t)
{
#ifdef DC_FIBER_ASAN
	/* A thread that ended mid-call leaves its frames' redzones in ASan's shadow; munmap does
	 * not clear them, and a later mapping at the same addresses (the machine's shadow array)
	 * would read as stack (clang-san CI: stack-buffer-underflow in dc_machine_poison). */
	if (t->map)
		ASAN_UNPOISON_MEMORY_REGION(t->map, t->map_len);
#endif
	if (t->map)
		munmap(t->map, t->map_len);
	free(t);
}

void dc_threads_fini(struct dc_sys *s)
{
	struct dc_kthread *t = s->threads;
	while (t) {
		struct dc_kthread *n = t->next;
		thread_free(t);
		t = n;
	}
	s->threads = s->cur_thread = NULL;
	while (s->ctx_spare) {
		t = s->ctx_spare;
		s->ctx_spare = t->next;
		thread_free(t);
	}
}

/* Frees threads that ended and that nobody references (never the current one). */
static void reap(struct dc_sys *s)
{
	for (struct dc_kthread **pp = &s->threads->next; *pp;) {
		struct dc_kthread *t = *pp;
		if ((t->state == T_DONE || t->state == T_ORPHANED) && t->refs == 0 &&
		    t != s->cur_thread) {
			*pp = t->next;
			if (t->kind != K_THREAD && t != s->prev_thread) {
				t->next = s->ctx_spare;
				s->ctx_spare = t;
			} else
				thread_free(t);
		} else
			pp = &t->next;
	}
}

/* --- Switching ----------------------------------------------------------------------------- */

/* On arriving in a thread (a switch returned, or a new thread's first instruction): ends
 * ASan's fiber switch, learning the application's stack bounds the first time another
 * thread switches back to it, and frees the threads that ended. */
static void arrived(struct dc_sys *s, void *fake)
{
#ifdef DC_FIBER_ASAN
	const void *lo;
	size_t len;
	__sanitizer_finish_switch_fiber(fake, &lo, &len);
	if (s->prev_thread && !s->prev_thread->map) {
		s->prev_thread->stack_lo = lo;
		s->prev_thread->stack_len = len;
	}
#else
	(void)fake;
#endif
	reap(s);
}

void dc_cpu_watchdog_reset(void); /* src/hw/cpu.c: a wait ends the driver's run */

unsigned dc_cpu_shadow_save(const void **frames, unsigned max);    /* src/hw/cpu.c */
void dc_cpu_shadow_restore(const void *const *frames, unsigned n); /* src/hw/cpu.c */

static void switch_to(struct dc_sys *s, struct dc_kthread *from, struct dc_kthread *to)
{
	dc_cpu_watchdog_reset();
	from->irql = s->irql;
	s->prev_thread = from;
	s->cur_thread = to;
	s->irql = to->irql;
	if (to->state == T_READY)
		to->state = T_RUNNING;
	/* Each context runs on its processor. */
	from->cpu_now = dc_machine_cpu(s->m);
	/* The thread that ran from the start (what it entered, an ISR or a DPC delivered on its
	 * stack, is its) is named once, before the first switch away from it. */
	if (!s->first_thread_told) {
		s->first_thread_told = true;
		dc_ksync(s, DC_SYNC_THREAD, from, from->id);
	}
	dc_mp_enter(s, to->cpu_now);
	dc_ksync(s, DC_SYNC_THREAD, to, to->id);
	if (s->mp.sched != DC_SCHED_NONE) {
		/* Beside each other: each context keeps its delivery state and its driver
		 * frames. */
		from->delivering = s->delivering;
		from->judged = s->irql_judged;
		from->shadow_n = dc_cpu_shadow_save(from->shadow, DC_CTX_SHADOW);
		s->delivering = to->delivering;
		s->irql_judged = to->judged;
		dc_cpu_shadow_restore(to->shadow, to->shadow_n);
		s->mp.switches++;
		s->mp.trace = (s->mp.trace ^ (s->mp.steps * 0x9E3779B97F4A7C15ull) ^
		               (to->seq << 8) ^ to->cpu_now) *
		              0x100000001B3ull;
	}
	void *fake = NULL;
#ifdef DC_FIBER_ASAN
	__sanitizer_start_switch_fiber(from->state == T_DONE ? NULL : &fake, to->stack_lo,
	                               to->stack_len);
#endif
	switch_context(&from->ctx, &to->ctx);
	/* Back in `from`: whoever switched here set s->cur_thread and the IRQL. */
	arrived(s, fake);
}

/* Is t able to run?  Satisfies its wait if it can be (acquiring the objects). */
static bool runnable(struct dc_sys *s, struct dc_kthread *t)
{
	if (t->state == T_READY)
		return !t->spin || !*t->spin || t->deadlocked;
	if (t->state != T_WAITING)
		return false;
	struct dc_kwait *w = &t->w;
	bool done = w->pred ? w->pred(w->pred_arg)
	                    : w->n && dc_ke_try_wait(s, w->n, w->objs, w->all, &t->result);
	if (done && w->pred)
		t->result = STATUS_SUCCESS;
	if (!done) {
		if (s->m->clock.now < w->deadline)
			return false;
		t->result = STATUS_TIMEOUT;
	}
	t->state = T_READY;
	/* Under --schedule a thread that waited resumes on a processor the scheduler picks among
	 * its affinity, as Windows' dispatcher may: what it wrote before the wait stays dirty in
	 * the other processor's cache. */
	if (s->mp.sched != DC_SCHED_NONE && t->kind == K_THREAD) {
		t->cpu = t->cpu_now =
		    dc_mp_pick(s, t->affinity ? (uint64_t)t->affinity : ~(uint64_t)0);
		/* The running thread whose own wait just ended goes on without a switch: it moves
		 * now, or it would run on one processor while counted on another. */
		if (t == s->cur_thread)
			dc_mp_enter(s, t->cpu);
	}
	return true;
}

/* The first runnable thread after `cur` in creation order, `cur` itself last. */
static struct dc_kthread *pick(struct dc_sys *s, struct dc_kthread *cur)
{
	for (struct dc_kthread *t = cur->next; t; t = t->next)
		if (runnable(s, t))
			return t;
	for (struct dc_kthread *t = s->threads; t != cur; t = t->next)
		if (runnable(s, t))
			return t;
	return runnable(s, cur) ? cur : NULL;
}

/* --- The seeded scheduler (--schedule) ------------------------------------------------------- */

static void schedule(struct dc_sys *s, struct dc_kthread *cur);
static void act_main(PVOID arg);

/* Simulated time a stretch of driver code between two preemption points takes. */
#define DC_SCHED_POINT_NS 100u

static struct dc_kthread *ctx_new(struct dc_sys *s);
static void ctx_start(struct dc_kthread *t);

/* Is t kept off its processor by another context there at DISPATCH_LEVEL or above (a higher
 * IRQL, or the same one that came first)?  Below DISPATCH_LEVEL contexts share a processor
 * (threads are time-sliced); at or above it the processor runs only the highest. */
static bool blocked(struct dc_sys *s, const struct dc_kthread *t)
{
	KIRQL ti = t == s->cur_thread ? s->irql : t->irql;
	for (const struct dc_kthread *u = s->threads; u; u = u->next) {
		if (u == t || u->cpu != t->cpu || (u->state != T_READY && u->state != T_RUNNING))
			continue;
		KIRQL ui = u == s->cur_thread ? s->irql : u->irql;
		if (ui >= DISPATCH_LEVEL && (ui > ti || (ui == ti && u->seq < t->seq)))
			return true;
	}
	return false;
}

static void ctx_link(struct dc_sys *s, struct dc_kthread *t)
{
	t->seq = ++s->thread_seq_all;
	t->prio = (int)(s->mp.depth + dc_rng_below(&s->mp.srng, 1u << 20));
	last_thread(s)->next = t;
}

void dc_sys_run_dpcs_of(struct dc_sys *s, uint32_t cpu); /* sys.c */

static void act_main(PVOID arg)
{
	/* Runs the interrupt or the DPC queue of its processor, then ends. */
	struct dc_kthread *t = arg;
	struct dc_sys *s = t->s;
	if (t->kind == K_ISR)
		dc_io_run_isrs(s, t->line);
	else
		dc_sys_run_dpcs_of(s, t->cpu);
}

/* An interrupt of `line` runs on processor cpu beside the current code (sys.c delivers). */
void dc_ctx_spawn_isr(struct dc_sys *s, uint32_t cpu, unsigned line)
{
	struct dc_kthread *t = ctx_new(s);
	if (!t) { /* no memory for a stack: the interrupt is taken where it was delivered */
		dc_io_run_isrs(s, line);
		return;
	}
	t->kind = K_ISR;
	t->line = line;
	t->cpu = t->cpu_now = cpu;
	t->irql = DC_DIRQL(line);
	ctx_start(t);
	ctx_link(s, t);
}

/* Each processor other than the running one whose DPC queue holds DPCs gets a context that
 * drains it (one at a time per processor). */
static void materialize_dpcs(struct dc_sys *s, struct dc_kthread *cur)
{
	uint32_t n = dc_mp_count(s), busy = 0, want = 0;
	for (struct dc_kthread *t = s->threads; t; t = t->next)
		if (t->kind == K_DPC && t->state != T_DONE)
			busy |= 1u << t->cpu;
	for (PLIST_ENTRY le = s->dpcs.Flink; le != &s->dpcs; le = le->Flink)
		want |= 1u << dc_mp_dpc_cpu(s, CONTAINING_RECORD(le, KDPC, DpcListEntry));
	if (cur->state == T_RUNNING || (cur->state == T_READY && !cur->spin))
		busy |= 1u << dc_machine_cpu(s->m); /* drained where it runs (dc_sys_deliver) */
	for (uint32_t q = 0; q < n; q++) {
		if (!((want & ~busy) >> q & 1))
			continue;
		struct dc_kthread *t = ctx_new(s);
		if (!t)
			return;
		t->kind = K_DPC;
		t->cpu = t->cpu_now = q;
		t->irql = DISPATCH_LEVEL;
		ctx_start(t);
		ctx_link(s, t);
	}
}

/* The context to run next by the policy, among the runnable ones not kept off their
 * processor; NULL when none. */
static struct dc_kthread *choose(struct dc_sys *s, struct dc_kthread *cur)
{
	materialize_dpcs(s, cur);
	struct dc_kthread *cand[64];
	unsigned n = 0;
	for (struct dc_kthread *t = s->threads; t && n < DC_ARRAY_SIZE(cand); t = t->next)
		if (runnable(s, t) && !blocked(s, t))
			cand[n++] = t;
	if (!n)
		return NULL;
	switch (s->mp.sched) {
	case DC_SCHED_RANDOM:
		return cand[dc_rng_below(&s->mp.srng, n)];
	case DC_SCHED_ROUND_ROBIN:
		for (unsigned i = 0; i < n; i++)
			if (cand[i]->seq > cur->seq)
				return cand[i];
		return cand[0];
	case DC_SCHED_PCT:
	default: {
		struct dc_kthread *best = cand[0];
		for (unsigned i = 1; i < n; i++)
			if (cand[i]->prio > best->prio)
				best = cand[i];
		return best;
	}
	}
}

void dc_sched_point_slow(struct dc_sys *s)
{
	struct dc_kthread *cur = s->cur_thread;
	if (s->mp.inhibit || !cur || cur->state != T_RUNNING)
		return;
	s->mp.steps++;
	/* Code takes time: each point moves the clock a little, so devices finish and interrupt
	 * while driver code runs, not only while everything waits. */
	s->mp.inhibit++;
	dc_sys_advance(s, DC_SCHED_POINT_NS);
	s->mp.inhibit--;
	if (cur->state != T_RUNNING || s->cur_thread != cur)
		return;
	/* PCT: at change point i the running context drops below every initial priority. */
	for (uint32_t i = 0; i + 1 < s->mp.depth; i++)
		if (s->mp.change[i] == s->mp.steps)
			cur->prio = (int)i;
	cur->state = T_READY;
	struct dc_kthread *t = choose(s, cur);
	if (!t || t == cur) {
		cur->state = T_RUNNING;
		return;
	}
	switch_to(s, cur, t);
}

void dc_ctx_sched_init(struct dc_sys *s)
{
	/* PCT: every context gets a random priority above the change points' (d .. d + 2^20). */
	for (struct dc_kthread *t = s->threads; t; t = t->next)
		t->prio = (int)(s->mp.depth + dc_rng_below(&s->mp.srng, 1u << 20));
}

struct dc_kthread *dc_ctx_cur(struct dc_sys *s)
{
	return s->cur_thread;
}

uint32_t dc_ctx_cpu(const struct dc_kthread *t)
{
	return t->cpu;
}

bool dc_ctx_spin(struct dc_sys *s, const volatile KSPIN_LOCK *l)
{
	struct dc_kthread *cur = s->cur_thread;
	cur->spin = l;
	cur->deadlocked = false;
	cur->state = T_READY;
	schedule(s, cur);
	cur->spin = NULL;
	bool ok = !cur->deadlocked;
	cur->deadlocked = false;
	return ok;
}

/* Runs threads and time until some thread can run; switches to it.  Returns when `cur` runs
 * again (never for a thread that ended). */
static void schedule(struct dc_sys *s, struct dc_kthread *cur)
{
	struct dc_clock *c = &s->m->clock;
	for (;;) {
		struct dc_kthread *t = s->mp.sched != DC_SCHED_NONE ? choose(s, cur) : pick(s, cur);
		if (!t && s->mp.sched != DC_SCHED_NONE) {
			/* Contexts spin and none that could release their locks can run: a
			 * deadlock.  The first spinner is told (it reports it) and goes on. */
			struct dc_kthread *sp = s->threads;
			while (sp && !(sp->state == T_READY && sp->spin && *sp->spin))
				sp = sp->next;
			if (sp) {
				sp->deadlocked = true;
				continue;
			}
		}
		if (t) {
			if (t == cur) {
				cur->state = T_RUNNING;
				return;
			}
			switch_to(s, cur, t);
			return;
		}
		/* An interrupt left pending where nothing delivers it (a line still asserted
		 * after an ISR that ran in a context of its own, which then ended; an interrupt
		 * raised while the context that ends here was at its DIRQL) is taken before the
		 * clock moves: idle time would otherwise jump over it.  The processor of a
		 * context that waits or ended is idle: at PASSIVE_LEVEL, not at that context's
		 * IRQL. */
		if (s->irq_pending && !s->delivering) {
			uint32_t before = s->irq_pending;
			KIRQL irql = s->irql;
			if (cur->state != T_RUNNING && cur->state != T_READY)
				s->irql = PASSIVE_LEVEL;
			dc_sys_deliver(s);
			s->irql = irql;
			if (s->irq_pending != before)
				continue;
		}
		uint64_t dl = UINT64_MAX;
		for (struct dc_kthread *u = s->threads; u; u = u->next)
			if (u->state == T_WAITING && u->w.deadline < dl)
				dl = u->w.deadline;
		uint64_t next = dc_clock_next(c);
		if (next == UINT64_MAX && dl == UINT64_MAX) {
			/* Nothing will ever happen.  The application's thread is told (its wait
			 * returns DC_STATUS_DEADLOCK); the others wait forever, as on Windows. */
			struct dc_kthread *app = s->threads;
			app->result = DC_STATUS_DEADLOCK;
			app->state = T_READY;
			continue;
		}
		if (dl < next)
			c->now = dl > c->now ? dl : c->now;
		else {
			dc_clock_step(c);
			dc_sys_deliver(s);
		}
	}
}

NTSTATUS dc_sched_wait(struct dc_sys *s, const struct dc_kwait *w)
{
	struct dc_kthread *cur = s->cur_thread;
	cur->w = *w;
	cur->state = T_WAITING;
	schedule(s, cur);
	return cur->result;
}

/* --- The routines ---------------------------------------------------------------------------- */

static void thread_end(struct dc_sys *s, struct dc_kthread *t)
{
	t->hdr.SignalState = 1;
	dc_ksync(s, DC_SYNC_RELEASE, t, 0); /* the thread's end, to whoever waits for it */
	t->state = T_DONE;
	schedule(s, t);
	dc_assert_fail("an ended thread ran again", __FILE__, __LINE__, __func__);
}

/* A context with a stack of its own: a spare one (an interrupt or DPC context that ended)
 * or a new mapping.  Not linked, not started. */
static struct dc_kthread *ctx_new(struct dc_sys *s)
{
	struct dc_kthread *t = s->ctx_spare;
	if (t) {
		s->ctx_spare = t->next;
		uint8_t *map = t->map;
		size_t len = t->map_len;
		memset(t, 0, sizeof(*t));
		t->map = map;
		t->map_len = len;
	} else {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->map_len = DC_THREAD_STACK + DC_THREAD_GUARD;
		t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE,
		              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (t->map == MAP_FAILED) {
			free(t);
			return NULL;
		}
		mprotect(t->map, DC_THREAD_GUARD, PROT_NONE);
	}
#ifdef DC_FIBER_ASAN
	/* A stack mapped where an ended thread's was may carry that one's poison. */
	__asan_unpoison_memory_region(t->map + DC_THREAD_GUARD, DC_THREAD_STACK);
#endif
	t->s = s;
	t->hdr.Type = 6; /* ThreadObject */
	t->hdr.Size = (UCHAR)(sizeof(DISPATCHER_HEADER) / sizeof(LONG));
	t->state = T_READY;
	t->irql = PASSIVE_LEVEL;
	t->stack_lo = t->map + DC_THREAD_GUARD;
	t->stack_len = DC_THREAD_STACK;
	return t;
}

static void trampoline(void);

static void ctx_start(struct dc_kthread *t)
{
	if (!t->fn) {
		t->fn = act_main;
		t->arg = t;
	}
	getcontext(&t->ctx);
	t->ctx.uc_stack.ss_sp = t->map + DC_THREAD_GUARD;
	t->ctx.uc_stack.ss_size = DC_THREAD_STACK;
	t->ctx.uc_link = NULL;
	makecontext(&t->ctx, trampoline, 0);
}

static void trampoline(void)
{
	struct dc_sys *s = dc_sys_cur;
	struct dc_kthread *t = s->cur_thread;
	arrived(s, NULL);
	t->fn(t->arg);
	thread_end(s, t);
}

static struct dc_kthread *by_handle(struct dc_sys *s, HANDLE h)
{
	uintptr_t v = (uintptr_t)h;
	if (v < DC_HANDLE_BASE || (v - DC_HANDLE_BASE) % 4)
		return NULL;
	unsigned id = (unsigned)((v - DC_HANDLE_BASE) / 4);
	for (struct dc_kthread *t = s->threads->next; t; t = t->next)
		if (t->id == id && t->handle_open)
			return t;
	return NULL;
}

static struct dc_kthread *by_object(struct dc_sys *s, const void *o)
{
	for (struct dc_kthread *t = s->threads->next; t; t = t->next)
		if ((const void *)t == o)
			return t;
	return NULL;
}

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                              PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine, PVOID StartContext)
{
	(void)DesiredAccess, (void)ObjectAttributes, (void)ProcessHandle;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "PsCreateSystemThread", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!ThreadHandle || !StartRoutine)
		return STATUS_INVALID_PARAMETER;
	struct dc_kthread *t = ctx_new(s);
	if (!t)
		return STATUS_INSUFFICIENT_RESOURCES;
	t->fn = StartRoutine;
	t->arg = StartContext;
	ctx_start(t);
	t->refs = 1;
	t->handle_open = true;
	t->id = ++s->thread_seq;
	dc_ksync(s, DC_SYNC_FORK, t, t->id);
	t->cpu = t->cpu_now = dc_mp_thread_cpu(s, ~(uint64_t)0);
	Dl_info di;
	if (dladdr(dc_fn_addr((void (*)(void))StartRoutine), &di))
		t->module_base = di.dli_fbase;
	ctx_link(s, t);
	*ThreadHandle = (HANDLE)(uintptr_t)(DC_HANDLE_BASE + 4u * t->id);
	if (ClientId) {
		ClientId->UniqueProcess = (HANDLE)(uintptr_t)4; /* the System process */
		ClientId->UniqueThread = *ThreadHandle;
	}
	return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
	(void)ExitStatus;
	struct dc_sys *s = dc_k();
	struct dc_kthread *t = s->cur_thread;
	if (t == s->threads) /* not a system thread */
		return STATUS_INVALID_PARAMETER;
	if (s->irql != PASSIVE_LEVEL)
		dc_irql_require(s, "PsTerminateSystemThread", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	s->irql = PASSIVE_LEVEL;
	thread_end(s, t);
	return STATUS_SUCCESS; /* not reached */
}

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation)
{
	(void)DesiredAccess, (void)AccessMode;
	struct dc_sys *s = dc_k();
	if (!Object)
		return STATUS_INVALID_PARAMETER;
	*Object = NULL;
	if (ObjectType && ObjectType != *PsThreadType)
		return STATUS_OBJECT_TYPE_MISMATCH;
	struct dc_kthread *t = by_handle(s, Handle);
	if (!t)
		return STATUS_INVALID_HANDLE;
	t->refs++;
	*Object = t;
	if (HandleInformation) {
		HandleInformation->HandleAttributes = 0;
		HandleInformation->GrantedAccess = THREAD_ALL_ACCESS;
	}
	return STATUS_SUCCESS;
}

/* Object references: counted for thread objects; other objects (device objects, file
 * objects) live as long as their owner says. */
void ObfReferenceObject(PVOID Object)
{
	struct dc_sys *s = dc_sys_cur;
	struct dc_kthread *t = s && s->threads ? by_object(s, Object) : NULL;
	if (t)
		t->refs++;
}

void ObfDereferenceObject(PVOID Object)
{
	struct dc_sys *s = dc_sys_cur;
	struct dc_kthread *t = s && s->threads ? by_object(s, Object) : NULL;
	if (!t)
		return;
	if (t->refs == 0) {
		dc_kbugcheck(s, 0x18 /* REFERENCE_BY_POINTER */,
		             "ObDereferenceObject of a thread object with no references left",
		             RA());
		return;
	}
	t->refs--;
	reap(s);
}

NTSTATUS ZwClose(HANDLE Handle)
{
	struct dc_sys *s = dc_sys_cur;
	if (!Handle)
		return STATUS_INVALID_HANDLE;
	if (s && dc_reg_is_handle(Handle))
		return dc_reg_handle_close(s->reg, Handle);
	if (!s || !s->threads)
		return STATUS_SUCCESS;
	struct dc_kthread *t = by_handle(s, Handle);
	if (!t) {
		/* A thread handle closed already; other kinds of handle are not modelled. */
		uintptr_t v = (uintptr_t)Handle;
		bool ours = v >= DC_HANDLE_BASE && (v - DC_HANDLE_BASE) % 4 == 0 &&
		            (v - DC_HANDLE_BASE) / 4 <= s->thread_seq;
		return ours ? STATUS_INVALID_HANDLE : STATUS_SUCCESS;
	}
	t->handle_open = false;
	t->refs--;
	reap(s);
	return STATUS_SUCCESS;
}

PKTHREAD KeGetCurrentThread(void)
{
	struct dc_sys *s = dc_k();
	return (PKTHREAD)s->cur_thread;
}

/* Affinity: the thread moves to a processor of the mask (the lowest, unless it is on one of
 * them already) and stays there until reverted. */
static KAFFINITY set_affinity(struct dc_sys *s, KAFFINITY a)
{
	struct dc_kthread *t = s->cur_thread;
	KAFFINITY old = t->affinity ? t->affinity : KeQueryActiveProcessors();
	KAFFINITY all = KeQueryActiveProcessors();
	t->affinity = a & all ? a & all : 0;
	if (t->affinity && !((t->affinity >> dc_machine_cpu(s->m)) & 1)) {
		t->cpu = (uint32_t)__builtin_ctzll((uint64_t)t->affinity);
		dc_mp_enter(s, t->cpu);
	} else if (t->affinity)
		t->cpu = dc_machine_cpu(s->m);
	return old;
}

VOID KeSetSystemAffinityThread(KAFFINITY Affinity)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeSetSystemAffinityThread", PASSIVE_LEVEL, APC_LEVEL, RA());
	set_affinity(s, Affinity);
}

KAFFINITY KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "KeSetSystemAffinityThreadEx", PASSIVE_LEVEL, APC_LEVEL, RA());
	return set_affinity(s, Affinity);
}

VOID KeRevertToUserAffinityThread(void)
{
	struct dc_sys *s = dc_k();
	s->cur_thread->affinity = 0;
}

VOID KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
	struct dc_sys *s = dc_k();
	if (Affinity && Affinity != KeQueryActiveProcessors())
		set_affinity(s, Affinity);
	else
		s->cur_thread->affinity = 0;
}

PETHREAD PsGetCurrentThread(void)
{
	return (PETHREAD)KeGetCurrentThread();
}

HANDLE PsGetCurrentThreadId(void)
{
	struct dc_sys *s = dc_k();
	return (HANDLE)(uintptr_t)(DC_HANDLE_BASE + 4u * s->cur_thread->id);
}

KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
	(void)Priority;
	struct dc_sys *s = dc_k();
	/* One processor, switching only at waits: priorities change nothing. */
	return Thread && by_object(s, Thread) ? 8 : 0;
}

KPRIORITY KeQueryPriorityThread(PKTHREAD Thread)
{
	(void)Thread;
	return 8;
}

static bool no_activations(void *opaque)
{
	struct dc_sys *s = opaque;
	for (struct dc_kthread *t = s->threads; t; t = t->next)
		if (t->kind != K_THREAD && t->state != T_DONE)
			return false;
	return true;
}

void dc_ctx_drain(struct dc_sys *s)
{
	struct dc_kthread *cur = s->cur_thread;
	if (s->mp.sched == DC_SCHED_NONE || !cur || cur->kind != K_THREAD ||
	    s->irql >= DISPATCH_LEVEL || no_activations(s))
		return;
	struct dc_kwait w = {.deadline = UINT64_MAX, .pred = no_activations, .pred_arg = s};
	dc_sched_wait(s, &w);
}

void dc_threads_unload(struct dc_sys *s, void *module_base, const char *name)
{
	/* Interrupts and DPCs still running beside (--schedule) finish before the code goes. */
	dc_ctx_drain(s);
	for (struct dc_kthread *t = s->threads->next; t; t = t->next) {
		if (t->module_base != module_base || t->state == T_DONE || t->state == T_ORPHANED)
			continue;
		/* Its code is about to be unmapped: it never runs again. */
		t->state = T_ORPHANED;
		(void)name;
		dc_kbugcheck(s, 0xCE /* DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS */,
		             "driver unloaded while one of its system threads is still running",
		             dc_fn_addr((void (*)(void))t->fn));
	}
}
