/* A driver that crashes is reported like a bug check: the signal handlers (on an alternate
 * stack, so a stack overflow is caught too) record an X01 finding at the faulting instruction,
 * with the driver frames of the shadow call stack (cpu.c) as call sites, write out everything
 * found so far and end the process with the status the tool asked for.  Symbolizing and
 * writing in a signal handler are not async-signal-safe; as ASan does, dmacoh accepts that,
 * and guards against a second fault while reporting (it then exits at once). */
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "check_int.h"
#include "dmacoh/driver.h"
#include "hw/machine.h"

unsigned dc_cpu_callstack(const void **frames, unsigned max); /* cpu.c */

#define ALT_STACK (4u << 20)

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
static struct sigaction old_actions[DC_ARRAY_SIZE(crash_signals)];
static struct dc_check *crash_check;
static int crash_status;
static void *alt_stack;
static volatile sig_atomic_t in_handler;
static dc_check_stop_fn stop_fn;
static void *stop_opaque;
static unsigned watchdog_seconds;

void dc_check_set_stop(dc_check_stop_fn fn, void *opaque)
{
	stop_fn = fn;
	stop_opaque = opaque;
}

/* Code of a module dmacoh-cc built: it defines the marker symbol. */
static bool in_driver(const void *pc)
{
	Dl_info di;
	if (!pc || !dladdr(pc, &di) || !di.dli_fname || !di.dli_fbase)
		return false;
	void *h = dlopen(di.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return false;
	void *mark = dlsym(h, DMACOH_MODULE_MARKER);
	bool yes = false;
	Dl_info md;
	/* The marker of this module, not one its search scope finds elsewhere. */
	if (mark && dladdr(mark, &md))
		yes = md.dli_fbase == di.dli_fbase;
	dlclose(h);
	return yes;
}

/* Whether an exact pc has a source line: a signal can land in a module's PLT stub (a loop
 * calling __tsan_write* through it), which has none; its caller in the driver has. */
static bool has_line(const void *pc)
{
	char b[512];
	if (!crash_check)
		return true;
	dc_check_symbolize(crash_check, pc, true, b, sizeof(b));
	return strchr(b, ':') != NULL;
}

const void *dc_check_driver_pc(const void *pc, bool *exact)
{
	*exact = true;
	if (in_driver(pc) && has_line(pc))
		return pc;
	/* Unwind (the host's unwinder goes through the signal frame) to the first driver frame:
	 * a return address into the driver. */
	void *frames[128];
	int n = backtrace(frames, (int)DC_ARRAY_SIZE(frames));
	int from = 0;
	for (int i = 0; i < n; i++)
		if (frames[i] == pc)
			from = i + 1;
	for (int i = from; i < n; i++)
		if (in_driver(frames[i])) {
			*exact = false;
			return frames[i];
		}
	const void *shadow[1];
	*exact = false;
	return dc_cpu_callstack(shadow, 1) ? shadow[0] : pc;
}

/* The run ends here: the tool's stop function, else the report and the exit status. */
static void stop_run(void)
{
	if (stop_fn)
		stop_fn(stop_opaque);
	if (crash_check)
		dc_check_report(crash_check);
	_exit(crash_status);
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGABRT:
		return "SIGABRT";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	default:
		return NULL;
	}
}

static void crash_record(struct dc_check *c, int sig, const void *pc, bool exact, const void *addr,
                         const char *bugcheck);

void dc_check_crash(struct dc_check *c, int sig, const void *pc, const void *addr)
{
	crash_record(c, sig, pc, true, addr, NULL);
}

void dc_crash_record(struct dc_check *c, int sig, const void *pc, const void *addr,
                     const char *bugcheck)
{
	/* A bug check's pc is the return address of the driver's call into the kernel (RA()),
	 * symbolized as the call (pc - 1); a signal's is the faulting instruction. */
	crash_record(c, sig, pc, !bugcheck, addr, bugcheck);
	/* Windows stops at a bug check: nothing the driver does afterwards is reported. */
	if (bugcheck && stop_fn && c == crash_check)
		stop_run();
}

