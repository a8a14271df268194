/* DMACOH_OPTIONS (as ASAN_OPTIONS: key=value pairs separated by ':' or blanks; a value may be
 * quoted with ' or " to hold those) and suppressions files (lines `rule:pattern`, like
 * sanitizer suppression files: the rule by ID, name or *, the pattern a function or source
 * file name where * matches any run of characters).  Bad input gets one clear line, never a
 * crash: options "DMACOH_OPTIONS: what is wrong", suppressions "file:line: what is wrong". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "hw/parse.h"

void dc_check_opts_init(struct dc_check_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = DC_FMT_TEXT;
	o->alignment_warnings = true;
}

/* The values are quoted (hw/parse.h): a newline in one keeps the message on one line. */
static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	char qa[160], qb[160];
	if (err && errlen)
		snprintf(err, errlen, fmt, dc_parse_quote(qa, sizeof(qa), a),
		         dc_parse_quote(qb, sizeof(qb), b));
	return DC_ERR_PARSE;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(yes); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int set_opt(struct dc_check_opts *o, const char *key, const char *val, char *err,
                   size_t errlen)
{
	if (!strcmp(key, "halt_on_error") || !strcmp(key, "alignment_warnings") ||
	    !strcmp(key, "dbgprint")) {
		bool b;
		if (!parse_bool(val, &b))
			return fail(err, errlen, "DMACOH_OPTIONS: %s: expected 0 or 1, not '%s'",
			            key, val);
		if (key[0] == 'h')
			o->halt_on_error = b;
		else if (key[0] == 'd')
			o->dbgprint = b;
		else
			o->alignment_warnings = b;
		return DC_OK;
	}
	if (!strcmp(key, "max_reports")) {
		uint64_t n;
		if (dc_parse_u64(val, 0, UINT32_MAX, &n) != DC_OK)
			return fail(
			    err, errlen,
			    "DMACOH_OPTIONS: %s: expected a number of findings (0: no limit), "
			    "not '%s'",
			    key, val);
		o->max_reports = (uint32_t)n;
		return DC_OK;
	}
	if (!strcmp(key, "format")) {
		for (int f = DC_FMT_TEXT; f <= DC_FMT_SARIF; f++) {
			if (!strcmp(val, dc_report_format_name((enum dc_report_format)f))) {
				o->format = (enum dc_report_format)f;
				return DC_OK;
			}
		}
		return fail(err, errlen,
		            "DMACOH_OPTIONS: %s: expected text, json or sarif, not '%s'", key, val);
	}
	if (!strcmp(key, "log_path") || !strcmp(key, "suppressions")) {
		char *dst = key[0] == 'l' ? o->log_path : o->suppressions;
		if (strlen(val) >= sizeof(o->log_path))
			return fail(err, errlen, "DMACOH_OPTIONS: %s: path too long%s", key, "");
		strcpy(dst, val);
		return DC_OK;
	}
	return fail(err, errlen,
	            "DMACOH_OPTIONS: unknown option '%s' (known: halt_on_error, max_reports, "
	            "format, log_path, suppressions, alignment_warnings, dbgprint)%s",
	            key, "");
}

