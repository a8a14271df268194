/* The HAL's side of v3 subordinate DMA on a request-line controller (the arm-soc PL080):
 * what Windows' DMA HAL extension does for a DEVICE_DESCRIPTION_VERSION3 with a DmaRequestLine.
 * An adapter is bound to a PL080 channel at IoGetDmaAdapter; MapTransferEx (dma_v3.c) maps the
 * buffer one physically contiguous run at a time through dma.c's map registers (no copy where
 * the controller reaches the pages) and this file programs the channel with linked-list items
 * over the runs (at most DC_V3SOC_LLIS items of DC_V3SOC_LLI_BYTES: the caller shortens the
 * mapping to that budget), the peripheral's FIFO register (DeviceAddress) on the other side,
 * and starts it.  The controller's interrupt (one line, every channel) is connected
 * by the HAL itself: terminal count or error queues the channel's DPC, which calls the
 * driver's DmaCompletionRoutine at DISPATCH_LEVEL with DmaComplete or DmaError (a
 * DC_KEV_DMA_COMPLETION event first, so the checker sees the status).  A drain
 * (FlushAdapterBuffersEx, through dma.c's flush) halts the channel so the FIFO tail reaches
 * memory, then disables it; CancelMappedTransfer halts it and, for a transfer that had not
 * ended, calls the routine with DmaCancelled (the WDK: a cancelled transfer's completion
 * routine is called, its status may be DmaCancelled).
 *
 * A transfer's end is recorded when the ISR (or the cancel) sees it -- routine, context,
 * status -- and the DPC delivers those records, oldest first: a driver that maps its next
 * transfer before the DPC has run still gets the old one's completion with the old context.
 *
 * Deliberately not done: 16/32-bit transfer widths (bytes move one at a time on both sides,
 * so any buffer alignment works; the model's throughput does not depend on width), channel
 * priorities, more than one transfer in flight per channel, v1/v2 MapTransfer on such an
 * adapter (it maps but programs nothing). */
#include <stdlib.h>
#include <string.h>

#include "dma_priv.h"

#define SOC_DONE_MAX 4 /* completions of one channel waiting for its DPC */

/* A transfer's end as the ISR (or CancelMappedTransfer) saw it: the DPC calls the routine of
 * that transfer, with that status, even if the driver has mapped the next one meanwhile. */
struct soc_done {
	PDMA_COMPLETION_ROUTINE cr;
	PVOID cr_ctx;
	DMA_COMPLETION_STATUS st;
	PMDL mdl;
	PVOID mrb;
	uint64_t offset;
	PHYSICAL_ADDRESS dev_addr;
};

struct soc_chan {
	struct dc_adapter *a; /* bound to this channel, NULL if free */
	unsigned line;
	PHYSICAL_ADDRESS dev_addr; /* DEVICE_DESCRIPTION.DeviceAddress, all 64 bits */
	uint64_t lli_pfn;          /* one frame of linked-list items, 0 until first use */
	bool running, error, completed;
	PDMA_COMPLETION_ROUTINE cr;
	PVOID cr_ctx;
	PMDL mdl; /* the MapTransferEx the transfer came from */
	PVOID mrb;
	uint64_t offset;
	KDPC dpc;
	struct soc_done done[SOC_DONE_MAX];
	unsigned n_done;
};

/* The running transfer ended (status st): its completion goes to the channel's DPC. */
static void soc_ended(struct soc_chan *c, DMA_COMPLETION_STATUS st)
{
	if (!c->cr)
		return;
	if (c->n_done < SOC_DONE_MAX)
		c->done[c->n_done++] = (struct soc_done){.cr = c->cr,
		                                         .cr_ctx = c->cr_ctx,
		                                         .st = st,
		                                         .mdl = c->mdl,
		                                         .mrb = c->mrb,
		                                         .offset = c->offset,
		                                         .dev_addr = c->dev_addr};
	c->cr = NULL; /* once per MapTransferEx */
	KeInsertQueueDpc(&c->dpc, NULL, NULL);
}

struct dc_v3soc {
	PKINTERRUPT intr;
	struct soc_chan ch[DC_PL080_CHANNELS];
};

static uint32_t rd(struct dc_sys *s, uint32_t off)
{
	return (uint32_t)dc_bus_mmio_read(&s->m->bus, dc_pl080_base(s->pl080) + off, 4);
}

