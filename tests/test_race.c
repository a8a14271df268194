/* The race detector (src/check/race.c, rule S01) on short sequences played through the
 * machine's observers: contexts entered and left, synchronisation as the kernel reports it,
 * and driver accesses with driver-like call sites.  A race needs two contexts, an overlap, a
 * write and no happens-before; each kind of edge the kernel reports is shown to order the two
 * accesses, and its absence to leave them racing. */
#include <string.h>
#include <sys/resource.h>

#include "dctest.h"
#include "test_check.h"
#include "check/check_int.h"

static void sync_(struct tc_env *v, enum dc_sync_op op, const void *obj, uint64_t arg)
{
	struct dc_machine *m = v->m;
	for (unsigned i = 0; i < m->n_obs; i++)
		if (m->obs[i]->sync)
			m->obs[i]->sync(m->obs_opaque[i], op, obj, arg);
}

static void atomic_(struct tc_env *v, const void *va, uint32_t len, int mo, bool rmw)
{
	dc_cpu_atomic(v->m, va, len, mo, rmw);
}

static void wr(struct tc_env *v, void *va, uint32_t len, const void *pc)
{
	dc_cpu_ref(v->m, va, len, DC_ACC_WRITE, pc);
}

static void rd(struct tc_env *v, const void *va, uint32_t len, const void *pc)
{
	dc_cpu_ref(v->m, va, len, DC_ACC_READ, pc);
}

static uint64_t s01(struct tc_env *v)
{
	return dc_check_rule_hits(v->c, DC_RULE_S01);
}

/* An ISR on processor `cpu`, entered after nothing (obj NULL) or after obj's release. */
static void isr_enter(struct tc_env *v, uint32_t cpu, const void *obj)
{
	dc_machine_set_cpu(v->m, cpu);
	sync_(v, DC_SYNC_ENTER, obj, DC_CTX_ISR);
}

static void leave(struct tc_env *v)
{
	sync_(v, DC_SYNC_LEAVE, NULL, 0);
	dc_machine_set_cpu(v->m, 0);
}

static bool env(struct tc_env *v, uint8_t **buf)
{
	if (!tc_init(v, "pc", 1, NULL))
		return false;
	*buf = dc_alloc_cached(v->m, 1, DC_ZONE_ANY, false);
	return *buf != NULL;
}

DC_TEST(race_isr_and_thread_unsynchronised_is_s01_naming_both_sites)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	wr(&v, b + 8, 4, tc_pc_start_io); /* thread 0 */
	isr_enter(&v, 1, NULL);
	rd(&v, b + 8, 4, tc_pc_dpc);
	leave(&v);
	CHECK_EQ(s01(&v), 1);
	const struct dc_finding *f = dc_check_finding(v.c, 0);
	CHECK(f && f->rule == DC_RULE_S01 && f->n_sites == 1);
	CHECK(f->pc == tc_pc_dpc && f->site[0].pc == tc_pc_start_io);
	char msg[512];
	dc_check_message(v.c, f, msg, sizeof(msg));
	CHECK_MSG(strstr(msg, "read of 4 bytes by a ISR on processor 1") &&
	              strstr(msg, "a write by thread 0 (the application's) on processor 0") &&
	              strstr(msg, "[previous access at tests/test_check_"),
	          "%s", msg);
	tc_fini(&v);
}

DC_TEST(race_reads_disjoint_bytes_and_one_context_never_race)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	rd(&v, b, 8, tc_pc_start_io);
	wr(&v, b + 16, 2, tc_pc_start_io);
	wr(&v, b + 24, 8, tc_pc_start_io);
	isr_enter(&v, 1, NULL);
	rd(&v, b, 8, tc_pc_dpc);      /* read / read */
	wr(&v, b + 18, 2, tc_pc_dpc); /* other bytes of the same 8 */
	leave(&v);
	wr(&v, b + 24, 8, tc_pc_complete); /* thread 0 again: program order */
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}