static dc_check_note_fn final_note_fn;
static void *final_note_opaque;

void dc_check_set_final_note(dc_check_note_fn fn, void *opaque)
{
	final_note_fn = fn;
	final_note_opaque = opaque;
}

/* Records a finding that ends the run: shown whatever the suppressions and max_reports, with
 * the tool's note (the driver's last DbgPrint lines) when it is the rule's first. */
static void add_final(struct dc_check *c, struct dc_finding *f)
{
	size_t keep = c->n_supp, n_ent = c->n_ent;
	c->n_supp = 0;
	uint32_t maxr = c->opts.max_reports;
	c->opts.max_reports = 0;
	dc_finding_add(c, f);
	c->opts.max_reports = maxr;
	c->n_supp = keep;
	struct dc_entry *e = c->n_ent > n_ent ? &c->ent[c->n_ent - 1] : NULL;
	if (!e || !final_note_fn || !(e->note = calloc(1, sizeof(*e->note))))
		return;
	e->note->win32 = -1;
	final_note_fn(final_note_opaque, e->note);
	dc_stream_note(c, (int)(c->n_ent - 1));
}

static void crash_record(struct dc_check *c, int sig, const void *pc, bool exact, const void *addr,
                         const char *bugcheck)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = DC_RULE_X01;
	f.severity = DC_SEV_ERROR;
	f.pc = pc;
	f.exact_pc = exact;
	f.time = c->m ? c->m->clock.now : 0;
	f.pa = DC_PA_INVALID;
	f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.count = 1;
	f.manifested = true;
	const void *frames[DC_FINDING_SITES];
	unsigned n = dc_cpu_callstack(frames, DC_FINDING_SITES);
	for (unsigned i = 0; i < n; i++)
		f.site[f.n_sites++] = (struct dc_site){"called from", frames[i], UINT64_MAX};
	char where[64];
	uint64_t shown = c->m ? dc_check_show_va(c, addr) : 0;
	if (shown)
		snprintf(where, sizeof(where), "address 0x%llx", (unsigned long long)shown);
	else if ((uintptr_t)addr < 65536)
		snprintf(where, sizeof(where), "address 0x%llx%s",
		         (unsigned long long)(uintptr_t)addr, addr ? "" : " (a NULL pointer)");
	else
		snprintf(where, sizeof(where), "a host address outside the simulated memory");
	const char *name = bugcheck ? NULL : sig_name(sig);
	const char *tail = n ? " {0}" : "";
	if (bugcheck)
		snprintf(f.what, sizeof(f.what), "bug check 0x%x (%s)%s", (unsigned)sig, bugcheck,
		         tail);
	else if (name && sig == SIGABRT)
		snprintf(f.what, sizeof(f.what), "%s: the driver aborted%s", name, tail);
	else if (name)
		snprintf(f.what, sizeof(f.what), "%s on %s%s", name, where, tail);
	else
		snprintf(f.what, sizeof(f.what), "bug check 0x%x%s", (unsigned)sig, tail);
	/* A crash is always shown: it is what ends the run. */
	add_final(c, &f);
}

static void handler(int sig, siginfo_t *si, void *uctx)
{
	if (in_handler)
		_exit(crash_status);
	in_handler = 1;
	const void *pc = NULL;
	const ucontext_t *uc = uctx;
#if defined(__x86_64__)
	pc = (const void *)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	pc = (const void *)uc->uc_mcontext.pc;
#else
	(void)uc;
#endif
	if (crash_check) {
		bool exact;
		const void *at = dc_check_driver_pc(pc, &exact);
		crash_record(crash_check, sig, at, exact, si ? si->si_addr : NULL, NULL);
	}
	stop_run();
}

/* --- The host watchdog's signal ----------------------------------------------------------- */

volatile sig_atomic_t dc_crash_pending;
static const void *pending_pc;
static bool pending_exact;

