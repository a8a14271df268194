/* The machine's run form of dmacoh's own CPU copies (the observer's cpu_run: a page of lines
 * told at once) against the line-by-line form it replaces (cpu_access per line, which the
 * machine falls back to while any observer lacks cpu_run): the same findings and the same
 * contract shadow — every page's written, read, touched, device and stale bits — after the
 * sanitizer's scenario for every rule, on every platform, then after seeded random copies,
 * fills, driver writes and device writes over a buffer that spans pages. */
#include <string.h>

#include "dctest.h"
#include "test_check.h"
#include "check/check_int.h"
#include "hw/rng.h"

static void no_run_cpu(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                       bool cached, const void *pc)
{
	(void)opaque, (void)va, (void)pa, (void)len, (void)write, (void)cached, (void)pc;
}

/* An observer of CPU accesses without cpu_run: the machine tells every observer line by line. */
static const struct dc_observer no_run_observer = {.cpu_access = no_run_cpu};

static void random_ops(struct tc_env *v, uint64_t seed)
{
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	enum { PAGES = 5 };
	uint8_t *buf = dc_alloc_cached(v->m, PAGES, DC_ZONE_DMA32, false);
	if (!buf)
		return;
	static uint8_t host[PAGES * DC_PAGE_SIZE];
	for (int i = 0; i < 300; i++) {
		uint64_t off = dc_rng_below(&r, PAGES * DC_PAGE_SIZE);
		uint64_t len =
		    1 + dc_rng_below(&r, DC_MIN(3 * DC_PAGE_SIZE, PAGES * DC_PAGE_SIZE - off));
		switch (dc_rng_below(&r, 6)) {
		case 0:
			dc_cpu_write(v->m, buf + off, host, len);
			break;
		case 1:
			dc_cpu_read(v->m, buf + off, host, len);
			break;
		case 2:
			dc_cpu_fill(v->m, buf + off, (int)i, len);
			break;
		case 3:
			dc_cpu_fill_pc(v->m, buf + off, (int)i, DC_MIN(len, 64), tc_pc_copy);
			break;
		case 4: {
			uint64_t pa = dc_va_to_pa(v->m, buf + off);
			uint64_t n = DC_MIN(len, DC_PAGE_SIZE - (pa & DC_PAGE_MASK));
			dc_dma_write(v->m, v->src, pa, host, n);
			break;
		}
		default:
			dc_cpu_read(v->m, buf + off, host, DC_MIN(len, 8));
			break;
		}
	}
}

/* 0 when both checkers hold the same page shadows, else the first pfn that differs + 1. */
static uint64_t shadow_diff(const struct dc_check *a, const struct dc_check *b)
{
	for (uint64_t pfn = 0; pfn < a->phys_pages; pfn++) {
		const struct dc_pshadow *p = a->flat[pfn], *q = b->flat[pfn];
		if (!p && !q)
			continue;
		if (!p || !q || memcmp(p->w, q->w, sizeof(p->w)) ||
		    memcmp(p->t, q->t, sizeof(p->t)) || memcmp(p->pw, q->pw, sizeof(p->pw)) ||
		    memcmp(p->r, q->r, sizeof(p->r)) || p->owned != q->owned ||
		    p->watch != q->watch || !p->ext != !q->ext)
			return pfn + 1;
		if (p->ext && (memcmp(p->ext->d, q->ext->d, sizeof(p->ext->d)) ||
		               memcmp(p->ext->pr, q->ext->pr, sizeof(p->ext->pr)) ||
		               memcmp(p->ext->stale, q->ext->stale, sizeof(p->ext->stale))))
			return pfn + 1;
	}
	return 0;
}

DC_TEST(check_cpu_run_tells_what_line_by_line_tells)
{
	static const char *const platforms[] = {"pc", "noncoherent", "noncoherent-prefetch"};
	static char sa[8192], sb[8192];
	unsigned cases = 0, bad = 0;
	for (size_t p = 0; p < DC_ARRAY_SIZE(platforms); p++) {
		for (int bug = -1; bug < (int)DC_RULE_COUNT && bad < 3; bug++) {
			uint64_t seed = 1 + (uint64_t)(bug + 1) % 3;
			struct tc_env a, b;
			CHECK(tc_init(&a, platforms[p], seed, NULL));
			CHECK(tc_init(&b, platforms[p], seed, NULL));
			CHECK(dc_machine_add_observer(b.m, &no_run_observer, NULL) == DC_OK);
			tc_scenario(&a, bug);
			tc_scenario(&b, bug);
			random_ops(&a, seed * 31 + (uint64_t)(bug + 1));
			random_ops(&b, seed * 31 + (uint64_t)(bug + 1));
			tc_signature(&a, sa, sizeof(sa));
			tc_signature(&b, sb, sizeof(sb));
			uint64_t d = shadow_diff(a.c, b.c);
			if (strcmp(sa, sb) || d) {
				dct_log("%s, bug %d: shadow differs at pfn "
				        "%llu\nrun:\n%s---\nlines:\n%s",
				        platforms[p], bug, (unsigned long long)d - 1, sa, sb);
				bad++;
			}
			cases++;
			dc_machine_remove_observer(b.m, &no_run_observer, NULL);
			tc_fini(&a);
			tc_fini(&b);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(cases > 3 * DC_RULE_COUNT);
}
