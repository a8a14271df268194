/* The 8237A pair and its internal buffer.  See i8237.h and docs/devices/sysdma.md.
 *
 * Engine: a running channel has a time origin t0 and the bytes it moved since (done); at any
 * moment it owes (now - t0) * rate bytes.  ch_sync pays that debt by moving data in spans as
 * large as the registers allow (up to a page wrap or terminal count), so the host cost is a
 * few memcpy per span, never per byte.  Every entry point syncs before it changes state, so
 * a change takes effect exactly at the current simulated time. */
#include <stdlib.h>
#include <string.h>

#include "i8237.h"
#include "machine.h"

#define NS_PER_S UINT64_C(1000000000)
#define SCRATCH 4096u

static const uint8_t page_off[DC_I8237_CHANNELS] = {0x7, 0x3, 0x1, 0x2, 0xF, 0xB, 0x9, 0xA};

struct seg {
	uint64_t pa; /* address of the segment's first element */
	uint32_t len;
	bool dec;
};

struct chan {
	struct dc_i8237 *d;
	unsigned no;
	uint16_t base_addr, cur_addr, base_count, cur_count;
	uint8_t mode;
	bool mask, sreq, dreq, error, in_block, tc_pending;
	bool stalled; /* active but unable to move: waits for the device or the CPU to act */
	const struct dc_dma_client *cl;
	void *cl_opaque;
	/* The internal buffer: bytes [head, head + len) of buf.  Device->memory bytes carry their
	 * addresses in segs (they were assigned when the bytes entered); memory->device bytes
	 * need none. */
	uint8_t *buf;
	uint32_t head, len;
	enum dc_dir buf_dir;
	struct seg *segs;
	uint32_t nseg;
	uint32_t chunk_fill; /* memory->device: bytes of the last, incomplete chunk */
	bool emptying;       /* memory->device with wait_full: the buffer filled, now empties */
	/* Time */
	bool running;
	uint64_t t0, done, rate;
	struct dc_event ev;
	struct dc_i8237_stats st;
};

struct ctl {
	uint8_t cmd, status_tc;
	bool ff; /* byte pointer flip-flop: false = low byte next */
};

struct dc_i8237 {
	struct dc_machine *m;
	int src;
	enum dc_i8237_residue residue;
	uint32_t chunk, depth, cap, unit;
	bool wait_full;
	uint64_t bw;
	uint32_t addr_bits;
	struct ctl c[2];
	uint8_t page[16], hpage[16];
	struct chan ch[DC_I8237_CHANNELS];
	unsigned engine; /* >0 while device callbacks may run */
	bool dirty;      /* a DREQ changed or a TC happened inside the engine: settle everything */
	/* Channels that may be running, stalled, have an event pending, a terminal count to
	 * report or an error (bit i: channel i): a superset, kept by ch_busy() wherever a channel
	 * may become one of those and trimmed by the settles.  A channel outside it is idle and
	 * settled: nothing but a change addressed to it can make it need an update. */
	unsigned busy;
	uint8_t scratch[SCRATCH];
};

/* ---- Names and ports ---------------------------------------------------------------------- */

static const char *const xfer_names[] = {"verify", "write", "read", "illegal"};
static const char *const msel_names[] = {"demand", "single", "block", "cascade"};
static const char *const residue_names[] = {"keep", "lose"};
static const char *const reg_names[] = {"status/command", "request",        "single-mask",
                                        "mode",           "clear-flipflop", "master-clear",
                                        "clear-mask",     "all-mask"};

const char *dc_i8237_xfer_name(enum dc_i8237_xfer x)
{
	return (unsigned)x < DC_ARRAY_SIZE(xfer_names) ? xfer_names[x] : "?";
}

const char *dc_i8237_msel_name(enum dc_i8237_msel s)
{
	return (unsigned)s < DC_ARRAY_SIZE(msel_names) ? msel_names[s] : "?";
}

const char *dc_i8237_residue_name(enum dc_i8237_residue r)
{
	return (unsigned)r < DC_ARRAY_SIZE(residue_names) ? residue_names[r] : "?";
}

const char *dc_i8237_reg_name(enum dc_i8237_reg r)
{
	return (unsigned)r < DC_ARRAY_SIZE(reg_names) ? reg_names[r] : "?";
}

uint16_t dc_i8237_port_addr(unsigned ch)
{
	return ch < 4 ? (uint16_t)(ch * 2) : (uint16_t)(0xC0 + (ch - 4) * 4);
}

uint16_t dc_i8237_port_count(unsigned ch)
{
	return (uint16_t)(dc_i8237_port_addr(ch) + (ch < 4 ? 1 : 2));
}

uint16_t dc_i8237_port_page(unsigned ch)
{
	return (uint16_t)(0x80 + page_off[ch & 7]);
}

uint16_t dc_i8237_port_hpage(unsigned ch)
{
	return (uint16_t)(0x480 + page_off[ch & 7]);
}

uint16_t dc_i8237_port(unsigned ch, enum dc_i8237_reg r)
{
	return ch < 4 ? (uint16_t)(0x08 + r) : (uint16_t)(0xD0 + 2 * r);
}

/* ---- Channel helpers ---------------------------------------------------------------------- */

static inline unsigned ch_w(const struct chan *c)
{
	return dc_i8237_width(c->no);
}

static inline enum dc_i8237_xfer ch_xfer(const struct chan *c)
{
	return (enum dc_i8237_xfer)((c->mode >> 2) & 3);
}

static inline enum dc_i8237_msel ch_msel(const struct chan *c)
{
	return (enum dc_i8237_msel)(c->mode >> 6);
}

static inline bool ch_dec(const struct chan *c)
{
	return c->mode & DC_I8237_MODE_DECREMENT;
}

