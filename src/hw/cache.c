/* The cache hierarchy model, with one or several processors.  See cache.h for the semantics
 * (cachegrind-compatible levels, one data array in the cached window, MOESI between the
 * processors' private levels).  Not modelled here: anything about memory (the machine's
 * fill/writeback callbacks), snoop timing. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Distinct levels: lv[0..n_levels) (processor 0's private ones and the shared ones), then
 * each other processor's private ones.  *idx: the level's index in a processor's view. */
static uint32_t n_distinct(const struct dc_cache *c)
{
	return c->n_levels + (c->n_cpus - 1) * c->n_private;
}

static struct dc_cache_level *dlevel(struct dc_cache *c, uint32_t d, uint32_t *idx)
{
	if (d < c->n_levels) {
		if (idx)
			*idx = d;
		return &c->lv[d];
	}
	d -= c->n_levels;
	if (idx)
		*idx = d % c->n_private;
	return &c->cpl[d / c->n_private][d % c->n_private];
}

static const struct dc_cache_level *cdlevel(const struct dc_cache *c, uint32_t d, uint32_t *idx)
{
	return dlevel((struct dc_cache *)c, d, idx);
}

static int level_init(struct dc_cache_level *l, const struct dc_platform *p, uint32_t i)
{
	uint32_t sets = dc_platform_sets(p, i);
	if (!p->level[i].ways || !pow2(sets))
		return DC_ERR_INVAL;
	l->sets = sets;
	l->ways = p->level[i].ways;
	l->set_mask = sets - 1;
	l->repl = p->level[i].repl;
	/* One block: tags, states, then the recency words and valid bits (a power-of-two number
	 * of ways up to 16, LRU) or the stamps, each array starting on a host line so that an
	 * 8-way set's tags are one line, always the same one. */
	size_t n = (size_t)sets * l->ways, a8 = (n * 8 + 63) & ~(size_t)63;
	size_t a1 = (n + 63) & ~(size_t)63, ao = ((size_t)sets * 8 + 63) & ~(size_t)63;
	size_t av = ((size_t)sets * 4 + 63) & ~(size_t)63;
	bool nib = l->repl == DC_REPL_LRU && l->ways <= 16 && pow2(l->ways);
	l->way_shift = (uint32_t)__builtin_ctz(l->ways);
	size_t bytes = a8 + a1 + (nib ? ao + av : a8);
	uint8_t *b = aligned_alloc(64, bytes);
	if (!b)
		return DC_ERR_NOMEM;
	memset(b, 0, bytes);
	l->tag = (uint64_t *)(void *)b;
	l->state = b + a8;
	l->stamp = NULL;
	l->order = NULL;
	l->valid = NULL;
	if (!nib)
		l->stamp = (uint64_t *)(void *)(b + a8 + a1);
	if (nib) {
		l->order = (uint64_t *)(void *)(b + a8 + a1);
		l->valid = (uint32_t *)(void *)(b + a8 + a1 + ao);
		uint64_t id = 0; /* way w at position w */
		for (uint32_t w = l->ways; w-- > 0;)
			id = id << 4 | w;
		for (uint32_t s = 0; s < sets; s++)
			l->order[s] = id;
	}
	return DC_OK;
}

