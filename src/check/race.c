/* The happens-before race detector (rule S01), decided the way ThreadSanitizer decides a race:
 * every execution context has a vector clock; the kernel's synchronisation (observer.h,
 * dc_sync_op) joins clocks along happens-before edges; each 8 bytes of tracked memory keep a
 * shadow of up to four recent accesses (context, its clock then, the bytes, read or write,
 * atomic or not, the processor, the instruction).  Two accesses race when they overlap, come
 * from different contexts, at least one writes, not both are atomic, and neither is ordered
 * before the other.
 *
 * Contexts: each thread (the application is thread 0; system threads as PsCreateSystemThread
 * forks them), and per processor one ISR, one DPC and one work-item context, entered and left
 * nested in what runs.  Tracked memory: the cached window (pool, common buffers, buffers) and
 * the device-extension arena (io.c).  Only driver code's accesses (pc != NULL) are judged:
 * the kernel and the application synchronise internally.
 *
 * The shadow is direct-mapped in two levels (a reserved pointer per 512-byte chunk of the
 * tracked span, 4 KiB of slots per chunk touched), so an access costs O(1).  What is deliberately
 * not done: more than DC_RACE_MAX_CTX contexts (detection then stops, deterministically), fences
 * (an atomic is an acquire and/or release of its own address only), races with device DMA (the C
 * rules' business), and an eviction policy as clever as TSan's (a full cell loses its slot chosen
 * by the clock, so a race may be missed, never invented).
 *
 * The devices, together, are one more column of the clocks (dev_col), for C04: each device
 * write to a cached common buffer takes a stamp; a context knows the writes stamped below its
 * entry in that column.  It learns all writes so far when an interrupt is delivered to it or
 * it reads a device's register (DC_SYNC_DEVICE), and a write with all before it when it
 * flushes the lines that write landed in or reads bytes it put there (a descriptor says its
 * data is there); what it knows flows along the happens-before edges as the rest of its
 * clock does.  A stale read is judged of a write the
 * reader knew about, or of any write since the line's last flush when the reader itself
 * heard from a device (an interrupt, a register) after that flush: the flush had to come
 * after.  A write that lands while the driver is between its flush and its reads (a device
 * runs as the driver polls) is read as it is, by the protocol that polls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "chk.h"

#define DC_RACE_MAX_CTX 128
#define DC_RACE_STACK 16
#define DC_RACE_SAVED 64 /* contexts switched out inside an ISR or DPC at one time */
#define SLOTS 4
#define GRAN 8u
/* The shadow is allocated a chunk at a time: CHUNK_GRANS * SLOTS slots (4 KiB) for 512 bytes.
 * A page's worth (32 KiB) per page touched made a pool that spreads small blocks over many
 * pages (the quarantine holds 4 MiB of them) cost 8 bytes of slots per byte of pages touched. */
#define CHUNK_SHIFT 9
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define CHUNK_MASK (CHUNK_SIZE - 1)
#define CHUNK_GRANS (CHUNK_SIZE / GRAN)

#define RS_USED 0x01u
#define RS_WRITE 0x02u
#define RS_ATOMIC 0x04u
#define RS_CPU_SHIFT 3 /* bits 3..7: the processor */

struct rslot {
	uint32_t clock;
	uint16_t ctx;
	uint8_t mask; /* bytes of the granule */
	uint8_t flags;
	const void *pc;
};

struct rspan {
	uintptr_t base;
	uint64_t size;
	struct rchunk **pages; /* per chunk of the span, NULL: none */
	size_t pages_bytes;
	/* One bit per host page of pages[] that may hold a slot pointer: span_free visits only
	 * those, so a span over a large window costs what was touched, not its size. */
	uint64_t *touched;
};

/* A chunk's slots and how many of them are in use: a chunk whose last used slot is forgotten
 * (its memory freed) is given back, so a pool that spreads over new pages (the quarantine)
 * does not keep the slots of the pages it left. */
struct rchunk {
	uint32_t used;
	uint32_t pad_;
	struct rslot s[CHUNK_GRANS * SLOTS];
};

#define SPAN_PTRS_PER_PAGE (DC_PAGE_SIZE / sizeof(struct rchunk *))

struct rctx {
	uint8_t kind;
	uint32_t id;  /* thread id, or the processor */
	uint32_t gen; /* DC_SYNC_INIT generation last acquired */
};

struct rsync {
	const void *key;
	uint32_t *vc; /* DC_RACE_MAX_CTX entries; key NULL: free, key (void *)1: deleted */
};