/* Raises the host watchdog's X02 (pc: where the driver was when the signal came). */
static void watchdog_fire(const void *pc, bool exact)
{
	in_handler = 1;
	struct dc_check *c = crash_check;
	if (c) {
		struct dc_finding f;
		memset(&f, 0, sizeof(f));
		f.rule = DC_RULE_X02;
		f.severity = DC_SEV_ERROR;
		f.pc = pc;
		f.exact_pc = exact;
		f.time = c->m ? c->m->clock.now : 0;
		f.pa = f.logical = DC_PA_INVALID;
		f.dir = -1;
		f.manifested = true;
		snprintf(f.what, sizeof(f.what),
		         "the driver ran for %u s of host time without returning (host watchdog)",
		         watchdog_seconds);
		add_final(c, &f);
	}
	stop_run();
}

/* Called when the outermost change to the findings or the stream ends (findings.c, stream.c)
 * or the driver returns to the kernel, with a watchdog signal pending. */
void dc_crash_raise_pending(void)
{
	if (!dc_crash_pending || dc_chk_busy || in_handler)
		return;
	dc_crash_pending = 0;
	watchdog_fire(pending_pc, pending_exact);
}

static void watchdog(int sig, siginfo_t *si, void *uctx)
{
	(void)sig, (void)si;
	if (in_handler || dc_crash_pending)
		return;
	const ucontext_t *uc = uctx;
	const void *pc = NULL;
#if defined(__x86_64__)
	pc = (const void *)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	pc = (const void *)uc->uc_mcontext.pc;
#else
	(void)uc;
#endif
	bool exact = false;
	pc = dc_check_driver_pc(pc, &exact);
	if (dc_chk_busy) {
		/* Inside the checker (findings tables or a stream record): not re-entrant.  The X02
		 * is raised when it leaves; a checker that never leaves is killed by the parent. */
		pending_pc = pc;
		pending_exact = exact;
		dc_crash_pending = 1;
		return;
	}
	watchdog_fire(pc, exact);
}

void dc_cpu_set_return_hook(void (*fn)(void)); /* cpu.c */

/* The driver returned to the kernel: a heartbeat to the supervisor, which measures the host
 * watchdog from the last one (at most one each 100 ms: a coarse clock read per return). */
static int64_t last_beat_ms = INT64_MIN / 2;

static void driver_returned(void)
{
	if (dc_crash_pending)
		dc_crash_raise_pending();
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	int64_t ms = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
	if (ms - last_beat_ms < 100)
		return;
	last_beat_ms = ms;
	if (crash_check)
		dc_check_stream_write(crash_check, DC_STREAM_BEAT, NULL, 0);
}

void dc_cpu_set_watchdog(uint64_t limit, void (*fn)(const void *pc, uint64_t n)); /* cpu.c */

/* A simulated watchdog fired (pc: a return address into the driver): X02 with the message
 * `what` ends the run. */
static void watchdog_x02(const void *pc, const char *what)
{
	struct dc_check *c = crash_check;
	if (!c || in_handler)
		return;
	in_handler = 1;
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = DC_RULE_X02;
	f.severity = DC_SEV_ERROR;
	f.pc = pc;
	f.time = c->m ? c->m->clock.now : 0;
	f.pa = f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.manifested = true;
	snprintf(f.what, sizeof(f.what), "%s", what);
	add_final(c, &f);
	stop_run();
}

/* Too many accesses without returning to the kernel or waiting; pc is the last one. */
static void access_watchdog(const void *pc, uint64_t n)
{
	char what[160];
	snprintf(what, sizeof(what),
	         "the driver ran for %llu instrumented accesses without returning or waiting "
	         "(simulated watchdog)",
	         (unsigned long long)n);
	watchdog_x02(pc, what);
}

void dc_cpu_set_sim_watchdog(uint64_t ns, void (*fn)(const void *pc, uint64_t ns)); /* cpu.c */

/* The driver stalled (KeStallExecutionProcessor) for more than DC_SIM_WATCHDOG_NS since it was
 * entered or last waited; pc is its call. */
