/* `make bench`, DMA version 3 throughput: host bytes per second of whole bus-master transfers
 * made through the real v3 routines of the kernel layer (src/kernel/dma_v3.c), sanitizer off
 * and on, as a ratio to a host `memcpy` of the same bytes timed in the same process, in
 * alternating slices (as bench/dma.c does for the engines alone).  It prints a Markdown section
 * that bench/run.sh appends to bench/RESULTS.md.
 *
 *   dmacoh-bench-dma-v3
 *
 * Per transfer, as a v3 driver does it (the bench plays the driver, without IRPs): a synchronous
 * AllocateAdapterChannelEx without routine (the map registers at once), MapTransferEx into the
 * caller's scatter/gather buffer (which cleans the CPU caches over the bytes) looping on partial
 * mappings, the bmblk command registers and doorbell through MmMapIoSpace, the clock run until
 * the device is no longer busy, FlushAdapterBuffersEx (drain, invalidate after a read) and
 * FreeAdapterObject(DeallocateObject).  A bmblk with 32 address bits, its buffer below 4 GiB:
 * no bounce.  Sanitizer on: a second system with a checker attached (dc_check_create, as
 * `dmacoh run` does), which sees every kernel event of those routines; any finding stops the
 * bench.  Not measured: system DMA through v3 (the 8237's figures are bench/dma.c's).
 *
 * Second table: the arm-soc request-line path at machine level -- the PL080 and the spififo
 * peripheral programmed at register level as a HAL would (one linked-list item per 4 KiB page,
 * built in memory; the device command; the clock run to the device's DONE; the halt that
 * drains the channel FIFO), no kernel layer and so no sanitizer.
 *
 * Third table: the same arm-soc path through the HAL (src/kernel/dma_v3_soc.c), sanitizer off
 * and on: a v3 adapter on spififo's request line, per transfer a synchronous
 * AllocateAdapterChannelEx, the device command, MapTransferEx with a DmaCompletionRoutine in a
 * loop honouring shortened lengths (the PL080's LLI budget), the clock run until the routine
 * ran, FlushAdapterBuffersEx (the halt that drains the FIFO), then the device's DONE and
 * FreeAdapterObject. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"
#include "dmacoh/check.h"
#include "hw/machine.h"
#include "devices/spififo.h"
#include "hw/bridge.h"
#include "hw/pl080.h"
#include "kernel/sys.h"

#define RUNS 5
#define SLICES 6
#define SLICE_BYTES (8u << 20)
#define MAX_LEN (256u << 10)
#define SG_MAX 64

/* bmblk registers (docs/devices/bmblk.md). */
#define R_STATUS 0x0C
#define R_INT_STATUS 0x10
#define R_LBA_LO 0x18
#define R_LBA_HI 0x1C
#define R_SECTORS 0x20
#define R_SG_COUNT 0x24
#define R_DOORBELL 0x28
#define R_SG(i) (0x100 + 16 * (i))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "dmacoh-bench-dma-v3: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* What both v3 rigs (the bus master's and the HAL's request-line one) hold: a system with one
 * device, the checker if the sanitizer is on, the v3 adapter, the device's registers, a
 * MAX_LEN buffer with its MDL and a transfer context. */
struct v3base {
	struct dc_sys *s;
	struct dc_check *chk;
	struct dc_sysdev *d;
	PDMA_ADAPTER a;
	volatile UCHAR *regs;
	uint8_t *buf;
	PMDL mdl;
	UCHAR ctx[DMA_TRANSFER_CONTEXT_SIZE_V1];
	ULONG nmr;
};

static void v3_sys_up(struct v3base *b, const char *plat, const char *device, bool san)
{
	struct dc_platform p;
	if (dc_platform_builtin(plat, &p) || dc_sys_create(&p, &b->s))
		die("no system on %s", plat);
	if (dc_sys_add_device(b->s, device, NULL, &b->d))
		die("no %s", device);
	if (san) {
		struct dc_check_opts o;
		dc_check_opts_init(&o);
		o.alignment_warnings = false;
		if (dc_check_create(dc_sys_machine(b->s), &o, &b->chk))
			die("dc_check_create failed");
	}
}

