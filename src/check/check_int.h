/* Inside the sanitizer: the checker object shared by its files.
 *   shadow.c     the contract shadow: per physical page, byte and line bitmaps (sparse, two
 *                levels), plus what the real caches did that matters for `manifested`
 *   check.c      the observer's table and life cycle, the finding template, record look-ups
 *   xfer.c       open transfers, synchronisation, judging CPU, cache and device accesses
 *   kev.c        kernel events and the rules they break (chk.h: what these three share)
 *   findings.c   findings: deduplication, suppressions, halt_on_error, max_reports
 *   report.c     text, JSON and SARIF reports
 *   symbolize.c  pc -> file:line:function with elfutils libdw (cached)
 *   options.c    DMACOH_OPTIONS and suppressions files
 *   crash.c      the crash handler
 * Nothing here is part of the public API (include/dmacoh/check.h). */
#ifndef DC_CHECK_INT_H
#define DC_CHECK_INT_H

#include <signal.h>

#include "dmacoh/check.h"
#include "dmacoh/observer.h"

struct dc_machine;

/* --- The contract shadow of one 4 KiB physical page ------------------------------------- */

#define DC_SH_WORDS (DC_PAGE_SIZE / 64) /* byte bitmaps: 64 words */
#define DC_SH_LWORDS 8                  /* line bitmaps: up to 512 lines (8-byte lines) */

/* Real-cache facts per line (ext->mf), kept only to decide `manifested`. */
#define DC_MF_DEV_READ_STALE 0x01u /* the device read bytes older than the CPU's dirty copy */
#define DC_MF_OVERWRITTEN 0x02u    /* a pre-DMA cached copy was written back over device data */
#define DC_MF_CPU_READ_STALE 0x04u /* the CPU read bytes from a pre-DMA cached copy */

/* What only pages with DMA history need. */
struct dc_pext {
	uint64_t d[DC_SH_WORDS];  /* bytes the device wrote since the CPU last synchronised */
	uint64_t pr[DC_SH_WORDS]; /* of those, bytes the CPU had read since that sync (polled) */
	uint64_t stale[DC_SH_LWORDS]; /* lines whose cached copy predates a device write (real) */
	uint8_t *mf;                  /* per line: DC_MF_* */
	uint32_t *cand;               /* per line: finding (index + 1) that a manifestation marks */
	uint32_t *stamp;              /* per line: the last device write's (dc_race_dev_write) */
	uint32_t *fseq;               /* per line: its last flush's dc_race_dev_flush_seq */
};

struct dc_pshadow {
	uint64_t w[DC_SH_WORDS];  /* bytes the CPU wrote since the last flush covering them */
	uint64_t t[DC_SH_LWORDS]; /* lines the CPU touched since the last flush (may be cached) */
	uint64_t pw[DC_SH_WORDS]; /* bytes driver code wrote since KeFlushIoBuffers(read) (C06) */
	uint64_t r[DC_SH_WORDS];  /* bytes the CPU read since the last flush covering them */
	uint32_t owned;           /* pieces of open transfers on this page */
	uint32_t fseq; /* the last flush of a part of it (dc_pext.fseq before there is one) */
	bool watch;    /* the slow path must look: owned, device bytes, stale lines */
	struct dc_pext *ext;
	const void **wpc;        /* per line: the last driver instruction that wrote it */
	const void **tpc;        /* per line: the last driver instruction that touched it */
	struct dc_pshadow *next; /* every page shadow, for freeing (dc_check.shadows) */
};

/* --- Kernel-side state the rules need ----------------------------------------------------- */

/* A piece of a transfer by bus address: [lo, hi) is pieces[i]'s. */
struct dc_lpiece {
	uint64_t lo, hi;
	uint32_t i;
};

struct dc_xfer {
	uint64_t id, group; /* group: first transfer of a scatter/gather MapTransfer chain */
	enum dc_dir dir;
	bool sg, common, c01, c02, c07, alignment;
	const void *adapter, *mdl, *mrb, *sgl, *irp, *va;
	int64_t va_off; /* CurrentVa's offset in the MDL (-1: outside) */
	uint64_t len, len_out;
	const void *map_pc;
	uint64_t map_time;
	unsigned device;
	struct dc_kev_piece *pieces;
	uint32_t n_pieces;
	uint32_t *lbase;          /* per piece: index of its first line in `pre` */
	struct dc_lpiece *lorder; /* the pieces by logical address (xfer.c, order_pieces) */
	uint32_t nlines;
	uint64_t
	    *pre; /* lines dirty (to-device) / touched (from-device) at map, not flushed since */
	uint32_t cap_pieces, cap_pre; /* allocated: pieces (lbase: + 1), pre words (xfer pool) */
	bool pre_live;                /* a bit was set in `pre` at map time (else it stays 0) */
	uint64_t issued, landed;      /* device write bytes issued / landed in memory */
	int c03;                      /* C03 finding (index) whose race may still happen, -1 */
	uint64_t c03_lo, c03_hi;
	bool v3; /* mapped by a version 3 routine (MapTransferEx, Get/BuildScatterGatherListEx) */
	bool lsorted; /* lorder's pieces do not overlap, none empty: dc_chk_xfer_at applies */
};

