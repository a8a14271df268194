/* Driver code built with the instrumentation runs through the cache model: its stores stay in
 * the (non-coherent) cache until cleaned, its loads see stale lines, host memory is ignored. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "instrumented/drv_like.h"

static struct dc_machine *make(const char *platform)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return NULL;
	p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	if (dc_machine_create(&p, &m) < 0)
		return NULL;
	dc_machine_set_current(m);
	return m;
}

static bool mem_all(struct dc_machine *m, const uint8_t *va, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (*dc_mem_pa_ptr(&m->mem, dc_va_to_pa(m, va + i)) != v)
			return false;
	return true;
}

DC_TEST(instrumented_stores_stay_in_cache_until_cleaned)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_DMA32, false);
	drv_fill(buf, 8192, 0xAB);
	/* gcc keeps the byte loop (vectorised stores), clang makes it a memset call that
	 * __dc_memset models line by line: at least one reference per line either way. */
	CHECK(m->st.writes >= 8192 / 64);
	CHECK(mem_all(m, buf, 0, 8192));
	bool dirty = false;
	CHECK(dc_cache_probe(&m->cache, dc_va_to_pa(m, buf + 4096), &dirty) >= 0 && dirty);
	dc_cpu_cache_range(m, buf, 8192, DC_CACHE_CLEAN, false);
	CHECK(mem_all(m, buf, 0xAB, 8192));
	dc_machine_destroy(m);
}

DC_TEST(instrumented_loads_see_stale_lines)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint32_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	CHECK_EQ(drv_sum32(buf, 1024), 0); /* lines now cached, clean, zero */
	uint32_t ones[1024];
	for (int i = 0; i < 1024; i++)
		ones[i] = 1;
	dc_dma_write(m, 0, dc_va_to_pa(m, buf), ones, sizeof(ones));
	CHECK_EQ(drv_sum32(buf, 1024), 0); /* stale */
	dc_cpu_cache_range(m, buf, 4096, DC_CACHE_INVAL, false);
	CHECK_EQ(drv_sum32(buf, 1024), 1024);
	dc_machine_destroy(m);
}

DC_TEST(instrumented_coherent_platform_needs_nothing)
{
	struct dc_machine *m = make("pc");
	CHECK(m);
	uint32_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	CHECK_EQ(drv_sum32(buf, 1024), 0);
	uint32_t ones[1024];
	for (int i = 0; i < 1024; i++)
		ones[i] = 1;
	dc_dma_write(m, 0, dc_va_to_pa(m, buf), ones, sizeof(ones));
	CHECK_EQ(drv_sum32(buf, 1024), 1024);
	drv_fill((uint8_t *)buf, 4096, 7);
	uint8_t dev[4096];
	dc_dma_read(m, 0, dc_va_to_pa(m, buf), dev, sizeof(dev));
	CHECK(dev[0] == 7 && dev[4095] == 7);
	dc_machine_destroy(m);
}

DC_TEST(instrumented_host_memory_is_ignored)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint8_t *host = malloc(4096);
	CHECK(host);
	uint64_t r = m->st.reads, w = m->st.writes;
	drv_fill(host, 4096, 1);
	CHECK_EQ(drv_sum32((const uint32_t *)host, 1024), 1024ull * 0x01010101u);
	CHECK_EQ(m->st.reads, r);
	CHECK_EQ(m->st.writes, w);
	free(host);
	dc_machine_destroy(m);
}

