/* pio: a device that moves data by programmed I/O only (docs/devices/pio.md).
 *
 * The driver writes a byte offset and a length into the device's I/O registers and a command;
 * for a read, after the command latency the device sets DRDY and interrupts, and the CPU then
 * reads the data port (byte, word or dword accesses: each moves that many bytes of the backing
 * store, in order) into its buffer — the PIO read of wdm-dma-spec 5.5, after which the driver
 * owes KeFlushIoBuffers(mdl, TRUE, FALSE).  For a write the device is ready at once, takes the
 * bytes written to the data port, and interrupts once they are committed.  The interrupt is
 * level-triggered while an enabled cause is set; causes are cleared by writing 1s to IACK.
 *
 * No DMA: the device never touches memory.  Deliberately not modelled: the time a port access
 * takes (accesses are instantaneous in simulated time), FIFOs, flow control inside a transfer. */
#ifndef DC_DEVICES_PIO_H
#define DC_DEVICES_PIO_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;

#define DC_PIO_PORTS 32u
#define DC_PIO_ID 0x4F49u /* "IO" read as a little-endian word at ID */

enum dc_pio_reg {
	DC_PIO_REG_DATA = 0x00,   /* R/W, 1/2/4 bytes: the data stream (0x00-0x03 all alias it) */
	DC_PIO_REG_CMD = 0x04,    /* W: command; R: STATUS */
	DC_PIO_REG_ERROR = 0x05,  /* R: enum dc_pio_error of the last command */
	DC_PIO_REG_IACK = 0x06,   /* W: write 1s to clear causes; R: causes */
	DC_PIO_REG_CTRL = 0x07,   /* R/W: DC_PIO_CTRL_* */
	DC_PIO_REG_OFFSET = 0x08, /* R/W: 4 bytes, byte offset into the store */
	DC_PIO_REG_LENGTH = 0x0C, /* R/W: 4 bytes, bytes to move */
	DC_PIO_REG_REMAIN = 0x10, /* R: 4 bytes, bytes the data port still has to move */
	DC_PIO_REG_ID = 0x14,     /* R: 2 bytes, DC_PIO_ID */
};
/* Name of the register at a port offset (any byte of a multi-byte register), "?" if none. */
const char *dc_pio_reg_name(enum dc_pio_reg r);

#define DC_PIO_ST_BUSY 0x01u /* latency running: not ready yet */
#define DC_PIO_ST_DRDY 0x02u /* the data port moves data now */
#define DC_PIO_ST_DONE 0x04u /* the transfer completed */
#define DC_PIO_ST_ERR 0x08u  /* the transfer failed */
#define DC_PIO_ST_IRQ 0x80u  /* the interrupt line is asserted */

/* Interrupt causes (IACK). */
#define DC_PIO_INT_DRDY 0x01u /* read data ready */
#define DC_PIO_INT_DONE 0x02u /* write committed */
#define DC_PIO_INT_ERR 0x04u
#define DC_PIO_INT_ALL 0x07u

#define DC_PIO_CTRL_IEN 0x01u /* interrupt enable (set at reset) */

enum dc_pio_cmd {
	DC_PIO_CMD_NONE = 0,
	DC_PIO_CMD_READ = 1,  /* device -> CPU through DATA */
	DC_PIO_CMD_WRITE = 2, /* CPU -> device through DATA */
	DC_PIO_CMD_ABORT = 3,
	DC_PIO_CMD_COUNT
};
const char *dc_pio_cmd_name(enum dc_pio_cmd c);

enum dc_pio_error {
	DC_PIO_ERR_NONE = 0,
	DC_PIO_ERR_BAD_CMD,
	DC_PIO_ERR_BAD_RANGE, /* length 0 or past the store */
	DC_PIO_ERR_TRANSFER,  /* injected: a read never becomes ready; a write is not committed */
	DC_PIO_ERR_OVERRUN,   /* the data port was used with nothing to move */
	DC_PIO_ERR_COUNT
};
const char *dc_pio_error_name(enum dc_pio_error e);

struct dc_pio_cfg {
	uint32_t port_base;  /* 32 ports */
	int irq;             /* -1: none */
	uint64_t size;       /* backing store bytes */
	uint64_t latency_ns; /* command to DRDY (read), last byte to DONE (write) */
};

/* Defaults: ports 0x320, IRQ 7, 64 KiB, 5 us. */
void dc_pio_cfg_default(struct dc_pio_cfg *cfg);

/* Creates the device and claims its ports.  DC_ERR_INVAL, DC_ERR_BUSY, DC_ERR_NOMEM.  Destroy
 * with dc_device_detach(dev) before the machine. */
/* The model (devices/builtin.c lists it); dc_<name>_create is dc_device_attach of it with
 * this configuration. */
extern const struct dc_device_model dc_pio_model;

int dc_pio_create(struct dc_machine *m, const struct dc_pio_cfg *cfg, struct dc_device *dev);

struct dc_pio_stats {
	uint64_t reads, writes, errors, bytes;
	uint64_t bad_accesses; /* data port used with nothing to move */
};
const struct dc_pio_stats *dc_pio_stats(void *opaque);

#endif
