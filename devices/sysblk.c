/* sysblk, the block device on a system DMA channel: see sysblk.h and docs/devices/sysblk.md.
 * The device's side of each byte is a pointer into its store handed to the controller on DACK,
 * so a sector crosses host memory once, in the controller's dc_dma_read/dc_dma_write.  The
 * interrupt rises only from the device's own events, never inside a register access or a DACK,
 * so a kernel that runs ISRs from its interrupt sink is never re-entered from here. */
#include <stdlib.h>
#include <string.h>

#include "sysblk.h"

static const char *const cmd_names[DC_SYSBLK_CMD_COUNT] = {"none", "read", "write", "abort"};
static const char *const error_names[DC_SYSBLK_ERR_COUNT] = {"none", "bad-cmd", "bad-range",
                                                             "transfer", "aborted"};

const char *dc_sysblk_cmd_name(enum dc_sysblk_cmd c)
{
	return (unsigned)c < DC_SYSBLK_CMD_COUNT ? cmd_names[c] : "?";
}

const char *dc_sysblk_error_name(enum dc_sysblk_error e)
{
	return (unsigned)e < DC_SYSBLK_ERR_COUNT ? error_names[e] : "?";
}

const char *dc_sysblk_reg_name(enum dc_sysblk_reg r)
{
	static const char *const names[DC_SYSBLK_PORTS] = {
	    [DC_SYSBLK_REG_CMD] = "cmd/status", [DC_SYSBLK_REG_ERROR] = "error",
	    [DC_SYSBLK_REG_IACK] = "iack",      [DC_SYSBLK_REG_CTRL] = "ctrl",
	    [DC_SYSBLK_REG_LBA] = "lba",        [DC_SYSBLK_REG_LBA + 1] = "lba",
	    [DC_SYSBLK_REG_LBA + 2] = "lba",    [DC_SYSBLK_REG_LBA + 3] = "lba",
	    [DC_SYSBLK_REG_COUNT] = "count",    [DC_SYSBLK_REG_COUNT + 1] = "count",
	    [DC_SYSBLK_REG_DONE] = "done",      [DC_SYSBLK_REG_DONE + 1] = "done",
	    [DC_SYSBLK_REG_CHAN] = "chan",      [DC_SYSBLK_REG_IRQ] = "irq",
	    [DC_SYSBLK_REG_ID] = "id",          [DC_SYSBLK_REG_ID + 1] = "id",
	};
	return (unsigned)r < DC_SYSBLK_PORTS && names[r] ? names[r] : "?";
}

struct sysblk {
	struct dc_host *h;
	unsigned ch;
	int irq;
	uint8_t *store;
	uint64_t sectors, latency_ns;
	bool fault_armed;
	/* Registers */
	uint8_t status; /* causes (DONE, ERR, TC) */
	uint8_t error, ctrl;
	uint32_t lba;
	uint16_t count;
	/* The running command */
	bool busy, dreq, failing;
	enum dc_sysblk_cmd cmd;
	enum dc_sysblk_error pending_err; /* a command refused at once, reported after latency */
	uint64_t base, pos, limit;        /* store offset; bytes moved; bytes it will move */
	struct dc_timer *start_ev, *finish_ev, *irq_ev;
	struct dc_sysblk_stats st;
};

static void set_irq(struct sysblk *s, bool may_raise)
{
	if (s->irq < 0)
		return;
	bool level = (s->ctrl & DC_SYSBLK_CTRL_IEN) && (s->status & DC_SYSBLK_ST_CAUSES);
	if (!level)
		dc_host_irq_lower(s->h);
	else if (may_raise)
		dc_host_irq_raise(s->h);
	else
		dc_timer_mod(s->irq_ev, dc_host_now(s->h));
}

static void irq_event(void *opaque)
{
	set_irq(opaque, true);
}

/* Called outside the controller's engine only (register writes, reset, destroy). */
static void drop_dreq(struct sysblk *s)
{
	if (s->dreq) {
		s->dreq = false;
		dc_host_dreq(s->h, 0, false);
	}
}

static void start_event(void *opaque)
{
	struct sysblk *s = opaque;
	if (!s->busy)
		return;
	s->dreq = true;
	dc_host_dreq(s->h, 0, true);
}

