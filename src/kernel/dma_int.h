/* What dma.c (the HAL's v1/v2 DMA side) lends the version 3 layer (dma_v3*.c): its routines
 * with the caller's routine name and call site, so that v3 events name the v3 routine the
 * driver called, and the few facts about an adapter that v3 needs.  Nothing here is visible
 * to drivers; it does not expose dma.c's bookkeeping (map register bases, transfers). */
#ifndef DC_KERNEL_DMA_INT_H
#define DC_KERNEL_DMA_INT_H

#include "kernel.h"

struct dc_dma_v3; /* per-adapter v3 state, owned by dma_v3.c */

/* Facts about a live (not released) adapter. */
struct dc_dma_facts {
	bool master, sg, v3;
	int channel; /* system DMA: the 8237 channel */
	int plch;    /* v3 on a request-line controller: the PL080 channel, else -1 */
	uint32_t nmr, addr_bits;
	bool owned;   /* the adapter object is allocated to a request */
	bool waiting; /* requests are queued for it */
	PDEVICE_OBJECT pdo;
};
/* false (and nothing emitted) if p is no live adapter. */
bool dc_dma_facts(struct dc_sys *s, const void *p, struct dc_dma_facts *out);
/* Whether n map registers could be allocated on the adapter right now. */
bool dc_dma_regs_free(struct dc_sys *s, const void *p, uint32_t n);
/* The map registers of base mrb that MapTransfer has not loaded yet (false: no such base). */
bool dc_dma_mrb_room(struct dc_sys *s, const void *p, const void *mrb, uint32_t *left);
/* The v3 state slot of a live adapter (NULL if p is none). */
struct dc_dma_v3 **dc_dma_v3_slot(struct dc_sys *s, const void *p);

/* dma.c's routines, reporting as `routine` called from `pc`.  dc_dma_map with `run`: a further
 * run of the same MapTransferEx (DC_KEVF_RUN on its event). */
PHYSICAL_ADDRESS dc_dma_map(struct dc_sys *s, PDMA_ADAPTER ad, PMDL mdl, PVOID mrb, PVOID va,
                            PULONG len, BOOLEAN write, bool run, const char *routine,
                            const void *pc);
BOOLEAN dc_dma_flush(struct dc_sys *s, PDMA_ADAPTER ad, PMDL mdl, PVOID mrb, PVOID va, ULONG len,
                     BOOLEAN write, const char *routine, const void *pc);
NTSTATUS dc_dma_alloc_channel(struct dc_sys *s, PDMA_ADAPTER ad, PDEVICE_OBJECT dev, ULONG nregs,
                              PDRIVER_CONTROL control, PVOID ctx, const char *routine,
                              const void *pc);
void dc_dma_free_channel(struct dc_sys *s, PDMA_ADAPTER ad, const char *routine, const void *pc);
/* FreeAdapterObject(DeallocateObjectKeepRegisters): the adapter object is free again, the
 * registers granted with it stay allocated (FreeMapRegisters is owed). */
void dc_dma_release_object(struct dc_sys *s, PDMA_ADAPTER ad, const char *routine, const void *pc);
void dc_dma_free_map_registers(struct dc_sys *s, PDMA_ADAPTER ad, PVOID mrb, ULONG n,
                               const char *routine, const void *pc);
/* Removes a queued AllocateAdapterChannel request whose Context is ctx: true if one was. */
bool dc_dma_cancel_wait(struct dc_sys *s, PDMA_ADAPTER ad, PVOID ctx);
NTSTATUS dc_dma_get_sg(struct dc_sys *s, PDMA_ADAPTER ad, PDEVICE_OBJECT dev, PMDL mdl, PVOID va,
                       ULONG len, PDRIVER_LIST_CONTROL control, PVOID ctx, BOOLEAN write, PVOID buf,
                       ULONG buf_len, const char *routine, const void *pc);
void dc_dma_put_sg(struct dc_sys *s, PDMA_ADAPTER ad, PSCATTER_GATHER_LIST sgl, BOOLEAN write,
                   const char *routine, const void *pc);
/* AllocateCommonBuffer, below min_pa.. max_pa (inclusive) physical addresses. */
PVOID dc_dma_alloc_common(struct dc_sys *s, PDMA_ADAPTER ad, ULONG len, PPHYSICAL_ADDRESS logical,
                          BOOLEAN cached, uint64_t min_pa, uint64_t max_pa, const char *routine,
                          const void *pc);
void dc_dma_free_common(struct dc_sys *s, PDMA_ADAPTER ad, ULONG len, PHYSICAL_ADDRESS logical,
                        PVOID va, BOOLEAN cached, const char *routine, const void *pc);
/* KeFlushIoBuffers' work and event, as `routine`. */
void dc_dma_ke_flush(struct dc_sys *s, PMDL mdl, BOOLEAN read, BOOLEAN dma, const char *routine,
                     const void *pc);

/* One system DMA transfer MapTransferEx starts: the mapped runs (logically contiguous each, in
 * buffer order), the direction, the completion routine, and the MapTransferEx it came from
 * (for the DC_KEV_DMA_COMPLETION event). */
#define DC_DMA_SOC_RUNS 8 /* runs one transfer can move: one linked-list item at least each */
struct dc_dma_soc_req {
	struct {
		uint64_t logical;
		uint32_t len;
	} runs[DC_DMA_SOC_RUNS];
	unsigned n_runs;
	bool to_device;
	PDMA_COMPLETION_ROUTINE cr;
	PVOID cr_ctx;
	PMDL mdl;
	PVOID mrb;
	uint64_t offset;
};
/* dma_v3_soc.c, for a live adapter with plch >= 0: start its channel over a mapped run
 * (0, or -1 if the controller refused), cancel it. */
int dc_dma_soc_start(struct dc_sys *s, PDMA_ADAPTER ad, const struct dc_dma_soc_req *rq);
void dc_dma_soc_cancel(struct dc_sys *s, PDMA_ADAPTER ad);
#define DC_DMA_SOC_MAX (8u * 4092u) /* bytes one MapTransferEx can move (LLI budget) */
#define DC_DMA_SOC_LLI_BYTES 4092u  /* bytes one linked-list item moves */

/* dma_v3.c: the version 3 table IoGetDmaAdapter hands a DEVICE_DESCRIPTION_VERSION3 caller,
 * and the teardown of an adapter's v3 state. */
const DMA_OPERATIONS *dc_dma_v3_ops(const DMA_OPERATIONS *v2);
void dc_dma_v3_free(struct dc_dma_v3 *v);

#endif
