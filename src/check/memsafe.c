/* Memory safety of simulated kernel memory: rules M01 pool-out-of-bounds, M02 use-after-free
 * and M03 unmapped-kernel-address.
 *
 * The machine decides, O(1) per 16-byte granule, whether a driver reference touched memory no
 * allocation gives out (its shadow, machine.h, which the kernel's pool and common buffers
 * poison) and calls the observer's mem_fault.  This file only names what was hit: it keeps the
 * live pool blocks and common buffers (from the kernel's POOL_ALLOC/COMMON_ALLOC events) and a
 * bounded ring of recently freed ones, and on a fault finds the allocation nearest the bad
 * byte: how far before or after it, where it was allocated and freed.  Nothing here is on the
 * hot path of a reference that is in bounds.
 *
 * Not done: redzones around uncached common buffers (the uncached window is physical memory
 * itself: a redzone would take frames), intra-object overflows (a struct's fields), and naming
 * an allocation whose record left the freed ring (the finding then says so). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "hw/machine.h"

#define FREED_RING 4096

struct ms_alloc {
	const uint8_t *va;
	uint64_t len;
	const void *pc, *free_pc;
	uint64_t time, free_time;
	bool common, freed;
};

struct dc_memsafe {
	struct ms_alloc *live; /* open addressing by va (linear probing, backward-shift delete) */
	size_t cap, n;
	struct ms_alloc ring[FREED_RING]; /* recently freed, oldest overwritten first */
	size_t ring_next, ring_n;
};

static size_t slot_of(const uint8_t *va, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)va * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 24) & (cap - 1);
}

static struct dc_memsafe *ms_get(struct dc_check *c)
{
	if (!c->ms)
		c->ms = calloc(1, sizeof(*c->ms));
	return c->ms;
}

static bool live_put(struct dc_memsafe *s, const struct ms_alloc *a)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct ms_alloc *nt = calloc(nc, sizeof(*nt));
		if (!nt)
			return false;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->live[i].va)
				continue;
			size_t j = slot_of(s->live[i].va, nc);
			while (nt[j].va)
				j = (j + 1) & (nc - 1);
			nt[j] = s->live[i];
		}
		free(s->live);
		s->live = nt;
		s->cap = nc;
	}
	size_t i = slot_of(a->va, s->cap);
	while (s->live[i].va && s->live[i].va != a->va)
		i = (i + 1) & (s->cap - 1);
	if (!s->live[i].va)
		s->n++;
	s->live[i] = *a;
	return true;
}

/* Removes and returns the live record at va; false if none. */
static bool live_take(struct dc_memsafe *s, const uint8_t *va, struct ms_alloc *out)
{
	if (!s->cap || !va)
		return false;
	size_t i = slot_of(va, s->cap);
	while (s->live[i].va && s->live[i].va != va)
		i = (i + 1) & (s->cap - 1);
	if (!s->live[i].va)
		return false;
	*out = s->live[i];
	s->live[i].va = NULL;
	s->n--;
	/* Backward shift: close the gap so that probing stays correct. */
	for (size_t j = (i + 1) & (s->cap - 1); s->live[j].va; j = (j + 1) & (s->cap - 1)) {
		size_t home = slot_of(s->live[j].va, s->cap);
		if (((j - home) & (s->cap - 1)) >= ((j - i) & (s->cap - 1))) {
			s->live[i] = s->live[j];
			s->live[j].va = NULL;
			i = j;
		}
	}
	return true;
}

static void on_alloc(struct dc_check *c, const struct dc_kev *e, bool common)
{
	struct dc_memsafe *s = ms_get(c);
	if (!s || !e->va)
		return;
	struct ms_alloc a = {.va = e->va, .len = e->len, .pc = e->pc, .time = e->time};
	a.common = common;
	(void)live_put(s, &a);
}

static void on_free(struct dc_check *c, const struct dc_kev *e)
{
	struct dc_memsafe *s = ms_get(c);
	struct ms_alloc a;
	if (!s || !e->status || !live_take(s, e->va, &a))
		return;
	a.freed = true;
	a.free_pc = e->pc;
	a.free_time = e->time;
	s->ring[s->ring_next] = a;
	s->ring_next = (s->ring_next + 1) % FREED_RING;
	if (s->ring_n < FREED_RING)
		s->ring_n++;
}

void dc_memsafe_kev(struct dc_check *c, const struct dc_kev *e)
{
	switch (e->type) {
	case DC_KEV_POOL_ALLOC:
		on_alloc(c, e, false);
		break;
	case DC_KEV_COMMON_ALLOC:
		on_alloc(c, e, true);
		break;
	case DC_KEV_POOL_FREE:
	case DC_KEV_COMMON_FREE:
		on_free(c, e);
		break;
	default:
		break;
	}
}

/* Distance from byte b to the allocation (0 inside); the side in *after. */
static uint64_t dist(const struct ms_alloc *a, const uint8_t *b, bool *after)
{
	*after = b >= a->va;
	if (b < a->va)
		return (uint64_t)(a->va - b);
	uint64_t off = (uint64_t)(b - a->va);
	return off < a->len ? 0 : off - a->len + 1;
}

/* Does the reference [va, va + len) touch the allocation (overflow from it)? */
static bool touches(const struct ms_alloc *a, const uint8_t *va, uint32_t len)
{
	return va < a->va + a->len && va + len > a->va;
}

