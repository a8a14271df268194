/* Platform profiles: the built-ins' exact values, the profile files that mirror them, the
 * writer/parser round trip, and every class of bad input with its exact message and line.
 * Profile files are read from profiles/ relative to the current directory (make test runs
 * from the top of the tree); those tests say so and pass when run from elsewhere. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dmacoh/platform.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

static int parse_str(const char *text, struct dc_platform *p, char *err, size_t errlen)
{
	return dc_platform_parse(text, strlen(text), "soc.ini", p, err, errlen);
}

/* Two profiles are equal when their texts are: the writer prints every field that means
 * anything (levels past n_levels do not). */
static bool same_profile(const struct dc_platform *a, const struct dc_platform *b)
{
	char ta[4096], tb[4096];
	int na = dc_platform_format(a, ta, sizeof(ta));
	int nb = dc_platform_format(b, tb, sizeof(tb));
	if (na <= 0 || nb <= 0 || (size_t)na >= sizeof(ta) || (size_t)nb >= sizeof(tb))
		return false;
	if (strcmp(ta, tb)) {
		dct_log("--- a\n%s--- b\n%s", ta, tb);
		return false;
	}
	return true;
}

DC_TEST(platform_builtin_pc)
{
	struct dc_platform p;
	memset(&p, 0xa5, sizeof(p));
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	CHECK(!strcmp(p.name, "pc"));
	CHECK_EQ(p.coherency, DC_COHERENT);
	CHECK_EQ(p.seed, 1);
	CHECK_EQ(p.phys_size, 8 * GIB);
	CHECK_EQ(p.va_size, 64 * GIB);
	CHECK_EQ(p.line_size, 64);
	CHECK_EQ(p.n_levels, 2);
	CHECK_EQ(p.level[0].size, 32 * KIB);
	CHECK_EQ(p.level[0].ways, 8);
	CHECK_EQ(p.level[0].repl, DC_REPL_LRU);
	CHECK_EQ(p.level[1].size, 1 * MIB);
	CHECK_EQ(p.level[1].ways, 16);
	CHECK_EQ(p.level[1].repl, DC_REPL_LRU);
	CHECK_EQ(p.level[2].size, 0);
	CHECK(p.adv.random_evict == 0.0);
	CHECK(!p.adv.evict_dirty_after_dma);
	CHECK_EQ(p.adv.prefetch_lines, 0);
	CHECK(p.adv.speculative_fill == 0.0);
	CHECK_EQ(p.sysdma_chunk, 16);
	CHECK_EQ(p.sysdma_depth, 4);
	CHECK(p.sysdma_wait_full);
	CHECK_EQ(p.sysdma_addr_bits, 24);
	CHECK_EQ(p.sysdma_bw, 4000000);
	CHECK_EQ(p.bm_addr_bits, 32);
	CHECK_EQ(p.bridge_posted, 256);
	CHECK_EQ(p.map_registers, 16);
	CHECK_EQ(p.bm_bw, 1000000000);
	CHECK_EQ(dc_platform_sets(&p, 0), 64);
	CHECK_EQ(dc_platform_sets(&p, 1), 1024);
}

DC_TEST(platform_builtin_noncoherent)
{
	struct dc_platform p, pc;
	CHECK_EQ(dc_platform_builtin("noncoherent", &p), DC_OK);
	CHECK_EQ(dc_platform_builtin("pc", &pc), DC_OK);
	CHECK(!strcmp(p.name, "noncoherent"));
	CHECK_EQ(p.coherency, DC_NONCOHERENT);
	CHECK(p.adv.random_evict == 0.001);
	CHECK(p.adv.evict_dirty_after_dma);
	CHECK_EQ(p.adv.prefetch_lines, 0);
	CHECK(p.adv.speculative_fill == 0.0);
	/* Everything else is the PC's. */
	pc.coherency = DC_NONCOHERENT;
	pc.adv = p.adv;
	strcpy(pc.name, p.name);
	CHECK(same_profile(&p, &pc));
}

