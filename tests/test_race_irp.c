/* Rule S02: an IRP touched (its fields read or written by driver code, or passed to a kernel
 * routine) after IoCompleteRequest completed it, naming both sites and both contexts; one
 * bug gives one finding (a second completion is S02, not S02 plus the 0x44 bug check); a
 * correct hand-over (the cancel path completes, the queue never returns the IRP) is clean;
 * and the floppy twin whose cancel-safe-queue peek returns the IRP it was given is caught
 * when cancels race with its thread (`--workload cancel=N --schedule random`) within a
 * bounded number of seeds.  Not tested here: PCT, which never catches the twin in 100 seeds
 * (its change points are drawn over 20000 steps; a run has a few hundred). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/check.h"
#include "hw/machine.h"
#include "kernel/kernel.h"
#include "kernel/sys.h"

static PDEVICE_OBJECT irp_dev;
static PIRP held_irp;

static NTSTATUS irp_pend(PDEVICE_OBJECT dev, PIRP irp)
{
	(void)dev;
	held_irp = irp;
	IoMarkIrpPending(irp);
	return STATUS_PENDING;
}

static NTSTATUS irp_entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	(void)path;
	drv->MajorFunction[IRP_MJ_READ] = irp_pend;
	return IoCreateDevice(drv, 64, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &irp_dev);
}

static void site_touch(void)
{
}

struct irp_rig {
	struct dc_sys *s;
	struct dc_machine *m;
	struct dc_check *c;
	PIRP irp;
};

/* A system with the checker, and an IRP the test driver holds pending (sent on thread 0,
 * processor 0). */
static bool rig_open(struct irp_rig *g)
{
	struct dc_platform p;
	memset(g, 0, sizeof(*g));
	if (dc_platform_builtin("noncoherent", &p) || dc_sys_create(&p, &g->s))
		return false;
	g->m = dc_sys_machine(g->s);
	if (dc_check_create(g->m, NULL, &g->c) != DC_OK)
		return false;
	struct dc_driver *drv;
	irp_dev = NULL;
	held_irp = NULL;
	if (dc_sys_load_entry(g->s, "irp", irp_entry, &drv, NULL) != DC_OK || !irp_dev)
		return false;
	dc_sys_cur = g->s;
	g->irp = IoAllocateIrp(1, FALSE);
	if (!g->irp)
		return false;
	IoGetNextIrpStackLocation(g->irp)->MajorFunction = IRP_MJ_READ;
	g->irp->IoStatus.Status = STATUS_SUCCESS;
	return IoCallDriver(irp_dev, g->irp) == STATUS_PENDING && held_irp == g->irp;
}

static void rig_close(struct irp_rig *g)
{
	if (g->c)
		dc_check_destroy(g->c);
	if (g->s)
		dc_sys_destroy(g->s);
}

/* Completes the held IRP from a DPC on processor 1. */
static void complete_on_cpu1(struct irp_rig *g)
{
	dc_machine_set_cpu(g->m, 1);
	dc_ksync(g->s, DC_SYNC_ENTER, NULL, DC_CTX_DPC);
	g->irp->IoStatus.Status = STATUS_SUCCESS;
	IoCompleteRequest(g->irp, IO_NO_INCREMENT);
	dc_ksync(g->s, DC_SYNC_LEAVE, NULL, DC_CTX_DPC);
	dc_machine_set_cpu(g->m, 0);
}

static const struct dc_finding *s02_finding(struct dc_check *c)
{
	for (size_t i = 0; i < dc_check_count(c); i++)
		if (dc_check_finding(c, i)->rule == DC_RULE_S02)
			return dc_check_finding(c, i);
	return NULL;
}

DC_TEST(s02_field_written_on_cpu0_after_a_dpc_on_cpu1_completed_the_irp)
{
	struct irp_rig g;
	CHECK(rig_open(&g));
	const void *pc = (const void *)((uintptr_t)site_touch + 1);
	/* While the driver owns it: no finding. */
	dc_cpu_hook(g.m, &g.irp->IoStatus.Information, 8, DC_ACC_WRITE, pc);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 0);
	complete_on_cpu1(&g);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 0);
	/* The dispatch side, on processor 0, writes the completed IRP's Information. */
	dc_cpu_hook(g.m, &g.irp->IoStatus.Information, 8, DC_ACC_WRITE, pc);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 1);
	const struct dc_finding *f = s02_finding(g.c);
	CHECK(f != NULL);
	if (f) {
		CHECK_MSG(strstr(f->what, "write of 8 bytes of a completed IRP by thread 0") &&
		              strstr(f->what, "on processor 0 after a DPC on processor 1"),
		          "%s", f->what);
		CHECK(f->n_sites >= 1 && !strcmp(f->site[0].label, "completed at") &&
		      f->site[0].pc != NULL);
	}
	/* One finding per completion: more touches add nothing new. */
	dc_cpu_hook(g.m, &g.irp->IoStatus.Status, 4, DC_ACC_READ, pc);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 1);
	rig_close(&g);
}

