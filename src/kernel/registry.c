/* The simulated registry's store: a tree of keys with typed values under \REGISTRY and the
 * table of handles drivers hold on keys (the Zw*Key routines over it are in zwkey.c).  Subkeys
 * enumerate in name order (case-insensitive), values in the order they were created, as the
 * configuration manager does.  Pure data: no kernel state, so the .reg parser's fuzzer links it
 * alone.  Not modelled: volatile keys, symbolic-link keys, last-write times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacoh/common.h"
#include "registry.h"

struct dc_regval {
	WCHAR *name;
	size_t nlen;
	ULONG type;
	uint8_t *data;
	size_t len;
};

struct dc_regkey {
	WCHAR *name;
	size_t nlen;
	struct dc_regkey *parent;
	struct dc_regkey **subs;
	size_t n_subs, cap_subs;
	struct dc_regval *vals;
	size_t n_vals, cap_vals;
	bool deleted;
	struct dc_regkey *next_dead; /* deleted keys live until the registry goes */
};

/* Key handles: kernel handles (the high bit set, as OBJ_KERNEL_HANDLE ones are on x64), a
 * multiple of 4 from DC_REGH_BASE; slot i of the table is handle DC_REGH_BASE + 4 * (i + 1). */
#define DC_REGH_BASE UINT64_C(0xFFFFFFFF80100000)
#define DC_REGH_MAX 4096u

struct dc_reg {
	struct dc_regkey *root;
	struct dc_regkey *dead;
	struct dc_regkey **handles;
	size_t n_handles, cap_handles, open;
};

/* --- The tree ------------------------------------------------------------------------------ */