static void sim_watchdog(const void *pc, uint64_t ns)
{
	char what[160];
	snprintf(what, sizeof(what),
	         "the driver ran for %llu ms of simulated time without returning or waiting "
	         "(simulated-time watchdog)",
	         (unsigned long long)(ns / 1000000));
	watchdog_x02(pc, what);
}

void dc_check_set_access_watchdog(uint64_t accesses)
{
	dc_cpu_set_watchdog(accesses, accesses ? access_watchdog : NULL);
	/* Both simulated watchdogs go together: supervised runs. */
	dc_cpu_set_sim_watchdog(DC_SIM_WATCHDOG_NS, accesses ? sim_watchdog : NULL);
}

int dc_check_install_watchdog(struct dc_check *c, unsigned seconds)
{
	(void)c;
	watchdog_seconds = seconds;
	dc_cpu_set_return_hook(seconds ? driver_returned : NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = watchdog;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR2, &sa, NULL) == 0 ? DC_OK : DC_ERR_IO;
}

/* --- A driver that tries to end the process (dmacoh-cc renames the calls) ---------------- */

static _Noreturn void driver_exit(const char *fn, int status, bool with_status, const void *ra)
{
	struct dc_check *c = crash_check;
	if (c && !in_handler) {
		in_handler = 1;
		struct dc_finding f;
		memset(&f, 0, sizeof(f));
		f.rule = DC_RULE_X03;
		f.severity = DC_SEV_ERROR;
		f.pc = ra;
		f.time = c->m ? c->m->clock.now : 0;
		f.pa = f.logical = DC_PA_INVALID;
		f.dir = -1;
		f.manifested = true;
		if (with_status)
			snprintf(f.what, sizeof(f.what), "the driver called %s(%d)", fn, status);
		else
			snprintf(f.what, sizeof(f.what), "the driver called %s()", fn);
		add_final(c, &f);
		stop_run();
	}
	/* No checker watching (a library user): what the driver asked for. */
	if (!with_status)
		abort();
	if (!strcmp(fn, "exit"))
		exit(status);
	if (!strcmp(fn, "quick_exit"))
		quick_exit(status);
	_exit(status);
}

#define RA() __builtin_return_address(0)
void __dc_exit(int status);
void __dc_exit(int status)
{
	driver_exit("exit", status, true, RA());
}
void __dc__exit(int status);
void __dc__exit(int status)
{
	driver_exit("_exit", status, true, RA());
}
void __dc__Exit(int status);
void __dc__Exit(int status)
{
	driver_exit("_Exit", status, true, RA());
}
void __dc_quick_exit(int status);
void __dc_quick_exit(int status)
{
	driver_exit("quick_exit", status, true, RA());
}
void __dc_abort(void);
void __dc_abort(void)
{
	driver_exit("abort", 0, false, RA());
}

/* --- Results of the workload ---------------------------------------------------------------- */

void dc_check_add_result(struct dc_check *c, enum dc_rule rule, const void *pc, bool exact,
                         uint64_t time, const char *what)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = rule;
	f.severity = dc_rule_info(rule)->severity;
	f.pc = pc;
	f.exact_pc = exact;
	f.time = time;
	f.pa = f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.manifested = true;
	snprintf(f.what, sizeof(f.what), "%s", what);
	dc_finding_add(c, &f);
}

void dc_check_add_irp_result(struct dc_check *c, enum dc_rule rule, const void *pc, bool exact,
                             uint64_t time, const char *what, const struct dc_irp_note *note)
{
	size_t n_ent = c->n_ent;
	dc_check_add_result(c, rule, pc, exact, time, what);
	if (!note || c->n_ent == n_ent)
		return; /* a repeat (or not kept): the first occurrence's note stays */
	struct dc_entry *e = &c->ent[c->n_ent - 1];
	if (e->suppressed || !(e->note = malloc(sizeof(*e->note))))
		return;
	*e->note = *note;
	dc_stream_note(c, (int)(c->n_ent - 1));
}

