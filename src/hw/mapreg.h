/* Map registers: the per-adapter translation from a device's logical page to a physical page,
 * as the HAL of a PC without an IOMMU provides it (DESIGN §3.5, wdm-dma-spec §1).
 *
 * Each register translates one page-bounded piece of a transfer.  The logical address a device
 * gets is the physical address of the piece itself when the device can drive it (addr_bits: 24
 * for ISA system DMA, 32 for a 32-bit bus master, 64), otherwise the physical address of a
 * *bounce page* below the device's limit, at the same offset within the page.  Bounce semantics
 * are those of the ReactOS HAL's map buffers: a to-device piece is copied into its bounce page
 * when it is mapped; a from-device piece is copied from the bounce page back into the caller's
 * buffer only when it is drained (the kernel's FlushAdapterBuffers) — until then the data is not
 * in the caller's buffer.  The HAL copies with the CPU, so the caller's side of each copy goes
 * through the cache model (dc_cpu_read/dc_cpu_write); bounce pages are uncached memory.
 *
 * Bounce pages belong to the file (one per register, allocated on the register's first bounce
 * and kept until the file is destroyed, as a HAL keeps its map buffers).  A file created with
 * `contiguous` gets one physically contiguous run of bounce pages at creation instead, so that a
 * run of registers whose pieces are not physically contiguous is still one logical range: that is
 * what a system DMA controller without scatter/gather needs.
 *
 * Deliberately not modelled: an IOMMU (logical == physical here), the register allocator's
 * queueing of waiting AdapterControl routines (the kernel layer's business: dc_mapreg_alloc only
 * says yes or no), Driver Verifier's padded double buffering.  The hardware model never judges
 * the driver: mapping over a mapped register is refused with DC_ERR_BUSY, and the kernel layer
 * decides what Windows would have done (and the sanitizer reports it). */
#ifndef DC_MAPREG_H
#define DC_MAPREG_H

#include "dmacoh/common.h"

struct dc_machine;
struct dc_mapreg_file;

/* One page-bounded piece of a transfer: pa is the physical address of its first byte (the offset
 * within the page is pa & DC_PAGE_MASK), va the same byte's kernel virtual address (cached or
 * uncached window).  va may be NULL when the piece cannot need a bounce (the file's addr_bits is
 * 64); a piece that needs a bounce and has no va is refused. */
struct dc_mapreg_piece {
	void *va;
	uint64_t pa;
	uint32_t len; /* 1 .. DC_PAGE_SIZE - (pa & DC_PAGE_MASK) */
};

/* Splits [va, va + len) (a cached- or uncached-window range) into its page pieces, as a HAL walks
 * an MDL's PFNs: at most max pieces into out.  Returns the count, DC_ERR_RANGE if more than max
 * are needed, DC_ERR_INVAL for len 0 or a page with no frame. */
int dc_mapreg_pieces(const struct dc_machine *m, void *va, uint64_t len,
                     struct dc_mapreg_piece *out, uint32_t max);

/* The state of one register. */
struct dc_mapreg_entry {
	bool mapped;
	bool bounced;
	enum dc_dir dir;
	uint32_t len;
	void *va;         /* caller's bytes (as given to dc_mapreg_map) */
	uint64_t pa;      /* caller's physical address */
	uint64_t logical; /* what the device was told */
	uint64_t run;     /* id of the map call that loaded it (1, 2, ...) */
};

struct dc_mapreg_stats {
	uint64_t maps;          /* successful dc_mapreg_map calls */
	uint64_t pieces;        /* registers loaded */
	uint64_t bounces;       /* pieces that went through a bounce page */
	uint64_t bytes_bounced; /* bytes copied to or from bounce pages, both directions */
	uint64_t drains;        /* dc_mapreg_drain calls */
	uint64_t refused;       /* map calls refused (exhaustion, busy, bad argument) */
};

/* Creates a file of n registers (0: the profile's plat.map_registers) for a device that drives
 * addr_bits address bits (13..64).  contiguous: allocate all bounce pages now as one physical
 * run (see above).  Errors: DC_ERR_INVAL (no registers, bad addr_bits), DC_ERR_NOMEM (host memory,
 * or no bounce memory below the limit for a contiguous file).  On error nothing is left allocated.
 */
int dc_mapreg_create(struct dc_machine *m, uint32_t n, uint32_t addr_bits, bool contiguous,
                     struct dc_mapreg_file **out);
