/* bmblk, the bus-master scatter/gather block device: see bmblk.h and docs/devices/bmblk.md.
 * A command is checked when the doorbell rings; a rejected one completes with an error after the
 * command latency like any other, so the interrupt never rises inside the driver's register
 * write. */
#include <stdlib.h>
#include <string.h>

#include "bmblk.h"

static const char *const cmd_names[DC_BMBLK_CMD_COUNT] = {"none", "read", "write"};
static const char *const error_names[DC_BMBLK_ERR_COUNT] = {
    "none", "bad-cmd", "busy", "bad-range", "bad-sg", "abort", "transfer",
};

const char *dc_bmblk_cmd_name(enum dc_bmblk_cmd c)
{
	return (unsigned)c < DC_BMBLK_CMD_COUNT ? cmd_names[c] : "?";
}

const char *dc_bmblk_error_name(enum dc_bmblk_error e)
{
	return (unsigned)e < DC_BMBLK_ERR_COUNT ? error_names[e] : "?";
}

struct bmblk_sg {
	uint32_t lo, hi, len;
};

struct bmblk {
	struct dc_host *h;
	struct dc_bm *bm;
	struct dc_timer *done_ev; /* completion of a rejected command */
	uint8_t *store;
	uint64_t sectors;
	uint32_t addr_bits, max_sg;
	int irq;
	bool msi;          /* bmblk-msi: messages instead of the line */
	uint32_t msi_prev; /* INT_STATUS & INT_MASK when the last message was due */
	uint64_t latency_ns;
	bool fault_armed;
	/* Registers */
	uint32_t status, int_status, int_mask;
	uint32_t lba_lo, lba_hi, count, sg_count;
	uint32_t error, bytes_done;
	struct bmblk_sg sg[DC_BMBLK_MAX_SG];
	enum dc_bmblk_cmd cmd;
	struct dc_bmblk_stats st;
};

static void update_irq(struct bmblk *d)
{
	if (d->irq < 0)
		return;
	uint32_t cur = d->int_status & d->int_mask;
	if (d->msi) {
		/* A message per cause that becomes pending: 1 for an error (the command is done
		 * too), else 0 for a completion. */
		uint32_t rising = cur & ~d->msi_prev;
		d->msi_prev = cur;
		if (rising & DC_BMBLK_INT_ERROR)
			dc_host_msi(d->h, DC_BMBLK_MSI_ERROR);
		else if (rising & DC_BMBLK_INT_DONE)
			dc_host_msi(d->h, DC_BMBLK_MSI_DONE);
		return;
	}
	if (cur)
		dc_host_irq_raise(d->h);
	else
		dc_host_irq_lower(d->h);
}

static void complete(struct bmblk *d, enum dc_bmblk_error err, uint64_t bytes)
{
	d->status &= ~(DC_BMBLK_STATUS_BUSY | DC_BMBLK_STATUS_ERROR);
	d->status |= DC_BMBLK_STATUS_DONE;
	d->bytes_done = (uint32_t)bytes;
	d->error = err;
	d->int_status |= DC_BMBLK_INT_DONE;
	if (err != DC_BMBLK_ERR_NONE) {
		d->status |= DC_BMBLK_STATUS_ERROR;
		d->int_status |= DC_BMBLK_INT_ERROR;
		d->st.errors++;
		/* Whatever failed, the driver's FlushAdapterBuffers must say so. */
		dc_host_bm_error(d->h);
	}
	d->st.bytes += bytes;
	update_irq(d);
}

static void engine_done(void *opaque, int status, uint64_t bytes)
{
	struct bmblk *d = opaque;
	enum dc_bmblk_error err = DC_BMBLK_ERR_NONE;
	if (status == DC_ERR_IO)
		err = DC_BMBLK_ERR_TRANSFER;
	else if (status < 0)
		err = DC_BMBLK_ERR_ABORT;
	complete(d, err, bytes);
}

static void rejected_done(void *opaque)
{
	struct bmblk *d = opaque;
	complete(d, (enum dc_bmblk_error)d->error, 0);
}

static void reject(struct bmblk *d, enum dc_bmblk_error err)
{
	d->st.rejected_doorbells++;
	d->status |= DC_BMBLK_STATUS_BUSY;
	d->error = err;
	int rc = dc_timer_mod(d->done_ev, dc_host_now(d->h) + d->latency_ns);
	DC_ASSERT(rc == DC_OK);
}