DC_TEST(instrumented_mem_calls_and_struct_copies_are_modelled)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	uint8_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	uint8_t src[300];
	for (int i = 0; i < 300; i++)
		src[i] = (uint8_t)i;
	size_t n = 300;
	drv_memcpy(buf + 10, src, n);
	CHECK(!memcmp(buf + 10, src, 300));
	CHECK(mem_all(m, buf + 10, 0, 300)); /* only in the cache */
	drv_memset(buf + 2048, 0x33, 1000);
	CHECK(mem_all(m, buf + 2048, 0, 1000));
	struct drv_desc *d = (struct drv_desc *)(buf + 3072);
	struct drv_desc s = {.addr = 0x1234, .len = 512, .flags = 1};
	drv_copy_desc(d, &s);
	CHECK_EQ(d->addr, 0x1234);
	CHECK_EQ(drv_atomic_inc((uint32_t *)(buf + 4000)), 1);
	CHECK_EQ(drv_read_u16_unaligned(buf + 11), 0x0201);
	dc_cpu_cache_range(m, buf, 4096, DC_CACHE_CLEAN, false);
	CHECK(mem_all(m, buf + 2048, 0x33, 1000));
	CHECK_EQ(*dc_mem_pa_ptr(&m->mem, dc_va_to_pa(m, buf + 10 + 299)), 299 & 0xff);
	CHECK_EQ(*(uint64_t *)dc_mem_pa_ptr(&m->mem, dc_va_to_pa(m, buf + 3072)), 0x1234);
	dc_machine_destroy(m);
}

/* The adversary never loses a correct access's data: random evictions on every reference. */
DC_TEST(instrumented_random_evictions_keep_data)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	p.adv.random_evict = 0.5;
	struct dc_machine *m = NULL;
	CHECK(dc_machine_create(&p, &m) == 0);
	dc_machine_set_current(m);
	uint32_t *buf = dc_alloc_cached(m, 4, DC_ZONE_DMA32, false);
	drv_fill((uint8_t *)buf, 16384, 1);
	CHECK_EQ(drv_sum32(buf, 4096), 4096ull * 0x01010101u);
	CHECK(m->st.random_evictions > 100);
	dc_machine_destroy(m);
}

/* An observer of CPU accesses that may vote for dc_cpu_hook's fast path (machine.h, the quiet
 * slots): it records which bytes of one page were reported written, and how many were when a
 * maintenance event arrived. */
struct vobs {
	struct dc_machine *m;
	const uint8_t *page;
	bool vote;
	uint64_t calls, reads, at_maint, refs;
	uint8_t written[4096];
};

static uint64_t vobs_written(const struct vobs *v)
{
	uint64_t n = 0;
	for (size_t i = 0; i < sizeof(v->written); i++)
		n += v->written[i];
	return n;
}

static void vobs_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                     bool cached, const void *pc)
{
	struct vobs *v = opaque;
	(void)pa, (void)cached, (void)pc;
	const uint8_t *b = va;
	v->calls++;
	v->reads += !write;
	for (uint32_t i = 0; write && i < len; i++)
		if ((uint64_t)(b + i - v->page) < sizeof(v->written))
			v->written[b + i - v->page] = 1;
	if (v->vote)
		dc_machine_cpu_vote(v->m);
}

static void vobs_maint(void *opaque, const void *va, uint64_t len, int op)
{
	struct vobs *v = opaque;
	(void)va, (void)len, (void)op;
	v->at_maint = vobs_written(v);
}

static const struct dc_observer vobs_observer = {.cpu_access = vobs_cpu, .cache_maint = vobs_maint};

static void vobs_run(bool vote, struct vobs *v)
{
	struct dc_machine *m = make("noncoherent");
	memset(v, 0, sizeof(*v));
	if (!m)
		return;
	uint32_t *buf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	v->m = m;
	v->page = (const uint8_t *)buf;
	v->vote = vote;
	dc_machine_add_observer(m, &vobs_observer, v);
	drv_store32(buf, 1024, 5);
	CHECK_EQ(drv_load32(buf, 1024), 5 * 1024);
	v->refs = m->st.reads + m->st.writes;
	dc_cpu_cache_range(m, buf, 4096, DC_CACHE_CLEAN, false);
	dc_machine_destroy(m);
}

/* With an observer that voted, repeated references to a line stay in the hook's fast path, yet
 * every byte written is reported, and before the next event of another kind; an observer that
 * does not vote sees each reference. */
