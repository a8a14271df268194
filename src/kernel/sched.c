/* Processors for the kernel: which processor an ISR, a DPC or a driver's call runs on, and the
 * routines that tell a driver about processors (KeGetCurrentProcessorNumber(Ex),
 * KeQueryActiveProcessorCount(Ex), KeQueryActiveProcessors, KeSetTargetProcessorDpc(Ex)).
 *
 * Running "on" a processor means the CPU side of the machine uses that processor's caches
 * (dc_machine_set_cpu), so a buffer written by a dispatch routine on processor 0 is dirty in
 * processor 0's L1 while the DPC on processor 1 starts the transfer.  An interrupt goes to one
 * processor of its ProcessorEnableMask, chosen by the policy: round-robin (the default, so
 * that two processors are really used), seeded random, or always the first (the single
 * processor behaviour).  A DPC runs on the processor that queued it unless targeted.
 *
 * System threads and work items get processors round-robin (KeSetSystemAffinityThread(Ex)
 * moves a thread), KeNumberProcessors is the count.  The seeded scheduler's policy
 * (--schedule random|round-robin|pct, PCT's change points) is configured here and decided in
 * thread.c; spin locks exclude here (a holder on another processor makes the acquirer spin in
 * simulated time; one on this processor is L01), with lockdep's lock order graph (L02).
 *
 * Not done (docs/machine.md "Processors"): lock classes (locks are told apart by address). */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "hw/machine.h"

volatile CCHAR KeNumberProcessors = 1;

void dc_mp_init(struct dc_sys *s)
{
	KeNumberProcessors = (CCHAR)dc_mp_count(s);
	s->mp.policy = DC_MP_ROUND_ROBIN;
	dc_rng_seed(&s->mp.rng, s->m->plat.seed ^ 0x5c4ed01eull);
	for (unsigned l = 0; l < DC_IRQ_LINES; l++)
		s->mp.affinity[l] = ~(uint64_t)0;
}

void dc_mp_set_policy(struct dc_sys *s, enum dc_mp_policy p, uint64_t seed)
{
	s->mp.policy = p;
	s->mp.next = 0;
	dc_rng_seed(&s->mp.rng, seed);
}

uint32_t dc_mp_count(const struct dc_sys *s)
{
	return s->m->cache.n_cpus;
}

uint32_t dc_mp_pick(struct dc_sys *s, uint64_t mask)
{
	uint32_t n = dc_mp_count(s);
	uint64_t all = n >= 64 ? ~(uint64_t)0 : (UINT64_C(1) << n) - 1;
	mask &= all;
	if (!mask)
		mask = all;
	uint32_t k = (uint32_t)__builtin_popcountll(mask), i;
	switch (s->mp.policy) {
	case DC_MP_FIRST:
		return (uint32_t)__builtin_ctzll(mask);
	case DC_MP_RANDOM:
		i = (uint32_t)dc_rng_below(&s->mp.rng, k);
		break;
	case DC_MP_ROUND_ROBIN:
	default:
		i = s->mp.next++ % k;
		break;
	}
	/* The i-th set bit of mask. */
	while (i--)
		mask &= mask - 1;
	return (uint32_t)__builtin_ctzll(mask);
}

uint32_t dc_mp_enter(struct dc_sys *s, uint32_t cpu)
{
	uint32_t prev = dc_machine_cpu(s->m);
	/* What the hook's fast path gathered ran on the processor being left (machine.h). */
	dc_machine_obs_sync(s->m);
	dc_machine_set_cpu(s->m, cpu);
	return prev;
}

/* KDPC.Number: DC_DPC_TARGETED | n after KeSetTargetProcessorDpc, else the processor that
 * queued it (set by KeInsertQueueDpc). */
#define DC_DPC_TARGETED 0x8000u

void dc_mp_dpc_queued(struct dc_sys *s, PRKDPC dpc)
{
	if (!(dpc->Number & DC_DPC_TARGETED))
		dpc->Number = (USHORT)dc_machine_cpu(s->m);
}

uint32_t dc_mp_dpc_cpu(struct dc_sys *s, const KDPC *dpc)
{
	uint32_t n = dpc->Number & 0xff;
	return n < dc_mp_count(s) ? n : 0;
}

ULONG KeGetCurrentProcessorNumber(void)
{
	return dc_machine_cpu(dc_k()->m);
}

ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
	ULONG n = dc_machine_cpu(dc_k()->m);
	if (ProcNumber)
		*ProcNumber = (PROCESSOR_NUMBER){.Group = 0, .Number = (UCHAR)n};
	return n;
}

ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
	uint32_t n = dc_mp_count(dc_k());
	if (ActiveProcessors)
		*ActiveProcessors = (KAFFINITY)((UINT64_C(1) << n) - 1);
	return n;
}

ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
	struct dc_sys *s = dc_k();
	/* ALL_PROCESSOR_GROUPS (0xffff) or group 0: one group holds them all. */
	return GroupNumber == 0 || GroupNumber == 0xffff ? dc_mp_count(s) : 0;
}