static void doorbell(struct bmblk *d, uint32_t val)
{
	if (d->status & DC_BMBLK_STATUS_BUSY) {
		/* The running command goes on; the driver learns of its mistake from ERROR only
		 * after that command completes (the register is overwritten then). */
		d->st.rejected_doorbells++;
		return;
	}
	d->status &= ~(DC_BMBLK_STATUS_DONE | DC_BMBLK_STATUS_ERROR);
	d->error = DC_BMBLK_ERR_NONE;
	d->bytes_done = 0;
	if (val != DC_BMBLK_CMD_READ && val != DC_BMBLK_CMD_WRITE) {
		reject(d, DC_BMBLK_ERR_BAD_CMD);
		return;
	}
	uint64_t lba = (uint64_t)d->lba_hi << 32 | d->lba_lo;
	if (d->count == 0 || lba >= d->sectors || d->count > d->sectors - lba) {
		reject(d, DC_BMBLK_ERR_BAD_RANGE);
		return;
	}
	if (d->sg_count == 0 || d->sg_count > d->max_sg) {
		reject(d, DC_BMBLK_ERR_BAD_SG);
		return;
	}
	struct dc_bm_seg seg[DC_BMBLK_MAX_SG];
	uint64_t total = 0;
	for (uint32_t i = 0; i < d->sg_count; i++) {
		seg[i].addr = (uint64_t)d->sg[i].hi << 32 | d->sg[i].lo;
		seg[i].len = d->sg[i].len;
		total += seg[i].len;
	}
	uint64_t bytes = (uint64_t)d->count * DC_BMBLK_SECTOR;
	if (total != bytes) {
		reject(d, DC_BMBLK_ERR_BAD_SG);
		return;
	}
	d->cmd = (enum dc_bmblk_cmd)val;
	if (d->fault_armed) {
		/* Half the sectors move, then the command fails. */
		d->fault_armed = false;
		dc_bm_fail_next(d->bm, (uint64_t)(d->count / 2) * DC_BMBLK_SECTOR);
	}
	enum dc_dir dir = d->cmd == DC_BMBLK_CMD_READ ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE;
	if (d->cmd == DC_BMBLK_CMD_READ)
		d->st.reads++;
	else
		d->st.writes++;
	d->status |= DC_BMBLK_STATUS_BUSY;
	int rc = dc_bm_start(d->bm, seg, d->sg_count, dir, d->store + lba * DC_BMBLK_SECTOR,
	                     engine_done, d);
	if (rc < 0) {
		d->status &= ~DC_BMBLK_STATUS_BUSY;
		reject(d, DC_BMBLK_ERR_ABORT);
	}
}

static void do_reset(struct bmblk *d)
{
	dc_bm_abort(d->bm);
	dc_timer_del(d->done_ev);
	d->status = d->int_status = d->int_mask = 0;
	d->lba_lo = d->lba_hi = d->count = d->sg_count = 0;
	d->error = d->bytes_done = 0;
	memset(d->sg, 0, sizeof(d->sg));
	d->cmd = DC_BMBLK_CMD_NONE;
	update_irq(d);
}

static uint32_t reg_read(struct bmblk *d, uint64_t off)
{
	switch (off) {
	case DC_BMBLK_REG_ID:
		return DC_BMBLK_ID;
	case DC_BMBLK_REG_CAPS:
		return d->max_sg | d->addr_bits << 8;
	case DC_BMBLK_REG_CTRL:
		return 0;
	case DC_BMBLK_REG_STATUS:
		return d->status;
	case DC_BMBLK_REG_INT_STATUS:
		return d->int_status;
	case DC_BMBLK_REG_INT_MASK:
		return d->int_mask;
	case DC_BMBLK_REG_LBA_LO:
		return d->lba_lo;
	case DC_BMBLK_REG_LBA_HI:
		return d->lba_hi;
	case DC_BMBLK_REG_SECTOR_COUNT:
		return d->count;
	case DC_BMBLK_REG_SG_COUNT:
		return d->sg_count;
	case DC_BMBLK_REG_DOORBELL:
		return d->cmd;
	case DC_BMBLK_REG_ERROR:
		return d->error;
	case DC_BMBLK_REG_CAPACITY_LO:
		return (uint32_t)d->sectors;
	case DC_BMBLK_REG_CAPACITY_HI:
		return (uint32_t)(d->sectors >> 32);
	case DC_BMBLK_REG_BYTES_DONE:
		return d->bytes_done;
	}
	if (off >= DC_BMBLK_REG_SG_BASE && off < DC_BMBLK_REG_SG_BASE + 16u * d->max_sg) {
		const struct bmblk_sg *e = &d->sg[(off - DC_BMBLK_REG_SG_BASE) / 16];
		switch (off & 15) {
		case 0:
			return e->lo;
		case 4:
			return e->hi;
		case 8:
			return e->len;
		}
	}
	return 0;
}

