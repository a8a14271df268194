/* The system: assembly of the machine and its PC hardware, devices, simulated time as the
 * kernel sees it (interrupt and DPC delivery by IRQL), and the application's side of I/O. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/builtin.h"
#include "dmacoh/driver.h"
#include "hw/bridge.h"
#include "dbgprint.h"
#include "kernel.h"
#include "obnames.h"
#include "win32.h"

_Thread_local struct dc_sys *dc_sys_cur;

struct dc_sys *dc_k(void)
{
	struct dc_sys *s = dc_sys_cur;
	if (!s)
		dc_assert_fail("a wdm.h routine was called with no dmacoh system current", __FILE__,
		               __LINE__, __func__);
	/* Every wdm.h routine passes here: a preemption point of the driver's code. */
	dc_sched_point(s);
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

/* Does [p, p + len) lie in the cached window over more than one line? */
static bool cached_lines(const struct dc_machine *m, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, sh = m->cache.line_shift;
	return len && dc_mem_in_cached(&m->mem, p) &&
	       dc_mem_in_cached(&m->mem, (const uint8_t *)p + len - 1) &&
	       a >> sh != (a + len - 1) >> sh;
}

void dc_kstore(struct dc_sys *s, void *p, const void *src, size_t len)
{
	if (cached_lines(s->m, p, len)) {
		dc_cpu_write(s->m, p, src, len);
		return;
	}
	dc_ktouch(s, p, len, true);
	memcpy(p, src, len);
}

void dc_kcopy(struct dc_sys *s, void *p, const void *src, size_t len)
{
	if (!cached_lines(s->m, src, len)) {
		dc_ktouch(s, src, len, false);
		dc_kstore(s, p, src, len);
		return;
	}
	/* A page at a time through a bounce of the host stack: the source's lines read while
	 * present, then the destination's stored as dc_kstore does. */
	uint8_t tmp[DC_PAGE_SIZE];
	for (size_t o = 0; o < len; o += sizeof(tmp)) {
		size_t n = DC_MIN(sizeof(tmp), len - o);
		dc_cpu_read(s->m, (const uint8_t *)src + o, tmp, n);
		dc_kstore(s, (uint8_t *)p + o, tmp, n);
	}
}

