/* Findings: one per rule + pc, as sanitizers deduplicate (later occurrences only count), in
 * the order they first happened.  A finding a suppression matches is remembered (so its
 * repeats cost a lookup) but never shown; past max_reports findings are only counted.  The
 * first shown error sets the halt flag when halt_on_error asks for it. */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

static size_t slot(const struct dc_check *c, enum dc_rule r, const void *pc)
{
	uint64_t h = ((uint64_t)(uintptr_t)pc ^ ((uint64_t)r << 56)) * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 32) & (c->hash_cap - 1);
}

static int rehash(struct dc_check *c)
{
	size_t cap = c->hash_cap ? c->hash_cap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -1;
	free(c->hash);
	c->hash = h;
	c->hash_cap = cap;
	for (size_t i = 0; i < c->n_ent; i++) {
		size_t s = slot(c, c->ent[i].f.rule, c->ent[i].f.pc);
		while (c->hash[s])
			s = (s + 1) & (cap - 1);
		c->hash[s] = (uint32_t)i + 1;
	}
	return 0;
}

static int finding_add(struct dc_check *c, const struct dc_finding *f)
{

	if (c->hash_cap) {
		for (size_t s = slot(c, f->rule, f->pc); c->hash[s];
		     s = (s + 1) & (c->hash_cap - 1)) {
			struct dc_entry *e = &c->ent[c->hash[s] - 1];
			if (e->f.rule != f->rule || e->f.pc != f->pc)
				continue;
			if (e->suppressed) {
				c->suppressed++;
				return -1;
			}
			e->f.count++;
			e->f.manifested |= f->manifested;
			c->hits[f->rule]++;
			if (e->f.severity == DC_SEV_ERROR)
				c->errors++;
			return (int)(e - c->ent);
		}
	}
	bool supp = dc_supp_match(c, f);
	if (!supp && c->opts.max_reports && c->n_vis >= c->opts.max_reports) {
		c->dropped++;
		c->hits[f->rule]++;
		if (f->severity == DC_SEV_ERROR)
			c->errors++;
		return -1;
	}
	if ((c->n_ent + 1) * 2 > c->hash_cap && rehash(c) < 0)
		return -1;
	if (c->n_ent == c->cap_ent) {
		size_t cap = c->cap_ent ? c->cap_ent * 2 : 32;
		struct dc_entry *e = realloc(c->ent, cap * sizeof(*e));
		if (!e)
			return -1;
		c->ent = e;
		c->cap_ent = cap;
	}
	if (!supp && c->n_vis == c->cap_vis) {
		size_t cap = c->cap_vis ? c->cap_vis * 2 : 32;
		size_t *v = realloc(c->vis, cap * sizeof(*v));
		if (!v)
			return -1;
		c->vis = v;
		c->cap_vis = cap;
	}
	size_t idx = c->n_ent++;
	c->ent[idx].f = *f;
	c->ent[idx].f.count = 1;
	c->ent[idx].suppressed = supp;
	size_t s = slot(c, f->rule, f->pc);
	while (c->hash[s])
		s = (s + 1) & (c->hash_cap - 1);
	c->hash[s] = (uint32_t)idx + 1;
	if (supp) {
		c->suppressed++;
		return -1;
	}
	c->vis[c->n_vis++] = idx;
	c->hits[f->rule]++;
	if (f->severity == DC_SEV_ERROR) {
		c->errors++;
		if (c->opts.halt_on_error)
			c->halted = true;
	}
	return (int)idx;
}

void dc_finding_manifest(struct dc_check *c, int idx)
{
	if (idx >= 0 && (size_t)idx < c->n_ent)
		c->ent[idx].f.manifested = true;
	dc_stream_manifest(c, idx);
}

/* Every change to the findings also goes to the supervising process, when there is one
 * (stream.c): what changed is read off the counters around the add. */
int dc_finding_add(struct dc_check *c, const struct dc_finding *f)
{
	if (!dc_stream_on(c))
		return finding_add(c, f);
	size_t n_ent = c->n_ent;
	uint64_t dropped = c->dropped, suppressed = c->suppressed;
	int idx = finding_add(c, f);
	dc_stream_after_add(c, f, idx, n_ent, dropped, suppressed);
	return idx;
}

void dc_findings_free(struct dc_check *c)
{
	free(c->ent);
	free(c->vis);
	free(c->hash);
	c->ent = NULL;
	c->vis = NULL;
	c->hash = NULL;
}

size_t dc_check_count(const struct dc_check *c)
{
	return c->n_vis;
}

const struct dc_finding *dc_check_finding(const struct dc_check *c, size_t i)
{
	return i < c->n_vis ? &c->ent[c->vis[i]].f : NULL;
}

uint64_t dc_check_rule_hits(const struct dc_check *c, enum dc_rule r)
{
	return (unsigned)r < DC_RULE_COUNT ? c->hits[r] : 0;
}

uint64_t dc_check_suppressed(const struct dc_check *c)
{
	return c->suppressed;
}

uint64_t dc_check_errors(const struct dc_check *c)
{
	return c->errors;
}

bool dc_check_halted(const struct dc_check *c)
{
	return c->halted;
}
