/* The cache hierarchy model.  See cache.h for the semantics (cachegrind-compatible levels,
 * one data array in the cached window). */
#include <stdlib.h>

#include "cache.h"

const char *dc_cache_op_name(enum dc_cache_op op)
{
	static const char *const names[] = {"clean", "invalidate", "clean+invalidate"};
	return (unsigned)op < DC_ARRAY_SIZE(names) ? names[op] : "?";
}

const char *dc_access_name(enum dc_access a)
{
	static const char *const names[] = {"read", "write"};
	return (unsigned)a < DC_ARRAY_SIZE(names) ? names[a] : "?";
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int dc_cache_init(struct dc_cache *c, const struct dc_platform *p, const struct dc_cache_ops *ops,
                  void *opaque, uint64_t seed)
{
	*c = (struct dc_cache){.ops = ops, .opaque = opaque};
	if (!pow2(p->line_size) || p->n_levels < 1 || p->n_levels > DC_MAX_CACHE_LEVELS)
		return DC_ERR_INVAL;
	c->line_size = p->line_size;
	c->line_shift = (uint32_t)__builtin_ctz(p->line_size);
	c->n_levels = p->n_levels;
	dc_rng_seed(&c->rng, seed);
	for (uint32_t i = 0; i < p->n_levels; i++) {
		struct dc_cache_level *l = &c->lv[i];
		uint32_t sets = dc_platform_sets(p, i);
		if (!p->level[i].ways || !pow2(sets)) {
			dc_cache_fini(c);
			return DC_ERR_INVAL;
		}
		l->sets = sets;
		l->ways = p->level[i].ways;
		l->set_mask = sets - 1;
		l->repl = p->level[i].repl;
		size_t n = (size_t)sets * l->ways;
		l->tag = calloc(n, sizeof(*l->tag));
		l->stamp = calloc(n, sizeof(*l->stamp));
		l->data = calloc(n, sizeof(*l->data));
		l->dirty = calloc(n, sizeof(*l->dirty));
		if (!l->tag || !l->stamp || !l->data || !l->dirty) {
			dc_cache_fini(c);
			return DC_ERR_NOMEM;
		}
	}
	return DC_OK;
}

void dc_cache_fini(struct dc_cache *c)
{
	for (uint32_t i = 0; i < DC_MAX_CACHE_LEVELS; i++) {
		free(c->lv[i].tag);
		free(c->lv[i].stamp);
		free(c->lv[i].data);
		free(c->lv[i].dirty);
	}
	*c = (struct dc_cache){0};
}

/* Index of the line with this tag in level l, or -1. */
static inline long find(const struct dc_cache_level *l, uint64_t tag)
{
	size_t base = (size_t)((tag - 1) & l->set_mask) * l->ways;
	const uint64_t *t = l->tag + base;
	for (uint32_t w = 0; w < l->ways; w++)
		if (t[w] == tag)
			return (long)(base + w);
	return -1;
}

static int find_level(const struct dc_cache *c, uint64_t tag, uint32_t skip, long *idx)
{
	for (uint32_t i = 0; i < c->n_levels; i++) {
		if (i == skip)
			continue;
		long k = find(&c->lv[i], tag);
		if (k >= 0) {
			if (idx)
				*idx = k;
			return (int)i;
		}
	}
	return -1;
}

static uint64_t line_pa(const struct dc_cache *c, uint64_t tag)
{
	return (tag - 1) << c->line_shift;
}

/* Removes the line at index k of level i.  A dirty line passes its dirtiness to a lower level
 * holding it, or is written back; observers hear when the line left the whole hierarchy. */
static void drop(struct dc_cache *c, uint32_t i, long k)
{
	struct dc_cache_level *l = &c->lv[i];
	uint64_t tag = l->tag[k];
	uint8_t *data = l->data[k];
	bool dirty = l->dirty[k];
	l->tag[k] = 0;
	l->stamp[k] = 0;
	l->dirty[k] = 0;
	l->data[k] = NULL;
	bool lower = false; /* a lower level still holds the line */
	if (dirty) {
		for (uint32_t j = i + 1; j < c->n_levels && !lower; j++) {
			long kk = find(&c->lv[j], tag);
			if (kk >= 0) {
				c->lv[j].dirty[kk] = 1;
				lower = true;
			}
		}
		if (!lower) {
			l->st.writebacks++;
			if (c->ops && c->ops->writeback)
				c->ops->writeback(c->opaque, line_pa(c, tag), data);
		}
	}
	/* Only an observer needs to know whether another level holds the line; a lower level
	 * found above already answers it. */
	if (!lower && c->ops && c->ops->gone && find_level(c, tag, i, NULL) < 0)
		c->ops->gone(c->opaque, line_pa(c, tag));
}

/* Chooses the way of tag's set in level l that a new line takes: an invalid way, else the
 * least recently used or a random one. */
static long victim(struct dc_cache *c, struct dc_cache_level *l, uint64_t tag)
{
	size_t base = (size_t)((tag - 1) & l->set_mask) * l->ways;
	const uint64_t *s = l->stamp + base;
	if (l->repl == DC_REPL_RANDOM) {
		for (uint32_t w = 0; w < l->ways; w++)
			if (!l->tag[base + w])
				return (long)(base + w);
		return (long)(base + dc_rng_below(&c->rng, l->ways));
	}
	/* An invalid way has stamp 0 (drop and dc_cache_line_op keep it so) and a valid one a
	 * stamp >= 1, so the first least stamp is the first invalid way if there is one.  The
	 * minimum stays in a register and the choice is a select, not a branch: with a branch,
	 * every other way mispredicts. */
	uint32_t best = 0;
	uint64_t min = s[0];
	for (uint32_t w = 1; w < l->ways; w++) {
		bool lt = s[w] < min;
		min = lt ? s[w] : min;
		best = lt ? w : best;
	}
	return (long)(base + best);
}

static long install(struct dc_cache *c, uint32_t i, uint64_t tag, uint8_t *data, bool dirty)
{
	struct dc_cache_level *l = &c->lv[i];
	long k = victim(c, l, tag);
	if (l->tag[k]) {
		l->st.evictions++;
		drop(c, i, k);
	}
	l->tag[k] = tag;
	l->data[k] = data;
	l->dirty[k] = dirty;
	l->stamp[k] = ++l->clock;
	return k;
}

uint32_t dc_cache_access_slow(struct dc_cache *c, uint64_t pa, uint8_t *data, enum dc_access a)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	uint8_t *line = data ? data - (pa & (c->line_size - 1)) : NULL;
	struct dc_cache_level *l1 = &c->lv[0];
	long k = find(l1, tag);
	c->mru_tag = 0;
	if (k >= 0) {
		l1->st.hits[a]++;
		l1->stamp[k] = ++l1->clock;
		if (a == DC_ACC_WRITE)
			l1->dirty[k] = 1;
		c->mru_tag = tag;
		c->mru_dirty = l1->dirty[k];
		c->mru_k = k;
		return 0;
	}
	l1->st.misses[a]++;
	uint32_t hit = c->n_levels;
	for (uint32_t i = 1; i < c->n_levels; i++) {
		struct dc_cache_level *l = &c->lv[i];
		long kk = find(l, tag);
		if (kk >= 0) {
			l->st.hits[a]++;
			l->stamp[kk] = ++l->clock;
			hit = i;
			break;
		}
		l->st.misses[a]++;
	}
	if (hit == c->n_levels) {
		l1->st.fills++;
		if (c->ops && c->ops->fill)
			c->ops->fill(c->opaque, line_pa(c, tag), line);
	}
	/* Every level that missed allocates, deepest first, as cachegrind's LL then D1. */
	for (uint32_t i = hit; i-- > 1;)
		install(c, i, tag, line, false);
	c->mru_k = install(c, 0, tag, line, a == DC_ACC_WRITE);
	c->mru_tag = tag;
	c->mru_dirty = a == DC_ACC_WRITE;
	return hit;
}

