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
 * Wide strings: WCHAR is 16 bits; dmacoh-cc compiles with -fshort-wchar, so L"..." is a
 * WCHAR string as on Windows (in C++ WCHAR is wchar_t).  Without it use u"..." literals.
 */
#ifndef DMACOH_WDM_H
#define DMACOH_WDM_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdarg.h>

/* WDK drivers carry MSVC pragmas (#pragma alloc_text(PAGE, ...), #pragma code_seg), which
 * mean nothing here, and multi-character pool tags (ExAllocatePoolWithTag(..., 'gaTd')),
 * whose value GCC and clang compute as MSVC does.  Both would warn about them. */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wmultichar"

/* C++ drivers: C linkage for every routine, and the C11 constructs the WDK relies on too
 * (anonymous structs, flexible array members) are accepted without -Wpedantic noise. */
#ifdef __cplusplus
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
extern "C" {
#endif

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
#define DECLSPEC_NORETURN        __attribute__((noreturn))
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
#define POINTER_ALIGNMENT        __attribute__((aligned(8)))
#ifdef __cplusplus
#define EXTERN_C                 extern "C"
#else
#define EXTERN_C                 extern
#endif
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
#if defined(__cplusplus) && defined(__SIZEOF_WCHAR_T__) && __SIZEOF_WCHAR_T__ == 2
/* C++ with -fshort-wchar (dmacoh-cc): L"..." is wchar_t, a type of its own in C++. */
typedef wchar_t              WCHAR, *PWCHAR, *PWCH, *PWSTR, *LPWSTR;
typedef const wchar_t       *PCWCH, *PCWSTR, *LPCWSTR;
#else
typedef uint16_t             WCHAR, *PWCHAR, *PWCH, *PWSTR, *LPWSTR;
typedef const uint16_t      *PCWCH, *PCWSTR, *LPCWSTR;
#endif
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
#ifdef __cplusplus
#define C_ASSERT(e)                          static_assert(e, #e)
#else
#define C_ASSERT(e)                          _Static_assert(e, #e)
#endif

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
/* The Win32 error an NTSTATUS maps to (src/kernel/ntstatus.c). */
ULONG RtlNtStatusToDosError(NTSTATUS Status);

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

/* --- DMA version 3 (Windows 8, DEVICE_DESCRIPTION_VERSION3) --------------------------- */
typedef ULONG NODE_REQUIREMENT;
#define MM_ANY_NODE_OK 0x80000000U

typedef enum _DMA_COMPLETION_STATUS {
	DmaComplete,
	DmaAborted,
	DmaError,
	DmaCancelled
} DMA_COMPLETION_STATUS;

typedef VOID DMA_COMPLETION_ROUTINE(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                    PVOID CompletionContext, DMA_COMPLETION_STATUS Status);
typedef DMA_COMPLETION_ROUTINE *PDMA_COMPLETION_ROUTINE;

#define DMA_ADAPTER_INFO_VERSION1          1
#define ADAPTER_INFO_SYNCHRONOUS_CALLBACK  0x0001
#define ADAPTER_INFO_API_BYPASS            0x0002

typedef struct _DMA_ADAPTER_INFO_V1 {
	ULONG ReadDmaCounterAvailable;
	ULONG ScatterGatherLimit;
	ULONG DmaAddressWidth;
	ULONG Flags;
	ULONG MinimumTransferUnit;
} DMA_ADAPTER_INFO_V1, *PDMA_ADAPTER_INFO_V1;

typedef struct _DMA_ADAPTER_INFO {
	ULONG Version;
	union {
		DMA_ADAPTER_INFO_V1 V1;
	};
} DMA_ADAPTER_INFO, *PDMA_ADAPTER_INFO;

#define DMA_TRANSFER_INFO_VERSION1  1
#define DMA_TRANSFER_INFO_VERSION2  2

typedef struct _DMA_TRANSFER_INFO_V1 {
	ULONG MapRegisterCount;
	ULONG ScatterGatherElementCount;
	ULONG ScatterGatherListSize;
} DMA_TRANSFER_INFO_V1, *PDMA_TRANSFER_INFO_V1;

typedef struct _DMA_TRANSFER_INFO_V2 {
	ULONG MapRegisterCount;
	ULONG ScatterGatherElementCount;
	ULONG ScatterGatherListSize;
	ULONG LogicalPageCount;
} DMA_TRANSFER_INFO_V2, *PDMA_TRANSFER_INFO_V2;

typedef struct _DMA_TRANSFER_INFO {
	ULONG Version;
	union {
		DMA_TRANSFER_INFO_V1 V1;
		DMA_TRANSFER_INFO_V2 V2;
	};
} DMA_TRANSFER_INFO, *PDMA_TRANSFER_INFO;

/* The opaque per-transfer context a v3 driver allocates (InitializeDmaTransferContext). */
#define DMA_TRANSFER_CONTEXT_VERSION1  1
#define DMA_TRANSFER_CONTEXT_SIZE_V1   128

/* AllocateAdapterChannelEx / GetScatterGatherListEx flags */
#define DMA_SYNCHRONOUS_CALLBACK  0x01
#define DMA_ZERO_BUFFERS          0x02

typedef NTSTATUS GET_DMA_ADAPTER_INFO(PDMA_ADAPTER DmaAdapter, PDMA_ADAPTER_INFO AdapterInfo);
typedef GET_DMA_ADAPTER_INFO *PGET_DMA_ADAPTER_INFO;

typedef NTSTATUS GET_DMA_TRANSFER_INFO(PDMA_ADAPTER DmaAdapter, PMDL Mdl, ULONGLONG Offset,
                                       ULONG Length, BOOLEAN WriteOnly,
                                       PDMA_TRANSFER_INFO TransferInfo);
typedef GET_DMA_TRANSFER_INFO *PGET_DMA_TRANSFER_INFO;

typedef NTSTATUS INITIALIZE_DMA_TRANSFER_CONTEXT(PDMA_ADAPTER DmaAdapter,
                                                 PVOID DmaTransferContext);
typedef INITIALIZE_DMA_TRANSFER_CONTEXT *PINITIALIZE_DMA_TRANSFER_CONTEXT;

typedef PVOID ALLOCATE_COMMON_BUFFER_EX(PDMA_ADAPTER DmaAdapter, PPHYSICAL_ADDRESS MaximumAddress,
                                        ULONG Length, PPHYSICAL_ADDRESS LogicalAddress,
                                        BOOLEAN CacheEnabled, NODE_REQUIREMENT PreferredNode);
typedef ALLOCATE_COMMON_BUFFER_EX *PALLOCATE_COMMON_BUFFER_EX;

typedef NTSTATUS ALLOCATE_ADAPTER_CHANNEL_EX(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                             PVOID DmaTransferContext,
                                             ULONG NumberOfMapRegisters, ULONG Flags,
                                             PDRIVER_CONTROL ExecutionRoutine,
                                             PVOID ExecutionContext, PVOID *MapRegisterBase);
typedef ALLOCATE_ADAPTER_CHANNEL_EX *PALLOCATE_ADAPTER_CHANNEL_EX;

typedef NTSTATUS CONFIGURE_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter, ULONG FunctionNumber,
                                           PVOID Context);
typedef CONFIGURE_ADAPTER_CHANNEL *PCONFIGURE_ADAPTER_CHANNEL;

typedef BOOLEAN CANCEL_ADAPTER_CHANNEL(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                       PVOID DmaTransferContext);
typedef CANCEL_ADAPTER_CHANNEL *PCANCEL_ADAPTER_CHANNEL;

typedef NTSTATUS MAP_TRANSFER_EX(PDMA_ADAPTER DmaAdapter, PMDL Mdl, PVOID MapRegisterBase,
                                 ULONGLONG Offset, ULONG DeviceOffset, PULONG Length,
                                 BOOLEAN WriteToDevice, PSCATTER_GATHER_LIST ScatterGatherBuffer,
                                 ULONG ScatterGatherBufferLength,
                                 PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                 PVOID CompletionContext);
typedef MAP_TRANSFER_EX *PMAP_TRANSFER_EX;

typedef NTSTATUS GET_SCATTER_GATHER_LIST_EX(PDMA_ADAPTER DmaAdapter, PDEVICE_OBJECT DeviceObject,
                                            PVOID DmaTransferContext, PMDL Mdl,
                                            ULONGLONG Offset, ULONG Length, ULONG Flags,
                                            PDRIVER_LIST_CONTROL ExecutionRoutine,
                                            PVOID Context, BOOLEAN WriteToDevice,
                                            PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                            PVOID CompletionContext,
                                            PSCATTER_GATHER_LIST *ScatterGatherList);
typedef GET_SCATTER_GATHER_LIST_EX *PGET_SCATTER_GATHER_LIST_EX;

typedef NTSTATUS BUILD_SCATTER_GATHER_LIST_EX(PDMA_ADAPTER DmaAdapter,
                                              PDEVICE_OBJECT DeviceObject,
                                              PVOID DmaTransferContext, PMDL Mdl,
                                              ULONGLONG Offset, ULONG Length, ULONG Flags,
                                              PDRIVER_LIST_CONTROL ExecutionRoutine,
                                              PVOID Context, BOOLEAN WriteToDevice,
                                              PVOID ScatterGatherBuffer,
                                              ULONG ScatterGatherLength,
                                              PDMA_COMPLETION_ROUTINE DmaCompletionRoutine,
                                              PVOID CompletionContext,
                                              PSCATTER_GATHER_LIST *ScatterGatherList);
typedef BUILD_SCATTER_GATHER_LIST_EX *PBUILD_SCATTER_GATHER_LIST_EX;

typedef NTSTATUS FLUSH_ADAPTER_BUFFERS_EX(PDMA_ADAPTER DmaAdapter, PMDL Mdl,
                                          PVOID MapRegisterBase, ULONGLONG Offset, ULONG Length,
                                          BOOLEAN WriteToDevice);
typedef FLUSH_ADAPTER_BUFFERS_EX *PFLUSH_ADAPTER_BUFFERS_EX;

typedef VOID FREE_ADAPTER_OBJECT(PDMA_ADAPTER DmaAdapter, IO_ALLOCATION_ACTION AllocationAction);
typedef FREE_ADAPTER_OBJECT *PFREE_ADAPTER_OBJECT;

typedef NTSTATUS CANCEL_MAPPED_TRANSFER(PDMA_ADAPTER DmaAdapter, PVOID DmaTransferContext);
typedef CANCEL_MAPPED_TRANSFER *PCANCEL_MAPPED_TRANSFER;

/* --- Windows 10 additions at the end of DMA_OPERATIONS (version 3 adapters only) -------- */
typedef struct _DMA_COMMON_BUFFER_VECTOR DMA_COMMON_BUFFER_VECTOR, *PDMA_COMMON_BUFFER_VECTOR;

typedef enum _DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_TYPE {
	CommonBufferConfigTypeLogicalAddressLimits,
	CommonBufferConfigTypeSubSection,
	CommonBufferConfigTypeHardwareAccessPermissions,
	CommonBufferConfigTypeMax
} DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_TYPE;

typedef enum _DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_ACCESS_TYPE {
	CommonBufferHardwareAccessReadOnly,
	CommonBufferHardwareAccessWriteOnly,
	CommonBufferHardwareAccessReadWrite,
	CommonBufferHardwareAccessMax
} DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_ACCESS_TYPE;

typedef struct _DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION {
	DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_TYPE ConfigType;
	union {
		struct {
			PHYSICAL_ADDRESS Minimum;
			PHYSICAL_ADDRESS Maximum;
		} LogicalAddressLimits;
		struct {
			ULONGLONG Offset;
			ULONG Length;
		} SubSection;
		DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION_ACCESS_TYPE HardwareAccessType;
		ULONGLONG Reserved[4];
	};
} DMA_COMMON_BUFFER_EXTENDED_CONFIGURATION, *PDMA_COMMON_BUFFER_EXTENDED_CONFIGURATION;

