/* dmacoh/wdm.h — the Windows kernel DMA surface (WDM), for drivers compiled by dmacoh.
 *
 * An unmodified WDM-style driver's DMA path compiles against this header.  Names are
 * Microsoft's, verbatim; types are sized as on 64-bit Windows (LLP64) even though dmacoh
 * compiles on LP64 Linux: ULONG/LONG are exactly 32 bits, ULONG_PTR is pointer-sized,
 * WCHAR is 16 bits.  Structures a driver touches (MDL, IRP, IO_STACK_LOCATION, DMA_ADAPTER,
 * DMA_OPERATIONS, DEVICE_DESCRIPTION, SCATTER_GATHER_LIST, CM resources …) have the x64
 * WDK member order and offsets.  Every routine is only declared here; dmacoh's kernel
 * (src/kernel) implements them.  Written from the WDK documentation and
 * docs/wdm-dma-spec.md; no code is taken from any other project.
 *
 * Wide strings: WCHAR is uint16_t, so use u"..." literals (char16_t) — L"..." is 32-bit
 * wchar_t on Linux unless the driver is compiled with -fshort-wchar.
 */
#ifndef DMACOH_WDM_H
#define DMACOH_WDM_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdarg.h>

/* WDK drivers carry MSVC pragmas (#pragma alloc_text(PAGE, ...), #pragma code_seg); GCC and
 * clang would warn about each under -Wall.  They mean nothing here. */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"

// clang-format off

/* ======================================================================================
 * Calling conventions, linkage and SAL annotations: all empty
 * ==================================================================================== */
#define NTAPI
#define NTAPI_INLINE
#define WINAPI
#define CALLBACK
#define FASTCALL
#define __stdcall
#define __cdecl
#define __fastcall
#define DECLSPEC_IMPORT
#define DECLSPEC_EXPORT
#define DECLSPEC_NOINLINE        __attribute__((noinline))
#define DECLSPEC_NORETURN        _Noreturn
#define DECLSPEC_ALIGN(x)        __attribute__((aligned(x)))
#define DECLSPEC_CACHEALIGN      DECLSPEC_ALIGN(64)
#define NTKERNELAPI
#define NTHALAPI
#define NTSYSAPI
#define NTSYSCALLAPI
#define NTSTRSAFEAPI             static inline NTSTATUS
#define FORCEINLINE              static inline
#define INLINE                   inline
#define __forceinline            inline
#define POINTER_ALIGNMENT        _Alignas(8)
#define EXTERN_C                 extern
#define CONST                    const
#define RESTRICTED_POINTER
#define UNALIGNED
#define __unaligned
#define __ptr64
#define __ptr32
#define IN
#define OUT
#define OPTIONAL

#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _Inout_
#define _Inout_opt_
#define _Inout_z_
#define _Out_
#define _Out_opt_
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_maybenull_
#define _Outptr_result_nullonfailure_
#define _Deref_out_
#define _Deref_out_opt_
#define _Pre_
#define _Post_
#define _Pre_notnull_
#define _Pre_maybenull_
#define _Post_maybenull_
#define _Post_invalid_
#define _Ret_maybenull_
#define _Ret_notnull_
#define _Result_nullonfailure_
#define _Notliteral_
#define _Must_inspect_result_
#define _Check_return_
#define _Use_decl_annotations_
#define _Printf_format_string_
#define _Kernel_float_used_
#define _Kernel_requires_resource_held_(...)
#define _Kernel_clear_do_init_(...)
#define _IRQL_requires_same_
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_uses_cancel_
#define _IRQL_is_cancel_
#define _IRQL_saves_global_(...)
#define _IRQL_restores_global_(...)
#define _IRQL_requires_max_(...)
#define _IRQL_requires_min_(...)
#define _IRQL_requires_(...)
#define _IRQL_raises_(...)
#define _IRQL_always_function_max_(...)
#define _IRQL_always_function_min_(...)
#define _Function_class_(...)
#define _Dispatch_type_(...)
#define _When_(...)
#define _At_(...)
#define _At_buffer_(...)
#define _Success_(...)
#define _Field_size_(...)
#define _Field_size_bytes_(...)
#define _Field_size_opt_(...)
#define _Field_size_bytes_opt_(...)
#define _Field_range_(...)
#define _In_range_(...)
#define _Out_range_(...)
#define _In_reads_(...)
#define _In_reads_opt_(...)
#define _In_reads_bytes_(...)
#define _In_reads_bytes_opt_(...)
#define _Out_writes_(...)
#define _Out_writes_opt_(...)
#define _Out_writes_bytes_(...)
#define _Out_writes_bytes_opt_(...)
#define _Out_writes_bytes_to_(...)
#define _Out_writes_bytes_to_opt_(...)
#define _Out_writes_to_(...)
#define _Inout_updates_(...)
#define _Inout_updates_bytes_(...)
#define _Inout_updates_bytes_opt_(...)
#define _Post_writable_byte_size_(...)
#define _Post_readable_byte_size_(...)
#define _Requires_lock_held_(...)
#define _Requires_lock_not_held_(...)
#define _Acquires_lock_(...)
#define _Releases_lock_(...)
#define _Acquires_exclusive_lock_(...)
#define _Releases_exclusive_lock_(...)
#define _Guarded_by_(...)
#define _Interlocked_
#define _Interlocked_operand_
#define _Analysis_assume_(...)
#define _Analysis_assume_lock_held_(...)
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Post_ptr_invalid_
#define _Strict_type_match_
#define _Literal_
#define _Reserved_
#define _Const_
#define _Maybenull_
#define _Null_terminated_
#define _NullNull_terminated_
#define _Points_to_data_
#define _Enum_is_bitflag_
#define _Struct_size_bytes_(...)
#define _Return_type_success_(...)
#define _Ret_range_(...)
#define _Unreferenced_parameter_
#define _Requires_no_locks_held_
#define _Has_lock_kind_(...)
#define _Releases_nonreentrant_lock_(...)
#define _Acquires_nonreentrant_lock_(...)

