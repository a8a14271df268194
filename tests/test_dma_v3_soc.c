/* v3 subordinate DMA through the HAL on arm-soc (the test plays the driver): IoGetDmaAdapter
 * with a DmaRequestLine binds a PL080 channel; MapTransferEx programs linked-list items and
 * starts it, mapping at most the controller's LLI budget (a shortened *Length); the
 * terminal-count interrupt becomes the DmaCompletionRoutine at DISPATCH_LEVEL; the FIFO tail
 * stays in the controller until FlushAdapterBuffersEx halts the channel; the error interrupt
 * is DmaError; CancelMappedTransfer halts the channel with no completion.  Every byte checked
 * against spififo's store. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "devices/spififo.h"
#include "hw/machine.h"
#include "hw/pl080.h"
#include "kernel/dma_int.h"
#include "kernel/kernel.h"
#include "kernel/sys.h"

struct comp {
	unsigned calls;
	DMA_COMPLETION_STATUS st;
	KIRQL irql;
	PDMA_ADAPTER ad;
};

static VOID on_done(PDMA_ADAPTER a, PDEVICE_OBJECT dev, PVOID ctx, DMA_COMPLETION_STATUS st)
{
	(void)dev;
	struct comp *c = ctx;
	c->calls++;
	c->st = st;
	c->irql = KeGetCurrentIrql();
	c->ad = a;
}

static IO_ALLOCATION_ACTION keep(PDEVICE_OBJECT dev, PIRP irp, PVOID mrb, PVOID ctx)
{
	(void)dev, (void)irp;
	*(PVOID *)ctx = mrb;
	return KeepObject;
}

struct rig {
	struct dc_sys *s;
	struct dc_sysdev *d;
	PDMA_ADAPTER a;
	PDMA_OPERATIONS ops;
	PVOID mrb;
	UCHAR ctx[DMA_TRANSFER_CONTEXT_SIZE_V1];
	uint64_t regs;
};

static bool rig_up(struct rig *r, ULONG max)
{
	memset(r, 0, sizeof(*r));
	struct dc_platform p;
	if (dc_platform_builtin("arm-soc", &p) || dc_sys_create(&p, &r->s))
		return false;
	if (dc_sys_add_device(r->s, "spififo", NULL, &r->d))
		return false;
	r->regs = r->d->dev.res.mmio_base;
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION3;
	dd.DmaRequestLine = DC_SPIFIFO_LINE;
	dd.DeviceAddress.QuadPart = (LONGLONG)(r->regs + DC_SPIFIFO_DATA);
	dd.DmaWidth = Width8Bits;
	dd.MaximumLength = max;
	ULONG n = 0;
	r->a = IoGetDmaAdapter(dc_sysdev_pdo(r->d), &dd, &n);
	if (!r->a)
		return false;
	r->ops = r->a->DmaOperations;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	bool ok = r->ops->InitializeDmaTransferContext(r->a, r->ctx) == STATUS_SUCCESS &&
	          r->ops->AllocateAdapterChannelEx(r->a, dc_sysdev_pdo(r->d), r->ctx, n, 0, keep,
	                                           &r->mrb, NULL) == STATUS_SUCCESS;
	KeLowerIrql(old);
	return ok && r->mrb;
}

static void rig_down(struct rig *r)
{
	if (r->a) {
		KIRQL old;
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		r->ops->FreeAdapterObject(r->a, DeallocateObject);
		KeLowerIrql(old);
		r->ops->PutDmaAdapter(r->a);
	}
	dc_sys_destroy(r->s);
}

static void dev_cmd(struct rig *r, uint32_t cmd, uint32_t lba, uint32_t count)
{
	struct dc_bus *b = &dc_sys_machine(r->s)->bus;
	dc_bus_mmio_write(b, r->regs + DC_SPIFIFO_LBA, lba, 4);
	dc_bus_mmio_write(b, r->regs + DC_SPIFIFO_COUNT, count, 4);
	dc_bus_mmio_write(b, r->regs + DC_SPIFIFO_CMD, cmd, 4);
}

/* Lets simulated time run (at PASSIVE_LEVEL, so the DPC can run) until the completion came. */
static void wait_done(struct rig *r, struct comp *c, unsigned calls)
{
	for (unsigned i = 0; i < 10000 && c->calls < calls; i++)
		dc_sys_run_for(r->s, 10000);
}

