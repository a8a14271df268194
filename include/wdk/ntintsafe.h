/* <ntintsafe.h> of dmacoh's WDK include tree: overflow-checked integer arithmetic and
 * conversions between unsigned types (the commonly used subset), STATUS_INTEGER_OVERFLOW on
 * overflow with the result set to the WDK's error value. */
#ifndef DMACOH_WDK_NTINTSAFE_H
#define DMACOH_WDK_NTINTSAFE_H

#include <wdm.h>

#ifndef STATUS_INTEGER_OVERFLOW
#define STATUS_INTEGER_OVERFLOW ((NTSTATUS)0xC0000095L)
#endif

// clang-format off
#define DC_INTSAFE_OP(name, T, op, err) \
	static inline NTSTATUS name(T a, T b, T *r) \
	{ \
		if (__builtin_##op##_overflow(a, b, r)) { \
			*r = err; \
			return STATUS_INTEGER_OVERFLOW; \
		} \
		return STATUS_SUCCESS; \
	}
#define DC_INTSAFE_CONV(name, From, To, hi) \
	static inline NTSTATUS name(From a, To *r) \
	{ \
		if (a > (From)(hi)) { \
			*r = (To)-1; \
			return STATUS_INTEGER_OVERFLOW; \
		} \
		*r = (To)a; \
		return STATUS_SUCCESS; \
	}
// clang-format on

DC_INTSAFE_OP(RtlULongAdd, ULONG, add, MAXULONG)
DC_INTSAFE_OP(RtlULongSub, ULONG, sub, MAXULONG)
DC_INTSAFE_OP(RtlULongMult, ULONG, mul, MAXULONG)
DC_INTSAFE_OP(RtlUShortAdd, USHORT, add, MAXUSHORT)
DC_INTSAFE_OP(RtlUShortMult, USHORT, mul, MAXUSHORT)
DC_INTSAFE_OP(RtlULongLongAdd, ULONGLONG, add, MAXULONGLONG)
DC_INTSAFE_OP(RtlULongLongSub, ULONGLONG, sub, MAXULONGLONG)
DC_INTSAFE_OP(RtlULongLongMult, ULONGLONG, mul, MAXULONGLONG)
DC_INTSAFE_OP(RtlSizeTAdd, SIZE_T, add, (SIZE_T)-1)
DC_INTSAFE_OP(RtlSizeTSub, SIZE_T, sub, (SIZE_T)-1)
DC_INTSAFE_OP(RtlSizeTMult, SIZE_T, mul, (SIZE_T)-1)
DC_INTSAFE_OP(RtlULongPtrAdd, ULONG_PTR, add, MAXULONG_PTR)
DC_INTSAFE_OP(RtlULongPtrMult, ULONG_PTR, mul, MAXULONG_PTR)
DC_INTSAFE_CONV(RtlULongLongToULong, ULONGLONG, ULONG, MAXULONG)
DC_INTSAFE_CONV(RtlULongPtrToULong, ULONG_PTR, ULONG, MAXULONG)
DC_INTSAFE_CONV(RtlSizeTToULong, SIZE_T, ULONG, MAXULONG)
DC_INTSAFE_CONV(RtlULongToUShort, ULONG, USHORT, MAXUSHORT)
DC_INTSAFE_CONV(RtlULongToUChar, ULONG, UCHAR, MAXUCHAR)

#endif
