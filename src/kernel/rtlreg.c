/* The Rtl registry helpers over the simulated registry: RtlQueryRegistryValues (query tables
 * with SUBKEY/TOPKEY, REQUIRED, NOVALUE, NOEXPAND, DIRECT with its UNICODE_STRING and ULONG
 * rules, TYPECHECK, DELETE, defaults and the callback form, RTL_REGISTRY_* bases, _HANDLE and
 * _OPTIONAL), RtlWriteRegistryValue, RtlDeleteRegistryValue, RtlCreateRegistryKey and
 * RtlCheckRegistryKey; all at PASSIVE_LEVEL.  Not modelled: environment expansion of
 * REG_EXPAND_SZ (the string is passed as REG_SZ unexpanded; Environment is ignored) and the
 * Windows 8 rule that refuses DIRECT without TYPECHECK on untrusted keys (every key is
 * trusted here). */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "registry.h"

#define RA() __builtin_return_address(0)

static size_t wlen(struct dc_sys *s, const WCHAR *w)
{
	size_t n = 0;
	while (dc_ktouch(s, w + n, sizeof(WCHAR), false), w[n])
		n++;
	return n;
}

/* The key RelativeTo and Path name (NULL: missing), *st the status to return if so. */
static struct dc_regkey *base_key(struct dc_sys *s, ULONG RelativeTo, PCWSTR Path, bool create,
                                  NTSTATUS *st)
{
	struct dc_reg *r = dc_reg_of(s);
	*st = STATUS_INSUFFICIENT_RESOURCES;
	if (!r)
		return NULL;
	*st = STATUS_INVALID_PARAMETER;
	ULONG rel = RelativeTo & ~(ULONG)RTL_REGISTRY_OPTIONAL;
	if (rel & RTL_REGISTRY_HANDLE) {
		struct dc_regkey *k = dc_reg_handle_key(r, (HANDLE)Path);
		*st = !k ? STATUS_INVALID_HANDLE : STATUS_KEY_DELETED;
		return k && !dc_reg_key_deleted(k) ? k : NULL;
	}
	static const char *const bases[] = {
	    [RTL_REGISTRY_ABSOLUTE] = "",
	    [RTL_REGISTRY_SERVICES] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
	    [RTL_REGISTRY_CONTROL] = "\\Registry\\Machine\\System\\CurrentControlSet\\Control",
	    [RTL_REGISTRY_WINDOWS_NT] =
	        "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
	    [RTL_REGISTRY_DEVICEMAP] = "\\Registry\\Machine\\Hardware\\DeviceMap",
	    [RTL_REGISTRY_USER] = "\\Registry\\User\\.Default",
	};
	if (rel >= RTL_REGISTRY_MAXIMUM)
		return NULL;
	struct dc_regkey *from = NULL;
	if (rel != RTL_REGISTRY_ABSOLUTE && !(from = dc_reg_mkpath(r, bases[rel]))) {
		*st = STATUS_INSUFFICIENT_RESOURCES;
		return NULL;
	}
	if (!Path) {
		*st = STATUS_OBJECT_PATH_SYNTAX_BAD;
		return from;
	}
	size_t n = wlen(s, Path);
	const WCHAR *p = Path;
	if (from && n && p[0] == '\\')
		p++, n--;
	bool bad = false;
	struct dc_regkey *k = dc_reg_walk(r, from, p, n, create, false, NULL, &bad);
	*st = bad ? STATUS_OBJECT_PATH_SYNTAX_BAD
	          : (create ? STATUS_OBJECT_PATH_NOT_FOUND : STATUS_OBJECT_NAME_NOT_FOUND);
	return k;
}

/* A value's data as the DIRECT rules store it in EntryContext. */
static NTSTATUS store_direct(struct dc_sys *s, PVOID ctx, ULONG type, const uint8_t *data,
                             size_t len)
{
	if (!ctx)
		return STATUS_INVALID_PARAMETER;
	if (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_MULTI_SZ) {
		/* A UNICODE_STRING: filled into its buffer, or a new pool buffer if it has none. */
		UNICODE_STRING *u = ctx;
		dc_ktouch(s, u, sizeof(*u), true);
		size_t bytes = len;
		if (type != REG_MULTI_SZ && bytes >= 2 && !data[bytes - 1] && !data[bytes - 2])
			bytes -= 2; /* the terminator is not part of Length */
		if (bytes > 0xFFFC)
			return STATUS_BUFFER_TOO_SMALL;
		if (!u->Buffer) {
			u->Buffer = ExAllocatePoolWithTag(PagedPool, bytes + 2, 'gRtR');
			if (!u->Buffer)
				return STATUS_INSUFFICIENT_RESOURCES;
			u->MaximumLength = (USHORT)(bytes + 2);
		} else if (u->MaximumLength < bytes + (type == REG_MULTI_SZ ? 0 : 2)) {
			return STATUS_BUFFER_TOO_SMALL;
		}
		dc_kstore(s, u->Buffer, data, bytes);
		if (u->MaximumLength >= bytes + 2) {
			dc_ktouch(s, (uint8_t *)u->Buffer + bytes, 2, true);
			u->Buffer[bytes / 2] = 0;
		}
		u->Length = (USHORT)bytes;
		return STATUS_SUCCESS;
	}
	if (len <= sizeof(ULONG)) {
		dc_kstore(s, ctx, data, len);
		return STATUS_SUCCESS;
	}
	/* Longer: the buffer starts with a LONG: -size (data only) or size (length, type, data). */
	LONG hdr;
	dc_ktouch(s, ctx, sizeof(hdr), false);
	memcpy(&hdr, ctx, sizeof(hdr));
	if (hdr < 0) {
		if ((size_t) - (int64_t)hdr < len)
			return STATUS_BUFFER_TOO_SMALL;
		dc_kstore(s, ctx, data, len);
		return STATUS_SUCCESS;
	}
	if ((size_t)hdr < len + 2 * sizeof(ULONG))
		return STATUS_BUFFER_TOO_SMALL;
	ULONG l = (ULONG)len;
	uint8_t head[8];
	memcpy(head, &l, 4);
	memcpy(head + 4, &type, 4);
	dc_kstore(s, ctx, head, sizeof(head));
	dc_kstore(s, (uint8_t *)ctx + 8, data, len);
	return STATUS_SUCCESS;
}

