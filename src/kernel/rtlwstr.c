/* Wide strings on 16-bit WCHAR (docs/wdk.md): the C routines a driver calls (wcslen, wcscpy,
 * _wcsicmp, swprintf, _snwprintf, ...), which dmacoh-cc renames in every module to these
 * __dc_ ones so that a module never binds to glibc's 32-bit wchar_t versions, and the Rtl
 * UNICODE_STRING/ANSI_STRING routines beyond RtlInitUnicodeString.  Every character the kernel
 * reads or writes in driver memory goes through the cache model (dc_ktouch).  Case mapping is
 * ASCII only (Windows' RtlUpcaseUnicodeChar maps all of Unicode); the printf family knows %s
 * %S %ls %hs %ws %c %C %wZ %Z %d %i %u %x %X %o %p %% with flags, width, precision and the l,
 * ll, h, I64, z sizes — not floating point. */
#include <stdarg.h>
#include <stdio.h>

#include "kernel.h"

typedef uint16_t wch;

#define DC_EXPORT_W(ret, name, args) \
	ret name args;               \
	ret name args

static void wtouch(const void *p, size_t n, bool write)
{
	if (dc_sys_cur)
		dc_ktouch(dc_sys_cur, p, n, write);
}

static wch rd(const wch *p)
{
	wtouch(p, sizeof(wch), false);
	return *p;
}

static void wr(wch *p, wch c)
{
	wtouch(p, sizeof(wch), true);
	*p = c;
}

static wch up(wch c)
{
	return (c >= 'a' && c <= 'z') ? (wch)(c - 'a' + 'A') : c;
}

static wch low(wch c)
{
	return (c >= 'A' && c <= 'Z') ? (wch)(c - 'A' + 'a') : c;
}

DC_EXPORT_W(size_t, __dc_wcslen, (const wch *s))
{
	size_t n = 0;
	while (rd(s + n))
		n++;
	return n;
}

DC_EXPORT_W(size_t, __dc_wcsnlen, (const wch *s, size_t max))
{
	size_t n = 0;
	while (n < max && rd(s + n))
		n++;
	return n;
}

DC_EXPORT_W(wch *, __dc_wcscpy, (wch * d, const wch *s))
{
	size_t i = 0;
	wch c;
	do {
		c = rd(s + i);
		wr(d + i, c);
		i++;
	} while (c);
	return d;
}

DC_EXPORT_W(wch *, __dc_wcsncpy, (wch * d, const wch *s, size_t n))
{
	size_t i = 0;
	for (; i < n; i++) {
		wch c = rd(s + i);
		wr(d + i, c);
		if (!c)
			break;
	}
	for (; i < n; i++)
		wr(d + i, 0);
	return d;
}

DC_EXPORT_W(wch *, __dc_wcscat, (wch * d, const wch *s))
{
	__dc_wcscpy(d + __dc_wcslen(d), s);
	return d;
}

DC_EXPORT_W(wch *, __dc_wcsncat, (wch * d, const wch *s, size_t n))
{
	wch *e = d + __dc_wcslen(d);
	size_t i = 0;
	for (; i < n; i++) {
		wch c = rd(s + i);
		if (!c)
			break;
		wr(e + i, c);
	}
	wr(e + i, 0);
	return d;
}

