#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/driver.h"
#include "hw/parse.h"
#include "hw/rng.h"
#include "kernel.h"
#include "win32.h"

void dc_workload_default(struct dc_workload *w)
{
	*w = (struct dc_workload){
	    .count = 100,
	    .w_read = 50,
	    .w_write = 45,
	    .w_ioctl = 5,
	    .align = DC_ALIGN_ANY,
	    .zone = DC_ZONE_ANY,
	    .outstanding = 1,
	    .seed = 1,
	};
}

static int perr(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return DC_ERR_PARSE;
}

#define MAX_COUNT UINT64_C(1000000000000)
#define MAX_SIZE (UINT64_C(64) << 20)

/* Every key: the parser takes its numbers' ranges from here, and `dmacoh run --help` prints it
 * (tests/test_diag.c checks each key the help shows is one the parser takes, and back). */
static const struct dc_workload_key keys[] = {
    {"count", "N", 0, MAX_COUNT, "IRPs, 1 to 10^12",
     "IRPs to send, 1 to 10^12 (on a frame device a frame's\n"
     "write and the read that receives it are two)"},
    {"read", "W", 0, 1000000, "a weight, 0 to 1000000",
     "relative weight of reads, 0 to 1000000 (read+write > 0)"},
    {"write", "W", 0, 1000000, "a weight, 0 to 1000000", "relative weight of writes, 0 to 1000000"},
    {"ioctl", "W", 0, 1000000, "a weight, 0 to 1000000",
     "relative weight of device controls, 0 to 1000000: driver.h's\n"
     "IOCTL_DMACOH_QUERY_CAPACITY, sent only to a driver that\n"
     "declares DMACOH_DRIVER unless the string gives ioctl=W"},
    {"size", "N|MIN-MAX", 0, 0, NULL,
     "bytes per request, 1 to 64M (K, M allowed); rounded to\n"
     "the device's unit (its sector: `dmacoh list devices`); at\n"
     "most the store / outstanding, a frame device's largest\n"
     "frame, 1M on a stream device"},
    {"align", "any|line|page|N", 0, 0, NULL,
     "where buffers start in their first page: anywhere, on a\n"
     "cache line, on a page, or at offset N (0-4095)"},
    {"zone", "any|isa|dma32|high", 0, 0, NULL,
     "where application buffers live: anywhere, below 16 MiB,\n"
     "16 MiB to 4 GiB, above 4 GiB"},
    {"outstanding", "N", 1, 64, "1 to 64",
     "requests in flight at once, 1 to 64 (each in its own\n"
     "part of the store)"},
    {"seed", "N", 0, UINT64_MAX, "0 to 18446744073709551615", "0 to 2^64-1 (also set by --seed)"},
    {"fault", "N", 0, UINT64_MAX, "every Nth read or write, 0 = never",
     "every Nth read or write meets an injected transfer\n"
     "error (0: never).  Block devices: its IRP must fail with\n"
     "Information 0 (outstanding > 1: one IRP of the batch it\n"
     "was armed in); stream devices: the driver must recover\n"
     "and the request succeed; refused on a device whose model\n"
     "says no_fault (looped-back frames: a lost one has no\n"
     "request to fail).  `dmacoh list devices` shows each kind"},
    {"cancel", "N", 0, UINT64_MAX, "every Nth read or write, 0 = never",
     "every Nth read or write is cancelled (IoCancelIrp) as soon\n"
     "as its batch is sent (block devices; 0: never): it may end\n"
     "STATUS_CANCELLED (then its data is not checked) or as if\n"
     "not cancelled.  With --schedule the cancel runs beside the\n"
     "driver's queue on another processor"},
};

const struct dc_workload_key *dc_workload_keys(size_t *n)
{
	*n = DC_ARRAY_SIZE(keys);
	return keys;
}

/* One size: a decimal number of bytes, or with K or M. */
static int parse_size(const char *v, size_t n, uint64_t *out)
{
	return dc_parse_u64n(v, n, DC_NUM_SIZE, MAX_SIZE, out);
}

