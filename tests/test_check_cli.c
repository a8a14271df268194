/* The sanitizer's CLI faces: `dmacoh explain RULE` and `dmacoh list rules` are byte-identical
 * to their golden files; unknown rules are one-line usage errors (exit 2). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"

static bool matches_golden(const struct dct_run *r, const char *path)
{
	static char gold[sizeof(r->out)];
	FILE *g = fopen(path, "r");
	if (!g)
		return false;
	size_t gn = fread(gold, 1, sizeof(gold), g);
	fclose(g);
	bool same = gn < sizeof(gold) - 1 && r->out_len == gn && !memcmp(r->out, gold, gn);
	if (!same)
		dct_log("got:\n%s\nstderr:\n%s\n", r->out, r->err);
	return same;
}

DC_TEST(check_cli_explain_c01_matches_golden)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"explain", "C01", NULL}));
	CHECK_EQ(r.status, 0);
	CHECK_MSG(matches_golden(&r, "tests/golden/explain-C01.txt"),
	          "output differs from tests/golden/explain-C01.txt");
	/* By name and in lower case: the same text. */
	CHECK(dct_run_tool(&r, (const char *const[]){"explain", "stale-device-read", NULL}));
	CHECK(matches_golden(&r, "tests/golden/explain-C01.txt"));
	CHECK(dct_run_tool(&r, (const char *const[]){"explain", "c01", NULL}));
	CHECK(matches_golden(&r, "tests/golden/explain-C01.txt"));
}

DC_TEST(check_cli_explain_errors)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"explain", "C99", NULL}));
	CHECK_EQ(r.status, 2);
	CHECK(strstr(r.err, "unknown rule 'C99'"));
	CHECK_EQ(r.out_len, 0);
	CHECK(dct_run_tool(&r, (const char *const[]){"explain", NULL}));
	CHECK_EQ(r.status, 2);
	CHECK(strstr(r.err, "missing RULE"));
}

DC_TEST(check_cli_explain_every_rule)
{
	static struct dct_run r;
	static const char *const ids[] = {"C01", "C02", "C03", "C04", "C05", "C06", "C07",
	                                  "C08", "A01", "A02", "A03", "A04", "A05", "A06",
	                                  "A07", "A08", "A09", "A10", "A11", "X01"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"explain", ids[i], NULL}));
		CHECK_MSG(r.status == 0 && !strncmp(r.out, ids[i], 3), "explain %s", ids[i]);
		CHECK_MSG(strstr(r.out, "fix:"), "explain %s has no fix", ids[i]);
	}
}

DC_TEST(check_cli_list_rules_matches_golden)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"list", "rules", NULL}));
	CHECK_EQ(r.status, 0);
	CHECK_MSG(matches_golden(&r, "tests/golden/list-rules.txt"),
	          "output differs from tests/golden/list-rules.txt");
}
