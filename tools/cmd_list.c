/* dmacoh list KIND: what dmacoh knows, one item per line, its name first so scripts can cut
 * the first column.  A kind is one row of `kinds`; devices, drivers and rules join as rows
 * when they exist. */
#include <stdio.h>
#include <string.h>

#include "dmacoh/check.h"
#include "dmacoh/platform.h"
#include "cmds.h"

/* A line that says what sets the profile apart, made from the profile itself so it cannot
 * go stale. */
static void describe(const struct dc_platform *p, char *buf, size_t len)
{
	size_t n = 0;
#define ADD(...)                                                                \
	do {                                                                    \
		int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (k_ > 0)                                                     \
			n = DC_MIN(n + (size_t)k_, len - 1);                    \
	} while (0)
	ADD("%s, %u-byte lines,", dc_coherency_name(p->coherency), p->line_size);
	for (uint32_t i = 0; i < p->n_levels; i++) {
		const struct dc_cache_geom *g = &p->level[i];
		uint64_t sz = g->size;
		const char *unit = "";
		if (sz % (1 << 20) == 0) {
			sz >>= 20;
			unit = "M";
		} else if (sz % (1 << 10) == 0) {
			sz >>= 10;
			unit = "K";
		}
		ADD("%s L%u %llu%s %u-way%s%s", i ? "," : "", i + 1, (unsigned long long)sz, unit,
		    g->ways, g->repl == DC_REPL_LRU ? "" : " ",
		    g->repl == DC_REPL_LRU ? "" : dc_repl_name(g->repl));
	}
	const struct dc_adversary *a = &p->adv;
	if (!a->random_evict && !a->evict_dirty_after_dma && !a->prefetch_lines &&
	    !a->speculative_fill) {
		ADD("; no adversary");
		return;
	}
	ADD("; adversary:");
	const char *sep = " ";
	if (a->random_evict) {
		ADD("%srandom evictions", sep);
		sep = ", ";
	}
	if (a->evict_dirty_after_dma) {
		ADD("%sdirty evictions after DMA", sep);
		sep = ", ";
	}
	if (a->prefetch_lines) {
		ADD("%sprefetch %u lines", sep, a->prefetch_lines);
		sep = ", ";
	}
	if (a->speculative_fill)
		ADD("%sspeculative fills", sep);
#undef ADD
}

static int list_platforms(void)
{
	for (const char *const *name = dc_platform_builtin_names(); *name; name++) {
		struct dc_platform p;
		char desc[256];
		if (dc_platform_builtin(*name, &p) != DC_OK)
			continue;
		describe(&p, desc, sizeof(desc));
		printf("%-22s %s\n", *name, desc);
	}
	return 0;
}

static int list_rules(void)
{
	for (int r = 0; r < DC_RULE_COUNT; r++) {
		const struct dc_rule_info *ri = dc_rule_info((enum dc_rule)r);
		printf("%s %-24s %-8s %s\n", ri->id, ri->name, dc_severity_name(ri->severity),
		       ri->summary);
	}
	return 0;
}

static const struct kind {
	const char *name;
	int (*list)(void);
	const char *summary;
} kinds[] = {
    {"platforms", list_platforms, "built-in platform profiles"},
    {"rules", list_rules, "the sanitizer's rules (dmacoh explain RULE)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dmacoh list KIND\n\nkinds:\n");
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds); i++)
		fprintf(f, "  %-12s %s\n", kinds[i].name, kinds[i].summary);
}

static void kind_names(char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds) && n < len; i++) {
		int k = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", kinds[i].name);
		if (k > 0)
			n += (size_t)k;
	}
}

int dc_cmd_list(int argc, char **argv)
{
	char names[256];
	kind_names(names, sizeof(names));
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "dmacoh list: %s (one of: %s)\n",
		        argc < 2 ? "missing KIND" : "too many arguments", names);
		return 2;
	}
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds); i++)
		if (!strcmp(argv[1], kinds[i].name))
			return kinds[i].list();
	fprintf(stderr, "dmacoh list: unknown kind '%s' (one of: %s)\n", argv[1], names);
	return 2;
}