/* The adapter dd describes (what: for the message if there is none), then the rest. */
static void v3_adapter_up(struct v3base *b, DEVICE_DESCRIPTION *dd, const char *what)
{
	b->a = IoGetDmaAdapter(dc_sysdev_pdo(b->d), dd, &b->nmr);
	if (!b->a)
		die("no %s", what);
	const struct dc_device *dev = dc_sysdev_device(b->d);
	PHYSICAL_ADDRESS base;
	base.QuadPart = (LONGLONG)dev->res.mmio_base;
	b->regs = MmMapIoSpace(base, dev->res.mmio_len, MmNonCached);
	b->buf = dc_sys_alloc_buffer(b->s, MAX_LEN, 0, DC_ZONE_DMA32);
	b->mdl = IoAllocateMdl(b->buf, MAX_LEN, FALSE, FALSE, NULL);
	if (!b->regs || !b->buf || !b->mdl)
		die("setup failed");
	MmBuildMdlForNonPagedPool(b->mdl);
	if (b->a->DmaOperations->InitializeDmaTransferContext(b->a, b->ctx))
		die("InitializeDmaTransferContext failed");
}

/* Tears a rig down; the sanitizer must have found nothing (what: which rig, for the message). */
static void v3_down(struct v3base *b, const char *what)
{
	dc_sys_run_for(b->s, 0);
	if (b->chk && dc_check_count(b->chk)) {
		dc_check_report(b->chk);
		die("the sanitizer found something in a correct sequence%s", what);
	}
	IoFreeMdl(b->mdl);
	MmUnmapIoSpace((PVOID)b->regs, dc_sysdev_device(b->d)->res.mmio_len);
	b->a->DmaOperations->PutDmaAdapter(b->a);
	if (b->chk)
		dc_check_destroy(b->chk);
	dc_sys_free_buffer(b->s, b->buf);
	dc_sys_destroy(b->s);
}

struct rig {
	struct v3base b;
	ULONG_PTR sg_buf[(sizeof(SCATTER_GATHER_LIST) + SG_MAX * sizeof(SCATTER_GATHER_ELEMENT)) /
	                 sizeof(ULONG_PTR)];
};

static void wr(struct rig *r, ULONG off, ULONG v)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(r->b.regs + off), v);
}

static ULONG rd(struct rig *r, ULONG off)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(r->b.regs + off));
}

static void rig_up(struct rig *r, const char *plat, bool san)
{
	memset(r, 0, sizeof(*r));
	v3_sys_up(&r->b, plat, "bmblk", san);
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION3;
	dd.Master = TRUE;
	dd.ScatterGather = TRUE;
	dd.DmaAddressWidth = 32;
	dd.InterfaceType = PCIBus;
	dd.MaximumLength = MAX_LEN;
	v3_adapter_up(&r->b, &dd, "v3 adapter");
}

static void rig_down(struct rig *r)
{
	v3_down(&r->b, "");
}

