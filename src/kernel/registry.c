/* The simulated registry: a tree of keys with typed values under \REGISTRY, the handles a
 * driver opens on keys, and the Zw*Key routines with Windows' statuses, buffer rules and IRQL
 * (PASSIVE_LEVEL).  Subkeys enumerate in name order (case-insensitive), values in the order they
 * were created, as the configuration manager does.  Not modelled: access checks (every
 * DesiredAccess is granted), volatile keys, symbolic-link keys, last-write times (always 0),
 * title indexes (always 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "registry.h"

#define RA() __builtin_return_address(0)

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

struct dc_reg *dc_reg_of(struct dc_sys *s)
{
	if (!s->reg)
		s->reg = dc_reg_create();
	return s->reg;
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

/* --- The driver's service key ------------------------------------------------------------- */

void dc_reg_driver_key(struct dc_sys *s, const char *name, WCHAR *buf, size_t cap,
                       UNICODE_STRING *path)
{
	char p[256];
	snprintf(p, sizeof(p), "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s",
	         name);
	size_t n = strlen(p);
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (WCHAR)(unsigned char)p[i];
	buf[n] = 0;
	path->Buffer = buf;
	path->Length = (USHORT)(n * sizeof(WCHAR));
	path->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
	struct dc_reg *r = dc_reg_of(s);
	struct dc_regkey *k = r ? dc_reg_mkpath(r, p) : NULL;
	if (!k)
		return;
	/* What an installed kernel driver's service key holds; a .reg file may have set them. */
	struct dc_regval_view v;
	ULONG one = 1, demand = 3;
	if (!dc_reg_get_ascii(k, "Type", &v))
		dc_reg_set_ascii(k, "Type", REG_DWORD, &one, 4);
	if (!dc_reg_get_ascii(k, "Start", &v))
		dc_reg_set_ascii(k, "Start", REG_DWORD, &demand, 4);
	if (!dc_reg_get_ascii(k, "ErrorControl", &v))
		dc_reg_set_ascii(k, "ErrorControl", REG_DWORD, &one, 4);
	if (!dc_reg_get_ascii(k, "ImagePath", &v)) {
		char img[128];
		snprintf(img, sizeof(img), "\\SystemRoot\\System32\\drivers\\%.64s.sys", name);
		dc_reg_set_sz(k, "ImagePath", img, false);
	}
	WCHAR params[] = {'P', 'a', 'r', 'a', 'm', 'e', 't', 'e', 'r', 's'};
	dc_reg_walk(r, k, params, DC_ARRAY_SIZE(params), true, false, NULL, NULL);
}

/* --- Zw*Key ------------------------------------------------------------------------------- */

/* A driver's UNICODE_STRING, read through the cache model: NULL if it is not one. */
static const WCHAR *ustr(struct dc_sys *s, const UNICODE_STRING *u, size_t *n)
{
	if (!u)
		return NULL;
	dc_ktouch(s, u, sizeof(*u), false);
	if (u->Length % 2 || u->Length > u->MaximumLength || (u->Length && !u->Buffer))
		return NULL;
	*n = u->Length / sizeof(WCHAR);
	if (*n)
		dc_ktouch(s, u->Buffer, u->Length, false);
	return u->Buffer ? u->Buffer : (const WCHAR *)u;
}

static NTSTATUS handle_key(struct dc_sys *s, HANDLE h, struct dc_regkey **k)
{
	*k = dc_reg_handle_key(s->reg, h);
	if (!*k)
		return STATUS_INVALID_HANDLE;
	return (*k)->deleted ? STATUS_KEY_DELETED : STATUS_SUCCESS;
}