#define __drv_aliasesMem
#define __drv_allocatesMem(...)
#define __drv_freesMem(...)
#define __drv_maxIRQL(...)
#define __drv_minIRQL(...)
#define __drv_requiresIRQL(...)
#define __drv_raisesIRQL(...)
#define __drv_setsIRQL(...)
#define __drv_savesIRQL
#define __drv_savesIRQLGlobal(...)
#define __drv_restoresIRQL
#define __drv_restoresIRQLGlobal(...)
#define __drv_sameIRQL
#define __drv_useCancelIRQL
#define __drv_isCancelIRQL
#define __drv_dispatchType(...)
#define __drv_dispatchType_other
#define __drv_functionClass(...)
#define __drv_when(...)
#define __drv_at(...)
#define __drv_in(...)
#define __drv_out(...)
#define __drv_in_deref(...)
#define __drv_out_deref(...)
#define __drv_valueIs(...)
#define __drv_strictType(...)
#define __drv_strictTypeMatch(...)
#define __drv_clearDoInit(...)
#define __drv_inTry
#define __drv_notInTry
#define __drv_mustHold(...)
#define __drv_neverHold(...)
#define __drv_acquiresResource(...)
#define __drv_releasesResource(...)
#define __drv_acquiresCancelSpinLock
#define __drv_releasesCancelSpinLock
#define __drv_mustHoldCancelSpinLock
#define __drv_neverHoldCancelSpinLock
#define __drv_reportError(...)
#define __drv_preferredFunction(...)
#define __drv_floatUsed
#define __drv_nonConstant
#define __drv_Mode_impl(...)
#define __drv_completionType(...)
#define __drv_requiresIRQL(...)

/* ======================================================================================
 * 1. Basic types
 * ==================================================================================== */
#ifndef VOID
#define VOID void
#endif
typedef void                *PVOID;
typedef void                *PVOID64;
typedef char                 CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char          *PCSTR, *LPCSTR, *PCSZ;
typedef char                 CCHAR, *PCCHAR;
typedef unsigned char        UCHAR, *PUCHAR;
typedef int16_t              SHORT, *PSHORT;
typedef uint16_t             USHORT, *PUSHORT;
typedef int16_t              CSHORT, *PCSHORT;
typedef int32_t              LONG, *PLONG;
typedef uint32_t             ULONG, *PULONG;
typedef uint32_t             CLONG, *PCLONG;
typedef int32_t              LONG32, *PLONG32;
typedef uint32_t             ULONG32, *PULONG32;
typedef int32_t              INT32;
typedef uint32_t             UINT32;
typedef int64_t              LONG64, *PLONG64;
typedef uint64_t             ULONG64, *PULONG64;
typedef int64_t              INT64;
typedef uint64_t             UINT64;
typedef uint64_t             DWORD64, *PDWORD64;
typedef int64_t              LONGLONG, *PLONGLONG;
typedef uint64_t             ULONGLONG, *PULONGLONG;
typedef uint8_t              UINT8, *PUINT8;
typedef int8_t               INT8;
typedef uint16_t             UINT16;
typedef int16_t              INT16;
typedef intptr_t             LONG_PTR, *PLONG_PTR;
typedef uintptr_t            ULONG_PTR, *PULONG_PTR;
typedef intptr_t             INT_PTR;
typedef uintptr_t            UINT_PTR;
typedef ULONG_PTR            SIZE_T, *PSIZE_T;
typedef LONG_PTR             SSIZE_T, *PSSIZE_T;
typedef ULONG_PTR            DWORD_PTR;
typedef uint16_t             WCHAR, *PWCHAR, *PWCH, *PWSTR, *LPWSTR;
typedef const uint16_t      *PCWCH, *PCWSTR, *LPCWSTR;
typedef unsigned char        BOOLEAN, *PBOOLEAN;
typedef ULONG                LOGICAL, *PLOGICAL;
typedef LONG                 NTSTATUS, *PNTSTATUS;
typedef UCHAR                KIRQL, *PKIRQL;
typedef ULONG_PTR            KAFFINITY, *PKAFFINITY;
typedef ULONG_PTR            KSPIN_LOCK, *PKSPIN_LOCK;
typedef LONG                 KPRIORITY;
typedef ULONG_PTR            PFN_NUMBER, *PPFN_NUMBER;
typedef ULONG                ACCESS_MASK, *PACCESS_MASK;
typedef ULONG                DEVICE_TYPE;
typedef ULONG                LCID;
typedef void                *HANDLE, **PHANDLE;
typedef CCHAR                KPROCESSOR_MODE;
typedef PVOID                PSECURITY_DESCRIPTOR;

#ifndef TRUE
#define TRUE  1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#define ANYSIZE_ARRAY 1
#define MINCHAR       0x80
#define MAXCHAR       0x7f
#define MINSHORT      0x8000
#define MAXSHORT      0x7fff
#define MINLONG       ((LONG)0x80000000)
#define MAXLONG       0x7fffffff
#define MAXUCHAR      0xff
#define MAXUSHORT     0xffff
#define MAXULONG      0xffffffffU
#define MAXLONGLONG   ((LONGLONG)0x7fffffffffffffffLL)
#define MAXULONGLONG  ((ULONGLONG)~((ULONGLONG)0))
#define MAXULONG_PTR  (~((ULONG_PTR)0))
#define MAXLONG_PTR   ((LONG_PTR)(MAXULONG_PTR >> 1))

