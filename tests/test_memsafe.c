/* Memory safety of simulated kernel memory (M01 pool-out-of-bounds, M02 use-after-free, M03
 * unmapped-kernel-address) and the protection of dmacoh's own reservations: the kernel's pool
 * and common buffers keep their alignment and get redzones and a quarantine, the machine
 * reports what a driver reference hits, the hostile mem_* drivers are reported at their
 * EXPECT line, and wild stores into the reservations never pass silently. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check_int.h"
#include "dctest.h"
#include "dctool.h"
#include "hw/machine.h"
#include "kernel/kernel.h"
#include "kernel/sys.h"
#include "kflow.h"

struct faults {
	int n, kind;
	const void *bad;
};

static void on_fault(void *opaque, const void *va, uint32_t len, bool write, const void *bad,
                     int kind, const void *pc)
{
	(void)va, (void)len, (void)write, (void)pc;
	struct faults *f = opaque;
	f->n++;
	f->kind = kind;
	f->bad = bad;
}

static const struct dc_observer fault_obs = {.mem_fault = on_fault};

/* What one driver reference of len bytes at p hits: 0 (nothing) or a DC_MEMF_* kind. */
static int probe(struct dc_machine *m, struct faults *f, const void *p, uint32_t len)
{
	f->n = 0;
	f->kind = 0;
	static const char driver_pc; /* any non-NULL pc: a driver reference */
	dc_cpu_ref(m, p, len, DC_ACC_READ, &driver_pc);
	return f->n ? f->kind : 0;
}

static struct dc_sysdev *the_dev;

static struct dc_sys *sys_pc(struct faults *f)
{
	struct dc_platform p;
	struct dc_sys *s;
	struct dc_sysdev *d;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	if (dc_sys_add_device(s, "sysblk", NULL, &d)) {
		dc_sys_destroy(s);
		return NULL;
	}
	the_dev = d;
	dc_machine_add_observer(dc_sys_machine(s), &fault_obs, f);
	return s;
}

DC_TEST(memsafe_pool_alignment_redzones_and_quarantine)
{
	static struct faults f;
	struct dc_sys *s = sys_pc(&f);
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	static const SIZE_T sizes[] = {1,    15,   16,   17,   100,  128,
	                               1000, 2048, 2049, 4096, 5000, 12288};
	for (size_t i = 0; i < DC_ARRAY_SIZE(sizes); i++) {
		SIZE_T n = sizes[i];
		uint8_t *p = ExAllocatePoolWithTag(NonPagedPool, n, 'tseT');
		CHECK(p);
		CHECK_MSG((uintptr_t)p % 16 == 0, "%zu bytes at %p", (size_t)n, (void *)p);
		if (n >= DC_PAGE_SIZE)
			CHECK_MSG((uintptr_t)p % DC_PAGE_SIZE == 0, "%zu bytes", (size_t)n);
		CHECK_EQ(probe(m, &f, p, 1), 0);
		CHECK_EQ(probe(m, &f, p + n - 1, 1), 0);
		/* The first byte past the block, and a reference straddling the end. */
		CHECK_EQ(probe(m, &f, p + n, 1), DC_MEMF_REDZONE);
		CHECK(f.bad == p + n);
		if (n >= 4) {
			CHECK_EQ(probe(m, &f, p + n - 2, 4), DC_MEMF_REDZONE);
			CHECK(f.bad == p + n);
		}
		CHECK_EQ(probe(m, &f, p - 1, 1), DC_MEMF_REDZONE);
		ExFreePoolWithTag(p, 'tseT');
		CHECK_EQ(probe(m, &f, p, 1), DC_MEMF_FREED);
		/* Quarantined: the next allocation of the same size is elsewhere. */
		uint8_t *q = ExAllocatePoolWithTag(NonPagedPool, n, 'tseT');
		CHECK(q && q != p);
		CHECK_EQ(probe(m, &f, p, 1), DC_MEMF_FREED);
		ExFreePoolWithTag(q, 'tseT');
	}
	/* Cache-aligned pool starts on a line. */
	uint8_t *c = ExAllocatePoolWithTag(NonPagedPoolCacheAligned, 24, 'tseT');
	CHECK(c && (uintptr_t)c % m->plat.line_size == 0);
	CHECK_EQ(probe(m, &f, c + 24, 1), DC_MEMF_REDZONE);
	ExFreePoolWithTag(c, 'tseT');
	dc_sys_destroy(s);
}

