/* spififo: a SPI-flash-like block peripheral for a SoC's request-line DMA controller
 * (docs/devices/spififo.md).  An MMIO register window with a data FIFO register (the
 * DeviceAddress a v3 driver gives in DEVICE_DESCRIPTION_VERSION3), a peripheral request line
 * (DMACOH_DEVICE_REQUEST_LINES), a level-triggered interrupt and a sector store: the driver
 * writes SECTOR and COUNT, then CMD (read or write); after the command latency the device
 * asserts its request line and streams the sectors through its FIFO (read: store -> FIFO ->
 * the DMA controller; write: the other way); when the last byte has passed it drops the
 * request, sets DONE and interrupts.  A write is committed to the store only when complete.
 * On a PC platform (no request-line controller) the line is the 8237 channel of that number;
 * with CTRL.TCIE set the controller's terminal count sets TC and interrupts.
 *
 * Deliberately not modelled: the SPI wire itself (clock, chip select, opcodes), a FIFO depth
 * and its overrun (the controller is always fast enough), PIO through the DATA register
 * (reads 0, writes are dropped: only the DMA controller moves data). */
#ifndef DC_DEVICES_SPIFIFO_H
#define DC_DEVICES_SPIFIFO_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

#define DC_SPIFIFO_WINDOW 0x100u
#define DC_SPIFIFO_SECTOR 512u
#define DC_SPIFIFO_LINE 3 /* its request line on the PL080 */

enum dc_spififo_reg {
	DC_SPIFIFO_DATA = 0x00,     /* the data FIFO (the DMA controller's peripheral address) */
	DC_SPIFIFO_CMD = 0x04,      /* W: DC_SPIFIFO_CMD_* */
	DC_SPIFIFO_LBA = 0x08,      /* R/W: first sector */
	DC_SPIFIFO_COUNT = 0x0C,    /* R/W: sectors */
	DC_SPIFIFO_STATUS = 0x10,   /* R: DC_SPIFIFO_ST_*; W: 1s clear DONE and ERR */
	DC_SPIFIFO_REMAIN = 0x14,   /* R: bytes the FIFO still has to move */
	DC_SPIFIFO_ID = 0x18,       /* R: DC_SPIFIFO_IDVAL */
	DC_SPIFIFO_CAPACITY = 0x1C, /* R: the store's size in sectors */
	DC_SPIFIFO_CTRL = 0x20,     /* R/W: DC_SPIFIFO_CTRL_* */
};
#define DC_SPIFIFO_IDVAL 0x4F464953u /* "SIFO" */

#define DC_SPIFIFO_CMD_READ 1u  /* store -> memory */
#define DC_SPIFIFO_CMD_WRITE 2u /* memory -> store */

#define DC_SPIFIFO_ST_BUSY 0x1u
#define DC_SPIFIFO_ST_DONE 0x2u
#define DC_SPIFIFO_ST_ERR 0x4u
#define DC_SPIFIFO_ST_TC 0x8u /* with CTRL.TCIE: the controller's terminal count came */

/* Latch the controller's terminal count in STATUS.TC and interrupt with it: for a controller
 * that raises no completion interrupt of its own (the 8237: its terminal count goes to the
 * device), so the driver learns where each transfer ended. */
#define DC_SPIFIFO_CTRL_TCIE 0x1u

extern const struct dc_device_model dc_spififo_model;

struct dc_spififo_stats {
	uint64_t reads, writes, errors, bytes;
};
const struct dc_spififo_stats *dc_spififo_stats(void *opaque);

#endif
