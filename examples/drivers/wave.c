/*
 * wave.c -- WDM function driver for the digital audio of a Sound Blaster 16 (DSP 4.05): the
 * design of the NT "sndblst" wave driver, a double buffer that system DMA runs around.
 *
 * The 8237 channel runs in auto-initialize mode around a small common buffer (the "ring", two
 * halves) for as long as the stream plays or records, and the DSP interrupts at the end of
 * every half (its block).  At each interrupt the DPC refills the half the device just played
 * from the queued writes, or empties the half it just recorded into the queued reads, while
 * the device works on the other half (wdm-dma-spec 5.2, common-buffer system DMA).
 *
 *   START_DEVICE  ports, interrupt and BOTH DMA channels from the resources (the 8-bit one for
 *                 8-bit samples, the 16-bit one for 16-bit samples); per channel an adapter
 *                 (IoGetDmaAdapter: AutoInitialize, slave, width by channel) and a cache-enabled
 *                 common buffer with an MDL for the whole ring (MapTransfer) and one per half
 *                 (KeFlushIoBuffers); the DSP reset handshake (0xAA) and its version; the
 *                 card's IRQ and DMA select set to the resources.
 *   a stream      IoCsq queue of writes, reads and format requests, served in order, one
 *                 direction at a time.  Starting: fill (playback) or flush (capture) the ring,
 *                 AllocateAdapterChannel; AdapterControl maps the ring ONCE (MapTransfer) and
 *                 starts the DSP: auto-initialize with a block of half the ring.
 *   ISR           reads the mixer's interrupt status, acknowledges at the DSP's ack port,
 *                 queues the DPC.
 *   DPC           playback: KeFlushIoBuffers after the CPU refilled a half (G2: the device
 *                 must read memory, not what the cache still holds); capture:
 *                 KeFlushIoBuffers(half, TRUE, TRUE) before the CPU reads what the device
 *                 wrote (G2, and the invalidate the v1/v2 contract gives no other place for).
 *   stopping      the stream ends exactly after the last byte written: a single-cycle DSP
 *                 command for a last, partly filled half, or "exit auto-initialize" after a
 *                 full one; then FlushAdapterBuffers (G3: the controller's last bytes) and
 *                 FreeAdapterChannel (G7).  Capture stops at a block end; the bytes no read
 *                 wanted are kept for the next read, so none of the source is lost.
 *   position      ReadDmaCounter: bytes left in the current lap of the ring.
 *   errors        the DSP goes quiet after a transfer error: a watchdog (no block interrupt
 *                 for two block times) resets it, FlushAdapterBuffers reports the error (G6),
 *                 the channel is freed, and the stream restarts at the first block the device
 *                 did not finish: playback plays it again from the ring, capture records on.
 *                 Three restarts in a row without a block fail the queued requests.
 *   STOP/REMOVE   the stream stopped, queued requests failed, IoFreeMdl, FreeCommonBuffer,
 *                 PutDmaAdapter (G14).
 *
 * Buggy twins (-DDMACOH_BUG_<RULE>): C01, C04, C06, C07, A01, A05, A11 -- see the MISTAKE
 * comments.
 *
 * SB16 ports from the base (0x220; docs/devices/sb16.md):
 *   +0x4 MIXER ADDR  +0x5 MIXER DATA (0x80 IRQ select, 0x81 DMA select, 0x82 IRQ status)
 *   +0x6 RESET  +0xA READ DATA  +0xC WRITE (R: bit 7 busy)
 *   +0xE READ STATUS (bit 7 data ready; reading it acknowledges the 8-bit interrupt)
 *   +0xF reading it acknowledges the 16-bit interrupt
 */
#include <dmacoh/wdm.h>
#include <dmacoh/driver.h>

DMACOH_DRIVER("wave", "sb16",
              "common-buffer auto-initialize system DMA, ReadDmaCounter play position");

#define SB_MIXER_ADDR 0x4
#define SB_MIXER_DATA 0x5
#define SB_RESET 0x6
#define SB_READ 0xA
#define SB_WRITE 0xC
#define SB_RSTATUS 0xE
#define SB_ACK16 0xF
#define SB_PORT_COUNT 16

#define SB_MIX_IRQ 0x80
#define SB_MIX_DMA 0x81
#define SB_MIX_STATUS 0x82
#define SB_IST_8 0x01
#define SB_IST_16 0x02

#define DSP_READY 0xAA
#define DSP_RATE_OUT 0x41
#define DSP_RATE_IN 0x42
#define DSP_16BIT 0xB0 /* | IN | AUTO | FIFO, then mode, length - 1 (words) */
#define DSP_8BIT 0xC0  /* the same, length - 1 in bytes */
#define DSP_IN 0x08
#define DSP_AUTO 0x04
#define DSP_FIFO 0x02
#define DSP_MODE_SIGNED 0x10
#define DSP_MODE_STEREO 0x20
#define DSP_SPEAKER_ON 0xD1
#define DSP_SPEAKER_OFF 0xD3
#define DSP_EXIT_AUTO_16 0xD9
#define DSP_EXIT_AUTO_8 0xDA
#define DSP_VERSION 0xE1

#define WAVE_HALF 4096               /* a DSP block: the half of the ring between interrupts */
#define WAVE_RING (2 * WAVE_HALF)    /* the common buffer the channel runs around */
#define WAVE_HELD_MAX 1024           /* capture: the controller holds back fewer bytes */
#define WAVE_KEEP (4 * WAVE_HALF)    /* captured bytes kept for reads still to come */
#define WAVE_MAX_REQUEST 0x01000000u /* the largest read or write (any frame size divides it) */
#define WAVE_DSP_POLLS 1000
#define WAVE_MAX_RESTARTS 3
#define WAVE_NO_IRP 0xFF
#define WAVE_TAG 'evaW'

typedef struct _WAVE_DMA {
	ULONG Channel;
	PDMA_ADAPTER Adapter;
	ULONG MapRegisterCount;
	PUCHAR Ring; /* the common buffer, cache-enabled */
	PHYSICAL_ADDRESS RingLogical;
	PMDL RingMdl;    /* the whole ring: MapTransfer and FlushAdapterBuffers */
	PMDL HalfMdl[2]; /* each half: KeFlushIoBuffers */
} WAVE_DMA, *PWAVE_DMA;

typedef enum _WAVE_STATE { WaveIdle, WavePlaying, WaveRecording } WAVE_STATE;

