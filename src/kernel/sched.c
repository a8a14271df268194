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
 * Not done (docs/machine.md "Processors", report of issue 17): work does not run beside other
 * work — one routine runs at a time, to completion or to a wait, as before; no preemption
 * points inside driver code, so no PCT; the IRQL is still one for the machine; spin locks do
 * not spin; system threads run on the processor that was current. */
#include "kernel.h"
#include "hw/machine.h"

void dc_mp_init(struct dc_sys *s)
{
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
