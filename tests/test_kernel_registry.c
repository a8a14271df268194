/* The simulated registry: the .reg loader (both export formats, every value kind, deletions,
 * continuation lines, each malformed input as one "file:line: what" with nothing applied), the
 * Zw*Key routines with Windows' statuses and buffer rules, RtlQueryRegistryValues' table forms,
 * RtlWriteRegistryValue, the driver's RegistryPath, the devices' keys and properties, and the
 * IRQL rule (PASSIVE_LEVEL) they all share. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "hw/machine.h"
#include "kernel/plumb.h"
#include "kernel/registry.h"
#include "kernel/sys.h"

static unsigned irql_events;
static void count_irql(void *opaque, const struct dc_kev *e)
{
	(void)opaque;
	irql_events += e->type == DC_KEV_IRQL;
}
static const struct dc_observer irql_obs = {.kev = count_irql};

static struct dc_sys *reg_sys(const char *dev, struct dc_sysdev **d)
{
	struct dc_platform p;
	struct dc_sys *s;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	if (dev && dc_sys_add_device(s, dev, NULL, d)) {
		dc_sys_destroy(s);
		return NULL;
	}
	irql_events = 0;
	dc_machine_add_observer(dc_sys_machine(s), &irql_obs, NULL);
	return s;
}

/* An ASCII string as a NUL-terminated WCHAR string in a static ring of buffers. */
static WCHAR *W(const char *a)
{
	static WCHAR bufs[64][256];
	static unsigned k;
	WCHAR *w = bufs[k++ % 64];
	size_t i = 0;
	for (; a[i] && i < 255; i++)
		w[i] = (WCHAR)(unsigned char)a[i];
	w[i] = 0;
	return w;
}

static UNICODE_STRING U(const char *a)
{
	UNICODE_STRING u;
	RtlInitUnicodeString(&u, W(a));
	return u;
}

static int parse_text(struct dc_reg *r, const char *text, char *err, size_t len)
{
	return dc_regfile_parse(r, "t.reg", (const uint8_t *)text, strlen(text), err, len);
}

static ULONG dword_at(struct dc_reg *r, const char *key, const char *name)
{
	struct dc_regkey *k = dc_reg_mkpath(r, key);
	struct dc_regval_view v;
	if (!k || !dc_reg_get_ascii(k, name, &v) || v.len != 4)
		return 0xDEADBEEF;
	ULONG x;
	memcpy(&x, v.data, 4);
	return x;
}

#define SVC "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\drv"

