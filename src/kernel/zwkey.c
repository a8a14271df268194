/* The Zw*Key routines over the registry store (registry.c), with Windows' statuses, buffer
 * rules (STATUS_BUFFER_TOO_SMALL when even the fixed part does not fit, STATUS_BUFFER_OVERFLOW
 * with as much as fits) and IRQL (PASSIVE_LEVEL); the system's registry, the driver's service
 * key, and loading a .reg file into a system.  Not modelled: access checks (every DesiredAccess
 * is granted), title indexes and last-write times (always 0), key classes (none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "plumb.h"
#include "registry.h"

#define RA() __builtin_return_address(0)

struct dc_reg *dc_reg_of(struct dc_sys *s)
{
	if (!s->reg)
		s->reg = dc_reg_create();
	return s->reg;
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
	return dc_reg_key_deleted(*k) ? STATUS_KEY_DELETED : STATUS_SUCCESS;
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
	if (dc_reg_n_subkeys(k) || k == dc_reg_root(s->reg))
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
	dc_kstore(s, dst, src, n);
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

static NTSTATUS value_info(struct dc_sys *s, const struct dc_regval_view *v,
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

/* What ZwQueryValueKey and ZwEnumerateValueKey check first: the handle, then the class. */
static NTSTATUS value_query_key(struct dc_sys *s, HANDLE h, KEY_VALUE_INFORMATION_CLASS cls,
                                struct dc_regkey **k)
{
	NTSTATUS st = handle_key(s, h, k);
	if (NT_SUCCESS(st) && (unsigned)cls > KeyValuePartialInformationAlign64)
		st = STATUS_INVALID_PARAMETER;
	return st;
}

NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                         KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                         PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwQueryValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = value_query_key(s, KeyHandle, KeyValueInformationClass, &k);
	if (!NT_SUCCESS(st))
		return st;
	size_t n = 0;
	const WCHAR *name = ValueName ? ustr(s, ValueName, &n) : NULL;
	if (ValueName && !name)
		return STATUS_INVALID_PARAMETER;
	struct dc_regval_view v;
	if (!dc_reg_get(k, name, n, &v))
		return STATUS_OBJECT_NAME_NOT_FOUND;
	return value_info(s, &v, KeyValueInformationClass, KeyValueInformation, Length,
	                  ResultLength);
}

NTSTATUS ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                             KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                             PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "ZwEnumerateValueKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_regkey *k;
	NTSTATUS st = value_query_key(s, KeyHandle, KeyValueInformationClass, &k);
	if (!NT_SUCCESS(st))
		return st;
	struct dc_regval_view v;
	if (!dc_reg_value_at(k, Index, &v))
		return STATUS_NO_MORE_ENTRIES;
	return value_info(s, &v, KeyValueInformationClass, KeyValueInformation, Length,
	                  ResultLength);
}

static NTSTATUS key_info(struct dc_sys *s, const struct dc_regkey *k, KEY_INFORMATION_CLASS cls,
                         PVOID out, ULONG len, PULONG rlen)
{
	size_t nlen;
	const WCHAR *kname = dc_reg_key_name(k, &nlen);
	size_t name_b = nlen * sizeof(WCHAR), fixed, total;
	uint8_t *b;
	switch (cls) {
	case KeyBasicInformation:
		fixed = offsetof(KEY_BASIC_INFORMATION, Name);
		total = fixed + name_b;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		put32(b, 12, (ULONG)name_b);
		memcpy(b + fixed, kname, name_b);
		break;
	case KeyNodeInformation:
		fixed = offsetof(KEY_NODE_INFORMATION, Name);
		total = fixed + name_b;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		put32(b, 12, (ULONG)total); /* no class: its offset is the end, its length 0 */
		put32(b, 20, (ULONG)name_b);
		memcpy(b + fixed, kname, name_b);
		break;
	case KeyFullInformation: {
		fixed = offsetof(KEY_FULL_INFORMATION, Class);
		total = fixed;
		if (!(b = calloc(1, total)))
			return STATUS_INSUFFICIENT_RESOURCES;
		ULONG maxn = 0, maxvn = 0, maxvd = 0;
		size_t n_subs = dc_reg_n_subkeys(k), n_vals = dc_reg_n_values(k), sl;
		for (size_t i = 0; i < n_subs; i++)
			if (dc_reg_key_name(dc_reg_subkey_at(k, i), &sl) && sl * 2 > maxn)
				maxn = (ULONG)(sl * 2);
		struct dc_regval_view v;
		for (size_t i = 0; i < n_vals && dc_reg_value_at(k, i, &v); i++) {
			if (v.nlen * 2 > maxvn)
				maxvn = (ULONG)(v.nlen * 2);
			if (v.len > maxvd)
				maxvd = (ULONG)v.len;
		}
		put32(b, 12, (ULONG)fixed);
		put32(b, 20, (ULONG)n_subs);
		put32(b, 24, maxn);
		put32(b, 32, (ULONG)n_vals);
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
	if (Index >= dc_reg_n_subkeys(k))
		return STATUS_NO_MORE_ENTRIES;
	return key_info(s, dc_reg_subkey_at(k, Index), KeyInformationClass, KeyInformation, Length,
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

int dc_sys_load_registry(struct dc_sys *s, const char *path, char *err, size_t errlen)
{
	struct dc_reg *r = dc_reg_of(s);
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return DC_ERR_NOMEM;
	}
	return dc_regfile_load(r, path, err, errlen);
}
