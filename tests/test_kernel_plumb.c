/* The WDM plumbing called directly (the test plays the driver): remove locks (counting, the
 * delete-pending answer, a wait released from a DPC, over-release and a wait that can never
 * end reported as bug checks), the IoTimer (once a simulated second at DISPATCH_LEVEL, stopped,
 * gone with its device), the error log (size limits, the written entry as an event and a line,
 * double write/free), fast mutexes (IRQL, try, recursion and foreign release reported, the
 * Unsafe forms' rule), and each routine's IRQL requirement. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/plumb.h"
#include "kernel/sys.h"

struct plog {
	unsigned irql, crash, errlog;
	int64_t last_crash, last_errlog;
	char what[256];
};

static void plog_kev(void *opaque, const struct dc_kev *e)
{
	struct plog *l = opaque;
	if (e->type == DC_KEV_IRQL)
		l->irql++;
	if (e->type == DC_KEV_CRASH) {
		l->crash++;
		l->last_crash = e->status;
		snprintf(l->what, sizeof(l->what), "%s", e->routine ? e->routine : "");
	}
	if (e->type == DC_KEV_ERRLOG) {
		l->errlog++;
		l->last_errlog = e->status;
	}
}
static const struct dc_observer plog_obs = {.kev = plog_kev};

static NTSTATUS ok_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	(void)DriverObject, (void)RegistryPath;
	return STATUS_SUCCESS;
}

static struct dc_sys *plumb_sys(struct plog *l, PDEVICE_OBJECT *dev)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	memset(l, 0, sizeof(*l));
	dc_machine_add_observer(dc_sys_machine(s), &plog_obs, l);
	struct dc_driver *drv;
	if (dc_sys_load_entry(s, "plumbtest", ok_entry, &drv, NULL) ||
	    IoCreateDevice(dc_driver_object(drv), 64, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, dev)) {
		dc_sys_destroy(s);
		return NULL;
	}
	return s;
}

static IO_REMOVE_LOCK *dpc_lock;
static void release_dpc(PKDPC Dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)Dpc, (void)a1, (void)a2;
	IoReleaseRemoveLock(dpc_lock, ctx);
}

DC_TEST(plumb_remove_lock_counts_waits_and_refuses)
{
	struct plog l;
	PDEVICE_OBJECT dev;
	struct dc_sys *s = plumb_sys(&l, &dev);
	CHECK(s);
	IO_REMOVE_LOCK lock;
	IoInitializeRemoveLock(&lock, 'kcoL', 0, 0);
	CHECK_EQ(lock.Common.IoCount, 1);
	CHECK_EQ(IoAcquireRemoveLock(&lock, (PVOID)1), STATUS_SUCCESS);
	CHECK_EQ(IoAcquireRemoveLock(&lock, (PVOID)2), STATUS_SUCCESS);
	CHECK_EQ(lock.Common.IoCount, 3);
	IoReleaseRemoveLock(&lock, (PVOID)2);
	/* The remove path's own acquire, then a wait that a DPC ends 1 ms later. */
	CHECK_EQ(IoAcquireRemoveLock(&lock, (PVOID)3), STATUS_SUCCESS);
	KTIMER t;
	KDPC d;
	dpc_lock = &lock;
	KeInitializeTimer(&t);
	KeInitializeDpc(&d, release_dpc, (PVOID)1);
	LARGE_INTEGER due = {.QuadPart = -10000};
	KeSetTimer(&t, due, &d);
	uint64_t t0 = dc_sys_now(s);
	IoReleaseRemoveLockAndWait(&lock, (PVOID)3);
	CHECK(dc_sys_now(s) - t0 >= 1000000);
	CHECK_EQ(lock.Common.IoCount, 0);
	CHECK(lock.Common.Removed);
	/* After removal every acquire is refused and leaves the count alone. */
	CHECK_EQ(IoAcquireRemoveLock(&lock, (PVOID)4), STATUS_DELETE_PENDING);
	CHECK_EQ(lock.Common.IoCount, 0);
	CHECK_EQ(l.crash, 0);
	CHECK_EQ(l.irql, 0);
	/* A release without its acquire: Windows' checked build asserts, dmacoh bug-checks. */
	IO_REMOVE_LOCK lock2;
	IoInitializeRemoveLock(&lock2, 'kcoL', 0, 0);
	IoReleaseRemoveLock(&lock2, (PVOID)1);
	CHECK_EQ(l.crash, 1);
	CHECK_EQ(l.last_crash, 0xC4);
	/* A wait no release can ever end: reported, not a hang. */
	IO_REMOVE_LOCK lock3;
	IoInitializeRemoveLock(&lock3, 'kcoL', 0, 0);
	CHECK_EQ(IoAcquireRemoveLock(&lock3, (PVOID)1), STATUS_SUCCESS);
	CHECK_EQ(IoAcquireRemoveLock(&lock3, (PVOID)2), STATUS_SUCCESS); /* never released */
	IoReleaseRemoveLockAndWait(&lock3, (PVOID)1);
	CHECK_EQ(l.crash, 2);
	CHECK_EQ(l.last_crash, 0xE4);
	/* IRQL: acquire up to DISPATCH_LEVEL; the wait only at PASSIVE_LEVEL. */
	IO_REMOVE_LOCK lock4;
	IoInitializeRemoveLock(&lock4, 'kcoL', 0, 0);
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(IoAcquireRemoveLock(&lock4, (PVOID)1), STATUS_SUCCESS);
	CHECK_EQ(l.irql, 0);
	IoReleaseRemoveLockAndWait(&lock4, (PVOID)1);
	CHECK_EQ(l.irql, 1);
	KeLowerIrql(old);
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}

