/* dmacoh torture, the verdicts: reads what one `dmacoh run --format json` child produced (the
 * JSON report on stdout, the human summary on stderr, its exit status) and decides whether it
 * is a failure, and of which class.  A correct driver must exit 0 with no finding and every
 * IRP right; a twin must be caught by its rule wherever its workload met the needs in the
 * trigger table (torture_gen.c).  Any run must exit 0 or 1 by itself, within the host timeout,
 * with a report that parses.  It does not run anything (cmd_torture.c). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "torture.h"

const char *const tt_classes[TT_NCLASSES] = {"false finding", "wrong data", "failed IRP",
                                             "hang",          "crash",      "twin missed",
                                             "torture bug",   "bad report"};

static void add_rule(struct tt_result *res, const char *id)
{
	char key[16];
	snprintf(key, sizeof(key), "%s,", id);
	char have[sizeof(res->rules) + 1];
	snprintf(have, sizeof(have), "%s,", res->rules);
	if (strstr(have, key) && (have == strstr(have, key) || strstr(have, key)[-1] == ','))
		return;
	size_t l = strlen(res->rules);
	snprintf(res->rules + l, sizeof(res->rules) - l, "%s%s", l ? "," : "", id);
}

static bool has_rule(const struct tt_result *res, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = res->rules; (p = strstr(p, id)); p += n)
		if ((p == res->rules || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* A finding other than the run results (R01 wrong data, R03 failed IRP). */
static bool has_other_rule(const struct tt_result *res)
{
	char buf[sizeof(res->rules)];
	snprintf(buf, sizeof(buf), "%s", res->rules);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "R01") && strcmp(tok, "R03"))
			return true;
	return false;
}

static unsigned long long field(const char *err, const char *key, const char *fmt, bool *ok)
{
	const char *p = strstr(err, key);
	unsigned long long v = 0;
	if (!p || sscanf(p + strlen(key), fmt, &v) != 1)
		*ok = false;
	return v;
}

void tt_parse_output(struct tt_result *res, const char *out, const char *err)
{
	res->parsed = false;
	res->rules[0] = 0;
	res->irps = res->reads = res->writes = res->ioctls = 0;
	res->failed = res->hung = res->faults = res->false_ok = 0;
	res->wrong_data = res->stopped = false;
	json_object *root = json_tokener_parse(out);
	json_object *findings = NULL;
	if (!root || !json_object_object_get_ex(root, "findings", &findings) ||
	    !json_object_is_type(findings, json_type_array)) {
		if (root)
			json_object_put(root);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(findings); i++) {
		json_object *f = json_object_array_get_idx(findings, i), *rule = NULL;
		if (json_object_object_get_ex(f, "rule", &rule))
			add_rule(res, json_object_get_string(rule));
	}
	json_object_put(root);
	/* The human summary (stderr): what the IRPs did.  A run whose driver crashed in the
	 * supervised child has no counts to give (no IRPs line): it stopped, and the report
	 * says why. */
	bool ok = true;
	const char *irps = strstr(err, "  IRPs ");
	unsigned long long n[6] = {0};
	if (!irps && strstr(err, "  run        stopped: ")) {
		res->stopped = true;
		res->parsed = strstr(err, "  findings ") != NULL;
		return;
	}
	if (!irps || sscanf(irps,
	                    " IRPs %llu (%llu read, %llu write, %llu ioctl), %llu failed, "
	                    "%llu hung",
	                    &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]) != 6)
		return;
	res->irps = n[0], res->reads = n[1], res->writes = n[2], res->ioctls = n[3];
	res->failed = n[4], res->hung = n[5];
	if (strstr(err, "  faults ")) {
		res->faults = field(err, "  faults ", "%llu", &ok);
		const char *p = strstr(err, " injected, ");
		if (p)
			sscanf(p, " injected, %llu", &n[0]), res->false_ok = n[0];
	}
	res->wrong_data = strstr(err, "  data       WRONG") != NULL;
	res->stopped = strstr(err, "  run        stopped") != NULL;
	res->parsed = ok && strstr(err, "  findings ") != NULL;
}

static int fail(struct tt_result *res, const char *cls, const char *fmt, const char *a)
{
	res->failure = true;
	res->verdict = "FAIL";
	res->cls = cls;
	snprintf(res->detail, sizeof(res->detail), fmt, a);
	return 1;
}

/* Does run r give twin t what its rule needs?  Reads and writes are counted from the run's
 * own summary, not guessed from the weights. */
