/* A bus-master DMA engine with scatter/gather, the part of a PCI device that moves data between
 * memory and the device on its own (DESIGN §3.5).  A device model embeds one (or one per
 * direction) and hands it a list of (logical address, length) segments, a direction and a flat
 * device-side buffer; the engine moves the bytes over simulated time at `bw` bytes per second
 * and calls back when done.
 *
 * Memory reads go through dc_bridge_read (ordered behind the device's own posted writes), memory
 * writes through dc_bridge_post: they sit in the host bridge until a drain, a register read or a
 * full buffer lands them.  The work is batched: one clock event per run of at most `run_max`
 * bytes (a run may span several segments), never per byte, and each segment's part of a run
 * moves in one bridge access.  Data of a run moves when the run's time has elapsed.
 *
 * A device drives `addr_bits` address bits: the bits of a logical address above them are not
 * driven (a 32-bit device given a 64-bit address reaches the wrong page — the bug of a driver
 * that claims Dma64BitAddresses for 32-bit hardware).  A memory read outside memory (master
 * abort) ends the transfer with DC_ERR_RANGE and records a transfer error in the bridge.
 *
 * Deliberately not modelled: bus arbitration between engines (each has the bandwidth to itself),
 * burst sizes, descriptor prefetching (devices read their descriptors through the untimed
 * dc_busmaster_read_now/write_now and account for the time themselves). */
#ifndef DC_BUSMASTER_H
#define DC_BUSMASTER_H

#include "clock.h"
#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_bridge;

/* One scatter/gather element as the device sees it: struct dc_bm_seg of dmacoh/device.h. */

/* Called from a clock event when a transfer ends: status DC_OK, or a negative dc_err when it
 * stopped early (bytes says how far it got). */
typedef void (*dc_bm_done_fn)(void *opaque, int status, uint64_t bytes);

struct dc_busmaster_stats {
	uint64_t transfers, bytes, segments, runs, errors;
};

struct dc_busmaster {
	struct dc_machine *m;
	struct dc_bridge *br;
	int source;
	uint64_t addr_mask;   /* the address bits the device drives */
	uint64_t bw;          /* bytes per simulated second */
	uint64_t ns_per_byte; /* 1e9 / bw when that is exact, else 0 */
	uint32_t run_max;     /* bytes per clock event */
	uint64_t latency_ns;  /* from dc_busmaster_start to the first byte moving (0 after init) */
	struct dc_event ev;
	/* The transfer in progress. */
	bool busy;
	enum dc_dir dir;
	struct dc_bm_seg *segs;
	uint32_t n_segs, segs_cap;
	uint32_t seg_i;
	uint64_t seg_off;
	uint8_t *dev;
	uint64_t done, total;
	uint64_t t0;
	uint64_t fail_after; /* injected failure: stop after this many bytes (UINT64_MAX: none) */
	uint64_t fail_next;  /* armed for the next transfer */
	dc_bm_done_fn done_fn;
	void *done_opaque;
	struct dc_busmaster_stats st;
};

#define DC_BM_RUN_MAX (64u * 1024)

/* Sets up an engine for the DMA source `source` (from dc_machine_dma_source) behind bridge br.
 * bw 0: the machine's plat.bm_bw.  DC_ERR_INVAL for addr_bits outside 1..64. */
int dc_busmaster_init(struct dc_busmaster *bm, struct dc_machine *m, struct dc_bridge *br,
                      int source, uint32_t addr_bits, uint64_t bw);
/* Cancels a transfer in progress (no callback) and frees the engine's memory. */
void dc_busmaster_fini(struct dc_busmaster *bm);

/* Starts moving the segments' bytes: dir DC_DIR_FROM_DEVICE copies dev[0 .. total) to the
 * segments in order, DC_DIR_TO_DEVICE copies the segments into dev.  The segment list is copied;
 * dev must stay valid until the callback.  The callback always comes from a clock event, never
 * from inside this call.  DC_ERR_BUSY if a transfer is in progress, DC_ERR_NOMEM. */
int dc_busmaster_start(struct dc_busmaster *bm, const struct dc_bm_seg *segs, uint32_t n,
                       enum dc_dir dir, void *dev, dc_bm_done_fn done, void *opaque);
/* Stops the transfer in progress without a callback; returns the bytes moved. */
uint64_t dc_busmaster_abort(struct dc_busmaster *bm);
static inline bool dc_busmaster_busy(const struct dc_busmaster *bm)
{
	return bm->busy;
}

/* Fault injection: the next transfer stops with DC_ERR_IO after `bytes` bytes and records a
 * transfer error in the bridge (so FlushAdapterBuffers returns FALSE). */
void dc_busmaster_fail_next(struct dc_busmaster *bm, uint64_t bytes);

/* Untimed single accesses (descriptor fetch and write-back), through the bridge like the rest. */
int dc_busmaster_read_now(struct dc_busmaster *bm, uint64_t addr, void *dst, uint64_t len);
void dc_busmaster_write_now(struct dc_busmaster *bm, uint64_t addr, const void *src, uint64_t len);

/* Simulated nanoseconds the engine needs for n bytes. */
uint64_t dc_busmaster_ns(const struct dc_busmaster *bm, uint64_t n);

/* FlushAdapterBuffers' part for this device: dc_bridge_drain of its source. */
bool dc_busmaster_drain(struct dc_busmaster *bm);

#endif