static void wr(struct dc_sys *s, uint32_t off, uint32_t v)
{
	dc_bus_mmio_write(&s->m->bus, dc_pl080_base(s->pl080) + off, v, 4);
}

static BOOLEAN soc_isr(PKINTERRUPT intr, PVOID ctx)
{
	(void)intr;
	struct dc_sys *s = ctx;
	struct dc_v3soc *v = s->v3soc;
	uint32_t tc = rd(s, DC_PL080_INT_TC_STATUS), err = rd(s, DC_PL080_INT_ERR_STATUS);
	if (!(tc | err))
		return FALSE;
	wr(s, DC_PL080_INT_TC_CLEAR, tc);
	wr(s, DC_PL080_INT_ERR_CLEAR, err);
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++) {
		struct soc_chan *c = &v->ch[i];
		if (!((tc | err) >> i & 1) || !c->a || !c->running)
			continue;
		c->error |= (err >> i & 1) != 0;
		c->completed = true;
		soc_ended(c, c->error ? DmaError : DmaComplete);
	}
	return TRUE;
}

static VOID soc_dpc(PKDPC dpc, PVOID ctx, PVOID a1, PVOID a2)
{
	(void)dpc, (void)a1, (void)a2;
	struct soc_chan *c = ctx;
	/* Oldest first; a routine that maps the next transfer may end it (and queue this DPC
	 * again) before the loop looks at the count again. */
	while (c->a && c->n_done) {
		struct soc_done d = c->done[0];
		memmove(c->done, c->done + 1, --c->n_done * sizeof(c->done[0]));
		PDEVICE_OBJECT pdo = c->a->dev ? c->a->dev->pdo : NULL;
		struct dc_kev e = {.type = DC_KEV_DMA_COMPLETION,
		                   .routine = "DmaCompletionRoutine",
		                   .pc = (const void *)(uintptr_t)d.cr,
		                   .adapter = &c->a->pub,
		                   .device = pdo,
		                   .mdl = d.mdl,
		                   .mrb = d.mrb,
		                   .value = (int64_t)d.offset,
		                   .logical = (uint64_t)d.dev_addr.QuadPart,
		                   .status = (int64_t)d.st};
		dc_kev_emit(c->a->s, &e);
		dc_ksync(c->a->s, DC_SYNC_DEVICE, NULL, 0); /* told the transfer is done */
		d.cr(&c->a->pub, pdo, d.cr_ctx, d.st);
	}
}

int dc_v3soc_bind(struct dc_sys *s, struct dc_adapter *a, unsigned line, uint64_t dev_addr)
{
	if (!s->pl080 || line >= DC_PL080_LINES)
		return -1;
	if (!s->v3soc) {
		s->v3soc = calloc(1, sizeof(*s->v3soc));
		if (!s->v3soc)
			return -1;
	}
	struct dc_v3soc *v = s->v3soc;
	int free_ch = -1;
	for (int i = DC_PL080_CHANNELS - 1; i >= 0; i--) {
		if (v->ch[i].a && v->ch[i].line == line)
			return -1; /* one adapter per request line */
		if (!v->ch[i].a)
			free_ch = i;
	}
	if (free_ch < 0)
		return -1;
	if (!v->intr) {
		unsigned irq = dc_pl080_irq(s->pl080);
		const void *judged = s->irql_judged;
		if (IoConnectInterrupt(&v->intr, soc_isr, s, NULL, DC_VECTOR_BASE + irq,
		                       DC_DIRQL(irq), DC_DIRQL(irq), LevelSensitive, TRUE, 1,
		                       FALSE) != STATUS_SUCCESS)
			return -1;
		s->irql_judged = judged;
		wr(s, DC_PL080_CONFIG, DC_PL080_CFG_E);
	}
	struct soc_chan *c = &v->ch[free_ch];
	uint64_t pfn = c->lli_pfn;
	memset(c, 0, sizeof(*c));
	c->lli_pfn = pfn;
	c->a = a;
	c->line = line;
	c->dev_addr.QuadPart = (LONGLONG)dev_addr;
	KeInitializeDpc(&c->dpc, soc_dpc, c);
	return free_ch;
}