DC_TEST(memsafe_common_buffer_page_aligned_guarded_and_quarantined)
{
	static struct faults f;
	struct dc_sys *s = sys_pc(&f);
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION;
	dd.DmaChannel = 1;
	dd.DmaWidth = Width8Bits;
	dd.InterfaceType = Isa;
	dd.MaximumLength = 0x10000;
	ULONG nmr = 0;
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(the_dev), &dd, &nmr);
	CHECK(a);
	PHYSICAL_ADDRESS la;
	uint8_t *cb = a->DmaOperations->AllocateCommonBuffer(a, 100, &la, TRUE);
	CHECK(cb && (uintptr_t)cb % DC_PAGE_SIZE == 0 && la.QuadPart % DC_PAGE_SIZE == 0);
	CHECK_EQ(probe(m, &f, cb + 99, 1), 0);
	CHECK_EQ(probe(m, &f, cb + 100, 1), DC_MEMF_REDZONE);
	CHECK_EQ(probe(m, &f, cb + 100 + 8192, 1), DC_MEMF_REDZONE);
	CHECK_EQ(probe(m, &f, cb - 8192, 1), DC_MEMF_REDZONE);
	/* The guard pages have no frame: the buffer's one page is all it occupies. */
	CHECK(dc_va_to_pa(m, cb - 1) == DC_PA_INVALID);
	CHECK(dc_va_to_pa(m, cb + DC_PAGE_SIZE) == DC_PA_INVALID);
	a->DmaOperations->FreeCommonBuffer(a, 100, la, cb, TRUE);
	CHECK_EQ(probe(m, &f, cb + 8, 1), DC_MEMF_FREED);
	a->DmaOperations->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

DC_TEST(memsafe_unmapped_window_page_reported_then_harmless)
{
	static struct faults f;
	struct dc_sys *s = sys_pc(&f);
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	uint8_t *far = m->mem.cwin + (m->mem.va_size >> 1);
	dc_machine_set_current(m);
	CHECK_EQ(probe(m, &f, far, 8), DC_MEMF_UNMAPPED);
	/* The page was enabled after the report: the access itself does not fault. */
	far[0] = 1;
	/* A frame nothing allocated, through the uncached window. */
	uint8_t *ph = m->mem.phys + m->mem.phys_size - DC_PAGE_SIZE;
	CHECK_EQ(probe(m, &f, ph, 4), DC_MEMF_UNMAPPED);
	dc_machine_set_current(NULL);
	dc_sys_destroy(s);
}

