/* The race detector fed by the kernel: device extensions live in a tracked span whose
 * accesses reach the detector and never the cache model; the kernel's own events (an ISR, a
 * DPC) make the contexts; and every correct example driver is clean of S01 on 1, 2 and 4
 * processors (a finding there is a missing happens-before edge, or a real race in the
 * example: both were found and fixed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/check.h"
#include "hw/machine.h"
#include "kernel/kernel.h"
#include "kernel/sys.h"

static PDEVICE_OBJECT ext_dev;

static NTSTATUS ext_entry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
	(void)path;
	return IoCreateDevice(drv, 256, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &ext_dev);
}

static void ext_site_a(void)
{
}

static void ext_site_b(void)
{
}

DC_TEST(race_device_extension_is_tracked_outside_the_cache_model)
{
	struct dc_platform p;
	struct dc_sys *s;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0 && dc_sys_create(&p, &s) == 0);
	struct dc_machine *m = dc_sys_machine(s);
	struct dc_check *c = NULL;
	CHECK(dc_check_create(m, NULL, &c) == DC_OK);
	struct dc_driver *drv;
	ext_dev = NULL;
	CHECK_EQ(dc_sys_load_entry(s, "ext", ext_entry, &drv, NULL), DC_OK);
	CHECK(ext_dev && ext_dev->DeviceExtension);
	uint8_t *ext = ext_dev->DeviceExtension;
	CHECK(((uintptr_t)ext & 15) == 0);
	/* Zeroed, as the I/O manager hands it over, and outside both windows. */
	for (int i = 0; i < 256; i++)
		CHECK(ext[i] == 0);
	CHECK(!dc_mem_in_cached(&m->mem, ext) && !dc_mem_in_uncached(&m->mem, ext));
	uint64_t reads = m->st.reads, writes = m->st.writes, uncached = m->st.uncached;
	uint64_t l1_hits = m->cache.l1->st.hits[DC_ACC_WRITE];
	const void *pa = (const void *)((uintptr_t)ext_site_a + 1);
	const void *pb = (const void *)((uintptr_t)ext_site_b + 1);
	dc_cpu_hook(m, ext + 32, 4, DC_ACC_WRITE, pa); /* the dispatch routine, thread 0 */
	dc_machine_set_cpu(m, 1);
	dc_ksync(s, DC_SYNC_ENTER, NULL, DC_CTX_ISR);
	dc_cpu_hook(m, ext + 32, 4, DC_ACC_READ, pb); /* an ISR on processor 1 */
	dc_ksync(s, DC_SYNC_LEAVE, NULL, DC_CTX_ISR);
	dc_machine_set_cpu(m, 0);
	CHECK_EQ(dc_check_rule_hits(c, DC_RULE_S01), 1);
	/* Never the cache model: no reference counted, no line filled. */
	CHECK_EQ(m->st.reads, reads);
	CHECK_EQ(m->st.writes, writes);
	CHECK_EQ(m->st.uncached, uncached);
	CHECK_EQ(m->cache.l1->st.hits[DC_ACC_WRITE], l1_hits);
	/* A deleted device's extension is new memory when it is handed out again. */
	IoDeleteDevice(ext_dev);
	uint8_t *old = ext;
	ext_dev = NULL;
	CHECK_EQ(IoCreateDevice(drv->obj, 200, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &ext_dev),
	         STATUS_SUCCESS);
	CHECK(ext_dev->DeviceExtension == old);
	dc_cpu_hook(m, old + 32, 4, DC_ACC_WRITE, pa);
	CHECK_EQ(dc_check_rule_hits(c, DC_RULE_S01), 1);
	dc_check_destroy(c);
	dc_sys_destroy(s);
}

/* --- Every correct example, 1, 2 and 4 processors ---------------------------------------- */

static const char *const clean_drivers[] = {
    "autoinit",      "busmaster", "combm",  "floppy",  "legacy", "pio",  "plumbed", "ring",
    "ring-uncached", "sglist",    "sysdma", "userdma", "v3bm",   "wave", "wdksg",
};

/* A copy of a built-in profile with `processors` changed; false if it cannot be written. */
static bool profile_with(const char *base, unsigned cpus, char *path, size_t len)
{
	char src[256];
	snprintf(src, sizeof(src), "profiles/%s.ini", base);
	FILE *in = fopen(src, "r");
	if (!in)
		return false;
	snprintf(path, len, "/tmp/dmacoh-race-%d-%s-%u.ini", (int)getpid(), base, cpus);
	FILE *out = fopen(path, "w");
	if (!out) {
		fclose(in);
		return false;
	}
	char line[512];
	bool said = false, in_platform = false;
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "processors", 10)) {
			if (!said)
				fprintf(out, "processors = %u\n", cpus);
			said = true;
			continue;
		}
		/* After [platform] and its `base` key, if any (base must come first). */
		if (in_platform && !said && strncmp(line, "base", 4)) {
			fprintf(out, "processors = %u\n", cpus);
			said = true;
		}
		fputs(line, out);
		in_platform = !strncmp(line, "[platform]", 10) || (in_platform && !said);
	}
	fclose(in);
	return fclose(out) == 0;
}