typedef union _LARGE_INTEGER {
	struct {
		ULONG LowPart;
		LONG  HighPart;
	};
	struct {
		ULONG LowPart;
		LONG  HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
	struct {
		ULONG LowPart;
		ULONG HighPart;
	};
	struct {
		ULONG LowPart;
		ULONG HighPart;
	} u;
	ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

typedef struct _UNICODE_STRING {
	USHORT Length;          /* bytes, without a terminating NUL */
	USHORT MaximumLength;   /* bytes */
	PWCH   Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
	USHORT Length;
	USHORT MaximumLength;
	PCHAR  Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING;

/* RTL_CONSTANT_STRING(u"\\Device\\Foo") */
#define RTL_CONSTANT_STRING(s) \
	{ (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (PWCH)(s) }
#define DECLARE_CONST_UNICODE_STRING(_var, _string) \
	const UNICODE_STRING _var = RTL_CONSTANT_STRING(_string)

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
	ULONG  Data1;
	USHORT Data2;
	USHORT Data3;
	UCHAR  Data4[8];
} GUID;
#endif
typedef GUID *LPGUID, *PGUID;
typedef const GUID *LPCGUID, *PCGUID;
#ifdef INITGUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
	const GUID name = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
	extern const GUID name
#endif

typedef struct _LIST_ENTRY {
	struct _LIST_ENTRY *Flink;
	struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY, *PRLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
	struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

// clang-format on

static inline VOID InitializeListHead(PLIST_ENTRY ListHead)
{
	ListHead->Flink = ListHead->Blink = ListHead;
}

static inline BOOLEAN IsListEmpty(const LIST_ENTRY *ListHead)
{
	return (BOOLEAN)(ListHead->Flink == ListHead);
}

/* Returns TRUE when the list is empty afterwards. */
static inline BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
	PLIST_ENTRY Flink = Entry->Flink, Blink = Entry->Blink;
	Blink->Flink = Flink;
	Flink->Blink = Blink;
	return (BOOLEAN)(Flink == Blink);
}

static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY ListHead)
{
	PLIST_ENTRY Entry = ListHead->Flink;
	RemoveEntryList(Entry);
	return Entry;
}

static inline PLIST_ENTRY RemoveTailList(PLIST_ENTRY ListHead)
{
	PLIST_ENTRY Entry = ListHead->Blink;
	RemoveEntryList(Entry);
	return Entry;
}

static inline VOID InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
	PLIST_ENTRY Blink = ListHead->Blink;
	Entry->Flink = ListHead;
	Entry->Blink = Blink;
	Blink->Flink = Entry;
	ListHead->Blink = Entry;
}

static inline VOID InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
	PLIST_ENTRY Flink = ListHead->Flink;
	Entry->Flink = Flink;
	Entry->Blink = ListHead;
	Flink->Blink = Entry;
	ListHead->Flink = Entry;
}

static inline VOID PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry)
{
	Entry->Next = ListHead->Next;
	ListHead->Next = Entry;
}

static inline PSINGLE_LIST_ENTRY PopEntryList(PSINGLE_LIST_ENTRY ListHead)
{
	PSINGLE_LIST_ENTRY First = ListHead->Next;
	if (First != NULL)
		ListHead->Next = First->Next;
	return First;
}

// clang-format off

/* --- NTSTATUS ------------------------------------------------------------------------ */
#define NT_SUCCESS(Status)      (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status)  ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status)      ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status)        ((((ULONG)(Status)) >> 30) == 3)