static struct dc_pl080_chan_state chan0(struct rig *r)
{
	struct dc_pl080_chan_state st;
	dc_pl080_state(dc_pl080_from_bus(&dc_sys_machine(r->s)->bus), 0, &st);
	return st;
}

/* One direction, the whole buffer, MapTransferEx in a loop honouring shortened lengths. */
static void move(struct rig *r, PMDL mdl, ULONG total, bool to_device, struct comp *c,
                 unsigned *maps, ULONG *first_len, uint32_t *tail_seen)
{
	ULONGLONG off = 0;
	while (off < total) {
		ULONG len = total - (ULONG)off;
		KIRQL old;
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		NTSTATUS st = r->ops->MapTransferEx(r->a, mdl, r->mrb, off, 0, &len, to_device,
		                                    NULL, 0, on_done, c);
		KeLowerIrql(old);
		if (st != STATUS_SUCCESS || len == 0)
			return;
		if (*maps == 0)
			*first_len = len;
		(*maps)++;
		wait_done(r, c, *maps);
		if (tail_seen && chan0(r).fifo > *tail_seen)
			*tail_seen = chan0(r).fifo;
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		r->ops->FlushAdapterBuffersEx(r->a, mdl, r->mrb, off, len, to_device);
		KeLowerIrql(old);
		off += len;
	}
}

