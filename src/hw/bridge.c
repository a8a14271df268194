/* The host bridge's posted-write buffer: see bridge.h.  The bytes sit in one linear buffer of
 * `capacity` bytes, compacted when the tail would run off its end (at most capacity bytes moved,
 * and only when the oldest writes have landed), with a queue of (source, pa, offset, len) runs
 * beside it.  A write that continues the previous run of the same source extends that run, so a
 * streaming engine costs one run, and a landing one dc_dma_write per run. */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "machine.h"

struct dc_posted {
	int source;
	uint32_t off; /* in buf */
	uint32_t len;
	uint64_t pa;
};

struct dc_bridge {
	struct dc_machine *m;
	uint32_t cap;
	uint8_t *buf;
	uint32_t used;  /* bytes posted, not landed */
	uint32_t start; /* buf offset of the oldest posted byte */
	struct dc_posted *q;
	size_t q_head, q_n, q_cap;
	uint64_t pending[DC_MAX_DMA_SOURCES];
	uint32_t error; /* bit per source */
	dc_bridge_check_fn check;
	void *check_opaque;
	struct dc_bridge_stats st;
};

int dc_bridge_create(struct dc_machine *m, uint32_t capacity, struct dc_bridge **out)
{
	*out = NULL;
	if (!m)
		return DC_ERR_INVAL;
	struct dc_bridge *br = calloc(1, sizeof(*br));
	if (!br)
		return DC_ERR_NOMEM;
	br->m = m;
	br->cap = capacity;
	if (capacity) {
		br->buf = malloc(capacity);
		if (!br->buf) {
			free(br);
			return DC_ERR_NOMEM;
		}
	}
	*out = br;
	return DC_OK;
}

void dc_bridge_destroy(struct dc_bridge *br)
{
	if (!br)
		return;
	free(br->q);
	free(br->buf);
	free(br);
}

struct dc_machine *dc_bridge_machine(const struct dc_bridge *br)
{
	return br->m;
}

uint32_t dc_bridge_capacity(const struct dc_bridge *br)
{
	return br->cap;
}

const struct dc_bridge_stats *dc_bridge_stats(const struct dc_bridge *br)
{
	return &br->st;
}

static void check_source(int source)
{
	DC_ASSERT(source >= 0 && source < DC_MAX_DMA_SOURCES);
}

/* Writes bytes to memory now, under the source's id.  A failure is a master abort. */
static void land_bytes(struct dc_bridge *br, int source, uint64_t pa, const void *src, uint64_t len)
{
	if (dc_dma_write(br->m, source, pa, src, len) < 0) {
		br->st.land_errors++;
		br->error |= 1u << source;
	}
}

/* Lands the first k bytes of the oldest run. */
static void land_front(struct dc_bridge *br, uint32_t k, bool full)
{
	DC_ASSERT(br->q_n > 0);
	struct dc_posted *p = &br->q[br->q_head];
	DC_ASSERT(k > 0 && k <= p->len && p->off == br->start);
	land_bytes(br, p->source, p->pa, br->buf + p->off, k);
	if (full)
		br->st.landed_full += k;
	else
		br->st.landed_flush += k;
	br->pending[p->source] -= k;
	br->used -= k;
	br->start += k;
	p->pa += k;
	p->off += k;
	p->len -= k;
	if (p->len == 0) {
		br->q_head++;
		br->q_n--;
	}
	if (br->used == 0) {
		br->start = 0;
		br->q_head = 0;
		DC_ASSERT(br->q_n == 0);
	}
}

static void land_runs(struct dc_bridge *br, size_t n, bool full)
{
	while (n--)
		land_front(br, br->q[br->q_head].len, full);
}

/* Makes room for one more run at the end of the queue and len more bytes at the end of buf. */
static bool make_room(struct dc_bridge *br, uint32_t len)
{
	if (br->q_head + br->q_n == br->q_cap) {
		if (br->q_head) {
			memmove(br->q, br->q + br->q_head, br->q_n * sizeof(*br->q));
			br->q_head = 0;
		} else {
			size_t cap = br->q_cap ? br->q_cap * 2 : 16;
			struct dc_posted *q = realloc(br->q, cap * sizeof(*q));
			if (!q)
				return false;
			br->q = q;
			br->q_cap = cap;
		}
	}
	if (br->start + br->used + len > br->cap) {
		memmove(br->buf, br->buf + br->start, br->used);
		for (size_t i = 0; i < br->q_n; i++)
			br->q[br->q_head + i].off -= br->start;
		br->start = 0;
	}
	return true;
}

