/* Where findings point: a bug check at the driver's call (not the line after it), code of an
 * inline helper of dmacoh's headers at the driver line that called the helper, a module loaded
 * after the symbolizer's first look at the process at its own source lines, and one finding
 * per source line however many instructions the compiler made of it. */

/* IoRequestDpc (wdm.h, inline) calls KeInsertQueueDpc: here it calls this file's probe, which
 * records the return address inside the inlined helper. */
#define KeInsertQueueDpc sym_insert_dpc
#include <dmacoh/wdm.h>
#undef KeInsertQueueDpc

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check/check_int.h"
#include "dctest.h"
#include "kflow.h"
#include "test_check.h"

static const void *dpc_ra;

__attribute__((noinline)) BOOLEAN sym_insert_dpc(PRKDPC Dpc, PVOID SystemArgument1,
                                                 PVOID SystemArgument2)
{
	(void)Dpc, (void)SystemArgument1, (void)SystemArgument2;
	dpc_ra = __builtin_return_address(0);
	return TRUE;
}

static int dpc_line;

__attribute__((noinline)) static void sym_driver_requests_dpc(PDEVICE_OBJECT dev)
{
	dpc_line = __LINE__ + 1;
	IoRequestDpc(dev, NULL, NULL);
	__asm__ volatile("" ::: "memory"); /* no tail call */
}

static bool sym_at(struct dc_check *c, const void *pc, bool exact, const char *file, int line,
                   const char *func)
{
	char want[256], got[512];
	snprintf(want, sizeof(want), "%s:%d:%s", file, line, func);
	dc_check_symbolize(c, pc, exact, got, sizeof(got));
	if (strcmp(got, want))
		dct_log("got %s, want %s\n", got, want);
	return !strcmp(got, want);
}

DC_TEST(sym_inline_helper_of_wdm_h_is_shown_at_the_driver_line)
{
	static DEVICE_OBJECT dev;
	sym_driver_requests_dpc(&dev);
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	bool ok = sym_at(v.c, dpc_ra, false, "tests/test_check_symbolize.c", dpc_line,
	                 "sym_driver_requests_dpc");
	const struct dc_symbol *s = dc_sym_lookup(v.c, dpc_ra, false);
	bool helper = s->helper && !strcmp(s->helper, "IoRequestDpc");
	tc_fini(&v);
	CHECK(ok);
	CHECK(helper);
}

/* A suppression naming the helper still matches what the helper did (the location is the
 * driver's line, the helper is remembered). */
DC_TEST(sym_suppression_by_helper_name_still_matches)
{
	static DEVICE_OBJECT dev;
	sym_driver_requests_dpc(&dev);
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	char err[256];
	int r =
	    dc_check_suppressions_parse(v.c, "A08:IoRequestDpc\n", "test.supp", err, sizeof(err));
	tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRQL,
	                            .routine = "KeInsertQueueDpc",
	                            .pc = dpc_ra,
	                            .irql = 3,
	                            .irql_min = 0,
	                            .irql_max = 2});
	size_t n = dc_check_count(v.c);
	uint64_t supp = dc_check_suppressed(v.c);
	tc_fini(&v);
	CHECK_EQ(r, 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(supp, 1);
}

/* A kernel routine raising a bug check passes its return address into the driver. */
__attribute__((noinline)) static void sym_bugcheck(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CRASH,
	                           .pc = __builtin_return_address(0),
	                           .status = 0xE2,
	                           .routine = "KeBugCheckEx called by the driver"});
}

static int bugcheck_line;

__attribute__((noinline)) static int sym_driver_bugchecks(struct tc_env *v, int x)
{
	bugcheck_line = __LINE__ + 1;
	sym_bugcheck(v);
	__asm__ volatile("" : "+r"(x)); /* no tail call, and x is not known after the call */
	return x * 3 + 1;
}

DC_TEST(sym_bugcheck_names_the_call_not_the_line_after_it)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	int r = sym_driver_bugchecks(&v, 2);
	const struct dc_finding *f = dc_check_finding(v.c, 0);
	bool ok = r == 7 && f && f->rule == DC_RULE_X01 &&
	          sym_at(v.c, f->pc, f->exact_pc, "tests/test_check_symbolize.c", bugcheck_line,
	                 "sym_driver_bugchecks");
	tc_fini(&v);
	CHECK(ok);
}

__attribute__((noinline)) static const void *sym_ra(void)
{
	const void *ra = __builtin_return_address(0);
	__asm__ volatile("" : "+r"(ra));
	return ra;
}

