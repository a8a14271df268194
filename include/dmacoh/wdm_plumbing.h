/* WDM plumbing real drivers call around their DMA path: remove locks, the one-second IoTimer,
 * the error log, fast mutexes, critical regions, and small I/O-manager services.  Names, values
 * and x64 layouts as Microsoft's WDK (free build: IO_REMOVE_LOCK without its debug block);
 * checked in tests/test_wdm_layout2.c.  Included from the end of wdm.h (with the registry,
 * wdm_registry.h).  Not modelled: remove-lock tracking blocks (IoInitializeRemoveLock's
 * MaxLockedMinutes and HighWatermark are kept but not enforced), the event log service (entries
 * go to the run's trace and dc_sys_errlog), guarded mutexes' special-APC semantics. */
#ifndef DMACOH_WDM_PLUMBING_H
#define DMACOH_WDM_PLUMBING_H

#include "dmacoh/wdm.h"
#include "dmacoh/wdm_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Remove locks ---------------------------------------------------------------------- */
typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
	BOOLEAN Removed;       /* 0 */
	BOOLEAN Reserved[3];   /* 1 */
	volatile LONG IoCount; /* 4 */
	KEVENT RemoveEvent;    /* 8 */
} IO_REMOVE_LOCK_COMMON_BLOCK; /* 32 */

typedef struct _IO_REMOVE_LOCK {
	IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK; /* 32 (free build) */

VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                              ULONG HighWatermark, ULONG RemlockSize);
NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                               ULONG RemlockSize);
VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);
VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize);

#define IoInitializeRemoveLock(Lock, Tag, Maxmin, HighWater) \
	IoInitializeRemoveLockEx(Lock, Tag, Maxmin, HighWater, sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
	IoAcquireRemoveLockEx(RemoveLock, Tag, __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) \
	IoReleaseRemoveLockEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
	IoReleaseRemoveLockAndWaitEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))

/* --- The I/O timer: the routine runs once a simulated second at DISPATCH_LEVEL ------------ */
NTSTATUS IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine,
                           PVOID Context);
VOID IoStartTimer(PDEVICE_OBJECT DeviceObject);
VOID IoStopTimer(PDEVICE_OBJECT DeviceObject);

/* --- The error log ----------------------------------------------------------------------- */
typedef struct _IO_ERROR_LOG_PACKET {
	UCHAR MajorFunctionCode;              /* 0  */
	UCHAR RetryCount;                     /* 1  */
	USHORT DumpDataSize;                  /* 2  */
	USHORT NumberOfStrings;               /* 4  */
	USHORT StringOffset;                  /* 6  */
	USHORT EventCategory;                 /* 8  */
	NTSTATUS ErrorCode;                   /* 12 */
	ULONG UniqueErrorValue;               /* 16 */
	NTSTATUS FinalStatus;                 /* 20 */
	ULONG SequenceNumber;                 /* 24 */
	ULONG IoControlCode;                  /* 28 */
	LARGE_INTEGER DeviceOffset;           /* 32 */
	ULONG DumpData[1];                    /* 40 */
} IO_ERROR_LOG_PACKET, *PIO_ERROR_LOG_PACKET; /* 48 */

#define ERROR_LOG_LIMIT_SIZE (256 - 16)
#define ERROR_LOG_MAXIMUM_SIZE ERROR_LOG_LIMIT_SIZE

PVOID IoAllocateErrorLogEntry(PVOID IoObject, UCHAR EntrySize);
VOID IoWriteErrorLogEntry(PVOID ElEntry);
VOID IoFreeErrorLogEntry(PVOID ElEntry);

/* --- Fast mutexes and critical regions --------------------------------------------------- */
typedef struct _FAST_MUTEX {
	volatile LONG Count;                                  /* 0  */
	PVOID Owner;                                          /* 8  */
	ULONG Contention;                                     /* 16 */
	KEVENT Event;                                         /* 24 */
	ULONG OldIrql;                                        /* 48 */
} FAST_MUTEX, *PFAST_MUTEX, KGUARDED_MUTEX, *PKGUARDED_MUTEX; /* 56 */

VOID ExInitializeFastMutex(PFAST_MUTEX FastMutex);
VOID ExAcquireFastMutex(PFAST_MUTEX FastMutex);
VOID ExReleaseFastMutex(PFAST_MUTEX FastMutex);
BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);
VOID ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex);
VOID ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex);
VOID KeEnterCriticalRegion(void);
VOID KeLeaveCriticalRegion(void);
BOOLEAN KeAreApcsDisabled(void);

/* --- Small services ---------------------------------------------------------------------- */
typedef struct _CONFIGURATION_INFORMATION {
	ULONG DiskCount;                                  /* 0  */
	ULONG FloppyCount;                                /* 4  */
	ULONG CdRomCount;                                 /* 8  */
	ULONG TapeCount;                                  /* 12 */
	ULONG ScsiPortCount;                              /* 16 */
	ULONG SerialCount;                                /* 20 */
	ULONG ParallelCount;                              /* 24 */
	BOOLEAN AtDiskPrimaryAddressClaimed;              /* 28 */
	BOOLEAN AtDiskSecondaryAddressClaimed;            /* 29 */
	ULONG Version;                                    /* 32 */
	ULONG MediumChangerCount;                         /* 36 */
} CONFIGURATION_INFORMATION, *PCONFIGURATION_INFORMATION; /* 40 */

PCONFIGURATION_INFORMATION IoGetConfigurationInformation(void);
/* A macro in the WDK too: the errors a user caused (no media, write protection, ...). */
#define IoIsErrorUserInduced(Status)                                                           \
	((BOOLEAN)(((Status) == STATUS_DEVICE_NOT_READY) || ((Status) == STATUS_IO_TIMEOUT) || \
	           ((Status) == STATUS_MEDIA_WRITE_PROTECTED) ||                               \
	           ((Status) == STATUS_NO_MEDIA_IN_DEVICE) ||                                  \
	           ((Status) == STATUS_UNRECOGNIZED_MEDIA) ||                                  \
	           ((Status) == STATUS_VERIFY_REQUIRED) || ((Status) == STATUS_WRONG_VOLUME)))
VOID KeFlushWriteBuffer(void);

#ifdef __cplusplus
}
#endif

#endif /* DMACOH_WDM_PLUMBING_H */
