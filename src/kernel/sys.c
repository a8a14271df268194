/* The system: assembly of the machine and its PC hardware, devices, simulated time as the
 * kernel sees it (interrupt and DPC delivery by IRQL), and the application's side of I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dmacoh/driver.h"
#include "hw/dev_bmblk.h"
#include "hw/dev_fdc.h"
#include "hw/dev_pio.h"
#include "hw/dev_ring.h"
#include "hw/dev_sb16.h"
#include "hw/dev_sysblk.h"
#include "kernel.h"

_Thread_local struct dc_sys *dc_sys_cur;

struct dc_sys *dc_k(void)
{
	struct dc_sys *s = dc_sys_cur;
	if (!s)
		dc_assert_fail("a wdm.h routine was called with no dmacoh system current", __FILE__,
		               __LINE__, __func__);
	return s;
}

struct dc_sys *dc_sys_current(void)
{
	return dc_sys_cur;
}

struct dc_machine *dc_sys_machine(struct dc_sys *s)
{
	return s->m;
}

uint64_t dc_sys_now(const struct dc_sys *s)
{
	return s->m->clock.now;
}

void dc_kev_emit(struct dc_sys *s, struct dc_kev *e)
{
	struct dc_machine *m = s->m;
	e->time = m->clock.now;
	for (unsigned i = 0; i < m->n_obs; i++)
		if (m->obs[i]->kev)
			m->obs[i]->kev(m->obs_opaque[i], e);
}

void dc_kbugcheck(struct dc_sys *s, ULONG code, const char *what, const void *pc)
{
	s->bugchecks++;
	struct dc_kev e = {.type = DC_KEV_CRASH, .routine = what, .pc = pc, .status = code};
	dc_kev_emit(s, &e);
}

void dc_irql_require(struct dc_sys *s, const char *routine, KIRQL lo, KIRQL hi, const void *pc)
{
	if (pc && s->irql_judged == pc) {
		s->irql_judged = NULL;
		return;
	}
	if (s->irql >= lo && s->irql <= hi)
		return;
	struct dc_kev e = {.type = DC_KEV_IRQL,
	                   .routine = routine,
	                   .pc = pc,
	                   .irql = s->irql,
	                   .irql_min = lo,
	                   .irql_max = hi};
	dc_kev_emit(s, &e);
}

/* --- Creation ----------------------------------------------------------------------------- */

static void uva_trap(void *opaque, const void *va, uint64_t len, bool write, const void *pc)
{
	(void)len, (void)write;
	struct dc_sys *s = opaque;
	struct dc_kev e = {.type = DC_KEV_BAD_ACCESS,
	                   .routine = "the MDL's user address (MmGetMdlVirtualAddress), which is "
	                              "valid only in the requesting process",
	                   .pc = pc,
	                   .va = va};
	dc_kev_emit(s, &e);
}

