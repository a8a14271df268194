#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/driver.h"
#include "hw/dev_ring.h"
#include "hw/dev_sb16.h"
#include "hw/rng.h"
#include "kernel.h"

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

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return false;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || *s == '-')
		return false;
	*out = v;
	return true;
}

int dc_workload_parse(const char *text, struct dc_workload *w0, char *err, size_t errlen)
{
	struct dc_workload w = *w0;
	char buf[1024];
	if (strlen(text) >= sizeof(buf))
		return perr(err, errlen, "workload: too long%s%s", "", "");
	strcpy(buf, text);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return perr(err, errlen, "workload: '%s' is not key=value%s", tok, "");
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		uint64_t n = 0;
		if (!strcmp(k, "count") || !strcmp(k, "read") || !strcmp(k, "write") ||
		    !strcmp(k, "ioctl") || !strcmp(k, "outstanding") || !strcmp(k, "seed") ||
		    !strcmp(k, "fault")) {
			if (!parse_u64(v, &n))
				return perr(err, errlen, "workload: %s=%s: not a number", k, v);
			if (!strcmp(k, "count"))
				w.count = n;
			else if (!strcmp(k, "fault"))
				w.fault = n;
			else if (!strcmp(k, "seed"))
				w.seed = n;
			else if (!strcmp(k, "outstanding")) {
				if (n < 1 || n > 64)
					return perr(err, errlen,
					            "workload: outstanding=%s: must be 1-64%s", v,
					            "");
				w.outstanding = (unsigned)n;
			} else {
				if (n > 1000000)
					return perr(err, errlen,
					            "workload: %s=%s: weight too large", k, v);
				*(!strcmp(k, "read")    ? &w.w_read
				  : !strcmp(k, "write") ? &w.w_write
				                        : &w.w_ioctl) = (unsigned)n;
			}
		} else if (!strcmp(k, "size")) {
			char tmp[64];
			snprintf(tmp, sizeof(tmp), "%s", v);
			char *dash = strchr(tmp, '-');
			uint64_t lo, hi;
			if (dash) {
				*dash = 0;
				if (!parse_u64(tmp, &lo) || !parse_u64(dash + 1, &hi))
					return perr(err, errlen,
					            "workload: size=%s: expected N or MIN-MAX%s", v,
					            "");
			} else if (!parse_u64(tmp, &lo)) {
				return perr(err, errlen,
				            "workload: size=%s: expected N or MIN-MAX%s", v, "");
			} else {
				hi = lo;
			}
			if (lo > hi || hi > (UINT64_C(64) << 20))
				return perr(err, errlen,
				            "workload: size=%s: need MIN <= MAX <= 64 MiB%s", v,
				            "");
			w.size_min = (uint32_t)lo;
			w.size_max = (uint32_t)hi;
		} else if (!strcmp(k, "align")) {
			if (!strcmp(v, "any"))
				w.align = DC_ALIGN_ANY;
			else if (!strcmp(v, "line"))
				w.align = DC_ALIGN_LINE;
			else if (!strcmp(v, "page"))
				w.align = 0;
			else if (parse_u64(v, &n) && n < DC_PAGE_SIZE)
				w.align = (int)n;
			else
				return perr(
				    err, errlen,
				    "workload: align=%s: expected any, line, page or 0-4095%s", v,
				    "");
		} else if (!strcmp(k, "zone")) {
			if (!strcmp(v, "any"))
				w.zone = DC_ZONE_ANY;
			else if (!strcmp(v, "isa"))
				w.zone = DC_ZONE_ISA;
			else if (!strcmp(v, "dma32"))
				w.zone = DC_ZONE_DMA32;
			else if (!strcmp(v, "high"))
				w.zone = DC_ZONE_HIGH;
			else
				return perr(err, errlen,
				            "workload: zone=%s: expected any, isa, dma32 or high%s",
				            v, "");
		} else {
			return perr(
			    err, errlen,
			    "workload: unknown key '%s' (count, read, write, ioctl, size, align, "
			    "zone, outstanding, seed, fault)%s",
			    k, "");
		}
	}
	if (w.fault && w.outstanding > 1)
		return perr(err, errlen, "workload: fault=N needs outstanding=1%s%s", "", "");
	if (w.w_read + w.w_write + w.w_ioctl == 0)
		return perr(err, errlen, "workload: read, write and ioctl weights are all 0%s%s",
		            "", "");
	*w0 = w;
	return DC_OK;
}