typedef struct _WAVE_EXTENSION {
	PDEVICE_OBJECT Self;
	PDEVICE_OBJECT Pdo;
	PDEVICE_OBJECT LowerDevice;
	BOOLEAN Started;

	/* Hardware */
	PUCHAR Ports;
	PKINTERRUPT InterruptObject;
	UCHAR DspMajor, DspMinor;
	WAVE_DMA Dma[2]; /* [0]: the 8-bit channel, [1]: the 16-bit one */

	/* Requests: a cancel-safe queue, and the one taken off it and partly served */
	KSPIN_LOCK QueueLock;
	IO_CSQ Queue;
	LIST_ENTRY QueueHead;
	PIRP Current;
	ULONG RequestedFrame; /* the frame of the last format request, for dispatch checks */

	/* Everything below is under Lock (taken before QueueLock when both are held) */
	KSPIN_LOCK Lock;
	DMACOH_STREAM_FORMAT Format;
	BOOLEAN HaveFormat;
	ULONG FrameBytes;

	/* The stream */
	WAVE_STATE State;
	PWAVE_DMA Active;
	PVOID MapRegisterBase;
	BOOLEAN ChannelHeld;
	BOOLEAN StopIssued; /* the next block interrupt ends the session */
	ULONG Blocks;       /* block interrupts served this session */
	ULONG Level[2];     /* playback: bytes of each half not played yet */
	LONG OpenHalf;      /* playback: the half that still takes data before it plays, or -1 */
	ULONG Copied;       /* capture: bytes of this session copied out of the ring */
	ULONG SessionEnd;   /* capture: the bytes this session delivers once StopIssued */
	ULONG Restarts;     /* restarts in a row without a block interrupt */
	ULONGLONG Played;   /* bytes the DSP played, at the blocks served */
	ULONGLONG Captured; /* bytes the DSP recorded, at the blocks served */
	PUCHAR Keep;        /* captured bytes no read wanted yet (WAVE_KEEP) */
	ULONG KeepOff, KeepLen;
	PUCHAR Scratch; /* one half, to rotate the ring after an error */

	volatile LONG IsrBlocks; /* block interrupts the ISR acknowledged */
	LONG DpcBlocks;          /* ... and the DPC served */
	LONG WatchBlocks;        /* IsrBlocks when the watchdog was armed */
	KTIMER Watchdog;
	KDPC WatchdogDpc;
} WAVE_EXTENSION, *PWAVE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE WaveAddDevice;
static DRIVER_UNLOAD WaveUnload;
static DRIVER_CONTROL WaveAdapterControl;
static KSERVICE_ROUTINE WaveIsr;
static IO_DPC_ROUTINE WaveDpcForIsr;
static KDEFERRED_ROUTINE WaveWatchdogDpc;
static DRIVER_DISPATCH WaveCreateClose;
static DRIVER_DISPATCH WaveReadWrite;
static DRIVER_DISPATCH WaveDeviceControl;
static DRIVER_DISPATCH WavePnp;
static DRIVER_DISPATCH WavePower;
static IO_CSQ_INSERT_IRP WaveCsqInsert;
static IO_CSQ_REMOVE_IRP WaveCsqRemove;
static IO_CSQ_PEEK_NEXT_IRP WaveCsqPeek;
static IO_CSQ_ACQUIRE_LOCK WaveCsqAcquire;
static IO_CSQ_RELEASE_LOCK WaveCsqRelease;
static IO_CSQ_COMPLETE_CANCELED_IRP WaveCsqCompleteCanceled;

/* --- The DSP ------------------------------------------------------------------------------- */

static BOOLEAN WaveDspWrite(PWAVE_EXTENSION ext, UCHAR value)
{
	ULONG i;

	for (i = 0; i < WAVE_DSP_POLLS; i++) {
		if ((READ_PORT_UCHAR(ext->Ports + SB_WRITE) & 0x80) == 0) {
			WRITE_PORT_UCHAR(ext->Ports + SB_WRITE, value);
			return TRUE;
		}
		KeStallExecutionProcessor(1);
	}
	return FALSE;
}

/* Only while no stream runs: reading the status acknowledges the 8-bit interrupt. */
static BOOLEAN WaveDspRead(PWAVE_EXTENSION ext, PUCHAR value)
{
	ULONG i;

	for (i = 0; i < WAVE_DSP_POLLS; i++) {
		if (READ_PORT_UCHAR(ext->Ports + SB_RSTATUS) & 0x80) {
			*value = READ_PORT_UCHAR(ext->Ports + SB_READ);
			return TRUE;
		}
		KeStallExecutionProcessor(1);
	}
	return FALSE;
}

/* The reset handshake: 1 then 0 at the reset port, 0xAA in the read buffer.  It also stops
 * both DMA engines of the DSP. */
static BOOLEAN WaveDspReset(PWAVE_EXTENSION ext)
{
	UCHAR v = 0;

	WRITE_PORT_UCHAR(ext->Ports + SB_RESET, 1);
	KeStallExecutionProcessor(3);
	WRITE_PORT_UCHAR(ext->Ports + SB_RESET, 0);
	return WaveDspRead(ext, &v) && v == DSP_READY;
}

static BOOLEAN WaveSixteen(PWAVE_EXTENSION ext)
{
	return ext->Format.BitsPerSample == 16;
}

/* A transfer command: auto-initialize (a block of `bytes`, again and again) or single-cycle
 * (`bytes` once, then the DSP stops). */
static VOID WaveDspTransfer(PWAVE_EXTENSION ext, BOOLEAN autoInit, ULONG bytes)
{
	BOOLEAN sixteen = WaveSixteen(ext);
	UCHAR cmd = (UCHAR)((sixteen ? DSP_16BIT : DSP_8BIT) | DSP_FIFO);
	UCHAR mode = 0;
	ULONG count = (sixteen ? bytes / 2 : bytes) - 1;

	if (autoInit)
		cmd |= DSP_AUTO;
	if (ext->State == WaveRecording)
		cmd |= DSP_IN;
	if (ext->Format.Signed)
		mode |= DSP_MODE_SIGNED;
	if (ext->Format.Channels == 2)
		mode |= DSP_MODE_STEREO;
	WaveDspWrite(ext, cmd);
	WaveDspWrite(ext, mode);
	WaveDspWrite(ext, (UCHAR)(count & 0xFF));
	WaveDspWrite(ext, (UCHAR)(count >> 8));
}

/* Exit auto-initialize: the DSP stops at the end of the block it is in. */
static VOID WaveDspExitAuto(PWAVE_EXTENSION ext)
{
	WaveDspWrite(ext, WaveSixteen(ext) ? DSP_EXIT_AUTO_16 : DSP_EXIT_AUTO_8);
}

/* --- Requests ------------------------------------------------------------------------------ */

/* What a request is: IRP_MJ_READ, IRP_MJ_WRITE or IRP_MJ_DEVICE_CONTROL (a format). */
static UCHAR WaveKind(PIRP Irp)
{
	return IoGetCurrentIrpStackLocation(Irp)->MajorFunction;
}

static ULONG WaveLength(PIRP Irp)
{
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);

	return stack->MajorFunction == IRP_MJ_WRITE ? stack->Parameters.Write.Length
	                                            : stack->Parameters.Read.Length;
}

/* A read or write keeps its system address and the bytes served so far in DriverContext[0]
 * and [1] (the cancel-safe queue uses [3]). */
static PUCHAR WaveIrpBuffer(PIRP Irp)
{
	return (PUCHAR)Irp->Tail.Overlay.DriverContext[0];
}

static ULONG WaveIrpDone(PIRP Irp)
{
	return (ULONG)(ULONG_PTR)Irp->Tail.Overlay.DriverContext[1];
}

static VOID WaveIrpSetDone(PIRP Irp, ULONG done)
{
	Irp->Tail.Overlay.DriverContext[1] = (PVOID)(ULONG_PTR)done;
}

static VOID WaveCsqInsert(PIO_CSQ Csq, PIRP Irp)
{
	PWAVE_EXTENSION ext = CONTAINING_RECORD(Csq, WAVE_EXTENSION, Queue);

	InsertTailList(&ext->QueueHead, &Irp->Tail.Overlay.ListEntry);
}

static VOID WaveCsqRemove(PIO_CSQ Csq, PIRP Irp)
{
	UNREFERENCED_PARAMETER(Csq);
	RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

/* In order: the entry after Irp (the first when Irp is NULL), and only if it is of the kind
 * the caller asks for (PeekContext points at a major function code; NULL: any). */
static PIRP WaveCsqPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
	PWAVE_EXTENSION ext = CONTAINING_RECORD(Csq, WAVE_EXTENSION, Queue);
	PLIST_ENTRY next = Irp ? Irp->Tail.Overlay.ListEntry.Flink : ext->QueueHead.Flink;
	PIRP irp;

	if (next == &ext->QueueHead)
		return NULL;
	irp = CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
	if (PeekContext != NULL && WaveKind(irp) != *(PUCHAR)PeekContext)
		return NULL;
	return irp;
}

