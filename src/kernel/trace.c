/* The Trace Event Format writer (trace.h).  Events are written to the file as they happen, one
 * JSON object per line; the writer keeps only what it needs to pair events (open IRPs, adapter
 * numbers) and to write counters only when they change. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbgprint.h"
#include "kernel.h"

enum trace_track {
	TR_PROCESS,
	TR_CACHE,
	TR_DMA,
	TR_INTERRUPTS,
	TR_DPCS,
	TR_IRPS,
	TR_KERNEL,
	TR_FINDINGS,
	TR_DBGPRINT,
	TR_COUNT
};

static const char *const track_names[TR_COUNT] = {
    [TR_PROCESS] = "dmacoh",        [TR_CACHE] = "cpu cache",   [TR_DMA] = "dma",
    [TR_INTERRUPTS] = "interrupts", [TR_DPCS] = "dpcs",         [TR_IRPS] = "irps",
    [TR_KERNEL] = "kernel",         [TR_FINDINGS] = "findings", [TR_DBGPRINT] = "DbgPrint",
};

struct trace_irp {
	const void *irp; /* a key only, never written */
	uint64_t id;
	char name[48];
};

struct trace_adapter {
	const void *adapter; /* a key only, never written */
	int channel;         /* system DMA channel, -1 for a bus master */
};

struct dc_trace {
	struct dc_sys *s;
	FILE *f;
	bool first;
	int sysdma_src; /* the 8237's DMA source, -1 if none */
	uint64_t last_ts;
	uint64_t cache_kept, cache_dropped;
	/* Counters, written when they change. */
	uint32_t res_mask; /* channels ever shown in "8237 buffer" */
	uint32_t res[DC_I8237_CHANNELS];
	bool pending_shown;
	uint64_t pending;
	/* IRPs sent and not yet completed. */
	struct trace_irp *irps;
	size_t n_irps, cap_irps;
	uint64_t irp_seq;
	/* Adapters numbered in order of appearance (index + 1). */
	struct trace_adapter *adapters;
	size_t n_adapters, cap_adapters;
};

/* --- JSON output -------------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/* s as a JSON string: quotes, backslashes and control characters escaped, bytes that are not
 * UTF-8 replaced by U+FFFD (a viewer rejects the whole file otherwise). */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			p++;
		} else if (c < 0x20) {
			static const char esc[] = {
			    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
			if (c < sizeof(esc) && esc[c])
				fprintf(f, "\\%c", esc[c]);
			else
				fprintf(f, "\\u%04x", c);
			p++;
		} else {
			size_t n = utf8_len(p);
			if (n) {
				fwrite(p, 1, n, f);
				p += n;
			} else {
				fputs("\\ufffd", f);
				p++;
			}
		}
	}
	fputc('"', f);
}

/* Opens an event: {"name":..,"ph":..,"ts":..,"pid":1,"tid":..  The caller adds fields with
 * the helpers below and ends it with ev_end. */
static void ev_begin(struct dc_trace *t, const char *ph, enum trace_track tr, const char *name,
                     uint64_t ts)
{
	FILE *f = t->f;
	if (ts > t->last_ts)
		t->last_ts = ts;
	fputs(t->first ? "\n" : ",\n", f);
	t->first = false;
	fputs("{\"name\":", f);
	put_str(f, name);
	fprintf(f, ",\"ph\":\"%s\",\"ts\":%" PRIu64 ".%03u,\"pid\":1,\"tid\":%d", ph, ts / 1000,
	        (unsigned)(ts % 1000), (int)tr);
	if (!strcmp(ph, "i"))
		fputs(",\"s\":\"t\"", f);
}

/* Arguments: the first one opens "args", ev_end closes it. */
static void arg_key(struct dc_trace *t, bool *open, const char *key)
{
	fputs(*open ? "," : ",\"args\":{", t->f);
	*open = true;
	put_str(t->f, key);
	fputc(':', t->f);
}

static void arg_u(struct dc_trace *t, bool *open, const char *key, uint64_t v)
{
	arg_key(t, open, key);
	fprintf(t->f, "%" PRIu64, v);
}

