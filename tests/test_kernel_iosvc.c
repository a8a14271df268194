/* Small I/O-manager services and driver-built IRPs, called directly (the test plays both
 * drivers): VPBs for disk-type devices, IoAttachDeviceToDeviceStackSafe, IoGetDeviceObjectPointer,
 * IoBuildDeviceIoControlRequest (buffered and direct), IoBuildSynchronousFsdRequest and
 * IoBuildAsynchronousFsdRequest completed by a lower driver, PoRequestPowerIrp's completion
 * function, threaded DPCs, KeFlushQueuedDpcs, non-cached memory, MmMapIoSpaceEx,
 * HalGetDmaAlignment, IoInvalidateDeviceRelations; each with its bad-argument or IRQL answer. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/sys.h"

struct slog {
	unsigned irql, crash;
	int64_t last_crash;
};
static void slog_kev(void *opaque, const struct dc_kev *e)
{
	struct slog *l = opaque;
	l->irql += e->type == DC_KEV_IRQL;
	if (e->type == DC_KEV_CRASH) {
		l->crash++;
		l->last_crash = e->status;
	}
}
static const struct dc_observer slog_obs = {.kev = slog_kev};

static struct dc_machine *M(void)
{
	return dc_sys_machine(dc_sys_current());
}

static UCHAR at(const UCHAR *p)
{
	UCHAR v;
	dc_cpu_read(M(), p, &v, 1);
	return v;
}

/* The lower driver: IOCTL 0x222000 (buffered) doubles each input byte into the output; 0x222006
 * (out-direct) fills the MDL's buffer; reads fill their buffer with 0x5A. */
#define IOCTL_DOUBLE 0x222000
#define IOCTL_FILL 0x222006
#define IOCTL_COPY 0x222008 /* buffered: the output is the input, as it is */

static NTSTATUS lower_ioctl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	(void)DeviceObject;
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
	ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
	ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
	if (sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_DOUBLE) {
		/* Pool is simulated memory: the test touches it through the cache model. */
		UCHAR *b = Irp->AssociatedIrp.SystemBuffer, v;
		for (ULONG i = 0; i < in && i < out; i++) {
			dc_cpu_read(M(), b + i, &v, 1);
			v = (UCHAR)(v * 2);
			dc_cpu_write(M(), b + i, &v, 1);
		}
		Irp->IoStatus.Information = in < out ? in : out;
	} else if (sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_COPY) {
		Irp->IoStatus.Information = in < out ? in : out;
	} else {
		UCHAR *b = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
		dc_cpu_fill(M(), b, 0x77, out);
		Irp->IoStatus.Information = out;
	}
	Irp->IoStatus.Status = STATUS_SUCCESS;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

static NTSTATUS lower_read(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	(void)DeviceObject;
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
	dc_cpu_fill(M(), Irp->AssociatedIrp.SystemBuffer, 0x5A, sp->Parameters.Read.Length);
	Irp->IoStatus.Status = STATUS_SUCCESS;
	Irp->IoStatus.Information = sp->Parameters.Read.Length;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

static NTSTATUS lower_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	(void)RegistryPath;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = lower_ioctl;
	DriverObject->MajorFunction[IRP_MJ_READ] = lower_read;
	return STATUS_SUCCESS;
}

static struct dc_sys *svc_sys(struct slog *l, const char *dev, struct dc_sysdev **d,
                              PDRIVER_OBJECT *drv)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	memset(l, 0, sizeof(*l));
	dc_machine_add_observer(dc_sys_machine(s), &slog_obs, l);
	struct dc_driver *dr;
	if ((dev && dc_sys_add_device(s, dev, NULL, d)) ||
	    dc_sys_load_entry(s, "lower", lower_entry, &dr, NULL)) {
		dc_sys_destroy(s);
		return NULL;
	}
	*drv = dc_driver_object(dr);
	return s;
}

static UNICODE_STRING ustr(const char *a, WCHAR *buf)
{
	size_t i = 0;
	for (; a[i]; i++)
		buf[i] = (WCHAR)a[i];
	buf[i] = 0;
	UNICODE_STRING u;
	RtlInitUnicodeString(&u, buf);
	return u;
}

