/* The system DMA controller: the pair of 8237A-compatible controllers of a PC/AT, as a HAL
 * programs them through their I/O ports, plus the seed's internal buffer
 * (docs/devices/sysdma.md has the register map and every rule below in detail).
 *
 * Controller 1 (ports 0x00-0x0F) serves the 8-bit channels 0-3, controller 2 (0xC0-0xDF, even
 * ports) the 16-bit channels 4-7, whose address and count registers count words.  Channel 4
 * cascades controller 1: controller 1 moves nothing unless channel 4 is unmasked and in cascade
 * mode (the state the BIOS leaves, dc_i8237_reset).  Page registers (0x80-0x8F) supply A23-A16
 * (A23-A17 for 16-bit channels); the address wraps inside its 64 KiB (128 KiB) page as on real
 * hardware.  When plat.sysdma_addr_bits > 24, EISA-style high page registers (0x480-0x48F)
 * supply A31-A24.
 *
 * The internal buffer: each channel holds bytes between the device and memory.  Data enters the
 * buffer on the side that consumes addresses (from the device for a device->memory transfer,
 * from memory for a memory->device one), and that is what advances the address and count
 * registers, raises terminal count and what ReadDmaCounter sees.  It leaves on the other side
 * only in whole chunks of plat.sysdma_chunk bytes (with plat.sysdma_wait_full: only once the
 * buffer of sysdma_depth chunks is full).  Bytes that do not make up a whole chunk stay in the
 * controller until dc_i8237_flush — the kernel's FlushAdapterBuffers — drains them.  Memory is
 * reached only through dc_dma_read/dc_dma_write (source "sysdma"), so the platform's coherency
 * applies.
 *
 * Time: a channel moves plat.sysdma_bw bytes per simulated second (half that in single mode,
 * which hands the bus back after every transfer).  Progress is computed lazily: data moves in
 * batches at channel events (at most DC_I8237_RUN_MAX bytes apart, and exactly at terminal
 * count) and whenever the CPU touches a controller port, so a register read mid-transfer shows
 * exact progress.
 *
 * Deliberately not modelled: memory-to-memory transfers (command bit 0) and the temporary
 * register, DREQ/DACK polarity, compressed/extended timing, priority between channels (each
 * channel runs at the full rate, as if the controllers had one data path per channel), the
 * refresh function of channel 0 on a PC/XT, and an external bus master on a cascade channel. */
#ifndef DC_I8237_H
#define DC_I8237_H

#include "dmacoh/common.h"
#include "bus.h"

struct dc_machine;
struct dc_i8237;

#define DC_I8237_CHANNELS 8
#define DC_I8237_CASCADE_CH 4
/* Largest batch of one channel between two events (bytes). */
#define DC_I8237_RUN_MAX 16384u
/* Largest internal buffer (chunk * depth) a controller accepts. */
#define DC_I8237_BUF_MAX (16u << 20)

/* Mode register (port 0x0B / 0xD6) fields. */
#define DC_I8237_MODE_CH_MASK 0x03u
#define DC_I8237_MODE_VERIFY 0x00u
#define DC_I8237_MODE_WRITE 0x04u /* device -> memory (a Windows "read") */
#define DC_I8237_MODE_READ 0x08u  /* memory -> device (a Windows "write") */
#define DC_I8237_MODE_XFER_MASK 0x0Cu
#define DC_I8237_MODE_AUTOINIT 0x10u
#define DC_I8237_MODE_DECREMENT 0x20u
#define DC_I8237_MODE_DEMAND 0x00u
#define DC_I8237_MODE_SINGLE 0x40u
#define DC_I8237_MODE_BLOCK 0x80u
#define DC_I8237_MODE_CASCADE 0xC0u
#define DC_I8237_MODE_SEL_MASK 0xC0u

/* Command register (port 0x08 / 0xD0). */
#define DC_I8237_CMD_MEM2MEM 0x01u
#define DC_I8237_CMD_DISABLE 0x04u

/* Single mask and request register: channel in bits 1:0, bit 2 sets. */
#define DC_I8237_MASK_SET 0x04u
#define DC_I8237_REQ_SET 0x04u

/* Transfer type (mode bits 3:2). */
enum dc_i8237_xfer {
	DC_I8237_XFER_VERIFY,  /* addresses and counts advance; no data moves */
	DC_I8237_XFER_WRITE,   /* device -> memory */
	DC_I8237_XFER_READ,    /* memory -> device */
	DC_I8237_XFER_ILLEGAL, /* treated as verify */
	DC_I8237_XFER_COUNT
};
const char *dc_i8237_xfer_name(enum dc_i8237_xfer x);