static int parse_item(struct dc_workload *w, const char *k, const char *v, char *err, size_t errlen)
{
	char qv[72], qk[40];
	dc_parse_quote(qv, sizeof(qv), v);
	dc_parse_quote(qk, sizeof(qk), k);
	uint64_t n = 0;
	for (size_t i = 0; i < DC_ARRAY_SIZE(keys); i++) {
		const struct dc_workload_key *nk = &keys[i];
		if (!nk->max || strcmp(k, nk->name))
			continue;
		int r = dc_parse_u64(v, 0, nk->max, &n);
		if (r == DC_OK && n < nk->min)
			r = DC_ERR_RANGE;
		if (r != DC_OK) {
			char what[160];
			snprintf(what, sizeof(what), "workload: %s=%%s: %s (%s)", k,
			         r == DC_ERR_RANGE ? "out of range" : "not a plain decimal number",
			         nk->range);
			return perr(err, errlen, what, qv, "");
		}
		if (!strcmp(k, "count"))
			w->count = n;
		else if (!strcmp(k, "fault"))
			w->fault = n;
		else if (!strcmp(k, "cancel"))
			w->cancel = n;
		else if (!strcmp(k, "seed"))
			w->seed = n;
		else if (!strcmp(k, "outstanding"))
			w->outstanding = (unsigned)n;
		else
			*(!strcmp(k, "read")    ? &w->w_read
			  : !strcmp(k, "write") ? &w->w_write
			                        : &w->w_ioctl) = (unsigned)n;
		if (!strcmp(k, "ioctl"))
			w->ioctl_given = true;
		return DC_OK;
	}
	if (!strcmp(k, "size")) {
		const char *dash = strchr(v, '-');
		uint64_t lo, hi;
		int r1 = parse_size(v, dash ? (size_t)(dash - v) : strlen(v), &lo), r2 = r1;
		if (dash)
			r2 = parse_size(dash + 1, strlen(dash + 1), &hi);
		else
			hi = lo;
		if (r1 == DC_ERR_PARSE || r2 == DC_ERR_PARSE)
			return perr(err, errlen,
			            "workload: size=%s: expected N or MIN-MAX bytes (decimal, or "
			            "with K or M)%s",
			            qv, "");
		if (r1 || r2 || lo > hi)
			return perr(err, errlen, "workload: size=%s: need MIN <= MAX <= 64M%s", qv,
			            "");
		if (!hi)
			return perr(err, errlen,
			            "workload: size=%s: zero-byte requests: this workload moves no "
			            "data%s",
			            qv, "");
		w->size_min = (uint32_t)lo;
		w->size_max = (uint32_t)hi;
		return DC_OK;
	}
	if (!strcmp(k, "align")) {
		if (!strcmp(v, "any"))
			w->align = DC_ALIGN_ANY;
		else if (!strcmp(v, "line"))
			w->align = DC_ALIGN_LINE;
		else if (!strcmp(v, "page"))
			w->align = 0;
		else if (dc_parse_u64(v, 0, DC_PAGE_SIZE - 1, &n) == DC_OK)
			w->align = (int)n;
		else
			return perr(err, errlen,
			            "workload: align=%s: expected any, line, page or 0-4095%s", qv,
			            "");
		return DC_OK;
	}
	if (!strcmp(k, "zone")) {
		static const char *const zn[] = {"any", "isa", "dma32", "high"};
		static const enum dc_zone zv[] = {DC_ZONE_ANY, DC_ZONE_ISA, DC_ZONE_DMA32,
		                                  DC_ZONE_HIGH};
		for (size_t i = 0; i < DC_ARRAY_SIZE(zn); i++)
			if (!strcmp(v, zn[i])) {
				w->zone = zv[i];
				return DC_OK;
			}
		return perr(err, errlen, "workload: zone=%s: expected any, isa, dma32 or high%s",
		            qv, "");
	}
	char known[160] = "";
	for (size_t i = 0, at = 0; i < DC_ARRAY_SIZE(keys); i++)
		at += (size_t)snprintf(known + DC_MIN(at, sizeof(known)),
		                       sizeof(known) - DC_MIN(at, sizeof(known)), "%s%s",
		                       i ? ", " : "", keys[i].name);
	return perr(err, errlen, "workload: unknown key '%s' (%s)", qk, known);
}

int dc_workload_parse(const char *text, struct dc_workload *w0, char *err, size_t errlen)
{
	struct dc_workload w = *w0;
	char q[72];
	if (!*text)
		return perr(err, errlen,
		            "workload: empty (key=value,... e.g. count=100; see dmacoh run "
		            "--help)%s%s",
		            "", "");
	char *buf = strdup(text);
	if (!buf)
		return perr(err, errlen, "workload: out of memory%s%s", "", "");
	int rc = DC_OK;
	for (char *p = buf;;) {
		char *end = p + strcspn(p, ",");
		bool last = !*end;
		*end = 0;
		char *eq = strchr(p, '=');
		if (!*p)
			rc =
			    perr(err, errlen,
			         "workload: an empty item (a comma at an end, or two in a row)%s%s",
			         "", "");
		else if (!eq)
			rc = perr(err, errlen, "workload: '%s' is not key=value%s",
			          dc_parse_quote(q, sizeof(q), p), "");
		else {
			*eq = 0;
			rc = parse_item(&w, p, eq + 1, err, errlen);
		}
		if (rc || last)
			break;
		p = end + 1;
	}
	free(buf);
	if (rc)
		return rc;
	if (!w.count)
		return perr(err, errlen, "workload: count=0: this workload moves no data%s%s", "",
		            "");
	if (w.w_read + w.w_write == 0)
		return perr(err, errlen,
		            "workload: read=0 and write=0: this workload moves no data%s%s", "",
		            "");
	*w0 = w;
	return DC_OK;
}

/* The kind a result names: "read", "write" or "ioctl" (a frame device's receive is a read,
 * the silence after a stream's writes a write). */
static const char *major_kind(UCHAR major, bool ioctl)
{
	return ioctl ? "ioctl" : major == IRP_MJ_READ ? "read" : "write";
}

/* What a report of one IRP needs from the run. */
struct ctx {
	const struct dc_workload *w;
	struct dc_run_stats *st;
	struct dc_machine *m;
};

static void result(struct ctx *c, enum dc_irp_outcome o, uint64_t irp, const char *kind,
                   UCHAR major, uint64_t off, uint64_t len, NTSTATUS status)
{
	if (!c->w->on_result)
		return;
	struct dc_irp_result r = {.outcome = o,
	                          .irp = irp,
	                          .kind = kind,
	                          .major = major,
	                          .offset = off,
	                          .length = len,
	                          .status = status,
	                          .time = c->m->clock.now};
	c->w->on_result(c->w->result_opaque, &r);
}

/* A request that completed with success but did not move what it should have (a length or a
 * capacity): wrong data with no byte to name. */
static void short_result(struct ctx *c, uint64_t irp, UCHAR major, uint64_t off, uint64_t len,
                         uint64_t bad, uint64_t at)
{
	c->st->mismatched++;
	if (!c->w->on_result)
		return;
	struct dc_irp_result r = {.outcome = DC_IRP_WRONG_DATA,
	                          .irp = irp,
	                          .kind = major_kind(major, major == IRP_MJ_DEVICE_CONTROL),
	                          .major = major,
	                          .offset = off,
	                          .length = len,
	                          .bad_bytes = bad,
	                          .store_off = off + at,
	                          .buf_off = at,
	                          .time = c->m->clock.now};
	c->w->on_result(c->w->result_opaque, &r);
}

/* Simulated time an IRP may take before it counts as hung: generous for what the device
 * needs to move `bytes` (everything queued ahead of it included) at `bps` bytes per second,
 * and never less than 10 s (a driver may start its device lazily, a floppy spins up). */