static void finish_event(void *opaque)
{
	struct sysblk *s = opaque;
	if (s->pending_err) {
		s->error = (uint8_t)s->pending_err;
		s->pending_err = DC_SYSBLK_ERR_NONE;
		s->status |= DC_SYSBLK_ST_ERR;
		s->st.errors++;
	} else if (s->busy) {
		s->busy = false;
		if (s->failing) {
			s->failing = false;
			s->error = DC_SYSBLK_ERR_TRANSFER;
			s->status |= DC_SYSBLK_ST_ERR;
			s->st.errors++;
			dc_host_dma_error(s->h, 0);
		} else {
			s->error = DC_SYSBLK_ERR_NONE;
			s->status |= DC_SYSBLK_ST_DONE;
		}
	}
	set_irq(s, true);
}

/* The device has moved all it will: DREQ drops (we are inside the controller's engine, which
 * takes the change on its next step) and completion follows as an event at the same time. */
static void reached_limit(struct sysblk *s)
{
	s->dreq = false;
	dc_host_dreq(s->h, 0, false);
	dc_timer_mod(s->finish_ev, dc_host_now(s->h));
}

static const uint8_t *dack_from_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	(void)chan;
	struct sysblk *s = opaque;
	*n = 0;
	if (!s->busy || !s->dreq || s->cmd != DC_SYSBLK_CMD_READ)
		return NULL;
	uint64_t k = DC_MIN((uint64_t)max, s->limit - s->pos);
	const uint8_t *p = s->store + s->base + s->pos;
	s->pos += k;
	s->st.bytes += k;
	*n = (uint32_t)k;
	if (s->pos == s->limit)
		reached_limit(s);
	return p;
}

static uint8_t *dack_to_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	(void)chan;
	struct sysblk *s = opaque;
	*n = 0;
	if (!s->busy || s->cmd != DC_SYSBLK_CMD_WRITE || s->pos == s->limit) {
		s->st.dropped += max;
		return NULL;
	}
	uint64_t k = DC_MIN((uint64_t)max, s->limit - s->pos);
	uint8_t *p = s->store + s->base + s->pos;
	s->pos += k;
	s->st.bytes += k;
	*n = (uint32_t)k;
	if (s->pos == s->limit)
		reached_limit(s);
	return p;
}

static void on_tc(void *opaque, unsigned chan)
{
	(void)chan;
	struct sysblk *s = opaque;
	s->status |= DC_SYSBLK_ST_TC;
	set_irq(s, false);
}

static uint64_t pending(void *opaque, unsigned chan)
{
	(void)chan;
	struct sysblk *s = opaque;
	return s->busy && s->dreq ? s->limit - s->pos : UINT64_MAX;
}

static void abort_running(struct sysblk *s)
{
	if (!s->busy)
		return;
	drop_dreq(s); /* the controller first moves what it owed the old command */
	dc_timer_del(s->start_ev);
	dc_timer_del(s->finish_ev);
	s->busy = false;
	s->failing = false;
	s->st.aborts++;
	s->error = DC_SYSBLK_ERR_ABORTED;
}

static void command(struct sysblk *s, uint8_t v)
{
	abort_running(s);
	s->status = 0;
	set_irq(s, false);
	if (v == DC_SYSBLK_CMD_ABORT)
		return;
	s->error = DC_SYSBLK_ERR_NONE;
	uint64_t when = dc_host_now(s->h) + s->latency_ns;
	if (v != DC_SYSBLK_CMD_READ && v != DC_SYSBLK_CMD_WRITE) {
		s->pending_err = DC_SYSBLK_ERR_BAD_CMD;
		dc_timer_mod(s->finish_ev, when);
		return;
	}
	if (!s->count || (uint64_t)s->lba + s->count > s->sectors) {
		s->pending_err = DC_SYSBLK_ERR_BAD_RANGE;
		dc_timer_mod(s->finish_ev, when);
		return;
	}
	s->cmd = (enum dc_sysblk_cmd)v;
	s->busy = true;
	s->base = (uint64_t)s->lba * DC_SYSBLK_SECTOR;
	s->pos = 0;
	s->limit = (uint64_t)s->count * DC_SYSBLK_SECTOR;
	if (s->fault_armed) {
		/* The medium fails half-way: what moved before stays moved. */
		s->fault_armed = false;
		s->failing = true;
		s->limit = s->limit / 2 & ~UINT64_C(1);
	}
	if (v == DC_SYSBLK_CMD_READ)
		s->st.reads++;
	else
		s->st.writes++;
	dc_timer_mod(s->start_ev, when);
}

