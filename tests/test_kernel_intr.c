/* Interrupt modes and the Ex connection routines, called directly (the test plays the driver
 * and raises the lines itself): a Latched (edge-triggered) line calls its ISR once per rising
 * edge however long the line stays asserted -- before, it was treated as level-triggered, run
 * 1000 times and bug-checked as an interrupt storm; a LevelSensitive line still re-interrupts
 * until acknowledged; IoConnectInterruptEx line-based (the PDO's assigned interrupt), fully
 * specified, message-based falling back to the line, bad versions; KeAcquireInterruptSpinLock. */
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/sys.h"

struct ilog {
	unsigned irql, crash;
	int64_t last_crash;
};
static void ilog_kev(void *opaque, const struct dc_kev *e)
{
	struct ilog *l = opaque;
	l->irql += e->type == DC_KEV_IRQL;
	if (e->type == DC_KEV_CRASH) {
		l->crash++;
		l->last_crash = e->status;
	}
}
static const struct dc_observer ilog_obs = {.kev = ilog_kev};

static struct dc_sys *intr_sys(struct ilog *l, const char *dev, struct dc_sysdev **d)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	memset(l, 0, sizeof(*l));
	dc_machine_add_observer(dc_sys_machine(s), &ilog_obs, l);
	if (dev && dc_sys_add_device(s, dev, NULL, d)) {
		dc_sys_destroy(s);
		return NULL;
	}
	return s;
}

static unsigned isr_calls;
static KIRQL isr_irql;
static BOOLEAN isr_claim(PKINTERRUPT Interrupt, PVOID ctx)
{
	(void)Interrupt, (void)ctx;
	isr_calls++;
	isr_irql = KeGetCurrentIrql();
	return TRUE; /* claims, but leaves the line asserted (an edge needs no acknowledge) */
}

#define LINE 5u

DC_TEST(intr_latched_line_one_isr_call_per_edge)
{
	struct ilog l;
	struct dc_sys *s = intr_sys(&l, NULL, NULL);
	CHECK(s);
	struct dc_irq *q = &dc_sys_machine(s)->irq;
	PKINTERRUPT ki = NULL;
	KIRQL irql = (KIRQL)(11 - LINE);
	CHECK_EQ(IoConnectInterrupt(&ki, isr_claim, NULL, NULL, 0x30 + LINE, irql, irql, Latched,
	                            FALSE, 1, FALSE),
	         STATUS_SUCCESS);
	isr_calls = 0;
	dc_irq_raise(q, LINE);
	dc_sys_run_for(s, 100000);
	CHECK_EQ(isr_calls, 1);
	CHECK_EQ(isr_irql, irql);
	CHECK_EQ(l.crash, 0); /* no interrupt storm */
	/* Still asserted: nothing more.  A new edge: one more call. */
	dc_sys_run_for(s, 100000);
	CHECK_EQ(isr_calls, 1);
	dc_irq_lower(q, LINE);
	dc_irq_raise(q, LINE);
	dc_sys_run_for(s, 100000);
	CHECK_EQ(isr_calls, 2);
	IoDisconnectInterrupt(ki);
	/* The same ISR on a level-sensitive line: re-interrupts until the storm is cut off. */
	CHECK_EQ(IoConnectInterrupt(&ki, isr_claim, NULL, NULL, 0x30 + LINE, irql, irql,
	                            LevelSensitive, FALSE, 1, FALSE),
	         STATUS_SUCCESS);
	dc_irq_lower(q, LINE);
	isr_calls = 0;
	dc_irq_raise(q, LINE);
	dc_sys_run_for(s, 100000);
	CHECK(isr_calls > 1000);
	CHECK_EQ(l.crash, 1);
	CHECK_EQ(l.last_crash, 0x9C);
	IoDisconnectInterrupt(ki);
	dc_sys_destroy(s);
}

static BOOLEAN msg_isr(PKINTERRUPT Interrupt, PVOID ctx, ULONG id)
{
	(void)Interrupt, (void)ctx, (void)id;
	return TRUE;
}

