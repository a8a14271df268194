/* The host side of the device-model API (include/dmacoh/device.h): binds a model to the
 * machine.  It checks the model's declaration, claims the resources it got (ports, MMIO
 * window, 8237 channels, a DMA source for bus masters) before creating anything, routes
 * register accesses to the model's callbacks (refusing undeclared access sizes), relays the
 * 8237's client callbacks, and gives the model its interrupt line, timers and bus-master
 * engines.  Everything a model allocates through its host is freed with the device.
 *
 * Deliberately not done here: choosing resources for an instance (the kernel's PnP side does
 * that from the model's declaration), shared interrupt lines.  MSI: a message is one edge on
 * the line of its vector (res.irq + msg), sent after the bridge has landed the device's posted
 * writes; the device never holds a line asserted. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "busmaster.h"
#include "device.h"
#include "i8237.h"
#include "machine.h"
#include "pl080.h"

struct dc_timer {
	struct dc_event ev;
	struct dc_host *h;
	struct dc_timer *next;
};

struct dc_bm {
	struct dc_busmaster bm;
	struct dc_host *h;
	struct dc_bm *next;
};

struct chan_ctx {
	struct dc_host *h;
	unsigned idx;
	int ch; /* attached 8237 channel, -1: none */
};

struct dc_host {
	struct dc_machine *m;
	struct dc_bridge *br;
	struct dc_i8237 *dma;
	const struct dc_device_model *model;
	struct dc_device_ops ops; /* the model's, name and desc filled in */
	struct dc_device_res res;
	void *opaque;
	int source; /* DMA source of the bus-master engines, -1: none */
	struct chan_ctx chan[2];
	struct dc_pl080 *pl080; /* the request-line controller, when the model has a line */
	int rline;              /* its line, -1: none */
	bool rline_8237;        /* no request-line controller: the line is the 8237 channel */
	struct dc_timer *timers;
	struct dc_bm *bms;
	uint64_t bad_size; /* accesses of an undeclared size */
	char name[40];     /* "model" or "model#n": the bus ranges' name */
	char log[256];
};

const char *dc_fault_name(enum dc_fault f)
{
	switch (f) {
	case DC_FAULT_NONE:
		return "none";
	case DC_FAULT_TRANSFER_ERROR:
		return "transfer-error";
	}
	return "?";
}

const char *dc_store_kind_name(enum dc_store_kind k)
{
	static const char *const n[] = {"none", "block", "frame", "stream"};
	return (unsigned)k < DC_ARRAY_SIZE(n) ? n[k] : "?";
}

/* ---- Declaration check ------------------------------------------------------------------------
 */