int dc_cache_probe(const struct dc_cache *c, uint64_t pa, bool *dirty)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	int first = -1;
	bool d = false;
	for (uint32_t i = 0; i < c->n_levels; i++) {
		long k = find(&c->lv[i], tag);
		if (k >= 0) {
			if (first < 0)
				first = (int)i;
			d |= c->lv[i].dirty[k];
		}
	}
	if (dirty)
		*dirty = d;
	return first;
}

bool dc_cache_line_op(struct dc_cache *c, uint64_t pa, enum dc_cache_op op)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	long idx[DC_MAX_CACHE_LEVELS];
	bool present = false, dirty = false;
	uint8_t *data = NULL;
	c->mru_tag = 0;
	for (uint32_t i = 0; i < c->n_levels; i++) {
		idx[i] = find(&c->lv[i], tag);
		if (idx[i] >= 0) {
			present = true;
			dirty |= c->lv[i].dirty[idx[i]];
			data = c->lv[i].data[idx[i]];
		}
	}
	if (!present)
		return false;
	if (dirty && op != DC_CACHE_INVAL) {
		c->lv[c->n_levels - 1].st.writebacks++;
		if (c->ops && c->ops->writeback)
			c->ops->writeback(c->opaque, line_pa(c, tag), data);
	}
	for (uint32_t i = 0; i < c->n_levels; i++) {
		if (idx[i] < 0)
			continue;
		c->lv[i].dirty[idx[i]] = 0;
		if (op != DC_CACHE_CLEAN) {
			c->lv[i].tag[idx[i]] = 0;
			c->lv[i].stamp[idx[i]] = 0;
			c->lv[i].data[idx[i]] = NULL;
		}
	}
	if (op != DC_CACHE_CLEAN && c->ops && c->ops->gone)
		c->ops->gone(c->opaque, line_pa(c, tag));
	return true;
}

