/* The one table through which the machine and the kernel layer tell observers (the sanitizer,
 * the tracer) what happened, the way Linux calls debug_dma_*() at the end of each DMA API
 * entry point.  Observers only watch: a run with observers leaves the machine in the same state
 * as a run without.  Every member may be NULL.  Addresses: va is a host address in one of the
 * windows, pa a simulated physical address; `source` names the DMA engine (a small integer the
 * engine registered, see dc_machine_dma_source). */
#ifndef DMACOH_OBSERVER_H
#define DMACOH_OBSERVER_H

#include "dmacoh/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Kernel events ---------------------------------------------------------------------------
 * The kernel layer (src/kernel) tells observers every DMA-relevant call a driver made, after the
 * call did its work, with the facts a checker needs to judge it: the arguments exactly as the
 * driver passed them, what the kernel did, and the byte ranges involved.  The kernel itself never
 * judges; it behaves as Windows does (NULL, FALSE, an NTSTATUS) and reports.  Which fields mean
 * something depends on the type (listed per type); the others are 0/NULL. */
enum dc_kev_type {
	DC_KEV_NONE,
	/* IoGetDmaAdapter / HalGetAdapter.  adapter (NULL: refused), device (the PDO), count =
	 * number of map registers returned, flags DC_KEVF_MASTER/SG/AUTOINIT/DMA32/DMA64, len =
	 * MaximumLength, status = DEVICE_DESCRIPTION.Version, value = DmaChannel. */
	DC_KEV_ADAPTER_GET,
	DC_KEV_ADAPTER_PUT, /* PutDmaAdapter: adapter */
	/* AllocateCommonBuffer: adapter, va (NULL: failed), len, logical, flags DC_KEVF_CACHED,
	 * pieces = the buffer's pages (system va, pa, logical). */
	DC_KEV_COMMON_ALLOC,
	/* FreeCommonBuffer, arguments as passed: adapter, va, len, logical, flags DC_KEVF_CACHED;
	 * status = 1 if they matched an allocation exactly and it was freed, 0 if nothing was
	 * freed. */
	DC_KEV_COMMON_FREE,
	/* AllocateAdapterChannel / IoAllocateAdapterChannel: adapter, device, count (registers
	 * asked), status (NTSTATUS returned), flags DC_KEVF_QUEUED if AdapterControl must wait. */
	DC_KEV_CHANNEL_ALLOC,
	/* AdapterControl returned: adapter, device, irp (DeviceObject->CurrentIrp), mrb, count,
	 * status = the IO_ALLOCATION_ACTION. */
	DC_KEV_ADAPTER_CONTROL,
	DC_KEV_CHANNEL_FREE, /* FreeAdapterChannel: adapter; count = registers it released */
	/* FreeMapRegisters: adapter, mrb, count as passed; status = 1 if a run of exactly that size
	 * was allocated there, 0 if the count differs (the run at mrb is freed either way, so a
	 * wrong count is not also a leak) or mrb is no base of that adapter (nothing freed). */
	DC_KEV_MAPREG_FREE,
	/* MapTransfer / IoMapTransfer: adapter, mdl, mrb, va = CurrentVa as passed, len = *Length
	 * on entry, len_out = bytes mapped (0: refused), logical = the returned address, dir, xfer
	 * (a new transfer id, 0 when refused), status = a DC_KMAP_* code, pieces = the mapped bytes
	 * (system va, pa, logical), value = the offset of CurrentVa in the MDL (or -1 if outside).
	 */
	DC_KEV_MAP,
	/* FlushAdapterBuffers / IoFlushAdapterBuffers: adapter, mdl, mrb, va, len, dir as passed;
	 * status = the BOOLEAN returned; xfer = the open transfer of that map register base it
	 * drained (0: none was open). */
	DC_KEV_FLUSH,
	/* GetScatterGatherList / BuildScatterGatherList: the list was handed to the driver's
	 * AdapterListControl: adapter, device, irp, mdl, va, len, dir, xfer, sgl = the list,
	 * pieces = its bytes.  status: NTSTATUS of the call (an error: nothing was mapped). */
	DC_KEV_SG_MAP,
	/* PutScatterGatherList: adapter, sgl, dir as passed; xfer = the transfer it ended (0: the
	 * list was not outstanding); status = the drain's verdict (1 ok, 0 transfer error). */
	DC_KEV_SG_PUT,
	/* KeFlushIoBuffers: mdl, flags DC_KEVF_READ / DC_KEVF_DMA as passed, pieces = the bytes of
	 * the MDL (system va, pa); status -1: a NULL MDL, DC_KFLUSH_BAD_MDL: not an MDL the kernel
	 * allocated or built (nothing flushed). */
	DC_KEV_KE_FLUSH,
	/* An IRP reaches the driver's dispatch routine from the application: irp, device, value =
	 * major function, mdl, len (transfer length), pieces = the buffer's bytes (system va, pa).
	 */
	DC_KEV_IRP_SEND,
	/* IoCompleteRequest: irp, device, mdl, status = IoStatus.Status, len_out = Information, len
	 * = the length the request asked for, value = major function. */
	DC_KEV_IRP_COMPLETE,
	/* A routine that has an IRQL requirement was called: routine, irql (current), irql_min,
	 * irql_max.  Emitted only when the requirement is broken. */
	DC_KEV_IRQL,
	/* A device accessed memory by a logical address: device (PDO), adapter (NULL if the access
	 * is not through an adapter's registers), logical, len, dir, value = the DMA source;
	 * status = 1 if the address lay inside mapped registers or a common buffer of the device.
	 */
	DC_KEV_DEVICE_ACCESS,
	/* MmGetSystemAddressForMdlSafe & co.: mdl, va = the system address returned (NULL:
	 * failure), routine. */
	DC_KEV_MDL_MAP,
	/* A driver touched an address it must never dereference (the MDL's user virtual address,
	 * unmapped register space, freed pool): va, pc = the instruction, routine = what the
	 * address is. */
	DC_KEV_BAD_ACCESS,
	/* A device was removed / a driver unloaded: device or nothing; everything it still holds
	 * (adapters, common buffers, channels, lists) is a leak. */
	DC_KEV_REMOVE,
	DC_KEV_UNLOAD,
	/* The driver crashed (signal) or bug-checked: status = signal or bug check code, va =
	 * fault address, pc = instruction, routine = description. */
	DC_KEV_CRASH,
	/* Interrupt service routines of line `value` run (the chain of ISRs connected to it):
	 * status = 1 before the first ISR is called, 0 after the last returned; irql = the device
	 * IRQL they run at; at exit, count = 1 if an ISR claimed the interrupt. */
	DC_KEV_ISR,
	/* A DPC's DeferredRoutine runs: status = 1 before the call, 0 after it returned. */
	DC_KEV_DPC,
	/* ExAllocatePool* returned a block / ExFreePool* freed one: va, len (bytes asked; at
	 * free: of the allocation), value = the pool tag; at free, status = 1 if va was a live
	 * block (0: nothing was freed). */
	DC_KEV_POOL_ALLOC,
	DC_KEV_POOL_FREE,
	/* IoWriteErrorLogEntry: routine = the entry as one line, va = the entry, status =
	 * ErrorCode, value = UniqueErrorValue. */
	DC_KEV_ERRLOG,
	/* MapTransferEx returned (after the DC_KEV_MAP of each run it mapped): adapter, mdl (the
	 * chain), mrb, value = Offset, len = *Length on entry, len_out = *Length on exit (bytes
	 * mapped), dir, status = the NTSTATUS returned. */
	DC_KEV_MAP_EX,
	/* The HAL calls a DmaCompletionRoutine (from its DPC, at DISPATCH_LEVEL): pc = the
	 * routine, adapter, device (the PDO), mdl, mrb and value = Offset of the MapTransferEx
	 * whose transfer ended, logical = the adapter's DeviceAddress (the peripheral's FIFO
	 * register, 64 bits), status = the DMA_COMPLETION_STATUS it gets (DmaComplete 0,
	 * DmaAborted 1, DmaError 2, DmaCancelled 3). */
	DC_KEV_DMA_COMPLETION,
	/* A spin lock misuse (ke.c): va = the lock, pc = the acquire, status = 1 self-deadlock
	 * (L01), 2 lock-order inversion (L02), 3 a deadlock of the schedule (L02); routine = the
	 * acquiring routine; sgl = the pc of the other acquire (the earlier one, or the other
	 * order's). */
	DC_KEV_LOCK,
	/* The IRP's life as S02 follows it (io.c, csq.c): irp; value = enum dc_irp_life; pc = the
	 * driver's call site (DC_IRPL_COMPLETED: its IoCompleteRequest; DC_IRPL_TOUCH: the call
	 * that touched the IRP, routine = its name); DC_IRPL_ALLOC: len = the IRP's size, va and
	 * logical = the span where the kernel places IRPs, one per DC_IRP_SLOT bytes (driver
	 * accesses there are IRP fields).  Only IRPs in that span are followed. */
	DC_KEV_IRP_LIFE,
	DC_KEV_COUNT
};