int dc_device_model_check(const struct dc_device_model *m, char *err, size_t errlen)
{
	char tmp[8];
	if (!err) {
		err = tmp;
		errlen = sizeof(tmp);
	}
#define BAD(...) return snprintf(err, errlen, __VA_ARGS__), DC_ERR_INVAL
	if (!m)
		BAD("no device model");
	if (m->abi != DMACOH_DEVICE_ABI)
		BAD("device model ABI %u, this dmacoh speaks %u (rebuild it with this dmacoh-cc "
		    "--device-model)",
		    m->abi, DMACOH_DEVICE_ABI);
	if (m->size < offsetof(struct dc_device_model, has_request_line))
		BAD("device model struct of %u bytes, ABI %u has %zu (built against another "
		    "device.h?)",
		    m->size, DMACOH_DEVICE_ABI, sizeof(*m));
	if (!m->name || !*m->name || strlen(m->name) > 31)
		BAD("device model without a name (or longer than 31 characters)");
	for (const char *p = m->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			BAD("device model name '%s': only a-z, 0-9, '_' and '-'", m->name);
	const struct dc_device_ops *o = m->ops;
	if (!o)
		BAD("device model '%s': no ops table", m->name);
#define NEED(c, member)                                                         \
	if ((c) && !o->member)                                                  \
	BAD("device model '%s': ops.%s missing (required%s)", m->name, #member, \
	    #c[0] == '1' ? "" : " by its resources or store kind")
	NEED(1, create);
	NEED(1, destroy);
	const struct dc_device_res *r = &m->res;
	NEED(r->port_len, port_read);
	NEED(r->port_len, port_write);
	NEED(r->mmio_len, mmio_read);
	NEED(r->mmio_len, mmio_write);
	NEED(r->dma_channel >= 0, dack_from_device);
	NEED(r->dma_channel >= 0, dack_to_device);
	NEED(r->dma_channel >= 0, tc);
	NEED(m->store_kind != DC_STORE_NONE, store_size);
	NEED(m->store_kind != DC_STORE_NONE, store_read);
	NEED(m->store_kind != DC_STORE_NONE, store_write);
	NEED(m->store_kind == DC_STORE_STREAM, stream_sink);
	NEED(m->store_kind == DC_STORE_STREAM, stream_consume);
	NEED(m->store_kind == DC_STORE_STREAM, stream_idle);
#undef NEED
	if (r->irq_mode == DC_IRQ_MSI && !r->bus_master)
		BAD("device model '%s': MSI needs a bus master (a message is a memory write)",
		    m->name);
	if (r->irq_mode == DC_IRQ_MSI && (r->msi_messages == 0 || r->msi_messages > 16 ||
	                                  (r->msi_messages & (r->msi_messages - 1))))
		BAD("device model '%s': msi_messages %u (1, 2, 4, 8 or 16)", m->name,
		    r->msi_messages);
	if ((unsigned)r->irq_mode > DC_IRQ_MSI)
		BAD("device model '%s': irq_mode %d is not a dc_irq_mode", m->name,
		    (int)r->irq_mode);
	if (r->port_len && (uint64_t)r->port_base + r->port_len > 0x10000)
		BAD("device model '%s': ports 0x%x+%u pass 0xFFFF", m->name, r->port_base,
		    r->port_len);
	if (!r->port_len && !r->mmio_len)
		BAD("device model '%s': no registers (declare ports or an MMIO window)", m->name);
	if (r->irq_mode != DC_IRQ_NONE && r->irq >= 0 &&
	    (uint64_t)r->irq + (r->irq_mode == DC_IRQ_MSI ? r->msi_messages : 1) > 32)
		BAD("device model '%s': interrupt line %d (0-31)", m->name, r->irq);
	if (r->has_dma2 && r->dma_channel < 0)
		BAD("device model '%s': a second DMA channel without a first", m->name);
	if ((unsigned)m->store_kind > DC_STORE_STREAM)
		BAD("device model '%s': store_kind %d is not a dc_store_kind", m->name,
		    (int)m->store_kind);
	if ((m->store_kind == DC_STORE_BLOCK || m->store_kind == DC_STORE_FRAME) && !m->store_unit)
		BAD("device model '%s': store_unit 0 (sector size or largest frame)", m->name);
	if (m->n_more && !m->more)
		BAD("device model '%s': n_more %u without a table", m->name, m->n_more);
#undef BAD
	return DC_OK;
}

/* ---- Register routing ------------------------------------------------------------------------ */

static uint32_t all_ones(unsigned size)
{
	return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

static bool size_ok(struct dc_host *h, uint8_t mask, unsigned size)
{
	if (!mask || (mask & size))
		return true;
	h->bad_size++;
	return false;
}

/* A port range may be claimed in pieces (holes): the piece's opaque is the host, its offset
 * within the device's range is base - res.port_base. */
static uint32_t port_rd(void *opaque, uint64_t off, unsigned size, uint64_t delta)
{
	struct dc_host *h = opaque;
	if (!size_ok(h, h->res.port_access, size))
		return all_ones(size);
	return h->model->ops->port_read(h->opaque, off + delta, size);
}

static void port_wr(void *opaque, uint64_t off, uint32_t val, unsigned size, uint64_t delta)
{
	struct dc_host *h = opaque;
	if (size_ok(h, h->res.port_access, size))
		h->model->ops->port_write(h->opaque, off + delta, val, size);
}

/* One trampoline pair per possible piece start (a hole table of 32 bits gives at most 16
 * pieces); generated so the offset is a constant. */
#define PIECE(n)                                                                    \
	static uint32_t port_rd_##n(void *o, uint64_t off, unsigned size)           \
	{                                                                           \
		return port_rd(o, off, size, n);                                    \
	}                                                                           \
	static void port_wr_##n(void *o, uint64_t off, uint32_t val, unsigned size) \
	{                                                                           \
		port_wr(o, off, val, size, n);                                      \
	}
PIECE(0)
PIECE(1)
PIECE(2)
PIECE(3)
PIECE(4)
PIECE(5)
PIECE(6)
PIECE(7)
PIECE(8)
PIECE(9)
PIECE(10)
PIECE(11)
PIECE(12)
PIECE(13)
PIECE(14)
PIECE(15)
PIECE(16)
PIECE(17)
PIECE(18)
PIECE(19)
PIECE(20)
PIECE(21)
PIECE(22)
PIECE(23)
PIECE(24)
PIECE(25)
PIECE(26)
PIECE(27)
PIECE(28)
PIECE(29)
PIECE(30)
PIECE(31)
#undef PIECE
#define P(n)                             \
	{                                \
		port_rd_##n, port_wr_##n \
	}
static const struct dc_io_ops port_piece_ops[32] = {
    P(0),  P(1),  P(2),  P(3),  P(4),  P(5),  P(6),  P(7),  P(8),  P(9),  P(10),
    P(11), P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19), P(20), P(21),
    P(22), P(23), P(24), P(25), P(26), P(27), P(28), P(29), P(30), P(31),
};
#undef P

static uint32_t mmio_rd(void *opaque, uint64_t off, unsigned size)
{
	struct dc_host *h = opaque;
	if (!size_ok(h, h->res.mmio_access, size))
		return all_ones(size);
	return h->model->ops->mmio_read(h->opaque, off, size);
}

static void mmio_wr(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct dc_host *h = opaque;
	if (size_ok(h, h->res.mmio_access, size))
		h->model->ops->mmio_write(h->opaque, off, val, size);
}

static const struct dc_io_ops mmio_ops = {mmio_rd, mmio_wr};

/* The pieces of the port range: [start, end) runs of decoded offsets.  Returns their number. */
static unsigned port_pieces(const struct dc_device_res *r, uint32_t start[32], uint32_t end[32])
{
	unsigned n = 0;
	uint32_t i = 0;
	while (i < r->port_len) {
		while (i < r->port_len && i < 32 && (r->port_holes >> i) & 1)
			i++;
		if (i >= r->port_len)
			break;
		start[n] = i;
		while (i < r->port_len && !(i < 32 && (r->port_holes >> i) & 1))
			i++;
		end[n++] = i;
	}
	return n;
}

/* ---- 8237 client relays ---------------------------------------------------------------------- */

static const uint8_t *rel_from(void *o, uint32_t max, uint32_t *n)
{
	struct chan_ctx *c = o;
	return c->h->model->ops->dack_from_device(c->h->opaque, c->idx, max, n);
}

static uint8_t *rel_to(void *o, uint32_t max, uint32_t *n)
{
	struct chan_ctx *c = o;
	return c->h->model->ops->dack_to_device(c->h->opaque, c->idx, max, n);
}

static void rel_tc(void *o)
{
	struct chan_ctx *c = o;
	if (c->h->model->ops->tc)
		c->h->model->ops->tc(c->h->opaque, c->idx);
}

static uint64_t rel_pending(void *o)
{
	struct chan_ctx *c = o;
	return c->h->model->ops->pending(c->h->opaque, c->idx);
}

static const struct dc_dma_client client_ops = {rel_from, rel_to, rel_tc, rel_pending};
static const struct dc_dma_client client_ops_nopending = {rel_from, rel_to, rel_tc, NULL};

/* ---- Attach / detach ------------------------------------------------------------------------- */

/* Live hosts, to name who holds a resource. */
static _Thread_local struct dc_host *live[256];
static _Thread_local unsigned n_live;

static const char *chan_owner(const struct dc_machine *m, unsigned ch)
{
	for (unsigned i = 0; i < n_live; i++)
		if (live[i]->m == m)
			for (unsigned k = 0; k < 2; k++)
				if (live[i]->chan[k].ch == (int)ch)
					return live[i]->name;
	return "the DMA controller";
}

static void detach_channels(struct dc_host *h)
{
	for (unsigned k = 0; k < 2; k++)
		if (h->chan[k].ch >= 0 && h->dma) {
			dc_i8237_dreq(h->dma, (unsigned)h->chan[k].ch, false);
			dc_i8237_detach(h->dma, (unsigned)h->chan[k].ch);
			h->chan[k].ch = -1;
		}
}

static void release(struct dc_host *h)
{
	detach_channels(h);
	if (h->rline >= 0 && h->pl080) {
		dc_pl080_request(h->pl080, (unsigned)h->rline, false);
		dc_pl080_detach(h->pl080, (unsigned)h->rline);
		h->rline = -1;
	}
	dc_bus_remove(&h->m->bus, h);
	if (h->res.irq >= 0 && h->res.irq_mode != DC_IRQ_NONE && h->res.irq_mode != DC_IRQ_MSI)
		dc_irq_lower(&h->m->irq, (unsigned)h->res.irq);
	for (struct dc_timer *t = h->timers, *nx; t; t = nx) {
		nx = t->next;
		dc_event_cancel(&h->m->clock, &t->ev);
		free(t);
	}
	h->timers = NULL;
	for (struct dc_bm *b = h->bms, *nx; b; b = nx) {
		nx = b->next;
		dc_busmaster_fini(&b->bm);
		free(b);
	}
	h->bms = NULL;
	dc_machine_dma_source_put(h->m, h->source);
	h->source = -1;
	for (unsigned i = 0; i < n_live; i++)
		if (live[i] == h) {
			live[i] = live[--n_live];
			break;
		}
}

static int claim(struct dc_host *h, char *err, size_t errlen)
{
	struct dc_machine *m = h->m;
	const struct dc_device_res *r = &h->res;
	uint32_t st[32], en[32];
	unsigned np = r->port_len ? port_pieces(r, st, en) : 0;
	/* Check everything first: a failed attach claims nothing. */
	for (unsigned i = 0; i < np; i++) {
		const struct dc_io_range *o =
		    dc_bus_port_owner(&m->bus, r->port_base + st[i], en[i] - st[i]);
		if (o)
			return snprintf(err, errlen,
			                "%s: ports 0x%x-0x%x collide with %s (0x%llx-0x%llx)",
			                h->name, r->port_base + st[i], r->port_base + en[i] - 1,
			                o->name ? o->name : "another device",
			                (unsigned long long)o->base,
			                (unsigned long long)(o->base + o->len - 1)),
			       DC_ERR_BUSY;
	}
	if (r->port_len && m->bus.n_port + np > DC_BUS_MAX_RANGES)
		return snprintf(err, errlen, "%s: the port table is full", h->name), DC_ERR_NOMEM;
	if (r->mmio_len) {
		if (r->mmio_base < m->plat.phys_size)
			return snprintf(err, errlen,
			                "%s: MMIO window 0x%llx is inside memory (below 0x%llx)",
			                h->name, (unsigned long long)r->mmio_base,
			                (unsigned long long)m->plat.phys_size),
			       DC_ERR_RANGE;
		const struct dc_io_range *o = dc_bus_mmio_owner(&m->bus, r->mmio_base, r->mmio_len);
		if (o)
			return snprintf(
			           err, errlen,
			           "%s: MMIO window 0x%llx-0x%llx collides with %s (0x%llx-0x%llx)",
			           h->name, (unsigned long long)r->mmio_base,
			           (unsigned long long)(r->mmio_base + r->mmio_len - 1),
			           o->name ? o->name : "another device",
			           (unsigned long long)o->base,
			           (unsigned long long)(o->base + o->len - 1)),
			       DC_ERR_BUSY;
	}
	int chs[2] = {r->dma_channel, r->has_dma2 ? r->dma_channel2 : -1};
	if (chs[0] >= 0 || chs[1] >= 0) {
		if (!h->dma)
			return snprintf(err, errlen,
			                "%s: system DMA without a DMA controller (no 8237: the "
			                "platform's system DMA controller is %s)",
			                h->name, dc_sysdma_ctl_name(m->plat.sysdma_ctl)),
			       DC_ERR_INVAL;
		for (unsigned k = 0; k < 2; k++) {
			if (chs[k] < 0)
				continue;
			if (chs[k] > 7 || chs[k] == 4)
				return snprintf(err, errlen, "%s: DMA channel %d (0-3, 5-7)",
				                h->name, chs[k]),
				       DC_ERR_INVAL;
			const struct dc_dma_client *cl =
			    h->model->ops->pending ? &client_ops : &client_ops_nopending;
			int rc = dc_i8237_attach(h->dma, (unsigned)chs[k], cl, &h->chan[k]);
			if (rc) {
				snprintf(err, errlen, "%s: DMA channel %d is taken by %s", h->name,
				         chs[k], chan_owner(m, (unsigned)chs[k]));
				return rc;
			}
			h->chan[k].ch = chs[k];
		}
	}
	if (h->model->size >= offsetof(struct dc_device_model, request_line) + 1 &&
	    h->model->has_request_line && !h->rline_8237) {
		unsigned line = h->model->request_line;
		h->pl080 = dc_pl080_from_bus(&m->bus);
		if (!h->pl080)
			return snprintf(err, errlen,
			                "%s: request line %u without a request-line DMA controller "
			                "(the platform's system DMA controller is %s)",
			                h->name, line, dc_sysdma_ctl_name(m->plat.sysdma_ctl)),
			       DC_ERR_INVAL;
		if (line >= DC_PL080_LINES)
			return snprintf(err, errlen, "%s: request line %u (0-%u)", h->name, line,
			                DC_PL080_LINES - 1),
			       DC_ERR_INVAL;
		int rc = dc_pl080_attach(h->pl080, line, &client_ops_nopending, &h->chan[0]);
		if (rc)
			return snprintf(err, errlen, "%s: request line %u is taken", h->name, line),
			       rc;
		h->rline = (int)line;
	}
	if (r->bus_master) {
		if (!h->br)
			return snprintf(err, errlen, "%s: a bus master without a host bridge",
			                h->name),
			       DC_ERR_INVAL;
		h->source = dc_machine_dma_source_get(m, h->model->name);
		if (h->source < 0)
			return snprintf(err, errlen, "%s: no DMA source left", h->name), h->source;
	}
	for (unsigned i = 0; i < np; i++) {
		int rc = dc_bus_add_ports(&m->bus, r->port_base + st[i], en[i] - st[i],
		                          &port_piece_ops[st[i]], h, h->name);
		DC_ASSERT(rc == DC_OK);
	}
	if (r->mmio_len) {
		int rc = dc_bus_add_mmio(&m->bus, r->mmio_base, r->mmio_len, &mmio_ops, h, h->name);
		DC_ASSERT(rc == DC_OK);
	}
	return DC_OK;
}

int dc_device_attach(struct dc_machine *m, struct dc_bridge *br,
                     const struct dc_device_model *model, const struct dc_device_res *res,
                     const struct dc_device_cfg *cfg, struct dc_device *out, char *err,
                     size_t errlen)
{
	char tmp[8];
	if (!err) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	*err = 0;
	memset(out, 0, sizeof(*out));
	int rc = dc_device_model_check(model, err, errlen);
	if (rc)
		return rc;
	if (n_live == DC_ARRAY_SIZE(live))
		return snprintf(err, errlen, "too many devices"), DC_ERR_NOMEM;
	static const struct dc_device_cfg none;
	if (!cfg)
		cfg = &none;
	struct dc_host *h = calloc(1, sizeof(*h));
	if (!h)
		return DC_ERR_NOMEM;
	h->m = m;
	h->br = br;
	h->dma = dc_i8237_from_bus(&m->bus);
	h->model = model;
	h->res = res ? *res : model->res;
	h->source = -1;
	h->rline = -1;
	for (unsigned k = 0; k < 2; k++)
		h->chan[k] = (struct chan_ctx){h, k, -1};
	if (cfg->instance)
		snprintf(h->name, sizeof(h->name), "%s#%u", model->name, cfg->instance);
	else
		snprintf(h->name, sizeof(h->name), "%s", model->name);
	struct dc_device_res *r = &h->res;
	if (r->irq_mode == DC_IRQ_NONE)
		r->irq = -1;
	if (r->mmio_len && !r->mmio_base)
		r->mmio_base = dc_mmio_window(m) + model->res.mmio_base;
	/* A request-line peripheral on a platform whose system DMA controller is the 8237 (no
	 * request-line controller): its line is the 8237 channel of that number, as an ISA
	 * board's DRQ jumper would wire it. */
	if (model->size >= offsetof(struct dc_device_model, request_line) + 1 &&
	    model->has_request_line && h->dma && !dc_pl080_from_bus(&m->bus) &&
	    r->dma_channel < 0) {
		r->dma_channel = model->request_line;
		h->rline_8237 = true;
	}
	if (r->dma_channel >= 0 && r->dma_channel <= 7)
		r->dma_width = 8 * dc_i8237_width((unsigned)r->dma_channel);
	if (!r->has_dma2)
		r->dma_channel2 = -1;
	else if (r->dma_channel2 >= 0)
		r->dma_width2 = 8 * dc_i8237_width((unsigned)r->dma_channel2);
	if (r->bus_master) {
		if (!r->addr_bits)
			r->addr_bits = m->plat.bm_addr_bits ? m->plat.bm_addr_bits : 32;
	} else if (r->dma_channel >= 0) {
		r->addr_bits = m->plat.sysdma_addr_bits;
	}
	live[n_live++] = h;
	rc = claim(h, err, errlen);
	if (rc == DC_OK) {
		rc = model->ops->create(h, cfg, &h->opaque);
		if (rc && !*err)
			snprintf(err, errlen, "%s: %s%s%s", h->name, dc_err_name(rc),
			         *h->log ? ": " : "", h->log);
	}
	if (rc) {
		release(h);
		free(h);
		return rc;
	}
	h->ops = *model->ops;
	h->ops.name = model->name;
	h->ops.desc = model->desc ? model->desc : model->name;
	*out = (struct dc_device){&h->ops, h->opaque, h->res, model, h};
	return DC_OK;
}

void dc_device_detach(struct dc_device *d)
{
	if (!d->host)
		return;
	struct dc_host *h = d->host;
	/* The controller brings a channel up to date when it lets go of it, which may call the
	 * device: before its state goes. */
	detach_channels(h);
	if (h->opaque)
		h->model->ops->destroy(h->opaque);
	release(h);
	free(h);
	d->host = NULL;
	d->opaque = NULL;
}

struct dc_busmaster *dc_device_busmaster(const struct dc_device *d)
{
	if (!d->host || !d->host->bms)
		return NULL;
	/* The first engine created is the last in the list. */
	struct dc_bm *b = d->host->bms;
	while (b->next)
		b = b->next;
	return &b->bm;
}

const char *dc_device_last_log(const struct dc_device *d)
{
	return d->host ? d->host->log : "";
}

/* ---- Host calls --------------------------------------------------------------------------------
 */

const struct dc_device_res *dc_host_res(const struct dc_host *h)
{
	return &h->res;
}

const struct dc_platform *dc_host_platform(const struct dc_host *h)
{
	return &h->m->plat;
}

uint64_t dc_host_now(const struct dc_host *h)
{
	return h->m->clock.now;
}

void dc_host_log(struct dc_host *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->log, sizeof(h->log), fmt, ap);
	va_end(ap);
}

/* The device drives an interrupt line (an MSI device has none: its vectors take messages). */
static bool has_line(const struct dc_host *h)
{
	return h->res.irq >= 0 && h->res.irq_mode != DC_IRQ_MSI;
}

void dc_host_irq_raise(struct dc_host *h)
{
	if (has_line(h))
		dc_irq_raise(&h->m->irq, (unsigned)h->res.irq);
}

void dc_host_irq_lower(struct dc_host *h)
{
	if (has_line(h))
		dc_irq_lower(&h->m->irq, (unsigned)h->res.irq);
}

bool dc_host_irq_asserted(const struct dc_host *h)
{
	return has_line(h) && dc_irq_asserted(&h->m->irq, (unsigned)h->res.irq);
}

void dc_host_msi(struct dc_host *h, unsigned msg)
{
	const struct dc_device_res *r = &h->res;
	if (r->irq_mode != DC_IRQ_MSI || r->irq < 0)
		return;
	if (msg >= r->msi_messages) {
		dc_host_log(h, "MSI message %u sent, %u granted", msg, r->msi_messages);
		return;
	}
	/* The message is a posted write behind the device's data: PCI ordering lands the data
	 * first, so an ISR that reads the buffer after the interrupt sees it in memory. */
	if (h->source >= 0)
		dc_bridge_flush(h->br, h->source);
	unsigned line = (unsigned)r->irq + msg;
	dc_irq_raise(&h->m->irq, line);
	dc_irq_lower(&h->m->irq, line);
}

void dc_host_irq_pulse(struct dc_host *h)
{
	dc_host_irq_raise(h);
	dc_host_irq_lower(h);
}

void dc_host_irq_move(struct dc_host *h, int line)
{
	if (line == h->res.irq || h->res.irq_mode == DC_IRQ_MSI)
		return;
	dc_host_irq_lower(h);
	h->res.irq = line >= 0 && line < DC_IRQ_LINES ? line : -1;
}

struct dc_timer *dc_timer_new(struct dc_host *h, const char *name, dc_timer_fn fn, void *opaque)
{
	struct dc_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	dc_event_init(&t->ev, name, fn, opaque);
	t->h = h;
	t->next = h->timers;
	h->timers = t;
	return t;
}

int dc_timer_mod(struct dc_timer *t, uint64_t when)
{
	return dc_event_schedule(&t->h->m->clock, &t->ev, when);
}

void dc_timer_del(struct dc_timer *t)
{
	dc_event_cancel(&t->h->m->clock, &t->ev);
}

bool dc_timer_pending(const struct dc_timer *t)
{
	return dc_event_pending(&t->ev);
}

static int chan_of(const struct dc_host *h, unsigned chan)
{
	return chan < 2 ? h->chan[chan].ch : -1;
}

void dc_host_dreq(struct dc_host *h, unsigned chan, bool level)
{
	int ch = chan_of(h, chan);
	if (ch >= 0)
		dc_i8237_dreq(h->dma, (unsigned)ch, level);
}

void dc_host_dma_error(struct dc_host *h, unsigned chan)
{
	int ch = chan_of(h, chan);
	if (ch >= 0)
		dc_i8237_error(h->dma, (unsigned)ch);
}

void dc_host_dma_eop(struct dc_host *h, unsigned chan)
{
	int ch = chan_of(h, chan);
	if (ch >= 0)
		dc_i8237_eop(h->dma, (unsigned)ch);
}

void dc_host_dma_sync(struct dc_host *h, unsigned chan)
{
	int ch = chan_of(h, chan);
	if (ch >= 0) {
		struct dc_i8237_chan_state st;
		dc_i8237_state(h->dma, (unsigned)ch, &st);
	}
}

int dc_host_dma_move(struct dc_host *h, unsigned chan, unsigned channel)
{
	int ch = chan_of(h, chan);
	if (ch < 0)
		return DC_ERR_STATE;
	if ((int)channel == ch)
		return DC_OK;
	const struct dc_dma_client *cl =
	    h->model->ops->pending ? &client_ops : &client_ops_nopending;
	dc_i8237_detach(h->dma, (unsigned)ch);
	int rc = dc_i8237_attach(h->dma, channel, cl, &h->chan[chan]);
	if (rc) {
		DC_ASSERT(dc_i8237_attach(h->dma, (unsigned)ch, cl, &h->chan[chan]) == DC_OK);
		return rc;
	}
	h->chan[chan].ch = (int)channel;
	/* The resources the kernel reports follow the device. */
	if (chan == 0) {
		h->res.dma_channel = (int)channel;
		h->res.dma_width = 8 * dc_i8237_width(channel);
	} else {
		h->res.dma_channel2 = (int)channel;
		h->res.dma_width2 = 8 * dc_i8237_width(channel);
	}
	return DC_OK;
}

unsigned dc_host_dma_channel(const struct dc_host *h, unsigned chan)
{
	return (unsigned)chan_of(h, chan);
}

/* Untimed accesses need an engine: the first one, created on demand. */
static struct dc_busmaster *any_bm(struct dc_host *h)
{
	if (!h->bms && !dc_bm_new(h, 0, 0))
		return NULL;
	struct dc_bm *b = h->bms;
	while (b->next)
		b = b->next;
	return &b->bm;
}

int dc_host_mem_read(struct dc_host *h, uint64_t addr, void *dst, uint64_t len)
{
	struct dc_busmaster *bm = any_bm(h);
	return bm ? dc_busmaster_read_now(bm, addr, dst, len) : DC_ERR_STATE;
}

void dc_host_mem_write(struct dc_host *h, uint64_t addr, const void *src, uint64_t len)
{
	struct dc_busmaster *bm = any_bm(h);
	if (bm)
		dc_busmaster_write_now(bm, addr, src, len);
}

void dc_host_bm_flush(struct dc_host *h)
{
	if (h->source >= 0)
		dc_bridge_flush(h->br, h->source);
}

void dc_host_bm_error(struct dc_host *h)
{
	if (h->source >= 0)
		dc_bridge_set_error(h->br, h->source);
}

struct dc_bm *dc_bm_new(struct dc_host *h, uint64_t bw, uint64_t latency_ns)
{
	if (h->source < 0)
		return NULL;
	struct dc_bm *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (dc_busmaster_init(&b->bm, h->m, h->br, h->source, h->res.addr_bits, bw)) {
		free(b);
		return NULL;
	}
	b->bm.latency_ns = latency_ns;
	b->h = h;
	b->next = h->bms;
	h->bms = b;
	return b;
}

struct dc_busmaster *dc_bm_busmaster(struct dc_bm *bm)
{
	return &bm->bm;
}

int dc_bm_start(struct dc_bm *bm, const struct dc_bm_seg *segs, uint32_t n, enum dc_dir dir,
                void *dev, dc_bm_done done, void *opaque)
{
	return dc_busmaster_start(&bm->bm, segs, n, dir, dev, done, opaque);
}

uint64_t dc_bm_abort(struct dc_bm *bm)
{
	return dc_busmaster_abort(&bm->bm);
}

bool dc_bm_busy(const struct dc_bm *bm)
{
	return dc_busmaster_busy(&bm->bm);
}

void dc_bm_fail_next(struct dc_bm *bm, uint64_t bytes)
{
	dc_busmaster_fail_next(&bm->bm, bytes);
}

uint64_t dc_bm_ns(const struct dc_bm *bm, uint64_t n)
{
	return dc_busmaster_ns(&bm->bm, n);
}

int dc_bm_read_now(struct dc_bm *bm, uint64_t addr, void *dst, uint64_t len)
{
	return dc_busmaster_read_now(&bm->bm, addr, dst, len);
}

void dc_bm_write_now(struct dc_bm *bm, uint64_t addr, const void *src, uint64_t len)
{
	dc_busmaster_write_now(&bm->bm, addr, src, len);
}

/* ---- Request lines --------------------------------------------------------------------------- */

void dc_host_request(struct dc_host *h, bool level)
{
	if (h->rline >= 0)
		dc_pl080_request(h->pl080, (unsigned)h->rline, level);
	else if (h->rline_8237)
		dc_host_dreq(h, 0, level);
}

void dc_host_request_error(struct dc_host *h)
{
	if (h->rline >= 0)
		dc_pl080_error(h->pl080, (unsigned)h->rline);
	else if (h->rline_8237)
		dc_host_dma_error(h, 0);
}

int dc_host_request_line(const struct dc_host *h)
{
	if (h->rline_8237)
		return h->chan[0].ch;
	return h->rline;
}