DC_TEST(iosvc_vpb_attach_safe_and_device_pointer)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sys *s = svc_sys(&l, NULL, NULL, &drv);
	CHECK(s);
	WCHAR nb[64];
	UNICODE_STRING name = ustr("\\Device\\Lower0", nb);
	PDEVICE_OBJECT disk, other, filter, attached = NULL;
	CHECK_EQ(IoCreateDevice(drv, 0, &name, FILE_DEVICE_DISK, 0, FALSE, &disk), STATUS_SUCCESS);
	CHECK_EQ(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &other),
	         STATUS_SUCCESS);
	CHECK(disk->Vpb != NULL);
	CHECK_EQ(disk->Vpb->Type, IO_TYPE_VPB);
	CHECK_EQ(disk->Vpb->Size, sizeof(VPB));
	CHECK(disk->Vpb->RealDevice == disk);
	CHECK(!(disk->Vpb->Flags & VPB_MOUNTED));
	CHECK(other->Vpb == NULL);
	CHECK_EQ(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &filter),
	         STATUS_SUCCESS);
	CHECK_EQ(IoAttachDeviceToDeviceStackSafe(filter, disk, &attached), STATUS_SUCCESS);
	CHECK(attached == disk);
	CHECK_EQ(IoAttachDeviceToDeviceStackSafe(NULL, disk, &attached), STATUS_INVALID_PARAMETER);
	/* The name reaches the top of the stack. */
	PFILE_OBJECT fo = NULL;
	PDEVICE_OBJECT top = NULL;
	WCHAR ub[64];
	UNICODE_STRING upper = ustr("\\DEVICE\\LOWER0", ub);
	CHECK_EQ(IoGetDeviceObjectPointer(&upper, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
	CHECK(top == filter && fo != NULL);
	WCHAR mb[64];
	UNICODE_STRING missing = ustr("\\Device\\Nothing", mb);
	CHECK_EQ(IoGetDeviceObjectPointer(&missing, FILE_READ_DATA, &fo, &top),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	IoDetachDevice(disk);
	IoDeleteDevice(filter);
	IoDeleteDevice(disk);
	IoDeleteDevice(other);
	CHECK_EQ(IoGetDeviceObjectPointer(&upper, FILE_READ_DATA, &fo, &top),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(l.crash + l.irql, 0);
	dc_sys_destroy(s);
}

/* A buffered request larger than the caches: the kernel's copy into the system buffer must
 * keep every byte (a store after a reference of the whole range landed in lines the reference
 * had already evicted, and the next fill brought the old memory back), and so must the copy
 * of the output back to a caller's buffer in simulated memory. */
DC_TEST(iosvc_buffered_copies_larger_than_the_caches_keep_every_byte)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sys *s = svc_sys(&l, NULL, NULL, &drv);
	CHECK(s);
	PDEVICE_OBJECT dev;
	CHECK_EQ(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev), STATUS_SUCCESS);
	dev->Flags |= DO_BUFFERED_IO;
	enum { N = 3u << 20 }; /* pc: 32 KiB L1, 1 MiB LL */
	UCHAR *in = malloc(N), *back = malloc(N);
	CHECK(in && back);
	for (ULONG i = 0; i < N; i++)
		in[i] = (UCHAR)(i * 7 + (i >> 12));
	/* The input from host memory, the output to pool (simulated memory). */
	UCHAR *out = ExAllocatePoolWithTag(NonPagedPool, N, 'tseT');
	CHECK(out);
	dc_cpu_fill(M(), out, 0, N);
	KEVENT ev;
	IO_STATUS_BLOCK iosb = {.Information = 0};
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_COPY, dev, in, N, out, N, FALSE, &ev, &iosb);
	CHECK(irp != NULL);
	dc_cpu_read(M(), irp->AssociatedIrp.SystemBuffer, back, N);
	ULONG bad = 0;
	for (ULONG i = 0; i < N; i++)
		bad += back[i] != in[i];
	CHECK_EQ(bad, 0);
	CHECK_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
	CHECK(KeReadStateEvent(&ev));
	CHECK_EQ(iosb.Information, N);
	dc_cpu_read(M(), out, back, N);
	bad = 0;
	for (ULONG i = 0; i < N; i++)
		bad += back[i] != in[i];
	CHECK_EQ(bad, 0);
	ExFreePoolWithTag(out, 'tseT');
	free(in);
	free(back);
	CHECK_EQ(l.crash + l.irql, 0);
	dc_sys_destroy(s);
}

static unsigned async_done;
static NTSTATUS async_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject, (void)Context;
	async_done++;
	IoFreeIrp(Irp); /* an asynchronous IRP is the caller's to free */
	return STATUS_MORE_PROCESSING_REQUIRED;
}