typedef NTSTATUS ALLOCATE_DOMAIN_COMMON_BUFFER(PDMA_ADAPTER DmaAdapter, HANDLE DomainHandle,
                                               PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
                                               ULONG Flags, MEMORY_CACHING_TYPE *CacheType,
                                               NODE_REQUIREMENT PreferredNode,
                                               PPHYSICAL_ADDRESS LogicalAddress,
                                               PVOID *VirtualAddress);
typedef ALLOCATE_DOMAIN_COMMON_BUFFER *PALLOCATE_DOMAIN_COMMON_BUFFER;

typedef NTSTATUS FLUSH_DMA_BUFFER(PDMA_ADAPTER DmaAdapter, PMDL Mdl, BOOLEAN ReadOperation);
typedef FLUSH_DMA_BUFFER *PFLUSH_DMA_BUFFER;

typedef NTSTATUS JOIN_DMA_DOMAIN(PDMA_ADAPTER DmaAdapter, HANDLE DomainHandle);
typedef JOIN_DMA_DOMAIN *PJOIN_DMA_DOMAIN;

typedef NTSTATUS LEAVE_DMA_DOMAIN(PDMA_ADAPTER DmaAdapter);
typedef LEAVE_DMA_DOMAIN *PLEAVE_DMA_DOMAIN;

typedef HANDLE GET_DMA_DOMAIN(PDMA_ADAPTER DmaAdapter);
typedef GET_DMA_DOMAIN *PGET_DMA_DOMAIN;

typedef PVOID ALLOCATE_COMMON_BUFFER_WITH_BOUNDS(PDMA_ADAPTER DmaAdapter,
                                                 PPHYSICAL_ADDRESS MinimumAddress,
                                                 PPHYSICAL_ADDRESS MaximumAddress, ULONG Length,
                                                 ULONG Flags, MEMORY_CACHING_TYPE *CacheType,
                                                 NODE_REQUIREMENT PreferredNode,
                                                 PPHYSICAL_ADDRESS LogicalAddress);
typedef ALLOCATE_COMMON_BUFFER_WITH_BOUNDS *PALLOCATE_COMMON_BUFFER_WITH_BOUNDS;

typedef NTSTATUS ALLOCATE_COMMON_BUFFER_VECTOR(PDMA_ADAPTER DmaAdapter,
                                               PHYSICAL_ADDRESS LowAddress,
                                               PHYSICAL_ADDRESS HighAddress,
                                               MEMORY_CACHING_TYPE CacheType, ULONG IdealNode,
                                               ULONG Flags, ULONG NumberOfElements,
                                               ULONGLONG SizeOfElements,
                                               PDMA_COMMON_BUFFER_VECTOR *VectorOut);
typedef ALLOCATE_COMMON_BUFFER_VECTOR *PALLOCATE_COMMON_BUFFER_VECTOR;

typedef VOID GET_COMMON_BUFFER_FROM_VECTOR_BY_INDEX(PDMA_ADAPTER DmaAdapter,
                                                    PDMA_COMMON_BUFFER_VECTOR Vector,
                                                    ULONG Index, PVOID *VirtualAddressOut,
                                                    PPHYSICAL_ADDRESS LogicalAddressOut);
typedef GET_COMMON_BUFFER_FROM_VECTOR_BY_INDEX *PGET_COMMON_BUFFER_FROM_VECTOR_BY_INDEX;

typedef VOID FREE_COMMON_BUFFER_FROM_VECTOR(PDMA_ADAPTER DmaAdapter,
                                            PDMA_COMMON_BUFFER_VECTOR Vector, ULONG Index);
typedef FREE_COMMON_BUFFER_FROM_VECTOR *PFREE_COMMON_BUFFER_FROM_VECTOR;

typedef VOID FREE_COMMON_BUFFER_VECTOR(PDMA_ADAPTER DmaAdapter, PDMA_COMMON_BUFFER_VECTOR Vector);
typedef FREE_COMMON_BUFFER_VECTOR *PFREE_COMMON_BUFFER_VECTOR;

typedef NTSTATUS CREATE_COMMON_BUFFER_FROM_MDL(
    PDMA_ADAPTER DmaAdapter, PMDL Mdl, PDMA_COMMON_BUFFER_EXTENDED_CONFIGURATION ExtendedConfigs,
    ULONG ExtendedConfigsCount, PPHYSICAL_ADDRESS LogicalAddress);
typedef CREATE_COMMON_BUFFER_FROM_MDL *PCREATE_COMMON_BUFFER_FROM_MDL;

/* Versions 1, 2 (Windows XP) and 3 (Windows 8, extended by Windows 10), in Microsoft's order;
 * Size says which members exist: a v1/v2 adapter's table ends at BuildMdlFromScatterGatherList
 * (Size 128), a v3 adapter's at CreateCommonBufferFromMdl (Size 320). */
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
	/* version 3 */
	PGET_DMA_ADAPTER_INFO               GetDmaAdapterInfo;             /* 128 */
	PGET_DMA_TRANSFER_INFO              GetDmaTransferInfo;            /* 136 */
	PINITIALIZE_DMA_TRANSFER_CONTEXT    InitializeDmaTransferContext;  /* 144 */
	PALLOCATE_COMMON_BUFFER_EX          AllocateCommonBufferEx;        /* 152 */
	PALLOCATE_ADAPTER_CHANNEL_EX        AllocateAdapterChannelEx;      /* 160 */
	PCONFIGURE_ADAPTER_CHANNEL          ConfigureAdapterChannel;       /* 168 */
	PCANCEL_ADAPTER_CHANNEL             CancelAdapterChannel;          /* 176 */
	PMAP_TRANSFER_EX                    MapTransferEx;                 /* 184 */
	PGET_SCATTER_GATHER_LIST_EX         GetScatterGatherListEx;        /* 192 */
	PBUILD_SCATTER_GATHER_LIST_EX       BuildScatterGatherListEx;      /* 200 */
	PFLUSH_ADAPTER_BUFFERS_EX           FlushAdapterBuffersEx;         /* 208 */
	PFREE_ADAPTER_OBJECT                FreeAdapterObject;             /* 216 */
	PCANCEL_MAPPED_TRANSFER             CancelMappedTransfer;          /* 224 */
	/* Windows 10 */
	PALLOCATE_DOMAIN_COMMON_BUFFER      AllocateDomainCommonBuffer;    /* 232 */
	PFLUSH_DMA_BUFFER                   FlushDmaBuffer;                /* 240 */
	PJOIN_DMA_DOMAIN                    JoinDmaDomain;                 /* 248 */
	PLEAVE_DMA_DOMAIN                   LeaveDmaDomain;                /* 256 */
	PGET_DMA_DOMAIN                     GetDmaDomain;                  /* 264 */
	PALLOCATE_COMMON_BUFFER_WITH_BOUNDS AllocateCommonBufferWithBounds; /* 272 */
	PALLOCATE_COMMON_BUFFER_VECTOR      AllocateCommonBufferVector;    /* 280 */
	PGET_COMMON_BUFFER_FROM_VECTOR_BY_INDEX GetCommonBufferFromVectorByIndex; /* 288 */
	PFREE_COMMON_BUFFER_FROM_VECTOR     FreeCommonBufferFromVector;    /* 296 */
	PFREE_COMMON_BUFFER_VECTOR          FreeCommonBufferVector;        /* 304 */
	PCREATE_COMMON_BUFFER_FROM_MDL      CreateCommonBufferFromMdl;     /* 312 */
} DMA_OPERATIONS, *PDMA_OPERATIONS;                                    /* 320 */

/* ======================================================================================
 * 4. Kernel dispatcher objects, DPCs, device queues, callbacks
 * ==================================================================================== */

/* Shapes big enough for a driver to embed the object in its device extension.  The member
 * layout follows the WDK, but only dmacoh's kernel interprets the contents. */
