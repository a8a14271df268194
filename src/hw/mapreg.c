/* Map registers and bounce pages: see mapreg.h for what is modelled.  The file is a flat array
 * searched linearly (a HAL gives an adapter tens of registers, not thousands), and every copy is
 * page-bounded, so each one is a single dc_cpu_read/dc_cpu_write. */
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "mapreg.h"

struct dc_mapreg_reg {
	struct dc_mapreg_entry e;
	bool allocated;  /* handed out by dc_mapreg_alloc */
	uint8_t *bounce; /* the bounce page in the uncached window, NULL until first needed */
	uint64_t bounce_pa;
};

struct dc_mapreg_file {
	struct dc_machine *m;
	uint32_t n, addr_bits;
	bool contiguous;
	uint64_t dma_page;  /* a system DMA controller's page (64/128 KiB), 0: none */
	uint8_t *contig_va; /* contiguous files: the run of n bounce pages */
	uint64_t contig_pa;
	uint32_t n_mapped;
	uint64_t next_run;
	struct dc_mapreg_stats st;
	struct dc_mapreg_reg r[];
};

/* True if a device driving addr_bits bits cannot reach the last byte of [pa, pa + len). */
static bool beyond(uint32_t addr_bits, uint64_t pa, uint64_t len)
{
	if (addr_bits >= 64)
		return false;
	return ((pa + len - 1) >> addr_bits) != 0;
}

/* n uncached pages below the device's limit, trying the zone just under the limit first so the
 * scarce ISA zone is used only by devices that need it.  Returns the window address. */
static uint8_t *alloc_below(struct dc_machine *m, uint32_t addr_bits, uint64_t n, uint64_t *pa)
{
	static const enum dc_zone order[] = {DC_ZONE_DMA32, DC_ZONE_ISA};
	for (size_t i = 0; i < DC_ARRAY_SIZE(order); i++) {
		if (order[i] == DC_ZONE_DMA32 && addr_bits <= 24)
			continue;
		uint8_t *va = dc_alloc_uncached(m, n, order[i]);
		if (!va)
			continue;
		uint64_t p = dc_va_to_pa(m, va);
		DC_ASSERT(p != DC_PA_INVALID);
		if (beyond(addr_bits, p, n * DC_PAGE_SIZE)) {
			dc_free_uncached(m, va, n);
			continue;
		}
		*pa = p;
		return va;
	}
	return NULL;
}

int dc_mapreg_pieces(const struct dc_machine *m, void *va, uint64_t len,
                     struct dc_mapreg_piece *out, uint32_t max)
{
	if (len == 0)
		return DC_ERR_INVAL;
	uint8_t *p = va;
	uint32_t n = 0;
	while (len) {
		uint64_t l = DC_MIN(len, DC_PAGE_SIZE - ((uintptr_t)p & DC_PAGE_MASK));
		uint64_t pa = dc_va_to_pa(m, p);
		if (pa == DC_PA_INVALID)
			return DC_ERR_INVAL;
		if (n == max)
			return DC_ERR_RANGE;
		out[n++] = (struct dc_mapreg_piece){.va = p, .pa = pa, .len = (uint32_t)l};
		p += l;
		len -= l;
	}
	return (int)n;
}

/* A contiguous run for a system DMA controller, which cannot cross a 64 KiB DMA page: when the
 * run fits in one, it is placed inside one (as a HAL allocates its ISA map buffers with a
 * 64 KiB boundary), and the pages skipped to get there go back to the free pool. */
static uint8_t *alloc_contig_below(struct dc_machine *m, uint32_t addr_bits, uint64_t n,
                                   uint64_t *pa)
{
	const uint64_t dma_page = 16; /* pages per 64 KiB */
	uint8_t *va = alloc_below(m, addr_bits, n, pa);
	if (!va || n > dma_page || (*pa >> 16) == ((*pa + n * DC_PAGE_SIZE - 1) >> 16))
		return va;
	/* Frames for contiguous runs are bump-allocated: the next run starts right after this
	 * one.  Pad up to the next 64 KiB boundary if the run would not fit before it. */
	uint64_t next = (*pa >> DC_PAGE_SHIFT) + n;
	uint64_t pad =
	    (next & (dma_page - 1)) + n > dma_page ? dma_page - (next & (dma_page - 1)) : 0;
	dc_free_uncached(m, va, n);
	uint64_t pad_pa;
	uint8_t *padva = pad ? alloc_below(m, addr_bits, pad, &pad_pa) : NULL;
	va = alloc_below(m, addr_bits, n, pa);
	if (padva)
		dc_free_uncached(m, padva, pad);
	return va;
}

