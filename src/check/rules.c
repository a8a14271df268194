/* The rule table (DESIGN §5.2): stable IDs, names, severities, the guideline each enforces
 * (wdm-dma-spec §2), the Driver Verifier 0xE6 codes where one exists (§6), the fixed form of the
 * message line, details, what `manifested` means for the rule, and the fix.  `dmacoh explain`,
 * `dmacoh list rules`, the reports and SARIF's rule descriptors all read this table. */
#include <string.h>
#include <strings.h>

#include "dmacoh/check.h"

/* Most rows leave the last field (bugcheck) out on purpose: NULL, no bug check of their own.
 * clang's -Wextra warns of positional rows that stop early; gcc does not. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#endif

static const struct dc_rule_info rules[DC_RULE_COUNT] = {
    [DC_RULE_C01] =
        {"C01", "stale-device-read", DC_SEV_ERROR, "G1, G2", "",
         "the device reads bytes the CPU wrote since the last KeFlushIoBuffers covering them",
         "C01 stale-device-read: device read N bytes the CPU wrote since the last flush "
         "covering them [last written by the CPU at X] [mapped at Y]",
         "On a platform whose DMA does not snoop the caches, bytes the CPU wrote may still sit "
         "in a dirty cache line: memory holds the old bytes and the device sends those. "
         "Judged when the device reads the bytes of a transfer (MapTransfer, "
         "GetScatterGatherList) or of a cache-enabled common buffer; writes made while the "
         "transfer was already mapped are C03's, not this rule's.",
         "the device read bytes that differ from the CPU's dirty cached copy (on a snooping "
         "platform the snoop gives the device the right bytes: never)",
         "Call KeFlushIoBuffers(Mdl, FALSE, TRUE) after the last CPU write and before the "
         "transfer starts (before AllocateAdapterChannel in the documented flows); for a "
         "cache-enabled common buffer, flush its MDL before each transfer from it, or "
         "allocate it with CacheEnabled = FALSE."},
    [DC_RULE_C02] =
        {"C02", "dma-over-cached-line", DC_SEV_ERROR, "G1, G2", "",
         "the device writes bytes whose cache line the CPU may hold (touched since the last "
         "flush covering it)",
         "C02 dma-over-cached-line: device wrote N bytes over lines the CPU may hold in its "
         "cache [last touched by the CPU at X] [mapped at Y]",
         "A device write goes to memory, not to the cache.  A dirty line over the bytes is "
         "written back later and overwrites the device's data; a clean one makes the CPU read "
         "the old bytes.  For a transfer: lines touched before it was mapped and not flushed "
         "since.  For a cache-enabled common buffer: lines the CPU wrote since the last flush "
         "(a clean line there is judged when it is read, C04).",
         "a cached copy older than the device's data was written back over it, or the CPU "
         "read the old bytes from it",
         "Call KeFlushIoBuffers(Mdl, TRUE, TRUE) before the transfer starts (it writes back "
         "and invalidates the lines) and do not touch the buffer until FlushAdapterBuffers "
         "or PutScatterGatherList; flush a cache-enabled common buffer before each transfer "
         "into it."},
    [DC_RULE_C03] =
        {"C03", "cpu-access-during-dma", DC_SEV_ERROR, "G3, G4, G5, G13", "",
         "the CPU touches bytes of a transfer between MapTransfer/GetScatterGatherList and "
         "its FlushAdapterBuffers/PutScatterGatherList",
         "C03 cpu-access-during-dma: CPU wrote|read N bytes of transfer #n while the device "
         "owns them [mapped at X]",
         "Until FlushAdapterBuffers (PutScatterGatherList) the bytes belong to the device: "
         "bounced reads are not copied back yet, residue still sits in the controller or the "
         "bridge, a write may or may not reach the device.  Any CPU write is judged; a read "
         "only for a device-to-memory transfer (reading bytes the device only reads changes "
         "nothing).  Transfers over common buffers (auto-initialize) are exempt.",
         "the device accessed the same bytes of the same transfer after the CPU did (the race "
         "happened)",
         "Touch the buffer only before MapTransfer (GetScatterGatherList) or after the "
         "matching FlushAdapterBuffers (PutScatterGatherList)."},
    [DC_RULE_C04] =
        {"C04", "stale-cpu-read", DC_SEV_ERROR, "G2, G4", "",
         "the CPU reads bytes the device changed since the CPU last synchronised them",
         "C04 stale-cpu-read: CPU read N bytes the device wrote since the CPU last "
         "synchronised them",
         "The CPU may hold a line of the buffer from before the device wrote it (an earlier "
         "read, a speculative fill), and then reads the old bytes.  Typical: a cache-enabled "
         "common buffer (descriptor ring, mailbox) read without KeFlushIoBuffers after the "
         "device wrote it.  Judged on writes the reader knew of (an interrupt, a register read, "
         "a flush or a read of what the device wrote after them told it), and on bytes it "
         "had read before the device changed them (polling a cached copy); a write that "
         "lands while the driver polls after its flush is read as it is.",
         "the read hit a cached copy older than the device's data and the bytes differ",
         "Call KeFlushIoBuffers(Mdl, TRUE, TRUE) on the common buffer's MDL after the device "
         "wrote and before reading, or allocate it with CacheEnabled = FALSE."},
    [DC_RULE_C05] =
        {"C05", "cacheline-sharing", DC_SEV_ERROR, "G1", "0x1F/4, 0x1F/5",
         "a device-to-memory buffer shares a cache line with bytes the CPU writes while the "
         "transfer is in flight, or with CPU-written bytes of a cache-enabled common buffer "
         "(error); the buffer starts or ends inside a line (warning)",
         "C05 cacheline-sharing: CPU wrote N bytes in a cache line shared with from-device "
         "transfer #n [mapped at X]",
         "Cache maintenance works on whole lines.  A CPU write next to a device-to-memory "
         "buffer dirties the line that also holds the device's bytes: its write-back "
         "overwrites them, and the invalidation after the transfer throws the CPU's write "
         "away.  In a cache-enabled common buffer: the device writes next to bytes the CPU "
         "wrote and did not flush (driver bookkeeping beside a receive buffer, say).  A buffer "
         "whose start or length is not a multiple of the line size "
         "(GetDmaAlignment) invites exactly this (a warning, alignment_warnings=0 turns it "
         "off).",
         "the shared line was written back over the device's bytes, or the CPU read them from "
         "an older copy",
         "Align device-to-memory buffers to GetDmaAlignment (the cache line) at both ends, "
         "or keep CPU-written fields out of the lines the buffer touches."},
    [DC_RULE_C06] =
        {"C06", "pio-read-not-flushed", DC_SEV_ERROR, "P1", "",
         "a PIO read filled an IRP's buffer and the IRP completed without KeFlushIoBuffers(Mdl, "
         "TRUE, FALSE) after the last write",
         "C06 pio-read-not-flushed: read IRP completed after the CPU wrote N bytes of its "
         "buffer without KeFlushIoBuffers(Mdl, TRUE, FALSE) [last written by the CPU at X] "
         "[completed at Y]",
         "Data a driver copies from device registers into a buffer stays in the CPU's data "
         "cache; other agents (DMA, instruction fetch) read memory.",
         "a line the driver wrote was still dirty in a cache DMA does not snoop when the IRP "
         "completed",
         "After the last PIO read into the buffer, call KeFlushIoBuffers(Irp->MdlAddress, "
         "TRUE, FALSE), then complete the IRP."},
    [DC_RULE_C07] =
        {"C07", "missing-adapter-flush", DC_SEV_ERROR, "G3, G4, G5", "0x0D",
         "a MapTransfer (GetScatterGatherList) has no FlushAdapterBuffers "
         "(PutScatterGatherList) before IRP completion, freeing the channel or registers, or "
         "the next MapTransfer",
         "C07 missing-adapter-flush: MapTransfer of N bytes [mapped at X] completed without "
         "FlushAdapterBuffers [completed at Y]",
         "FlushAdapterBuffers drains the system DMA controller's internal buffer and the "
         "bridge's posted writes, copies bounced read data back into the caller's buffer and "
         "releases the mapping.  Without it the tail of the transfer is lost or arrives late, "
         "mixed into the next one.",
         "data of the transfer had not reached the caller's buffer: a device-to-memory piece "
         "was bounced, or device writes were still in flight",
         "Call FlushAdapterBuffers with the MapTransfer's arguments at the end of every "
         "transfer (usually in the DpcForIsr), before FreeAdapterChannel/FreeMapRegisters and "
         "before IoCompleteRequest; with scatter/gather lists, PutScatterGatherList."},
    [DC_RULE_C08] =
        {"C08", "flush-result-ignored", DC_SEV_ERROR, "G6", "",
         "FlushAdapterBuffers (PutScatterGatherList's drain) failed and the IRP still "
         "completed with a success status",
         "C08 flush-result-ignored: FlushAdapterBuffers returned FALSE [flushed at X] and the "
         "IRP completed with STATUS_SUCCESS [completed at Y]",
         "FALSE means the transfer failed (the device or the controller reported an error): "
         "the buffer does not hold what the caller asked for.",
         "always: the caller was told that failed data is good",
         "Use the BOOLEAN result: on FALSE complete the IRP with an error status (e.g. "
         "STATUS_DEVICE_DATA_ERROR) and Information = 0."},
    [DC_RULE_A01] =
        {"A01", "flush-mismatch", DC_SEV_ERROR, "G3", "0x00/1, 0x1B, 0x1F",
         "FlushAdapterBuffers arguments differ from its MapTransfer (Mdl, MapRegisterBase, "
         "CurrentVa, Length, WriteToDevice)",
         "A01 flush-mismatch: FlushAdapterBuffers(FIELD=x) differs from its MapTransfer "
         "(FIELD=y) [mapped at X]",
         "The HAL drains and copies back what the flush names: a different CurrentVa or Length "
         "copies the wrong bytes back or leaves some behind; another direction skips the copy.",
         "never judged (an API rule)",
         "Pass the MapTransfer's Mdl, MapRegisterBase, initial CurrentVa, the Length it "
         "returned, and the same WriteToDevice."},
    [DC_RULE_A02] =
        {"A02", "flush-unmapped", DC_SEV_ERROR, "G3, G5", "0x16, 0x20",
         "FlushAdapterBuffers with nothing mapped: a double flush, a flush after the "
         "registers were freed, or of registers never mapped",
         "A02 flush-unmapped: FlushAdapterBuffers with nothing mapped on its map register base "
         "(why)",
         "Each MapTransfer gets exactly one flush.  A second one, or one after the registers "
         "went back to the HAL, drains registers that may already serve another transfer.",
         "never judged (an API rule)",
         "Flush once per MapTransfer, before FreeAdapterChannel/FreeMapRegisters."},
    [DC_RULE_A03] =
        {"A03", "map-register-overrun", DC_SEV_ERROR, "G9", "0x0C, 0x15, 0x00/2",
         "MapTransfer spans more pages than the map registers allocated, or "
         "AllocateAdapterChannel asks for more than the adapter has",
         "A03 map-register-overrun: MapTransfer of N bytes spans P pages with R map registers",
         "A transfer needs one map register per page it touches; a request above the "
         "adapter's count fails and the IRP never starts.",
         "never judged (an API rule)",
         "Ask AllocateAdapterChannel for min(needed, NumberOfMapRegisters) and split requests "
         "larger than PAGE_SIZE * registers (the split loop)."},
    [DC_RULE_A04] =
        {"A04", "bad-release", DC_SEV_ERROR, "G7, G8", "0x03, 0x04, 0x05, 0x06",
         "AdapterControl's action does not match the free routine, FreeMapRegisters with the "
         "wrong count, or a double free",
         "A04 bad-release: what was released, and why it was wrong",
         "System DMA keeps the channel (KeepObject) and releases it with FreeAdapterChannel; a "
         "packet bus master keeps the registers (DeallocateObjectKeepRegisters) and releases "
         "them with FreeMapRegisters and the same count.  Anything else leaks, double-frees or "
         "reprograms a channel in use.",
         "never judged (an API rule)",
         "Return KeepObject for system DMA and call FreeAdapterChannel; return "
         "DeallocateObjectKeepRegisters for a bus master and call FreeMapRegisters(Adapter, "
         "MapRegisterBase, count) with the count given to AllocateAdapterChannel; free each "
         "thing once."},
    [DC_RULE_A05] =
        {"A05", "resource-leak", DC_SEV_ERROR, "G14", "0x07, 0x08, 0x09, 0x0A",
         "PutDmaAdapter, device removal or unload with common buffers, channels, registers or "
         "scatter/gather lists outstanding",
         "A05 resource-leak: PutDmaAdapter with N common buffers, N channels, N register runs "
         "and N lists outstanding",
         "Whatever the adapter still holds is lost, or used after the adapter is gone.",
         "never judged (an API rule)",
         "On IRP_MN_STOP_DEVICE and remove: free common buffers, release channels and "
         "registers, put every scatter/gather list, then PutDmaAdapter."},
    [DC_RULE_A06] =
        {"A06", "adapter-misuse", DC_SEV_ERROR, "G12, G15", "0x0B, 0x18, 0x19",
         "a NULL adapter, an adapter used after PutDmaAdapter, or a second "
         "AllocateAdapterChannel before AdapterControl ran or while the channel is held",
         "A06 adapter-misuse: Routine called with a NULL|released adapter",
         "A released adapter's memory and registers belong to someone else; two channel "
         "requests per device deadlock or corrupt the HAL's queue.",
         "never judged (an API rule)",
         "Keep the adapter from IoGetDmaAdapter in resident memory, use it only until "
         "PutDmaAdapter, and queue one AllocateAdapterChannel per device at a time."},
    [DC_RULE_A07] =
        {"A07", "mdl-misuse", DC_SEV_ERROR, "G11, P2", "0x0E, 0x1B, 0x1F, 0x21, 0x22",
         "a range outside the MDL, a zero length, pages not locked, or the driver dereferenced "
         "an address it must not (MmGetMdlVirtualAddress)",
         "A07 mdl-misuse: Routine: what is wrong with the MDL or the address",
         "MmGetMdlVirtualAddress is an index into the MDL, valid only as CurrentVa; DMA on "
         "unlocked pages or outside the MDL reaches memory that is not the buffer.",
         "never judged (an API rule)",
         "Use MmGetMdlVirtualAddress only as CurrentVa, access the data through "
         "MmGetSystemAddressForMdlSafe (checked for NULL), keep CurrentVa/Length inside the "
         "MDL and never map zero bytes."},
    [DC_RULE_A08] =
        {"A08", "wrong-irql", DC_SEV_ERROR, "G8, wdm-dma-spec §4", "0x13, 0x14",
         "a routine was called at an IRQL it does not allow",
         "A08 wrong-irql: Routine called at IRQL n (allowed: a..b)",
         "AllocateAdapterChannel, FreeAdapterChannel and FreeMapRegisters run at "
         "DISPATCH_LEVEL, AllocateCommonBuffer and IoGetDmaAdapter at PASSIVE_LEVEL, ...",
         "never judged (an API rule)",
         "Raise or lower the IRQL (KeRaiseIrql/KeLowerIrql) around the call, or make it from "
         "a routine that already runs at the right level (StartIo, DPC, AdapterControl)."},
    [DC_RULE_A09] =
        {"A09", "device-out-of-bounds", DC_SEV_ERROR, "G9", "0x0F, 0x26",
         "the device accessed a logical address it was not mapped for, or past the mapped "
         "length",
         "A09 device-out-of-bounds: device read|wrote N bytes at logical L outside what was "
         "mapped for it",
         "Without an IOMMU the access reaches whatever memory lies there.",
         "the device wrote memory that is not its buffer",
         "Program the device with the logical addresses and lengths MapTransfer returned (the "
         "scatter/gather list's elements), never more."},
    [DC_RULE_A10] =
        {"A10", "bad-io-status", DC_SEV_ERROR, "G6", "",
         "IoStatus.Information is non-zero with a failure status, or larger than the request",
         "A10 bad-io-status: IRP completed with status S and Information N (requested M)",
         "On failure Information must be 0; on success it is the number of bytes moved, "
         "never more than asked.",
         "never judged (an API rule)",
         "Set Information = bytes transferred on success, 0 on any error status."},
    [DC_RULE_A11] =
        {"A11", "common-buffer-mismatch", DC_SEV_ERROR, "G14", "0x03",
         "FreeCommonBuffer arguments differ from the allocation",
         "A11 common-buffer-mismatch: FreeCommonBuffer(FIELD=x) differs from "
         "AllocateCommonBuffer (FIELD=y)",
         "There is no partial free: the HAL frees nothing (a leak) or the wrong memory.",
         "never judged (an API rule)",
         "Pass FreeCommonBuffer the Length, LogicalAddress, VirtualAddress and CacheEnabled "
         "of the allocation."},
    [DC_RULE_A12] =
        {"A12", "map-refused", DC_SEV_ERROR, "G9, G10", "",
         "MapTransfer (IoMapTransfer) refused to map a piece: the MDL's pages are not locked, "
         "no map registers are held, or the range is one the HAL cannot map; it mapped "
         "nothing and set *Length to 0",
         "A12 map-refused: MapTransfer of N bytes mapped nothing: REASON",
         "A MapTransfer that maps nothing starts no transfer: a driver that does not look at "
         "*Length waits for an interrupt that never comes, and its request hangs.  dmacoh "
         "reports the refusal itself, with its reason, instead of the hang and the leaks that "
         "follow from it: after an A12 on an adapter, a FlushAdapterBuffers there with nothing "
         "mapped (A02) and the adapter's channel, registers or buffers still held at removal "
         "or unload (A05) are not reported, until the driver frees the channel or the "
         "registers (FreeAdapterChannel, FreeMapRegisters).  A range outside the MDL or zero bytes "
         "is "
         "A07, more pages than the registers held A03 (which maps a part).",
         "never judged (an API rule)",
         "Call MapTransfer only while holding the map registers AdapterControl granted, on a "
         "locked MDL (MmProbeAndLockPages or MmBuildMdlForNonPagedPool), with CurrentVa and "
         "Length inside the MDL, and use the Length it returns for the piece.",
         NULL},
    [DC_RULE_A13] =
        {"A13", "transfer-coverage", DC_SEV_ERROR, "G4, G9", "0x1D",
         "the pieces mapped and flushed for one IRP do not cover its buffer exactly once: "
         "bytes were transferred twice or skipped",
         "A13 transfer-coverage: IRP completed with N bytes of its buffer transferred "
         "twice|never [mapped at X] [completed at Y]",
         "A split loop must advance CurrentVa by the Length each MapTransfer returned, and "
         "the last piece must end at the end of the request.  A loop that maps the same "
         "bytes again moves some data twice and other data never: the device's store and the "
         "caller's buffer disagree, intermittently and only for requests larger than one "
         "piece.",
         "the IRP completed with success and bytes of the request were never moved",
         "Keep CurrentVa = MmGetMdlVirtualAddress(Mdl) + bytes done; after each MapTransfer "
         "add the Length it returned, and complete the IRP only when the whole Length of the "
         "request was moved (or fail it with Information = 0).",
         NULL},
    [DC_RULE_M01] =
        {"M01", "pool-out-of-bounds", DC_SEV_ERROR, "", "",
         "the CPU touched a redzone: bytes just before or after a pool allocation or a cached "
         "common buffer",
         "M01 pool-out-of-bounds: CPU wrote|read N bytes B bytes before|after a A-byte "
         "pool allocation|common buffer [allocated at X]",
         "Redzones, as Driver Verifier's Special Pool and ASan place them: a small pool block "
         "(a power-of-two class of 16 to 2048 bytes, aligned to its class) is followed by a "
         "free slot of its class, and its slab page has a guard page on each side; a larger "
         "block (page-aligned) and a cached common buffer (page-aligned) have 4 guard pages "
         "(16 KiB) on each side; the bytes of the class or of the last page past the size "
         "asked are redzone too.  Shadow: one byte per 16 bytes, checked on every reference "
         "of driver code.  B counts from the first byte past the end (0: right after it) or "
         "back from the start.  On Windows a write there corrupts a neighbour's data "
         "silently, a read returns whatever it holds.  Farther accesses land in unmapped "
         "pages (M03) or in other memory (not detected, as with ASan); uncached common "
         "buffers have no redzone (physical memory around them belongs to others).",
         "always (the bytes belong to somebody else)",
         "Keep every access inside the allocation: check the length of a copy against the "
         "size allocated, and index a buffer with a bound that is its size.",
         "0xD6 DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION (Special Pool); 0xC1 on a write "
         "into the padding"},
    [DC_RULE_M02] =
        {"M02", "use-after-free", DC_SEV_ERROR, "G14", "",
         "the CPU touched pool or a cached common buffer after ExFreePool/FreeCommonBuffer "
         "freed it",
         "M02 use-after-free: CPU wrote|read N bytes at offset O of a A-byte pool "
         "allocation|common buffer freed [freed at X] [allocated at Y]",
         "Freed pool and freed common buffers are poisoned and held in a FIFO quarantine of "
         "4 MiB before the memory can be handed out again, so that a late access is caught "
         "instead of hitting the next owner's data (on Windows it corrupts whoever owns it "
         "now, or reads their data).  Once memory leaves the quarantine a late access is "
         "no longer detected; uncached common buffers are quarantined without a shadow, "
         "so accesses to them after the free are not reported.",
         "always (the bytes are no longer the driver's)",
         "Clear the pointer when the memory is freed, and free only after the last use (in "
         "particular after the device and every DPC are done with a buffer).",
         "0xCC PAGE_FAULT_IN_FREED_SPECIAL_POOL (Special Pool)"},
    [DC_RULE_M03] =
        {"M03", "unmapped-kernel-address", DC_SEV_ERROR, "G11", "",
         "the CPU touched a page of the simulated kernel address space that maps nothing",
         "M03 unmapped-kernel-address: CPU wrote|read N bytes at an address no allocation, "
         "MDL mapping or common buffer covers",
         "A page of the cached window with no frame behind it (no pool, MDL buffer or "
         "common buffer there, nor their guard pages), or a page of the uncached window "
         "whose frame is not allocated.  On Windows an access to an unmapped kernel address "
         "bug-checks (a page fault in a nonpaged area).  dmacoh reports it with the driver "
         "line and lets the access land in an empty page, so the run goes on.  Typical: a "
         "stale pointer, an address computed from MmGetMdlVirtualAddress, or an index far "
         "past a buffer.",
         "always",
         "Access only memory the driver allocated, mapped (MmGetSystemAddressForMdlSafe) or "
         "was given, within its bounds.",
         "0x50 PAGE_FAULT_IN_NONPAGED_AREA"},
    [DC_RULE_X01] =
        {"X01", "driver-crash", DC_SEV_ERROR, "", "",
         "the driver crashed (SIGSEGV, SIGBUS, an abort) or bug-checked",
         "X01 driver-crash: SIGNAL at ADDRESS [in X]",
         "On Windows this is a bug check; dmacoh reports it with the driver's line and writes "
         "out everything found before.",
         "always",
         "Read the source line and the findings before it: a crash after a DMA finding is "
         "often its consequence."},
    [DC_RULE_X02] =
        {"X02", "driver-hang", DC_SEV_ERROR, "", "",
         "the driver ran past the host-time or the simulated-time watchdog without returning "
         "or waiting",
         "X02 driver-hang: the driver ran for T without returning [at X]",
         "A routine that never returns (a loop polling a register the device never sets, a "
         "spin on a lock nobody releases) hangs the processor on Windows.  dmacoh's "
         "supervisor stops the run and names the driver line that was executing.",
         "always",
         "Bound every polling loop (KeStallExecutionProcessor with a count, or a timer and a "
         "DPC) and fail the request when the device does not answer.",
         "0x101 CLOCK_WATCHDOG_TIMEOUT / 0x133 DPC_WATCHDOG_VIOLATION"},
    [DC_RULE_X03] =
        {"X03", "driver-exit", DC_SEV_ERROR, "", "",
         "the driver called exit, _exit, quick_exit or abort",
         "X03 driver-exit: the driver called FUNCTION(STATUS) [at X]",
         "A kernel-mode driver has no process to end; on Windows the closest is "
         "KeBugCheckEx.  dmacoh does not let a driver end the run with its own exit status: "
         "the call is reported and the run stops as at a bug check.",
         "always",
         "Fail the request or the routine with an NTSTATUS; call KeBugCheckEx only for a "
         "state that must not continue.",
         NULL},
    [DC_RULE_R01] =
        {"R01", "wrong-data", DC_SEV_ERROR, "", "",
         "the workload read back bytes that differ from the device's store, or the device's "
         "store differs from what was written",
         "R01 wrong-data: IRP n (KIND): N bytes wrong; first at store offset O: expected E, "
         "got G",
         "The end-to-end check of the workload: every byte written must reach the device's "
         "store and every byte read must equal it.  Wrong data with no coherency finding is a "
         "bug of the driver's logic (or of dmacoh: report it).",
         "always",
         "Read the findings before it; without any, compare the driver's offsets and lengths "
         "with the request's.",
         NULL},
    [DC_RULE_R02] =
        {"R02", "irp-hung", DC_SEV_ERROR, "", "",
         "an IRP the workload sent was never completed within the time the device needs for "
         "it",
         "R02 irp-hung: IRP n (KIND, offset O, length L) still not completed at T",
         "A request that never completes hangs the application that sent it, and on Windows "
         "blocks removal of the device.",
         "always",
         "Complete every IRP the driver accepts (or marks pending) exactly once, on success "
         "and on every error path.",
         NULL},
    [DC_RULE_R03] =
        {"R03", "irp-failed", DC_SEV_ERROR, "", "",
         "an IRP that the workload expected to succeed (no fault was injected into it) "
         "completed with a failure status, or DriverEntry, AddDevice or IRP_MN_START_DEVICE "
         "failed on a healthy device",
         "R03 irp-failed: IRP n (KIND, offset O, length L) completed with STATUS (or: "
         "ROUTINE failed with status STATUS [at the line it returned from])",
         "The device was healthy and the request valid, yet the driver failed it: usually a "
         "resource the driver asked for wrongly (too many map registers, a length the "
         "adapter cannot take) or a state the driver lost track of.",
         "always",
         "Check the status the driver returns against the request; dmacoh run --dbgprint "
         "shows the driver's messages before it.",
         NULL},
    [DC_RULE_V01] =
        {"V01", "v3-missing-flush", DC_SEV_ERROR, "§3 FlushAdapterBuffersEx rules", "0x0D",
         "a successful MapTransferEx has no FlushAdapterBuffersEx before the next MapTransferEx "
         "on its map registers, the IRP's completion, or the release of the adapter object or "
         "registers (also after CancelMappedTransfer)",
         "V01 v3-missing-flush: MapTransferEx of N bytes [mapped at X] "
         "completed|released|mapped again without FlushAdapterBuffersEx [at Y]",
         "In version 3 FlushAdapterBuffersEx is where the HAL drains the controller or the "
         "bridge and invalidates the CPU caches over what the device wrote: without it read "
         "data stays stale in the caches or in bounce pages, and the adapter's state is "
         "inconsistent for the next MapTransferEx.  CancelMappedTransfer stops the transfer "
         "but does not replace the flush.",
         "read data never reached the buffer (bounced) or is still in flight",
         "Call FlushAdapterBuffersEx(Adapter, Mdl, MapRegisterBase, Offset, Length, "
         "WriteToDevice) with the MapTransferEx's arguments and the Length it returned, once "
         "per successful MapTransferEx, after the transfer ended (or was cancelled) and before "
         "the next MapTransferEx, the IRP's completion and FreeAdapterObject/FreeMapRegisters."},
    [DC_RULE_V02] =
        {"V02", "v3-flush-mismatch", DC_SEV_ERROR, "§3 FlushAdapterBuffersEx rules",
         "0x00/1, 0x1B, 0x1F",
         "FlushAdapterBuffersEx arguments differ from its MapTransferEx (Mdl, MapRegisterBase, "
         "Offset, the Length MapTransferEx returned, WriteToDevice)",
         "V02 v3-flush-mismatch: FlushAdapterBuffersEx(FIELD=x) differs from its MapTransferEx "
         "(FIELD=y) [mapped at X]",
         "The HAL drains, copies back and invalidates what the flush names: another Offset or "
         "Length leaves bytes of the transfer stale or touches bytes of another one; the other "
         "direction skips the invalidation a read needs.",
         "never judged (an API rule)",
         "Keep the Offset you passed to MapTransferEx and the *Length it returned (it may be "
         "shorter than asked), and pass exactly those, with the same Mdl, MapRegisterBase and "
         "WriteToDevice, to FlushAdapterBuffersEx."},
    [DC_RULE_V03] =
        {"V03", "v3-cpu-access-during-dma", DC_SEV_ERROR, "§3", "",
         "the CPU touches bytes of a transfer between MapTransferEx (or GetScatterGatherListEx/"
         "BuildScatterGatherListEx) and its FlushAdapterBuffersEx (PutScatterGatherList)",
         "V03 v3-cpu-access-during-dma: CPU wrote|read N bytes of transfer #n while the device "
         "owns them [mapped at X]",
         "MapTransferEx cleaned the caches and started the transfer; FlushAdapterBuffersEx "
         "invalidates them at its end.  A CPU access in between brings lines back into the "
         "cache that the device then bypasses, or reads bytes not yet copied back.",
         "the CPU read data the device had not delivered yet, or a line it wrote was lost",
         "Do not touch the buffer between MapTransferEx and FlushAdapterBuffersEx; look at "
         "the data after the flush."},
    [DC_RULE_V04] =
        {"V04", "v3-partial-map-skipped", DC_SEV_ERROR, "§3 Partial mapping", "",
         "MapTransferEx mapped less than asked (*Length shortened) and the next MapTransferEx "
         "on that MDL starts past Offset + *Length: bytes are never transferred",
         "V04 v3-partial-map-skipped: MapTransferEx at Offset O after a partial mapping that "
         "ended at E skips N bytes [mapped at X]",
         "MapTransferEx may map only part of the request (map registers, the scatter/gather "
         "buffer, the controller's limits) and still return STATUS_SUCCESS; *Length says how "
         "much.  A driver that advances by what it asked for instead of what was mapped never "
         "transfers the rest.",
         "bytes of the request were never transferred",
         "After each MapTransferEx, advance by the *Length it returned: the next call uses "
         "Offset + *Length and the remaining length."},
    [DC_RULE_V05] =
        {"V05", "v3-status-ignored", DC_SEV_ERROR, "§3, G6", "",
         "FlushAdapterBuffersEx failed (or a DmaCompletionRoutine reported a status other than "
         "DmaComplete) and the IRP still completed with success",
         "V05 v3-transfer-status-ignored: FlushAdapterBuffersEx returned S [at X] and the IRP "
         "completed with status S2 [at Y]",
         "In version 3 the transfer's verdict comes from FlushAdapterBuffersEx's NTSTATUS "
         "(and, for system DMA, the DMA_COMPLETION_STATUS), as from FlushAdapterBuffers' "
         "BOOLEAN in v1/v2: the data of a failed transfer is not what was asked for.",
         "always",
         "Fail the IRP (Information 0) when FlushAdapterBuffersEx does not return "
         "STATUS_SUCCESS or the completion status is not DmaComplete."},
    [DC_RULE_V06] =
        {"V06", "v3-adapter-object-held", DC_SEV_ERROR, "§3 Adapter release, G14", "0x07",
         "PutDmaAdapter, removal or unload while a version 3 adapter object is still "
         "allocated (KeepObject or a synchronous AllocateAdapterChannelEx without "
         "FreeAdapterObject)",
         "V06 v3-adapter-object-held: PutDmaAdapter with the adapter object still allocated",
         "An adapter object kept by KeepObject (or granted synchronously without an "
         "ExecutionRoutine) stays the driver's until FreeAdapterObject: no other request gets "
         "the channel, and PutDmaAdapter leaks it.",
         "never judged (an API rule)",
         "Call FreeAdapterObject(Adapter, DeallocateObject) (or DeallocateObjectKeepRegisters "
         "then FreeMapRegisters) when the transfer is done, and before PutDmaAdapter."},
    [DC_RULE_V07] =
        {"V07", "v3-cached-common-buffer", DC_SEV_ERROR, "§3 Common buffers, G2", "",
         "a cache-enabled common buffer from AllocateCommonBufferEx (or a v3 allocator) is "
         "read or written by the device, or read by the CPU after the device wrote it, "
         "without FlushDmaBuffer (or KeFlushIoBuffers) in between",
         "V07 v3-cached-common-buffer: device|CPU read|wrote N bytes of a cache-enabled "
         "common buffer without FlushDmaBuffer [allocated at X]",
         "MapTransferEx/FlushAdapterBuffersEx do the cache maintenance of transfers, not of "
         "common buffers: a cache-enabled one is the driver's to flush on non-coherent "
         "hardware, with FlushDmaBuffer where v1/v2 uses KeFlushIoBuffers.",
         "the device or the CPU saw stale bytes",
         "Allocate common buffers with CacheEnabled = FALSE on non-coherent hardware, or call "
         "FlushDmaBuffer(Adapter, Mdl, ReadOperation) over the buffer's MDL before each "
         "device access and before the CPU reads what the device wrote."},
    [DC_RULE_V08] =
        {"V08", "v3-mixed-routines", DC_SEV_ERROR, "§3", "",
         "a transfer mapped with MapTransferEx is flushed with FlushAdapterBuffers, or one "
         "mapped with MapTransfer with FlushAdapterBuffersEx",
         "V08 v3-mixed-routines: FlushAdapterBuffers[Ex] of a transfer mapped by "
         "MapTransfer[Ex] [mapped at X]",
         "The v1 and v3 routines keep different state (a CurrentVa versus an Offset into an "
         "MDL chain, a BOOLEAN versus an NTSTATUS, v3's cache maintenance): a v1 flush of a v3 "
         "mapping does not invalidate the caches as v3 promises, and the reverse leaves the "
         "v1 contract's KeFlushIoBuffers to the driver while it may assume it done.",
         "never judged (an API rule)",
         "Pair MapTransferEx with FlushAdapterBuffersEx and MapTransfer with "
         "FlushAdapterBuffers; a v3 driver uses the Ex routines throughout."},
    [DC_RULE_S01] =
        {"S01", "data-race", DC_SEV_ERROR, "", "",
         "two accesses to the same bytes of kernel memory or a device extension, at least one a "
         "write and not both atomic, from execution contexts (threads, ISRs, DPCs, work items, "
         "on any processors) that no synchronisation orders",
         "S01 data-race: write|read of N bytes by CONTEXT races with a write|read by CONTEXT "
         "[previous access at X]: no spin lock, interlocked operation or "
         "KeSynchronizeExecution orders them",
         "On a multiprocessor an ISR, a DPC and a dispatch routine run at the same time on "
         "different processors, and an ISR interrupts whatever its processor ran.  Fields they "
         "share without a lock are read half-updated, read-modify-writes are lost (a "
         "completion bit set by the ISR while the DPC clears the word), and the compiler may "
         "keep a field in a register.  Decided as ThreadSanitizer decides a race: by "
         "happens-before through the kernel's synchronisation (spin locks, the interrupt "
         "spin lock, interlocked operations, DPC and work item queueing, events, IRP "
         "completion, the register write that makes a device interrupt).",
         "never judged (a race is a race whether or not this run lost an update)",
         "Share fields with the ISR only inside KeSynchronizeExecution (or "
         "KeAcquireInterruptSpinLock); fields between DPCs, dispatch routines and threads under "
         "one spin lock; counters and flags with Interlocked operations."},
    [DC_RULE_S02] =
        {"S02", "irp-touched-after-completion", DC_SEV_ERROR, "", "",
         "driver code reads or writes an IRP, or passes it to a kernel routine "
         "(IoCompleteRequest, IoCallDriver, IoCsqRemoveNextIrp, ...), after IoCompleteRequest "
         "completed it (on any context or processor) and before it was sent again",
         "S02 irp-touched-after-completion: ROUTINE with a completed IRP (or: read|write of N "
         "bytes of a completed IRP) by CONTEXT after CONTEXT completed it [completed at X]",
         "IoCompleteRequest hands the IRP back to the I/O manager: it may be freed, reused "
         "for another request or completed to the caller at once.  On a multiprocessor a "
         "cancel routine, a DPC and the thread that owns a queue can each believe the IRP is "
         "theirs: the classic case is a cancel-safe queue whose peek routine returns the IRP "
         "it was given instead of the next one, so the queue's thread comes back to an IRP "
         "the cancel path completed on another processor.  Completing it again is Windows' "
         "bug check 0x44 (MULTIPLE_IRP_COMPLETE_REQUESTS); a read or write of its fields "
         "corrupts whatever now uses the memory.  dmacoh keeps a completed IRP's bytes "
         "(quarantined after IoFreeIrp) so the touch is seen, and names both sites.",
         "never judged (the IRP's next owner may or may not have run yet)",
         "Touch an IRP only while your driver owns it: read what you need (IoStatus, the "
         "stack location) before IoCompleteRequest; have exactly one path complete it (the "
         "cancel routine or the queue's removal, decided under the queue's lock: "
         "IoCsqRemoveNextIrp and a CsqPeekNextIrp that returns the entry after the IRP it "
         "is given); after a cancel, use only what IoCsqRemoveNextIrp returns.",
         "0x44 MULTIPLE_IRP_COMPLETE_REQUESTS (a second completion)"},
    [DC_RULE_S03] =
        {"S03", "map-register-base-before-grant", DC_SEV_ERROR, "G8", "",
         "MapTransfer, FlushAdapterBuffers or FreeMapRegisters with a MapRegisterBase that no "
         "AdapterControl delivered, while the adapter's AdapterControl is still to run",
         "S03 map-register-base-before-grant: ROUTINE with a MapRegisterBase no AdapterControl "
         "delivered: the grant asked by AllocateAdapterChannel is still pending",
         "AllocateAdapterChannel (IoAllocateAdapterChannel) only queues the request: "
         "AdapterControl runs, with the MapRegisterBase, when the channel and the registers "
         "are free, which may be later, on another processor.  A driver that uses "
         "MapRegisterBase right after the call (a stale one from the previous request, or "
         "none) works only while the grant happens to be synchronous.  `dmacoh run "
         "--deferred-grant` always runs AdapterControl later, as a busy channel does.",
         "never judged (an API rule)",
         "Do everything that needs the MapRegisterBase in AdapterControl (or after it "
         "signalled an event the caller waits on), and save it there in the device extension "
         "(G8)."},
    [DC_RULE_L01] =
        {"L01", "spin-lock-self-deadlock", DC_SEV_ERROR, "", "",
         "a spin lock is acquired by the processor that already holds it (a second acquire on "
         "one path, or an ISR or DPC taking a lock the code it interrupted holds)",
         "L01 spin-lock-self-deadlock: ROUTINE of a spin lock this processor holds [acquired "
         "at X]",
         "A spin lock is not recursive: the second acquire spins for the lock its own "
         "processor holds and never gets it (Windows: a hang, or bug check 0x0F "
         "SPIN_LOCK_ALREADY_OWNED under Driver Verifier).  An ISR or a DPC that takes a lock "
         "the interrupted code holds on the same processor deadlocks the same way; dmacoh "
         "reports it and lets the run go on as if the lock were free.",
         "always (the processor hangs on Windows)",
         "Release the lock before calling code that takes it again, or split the routine into "
         "a locked and an unlocked variant; a lock shared with an ISR is taken with "
         "KeSynchronizeExecution or KeAcquireInterruptSpinLock, which raise to the ISR's "
         "SynchronizeIrql so the ISR cannot interrupt the holder.",
         "0x0F SPIN_LOCK_ALREADY_OWNED"},
    [DC_RULE_L02] =
        {"L02", "lock-order-inversion", DC_SEV_ERROR, "", "",
         "two spin locks are acquired in both orders (A then B on one path, B then A on "
         "another): two processors can each hold one and spin for the other",
         "L02 lock-order-inversion: lock B acquired while holding A, but A was acquired while "
         "holding B at X",
         "The lock order graph (as Linux's lockdep keeps it) records, for every lock acquired "
         "while others are held, the edge held -> acquired; an acquire that closes a cycle is "
         "a potential deadlock, reported the first time the two paths run, whether or not "
         "the schedule made them overlap.  When a --schedule run does overlap them (every "
         "processor spinning), the deadlock is reported here too and the run goes on as if "
         "the lock were granted, never hanging.",
         "a --schedule run deadlocked on it (otherwise: the order was inverted, no hang yet)",
         "Define one order for the locks (document it) and acquire them in that order on "
         "every path; or drop the first lock before taking the second."},
};

const struct dc_rule_info *dc_rule_info(enum dc_rule r)
{
	return (unsigned)r < DC_RULE_COUNT ? &rules[r] : NULL;
}

int dc_rule_find(const char *s)
{
	if (!s)
		return DC_ERR_NOTFOUND;
	for (int i = 0; i < DC_RULE_COUNT; i++)
		if (!strcasecmp(s, rules[i].id) || !strcmp(s, rules[i].name))
			return i;
	return DC_ERR_NOTFOUND;
}

const char *dc_severity_name(enum dc_severity s)
{
	static const char *const names[] = {
	    [DC_SEV_WARNING] = "warning",
	    [DC_SEV_ERROR] = "error",
	};
	return (unsigned)s < DC_ARRAY_SIZE(names) ? names[s] : "?";
}

const char *dc_report_format_name(enum dc_report_format f)
{
	static const char *const names[] = {
	    [DC_FMT_TEXT] = "text",
	    [DC_FMT_JSON] = "json",
	    [DC_FMT_SARIF] = "sarif",
	};
	return (unsigned)f < DC_ARRAY_SIZE(names) ? names[f] : "?";
}