int dc_sys_create(const struct dc_platform *p, struct dc_sys **out)
{
	*out = NULL;
	struct dc_sys *s = calloc(1, sizeof(*s));
	if (!s)
		return DC_ERR_NOMEM;
	int err = dc_machine_create(p, &s->m);
	if (err)
		goto fail;
	InitializeListHead(&s->dpcs);
	s->iospace = mmap(NULL, DC_IOSPACE_SIZE, PROT_NONE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	/* The user alias holds nothing of the buffers and is reserved inaccessible: a driver that
	 * dereferences it is reported by the hooks, which then enable the page it touched. */
	s->uva = mmap(NULL, s->m->mem.va_size, PROT_NONE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->iospace == MAP_FAILED || s->uva == MAP_FAILED) {
		if (s->iospace == MAP_FAILED)
			s->iospace = NULL;
		if (s->uva == MAP_FAILED)
			s->uva = NULL;
		err = DC_ERR_NOMEM;
		goto fail;
	}
	if ((err = dc_i8237_create(s->m, NULL, &s->dma)) ||
	    (err = dc_bridge_create(s->m, s->m->plat.bridge_posted, &s->br)) ||
	    (err = dc_pool_create(s)) || (err = dc_io_create_bus(s)) || (err = dc_threads_init(s)))
		goto fail;
	dc_bridge_set_check(s->br, dc_dma_bridge_check, s);
	dc_machine_set_trap(s->m, s->uva, s->m->mem.va_size, uva_trap, s);
	dc_irq_set_sink(&s->m->irq, dc_irq_sink, s);
	dc_machine_set_current(s->m);
	dc_sys_cur = s;
	*out = s;
	return DC_OK;
fail:
	dc_sys_destroy(s);
	return err;
}

void dc_sys_destroy(struct dc_sys *s)
{
	if (!s)
		return;
	dc_sys_cur = s;
	for (unsigned i = s->n_devs; i-- > 0;)
		if (s->devs[i]->started)
			dc_sys_remove_device(s, s->devs[i], NULL);
	for (unsigned i = s->n_drvs; i-- > 0;)
		if (!s->drvs[i]->unloaded)
			dc_sys_unload(s, s->drvs[i]);
	dc_dma_destroy_all(s);
	for (unsigned i = 0; i < s->n_drvs; i++) {
		struct dc_driver *drv = s->drvs[i];
		free(drv->ext);
		free(drv->obj);
		free(drv);
	}
	for (unsigned i = 0; i < s->n_devs; i++) {
		struct dc_sysdev *d = s->devs[i];
		dc_io_delete_pdo(s, d);
		if (d->dev.ops && d->dev.ops->destroy)
			d->dev.ops->destroy(d->dev.opaque);
		free(d);
	}
	dc_io_destroy_bus(s);
	dc_threads_fini(s);
	if (s->br)
		dc_bridge_destroy(s->br);
	if (s->dma)
		dc_i8237_destroy(s->dma);
	dc_pool_destroy(s);
	if (s->uva)
		munmap(s->uva, s->m->mem.va_size);
	if (s->m) {
		if (dc_machine_current() == s->m)
			dc_machine_set_current(NULL);
		dc_machine_destroy(s->m);
	}
	if (s->iospace)
		munmap(s->iospace, DC_IOSPACE_SIZE);
	if (dc_sys_cur == s)
		dc_sys_cur = NULL;
	free(s->live_irps);
	free(s->live_mdls);
	free(s);
}

/* --- Devices ------------------------------------------------------------------------------ */

static const char *const device_names[] = {"sysblk", "bmblk", "ring", "pio", "fdc", "sb16", NULL};

const char *const *dc_sys_device_names(void)
{
	return device_names;
}

static unsigned count_kind(struct dc_sys *s, const char *kind)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->n_devs; i++)
		n += strcmp(s->devs[i]->kind, kind) == 0;
	return n;
}

/* The ISA IRQs a PC leaves free for add-in devices, in the order they are handed out. */
static int free_irq(struct dc_sys *s, int preferred)
{
	static const int order[] = {5, 7, 10, 11, 9, 12, 15, 3, 4};
	uint32_t used = 0;
	for (unsigned i = 0; i < s->n_devs; i++)
		if (s->devs[i]->dev.res.irq >= 0)
			used |= 1u << s->devs[i]->dev.res.irq;
	if (preferred >= 0 && !(used & (1u << preferred)))
		return preferred;
	for (size_t i = 0; i < DC_ARRAY_SIZE(order); i++)
		if (!(used & (1u << order[i])))
			return order[i];
	return -1;
}