/* The largest cache line of the machine: what keeps data that processors (or a device and a
 * processor) share out of each other's lines. */
ULONG KeGetRecommendedSharedDataAlignment(VOID)
{
	return dc_k()->m->cache.line_size;
}

KAFFINITY KeQueryActiveProcessors(void)
{
	return (KAFFINITY)((UINT64_C(1) << dc_mp_count(dc_k())) - 1);
}

VOID KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
	struct dc_sys *s = dc_k();
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	if ((unsigned char)Number >= dc_mp_count(s)) {
		dc_kbugcheck(s, 0x0A, "KeSetTargetProcessorDpc: no such processor",
		             __builtin_return_address(0));
		return;
	}
	Dpc->Number = (USHORT)(DC_DPC_TARGETED | (unsigned char)Number);
}

NTSTATUS KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
	struct dc_sys *s = dc_k();
	if (!ProcNumber || ProcNumber->Group != 0 || ProcNumber->Number >= dc_mp_count(s))
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, Dpc, sizeof(*Dpc), true);
	Dpc->Number = (USHORT)(DC_DPC_TARGETED | ProcNumber->Number);
	return STATUS_SUCCESS;
}

uint32_t dc_mp_thread_cpu(struct dc_sys *s, uint64_t mask)
{
	uint32_t n = dc_mp_count(s);
	uint64_t all = n >= 64 ? ~(uint64_t)0 : (UINT64_C(1) << n) - 1;
	mask &= all;
	if (!mask)
		mask = all;
	uint32_t k = (uint32_t)__builtin_popcountll(mask);
	uint32_t i = (uint32_t)(s->mp.next_thread++ % k);
	while (i--)
		mask &= mask - 1;
	return (uint32_t)__builtin_ctzll(mask);
}

static void dc_sched_tick(void *opaque)
{
	dc_sched_point(opaque);
}

void dc_sched_configure(struct dc_sys *s, enum dc_sched_policy p, uint64_t seed, uint32_t every,
                        uint32_t depth, uint64_t k)
{
	struct dc_mp *mp = &s->mp;
	mp->sched = p;
	mp->every = p == DC_SCHED_NONE ? 0 : every;
	mp->depth = depth < 1 ? 1 : depth > DC_SCHED_MAX_DEPTH ? DC_SCHED_MAX_DEPTH : depth;
	mp->pct_k = k ? k : 1;
	mp->steps = mp->switches = mp->trace = 0;
	dc_rng_seed(&mp->srng, seed ^ 0x5c4ed011ull);
	/* PCT: d - 1 change points, uniformly in [1, k]. */
	for (uint32_t i = 0; i + 1 < mp->depth; i++)
		mp->change[i] = 1 + dc_rng_below(&mp->srng, mp->pct_k);
	dc_ctx_sched_init(s);
	/* Interrupts go to processors by the same seed. */
	if (p != DC_SCHED_NONE)
		dc_mp_set_policy(s, p == DC_SCHED_ROUND_ROBIN ? DC_MP_ROUND_ROBIN : DC_MP_RANDOM,
		                 seed);
	dc_machine_set_tick(s->m, mp->every, p == DC_SCHED_NONE ? NULL : dc_sched_tick, s);
}

void dc_mp_fini(struct dc_sys *s)
{
	free(s->mp.held);
	free(s->mp.edges);
	s->mp.held = NULL;
	s->mp.edges = NULL;
	s->mp.n_held = s->mp.n_edges = 0;
}

/* --- Spin locks that exclude ---------------------------------------------------------------- */

static struct dc_lockrec *held_find(struct dc_sys *s, const void *l)
{
	for (size_t i = s->mp.n_held; i-- > 0;)
		if (s->mp.held[i].lock == l)
			return &s->mp.held[i];
	return NULL;
}

static bool grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = nc;
	return true;
}

static const struct dc_lockedge *edge_find(const struct dc_sys *s, const void *a, const void *b)
{
	for (size_t i = 0; i < s->mp.n_edges; i++)
		if (s->mp.edges[i].a == a && s->mp.edges[i].b == b)
			return &s->mp.edges[i];
	return NULL;
}

/* Is there a path from a to b in the lock order graph?  (Depth-bounded: the graph of one
 * driver is small.) */
