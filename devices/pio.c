/* pio, the programmed-I/O device: see pio.h and docs/devices/pio.md.  Like the other
 * devices it raises its interrupt only from its own events, never inside a register access. */
#include <stdlib.h>
#include <string.h>

#include "pio.h"

static const char *const cmd_names[DC_PIO_CMD_COUNT] = {"none", "read", "write", "abort"};
static const char *const error_names[DC_PIO_ERR_COUNT] = {"none", "bad-cmd", "bad-range",
                                                          "transfer", "overrun"};

const char *dc_pio_cmd_name(enum dc_pio_cmd c)
{
	return (unsigned)c < DC_PIO_CMD_COUNT ? cmd_names[c] : "?";
}

const char *dc_pio_error_name(enum dc_pio_error e)
{
	return (unsigned)e < DC_PIO_ERR_COUNT ? error_names[e] : "?";
}

const char *dc_pio_reg_name(enum dc_pio_reg r)
{
	unsigned o = (unsigned)r;
	if (o < DC_PIO_REG_CMD)
		return "data";
	if (o >= DC_PIO_REG_OFFSET && o < DC_PIO_REG_ID + 2) {
		static const char *const wide[] = {"offset", "length", "remain", "id"};
		return wide[(o - DC_PIO_REG_OFFSET) / 4];
	}
	static const char *const narrow[] = {"cmd/status", "error", "iack", "ctrl"};
	return o < DC_PIO_REG_OFFSET ? narrow[o - DC_PIO_REG_CMD] : "?";
}

struct pio {
	struct dc_host *h;
	int irq;
	uint8_t *store;
	uint64_t size, latency_ns;
	bool fault_armed, failing;
	/* Registers */
	uint8_t status; /* BUSY, DRDY, DONE, ERR */
	uint8_t causes, error, ctrl;
	uint32_t offset, length;
	/* The running command */
	enum dc_pio_cmd cmd;
	uint32_t pos; /* bytes moved through DATA */
	enum dc_pio_error pending_err;
	struct dc_timer *ready_ev, *done_ev, *irq_ev;
	struct dc_pio_stats st;
};

static void set_irq(struct pio *p, bool may_raise)
{
	if (p->irq < 0)
		return;
	bool level = (p->ctrl & DC_PIO_CTRL_IEN) && p->causes;
	if (!level)
		dc_host_irq_lower(p->h);
	else if (may_raise)
		dc_host_irq_raise(p->h);
	else
		dc_timer_mod(p->irq_ev, dc_host_now(p->h));
}

static void irq_event(void *opaque)
{
	set_irq(opaque, true);
}

static void fail(struct pio *p, enum dc_pio_error e)
{
	p->status = (uint8_t)((p->status & ~(DC_PIO_ST_BUSY | DC_PIO_ST_DRDY)) | DC_PIO_ST_ERR);
	p->error = (uint8_t)e;
	p->causes |= DC_PIO_INT_ERR;
	p->cmd = DC_PIO_CMD_NONE;
	p->st.errors++;
}

/* Read: the data is ready.  Write: the device is ready to take it (no interrupt needed: the
 * driver writes right after the command, or polls DRDY). */
static void ready_event(void *opaque)
{
	struct pio *p = opaque;
	if (p->pending_err) {
		fail(p, p->pending_err);
		p->pending_err = DC_PIO_ERR_NONE;
	} else if (p->cmd == DC_PIO_CMD_READ && p->failing) {
		p->failing = false;
		fail(p, DC_PIO_ERR_TRANSFER);
	} else if (p->cmd != DC_PIO_CMD_NONE) {
		p->status = (uint8_t)((p->status & ~DC_PIO_ST_BUSY) | DC_PIO_ST_DRDY);
		if (p->cmd == DC_PIO_CMD_READ)
			p->causes |= DC_PIO_INT_DRDY;
	}
	set_irq(p, true);
}

