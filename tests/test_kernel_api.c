/* The kernel's routines called directly (the test plays the driver): what Windows returns for
 * bad arguments, IRQL bookkeeping, AdapterControl timing and queueing, KeFlushIoBuffers per
 * platform, the legacy Hal/Io routines, and the kernel events a checker relies on. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/sys.h"

struct evlog {
	struct dc_kev ev[64];
	unsigned n;
	unsigned by_type[DC_KEV_COUNT];
};

static void log_kev(void *opaque, const struct dc_kev *e)
{
	struct evlog *l = opaque;
	if (l->n < DC_ARRAY_SIZE(l->ev))
		l->ev[l->n++] = *e;
	l->by_type[e->type]++;
}

static const struct dc_observer logger = {.kev = log_kev};

static struct dc_sys *sys_with(const char *plat, const char *dev, struct dc_sysdev **d,
                               struct evlog *log)
{
	struct dc_platform p;
	if (dc_platform_builtin(plat, &p))
		return NULL;
	struct dc_sys *s;
	if (dc_sys_create(&p, &s))
		return NULL;
	if (dc_sys_add_device(s, dev, NULL, d)) {
		dc_sys_destroy(s);
		return NULL;
	}
	if (log) {
		memset(log, 0, sizeof(*log));
		dc_machine_add_observer(dc_sys_machine(s), &logger, log);
	}
	return s;
}

static DEVICE_DESCRIPTION sysdma_desc(ULONG max)
{
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION2;
	dd.Master = FALSE;
	dd.DmaChannel = 3;
	dd.DmaWidth = Width8Bits;
	dd.InterfaceType = Isa;
	dd.MaximumLength = max;
	return dd;
}

DC_TEST(kapi_get_dma_adapter_versions_and_refusals)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("pc", "sysblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = sysdma_desc(16384);
	/* Versions 0-3 are served (3: test_dma_v3.c); 4 is not (NULL, as for any version the HAL
	 * lacks). */
	dd.Version = DEVICE_DESCRIPTION_VERSION3 + 1;
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	dd.Version = DEVICE_DESCRIPTION_VERSION;
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a != NULL);
	CHECK_EQ(a->Version, 1);
	CHECK_EQ(n, 5); /* registers for MaximumLength, + 1 */
	CHECK_EQ(a->DmaOperations->Size, offsetof(DMA_OPERATIONS, GetDmaAdapterInfo));
	/* One adapter per system DMA channel; a width that does not fit the channel; channel 4
	 * (the cascade); a device object that is not a PDO; NULL arguments. */
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	dd.DmaChannel = 1;
	dd.DmaWidth = Width16Bits;
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	dd.DmaChannel = 4;
	dd.DmaWidth = Width8Bits;
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n) == NULL);
	DEVICE_OBJECT fake;
	memset(&fake, 0, sizeof(fake));
	CHECK(IoGetDmaAdapter(&fake, &dd, &n) == NULL);
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), NULL, &n) == NULL);
	CHECK(IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, NULL) == NULL);
	CHECK_EQ(log.by_type[DC_KEV_ADAPTER_GET], 8);
	a->DmaOperations->PutDmaAdapter(a);
	CHECK_EQ(log.by_type[DC_KEV_ADAPTER_PUT], 1);
	dc_sys_destroy(s);
}

struct ctl {
	unsigned calls;
	PVOID mrb;
	IO_ALLOCATION_ACTION action;
	KIRQL irql;
	PIRP irp;
};

static IO_ALLOCATION_ACTION adapter_control(PDEVICE_OBJECT dev, PIRP irp, PVOID mrb, PVOID ctx)
{
	(void)dev;
	struct ctl *c = ctx;
	c->calls++;
	c->mrb = mrb;
	c->irp = irp;
	c->irql = KeGetCurrentIrql();
	return c->action;
}