typedef struct _DISPATCHER_HEADER {
	union {
		struct {
			UCHAR Type;
			UCHAR Signalling;
			UCHAR Size;
			UCHAR Reserved1;
		};
		volatile LONG Lock;
		LONG LockNV;
	};
	LONG       SignalState;       /* 4 */
	LIST_ENTRY WaitListHead;      /* 8 */
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;   /* 24 */

struct _KEVENT {
	DISPATCHER_HEADER Header;
};                                            /* 24 */

typedef struct _KSEMAPHORE {
	DISPATCHER_HEADER Header;
	LONG              Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;    /* 32 */

typedef struct _KMUTANT {
	DISPATCHER_HEADER Header;
	LIST_ENTRY        MutantListEntry;
	struct _KTHREAD  *OwnerThread;
	BOOLEAN           Abandoned;
	UCHAR             ApcDisable;
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;   /* 56 */

typedef struct _KTIMER {
	DISPATCHER_HEADER Header;
	ULARGE_INTEGER    DueTime;
	LIST_ENTRY        TimerListEntry;
	struct _KDPC     *Dpc;
	ULONG             Processor;
	LONG              Period;
} KTIMER, *PKTIMER, *PRKTIMER;                /* 64 */

typedef struct _KWAIT_BLOCK {
	LIST_ENTRY       WaitListEntry;
	UCHAR            WaitType;
	volatile UCHAR   BlockState;
	USHORT           WaitKey;
	LONG             SpareLong;
	struct _KTHREAD *Thread;
	PVOID            Object;
	PVOID            SparePtr;
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK; /* 48 */

#define THREAD_WAIT_OBJECTS   3
#define MAXIMUM_WAIT_OBJECTS  64

typedef struct _KAPC {
	UCHAR            Type;
	UCHAR            SpareByte0;
	UCHAR            Size;
	UCHAR            SpareByte1;
	ULONG            SpareLong0;
	struct _KTHREAD *Thread;
	LIST_ENTRY       ApcListEntry;
	PVOID            Reserved[3];
	PVOID            NormalContext;
	PVOID            SystemArgument1;
	PVOID            SystemArgument2;
	CCHAR            ApcStateIndex;
	KPROCESSOR_MODE  ApcMode;
	BOOLEAN          Inserted;
} KAPC, *PKAPC, *PRKAPC;                      /* 88 */

typedef enum _EVENT_TYPE {
	NotificationEvent,
	SynchronizationEvent
} EVENT_TYPE;

typedef enum _TIMER_TYPE {
	NotificationTimer,
	SynchronizationTimer
} TIMER_TYPE;

typedef enum _WAIT_TYPE {
	WaitAll,
	WaitAny,
	WaitNotification,
	WaitDequeue
} WAIT_TYPE;

typedef enum _KWAIT_REASON {
	Executive,
	FreePage,
	PageIn,
	PoolAllocation,
	DelayExecution,
	Suspended,
	UserRequest,
	WrExecutive,
	WrFreePage,
	WrPageIn,
	WrPoolAllocation,
	WrDelayExecution,
	WrSuspended,
	WrUserRequest,
	WrSpare0,
	WrQueue,
	WrLpcReceive,
	WrLpcReply,
	WrVirtualMemory,
	WrPageOut,
	WrRendezvous,
	WrKeyedEvent,
	WrTerminated,
	WrProcessInSwap,
	WrCpuRateControl,
	WrCalloutStack,
	WrKernel,
	WrResource,
	WrPushLock,
	WrMutex,
	WrQuantumEnd,
	WrDispatchInt,
	WrPreempted,
	WrYieldExecution,
	WrFastMutex,
	WrGuardedMutex,
	WrRundown
} KWAIT_REASON;

#define EVENT_INCREMENT      1
#define SEMAPHORE_INCREMENT  1
#define MUTANT_INCREMENT     1

/* --- DPCs ---------------------------------------------------------------------------- */
typedef _Function_class_(KDEFERRED_ROUTINE) _IRQL_requires_(DISPATCH_LEVEL)
VOID KDEFERRED_ROUTINE(struct _KDPC *Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                       PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

struct _KDPC {
	UCHAR              Type;              /* 0  */
	UCHAR              Importance;        /* 1  */
	volatile USHORT    Number;            /* 2  */
	LIST_ENTRY         DpcListEntry;      /* 8  */
	PKDEFERRED_ROUTINE DeferredRoutine;   /* 24 */
	PVOID              DeferredContext;   /* 32 */
	PVOID              SystemArgument1;   /* 40 */
	PVOID              SystemArgument2;   /* 48 */
	volatile PVOID     DpcData;           /* 56 */
};                                        /* 64 */

typedef enum _KDPC_IMPORTANCE {
	LowImportance,
	MediumImportance,
	HighImportance,
	MediumHighImportance
} KDPC_IMPORTANCE;

/* --- Device queues ------------------------------------------------------------------- */
typedef struct _KDEVICE_QUEUE_ENTRY {
	LIST_ENTRY DeviceListEntry;
	ULONG      SortKey;
	BOOLEAN    Inserted;
} KDEVICE_QUEUE_ENTRY, *PKDEVICE_QUEUE_ENTRY, *PRKDEVICE_QUEUE_ENTRY;   /* 24 */

typedef struct _KDEVICE_QUEUE {
	CSHORT     Type;
	CSHORT     Size;
	LIST_ENTRY DeviceListHead;
	KSPIN_LOCK Lock;
	union {
		BOOLEAN Busy;
		LONG64  Hint;
	};
} KDEVICE_QUEUE, *PKDEVICE_QUEUE, *PRKDEVICE_QUEUE;   /* 40 */

/* --- Interrupts ---------------------------------------------------------------------- */
typedef enum _KINTERRUPT_MODE {
	LevelSensitive,
	Latched
} KINTERRUPT_MODE;

typedef _Function_class_(KSERVICE_ROUTINE) _IRQL_requires_(HIGH_LEVEL)
BOOLEAN KSERVICE_ROUTINE(struct _KINTERRUPT *Interrupt, PVOID ServiceContext);
typedef KSERVICE_ROUTINE *PKSERVICE_ROUTINE;

typedef _Function_class_(KSYNCHRONIZE_ROUTINE) _IRQL_requires_same_
BOOLEAN KSYNCHRONIZE_ROUTINE(PVOID SynchronizeContext);
typedef KSYNCHRONIZE_ROUTINE *PKSYNCHRONIZE_ROUTINE;

/* --- Other callbacks ----------------------------------------------------------------- */
typedef _Function_class_(KSTART_ROUTINE) _IRQL_requires_same_
VOID KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

typedef _Function_class_(IO_WORKITEM_ROUTINE) _IRQL_requires_(PASSIVE_LEVEL)
VOID IO_WORKITEM_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;

typedef _Function_class_(IO_TIMER_ROUTINE)
VOID IO_TIMER_ROUTINE(struct _DEVICE_OBJECT *DeviceObject, PVOID Context);
typedef IO_TIMER_ROUTINE *PIO_TIMER_ROUTINE;

typedef enum _WORK_QUEUE_TYPE {
	CriticalWorkQueue,
	DelayedWorkQueue,
	HyperCriticalWorkQueue,
	NormalWorkQueue,
	BackgroundWorkQueue,
	RealTimeWorkQueue,
	SuperCriticalWorkQueue,
	MaximumWorkQueue,
	CustomPriorityWorkQueue = 32
} WORK_QUEUE_TYPE;

/* --- Objects and threads ------------------------------------------------------------- */
typedef struct _OBJECT_ATTRIBUTES {
	ULONG           Length;
	HANDLE          RootDirectory;
	PUNICODE_STRING ObjectName;
	ULONG           Attributes;
	PVOID           SecurityDescriptor;
	PVOID           SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
typedef const OBJECT_ATTRIBUTES *PCOBJECT_ATTRIBUTES;

#define OBJ_INHERIT             0x00000002L
#define OBJ_PERMANENT           0x00000010L
#define OBJ_EXCLUSIVE           0x00000020L
#define OBJ_CASE_INSENSITIVE    0x00000040L
#define OBJ_OPENIF              0x00000080L
#define OBJ_OPENLINK            0x00000100L
#define OBJ_KERNEL_HANDLE       0x00000200L
#define OBJ_FORCE_ACCESS_CHECK  0x00000400L

#define InitializeObjectAttributes(p, n, a, r, s)          \
	do {                                                \
		(p)->Length = sizeof(OBJECT_ATTRIBUTES);    \
		(p)->RootDirectory = (r);                   \
		(p)->Attributes = (a);                      \
		(p)->ObjectName = (n);                      \
		(p)->SecurityDescriptor = (s);              \
		(p)->SecurityQualityOfService = NULL;       \
	} while (0)

typedef struct _CLIENT_ID {
	HANDLE UniqueProcess;
	HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

#define DELETE                    0x00010000L
#define READ_CONTROL              0x00020000L
#define WRITE_DAC                 0x00040000L
#define WRITE_OWNER               0x00080000L
#define SYNCHRONIZE               0x00100000L
#define STANDARD_RIGHTS_REQUIRED  0x000F0000L
#define STANDARD_RIGHTS_ALL       0x001F0000L
#define GENERIC_READ              0x80000000U
#define GENERIC_WRITE             0x40000000U
#define GENERIC_EXECUTE           0x20000000U
#define GENERIC_ALL               0x10000000U
#define THREAD_ALL_ACCESS         (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)
#define NtCurrentProcess()        ((HANDLE)(LONG_PTR)-1)
#define ZwCurrentProcess()        NtCurrentProcess()
#define NtCurrentThread()         ((HANDLE)(LONG_PTR)-2)

/* ======================================================================================
 * 5. I/O request packets
 * ==================================================================================== */
typedef struct _IO_STATUS_BLOCK {
	union {
		NTSTATUS Status;
		PVOID    Pointer;
	};
	ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;         /* 16 */

typedef VOID IO_APC_ROUTINE(PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG Reserved);
typedef IO_APC_ROUTINE *PIO_APC_ROUTINE;

typedef _Function_class_(DRIVER_CANCEL) _IRQL_requires_(DISPATCH_LEVEL)
VOID DRIVER_CANCEL(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_CANCEL *PDRIVER_CANCEL;

typedef _Function_class_(IO_COMPLETION_ROUTINE) _IRQL_requires_same_
NTSTATUS IO_COMPLETION_ROUTINE(PDEVICE_OBJECT DeviceObject, struct _IRP *Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;

/* The I/O stack locations (IoSizeOfIrp) follow the IRP in memory.  CurrentLocation counts
 * from StackCount + 1 (no driver yet) down to 1; Tail.Overlay.CurrentStackLocation points at
 * the matching element, so the next lower driver's location is CurrentStackLocation - 1. */
struct _IRP {
	CSHORT           Type;                 /* 0   */
	USHORT           Size;                 /* 2   */
	PMDL             MdlAddress;           /* 8   */
	ULONG            Flags;                /* 16  */
	union {
		struct _IRP   *MasterIrp;
		volatile LONG  IrpCount;
		PVOID          SystemBuffer;
	} AssociatedIrp;                       /* 24  */
	LIST_ENTRY       ThreadListEntry;      /* 32  */
	IO_STATUS_BLOCK  IoStatus;             /* 48  */
	KPROCESSOR_MODE  RequestorMode;        /* 64  */
	BOOLEAN          PendingReturned;      /* 65  */
	CHAR             StackCount;           /* 66  */
	CHAR             CurrentLocation;      /* 67  */
	BOOLEAN          Cancel;               /* 68  */
	KIRQL            CancelIrql;           /* 69  */
	CCHAR            ApcEnvironment;       /* 70  */
	UCHAR            AllocationFlags;      /* 71  */
	PIO_STATUS_BLOCK UserIosb;             /* 72  */
	PKEVENT          UserEvent;            /* 80  */
	union {
		struct {
			union {
				PIO_APC_ROUTINE UserApcRoutine;
				PVOID           IssuingProcess;
			};
			PVOID UserApcContext;
		} AsynchronousParameters;
		LARGE_INTEGER AllocationSize;
	} Overlay;                             /* 88  */
	volatile PDRIVER_CANCEL CancelRoutine; /* 104 */
	PVOID            UserBuffer;           /* 112 */
	union {
		struct {
			union {
				KDEVICE_QUEUE_ENTRY DeviceQueueEntry;
				struct {
					PVOID DriverContext[4];
				};
			};
			PETHREAD Thread;
			PCHAR    AuxiliaryBuffer;
			struct {
				LIST_ENTRY ListEntry;
				union {
					struct _IO_STACK_LOCATION *CurrentStackLocation;
					ULONG PacketType;
				};
			};
			PFILE_OBJECT OriginalFileObject;
		} Overlay;
		KAPC  Apc;
		PVOID CompletionKey;
	} Tail;                                /* 120 */
	/* Not in the WDK: room for dmacoh's kernel.  No driver touches it. */
	PVOID            DmacohReserved[4];    /* 208 */
};

#define IRP_NOCACHE                  0x00000001
#define IRP_PAGING_IO                0x00000002
#define IRP_MOUNT_COMPLETION         0x00000002
#define IRP_SYNCHRONOUS_API          0x00000004
#define IRP_ASSOCIATED_IRP           0x00000008
#define IRP_BUFFERED_IO              0x00000010
#define IRP_DEALLOCATE_BUFFER        0x00000020
#define IRP_INPUT_OPERATION          0x00000040
#define IRP_SYNCHRONOUS_PAGING_IO    0x00000040
#define IRP_CREATE_OPERATION         0x00000080
#define IRP_READ_OPERATION           0x00000100
#define IRP_WRITE_OPERATION          0x00000200
#define IRP_CLOSE_OPERATION          0x00000400
#define IRP_DEFER_IO_COMPLETION      0x00000800
#define IRP_OB_QUERY_NAME            0x00001000
#define IRP_HOLD_DEVICE_QUEUE        0x00002000

/* --- Power and PnP parameter types --------------------------------------------------- */
typedef enum _SYSTEM_POWER_STATE {
	PowerSystemUnspecified = 0,
	PowerSystemWorking     = 1,
	PowerSystemSleeping1   = 2,
	PowerSystemSleeping2   = 3,
	PowerSystemSleeping3   = 4,
	PowerSystemHibernate   = 5,
	PowerSystemShutdown    = 6,
	PowerSystemMaximum     = 7
} SYSTEM_POWER_STATE, *PSYSTEM_POWER_STATE;

typedef enum _DEVICE_POWER_STATE {
	PowerDeviceUnspecified = 0,
	PowerDeviceD0,
	PowerDeviceD1,
	PowerDeviceD2,
	PowerDeviceD3,
	PowerDeviceMaximum
} DEVICE_POWER_STATE, *PDEVICE_POWER_STATE;

typedef enum _POWER_STATE_TYPE {
	SystemPowerState = 0,
	DevicePowerState
} POWER_STATE_TYPE, *PPOWER_STATE_TYPE;

typedef union _POWER_STATE {
	SYSTEM_POWER_STATE SystemState;
	DEVICE_POWER_STATE DeviceState;
} POWER_STATE, *PPOWER_STATE;

typedef enum _POWER_ACTION {
	PowerActionNone = 0,
	PowerActionReserved,
	PowerActionSleep,
	PowerActionHibernate,
	PowerActionShutdown,
	PowerActionShutdownReset,
	PowerActionShutdownOff,
	PowerActionWarmEject,
	PowerActionDisplayOff
} POWER_ACTION, *PPOWER_ACTION;

typedef enum _DEVICE_RELATION_TYPE {
	BusRelations,
	EjectionRelations,
	PowerRelations,
	RemovalRelations,
	TargetDeviceRelation,
	SingleBusRelations,
	TransportRelations
} DEVICE_RELATION_TYPE, *PDEVICE_RELATION_TYPE;

typedef enum _BUS_QUERY_ID_TYPE {
	BusQueryDeviceID,
	BusQueryHardwareIDs,
	BusQueryCompatibleIDs,
	BusQueryInstanceID,
	BusQueryDeviceSerialNumber,
	BusQueryContainerID
} BUS_QUERY_ID_TYPE, *PBUS_QUERY_ID_TYPE;

typedef enum _DEVICE_TEXT_TYPE {
	DeviceTextDescription,
	DeviceTextLocationInformation
} DEVICE_TEXT_TYPE, *PDEVICE_TEXT_TYPE;

typedef enum _DEVICE_USAGE_NOTIFICATION_TYPE {
	DeviceUsageTypeUndefined,
	DeviceUsageTypePaging,
	DeviceUsageTypeHibernation,
	DeviceUsageTypeDumpFile,
	DeviceUsageTypeBoot,
	DeviceUsageTypePostDisplay,
	DeviceUsageTypeGuestAssigned
} DEVICE_USAGE_NOTIFICATION_TYPE;

typedef VOID INTERFACE_REFERENCE(PVOID Context);
typedef INTERFACE_REFERENCE *PINTERFACE_REFERENCE;
typedef VOID INTERFACE_DEREFERENCE(PVOID Context);
typedef INTERFACE_DEREFERENCE *PINTERFACE_DEREFERENCE;

typedef struct _INTERFACE {
	USHORT                 Size;
	USHORT                 Version;
	PVOID                  Context;
	PINTERFACE_REFERENCE   InterfaceReference;
	PINTERFACE_DEREFERENCE InterfaceDereference;
} INTERFACE, *PINTERFACE;

/* --- The I/O stack location ---------------------------------------------------------- */
struct _IO_STACK_LOCATION {
	UCHAR MajorFunction;                  /* 0 */
	UCHAR MinorFunction;                  /* 1 */
	UCHAR Flags;                          /* 2 */
	UCHAR Control;                        /* 3 */
	union {
		struct {
			PIO_SECURITY_CONTEXT SecurityContext;
			ULONG Options;
			USHORT POINTER_ALIGNMENT FileAttributes;
			USHORT ShareAccess;
			ULONG POINTER_ALIGNMENT EaLength;
		} Create;
		struct {
			ULONG Length;
			ULONG POINTER_ALIGNMENT Key;
			ULONG Flags;
			LARGE_INTEGER ByteOffset;
		} Read;
		struct {
			ULONG Length;
			ULONG POINTER_ALIGNMENT Key;
			ULONG Flags;
			LARGE_INTEGER ByteOffset;
		} Write;
		struct {
			ULONG OutputBufferLength;
			ULONG POINTER_ALIGNMENT InputBufferLength;
			ULONG POINTER_ALIGNMENT IoControlCode;
			PVOID Type3InputBuffer;
		} DeviceIoControl;
		struct {
			struct _SCSI_REQUEST_BLOCK *Srb;
		} Scsi;
		struct {
			DEVICE_RELATION_TYPE Type;
		} QueryDeviceRelations;
		struct {
			const GUID *InterfaceType;
			USHORT Size;
			USHORT Version;
			PINTERFACE Interface;
			PVOID InterfaceSpecificData;
		} QueryInterface;
		struct {
			PDEVICE_CAPABILITIES Capabilities;
		} DeviceCapabilities;
		struct {
			PIO_RESOURCE_REQUIREMENTS_LIST IoResourceRequirementList;
		} FilterResourceRequirements;
		struct {
			ULONG WhichSpace;
			PVOID Buffer;
			ULONG Offset;
			ULONG POINTER_ALIGNMENT Length;
		} ReadWriteConfig;
		struct {
			BOOLEAN Lock;
		} SetLock;
		struct {
			BUS_QUERY_ID_TYPE IdType;
		} QueryId;
		struct {
			DEVICE_TEXT_TYPE DeviceTextType;
			LCID POINTER_ALIGNMENT LocaleId;
		} QueryDeviceText;
		struct {
			BOOLEAN InPath;
			BOOLEAN Reserved[3];
			DEVICE_USAGE_NOTIFICATION_TYPE POINTER_ALIGNMENT Type;
		} UsageNotification;
		struct {
			SYSTEM_POWER_STATE PowerState;
		} WaitWake;
		struct {
			PPOWER_SEQUENCE PowerSequence;
		} PowerSequence;
		struct {
			ULONG SystemContext;
			POWER_STATE_TYPE POINTER_ALIGNMENT Type;
			POWER_STATE POINTER_ALIGNMENT State;
			POWER_ACTION POINTER_ALIGNMENT ShutdownType;
		} Power;
		struct {
			PCM_RESOURCE_LIST AllocatedResources;
			PCM_RESOURCE_LIST AllocatedResourcesTranslated;
		} StartDevice;
		struct {
			PVOID Argument1;
			PVOID Argument2;
			PVOID Argument3;
			PVOID Argument4;
		} Others;
	} Parameters;                         /* 8  */
	PDEVICE_OBJECT         DeviceObject;      /* 40 */
	PFILE_OBJECT           FileObject;        /* 48 */
	PIO_COMPLETION_ROUTINE CompletionRoutine; /* 56 */
	PVOID                  Context;           /* 64 */
};                                            /* 72 */

/* Major function codes */
#define IRP_MJ_CREATE                    0x00
#define IRP_MJ_CREATE_NAMED_PIPE         0x01
#define IRP_MJ_CLOSE                     0x02
#define IRP_MJ_READ                      0x03
#define IRP_MJ_WRITE                     0x04
#define IRP_MJ_QUERY_INFORMATION         0x05
#define IRP_MJ_SET_INFORMATION           0x06
#define IRP_MJ_QUERY_EA                  0x07
#define IRP_MJ_SET_EA                    0x08
#define IRP_MJ_FLUSH_BUFFERS             0x09
#define IRP_MJ_QUERY_VOLUME_INFORMATION  0x0a
#define IRP_MJ_SET_VOLUME_INFORMATION    0x0b
#define IRP_MJ_DIRECTORY_CONTROL         0x0c
#define IRP_MJ_FILE_SYSTEM_CONTROL       0x0d
#define IRP_MJ_DEVICE_CONTROL            0x0e
#define IRP_MJ_INTERNAL_DEVICE_CONTROL   0x0f
#define IRP_MJ_SHUTDOWN                  0x10
#define IRP_MJ_LOCK_CONTROL              0x11
#define IRP_MJ_CLEANUP                   0x12
#define IRP_MJ_CREATE_MAILSLOT           0x13
#define IRP_MJ_QUERY_SECURITY            0x14
#define IRP_MJ_SET_SECURITY              0x15
#define IRP_MJ_POWER                     0x16
#define IRP_MJ_SYSTEM_CONTROL            0x17
#define IRP_MJ_DEVICE_CHANGE             0x18
#define IRP_MJ_QUERY_QUOTA               0x19
#define IRP_MJ_SET_QUOTA                 0x1a
#define IRP_MJ_PNP                       0x1b
#define IRP_MJ_PNP_POWER                 IRP_MJ_PNP
#define IRP_MJ_MAXIMUM_FUNCTION          0x1b
#define IRP_MJ_SCSI                      IRP_MJ_INTERNAL_DEVICE_CONTROL

/* IRP_MJ_PNP minor codes */
#define IRP_MN_START_DEVICE                  0x00
#define IRP_MN_QUERY_REMOVE_DEVICE           0x01
#define IRP_MN_REMOVE_DEVICE                 0x02
#define IRP_MN_CANCEL_REMOVE_DEVICE          0x03
#define IRP_MN_STOP_DEVICE                   0x04
#define IRP_MN_QUERY_STOP_DEVICE             0x05
#define IRP_MN_CANCEL_STOP_DEVICE            0x06
#define IRP_MN_QUERY_DEVICE_RELATIONS        0x07
#define IRP_MN_QUERY_INTERFACE               0x08
#define IRP_MN_QUERY_CAPABILITIES            0x09
#define IRP_MN_QUERY_RESOURCES               0x0A
#define IRP_MN_QUERY_RESOURCE_REQUIREMENTS   0x0B
#define IRP_MN_QUERY_DEVICE_TEXT             0x0C
#define IRP_MN_FILTER_RESOURCE_REQUIREMENTS  0x0D
#define IRP_MN_READ_CONFIG                   0x0F
#define IRP_MN_WRITE_CONFIG                  0x10
#define IRP_MN_EJECT                         0x11
#define IRP_MN_SET_LOCK                      0x12
#define IRP_MN_QUERY_ID                      0x13
#define IRP_MN_QUERY_PNP_DEVICE_STATE        0x14
#define IRP_MN_QUERY_BUS_INFORMATION         0x15
#define IRP_MN_DEVICE_USAGE_NOTIFICATION     0x16
#define IRP_MN_SURPRISE_REMOVAL              0x17
#define IRP_MN_QUERY_LEGACY_BUS_INFORMATION  0x18
#define IRP_MN_DEVICE_ENUMERATED             0x19

/* IRP_MJ_POWER minor codes */
#define IRP_MN_WAIT_WAKE                     0x00
#define IRP_MN_POWER_SEQUENCE                0x01
#define IRP_MN_SET_POWER                     0x02
#define IRP_MN_QUERY_POWER                   0x03

/* IRP_MJ_SYSTEM_CONTROL (WMI) minor codes */
#define IRP_MN_QUERY_ALL_DATA                0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE         0x01
#define IRP_MN_CHANGE_SINGLE_INSTANCE        0x02
#define IRP_MN_CHANGE_SINGLE_ITEM            0x03
#define IRP_MN_ENABLE_EVENTS                 0x04
#define IRP_MN_DISABLE_EVENTS                0x05
#define IRP_MN_ENABLE_COLLECTION             0x06
#define IRP_MN_DISABLE_COLLECTION            0x07
#define IRP_MN_REGINFO                       0x08
#define IRP_MN_EXECUTE_METHOD                0x09
#define IRP_MN_REGINFO_EX                    0x0b

/* IO_STACK_LOCATION.Control */
#define SL_PENDING_RETURNED      0x01
#define SL_ERROR_RETURNED        0x02
#define SL_INVOKE_ON_CANCEL      0x20
#define SL_INVOKE_ON_SUCCESS     0x40
#define SL_INVOKE_ON_ERROR       0x80

/* IO_STACK_LOCATION.Flags */
#define SL_FORCE_ACCESS_CHECK    0x01
#define SL_OPEN_PAGING_FILE      0x02
#define SL_OPEN_TARGET_DIRECTORY 0x04
#define SL_CASE_SENSITIVE        0x80
#define SL_KEY_SPECIFIED         0x01
#define SL_OVERRIDE_VERIFY_VOLUME 0x02
#define SL_WRITE_THROUGH         0x04
#define SL_FT_SEQUENTIAL_WRITE   0x08

/* Priority boosts for IoCompleteRequest */
#define IO_NO_INCREMENT          0
#define IO_CD_ROM_INCREMENT      1
#define IO_DISK_INCREMENT        1
#define IO_KEYBOARD_INCREMENT    6
#define IO_MAILSLOT_INCREMENT    2
#define IO_MOUSE_INCREMENT       6
#define IO_NAMED_PIPE_INCREMENT  2
#define IO_NETWORK_INCREMENT     2
#define IO_PARALLEL_INCREMENT    1
#define IO_SERIAL_INCREMENT      2
#define IO_SOUND_INCREMENT       8
#define IO_VIDEO_INCREMENT       1

/* I/O control codes */
#define CTL_CODE(DeviceType, Function, Method, Access) \
	(((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define DEVICE_TYPE_FROM_CTL_CODE(ctrlCode)  (((ULONG)(ctrlCode) & 0xffff0000) >> 16)
#define METHOD_FROM_CTL_CODE(ctrlCode)       ((ULONG)((ctrlCode) & 3))
#define IoGetFunctionCodeFromCtlCode(ControlCode) (((ULONG)(ControlCode) >> 2) & 0x00000FFF)

#define METHOD_BUFFERED     0
#define METHOD_IN_DIRECT    1
#define METHOD_OUT_DIRECT   2
#define METHOD_NEITHER      3
#define METHOD_DIRECT_TO_HARDWARE  METHOD_IN_DIRECT
#define METHOD_DIRECT_FROM_HARDWARE METHOD_OUT_DIRECT

#define FILE_ANY_ACCESS      0
#define FILE_SPECIAL_ACCESS  (FILE_ANY_ACCESS)
#define FILE_READ_ACCESS     (0x0001)
#define FILE_WRITE_ACCESS    (0x0002)
#define FILE_READ_DATA       (0x0001)
#define FILE_WRITE_DATA      (0x0002)

/* --- Stack-location helpers ---------------------------------------------------------- */
#define IoSizeOfIrp(StackSize) \
	((USHORT)(sizeof(IRP) + ((StackSize) * (sizeof(IO_STACK_LOCATION)))))

// clang-format on

static inline PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp)
{
	return Irp->Tail.Overlay.CurrentStackLocation;
}

static inline PIO_STACK_LOCATION IoGetNextIrpStackLocation(PIRP Irp)
{
	return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

/* Hands the current location to the next lower driver unchanged (IoCallDriver moves down). */
static inline VOID IoSkipCurrentIrpStackLocation(PIRP Irp)
{
	Irp->CurrentLocation++;
	Irp->Tail.Overlay.CurrentStackLocation++;
}

static inline VOID IoSetNextIrpStackLocation(PIRP Irp)
{
	Irp->CurrentLocation--;
	Irp->Tail.Overlay.CurrentStackLocation--;
}

/* Copies the current location's parameters, but not its completion routine. */
static inline VOID IoCopyCurrentIrpStackLocationToNext(PIRP Irp)
{
	PIO_STACK_LOCATION IrpSp = IoGetCurrentIrpStackLocation(Irp);
	PIO_STACK_LOCATION NextIrpSp = IoGetNextIrpStackLocation(Irp);
	memcpy(NextIrpSp, IrpSp, offsetof(IO_STACK_LOCATION, CompletionRoutine));
	NextIrpSp->Control = 0;
}

static inline VOID IoMarkIrpPending(PIRP Irp)
{
	IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED;
}

static inline VOID IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine,
                                          PVOID Context, BOOLEAN InvokeOnSuccess,
                                          BOOLEAN InvokeOnError, BOOLEAN InvokeOnCancel)
{
	PIO_STACK_LOCATION IrpSp = IoGetNextIrpStackLocation(Irp);
	IrpSp->CompletionRoutine = CompletionRoutine;
	IrpSp->Context = Context;
	IrpSp->Control = 0;
	if (InvokeOnSuccess)
		IrpSp->Control = SL_INVOKE_ON_SUCCESS;
	if (InvokeOnError)
		IrpSp->Control |= SL_INVOKE_ON_ERROR;
	if (InvokeOnCancel)
		IrpSp->Control |= SL_INVOKE_ON_CANCEL;
}

/* Returns the previous cancel routine; atomic against the I/O manager's cancel path. */
static inline PDRIVER_CANCEL IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine)
{
	return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_SEQ_CST);
}

// clang-format off

/* Cancel-safe IRP queues (IoCsq*): the driver keeps the queue and its lock; the I/O manager's
 * routines set and clear the cancel routine so that a cancelled IRP leaves the queue exactly
 * once.  Layout as in wdm.h (x64). */
typedef struct _IO_CSQ IO_CSQ, *PIO_CSQ;
typedef struct _IO_CSQ_IRP_CONTEXT {
	ULONG   Type;                          /* 0  IO_TYPE_CSQ_IRP_CONTEXT */
	PIRP    Irp;                           /* 8  */
	PIO_CSQ Csq;                           /* 16 */
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;
typedef VOID IO_CSQ_INSERT_IRP(PIO_CSQ Csq, PIRP Irp);
typedef IO_CSQ_INSERT_IRP *PIO_CSQ_INSERT_IRP;
typedef NTSTATUS IO_CSQ_INSERT_IRP_EX(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext);
typedef IO_CSQ_INSERT_IRP_EX *PIO_CSQ_INSERT_IRP_EX;
typedef VOID IO_CSQ_REMOVE_IRP(PIO_CSQ Csq, PIRP Irp);
typedef IO_CSQ_REMOVE_IRP *PIO_CSQ_REMOVE_IRP;
typedef PIRP IO_CSQ_PEEK_NEXT_IRP(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext);
typedef IO_CSQ_PEEK_NEXT_IRP *PIO_CSQ_PEEK_NEXT_IRP;
typedef VOID IO_CSQ_ACQUIRE_LOCK(PIO_CSQ Csq, PKIRQL Irql);
typedef IO_CSQ_ACQUIRE_LOCK *PIO_CSQ_ACQUIRE_LOCK;
typedef VOID IO_CSQ_RELEASE_LOCK(PIO_CSQ Csq, KIRQL Irql);
typedef IO_CSQ_RELEASE_LOCK *PIO_CSQ_RELEASE_LOCK;
typedef VOID IO_CSQ_COMPLETE_CANCELED_IRP(PIO_CSQ Csq, PIRP Irp);
typedef IO_CSQ_COMPLETE_CANCELED_IRP *PIO_CSQ_COMPLETE_CANCELED_IRP;
struct _IO_CSQ {
	ULONG                         Type;                   /* 0  IO_TYPE_CSQ or IO_TYPE_CSQ_EX */
	PIO_CSQ_INSERT_IRP            CsqInsertIrp;           /* 8  (PIO_CSQ_INSERT_IRP_EX for _EX) */
	PIO_CSQ_REMOVE_IRP            CsqRemoveIrp;           /* 16 */
	PIO_CSQ_PEEK_NEXT_IRP         CsqPeekNextIrp;         /* 24 */
	PIO_CSQ_ACQUIRE_LOCK          CsqAcquireLock;         /* 32 */
	PIO_CSQ_RELEASE_LOCK          CsqReleaseLock;         /* 40 */
	PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp; /* 48 */
	PVOID                         ReservePointer;         /* 56 */
};
#define IO_TYPE_CSQ_IRP_CONTEXT 1
#define IO_TYPE_CSQ             2
#define IO_TYPE_CSQ_EX          3

// clang-format on

// clang-format off

/* ======================================================================================
 * 6. Device and driver objects
 * ==================================================================================== */
typedef _Function_class_(DRIVER_INITIALIZE) _IRQL_requires_(PASSIVE_LEVEL)
NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;

typedef _Function_class_(DRIVER_ADD_DEVICE) _IRQL_requires_(PASSIVE_LEVEL)
NTSTATUS DRIVER_ADD_DEVICE(struct _DRIVER_OBJECT *DriverObject,
                           struct _DEVICE_OBJECT *PhysicalDeviceObject);
typedef DRIVER_ADD_DEVICE *PDRIVER_ADD_DEVICE;

typedef _Function_class_(DRIVER_DISPATCH) _IRQL_requires_same_
NTSTATUS DRIVER_DISPATCH(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_RAISED;
typedef DRIVER_DISPATCH DRIVER_DISPATCH_PAGED;

typedef _Function_class_(DRIVER_STARTIO) _IRQL_requires_(DISPATCH_LEVEL)
VOID DRIVER_STARTIO(struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp);
typedef DRIVER_STARTIO *PDRIVER_STARTIO;

typedef _Function_class_(DRIVER_UNLOAD) _IRQL_requires_(PASSIVE_LEVEL)
VOID DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;

/* The DPC queued by IoRequestDpc: Irp and Context are its system arguments. */
typedef _Function_class_(IO_DPC_ROUTINE) _IRQL_requires_(DISPATCH_LEVEL)
VOID IO_DPC_ROUTINE(PKDPC Dpc, struct _DEVICE_OBJECT *DeviceObject, struct _IRP *Irp,
                    PVOID Context);
typedef IO_DPC_ROUTINE *PIO_DPC_ROUTINE;

typedef struct _WAIT_CONTEXT_BLOCK {
	union {
		KDEVICE_QUEUE_ENTRY WaitQueueEntry;
		struct {
			LIST_ENTRY DmaWaitEntry;
			ULONG      NumberOfChannels;
			ULONG      SyncCallback : 1;
			ULONG      DmaContext : 1;
			ULONG      ZeroMapRegisters : 1;
			ULONG      Reserved : 9;
			ULONG      NumberOfRemapPages : 20;
		};
	};
	PDRIVER_CONTROL DeviceRoutine;
	PVOID           DeviceContext;
	ULONG           NumberOfMapRegisters;
	PVOID           DeviceObject;
	PVOID           CurrentIrp;
	PKDPC           BufferChainingDpc;
} WAIT_CONTEXT_BLOCK, *PWAIT_CONTEXT_BLOCK;   /* 72 */

struct _DEVICE_OBJECT {
	CSHORT                  Type;                   /* 0   */
	USHORT                  Size;                   /* 2   */
	LONG                    ReferenceCount;         /* 4   */
	struct _DRIVER_OBJECT  *DriverObject;           /* 8   */
	struct _DEVICE_OBJECT  *NextDevice;             /* 16  */
	struct _DEVICE_OBJECT  *AttachedDevice;         /* 24  */
	struct _IRP            *CurrentIrp;             /* 32  */
	PIO_TIMER               Timer;                  /* 40  */
	ULONG                   Flags;                  /* 48  */
	ULONG                   Characteristics;        /* 52  */
	volatile PVPB           Vpb;                    /* 56  */
	PVOID                   DeviceExtension;        /* 64  */
	DEVICE_TYPE             DeviceType;             /* 72  */
	CCHAR                   StackSize;              /* 76  */
	union {
		LIST_ENTRY         ListEntry;
		WAIT_CONTEXT_BLOCK Wcb;
	} Queue;                                        /* 80  */
	ULONG                   AlignmentRequirement;   /* 152 */
	KDEVICE_QUEUE           DeviceQueue;            /* 160 */
	KDPC                    Dpc;                    /* 200 */
	ULONG                   ActiveThreadCount;      /* 264 */
	PSECURITY_DESCRIPTOR    SecurityDescriptor;     /* 272 */
	KEVENT                  DeviceLock;             /* 280 */
	USHORT                  SectorSize;             /* 304 */
	USHORT                  Spare1;                 /* 306 */
	struct _DEVOBJ_EXTENSION *DeviceObjectExtension; /* 312 */
	PVOID                   Reserved;               /* 320 */
	/* Not in the WDK: room for dmacoh's kernel.  No driver touches it. */
	PVOID                   DmacohReserved[4];      /* 328 */
};

typedef struct _DRIVER_EXTENSION {
	struct _DRIVER_OBJECT *DriverObject;
	PDRIVER_ADD_DEVICE     AddDevice;
	ULONG                  Count;
	UNICODE_STRING         ServiceKeyName;
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

struct _DRIVER_OBJECT {
	CSHORT             Type;                 /* 0   */
	CSHORT             Size;                 /* 2   */
	PDEVICE_OBJECT     DeviceObject;         /* 8   */
	ULONG              Flags;                /* 16  */
	PVOID              DriverStart;          /* 24  */
	ULONG              DriverSize;           /* 32  */
	PVOID              DriverSection;        /* 40  */
	PDRIVER_EXTENSION  DriverExtension;      /* 48  */
	UNICODE_STRING     DriverName;           /* 56  */
	PUNICODE_STRING    HardwareDatabase;     /* 72  */
	PFAST_IO_DISPATCH  FastIoDispatch;       /* 80  */
	PDRIVER_INITIALIZE DriverInit;           /* 88  */
	PDRIVER_STARTIO    DriverStartIo;        /* 96  */
	PDRIVER_UNLOAD     DriverUnload;         /* 104 */
	PDRIVER_DISPATCH   MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];   /* 112 */
};

/* DEVICE_OBJECT.Flags */
#define DO_VERIFY_VOLUME             0x00000002
#define DO_BUFFERED_IO               0x00000004
#define DO_EXCLUSIVE                 0x00000008
#define DO_DIRECT_IO                 0x00000010
#define DO_MAP_IO_BUFFER             0x00000020
#define DO_DEVICE_HAS_NAME           0x00000040
#define DO_DEVICE_INITIALIZING       0x00000080
#define DO_SYSTEM_BOOT_PARTITION     0x00000100
#define DO_LONG_TERM_REQUESTS        0x00000200
#define DO_NEVER_LAST_DEVICE         0x00000400
#define DO_SHUTDOWN_REGISTERED       0x00000800
#define DO_BUS_ENUMERATED_DEVICE     0x00001000
#define DO_POWER_PAGABLE             0x00002000
#define DO_POWER_INRUSH              0x00004000

/* DEVICE_OBJECT.DeviceType */
#define FILE_DEVICE_BEEP                 0x00000001
#define FILE_DEVICE_CD_ROM               0x00000002
#define FILE_DEVICE_CD_ROM_FILE_SYSTEM   0x00000003
#define FILE_DEVICE_CONTROLLER           0x00000004
#define FILE_DEVICE_DATALINK             0x00000005
#define FILE_DEVICE_DFS                  0x00000006
#define FILE_DEVICE_DISK                 0x00000007
#define FILE_DEVICE_DISK_FILE_SYSTEM     0x00000008
#define FILE_DEVICE_FILE_SYSTEM          0x00000009
#define FILE_DEVICE_INPORT_PORT          0x0000000a
#define FILE_DEVICE_KEYBOARD             0x0000000b
#define FILE_DEVICE_MAILSLOT             0x0000000c
#define FILE_DEVICE_MIDI_IN              0x0000000d
#define FILE_DEVICE_MIDI_OUT             0x0000000e
#define FILE_DEVICE_MOUSE                0x0000000f
#define FILE_DEVICE_MULTI_UNC_PROVIDER   0x00000010
#define FILE_DEVICE_NAMED_PIPE           0x00000011
#define FILE_DEVICE_NETWORK              0x00000012
#define FILE_DEVICE_NETWORK_BROWSER      0x00000013
#define FILE_DEVICE_NETWORK_FILE_SYSTEM  0x00000014
#define FILE_DEVICE_NULL                 0x00000015
#define FILE_DEVICE_PARALLEL_PORT        0x00000016
#define FILE_DEVICE_PHYSICAL_NETCARD     0x00000017
#define FILE_DEVICE_PRINTER              0x00000018
#define FILE_DEVICE_SCANNER              0x00000019
#define FILE_DEVICE_SERIAL_MOUSE_PORT    0x0000001a
#define FILE_DEVICE_SERIAL_PORT          0x0000001b
#define FILE_DEVICE_SCREEN               0x0000001c
#define FILE_DEVICE_SOUND                0x0000001d
#define FILE_DEVICE_STREAMS              0x0000001e
#define FILE_DEVICE_TAPE                 0x0000001f
#define FILE_DEVICE_TAPE_FILE_SYSTEM     0x00000020
#define FILE_DEVICE_TRANSPORT            0x00000021
#define FILE_DEVICE_UNKNOWN              0x00000022
#define FILE_DEVICE_VIDEO                0x00000023
#define FILE_DEVICE_VIRTUAL_DISK         0x00000024
#define FILE_DEVICE_WAVE_IN              0x00000025
#define FILE_DEVICE_WAVE_OUT             0x00000026
#define FILE_DEVICE_8042_PORT            0x00000027
#define FILE_DEVICE_NETWORK_REDIRECTOR   0x00000028
#define FILE_DEVICE_BATTERY              0x00000029
#define FILE_DEVICE_BUS_EXTENDER         0x0000002a
#define FILE_DEVICE_MODEM                0x0000002b
#define FILE_DEVICE_VDM                  0x0000002c
#define FILE_DEVICE_MASS_STORAGE         0x0000002d

/* DEVICE_OBJECT.Characteristics */
#define FILE_REMOVABLE_MEDIA             0x00000001
#define FILE_READ_ONLY_DEVICE            0x00000002
#define FILE_FLOPPY_DISKETTE             0x00000004
#define FILE_WRITE_ONCE_MEDIA            0x00000008
#define FILE_REMOTE_DEVICE               0x00000010
#define FILE_DEVICE_IS_MOUNTED           0x00000020
#define FILE_VIRTUAL_VOLUME              0x00000040
#define FILE_AUTOGENERATED_DEVICE_NAME   0x00000080
#define FILE_DEVICE_SECURE_OPEN          0x00000100
#define FILE_CHARACTERISTIC_PNP_DEVICE   0x00000800

/* ======================================================================================
 * 7. Hardware resources (IRP_MN_START_DEVICE)
 * ==================================================================================== */
#define CmResourceTypeNull              0
#define CmResourceTypePort              1
#define CmResourceTypeInterrupt         2
#define CmResourceTypeMemory            3
#define CmResourceTypeDma               4
#define CmResourceTypeDeviceSpecific    5
#define CmResourceTypeBusNumber         6
#define CmResourceTypeMemoryLarge       7
#define CmResourceTypeNonArbitrated     128
#define CmResourceTypeConfigData        128
#define CmResourceTypeDevicePrivate     129
#define CmResourceTypePcCardConfig      130
#define CmResourceTypeMfCardConfig      131
#define CmResourceTypeConnection        132

typedef enum _CM_SHARE_DISPOSITION {
	CmResourceShareUndetermined = 0,
	CmResourceShareDeviceExclusive,
	CmResourceShareDriverExclusive,
	CmResourceShareShared
} CM_SHARE_DISPOSITION;

/* Flags for CmResourceTypeInterrupt */
#define CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE    0
#define CM_RESOURCE_INTERRUPT_LATCHED            1
#define CM_RESOURCE_INTERRUPT_MESSAGE            2
#define CM_RESOURCE_INTERRUPT_POLICY_INCLUDED    4
#define CM_RESOURCE_INTERRUPT_SECONDARY_INTERRUPT 0x10
#define CM_RESOURCE_INTERRUPT_WAKE_HINT          0x20

/* Flags for CmResourceTypeMemory */
#define CM_RESOURCE_MEMORY_READ_WRITE            0x0000
#define CM_RESOURCE_MEMORY_READ_ONLY             0x0001
#define CM_RESOURCE_MEMORY_WRITE_ONLY            0x0002
#define CM_RESOURCE_MEMORY_WRITEABILITY_MASK     0x0003
#define CM_RESOURCE_MEMORY_PREFETCHABLE          0x0004
#define CM_RESOURCE_MEMORY_COMBINEDWRITE         0x0008
#define CM_RESOURCE_MEMORY_24                    0x0010
#define CM_RESOURCE_MEMORY_CACHEABLE             0x0020
#define CM_RESOURCE_MEMORY_WINDOW_DECODE         0x0040
#define CM_RESOURCE_MEMORY_BAR                   0x0080
#define CM_RESOURCE_MEMORY_COMPAT_FOR_INACCESSIBLE_RANGE 0x0100
#define CM_RESOURCE_MEMORY_LARGE                 0x0E00
#define CM_RESOURCE_MEMORY_LARGE_40              0x0200
#define CM_RESOURCE_MEMORY_LARGE_48              0x0400
#define CM_RESOURCE_MEMORY_LARGE_64              0x0800

/* Flags for CmResourceTypePort */
#define CM_RESOURCE_PORT_MEMORY                  0x0000
#define CM_RESOURCE_PORT_IO                      0x0001
#define CM_RESOURCE_PORT_10_BIT_DECODE           0x0004
#define CM_RESOURCE_PORT_12_BIT_DECODE           0x0008
#define CM_RESOURCE_PORT_16_BIT_DECODE           0x0010
#define CM_RESOURCE_PORT_POSITIVE_DECODE         0x0020
#define CM_RESOURCE_PORT_PASSIVE_DECODE          0x0040
#define CM_RESOURCE_PORT_WINDOW_DECODE           0x0080
#define CM_RESOURCE_PORT_BAR                     0x0100

/* Flags for CmResourceTypeDma */
#define CM_RESOURCE_DMA_8                        0x0000
#define CM_RESOURCE_DMA_16                       0x0001
#define CM_RESOURCE_DMA_32                       0x0002
#define CM_RESOURCE_DMA_8_AND_16                 0x0004
#define CM_RESOURCE_DMA_BUS_MASTER               0x0008
#define CM_RESOURCE_DMA_TYPE_A                   0x0010
#define CM_RESOURCE_DMA_TYPE_B                   0x0020
#define CM_RESOURCE_DMA_TYPE_F                   0x0040
#define CM_RESOURCE_DMA_V3                       0x0080

/* The WDK packs the resource descriptors to 4 bytes, on x64 too. */
#pragma pack(push, 4)

typedef struct _CM_PARTIAL_RESOURCE_DESCRIPTOR {
	UCHAR  Type;                /* CmResourceType* */
	UCHAR  ShareDisposition;    /* CM_SHARE_DISPOSITION */
	USHORT Flags;
	union {
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length;
		} Generic;
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length;
		} Port;
		struct {
			ULONG Level;
			ULONG Vector;
			KAFFINITY Affinity;
		} Interrupt;
		struct {
			union {
				struct {
					USHORT Reserved;
					USHORT MessageCount;
					ULONG Vector;
					KAFFINITY Affinity;
				} Raw;
				struct {
					ULONG Level;
					ULONG Vector;
					KAFFINITY Affinity;
				} Translated;
			};
		} MessageInterrupt;
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length;
		} Memory;
		struct {
			ULONG Channel;
			ULONG Port;
			ULONG Reserved1;
		} Dma;
		struct {
			ULONG Channel;
			ULONG RequestLine;
			UCHAR TransferWidth;
			UCHAR Reserved1;
			UCHAR Reserved2;
			UCHAR Reserved3;
		} DmaV3;
		struct {
			ULONG Data[3];
		} DevicePrivate;
		struct {
			ULONG Start;
			ULONG Length;
			ULONG Reserved;
		} BusNumber;
		struct {
			ULONG DataSize;
			ULONG Reserved1;
			ULONG Reserved2;
		} DeviceSpecificData;
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length40;
		} Memory40;
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length48;
		} Memory48;
		struct {
			PHYSICAL_ADDRESS Start;
			ULONG Length64;
		} Memory64;
		struct {
			UCHAR Class;
			UCHAR Type;
			UCHAR Reserved1;
			UCHAR Reserved2;
			ULONG IdLowPart;
			ULONG IdHighPart;
		} Connection;
	} u;
} CM_PARTIAL_RESOURCE_DESCRIPTOR, *PCM_PARTIAL_RESOURCE_DESCRIPTOR;   /* 20 */

typedef struct _CM_PARTIAL_RESOURCE_LIST {
	USHORT Version;
	USHORT Revision;
	ULONG  Count;
	CM_PARTIAL_RESOURCE_DESCRIPTOR PartialDescriptors[1];   /* Count of them */
} CM_PARTIAL_RESOURCE_LIST, *PCM_PARTIAL_RESOURCE_LIST;

typedef struct _CM_FULL_RESOURCE_DESCRIPTOR {
	INTERFACE_TYPE           InterfaceType;
	ULONG                    BusNumber;
	CM_PARTIAL_RESOURCE_LIST PartialResourceList;
} CM_FULL_RESOURCE_DESCRIPTOR, *PCM_FULL_RESOURCE_DESCRIPTOR;

struct _CM_RESOURCE_LIST {
	ULONG                       Count;
	CM_FULL_RESOURCE_DESCRIPTOR List[1];   /* Count of them */
};

/* Device-specific data of a floppy drive in the hardware tree (after a
 * CmResourceTypeDeviceSpecific descriptor in its configuration data). */
typedef struct _CM_FLOPPY_DEVICE_DATA {
	USHORT Version;
	USHORT Revision;
	CHAR   Size[8];                /* "3.5" */
	ULONG  MaxDensity;             /* KB: 1440 */
	ULONG  MountDensity;
	UCHAR  StepRateHeadUnloadTime; /* Version >= 2 from here */
	UCHAR  HeadLoadTime;
	UCHAR  MotorOffTime;
	UCHAR  SectorLengthCode;
	UCHAR  SectorPerTrack;
	UCHAR  ReadWriteGapLength;
	UCHAR  DataTransferLength;
	UCHAR  FormatGapLength;
	UCHAR  FormatFillCharacter;
	UCHAR  HeadSettleTime;
	UCHAR  MotorSettleTime;
	UCHAR  MaximumTrackValue;
	UCHAR  DataTransferRate;
} CM_FLOPPY_DEVICE_DATA, *PCM_FLOPPY_DEVICE_DATA;

#pragma pack(pop)

/* ======================================================================================
 * 8. Routines (implemented by dmacoh's kernel)
 * ==================================================================================== */

/* --- Debugging ----------------------------------------------------------------------- */
#ifndef DBG
#define DBG 1
#endif

#define DPFLTR_ERROR_LEVEL    0
#define DPFLTR_WARNING_LEVEL  1
#define DPFLTR_TRACE_LEVEL    2
#define DPFLTR_INFO_LEVEL     3
#define DPFLTR_MASK           0x80000000U
#define DPFLTR_IHVDRIVER_ID   77

ULONG DbgPrint(PCSTR Format, ...);
ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
VOID RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
               PSTR MutableMessage);
DECLSPEC_NORETURN VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                    ULONG_PTR BugCheckParameter2, ULONG_PTR BugCheckParameter3,
                                    ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN VOID KeBugCheck(ULONG BugCheckCode);

#if DBG
#define KdPrint(_x_)     DbgPrint _x_
#define KdPrintEx(_x_)   DbgPrintEx _x_
#define ASSERT(exp) \
	((void)((exp) ? 0 : (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, NULL), 0)))
#define ASSERTMSG(msg, exp) \
	((void)((exp) ? 0 : (RtlAssert((PVOID)#exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), 0)))
#define PAGED_CODE()     ASSERT(KeGetCurrentIrql() <= APC_LEVEL)
#else
#define KdPrint(_x_)     ((void)0)
#define KdPrintEx(_x_)   ((void)0)
#define ASSERT(exp)      ((void)0)
#define ASSERTMSG(msg, exp) ((void)0)
#define PAGED_CODE()     ((void)0)
#endif
#define NT_ASSERT(exp)   ASSERT(exp)
#define NT_VERIFY(exp)   ((exp) ? TRUE : (ASSERT(exp), FALSE))
#define PAGED_CODE_LOCKED() ((void)0)

/* --- IRQL and spin locks ------------------------------------------------------------- */
KIRQL KeGetCurrentIrql(void);
VOID KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql);
VOID KeLowerIrql(KIRQL NewIrql);
KIRQL KeRaiseIrqlToDpcLevel(void);
VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
VOID KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql);
VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql);
VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
VOID IoAcquireCancelSpinLock(PKIRQL Irql);
VOID IoReleaseCancelSpinLock(KIRQL Irql);

/* --- Time ---------------------------------------------------------------------------- */
VOID KeStallExecutionProcessor(ULONG MicroSeconds);
LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
ULONGLONG KeQueryInterruptTime(void);

/* --- Memory -------------------------------------------------------------------------- */
PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
VOID ExFreePool(PVOID P);
VOID ExFreePoolWithTag(PVOID P, ULONG Tag);

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                   BOOLEAN ChargeQuota, PIRP Irp);
VOID IoFreeMdl(PMDL Mdl);
VOID IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length);
VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList);
VOID MmProbeAndLockPages(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                         LOCK_OPERATION Operation);
VOID MmUnlockPages(PMDL MemoryDescriptorList);
PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                   ULONG BugCheckOnFailure, ULONG Priority);
VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList);
SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length);
PHYSICAL_ADDRESS MmGetPhysicalAddress(PVOID BaseAddress);
BOOLEAN MmIsAddressValid(PVOID VirtualAddress);
PVOID MmAllocateContiguousMemory(SIZE_T NumberOfBytes,
                                 PHYSICAL_ADDRESS HighestAcceptableAddress);