enum dc_irp_life {
	DC_IRPL_ALLOC,     /* IoAllocateIrp: irp, len = its size; va, logical: the IRP span */
	DC_IRPL_COMPLETED, /* IoCompleteRequest finished: no driver owns the IRP any more */
	DC_IRPL_OWNED,     /* a driver owns it again (IoCallDriver, IoReuseIrp) */
	DC_IRPL_FREE,      /* IoFreeIrp: its slot is quarantined, never reused at once */
	DC_IRPL_TOUCH,     /* a kernel routine the driver called touched it */
};
#define DC_IRP_SLOT 2048u
const char *dc_kev_name(enum dc_kev_type t);

#define DC_KEVF_MASTER 0x01u
#define DC_KEVF_SG 0x02u
#define DC_KEVF_AUTOINIT 0x04u
#define DC_KEVF_DMA32 0x08u
#define DC_KEVF_DMA64 0x10u
#define DC_KEVF_CACHED 0x20u
#define DC_KEVF_READ 0x40u
#define DC_KEVF_DMA 0x80u
#define DC_KEVF_QUEUED 0x100u
/* DC_KEV_CHANNEL_FREE: the adapter object was released and its registers kept
 * (FreeAdapterObject(DeallocateObjectKeepRegisters)); FreeMapRegisters is still owed.  Events
 * of the version 3 routines carry their routine name ("MapTransferEx", ...); a v3 adapter is
 * one whose DC_KEV_ADAPTER_GET status (DEVICE_DESCRIPTION.Version) is 3. */
