/* Reports: text (ASan-like: "==dmacoh== ERROR: <the fixed-form message line>", indented
 * details and call sites, a SUMMARY line), JSON ({"findings": [...], "summary": {...}}) and SARIF
 * 2.1.0 (the rule table as runs[].tool.driver.rules).  Everything shown is deterministic: call
 * sites symbolized (never raw pointers), addresses in their shown form (check.h), sim time. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

#ifndef DC_VERSION
#define DC_VERSION "0.1.0"
#endif

#define SARIF_SCHEMA                                                          \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/" \
	"sarif-schema-2.1.0.json"

static size_t cat(char *buf, size_t len, size_t n, const char *s)
{
	size_t k = strlen(s);
	if (n < len) {
		size_t room = len - n - 1;
		memcpy(buf + n, s, DC_MIN(k, room));
		buf[n + DC_MIN(k, room)] = 0;
	}
	return n + k;
}

size_t dc_check_message(struct dc_check *c, const struct dc_finding *f, char *buf, size_t len)
{
	const struct dc_rule_info *ri = dc_rule_info(f->rule);
	char head[64];
	if (len)
		buf[0] = 0;
	snprintf(head, sizeof(head), "%s %s: ", ri->id, ri->name);
	size_t n = cat(buf, len, 0, head);
	for (const char *p = f->what; *p;) {
		if (p[0] == '{' && p[1] >= '0' && p[1] <= '9' && p[2] == '}') {
			unsigned k = (unsigned)(p[1] - '0');
			if (k < f->n_sites) {
				char loc[512], part[600];
				dc_check_symbolize(c, f->site[k].pc, false, loc, sizeof(loc));
				snprintf(part, sizeof(part), "[%s %s]", f->site[k].label, loc);
				n = cat(buf, len, n, part);
			}
			p += 3;
			continue;
		}
		size_t run = strcspn(p + 1, "{") + 1;
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)DC_MIN(run, sizeof(tmp) - 1), p);
		n = cat(buf, len, n, tmp);
		p += DC_MIN(run, sizeof(tmp) - 1);
	}
	return n;
}

struct totals {
	uint64_t errors, warnings, occurrences, manifested;
};

static struct totals totals(const struct dc_check *c)
{
	struct totals t = {0, 0, 0, 0};
	for (size_t i = 0; i < c->n_vis; i++) {
		const struct dc_finding *f = &c->ent[c->vis[i]].f;
		if (f->severity == DC_SEV_ERROR)
			t.errors++;
		else
			t.warnings++;
		t.occurrences += f->count;
		t.manifested += f->manifested;
	}
	return t;
}

static void time_str(uint64_t t, char *buf, size_t len)
{
	if (t == UINT64_MAX)
		buf[0] = 0;
	else
		snprintf(buf, len, " (t=%llu ns)", (unsigned long long)t);
}

/* --- Text -------------------------------------------------------------------------------- */

/* The IRP note of a finding kept in c's entries (R02/R03 results), NULL if none. */
static const struct dc_irp_note *note_of(const struct dc_finding *f)
{
	return ((const struct dc_entry *)(const void *)((const char *)f -
	                                                offsetof(struct dc_entry, f)))
	    ->note;
}

static void write_text_note(FILE *out, const struct dc_irp_note *n)
{
	char mb[24];
	if (n->irp) {
		fprintf(out, "    IRP %llu: %s, offset 0x%llx, length %llu, ",
		        (unsigned long long)n->irp, dc_irp_major_name(n->major, mb, sizeof(mb)),
		        (unsigned long long)n->offset, (unsigned long long)n->length);
		if (!n->has_status)
			fprintf(out, "not completed");
		else
			fprintf(out, "status %s%s0x%08X%s", n->status_name,
			        *n->status_name ? " (" : "", (unsigned)n->status,
			        *n->status_name ? ")" : "");
		if (n->win32 >= 0)
			fprintf(out, ", Win32 error %lld", (long long)n->win32);
		fprintf(out, "\n");
	}
	if (!n->n_lines) {
		fprintf(out, "    DbgPrint: nothing printed before it\n");
		return;
	}
	fprintf(out, "    DbgPrint before it (the driver's last %u line%s):\n", n->n_lines,
	        n->n_lines == 1 ? "" : "s");
	for (unsigned k = 0; k < n->n_lines; k++)
		fprintf(out, "      [t=%llu ns] %s\n", (unsigned long long)n->line_time[k],
		        n->line[k]);
}

