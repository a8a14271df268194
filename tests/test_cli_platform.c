/* The dmacoh tool as a user meets it: exit codes, what goes to stdout and what to stderr, and
 * the round trip of 'platform show' through 'platform show FILE'.  Runs the tool dct_tool()
 * finds ($DMACOH_BIN, else the one built beside the tests); without one the tests say so and
 * pass. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/platform.h"

#define NEED_TOOL()                                            \
	do {                                                   \
		if (!dct_tool()) {                             \
			printf("(skipped: no dmacoh built) "); \
			return;                                \
		}                                              \
	} while (0)

#define RUN(r, ...) CHECK(dct_run_tool(r, (const char *const[]){__VA_ARGS__, NULL}))

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static struct dct_run r; /* large: not on the stack */

DC_TEST(cli_help_and_version)
{
	NEED_TOOL();
	RUN(&r, "--help");
	CHECK_EQ(r.status, 0);
	CHECK(!strncmp(r.out, "usage: dmacoh", 13));
	CHECK(strstr(r.out, "platform show NAME|FILE"));
	CHECK(!r.err[0]);
	RUN(&r, "help");
	CHECK_EQ(r.status, 0);
	CHECK(!strncmp(r.out, "usage: dmacoh", 13));
	RUN(&r, "help", "platform");
	CHECK_EQ(r.status, 0);
	CHECK(!strncmp(r.out, "usage: dmacoh platform", 22));
	RUN(&r, "--version");
	CHECK_EQ(r.status, 0);
	CHECK(!strncmp(r.out, "dmacoh ", 7));
	CHECK_EQ(count_lines(r.out), 1);
}

DC_TEST(cli_usage_errors)
{
	NEED_TOOL();
	static const struct {
		const char *args[5]; /* NULL-terminated */
		const char *err;
	} cases[] = {
	    {{NULL}, "dmacoh: missing command (try 'dmacoh --help')\n"},
	    {{"frobnicate"}, "dmacoh: unknown command 'frobnicate' (try 'dmacoh --help')\n"},
	    {{"help", "frob"}, "dmacoh: help: unknown command 'frob' (try 'dmacoh --help')\n"},
	    {{"list"},
	     "dmacoh list: missing KIND (one of: platforms, devices, drivers, rules, exports)\n"},
	    {{"list", "gadgets"},
	     "dmacoh list: unknown kind 'gadgets' (one of: platforms, devices, drivers, rules, "
	     "exports)\n"},
	    {{"list", "platforms", "x"},
	     "dmacoh list: too many arguments (one of: platforms, devices, drivers, rules, "
	     "exports)\n"},
	    {{"platform"},
	     "dmacoh platform: missing action (show or check; try 'dmacoh platform --help')\n"},
	    {{"platform", "eat"}, "dmacoh platform: unknown action 'eat' (show or check)\n"},
	    {{"platform", "show"}, "dmacoh platform show: missing NAME or FILE\n"},
	    {{"platform", "check"}, "dmacoh platform check: missing FILE\n"},
	    {{"platform", "check", "a", "b"}, "dmacoh platform check: too many arguments\n"},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		CHECK(dct_run_tool(&r, cases[i].args));
		CHECK_MSG(r.status == 2, "case %zu: exit %d", i, r.status);
		CHECK_MSG(!strcmp(r.err, cases[i].err), "case %zu: stderr '%s'", i, r.err);
		CHECK_MSG(!r.out[0], "case %zu: stdout '%s'", i, r.out);
	}
}

DC_TEST(cli_list_platforms)
{
	NEED_TOOL();
	RUN(&r, "list", "platforms");
	CHECK_EQ(r.status, 0);
	CHECK(!r.err[0]);
	const char *line = r.out;
	size_t n = 0;
	for (const char *const *name = dc_platform_builtin_names(); *name; name++, n++) {
		size_t len = strlen(*name);
		CHECK_MSG(!strncmp(line, *name, len) && line[len] == ' ', "line %zu: %s", n, line);
		const char *nl = strchr(line, '\n');
		CHECK(nl && nl - line > (ptrdiff_t)len + 4); /* a description follows */
		line = nl + 1;
	}
	CHECK_EQ(count_lines(r.out), n);
	CHECK(strstr(r.out, "pc                     coherent, 64-byte lines, L1 32K 8-way, L2 1M "
	                    "16-way; no adversary\n"));
}

