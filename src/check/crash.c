/* A driver that crashes is reported like a bug check: the signal handlers (on an alternate
 * stack, so a stack overflow is caught too) record an X01 finding at the faulting instruction,
 * with the driver frames of the shadow call stack (cpu.c) as call sites, write out everything
 * found so far and end the process with the status the tool asked for.  Symbolizing and
 * writing in a signal handler are not async-signal-safe; as ASan does, dmacoh accepts that,
 * and guards against a second fault while reporting (it then exits at once). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "check_int.h"
#include "hw/machine.h"

unsigned dc_cpu_callstack(const void **frames, unsigned max); /* cpu.c */

#define ALT_STACK (4u << 20)

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
static struct sigaction old_actions[DC_ARRAY_SIZE(crash_signals)];
static struct dc_check *crash_check;
static int crash_status;
static void *alt_stack;
static volatile sig_atomic_t in_handler;

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

void dc_check_crash(struct dc_check *c, int sig, const void *pc, const void *addr)
{
	dc_crash_record(c, sig, pc, addr, NULL);
}

void dc_crash_record(struct dc_check *c, int sig, const void *pc, const void *addr,
                     const char *bugcheck)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = DC_RULE_X01;
	f.severity = DC_SEV_ERROR;
	f.pc = pc;
	/* A signal's pc is the faulting instruction; a bug check's is the return address of
	 * the driver's call into the kernel (RA()), symbolized as the call (pc - 1). */
	f.exact_pc = !bugcheck;
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
	bool supp = c->n_supp > 0;
	size_t keep = c->n_supp;
	if (supp)
		c->n_supp = 0;
	uint32_t maxr = c->opts.max_reports;
	c->opts.max_reports = 0;
	dc_finding_add(c, &f);
	c->opts.max_reports = maxr;
	c->n_supp = keep;
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
		dc_check_crash(crash_check, sig, pc, si ? si->si_addr : NULL);
		dc_check_report(crash_check);
	}
	_exit(crash_status);
}

int dc_check_install_crash_handler(struct dc_check *c, int exit_status)
{
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