static uint64_t ch_pa(const struct dc_i8237 *d, const struct chan *c)
{
	unsigned po = page_off[c->no];
	uint64_t pa = (uint64_t)d->hpage[po] << 24;
	if (c->no < 4)
		pa |= (uint64_t)d->page[po] << 16 | c->cur_addr;
	else
		pa |= (uint64_t)(d->page[po] & 0xFE) << 16 | (uint64_t)c->cur_addr << 1;
	if (d->addr_bits < 64)
		pa &= (UINT64_C(1) << d->addr_bits) - 1;
	return pa;
}

/* Bytes until terminal count. */
static uint64_t ch_rem(const struct chan *c)
{
	return ((uint64_t)c->cur_count + 1) * ch_w(c);
}

/* Bytes until the address wraps inside its page. */
static uint64_t ch_seg(const struct chan *c)
{
	uint64_t t = ch_dec(c) ? (uint64_t)c->cur_addr + 1 : 0x10000 - (uint64_t)c->cur_addr;
	return t * ch_w(c);
}

static bool ch_active(const struct dc_i8237 *d, const struct chan *c)
{
	unsigned k = c->no / 4;
	if (c->no == DC_I8237_CASCADE_CH || (d->c[k].cmd & DC_I8237_CMD_DISABLE))
		return false;
	if (ch_msel(c) == DC_I8237_CASCADE)
		return false;
	if (k == 0) {
		const struct chan *c4 = &d->ch[DC_I8237_CASCADE_CH];
		if (c4->mask || ch_msel(c4) != DC_I8237_CASCADE ||
		    (d->c[1].cmd & DC_I8237_CMD_DISABLE))
			return false;
	}
	/* Software requests are not maskable, and served in block mode only (8237A datasheet). */
	if (c->sreq && ch_msel(c) == DC_I8237_BLOCK)
		return true;
	return !c->mask && (c->dreq || c->in_block);
}

static uint64_t ch_rate(const struct dc_i8237 *d, const struct chan *c)
{
	return ch_msel(c) == DC_I8237_SINGLE ? DC_MAX(d->bw / 2, 1) : d->bw;
}

/* Device asks (DREQ) or the channel runs a block to its end. */
static bool ch_requested(const struct chan *c)
{
	return c->dreq || c->in_block;
}

/* ---- The buffer --------------------------------------------------------------------------- */

static inline void ch_busy(struct chan *c)
{
	c->d->busy |= 1u << c->no;
}

static bool ch_idle(const struct chan *c)
{
	return !c->running && !c->stalled && !c->tc_pending && !c->error &&
	       !dc_event_pending(&c->ev);
}

static void note_error(struct chan *c)
{
	c->error = true;
	c->st.errors++;
	ch_busy(c);
}

/* Writes n bytes of the stream p to memory, the first element at pa, going down if dec. */
static void mem_write(struct dc_i8237 *d, struct chan *c, uint64_t pa, bool dec, const uint8_t *p,
                      uint64_t n)
{
	if (!n)
		return;
	c->st.mem_bytes += n;
	if (!dec) {
		if (dc_dma_write(d->m, d->src, pa, p, n) < 0)
			note_error(c);
		return;
	}
	/* Decrement mode: element k of the stream lands at pa - k*w; memory order is reversed
	 * by elements.  Rare, so element-wise through the scratch buffer. */
	unsigned w = ch_w(c);
	uint64_t elems = n / w, lo = pa - (elems - 1) * w;
	for (uint64_t off = 0; off < n; off += SCRATCH) {
		uint64_t piece = DC_MIN((uint64_t)SCRATCH, n - off);
		for (uint64_t j = 0; j < piece; j += w) {
			uint64_t e = elems - 1 - (off + j) / w;
			memcpy(d->scratch + j, p + e * w, w);
		}
		if (dc_dma_write(d->m, d->src, lo + off, d->scratch, piece) < 0)
			note_error(c);
	}
}

/* Reads n bytes of the stream whose first element is at pa (going down if dec) into dst. */
static void mem_read(struct dc_i8237 *d, struct chan *c, uint64_t pa, bool dec, uint8_t *dst,
                     uint64_t n)
{
	if (!n)
		return;
	c->st.mem_bytes += n;
	if (!dec) {
		if (dc_dma_read(d->m, d->src, pa, dst, n) < 0) {
			note_error(c);
			memset(dst, 0xFF, n);
		}
		return;
	}
	unsigned w = ch_w(c);
	uint64_t elems = n / w, lo = pa - (elems - 1) * w;
	for (uint64_t off = 0; off < n; off += SCRATCH) {
		uint64_t piece = DC_MIN((uint64_t)SCRATCH, n - off);
		if (dc_dma_read(d->m, d->src, lo + off, d->scratch, piece) < 0) {
			note_error(c);
			memset(d->scratch, 0xFF, piece);
		}
		for (uint64_t j = 0; j < piece; j += w) {
			uint64_t e = elems - 1 - (off + j) / w;
			memcpy(dst + e * w, d->scratch + j, w);
		}
	}
}

static void buf_clear(struct chan *c)
{
	c->head = c->len = 0;
	c->nseg = 0;
	c->chunk_fill = 0;
	c->emptying = false;
}

/* Device->memory: every held byte to its address. */
static void buf_write_all(struct dc_i8237 *d, struct chan *c)
{
	uint32_t off = c->head;
	for (uint32_t i = 0; i < c->nseg; i++) {
		mem_write(d, c, c->segs[i].pa, c->segs[i].dec, c->buf + off, c->segs[i].len);
		off += c->segs[i].len;
	}
	buf_clear(c);
}

static void buf_lose(struct chan *c)
{
	c->st.lost_bytes += c->len;
	buf_clear(c);
}