struct dc_race {
	struct dc_check *c;
	bool off;
	uint32_t n_ctx;
	struct rctx ctx[DC_RACE_MAX_CTX];
	uint32_t *vc; /* vc[i * DC_RACE_MAX_CTX + j]: context i's knowledge of j's clock */
	uint16_t stack[DC_RACE_STACK];
	unsigned depth;
	/* What a kernel context (DC_SYNC_THREAD's object) had entered, an ISR or a DPC delivered
	 * on its stack, when it was switched out: restored when it runs again, so the rest of
	 * that ISR is still the ISR.  Keyed by the object: the interrupt and DPC contexts of
	 * --schedule all report thread id 0. */
	const void *running;
	unsigned n_saved;
	struct {
		const void *key;
		unsigned depth;
		uint16_t stack[DC_RACE_STACK];
	} saved[DC_RACE_SAVED];
	uint16_t cur;
	uint16_t *kctx; /* [kind * 64 + cpu]: context index + 1 */
	uint16_t *tctx; /* [thread id]: context index + 1 */
	size_t tcap;
	struct rsync *sy;
	size_t sy_cap, sy_used;
	uint32_t init_vc[DC_RACE_MAX_CTX];
	uint32_t init_gen;
	uint32_t *disp_vc; /* [cpu * DC_RACE_MAX_CTX]: what each processor ran at DISPATCH_LEVEL */
	struct rspan win, host;
	/* Per context: the atomic operation announced for its next access.  Per context because a
	 * preemption point (--schedule-every) may run other contexts between the announcement and
	 * the access. */
	struct {
		const void *va;
		int mo;
		bool rmw;
	} atomic[DC_RACE_MAX_CTX];
	uint16_t dev_col; /* the devices' column (see the opening comment) */
	uint32_t dev_seq; /* orders flushes and what contexts learn of the devices themselves */
	uint32_t kseq[DC_RACE_MAX_CTX]; /* per context: dev_seq of its last own learning */
	/* S02: the kernel's IRP span (one IRP per DC_IRP_SLOT bytes) and each slot's IRP. */
	uintptr_t irp_lo;
	uint64_t irp_size;
	struct rirp *irps;
};

/* An IRP as S02 follows it: who completed it (the driver's IoCompleteRequest, the context and
 * processor) until a driver owns it again. */
enum { RI_NONE, RI_LIVE, RI_COMPLETED };
struct rirp {
	uint8_t state;
	bool reported; /* one finding per completion */
	uint8_t cpu;
	uint16_t ctx;
	const void *pc;
	uint64_t time;
};

const char *dc_ctx_kind_name(enum dc_ctx_kind k)
{
	static const char *const names[] = {
	    [DC_CTX_THREAD] = "thread",
	    [DC_CTX_ISR] = "ISR",
	    [DC_CTX_DPC] = "DPC",
	    [DC_CTX_WORKITEM] = "work item",
	};
	return (unsigned)k < DC_ARRAY_SIZE(names) ? names[k] : "?";
}

static inline uint32_t *vc_of(struct dc_race *r, unsigned i)
{
	return r->vc + (size_t)i * DC_RACE_MAX_CTX;
}

static void vc_join(uint32_t *dst, const uint32_t *src, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		if (src[j] > dst[j])
			dst[j] = src[j];
}

/* --- Contexts ------------------------------------------------------------------------------ */

static int ctx_new(struct dc_race *r, uint8_t kind, uint32_t id)
{
	if (r->n_ctx == DC_RACE_MAX_CTX) {
		r->off = true;
		return -1;
	}
	unsigned i = r->n_ctx++;
	r->ctx[i] = (struct rctx){.kind = kind, .id = id, .gen = 0};
	vc_of(r, i)[i] = 1;
	return (int)i;
}

static int thread_ctx(struct dc_race *r, uint32_t id)
{
	if (id >= r->tcap) {
		size_t cap = r->tcap ? r->tcap : 64;
		while (cap <= id)
			cap *= 2;
		uint16_t *t = realloc(r->tctx, cap * sizeof(*t));
		if (!t) {
			r->off = true;
			return -1;
		}
		memset(t + r->tcap, 0, (cap - r->tcap) * sizeof(*t));
		r->tctx = t;
		r->tcap = cap;
	}
	if (!r->tctx[id]) {
		int i = ctx_new(r, DC_CTX_THREAD, id);
		if (i < 0)
			return -1;
		r->tctx[id] = (uint16_t)(i + 1);
	}
	return r->tctx[id] - 1;
}

