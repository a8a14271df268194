/* The sanitizer as an observer (check.h): CPU accesses, device accesses, cache events and
 * kernel events update the contract shadow and are judged against it.
 *
 * Contract state (judged, platform-independent):
 *  - W (bytes): the CPU wrote them since the last flush covering them.  Set by every cached CPU
 *    write (the HAL's and the application's too: pc NULL); cleared by KeFlushIoBuffers over
 *    the line and by FlushAdapterBuffers/PutScatterGatherList of a device-to-memory transfer
 *    (the HAL invalidates, DESIGN §3.4).
 *  - T (lines): the CPU touched them since the last such flush, so they may be cached.
 *  - open transfers: MapTransfer/GetScatterGatherList until the FlushAdapterBuffers/
 *    PutScatterGatherList that names them (the kernel's xfer id), with their exact bytes; each
 *    snapshots at map time which of its lines were dirty (to-device) or touched (from-device),
 *    so that what the CPU does during the transfer is C03/C05's, not C01/C02's.
 *  - D (bytes): the device wrote them (cache-enabled common buffers) since the CPU last
 *    synchronised them (KeFlushIoBuffers) or overwrote them.
 *  - PW (lines): driver code wrote them since the IRP was sent / since KeFlushIoBuffers(Mdl,
 *    TRUE, ...) (C06).
 * Device accesses are judged when the device issues them (DC_KEV_DEVICE_ACCESS, by logical
 * address); for a DMA source that never issues that event, when the machine reports its memory
 * access (the `dma` event, by physical address).
 *
 * Real state (for `manifested` only): what the cache model holds, read through dc_cache_probe
 * and the windows (never changed), and the cache events: a line cached when the device wrote
 * under it is *stale*; its write-back, or a CPU read of it, is a manifestation.  Accesses with
 * pc == NULL (the HAL's bounce copies, the application) are never blamed.
 *
 * This file: the finding template and record look-ups the others share, the observer table
 * and the checker's life cycle.  xfer.c holds transfers and judging, kev.c the kernel events. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"

int dc_chk_grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

uint64_t dc_check_show_va(const struct dc_check *c, const void *va)
{
	const struct dc_mem *mem = &c->m->mem;
	if (dc_mem_in_cached(mem, va))
		return DC_CHECK_CACHED_BASE + (uint64_t)((const uint8_t *)va - mem->cwin);
	if (dc_mem_in_uncached(mem, va))
		return DC_CHECK_UNCACHED_BASE + (uint64_t)((const uint8_t *)va - mem->phys);
	return 0;
}

static uint64_t show_pa(const struct dc_check *c, uint64_t pa)
{
	const uint8_t *va = dc_mem_pa_to_cached(&c->m->mem, pa);
	return va ? dc_check_show_va(c, va) : 0;
}

unsigned dc_chk_dev_no(struct dc_check *c, const void *dev)
{
	if (!dev)
		return 0;
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i] == dev)
			return (unsigned)i + 1;
	if (!GROW(c->devs, c->n_devs, c->cap_devs))
		return 0;
	c->devs[c->n_devs++] = dev;
	return (unsigned)c->n_devs;
}

/* A finding template with the common fields set. */
struct dc_finding dc_chk_fnd(enum dc_rule r, const void *pc, uint64_t time)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = r;
	f.severity = dc_rule_info(r)->severity;
	f.pc = pc;
	f.time = time;
	f.pa = DC_PA_INVALID;
	f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.count = 1;
	return f;
}

void dc_chk_site(struct dc_finding *f, const char *label, const void *pc, uint64_t time)
{
	if (f->n_sites < DC_FINDING_SITES)
		f->site[f->n_sites++] = (struct dc_site){label, pc, time};
}