static uint8_t status_byte(struct sysblk *s)
{
	uint8_t v = s->status;
	if (s->busy)
		v |= DC_SYSBLK_ST_BUSY;
	if (s->dreq)
		v |= DC_SYSBLK_ST_DRQ;
	if (s->irq >= 0 && dc_host_irq_asserted(s->h))
		v |= DC_SYSBLK_ST_IRQ;
	return v;
}

static uint8_t reg_read(struct sysblk *s, uint64_t off)
{
	switch (off) {
	case DC_SYSBLK_REG_CMD:
		return status_byte(s);
	case DC_SYSBLK_REG_ERROR:
		return s->error;
	case DC_SYSBLK_REG_IACK:
		return s->status & DC_SYSBLK_ST_CAUSES;
	case DC_SYSBLK_REG_CTRL:
		return s->ctrl;
	case DC_SYSBLK_REG_LBA:
	case DC_SYSBLK_REG_LBA + 1:
	case DC_SYSBLK_REG_LBA + 2:
	case DC_SYSBLK_REG_LBA + 3:
		return (uint8_t)(s->lba >> (8 * (off - DC_SYSBLK_REG_LBA)));
	case DC_SYSBLK_REG_COUNT:
	case DC_SYSBLK_REG_COUNT + 1:
		return (uint8_t)(s->count >> (8 * (off - DC_SYSBLK_REG_COUNT)));
	case DC_SYSBLK_REG_DONE:
	case DC_SYSBLK_REG_DONE + 1:
		return (uint8_t)((s->pos / DC_SYSBLK_SECTOR) >> (8 * (off - DC_SYSBLK_REG_DONE)));
	case DC_SYSBLK_REG_CHAN:
		return (uint8_t)s->ch;
	case DC_SYSBLK_REG_IRQ:
		return s->irq < 0 ? 0xFF : (uint8_t)s->irq;
	case DC_SYSBLK_REG_ID:
	case DC_SYSBLK_REG_ID + 1:
		return (uint8_t)(DC_SYSBLK_ID >> (8 * (off - DC_SYSBLK_REG_ID)));
	default:
		return 0xFF;
	}
}

static void reg_write(struct sysblk *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case DC_SYSBLK_REG_CMD:
		command(s, v);
		break;
	case DC_SYSBLK_REG_IACK:
		s->status &= (uint8_t) ~(v & DC_SYSBLK_ST_CAUSES);
		set_irq(s, false);
		break;
	case DC_SYSBLK_REG_CTRL:
		s->ctrl = v & DC_SYSBLK_CTRL_IEN;
		set_irq(s, false);
		break;
	case DC_SYSBLK_REG_LBA:
	case DC_SYSBLK_REG_LBA + 1:
	case DC_SYSBLK_REG_LBA + 2:
	case DC_SYSBLK_REG_LBA + 3: {
		unsigned sh = 8 * (unsigned)(off - DC_SYSBLK_REG_LBA);
		s->lba = (s->lba & ~(UINT32_C(0xFF) << sh)) | (uint32_t)v << sh;
		break;
	}
	case DC_SYSBLK_REG_COUNT:
	case DC_SYSBLK_REG_COUNT + 1: {
		unsigned sh = 8 * (unsigned)(off - DC_SYSBLK_REG_COUNT);
		s->count = (uint16_t)((s->count & ~(0xFFu << sh)) | (unsigned)v << sh);
		break;
	}
	default:
		break; /* read-only or unused */
	}
}

static uint32_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct sysblk *s = opaque;
	if (s->busy) {
		/* Bring the channel (and so DONE and DRQ) up to now. */
		dc_host_dma_sync(s->h, 0);
	}
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)reg_read(s, off + i) << (8 * i);
	return v;
}

static void port_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		reg_write(opaque, off + i, (uint8_t)(val >> (8 * i)));
}

/* ---- dc_device_ops ------------------------------------------------------------------------ */

static void sysblk_reset(void *opaque)
{
	struct sysblk *s = opaque;
	abort_running(s);
	dc_timer_del(s->finish_ev);
	dc_timer_del(s->irq_ev);
	s->pending_err = DC_SYSBLK_ERR_NONE;
	s->status = s->error = 0;
	s->ctrl = DC_SYSBLK_CTRL_IEN;
	s->lba = 0;
	s->count = 0;
	s->pos = s->limit = 0;
	s->cmd = DC_SYSBLK_CMD_NONE;
	set_irq(s, false);
}

static void sysblk_destroy(void *opaque)
{
	struct sysblk *s = opaque;
	if (!s)
		return;
	sysblk_reset(s);
	free(s->store);
	free(s);
}