/* The buffer is about to carry bytes in direction dir: bytes held for the other direction
 * leave first (to memory, late; or dropped, since no device asks for them). */
static void buf_turn(struct dc_i8237 *d, struct chan *c, enum dc_dir dir)
{
	if (c->len && c->buf_dir != dir) {
		if (c->buf_dir == DC_DIR_FROM_DEVICE)
			buf_write_all(d, c);
		else
			buf_lose(c);
	}
	c->buf_dir = dir;
}

/* Room at the tail for n bytes: compacts to the start when needed. */
static uint8_t *buf_tail(struct chan *c, uint32_t n)
{
	DC_ASSERT(c->len + n <= c->d->cap);
	if (c->head + c->len + n > c->d->cap) {
		memmove(c->buf, c->buf + c->head, c->len);
		c->head = 0;
	}
	return c->buf + c->head + c->len;
}

static void buf_append_tagged(struct chan *c, uint64_t pa, bool dec, const uint8_t *p, uint32_t n)
{
	if (!n)
		return;
	memcpy(buf_tail(c, n), p, n);
	struct seg *last = c->nseg ? &c->segs[c->nseg - 1] : NULL;
	if (last && last->dec == dec && (dec ? last->pa - last->len : last->pa + last->len) == pa) {
		last->len += n;
	} else {
		DC_ASSERT(c->nseg <= c->d->cap);
		c->segs[c->nseg++] = (struct seg){pa, n, dec};
	}
	c->len += n;
}

/* Device->memory: n bytes taken from the device at the channel's current address.  Whole
 * units (a chunk, or the full buffer with wait_full) go to memory; the rest stays. */
static void buf_in(struct dc_i8237 *d, struct chan *c, const uint8_t *p, uint32_t n)
{
	uint64_t pa = ch_pa(d, c);
	bool dec = ch_dec(c);
	buf_turn(d, c, DC_DIR_FROM_DEVICE);
	uint64_t total = (uint64_t)c->len + n;
	uint64_t out = total - total % d->unit;
	if (!out) {
		buf_append_tagged(c, pa, dec, p, n);
		return;
	}
	uint32_t direct = (uint32_t)(out - c->len);
	buf_write_all(d, c);
	mem_write(d, c, pa, dec, p, direct);
	buf_append_tagged(c, dec ? pa - direct : pa + direct, dec, p + direct, n - direct);
}

/* Memory->device: hands the device what may leave the buffer (drain: everything). */
static void buf_deliver(struct dc_i8237 *d, struct chan *c, bool drain)
{
	unsigned w = ch_w(c);
	while (c->len) {
		uint32_t avail;
		if (drain)
			avail = c->len;
		else if (d->wait_full)
			avail = c->emptying ? c->len : 0;
		else
			avail = c->len - c->chunk_fill;
		avail -= avail % w;
		if (!avail)
			break;
		if (!drain && !ch_requested(c))
			break;
		uint32_t room = 0;
		uint8_t *dst = NULL;
		if (c->cl && c->cl->dack_to_device)
			dst = c->cl->dack_to_device(c->cl_opaque, avail, &room);
		if (!dst)
			room = 0;
		DC_ASSERT(room <= avail && room % w == 0);
		if (!room) {
			/* A drain forces DACKs, and so does a block transfer: the device that
			 * takes nothing loses the bytes.  Otherwise they wait. */
			if (!drain && !c->in_block)
				break;
			room = avail;
			c->st.lost_bytes += room;
		} else {
			memcpy(dst, c->buf + c->head, room);
			c->st.dev_bytes += room;
		}
		c->head += room;
		c->len -= room;
	}
	if (!c->len) {
		c->head = 0;
		c->chunk_fill = 0;
		c->emptying = false;
	}
}

/* ---- Moving data -------------------------------------------------------------------------- */

/* Device->memory: up to n bytes (within one page segment).  Returns bytes taken. */
static uint64_t step_from_device(struct dc_i8237 *d, struct chan *c, uint64_t n)
{
	unsigned w = ch_w(c);
	if (!ch_requested(c))
		return 0;
	uint32_t want = (uint32_t)DC_MIN(n, (uint64_t)UINT32_MAX - 1);
	uint32_t got = 0;
	const uint8_t *p = NULL;
	if (c->cl && c->cl->dack_from_device)
		p = c->cl->dack_from_device(c->cl_opaque, want, &got);
	if (!p)
		got = 0;
	DC_ASSERT(got <= want && got % w == 0);
	if (!got) {
		if (!c->in_block)
			return 0;
		/* Block mode strobes the device anyway: an open bus reads all ones. */
		uint8_t ones[256];
		got = (uint32_t)DC_MIN(want, sizeof(ones));
		memset(ones, 0xFF, got);
		buf_in(d, c, ones, got);
	} else {
		c->st.dev_bytes += got;
		buf_in(d, c, p, got);
	}
	return got;
}