PVOID MmAllocateContiguousMemorySpecifyCache(SIZE_T NumberOfBytes,
                                             PHYSICAL_ADDRESS LowestAcceptableAddress,
                                             PHYSICAL_ADDRESS HighestAcceptableAddress,
                                             PHYSICAL_ADDRESS BoundaryAddressMultiple,
                                             MEMORY_CACHING_TYPE CacheType);
VOID MmFreeContiguousMemory(PVOID BaseAddress);
PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
                   MEMORY_CACHING_TYPE CacheType);
VOID MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes);

/* Flushes the MDL's range from the caches of all processors: ReadOperation TRUE before a
 * transfer into memory (device -> memory), FALSE before one out of it; DmaOperation TRUE for
 * DMA, FALSE for PIO.  This is a real routine here, never the empty macro x86/x64 WDKs
 * define it as: dmacoh simulates non-coherent caches, where the flush matters. */
VOID KeFlushIoBuffers(PMDL Mdl, BOOLEAN ReadOperation, BOOLEAN DmaOperation);

/* --- Devices, drivers and IRPs ------------------------------------------------------- */
NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                        PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                        ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                        PDEVICE_OBJECT *DeviceObject);
VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject);
PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                           PDEVICE_OBJECT TargetDevice);
VOID IoDetachDevice(PDEVICE_OBJECT TargetDevice);
NTSTATUS IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName);
NTSTATUS IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName);
NTSTATUS IoRegisterDeviceInterface(PDEVICE_OBJECT PhysicalDeviceObject,
                                   const GUID *InterfaceClassGuid,
                                   PUNICODE_STRING ReferenceString,
                                   PUNICODE_STRING SymbolicLinkName);
