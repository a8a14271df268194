/* The torture campaign and request-line peripherals (issue 16 item 4): the drivers of spififo
 * (v3sub and its twins) are in the campaign, and their runs draw arm-soc (the PL080) as well as
 * the PC platforms (the 8237 channel the line is wired to); no other driver gets arm-soc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"

/* Runs `torture --list` for the drivers matching pat: how many runs, how many on arm-soc. */
static bool list_runs(const char *pat, unsigned *runs, unsigned *soc)
{
	char dir[] = "/tmp/dmacoh-torture-soc-XXXXXX";
	if (!mkdtemp(dir))
		return false;
	static struct dct_run r;
	const char *args[] = {"torture", "--runs", "40",       "--seed", "3", "--list",
	                      "--dir",   dir,      "--driver", pat,      NULL};
	bool ok = dct_run_tool(&r, args) && r.status == 0;
	*runs = *soc = 0;
	for (const char *l = r.out; ok && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		if (strstr(line, " run --driver ")) {
			(*runs)++;
			*soc += strstr(line, " --platform arm-soc ") != NULL;
		}
		l += len + (nl != NULL);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return false;
	return ok;
}

DC_TEST(torture_request_line_drivers_draw_arm_soc)
{
	unsigned runs = 0, soc = 0;
	CHECK(list_runs("v3sub*", &runs, &soc));
	CHECK_EQ(runs, 40);
	CHECK_MSG(soc > 0 && soc < runs, "%u of %u v3sub runs on arm-soc", soc, runs);
	CHECK(list_runs("sysdma*", &runs, &soc));
	CHECK_EQ(runs, 40);
	CHECK_EQ(soc, 0);
}
