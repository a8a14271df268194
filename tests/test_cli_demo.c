/* `dmacoh demo` output is deterministic: byte-identical to the golden file, exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"

DC_TEST(cli_demo_matches_golden)
{
	static struct dct_run r; /* large: not on the stack */
	CHECK(dct_run_tool(&r, (const char *const[]){"demo", NULL}));
	FILE *g = fopen("tests/golden/demo.txt", "r");
	CHECK(g);
	static char gold[sizeof(r.out)];
	size_t gn = fread(gold, 1, sizeof(gold), g);
	fclose(g);
	/* A golden file as large as the buffer could hide a truncated run. */
	CHECK(gn < sizeof(gold) - 1);
	bool same = r.out_len == gn && !memcmp(r.out, gold, gn);
	if (!same)
		dct_log("got:\n%s\nstderr:\n%s\n", r.out, r.err);
	CHECK_EQ(r.status, 0);
	CHECK_MSG(same, "output differs from tests/golden/demo.txt");
}