static int wcmp(const wch *a, const wch *b, size_t n, bool fold)
{
	for (size_t i = 0; i < n; i++) {
		wch x = rd(a + i), y = rd(b + i);
		if (fold) {
			x = low(x);
			y = low(y);
		}
		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
	return 0;
}

DC_EXPORT_W(int, __dc_wcscmp, (const wch *a, const wch *b))
{
	return wcmp(a, b, SIZE_MAX, false);
}

DC_EXPORT_W(int, __dc_wcsncmp, (const wch *a, const wch *b, size_t n))
{
	return wcmp(a, b, n, false);
}

DC_EXPORT_W(int, __dc__wcsicmp, (const wch *a, const wch *b))
{
	return wcmp(a, b, SIZE_MAX, true);
}

DC_EXPORT_W(int, __dc__wcsnicmp, (const wch *a, const wch *b, size_t n))
{
	return wcmp(a, b, n, true);
}

DC_EXPORT_W(wch *, __dc_wcschr, (const wch *s, wch c))
{
	for (;; s++) {
		wch x = rd(s);
		if (x == c)
			return (wch *)s;
		if (!x)
			return NULL;
	}
}

DC_EXPORT_W(wch *, __dc_wcsrchr, (const wch *s, wch c))
{
	const wch *last = NULL;
	for (;; s++) {
		wch x = rd(s);
		if (x == c)
			last = s;
		if (!x)
			return (wch *)last;
	}
}

DC_EXPORT_W(wch *, __dc_wcsstr, (const wch *h, const wch *n))
{
	size_t ln = __dc_wcslen(n);
	for (;; h++) {
		if (!wcmp(h, n, ln, false))
			return (wch *)h;
		if (!rd(h))
			return NULL;
	}
}

DC_EXPORT_W(unsigned, __dc_towupper, (unsigned c))
{
	return c < 0x10000 ? up((wch)c) : c;
}

DC_EXPORT_W(unsigned, __dc_towlower, (unsigned c))
{
	return c < 0x10000 ? low((wch)c) : c;
}

DC_EXPORT_W(wch *, __dc__wcsupr, (wch * s))
{
	for (wch *p = s; rd(p); p++)
		wr(p, up(rd(p)));
	return s;
}

DC_EXPORT_W(wch *, __dc__wcslwr, (wch * s))
{
	for (wch *p = s; rd(p); p++)
		wr(p, low(rd(p)));
	return s;
}

static unsigned long long wtoull(const wch *s, wch **end, int base, bool *neg)
{
	const wch *p = s;
	while (rd(p) == ' ' || rd(p) == '\t')
		p++;
	*neg = false;
	if (rd(p) == '-' || rd(p) == '+')
		*neg = rd(p++) == '-';
	if ((base == 0 || base == 16) && rd(p) == '0' && (rd(p + 1) == 'x' || rd(p + 1) == 'X')) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = rd(p) == '0' ? 8 : 10;
	}
	unsigned long long v = 0;
	const wch *digits = p;
	for (;; p++) {
		wch c = rd(p);
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'z' ? c - 'a' + 10
		        : c >= 'A' && c <= 'Z' ? c - 'A' + 10
		                               : 99;
		if (d >= base)
			break;
		v = v * (unsigned)base + (unsigned)d;
	}
	if (end)
		*end = (wch *)(p == digits ? s : p);
	return v;
}

DC_EXPORT_W(unsigned long, __dc_wcstoul, (const wch *s, wch **end, int base))
{
	bool neg;
	unsigned long v = (unsigned long)wtoull(s, end, base, &neg);
	return neg ? -v : v;
}

DC_EXPORT_W(long, __dc_wcstol, (const wch *s, wch **end, int base))
{
	bool neg;
	long v = (long)wtoull(s, end, base, &neg);
	return neg ? -v : v;
}

/* --- The printf family ----------------------------------------------------------------- */

/* Output: up to cap characters (cap - 1 and a NUL when nul); counts all it would write. */
struct wout {
	wch *buf;
	size_t cap, n;
};

static void put(struct wout *o, wch c)
{
	if (o->buf && o->n < o->cap)
		wr(o->buf + o->n, c);
	o->n++;
}

static void put_pad(struct wout *o, int n, wch c)
{
	while (n-- > 0)
		put(o, c);
}