static void write_text_one(struct dc_check *c, FILE *out, const struct dc_finding *f)
{
	const struct dc_rule_info *ri = dc_rule_info(f->rule);
	static char msg[2048];
	char loc[512], tb[48];
	dc_check_message(c, f, msg, sizeof(msg));
	fprintf(out, "==dmacoh== %s: %s\n", f->severity == DC_SEV_ERROR ? "ERROR" : "WARNING", msg);
	/* A result of the workload (R01-R03) has no driver location: the IRP is the place. */
	if (f->pc) {
		dc_check_symbolize(c, f->pc, f->exact_pc, loc, sizeof(loc));
		fprintf(out, "    at %s\n", loc);
	}
	char line[256];
	size_t n = 0;
	line[0] = 0;
#define ADD(...)                                              \
	n += (size_t)snprintf(line + DC_MIN(n, sizeof(line)), \
	                      sizeof(line) - DC_MIN(n, sizeof(line)), __VA_ARGS__)
	if (f->device)
		ADD("device #%u", f->device);
	if (f->xfer)
		ADD("%stransfer #%llu", n ? ", " : "", (unsigned long long)f->xfer);
	if (f->dir >= 0)
		ADD("%s%s", n ? ", " : "", dc_dir_name((enum dc_dir)f->dir));
	if (f->bytes)
		ADD("%s%llu bytes affected", n ? ", " : "", (unsigned long long)f->bytes);
	if (n)
		fprintf(out, "    %s\n", line);
	n = 0;
	line[0] = 0;
	if (f->va)
		ADD("VA 0x%llx", (unsigned long long)f->va);
	if (f->pa != DC_PA_INVALID)
		ADD("%sPA 0x%llx", n ? ", " : "", (unsigned long long)f->pa);
	if (f->logical != DC_PA_INVALID)
		ADD("%slogical 0x%llx", n ? ", " : "", (unsigned long long)f->logical);
	if (f->len && n)
		ADD(", %llu bytes", (unsigned long long)f->len);
#undef ADD
	if (n)
		fprintf(out, "    %s\n", line);
	if (note_of(f))
		write_text_note(out, note_of(f));
	for (unsigned k = 0; k < f->n_sites; k++) {
		dc_check_symbolize(c, f->site[k].pc, false, loc, sizeof(loc));
		time_str(f->site[k].time, tb, sizeof(tb));
		fprintf(out, "    %s %s%s\n", f->site[k].label, loc, tb);
	}
	fprintf(out, "    time %llu ns, %llu occurrence%s, manifested: %s\n",
	        (unsigned long long)f->time, (unsigned long long)f->count, f->count == 1 ? "" : "s",
	        f->manifested ? "yes" : "no");
	if (ri->guideline[0] || ri->dv[0] || ri->bugcheck)
		fprintf(out, "    guideline %s%s%s%s%s\n", ri->guideline[0] ? ri->guideline : "-",
		        ri->dv[0] ? "; Driver Verifier 0xE6 code " : "", ri->dv,
		        ri->bugcheck ? "; Windows bug check " : "",
		        ri->bugcheck ? ri->bugcheck : "");
	fprintf(out, "    fix: %s\n\n", ri->fix);
}

static void write_text(struct dc_check *c, FILE *out)
{
	for (size_t i = 0; i < c->n_vis; i++)
		write_text_one(c, out, &c->ent[c->vis[i]].f);
	struct totals t = totals(c);
	if (!c->n_vis) {
		fprintf(out, "==dmacoh== no findings");
	} else {
		fprintf(out,
		        "SUMMARY: dmacoh: %zu finding%s (%llu error%s, %llu warning%s), %llu "
		        "occurrence%s, %llu manifested",
		        c->n_vis, c->n_vis == 1 ? "" : "s", (unsigned long long)t.errors,
		        t.errors == 1 ? "" : "s", (unsigned long long)t.warnings,
		        t.warnings == 1 ? "" : "s", (unsigned long long)t.occurrences,
		        t.occurrences == 1 ? "" : "s", (unsigned long long)t.manifested);
	}
	if (c->suppressed)
		fprintf(out, ", %llu suppressed", (unsigned long long)c->suppressed);
	if (c->dropped)
		fprintf(out, ", %llu beyond max_reports", (unsigned long long)c->dropped);
	fprintf(out, "\n");
}

/* --- JSON ---------------------------------------------------------------------------------- */

static json_object *jhex(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	return json_object_new_string(b);
}