/* A store at p in a child process: true if it faulted (or the sanitizer runtime caught it). */
static bool store_faults(volatile uint8_t *p)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		*p = 0x5a;
		_exit(0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

DC_TEST(memsafe_reservations_not_writable_until_used)
{
	struct dc_platform p;
	struct dc_machine *m;
	CHECK(!dc_platform_builtin("pc", &p) && !dc_machine_create(&p, &m));
	if (!m->mem.guard) {
		dc_machine_destroy(m);
		return; /* host pages are not 4 KiB: no protection is kept */
	}
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_ANY, false);
	CHECK(buf);
	buf[0] = 1; /* mapped: writable */
	uint64_t vpages = m->mem.va_size >> DC_PAGE_SHIFT, pfns = m->mem.phys_size >> DC_PAGE_SHIFT;
	/* Three quarters in: past every zone's first frames and the first VA. */
	uint64_t v = vpages / 4 * 3, f = pfns / 4 * 3;
	CHECK(store_faults(m->mem.cwin + (v << DC_PAGE_SHIFT)));
	CHECK(store_faults(m->mem.phys + (f << DC_PAGE_SHIFT)));
	CHECK(store_faults((uint8_t *)(m->mem.pt + v)));
	CHECK(store_faults((uint8_t *)(m->mem.rmap + f)));
	CHECK(store_faults((uint8_t *)(m->mem.present + f)));
	CHECK(store_faults(m->mem.fstate + f));
	CHECK(store_faults((uint8_t *)(m->present_bits + f * m->present_words)));
	CHECK(store_faults(m->msh + (v << (DC_PAGE_SHIFT - DC_SH_GRANULE_SHIFT))));
	/* What is in use is writable (the child exits 0). */
	CHECK(!store_faults(buf + 8));
	CHECK(!store_faults(m->mem.phys + dc_va_to_pa(m, buf)));
	/* Unmapped again: inaccessible again, within DC_MEM_REPROTECT_BATCH pages of unmaps
	 * (mem.c: closing each freed span at once costs a TLB flush, deferred so that a span
	 * reused meanwhile needs no mprotect at all).  From an empty batch: */
	dc_mem_reprotect(&m->mem);
	dc_free_cached(m, buf, 2);
	uint64_t pending = 2;
	uint8_t *other = NULL;
	while (pending < DC_MEM_REPROTECT_BATCH) {
		other = dc_alloc_cached(m, 3, DC_ZONE_ANY, false);
		CHECK(other && other != buf);
		other[0] = 1;
		dc_free_cached(m, other, 3);
		pending += 3;
	}
	CHECK(store_faults(buf));
	CHECK(store_faults(other));
	/* And at once with dc_mem_reprotect. */
	uint8_t *again = dc_alloc_cached(m, 2, DC_ZONE_ANY, false);
	CHECK(again);
	again[0] = 1;
	dc_free_cached(m, again, 2);
	dc_mem_reprotect(&m->mem);
	CHECK(store_faults(again));
	/* A span reused with its pages split differently (the same free list): its guard pages
	 * are closed, its pages open. */
	uint8_t *flat = dc_alloc_cached(m, 4, DC_ZONE_ANY, false);
	CHECK(flat);
	flat[0] = 1;
	flat[3 * DC_PAGE_SIZE] = 1;
	dc_free_cached(m, flat, 4);
	uint8_t *g = dc_alloc_cached_guarded(m, 2, DC_ZONE_ANY, false, 1);
	CHECK(g == flat + DC_PAGE_SIZE);
	CHECK(store_faults(g - 1));
	CHECK(store_faults(g + 2 * DC_PAGE_SIZE));
	CHECK(!store_faults(g) && !store_faults(g + DC_PAGE_SIZE));
	dc_free_cached_guarded(m, g, 2, 1);
	/* A device may write any frame: the DMA path enables it. */
	uint8_t x[64] = {1};
	CHECK_EQ(dc_dma_write(m, 0, m->mem.phys_size - 4096, x, sizeof(x)), DC_OK);
	dc_machine_destroy(m);
}

/* --- The hostile drivers, through dmacoh run ----------------------------------------------- */

/* The line of src marked "EXPECT: rule"; 0 if none. */
static int expect_line(const char *src, const char *rule)
{
	FILE *f = fopen(src, "r");
	char line[512], tag[32];
	int no = 0, found = 0;
	snprintf(tag, sizeof(tag), "EXPECT: %s", rule);
	while (f && fgets(line, sizeof(line), f) && !found) {
		no++;
		if (strstr(line, tag))
			found = no;
	}
	if (f)
		fclose(f);
	return found;
}

static bool run_mem(struct dct_run *r, const char *name)
{
	char path[1024], rel[64];
	snprintf(rel, sizeof(rel), "../hostile-mem/%s", name);
	kf_driver_path(rel, path, sizeof(path));
	return dct_run_tool(r, (const char *const[]){"run", "--driver", path, "--device", "sysblk",
	                                             "--workload", "count=2", NULL});
}