int dc_mapreg_create(struct dc_machine *m, uint32_t n, uint32_t addr_bits, bool contiguous,
                     struct dc_mapreg_file **out)
{
	*out = NULL;
	if (m && n == 0)
		n = m->plat.map_registers;
	if (!m || n == 0 || addr_bits < DC_PAGE_SHIFT + 1 || addr_bits > 64)
		return DC_ERR_INVAL;
	struct dc_mapreg_file *f = calloc(1, sizeof(*f) + (size_t)n * sizeof(f->r[0]));
	if (!f)
		return DC_ERR_NOMEM;
	f->m = m;
	f->n = n;
	f->addr_bits = addr_bits;
	f->contiguous = contiguous;
	f->next_run = 1;
	for (uint32_t i = 0; i < n; i++)
		f->r[i].bounce_pa = DC_PA_INVALID;
	if (contiguous) {
		f->contig_va = alloc_contig_below(m, addr_bits, n, &f->contig_pa);
		if (!f->contig_va) {
			free(f);
			return DC_ERR_NOMEM;
		}
		for (uint32_t i = 0; i < n; i++) {
			f->r[i].bounce = f->contig_va + (uint64_t)i * DC_PAGE_SIZE;
			f->r[i].bounce_pa = f->contig_pa + (uint64_t)i * DC_PAGE_SIZE;
		}
	}
	*out = f;
	return DC_OK;
}

void dc_mapreg_destroy(struct dc_mapreg_file *f)
{
	if (!f)
		return;
	if (f->contiguous) {
		dc_free_uncached(f->m, f->contig_va, f->n);
	} else {
		for (uint32_t i = 0; i < f->n; i++)
			if (f->r[i].bounce)
				dc_free_uncached(f->m, f->r[i].bounce, 1);
	}
	free(f);
}

void dc_mapreg_set_dma_page(struct dc_mapreg_file *f, uint64_t bytes)
{
	f->dma_page = bytes;
}

uint32_t dc_mapreg_count(const struct dc_mapreg_file *f)
{
	return f->n;
}

uint32_t dc_mapreg_addr_bits(const struct dc_mapreg_file *f)
{
	return f->addr_bits;
}

const struct dc_mapreg_stats *dc_mapreg_stats(const struct dc_mapreg_file *f)
{
	return &f->st;
}

int dc_mapreg_alloc(struct dc_mapreg_file *f, uint32_t n)
{
	if (n == 0)
		return DC_ERR_INVAL;
	if (n > f->n)
		return DC_ERR_RANGE;
	uint32_t run = 0;
	for (uint32_t i = 0; i < f->n; i++) {
		run = f->r[i].allocated ? 0 : run + 1;
		if (run == n) {
			uint32_t first = i + 1 - n;
			for (uint32_t k = first; k <= i; k++)
				f->r[k].allocated = true;
			return (int)first;
		}
	}
	return DC_ERR_BUSY;
}

static void unmap_one(struct dc_mapreg_file *f, struct dc_mapreg_reg *r)
{
	if (!r->e.mapped)
		return;
	DC_ASSERT(f->n_mapped > 0);
	f->n_mapped--;
	r->e = (struct dc_mapreg_entry){0};
}

int dc_mapreg_free(struct dc_mapreg_file *f, uint32_t first, uint32_t n)
{
	if (n == 0 || first >= f->n || n > f->n - first)
		return DC_ERR_INVAL;
	for (uint32_t i = first; i < first + n; i++)
		if (!f->r[i].allocated)
			return DC_ERR_INVAL;
	for (uint32_t i = first; i < first + n; i++) {
		unmap_one(f, &f->r[i]);
		f->r[i].allocated = false;
	}
	return DC_OK;
}

/* True if the pieces form one physical run the device can reach: no bounce needed even for a
 * controller that only takes one (address, length), and for a system DMA controller the run
 * stays inside one DMA page (its address counter does not carry into the page register). */
static bool one_direct_run(const struct dc_mapreg_file *f, const struct dc_mapreg_piece *p,
                           uint32_t n)
{
	if (f->dma_page && n &&
	    p[0].pa / f->dma_page != (p[n - 1].pa + p[n - 1].len - 1) / f->dma_page)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (beyond(f->addr_bits, p[i].pa, p[i].len))
			return false;
		if (i + 1 < n && p[i].pa + p[i].len != p[i + 1].pa)
			return false;
	}
	return true;
}

