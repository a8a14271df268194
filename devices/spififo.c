/* spififo, the request-line block peripheral: see spififo.h and docs/devices/spififo.md.  Its
 * interrupt is raised from its own events (the command latency, DMACTC), never inside a
 * register access. */
#include <stdlib.h>
#include <string.h>

#include "spififo.h"

struct spififo {
	struct dc_host *h;
	uint8_t *store, *stage; /* the sectors; a write's staging area */
	uint64_t size, latency_ns;
	bool fault_armed, failing;
	uint32_t status, sector, count, ctrl;
	uint32_t cmd, pos, len; /* the running command: bytes moved of len */
	struct dc_timer *start_ev, *done_ev;
	struct dc_spififo_stats st;
};

static void set_irq(struct spififo *f)
{
	if ((f->status & (DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_ERR)) ||
	    (f->status & DC_SPIFIFO_ST_TC))
		dc_host_irq_raise(f->h);
	else
		dc_host_irq_lower(f->h);
}

static void finish(struct spififo *f, bool ok)
{
	dc_host_request(f->h, false);
	if (ok && f->cmd == DC_SPIFIFO_CMD_WRITE)
		memcpy(f->store + (uint64_t)f->sector * DC_SPIFIFO_SECTOR, f->stage, f->len);
	f->status = (f->status & DC_SPIFIFO_ST_TC) | (ok ? DC_SPIFIFO_ST_DONE : DC_SPIFIFO_ST_ERR);
	f->st.errors += !ok;
	f->cmd = 0;
	set_irq(f);
}

static void start_event(void *opaque)
{
	struct spififo *f = opaque;
	if (f->cmd)
		dc_host_request(f->h, true);
}

static void done_event(void *opaque)
{
	struct spififo *f = opaque;
	if (f->cmd)
		finish(f, !f->failing);
}

/* An injected fault: the transfer stops half way with an error answer to the controller. */
static bool fail_here(struct spififo *f)
{
	if (f->failing && f->pos >= f->len / 2) {
		dc_host_request_error(f->h);
		finish(f, false);
		return true;
	}
	return false;
}

static const uint8_t *f_from(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	struct spififo *f = opaque;
	(void)chan;
	*n = 0;
	if (f->cmd != DC_SPIFIFO_CMD_READ || fail_here(f))
		return NULL;
	uint32_t k = DC_MIN(max, f->len - f->pos);
	if (f->failing)
		k = DC_MIN(k, f->len / 2 - f->pos);
	const uint8_t *p = f->store + (uint64_t)f->sector * DC_SPIFIFO_SECTOR + f->pos;
	f->pos += k;
	f->st.bytes += k;
	*n = k;
	if (f->pos == f->len)
		dc_host_request(f->h, false); /* all handed over: DMACTC finishes it */
	return p;
}

static uint8_t *f_to(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	struct spififo *f = opaque;
	(void)chan;
	*n = 0;
	if (f->cmd != DC_SPIFIFO_CMD_WRITE || fail_here(f))
		return NULL;
	uint32_t k = DC_MIN(max, f->len - f->pos);
	if (f->failing)
		k = DC_MIN(k, f->len / 2 - f->pos);
	uint8_t *p = f->stage + f->pos;
	f->pos += k;
	f->st.bytes += k;
	*n = k;
	if (f->pos == f->len) {
		dc_host_request(f->h, false);
		dc_timer_mod(f->done_ev, dc_host_now(f->h)); /* committed from an event */
	}
	return p;
}

static void f_tc(void *opaque, unsigned chan)
{
	struct spififo *f = opaque;
	(void)chan;
	/* The controller's terminal count: a read is complete once every byte left the FIFO. */
	if (f->cmd == DC_SPIFIFO_CMD_READ && f->pos == f->len)
		dc_timer_mod(f->done_ev, dc_host_now(f->h));
	if (f->cmd && f->ctrl & DC_SPIFIFO_CTRL_TCIE) {
		f->status |= DC_SPIFIFO_ST_TC;
		set_irq(f);
	}
}

static void command(struct spififo *f, uint32_t cmd)
{
	if (f->cmd || (cmd != DC_SPIFIFO_CMD_READ && cmd != DC_SPIFIFO_CMD_WRITE))
		return; /* busy, or not a command: ignored */
	uint64_t end = ((uint64_t)f->sector + f->count) * DC_SPIFIFO_SECTOR;
	if (f->count == 0 || end > f->size) {
		f->status = DC_SPIFIFO_ST_ERR;
		dc_timer_mod(f->done_ev, dc_host_now(f->h) + 1); /* the interrupt, from an event */
		return;
	}
	f->cmd = cmd;
	f->pos = 0;
	f->len = f->count * DC_SPIFIFO_SECTOR;
	f->status = DC_SPIFIFO_ST_BUSY | (f->status & DC_SPIFIFO_ST_TC);
	f->failing = f->fault_armed;
	f->fault_armed = false;
	if (cmd == DC_SPIFIFO_CMD_READ)
		f->st.reads++;
	else
		f->st.writes++;
	set_irq(f);
	dc_timer_mod(f->start_ev, dc_host_now(f->h) + f->latency_ns);
}