static VOID WaveCsqAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
	PWAVE_EXTENSION ext = CONTAINING_RECORD(Csq, WAVE_EXTENSION, Queue);

	KeAcquireSpinLock(&ext->QueueLock, Irql);
}

static VOID WaveCsqRelease(PIO_CSQ Csq, KIRQL Irql)
{
	PWAVE_EXTENSION ext = CONTAINING_RECORD(Csq, WAVE_EXTENSION, Queue);

	KeReleaseSpinLock(&ext->QueueLock, Irql);
}

static VOID WaveCsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp)
{
	UNREFERENCED_PARAMETER(Csq);
	Irp->IoStatus.Status = STATUS_CANCELLED;
	Irp->IoStatus.Information = 0;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

/* The kind of the first queued request, WAVE_NO_IRP if none. */
static UCHAR WaveNextKind(PWAVE_EXTENSION ext)
{
	UCHAR kind = WAVE_NO_IRP;
	KIRQL irql;

	KeAcquireSpinLock(&ext->QueueLock, &irql);
	if (!IsListEmpty(&ext->QueueHead))
		kind =
		    WaveKind(CONTAINING_RECORD(ext->QueueHead.Flink, IRP, Tail.Overlay.ListEntry));
	KeReleaseSpinLock(&ext->QueueLock, irql);
	return kind;
}

/* Takes the first queued request if it is of that kind. */
static PIRP WaveTake(PWAVE_EXTENSION ext, UCHAR kind)
{
	return IoCsqRemoveNextIrp(&ext->Queue, &kind);
}

/* Requests are completed after the locks are released: collected on a local list. */
static VOID WaveFinish(PLIST_ENTRY done, PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	InsertTailList(done, &Irp->Tail.Overlay.ListEntry);
}

static VOID WaveCompleteList(PLIST_ENTRY done)
{
	while (!IsListEmpty(done)) {
		PIRP irp = CONTAINING_RECORD(RemoveHeadList(done), IRP, Tail.Overlay.ListEntry);

		IoCompleteRequest(irp, IO_NO_INCREMENT);
	}
}

static NTSTATUS WaveCompleteNow(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
	Irp->IoStatus.Status = status;
	Irp->IoStatus.Information = information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return status;
}

/* Fails the request being served and every queued one. */
static VOID WaveFailAll(PWAVE_EXTENSION ext, NTSTATUS status, PLIST_ENTRY done)
{
	PIRP irp;

	if (ext->Current != NULL) {
		WaveFinish(done, ext->Current, status, 0);
		ext->Current = NULL;
	}
	while ((irp = IoCsqRemoveNextIrp(&ext->Queue, NULL)) != NULL)
		WaveFinish(done, irp, status, 0);
	ext->Level[0] = ext->Level[1] = 0;
	ext->KeepOff = ext->KeepLen = 0;
}

/* --- Playback: filling the ring ------------------------------------------------------------ */

/* Silence in the format: 0x80 for unsigned 8-bit samples, 0x8000 for unsigned 16-bit ones, 0
 * for signed ones. */
static VOID WaveSilence(PWAVE_EXTENSION ext, PUCHAR p, ULONG n)
{
	ULONG i;

	if (ext->Format.Signed) {
		RtlZeroMemory(p, n);
	} else if (!WaveSixteen(ext)) {
		RtlFillMemory(p, n, 0x80);
	} else {
		for (i = 0; i < n; i++)
			p[i] = (UCHAR)(i & 1 ? 0x80 : 0x00);
	}
}

/* Appends the queued writes' bytes to a half of the ring, at its level, completing each write
 * whose last byte went in.  The rest of the half is silence, so that a stop that comes late
 * plays silence, never old data. */
static VOID WaveFillHalf(PWAVE_EXTENSION ext, ULONG half, PLIST_ENTRY done)
{
	PUCHAR dst = ext->Active->Ring + half * WAVE_HALF;
	BOOLEAN copied = FALSE;
	ULONG len, served, n;

	while (ext->Level[half] < WAVE_HALF) {
		if (ext->Current == NULL)
			ext->Current = WaveTake(ext, IRP_MJ_WRITE);
		if (ext->Current == NULL || WaveKind(ext->Current) != IRP_MJ_WRITE)
			break;
		len = WaveLength(ext->Current);
		served = WaveIrpDone(ext->Current);
		n = len - served;
		if (n > WAVE_HALF - ext->Level[half])
			n = WAVE_HALF - ext->Level[half];
		RtlCopyMemory(dst + ext->Level[half], WaveIrpBuffer(ext->Current) + served, n);
		ext->Level[half] += n;
		WaveIrpSetDone(ext->Current, served + n);
		copied = TRUE;
		if (served + n == len) {
			/* All its bytes are in the DMA buffer: the write is done. */
			WaveFinish(done, ext->Current, STATUS_SUCCESS, len);
			ext->Current = NULL;
		}
	}
	if (!copied)
		return;
	WaveSilence(ext, dst + ext->Level[half], WAVE_HALF - ext->Level[half]);
#ifdef DMACOH_BUG_C01
	/* MISTAKE (C01): the half was filled through the cache and goes to the device as it is.
	 * On a platform whose DMA does not snoop, the new samples may still sit in dirty cache
	 * lines: the controller reads the old bytes from memory and plays them. */
#else
	/* G2: the half is in a cache-enabled common buffer; write its lines back to memory
	 * before the controller reads them. */
	KeFlushIoBuffers(ext->Active->HalfMdl[half], FALSE, TRUE);
#endif
}

/* After an error: the first half not played becomes half 0, where the channel starts again.
 * Only the data moves; the rest of each half is silence again. */
static VOID WaveRotate(PWAVE_EXTENSION ext)
{
	PUCHAR ring = ext->Active->Ring;
	ULONG first = ext->Level[1], second = ext->Level[0];

	RtlCopyMemory(ext->Scratch, ring, second);
	RtlCopyMemory(ring, ring + WAVE_HALF, first);
	WaveSilence(ext, ring + first, WAVE_HALF - first);
	RtlCopyMemory(ring + WAVE_HALF, ext->Scratch, second);
	WaveSilence(ext, ring + WAVE_HALF + second, WAVE_HALF - second);
	ext->Level[0] = first;
	ext->Level[1] = second;
#ifndef DMACOH_BUG_C01
	KeFlushIoBuffers(ext->Active->HalfMdl[0], FALSE, TRUE);
	KeFlushIoBuffers(ext->Active->HalfMdl[1], FALSE, TRUE);
#endif
}

/* --- Capture: emptying the ring ------------------------------------------------------------ */

/* Copies captured bytes into the reads, in order, completing each one that is full; returns
 * how many bytes a read took (the rest had no read to go to). */
static ULONG WaveFillReads(PWAVE_EXTENSION ext, const UCHAR *src, ULONG len, PLIST_ENTRY done)
{
	ULONG taken = 0, want, served, n;

	while (taken < len) {
		if (ext->Current == NULL)
			ext->Current = WaveTake(ext, IRP_MJ_READ);
		if (ext->Current == NULL || WaveKind(ext->Current) != IRP_MJ_READ)
			break;
		want = WaveLength(ext->Current);
		served = WaveIrpDone(ext->Current);
		n = want - served;
		if (n > len - taken)
			n = len - taken;
		RtlCopyMemory(WaveIrpBuffer(ext->Current) + served, src + taken, n);
		WaveIrpSetDone(ext->Current, served + n);
		taken += n;
		if (served + n == want) {
#ifdef DMACOH_BUG_C06
			/* MISTAKE (C06): the read's buffer was filled by the CPU, not by the
			 * device, and the request completes without the flush a PIO read needs:
			 * other agents may still see memory without these bytes. */
#else
			/* P1: the CPU filled the caller's buffer; as after a PIO read, its lines
			 * go to memory before the request completes. */
			KeFlushIoBuffers(ext->Current->MdlAddress, TRUE, FALSE);
#endif
			WaveFinish(done, ext->Current, STATUS_SUCCESS, want);
			ext->Current = NULL;
		}
	}
	return taken;
}

/* Serves reads from the kept bytes first: they came before anything still in the ring. */
static VOID WaveServeKept(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	ext->KeepOff +=
	    WaveFillReads(ext, ext->Keep + ext->KeepOff, ext->KeepLen - ext->KeepOff, done);
	if (ext->KeepOff == ext->KeepLen)
		ext->KeepOff = ext->KeepLen = 0;
}

/* Copies the session's captured bytes up to `upto` out of the ring: into the reads, the rest
 * kept for the next ones. */
static VOID WaveCopyOut(PWAVE_EXTENSION ext, ULONG upto, PLIST_ENTRY done)
{
	ULONG at, n, taken, first = (ext->Copied / WAVE_HALF) % 2;

	if (upto <= ext->Copied)
		return;
#ifdef DMACOH_BUG_C04
	/* MISTAKE (C04): the captured bytes are read through the cache without synchronising
	 * it first; a line the CPU (or its prefetcher) brought in before the device wrote
	 * there is read as it was, stale. */
	(void)first;
#else
	/* G2: lines of these halves the CPU may hold are older than what the device wrote:
	 * invalidate them before reading. */
	KeFlushIoBuffers(ext->Active->HalfMdl[first], TRUE, TRUE);
	if (((upto - 1) / WAVE_HALF) % 2 != first || upto - ext->Copied > WAVE_HALF)
		KeFlushIoBuffers(ext->Active->HalfMdl[first ^ 1], TRUE, TRUE);
#endif
	while (ext->Copied < upto) {
		at = ext->Copied % WAVE_RING;
		n = upto - ext->Copied;
		if (n > WAVE_RING - at)
			n = WAVE_RING - at;
		taken = WaveFillReads(ext, ext->Active->Ring + at, n, done);
		if (taken < n) {
			/* No read wants them yet: keep them, in order. */
			ULONG keep = n - taken;

			if (keep > WAVE_KEEP - ext->KeepLen)
				keep =
				    WAVE_KEEP - ext->KeepLen; /* cannot happen: see the stop rule */
			RtlCopyMemory(ext->Keep + ext->KeepLen, ext->Active->Ring + at + taken,
			              keep);
			ext->KeepLen += keep;
		}
		ext->Copied += n;
	}
}

/* --- Sessions ------------------------------------------------------------------------------ */

static VOID WaveArmWatchdog(PWAVE_EXTENSION ext)
{
	LARGE_INTEGER due;
	ULONGLONG rate = (ULONGLONG)ext->Format.SamplesPerSec * ext->FrameBytes;

	/* Two blocks and 100 ms, relative, in 100 ns units. */
	ext->WatchBlocks = ext->IsrBlocks;
	due.QuadPart = -(LONGLONG)(2ULL * WAVE_HALF * 10000000ULL / rate + 1000000ULL);
	KeSetTimer(&ext->Watchdog, due, &ext->WatchdogDpc);
}

/* FlushAdapterBuffers then FreeAdapterChannel: the end of every session (G3, G7). */
static BOOLEAN WaveReleaseChannel(PWAVE_EXTENSION ext)
{
	PWAVE_DMA dma = ext->Active;
	BOOLEAN ok = TRUE;

	if (!ext->ChannelHeld)
		return TRUE;
#if defined(DMACOH_BUG_C07)
		/* MISTAKE (C07): "the DSP has stopped, there is nothing to drain": the channel is
		 * freed without FlushAdapterBuffers.  Bytes still in the controller never reach
		 * memory (or the DSP), the channel is left unmasked, and a transfer error goes
		 * unseen. */
#elif defined(DMACOH_BUG_A01)
	/* MISTAKE (A01): the flush names the last DSP block, half the ring, not what the one
	 * MapTransfer mapped (the whole ring). */
	ok = dma->Adapter->DmaOperations->FlushAdapterBuffers(
	    dma->Adapter, dma->RingMdl, ext->MapRegisterBase, MmGetMdlVirtualAddress(dma->RingMdl),
	    WAVE_HALF, (BOOLEAN)(ext->State == WavePlaying));
#else
	/* G3: drain the controller; the arguments are those of the MapTransfer. */
	ok = dma->Adapter->DmaOperations->FlushAdapterBuffers(
	    dma->Adapter, dma->RingMdl, ext->MapRegisterBase, MmGetMdlVirtualAddress(dma->RingMdl),
	    WAVE_RING, (BOOLEAN)(ext->State == WavePlaying));
#endif
	dma->Adapter->DmaOperations->FreeAdapterChannel(dma->Adapter);
	ext->ChannelHeld = FALSE;
	ext->MapRegisterBase = NULL;
	return ok;
}

static IO_ALLOCATION_ACTION WaveAdapterControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                               PVOID MapRegisterBase, PVOID Context)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)Context;
	PWAVE_DMA dma = ext->Active;
	ULONG length = WAVE_RING;
	BOOLEAN playing = (BOOLEAN)(ext->State == WavePlaying);
	ULONG rate = ext->Format.SamplesPerSec;

	UNREFERENCED_PARAMETER(DeviceObject);
	UNREFERENCED_PARAMETER(Irp);
	ext->MapRegisterBase = MapRegisterBase;
	ext->ChannelHeld = TRUE;

	/* Once, over the whole ring: the channel auto-initializes at every terminal count. */
	(void)dma->Adapter->DmaOperations->MapTransfer(dma->Adapter, dma->RingMdl, MapRegisterBase,
	                                               MmGetMdlVirtualAddress(dma->RingMdl),
	                                               &length, playing);

	WaveDspWrite(ext, playing ? DSP_SPEAKER_ON : DSP_SPEAKER_OFF);
	WaveDspWrite(ext, playing ? DSP_RATE_OUT : DSP_RATE_IN);
	WaveDspWrite(ext, (UCHAR)(rate >> 8));
	WaveDspWrite(ext, (UCHAR)(rate & 0xFF));
	if (playing) {
		if (ext->Level[0] < WAVE_HALF || ext->Level[1] == 0) {
			/* All there is fits in the first block: play exactly that and stop. */
			WaveDspTransfer(ext, FALSE, ext->Level[0]);
			ext->StopIssued = TRUE;
		} else {
			WaveDspTransfer(ext, TRUE, WAVE_HALF);
			ext->OpenHalf = ext->Level[1] < WAVE_HALF ? 1 : -1;
		}
	} else {
		WaveDspTransfer(ext, TRUE, WAVE_HALF);
		if (ext->Current != NULL &&
		    WaveLength(ext->Current) - WaveIrpDone(ext->Current) <= WAVE_HALF &&
		    WaveNextKind(ext) != IRP_MJ_READ) {
			/* One block covers what the reads want. */
			WaveDspExitAuto(ext);
			ext->StopIssued = TRUE;
			ext->SessionEnd = WAVE_HALF;
		}
	}
	WaveArmWatchdog(ext);
	return KeepObject;
}