/* One whole transfer of len bytes (whole sectors) at sector 0, through the v3 routines. */
static void xfer(struct rig *r, bool read, ULONG len)
{
	PDMA_OPERATIONS ops = r->b.a->DmaOperations;
	PSCATTER_GATHER_LIST sg = (PSCATTER_GATHER_LIST)r->sg_buf;
	dc_sys_run_for(r->b.s, 0); /* this system is the current one (two are alive) */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	PVOID mrb = NULL;
	ULONG regs = ADDRESS_AND_SIZE_TO_SPAN_PAGES(r->b.buf, len);
	if (regs > r->b.nmr)
		regs = r->b.nmr;
	if (ops->AllocateAdapterChannelEx(r->b.a, dc_sysdev_pdo(r->b.d), r->b.ctx, regs,
	                                  DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb))
		die("AllocateAdapterChannelEx failed (%u registers)", (unsigned)regs);
	for (ULONG done = 0; done < len;) {
		ULONG l = len - done;
		if (ops->MapTransferEx(r->b.a, r->b.mdl, mrb, done, 0, &l, (BOOLEAN)!read, sg,
		                       sizeof(r->sg_buf), NULL, NULL))
			die("MapTransferEx failed");
		ULONG sectors = l / 512, n = sg->NumberOfElements, total = 0;
		if (!sectors || n > SG_MAX)
			die("a piece the device cannot take");
		for (ULONG i = 0; i < n; i++) {
			ULONG el = sg->Elements[i].Length;
			if (el > sectors * 512 - total)
				el = sectors * 512 - total;
			wr(r, R_SG(i), sg->Elements[i].Address.LowPart);
			wr(r, R_SG(i) + 4, 0);
			wr(r, R_SG(i) + 8, el);
			total += el;
		}
		wr(r, R_LBA_LO, done / 512);
		wr(r, R_LBA_HI, 0);
		wr(r, R_SECTORS, sectors);
		wr(r, R_SG_COUNT, n);
		wr(r, R_DOORBELL, read ? 1 : 2);
		KeLowerIrql(old);
		while (rd(r, R_STATUS) & 1)
			dc_sys_run_for(r->b.s, 20000);
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		wr(r, R_INT_STATUS, 3);
		if (ops->FlushAdapterBuffersEx(r->b.a, r->b.mdl, mrb, done, l, (BOOLEAN)!read))
			die("FlushAdapterBuffersEx failed");
		done += sectors * 512;
	}
	ops->FreeAdapterObject(r->b.a, DeallocateObject);
	KeLowerIrql(old);
}

static uint8_t *mc_src, *mc_dst;

static uint64_t slice_memcpy(uint32_t len, uint32_t k)
{
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < k; i++) {
		memcpy(mc_dst, mc_src, len);
		__asm__ volatile("" : : "r"(mc_dst) : "memory");
	}
	return now_ns() - t0;
}

static uint64_t slice_dma(struct rig *r, bool read, uint32_t len, uint32_t k)
{
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < k; i++)
		xfer(r, read, len);
	return now_ns() - t0;
}

/* --- arm-soc: the PL080 and spififo at register level ----------------------------------------- */

#define SOC_BUF 0x1000000u /* the transfer buffer's physical address */
#define SOC_LLI 0x0800000u /* the linked-list items */

struct socrig {
	struct dc_machine *m;
	struct dc_pl080 *d;
	struct dc_device dev;
	uint64_t base, dev_base;
	int src;
};

static void soc_up(struct socrig *s)
{
	struct dc_platform p;
	char err[256] = "";
	memset(s, 0, sizeof(*s));
	if (dc_platform_builtin("arm-soc", &p) || dc_machine_create(&p, &s->m))
		die("arm-soc machine");
	s->base = dc_mmio_window(s->m) + DC_PL080_MMIO_OFFSET;
	if (dc_pl080_create(s->m, s->base, DC_PL080_IRQ, &s->d))
		die("pl080");
	struct dc_device_res res = dc_spififo_model.res;
	res.irq = 5;
	res.mmio_base = 0;
	struct dc_device_cfg cfg = {.capacity = 1u << 20, .latency_ns = 1};
	if (dc_device_attach(s->m, NULL, &dc_spififo_model, &res, &cfg, &s->dev, err, sizeof(err)))
		die("spififo: %s", err);
	s->dev_base = s->dev.res.mmio_base;
	s->src = dc_machine_dma_source(s->m, "bench");
	dc_bus_mmio_write(&s->m->bus, s->base + DC_PL080_CONFIG, DC_PL080_CFG_E, 4);
}

