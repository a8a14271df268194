/* ring, the NIC-like descriptor-ring device: see ring.h and docs/devices/ring.md.
 *
 * Each direction is a small state machine driven by its own bus-master engine: gather the
 * descriptors of one frame (reading them from memory by DMA, untimed), move the frame's bytes
 * (timed, through the engine), write the descriptors' status back (posted in the bridge), raise
 * the event's interrupt bit, go on.  Descriptor status is written after the data, and posted
 * writes land in order, so a driver that sees a descriptor completed (after the right flush or
 * register read) also sees its data. */
#include <stdlib.h>
#include <string.h>

#include "ring.h"

static const char *const dstatus_names[DC_RING_DS_COUNT] = {"ok", "too-big", "truncated",
                                                            "dma-error"};

const char *dc_ring_dstatus_name(enum dc_ring_dstatus s)
{
	return (unsigned)s < DC_RING_DS_COUNT ? dstatus_names[s] : "?";
}

struct ring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, status;
};

struct ring_q {
	uint32_t lo, hi, size, head, tail;
};

struct rx_frame {
	uint8_t *data;
	uint32_t len;
};

struct ring {
	struct dc_host *h;
	struct dc_bm *tx_bm, *rx_bm;
	uint32_t addr_bits;
	int irq;
	bool fault_armed;
	/* Registers */
	uint32_t ctrl, int_status, int_mask;
	bool tx_stalled, rx_nobuf;
	struct ring_q tx, rx;
	/* TX frame in flight */
	uint32_t tx_ndesc, tx_len;
	uint8_t tx_frame[DC_RING_MAX_FRAME];
	/* RX frames waiting for descriptors, oldest at rxq_head; the one in flight is at rxq_head
	 */
	struct rx_frame rxq[DC_RING_RX_QUEUE];
	uint32_t rxq_head, rxq_n;
	uint32_t rx_ndesc;
	uint32_t rx_len[DC_RING_MAX_FRAGS]; /* bytes written into each descriptor in flight */
	bool rx_truncated;
	/* Backing store: the wire log and the RX script */
	uint8_t *wire;                          /* the log's bytes [wire_base, wire_len) */
	uint64_t wire_base, wire_len, wire_cap; /* log offsets, and bytes allocated */
	uint8_t *script;
	uint64_t script_len, script_pos;
	struct dc_ring_stats st;
};

static void tx_kick(struct ring *d);
static void rx_kick(struct ring *d);

static void update_irq(struct ring *d)
{
	if (d->irq < 0)
		return;
	if (d->int_status & d->int_mask)
		dc_host_irq_raise(d->h);
	else
		dc_host_irq_lower(d->h);
}

static void raise_event(struct ring *d, uint32_t bit)
{
	d->int_status |= bit;
	update_irq(d);
}

static uint64_t ring_base(const struct ring_q *q)
{
	return (uint64_t)q->hi << 32 | q->lo;
}

