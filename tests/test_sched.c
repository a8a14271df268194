/* Work on processors (src/kernel/sched.c): interrupts go to a processor of their
 * ProcessorEnableMask by the policy, DPCs run on the processor that queued them unless
 * targeted, the processor routines answer for the processor running, and a buffer written on
 * one processor is dirty in that processor's L1 while the DPC on the other reads it. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/kernel.h"
#include "kernel/sys.h"

static struct dc_sys *mp_sys(const char *plat, uint32_t cpus)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin(plat, &p))
		return NULL;
	p.processors = cpus;
	p.adv = (struct dc_adversary){0};
	return dc_sys_create(&p, &s) ? NULL : s;
}

#define LINE 5u

static ULONG isr_cpu[16];
static unsigned isr_n;
static KDPC isr_dpc;
static ULONG dpc_cpu[16];
static unsigned dpc_n;

static void dpc_routine(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)ctx, (void)a1, (void)a2;
	if (dpc_n < 16)
		dpc_cpu[dpc_n++] = KeGetCurrentProcessorNumber();
}

static BOOLEAN isr(PKINTERRUPT Interrupt, PVOID ctx)
{
	(void)Interrupt, (void)ctx;
	if (isr_n < 16)
		isr_cpu[isr_n++] = KeGetCurrentProcessorNumber();
	KeInsertQueueDpc(&isr_dpc, NULL, NULL);
	return TRUE;
}

static void interrupt_once(struct dc_sys *s)
{
	struct dc_irq *q = &dc_sys_machine(s)->irq;
	dc_irq_raise(q, LINE);
	dc_sys_run_for(s, 100000);
	dc_irq_lower(q, LINE);
}

DC_TEST(sched_interrupts_round_robin_over_the_enable_mask)
{
	struct dc_sys *s = mp_sys("pc", 4);
	CHECK(s);
	PKINTERRUPT ki = NULL;
	KIRQL irql = (KIRQL)(11 - LINE);
	KeInitializeDpc(&isr_dpc, dpc_routine, NULL);
	CHECK_EQ(IoConnectInterrupt(&ki, isr, NULL, NULL, 0x30 + LINE, irql, irql, Latched, FALSE,
	                            0xd /* processors 0, 2, 3 */, FALSE),
	         STATUS_SUCCESS);
	isr_n = dpc_n = 0;
	for (int i = 0; i < 4; i++)
		interrupt_once(s);
	CHECK_EQ(isr_n, 4);
	CHECK_EQ(isr_cpu[0], 0);
	CHECK_EQ(isr_cpu[1], 2);
	CHECK_EQ(isr_cpu[2], 3);
	CHECK_EQ(isr_cpu[3], 0);
	/* Each DPC ran where its ISR queued it. */
	CHECK_EQ(dpc_n, 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(dpc_cpu[i], isr_cpu[i]);
	/* Targeted: always processor 1. */
	KeSetTargetProcessorDpc(&isr_dpc, 1);
	dpc_n = 0;
	interrupt_once(s);
	interrupt_once(s);
	CHECK_EQ(dpc_n, 2);
	CHECK_EQ(dpc_cpu[0], 1);
	CHECK_EQ(dpc_cpu[1], 1);
	/* Back in the application's context: processor 0. */
	CHECK_EQ(KeGetCurrentProcessorNumber(), 0);
	IoDisconnectInterrupt(ki);
	dc_sys_destroy(s);
}

DC_TEST(sched_processor_routines)
{
	struct dc_sys *s = mp_sys("noncoherent", 4);
	CHECK(s);
	KAFFINITY aff = 0;
	CHECK_EQ(KeQueryActiveProcessorCount(&aff), 4);
	CHECK_EQ(aff, 0xf);
	CHECK_EQ(KeQueryActiveProcessors(), 0xf);
	CHECK_EQ(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS), 4);
	CHECK_EQ(KeQueryActiveProcessorCountEx(1), 0);
	PROCESSOR_NUMBER pn = {.Group = 7, .Number = 9};
	CHECK_EQ(KeGetCurrentProcessorNumberEx(&pn), 0);
	CHECK_EQ(pn.Group, 0);
	CHECK_EQ(pn.Number, 0);
	KDPC d;
	KeInitializeDpc(&d, dpc_routine, NULL);
	pn.Number = 4;
	CHECK_EQ(KeSetTargetProcessorDpcEx(&d, &pn), STATUS_INVALID_PARAMETER);
	pn.Number = 3;
	CHECK_EQ(KeSetTargetProcessorDpcEx(&d, &pn), STATUS_SUCCESS);
	dpc_n = 0;
	CHECK(KeInsertQueueDpc(&d, NULL, NULL)); /* at PASSIVE: runs at once, on 3 */
	CHECK_EQ(dpc_n, 1);
	CHECK_EQ(dpc_cpu[0], 3);
	dc_sys_destroy(s);
}