/* Mode select (mode bits 7:6). */
enum dc_i8237_msel {
	DC_I8237_DEMAND,  /* moves while DREQ is held; pauses when it drops */
	DC_I8237_SINGLE,  /* one transfer per bus grant: half the rate while DREQ is held */
	DC_I8237_BLOCK,   /* DREQ starts it; it runs to terminal count regardless of DREQ */
	DC_I8237_CASCADE, /* the channel only passes a cascaded controller's requests on */
	DC_I8237_MSEL_COUNT
};
const char *dc_i8237_msel_name(enum dc_i8237_msel s);

/* What happens to bytes left in a channel's buffer when the channel is reprogrammed (its mode
 * register written) without a drain.  Either way a later drain writes/delivers what is left. */
enum dc_i8237_residue {
	DC_I8237_RESIDUE_KEEP, /* they stay: a device->memory tail is written late, to its old
	                        * addresses, with the next transfer's first chunk; a
	                        * memory->device tail reaches the device first in the next
	                        * transfer (mixed into it) */
	DC_I8237_RESIDUE_LOSE, /* the mode write empties the buffer: the tail is lost */
	DC_I8237_RESIDUE_COUNT
};
const char *dc_i8237_residue_name(enum dc_i8237_residue r);

/* The DACK side of a channel, offered by the device attached to it.  The controller calls
 * these from its own events and register accesses; a callback may call dc_i8237_dreq and
 * dc_i8237_error for its channel but must not touch the controller's ports.  Byte counts are
 * always multiples of the channel width (2 on channels 5-7). */
struct dc_dma_client {
	/* Device -> memory: the device hands over up to `max` bytes of its outgoing stream: it
	 * returns a pointer to them and sets *n (0 <= *n <= max).  The bytes must stay valid until
	 * the next call into the device.  *n == 0: the device has nothing (it should have dropped
	 * DREQ); in block mode the controller then moves open-bus bytes (0xFF). */
	const uint8_t *(*dack_from_device)(void *opaque, uint32_t max, uint32_t *n);
	/* Memory -> device: the device offers room for up to `max` bytes and sets *n.  The
	 * controller fills exactly *n bytes there before it calls the device again; they count as
	 * received.  *n == 0 (or NULL): the device takes nothing now. */
	uint8_t *(*dack_to_device)(void *opaque, uint32_t max, uint32_t *n);
	/* Terminal count (EOP) on this channel: called after the transfer that reached it, once
	 * every byte the controller would hand over without a drain has been handed over. */
	void (*tc)(void *opaque);
	/* Optional: bytes the device will still move before it drops DREQ (UINT64_MAX: unknown).
	 * Lets the controller schedule its event exactly when the device will be done. */
	uint64_t (*pending)(void *opaque);
};

struct dc_i8237_cfg {
	enum dc_i8237_residue residue;
	const char *source_name; /* DMA source name (must outlive the machine); NULL: "sysdma" */
};

/* Creates the controller pair with the machine's sysdma_* parameters, claims its ports on m's
 * bus and registers its DMA source.  cfg may be NULL (KEEP, "sysdma").  The state is the one
 * after the BIOS POST (dc_i8237_reset).  DC_ERR_INVAL (bad parameters, a buffer larger than
 * DC_I8237_BUF_MAX), DC_ERR_BUSY (ports taken), DC_ERR_NOMEM.  Destroy it only together with
 * the machine, before dc_machine_destroy: the bus keeps the ports claimed. */
int dc_i8237_create(struct dc_machine *m, const struct dc_i8237_cfg *cfg, struct dc_i8237 **out);
void dc_i8237_destroy(struct dc_i8237 *d);

/* The controller claiming port 0x00 of this bus (how the HAL finds it), or NULL. */
struct dc_i8237 *dc_i8237_from_bus(const struct dc_bus *b);

/* Hardware reset followed by what the BIOS does: both controllers master-cleared (every channel
 * masked, buffers emptied), then channel 4 set to cascade mode and unmasked. */
void dc_i8237_reset(struct dc_i8237 *d);

/* Attaches a device to channel ch (0-3, 5-7).  DC_ERR_INVAL, DC_ERR_BUSY (already attached). */
int dc_i8237_attach(struct dc_i8237 *d, unsigned ch, const struct dc_dma_client *c, void *opaque);
void dc_i8237_detach(struct dc_i8237 *d, unsigned ch);

/* The device asserts (true) or deasserts DREQ.  Asserting an asserted DREQ restarts a channel
 * that stalled because the device took or gave nothing. */
void dc_i8237_dreq(struct dc_i8237 *d, unsigned ch, bool level);
/* The device reports a failed transfer: the next drain of the channel returns false. */
void dc_i8237_error(struct dc_i8237 *d, unsigned ch);
/* The device asserts EOP: the transfer ends as at terminal count (status bit, auto-initialize
 * or mask), without the count running out. */