static unsigned timer_calls, timer_bad_irql;
static PDEVICE_OBJECT timer_dev;
static void on_timer(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
	timer_calls++;
	timer_bad_irql += KeGetCurrentIrql() != DISPATCH_LEVEL || DeviceObject != timer_dev ||
	                  Context != (PVOID)0x5A;
}

DC_TEST(plumb_io_timer_once_a_second_at_dispatch)
{
	struct plog l;
	PDEVICE_OBJECT dev;
	struct dc_sys *s = plumb_sys(&l, &dev);
	CHECK(s);
	timer_dev = dev;
	timer_calls = timer_bad_irql = 0;
	/* Started before it was initialized: Windows touches a NULL timer. */
	IoStartTimer(dev);
	CHECK_EQ(l.crash, 1);
	CHECK_EQ(IoInitializeTimer(dev, on_timer, (PVOID)0x5A), STATUS_SUCCESS);
	CHECK(dev->Timer != NULL);
	dc_sys_run_for(s, UINT64_C(5000000000));
	CHECK_EQ(timer_calls, 0); /* initialized, not started */
	IoStartTimer(dev);
	IoStartTimer(dev); /* a second start changes nothing */
	dc_sys_run_for(s, UINT64_C(3500000000));
	CHECK_EQ(timer_calls, 3);
	CHECK_EQ(timer_bad_irql, 0);
	IoStopTimer(dev);
	dc_sys_run_for(s, UINT64_C(3000000000));
	CHECK_EQ(timer_calls, 3);
	/* Started again, then the device goes: its timer goes with it. */
	IoStartTimer(dev);
	dc_sys_run_for(s, UINT64_C(1500000000));
	CHECK_EQ(timer_calls, 4);
	IoDeleteDevice(dev);
	dc_sys_run_for(s, UINT64_C(3000000000));
	CHECK_EQ(timer_calls, 4);
	CHECK_EQ(l.irql, 0);
	dc_sys_destroy(s);
}

DC_TEST(plumb_error_log_entries)
{
	struct plog l;
	PDEVICE_OBJECT dev;
	struct dc_sys *s = plumb_sys(&l, &dev);
	CHECK(s);
	CHECK(IoAllocateErrorLogEntry(NULL, sizeof(IO_ERROR_LOG_PACKET)) == NULL);
	CHECK(IoAllocateErrorLogEntry(dev, sizeof(IO_ERROR_LOG_PACKET) - 1) == NULL);
	CHECK(IoAllocateErrorLogEntry(dev, ERROR_LOG_MAXIMUM_SIZE + 1) == NULL);
	PIO_ERROR_LOG_PACKET e = IoAllocateErrorLogEntry(dev, sizeof(IO_ERROR_LOG_PACKET) + 4);
	CHECK(e != NULL);
	/* The entry is simulated pool: filled through the cache model, as a driver's stores go. */
	IO_ERROR_LOG_PACKET pk;
	dc_cpu_read(dc_sys_machine(s), e, &pk, sizeof(pk));
	CHECK_EQ(pk.ErrorCode, 0); /* zeroed */
	pk.ErrorCode = STATUS_IO_TIMEOUT;
	pk.UniqueErrorValue = 42;
	pk.DumpDataSize = 8;
	pk.DumpData[0] = 0x1234;
	ULONG second = 0x5678;
	dc_cpu_write(dc_sys_machine(s), e, &pk, sizeof(pk));
	dc_cpu_write(dc_sys_machine(s), e->DumpData + 1, &second, sizeof(second));
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old); /* allowed up to DISPATCH_LEVEL */
	IoWriteErrorLogEntry(e);
	KeLowerIrql(old);
	CHECK_EQ(l.errlog, 1);
	CHECK_EQ(l.last_errlog, STATUS_IO_TIMEOUT);
	CHECK_EQ(dc_sys_errlog_count(s), 1);
	const char *t = dc_sys_errlog_text(s, 0);
	CHECK(t && strstr(t, "ErrorCode 0xC00000B5 UniqueErrorValue 42"));
	CHECK_MSG(strstr(t, "dump 0x00001234 0x00005678"), "%s", t);
	CHECK(dc_sys_errlog_text(s, 1) == NULL);
	/* The I/O manager owns a written entry: writing or freeing it again is a bug check. */
	IoWriteErrorLogEntry(e);
	CHECK_EQ(l.crash, 1);
	CHECK_EQ(l.last_crash, 0xC2);
	PVOID f = IoAllocateErrorLogEntry(dev, sizeof(IO_ERROR_LOG_PACKET));
	IoFreeErrorLogEntry(f);
	CHECK_EQ(l.crash, 1);
	IoFreeErrorLogEntry(f);
	CHECK_EQ(l.crash, 2);
	CHECK_EQ(dc_sys_errlog_count(s), 1);
	CHECK_EQ(l.irql, 0);
	KeRaiseIrql(HIGH_LEVEL, &old);
	CHECK(IoAllocateErrorLogEntry(dev, sizeof(IO_ERROR_LOG_PACKET)) != NULL);
	KeLowerIrql(old);
	CHECK_EQ(l.irql, 1);
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}