static void jadd(json_object *o, const char *k, json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

static json_object *jloc(struct dc_check *c, const void *pc, bool exact)
{
	json_object *o = json_object_new_object();
	const struct dc_symbol *s = dc_sym_lookup(c, pc, exact);
	char b[512];
	dc_check_symbolize(c, pc, exact, b, sizeof(b));
	jadd(o, "symbol", json_object_new_string(b));
	if (pc && s->file) {
		jadd(o, "file", json_object_new_string(s->file));
		jadd(o, "line", json_object_new_int(s->line));
	}
	if (pc && s->func)
		jadd(o, "function", json_object_new_string(s->func));
	/* The line calls an inline helper of dmacoh's headers, where the code ran. */
	if (pc && s->helper)
		jadd(o, "helper", json_object_new_string(s->helper));
	return o;
}

/* A finding's IRP note: {"number", "major", "offset", "length", "status", "status_name",
 * "win32_error", "completed"} and the DbgPrint lines [{"line", "time_ns", "text"}]. */
static json_object *json_irp(const struct dc_irp_note *n)
{
	char mb[24], st[16];
	json_object *o = json_object_new_object();
	jadd(o, "number", json_object_new_uint64(n->irp));
	jadd(o, "major", json_object_new_string(dc_irp_major_name(n->major, mb, sizeof(mb))));
	jadd(o, "offset", json_object_new_uint64(n->offset));
	jadd(o, "length", json_object_new_uint64(n->length));
	jadd(o, "completed", json_object_new_boolean(n->has_status));
	if (n->has_status) {
		snprintf(st, sizeof(st), "0x%08X", (unsigned)n->status);
		jadd(o, "status", json_object_new_string(st));
		if (*n->status_name)
			jadd(o, "status_name", json_object_new_string(n->status_name));
	}
	if (n->win32 >= 0)
		jadd(o, "win32_error", json_object_new_int64(n->win32));
	return o;
}

static json_object *json_dbgprint(const struct dc_irp_note *n)
{
	json_object *a = json_object_new_array();
	for (unsigned k = 0; k < n->n_lines; k++) {
		json_object *l = json_object_new_object();
		jadd(l, "line", json_object_new_uint64(n->line_seq[k]));
		jadd(l, "time_ns", json_object_new_uint64(n->line_time[k]));
		jadd(l, "text", json_object_new_string(n->line[k]));
		json_object_array_add(a, l);
	}
	return a;
}

static json_object *json_finding(struct dc_check *c, const struct dc_finding *f)
{
	const struct dc_rule_info *ri = dc_rule_info(f->rule);
	static char msg[2048];
	json_object *o = json_object_new_object();
	dc_check_message(c, f, msg, sizeof(msg));
	jadd(o, "rule", json_object_new_string(ri->id));
	jadd(o, "name", json_object_new_string(ri->name));
	jadd(o, "severity", json_object_new_string(dc_severity_name(f->severity)));
	jadd(o, "message", json_object_new_string(msg));
	if (f->device)
		jadd(o, "device", json_object_new_int((int)f->device));
	if (f->xfer)
		jadd(o, "transfer", json_object_new_uint64(f->xfer));
	if (f->va)
		jadd(o, "va", jhex(f->va));
	if (f->pa != DC_PA_INVALID)
		jadd(o, "pa", jhex(f->pa));
	if (f->logical != DC_PA_INVALID)
		jadd(o, "logical", jhex(f->logical));
	if (f->len)
		jadd(o, "length", json_object_new_uint64(f->len));
	if (f->dir >= 0)
		jadd(o, "direction", json_object_new_string(dc_dir_name((enum dc_dir)f->dir)));
	jadd(o, "bytes", json_object_new_uint64(f->bytes));
	jadd(o, "location", jloc(c, f->pc, f->exact_pc));
	json_object *sites = json_object_new_array();
	for (unsigned k = 0; k < f->n_sites; k++) {
		json_object *s = jloc(c, f->site[k].pc, false);
		jadd(s, "label", json_object_new_string(f->site[k].label));
		if (f->site[k].time != UINT64_MAX)
			jadd(s, "time_ns", json_object_new_uint64(f->site[k].time));
		json_object_array_add(sites, s);
	}
	jadd(o, "sites", sites);
	jadd(o, "time_ns", json_object_new_uint64(f->time));
	jadd(o, "count", json_object_new_uint64(f->count));
	jadd(o, "manifested", json_object_new_boolean(f->manifested));
	jadd(o, "guideline", json_object_new_string(ri->guideline));
	if (ri->dv[0])
		jadd(o, "verifier", json_object_new_string(ri->dv));
	if (ri->bugcheck)
		jadd(o, "bugcheck", json_object_new_string(ri->bugcheck));
	jadd(o, "fix", json_object_new_string(ri->fix));
	if (note_of(f)) {
		if (note_of(f)->irp)
			jadd(o, "irp", json_irp(note_of(f)));
		jadd(o, "dbgprint", json_dbgprint(note_of(f)));
	}
	return o;
}

static json_object *json_summary(const struct dc_check *c)
{
	struct totals t = totals(c);
	json_object *s = json_object_new_object();
	jadd(s, "findings", json_object_new_uint64(c->n_vis));
	jadd(s, "errors", json_object_new_uint64(t.errors));
	jadd(s, "warnings", json_object_new_uint64(t.warnings));
	jadd(s, "occurrences", json_object_new_uint64(t.occurrences));
	jadd(s, "manifested", json_object_new_uint64(t.manifested));
	jadd(s, "suppressed", json_object_new_uint64(c->suppressed));
	jadd(s, "beyond_max_reports", json_object_new_uint64(c->dropped));
	return s;
}

static json_object *json_report(struct dc_check *c)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < c->n_vis; i++)
		json_object_array_add(arr, json_finding(c, &c->ent[c->vis[i]].f));
	jadd(root, "findings", arr);
	jadd(root, "summary", json_summary(c));
	return root;
}