static uint64_t desc_addr(const struct ring_q *q, uint32_t idx)
{
	return ring_base(q) + (uint64_t)idx * DC_RING_DESC_SIZE;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static int read_desc(struct ring *d, struct dc_bm *bm, const struct ring_q *q, uint32_t idx,
                     struct ring_desc *out)
{
	uint8_t b[DC_RING_DESC_SIZE];
	int err = dc_bm_read_now(bm, desc_addr(q, idx), b, sizeof(b));
	if (err < 0) {
		d->st.tx_errors += bm == d->tx_bm;
		d->st.rx_errors += bm == d->rx_bm;
		raise_event(d, DC_RING_INT_ERROR);
		return err;
	}
	out->addr = (uint64_t)le32(b + 4) << 32 | le32(b);
	out->len = le32(b + 8);
	out->flags = le16(b + 12);
	out->status = le16(b + 14);
	return DC_OK;
}

/* Writes back a descriptor's len (rx only), flags and status: posted, in order after the data. */
static void write_desc(struct dc_bm *bm, const struct ring_q *q, uint32_t idx, bool with_len,
                       uint32_t len, uint16_t flags, uint16_t status)
{
	uint8_t b[8];
	put32(b, len);
	put16(b + 4, flags);
	put16(b + 6, status);
	if (with_len)
		dc_bm_write_now(bm, desc_addr(q, idx) + 8, b, 8);
	else
		dc_bm_write_now(bm, desc_addr(q, idx) + 12, b + 4, 4);
}

static bool running(const struct ring *d)
{
	return d->ctrl & DC_RING_CTRL_ENABLE;
}

static void arm_fault(struct ring *d, struct dc_bm *bm, uint64_t total)
{
	if (!d->fault_armed)
		return;
	d->fault_armed = false;
	dc_bm_fail_next(bm, total / 2);
}

/* --- Wire log and RX queue -------------------------------------------------------------- */

/* The log keeps the last DC_RING_WIRE_KEEP bytes at least (at most twice that): a device that
 * sends for ever must not hold every frame it ever sent. */
static void wire_append(struct ring *d, const uint8_t *frame, uint32_t len)
{
	uint64_t held = d->wire_len - d->wire_base;
	if (held + 4 + len > 2 * DC_RING_WIRE_KEEP) {
		uint64_t drop = held - DC_MIN(held, DC_RING_WIRE_KEEP);
		memmove(d->wire, d->wire + drop, held - drop);
		d->wire_base += drop;
		held -= drop;
	}
	uint64_t need = held + 4 + len;
	if (need > d->wire_cap) {
		uint64_t cap = DC_MAX(need, d->wire_cap ? d->wire_cap * 2 : 4096);
		uint8_t *w = realloc(d->wire, cap);
		if (!w)
			return; /* the frame went out; only its record is lost */
		d->wire = w;
		d->wire_cap = cap;
	}
	put32(d->wire + held, len);
	memcpy(d->wire + held + 4, frame, len);
	d->wire_len += 4 + len;
}

static int rxq_push(struct ring *d, const void *frame, uint32_t len)
{
	if (d->rxq_n == DC_RING_RX_QUEUE) {
		d->st.rx_dropped++;
		raise_event(d, DC_RING_INT_RX_DROP);
		return DC_OK;
	}
	uint8_t *copy = malloc(len);
	if (!copy)
		return DC_ERR_NOMEM;
	memcpy(copy, frame, len);
	d->rxq[(d->rxq_head + d->rxq_n++) % DC_RING_RX_QUEUE] = (struct rx_frame){copy, len};
	return DC_OK;
}

static void rxq_pop(struct ring *d)
{
	DC_ASSERT(d->rxq_n > 0);
	free(d->rxq[d->rxq_head].data);
	d->rxq_head = (d->rxq_head + 1) % DC_RING_RX_QUEUE;
	d->rxq_n--;
}

/* Scripted mode: the next script record joins the RX queue when the queue is empty, so a script
 * is delivered in order and without drops, as fast as the driver posts buffers. */
static void script_feed(struct ring *d)
{
	if (!(d->ctrl & DC_RING_CTRL_SCRIPT) || d->rxq_n || d->script_pos + 4 > d->script_len)
		return;
	uint32_t len = le32(d->script + d->script_pos);
	if (len == 0 || len > DC_RING_MAX_FRAME || len > d->script_len - d->script_pos - 4) {
		d->script_pos = d->script_len; /* malformed: the script ends here */
		return;
	}
	if (rxq_push(d, d->script + d->script_pos + 4, len) == DC_OK)
		d->script_pos += 4 + len;
}

/* --- TX --------------------------------------------------------------------------------- */

static void tx_done(void *opaque, int status, uint64_t bytes)
{
	struct ring *d = opaque;
	(void)bytes;
	uint16_t flags = 0, ds = DC_RING_DS_OK;
	if (status < 0) {
		flags = DC_RING_DESC_ERR;
		ds = DC_RING_DS_DMA_ERROR;
		d->st.tx_errors++;
	} else {
		uint32_t len = d->tx_len;
		wire_append(d, d->tx_frame, len);
		d->st.tx_frames++;
		if (d->ctrl & DC_RING_CTRL_LOOPBACK)
			rxq_push(d, d->tx_frame, len);
	}
	for (uint32_t i = 0; i < d->tx_ndesc; i++) {
		uint32_t idx = (d->tx.head + i) % d->tx.size;
		bool last = i + 1 == d->tx_ndesc;
		write_desc(d->tx_bm, &d->tx, idx, false, 0,
		           (uint16_t)((last ? DC_RING_DESC_EOP : 0) | flags), ds);
	}
	d->tx.head = (d->tx.head + d->tx_ndesc) % d->tx.size;
	d->tx_ndesc = 0;
	d->st.tx_events++;
	raise_event(d, DC_RING_INT_TX_DONE | (status < 0 ? DC_RING_INT_ERROR : 0));
	tx_kick(d);
	rx_kick(d);
}

/* Completes a frame the device refuses without moving data. */
static void tx_refuse(struct ring *d, uint32_t ndesc, enum dc_ring_dstatus ds)
{
	for (uint32_t i = 0; i < ndesc; i++)
		write_desc(d->tx_bm, &d->tx, (d->tx.head + i) % d->tx.size, false, 0,
		           (uint16_t)(DC_RING_DESC_ERR | (i + 1 == ndesc ? DC_RING_DESC_EOP : 0)),
		           (uint16_t)ds);
	d->tx.head = (d->tx.head + ndesc) % d->tx.size;
	d->st.tx_errors++;
	d->st.tx_events++;
	raise_event(d, DC_RING_INT_TX_DONE | DC_RING_INT_ERROR);
}

static void tx_kick(struct ring *d)
{
	while (running(d) && !dc_bm_busy(d->tx_bm) && d->tx.size && d->tx.head != d->tx.tail) {
		struct dc_bm_seg seg[DC_RING_MAX_FRAGS];
		uint32_t n = 0, idx = d->tx.head;
		uint64_t total = 0;
		bool eop = false;
		d->tx_stalled = false;
		while (!eop) {
			if (idx == d->tx.tail)
				return; /* the driver has not posted the frame's last descriptor yet
				         */
			struct ring_desc de;
			if (read_desc(d, d->tx_bm, &d->tx, idx, &de) < 0) {
				d->tx_stalled = true;
				return;
			}
			if (!(de.flags & DC_RING_DESC_OWN)) {
				/* Between head and tail, yet not handed over: a driver bug, or a
				 * descriptor still sitting in the driver's cache. */
				d->tx_stalled = true;
				d->st.tx_stalls++;
				return;
			}
			eop = de.flags & DC_RING_DESC_EOP;
			if (n == DC_RING_MAX_FRAGS || total + de.len > DC_RING_MAX_FRAME) {
				tx_refuse(d, n + 1, DC_RING_DS_TOO_BIG);
				goto next;
			}
			seg[n++] = (struct dc_bm_seg){de.addr, de.len};
			total += de.len;
			idx = (idx + 1) % d->tx.size;
		}
		d->tx_ndesc = n;
		d->tx_len = (uint32_t)total;
		arm_fault(d, d->tx_bm, total);
		if (dc_bm_start(d->tx_bm, seg, n, DC_DIR_TO_DEVICE, d->tx_frame, tx_done, d) < 0)
			tx_refuse(d, n, DC_RING_DS_DMA_ERROR);
		return;
	next:;
	}
}

/* --- RX --------------------------------------------------------------------------------- */

static void rx_done(void *opaque, int status, uint64_t bytes)
{
	struct ring *d = opaque;
	(void)bytes;
	uint16_t err = status < 0 ? DC_RING_DESC_ERR : 0;
	uint16_t ds = status < 0 ? DC_RING_DS_DMA_ERROR
	                         : (d->rx_truncated ? DC_RING_DS_TRUNCATED : DC_RING_DS_OK);
	if (d->rx_truncated)
		err = DC_RING_DESC_ERR;
	for (uint32_t i = 0; i < d->rx_ndesc; i++) {
		bool last = i + 1 == d->rx_ndesc;
		write_desc(d->rx_bm, &d->rx, (d->rx.head + i) % d->rx.size, true, d->rx_len[i],
		           (uint16_t)((last ? DC_RING_DESC_EOP : 0) | err), ds);
	}
	d->rx.head = (d->rx.head + d->rx_ndesc) % d->rx.size;
	d->rx_ndesc = 0;
	if (status < 0 || d->rx_truncated)
		d->st.rx_errors++;
	else
		d->st.rx_frames++;
	rxq_pop(d);
	d->st.rx_events++;
	raise_event(d, DC_RING_INT_RX_READY | (status < 0 ? DC_RING_INT_ERROR : 0));
	rx_kick(d);
}

static void rx_kick(struct ring *d)
{
	if (!running(d) || dc_bm_busy(d->rx_bm) || !d->rx.size)
		return;
	script_feed(d);
	if (!d->rxq_n)
		return;
	const struct rx_frame *f = &d->rxq[d->rxq_head];
	struct dc_bm_seg seg[DC_RING_MAX_FRAGS];
	uint32_t n = 0, idx = d->rx.head;
	uint64_t room = 0;
	d->rx_nobuf = false;
	while (room < f->len && n < DC_RING_MAX_FRAGS) {
		struct ring_desc de;
		if (idx == d->rx.tail)
			break;
		if (read_desc(d, d->rx_bm, &d->rx, idx, &de) < 0) {
			d->rx_nobuf = true;
			return;
		}
		if (!(de.flags & DC_RING_DESC_OWN))
			break;
		uint32_t take = (uint32_t)DC_MIN((uint64_t)de.len, f->len - room);
		seg[n] = (struct dc_bm_seg){de.addr, take};
		d->rx_len[n++] = take;
		room += take;
		idx = (idx + 1) % d->rx.size;
	}
	if (room < f->len && n < DC_RING_MAX_FRAGS) {
		/* Not enough buffers owned by the device yet: wait for RX_TAIL, consume nothing. */
		d->rx_nobuf = true;
		return;
	}
	d->rx_ndesc = n;
	d->rx_truncated = room < f->len;
	arm_fault(d, d->rx_bm, room);
	if (dc_bm_start(d->rx_bm, seg, n, DC_DIR_FROM_DEVICE, f->data, rx_done, d) < 0) {
		d->rx_ndesc = 0;
		d->rx_nobuf = true;
	}
}

/* --- Registers -------------------------------------------------------------------------- */

static void do_reset(struct ring *d)
{
	dc_bm_abort(d->tx_bm);
	dc_bm_abort(d->rx_bm);
	while (d->rxq_n)
		rxq_pop(d);
	d->rxq_head = 0;
	d->ctrl = d->int_status = d->int_mask = 0;
	d->tx_stalled = d->rx_nobuf = false;
	d->tx = d->rx = (struct ring_q){0};
	d->tx_ndesc = d->rx_ndesc = 0;
	d->script_pos = 0;
	update_irq(d);
}

static uint32_t reg_read(struct ring *d, uint64_t off)
{
	switch (off) {
	case DC_RING_REG_ID:
		return DC_RING_ID;
	case DC_RING_REG_CAPS:
		return DC_RING_MAX_ENTRIES | d->addr_bits << 16;
	case DC_RING_REG_CTRL:
		return d->ctrl;
	case DC_RING_REG_STATUS:
		return (dc_bm_busy(d->tx_bm) ? DC_RING_STATUS_TX_BUSY : 0) |
		       (dc_bm_busy(d->rx_bm) ? DC_RING_STATUS_RX_BUSY : 0) |
		       (d->tx_stalled ? DC_RING_STATUS_TX_STALLED : 0) |
		       (d->rx_nobuf ? DC_RING_STATUS_RX_NOBUF : 0);
	case DC_RING_REG_INT_STATUS:
		return d->int_status;
	case DC_RING_REG_INT_MASK:
		return d->int_mask;
	case DC_RING_REG_TX_BASE_LO:
		return d->tx.lo;
	case DC_RING_REG_TX_BASE_HI:
		return d->tx.hi;
	case DC_RING_REG_TX_SIZE:
		return d->tx.size;
	case DC_RING_REG_TX_HEAD:
		return d->tx.head;
	case DC_RING_REG_TX_TAIL:
		return d->tx.tail;
	case DC_RING_REG_RX_BASE_LO:
		return d->rx.lo;
	case DC_RING_REG_RX_BASE_HI:
		return d->rx.hi;
	case DC_RING_REG_RX_SIZE:
		return d->rx.size;
	case DC_RING_REG_RX_HEAD:
		return d->rx.head;
	case DC_RING_REG_RX_TAIL:
		return d->rx.tail;
	case DC_RING_REG_TX_FRAMES:
		return (uint32_t)d->st.tx_frames;
	case DC_RING_REG_RX_FRAMES:
		return (uint32_t)d->st.rx_frames;
	case DC_RING_REG_RX_DROPPED:
		return (uint32_t)d->st.rx_dropped;
	case DC_RING_REG_MAX_FRAME:
		return DC_RING_MAX_FRAME;
	}
	return 0;
}

static uint32_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct ring *d = opaque;
	/* PCI ordering: the completion of this read pushes the device's posted writes first. */
	dc_host_bm_flush(d->h);
	if (size != 4)
		d->st.bad_accesses++;
	uint32_t v = reg_read(d, off & ~(uint64_t)3) >> (8 * (off & 3));
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

/* Writing a ring's base or size while it runs would tear a frame: allowed only when idle;
 * either way the ring restarts at index 0. */
static void set_ring(struct ring_q *q, uint64_t off, uint32_t val, bool busy)
{
	if (busy)
		return;
	switch (off & 0xF) {
	case 0x0:
		q->lo = val;
		break;
	case 0x4:
		q->hi = val;
		break;
	case 0x8:
		q->size = val <= DC_RING_MAX_ENTRIES ? val : 0;
		break;
	}
	q->head = q->tail = 0;
}

static void mmio_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct ring *d = opaque;
	if (size != 4 || (off & 3)) {
		d->st.bad_accesses++;
		return;
	}
	switch (off) {
	case DC_RING_REG_CTRL:
		if (val & DC_RING_CTRL_RESET) {
			do_reset(d);
			return;
		}
		d->ctrl = val & (DC_RING_CTRL_ENABLE | DC_RING_CTRL_LOOPBACK | DC_RING_CTRL_SCRIPT);
		tx_kick(d);
		rx_kick(d);
		return;
	case DC_RING_REG_INT_STATUS:
		d->int_status &= ~val;
		update_irq(d);
		return;
	case DC_RING_REG_INT_MASK:
		d->int_mask = val & 0xF;
		update_irq(d);
		return;
	case DC_RING_REG_TX_BASE_LO:
	case DC_RING_REG_TX_BASE_HI:
	case DC_RING_REG_TX_SIZE:
		set_ring(&d->tx, off - DC_RING_REG_TX_BASE_LO,
		         off == DC_RING_REG_TX_BASE_HI && d->addr_bits <= 32 ? 0 : val,
		         dc_bm_busy(d->tx_bm));
		return;
	case DC_RING_REG_RX_BASE_LO:
	case DC_RING_REG_RX_BASE_HI:
	case DC_RING_REG_RX_SIZE:
		set_ring(&d->rx, off - DC_RING_REG_RX_BASE_LO,
		         off == DC_RING_REG_RX_BASE_HI && d->addr_bits <= 32 ? 0 : val,
		         dc_bm_busy(d->rx_bm));
		return;
	case DC_RING_REG_TX_TAIL:
		if (d->tx.size && val < d->tx.size) {
			d->tx.tail = val;
			tx_kick(d);
		}
		return;
	case DC_RING_REG_RX_TAIL:
		if (d->rx.size && val < d->rx.size) {
			d->rx.tail = val;
			rx_kick(d);
		}
		return;
	}
}