DC_TEST(kapi_adapter_control_runs_at_once_or_queued)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("noncoherent", "sysblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = sysdma_desc(16384);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(old, PASSIVE_LEVEL);
	struct ctl c1 = {.action = KeepObject}, c2 = {.action = KeepObject};
	/* Too many registers: refused, never queued. */
	CHECK_EQ(ops->AllocateAdapterChannel(a, dc_sysdev_pdo(d), n + 1, adapter_control, &c1),
	         STATUS_INSUFFICIENT_RESOURCES);
	CHECK_EQ(c1.calls, 0);
	/* Free channel: AdapterControl runs before AllocateAdapterChannel returns, at DISPATCH. */
	CHECK_EQ(ops->AllocateAdapterChannel(a, dc_sysdev_pdo(d), n, adapter_control, &c1),
	         STATUS_SUCCESS);
	CHECK_EQ(c1.calls, 1);
	CHECK_EQ(c1.irql, DISPATCH_LEVEL);
	CHECK(c1.mrb != NULL);
	/* Held (KeepObject): the next request waits until FreeAdapterChannel. */
	CHECK_EQ(ops->AllocateAdapterChannel(a, dc_sysdev_pdo(d), 2, adapter_control, &c2),
	         STATUS_SUCCESS);
	CHECK_EQ(c2.calls, 0);
	ops->FreeAdapterChannel(a);
	CHECK_EQ(c2.calls, 1);
	ops->FreeAdapterChannel(a);
	KeLowerIrql(old);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	CHECK_EQ(log.by_type[DC_KEV_ADAPTER_CONTROL], 2);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 0);
	/* At the wrong IRQL the call still works, and the kernel says so. */
	struct ctl c3 = {.action = DeallocateObject};
	CHECK_EQ(ops->AllocateAdapterChannel(a, dc_sysdev_pdo(d), 1, adapter_control, &c3),
	         STATUS_SUCCESS);
	CHECK_EQ(c3.calls, 1);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 1);
	ops->PutDmaAdapter(a);
	dc_sys_destroy(s);
}