DC_TEST(platform_builtin_noncoherent_prefetch)
{
	struct dc_platform p, nc;
	CHECK_EQ(dc_platform_builtin("noncoherent-prefetch", &p), DC_OK);
	CHECK_EQ(dc_platform_builtin("noncoherent", &nc), DC_OK);
	CHECK(!strcmp(p.name, "noncoherent-prefetch"));
	CHECK_EQ(p.coherency, DC_NONCOHERENT);
	CHECK(p.adv.random_evict == 0.001);
	CHECK(p.adv.evict_dirty_after_dma);
	CHECK_EQ(p.adv.prefetch_lines, 2);
	CHECK(p.adv.speculative_fill == 0.25);
	nc.adv = p.adv;
	strcpy(nc.name, p.name);
	CHECK(same_profile(&p, &nc));
}

DC_TEST(platform_builtin_names_and_unknown)
{
	const char *const *names = dc_platform_builtin_names();
	size_t n = 0;
	for (; names[n]; n++) {
		struct dc_platform p;
		char err[256];
		CHECK_EQ(dc_platform_builtin(names[n], &p), DC_OK);
		CHECK(!strcmp(p.name, names[n]));
		CHECK_MSG(dc_platform_validate(&p, err, sizeof(err)) == DC_OK, "%s: %s", names[n],
		          err);
	}
	CHECK_EQ(n, 4);
	struct dc_platform p;
	memset(&p, 0x5a, sizeof(p));
	CHECK_EQ(dc_platform_builtin("vax", &p), DC_ERR_NOTFOUND);
	CHECK_EQ(p.seed, 0x5a5a5a5a5a5a5a5aull);
	CHECK_EQ(dc_platform_builtin(NULL, &p), DC_ERR_INVAL);
}

DC_TEST(platform_enum_names)
{
	CHECK(!strcmp(dc_coherency_name(DC_COHERENT), "coherent"));
	CHECK(!strcmp(dc_coherency_name(DC_NONCOHERENT), "noncoherent"));
	CHECK(!strcmp(dc_coherency_name((enum dc_coherency)7), "?"));
	CHECK(!strcmp(dc_repl_name(DC_REPL_LRU), "lru"));
	CHECK(!strcmp(dc_repl_name(DC_REPL_RANDOM), "random"));
	CHECK(!strcmp(dc_err_name(DC_ERR_PARSE), "parse error"));
	CHECK(!strcmp(dc_err_name(DC_OK), "ok"));
	CHECK(!strcmp(dc_err_name(-100), "unknown error"));
	CHECK(!strcmp(dc_err_name(3), "unknown error"));
	CHECK(!strcmp(dc_dir_name(DC_DIR_FROM_DEVICE), "from-device"));
}

static const char good_file[] = "; a SoC\n"
                                "[platform]\n"
                                "base = noncoherent        ; start from a built-in\n"
                                "name = my-soc\n"
                                "seed = 0x2a\n"
                                "\n"
                                "[memory]\n"
                                "phys_size = 4G\n"
                                "va_size = 16GiB\n"
                                "[cache]\n"
                                "line_size = 32\n"
                                "[cache.L1]\n"
                                "size = 16K\n"
                                "ways = 4\n"
                                "replacement = RANDOM\n"
                                "[cache.L2]\n"
                                "[cache.L3]\n"
                                "size = 4M\n"
                                "ways = 16\n"
                                "# hash comments too\n"
                                "[adversary]\n"
                                "evict_dirty_after_dma = off\n"
                                "prefetch_lines = 3\n"
                                "speculative_fill = 1e-2\n"
                                "[sysdma]\r\n"
                                "chunk = 8\r\n"
                                "depth = 2\n"
                                "wait_full = false\n"
                                "addr_bits = 32\n"
                                "bandwidth = 2M\n"
                                "[busmaster]\n"
                                "addr_bits: 64\n"
                                "bridge_posted = 1K\n"
                                "map_registers = 64\n"
                                "bandwidth = 250M";

