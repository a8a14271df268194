/* The bus-master scatter/gather engine: see busmaster.h.  Time is computed from the transfer's
 * start (t0 + bytes so far / bandwidth), never by adding rounded per-run delays, so the finish
 * time of a transfer does not depend on how it was cut into runs. */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "busmaster.h"
#include "machine.h"
#include "rng.h"

static void bm_event(void *opaque);

int dc_busmaster_init(struct dc_busmaster *bm, struct dc_machine *m, struct dc_bridge *br,
                      int source, uint32_t addr_bits, uint64_t bw)
{
	*bm = (struct dc_busmaster){0};
	if (!m || !br || addr_bits < 1 || addr_bits > 64 || source < 0 ||
	    source >= DC_MAX_DMA_SOURCES)
		return DC_ERR_INVAL;
	bm->m = m;
	bm->br = br;
	bm->source = source;
	bm->addr_mask = addr_bits == 64 ? UINT64_MAX : (UINT64_C(1) << addr_bits) - 1;
	bm->bw = bw ? bw : m->plat.bm_bw;
	if (!bm->bw)
		return DC_ERR_INVAL;
	bm->ns_per_byte = 1000000000u % bm->bw ? 0 : 1000000000u / bm->bw;
	bm->run_max = DC_BM_RUN_MAX;
	bm->fail_after = bm->fail_next = UINT64_MAX;
	dc_event_init(&bm->ev, "busmaster", bm_event, bm);
	return DC_OK;
}

void dc_busmaster_fini(struct dc_busmaster *bm)
{
	if (bm->m)
		dc_event_cancel(&bm->m->clock, &bm->ev);
	free(bm->segs);
	bm->segs = NULL;
	bm->busy = false;
}

uint64_t dc_busmaster_ns(const struct dc_busmaster *bm, uint64_t n)
{
	/* A division costs as much as the rest of a small transfer's bookkeeping: the common
	 * bandwidths are a whole number of nanoseconds per byte. */
	if (bm->ns_per_byte && n <= UINT64_MAX / bm->ns_per_byte)
		return n * bm->ns_per_byte;
	if (n <= UINT64_MAX / 1000000000u - bm->bw)
		return (n * 1000000000u + bm->bw - 1) / bm->bw;
	return (uint64_t)(((dc_u128)n * 1000000000u + bm->bw - 1) / bm->bw);
}

/* Bytes of the next run: up to run_max, across segment boundaries, not past an injected
 * failure. */
static uint64_t next_run(const struct dc_busmaster *bm)
{
	uint64_t k = DC_MIN(bm->total - bm->done, (uint64_t)bm->run_max);
	if (bm->fail_after != UINT64_MAX)
		k = DC_MIN(k, bm->fail_after - bm->done);
	return k;
}

static void skip_empty(struct dc_busmaster *bm)
{
	while (bm->seg_i < bm->n_segs && bm->seg_off == bm->segs[bm->seg_i].len) {
		bm->seg_i++;
		bm->seg_off = 0;
	}
}

/* Schedules the event at which the next run (or the end) is due. */
static void schedule(struct dc_busmaster *bm)
{
	uint64_t k = 0;
	if (bm->done < bm->total && bm->done < bm->fail_after)
		k = next_run(bm);
	int err =
	    dc_event_schedule(&bm->m->clock, &bm->ev, bm->t0 + dc_busmaster_ns(bm, bm->done + k));
	DC_ASSERT(err == DC_OK);
}

static void finish(struct dc_busmaster *bm, int status)
{
	/* A failure armed past the last byte still fails the transfer: the fault is per command. */
	if (status == DC_OK && bm->fail_after != UINT64_MAX)
		status = DC_ERR_IO;
	bm->busy = false;
	bm->fail_after = UINT64_MAX;
	if (status < 0) {
		bm->st.errors++;
		dc_bridge_set_error(bm->br, bm->source);
	}
	if (bm->done_fn)
		bm->done_fn(bm->done_opaque, status, bm->done);
}

/* Moves the next k bytes, one bridge access per piece of a segment; a piece never crosses the
 * top of the device's address space (the driven address wraps there). */
