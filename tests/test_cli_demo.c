/* `dmacoh demo` output is deterministic: byte-identical to the golden file, exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctest.h"

/* The tool: $DMACOH_BIN (set by make test), else the dmacoh built beside this test binary. */
static const char *tool(char *buf, size_t len)
{
	const char *bin = getenv("DMACOH_BIN");
	if (bin)
		return bin;
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/../dmacoh") > len)
		return NULL;
	strcpy(slash, "/../dmacoh");
	return buf;
}

static char *slurp(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
		}
	}
	*len = n;
	return b;
}

DC_TEST(cli_demo_matches_golden)
{
	char path[512], cmd[1024];
	const char *bin = tool(path, sizeof(path));
	CHECK(bin);
	snprintf(cmd, sizeof(cmd), "%s demo", bin);
	FILE *p = popen(cmd, "r");
	CHECK(p);
	size_t n = 0, gn = 0;
	char *out = slurp(p, &n);
	int st = pclose(p);
	FILE *g = fopen("tests/golden/demo.txt", "r");
	char *gold = g ? slurp(g, &gn) : NULL;
	if (g)
		fclose(g);
	bool same = out && gold && n == gn && !memcmp(out, gold, n);
	if (!same && out)
		dct_log("got:\n%.*s\n", (int)n, out);
	free(out);
	free(gold);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_MSG(same, "output differs from tests/golden/demo.txt");
}