DC_TEST(race_every_correct_example_clean_on_1_2_4_processors)
{
	static const char *const plats[] = {"noncoherent", "pc"};
	static const unsigned cpus[] = {1, 2, 4};
	for (size_t pi = 0; pi < DC_ARRAY_SIZE(plats); pi++) {
		for (size_t ci = 0; ci < DC_ARRAY_SIZE(cpus); ci++) {
			char prof[128];
			CHECK(profile_with(plats[pi], cpus[ci], prof, sizeof(prof)));
			for (size_t d = 0; d < DC_ARRAY_SIZE(clean_drivers); d++) {
				static struct dct_run r;
				const char *args[] = {"run",
				                      "--driver",
				                      clean_drivers[d],
				                      "--platform",
				                      prof,
				                      "--workload",
				                      "count=60,outstanding=4,size=512-8192",
				                      NULL};
				CHECK(dct_run_tool(&r, args));
				CHECK_MSG(r.status == 0 && !strstr(r.err, "S01"),
				          "%s on %s, %u processors: exit %d: %s", clean_drivers[d],
				          plats[pi], cpus[ci], r.status, r.err);
			}
			unlink(prof);
		}
	}
	/* v3sub needs arm-soc's PL080. */
	for (size_t ci = 0; ci < DC_ARRAY_SIZE(cpus); ci++) {
		char prof[128];
		CHECK(profile_with("arm-soc", cpus[ci], prof, sizeof(prof)));
		static struct dct_run r;
		const char *args[] = {"run",
		                      "--driver",
		                      "v3sub",
		                      "--platform",
		                      prof,
		                      "--workload",
		                      "count=60,outstanding=4,size=512-8192",
		                      NULL};
		CHECK(dct_run_tool(&r, args));
		CHECK_MSG(r.status == 0 && !strstr(r.err, "S01"),
		          "v3sub, %u processors: exit %d: %s", cpus[ci], r.status, r.err);
		unlink(prof);
	}
}

DC_TEST(race_every_correct_example_clean_with_a_deferred_grant)
{
	/* AdapterControl always later, at the next DPC: a correct driver does not notice. */
	for (size_t d = 0; d < DC_ARRAY_SIZE(clean_drivers); d++) {
		static struct dct_run r;
		const char *args[] = {"run",
		                      "--driver",
		                      clean_drivers[d],
		                      "--workload",
		                      "count=60,outstanding=4,size=512-8192",
		                      "--deferred-grant",
		                      NULL};
		CHECK(dct_run_tool(&r, args));
		CHECK_MSG(!strstr(r.err, "S03"), "%s with --deferred-grant: %s", clean_drivers[d],
		          r.err);
		/* wave starts a session holding its Lock and its AdapterControl relies on that
		 * lock being held (it is when the grant is immediate); run later, from the HAL's
		 * DPC, it races with the dispatch routines: a real bug when the 8237 channel is
		 * busy, which this mode exists to show (reported, not yet fixed in wave.c). */
		if (!strcmp(clean_drivers[d], "wave"))
			CHECK_MSG(strstr(r.err, "S01 data-race") &&
			              strstr(r.err, "WaveAdapterControl"),
			          "%s", r.err);
		else
			CHECK_MSG(r.status == 0, "%s with --deferred-grant: exit %d: %s",
			          clean_drivers[d], r.status, r.err);
	}
}

/* Regression: IoDisconnectInterrupt did not order the ISR's runs before what follows it, so a
 * stop routine clearing a field its ISR read (ring's ext->Registers) was an S01 once the stop
 * ran on another processor than the last interrupt: a false finding (Windows waits for the
 * ISRs to end; ring on 2 processors, --schedule pct seed 4, when threads migrate). */
static struct dc_machine *disc_m;
static uint8_t *disc_field;
static BOOLEAN disc_isr(PKINTERRUPT Interrupt, PVOID ctx)
{
	(void)Interrupt, (void)ctx;
	dc_cpu_hook(disc_m, disc_field, 8, DC_ACC_READ, (const void *)((uintptr_t)ext_site_b + 1));
	return TRUE;
}

DC_TEST(race_disconnecting_an_interrupt_orders_its_isr_runs_first)
{
	struct dc_platform p;
	struct dc_sys *s;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0 && dc_sys_create(&p, &s) == 0);
	struct dc_machine *m = dc_sys_machine(s);
	struct dc_check *c = NULL;
	CHECK(dc_check_create(m, NULL, &c) == DC_OK);
	struct dc_driver *drv;
	ext_dev = NULL;
	CHECK_EQ(dc_sys_load_entry(s, "disc", ext_entry, &drv, NULL), DC_OK);
	disc_m = m;
	disc_field = (uint8_t *)ext_dev->DeviceExtension + 64;
	const unsigned line = 5;
	PKINTERRUPT ki = NULL;
	KIRQL irql = (KIRQL)(11 - line);
	CHECK_EQ(IoConnectInterrupt(&ki, disc_isr, NULL, NULL, 0x30 + line, irql, irql, Latched,
	                            FALSE, 2 /* processor 1 */, FALSE),
	         STATUS_SUCCESS);
	dc_irq_raise(&m->irq, line);
	dc_sys_run_for(s, 100000);
	dc_irq_lower(&m->irq, line);
	IoDisconnectInterrupt(ki);
	/* The stop routine, on processor 0, after the disconnection. */
	dc_cpu_hook(m, disc_field, 8, DC_ACC_WRITE, (const void *)((uintptr_t)ext_site_a + 1));
	CHECK_EQ(dc_check_rule_hits(c, DC_RULE_S01), 0);
	dc_check_destroy(c);
	dc_sys_destroy(s);
}
