/* dmacoh run as a user meets it: a buggy twin's report and summary (golden), exit codes,
 * machine-readable output, and one clear line for every input error. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"

static bool golden_equal(const char *path, const char *got, size_t n)
{
	static char gold[16384];
	FILE *g = fopen(path, "r");
	if (!g)
		return false;
	size_t gn = fread(gold, 1, sizeof(gold), g);
	fclose(g);
	return gn == n && !memcmp(gold, got, n);
}

DC_TEST(cli_run_twin_report_and_summary)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "sysdma-bug-C07",
	                                             "--platform", "noncoherent", "--workload",
	                                             "count=6,size=4096-16384", "--deterministic",
	                                             NULL}));
	CHECK_EQ(r.status, 1);
	if (!golden_equal("tests/golden/run-sysdma-bug-C07.txt", r.out, r.out_len))
		dct_log("got:\n%s\n", r.out);
	CHECK_MSG(golden_equal("tests/golden/run-sysdma-bug-C07.txt", r.out, r.out_len),
	          "summary differs from tests/golden/run-sysdma-bug-C07.txt");
	/* The report: the rule, the driver's source lines (the function name depends on what
	 * the compiler inlined), the verdict. */
	static const char *const want[] = {
	    "==dmacoh== ERROR: C07 missing-adapter-flush: MapTransfer of 12800 bytes",
	    "[mapped at examples/drivers/sysdma.c:302:",
	    "[freed at examples/drivers/sysdma.c:426:SysdmaFinish]",
	    "manifested: yes",
	    "guideline G3, G4, G5; Driver Verifier 0xE6 code 0x0D",
	    "==dmacoh== ERROR: R01 wrong-data: IRP 1 (read): 12760 bytes wrong",
	    "SUMMARY: dmacoh: 2 findings (2 errors, 0 warnings), 11 occurrences, 2 manifested"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_MSG(strstr(r.err, want[i]), "report lacks '%s':\n%s", want[i], r.err);
}

DC_TEST(cli_run_correct_driver_is_clean_exit_0)
{
	static const char *const drivers[] = {"sysdma", "busmaster", "ring", "pio"};
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		static struct dct_run r;
		CHECK(dct_run_tool(&r,
		                   (const char *const[]){
		                       "run", "--driver", drivers[i], "--workload",
		                       strcmp(drivers[i], "ring") ? "count=30,fault=7" : "count=30",
		                       "--deterministic", NULL}));
		CHECK_MSG(r.status == 0, "%s: exit %d\n%s%s", drivers[i], r.status, r.out, r.err);
		CHECK_MSG(strstr(r.out, "every byte verified") && strstr(r.out, "findings   none"),
		          "%s:\n%s", drivers[i], r.out);
	}
}

DC_TEST(cli_run_json_report_parses)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "busmaster-bug-C02",
	                                             "--format", "json", "--workload", "count=8",
	                                             "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	json_object *j = json_tokener_parse(r.out);
	CHECK_MSG(j, "not JSON:\n%s", r.out);
	json_object *f, *first, *rule;
	CHECK(json_object_object_get_ex(j, "findings", &f) && json_object_array_length(f) == 1);
	first = json_object_array_get_idx(f, 0);
	CHECK(json_object_object_get_ex(first, "rule", &rule));
	CHECK(!strcmp(json_object_get_string(rule), "C02"));
	CHECK(json_object_object_get_ex(j, "summary", &f));
	json_object_put(j);
	CHECK(strstr(r.err, "dmacoh run: busmaster-bug-C02 on bmblk"));
}

