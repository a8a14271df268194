/* bmblk: a bus-master scatter/gather block device behind the host bridge (docs/devices/bmblk.md).
 *
 * The driver programs, through memory-mapped registers, a starting sector, a sector count and an
 * internal table of up to max_sg (logical address, length) elements, then rings the doorbell
 * for a read (disk to memory) or a write (memory to disk).  The device's bus-master engine moves
 * the 512-byte sectors at plat.bm_bw; its writes to memory are posted in the host bridge, so they
 * reach memory on FlushAdapterBuffers (dc_busmaster_drain), on any read of one of its registers
 * (PCI ordering), or when the bridge's buffer is full — not when the interrupt is raised.  The
 * interrupt is level-triggered: asserted while INT_STATUS & INT_MASK is non-zero.
 *
 * Registers live in a window beyond physical memory: by default at dc_mmio_window(m) (60 GiB, or
 * the first GiB boundary at or above plat.phys_size if memory is larger); several instances need
 * distinct bases, by convention the window + 0x1000 * instance.
 *
 * Deliberately not modelled: command queueing (one command at a time), seek time, partial-sector
 * transfers, PCI configuration space (resources are fixed at creation). */
#ifndef DC_DEVICES_BMBLK_H
#define DC_DEVICES_BMBLK_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_bridge;
struct dc_busmaster;

#define DC_BMBLK_MMIO_LEN 0x1000u
#define DC_BMBLK_SECTOR 512u
#define DC_BMBLK_MAX_SG 64u
#define DC_BMBLK_ID 0x4B424D42u /* "BMBK" in little-endian bytes */

/* Register offsets (32 bits each). */
enum dc_bmblk_reg {
	DC_BMBLK_REG_ID = 0x00,
	DC_BMBLK_REG_CAPS = 0x04, /* [7:0] max_sg, [15:8] addr_bits */
	DC_BMBLK_REG_CTRL = 0x08,
	DC_BMBLK_REG_STATUS = 0x0C,
	DC_BMBLK_REG_INT_STATUS = 0x10,
	DC_BMBLK_REG_INT_MASK = 0x14,
	DC_BMBLK_REG_LBA_LO = 0x18,
	DC_BMBLK_REG_LBA_HI = 0x1C,
	DC_BMBLK_REG_SECTOR_COUNT = 0x20,
	DC_BMBLK_REG_SG_COUNT = 0x24,
	DC_BMBLK_REG_DOORBELL = 0x28,
	DC_BMBLK_REG_ERROR = 0x2C,
	DC_BMBLK_REG_CAPACITY_LO = 0x30,
	DC_BMBLK_REG_CAPACITY_HI = 0x34,
	DC_BMBLK_REG_BYTES_DONE = 0x38,
	DC_BMBLK_REG_SG_BASE = 0x100, /* element i: +16*i: ADDR_LO, ADDR_HI, LEN, reserved */
};

#define DC_BMBLK_CTRL_RESET 0x1u
#define DC_BMBLK_STATUS_BUSY 0x1u
#define DC_BMBLK_STATUS_ERROR 0x2u
#define DC_BMBLK_STATUS_DONE 0x4u
#define DC_BMBLK_INT_DONE 0x1u
#define DC_BMBLK_INT_ERROR 0x2u

enum dc_bmblk_cmd {
	DC_BMBLK_CMD_NONE = 0,
	DC_BMBLK_CMD_READ = 1,  /* disk -> memory */
	DC_BMBLK_CMD_WRITE = 2, /* memory -> disk */
	DC_BMBLK_CMD_COUNT
};
const char *dc_bmblk_cmd_name(enum dc_bmblk_cmd c);

/* Value of the ERROR register after a failed command. */
enum dc_bmblk_error {
	DC_BMBLK_ERR_NONE = 0,
	DC_BMBLK_ERR_BAD_CMD,   /* doorbell value is not a command */
	DC_BMBLK_ERR_BUSY,      /* doorbell while a command runs (that command goes on) */
	DC_BMBLK_ERR_BAD_RANGE, /* sector count 0 or past the capacity */
	DC_BMBLK_ERR_BAD_SG,    /* SG_COUNT 0 or > max_sg, or lengths do not sum to the count */
	DC_BMBLK_ERR_ABORT,     /* master abort: a memory read outside memory */
	DC_BMBLK_ERR_TRANSFER,  /* injected transfer error */
	DC_BMBLK_ERR_COUNT
};
const char *dc_bmblk_error_name(enum dc_bmblk_error e);

struct dc_bmblk_config {
	const char *name;    /* DMA source name; NULL: "bmblk" (must outlive the machine) */
	uint64_t mmio_base;  /* 0: dc_mmio_window(m) */
	uint64_t sectors;    /* capacity; 0: 2048 (1 MiB) */
	uint32_t addr_bits;  /* 32 or 64; 0: plat.bm_addr_bits */
	uint32_t max_sg;     /* 1..DC_BMBLK_MAX_SG; 0: 32 */
	int irq;             /* interrupt line, -1: none (msi: the first vector's line) */
	bool msi;            /* message-signalled (the bmblk-msi model): 2 messages */
	uint64_t bw;         /* bytes/s; 0: plat.bm_bw */
	uint64_t latency_ns; /* from doorbell to the first byte moving */
};

/* Creates the device, claims its registers on m's bus and registers its DMA source.  dev gets
 * ops, opaque and res.  DC_ERR_INVAL (bad config), DC_ERR_RANGE (window inside memory),
 * DC_ERR_BUSY (window taken), DC_ERR_NOMEM.  Destroy with dc_device_detach(dev) (before the
 * machine): it gives the register window back. */
/* The model (devices/builtin.c lists it); dc_<name>_create is dc_device_attach of it with
 * this configuration. */
extern const struct dc_device_model dc_bmblk_model;
extern const struct dc_device_model dc_bmblk_msi_model; /* MSI: messages below */
#define DC_BMBLK_MSI_DONE 0u                            /* a command completed */
#define DC_BMBLK_MSI_ERROR 1u /* a command failed (INT_ERROR and INT_DONE) */

int dc_bmblk_create(struct dc_machine *m, struct dc_bridge *br, const struct dc_bmblk_config *cfg,
                    struct dc_device *dev);

/* The device's engine: the kernel's FlushAdapterBuffers drains with dc_busmaster_drain(). */
struct dc_busmaster *dc_bmblk_busmaster(void *opaque);

struct dc_bmblk_stats {
	uint64_t reads, writes, errors, bytes, rejected_doorbells;
	uint64_t bad_accesses; /* register accesses of a size other than 4, or unaligned writes */
};
const struct dc_bmblk_stats *dc_bmblk_stats(void *opaque);

#endif