static void soc_down(struct socrig *s)
{
	dc_device_detach(&s->dev);
	dc_pl080_destroy(s->d);
	dc_machine_destroy(s->m);
}

static void soc_xfer(struct socrig *s, bool read, uint32_t len)
{
	struct dc_bus *b = &s->m->bus;
	uint64_t ch = s->base + DC_PL080_CH(0);
	uint32_t data = (uint32_t)(s->dev_base + DC_SPIFIFO_DATA), n = len / 4096;
	uint32_t ctl = 1024u | DC_PL080_BSIZE_4 << DC_PL080_CTL_SBSIZE_SHIFT |
	               DC_PL080_BSIZE_4 << DC_PL080_CTL_DBSIZE_SHIFT |
	               DC_PL080_WIDTH_32 << DC_PL080_CTL_SWIDTH_SHIFT |
	               DC_PL080_WIDTH_32 << DC_PL080_CTL_DWIDTH_SHIFT |
	               (read ? DC_PL080_CTL_DI : DC_PL080_CTL_SI);
	static uint32_t items[(MAX_LEN / 4096) * 4];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t mem = SOC_BUF + i * 4096;
		items[4 * i] = read ? data : mem;
		items[4 * i + 1] = read ? mem : data;
		items[4 * i + 2] = i + 1 < n ? SOC_LLI + (i + 1) * 16 : 0;
		items[4 * i + 3] = ctl | (i + 1 == n ? DC_PL080_CTL_I : 0);
	}
	dc_dma_write(s->m, s->src, SOC_LLI, items, n * 16);
	for (unsigned r = 0; r < 4; r++)
		dc_bus_mmio_write(b, ch + 4 * r, items[r], 4);
	dc_bus_mmio_write(b, ch + DC_PL080_CH_CONFIG,
	                  DC_PL080_CCFG_E | DC_PL080_CCFG_ITC | DC_PL080_CCFG_IE |
	                      (read ? DC_PL080_FLOW_P2M << DC_PL080_CCFG_FLOW_SHIFT |
	                                  DC_SPIFIFO_LINE << DC_PL080_CCFG_SRCPER_SHIFT
	                            : DC_PL080_FLOW_M2P << DC_PL080_CCFG_FLOW_SHIFT |
	                                  DC_SPIFIFO_LINE << DC_PL080_CCFG_DSTPER_SHIFT),
	                  4);
	dc_bus_mmio_write(b, s->dev_base + DC_SPIFIFO_LBA, 0, 4);
	dc_bus_mmio_write(b, s->dev_base + DC_SPIFIFO_COUNT, len / 512, 4);
	dc_bus_mmio_write(b, s->dev_base + DC_SPIFIFO_CMD,
	                  read ? DC_SPIFIFO_CMD_READ : DC_SPIFIFO_CMD_WRITE, 4);
	uint32_t st;
	while (!((st = dc_bus_mmio_read(b, s->dev_base + DC_SPIFIFO_STATUS, 4)) &
	         (DC_SPIFIFO_ST_DONE | DC_SPIFIFO_ST_ERR)))
		if (!dc_clock_step(&s->m->clock))
			die("pl080 transfer stalled");
	if (st & DC_SPIFIFO_ST_ERR)
		die("spififo error");
	/* The drain: halt, then disable (the FIFO tail reaches memory). */
	uint32_t cfg = dc_bus_mmio_read(b, ch + DC_PL080_CH_CONFIG, 4);
	dc_bus_mmio_write(b, ch + DC_PL080_CH_CONFIG, cfg | DC_PL080_CCFG_H, 4);
	dc_bus_mmio_write(b, ch + DC_PL080_CH_CONFIG, 0, 4);
	dc_bus_mmio_write(b, s->base + DC_PL080_INT_TC_CLEAR, 1, 4);
	dc_bus_mmio_write(b, s->dev_base + DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_DONE, 4);
}

static uint64_t slice_soc(struct socrig *s, bool read, uint32_t len, uint32_t k)
{
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < k; i++)
		soc_xfer(s, read, len);
	return now_ns() - t0;
}