#define DC_KEVF_KEEP_REGS 0x200u
/* DC_KEV_MAP: a further run of the same MapTransferEx (a linked-list controller maps one run
 * per physically contiguous stretch): it continues the previous mapping's chain, which one
 * FlushAdapterBuffersEx ends. */
#define DC_KEVF_RUN 0x10000u

/* Why a MapTransfer mapped nothing or less than asked (DC_KEV_MAP status). */
enum dc_kmap_status {
	DC_KMAP_OK,
	DC_KMAP_SHORT,         /* scatter/gather: *Length shortened to what the registers hold */
	DC_KMAP_NO_ADAPTER,    /* NULL or released adapter */
	DC_KMAP_NO_CHANNEL,    /* no AdapterControl has granted this map register base */
	DC_KMAP_BAD_MDL,       /* NULL MDL, pages not locked */
	DC_KMAP_OUTSIDE_MDL,   /* CurrentVa/Length not inside the MDL */
	DC_KMAP_ZERO_LENGTH,   /* Length 0 */
	DC_KMAP_TOO_MANY_REGS, /* the range spans more pages than the registers allocated */
	DC_KMAP_BUSY,          /* the registers are still mapped (no flush since the last map) */
	DC_KMAP_HW_REFUSED,    /* the controller cannot do it (a 64 KiB DMA page crossed, ...) */
	DC_KMAP_GARBAGE_MDL,   /* Mdl is not an MDL the kernel allocated or built (never read) */
	DC_KMAP_COUNT
};

/* DC_KEV_KE_FLUSH status: the MDL pointer is not an MDL (a wild pointer, pool bytes). */
enum { DC_KFLUSH_BAD_MDL = -2 };
const char *dc_kmap_status_name(enum dc_kmap_status s);

/* A run of bytes: system virtual address (cached or uncached window; NULL if none), physical
 * address, logical (device) address, length. */
struct dc_kev_piece {
	const void *va;
	uint64_t pa, logical;
	uint64_t len;
};

struct dc_kev {
	enum dc_kev_type type;
	const void *pc;      /* the driver's call site (return address into the driver), or NULL */
	const char *routine; /* the wdm.h routine called ("MapTransfer", "IoMapTransfer", ...) */
	uint64_t time;       /* simulated ns */
	const void *device, *adapter, *irp, *mdl, *mrb, *va, *sgl;
	uint64_t len, len_out, logical, xfer;
	int64_t status, value;
	uint32_t count, flags;
	enum dc_dir dir;
	uint8_t irql, irql_min, irql_max;
	const struct dc_kev_piece *pieces;
	uint32_t n_pieces;
};

/* --- Synchronisation and execution contexts (the race detector's feed) ---------------------
 * The kernel says which context runs and which synchronisation a driver's call implied, so an
 * observer can order accesses by happens-before as ThreadSanitizer does.  `obj` names a
 * synchronisation object by address (a spin lock, a KINTERRUPT, a KDPC, an event, an IRP, a
 * queued AdapterControl, ...); `arg` depends on the op. */