static void arg_i(struct dc_trace *t, bool *open, const char *key, int64_t v)
{
	arg_key(t, open, key);
	fprintf(t->f, "%" PRId64, v);
}

static void arg_x(struct dc_trace *t, bool *open, const char *key, uint64_t v)
{
	arg_key(t, open, key);
	fprintf(t->f, "\"0x%" PRIx64 "\"", v);
}

static void arg_s(struct dc_trace *t, bool *open, const char *key, const char *v)
{
	arg_key(t, open, key);
	put_str(t->f, v);
}

static void ev_end(struct dc_trace *t, bool open)
{
	fputs(open ? "}}" : "}", t->f);
}

static void ev_metadata(struct dc_trace *t, enum trace_track tr, const char *what, const char *name)
{
	bool a = false;
	ev_begin(t, "M", tr, what, 0);
	arg_s(t, &a, "name", name);
	ev_end(t, a);
}

/* --- Counters ----------------------------------------------------------------------------- */

/* The residue of the 8237's busy channels.  Only from inside a system DMA access: the
 * controller is then inside its engine and dc_i8237_state is a plain snapshot (outside, it
 * would first run the channels up to now, which an observer must not do). */
static void counter_8237(struct dc_trace *t, uint64_t ts)
{
	uint32_t res[DC_I8237_CHANNELS], mask = t->res_mask;
	for (unsigned ch = 0; ch < DC_I8237_CHANNELS; ch++) {
		struct dc_i8237_chan_state cs;
		dc_i8237_state(t->s->dma, ch, &cs);
		res[ch] = cs.residue;
		if (cs.residue || cs.running)
			mask |= 1u << ch;
	}
	bool changed = mask != t->res_mask;
	for (unsigned ch = 0; ch < DC_I8237_CHANNELS; ch++)
		changed |= ((mask >> ch) & 1) && res[ch] != t->res[ch];
	if (!changed)
		return;
	t->res_mask = mask;
	memcpy(t->res, res, sizeof(res));
	bool a = false;
	ev_begin(t, "C", TR_DMA, "8237 buffer", ts);
	for (unsigned ch = 0; ch < DC_I8237_CHANNELS; ch++) {
		if ((mask >> ch) & 1) {
			char key[8];
			snprintf(key, sizeof(key), "ch%u", ch);
			arg_u(t, &a, key, res[ch]);
		}
	}
	ev_end(t, a);
}

/* FlushAdapterBuffers drained a system DMA channel: its buffer is empty now. */
static void counter_8237_drained(struct dc_trace *t, int ch, uint64_t ts)
{
	if (ch < 0 || ch >= DC_I8237_CHANNELS || !((t->res_mask >> ch) & 1) || !t->res[ch])
		return;
	t->res[ch] = 0;
	bool a = false;
	ev_begin(t, "C", TR_DMA, "8237 buffer", ts);
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		if ((t->res_mask >> i) & 1) {
			char key[8];
			snprintf(key, sizeof(key), "ch%u", i);
			arg_u(t, &a, key, t->res[i]);
		}
	}
	ev_end(t, a);
}

/* The bytes posted in the host bridge, when they changed (or at a bus master's first access:
 * `force`).  Nothing while no bus master has done anything. */
static void counter_posted(struct dc_trace *t, uint64_t ts, bool force)
{
	uint64_t p = dc_bridge_pending(t->s->br, -1);
	if (t->pending_shown ? p == t->pending : !p && !force)
		return;
	t->pending_shown = true;
	t->pending = p;
	bool a = false;
	ev_begin(t, "C", TR_DMA, "posted writes", ts);
	arg_u(t, &a, "bytes", p);
	ev_end(t, a);
}

/* --- Machine events ----------------------------------------------------------------------- */

static void cache_event(struct dc_trace *t, const char *name, uint64_t line_pa)
{
	if (t->cache_kept >= DC_TRACE_CACHE_MAX) {
		t->cache_dropped++;
		return;
	}
	t->cache_kept++;
	bool a = false;
	ev_begin(t, "i", TR_CACHE, name, t->s->m->clock.now);
	arg_x(t, &a, "pa", line_pa);
	ev_end(t, a);
}

static void tr_cache_fill(void *opaque, uint64_t line_pa, bool speculative)
{
	cache_event(opaque, speculative ? "speculative fill" : "fill", line_pa);
}

