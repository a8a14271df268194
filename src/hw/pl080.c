/* The PL080 DMA controller.  See pl080.h and docs/devices/pl080.md.
 *
 * Engine: a channel that can move (controller and channel enabled, not halted, its request
 * line asserted or memory to memory) has one clock event pending for its next batch; the
 * event moves the batch planned when it was scheduled, then plans the next one.  Bytes go
 * source -> FIFO -> destination in one host copy per batch; only the tail that does not make
 * up a destination burst is kept in the channel's FIFO between batches. */
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "pl080.h"

#define NS_PER_S UINT64_C(1000000000)
#define CCFG_WRITABLE 0x5FBDFu /* E, SrcPeripheral, DestPeripheral, FlowCntrl, IE, ITC, L, H */

struct chan {
	struct dc_pl080 *d;
	unsigned no;
	uint32_t src, dst, lli, ctl, cfg;
	uint32_t left;  /* bytes of the current LLI still to come from the source */
	uint32_t batch; /* bytes the pending event moves */
	uint8_t fifo[DC_PL080_FIFO];
	uint32_t flen;
	bool done;    /* the last LLI finished; enabled only while the FIFO holds its tail */
	bool stalled; /* the peripheral gave or took nothing: waits for its request again */
	struct dc_event ev;
	struct dc_pl080_stats st;
};

struct rline {
	const struct dc_dma_client *cl;
	void *opaque;
	bool level;
};

struct dc_pl080 {
	struct dc_machine *m;
	uint64_t base;
	unsigned irq;
	int src;
	uint64_t bw;
	uint32_t config, sync, soft_b, soft_s, soft_lb, soft_ls, raw_tc, raw_err;
	struct rline ln[DC_PL080_LINES];
	struct chan ch[DC_PL080_CHANNELS];
	uint8_t scratch[DC_PL080_RUN_MAX + DC_PL080_FIFO];
};

static const uint8_t periph_id[4] = {0x80, 0x10, 0x04, 0x00};
static const uint8_t cell_id[4] = {0x0D, 0xF0, 0x05, 0xB1};
static const uint16_t burst_len[8] = {1, 4, 8, 16, 32, 64, 128, 256};

/* ---- Fields ------------------------------------------------------------------------------- */

static unsigned flow(const struct chan *c)
{
	return (c->cfg >> DC_PL080_CCFG_FLOW_SHIFT) & 7u;
}

static unsigned swidth(uint32_t ctl)
{
	return (ctl >> DC_PL080_CTL_SWIDTH_SHIFT) & 7u;
}

static unsigned dwidth(uint32_t ctl)
{
	return (ctl >> DC_PL080_CTL_DWIDTH_SHIFT) & 7u;
}

/* Bytes that leave the FIFO for memory together: one destination burst, at most the FIFO. */
static uint32_t dst_unit(const struct chan *c)
{
	uint32_t b = burst_len[(c->ctl >> DC_PL080_CTL_DBSIZE_SHIFT) & 7u] * (1u << dwidth(c->ctl));
	return DC_MIN(b, DC_PL080_FIFO);
}

static bool enabled(const struct chan *c)
{
	return (c->cfg & DC_PL080_CCFG_E) != 0;
}

/* The request line the channel's peripheral side uses, or -1 (memory to memory). */
static int line_of(const struct chan *c)
{
	switch (flow(c)) {
	case DC_PL080_FLOW_M2P:
		return (int)((c->cfg >> DC_PL080_CCFG_DSTPER_SHIFT) & 15u);
	case DC_PL080_FLOW_P2M:
		return (int)((c->cfg >> DC_PL080_CCFG_SRCPER_SHIFT) & 15u);
	default:
		return -1;
	}
}

static bool requesting(const struct chan *c)
{
	int l = line_of(c);
	if (l < 0)
		return true;
	const struct dc_pl080 *d = c->d;
	return d->ln[l].level || ((d->soft_b | d->soft_s) >> l & 1u);
}

static bool can_move(const struct chan *c)
{
	/* left == 0 with the transfer not done: the end of an empty LLI is still to be taken. */
	return (c->d->config & DC_PL080_CFG_E) && enabled(c) && !(c->cfg & DC_PL080_CCFG_H) &&
	       !c->done && !c->stalled && (c->left == 0 || requesting(c));
}

/* ---- Interrupts --------------------------------------------------------------------------- */

static uint32_t masked(const struct dc_pl080 *d, uint32_t raw, uint32_t bit)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
		if ((raw >> i & 1u) && (d->ch[i].cfg & bit))
			v |= 1u << i;
	return v;
}

