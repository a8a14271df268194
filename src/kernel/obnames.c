/* The object manager's namespace of device names, symbolic links and device interfaces: one
 * table per system that IoCreateDevice, the link and interface routines fill and that
 * IoGetDeviceObjectPointer, CreateFile and `dmacoh run --open` resolve through.  See
 * obnames.h for what is modelled and what is not. */
#include "obnames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OB_MAX_REPARSE 32
#define OB_MAX_PATH 512

struct ob_entry {
	enum dc_ob_kind kind;
	WCHAR *name; /* canonical: \DosDevices\ and \GLOBAL??\ spelled \??\ */
	size_t len;
	WCHAR *target; /* a link's target path (canonical) */
	size_t tlen;
	PDEVICE_OBJECT dev; /* a device, or an interface's PDO */
	bool enabled;       /* an interface */
	GUID guid;
};

struct dc_obns {
	struct ob_entry *e;
	size_t n;
	/* What IoGetDeviceObjectPointer hands back as the FILE_OBJECT (opaque to drivers). */
	_Alignas(16) uint8_t file_token[64];
};

/* The directories that exist: a name must live in one of them (or in the root). */
static const char *const dirs[] = {"\\Device", "\\??",         "\\ArcName",
                                   "\\Driver", "\\FileSystem", "\\Callback"};

static struct dc_obns *ns_get(struct dc_sys *s)
{
	if (!s->ob)
		s->ob = calloc(1, sizeof(*s->ob));
	return s->ob;
}

void dc_ob_destroy(struct dc_sys *s)
{
	struct dc_obns *o = s->ob;
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->e[i].name);
		free(o->e[i].target);
	}
	free(o->e);
	free(o);
	s->ob = NULL;
}

/* --- Paths ------------------------------------------------------------------------------------ */

static bool wprefix(const WCHAR *p, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (dc_wup(p[i]) != dc_wup((WCHAR)(unsigned char)pre[i]))
			return false;
	return true;
}

static bool wsame(const WCHAR *a, size_t na, const WCHAR *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (dc_wup(a[i]) != dc_wup(b[i]))
			return false;
	return true;
}

/* The canonical spelling of a path in buf (cap characters): the aliases of \?? replaced.
 * Returns its length, or (size_t)-1 if it does not fit. */
static size_t canon(const WCHAR *p, size_t n, WCHAR *buf, size_t cap)
{
	static const char *const alias[] = {"\\DosDevices", "\\GLOBAL??"};
	size_t skip = 0;
	for (size_t i = 0; i < DC_ARRAY_SIZE(alias) && !skip; i++) {
		size_t k = strlen(alias[i]);
		if (wprefix(p, n, alias[i]) && (n == k || p[k] == '\\'))
			skip = k;
	}
	size_t out = 0;
	if (skip) {
		buf[0] = '\\', buf[1] = '?', buf[2] = '?';
		out = 3;
	}
	if (out + (n - skip) > cap)
		return (size_t)-1;
	memcpy(buf + out, p + skip, (n - skip) * sizeof(WCHAR));
	return out + n - skip;
}

/* Whether the directory part of a path (everything before its last '\') exists. */
static bool dir_exists(const WCHAR *p, size_t n)
{
	size_t last = n;
	while (last > 0 && p[last - 1] != '\\')
		last--;
	if (last <= 1)
		return true; /* in the root */
	for (size_t i = 0; i < DC_ARRAY_SIZE(dirs); i++)
		if (strlen(dirs[i]) == last - 1 && wprefix(p, last - 1, dirs[i]))
			return true;
	return false;
}

/* A name a driver passes: NTSTATUS of its syntax (success, or why not). */
static NTSTATUS name_syntax(const WCHAR *p, size_t n)
{
	if (!n)
		return STATUS_OBJECT_NAME_INVALID;
	if (p[0] != '\\')
		return STATUS_OBJECT_PATH_SYNTAX_BAD;
	if (p[n - 1] == '\\' || n == 1)
		return STATUS_OBJECT_NAME_INVALID;
	for (size_t i = 1; i < n; i++)
		if (p[i] == 0 || (p[i] == '\\' && p[i - 1] == '\\'))
			return STATUS_OBJECT_NAME_INVALID;
	return STATUS_SUCCESS;
}

static struct ob_entry *find(struct dc_obns *o, const WCHAR *p, size_t n)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (wsame(o->e[i].name, o->e[i].len, p, n))
			return &o->e[i];
	return NULL;
}