void dc_v3soc_unbind(struct dc_sys *s, struct dc_adapter *a)
{
	if (!s->v3soc || a->plch < 0)
		return;
	struct soc_chan *c = &s->v3soc->ch[a->plch];
	if (c->running)
		wr(s, DC_PL080_CH(a->plch) + DC_PL080_CH_CONFIG, 0);
	/* Completions not delivered die with the adapter; the DPC leaves the queue before the
	 * channel can be bound (and zeroed) again. */
	KeRemoveQueueDpc(&c->dpc);
	c->n_done = 0;
	c->a = NULL;
	c->running = false;
}

void dc_v3soc_fini(struct dc_sys *s)
{
	if (!s->v3soc)
		return;
	if (s->v3soc->intr)
		IoDisconnectInterrupt(s->v3soc->intr); /* the HAL's own connection */
	for (unsigned i = 0; i < DC_PL080_CHANNELS; i++)
		if (s->v3soc->ch[i].lli_pfn)
			dc_mem_frame_free(&s->m->mem, s->v3soc->ch[i].lli_pfn);
	free(s->v3soc);
	s->v3soc = NULL;
}

int dc_v3soc_start(struct dc_sys *s, struct dc_adapter *a, const struct dc_dma_soc_req *rq)
{
	bool to_device = rq->to_device;
	if (!s->v3soc || a->plch < 0 || rq->n_runs == 0 || rq->n_runs > DC_V3SOC_LLIS)
		return -1;
	uint32_t items_needed = 0;
	for (unsigned i = 0; i < rq->n_runs; i++) {
		if (rq->runs[i].len == 0 || rq->runs[i].logical + rq->runs[i].len > UINT64_C(1)
		                                                                        << 32)
			return -1;
		items_needed += (rq->runs[i].len + DC_V3SOC_LLI_BYTES - 1) / DC_V3SOC_LLI_BYTES;
	}
	if (items_needed > DC_V3SOC_LLIS)
		return -1;
	struct soc_chan *c = &s->v3soc->ch[a->plch];
	if (!c->lli_pfn) {
		c->lli_pfn = dc_mem_frame_alloc(&s->m->mem, DC_ZONE_ISA);
		if (!c->lli_pfn)
			return -1;
	}
	uint32_t chb = DC_PL080_CH(a->plch);
	if (c->running) /* a mapping never flushed: the HAL stops the channel first */
		wr(s, chb + DC_PL080_CH_CONFIG, 0);
	uint32_t base_ctl = DC_PL080_BSIZE_4 << DC_PL080_CTL_SBSIZE_SHIFT |
	                    DC_PL080_BSIZE_16 << DC_PL080_CTL_DBSIZE_SHIFT |
	                    DC_PL080_WIDTH_8 << DC_PL080_CTL_SWIDTH_SHIFT |
	                    DC_PL080_WIDTH_8 << DC_PL080_CTL_DWIDTH_SHIFT |
	                    (to_device ? DC_PL080_CTL_SI : DC_PL080_CTL_DI);
	/* One item per (at most 4092-byte piece of a) physically contiguous run, chained in
	 * buffer order; the last one interrupts. */
	uint32_t items[DC_V3SOC_LLIS][4];
	unsigned n = 0;
	/* The channel's peripheral-side address register has 32 bits: it gets DeviceAddress's
	 * low half (arm-soc's device window lies above 4 GiB; the PL080 model paces peripheral
	 * data by the request line and does not decode that address).  The HAL keeps the whole
	 * PHYSICAL_ADDRESS and reports it (DC_KEV_DMA_COMPLETION's logical). */
	uint32_t dev_reg = (uint32_t)(uint64_t)c->dev_addr.QuadPart;
	uint64_t lli_pa = c->lli_pfn << DC_PAGE_SHIFT;
	for (unsigned ri = 0; ri < rq->n_runs; ri++)
		for (uint32_t done = 0; done < rq->runs[ri].len; n++) {
			uint32_t k = DC_MIN(rq->runs[ri].len - done, DC_V3SOC_LLI_BYTES);
			uint32_t mem = (uint32_t)(rq->runs[ri].logical + done);
			items[n][0] = to_device ? mem : dev_reg;
			items[n][1] = to_device ? dev_reg : mem;
			items[n][2] = (uint32_t)(lli_pa + (n + 1) * 16u);
			items[n][3] = base_ctl | k;
			done += k;
		}
	items[n - 1][2] = 0;
	items[n - 1][3] |= DC_PL080_CTL_I;
	/* Items 1.. in memory, written as through an uncached mapping; item 0 in the registers. */
	if (n > 1)
		memcpy(dc_mem_pa_ptr(&s->m->mem, lli_pa + 16), items[1], (n - 1) * 16u);
	uint32_t bit = 1u << a->plch;
	wr(s, DC_PL080_INT_TC_CLEAR, bit);
	wr(s, DC_PL080_INT_ERR_CLEAR, bit);
	wr(s, chb + DC_PL080_CH_SRC, items[0][0]);
	wr(s, chb + DC_PL080_CH_DST, items[0][1]);
	wr(s, chb + DC_PL080_CH_LLI, items[0][2]);
	wr(s, chb + DC_PL080_CH_CONTROL, items[0][3]);
	c->running = true;
	c->error = c->completed = false;
	c->cr = rq->cr;
	c->cr_ctx = rq->cr_ctx;
	c->mdl = rq->mdl;
	c->mrb = rq->mrb;
	c->offset = rq->offset;
	uint32_t cfg = DC_PL080_CCFG_E | DC_PL080_CCFG_ITC | DC_PL080_CCFG_IE |
	               (to_device ? DC_PL080_FLOW_M2P << DC_PL080_CCFG_FLOW_SHIFT |
	                                c->line << DC_PL080_CCFG_DSTPER_SHIFT
	                          : DC_PL080_FLOW_P2M << DC_PL080_CCFG_FLOW_SHIFT |
	                                c->line << DC_PL080_CCFG_SRCPER_SHIFT);
	wr(s, chb + DC_PL080_CH_CONFIG, cfg);
	return 0;
}