static uint32_t int_tc(const struct dc_pl080 *d)
{
	return masked(d, d->raw_tc, DC_PL080_CCFG_ITC);
}

static uint32_t int_err(const struct dc_pl080 *d)
{
	return masked(d, d->raw_err, DC_PL080_CCFG_IE);
}

static void update_irq(struct dc_pl080 *d)
{
	if (int_tc(d) | int_err(d))
		dc_irq_raise(&d->m->irq, d->irq);
	else
		dc_irq_lower(&d->m->irq, d->irq);
}

/* ---- The engine --------------------------------------------------------------------------- */

static void kick(struct chan *c)
{
	struct dc_pl080 *d = c->d;
	if (!can_move(c)) {
		dc_event_cancel(&d->m->clock, &c->ev);
		return;
	}
	if (dc_event_pending(&c->ev))
		return;
	c->batch = DC_MIN(c->left, DC_PL080_RUN_MAX);
	uint64_t ns = ((uint64_t)c->batch * NS_PER_S + d->bw - 1) / d->bw;
	(void)dc_event_schedule(&d->m->clock, &c->ev, d->m->clock.now + DC_MAX(ns, 1));
}

static void chan_error(struct chan *c)
{
	struct dc_pl080 *d = c->d;
	dc_event_cancel(&d->m->clock, &c->ev);
	c->st.lost_bytes += c->flen;
	c->flen = 0;
	c->cfg &= ~DC_PL080_CCFG_E;
	c->done = false;
	c->st.errors++;
	d->raw_err |= 1u << c->no;
	update_irq(d);
}

/* Memory access of n bytes at *addr, stepping the address when inc (else every element of
 * `w` bytes goes to / comes from the same address).  False on an access outside memory. */
static bool mem_io(struct chan *c, uint32_t *addr, uint8_t *buf, uint32_t n, bool inc, unsigned w,
                   bool write)
{
	struct dc_pl080 *d = c->d;
	if (!inc) {
		for (uint32_t k = 0; k < n; k += w) {
			uint32_t piece = DC_MIN(w, n - k);
			int rc = write ? dc_dma_write(d->m, d->src, *addr, buf + k, piece)
			               : dc_dma_read(d->m, d->src, *addr, buf + k, piece);
			if (rc < 0)
				return false;
		}
		return true;
	}
	int rc = write ? dc_dma_write(d->m, d->src, *addr, buf, n)
	               : dc_dma_read(d->m, d->src, *addr, buf, n);
	if (rc < 0)
		return false;
	*addr += n;
	return true;
}

/* Writes the whole FIFO to the destination (between LLIs and at a halt). */
static bool fifo_flush(struct chan *c)
{
	if (!c->flen)
		return true;
	uint32_t n = c->flen;
	c->flen = 0;
	if (!mem_io(c, &c->dst, c->fifo, n, c->ctl & DC_PL080_CTL_DI, 1u << dwidth(c->ctl), true))
		return false;
	c->st.dst_bytes += n;
	return true;
}

static void load_size(struct chan *c)
{
	c->left = (c->ctl & DC_PL080_CTL_SIZE_MASK) << swidth(c->ctl);
}

/* The end of the current LLI: terminal count, then the next item or the end. */
static void lli_end(struct chan *c)
{
	struct dc_pl080 *d = c->d;
	if (c->ctl & DC_PL080_CTL_I) {
		d->raw_tc |= 1u << c->no;
		c->st.tcs++;
	}
	int l = line_of(c);
	if (l >= 0) {
		d->soft_b &= ~(1u << l);
		d->soft_s &= ~(1u << l);
	}
	if (c->lli & ~3u) {
		uint32_t w[4];
		if (!fifo_flush(c) || dc_dma_read(d->m, d->src, c->lli & ~3u, w, sizeof(w)) < 0) {
			chan_error(c);
			return;
		}
		c->src = w[0];
		c->dst = w[1];
		c->lli = w[2] & ~2u;
		c->ctl = w[3];
		c->st.llis++;
		if (swidth(c->ctl) > 2 || dwidth(c->ctl) > 2) {
			chan_error(c);
			return;
		}
		load_size(c); /* an empty item ends at the next event (no recursion on a cycle) */
	} else {
		c->done = true;
		if (!c->flen)
			c->cfg &= ~DC_PL080_CCFG_E;
		/* DMACTC: the peripheral learns that the transfer is complete. */
		if (l >= 0 && d->ln[l].cl && d->ln[l].cl->tc)
			d->ln[l].cl->tc(d->ln[l].opaque);
	}
	update_irq(d);
}