DC_TEST(cli_run_input_errors_one_line_exit_2)
{
	static const struct {
		const char *args[10];
		const char *err;
	} cases[] = {
	    {{"run", NULL}, "dmacoh run: missing --driver NAME|FILE (see 'dmacoh list drivers')\n"},
	    {{"run", "--driver", "nosuch", NULL},
	     "dmacoh run: unknown driver 'nosuch' (see 'dmacoh list drivers')\n"},
	    {{"run", "--driver", "/nonexistent/x.so", NULL},
	     "dmacoh run: /nonexistent/x.so: no such driver module\n"},
	    {{"run", "--driver", "sysdma", "--workload", "count=ten", NULL},
	     "dmacoh run: workload: count=ten: not a plain decimal number (IRPs, 1 to 10^12)\n"},
	    {{"run", "--driver", "sysdma", "--workload", "colour=red", NULL},
	     "dmacoh run: workload: unknown key 'colour' (count, read, write, ioctl, size, align, "
	     "zone, outstanding, seed, fault, cancel)\n"},
	    {{"run", "--driver", "sysdma", "--workload", "size=9-3", NULL},
	     "dmacoh run: workload: size=9-3: need MIN <= MAX <= 64M\n"},
	    {{"run", "--driver", "sysdma", "--platform", "vax", NULL},
	     "dmacoh run: unknown platform 'vax' (see 'dmacoh list platforms')\n"},
	    {{"run", "--driver", "sysdma", "--platform", "/nonexistent.ini", NULL}, NULL},
	    {{"run", "--driver", "sysdma", "--device", "toaster", NULL},
	     "dmacoh run: unknown device 'toaster' (see 'dmacoh list devices')\n"},
	    {{"run", "--driver", "sysdma", "--workload", "size=2000000", NULL}, NULL},
	    {{"run", "--driver", "sysdma", "--bogus", NULL},
	     "dmacoh run: unknown argument '--bogus' (try 'dmacoh run --help')\n"},
	    {{"run", "--driver", "sysdma", "--format", "xml", NULL},
	     "dmacoh run: --format xml: expected text, json or sarif\n"},
	    /* strtoull took a leading blank and a minus sign (-1 as 2^64-1). */
	    {{"run", "--driver", "sysdma", "--seed", " -1", NULL},
	     "dmacoh run: --seed ' -1': expected a whole number\n"},
	    {{"run", "--driver", "sysdma", "--max-accesses", "+5", NULL},
	     "dmacoh run: --max-accesses '+5': expected a whole number (0: off)\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct dct_run r;
		CHECK(dct_run_tool(&r, cases[i].args));
		CHECK_MSG(r.status == 2, "case %zu: exit %d", i, r.status);
		CHECK_MSG(r.out_len == 0, "case %zu: stdout '%s'", i, r.out);
		char *nl = strchr(r.err, '\n');
		CHECK_MSG(nl && nl[1] == 0 && !strncmp(r.err, "dmacoh run: ", 12),
		          "case %zu: not one line: '%s'", i, r.err);
		if (cases[i].err)
			CHECK_MSG(!strcmp(r.err, cases[i].err), "case %zu: stderr '%s'", i, r.err);
	}
}

/* Found by a torture campaign: with speculative fills (prefetch_lines) in a cache so small that
 * the prefetch evicts the line just referenced, the line was referenced again as a read, so a
 * CPU store came back clean and was dropped at its eviction: wrong data on a correct driver,
 * on a coherent platform too. */
DC_TEST(cli_run_prefetch_evicting_the_stored_line_keeps_the_store)
{
	char path[] = "/tmp/dmacoh-prefetch-XXXXXX.ini";
	int fd = mkstemps(path, 4);
	CHECK(fd >= 0);
	static const char ini[] = "[platform]\nbase = pc\nname = tiny-prefetch\n"
	                          "coherency = coherent\n[cache]\nline_size = 128\n"
	                          "[cache.L1]\nsize = 4K\nways = 8\nreplacement = random\n"
	                          "[adversary]\nprefetch_lines = 4\n";
	CHECK(write(fd, ini, sizeof(ini) - 1) == (ssize_t)(sizeof(ini) - 1));
	close(fd);
	static struct dct_run r;
	bool ran = dct_run_tool(
	    &r,
	    (const char *const[]){"run", "--driver", "busmaster", "--platform", path, "--workload",
	                          "count=30,read=30,write=60,ioctl=10,size=39936-46592,"
	                          "align=3813,outstanding=1",
	                          "--seed", "189367", "--deterministic", NULL});
	unlink(path);
	CHECK(ran);
	CHECK_MSG(r.status == 0 && strstr(r.out, "every byte verified"), "exit %d\n%s%s", r.status,
	          r.out, r.err);
}

/* Regression: the test helper that runs the tool kept at most 15 arguments and silently
 * dropped the rest, so a long command line ran as a different one.  The argument that must
 * be refused comes 21st. */
DC_TEST(cli_run_test_helper_passes_every_argument)
{
	static struct dct_run r;
	CHECK(dct_run_tool(
	    &r, (const char *const[]){
	            "run",     "--driver", "busmaster",        "--workload", "count=2", "--quiet",
	            "--quiet", "--quiet",  "--quiet",          "--quiet",    "--quiet", "--quiet",
	            "--quiet", "--quiet",  "--quiet",          "--quiet",    "--quiet", "--quiet",
	            "--quiet", "--quiet",  "--no-such-option", NULL}));
	CHECK_MSG(r.status == 2 && strstr(r.err, "--no-such-option"), "exit %d\n%s", r.status,
	          r.err);
}