struct dc_adapter {
	const void *ptr, *device;
	unsigned dev_no;
	bool master, sg, put, leak_reported;
	const void *put_pc;
	uint32_t nmr;
	uint64_t allocs, controls; /* AllocateAdapterChannel calls granted, AdapterControls run */
	uint64_t held_ctl;         /* the AdapterControl (number) holding the channel, 0: none */
	bool map_refused;          /* an A12 since the channel or registers were last released */
	bool v3;                   /* DEVICE_DESCRIPTION_VERSION3 */
};

struct dc_mrb {
	const void *adapter, *mrb;
	uint32_t count;
	bool allocated, with_channel, freed;
	uint64_t last_flushed; /* last transfer flushed on it */
	const void *flush_pc, *free_pc;
	uint64_t flush_time, free_time;
};

struct dc_common {
	const void *adapter, *va;
	uint64_t len, logical;
	bool cached, freed;
	const void *pc, *free_pc;
	struct dc_kev_piece *pieces;
	uint32_t n_pieces;
	bool v3; /* from a version 3 allocator (AllocateCommonBufferEx, ...) */
};

/* Bytes of an IRP's buffer one transfer mapped (A13), as offsets into the buffer. */
struct dc_span {
	uint64_t off, len;
	const void *pc; /* the MapTransfer / GetScatterGatherList */
	uint64_t time;
	bool v3; /* by MapTransferEx: a re-map of bytes mapped before is V04's to judge */
};

struct dc_irp {
	const void *irp, *mdl;
	int64_t major;
	uint64_t len;
	struct dc_kev_piece *pieces;
	uint32_t n_pieces;
	struct dc_span *spans; /* what transfers mapped of its buffer, in map order */
	size_t n_spans, cap_spans;
};

struct dc_failed_flush {
	const void *mdl, *pc;
	uint64_t time;
	bool v3;        /* FlushAdapterBuffersEx */
	int completion; /* -1: a failed flush; else the DMA_COMPLETION_STATUS a routine got */
};

/* v3.c: a MapTransferEx that mapped less than asked; the next one on the MDL continues at end. */
struct dc_v3part {
	const void *adapter, *mdl;
	uint64_t end;
	const void *pc;
	uint64_t time;
};

/* --- Findings and suppressions ------------------------------------------------------------ */

struct dc_entry {
	struct dc_finding f;
	bool suppressed;
	uint64_t key;              /* rule + key groups findings: findings.c */
	uint64_t ev_time, ev_xfer; /* the last occurrence (dc_finding_add_access) */
	struct dc_irp_note *note;  /* a workload result's IRP (crash.c), NULL: none */
};

/* Re-entrancy of the host watchdog's signal (findings.c, crash.c): busy while the findings or
 * the stream change; a signal that arrives then sets pending, raised at the next safe point. */
extern volatile sig_atomic_t dc_chk_busy;
extern volatile sig_atomic_t dc_crash_pending;
void dc_crash_raise_pending(void);

struct dc_supp {
	int rule; /* -1: any */
	char *pattern;
	unsigned line;
	uint64_t hits;
};

struct dc_sym;     /* symbolize.c */
struct dc_memsafe; /* memsafe.c */

#define DC_RECENT 64

struct dc_check {
	struct dc_machine *m;
	struct dc_check_opts opts;
	uint32_t ls, nl; /* line shift, lines per page */
	uint64_t phys_pages;

	/* Direct-mapped table of page shadows, flat[pfn] (NULL: none yet), as ASan and TSan map
	 * theirs: reserved for every frame, backed by the host only where touched. */
	struct dc_pshadow **flat;
	size_t flat_bytes;
	struct dc_pshadow *shadows; /* all of them, linked by next */
	uint64_t shadow_pages;      /* allocated, for tests */
	bool oom;                   /* a shadow allocation failed: judgements may be missed */