DC_TEST(race_spin_lock_orders_the_accesses_and_its_absence_does_not)
{
	for (int locked = 0; locked < 2; locked++) {
		struct tc_env v;
		uint8_t *b;
		static char lock;
		CHECK(env(&v, &b));
		if (locked)
			sync_(&v, DC_SYNC_ACQUIRE, &lock, 0);
		wr(&v, b, 4, tc_pc_start_io);
		if (locked)
			sync_(&v, DC_SYNC_RELEASE, &lock, 0);
		dc_machine_set_cpu(v.m, 1);
		sync_(&v, DC_SYNC_ENTER, NULL, DC_CTX_DPC);
		if (locked)
			sync_(&v, DC_SYNC_ACQUIRE, &lock, 0);
		wr(&v, b, 4, tc_pc_dpc);
		if (locked)
			sync_(&v, DC_SYNC_RELEASE, &lock, 0);
		leave(&v);
		CHECK_EQ(s01(&v), locked ? 0 : 1);
		tc_fini(&v);
	}
}

DC_TEST(race_interrupt_lock_orders_synchronize_execution_with_the_isr)
{
	/* The ISR runs holding its interrupt object's lock; KeSynchronizeExecution takes it. */
	struct tc_env v;
	uint8_t *b;
	static char intobj;
	CHECK(env(&v, &b));
	for (int i = 0; i < 3; i++) {
		isr_enter(&v, (uint32_t)i % 2, NULL);
		sync_(&v, DC_SYNC_ACQUIRE, &intobj, 0);
		wr(&v, b, 4, tc_pc_dpc);
		sync_(&v, DC_SYNC_RELEASE, &intobj, 0);
		leave(&v);
		sync_(&v, DC_SYNC_ACQUIRE, &intobj, 0);
		rd(&v, b, 4, tc_pc_start_io);
		wr(&v, b, 4, tc_pc_start_io);
		sync_(&v, DC_SYNC_RELEASE, &intobj, 0);
	}
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}

DC_TEST(race_dpc_queueing_and_register_write_edges)
{
	/* thread 0 writes, queues the DPC (release on the KDPC), the DPC (entered acquiring it)
	 * reads: ordered.  A second field written after the queueing is not. */
	struct tc_env v;
	uint8_t *b;
	static char dpc, pio;
	CHECK(env(&v, &b));
	wr(&v, b, 4, tc_pc_start_io);
	sync_(&v, DC_SYNC_RELEASE, &dpc, 0);
	wr(&v, b + 8, 4, tc_pc_copy);
	dc_machine_set_cpu(v.m, 1);
	sync_(&v, DC_SYNC_ENTER, &dpc, DC_CTX_DPC);
	rd(&v, b, 4, tc_pc_dpc);
	CHECK_EQ(s01(&v), 0);
	rd(&v, b + 8, 4, tc_pc_dpc);
	CHECK_EQ(s01(&v), 1);
	/* The DPC writes a field, then a device register: its next ISR is ordered after. */
	wr(&v, b + 16, 4, tc_pc_dpc);
	sync_(&v, DC_SYNC_RELEASE, &pio, 0);
	leave(&v);
	isr_enter(&v, 0, &pio);
	wr(&v, b + 16, 4, tc_pc_complete);
	leave(&v);
	CHECK_EQ(s01(&v), 1);
	tc_fini(&v);
}

DC_TEST(race_atomics_are_not_races_with_each_other_but_are_with_plain_writes)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	atomic_(&v, b, 4, 5, true);
	wr(&v, b, 4, tc_pc_start_io);
	isr_enter(&v, 1, NULL);
	atomic_(&v, b, 4, 5, true); /* InterlockedOr in the ISR */
	wr(&v, b, 4, tc_pc_dpc);
	leave(&v);
	CHECK_EQ(s01(&v), 0);
	/* A plain write in another context that no atomic released to. */
	dc_machine_set_cpu(v.m, 1);
	sync_(&v, DC_SYNC_ENTER, NULL, DC_CTX_DPC);
	wr(&v, b, 4, tc_pc_copy);
	leave(&v);
	CHECK_EQ(s01(&v), 1);
	tc_fini(&v);
}

