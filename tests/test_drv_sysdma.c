/* examples/drivers/sysdma.c (packet-based system DMA, wdm-dma-spec 5.1) run on every built-in
 * platform: writes and reads through buffers that start anywhere in a page, from one sector to
 * requests split over several map-register-sized pieces, in every memory zone, verified byte
 * for byte against the disk; a 16-bit channel; the capacity the driver sized; the requests it
 * must refuse; a transfer error (failure with Information 0, and the next request works); each
 * buggy twin making its mistake.  The kernel's events are audited throughout (drv_audit). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dmacoh/driver.h"
#include "hw/rng.h"
#include "hw/machine.h"
#include "kflow.h"

#define SECTOR 512u

/* --- What the driver did wrong, as far as the kernel's events show --------------------------
 * A stand-in for the sanitizer's API rules, so that the correct driver is held to none: IRQL
 * violations, bad accesses, crashes; a MapTransfer refused, spanning more pages than the
 * AdapterControl granted, or made while the last one of that map register base is still
 * unflushed; a flush whose arguments are not its MapTransfer's, or with nothing mapped; the
 * channel freed or the adapter put with a transfer still mapped or a common buffer still
 * allocated; Information non-zero with a failure, or above the length; a read whose buffer the
 * driver's code wrote, completed without KeFlushIoBuffers(mdl, TRUE, FALSE) after (P1). */
struct drv_audit {
	const char *label;
	unsigned problems, flush_failures;
	char first[256];
	char kinds[512]; /* every kind of problem seen, "; "-separated */
	struct {
		const void *adapter, *mrb, *mdl, *va;
		uint64_t len;
		enum dc_dir dir;
		bool used;
	} open[8];
	struct {
		const void *adapter;
		uint32_t count;
	} regs[8]; /* registers asked by the adapter's last AllocateAdapterChannel */
	struct {
		const void *irp, *mdl;
		uintptr_t lo, hi;
		bool used, written;
	} reads[4];
	int commons;
	unsigned next_regs;
};

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
	(void)pa, (void)len, (void)cached;
	/* Only the driver's own accesses: the application's and the kernel's come without a pc. */
	if (!write || !pc)
		return;
	for (size_t i = 0; i < sizeof(a->reads) / sizeof(a->reads[0]); i++)
		if (a->reads[i].used && (uintptr_t)va >= a->reads[i].lo &&
		    (uintptr_t)va < a->reads[i].hi)
			a->reads[i].written = true;
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

static const struct dc_observer drv_audit_observer = {.cpu_access = drv_audit_cpu,
                                                      .kev = drv_audit_kev};

/* kf_open with the audit watching from before AddDevice, on a platform of the caller's making
 * (or the built-in `plat` with `seed` when p is NULL). */
static int drv_open(struct kf *k, struct drv_audit *a, const struct dc_platform *p,
                    const char *plat, uint64_t seed, const char *device,
                    const struct dc_sysdev_opts *o, const char *driver)
{
	struct dc_platform bp;
	char path[512];
	NTSTATUS st = 0;
	memset(k, 0, sizeof(*k));
	memset(a, 0, sizeof(*a));
	a->label = p ? "custom platform" : plat;
	if (!p) {
		if (dc_platform_builtin(plat, &bp)) {
			snprintf(k->err, sizeof(k->err), "no platform %s", plat);
			return DC_ERR_NOTFOUND;
		}
		bp.seed = seed;
		p = &bp;
	}
	int err = dc_sys_create(p, &k->s);
	if (!err)
		err = dc_machine_add_observer(dc_sys_machine(k->s), &drv_audit_observer, a);
	if (!err)
		err = dc_sys_add_device(k->s, device, o, &k->dev);
	if (!err)
		err = dc_sys_load_module(k->s, kf_driver_path(driver, path, sizeof(path)), &k->drv,
		                         &st, k->err, sizeof(k->err));
	if (!err)
		err = dc_sys_start_device(k->s, k->drv, k->dev, &k->top, &st);
	if (err && k->s) {
		size_t l = strlen(k->err);
		snprintf(k->err + l, sizeof(k->err) - l, " (%s, 0x%08X)", dc_err_name(err),
		         (unsigned)st);
		dc_sys_destroy(k->s);
		k->s = NULL;
	}
	return err;
}