/* Starts a session on the channel of the format's width (Lock held, DISPATCH_LEVEL). */
static VOID WaveStartSession(PWAVE_EXTENSION ext, WAVE_STATE state, PLIST_ENTRY done)
{
	PWAVE_DMA dma = ext->Active;
	NTSTATUS status;

	ext->State = state;
	ext->Blocks = 0;
	ext->StopIssued = FALSE;
	ext->OpenHalf = -1;
	ext->Copied = 0;
	ext->SessionEnd = 0;
	ext->DpcBlocks = ext->IsrBlocks;
	if (state == WavePlaying) {
		WaveFillHalf(ext, 0, done);
		if (ext->Level[0] == WAVE_HALF)
			WaveFillHalf(ext, 1, done);
	} else {
		/* G2: the device is about to write the ring: no line of it may stay in the cache
		 * to be written back over the samples or read instead of them. */
		KeFlushIoBuffers(dma->RingMdl, TRUE, TRUE);
	}
	status = dma->Adapter->DmaOperations->AllocateAdapterChannel(
	    dma->Adapter, ext->Self, BYTES_TO_PAGES(WAVE_RING), WaveAdapterControl, ext);
	if (!NT_SUCCESS(status)) {
		ext->State = WaveIdle;
		WaveFailAll(ext, status, done);
	}
}