/* The seed's case at the kernel level: the dispatch side (processor 0) fills a buffer; the DPC
 * on processor 1 sees processor 0's lines Modified (supplied cache to cache when it reads). */
static uint8_t *shared_buf;
static char seen_state[2];
static void dpc_reader(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)a1, (void)a2;
	struct dc_machine *m = ctx;
	uint64_t pa = dc_va_to_pa(m, shared_buf);
	seen_state[0] = dc_cache_state_letter(&m->cache, 0, pa);
	uint8_t b;
	dc_cpu_read(m, shared_buf, &b, 1);
	seen_state[1] = dc_cache_state_letter(&m->cache, 0, pa);
}

DC_TEST(sched_dpc_on_other_processor_finds_lines_dirty_elsewhere)
{
	struct dc_sys *s = mp_sys("noncoherent", 2);
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	shared_buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint8_t v = 0x42;
	dc_cpu_write(m, shared_buf, &v, 1); /* processor 0 */
	KDPC d;
	KeInitializeDpc(&d, dpc_reader, m);
	KeSetTargetProcessorDpc(&d, 1);
	CHECK(KeInsertQueueDpc(&d, NULL, NULL));
	CHECK_EQ(seen_state[0], 'M');
	CHECK_EQ(seen_state[1], 'O'); /* processor 1's read: 0 supplies, keeps it dirty */
	uint64_t pa = dc_va_to_pa(m, shared_buf);
	CHECK_EQ(dc_cache_state_letter(&m->cache, 1, pa), 'S');
	dc_sys_destroy(s);
}

/* Same policy and seed: the same processors, run after run; another seed, another order. */
static void random_run(uint64_t seed, ULONG *out)
{
	struct dc_sys *s = mp_sys("pc", 4);
	if (!s)
		return;
	dc_mp_set_policy(s, DC_MP_RANDOM, seed);
	PKINTERRUPT ki = NULL;
	KIRQL irql = (KIRQL)(11 - LINE);
	KeInitializeDpc(&isr_dpc, dpc_routine, NULL);
	IoConnectInterrupt(&ki, isr, NULL, NULL, 0x30 + LINE, irql, irql, Latched, FALSE, 0xf,
	                   FALSE);
	isr_n = dpc_n = 0;
	for (int i = 0; i < 16; i++)
		interrupt_once(s);
	memcpy(out, isr_cpu, sizeof(isr_cpu));
	IoDisconnectInterrupt(ki);
	dc_sys_destroy(s);
}

DC_TEST(sched_random_policy_is_seeded)
{
	ULONG a[16] = {0}, b[16] = {0}, c[16] = {0};
	random_run(7, a);
	random_run(7, b);
	random_run(8, c);
	CHECK(!memcmp(a, b, sizeof(a)));
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	bool seen[4] = {0};
	for (int i = 0; i < 16; i++)
		seen[a[i] & 3] = true;
	CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
}

/* Determinism with 4 processors: the same policy and seed give byte-identical machine
 * statistics (every processor's cache counts and snoops), another seed different ones. */
static uint8_t *det_buf;
static void dpc_writer(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)a1, (void)a2;
	struct dc_machine *m = ctx;
	uint8_t b[256];
	dc_cpu_read(m, det_buf, b, sizeof(b));
	b[0]++;
	dc_cpu_write(m, det_buf + 64 * KeGetCurrentProcessorNumber(), b, 128);
}

static BOOLEAN isr_det(PKINTERRUPT Interrupt, PVOID ctx)
{
	(void)Interrupt, (void)ctx;
	KeInsertQueueDpc(&isr_dpc, NULL, NULL);
	return TRUE;
}

static void det_run(uint64_t seed, char *out, size_t len)
{
	struct dc_sys *s = mp_sys("noncoherent", 4);
	if (!s)
		return;
	struct dc_machine *m = dc_sys_machine(s);
	dc_mp_set_policy(s, DC_MP_RANDOM, seed);
	det_buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	PKINTERRUPT ki = NULL;
	KIRQL irql = (KIRQL)(11 - LINE);
	KeInitializeDpc(&isr_dpc, dpc_writer, m);
	IoConnectInterrupt(&ki, isr_det, NULL, NULL, 0x30 + LINE, irql, irql, Latched, FALSE, 0xf,
	                   FALSE);
	for (int i = 0; i < 40; i++)
		interrupt_once(s);
	dc_machine_stats_str(m, out, len);
	IoDisconnectInterrupt(ki);
	dc_sys_destroy(s);
}

DC_TEST(sched_same_seed_same_output_with_4_processors)
{
	static char a[4096], b[4096], c[4096];
	det_run(3, a, sizeof(a));
	det_run(3, b, sizeof(b));
	det_run(4, c, sizeof(c));
	dct_log("%s", a);
	CHECK(strstr(a, "cpu3:") != NULL);
	CHECK(!strcmp(a, b));
	CHECK(strcmp(a, c) != 0);
}