static uint64_t irp_timeout(uint64_t bytes, uint64_t bps)
{
	const uint64_t base = UINT64_C(10000000000);
	if (!bps)
		return base;
	/* 4x the transfer time, in ns, without overflow for any size below 2^32. */
	long double t = (long double)bytes * 4e9L / (long double)bps;
	return t > (long double)(UINT64_MAX / 2) ? UINT64_MAX / 2 : base + (uint64_t)t;
}

/* The slowest rate a device moves data at (bytes per simulated second): what its model
 * declares, else the platform's rate for its kind of DMA. */
static uint64_t device_bps(struct dc_machine *m, const struct dc_device *dev)
{
	if (dev->model->store_bps)
		return dev->model->store_bps;
	return dev->res.bus_master ? m->plat.bm_bw : m->plat.sysdma_bw;
}

/* One request in flight. */
struct req {
	PIRP irp;
	UCHAR major;
	bool ioctl;
	bool faulted; /* an injected error is known to be this request's */
	bool cancel;  /* cancel=N picked it */
	uint8_t *buf;
	uint8_t *data; /* what a write sent / a read must see */
	uint64_t off;
	ULONG len;
	ULONGLONG cap;
};

static void gen(struct dc_rng *r, uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += 8) {
		uint64_t v = dc_rng_next(r);
		memcpy(p + i, &v, DC_MIN((uint64_t)8, n - i));
	}
}

static void mismatch(struct ctx *c, const char *kind, UCHAR major, uint64_t irp, uint64_t off,
                     const uint8_t *want, const uint8_t *got, uint64_t n)
{
	struct dc_run_stats *st = c->st;
	if (!memcmp(want, got, n))
		return;
	uint64_t bad = 0, first = UINT64_MAX;
	for (uint64_t i = 0; i < n; i++)
		if (want[i] != got[i]) {
			if (first == UINT64_MAX)
				first = i;
			bad++;
		}
	if (!bad)
		return;
	st->mismatched++;
	st->bad_bytes += bad;
	if (c->w->on_result) {
		struct dc_irp_result r = {.outcome = DC_IRP_WRONG_DATA,
		                          .irp = irp,
		                          .kind = major_kind(major, major == IRP_MJ_DEVICE_CONTROL),
		                          .major = major,
		                          .offset = off,
		                          .length = n,
		                          .bad_bytes = bad,
		                          .store_off = off + first,
		                          .buf_off = first,
		                          .want = want[first],
		                          .got = got[first],
		                          .time = c->m->clock.now};
		c->w->on_result(c->w->result_opaque, &r);
	}
	if (st->first_irp)
		return;
	st->first_irp = irp;
	st->first_kind = kind;
	st->first_store_off = off + first;
	st->first_buf_off = first;
	st->first_want = want[first];
	st->first_got = got[first];
}

static uint32_t pick_boff(struct dc_rng *r, int align, uint32_t line)
{
	if (align >= 0)
		return (uint32_t)align;
	if (align == DC_ALIGN_LINE)
		return (uint32_t)dc_rng_below(r, DC_PAGE_SIZE / line) * line;
	return (uint32_t)dc_rng_below(r, DC_PAGE_SIZE);
}

/* A FIFO of bytes: appended at the end, consumed from the front; it holds only what is in
 * between, so its memory is bounded by what is in flight, not by what went through. */
struct fifo {
	uint8_t *p;
	uint64_t head, len, cap; /* bytes [head, head + len) of p */
	uint64_t pos;            /* stream position of p[head] */
};

static bool fifo_reserve(struct fifo *f, uint64_t n)
{
	if (f->head + f->len + n <= f->cap)
		return true;
	if (f->head) {
		memmove(f->p, f->p + f->head, f->len);
		f->head = 0;
	}
	if (f->len + n <= f->cap)
		return true;
	uint64_t cap = DC_MAX(f->len + n, f->cap * 2);
	uint8_t *q = realloc(f->p, cap);
	if (!q)
		return false;
	f->p = q;
	f->cap = cap;
	return true;
}

static void fifo_drop(struct fifo *f, uint64_t n)
{
	n = DC_MIN(n, f->len);
	f->head += n;
	f->len -= n;
	f->pos += n;
}

/* Has the driver at the top of the stack opted into the workload's control code?  It declares
 * DMACOH_DRIVER (driver.h's conventions, IOCTL_DMACOH_QUERY_CAPACITY among them). */
static bool opted_in(struct dc_sys *s, PDEVICE_OBJECT top)
{
	for (unsigned i = 0; i < s->n_drvs; i++)
		if (s->drvs[i]->obj == top->DriverObject)
			return s->drvs[i]->info != NULL;
	return false;
}

/* The workload's file: the device opened as an application opens it.  DC_OK, or the CREATE's
 * failure reported as a failed request (the run then moves nothing). */
static int open_device(struct dc_sys *s, PDEVICE_OBJECT top, struct ctx *c, HANDLE *h, void **fo)
{
	NTSTATUS st = dc_w32_open(s, top, true, h);
	if (NT_SUCCESS(st)) {
		*fo = dc_w32_file_object(s, *h);
		return DC_OK;
	}
	if (st == STATUS_INSUFFICIENT_RESOURCES)
		return DC_ERR_NOMEM;
	c->st->failed++;
	result(c, DC_IRP_FAILED, 0, "create", IRP_MJ_CREATE, 0, 0, st);
	return DC_ERR_STATE;
}

/* Requests on the workload's file, built as ReadFile / WriteFile / DeviceIoControl build them. */
static PIRP file_rw(struct dc_sys *s, PDEVICE_OBJECT top, void *fo, UCHAR major, void *buf,
                    ULONG len, uint64_t off)
{
	PIRP irp = dc_sys_build_rw(s, top, major, buf, len, off);
	if (irp)
		dc_sys_irp_set_file(irp, fo);
	return irp;
}