#define STATUS_SUCCESS                   ((NTSTATUS)0x00000000L)
#define STATUS_WAIT_0                    ((NTSTATUS)0x00000000L)
#define STATUS_WAIT_1                    ((NTSTATUS)0x00000001L)
#define STATUS_WAIT_63                   ((NTSTATUS)0x0000003FL)
#define STATUS_ABANDONED                 ((NTSTATUS)0x00000080L)
#define STATUS_ABANDONED_WAIT_0          ((NTSTATUS)0x00000080L)
#define STATUS_USER_APC                  ((NTSTATUS)0x000000C0L)
#define STATUS_KERNEL_APC                ((NTSTATUS)0x00000100L)
#define STATUS_ALERTED                   ((NTSTATUS)0x00000101L)
#define STATUS_TIMEOUT                   ((NTSTATUS)0x00000102L)
#define STATUS_PENDING                   ((NTSTATUS)0x00000103L)
#define STATUS_REPARSE                   ((NTSTATUS)0x00000104L)
#define STATUS_MORE_ENTRIES              ((NTSTATUS)0x00000105L)
#define STATUS_CONTINUE_COMPLETION       STATUS_SUCCESS
#define STATUS_DATATYPE_MISALIGNMENT     ((NTSTATUS)0x80000002L)
#define STATUS_BREAKPOINT                ((NTSTATUS)0x80000003L)
#define STATUS_BUFFER_OVERFLOW           ((NTSTATUS)0x80000005L)
#define STATUS_NO_MORE_FILES             ((NTSTATUS)0x80000006L)
#define STATUS_PARTIAL_COPY              ((NTSTATUS)0x8000000DL)
#define STATUS_DEVICE_PAPER_EMPTY        ((NTSTATUS)0x8000000EL)
#define STATUS_DEVICE_POWERED_OFF        ((NTSTATUS)0x8000000FL)
#define STATUS_DEVICE_OFF_LINE           ((NTSTATUS)0x80000010L)
#define STATUS_DEVICE_BUSY               ((NTSTATUS)0x80000011L)
#define STATUS_VERIFY_REQUIRED           ((NTSTATUS)0x80000016L)
#define STATUS_NO_MORE_ENTRIES           ((NTSTATUS)0x8000001AL)
#define STATUS_UNSUCCESSFUL              ((NTSTATUS)0xC0000001L)
#define STATUS_NOT_IMPLEMENTED           ((NTSTATUS)0xC0000002L)
#define STATUS_INVALID_INFO_CLASS        ((NTSTATUS)0xC0000003L)
#define STATUS_INFO_LENGTH_MISMATCH      ((NTSTATUS)0xC0000004L)
#define STATUS_ACCESS_VIOLATION          ((NTSTATUS)0xC0000005L)
#define STATUS_IN_PAGE_ERROR             ((NTSTATUS)0xC0000006L)
#define STATUS_INVALID_HANDLE            ((NTSTATUS)0xC0000008L)
#define STATUS_INVALID_PARAMETER         ((NTSTATUS)0xC000000DL)
#define STATUS_NO_SUCH_DEVICE            ((NTSTATUS)0xC000000EL)
#define STATUS_NO_SUCH_FILE              ((NTSTATUS)0xC000000FL)
#define STATUS_INVALID_DEVICE_REQUEST    ((NTSTATUS)0xC0000010L)
#define STATUS_END_OF_FILE               ((NTSTATUS)0xC0000011L)
#define STATUS_WRONG_VOLUME              ((NTSTATUS)0xC0000012L)
#define STATUS_NO_MEDIA_IN_DEVICE        ((NTSTATUS)0xC0000013L)
#define STATUS_UNRECOGNIZED_MEDIA        ((NTSTATUS)0xC0000014L)
#define STATUS_NONEXISTENT_SECTOR        ((NTSTATUS)0xC0000015L)
#define STATUS_MORE_PROCESSING_REQUIRED  ((NTSTATUS)0xC0000016L)
#define STATUS_NO_MEMORY                 ((NTSTATUS)0xC0000017L)
#define STATUS_ILLEGAL_INSTRUCTION       ((NTSTATUS)0xC000001DL)
#define STATUS_ACCESS_DENIED             ((NTSTATUS)0xC0000022L)
#define STATUS_BUFFER_TOO_SMALL          ((NTSTATUS)0xC0000023L)
#define STATUS_OBJECT_TYPE_MISMATCH      ((NTSTATUS)0xC0000024L)
#define STATUS_OBJECT_NAME_INVALID       ((NTSTATUS)0xC0000033L)
#define STATUS_OBJECT_NAME_NOT_FOUND     ((NTSTATUS)0xC0000034L)
#define STATUS_OBJECT_NAME_COLLISION     ((NTSTATUS)0xC0000035L)
#define STATUS_DATA_OVERRUN              ((NTSTATUS)0xC000003CL)
#define STATUS_DATA_LATE_ERROR           ((NTSTATUS)0xC000003DL)
#define STATUS_DATA_ERROR                ((NTSTATUS)0xC000003EL)
#define STATUS_CRC_ERROR                 ((NTSTATUS)0xC000003FL)
#define STATUS_SHARING_VIOLATION         ((NTSTATUS)0xC0000043L)
#define STATUS_DELETE_PENDING            ((NTSTATUS)0xC0000056L)
#define STATUS_PRIVILEGE_NOT_HELD        ((NTSTATUS)0xC0000061L)
#define STATUS_INTEGER_OVERFLOW          ((NTSTATUS)0xC0000095L)
#define STATUS_INSUFFICIENT_RESOURCES    ((NTSTATUS)0xC000009AL)
#define STATUS_DEVICE_DATA_ERROR         ((NTSTATUS)0xC000009CL)
#define STATUS_DEVICE_NOT_CONNECTED      ((NTSTATUS)0xC000009DL)
#define STATUS_DEVICE_POWER_FAILURE      ((NTSTATUS)0xC000009EL)
#define STATUS_MEDIA_WRITE_PROTECTED     ((NTSTATUS)0xC00000A2L)
#define STATUS_DEVICE_NOT_READY          ((NTSTATUS)0xC00000A3L)
#define STATUS_IO_TIMEOUT                ((NTSTATUS)0xC00000B5L)
#define STATUS_NOT_SUPPORTED             ((NTSTATUS)0xC00000BBL)
#define STATUS_DEVICE_DOES_NOT_EXIST     ((NTSTATUS)0xC00000C0L)
#define STATUS_INVALID_USER_BUFFER       ((NTSTATUS)0xC00000E8L)
#define STATUS_INVALID_PARAMETER_1       ((NTSTATUS)0xC00000EFL)
#define STATUS_INVALID_PARAMETER_2       ((NTSTATUS)0xC00000F0L)
#define STATUS_INVALID_PARAMETER_3       ((NTSTATUS)0xC00000F1L)
#define STATUS_INVALID_PARAMETER_4       ((NTSTATUS)0xC00000F2L)
#define STATUS_CANCELLED                 ((NTSTATUS)0xC0000120L)
#define STATUS_FILE_CLOSED               ((NTSTATUS)0xC0000128L)
#define STATUS_DEVICE_CONFIGURATION_ERROR ((NTSTATUS)0xC0000182L)
#define STATUS_DRIVER_INTERNAL_ERROR     ((NTSTATUS)0xC0000183L)
#define STATUS_INVALID_DEVICE_STATE      ((NTSTATUS)0xC0000184L)
#define STATUS_IO_DEVICE_ERROR           ((NTSTATUS)0xC0000185L)
#define STATUS_DEVICE_PROTOCOL_ERROR     ((NTSTATUS)0xC0000186L)
#define STATUS_INVALID_BUFFER_SIZE       ((NTSTATUS)0xC0000206L)
#define STATUS_NOT_FOUND                 ((NTSTATUS)0xC0000225L)
#define STATUS_RETRY                     ((NTSTATUS)0xC000022DL)
#define STATUS_REQUEST_ABORTED           ((NTSTATUS)0xC0000240L)
#define STATUS_DEVICE_REMOVED            ((NTSTATUS)0xC00002B6L)

/* --- IRQLs (x64) --------------------------------------------------------------------- */
#define PASSIVE_LEVEL   0
#define LOW_LEVEL       0
#define APC_LEVEL       1
#define DISPATCH_LEVEL  2
#define CMCI_LEVEL      5
#define CLOCK_LEVEL     13
#define IPI_LEVEL       14
#define DRS_LEVEL       14
#define POWER_LEVEL     14
#define PROFILE_LEVEL   15
#define HIGH_LEVEL      15
#define SYNCH_LEVEL     12

/* --- Pages, sizes, records ----------------------------------------------------------- */
#define PAGE_SIZE   0x1000
#define PAGE_SHIFT  12L