static void tr_cache_writeback(void *opaque, uint64_t line_pa)
{
	cache_event(opaque, "writeback", line_pa);
}

static void tr_cache_gone(void *opaque, uint64_t line_pa)
{
	cache_event(opaque, "gone", line_pa);
}

static const char *source_name(const struct dc_trace *t, int source)
{
	const struct dc_machine *m = t->s->m;
	return source >= 0 && (unsigned)source < m->n_dma_sources ? m->dma_source_name[source]
	                                                          : "?";
}

static void tr_dma(void *opaque, int source, uint64_t pa, uint64_t len, bool write)
{
	struct dc_trace *t = opaque;
	uint64_t ts = t->s->m->clock.now;
	char name[80];
	snprintf(name, sizeof(name), "%s %s", source_name(t, source), write ? "write" : "read");
	bool a = false;
	ev_begin(t, "i", TR_DMA, name, ts);
	arg_s(t, &a, "source", source_name(t, source));
	arg_x(t, &a, "pa", pa);
	arg_u(t, &a, "len", len);
	ev_end(t, a);
	if (source == t->sysdma_src)
		counter_8237(t, ts);
	else
		counter_posted(t, ts, true);
}

/* --- Kernel events ------------------------------------------------------------------------ */

static const char *major_name(int64_t mj)
{
	static const char *const names[] = {
	    [IRP_MJ_CREATE] = "create",
	    [IRP_MJ_CLOSE] = "close",
	    [IRP_MJ_READ] = "read",
	    [IRP_MJ_WRITE] = "write",
	    [IRP_MJ_FLUSH_BUFFERS] = "flush",
	    [IRP_MJ_DEVICE_CONTROL] = "ioctl",
	    [IRP_MJ_INTERNAL_DEVICE_CONTROL] = "internal-ioctl",
	    [IRP_MJ_SHUTDOWN] = "shutdown",
	    [IRP_MJ_CLEANUP] = "cleanup",
	    [IRP_MJ_POWER] = "power",
	    [IRP_MJ_SYSTEM_CONTROL] = "system-control",
	    [IRP_MJ_PNP] = "pnp",
	};
	return mj >= 0 && (uint64_t)mj < DC_ARRAY_SIZE(names) && names[mj] ? names[mj] : "irp";
}

/* The adapter's number (1, 2, ... in order of appearance); 0 for NULL or no memory. */
static size_t adapter_no(struct dc_trace *t, const void *adapter)
{
	if (!adapter)
		return 0;
	for (size_t i = 0; i < t->n_adapters; i++)
		if (t->adapters[i].adapter == adapter)
			return i + 1;
	if (t->n_adapters == t->cap_adapters) {
		size_t cap = t->cap_adapters ? 2 * t->cap_adapters : 8;
		struct trace_adapter *a = realloc(t->adapters, cap * sizeof(*a));
		if (!a)
			return 0;
		t->adapters = a;
		t->cap_adapters = cap;
	}
	t->adapters[t->n_adapters++] = (struct trace_adapter){.adapter = adapter, .channel = -1};
	return t->n_adapters;
}

static void irp_send(struct dc_trace *t, const struct dc_kev *e)
{
	if (t->n_irps == t->cap_irps) {
		size_t cap = t->cap_irps ? 2 * t->cap_irps : 16;
		struct trace_irp *p = realloc(t->irps, cap * sizeof(*p));
		if (!p)
			return;
		t->irps = p;
		t->cap_irps = cap;
	}
	struct trace_irp *r = &t->irps[t->n_irps++];
	r->irp = e->irp;
	r->id = ++t->irp_seq;
	snprintf(r->name, sizeof(r->name), "%s %" PRIu64, major_name(e->value), e->len);
	bool a = false;
	ev_begin(t, "b", TR_IRPS, r->name, e->time);
	fprintf(t->f, ",\"cat\":\"irp\",\"id\":%" PRIu64, r->id);
	arg_u(t, &a, "irp", r->id);
	arg_s(t, &a, "major", major_name(e->value));
	arg_u(t, &a, "length", e->len);
	ev_end(t, a);
}