int dc_cache_init(struct dc_cache *c, const struct dc_platform *p, const struct dc_cache_ops *ops,
                  void *opaque, uint64_t seed)
{
	*c = (struct dc_cache){.ops = ops, .opaque = opaque};
	uint32_t ncpu = p->processors ? p->processors : 1;
	if (!pow2(p->line_size) || p->n_levels < 1 || p->n_levels > DC_MAX_CACHE_LEVELS ||
	    ncpu > DC_MAX_CPUS)
		return DC_ERR_INVAL;
	c->line_size = p->line_size;
	c->line_shift = (uint32_t)__builtin_ctz(p->line_size);
	c->n_levels = p->n_levels;
	c->n_private = p->n_levels >= 3 ? 2 : 1;
	c->n_cpus = ncpu;
	dc_rng_seed(&c->rng, seed);
	for (uint32_t d = 0; d < n_distinct(c); d++) {
		uint32_t i;
		struct dc_cache_level *l = dlevel(c, d, &i);
		int rc = level_init(l, p, i);
		if (rc < 0) {
			dc_cache_fini(c);
			return rc;
		}
	}
	for (uint32_t q = 0; q < ncpu; q++)
		for (uint32_t i = 0; i < c->n_levels; i++)
			c->view[q][i] = q && i < c->n_private ? &c->cpl[q - 1][i] : &c->lv[i];
	/* The snoop filter: a byte per line, reserved, backed only where lines were cached.  Not
	 * with one processor: there is nobody to snoop, and a random byte of an array as large
	 * as memory ÷ 64 on every install and eviction cost more (bounced transfers about 6 %)
	 * than the L1 scans it spares present_any. */
	uint64_t lines = p->phys_size >> c->line_shift;
	if (ncpu > 1 && lines && lines <= SIZE_MAX) {
		void *m = mmap(NULL, (size_t)lines, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m != MAP_FAILED) {
			c->pcopies = m;
			c->pcopies_n = lines;
			for (uint32_t q = 0; q < ncpu; q++)
				for (uint32_t i = 0; i < c->n_private; i++) {
					c->view[q][i]->pcopies = c->pcopies;
					c->view[q][i]->pcopies_n = lines;
				}
		}
	}
	c->l1 = c->view[0][0];
	return DC_OK;
}

void dc_cache_fini(struct dc_cache *c)
{
	if (c->pcopies)
		munmap(c->pcopies, (size_t)c->pcopies_n);
	for (uint32_t i = 0; i < DC_MAX_CACHE_LEVELS; i++)
		free(c->lv[i].tag);
	for (uint32_t q = 0; q < DC_MAX_CPUS - 1; q++)
		for (uint32_t i = 0; i < DC_MAX_CACHE_LEVELS - 1; i++)
			free(c->cpl[q][i].tag);
	*c = (struct dc_cache){0};
}

/* Index of the line with this tag in level l, or -1. */
static inline long find(const struct dc_cache_level *l, uint64_t tag)
{
	size_t base = (size_t)((tag - 1) & l->set_mask) * l->ways;
	const uint64_t *t = l->tag + base;
	for (uint32_t i = 0; i < l->ways; i++)
		if (t[i] == tag)
			return (long)(base + i);
	return -1;
}

/* find() for a level the current processor's reference does not otherwise touch (another
 * processor's private level): with the valid bits, a set that holds nothing is answered without
 * reading its tags (an idle processor's L1 is mostly empty). */
static inline long find_cold(const struct dc_cache_level *l, uint64_t tag)
{
	if (l->valid && !l->valid[(tag - 1) & l->set_mask])
		return -1;
	return find(l, tag);
}

/* Private copies of the line over all processors, or -1 when the filter does not know. */
static inline int pcopies(const struct dc_cache *c, uint64_t tag)
{
	return c->pcopies && tag - 1 < c->pcopies_n ? c->pcopies[tag - 1] : -1;
}

/* Distinct level d (dlevel's numbering) is a private one. */
static inline bool dprivate(const struct dc_cache *c, uint32_t d)
{
	return d < c->n_private || d >= c->n_levels;
}

static bool present_any(const struct dc_cache *c, uint64_t tag)
{
	int n = pcopies(c, tag);
	if (n > 0)
		return true;
	for (uint32_t d = 0; d < n_distinct(c); d++)
		if (!(n == 0 && dprivate(c, d)) && find_cold(cdlevel(c, d, NULL), tag) >= 0)
			return true;
	return false;
}

static uint64_t line_pa(const struct dc_cache *c, uint64_t tag)
{
	return (tag - 1) << c->line_shift;
}