DC_TEST(dma_v3_soc_full_transfer_both_directions_every_byte)
{
	enum { TOTAL = 40 * 1024 };
	struct rig r;
	CHECK(rig_up(&r, TOTAL));
	struct dc_machine *m = dc_sys_machine(r.s);
	uint8_t *want = malloc(TOTAL), *got = malloc(TOTAL);
	for (unsigned i = 0; i < TOTAL; i++)
		want[i] = (uint8_t)(i * 7 + (i >> 9));
	CHECK_EQ(r.d->dev.ops->store_write(r.d->dev.opaque, 0, want, TOTAL), DC_OK);
	/* Device -> memory into a buffer the CPU dirtied first: MapTransferEx cleans it, the
	 * flush invalidates it, so the CPU sees the device's bytes. */
	uint8_t *buf = dc_sys_alloc_buffer(r.s, TOTAL, 0, DC_ZONE_ANY);
	memset(got, 0xEE, TOTAL);
	dc_cpu_write(m, buf, got, TOTAL);
	PMDL mdl = IoAllocateMdl(buf, TOTAL, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	dev_cmd(&r, DC_SPIFIFO_CMD_READ, 0, TOTAL / DC_SPIFIFO_SECTOR);
	struct comp c = {0};
	unsigned maps = 0;
	ULONG first = 0;
	uint32_t tail = 0;
	move(&r, mdl, TOTAL, false, &c, &maps, &first, &tail);
	CHECK_EQ(c.calls, maps);
	CHECK_EQ(c.st, DmaComplete);
	CHECK_EQ(c.irql, DISPATCH_LEVEL);
	CHECK(c.ad == r.a);
	/* Partial mapping: the LLI budget shortened the first call, STATUS_SUCCESS (scattered
	 * pages: an item per 4092 bytes of each page's run, so four whole pages). */
	CHECK_EQ(first, 4 * 4096);
	CHECK(maps >= 2);
	CHECK(tail > 0); /* a FIFO tail was held until the flush */
	dc_cpu_read(m, buf, got, TOTAL);
	CHECK(!memcmp(got, want, TOTAL));
	/* Memory -> device: the CPU's bytes (dirty in its cache) reach the store. */
	for (unsigned i = 0; i < TOTAL; i++)
		want[i] = (uint8_t)(i * 13 + 5);
	dc_cpu_write(m, buf, want, TOTAL);
	dev_cmd(&r, DC_SPIFIFO_CMD_WRITE, 8, TOTAL / DC_SPIFIFO_SECTOR);
	struct comp cw = {0};
	maps = 0;
	move(&r, mdl, TOTAL, true, &cw, &maps, &first, NULL);
	CHECK_EQ(cw.calls, maps);
	CHECK_EQ(cw.st, DmaComplete);
	for (unsigned i = 0; i < 100 && chan0(&r).requesting; i++)
		dc_sys_run_for(r.s, 10000);
	memset(got, 0, TOTAL);
	CHECK_EQ(r.d->dev.ops->store_read(r.d->dev.opaque, 8 * DC_SPIFIFO_SECTOR, got, TOTAL),
	         DC_OK);
	CHECK(!memcmp(got, want, TOTAL));
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	free(want);
	free(got);
	rig_down(&r);
}

/* One linked-list item per physically contiguous run of the MDL's pages, straight into the
 * buffer (no bounce page when the controller reaches it), the items chained in buffer order;
 * when the items run out the mapping is partial. */
DC_TEST(dma_v3_soc_lli_per_contiguous_run_without_copy)
{
	enum { TOTAL = 40 * 1024 };
	struct rig r;
	CHECK(rig_up(&r, TOTAL));
	struct dc_machine *m = dc_sys_machine(r.s);
	uint8_t *want = malloc(TOTAL), *got = malloc(TOTAL);
	for (unsigned i = 0; i < TOTAL; i++)
		want[i] = (uint8_t)(i * 11 + (i >> 10));
	CHECK_EQ(r.d->dev.ops->store_write(r.d->dev.opaque, 0, want, TOTAL), DC_OK);
	/* Three scattered pages, the data starting 100 bytes into the first: runs of 3996, 4096
	 * and 100 bytes, four items. */
	uint8_t *buf = dc_sys_alloc_buffer(r.s, 8192, 100, DC_ZONE_ANY);
	PMDL mdl = IoAllocateMdl(buf, 8192, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	dev_cmd(&r, DC_SPIFIFO_CMD_READ, 0, 8192 / DC_SPIFIFO_SECTOR);
	struct comp c = {0};
	ULONG len = 8192;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->MapTransferEx(r.a, mdl, r.mrb, 0, 0, &len, FALSE, NULL, 0, on_done, &c),
	         STATUS_SUCCESS);
	KeLowerIrql(old);
	CHECK_EQ(len, 8192);
	/* The first item writes the buffer's own first page. */
	CHECK_EQ(chan0(&r).dst, (uint32_t)dc_va_to_pa(m, buf));
	wait_done(&r, &c, 1);
	CHECK_EQ(c.st, DmaComplete);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->FlushAdapterBuffersEx(r.a, mdl, r.mrb, 0, len, FALSE), STATUS_SUCCESS);
	KeLowerIrql(old);
	CHECK_EQ(dc_pl080_stats(dc_pl080_from_bus(&m->bus), 0)->llis, 3);
	dc_cpu_read(m, buf, got, 8192);
	CHECK(!memcmp(got, want, 8192));
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	/* Ten whole pages, scattered: two items a 4096-byte run (three for two adjacent pages),
	 * so four or five pages, then a partial mapping. */
	buf = dc_sys_alloc_buffer(r.s, TOTAL, 0, DC_ZONE_ANY);
	mdl = IoAllocateMdl(buf, TOTAL, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	len = TOTAL;
	struct comp c2 = {0};
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->MapTransferEx(r.a, mdl, r.mrb, 0, 0, &len, TRUE, NULL, 0, on_done, &c2),
	         STATUS_SUCCESS);
	CHECK(len >= 4 * 4096 && len < TOTAL && len % 4096 == 0);
	CHECK_EQ(chan0(&r).src, (uint32_t)dc_va_to_pa(m, buf));
	CHECK_EQ(r.ops->CancelMappedTransfer(r.a, r.ctx), STATUS_SUCCESS);
	CHECK_EQ(r.ops->FlushAdapterBuffersEx(r.a, mdl, r.mrb, 0, len, TRUE), STATUS_SUCCESS);
	KeLowerIrql(old);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	free(want);
	free(got);
	rig_down(&r);
}