/* --- SARIF 2.1.0 ------------------------------------------------------------------------------ */

static json_object *jtext(const char *s)
{
	json_object *o = json_object_new_object();
	jadd(o, "text", json_object_new_string(s));
	return o;
}

static const char *level(enum dc_severity s)
{
	return s == DC_SEV_ERROR ? "error" : "warning";
}

/* A relative path as a URI reference: unreserved characters and '/' as they are, the rest
 * percent-encoded. */
static json_object *juri(const char *path)
{
	size_t n = strlen(path);
	char *b = malloc(n * 3 + 1);
	if (!b)
		return NULL;
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			b[k++] = (char)*p;
		else
			k += (size_t)sprintf(b + k, "%%%02X", *p);
	}
	b[k] = 0;
	json_object *o = json_object_new_string(b);
	free(b);
	return o;
}

/* A SARIF location for pc, NULL when nothing is known about it. */
static json_object *sarif_location(struct dc_check *c, const void *pc, bool exact)
{
	const struct dc_symbol *s = dc_sym_lookup(c, pc, exact);
	if (!pc || (!s->file && !s->func))
		return NULL;
	json_object *loc = json_object_new_object();
	if (s->file) {
		json_object *phys = json_object_new_object();
		json_object *art = json_object_new_object();
		jadd(art, "uri", juri(s->file));
		jadd(phys, "artifactLocation", art);
		if (s->line > 0) {
			json_object *reg = json_object_new_object();
			jadd(reg, "startLine", json_object_new_int(s->line));
			jadd(phys, "region", reg);
		}
		jadd(loc, "physicalLocation", phys);
	}
	if (s->func) {
		json_object *ll = json_object_new_array(), *l = json_object_new_object();
		jadd(l, "name", json_object_new_string(s->func));
		jadd(l, "kind", json_object_new_string("function"));
		json_object_array_add(ll, l);
		jadd(loc, "logicalLocations", ll);
	}
	return loc;
}