/* Ends the IRP's async slice; false if it was not sent through the application's side. */
static bool irp_complete(struct dc_trace *t, const struct dc_kev *e)
{
	size_t i = 0;
	while (i < t->n_irps && t->irps[i].irp != e->irp)
		i++;
	if (i == t->n_irps)
		return false;
	struct trace_irp r = t->irps[i];
	t->irps[i] = t->irps[--t->n_irps];
	bool a = false;
	ev_begin(t, "e", TR_IRPS, r.name, e->time);
	fprintf(t->f, ",\"cat\":\"irp\",\"id\":%" PRIu64, r.id);
	arg_x(t, &a, "status", (uint32_t)e->status);
	arg_u(t, &a, "information", e->len_out);
	ev_end(t, a);
	return true;
}

/* Which fields of a kernel event are worth showing (observer.h says what each type sets). */
enum {
	K_ADAPTER = 1u << 0,
	K_LEN = 1u << 1,
	K_LEN_OUT = 1u << 2,
	K_LOGICAL = 1u << 3,
	K_XFER = 1u << 4,
	K_STATUS = 1u << 5,   /* a number or a BOOLEAN */
	K_NTSTATUS = 1u << 6, /* hexadecimal */
	K_KMAP = 1u << 7,     /* a dc_kmap_status */
	K_VALUE = 1u << 8,
	K_COUNT = 1u << 9,
	K_DIR = 1u << 10,
	K_FLAGS = 1u << 11,
	K_PIECES = 1u << 12,
	K_IRQL = 1u << 13,
	K_WHAT = 1u << 14,   /* routine describes the event: the name is the event's */
	K_SOURCE = 1u << 15, /* value is a DMA source */
	K_VA_OK = 1u << 16,  /* va NULL means failure */
	K_ACTION = 1u << 17, /* status is an IO_ALLOCATION_ACTION */
};

struct kev_fmt {
	uint32_t fields;
	const char *value_key;
};

static const struct kev_fmt kev_fmts[DC_KEV_COUNT] = {
    [DC_KEV_ADAPTER_GET] = {K_ADAPTER | K_COUNT | K_FLAGS | K_LEN | K_VALUE | K_STATUS, "channel"},
    [DC_KEV_ADAPTER_PUT] = {K_ADAPTER, NULL},
    [DC_KEV_COMMON_ALLOC] = {K_ADAPTER | K_LEN | K_LOGICAL | K_FLAGS | K_PIECES | K_VA_OK, NULL},
    [DC_KEV_COMMON_FREE] = {K_ADAPTER | K_LEN | K_LOGICAL | K_FLAGS | K_STATUS, NULL},
    [DC_KEV_CHANNEL_ALLOC] = {K_ADAPTER | K_COUNT | K_NTSTATUS | K_FLAGS, NULL},
    [DC_KEV_ADAPTER_CONTROL] = {K_ADAPTER | K_COUNT | K_ACTION, NULL},
    [DC_KEV_CHANNEL_FREE] = {K_ADAPTER | K_COUNT, NULL},
    [DC_KEV_MAPREG_FREE] = {K_ADAPTER | K_COUNT | K_STATUS, NULL},
    [DC_KEV_MAP] = {K_ADAPTER | K_LEN | K_LEN_OUT | K_LOGICAL | K_DIR | K_XFER | K_KMAP | K_PIECES |
                        K_VALUE,
                    "offset"},
    [DC_KEV_FLUSH] = {K_ADAPTER | K_LEN | K_DIR | K_STATUS | K_XFER, NULL},
    [DC_KEV_SG_MAP] = {K_ADAPTER | K_LEN | K_DIR | K_XFER | K_NTSTATUS | K_PIECES, NULL},
    [DC_KEV_SG_PUT] = {K_ADAPTER | K_DIR | K_XFER | K_STATUS, NULL},
    [DC_KEV_KE_FLUSH] = {K_FLAGS | K_PIECES, NULL},
    [DC_KEV_IRP_SEND] = {K_LEN | K_VALUE, "major"},
    [DC_KEV_IRP_COMPLETE] = {K_LEN | K_LEN_OUT | K_NTSTATUS | K_VALUE, "major"},
    [DC_KEV_IRQL] = {K_IRQL, NULL},
    [DC_KEV_DEVICE_ACCESS] = {K_WHAT | K_ADAPTER | K_LOGICAL | K_LEN | K_DIR | K_STATUS | K_SOURCE,
                              NULL},
    [DC_KEV_MDL_MAP] = {K_VA_OK, NULL},
    [DC_KEV_BAD_ACCESS] = {K_WHAT, NULL},
    [DC_KEV_CRASH] = {K_WHAT | K_NTSTATUS, NULL},
    [DC_KEV_ERRLOG] = {K_WHAT | K_NTSTATUS | K_VALUE, "unique"},
};