/* Write: the last byte arrived latency_ns ago and is now on the medium (or not). */
static void done_event(void *opaque)
{
	struct pio *p = opaque;
	if (p->cmd != DC_PIO_CMD_WRITE)
		return;
	if (p->failing) {
		p->failing = false;
		fail(p, DC_PIO_ERR_TRANSFER);
	} else {
		memcpy(p->store + p->offset, p->store + p->size, p->length);
		p->status = (uint8_t)((p->status & ~DC_PIO_ST_BUSY) | DC_PIO_ST_DONE);
		p->causes |= DC_PIO_INT_DONE;
		p->cmd = DC_PIO_CMD_NONE;
	}
	set_irq(p, true);
}

static void command(struct pio *p, uint8_t v)
{
	dc_timer_del(p->ready_ev);
	dc_timer_del(p->done_ev);
	p->cmd = DC_PIO_CMD_NONE;
	p->status = 0;
	p->error = DC_PIO_ERR_NONE;
	p->pos = 0;
	p->pending_err = DC_PIO_ERR_NONE;
	if (v == DC_PIO_CMD_ABORT)
		return;
	if (v != DC_PIO_CMD_READ && v != DC_PIO_CMD_WRITE)
		p->pending_err = DC_PIO_ERR_BAD_CMD;
	else if (!p->length || (uint64_t)p->offset + p->length > p->size)
		p->pending_err = DC_PIO_ERR_BAD_RANGE;
	p->status = DC_PIO_ST_BUSY;
	if (!p->pending_err) {
		p->cmd = (enum dc_pio_cmd)v;
		p->failing = p->fault_armed;
		p->fault_armed = false;
		if (v == DC_PIO_CMD_READ)
			p->st.reads++;
		else
			p->st.writes++;
	}
	/* A write is ready at once; a read (and any refusal) after the latency. */
	uint64_t when =
	    dc_host_now(p->h) + (v == DC_PIO_CMD_WRITE && !p->pending_err ? 0 : p->latency_ns);
	dc_timer_mod(p->ready_ev, when);
}

static bool data_ok(struct pio *p)
{
	return (p->status & DC_PIO_ST_DRDY) && p->pos < p->length;
}

static uint32_t data_read(struct pio *p, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = 0xFF;
		if (p->cmd == DC_PIO_CMD_READ && data_ok(p)) {
			b = p->store[p->offset + p->pos++];
			p->st.bytes++;
		} else {
			p->st.bad_accesses++;
			p->error = DC_PIO_ERR_OVERRUN;
		}
		v |= (uint32_t)b << (8 * i);
	}
	if (p->cmd == DC_PIO_CMD_READ && p->pos == p->length) {
		p->status = (uint8_t)((p->status & ~DC_PIO_ST_DRDY) | DC_PIO_ST_DONE);
		p->cmd = DC_PIO_CMD_NONE;
	}
	return v;
}

static void data_write(struct pio *p, uint32_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++) {
		if (p->cmd == DC_PIO_CMD_WRITE && data_ok(p)) {
			/* Staged past the end of the store: the medium changes only at commit. */
			p->store[p->size + p->pos++] = (uint8_t)(val >> (8 * i));
			p->st.bytes++;
		} else {
			p->st.bad_accesses++;
			p->error = DC_PIO_ERR_OVERRUN;
		}
	}
	if (p->cmd == DC_PIO_CMD_WRITE && p->pos == p->length && (p->status & DC_PIO_ST_DRDY)) {
		p->status = (uint8_t)((p->status & ~DC_PIO_ST_DRDY) | DC_PIO_ST_BUSY);
		dc_timer_mod(p->done_ev, dc_host_now(p->h) + p->latency_ns);
	}
}