DC_TEST(reg_file_every_value_kind_in_both_formats)
{
	static const char v5[] =
	    "Windows Registry Editor Version 5.00\r\n"
	    "\r\n"
	    "; comment\r\n"
	    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\drv\\Parameters]\r\n"
	    "\"Size\"=dword:00001000\r\n"
	    "\"Name\"=\"a \\\"quoted\\\" \\\\ name\"\r\n"
	    "@=\"default\"\r\n"
	    "\"Bin\"=hex:01,02,\\\r\n"
	    "  03,ff\r\n"
	    "\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"
	    "\"Expand\"=hex(2):25,00,00,00\r\n"
	    "\"Big\"=hex(b):08,07,06,05,04,03,02,01\r\n"
	    "\"Empty\"=hex:\r\n"
	    "\"Gone\"=dword:1\r\n"
	    "\"Gone\"=-\r\n"
	    "[HKLM\\SYSTEM\\Junk\\Deep]\r\n"
	    "\"x\"=dword:1\r\n"
	    "[-HKEY_LOCAL_MACHINE\\SYSTEM\\Junk]\r\n";
	/* As regedit writes it: UTF-16LE with a BOM. */
	size_t n = strlen(v5);
	uint8_t *u16 = malloc(2 * n + 2);
	CHECK(u16);
	u16[0] = 0xFF, u16[1] = 0xFE;
	for (size_t i = 0; i < n; i++)
		u16[2 + 2 * i] = (uint8_t)v5[i], u16[3 + 2 * i] = 0;
	struct dc_reg *r = dc_reg_create();
	char err[256];
	int e = dc_regfile_parse(r, "v5.reg", u16, 2 * n + 2, err, sizeof(err));
	free(u16);
	CHECK_MSG(e == 0, "%s", err);
	const char *par = SVC "\\Parameters";
	CHECK_EQ(dword_at(r, par, "size"), 0x1000); /* names compare case-insensitively */
	struct dc_regkey *k = dc_reg_mkpath(r, par);
	struct dc_regval_view v;
	CHECK(dc_reg_get_ascii(k, "Name", &v) && v.type == REG_SZ);
	const char *want = "a \"quoted\" \\ name";
	CHECK_EQ(v.len, (strlen(want) + 1) * 2);
	for (size_t i = 0; i < strlen(want); i++)
		CHECK_EQ(((const WCHAR *)(const void *)v.data)[i], (WCHAR)want[i]);
	CHECK(dc_reg_get(k, NULL, 0, &v) && v.type == REG_SZ && v.len == 16);
	CHECK(dc_reg_get_ascii(k, "Bin", &v) && v.type == REG_BINARY && v.len == 4);
	CHECK(v.data[0] == 1 && v.data[2] == 3 && v.data[3] == 0xff);
	CHECK(dc_reg_get_ascii(k, "Multi", &v) && v.type == REG_MULTI_SZ && v.len == 10);
	CHECK(dc_reg_get_ascii(k, "Expand", &v) && v.type == REG_EXPAND_SZ && v.len == 4);
	CHECK(dc_reg_get_ascii(k, "Big", &v) && v.type == REG_QWORD && v.len == 8);
	uint64_t q;
	memcpy(&q, v.data, 8);
	CHECK_EQ(q, UINT64_C(0x0102030405060708));
	CHECK(dc_reg_get_ascii(k, "Empty", &v) && v.type == REG_BINARY && v.len == 0);
	CHECK(!dc_reg_get_ascii(k, "Gone", &v));
	CHECK(dc_reg_walk(r, NULL, W("\\Registry\\Machine\\System\\Junk"), 29, false, false, NULL,
	                  NULL) == NULL);
	/* REGEDIT4: ANSI, and hex(2)/hex(7) hold ANSI bytes that become UTF-16. */
	e = parse_text(
	    r,
	    "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\drv]\n"
	    "\"Path\"=hex(2):25,41,00\n",
	    err, sizeof(err));
	CHECK_MSG(e == 0, "%s", err);
	CHECK(dc_reg_get_ascii(dc_reg_mkpath(r, SVC), "Path", &v) && v.len == 6 &&
	      v.data[0] == '%' && v.data[1] == 0 && v.data[2] == 'A');
	dc_reg_destroy(r);
}

