/* Message-signalled interrupts end to end: a message is ordered behind the device's posted DMA
 * writes (the bridge lands them before the vector sees its edge), the model declaration's
 * checks, the PnP start resources (CM_RESOURCE_INTERRUPT_MESSAGE, MessageCount), and
 * IoConnectInterruptEx(CONNECT_MESSAGE_BASED) on bmblk-msi: the IO_INTERRUPT_MESSAGE_INFO
 * table, one KMESSAGE_SERVICE_ROUTINE call per message with its MessageID at the message's
 * IRQL, and nothing after IoDisconnectInterruptEx. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "devices/bmblk.h"
#include "hw/bridge.h"
#include "hw/machine.h"
#include "kernel/sys.h"

/* --- The hardware: ordering ------------------------------------------------------------- */

struct msi_seen {
	unsigned calls, line;
	uint8_t first; /* the buffer's first byte in memory when the vector saw the edge */
	const uint8_t *buf;
};

static void msi_sink(void *opaque, unsigned line)
{
	struct msi_seen *s = opaque;
	s->calls++;
	s->line = line;
	s->first = s->buf[0];
}

DC_TEST(msi_message_lands_the_devices_posted_writes_first)
{
	struct dc_platform p;
	CHECK_EQ(dc_platform_builtin("pc", &p), 0);
	p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	CHECK_EQ(dc_machine_create(&p, &m), 0);
	struct dc_bridge *br = NULL;
	CHECK_EQ(dc_bridge_create(m, 256, &br), DC_OK);
	struct dc_bmblk_config c = {.irq = 16, .msi = true};
	struct dc_device dev;
	CHECK_EQ(dc_bmblk_create(m, br, &c, &dev), DC_OK);
	CHECK_EQ(dev.res.irq_mode, DC_IRQ_MSI);
	CHECK_EQ(dev.res.msi_messages, 2);
	uint8_t *buf = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(buf);
	struct msi_seen seen = {.buf = buf};
	dc_irq_set_sink(&m->irq, msi_sink, &seen);
	uint8_t data[64];
	memset(data, 0x5A, sizeof(data));
	dc_host_mem_write(dev.host, dc_va_to_pa(m, buf), data, sizeof(data));
	CHECK_EQ(buf[0], 0); /* posted, not landed */
	CHECK(dc_bridge_pending(br, -1) > 0);
	dc_host_msi(dev.host, DC_BMBLK_MSI_ERROR);
	CHECK_EQ(seen.calls, 1);
	CHECK_EQ(seen.line, 17);
	CHECK_MSG(seen.first == 0x5A, "the message overtook the data: memory held %#x", seen.first);
	CHECK_EQ(dc_bridge_pending(br, -1), 0);
	CHECK(!dc_irq_asserted(&m->irq, 17)); /* an edge, nothing held */
	/* No line for the legacy calls; a message that was not granted is dropped and logged. */
	dc_host_irq_raise(dev.host);
	dc_host_msi(dev.host, 2);
	CHECK_EQ(seen.calls, 1);
	CHECK(strstr(dc_device_last_log(&dev), "MSI message 2"));
	dc_free_uncached(m, buf, 1);
	dc_device_detach(&dev);
	dc_bridge_destroy(br);
	dc_machine_destroy(m);
}