NTSTATUS IoSetDeviceInterfaceState(PUNICODE_STRING SymbolicLinkName, BOOLEAN Enable);

typedef enum _DEVICE_REGISTRY_PROPERTY {
	DevicePropertyDeviceDescription = 0,
	DevicePropertyHardwareID,
	DevicePropertyCompatibleIDs,
	DevicePropertyBootConfiguration,
	DevicePropertyBootConfigurationTranslated,
	DevicePropertyClassName,
	DevicePropertyClassGuid,
	DevicePropertyDriverKeyName,
	DevicePropertyManufacturer,
	DevicePropertyFriendlyName,
	DevicePropertyLocationInformation,
	DevicePropertyPhysicalDeviceObjectName,
	DevicePropertyBusTypeGuid,
	DevicePropertyLegacyBusType,
	DevicePropertyBusNumber,
	DevicePropertyEnumeratorName,
	DevicePropertyAddress,
	DevicePropertyUINumber,
	DevicePropertyInstallState,
	DevicePropertyRemovalPolicy,
	DevicePropertyResourceRequirements,
	DevicePropertyAllocatedResources,
	DevicePropertyContainerID
} DEVICE_REGISTRY_PROPERTY;

NTSTATUS IoGetDeviceProperty(PDEVICE_OBJECT DeviceObject, DEVICE_REGISTRY_PROPERTY DeviceProperty,
                             ULONG BufferLength, PVOID PropertyBuffer, PULONG ResultLength);