static int kind_ctx(struct dc_race *r, uint8_t kind, uint32_t cpu)
{
	if (kind >= DC_CTX_KIND_COUNT || cpu >= 64) {
		r->off = true;
		return -1;
	}
	uint16_t *k = &r->kctx[kind * 64 + cpu];
	if (!*k) {
		int i = ctx_new(r, kind, cpu);
		if (i < 0)
			return -1;
		*k = (uint16_t)(i + 1);
	}
	return *k - 1;
}

static void tick(struct dc_race *r)
{
	vc_of(r, r->cur)[r->cur]++;
}

/* A context that starts running is ordered after DriverEntry, AddDevice and the start. */
static void acquire_init(struct dc_race *r)
{
	struct rctx *x = &r->ctx[r->cur];
	if (x->gen != r->init_gen) {
		vc_join(vc_of(r, r->cur), r->init_vc, r->n_ctx);
		x->gen = r->init_gen;
	}
}

/* --- What contexts know of the devices' writes (C04) ---------------------------------------- */

static void dev_learn(struct dc_race *r, uint32_t below)
{
	uint32_t *k = &vc_of(r, r->cur)[r->dev_col];
	if (below > *k)
		*k = below;
}

/* The running context heard from a device itself (an interrupt, a register): it knows every
 * write so far, from this point of the order of flushes and learnings. */
static void dev_heard(struct dc_race *r)
{
	dev_learn(r, vc_of(r, r->dev_col)[r->dev_col] + 1);
	r->kseq[r->cur] = ++r->dev_seq;
}

uint32_t dc_race_dev_write(struct dc_check *c)
{
	struct dc_race *r = c->race;
	if (!r || r->off)
		return 0;
	return ++vc_of(r, r->dev_col)[r->dev_col];
}

void dc_race_dev_learn(struct dc_check *c, uint32_t stamp)
{
	struct dc_race *r = c->race;
	if (r && !r->off)
		dev_learn(r, stamp);
}

uint32_t dc_race_dev_flush_seq(struct dc_check *c)
{
	struct dc_race *r = c->race;
	return r && !r->off ? ++r->dev_seq : 0;
}

bool dc_race_dev_heard_since(struct dc_check *c, uint32_t seq)
{
	struct dc_race *r = c->race;
	return !r || r->off || r->kseq[r->cur] > seq;
}

bool dc_race_dev_known(struct dc_check *c, uint32_t stamp)
{
	struct dc_race *r = c->race;
	return !r || r->off || !stamp || stamp < vc_of(r, r->cur)[r->dev_col];
}

/* --- Synchronisation objects ---------------------------------------------------------------- */

#define SY_DELETED ((const void *)1)

static size_t sy_hash(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 29) & (cap - 1);
}

static struct rsync *sy_find(struct dc_race *r, const void *key)
{
	if (!r->sy_cap)
		return NULL;
	for (size_t s = sy_hash(key, r->sy_cap);; s = (s + 1) & (r->sy_cap - 1)) {
		if (r->sy[s].key == key)
			return &r->sy[s];
		if (!r->sy[s].key)
			return NULL;
	}
}

static int sy_rehash(struct dc_race *r)
{
	size_t cap = r->sy_cap ? r->sy_cap * 2 : 256;
	struct rsync *n = calloc(cap, sizeof(*n));
	if (!n)
		return -1;
	size_t used = 0;
	for (size_t i = 0; i < r->sy_cap; i++) {
		struct rsync *o = &r->sy[i];
		if (!o->key || o->key == SY_DELETED)
			continue;
		size_t s = sy_hash(o->key, cap);
		while (n[s].key)
			s = (s + 1) & (cap - 1);
		n[s] = *o;
		used++;
	}
	free(r->sy);
	r->sy = n;
	r->sy_cap = cap;
	r->sy_used = used;
	return 0;
}

static struct rsync *sy_get(struct dc_race *r, const void *key)
{
	struct rsync *y = sy_find(r, key);
	if (y)
		return y;
	if ((r->sy_used + 1) * 2 > r->sy_cap && sy_rehash(r) < 0)
		return NULL;
	uint32_t *vc = calloc(DC_RACE_MAX_CTX, sizeof(*vc));
	if (!vc)
		return NULL;
	size_t s = sy_hash(key, r->sy_cap);
	while (r->sy[s].key && r->sy[s].key != SY_DELETED)
		s = (s + 1) & (r->sy_cap - 1);
	if (!r->sy[s].key)
		r->sy_used++;
	r->sy[s] = (struct rsync){key, vc};
	return &r->sy[s];
}

static void acquire(struct dc_race *r, const void *key)
{
	struct rsync *y = key ? sy_find(r, key) : NULL;
	if (y)
		vc_join(vc_of(r, r->cur), y->vc, r->n_ctx);
}