int dc_mapreg_map(struct dc_mapreg_file *f, uint32_t first, const struct dc_mapreg_piece *pieces,
                  uint32_t n, enum dc_dir dir, uint64_t *logical)
{
	int err = DC_OK;
	if (n == 0 || first >= f->n || n > f->n - first) {
		err = n == 0 ? DC_ERR_INVAL : DC_ERR_RANGE;
		goto refuse;
	}
	/* Validate everything first: on error nothing is mapped or copied. */
	bool bounce_all = f->contiguous && !one_direct_run(f, pieces, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct dc_mapreg_piece *p = &pieces[i];
		if (f->r[first + i].e.mapped) {
			err = DC_ERR_BUSY;
			goto refuse;
		}
		if (p->len == 0 || (p->pa & DC_PAGE_MASK) + p->len > DC_PAGE_SIZE) {
			err = DC_ERR_INVAL;
			goto refuse;
		}
		if (p->va && dc_va_to_pa(f->m, p->va) != p->pa) {
			err = DC_ERR_INVAL;
			goto refuse;
		}
		if ((bounce_all || beyond(f->addr_bits, p->pa, p->len)) && !p->va) {
			err = DC_ERR_INVAL;
			goto refuse;
		}
	}
	/* Bounce pages of a non-contiguous file are allocated lazily and kept; allocate them all
	 * before loading any register so that DC_ERR_NOMEM leaves no register half loaded. */
	for (uint32_t i = 0; i < n; i++) {
		struct dc_mapreg_reg *r = &f->r[first + i];
		if (r->bounce || !(bounce_all || beyond(f->addr_bits, pieces[i].pa, pieces[i].len)))
			continue;
		r->bounce = alloc_below(f->m, f->addr_bits, 1, &r->bounce_pa);
		if (!r->bounce) {
			err = DC_ERR_NOMEM;
			goto refuse;
		}
	}
	uint64_t run = f->next_run++;
	for (uint32_t i = 0; i < n; i++) {
		const struct dc_mapreg_piece *p = &pieces[i];
		struct dc_mapreg_reg *r = &f->r[first + i];
		bool bounce = bounce_all || beyond(f->addr_bits, p->pa, p->len);
		uint64_t off = p->pa & DC_PAGE_MASK;
		r->e = (struct dc_mapreg_entry){
		    .mapped = true,
		    .bounced = bounce,
		    .dir = dir,
		    .len = p->len,
		    .va = p->va,
		    .pa = p->pa,
		    .logical = bounce ? r->bounce_pa + off : p->pa,
		    .run = run,
		};
		f->n_mapped++;
		f->st.pieces++;
		if (bounce) {
			f->st.bounces++;
			/* The HAL copies with the CPU: the caller's bytes may be dirty in the
			 * cache. */
			if (dir == DC_DIR_TO_DEVICE) {
				dc_cpu_read(f->m, p->va, r->bounce + off, p->len);
				f->st.bytes_bounced += p->len;
			}
		}
		if (logical)
			logical[i] = r->e.logical;
	}
	f->st.maps++;
	return DC_OK;
refuse:
	f->st.refused++;
	return err;
}

int64_t dc_mapreg_drain(struct dc_mapreg_file *f, uint32_t first, uint32_t n)
{
	int64_t copied = 0;
	f->st.drains++;
	for (uint32_t i = first; i < f->n && i - first < n; i++) {
		struct dc_mapreg_reg *r = &f->r[i];
		if (!r->e.mapped)
			continue;
		if (r->e.bounced && r->e.dir == DC_DIR_FROM_DEVICE) {
			dc_cpu_write(f->m, r->e.va, r->bounce + (r->e.pa & DC_PAGE_MASK), r->e.len);
			copied += r->e.len;
			f->st.bytes_bounced += r->e.len;
		}
		unmap_one(f, r);
	}
	return copied;
}

void dc_mapreg_discard(struct dc_mapreg_file *f, uint32_t first, uint32_t n)
{
	for (uint32_t i = first; i < f->n && i - first < n; i++)
		unmap_one(f, &f->r[i]);
}

/* The mapped register whose logical piece holds x, or -1. */
static int64_t find(const struct dc_mapreg_file *f, uint64_t x)
{
	uint32_t seen = 0;
	for (uint32_t i = 0; i < f->n && seen < f->n_mapped; i++) {
		const struct dc_mapreg_entry *e = &f->r[i].e;
		if (!e->mapped)
			continue;
		seen++;
		if (x - e->logical < e->len)
			return i;
	}
	return -1;
}

bool dc_mapreg_lookup(const struct dc_mapreg_file *f, uint64_t logical, uint64_t len,
                      struct dc_mapreg_hit *hit)
{
	struct dc_mapreg_hit h = {.reg = UINT32_MAX, .pa = DC_PA_INVALID};
	uint64_t x = logical, end = logical + len;
	if (end < logical)
		end = UINT64_MAX;
	while (x < end) {
		int64_t i = find(f, x);
		if (i < 0)
			break;
		const struct dc_mapreg_entry *e = &f->r[i].e;
		if (h.reg == UINT32_MAX) {
			h.reg = (uint32_t)i;
			h.dir = e->dir;
			h.pa = e->pa + (x - e->logical);
		}
		h.nregs++;
		uint64_t piece_end = e->logical + e->len;
		uint64_t upto = DC_MIN(end, piece_end);
		h.covered += upto - x;
		x = upto;
	}
	if (hit)
		*hit = h;
	return len > 0 && h.covered == len;
}

const struct dc_mapreg_entry *dc_mapreg_entry(const struct dc_mapreg_file *f, uint32_t i)
{
	DC_ASSERT(i < f->n);
	return &f->r[i].e;
}

uint64_t dc_mapreg_bounce_pa(const struct dc_mapreg_file *f, uint32_t i)
{
	DC_ASSERT(i < f->n);
	return f->r[i].bounce_pa;
}
