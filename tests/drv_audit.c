#include "drv_audit.h"

#include <stdio.h>
#include <string.h>

#include "dmacoh/driver.h"
#include "hw/machine.h"

/* e: the event that showed it (NULL: a CPU access). */
static void drv_audit_problem(struct drv_audit *a, const struct dc_kev *e, const char *what)
{
	size_t l = strlen(a->kinds);
	if (a->problems++ == 0)
		snprintf(a->first, sizeof(a->first), "%s (%s, %s)", what,
		         e ? dc_kev_name(e->type) : "cpu access",
		         e && e->routine ? e->routine : "-");
	if (!strstr(a->kinds, what))
		snprintf(a->kinds + l, sizeof(a->kinds) - l, "%s; ", what);
}

static void drv_audit_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                          bool cached, const void *pc)
{
	struct drv_audit *a = opaque;
	(void)len, (void)cached;
	/* Only the driver's own accesses: the application's and the kernel's come without a pc. */
	if (!pc)
		return;
	if (!write && pa >= a->ring_pa && pa < a->ring_pa + a->ring_len &&
	    a->ring_dirty[(pa - a->ring_pa) / 16])
		drv_audit_problem(a, NULL,
		                  "CPU read ring bytes the device wrote since the last flush");
	for (size_t i = 0; write && i < sizeof(a->reads) / sizeof(a->reads[0]); i++)
		if (a->reads[i].used && (uintptr_t)va >= a->reads[i].lo &&
		    (uintptr_t)va < a->reads[i].hi)
			a->reads[i].written = true;
}

/* Marks (a device wrote) or clears (the CPU flushed) the ring's granules in [pa, pa + len). */
static void drv_ring_mark(struct drv_audit *a, uint64_t pa, uint64_t len, bool dirty)
{
	uint64_t lo = pa > a->ring_pa ? pa : a->ring_pa;
	uint64_t hi = pa + len < a->ring_pa + a->ring_len ? pa + len : a->ring_pa + a->ring_len;
	for (uint64_t g = lo; g < hi; g = (g & ~UINT64_C(15)) + 16)
		a->ring_dirty[(g - a->ring_pa) / 16] = dirty;
}

static void drv_audit_dma(void *opaque, int source, uint64_t pa, uint64_t len, bool write)
{
	(void)source;
	if (write)
		drv_ring_mark(opaque, pa, len, true);
}