static void soc_table(const uint32_t *sizes, unsigned nsizes)
{
	printf("\nRequest-line system DMA on `arm-soc` (`%s`, second table): the PL080 and the "
	       "spififo peripheral programmed at register level as a HAL would (one linked-list "
	       "item per 4 KiB page, the device command, the clock run to DONE, the halt that "
	       "drains the channel FIFO), against `memcpy` in the same process, same runs and "
	       "slices.  Machine level only: no kernel layer, so no sanitizer column (the third "
	       "table goes through the HAL).\n\n",
	       "bench/dma_v3.c");
	printf("| platform | direction | size | DMA ÷ memcpy | ns per transfer DMA / memcpy |\n"
	       "|---|---|---|---|---|\n");
	struct socrig s;
	soc_up(&s);
	for (int read = 0; read < 2; read++)
		for (unsigned si = 0; si < nsizes; si++) {
			uint32_t len = sizes[si], k = SLICE_BYTES / len;
			double ratio[RUNS], ns_dma[RUNS], ns_mc[RUNS];
			soc_xfer(&s, read, len);
			for (int run = 0; run < RUNS; run++) {
				uint64_t a = 0, c = 0;
				for (int sl = 0; sl < SLICES; sl++) {
					c += slice_memcpy(len, k);
					a += slice_soc(&s, read, len, k);
				}
				ratio[run] = (double)c / (double)a;
				double nn = (double)SLICES * k;
				ns_dma[run] = (double)a / nn;
				ns_mc[run] = (double)c / nn;
			}
			struct summary so = summarize(ratio, RUNS);
			printf(
			    "| arm-soc (PL080) | %s | %u KiB | %.3f (%.3f–%.3f) | %.0f / %.0f |\n",
			    read ? "read" : "write", len >> 10, so.med, so.min, so.max,
			    summarize(ns_dma, RUNS).med, summarize(ns_mc, RUNS).med);
			fflush(stdout);
		}
	soc_down(&s);
}

/* --- arm-soc through the HAL: v3 subordinate DMA ---------------------------------------------- */

struct halrig {
	struct v3base b;
	unsigned completions;
	DMA_COMPLETION_STATUS st;
};

static VOID hal_done(PDMA_ADAPTER a, PDEVICE_OBJECT dev, PVOID ctx, DMA_COMPLETION_STATUS st)
{
	(void)a, (void)dev;
	struct halrig *h = ctx;
	h->completions++;
	h->st = st;
}

static void hal_up(struct halrig *h, bool san)
{
	memset(h, 0, sizeof(*h));
	v3_sys_up(&h->b, "arm-soc", "spififo", san);
	const struct dc_device *dev = dc_sysdev_device(h->b.d);
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION3;
	dd.DmaRequestLine = DC_SPIFIFO_LINE;
	dd.DeviceAddress.QuadPart = (LONGLONG)(dev->res.mmio_base + DC_SPIFIFO_DATA);
	dd.DmaWidth = Width8Bits;
	dd.MaximumLength = MAX_LEN;
	v3_adapter_up(&h->b, &dd, "v3 request-line adapter");
}

static void hal_down(struct halrig *h)
{
	v3_down(&h->b, " (HAL)");
}

static void hal_wr(struct halrig *h, ULONG off, ULONG v)
{
	WRITE_REGISTER_ULONG((volatile ULONG *)(h->b.regs + off), v);
}

static ULONG hal_rd(struct halrig *h, ULONG off)
{
	return READ_REGISTER_ULONG((volatile ULONG *)(h->b.regs + off));
}