DC_TEST(s02_second_completion_on_another_processor_is_one_finding)
{
	struct irp_rig g;
	CHECK(rig_open(&g));
	complete_on_cpu1(&g);
	/* Freed by its owner, as the I/O manager does after completion: the bytes stay
	 * quarantined, so the second completion is seen, not a host use-after-free. */
	IoFreeIrp(g.irp);
	IoCompleteRequest(g.irp, IO_NO_INCREMENT);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 1);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_X01), 0); /* not also the 0x44 bug check */
	const struct dc_finding *f = s02_finding(g.c);
	CHECK(f && strstr(f->what, "IoCompleteRequest with a completed IRP") &&
	      strstr(f->what, "after a DPC on processor 1"));
	rig_close(&g);
}

DC_TEST(s02_irp_sent_again_belongs_to_its_driver)
{
	struct irp_rig g;
	CHECK(rig_open(&g));
	complete_on_cpu1(&g);
	/* IoCallDriver of a completed IRP is itself a touch; once sent, the driver owns it. */
	IoCallDriver(irp_dev, g.irp);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 1);
	const void *pc = (const void *)((uintptr_t)site_touch + 1);
	dc_cpu_hook(g.m, &g.irp->IoStatus.Information, 8, DC_ACC_WRITE, pc);
	CHECK_EQ(dc_check_rule_hits(g.c, DC_RULE_S02), 1);
	rig_close(&g);
}

/* --- The floppy example and its twin, with cancels racing with the queue's thread ---------- */

static bool run_floppy(const char *drv, const char *policy, const char *cpus, unsigned seed,
                       struct dct_run *r)
{
	char sd[16];
	snprintf(sd, sizeof(sd), "%u", seed);
	const char *args[] = {"run",          drv,    "--workload",      "count=20,cancel=1",
	                      "--schedule",   policy, "--schedule-seed", sd,
	                      "--processors", cpus,   "--quiet",         NULL};
	const char *full[16] = {"run", "--driver"};
	size_t k = 2;
	for (size_t i = 1; args[i]; i++)
		full[k++] = args[i];
	full[k] = NULL;
	return dct_run_tool(r, full);
}

/* The correct hand-over: the cancel path completes the IRP, the queue never hands it out
 * again; no finding at all.  (The S01 between FloppyIsr and FloppyCommandAndWait this test
 * once tolerated was an ISR taken before the run's first thread switch, charged to the
 * application's thread: thread.c now names that thread, test_sched.c's
 * sched_ring_polls_and_preempted_dpc_stay_clean.) */
DC_TEST(s02_correct_floppy_cancels_clean_on_1_2_4_processors)
{
	static const char *const cpus[] = {"1", "2", "4"};
	for (size_t ci = 0; ci < DC_ARRAY_SIZE(cpus); ci++)
		for (unsigned seed = 1; seed <= 8; seed++) {
			static struct dct_run r;
			CHECK(run_floppy("floppy", "random", cpus[ci], seed, &r));
			CHECK_MSG(r.status == 0 && strstr(r.out, "  findings   none\n") &&
			              strstr(r.out, "0 failed, 0 hung") &&
			              strstr(r.out, "every byte verified"),
			          "floppy, %s processors, seed %u: exit %d: %s%s", cpus[ci], seed,
			          r.status, r.out, r.err);
		}
}

/* The bound: with `count=20,cancel=1 --schedule random`, 100 of seeds 1..100 catch the twin
 * on 2 processors and 99 on 4 (the first at seed 1 on both): within 3 seeds is a bound with
 * room, and it must be S02 alone. */
#define S02_SEED_BOUND 3u

DC_TEST(s02_floppy_twin_caught_within_the_seed_bound)
{
	static const char *const cpus[] = {"2", "4"};
	for (size_t ci = 0; ci < DC_ARRAY_SIZE(cpus); ci++) {
		unsigned first = 0;
		for (unsigned seed = 1; seed <= S02_SEED_BOUND && !first; seed++) {
			static struct dct_run r;
			CHECK(run_floppy("floppy-bug-S02", "random", cpus[ci], seed, &r));
			if (strstr(r.out, "S02")) {
				first = seed;
				CHECK_MSG(r.status == 1 && strstr(r.out, "findings   S02 x") &&
				              !strstr(r.out, ", S0") && !strstr(r.out, "S02 x1,"),
				          "%s", r.out);
				CHECK_MSG(
				    strstr(r.err, "IoCsqRemoveNextIrp with a completed IRP") &&
				        strstr(r.err, "FloppyThread") &&
				        strstr(r.err, "completed at examples/drivers/floppy.c"),
				    "%s", r.err);
			}
		}
		CHECK_MSG(first != 0, "floppy-bug-S02 on %s processors: not caught in %u seeds",
		          cpus[ci], S02_SEED_BOUND);
	}
	/* Without cancels (the default workload) the twin is the correct driver. */
	static struct dct_run r;
	const char *args[] = {"run",        "--driver", "floppy-bug-S02", "--workload", "count=20",
	                      "--schedule", "random",   "--quiet",        NULL};
	CHECK(dct_run_tool(&r, args));
	CHECK_MSG(r.status == 0 && strstr(r.out, "findings   none"), "%s%s", r.out, r.err);
}
