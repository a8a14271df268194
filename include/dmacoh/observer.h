/* The one table through which the machine and the kernel layer tell observers (the sanitizer,
 * the tracer) what happened, the way Linux calls debug_dma_*() at the end of each DMA API
 * entry point.  Observers only watch: a run with observers leaves the machine in the same state
 * as a run without.  Every member may be NULL.  Addresses: va is a host address in one of the
 * windows, pa a simulated physical address; `source` names the DMA engine (a small integer the
 * engine registered, see dc_machine_dma_source). */
#ifndef DMACOH_OBSERVER_H
#define DMACOH_OBSERVER_H

#include "dmacoh/common.h"

struct dc_observer {
	/* An instrumented CPU access in the cached window (after the cache model ran) or, with
	 * cached == false, in the uncached window.  pc: the driver's instruction, or NULL. */
	void (*cpu_access)(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
	                   bool cached, const void *pc);
	/* Cache events, by physical line address. */
	void (*cache_fill)(void *opaque, uint64_t line_pa, bool speculative);
	void (*cache_writeback)(void *opaque, uint64_t line_pa);
	void (*cache_gone)(void *opaque, uint64_t line_pa);
	/* CPU cache maintenance over a cached-window range (KeFlushIoBuffers and friends). */
	void (*cache_maint)(void *opaque, const void *va, uint64_t len, int op);
	/* A device read (write == false) or wrote memory at [pa, pa + len). */
	void (*dma)(void *opaque, int source, uint64_t pa, uint64_t len, bool write);
};

#define DC_MAX_OBSERVERS 4

#endif
