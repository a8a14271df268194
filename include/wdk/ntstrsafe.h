/* <ntstrsafe.h> of dmacoh's WDK include tree: the bounded string routines (RtlStringCb* take
 * the destination size in bytes, RtlStringCch* in characters) with the WDK's results: a
 * result that does not fit is cut, NUL-terminated, and the call returns
 * STATUS_BUFFER_OVERFLOW; a zero size or a size above NTSTRSAFE_MAX_CCH is
 * STATUS_INVALID_PARAMETER.  Inline, so they run as the driver's own (instrumented) code; the
 * W printf forms format with the kernel's _vsnwprintf (16-bit WCHAR).  Not provided: the Ex
 * forms' flags beyond the plain ones, the narrow printf forms, the UNICODE_STRING forms. */
#ifndef DMACOH_WDK_NTSTRSAFE_H
#define DMACOH_WDK_NTSTRSAFE_H

#include <wdm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NTSTRSAFE_MAX_CCH 2147483647
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH 32767

static inline NTSTATUS dc_strsafe_copy_w(PWSTR d, size_t cch, PCWSTR s, size_t max_src)
{
	if (!cch || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	size_t i = 0;
	for (; i < cch - 1 && i < max_src && s[i]; i++)
		d[i] = s[i];
	d[i] = 0;
	return (i < max_src && s[i]) ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static inline NTSTATUS dc_strsafe_copy_a(PSTR d, size_t cch, PCSTR s, size_t max_src)
{
	if (!cch || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	size_t i = 0;
	for (; i < cch - 1 && i < max_src && s[i]; i++)
		d[i] = s[i];
	d[i] = 0;
	return (i < max_src && s[i]) ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static inline NTSTATUS RtlStringCchLengthW(PCWSTR s, size_t cchMax, size_t *pcch)
{
	size_t n = 0;
	if (!s || cchMax > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	while (n < cchMax && s[n])
		n++;
	if (pcch)
		*pcch = n < cchMax ? n : 0;
	return n < cchMax ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

static inline NTSTATUS RtlStringCbLengthW(PCWSTR s, size_t cbMax, size_t *pcb)
{
	size_t n;
	NTSTATUS st = RtlStringCchLengthW(s, cbMax / sizeof(WCHAR), &n);
	if (pcb)
		*pcb = NT_SUCCESS(st) ? n * sizeof(WCHAR) : 0;
	return st;
}

static inline NTSTATUS RtlStringCchLengthA(PCSTR s, size_t cchMax, size_t *pcch)
{
	size_t n = 0;
	if (!s || cchMax > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	while (n < cchMax && s[n])
		n++;
	if (pcch)
		*pcch = n < cchMax ? n : 0;
	return n < cchMax ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

static inline NTSTATUS RtlStringCbLengthA(PCSTR s, size_t cbMax, size_t *pcb)
{
	return RtlStringCchLengthA(s, cbMax, pcb);
}

static inline NTSTATUS RtlStringCchCopyW(PWSTR d, size_t cch, PCWSTR s)
{
	return dc_strsafe_copy_w(d, cch, s, (size_t)-1);
}

static inline NTSTATUS RtlStringCbCopyW(PWSTR d, size_t cb, PCWSTR s)
{
	return dc_strsafe_copy_w(d, cb / sizeof(WCHAR), s, (size_t)-1);
}

static inline NTSTATUS RtlStringCchCopyNW(PWSTR d, size_t cch, PCWSTR s, size_t n)
{
	return dc_strsafe_copy_w(d, cch, s, n);
}

static inline NTSTATUS RtlStringCbCopyNW(PWSTR d, size_t cb, PCWSTR s, size_t nb)
{
	return dc_strsafe_copy_w(d, cb / sizeof(WCHAR), s, nb / sizeof(WCHAR));
}

static inline NTSTATUS RtlStringCchCopyA(PSTR d, size_t cch, PCSTR s)
{
	return dc_strsafe_copy_a(d, cch, s, (size_t)-1);
}

static inline NTSTATUS RtlStringCbCopyA(PSTR d, size_t cb, PCSTR s)
{
	return dc_strsafe_copy_a(d, cb, s, (size_t)-1);
}

static inline NTSTATUS RtlStringCchCatW(PWSTR d, size_t cch, PCWSTR s)
{
	size_t n;
	if (!NT_SUCCESS(RtlStringCchLengthW(d, cch, &n)))
		return STATUS_INVALID_PARAMETER;
	return dc_strsafe_copy_w(d + n, cch - n, s, (size_t)-1);
}

static inline NTSTATUS RtlStringCbCatW(PWSTR d, size_t cb, PCWSTR s)
{
	return RtlStringCchCatW(d, cb / sizeof(WCHAR), s);
}

static inline NTSTATUS RtlStringCchCatA(PSTR d, size_t cch, PCSTR s)
{
	size_t n;
	if (!NT_SUCCESS(RtlStringCchLengthA(d, cch, &n)))
		return STATUS_INVALID_PARAMETER;
	return dc_strsafe_copy_a(d + n, cch - n, s, (size_t)-1);
}

static inline NTSTATUS RtlStringCbCatA(PSTR d, size_t cb, PCSTR s)
{
	return RtlStringCchCatA(d, cb, s);
}

#if defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2
static inline NTSTATUS RtlStringCchVPrintfW(PWSTR d, size_t cch, PCWSTR fmt, va_list ap)
{
	if (!cch || cch > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	int r = _vsnwprintf((wchar_t *)d, cch, (const wchar_t *)fmt, ap);
	if (r < 0 || (size_t)r >= cch) {
		d[cch - 1] = 0;
		return STATUS_BUFFER_OVERFLOW;
	}
	return STATUS_SUCCESS;
}

static inline NTSTATUS RtlStringCchPrintfW(PWSTR d, size_t cch, PCWSTR fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	NTSTATUS st = RtlStringCchVPrintfW(d, cch, fmt, ap);
	va_end(ap);
	return st;
}

static inline NTSTATUS RtlStringCbPrintfW(PWSTR d, size_t cb, PCWSTR fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	NTSTATUS st = RtlStringCchVPrintfW(d, cb / sizeof(WCHAR), fmt, ap);
	va_end(ap);
	return st;
}
#endif

#ifdef __cplusplus
}
#endif

#endif