DC_TEST(instrumented_fast_path_with_observers_reports_every_write)
{
	static struct vobs v;
	vobs_run(false, &v);
	CHECK_EQ(v.refs, 2048);
	CHECK_EQ(v.calls, 2048);
	CHECK_EQ(v.reads, 1024);
	CHECK_EQ(v.at_maint, 4096);
	vobs_run(true, &v);
	CHECK_EQ(v.refs, 2048); /* the machine counts every reference either way */
	CHECK_EQ(v.at_maint, 4096);
	CHECK_EQ(v.reads, 64);    /* one per line: the others repeat a voted reference */
	CHECK(v.calls <= 64 * 3); /* per line: the first store, its gathered run, the first load */
}

/* What the checker keeps per line, kept by an observer that may vote: last instruction, last
 * writer, bytes written; snapshot when a maintenance event arrives. */
struct lobs {
	struct dc_machine *m;
	const uint8_t *page;
	bool vote;
	uint64_t calls;
	const void *tpc[128], *wpc[128];
	uint8_t written[8192];
	const void *snap_tpc[128], *snap_wpc[128];
	uint8_t snap_written[8192];
};

static void lobs_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                     bool cached, const void *pc)
{
	struct lobs *v = opaque;
	(void)pa, (void)cached;
	uint64_t off = (uint64_t)((const uint8_t *)va - v->page);
	v->calls++;
	if (off < sizeof(v->written)) {
		v->tpc[off / 64] = pc;
		if (write) {
			v->wpc[off / 64] = pc;
			memset(v->written + off, 1, len);
		}
	}
	if (v->vote)
		dc_machine_cpu_vote(v->m);
}

static void lobs_maint(void *opaque, const void *va, uint64_t len, int op)
{
	struct lobs *v = opaque;
	(void)va, (void)len, (void)op;
	memcpy(v->snap_tpc, v->tpc, sizeof(v->tpc));
	memcpy(v->snap_wpc, v->wpc, sizeof(v->wpc));
	memcpy(v->snap_written, v->written, sizeof(v->written));
}

static const struct dc_observer lobs_observer = {.cpu_access = lobs_cpu, .cache_maint = lobs_maint};

static void lobs_run2(bool vote, struct lobs *v, bool copy);
static void lobs_run(bool vote, struct lobs *v)
{
	lobs_run2(vote, v, false);
}

static void lobs_run2(bool vote, struct lobs *v, bool copy)
{
	struct dc_machine *m = make("noncoherent");
	memset(v, 0, sizeof(*v));
	if (!m)
		return;
	uint32_t *buf = dc_alloc_cached(m, 2, DC_ZONE_DMA32, false);
	v->m = m;
	v->page = (const uint8_t *)buf;
	v->vote = vote;
	dc_machine_add_observer(m, &lobs_observer, v);
	if (copy) { /* two lines in turn, then three (a slot given up in the middle) */
		drv_store32(buf, 1024, 7);
		drv_copy32(buf + 1024, buf, 1024);
		drv_copy32(buf + 1024, buf + 8, 512);
		drv_mix32(buf + 1536, 64, 9);
		drv_copy32(buf + 1030, buf + 3, 100);
		dc_cpu_cache_range(m, buf, 8192, DC_CACHE_CLEAN, false);
		dc_machine_destroy(m);
		return;
	}
	drv_mix32(buf, 1024, 3);
	drv_load32(buf + 512, 256);
	drv_store32(buf + 768, 100, 4);
	drv_mix32(buf + 896, 64, 5);
	dc_cpu_cache_range(m, buf, 4096, DC_CACHE_CLEAN, false);
	dc_machine_destroy(m);
}

/* Two instructions alternating on each line, reads after writes: gathered by the fast path,
 * they leave the observer's per-line state exactly as reported one by one. */