static uint8_t reg_read(struct pio *p, uint64_t off)
{
	switch (off) {
	case DC_PIO_REG_CMD: {
		uint8_t v = p->status;
		if (p->irq >= 0 && dc_host_irq_asserted(p->h))
			v |= DC_PIO_ST_IRQ;
		return v;
	}
	case DC_PIO_REG_ERROR:
		return p->error;
	case DC_PIO_REG_IACK:
		return p->causes;
	case DC_PIO_REG_CTRL:
		return p->ctrl;
	case DC_PIO_REG_OFFSET:
	case DC_PIO_REG_OFFSET + 1:
	case DC_PIO_REG_OFFSET + 2:
	case DC_PIO_REG_OFFSET + 3:
		return (uint8_t)(p->offset >> (8 * (off - DC_PIO_REG_OFFSET)));
	case DC_PIO_REG_LENGTH:
	case DC_PIO_REG_LENGTH + 1:
	case DC_PIO_REG_LENGTH + 2:
	case DC_PIO_REG_LENGTH + 3:
		return (uint8_t)(p->length >> (8 * (off - DC_PIO_REG_LENGTH)));
	case DC_PIO_REG_REMAIN:
	case DC_PIO_REG_REMAIN + 1:
	case DC_PIO_REG_REMAIN + 2:
	case DC_PIO_REG_REMAIN + 3: {
		uint32_t rem = p->cmd != DC_PIO_CMD_NONE ? p->length - p->pos : 0;
		return (uint8_t)(rem >> (8 * (off - DC_PIO_REG_REMAIN)));
	}
	case DC_PIO_REG_ID:
	case DC_PIO_REG_ID + 1:
		return (uint8_t)(DC_PIO_ID >> (8 * (off - DC_PIO_REG_ID)));
	default:
		return 0xFF;
	}
}

static void reg_write(struct pio *p, uint64_t off, uint8_t v)
{
	switch (off) {
	case DC_PIO_REG_CMD:
		command(p, v);
		set_irq(p, false);
		break;
	case DC_PIO_REG_IACK:
		p->causes &= (uint8_t)~v;
		set_irq(p, false);
		break;
	case DC_PIO_REG_CTRL:
		p->ctrl = v & DC_PIO_CTRL_IEN;
		set_irq(p, false);
		break;
	case DC_PIO_REG_OFFSET:
	case DC_PIO_REG_OFFSET + 1:
	case DC_PIO_REG_OFFSET + 2:
	case DC_PIO_REG_OFFSET + 3: {
		unsigned sh = 8 * (unsigned)(off - DC_PIO_REG_OFFSET);
		p->offset = (p->offset & ~(UINT32_C(0xFF) << sh)) | (uint32_t)v << sh;
		break;
	}
	case DC_PIO_REG_LENGTH:
	case DC_PIO_REG_LENGTH + 1:
	case DC_PIO_REG_LENGTH + 2:
	case DC_PIO_REG_LENGTH + 3: {
		unsigned sh = 8 * (unsigned)(off - DC_PIO_REG_LENGTH);
		p->length = (p->length & ~(UINT32_C(0xFF) << sh)) | (uint32_t)v << sh;
		break;
	}
	default:
		break;
	}
}

/* The data port is one register however wide the access; the others are byte registers and a
 * wider access reaches consecutive ones. */
static uint32_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct pio *p = opaque;
	if (off < DC_PIO_REG_CMD)
		return data_read(p, size);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)reg_read(p, off + i) << (8 * i);
	return v;
}

static void port_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct pio *p = opaque;
	if (off < DC_PIO_REG_CMD) {
		data_write(p, val, size);
		return;
	}
	for (unsigned i = 0; i < size; i++)
		reg_write(p, off + i, (uint8_t)(val >> (8 * i)));
}

/* ---- dc_device_ops ------------------------------------------------------------------------ */

static void pio_reset(void *opaque)
{
	struct pio *p = opaque;
	dc_timer_del(p->ready_ev);
	dc_timer_del(p->done_ev);
	dc_timer_del(p->irq_ev);
	p->cmd = DC_PIO_CMD_NONE;
	p->status = p->causes = p->error = 0;
	p->ctrl = DC_PIO_CTRL_IEN;
	p->offset = p->length = p->pos = 0;
	p->failing = false;
	p->pending_err = DC_PIO_ERR_NONE;
	set_irq(p, false);
}