#define BYTE_OFFSET(Va)    ((ULONG)((LONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define PAGE_ALIGN(Va)     ((PVOID)((ULONG_PTR)(Va) & ~((ULONG_PTR)PAGE_SIZE - 1)))
#define ROUND_TO_PAGES(Size) \
	(((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~((ULONG_PTR)PAGE_SIZE - 1))
#define BYTES_TO_PAGES(Size) \
	(((Size) >> PAGE_SHIFT) + (((Size) & (PAGE_SIZE - 1)) != 0))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) \
	((ULONG)((((ULONG_PTR)BYTE_OFFSET(Va)) + ((SIZE_T)(Size)) + (PAGE_SIZE - 1)) >> PAGE_SHIFT))
#define COMPUTE_PAGES_SPANNED(Va, Size) ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size)

#define FIELD_OFFSET(type, field)            ((LONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field)          (sizeof(((type *)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field) \
	(offsetof(type, field) + RTL_FIELD_SIZE(type, field))
#define CONTAINING_RECORD(address, type, field) \
	((type *)((PCHAR)(address) - offsetof(type, field)))
#define RTL_NUMBER_OF(A)                     (sizeof(A) / sizeof((A)[0]))
#define ARRAYSIZE(A)                         RTL_NUMBER_OF(A)
#define ALIGN_DOWN_BY(length, alignment)     ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment) - 1))
#define ALIGN_UP_BY(length, alignment)       ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment) - 1), alignment)
#define ARGUMENT_PRESENT(ArgumentPointer)    ((CHAR *)((ULONG_PTR)(ArgumentPointer)) != (CHAR *)NULL)
#define C_ASSERT(e)                          _Static_assert(e, #e)

#define UNREFERENCED_PARAMETER(P)            ((void)(P))
#define DBG_UNREFERENCED_PARAMETER(P)        ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V)   ((void)(V))

#define RtlCopyMemory(Destination, Source, Length)   memcpy((Destination), (Source), (Length))
#define RtlMoveMemory(Destination, Source, Length)   memmove((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill)     memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length)           memset((Destination), 0, (Length))
#define RtlEqualMemory(Destination, Source, Length)  (!memcmp((Destination), (Source), (Length)))
#define RtlSecureZeroMemory(Destination, Length)     memset((Destination), 0, (Length))

/* Number of bytes, from the start, that are equal in both blocks. */
SIZE_T RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length);

/* ======================================================================================
 * Forward declarations of the kernel objects (defined further down)
 * ==================================================================================== */
typedef struct _MDL               MDL, *PMDL;
typedef struct _IRP               IRP, *PIRP;
typedef struct _IO_STACK_LOCATION IO_STACK_LOCATION, *PIO_STACK_LOCATION;
typedef struct _DEVICE_OBJECT     DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _DRIVER_OBJECT     DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _FILE_OBJECT       FILE_OBJECT, *PFILE_OBJECT;        /* opaque */
typedef struct _KDPC              KDPC, *PKDPC, *PRKDPC;
typedef struct _KINTERRUPT        KINTERRUPT, *PKINTERRUPT;          /* opaque */
typedef struct _IO_WORKITEM       IO_WORKITEM, *PIO_WORKITEM;        /* opaque */
typedef struct _IO_TIMER          IO_TIMER, *PIO_TIMER;              /* opaque */
typedef struct _VPB               VPB, *PVPB;                        /* opaque */
typedef struct _EPROCESS          EPROCESS, *PEPROCESS;              /* opaque */
typedef struct _ETHREAD           ETHREAD, *PETHREAD;                /* opaque */
typedef struct _KTHREAD           KTHREAD, *PKTHREAD, *PRKTHREAD;    /* opaque */
typedef struct _KPROCESS          KPROCESS, *PKPROCESS, *PRKPROCESS; /* opaque */
typedef struct _FAST_IO_DISPATCH  FAST_IO_DISPATCH, *PFAST_IO_DISPATCH; /* opaque */
typedef struct _DEVOBJ_EXTENSION  DEVOBJ_EXTENSION, *PDEVOBJ_EXTENSION; /* opaque */
typedef struct _DEVICE_CAPABILITIES DEVICE_CAPABILITIES, *PDEVICE_CAPABILITIES; /* opaque */
typedef struct _IO_RESOURCE_REQUIREMENTS_LIST IO_RESOURCE_REQUIREMENTS_LIST,
	*PIO_RESOURCE_REQUIREMENTS_LIST;                               /* opaque */
typedef struct _IO_SECURITY_CONTEXT IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT; /* opaque */
typedef struct _POWER_SEQUENCE    POWER_SEQUENCE, *PPOWER_SEQUENCE;  /* opaque */
typedef struct _CM_RESOURCE_LIST  CM_RESOURCE_LIST, *PCM_RESOURCE_LIST;
typedef struct _KEVENT            KEVENT, *PKEVENT, *PRKEVENT;

/* ======================================================================================
 * 2. Memory: MDLs, caching, pools
 * ==================================================================================== */

/* A memory descriptor list.  The array of PFN_NUMBERs, one per page spanned by
 * StartVa + ByteOffset .. + ByteCount, follows the structure in memory (Size counts it). */
struct _MDL {
	struct _MDL      *Next;              /* 0  */
	CSHORT            Size;              /* 8  */
	CSHORT            MdlFlags;          /* 10 */
	struct _EPROCESS *Process;           /* 16 */
	PVOID             MappedSystemVa;    /* 24 */
	PVOID             StartVa;           /* 32: page-aligned */
	ULONG             ByteCount;         /* 40 */
	ULONG             ByteOffset;        /* 44 */
};                                       /* 48 */

#define MDL_MAPPED_TO_SYSTEM_VA      0x0001
#define MDL_PAGES_LOCKED             0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL  0x0004
#define MDL_ALLOCATED_FIXED_SIZE     0x0008
#define MDL_PARTIAL                  0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED  0x0020
#define MDL_IO_PAGE_READ             0x0040
#define MDL_WRITE_OPERATION          0x0080
#define MDL_LOCKED_PAGE_TABLES       0x0100
#define MDL_PARENT_MAPPED_SYSTEM_VA  MDL_LOCKED_PAGE_TABLES
#define MDL_FREE_EXTRA_PTES          0x0200
#define MDL_DESCRIBES_AWE            0x0400
#define MDL_IO_SPACE                 0x0800
#define MDL_NETWORK_HEADER           0x1000
#define MDL_MAPPING_CAN_FAIL         0x2000
#define MDL_PAGE_CONTENTS_INVARIANT  0x4000
#define MDL_ALLOCATED_MUST_SUCCEED   MDL_PAGE_CONTENTS_INVARIANT
#define MDL_INTERNAL                 0x8000
#define MDL_MAPPING_FLAGS            (MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED | \
                                      MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL_HAS_BEEN_MAPPED | \
                                      MDL_PARENT_MAPPED_SYSTEM_VA | MDL_IO_SPACE)