static PIRP file_ioctl(struct dc_sys *s, PDEVICE_OBJECT top, void *fo, ULONG code, const void *in,
                       ULONG in_len, void *out, ULONG out_len)
{
	PIRP irp = dc_sys_build_ioctl(s, top, code, in, in_len, out, out_len);
	if (irp)
		dc_sys_irp_set_file(irp, fo);
	return irp;
}

/* ---- Stream devices (DC_STORE_STREAM) -------------------------------------------------------
 * One format for the run (from the seed: 8-bit unsigned or 16-bit signed, mono or stereo, at
 * 44.1 kHz), then writes and reads in the seeded mix.  Every write's bytes must appear in the
 * device's sink back to back, in the order sent, followed by nothing but silence; the reads,
 * in the order sent, must get the capture source from position 0.  The source is seeded bytes
 * kept STREAM_AHEAD beyond what the reads have asked for (a driver records ahead of its reads
 * at the end of a block).  An injected transfer error stops the device after a block: the
 * driver must recover without losing a byte, so those requests must succeed too.
 *
 * Checked as it goes: after each batch, what the device has played is compared with the
 * writes not yet heard and dropped from the sink; the source is kept only from the oldest
 * read not yet checked. */

#define STREAM_AHEAD (UINT64_C(256) << 10)
#define STREAM_DRAIN_NS UINT64_C(60000000000)
#define STREAM_QUIET_NS UINT64_C(3000000000)
#define STREAM_STEP_NS UINT64_C(10000000)
#define STREAM_MAX_SIZE (UINT32_C(1) << 20)

struct stream_req {
	PIRP irp;
	UCHAR major;
	bool ioctl;
	uint8_t *buf;
	uint8_t *data; /* a write's bytes until it completes */
	ULONG len;
	uint64_t at; /* where its bytes come from in the source (read) */
	ULONGLONG cap;
};

/* A successful write whose bytes are not all heard yet: its number, and where it ends in the
 * stream of successful writes. */
struct pending_write {
	uint64_t irp, start, end;
};

struct stream {
	struct ctx *c;
	const struct dc_device_ops *ops;
	void *dev;
	struct fifo want;         /* successful writes' bytes not heard yet */
	struct pending_write *pw; /* their IRPs, oldest first: [pw_head, n_pw) */
	uint64_t n_pw, pw_head, pw_cap;
	uint8_t silence;
};

/* Compares what the device played with the writes not heard yet, as far as both go, and
 * drops both. */
static void stream_check_sink(struct stream *S)
{
	uint64_t played;
	const uint8_t *sink = S->ops->stream_sink(S->dev, &played);
	uint64_t n = DC_MIN(played, S->want.len), done = 0;
	while (done < n && S->pw_head < S->n_pw) {
		struct pending_write *p = &S->pw[S->pw_head];
		uint64_t from = S->want.pos + done;
		uint64_t k = DC_MIN(p->end - from, n - done);
		mismatch(S->c, "write", IRP_MJ_WRITE, p->irp, from, S->want.p + S->want.head + done,
		         sink + done, k);
		done += k;
		if (from + k == p->end)
			S->pw_head++;
	}
	fifo_drop(&S->want, done);
	S->ops->stream_consume(S->dev, done);
	if (S->pw_head == S->n_pw)
		S->pw_head = S->n_pw = 0;
}

