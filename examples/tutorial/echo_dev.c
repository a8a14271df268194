/*
 * echo_dev.c -- the tutorial device (docs/devices/writing-a-device.md): "echo", a PCI-style
 * bus-master loopback card.  The driver hands it a frame in memory (TX); the card fetches it
 * by DMA into its own frame memory; the driver hands it an empty buffer (RX); the card writes
 * the oldest frame it holds into that buffer by DMA and says how long it was.  Written only
 * against <dmacoh/device.h>, as any out-of-tree device model is, and built with
 * `dmacoh-cc --device-model`.
 *
 * Registers (one 4 KiB memory window, 32-bit accesses only):
 *   0x00 ID            RO  0x4F484345 ("ECHO")
 *   0x04 CTRL          W   bit 0 RESET: aborts both engines, empties the frame memory
 *   0x08 STATUS        RO  bit 0 TX busy, bit 1 RX busy, bit 2 RX armed, [15:8] frames held
 *   0x0C INT_STATUS    R/W1C  bit 0 TX_DONE, bit 1 RX_DONE, bit 2 ERROR
 *   0x10 INT_MASK      R/W the interrupt line is INT_STATUS & INT_MASK (level)
 *   0x14/0x18 TX_ADDR  R/W logical address of the frame to send (low, high)
 *   0x1C TX_LEN        R/W its length, 1 .. MAX_FRAME
 *   0x20/0x24 RX_ADDR  R/W logical address of the receive buffer
 *   0x28 RX_LEN        R/W its size
 *   0x2C RX_FRAME_LEN  RO  length of the frame the last RX delivered
 *   0x30 DOORBELL      W   1: send (TX), 2: arm a receive (RX)
 *   0x34 MAX_FRAME     RO  65536
 * A send while TX is busy or the frame memory (4 frames) is full, a length of 0 or above
 * MAX_FRAME, or a received frame longer than RX_LEN (it is dropped) sets ERROR.  An armed
 * receive waits until a frame is there.  Reading any register first lands the card's posted
 * writes, as a PCI read does.
 *
 * Not modelled: PCI configuration space, several windows, MSI, a link or a wire -- the card
 * is its own peer.
 */
#include <stdlib.h>
#include <string.h>

#include <dmacoh/device.h>

#define ECHO_REG_ID 0x00
#define ECHO_REG_CTRL 0x04
#define ECHO_REG_STATUS 0x08
#define ECHO_REG_INT_STATUS 0x0C
#define ECHO_REG_INT_MASK 0x10
#define ECHO_REG_TX_ADDR_LO 0x14
#define ECHO_REG_TX_ADDR_HI 0x18
#define ECHO_REG_TX_LEN 0x1C
#define ECHO_REG_RX_ADDR_LO 0x20
#define ECHO_REG_RX_ADDR_HI 0x24
#define ECHO_REG_RX_LEN 0x28
#define ECHO_REG_RX_FRAME_LEN 0x2C
#define ECHO_REG_DOORBELL 0x30
#define ECHO_REG_MAX_FRAME 0x34

#define ECHO_ID_VALUE 0x4F484345u
#define ECHO_INT_TX_DONE 0x1u
#define ECHO_INT_RX_DONE 0x2u
#define ECHO_INT_ERROR 0x4u
#define ECHO_MAX_FRAME 65536u
#define ECHO_DEPTH 4u
#define ECHO_LATENCY_NS 2000u /* doorbell to first byte */

struct echo {
	struct dc_host *h;
	struct dc_bm *tx, *rx; /* one engine per direction, as a NIC has */
	uint32_t int_status, int_mask;
	uint32_t tx_lo, tx_hi, tx_len, rx_lo, rx_hi, rx_len, rx_frame_len;
	bool rx_armed;
	uint8_t *tx_buf;            /* the frame being fetched */
	uint8_t *frame[ECHO_DEPTH]; /* frame memory, a ring */
	uint32_t frame_len[ECHO_DEPTH];
	unsigned head, count;
	bool fail_next; /* inject_fault: the next transfer stops half way */
};

static void echo_update_irq(struct echo *e)
{
	if (e->int_status & e->int_mask)
		dc_host_irq_raise(e->h);
	else
		dc_host_irq_lower(e->h);
}

static void echo_signal(struct echo *e, uint32_t bits)
{
	e->int_status |= bits;
	echo_update_irq(e);
}