DC_TEST(race_atomic_release_acquire_orders_plain_accesses)
{
	/* A flag published with a releasing store and read with an acquiring load orders the
	 * data written before it (a volatile flag on Windows: /volatile:ms). */
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	wr(&v, b + 8, 8, tc_pc_start_io);
	atomic_(&v, b, 4, 3, false);
	wr(&v, b, 4, tc_pc_start_io);
	isr_enter(&v, 1, NULL);
	atomic_(&v, b, 4, 2, false);
	rd(&v, b, 4, tc_pc_dpc);
	rd(&v, b + 8, 8, tc_pc_dpc);
	leave(&v);
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}

DC_TEST(race_threads_fork_wait_and_init_edges)
{
	struct tc_env v;
	uint8_t *b;
	static char thread1, event;
	CHECK(env(&v, &b));
	/* DriverEntry's writes (thread 0) come before every context that runs later. */
	wr(&v, b, 8, tc_pc_start_io);
	sync_(&v, DC_SYNC_INIT, NULL, 0);
	isr_enter(&v, 1, NULL);
	rd(&v, b, 8, tc_pc_dpc);
	leave(&v);
	/* PsCreateSystemThread: the new thread starts after what its creator did. */
	wr(&v, b + 8, 8, tc_pc_start_io);
	sync_(&v, DC_SYNC_FORK, &thread1, 1);
	sync_(&v, DC_SYNC_THREAD, &thread1, 1);
	rd(&v, b + 8, 8, tc_pc_copy);
	wr(&v, b + 16, 8, tc_pc_copy);
	sync_(&v, DC_SYNC_RELEASE, &event, 0); /* KeSetEvent */
	wr(&v, b + 24, 8, tc_pc_copy);
	sync_(&v, DC_SYNC_THREAD, NULL, 0);
	sync_(&v, DC_SYNC_ACQUIRE, &event, 0); /* the wait it satisfies */
	rd(&v, b + 16, 8, tc_pc_complete);
	CHECK_EQ(s01(&v), 0);
	rd(&v, b + 24, 8, tc_pc_complete); /* written after KeSetEvent */
	CHECK_EQ(s01(&v), 1);
	tc_fini(&v);
}

DC_TEST(race_new_memory_forgets_old_accesses)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	isr_enter(&v, 1, NULL);
	wr(&v, b, 64, tc_pc_dpc);
	leave(&v);
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_POOL_FREE, .va = b, .len = 64, .status = 1});
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_POOL_ALLOC, .va = b, .len = 64});
	wr(&v, b, 64, tc_pc_start_io);
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}

/* The slots of memory freed piecewise go back: a pool that spreads small blocks over many pages
 * (its quarantine holds 4 MiB of them) kept every chunk of slots it ever touched, so a long run
 * grew by 4 KiB per 512 bytes the pool ever used.  A chunk still holding a live access stays. */
DC_TEST(race_slots_of_memory_freed_piecewise_are_released)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	CHECK_EQ(dc_race_shadow_chunks(v.c), 0);
	for (unsigned i = 0; i < 32; i++) /* blocks of 96 bytes over 3 KiB: 6 chunks */
		wr(&v, b + i * 96, 8, tc_pc_dpc);
	CHECK_EQ(dc_race_shadow_chunks(v.c), 6);
	for (unsigned i = 0; i < 31; i++)
		tc_emit(&v,
		        (struct dc_kev){
		            .type = DC_KEV_POOL_FREE, .va = b + i * 96, .len = 96, .status = 1});
	CHECK_EQ(dc_race_shadow_chunks(v.c), 1); /* the last block's chunk */
	tc_emit(&v, (struct dc_kev){
	                .type = DC_KEV_POOL_FREE, .va = b + 31 * 96, .len = 96, .status = 1});
	CHECK_EQ(dc_race_shadow_chunks(v.c), 0);
	/* Forgotten slots are really gone: another context's write to the first block after
	 * it was freed and allocated again is no race. */
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_POOL_ALLOC, .va = b, .len = 96});
	isr_enter(&v, 1, NULL);
	wr(&v, b, 8, tc_pc_dpc);
	leave(&v);
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}

