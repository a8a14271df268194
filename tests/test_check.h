/* The sanitizer's tests drive a real machine (CPU accesses through the cache model, device
 * accesses through dc_dma_read/dc_dma_write) and play the kernel layer themselves: they emit
 * the DC_KEV_* events a kernel would, through the machine's observers.  One scenario — a
 * bus-master driver's write and read IRPs, a descriptor ring in a cache-enabled common buffer,
 * a PIO read, teardown — is played correct, or with exactly one mistake (one rule). */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include "dmacoh/check.h"
#include "dmacoh/observer.h"
#include "hw/machine.h"

struct tc_env {
	struct dc_machine *m;
	struct dc_check *c;
	int src;      /* the test bus master's DMA source */
	bool data_ok; /* the correct scenario moved the right bytes */
};

/* A machine on a built-in platform with the given seed and a checker (o: NULL for defaults
 * without alignment warnings off).  False on failure (nothing left allocated). */
bool tc_init(struct tc_env *v, const char *platform, uint64_t seed, const struct dc_check_opts *o);
void tc_fini(struct tc_env *v);

/* Emits a kernel event to the machine's observers, stamped with the current sim time. */
void tc_emit(struct tc_env *v, struct dc_kev e);

/* The scenario with the mistake that breaks `bug` (a DC_RULE_*), or none (bug < 0); or
 * TC_UNALIGNED: a read buffer that starts inside a cache line, nothing else (a C05 warning). */
#define TC_UNALIGNED (DC_RULE_COUNT + 1)
void tc_scenario(struct tc_env *v, int bug);

/* One line per finding, "RULE severity at-location xfer bytes count", without manifested:
 * what must be identical on every platform and seed. */
size_t tc_signature(struct tc_env *v, char *buf, size_t len);

/* Driver "call sites" in the test binary, for symbolization (return addresses). */
extern const void *tc_pc_start_io, *tc_pc_dpc, *tc_pc_copy, *tc_pc_complete;

#endif