DC_TEST(instrumented_fast_path_gathers_exactly_what_each_reference_sets)
{
	static struct lobs one, gathered;
	lobs_run(false, &one);
	lobs_run(true, &gathered);
	CHECK(one.snap_tpc[0] && one.snap_wpc[0]);
	CHECK(!memcmp(one.snap_tpc, gathered.snap_tpc, sizeof(one.snap_tpc)));
	CHECK(!memcmp(one.snap_wpc, gathered.snap_wpc, sizeof(one.snap_wpc)));
	CHECK(!memcmp(one.snap_written, gathered.snap_written, sizeof(one.snap_written)));
	CHECK(gathered.calls <
	      one.calls); /* the runs of bytes written still cost one report each */
}

/* A word-by-word copy alternates between a source and a destination line: with an observer
 * that voted, both lines stay in the fast path (two quiet slots), yet the observer's per-line
 * state is exactly what the references reported one by one leave. */
DC_TEST(instrumented_fast_path_keeps_two_lines_in_turn)
{
	static struct lobs one, gathered;
	lobs_run2(false, &one, true);
	lobs_run2(true, &gathered, true);
	CHECK(one.snap_tpc[64] && one.snap_wpc[64] && one.snap_tpc[0]);
	CHECK(!memcmp(one.snap_tpc, gathered.snap_tpc, sizeof(one.snap_tpc)));
	CHECK(!memcmp(one.snap_wpc, gathered.snap_wpc, sizeof(one.snap_wpc)));
	CHECK(!memcmp(one.snap_written, gathered.snap_written, sizeof(one.snap_written)));
	/* 2,000-odd copy steps of two references each: a few reports per line, not per step. */
	dct_log("calls: one by one %llu, gathered %llu", (unsigned long long)one.calls,
	        (unsigned long long)gathered.calls);
	CHECK(gathered.calls * 4 < one.calls);
}

/* The hook's first test outside the cached window is one range, the hull of the other windows
 * (machine.h: outer_lo): every window must still be heard wherever it lies, as it is set and
 * moved, and memory between or beside them must not. */
struct heard {
	unsigned host, trap, uncached;
};

static void heard_host(void *o, const void *va, uint32_t len, bool write, const void *pc)
{
	(void)va, (void)len, (void)write, (void)pc;
	((struct heard *)o)->host++;
}

static void heard_cpu(void *o, const void *va, uint64_t pa, uint32_t len, bool write, bool cached,
                      const void *pc)
{
	(void)va, (void)pa, (void)len, (void)write, (void)cached, (void)pc;
	((struct heard *)o)->uncached++;
}

static void heard_trap(void *o, const void *va, uint64_t len, bool write, const void *pc)
{
	(void)va, (void)len, (void)write, (void)pc;
	((struct heard *)o)->trap++;
}

DC_TEST(instrumented_windows_beside_the_cached_one_are_heard_wherever_they_lie)
{
	struct dc_machine *m = make("noncoherent");
	CHECK(m);
	struct heard h = {0};
	static const struct dc_observer obs = {.host_access = heard_host};
	CHECK_EQ(dc_machine_add_observer(m, &obs, &h), 0);
	/* Host heap blocks: below every mmap'd window (brk), or among them (mmap'd). */
	static uint32_t far_a[256], far_b[256], none[256];
	uint32_t *big = aligned_alloc(4096, 1 << 20);
	CHECK(big);
	uint32_t *spans[] = {far_a, big, far_b};
	for (unsigned i = 0; i < 3; i++) {
		/* Each set alone first, then beside the other (either may widen the hull). */
		dc_machine_set_trap(m, NULL, 0, NULL, NULL);
		dc_machine_set_host_span(m, spans[i], 1024);
		h = (struct heard){0};
		drv_store32(spans[i], 4, 1);
		dc_machine_set_host_span(m, NULL, 0);
		dc_machine_set_trap(m, spans[(i + 1) % 3], 1024, heard_trap, &h);
		drv_store32(spans[(i + 1) % 3], 2, 1);
		dc_machine_set_host_span(m, spans[i], 1024);
		drv_store32(spans[i], 0, 1);
		drv_store32(spans[(i + 2) % 3], 8, 1); /* in neither: nobody hears it */
		drv_store32(none, 8, 1);
		CHECK_EQ(h.host, 4);
		CHECK_EQ(h.trap, 2);
	}
	/* No trap, no span: only the uncached window is left, and it is still heard. */
	dc_machine_set_trap(m, NULL, 0, NULL, NULL);
	dc_machine_set_host_span(m, NULL, 0);
	h = (struct heard){0};
	drv_store32(far_a, 4, 1);
	drv_store32(big, 4, 1);
	CHECK_EQ(h.host + h.trap, 0);
	dc_machine_remove_observer(m, &obs, &h);
	static const struct dc_observer cpu_obs = {.cpu_access = heard_cpu};
	CHECK_EQ(dc_machine_add_observer(m, &cpu_obs, &h), 0);
	uint32_t *unc = dc_alloc_uncached(m, 1, DC_ZONE_DMA32);
	CHECK(unc);
	drv_store32(unc, 3, 1);
	CHECK_EQ(h.uncached, 3);
	dc_machine_remove_observer(m, &cpu_obs, &h);
	free(big);
	dc_machine_destroy(m);
}