int dc_sys_add_device(struct dc_sys *s, const char *name, const struct dc_sysdev_opts *o,
                      struct dc_sysdev **out)
{
	static const struct dc_sysdev_opts none;
	if (!o)
		o = &none;
	if (out)
		*out = NULL;
	if (s->n_devs == DC_SYS_MAX_DEVS)
		return DC_ERR_NOMEM;
	struct dc_sysdev *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->s = s;
	d->instance = count_kind(s, name);
	int err = DC_ERR_NOTFOUND;
	if (strcmp(name, "sysblk") == 0) {
		struct dc_sysblk_cfg c;
		dc_sysblk_cfg_default(&c);
		c.dma = s->dma;
		c.port_base += 0x10 * d->instance;
		if (o->dma_channel)
			c.dma_channel = (unsigned)o->dma_channel;
		if (o->capacity)
			c.sectors = o->capacity / DC_SYSBLK_SECTOR;
		if (o->latency_ns)
			c.latency_ns = o->latency_ns;
		c.irq = free_irq(s, c.irq);
		d->kind = "sysblk";
		err = dc_sysblk_create(s->m, &c, &d->dev);
	} else if (strcmp(name, "pio") == 0) {
		struct dc_pio_cfg c;
		dc_pio_cfg_default(&c);
		c.port_base += 0x20 * d->instance;
		if (o->capacity)
			c.size = o->capacity;
		if (o->latency_ns)
			c.latency_ns = o->latency_ns;
		c.irq = free_irq(s, c.irq);
		d->kind = "pio";
		err = dc_pio_create(s->m, &c, &d->dev);
	} else if (strcmp(name, "bmblk") == 0) {
		struct dc_bmblk_config c = {0};
		c.mmio_base = dc_mmio_window(s->m) + 0x1000u * d->instance;
		c.sectors = o->capacity / DC_BMBLK_SECTOR;
		c.addr_bits = o->addr_bits;
		c.max_sg = o->max_sg;
		c.latency_ns = o->latency_ns;
		c.irq = free_irq(s, -1);
		d->kind = "bmblk";
		err = dc_bmblk_create(s->m, s->br, &c, &d->dev);
		if (!err)
			d->bm = dc_bmblk_busmaster(d->dev.opaque);
	} else if (strcmp(name, "ring") == 0) {
		struct dc_ring_config c = {0};
		c.mmio_base = dc_mmio_window(s->m) + 0x10000u + 0x1000u * d->instance;
		c.addr_bits = o->addr_bits;
		c.irq = free_irq(s, -1);
		d->kind = "ring";
		err = dc_ring_create(s->m, s->br, &c, &d->dev);
		if (!err)
			d->bm = dc_ring_busmaster(d->dev.opaque);
	} else if (strcmp(name, "fdc") == 0) {
		/* The primary controller at 0x3F0 (IRQ 6, channel 2), a second one at 0x370, as on
		 * a PC; drive 0 holds a formatted 1.44 MB disk (capacity 737280: a 720 KB one). */
		struct dc_fdc_cfg c;
		dc_fdc_cfg_default(&c);
		c.dma = s->dma;
		if (d->instance > 1)
			err = DC_ERR_BUSY;
		else {
			c.port_base = d->instance ? 0x370 : 0x3F0;
			if (o->dma_channel)
				c.dma_channel = (unsigned)o->dma_channel;
			c.irq = free_irq(s, d->instance ? -1 : c.irq);
			d->kind = "fdc";
			enum dc_fdc_media media =
			    o->capacity == dc_fdc_media_size(DC_FDC_MEDIA_720K) ? DC_FDC_MEDIA_720K
			    : !o->capacity || o->capacity == dc_fdc_media_size(DC_FDC_MEDIA_1440K)
			        ? DC_FDC_MEDIA_1440K
			        : DC_FDC_MEDIA_NONE;
			err = media == DC_FDC_MEDIA_NONE ? DC_ERR_INVAL
			                                 : dc_fdc_create(s->m, &c, &d->dev);
			if (!err && (err = dc_fdc_insert(d->dev.opaque, 0, media, NULL)))
				d->dev.ops->destroy(d->dev.opaque);
		}
	} else if (strcmp(name, "sb16") == 0) {
		/* 0x220, IRQ 5, channels 1 and 5; a second card at 0x240 on channels 3 and 6. */
		struct dc_sb16_cfg c;
		dc_sb16_cfg_default(&c);
		c.dma = s->dma;
		if (d->instance > 1)
			err = DC_ERR_BUSY;
		else {
			c.port_base = 0x220u + 0x20u * d->instance;
			if (d->instance) {
				c.dma8 = 3;
				c.dma16 = 6;
			}
			if (o->dma_channel)
				c.dma8 = (unsigned)o->dma_channel;
			c.irq = free_irq(s, c.irq);
			d->kind = "sb16";
			err = dc_sb16_create(s->m, &c, &d->dev);
		}
	}
	if (err) {
		free(d);
		return err;
	}
	d->pdo = dc_io_create_pdo(s, d);
	if (!d->pdo) {
		d->dev.ops->destroy(d->dev.opaque);
		free(d);
		return DC_ERR_NOMEM;
	}
	s->devs[s->n_devs++] = d;
	if (out)
		*out = d;
	return DC_OK;
}

struct dc_device *dc_sysdev_device(struct dc_sysdev *d)
{
	return &d->dev;
}

PDEVICE_OBJECT dc_sysdev_pdo(struct dc_sysdev *d)
{
	return d->pdo;
}

/* --- Time, interrupts, DPCs ------------------------------------------------------------------- */

KIRQL dc_irql_raise(struct dc_sys *s, KIRQL to)
{
	KIRQL old = s->irql;
	if (to > s->irql)
		s->irql = to;
	return old;
}

void dc_irql_lower(struct dc_sys *s, KIRQL to)
{
	if (to < s->irql) {
		s->irql = to;
		dc_sys_deliver(s);
	}
}

