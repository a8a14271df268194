/* Test helpers that run a driver module on a device over a workload and verify every byte end
 * to end against the device's backing store (tests of the kernel layer and of the example
 * drivers). */
#ifndef DC_TESTS_KFLOW_H
#define DC_TESTS_KFLOW_H

#include "dmacoh/observer.h"
#include "kernel/sys.h"

/* The built-in platforms, NULL-terminated. */
extern const char *const kf_platforms[];

/* Path of an example driver module (DMACOH_DRIVER_DIR, or drivers/ beside the test binary). */
const char *kf_driver_path(const char *name, char *buf, size_t len);

struct kf {
	struct dc_sys *s;
	struct dc_sysdev *dev;
	struct dc_driver *drv;
	PDEVICE_OBJECT top;
	char err[256];
};

/* Creates a system on platform `plat` with seed `seed`, adds device `device`, loads driver
 * module `driver` and starts it.  Returns 0, or a negative dc_err with k->err set. */
int kf_open(struct kf *k, const char *plat, uint64_t seed, const char *device,
            const struct dc_sysdev_opts *o, const char *driver);
/* The same on a platform the caller built (e.g. a built-in with fewer map registers). */
int kf_open_plat(struct kf *k, const struct dc_platform *p, const char *device,
                 const struct dc_sysdev_opts *o, const char *driver);
/* The general form: platform p, or the built-in `plat` with `seed` when p is NULL; obs (if not
 * NULL) watches from before AddDevice. */
int kf_open_observed(struct kf *k, const struct dc_platform *p, const char *plat, uint64_t seed,
                     const struct dc_observer *obs, void *opaque, const char *device,
                     const struct dc_sysdev_opts *o, const char *driver);
/* Removes the device, unloads the driver, destroys the system. */
void kf_close(struct kf *k);

/* One request: read or write len bytes at store offset off through a buffer that starts
 * `boff` bytes into a page of zone z.  A write sends seeded bytes and checks the store; a read
 * pre-fills the store with seeded bytes and the buffer with a poison (through the CPU cache,
 * as an application would), then checks what the application reads back through the cache.
 * Returns the number of mismatching bytes (0 = verified), or -1 if the IRP did not complete
 * or failed; *first_bad gets the offset of the first mismatch. */
long kf_io(struct kf *k, UCHAR major, uint64_t off, ULONG len, uint32_t boff, enum dc_zone z,
           uint64_t seed, NTSTATUS *status, ULONG_PTR *info, long *first_bad);

#endif