static void flags_str(uint32_t flags, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
	    {DC_KEVF_MASTER, "master"}, {DC_KEVF_SG, "sg"},       {DC_KEVF_AUTOINIT, "autoinit"},
	    {DC_KEVF_DMA32, "dma32"},   {DC_KEVF_DMA64, "dma64"}, {DC_KEVF_CACHED, "cached"},
	    {DC_KEVF_READ, "read"},     {DC_KEVF_DMA, "dma"},     {DC_KEVF_QUEUED, "queued"},
	};
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < DC_ARRAY_SIZE(names); i++)
		if ((flags & names[i].bit) && n < len)
			n +=
			    (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", names[i].name);
}

static const char *action_name(int64_t action)
{
	switch (action) {
	case KeepObject:
		return "KeepObject";
	case DeallocateObject:
		return "DeallocateObject";
	case DeallocateObjectKeepRegisters:
		return "DeallocateObjectKeepRegisters";
	default:
		return "?";
	}
}

static void kernel_event(struct dc_trace *t, const struct dc_kev *e)
{
	const struct kev_fmt *k = &kev_fmts[e->type];
	const char *name = e->routine && !(k->fields & K_WHAT) ? e->routine : dc_kev_name(e->type);
	bool a = false;
	ev_begin(t, "i", TR_KERNEL, name, e->time);
	arg_s(t, &a, "event", dc_kev_name(e->type));
	if (k->fields & K_WHAT)
		arg_s(t, &a, "what", e->routine);
	if (k->fields & K_ADAPTER)
		arg_u(t, &a, "adapter", adapter_no(t, e->adapter));
	if (k->fields & K_LEN)
		arg_u(t, &a, "len", e->len);
	if (k->fields & K_LEN_OUT)
		arg_u(t, &a, "len_out", e->len_out);
	if (k->fields & K_LOGICAL)
		arg_x(t, &a, "logical", e->logical);
	if (k->fields & K_DIR)
		arg_s(t, &a, "dir", dc_dir_name(e->dir));
	if (k->fields & K_XFER)
		arg_u(t, &a, "xfer", e->xfer);
	if (k->fields & K_COUNT)
		arg_u(t, &a, "count", e->count);
	if (k->fields & K_STATUS)
		arg_i(t, &a, "status", e->status);
	if (k->fields & K_NTSTATUS)
		arg_x(t, &a, "status", (uint32_t)e->status);
	if (k->fields & K_ACTION)
		arg_s(t, &a, "action", action_name(e->status));
	if (k->fields & K_KMAP)
		arg_s(t, &a, "status", dc_kmap_status_name((enum dc_kmap_status)e->status));
	if (k->fields & K_VALUE)
		arg_i(t, &a, k->value_key ? k->value_key : "value", e->value);
	if (k->fields & K_SOURCE)
		arg_s(t, &a, "source", source_name(t, (int)e->value));
	if (k->fields & K_VA_OK)
		arg_u(t, &a, "ok", e->va != NULL);
	if (k->fields & K_FLAGS) {
		char fl[96];
		flags_str(e->flags, fl, sizeof(fl));
		arg_s(t, &a, "flags", fl);
	}
	if (k->fields & K_IRQL) {
		arg_u(t, &a, "irql", e->irql);
		arg_u(t, &a, "irql_min", e->irql_min);
		arg_u(t, &a, "irql_max", e->irql_max);
	}
	if ((k->fields & K_PIECES) && e->n_pieces) {
		uint64_t bytes = 0;
		for (uint32_t i = 0; i < e->n_pieces; i++)
			bytes += e->pieces[i].len;
		arg_x(t, &a, "pa", e->pieces[0].pa);
		arg_u(t, &a, "pieces", e->n_pieces);
		arg_u(t, &a, "bytes", bytes);
	}
	ev_end(t, a);
}

