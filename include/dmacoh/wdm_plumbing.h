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

/* --- Volume parameter blocks: IoCreateDevice gives one to disk, CD-ROM, tape and virtual-disk
 * devices (DEVICE_OBJECT.Vpb). */
#define MAXIMUM_VOLUME_LABEL_LENGTH (32 * sizeof(WCHAR))
struct _VPB {
	CSHORT Type;                         /* 0  IO_TYPE_VPB */
	CSHORT Size;                         /* 2  */
	USHORT Flags;                        /* 4  */
	USHORT VolumeLabelLength;            /* 6  bytes */
	struct _DEVICE_OBJECT *DeviceObject; /* 8  the file system's volume device */
	struct _DEVICE_OBJECT *RealDevice;   /* 16 */
	ULONG SerialNumber;                  /* 24 */
	ULONG ReferenceCount;                /* 28 */
	WCHAR VolumeLabel[MAXIMUM_VOLUME_LABEL_LENGTH / sizeof(WCHAR)]; /* 32 */
};                                                                      /* 96 */
#define IO_TYPE_VPB 0x0000000a
#define VPB_MOUNTED 0x00000001
#define VPB_LOCKED 0x00000002
#define VPB_PERSISTENT 0x00000004
#define VPB_REMOVE_PENDING 0x00000008
#define VPB_RAW_MOUNT 0x00000010
#define VPB_DIRECT_WRITES_ALLOWED 0x00000020

/* --- Device stacks, PnP and power --------------------------------------------------------- */
NTSTATUS IoAttachDeviceToDeviceStackSafe(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT TargetDevice,
                                         PDEVICE_OBJECT *AttachedToDeviceObject);
VOID IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type);
VOID IoSetHardErrorOrVerifyDevice(PIRP Irp, PDEVICE_OBJECT DeviceObject);
/* Macros in the WDK as well: an ARC name is a symbolic link. */
#define IoAssignArcName(ArcName, DeviceName) IoCreateSymbolicLink((ArcName), (DeviceName))
#define IoDeassignArcName(ArcName) IoDeleteSymbolicLink((ArcName))

/* --- IRPs a driver builds for another driver ------------------------------------------ */
PIRP IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject,
                                   PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
                                   ULONG OutputBufferLength, BOOLEAN InternalDeviceIoControl,
                                   PKEVENT Event, PIO_STATUS_BLOCK IoStatusBlock);
PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                  ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                  PIO_STATUS_BLOCK IoStatusBlock);
PIRP IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                   ULONG Length, PLARGE_INTEGER StartingOffset,
                                   PIO_STATUS_BLOCK IoStatusBlock);
NTSTATUS IoGetDeviceObjectPointer(PUNICODE_STRING ObjectName, ACCESS_MASK DesiredAccess,
                                  PFILE_OBJECT *FileObject, PDEVICE_OBJECT *DeviceObject);

typedef VOID REQUEST_POWER_COMPLETE(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                    POWER_STATE PowerState, PVOID Context,
                                    PIO_STATUS_BLOCK IoStatus);
typedef REQUEST_POWER_COMPLETE *PREQUEST_POWER_COMPLETE;
NTSTATUS PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE PowerState,
                           PREQUEST_POWER_COMPLETE CompletionFunction, PVOID Context, PIRP *Irp);

/* Create dispositions and an access right drivers test for. */
#ifndef FILE_OPENED
#define FILE_SUPERSEDED 0x00000000
#define FILE_OPENED 0x00000001
#define FILE_CREATED 0x00000002
#define FILE_OVERWRITTEN 0x00000003
#define FILE_EXISTS 0x00000004
#define FILE_DOES_NOT_EXIST 0x00000005
#endif
#ifndef FILE_READ_ATTRIBUTES
#define FILE_READ_ATTRIBUTES 0x0080
#define FILE_WRITE_ATTRIBUTES 0x0100
#endif