DC_TEST(kapi_bad_arguments_return_what_windows_returns)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("noncoherent", "sysblk", &d, &log);
	CHECK(s);
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = sysdma_desc(16384);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	PDMA_OPERATIONS ops = a->DmaOperations;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	uint8_t junk[64];
	memset(junk, 0x5A, sizeof(junk));
	/* NULL and foreign adapters through the legacy entry points (the only way to pass one). */
	ULONG len = 4096;
	PHYSICAL_ADDRESS la = IoMapTransfer(NULL, NULL, NULL, NULL, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	CHECK(!IoFlushAdapterBuffers((PADAPTER_OBJECT)junk, NULL, NULL, NULL, 0, FALSE));
	IoFreeMapRegisters(NULL, NULL, 1);
	IoFreeAdapterChannel((PADAPTER_OBJECT)junk);
	CHECK_EQ(HalReadDmaCounter(NULL), 0);
	CHECK_EQ(IoAllocateAdapterChannel(NULL, NULL, 1, adapter_control, NULL),
	         STATUS_INVALID_PARAMETER);
	/* A map register base that was never granted; an MDL range outside the MDL; zero length. */
	struct ctl c = {.action = KeepObject};
	CHECK_EQ(ops->AllocateAdapterChannel(a, dc_sysdev_pdo(d), 2, adapter_control, &c),
	         STATUS_SUCCESS);
	void *buf = dc_sys_alloc_buffer(s, 4096, 0, DC_ZONE_ISA);
	CHECK(buf);
	PMDL mdl = IoAllocateMdl(buf, 4096, FALSE, FALSE, NULL);
	CHECK(mdl);
	MmBuildMdlForNonPagedPool(mdl);
	la = ops->MapTransfer(a, mdl, junk, buf, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	CHECK_EQ(len, 0); /* a refused map says so where the driver looks */
	len = 4096;
	la = ops->MapTransfer(a, mdl, c.mrb, (uint8_t *)buf + 100, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	CHECK_EQ(len, 0);
	/* An MDL whose pages were never locked (nor built for nonpaged pool). */
	PMDL unlocked = IoAllocateMdl(buf, 4096, FALSE, FALSE, NULL);
	CHECK(unlocked);
	len = 4096;
	la = ops->MapTransfer(a, unlocked, c.mrb, buf, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	CHECK_EQ(len, 0);
	IoFreeMdl(unlocked);
	len = 0;
	la = ops->MapTransfer(a, mdl, c.mrb, buf, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	unsigned refused = 0, maps = 0;
	for (unsigned i = 0; i < log.n; i++)
		if (log.ev[i].type == DC_KEV_MAP) {
			maps++;
			refused += log.ev[i].len_out == 0;
		}
	CHECK_EQ(maps, 5);
	CHECK_EQ(refused, 5);
	/* A good one, then its flush; a double flush still returns TRUE (nothing held). */
	len = 4096;
	la = ops->MapTransfer(a, mdl, c.mrb, buf, &len, TRUE);
	CHECK(la.QuadPart != 0);
	CHECK_EQ(len, 4096);
	CHECK(ops->FlushAdapterBuffers(a, mdl, c.mrb, buf, 4096, TRUE));
	CHECK(ops->FlushAdapterBuffers(a, mdl, c.mrb, buf, 4096, TRUE));
	ops->FreeAdapterChannel(a);
	KeLowerIrql(old);
	/* Common buffers: zero length gives NULL; a mismatched free is reported (status 0) and
	 * still frees the allocation. */
	PHYSICAL_ADDRESS lg;
	CHECK(ops->AllocateCommonBuffer(a, 0, &lg, TRUE) == NULL);
	void *cb = ops->AllocateCommonBuffer(a, 8192, &lg, TRUE);
	CHECK(cb != NULL);
	CHECK((uint64_t)lg.QuadPart + 8192 <= (UINT64_C(16) << 20)); /* the 8237 reaches it */
	CHECK(((uint64_t)lg.QuadPart >> 16) == (((uint64_t)lg.QuadPart + 8191) >> 16));
	ops->FreeCommonBuffer(a, 4096, lg, cb, TRUE);
	const struct dc_kev *last = &log.ev[log.n - 1];
	CHECK_EQ(last->type, DC_KEV_COMMON_FREE);
	CHECK_EQ(last->status, 0);
	IoFreeMdl(mdl);
	ops->PutDmaAdapter(a);
	/* Use after PutDmaAdapter: nothing happens, the kernel reports it. */
	PHYSICAL_ADDRESS lg2;
	CHECK(ops->AllocateCommonBuffer(a, 4096, &lg2, TRUE) == NULL);
	dc_sys_free_buffer(s, buf);
	dc_sys_destroy(s);
}

DC_TEST(kapi_ke_flush_io_buffers_per_platform)
{
	for (int nc = 0; nc < 2; nc++) {
		struct dc_sysdev *d;
		struct dc_sys *s = sys_with(nc ? "noncoherent" : "pc", "sysblk", &d, NULL);
		CHECK(s);
		struct dc_machine *m = dc_sys_machine(s);
		uint8_t *buf = dc_sys_alloc_buffer(s, 3 * 4096, 0, DC_ZONE_ANY);
		CHECK(buf);
		uint8_t pat[3 * 4096];
		memset(pat, 0x3C, sizeof(pat));
		dc_cpu_write(m, buf, pat, sizeof(pat)); /* dirty lines in the cache */
		PMDL mdl = IoAllocateMdl(buf, sizeof(pat), FALSE, FALSE, NULL);
		MmBuildMdlForNonPagedPool(mdl);
		uint64_t before = m->st.maint_lines;
		uint64_t pa = dc_va_to_pa(m, buf);
		KeFlushIoBuffers(mdl, FALSE, TRUE);
		if (!nc) {
			/* x86: O(1), nothing touched; memory may still be stale (the device
			 * snoops). */
			CHECK_EQ(m->st.maint_lines, before);
		} else {
			/* Written back and invalidated: memory holds the CPU's bytes. */
			CHECK(m->st.maint_lines > before);
			CHECK_EQ(dc_mem_pa_ptr(&m->mem, pa)[0], 0x3C);
		}
		IoFreeMdl(mdl);
		dc_sys_free_buffer(s, buf);
		dc_sys_destroy(s);
	}
}

DC_TEST(kapi_irql_spinlocks_stall_time)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("pc", "pio", &d, &log);
	CHECK(s);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	KSPIN_LOCK lock;
	KeInitializeSpinLock(&lock);
	KIRQL old;
	KeAcquireSpinLock(&lock, &old);
	CHECK_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
	KeAcquireSpinLockAtDpcLevel(&lock); /* held twice on one processor: L01 */
	CHECK_EQ(log.by_type[DC_KEV_LOCK], 1);
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 0);
	/* Reported, then granted as if it were free: both acquires are released. */
	KeReleaseSpinLockFromDpcLevel(&lock);
	KeReleaseSpinLock(&lock, old);
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 0);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	KeReleaseSpinLockFromDpcLevel(&lock); /* released while not held */
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 1);
	KeLowerIrql(old);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	/* Lowering above the current IRQL is refused and reported. */
	KeLowerIrql(HIGH_LEVEL);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 1);
	/* A routine with an IRQL requirement, called too high. */
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	PDEVICE_OBJECT none = NULL;
	CHECK_EQ(IoCreateDevice(NULL, 0, NULL, 0, 0, FALSE, &none), STATUS_INVALID_PARAMETER);
	CHECK_EQ(log.by_type[DC_KEV_IRQL], 2); /* IoCreateDevice is PASSIVE_LEVEL only */
	KeLowerIrql(old);
	/* Stalling advances simulated time, and only that. */
	uint64_t t0 = dc_sys_now(s);
	KeStallExecutionProcessor(250);
	CHECK_EQ(dc_sys_now(s) - t0, 250000);
	LARGE_INTEGER f, c0 = KeQueryPerformanceCounter(&f);
	KeStallExecutionProcessor(1);
	CHECK_EQ(KeQueryPerformanceCounter(NULL).QuadPart - c0.QuadPart, f.QuadPart / 1000000);
	dc_sys_destroy(s);
}