DC_TEST(race_one_finding_per_pair_of_lines)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	/* Three instants (the accesses one line makes at one instant are one occurrence). */
	for (int i = 0; i < 3; i++) {
		v.m->clock.now += 100;
		wr(&v, b + 8 * i, 4, tc_pc_start_io);
		isr_enter(&v, 1, NULL);
		wr(&v, b + 8 * i, 4, tc_pc_dpc);
		leave(&v);
	}
	CHECK_EQ(dc_check_count(v.c), 1);
	CHECK_EQ(dc_check_finding(v.c, 0)->count, 3);
	/* The same line racing with another line is another finding. */
	wr(&v, b + 40, 4, tc_pc_copy);
	isr_enter(&v, 1, NULL);
	wr(&v, b + 40, 4, tc_pc_dpc);
	leave(&v);
	CHECK_EQ(dc_check_count(v.c), 2);
	tc_fini(&v);
}

/* --- S03: a MapRegisterBase used before its AdapterControl ran ---------------------------- */

static char s03_adapter, s03_pdo, s03_mrb, s03_stale;

static void s03_channel(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &s03_adapter,
	                           .device = &s03_pdo,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .adapter = &s03_adapter,
	                           .device = &s03_pdo,
	                           .count = 2,
	                           .flags = DC_KEVF_QUEUED});
}

static void s03_map(struct tc_env *v, const void *mrb, int status)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = tc_pc_start_io,
	                           .routine = "MapTransfer",
	                           .adapter = &s03_adapter,
	                           .mrb = mrb,
	                           .len = 512,
	                           .dir = DC_DIR_TO_DEVICE,
	                           .status = status});
}

DC_TEST(race_s03_map_before_the_grant_and_a12_after_it)
{
	struct tc_env v;
	CHECK(tc_init(&v, "pc", 1, NULL));
	s03_channel(&v);
	/* The grant is pending: a stale base, refused by the kernel. */
	s03_map(&v, &s03_stale, DC_KMAP_NO_CHANNEL);
	CHECK_EQ(dc_check_rule_hits(v.c, DC_RULE_S03), 1);
	CHECK_EQ(dc_check_rule_hits(v.c, DC_RULE_A12), 0);
	const struct dc_finding *f = dc_check_finding(v.c, 0);
	CHECK(f && f->pc == tc_pc_start_io &&
	      strstr(f->what, "MapTransfer with a MapRegisterBase"));
	/* The flush of what it did not map, and freeing the stale base: the same mistake. */
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_FLUSH,
	                            .pc = tc_pc_dpc,
	                            .routine = "FlushAdapterBuffers",
	                            .adapter = &s03_adapter,
	                            .mrb = &s03_stale,
	                            .status = 1});
	CHECK_EQ(dc_check_count(v.c), 1);
	/* AdapterControl delivers the base: a refused map now is A12's, not S03's. */
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                            .adapter = &s03_adapter,
	                            .device = &s03_pdo,
	                            .mrb = &s03_mrb,
	                            .count = 2,
	                            .status = 3});
	s03_map(&v, &s03_stale, DC_KMAP_NO_CHANNEL);
	CHECK_EQ(dc_check_rule_hits(v.c, DC_RULE_S03), 1);
	CHECK_EQ(dc_check_rule_hits(v.c, DC_RULE_A12), 1);
	tc_fini(&v);
}

/* Regression: freeing the detector read every entry of the window's page table (one pointer
 * per page of a window of tens of GiB), faulting in the whole table; a process that made and
 * freed many systems (`dmacoh demo`, the test suite) spent minutes in page faults.  What a
 * system with one touched page costs to make and free must not grow with the window. */
