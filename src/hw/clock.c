/* Discrete-event clock: a binary min-heap of embedded events ordered by (when, seq).  seq is
 * the scheduling order, so events due at the same nanosecond run first-scheduled first and a
 * run never depends on heap layout. */
#include <stdlib.h>

#include "clock.h"

void dc_clock_init(struct dc_clock *c)
{
	*c = (struct dc_clock){0};
}

void dc_clock_fini(struct dc_clock *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->heap[i]->heap_idx = SIZE_MAX;
	free(c->heap);
	*c = (struct dc_clock){0};
}

void dc_event_init(struct dc_event *e, const char *name, dc_event_fn fn, void *opaque)
{
	*e = (struct dc_event){.fn = fn, .opaque = opaque, .name = name, .heap_idx = SIZE_MAX};
}

static bool before(const struct dc_event *a, const struct dc_event *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void put(struct dc_clock *c, size_t i, struct dc_event *e)
{
	c->heap[i] = e;
	e->heap_idx = i;
}

static void sift_up(struct dc_clock *c, size_t i)
{
	struct dc_event *e = c->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(e, c->heap[p]))
			break;
		put(c, i, c->heap[p]);
		i = p;
	}
	put(c, i, e);
}

static void sift_down(struct dc_clock *c, size_t i)
{
	struct dc_event *e = c->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		const struct dc_event *be = e;
		if (l < c->n && before(c->heap[l], be))
			best = l, be = c->heap[l];
		if (l + 1 < c->n && before(c->heap[l + 1], be))
			best = l + 1;
		if (best == i)
			break;
		put(c, i, c->heap[best]);
		i = best;
	}
	put(c, i, e);
}

static void heap_remove(struct dc_clock *c, size_t i)
{
	struct dc_event *e = c->heap[i];
	c->n--;
	if (i != c->n) {
		struct dc_event *moved = c->heap[c->n];
		put(c, i, moved);
		sift_down(c, i);
		sift_up(c, moved->heap_idx);
	}
	e->heap_idx = SIZE_MAX;
}

int dc_event_schedule(struct dc_clock *c, struct dc_event *e, uint64_t when)
{
	if (dc_event_pending(e))
		heap_remove(c, e->heap_idx);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct dc_event **h = realloc(c->heap, cap * sizeof(*h));
		if (!h)
			return DC_ERR_NOMEM;
		c->heap = h;
		c->cap = cap;
	}
	e->when = when < c->now ? c->now : when;
	e->seq = c->seq++;
	put(c, c->n++, e);
	sift_up(c, c->n - 1);
	return DC_OK;
}

void dc_event_cancel(struct dc_clock *c, struct dc_event *e)
{
	if (dc_event_pending(e))
		heap_remove(c, e->heap_idx);
}

uint64_t dc_clock_next(const struct dc_clock *c)
{
	return c->n ? c->heap[0]->when : UINT64_MAX;
}

bool dc_clock_step(struct dc_clock *c)
{
	if (!c->n)
		return false;
	struct dc_event *e = c->heap[0];
	heap_remove(c, 0);
	if (e->when > c->now)
		c->now = e->when;
	c->events_run++;
	e->fn(e->opaque);
	return true;
}

void dc_clock_run_until(struct dc_clock *c, uint64_t t)
{
	while (c->n && c->heap[0]->when <= t)
		dc_clock_step(c);
	if (t > c->now)
		c->now = t;
}