static uint32_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct bmblk *d = opaque;
	/* PCI ordering: this read's completion pushes the device's posted writes ahead of it. */
	dc_host_bm_flush(d->h);
	if (size != 4)
		d->st.bad_accesses++;
	uint32_t v = reg_read(d, off & ~(uint64_t)3);
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct bmblk *d = opaque;
	if (size != 4 || (off & 3)) {
		d->st.bad_accesses++;
		return;
	}
	switch (off) {
	case DC_BMBLK_REG_CTRL:
		if (val & DC_BMBLK_CTRL_RESET)
			do_reset(d);
		return;
	case DC_BMBLK_REG_INT_STATUS:
		d->int_status &= ~val;
		update_irq(d);
		return;
	case DC_BMBLK_REG_INT_MASK:
		d->int_mask = val & (DC_BMBLK_INT_DONE | DC_BMBLK_INT_ERROR);
		update_irq(d);
		return;
	case DC_BMBLK_REG_LBA_LO:
		d->lba_lo = val;
		return;
	case DC_BMBLK_REG_LBA_HI:
		d->lba_hi = val;
		return;
	case DC_BMBLK_REG_SECTOR_COUNT:
		d->count = val;
		return;
	case DC_BMBLK_REG_SG_COUNT:
		d->sg_count = val;
		return;
	case DC_BMBLK_REG_DOORBELL:
		doorbell(d, val);
		return;
	}
	if (off >= DC_BMBLK_REG_SG_BASE && off < DC_BMBLK_REG_SG_BASE + 16u * d->max_sg) {
		struct bmblk_sg *e = &d->sg[(off - DC_BMBLK_REG_SG_BASE) / 16];
		switch (off & 15) {
		case 0:
			e->lo = val;
			return;
		case 4:
			/* A 32-bit device has no upper address lines: the half reads back as 0. */
			e->hi = d->addr_bits > 32 ? val : 0;
			return;
		case 8:
			e->len = val;
			return;
		}
	}
	/* Read-only or unassigned: dropped, as hardware does. */
}

static void bmblk_reset(void *opaque)
{
	do_reset(opaque);
}

static void bmblk_destroy(void *opaque)
{
	struct bmblk *d = opaque;
	if (!d)
		return;
	dc_bm_abort(d->bm);
	dc_timer_del(d->done_ev);
	free(d->store);
	free(d);
}

static uint64_t bmblk_store_size(void *opaque)
{
	struct bmblk *d = opaque;
	return d->sectors * DC_BMBLK_SECTOR;
}

static int bmblk_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct bmblk *d = opaque;
	uint64_t size = d->sectors * DC_BMBLK_SECTOR;
	if (off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(buf, d->store + off, len);
	return DC_OK;
}

static int bmblk_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct bmblk *d = opaque;
	uint64_t size = d->sectors * DC_BMBLK_SECTOR;
	if (off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(d->store + off, buf, len);
	return DC_OK;
}

static void bmblk_inject_fault(void *opaque, enum dc_fault f)
{
	struct bmblk *d = opaque;
	if (f == DC_FAULT_TRANSFER_ERROR)
		d->fault_armed = true;
}

static int bmblk_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const struct dc_device_ops bmblk_ops = {
    .create = bmblk_create,
    .mmio_read = mmio_read,
    .mmio_write = mmio_write,
    .reset = bmblk_reset,
    .destroy = bmblk_destroy,
    .store_size = bmblk_store_size,
    .store_read = bmblk_store_read,
    .store_write = bmblk_store_write,
    .inject_fault = bmblk_inject_fault,
};