DC_TEST(race_freeing_the_shadow_costs_what_was_touched_not_the_window)
{
	struct rusage ru;
	long table_pages = 0, worst = 0;
	for (int i = 0; i < 3; i++) {
		struct tc_env v;
		uint8_t *b;
		CHECK(env(&v, &b));
		table_pages =
		    (long)(v.m->mem.va_size >> DC_PAGE_SHIFT) * (long)sizeof(void *) / DC_PAGE_SIZE;
		getrusage(RUSAGE_SELF, &ru);
		long before = ru.ru_minflt;
		isr_enter(&v, 1, NULL);
		wr(&v, b, 64, tc_pc_dpc);
		leave(&v);
		tc_fini(&v);
		getrusage(RUSAGE_SELF, &ru);
		worst = DC_MAX(worst, ru.ru_minflt - before);
	}
	CHECK_MSG(table_pages >= 1024, "window table of %ld pages: too small to tell", table_pages);
	CHECK_MSG(worst < table_pages / 4,
	          "%ld page faults to use and free a shadow whose table has %ld pages", worst,
	          table_pages);
}

/* Regression: a thread switched out while an ISR delivered on its stack was running (under
 * --schedule, a preemption point inside the ISR lets another processor's context run) came
 * back as the plain thread: the rest of the ISR was judged as the thread, without the edges
 * the ISR had acquired, a false S01 on the correct floppy driver (4 processors, round-robin
 * seed 9, once threads migrate).  Here thread 1 writes a field and starts the device; the ISR
 * on thread 0's stack, ordered after that by the device's edge, writes it after a switch. */
DC_TEST(race_isr_on_a_thread_stays_the_isr_across_a_thread_switch)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	static int device, t0, t1, dpcq;
	sync_(&v, DC_SYNC_THREAD, &t1, 1);
	wr(&v, b, 1, tc_pc_start_io);
	sync_(&v, DC_SYNC_RELEASE, &device, 0);
	sync_(&v, DC_SYNC_THREAD, &t0, 0);
	sync_(&v, DC_SYNC_ENTER, &device, DC_CTX_ISR);
	sync_(&v, DC_SYNC_THREAD, &t1, 1); /* preempted inside the ISR */
	/* A DPC queue's context on another processor reports thread id 0 as well. */
	sync_(&v, DC_SYNC_THREAD, &dpcq, 0);
	sync_(&v, DC_SYNC_THREAD, &t0, 0);
	wr(&v, b, 1, tc_pc_dpc); /* still the ISR */
	sync_(&v, DC_SYNC_LEAVE, NULL, DC_CTX_ISR);
	CHECK_EQ(s01(&v), 0);
	/* Back in thread 0 proper: thread 0 never synchronised with thread 1's write. */
	wr(&v, b, 1, tc_pc_start_io);
	CHECK_EQ(s01(&v), 1);
	tc_fini(&v);
}

/* Regression: the atomic operation announced before its access was one pending slot for all
 * contexts, so a preemption point between the announcement and the access (the access's own
 * --schedule-every tick) let another context's access take it away: the InterlockedExchange
 * was judged a plain write, a false S01 on the correct ring driver (2 processors, pct seed 4). */
DC_TEST(race_atomic_announcement_survives_a_switch_before_its_access)
{
	struct tc_env v;
	uint8_t *b;
	CHECK(env(&v, &b));
	static int t0, t1;
	sync_(&v, DC_SYNC_THREAD, &t1, 1);
	atomic_(&v, b, 4, 5, true);
	wr(&v, b, 4, tc_pc_dpc);
	sync_(&v, DC_SYNC_THREAD, &t0, 0);
	atomic_(&v, b, 4, 5, true);
	sync_(&v, DC_SYNC_THREAD, &t1, 1); /* the tick inside the access */
	wr(&v, b + 32, 4, tc_pc_dpc);
	sync_(&v, DC_SYNC_THREAD, &t0, 0);
	wr(&v, b, 4, tc_pc_start_io); /* the exchange's access: still atomic */
	CHECK_EQ(s01(&v), 0);
	tc_fini(&v);
}