DC_TEST(iosvc_built_irps_complete_to_their_builder)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sys *s = svc_sys(&l, NULL, NULL, &drv);
	CHECK(s);
	PDEVICE_OBJECT dev;
	CHECK_EQ(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev), STATUS_SUCCESS);
	dev->Flags |= DO_BUFFERED_IO;
	/* Buffered IOCTL: the input copied in, the output copied back, the event set. */
	UCHAR in[4] = {1, 2, 3, 4}, out[8];
	memset(out, 0, sizeof(out));
	KEVENT ev;
	IO_STATUS_BLOCK iosb = {.Information = 99};
	KeInitializeEvent(&ev, NotificationEvent, FALSE);
	PIRP irp = IoBuildDeviceIoControlRequest(IOCTL_DOUBLE, dev, in, sizeof(in), out,
	                                         sizeof(out), FALSE, &ev, &iosb);
	CHECK(irp != NULL);
	CHECK(irp->AssociatedIrp.SystemBuffer != NULL && irp->AssociatedIrp.SystemBuffer != in);
	CHECK_EQ(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_DEVICE_CONTROL);
	CHECK_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
	CHECK(KeReadStateEvent(&ev));
	CHECK_EQ(iosb.Status, STATUS_SUCCESS);
	CHECK_EQ(iosb.Information, 4);
	CHECK(out[0] == 2 && out[3] == 8 && out[4] == 0);
	/* Out-direct: the output reached through a locked MDL. */
	UCHAR *pool = ExAllocatePoolWithTag(NonPagedPool, 64, 'tseT');
	CHECK(pool);
	dc_cpu_fill(M(), pool, 0, 64);
	KeClearEvent(&ev);
	irp = IoBuildDeviceIoControlRequest(IOCTL_FILL, dev, NULL, 0, pool, 64, TRUE, &ev, &iosb);
	CHECK(irp && irp->MdlAddress);
	CHECK_EQ(IoGetNextIrpStackLocation(irp)->MajorFunction, IRP_MJ_INTERNAL_DEVICE_CONTROL);
	dev->DriverObject->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = lower_ioctl;
	CHECK_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
	CHECK(KeReadStateEvent(&ev));
	CHECK(at(pool) == 0x77 && at(pool + 63) == 0x77);
	/* A synchronous read from a buffered-I/O device. */
	KeClearEvent(&ev);
	LARGE_INTEGER off = {.QuadPart = 512};
	irp = IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, pool, 32, &off, &ev, &iosb);
	CHECK(irp != NULL);
	CHECK_EQ(IoGetNextIrpStackLocation(irp)->Parameters.Read.ByteOffset.QuadPart, 512);
	CHECK_EQ(IoCallDriver(dev, irp), STATUS_SUCCESS);
	CHECK(KeReadStateEvent(&ev));
	CHECK(at(pool) == 0x5A && at(pool + 31) == 0x5A && at(pool + 32) == 0x77);
	CHECK(IoBuildSynchronousFsdRequest(IRP_MJ_CREATE, dev, pool, 32, &off, &ev, &iosb) == NULL);
	CHECK(IoBuildSynchronousFsdRequest(IRP_MJ_READ, dev, pool, 32, &off, NULL, &iosb) == NULL);
	/* Asynchronous: the caller's completion routine frees it. */
	async_done = 0;
	irp = IoBuildAsynchronousFsdRequest(IRP_MJ_READ, dev, pool, 16, &off, &iosb);
	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, async_completion, NULL, TRUE, TRUE, TRUE);
	IoCallDriver(dev, irp);
	CHECK_EQ(async_done, 1);
	ExFreePoolWithTag(pool, 'tseT');
	CHECK_EQ(l.crash + l.irql, 0);
	/* The synchronous builders need PASSIVE_LEVEL; the asynchronous one DISPATCH_LEVEL. */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	irp = IoBuildAsynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, dev, NULL, 0, NULL, &iosb);
	CHECK_EQ(l.irql, 0);
	IoFreeIrp(irp);
	irp = IoBuildSynchronousFsdRequest(IRP_MJ_FLUSH_BUFFERS, dev, NULL, 0, NULL, &ev, &iosb);
	CHECK_EQ(l.irql, 1);
	KeLowerIrql(old);
	IoFreeIrp(irp);
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}