DC_TEST(reg_file_errors_are_one_line_and_change_nothing)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"", "t.reg:0: empty file"},
	    {"REGEDIT5\n", "t.reg:1: not a .reg file"},
	    {"REGEDIT4\n\"a\"=dword:1\n", "t.reg:2: a value before the first [key]"},
	    {"REGEDIT4\n[HKEY_CURRENT_USER\\x]\n", "t.reg:2: HKEY_CURRENT_USER is not modelled"},
	    {"REGEDIT4\n[HKEY_NOWHERE\\x]\n", "t.reg:2: unknown root key 'HKEY_NOWHERE'"},
	    {"REGEDIT4\n[HKLM\\a\\\\b]\n", "t.reg:2: empty key name"},
	    {"REGEDIT4\n[HKLM\\a\n", "t.reg:2: a key line must end with ']'"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=dword:123456789\n", "t.reg:3: dword: needs 1 to 8"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=dword:12g\n", "t.reg:3: dword: needs 1 to 8"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex:1,zz\n", "t.reg:3: expected a hex byte"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex:1,\n", "t.reg:3: the hex list ends with ','"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex:123\n", "t.reg:3: a hex byte has more than two"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex(b):01\n", "t.reg:3: hex(b): a REG_QWORD has 8"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex(zz):01\n", "t.reg:3: hex(N)"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x=\"1\"\n", "t.reg:3: expected '=' after the value name"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=\"1\n", "t.reg:3: unterminated string"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=\"\\n\"\n", "t.reg:3: unknown escape"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=\"1\" 2\n", "t.reg:3: text after the string"},
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=word:1\n", "t.reg:3: unknown value data"},
	    {"REGEDIT4\n[HKLM\\a]\ngarbage\n", "t.reg:3: expected [key]"},
	    {"REGEDIT4\n[-HKLM\\a]\n\"x\"=dword:1\n", "t.reg:3: a value under a [-key]"},
	    /* A continued list reports the line it started on. */
	    {"REGEDIT4\n[HKLM\\a]\n\"x\"=hex:01,\\\n  02,\\\n  q\n", "t.reg:3: expected a hex"},
	};
	struct dc_reg *r = dc_reg_create();
	CHECK(r);
	CHECK(parse_text(r, "REGEDIT4\n[HKLM\\a]\n\"keep\"=dword:7\n", NULL, 0) == 0);
	for (size_t i = 0; i < DC_ARRAY_SIZE(bad); i++) {
		char err[256];
		memset(err, 0, sizeof(err));
		int e = parse_text(r, bad[i].text, err, sizeof(err));
		CHECK_MSG(e == DC_ERR_PARSE, "case %zu: %d", i, e);
		CHECK_MSG(!strncmp(err, bad[i].want, strlen(bad[i].want)), "case %zu: '%s'", i,
		          err);
		CHECK_MSG(!strchr(err, '\n'), "case %zu: not one line", i);
	}
	/* A file whose error comes after a valid value leaves that value out too. */
	CHECK(parse_text(r, "REGEDIT4\n[HKLM\\a]\n\"keep\"=dword:9\n[HKLM\\b\n", NULL, 0) ==
	      DC_ERR_PARSE);
	CHECK_EQ(dword_at(r, "\\Registry\\Machine\\a", "keep"), 7);
	dc_reg_destroy(r);
}