struct dpcctx {
	unsigned runs;
	KIRQL irql;
	PKEVENT ev;
};

static void dpc_routine(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)dpc, (void)a1, (void)a2;
	struct dpcctx *c = ctx;
	c->runs++;
	c->irql = KeGetCurrentIrql();
	if (c->ev)
		KeSetEvent(c->ev, IO_NO_INCREMENT, FALSE);
}

DC_TEST(kapi_dpcs_timers_and_waits)
{
	struct dc_sysdev *d;
	struct dc_sys *s = sys_with("pc", "pio", &d, NULL);
	CHECK(s);
	KDPC dpc;
	KEVENT ev;
	struct dpcctx c = {.ev = &ev};
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	KeInitializeDpc(&dpc, dpc_routine, &c);
	/* Queued at DISPATCH it waits for the IRQL to drop; queued twice it runs once. */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK(KeInsertQueueDpc(&dpc, NULL, NULL));
	CHECK(!KeInsertQueueDpc(&dpc, NULL, NULL));
	CHECK_EQ(c.runs, 0);
	KeLowerIrql(old);
	CHECK_EQ(c.runs, 1);
	CHECK_EQ(c.irql, DISPATCH_LEVEL);
	/* A timer 2 ms out fires its DPC, which signals the event a PASSIVE wait is on. */
	KeClearEvent(&ev);
	KTIMER t;
	KeInitializeTimer(&t);
	LARGE_INTEGER due = {.QuadPart = -20000}; /* 2 ms, relative, in 100 ns units */
	uint64_t t0 = dc_sys_now(s);
	CHECK(!KeSetTimer(&t, due, &dpc));
	CHECK_EQ(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
	CHECK_EQ(dc_sys_now(s) - t0, 2000000);
	CHECK(KeReadStateTimer(&t));
	/* A wait with a timeout on an event nobody sets. */
	KEVENT never;
	KeInitializeEvent(&never, SynchronizationEvent, FALSE);
	LARGE_INTEGER to = {.QuadPart = -10000};
	t0 = dc_sys_now(s);
	CHECK_EQ(KeWaitForSingleObject(&never, Executive, KernelMode, FALSE, &to), STATUS_TIMEOUT);
	CHECK_EQ(dc_sys_now(s) - t0, 1000000);
	/* Semaphores count. */
	KSEMAPHORE sem;
	KeInitializeSemaphore(&sem, 2, 2);
	LARGE_INTEGER zero = {.QuadPart = 0};
	CHECK_EQ(KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	CHECK_EQ(KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	CHECK_EQ(KeWaitForSingleObject(&sem, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
	dc_sys_destroy(s);
}

/* The legacy routines a floppy-era driver calls, end to end on the 8237: HalGetAdapter,
 * IoAllocateAdapterChannel, IoMapTransfer (programs the channel), the device moves its
 * sectors, IoFlushAdapterBuffers drains the controller's buffer, HalReadDmaCounter reads 0. */
DC_TEST(kapi_legacy_routines_move_data)
{
	for (int plat = 0; plat < 3; plat++) {
		static const char *const names[] = {"pc", "noncoherent", "noncoherent-prefetch"};
		struct dc_sysdev *d;
		struct dc_sys *s = sys_with(names[plat], "sysblk", &d, NULL);
		CHECK(s);
		struct dc_machine *m = dc_sys_machine(s);
		struct dc_device *dev = dc_sysdev_device(d);
		DEVICE_DESCRIPTION dd = sysdma_desc(8192);
		ULONG n = 0;
		PADAPTER_OBJECT a = HalGetAdapter(&dd, &n);
		CHECK(a);
		uint8_t want[1536], got[1536];
		for (unsigned i = 0; i < sizeof(want); i++)
			want[i] = (uint8_t)(i * 13 + plat);
		dev->ops->store_write(dev->opaque, 512, want, sizeof(want));
		uint8_t *buf = dc_sys_alloc_buffer(s, sizeof(want), 77, DC_ZONE_ANY);
		PMDL mdl = IoAllocateMdl(buf, sizeof(want), FALSE, FALSE, NULL);
		MmBuildMdlForNonPagedPool(mdl);
		KeFlushIoBuffers(mdl, TRUE, TRUE);
		KIRQL old;
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		struct ctl c = {.action = KeepObject};
		CHECK_EQ(IoAllocateAdapterChannel(a, dc_sysdev_pdo(d), 2, adapter_control, &c),
		         STATUS_SUCCESS);
		CHECK_EQ(c.calls, 1);
		ULONG len = sizeof(want);
		IoMapTransfer(a, mdl, c.mrb, MmGetMdlVirtualAddress(mdl), &len, FALSE);
		CHECK_EQ(len, sizeof(want));
		/* The sysblk command: LBA 1, 3 sectors, READ (ports from its resources). */
		uint32_t base = dev->res.port_base;
		WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(base + 4), 1);
		for (unsigned i = 1; i < 4; i++)
			WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(base + 4 + i), 0);
		WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(base + 8), 3);
		WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(base + 9), 0);
		WRITE_PORT_UCHAR((PUCHAR)(uintptr_t)(base + 0), 1);
		KeLowerIrql(old);
		dc_sys_run_for(s, UINT64_C(50000000));
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		CHECK(
		    IoFlushAdapterBuffers(a, mdl, c.mrb, MmGetMdlVirtualAddress(mdl), len, FALSE));
		CHECK_EQ(HalReadDmaCounter(a), 0);
		IoFreeAdapterChannel(a);
		KeLowerIrql(old);
		dc_cpu_read(m, buf, got, sizeof(got));
		CHECK_MSG(memcmp(want, got, sizeof(want)) == 0, "%s: data differs", names[plat]);
		IoFreeMdl(mdl);
		dc_sys_free_buffer(s, buf);
		dc_sys_destroy(s);
	}
}

/* The bug check a hostile call raised last (0: none). */
static uint32_t last_bugcheck(const struct evlog *log)
{
	for (unsigned i = log->n; i-- > 0;)
		if (log->ev[i].type == DC_KEV_CRASH)
			return (uint32_t)log->ev[i].status;
	return 0;
}

DC_TEST(kapi_irp_completed_twice_stale_or_never_sent_is_a_bug_check)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("noncoherent", "sysblk", &d, &log);
	CHECK(s);
	/* Allocated by the driver and never sent: no driver holds a location of it. */
	PIRP irp = IoAllocateIrp(2, FALSE);
	CHECK(irp);
	irp->IoStatus.Status = STATUS_SUCCESS;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	CHECK_EQ(last_bugcheck(&log), 0x44);
	CHECK_EQ(log.by_type[DC_KEV_IRP_COMPLETE], 0);
	/* Freed, then completed: the kernel must not read it (ASan: heap-use-after-free). */
	IoFreeIrp(irp);
	log.by_type[DC_KEV_CRASH] = 0;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 1);
	CHECK_EQ(last_bugcheck(&log), 0x44);
	/* Freed twice. */
	IoFreeIrp(irp);
	CHECK_EQ(last_bugcheck(&log), 0xC2);
	/* Not an IRP at all (pool bytes). */
	uint64_t junk[32];
	memset(junk, 0x5A, sizeof(junk));
	log.by_type[DC_KEV_CRASH] = 0;
	IoCompleteRequest((PIRP)junk, IO_NO_INCREMENT);
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 1);
	CHECK_EQ(log.by_type[DC_KEV_IRP_COMPLETE], 0);
	dc_sys_destroy(s);
}