static unsigned power_done;
static NTSTATUS power_status;
static VOID on_power(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE PowerState,
                     PVOID Context, PIO_STATUS_BLOCK IoStatus)
{
	(void)DeviceObject, (void)PowerState;
	power_done += MinorFunction == IRP_MN_SET_POWER && Context == (PVOID)7;
	power_status = IoStatus->Status;
}

static unsigned threaded_runs, threaded_bad;
static void threaded(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)ctx, (void)a1, (void)a2;
	threaded_runs++;
	threaded_bad += KeGetCurrentIrql() != DISPATCH_LEVEL;
}

DC_TEST(iosvc_power_dpcs_memory_and_irql)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sysdev *d;
	struct dc_sys *s = svc_sys(&l, "sysblk", &d, &drv);
	CHECK(s);
	PDEVICE_OBJECT pdo = dc_sysdev_pdo(d);
	/* A power IRP to the PDO's stack; its completion function runs with the outcome. */
	POWER_STATE ps = {.DeviceState = PowerDeviceD0};
	power_done = 0;
	PIRP irp = NULL;
	CHECK_EQ(PoRequestPowerIrp(pdo, IRP_MN_SET_POWER, ps, on_power, (PVOID)7, &irp),
	         STATUS_PENDING);
	CHECK(irp != NULL);
	CHECK_EQ(power_done, 1);
	PDEVICE_OBJECT dev;
	CHECK_EQ(IoCreateDevice(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev), STATUS_SUCCESS);
	CHECK_EQ(PoRequestPowerIrp(dev, IRP_MN_SET_POWER, ps, on_power, NULL, NULL),
	         STATUS_INVALID_PARAMETER_1);
	CHECK_EQ(PoRequestPowerIrp(pdo, IRP_MN_START_DEVICE + 9, ps, on_power, NULL, NULL),
	         STATUS_INVALID_PARAMETER_2);
	/* Relations of a PDO may be invalidated; of anything else Windows bug-checks 0xCA. */
	IoInvalidateDeviceRelations(pdo, BusRelations);
	CHECK_EQ(l.crash, 0);
	IoInvalidateDeviceRelations(dev, BusRelations);
	CHECK_EQ(l.crash, 1);
	CHECK_EQ(l.last_crash, 0xCA);
	/* A threaded DPC runs at DISPATCH_LEVEL here; KeFlushQueuedDpcs runs what is queued. */
	KDPC dpc;
	KeInitializeThreadedDpc(&dpc, threaded, NULL);
	CHECK_EQ(dpc.Type, 24);
	threaded_runs = threaded_bad = 0;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK(KeInsertQueueDpc(&dpc, NULL, NULL));
	CHECK_EQ(threaded_runs, 0);
	KeFlushQueuedDpcs(); /* at DISPATCH_LEVEL: reported */
	CHECK_EQ(l.irql, 1);
	KeLowerIrql(old);
	CHECK_EQ(threaded_runs, 1);
	CHECK_EQ(threaded_bad, 0);
	KeFlushQueuedDpcs();
	CHECK_EQ(l.irql, 1);
	/* Non-cached memory: the uncached window. */
	PUCHAR nc = MmAllocateNonCachedMemory(8192);
	CHECK(nc != NULL);
	MmFreeNonCachedMemory(nc, 8192);
	CHECK(MmAllocateNonCachedMemory(0) == NULL);
	/* MmMapIoSpaceEx: PAGE_READWRITE | PAGE_NOCACHE maps; contradictory flags do not. */
	PHYSICAL_ADDRESS pa = {.QuadPart = 0x10000};
	CHECK(MmMapIoSpaceEx(pa, 4096, PAGE_READWRITE | PAGE_NOCACHE) != NULL);
	CHECK(MmMapIoSpaceEx(pa, 4096, PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE) == NULL);
	CHECK(MmMapIoSpaceEx(pa, 4096, PAGE_EXECUTE_READWRITE) == NULL);
	/* HalGetDmaAlignment: the adapter's GetDmaAlignment (1 on an 8-bit system channel). */
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION2;
	dd.DmaChannel = 3;
	dd.DmaWidth = Width8Bits;
	dd.InterfaceType = Isa;
	dd.MaximumLength = 4096;
	ULONG nregs;
	PDMA_ADAPTER a = IoGetDmaAdapter(pdo, &dd, &nregs);
	CHECK(a != NULL);
	CHECK_EQ(HalGetDmaAlignment(a), 1);
	CHECK_EQ(HalGetDmaAlignmentRequirement(), 1);
	a->DmaOperations->PutDmaAdapter(a);
	CHECK_EQ(l.crash, 1);
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}