	struct dc_xfer **xf; /* open transfers */
	size_t n_xf, cap_xf;
	struct dc_xfer **xf_pool; /* closed transfers kept with their arrays for the next one */
	size_t n_pool, cap_pool;
	struct dc_adapter *ad;
	size_t n_ad, cap_ad;
	struct dc_mrb *mrbs;
	size_t n_mrbs, cap_mrbs;
	struct dc_common *cb;
	size_t n_cb, cap_cb;
	struct dc_irp *irps;
	size_t n_irps, cap_irps;
	struct dc_failed_flush *ff;
	size_t n_ff, cap_ff;
	const void **devs;
	size_t n_devs, cap_devs;
	bool src_da[64]; /* DMA source issued DC_KEV_DEVICE_ACCESS events: judge there */

	/* Write-backs since the last event that was not a write-back (manifestation of C02). */
	uint64_t recent[DC_RECENT];
	unsigned n_recent;
	/* Stale bits set in every page's shadow (dc_pext.stale): with none, a line's write-back or
	 * eviction has nothing to look up (most of them, on a correct driver). */
	uint64_t n_stale;

	/* Findings. */
	struct dc_entry *ent;
	size_t n_ent, cap_ent;
	size_t *vis; /* indices of kept, unsuppressed findings, in order */
	size_t n_vis, cap_vis;
	uint32_t *hash; /* (rule, source location) -> entry index + 1, open addressing */
	size_t hash_cap;
	uint64_t hits[DC_RULE_COUNT];
	uint64_t suppressed, dropped, errors;
	bool halted;
	struct dc_supp *supp;
	size_t n_supp, cap_supp;

	struct dc_sym *sym;
	struct dc_memsafe *ms;
	struct dc_race *race; /* race.c */

	/* v3.c */
	struct dc_v3part *v3p;
	size_t n_v3p, cap_v3p;
	const void **v04_mdls; /* MDLs a V04 was reported on: their IRPs' coverage is V04's */
	size_t n_v04, cap_v04;
};

/* v3.c: the version 3 rules that need state of their own, and what check.c asks of it. */
bool dc_v3_routine(const char *routine);
void dc_v3_map_ex(struct dc_check *c, const struct dc_kev *e);
void dc_v3_completion(struct dc_check *c, const struct dc_kev *e);
bool dc_v3_skipped(const struct dc_check *c, const void *mdl);
void dc_v3_irp_complete(struct dc_check *c, const struct dc_kev *e, const void *mdl, unsigned dev);
void dc_v3_free(struct dc_check *c);
int dc_v3_grow(void **arr, size_t *cap, size_t elem, size_t need);

/* findings.c: records a finding (returns its entry index, or -1 when it was not kept).  A
 * repeat of rule + source line adds to the count (and ORs manifested) of the first one. */
int dc_finding_add(struct dc_check *c, const struct dc_finding *f);
/* The same for a finding made by a CPU access of driver code (a load or store).  Occurrences
 * are counted per event, not per access: the accesses one source line makes at one simulated
 * instant (one run of a driver routine) to one transfer (f->xfer) are one occurrence, whose
 * details are those of the lowest address touched.  How many loads and stores a compiler
 * emits for a line (unrolled, vectorized, reloaded) then changes neither the count nor the
 * report. */
int dc_finding_add_access(struct dc_check *c, const struct dc_finding *f);
void dc_finding_manifest(struct dc_check *c, int idx);
void dc_findings_free(struct dc_check *c);

/* symbolize.c */
struct dc_symbol {
	const char *file; /* NULL if unknown */
	int line;
	const char *func;   /* NULL if unknown */
	const char *module; /* basename of the module, NULL if none */
	uint64_t off;       /* offset in the module */
	const char *helper; /* the dmacoh header's inline helper the pc is in, NULL if none */
	uint32_t loc;       /* id of file:line:function (0: no file), equal for equal lines */
};
/* Symbolizes pc (pc - 1 for a return address).  Never NULL; fields NULL when unknown. */
const struct dc_symbol *dc_sym_lookup(struct dc_check *c, const void *pc, bool exact);
void dc_sym_free(struct dc_check *c);
/* Enters a symbol another process resolved (stream.c): later lookups of pc answer it. */
void dc_sym_preset(struct dc_check *c, const void *pc, bool exact, const struct dc_symbol *sym);

/* stream.c: findings streamed to a supervising process (dc_check_stream_to). */
bool dc_stream_on(const struct dc_check *c);
void dc_stream_after_add(struct dc_check *c, const struct dc_finding *f, int idx, size_t n_ent,
                         uint64_t dropped, uint64_t suppressed);
void dc_stream_manifest(struct dc_check *c, int idx);
/* The details of entry idx changed (findings.c's lowest-bytes rule): send them again. */
void dc_stream_update(struct dc_check *c, int idx);
/* Entry idx got its IRP note (dc_check_add_irp_result): send it. */
void dc_stream_note(struct dc_check *c, int idx);

