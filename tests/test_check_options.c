/* DMACOH_OPTIONS and suppressions: what parses, the one-line errors for what does not (the
 * options left unchanged), and what the options do to a run: suppressions by rule and
 * function or file pattern, halt_on_error, max_reports, log_path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "test_check.h"

DC_TEST(check_options_parse)
{
	struct dc_check_opts o;
	char err[256];
	dc_check_opts_init(&o);
	CHECK(!o.halt_on_error && o.max_reports == 0 && o.format == DC_FMT_TEXT &&
	      o.alignment_warnings && !o.log_path[0]);
	CHECK_EQ(
	    dc_check_opts_parse(&o,
	                        "halt_on_error=1:max_reports=3 format=json\tlog_path=/tmp/r.txt:"
	                        "suppressions='/tmp/a b:c.supp':alignment_warnings=false",
	                        err, sizeof(err)),
	    DC_OK);
	CHECK(o.halt_on_error && o.max_reports == 3 && o.format == DC_FMT_JSON &&
	      !o.alignment_warnings);
	CHECK(!strcmp(o.log_path, "/tmp/r.txt"));
	CHECK(!strcmp(o.suppressions, "/tmp/a b:c.supp"));
	CHECK_EQ(dc_check_opts_parse(&o, "format=sarif", err, sizeof(err)), DC_OK);
	CHECK(o.format == DC_FMT_SARIF && o.max_reports == 3); /* the rest kept */
	CHECK_EQ(dc_check_opts_parse(&o, "", err, sizeof(err)), DC_OK);
	CHECK_EQ(dc_check_opts_parse(&o, NULL, err, sizeof(err)), DC_OK);
}

DC_TEST(check_options_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"frobnicate=1", "DMACOH_OPTIONS: unknown option 'frobnicate' (known: halt_on_error, "
	                     "max_reports, format, log_path, suppressions, alignment_warnings, "
	                     "dbgprint)"},
	    {"halt_on_error=2", "DMACOH_OPTIONS: halt_on_error: expected 0 or 1, not '2'"},
	    {"halt_on_error", "DMACOH_OPTIONS: 'halt_on_error': expected key=value"},
	    {"max_reports=-1",
	     "DMACOH_OPTIONS: max_reports: expected a number of findings (0: no limit), not '-1'"},
	    {"max_reports=", "DMACOH_OPTIONS: max_reports: expected a number of findings (0: no "
	                     "limit), not ''"},
	    {"max_reports=99999999999",
	     "DMACOH_OPTIONS: max_reports: expected a number of findings (0: no limit), not "
	     "'99999999999'"},
	    {"format=xml", "DMACOH_OPTIONS: format: expected text, json or sarif, not 'xml'"},
	    {"log_path='/tmp/x", "DMACOH_OPTIONS: log_path: unterminated quote"},
	    {"=1", "DMACOH_OPTIONS: '=' without a key"},
	    {"format=json:halt_on_error=yes please",
	     "DMACOH_OPTIONS: 'please': expected key=value"},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		struct dc_check_opts o;
		char err[256];
		dc_check_opts_init(&o);
		struct dc_check_opts before = o;
		int r = dc_check_opts_parse(&o, cases[i].text, err, sizeof(err));
		CHECK_MSG(r == DC_ERR_PARSE, "case %zu: %d", i, r);
		CHECK_MSG(!strcmp(err, cases[i].err), "case %zu: '%s'", i, err);
		CHECK_MSG(!memcmp(&o, &before, sizeof(o)), "case %zu changed the options", i);
	}
	/* A path longer than the options hold. */
	char big[3000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "log_path=", 9);
	big[sizeof(big) - 1] = 0;
	struct dc_check_opts o;
	char err[256];
	dc_check_opts_init(&o);
	CHECK_EQ(dc_check_opts_parse(&o, big, err, sizeof(err)), DC_ERR_PARSE);
	CHECK(strstr(err, "log_path: value too long"));
}

/* Runs the scenario with `bug` and a suppressions text; returns the checker's env. */
static bool run_with(struct tc_env *v, int bug, const char *supp, const struct dc_check_opts *o)
{
	if (!tc_init(v, "noncoherent", 1, o))
		return false;
	char err[256];
	if (supp && dc_check_suppressions_parse(v->c, supp, "test.supp", err, sizeof(err)) < 0) {
		dct_log("%s\n", err);
		tc_fini(v);
		return false;
	}
	tc_scenario(v, bug);
	return true;
}

DC_TEST(check_suppressions_match_rule_and_place)
{
	static const struct {
		const char *supp;
		size_t shown;
	} cases[] = {
	    {"C01:drv_start_io", 0},
	    {"stale-device-read:drv_start_*", 0},
	    {"*:test_check_scn.c", 0},
	    {"C01:tests/test_check_*.c", 0},
	    {"C01:drv_copy", 0}, /* a related site (last written by) matches too */
	    {"C02:*", 1},
	    {"C01:drv_complete", 1},
	    {"# comment\n\n  C01 : drv_start_io  \n", 0},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		struct tc_env v;
		CHECK(run_with(&v, DC_RULE_C01, cases[i].supp, NULL));
		size_t n = dc_check_count(v.c);
		uint64_t s = dc_check_suppressed(v.c), e = dc_check_errors(v.c);
		tc_fini(&v);
		CHECK_MSG(n == cases[i].shown, "case %zu ('%s'): %zu shown", i, cases[i].supp, n);
		CHECK_MSG(s == (cases[i].shown ? 0 : 1), "case %zu: %llu suppressed", i,
		          (unsigned long long)s);
		CHECK_MSG(e == cases[i].shown, "case %zu: a suppressed finding counted as an error",
		          i);
	}
}