static NTSTATUS open_or_create(struct dc_sys *s, PHANDLE KeyHandle, POBJECT_ATTRIBUTES oa,
                               bool create, PULONG Disposition)
{
	if (!KeyHandle || !oa)
		return STATUS_ACCESS_VIOLATION;
	dc_ktouch(s, oa, sizeof(*oa), false);
	if (oa->Length != sizeof(OBJECT_ATTRIBUTES))
		return STATUS_INVALID_PARAMETER;
	struct dc_reg *r = dc_reg_of(s);
	if (!r)
		return STATUS_INSUFFICIENT_RESOURCES;
	struct dc_regkey *from = NULL;
	if (oa->RootDirectory) {
		NTSTATUS st = handle_key(s, oa->RootDirectory, &from);
		if (!NT_SUCCESS(st))
			return st;
	}
	size_t n = 0;
	const WCHAR *path = ustr(s, oa->ObjectName, &n);
	if (!path)
		return oa->ObjectName ? STATUS_OBJECT_NAME_INVALID : STATUS_OBJECT_PATH_SYNTAX_BAD;
	if (from && n && path[0] == '\\')
		return STATUS_OBJECT_PATH_SYNTAX_BAD;
	bool created = false, bad = false;
	struct dc_regkey *k = dc_reg_walk(r, from, path, n, create, false, &created, &bad);
	if (bad)
		return STATUS_OBJECT_PATH_SYNTAX_BAD;
	if (!k) {
		if (!create)
			return STATUS_OBJECT_NAME_NOT_FOUND;
		/* Only the last component is created: a missing parent is a path not found. */
		return STATUS_OBJECT_PATH_NOT_FOUND;
	}
	HANDLE h = dc_reg_handle_open(r, k);
	if (!h)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_ktouch(s, KeyHandle, sizeof(*KeyHandle), true);
	*KeyHandle = h;
	if (Disposition) {
		dc_ktouch(s, Disposition, sizeof(*Disposition), true);
		*Disposition = created ? REG_CREATED_NEW_KEY : REG_OPENED_EXISTING_KEY;
	}
	return STATUS_SUCCESS;
}

NTSTATUS ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                     POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex, PUNICODE_STRING Class,
                     ULONG CreateOptions, PULONG Disposition)
{
	(void)DesiredAccess, (void)TitleIndex, (void)Class;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwCreateKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (CreateOptions & ~(ULONG)(REG_OPTION_VOLATILE | REG_OPTION_CREATE_LINK |
	                             REG_OPTION_BACKUP_RESTORE | REG_OPTION_OPEN_LINK))
		return STATUS_INVALID_PARAMETER;
	return open_or_create(s, KeyHandle, ObjectAttributes, true, Disposition);
}

NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                   POBJECT_ATTRIBUTES ObjectAttributes)
{
	(void)DesiredAccess;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwOpenKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	return open_or_create(s, KeyHandle, ObjectAttributes, false, NULL);
}

NTSTATUS ZwDeleteKey(HANDLE KeyHandle)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwDeleteKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	/* Windows deletes only a key without subkeys, and never a root. */
	if (k->n_subs || !k->parent || k == s->reg->root)
		return STATUS_CANNOT_DELETE;
	dc_reg_delete_key(s->reg, k);
	return STATUS_SUCCESS;
}

NTSTATUS ZwFlushKey(HANDLE KeyHandle)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwFlushKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	return handle_key(s, KeyHandle, &k);
}

/* Fills a driver's buffer with a structure of `fixed` bytes followed by variable parts:
 * Windows' rule is STATUS_BUFFER_TOO_SMALL (nothing written) when even the fixed part does not
 * fit, else as much as fits and STATUS_BUFFER_OVERFLOW when the whole does not. */
