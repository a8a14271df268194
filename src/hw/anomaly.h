/* The seed's anomaly as four runnable scenarios on one cache line, each with or without the
 * cache maintenance a correct driver does at that point:
 *  stale-device-read   the CPU writes a line, the device reads memory (stale bytes);
 *  eviction-over-dma   the device writes memory, a later eviction of the CPU's dirty line
 *                      overwrites the DMA data;
 *  stale-cpu-read      the CPU reads a stale clean line after the device wrote memory;
 *  other-processor     processor 1 writes the line (dirty in ITS L1), processor 0 reads it
 *                      (supplied cache to cache: 1 Owned, 0 Shared, memory still stale) and
 *                      starts the DMA: the device reads stale memory unless the clean acts on
 *                      every processor's caches (the seed's "one or more processor caches").
 *                      Run on at least two processors whatever the profile says.
 * Each step's state (cache line per processor, memory, device) is drawn as ASCII text.  Used
 * by `dmacoh demo` and by the tests; the adversary is switched off so that only the model's
 * ordinary behaviour is shown. */
#ifndef DC_ANOMALY_H
#define DC_ANOMALY_H

#include "dmacoh/platform.h"

enum dc_anomaly {
	DC_ANOMALY_STALE_DEVICE_READ,
	DC_ANOMALY_EVICTION_OVER_DMA,
	DC_ANOMALY_STALE_CPU_READ,
	DC_ANOMALY_OTHER_PROCESSOR,
	DC_ANOMALY_COUNT
};
const char *dc_anomaly_name(enum dc_anomaly a);
/* The maintenance that makes the scenario correct, in Windows terms. */
const char *dc_anomaly_fix(enum dc_anomaly a);

/* Receives one step's diagram (several lines, each ending in '\n'). */
typedef void (*dc_anomaly_draw_fn)(void *opaque, const char *text);

struct dc_anomaly_result {
	bool correct; /* the data the consumer saw is the data the producer wrote */
	bool evicted; /* eviction-over-dma: the conflicting accesses did evict the line */
};

/* Runs scenario a on a machine built from p.  Returns DC_OK and fills *r, or a negative
 * dc_err if the machine could not be built. */
int dc_anomaly_run(const struct dc_platform *p, enum dc_anomaly a, bool maintain,
                   dc_anomaly_draw_fn draw, void *opaque, struct dc_anomaly_result *r);

#endif