/* Frees the file and its bounce pages; mapped registers are dropped without copying. */
void dc_mapreg_destroy(struct dc_mapreg_file *f);

/* A contiguous file for a system DMA controller whose transfers cannot cross a DMA page of
 * `bytes` (64 KiB, 128 KiB on 16-bit channels; 0: no such limit): a run of pieces that is
 * physically contiguous but crosses one goes through the bounce pages (which
 * dc_mapreg_create placed inside one DMA page when the file fits in one), as the Windows HAL
 * double-buffers such a piece. */
void dc_mapreg_set_dma_page(struct dc_mapreg_file *f, uint64_t bytes);
uint32_t dc_mapreg_count(const struct dc_mapreg_file *f);
uint32_t dc_mapreg_addr_bits(const struct dc_mapreg_file *f);
const struct dc_mapreg_stats *dc_mapreg_stats(const struct dc_mapreg_file *f);

/* A run of free registers (first fit), as AllocateAdapterChannel hands out a MapRegisterBase.
 * Returns the first index, DC_ERR_BUSY when no run of n is free now, DC_ERR_RANGE when n exceeds
 * the file (it never could be), DC_ERR_INVAL for n == 0. */
int dc_mapreg_alloc(struct dc_mapreg_file *f, uint32_t n);
/* Returns a run to the free pool.  Mapped registers in it are dropped without copying (a driver
 * that frees before flushing loses its bounced read data, as on Windows).  DC_ERR_INVAL if some
 * register of the run was not allocated; then nothing is done. */
int dc_mapreg_free(struct dc_mapreg_file *f, uint32_t first, uint32_t n);

/* Loads registers first .. first + n - 1 with the pieces of one transfer in direction dir, and
 * writes each piece's logical address to logical[i].  To-device bounced pieces are copied into
 * their bounce pages now.  Registers need not have come from dc_mapreg_alloc (a HAL may manage
 * its own runs).  Errors, after which nothing is mapped or copied:
 *   DC_ERR_RANGE  the run passes the end of the file (map register exhaustion);
 *   DC_ERR_BUSY   a register of the run is still mapped (no drain since its last map);
 *   DC_ERR_INVAL  a piece crosses a page, is empty, needs a bounce but has no va, or va and pa
 *                 disagree;
 *   DC_ERR_NOMEM  no bounce page below the device's limit. */
int dc_mapreg_map(struct dc_mapreg_file *f, uint32_t first, const struct dc_mapreg_piece *pieces,
                  uint32_t n, enum dc_dir dir, uint64_t *logical);

/* Drains registers first .. first + n - 1 (FlushAdapterBuffers): from-device bounced pieces are
 * copied back into the caller's buffer, then every register of the run is unmapped.  Returns the
 * bytes copied back (>= 0).  Registers of the run that are not mapped are skipped. */
int64_t dc_mapreg_drain(struct dc_mapreg_file *f, uint32_t first, uint32_t n);

/* Unmaps without copying anything back (a transfer abandoned, or registers reused). */
void dc_mapreg_discard(struct dc_mapreg_file *f, uint32_t first, uint32_t n);

/* What dc_mapreg_lookup found. */
struct dc_mapreg_hit {
	uint32_t reg;     /* register holding `logical`, UINT32_MAX if none */
	uint32_t nregs;   /* registers the covered part spans */
	enum dc_dir dir;  /* direction of the register holding `logical` */
	uint64_t covered; /* bytes from `logical` on that lie in mapped registers, contiguously */
	uint64_t pa;      /* caller's physical address behind `logical` (DC_PA_INVALID if none) */
};

/* Is [logical, logical + len) inside currently mapped registers?  True when every byte is; the
 * range may span several registers whose logical pieces are adjacent.  Whatever the answer, *hit
 * (if not NULL) says where the covered prefix is, so a checker can tell "never mapped" from
 * "past the mapped length". */
bool dc_mapreg_lookup(const struct dc_mapreg_file *f, uint64_t logical, uint64_t len,
                      struct dc_mapreg_hit *hit);

/* Register i's state (i < count). */
const struct dc_mapreg_entry *dc_mapreg_entry(const struct dc_mapreg_file *f, uint32_t i);

/* The physical address of register i's bounce page, DC_PA_INVALID if it has none yet. */
uint64_t dc_mapreg_bounce_pa(const struct dc_mapreg_file *f, uint32_t i);

#endif
