/* The coherency sanitizer (DESIGN §5): an observer of one machine that keeps the *contract
 * shadow* — per physical line, and per byte where transfers begin and end, what the Windows DMA
 * contract allows at this moment ("the CPU wrote since the last flush covering it", "the CPU
 * touched it, it may be cached", "owned by in-flight transfer #n", "the device wrote since the
 * CPU last synchronised") — and judges every CPU access, device access and kernel event
 * (observer.h) against it.  A broken rule is a *finding*: judged on the contract alone, so the
 * same event sequence gives the same findings on every platform, seed and adversary; only
 * `manifested` (did data actually get corrupted on this machine) depends on the real caches.
 *
 * The checker only watches: it never changes the machine (it reads memory and the cache's tags
 * through const paths).  It never prints or exits by itself: reports are written when asked
 * (dc_check_report), and the crash handler, installed only on the tool's request, writes what
 * was found and ends the process.
 *
 * Addresses in reports are deterministic: a cached-window address is shown as
 * DC_CHECK_CACHED_BASE + its offset in the window, an uncached one as DC_CHECK_UNCACHED_BASE +
 * its physical address (host pointers change from run to run; these do not).
 *
 * Not done: several machines per checker, several host threads, judging the contents of data
 * (only who wrote what, when). */
#ifndef DMACOH_CHECK_H
#define DMACOH_CHECK_H

#include <stdio.h>

#include "dmacoh/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_machine;
struct dc_check;

#define DC_CHECK_CACHED_BASE UINT64_C(0xffff800000000000)
#define DC_CHECK_UNCACHED_BASE UINT64_C(0xffffc00000000000)

enum dc_severity {
	DC_SEV_WARNING,
	DC_SEV_ERROR,
};
const char *dc_severity_name(enum dc_severity s);

/* Stable rule IDs (DESIGN §5.2).  C: coherency, A: DMA API misuse, M: simulated kernel memory
 * (Special Pool's class), X: the driver crashed, hung or tried to end the process, R: what the
 * workload saw (wrong data, hung or failed IRPs) — results, so that JSON and SARIF carry them;
 * V: the DMA version 3 contract (wdm-dma-spec §3); S: several processors (races between
 * execution contexts, decided by happens-before as ThreadSanitizer does). */
enum dc_rule {
	DC_RULE_C01, /* stale-device-read */
	DC_RULE_C02, /* dma-over-cached-line */
	DC_RULE_C03, /* cpu-access-during-dma */
	DC_RULE_C04, /* stale-cpu-read */
	DC_RULE_C05, /* cacheline-sharing */
	DC_RULE_C06, /* pio-read-not-flushed */
	DC_RULE_C07, /* missing-adapter-flush */
	DC_RULE_C08, /* flush-result-ignored */
	DC_RULE_A01,
	DC_RULE_A02,
	DC_RULE_A03,
	DC_RULE_A04,
	DC_RULE_A05,
	DC_RULE_A06,
	DC_RULE_A07,
	DC_RULE_A08,
	DC_RULE_A09,
	DC_RULE_A10,
	DC_RULE_A11,
	DC_RULE_A12, /* map-refused */
	DC_RULE_A13, /* transfer-coverage */
	DC_RULE_M01, /* pool-out-of-bounds */
	DC_RULE_M02, /* use-after-free */
	DC_RULE_M03, /* unmapped-kernel-address */
	DC_RULE_X01, /* driver-crash */
	DC_RULE_X02, /* driver-hang */
	DC_RULE_X03, /* driver-exit */
	DC_RULE_R01, /* wrong-data: a result of the workload, not of a rule */
	DC_RULE_R02, /* irp-hung */
	DC_RULE_R03, /* irp-failed */
	/* DMA operations version 3 (src/check/v3.c): rules of the v3 contract, judged only on
	 * adapters from DEVICE_DESCRIPTION_VERSION3. */
	DC_RULE_V01, /* v3-missing-flush */
	DC_RULE_V02, /* v3-flush-mismatch */
	DC_RULE_V03, /* v3-cpu-access-during-dma */
	DC_RULE_V04, /* v3-partial-map-skipped */
	DC_RULE_V05, /* v3-status-ignored */
	DC_RULE_V06, /* v3-adapter-object-held */
	DC_RULE_V07, /* v3-cached-common-buffer */
	DC_RULE_V08, /* v3-mixed-routines */
	/* Several processors (src/check/race.c, kev.c): races between execution contexts. */
	DC_RULE_S01, /* data-race */
	DC_RULE_S02, /* irp-touched-after-completion */
	DC_RULE_S03, /* map-register-base-before-grant */
	/* Spin locks on several processors (src/kernel/ke.c, sched.c; issue 17). */
	DC_RULE_L01, /* spin-lock-self-deadlock */
	DC_RULE_L02, /* lock-order-inversion */
	DC_RULE_COUNT
};