DC_TEST(intr_connect_ex_versions_and_interrupt_spin_lock)
{
	struct ilog l;
	struct dc_sysdev *d;
	struct dc_sys *s = intr_sys(&l, "sysblk", &d);
	CHECK(s);
	PDEVICE_OBJECT pdo = dc_sysdev_pdo(d);
	PKINTERRUPT ki = NULL;
	IO_CONNECT_INTERRUPT_PARAMETERS p;
	/* Line-based: the device's own interrupt. */
	memset(&p, 0, sizeof(p));
	p.Version = CONNECT_LINE_BASED;
	p.LineBased.PhysicalDeviceObject = pdo;
	p.LineBased.InterruptObject = &ki;
	p.LineBased.ServiceRoutine = isr_claim;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_SUCCESS);
	CHECK(ki != NULL);
	/* The interrupt spin lock: raised to the synchronize IRQL, then back. */
	KIRQL old = KeAcquireInterruptSpinLock(ki);
	CHECK_EQ(old, PASSIVE_LEVEL);
	CHECK(KeGetCurrentIrql() > DISPATCH_LEVEL);
	KeReleaseInterruptSpinLock(ki, old);
	CHECK_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
	CHECK_EQ(l.irql, 0);
	IO_DISCONNECT_INTERRUPT_PARAMETERS dp = {.Version = CONNECT_LINE_BASED};
	dp.ConnectionContext.InterruptObject = ki;
	IoDisconnectInterruptEx(&dp);
	/* Message-based on a device without messages: the fallback on the line, Version says so;
	 * without a fallback routine it is not supported. */
	memset(&p, 0, sizeof(p));
	p.Version = CONNECT_MESSAGE_BASED;
	p.MessageBased.PhysicalDeviceObject = pdo;
	p.MessageBased.ConnectionContext.InterruptObject = &ki;
	p.MessageBased.MessageServiceRoutine = msg_isr;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_NOT_SUPPORTED);
	p.MessageBased.FallBackServiceRoutine = isr_claim;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_SUCCESS);
	CHECK_EQ(p.Version, CONNECT_LINE_BASED);
	dp.ConnectionContext.InterruptObject = ki;
	IoDisconnectInterruptEx(&dp);
	/* Fully specified: the caller's vector and IRQL, checked as IoConnectInterrupt does. */
	memset(&p, 0, sizeof(p));
	p.Version = CONNECT_FULLY_SPECIFIED;
	p.FullySpecified.PhysicalDeviceObject = pdo;
	p.FullySpecified.InterruptObject = &ki;
	p.FullySpecified.ServiceRoutine = isr_claim;
	p.FullySpecified.Vector = 0x30 + LINE;
	p.FullySpecified.Irql = p.FullySpecified.SynchronizeIrql = (KIRQL)(11 - LINE);
	p.FullySpecified.InterruptMode = Latched;
	p.FullySpecified.ProcessorEnableMask = 1;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_SUCCESS);
	IoDisconnectInterrupt(ki);
	p.FullySpecified.Irql = 2;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_INVALID_PARAMETER);
	/* Unknown versions, no parameters, a device that is not a PDO. */
	p.Version = 9;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_INVALID_PARAMETER);
	CHECK_EQ(IoConnectInterruptEx(NULL), STATUS_INVALID_PARAMETER);
	memset(&p, 0, sizeof(p));
	p.Version = CONNECT_LINE_BASED;
	DEVICE_OBJECT fake;
	memset(&fake, 0, sizeof(fake));
	p.LineBased.PhysicalDeviceObject = &fake;
	p.LineBased.InterruptObject = &ki;
	p.LineBased.ServiceRoutine = isr_claim;
	CHECK_EQ(IoConnectInterruptEx(&p), STATUS_INVALID_PARAMETER);
	CHECK_EQ(l.crash, 0);
	dc_sys_destroy(s);
}

DC_TEST(intr_connect_parameters_layout)
{
	CHECK_EQ(sizeof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS), 72);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, SynchronizeIrql), 40);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, Vector), 44);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, Irql), 48);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, InterruptMode), 52);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, ProcessorEnableMask),
	         56);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS, Group), 64);
	CHECK_EQ(sizeof(IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS), 48);
	CHECK_EQ(sizeof(IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS), 56);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS, FallBackServiceRoutine),
	         48);
	CHECK_EQ(sizeof(IO_CONNECT_INTERRUPT_PARAMETERS), 80);
	CHECK_EQ(offsetof(IO_CONNECT_INTERRUPT_PARAMETERS, LineBased), 8);
	CHECK_EQ(sizeof(IO_DISCONNECT_INTERRUPT_PARAMETERS), 16);
}

/* Regression: an interrupt a driver leaves connected (it never disconnects, or it is unloaded
 * by a crash) was never freed when the system went away: a leak per system, which
 * LeakSanitizer (the ASan build of this suite) and valgrind --leak-check report. */
DC_TEST(intr_left_connected_is_freed_with_the_system)
{
	struct ilog l;
	struct dc_sys *s = intr_sys(&l, NULL, NULL);
	CHECK(s);
	PKINTERRUPT ki = NULL, shared = NULL;
	KIRQL irql = (KIRQL)(11 - LINE);
	CHECK_EQ(IoConnectInterrupt(&ki, isr_claim, &l, NULL, 0x30 + LINE, irql, irql,
	                            LevelSensitive, TRUE, 1, FALSE),
	         STATUS_SUCCESS);
	CHECK_EQ(IoConnectInterrupt(&shared, isr_claim, &l, NULL, 0x30 + LINE, irql, irql,
	                            LevelSensitive, TRUE, 1, FALSE),
	         STATUS_SUCCESS);
	CHECK(ki && shared && ki != shared);
	dc_sys_destroy(s);
}
