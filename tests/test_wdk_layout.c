/* The WDK include tree (include/wdk) and what it brings to a driver: the x64 WDK layout table
 * of tests/wdk_layout.h checked at run time (every mismatch listed, not only the first), the
 * kernel's 16-bit wide-string routines (the __dc_ names dmacoh-cc routes wcslen & co. to),
 * the Rtl string routines, <ntstrsafe.h> and <ntintsafe.h>, and the structured-exception
 * emulation (__try/__except/__finally/__leave, ExRaiseStatus, ProbeForRead/ProbeForWrite).
 * Compiled with -Iinclude/wdk -fshort-wchar, as dmacoh-cc compiles a driver (mk/drivers.mk);
 * the test binary is not renamed by objcopy, so the routed routines are called by their
 * __dc_ names. */
#define _vsnwprintf __dc__vsnwprintf /* what dmacoh-cc's objcopy does for a module */
#include <ntddk.h>
#include <ntdddisk.h>
#include <ntddser.h>
#include <ntddstor.h>
#include <ntintsafe.h>
#include <ntstrsafe.h>
#include <mountdev.h>
#include <mountmgr.h>

#include "dctest.h"
#include "wdk_layout.h"

/* The routed C routines (src/kernel/rtlwstr.c). */
size_t __dc_wcslen(const WCHAR *s);
WCHAR *__dc_wcscpy(WCHAR *d, const WCHAR *s);
WCHAR *__dc_wcsncat(WCHAR *d, const WCHAR *s, size_t n);
int __dc_wcscmp(const WCHAR *a, const WCHAR *b);
int __dc__wcsicmp(const WCHAR *a, const WCHAR *b);
WCHAR *__dc_wcsrchr(const WCHAR *s, WCHAR c);
WCHAR *__dc_wcsstr(const WCHAR *h, const WCHAR *n);
unsigned long __dc_wcstoul(const WCHAR *s, WCHAR **end, int base);
int __dc_swprintf(WCHAR *buf, const WCHAR *fmt, ...);
int __dc__snwprintf(WCHAR *buf, size_t n, const WCHAR *fmt, ...);
unsigned dc_cpu_shadow_depth(void);