/* Memory->device: fetches up to n bytes (within one page segment).  Returns bytes fetched. */
static uint64_t step_to_device(struct dc_i8237 *d, struct chan *c, uint64_t n)
{
	unsigned w = ch_w(c);
	uint64_t pa = ch_pa(d, c);
	bool dec = ch_dec(c);
	buf_turn(d, c, DC_DIR_TO_DEVICE);
	buf_deliver(d, c, false);
	if (!ch_requested(c))
		return 0;
	/* Fast path: an empty buffer and a device with room take whole units straight through. */
	uint64_t whole = n - n % d->unit;
	if (!c->len && !dec && whole && c->cl && c->cl->dack_to_device) {
		uint32_t room = 0;
		uint8_t *dst = c->cl->dack_to_device(
		    c->cl_opaque, (uint32_t)DC_MIN(whole, (uint64_t)UINT32_MAX - 1), &room);
		if (!dst)
			room = 0;
		DC_ASSERT(room <= whole && room % w == 0);
		if (room) {
			uint64_t f = ((uint64_t)room + d->unit - 1) / d->unit * d->unit;
			mem_read(d, c, pa, false, dst, room);
			c->st.dev_bytes += room;
			if (f > room) {
				mem_read(d, c, pa + room, false, c->buf, f - room);
				c->head = 0;
				c->len = (uint32_t)(f - room);
				c->chunk_fill = 0;
				c->emptying = d->wait_full;
			}
			return f;
		}
	}
	/* Slow path: one chunk (or what completes the current one) into the buffer.  A buffer
	 * that waited to be full is not refilled before it has emptied. */
	if (d->wait_full && c->emptying)
		return 0;
	uint32_t space = d->cap - c->len;
	uint64_t k = DC_MIN(n, (uint64_t)DC_MIN(space, d->chunk - c->chunk_fill));
	k -= k % w;
	if (!k)
		return 0;
	mem_read(d, c, pa, dec, buf_tail(c, (uint32_t)k), k);
	c->len += (uint32_t)k;
	c->chunk_fill = (uint32_t)((c->chunk_fill + k) % d->chunk);
	if (d->wait_full && c->len == d->cap)
		c->emptying = true;
	buf_deliver(d, c, false);
	return k;
}

static void ch_tc(struct dc_i8237 *d, struct chan *c)
{
	d->c[c->no / 4].status_tc |= (uint8_t)(1u << (c->no & 3));
	c->sreq = false;
	c->in_block = false;
	if (c->mode & DC_I8237_MODE_AUTOINIT) {
		c->cur_addr = c->base_addr;
		c->cur_count = c->base_count;
	} else {
		c->mask = true;
	}
	c->tc_pending = true;
	d->dirty = true;
	ch_busy(c);
}

/* Advances address and count by t transfers; terminal count when the count rolls over. */
static void ch_advance(struct dc_i8237 *d, struct chan *c, uint64_t t)
{
	uint64_t rem = (uint64_t)c->cur_count + 1;
	DC_ASSERT(t && t <= rem);
	c->cur_addr = (uint16_t)(ch_dec(c) ? c->cur_addr - t : c->cur_addr + t);
	c->cur_count = (uint16_t)(c->cur_count - t);
	if (t == rem) {
		c->st.tcs++;
		ch_tc(d, c);
	}
}

/* Moves up to budget bytes (counted where the registers count).  Returns bytes moved. */
static uint64_t ch_move(struct dc_i8237 *d, struct chan *c, uint64_t budget)
{
	unsigned w = ch_w(c);
	uint64_t moved = 0;
	d->engine++;
	while (moved < budget && ch_active(d, c)) {
		if (ch_msel(c) == DC_I8237_BLOCK)
			c->in_block = true;
		uint64_t n = DC_MIN(budget - moved, DC_MIN(ch_rem(c), ch_seg(c)));
		n -= n % w;
		if (!n)
			break;
		uint64_t got;
		switch (ch_xfer(c)) {
		case DC_I8237_XFER_WRITE:
			got = step_from_device(d, c, n);
			break;
		case DC_I8237_XFER_READ:
			got = step_to_device(d, c, n);
			break;
		default:
			got = n;
			break;
		}
		if (!got)
			break;
		ch_advance(d, c, got / w);
		moved += got;
	}
	d->engine--;
	if (moved)
		c->st.batches++;
	return moved;
}

/* ---- Time --------------------------------------------------------------------------------- */

static uint64_t bytes_at(const struct chan *c, uint64_t now)
{
	if (now <= c->t0)
		return 0;
	return (uint64_t)((dc_u128)(now - c->t0) * c->rate / NS_PER_S);
}

static uint64_t time_of(const struct chan *c, uint64_t bytes)
{
	dc_u128 t = ((dc_u128)bytes * NS_PER_S + c->rate - 1) / c->rate;
	return c->t0 + (uint64_t)t;
}

/* Pays the channel's debt up to now.  A channel that could not move all it owed has stalled
 * (the device ran dry, terminal count, mask) and stops. */
static void ch_sync(struct dc_i8237 *d, struct chan *c)
{
	if (!c->running)
		return;
	uint64_t due = bytes_at(c, d->m->clock.now) - c->done;
	due -= due % ch_w(c);
	if (!due)
		return;
	uint64_t moved = ch_move(d, c, due);
	c->done += moved;
	if (moved < due) {
		c->running = false;
		c->stalled = ch_active(d, c);
		ch_busy(c);
	}
}

static void ch_schedule(struct dc_i8237 *d, struct chan *c)
{
	if (!c->running) {
		dc_event_cancel(&d->m->clock, &c->ev);
		return;
	}
	uint64_t b = DC_MIN(ch_rem(c), (uint64_t)DC_I8237_RUN_MAX);
	if (c->cl && c->cl->pending && !c->in_block) {
		uint64_t p = c->cl->pending(c->cl_opaque);
		if (p)
			b = DC_MIN(b, p);
	}
	if (dc_event_schedule(&d->m->clock, &c->ev, time_of(c, c->done + DC_MAX(b, 1))) < 0) {
		/* No room in the event queue: the channel stops and reports a failure. */
		c->running = false;
		note_error(c);
	}
}

static void ch_update(struct dc_i8237 *d, struct chan *c)
{
	bool act = ch_active(d, c);
	uint64_t rate = ch_rate(d, c);
	if (!act)
		c->stalled = false;
	if (act && !c->stalled && (!c->running || c->rate != rate)) {
		c->running = true;
		c->t0 = d->m->clock.now;
		c->done = 0;
		c->rate = rate;
	} else if (!act) {
		c->running = false;
	}
	ch_schedule(d, c);
	if (c->running)
		ch_busy(c);
}