static NTSTATUS put_info(struct dc_sys *s, void *dst, ULONG len, const uint8_t *src, size_t fixed,
                         size_t total, PULONG ResultLength)
{
	if (!ResultLength)
		return STATUS_ACCESS_VIOLATION;
	dc_ktouch(s, ResultLength, sizeof(*ResultLength), true);
	*ResultLength = (ULONG)total;
	if (len < fixed)
		return STATUS_BUFFER_TOO_SMALL;
	if (!dst)
		return STATUS_ACCESS_VIOLATION;
	size_t n = total < len ? total : len;
	dc_ktouch(s, dst, n, true);
	memcpy(dst, src, n);
	return n < total ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static void put32(uint8_t *p, size_t off, ULONG v)
{
	memcpy(p + off, &v, 4);
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static NTSTATUS value_info(struct dc_sys *s, const struct dc_regval *v,
                           KEY_VALUE_INFORMATION_CLASS cls, PVOID out, ULONG len, PULONG rlen)
{
	size_t name_b = v->nlen * sizeof(WCHAR), fixed, total, doff = 0;
	switch (cls) {
	case KeyValueBasicInformation:
		fixed = offsetof(KEY_VALUE_BASIC_INFORMATION, Name);
		total = fixed + name_b;
		break;
	case KeyValueFullInformation:
	case KeyValueFullInformationAlign64:
		fixed = offsetof(KEY_VALUE_FULL_INFORMATION, Name);
		doff = align_up(fixed + name_b, cls == KeyValueFullInformation ? 4 : 8);
		total = doff + v->len;
		break;
	case KeyValuePartialInformation:
		fixed = offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
		total = fixed + v->len;
		break;
	case KeyValuePartialInformationAlign64:
		fixed = offsetof(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data);
		total = fixed + v->len;
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	uint8_t *b = calloc(1, total + 8);
	if (!b)
		return STATUS_INSUFFICIENT_RESOURCES;
	switch (cls) {
	case KeyValueBasicInformation:
		put32(b, 4, v->type);
		put32(b, 8, (ULONG)name_b);
		memcpy(b + fixed, v->name, name_b);
		break;
	case KeyValueFullInformation:
	case KeyValueFullInformationAlign64:
		put32(b, 4, v->type);
		put32(b, 8, (ULONG)doff);
		put32(b, 12, (ULONG)v->len);
		put32(b, 16, (ULONG)name_b);
		memcpy(b + fixed, v->name, name_b);
		memcpy(b + doff, v->data, v->len);
		break;
	case KeyValuePartialInformation:
		put32(b, 4, v->type);
		put32(b, 8, (ULONG)v->len);
		memcpy(b + fixed, v->data, v->len);
		break;
	default: /* KeyValuePartialInformationAlign64 */
		put32(b, 0, v->type);
		put32(b, 4, (ULONG)v->len);
		memcpy(b + fixed, v->data, v->len);
		break;
	}
	NTSTATUS st = put_info(s, out, len, b, fixed, total, rlen);
	free(b);
	return st;
}

NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                         KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                         PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwQueryValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	if ((unsigned)KeyValueInformationClass > KeyValuePartialInformationAlign64)
		return STATUS_INVALID_PARAMETER;
	size_t n = 0;
	const WCHAR *name = ValueName ? ustr(s, ValueName, &n) : NULL;
	if (ValueName && !name)
		return STATUS_INVALID_PARAMETER;
	const struct dc_regval *v = val_find(k, name, n);
	if (!v)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	return value_info(s, v, KeyValueInformationClass, KeyValueInformation, Length,
	                  ResultLength);
}

NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                             KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                             PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwEnumerateValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	if ((unsigned)KeyValueInformationClass > KeyValuePartialInformationAlign64)
		return STATUS_INVALID_PARAMETER;
	if (Index >= k->n_vals)
		return STATUS_NO_MORE_ENTRIES;
	return value_info(s, &k->vals[Index], KeyValueInformationClass, KeyValueInformation, Length,
	                  ResultLength);
}

static NTSTATUS key_info(struct dc_sys *s, const struct dc_regkey *k, KEY_INFORMATION_CLASS cls,
                         PVOID out, ULONG len, PULONG rlen)
{
	size_t name_b = k->nlen * sizeof(WCHAR), fixed, total;
	uint8_t *b;
	switch (cls) {
	case KeyBasicInformation:
		fixed = offsetof(KEY_BASIC_INFORMATION, Name);
		total = fixed + name_b;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		put32(b, 12, (ULONG)name_b);
		memcpy(b + fixed, k->name, name_b);
		break;
	case KeyNodeInformation:
		fixed = offsetof(KEY_NODE_INFORMATION, Name);
		total = fixed + name_b;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		put32(b, 12, (ULONG)total); /* no class: its offset is the end, its length 0 */
		put32(b, 20, (ULONG)name_b);
		memcpy(b + fixed, k->name, name_b);
		break;
	case KeyFullInformation: {
		fixed = offsetof(KEY_FULL_INFORMATION, Class);
		total = fixed;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		ULONG maxn = 0, maxvn = 0, maxvd = 0;
		for (size_t i = 0; i < k->n_subs; i++)
			if (k->subs[i]->nlen * 2 > maxn)
				maxn = (ULONG)(k->subs[i]->nlen * 2);
		for (size_t i = 0; i < k->n_vals; i++) {
			if (k->vals[i].nlen * 2 > maxvn)
				maxvn = (ULONG)(k->vals[i].nlen * 2);
			if (k->vals[i].len > maxvd)
				maxvd = (ULONG)k->vals[i].len;
		}
		put32(b, 12, (ULONG)fixed);
		put32(b, 20, (ULONG)k->n_subs);
		put32(b, 24, maxn);
		put32(b, 32, (ULONG)k->n_vals);
		put32(b, 36, maxvn);
		put32(b, 40, maxvd);
		break;
	}
	case KeyNameInformation: {
		char path[1024];
		dc_reg_key_path(k, path, sizeof(path));
		size_t n = strlen(path);
		fixed = offsetof(KEY_NAME_INFORMATION, Name);
		total = fixed + n * 2;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		put32(b, 0, (ULONG)(n * 2));
		for (size_t i = 0; i < n; i++) {
			WCHAR c = (WCHAR)(unsigned char)path[i];
			memcpy(b + fixed + 2 * i, &c, 2);
		}
		break;
	}
	default:
		return STATUS_INVALID_PARAMETER;
	}
	NTSTATUS st = put_info(s, out, len, b, fixed, total, rlen);
	free(b);
	return st;
}

NTSTATUS ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
                    PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwQueryKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	return key_info(s, k, KeyInformationClass, KeyInformation, Length, ResultLength);
}

