/* ring: a NIC-like bus-master device with TX and RX descriptor rings in host memory
 * (docs/devices/ring.md).
 *
 * The driver puts both rings (and usually the packet buffers) in a common buffer.  The device
 * reads descriptors and TX packets from memory by DMA and writes RX packets and descriptor
 * status back by DMA through the host bridge, so a driver whose common buffer is cached and who
 * does not flush genuinely breaks on a non-coherent platform: the device reads stale descriptors
 * (a descriptor the driver handed over still looks driver-owned, and the ring stalls) and the
 * driver reads stale status.  A descriptor is 16 bytes, little-endian:
 *     u64 addr; u32 len; u16 flags (OWN, EOP, ERR); u16 status
 * OWN set means the device owns the descriptor; the device clears it when done.
 *
 * Frames go to the "wire" — the backing store records each transmitted frame — and, in loopback
 * mode, into the next RX buffers.  RX frames can also come from a script in the backing store
 * (scripted mode) or from dc_ring_inject_rx.  One interrupt line, level-triggered, asserted while
 * INT_STATUS & INT_MASK is non-zero; each ring event sets its bit (no coalescing).
 *
 * Deliberately not modelled: link state, MAC addresses and filtering, checksum offload,
 * descriptor prefetch and write-back batching, wire time (a frame takes only its DMA time). */
#ifndef DC_DEVICES_RING_H
#define DC_DEVICES_RING_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_bridge;
struct dc_busmaster;

#define DC_RING_MMIO_LEN 0x1000u
#define DC_RING_ID 0x474E4952u /* "RING" in little-endian bytes */
#define DC_RING_MAX_ENTRIES 4096u
#define DC_RING_MAX_FRAME 9216u /* bytes */
#define DC_RING_MAX_FRAGS 16u   /* descriptors per frame */
#define DC_RING_RX_QUEUE 64u    /* frames waiting for RX descriptors before drops */
#define DC_RING_DESC_SIZE 16u
/* Backing store: [0, store_size) is the wire log, read-only; the RX script is written at
 * DC_RING_SCRIPT_BASE + offset.  Both are sequences of records {u32 le length; bytes}.  The log
 * holds the last DC_RING_WIRE_KEEP bytes at least: reading below that is DC_ERR_RANGE (the
 * offsets stay those of the whole log; store_size is all bytes ever sent). */
#define DC_RING_WIRE_KEEP (UINT64_C(1) << 20)
#define DC_RING_SCRIPT_BASE (UINT64_C(1) << 40)

enum dc_ring_reg {
	DC_RING_REG_ID = 0x00,
	DC_RING_REG_CAPS = 0x04, /* [15:0] max entries, [23:16] addr_bits */
	DC_RING_REG_CTRL = 0x08,
	DC_RING_REG_STATUS = 0x0C,
	DC_RING_REG_INT_STATUS = 0x10,
	DC_RING_REG_INT_MASK = 0x14,
	DC_RING_REG_TX_BASE_LO = 0x20,
	DC_RING_REG_TX_BASE_HI = 0x24,
	DC_RING_REG_TX_SIZE = 0x28,
	DC_RING_REG_TX_HEAD = 0x2C,
	DC_RING_REG_TX_TAIL = 0x30,
	DC_RING_REG_RX_BASE_LO = 0x40,
	DC_RING_REG_RX_BASE_HI = 0x44,
	DC_RING_REG_RX_SIZE = 0x48,
	DC_RING_REG_RX_HEAD = 0x4C,
	DC_RING_REG_RX_TAIL = 0x50,
	DC_RING_REG_TX_FRAMES = 0x60,
	DC_RING_REG_RX_FRAMES = 0x64,
	DC_RING_REG_RX_DROPPED = 0x68,
	DC_RING_REG_MAX_FRAME = 0x6C,
};

#define DC_RING_CTRL_ENABLE 0x1u
#define DC_RING_CTRL_LOOPBACK 0x2u
#define DC_RING_CTRL_SCRIPT 0x4u
#define DC_RING_CTRL_RESET 0x80000000u

#define DC_RING_STATUS_TX_BUSY 0x1u
#define DC_RING_STATUS_RX_BUSY 0x2u
#define DC_RING_STATUS_TX_STALLED 0x4u /* head != tail but the head descriptor is not OWN */
#define DC_RING_STATUS_RX_NOBUF 0x8u   /* frames wait, no RX descriptor owned by the device */

#define DC_RING_INT_TX_DONE 0x1u
#define DC_RING_INT_RX_READY 0x2u
#define DC_RING_INT_RX_DROP 0x4u
#define DC_RING_INT_ERROR 0x8u

#define DC_RING_DESC_OWN 0x1u
#define DC_RING_DESC_EOP 0x2u
#define DC_RING_DESC_ERR 0x4u

/* Descriptor status written back by the device. */
enum dc_ring_dstatus {
	DC_RING_DS_OK = 0,
	DC_RING_DS_TOO_BIG,   /* TX: frame > DC_RING_MAX_FRAME or > DC_RING_MAX_FRAGS descriptors */
	DC_RING_DS_TRUNCATED, /* RX: frame larger than DC_RING_MAX_FRAGS buffers */
	DC_RING_DS_DMA_ERROR, /* injected transfer error or master abort */
	DC_RING_DS_COUNT
};
const char *dc_ring_dstatus_name(enum dc_ring_dstatus s);

struct dc_ring_config {
	const char *name;   /* DMA source name; NULL: "ring" (must outlive the machine) */
	uint64_t mmio_base; /* 0: dc_mmio_window(m) + 0x10000 */
	uint32_t addr_bits; /* 32 or 64; 0: plat.bm_addr_bits */
	int irq;            /* -1: none */
	uint64_t bw;        /* bytes/s per direction; 0: plat.bm_bw */
};

/* The model (devices/builtin.c lists it). */
extern const struct dc_device_model dc_ring_model;

int dc_ring_create(struct dc_machine *m, struct dc_bridge *br, const struct dc_ring_config *cfg,
                   struct dc_device *dev);

/* The TX engine; both engines share one DMA source, so draining it drains the device. */
struct dc_busmaster *dc_ring_busmaster(void *opaque);

/* A frame arrives from the wire (queued for RX; dropped when DC_RING_RX_QUEUE frames wait).
 * DC_ERR_INVAL for len 0 or > DC_RING_MAX_FRAME, DC_ERR_NOMEM. */
int dc_ring_inject_rx(void *opaque, const void *frame, uint32_t len);

struct dc_ring_stats {
	uint64_t tx_frames, rx_frames, rx_dropped, tx_errors, rx_errors;
	uint64_t tx_stalls; /* times TX found a not-owned descriptor between head and tail */
	uint64_t tx_events, rx_events; /* interrupt-causing events */
	uint64_t bad_accesses;
};
const struct dc_ring_stats *dc_ring_stats(void *opaque);

#endif