DC_TEST(memsafe_hostile_drivers_reported_at_their_line)
{
	static const struct {
		const char *name, *rule, *msg;
	} cases[] = {
	    {"mem_cb_overrun", "M01",
	     "M01 pool-out-of-bounds: CPU wrote 1 byte 8192 bytes after a 100-byte common buffer "
	     "[allocated at tests/hostile/mem_cb_overrun.c:"},
	    {"mem_cb_underrun", "M01",
	     "M01 pool-out-of-bounds: CPU wrote 1 byte 8192 bytes before a 100-byte common "
	     "buffer [allocated at tests/hostile/mem_cb_underrun.c:"},
	    {"mem_cb_uaf", "M02",
	     "M02 use-after-free: CPU read 4 bytes at offset 12 of a 4096-byte common buffer "
	     "freed [freed at tests/hostile/mem_cb_uaf.c:"},
	    {"mem_pool_overrun", "M01",
	     "M01 pool-out-of-bounds: CPU wrote 4 bytes 0 bytes after a 100-byte pool "
	     "allocation [allocated at tests/hostile/mem_pool_overrun.c:"},
	    {"mem_pool_uaf", "M02",
	     "M02 use-after-free: CPU wrote 1 byte at offset 16 of a 64-byte pool allocation "
	     "freed [freed at tests/hostile/mem_pool_uaf.c:"},
	    {"mem_unmapped", "M03", "M03 unmapped-kernel-address: CPU wrote 1 byte at an address"},
	    {"mem_wild", "M03", "M03 unmapped-kernel-address: CPU wrote 8 bytes at an address"},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		static struct dct_run r;
		char src[256], at[300];
		unsetenv("MEM_WILD_SEED");
		snprintf(src, sizeof(src), "tests/hostile/%s.c", cases[i].name);
		int line = expect_line(src, cases[i].rule);
		CHECK_MSG(line > 0, "%s has no EXPECT line", src);
		snprintf(at, sizeof(at), "    at %s:%d:", src, line);
		CHECK(run_mem(&r, cases[i].name));
		CHECK_MSG(r.status == 1, "%s: exit %d\n%s", cases[i].name, r.status, r.err);
		CHECK_MSG(strstr(r.err, cases[i].msg), "%s: report lacks '%s':\n%s", cases[i].name,
		          cases[i].msg, r.err);
		CHECK_MSG(strstr(r.err, at), "%s: report lacks '%s':\n%s", cases[i].name, at,
		          r.err);
		/* No other rule: the drivers release what they hold.  (Their requests move no
		 * data, so the workload's own R01 wrong-data results are expected beside it.) */
		unsigned rules = 0;
		for (const char *p = r.err; (p = strstr(p, "==dmacoh== ERROR: ")); p++)
			rules += strncmp(p + 18, "R0", 2) != 0;
		CHECK_MSG(rules == 1, "%s: %u rule findings:\n%s", cases[i].name, rules, r.err);
	}
}

#if defined(__SANITIZE_ADDRESS__)
#define DC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DC_ASAN 1
#endif
#endif

DC_TEST(memsafe_wild_stores_into_reservations_always_found)
{
#ifdef DC_ASAN
	/* The sanitizer's own shadow mappings would be among the targets. */
	return;
#else
	for (int seed = 1; seed <= 24; seed++) {
		static struct dct_run r;
		char sv[16];
		snprintf(sv, sizeof(sv), "%d", seed);
		setenv("MEM_WILD_SEED", sv, 1);
		setenv("MEM_WILD_N", "3", 1);
		CHECK(run_mem(&r, "mem_wild"));
		CHECK_MSG(r.status == 1, "seed %d: exit %d\n%s", seed, r.status, r.err);
		CHECK_MSG(strstr(r.err, "ERROR: M03") || strstr(r.err, "ERROR: X01") ||
		              strstr(r.err, "ERROR: A07"),
		          "seed %d: no finding for the wild store:\n%s", seed, r.err);
		CHECK_MSG(strstr(r.err, "tests/hostile/mem_wild.c:"),
		          "seed %d: no driver line:\n%s", seed, r.err);
	}
	unsetenv("MEM_WILD_SEED");
	unsetenv("MEM_WILD_N");
#endif
}

/* The M01 text of a reference [va, va + len) whose first bad byte is bad, with two live
 * allocations of 16 and 32 bytes at a and b (synthetic records, inside a real pool block). */