DC_TEST(sym_one_source_line_is_one_finding_whatever_its_pcs)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	const void *pc[2];
	// clang-format off
	pc[0] = sym_ra(); pc[1] = sym_ra();
	// clang-format on
	for (int i = 0; i < 2; i++)
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_IRQL,
		                            .routine = "KeSomething",
		                            .pc = pc[i],
		                            .irql = 2,
		                            .irql_min = 0,
		                            .irql_max = 1});
	size_t n = dc_check_count(v.c);
	const struct dc_finding *f = dc_check_finding(v.c, 0);
	uint64_t count = f ? f->count : 0;
	tc_fini(&v);
	CHECK(pc[0] != pc[1]);
	CHECK_EQ(n, 1);
	CHECK_EQ(count, 2);
}

DC_TEST(sym_module_loaded_after_the_first_lookup_has_its_lines)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	char path[4096], got[512];
	/* The symbolizer's first look at the process, before the module is there. */
	dc_check_symbolize(v.c, (const void *)(uintptr_t)sym_ra, true, got, sizeof(got));
	bool first = strstr(got, "sym_ra") != NULL;
	void *h = dlopen(kf_driver_path("pio-bug-C06", path, sizeof(path)), RTLD_NOW | RTLD_LOCAL);
	void *entry = h ? dlsym(h, "DriverEntry") : NULL;
	got[0] = 0;
	if (entry)
		dc_check_symbolize(v.c, entry, true, got, sizeof(got));
	tc_fini(&v);
	if (h)
		dlclose(h);
	CHECK(first);
	CHECK_MSG(entry, "%s: %s", path, dlerror());
	CHECK_MSG(strstr(got, "examples/drivers/pio.c:") && strstr(got, ":DriverEntry"), "got %s",
	          got);
}

/* A from-device transfer of one page, mapped; returns its buffer. */
static uint8_t *sym_mapped(struct tc_env *v)
{
	static char adapter, pdo, mdl, mrb;
	uint8_t *buf = dc_alloc_cached(v->m, 1, DC_ZONE_DMA32, false);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &adapter,
	                           .device = &pdo,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER | DC_KEVF_SG});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .adapter = &adapter,
	                           .device = &pdo,
	                           .count = 4});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                           .adapter = &adapter,
	                           .device = &pdo,
	                           .mrb = &mrb,
	                           .count = 4,
	                           .status = 3});
	uint64_t pa = dc_va_to_pa(v->m, buf);
	struct dc_kev_piece p = {buf, pa, pa, DC_PAGE_SIZE};
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = tc_pc_start_io,
	                           .routine = "MapTransfer",
	                           .adapter = &adapter,
	                           .mdl = &mdl,
	                           .mrb = &mrb,
	                           .va = buf,
	                           .len = DC_PAGE_SIZE,
	                           .len_out = DC_PAGE_SIZE,
	                           .logical = pa,
	                           .dir = DC_DIR_FROM_DEVICE,
	                           .xfer = 1,
	                           .status = DC_KMAP_OK,
	                           .pieces = &p,
	                           .n_pieces = 1});
	return buf;
}

/* One source line reads 4 bytes of a buffer the device owns: as four byte loads in reverse
 * order (as one compiler emits it) or as one 4-byte load (as another does).  Both are one
 * C03 occurrence at the lowest byte. */
DC_TEST(sym_cpu_access_findings_count_events_not_loads)
{
	uint64_t count[2] = {0, 0}, va[2] = {0, 0}, want[2] = {1, 1};
	for (int one_load = 0; one_load < 2; one_load++) {
		struct tc_env v;
		CHECK(tc_init(&v, "noncoherent", 1, NULL));
		uint8_t *buf = sym_mapped(&v);
		if (one_load)
			dc_cpu_ref(v.m, buf + 64, 4, DC_ACC_READ, tc_pc_copy);
		else
			for (int i = 3; i >= 0; i--)
				dc_cpu_ref(v.m, buf + 64 + i, 1, DC_ACC_READ, tc_pc_copy);
		const struct dc_finding *f = dc_check_finding(v.c, 0);
		count[one_load] = dc_check_count(v.c) == 1 && f ? f->count : 0;
		va[one_load] = f ? f->va : 0;
		want[one_load] = dc_check_show_va(v.c, buf + 64);
		tc_fini(&v);
	}
	CHECK_EQ(count[0], 1);
	CHECK_EQ(count[1], 1);
	CHECK_EQ(va[0], want[0]);
	CHECK_EQ(va[1], want[1]);
}