DC_TEST(reg_zw_routines_statuses_and_buffers)
{
	struct dc_sys *s = reg_sys(NULL, NULL);
	CHECK(s);
	HANDLE h = NULL, h2 = NULL;
	ULONG disp = 0, got = 0;
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING path = U(SVC), rel = U("Parameters"), name = U("Size");
	InitializeObjectAttributes(&oa, &path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
	                           NULL);
	/* Not there yet; a key whose parent is missing cannot be created either. */
	CHECK_EQ(ZwOpenKey(&h, KEY_READ, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
	UNICODE_STRING deep = U(SVC "\\a\\b");
	oa.ObjectName = &deep;
	CHECK_EQ(ZwCreateKey(&h, KEY_ALL_ACCESS, &oa, 0, NULL, 0, &disp),
	         STATUS_OBJECT_PATH_NOT_FOUND);
	oa.ObjectName = &path;
	CHECK_EQ(ZwCreateKey(&h, KEY_ALL_ACCESS, &oa, 0, NULL, 0, &disp), STATUS_SUCCESS);
	CHECK_EQ(disp, REG_CREATED_NEW_KEY);
	CHECK(dc_reg_is_handle(h));
	CHECK_EQ(ZwCreateKey(&h2, KEY_ALL_ACCESS, &oa, 0, NULL, 0, &disp), STATUS_SUCCESS);
	CHECK_EQ(disp, REG_OPENED_EXISTING_KEY);
	CHECK_EQ(ZwClose(h2), STATUS_SUCCESS);
	CHECK_EQ(ZwClose(h2), STATUS_INVALID_HANDLE);
	/* Relative to a key handle. */
	InitializeObjectAttributes(&oa, &rel, OBJ_KERNEL_HANDLE, h, NULL);
	CHECK_EQ(ZwCreateKey(&h2, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL), STATUS_SUCCESS);
	ULONG v = 4096;
	CHECK_EQ(ZwSetValueKey(h2, &name, 0, REG_DWORD, &v, sizeof(v)), STATUS_SUCCESS);
	UNICODE_STRING sname = U("Label");
	WCHAR label[] = {'d', 'm', 'a', 0};
	CHECK_EQ(ZwSetValueKey(h2, &sname, 0, REG_SZ, label, sizeof(label)), STATUS_SUCCESS);
	/* Partial: the header alone is too small with nothing written; a buffer between header
	 * and whole is an overflow with the header filled; ResultLength always the whole. */
	union {
		KEY_VALUE_PARTIAL_INFORMATION p;
		KEY_VALUE_FULL_INFORMATION f;
		KEY_VALUE_BASIC_INFORMATION b;
		KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 p64;
		KEY_BASIC_INFORMATION kb;
		KEY_FULL_INFORMATION kf;
		UCHAR raw[256];
	} u;
	memset(&u, 0xAA, sizeof(u));
	CHECK_EQ(ZwQueryValueKey(h2, &name, KeyValuePartialInformation, &u, 8, &got),
	         STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(got, 16);
	CHECK_EQ(u.raw[0], 0xAA);
	CHECK_EQ(ZwQueryValueKey(h2, &name, KeyValuePartialInformation, &u, 13, &got),
	         STATUS_BUFFER_OVERFLOW);
	CHECK_EQ(u.p.Type, REG_DWORD);
	CHECK_EQ(u.p.DataLength, 4);
	CHECK_EQ(ZwQueryValueKey(h2, &name, KeyValuePartialInformation, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(*(ULONG *)(void *)u.p.Data, 4096);
	CHECK_EQ(ZwQueryValueKey(h2, &name, KeyValuePartialInformationAlign64, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(got, 12);
	CHECK_EQ(u.p64.DataLength, 4);
	CHECK_EQ(ZwQueryValueKey(h2, &sname, KeyValueFullInformation, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(u.f.NameLength, 10);
	CHECK_EQ(u.f.DataOffset, 32); /* 20 + 10, aligned to 4 */
	CHECK_EQ(u.f.DataLength, 8);
	CHECK_EQ(got, 40);
	CHECK_EQ(u.raw[32], 'd');
	CHECK_EQ(ZwQueryValueKey(h2, &sname, KeyValueFullInformationAlign64, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(u.f.DataOffset, 32);
	CHECK_EQ(ZwQueryValueKey(h2, &sname, KeyValueBasicInformation, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(u.b.NameLength, 10);
	CHECK_EQ(u.b.Name[0], 'L');
	CHECK_EQ(ZwQueryValueKey(h2, &sname, (KEY_VALUE_INFORMATION_CLASS)9, &u, sizeof(u), &got),
	         STATUS_INVALID_PARAMETER);
	UNICODE_STRING none = U("None");
	CHECK_EQ(ZwQueryValueKey(h2, &none, KeyValuePartialInformation, &u, sizeof(u), &got),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	/* Enumeration: values in creation order, subkeys by name, then no more entries. */
	CHECK_EQ(ZwEnumerateValueKey(h2, 1, KeyValueBasicInformation, &u, sizeof(u), &got),
	         STATUS_SUCCESS);
	CHECK_EQ(u.b.Name[0], 'L');
	CHECK_EQ(ZwEnumerateValueKey(h2, 2, KeyValueBasicInformation, &u, sizeof(u), &got),
	         STATUS_NO_MORE_ENTRIES);
	CHECK_EQ(ZwEnumerateKey(h, 0, KeyBasicInformation, &u, sizeof(u), &got), STATUS_SUCCESS);
	CHECK_EQ(u.kb.NameLength, 20);
	CHECK_EQ(u.kb.Name[0], 'P');
	CHECK_EQ(ZwEnumerateKey(h, 1, KeyBasicInformation, &u, sizeof(u), &got),
	         STATUS_NO_MORE_ENTRIES);
	CHECK_EQ(ZwQueryKey(h2, KeyFullInformation, &u, sizeof(u), &got), STATUS_SUCCESS);
	CHECK_EQ(u.kf.Values, 2);
	CHECK_EQ(u.kf.SubKeys, 0);
	CHECK_EQ(u.kf.MaxValueDataLen, 8);
	/* Delete, then a missing value; a bad handle. */
	CHECK_EQ(ZwDeleteValueKey(h2, &name), STATUS_SUCCESS);
	CHECK_EQ(ZwDeleteValueKey(h2, &name), STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(ZwQueryValueKey((HANDLE)(uintptr_t)0x1234, &name, KeyValuePartialInformation, &u,
	                         sizeof(u), &got),
	         STATUS_INVALID_HANDLE);
	/* A key with subkeys cannot be deleted; a deleted key's handle answers KEY_DELETED. */
	CHECK_EQ(ZwDeleteKey(h), STATUS_CANNOT_DELETE);
	CHECK_EQ(ZwDeleteKey(h2), STATUS_SUCCESS);
	CHECK_EQ(ZwSetValueKey(h2, &name, 0, REG_DWORD, &v, 4), STATUS_KEY_DELETED);
	CHECK_EQ(ZwClose(h2), STATUS_SUCCESS);
	/* A relative name that starts with '\' is malformed. */
	InitializeObjectAttributes(&oa, &path, OBJ_KERNEL_HANDLE, h, NULL);
	CHECK_EQ(ZwOpenKey(&h2, KEY_READ, &oa), STATUS_OBJECT_PATH_SYNTAX_BAD);
	/* PASSIVE_LEVEL only: at DISPATCH_LEVEL the call is reported (and still served). */
	CHECK_EQ(irql_events, 0);
	KIRQL old;
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	CHECK_EQ(ZwQueryKey(h, KeyFullInformation, &u, sizeof(u), &got), STATUS_SUCCESS);
	KeLowerIrql(old);
	CHECK_EQ(irql_events, 1);
	CHECK_EQ(ZwClose(h), STATUS_SUCCESS);
	CHECK_EQ(dc_reg_open_handles(dc_reg_of(s)), 0);
	dc_sys_destroy(s);
}

static NTSTATUS each_string(PWSTR ValueName, ULONG ValueType, PVOID ValueData, ULONG ValueLength,
                            PVOID Context, PVOID EntryContext)
{
	(void)ValueName, (void)EntryContext;
	unsigned *n = Context;
	if (ValueType == REG_SZ && ValueLength >= 2 && *(WCHAR *)ValueData)
		n[0]++;
	n[1] += ValueLength;
	return STATUS_SUCCESS;
}

DC_TEST(reg_rtl_query_table_forms)
{
	struct dc_sys *s = reg_sys(NULL, NULL);
	CHECK(s);
	char err[256];
	CHECK_MSG(parse_text(dc_reg_of(s),
	                     "Windows Registry Editor Version 5.00\n"
	                     "[HKLM\\SYSTEM\\CurrentControlSet\\Services\\drv\\Parameters]\n"
	                     "\"Size\"=dword:20\n\"Name\"=\"abc\"\n"
	                     "\"List\"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00\n"
	                     "\"Blob\"=hex:01,02,03,04,05,06\n",
	                     err, sizeof(err)) == 0,
	          "%s", err);
	ULONG size = 0, missing = 1, def = 77;
	UNICODE_STRING name = {0, 0, NULL};
	WCHAR small[2];
	UNICODE_STRING tiny = {0, sizeof(small), small};
	LONG blob[4] = {-16, 0, 0, 0};
	unsigned counts[2] = {0, 0};
	RTL_QUERY_REGISTRY_TABLE q[8];
	memset(q, 0, sizeof(q));
	q[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
	q[0].Name = W("Parameters");
	q[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK |
	             (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT);
	q[1].Name = W("Size");
	q[1].EntryContext = &size;
	q[2].Flags = RTL_QUERY_REGISTRY_DIRECT;
	q[2].Name = W("Missing");
	q[2].EntryContext = &missing;
	q[2].DefaultType = REG_DWORD;
	q[2].DefaultData = &def;
	q[2].DefaultLength = sizeof(def);
	q[3].Flags = RTL_QUERY_REGISTRY_DIRECT;
	q[3].Name = W("Name");
	q[3].EntryContext = &name;
	q[4].QueryRoutine = each_string;
	q[4].Name = W("List");
	q[5].Flags = RTL_QUERY_REGISTRY_DIRECT;
	q[5].Name = W("Blob");
	q[5].EntryContext = blob;
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, W("drv"), q, counts, NULL),
	         STATUS_SUCCESS);
	CHECK_EQ(size, 0x20);
	CHECK_EQ(missing, 77);
	CHECK(name.Buffer != NULL); /* allocated from pool for a NULL Buffer */
	CHECK_EQ(name.Length, 6);
	CHECK_EQ(name.Buffer[0], 'a');
	CHECK_EQ(name.Buffer[3], 0);
	ExFreePool(name.Buffer);
	CHECK_EQ(counts[0], 2); /* REG_MULTI_SZ: once per string */
	CHECK_EQ(((uint8_t *)blob)[5], 6);
	/* A string that does not fit the caller's buffer; a type check that fails; a required
	 * value that is missing; a missing key, optional or not. */
	q[3].EntryContext = &tiny;
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, W("drv"), q, counts, NULL),
	         STATUS_BUFFER_TOO_SMALL);
	q[3].EntryContext = &name;
	name.Buffer = NULL;
	q[1].Name = W("Name");
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, W("drv"), q, counts, NULL),
	         STATUS_OBJECT_TYPE_MISMATCH);
	q[1].Name = W("Size");
	q[2].Flags |= RTL_QUERY_REGISTRY_REQUIRED;
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, W("drv"), q, counts, NULL),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, W("nodrv"), q, counts, NULL),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(RtlQueryRegistryValues(RTL_REGISTRY_SERVICES | RTL_REGISTRY_OPTIONAL, W("nodrv"),
	                                q, counts, NULL),
	         STATUS_SUCCESS);
	/* Write, then read back through an absolute path. */
	ULONG nv = 9;
	CHECK_EQ(RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, W(SVC "\\Parameters"), W("Size"),
	                               REG_DWORD, &nv, sizeof(nv)),
	         STATUS_SUCCESS);
	CHECK_EQ(dword_at(dc_reg_of(s), SVC "\\Parameters", "Size"), 9);
	CHECK_EQ(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, W("drv\\Parameters")), STATUS_SUCCESS);
	CHECK_EQ(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, W("drv\\Parameters"), W("Size")),
	         STATUS_SUCCESS);
	CHECK_EQ(RtlDeleteRegistryValue(RTL_REGISTRY_SERVICES, W("drv\\Parameters"), W("Size")),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(RtlQueryRegistryValues(7, W("x"), q, NULL, NULL), STATUS_INVALID_PARAMETER);
	dc_sys_destroy(s);
}

static char entry_path[256];
static NTSTATUS path_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	(void)DriverObject;
	size_t n = RegistryPath->Length / 2;
	for (size_t i = 0; i < n && i < sizeof(entry_path) - 1; i++)
		entry_path[i] = (char)RegistryPath->Buffer[i];
	entry_path[n < sizeof(entry_path) ? n : sizeof(entry_path) - 1] = 0;
	/* NUL-terminated, so RTL_REGISTRY_ABSOLUTE works on the Buffer as drivers use it. */
	if (RegistryPath->Buffer[n] != 0)
		return STATUS_UNSUCCESSFUL;
	ULONG start = 0;
	RTL_QUERY_REGISTRY_TABLE q[2];
	memset(q, 0, sizeof(q));
	q[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
	q[0].Name = W("Start");
	q[0].EntryContext = &start;
	NTSTATUS st =
	    RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, RegistryPath->Buffer, q, NULL, NULL);
	return NT_SUCCESS(st) && start == 3 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

DC_TEST(reg_driver_entry_gets_its_service_key)
{
	struct dc_sys *s = reg_sys(NULL, NULL);
	CHECK(s);
	struct dc_driver *drv;
	NTSTATUS st = 0;
	CHECK_EQ(dc_sys_load_entry(s, "mydrv", path_entry, &drv, &st), 0);
	CHECK_MSG(
	    !strcmp(entry_path, "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\mydrv"),
	    "%s", entry_path);
	/* Its Parameters subkey exists for the driver to open. */
	CHECK(dc_reg_mkpath(dc_reg_of(s), "\\Registry\\Machine\\System\\CurrentControlSet\\Services"
	                                  "\\mydrv\\Parameters"));
	dc_sys_destroy(s);
}

DC_TEST(reg_device_keys_and_properties)
{
	struct dc_sysdev *d;
	struct dc_sys *s = reg_sys("bmblk", &d);
	CHECK(s);
	PDEVICE_OBJECT pdo = dc_sysdev_pdo(d);
	HANDLE h;
	CHECK_EQ(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &h),
	         STATUS_SUCCESS);
	UNICODE_STRING name = U("MaxTransferSectors");
	ULONG v = 3, got;
	CHECK_EQ(ZwSetValueKey(h, &name, 0, REG_DWORD, &v, 4), STATUS_SUCCESS);
	CHECK_EQ(ZwClose(h), STATUS_SUCCESS);
	/* The documented path, as a .reg file names it. */
	CHECK_EQ(dword_at(dc_reg_of(s),
	                  "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\DMACOH\\bmblk\\0\\"
	                  "Device Parameters",
	                  "MaxTransferSectors"),
	         3);
	CHECK_EQ(IoOpenDeviceRegistryKey(pdo, PLUGPLAY_REGKEY_DRIVER, KEY_READ, &h),
	         STATUS_SUCCESS);
	CHECK_EQ(ZwClose(h), STATUS_SUCCESS);
	CHECK_EQ(IoOpenDeviceRegistryKey(pdo, 8, KEY_READ, &h), STATUS_INVALID_PARAMETER);
	DEVICE_OBJECT fake;
	memset(&fake, 0, sizeof(fake));
	CHECK_EQ(IoOpenDeviceRegistryKey(&fake, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &h),
	         STATUS_INVALID_DEVICE_REQUEST);
	/* Properties: the size first (too small), then the value. */
	WCHAR buf[128];
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, 4, buf, &got),
	         STATUS_BUFFER_TOO_SMALL);
	CHECK(got > 4);
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyHardwareID, sizeof(buf), buf, &got),
	         STATUS_SUCCESS);
	CHECK_EQ(buf[0], 'D');
	CHECK_EQ(buf[got / 2 - 1], 0); /* a multi-string ends with two NULs */
	CHECK_EQ(buf[got / 2 - 2], 0);
	ULONG bus = 9, type = 0, addr = 0;
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyBusNumber, 4, &bus, &got), STATUS_SUCCESS);
	CHECK_EQ(bus, 0);
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyLegacyBusType, 4, &type, &got),
	         STATUS_SUCCESS);
	CHECK_EQ(type, PCIBus);
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyAddress, 4, &addr, &got), STATUS_SUCCESS);
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyPhysicalDeviceObjectName, sizeof(buf), buf,
	                             &got),
	         STATUS_SUCCESS);
	CHECK_EQ(buf[1], 'D');
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyDeviceDescription, sizeof(buf), buf, &got),
	         STATUS_SUCCESS);
	CHECK_EQ(IoGetDeviceProperty(pdo, DevicePropertyBootConfiguration, sizeof(buf), buf, &got),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(IoGetDeviceProperty(pdo, (DEVICE_REGISTRY_PROPERTY)99, sizeof(buf), buf, &got),
	         STATUS_INVALID_PARAMETER_2);
	CHECK_EQ(IoGetDeviceProperty(&fake, DevicePropertyBusNumber, 4, &bus, &got),
	         STATUS_INVALID_DEVICE_REQUEST);
	dc_sys_destroy(s);
}

DC_TEST(reg_sys_load_registry_file)
{
	struct dc_sys *s = reg_sys(NULL, NULL);
	CHECK(s);
	char err[512];
	CHECK_EQ(dc_sys_load_registry(s, "/nonexistent/x.reg", err, sizeof(err)), DC_ERR_IO);
	CHECK(strstr(err, "/nonexistent/x.reg: "));
	const char *path = "examples/registry/plumbed.reg";
	int e = dc_sys_load_registry(s, path, err, sizeof(err));
	CHECK_MSG(e == 0, "%s", err);
	CHECK_EQ(dword_at(dc_reg_of(s),
	                  "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\plumbed\\"
	                  "Parameters",
	                  "MaxTransferSectors"),
	         16);
	dc_sys_destroy(s);
}