/* A write reference over two lines, then the store (the kernel's dc_ktouch pattern, an
 * unaligned driver store across a line): the second line's fill and the prefetch after it
 * push the first line out of a two-set direct-mapped cache (set = line number & 1); the first line
 * must be present again (dirty) when dc_cpu_ref returns, or the store after it is lost at the next
 * fill. Found as a torture failure: v3bm's scatter/gather element lost its Length. */
DC_TEST(instrumented_write_over_two_lines_keeps_both_for_the_store)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	p.adv = (struct dc_adversary){.prefetch_lines = 1};
	p.line_size = 32;
	p.n_levels = 1;
	p.level[0].size = 64; /* two sets, one way */
	p.level[0].ways = 1;
	struct dc_machine *m = NULL;
	CHECK(dc_machine_create(&p, &m) == 0);
	uint8_t *buf = dc_alloc_cached(m, 2, DC_ZONE_DMA32, false);
	CHECK(buf);
	/* 16 bytes at the end of the first page, 16 at the start of the second: the first
	 * line's fill prefetches nothing (the page ends), the second's prefetches the line
	 * after it, in the first line's set whichever frames the pages have. */
	uint8_t *a = buf + 4096 - 16;
	CHECK((dc_va_to_pa(m, a) >> 5 & 1) != (dc_va_to_pa(m, a + 16) >> 5 & 1));
	dc_cpu_ref(m, a, 32, DC_ACC_WRITE, NULL);
	memset(a, 0x5a, 32);
	dc_cpu_cache_range(m, buf, 8192, DC_CACHE_CLEAN_INVAL, false);
	CHECK(mem_all(m, a, 0x5a, 32));
	dc_machine_destroy(m);
}

/* An overlapping memmove larger than the caches (driver code's memmove, as the instrumented
 * build calls it): every byte moved.  One reference of the whole destination and then the move
 * lost the bytes of the lines that reference had already evicted. */
void *__dc_memmove(void *dst, const void *src, size_t n);
DC_TEST(instrumented_overlapping_memmove_larger_than_the_caches_moves_every_byte)
{
	struct dc_machine *m = make("pc"); /* 32 KiB L1, 1 MiB LL */
	CHECK(m);
	enum { N = 3u << 20, SHIFT = 192 };
	size_t pages = (N + SHIFT) / DC_PAGE_SIZE + 1;
	uint8_t *buf = dc_alloc_cached(m, pages, DC_ZONE_ANY, false);
	uint8_t *pat = malloc(N), *back = malloc(N);
	CHECK(buf && pat && back);
	for (size_t i = 0; i < N; i++)
		pat[i] = (uint8_t)(i * 13 + (i >> 10));
	dc_cpu_write(m, buf, pat, N);
	__dc_memmove(buf + SHIFT, buf, N); /* forwards over itself */
	dc_cpu_read(m, buf + SHIFT, back, N);
	size_t bad = 0;
	for (size_t i = 0; i < N; i++)
		bad += back[i] != pat[i];
	CHECK_EQ(bad, 0);
	__dc_memmove(buf, buf + SHIFT, N); /* and back */
	dc_cpu_read(m, buf, back, N);
	bad = 0;
	for (size_t i = 0; i < N; i++)
		bad += back[i] != pat[i];
	CHECK_EQ(bad, 0);
	free(pat);
	free(back);
	dc_machine_destroy(m);
}

