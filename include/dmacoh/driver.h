/* What a driver module tells dmacoh about itself, and the I/O conventions the workloads of
 * `dmacoh run` use.  Not part of the WDK: a driver includes it beside <dmacoh/wdm.h> only to be
 * listed by `dmacoh list drivers` and found by name; an unmodified driver without it still
 * runs (`dmacoh run --driver FILE --device NAME`).
 *
 * Buggy twins are built from their correct driver's source with -DDMACOH_BUG_<RULE> (one rule
 * at a time, e.g. -DDMACOH_BUG_C07) and DMACOH_BUG="C07"; the source keeps the mistake next to
 * the right code under #ifdef, with a comment saying what the mistake is. */
#ifndef DMACOH_DRIVER_H
#define DMACOH_DRIVER_H

#ifdef __cplusplus
extern "C" {
#endif

#define DMACOH_DRIVER_INFO_VERSION 1

/* dmacoh-cc defines this symbol in every module it builds; `dmacoh run` refuses a module
 * without it (its loads and stores would bypass the cache model). */
#define DMACOH_MODULE_MARKER "__dmacoh_module"

struct dmacoh_driver_info {
	unsigned version;   /* DMACOH_DRIVER_INFO_VERSION */
	const char *name;   /* "sysdma"; a twin's name gets "-bug-<RULE>" appended by dmacoh */
	const char *device; /* the device model it drives: "sysblk", "bmblk", "ring", "pio", ... */
	const char *style;  /* one line: "packet-based system DMA (split loop)" */
	const char *bug;    /* NULL for a correct driver, else the rule its mistake breaks: "C07" */
};

#ifdef DMACOH_BUG
#define DMACOH_BUG_RULE_ DMACOH_BUG
#else
#define DMACOH_BUG_RULE_ 0
#endif

/* C++: a namespace-scope const has internal linkage; `dmacoh run` looks the symbol up. */
#ifdef __cplusplus
#define DMACOH_DRIVER_LINKAGE_ extern "C"
#else
#define DMACOH_DRIVER_LINKAGE_
#endif

/* Use once per driver, at file scope. */
#define DMACOH_DRIVER(name_, device_, style_)                                                    \
	DMACOH_DRIVER_LINKAGE_ __attribute__((used, visibility("default")))                      \
	const struct dmacoh_driver_info dmacoh_driver_info = {DMACOH_DRIVER_INFO_VERSION, name_, \
	                                                      device_, style_, DMACOH_BUG_RULE_}

/* --- Workload conventions ----------------------------------------------------------------
 * Block devices (sysblk, bmblk, pio): IRP_MJ_READ / IRP_MJ_WRITE with direct I/O
 * (DO_DIRECT_IO: Irp->MdlAddress describes the caller's buffer, probed and locked);
 * Parameters.Read.ByteOffset.QuadPart is the byte offset in the device's store and
 * Parameters.Read.Length the byte count (multiples of 512 on sector devices, which fail other
 * requests with STATUS_INVALID_PARAMETER).  On success Information = bytes moved.
 * Frame devices (ring): IRP_MJ_WRITE transmits one frame (the whole buffer), IRP_MJ_READ
 * receives the next frame into the buffer (Information = frame length).
 * Every driver answers IOCTL_DMACOH_QUERY_CAPACITY (buffered: a ULONGLONG, the store size in
 * bytes, or for frame devices the largest frame) and fails other control codes with
 * STATUS_INVALID_DEVICE_REQUEST. */
/* CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS) */
#define IOCTL_DMACOH_QUERY_CAPACITY 0x00222004u

/* Stream devices (sb16): a wave device, half duplex, one PCM format for both directions.
 * IOCTL_DMACOH_STREAM_SET_FORMAT (buffered; input: DMACOH_STREAM_FORMAT) sets the format of
 * the data after it.  It is served in order with the reads and writes: it completes once what
 * was sent before it has been played or recorded.  Bad values: STATUS_INVALID_PARAMETER.
 * IRP_MJ_WRITE (direct I/O) plays the buffer's PCM bytes.  Writes are queued and played in the
 * order sent, back to back; a write completes (Information = its length) once all its bytes
 * are in the device's DMA buffer, so the device plays them after the completion.
 * IRP_MJ_READ (direct I/O) records the next Length bytes of the capture source: reads, in the
 * order sent, get consecutive bytes of it from position 0 (Information = Length).
 * Reads and writes are served in the order sent, one direction at a time.  Their lengths are
 * multiples of the frame (BitsPerSample / 8 x Channels) of the format in force when they are
 * served, others (and any before the first format) fail with STATUS_INVALID_PARAMETER or
 * STATUS_INVALID_DEVICE_STATE; ByteOffset is ignored.  What the device plays (its sink) is
 * the bytes of all writes back to back, with no silence between them even when reads come
 * between writes, then at most half the DMA buffer of silence (0x80 for unsigned 8-bit
 * samples, 0x0000 for signed ones, 0x8000 for unsigned 16-bit).
 * IOCTL_DMACOH_STREAM_POSITION (buffered; output: DMACOH_STREAM_POSITION) answers at once with
 * the bytes played and captured through the DMA channels since the device started (a
 * transfer in progress counts the bytes the controller has moved: ReadDmaCounter).
 * IOCTL_DMACOH_QUERY_CAPACITY answers the largest read or write the driver takes. */
/* CTL_CODE(FILE_DEVICE_UNKNOWN, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS) */
#define IOCTL_DMACOH_STREAM_SET_FORMAT 0x00222040u
/* CTL_CODE(FILE_DEVICE_UNKNOWN, 0x811, METHOD_BUFFERED, FILE_ANY_ACCESS) */
#define IOCTL_DMACOH_STREAM_POSITION 0x00222044u

typedef struct _DMACOH_STREAM_FORMAT {
	unsigned int SamplesPerSec;   /* 5000-44100 */
	unsigned short BitsPerSample; /* 8 or 16 */
	unsigned short Channels;      /* 1 or 2 */
	unsigned int Signed; /* non-zero: signed samples (WAV: 8-bit unsigned, 16 signed) */
} DMACOH_STREAM_FORMAT;

typedef struct _DMACOH_STREAM_POSITION {
	unsigned long long BytesPlayed;
	unsigned long long BytesCaptured;
} DMACOH_STREAM_POSITION;

#ifdef __cplusplus
}
#endif

#endif