void dc_chk_what(struct dc_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

void dc_chk_set_range(struct dc_check *c, struct dc_finding *f, const void *va, uint64_t pa,
                      uint64_t logical, uint64_t len)
{
	f->va = va ? dc_check_show_va(c, va) : show_pa(c, pa);
	f->pa = pa;
	f->logical = logical;
	f->len = len;
}

/* --- Adapters, map register bases, common buffers, IRPs --------------------------------- */

struct dc_adapter *dc_chk_adapter_find(struct dc_check *c, const void *ptr)
{
	for (size_t i = 0; i < c->n_ad; i++)
		if (c->ad[i].ptr == ptr)
			return &c->ad[i];
	return NULL;
}

struct dc_mrb *dc_chk_mrb_find(struct dc_check *c, const void *adapter, const void *mrb)
{
	for (size_t i = 0; i < c->n_mrbs; i++)
		if (c->mrbs[i].adapter == adapter && c->mrbs[i].mrb == mrb)
			return &c->mrbs[i];
	return NULL;
}

struct dc_common *dc_chk_common_by_pa(struct dc_check *c, uint64_t pa, uint32_t *piece)
{
	for (size_t i = 0; i < c->n_cb; i++) {
		struct dc_common *b = &c->cb[i];
		if (b->freed)
			continue;
		for (uint32_t k = 0; k < b->n_pieces; k++)
			if (pa - b->pieces[k].pa < b->pieces[k].len) {
				if (piece)
					*piece = k;
				return b;
			}
	}
	return NULL;
}

struct dc_irp *dc_chk_irp_find(struct dc_check *c, const void *irp)
{
	for (size_t i = 0; i < c->n_irps; i++)
		if (c->irps[i].irp == irp)
			return &c->irps[i];
	return NULL;
}

struct dc_kev_piece *dc_chk_copy_pieces(const struct dc_kev *e)
{
	if (!e->n_pieces || !e->pieces)
		return NULL;
	struct dc_kev_piece *p = malloc(e->n_pieces * sizeof(*p));
	if (p)
		memcpy(p, e->pieces, e->n_pieces * sizeof(*p));
	return p;
}

static void on_cpu_access(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                          bool cached, const void *pc)
{
	struct dc_check *c = opaque;
	if (pc && cached)
		dc_race_cpu_access(c, va, len, write, pc);
	dc_chk_on_cpu_access(opaque, va, pa, len, write, cached, pc);
}

static void on_kev(void *opaque, const struct dc_kev *e)
{
	dc_race_kev(opaque, e);
	dc_chk_on_kev(opaque, e);
}

static const struct dc_observer check_observer = {
    .cpu_access = on_cpu_access,
    .cache_fill = dc_chk_on_cache_fill,
    .cache_writeback = dc_chk_on_cache_writeback,
    .cache_gone = dc_chk_on_cache_gone,
    .cache_maint = dc_chk_on_cache_maint,
    .dma = dc_chk_on_dma,
    .kev = on_kev,
    .mem_fault = dc_memsafe_fault,
    .sync = dc_race_sync,
    .host_access = dc_race_host_access,
    .atomic = dc_race_atomic,
    .cpu_run = dc_chk_on_cpu_run,
};

/* --- Life cycle ------------------------------------------------------------------------------ */

int dc_check_create_err(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out,
                        char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!m || !out)
		return DC_ERR_INVAL;
	struct dc_check *c = calloc(1, sizeof(*c));
	if (!c)
		return DC_ERR_NOMEM;
	c->m = m;
	if (o)
		c->opts = *o;
	else
		dc_check_opts_init(&c->opts);
	c->ls = m->cache.line_shift;
	c->nl = c->ls >= DC_PAGE_SHIFT ? 1 : DC_PAGE_SIZE >> c->ls;
	c->phys_pages = m->mem.phys_size >> DC_PAGE_SHIFT;
	if (dc_shadow_init(c) < 0) {
		free(c);
		return DC_ERR_NOMEM;
	}
	if (dc_race_create(c) < 0) {
		dc_shadow_free(c);
		free(c);
		return DC_ERR_NOMEM;
	}
	if (c->opts.suppressions[0]) {
		int r = dc_supp_load(c, c->opts.suppressions, err, errlen);
		if (r < 0) {
			dc_check_destroy(c);
			return r;
		}
	}
	int r = dc_machine_add_observer(m, &check_observer, c);
	if (r < 0) {
		c->m = NULL;
		dc_check_destroy(c);
		if (err && errlen)
			snprintf(err, errlen, "dmacoh: the machine has no free observer slot");
		return DC_ERR_BUSY;
	}
	*out = c;
	return DC_OK;
}

int dc_check_create(struct dc_machine *m, const struct dc_check_opts *o, struct dc_check **out)
{
	return dc_check_create_err(m, o, out, NULL, 0);
}

void dc_check_destroy(struct dc_check *c)
{
	if (!c)
		return;
	if (c->m)
		dc_machine_remove_observer(c->m, &check_observer, c);
	for (size_t i = 0; i < c->n_xf; i++)
		dc_chk_xfer_free(c->xf[i]);
	free(c->xf);
	for (size_t i = 0; i < c->n_pool; i++)
		dc_chk_xfer_free(c->xf_pool[i]);
	free(c->xf_pool);
	for (size_t i = 0; i < c->n_cb; i++)
		free(c->cb[i].pieces);
	free(c->cb);
	for (size_t i = 0; i < c->n_irps; i++) {
		free(c->irps[i].pieces);
		free(c->irps[i].spans);
	}
	free(c->irps);
	free(c->ad);
	free(c->mrbs);
	free(c->ff);
	free(c->devs);
	dc_v3_free(c);
	dc_shadow_free(c);
	dc_findings_free(c);
	dc_supp_free(c);
	dc_sym_free(c);
	dc_memsafe_free(c);
	dc_race_free(c);
	free(c);
}