typedef enum _MM_PAGE_PRIORITY {
	LowPagePriority    = 0,
	NormalPagePriority = 16,
	HighPagePriority   = 32
} MM_PAGE_PRIORITY;

/* OR'ed into the priority argument of MmGetSystemAddressForMdlSafe (Windows 8+) */
#define MdlMappingNoWrite    0x80000000U
#define MdlMappingNoExecute  0x40000000U
#define MdlMappingWithGuardPtes 0x20000000U

typedef enum _MEMORY_CACHING_TYPE_ORIG {
	MmFrameBufferCached = 2
} MEMORY_CACHING_TYPE_ORIG;

typedef enum _MEMORY_CACHING_TYPE {
	MmNotMapped          = -1,
	MmNonCached          = 0,
	MmCached             = 1,
	MmWriteCombined      = MmFrameBufferCached,
	MmHardwareCoherentCached,
	MmNonCachedUnordered,
	MmUSWCCached,
	MmMaximumCacheType
} MEMORY_CACHING_TYPE;

typedef enum _MODE {
	KernelMode,
	UserMode,
	MaximumMode
} MODE;

typedef enum _LOCK_OPERATION {
	IoReadAccess,
	IoWriteAccess,
	IoModifyAccess
} LOCK_OPERATION;

typedef enum _POOL_TYPE {
	NonPagedPool,
	NonPagedPoolExecute = NonPagedPool,
	PagedPool,
	NonPagedPoolMustSucceed = NonPagedPool + 2,
	DontUseThisType,
	NonPagedPoolCacheAligned = NonPagedPool + 4,
	PagedPoolCacheAligned,
	NonPagedPoolCacheAlignedMustS = NonPagedPool + 6,
	MaxPoolType,
	NonPagedPoolBase = 0,
	NonPagedPoolBaseMustSucceed = NonPagedPoolBase + 2,
	NonPagedPoolBaseCacheAligned = NonPagedPoolBase + 4,
	NonPagedPoolBaseCacheAlignedMustS = NonPagedPoolBase + 6,
	NonPagedPoolSession = 32,
	PagedPoolSession = NonPagedPoolSession + 1,
	NonPagedPoolMustSucceedSession = PagedPoolSession + 1,
	DontUseThisTypeSession = NonPagedPoolMustSucceedSession + 1,
	NonPagedPoolCacheAlignedSession = DontUseThisTypeSession + 1,
	PagedPoolCacheAlignedSession = NonPagedPoolCacheAlignedSession + 1,
	NonPagedPoolCacheAlignedMustSSession = PagedPoolCacheAlignedSession + 1,
	NonPagedPoolNx = 512,
	NonPagedPoolNxCacheAligned = NonPagedPoolNx + 4,
	NonPagedPoolSessionNx = NonPagedPoolNx + 32
} POOL_TYPE;

/* ExAllocatePool2 */
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START          0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA               0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED           0x0000000000000002ULL
#define POOL_FLAG_SESSION                 0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED           0x0000000000000008ULL
#define POOL_FLAG_RESERVED1               0x0000000000000010ULL
#define POOL_FLAG_RAISE_ON_FAILURE        0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED               0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE       0x0000000000000080ULL
#define POOL_FLAG_PAGED                   0x0000000000000100ULL
#define POOL_FLAG_RESERVED2               0x0000000000000200ULL
#define POOL_FLAG_RESERVED3               0x0000000000000400ULL
#define POOL_FLAG_LAST_KNOWN_REQUIRED     POOL_FLAG_RESERVED3
#define POOL_FLAG_REQUIRED_END            0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START          0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL            0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END            0x8000000000000000ULL

/* MDL accessors.  The virtual address is not necessarily mapped: use it only as the
 * CurrentVa argument of MapTransfer/FlushAdapterBuffers/GetScatterGatherList. */
#define MmGetMdlVirtualAddress(Mdl) \
	((PVOID)((PCHAR)((Mdl)->StartVa) + (Mdl)->ByteOffset))
#define MmGetMdlByteCount(Mdl)      ((Mdl)->ByteCount)
#define MmGetMdlByteOffset(Mdl)     ((Mdl)->ByteOffset)
#define MmGetMdlBaseVa(Mdl)         ((Mdl)->StartVa)
#define MmGetMdlPfnArray(Mdl)       ((PPFN_NUMBER)((Mdl) + 1))

/* MappedSystemVa when the MDL already has a system mapping (or describes nonpaged pool),
 * else a new cached mapping of its locked pages; NULL when that fails. */
#define MmGetSystemAddressForMdlSafe(Mdl, Priority)                                       \
	(((Mdl)->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL))       \
	         ? ((Mdl)->MappedSystemVa)                                                  \
	         : (MmMapLockedPagesSpecifyCache((Mdl), KernelMode, MmCached, NULL, FALSE,  \
	                                         (ULONG)(Priority))))

/* Fills in the header of a caller-allocated MDL (its PFN array is still to be built). */
#define MmInitializeMdl(MemoryDescriptorList, BaseVa, Length)                              \
	do {                                                                                \
		(MemoryDescriptorList)->Next = (PMDL)NULL;                                  \
		(MemoryDescriptorList)->Size = (CSHORT)(sizeof(MDL) +                       \
		        (sizeof(PFN_NUMBER) * ADDRESS_AND_SIZE_TO_SPAN_PAGES((BaseVa), (Length)))); \
		(MemoryDescriptorList)->MdlFlags = 0;                                       \
		(MemoryDescriptorList)->StartVa = PAGE_ALIGN(BaseVa);                       \
		(MemoryDescriptorList)->ByteOffset = BYTE_OFFSET(BaseVa);                   \
		(MemoryDescriptorList)->ByteCount = (ULONG)(Length);                        \
	} while (0)