/* Starts what the next request needs, when no session runs; while one does, a new write may
 * still go into the half that plays next (Lock held). */
static VOID WaveKick(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	UCHAR kind;
	PIRP irp;

	for (;;) {
		if (ext->State == WavePlaying) {
			if (!ext->StopIssued && ext->OpenHalf >= 0) {
				WaveFillHalf(ext, (ULONG)ext->OpenHalf, done);
				if (ext->Level[ext->OpenHalf] == WAVE_HALF)
					ext->OpenHalf = -1;
			}
			return;
		}
		if (ext->State == WaveRecording) {
			if (ext->Current == NULL && ext->KeepLen != 0)
				WaveServeKept(ext, done);
			return;
		}
		if (ext->Current == NULL) {
			kind = WaveNextKind(ext);
			if (kind == WAVE_NO_IRP)
				return;
			if (kind == IRP_MJ_DEVICE_CONTROL) {
				irp = WaveTake(ext, kind);
				if (irp != NULL) {
					/* Everything before it has been played or recorded. */
					DMACOH_STREAM_FORMAT *f =
					    (DMACOH_STREAM_FORMAT *)irp->AssociatedIrp.SystemBuffer;

					ext->Format = *f;
					ext->FrameBytes = (ULONG)f->BitsPerSample / 8 * f->Channels;
					ext->HaveFormat = TRUE;
					/* Samples kept from a capture are of the old format. */
					ext->KeepOff = ext->KeepLen = 0;
					WaveFinish(done, irp, STATUS_SUCCESS, 0);
				}
				continue;
			}
			if (kind == IRP_MJ_READ) {
				ext->Current = WaveTake(ext, kind);
				if (ext->Current == NULL)
					continue;
				WaveServeKept(ext, done);
				if (ext->Current == NULL)
					continue; /* served from what was kept */
			} else {
				ext->Current = WaveTake(ext, kind);
				if (ext->Current == NULL)
					continue;
			}
		}
		if (!ext->HaveFormat || WaveLength(ext->Current) % ext->FrameBytes != 0) {
			WaveFinish(done, ext->Current, STATUS_INVALID_PARAMETER, 0);
			ext->Current = NULL;
			continue;
		}
		ext->Active = &ext->Dma[WaveSixteen(ext) ? 1 : 0];
		WaveStartSession(
		    ext, WaveKind(ext->Current) == IRP_MJ_WRITE ? WavePlaying : WaveRecording,
		    done);
		return;
	}
}

/* The session is over: the DSP has stopped after its last block. */
static VOID WaveEndSession(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	BOOLEAN ok;

	KeCancelTimer(&ext->Watchdog);
	ok = WaveReleaseChannel(ext);
	if (!ok)
		/* G6: the controller saw a transfer error.  The DSP announced every block of the
		 * session (its last interrupt came), so no data is missing: say so and go on. */
		DbgPrint("wave: transfer error reported at the end of a %s session\n",
		         ext->State == WavePlaying ? "playback" : "capture");
	if (ext->State == WaveRecording)
		/* The drain wrote the controller's last bytes: all of the session is in the ring.
		 */
		WaveCopyOut(ext, ext->SessionEnd, done);
	ext->State = WaveIdle;
	ext->Restarts = 0;
	WaveKick(ext, done);
}

/* Playback: block n ended, the device plays the other half now. */
static VOID WavePlayBlock(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	ULONG n = ++ext->Blocks, played = (n - 1) % 2, playing = n % 2;

	ext->Played += ext->Level[played];
	ext->Level[played] = 0;
	if (ext->StopIssued) {
		WaveEndSession(ext, done);
		return;
	}
	ext->OpenHalf = -1; /* the half now playing takes no more data */
	if (ext->Level[playing] < WAVE_HALF) {
		/* The last data: play exactly that much of the half and stop (a single-cycle
		 * command replaces the auto-initialize one; the channel runs on). */
		WaveDspTransfer(ext, FALSE, ext->Level[playing]);
		ext->StopIssued = TRUE;
		return;
	}
	WaveFillHalf(ext, played, done);
	if (ext->Level[played] == 0) {
		/* Nothing more to play: stop at the end of the half now playing. */
		WaveDspExitAuto(ext);
		ext->StopIssued = TRUE;
	} else if (ext->Level[played] < WAVE_HALF) {
		ext->OpenHalf = (LONG)played;
	}
}

/* Capture: block n is in the ring (but for what the controller may still hold). */
static VOID WaveRecordBlock(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	ULONG n = ++ext->Blocks, left;

	ext->Captured += WAVE_HALF;
	if (ext->StopIssued) {
		WaveEndSession(ext, done);
		return;
	}
	WaveCopyOut(ext, n * WAVE_HALF - WAVE_HELD_MAX, done);
	/* Stop once the block being recorded covers what the reads want (what is left over
	 * is kept: at most two blocks and the held bytes, WAVE_KEEP). */
	left = (n + 1) * WAVE_HALF - ext->Copied;
	if (ext->Current == NULL || (WaveLength(ext->Current) - WaveIrpDone(ext->Current) <= left &&
	                             WaveNextKind(ext) != IRP_MJ_READ)) {
		WaveDspExitAuto(ext);
		ext->StopIssued = TRUE;
		ext->SessionEnd = (n + 1) * WAVE_HALF;
	}
}

/* The DSP went quiet: after a transfer error it stops, and a dead card never interrupts.
 * Restart where the blocks it announced end (Lock held). */
static VOID WaveRecover(PWAVE_EXTENSION ext, PLIST_ENTRY done)
{
	BOOLEAN ok;

	WaveDspReset(ext);
	ok = WaveReleaseChannel(ext);
	DbgPrint("wave: no block interrupt for two block times (flush %s); restarting\n",
	         ok ? "succeeded" : "reported a transfer error");
	ext->Restarts = ext->Blocks == 0 ? ext->Restarts + 1 : 0;
	if (ext->State == WavePlaying) {
		/* Blocks 1..n were played (their interrupts came); the rest of the ring is played
		 * again from the start of the half that was playing. */
		if (ext->Blocks % 2)
			WaveRotate(ext);
	} else {
		/* Blocks 1..n are in the ring (the drain wrote what the controller held); a block
		 * the device did not finish is dropped. */
		WaveCopyOut(ext, ext->Blocks * WAVE_HALF, done);
	}
	ext->State = WaveIdle;
	if (ext->Restarts >= WAVE_MAX_RESTARTS) {
		ext->Restarts = 0;
		WaveFailAll(ext, STATUS_IO_DEVICE_ERROR, done);
		return;
	}
	if (ext->Level[0] != 0) {
		/* Unplayed data in the ring: it goes first. */
		WaveStartSession(ext, WavePlaying, done);
		return;
	}
	WaveKick(ext, done);
}