static void clear_way(struct dc_cache_level *l, long k)
{
	if (l->pcopies && l->tag[k] && l->tag[k] - 1 < l->pcopies_n)
		l->pcopies[l->tag[k] - 1]--;
	if (l->valid) /* with the recency word: ways a power of two */
		l->valid[(uint64_t)k >> l->way_shift] &= ~(1u << ((uint64_t)k & (l->ways - 1)));
	l->tag[k] = 0;
	if (l->stamp)
		l->stamp[k] = 0;
	l->state[k] = 0;
}

/* Where the bytes of the line with this tag are: the owner's answer (cache.h, line_data). */
static uint8_t *line_data(const struct dc_cache *c, uint64_t tag)
{
	return c->ops && c->ops->line_data ? c->ops->line_data(c->opaque, line_pa(c, tag)) : NULL;
}

/* Removes the line at way k of processor cpu's level i.  A dirty line passes its dirtiness to a
 * lower level of the same processor's view holding it, or is written back; observers hear when
 * the line left every processor's hierarchy. */
static void drop(struct dc_cache *c, uint32_t cpu, uint32_t i, long k)
{
	struct dc_cache_level *l = c->view[cpu][i];
	uint64_t old_tag = l->tag[k];
	uint32_t old_state = l->state[k];
	clear_way(l, k);
	bool lower = false; /* a lower level still holds the line */
	if (old_state & DC_LS_DIRTY) {
		for (uint32_t j = i + 1; j < c->n_levels && !lower; j++) {
			long kk = find(c->view[cpu][j], old_tag);
			if (kk >= 0) {
				c->view[cpu][j]->state[kk] =
				    (uint8_t)(j < c->n_private ? old_state : DC_LS_DIRTY);
				lower = true;
			}
		}
		if (!lower) {
			l->st.writebacks++;
			if (c->ops && c->ops->writeback)
				c->ops->writeback(c->opaque, line_pa(c, old_tag),
				                  line_data(c, old_tag));
		}
	}
	/* Only an observer needs to know whether another level holds the line; a lower level
	 * found above already answers it. */
	if (!lower && c->ops && c->ops->gone && !present_any(c, old_tag))
		c->ops->gone(c->opaque, line_pa(c, old_tag));
}

/* Chooses the way of tag's set in level l that a new line takes: an invalid way, else the
 * least recently used or a random one. */
static long victim(struct dc_cache *c, struct dc_cache_level *l, uint64_t tag)
{
	size_t base = (size_t)((tag - 1) & l->set_mask) * l->ways;
	if (l->repl == DC_REPL_RANDOM) {
		const uint64_t *t = l->tag + base;
		for (uint32_t w = 0; w < l->ways; w++)
			if (!t[w])
				return (long)(base + w);
		return (long)(base + dc_rng_below(&c->rng, l->ways));
	}
	if (l->order) {
		uint32_t set = (uint32_t)((tag - 1) & l->set_mask), v = l->valid[set];
		if (v != (uint32_t)((1ull << l->ways) - 1))
			return (long)(base + (uint32_t)__builtin_ctz(~v));
		return (long)(base + ((l->order[set] >> (4 * (l->ways - 1))) & 15));
	}
	/* An invalid way has stamp 0 (clear_way keeps it so) and a valid one a stamp >= 1, so
	 * the first least stamp is the first invalid way if there is one.  The minimum stays in
	 * a register and the choice is a select, not a branch: with a branch, every other way
	 * mispredicts. */
	const uint64_t *s = l->stamp + base;
	uint32_t best = 0;
	uint64_t min = s[0];
	for (uint32_t w = 1; w < l->ways; w++) {
		bool lt = s[w] < min;
		min = lt ? s[w] : min;
		best = lt ? w : best;
	}
	return (long)(base + best);
}

static long install(struct dc_cache *c, uint32_t cpu, uint32_t i, uint64_t tag, uint32_t state)
{
	struct dc_cache_level *l = c->view[cpu][i];
	long k = victim(c, l, tag);
	if (l->tag[k]) {
		l->st.evictions++;
		drop(c, cpu, i, k);
	}
	l->tag[k] = tag;
	if (l->pcopies && tag - 1 < l->pcopies_n)
		l->pcopies[tag - 1]++;
	l->state[k] = (uint8_t)state;
	if (l->valid)
		l->valid[(uint64_t)k >> l->way_shift] |= 1u << ((uint64_t)k & (l->ways - 1));
	dc_cache_level_touch(l, k);
	return k;
}