static int wvformat(struct wout *o, const wch *fmt, va_list ap)
{
	for (const wch *f = fmt; rd(f); f++) {
		wch c = rd(f);
		if (c != '%') {
			put(o, c);
			continue;
		}
		char spec[32] = "%";
		size_t sl = 1;
		bool left = false;
		f++;
		while (rd(f) && strchr("-+ #0", (char)rd(f))) {
			if (rd(f) == '-')
				left = true;
			if (sl < 8)
				spec[sl++] = (char)rd(f);
			f++;
		}
		int width = -1, prec = -1;
		if (rd(f) == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			f++;
		} else if (rd(f) >= '0' && rd(f) <= '9') {
			width = 0;
			while (rd(f) >= '0' && rd(f) <= '9')
				width = width * 10 + (rd(f++) - '0');
		}
		if (rd(f) == '.') {
			f++;
			prec = 0;
			if (rd(f) == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				while (rd(f) >= '0' && rd(f) <= '9')
					prec = prec * 10 + (rd(f++) - '0');
			}
		}
		/* Sizes: h, l, ll, w (wide), I64, I32, I, z. */
		int size = 0;  /* 0 int, 1 long, 2 long long, 3 size_t, -1 short */
		int wide = -1; /* for %s/%c: 1 wide, 0 narrow, -1 default (wide in w-printf) */
		for (;;) {
			wch s = rd(f);
			if (s == 'h') {
				size = -1;
				wide = 0;
				f++;
			} else if (s == 'l') {
				size = size == 1 ? 2 : 1;
				wide = 1;
				f++;
			} else if (s == 'w') {
				wide = 1;
				f++;
			} else if (s == 'z') {
				size = 3;
				f++;
			} else if (s == 'I' && rd(f + 1) == '6' && rd(f + 2) == '4') {
				size = 2;
				f += 3;
			} else if (s == 'I' && rd(f + 1) == '3' && rd(f + 2) == '2') {
				size = 0;
				f += 3;
			} else if (s == 'I') {
				size = 3;
				f++;
			} else {
				break;
			}
		}
		wch conv = rd(f);
		if (!conv)
			break;
		switch (conv) {
		case '%':
			put(o, '%');
			break;
		case 'c':
		case 'C': {
			wch ch = (wch)va_arg(ap, int);
			if (!left)
				put_pad(o, width - 1, ' ');
			put(o, (conv == 'C' && wide != 1) ? (wch)(uint8_t)ch : ch);
			if (left)
				put_pad(o, width - 1, ' ');
			break;
		}
		case 's':
		case 'S':
		case 'Z': {
			/* %s: wide here (MS w-printf), %S and %hs narrow, %ls %ws wide; %wZ a
			 * PUNICODE_STRING, %Z a PANSI_STRING. */
			const void *str;
			size_t len;
			bool w = conv == 's' ? wide != 0 : conv == 'S' ? wide == 1 : wide == 1;
			if (conv == 'Z') {
				if (w) {
					const UNICODE_STRING *us =
					    va_arg(ap, const UNICODE_STRING *);
					wtouch(us, sizeof(*us), false);
					str = us ? us->Buffer : NULL;
					len = us ? us->Length / 2 : 0;
				} else {
					const ANSI_STRING *as = va_arg(ap, const ANSI_STRING *);
					wtouch(as, sizeof(*as), false);
					str = as ? as->Buffer : NULL;
					len = as ? as->Length : 0;
				}
			} else {
				str = va_arg(ap, const void *);
				len = !str ? 6 : w ? __dc_wcslen(str) : strlen(str);
			}
			const char *null = "(null)";
			if (!str)
				w = false;
			if (prec >= 0 && (size_t)prec < len)
				len = (size_t)prec;
			int padn = width > (int)len ? width - (int)len : 0;
			if (!left)
				put_pad(o, padn, ' ');
			for (size_t i = 0; i < len; i++) {
				if (!str)
					put(o, (wch)null[i]);
				else if (w)
					put(o, rd((const wch *)str + i));
				else {
					wtouch((const char *)str + i, 1, false);
					put(o, (wch)(uint8_t)((const char *)str)[i]);
				}
			}
			if (left)
				put_pad(o, padn, ' ');
			break;
		}
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o':
		case 'p': {
			char num[80];
			if (width >= 0)
				sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", width);
			if (prec >= 0)
				sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, ".%d", prec);
			bool sgn = conv == 'd' || conv == 'i';
			if (conv == 'p') {
				spec[sl++] = 'p';
				spec[sl] = 0;
				snprintf(num, sizeof(num), spec, va_arg(ap, void *));
			} else {
				spec[sl++] = 'l';
				spec[sl++] = 'l';
				spec[sl++] = (char)conv;
				spec[sl] = 0;
				long long v;
				if (size == 2)
					v = va_arg(ap, long long);
				else if (size == 1 || size == 3)
					v = sgn ? va_arg(ap, long)
					        : (long long)va_arg(ap, unsigned long);
				else
					v = sgn ? va_arg(ap, int) : (long long)va_arg(ap, unsigned);
				if (size == -1)
					v = sgn ? (short)v : (unsigned short)v;
				if (sgn)
					snprintf(num, sizeof(num), spec, v);
				else
					snprintf(num, sizeof(num), spec, (unsigned long long)v);
			}
			for (const char *q = num; *q; q++)
				put(o, (wch)(uint8_t)*q);
			break;
		}
		default: /* unknown: copied as written */
			put(o, '%');
			put(o, conv);
			break;
		}
	}
	return (int)o->n;
}