/* --- Device ops ------------------------------------------------------------------------- */

static void ring_reset(void *opaque)
{
	do_reset(opaque);
}

static void ring_destroy(void *opaque)
{
	struct ring *d = opaque;
	if (!d)
		return;
	dc_bm_abort(d->tx_bm);
	dc_bm_abort(d->rx_bm);
	while (d->rxq_n)
		rxq_pop(d);
	free(d->wire);
	free(d->script);
	free(d);
}

static uint64_t ring_store_size(void *opaque)
{
	struct ring *d = opaque;
	return d->wire_len;
}

static int ring_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct ring *d = opaque;
	if (off >= DC_RING_SCRIPT_BASE) {
		off -= DC_RING_SCRIPT_BASE;
		if (off > d->script_len || len > d->script_len - off)
			return DC_ERR_RANGE;
		memcpy(buf, d->script + off, len);
		return DC_OK;
	}
	if (off < d->wire_base || off > d->wire_len || len > d->wire_len - off)
		return DC_ERR_RANGE;
	memcpy(buf, d->wire + (off - d->wire_base), len);
	return DC_OK;
}

static int ring_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct ring *d = opaque;
	if (off < DC_RING_SCRIPT_BASE)
		return DC_ERR_RANGE; /* the wire log is what the device sent: read-only */
	off -= DC_RING_SCRIPT_BASE;
	if (off > (UINT64_C(1) << 32) || len > (UINT64_C(1) << 32))
		return DC_ERR_RANGE;
	if (off + len > d->script_len) {
		uint8_t *s = realloc(d->script, off + len);
		if (!s)
			return DC_ERR_NOMEM;
		memset(s + d->script_len, 0, off + len - d->script_len);
		d->script = s;
		d->script_len = off + len;
	}
	memcpy(d->script + off, buf, len);
	rx_kick(d);
	return DC_OK;
}