static void release(struct dc_race *r, const void *key)
{
	struct rsync *y = key ? sy_get(r, key) : NULL;
	if (!y)
		return;
	vc_join(y->vc, vc_of(r, r->cur), r->n_ctx);
	tick(r);
}

static void consume(struct dc_race *r, const void *key)
{
	struct rsync *y = key ? sy_find(r, key) : NULL;
	if (!y)
		return;
	vc_join(vc_of(r, r->cur), y->vc, r->n_ctx);
	free(y->vc);
	y->vc = NULL;
	y->key = SY_DELETED;
}

/* --- The shadow ----------------------------------------------------------------------------- */

/* The chunks the span holds, visiting only the pages of its table that may hold a pointer;
 * with release, each is freed (the table is then dropped by the caller). */
static uint64_t span_walk(struct rspan *sp, bool release)
{
	if (!sp->pages)
		return 0;
	uint64_t held = 0;
	size_t n = (size_t)((sp->size + CHUNK_MASK) >> CHUNK_SHIFT);
	size_t words = (sp->pages_bytes / DC_PAGE_SIZE + 63) / 64;
	for (size_t w = 0; w < words; w++) {
		for (uint64_t bits = sp->touched[w]; bits; bits &= bits - 1) {
			size_t first =
			    (w * 64 + (size_t)__builtin_ctzll(bits)) * SPAN_PTRS_PER_PAGE;
			size_t last = DC_MIN(first + SPAN_PTRS_PER_PAGE, n);
			for (size_t i = first; i < last; i++) {
				held += sp->pages[i] != NULL;
				if (release)
					free(sp->pages[i]);
			}
		}
	}
	return held;
}

static void span_free(struct rspan *sp)
{
	if (!sp->pages)
		return;
	span_walk(sp, true);
	free(sp->touched);
	sp->touched = NULL;
	munmap(sp->pages, sp->pages_bytes);
	sp->pages = NULL;
}