static int run_stream(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top, void *fo,
                      const struct dc_workload *w, struct dc_run_stats *st, dc_run_progress_fn fn,
                      void *opaque, char *err, size_t errlen)
{
	struct dc_machine *m = s->m;
	const struct dc_device_ops *ops = d->dev.ops;
	void *dev = d->dev.opaque;
	struct ctx c = {w, st, m};
	struct dc_rng r, rs;
	dc_rng_seed(&r, w->seed);
	dc_rng_seed(&rs, w->seed ^ UINT64_C(0x5eed5011ce));
	static const struct {
		unsigned short bits, channels;
	} fmts[] = {{8, 1}, {8, 2}, {16, 1}, {16, 2}};
	unsigned fi = (unsigned)dc_rng_below(&r, 4);
	DMACOH_STREAM_FORMAT f = {44100, fmts[fi].bits, fmts[fi].channels, fmts[fi].bits == 16};
	uint32_t frame = (uint32_t)f.BitsPerSample / 8 * f.Channels;
	uint64_t bps = (uint64_t)f.SamplesPerSec * frame;
	uint32_t lo = w->size_min, hi = w->size_max;
	if (!lo && !hi) {
		lo = frame;
		hi = 65536;
	}
	if (hi > STREAM_MAX_SIZE) {
		snprintf(err, errlen,
		         "workload: size %u-%u: a stream request is at most %u bytes (1M, about 6 "
		         "s of sound)",
		         w->size_min, w->size_max, STREAM_MAX_SIZE);
		return DC_ERR_INVAL;
	}
	lo -= lo % frame;
	hi -= hi % frame;
	if (!hi) {
		snprintf(err, errlen,
		         "workload: size %u-%u holds no %u-byte frame (%s streams whole frames)",
		         w->size_min, w->size_max, frame, d->kind);
		return DC_ERR_INVAL;
	}
	if (!lo)
		lo = frame;
	uint64_t t0 = m->clock.now;
	struct stream S = {
	    .c = &c, .ops = ops, .dev = dev, .silence = f.BitsPerSample == 8 ? 0x80 : 0x00};
	struct fifo src = {0}; /* the capture source from the oldest read not checked */
	uint64_t read_at = 0;
	struct stream_req *rq = calloc(w->outstanding, sizeof(*rq));
	int rc = DC_OK;
	unsigned nb = 0;
	if (!rq)
		return DC_ERR_NOMEM;

	/* The format first. */
	IO_STATUS_BLOCK io;
	PIRP irp = file_ioctl(s, top, fo, IOCTL_DMACOH_STREAM_SET_FORMAT, &f, sizeof(f), NULL, 0);
	if (!irp)
		goto nomem;
	dc_sys_send(s, irp);
	if (dc_sys_wait(s, irp, irp_timeout(0, bps))) {
		st->hung++;
		result(&c, DC_IRP_HUNG, 0, "ioctl", IRP_MJ_DEVICE_CONTROL, 0, sizeof(f), 0);
		goto out;
	}
	io = dc_sys_finish(s, irp);
	if (!NT_SUCCESS(io.Status)) {
		st->failed++;
		result(&c, DC_IRP_FAILED, 0, "ioctl", IRP_MJ_DEVICE_CONTROL, 0, sizeof(f),
		       io.Status);
		goto out;
	}

	unsigned total_w = w->w_read + w->w_write + w->w_ioctl;
	uint64_t issued = 0, data_irps = 0;
	while (issued < w->count && !st->hung) {
		nb = 0;
		uint64_t batch = DC_MIN((uint64_t)w->outstanding, w->count - issued), bytes = 0;
		for (uint64_t b = 0; b < batch; b++, nb++) {
			struct stream_req *q = &rq[nb];
			memset(q, 0, sizeof(*q));
			unsigned pick = (unsigned)dc_rng_below(&r, total_w);
			if (pick >= w->w_read + w->w_write) {
				q->ioctl = true;
				q->irp = file_ioctl(s, top, fo, IOCTL_DMACOH_QUERY_CAPACITY, NULL,
				                    0, &q->cap, sizeof(q->cap));
				if (!q->irp)
					goto nomem;
				continue;
			}
			q->major = pick < w->w_read ? IRP_MJ_READ : IRP_MJ_WRITE;
			q->len = lo + (uint32_t)dc_rng_below(&r, (uint64_t)(hi - lo) / frame + 1) *
			                  frame;
			bytes += q->len;
			q->buf = dc_sys_alloc_buffer(
			    s, q->len, pick_boff(&r, w->align, m->plat.line_size), w->zone);
			if (!q->buf)
				goto nomem;
			if (q->major == IRP_MJ_WRITE) {
				q->data = malloc(q->len);
				if (!q->data)
					goto nomem;
				gen(&r, q->data, q->len);
				dc_cpu_write(m, q->buf, q->data, q->len);
			} else {
				/* The source stays STREAM_AHEAD beyond what the reads asked for. */
				q->at = read_at;
				read_at += q->len;
				uint64_t need = read_at + STREAM_AHEAD, have = src.pos + src.len;
				if (need > have) {
					if (!fifo_reserve(&src, need - have))
						goto nomem;
					uint8_t *p = src.p + src.head + src.len;
					gen(&rs, p, need - have);
					if (ops->store_write(dev, have, p, need - have))
						goto nomem;
					src.len += need - have;
				}
				dc_cpu_fill(m, q->buf, 0xA5, q->len);
			}
			q->irp = file_rw(s, top, fo, q->major, q->buf, q->len, 0);
			if (!q->irp)
				goto nomem;
			if (w->fault && ++data_irps % w->fault == 0 && ops->inject_fault) {
				ops->inject_fault(dev, DC_FAULT_TRANSFER_ERROR);
				st->faults++;
			}
		}
		for (unsigned i = 0; i < nb; i++)
			dc_sys_send(s, rq[i].irp);
		for (unsigned i = 0; i < nb; i++) {
			struct stream_req *q = &rq[i];
			uint64_t irpno = ++st->irps;
			const char *kind = major_kind(q->major, q->ioctl);
			UCHAR major = q->ioctl ? IRP_MJ_DEVICE_CONTROL : q->major;
			if (dc_sys_wait(s, q->irp, irp_timeout(bytes, bps))) {
				for (unsigned j = i; j < nb; j++) {
					if (dc_sys_irp_done(rq[j].irp))
						continue;
					/* The driver keeps the IRP; its buffer stays with it. */
					st->hung++;
					rq[j].buf = NULL;
					result(&c, DC_IRP_HUNG, irpno + (j - i),
					       major_kind(rq[j].major, rq[j].ioctl),
					       rq[j].ioctl ? IRP_MJ_DEVICE_CONTROL : rq[j].major,
					       rq[j].at, rq[j].len, 0);
				}
				break;
			}
			io = dc_sys_finish(s, q->irp);
			q->irp = NULL;
			if (q->ioctl) {
				st->ioctls++;
				if (!NT_SUCCESS(io.Status)) {
					st->failed++;
					result(&c, DC_IRP_FAILED, irpno, kind, major, 0,
					       sizeof(q->cap), io.Status);
				} else if (q->cap < hi)
					short_result(&c, irpno, major, 0, sizeof(q->cap),
					             sizeof(q->cap), 0);
				continue;
			}
			if (q->major == IRP_MJ_READ)
				st->reads++;
			else
				st->writes++;
			if (!NT_SUCCESS(io.Status)) {
				st->failed++;
				result(&c, DC_IRP_FAILED, irpno, kind, major, q->at, q->len,
				       io.Status);
				continue;
			}
			st->bytes += io.Information;
			if (io.Information != q->len) {
				uint64_t got = DC_MIN((uint64_t)io.Information, q->len);
				short_result(&c, irpno, major, q->at, q->len, q->len - got, got);
				continue;
			}
			if (q->major == IRP_MJ_WRITE) {
				/* Checked against the sink as the device plays it. */
				if (S.n_pw == S.pw_cap) {
					if (S.pw_head) {
						memmove(S.pw, S.pw + S.pw_head,
						        (S.n_pw - S.pw_head) * sizeof(*S.pw));
						S.n_pw -= S.pw_head;
						S.pw_head = 0;
					}
					if (S.n_pw == S.pw_cap) {
						uint64_t nc = S.pw_cap ? 2 * S.pw_cap : 64;
						struct pending_write *p =
						    realloc(S.pw, nc * sizeof(*S.pw));
						if (!p)
							goto nomem;
						S.pw = p;
						S.pw_cap = nc;
					}
				}
				if (!fifo_reserve(&S.want, q->len))
					goto nomem;
				uint64_t start = S.want.pos + S.want.len;
				memcpy(S.want.p + S.want.head + S.want.len, q->data, q->len);
				S.want.len += q->len;
				S.pw[S.n_pw++] =
				    (struct pending_write){irpno, start, start + q->len};
				continue;
			}
			uint8_t *got = malloc(q->len);
			if (!got)
				goto nomem;
			dc_cpu_read(m, q->buf, got, q->len);
			mismatch(&c, "read", IRP_MJ_READ, irpno, q->at,
			         src.p + src.head + (q->at - src.pos), got, q->len);
			free(got);
		}
		for (unsigned i = 0; i < nb; i++) {
			if (rq[i].buf)
				dc_sys_free_buffer(s, rq[i].buf);
			rq[i].buf = NULL;
			free(rq[i].data);
			rq[i].data = NULL;
		}
		/* Every read so far is checked: keep the source from the next one on. */
		fifo_drop(&src, read_at - src.pos);
		stream_check_sink(&S);
		issued += batch;
		if (fn && fn(opaque, issued, w->count))
			break;
	}
	if (st->hung)
		goto out;

	/* The last writes are in the driver's DMA buffer: let the device play them.  A device
	 * that stopped short (a transfer error) gets STREAM_QUIET_NS for its driver to notice
	 * and start it again. */
	uint64_t quiet = 0;
	for (uint64_t waited = 0;; waited += STREAM_STEP_NS) {
		uint64_t have;
		bool idle = ops->stream_idle(dev);
		ops->stream_sink(dev, &have);
		if (idle) {
			quiet += STREAM_STEP_NS;
			if (have >= S.want.len || quiet > STREAM_QUIET_NS)
				break;
		} else {
			quiet = 0;
		}
		if (waited >= STREAM_DRAIN_NS) {
			st->hung++;
			result(&c, DC_IRP_HUNG, st->irps, "write", IRP_MJ_WRITE, S.want.pos,
			       S.want.len, 0);
			goto out;
		}
		dc_sys_run_for(s, STREAM_STEP_NS);
		stream_check_sink(&S);
	}
	stream_check_sink(&S);
	/* Writes the device never played. */
	for (uint64_t i = S.pw_head; i < S.n_pw; i++) {
		uint64_t from = DC_MAX(S.pw[i].start, S.want.pos);
		short_result(&c, S.pw[i].irp, IRP_MJ_WRITE, from, S.pw[i].end - from,
		             S.pw[i].end - from, 0);
	}
	/* Then only silence. */
	uint64_t played;
	const uint8_t *sink = ops->stream_sink(dev, &played);
	for (uint64_t i = 0; i < played; i++) {
		if (sink[i] != S.silence) {
			uint8_t *tail = malloc(played);
			if (!tail)
				goto nomem;
			memset(tail, S.silence, played);
			mismatch(&c, "silence", IRP_MJ_WRITE, st->irps, S.want.pos, tail, sink,
			         played);
			free(tail);
			break;
		}
	}
	goto out;
nomem:
	snprintf(err, errlen, "out of simulated memory building a request");
	rc = DC_ERR_NOMEM;
out:
	for (unsigned i = 0; i < nb; i++) {
		if (rq[i].buf && !rq[i].irp)
			dc_sys_free_buffer(s, rq[i].buf);
		free(rq[i].data);
	}
	st->sim_ns = m->clock.now - t0;
	free(rq);
	free(S.want.p);
	free(S.pw);
	free(src.p);
	return rc;
}