static void tr_kev(void *opaque, const struct dc_kev *e)
{
	struct dc_trace *t = opaque;
	bool a = false;
	char name[32];
	switch (e->type) {
	case DC_KEV_ISR:
		snprintf(name, sizeof(name), "IRQ %" PRId64, e->value);
		ev_begin(t, e->status ? "B" : "E", TR_INTERRUPTS, name, e->time);
		if (e->status) {
			arg_i(t, &a, "line", e->value);
			arg_u(t, &a, "irql", e->irql);
		} else {
			arg_u(t, &a, "claimed", e->count);
		}
		ev_end(t, a);
		break;
	case DC_KEV_DPC:
		ev_begin(t, e->status ? "B" : "E", TR_DPCS, "DPC", e->time);
		ev_end(t, a);
		break;
	case DC_KEV_IRP_SEND:
		irp_send(t, e);
		break;
	case DC_KEV_IRP_COMPLETE:
		if (!irp_complete(t, e))
			kernel_event(t, e);
		break;
	case DC_KEV_ADAPTER_GET: {
		size_t no = adapter_no(t, e->adapter);
		if (no && !(e->flags & DC_KEVF_MASTER))
			t->adapters[no - 1].channel = (int)e->value;
		kernel_event(t, e);
		break;
	}
	case DC_KEV_FLUSH: {
		kernel_event(t, e);
		size_t no = adapter_no(t, e->adapter);
		if (no)
			counter_8237_drained(t, t->adapters[no - 1].channel, e->time);
		break;
	}
	case DC_KEV_IRP_LIFE: /* the checker's bookkeeping (S02), not an event of the run */
		break;
	default:
		if ((unsigned)e->type < DC_KEV_COUNT && e->type != DC_KEV_NONE)
			kernel_event(t, e);
		break;
	}
	counter_posted(t, e->time, false);
}

/* A line of the driver's debug output, when its newline came (dbgprint.h). */
static void tr_dbgprint(void *opaque, const struct dc_dbg_line *l)
{
	struct dc_trace *t = opaque;
	bool a = false;
	ev_begin(t, "i", TR_DBGPRINT, "DbgPrint", l->time);
	arg_u(t, &a, "line", l->seq);
	arg_s(t, &a, "text", l->text);
	ev_end(t, a);
}

static const struct dc_observer trace_observer = {
    .cache_fill = tr_cache_fill,
    .cache_writeback = tr_cache_writeback,
    .cache_gone = tr_cache_gone,
    .dma = tr_dma,
    .kev = tr_kev,
};

/* --- The API ------------------------------------------------------------------------------ */

int dc_trace_open(struct dc_sys *s, const char *path, struct dc_trace **out, char *err,
                  size_t errlen)
{
	*out = NULL;
	struct dc_trace *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", path);
		return DC_ERR_NOMEM;
	}
	t->f = fopen(path, "w");
	if (!t->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(t);
		return DC_ERR_IO;
	}
	setvbuf(t->f, NULL, _IOFBF, 1u << 16);
	t->s = s;
	t->first = true;
	t->sysdma_src = -1;
	for (unsigned i = 0; i < s->m->n_dma_sources; i++)
		if (!strcmp(s->m->dma_source_name[i], "sysdma"))
			t->sysdma_src = (int)i;
	int rc = dc_machine_add_observer(s->m, &trace_observer, t);
	if (rc) {
		snprintf(err, errlen, "%s: no observer slot left", path);
		fclose(t->f);
		remove(path);
		free(t);
		return rc;
	}
	if (dc_dbgprint_add_sink(s, tr_dbgprint, t) != DC_OK) {
		dc_machine_remove_observer(s->m, &trace_observer, t);
		snprintf(err, errlen, "%s: no DbgPrint sink left", path);
		fclose(t->f);
		remove(path);
		free(t);
		return DC_ERR_BUSY;
	}
	fputs("{\"traceEvents\":[", t->f);
	ev_metadata(t, TR_PROCESS, "process_name", track_names[TR_PROCESS]);
	for (int tr = TR_CACHE; tr < TR_COUNT; tr++) {
		ev_metadata(t, (enum trace_track)tr, "thread_name", track_names[tr]);
		bool a = false;
		ev_begin(t, "M", (enum trace_track)tr, "thread_sort_index", 0);
		arg_i(t, &a, "sort_index", tr);
		ev_end(t, a);
	}
	*out = t;
	return DC_OK;
}

