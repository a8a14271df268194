/* dmacoh demo: the seed's anomaly on every platform, as a table, then one case drawn step by
 * step.  Exit 0 when every platform behaved as its coherency says it must (a coherent one is
 * always correct; a non-coherent one corrupts data without maintenance and is correct with
 * it), 1 otherwise. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "hw/anomaly.h"

static void print_text(void *opaque, const char *text)
{
	(void)opaque;
	fputs(text, stdout);
}

static int load(const char *arg, struct dc_platform *p)
{
	if (dc_platform_builtin(arg, p) == DC_OK)
		return 0;
	char err[512];
	if (dc_platform_load(arg, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "dmacoh: demo: %s\n", err);
		return -1;
	}
	return 0;
}

static void help(void)
{
	printf("usage: dmacoh demo [--platform NAME|FILE]... [--draw SCENARIO] [--quiet]\n\n"
	       "Runs the four faces of the DMA cache-coherency anomaly on each platform (default:\n"
	       "every built-in), without and with the cache maintenance a correct driver does,\n"
	       "and draws one of them step by step (default: eviction-over-dma on the first\n"
	       "non-coherent platform; other-processor draws each processor's copy of the line\n"
	       "and runs on two processors at least).  Scenarios:\n");
	for (int a = 0; a < DC_ANOMALY_COUNT; a++)
		printf("  %-18s fixed by: %s\n", dc_anomaly_name((enum dc_anomaly)a),
		       dc_anomaly_fix((enum dc_anomaly)a));
}

int dc_cmd_demo(int argc, char **argv)
{
	struct dc_platform plats[8];
	int n = 0, draw = DC_ANOMALY_EVICTION_OVER_DMA;
	bool quiet = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help();
			return 0;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--platform") && i + 1 < argc) {
			if (n == (int)DC_ARRAY_SIZE(plats)) {
				fprintf(stderr, "dmacoh: demo: at most %zu platforms\n",
				        DC_ARRAY_SIZE(plats));
				return 2;
			}
			if (load(argv[++i], &plats[n++]) < 0)
				return 2;
		} else if (!strcmp(argv[i], "--draw") && i + 1 < argc) {
			const char *s = argv[++i];
			draw = -1;
			for (int a = 0; a < DC_ANOMALY_COUNT; a++)
				if (!strcmp(s, dc_anomaly_name((enum dc_anomaly)a)))
					draw = a;
			if (draw < 0) {
				fprintf(stderr,
				        "dmacoh: demo: unknown scenario '%s' (see --help)\n", s);
				return 2;
			}
		} else {
			fprintf(stderr, "dmacoh: demo: unexpected argument '%s' (see --help)\n",
			        argv[i]);
			return 2;
		}
	}
	if (!n)
		for (const char *const *b = dc_platform_builtin_names(); *b && n < 8; b++)
			dc_platform_builtin(*b, &plats[n++]);

	int table = quiet ? 0 : dc_demo_drivers_table();
	printf("The DMA cache-coherency anomaly: one cache line, one device.\n\n");
	printf("%-22s %-12s %-20s %-20s %s\n", "platform", "coherency", "scenario",
	       "without maintenance", "with maintenance");
	int unexpected = 0, draw_plat = -1;
	for (int i = 0; i < n; i++) {
		const struct dc_platform *p = &plats[i];
		bool coherent = p->coherency == DC_COHERENT;
		if (!coherent && draw_plat < 0)
			draw_plat = i;
		for (int a = 0; a < DC_ANOMALY_COUNT; a++) {
			struct dc_anomaly_result r0, r1;
			if (dc_anomaly_run(p, (enum dc_anomaly)a, false, NULL, NULL, &r0) < 0 ||
			    dc_anomaly_run(p, (enum dc_anomaly)a, true, NULL, NULL, &r1) < 0) {
				fprintf(stderr, "dmacoh: demo: cannot build platform '%s'\n",
				        p->name);
				return 2;
			}
			/* A coherent platform is always right; a non-coherent one must show the
			 * bug without maintenance and be right with it. */
			bool as_expected = r1.correct && r0.correct == coherent;
			unexpected += !as_expected;
			printf("%-22s %-12s %-20s %-20s %s%s\n", p->name,
			       dc_coherency_name(p->coherency), dc_anomaly_name((enum dc_anomaly)a),
			       r0.correct ? "correct" : "DATA CORRUPTED",
			       r1.correct ? "correct" : "DATA CORRUPTED",
			       as_expected ? "" : "   <- unexpected");
		}
	}
	if (!quiet && draw_plat >= 0) {
		printf("\n%s on %s, without maintenance (then with: %s):\n\n",
		       dc_anomaly_name((enum dc_anomaly)draw), plats[draw_plat].name,
		       dc_anomaly_fix((enum dc_anomaly)draw));
		struct dc_anomaly_result r;
		dc_anomaly_run(&plats[draw_plat], (enum dc_anomaly)draw, false, print_text, NULL,
		               &r);
		printf("  => %s\n\nwith maintenance:\n\n",
		       r.correct ? "correct" : "DATA CORRUPTED");
		dc_anomaly_run(&plats[draw_plat], (enum dc_anomaly)draw, true, print_text, NULL,
		               &r);
		printf("  => %s\n", r.correct ? "correct" : "DATA CORRUPTED");
	}
	printf("\n%s\n", unexpected ? "Some platform did not behave as its coherency says."
	                            : "Every platform behaved as its coherency says.");
	return unexpected || table ? 1 : 0;
}