static int wcmp(const WCHAR *a, size_t an, const WCHAR *b, size_t bn)
{
	for (size_t i = 0; i < an && i < bn; i++) {
		WCHAR x = dc_wup(a[i]), y = dc_wup(b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static struct dc_regkey *key_new(const WCHAR *name, size_t n)
{
	struct dc_regkey *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->name = malloc((n + 1) * sizeof(WCHAR));
	if (!k->name) {
		free(k);
		return NULL;
	}
	memcpy(k->name, name, n * sizeof(WCHAR));
	k->name[n] = 0;
	k->nlen = n;
	return k;
}

static void key_free(struct dc_regkey *k)
{
	for (size_t i = 0; i < k->n_subs; i++)
		key_free(k->subs[i]);
	for (size_t i = 0; i < k->n_vals; i++) {
		free(k->vals[i].name);
		free(k->vals[i].data);
	}
	free(k->subs);
	free(k->vals);
	free(k->name);
	free(k);
}

/* The index of the subkey named name, or where it would go (*found false). */
static size_t sub_find(const struct dc_regkey *k, const WCHAR *name, size_t n, bool *found)
{
	size_t lo = 0, hi = k->n_subs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = wcmp(k->subs[mid]->name, k->subs[mid]->nlen, name, n);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct dc_regkey *sub_get(struct dc_regkey *k, const WCHAR *name, size_t n, bool create,
                                 bool *created)
{
	bool found;
	size_t i = sub_find(k, name, n, &found);
	if (found)
		return k->subs[i];
	if (!create)
		return NULL;
	if (k->n_subs == k->cap_subs) {
		size_t cap = k->cap_subs ? 2 * k->cap_subs : 4;
		struct dc_regkey **p = realloc(k->subs, cap * sizeof(*p));
		if (!p)
			return NULL;
		k->subs = p;
		k->cap_subs = cap;
	}
	struct dc_regkey *c = key_new(name, n);
	if (!c)
		return NULL;
	c->parent = k;
	memmove(k->subs + i + 1, k->subs + i, (k->n_subs - i) * sizeof(*k->subs));
	k->subs[i] = c;
	k->n_subs++;
	if (created)
		*created = true;
	return c;
}

struct dc_reg *dc_reg_create(void)
{
	struct dc_reg *r = calloc(1, sizeof(*r));
	static const WCHAR root[] = {'R', 'E', 'G', 'I', 'S', 'T', 'R', 'Y'};
	if (!r || !(r->root = key_new(root, 8))) {
		free(r);
		return NULL;
	}
	/* What every Windows system has, so that drivers' usual paths resolve. */
	static const char *const std[] = {
	    "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
	    "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class",
	    "\\Registry\\Machine\\System\\CurrentControlSet\\Enum",
	    "\\Registry\\Machine\\Hardware\\DeviceMap",
	    "\\Registry\\Machine\\Hardware\\Description\\System",
	    "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
	    "\\Registry\\User\\.Default",
	};
	for (size_t i = 0; i < DC_ARRAY_SIZE(std); i++)
		if (!dc_reg_mkpath(r, std[i])) {
			dc_reg_destroy(r);
			return NULL;
		}
	return r;
}

void dc_reg_destroy(struct dc_reg *r)
{
	if (!r)
		return;
	key_free(r->root);
	while (r->dead) {
		struct dc_regkey *k = r->dead;
		r->dead = k->next_dead;
		key_free(k);
	}
	free(r->handles);
	free(r);
}

struct dc_regkey *dc_reg_root(struct dc_reg *r)
{
	return r->root;
}

struct dc_regkey *dc_reg_walk(struct dc_reg *r, struct dc_regkey *from, const WCHAR *path, size_t n,
                              bool create, bool create_all, bool *created, bool *bad)
{
	if (created)
		*created = false;
	if (bad)
		*bad = false;
	struct dc_regkey *k = from;
	size_t i = 0;
	if (!k) {
		/* Absolute: \REGISTRY first. */
		if (!n || path[0] != '\\') {
			if (bad)
				*bad = true;
			return NULL;
		}
		i = 1;
		size_t j = i;
		while (j < n && path[j] != '\\')
			j++;
		if (wcmp(path + i, j - i, r->root->name, r->root->nlen))
			return NULL;
		k = r->root;
		i = j;
	}
	if (k->deleted)
		return NULL;
	while (i < n) {
		if (path[i] == '\\') {
			i++;
			if (i < n && path[i] == '\\') {
				if (bad)
					*bad = true;
				return NULL;
			}
			continue;
		}
		size_t j = i;
		while (j < n && path[j] != '\\')
			j++;
		bool last = true;
		for (size_t t = j; t < n; t++)
			if (path[t] != '\\')
				last = false;
		bool made = false;
		struct dc_regkey *c =
		    sub_get(k, path + i, j - i, create && (create_all || last), &made);
		if (!c)
			return NULL;
		if (last && created)
			*created = made;
		k = c;
		i = j;
	}
	return k;
}

struct dc_regkey *dc_reg_mkpath(struct dc_reg *r, const char *path)
{
	size_t n = strlen(path);
	WCHAR *w = malloc((n + 1) * sizeof(WCHAR));
	if (!w)
		return NULL;
	for (size_t i = 0; i < n; i++)
		w[i] = (WCHAR)(unsigned char)path[i];
	struct dc_regkey *k = dc_reg_walk(r, NULL, w, n, true, true, NULL, NULL);
	free(w);
	return k;
}

static struct dc_regval *val_find(const struct dc_regkey *k, const WCHAR *name, size_t n)
{
	for (size_t i = 0; i < k->n_vals; i++)
		if (!wcmp(k->vals[i].name, k->vals[i].nlen, name, n))
			return &k->vals[i];
	return NULL;
}

int dc_reg_set(struct dc_regkey *k, const WCHAR *name, size_t n, ULONG type, const void *data,
               size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return DC_ERR_NOMEM;
	if (len)
		memcpy(copy, data, len);
	struct dc_regval *v = val_find(k, name, n);
	if (!v) {
		if (k->n_vals == k->cap_vals) {
			size_t cap = k->cap_vals ? 2 * k->cap_vals : 4;
			struct dc_regval *p = realloc(k->vals, cap * sizeof(*p));
			if (!p) {
				free(copy);
				return DC_ERR_NOMEM;
			}
			k->vals = p;
			k->cap_vals = cap;
		}
		WCHAR *nm = malloc((n + 1) * sizeof(WCHAR));
		if (!nm) {
			free(copy);
			return DC_ERR_NOMEM;
		}
		memcpy(nm, name, n * sizeof(WCHAR));
		nm[n] = 0;
		v = &k->vals[k->n_vals++];
		*v = (struct dc_regval){.name = nm, .nlen = n};
	}
	free(v->data);
	v->data = copy;
	v->len = len;
	v->type = type;
	return DC_OK;
}

int dc_reg_set_ascii(struct dc_regkey *k, const char *name, ULONG type, const void *data,
                     size_t len)
{
	WCHAR w[256];
	size_t n = strlen(name);
	if (n > DC_ARRAY_SIZE(w))
		return DC_ERR_RANGE;
	for (size_t i = 0; i < n; i++)
		w[i] = (WCHAR)(unsigned char)name[i];
	return dc_reg_set(k, w, n, type, data, len);
}

int dc_reg_set_sz(struct dc_regkey *k, const char *name, const char *value, bool multi)
{
	size_t n = strlen(value);
	WCHAR *w = calloc(n + 2, sizeof(WCHAR));
	if (!w)
		return DC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		w[i] = multi && value[i] == '\n' ? 0 : (WCHAR)(unsigned char)value[i];
	size_t chars = n + 1 + (multi ? 1 : 0);
	int e = dc_reg_set_ascii(k, name, multi ? REG_MULTI_SZ : REG_SZ, w, chars * sizeof(WCHAR));
	free(w);
	return e;
}

bool dc_reg_delete_value(struct dc_regkey *k, const WCHAR *name, size_t n)
{
	struct dc_regval *v = val_find(k, name, n);
	if (!v)
		return false;
	free(v->name);
	free(v->data);
	size_t i = (size_t)(v - k->vals);
	memmove(k->vals + i, k->vals + i + 1, (k->n_vals - i - 1) * sizeof(*v));
	k->n_vals--;
	return true;
}

static void mark_deleted(struct dc_regkey *k)
{
	k->deleted = true;
	for (size_t i = 0; i < k->n_subs; i++)
		mark_deleted(k->subs[i]);
}

void dc_reg_delete_key(struct dc_reg *r, struct dc_regkey *k)
{
	struct dc_regkey *p = k->parent;
	if (!p || k->deleted)
		return;
	bool found;
	size_t i = sub_find(p, k->name, k->nlen, &found);
	if (found && p->subs[i] == k) {
		memmove(p->subs + i, p->subs + i + 1, (p->n_subs - i - 1) * sizeof(*p->subs));
		p->n_subs--;
	}
	k->parent = NULL;
	mark_deleted(k);
	k->next_dead = r->dead;
	r->dead = k;
}

bool dc_reg_key_deleted(const struct dc_regkey *k)
{
	return k->deleted;
}

static void view_of(const struct dc_regval *v, struct dc_regval_view *out)
{
	*out = (struct dc_regval_view){
	    .name = v->name, .nlen = v->nlen, .type = v->type, .data = v->data, .len = v->len};
}

bool dc_reg_get(const struct dc_regkey *k, const WCHAR *name, size_t n, struct dc_regval_view *v)
{
	const struct dc_regval *x = val_find(k, name, n);
	if (x)
		view_of(x, v);
	return x != NULL;
}

bool dc_reg_get_ascii(const struct dc_regkey *k, const char *name, struct dc_regval_view *v)
{
	WCHAR w[256];
	size_t n = strlen(name);
	if (n > DC_ARRAY_SIZE(w))
		return false;
	for (size_t i = 0; i < n; i++)
		w[i] = (WCHAR)(unsigned char)name[i];
	return dc_reg_get(k, w, n, v);
}

bool dc_reg_value_at(const struct dc_regkey *k, size_t i, struct dc_regval_view *v)
{
	if (i >= k->n_vals)
		return false;
	view_of(&k->vals[i], v);
	return true;
}

size_t dc_reg_n_values(const struct dc_regkey *k)
{
	return k->n_vals;
}

size_t dc_reg_n_subkeys(const struct dc_regkey *k)
{
	return k->n_subs;
}

struct dc_regkey *dc_reg_subkey_at(const struct dc_regkey *k, size_t i)
{
	return i < k->n_subs ? k->subs[i] : NULL;
}

const WCHAR *dc_reg_key_name(const struct dc_regkey *k, size_t *n)
{
	*n = k->nlen;
	return k->name;
}

void dc_reg_key_path(const struct dc_regkey *k, char *buf, size_t len)
{
	if (!len)
		return;
	const struct dc_regkey *chain[64];
	size_t n = 0;
	for (const struct dc_regkey *c = k; c && n < DC_ARRAY_SIZE(chain); c = c->parent)
		chain[n++] = c;
	size_t o = 0;
	buf[0] = 0;
	while (n--) {
		if (o + 1 < len)
			buf[o++] = '\\';
		for (size_t i = 0; i < chain[n]->nlen && o + 1 < len; i++) {
			WCHAR c = chain[n]->name[i];
			buf[o++] = c < 0x80 ? (char)c : '?';
		}
	}
	buf[o] = 0;
}

/* --- Handles ------------------------------------------------------------------------------- */

HANDLE dc_reg_handle_open(struct dc_reg *r, struct dc_regkey *k)
{
	size_t i = 0;
	while (i < r->n_handles && r->handles[i])
		i++;
	if (i == r->n_handles) {
		if (r->n_handles == DC_REGH_MAX)
			return NULL;
		if (r->n_handles == r->cap_handles) {
			size_t cap = r->cap_handles ? 2 * r->cap_handles : 16;
			struct dc_regkey **p = realloc(r->handles, cap * sizeof(*p));
			if (!p)
				return NULL;
			r->handles = p;
			r->cap_handles = cap;
		}
		r->n_handles++;
	}
	r->handles[i] = k;
	r->open++;
	return (HANDLE)(uintptr_t)(DC_REGH_BASE + 4 * (i + 1));
}

bool dc_reg_is_handle(HANDLE h)
{
	uint64_t v = (uint64_t)(uintptr_t)h;
	return v > DC_REGH_BASE && v <= DC_REGH_BASE + 4 * (uint64_t)DC_REGH_MAX &&
	       (v - DC_REGH_BASE) % 4 == 0;
}

struct dc_regkey *dc_reg_handle_key(struct dc_reg *r, HANDLE h)
{
	if (!r || !dc_reg_is_handle(h))
		return NULL;
	size_t i = (size_t)(((uint64_t)(uintptr_t)h - DC_REGH_BASE) / 4 - 1);
	return i < r->n_handles ? r->handles[i] : NULL;
}

NTSTATUS dc_reg_handle_close(struct dc_reg *r, HANDLE h)
{
	if (!dc_reg_handle_key(r, h))
		return STATUS_INVALID_HANDLE;
	size_t i = (size_t)(((uint64_t)(uintptr_t)h - DC_REGH_BASE) / 4 - 1);
	r->handles[i] = NULL;
	r->open--;
	return STATUS_SUCCESS;
}

size_t dc_reg_open_handles(const struct dc_reg *r)
{
	return r ? r->open : 0;
}