/* shadow.c */
int dc_shadow_init(struct dc_check *c);                             /* -1: no memory */
struct dc_pshadow *dc_shadow_new(struct dc_check *c, uint64_t pa);  /* allocates */
struct dc_pshadow *dc_shadow_find(struct dc_check *c, uint64_t pa); /* NULL if none */
/* The page shadow of pa, allocated on first use; NULL outside memory or out of memory. */
static inline struct dc_pshadow *dc_shadow_get(struct dc_check *c, uint64_t pa)
{
	uint64_t pfn = pa >> DC_PAGE_SHIFT;
	struct dc_pshadow *ps = DC_LIKELY(pfn < c->phys_pages) ? c->flat[pfn] : NULL;
	return DC_LIKELY(ps) ? ps : dc_shadow_new(c, pa);
}
struct dc_pext *dc_shadow_ext(struct dc_check *c, struct dc_pshadow *ps);
void dc_shadow_rewatch(struct dc_pshadow *ps);
void dc_shadow_free(struct dc_check *c);

/* Bit helpers over a page's byte bitmap (offsets in the page, len > 0, off + len <= 4096). */
void dc_bits_set(uint64_t *bm, uint32_t off, uint32_t len);
void dc_bits_clear(uint64_t *bm, uint32_t off, uint32_t len);
void dc_bits_copy(uint64_t *dst, const uint64_t *src, uint32_t off, uint32_t len);
uint32_t dc_bits_count(const uint64_t *bm, uint32_t off, uint32_t len);
/* First set bit in [off, off + len), or -1. */
int dc_bits_first(const uint64_t *bm, uint32_t off, uint32_t len);

static inline bool dc_bit_test(const uint64_t *bm, uint32_t i)
{
	return bm[i >> 6] >> (i & 63) & 1;
}

static inline void dc_bit_set(uint64_t *bm, uint32_t i)
{
	bm[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline void dc_bit_clear(uint64_t *bm, uint32_t i)
{
	bm[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* crash.c: an X01 finding for signal `sig`, or for bug check `sig` when bugcheck (its
 * description) is not NULL. */
void dc_crash_record(struct dc_check *c, int sig, const void *pc, const void *addr,
                     const char *bugcheck);

/* memsafe.c: M01-M03.  The allocations (kernel events) and the machine's mem_fault. */
void dc_memsafe_kev(struct dc_check *c, const struct dc_kev *e);
void dc_memsafe_fault(void *opaque, const void *va, uint32_t len, bool write, const void *bad,
                      int kind, const void *pc);
void dc_memsafe_free(struct dc_check *c);

/* race.c: the happens-before race detector (S01). */
struct dc_race;
int dc_race_create(struct dc_check *c); /* -1: no memory */
void dc_race_free(struct dc_check *c);
void dc_race_cpu_access(struct dc_check *c, const void *va, uint32_t len, bool write,
                        const void *pc);
void dc_race_host_access(void *opaque, const void *va, uint32_t len, bool write, const void *pc);
void dc_race_atomic(void *opaque, const void *va, uint32_t len, int mo, bool rmw);
void dc_race_sync(void *opaque, enum dc_sync_op op, const void *obj, uint64_t arg);
void dc_race_kev(struct dc_check *c, const struct dc_kev *e);
/* Chunks of access slots the detector holds (4 KiB each, for 512 bytes of memory accessed). */
uint64_t dc_race_shadow_chunks(const struct dc_check *c);
/* C04's knowledge of device writes (race.c's opening comment): a device write's stamp (0: not
 * followed); the running context learns the writes stamped below `stamp`; whether it knows the
 * write stamped `stamp` (true when not followed). */
uint32_t dc_race_dev_write(struct dc_check *c);
void dc_race_dev_learn(struct dc_check *c, uint32_t stamp);
bool dc_race_dev_known(struct dc_check *c, uint32_t stamp);
/* A flush's place in the order of flushes and learnings; whether the running context heard from
 * a device itself (an interrupt, a register) after the flush of that place. */
uint32_t dc_race_dev_flush_seq(struct dc_check *c);
bool dc_race_dev_heard_since(struct dc_check *c, uint32_t seq);

/* options.c */
int dc_supp_load(struct dc_check *c, const char *path, char *err, size_t errlen);
void dc_supp_free(struct dc_check *c);
/* Does a suppression match the finding (its pc or a site)?  Counts the hit. */
bool dc_supp_match(struct dc_check *c, const struct dc_finding *f);

/* The shown form of a host address (check.h), 0 outside the windows. */
uint64_t dc_check_show_va(const struct dc_check *c, const void *va);

#endif