struct dc_rule_info {
	const char *id;   /* "C01" */
	const char *name; /* "stale-device-read" */
	enum dc_severity severity;
	const char *guideline;  /* "G1, G2" (wdm-dma-spec §2) */
	const char *dv;         /* Driver Verifier bug check 0xE6 codes, "" if none */
	const char *summary;    /* when it fires, one line */
	const char *message;    /* the fixed form of its message line */
	const char *details;    /* why it matters */
	const char *manifested; /* what `manifested: yes` means for this rule */
	const char *fix;        /* what a correct driver does */
	const char *bugcheck;   /* the Windows bug check when not 0xE6 ("0xD6 ..."), NULL: none */
};
const struct dc_rule_info *dc_rule_info(enum dc_rule r);
/* A rule by ID ("C01", any case) or name ("stale-device-read"); DC_ERR_NOTFOUND otherwise. */
int dc_rule_find(const char *id_or_name);

enum dc_report_format {
	DC_FMT_TEXT,
	DC_FMT_JSON,
	DC_FMT_SARIF,
};
const char *dc_report_format_name(enum dc_report_format f);

/* DMACOH_OPTIONS, as ASAN_OPTIONS: key=value pairs separated by ':' or spaces. */
struct dc_check_opts {
	bool halt_on_error;   /* the first error (not suppressed) sets dc_check_halted() */
	uint32_t max_reports; /* distinct findings kept and written (0: no limit) */
	enum dc_report_format format;
	char log_path[1024];     /* write the report there ("": stderr) */
	char suppressions[1024]; /* suppressions file ("": none) */
	bool alignment_warnings; /* C05 warnings for from-device buffers that split a line */
	bool dbgprint;           /* the tool shows the driver's DbgPrint output as it comes */
};
/* Defaults: no halt, no limit, text to stderr, no suppressions, alignment warnings on. */
void dc_check_opts_init(struct dc_check_opts *o);
/* Applies text (DMACOH_OPTIONS syntax) over *o.  Keys: halt_on_error, max_reports, format
 * (text|json|sarif), log_path, suppressions, alignment_warnings, dbgprint.  On error *o is
 * unchanged, DC_ERR_PARSE is returned and err holds one line ("DMACOH_OPTIONS: ...: what is
 * wrong"). */
int dc_check_opts_parse(struct dc_check_opts *o, const char *text, char *err, size_t errlen);

/* Attaches a checker to m (o NULL: defaults).  Errors: DC_ERR_NOMEM, DC_ERR_BUSY (the machine
 * has no free observer slot), DC_ERR_IO / DC_ERR_PARSE (suppressions file; the message, in the
 * form "file:line: what is wrong", goes to err when err is not NULL).  On error nothing is left
 * attached or allocated. */
int dc_check_create(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out);
int dc_check_create_err(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out,
                        char *err, size_t errlen);
/* Detaches and frees (no report is written: call dc_check_report first). */
void dc_check_destroy(struct dc_check *c);

/* Parses a suppressions file's text: lines `rule:pattern` (rule: ID, name or *; pattern: a
 * function or source file name, * matches any run of characters), '#' comments, blank lines.
 * For tests and the tool; dc_check_create loads opts->suppressions itself. */
int dc_check_suppressions_parse(struct dc_check *c, const char *text, const char *name, char *err,
                                size_t errlen);

/* --- Findings --------------------------------------------------------------------------- */