/* The tail of a device -> memory transfer is in the PL080's FIFO after the completion and
 * reaches memory only when FlushAdapterBuffersEx halts the channel. */
DC_TEST(dma_v3_soc_tail_held_until_flush)
{
	enum { LEN = 1000 }; /* 1000 % 16: an 8-byte tail */
	struct rig r;
	CHECK(rig_up(&r, 4096));
	struct dc_machine *m = dc_sys_machine(r.s);
	uint8_t want[DC_SPIFIFO_SECTOR * 2], got[LEN];
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i ^ 0x5A);
	CHECK_EQ(r.d->dev.ops->store_write(r.d->dev.opaque, 0, want, sizeof(want)), DC_OK);
	uint8_t *buf = dc_sys_alloc_buffer(r.s, 4096, 0, DC_ZONE_ANY);
	PMDL mdl = IoAllocateMdl(buf, LEN, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	dev_cmd(&r, DC_SPIFIFO_CMD_READ, 0, 2);
	struct comp c = {0};
	ULONG len = LEN;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->MapTransferEx(r.a, mdl, r.mrb, 0, 0, &len, FALSE, NULL, 0, on_done, &c),
	         STATUS_SUCCESS);
	KeLowerIrql(old);
	CHECK_EQ(len, LEN);
	wait_done(&r, &c, 1);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(c.st, DmaComplete);
	struct dc_pl080_chan_state st = chan0(&r);
	CHECK_EQ(st.fifo, LEN % 16);
	CHECK(st.config & DC_PL080_CCFG_A);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->FlushAdapterBuffersEx(r.a, mdl, r.mrb, 0, len, FALSE), STATUS_SUCCESS);
	KeLowerIrql(old);
	st = chan0(&r);
	CHECK_EQ(st.fifo, 0);
	CHECK(!(st.config & DC_PL080_CCFG_E));
	dc_cpu_read(m, buf, got, LEN);
	CHECK(!memcmp(got, want, LEN));
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	rig_down(&r);
}

/* The device answers with an error half way: the error interrupt, DmaError, and the flush
 * says the transfer failed. */
/* The HAL's DC_KEV_DMA_COMPLETION events: how many, the last one. */
struct comp_log {
	unsigned n;
	struct dc_kev last;
};

static void comp_kev(void *opaque, const struct dc_kev *e)
{
	struct comp_log *l = opaque;
	if (e->type == DC_KEV_DMA_COMPLETION) {
		l->n++;
		l->last = *e;
	}
}

static const struct dc_observer comp_logger = {.kev = comp_kev};

DC_TEST(dma_v3_soc_error_interrupt_is_dma_error)
{
	struct rig r;
	CHECK(rig_up(&r, 8192));
	struct comp_log cl = {0};
	dc_machine_add_observer(dc_sys_machine(r.s), &comp_logger, &cl);
	uint8_t *buf = dc_sys_alloc_buffer(r.s, 8192, 0, DC_ZONE_ANY);
	PMDL mdl = IoAllocateMdl(buf, 8192, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	r.d->dev.ops->inject_fault(r.d->dev.opaque, DC_FAULT_TRANSFER_ERROR);
	dev_cmd(&r, DC_SPIFIFO_CMD_READ, 0, 16);
	struct comp c = {0};
	ULONG len = 8192;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->MapTransferEx(r.a, mdl, r.mrb, 0, 0, &len, FALSE, NULL, 0, on_done, &c),
	         STATUS_SUCCESS);
	KeLowerIrql(old);
	wait_done(&r, &c, 1);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(c.st, DmaError);
	/* The checker sees the status the routine got, with the transfer it ends. */
	CHECK_EQ(cl.n, 1);
	CHECK_EQ(cl.last.status, DmaError);
	CHECK(cl.last.mdl == mdl && cl.last.mrb == r.mrb && cl.last.value == 0);
	CHECK(cl.last.pc == (const void *)(uintptr_t)on_done);
	/* DeviceAddress kept whole: arm-soc's FIFO register lies above 4 GiB. */
	CHECK(r.regs > UINT32_MAX);
	CHECK_EQ(cl.last.logical, r.regs + DC_SPIFIFO_DATA);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK(r.ops->FlushAdapterBuffersEx(r.a, mdl, r.mrb, 0, len, FALSE) != STATUS_SUCCESS);
	KeLowerIrql(old);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	rig_down(&r);
}