/* The legacy hardware tree (\Registry\Machine\Hardware\Description), as NT 4 drivers for ISA
 * devices searched it: IoQueryDeviceDescription calls back once per bus, controller or
 * peripheral that matches, with each one's identifier, configuration data (a
 * CM_FULL_RESOURCE_DESCRIPTOR) and component information. */
typedef enum _CONFIGURATION_TYPE {
	ArcSystem, CentralProcessor, FloatingPointProcessor, PrimaryIcache, PrimaryDcache,
	SecondaryIcache, SecondaryDcache, SecondaryCache, EisaAdapter, TcAdapter, ScsiAdapter,
	DtiAdapter, MultiFunctionAdapter, DiskController, TapeController, CdromController,
	WormController, SerialController, NetworkController, DisplayController, ParallelController,
	PointerController, KeyboardController, AudioController, OtherController, DiskPeripheral,
	FloppyDiskPeripheral, TapePeripheral, ModemPeripheral, MonitorPeripheral,
	PrinterPeripheral, PointerPeripheral, KeyboardPeripheral, TerminalPeripheral,
	OtherPeripheral, LinePeripheral, NetworkPeripheral, SystemMemory, DockingInformation,
	RealModeIrqRoutingTable, RealModePCIEnumeration, MaximumType
} CONFIGURATION_TYPE, *PCONFIGURATION_TYPE;
typedef struct _KEY_VALUE_FULL_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;       /* REG_SZ, REG_BINARY, REG_FULL_RESOURCE_DESCRIPTOR */
	ULONG DataOffset; /* from the start of this structure */
	ULONG DataLength;
	ULONG NameLength; /* bytes */
	WCHAR Name[1];
} KEY_VALUE_FULL_INFORMATION, *PKEY_VALUE_FULL_INFORMATION;
#define REG_SZ                        1
#define REG_BINARY                    3
#define REG_FULL_RESOURCE_DESCRIPTOR  9
typedef enum _IO_QUERY_DEVICE_DATA_FORMAT {
	IoQueryDeviceIdentifier = 0,
	IoQueryDeviceConfigurationData,
	IoQueryDeviceComponentInformation,
	IoQueryDeviceMaxData
} IO_QUERY_DEVICE_DATA_FORMAT, *PIO_QUERY_DEVICE_DATA_FORMAT;
typedef NTSTATUS IO_QUERY_DEVICE_ROUTINE(PVOID Context, PUNICODE_STRING PathName,
	INTERFACE_TYPE BusType, ULONG BusNumber, PKEY_VALUE_FULL_INFORMATION *BusInformation,
	CONFIGURATION_TYPE ControllerType, ULONG ControllerNumber,
	PKEY_VALUE_FULL_INFORMATION *ControllerInformation, CONFIGURATION_TYPE PeripheralType,
	ULONG PeripheralNumber, PKEY_VALUE_FULL_INFORMATION *PeripheralInformation);