/* Moves up to `batch` bytes now. */
static void run(struct chan *c, uint32_t batch)
{
	struct dc_pl080 *d = c->d;
	uint32_t n = DC_MIN(batch, c->left), got = 0;
	int l = line_of(c);
	unsigned sw = 1u << swidth(c->ctl);
	bool si = c->ctl & DC_PL080_CTL_SI;
	if (!can_move(c))
		return;
	if (n == 0) {
		lli_end(c);
		return;
	}
	if (flow(c) == DC_PL080_FLOW_M2P) {
		const struct rline *r = &d->ln[l];
		uint8_t *room = r->cl && r->cl->dack_to_device
		                    ? r->cl->dack_to_device(r->opaque, n, &got)
		                    : NULL;
		if (!room || got == 0) {
			c->stalled = true;
			return;
		}
		got = DC_MIN(got, n);
		if (!mem_io(c, &c->src, room, got, si, sw, false)) {
			chan_error(c);
			return;
		}
		c->st.src_bytes += got;
		c->st.dst_bytes += got;
	} else {
		uint8_t *buf = d->scratch;
		memcpy(buf, c->fifo, c->flen);
		if (flow(c) == DC_PL080_FLOW_P2M) {
			const struct rline *r = &d->ln[l];
			const uint8_t *p = r->cl && r->cl->dack_from_device
			                       ? r->cl->dack_from_device(r->opaque, n, &got)
			                       : NULL;
			if (!p || got == 0) {
				c->stalled = true;
				return;
			}
			got = DC_MIN(got, n);
			memcpy(buf + c->flen, p, got);
		} else {
			got = n;
			if (!mem_io(c, &c->src, buf + c->flen, got, si, sw, false)) {
				chan_error(c);
				return;
			}
		}
		c->st.src_bytes += got;
		uint32_t total = c->flen + got, unit = dst_unit(c);
		uint32_t out = total - total % unit;
		c->flen = total - out;
		if (out && !mem_io(c, &c->dst, buf, out, c->ctl & DC_PL080_CTL_DI,
		                   1u << dwidth(c->ctl), true)) {
			chan_error(c);
			return;
		}
		memmove(c->fifo, buf + out, c->flen);
		c->st.dst_bytes += out;
	}
	c->left -= got;
	if (c->left == 0)
		lli_end(c);
}

static void ch_event(void *opaque)
{
	struct chan *c = opaque;
	run(c, c->batch);
	kick(c);
}

/* ---- Registers ---------------------------------------------------------------------------- */

static void chan_start(struct chan *c)
{
	c->done = false;
	c->stalled = false;
	c->flen = 0;
	if (flow(c) > DC_PL080_FLOW_P2M || swidth(c->ctl) > 2 || dwidth(c->ctl) > 2) {
		chan_error(c); /* not modelled (peripheral flow control) or reserved widths */
		return;
	}
	load_size(c);
}

static void chan_config_write(struct chan *c, uint32_t v)
{
	struct dc_pl080 *d = c->d;
	uint32_t old = c->cfg;
	v &= CCFG_WRITABLE;
	if (enabled(c) && !(v & DC_PL080_CCFG_E)) {
		/* Disabled at once: what the FIFO holds is lost. */
		c->st.lost_bytes += c->flen;
		c->flen = 0;
		c->done = false;
	}
	c->cfg = v;
	if (!(old & DC_PL080_CCFG_E) && (v & DC_PL080_CCFG_E))
		chan_start(c);
	if ((v & DC_PL080_CCFG_H) && !(old & DC_PL080_CCFG_H) && enabled(c)) {
		/* Halt: no more source requests; the FIFO drains to its destination. */
		uint32_t n = c->flen;
		if (!fifo_flush(c)) {
			chan_error(c);
		} else {
			c->st.drained_bytes += n;
			if (c->done)
				c->cfg &= ~DC_PL080_CCFG_E;
		}
	}
	c->stalled = false;
	update_irq(d);
	kick(c);
}

static void kick_all(struct dc_pl080 *d)
{
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
		kick(&d->ch[i]);
}