/* The snoop of a miss (or an upgrade) by processor p: every other processor's private copies
 * of the line lose exclusivity (a read: M -> O, E -> S) or are invalidated (a write: their
 * dirtiness moves to the writer, which takes the line Modified).  Returns whether any other
 * processor held the line (it supplies the data: the window already holds its bytes). */
static bool snoop_others(struct dc_cache *c, uint32_t p, uint64_t tag, bool write, int mine)
{
	/* mine: private copies p is known to hold (at least); the filter counts them too. */
	int n = pcopies(c, tag);
	if (n >= 0 && n <= mine)
		return false;
	bool any = false;
	for (uint32_t q = 0; q < c->n_cpus; q++) {
		if (q == p)
			continue;
		bool held = false;
		for (uint32_t i = 0; i < c->n_private; i++) {
			long k = find_cold(c->view[q][i], tag);
			if (k < 0)
				continue;
			held = true;
			if (write)
				clear_way(c->view[q][i], k);
			else
				c->view[q][i]->state[k] &= (uint8_t)~DC_LS_EXCL;
		}
		if (held) {
			any = true;
			if (write)
				c->cst[q].invalidated++;
			else
				c->cst[q].supplied++;
		}
	}
	return any;
}

/* Processor p now holds the line alone: its private copies become exclusive. */
static void own_private(struct dc_cache *c, uint32_t p, uint64_t tag)
{
	for (uint32_t i = 0; i < c->n_private; i++) {
		long k = find(c->view[p][i], tag);
		if (k >= 0)
			c->view[p][i]->state[k] |= DC_LS_EXCL;
	}
}

void dc_cache_upgrade(struct dc_cache *c, long k)
{
	uint64_t tag = c->l1->tag[k];
	snoop_others(c, c->cur, tag, true, 1);
	own_private(c, c->cur, tag);
	c->cst[c->cur].upgrades++;
}

void dc_cache_l1_upgrade_hit(struct dc_cache *c, long k)
{
	struct dc_cache_level *l1 = c->l1;
	dc_cache_level_touch(l1, k);
	dc_cache_upgrade(c, k);
	l1->state[k] = DC_LS_M;
	c->mru_tag = l1->tag[k];
	c->mru_dirty = true;
	c->mru_k = k;
}

uint32_t dc_cache_access_slow(struct dc_cache *c, uint64_t pa, uint8_t *data, enum dc_access a)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	uint8_t *line = data ? data - (pa & (c->line_size - 1)) : NULL;
	uint32_t p = c->cur;
	struct dc_cache_level *l1 = c->l1;
	bool write = a == DC_ACC_WRITE;
	c->mru_tag = 0;
	/* The set's most recent way first (with a recency word): lines used in turn, each the
	 * most recent of its own set (a copy), hit there without a scan. */
	if (l1->order) {
		uint64_t set = (tag - 1) & l1->set_mask;
		long k0 = (long)(set * l1->ways + (l1->order[set] & 15));
		if (l1->tag[k0] == tag) {
			dc_cache_l1_hit_at(c, k0, a);
			return 0;
		}
	}
	long k = find(l1, tag);
	if (k >= 0) {
		dc_cache_l1_hit_at(c, k, a);
		return 0;
	}
	l1->st.misses[a]++;
	uint32_t hit = c->n_levels;
	long hk = -1;
	for (uint32_t i = 1; i < c->n_levels; i++) {
		struct dc_cache_level *l = c->view[p][i];
		hk = find(l, tag);
		if (hk >= 0) {
			l->st.hits[a]++;
			dc_cache_level_touch(l, hk);
			hit = i;
			break;
		}
		l->st.misses[a]++;
	}
	/* The state of the new private copies. */
	uint32_t st;
	bool other = false;
	if (hit < c->n_private) {
		/* This processor's own L2 holds it: no snoop unless a write to a shared copy. */
		uint32_t lower = c->view[p][hit]->state[hk];
		if (write && !(lower & DC_LS_EXCL)) {
			snoop_others(c, p, tag, true, 1);
			own_private(c, p, tag);
			c->cst[p].upgrades++;
		}
		st = write ? DC_LS_M : (lower & DC_LS_EXCL);
	} else {
		if (c->n_cpus > 1)
			other = snoop_others(c, p, tag, write, 0);
		st = write ? DC_LS_M : other ? DC_LS_S : DC_LS_E;
	}
	if (hit == c->n_levels && !other) {
		l1->st.fills++;
		if (c->ops && c->ops->fill)
			c->ops->fill(c->opaque, line_pa(c, tag), line);
	}
	/* Every level that missed allocates, deepest first, as cachegrind's LL then D1. */
	for (uint32_t i = hit; i-- > 1;)
		install(c, p, i, tag, i < c->n_private ? (st & DC_LS_EXCL) : 0);
	c->mru_k = install(c, p, 0, tag, st);
	c->mru_tag = tag;
	c->mru_dirty = st == DC_LS_M;
	return hit;
}