DC_TEST(cli_platform_show_round_trip)
{
	NEED_TOOL();
	const char *const *names = dc_platform_builtin_names();
	for (size_t i = 0; names[i]; i++) {
		char path[] = "/tmp/dmacoh-show-XXXXXX";
		int fd = mkstemp(path);
		CHECK(fd >= 0);
		close(fd);
		RUN(&r, "platform", "show", names[i]);
		CHECK_EQ(r.status, 0);
		CHECK(!r.err[0]);
		char first[sizeof(r.out)];
		strcpy(first, r.out);
		/* The library reads the text back as the same profile ... */
		struct dc_platform a, b;
		char err[256] = "", again[4096];
		CHECK_EQ(dc_platform_builtin(names[i], &a), DC_OK);
		CHECK_MSG(dc_platform_parse(first, strlen(first), "show", &b, err, sizeof(err)) ==
		              DC_OK,
		          "%s: %s", names[i], err);
		CHECK(dc_platform_format(&b, again, sizeof(again)) > 0);
		CHECK_MSG(!strcmp(again, first), "%s", names[i]);
		/* ... and so does the tool, given the text as a file. */
		bool wrote = write_file(path, first);
		RUN(&r, "platform", "show", path);
		unlink(path);
		CHECK(wrote);
		CHECK_EQ(r.status, 0);
		CHECK_MSG(!strcmp(r.out, first), "%s:\n%s\n---\n%s", names[i], first, r.out);
	}
}

DC_TEST(cli_platform_show_pc_golden)
{
	NEED_TOOL();
	RUN(&r, "platform", "show", "pc");
	CHECK_EQ(r.status, 0);
	CHECK(!strcmp(r.out, "[platform]\n"
	                     "name = pc\n"
	                     "coherency = coherent\n"
	                     "seed = 1\n"
	                     "processors = 2\n"
	                     "\n"
	                     "[memory]\n"
	                     "phys_size = 8G\n"
	                     "va_size = 64G\n"
	                     "\n"
	                     "[cache]\n"
	                     "line_size = 64\n"
	                     "\n"
	                     "[cache.L1]\n"
	                     "size = 32K\n"
	                     "ways = 8\n"
	                     "replacement = lru\n"
	                     "\n"
	                     "[cache.L2]\n"
	                     "size = 1M\n"
	                     "ways = 16\n"
	                     "replacement = lru\n"
	                     "\n"
	                     "[adversary]\n"
	                     "random_evict = 0\n"
	                     "evict_dirty_after_dma = no\n"
	                     "prefetch_lines = 0\n"
	                     "speculative_fill = 0\n"
	                     "\n"
	                     "[sysdma]\n"
	                     "controller = 8237\n"
	                     "chunk = 16\n"
	                     "depth = 4\n"
	                     "wait_full = yes\n"
	                     "addr_bits = 24\n"
	                     "bandwidth = 4M\n"
	                     "\n"
	                     "[busmaster]\n"
	                     "addr_bits = 32\n"
	                     "bridge_posted = 256\n"
	                     "map_registers = 16\n"
	                     "bandwidth = 1G\n"));
}

DC_TEST(cli_platform_check)
{
	NEED_TOOL();
	char path[] = "/tmp/dmacoh-check-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);

	bool wrote = write_file(path, "[platform]\nbase = noncoherent\n[cache.L1]\nways = 4\n");
	RUN(&r, "platform", "check", path);
	CHECK(wrote);
	CHECK_EQ(r.status, 0);
	CHECK(!r.out[0] && !r.err[0]);

	wrote = write_file(path, "[platform]\nseed = 1\n\n[cache.L1]\nways = four\n");
	RUN(&r, "platform", "check", path);
	char want[256];
	snprintf(want, sizeof(want),
	         "%s:5: [cache.L1] ways: expected a positive integer, got 'four'\n", path);
	CHECK(wrote);
	CHECK_EQ(r.status, 2);
	CHECK(!r.out[0]);
	CHECK_MSG(!strcmp(r.err, want), "%s", r.err);

	/* show refuses the same file the same way. */
	RUN(&r, "platform", "show", path);
	unlink(path);
	CHECK_EQ(r.status, 2);
	CHECK(!r.out[0]);
	CHECK_MSG(!strcmp(r.err, want), "%s", r.err);

	RUN(&r, "platform", "check", "/nonexistent.ini");
	CHECK_EQ(r.status, 2);
	CHECK(!strcmp(r.err, "/nonexistent.ini: cannot open: No such file or directory\n"));
	RUN(&r, "platform", "show", "vax");
	CHECK_EQ(r.status, 2);
	CHECK(!strcmp(r.err, "vax: cannot open: No such file or directory (and no built-in profile "
	                     "is called 'vax': see 'dmacoh list platforms')\n"));
}

DC_TEST(cli_platform_profiles_check_clean)
{
	NEED_TOOL();
	static const char *const files[] = {"profiles/pc.ini", "profiles/noncoherent.ini",
	                                    "profiles/noncoherent-prefetch.ini",
	                                    "profiles/arm-soc.ini"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(files); i++) {
		if (access(files[i], R_OK)) {
			printf("(skipped: %s not found from the current directory) ", files[i]);
			return;
		}
		RUN(&r, "platform", "check", files[i]);
		CHECK_MSG(r.status == 0 && !r.err[0], "%s: %s", files[i], r.err);
	}
}