static void pio_destroy(void *opaque)
{
	struct pio *p = opaque;
	if (!p)
		return;
	pio_reset(p);
	free(p->store);
	free(p);
}

static uint64_t pio_store_size(void *opaque)
{
	return ((struct pio *)opaque)->size;
}

static int pio_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct pio *p = opaque;
	if (off > p->size || len > p->size - off)
		return DC_ERR_RANGE;
	memcpy(buf, p->store + off, len);
	return DC_OK;
}

static int pio_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct pio *p = opaque;
	if (off > p->size || len > p->size - off)
		return DC_ERR_RANGE;
	memcpy(p->store + off, buf, len);
	return DC_OK;
}

static void pio_inject_fault(void *opaque, enum dc_fault f)
{
	struct pio *p = opaque;
	if (f == DC_FAULT_TRANSFER_ERROR)
		p->fault_armed = true;
}

static int pio_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const struct dc_device_ops pio_ops = {
    .create = pio_create,
    .destroy = pio_destroy,
    .port_read = port_read,
    .port_write = port_write,
    .reset = pio_reset,
    .store_size = pio_store_size,
    .store_read = pio_store_read,
    .store_write = pio_store_write,
    .inject_fault = pio_inject_fault,
};

void dc_pio_cfg_default(struct dc_pio_cfg *cfg)
{
	*cfg = (struct dc_pio_cfg){
	    .port_base = 0x320,
	    .irq = 7,
	    .size = 64u << 10,
	    .latency_ns = 5000,
	};
}

static int pio_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	struct dc_pio_cfg c;
	if (dcfg->priv) {
		c = *(const struct dc_pio_cfg *)dcfg->priv;
	} else {
		dc_pio_cfg_default(&c);
		if (dcfg->capacity)
			c.size = dcfg->capacity;
		if (dcfg->latency_ns)
			c.latency_ns = dcfg->latency_ns;
	}
	/* The store is byte-addressed by a 32-bit OFFSET register. */
	if (!c.size || c.size > UINT32_MAX) {
		dc_host_log(h, "store of %llu bytes (1 to 4 GiB - 1)", (unsigned long long)c.size);
		return DC_ERR_INVAL;
	}
	struct pio *p = calloc(1, sizeof(*p));
	if (!p)
		return DC_ERR_NOMEM;
	/* The store, then as much again for a write's staging area (a write is all or nothing). */
	p->store = calloc(2, c.size);
	p->h = h;
	p->ready_ev = dc_timer_new(h, "pio-ready", ready_event, p);
	p->done_ev = dc_timer_new(h, "pio-done", done_event, p);
	p->irq_ev = dc_timer_new(h, "pio-irq", irq_event, p);
	if (!p->store || !p->ready_ev || !p->done_ev || !p->irq_ev) {
		free(p->store);
		free(p);
		return DC_ERR_NOMEM;
	}
	p->irq = dc_host_res(h)->irq;
	p->size = c.size;
	p->latency_ns = c.latency_ns;
	p->ctrl = DC_PIO_CTRL_IEN;
	*opaque = p;
	return DC_OK;
}

const struct dc_device_model dc_pio_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "pio",
    .desc = "programmed-I/O device (I/O ports, byte/word/dword data port)",
    .ops = &pio_ops,
    .res =
        {
            .port_base = 0x320,
            .port_len = DC_PIO_PORTS,
            .irq = 7,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
        },
    .port_stride = 0x20,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = 1,
};

int dc_pio_create(struct dc_machine *m, const struct dc_pio_cfg *cfg, struct dc_device *dev)
{
	struct dc_pio_cfg c;
	if (cfg)
		c = *cfg;
	else
		dc_pio_cfg_default(&c);
	struct dc_device_res r = dc_pio_model.res;
	r.port_base = c.port_base;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : DC_IRQ_LEVEL;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, NULL, &dc_pio_model, &r, &dc, dev, NULL, 0);
}

const struct dc_pio_stats *dc_pio_stats(void *opaque)
{
	return &((struct pio *)opaque)->st;
}
