/* The request-line system DMA controller of the arm-soc platform: an ARM PrimeCell DMA
 * Controller PL080 (ARM DDI 0196), register-accurate as software sees it through its 4 KiB
 * MMIO window, 8 channels, 16 peripheral request lines, linked-list items, burst sizes and
 * widths, and each channel's 4-word FIFO (docs/devices/pl080.md has the register map, the
 * sources and every deviation).
 *
 * Flow: a channel is programmed with SrcAddr, DestAddr, LLI, Control and Configuration (the
 * last with E = 1 starts it).  Flow control 000 (memory to memory), 001 (memory to peripheral)
 * and 010 (peripheral to memory), the DMAC as flow controller, are modelled; the peripheral's
 * request line (Configuration SrcPeripheral / DestPeripheral) gates the transfer the way DREQ
 * gates an 8237 channel.  At the end of an LLI whose Control.I is set the channel raises its
 * terminal-count interrupt; with a non-zero LLI register it then loads the next item (four
 * words: SrcAddr, DestAddr, LLI, Control) from memory and goes on.
 *
 * The FIFO: bytes for memory leave the channel only in whole destination bursts (DBSize x
 * DWidth, at most the 16-byte FIFO).  Between two LLIs the channel completes its destination
 * writes; at the end of the last LLI the tail that does not make up a burst stays in the FIFO
 * (Configuration.A reads 1, the channel stays enabled) until software halts the channel
 * (Configuration.H = 1: the FIFO drains to memory, A drops, the finished channel disables
 * itself) -- the seed's internal buffer in its SoC form.  Clearing E while A is 1 loses the
 * tail, as the TRM warns.  Memory -> peripheral transfers read memory only as the peripheral
 * takes data, so nothing is left in the FIFO at halt.
 *
 * Memory is reached only through dc_dma_read/dc_dma_write (source "pl080"): non-coherent on
 * arm-soc.  Time: each channel moves plat.sysdma_bw bytes per simulated second in batches of
 * at most DC_PL080_RUN_MAX bytes at clock events; the combined interrupt DMACINTR is one
 * level-triggered line.
 *
 * Deliberately not modelled: peripheral flow control (FlowCntrl 011-111: enabling such a
 * channel raises its error interrupt), big-endian AHB masters (M1/M2 are stored, ignored),
 * channel priority and the two AHB masters (every channel runs at the full rate through one
 * memory path), Prot/Lock (stored), DMACSync (stored), the test registers. */
#ifndef DC_PL080_H
#define DC_PL080_H

#include "dmacoh/common.h"
#include "i8237.h" /* struct dc_dma_client: the peripheral side of a request line */

struct dc_machine;
struct dc_pl080;

#define DC_PL080_CHANNELS 8
#define DC_PL080_LINES 16
#define DC_PL080_FIFO 16u /* bytes: 4 words per channel */
#define DC_PL080_WINDOW 0x1000u
#define DC_PL080_RUN_MAX 4096u
/* Where the arm-soc platform puts it: this offset into the device window, this line. */
#define DC_PL080_MMIO_OFFSET UINT64_C(0x0FF00000)
#define DC_PL080_IRQ 20

/* Register offsets (ARM DDI 0196, table 3-1). */
#define DC_PL080_INT_STATUS 0x000
#define DC_PL080_INT_TC_STATUS 0x004
#define DC_PL080_INT_TC_CLEAR 0x008
#define DC_PL080_INT_ERR_STATUS 0x00C
#define DC_PL080_INT_ERR_CLEAR 0x010
#define DC_PL080_RAW_TC_STATUS 0x014
#define DC_PL080_RAW_ERR_STATUS 0x018
#define DC_PL080_ENBLD_CHNS 0x01C
#define DC_PL080_SOFT_BREQ 0x020
#define DC_PL080_SOFT_SREQ 0x024
#define DC_PL080_SOFT_LBREQ 0x028
#define DC_PL080_SOFT_LSREQ 0x02C
#define DC_PL080_CONFIG 0x030
#define DC_PL080_SYNC 0x034
#define DC_PL080_CH(n) (0x100u + (n)*0x20u)
#define DC_PL080_CH_SRC 0x00
#define DC_PL080_CH_DST 0x04
#define DC_PL080_CH_LLI 0x08
#define DC_PL080_CH_CONTROL 0x0C
#define DC_PL080_CH_CONFIG 0x10
#define DC_PL080_PERIPH_ID0 0xFE0
#define DC_PL080_CELL_ID0 0xFF0

