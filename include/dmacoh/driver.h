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

#define DMACOH_DRIVER_INFO_VERSION 1

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

/* Use once per driver, at file scope. */
#define DMACOH_DRIVER(name_, device_, style_)                                                    \
	__attribute__((used, visibility("default")))                                             \
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

#endif