/* One request in flight. */
struct req {
	PIRP irp;
	UCHAR major;
	bool ioctl;
	bool faulted;
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

static void mismatch(struct dc_run_stats *st, const char *kind, uint64_t irp, uint64_t off,
                     const uint8_t *want, const uint8_t *got, uint64_t n)
{
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

/* ---- Stream devices (sb16) ----------------------------------------------------------------
 * One format for the run (from the seed: 8-bit unsigned or 16-bit signed, mono or stereo, at
 * 44.1 kHz), then writes and reads in the seeded mix.  Every write's bytes must appear in the
 * device's sink back to back, in the order sent, followed by nothing but silence; the reads,
 * in the order sent, must get the capture source from position 0.  The source is seeded bytes
 * kept STREAM_AHEAD beyond what the reads have asked for (a driver records ahead of its reads
 * at the end of a block).  An injected transfer error stops the device after a block: the
 * driver must recover without losing a byte, so those requests must succeed too. */

#define STREAM_AHEAD (UINT64_C(256) << 10)
#define STREAM_DRAIN_NS UINT64_C(60000000000)
#define STREAM_QUIET_NS UINT64_C(3000000000)
#define STREAM_STEP_NS UINT64_C(10000000)

struct stream_req {
	PIRP irp;
	UCHAR major;
	bool ioctl;
	uint8_t *buf;
	ULONG len;
	uint64_t at; /* where its bytes go in the sink (write) or come from in the source (read) */
	ULONGLONG cap;
};

struct stream_write {
	uint64_t irp, at, len;
};

static bool grow(uint8_t **p, uint64_t *cap, uint64_t need)
{
	if (need <= *cap)
		return true;
	uint64_t n = DC_MAX(need, *cap * 2);
	uint8_t *q = realloc(*p, n);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static int run_stream(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top,
                      const struct dc_workload *w, struct dc_run_stats *st, dc_run_progress_fn fn,
                      void *opaque, char *err, size_t errlen)
{
	struct dc_machine *m = s->m;
	const struct dc_device_ops *ops = d->dev.ops;
	void *dev = d->dev.opaque;
	struct dc_rng r, rs;
	dc_rng_seed(&r, w->seed);
	dc_rng_seed(&rs, w->seed ^ UINT64_C(0x5eed5011ce));
	static const struct {
		unsigned short bits, channels;
	} fmts[] = {{8, 1}, {8, 2}, {16, 1}, {16, 2}};
	unsigned fi = (unsigned)dc_rng_below(&r, 4);
	DMACOH_STREAM_FORMAT f = {44100, fmts[fi].bits, fmts[fi].channels, fmts[fi].bits == 16};
	uint32_t frame = (uint32_t)f.BitsPerSample / 8 * f.Channels;
	uint32_t lo = w->size_min, hi = w->size_max;
	if (!lo && !hi) {
		lo = frame;
		hi = 65536;
	}
	lo -= lo % frame;
	hi -= hi % frame;
	if (!hi) {
		snprintf(err, errlen,
		         "workload: size %u-%u holds no %u-byte frame (sb16 streams whole frames)",
		         w->size_min, w->size_max, frame);
		return DC_ERR_INVAL;
	}
	if (!lo)
		lo = frame;
	uint64_t t0 = m->clock.now;
	uint8_t *sinkm = NULL, *src = NULL; /* the writes back to back; the capture source */
	uint64_t sink_cap = 0, sink_len = 0, src_cap = 0, src_len = 0, read_at = 0;
	struct stream_write *wr = NULL;
	uint64_t n_wr = 0, wr_cap = 0;
	struct stream_req *rq = calloc(w->outstanding, sizeof(*rq));
	int rc = DC_OK;
	if (!rq)
		return DC_ERR_NOMEM;

	/* The format first. */
	IO_STATUS_BLOCK io;
	PIRP irp =
	    dc_sys_build_ioctl(s, top, IOCTL_DMACOH_STREAM_SET_FORMAT, &f, sizeof(f), NULL, 0);
	if (!irp)
		goto nomem;
	dc_sys_send(s, irp);
	if (dc_sys_wait(s, irp, UINT64_C(10000000000))) {
		st->hung++;
		goto out;
	}
	io = dc_sys_finish(s, irp);
	if (!NT_SUCCESS(io.Status)) {
		st->failed++;
		goto out;
	}

	unsigned total_w = w->w_read + w->w_write + w->w_ioctl;
	uint64_t issued = 0, data_irps = 0;
	while (issued < w->count && !st->hung) {
		unsigned nb = 0;
		uint64_t batch = DC_MIN((uint64_t)w->outstanding, w->count - issued);
		for (uint64_t b = 0; b < batch; b++, nb++) {
			struct stream_req *q = &rq[nb];
			memset(q, 0, sizeof(*q));
			unsigned pick = (unsigned)dc_rng_below(&r, total_w);
			if (pick >= w->w_read + w->w_write) {
				q->ioctl = true;
				q->irp = dc_sys_build_ioctl(s, top, IOCTL_DMACOH_QUERY_CAPACITY,
				                            NULL, 0, &q->cap, sizeof(q->cap));
				if (!q->irp)
					goto nomem;
				continue;
			}
			q->major = pick < w->w_read ? IRP_MJ_READ : IRP_MJ_WRITE;
			q->len = lo + (uint32_t)dc_rng_below(&r, (uint64_t)(hi - lo) / frame + 1) *
			                  frame;
			q->buf = dc_sys_alloc_buffer(
			    s, q->len, pick_boff(&r, w->align, m->plat.line_size), w->zone);
			if (!q->buf)
				goto nomem;
			if (q->major == IRP_MJ_WRITE) {
				if (!grow(&sinkm, &sink_cap, sink_len + q->len))
					goto nomem;
				gen(&r, sinkm + sink_len, q->len);
				dc_cpu_write(m, q->buf, sinkm + sink_len, q->len);
				q->at = sink_len;
				sink_len += q->len;
			} else {
				/* The source stays STREAM_AHEAD beyond what the reads asked for. */
				q->at = read_at;
				read_at += q->len;
				uint64_t need = read_at + STREAM_AHEAD;
				if (need > src_len) {
					if (!grow(&src, &src_cap, need))
						goto nomem;
					gen(&rs, src + src_len, need - src_len);
					if (ops->store_write(dev, src_len, src + src_len,
					                     need - src_len))
						goto nomem;
					src_len = need;
				}
				dc_cpu_fill(m, q->buf, 0xA5, q->len);
			}
			q->irp = dc_sys_build_rw(s, top, q->major, q->buf, q->len, 0);
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
			if (dc_sys_wait(s, q->irp, UINT64_C(10000000000))) {
				st->hung++;
				q->buf = NULL;
				for (unsigned j = i + 1; j < nb; j++)
					if (!dc_sys_irp_done(rq[j].irp))
						rq[j].buf = NULL;
				break;
			}
			io = dc_sys_finish(s, q->irp);
			q->irp = NULL;
			if (q->ioctl) {
				st->ioctls++;
				if (!NT_SUCCESS(io.Status))
					st->failed++;
				else if (q->cap < hi)
					st->mismatched++;
				continue;
			}
			if (q->major == IRP_MJ_READ)
				st->reads++;
			else
				st->writes++;
			if (!NT_SUCCESS(io.Status)) {
				st->failed++;
				continue;
			}
			st->bytes += io.Information;
			if (io.Information != q->len) {
				st->mismatched++;
				continue;
			}
			if (q->major == IRP_MJ_WRITE) {
				/* Checked against the sink once everything has played. */
				if (n_wr == wr_cap) {
					uint64_t nc = wr_cap ? 2 * wr_cap : 64;
					struct stream_write *p = realloc(wr, nc * sizeof(*wr));
					if (!p)
						goto nomem;
					wr = p;
					wr_cap = nc;
				}
				wr[n_wr++] = (struct stream_write){irpno, q->at, q->len};
				continue;
			}
			uint8_t *got = malloc(q->len);
			if (!got)
				goto nomem;
			dc_cpu_read(m, q->buf, got, q->len);
			mismatch(st, "read", irpno, q->at, src + q->at, got, q->len);
			free(got);
		}
		for (unsigned i = 0; i < nb; i++) {
			if (rq[i].buf)
				dc_sys_free_buffer(s, rq[i].buf);
			rq[i].buf = NULL;
		}
		issued += batch;
		if (fn && fn(opaque, issued, w->count))
			break;
	}
	if (st->hung)
		goto out;

	/* The last writes are in the driver's DMA buffer: let the device play them.  A device
	 * that stopped short (a transfer error) gets STREAM_QUIET_NS for its driver to notice
	 * and start it again. */
	uint64_t want_len = 0, quiet = 0;
	for (uint64_t i = 0; i < n_wr; i++)
		want_len += wr[i].len;
	for (uint64_t waited = 0;; waited += STREAM_STEP_NS) {
		struct dc_sb16_state ss;
		uint64_t have;
		dc_sb16_state(dev, &ss);
		dc_sb16_sink(dev, &have, NULL);
		if (ss.s[DC_SB16_STREAM_8].run == DC_SB16_IDLE &&
		    ss.s[DC_SB16_STREAM_16].run == DC_SB16_IDLE) {
			quiet += STREAM_STEP_NS;
			if (have >= want_len || quiet > STREAM_QUIET_NS)
				break;
		} else {
			quiet = 0;
		}
		if (waited >= STREAM_DRAIN_NS) {
			st->hung++;
			goto out;
		}
		dc_sys_run_for(s, STREAM_STEP_NS);
	}
	uint64_t played;
	const uint8_t *sink = dc_sb16_sink(dev, &played, NULL);
	/* Every successful write where it belongs (a write that failed leaves its bytes out,
	 * and the bytes after it move up). */
	uint64_t shift = 0, next = 0;
	for (uint64_t i = 0; i < n_wr; i++) {
		shift += wr[i].at - next;
		next = wr[i].at + wr[i].len;
		uint64_t at = wr[i].at - shift;
		if (at + wr[i].len > played) {
			st->mismatched++; /* not (all) played */
			continue;
		}
		mismatch(st, "write", wr[i].irp, at, sinkm + wr[i].at, sink + at, wr[i].len);
	}
	/* Then only silence. */
	uint64_t end = next - shift;
	for (uint64_t i = end; i < played; i++) {
		uint8_t want = f.BitsPerSample == 8 ? 0x80 : 0x00;
		if (sink[i] != want) {
			uint8_t *tail = malloc(played - end);
			if (!tail)
				goto nomem;
			for (uint64_t j = end; j < played; j++)
				tail[j - end] = f.BitsPerSample == 8 ? 0x80 : 0x00;
			mismatch(st, "silence", st->irps, end, tail, sink + end, played - end);
			free(tail);
			break;
		}
	}
	goto out;
nomem:
	snprintf(err, errlen, "out of simulated memory building a request");
	rc = DC_ERR_NOMEM;
out:
	for (unsigned i = 0; i < w->outstanding; i++)
		if (rq[i].buf && !rq[i].irp)
			dc_sys_free_buffer(s, rq[i].buf);
	st->sim_ns = m->clock.now - t0;
	free(rq);
	free(wr);
	free(sinkm);
	free(src);
	return rc;
}

int dc_run_workload(struct dc_sys *s, struct dc_sysdev *d, PDEVICE_OBJECT top,
                    const struct dc_workload *w, struct dc_run_stats *st, dc_run_progress_fn fn,
                    void *opaque, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	dc_sys_cur = s;
	if (!strcmp(d->kind, "sb16"))
		return run_stream(s, d, top, w, st, fn, opaque, err, errlen);
	struct dc_machine *m = s->m;
	const struct dc_device_ops *ops = d->dev.ops;
	bool frame = !strcmp(d->kind, "ring");
	uint32_t gran =
	    !strcmp(d->kind, "sysblk") || !strcmp(d->kind, "bmblk") || !strcmp(d->kind, "fdc") ? 512
	                                                                                       : 1;
	uint64_t store = frame ? 0 : ops->store_size(d->dev.opaque);
	uint32_t lo = w->size_min, hi = w->size_max;
	if (!lo && !hi) {
		lo = frame ? 1 : gran;
		hi = frame ? 1514 : 65536;
	}
	uint64_t slot = frame ? 0 : store / w->outstanding;
	slot -= slot % gran;
	if (frame && hi > DC_RING_MAX_FRAME)
		return snprintf(err, errlen, "workload: frames are at most %u bytes",
		                DC_RING_MAX_FRAME),
		       DC_ERR_INVAL;
	if (!frame && (hi - hi % gran > slot || (lo && lo < gran && hi < gran))) {
		snprintf(
		    err, errlen,
		    "workload: size %u-%u does not fit this device (%s: %llu-byte store%s, %u-byte "
		    "sectors)",
		    lo, hi, d->kind, (unsigned long long)store,
		    w->outstanding > 1 ? " shared by the outstanding requests" : "", gran);
		return DC_ERR_INVAL;
	}
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
	if (!rq) {
		free(model);
		return DC_ERR_NOMEM;
	}
	uint64_t t0 = m->clock.now;
	unsigned total_w = w->w_read + w->w_write + w->w_ioctl;
	uint64_t issued = 0, data_irps = 0;
	int rc = DC_OK;
	while (issued < w->count && !st->hung) {
		unsigned nb = 0;
		uint64_t batch = DC_MIN((uint64_t)w->outstanding, w->count - issued);
		for (uint64_t b = 0; b < batch; b++) {
			unsigned pick = (unsigned)dc_rng_below(&r, total_w);
			struct req *q = &rq[nb];
			memset(q, 0, sizeof(*q));
			if (pick >= w->w_read + w->w_write) {
				q->ioctl = true;
				q->irp = dc_sys_build_ioctl(s, top, IOCTL_DMACOH_QUERY_CAPACITY,
				                            NULL, 0, &q->cap, sizeof(q->cap));
				if (!q->irp)
					goto nomem;
				nb++;
				continue;
			}
			q->major = pick < w->w_read ? IRP_MJ_READ : IRP_MJ_WRITE;
			uint32_t len = lo + (uint32_t)dc_rng_below(&r, (uint64_t)hi - lo + 1);
			len -= len % gran;
			if (frame && !len)
				len = 1;
			if (!frame) {
				uint64_t room = slot - len;
				q->off = b * slot + dc_rng_below(&r, room / gran + 1) * gran;
			}
			if (frame && q->major == IRP_MJ_READ)
				q->major = IRP_MJ_WRITE; /* frames: a write, then the read that gets
				                            it back */
			q->len = len;
			q->buf = dc_sys_alloc_buffer(
			    s, len, pick_boff(&r, w->align, m->plat.line_size), w->zone);
			q->data = malloc(len ? len : 1);
			if (!q->buf || !q->data)
				goto nomem;
			if (q->major == IRP_MJ_WRITE) {
				gen(&r, q->data, len);
				dc_cpu_write(m, q->buf, q->data, len);
			} else {
				memcpy(q->data, model + q->off, len);
				dc_cpu_fill(m, q->buf, 0xA5, len);
			}
			q->irp = dc_sys_build_rw(s, top, q->major, q->buf, len, q->off);
			if (!q->irp)
				goto nomem;
			data_irps++;
			if (!frame && w->fault && len && data_irps % w->fault == 0 &&
			    ops->inject_fault) {
				ops->inject_fault(d->dev.opaque, DC_FAULT_TRANSFER_ERROR);
				q->faulted = true;
				st->faults++;
			}
			nb++;
			if (frame) {
				/* The read that receives this frame, queued before the write is
				 * sent. */
				struct req *rd = &rq[nb];
				memset(rd, 0, sizeof(*rd));
				rd->major = IRP_MJ_READ;
				rd->len = DC_RING_MAX_FRAME;
				rd->buf = dc_sys_alloc_buffer(
				    s, rd->len, pick_boff(&r, w->align, m->plat.line_size),
				    w->zone);
				if (!rd->buf)
					goto nomem;
				rd->data = q->data; /* shared: freed with the write */
				dc_cpu_fill(m, rd->buf, 0xA5, rd->len);
				rd->irp = dc_sys_build_rw(s, top, IRP_MJ_READ, rd->buf, rd->len, 0);
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
		for (unsigned i = 0; i < nb; i++)
			dc_sys_send(s, rq[i].irp);
		for (unsigned i = 0; i < nb; i++) {
			struct req *q = &rq[i];
			uint64_t irpno = ++st->irps;
			if (dc_sys_wait(s, q->irp, UINT64_C(10000000000))) {
				st->hung++;
				/* The driver keeps the IRP; its buffer stays allocated with it. */
				q->buf = NULL;
				for (unsigned j = i + 1; j < nb; j++)
					if (!dc_sys_irp_done(rq[j].irp))
						rq[j].buf = NULL;
				break;
			}
			IO_STATUS_BLOCK io = dc_sys_finish(s, q->irp);
			q->irp = NULL;
			if (q->ioctl) {
				st->ioctls++;
				if (!NT_SUCCESS(io.Status))
					st->failed++;
				else if (!frame && q->cap != store)
					st->mismatched++;
				continue;
			}
			if (q->major == IRP_MJ_READ)
				st->reads++;
			else
				st->writes++;
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
				if (!frame &&
				    q->major == IRP_MJ_WRITE) /* the medium may hold part of it */
					ops->store_read(d->dev.opaque, q->off, model + q->off,
					                q->len);
				continue;
			}
			st->bytes += io.Information;
			uint8_t *got = malloc(q->len ? q->len : 1);
			if (!got) {
				rc = DC_ERR_NOMEM;
				break;
			}
			if (frame && q->major == IRP_MJ_READ) {
				ULONG want = (ULONG)q->off;
				dc_cpu_read(m, q->buf, got, want);
				if (io.Information != want)
					st->mismatched++;
				else
					mismatch(st, "receive", irpno, 0, q->data, got, want);
			} else if (q->major == IRP_MJ_WRITE) {
				if (!frame) {
					ops->store_read(d->dev.opaque, q->off, got, q->len);
					mismatch(st, "write", irpno, q->off, q->data, got, q->len);
					memcpy(model + q->off, got, q->len);
				}
			} else {
				dc_cpu_read(m, q->buf, got, q->len);
				mismatch(st, "read", irpno, q->off, q->data, got, q->len);
			}
			free(got);
		}
		for (unsigned i = 0; i < nb; i++) {
			if (rq[i].buf)
				dc_sys_free_buffer(s, rq[i].buf);
			if (!(frame && rq[i].major == IRP_MJ_READ))
				free(rq[i].data);
		}
		issued += batch;
		if (fn && fn(opaque, issued, w->count))
			break;
		if (rc)
			break;
	}
	st->sim_ns = m->clock.now - t0;
	free(rq);
	free(model);
	return rc;
nomem:
	snprintf(err, errlen, "out of simulated memory building a request");
	free(rq);
	free(model);
	return DC_ERR_NOMEM;
}
