/* A platform profile: everything about the simulated machine that differs between a PC and a
 * non-coherent SoC — cache geometry, whether DMA snoops the caches, the adversary that makes
 * latent coherency bugs show, the system DMA controller's internal buffer, address widths and
 * transfer speeds.  Built-ins: "pc", "noncoherent", "noncoherent-prefetch" and "arm-soc" (a
 * non-coherent SoC whose system DMA controller is a PL080 with request lines, no ISA).  A profile
 * file is an INI file (parsed by Debian's inih); see docs/profiles.md for every key.
 *
 * Deliberately not modelled: instruction caches, TLBs, NUMA.  Processors (`processors = N`)
 * have private L1 (and L2 of three levels) caches kept coherent with each other by MOESI. */
#ifndef DMACOH_PLATFORM_H
#define DMACOH_PLATFORM_H

#include "dmacoh/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_MAX_CACHE_LEVELS 3
#define DC_MAX_CPUS 8
#define DC_NAME_MAX 64

enum dc_coherency {
	DC_COHERENT,    /* DMA snoops: device reads see dirty lines, device writes update caches */
	DC_NONCOHERENT, /* DMA sees memory only; software maintains the caches */
};
const char *dc_coherency_name(enum dc_coherency c);

enum dc_repl {
	DC_REPL_LRU,
	DC_REPL_RANDOM, /* seeded */
};
const char *dc_repl_name(enum dc_repl r);

/* Which system DMA controller the platform has (profile key [sysdma] controller). */
enum dc_sysdma_ctl {
	DC_SYSDMA_8237,  /* the PC/AT pair of 8237A controllers on ISA ports (PC platforms) */
	DC_SYSDMA_PL080, /* an ARM PL080 with 16 request lines, memory-mapped (arm-soc): no ISA */
};
const char *dc_sysdma_ctl_name(enum dc_sysdma_ctl c);

struct dc_cache_geom {
	uint64_t size; /* bytes */
	uint32_t ways; /* associativity; size / (line * ways) sets, a power of two */
	enum dc_repl repl;
};

/* Seeded adversary knobs: they only change *when* data is written back or fetched, never
 * what a correct driver sees. */
struct dc_adversary {
	double random_evict; /* probability per CPU access of evicting one random line */
	bool
	    evict_dirty_after_dma; /* a device write to memory at once evicts dirty lines over it */
	uint32_t prefetch_lines;   /* on a CPU fill, also fill the next N lines of the same page */
	double speculative_fill;   /* probability per line of a speculative fill of the old
	                            * memory contents just before a device write lands */
};

struct dc_platform {
	char name[DC_NAME_MAX];
	enum dc_coherency coherency;
	uint64_t seed;
	uint32_t processors; /* 1..DC_MAX_CPUS, each with its private cache levels */

	/* Memory */
	uint64_t phys_size; /* bytes of simulated physical memory (sparse) */
	uint64_t va_size;   /* bytes of kernel virtual address space (the cached window) */

	/* Caches: level[0] is L1; all levels share one line size. */
	uint32_t line_size;
	uint32_t n_levels;
	struct dc_cache_geom level[DC_MAX_CACHE_LEVELS];
	struct dc_adversary adv;

	/* System DMA controller (8237-compatible) and its internal buffer. */
	uint32_t sysdma_chunk;     /* bytes moved per memory access of the controller (>= 8) */
	uint32_t sysdma_depth;     /* chunks the internal buffer holds */
	bool sysdma_wait_full;     /* the controller waits until its buffer is full to move data */
	uint32_t sysdma_addr_bits; /* 24 on a PC: ISA DMA reaches the first 16 MiB */
	uint64_t sysdma_bw;        /* bytes per simulated second */

	/* Bus masters, the host bridge, map registers. */
	uint32_t bm_addr_bits;  /* address width of a 32-bit bus master */
	uint32_t bridge_posted; /* bytes the host bridge's posted-write buffer holds */
	uint32_t map_registers; /* map registers the HAL gives one adapter */
	uint64_t bm_bw;         /* bytes per simulated second */

	/* Appended: the system DMA controller (the sysdma_* keys above are its parameters:
	 * buffer keys for the 8237, addr_bits and bandwidth for both). */
	enum dc_sysdma_ctl sysdma_ctl;
	/* AllocateAdapterChannel's AdapterControl always runs later, at the next DPC delivery, as
	 * when the channel is busy (dmacoh run --deferred-grant): a driver that assumes the grant
	 * synchronous is exposed. */
	bool deferred_grant;
};

/* Fills *p with a built-in profile.  DC_ERR_NOTFOUND for an unknown name. */
int dc_platform_builtin(const char *name, struct dc_platform *p);
/* NULL-terminated list of built-in profile names. */
const char *const *dc_platform_builtin_names(void);

/* Loads a profile file: it starts from the built-in named by its `base` key (default "pc"),
 * then applies every key.  On error returns DC_ERR_PARSE (or DC_ERR_IO) and writes
 * "file:line: what is wrong" into err.  *p is untouched on error. */
int dc_platform_load(const char *path, struct dc_platform *p, char *err, size_t errlen);
/* Same from a buffer; `name` stands for the file name in messages. */
int dc_platform_parse(const char *text, size_t len, const char *name, struct dc_platform *p,
                      char *err, size_t errlen);

/* Checks the invariants every consumer relies on (powers of two, sizes that fit).  On error
 * returns DC_ERR_INVAL and writes a message naming the key. */
int dc_platform_validate(const struct dc_platform *p, char *err, size_t errlen);

/* Writes *p in the profile file format, every key explicit, so that parsing the text gives
 * back the same profile.  Returns the length of the full text (as snprintf does: the output
 * was cut if that is >= len); buf may be NULL when len is 0. */
int dc_platform_format(const struct dc_platform *p, char *buf, size_t len);

/* Number of sets of cache level i. */
static inline uint32_t dc_platform_sets(const struct dc_platform *p, uint32_t i)
{
	return (uint32_t)(p->level[i].size / ((uint64_t)p->line_size * p->level[i].ways));
}

#ifdef __cplusplus
}
#endif

#endif