static void sync_all(struct dc_i8237 *d)
{
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++)
		ch_sync(d, &d->ch[i]);
}

/* After any change: start/stop channels, then tell devices of terminal counts (outside the
 * engine, so they may call back into the controller). */
static void settle(struct dc_i8237 *d)
{
	d->dirty = false;
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++)
		ch_update(d, &d->ch[i]);
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		if (c->tc_pending) {
			c->tc_pending = false;
			if (c->cl && c->cl->tc)
				c->cl->tc(c->cl_opaque);
		}
	}
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++)
		if (ch_idle(&d->ch[i]))
			d->busy &= ~(1u << i);
}

/* settle() for a change outside the engine that concerns the channels in `mask` only: those
 * and the busy ones are updated, as settle() would, and the others, idle and settled, are left
 * alone (ch_update would leave them as they are).  A change inside the engine (a DREQ, a
 * terminal count: d->dirty) still settles everything. */
static void settle_some(struct dc_i8237 *d, unsigned mask)
{
	if (d->dirty) {
		settle(d);
		return;
	}
	mask |= d->busy;
	for (unsigned m = mask; m; m &= m - 1)
		ch_update(d, &d->ch[__builtin_ctz(m)]);
	for (unsigned m = mask; m; m &= m - 1) {
		struct chan *c = &d->ch[__builtin_ctz(m)];
		if (c->tc_pending) {
			c->tc_pending = false;
			if (c->cl && c->cl->tc)
				c->cl->tc(c->cl_opaque);
		}
	}
	for (unsigned m = mask; m; m &= m - 1)
		if (ch_idle(&d->ch[__builtin_ctz(m)]))
			d->busy &= ~(1u << __builtin_ctz(m));
}

static void ch_event(void *opaque)
{
	struct chan *c = opaque;
	struct dc_i8237 *d = c->d;
	ch_sync(d, c);
	/* The common case, a batch in the middle of a run, touches this channel only. */
	if (d->dirty)
		settle(d);
	else
		ch_update(d, c);
}

/* ---- Registers ---------------------------------------------------------------------------- */

static void master_clear(struct dc_i8237 *d, unsigned k)
{
	d->c[k].cmd = 0;
	d->c[k].status_tc = 0;
	d->c[k].ff = false;
	for (unsigned i = 0; i < 4; i++) {
		struct chan *c = &d->ch[k * 4 + i];
		c->sreq = false;
		c->mask = true;
		c->in_block = false;
		buf_lose(c);
	}
}

static uint8_t status_read(struct dc_i8237 *d, unsigned k)
{
	uint8_t v = d->c[k].status_tc;
	for (unsigned i = 0; i < 4; i++) {
		const struct chan *c = &d->ch[k * 4 + i];
		if (c->dreq || c->sreq)
			v |= (uint8_t)(0x10u << i);
	}
	d->c[k].status_tc = 0;
	return v;
}

/* Address (reg even) or count (reg odd) of channel k*4+i, one byte through the flip-flop. */
static uint8_t ac_read(struct dc_i8237 *d, unsigned k, unsigned reg)
{
	struct chan *c = &d->ch[k * 4 + reg / 2];
	uint16_t v = (reg & 1) ? c->cur_count : c->cur_addr;
	bool hi = d->c[k].ff;
	d->c[k].ff = !hi;
	return (uint8_t)(hi ? v >> 8 : v);
}

static void ac_write(struct dc_i8237 *d, unsigned k, unsigned reg, uint8_t val)
{
	struct chan *c = &d->ch[k * 4 + reg / 2];
	bool hi = d->c[k].ff;
	d->c[k].ff = !hi;
	uint16_t *base = (reg & 1) ? &c->base_count : &c->base_addr;
	uint16_t *cur = (reg & 1) ? &c->cur_count : &c->cur_addr;
	/* Each byte goes to the base and the current register at once. */
	if (hi) {
		*base = (uint16_t)((*base & 0x00FFu) | (unsigned)val << 8);
		*cur = (uint16_t)((*cur & 0x00FFu) | (unsigned)val << 8);
	} else {
		*base = (uint16_t)((*base & 0xFF00u) | val);
		*cur = (uint16_t)((*cur & 0xFF00u) | val);
	}
}

static void mode_write(struct dc_i8237 *d, unsigned k, uint8_t val)
{
	struct chan *c = &d->ch[k * 4 + (val & DC_I8237_MODE_CH_MASK)];
	c->mode = val;
	c->in_block = false;
	if (c->len) {
		if (d->residue == DC_I8237_RESIDUE_LOSE)
			buf_lose(c);
		else
			c->st.late_bytes += c->len;
	}
}

static uint8_t ctl_read(struct dc_i8237 *d, unsigned k, unsigned reg)
{
	if (reg < 8)
		return ac_read(d, k, reg);
	switch (reg) {
	case 0x8:
		return status_read(d, k);
	case 0xD:
		return 0; /* temporary register: memory-to-memory is not modelled */
	case 0xF: {
		uint8_t v = 0xF0;
		for (unsigned i = 0; i < 4; i++)
			if (d->ch[k * 4 + i].mask)
				v |= (uint8_t)(1u << i);
		return v;
	}
	default:
		return 0xFF; /* write-only register */
	}
}