typedef IO_QUERY_DEVICE_ROUTINE *PIO_QUERY_DEVICE_ROUTINE;
NTSTATUS IoQueryDeviceDescription(PINTERFACE_TYPE BusType, PULONG BusNumber,
	PCONFIGURATION_TYPE ControllerType, PULONG ControllerNumber,
	PCONFIGURATION_TYPE PeripheralType, PULONG PeripheralNumber,
	PIO_QUERY_DEVICE_ROUTINE CalloutRoutine, PVOID Context);

NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
#define IoCallDriver(a, b) IofCallDriver(a, b)
VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
#define IoCompleteRequest(a, b) IofCompleteRequest(a, b)
PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);
VOID IoFreeIrp(PIRP Irp);
BOOLEAN IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp);
VOID IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key,
                   PDRIVER_CANCEL CancelFunction);
VOID IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable);
VOID IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key);
VOID PoStartNextPowerIrp(PIRP Irp);
NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp);
POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
                            POWER_STATE State);
VOID ObfReferenceObject(PVOID Object);
VOID ObfDereferenceObject(PVOID Object);
#define ObReferenceObject(Object)    ObfReferenceObject(Object)
#define ObDereferenceObject(Object)  ObfDereferenceObject(Object)

VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
VOID RtlFreeUnicodeString(PUNICODE_STRING UnicodeString);

/* --- Interrupts and DPCs ------------------------------------------------------------- */
NTSTATUS IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                            PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                            KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                            BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                            BOOLEAN FloatingSave);
VOID IoDisconnectInterrupt(PKINTERRUPT InterruptObject);
BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                               PVOID SynchronizeContext);

VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc);
VOID KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance);