static VOID WaveWatchdogDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                            PVOID SystemArgument2)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeferredContext;
	LIST_ENTRY done;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(SystemArgument1);
	UNREFERENCED_PARAMETER(SystemArgument2);
	InitializeListHead(&done);
	KeAcquireSpinLockAtDpcLevel(&ext->Lock);
	if (ext->State != WaveIdle) {
		if (ext->IsrBlocks != ext->WatchBlocks)
			WaveArmWatchdog(ext); /* a block came; its DPC is on the way */
		else
			WaveRecover(ext, &done);
	}
	KeReleaseSpinLockFromDpcLevel(&ext->Lock);
	WaveCompleteList(&done);
}

/* --- Interrupt ----------------------------------------------------------------------------- */

static BOOLEAN WaveIsr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)ServiceContext;
	UCHAR status;

	UNREFERENCED_PARAMETER(Interrupt);
	WRITE_PORT_UCHAR(ext->Ports + SB_MIXER_ADDR, SB_MIX_STATUS);
	status = READ_PORT_UCHAR(ext->Ports + SB_MIXER_DATA);
	if ((status & (SB_IST_8 | SB_IST_16)) == 0)
		return FALSE;
	/* The DSP's acknowledgement is a read of its ack port. */
	if (status & SB_IST_8)
		(void)READ_PORT_UCHAR(ext->Ports + SB_RSTATUS);
	if (status & SB_IST_16)
		(void)READ_PORT_UCHAR(ext->Ports + SB_ACK16);
	InterlockedIncrement(&ext->IsrBlocks);
	IoRequestDpc(ext->Self, NULL, NULL);
	return TRUE;
}

static VOID WaveDpcForIsr(PKDPC Dpc, PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeviceObject->DeviceExtension;
	LIST_ENTRY done;

	UNREFERENCED_PARAMETER(Dpc);
	UNREFERENCED_PARAMETER(Irp);
	UNREFERENCED_PARAMETER(Context);
	InitializeListHead(&done);
	KeAcquireSpinLockAtDpcLevel(&ext->Lock);
	while (ext->DpcBlocks != ext->IsrBlocks) {
		ext->DpcBlocks++;
		if (ext->State == WavePlaying)
			WavePlayBlock(ext, &done);
		else if (ext->State == WaveRecording)
			WaveRecordBlock(ext, &done);
		if (ext->State != WaveIdle)
			WaveArmWatchdog(ext);
	}
	KeReleaseSpinLockFromDpcLevel(&ext->Lock);
	WaveCompleteList(&done);
}

/* --- Dispatch ------------------------------------------------------------------------------ */

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);

	DriverObject->DriverExtension->AddDevice = WaveAddDevice;
	DriverObject->DriverUnload = WaveUnload;
	DriverObject->MajorFunction[IRP_MJ_CREATE] = WaveCreateClose;
	DriverObject->MajorFunction[IRP_MJ_CLOSE] = WaveCreateClose;
	DriverObject->MajorFunction[IRP_MJ_READ] = WaveReadWrite;
	DriverObject->MajorFunction[IRP_MJ_WRITE] = WaveReadWrite;
	DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = WaveDeviceControl;
	DriverObject->MajorFunction[IRP_MJ_PNP] = WavePnp;
	DriverObject->MajorFunction[IRP_MJ_POWER] = WavePower;
	return STATUS_SUCCESS;
}

static VOID WaveUnload(PDRIVER_OBJECT DriverObject)
{
	UNREFERENCED_PARAMETER(DriverObject);
}

static NTSTATUS WaveAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
	PDEVICE_OBJECT fdo;
	PWAVE_EXTENSION ext;
	NTSTATUS status;

	status = IoCreateDevice(DriverObject, sizeof(WAVE_EXTENSION), NULL, FILE_DEVICE_SOUND,
	                        FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
	if (!NT_SUCCESS(status))
		return status;

	ext = (PWAVE_EXTENSION)fdo->DeviceExtension;
	RtlZeroMemory(ext, sizeof(*ext));
	ext->Self = fdo;
	ext->Pdo = PhysicalDeviceObject;
	ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
	if (ext->LowerDevice == NULL) {
		IoDeleteDevice(fdo);
		return STATUS_NO_SUCH_DEVICE;
	}
	KeInitializeSpinLock(&ext->Lock);
	KeInitializeSpinLock(&ext->QueueLock);
	InitializeListHead(&ext->QueueHead);
	IoCsqInitialize(&ext->Queue, WaveCsqInsert, WaveCsqRemove, WaveCsqPeek, WaveCsqAcquire,
	                WaveCsqRelease, WaveCsqCompleteCanceled);
	KeInitializeTimer(&ext->Watchdog);
	KeInitializeDpc(&ext->WatchdogDpc, WaveWatchdogDpc, ext);
	fdo->Flags |= DO_DIRECT_IO | DO_POWER_PAGABLE;
	fdo->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static NTSTATUS WaveCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	UNREFERENCED_PARAMETER(DeviceObject);
	return WaveCompleteNow(Irp, STATUS_SUCCESS, 0);
}

/* Queues a request in order and lets the stream take it. */
static NTSTATUS WaveQueue(PWAVE_EXTENSION ext, PIRP Irp)
{
	LIST_ENTRY done;
	KIRQL irql;

	InitializeListHead(&done);
	IoCsqInsertIrp(&ext->Queue, Irp, NULL); /* marks it pending */
	KeAcquireSpinLock(&ext->Lock, &irql);
	WaveKick(ext, &done);
	KeReleaseSpinLock(&ext->Lock, irql);
	WaveCompleteList(&done);
	return STATUS_PENDING;
}

static NTSTATUS WaveReadWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeviceObject->DeviceExtension;
	ULONG length = WaveLength(Irp);
	PUCHAR buffer;

	if (!ext->Started)
		return WaveCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	if (length == 0)
		return WaveCompleteNow(Irp, STATUS_SUCCESS, 0);
	if (ext->RequestedFrame == 0)
		return WaveCompleteNow(Irp, STATUS_INVALID_DEVICE_STATE, 0);
	if (length > WAVE_MAX_REQUEST || length % ext->RequestedFrame != 0 ||
	    Irp->MdlAddress == NULL || MmGetMdlByteCount(Irp->MdlAddress) < length)
		return WaveCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);

	/* P2: the caller's buffer through its system address, never the MDL's user address. */
	buffer = (PUCHAR)MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
	if (buffer == NULL)
		return WaveCompleteNow(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
	Irp->Tail.Overlay.DriverContext[0] = buffer;
	WaveIrpSetDone(Irp, 0);
	return WaveQueue(ext, Irp);
}

/* Bytes through the channel since the session's current block began: ReadDmaCounter gives
 * the bytes left in the current lap of the ring. */
static ULONG WaveProgress(PWAVE_EXTENSION ext)
{
	PDMA_ADAPTER adapter = ext->Active->Adapter;
	ULONG left = adapter->DmaOperations->ReadDmaCounter(adapter);
	ULONG offset = (WAVE_RING - left % WAVE_RING) % WAVE_RING;
	ULONG start = (ext->Blocks % 2) * WAVE_HALF;

	return (offset + WAVE_RING - start) % WAVE_RING;
}