/* An observer that votes for every line (the quiet slots' paths) and hears nothing else. */
static void voter_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                      bool cached, const void *pc)
{
	(void)va, (void)pa, (void)len, (void)write, (void)cached, (void)pc;
	dc_machine_cpu_vote(opaque);
}
static const struct dc_observer voter_observer = {.cpu_access = voter_cpu};

void __tsan_write_range(void *a, unsigned long size);

/* A device's access to [va, va + len) of the cached window, a page (one physical run) at a time:
 * dc_dma_write of host bytes (to memory), or dc_dma_read into them. */
static void dma_pages(struct dc_machine *m, uint8_t *va, uint8_t *host, size_t len, bool write)
{
	while (len) {
		size_t n = DC_MIN(len, DC_PAGE_SIZE - ((uintptr_t)va & DC_PAGE_MASK));
		uint64_t pa = dc_va_to_pa(m, va);
		if (write)
			dc_dma_write(m, 0, pa, host, n);
		else
			dc_dma_read(m, 0, pa, host, n);
		va += n, host += n, len -= n;
	}
}

/* Whatever the CPU side does — dmacoh's copies, driver code's stores, memcpy, memmove and memset,
 * cleans, processor switches — and devices reading and writing with the maintenance a correct
 * driver does, with the adversary evicting and prefetching, on every built-in platform, with and
 * without an observer that keeps references on the fast paths: the CPU reads back exactly what it
 * stored (a flat copy kept beside), and memory holds it once cleaned.  Seeded; ranges from a byte
 * to larger than the caches, at any alignment. */
