/* Port and MMIO dispatch: short tables searched linearly, as TinyEMU does; devices are few and
 * the search is not on any hot path (data moves by DMA, not through registers). */
#include "bus.h"

void dc_bus_init(struct dc_bus *b)
{
	*b = (struct dc_bus){0};
}

static bool overlaps(const struct dc_io_range *r, unsigned n, uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (base < r[i].base + r[i].len && r[i].base < base + len)
			return true;
	return false;
}

static const struct dc_io_range *owner(const struct dc_io_range *r, unsigned n, uint64_t base,
                                       uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (base < r[i].base + r[i].len && r[i].base < base + len)
			return &r[i];
	return NULL;
}

const struct dc_io_range *dc_bus_port_owner(const struct dc_bus *b, uint64_t base, uint64_t len)
{
	return owner(b->port, b->n_port, base, len);
}

const struct dc_io_range *dc_bus_mmio_owner(const struct dc_bus *b, uint64_t base, uint64_t len)
{
	return owner(b->mmio, b->n_mmio, base, len);
}

static void drop(struct dc_io_range *r, unsigned *n, const void *opaque)
{
	unsigned k = 0;
	for (unsigned i = 0; i < *n; i++)
		if (r[i].opaque != opaque)
			r[k++] = r[i];
	*n = k;
}

void dc_bus_remove(struct dc_bus *b, const void *opaque)
{
	drop(b->port, &b->n_port, opaque);
	drop(b->mmio, &b->n_mmio, opaque);
}

static int add(struct dc_io_range *r, unsigned *n, uint64_t base, uint64_t len,
               const struct dc_io_ops *ops, void *opaque, const char *name)
{
	if (!len || !ops)
		return DC_ERR_INVAL;
	if (overlaps(r, *n, base, len))
		return DC_ERR_BUSY;
	if (*n == DC_BUS_MAX_RANGES)
		return DC_ERR_NOMEM;
	r[(*n)++] = (struct dc_io_range){base, len, ops, opaque, name};
	return DC_OK;
}

int dc_bus_add_ports(struct dc_bus *b, uint32_t base, uint32_t len, const struct dc_io_ops *ops,
                     void *opaque, const char *name)
{
	if ((uint64_t)base + len > 0x10000)
		return DC_ERR_RANGE;
	return add(b->port, &b->n_port, base, len, ops, opaque, name);
}

int dc_bus_add_mmio(struct dc_bus *b, uint64_t pa, uint64_t len, const struct dc_io_ops *ops,
                    void *opaque, const char *name)
{
	if (pa + len < pa)
		return DC_ERR_RANGE;
	return add(b->mmio, &b->n_mmio, pa, len, ops, opaque, name);
}

static const struct dc_io_range *find(const struct dc_io_range *r, unsigned n, uint64_t a)
{
	for (unsigned i = 0; i < n; i++)
		if (a - r[i].base < r[i].len)
			return &r[i];
	return NULL;
}

const struct dc_io_range *dc_bus_find_mmio(const struct dc_bus *b, uint64_t pa)
{
	return find(b->mmio, b->n_mmio, pa);
}

static uint32_t all_ones(unsigned size)
{
	return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

uint32_t dc_bus_port_read(struct dc_bus *b, uint32_t port, unsigned size)
{
	const struct dc_io_range *r = find(b->port, b->n_port, port);
	if (!r || !r->ops->read) {
		b->unclaimed_reads++;
		return all_ones(size);
	}
	return r->ops->read(r->opaque, port - r->base, size) & all_ones(size);
}

void dc_bus_port_write(struct dc_bus *b, uint32_t port, uint32_t val, unsigned size)
{
	const struct dc_io_range *r = find(b->port, b->n_port, port);
	if (!r || !r->ops->write) {
		b->unclaimed_writes++;
		return;
	}
	r->ops->write(r->opaque, port - r->base, val & all_ones(size), size);
}

uint32_t dc_bus_mmio_read(struct dc_bus *b, uint64_t pa, unsigned size)
{
	const struct dc_io_range *r = find(b->mmio, b->n_mmio, pa);
	if (!r || !r->ops->read) {
		b->unclaimed_reads++;
		return all_ones(size);
	}
	return r->ops->read(r->opaque, pa - r->base, size) & all_ones(size);
}

void dc_bus_mmio_write(struct dc_bus *b, uint64_t pa, uint32_t val, unsigned size)
{
	const struct dc_io_range *r = find(b->mmio, b->n_mmio, pa);
	if (!r || !r->ops->write) {
		b->unclaimed_writes++;
		return;
	}
	r->ops->write(r->opaque, pa - r->base, val & all_ones(size), size);
}