static void hal_xfer(struct halrig *h, bool read, ULONG len)
{
	PDMA_OPERATIONS ops = h->b.a->DmaOperations;
	dc_sys_run_for(h->b.s, 0); /* this system is the current one */
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	PVOID mrb = NULL;
	if (ops->AllocateAdapterChannelEx(h->b.a, dc_sysdev_pdo(h->b.d), h->b.ctx, h->b.nmr,
	                                  DMA_SYNCHRONOUS_CALLBACK, NULL, NULL, &mrb))
		die("AllocateAdapterChannelEx failed");
	hal_wr(h, DC_SPIFIFO_LBA, 0);
	hal_wr(h, DC_SPIFIFO_COUNT, len / DC_SPIFIFO_SECTOR);
	hal_wr(h, DC_SPIFIFO_CMD, read ? DC_SPIFIFO_CMD_READ : DC_SPIFIFO_CMD_WRITE);
	for (ULONG done = 0; done < len;) {
		ULONG l = len - done;
		unsigned want = h->completions + 1;
		if (ops->MapTransferEx(h->b.a, h->b.mdl, mrb, done, 0, &l, (BOOLEAN)!read, NULL, 0,
		                       hal_done, h))
			die("MapTransferEx failed");
		KeLowerIrql(old);
		while (h->completions < want)
			dc_sys_run_for(h->b.s, 20000);
		KeRaiseIrql(DISPATCH_LEVEL, &old);
		if (h->st != DmaComplete ||
		    ops->FlushAdapterBuffersEx(h->b.a, h->b.mdl, mrb, done, l, (BOOLEAN)!read))
			die("the transfer failed");
		done += l;
	}
	KeLowerIrql(old);
	while (!(hal_rd(h, DC_SPIFIFO_STATUS) & DC_SPIFIFO_ST_DONE))
		dc_sys_run_for(h->b.s, 20000);
	hal_wr(h, DC_SPIFIFO_STATUS, DC_SPIFIFO_ST_DONE);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	ops->FreeAdapterObject(h->b.a, DeallocateObject);
	KeLowerIrql(old);
}

static uint64_t slice_hal(struct halrig *h, bool read, uint32_t len, uint32_t k)
{
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < k; i++)
		hal_xfer(h, read, len);
	return now_ns() - t0;
}

static void hal_table(const uint32_t *sizes, unsigned nsizes)
{
	printf("\nRequest-line system DMA on `arm-soc` through the HAL (`%s`, third table): a v3 "
	       "adapter on spififo's request line; per transfer a synchronous "
	       "AllocateAdapterChannelEx, the device command, MapTransferEx with a "
	       "DmaCompletionRoutine looping on shortened lengths (at most 32,736 bytes per "
	       "call), the clock run to the completion, FlushAdapterBuffersEx, the device's "
	       "DONE, FreeAdapterObject; sanitizer off and on (a checker attached to a second "
	       "system), against `memcpy`, same runs and slices.\n\n",
	       "bench/dma_v3.c");
	printf("| platform | direction | size | DMA ÷ memcpy, sanitizer off | on | ns per transfer "
	       "off / on / memcpy |\n|---|---|---|---|---|---|\n");
	struct halrig h, hs;
	hal_up(&h, false);
	hal_up(&hs, true);
	for (int read = 0; read < 2; read++)
		for (unsigned si = 0; si < nsizes; si++) {
			uint32_t len = sizes[si], k = SLICE_BYTES / len;
			double off[RUNS], on[RUNS], ns_off[RUNS], ns_on[RUNS], ns_mc[RUNS];
			hal_xfer(&h, read, len);
			hal_xfer(&hs, read, len);
			for (int run = 0; run < RUNS; run++) {
				uint64_t a = 0, b = 0, c = 0;
				for (int sl = 0; sl < SLICES; sl++) {
					c += slice_memcpy(len, k);
					a += slice_hal(&h, read, len, k);
					b += slice_hal(&hs, read, len, k);
				}
				off[run] = (double)c / (double)a;
				on[run] = (double)c / (double)b;
				double n = (double)SLICES * k;
				ns_off[run] = (double)a / n;
				ns_on[run] = (double)b / n;
				ns_mc[run] = (double)c / n;
			}
			struct summary so = summarize(off, RUNS), sn = summarize(on, RUNS);
			printf("| arm-soc (PL080, HAL) | %s | %u KiB | %.3f (%.3f–%.3f) | %.3f "
			       "(%.3f–%.3f) | %.0f / %.0f / %.0f |\n",
			       read ? "read" : "write", len >> 10, so.med, so.min, so.max, sn.med,
			       sn.min, sn.max, summarize(ns_off, RUNS).med,
			       summarize(ns_on, RUNS).med, summarize(ns_mc, RUNS).med);
			fflush(stdout);
		}
	hal_down(&h);
	hal_down(&hs);
}

