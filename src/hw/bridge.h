/* The host bridge between the bus masters and memory, and its posted-write buffer.
 *
 * A bus master's write to memory is *posted*: the bridge accepts it at once and lands it in
 * memory (dc_dma_write, under the writing device's source id) later.  The buffer holds up to
 * `capacity` bytes (plat.bridge_posted), shared by every bus master behind the bridge, in one
 * FIFO, so posted writes land in exactly the order they were posted, whatever the source (PCI
 * ordering: posted writes never pass posted writes).  Writes land:
 *   - when the buffer is full: the oldest bytes land first, as many as the new write needs;
 *   - on dc_bridge_flush(source): the FIFO lands up to and including that source's newest posted
 *     write.  Callers: the device's register read handler (a read completion cannot pass posted
 *     writes, so the CPU never reads a "done" status before the data is in memory), and the
 *     device's own memory reads (dc_bridge_read: a read request cannot pass posted writes);
 *   - on dc_bridge_drain(source), which the kernel's FlushAdapterBuffers calls: a flush that also
 *     reports, and clears, a transfer error the device recorded since the last drain.
 * An interrupt (INTx is a wire, not a message) drains nothing: an ISR that reads no register and
 * a DPC that skips FlushAdapterBuffers can see memory without the device's last writes.
 *
 * Every access a bus master makes passes dc_bridge_post or dc_bridge_read, so the bridge is also
 * where a checker hooks in (dc_bridge_set_check) to see each logical access when it is issued;
 * the machine's `dma` observer event tells when bytes actually reach memory.
 *
 * Deliberately not modelled: write combining or merging across sources, delayed read
 * completions, peer-to-peer traffic, several bridges (one per machine is enough for ordering). */
#ifndef DC_BRIDGE_H
#define DC_BRIDGE_H

#include "dmacoh/common.h"

struct dc_machine;
struct dc_bridge;

/* Sees a bus master's access when it is issued: a write posted (dir DC_DIR_FROM_DEVICE: device
 * to memory) or a read (DC_DIR_TO_DEVICE), at the address the device drove.  Only watches. */
typedef void (*dc_bridge_check_fn)(void *opaque, int source, uint64_t logical, uint64_t len,
                                   enum dc_dir dir);

struct dc_bridge_stats {
	uint64_t posted_bytes, posts;
	uint64_t landed_full;  /* bytes landed because the buffer was full */
	uint64_t landed_flush; /* bytes landed by a flush, a drain or a read's ordering */
	uint64_t flushes, drains, failed_drains;
	uint64_t land_errors; /* landings outside memory (master abort: data dropped) */
	uint64_t max_used;    /* high-water mark of the buffer, bytes */
};

/* A bridge whose buffer holds capacity bytes (0: every write lands at once). */
int dc_bridge_create(struct dc_machine *m, uint32_t capacity, struct dc_bridge **out);
/* Frees the bridge; posted writes still in it are dropped (the machine is going away). */
void dc_bridge_destroy(struct dc_bridge *br);

struct dc_machine *dc_bridge_machine(const struct dc_bridge *br);
uint32_t dc_bridge_capacity(const struct dc_bridge *br);
const struct dc_bridge_stats *dc_bridge_stats(const struct dc_bridge *br);

/* A bus master writes src to [pa, pa + len).  Posted: the caller may reuse src at once.  Never
 * fails: a write outside memory is dropped when it lands and recorded as a transfer error of
 * the source (what a master abort on a posted write amounts to). */
void dc_bridge_post(struct dc_bridge *br, int source, uint64_t pa, const void *src, uint64_t len);
/* A bus master reads [pa, pa + len) into dst, ordered behind its own posted writes.  Returns
 * dc_dma_read's result (DC_ERR_RANGE outside memory: the device sees a master abort). */
int dc_bridge_read(struct dc_bridge *br, int source, uint64_t pa, void *dst, uint64_t len);

/* Lands every posted write of the source, and every older one of other sources (FIFO). */
void dc_bridge_flush(struct dc_bridge *br, int source);
/* Lands everything. */
void dc_bridge_flush_all(struct dc_bridge *br);
/* FlushAdapterBuffers' part in the bridge: flush, then return false if the source recorded a
 * transfer error since its last drain (and forget it). */
bool dc_bridge_drain(struct dc_bridge *br, int source);

/* A device reports that its current transfer failed; the next drain of the source says so. */
void dc_bridge_set_error(struct dc_bridge *br, int source);
bool dc_bridge_error_pending(const struct dc_bridge *br, int source);

/* Bytes of the source still posted (source < 0: of all sources). */
uint64_t dc_bridge_pending(const struct dc_bridge *br, int source);

/* Where devices behind the bridge decode their registers: beyond physical memory, at
 * max(DC_MMIO_WINDOW, phys_size rounded up to 1 GiB). */
#define DC_MMIO_WINDOW UINT64_C(0xF00000000) /* 60 GiB: above every built-in phys_size */
uint64_t dc_mmio_window(const struct dc_machine *m);

void dc_bridge_set_check(struct dc_bridge *br, dc_bridge_check_fn fn, void *opaque);

#endif