DC_TEST(msi_model_declarations_checked)
{
	char err[160];
	struct dc_device_model mm = dc_bmblk_msi_model;
	CHECK_EQ(dc_device_model_check(&mm, err, sizeof(err)), DC_OK);
	mm.res.msi_messages = 3;
	CHECK_EQ(dc_device_model_check(&mm, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "msi_messages 3"), "%s", err);
	mm.res.msi_messages = 32;
	CHECK_EQ(dc_device_model_check(&mm, err, sizeof(err)), DC_ERR_INVAL);
	mm.res.msi_messages = 2;
	mm.res.bus_master = false;
	CHECK_EQ(dc_device_model_check(&mm, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(strstr(err, "bus master"), "%s", err);
}

/* --- The kernel: resources, connection, delivery ------------------------------------------ */

int dc_io_resources(struct dc_sys *s, struct dc_sysdev *d, PCM_RESOURCE_LIST *raw,
                    PCM_RESOURCE_LIST *translated);

struct msg_log {
	unsigned calls[4], other;
	KIRQL irql;
	PKINTERRUPT obj[4];
};
static struct msg_log mlog;

static BOOLEAN msg_routine(PKINTERRUPT Interrupt, PVOID ctx, ULONG id)
{
	if (ctx != &mlog || id >= 4) {
		mlog.other++;
		return FALSE;
	}
	mlog.calls[id]++;
	mlog.obj[id] = Interrupt;
	mlog.irql = KeGetCurrentIrql();
	return TRUE;
}

static BOOLEAN line_routine(PKINTERRUPT Interrupt, PVOID ctx)
{
	(void)Interrupt, (void)ctx;
	mlog.other++;
	return TRUE;
}

struct crash_log {
	unsigned crash, irql;
};
static void crash_kev(void *opaque, const struct dc_kev *e)
{
	struct crash_log *l = opaque;
	l->crash += e->type == DC_KEV_CRASH;
	l->irql += e->type == DC_KEV_IRQL;
}
static const struct dc_observer crash_obs = {.kev = crash_kev};

DC_TEST(msi_connect_message_based_table_ids_and_disconnect)
{
	struct dc_platform p;
	struct dc_sys *s;
	struct dc_sysdev *d, *d2;
	CHECK_EQ(dc_platform_builtin("pc", &p), 0);
	CHECK_EQ(dc_sys_create(&p, &s), 0);
	struct crash_log cl = {0};
	dc_machine_add_observer(dc_sys_machine(s), &crash_obs, &cl);
	CHECK_EQ(dc_sys_add_device(s, "bmblk-msi", NULL, &d), 0);
	CHECK_EQ(dc_sys_add_device(s, "bmblk-msi", NULL, &d2), 0);
	struct dc_device *dev = dc_sysdev_device(d);
	CHECK_EQ(dev->res.irq, 16);                  /* an aligned block above ISA */
	CHECK_EQ(dc_sysdev_device(d2)->res.irq, 18); /* the next one */

	/* The start resources, as the PCI bus reports MSI. */
	PCM_RESOURCE_LIST raw, tr;
	CHECK_EQ(dc_io_resources(s, d, &raw, &tr), 0);
	/* Walked by pointer: PartialDescriptors is declared [1]. */
	PCM_PARTIAL_RESOURCE_DESCRIPTOR rd = NULL, td = NULL;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR rp = raw->List[0].PartialResourceList.PartialDescriptors;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR tp = tr->List[0].PartialResourceList.PartialDescriptors;
	for (ULONG i = 0; i < raw->List[0].PartialResourceList.Count; i++, rp++, tp++)
		if (rp->Type == CmResourceTypeInterrupt) {
			rd = rp;
			td = tp;
		}
	CHECK(rd && td);
	CHECK_EQ(rd->Flags, CM_RESOURCE_INTERRUPT_LATCHED | CM_RESOURCE_INTERRUPT_MESSAGE);
	CHECK_EQ(rd->u.MessageInterrupt.Raw.MessageCount, 2);
	CHECK_EQ(rd->u.MessageInterrupt.Raw.Vector, CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN);
	CHECK_EQ(td->Flags, CM_RESOURCE_INTERRUPT_LATCHED | CM_RESOURCE_INTERRUPT_MESSAGE);
	CHECK_EQ(td->u.MessageInterrupt.Translated.Vector, 0x30 + 16);
	ULONG level = td->u.MessageInterrupt.Translated.Level;
	free(raw);
	free(tr);

	/* Line-based on a device that has only messages: nothing to connect. */
	PDEVICE_OBJECT pdo = dc_sysdev_pdo(d);
	IO_CONNECT_INTERRUPT_PARAMETERS cp;
	PKINTERRUPT ki = NULL;
	memset(&cp, 0, sizeof(cp));
	cp.Version = CONNECT_LINE_BASED;
	cp.LineBased.PhysicalDeviceObject = pdo;
	cp.LineBased.InterruptObject = &ki;
	cp.LineBased.ServiceRoutine = line_routine;
	CHECK_EQ(IoConnectInterruptEx(&cp), STATUS_NOT_FOUND);

	/* Message-based: the table, Version unchanged, the fallback not used. */
	PIO_INTERRUPT_MESSAGE_INFO table = NULL;
	memset(&cp, 0, sizeof(cp));
	cp.Version = CONNECT_MESSAGE_BASED;
	cp.MessageBased.PhysicalDeviceObject = pdo;
	cp.MessageBased.ConnectionContext.InterruptMessageTable = &table;
	cp.MessageBased.MessageServiceRoutine = msg_routine;
	cp.MessageBased.ServiceContext = &mlog;
	cp.MessageBased.FallBackServiceRoutine = line_routine;
	CHECK_EQ(IoConnectInterruptEx(&cp), STATUS_SUCCESS);
	CHECK_EQ(cp.Version, CONNECT_MESSAGE_BASED);
	CHECK(table != NULL);
	CHECK_EQ(table->MessageCount, 2);
	CHECK_EQ(table->UnifiedIrql, (KIRQL)level);
	for (ULONG i = 0; i < 2; i++) {
		IO_INTERRUPT_MESSAGE_INFO_ENTRY *e = &table->MessageInfo[i];
		CHECK_EQ(e->Vector, 0x30 + 16 + i);
		CHECK_EQ(e->MessageData, e->Vector);
		CHECK_EQ(e->MessageAddress.QuadPart, 0xFEE00000);
		CHECK_EQ(e->Mode, Latched);
		CHECK_EQ(e->Polarity, InterruptRisingEdge);
		CHECK_EQ(e->TargetProcessorSet, 1);
		CHECK(e->InterruptObject != NULL);
	}
	CHECK(table->MessageInfo[0].InterruptObject != table->MessageInfo[1].InterruptObject);

	/* One call per message, with its id, on its own interrupt object. */
	memset(&mlog, 0, sizeof(mlog));
	dc_host_msi(dev->host, 1);
	dc_sys_run_for(s, 1000);
	CHECK_EQ(mlog.calls[1], 1);
	CHECK_EQ(mlog.calls[0], 0);
	CHECK_EQ(mlog.irql, (KIRQL)level);
	CHECK(mlog.obj[1] == table->MessageInfo[1].InterruptObject);
	dc_host_msi(dev->host, 0);
	dc_host_msi(dev->host, 1);
	dc_sys_run_for(s, 1000);
	CHECK_EQ(mlog.calls[0], 1);
	CHECK_EQ(mlog.calls[1], 2);
	/* Edges: no message, no call (no storm from a line left asserted). */
	dc_sys_run_for(s, 100000);
	CHECK_EQ(mlog.calls[0] + mlog.calls[1], 3);
	CHECK_EQ(mlog.other, 0);

	/* Disconnected: messages go nowhere; a second disconnect of the table bug-checks. */
	IO_DISCONNECT_INTERRUPT_PARAMETERS dp;
	memset(&dp, 0, sizeof(dp));
	dp.Version = CONNECT_MESSAGE_BASED;
	dp.ConnectionContext.InterruptMessageTable = table;
	IoDisconnectInterruptEx(&dp);
	dc_host_msi(dev->host, 0);
	dc_sys_run_for(s, 1000);
	CHECK_EQ(mlog.calls[0], 1);
	CHECK_EQ(cl.crash, 0);
	IoDisconnectInterruptEx(&dp);
	CHECK_EQ(cl.crash, 1);
	CHECK_EQ(cl.irql, 0);

	/* Left connected at teardown: freed with the system. */
	PIO_INTERRUPT_MESSAGE_INFO t2 = NULL;
	cp.MessageBased.PhysicalDeviceObject = dc_sysdev_pdo(d2);
	cp.MessageBased.ConnectionContext.InterruptMessageTable = &t2;
	CHECK_EQ(IoConnectInterruptEx(&cp), STATUS_SUCCESS);
	CHECK_EQ(t2->MessageInfo[0].Vector, 0x30 + 18);
	dc_sys_destroy(s);
}

DC_TEST(msi_table_layout_matches_the_x64_wdk)
{
	CHECK_EQ(sizeof(IO_INTERRUPT_MESSAGE_INFO_ENTRY), 48);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, TargetProcessorSet), 8);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, InterruptObject), 16);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, MessageData), 24);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, Vector), 28);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, Irql), 32);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, Mode), 36);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO_ENTRY, Polarity), 40);
	CHECK_EQ(sizeof(IO_INTERRUPT_MESSAGE_INFO), 56);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO, MessageCount), 4);
	CHECK_EQ(offsetof(IO_INTERRUPT_MESSAGE_INFO, MessageInfo), 8);
	CHECK_EQ(CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN, 0xFFFFFFFEu);
	CHECK_EQ(InterruptActiveBothTriggerHigh, 4);
}