static void drv_audit_kev(void *opaque, const struct dc_kev *e)
{
	struct drv_audit *a = opaque;
	size_t n = sizeof(a->open) / sizeof(a->open[0]), i;
	switch (e->type) {
	case DC_KEV_IRQL:
		drv_audit_problem(a, e, "wrong IRQL");
		break;
	case DC_KEV_BAD_ACCESS:
	case DC_KEV_CRASH:
		drv_audit_problem(a, e, "bad access or crash");
		break;
	case DC_KEV_CHANNEL_ALLOC:
		for (i = 0; i < 8 && a->regs[i].adapter != e->adapter; i++)
			;
		if (i == 8)
			i = a->next_regs++ % 8;
		a->regs[i].adapter = e->adapter;
		a->regs[i].count = e->count;
		break;
	case DC_KEV_MAP:
		if (e->status != DC_KMAP_OK)
			drv_audit_problem(a, e, "MapTransfer refused or shortened");
		for (i = 0; i < 8; i++)
			if (a->regs[i].adapter == e->adapter &&
			    ADDRESS_AND_SIZE_TO_SPAN_PAGES(e->va, e->len) > a->regs[i].count)
				drv_audit_problem(a, e,
				                  "MapTransfer spans more pages than granted");
		for (i = 0; i < n; i++)
			if (a->open[i].used && a->open[i].mrb == e->mrb)
				drv_audit_problem(a, e, "MapTransfer before the last one's flush");
		for (i = 0; i < n && a->open[i].used; i++)
			;
		if (i < n && e->xfer)
			a->open[i].adapter = e->adapter, a->open[i].mrb = e->mrb,
			a->open[i].mdl = e->mdl, a->open[i].va = e->va, a->open[i].len = e->len_out,
			a->open[i].dir = e->dir, a->open[i].used = true;
		break;
	case DC_KEV_FLUSH:
		for (i = 0; i < n && !(a->open[i].used && a->open[i].mrb == e->mrb); i++)
			;
		if (i == n) {
			drv_audit_problem(a, e, "flush with nothing mapped");
			break;
		}
		if (a->open[i].mdl != e->mdl || a->open[i].va != e->va ||
		    a->open[i].len != e->len || a->open[i].dir != e->dir)
			drv_audit_problem(a, e, "flush arguments differ from the MapTransfer");
		a->open[i].used = false;
		a->flush_failures += e->status == 0;
		break;
	case DC_KEV_CHANNEL_FREE:
	case DC_KEV_ADAPTER_PUT:
		for (i = 0; i < n; i++)
			if (a->open[i].used && a->open[i].adapter == e->adapter)
				drv_audit_problem(a, e, "released with a transfer still mapped");
		if (e->type == DC_KEV_ADAPTER_PUT && a->commons != 0)
			drv_audit_problem(a, e, "adapter put with a common buffer allocated");
		break;
	case DC_KEV_COMMON_ALLOC:
		a->commons += e->va != NULL;
		if (e->va && e->n_pieces && e->len <= 16 * sizeof(a->ring_dirty)) {
			a->ring_pa = e->pieces[0].pa;
			a->ring_len = e->len;
		}
		break;
	case DC_KEV_COMMON_FREE:
		if (e->status)
			a->commons--;
		else
			drv_audit_problem(a, e, "FreeCommonBuffer freed nothing");
		break;
	case DC_KEV_MAPREG_FREE:
		if (!e->status)
			drv_audit_problem(a, e, "FreeMapRegisters freed nothing");
		break;
	case DC_KEV_DEVICE_ACCESS:
		if (!e->status)
			drv_audit_problem(a, e, "device access outside what is mapped");
		break;
	case DC_KEV_IRP_SEND:
		for (i = 0; i < 4 && a->reads[i].used; i++)
			;
		if (i < 4 && e->value == IRP_MJ_READ && e->mdl && e->n_pieces) {
			a->reads[i].irp = e->irp;
			a->reads[i].mdl = e->mdl;
			a->reads[i].lo = (uintptr_t)e->pieces[0].va;
			a->reads[i].hi = a->reads[i].lo + e->len;
			a->reads[i].used = true;
			a->reads[i].written = false;
		}
		break;
	case DC_KEV_KE_FLUSH:
		for (i = 0; i < e->n_pieces && (e->flags & DC_KEVF_READ); i++)
			drv_ring_mark(a, e->pieces[i].pa, e->pieces[i].len, false);
		for (i = 0; i < 4; i++)
			if (a->reads[i].used && a->reads[i].mdl == e->mdl &&
			    (e->flags & DC_KEVF_READ) && !(e->flags & DC_KEVF_DMA))
				a->reads[i].written = false;
		break;
	case DC_KEV_IRP_COMPLETE:
		if ((e->value == IRP_MJ_READ || e->value == IRP_MJ_WRITE) &&
		    (e->status < 0 ? e->len_out != 0 : e->len_out > e->len))
			drv_audit_problem(a, e, "Information wrong for the status");
		for (i = 0; i < 4; i++) {
			if (!a->reads[i].used || a->reads[i].irp != e->irp)
				continue;
			if (a->reads[i].written)
				drv_audit_problem(a, e,
				                  "read buffer written by the CPU, not flushed");
			a->reads[i].used = false;
		}
		break;
	default:
		break;
	}
}

static const struct dc_observer drv_audit_observer = {
    .cpu_access = drv_audit_cpu, .dma = drv_audit_dma, .kev = drv_audit_kev};

/* kf_open with the audit watching from before AddDevice, on a platform of the caller's making
 * (or the built-in `plat` with `seed` when p is NULL). */