void dc_i8237_eop(struct dc_i8237 *d, unsigned ch);

/* The drain (FlushAdapterBuffers): brings the channel up to the current time, then writes the
 * bytes held for memory to their addresses, or pushes the bytes held for the device to it.
 * Returns false if the channel saw a transfer error (device-reported or a memory access outside
 * memory) since the last drain, true otherwise; the error is then cleared.  The registers are
 * left alone: the HAL masks the channel itself. */
bool dc_i8237_flush(struct dc_i8237 *d, unsigned ch);

/* Data width of a channel: 1 (channels 0-3) or 2 bytes (4-7). */
static inline unsigned dc_i8237_width(unsigned ch)
{
	return ch < 4 ? 1u : 2u;
}

/* Well-known ports of channel ch's registers. */
uint16_t dc_i8237_port_addr(unsigned ch);
uint16_t dc_i8237_port_count(unsigned ch);
uint16_t dc_i8237_port_page(unsigned ch);
uint16_t dc_i8237_port_hpage(unsigned ch); /* EISA high page (only when addr_bits > 24) */
/* Controller-wide registers of the controller serving ch. */
enum dc_i8237_reg {
	DC_I8237_REG_STATUS,     /* R: status; W: command */
	DC_I8237_REG_REQUEST,    /* W */
	DC_I8237_REG_MASK,       /* W: single mask bit */
	DC_I8237_REG_MODE,       /* W */
	DC_I8237_REG_CLEAR_FF,   /* W: clear byte pointer flip-flop */
	DC_I8237_REG_MASTER_CLR, /* W: master clear; R: temporary register */
	DC_I8237_REG_CLEAR_MASK, /* W */
	DC_I8237_REG_ALL_MASK,   /* W: write all mask bits; R: read them (bits 7:4 read 1) */
	DC_I8237_REG_COUNT
};
const char *dc_i8237_reg_name(enum dc_i8237_reg r);
uint16_t dc_i8237_port(unsigned ch, enum dc_i8237_reg r);

/* --- What a HAL does, as port I/O through the machine's bus (never a shortcut) ------------ */

/* MapTransfer for a system DMA adapter: mask, clear the flip-flop, mode (`mode` = transfer,
 * auto-initialize, decrement and mode-select bits; the channel bits are added), address, page
 * (and high page when addr_bits > 24), count = bytes/width - 1, unmask.  Refuses, touching no
 * port: DC_ERR_INVAL (channel 4 or out of range, bytes 0 or not a multiple of the width, more
 * than 64 Ki transfers, a 16-bit channel at an odd address), DC_ERR_RANGE (pa + bytes beyond
 * addr_bits, or crossing a 64 KiB / 128 KiB DMA page: the HAL must split there). */
int dc_i8237_hal_program(struct dc_i8237 *d, unsigned ch, uint8_t mode, uint64_t pa,
                         uint32_t bytes);
/* Sets (true) or clears the channel's mask bit. */
void dc_i8237_hal_mask(struct dc_i8237 *d, unsigned ch, bool masked);
/* ReadDmaCounter: bytes still to transfer (clear flip-flop, count low, count high);
 * 0 after terminal count. */
uint32_t dc_i8237_hal_read_counter(struct dc_i8237 *d, unsigned ch);
/* FlushAdapterBuffers for a system DMA adapter: the drain, then the mask.  Returns the drain's
 * verdict. */
bool dc_i8237_hal_flush(struct dc_i8237 *d, unsigned ch);

/* A snapshot of one channel, for tests, tools and reports. */
struct dc_i8237_chan_state {
	uint16_t base_addr, cur_addr, base_count, cur_count;
	uint8_t page, hpage, mode;
	bool masked, dreq, sreq, running, error;
	uint64_t next_pa;    /* physical address of the next transfer */
	uint32_t residue;    /* bytes held in the channel's buffer */
	enum dc_dir buf_dir; /* which way the held bytes go */
};
void dc_i8237_state(struct dc_i8237 *d, unsigned ch, struct dc_i8237_chan_state *out);

struct dc_i8237_stats {
	uint64_t dev_bytes; /* moved between device and controller */
	uint64_t mem_bytes; /* moved between controller and memory */
	uint64_t tcs, eops; /* terminal counts, external EOPs */
	uint64_t drains, drain_bytes, failed_drains;
	uint64_t lost_bytes; /* residue discarded (LOSE policy, master clear, device refused) */
	uint64_t late_bytes; /* residue carried into a reprogrammed transfer (KEEP) */
	uint64_t errors;     /* transfer errors seen */
	uint64_t batches;    /* engine runs that moved data */
};
const struct dc_i8237_stats *dc_i8237_stats(struct dc_i8237 *d, unsigned ch);

#endif