/* Line interrupts are described as the device signals them: level (INTx, the built-in ISA
 * models) as LevelSensitive, a pulse as Latched (the flag said LevelSensitive for both). */
DC_TEST(line_interrupt_resources_say_latched_for_an_edge_device)
{
	struct dc_platform p;
	struct dc_sys *s;
	struct dc_sysdev *d;
	CHECK_EQ(dc_platform_builtin("pc", &p), 0);
	CHECK_EQ(dc_sys_create(&p, &s), 0);
	CHECK_EQ(dc_sys_add_device(s, "bmblk", NULL, &d), 0);
	for (int edge = 0; edge < 2; edge++) {
		dc_sysdev_device(d)->res.irq_mode = edge ? DC_IRQ_EDGE : DC_IRQ_LEVEL;
		PCM_RESOURCE_LIST raw, tr;
		CHECK_EQ(dc_io_resources(s, d, &raw, &tr), 0);
		PCM_PARTIAL_RESOURCE_DESCRIPTOR rp =
		    raw->List[0].PartialResourceList.PartialDescriptors;
		PCM_PARTIAL_RESOURCE_DESCRIPTOR tp =
		    tr->List[0].PartialResourceList.PartialDescriptors;
		unsigned seen = 0;
		for (ULONG i = 0; i < raw->List[0].PartialResourceList.Count; i++, rp++, tp++)
			if (rp->Type == CmResourceTypeInterrupt) {
				USHORT want = edge ? CM_RESOURCE_INTERRUPT_LATCHED
				                   : CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE;
				CHECK_EQ(rp->Flags, want);
				CHECK_EQ(tp->Flags, want);
				seen++;
			}
		CHECK_EQ(seen, 1);
		free(raw);
		free(tr);
	}
	dc_sysdev_device(d)->res.irq_mode = DC_IRQ_LEVEL;
	dc_sys_destroy(s);
}
