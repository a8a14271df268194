/* Driver debug output: the per-system capture behind DbgPrint and friends (dbgprint.h).  What it
 * keeps is bounded (a ring of whole lines and counters); nothing here prints: sinks do. */
#include "dbgprint.h"

#include <stdlib.h>
#include <string.h>

#include "kernel.h"

struct dc_dbgprint {
	struct dc_dbg_line ring[DC_DBG_RING];
	uint64_t head; /* lines ever completed (ring[(head - 1) % DC_DBG_RING] is the last) */
	struct dc_dbg_stats st;
	char part[DC_DBG_LINE]; /* the line being built */
	size_t plen;
	bool pcut, pending;
	struct {
		dc_dbg_sink_fn fn;
		void *opaque;
	} sink[DC_DBG_SINKS];
};

static struct dc_dbgprint *get(struct dc_sys *s)
{
	if (!s->dbg)
		s->dbg = calloc(1, sizeof(*s->dbg));
	return s->dbg;
}

int dc_dbgprint_add_sink(struct dc_sys *s, dc_dbg_sink_fn fn, void *opaque)
{
	struct dc_dbgprint *d = get(s);
	if (!d)
		return DC_ERR_NOMEM;
	for (unsigned i = 0; i < DC_DBG_SINKS; i++)
		if (!d->sink[i].fn) {
			d->sink[i].fn = fn;
			d->sink[i].opaque = opaque;
			return DC_OK;
		}
	return DC_ERR_BUSY;
}

void dc_dbgprint_remove_sink(struct dc_sys *s, dc_dbg_sink_fn fn, void *opaque)
{
	struct dc_dbgprint *d = s->dbg;
	for (unsigned i = 0; d && i < DC_DBG_SINKS; i++)
		if (d->sink[i].fn == fn && d->sink[i].opaque == opaque)
			d->sink[i].fn = NULL;
}

static void end_line(struct dc_sys *s, struct dc_dbgprint *d)
{
	struct dc_dbg_line *l = &d->ring[d->head % DC_DBG_RING];
	l->seq = ++d->head;
	l->time = s->m->clock.now;
	memcpy(l->text, d->part, d->plen);
	l->text[d->plen] = 0;
	d->st.lines++;
	d->st.truncated += d->pcut;
	d->plen = 0;
	d->pcut = d->pending = false;
	for (unsigned i = 0; i < DC_DBG_SINKS; i++)
		if (d->sink[i].fn)
			d->sink[i].fn(d->sink[i].opaque, l);
}

void dc_dbgprint_text(struct dc_sys *s, const char *text)
{
	struct dc_dbgprint *d = get(s);
	if (!d)
		return;
	for (const char *p = text; *p; p++) {
		d->st.bytes++;
		if (*p == '\n') {
			end_line(s, d);
			continue;
		}
		d->pending = true;
		if (*p == '\r')
			continue;
		if (d->plen + 1 < DC_DBG_LINE)
			d->part[d->plen++] = *p;
		else
			d->pcut = true;
	}
}

bool dc_dbgprint_passes(uint32_t component, uint32_t level)
{
	(void)component; /* every component's mask is 0 by default */
	uint32_t mask = level <= 31 ? UINT32_C(1) << level : level;
	return (mask & 1u) != 0; /* Kd_WIN2000_Mask: DPFLTR_ERROR_LEVEL */
}

void dc_dbgprint_filtered(struct dc_sys *s)
{
	struct dc_dbgprint *d = get(s);
	if (d)
		d->st.filtered++;
}

void dc_dbgprint_flush(struct dc_sys *s)
{
	struct dc_dbgprint *d = s->dbg;
	if (d && d->pending)
		end_line(s, d);
}

size_t dc_dbgprint_last(struct dc_sys *s, size_t n, struct dc_dbg_line *out)
{
	struct dc_dbgprint *d = s->dbg;
	if (!d)
		return 0;
	uint64_t have = DC_MIN(d->head, (uint64_t)DC_DBG_RING);
	if (n > have)
		n = (size_t)have;
	for (size_t i = 0; i < n; i++)
		out[i] = d->ring[(d->head - n + i) % DC_DBG_RING];
	return n;
}

void dc_dbgprint_stats(struct dc_sys *s, struct dc_dbg_stats *st)
{
	if (s->dbg)
		*st = s->dbg->st;
	else
		memset(st, 0, sizeof(*st));
}

void dc_dbgprint_free(struct dc_sys *s)
{
	free(s->dbg);
	s->dbg = NULL;
}