static int run_block(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top, void *fo,
                     const struct dc_workload *w, struct dc_run_stats *st, dc_run_progress_fn fn,
                     void *opaque, char *err, size_t errlen)
{
	const struct dc_device_model *dm = d->dev.model;
	struct dc_machine *m = s->m;
	struct ctx c = {w, st, m};
	const struct dc_device_ops *ops = d->dev.ops;
	bool frame = dm->store_kind == DC_STORE_FRAME;
	uint32_t max_frame = frame ? dm->store_unit : 0;
	uint32_t gran = frame ? 1 : dm->store_unit;
	uint64_t bps = device_bps(m, &d->dev);
	uint64_t store = frame ? 0 : ops->store_size(d->dev.opaque);
	uint32_t lo = w->size_min, hi = w->size_max;
	if (!lo && !hi) {
		lo = frame ? 1 : gran;
		hi = frame ? 1514 : 65536;
	}
	if (dm->no_fault && w->fault) {
		snprintf(err, errlen,
		         "workload: fault=%llu: not on %s (its frames loop back: a frame lost to "
		         "an injected error has no request to fail)",
		         (unsigned long long)w->fault, d->kind);
		return DC_ERR_INVAL;
	}
	uint64_t slot = frame ? 0 : store / w->outstanding;
	slot -= slot % gran;
	if (frame && hi > max_frame)
		return snprintf(err, errlen, "workload: frames are at most %u bytes", max_frame),
		       DC_ERR_INVAL;
	/* Lengths are whole sectors between lo and hi; none can be zero. */
	uint32_t lo_g = lo ? lo + (gran - lo % gran) % gran : gran, hi_g = hi - hi % gran;
	if (!frame && lo_g > hi_g) {
		snprintf(err, errlen,
		         "workload: size %u-%u holds no multiple of the %u-byte sector (%s): this "
		         "workload "
		         "moves no data",
		         lo, hi, gran, d->kind);
		return DC_ERR_INVAL;
	}
	if (!frame && hi_g > slot) {
		snprintf(
		    err, errlen,
		    "workload: size %u-%u does not fit this device (%s: %llu-byte store%s, %u-byte "
		    "sectors)",
		    lo, hi, d->kind, (unsigned long long)store,
		    w->outstanding > 1 ? " shared by the outstanding requests" : "", gran);
		return DC_ERR_INVAL;
	}
	if (!frame) {
		lo = lo_g;
		hi = hi_g;
	} else if (!lo)
		lo = 1;
	struct dc_rng r;
	dc_rng_seed(&r, w->seed);
	uint8_t *model = NULL;
	if (!frame) {
		model = malloc(store);
		if (!model)
			return DC_ERR_NOMEM;
		gen(&r, model, store);
		ops->store_write(d->dev.opaque, 0, model, store);
	}
	struct req *rq = calloc(2 * w->outstanding, sizeof(*rq));
	uint8_t *got = malloc(frame ? max_frame : hi);
	if (!rq || !got) {
		free(rq);
		free(got);
		free(model);
		return DC_ERR_NOMEM;
	}
	uint64_t t0 = m->clock.now;
	unsigned total_w = w->w_read + w->w_write + w->w_ioctl;
	uint64_t issued = 0, data_irps = 0;
	int rc = DC_OK;
	unsigned nb = 0;
	while (issued < w->count && !st->hung) {
		nb = 0;
		uint64_t batch = DC_MIN((uint64_t)w->outstanding, w->count - issued), bytes = 0;
		unsigned n_data = 0;
		bool armed = false; /* an injected error waits for one of this batch's transfers */
		for (uint64_t b = 0; b < batch; b++) {
			unsigned pick = (unsigned)dc_rng_below(&r, total_w);
			struct req *q = &rq[nb];
			memset(q, 0, sizeof(*q));
			if (pick >= w->w_read + w->w_write) {
				q->ioctl = true;
				q->irp = file_ioctl(s, top, fo, IOCTL_DMACOH_QUERY_CAPACITY, NULL,
				                    0, &q->cap, sizeof(q->cap));
				if (!q->irp)
					goto nomem;
				nb++;
				continue;
			}
			q->major = pick < w->w_read ? IRP_MJ_READ : IRP_MJ_WRITE;
			uint32_t len = lo + (uint32_t)dc_rng_below(&r, (uint64_t)hi - lo + 1);
			len -= len % gran;
			if (!frame) {
				uint64_t room = slot - len;
				q->off = b * slot + dc_rng_below(&r, room / gran + 1) * gran;
			}
			if (frame && q->major == IRP_MJ_READ)
				q->major = IRP_MJ_WRITE; /* frames: a write, then the read that gets
				                            it back */
			q->len = len;
			bytes += len;
			q->buf = dc_sys_alloc_buffer(
			    s, len, pick_boff(&r, w->align, m->plat.line_size), w->zone);
			q->data = malloc(len);
			if (!q->buf || !q->data)
				goto nomem;
			if (q->major == IRP_MJ_WRITE) {
				gen(&r, q->data, len);
				dc_cpu_write(m, q->buf, q->data, len);
			} else {
				memcpy(q->data, model + q->off, len);
				dc_cpu_fill(m, q->buf, 0xA5, len);
			}
			q->irp = file_rw(s, top, fo, q->major, q->buf, len, q->off);
			if (!q->irp)
				goto nomem;
			data_irps++;
			n_data++;
			q->cancel = !frame && w->cancel && data_irps % w->cancel == 0;
			/* One armed error at a time: the device fails its next transfer, which
			 * may be any request of the batch (not one to be cancelled: it may never
			 * reach the device). */
			if (!frame && w->fault && data_irps % w->fault == 0 && !armed &&
			    !q->cancel && ops->inject_fault) {
				ops->inject_fault(d->dev.opaque, DC_FAULT_TRANSFER_ERROR);
				armed = true;
				q->faulted = true;
				st->faults++;
			}
			nb++;
			if (frame) {
				bytes += len;
				/* The read that receives this frame, queued before the write is
				 * sent. */
				struct req *rd = &rq[nb];
				memset(rd, 0, sizeof(*rd));
				rd->major = IRP_MJ_READ;
				rd->len = max_frame;
				rd->buf = dc_sys_alloc_buffer(
				    s, rd->len, pick_boff(&r, w->align, m->plat.line_size),
				    w->zone);
				if (!rd->buf)
					goto nomem;
				rd->data = q->data; /* shared: freed with the write */
				dc_cpu_fill(m, rd->buf, 0xA5, rd->len);
				rd->irp = file_rw(s, top, fo, IRP_MJ_READ, rd->buf, rd->len, 0);
				if (!rd->irp)
					goto nomem;
				/* Keep the pair adjacent: the read is sent first. */
				struct req tmp = *q;
				*q = *rd;
				*rd = tmp;
				rd->off = 0;
				q->off = tmp.len; /* the read's expected length */
				nb++;
			}
		}
		/* With one data request the armed error is known to be its; with several, the
		 * first of them to fail takes it. */
		bool unclaimed = armed && n_data > 1;
		if (unclaimed)
			for (unsigned i = 0; i < nb; i++)
				rq[i].faulted = false;
		for (unsigned i = 0; i < nb; i++)
			dc_sys_send(s, rq[i].irp);
		for (unsigned i = 0; i < nb; i++)
			if (rq[i].cancel && !dc_sys_irp_done(rq[i].irp))
				dc_sys_cancel(s, rq[i].irp);
		for (unsigned i = 0; i < nb; i++) {
			struct req *q = &rq[i];
			uint64_t irpno = ++st->irps;
			const char *kind = major_kind(q->major, q->ioctl);
			UCHAR major = q->ioctl ? IRP_MJ_DEVICE_CONTROL : q->major;
			if (frame && q->major == IRP_MJ_READ)
				kind = "receive";
			if (dc_sys_wait(s, q->irp, irp_timeout(bytes, bps))) {
				for (unsigned j = i; j < nb; j++) {
					if (dc_sys_irp_done(rq[j].irp))
						continue;
					/* The driver keeps the IRP; its buffer stays with it. */
					st->hung++;
					rq[j].buf = NULL;
					result(&c, DC_IRP_HUNG, irpno + (j - i),
					       major_kind(rq[j].major, rq[j].ioctl),
					       rq[j].ioctl ? IRP_MJ_DEVICE_CONTROL : rq[j].major,
					       frame ? 0 : rq[j].off, rq[j].len, 0);
				}
				break;
			}
			IO_STATUS_BLOCK io = dc_sys_finish(s, q->irp);
			q->irp = NULL;
			if (q->ioctl) {
				st->ioctls++;
				if (!NT_SUCCESS(io.Status)) {
					st->failed++;
					result(&c, DC_IRP_FAILED, irpno, kind, major, 0,
					       sizeof(q->cap), io.Status);
				} else if (!frame && q->cap != store)
					short_result(&c, irpno, major, 0, sizeof(q->cap),
					             sizeof(q->cap), 0);
				continue;
			}
			if (q->major == IRP_MJ_READ)
				st->reads++;
			else
				st->writes++;
			if (unclaimed && !NT_SUCCESS(io.Status)) {
				q->faulted = true;
				unclaimed = false;
			}
			if (q->cancel && io.Status == STATUS_CANCELLED) {
				st->cancelled++;
				if (q->major == IRP_MJ_WRITE) /* not written, or part of it */
					ops->store_read(d->dev.opaque, q->off, model + q->off,
					                q->len);
				continue;
			}
			if (q->faulted) {
				/* G6: a failed transfer fails the IRP, with Information 0. */
				if (NT_SUCCESS(io.Status) || io.Information)
					st->false_ok++;
				if (q->major == IRP_MJ_WRITE)
					ops->store_read(d->dev.opaque, q->off, model + q->off,
					                q->len);
				continue;
			}
			if (!NT_SUCCESS(io.Status)) {
				st->failed++;
				result(&c, DC_IRP_FAILED, irpno, kind, major, frame ? 0 : q->off,
				       q->len, io.Status);
				if (!frame &&
				    q->major == IRP_MJ_WRITE) /* the medium may hold part of it */
					ops->store_read(d->dev.opaque, q->off, model + q->off,
					                q->len);
				continue;
			}
			st->bytes += io.Information;
			if (frame && q->major == IRP_MJ_READ) {
				ULONG want = (ULONG)q->off;
				dc_cpu_read(m, q->buf, got, want);
				if (io.Information != want)
					short_result(&c, irpno, major, 0, want,
					             want - DC_MIN(want, (ULONG)io.Information),
					             DC_MIN(want, (ULONG)io.Information));
				else
					mismatch(&c, kind, major, irpno, 0, q->data, got, want);
			} else if (q->major == IRP_MJ_WRITE) {
				if (!frame) {
					ops->store_read(d->dev.opaque, q->off, got, q->len);
					mismatch(&c, kind, major, irpno, q->off, q->data, got,
					         q->len);
					memcpy(model + q->off, got, q->len);
				}
			} else {
				dc_cpu_read(m, q->buf, got, q->len);
				mismatch(&c, kind, major, irpno, q->off, q->data, got, q->len);
			}
		}
		if (unclaimed) /* the error was armed, and every request succeeded */
			st->false_ok++;
		for (unsigned i = 0; i < nb; i++) {
			if (rq[i].buf)
				dc_sys_free_buffer(s, rq[i].buf);
			if (!(frame && rq[i].major == IRP_MJ_READ))
				free(rq[i].data);
			rq[i].buf = NULL;
			rq[i].data = NULL;
		}
		nb = 0;
		issued += batch;
		if (fn && fn(opaque, issued, w->count))
			break;
	}
	goto out;
nomem:
	snprintf(err, errlen, "out of simulated memory building a request");
	rc = DC_ERR_NOMEM;
out:
	for (unsigned i = 0; i < nb; i++)
		if (!(frame && rq[i].major == IRP_MJ_READ))
			free(rq[i].data);
	st->sim_ns = m->clock.now - t0;
	free(rq);
	free(got);
	free(model);
	return rc;
}