DC_TEST(platform_parse_good_file)
{
	struct dc_platform p;
	char err[256] = "";
	CHECK_MSG(parse_str(good_file, &p, err, sizeof(err)) == DC_OK, "%s", err);
	CHECK(!strcmp(p.name, "my-soc"));
	CHECK_EQ(p.coherency, DC_NONCOHERENT);
	CHECK_EQ(p.seed, 42);
	CHECK_EQ(p.phys_size, 4 * GIB);
	CHECK_EQ(p.va_size, 16 * GIB);
	CHECK_EQ(p.line_size, 32);
	CHECK_EQ(p.n_levels, 3);
	CHECK_EQ(p.level[0].size, 16 * KIB);
	CHECK_EQ(p.level[0].ways, 4);
	CHECK_EQ(p.level[0].repl, DC_REPL_RANDOM);
	/* An empty [cache.L2] keeps the base's L2 and makes room for L3. */
	CHECK_EQ(p.level[1].size, 1 * MIB);
	CHECK_EQ(p.level[1].ways, 16);
	CHECK_EQ(p.level[2].size, 4 * MIB);
	CHECK_EQ(p.level[2].ways, 16);
	CHECK_EQ(p.level[2].repl, DC_REPL_LRU);
	CHECK(p.adv.random_evict == 0.001); /* from the base */
	CHECK(!p.adv.evict_dirty_after_dma);
	CHECK_EQ(p.adv.prefetch_lines, 3);
	CHECK(p.adv.speculative_fill == 0.01);
	CHECK_EQ(p.sysdma_chunk, 8);
	CHECK_EQ(p.sysdma_depth, 2);
	CHECK(!p.sysdma_wait_full);
	CHECK_EQ(p.sysdma_addr_bits, 32);
	CHECK_EQ(p.sysdma_bw, 2000000);
	CHECK_EQ(p.bm_addr_bits, 64);
	CHECK_EQ(p.bridge_posted, 1024);
	CHECK_EQ(p.map_registers, 64);
	CHECK_EQ(p.bm_bw, 250000000);
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_OK);
}

DC_TEST(platform_parse_defaults)
{
	struct dc_platform p, pc;
	char err[256] = "";
	/* Empty text (or only comments) describes nothing: refused, as a run on it would test
	 * the default machine. */
	CHECK_EQ(dc_platform_parse("", 0, "boards/tiny.ini", &p, err, sizeof(err)), DC_ERR_PARSE);
	CHECK_MSG(!strncmp(err, "boards/tiny.ini: empty profile: no section and no key", 53), "%s",
	          err);
	CHECK_EQ(dc_platform_parse("; x\n\n", 5, "a.ini", &p, err, sizeof(err)), DC_ERR_PARSE);
	/* A lone [platform]: the PC, named after the file. */
	CHECK_EQ(dc_platform_parse("[platform]\n", 11, "boards/tiny.ini", &p, err, sizeof(err)),
	         DC_OK);
	CHECK_EQ(dc_platform_builtin("pc", &pc), DC_OK);
	CHECK(!strcmp(p.name, "tiny"));
	strcpy(pc.name, "tiny");
	CHECK(same_profile(&p, &pc));
	/* A file name that is no valid profile name leaves the base's. */
	CHECK_EQ(dc_platform_parse("[platform]\n", 11, "my board.ini", &p, err, sizeof(err)),
	         DC_OK);
	CHECK(!strcmp(p.name, "pc"));
	CHECK_EQ(dc_platform_parse("[platform]\n", 11, NULL, &p, err, sizeof(err)), DC_OK);
	CHECK(!strcmp(p.name, "pc"));
	/* A lone [cache.L1] drops the base's L2. */
	CHECK_EQ(parse_str("[cache.L1]\nsize = 64K\n", &p, err, sizeof(err)), DC_OK);
	CHECK_EQ(p.n_levels, 1);
	CHECK_EQ(p.level[0].size, 64 * KIB);
	CHECK_EQ(p.level[0].ways, 8);
	CHECK_EQ(p.level[1].size, 0);
	/* A UTF-8 byte order mark is allowed. */
	CHECK_EQ(parse_str("\xEF\xBB\xBF[platform]\nseed = 7\n", &p, err, sizeof(err)), DC_OK);
	CHECK_EQ(p.seed, 7);
}