void dc_kev_emit(struct dc_sys *s, struct dc_kev *e)
{
	struct dc_machine *m = s->m;
	e->time = m->clock.now;
	dc_machine_obs_sync(m); /* CPU writes the hook's fast path gathered happened before */
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
	dc_mp_init(s);
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
	/* The platform's system DMA controller: the 8237 pair on a PC, a PL080 on arm-soc. */
	if (s->m->plat.sysdma_ctl == DC_SYSDMA_PL080)
		err = dc_pl080_create(s->m, dc_mmio_window(s->m) + DC_PL080_MMIO_OFFSET,
		                      DC_PL080_IRQ, &s->pl080);
	else
		err = dc_i8237_create(s->m, NULL, &s->dma);
	if (err || (err = dc_bridge_create(s->m, s->m->plat.bridge_posted, &s->br)) ||
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
	dc_w32_destroy(s);
	dc_ob_destroy(s);
	for (unsigned i = 0; i < s->n_drvs; i++) {
		struct dc_driver *drv = s->drvs[i];
		/* Device objects the driver never deleted go away with the system (their
		 * extensions are in the arena: dc_io_ext_fini). */
		for (PDEVICE_OBJECT dev = drv->obj ? drv->obj->DeviceObject : NULL, next; dev;
		     dev = next) {
			next = dev->NextDevice;
			free(dev);
		}
		free(drv->ext);
		free(drv->obj);
		free(drv);
	}
	for (unsigned i = 0; i < s->n_devs; i++) {
		struct dc_sysdev *d = s->devs[i];
		dc_io_delete_pdo(s, d);
		dc_device_detach(&d->dev);
		free(d);
	}
	dc_intr_fini(s);
	dc_io_ints_fini(s);
	dc_io_destroy_bus(s);
	dc_plumb_fini(s);
	dc_threads_fini(s);
	dc_mp_fini(s);
	dc_dbgprint_free(s);
	dc_reg_destroy(s->reg);
	if (s->br)
		dc_bridge_destroy(s->br);
	if (s->dma)
		dc_i8237_destroy(s->dma);
	if (s->pl080)
		dc_pl080_destroy(s->pl080);
	dc_io_ext_fini(s);
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

/* The device models this process knows: the built-ins, then the ones loaded from .so files
 * (kept loaded until exit: machines hold their names). */
#define MAX_MODELS 64
static const struct dc_device_model *models[MAX_MODELS];
static const char *model_paths[MAX_MODELS];
static const char *model_names[MAX_MODELS + 1];
static unsigned n_models;
static _Thread_local char dev_err[512];

static void models_init(void)
{
	if (n_models)
		return;
	for (unsigned i = 0; dc_builtin_models[i]; i++) {
		models[n_models] = dc_builtin_models[i];
		model_names[n_models++] = dc_builtin_models[i]->name;
	}
}

const char *const *dc_sys_device_names(void)
{
	models_init();
	return model_names;
}

const struct dc_device_model *dc_sys_device_model(const char *name)
{
	models_init();
	for (unsigned i = 0; i < n_models; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

const char *dc_sys_device_model_path(const struct dc_device_model *m)
{
	models_init();
	for (unsigned i = 0; i < n_models; i++)
		if (models[i] == m)
			return model_paths[i];
	return NULL;
}

const char *dc_sys_device_error(void)
{
	return dev_err;
}

int dc_sys_load_device_model(const char *path, const struct dc_device_model **out, char *err,
                             size_t errlen)
{
	models_init();
	if (out)
		*out = NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(err, errlen, "%s: not a loadable device model (%s)", path,
		         why ? why : "?");
		return DC_ERR_IO;
	}
	const struct dc_device_model *const *sym = dlsym(h, DMACOH_DEVICE_SYMBOL);
	if (!sym || !*sym) {
		snprintf(err, errlen,
		         "%s: not a device model (no %s symbol: build it with dmacoh-cc "
		         "--device-model and DMACOH_DEVICE_MODEL(...))",
		         path, DMACOH_DEVICE_SYMBOL);
		dlclose(h);
		return DC_ERR_INVAL;
	}
	const struct dc_device_model *m = *sym;
	for (unsigned i = 0; i < n_models; i++)
		if (models[i] == m) { /* the same file again */
			if (out)
				*out = m;
			return DC_OK;
		}
	char why[400];
	int rc = dc_device_model_check(m, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, why);
		dlclose(h);
		return rc;
	}
	const struct dc_device_model *o = dc_sys_device_model(m->name);
	if (o) {
		const char *op = dc_sys_device_model_path(o);
		snprintf(err, errlen, "%s: device model '%s' exists already (%s%s)", path, m->name,
		         op ? "loaded from " : "built in", op ? op : "");
		dlclose(h);
		return DC_ERR_BUSY;
	}
	if (n_models == MAX_MODELS) {
		snprintf(err, errlen, "%s: more than %u device models", path, MAX_MODELS);
		dlclose(h);
		return DC_ERR_NOMEM;
	}
	model_paths[n_models] = strdup(path);
	models[n_models] = m;
	model_names[n_models++] = m->name;
	if (out)
		*out = m;
	return DC_OK;
}

static unsigned count_model(struct dc_sys *s, const struct dc_device_model *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->n_devs; i++)
		n += s->devs[i]->dev.model == m;
	return n;
}

/* Lines taken: a device's line, or the lines of all its MSI vectors. */
static uint32_t used_irqs(struct dc_sys *s)
{
	uint32_t used = 0;
	for (unsigned i = 0; i < s->n_devs; i++) {
		const struct dc_device_res *r = &s->devs[i]->dev.res;
		unsigned n = r->irq_mode == DC_IRQ_MSI ? r->msi_messages : 1;
		if (r->irq >= 0)
			used |= (uint32_t)(((uint64_t)1 << n) - 1) << r->irq;
	}
	return used;
}

/* MSI vectors: an aligned block of n lines above the ISA ones (16-31), -1 if none is free. */
static int free_msi(struct dc_sys *s, unsigned n)
{
	uint32_t used = used_irqs(s), want = (uint32_t)(((uint64_t)1 << n) - 1);
	for (unsigned l = 16; l + n <= DC_IRQ_LINES; l += n)
		if (!(used & (want << l)))
			return (int)l;
	return -1;
}

/* The ISA IRQs a PC leaves free for add-in devices, in the order they are handed out. */
static int free_irq(struct dc_sys *s, int preferred)
{
	static const int order[] = {5, 7, 10, 11, 9, 12, 15, 3, 4};
	uint32_t used = used_irqs(s);
	if (preferred >= 0 && !(used & (1u << preferred)))
		return preferred;
	for (size_t i = 0; i < DC_ARRAY_SIZE(order); i++)
		if (!(used & (1u << order[i])))
			return order[i];
	return -1;
}

/* The resources instance n of a model asks for (its MMIO base still window-relative), or
 * false when the model has no room for an instance n. */
static bool instance_res(const struct dc_device_model *m, unsigned n, struct dc_device_res *r)
{
	if (m->max_instances && n >= m->max_instances)
		return false;
	if (n == 0) {
		*r = m->res;
		return true;
	}
	if (n <= m->n_more) {
		*r = m->more[n - 1];
		return true;
	}
	*r = m->n_more ? m->more[m->n_more - 1] : m->res;
	unsigned k = n - m->n_more;
	if ((r->port_len && !m->port_stride) || (r->mmio_len && !m->mmio_stride))
		return false;
	r->port_base += k * m->port_stride;
	r->mmio_base += k * m->mmio_stride;
	return true;
}

int dc_sys_add_device(struct dc_sys *s, const char *name, const struct dc_sysdev_opts *o,
                      struct dc_sysdev **out)
{
	static const struct dc_sysdev_opts none;
	if (!o)
		o = &none;
	if (out)
		*out = NULL;
	dev_err[0] = 0;
	const struct dc_device_model *model = dc_sys_device_model(name);
	if (!model)
		return snprintf(dev_err, sizeof(dev_err), "unknown device '%s'", name),
		       DC_ERR_NOTFOUND;
	if (s->n_devs == DC_SYS_MAX_DEVS)
		return DC_ERR_NOMEM;
	unsigned instance = count_model(s, model);
	struct dc_device_res r;
	if (!instance_res(model, instance, &r))
		return snprintf(dev_err, sizeof(dev_err), "%s: no room for device %u of this kind",
		                name, instance + 1),
		       DC_ERR_BUSY;
	if (r.mmio_len)
		r.mmio_base += dc_mmio_window(s->m);
	if (o->dma_channel && r.dma_channel >= 0)
		r.dma_channel = o->dma_channel;
	if (o->addr_bits)
		r.addr_bits = o->addr_bits;
	if (o->max_sg)
		r.max_sg = o->max_sg;
	r.irq = r.irq_mode == DC_IRQ_NONE  ? -1
	        : r.irq_mode == DC_IRQ_MSI ? free_msi(s, r.msi_messages)
	                                   : free_irq(s, r.irq);
	if (r.irq_mode == DC_IRQ_MSI && r.irq < 0)
		return snprintf(dev_err, sizeof(dev_err), "%s: no %u MSI vectors left", name,
		                r.msi_messages),
		       DC_ERR_BUSY;
	struct dc_sysdev *d = calloc(1, sizeof(*d));
	if (!d)
		return DC_ERR_NOMEM;
	d->s = s;
	d->instance = instance;
	d->kind = model->name;
	const struct dc_device_cfg cfg = {
	    .instance = instance, .capacity = o->capacity, .latency_ns = o->latency_ns};
	int err = dc_device_attach(s->m, s->br, model, &r, &cfg, &d->dev, dev_err, sizeof(dev_err));
	if (err) {
		const char *path = dc_sys_device_model_path(model);
		if (path) {
			char tmp[sizeof(dev_err)];
			snprintf(tmp, sizeof(tmp), "%s: %s", path, dev_err);
			snprintf(dev_err, sizeof(dev_err), "%s", tmp);
		}
		free(d);
		return err;
	}
	d->bm = dc_device_busmaster(&d->dev);
	d->pdo = dc_io_create_pdo(s, d);
	if (!d->pdo) {
		dc_device_detach(&d->dev);
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
	if (to < DISPATCH_LEVEL && s->irql >= DISPATCH_LEVEL)
		dc_ksync(s, DC_SYNC_LOWER, NULL, dc_machine_cpu(s->m));
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

/* Runs one DPC taken off the queue at DISPATCH_LEVEL on processor cpu. */
static void run_dpc(struct dc_sys *s, PKDPC dpc, uint32_t cpu)
{
	dc_cpu_ref(s->m, dpc, sizeof(*dpc), DC_ACC_WRITE, NULL);
	dpc->DpcData = NULL;
	KIRQL old = dc_irql_raise(s, DISPATCH_LEVEL);
	uint32_t prev = dc_mp_enter(s, cpu);
	s->delivering = false;
	struct dc_kev e = {.type = DC_KEV_DPC, .status = 1, .irql = s->irql};
	dc_kev_emit(s, &e);
	dc_ksync(s, DC_SYNC_ENTER, dpc, DC_CTX_DPC);
	dpc->DeferredRoutine(dpc, dpc->DeferredContext, dpc->SystemArgument1, dpc->SystemArgument2);
	dc_ksync(s, DC_SYNC_RELEASE, dpc, 0); /* dmacoh never runs a KDPC beside itself */
	dc_ksync(s, DC_SYNC_LEAVE, dpc, DC_CTX_DPC);
	e = (struct dc_kev){.type = DC_KEV_DPC, .status = 0, .irql = s->irql};
	dc_kev_emit(s, &e);
	s->delivering = true;
	dc_mp_enter(s, prev);
	s->irql = old;
}

/* The first DPC of processor cpu's queue (the DPCs queued whose Number is cpu), or NULL. */
static PKDPC dpc_of(struct dc_sys *s, uint32_t cpu)
{
	for (PLIST_ENTRY le = s->dpcs.Flink; le != &s->dpcs; le = le->Flink) {
		PKDPC d = CONTAINING_RECORD(le, KDPC, DpcListEntry);
		if (dc_mp_dpc_cpu(s, d) == cpu)
			return d;
	}
	return NULL;
}

void dc_sys_run_dpcs_of(struct dc_sys *s, uint32_t cpu)
{
	bool was = s->delivering;
	s->delivering = true;
	for (PKDPC d; (d = dpc_of(s, cpu));) {
		RemoveEntryList(&d->DpcListEntry);
		run_dpc(s, d, cpu);
	}
	s->delivering = was;
}

/* Under --schedule: each pending interrupt goes to a processor of its affinity; taken here
 * when that is this processor and the IRQL allows, else beside (a context of its own, run when
 * the scheduler picks it).  DPCs queued on this processor run here; the others' on theirs. */
static void deliver_mp(struct dc_sys *s)
{
	uint32_t me = dc_machine_cpu(s->m);
	for (;;) {
		int l = -1;
		for (unsigned k = 0; k < DC_IRQ_LINES && l < 0; k++) {
			if (!((s->irq_pending >> k) & 1))
				continue;
			uint32_t q = dc_mp_pick(s, s->mp.affinity[k]);
			if (q != me) {
				s->irq_pending &= ~(1u << k);
				dc_ctx_spawn_isr(s, q, k);
			} else if (DC_DIRQL(k) > s->irql)
				l = (int)k;
		}
		if (l >= 0) {
			s->irq_pending &= ~(1u << l);
			dc_io_run_isrs(s, (unsigned)l);
			continue;
		}
		PKDPC d = s->irql < DISPATCH_LEVEL ? dpc_of(s, me) : NULL;
		if (d) {
			RemoveEntryList(&d->DpcListEntry);
			run_dpc(s, d, me);
			continue;
		}
		break;
	}
}

void dc_sys_deliver(struct dc_sys *s)
{
	/* Nested delivery (an ISR lowering the IRQL, a DPC advancing time) is allowed as on a
	 * real processor, but bounded so a driver loop cannot recurse without end. */
	if (s->delivering)
		return;
	s->delivering = true;
	if (s->mp.sched != DC_SCHED_NONE) {
		deliver_mp(s);
		s->delivering = false;
		return;
	}
	for (;;) {
		int l = next_irq(s);
		if (l >= 0) {
			s->irq_pending &= ~(1u << l);
			/* The interrupt goes to a processor of its affinity. */
			uint32_t prev = dc_mp_enter(s, dc_mp_pick(s, s->mp.affinity[l]));
			dc_io_run_isrs(s, (unsigned)l);
			dc_mp_enter(s, prev);
			continue;
		}
		if (s->irql < DISPATCH_LEVEL && !IsListEmpty(&s->dpcs)) {
			PLIST_ENTRY le = RemoveHeadList(&s->dpcs);
			PKDPC dpc = CONTAINING_RECORD(le, KDPC, DpcListEntry);
			run_dpc(s, dpc, dc_mp_dpc_cpu(s, dpc));
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