static void ring_inject_fault(void *opaque, enum dc_fault f)
{
	struct ring *d = opaque;
	if (f == DC_FAULT_TRANSFER_ERROR)
		d->fault_armed = true;
}

static int ring_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const struct dc_device_ops ring_ops = {
    .create = ring_create,
    .mmio_read = mmio_read,
    .mmio_write = mmio_write,
    .reset = ring_reset,
    .destroy = ring_destroy,
    .store_size = ring_store_size,
    .store_read = ring_store_read,
    .store_write = ring_store_write,
    .inject_fault = ring_inject_fault,
};

static int ring_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	const struct dc_device_res *r = dc_host_res(h);
	struct dc_ring_config c = {0};
	if (dcfg->priv)
		c = *(const struct dc_ring_config *)dcfg->priv;
	else
		c.bw = dcfg->bw;
	c.addr_bits = r->addr_bits;
	if (c.addr_bits != 32 && c.addr_bits != 64) {
		dc_host_log(h, "addr_bits %u (32 or 64)", c.addr_bits);
		return DC_ERR_INVAL;
	}
	struct ring *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->h = h;
	d->addr_bits = c.addr_bits;
	d->irq = r->irq;
	/* TX first: the first engine is the one the kernel drains (both share one source). */
	d->tx_bm = dc_bm_new(h, c.bw, 0);
	d->rx_bm = dc_bm_new(h, c.bw, 0);
	if (!d->tx_bm || !d->rx_bm) {
		free(d);
		return DC_ERR_NOMEM;
	}
	*opaque = d;
	return DC_OK;
}

