/* The sanitizer's rules of the DMA version 3 contract (wdm-dma-spec §3), V01..V08.  Most are
 * the v1/v2 judgements of check.c applied to transfers a v3 routine mapped, under the v3 rule
 * that governs them (check.c asks dc_v3_routine which routine is a v3 one): V01 for C07, V02
 * for A01, V03 for C03, V05 for C08, V06 for the channel part of A05, V07 for the cache-enabled
 * common buffer findings (C01, C02, C04) on buffers from the v3 allocators, V08 where a v1 and a
 * v3 routine are paired.  What needs state of its own is here: V04, the partial mapping of
 * MapTransferEx whose *Length a driver did not honour.
 *
 * No KeFlushIoBuffers is required of a v3 driver: MapTransferEx reports its own cache
 * maintenance (a DC_KEV_KE_FLUSH under its name), which check.c treats as the flush it is.
 * Not judged: MDL chains across which one MapTransferEx maps (each MDL is its own transfer in
 * the shadow).  The DmaCompletionRoutine's status (DC_KEV_DMA_COMPLETION) other than
 * DmaComplete fails the transfer for V05 as a failed FlushAdapterBuffersEx does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

int dc_v3_grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	size_t nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

bool dc_v3_routine(const char *r)
{
	static const char *const v3[] = {"MapTransferEx",
	                                 "FlushAdapterBuffersEx",
	                                 "GetScatterGatherListEx",
	                                 "BuildScatterGatherListEx",
	                                 "AllocateCommonBufferEx",
	                                 "AllocateCommonBufferWithBounds",
	                                 "AllocateCommonBufferVector",
	                                 "AllocateAdapterChannelEx",
	                                 "FreeAdapterObject"};
	if (!r)
		return false;
	/* Called for every map and flush: most names are v1's, told apart without a strcmp (every
	 * v3 name ends in "Ex" or starts with "A" or "Fr"). */
	size_t n = strlen(r);
	if (!(n > 2 && r[n - 2] == 'E' && r[n - 1] == 'x') && r[0] != 'A' &&
	    !(r[0] == 'F' && r[1] == 'r'))
		return false;
	for (size_t i = 0; i < DC_ARRAY_SIZE(v3); i++)
		if (!strcmp(r, v3[i]))
			return true;
	return false;
}

static struct dc_v3part *part_find(struct dc_check *c, const void *adapter, const void *mdl)
{
	for (size_t i = 0; i < c->n_v3p; i++)
		if (c->v3p[i].adapter == adapter && c->v3p[i].mdl == mdl)
			return &c->v3p[i];
	return NULL;
}

static void v04(struct dc_check *c, const struct dc_v3part *p, const struct dc_kev *e, unsigned dev,
                uint64_t bytes, const char *what)
{
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = DC_RULE_V04;
	f.severity = dc_rule_info(DC_RULE_V04)->severity;
	f.pc = e->pc;
	f.time = e->time;
	f.device = dev;
	f.dir = -1;
	f.bytes = bytes;
	f.pa = DC_PA_INVALID;
	f.logical = DC_PA_INVALID;
	f.count = 1;
	f.manifested = true;
	f.site[0] = (struct dc_site){"mapped at", p->pc, p->time};
	f.n_sites = 1;
	snprintf(f.what, sizeof(f.what), "%s", what);
	dc_finding_add(c, &f);
	bool known = false;
	for (size_t i = 0; i < c->n_v04; i++)
		known |= c->v04_mdls[i] == p->mdl;
	if (!known && (c->n_v04 < c->cap_v04 || !dc_v3_grow((void **)&c->v04_mdls, &c->cap_v04,
	                                                    sizeof(*c->v04_mdls), c->n_v04 + 1)))
		c->v04_mdls[c->n_v04++] = p->mdl;
}

/* An IRP completed with success: Information beyond where a partial mapping of its MDL ended
 * was never mapped (the driver took *Length for what it asked). */
void dc_v3_irp_complete(struct dc_check *c, const struct dc_kev *e, const void *mdl, unsigned dev)
{
	for (size_t i = 0; i < c->n_v3p; i++) {
		struct dc_v3part *p = &c->v3p[i];
		if (p->mdl != mdl)
			continue;
		if (e->len_out > p->end) {
			char what[200];
			snprintf(
			    what, sizeof(what),
			    "IRP completed with Information %llu after a partial MapTransferEx "
			    "that ended at Offset %llu {0}: %llu bytes never mapped",
			    (unsigned long long)e->len_out, (unsigned long long)p->end,
			    (unsigned long long)(e->len_out - p->end));
			v04(c, p, e, dev, e->len_out - p->end, what);
		}
		c->v3p[i] = c->v3p[--c->n_v3p];
		return;
	}
}

/* MapTransferEx returned.  A call after a partial mapping on the same MDL must start no later
 * than where the partial mapping ended (earlier is a retry, harmless). */
void dc_v3_map_ex(struct dc_check *c, const struct dc_kev *e)
{
	if ((int32_t)(uint32_t)e->status < 0 || !e->len_out)
		return;
	uint64_t off = (uint64_t)e->value;
	struct dc_v3part *p = part_find(c, e->adapter, e->mdl);
	if (p && off > p->end) {
		char what[200];
		snprintf(
		    what, sizeof(what),
		    "MapTransferEx at Offset %llu after a partial mapping that ended at Offset "
		    "%llu {0} skips %llu bytes",
		    (unsigned long long)off, (unsigned long long)p->end,
		    (unsigned long long)(off - p->end));
		v04(c, p, e, 0, off - p->end, what);
	}
	if (p && off < p->end && e->len_out == e->len) {
		/* A re-map inside the partial mapping (its tail again): the rest is owed from
		 * where this one ends. */
		p->end = off + e->len_out;
		p->pc = e->pc;
		p->time = e->time;
		return;
	}
	if (e->len_out < e->len) {
		if (!p) {
			if (c->n_v3p >= c->cap_v3p && dc_v3_grow((void **)&c->v3p, &c->cap_v3p,
			                                         sizeof(*c->v3p), c->n_v3p + 1))
				return;
			p = &c->v3p[c->n_v3p++];
		}
		*p = (struct dc_v3part){e->adapter, e->mdl, off + e->len_out, e->pc, e->time};
	} else if (p) {
		*p = c->v3p[--c->n_v3p];
	}
}

/* The HAL called a DmaCompletionRoutine: a status other than DmaComplete fails the transfer of
 * that MDL, as a failed FlushAdapterBuffersEx does; the IRP's success after it is V05 (judged
 * at its completion with the failed flushes).  One failure per MDL is enough. */
void dc_v3_completion(struct dc_check *c, const struct dc_kev *e)
{
	if (e->status == 0 /* DmaComplete */ || !e->mdl)
		return;
	for (size_t i = 0; i < c->n_ff; i++)
		if (c->ff[i].mdl == e->mdl)
			return;
	if (c->n_ff >= c->cap_ff &&
	    dc_v3_grow((void **)&c->ff, &c->cap_ff, sizeof(*c->ff), c->n_ff + 1))
		return;
	c->ff[c->n_ff++] = (struct dc_failed_flush){e->mdl, e->pc, e->time, true, (int)e->status};
}

bool dc_v3_skipped(const struct dc_check *c, const void *mdl)
{
	for (size_t i = 0; i < c->n_v04; i++)
		if (c->v04_mdls[i] == mdl)
			return true;
	return false;
}

void dc_v3_free(struct dc_check *c)
{
	free(c->v3p);
	free(c->v04_mdls);
	c->v3p = NULL;
	c->v04_mdls = NULL;
}