static uint32_t reg_read(void *opaque, uint64_t off, unsigned size)
{
	struct dc_pl080 *d = opaque;
	if (size != 4 || (off & 3))
		return 0;
	if (off >= DC_PL080_CH(0) && off < DC_PL080_CH(DC_PL080_CHANNELS)) {
		struct chan *c = &d->ch[(off - DC_PL080_CH(0)) / 0x20];
		switch ((off - DC_PL080_CH(0)) % 0x20) {
		case DC_PL080_CH_SRC:
			return c->src;
		case DC_PL080_CH_DST:
			return c->dst;
		case DC_PL080_CH_LLI:
			return c->lli;
		case DC_PL080_CH_CONTROL:
			if (!enabled(c))
				return c->ctl;
			/* Transfers still to come from the source, in source widths. */
			return (c->ctl & ~DC_PL080_CTL_SIZE_MASK) |
			       (((c->left + (1u << swidth(c->ctl)) - 1) >> swidth(c->ctl)) &
			        DC_PL080_CTL_SIZE_MASK);
		case DC_PL080_CH_CONFIG:
			return c->cfg | (c->flen ? DC_PL080_CCFG_A : 0);
		default:
			return 0;
		}
	}
	if (off >= DC_PL080_PERIPH_ID0 && off < DC_PL080_PERIPH_ID0 + 16)
		return periph_id[(off - DC_PL080_PERIPH_ID0) / 4];
	if (off >= DC_PL080_CELL_ID0 && off < DC_PL080_CELL_ID0 + 16)
		return cell_id[(off - DC_PL080_CELL_ID0) / 4];
	switch (off) {
	case DC_PL080_INT_STATUS:
		return int_tc(d) | int_err(d);
	case DC_PL080_INT_TC_STATUS:
		return int_tc(d);
	case DC_PL080_INT_ERR_STATUS:
		return int_err(d);
	case DC_PL080_RAW_TC_STATUS:
		return d->raw_tc;
	case DC_PL080_RAW_ERR_STATUS:
		return d->raw_err;
	case DC_PL080_ENBLD_CHNS: {
		uint32_t v = 0;
		for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
			v |= enabled(&d->ch[i]) ? 1u << i : 0;
		return v;
	}
	case DC_PL080_SOFT_BREQ:
		return d->soft_b;
	case DC_PL080_SOFT_SREQ:
		return d->soft_s;
	case DC_PL080_SOFT_LBREQ:
		return d->soft_lb;
	case DC_PL080_SOFT_LSREQ:
		return d->soft_ls;
	case DC_PL080_CONFIG:
		return d->config;
	case DC_PL080_SYNC:
		return d->sync;
	default:
		return 0;
	}
}

static void reg_write(void *opaque, uint64_t off, uint32_t v, unsigned size)
{
	struct dc_pl080 *d = opaque;
	if (size != 4 || (off & 3))
		return;
	if (off >= DC_PL080_CH(0) && off < DC_PL080_CH(DC_PL080_CHANNELS)) {
		struct chan *c = &d->ch[(off - DC_PL080_CH(0)) / 0x20];
		unsigned r = (unsigned)((off - DC_PL080_CH(0)) % 0x20);
		if (r == DC_PL080_CH_CONFIG) {
			chan_config_write(c, v);
			return;
		}
		if (r > DC_PL080_CH_CONFIG)
			return;
		if (enabled(c)) {
			c->st.dropped_writes++; /* the TRM: program a channel only while disabled */
			return;
		}
		if (r == DC_PL080_CH_SRC)
			c->src = v;
		else if (r == DC_PL080_CH_DST)
			c->dst = v;
		else if (r == DC_PL080_CH_LLI)
			c->lli = v & ~2u;
		else
			c->ctl = v;
		return;
	}
	switch (off) {
	case DC_PL080_INT_TC_CLEAR:
		d->raw_tc &= ~(v & 0xFFu);
		update_irq(d);
		return;
	case DC_PL080_INT_ERR_CLEAR:
		d->raw_err &= ~(v & 0xFFu);
		update_irq(d);
		return;
	case DC_PL080_SOFT_BREQ:
		d->soft_b |= v & 0xFFFFu;
		break;
	case DC_PL080_SOFT_SREQ:
		d->soft_s |= v & 0xFFFFu;
		break;
	case DC_PL080_SOFT_LBREQ:
		d->soft_lb |= v & 0xFFFFu;
		return;
	case DC_PL080_SOFT_LSREQ:
		d->soft_ls |= v & 0xFFFFu;
		return;
	case DC_PL080_CONFIG:
		d->config = v & 7u;
		break;
	case DC_PL080_SYNC:
		d->sync = v & 0xFFFFu;
		return;
	default:
		return;
	}
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
		d->ch[i].stalled = false;
	kick_all(d);
}

static const struct dc_io_ops pl080_io_ops = {.read = reg_read, .write = reg_write};