const struct dc_device_model dc_ring_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "ring",
    .desc = "NIC-like device with TX/RX descriptor rings in host memory (MMIO)",
    .ops = &ring_ops,
    .res =
        {
            .mmio_base = 0x10000,
            .mmio_len = DC_RING_MMIO_LEN,
            .irq = -1,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
            .bus_master = true,
            .scatter_gather = true,
            .max_sg = DC_RING_MAX_FRAGS,
        },
    .mmio_stride = 0x1000,
    .store_kind = DC_STORE_FRAME,
    .store_unit = DC_RING_MAX_FRAME,
    .no_fault = true,
};

int dc_ring_create(struct dc_machine *m, struct dc_bridge *br, const struct dc_ring_config *cfg,
                   struct dc_device *dev)
{
	struct dc_ring_config c = cfg ? *cfg : (struct dc_ring_config){.irq = -1};
	if (!m || !br || !dev)
		return DC_ERR_INVAL;
	struct dc_device_res r = dc_ring_model.res;
	r.mmio_base = c.mmio_base;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : DC_IRQ_LEVEL;
	if (c.addr_bits)
		r.addr_bits = c.addr_bits;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, br, &dc_ring_model, &r, &dc, dev, NULL, 0);
}

struct dc_busmaster *dc_ring_busmaster(void *opaque)
{
	struct ring *d = opaque;
	return dc_bm_busmaster(d->tx_bm);
}

int dc_ring_inject_rx(void *opaque, const void *frame, uint32_t len)
{
	struct ring *d = opaque;
	if (len == 0 || len > DC_RING_MAX_FRAME)
		return DC_ERR_INVAL;
	int err = rxq_push(d, frame, len);
	if (err == DC_OK)
		rx_kick(d);
	return err;
}

const struct dc_ring_stats *dc_ring_stats(void *opaque)
{
	struct ring *d = opaque;
	return &d->st;
}