/* DMACConfiguration */
#define DC_PL080_CFG_E 0x1u
/* DMACCxControl */
#define DC_PL080_CTL_SIZE_MASK 0xFFFu
#define DC_PL080_CTL_SBSIZE_SHIFT 12
#define DC_PL080_CTL_DBSIZE_SHIFT 15
#define DC_PL080_CTL_SWIDTH_SHIFT 18
#define DC_PL080_CTL_DWIDTH_SHIFT 21
#define DC_PL080_CTL_SI (1u << 26)
#define DC_PL080_CTL_DI (1u << 27)
#define DC_PL080_CTL_I (1u << 31)
#define DC_PL080_BSIZE_1 0u
#define DC_PL080_BSIZE_4 1u
#define DC_PL080_BSIZE_8 2u
#define DC_PL080_BSIZE_16 3u
#define DC_PL080_WIDTH_8 0u
#define DC_PL080_WIDTH_16 1u
#define DC_PL080_WIDTH_32 2u
/* DMACCxConfiguration */
#define DC_PL080_CCFG_E (1u << 0)
#define DC_PL080_CCFG_SRCPER_SHIFT 1
#define DC_PL080_CCFG_DSTPER_SHIFT 6
#define DC_PL080_CCFG_FLOW_SHIFT 11
#define DC_PL080_CCFG_IE (1u << 14)
#define DC_PL080_CCFG_ITC (1u << 15)
#define DC_PL080_CCFG_L (1u << 16)
#define DC_PL080_CCFG_A (1u << 17)
#define DC_PL080_CCFG_H (1u << 18)
#define DC_PL080_FLOW_M2M 0u
#define DC_PL080_FLOW_M2P 1u
#define DC_PL080_FLOW_P2M 2u

/* Creates the controller at MMIO address base (claims DC_PL080_WINDOW bytes of m's bus),
 * raising interrupt line irq, reset state.  DC_ERR_INVAL, DC_ERR_BUSY (window taken),
 * DC_ERR_NOMEM.  Destroy it before the machine. */
int dc_pl080_create(struct dc_machine *m, uint64_t base, unsigned irq, struct dc_pl080 **out);
void dc_pl080_destroy(struct dc_pl080 *d);
/* The controller decoding its window on this bus, or NULL (how the HAL finds it). */
struct dc_pl080 *dc_pl080_from_bus(const struct dc_bus *b);
uint64_t dc_pl080_base(const struct dc_pl080 *d);
unsigned dc_pl080_irq(const struct dc_pl080 *d);
/* Hardware reset: every register 0, FIFOs emptied, the interrupt line lowered. */
void dc_pl080_reset(struct dc_pl080 *d);

/* The peripheral on request line `line` (0-15).  DC_ERR_INVAL, DC_ERR_BUSY. */
int dc_pl080_attach(struct dc_pl080 *d, unsigned line, const struct dc_dma_client *c, void *opaque);
void dc_pl080_detach(struct dc_pl080 *d, unsigned line);
/* The peripheral asserts (true) or drops its request (DMACBREQ/DMACSREQ) on the line. */
void dc_pl080_request(struct dc_pl080 *d, unsigned line, bool level);
/* The peripheral answers a transfer with an error: the channel serving the line stops, its
 * FIFO is lost and its error interrupt is raised. */
void dc_pl080_error(struct dc_pl080 *d, unsigned line);
/* Runs the channels up to the current time (events already do; for a caller that changed the
 * clock by hand). */
void dc_pl080_sync(struct dc_pl080 *d);

/* A snapshot of a channel, for tests and tools. */
struct dc_pl080_chan_state {
	uint32_t src, dst, lli, control, config;
	uint32_t fifo;   /* bytes held in the FIFO */
	uint32_t left;   /* bytes of the current LLI still to come from the source */
	bool requesting; /* its peripheral's line (or a soft request) is asserted */
};
void dc_pl080_state(struct dc_pl080 *d, unsigned ch, struct dc_pl080_chan_state *out);

struct dc_pl080_stats {
	uint64_t src_bytes, dst_bytes; /* moved into / out of the FIFO */
	uint64_t llis;                 /* items loaded from memory */
	uint64_t tcs, errors;
	uint64_t drained_bytes;  /* FIFO bytes written by a halt */
	uint64_t lost_bytes;     /* FIFO bytes lost (E cleared while active, error) */
	uint64_t dropped_writes; /* channel registers written while the channel was enabled */
};
const struct dc_pl080_stats *dc_pl080_stats(const struct dc_pl080 *d, unsigned ch);

#endif