uint64_t dc_cache_data_range_op(struct dc_cache *c, const uint8_t *lo, const uint8_t *hi,
                                enum dc_cache_op op)
{
	uint64_t affected = 0;
	for (uint32_t i = 0; i < c->n_levels; i++) {
		struct dc_cache_level *l = &c->lv[i];
		size_t n = (size_t)l->sets * l->ways;
		for (size_t k = 0; k < n; k++) {
			const uint8_t *d = l->data[k];
			if (!l->tag[k] || !d || d >= hi || d + c->line_size <= lo)
				continue;
			if (op == DC_CACHE_CLEAN && !l->dirty[k])
				continue;
			affected += dc_cache_line_op(c, line_pa(c, l->tag[k]), op);
		}
	}
	return affected;
}

bool dc_cache_prefetch(struct dc_cache *c, uint64_t pa, uint8_t *data)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	if (find_level(c, tag, UINT32_MAX, NULL) >= 0)
		return false;
	uint8_t *line = data ? data - (pa & (c->line_size - 1)) : NULL;
	c->mru_tag = 0;
	c->lv[0].st.fills++;
	if (c->ops && c->ops->fill)
		c->ops->fill(c->opaque, line_pa(c, tag), line);
	for (uint32_t i = c->n_levels; i-- > 0;)
		install(c, i, tag, line, false);
	return true;
}

bool dc_cache_evict_random(struct dc_cache *c)
{
	uint32_t i = (uint32_t)dc_rng_below(&c->rng, c->n_levels);
	struct dc_cache_level *l = &c->lv[i];
	size_t k = (size_t)dc_rng_below(&c->rng, (uint64_t)l->sets * l->ways);
	if (!l->tag[k])
		return false;
	l->st.evictions++;
	return dc_cache_line_op(c, line_pa(c, l->tag[k]), DC_CACHE_CLEAN_INVAL);
}

uint64_t dc_cache_total_lines(const struct dc_cache *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < c->n_levels; i++)
		n += (uint64_t)c->lv[i].sets * c->lv[i].ways;
	return n;
}

void dc_cache_flush_all(struct dc_cache *c)
{
	for (uint32_t i = 0; i < c->n_levels; i++) {
		struct dc_cache_level *l = &c->lv[i];
		size_t n = (size_t)l->sets * l->ways;
		for (size_t k = 0; k < n; k++)
			if (l->tag[k])
				dc_cache_line_op(c, line_pa(c, l->tag[k]), DC_CACHE_CLEAN_INVAL);
	}
}