static bool triggerable(const struct tt_trigger *t, const struct tt_run *r,
                        const struct tt_result *res, char *why, size_t len)
{
	unsigned nd = t->needs;
	why[0] = 0;
	if (nd & TT_NEVER)
		return snprintf(why, len, "never triggerable"), false;
	if ((nd & TT_NEED_READ) && !res->reads)
		return snprintf(why, len, "no read"), false;
	if ((nd & TT_NEED_WRITE) && !res->writes)
		return snprintf(why, len, "no write"), false;
	if ((nd & TT_NEED_RW) && !res->reads && !res->writes)
		return snprintf(why, len, "no read or write"), false;
	if ((nd & TT_NEED_FAULT) && !res->faults)
		return snprintf(why, len, "no fault injected"), false;
	if ((nd & TT_NEED_LARGE) && r->size_min <= t->min_size)
		return snprintf(why, len, "requests not all split (size_min %u <= %u)", r->size_min,
		                t->min_size),
		       false;
	if ((nd & TT_NEED_SMALL) && r->size_max > t->min_size)
		return snprintf(why, len, "requests of several pieces (size_max %u > %u)",
		                r->size_max, t->min_size),
		       false;
	if ((nd & TT_NEED_UNALIGN) && (r->align == -3 || r->align == 0))
		return snprintf(why, len, "page-aligned buffers"), false;
	/* a buffer of n bytes at any offset spans at most (n + 4095) / 4096 + 1 pages; the
	 * adapter has the platform's map registers, or fewer if the driver asks for fewer */
	uint64_t regs = r->map_registers;
	if (t->max_regs && t->max_regs < regs)
		regs = t->max_regs;
	if ((nd & TT_NEED_MAPREG) && ((uint64_t)r->size_max + 4095) / 4096 + 1 >= regs)
		return snprintf(why, len, "requests may take every map register"), false;
	return true;
}

static int judge(struct tt_result *res, const struct tt_run *r, const struct tt_driver *d,
                 bool as_correct)
{
	res->failure = false;
	res->cls = "";
	res->detail[0] = 0;
	bool twin = d->rule[0] && !as_correct;
	res->verdict = twin ? "caught" : "clean";
	if (res->timed_out)
		return fail(res, "hang", "no exit within torture's host timeout (killed)%s", "");
	if (res->signal) {
		char s[32];
		snprintf(s, sizeof(s), "%d", res->signal);
		return fail(res, "crash", "killed by signal %s", s);
	}
	if (res->exit_code == 2)
		return fail(res, "torture bug", "exit 2: torture generated an input run refuses%s",
		            "");
	if (res->exit_code != 0 && res->exit_code != 1) {
		char s[32];
		snprintf(s, sizeof(s), "%d", res->exit_code);
		return fail(res, "crash", "exit status %s (only 0 and 1 are results)", s);
	}
	if (!res->parsed)
		return fail(res, "bad report", "the JSON report or the summary does not parse%s",
		            "");
	if (has_rule(res, "X01") || has_rule(res, "X03"))
		if (!twin)
			return fail(res, "crash", "the driver crashed or exited: %s", res->rules);
	if (!twin) {
		if (has_rule(res, "X02") || has_rule(res, "R02") || res->hung)
			return fail(res, "hang", "hung IRPs or driver hang; findings: %s",
			            res->rules[0] ? res->rules : "none");
		if (has_other_rule(res))
			return fail(res, "false finding", "findings on a correct driver: %s",
			            res->rules);
		if (res->wrong_data || has_rule(res, "R01"))
			return fail(res, "wrong data", "wrong bytes on a correct driver%s", "");
		if (res->failed || res->false_ok || has_rule(res, "R03"))
			return fail(res, "failed IRP", "failed IRPs on a correct driver%s", "");
		if (res->stopped)
			return fail(res, "crash", "the run stopped early%s", "");
		if (res->exit_code != 0)
			return fail(res, "false finding",
			            "exit 1 with nothing in the report to say why%s", "");
		return 0;
	}
	/* A twin: caught by its rule wherever its workload can trigger it. */
	if (has_rule(res, d->rule))
		return 0;
	const struct tt_trigger *t = tt_trigger_find(d->name);
	char why[128];
	if (!t) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s has no row in the trigger table (torture_gen.c)",
		         d->name);
		return fail(res, "torture bug", "%s", msg);
	}
	if (!triggerable(t, r, res, why, sizeof(why))) {
		res->verdict = "not-triggered";
		snprintf(res->detail, sizeof(res->detail), "%s", why);
		return 0;
	}
	char msg[400];
	snprintf(msg, sizeof(msg),
	         "%s not reported (findings: %s; %llu reads, %llu writes, %llu "
	         "faults)",
	         d->rule, res->rules[0] ? res->rules : "none", (unsigned long long)res->reads,
	         (unsigned long long)res->writes, (unsigned long long)res->faults);
	return fail(res, "twin missed", "%s", msg);
}

void tt_judge(struct tt_result *res, const struct tt_run *r, const struct tt_driver *d,
              bool as_correct)
{
	(void)judge(res, r, d, as_correct);
}