static const struct dc_lockedge *path(const struct dc_sys *s, const void *a, const void *b,
                                      unsigned depth)
{
	if (depth > 16)
		return NULL;
	for (size_t i = 0; i < s->mp.n_edges; i++) {
		const struct dc_lockedge *e = &s->mp.edges[i];
		if (e->a != a)
			continue;
		if (e->b == b || path(s, e->b, b, depth + 1))
			return e;
	}
	return NULL;
}

static void lock_event(struct dc_sys *s, int what, const void *l, const void *pc, const void *other)
{
	struct dc_kev e = {.type = DC_KEV_LOCK,
	                   .status = what,
	                   .va = l,
	                   .pc = pc,
	                   .sgl = other,
	                   .routine = "spin lock acquire"};
	dc_kev_emit(s, &e);
}

/* Records the order: l acquired while the context holds others (lockdep's graph). */
static void lock_order(struct dc_sys *s, struct dc_kthread *me, const void *l, const void *pc)
{
	for (size_t i = 0; i < s->mp.n_held; i++) {
		const struct dc_lockrec *h = &s->mp.held[i];
		if (h->holder != me || h->lock == l || edge_find(s, h->lock, l))
			continue;
		const struct dc_lockedge *back = path(s, l, h->lock, 0);
		if (back)
			lock_event(s, 2, l, pc, back->pc);
		if (!grow((void **)&s->mp.edges, &s->mp.cap_edges, sizeof(*s->mp.edges),
		          s->mp.n_edges + 1))
			return;
		s->mp.edges[s->mp.n_edges++] = (struct dc_lockedge){h->lock, l, pc};
	}
}

void dc_spin_acquire(struct dc_sys *s, PKSPIN_LOCK l, const void *pc)
{
	dc_ktouch(s, l, sizeof(*l), true);
	struct dc_kthread *me = dc_ctx_cur(s);
	uint32_t cpu = dc_machine_cpu(s->m);
	if (*l) {
		struct dc_lockrec *h = held_find(s, l);
		/* Held by a context on another processor: spin until it lets go (the scheduler
		 * runs the others meanwhile).  Held on this processor: it never will. */
		if (s->mp.sched != DC_SCHED_NONE && h && h->holder != me &&
		    dc_ctx_cpu(h->holder) != dc_ctx_cpu(me) && h->cpu != cpu) {
			const void *other = h->pc;
			if (!dc_ctx_spin(s, l))
				lock_event(s, 3, l, pc, other);
		} else
			lock_event(s, 1, l, pc, h ? h->pc : NULL);
	}
	lock_order(s, me, l, pc);
	*l = 1;
	if (grow((void **)&s->mp.held, &s->mp.cap_held, sizeof(*s->mp.held), s->mp.n_held + 1))
		s->mp.held[s->mp.n_held++] = (struct dc_lockrec){l, me, cpu, pc};
}

void dc_spin_release(struct dc_sys *s, PKSPIN_LOCK l, const void *pc)
{
	dc_ktouch(s, l, sizeof(*l), true);
	if (!*l) {
		dc_kbugcheck(s, 0x10 /* SPIN_LOCK_NOT_OWNED */, "spin lock released while not held",
		             pc);
		return;
	}
	struct dc_lockrec *h = held_find(s, l);
	if (h) {
		*h = s->mp.held[--s->mp.n_held];
		/* A lock granted twice (after a self-deadlock or a deadlock was reported) stays
		 * held by the other. */
		if (held_find(s, l))
			return;
	}
	*l = 0;
}

/* --- The scheduler's options ---------------------------------------------------------------- */

/* PCT's bound on the steps (preemption points) a run takes: the d - 1 change points are drawn
 * in [1, k].  A run longer than k steps has its change points early; docs/machine.md. */
#define DC_PCT_K 20000u

int dc_sys_set_schedule(struct dc_sys *s, const char *policy, uint64_t seed, uint32_t every,
                        uint32_t depth, uint64_t steps)
{
	enum dc_sched_policy p;
	if (!policy || !strcmp(policy, "none"))
		p = DC_SCHED_NONE;
	else if (!strcmp(policy, "random"))
		p = DC_SCHED_RANDOM;
	else if (!strcmp(policy, "round-robin"))
		p = DC_SCHED_ROUND_ROBIN;
	else if (!strcmp(policy, "pct"))
		p = DC_SCHED_PCT;
	else
		return DC_ERR_INVAL;
	dc_sched_configure(s, p, seed, every, depth ? depth : 3, steps ? steps : DC_PCT_K);
	return DC_OK;
}

void dc_sys_schedule_stats(const struct dc_sys *s, uint64_t *points, uint64_t *switches,
                           uint64_t *trace)
{
	*points = s->mp.steps;
	*switches = s->mp.switches;
	*trace = s->mp.trace;
}
