/* The kernel-event audit and request helpers the driver tests of the system DMA and PIO
 * drivers share (tests/test_drv_sysdma.c, test_drv_autoinit.c, test_drv_pio.c). */
#ifndef DC_TESTS_DRV_AUDIT_H
#define DC_TESTS_DRV_AUDIT_H

#include "dctest.h"
#include "kflow.h"

/* --- What the driver did wrong, as far as the kernel's events show --------------------------
 * A stand-in for the sanitizer's API rules, so that the correct driver is held to none: IRQL
 * violations, bad accesses, crashes; a MapTransfer refused, spanning more pages than the
 * AdapterControl granted, or made while the last one of that map register base is still
 * unflushed; a flush whose arguments are not its MapTransfer's, or with nothing mapped; the
 * channel freed or the adapter put with a transfer still mapped or a common buffer still
 * allocated; Information non-zero with a failure, or above the length; a read whose buffer the
 * driver's code wrote, completed without KeFlushIoBuffers(mdl, TRUE, FALSE) after (P1); the CPU
 * reading common-buffer bytes the device wrote since the last KeFlushIoBuffers over them (G2; only
 * a driver with a common buffer, autoinit, has any). */
struct drv_audit {
	const char *label;
	unsigned problems, flush_failures;
	char first[256];
	char kinds[512]; /* every kind of problem seen, "; "-separated */
	struct {
		const void *adapter, *mrb, *mdl, *va;
		uint64_t len;
		enum dc_dir dir;
		bool used;
	} open[8];
	struct {
		const void *adapter;
		uint32_t count;
	} regs[8]; /* registers asked by the adapter's last AllocateAdapterChannel */
	struct {
		const void *irp, *mdl;
		uintptr_t lo, hi;
		bool used, written;
	} reads[4];
	int commons;
	unsigned next_regs;
	/* The ring (the one common buffer): what the device wrote since the CPU last flushed it,
	 * by 16-byte granule (G2: the CPU reads none of it before KeFlushIoBuffers). */
	uint64_t ring_pa, ring_len;
	bool ring_dirty[4096];
};

#define DRV_AUDIT_CHECK(a)                                                            \
	CHECK_MSG((a).problems == 0, "%s: %u API problems, the first: %s", (a).label, \
	          (a).problems, (a).first)

/* kf_open with the audit watching from before AddDevice, on a platform of the caller's making
 * (or the built-in `plat` with `seed` when p is NULL). */
int drv_open(struct kf *k, struct drv_audit *a, const struct dc_platform *p, const char *plat,
             uint64_t seed, const char *device, const struct dc_sysdev_opts *o, const char *driver);

/* Sends an IRP already built and waits for it; its IoStatus. */
int drv_roundtrip(struct kf *k, PIRP irp, IO_STATUS_BLOCK *io);

uint64_t drv_capacity(struct kf *k, NTSTATUS *st);

/* One write and one read of len bytes at off through a buffer `boff` into a page of zone z. */
bool drv_rw(struct kf *k, const char *plat, uint64_t off, ULONG len, uint32_t boff, enum dc_zone z,
            uint64_t seed);

/* A request built by hand: its status and Information. */
bool drv_request(struct kf *k, UCHAR major, ULONG len, uint64_t off, NTSTATUS *st, ULONG_PTR *info);

/* Runs one request through a buggy twin (optionally with a transfer error injected first) and
 * returns kf_io's verdict; *a holds what the audit saw. */
long drv_twin(const char *twin, const char *plat, const char *device, UCHAR major, ULONG len,
              enum dc_zone z, bool fault, struct drv_audit *a, NTSTATUS *st, ULONG_PTR *info);

/* Did the audit see this kind of problem (among others)? */
bool drv_saw(const struct drv_audit *a, const char *what);

#endif