/* A related call site: "mapped at", "last written by the CPU at", "completed at". */
struct dc_site {
	const char *label;
	const void *pc; /* return address into the driver (or the faulting instruction) */
	uint64_t time;  /* simulated ns */
};

#define DC_FINDING_SITES 3

/* One finding: the first occurrence's details, and how often rule + pc occurred. */
struct dc_finding {
	enum dc_rule rule;
	enum dc_severity severity;
	unsigned device;  /* devices numbered by first appearance (1, 2, ...), 0: none */
	uint64_t xfer;    /* transfer id (0: none) */
	uint64_t va;      /* shown form (see above), 0: none */
	uint64_t pa;      /* DC_PA_INVALID: none */
	uint64_t logical; /* DC_PA_INVALID: none */
	uint64_t len;     /* bytes of the range */
	int dir;          /* enum dc_dir, -1: none */
	uint64_t bytes;   /* bytes affected */
	const void *pc;   /* the violating access or call */
	bool exact_pc;    /* pc is the instruction itself (a crash), not a return address */
	struct dc_site site[DC_FINDING_SITES];
	unsigned n_sites;
	uint64_t time;
	bool manifested;
	uint64_t count;
	char what[240]; /* the message after "ID name: ", with {0}.. for "[site at loc]" */
};

/* Distinct findings kept (suppressed ones are not kept), in order of first occurrence. */
size_t dc_check_count(const struct dc_check *c);
const struct dc_finding *dc_check_finding(const struct dc_check *c, size_t i);
/* Occurrences of a rule (counts included, suppressed excluded). */
uint64_t dc_check_rule_hits(const struct dc_check *c, enum dc_rule r);
uint64_t dc_check_suppressed(const struct dc_check *c);
/* Errors (not warnings) found, counts included. */
uint64_t dc_check_errors(const struct dc_check *c);
/* halt_on_error asked the run to stop: the runner polls this. */
bool dc_check_halted(const struct dc_check *c);

/* The finding's message line "C07 missing-adapter-flush: ..." with its sites symbolized. */
size_t dc_check_message(struct dc_check *c, const struct dc_finding *f, char *buf, size_t len);
/* "file:line:function" of a pc (a return address unless exact), or "module+0xoff", or "?". */
size_t dc_check_symbolize(struct dc_check *c, const void *pc, bool exact, char *buf, size_t len);

/* Writes every finding and a summary in the given format.  DC_ERR_IO if writing failed. */
int dc_check_write(struct dc_check *c, FILE *f, enum dc_report_format fmt);
/* Writes the report as the options say (log_path or stderr, format). */
int dc_check_report(struct dc_check *c);

/* Records a crash of driver code (signal sig at pc, fault address addr) as an X01 finding. */
void dc_check_crash(struct dc_check *c, int sig, const void *pc, const void *addr);
/* Installs SIGSEGV/SIGBUS/SIGABRT/SIGFPE/SIGILL handlers on an alternate stack: a crash is
 * recorded (dc_check_crash), the report written (dc_check_report), and the process ends with
 * _exit(exit_status).  For tools only; one checker at a time.  DC_ERR_NOMEM / DC_ERR_IO. */
int dc_check_install_crash_handler(struct dc_check *c, int exit_status);
void dc_check_uninstall_crash_handler(void);

/* --- Supervised runs (docs/supervise.md) ----------------------------------------------------- */

/* A record on a findings stream: this header, then len bytes. */
struct dc_stream_hdr {
	uint32_t type, len;
};
#define DC_STREAM_TOOL 100 /* record types from here on are the tool's own */
#define DC_STREAM_BEAT 99  /* the driver returned to the kernel (at most every 100 ms) */
/* From now on every change to c's findings is also written to fd (one checker per process). */
void dc_check_stream_to(struct dc_check *c, int fd);
/* Writes one record on c's stream.  DC_ERR_IO if c does not stream or writing failed. */
int dc_check_stream_write(struct dc_check *c, uint32_t type, const void *p, size_t n);
/* Applies a record read from a stream to c (the supervisor's copy): DC_OK, DC_ERR_PARSE
 * (malformed), DC_ERR_NOTFOUND (a tool record: not the checker's). */
int dc_check_stream_apply(struct dc_check *c, uint32_t type, const void *p, size_t n);