static void ctl_write(struct dc_i8237 *d, unsigned k, unsigned reg, uint8_t val)
{
	if (reg < 8) {
		ac_write(d, k, reg, val);
		return;
	}
	struct chan *c = &d->ch[k * 4 + (val & 3)];
	switch (reg) {
	case 0x8:
		d->c[k].cmd = val;
		break;
	case 0x9:
		c->sreq = val & DC_I8237_REQ_SET;
		break;
	case 0xA:
		c->mask = val & DC_I8237_MASK_SET;
		if (c->mask)
			c->in_block = false;
		break;
	case 0xB:
		mode_write(d, k, val);
		break;
	case 0xC:
		d->c[k].ff = false;
		break;
	case 0xD:
		master_clear(d, k);
		break;
	case 0xE:
		for (unsigned i = 0; i < 4; i++)
			d->ch[k * 4 + i].mask = false;
		break;
	case 0xF:
		for (unsigned i = 0; i < 4; i++) {
			d->ch[k * 4 + i].mask = (val >> i) & 1;
			if ((val >> i) & 1)
				d->ch[k * 4 + i].in_block = false;
		}
		break;
	default:
		break;
	}
}

/* The four port windows the controller claims.  Controller 2 does not decode A0. */
enum win { WIN_CTL1, WIN_CTL2, WIN_PAGE, WIN_HPAGE, WIN_COUNT };

static const struct {
	uint32_t base, len;
	const char *name; /* the window's name on the bus */
} wins[WIN_COUNT] = {
    [WIN_CTL1] = {0x00, 0x10, "i8237-1"},
    [WIN_CTL2] = {0xC0, 0x20, "i8237-2"},
    [WIN_PAGE] = {0x80, 0x10, "dma-page"},
    [WIN_HPAGE] = {0x480, 0x10, "dma-hpage"},
};

struct port_win {
	struct dc_i8237 *d;
	enum win w;
};

static uint8_t byte_read(struct dc_i8237 *d, enum win w, uint64_t off)
{
	switch (w) {
	case WIN_CTL1:
		return off < 16 ? ctl_read(d, 0, (unsigned)off) : 0xFF;
	case WIN_CTL2:
		return off < 32 ? ctl_read(d, 1, (unsigned)(off >> 1)) : 0xFF;
	case WIN_PAGE:
		return off < 16 ? d->page[off] : 0xFF;
	case WIN_HPAGE:
		return off < 16 ? d->hpage[off] : 0xFF;
	case WIN_COUNT:
		break;
	}
	return 0xFF;
}

static void byte_write(struct dc_i8237 *d, enum win w, uint64_t off, uint8_t val)
{
	switch (w) {
	case WIN_CTL1:
		if (off < 16)
			ctl_write(d, 0, (unsigned)off, val);
		break;
	case WIN_CTL2:
		if (off < 32)
			ctl_write(d, 1, (unsigned)(off >> 1), val);
		break;
	case WIN_PAGE:
		if (off < 16) {
			d->page[off] = val;
			/* EISA: a write to the low page register clears the high one, so ISA
			 * software that knows nothing of it stays below 16 MiB. */
			d->hpage[off] = 0;
		}
		break;
	case WIN_HPAGE:
		if (off < 16)
			d->hpage[off] = val;
		break;
	case WIN_COUNT:
		break;
	}
}

/* The channels whose activity a byte written to a controller register can change: the one
 * it addresses, or all four of a controller (command, master clear, clear-mask, all-mask).
 * Anything touching controller 2's channel 4 (the cascade) or its command also changes what
 * controller 1's channels may do.  Page registers change no channel's activity. */
static unsigned write_mask(enum win w, uint64_t off, uint8_t val)
{
	unsigned k, reg, mask;
	if (w == WIN_CTL1 && off < 16)
		k = 0, reg = (unsigned)off;
	else if (w == WIN_CTL2 && off < 32)
		k = 1, reg = (unsigned)(off >> 1);
	else
		return 0;
	if (reg < 8)
		mask = 1u << (k * 4 + reg / 2);
	else if (reg == 0x9 || reg == 0xA || reg == 0xB)
		mask = 1u << (k * 4 + (val & 3u));
	else if (reg == 0xC)
		mask = 0;
	else
		mask = 0xFu << (k * 4);
	if (mask & (1u << DC_I8237_CASCADE_CH))
		mask |= 0xFu;
	return mask;
}

/* An 8-bit device on a wider access: the bus splits it into byte cycles.  A read changes no
 * channel's activity (the status read clears only the TC bits). */
static uint32_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct port_win *pw = opaque;
	struct dc_i8237 *d = pw->d;
	DC_ASSERT(!d->engine);
	sync_all(d);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)byte_read(d, pw->w, off + i) << (8 * i);
	settle_some(d, 0);
	return v;
}

/* A write retries every stalled channel; it settles the channels it addressed and the busy
 * ones, which include the stalled ones (settle_some). */
static void port_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct port_win *pw = opaque;
	struct dc_i8237 *d = pw->d;
	DC_ASSERT(!d->engine);
	sync_all(d);
	unsigned mask = 0;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		mask |= write_mask(pw->w, off + i, b);
		byte_write(d, pw->w, off + i, b);
	}
	/* Only a busy channel can be stalled. */
	for (unsigned m = d->busy; m; m &= m - 1)
		d->ch[__builtin_ctz(m)].stalled = false;
	settle_some(d, mask);
}

static const struct dc_io_ops i8237_io_ops = {
    .read = port_read,
    .write = port_write,
};

struct dc_i8237_full {
	struct dc_i8237 d;
	struct port_win win[WIN_COUNT];
};

/* ---- Lifetime ----------------------------------------------------------------------------- */