static void echo_arm_fault(struct echo *e, struct dc_bm *bm, uint32_t len)
{
	if (e->fail_next) {
		e->fail_next = false;
		dc_bm_fail_next(bm, len / 2);
	}
}

static void echo_rx_done(void *opaque, int status, uint64_t bytes);

/* Starts delivering the oldest frame if a receive is armed and the RX engine idle. */
static void echo_try_rx(struct echo *e)
{
	struct dc_bm_seg seg;
	uint32_t len;

	if (!e->rx_armed || e->count == 0 || dc_bm_busy(e->rx))
		return;
	len = e->frame_len[e->head];
	if (len > e->rx_len) { /* does not fit: dropped */
		e->head = (e->head + 1) % ECHO_DEPTH;
		e->count--;
		e->rx_armed = false;
		echo_signal(e, ECHO_INT_ERROR);
		return;
	}
	seg.addr = (uint64_t)e->rx_hi << 32 | e->rx_lo;
	seg.len = len;
	echo_arm_fault(e, e->rx, len);
	if (dc_bm_start(e->rx, &seg, 1, DC_DIR_FROM_DEVICE, e->frame[e->head], echo_rx_done, e) !=
	    DC_OK) {
		e->rx_armed = false;
		echo_signal(e, ECHO_INT_ERROR);
	}
}

static void echo_rx_done(void *opaque, int status, uint64_t bytes)
{
	struct echo *e = opaque;

	(void)bytes;
	e->rx_armed = false;
	if (status != DC_OK) {
		dc_host_bm_error(e->h); /* the driver's FlushAdapterBuffers will say so */
		echo_signal(e, ECHO_INT_ERROR);
		return;
	}
	e->rx_frame_len = e->frame_len[e->head];
	e->head = (e->head + 1) % ECHO_DEPTH;
	e->count--;
	echo_signal(e, ECHO_INT_RX_DONE);
}

static void echo_tx_done(void *opaque, int status, uint64_t bytes)
{
	struct echo *e = opaque;
	unsigned slot = (e->head + e->count) % ECHO_DEPTH;

	if (status != DC_OK) {
		dc_host_bm_error(e->h);
		echo_signal(e, ECHO_INT_ERROR);
		return;
	}
	memcpy(e->frame[slot], e->tx_buf, bytes);
	e->frame_len[slot] = (uint32_t)bytes;
	e->count++;
	echo_signal(e, ECHO_INT_TX_DONE);
	echo_try_rx(e);
}

static void echo_send(struct echo *e)
{
	struct dc_bm_seg seg = {(uint64_t)e->tx_hi << 32 | e->tx_lo, e->tx_len};

	if (dc_bm_busy(e->tx) || e->count == ECHO_DEPTH || e->tx_len == 0 ||
	    e->tx_len > ECHO_MAX_FRAME) {
		echo_signal(e, ECHO_INT_ERROR);
		return;
	}
	echo_arm_fault(e, e->tx, e->tx_len);
	if (dc_bm_start(e->tx, &seg, 1, DC_DIR_TO_DEVICE, e->tx_buf, echo_tx_done, e) != DC_OK)
		echo_signal(e, ECHO_INT_ERROR);
}

static void echo_reset(void *opaque)
{
	struct echo *e = opaque;

	dc_bm_abort(e->tx);
	dc_bm_abort(e->rx);
	e->int_status = e->int_mask = 0;
	e->tx_lo = e->tx_hi = e->tx_len = e->rx_lo = e->rx_hi = e->rx_len = 0;
	e->rx_frame_len = 0;
	e->rx_armed = false;
	e->head = e->count = 0;
	e->fail_next = false;
	echo_update_irq(e);
}

static uint32_t echo_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct echo *e = opaque;

	(void)size; /* only 4 is declared, so only 4 arrives */
	dc_host_bm_flush(e->h);
	switch (off) {
	case ECHO_REG_ID:
		return ECHO_ID_VALUE;
	case ECHO_REG_STATUS:
		return (dc_bm_busy(e->tx) ? 1u : 0u) | (dc_bm_busy(e->rx) ? 2u : 0u) |
		       (e->rx_armed ? 4u : 0u) | e->count << 8;
	case ECHO_REG_INT_STATUS:
		return e->int_status;
	case ECHO_REG_INT_MASK:
		return e->int_mask;
	case ECHO_REG_TX_ADDR_LO:
		return e->tx_lo;
	case ECHO_REG_TX_ADDR_HI:
		return e->tx_hi;
	case ECHO_REG_TX_LEN:
		return e->tx_len;
	case ECHO_REG_RX_ADDR_LO:
		return e->rx_lo;
	case ECHO_REG_RX_ADDR_HI:
		return e->rx_hi;
	case ECHO_REG_RX_LEN:
		return e->rx_len;
	case ECHO_REG_RX_FRAME_LEN:
		return e->rx_frame_len;
	case ECHO_REG_MAX_FRAME:
		return ECHO_MAX_FRAME;
	default:
		return 0; /* reserved: reads as zero */
	}
}