DC_TEST(check_suppressions_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"C01 drv_start_io", "test.supp:1: missing ':' (expected rule:pattern)"},
	    {"# ok\nC99:x", "test.supp:2: unknown rule 'C99' (an ID like C07, a name, or *)"},
	    {"C01:x\n\nC02:  ", "test.supp:3: empty pattern after 'C02:'"},
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(cases); i++) {
		struct tc_env v;
		CHECK(tc_init(&v, "pc", 1, NULL));
		char err[256];
		int r =
		    dc_check_suppressions_parse(v.c, cases[i].text, "test.supp", err, sizeof(err));
		tc_fini(&v);
		CHECK_MSG(r == DC_ERR_PARSE, "case %zu: %d", i, r);
		CHECK_MSG(!strcmp(err, cases[i].err), "case %zu: '%s'", i, err);
	}
	/* Through the options: a missing file and a bad one, at create time. */
	struct dc_platform p;
	struct dc_machine *m;
	CHECK(dc_platform_builtin("pc", &p) == DC_OK && dc_machine_create(&p, &m) == DC_OK);
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	strcpy(o.suppressions, "/nonexistent/dmacoh.supp");
	struct dc_check *c = NULL;
	char err[512];
	int r = dc_check_create_err(m, &o, &c, err, sizeof(err));
	bool ok = r == DC_ERR_IO && !c &&
	          !strncmp(err, "/nonexistent/dmacoh.supp: cannot open suppressions file: ", 57);
	char path[] = "/tmp/dmacoh-supp-XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0) {
		ok &= write(fd, "C01:a\nbogus\n", 12) == 12;
		close(fd);
		strcpy(o.suppressions, path);
		r = dc_check_create_err(m, &o, &c, err, sizeof(err));
		char want[128];
		snprintf(want, sizeof(want), "%s:2: missing ':' (expected rule:pattern)", path);
		ok &= r == DC_ERR_PARSE && !c && !strcmp(err, want) && m->n_obs == 0;
		unlink(path);
	}
	dc_machine_destroy(m);
	CHECK(ok);
}

DC_TEST(check_options_halt_on_error)
{
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	o.halt_on_error = true;
	struct tc_env v;
	CHECK(run_with(&v, -1, NULL, &o));
	bool clean = !dc_check_halted(v.c);
	tc_fini(&v);
	CHECK(clean);
	CHECK(run_with(&v, DC_RULE_A10, NULL, &o));
	bool halted = dc_check_halted(v.c);
	tc_fini(&v);
	CHECK(halted);
	/* A warning does not halt; a suppressed error does not either. */
	CHECK(run_with(&v, TC_UNALIGNED, NULL, &o));
	bool warned =
	    dc_check_count(v.c) == 1 && dc_check_finding(v.c, 0)->severity == DC_SEV_WARNING;
	halted = dc_check_halted(v.c);
	tc_fini(&v);
	CHECK(warned && !halted);
	CHECK(run_with(&v, DC_RULE_A10, "A10:*", &o));
	halted = dc_check_halted(v.c);
	tc_fini(&v);
	CHECK(!halted);
	/* Without the option nothing halts. */
	CHECK(run_with(&v, DC_RULE_A10, NULL, NULL));
	halted = dc_check_halted(v.c);
	tc_fini(&v);
	CHECK(!halted);
}

DC_TEST(check_options_max_reports_and_log_path)
{
	struct dc_check_opts o;
	dc_check_opts_init(&o);
	o.max_reports = 1;
	char path[] = "/tmp/dmacoh-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	strcpy(o.log_path, path);
	struct tc_env v;
	CHECK(run_with(&v, DC_RULE_C05, NULL, &o)); /* a warning and an error */
	size_t n = dc_check_count(v.c);
	int r = dc_check_report(v.c);
	tc_fini(&v);
	CHECK_EQ(n, 1);
	CHECK_EQ(r, DC_OK);
	FILE *f = fopen(path, "r");
	CHECK(f);
	char buf[8192];
	size_t k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	buf[k] = 0;
	dct_log("%s", buf);
	static const char head[] =
	    "==dmacoh== WARNING: C05 cacheline-sharing: from-device transfer #2";
	CHECK(!strncmp(buf, head, sizeof(head) - 1));
	CHECK(strstr(buf, ", 1 beyond max_reports\n"));
	/* An unwritable log path is an I/O error, not a crash. */
	strcpy(o.log_path, "/nonexistent/dir/log");
	CHECK(run_with(&v, -1, NULL, &o));
	r = dc_check_report(v.c);
	tc_fini(&v);
	CHECK_EQ(r, DC_ERR_IO);
}

/* Random text never crashes the parsers (run under ASan in CI); errors are one line. */
DC_TEST(check_options_random_text)
{
	static const char alphabet[] = "=:' \"\t\n,#*_-./abcdefhilmnoprstxyz019CA";
	uint64_t x = 88172645463325252u;
	for (int round = 0; round < 3000; round++) {
		char text[96];
		size_t n = (size_t)(round % 95);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			text[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		text[n] = 0;
		struct dc_check_opts o;
		char err[256];
		dc_check_opts_init(&o);
		if (dc_check_opts_parse(&o, text, err, sizeof(err)) != DC_OK)
			CHECK_MSG(err[0] && !strchr(err, '\n'), "'%s': '%s'", text, err);
		struct tc_env v;
		if (round % 50)
			continue; /* a machine per suppressions text is slower: a sample */
		CHECK(tc_init(&v, "pc", 1, NULL));
		int r = dc_check_suppressions_parse(v.c, text, "r.supp", err, sizeof(err));
		tc_fini(&v);
		CHECK_MSG(r == DC_OK || (err[0] && !strchr(err, '\n')), "'%s': '%s'", text, err);
	}
}