enum dc_sync_op {
	DC_SYNC_ACQUIRE, /* the running context acquires obj (lock taken, wait satisfied, ...) */
	DC_SYNC_RELEASE, /* the running context releases obj (lock freed, event set, queued) */
	DC_SYNC_CONSUME, /* acquire obj, then forget it (a one-shot hand-over: a grant, an IRP) */
	DC_SYNC_INIT,   /* DriverEntry / AddDevice / the start finished: ordered before all after */
	DC_SYNC_THREAD, /* thread `arg` runs from now on (a switch) */
	DC_SYNC_FORK,   /* the running context created thread `arg` (PsCreateSystemThread) */
	DC_SYNC_ENTER,  /* a routine of kind `arg` (enum dc_ctx_kind) starts on the current
	                 * processor, nested in what runs (an ISR, a DPC, a work item) */
	DC_SYNC_LEAVE,  /* it returned */
	DC_SYNC_FORGET, /* [obj, obj + arg) is new memory: accesses before it do not count */
	DC_SYNC_LOWER,  /* processor `arg` dropped below DISPATCH_LEVEL: what it ran at or
	                 * above is ordered before the DPCs it runs from now on */
	DC_SYNC_DEVICE, /* the running context read a device's register (a port, MMIO, the DMA
	                 * counter) or was told a transfer completed: it knows what the devices
	                 * wrote to memory so far */
};

enum dc_ctx_kind { DC_CTX_THREAD, DC_CTX_ISR, DC_CTX_DPC, DC_CTX_WORKITEM, DC_CTX_KIND_COUNT };
const char *dc_ctx_kind_name(enum dc_ctx_kind k);

struct dc_observer {
	/* An instrumented CPU access in the cached window (after the cache model ran) or, with
	 * cached == false, in the uncached window.  pc: the driver's instruction, or NULL. */
	void (*cpu_access)(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
	                   bool cached, const void *pc);
	/* Cache events, by physical line address. */
	void (*cache_fill)(void *opaque, uint64_t line_pa, bool speculative);
	void (*cache_writeback)(void *opaque, uint64_t line_pa);
	void (*cache_gone)(void *opaque, uint64_t line_pa);
	/* CPU cache maintenance over a cached-window range (KeFlushIoBuffers and friends). */
	void (*cache_maint)(void *opaque, const void *va, uint64_t len, int op);
	/* A device read (write == false) or wrote memory at [pa, pa + len). */
	void (*dma)(void *opaque, int source, uint64_t pa, uint64_t len, bool write);
	/* A kernel event (above). */
	void (*kev)(void *opaque, const struct dc_kev *e);
	/* Driver code (pc) referenced [va, va + len) and byte `bad` of it is no allocation's: a
	 * redzone (DC_MEMF_REDZONE), freed memory in quarantine (DC_MEMF_FREED) or a page that
	 * maps nothing (DC_MEMF_UNMAPPED).  Called before cpu_access; the access then proceeds
	 * harmlessly. */
	void (*mem_fault)(void *opaque, const void *va, uint32_t len, bool write, const void *bad,
	                  int kind, const void *pc);
	/* Synchronisation and contexts (above). */
	void (*sync)(void *opaque, enum dc_sync_op op, const void *obj, uint64_t arg);
	/* An instrumented access to tracked host memory outside the windows (device extensions:
	 * dc_machine_set_host_span); such bytes never enter the cache model. */
	void (*host_access)(void *opaque, const void *va, uint32_t len, bool write, const void *pc);
	/* The next access is an atomic operation's (__tsan_atomic*): mo is its C11 memory order
	 * (0 relaxed .. 5 seq_cst), rmw a read-modify-write. */
	void (*atomic)(void *opaque, const void *va, uint32_t len, int mo, bool rmw);
	/* dmacoh's own code acting as the CPU (no driver instruction: the HAL's bounce copies, the
	 * application's fills and checks) referenced [va, va + len) of the cached window, one page
	 * at most, line after line: what cpu_access(line, ..., write, true, NULL) for each of
	 * those lines in turn would tell, told once.  The cache events of those lines (fills,
	 * write-backs, lines gone) come before it rather than between the lines.  The machine
	 * uses it only when every observer with cpu_access has it; otherwise it calls
	 * cpu_access line by line. */
	void (*cpu_run)(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write);
};

enum dc_memf { DC_MEMF_REDZONE = 1, DC_MEMF_FREED, DC_MEMF_UNMAPPED };

#define DC_MAX_OBSERVERS 4

#ifdef __cplusplus
}
#endif

#endif