/* A copy of the counted string, read through the cache model (driver memory). */
static WCHAR *take(struct dc_sys *s, PCUNICODE_STRING u, size_t *n, WCHAR *cbuf, size_t cap)
{
	dc_ktouch(s, (void *)(uintptr_t)u, sizeof(*u), false);
	size_t len = u->Buffer ? u->Length / sizeof(WCHAR) : 0;
	if (len > OB_MAX_PATH)
		return NULL;
	if (len)
		dc_ktouch(s, u->Buffer, len * sizeof(WCHAR), false);
	WCHAR raw[OB_MAX_PATH];
	if (len)
		memcpy(raw, u->Buffer, len * sizeof(WCHAR));
	size_t k = canon(raw, len, cbuf, cap);
	if (k == (size_t)-1)
		return NULL;
	*n = k;
	return cbuf;
}

static struct ob_entry *add(struct dc_obns *o, enum dc_ob_kind kind, const WCHAR *p, size_t n)
{
	struct ob_entry *e = realloc(o->e, (o->n + 1) * sizeof(*e));
	if (!e)
		return NULL;
	o->e = e;
	e = &o->e[o->n];
	memset(e, 0, sizeof(*e));
	e->name = malloc((n ? n : 1) * sizeof(WCHAR));
	if (!e->name)
		return NULL;
	memcpy(e->name, p, n * sizeof(WCHAR));
	e->len = n;
	e->kind = kind;
	o->n++;
	return e;
}

static void drop(struct dc_obns *o, size_t i)
{
	free(o->e[i].name);
	free(o->e[i].target);
	memmove(&o->e[i], &o->e[i + 1], (o->n - i - 1) * sizeof(o->e[0]));
	o->n--;
}

/* --- What drivers do -------------------------------------------------------------------------- */

NTSTATUS dc_ob_name_device(struct dc_sys *s, PCUNICODE_STRING name, PDEVICE_OBJECT dev)
{
	struct dc_obns *o = ns_get(s);
	WCHAR buf[OB_MAX_PATH];
	size_t n = 0;
	if (!o)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (!take(s, name, &n, buf, DC_ARRAY_SIZE(buf)))
		return STATUS_OBJECT_NAME_INVALID;
	NTSTATUS st = name_syntax(buf, n);
	if (!NT_SUCCESS(st))
		return st;
	if (!dir_exists(buf, n))
		return STATUS_OBJECT_PATH_NOT_FOUND;
	if (find(o, buf, n))
		return STATUS_OBJECT_NAME_COLLISION;
	struct ob_entry *e = add(o, DC_OB_DEVICE, buf, n);
	if (!e)
		return STATUS_INSUFFICIENT_RESOURCES;
	e->dev = dev;
	return STATUS_SUCCESS;
}

void dc_ob_forget_device(struct dc_sys *s, PDEVICE_OBJECT dev)
{
	struct dc_obns *o = s->ob;
	for (size_t i = 0; o && i < o->n;)
		if (o->e[i].kind != DC_OB_LINK && o->e[i].dev == dev)
			drop(o, i);
		else
			i++;
}