static uint64_t sysblk_store_size(void *opaque)
{
	struct sysblk *s = opaque;
	return s->sectors * DC_SYSBLK_SECTOR;
}

static int sysblk_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct sysblk *s = opaque;
	uint64_t size = s->sectors * DC_SYSBLK_SECTOR;
	if (off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(buf, s->store + off, len);
	return DC_OK;
}

static int sysblk_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct sysblk *s = opaque;
	uint64_t size = s->sectors * DC_SYSBLK_SECTOR;
	if (off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(s->store + off, buf, len);
	return DC_OK;
}

static void sysblk_inject_fault(void *opaque, enum dc_fault f)
{
	struct sysblk *s = opaque;
	if (f == DC_FAULT_TRANSFER_ERROR)
		s->fault_armed = true;
}

static int sysblk_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const struct dc_device_ops sysblk_ops = {
    .create = sysblk_create,
    .port_read = port_read,
    .port_write = port_write,
    .dack_from_device = dack_from_device,
    .dack_to_device = dack_to_device,
    .tc = on_tc,
    .pending = pending,
    .reset = sysblk_reset,
    .destroy = sysblk_destroy,
    .store_size = sysblk_store_size,
    .store_read = sysblk_store_read,
    .store_write = sysblk_store_write,
    .inject_fault = sysblk_inject_fault,
};

void dc_sysblk_cfg_default(struct dc_sysblk_cfg *cfg)
{
	*cfg = (struct dc_sysblk_cfg){
	    .dma = NULL,
	    .port_base = 0x300,
	    .dma_channel = 3,
	    .irq = 5,
	    .sectors = 2048,
	    .latency_ns = 20000,
	};
}

static int sysblk_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	struct dc_sysblk_cfg c;
	if (dcfg->priv) {
		c = *(const struct dc_sysblk_cfg *)dcfg->priv;
	} else {
		dc_sysblk_cfg_default(&c);
		if (dcfg->capacity)
			c.sectors = dcfg->capacity / DC_SYSBLK_SECTOR;
		if (dcfg->latency_ns)
			c.latency_ns = dcfg->latency_ns;
	}
	if (!c.sectors || c.sectors > (UINT64_C(1) << 32)) {
		dc_host_log(h, "%llu sectors (1 to 2^32)", (unsigned long long)c.sectors);
		return DC_ERR_INVAL;
	}
	struct sysblk *s = calloc(1, sizeof(*s));
	if (!s)
		return DC_ERR_NOMEM;
	s->store = calloc(c.sectors, DC_SYSBLK_SECTOR);
	s->h = h;
	s->start_ev = dc_timer_new(h, "sysblk-start", start_event, s);
	s->finish_ev = dc_timer_new(h, "sysblk-done", finish_event, s);
	s->irq_ev = dc_timer_new(h, "sysblk-irq", irq_event, s);
	if (!s->store || !s->start_ev || !s->finish_ev || !s->irq_ev) {
		free(s->store);
		free(s);
		return DC_ERR_NOMEM;
	}
	s->ch = dc_host_dma_channel(h, 0);
	s->irq = dc_host_res(h)->irq;
	s->sectors = c.sectors;
	s->latency_ns = c.latency_ns;
	s->ctrl = DC_SYSBLK_CTRL_IEN;
	*opaque = s;
	return DC_OK;
}

const struct dc_device_model dc_sysblk_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "sysblk",
    .desc = "block device on a system DMA channel (I/O ports, 512-byte sectors)",
    .ops = &sysblk_ops,
    .res =
        {
            .port_base = 0x300,
            .port_len = DC_SYSBLK_PORTS,
            .irq = 5,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = 3,
            .port_access = DC_ACCESS_ANY,
        },
    .port_stride = 0x10,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = DC_SYSBLK_SECTOR,
};

int dc_sysblk_create(struct dc_machine *m, const struct dc_sysblk_cfg *cfg, struct dc_device *dev)
{
	struct dc_sysblk_cfg c;
	if (cfg)
		c = *cfg;
	else
		dc_sysblk_cfg_default(&c);
	struct dc_device_res r = dc_sysblk_model.res;
	r.port_base = c.port_base;
	r.dma_channel = (int)c.dma_channel;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : DC_IRQ_LEVEL;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, NULL, &dc_sysblk_model, &r, &dc, dev, NULL, 0);
}

const struct dc_sysblk_stats *dc_sysblk_stats(void *opaque)
{
	return &((struct sysblk *)opaque)->st;
}