/* ---- Lifetime and the peripheral side ----------------------------------------------------- */

int dc_pl080_create(struct dc_machine *m, uint64_t base, unsigned irq, struct dc_pl080 **out)
{
	*out = NULL;
	if (!m || irq >= DC_IRQ_LINES || (base & (DC_PL080_WINDOW - 1)) || m->plat.sysdma_bw == 0)
		return DC_ERR_INVAL;
	if (dc_bus_mmio_owner(&m->bus, base, DC_PL080_WINDOW))
		return DC_ERR_BUSY;
	struct dc_pl080 *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->m = m;
	d->base = base;
	d->irq = irq;
	d->bw = m->plat.sysdma_bw;
	int rc = dc_machine_dma_source(m, "pl080");
	if (rc < 0) {
		free(d);
		return rc;
	}
	d->src = rc;
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++) {
		d->ch[i].d = d;
		d->ch[i].no = i;
		dc_event_init(&d->ch[i].ev, "pl080", ch_event, &d->ch[i]);
	}
	rc = dc_bus_add_mmio(&m->bus, base, DC_PL080_WINDOW, &pl080_io_ops, d, "pl080");
	if (rc < 0) {
		free(d);
		return rc;
	}
	*out = d;
	return DC_OK;
}

void dc_pl080_destroy(struct dc_pl080 *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
		dc_event_cancel(&d->m->clock, &d->ch[i].ev);
	dc_irq_lower(&d->m->irq, d->irq);
	dc_bus_remove(&d->m->bus, d);
	free(d);
}

struct dc_pl080 *dc_pl080_from_bus(const struct dc_bus *b)
{
	for (unsigned i = 0; i < b->n_mmio; i++)
		if (b->mmio[i].ops == &pl080_io_ops)
			return b->mmio[i].opaque;
	return NULL;
}

uint64_t dc_pl080_base(const struct dc_pl080 *d)
{
	return d->base;
}

unsigned dc_pl080_irq(const struct dc_pl080 *d)
{
	return d->irq;
}

void dc_pl080_reset(struct dc_pl080 *d)
{
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		dc_event_cancel(&d->m->clock, &c->ev);
		c->src = c->dst = c->lli = c->ctl = c->cfg = 0;
		c->left = c->flen = 0;
		c->done = c->stalled = false;
	}
	d->config = d->sync = d->soft_b = d->soft_s = d->soft_lb = d->soft_ls = 0;
	d->raw_tc = d->raw_err = 0;
	update_irq(d);
}

int dc_pl080_attach(struct dc_pl080 *d, unsigned line, const struct dc_dma_client *c, void *opaque)
{
	if (line >= DC_PL080_LINES || !c)
		return DC_ERR_INVAL;
	if (d->ln[line].cl)
		return DC_ERR_BUSY;
	d->ln[line] = (struct rline){.cl = c, .opaque = opaque};
	return DC_OK;
}

void dc_pl080_detach(struct dc_pl080 *d, unsigned line)
{
	if (line >= DC_PL080_LINES)
		return;
	d->ln[line] = (struct rline){0};
	kick_all(d);
}

void dc_pl080_request(struct dc_pl080 *d, unsigned line, bool level)
{
	if (line >= DC_PL080_LINES)
		return;
	d->ln[line].level = level;
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		if (line_of(c) == (int)line) {
			if (level)
				c->stalled = false;
			kick(c);
		}
	}
}

void dc_pl080_error(struct dc_pl080 *d, unsigned line)
{
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++) {
		struct chan *c = &d->ch[i];
		if (enabled(c) && line_of(c) == (int)line)
			chan_error(c);
	}
}

void dc_pl080_sync(struct dc_pl080 *d)
{
	dc_clock_run_until(&d->m->clock, d->m->clock.now);
}

void dc_pl080_state(struct dc_pl080 *d, unsigned ch, struct dc_pl080_chan_state *out)
{
	const struct chan *c = &d->ch[ch % DC_PL080_CHANNELS];
	*out = (struct dc_pl080_chan_state){.src = c->src,
	                                    .dst = c->dst,
	                                    .lli = c->lli,
	                                    .control = c->ctl,
	                                    .config = c->cfg | (c->flen ? DC_PL080_CCFG_A : 0),
	                                    .fifo = c->flen,
	                                    .left = c->left,
	                                    .requesting = requesting(c)};
}

const struct dc_pl080_stats *dc_pl080_stats(const struct dc_pl080 *d, unsigned ch)
{
	return &d->ch[ch % DC_PL080_CHANNELS].st;
}