#define DRV_AUDIT_CHECK(a)                                                            \
	CHECK_MSG((a).problems == 0, "%s: %u API problems, the first: %s", (a).label, \
	          (a).problems, (a).first)

/* Sends an IRP already built and waits for it; its IoStatus. */
static int drv_roundtrip(struct kf *k, PIRP irp, IO_STATUS_BLOCK *io)
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

static uint64_t drv_capacity(struct kf *k, NTSTATUS *st)
{
	ULONGLONG cap = 0;
	IO_STATUS_BLOCK io = {0};
	PIRP irp = dc_sys_build_ioctl(k->s, k->top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0, &cap,
	                              sizeof(cap));
	*st = drv_roundtrip(k, irp, &io) ? STATUS_UNSUCCESSFUL : io.Status;
	return io.Information == sizeof(cap) ? cap : 0;
}

/* One write and one read of len bytes at off through a buffer `boff` into a page of zone z. */
static bool drv_rw(struct kf *k, const char *plat, uint64_t off, ULONG len, uint32_t boff,
                   enum dc_zone z, uint64_t seed)
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

/* align: what a buffer's start must be a multiple of (2 on a 16-bit channel). */
static void drv_cases(const char *driver, const struct dc_sysdev_opts *o, uint32_t align)
{
	static const enum dc_zone zones[] = {DC_ZONE_ISA, DC_ZONE_DMA32, DC_ZONE_HIGH};
	for (const char *const *p = kf_platforms; *p; p++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct kf k;
			struct drv_audit a;
			int err = drv_open(&k, &a, NULL, *p, seed, "sysblk", o, driver);
			CHECK_MSG(err == 0, "%s: %s", *p, k.err);
			NTSTATUS st;
			uint64_t cap = drv_capacity(&k, &st);
			struct dc_device *dev = dc_sysdev_device(k.dev);
			CHECK_MSG(st == STATUS_SUCCESS && cap == dev->ops->store_size(dev->opaque),
			          "%s: capacity %llu status 0x%08X", *p, (unsigned long long)cap,
			          (unsigned)st);
			/* Fixed shapes: sub-page unaligned, one page, several pieces unaligned. */
			bool ok =
			    drv_rw(&k, *p, 0, SECTOR, 100, DC_ZONE_ISA, seed * 100) &&
			    drv_rw(&k, *p, 7 * SECTOR, 4096, 0, DC_ZONE_DMA32, seed * 100 + 2) &&
			    drv_rw(&k, *p, cap - 96 * 1024, 96 * 1024, 4096 - align, DC_ZONE_HIGH,
			           seed * 100 + 4);
			/* Seeded shapes anywhere on the disk. */
			struct dc_rng r;
			dc_rng_seed(&r, seed);
			for (int i = 0; ok && i < 8; i++) {
				ULONG sectors = 1 + (ULONG)dc_rng_below(&r, 160);
				uint64_t off =
				    dc_rng_below(&r, cap / SECTOR - sectors + 1) * SECTOR;
				uint32_t boff = (uint32_t)dc_rng_below(&r, 4096) & ~(align - 1);
				ok = drv_rw(&k, *p, off, sectors * SECTOR, boff, zones[i % 3],
				            seed * 100 + 10 + 2 * (uint64_t)i);
			}
			kf_close(&k);
			DRV_AUDIT_CHECK(a);
			if (!ok)
				return;
		}
	}
}

DC_TEST(drv_sysdma_data_end_to_end)
{
	drv_cases("sysdma", NULL, 1);
}

DC_TEST(drv_sysdma_16bit_channel)
{
	struct dc_sysdev_opts o = {.dma_channel = 5, .capacity = 512 * 1024};
	drv_cases("sysdma", &o, 2);
	/* A 16-bit channel addresses words: an odd buffer is refused, not half programmed. */
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "pc", 1, "sysblk", &o, "sysdma");
	CHECK_MSG(err == 0, "%s", k.err);
	void *buf = dc_sys_alloc_buffer(k.s, 2 * SECTOR, 1, DC_ZONE_ISA);
	CHECK(buf != NULL);
	IO_STATUS_BLOCK io = {0};
	CHECK(drv_roundtrip(&k, dc_sys_build_rw(k.s, k.top, IRP_MJ_READ, buf, 2 * SECTOR, 0),
	                    &io) == 0);
	CHECK_EQ(io.Status, STATUS_INVALID_PARAMETER);
	CHECK_EQ(io.Information, 0);
	dc_sys_free_buffer(k.s, buf);
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