/* Before a partial MDL is built again (IoBuildPartialMdl): drops its old system mapping. */
#define MmPrepareMdlForReuse(Mdl)                                                          \
	do {                                                                                \
		if (((Mdl)->MdlFlags & MDL_PARTIAL_HAS_BEEN_MAPPED) != 0) {                 \
			ASSERT(((Mdl)->MdlFlags & MDL_PARTIAL) != 0);                       \
			MmUnmapLockedPages((Mdl)->MappedSystemVa, (Mdl));                   \
		} else if (((Mdl)->MdlFlags & MDL_PARTIAL) == 0) {                          \
			ASSERT(((Mdl)->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0);           \
		}                                                                           \
	} while (0)

/* ======================================================================================
 * 3. Buses and DMA adapters
 * ==================================================================================== */
typedef enum _INTERFACE_TYPE {
	InterfaceTypeUndefined = -1,
	Internal,
	Isa,
	Eisa,
	MicroChannel,
	TurboChannel,
	PCIBus,
	VMEBus,
	NuBus,
	PCMCIABus,
	CBus,
	MPIBus,
	MPSABus,
	ProcessorInternal,
	InternalPowerBus,
	PNPISABus,
	PNPBus,
	Vmcs,
	ACPIBus,
	MaximumInterfaceType
} INTERFACE_TYPE, *PINTERFACE_TYPE;

typedef enum _DMA_WIDTH {
	Width8Bits,
	Width16Bits,
	Width32Bits,
	Width64Bits,
	WidthNoWrap,
	MaximumDmaWidth
} DMA_WIDTH, *PDMA_WIDTH;

typedef enum _DMA_SPEED {
	Compatible,
	TypeA,
	TypeB,
	TypeC,
	TypeF,
	MaximumDmaSpeed
} DMA_SPEED, *PDMA_SPEED;

#define DEVICE_DESCRIPTION_VERSION   0
#define DEVICE_DESCRIPTION_VERSION1  1
#define DEVICE_DESCRIPTION_VERSION2  2
#define DEVICE_DESCRIPTION_VERSION3  3

typedef struct _DEVICE_DESCRIPTION {
	ULONG            Version;               /* 0  */
	BOOLEAN          Master;                /* 4  */
	BOOLEAN          ScatterGather;
	BOOLEAN          DemandMode;
	BOOLEAN          AutoInitialize;
	BOOLEAN          Dma32BitAddresses;
	BOOLEAN          IgnoreCount;
	BOOLEAN          Reserved1;
	BOOLEAN          Dma64BitAddresses;     /* 11 */
	ULONG            BusNumber;             /* 12 */
	ULONG            DmaChannel;            /* 16 */
	INTERFACE_TYPE   InterfaceType;         /* 20 */
	DMA_WIDTH        DmaWidth;              /* 24 */
	DMA_SPEED        DmaSpeed;              /* 28 */
	ULONG            MaximumLength;         /* 32 */
	ULONG            DmaPort;               /* 36 */
	/* DEVICE_DESCRIPTION_VERSION3 */
	ULONG            DmaAddressWidth;       /* 40 */
	ULONG            DmaControllerInstance; /* 44 */
	ULONG            DmaRequestLine;        /* 48 */
	PHYSICAL_ADDRESS DeviceAddress;         /* 56 */
} DEVICE_DESCRIPTION, *PDEVICE_DESCRIPTION;

typedef enum _IO_ALLOCATION_ACTION {
	KeepObject = 1,
	DeallocateObject,
	DeallocateObjectKeepRegisters
} IO_ALLOCATION_ACTION, *PIO_ALLOCATION_ACTION;

typedef struct _SCATTER_GATHER_ELEMENT {
	PHYSICAL_ADDRESS Address;   /* 0: logical (device-visible) address */
	ULONG            Length;    /* 8 */
	ULONG_PTR        Reserved;  /* 16 */
} SCATTER_GATHER_ELEMENT, *PSCATTER_GATHER_ELEMENT;   /* 24 */

typedef struct _SCATTER_GATHER_LIST {
	ULONG                  NumberOfElements;   /* 0  */
	ULONG_PTR              Reserved;           /* 8  */
	SCATTER_GATHER_ELEMENT Elements[];         /* 16 */
} SCATTER_GATHER_LIST, *PSCATTER_GATHER_LIST;

struct _DMA_OPERATIONS;

/* Version is always 1 (also for v2/v3 operations); Size is sizeof(DMA_ADAPTER). */
typedef struct _DMA_ADAPTER {
	USHORT                  Version;        /* 0 */
	USHORT                  Size;           /* 2 */
	struct _DMA_OPERATIONS *DmaOperations;  /* 8 */
	/* private data of the bus driver / HAL follows */
} DMA_ADAPTER, *PDMA_ADAPTER;

/* The legacy name of the same object (HalGetAdapter, IoMapTransfer, ...). */
typedef struct _DMA_ADAPTER ADAPTER_OBJECT, *PADAPTER_OBJECT;

/* --- Driver callbacks the DMA routines call ----------------------------------------- */

/* AdapterControl: runs at DISPATCH_LEVEL once the adapter channel/map registers are granted;
 * Irp is DeviceObject->CurrentIrp (meaningful only for drivers using StartIo). */
typedef _Function_class_(DRIVER_CONTROL) _IRQL_requires_same_
IO_ALLOCATION_ACTION DRIVER_CONTROL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp,
                                    PVOID MapRegisterBase, PVOID Context);
typedef DRIVER_CONTROL *PDRIVER_CONTROL;

/* AdapterListControl (GetScatterGatherList/BuildScatterGatherList), at DISPATCH_LEVEL. */
typedef _Function_class_(DRIVER_LIST_CONTROL) _IRQL_requires_same_
VOID DRIVER_LIST_CONTROL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp,
                         struct _SCATTER_GATHER_LIST *ScatterGather, PVOID Context);
typedef DRIVER_LIST_CONTROL *PDRIVER_LIST_CONTROL;