static void echo_mmio_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct echo *e = opaque;

	(void)size;
	switch (off) {
	case ECHO_REG_CTRL:
		if (val & 1u)
			echo_reset(e);
		break;
	case ECHO_REG_INT_STATUS:
		e->int_status &= ~val;
		echo_update_irq(e);
		break;
	case ECHO_REG_INT_MASK:
		e->int_mask = val & 7u;
		echo_update_irq(e);
		break;
	case ECHO_REG_TX_ADDR_LO:
		e->tx_lo = val;
		break;
	case ECHO_REG_TX_ADDR_HI:
		e->tx_hi = val;
		break;
	case ECHO_REG_TX_LEN:
		e->tx_len = val;
		break;
	case ECHO_REG_RX_ADDR_LO:
		e->rx_lo = val;
		break;
	case ECHO_REG_RX_ADDR_HI:
		e->rx_hi = val;
		break;
	case ECHO_REG_RX_LEN:
		e->rx_len = val;
		break;
	case ECHO_REG_DOORBELL:
		if (val == 1u) {
			echo_send(e);
		} else if (val == 2u) {
			if (e->rx_armed || dc_bm_busy(e->rx)) {
				echo_signal(e, ECHO_INT_ERROR);
			} else {
				e->rx_armed = true;
				echo_try_rx(e);
			}
		}
		break;
	default:
		break; /* read-only or reserved: ignored */
	}
}

static void echo_inject_fault(void *opaque, enum dc_fault f)
{
	struct echo *e = opaque;

	e->fail_next = f == DC_FAULT_TRANSFER_ERROR;
}

static void echo_destroy(void *opaque)
{
	struct echo *e = opaque;
	unsigned i;

	if (!e)
		return;
	for (i = 0; i < ECHO_DEPTH; i++)
		free(e->frame[i]);
	free(e->tx_buf);
	free(e); /* the engines are freed with the device */
}

static int echo_create(struct dc_host *h, const struct dc_device_cfg *cfg, void **opaque)
{
	struct echo *e = calloc(1, sizeof(*e));
	unsigned i;
	bool ok;

	(void)cfg;
	if (!e)
		return DC_ERR_NOMEM;
	e->h = h;
	e->tx = dc_bm_new(h, 0, ECHO_LATENCY_NS);
	e->rx = dc_bm_new(h, 0, ECHO_LATENCY_NS);
	e->tx_buf = malloc(ECHO_MAX_FRAME);
	ok = e->tx && e->rx && e->tx_buf;
	for (i = 0; i < ECHO_DEPTH; i++)
		ok = (e->frame[i] = malloc(ECHO_MAX_FRAME)) != NULL && ok;
	if (!ok) {
		echo_destroy(e);
		return DC_ERR_NOMEM;
	}
	*opaque = e;
	return DC_OK;
}

static const struct dc_device_ops echo_ops = {
    .create = echo_create,
    .destroy = echo_destroy,
    .reset = echo_reset,
    .mmio_read = echo_mmio_read,
    .mmio_write = echo_mmio_write,
    .inject_fault = echo_inject_fault,
};

static const struct dc_device_model echo_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "echo",
    .desc = "tutorial bus-master loopback card (one descriptor per direction)",
    .ops = &echo_ops,
    .res =
        {
            .mmio_base = 0x80000, /* offset in the machine's device window */
            .mmio_len = 0x1000,
            .mmio_access = DC_ACCESS_4,
            .irq = -1, /* any free line */
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
            .bus_master = true,
            .scatter_gather = false,
            .addr_bits = 32,
            .max_sg = 1,
            .map_registers = true,
        },
    .store_kind = DC_STORE_NONE, /* the test application checks what comes back */
};

DMACOH_DEVICE_MODEL(echo_model);
