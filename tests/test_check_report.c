/* The sanitizer's reports: the text form (ASan-like, deterministic: two runs give the same
 * bytes), JSON that parses with the fields the report promises, and SARIF 2.1.0 that validates
 * against the published schema (tests/data/sarif-schema-2.1.0.json) with python3-jsonschema
 * (skipped, saying so, when python3 or jsonschema is missing). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctest.h"
#include "test_check.h"

/* The report of a scenario run, in a malloc'ed buffer. */
static char *report(const char *platform, int bug, enum dc_report_format fmt, size_t *len)
{
	struct tc_env v;
	if (!tc_init(&v, platform, 1, NULL))
		return NULL;
	tc_scenario(&v, bug);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (f) {
		dc_check_write(v.c, f, fmt);
		fclose(f);
	}
	tc_fini(&v);
	if (len)
		*len = n;
	return buf;
}

DC_TEST(check_report_text_form)
{
	char *t = report("noncoherent", DC_RULE_C07, DC_FMT_TEXT, NULL);
	CHECK(t);
	dct_log("%s", t);
	bool ok = !strncmp(t,
	                   "==dmacoh== ERROR: C07 missing-adapter-flush: MapTransfer of 8192 bytes "
	                   "[mapped at tests/test_check_scn.c:",
	                   96) &&
	          strstr(t, ":drv_start_io] released by FreeMapRegisters without "
	                    "FlushAdapterBuffers [freed at tests/test_check_scn.c:") &&
	          strstr(t, "\n    at tests/test_check_scn.c:") &&
	          strstr(t, "\n    device #1, transfer #2, from-device, 8192 bytes affected\n") &&
	          strstr(t, "    mapped at tests/test_check_scn.c:") &&
	          strstr(t, "manifested: no\n") &&
	          strstr(t, "    guideline G3, G4, G5; Driver Verifier 0xE6 code 0x0D\n") &&
	          strstr(t, "    fix: Call FlushAdapterBuffers") &&
	          strstr(t, "\nSUMMARY: dmacoh: 1 finding (1 error, 0 warnings), 1 occurrence, 0 "
	                    "manifested\n");
	free(t);
	CHECK(ok);
	t = report("pc", -1, DC_FMT_TEXT, NULL);
	CHECK(t);
	ok = !strcmp(t, "==dmacoh== no findings\n");
	free(t);
	CHECK(ok);
}