void dc_bridge_post(struct dc_bridge *br, int source, uint64_t pa, const void *src, uint64_t len)
{
	check_source(source);
	if (br->check)
		br->check(br->check_opaque, source, pa, len, DC_DIR_FROM_DEVICE);
	if (len == 0)
		return;
	br->st.posts++;
	br->st.posted_bytes += len;
	const uint8_t *s = src;
	if (len >= br->cap) {
		/* The write alone fills the buffer: everything older lands, then the head of this
		 * write; only its last cap bytes stay posted. */
		uint64_t through = len - br->cap;
		land_runs(br, br->q_n, true);
		if (through) {
			land_bytes(br, source, pa, s, through);
			br->st.landed_full += through;
		}
		pa += through;
		s += through;
		len = br->cap;
		if (len == 0)
			return;
	}
	while (br->used + len > br->cap) {
		uint32_t need = (uint32_t)(br->used + len - br->cap);
		land_front(br, DC_MIN(need, br->q[br->q_head].len), true);
	}
	if (!make_room(br, (uint32_t)len)) {
		/* No host memory for the queue: land at once (ordering is kept, only timing is
		 * lost). */
		land_runs(br, br->q_n, false);
		land_bytes(br, source, pa, s, len);
		br->st.landed_flush += len;
		return;
	}
	uint32_t off = br->start + br->used;
	memcpy(br->buf + off, s, len);
	struct dc_posted *last = br->q_n ? &br->q[br->q_head + br->q_n - 1] : NULL;
	if (last && last->source == source && last->pa + last->len == pa &&
	    last->off + last->len == off) {
		last->len += (uint32_t)len;
	} else {
		br->q[br->q_head + br->q_n++] = (struct dc_posted){
		    .source = source, .off = off, .len = (uint32_t)len, .pa = pa};
	}
	br->used += (uint32_t)len;
	br->pending[source] += len;
	if (br->used > br->st.max_used)
		br->st.max_used = br->used;
}

void dc_bridge_flush(struct dc_bridge *br, int source)
{
	check_source(source);
	br->st.flushes++;
	if (!br->pending[source])
		return;
	size_t last = 0;
	for (size_t i = 0; i < br->q_n; i++)
		if (br->q[br->q_head + i].source == source)
			last = i + 1;
	land_runs(br, last, false);
	DC_ASSERT(br->pending[source] == 0);
}

void dc_bridge_flush_all(struct dc_bridge *br)
{
	br->st.flushes++;
	land_runs(br, br->q_n, false);
}

int dc_bridge_read(struct dc_bridge *br, int source, uint64_t pa, void *dst, uint64_t len)
{
	check_source(source);
	if (br->check)
		br->check(br->check_opaque, source, pa, len, DC_DIR_TO_DEVICE);
	if (br->pending[source])
		dc_bridge_flush(br, source);
	return dc_dma_read(br->m, source, pa, dst, len);
}

bool dc_bridge_drain(struct dc_bridge *br, int source)
{
	dc_bridge_flush(br, source);
	br->st.drains++;
	bool ok = !(br->error & (1u << source));
	br->error &= ~(1u << source);
	if (!ok)
		br->st.failed_drains++;
	return ok;
}

void dc_bridge_set_error(struct dc_bridge *br, int source)
{
	check_source(source);
	br->error |= 1u << source;
}

bool dc_bridge_error_pending(const struct dc_bridge *br, int source)
{
	check_source(source);
	return br->error & (1u << source);
}

uint64_t dc_bridge_pending(const struct dc_bridge *br, int source)
{
	if (source < 0)
		return br->used;
	check_source(source);
	return br->pending[source];
}

void dc_bridge_set_check(struct dc_bridge *br, dc_bridge_check_fn fn, void *opaque)
{
	br->check = fn;
	br->check_opaque = opaque;
}

uint64_t dc_mmio_window(const struct dc_machine *m)
{
	uint64_t gib = UINT64_C(1) << 30;
	uint64_t top = (m->plat.phys_size + gib - 1) & ~(gib - 1);
	return DC_MAX(DC_MMIO_WINDOW, top);
}