int dc_cache_probe(const struct dc_cache *c, uint64_t pa, bool *dirty)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	int first = -1;
	bool d = false;
	bool shared_only = pcopies(c, tag) == 0; /* no private level holds it */
	for (uint32_t x = 0; x < n_distinct(c); x++) {
		if (shared_only && dprivate(c, x))
			continue;
		uint32_t i;
		const struct dc_cache_level *l = cdlevel(c, x, &i);
		long k = find_cold(l, tag);
		if (k >= 0) {
			if (first < 0 || (int)i < first)
				first = (int)i;
			d |= (l->state[k] & DC_LS_DIRTY) != 0;
		}
	}
	if (dirty)
		*dirty = d;
	return first;
}

int dc_cache_probe_cpu(const struct dc_cache *c, uint32_t cpu, uint64_t pa, uint32_t *state)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	int first = -1;
	uint32_t s = 0;
	if (cpu < c->n_cpus)
		for (uint32_t i = 0; i < c->n_levels; i++) {
			long k = find(c->view[cpu][i], tag);
			if (k < 0)
				continue;
			if (first < 0)
				first = (int)i;
			if (i < c->n_private)
				s |= c->view[cpu][i]->state[k];
		}
	if (state)
		*state = s;
	return first;
}

char dc_cache_state_letter(const struct dc_cache *c, uint32_t cpu, uint64_t pa)
{
	uint32_t s;
	int lvl = dc_cache_probe_cpu(c, cpu, pa, &s);
	if (lvl < 0 || (uint32_t)lvl >= c->n_private)
		return 'I';
	static const char letters[] = {'S', 'O', 'E', 'M'};
	return letters[s & DC_LS_M];
}

void dc_cache_level_stats(const struct dc_cache *c, uint32_t i, struct dc_cache_stats *out)
{
	*out = (struct dc_cache_stats){0};
	if (i >= c->n_levels)
		return;
	uint32_t n = i < c->n_private ? c->n_cpus : 1;
	for (uint32_t q = 0; q < n; q++) {
		const struct dc_cache_stats *s = &c->view[q][i]->st;
		for (int a = 0; a < 2; a++) {
			out->hits[a] += s->hits[a];
			out->misses[a] += s->misses[a];
		}
		out->evictions += s->evictions;
		out->writebacks += s->writebacks;
		out->fills += s->fills;
	}
}