DC_TEST(plumb_fast_mutex)
{
	struct plog l;
	PDEVICE_OBJECT dev;
	struct dc_sys *s = plumb_sys(&l, &dev);
	CHECK(s);
	FAST_MUTEX m;
	ExInitializeFastMutex(&m);
	ExAcquireFastMutex(&m);
	CHECK_EQ(KeGetCurrentIrql(), APC_LEVEL);
	CHECK(!ExTryToAcquireFastMutex(&m));
	ExReleaseFastMutex(&m);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	CHECK(ExTryToAcquireFastMutex(&m));
	CHECK_EQ(KeGetCurrentIrql(), APC_LEVEL);
	ExReleaseFastMutex(&m);
	CHECK_EQ(l.crash + l.irql, 0);
	/* Recursion would deadlock on Windows; a release by a non-owner is a bug check. */
	ExAcquireFastMutex(&m);
	ExAcquireFastMutex(&m);
	CHECK_EQ(l.crash, 1);
	ExReleaseFastMutex(&m);
	ExReleaseFastMutex(&m);
	CHECK_EQ(l.crash, 2);
	CHECK_EQ(l.irql, 1); /* the second release also ran at PASSIVE_LEVEL */
	l.irql = 0;
	/* The Unsafe forms: at PASSIVE_LEVEL outside a critical region they are reported. */
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	ExAcquireFastMutexUnsafe(&m);
	CHECK_EQ(l.irql, 1);
	ExReleaseFastMutexUnsafe(&m);
	CHECK_EQ(l.irql, 2);
	KeEnterCriticalRegion();
	CHECK(KeAreApcsDisabled());
	ExAcquireFastMutexUnsafe(&m);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	ExReleaseFastMutexUnsafe(&m);
	KeLeaveCriticalRegion();
	CHECK(!KeAreApcsDisabled());
	CHECK_EQ(l.irql, 2);
	/* ExAcquireFastMutex at DISPATCH_LEVEL breaks its rule. */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	ExAcquireFastMutex(&m);
	CHECK_EQ(l.irql, 3);
	ExReleaseFastMutex(&m);
	KeLowerIrql(old);
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}

DC_TEST(plumb_small_services)
{
	struct plog l;
	PDEVICE_OBJECT dev;
	struct dc_sys *s = plumb_sys(&l, &dev);
	CHECK(s);
	CHECK(dc_sys_add_device(s, "fdc", NULL, NULL) == 0);
	PCONFIGURATION_INFORMATION ci = IoGetConfigurationInformation();
	CHECK(ci != NULL);
	CHECK_EQ(ci->Version, sizeof(CONFIGURATION_INFORMATION));
	CHECK_EQ(ci->FloppyCount, 1);
	ci->DiskCount++; /* drivers count their own devices in */
	CHECK_EQ(IoGetConfigurationInformation()->DiskCount, 1);
	CHECK(IoIsErrorUserInduced(STATUS_NO_MEDIA_IN_DEVICE));
	CHECK(IoIsErrorUserInduced(STATUS_MEDIA_WRITE_PROTECTED));
	CHECK(!IoIsErrorUserInduced(STATUS_DEVICE_DATA_ERROR));
	KeFlushWriteBuffer();
	IoDeleteDevice(dev);
	dc_sys_destroy(s);
}
