/* The I/O port space (16-bit, as on a PC) and the memory-mapped register space, each a short
 * table of claimed ranges searched linearly (devices are few).  A read of an unclaimed port or
 * register returns all ones, as an open ISA/PCI bus does; a write is dropped.  Both are counted,
 * so a test can tell a driver poked at nothing. */
#ifndef DC_BUS_H
#define DC_BUS_H

#include "dmacoh/common.h"

struct dc_io_ops {
	/* off is relative to the range base; size is 1, 2 or 4. */
	uint32_t (*read)(void *opaque, uint64_t off, unsigned size);
	void (*write)(void *opaque, uint64_t off, uint32_t val, unsigned size);
};

struct dc_io_range {
	uint64_t base, len;
	const struct dc_io_ops *ops;
	void *opaque;
	const char *name;
};

#define DC_BUS_MAX_RANGES 64

struct dc_bus {
	struct dc_io_range port[DC_BUS_MAX_RANGES];
	unsigned n_port;
	struct dc_io_range mmio[DC_BUS_MAX_RANGES];
	unsigned n_mmio;
	uint64_t unclaimed_reads, unclaimed_writes;
};

void dc_bus_init(struct dc_bus *b);
/* Claims [base, base + len).  DC_ERR_BUSY if it overlaps a claimed range, DC_ERR_NOMEM if
 * the table is full, DC_ERR_RANGE if a port range passes 0xFFFF. */
int dc_bus_add_ports(struct dc_bus *b, uint32_t base, uint32_t len, const struct dc_io_ops *ops,
                     void *opaque, const char *name);
int dc_bus_add_mmio(struct dc_bus *b, uint64_t pa, uint64_t len, const struct dc_io_ops *ops,
                    void *opaque, const char *name);
/* The first claimed range overlapping [base, base + len), or NULL (to name who holds it). */
const struct dc_io_range *dc_bus_port_owner(const struct dc_bus *b, uint64_t base, uint64_t len);
const struct dc_io_range *dc_bus_mmio_owner(const struct dc_bus *b, uint64_t base, uint64_t len);
/* Gives back every range claimed with this opaque (a device going away). */
void dc_bus_remove(struct dc_bus *b, const void *opaque);
/* The range claiming mmio address pa, or NULL. */
const struct dc_io_range *dc_bus_find_mmio(const struct dc_bus *b, uint64_t pa);

uint32_t dc_bus_port_read(struct dc_bus *b, uint32_t port, unsigned size);
void dc_bus_port_write(struct dc_bus *b, uint32_t port, uint32_t val, unsigned size);
uint32_t dc_bus_mmio_read(struct dc_bus *b, uint64_t pa, unsigned size);
void dc_bus_mmio_write(struct dc_bus *b, uint64_t pa, uint32_t val, unsigned size);

#endif