/* The span's page table, made (reserved, backed where touched) on first use. */
static bool span_ready(struct rspan *sp, uintptr_t base, uint64_t size)
{
	if (sp->pages && sp->base == base && sp->size == size)
		return true;
	span_free(sp);
	if (!size)
		return false;
	size_t bytes = (size_t)((size + CHUNK_MASK) >> CHUNK_SHIFT) * sizeof(struct rchunk *);
	bytes = (bytes + DC_PAGE_SIZE - 1) & ~(size_t)DC_PAGE_MASK;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	sp->touched = calloc((bytes / DC_PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	if (!sp->touched) {
		munmap(p, bytes);
		return false;
	}
	sp->pages = p;
	sp->pages_bytes = bytes;
	sp->base = base;
	sp->size = size;
	return true;
}

/* The slots of the granule at off, and (*used) its chunk's count of used slots. */
static struct rslot *span_cell(struct rspan *sp, uint64_t off, uint32_t **used)
{
	size_t pg = (size_t)(off >> CHUNK_SHIFT);
	struct rchunk **pp = &sp->pages[pg];
	if (DC_UNLIKELY(!*pp)) {
		*pp = calloc(1, sizeof(struct rchunk));
		if (!*pp)
			return NULL;
		size_t tp = pg / SPAN_PTRS_PER_PAGE;
		sp->touched[tp / 64] |= UINT64_C(1) << (tp % 64);
	}
	*used = &(*pp)->used;
	return (*pp)->s + ((off & CHUNK_MASK) / GRAN) * SLOTS;
}

uint64_t dc_race_shadow_chunks(const struct dc_check *c)
{
	return c->race ? span_walk(&c->race->win, false) + span_walk(&c->race->host, false) : 0;
}

static void span_forget(struct rspan *sp, uint64_t off, uint64_t len)
{
	if (!sp->pages || off >= sp->size)
		return;
	len = DC_MIN(len, sp->size - off);
	for (uint64_t q = off & ~(uint64_t)(GRAN - 1); q < off + len;) {
		uint64_t pg = q >> CHUNK_SHIFT, next = (pg + 1) << CHUNK_SHIFT;
		uint64_t tp = pg / SPAN_PTRS_PER_PAGE;
		if (!(sp->touched[tp / 64] & (UINT64_C(1) << (tp % 64)))) {
			/* No slot under this page of the table: skip it whole, unread. */
			q = DC_MIN((tp + 1) * SPAN_PTRS_PER_PAGE << CHUNK_SHIFT, off + len);
			continue;
		}
		uint64_t end = DC_MIN(next, off + len);
		struct rchunk *p = sp->pages[pg];
		if (p) {
			if ((q & CHUNK_MASK) != 0 || end != next) {
				size_t a = (size_t)((q & CHUNK_MASK) / GRAN) * SLOTS;
				size_t b = (size_t)(((end - 1) & CHUNK_MASK) / GRAN + 1) * SLOTS;
				for (size_t i = a; i < b; i++)
					p->used -= p->s[i].flags != 0;
				memset(p->s + a, 0, (b - a) * sizeof(p->s[0]));
			}
			if (((q & CHUNK_MASK) == 0 && end == next) || !p->used) {
				free(p);
				sp->pages[pg] = NULL;
			}
		}
		q = end;
	}
}

/* --- Reports ------------------------------------------------------------------------------- */

static void ctx_name(const struct dc_race *r, unsigned i, uint32_t cpu, char *buf, size_t len)
{
	const struct rctx *x = &r->ctx[i];
	if (x->kind == DC_CTX_THREAD)
		snprintf(buf, len, "%s %u%s on processor %u", dc_ctx_kind_name(x->kind), x->id,
		         x->id ? "" : " (the application's)", cpu);
	else
		snprintf(buf, len, "a %s on processor %u", dc_ctx_kind_name(x->kind), x->id);
}

static void report(struct dc_race *r, const struct rslot *prev, const void *va, uint32_t len,
                   bool write, bool atomic, const void *pc)
{
	struct dc_check *c = r->c;
	struct dc_finding f = dc_chk_fnd(DC_RULE_S01, pc, now(c));
	dc_chk_site(&f, "previous access at", prev->pc, 0);
	f.va = dc_check_show_va(c, va);
	f.len = len;
	char me[64], other[64];
	ctx_name(r, r->cur, dc_machine_cpu(c->m), me, sizeof(me));
	ctx_name(r, prev->ctx, prev->flags >> RS_CPU_SHIFT, other, sizeof(other));
	dc_chk_what(&f,
	            "%s%s of %u bytes by %s races with a%s %s by %s {0}: no spin lock, interlocked "
	            "operation or KeSynchronizeExecution orders them",
	            atomic ? "atomic " : "", write ? "write" : "read", len, me,
	            (prev->flags & RS_ATOMIC) ? "n atomic" : "",
	            (prev->flags & RS_WRITE) ? "write" : "read", other);
	dc_finding_add_access(c, &f);
}

/* --- Accesses ------------------------------------------------------------------------------ */

static void granule(struct dc_race *r, struct rslot *cell, uint32_t *used, uint8_t mask, bool write,
                    bool atomic, const void *va, uint32_t len, const void *pc, bool *reported)
{
	uint16_t me = r->cur;
	const uint32_t *vc = vc_of(r, me);
	uint32_t clock = vc[me];
	uint8_t cpu = (uint8_t)(dc_machine_cpu(r->c->m) & 31);
	uint8_t flags = (uint8_t)(RS_USED | (write ? RS_WRITE : 0) | (atomic ? RS_ATOMIC : 0) |
	                          (cpu << RS_CPU_SHIFT));
	/* The same access again at the same moment of the same context: judged already. */
	for (unsigned i = 0; i < SLOTS; i++)
		if (cell[i].ctx == me && cell[i].clock == clock && cell[i].mask == mask &&
		    cell[i].flags == flags && cell[i].flags)
			return;
	int free_i = -1, same_i = -1, old_i = -1;
	for (unsigned i = 0; i < SLOTS; i++) {
		struct rslot *s = &cell[i];
		if (!s->flags) {
			if (free_i < 0)
				free_i = (int)i;
			continue;
		}
		if (s->ctx == me) {
			if (s->mask == mask && (write || !(s->flags & RS_WRITE)) && same_i < 0)
				same_i = (int)i;
			continue;
		}
		bool ordered = s->clock <= vc[s->ctx];
		if (ordered) {
			if ((s->mask & ~mask) == 0 && (write || !(s->flags & RS_WRITE)) &&
			    old_i < 0)
				old_i = (int)i;
			continue;
		}
		if (!(s->mask & mask) || (!write && !(s->flags & RS_WRITE)) ||
		    (atomic && (s->flags & RS_ATOMIC)))
			continue;
		if (!*reported) {
			*reported = true;
			report(r, s, va, len, write, atomic, pc);
		}
	}
	int k = same_i >= 0   ? same_i
	        : free_i >= 0 ? free_i
	        : old_i >= 0  ? old_i
	                      : (int)(clock % SLOTS);
	*used += !cell[k].flags;
	cell[k] = (struct rslot){.clock = clock, .ctx = me, .mask = mask, .flags = flags, .pc = pc};
}

static void race_access(struct dc_race *r, struct rspan *sp, const void *va, uint32_t len,
                        bool write, const void *pc)
{
	bool atomic = false;
	int mo = 0;
	if (DC_UNLIKELY(r->atomic[r->cur].va)) {
		if (r->atomic[r->cur].va == va) {
			atomic = true;
			mo = r->atomic[r->cur].mo;
			if (r->atomic[r->cur].rmw)
				write = true;
		}
		r->atomic[r->cur].va = NULL;
	}
	if (!pc || r->off || !len)
		return;
	/* C11 orders: 0 relaxed, 1 consume, 2 acquire, 3 release, 4 acq_rel, 5 seq_cst. */
	if (atomic && mo != 0 && mo != 3)
		acquire(r, va);
	uint64_t off = (uint64_t)((uintptr_t)va - sp->base);
	bool reported = false;
	for (uint64_t q = off & ~(uint64_t)(GRAN - 1); q < off + len && q < sp->size; q += GRAN) {
		uint64_t lo = DC_MAX(q, off), hi = DC_MIN(q + GRAN, off + len);
		uint8_t mask = (uint8_t)(((1u << (hi - lo)) - 1) << (lo - q));
		uint32_t *used;
		struct rslot *cell = span_cell(sp, q, &used);
		if (!cell)
			break;
		granule(r, cell, used, mask, write, atomic, va, len, pc, &reported);
	}
	if (atomic && (mo == 3 || mo >= 4))
		release(r, va);
}

void dc_race_cpu_access(struct dc_check *c, const void *va, uint32_t len, bool write,
                        const void *pc)
{
	struct dc_race *r = c->race;
	if (!r)
		return;
	struct dc_mem *mem = &c->m->mem;
	if (DC_UNLIKELY(!r->win.pages) &&
	    !span_ready(&r->win, (uintptr_t)mem->cwin, mem->va_size)) {
		r->off = true;
		return;
	}
	race_access(r, &r->win, va, len, write, pc);
}

static void irp_access(struct dc_race *r, const void *va, uint32_t len, bool write, const void *pc);

void dc_race_host_access(void *opaque, const void *va, uint32_t len, bool write, const void *pc)
{
	struct dc_check *c = opaque;
	struct dc_race *r = c->race;
	if (!r)
		return;
	if (DC_UNLIKELY((uintptr_t)va - r->irp_lo < r->irp_size)) {
		/* An IRP's field: S02's, not the race shadow's (the IRP is handed over by the
		 * kernel's queues and completion, which S01 does not follow field by field). */
		r->atomic[r->cur].va = NULL;
		irp_access(r, va, len, write, pc);
		return;
	}
	if (!span_ready(&r->host, c->m->host_base, c->m->host_size))
		return;
	race_access(r, &r->host, va, len, write, pc);
}

void dc_race_atomic(void *opaque, const void *va, uint32_t len, int mo, bool rmw)
{
	struct dc_check *c = opaque;
	(void)len;
	if (!c->race)
		return;
	struct dc_race *r = c->race;
	r->atomic[r->cur].va = va;
	r->atomic[r->cur].mo = mo;
	r->atomic[r->cur].rmw = rmw;
}

/* New memory (pool, a common buffer, a reused extension): what was done to the bytes before
 * belongs to another object. */
static void forget(struct dc_race *r, const void *va, uint64_t len)
{
	struct dc_mem *mem = &r->c->m->mem;
	if (dc_mem_in_cached(mem, va))
		span_forget(&r->win, (uint64_t)((const uint8_t *)va - mem->cwin), len);
	else if (r->host.pages && (uintptr_t)va - r->host.base < r->host.size)
		span_forget(&r->host, (uint64_t)((uintptr_t)va - r->host.base), len);
}

/* --- S02: an IRP touched after it was completed -------------------------------------------- */

static struct rirp *irp_rec(struct dc_race *r, const void *irp)
{
	uintptr_t off = (uintptr_t)irp - r->irp_lo;
	return r->irps && off < r->irp_size ? &r->irps[off / DC_IRP_SLOT] : NULL;
}

/* what: "IoCompleteRequest", "a write of 8 bytes", ...; the IRP is reported once per
 * completion. */
static void irp_report(struct dc_race *r, struct rirp *x, const void *irp, const char *what,
                       const void *pc, bool routine)
{
	if (x->reported)
		return;
	x->reported = true;
	struct dc_check *c = r->c;
	struct dc_finding f = dc_chk_fnd(DC_RULE_S02, pc, now(c));
	dc_chk_site(&f, "completed at", x->pc, x->time);
	f.va = dc_check_show_va(c, irp);
	char me[64], other[64];
	ctx_name(r, r->cur, dc_machine_cpu(c->m), me, sizeof(me));
	ctx_name(r, x->ctx, x->cpu, other, sizeof(other));
	bool same = x->ctx == r->cur;
	dc_chk_what(&f,
	            "%s %s IRP by %s after %s completed it {0}: the IRP belongs to the I/O "
	            "manager (or its next owner) from its completion on",
	            what, routine ? "with a completed" : "of a completed", me,
	            same ? "the same context" : other);
	dc_finding_add_access(c, &f);
}

static void irp_access(struct dc_race *r, const void *va, uint32_t len, bool write, const void *pc)
{
	if (!pc)
		return;
	struct rirp *x = irp_rec(r, va);
	if (!x || x->state != RI_COMPLETED || x->reported)
		return;
	const void *irp = (const void *)((uintptr_t)va - ((uintptr_t)va - r->irp_lo) % DC_IRP_SLOT);
	char what[48];
	snprintf(what, sizeof(what), "%s of %u bytes", write ? "write" : "read", len);
	irp_report(r, x, irp, what, pc, false);
}

static void irp_kev(struct dc_race *r, const struct dc_kev *e)
{
	if (e->value == DC_IRPL_ALLOC &&
	    (r->irp_lo != (uintptr_t)e->va || r->irp_size != e->logical)) {
		/* The span, first met (or made again). */
		free(r->irps);
		r->irps = NULL;
		r->irp_lo = (uintptr_t)e->va;
		r->irp_size = 0;
		size_t n = (size_t)(e->logical / DC_IRP_SLOT);
		if (n && (r->irps = calloc(n, sizeof(*r->irps))) != NULL)
			r->irp_size = (uint64_t)n * DC_IRP_SLOT;
	}
	struct rirp *x = irp_rec(r, e->irp);
	if (!x)
		return;
	switch ((enum dc_irp_life)e->value) {
	case DC_IRPL_ALLOC:
	case DC_IRPL_OWNED:
		*x = (struct rirp){.state = RI_LIVE};
		break;
	case DC_IRPL_COMPLETED:
		*x = (struct rirp){.state = RI_COMPLETED,
		                   .cpu = (uint8_t)dc_machine_cpu(r->c->m),
		                   .ctx = r->cur,
		                   .pc = e->pc,
		                   .time = e->time};
		break;
	case DC_IRPL_FREE:
		/* Its bytes stay quarantined: a touch after a completion is still S02. */
		if (x->state != RI_COMPLETED)
			*x = (struct rirp){.state = RI_NONE};
		break;
	case DC_IRPL_TOUCH:
		if (x->state == RI_COMPLETED && e->pc)
			irp_report(r, x, e->irp, e->routine ? e->routine : "a call", e->pc, true);
		break;
	}
}

void dc_race_kev(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_race *r = c->race;
	if (!r)
		return;
	switch (e->type) {
	case DC_KEV_IRP_LIFE:
		irp_kev(r, e);
		break;
	case DC_KEV_POOL_ALLOC:
	case DC_KEV_POOL_FREE:
	case DC_KEV_COMMON_ALLOC:
		if (e->va && e->len)
			forget(r, e->va, e->len);
		break;
	default:
		break;
	}
}

/* A switch from the running kernel context to `obj` (thread context `tctx`): the stack of
 * what the one left had entered is kept, the one of `obj` taken back.  False: detection off. */
static bool switch_stack(struct dc_race *r, const void *obj, uint16_t tctx)
{
	/* The context that ran from the start is named before the first switch away from it
	 * (thread.c): it keeps what it entered -- a DPC preempted there (--schedule) is still
	 * the DPC when the thread runs again. */
	if (!r->running) {
		r->running = obj;
		r->stack[0] = tctx;
		r->cur = r->stack[r->depth];
		return true;
	}
	if (r->depth && r->running != obj) {
		unsigned k = 0;
		while (k < DC_RACE_SAVED && r->saved[k].key)
			k++;
		if (k == DC_RACE_SAVED) {
			r->off = true; /* deterministically, as for too many contexts */
			return false;
		}
		r->saved[k].key = r->running;
		r->saved[k].depth = r->depth;
		memcpy(r->saved[k].stack, r->stack, (r->depth + 1) * sizeof(r->stack[0]));
		r->n_saved++;
	}
	if (r->running == obj && r->depth) {
		r->cur = r->stack[r->depth]; /* switched to itself: nothing left */
		return true;
	}
	r->running = obj;
	r->depth = 0;
	r->stack[0] = tctx;
	for (unsigned k = 0; r->n_saved && k < DC_RACE_SAVED; k++) {
		if (obj && r->saved[k].key == obj) {
			r->depth = r->saved[k].depth;
			memcpy(r->stack, r->saved[k].stack, (r->depth + 1) * sizeof(r->stack[0]));
			r->saved[k].key = NULL;
			r->n_saved--;
			break;
		}
	}
	r->cur = r->stack[r->depth];
	return true;
}

void dc_race_sync(void *opaque, enum dc_sync_op op, const void *obj, uint64_t arg)
{
	struct dc_check *c = opaque;
	struct dc_race *r = c->race;
	if (!r || r->off)
		return;
	int i;
	switch (op) {
	case DC_SYNC_ACQUIRE:
		acquire(r, obj);
		break;
	case DC_SYNC_RELEASE:
		release(r, obj);
		break;
	case DC_SYNC_CONSUME:
		consume(r, obj);
		break;
	case DC_SYNC_INIT:
		vc_join(r->init_vc, vc_of(r, r->cur), r->n_ctx);
		r->init_gen++;
		r->ctx[r->cur].gen = r->init_gen;
		tick(r);
		break;
	case DC_SYNC_THREAD:
		if ((i = thread_ctx(r, (uint32_t)arg)) < 0)
			return;
		if (!switch_stack(r, obj, (uint16_t)i))
			return;
		acquire_init(r);
		break;
	case DC_SYNC_FORK:
		if ((i = thread_ctx(r, (uint32_t)arg)) < 0)
			return;
		vc_join(vc_of(r, (unsigned)i), vc_of(r, r->cur), r->n_ctx);
		r->ctx[i].gen = r->ctx[r->cur].gen;
		tick(r);
		break;
	case DC_SYNC_ENTER:
		if (r->depth + 1 >= DC_RACE_STACK ||
		    (i = kind_ctx(r, (uint8_t)arg, dc_machine_cpu(c->m))) < 0) {
			r->off = true;
			return;
		}
		r->stack[++r->depth] = r->cur = (uint16_t)i;
		acquire_init(r);
		acquire(r, obj);
		if (arg == DC_CTX_ISR)
			dev_heard(r);
		/* A DPC runs when its processor is below DISPATCH_LEVEL: after what the processor
		 * ran at or above it. */
		if (arg == DC_CTX_DPC)
			vc_join(vc_of(r, r->cur),
			        r->disp_vc + (size_t)dc_machine_cpu(c->m) * DC_RACE_MAX_CTX,
			        r->n_ctx);
		break;
	case DC_SYNC_LEAVE:
		if (r->depth)
			r->depth--;
		r->cur = r->stack[r->depth];
		break;
	case DC_SYNC_FORGET:
		forget(r, obj, arg);
		break;
	case DC_SYNC_DEVICE:
		dev_heard(r);
		break;
	case DC_SYNC_LOWER:
		if (arg < 64) {
			vc_join(r->disp_vc + arg * DC_RACE_MAX_CTX, vc_of(r, r->cur), r->n_ctx);
			tick(r);
		}
		break;
	}
}

int dc_race_create(struct dc_check *c)
{
	struct dc_race *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->c = c;
	r->vc = calloc((size_t)DC_RACE_MAX_CTX * DC_RACE_MAX_CTX, sizeof(*r->vc));
	r->kctx = calloc(DC_CTX_KIND_COUNT * 64, sizeof(*r->kctx));
	r->disp_vc = calloc((size_t)64 * DC_RACE_MAX_CTX, sizeof(*r->disp_vc));
	if (!r->vc || !r->kctx || !r->disp_vc) {
		free(r->disp_vc);
		free(r->vc);
		free(r->kctx);
		free(r);
		return -1;
	}
	c->race = r;
	int t0 = thread_ctx(r, 0);
	r->cur = r->stack[0] = (uint16_t)(t0 < 0 ? 0 : t0);
	int dev = ctx_new(r, DC_CTX_KIND_COUNT, 0); /* not a context: nothing runs in it */
	r->dev_col = (uint16_t)(dev < 0 ? 0 : dev);
	return 0;
}

void dc_race_free(struct dc_check *c)
{
	struct dc_race *r = c->race;
	if (!r)
		return;
	span_free(&r->win);
	span_free(&r->host);
	for (size_t i = 0; i < r->sy_cap; i++)
		free(r->sy[i].vc);
	free(r->sy);
	free(r->tctx);
	free(r->kctx);
	free(r->disp_vc);
	free(r->vc);
	free(r->irps);
	free(r);
	c->race = NULL;
}