/* What ends a run from inside (a crash, a bug check, a driver's exit(), the watchdog): called
 * after the finding is recorded, in place of writing the report and exiting; it must not
 * return (NULL: the crash handler writes the report and exits, a bug check continues). */
typedef void (*dc_check_stop_fn)(void *opaque);
void dc_check_set_stop(dc_check_stop_fn fn, void *opaque);
/* Installs the watchdog signal's handler (SIGUSR2): it records X02 driver-hang at the driver
 * code that was running (the signal context's pc, else the innermost driver frame) and stops
 * the run as a crash does; seconds is the host watchdog's limit (for the message). */
int dc_check_install_watchdog(struct dc_check *c, unsigned seconds);
/* The simulated watchdog: a driver that makes more than `accesses` instrumented loads and
 * stores without returning to the kernel or waiting is reported as X02 at the last one and the
 * run stops as at a crash (0: off).  Needs the crash handler's checker (install it first). */
void dc_check_set_access_watchdog(uint64_t accesses);
#define DC_ACCESS_WATCHDOG_DEFAULT (UINT64_C(1) << 28)
/* With it (accesses != 0), the simulated-time watchdog: a driver that busy-waits
 * (KeStallExecutionProcessor) for more than this many simulated ns since the kernel called it
 * or it last waited is reported as X02 at its stall call.  20 s: Windows' DPC watchdog allows
 * a single DPC about that much before bug check 0x133; no correct driver stalls that long. */
#define DC_SIM_WATCHDOG_NS (UINT64_C(20) * 1000000000)
/* The driver location to blame for a signal at pc: pc itself when it is in an instrumented
 * module (*exact = true), else the innermost driver frame of the stack (return address). */
const void *dc_check_driver_pc(const void *pc, bool *exact);
/* Records a result of the workload (R01 wrong data, R02 hung IRP, R03 failed IRP or routine)
 * at pc (NULL: no driver location), with what as the message. */
void dc_check_add_result(struct dc_check *c, enum dc_rule rule, const void *pc, bool exact,
                         uint64_t time, const char *what);

/* What a report shows about the IRP of a workload result (R02 hung, R03 failed), besides its
 * message: the IRP, its status, and the driver's last DbgPrint lines before the workload saw it
 * (oldest first). */
#define DC_NOTE_LINES 5
#define DC_NOTE_LINE 240
struct dc_irp_note {
	uint64_t irp;  /* 1-based number in the workload, 0: not an IRP of the workload */
	uint8_t major; /* IRP_MJ_* */
	uint64_t offset, length;
	bool has_status;      /* completed: status is its IoStatus.Status */
	int32_t status;       /* NTSTATUS */
	char status_name[48]; /* "STATUS_..." or "" when unknown */
	int64_t win32;        /* the Win32 error GetLastError would give, -1: not known */
	unsigned n_lines;
	uint64_t line_seq[DC_NOTE_LINES], line_time[DC_NOTE_LINES]; /* number in the run, sim ns */
	char line[DC_NOTE_LINES][DC_NOTE_LINE];
};
/* dc_check_add_result, and the note kept with the finding when the result is the finding's
 * first occurrence (repeats only count, as every finding's do).  A note with irp 0 is about a
 * routine (DriverEntry, START_DEVICE), not an IRP of the workload: only its lines are shown. */
void dc_check_add_irp_result(struct dc_check *c, enum dc_rule rule, const void *pc, bool exact,
                             uint64_t time, const char *what, const struct dc_irp_note *note);
/* Fills the note of a finding that ends the run (X01, X02, X03), e.g. with the driver's last
 * DbgPrint lines; called in the crash or watchdog handler (NULL: no note). */
typedef void (*dc_check_note_fn)(void *opaque, struct dc_irp_note *n);
void dc_check_set_final_note(dc_check_note_fn fn, void *opaque);
/* The note of finding i (dc_check_finding's numbering), NULL if it has none. */
const struct dc_irp_note *dc_check_finding_note(const struct dc_check *c, size_t i);
/* "IRP_MJ_READ" for an IRP_MJ_* code, "IRP_MJ_0x1f" style text in buf for others. */
const char *dc_irp_major_name(unsigned major, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