DC_TEST(instrumented_cpu_view_matches_a_flat_copy_under_random_operations)
{
	enum { PAGES = 768, N = PAGES * DC_PAGE_SIZE, OPS = 1000 };
	uint8_t *ref = malloc(N), *tmp = malloc(N);
	CHECK(ref && tmp);
	unsigned runs = 0;
	for (const char *const *name = dc_platform_builtin_names(); *name; name++) {
		for (int observed = 0; observed < 2; observed++) {
			struct dc_platform p;
			CHECK(dc_platform_builtin(*name, &p) == 0);
			p.adv.random_evict = 0.002;
			p.adv.prefetch_lines = observed ? 2 : p.adv.prefetch_lines;
			p.adv.speculative_fill = observed ? 0.3 : p.adv.speculative_fill;
			p.adv.evict_dirty_after_dma = observed || p.adv.evict_dirty_after_dma;
			p.seed = 1000 + runs;
			struct dc_machine *m = NULL;
			CHECK(dc_machine_create(&p, &m) == 0);
			dc_machine_set_current(m);
			if (observed)
				dc_machine_add_observer(m, &voter_observer, m);
			uint8_t *buf = dc_alloc_cached(m, PAGES, DC_ZONE_ANY, false);
			CHECK(buf != NULL);
			struct dc_rng rng;
			dc_rng_seed(&rng, 77 + runs);
			for (size_t i = 0; i < N; i++)
				ref[i] = (uint8_t)(i * 31 + (i >> 9));
			dc_cpu_write(m, buf, ref, N);
			size_t bad = 0;
			for (unsigned op = 0; op < OPS && !bad; op++) {
				/* Mostly small ranges; one in eight up to the whole buffer. */
				size_t len = dc_rng_below(&rng, 8) ? 1 + dc_rng_below(&rng, 300)
				                                   : 1 + dc_rng_below(&rng, N);
				size_t at = dc_rng_below(&rng, N - len + 1);
				size_t from = dc_rng_below(&rng, N - len + 1);
				uint8_t v = (uint8_t)dc_rng_next(&rng);
				switch (dc_rng_below(&rng, 12)) {
				case 0: /* dmacoh's own copy in */
					for (size_t i = 0; i < len; i++)
						tmp[i] = (uint8_t)(v + i);
					dc_cpu_write(m, buf + at, tmp, len);
					memcpy(ref + at, tmp, len);
					break;
				case 1:
					dc_cpu_fill(m, buf + at, v, len);
					memset(ref + at, v, len);
					break;
				case 2: /* driver code's memcpy, source and destination apart */
					if (at < from + len && from < at + len)
						break;
					drv_memcpy(buf + at, buf + from, len);
					memmove(ref + at, ref + from, len);
					break;
				case 3: /* memmove, overlapping or not */
					__dc_memmove(buf + at, buf + from, len);
					memmove(ref + at, ref + from, len);
					break;
				case 4:
					drv_memset(buf + at, v, len);
					memset(ref + at, v, len);
					break;
				case 5: { /* driver code's word stores */
					size_t w = (at & ~(size_t)3),
					       n = DC_MIN(len / 4 + 1, (N - w) / 4);
					drv_store32((volatile uint32_t *)(void *)(buf + w), n,
					            v * 0x01010101u);
					memset(ref + w, v, n * 4);
					break;
				}
				case 6: /* a compiler's range reference, then the stores */
					__tsan_write_range(buf + at, len);
					memset(buf + at, v, len);
					memset(ref + at, v, len);
					break;
				case 7:
					dc_cpu_cache_range(
					    m, buf + at, len,
					    v & 1 ? DC_CACHE_CLEAN : DC_CACHE_CLEAN_INVAL, true);
					break;
				case 8:
					dc_machine_set_cpu(
					    m, (uint32_t)dc_rng_below(
					           &rng, p.processors ? p.processors : 1));
					break;
				case 9: /* a device writes or reads the range, as a correct driver
				         * maintains it (no-ops where the platform is coherent) */
					if (v & 1) {
						for (size_t i = 0; i < len; i++)
							tmp[i] = (uint8_t)(v ^ (i * 7));
						dc_cpu_cache_range(m, buf + at, len,
						                   DC_CACHE_CLEAN_INVAL, false);
						dma_pages(m, buf + at, tmp, len, true);
						dc_cpu_cache_range(m, buf + at, len,
						                   DC_CACHE_CLEAN_INVAL, false);
						memcpy(ref + at, tmp, len);
					} else {
						dc_cpu_cache_range(m, buf + at, len, DC_CACHE_CLEAN,
						                   false);
						dma_pages(m, buf + at, tmp, len, false);
						for (size_t i = 0; i < len; i++)
							bad += tmp[i] != ref[at + i];
					}
					break;
				default: /* read back */
					dc_cpu_read(m, buf + at, tmp, len);
					for (size_t i = 0; i < len; i++)
						bad += tmp[i] != ref[at + i];
					if (bad)
						fprintf(
						    stderr,
						    "  %s%s: op %u: read of %zu at %zu: %zu bad\n",
						    *name, observed ? " observed" : "", op, len, at,
						    bad);
					break;
				}
			}
			CHECK_EQ(bad, 0);
			dc_cpu_read(m, buf, tmp, N);
			CHECK(memcmp(tmp, ref, N) == 0);
			dc_cpu_cache_range(m, buf, N, DC_CACHE_CLEAN, true);
			for (size_t i = 0; i < N; i += DC_PAGE_SIZE)
				bad += memcmp(dc_mem_pa_ptr(&m->mem, dc_va_to_pa(m, buf + i)),
				              ref + i, DC_PAGE_SIZE) != 0;
			CHECK_EQ(bad, 0);
			dc_machine_destroy(m);
			runs++;
		}
	}
	CHECK(runs >= 8);
	free(ref);
	free(tmp);
}
