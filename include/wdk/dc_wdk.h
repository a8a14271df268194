/* dc_wdk.h — what dmacoh's WDK include tree adds to <dmacoh/wdm.h> for sources written
 * against the real WDK (included by <wdm.h>; see docs/wdk.md): the wide-string C routines on
 * 16-bit WCHAR (dmacoh-cc compiles with -fshort-wchar and routes them to the kernel's), more
 * Rtl string routines, the structured-exception emulation, and C++ pool new/delete.
 * Deliberately not here: the hardware-fault side of SEH (a bad pointer inside __try is a
 * crash, X01, not an exception) and floating point in the printf family. */
#ifndef DMACOH_WDK_DC_WDK_H
#define DMACOH_WDK_DC_WDK_H

#include <setjmp.h>
#include <dmacoh/wdm.h>

/* __try keeps a jmp_buf: gcc warns of locals that a longjmp may clobber (see docs/wdk.md). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef const ANSI_STRING *PCANSI_STRING;

/* --- Wide-string C routines (16-bit wchar_t: dmacoh-cc passes -fshort-wchar) ----------- */
#if defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2
size_t wcslen(const wchar_t *s);
size_t wcsnlen(const wchar_t *s, size_t max);
wchar_t *wcscpy(wchar_t *d, const wchar_t *s);
wchar_t *wcsncpy(wchar_t *d, const wchar_t *s, size_t n);
wchar_t *wcscat(wchar_t *d, const wchar_t *s);
wchar_t *wcsncat(wchar_t *d, const wchar_t *s, size_t n);
int wcscmp(const wchar_t *a, const wchar_t *b);
int wcsncmp(const wchar_t *a, const wchar_t *b, size_t n);
int _wcsicmp(const wchar_t *a, const wchar_t *b);
int _wcsnicmp(const wchar_t *a, const wchar_t *b, size_t n);
wchar_t *_wcsupr(wchar_t *s);
wchar_t *_wcslwr(wchar_t *s);
unsigned long wcstoul(const wchar_t *s, wchar_t **end, int base);
long wcstol(const wchar_t *s, wchar_t **end, int base);
/* ntoskrnl's swprintf has no count; %s is a wide string, %S and %hs narrow, %wZ a
 * PUNICODE_STRING.  _snwprintf returns -1 (and writes no NUL) when the output is cut. */
int swprintf(wchar_t *buf, const wchar_t *fmt, ...);
int _snwprintf(wchar_t *buf, size_t n, const wchar_t *fmt, ...);
int _vsnwprintf(wchar_t *buf, size_t n, const wchar_t *fmt, va_list ap);
#endif

/* --- Rtl strings ------------------------------------------------------------------------- */
VOID RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString);
NTSTATUS RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source);
NTSTATUS RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source);
LONG RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                             BOOLEAN CaseInSensitive);
BOOLEAN RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                              BOOLEAN CaseInSensitive);
BOOLEAN RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                               BOOLEAN CaseInSensitive);
WCHAR RtlUpcaseUnicodeChar(WCHAR SourceCharacter);
NTSTATUS RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String);
NTSTATUS RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value);
VOID RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString);
VOID RtlInitString(PSTRING DestinationString, PCSZ SourceString);
NTSTATUS RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
                                      BOOLEAN AllocateDestinationString);
VOID RtlFreeAnsiString(PANSI_STRING AnsiString);

/* --- Structured exceptions (emulated: docs/wdk.md says exactly what is covered) ---------- */
#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

struct dc_seh_frame {
	int state;
	int unwinding;
	NTSTATUS code;
	unsigned depth;
	struct dc_seh_frame *prev;
	void *owner;
	jmp_buf jb;
};
int dc_seh_step(struct dc_seh_frame *f);
int dc_seh_filter(struct dc_seh_frame *f, int verdict);
int dc_seh_finally(struct dc_seh_frame *f);
void dc_seh_cleanup(struct dc_seh_frame *f);

DECLSPEC_NORETURN VOID ExRaiseStatus(NTSTATUS Status);
VOID ProbeForRead(const volatile VOID *Address, SIZE_T Length, ULONG Alignment);
VOID ProbeForWrite(volatile VOID *Address, SIZE_T Length, ULONG Alignment);

#ifdef __cplusplus
#define DC_SEH_INIT \
	{           \
	}
#else
#define DC_SEH_INIT \
	{           \
		0   \
	}
#endif

/* __try BODY __except (FILTER) HANDLER   and   __try BODY __finally CLEANUP.
 * One loop, two passes over one if/else: pass 1 (state 1) runs the body under setjmp, and
 * an exception longjmps back into its else branch (the filter, or the __finally block);
 * pass 2 (state 2) runs a __finally block after a normal end.  __leave (`continue`) ends the
 * body and goes on to the __finally block.  A nested __try's frame shadows the outer one
 * (GetExceptionCode() names the innermost), hence the -Wshadow pragmas. */
// clang-format off
#define __try \
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wshadow\"") \
	for (struct dc_seh_frame __dc_seh __attribute__((cleanup(dc_seh_cleanup))) = DC_SEH_INIT; \
	     dc_seh_step(&__dc_seh);) \
		_Pragma("GCC diagnostic pop") \
		if (__dc_seh.state == 1 && setjmp(__dc_seh.jb) == 0)
#define __except(filter) else if (__dc_seh.state == 1 && dc_seh_filter(&__dc_seh, (filter)))
#define __finally else if (dc_seh_finally(&__dc_seh))
#define __leave continue
#define _try __try
#define _except __except
#define _finally __finally
#define _leave __leave
#define GetExceptionCode() (__dc_seh.code)
#define _exception_code() (__dc_seh.code)
#define AbnormalTermination() (__dc_seh.unwinding)
// clang-format on

#ifdef __cplusplus
}

/* --- C++: the WDK's pool allocation idiom, `new (NonPagedPool, 'gaT1') T(...)` ----------- */
inline void *operator new(size_t n, POOL_TYPE pool, ULONG tag) noexcept
{
	return ExAllocatePoolWithTag(pool, n ? n : 1, tag);
}
inline void *operator new[](size_t n, POOL_TYPE pool, ULONG tag) noexcept
{
	return ExAllocatePoolWithTag(pool, n ? n : 1, tag);
}
inline void *operator new(size_t n, POOL_TYPE pool) noexcept
{
	return ExAllocatePoolWithTag(pool, n ? n : 1, 0x4b434e77 /* 'wNCK' */);
}
/* Called only if a constructor throws (never: -fno-exceptions); they pair with the above. */
inline void operator delete(void *p, POOL_TYPE, ULONG) noexcept
{
	ExFreePool(p);
}
inline void operator delete[](void *p, POOL_TYPE, ULONG) noexcept
{
	ExFreePool(p);
}
inline void operator delete(void *p, POOL_TYPE) noexcept
{
	ExFreePool(p);
}
#endif

#endif