/* Writer then parser gives the same profile, and the same text again. */
static bool round_trip(const struct dc_platform *p)
{
	char text[4096], err[256] = "";
	struct dc_platform q;
	int n = dc_platform_format(p, text, sizeof(text));
	if (n <= 0 || (size_t)n >= sizeof(text))
		return false;
	if (dc_platform_format(p, NULL, 0) != n)
		return false;
	if (dc_platform_parse(text, (size_t)n, "show.ini", &q, err, sizeof(err)) != DC_OK) {
		dct_log("%s\n%s", err, text);
		return false;
	}
	return same_profile(p, &q);
}

DC_TEST(platform_format_round_trip)
{
	const char *const *names = dc_platform_builtin_names();
	for (size_t i = 0; names[i]; i++) {
		struct dc_platform p;
		CHECK_EQ(dc_platform_builtin(names[i], &p), DC_OK);
		CHECK_MSG(round_trip(&p), "%s", names[i]);
	}
	struct dc_platform p;
	char err[256] = "";
	CHECK_MSG(parse_str(good_file, &p, err, sizeof(err)) == DC_OK, "%s", err);
	CHECK(round_trip(&p));
	/* Values the suffixes cannot shorten, and probabilities that need all 17 digits. */
	p.phys_size = 32 * MIB + 4096;
	p.sysdma_bw = 1234567;
	p.bm_bw = 1;
	p.seed = UINT64_MAX;
	p.adv.random_evict = 0.1 + 0.2;
	p.adv.speculative_fill = 5e-324;
	CHECK(round_trip(&p));
}

DC_TEST(platform_format_truncates_like_snprintf)
{
	struct dc_platform p;
	char small[16];
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	int n = dc_platform_format(&p, small, sizeof(small));
	CHECK(n > (int)sizeof(small));
	CHECK_EQ(strlen(small), sizeof(small) - 1);
	CHECK(!strncmp(small, "[platform]\nname", 15));
}

static const char *repo_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s", rel);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

DC_TEST(platform_profile_files_match_builtins)
{
	const char *const *names = dc_platform_builtin_names();
	for (size_t i = 0; names[i]; i++) {
		char rel[128], path[256], err[256] = "";
		struct dc_platform f, b;
		snprintf(rel, sizeof(rel), "profiles/%s.ini", names[i]);
		if (!repo_path(rel, path, sizeof(path))) {
			printf("(skipped: %s not found from the current directory) ", rel);
			return;
		}
		CHECK_MSG(dc_platform_load(path, &f, err, sizeof(err)) == DC_OK, "%s", err);
		CHECK_EQ(dc_platform_builtin(names[i], &b), DC_OK);
		CHECK_MSG(same_profile(&f, &b), "%s differs from the built-in", rel);
	}
}

DC_TEST(platform_profile_arm_soc)
{
	char path[256], err[256] = "";
	struct dc_platform p;
	if (!repo_path("profiles/arm-soc.ini", path, sizeof(path))) {
		printf("(skipped: profiles/arm-soc.ini not found) ");
		return;
	}
	CHECK_MSG(dc_platform_load(path, &p, err, sizeof(err)) == DC_OK, "%s", err);
	CHECK(!strcmp(p.name, "arm-soc"));
	CHECK_EQ(p.coherency, DC_NONCOHERENT);
	CHECK_EQ(p.n_levels, 3);
	CHECK_EQ(p.line_size, 64);
	CHECK_EQ(p.level[0].size, 32 * KIB);
	CHECK_EQ(p.level[0].ways, 4);
	CHECK_EQ(p.level[1].size, 256 * KIB);
	CHECK_EQ(p.level[1].ways, 8);
	CHECK_EQ(p.level[2].size, 2 * MIB);
	CHECK_EQ(p.level[2].ways, 16);
	CHECK_EQ(p.level[2].repl, DC_REPL_RANDOM);
	CHECK(round_trip(&p));
}