/* The pending line of highest priority that may interrupt now, or -1. */
static int next_irq(struct dc_sys *s)
{
	for (unsigned l = 0; l < DC_IRQ_LINES; l++)
		if ((s->irq_pending >> l) & 1 && DC_DIRQL(l) > s->irql)
			return (int)l;
	return -1;
}

void dc_sys_deliver(struct dc_sys *s)
{
	/* Nested delivery (an ISR lowering the IRQL, a DPC advancing time) is allowed as on a
	 * real processor, but bounded so a driver loop cannot recurse without end. */
	if (s->delivering)
		return;
	s->delivering = true;
	for (;;) {
		int l = next_irq(s);
		if (l >= 0) {
			s->irq_pending &= ~(1u << l);
			dc_io_run_isrs(s, (unsigned)l);
			continue;
		}
		if (s->irql < DISPATCH_LEVEL && !IsListEmpty(&s->dpcs)) {
			PLIST_ENTRY le = RemoveHeadList(&s->dpcs);
			PKDPC dpc = CONTAINING_RECORD(le, KDPC, DpcListEntry);
			dc_cpu_ref(s->m, dpc, sizeof(*dpc), DC_ACC_WRITE, NULL);
			dpc->DpcData = NULL;
			KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
			s->delivering = false;
			struct dc_kev e = {.type = DC_KEV_DPC, .status = 1, .irql = s->irql};
			dc_kev_emit(s, &e);
			dpc->DeferredRoutine(dpc, dpc->DeferredContext, dpc->SystemArgument1,
			                     dpc->SystemArgument2);
			e = (struct dc_kev){.type = DC_KEV_DPC, .status = 0, .irql = s->irql};
			dc_kev_emit(s, &e);
			s->delivering = true;
			s->irql = old;
			continue;
		}
		break;
	}
	s->delivering = false;
}

void dc_irq_sink(void *opaque, unsigned line)
{
	struct dc_sys *s = opaque;
	s->irq_pending |= 1u << line;
}

void dc_sys_advance(struct dc_sys *s, uint64_t ns)
{
	struct dc_clock *c = &s->m->clock;
	uint64_t until = c->now + ns;
	while (dc_clock_next(c) <= until) {
		dc_clock_step(c);
		dc_sys_deliver(s);
	}
	if (c->now < until)
		c->now = until;
	dc_sys_deliver(s);
}

void dc_sys_run_for(struct dc_sys *s, uint64_t ns)
{
	dc_sys_cur = s;
	dc_sys_deliver(s);
	/* The application sleeps: system threads run meanwhile. */
	uint64_t now = s->m->clock.now;
	struct dc_kwait w = {.deadline = now + ns < now ? UINT64_MAX - 1 : now + ns};
	dc_sched_wait(s, &w);
}

/* --- The application's side ----------------------------------------------------------------- */

/* Application buffers: pages of the cached window; the first `offset` bytes of the first page
 * are not part of the buffer.  A small header in host memory remembers the mapping. */
struct dc_appbuf {
	struct dc_appbuf *next;
	uint8_t *base;
	uint64_t pages;
	void *buf;
};

static _Thread_local struct dc_appbuf *appbufs;

void *dc_sys_alloc_buffer(struct dc_sys *s, uint64_t len, uint32_t offset, enum dc_zone z)
{
	if (offset >= DC_PAGE_SIZE)
		return NULL;
	uint64_t pages = (offset + len + DC_PAGE_SIZE - 1) >> DC_PAGE_SHIFT;
	if (pages == 0)
		pages = 1;
	struct dc_appbuf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->base = dc_alloc_cached(s->m, pages, z, false);
	if (!b->base && z != DC_ZONE_ANY)
		b->base = dc_alloc_cached(s->m, pages, DC_ZONE_ANY, false);
	if (!b->base) {
		free(b);
		return NULL;
	}
	b->pages = pages;
	b->buf = b->base + offset;
	b->next = appbufs;
	appbufs = b;
	return b->buf;
}

void dc_sys_free_buffer(struct dc_sys *s, void *buf)
{
	for (struct dc_appbuf **pp = &appbufs; *pp; pp = &(*pp)->next) {
		struct dc_appbuf *b = *pp;
		if (b->buf != buf)
			continue;
		*pp = b->next;
		dc_free_cached(s->m, b->base, b->pages);
		free(b);
		return;
	}
}
