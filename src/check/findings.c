/* Findings: one per rule + source location (file:line:function as symbolize.c settles it;
 * the pc itself when it has no source line), in the order they first happened; later
 * occurrences only count.  Grouping by line, not by pc as other sanitizers do, makes the gcc
 * and clang builds of a driver give the same findings: one source line can compile to several
 * pcs (an unrolled loop, a helper inlined into two callers), differently per compiler.  A finding a
 * suppression matches is remembered (so its repeats cost a lookup) but never shown; past
 * max_reports findings are only counted.  The first shown error sets the halt flag when
 * halt_on_error asks for it. */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

/* The grouping key of a finding's pc: its location id, or the pc when it has no line. */
static uint64_t loc_key(struct dc_check *c, const struct dc_finding *f)
{
	if (!f->pc)
		return 0;
	uint32_t loc = dc_sym_lookup(c, f->pc, f->exact_pc)->loc;
	uint64_t k = loc ? (uint64_t)loc | (UINT64_C(1) << 63) : (uint64_t)(uintptr_t)f->pc;
	/* A race is one per pair of lines: the access and the one it races with. */
	if (f->rule == DC_RULE_S01 && f->n_sites && f->site[0].pc) {
		uint32_t l2 = dc_sym_lookup(c, f->site[0].pc, false)->loc;
		k = k * UINT64_C(0x100000001b3) ^ (l2 ? l2 : (uint64_t)(uintptr_t)f->site[0].pc);
	}
	return k;
}

static size_t slot(const struct dc_check *c, enum dc_rule r, uint64_t key)
{
	uint64_t h = (key ^ ((uint64_t)r << 56)) * UINT64_C(0x9e3779b97f4a7c15);
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
		size_t s = slot(c, c->ent[i].f.rule, c->ent[i].key);
		while (c->hash[s])
			s = (s + 1) & (cap - 1);
		c->hash[s] = (uint32_t)i + 1;
	}
	return 0;
}

static int finding_add(struct dc_check *c, const struct dc_finding *f)
{
	uint64_t key = loc_key(c, f);
	if (c->hash_cap) {
		for (size_t s = slot(c, f->rule, key); c->hash[s];
		     s = (s + 1) & (c->hash_cap - 1)) {
			struct dc_entry *e = &c->ent[c->hash[s] - 1];
			if (e->f.rule != f->rule || e->key != key)
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
	c->ent[idx].key = key;
	c->ent[idx].note = NULL;
	size_t s = slot(c, f->rule, key);
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

/* The entry of rule + key, NULL if none. */
static struct dc_entry *entry_of(struct dc_check *c, enum dc_rule r, uint64_t key)
{
	if (!c->hash_cap)
		return NULL;
	for (size_t s = slot(c, r, key); c->hash[s]; s = (s + 1) & (c->hash_cap - 1)) {
		struct dc_entry *e = &c->ent[c->hash[s] - 1];
		if (e->f.rule == r && e->key == key)
			return e;
	}
	return NULL;
}

/* Nonzero while the tables or the stream are being changed: the host watchdog's signal then
 * only marks its X02 pending (crash.c), raised when the outermost change ends. */
volatile sig_atomic_t dc_chk_busy;

static void leave(void)
{
	if (--dc_chk_busy == 0 && dc_crash_pending)
		dc_crash_raise_pending();
}

static int add_access(struct dc_check *c, const struct dc_finding *f);

int dc_finding_add_access(struct dc_check *c, const struct dc_finding *f)
{
	dc_chk_busy++;
	int idx = add_access(c, f);
	leave();
	return idx;
}

static int add_access(struct dc_check *c, const struct dc_finding *f)
{
	uint64_t key = loc_key(c, f);
	struct dc_entry *e = entry_of(c, f->rule, key);
	if (e && e->ev_time == f->time && e->ev_xfer == f->xfer) {
		if (e->suppressed)
			return -1;
		/* The same occurrence: its details are those of the lowest bytes the line
		 * touched in it, whatever order the compiler put the accesses in. */
		if (e->f.count == 1 &&
		    (f->va < e->f.va || (f->va == e->f.va && f->len > e->f.len))) {
			bool man = e->f.manifested;
			e->f = *f;
			e->f.count = 1;
			e->f.manifested |= man;
			dc_stream_update(c, (int)(e - c->ent));
		}
		e->f.manifested |= f->manifested;
		return (int)(e - c->ent);
	}
	int idx = dc_finding_add(c, f);
	e = entry_of(c, f->rule, key);
	if (e) {
		e->ev_time = f->time;
		e->ev_xfer = f->xfer;
	}
	return idx;
}

void dc_finding_manifest(struct dc_check *c, int idx)
{
	dc_chk_busy++;
	if (idx >= 0 && (size_t)idx < c->n_ent)
		c->ent[idx].f.manifested = true;
	dc_stream_manifest(c, idx);
	leave();
}

/* Every change to the findings also goes to the supervising process, when there is one
 * (stream.c): what changed is read off the counters around the add. */
int dc_finding_add(struct dc_check *c, const struct dc_finding *f)
{
	dc_chk_busy++;
	int idx;
	if (!dc_stream_on(c)) {
		idx = finding_add(c, f);
	} else {
		size_t n_ent = c->n_ent;
		uint64_t dropped = c->dropped, suppressed = c->suppressed;
		idx = finding_add(c, f);
		dc_stream_after_add(c, f, idx, n_ent, dropped, suppressed);
	}
	leave();
	return idx;
}

void dc_findings_free(struct dc_check *c)
{
	for (size_t i = 0; i < c->n_ent; i++)
		free(c->ent[i].note);
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