int drv_open(struct kf *k, struct drv_audit *a, const struct dc_platform *p, const char *plat,
             uint64_t seed, const char *device, const struct dc_sysdev_opts *o, const char *driver)
{
	memset(a, 0, sizeof(*a));
	a->label = p ? "custom platform" : plat;
	return kf_open_observed(k, p, plat, seed, &drv_audit_observer, a, device, o, driver);
}

/* Sends an IRP already built and waits for it; its IoStatus. */
int drv_roundtrip(struct kf *k, PIRP irp, IO_STATUS_BLOCK *io)
{
	if (!irp)
		return DC_ERR_NOMEM;
	dc_sys_send(k->s, irp);
	int w = dc_sys_wait(k->s, irp, UINT64_C(10000000000));
	if (w)
		return w;
	*io = dc_sys_finish(k->s, irp);
	return 0;
}

uint64_t drv_capacity(struct kf *k, NTSTATUS *st)
{
	ULONGLONG cap = 0;
	IO_STATUS_BLOCK io = {0};
	PIRP irp = dc_sys_build_ioctl(k->s, k->top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0, &cap,
	                              sizeof(cap));
	*st = drv_roundtrip(k, irp, &io) ? STATUS_UNSUCCESSFUL : io.Status;
	return io.Information == sizeof(cap) ? cap : 0;
}

/* One write and one read of len bytes at off through a buffer `boff` into a page of zone z. */
bool drv_rw(struct kf *k, const char *plat, uint64_t off, ULONG len, uint32_t boff, enum dc_zone z,
            uint64_t seed)
{
	static const UCHAR majors[2] = {IRP_MJ_WRITE, IRP_MJ_READ};
	for (int i = 0; i < 2; i++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad =
		    kf_io(k, majors[i], off, len, boff, z, seed + (uint64_t)i, &st, &info, &first);
		if (bad != 0 || info != len) {
			dct_fail(
			    __FILE__, __LINE__,
			    "%s seed %llu %s off %llu len %u boff %u zone %s: %ld bad (first %ld), "
			    "status 0x%08X info %llu %s",
			    plat, (unsigned long long)seed, i ? "read" : "write",
			    (unsigned long long)off, len, boff, dc_zone_name(z), bad, first,
			    (unsigned)st, (unsigned long long)info, k->err);
			return false;
		}
	}
	return true;
}

/* A request built by hand: its status and Information. */
bool drv_request(struct kf *k, UCHAR major, ULONG len, uint64_t off, NTSTATUS *st, ULONG_PTR *info)
{
	void *buf = dc_sys_alloc_buffer(k->s, len ? len : 1, 0, DC_ZONE_ANY);
	IO_STATUS_BLOCK io = {0};
	int err = buf ? drv_roundtrip(k, dc_sys_build_rw(k->s, k->top, major, buf, len, off), &io)
	              : DC_ERR_NOMEM;
	if (buf)
		dc_sys_free_buffer(k->s, buf);
	*st = io.Status;
	*info = io.Information;
	return err == 0;
}

/* Runs one request through a buggy twin (optionally with a transfer error injected first) and
 * returns kf_io's verdict; *a holds what the audit saw. */
long drv_twin(const char *twin, const char *plat, const char *device, UCHAR major, ULONG len,
              enum dc_zone z, bool fault, struct drv_audit *a, NTSTATUS *st, ULONG_PTR *info)
{
	struct kf k;
	long first = -1;
	*st = 0;
	*info = 0;
	if (drv_open(&k, a, NULL, plat, 1, device, NULL, twin)) {
		snprintf(a->first, sizeof(a->first), "%.60s did not start: %.150s", twin, k.err);
		a->problems = ~0u;
		return -2;
	}
	if (fault) {
		struct dc_device *dev = dc_sysdev_device(k.dev);
		dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
	}
	long bad = kf_io(&k, major, 8 * 512, len, 0, z, 11, st, info, &first);
	kf_close(&k);
	return bad;
}

/* Did the audit see this kind of problem (among others)? */
bool drv_saw(const struct drv_audit *a, const char *what)
{
	return a->problems != ~0u && strstr(a->kinds, what) != NULL;
}