static NTSTATUS WaveDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	ULONG in = stack->Parameters.DeviceIoControl.InputBufferLength;
	ULONG out = stack->Parameters.DeviceIoControl.OutputBufferLength;
	DMACOH_STREAM_FORMAT *f;
	DMACOH_STREAM_POSITION pos;
	ULONGLONG capacity;
	ULONG progress, cur, limit;
	KIRQL irql;

	if (!ext->Started)
		return WaveCompleteNow(Irp, STATUS_DEVICE_NOT_READY, 0);
	switch (stack->Parameters.DeviceIoControl.IoControlCode) {
	case IOCTL_DMACOH_QUERY_CAPACITY:
		if (out < sizeof(ULONGLONG))
			return WaveCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		capacity = WAVE_MAX_REQUEST;
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &capacity, sizeof(capacity));
		return WaveCompleteNow(Irp, STATUS_SUCCESS, sizeof(capacity));

	case IOCTL_DMACOH_STREAM_SET_FORMAT:
		f = (DMACOH_STREAM_FORMAT *)Irp->AssociatedIrp.SystemBuffer;
		if (in < sizeof(*f) || f->SamplesPerSec < 5000 || f->SamplesPerSec > 44100 ||
		    (f->BitsPerSample != 8 && f->BitsPerSample != 16) ||
		    (f->Channels != 1 && f->Channels != 2))
			return WaveCompleteNow(Irp, STATUS_INVALID_PARAMETER, 0);
		ext->RequestedFrame = (ULONG)f->BitsPerSample / 8 * f->Channels;
		return WaveQueue(ext, Irp);

	case IOCTL_DMACOH_STREAM_POSITION:
		if (out < sizeof(pos))
			return WaveCompleteNow(Irp, STATUS_BUFFER_TOO_SMALL, 0);
		KeAcquireSpinLock(&ext->Lock, &irql);
		pos.BytesPlayed = ext->Played;
		pos.BytesCaptured = ext->Captured;
		if (ext->ChannelHeld) {
			progress = WaveProgress(ext);
			if (ext->State == WavePlaying) {
				/* No further than the data: the controller may read silence ahead.
				 */
				cur = ext->Blocks % 2;
				limit = ext->Level[cur] +
				        (ext->Level[cur] == WAVE_HALF ? ext->Level[cur ^ 1] : 0);
				pos.BytesPlayed += progress < limit ? progress : limit;
			} else {
				pos.BytesCaptured += progress;
			}
		}
		KeReleaseSpinLock(&ext->Lock, irql);
		RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &pos, sizeof(pos));
		return WaveCompleteNow(Irp, STATUS_SUCCESS, sizeof(pos));

	default:
		return WaveCompleteNow(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* --- Start and stop ------------------------------------------------------------------------ */

/* Stops a stream and fails what is queued (Lock not held). */
static VOID WaveStopStream(PWAVE_EXTENSION ext, NTSTATUS status)
{
	LIST_ENTRY done;
	KIRQL irql;

	InitializeListHead(&done);
	KeAcquireSpinLock(&ext->Lock, &irql);
	KeCancelTimer(&ext->Watchdog);
	KeRemoveQueueDpc(&ext->WatchdogDpc);
	if (ext->State != WaveIdle) {
		WaveDspReset(ext);
		(void)WaveReleaseChannel(ext);
		ext->State = WaveIdle;
	}
	WaveFailAll(ext, status, &done);
	KeReleaseSpinLock(&ext->Lock, irql);
	WaveCompleteList(&done);
}

static VOID WaveFreeDma(PWAVE_DMA dma)
{
	ULONG i;

	for (i = 0; i < 2; i++) {
		if (dma->HalfMdl[i] != NULL) {
			IoFreeMdl(dma->HalfMdl[i]);
			dma->HalfMdl[i] = NULL;
		}
	}
	if (dma->RingMdl != NULL) {
		IoFreeMdl(dma->RingMdl);
		dma->RingMdl = NULL;
	}
	if (dma->Ring != NULL) {
#if defined(DMACOH_BUG_A05)
		/* MISTAKE (A05): the common buffer is forgotten at stop/remove; PutDmaAdapter
		 * below then releases an adapter that still owns it, and the buffer leaks. */
#elif defined(DMACOH_BUG_A11)
		/* MISTAKE (A11): freed with the DSP's block size, half of what was allocated:
		 * there is no partial free. */
		dma->Adapter->DmaOperations->FreeCommonBuffer(dma->Adapter, WAVE_HALF,
		                                              dma->RingLogical, dma->Ring, TRUE);
#else
		dma->Adapter->DmaOperations->FreeCommonBuffer(dma->Adapter, WAVE_RING,
		                                              dma->RingLogical, dma->Ring, TRUE);
#endif
		dma->Ring = NULL;
	}
	if (dma->Adapter != NULL) {
		dma->Adapter->DmaOperations->PutDmaAdapter(dma->Adapter);
		dma->Adapter = NULL;
	}
}

/* Gives back everything START_DEVICE took.  G14: each common buffer before its adapter. */
static VOID WaveReleaseHardware(PWAVE_EXTENSION ext, NTSTATUS status)
{
	if (ext->Started)
		WaveStopStream(ext, status);
	ext->Started = FALSE;
	if (ext->InterruptObject != NULL) {
		IoDisconnectInterrupt(ext->InterruptObject);
		ext->InterruptObject = NULL;
		KeRemoveQueueDpc(&ext->Self->Dpc);
	}
	WaveFreeDma(&ext->Dma[0]);
	WaveFreeDma(&ext->Dma[1]);
	if (ext->Keep != NULL) {
		ExFreePoolWithTag(ext->Keep, WAVE_TAG);
		ext->Keep = NULL;
	}
	if (ext->Scratch != NULL) {
		ExFreePoolWithTag(ext->Scratch, WAVE_TAG);
		ext->Scratch = NULL;
	}
	ext->Ports = NULL;
}

/* An adapter and a ring for one channel. */
static NTSTATUS WaveSetupDma(PWAVE_EXTENSION ext, PWAVE_DMA dma, ULONG channel, DMA_WIDTH width,
                             INTERFACE_TYPE bus, ULONG busNumber)
{
	DEVICE_DESCRIPTION desc;
	ULONG i;

	/* G14: zeroed; version 1 (no demand mode). */
	RtlZeroMemory(&desc, sizeof(desc));
	desc.Version = DEVICE_DESCRIPTION_VERSION1;
	desc.Master = FALSE;
	desc.ScatterGather = FALSE;
	desc.AutoInitialize = TRUE;
	desc.IgnoreCount = FALSE; /* the counter gives the play position */
	desc.BusNumber = busNumber;
	desc.DmaChannel = channel;
	desc.InterfaceType = bus;
	desc.DmaWidth = width;
	desc.DmaSpeed = Compatible;
	desc.MaximumLength = WAVE_RING;
	dma->Channel = channel;
	dma->Adapter = IoGetDmaAdapter(ext->Pdo, &desc, &dma->MapRegisterCount);
	if (dma->Adapter == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (dma->MapRegisterCount < BYTES_TO_PAGES(WAVE_RING))
		return STATUS_INSUFFICIENT_RESOURCES;

	/* 5.2 step 2: the ring, cache-enabled (so G2 applies to every half the CPU fills or
	 * reads), and MDLs to flush it through. */
	dma->Ring = (PUCHAR)dma->Adapter->DmaOperations->AllocateCommonBuffer(
	    dma->Adapter, WAVE_RING, &dma->RingLogical, TRUE);
	if (dma->Ring == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	dma->RingMdl = IoAllocateMdl(dma->Ring, WAVE_RING, FALSE, FALSE, NULL);
	if (dma->RingMdl == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	MmBuildMdlForNonPagedPool(dma->RingMdl);
	for (i = 0; i < 2; i++) {
		dma->HalfMdl[i] =
		    IoAllocateMdl(dma->Ring + i * WAVE_HALF, WAVE_HALF, FALSE, FALSE, NULL);
		if (dma->HalfMdl[i] == NULL)
			return STATUS_INSUFFICIENT_RESOURCES;
		MmBuildMdlForNonPagedPool(dma->HalfMdl[i]);
	}
	return STATUS_SUCCESS;
}

static NTSTATUS WaveStartDevice(PDEVICE_OBJECT fdo, PCM_RESOURCE_LIST raw,
                                PCM_RESOURCE_LIST translated)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)fdo->DeviceExtension;
	BOOLEAN havePorts = FALSE, haveInterrupt = FALSE, shareVector = FALSE;
	ULONG vector = 0, irqLine = 0, busNumber = 0, portsLength = 0, i, j;
	ULONG dma8 = 0xFFFFFFFF, dma16 = 0xFFFFFFFF, channel;
	KIRQL irql = 0;
	KAFFINITY affinity = 0;
	KINTERRUPT_MODE mode = LevelSensitive;
	INTERFACE_TYPE bus = Isa;
	UCHAR irqSelect, dmaSelect;
	NTSTATUS status;

	if (raw == NULL || translated == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (i = 0; i < translated->Count; i++) {
		PCM_FULL_RESOURCE_DESCRIPTOR full = &translated->List[i];
		PCM_PARTIAL_RESOURCE_LIST partial = &full->PartialResourceList;

		for (j = 0; j < partial->Count; j++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &partial->PartialDescriptors[j];

			switch (d->Type) {
			case CmResourceTypePort:
				ext->Ports = (PUCHAR)(ULONG_PTR)d->u.Port.Start.QuadPart;
				portsLength = d->u.Port.Length;
				havePorts = (d->Flags & CM_RESOURCE_PORT_IO) != 0;
				bus = full->InterfaceType;
				busNumber = full->BusNumber;
				break;
			case CmResourceTypeInterrupt:
				irql = (KIRQL)d->u.Interrupt.Level;
				vector = d->u.Interrupt.Vector;
				affinity = d->u.Interrupt.Affinity;
				mode = (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched
				                                                  : LevelSensitive;
				shareVector = d->ShareDisposition == CmResourceShareShared;
				haveInterrupt = TRUE;
				break;
			case CmResourceTypeDma:
				/* Two channels: the 8-bit one (0-3) and the 16-bit one (5-7). */
				channel = d->u.Dma.Channel;
				if ((d->Flags & CM_RESOURCE_DMA_16) || channel >= 4)
					dma16 = channel;
				else
					dma8 = channel;
				break;
			default:
				break;
			}
		}
	}
	/* The card's jumperless setup wants the IRQ line as the bus numbers it: raw. */
	for (i = 0; i < raw->Count; i++)
		for (j = 0; j < raw->List[i].PartialResourceList.Count; j++)
			if (raw->List[i].PartialResourceList.PartialDescriptors[j].Type ==
			    CmResourceTypeInterrupt)
				irqLine = raw->List[i]
				              .PartialResourceList.PartialDescriptors[j]
				              .u.Interrupt.Level;
	if (!havePorts || !haveInterrupt || dma8 > 3 || dma16 < 5 || dma16 > 7 ||
	    portsLength < SB_PORT_COUNT)
		return STATUS_DEVICE_CONFIGURATION_ERROR;

	/* The DSP: reset handshake, then its version (4.xx is a Sound Blaster 16). */
	if (!WaveDspReset(ext) || !WaveDspWrite(ext, DSP_VERSION) ||
	    !WaveDspRead(ext, &ext->DspMajor) || !WaveDspRead(ext, &ext->DspMinor) ||
	    ext->DspMajor != 4) {
		ext->Ports = NULL;
		return STATUS_DEVICE_CONFIGURATION_ERROR;
	}
	/* IRQ and DMA select (mixer 0x80, 0x81) as the resources say. */
	irqSelect = irqLine == 9 || irqLine == 2 ? 0x01
	            : irqLine == 5               ? 0x02
	            : irqLine == 7               ? 0x04
	            : irqLine == 10              ? 0x08
	                                         : 0;
	dmaSelect = (UCHAR)((dma8 == 0   ? 0x01
	                     : dma8 == 1 ? 0x02
	                     : dma8 == 3 ? 0x08
	                                 : 0) |
	                    (0x20 << (dma16 - 5)));
	if (irqSelect == 0 || dma8 == 2) {
		ext->Ports = NULL;
		return STATUS_DEVICE_CONFIGURATION_ERROR;
	}
	WRITE_PORT_UCHAR(ext->Ports + SB_MIXER_ADDR, SB_MIX_IRQ);
	WRITE_PORT_UCHAR(ext->Ports + SB_MIXER_DATA, irqSelect);
	WRITE_PORT_UCHAR(ext->Ports + SB_MIXER_ADDR, SB_MIX_DMA);
	WRITE_PORT_UCHAR(ext->Ports + SB_MIXER_DATA, dmaSelect);

	status = WaveSetupDma(ext, &ext->Dma[0], dma8, Width8Bits, bus, busNumber);
	if (NT_SUCCESS(status))
		status = WaveSetupDma(ext, &ext->Dma[1], dma16, Width16Bits, bus, busNumber);
	if (!NT_SUCCESS(status))
		goto fail;
	ext->Keep = (PUCHAR)ExAllocatePoolWithTag(NonPagedPool, WAVE_KEEP, WAVE_TAG);
	ext->Scratch = (PUCHAR)ExAllocatePoolWithTag(NonPagedPool, WAVE_HALF, WAVE_TAG);
	if (ext->Keep == NULL || ext->Scratch == NULL) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto fail;
	}

	IoInitializeDpcRequest(fdo, WaveDpcForIsr);
	status = IoConnectInterrupt(&ext->InterruptObject, WaveIsr, ext, NULL, vector, irql, irql,
	                            mode, shareVector, affinity, FALSE);
	if (!NT_SUCCESS(status)) {
		ext->InterruptObject = NULL;
		goto fail;
	}
	ext->Started = TRUE;
	return STATUS_SUCCESS;

fail:
	WaveReleaseHardware(ext, STATUS_DEVICE_NOT_READY);
	return status;
}

static NTSTATUS WavePnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeviceObject->DeviceExtension;
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
	PDEVICE_OBJECT lower = ext->LowerDevice;
	NTSTATUS status;

	switch (stack->MinorFunction) {
	case IRP_MN_START_DEVICE:
		if (!IoForwardIrpSynchronously(lower, Irp))
			status = STATUS_UNSUCCESSFUL;
		else
			status = Irp->IoStatus.Status;
		if (NT_SUCCESS(status))
			status = WaveStartDevice(
			    DeviceObject, stack->Parameters.StartDevice.AllocatedResources,
			    stack->Parameters.StartDevice.AllocatedResourcesTranslated);
		return WaveCompleteNow(Irp, status, 0);

	case IRP_MN_STOP_DEVICE:
	case IRP_MN_SURPRISE_REMOVAL:
		WaveReleaseHardware(ext, STATUS_DEVICE_NOT_READY);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	case IRP_MN_REMOVE_DEVICE:
		WaveReleaseHardware(ext, STATUS_DELETE_PENDING);
		Irp->IoStatus.Status = STATUS_SUCCESS;
		IoSkipCurrentIrpStackLocation(Irp);
		status = IoCallDriver(lower, Irp);
		IoDetachDevice(lower);
		IoDeleteDevice(DeviceObject);
		return status;

	case IRP_MN_QUERY_STOP_DEVICE:
	case IRP_MN_QUERY_REMOVE_DEVICE:
	case IRP_MN_CANCEL_STOP_DEVICE:
	case IRP_MN_CANCEL_REMOVE_DEVICE:
		Irp->IoStatus.Status = STATUS_SUCCESS;
		break;

	default:
		break;
	}
	IoSkipCurrentIrpStackLocation(Irp);
	return IoCallDriver(lower, Irp);
}

static NTSTATUS WavePower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
	PWAVE_EXTENSION ext = (PWAVE_EXTENSION)DeviceObject->DeviceExtension;

	PoStartNextPowerIrp(Irp);
	IoSkipCurrentIrpStackLocation(Irp);
	return PoCallDriver(ext->LowerDevice, Irp);
}