static void m01_between(struct dc_machine *m, const uint8_t *a, const uint8_t *b, const uint8_t *va,
                        uint32_t len, const uint8_t *bad, char *what, size_t wlen)
{
	struct dc_check_opts co;
	dc_check_opts_init(&co);
	struct dc_check *c = NULL;
	what[0] = 0;
	if (dc_check_create(m, &co, &c))
		return;
	struct dc_kev e = {.type = DC_KEV_POOL_ALLOC, .va = a, .len = 16};
	dc_memsafe_kev(c, &e);
	e.va = b;
	e.len = 32;
	dc_memsafe_kev(c, &e);
	static const char pc;
	dc_memsafe_fault(c, va, len, true, bad, DC_MEMF_REDZONE, &pc);
	if (dc_check_count(c) == 1)
		snprintf(what, wlen, "%s", dc_check_finding(c, 0)->what);
	dc_check_destroy(c);
}

DC_TEST(memsafe_m01_ties_broken_by_the_allocation_not_the_hash_order)
{
	/* A redzone byte as near to the end of one allocation as to the start of the next: the
	 * finding names the one the reference overflows from (as ASan does), whichever order the
	 * pointer-keyed table holds them in.  Each pair is asked both ways round, so that a walk
	 * order that favours either one fails one of them. */
	static struct faults f;
	struct dc_sys *s = sys_pc(&f);
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	uint8_t *p = ExAllocatePoolWithTag(NonPagedPool, 8192, 'tseT');
	CHECK(p);
	char what[240];
	for (unsigned k = 0; k < 64; k++) {
		uint8_t *a = p + 64 + 64 * k;
		/* a: [a, a+16), b: 32 bytes at a+17.  A 3-byte store from a's last 2 bytes: first
		 * bad byte a+16, 1 after a and 1 before b; it overflows from a, the lower one. */
		m01_between(m, a, a + 17, a + 14, 3, a + 16, what, sizeof(what));
		CHECK_MSG(strstr(what, "0 bytes after a 16-byte pool allocation"), "k %u: '%s'", k,
		          what);
		/* b at a+19: a 4-byte store into b's first 2 bytes: first bad byte a+17, 2 after a
		 * and 2 before b; it overflows into b, the higher one. */
		m01_between(m, a, a + 19, a + 17, 4, a + 17, what, sizeof(what));
		CHECK_MSG(strstr(what, "2 bytes before a 32-byte pool allocation"), "k %u: '%s'", k,
		          what);
		/* The same byte alone touches neither: the lower one. */
		m01_between(m, a, a + 19, a + 17, 1, a + 17, what, sizeof(what));
		CHECK_MSG(strstr(what, "1 bytes after a 16-byte pool allocation"), "k %u: '%s'", k,
		          what);
		/* The 16-byte one above the 32-byte one (at a+33, the 32 bytes at a): a 3-byte
		 * store from a+32 into it: 1 after the lower, 1 before the higher; it touches the
		 * higher. */
		m01_between(m, a + 33, a, a + 32, 3, a + 32, what, sizeof(what));
		CHECK_MSG(strstr(what, "1 bytes before a 16-byte pool allocation"), "k %u: '%s'", k,
		          what);
	}
	ExFreePoolWithTag(p, 'tseT');
	dc_sys_destroy(s);
}

/* The pool's table of live blocks follows the blocks live, not the blocks ever freed: a driver
 * that allocates a block per request (and frees it) must not grow dmacoh for as long as it
 * runs.  Lookups keep working across the rehashes (every free finds its block). */
DC_TEST(memsafe_pool_table_stays_bounded_under_churn)
{
	static struct faults f;
	struct dc_sys *s = sys_pc(&f);
	CHECK(s);
	void *held[64] = {0};
	for (unsigned i = 0; i < 40000; i++) {
		unsigned k = i % 64;
		if (held[k])
			ExFreePoolWithTag(held[k], 'nrhC');
		held[k] = ExAllocatePoolWithTag(NonPagedPool, 16 + (i % 7) * 100, 'nrhC');
		CHECK(held[k]);
	}
	CHECK_MSG(dc_pool_table_slots(s) <= 1024, "%zu slots for 64 live blocks",
	          dc_pool_table_slots(s));
	for (unsigned k = 0; k < 64; k++)
		ExFreePoolWithTag(held[k], 'nrhC');
	CHECK_EQ(f.n, 0);
	dc_sys_destroy(s);
}