NTSTATUS dc_ob_link(struct dc_sys *s, PCUNICODE_STRING link, PCUNICODE_STRING target)
{
	struct dc_obns *o = ns_get(s);
	WCHAR lb[OB_MAX_PATH], tb[OB_MAX_PATH];
	size_t ln = 0, tn = 0;
	if (!o)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (!take(s, link, &ln, lb, DC_ARRAY_SIZE(lb)) ||
	    !take(s, target, &tn, tb, DC_ARRAY_SIZE(tb)))
		return STATUS_OBJECT_NAME_INVALID;
	NTSTATUS st = name_syntax(lb, ln);
	if (NT_SUCCESS(st))
		st = name_syntax(tb, tn);
	if (!NT_SUCCESS(st))
		return st;
	if (!dir_exists(lb, ln))
		return STATUS_OBJECT_PATH_NOT_FOUND;
	if (find(o, lb, ln))
		return STATUS_OBJECT_NAME_COLLISION;
	struct ob_entry *e = add(o, DC_OB_LINK, lb, ln);
	if (!e)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (!(e->target = malloc(tn * sizeof(WCHAR)))) {
		drop(o, o->n - 1);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memcpy(e->target, tb, tn * sizeof(WCHAR));
	e->tlen = tn;
	return STATUS_SUCCESS;
}

NTSTATUS dc_ob_unlink(struct dc_sys *s, PCUNICODE_STRING link)
{
	struct dc_obns *o = s->ob;
	WCHAR lb[OB_MAX_PATH];
	size_t ln = 0;
	if (!take(s, link, &ln, lb, DC_ARRAY_SIZE(lb)))
		return STATUS_OBJECT_NAME_INVALID;
	for (size_t i = 0; o && i < o->n; i++)
		if (o->e[i].kind == DC_OB_LINK && wsame(o->e[i].name, o->e[i].len, lb, ln)) {
			drop(o, i);
			return STATUS_SUCCESS;
		}
	return STATUS_OBJECT_NAME_NOT_FOUND;
}

NTSTATUS dc_ob_register_interface(struct dc_sys *s, PDEVICE_OBJECT pdo, const GUID *g,
                                  PCUNICODE_STRING ref, PUNICODE_STRING link)
{
	struct dc_obns *o = ns_get(s);
	struct dc_sysdev *d = dc_io_pdo_sysdev(pdo);
	if (!d)
		return STATUS_INVALID_DEVICE_REQUEST; /* not a PDO */
	if (!o)
		return STATUS_INSUFFICIENT_RESOURCES;
	char r[128] = "";
	if (ref && ref->Buffer) {
		dc_ktouch(s, (void *)(uintptr_t)ref, sizeof(*ref), false);
		size_t n = DC_MIN((size_t)ref->Length / sizeof(WCHAR), sizeof(r) - 1);
		if (n)
			dc_ktouch(s, ref->Buffer, n * sizeof(WCHAR), false);
		for (size_t i = 0; i < n; i++)
			r[i] = ref->Buffer[i] < 128 ? (char)ref->Buffer[i] : '?';
		r[n] = 0;
	}
	char name[300];
	snprintf(name, sizeof(name),
	         "\\??\\dmacoh#%s#%04u#{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}%s%s",
	         d->kind, d->instance, (unsigned)g->Data1, g->Data2, g->Data3, g->Data4[0],
	         g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6],
	         g->Data4[7], *r ? "\\" : "", r);
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	size_t n = strlen(name);
	WCHAR tmp[300];
	for (size_t i = 0; i <= n; i++)
		tmp[i] = (WCHAR)(unsigned char)name[i];
	struct ob_entry *e = find(o, tmp, n);
	if (e && e->kind != DC_OB_IFACE)
		return STATUS_OBJECT_NAME_COLLISION;
	if (!e && (e = add(o, DC_OB_IFACE, tmp, n)) != NULL) {
		e->dev = pdo;
		e->guid = *g;
	}
	/* The caller frees the string with RtlFreeUnicodeString (ExFreePool). */
	WCHAR *buf = e ? ExAllocatePoolWithTag(PagedPool, (n + 1) * sizeof(WCHAR), 'fIcD') : NULL;
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_ktouch(s, buf, (n + 1) * sizeof(WCHAR), true);
	memcpy(buf, tmp, (n + 1) * sizeof(WCHAR));
	dc_ktouch(s, link, sizeof(*link), true);
	link->Buffer = buf;
	link->Length = (USHORT)(n * sizeof(WCHAR));
	link->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS dc_ob_interface_state(struct dc_sys *s, PCUNICODE_STRING link, bool enable)
{
	WCHAR lb[OB_MAX_PATH];
	size_t ln = 0;
	if (!take(s, link, &ln, lb, DC_ARRAY_SIZE(lb)))
		return STATUS_OBJECT_NAME_NOT_FOUND;
	struct ob_entry *e = find(s->ob, lb, ln);
	if (!e || e->kind != DC_OB_IFACE)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	e->enabled = enable;
	return STATUS_SUCCESS;
}

/* --- Resolving ----------------------------------------------------------------------------------
 */

NTSTATUS dc_ob_lookup(struct dc_sys *s, const WCHAR *name, size_t n, PDEVICE_OBJECT *dev)
{
	struct dc_obns *o = s->ob;
	WCHAR a[OB_MAX_PATH], b[OB_MAX_PATH];
	*dev = NULL;
	size_t len = canon(name, n, a, DC_ARRAY_SIZE(a));
	if (len == (size_t)-1 || !len || a[0] != '\\')
		return STATUS_OBJECT_NAME_INVALID;
	WCHAR *p = a;
	for (int hop = 0; hop < OB_MAX_REPARSE; hop++) {
		/* \??\GLOBALROOT is a link to the root. */
		if (wprefix(p, len, "\\??\\GLOBALROOT") && (len == 14 || p[14] == '\\')) {
			memmove(p, p + 14, (len - 14) * sizeof(WCHAR));
			len -= 14;
			if (!len)
				return STATUS_OBJECT_NAME_INVALID;
			continue;
		}
		struct ob_entry *best = NULL;
		for (size_t i = 0; o && i < o->n; i++) {
			struct ob_entry *e = &o->e[i];
			if (e->len > len || (best && e->len <= best->len))
				continue;
			if ((e->len == len || p[e->len] == '\\') &&
			    wsame(e->name, e->len, p, e->len))
				best = e;
		}
		if (!best)
			return dir_exists(p, len) ? STATUS_OBJECT_NAME_NOT_FOUND
			                          : STATUS_OBJECT_PATH_NOT_FOUND;
		if (best->kind == DC_OB_DEVICE) {
			*dev = best->dev;
			return STATUS_SUCCESS;
		}
		if (best->kind == DC_OB_IFACE) {
			if (!best->enabled)
				return STATUS_OBJECT_NAME_NOT_FOUND;
			*dev = best->dev;
			return STATUS_SUCCESS;
		}
		/* A link: its target, then the rest of the path. */
		size_t rest = len - best->len;
		if (best->tlen + rest > OB_MAX_PATH)
			return STATUS_OBJECT_NAME_INVALID;
		WCHAR *q = p == a ? b : a;
		memcpy(q, best->target, best->tlen * sizeof(WCHAR));
		memcpy(q + best->tlen, p + best->len, rest * sizeof(WCHAR));
		p = q;
		len = best->tlen + rest;
	}
	return STATUS_OBJECT_NAME_NOT_FOUND;
}

NTSTATUS dc_ob_lookup_a(struct dc_sys *s, const char *name, PDEVICE_OBJECT *dev)
{
	WCHAR w[OB_MAX_PATH];
	size_t n = strlen(name);
	if (n > OB_MAX_PATH) {
		*dev = NULL;
		return STATUS_OBJECT_NAME_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		w[i] = (WCHAR)(unsigned char)name[i];
	return dc_ob_lookup(s, w, n, dev);
}

uint32_t dc_ob_win32_path(const char *path, char *out, size_t cap)
{
	if (strncmp(path, "\\\\.\\", 4) && strncmp(path, "\\\\?\\", 4))
		return 3; /* ERROR_PATH_NOT_FOUND: not a device path (no files on disk here) */
	const char *rest = path + 4;
	size_t n = strlen(rest);
	if (!n || n + 4 >= cap || n > OB_MAX_PATH - 4 || rest[0] == '\\')
		return 123; /* ERROR_INVALID_NAME */
	for (const char *c = rest; *c; c++)
		if ((unsigned char)*c < 32 || strchr("/*?\"<>|", *c))
			return 123;
	snprintf(out, cap, "\\??\\%s", rest);
	return 0;
}

bool dc_ob_entry(struct dc_sys *s, size_t i, enum dc_ob_kind *kind, PDEVICE_OBJECT *dev, char *buf,
                 size_t cap)
{
	struct dc_obns *o = s->ob;
	if (!o || i >= o->n || !cap)
		return false;
	const struct ob_entry *e = &o->e[i];
	size_t k = DC_MIN(e->len, cap - 1);
	for (size_t j = 0; j < k; j++)
		buf[j] = e->name[j] < 128 ? (char)e->name[j] : '?';
	buf[k] = 0;
	*kind = e->kind;
	*dev = NULL;
	if (e->kind == DC_OB_LINK)
		(void)dc_ob_lookup(s, e->name, e->len, dev);
	else
		*dev = e->dev;
	return true;
}

bool dc_ob_interface(struct dc_sys *s, const GUID *g, size_t i, char *buf, size_t cap)
{
	struct dc_obns *o = s->ob;
	for (size_t j = 0; o && j < o->n; j++) {
		const struct ob_entry *e = &o->e[j];
		if (e->kind != DC_OB_IFACE || !e->enabled || memcmp(&e->guid, g, sizeof(*g)))
			continue;
		if (i--)
			continue;
		size_t k = DC_MIN(e->len - 4, cap - 1);
		for (size_t c = 0; c < k; c++)
			buf[c] = e->name[c + 4] < 128 ? (char)e->name[c + 4] : '?';
		buf[k] = 0;
		return true;
	}
	return false;
}

void *dc_ob_file_token(struct dc_sys *s)
{
	struct dc_obns *o = ns_get(s);
	return o ? o->file_token : NULL;
}