NTSTATUS ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
                        PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwEnumerateKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	if (KeyInformationClass == KeyNameInformation ||
	    (unsigned)KeyInformationClass > KeyNameInformation)
		return STATUS_INVALID_PARAMETER;
	if (Index >= k->n_subs)
		return STATUS_NO_MORE_ENTRIES;
	return key_info(s, k->subs[Index], KeyInformationClass, KeyInformation, Length,
	                ResultLength);
}

NTSTATUS ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type,
                       PVOID Data, ULONG DataSize)
{
	(void)TitleIndex;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwSetValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	size_t n = 0;
	const WCHAR *name = ustr(s, ValueName, &n);
	if (!name)
		return STATUS_INVALID_PARAMETER;
	if (DataSize && !Data)
		return STATUS_ACCESS_VIOLATION;
	if (DataSize)
		dc_ktouch(s, Data, DataSize, false);
	return dc_reg_set(k, name, n, Type, Data, DataSize) ? STATUS_INSUFFICIENT_RESOURCES
	                                                    : STATUS_SUCCESS;
}

NTSTATUS ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwDeleteValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = handle_key(s, KeyHandle, &k);
	if (!NT_SUCCESS(st))
		return st;
	size_t n = 0;
	const WCHAR *name = ustr(s, ValueName, &n);
	if (!name)
		return STATUS_INVALID_PARAMETER;
	return dc_reg_delete_value(k, name, n) ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
}