/* --- DPCs and interrupts ---------------------------------------------------------------- */
/* IoConnectInterruptEx.  CONNECT_MESSAGE_BASED connects every message of a device that was
 * given MSI (its start resources carry CM_RESOURCE_INTERRUPT_MESSAGE) and hands back the
 * IO_INTERRUPT_MESSAGE_INFO table; for a device without messages it connects
 * FallBackServiceRoutine to the line and sets Version to CONNECT_LINE_BASED, as Windows does. */
#define CONNECT_FULLY_SPECIFIED 0x1
#define CONNECT_LINE_BASED 0x2
#define CONNECT_MESSAGE_BASED 0x3
#define CONNECT_FULLY_SPECIFIED_GROUP 0x4
#define CONNECT_MESSAGE_BASED_PASSIVE 0x5
#define CONNECT_CURRENT_VERSION 0x5

#define CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN ((ULONG)-2)

typedef enum _KINTERRUPT_POLARITY {
	InterruptPolarityUnknown = 0,
	InterruptActiveHigh = 1,
	InterruptRisingEdge = 1,
	InterruptActiveLow = 2,
	InterruptFallingEdge = 2,
	InterruptActiveBoth = 3,
	InterruptActiveBothTriggerLow = 3,
	InterruptActiveBothTriggerHigh = 4
} KINTERRUPT_POLARITY,
    *PKINTERRUPT_POLARITY;

typedef struct _IO_INTERRUPT_MESSAGE_INFO_ENTRY {
	PHYSICAL_ADDRESS MessageAddress;                              /* 0  */
	KAFFINITY TargetProcessorSet;                                 /* 8  */
	PKINTERRUPT InterruptObject;                                  /* 16 */
	ULONG MessageData;                                            /* 24 */
	ULONG Vector;                                                 /* 28 */
	KIRQL Irql;                                                   /* 32 */
	KINTERRUPT_MODE Mode;                                         /* 36 */
	KINTERRUPT_POLARITY Polarity;                                 /* 40 */
} IO_INTERRUPT_MESSAGE_INFO_ENTRY, *PIO_INTERRUPT_MESSAGE_INFO_ENTRY; /* 48 */

typedef struct _IO_INTERRUPT_MESSAGE_INFO {
	KIRQL UnifiedIrql;                                /* 0 */
	ULONG MessageCount;                               /* 4 */
	IO_INTERRUPT_MESSAGE_INFO_ENTRY MessageInfo[1];   /* 8 */
} IO_INTERRUPT_MESSAGE_INFO, *PIO_INTERRUPT_MESSAGE_INFO; /* 56 */
typedef BOOLEAN KMESSAGE_SERVICE_ROUTINE(struct _KINTERRUPT *Interrupt, PVOID ServiceContext,
                                         ULONG MessageID);
typedef KMESSAGE_SERVICE_ROUTINE *PKMESSAGE_SERVICE_ROUTINE;

typedef struct _IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
	PDEVICE_OBJECT PhysicalDeviceObject; /* 0  */
	PKINTERRUPT *InterruptObject;        /* 8  */
	PKSERVICE_ROUTINE ServiceRoutine;    /* 16 */
	PVOID ServiceContext;                /* 24 */
	PKSPIN_LOCK SpinLock;                /* 32 */
	KIRQL SynchronizeIrql;               /* 40 */
	BOOLEAN FloatingSave;                /* 41 */
	BOOLEAN ShareVector;                 /* 42 */
	ULONG Vector;                        /* 44 */
	KIRQL Irql;                          /* 48 */
	KINTERRUPT_MODE InterruptMode;       /* 52 */
	KAFFINITY ProcessorEnableMask;       /* 56 */
	USHORT Group;                        /* 64 */
} IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    *PIO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS; /* 72 */

typedef struct _IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS {
	PDEVICE_OBJECT PhysicalDeviceObject; /* 0  */
	PKINTERRUPT *InterruptObject;        /* 8  */
	PKSERVICE_ROUTINE ServiceRoutine;    /* 16 */
	PVOID ServiceContext;                /* 24 */
	PKSPIN_LOCK SpinLock;                /* 32 */
	KIRQL SynchronizeIrql;               /* 40 */
	BOOLEAN FloatingSave;                /* 41 */
} IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS, *PIO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS;