/* A request built by hand: its status and Information. */
static bool drv_request(struct kf *k, UCHAR major, ULONG len, uint64_t off, NTSTATUS *st,
                        ULONG_PTR *info)
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

DC_TEST(drv_sysdma_refuses_bad_requests)
{
	struct kf k;
	struct drv_audit a;
	int err = drv_open(&k, &a, NULL, "noncoherent", 5, "sysblk", NULL, "sysdma");
	CHECK_MSG(err == 0, "%s", k.err);
	NTSTATUS st;
	uint64_t cap = drv_capacity(&k, &st);
	static const struct {
		ULONG len;
		uint64_t off;
		NTSTATUS want;
	} cases[] = {
	    {0, 0, STATUS_SUCCESS},
	    {100, 0, STATUS_INVALID_PARAMETER},
	    {SECTOR, 3, STATUS_INVALID_PARAMETER},
	    {2 * SECTOR, 0, STATUS_SUCCESS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int w = 0; w < 2; w++) {
			ULONG_PTR info = 1;
			CHECK(drv_request(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, cases[i].len,
			                  cases[i].off, &st, &info));
			CHECK_MSG(st == cases[i].want, "case %zu: status 0x%08X", i, (unsigned)st);
			CHECK_EQ(info, NT_SUCCESS(st) ? cases[i].len : 0);
		}
	}
	ULONG_PTR info = 1;
	CHECK(drv_request(&k, IRP_MJ_READ, 2 * SECTOR, cap - SECTOR, &st, &info));
	CHECK_EQ(st, STATUS_INVALID_PARAMETER);
	CHECK_EQ(info, 0);
	IO_STATUS_BLOCK io = {0};
	ULONGLONG small = 0;
	CHECK(drv_roundtrip(
	          &k,
	          dc_sys_build_ioctl(k.s, k.top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0, &small, 4),
	          &io) == 0);
	CHECK_EQ(io.Status, STATUS_BUFFER_TOO_SMALL);
	CHECK(drv_roundtrip(&k, dc_sys_build_ioctl(k.s, k.top, 0x00222008u, NULL, 0, NULL, 0),
	                    &io) == 0);
	CHECK_EQ(io.Status, STATUS_INVALID_DEVICE_REQUEST);
	kf_close(&k);
	DRV_AUDIT_CHECK(a);
}

DC_TEST(drv_sysdma_transfer_error_fails_the_request)
{
	for (const char *const *p = kf_platforms; *p; p++) {
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, NULL, *p, 9, "sysblk", NULL, "sysdma");
		CHECK_MSG(err == 0, "%s: %s", *p, k.err);
		struct dc_device *dev = dc_sysdev_device(k.dev);
		/* One piece, then a request split in several. */
		static const ULONG lens[] = {8 * SECTOR, 160 * SECTOR};
		for (int i = 0; i < 2; i++) {
			for (int w = 0; w < 2; w++) {
				NTSTATUS st = 0;
				ULONG_PTR info = 1;
				dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
				CHECK(drv_request(&k, w ? IRP_MJ_WRITE : IRP_MJ_READ, lens[i],
				                  SECTOR, &st, &info));
				CHECK_MSG(!NT_SUCCESS(st), "%s: status 0x%08X", *p, (unsigned)st);
				CHECK_EQ(info, 0);
				/* The driver recovers: the next request moves its data. */
				CHECK(drv_rw(&k, *p, 0, lens[i], 8, DC_ZONE_DMA32, 77));
			}
		}
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
	}
}

/* A controller buffer of 24 bytes: every 512-byte sector leaves 8 bytes in it at terminal
 * count, which only FlushAdapterBuffers moves on (to memory, or to the device). */