bool dc_cache_line_op(struct dc_cache *c, uint64_t pa, enum dc_cache_op op)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	struct dc_cache_level *hold[DC_MAX_CACHE_LEVELS * DC_MAX_CPUS];
	long hold_k[DC_MAX_CACHE_LEVELS * DC_MAX_CPUS];
	uint32_t n = 0;
	bool dirty = false;
	c->mru_tag = 0;
	bool shared_only = pcopies(c, tag) == 0; /* no private level holds it */
	for (uint32_t d = 0; d < n_distinct(c); d++) {
		if (shared_only && dprivate(c, d))
			continue;
		struct dc_cache_level *l = dlevel(c, d, NULL);
		long k = find_cold(l, tag);
		if (k >= 0) {
			hold[n] = l;
			hold_k[n++] = k;
			dirty |= (l->state[k] & DC_LS_DIRTY) != 0;
		}
	}
	if (!n)
		return false;
	if (dirty && op != DC_CACHE_INVAL) {
		c->lv[c->n_levels - 1].st.writebacks++;
		if (c->ops && c->ops->writeback)
			c->ops->writeback(c->opaque, line_pa(c, tag), line_data(c, tag));
	}
	for (uint32_t j = 0; j < n; j++) {
		if (op == DC_CACHE_CLEAN)
			hold[j]->state[hold_k[j]] &= (uint8_t)~DC_LS_DIRTY;
		else
			clear_way(hold[j], hold_k[j]);
	}
	if (op != DC_CACHE_CLEAN && c->ops && c->ops->gone)
		c->ops->gone(c->opaque, line_pa(c, tag));
	return true;
}

uint64_t dc_cache_data_range_op(struct dc_cache *c, const uint8_t *lo, const uint8_t *hi,
                                enum dc_cache_op op)
{
	uint64_t affected = 0;
	for (uint32_t x = 0; x < n_distinct(c); x++) {
		struct dc_cache_level *l = dlevel(c, x, NULL);
		size_t n = (size_t)l->sets * l->ways;
		for (size_t k = 0; k < n; k++) {
			if (!l->tag[k])
				continue;
			const uint8_t *d = line_data(c, l->tag[k]);
			if (!d || d >= hi || d + c->line_size <= lo)
				continue;
			if (op == DC_CACHE_CLEAN && !(l->state[k] & DC_LS_DIRTY))
				continue;
			affected += dc_cache_line_op(c, line_pa(c, l->tag[k]), op);
		}
	}
	return affected;
}

bool dc_cache_prefetch(struct dc_cache *c, uint64_t pa, uint8_t *data)
{
	uint64_t tag = (pa >> c->line_shift) + 1;
	if (present_any(c, tag))
		return false;
	uint8_t *line = data ? data - (pa & (c->line_size - 1)) : NULL;
	c->mru_tag = 0;
	c->l1->st.fills++;
	if (c->ops && c->ops->fill)
		c->ops->fill(c->opaque, line_pa(c, tag), line);
	for (uint32_t i = c->n_levels; i-- > 0;)
		install(c, c->cur, i, tag, i < c->n_private ? DC_LS_E : 0);
	return true;
}

bool dc_cache_evict_random(struct dc_cache *c)
{
	uint32_t i = (uint32_t)dc_rng_below(&c->rng, c->n_levels);
	struct dc_cache_level *l = c->view[c->cur][i];
	size_t k = (size_t)dc_rng_below(&c->rng, (uint64_t)l->sets * l->ways);
	if (!l->tag[k])
		return false;
	l->st.evictions++;
	return dc_cache_line_op(c, line_pa(c, l->tag[k]), DC_CACHE_CLEAN_INVAL);
}

uint64_t dc_cache_total_lines(const struct dc_cache *c)
{
	uint64_t n = 0;
	for (uint32_t x = 0; x < n_distinct(c); x++) {
		const struct dc_cache_level *l = cdlevel(c, x, NULL);
		n += (uint64_t)l->sets * l->ways;
	}
	return n;
}

void dc_cache_flush_all(struct dc_cache *c)
{
	for (uint32_t x = 0; x < n_distinct(c); x++) {
		struct dc_cache_level *l = dlevel(c, x, NULL);
		size_t n = (size_t)l->sets * l->ways;
		for (size_t k = 0; k < n; k++)
			if (l->tag[k])
				dc_cache_line_op(c, line_pa(c, l->tag[k]), DC_CACHE_CLEAN_INVAL);
	}
}