DC_TEST(kapi_garbage_mdl_is_never_read)
{
	struct dc_sysdev *d;
	struct evlog log;
	struct dc_sys *s = sys_with("noncoherent", "sysblk", &d, &log);
	CHECK(s);
	/* Pool bytes that are not an MDL: a ByteOffset of megabytes, a huge ByteCount. */
	uint8_t *junk = ExAllocatePoolWithTag(NonPagedPool, 256, 'knuJ');
	CHECK(junk);
	memset(junk, 0x7F, 256);
	KeFlushIoBuffers((PMDL)junk, TRUE, TRUE);
	const struct dc_kev *e = &log.ev[log.n - 1];
	CHECK_EQ(e->type, DC_KEV_KE_FLUSH);
	CHECK_EQ(e->status, DC_KFLUSH_BAD_MDL);
	CHECK_EQ(e->n_pieces, 0);
	/* MapTransfer on it, with the channel held: refused, *Length = 0. */
	ULONG n = 0;
	DEVICE_DESCRIPTION dd = sysdma_desc(16384);
	PDMA_ADAPTER a = IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n);
	CHECK(a);
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	struct ctl c = {.action = KeepObject};
	CHECK_EQ(
	    a->DmaOperations->AllocateAdapterChannel(a, dc_sysdev_pdo(d), 1, adapter_control, &c),
	    STATUS_SUCCESS);
	ULONG len = 512;
	PHYSICAL_ADDRESS la =
	    a->DmaOperations->MapTransfer(a, (PMDL)junk, c.mrb, junk + 16, &len, FALSE);
	CHECK_EQ(la.QuadPart, 0);
	CHECK_EQ(len, 0);
	e = &log.ev[log.n - 1];
	CHECK_EQ(e->type, DC_KEV_MAP);
	CHECK_EQ(e->status, DC_KMAP_GARBAGE_MDL);
	a->DmaOperations->FreeAdapterChannel(a);
	KeLowerIrql(old);
	/* A freed MDL is not an MDL any more either. */
	void *buf = dc_sys_alloc_buffer(s, 4096, 0, DC_ZONE_DMA32);
	PMDL mdl = IoAllocateMdl(buf, 4096, FALSE, FALSE, NULL);
	CHECK(mdl);
	MmBuildMdlForNonPagedPool(mdl);
	KeFlushIoBuffers(mdl, TRUE, TRUE);
	CHECK_EQ(log.ev[log.n - 1].status, 0);
	IoFreeMdl(mdl);
	KeFlushIoBuffers(mdl, TRUE, TRUE);
	CHECK_EQ(log.ev[log.n - 1].status, DC_KFLUSH_BAD_MDL);
	a->DmaOperations->PutDmaAdapter(a);
	ExFreePoolWithTag(junk, 'knuJ');
	dc_sys_destroy(s);
}