const struct dc_irp_note *dc_check_finding_note(const struct dc_check *c, size_t i)
{
	return i < c->n_vis ? c->ent[c->vis[i]].note : NULL;
}

const char *dc_irp_major_name(unsigned major, char *buf, size_t len)
{
	static const char *const names[] = {"IRP_MJ_CREATE",
	                                    "IRP_MJ_CREATE_NAMED_PIPE",
	                                    "IRP_MJ_CLOSE",
	                                    "IRP_MJ_READ",
	                                    "IRP_MJ_WRITE",
	                                    "IRP_MJ_QUERY_INFORMATION",
	                                    "IRP_MJ_SET_INFORMATION",
	                                    "IRP_MJ_QUERY_EA",
	                                    "IRP_MJ_SET_EA",
	                                    "IRP_MJ_FLUSH_BUFFERS",
	                                    "IRP_MJ_QUERY_VOLUME_INFORMATION",
	                                    "IRP_MJ_SET_VOLUME_INFORMATION",
	                                    "IRP_MJ_DIRECTORY_CONTROL",
	                                    "IRP_MJ_FILE_SYSTEM_CONTROL",
	                                    "IRP_MJ_DEVICE_CONTROL",
	                                    "IRP_MJ_INTERNAL_DEVICE_CONTROL",
	                                    "IRP_MJ_SHUTDOWN",
	                                    "IRP_MJ_LOCK_CONTROL",
	                                    "IRP_MJ_CLEANUP",
	                                    "IRP_MJ_CREATE_MAILSLOT",
	                                    "IRP_MJ_QUERY_SECURITY",
	                                    "IRP_MJ_SET_SECURITY",
	                                    "IRP_MJ_POWER",
	                                    "IRP_MJ_SYSTEM_CONTROL",
	                                    "IRP_MJ_DEVICE_CHANGE",
	                                    "IRP_MJ_QUERY_QUOTA",
	                                    "IRP_MJ_SET_QUOTA",
	                                    "IRP_MJ_PNP"};
	if (major < DC_ARRAY_SIZE(names))
		return names[major];
	snprintf(buf, len, "IRP_MJ_0x%02x", major);
	return buf;
}

int dc_check_install_crash_handler(struct dc_check *c, int exit_status)
{
	/* The unwinder loads on first use: not inside a handler. */
	void *warm[2];
	(void)backtrace(warm, 2);
	if (!alt_stack) {
		/* Symbolizing (libdw) and writing the report need a real stack: a large one, in
		 * its own mapping with a guard page below it, so an overflow faults instead of
		 * overwriting the findings. */
		alt_stack = mmap(NULL, ALT_STACK + DC_PAGE_SIZE, PROT_READ | PROT_WRITE,
		                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (alt_stack == MAP_FAILED) {
			alt_stack = NULL;
			return DC_ERR_NOMEM;
		}
		mprotect(alt_stack, DC_PAGE_SIZE, PROT_NONE);
		stack_t ss = {.ss_sp = (char *)alt_stack + DC_PAGE_SIZE, .ss_size = ALT_STACK};
		if (sigaltstack(&ss, NULL) != 0) {
			munmap(alt_stack, ALT_STACK + DC_PAGE_SIZE);
			alt_stack = NULL;
			return DC_ERR_IO;
		}
	}
	/* Let the symbolizer read the process before anything can go wrong. */
	dc_sym_lookup(c, (const void *)(uintptr_t)dc_check_install_crash_handler, true);
	crash_check = c;
	crash_status = exit_status;
	for (size_t i = 0; i < DC_ARRAY_SIZE(crash_signals); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		if (sigaction(crash_signals[i], &sa, &old_actions[i]) != 0)
			return DC_ERR_IO;
	}
	return DC_OK;
}

void dc_check_uninstall_crash_handler(void)
{
	if (!crash_check)
		return;
	for (size_t i = 0; i < DC_ARRAY_SIZE(crash_signals); i++)
		sigaction(crash_signals[i], &old_actions[i], NULL);
	crash_check = NULL;
}