static json_object *sarif_report(struct dc_check *c)
{
	json_object *root = json_object_new_object();
	jadd(root, "$schema", json_object_new_string(SARIF_SCHEMA));
	jadd(root, "version", json_object_new_string("2.1.0"));
	json_object *runs = json_object_new_array(), *run = json_object_new_object();
	json_object *tool = json_object_new_object(), *drv = json_object_new_object();
	jadd(drv, "name", json_object_new_string("dmacoh"));
	jadd(drv, "version", json_object_new_string(DC_VERSION));
	json_object *rules = json_object_new_array();
	for (int r = 0; r < DC_RULE_COUNT; r++) {
		const struct dc_rule_info *ri = dc_rule_info((enum dc_rule)r);
		json_object *o = json_object_new_object();
		jadd(o, "id", json_object_new_string(ri->id));
		jadd(o, "name", json_object_new_string(ri->name));
		jadd(o, "shortDescription", jtext(ri->summary));
		jadd(o, "fullDescription", jtext(ri->details));
		json_object *ms = json_object_new_object();
		jadd(ms, "default", jtext(ri->message));
		jadd(o, "messageStrings", ms);
		jadd(o, "help", jtext(ri->fix));
		json_object *cfg = json_object_new_object();
		jadd(cfg, "level", json_object_new_string(level(ri->severity)));
		jadd(o, "defaultConfiguration", cfg);
		json_object *props = json_object_new_object();
		jadd(props, "guideline", json_object_new_string(ri->guideline));
		jadd(props, "verifier", json_object_new_string(ri->dv));
		if (ri->bugcheck)
			jadd(props, "bugcheck", json_object_new_string(ri->bugcheck));
		jadd(props, "manifested", json_object_new_string(ri->manifested));
		jadd(o, "properties", props);
		json_object_array_add(rules, o);
	}
	jadd(drv, "rules", rules);
	jadd(tool, "driver", drv);
	jadd(run, "tool", tool);
	json_object *results = json_object_new_array();
	static char msg[2048];
	for (size_t i = 0; i < c->n_vis; i++) {
		const struct dc_finding *f = &c->ent[c->vis[i]].f;
		json_object *res = json_object_new_object();
		jadd(res, "ruleId", json_object_new_string(dc_rule_info(f->rule)->id));
		jadd(res, "ruleIndex", json_object_new_int((int)f->rule));
		jadd(res, "level", json_object_new_string(level(f->severity)));
		dc_check_message(c, f, msg, sizeof(msg));
		jadd(res, "message", jtext(msg));
		json_object *loc = sarif_location(c, f->pc, f->exact_pc);
		if (loc) {
			json_object *locs = json_object_new_array();
			json_object_array_add(locs, loc);
			jadd(res, "locations", locs);
		}
		json_object *rel = json_object_new_array();
		for (unsigned k = 0; k < f->n_sites; k++) {
			json_object *l = sarif_location(c, f->site[k].pc, false);
			if (!l)
				continue;
			jadd(l, "id", json_object_new_int((int)k + 1));
			jadd(l, "message", jtext(f->site[k].label));
			json_object_array_add(rel, l);
		}
		if (json_object_array_length(rel))
			jadd(res, "relatedLocations", rel);
		else
			json_object_put(rel);
		jadd(res, "occurrenceCount", json_object_new_uint64(f->count));
		json_object *props = json_object_new_object();
		jadd(props, "manifested", json_object_new_boolean(f->manifested));
		jadd(props, "time_ns", json_object_new_uint64(f->time));
		if (f->device)
			jadd(props, "device", json_object_new_int((int)f->device));
		if (f->xfer)
			jadd(props, "transfer", json_object_new_uint64(f->xfer));
		if (f->bytes)
			jadd(props, "bytes", json_object_new_uint64(f->bytes));
		if (f->dir >= 0)
			jadd(props, "direction",
			     json_object_new_string(dc_dir_name((enum dc_dir)f->dir)));
		if (f->va)
			jadd(props, "va", jhex(f->va));
		if (f->pa != DC_PA_INVALID)
			jadd(props, "pa", jhex(f->pa));
		if (f->logical != DC_PA_INVALID)
			jadd(props, "logical", jhex(f->logical));
		if (note_of(f)) {
			if (note_of(f)->irp)
				jadd(props, "irp", json_irp(note_of(f)));
			jadd(props, "dbgprint", json_dbgprint(note_of(f)));
		}
		jadd(res, "properties", props);
		json_object_array_add(results, res);
	}
	jadd(run, "results", results);
	json_object *props = json_summary(c);
	jadd(run, "properties", props);
	json_object_array_add(runs, run);
	jadd(root, "runs", runs);
	return root;
}

int dc_check_write(struct dc_check *c, FILE *out, enum dc_report_format fmt)
{
	if (fmt == DC_FMT_TEXT) {
		write_text(c, out);
	} else {
		json_object *root = fmt == DC_FMT_JSON ? json_report(c) : sarif_report(c);
		const char *s = json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		              JSON_C_TO_STRING_NOSLASHESCAPE);
		fprintf(out, "%s\n", s ? s : "{}");
		json_object_put(root);
	}
	return fflush(out) == 0 && !ferror(out) ? DC_OK : DC_ERR_IO;
}

int dc_check_report(struct dc_check *c)
{
	if (!c->opts.log_path[0])
		return dc_check_write(c, stderr, c->opts.format);
	FILE *f = fopen(c->opts.log_path, "w");
	if (!f)
		return DC_ERR_IO;
	int r = dc_check_write(c, f, c->opts.format);
	if (fclose(f) != 0)
		r = DC_ERR_IO;
	return r;
}