/* Processors (one group). */
typedef struct _PROCESSOR_NUMBER {
	USHORT Group;
	UCHAR  Number;
	UCHAR  Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
#define ALL_PROCESSOR_GROUPS 0xffff
ULONG KeGetCurrentProcessorNumber(void);
ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors);
ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber);
ULONG KeGetRecommendedSharedDataAlignment(VOID);
KAFFINITY KeQueryActiveProcessors(void);
VOID KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number);
NTSTATUS KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber);
/* x64 WDK: extern NTSYSAPI volatile CCHAR KeNumberProcessors (the processor count). */
extern volatile CCHAR KeNumberProcessors;
VOID KeSetSystemAffinityThread(KAFFINITY Affinity);
KAFFINITY KeSetSystemAffinityThreadEx(KAFFINITY Affinity);
VOID KeRevertToUserAffinityThread(void);
VOID KeRevertToUserAffinityThreadEx(KAFFINITY Affinity);

/* Device queues (DEVICE_OBJECT.DeviceQueue is the one IoStartPacket uses). */
VOID KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
BOOLEAN KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);
BOOLEAN KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                 PKDEVICE_QUEUE_ENTRY DeviceQueueEntry, ULONG SortKey);
PKDEVICE_QUEUE_ENTRY KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue);
PKDEVICE_QUEUE_ENTRY KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey);
BOOLEAN KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue,
                                 PKDEVICE_QUEUE_ENTRY DeviceQueueEntry);

/* Initializes DeviceObject->Dpc so that IoRequestDpc runs DpcRoutine(Dpc, DeviceObject, Irp,
 * Context).  A routine (not the WDK's cast over KeInitializeDpc): an IO_DPC_ROUTINE is not a
 * KDEFERRED_ROUTINE, so the kernel calls it through its own type. */
VOID IoInitializeDpcRequest(PDEVICE_OBJECT DeviceObject, PIO_DPC_ROUTINE DpcRoutine);

// clang-format on

/* Queues DeviceObject->Dpc, typically from the ISR. */
static inline VOID IoRequestDpc(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	KeInsertQueueDpc(&DeviceObject->Dpc, Irp, Context);
}

// clang-format off

/* --- Port and register access -------------------------------------------------------- */
UCHAR  READ_PORT_UCHAR(PUCHAR Port);
USHORT READ_PORT_USHORT(PUSHORT Port);
ULONG  READ_PORT_ULONG(PULONG Port);
VOID   WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value);
VOID   WRITE_PORT_USHORT(PUSHORT Port, USHORT Value);
VOID   WRITE_PORT_ULONG(PULONG Port, ULONG Value);
VOID   READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
VOID   READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
VOID   READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);
VOID   WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count);
VOID   WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count);
VOID   WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count);

UCHAR     READ_REGISTER_UCHAR(volatile UCHAR *Register);
USHORT    READ_REGISTER_USHORT(volatile USHORT *Register);
ULONG     READ_REGISTER_ULONG(volatile ULONG *Register);
ULONG64   READ_REGISTER_ULONG64(volatile ULONG64 *Register);
VOID      WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value);
VOID      WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value);
VOID      WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value);
VOID      WRITE_REGISTER_ULONG64(volatile ULONG64 *Register, ULONG64 Value);
VOID      READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count);
VOID      READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count);
VOID      READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count);
VOID      READ_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count);
VOID      WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count);
VOID      WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count);
VOID      WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count);
VOID      WRITE_REGISTER_BUFFER_ULONG64(volatile ULONG64 *Register, PULONG64 Buffer, ULONG Count);

/* --- DMA ----------------------------------------------------------------------------- */

/* NULL on failure (also when DeviceDescription->Version is not supported).  On success
 * *NumberOfMapRegisters is the most map registers one transfer may use. */
PDMA_ADAPTER IoGetDmaAdapter(PDEVICE_OBJECT PhysicalDeviceObject,
                             PDEVICE_DESCRIPTION DeviceDescription,
                             PULONG NumberOfMapRegisters);

/* The legacy (pre-WDM) names of the same operations, on the same adapter object. */
PADAPTER_OBJECT HalGetAdapter(PDEVICE_DESCRIPTION DeviceDescription, PULONG NumberOfMapRegisters);
PHYSICAL_ADDRESS IoMapTransfer(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                               PVOID CurrentVa, PULONG Length, BOOLEAN WriteToDevice);
BOOLEAN IoFlushAdapterBuffers(PADAPTER_OBJECT AdapterObject, PMDL Mdl, PVOID MapRegisterBase,
                              PVOID CurrentVa, ULONG Length, BOOLEAN WriteToDevice);
NTSTATUS IoAllocateAdapterChannel(PADAPTER_OBJECT AdapterObject, PDEVICE_OBJECT DeviceObject,
                                  ULONG NumberOfMapRegisters, PDRIVER_CONTROL ExecutionRoutine,
                                  PVOID Context);
VOID IoFreeAdapterChannel(PADAPTER_OBJECT AdapterObject);
VOID IoFreeMapRegisters(PADAPTER_OBJECT AdapterObject, PVOID MapRegisterBase,
                        ULONG NumberOfMapRegisters);
PVOID HalAllocateCommonBuffer(PADAPTER_OBJECT AdapterObject, ULONG Length,
                              PPHYSICAL_ADDRESS LogicalAddress, BOOLEAN CacheEnabled);
VOID HalFreeCommonBuffer(PADAPTER_OBJECT AdapterObject, ULONG Length,
                         PHYSICAL_ADDRESS LogicalAddress, PVOID VirtualAddress,
                         BOOLEAN CacheEnabled);
ULONG HalReadDmaCounter(PADAPTER_OBJECT AdapterObject);
BOOLEAN HalTranslateBusAddress(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                               PHYSICAL_ADDRESS BusAddress, PULONG AddressSpace,
                               PPHYSICAL_ADDRESS TranslatedAddress);
ULONG HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                            ULONG BusInterruptLevel, ULONG BusInterruptVector, PKIRQL Irql,
                            PKAFFINITY Affinity);

/* Legacy (NT4-style) hardware discovery: bus data and resource reports (ntddk.h). */
typedef enum _BUS_DATA_TYPE {
	ConfigurationSpaceUndefined = -1,
	Cmos,
	EisaConfiguration,
	Pos,
	CbusConfiguration,
	PCIConfiguration,
	VMEConfiguration,
	NuBusConfiguration,
	PCMCIAConfiguration,
	MPIConfiguration,
	MPSAConfiguration,
	PNPISAConfiguration,
	SgiInternalConfiguration,
	MaximumBusDataType
} BUS_DATA_TYPE,
    *PBUS_DATA_TYPE;
ULONG HalGetBusData(BUS_DATA_TYPE BusDataType, ULONG BusNumber, ULONG SlotNumber, PVOID Buffer,
                    ULONG Length);
ULONG HalGetBusDataByOffset(BUS_DATA_TYPE BusDataType, ULONG BusNumber, ULONG SlotNumber,
                            PVOID Buffer, ULONG Offset, ULONG Length);
NTSTATUS IoReportResourceUsage(PUNICODE_STRING DriverClassName, PDRIVER_OBJECT DriverObject,
                               PCM_RESOURCE_LIST DriverList, ULONG DriverListSize,
                               PDEVICE_OBJECT DeviceObject, PCM_RESOURCE_LIST DeviceList,
                               ULONG DeviceListSize, BOOLEAN OverrideConflict,
                               PBOOLEAN ConflictDetected);
NTSTATUS IoReportDetectedDevice(PDRIVER_OBJECT DriverObject, INTERFACE_TYPE LegacyBusType,
                                ULONG BusNumber, ULONG SlotNumber, PCM_RESOURCE_LIST ResourceList,
                                PIO_RESOURCE_REQUIREMENTS_LIST ResourceRequirements,
                                BOOLEAN ResourceAssigned,
                                PDEVICE_OBJECT *DeviceObject);

/* --- Waiting, timers, threads, work items -------------------------------------------- */
VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
LONG KeResetEvent(PRKEVENT Event);
VOID KeClearEvent(PRKEVENT Event);
LONG KeReadStateEvent(PRKEVENT Event);
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray);
VOID KeInitializeTimer(PKTIMER Timer);
VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type);
BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc);
BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc);
BOOLEAN KeCancelTimer(PKTIMER Timer);
BOOLEAN KeReadStateTimer(PKTIMER Timer);
VOID KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                        BOOLEAN Wait);
VOID KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval);
NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                              PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                              PVOID StartContext);
NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus);
NTSTATUS ZwClose(HANDLE Handle);
typedef struct _OBJECT_TYPE *POBJECT_TYPE; /* opaque */
typedef struct _OBJECT_HANDLE_INFORMATION {
	ULONG       HandleAttributes;
	ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;
extern POBJECT_TYPE *PsThreadType;
NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation);
PKTHREAD KeGetCurrentThread(void);
PETHREAD PsGetCurrentThread(void);
HANDLE PsGetCurrentThreadId(void);
KPRIORITY KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority);
KPRIORITY KeQueryPriorityThread(PKTHREAD Thread);
NTSTATUS IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp,
                         PIO_CSQ_REMOVE_IRP CsqRemoveIrp, PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                         PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock, PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                         PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
NTSTATUS IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                           PIO_CSQ_REMOVE_IRP CsqRemoveIrp, PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                           PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                           PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                           PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
VOID IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context);
NTSTATUS IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context,
                          PVOID InsertContext);
PIRP IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext);
PIRP IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context);
BOOLEAN IoCancelIrp(PIRP Irp);
PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject);
VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                     WORK_QUEUE_TYPE QueueType, PVOID Context);
VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem);

// clang-format on

/* --- Interlocked operations (sequentially consistent, like the x64 LOCK instructions) -- */
static inline LONG InterlockedIncrement(LONG volatile *Addend)
{
	return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

static inline LONG InterlockedDecrement(LONG volatile *Addend)
{
	return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

/* Returns the previous value. */
static inline LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
	return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

/* Returns the previous value. */
static inline LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
	return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

/* Stores ExChange if *Destination == Comperand; returns the previous value either way. */
static inline LONG InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange,
                                              LONG Comperand)
{
	LONG Expected = Comperand;
	__atomic_compare_exchange_n(Destination, &Expected, ExChange, 0, __ATOMIC_SEQ_CST,
	                            __ATOMIC_SEQ_CST);
	return Expected;
}

/* Returns the previous value. */
static inline LONG InterlockedOr(LONG volatile *Destination, LONG Value)
{
	return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}

/* Returns the previous value. */
static inline LONG InterlockedAnd(LONG volatile *Destination, LONG Value)
{
	return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}

/* Returns the previous value. */
static inline LONG InterlockedXor(LONG volatile *Destination, LONG Value)
{
	return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}

static inline LONG64 InterlockedIncrement64(LONG64 volatile *Addend)
{
	return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

static inline LONG64 InterlockedDecrement64(LONG64 volatile *Addend)
{
	return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

static inline LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
	return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

static inline PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
	return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

static inline PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID ExChange,
                                                      PVOID Comperand)
{
	PVOID Expected = Comperand;
	__atomic_compare_exchange_n(Destination, &Expected, ExChange, 0, __ATOMIC_SEQ_CST,
	                            __ATOMIC_SEQ_CST);
	return Expected;
}

static inline VOID KeMemoryBarrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#define KeMemoryBarrierWithoutFence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define MemoryBarrier() KeMemoryBarrier()
#define _ReadWriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* ======================================================================================
 * dmacoh-specific: nothing a WDK driver uses
 * ==================================================================================== */
/* (intentionally empty: dmacoh's kernel keeps its private state in its own headers) */

#include "dmacoh/wdm_plumbing.h" /* remove locks, IoTimer, error log, registry, ... */

#ifdef __cplusplus
}
#pragma GCC diagnostic pop
#endif

#endif /* DMACOH_WDM_H */