int dc_run_workload(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top,
                    const struct dc_workload *w0, struct dc_run_stats *st, dc_run_progress_fn fn,
                    void *opaque, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	dc_sys_cur = s;
	/* Never a control code the driver did not opt into. */
	struct dc_workload wl = *w0;
	if (!wl.ioctl_given && !opted_in(s, top))
		wl.w_ioctl = 0;
	const struct dc_workload *w = &wl;
	const struct dc_device_model *dm = d->dev.model;
	if (dm->store_kind == DC_STORE_NONE) {
		snprintf(err, errlen,
		         "workload: device %s declares no backing store: the built-in workload has "
		         "nothing to verify against (run a test application with --app)",
		         d->kind);
		return DC_ERR_INVAL;
	}
	struct ctx c = {w, st, s->m};
	HANDLE h = NULL;
	void *fo = NULL;
	/* A driver with no IRP_MJ_CREATE routine (no application could open it on Windows) gets
	 * the requests without a file, as a kernel-mode client would send them. */
	int rc = dc_io_handles(top, IRP_MJ_CREATE) ? open_device(s, top, &c, &h, &fo) : DC_OK;
	if (rc == DC_ERR_STATE)
		return DC_OK; /* the failed CREATE is the run's result */
	if (rc)
		return snprintf(err, errlen, "out of memory opening the device"), rc;
	if (dm->store_kind == DC_STORE_STREAM)
		rc = run_stream(s, d, top, fo, w, st, fn, opaque, err, errlen);
	else
		rc = run_block(s, d, top, fo, w, st, fn, opaque, err, errlen);
	if (h)
		dc_w32_close(s, h);
	return rc;
}