void dc_trace_instant(struct dc_trace *t, const char *name, uint64_t time_ns, const char *detail)
{
	bool a = false;
	ev_begin(t, "i", TR_FINDINGS, name, time_ns);
	if (detail)
		arg_s(t, &a, "detail", detail);
	ev_end(t, a);
}

int dc_trace_close(struct dc_trace *t)
{
	if (!t)
		return DC_OK;
	dc_machine_remove_observer(t->s->m, &trace_observer, t);
	dc_dbgprint_remove_sink(t->s, tr_dbgprint, t);
	if (t->cache_dropped) {
		bool a = false;
		ev_begin(t, "i", TR_CACHE, "cache events dropped", t->last_ts);
		arg_u(t, &a, "kept", t->cache_kept);
		arg_u(t, &a, "dropped", t->cache_dropped);
		ev_end(t, a);
	}
	fputs("\n],\"displayTimeUnit\":\"ns\"}\n", t->f);
	bool bad = ferror(t->f) != 0;
	bad |= fclose(t->f) != 0;
	free(t->irps);
	free(t->adapters);
	free(t);
	return bad ? DC_ERR_IO : DC_OK;
}

#define TRACE_TAIL "\n],\"displayTimeUnit\":\"ns\"}\n"

#define REPAIR_CHUNK 65536

/* Reads [at, at + n) of f into b: true when all of it was read. */
static bool read_at(FILE *f, long at, char *b, size_t n)
{
	return fseek(f, at, SEEK_SET) == 0 && fread(b, 1, n, f) == n;
}

/* Where the repaired trace ends: after the last whole event (the last ",\n": events are one
 * per line, strings escape newlines), else after the header's '['; 0 if neither.  Scans in
 * chunks (from the end, then from the start): a trace can be larger than memory. */
static long repair_point(FILE *f, long size, char *b)
{
	char after = 0; /* the byte just after the current chunk */
	for (long end = size; end > 0;) {
		long at = end > REPAIR_CHUNK ? end - REPAIR_CHUNK : 0;
		size_t n = (size_t)(end - at);
		if (!read_at(f, at, b, n))
			return 0;
		if (after == '\n' && b[n - 1] == ',')
			return end - 1;
		for (size_t i = n; i-- > 1;)
			if (b[i] == '\n' && b[i - 1] == ',')
				return at + (long)i - 1;
		after = b[0];
		end = at;
	}
	for (long at = 0; at < size; at += REPAIR_CHUNK) {
		size_t n = (size_t)(size - at < REPAIR_CHUNK ? size - at : REPAIR_CHUNK);
		if (!read_at(f, at, b, n))
			return 0;
		char *open = memchr(b, '[', n);
		if (open)
			return at + (long)(open - b) + 1;
	}
	return 0;
}

int dc_trace_repair(const char *path)
{
	FILE *f = fopen(path, "r+");
	if (!f)
		return DC_ERR_IO;
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	char *b = size > 0 ? malloc(REPAIR_CHUNK) : NULL;
	int rc = DC_ERR_IO;
	size_t tl = strlen(TRACE_TAIL);
	if (b && size >= (long)tl && read_at(f, size - (long)tl, b, tl) &&
	    !memcmp(b, TRACE_TAIL, tl)) {
		rc = DC_OK;
	} else if (b) {
		long keep = repair_point(f, size, b);
		if (keep && ftruncate(fileno(f), (off_t)keep) == 0 &&
		    fseek(f, keep, SEEK_SET) == 0 && fputs(TRACE_TAIL, f) >= 0)
			rc = DC_OK;
	}
	free(b);
	if (fclose(f) != 0)
		rc = DC_ERR_IO;
	return rc;
}