static int move(struct dc_busmaster *bm, uint64_t k)
{
	while (k) {
		skip_empty(bm);
		DC_ASSERT(bm->seg_i < bm->n_segs);
		const struct dc_bm_seg *s = &bm->segs[bm->seg_i];
		uint64_t a = (s->addr + bm->seg_off) & bm->addr_mask;
		uint64_t l = DC_MIN(k, (uint64_t)s->len - bm->seg_off);
		if (bm->addr_mask != UINT64_MAX)
			l = DC_MIN(l, bm->addr_mask - a + 1);
		if (bm->dir == DC_DIR_FROM_DEVICE) {
			dc_bridge_post(bm->br, bm->source, a, bm->dev + bm->done, l);
		} else {
			int err = dc_bridge_read(bm->br, bm->source, a, bm->dev + bm->done, l);
			if (err < 0)
				return err;
		}
		bm->st.bytes += l;
		bm->done += l;
		bm->seg_off += l;
		k -= l;
		if (bm->seg_off == s->len)
			bm->st.segments++;
	}
	return DC_OK;
}

static void bm_event(void *opaque)
{
	struct dc_busmaster *bm = opaque;
	DC_ASSERT(bm->busy);
	if (bm->done == bm->total) {
		finish(bm, DC_OK);
		return;
	}
	if (bm->done == bm->fail_after) {
		finish(bm, DC_ERR_IO);
		return;
	}
	bm->st.runs++;
	int err = move(bm, next_run(bm));
	if (err < 0) {
		finish(bm, err);
		return;
	}
	if (bm->done == bm->total) {
		finish(bm, DC_OK);
		return;
	}
	schedule(bm);
}

int dc_busmaster_start(struct dc_busmaster *bm, const struct dc_bm_seg *segs, uint32_t n,
                       enum dc_dir dir, void *dev, dc_bm_done_fn done, void *opaque)
{
	if (bm->busy)
		return DC_ERR_BUSY;
	if (n > bm->segs_cap) {
		struct dc_bm_seg *s = realloc(bm->segs, (size_t)n * sizeof(*s));
		if (!s)
			return DC_ERR_NOMEM;
		bm->segs = s;
		bm->segs_cap = n;
	}
	if (n)
		memcpy(bm->segs, segs, (size_t)n * sizeof(*segs));
	bm->n_segs = n;
	bm->seg_i = 0;
	bm->seg_off = 0;
	bm->dir = dir;
	bm->dev = dev;
	bm->done = 0;
	bm->total = 0;
	for (uint32_t i = 0; i < n; i++)
		bm->total += segs[i].len;
	bm->t0 = bm->m->clock.now + bm->latency_ns;
	bm->fail_after = bm->fail_next;
	bm->fail_next = UINT64_MAX;
	bm->done_fn = done;
	bm->done_opaque = opaque;
	bm->busy = true;
	bm->st.transfers++;
	skip_empty(bm);
	schedule(bm);
	return DC_OK;
}

uint64_t dc_busmaster_abort(struct dc_busmaster *bm)
{
	dc_event_cancel(&bm->m->clock, &bm->ev);
	bm->busy = false;
	bm->fail_after = UINT64_MAX;
	return bm->done;
}

void dc_busmaster_fail_next(struct dc_busmaster *bm, uint64_t bytes)
{
	bm->fail_next = bytes;
}

int dc_busmaster_read_now(struct dc_busmaster *bm, uint64_t addr, void *dst, uint64_t len)
{
	uint8_t *d = dst;
	while (len) {
		uint64_t a = addr & bm->addr_mask;
		uint64_t k = bm->addr_mask == UINT64_MAX ? len : DC_MIN(len, bm->addr_mask - a + 1);
		int err = dc_bridge_read(bm->br, bm->source, a, d, k);
		if (err < 0)
			return err;
		addr += k;
		d += k;
		len -= k;
	}
	return DC_OK;
}

void dc_busmaster_write_now(struct dc_busmaster *bm, uint64_t addr, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	while (len) {
		uint64_t a = addr & bm->addr_mask;
		uint64_t k = bm->addr_mask == UINT64_MAX ? len : DC_MIN(len, bm->addr_mask - a + 1);
		dc_bridge_post(bm->br, bm->source, a, s, k);
		addr += k;
		s += k;
		len -= k;
	}
}

bool dc_busmaster_drain(struct dc_busmaster *bm)
{
	return dc_bridge_drain(bm->br, bm->source);
}