DC_EXPORT_W(int, __dc__vsnwprintf, (wch * buf, size_t n, const wch *fmt, va_list ap))
{
	struct wout o = {buf, n, 0};
	int r = wvformat(&o, fmt, ap);
	if (o.n < n) {
		wr(buf + o.n, 0);
		return r;
	}
	return -1; /* truncated: no terminating NUL, as the MS CRT's _vsnwprintf */
}

DC_EXPORT_W(int, __dc__snwprintf, (wch * buf, size_t n, const wch *fmt, ...))
{
	va_list ap;
	va_start(ap, fmt);
	int r = __dc__vsnwprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

/* The kernel's swprintf has no count (the pre-ISO form ntoskrnl exports). */
DC_EXPORT_W(int, __dc_vswprintf, (wch * buf, const wch *fmt, va_list ap))
{
	return __dc__vsnwprintf(buf, SIZE_MAX / 4, fmt, ap);
}

DC_EXPORT_W(int, __dc_swprintf, (wch * buf, const wch *fmt, ...))
{
	va_list ap;
	va_start(ap, fmt);
	int r = __dc__vsnwprintf(buf, SIZE_MAX / 4, fmt, ap);
	va_end(ap);
	return r;
}

/* --- UNICODE_STRING / ANSI_STRING ------------------------------------------------------- */

DC_EXPORT_W(VOID, RtlCopyUnicodeString, (PUNICODE_STRING d, PCUNICODE_STRING s))
{
	wtouch(d, sizeof(*d), true);
	if (!s) {
		d->Length = 0;
		return;
	}
	wtouch(s, sizeof(*s), false);
	USHORT n = s->Length < d->MaximumLength ? s->Length : d->MaximumLength;
	for (USHORT i = 0; i < n / 2; i++)
		wr(d->Buffer + i, rd(s->Buffer + i));
	d->Length = (USHORT)(n & ~1u);
	if (d->Length + sizeof(WCHAR) <= d->MaximumLength)
		wr(d->Buffer + d->Length / 2, 0);
}

static NTSTATUS append(PUNICODE_STRING d, const wch *s, size_t bytes)
{
	wtouch(d, sizeof(*d), true);
	if (d->Length + bytes > d->MaximumLength)
		return STATUS_BUFFER_TOO_SMALL;
	for (size_t i = 0; i < bytes / 2; i++)
		wr(d->Buffer + d->Length / 2 + i, rd(s + i));
	d->Length = (USHORT)(d->Length + bytes);
	if (d->Length + sizeof(WCHAR) <= d->MaximumLength)
		wr(d->Buffer + d->Length / 2, 0);
	return STATUS_SUCCESS;
}

DC_EXPORT_W(NTSTATUS, RtlAppendUnicodeToString, (PUNICODE_STRING d, PCWSTR s))
{
	return s ? append(d, s, __dc_wcslen(s) * 2) : STATUS_SUCCESS;
}

DC_EXPORT_W(NTSTATUS, RtlAppendUnicodeStringToString, (PUNICODE_STRING d, PCUNICODE_STRING s))
{
	wtouch(s, sizeof(*s), false);
	return append(d, s->Buffer, s->Length);
}

DC_EXPORT_W(LONG, RtlCompareUnicodeString,
            (PCUNICODE_STRING a, PCUNICODE_STRING b, BOOLEAN CaseInSensitive))
{
	wtouch(a, sizeof(*a), false);
	wtouch(b, sizeof(*b), false);
	size_t na = a->Length / 2, nb = b->Length / 2;
	for (size_t i = 0; i < na && i < nb; i++) {
		wch x = rd(a->Buffer + i), y = rd(b->Buffer + i);
		if (CaseInSensitive) {
			x = up(x);
			y = up(y);
		}
		if (x != y)
			return (LONG)x - (LONG)y;
	}
	return (LONG)na - (LONG)nb;
}

DC_EXPORT_W(BOOLEAN, RtlEqualUnicodeString,
            (PCUNICODE_STRING a, PCUNICODE_STRING b, BOOLEAN CaseInSensitive))
{
	return RtlCompareUnicodeString(a, b, CaseInSensitive) == 0;
}

DC_EXPORT_W(BOOLEAN, RtlPrefixUnicodeString,
            (PCUNICODE_STRING p, PCUNICODE_STRING s, BOOLEAN CaseInSensitive))
{
	wtouch(p, sizeof(*p), false);
	wtouch(s, sizeof(*s), false);
	if (p->Length > s->Length)
		return FALSE;
	UNICODE_STRING head = {p->Length, p->Length, s->Buffer};
	return RtlCompareUnicodeString(p, &head, CaseInSensitive) == 0;
}

DC_EXPORT_W(WCHAR, RtlUpcaseUnicodeChar, (WCHAR c))
{
	return up(c);
}

DC_EXPORT_W(NTSTATUS, RtlIntegerToUnicodeString, (ULONG Value, ULONG Base, PUNICODE_STRING s))
{
	char tmp[40];
	if (Base == 0)
		Base = 10;
	if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	size_t n = 0;
	do {
		tmp[n++] = "0123456789ABCDEF"[Value % Base];
		Value /= Base;
	} while (Value);
	wtouch(s, sizeof(*s), true);
	if ((n + 1) * 2 > s->MaximumLength)
		return STATUS_BUFFER_OVERFLOW;
	for (size_t i = 0; i < n; i++)
		wr(s->Buffer + i, (wch)tmp[n - 1 - i]);
	wr(s->Buffer + n, 0);
	s->Length = (USHORT)(n * 2);
	return STATUS_SUCCESS;
}

DC_EXPORT_W(NTSTATUS, RtlUnicodeStringToInteger, (PCUNICODE_STRING s, ULONG Base, PULONG Value))
{
	wtouch(s, sizeof(*s), false);
	size_t n = s->Length / 2, i = 0;
	while (i < n && rd(s->Buffer + i) == ' ')
		i++;
	bool neg = false;
	if (i < n && (rd(s->Buffer + i) == '-' || rd(s->Buffer + i) == '+'))
		neg = rd(s->Buffer + i++) == '-';
	if (Base == 0) {
		Base = 10;
		if (i + 1 < n && rd(s->Buffer + i) == '0') {
			wch p = rd(s->Buffer + i + 1);
			Base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
			if (Base != 10)
				i += 2;
		}
	}
	if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	ULONG v = 0;
	for (; i < n; i++) {
		wch c = up(rd(s->Buffer + i));
		ULONG d = c >= '0' && c <= '9'   ? (ULONG)(c - '0')
		          : c >= 'A' && c <= 'F' ? (ULONG)(c - 'A' + 10)
		                                 : 99;
		if (d >= Base)
			break;
		v = v * Base + d;
	}
	wtouch(Value, sizeof(*Value), true);
	*Value = neg ? (ULONG)-v : v;
	return STATUS_SUCCESS;
}

DC_EXPORT_W(VOID, RtlInitAnsiString, (PANSI_STRING d, PCSZ s))
{
	size_t n = s ? strlen(s) : 0;
	wtouch(d, sizeof(*d), true);
	d->Buffer = (PCHAR)s;
	d->Length = (USHORT)n;
	d->MaximumLength = (USHORT)(s ? n + 1 : 0);
}

DC_EXPORT_W(VOID, RtlInitString, (PSTRING d, PCSZ s))
{
	RtlInitAnsiString(d, s);
}

DC_EXPORT_W(NTSTATUS, RtlAnsiStringToUnicodeString,
            (PUNICODE_STRING d, const ANSI_STRING *s, BOOLEAN Allocate))
{
	wtouch(s, sizeof(*s), false);
	wtouch(d, sizeof(*d), true);
	size_t bytes = (size_t)s->Length * 2;
	if (bytes + 2 > 0xfffe)
		return STATUS_INVALID_PARAMETER_2;
	if (Allocate) {
		d->Buffer = ExAllocatePoolWithTag(PagedPool, bytes + 2, 'rtSU');
		if (!d->Buffer)
			return STATUS_NO_MEMORY;
		d->MaximumLength = (USHORT)(bytes + 2);
	} else if (bytes > d->MaximumLength) {
		return STATUS_BUFFER_OVERFLOW;
	}
	for (USHORT i = 0; i < s->Length; i++) {
		wtouch(s->Buffer + i, 1, false);
		wr(d->Buffer + i, (wch)(uint8_t)s->Buffer[i]);
	}
	d->Length = (USHORT)bytes;
	if (bytes + 2 <= d->MaximumLength)
		wr(d->Buffer + s->Length, 0);
	return STATUS_SUCCESS;
}

DC_EXPORT_W(VOID, RtlFreeAnsiString, (PANSI_STRING s))
{
	if (s && s->Buffer) {
		ExFreePool(s->Buffer);
		s->Buffer = NULL;
		s->Length = s->MaximumLength = 0;
	}
}