/* KeFlushIoBuffers' verdict on mdl: DC_KFLUSH_BAD_MDL when it is not an MDL. */
static int64_t flush_verdict(struct evlog *log, PMDL mdl)
{
	log->n = 0;
	KeFlushIoBuffers(mdl, TRUE, TRUE);
	return log->n && log->ev[log->n - 1].type == DC_KEV_KE_FLUSH ? log->ev[log->n - 1].status
	                                                             : INT64_MIN;
}

DC_TEST(kapi_mdl_inside_freed_pool_is_not_an_mdl)
{
	/* A caller-owned MDL (MmBuildMdlForNonPagedPool) lives in the pool block that holds it:
	 * freeing the block ends it, as IoFreeMdl does for an allocated one.  Both ways the
	 * registry finds it: by probing a small block's bytes (many MDLs live) and by scanning the
	 * registry (a block larger than it). */
	struct dc_sysdev *d;
	static struct evlog log;
	struct dc_sys *s = sys_with("noncoherent", "sysblk", &d, &log);
	CHECK(s);
	uint8_t *buf = ExAllocatePoolWithTag(NonPagedPool, 4096, 'fuBT');
	CHECK(buf);
	static PMDL others[300];
	for (size_t i = 0; i < DC_ARRAY_SIZE(others); i++)
		CHECK((others[i] = IoAllocateMdl(buf, 4096, FALSE, FALSE, NULL)));
	SIZE_T sz = MmSizeOfMdl(buf, 4096);
	PMDL small = ExAllocatePoolWithTag(NonPagedPool, sz, 'ldMT');
	uint8_t *big = ExAllocatePoolWithTag(NonPagedPool, 65536, 'ldMT');
	CHECK(small && big);
	PMDL inbig = (PMDL)(big + 40000);
	MmInitializeMdl(small, buf, 4096);
	MmBuildMdlForNonPagedPool(small);
	MmInitializeMdl(inbig, buf, 4096);
	MmBuildMdlForNonPagedPool(inbig);
	CHECK(flush_verdict(&log, small) != DC_KFLUSH_BAD_MDL);
	CHECK(flush_verdict(&log, inbig) != DC_KFLUSH_BAD_MDL);
	ExFreePoolWithTag(small, 'ldMT');
	CHECK_EQ(flush_verdict(&log, small), DC_KFLUSH_BAD_MDL);
	CHECK(flush_verdict(&log, inbig) != DC_KFLUSH_BAD_MDL);
	for (size_t i = 0; i < DC_ARRAY_SIZE(others); i++) {
		IoFreeMdl(others[i]);
		others[i] = NULL;
	}
	ExFreePool(big);
	CHECK_EQ(flush_verdict(&log, inbig), DC_KFLUSH_BAD_MDL);
	/* The MDLs outside the freed blocks are untouched. */
	PMDL keep = IoAllocateMdl(buf, 4096, FALSE, FALSE, NULL);
	CHECK(keep);
	MmBuildMdlForNonPagedPool(keep);
	CHECK(flush_verdict(&log, keep) != DC_KFLUSH_BAD_MDL);
	IoFreeMdl(keep);
	CHECK_EQ(log.by_type[DC_KEV_CRASH], 0);
	ExFreePoolWithTag(buf, 'fuBT');
	dc_sys_destroy(s);
}