void dc_i8237_reset(struct dc_i8237 *d)
{
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		dc_event_cancel(&d->m->clock, &c->ev);
		c->running = false;
		c->base_addr = c->cur_addr = c->base_count = c->cur_count = 0;
		c->mode = 0;
		c->error = c->tc_pending = false;
	}
	master_clear(d, 0);
	master_clear(d, 1);
	memset(d->page, 0, sizeof(d->page));
	memset(d->hpage, 0, sizeof(d->hpage));
	struct chan *c4 = &d->ch[DC_I8237_CASCADE_CH];
	c4->mode = DC_I8237_MODE_CASCADE;
	c4->mask = false;
	d->busy = (1u << DC_I8237_CHANNELS) - 1; /* the next settle sorts them out */
}

int dc_i8237_create(struct dc_machine *m, const struct dc_i8237_cfg *cfg, struct dc_i8237 **out)
{
	*out = NULL;
	const struct dc_platform *p = &m->plat;
	if (p->sysdma_chunk < 8 || !p->sysdma_depth || !p->sysdma_bw || p->sysdma_addr_bits < 16 ||
	    p->sysdma_addr_bits > 64)
		return DC_ERR_INVAL;
	if ((uint64_t)p->sysdma_chunk * p->sysdma_depth > DC_I8237_BUF_MAX)
		return DC_ERR_INVAL;
	if (cfg && (unsigned)cfg->residue >= DC_I8237_RESIDUE_COUNT)
		return DC_ERR_INVAL;
	struct dc_i8237_full *f = calloc(1, sizeof(*f));
	if (!f)
		return DC_ERR_NOMEM;
	struct dc_i8237 *d = &f->d;
	d->m = m;
	d->residue = cfg ? cfg->residue : DC_I8237_RESIDUE_KEEP;
	d->chunk = p->sysdma_chunk;
	d->depth = p->sysdma_depth;
	d->cap = p->sysdma_chunk * p->sysdma_depth;
	d->wait_full = p->sysdma_wait_full;
	d->unit = d->wait_full ? d->cap : d->chunk;
	d->bw = p->sysdma_bw;
	d->addr_bits = p->sysdma_addr_bits;
	int rc = DC_ERR_NOMEM;
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		c->d = d;
		c->no = i;
		c->buf_dir = DC_DIR_FROM_DEVICE;
		dc_event_init(&c->ev, "sysdma", ch_event, c);
		c->buf = malloc(d->cap);
		c->segs = malloc(((size_t)d->cap + 1) * sizeof(*c->segs));
		if (!c->buf || !c->segs)
			goto fail;
	}
	rc = dc_machine_dma_source(m, cfg && cfg->source_name ? cfg->source_name : "sysdma");
	if (rc < 0)
		goto fail;
	d->src = rc;
	/* The bus cannot give a range back, so check every window before claiming any: a
	 * half-claimed controller would leave ports pointing at freed memory. */
	unsigned nwin = d->addr_bits > 24 ? WIN_COUNT : WIN_HPAGE;
	rc = m->bus.n_port + nwin > DC_BUS_MAX_RANGES ? DC_ERR_NOMEM : DC_OK;
	for (unsigned i = 0; i < nwin && rc == DC_OK; i++)
		for (unsigned j = 0; j < m->bus.n_port; j++)
			if (m->bus.port[j].base < wins[i].base + wins[i].len &&
			    wins[i].base < m->bus.port[j].base + m->bus.port[j].len)
				rc = DC_ERR_BUSY;
	if (rc < 0)
		goto fail;
	for (unsigned i = 0; i < nwin; i++) {
		f->win[i] = (struct port_win){d, (enum win)i};
		rc = dc_bus_add_ports(&m->bus, wins[i].base, wins[i].len, &i8237_io_ops, &f->win[i],
		                      wins[i].name);
		DC_ASSERT(rc == DC_OK); /* checked above */
	}
	dc_i8237_reset(d);
	*out = d;
	return DC_OK;
fail:
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		free(d->ch[i].buf);
		free(d->ch[i].segs);
	}
	free(f);
	return rc;
}

void dc_i8237_destroy(struct dc_i8237 *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < DC_I8237_CHANNELS; i++) {
		dc_event_cancel(&d->m->clock, &d->ch[i].ev);
		free(d->ch[i].buf);
		free(d->ch[i].segs);
	}
	free((struct dc_i8237_full *)d);
}

struct dc_i8237 *dc_i8237_from_bus(const struct dc_bus *b)
{
	for (unsigned i = 0; i < b->n_port; i++) {
		const struct dc_io_range *r = &b->port[i];
		if (r->base == 0 && r->ops == &i8237_io_ops)
			return ((struct port_win *)r->opaque)->d;
	}
	return NULL;
}

/* ---- The device side ---------------------------------------------------------------------- */

static bool ch_ok(unsigned ch)
{
	return ch < DC_I8237_CHANNELS && ch != DC_I8237_CASCADE_CH;
}

int dc_i8237_attach(struct dc_i8237 *d, unsigned ch, const struct dc_dma_client *c, void *opaque)
{
	if (!ch_ok(ch) || !c)
		return DC_ERR_INVAL;
	if (d->ch[ch].cl)
		return DC_ERR_BUSY;
	d->ch[ch].cl = c;
	d->ch[ch].cl_opaque = opaque;
	return DC_OK;
}

void dc_i8237_detach(struct dc_i8237 *d, unsigned ch)
{
	if (!ch_ok(ch))
		return;
	DC_ASSERT(!d->engine);
	sync_all(d);
	d->ch[ch].cl = NULL;
	d->ch[ch].cl_opaque = NULL;
	d->ch[ch].dreq = false;
	d->ch[ch].tc_pending = false;
	settle(d);
}

void dc_i8237_dreq(struct dc_i8237 *d, unsigned ch, bool level)
{
	DC_ASSERT(ch_ok(ch));
	struct chan *c = &d->ch[ch];
	if (d->engine) {
		/* From inside a DACK callback: the engine sees it on its next step and settles. */
		c->dreq = level;
		d->dirty = true;
		return;
	}
	sync_all(d);
	c->dreq = level;
	c->stalled = false;
	settle_some(d, 1u << ch);
}

