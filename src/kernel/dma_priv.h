/* What dma.c and dma_sg.c (the HAL's v1/v2 DMA side, split by concern) share: the adapter,
 * map-register-base, transfer and wait records, and the helpers both use.  Private to those two
 * files; the version 3 layer sees only dma_int.h. */
#ifndef DC_KERNEL_DMA_PRIV_H
#define DC_KERNEL_DMA_PRIV_H

#include "dma_int.h"

#define RA() __builtin_return_address(0)

struct dc_xfer {
	struct dc_xfer *next;
	uint64_t id;
	PMDL mdl;
	void *va; /* CurrentVa as passed */
	ULONG len;
	enum dc_dir dir;
	uint32_t first, n; /* registers */
	struct dc_kev_piece *pieces;
	uint32_t n_pieces;
};

struct dc_mrb {
	struct dc_mrb *next;
	struct dc_adapter *ad;
	uint32_t first, n;
	uint32_t cursor; /* next register MapTransfer loads */
	struct dc_xfer *xfers;
};

enum wait_kind { WAIT_CHANNEL, WAIT_SG };

struct dc_wait {
	struct dc_wait *next;
	enum wait_kind kind;
	PDEVICE_OBJECT dev;
	ULONG nregs;
	PDRIVER_CONTROL control;
	PDRIVER_LIST_CONTROL list_control;
	PVOID ctx;
	/* Scatter/gather requests */
	PMDL mdl;
	PVOID va;
	ULONG len;
	BOOLEAN write;
	PVOID sg_buf; /* BuildScatterGatherList: the caller's buffer */
	ULONG sg_buf_len;
	const char *routine;
	const void *pc;
};

struct dc_cbuf {
	struct dc_cbuf *next;
	void *va;
	ULONG len;
	uint64_t logical;
	uint64_t pages;
	bool cached;
};

struct dc_sgrec {
	struct dc_sgrec *next;
	PSCATTER_GATHER_LIST sgl;
	bool own_buffer; /* allocated by GetScatterGatherList (freed at Put) */
	struct dc_mrb *mrb;
};

struct dc_adapter {
	DMA_ADAPTER pub; /* first: a PDMA_ADAPTER is a pointer to this */
	struct dc_adapter *next;
	struct dc_sys *s;
	struct dc_sysdev *dev;
	bool master, sg, autoinit, demand, released;
	/* A request-line controller's channel (plch >= 0) walks a linked list: one MapTransferEx
	 * maps several runs on a base (none reloads it), pages the controller reaches are not
	 * copied, one flush ends every run of the range. */
	bool lli;
	int channel;
	uint32_t addr_bits, nmr;
	struct dc_mapreg_file *mr;
	bool owned; /* the adapter object is allocated to a request (AdapterControl/KeepObject) */
	struct dc_mrb *channel_mrb;
	struct dc_mrb *mrbs;
	struct dc_wait *waitq;
	struct dc_cbuf *cbufs;
	struct dc_sgrec *sgls;
	bool granting;
	bool v3;               /* DEVICE_DESCRIPTION_VERSION3: the v3 table (dma_v3.c) */
	struct dc_dma_v3 *v3s; /* its v3 state */
	int plch;              /* v3 on a request-line controller: its PL080 channel, else -1 */
	KDPC grant_dpc;        /* --deferred-grant: the grant's run at the next DPC delivery */
};

/* dma.c */
struct dc_kev dc_dmap_kev(enum dc_kev_type t, const char *routine, const void *pc,
                          struct dc_adapter *a, const void *adapter_arg);
struct dc_adapter *dc_dmap_check_adapter(struct dc_sys *s, const void *p, enum dc_kev_type t,
                                         const char *routine, const void *pc);
void dc_dmap_xfer_free(struct dc_xfer *x);
void dc_dmap_mrb_free(struct dc_adapter *a, struct dc_mrb *b);
void dc_dmap_try_grant(struct dc_adapter *a);
void dc_dmap_defer_grant(struct dc_adapter *a);
bool dc_dmap_drain_device(struct dc_adapter *a);
bool dc_dmap_drain_xfer(struct dc_adapter *a, struct dc_xfer *x, bool device_ok);

/* dma_v3_soc.c: v3 subordinate DMA on the PL080 (request lines). */
#define DC_V3SOC_LLIS 8         /* linked-list items one MapTransferEx may use */
#define DC_V3SOC_LLI_BYTES 4092 /* bytes per item (12-bit transfer size, byte width) */
#define DC_V3SOC_MAX (DC_V3SOC_LLIS * DC_V3SOC_LLI_BYTES)
_Static_assert(DC_V3SOC_MAX == DC_DMA_SOC_MAX && DC_V3SOC_LLIS == DC_DMA_SOC_RUNS &&
                   DC_V3SOC_LLI_BYTES == DC_DMA_SOC_LLI_BYTES,
               "dma_int.h says the same budget");
/* Binds a to a free channel for the request line (connecting the controller's interrupt on
 * first use): the channel, or -1 (no controller, line taken, no channel free). */
int dc_v3soc_bind(struct dc_sys *s, struct dc_adapter *a, unsigned line, uint64_t dev_addr);
void dc_v3soc_unbind(struct dc_sys *s, struct dc_adapter *a);
void dc_v3soc_fini(struct dc_sys *s);
/* Programs and starts a's channel over [logical, logical + len) (len <= DC_V3SOC_MAX). */
int dc_v3soc_start(struct dc_sys *s, struct dc_adapter *a, const struct dc_dma_soc_req *rq);
bool dc_v3soc_drain(struct dc_sys *s, struct dc_adapter *a);
void dc_v3soc_cancel(struct dc_sys *s, struct dc_adapter *a);

/* dma_sg.c: scatter/gather lists (GetScatterGatherList and the rest of its family). */
void dc_dmap_run_sg(struct dc_adapter *a, struct dc_wait *w, struct dc_mrb *b);
NTSTATUS dc_dmap_get_sg(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                        PMDL Mdl, PVOID CurrentVa, ULONG Length,
                        PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context, BOOLEAN WriteToDevice,
                        PVOID buf, ULONG buf_len, const char *routine, const void *pc);
NTSTATUS dc_dmap_op_get_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                PVOID CurrentVa, ULONG Length,
                                PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                BOOLEAN WriteToDevice);
NTSTATUS dc_dmap_op_build_sg_list(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject, PMDL Mdl,
                                  PVOID CurrentVa, ULONG Length,
                                  PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                  BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer,
                                  ULONG ScatterGatherLength);
void dc_dmap_put_sg(struct dc_sys *s, PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                    BOOLEAN WriteToDevice, const char *routine, const void *pc);
void dc_dmap_op_put_sg_list(PDMA_ADAPTER DmaAdapter, PSCATTER_GATHER_LIST ScatterGather,
                            BOOLEAN WriteToDevice);
NTSTATUS dc_dmap_op_calculate_sg_list(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID CurrentVa,
                                      ULONG Length, PULONG ScatterGatherListSize,
                                      PULONG NumberOfMapRegisters);
NTSTATUS dc_dmap_op_build_mdl_from_sg_list(PDMA_ADAPTER DmaAdapter,
                                           PSCATTER_GATHER_LIST ScatterGather, PMDL OriginalMdl,
                                           PMDL *TargetMdl);

#endif
