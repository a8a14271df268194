/* The .reg loader: the text regedit exports ("REGEDIT4" in ANSI, "Windows Registry Editor
 * Version 5.00" in UTF-16LE with a BOM, or either in UTF-8): [key] and [-key] lines, "name"= and
 * @= values as "string", dword:, hex:, hex(N): (hex(2) REG_EXPAND_SZ, hex(7) REG_MULTI_SZ,
 * hex(b) REG_QWORD), continuation lines ending in '\', "name"=- deletions and ';' comments.
 * Debian's hivex reads binary hives only, not this text, hence this parser.  The whole file is
 * parsed into a list of operations first and applied only if it parsed, so an error changes
 * nothing.  Not supported: HKEY_CURRENT_USER (a driver has no user), regedit's tolerance of
 * garbage lines (an error here, with its line). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/common.h"
#include "registry.h"

#define DC_REGFILE_MAX (64u << 20)

enum op_kind { OP_KEY, OP_DELKEY, OP_SET, OP_DELVAL };

struct op {
	enum op_kind kind;
	WCHAR *key; /* absolute \Registry\... path */
	size_t klen;
	WCHAR *name;
	size_t nlen;
	ULONG type;
	uint8_t *data;
	size_t len;
};

struct parser {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
	bool v4; /* REGEDIT4: hex(2)/hex(7) data are ANSI bytes */
	struct op *ops;
	size_t n_ops, cap_ops;
	/* The current key (NULL before the first, or after a [-key]). */
	WCHAR *key;
	size_t klen;
	bool key_deleted;
};

static int fail(struct parser *p, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, what);
	return DC_ERR_PARSE;
}

/* --- Decoding: the file as UTF-16 code units --------------------------------------------- */

static WCHAR *decode(const uint8_t *b, size_t len, size_t *n)
{
	WCHAR *w = malloc((len + 1) * sizeof(WCHAR));
	if (!w)
		return NULL;
	size_t o = 0, i = 0;
	if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
		for (i = 2; i + 1 < len; i += 2)
			w[o++] = (WCHAR)(b[i] | b[i + 1] << 8);
		*n = o;
		return w;
	}
	if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
		i = 3;
	/* UTF-8, a byte that starts no valid sequence taken as Latin-1 (ANSI REGEDIT4 files). */
	while (i < len) {
		uint8_t c = b[i];
		uint32_t cp = c;
		size_t k = c >= 0xF0 && c < 0xF5   ? 3
		           : c >= 0xE0             ? 2
		           : c >= 0xC2 && c < 0xE0 ? 1
		                                   : 0;
		if (c >= 0x80 && k && i + k < len) {
			cp = c & (0x3F >> k);
			size_t j = 1;
			for (; j <= k && (b[i + j] & 0xC0) == 0x80; j++)
				cp = cp << 6 | (b[i + j] & 0x3F);
			if (j > k && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
				i += k + 1;
				if (cp >= 0x10000) {
					cp -= 0x10000;
					w[o++] = (WCHAR)(0xD800 + (cp >> 10));
					w[o++] = (WCHAR)(0xDC00 + (cp & 0x3FF));
				} else {
					w[o++] = (WCHAR)cp;
				}
				continue;
			}
			cp = c;
		}
		w[o++] = (WCHAR)cp;
		i++;
	}
	*n = o;
	return w;
}

/* --- Operations --------------------------------------------------------------------------- */

static WCHAR *wdup(const WCHAR *s, size_t n)
{
	WCHAR *d = malloc((n + 1) * sizeof(WCHAR));
	if (d) {
		if (n)
			memcpy(d, s, n * sizeof(WCHAR));
		d[n] = 0;
	}
	return d;
}

static int add_op(struct parser *p, struct op o)
{
	if (p->n_ops == p->cap_ops) {
		size_t cap = p->cap_ops ? 2 * p->cap_ops : 16;
		struct op *q = realloc(p->ops, cap * sizeof(*q));
		if (!q)
			return DC_ERR_NOMEM;
		p->ops = q;
		p->cap_ops = cap;
	}
	p->ops[p->n_ops++] = o;
	return DC_OK;
}