/* --- DMA_OPERATIONS routines (called only through Adapter->DmaOperations->X) -------- */
typedef VOID PUT_DMA_ADAPTER(PDMA_ADAPTER DmaAdapter);
typedef PUT_DMA_ADAPTER *PPUT_DMA_ADAPTER;

typedef PVOID ALLOCATE_COMMON_BUFFER(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                     PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled);
typedef ALLOCATE_COMMON_BUFFER *PALLOCATE_COMMON_BUFFER;

typedef VOID FREE_COMMON_BUFFER(PDMA_ADAPTER DmaAdapter, ULONG Length,
                                PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                                BOOLEAN CacheEnabled);
typedef FREE_COMMON_BUFFER *PFREE_COMMON_BUFFER;

typedef NTSTATUS ALLOCATE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                          ULONG NumberOfMapRegisters,
                                          PDRIVER_CONTROL ExecutionRoutine, PVOID Context);
typedef ALLOCATE_ADAPTER_CHANNEL *PALLOCATE_ADAPTER_CHANNEL;

typedef BOOLEAN FLUSH_ADAPTER_BUFFERS(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                      PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice);
typedef FLUSH_ADAPTER_BUFFERS *PFLUSH_ADAPTER_BUFFERS;

typedef VOID FREE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter);
typedef FREE_ADAPTER_CHANNEL *PFREE_ADAPTER_CHANNEL;

typedef VOID FREE_MAP_REGISTERS(PDMA_ADAPTER DmaAdapter, PVOID MapRegisterBase,
                                ULONG NumberOfMapRegisters);
typedef FREE_MAP_REGISTERS *PFREE_MAP_REGISTERS;

typedef PHYSICAL_ADDRESS MAP_TRANSFER(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                      PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice);
typedef MAP_TRANSFER *PMAP_TRANSFER;

typedef ULONG GET_DMA_ALIGNMENT(PDMA_ADAPTER DmaAdapter);
typedef GET_DMA_ALIGNMENT *PGET_DMA_ALIGNMENT;

typedef ULONG READ_DMA_COUNTER(PDMA_ADAPTER DmaAdapter);
typedef READ_DMA_COUNTER *PREAD_DMA_COUNTER;

typedef NTSTATUS GET_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                         PMDL Mdl, PVOID CurrentVa, ULONG Length,
                                         PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                         BOOLEAN WriteToDevice);
typedef GET_SCATTER_GATHER_LIST *PGET_SCATTER_GATHER_LIST;

typedef VOID PUT_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter,
                                     PSCATTER_GATHER_LIST ScatterGather, BOOLEAN WriteToDevice);
typedef PUT_SCATTER_GATHER_LIST *PPUT_SCATTER_GATHER_LIST;

/* Mdl == NULL: the worst case for a buffer of Length bytes at CurrentVa. */
typedef NTSTATUS CALCULATE_SCATTER_GATHER_LIST_SIZE(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                                    PVOID CurrentVa, ULONG Length,
                                                    PULONG ScatterGatherListSize,
                                                    PULONG NumberOfMapRegisters);
typedef CALCULATE_SCATTER_GATHER_LIST_SIZE *PCALCULATE_SCATTER_GATHER_LIST_SIZE;

typedef NTSTATUS BUILD_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                           PMDL Mdl, PVOID CurrentVa, ULONG Length,
                                           PDRIVER_LIST_CONTROL ExecutionRoutine, PVOID Context,
                                           BOOLEAN WriteToDevice, PVOID ScatterGatherBuffer,
                                           ULONG ScatterGatherBufferLength);
typedef BUILD_SCATTER_GATHER_LIST *PBUILD_SCATTER_GATHER_LIST;

typedef NTSTATUS BUILD_MDL_FROM_SCATTER_GATHER_LIST(PDMA_ADAPTER DmaAdapter,
                                                    PSCATTER_GATHER_LIST ScatterGather,
                                                    PMDL OriginalMdl, PMDL *TargetMdl);
typedef BUILD_MDL_FROM_SCATTER_GATHER_LIST *PBUILD_MDL_FROM_SCATTER_GATHER_LIST;

/* Versions 1 and 2 (Windows XP), in Microsoft's order; Size says which members exist. */
typedef struct _DMA_OPERATIONS {
	ULONG                               Size;                          /* 0   */
	PPUT_DMA_ADAPTER                    PutDmaAdapter;                 /* 8   */
	PALLOCATE_COMMON_BUFFER             AllocateCommonBuffer;          /* 16  */
	PFREE_COMMON_BUFFER                 FreeCommonBuffer;              /* 24  */
	PALLOCATE_ADAPTER_CHANNEL           AllocateAdapterChannel;        /* 32  */
	PFLUSH_ADAPTER_BUFFERS              FlushAdapterBuffers;           /* 40  */
	PFREE_ADAPTER_CHANNEL               FreeAdapterChannel;            /* 48  */
	PFREE_MAP_REGISTERS                 FreeMapRegisters;              /* 56  */
	PMAP_TRANSFER                       MapTransfer;                   /* 64  */
	PGET_DMA_ALIGNMENT                  GetDmaAlignment;               /* 72  */
	PREAD_DMA_COUNTER                   ReadDmaCounter;                /* 80  */
	PGET_SCATTER_GATHER_LIST            GetScatterGatherList;          /* 88  */
	PPUT_SCATTER_GATHER_LIST            PutScatterGatherList;          /* 96  */
	/* version 2 */
	PCALCULATE_SCATTER_GATHER_LIST_SIZE CalculateScatterGatherList;    /* 104 */
	PBUILD_SCATTER_GATHER_LIST          BuildScatterGatherList;        /* 112 */
	PBUILD_MDL_FROM_SCATTER_GATHER_LIST BuildMdlFromScatterGatherList; /* 120 */
} DMA_OPERATIONS, *PDMA_OPERATIONS;

// clang-format on

/* ======================================================================================
 * dmacoh-specific: nothing a WDK driver uses
 * ==================================================================================== */
/* (intentionally empty: dmacoh's kernel keeps its private state in its own headers) */

#endif /* DMACOH_WDM_H */