int main(void)
{
	static const char *const plats[] = {"pc", "noncoherent"};
	static const uint32_t sizes[] = {4u << 10, 64u << 10, 256u << 10};
	mc_src = malloc(MAX_LEN);
	mc_dst = malloc(MAX_LEN);
	if (!mc_src || !mc_dst)
		die("out of memory");
	memset(mc_src, 0x5a, MAX_LEN);
	printf("## DMA version 3 throughput (sanitizer off and on)\n\n");
	printf("`%s`: whole bus-master transfers through the v3 routines of the kernel layer "
	       "(synchronous AllocateAdapterChannelEx, MapTransferEx into the caller's "
	       "scatter/gather buffer with its cache maintenance, the bmblk command, "
	       "FlushAdapterBuffersEx, FreeAdapterObject), against `memcpy` of the same bytes in "
	       "the same process, %d runs of %d alternating slices of %u MiB; median (min–max).  "
	       "Sanitizer on: a checker attached to a second system, seeing every v3 kernel "
	       "event.\n\n",
	       "bench/dma_v3.c", RUNS, SLICES, SLICE_BYTES >> 20);
	printf("| platform | direction | size | DMA ÷ memcpy, sanitizer off | on | ns per transfer "
	       "off / on / memcpy |\n|---|---|---|---|---|---|\n");
	for (unsigned pi = 0; pi < 2; pi++) {
		struct rig r, rs;
		rig_up(&r, plats[pi], false);
		rig_up(&rs, plats[pi], true);
		for (int read = 0; read < 2; read++)
			for (unsigned si = 0; si < 3; si++) {
				uint32_t len = sizes[si], k = SLICE_BYTES / len;
				double off[RUNS], on[RUNS], ns_off[RUNS], ns_on[RUNS], ns_mc[RUNS];
				xfer(&r, read, len);
				xfer(&rs, read, len);
				for (int run = 0; run < RUNS; run++) {
					uint64_t a = 0, b = 0, c = 0;
					for (int sl = 0; sl < SLICES; sl++) {
						c += slice_memcpy(len, k);
						a += slice_dma(&r, read, len, k);
						b += slice_dma(&rs, read, len, k);
					}
					off[run] = (double)c / (double)a;
					on[run] = (double)c / (double)b;
					double n = (double)SLICES * k;
					ns_off[run] = (double)a / n;
					ns_on[run] = (double)b / n;
					ns_mc[run] = (double)c / n;
				}
				struct summary so = summarize(off, RUNS), sn = summarize(on, RUNS);
				printf("| %s | %s | %u KiB | %.3f (%.3f–%.3f) | %.3f (%.3f–%.3f) | "
				       "%.0f / "
				       "%.0f / %.0f |\n",
				       plats[pi], read ? "read" : "write", len >> 10, so.med,
				       so.min, so.max, sn.med, sn.min, sn.max,
				       summarize(ns_off, RUNS).med, summarize(ns_on, RUNS).med,
				       summarize(ns_mc, RUNS).med);
				fflush(stdout);
			}
		rig_down(&r);
		rig_down(&rs);
	}
	soc_table(sizes, 3);
	hal_table(sizes, 3);
	printf("\n");
	free(mc_src);
	free(mc_dst);
	return 0;
}