static void free_ops(struct parser *p)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		free(p->ops[i].key);
		free(p->ops[i].name);
		free(p->ops[i].data);
	}
	free(p->ops);
}

/* --- Lines -------------------------------------------------------------------------------- */

static bool wis(const WCHAR *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n != l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (dc_wup(s[i]) != dc_wup((WCHAR)(unsigned char)lit[i]))
			return false;
	return true;
}

static bool wstarts(const WCHAR *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && wis(s, l, lit);
}

static bool blank(WCHAR c)
{
	return c == ' ' || c == '\t';
}

static void trim(const WCHAR **s, size_t *n)
{
	while (*n && blank(**s))
		(*s)++, (*n)--;
	while (*n && (blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* A key line's path mapped to \Registry. */
static int key_line(struct parser *p, const WCHAR *s, size_t n)
{
	/* s: what lies between '[' and ']'. */
	bool del = n && s[0] == '-';
	if (del)
		s++, n--;
	static const struct {
		const char *name, *to;
	} roots[] = {
	    {"HKEY_LOCAL_MACHINE", "\\REGISTRY\\MACHINE"},
	    {"HKLM", "\\REGISTRY\\MACHINE"},
	    {"HKEY_USERS", "\\REGISTRY\\USER"},
	    {"HKU", "\\REGISTRY\\USER"},
	    {"HKEY_CLASSES_ROOT", "\\REGISTRY\\MACHINE\\SOFTWARE\\Classes"},
	    {"HKCR", "\\REGISTRY\\MACHINE\\SOFTWARE\\Classes"},
	    {"HKEY_CURRENT_CONFIG",
	     "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current"},
	    {"HKCC", "\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current"},
	};
	size_t r = 0;
	while (r < n && s[r] != '\\')
		r++;
	const char *to = NULL;
	for (size_t i = 0; i < DC_ARRAY_SIZE(roots) && !to; i++)
		if (wis(s, r, roots[i].name))
			to = roots[i].to;
	if (!to) {
		if (wis(s, r, "HKEY_CURRENT_USER") || wis(s, r, "HKCU"))
			return fail(p, "HKEY_CURRENT_USER is not modelled (a driver sees "
			               "HKEY_LOCAL_MACHINE and HKEY_USERS only)");
		char root[64];
		size_t k = 0;
		for (; k < r && k + 1 < sizeof(root); k++)
			root[k] = s[k] < 0x80 && s[k] >= 0x20 ? (char)s[k] : '?';
		root[k] = 0;
		return fail(p,
		            "unknown root key '%s' (expected HKEY_LOCAL_MACHINE, HKEY_USERS, "
		            "HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG)",
		            root);
	}
	for (size_t i = r; i < n; i++)
		if (s[i] == '\\' && (i + 1 == n || s[i + 1] == '\\'))
			return fail(p, "empty key name in the path (a doubled or trailing '\\')");
	size_t tl = strlen(to), kl = tl + (n - r);
	WCHAR *key = malloc((kl + 1) * sizeof(WCHAR));
	if (!key)
		return DC_ERR_NOMEM;
	for (size_t i = 0; i < tl; i++)
		key[i] = (WCHAR)(unsigned char)to[i];
	memcpy(key + tl, s + r, (n - r) * sizeof(WCHAR));
	key[kl] = 0;
	free(p->key);
	p->key = key;
	p->klen = kl;
	p->key_deleted = del;
	WCHAR *k2 = wdup(key, kl);
	if (!k2)
		return DC_ERR_NOMEM;
	struct op o = {.kind = del ? OP_DELKEY : OP_KEY, .key = k2, .klen = kl};
	int e = add_op(p, o);
	if (e)
		free(k2);
	return e;
}

/* A quoted string at s (s[0] == '"'): its unescaped text in *out, the length consumed. */
static int quoted(struct parser *p, const WCHAR *s, size_t n, WCHAR **out, size_t *olen,
                  size_t *used)
{
	WCHAR *o = malloc((n + 1) * sizeof(WCHAR));
	if (!o)
		return DC_ERR_NOMEM;
	size_t k = 0, i = 1;
	for (; i < n && s[i] != '"'; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= n) {
				free(o);
				return fail(p, "a '\\' ends the line inside a string");
			}
			i++;
			if (s[i] != '\\' && s[i] != '"') {
				free(o);
				return fail(
				    p, "unknown escape '\\%c' in a string (only \\\\ and \\\")",
				    s[i] < 0x80 && s[i] >= 0x20 ? (char)s[i] : '?');
			}
		}
		o[k++] = s[i];
	}
	if (i >= n) {
		free(o);
		return fail(p, "unterminated string (no closing '\"')");
	}
	o[k] = 0;
	*out = o;
	*olen = k;
	*used = i + 1;
	return DC_OK;
}

static int hexval(WCHAR c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* A hex byte list (continuation lines joined by the caller). */
static int hex_list(struct parser *p, const WCHAR *s, size_t n, uint8_t **out, size_t *olen)
{
	uint8_t *b = malloc(n / 2 + 2);
	if (!b)
		return DC_ERR_NOMEM;
	size_t k = 0, i = 0;
	trim(&s, &n);
	while (i < n) {
		while (i < n && blank(s[i]))
			i++;
		int v = 0, d = 0;
		while (i < n && hexval(s[i]) >= 0 && d < 3)
			v = v * 16 + hexval(s[i++]), d++;
		if (d == 0 || d > 2) {
			free(b);
			return fail(p, d > 2 ? "a hex byte has more than two digits"
			                     : "expected a hex byte (00-ff) in the list");
		}
		b[k++] = (uint8_t)v;
		while (i < n && blank(s[i]))
			i++;
		if (i < n) {
			if (s[i] != ',') {
				free(b);
				return fail(p, "expected ',' between hex bytes");
			}
			i++;
			size_t j = i;
			while (j < n && blank(s[j]))
				j++;
			if (j == n) {
				free(b);
				return fail(p, "the hex list ends with ','");
			}
		}
	}
	*out = b;
	*olen = k;
	return DC_OK;
}

static int value_line(struct parser *p, const WCHAR *s, size_t n)
{
	if (!p->key)
		return fail(p, "a value before the first [key] line");
	if (p->key_deleted)
		return fail(p, "a value under a [-key] that is being deleted");
	WCHAR *name = NULL;
	size_t nlen = 0, used;
	int e;
	if (s[0] == '@') {
		name = wdup(s, 0);
		if (!name)
			return DC_ERR_NOMEM;
		used = 1;
	} else if ((e = quoted(p, s, n, &name, &nlen, &used))) {
		return e;
	}
	const WCHAR *d = s + used;
	size_t dn = n - used;
	trim(&d, &dn);
	if (!dn || d[0] != '=') {
		free(name);
		return fail(p, "expected '=' after the value name");
	}
	d++, dn--;
	trim(&d, &dn);
	struct op o = {.kind = OP_SET, .name = name, .nlen = nlen};
	if (dn == 1 && d[0] == '-') {
		o.kind = OP_DELVAL;
	} else if (dn && d[0] == '"') {
		WCHAR *str;
		size_t sl;
		if ((e = quoted(p, d, dn, &str, &sl, &used))) {
			free(name);
			return e;
		}
		const WCHAR *rest = d + used;
		size_t rn = dn - used;
		trim(&rest, &rn);
		if (rn) {
			free(str);
			free(name);
			return fail(p, "text after the string's closing '\"'");
		}
		o.type = REG_SZ;
		o.data = (uint8_t *)str;
		o.len = (sl + 1) * sizeof(WCHAR);
	} else if (wstarts(d, dn, "dword:")) {
		d += 6, dn -= 6;
		uint32_t v = 0;
		if (!dn || dn > 8) {
			free(name);
			return fail(p, "dword: needs 1 to 8 hex digits");
		}
		for (size_t i = 0; i < dn; i++) {
			if (hexval(d[i]) < 0) {
				free(name);
				return fail(p, "dword: needs 1 to 8 hex digits");
			}
			v = v * 16 + (uint32_t)hexval(d[i]);
		}
		o.type = REG_DWORD;
		o.data = malloc(4);
		if (!o.data) {
			free(name);
			return DC_ERR_NOMEM;
		}
		memcpy(o.data, &v, 4);
		o.len = 4;
	} else if (wstarts(d, dn, "hex")) {
		size_t i = 3;
		ULONG type = REG_BINARY;
		if (i < dn && d[i] == '(') {
			i++;
			uint64_t t = 0;
			size_t digits = 0;
			for (; i < dn && hexval(d[i]) >= 0 && digits < 9; i++, digits++)
				t = t * 16 + (uint64_t)hexval(d[i]);
			if (!digits || digits > 8 || i >= dn || d[i] != ')') {
				free(name);
				return fail(p,
				            "hex(N): N must be 1 to 8 hex digits in parentheses");
			}
			i++;
			type = (ULONG)t;
		}
		if (i >= dn || d[i] != ':') {
			free(name);
			return fail(p, "expected ':' after hex or hex(N)");
		}
		i++;
		uint8_t *b = NULL;
		size_t bl = 0;
		if ((e = hex_list(p, d + i, dn - i, &b, &bl))) {
			free(name);
			return e;
		}
		if (type == REG_QWORD && bl != 8) {
			free(b);
			free(name);
			return fail(p, "hex(b): a REG_QWORD has 8 bytes, not %zu", bl);
		}
		if (p->v4 && (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ)) {
			/* REGEDIT4 writes strings as ANSI bytes; the registry holds UTF-16. */
			uint8_t *w = malloc(2 * bl + 1);
			if (!w) {
				free(b);
				free(name);
				return DC_ERR_NOMEM;
			}
			for (size_t j = 0; j < bl; j++)
				w[2 * j] = b[j], w[2 * j + 1] = 0;
			free(b);
			b = w;
			bl *= 2;
		}
		o.type = type;
		o.data = b;
		o.len = bl;
	} else {
		free(name);
		return fail(p,
		            "unknown value data (expected \"string\", dword:, hex:, hex(N): or -)");
	}
	o.key = wdup(p->key, p->klen);
	o.klen = p->klen;
	if (!o.key || (e = add_op(p, o))) {
		free(o.key);
		free(o.data);
		free(name);
		return DC_ERR_NOMEM;
	}
	return DC_OK;
}

static int parse(struct parser *p, const WCHAR *w, size_t n)
{
	size_t i = 0;
	bool header = false;
	WCHAR *joined = NULL;
	size_t jlen = 0, jcap = 0;
	unsigned jline = 0;
	int e = DC_OK;
	while (i < n && !e) {
		size_t j = i;
		while (j < n && w[j] != '\n')
			j++;
		const WCHAR *s = w + i;
		size_t len = j - i;
		i = j + 1;
		p->line++;
		trim(&s, &len);
		if (joined) {
			/* A continuation of a hex list: appended with its leading blanks gone. */
			bool more = len && s[len - 1] == '\\';
			size_t add = more ? len - 1 : len;
			if (jlen + add + 1 > jcap) {
				jcap = 2 * (jlen + add + 1);
				WCHAR *q = realloc(joined, jcap * sizeof(WCHAR));
				if (!q) {
					e = DC_ERR_NOMEM;
					break;
				}
				joined = q;
			}
			memcpy(joined + jlen, s, add * sizeof(WCHAR));
			jlen += add;
			if (more && i < n)
				continue;
			unsigned here = p->line;
			p->line = jline;
			e = value_line(p, joined, jlen);
			if (!e)
				p->line = here;
			free(joined);
			joined = NULL;
			continue;
		}
		if (!len || s[0] == ';')
			continue;
		if (!header) {
			if (wis(s, len, "REGEDIT4"))
				p->v4 = true;
			else if (!wis(s, len, "Windows Registry Editor Version 5.00")) {
				e = fail(
				    p, "not a .reg file: the first line must be 'Windows Registry "
				       "Editor Version 5.00' or 'REGEDIT4'");
				break;
			}
			header = true;
			continue;
		}
		if (s[0] == '[') {
			if (s[len - 1] != ']') {
				e = fail(p, "a key line must end with ']'");
				break;
			}
			if (len < 3) {
				e = fail(p, "empty key name");
				break;
			}
			e = key_line(p, s + 1, len - 2);
			continue;
		}
		if (s[0] != '"' && s[0] != '@') {
			e = fail(p, "expected [key], \"name\"=value, @=value or a ';' comment");
			break;
		}
		if (s[len - 1] == '\\' && i < n) {
			jcap = 2 * len + 16;
			joined = malloc(jcap * sizeof(WCHAR));
			if (!joined) {
				e = DC_ERR_NOMEM;
				break;
			}
			memcpy(joined, s, (len - 1) * sizeof(WCHAR));
			jlen = len - 1;
			jline = p->line;
			continue;
		}
		e = value_line(p, s, len);
	}
	free(joined);
	if (!e && !header)
		e = fail(p, "empty file: no 'Windows Registry Editor Version 5.00' header");
	return e;
}

static int apply(struct dc_reg *r, struct parser *p)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		struct op *o = &p->ops[i];
		if (o->kind == OP_DELKEY) {
			struct dc_regkey *k =
			    dc_reg_walk(r, NULL, o->key, o->klen, false, false, NULL, NULL);
			if (k)
				dc_reg_delete_key(r, k);
			continue;
		}
		struct dc_regkey *k =
		    dc_reg_walk(r, NULL, o->key, o->klen, o->kind != OP_DELVAL, true, NULL, NULL);
		if (!k) {
			if (o->kind == OP_DELVAL)
				continue;
			return DC_ERR_NOMEM;
		}
		if (o->kind == OP_SET && dc_reg_set(k, o->name, o->nlen, o->type, o->data, o->len))
			return DC_ERR_NOMEM;
		if (o->kind == OP_DELVAL)
			dc_reg_delete_value(k, o->name, o->nlen);
	}
	return DC_OK;
}