typedef struct _IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS {
	PDEVICE_OBJECT PhysicalDeviceObject; /* 0 */
	union {
		PVOID *Generic;
		PIO_INTERRUPT_MESSAGE_INFO *InterruptMessageTable;
		PKINTERRUPT *InterruptObject;
	} ConnectionContext;                             /* 8  */
	PKMESSAGE_SERVICE_ROUTINE MessageServiceRoutine; /* 16 */
	PVOID ServiceContext;                            /* 24 */
	PKSPIN_LOCK SpinLock;                            /* 32 */
	KIRQL SynchronizeIrql;                           /* 40 */
	BOOLEAN FloatingSave;                            /* 41 */
	PKSERVICE_ROUTINE FallBackServiceRoutine;        /* 48 */
} IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS, *PIO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS;

typedef struct _IO_CONNECT_INTERRUPT_PARAMETERS {
	ULONG Version; /* 0 */
	union {
		IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS FullySpecified;
		IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS LineBased;
		IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS MessageBased;
	};                                                            /* 8 */
} IO_CONNECT_INTERRUPT_PARAMETERS, *PIO_CONNECT_INTERRUPT_PARAMETERS; /* 80 */

typedef struct _IO_DISCONNECT_INTERRUPT_PARAMETERS {
	ULONG Version;
	union {
		PVOID Generic;
		PKINTERRUPT InterruptObject;
		PIO_INTERRUPT_MESSAGE_INFO InterruptMessageTable;
	} ConnectionContext;
} IO_DISCONNECT_INTERRUPT_PARAMETERS, *PIO_DISCONNECT_INTERRUPT_PARAMETERS;

NTSTATUS IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters);
VOID IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters);
KIRQL KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt);
VOID KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql);

/* A threaded DPC runs at DISPATCH_LEVEL here, as Windows runs it when threaded DPCs are off:
 * the stricter of its two documented environments. */
VOID KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext);
VOID KeFlushQueuedDpcs(void);

/* --- Memory --------------------------------------------------------------------------- */
PVOID MmAllocateNonCachedMemory(SIZE_T NumberOfBytes);
VOID MmFreeNonCachedMemory(PVOID BaseAddress, SIZE_T NumberOfBytes);
#ifndef PAGE_NOACCESS
#define PAGE_NOACCESS 0x01
#define PAGE_READONLY 0x02
#define PAGE_READWRITE 0x04
#define PAGE_WRITECOPY 0x08
#define PAGE_EXECUTE 0x10
#define PAGE_EXECUTE_READ 0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_GUARD 0x100
#define PAGE_NOCACHE 0x200
#define PAGE_WRITECOMBINE 0x400
#endif
PVOID MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG Protect);

/* Pages for an MDL (the MDL is pool: ExFreePool it after MmFreePagesFromMdl). */
#define MM_DONT_ZERO_ALLOCATION 0x00000001
#define MM_ALLOCATE_FROM_LOCAL_NODE_ONLY 0x00000002
#define MM_ALLOCATE_FULLY_REQUIRED 0x00000004
#define MM_ALLOCATE_NO_WAIT 0x00000008
#define MM_ALLOCATE_PREFER_CONTIGUOUS 0x00000010
#define MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS 0x00000020
#define MM_ALLOCATE_FAST_LARGE_PAGES 0x00000040
#define MM_ALLOCATE_TRIM_IF_NECESSARY 0x00000080
#define MM_ALLOCATE_AND_HOT_REMOVE 0x00000100
PMDL MmAllocatePagesForMdl(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                           PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes);
PMDL MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                             PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes,
                             MEMORY_CACHING_TYPE CacheType, ULONG Flags);
VOID MmFreePagesFromMdl(PMDL MemoryDescriptorList);
/* The WDK's x64 definition: the PC's DMA needs no alignment beyond a byte. */
#define HalGetDmaAlignmentRequirement() 1L
/* The deprecated HAL export (an inline over GetDmaAlignment in old DDKs). */
ULONG HalGetDmaAlignment(PDMA_ADAPTER DmaAdapter);

#ifdef __cplusplus
}
#endif

#endif /* DMACOH_WDM_PLUMBING_H */