void dc_i8237_error(struct dc_i8237 *d, unsigned ch)
{
	DC_ASSERT(ch_ok(ch));
	note_error(&d->ch[ch]);
}

void dc_i8237_eop(struct dc_i8237 *d, unsigned ch)
{
	DC_ASSERT(ch_ok(ch) && !d->engine);
	struct chan *c = &d->ch[ch];
	sync_all(d);
	c->st.eops++;
	ch_tc(d, c);
	settle(d);
}

bool dc_i8237_flush(struct dc_i8237 *d, unsigned ch)
{
	DC_ASSERT(ch_ok(ch) && !d->engine);
	struct chan *c = &d->ch[ch];
	sync_all(d);
	c->st.drains++;
	c->st.drain_bytes += c->len;
	d->engine++;
	if (c->buf_dir == DC_DIR_FROM_DEVICE)
		buf_write_all(d, c);
	else
		buf_deliver(d, c, true);
	d->engine--;
	buf_clear(c);
	c->stalled = false;
	bool ok = !c->error;
	c->error = false;
	if (!ok)
		c->st.failed_drains++;
	settle_some(d, 1u << ch);
	return ok;
}

/* ---- HAL helpers: port I/O only ----------------------------------------------------------- */

static void hal_out(struct dc_i8237 *d, uint32_t port, uint32_t v)
{
	dc_bus_port_write(&d->m->bus, port, v & 0xFF, 1);
}

int dc_i8237_hal_program(struct dc_i8237 *d, unsigned ch, uint8_t mode, uint64_t pa, uint32_t bytes)
{
	if (!ch_ok(ch))
		return DC_ERR_INVAL;
	unsigned w = dc_i8237_width(ch);
	uint64_t page = w == 1 ? 0x10000 : 0x20000;
	if (!bytes || bytes % w || bytes / w > 0x10000 || pa % w)
		return DC_ERR_INVAL;
	bool dec = mode & DC_I8237_MODE_DECREMENT;
	uint64_t lo = dec ? pa + w - bytes : pa, hi = dec ? pa + w : pa + bytes;
	if (dec && pa + w < bytes)
		return DC_ERR_RANGE;
	if ((d->addr_bits < 64 && hi > (UINT64_C(1) << d->addr_bits)) ||
	    lo / page != (hi - 1) / page)
		return DC_ERR_RANGE;
	uint32_t a = (uint32_t)((pa / w) & 0xFFFF), n = bytes / w - 1;
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_MASK), DC_I8237_MASK_SET | (ch & 3));
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_MODE),
	        (mode & ~DC_I8237_MODE_CH_MASK) | (ch & 3));
	hal_out(d, dc_i8237_port_addr(ch), a);
	hal_out(d, dc_i8237_port_addr(ch), a >> 8);
	hal_out(d, dc_i8237_port_page(ch), (uint32_t)(pa >> 16));
	if (d->addr_bits > 24)
		hal_out(d, dc_i8237_port_hpage(ch), (uint32_t)(pa >> 24));
	hal_out(d, dc_i8237_port_count(ch), n);
	hal_out(d, dc_i8237_port_count(ch), n >> 8);
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_MASK), ch & 3);
	return DC_OK;
}

void dc_i8237_hal_mask(struct dc_i8237 *d, unsigned ch, bool masked)
{
	DC_ASSERT(ch_ok(ch));
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_MASK),
	        (masked ? DC_I8237_MASK_SET : 0) | (ch & 3));
}

uint32_t dc_i8237_hal_read_counter(struct dc_i8237 *d, unsigned ch)
{
	DC_ASSERT(ch_ok(ch));
	hal_out(d, dc_i8237_port(ch, DC_I8237_REG_CLEAR_FF), 0);
	uint32_t lo = dc_bus_port_read(&d->m->bus, dc_i8237_port_count(ch), 1) & 0xFF;
	uint32_t hi = dc_bus_port_read(&d->m->bus, dc_i8237_port_count(ch), 1) & 0xFF;
	return (((hi << 8 | lo) + 1) & 0xFFFF) * dc_i8237_width(ch);
}

bool dc_i8237_hal_flush(struct dc_i8237 *d, unsigned ch)
{
	bool ok = dc_i8237_flush(d, ch);
	dc_i8237_hal_mask(d, ch, true);
	return ok;
}

/* ---- Introspection ------------------------------------------------------------------------ */

void dc_i8237_state(struct dc_i8237 *d, unsigned ch, struct dc_i8237_chan_state *out)
{
	DC_ASSERT(ch < DC_I8237_CHANNELS);
	if (!d->engine) {
		sync_all(d);
		settle(d);
	}
	const struct chan *c = &d->ch[ch];
	unsigned po = page_off[ch];
	*out = (struct dc_i8237_chan_state){
	    .base_addr = c->base_addr,
	    .cur_addr = c->cur_addr,
	    .base_count = c->base_count,
	    .cur_count = c->cur_count,
	    .page = d->page[po],
	    .hpage = d->hpage[po],
	    .mode = c->mode,
	    .masked = c->mask,
	    .dreq = c->dreq,
	    .sreq = c->sreq,
	    .running = c->running,
	    .error = c->error,
	    .next_pa = ch_pa(d, c),
	    .residue = c->len,
	    .buf_dir = c->buf_dir,
	};
}

const struct dc_i8237_stats *dc_i8237_stats(struct dc_i8237 *d, unsigned ch)
{
	DC_ASSERT(ch < DC_I8237_CHANNELS);
	return &d->ch[ch].st;
}