int dc_check_opts_parse(struct dc_check_opts *o, const char *text, char *err, size_t errlen)
{
	struct dc_check_opts t = *o;
	if (err && errlen)
		err[0] = 0;
	const char *p = text ? text : "";
	char key[64], val[sizeof(t.log_path) + 1];
	for (;;) {
		while (*p == ':' || *p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t k = strcspn(p, "=: \t\n,");
		if (p[k] != '=') {
			char tok[64];
			snprintf(tok, sizeof(tok), "%.*s", (int)DC_MIN(k, sizeof(tok) - 1), p);
			return fail(err, errlen, "DMACOH_OPTIONS: '%s': expected key=value%s", tok,
			            "");
		}
		if (k == 0)
			return fail(err, errlen, "DMACOH_OPTIONS: '=' without a key%s%s", "", "");
		if (k >= sizeof(key)) {
			char tok[40];
			snprintf(tok, sizeof(tok), "%.32s", p);
			return fail(err, errlen, "DMACOH_OPTIONS: unknown option '%s...'%s", tok,
			            "");
		}
		memcpy(key, p, k);
		key[k] = 0;
		p += k + 1;
		size_t n = 0;
		if (*p == '\'' || *p == '"') {
			char q = *p++;
			const char *close = strchr(p, q);
			if (!close)
				return fail(err, errlen, "DMACOH_OPTIONS: %s: unterminated quote%s",
				            key, "");
			n = (size_t)(close - p);
			if (n >= sizeof(val))
				return fail(err, errlen, "DMACOH_OPTIONS: %s: value too long%s",
				            key, "");
			memcpy(val, p, n);
			p = close + 1;
		} else {
			n = strcspn(p, ": \t\n,");
			if (n >= sizeof(val))
				return fail(err, errlen, "DMACOH_OPTIONS: %s: value too long%s",
				            key, "");
			memcpy(val, p, n);
			p += n;
		}
		val[n] = 0;
		int r = set_opt(&t, key, val, err, errlen);
		if (r < 0)
			return r;
	}
	*o = t;
	return DC_OK;
}

/* --- Suppressions ------------------------------------------------------------------------- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

int dc_check_suppressions_parse(struct dc_check *c, const char *text, const char *name, char *err,
                                size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	size_t start = c->n_supp;
	unsigned lineno = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		lineno++;
		char line[1024];
		if (n >= sizeof(line)) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			goto bad;
		}
		memcpy(line, p, n);
		line[n] = 0;
		p += n + (p[n] == '\n');
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *colon = strchr(s, ':');
		if (!colon) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: missing ':' (expected rule:pattern)",
				         name, lineno);
			goto bad;
		}
		*colon = 0;
		char *rule = trim(s), *pat = trim(colon + 1);
		int r = -1;
		if (strcmp(rule, "*")) {
			r = dc_rule_find(rule);
			if (r < 0) {
				if (err && errlen)
					snprintf(err, errlen,
					         "%s:%u: unknown rule '%s' (an ID like C07, a "
					         "name, or *)",
					         name, lineno, rule);
				goto bad;
			}
		}
		if (!*pat) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: empty pattern after '%s:'", name,
				         lineno, rule);
			goto bad;
		}
		if (c->n_supp == c->cap_supp) {
			size_t cap = c->cap_supp ? c->cap_supp * 2 : 8;
			struct dc_supp *ns = realloc(c->supp, cap * sizeof(*ns));
			if (!ns)
				goto nomem;
			c->supp = ns;
			c->cap_supp = cap;
		}
		char *dup = strdup(pat);
		if (!dup)
			goto nomem;
		c->supp[c->n_supp++] = (struct dc_supp){r, dup, lineno, 0};
	}
	return DC_OK;
nomem:
	if (err && errlen)
		snprintf(err, errlen, "%s: out of memory", name);
	while (c->n_supp > start)
		free(c->supp[--c->n_supp].pattern);
	return DC_ERR_NOMEM;
bad:
	while (c->n_supp > start)
		free(c->supp[--c->n_supp].pattern);
	return DC_ERR_PARSE;
}

int dc_supp_load(struct dc_check *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open suppressions file: %s", path,
			         strerror(errno));
		return DC_ERR_IO;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - 1 - n, f);
		if (!k)
			break;
		n += k;
	}
	bool io = ferror(f);
	fclose(f);
	if (!buf || io) {
		free(buf);
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read suppressions file", path);
		return buf ? DC_ERR_IO : DC_ERR_NOMEM;
	}
	buf[n] = 0;
	if (strlen(buf) != n) {
		free(buf);
		if (err && errlen)
			snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
		return DC_ERR_PARSE;
	}
	int r = dc_check_suppressions_parse(c, buf, path, err, errlen);
	free(buf);
	return r;
}

void dc_supp_free(struct dc_check *c)
{
	for (size_t i = 0; i < c->n_supp; i++)
		free(c->supp[i].pattern);
	free(c->supp);
	c->supp = NULL;
	c->n_supp = c->cap_supp = 0;
}

/* '*' matches any run of characters; everything else itself. */
static bool glob(const char *pat, const char *s)
{
	const char *star = NULL, *retry = NULL;
	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			retry = s;
		} else if (*pat == *s) {
			pat++, s++;
		} else if (star) {
			pat = star;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

static bool pc_matches(struct dc_check *c, const char *pat, const void *pc, bool exact)
{
	if (!pc)
		return false;
	const struct dc_symbol *s = dc_sym_lookup(c, pc, exact);
	if ((s->func && glob(pat, s->func)) || (s->helper && glob(pat, s->helper)))
		return true;
	if (s->file) {
		const char *base = strrchr(s->file, '/');
		if (glob(pat, s->file) || (base && glob(pat, base + 1)))
			return true;
	}
	return s->module && glob(pat, s->module);
}

bool dc_supp_match(struct dc_check *c, const struct dc_finding *f)
{
	for (size_t i = 0; i < c->n_supp; i++) {
		struct dc_supp *s = &c->supp[i];
		if (s->rule >= 0 && s->rule != (int)f->rule)
			continue;
		bool m = pc_matches(c, s->pattern, f->pc, f->exact_pc);
		for (unsigned k = 0; !m && k < f->n_sites; k++)
			m = pc_matches(c, s->pattern, f->site[k].pc, false);
		if (m) {
			s->hits++;
			return true;
		}
	}
	return false;
}
