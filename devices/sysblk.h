/* sysblk: a block device on a system DMA channel (docs/devices/sysblk.md).
 *
 * A driver writes a starting sector (LBA) and a sector count into byte-wide I/O registers,
 * programs the 8237 channel the device sits on (through the HAL: MapTransfer), then writes a
 * command.  After a command latency the device asserts DREQ and holds it until its sectors have
 * passed through the channel; it never touches memory itself — the controller moves the data,
 * through its internal buffer.  The device raises its interrupt (level-triggered, until IACK)
 * when the command completes, fails, or when the channel reaches terminal count first (a split
 * transfer: the driver programs the next piece and the command goes on).  Sectors are 512
 * bytes; the backing store is host memory.
 *
 * A command written while another runs aborts the running one: the bytes it had not received
 * never reach the medium, and whatever the channel still holds from it reaches the new command
 * first — the "late and mixed" symptom of a missing FlushAdapterBuffers.
 *
 * Deliberately not modelled: seek geometry (one fixed latency per command), queueing, caching
 * in the device, partial-sector commands, ports wider than a byte (wider accesses are split). */
#ifndef DC_DEVICES_SYSBLK_H
#define DC_DEVICES_SYSBLK_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_i8237;

#define DC_SYSBLK_SECTOR 512u
#define DC_SYSBLK_PORTS 16u
#define DC_SYSBLK_ID 0x5342u /* "BS" read as a little-endian word at ID */

/* Register offsets from the port base (byte-wide). */
enum dc_sysblk_reg {
	DC_SYSBLK_REG_CMD = 0x0,   /* W: command; R: STATUS */
	DC_SYSBLK_REG_ERROR = 0x1, /* R: enum dc_sysblk_error of the last command */
	DC_SYSBLK_REG_IACK = 0x2,  /* W: acknowledge (W1C of DONE|ERR|TC); R: those bits */
	DC_SYSBLK_REG_CTRL = 0x3,  /* R/W: DC_SYSBLK_CTRL_* */
	DC_SYSBLK_REG_LBA = 0x4,   /* R/W: 4 bytes, little-endian */
	DC_SYSBLK_REG_COUNT = 0x8, /* R/W: 2 bytes, sectors (1..65535) */
	DC_SYSBLK_REG_DONE = 0xA,  /* R: 2 bytes, whole sectors moved by the current command */
	DC_SYSBLK_REG_CHAN = 0xC,  /* R: DMA channel */
	DC_SYSBLK_REG_IRQ = 0xD,   /* R: interrupt line (0xFF: none) */
	DC_SYSBLK_REG_ID = 0xE,    /* R: 2 bytes, DC_SYSBLK_ID */
};
/* Name of the register at a port offset (any byte of a multi-byte register), "?" if none. */
const char *dc_sysblk_reg_name(enum dc_sysblk_reg r);

#define DC_SYSBLK_ST_BUSY 0x01u /* a command runs */
#define DC_SYSBLK_ST_DRQ 0x02u  /* DREQ asserted */
#define DC_SYSBLK_ST_DONE 0x04u /* the last command completed (interrupt cause) */
#define DC_SYSBLK_ST_ERR 0x08u  /* the last command failed (interrupt cause) */
#define DC_SYSBLK_ST_TC 0x10u   /* the channel reached terminal count (interrupt cause) */
#define DC_SYSBLK_ST_IRQ 0x80u  /* the interrupt line is asserted */
#define DC_SYSBLK_ST_CAUSES (DC_SYSBLK_ST_DONE | DC_SYSBLK_ST_ERR | DC_SYSBLK_ST_TC)

#define DC_SYSBLK_CTRL_IEN 0x01u /* interrupt enable (set at reset) */

enum dc_sysblk_cmd {
	DC_SYSBLK_CMD_NONE = 0,
	DC_SYSBLK_CMD_READ = 1,  /* disk -> memory: an 8237 "write" transfer */
	DC_SYSBLK_CMD_WRITE = 2, /* memory -> disk: an 8237 "read" transfer */
	DC_SYSBLK_CMD_ABORT = 3, /* stop the running command; no interrupt */
	DC_SYSBLK_CMD_COUNT
};
const char *dc_sysblk_cmd_name(enum dc_sysblk_cmd c);

enum dc_sysblk_error {
	DC_SYSBLK_ERR_NONE = 0,
	DC_SYSBLK_ERR_BAD_CMD,   /* not a command */
	DC_SYSBLK_ERR_BAD_RANGE, /* count 0, or past the capacity */
	DC_SYSBLK_ERR_TRANSFER,  /* injected transfer error (the channel's drain fails too) */
	DC_SYSBLK_ERR_ABORTED,   /* ABORT, or a new command, stopped it */
	DC_SYSBLK_ERR_COUNT
};
const char *dc_sysblk_error_name(enum dc_sysblk_error e);

struct dc_sysblk_cfg {
	struct dc_i8237 *dma; /* ignored: the controller on m's bus */
	uint32_t port_base;   /* 16 ports */
	unsigned dma_channel; /* 0-3 (8-bit) or 5-7 (16-bit) */
	int irq;              /* interrupt line, -1: none */
	uint64_t sectors;     /* capacity */
	uint64_t latency_ns;  /* command to DREQ */
};

/* Defaults: ports 0x300, channel 3, IRQ 5, 2048 sectors (1 MiB), 20 us latency. */
void dc_sysblk_cfg_default(struct dc_sysblk_cfg *cfg);

/* Creates the device, claims its ports and attaches it to its channel.  dev gets ops, opaque and
 * res.  DC_ERR_INVAL (bad config, no controller), DC_ERR_BUSY (ports or channel taken),
 * DC_ERR_NOMEM.  Destroy with dc_device_detach(dev) before the
 * controller and the machine: it gives the ports and the channel back. */
/* The model (devices/builtin.c lists it); dc_<name>_create is dc_device_attach of it with
 * this configuration. */
extern const struct dc_device_model dc_sysblk_model;

int dc_sysblk_create(struct dc_machine *m, const struct dc_sysblk_cfg *cfg, struct dc_device *dev);

struct dc_sysblk_stats {
	uint64_t reads, writes, errors, aborts, bytes;
	uint64_t dropped; /* bytes offered by the channel with no command to take them */
};
const struct dc_sysblk_stats *dc_sysblk_stats(void *opaque);

#endif