static uint32_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct spififo *f = opaque;
	(void)size;
	switch (off) {
	case DC_SPIFIFO_LBA:
		return f->sector;
	case DC_SPIFIFO_COUNT:
		return f->count;
	case DC_SPIFIFO_STATUS:
		return f->status;
	case DC_SPIFIFO_REMAIN:
		return f->cmd ? f->len - f->pos : 0;
	case DC_SPIFIFO_ID:
		return DC_SPIFIFO_IDVAL;
	case DC_SPIFIFO_CAPACITY:
		return (uint32_t)(f->size / DC_SPIFIFO_SECTOR);
	case DC_SPIFIFO_CTRL:
		return f->ctrl;
	default:
		return 0;
	}
}

static void mmio_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct spififo *f = opaque;
	(void)size;
	switch (off) {
	case DC_SPIFIFO_CMD:
		command(f, val);
		break;
	case DC_SPIFIFO_LBA:
		if (!f->cmd)
			f->sector = val;
		break;
	case DC_SPIFIFO_COUNT:
		if (!f->cmd)
			f->count = val;
		break;
	case DC_SPIFIFO_STATUS:
		f->status &= ~(val & (DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_ERR | DC_SPIFIFO_ST_TC));
		set_irq(f);
		break;
	case DC_SPIFIFO_CTRL:
		f->ctrl = val & DC_SPIFIFO_CTRL_TCIE;
		set_irq(f);
		break;
	default:
		break;
	}
}

static void spififo_reset(void *opaque)
{
	struct spififo *f = opaque;
	dc_timer_del(f->start_ev);
	dc_timer_del(f->done_ev);
	dc_host_request(f->h, false);
	f->status = f->sector = f->count = f->cmd = f->pos = f->len = f->ctrl = 0;
	f->fault_armed = f->failing = false;
	set_irq(f);
}

static uint64_t store_size(void *opaque)
{
	return ((struct spififo *)opaque)->size;
}

static int store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct spififo *f = opaque;
	if (off > f->size || len > f->size - off)
		return DC_ERR_RANGE;
	memcpy(buf, f->store + off, len);
	return DC_OK;
}

static int store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct spififo *f = opaque;
	if (off > f->size || len > f->size - off)
		return DC_ERR_RANGE;
	memcpy(f->store + off, buf, len);
	return DC_OK;
}

static void inject_fault(void *opaque, enum dc_fault fault)
{
	((struct spififo *)opaque)->fault_armed = fault == DC_FAULT_TRANSFER_ERROR;
}

static int spififo_create(struct dc_host *h, const struct dc_device_cfg *cfg, void **opaque)
{
	uint64_t size = cfg->capacity ? cfg->capacity : 1u << 20;
	if (size % DC_SPIFIFO_SECTOR || size > (UINT64_C(1) << 32)) {
		dc_host_log(h, "store of %llu bytes (whole 512-byte sectors, at most 4 GiB)",
		            (unsigned long long)size);
		return DC_ERR_INVAL;
	}
	struct spififo *f = calloc(1, sizeof(*f));
	if (!f)
		return DC_ERR_NOMEM;
	f->h = h;
	f->size = size;
	f->latency_ns = cfg->latency_ns ? cfg->latency_ns : 2000;
	f->store = calloc(1, size);
	f->stage = malloc(size);
	f->start_ev = dc_timer_new(h, "spififo-start", start_event, f);
	f->done_ev = dc_timer_new(h, "spififo-done", done_event, f);
	if (!f->store || !f->stage || !f->start_ev || !f->done_ev) {
		free(f->store);
		free(f->stage);
		free(f);
		return DC_ERR_NOMEM;
	}
	*opaque = f;
	return DC_OK;
}

static void spififo_destroy(void *opaque)
{
	struct spififo *f = opaque;
	free(f->store);
	free(f->stage);
	free(f);
}

static const struct dc_device_ops spififo_ops = {
    .create = spififo_create,
    .destroy = spififo_destroy,
    .reset = spififo_reset,
    .mmio_read = mmio_read,
    .mmio_write = mmio_write,
    .dack_from_device = f_from,
    .dack_to_device = f_to,
    .tc = f_tc,
    .store_size = store_size,
    .store_read = store_read,
    .store_write = store_write,
    .inject_fault = inject_fault,
};

const struct dc_device_model dc_spififo_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "spififo",
    .desc = "SPI-flash-like block peripheral on a request line (arm-soc PL080; PC: 8237 ch 3)",
    .ops = &spififo_ops,
    .res =
        {
            .mmio_base = 0x200000,
            .mmio_len = DC_SPIFIFO_WINDOW,
            .mmio_access = DC_ACCESS_4,
            .irq = -1,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
        },
    .mmio_stride = 0x1000,
    .max_instances = 1,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = DC_SPIFIFO_SECTOR,
    .has_request_line = true,
    .request_line = DC_SPIFIFO_LINE,
};

const struct dc_spififo_stats *dc_spififo_stats(void *opaque)
{
	return &((struct spififo *)opaque)->st;
}