/* The live allocation nearest the redzone byte b (within the guard distance), or NULL.  The
 * table is keyed by host pointers, so its order varies between runs (ASLR): ties are broken
 * on the allocations alone -- the one the reference [va, va + len) overflows from (as ASan
 * does), else the lower address -- never by the order of the walk. */
static const struct ms_alloc *nearest_live(const struct dc_memsafe *s, const uint8_t *b,
                                           const uint8_t *va, uint32_t len)
{
	const struct ms_alloc *best = NULL;
	uint64_t bd = (uint64_t)(DC_GUARD_RANGE);
	for (size_t i = 0; s && i < s->cap; i++) {
		const struct ms_alloc *a = &s->live[i];
		bool after;
		if (!a->va)
			continue;
		uint64_t d = dist(a, b, &after);
		if (!d || d > bd)
			continue;
		if (d == bd && best) {
			bool ta = touches(a, va, len), tb = touches(best, va, len);
			if (ta != tb ? !ta : a->va > best->va)
				continue;
		}
		bd = d;
		best = a;
	}
	return best;
}

/* The most recently freed allocation holding byte b, or NULL. */
static const struct ms_alloc *freed_holding(const struct dc_memsafe *s, const uint8_t *b)
{
	for (size_t k = 0; s && k < s->ring_n; k++) {
		const struct ms_alloc *a =
		    &s->ring[(s->ring_next + FREED_RING - 1 - k) % FREED_RING];
		/* The whole pages or class slot were poisoned (mm.c): count the tail as the
		 * block's. */
		uint64_t span = 16;
		if (a->common || a->len > 2048)
			span = (a->len + DC_PAGE_MASK) & ~(uint64_t)DC_PAGE_MASK;
		else
			while (span < a->len)
				span <<= 1;
		if (b >= a->va && (uint64_t)(b - a->va) < span)
			return a;
	}
	return NULL;
}

static void add_site(struct dc_finding *f, const char *label, const void *pc, uint64_t time)
{
	if (f->n_sites < DC_FINDING_SITES)
		f->site[f->n_sites++] = (struct dc_site){label, pc, time};
}

static const char *bytes_word(uint64_t n)
{
	return n == 1 ? "byte" : "bytes";
}

__attribute__((format(printf, 2, 3))) static void say(struct dc_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

/* "[allocated at X]" when the allocation has a driver call site, else who allocated it. */
static const char *alloc_ref(struct dc_finding *f, const struct ms_alloc *a)
{
	if (a->pc) {
		add_site(f, "allocated at", a->pc, a->time);
		return f->n_sites == 1 ? "{0}" : "{1}";
	}
	return a->common ? "" : "(an I/O manager buffer)";
}

void dc_memsafe_fault(void *opaque, const void *va, uint32_t len, bool write, const void *bad,
                      int kind, const void *pc)
{
	struct dc_check *c = opaque;
	struct dc_memsafe *s = ms_get(c);
	const uint8_t *b = bad;
	enum dc_rule r = kind == DC_MEMF_REDZONE ? DC_RULE_M01
	                 : kind == DC_MEMF_FREED ? DC_RULE_M02
	                                         : DC_RULE_M03;
	struct dc_finding f;
	memset(&f, 0, sizeof(f));
	f.rule = r;
	f.severity = dc_rule_info(r)->severity;
	f.pc = pc;
	f.time = c->m->clock.now;
	f.pa = dc_mem_va_to_pa(&c->m->mem, bad);
	f.logical = DC_PA_INVALID;
	f.dir = -1;
	f.count = 1;
	f.va = dc_check_show_va(c, bad);
	f.len = len - (uint64_t)(b - (const uint8_t *)va);
	f.bytes = f.len;
	const char *how = write ? "wrote" : "read";
	if (r == DC_RULE_M01) {
		const struct ms_alloc *a = nearest_live(s, b, va, len);
		if (!a) {
			say(&f, "CPU %s %u %s in a redzone of pool or a common buffer", how, len,
			    bytes_word(len));
		} else {
			bool after;
			uint64_t d = dist(a, b, &after);
			const char *ref = alloc_ref(&f, a);
			say(&f, "CPU %s %u %s %llu bytes %s a %llu-byte %s %s", how, len,
			    bytes_word(len), (unsigned long long)(after ? d - 1 : d),
			    after ? "after" : "before", (unsigned long long)a->len,
			    a->common ? "common buffer" : "pool allocation", ref);
		}
	} else if (r == DC_RULE_M02) {
		const struct ms_alloc *a = freed_holding(s, b);
		if (!a) {
			say(&f,
			    "CPU %s %u %s of freed pool or a freed common buffer (freed long "
			    "ago: its sites are no longer kept)",
			    how, len, bytes_word(len));
		} else {
			const char *fr = "";
			if (a->free_pc) {
				add_site(&f, "freed at", a->free_pc, a->free_time);
				fr = "{0}";
			}
			const char *ref = alloc_ref(&f, a);
			say(&f, "CPU %s %u %s at offset %llu of a %llu-byte %s freed %s %s", how,
			    len, bytes_word(len), (unsigned long long)(b - a->va),
			    (unsigned long long)a->len,
			    a->common ? "common buffer" : "pool allocation", fr, ref);
		}
	} else {
		say(&f,
		    "CPU %s %u %s at an address no allocation, MDL mapping or common "
		    "buffer covers",
		    how, len, bytes_word(len));
	}
	dc_finding_add(c, &f);
}

void dc_memsafe_free(struct dc_check *c)
{
	if (c->ms)
		free(c->ms->live);
	free(c->ms);
	c->ms = NULL;
}