static int bmblk_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	const struct dc_device_res *r = dc_host_res(h);
	struct dc_bmblk_config c = {0};
	if (dcfg->priv) {
		c = *(const struct dc_bmblk_config *)dcfg->priv;
	} else {
		c.sectors = dcfg->capacity / DC_BMBLK_SECTOR;
		c.latency_ns = dcfg->latency_ns;
		c.bw = dcfg->bw;
	}
	if (!c.sectors)
		c.sectors = 2048;
	c.addr_bits = r->addr_bits;
	c.max_sg = r->max_sg ? r->max_sg : 32;
	if ((c.addr_bits != 32 && c.addr_bits != 64) || c.max_sg > DC_BMBLK_MAX_SG ||
	    c.sectors > (UINT64_MAX >> 10)) {
		dc_host_log(h, "addr_bits %u (32 or 64), max_sg %u (1-%u), %llu sectors",
		            c.addr_bits, c.max_sg, DC_BMBLK_MAX_SG, (unsigned long long)c.sectors);
		return DC_ERR_INVAL;
	}
	struct bmblk *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->store = calloc(c.sectors, DC_BMBLK_SECTOR);
	d->h = h;
	d->done_ev = dc_timer_new(h, "bmblk-reject", rejected_done, d);
	d->bm = dc_bm_new(h, c.bw, c.latency_ns);
	if (!d->store || !d->done_ev || !d->bm) {
		free(d->store);
		free(d);
		return DC_ERR_NOMEM;
	}
	d->sectors = c.sectors;
	d->addr_bits = c.addr_bits;
	d->max_sg = c.max_sg;
	d->irq = r->irq;
	d->msi = r->irq_mode == DC_IRQ_MSI;
	d->latency_ns = c.latency_ns;
	*opaque = d;
	return DC_OK;
}

const struct dc_device_model dc_bmblk_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "bmblk",
    .desc = "bus-master scatter/gather block device (MMIO, 512-byte sectors)",
    .ops = &bmblk_ops,
    .res =
        {
            .mmio_base = 0,
            .mmio_len = DC_BMBLK_MMIO_LEN,
            .irq = -1,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
            .bus_master = true,
            .scatter_gather = true,
            .max_sg = 32,
            .map_registers = true,
        },
    .mmio_stride = 0x1000,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = DC_BMBLK_SECTOR,
};

/* The same device with message-signalled interrupts: message 0 (DC_BMBLK_MSI_DONE) when a
 * command completes, message 1 (DC_BMBLK_MSI_ERROR) when it fails; INT_STATUS and INT_MASK
 * work as on the line-based one (an acknowledged cause can fire again). */
const struct dc_device_model dc_bmblk_msi_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "bmblk-msi",
    .desc = "bus-master scatter/gather block device with MSI (MMIO, 512-byte sectors)",
    .ops = &bmblk_ops,
    .res =
        {
            .mmio_base = 0x20000,
            .mmio_len = DC_BMBLK_MMIO_LEN,
            .irq = -1,
            .irq_mode = DC_IRQ_MSI,
            .msi_messages = 2,
            .dma_channel = -1,
            .bus_master = true,
            .scatter_gather = true,
            .max_sg = 32,
            .map_registers = true,
        },
    .mmio_stride = 0x1000,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = DC_BMBLK_SECTOR,
};

int dc_bmblk_create(struct dc_machine *m, struct dc_bridge *br, const struct dc_bmblk_config *cfg,
                    struct dc_device *dev)
{
	struct dc_bmblk_config c = cfg ? *cfg : (struct dc_bmblk_config){.irq = -1};
	if (!m || !br || !dev)
		return DC_ERR_INVAL;
	struct dc_device_res r = dc_bmblk_model.res;
	r.mmio_base = c.mmio_base;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : c.msi ? DC_IRQ_MSI : DC_IRQ_LEVEL;
	r.msi_messages = c.msi ? 2 : 0;
	if (c.addr_bits)
		r.addr_bits = c.addr_bits;
	if (c.max_sg)
		r.max_sg = c.max_sg;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, br, c.msi ? &dc_bmblk_msi_model : &dc_bmblk_model, &r, &dc, dev,
	                        NULL, 0);
}

struct dc_busmaster *dc_bmblk_busmaster(void *opaque)
{
	struct bmblk *d = opaque;
	return dc_bm_busmaster(d->bm);
}

const struct dc_bmblk_stats *dc_bmblk_stats(void *opaque)
{
	struct bmblk *d = opaque;
	return &d->st;
}
