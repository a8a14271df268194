/* What every device model offers besides its registers: a name, the resources it decodes (as
 * the PnP manager would report them in IRP_MN_START_DEVICE), a backing store that workloads
 * verify transfers against end to end, and fault injection.  A model is a static const
 * dc_device_ops table plus an opaque state pointer; it moves data only through the machine's
 * DMA side (dc_dma_read/dc_dma_write) or its bus-master engine, never through host pointers. */
#ifndef DC_DEVICE_H
#define DC_DEVICE_H

#include "dmacoh/common.h"

struct dc_machine;

/* Hardware resources, raw = translated on this machine. */
struct dc_device_res {
	uint32_t port_base, port_len; /* I/O ports; len 0: none */
	uint64_t mmio_base, mmio_len; /* memory-mapped registers; len 0: none */
	int irq;                      /* interrupt line, -1: none */
	int dma_channel;              /* 8237 channel, -1: none */
	uint32_t dma_width;           /* 8 or 16 (system DMA) */
	bool has_dma2;                /* a second 8237 channel (a sound card's 16-bit one) */
	int dma_channel2;
	uint32_t dma_width2;
	bool bus_master, scatter_gather;
	uint32_t addr_bits; /* bits of memory address the device can drive */
	uint32_t max_sg;    /* scatter/gather elements per transfer (bus masters) */
};

enum dc_fault {
	DC_FAULT_NONE,
	DC_FAULT_TRANSFER_ERROR, /* the next transfer fails; the drain reports failure */
};
const char *dc_fault_name(enum dc_fault f);

struct dc_device_ops {
	const char *name; /* short, as on the command line: "sysblk", "bmblk", "ring", "pio" */
	const char *desc; /* one line */
	void (*reset)(void *opaque);
	void (*destroy)(void *opaque);
	/* The backing store (a disk's sectors, a NIC's wire log): byte-addressed. */
	uint64_t (*store_size)(void *opaque);
	int (*store_read)(void *opaque, uint64_t off, void *buf, uint64_t len);
	int (*store_write)(void *opaque, uint64_t off, const void *buf, uint64_t len);
	/* Arms a fault for the next transfer. */
	void (*inject_fault)(void *opaque, enum dc_fault f);
};

struct dc_device {
	const struct dc_device_ops *ops;
	void *opaque;
	struct dc_device_res res;
};

#endif
