/* The rule table (DESIGN §5.2): stable IDs, names, severities, the guideline each enforces
 * (wdm-dma-spec §2), the Driver Verifier 0xE6 codes where one exists (§6), the fixed form of the
 * message line, details, what `manifested` means for the rule, and the fix.  `dmacoh explain`,
 * `dmacoh list rules`, the reports and SARIF's rule descriptors all read this table. */
#include <string.h>
#include <strings.h>

#include "dmacoh/check.h"

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
         "device wrote it.",
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
    [DC_RULE_X01] =
        {"X01", "driver-crash", DC_SEV_ERROR, "", "",
         "the driver crashed (SIGSEGV, SIGBUS, an abort) or bug-checked",
         "X01 driver-crash: SIGNAL at ADDRESS [in X]",
         "On Windows this is a bug check; dmacoh reports it with the driver's line and writes "
         "out everything found before.",
         "always",
         "Read the source line and the findings before it: a crash after a DMA finding is "
         "often its consequence."},
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