DC_TEST(check_report_is_deterministic)
{
	for (int fmt = DC_FMT_TEXT; fmt <= DC_FMT_SARIF; fmt++) {
		size_t n1, n2;
		char *a =
		    report("noncoherent-prefetch", DC_RULE_C05, (enum dc_report_format)fmt, &n1);
		char *b =
		    report("noncoherent-prefetch", DC_RULE_C05, (enum dc_report_format)fmt, &n2);
		bool same = a && b && n1 == n2 && !memcmp(a, b, n1);
		free(a);
		free(b);
		CHECK_MSG(same, "two runs gave different %s reports",
		          dc_report_format_name((enum dc_report_format)fmt));
	}
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

DC_TEST(check_report_json_parses)
{
	char *t = report("noncoherent", DC_RULE_C01, DC_FMT_JSON, NULL);
	CHECK(t);
	json_object *root = json_tokener_parse(t);
	if (!root)
		dct_log("%s", t);
	free(t);
	CHECK(root);
	json_object *arr, *sum;
	bool ok = json_object_object_get_ex(root, "findings", &arr) &&
	          json_object_object_get_ex(root, "summary", &sum) &&
	          json_object_array_length(arr) == 1;
	if (ok) {
		json_object *f = json_object_array_get_idx(arr, 0), *loc, *sites, *man;
		ok = !strcmp(jstr(f, "rule"), "C01") &&
		     !strcmp(jstr(f, "name"), "stale-device-read") &&
		     !strcmp(jstr(f, "severity"), "error") &&
		     !strncmp(jstr(f, "message"), "C01 stale-device-read: device read 8192", 39) &&
		     jint(f, "transfer") == 1 && jint(f, "bytes") == 8192 &&
		     jint(f, "count") == 1 && !strcmp(jstr(f, "direction"), "to-device") &&
		     !strncmp(jstr(f, "va"), "0xffff8000", 10) && jstr(f, "pa") &&
		     jstr(f, "logical") && json_object_object_get_ex(f, "location", &loc) &&
		     !strcmp(jstr(loc, "file"), "tests/test_check_scn.c") &&
		     !strcmp(jstr(loc, "function"), "drv_start_io") && jint(loc, "line") > 0 &&
		     json_object_object_get_ex(f, "sites", &sites) &&
		     json_object_array_length(sites) == 2 &&
		     json_object_object_get_ex(f, "manifested", &man) &&
		     json_object_get_boolean(man) && jint(sum, "findings") == 1 &&
		     jint(sum, "errors") == 1 && jint(sum, "manifested") == 1;
	}
	json_object_put(root);
	CHECK(ok);
}

static bool have_jsonschema(void)
{
	return system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
}

/* Validates the SARIF report of a scenario; 1 valid, 0 invalid, -1 could not run. */
static int validate_sarif(int bug)
{
	char path[] = "/tmp/dmacoh-sarif-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t n;
	char *t = report("noncoherent", bug, DC_FMT_SARIF, &n);
	bool wrote = t && write(fd, t, n) == (ssize_t)n;
	close(fd);
	free(t);
	if (!wrote) {
		unlink(path);
		return -1;
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import json, sys, jsonschema; "
	         "jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))' "
	         "tests/data/sarif-schema-2.1.0.json %s 2>&1",
	         path);
	FILE *p = popen(cmd, "r");
	char out[4096] = "";
	size_t k = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[k] = 0;
	int st = p ? pclose(p) : -1;
	unlink(path);
	if (st != 0)
		dct_log("%s\n", out);
	return st == 0 ? 1 : 0;
}

DC_TEST(check_report_sarif_validates_against_the_schema)
{
	if (!have_jsonschema()) {
		printf("(skipped: needs python3 with jsonschema: apt-get install "
		       "python3-jsonschema) ");
		return;
	}
	/* No findings, one, and several rules with and without call sites. */
	static const int bugs[] = {-1, DC_RULE_C01, DC_RULE_C05, DC_RULE_A09, DC_RULE_X01};
	for (size_t i = 0; i < DC_ARRAY_SIZE(bugs); i++)
		CHECK_MSG(validate_sarif(bugs[i]) == 1, "SARIF for bug %d does not validate",
		          bugs[i]);
}

DC_TEST(check_report_sarif_has_rules_and_results)
{
	char *t = report("pc", DC_RULE_C06, DC_FMT_SARIF, NULL);
	CHECK(t);
	json_object *root = json_tokener_parse(t);
	free(t);
	CHECK(root);
	json_object *runs, *run, *tool, *drv, *rules, *results;
	bool ok = json_object_object_get_ex(root, "runs", &runs) &&
	          (run = json_object_array_get_idx(runs, 0)) &&
	          json_object_object_get_ex(run, "tool", &tool) &&
	          json_object_object_get_ex(tool, "driver", &drv) &&
	          json_object_object_get_ex(drv, "rules", &rules) &&
	          json_object_array_length(rules) == DC_RULE_COUNT &&
	          json_object_object_get_ex(run, "results", &results) &&
	          json_object_array_length(results) == 1 && !strcmp(jstr(root, "version"), "2.1.0");
	if (ok) {
		json_object *r = json_object_array_get_idx(results, 0), *locs, *pl, *al, *reg;
		ok = !strcmp(jstr(r, "ruleId"), "C06") && jint(r, "ruleIndex") == DC_RULE_C06 &&
		     !strcmp(jstr(r, "level"), "error") &&
		     json_object_object_get_ex(r, "locations", &locs) &&
		     json_object_object_get_ex(json_object_array_get_idx(locs, 0),
		                               "physicalLocation", &pl) &&
		     json_object_object_get_ex(pl, "artifactLocation", &al) &&
		     !strcmp(jstr(al, "uri"), "tests/test_check_scn.c") &&
		     json_object_object_get_ex(pl, "region", &reg) && jint(reg, "startLine") > 0;
	}
	json_object_put(root);
	CHECK(ok);
}