/* CancelMappedTransfer halts the channel: the completion routine runs with DmaCancelled (the
 * WDK's CancelMappedTransfer remarks), the flush is still owed and succeeds, the channel ends
 * disabled, a second cancel finds nothing. */
DC_TEST(dma_v3_soc_cancel_halts_the_channel)
{
	struct rig r;
	CHECK(rig_up(&r, 8192));
	uint8_t *buf = dc_sys_alloc_buffer(r.s, 8192, 0, DC_ZONE_ANY);
	PMDL mdl = IoAllocateMdl(buf, 8192, FALSE, FALSE, NULL);
	MmBuildMdlForNonPagedPool(mdl);
	struct comp c = {0};
	ULONG len = 8192;
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	/* No command yet: the device does not request, the channel waits. */
	CHECK_EQ(r.ops->MapTransferEx(r.a, mdl, r.mrb, 0, 0, &len, FALSE, NULL, 0, on_done, &c),
	         STATUS_SUCCESS);
	CHECK(chan0(&r).config & DC_PL080_CCFG_E);
	CHECK_EQ(r.ops->CancelMappedTransfer(r.a, r.ctx), STATUS_SUCCESS);
	CHECK(chan0(&r).config & DC_PL080_CCFG_H);
	KeLowerIrql(old);
	dev_cmd(&r, DC_SPIFIFO_CMD_READ, 0, 16);
	dc_sys_run_for(r.s, 10000000);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(c.st, DmaCancelled);
	CHECK_EQ(c.irql, DISPATCH_LEVEL);
	CHECK_EQ(dc_pl080_stats(dc_pl080_from_bus(&dc_sys_machine(r.s)->bus), 0)->dst_bytes, 0);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(r.ops->FlushAdapterBuffersEx(r.a, mdl, r.mrb, 0, len, FALSE), STATUS_SUCCESS);
	CHECK(!(chan0(&r).config & DC_PL080_CCFG_E));
	CHECK_EQ(r.ops->CancelMappedTransfer(r.a, r.ctx), STATUS_UNSUCCESSFUL);
	KeLowerIrql(old);
	IoFreeMdl(mdl);
	dc_sys_free_buffer(r.s, buf);
	rig_down(&r);
}

/* The adapter: a v3 table, one adapter per request line, none without a request-line
 * controller's line, and the completion routine accepted (unlike the 8237). */
DC_TEST(dma_v3_soc_adapter_per_request_line)
{
	struct rig r;
	CHECK(rig_up(&r, 8192));
	CHECK_EQ(r.ops->Size, sizeof(DMA_OPERATIONS));
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION3;
	dd.DmaRequestLine = DC_SPIFIFO_LINE;
	dd.MaximumLength = 4096;
	ULONG n = 0;
	CHECK(!IoGetDmaAdapter(dc_sysdev_pdo(r.d), &dd, &n)); /* line taken */
	dd.DmaRequestLine = DC_PL080_LINES;
	CHECK(!IoGetDmaAdapter(dc_sysdev_pdo(r.d), &dd, &n)); /* no such line */
	dd.DmaRequestLine = 4;
	PDMA_ADAPTER b = IoGetDmaAdapter(dc_sysdev_pdo(r.d), &dd, &n);
	CHECK(b);
	if (b)
		b->DmaOperations->PutDmaAdapter(b);
	DMA_ADAPTER_INFO info;
	memset(&info, 0, sizeof(info));
	info.Version = DMA_ADAPTER_INFO_VERSION1;
	CHECK_EQ(r.ops->GetDmaAdapterInfo(r.a, &info), STATUS_SUCCESS);
	CHECK_EQ(info.V1.DmaAddressWidth, 32);
	rig_down(&r);
}