/* One value handed to a table entry: stored (DIRECT) or passed to the routine, REG_MULTI_SZ
 * string by string unless NOEXPAND. */
static NTSTATUS deliver(struct dc_sys *s, RTL_QUERY_REGISTRY_TABLE *q, PWSTR name, ULONG type,
                        const uint8_t *data, size_t len, PVOID Context)
{
	if (q->Flags & RTL_QUERY_REGISTRY_DIRECT)
		return store_direct(s, q->EntryContext, type, data, len);
	if (!q->QueryRoutine)
		return STATUS_SUCCESS;
	/* The routine gets a copy in simulated pool, as Windows' comes from pool. */
	uint8_t *copy = ExAllocatePoolWithTag(PagedPool, len ? len : 1, 'gRtR');
	if (!copy)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_kstore(s, copy, data, len);
	NTSTATUS st = STATUS_SUCCESS;
	if (type == REG_MULTI_SZ && !(q->Flags & RTL_QUERY_REGISTRY_NOEXPAND)) {
		const WCHAR *w = (const WCHAR *)(void *)copy;
		size_t n = len / 2, i = 0;
		while (i < n && w[i] && NT_SUCCESS(st)) {
			size_t j = i;
			while (j < n && w[j])
				j++;
			st = q->QueryRoutine(name, REG_SZ, copy + 2 * i,
			                     (ULONG)((j - i + (j < n ? 1 : 0)) * 2), Context,
			                     q->EntryContext);
			i = j + 1;
		}
	} else {
		ULONG t = type == REG_EXPAND_SZ && !(q->Flags & RTL_QUERY_REGISTRY_NOEXPAND)
		              ? REG_SZ
		              : type;
		st = q->QueryRoutine(name, t, copy, (ULONG)len, Context, q->EntryContext);
	}
	ExFreePoolWithTag(copy, 'gRtR');
	return st;
}

/* A default's length when DefaultLength is 0: the string's, terminators included. */
static size_t default_len(struct dc_sys *s, ULONG type, const WCHAR *w, ULONG given)
{
	if (given || !w)
		return given;
	if (type == REG_SZ || type == REG_EXPAND_SZ)
		return (wlen(s, w) + 1) * 2;
	if (type == REG_MULTI_SZ) {
		size_t n = 0;
		while (wlen(s, w + n))
			n += wlen(s, w + n) + 1;
		return (n + 1) * 2;
	}
	return 0;
}