DC_TEST(wdk_layout_matches_the_x64_wdk)
{
	int bad = 0;
#define DC_RT_OFF(t, m, v)                                                                   \
	if (offsetof(t, m) != (v)) {                                                         \
		dct_log("offset of %s.%s: %zu, WDK %d\n", #t, #m, offsetof(t, m), (int)(v)); \
		bad++;                                                                       \
	}
#define DC_RT_SIZE(t, v)                                                       \
	if (sizeof(t) != (v)) {                                                \
		dct_log("size of %s: %zu, WDK %d\n", #t, sizeof(t), (int)(v)); \
		bad++;                                                         \
	}
#define DC_RT_VALUE(n, v)                                                               \
	if ((unsigned long long)(ULONG)(n) != (unsigned long long)(v)) {                \
		dct_log("%s: 0x%llx, WDK 0x%llx\n", #n, (unsigned long long)(ULONG)(n), \
		        (unsigned long long)(v));                                       \
		bad++;                                                                  \
	}
	DC_WDK_OFFSETS(DC_RT_OFF)
	DC_WDK_SIZES(DC_RT_SIZE)
	DC_WDK_VALUES(DC_RT_VALUE)
	CHECK_MSG(bad == 0, "%d layout values differ from the x64 WDK's", bad);
}

static bool wstr_eq(const WCHAR *a, const char *b)
{
	size_t i = 0;
	for (; b[i]; i++)
		if (a[i] != (WCHAR)(unsigned char)b[i])
			return false;
	return a[i] == 0;
}

DC_TEST(wdk_wide_strings_are_16_bit)
{
	CHECK_EQ(sizeof(L'x'), 2);
	CHECK_EQ(sizeof(L"abc"), 8);
	WCHAR buf[32];
	CHECK_EQ(__dc_wcslen(L"\\Device\\Floppy0"), 15);
	__dc_wcscpy(buf, L"Floppy");
	CHECK(wstr_eq(buf, "Floppy"));
	__dc_wcsncat(buf, L"0123", 2);
	CHECK(wstr_eq(buf, "Floppy01"));
	CHECK(__dc_wcscmp(buf, L"Floppy01") == 0);
	CHECK(__dc_wcscmp(buf, L"Floppy02") < 0);
	CHECK(__dc__wcsicmp(L"\\DEVICE\\floppy0", L"\\Device\\Floppy0") == 0);
	CHECK(__dc_wcsrchr(L"a\\b\\c", L'\\') != NULL);
	CHECK(wstr_eq(__dc_wcsrchr(L"a\\b\\c", L'\\'), "\\c"));
	CHECK(wstr_eq(__dc_wcsstr(L"\\Device\\Floppy0", L"Flo"), "Floppy0"));
	CHECK(__dc_wcsstr(L"abc", L"x") == NULL);
	WCHAR *end;
	CHECK_EQ(__dc_wcstoul(L" 0x1F0,", &end, 0), 0x1f0);
	CHECK_EQ(*end, L',');
}

DC_TEST(wdk_wide_printf_formats_as_ntoskrnl)
{
	WCHAR buf[96];
	UNICODE_STRING us = RTL_CONSTANT_STRING(L"Fdc0");
	/* %s is wide in a w-printf, %hs and %S narrow, %wZ a UNICODE_STRING. */
	int n = __dc_swprintf(buf, L"\\Device\\%s%u [%hs|%S] %wZ %04x %-3d| %I64u %p %%", L"Floppy",
	                      7u, "isa", "pc", &us, 0xbeu, -5, 12345678901ULL, (void *)0);
	CHECK_MSG(wstr_eq(buf, "\\Device\\Floppy7 [isa|pc] Fdc0 00be -5 | 12345678901 (nil) %"),
	          "swprintf output differs (%d characters)", n);
	CHECK_EQ((size_t)n, __dc_wcslen(buf));
	/* Cut: -1 and no terminating NUL (the MS CRT's _snwprintf). */
	buf[4] = 0x7777;
	CHECK_EQ(__dc__snwprintf(buf, 4, L"%s", L"abcdef"), (uint64_t)-1);
	CHECK_EQ(buf[3], L'd');
	CHECK_EQ(buf[4], 0x7777);
	CHECK_EQ(__dc__snwprintf(buf, 8, L"%d", 42), 2);
	CHECK(wstr_eq(buf, "42"));
}

DC_TEST(wdk_rtl_unicode_strings)
{
	WCHAR store[8];
	UNICODE_STRING d = {0, sizeof(store), store}, s;
	RtlInitUnicodeString(&s, L"COM1");
	RtlCopyUnicodeString(&d, &s);
	CHECK_EQ(d.Length, 8);
	CHECK(wstr_eq(store, "COM1"));
	CHECK(NT_SUCCESS(RtlAppendUnicodeToString(&d, L"ab")));
	CHECK_EQ(d.Length, 12);
	CHECK_EQ(RtlAppendUnicodeToString(&d, L"xyz"), STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(d.Length, 12);
	UNICODE_STRING a = RTL_CONSTANT_STRING(L"\\DosDevices\\COM1");
	UNICODE_STRING b = RTL_CONSTANT_STRING(L"\\dosdevices\\com1");
	CHECK(!RtlEqualUnicodeString(&a, &b, FALSE));
	CHECK(RtlEqualUnicodeString(&a, &b, TRUE));
	CHECK(RtlCompareUnicodeString(&a, &b, FALSE) < 0);
	UNICODE_STRING pre = RTL_CONSTANT_STRING(L"\\DosDevices\\");
	CHECK(RtlPrefixUnicodeString(&pre, &a, FALSE));
	CHECK(!RtlPrefixUnicodeString(&a, &pre, FALSE));

	WCHAR nb[12];
	UNICODE_STRING num = {0, sizeof(nb), nb};
	CHECK(NT_SUCCESS(RtlIntegerToUnicodeString(0x3f8, 16, &num)));
	CHECK(wstr_eq(nb, "3F8"));
	ULONG v = 0;
	CHECK(NT_SUCCESS(RtlUnicodeStringToInteger(&num, 16, &v)));
	CHECK_EQ(v, 0x3f8);
	UNICODE_STRING dec = RTL_CONSTANT_STRING(L"-42");
	CHECK(NT_SUCCESS(RtlUnicodeStringToInteger(&dec, 0, &v)));
	CHECK_EQ((LONG)v, -42);
	UNICODE_STRING small = {0, 4, nb};
	CHECK_EQ(RtlIntegerToUnicodeString(12345, 10, &small), STATUS_BUFFER_OVERFLOW);

	ANSI_STRING as;
	RtlInitAnsiString(&as, "lpt1");
	WCHAR wb[8];
	UNICODE_STRING w = {0, sizeof(wb), wb};
	CHECK(NT_SUCCESS(RtlAnsiStringToUnicodeString(&w, &as, FALSE)));
	CHECK_EQ(w.Length, 8);
	CHECK(wstr_eq(wb, "lpt1"));
}

DC_TEST(wdk_ntstrsafe_cuts_and_reports)
{
	WCHAR b[8];
	CHECK_EQ(RtlStringCchCopyW(b, 8, L"Serial"), STATUS_SUCCESS);
	CHECK(wstr_eq(b, "Serial"));
	CHECK_EQ(RtlStringCbCopyW(b, sizeof(b), L"Serial0123"), STATUS_BUFFER_OVERFLOW);
	CHECK(wstr_eq(b, "Serial0"));
	CHECK_EQ(RtlStringCchCopyW(b, 0, L"x"), STATUS_INVALID_PARAMETER);
	CHECK_EQ(RtlStringCchCopyW(b, 4, L"ab"), STATUS_SUCCESS);
	CHECK_EQ(RtlStringCchCatW(b, 4, L"cd"), STATUS_BUFFER_OVERFLOW);
	CHECK(wstr_eq(b, "abc"));
	size_t n;
	CHECK_EQ(RtlStringCbLengthW(L"abcd", 64, &n), STATUS_SUCCESS);
	CHECK_EQ(n, 8);
	CHECK_EQ(RtlStringCchLengthW(L"abcd", 4, &n), STATUS_INVALID_PARAMETER);
	WCHAR p[16];
	CHECK_EQ(RtlStringCbPrintfW(p, sizeof(p), L"\\Device\\Ser%u", 12u), STATUS_SUCCESS);
	CHECK(wstr_eq(p, "\\Device\\Ser12"));
	CHECK_EQ(RtlStringCchPrintfW(p, 6, L"%s%u", L"Serial", 12u), STATUS_BUFFER_OVERFLOW);
	CHECK(wstr_eq(p, "Seria"));
	char a[6];
	CHECK_EQ(RtlStringCbCopyA(a, sizeof(a), "fdc0"), STATUS_SUCCESS);
	CHECK_EQ(RtlStringCbCatA(a, sizeof(a), "12"), STATUS_BUFFER_OVERFLOW);
	CHECK(!strcmp(a, "fdc01"));
}

DC_TEST(wdk_ntintsafe_overflow)
{
	ULONG r;
	CHECK_EQ(RtlULongAdd(0xfffffff0u, 0x10, &r), STATUS_INTEGER_OVERFLOW);
	CHECK_EQ(r, MAXULONG);
	CHECK_EQ(RtlULongAdd(1, 2, &r), STATUS_SUCCESS);
	CHECK_EQ(r, 3);
	CHECK_EQ(RtlULongMult(0x10000, 0x10000, &r), STATUS_INTEGER_OVERFLOW);
	SIZE_T z;
	CHECK_EQ(RtlSizeTMult(4096, 16, &z), STATUS_SUCCESS);
	CHECK_EQ(z, 65536);
	CHECK_EQ(RtlULongLongToULong(0x100000000ULL, &r), STATUS_INTEGER_OVERFLOW);
	USHORT us;
	CHECK_EQ(RtlULongToUShort(70000, &us), STATUS_INTEGER_OVERFLOW);
	CHECK_EQ(RtlULongToUShort(7000, &us), STATUS_SUCCESS);
	CHECK_EQ(us, 7000);
}

/* --- Structured exceptions ------------------------------------------------------------- */

static int seh_depth_probe;

/* Driver helpers a few frames down, the last one raises. */
static DECLSPEC_NOINLINE void seh_raise_3(NTSTATUS code)
{
	seh_depth_probe++;
	ExRaiseStatus(code);
}

static DECLSPEC_NOINLINE void seh_raise_2(NTSTATUS code)
{
	seh_raise_3(code);
	seh_depth_probe++;
}

static DECLSPEC_NOINLINE void seh_raise_deep(NTSTATUS code)
{
	seh_raise_2(code);
	seh_depth_probe++;
}

static NTSTATUS seh_probe_write(PVOID p, SIZE_T len, ULONG align)
{
	NTSTATUS status = STATUS_SUCCESS;
	__try {
		ProbeForWrite(p, len, align);
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		status = GetExceptionCode();
	}
	return status;
}

static NTSTATUS seh_probe_read(const void *p, SIZE_T len, ULONG align)
{
	NTSTATUS status = STATUS_SUCCESS;
	__try {
		ProbeForRead(p, len, align);
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		status = GetExceptionCode();
	}
	return status;
}

DC_TEST(wdk_seh_probe_user_buffers)
{
	/* x64: user space ends below MM_USER_PROBE_ADDRESS (0x7FFFFFFF0000). */
	CHECK_EQ(seh_probe_write((PVOID)0x10000, 64, 4), STATUS_SUCCESS);
	CHECK_EQ(seh_probe_write((PVOID)0x10002, 64, 4), STATUS_DATATYPE_MISALIGNMENT);
	CHECK_EQ(seh_probe_write((PVOID)0xffff800000001000ULL, 64, 1), STATUS_ACCESS_VIOLATION);
	CHECK_EQ(seh_probe_write((PVOID)0x7fffffffe000ULL, 0x2000, 1), STATUS_ACCESS_VIOLATION);
	CHECK_EQ(seh_probe_read((const void *)0xfffffffffffff000ULL, 0x2000, 1),
	         STATUS_ACCESS_VIOLATION); /* wraps around */
	CHECK_EQ(seh_probe_read((const void *)0xffff800000001001ULL, 0, 4), STATUS_SUCCESS);
}

DC_TEST(wdk_seh_except_finally_leave_nest)
{
	volatile int trace = 0;
	volatile NTSTATUS caught = 0;
	unsigned depth0 = dc_cpu_shadow_depth();

	/* Raised several frames down, caught here; the code is the raised one. */
	__try {
		trace = 1;
		seh_raise_deep(STATUS_INSUFFICIENT_RESOURCES);
		trace = 2;
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		caught = GetExceptionCode();
	}
	CHECK_EQ(trace, 1);
	CHECK_EQ((ULONG)caught, (ULONG)STATUS_INSUFFICIENT_RESOURCES);
	CHECK_EQ(dc_cpu_shadow_depth(), depth0);

	/* An inner filter that declines passes it on; the inner __finally runs on the way. */
	caught = 0;
	trace = 0;
	__try {
		__try {
			__try {
				ExRaiseStatus(STATUS_DEVICE_DATA_ERROR);
			} __finally {
				trace |= 1;
				CHECK(AbnormalTermination());
			}
		} __except (GetExceptionCode() == STATUS_DEVICE_DATA_ERROR
		                ? EXCEPTION_CONTINUE_SEARCH
		                : EXCEPTION_EXECUTE_HANDLER) {
			trace |= 2; /* must not run */
		}
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		caught = GetExceptionCode();
		trace |= 4;
	}
	CHECK_EQ(trace, 5);
	CHECK_EQ((ULONG)caught, (ULONG)STATUS_DEVICE_DATA_ERROR);

	/* __finally on the normal path, and __leave skips to it. */
	trace = 0;
	__try {
		trace |= 1;
		if (trace)
			__leave;
		trace |= 2;
	} __finally {
		trace |= 4;
		CHECK(!AbnormalTermination());
	}
	CHECK_EQ(trace, 5);

	/* An exception inside a handler goes to the next frame out. */
	caught = 0;
	__try {
		__try {
			ExRaiseStatus(STATUS_CANCELLED);
		} __except (EXCEPTION_EXECUTE_HANDLER) {
			ExRaiseStatus(STATUS_IO_DEVICE_ERROR);
		}
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		caught = GetExceptionCode();
	}
	CHECK_EQ((ULONG)caught, (ULONG)STATUS_IO_DEVICE_ERROR);
	seh_depth_probe++;
}

/* A `return` out of a __try leaves no frame behind: a later raise reaches the right one. */
static int seh_return_inside(void)
{
	__try {
		return 7;
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		return -1;
	}
	return 0;
}

DC_TEST(wdk_seh_return_from_try_pops_the_frame)
{
	volatile int where = 0;
	__try {
		CHECK_EQ(seh_return_inside(), 7);
		ExRaiseStatus(STATUS_UNSUCCESSFUL);
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		where = 1;
	}
	CHECK_EQ(where, 1);
}