DC_TEST(drv_sysdma_controller_tail)
{
	static const char *const plats[] = {"pc", "noncoherent"};
	for (int i = 0; i < 2; i++) {
		struct dc_platform p;
		CHECK(dc_platform_builtin(plats[i], &p) == 0);
		p.sysdma_chunk = 8;
		p.sysdma_depth = 3;
		p.sysdma_wait_full = true;
		struct kf k;
		struct drv_audit a;
		int err = drv_open(&k, &a, &p, NULL, 0, "sysblk", NULL, "sysdma");
		CHECK_MSG(err == 0, "%s: %s", plats[i], k.err);
		bool ok = drv_rw(&k, plats[i], 0, SECTOR, 24, DC_ZONE_ISA, 1) &&
		          drv_rw(&k, plats[i], 64 * SECTOR, 48 * 1024, 777, DC_ZONE_DMA32, 3) &&
		          drv_rw(&k, plats[i], 3 * SECTOR, 100 * 1024, 4000, DC_ZONE_HIGH, 5);
		kf_close(&k);
		DRV_AUDIT_CHECK(a);
		if (!ok)
			return;
	}
}

/* Runs one request through a buggy twin (optionally with a transfer error injected first) and
 * returns kf_io's verdict; *a holds what the audit saw. */
static long drv_twin(const char *twin, const char *plat, const char *device, UCHAR major, ULONG len,
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
static bool drv_saw(const struct drv_audit *a, const char *what)
{
	return a->problems != ~0u && strstr(a->kinds, what) != NULL;
}

/* The buggy twins make their one mistake where a test sees it without the sanitizer: in the
 * data, the status or the kernel's events (the sanitizer's tests judge their findings).
 * Buffers start on a cache line, so that nothing else is to be said about them. */
DC_TEST(drv_sysdma_twins_make_their_mistake)
{
	struct drv_audit a;
	NTSTATUS st;
	ULONG_PTR info;
	long bad;

	/* C01: a one-sector write from below 16 MiB (the 8237 reaches it: not bounced) on a
	 * non-coherent machine: the device reads what memory held before the application wrote. */
	bad = drv_twin("sysdma-bug-C01", "noncoherent", "sysblk", IRP_MJ_WRITE, SECTOR, DC_ZONE_ISA,
	               false, &a, &st, &info);
	CHECK_MSG(bad > 0 && a.problems == 0, "C01: %ld bad, %s", bad, a.kinds);
	/* C07: a read bounced through the map registers: unflushed, the data never leaves them. */
	bad = drv_twin("sysdma-bug-C07", "pc", "sysblk", IRP_MJ_READ, 4096, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(bad > 0 && drv_saw(&a, "released with a transfer still mapped"),
	          "C07: %ld bad, %s", bad, a.kinds);
	/* C08: the transfer fails half-way and the request succeeds anyway. */
	bad = drv_twin("sysdma-bug-C08", "pc", "sysblk", IRP_MJ_READ, 8 * SECTOR, DC_ZONE_DMA32,
	               true, &a, &st, &info);
	CHECK_MSG(bad > 0 && st == STATUS_SUCCESS && a.flush_failures == 1 && a.problems == 0,
	          "C08: %ld bad, status 0x%08X, %u failed flushes, %s", bad, (unsigned)st,
	          a.flush_failures, a.kinds);
	/* A01 and A03 need a request split in pieces. */
	bad = drv_twin("sysdma-bug-A01", "pc", "sysblk", IRP_MJ_READ, 65536, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(drv_saw(&a, "flush arguments differ"), "A01: %ld bad, %s", bad, a.kinds);
	bad = drv_twin("sysdma-bug-A03", "pc", "sysblk", IRP_MJ_READ, 65536, DC_ZONE_DMA32, false,
	               &a, &st, &info);
	CHECK_MSG(drv_saw(&a, "spans more pages than granted"), "A03: %ld bad, %s", bad, a.kinds);
	/* A10: a failed request that claims every byte. */
	bad = drv_twin("sysdma-bug-A10", "pc", "sysblk", IRP_MJ_READ, 4096, DC_ZONE_DMA32, true, &a,
	               &st, &info);
	CHECK_MSG(!NT_SUCCESS(st) && info == 4096 && drv_saw(&a, "Information wrong"),
	          "A10: status 0x%08X info %llu, %s", (unsigned)st, (unsigned long long)info,
	          a.kinds);
}