static NTSTATUS query_entry(struct dc_sys *s, struct dc_regkey *k, RTL_QUERY_REGISTRY_TABLE *q,
                            PVOID Context)
{
	ULONG want = q->Flags & RTL_QUERY_REGISTRY_TYPECHECK
	                 ? (q->Flags >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) & 0xff
	                 : REG_NONE;
	if (!q->Name) {
		/* Every value of the key to the routine. */
		if (q->Flags & RTL_QUERY_REGISTRY_DIRECT)
			return STATUS_INVALID_PARAMETER;
		size_t nv = k ? dc_reg_n_values(k) : 0;
		if (!nv && (q->Flags & RTL_QUERY_REGISTRY_NOVALUE) && q->QueryRoutine)
			return q->QueryRoutine(NULL, REG_NONE, NULL, 0, Context, q->EntryContext);
		for (size_t i = 0; i < nv; i++) {
			struct dc_regval_view v;
			if (!dc_reg_value_at(k, i, &v))
				break;
			WCHAR *nm = ExAllocatePoolWithTag(PagedPool, (v.nlen + 1) * 2, 'gRtR');
			if (!nm)
				return STATUS_INSUFFICIENT_RESOURCES;
			memcpy(nm, v.name, v.nlen * 2);
			nm[v.nlen] = 0;
			NTSTATUS st = deliver(s, q, nm, v.type, v.data, v.len, Context);
			ExFreePoolWithTag(nm, 'gRtR');
			if (!NT_SUCCESS(st))
				return st;
		}
		return STATUS_SUCCESS;
	}
	size_t n = wlen(s, q->Name);
	struct dc_regval_view v;
	if (k && dc_reg_get(k, q->Name, n, &v)) {
		if (want != REG_NONE && v.type != want)
			return STATUS_OBJECT_TYPE_MISMATCH;
		/* The data is copied before a DELETE removes the value. */
		uint8_t *data = malloc(v.len ? v.len : 1);
		if (!data)
			return STATUS_INSUFFICIENT_RESOURCES;
		memcpy(data, v.data, v.len);
		ULONG type = v.type;
		size_t len = v.len;
		if (q->Flags & RTL_QUERY_REGISTRY_DELETE)
			dc_reg_delete_value(k, q->Name, n);
		NTSTATUS st = deliver(s, q, q->Name, type, data, len, Context);
		free(data);
		return st;
	}
	if (q->Flags & RTL_QUERY_REGISTRY_REQUIRED)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	if (q->DefaultType == REG_NONE || !q->DefaultData)
		return STATUS_SUCCESS;
	if (want != REG_NONE && q->DefaultType != want)
		return STATUS_OBJECT_TYPE_MISMATCH;
	size_t dl = default_len(s, q->DefaultType, q->DefaultData, q->DefaultLength);
	uint8_t *data = malloc(dl ? dl : 1);
	if (!data)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_ktouch(s, q->DefaultData, dl, false);
	memcpy(data, q->DefaultData, dl);
	NTSTATUS st = deliver(s, q, q->Name, q->DefaultType, data, dl, Context);
	free(data);
	return st;
}

NTSTATUS RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path, PRTL_QUERY_REGISTRY_TABLE QueryTable,
                                PVOID Context, PVOID Environment)
{
	(void)Environment;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "RtlQueryRegistryValues", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!QueryTable)
		return STATUS_INVALID_PARAMETER;
	NTSTATUS st;
	struct dc_regkey *top = base_key(s, RelativeTo, Path, false, &st);
	if (!top)
		return (RelativeTo & RTL_REGISTRY_OPTIONAL) && st == STATUS_OBJECT_NAME_NOT_FOUND
		           ? STATUS_SUCCESS
		           : st;
	struct dc_regkey *k = top;
	for (RTL_QUERY_REGISTRY_TABLE *q = QueryTable;; q++) {
		dc_ktouch(s, q, sizeof(*q), false);
		if (!q->QueryRoutine &&
		    !(q->Flags & (RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_DIRECT)))
			break;
		if (q->Flags & RTL_QUERY_REGISTRY_TOPKEY)
			k = top;
		if (q->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
			if (!q->Name)
				return STATUS_INVALID_PARAMETER;
			struct dc_regkey *sub = dc_reg_walk(s->reg, top, q->Name, wlen(s, q->Name),
			                                    false, false, NULL, NULL);
			if (!sub && (q->Flags & RTL_QUERY_REGISTRY_REQUIRED))
				return STATUS_OBJECT_NAME_NOT_FOUND;
			/* A missing optional subkey: its entries see no values (defaults apply). */
			k = sub;
			if (!q->QueryRoutine)
				continue;
			RTL_QUERY_REGISTRY_TABLE all = *q;
			all.Name = NULL;
			all.Flags &= ~(ULONG)RTL_QUERY_REGISTRY_SUBKEY;
			st = query_entry(s, k, &all, Context);
		} else {
			st = query_entry(s, k, q, Context);
		}
		if (!NT_SUCCESS(st))
			return st;
	}
	return STATUS_SUCCESS;
}

NTSTATUS RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName, ULONG ValueType,
                               PVOID ValueData, ULONG ValueLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "RtlWriteRegistryValue", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	NTSTATUS st;
	struct dc_regkey *k = base_key(s, RelativeTo, Path, true, &st);
	if (!k)
		return st;
	size_t n = ValueName ? wlen(s, ValueName) : 0;
	if (ValueLength && !ValueData)
		return STATUS_ACCESS_VIOLATION;
	if (ValueLength)
		dc_ktouch(s, ValueData, ValueLength, false);
	return dc_reg_set(k, ValueName, n, ValueType, ValueData, ValueLength)
	           ? STATUS_INSUFFICIENT_RESOURCES
	           : STATUS_SUCCESS;
}

NTSTATUS RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "RtlDeleteRegistryValue", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	NTSTATUS st;
	struct dc_regkey *k = base_key(s, RelativeTo, Path, false, &st);
	if (!k)
		return st;
	size_t n = ValueName ? wlen(s, ValueName) : 0;
	return dc_reg_delete_value(k, ValueName, n) ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
}

NTSTATUS RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "RtlCreateRegistryKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	NTSTATUS st;
	return base_key(s, RelativeTo, Path, true, &st) ? STATUS_SUCCESS : st;
}

NTSTATUS RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "RtlCheckRegistryKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	NTSTATUS st;
	return base_key(s, RelativeTo, Path, false, &st) ? STATUS_SUCCESS : st;
}