int dc_regfile_parse(struct dc_reg *r, const char *file, const uint8_t *buf, size_t len, char *err,
                     size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	struct parser p = {.file = file ? file : "<registry>", .err = err, .errlen = errlen};
	size_t n;
	WCHAR *w = decode(buf, len, &n);
	if (!w) {
		snprintf(err, errlen, "%s: out of memory", p.file);
		return DC_ERR_NOMEM;
	}
	int e = parse(&p, w, n);
	free(w);
	free(p.key);
	if (e == DC_ERR_NOMEM)
		snprintf(err, errlen, "%s:%u: out of memory", p.file, p.line);
	if (!e && r && (e = apply(r, &p)))
		snprintf(err, errlen, "%s: out of memory", p.file);
	free_ops(&p);
	return e;
}

int dc_regfile_load(struct dc_reg *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DC_ERR_IO;
	}
	size_t cap = 4096, len = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		size_t got = fread(b + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
		if (len == cap) {
			if (cap >= DC_REGFILE_MAX) {
				free(b);
				fclose(f);
				snprintf(err, errlen, "%s: larger than %u MiB", path,
				         DC_REGFILE_MAX >> 20);
				return DC_ERR_RANGE;
			}
			uint8_t *q = realloc(b, cap * 2);
			if (!q) {
				free(b);
				b = NULL;
				break;
			}
			b = q;
			cap *= 2;
		}
	}
	bool bad = ferror(f);
	fclose(f);
	if (!b || bad) {
		free(b);
		snprintf(err, errlen, "%s: %s", path, b ? "read error" : "out of memory");
		return b ? DC_ERR_IO : DC_ERR_NOMEM;
	}
	int e = dc_regfile_parse(r, path, b, len, err, errlen);
	free(b);
	return e;
}