/* Halts the channel: what moved from the peripheral reaches memory (the FIFO drains), then the
 * channel is disabled.  false if the transfer ended in error. */
static bool halt(struct dc_sys *s, struct soc_chan *c, unsigned ch)
{
	uint32_t off = DC_PL080_CH(ch) + DC_PL080_CH_CONFIG;
	uint32_t cfg = rd(s, off);
	if (cfg & DC_PL080_CCFG_E) {
		wr(s, off, cfg | DC_PL080_CCFG_H);
		dc_pl080_sync(s->pl080);
		/* Active drops once the FIFO is empty; the channel is then switched off. */
		cfg = rd(s, off);
		wr(s, off, cfg & ~(DC_PL080_CCFG_E | DC_PL080_CCFG_H));
	}
	if (rd(s, DC_PL080_RAW_ERR_STATUS) >> ch & 1)
		c->error = true;
	return !c->error;
}

bool dc_v3soc_drain(struct dc_sys *s, struct dc_adapter *a)
{
	if (!s->v3soc || a->plch < 0)
		return true;
	struct soc_chan *c = &s->v3soc->ch[a->plch];
	bool ok = halt(s, c, (unsigned)a->plch);
	c->running = false;
	return ok;
}

void dc_v3soc_cancel(struct dc_sys *s, struct dc_adapter *a)
{
	if (!s->v3soc || a->plch < 0)
		return;
	struct soc_chan *c = &s->v3soc->ch[a->plch];
	uint32_t off = DC_PL080_CH(a->plch) + DC_PL080_CH_CONFIG;
	uint32_t cfg = rd(s, off);
	if (cfg & DC_PL080_CCFG_E)
		wr(s, off, cfg | DC_PL080_CCFG_H); /* no more requests served */
	if (c->cr && !c->completed) {
		/* Its completion routine still runs, with DmaCancelled, from the DPC. */
		c->completed = true;
		soc_ended(c, DmaCancelled);
	}
}

/* dma_int.h's entry points: the caller (dma_v3.c) checked that ad is a live adapter. */
int dc_dma_soc_start(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_soc_req *rq)
{
	return dc_v3soc_start(s, (struct dc_adapter *)ad, rq);
}

void dc_dma_soc_cancel(struct dc_sys *s, PDMA_ADAPTER ad)
{
	dc_v3soc_cancel(s, (struct dc_adapter *)ad);
}
