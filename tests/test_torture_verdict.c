/* torture's reading of one run (tools/torture_verdict.c): the report and the summary. */
#include <stdio.h>
#include <string.h>

#include "../tools/torture.h"
#include "dctest.h"

/* A run whose driver crashed in the supervised child (torture seed 11, run 526:
 * sysdma-bug-A03 under --schedule random) has a summary without an IRPs line: the counts
 * never came back.  It was "bad report"; it is a stopped run, judged by its findings. */
DC_TEST(torture_verdict_reads_a_run_stopped_by_a_crash)
{
	static const char out[] = "{\n  \"findings\": [\n    { \"rule\": \"A03\" },\n"
	                          "    { \"rule\": \"X01\" }\n  ]\n}\n";
	static const char err[] =
	    "dmacoh run: sysdma-bug-A03 on sysblk, platform noncoherent, seed 585887\n"
	    "  run        stopped: X01 driver-crash\n"
	    "  data       not verified: the run stopped before the workload ended\n"
	    "  findings   A03 x40, X01 x1\n";
	struct tt_result res;
	memset(&res, 0xa5, sizeof(res));
	tt_parse_output(&res, out, err);
	CHECK(res.parsed);
	CHECK(res.stopped);
	CHECK_EQ(res.irps, 0);
	CHECK_EQ(res.hung, 0);
	CHECK(strstr(res.rules, "A03") && strstr(res.rules, "X01"));
	/* Judged as the twin it is: caught by A03. */
	struct tt_run run;
	memset(&run, 0, sizeof(run));
	struct tt_driver drv;
	memset(&drv, 0, sizeof(drv));
	snprintf(drv.name, sizeof(drv.name), "sysdma-bug-A03");
	snprintf(drv.rule, sizeof(drv.rule), "A03");
	res.exit_code = 1;
	res.signal = 0;
	res.timed_out = false;
	tt_judge(&res, &run, &drv, false);
	CHECK(!res.failure);
	CHECK(!strcmp(res.verdict, "caught"));
	/* As a correct driver the crash is a failure, not a bad report. */
	tt_judge(&res, &run, &drv, true);
	CHECK(res.failure);
	CHECK(!strcmp(res.cls, "crash"));
	/* A summary that is neither is still a bad report. */
	tt_parse_output(&res, out, "dmacoh run: x\n");
	CHECK(!res.parsed);
}

/* busmaster-bug-A04 frees the adapter's whole register count: wrong only for a request that
 * needs fewer.  On a generated profile with 256 map registers the driver's adapter still gets
 * 33 (it asks for one SG table of bmblk's 32 pages), so requests of about 70 pages take all
 * of them and cannot trigger the bug (torture seed 2027, run 4296 under --schedule pct was a
 * false "twin missed"); one-page requests can. */
DC_TEST(torture_verdict_a04_counts_the_adapter_s_registers_not_the_platform_s)
{
	struct tt_driver drv;
	memset(&drv, 0, sizeof(drv));
	snprintf(drv.name, sizeof(drv.name), "busmaster-bug-A04");
	snprintf(drv.rule, sizeof(drv.rule), "A04");
	struct tt_run run;
	memset(&run, 0, sizeof(run));
	run.map_registers = 256;
	run.size_min = 278016;
	run.size_max = 286208;
	struct tt_result res;
	memset(&res, 0, sizeof(res));
	res.parsed = true;
	res.exit_code = 0;
	res.irps = 75;
	res.reads = 25;
	res.writes = 48;
	tt_judge(&res, &run, &drv, false);
	CHECK(!res.failure);
	CHECK(!strcmp(res.verdict, "not-triggered"));
	run.size_min = run.size_max = 4096;
	tt_judge(&res, &run, &drv, false);
	CHECK(res.failure);
	CHECK(!strcmp(res.cls, "twin missed"));
}