/* An MDL whose PFN array is larger than the caches (768 MiB of pages: 1.5 MiB of PFNs on pc's
 * 1 MiB LL): the kernel references the MDL, then builds it; every PFN must be what the CPU reads
 * back through the caches, not the pool's old bytes that a refill of a line evicted before the
 * store would bring back. */
DC_TEST(iosvc_mdl_larger_than_the_caches_keeps_every_pfn)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sys *s = svc_sys(&l, NULL, NULL, &drv);
	CHECK(s);
	PHYSICAL_ADDRESS lo = {.QuadPart = 0}, hi = {.QuadPart = -1}, skip = {.QuadPart = 0};
	SIZE_T bytes = (SIZE_T)768 << 20;
	PMDL mdl = MmAllocatePagesForMdlEx(lo, hi, skip, bytes, MmCached, MM_DONT_ZERO_ALLOCATION);
	CHECK(mdl != NULL);
	size_t n = bytes / PAGE_SIZE;
	PFN_NUMBER *want = malloc(n * sizeof(*want)), *got = malloc(n * sizeof(*got));
	CHECK(want && got);
	memcpy(want, MmGetMdlPfnArray(mdl), n * sizeof(*want)); /* the window: what was stored */
	dc_cpu_read(M(), MmGetMdlPfnArray(mdl), got, n * sizeof(*got));
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += got[i] != want[i] || !want[i];
	CHECK_EQ(bad, 0);
	MmFreePagesFromMdl(mdl);
	ExFreePool(mdl);
	free(want);
	free(got);
	CHECK_EQ(l.crash + l.irql, 0);
	dc_sys_destroy(s);
}

DC_TEST(iosvc_pages_for_mdl)
{
	struct slog l;
	PDRIVER_OBJECT drv;
	struct dc_sys *s = svc_sys(&l, NULL, NULL, &drv);
	CHECK(s);
	PHYSICAL_ADDRESS lo = {.QuadPart = 0}, hi = {.QuadPart = 0xFFFFFFFF},
	                 skip = {.QuadPart = 0};
	/* Scattered pages by default, as Windows hands them out; one run when asked. */
	for (int contig = 0; contig < 2; contig++) {
		PMDL mdl =
		    MmAllocatePagesForMdlEx(lo, hi, skip, 5 * PAGE_SIZE + 100, MmCached,
		                            contig ? MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS : 0);
		CHECK(mdl != NULL);
		CHECK_EQ(MmGetMdlByteCount(mdl), 5 * PAGE_SIZE + 100);
		CHECK(mdl->MdlFlags & MDL_PAGES_LOCKED);
		PPFN_NUMBER pfn = MmGetMdlPfnArray(mdl);
		bool adjacent = true;
		for (int i = 1; i < 6; i++) {
			CHECK(pfn[i] != 0);
			CHECK(pfn[i] < (UINT64_C(4) << 30) / PAGE_SIZE);
			adjacent &= pfn[i] == pfn[i - 1] + 1;
		}
		CHECK_MSG(adjacent == (contig != 0), "contig %d", contig);
		PUCHAR va = MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
		CHECK(va != NULL);
		UCHAR b = 1;
		dc_cpu_read(M(), va + 3 * PAGE_SIZE, &b, 1);
		CHECK_EQ(b, 0); /* zeroed */
		if (mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA)
			MmUnmapLockedPages(va, mdl);
		MmFreePagesFromMdl(mdl);
		CHECK_EQ(l.crash, 0);
		MmFreePagesFromMdl(mdl); /* twice: the PFN database would be corrupt */
		CHECK_EQ(l.crash, 1);
		CHECK_EQ(l.last_crash, 0x4E);
		l.crash = 0;
		ExFreePool(mdl);
	}
	CHECK(MmAllocatePagesForMdl(lo, hi, skip, 0) == NULL);
	/* At DISPATCH_LEVEL the allocation breaks its rule (APC_LEVEL at most). */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	PMDL m2 = MmAllocatePagesForMdl(lo, hi, skip, PAGE_SIZE);
	KeLowerIrql(old);
	CHECK_EQ(l.irql, 1);
	MmFreePagesFromMdl(m2);
	ExFreePool(m2);
	CHECK_EQ(l.crash, 0);
	dc_sys_destroy(s);
}
