/* The README cannot drift: every command of its shell blocks is run against the build under
 * test (tests/readme_cmds.sh does the extracting and running; see there). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"

/* The repository: the nearest directory above the tool that holds README.md and the script. */
static bool find_repo(const char *from, char *repo, size_t len)
{
	snprintf(repo, len, "%s", from);
	for (;;) {
		char *slash = strrchr(repo, '/');
		if (!slash || slash == repo)
			return false;
		*slash = 0;
		char probe[PATH_MAX + 64];
		snprintf(probe, sizeof(probe), "%s/tests/readme_cmds.sh", repo);
		if (access(probe, R_OK) == 0) {
			snprintf(probe, sizeof(probe), "%s/README.md", repo);
			if (access(probe, R_OK) == 0)
				return true;
		}
	}
}

DC_TEST(readme_commands_run_as_documented)
{
	const char *tool = dct_tool();
	CHECK(tool);
	static char real[PATH_MAX], build[PATH_MAX], repo[PATH_MAX], cmd[3 * PATH_MAX + 64];
	CHECK(realpath(tool, real));
	snprintf(build, sizeof(build), "%s", real);
	char *slash = strrchr(build, '/');
	CHECK(slash);
	*slash = 0;
	CHECK_MSG(find_repo(build, repo, sizeof(repo)), "no README.md above %s", build);
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/readme_cmds.sh' '%s' '%s' 2>&1", repo, repo,
	         build);
	FILE *p = popen(cmd, "r");
	CHECK(p);
	static char line[4096], last[4096];
	unsigned ran = 0;
	while (fgets(line, sizeof(line), p)) {
		if (!strncmp(line, "ok (", 4))
			ran++;
		snprintf(last, sizeof(last), "%s", line);
	}
	int st = pclose(p);
	CHECK_MSG(st == 0, "%s", last);
	/* The README shows about a dozen commands: extraction that finds few is broken. */
	CHECK_MSG(ran >= 10, "only %u README commands found: %s", ran, last);
	CHECK_MSG(strstr(last, "all as documented"), "%s", last);
}
