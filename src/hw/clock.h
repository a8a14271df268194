/* Simulated time: a discrete-event clock in nanoseconds.  Events run in (time, scheduling
 * order) order, so the same inputs always give the same interleaving.  One host thread.
 * An event is embedded in its owner (no allocation); rescheduling a pending event moves it. */
#ifndef DC_CLOCK_H
#define DC_CLOCK_H

#include "dmacoh/common.h"

typedef void (*dc_event_fn)(void *opaque);

struct dc_event {
	uint64_t when;
	uint64_t seq;
	dc_event_fn fn;
	void *opaque;
	const char *name;
	size_t heap_idx; /* SIZE_MAX while not scheduled */
};

struct dc_clock {
	uint64_t now;
	uint64_t seq;
	struct dc_event **heap;
	size_t n, cap;
	uint64_t events_run;
};

void dc_clock_init(struct dc_clock *c);
void dc_clock_fini(struct dc_clock *c);

void dc_event_init(struct dc_event *e, const char *name, dc_event_fn fn, void *opaque);
/* Schedules e at absolute time `when` (clamped to now); moves it if already pending.
 * Returns DC_ERR_NOMEM if the queue cannot grow (e is then not scheduled). */
int dc_event_schedule(struct dc_clock *c, struct dc_event *e, uint64_t when);
void dc_event_cancel(struct dc_clock *c, struct dc_event *e);
static inline bool dc_event_pending(const struct dc_event *e)
{
	return e->heap_idx != SIZE_MAX;
}

/* Time of the earliest pending event, UINT64_MAX if none. */
uint64_t dc_clock_next(const struct dc_clock *c);
/* Runs the earliest event (advancing now to its time).  False if none is pending. */
bool dc_clock_step(struct dc_clock *c);
/* Runs every event due at or before t, then sets now = max(now, t). */
void dc_clock_run_until(struct dc_clock *c, uint64_t t);

#endif