DC_TEST(platform_load_errors)
{
	struct dc_platform p;
	char err[256] = "";
	memset(&p, 0x11, sizeof(p));
	CHECK_EQ(dc_platform_load("/nonexistent/x.ini", &p, err, sizeof(err)), DC_ERR_IO);
	CHECK_MSG(!strcmp(err, "/nonexistent/x.ini: cannot open: No such file or directory"), "%s",
	          err);
	CHECK_EQ(dc_platform_load("/", &p, err, sizeof(err)), DC_ERR_IO);
	CHECK_MSG(!strcmp(err, "/: cannot read: Is a directory"), "%s", err);
	CHECK_EQ(p.seed, 0x1111111111111111ull);

	char tmpl[] = "/tmp/dmacoh-test-XXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	const char text[] = "[platform]\nseed = 3\n[memory]\nphys_size = 3\n";
	CHECK_EQ(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	int r = dc_platform_load(tmpl, &p, err, sizeof(err));
	char want[256];
	snprintf(want, sizeof(want),
	         "%s:4: [memory] phys_size: 3 is out of range (32M..17179869180K)", tmpl);
	unlink(tmpl);
	CHECK_EQ(r, DC_ERR_PARSE);
	CHECK_MSG(!strcmp(err, want), "%s", err);
	CHECK_EQ(p.seed, 0x1111111111111111ull);
}

/* Each bad input, the line it fails on, and the exact message. */
static const struct bad {
	const char *text;
	const char *msg;
} bad[] = {
    /* syntax */
    {"[platform]\nname\n", "soc.ini:2: expected '[section]' or 'key = value', got 'name'"},
    {"[platform\n", "soc.ini:1: unterminated section header '[platform'"},
    {"[platform ; x]\n", "soc.ini:1: unterminated section header '[platform ; x]'"},
    {"[platform] seed = 1\n", "soc.ini:1: unexpected text after the section header: 'seed = 1'"},
    {"[platform]\nseed = 1\n  name = x\n",
     "soc.ini:3: indented line: inih would read it as the continuation of the previous value; "
     "multi-line values are not supported, remove the indentation"},
    {"[platform]\nseed = 1\0\n", "soc.ini:2: NUL byte in the line (not a text file?)"},
    /* sections and keys */
    {"\n\n[cahce]\n",
     "soc.ini:3: unknown section [cahce] (expected one of [platform], [memory], [cache], "
     "[cache.L1], [cache.L2], [cache.L3], [adversary], [sysdma], [busmaster])"},
    {"[cache.L4]\n",
     "soc.ini:1: unknown section [cache.L4] (expected one of [platform], [memory], [cache], "
     "[cache.L1], [cache.L2], [cache.L3], [adversary], [sysdma], [busmaster])"},
    {"[sysdma]\n[memory]\n[sysdma]\n", "soc.ini:3: duplicate section [sysdma] (first at line 1)"},
    {"seed = 1\n", "soc.ini:1: key 'seed' outside any section (put it under [platform], ...)"},
    {"[cache.L1]\nassoc = 4\n",
     "soc.ini:2: [cache.L1] unknown key 'assoc' (expected one of size, ways, replacement)"},
    {"[cache.L1]\nways = 4\n; again\nways = 8\n",
     "soc.ini:4: [cache.L1] ways: duplicate key (first set at line 2)"},
    {"[platform]\nname = x\nbase = pc\n",
     "soc.ini:3: [platform] base: must be the first key of the file, it replaces every value "
     "set before it"},
    {"[platform]\nbase = vax\n",
     "soc.ini:2: [platform] base: unknown built-in profile 'vax' (expected one of pc, "
     "noncoherent, noncoherent-prefetch, arm-soc)"},
    /* malformed values */
    {"[cache.L1]\nways = four\n",
     "soc.ini:2: [cache.L1] ways: expected a positive integer, got 'four'"},
    {"[cache.L1]\nways = -1\n",
     "soc.ini:2: [cache.L1] ways: expected a positive integer, got '-1'"},
    {"[cache.L1]\nways =\n", "soc.ini:2: [cache.L1] ways: expected a positive integer, got ''"},
    {"[adversary]\nprefetch_lines = 2 lines\n",
     "soc.ini:2: [adversary] prefetch_lines: expected a non-negative integer, got '2 lines'"},
    {"[memory]\nphys_size = 4X\n",
     "soc.ini:2: [memory] phys_size: expected a size in bytes (suffix K, M, G or T), got '4X'"},
    {"[memory]\nphys_size = 0x1000\n",
     "soc.ini:2: [memory] phys_size: expected a size in bytes (suffix K, M, G or T), got "
     "'0x1000'"},
    {"[sysdma]\nbandwidth = 4MiB\n",
     "soc.ini:2: [sysdma] bandwidth: expected bytes per second (suffix K, M or G: x1000), got "
     "'4MiB'"},
    {"[sysdma]\nwait_full = maybe\n",
     "soc.ini:2: [sysdma] wait_full: expected yes or no (or true/false, on/off, 1/0), got "
     "'maybe'"},
    {"[platform]\ncoherency = snoopy\n",
     "soc.ini:2: [platform] coherency: expected coherent or noncoherent, got 'snoopy'"},
    {"[cache.L1]\nreplacement = fifo\n",
     "soc.ini:2: [cache.L1] replacement: expected lru or random, got 'fifo'"},
    {"[adversary]\nrandom_evict = nan\n",
     "soc.ini:2: [adversary] random_evict: expected a probability from 0 to 1, got 'nan'"},
    {"[adversary]\nrandom_evict = 0x1p-3\n",
     "soc.ini:2: [adversary] random_evict: expected a probability from 0 to 1, got '0x1p-3'"},
    {"[adversary]\nrandom_evict = .\n",
     "soc.ini:2: [adversary] random_evict: expected a probability from 0 to 1, got '.'"},
    {"[platform]\nname = my soc\n",
     "soc.ini:2: [platform] name: expected 1 to 63 characters from A-Z a-z 0-9 . _ + -, got 'my "
     "soc'"},
    {"[platform]\nname = "
     "a123456789012345678901234567890123456789012345678901234567890123\n",
     "soc.ini:2: [platform] name: expected 1 to 63 characters from A-Z a-z 0-9 . _ + -, got "
     "'a123456789012345678901234567890123456789...'"},
    /* out of range, overflow */
    {"[platform]\nseed = 18446744073709551616\n",
     "soc.ini:2: [platform] seed: 18446744073709551616 is out of range "
     "(0..18446744073709551615)"},
    {"[memory]\nphys_size = 17179869184G\n",
     "soc.ini:2: [memory] phys_size: 17179869184G is out of range (32M..17179869180K)"},
    {"[memory]\nphys_size = 16M\n",
     "soc.ini:2: [memory] phys_size: 16M is out of range (32M..17179869180K)"},
    {"[memory]\nva_size = 17T\n",
     "soc.ini:2: [memory] va_size: 17T is out of range (32M..17179869180K)"},
    /* 16T passed here and then failed to build (the machine numbers pages in 32 bits) */
    {"[memory]\nphys_size = 16T\n",
     "soc.ini:2: [memory] phys_size: 16T is out of range (32M..17179869180K)"},
    {"[memory]\nva_size = 16T\n",
     "soc.ini:2: [memory] va_size: 16T is out of range (32M..17179869180K)"},
    {"[platform]\nseed = +5\n",
     "soc.ini:2: [platform] seed: expected a non-negative integer, got '+5'"},
    {"[memory]\nphys_size = 33554433\n",
     "soc.ini:2: [memory] phys_size: 33554433 is not a multiple of 4K (the page size)"},
    {"[cache]\nline_size = 48\n", "soc.ini:2: [cache] line_size: 48 is not a power of two"},
    {"[cache]\nline_size = 4\n", "soc.ini:2: [cache] line_size: 4 is out of range (8..4K)"},
    {"[cache]\nline_size = 8K\n", "soc.ini:2: [cache] line_size: 8K is out of range (8..4K)"},
    {"[cache.L1]\nways = 0\n", "soc.ini:2: [cache.L1] ways: 0 is out of range (1..256)"},
    {"[cache.L1]\nways = 4294967296\n",
     "soc.ini:2: [cache.L1] ways: 4294967296 is out of range (1..256)"},
    {"[sysdma]\nchunk = 4\n", "soc.ini:2: [sysdma] chunk: 4 is out of range (8..64K)"},
    {"[sysdma]\nchunk = 64K\ndepth = 512\n",
     "soc.ini:3: [sysdma] depth: an internal buffer of 512 chunks of 65536 bytes is larger than "
     "the controller's 16 MiB"},
    {"[sysdma]\nchunk = 24\n", "soc.ini:2: [sysdma] chunk: 24 is not a power of two"},
    {"[sysdma]\ndepth = 0\n", "soc.ini:2: [sysdma] depth: 0 is out of range (1..4096)"},
    {"[sysdma]\naddr_bits = 15\n", "soc.ini:2: [sysdma] addr_bits: 15 is out of range (16..64)"},
    {"[busmaster]\naddr_bits = 65\n",
     "soc.ini:2: [busmaster] addr_bits: 65 is out of range (16..64)"},
    /* Accepted by 'platform check' once, then refused when the device was built. */
    {"[busmaster]\naddr_bits = 36\n",
     "soc.ini:2: [busmaster] addr_bits: 36: bus masters address 32 or 64 bits"},
    {"[busmaster]\nmap_registers = 0\n",
     "soc.ini:2: [busmaster] map_registers: 0 is out of range (1..1048576)"},
    {"[busmaster]\nbandwidth = 0\n", "soc.ini:2: [busmaster] bandwidth: 0 is out of range (1..1T)"},
    {"[adversary]\nspeculative_fill = 1.5\n",
     "soc.ini:2: [adversary] speculative_fill: 1.5 is out of range (0..1)"},
    {"[adversary]\nrandom_evict = -0.1\n",
     "soc.ini:2: [adversary] random_evict: -0.1 is out of range (0..1)"},
    {"[adversary]\nprefetch_lines = 512\n",
     "soc.ini:2: [adversary] prefetch_lines: 512 is out of range (0..511)"},
    /* cross-key validation, pinned on a key the file set */
    {"[cache.L1]\nsize = 48K\n",
     "soc.ini:2: [cache.L1] size: L1 of 48K with 8 ways of 64-byte lines: size / (line_size x "
     "ways) must be a power of two"},
    {"[cache.L1]\n[cache.L2]\nways = 3\n",
     "soc.ini:3: [cache.L2] ways: L2 of 1M with 3 ways of 64-byte lines: size / (line_size x "
     "ways) must be a power of two"},
    {"[cache.L1]\nsize = 256\n",
     "soc.ini:2: [cache.L1] size: L1 of 256 with 8 ways of 64-byte lines: size / (line_size x "
     "ways) must be a power of two"},
    /* levels */
    {"[cache.L1]\n[cache.L3]\nsize = 4M\nways = 16\n",
     "soc.ini:2: section [cache.L3] without [cache.L2]: the [cache.Ln] sections describe "
     "every level, from L1 without gaps (an empty [cache.L2] keeps the base's)"},
    {"[cache.L2]\n",
     "soc.ini:1: section [cache.L2] without [cache.L1]: the [cache.Ln] sections describe "
     "every level, from L1 without gaps (an empty [cache.L1] keeps the base's)"},
    {"[cache.L1]\n[cache.L2]\n[cache.L3]\nways = 4\n",
     "soc.ini:3: [cache.L3] size: missing (the base profile has 2 cache levels, so a new level "
     "needs size and ways)"},
    {"[cache.L1]\n[cache.L2]\n[cache.L3]\nsize = 4M\n",
     "soc.ini:3: [cache.L3] ways: missing (the base profile has 2 cache levels, so a new level "
     "needs size and ways)"},
};

DC_TEST(platform_parse_bad_inputs)
{
	for (size_t i = 0; i < DC_ARRAY_SIZE(bad); i++) {
		struct dc_platform p;
		char err[512] = "";
		memset(&p, 0x77, sizeof(p));
		/* The NUL case needs its length: every text ends in "\n". */
		size_t len = strlen(bad[i].text);
		if (strstr(bad[i].msg, "NUL byte"))
			len += 2;
		int r = dc_platform_parse(bad[i].text, len, "soc.ini", &p, err, sizeof(err));
		CHECK_MSG(r == DC_ERR_PARSE, "case %zu: returned %d (%s)", i, r, err);
		CHECK_MSG(!strcmp(err, bad[i].msg), "case %zu:\n      got  %s\n      want %s", i,
		          err, bad[i].msg);
		CHECK_MSG(p.seed == 0x7777777777777777ull, "case %zu: *p changed", i);
	}
}

DC_TEST(platform_parse_long_line)
{
	char text[400], err[256] = "";
	struct dc_platform p;
	snprintf(text, sizeof(text), "[platform]\n; %0300d\n", 0);
	CHECK_EQ(parse_str(text, &p, err, sizeof(err)), DC_ERR_PARSE);
	CHECK_MSG(!strcmp(err, "soc.ini:2: line too long (more than 197 characters)"), "%s", err);

	size_t big = (1u << 20) + 1;
	char *blank = malloc(big);
	CHECK(blank);
	memset(blank, '\n', big);
	int r = dc_platform_parse(blank, big, "soc.ini", &p, err, sizeof(err));
	bool msg_ok = !strcmp(err, "soc.ini: too large for a profile (more than 1048576 bytes)");
	memcpy(blank, "[platform]", 10);
	int r_ok = dc_platform_parse(blank, big - 1, "soc.ini", &p, err, sizeof(err));
	free(blank);
	CHECK_EQ(r, DC_ERR_PARSE);
	CHECK(msg_ok);
	CHECK_EQ(r_ok, DC_OK);
}

DC_TEST(platform_parse_first_error_wins)
{
	struct dc_platform p;
	char err[256] = "";
	CHECK_EQ(parse_str("[sysdma]\nchunk = 3\n[nope]\n", &p, err, sizeof(err)), DC_ERR_PARSE);
	CHECK_MSG(!strcmp(err, "soc.ini:2: [sysdma] chunk: 3 is out of range (8..64K)"), "%s", err);
	/* A small buffer gets a cut but terminated message. */
	char small[12];
	CHECK_EQ(parse_str("[x]\n", &p, small, sizeof(small)), DC_ERR_PARSE);
	CHECK(!strcmp(small, "soc.ini:1: "));
	CHECK_EQ(parse_str("[x]\n", &p, NULL, 0), DC_ERR_PARSE);
}

DC_TEST(platform_validate_names_the_key)
{
	struct dc_platform p;
	char err[256] = "";
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.level[1].ways = 0;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "[cache.L2] ways: 0 is out of range (1..256)"), "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.n_levels = 4;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "n_levels: 4 is out of range (1..3)"), "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.level[2].ways = 0; /* past n_levels: does not matter */
	p.name[0] = 0;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(
	    !strcmp(err, "[platform] name: must be 1 to 63 characters from A-Z a-z 0-9 . _ + -"),
	    "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.adv.speculative_fill = 0.0 / 0.0;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "[adversary] speculative_fill: nan is out of range (0..1)") ||
	              !strcmp(err, "[adversary] speculative_fill: -nan is out of range (0..1)"),
	          "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.coherency = (enum dc_coherency)9;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "[platform] coherency: not a coherency mode"), "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.sysdma_bw = 0;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "[sysdma] bandwidth: 0 is out of range (1..1T)"), "%s", err);

	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	p.level[0].size = 3 * 64 * 8;
	CHECK_EQ(dc_platform_validate(&p, err, sizeof(err)), DC_ERR_INVAL);
	CHECK_MSG(!strcmp(err, "[cache.L1] size: L1 of 1536 with 8 ways of 64-byte lines: size / "
	                       "(line_size x ways) must be a power of two"),
	          "%s", err);
	CHECK_EQ(dc_platform_validate(NULL, err, sizeof(err)), DC_ERR_INVAL);
}

/* A fault that involves several keys is pinned on the first of size, ways, line_size that
 * the file set, and on that key's line. */
DC_TEST(platform_parse_cross_key_blame)
{
	struct dc_platform p;
	char err[256] = "";
	CHECK_EQ(parse_str("[cache.L1]\n[cache.L2]\nways = 3\n[cache]\nline_size = 4K\n", &p, err,
	                   sizeof(err)),
	         DC_ERR_PARSE);
	CHECK_MSG(!strcmp(err, "soc.ini:3: [cache.L2] ways: L2 of 1M with 3 ways of 4096-byte "
	                       "lines: size / (line_size x ways) must be a power of two"),
	          "%s", err);
}
