/* A running system: the machine built from a platform, the hardware a PC has around it (the
 * 8237 pair, the host bridge), devices with their PDOs, loaded drivers, and the kernel that
 * the drivers call through <dmacoh/wdm.h>.  This is what tests and `dmacoh run` drive: they
 * play the roles of the PnP manager (AddDevice, IRP_MN_START_DEVICE with translated
 * resources, stop/remove, unload) and of an application (buffers, IRPs, waiting).
 *
 * One system at a time per host thread is current: the wdm.h routines find their kernel
 * there (drivers pass no context).  Everything runs on one host thread in simulated time:
 * the driver's dispatch routines run when the application calls them; interrupts and DPCs run
 * whenever simulated time advances (dc_sys_run*, KeStallExecutionProcessor, port and register
 * accesses) at an IRQL that allows them, as on one processor.
 *
 * Deliberately not modelled: several processors, paging (all pool is nonpaged), user mode
 * (an application's buffer is kernel memory in the cached window, described by an MDL). */
#ifndef DC_KERNEL_SYS_H
#define DC_KERNEL_SYS_H

#include "dmacoh/common.h"
#include "dmacoh/platform.h"
#include "dmacoh/wdm.h"
#include "hw/device.h"
#include "hw/mem.h"

struct dc_machine;
struct dc_sys;
struct dc_sysdev;
struct dc_driver;
struct dmacoh_driver_info;

/* Creates the machine and the PC hardware around it (8237 pair, host bridge) and makes the
 * system current.  DC_ERR_* from the machine; on error nothing is left allocated. */
int dc_sys_create(const struct dc_platform *p, struct dc_sys **out);
/* Stops and removes every device, unloads every driver, frees everything. */
void dc_sys_destroy(struct dc_sys *s);
struct dc_sys *dc_sys_current(void);
struct dc_machine *dc_sys_machine(struct dc_sys *s);

/* --- Devices ------------------------------------------------------------------------------ */

/* Options for a device; zero means the device's default. */
struct dc_sysdev_opts {
	uint64_t capacity;   /* store bytes (the model may accept only some sizes) */
	int dma_channel;     /* overrides the model's first 8237 channel (0: the declared one) */
	uint32_t addr_bits;  /* bus masters: 32 or 64 */
	uint32_t max_sg;     /* bus masters */
	uint64_t latency_ns; /* command latency */
};

/* Names of the device models dc_sys_add_device knows (built-in, then loaded), NULL-terminated. */
const char *const *dc_sys_device_names(void);
/* The model called name, or NULL. */
const struct dc_device_model *dc_sys_device_model(const char *name);
/* The .so a model was loaded from, NULL for a built-in. */
const char *dc_sys_device_model_path(const struct dc_device_model *m);
/* Loads a device model built by `dmacoh-cc --device-model` (dlopen; the file stays loaded) and
 * adds it to the models dc_sys_add_device knows, for every system of this process.  Loading
 * the same file twice is fine.  Errors, with one line in err naming the file: DC_ERR_IO (not a
 * shared object), DC_ERR_INVAL (no model symbol, wrong ABI, missing ops member, impossible
 * resources), DC_ERR_BUSY (a model of that name exists). */
int dc_sys_load_device_model(const char *path, const struct dc_device_model **out, char *err,
                             size_t errlen);
/* One line on why the last dc_sys_add_device of this thread failed ("" if it did not). */
const char *dc_sys_device_error(void);
/* Creates device `name` (instance n of that model gets the resources its declaration gives
 * instance n, and the next free IRQ) and its PDO.  DC_ERR_NOTFOUND (unknown name), DC_ERR_BUSY
 * (resources taken: dc_sys_device_error names the other device), errors of the model. */
int dc_sys_add_device(struct dc_sys *s, const char *name, const struct dc_sysdev_opts *o,
                      struct dc_sysdev **out);
struct dc_device *dc_sysdev_device(struct dc_sysdev *d);
PDEVICE_OBJECT dc_sysdev_pdo(struct dc_sysdev *d);

/* --- Drivers ------------------------------------------------------------------------------ */

/* Loads a module built by dmacoh-cc (dlopen) and runs its DriverEntry at PASSIVE_LEVEL.
 * Errors: DC_ERR_IO (cannot load; the loader's message in err), DC_ERR_NOTFOUND (no
 * DriverEntry), DC_ERR_STATE (DriverEntry failed: its NTSTATUS in *status if not NULL). */
int dc_sys_load_module(struct dc_sys *s, const char *path, struct dc_driver **out, NTSTATUS *status,
                       char *err, size_t errlen);
/* The two halves of dc_sys_load_module, so that devices can be added between them (a legacy
 * driver finds its hardware in DriverEntry, as at boot): loads the module (its driver object
 * made, DriverEntry not run; the same errors but DC_ERR_STATE), then runs DriverEntry once
 * (DC_ERR_STATE with its NTSTATUS in *status when it fails). */
int dc_sys_open_module(struct dc_sys *s, const char *path, struct dc_driver **out, char *err,
                       size_t errlen);
int dc_sys_init_driver(struct dc_sys *s, struct dc_driver *drv, NTSTATUS *status);
/* A driver whose DriverEntry succeeded without setting DriverExtension->AddDevice: an NT4-style
 * driver that finds its hardware and creates its devices itself; it gets no PnP IRPs. */
bool dc_sys_driver_is_legacy(const struct dc_driver *drv);
/* The same for a driver linked into the process. */
int dc_sys_load_entry(struct dc_sys *s, const char *name, PDRIVER_INITIALIZE entry,
                      struct dc_driver **out, NTSTATUS *status);
/* The module's dmacoh_driver_info (NULL if it has none). */
const struct dmacoh_driver_info *dc_driver_info(const struct dc_driver *drv);
PDRIVER_OBJECT dc_driver_object(struct dc_driver *drv);

/* PnP: AddDevice(driver, pdo), then IRP_MN_START_DEVICE down the stack with the device's raw
 * and translated resources.  *fdo (optional): the top of the stack, where I/O goes.
 * DC_ERR_STATE when AddDevice or START_DEVICE fails (the NTSTATUS in *status). */
int dc_sys_start_device(struct dc_sys *s, struct dc_driver *drv, struct dc_sysdev *d,
                        PDEVICE_OBJECT *top, NTSTATUS *status);
/* After a failed dc_sys_start_device: the entry of the driver routine that failed it
 * (AddDevice, or the IRP_MJ_PNP dispatch that completed START with an error), for reports. */
const void *dc_sys_start_failed_at(const struct dc_sys *s);
/* PnP: IRP_MN_STOP_DEVICE then IRP_MN_REMOVE_DEVICE down the stack.  The driver must then
 * have deleted its device objects. */
int dc_sys_remove_device(struct dc_sys *s, struct dc_sysdev *d, NTSTATUS *status);
/* Runs DriverUnload (after every device of the driver is removed) and unloads the module. */
int dc_sys_unload(struct dc_sys *s, struct dc_driver *drv);

/* --- The application's side -------------------------------------------------------------- */

/* A buffer of len bytes in the cached window that starts `offset` bytes into its first page
 * (offset < PAGE_SIZE), on physically non-contiguous pages from zone z (DC_ZONE_HIGH puts
 * it above 4 GiB where memory allows, DC_ZONE_DMA32 below 4 GiB above 16 MiB, DC_ZONE_ISA
 * below 16 MiB).  NULL when memory runs out.  Fill and check it with dc_cpu_write/read. */
void *dc_sys_alloc_buffer(struct dc_sys *s, uint64_t len, uint32_t offset, enum dc_zone z);
void dc_sys_free_buffer(struct dc_sys *s, void *buf);

/* Builds an IRP for the top of a stack as the I/O manager does: read/write (direct I/O: an MDL
 * over buf, probed and locked; buffered I/O if the device object asks for it) of len bytes at
 * byte `offset` of the device, or a device control with input/output buffers by the transfer
 * method of its code (METHOD_BUFFERED: a system buffer, Information bytes copied out;
 * IN_DIRECT / OUT_DIRECT: input in a system buffer, the output buffer in an MDL locked for
 * IoReadAccess / IoWriteAccess; NEITHER: Type3InputBuffer and UserBuffer raw).  A buffer a
 * device would access that is not simulated memory is bounced through some that is.  NULL on
 * exhaustion. */
PIRP dc_sys_build_rw(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major, void *buf, ULONG len,
                     uint64_t offset);
PIRP dc_sys_build_ioctl(struct dc_sys *s, PDEVICE_OBJECT top, ULONG code, const void *in,
                        ULONG in_len, void *out, ULONG out_len);
/* A request of the file's lifetime (IRP_MJ_CREATE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, ...): no
 * buffers, no parameters. */
PIRP dc_sys_build_file(struct dc_sys *s, PDEVICE_OBJECT top, UCHAR major);
/* The FILE_OBJECT the request is made on (its stack location's FileObject, the IRP's
 * OriginalFileObject). */
void dc_sys_irp_set_file(PIRP irp, void *file_object);
/* Called when the IRP reaches the application (IoCompleteRequest done with it), at the
 * completing driver's IRQL: record the fact, finish the request later (dc_sys_finish). */
typedef void (*dc_irp_done_fn)(void *opaque, PIRP irp);
void dc_sys_irp_on_done(PIRP irp, dc_irp_done_fn fn, void *opaque);
/* Sends the IRP (IoCallDriver at PASSIVE_LEVEL); returns what the dispatch routine returned. */
NTSTATUS dc_sys_send(struct dc_sys *s, PIRP irp);
/* Cancels the IRP as the I/O manager does when the application cancels its request
 * (IoCancelIrp at PASSIVE_LEVEL): TRUE if a cancel routine was called. */
BOOLEAN dc_sys_cancel(struct dc_sys *s, PIRP irp);
/* Has the IRP been completed (IoCompleteRequest reached the top)? */
bool dc_sys_irp_done(PIRP irp);
/* Runs simulated time until the IRP completes or `timeout_ns` of simulated time pass
 * (DC_ERR_TIMEOUT; the IRP is then still owned by the driver) or nothing is left to happen
 * (DC_ERR_STATE: the driver will never complete it). */
int dc_sys_wait(struct dc_sys *s, PIRP irp, uint64_t timeout_ns);
/* Frees a completed IRP: copies buffered output back to the caller's buffer, unlocks and
 * frees its MDL.  Returns its IoStatus. */
IO_STATUS_BLOCK dc_sys_finish(struct dc_sys *s, PIRP irp);

/* Runs simulated time for ns (interrupts and DPCs included). */
void dc_sys_run_for(struct dc_sys *s, uint64_t ns);
uint64_t dc_sys_now(const struct dc_sys *s);

/* The seeded scheduler (src/kernel/sched.c, docs/machine.md "Processors"): policy "random",
 * "round-robin" or "pct" (NULL or "none": no preemption, the default), its seed, a preemption
 * point every `every` instrumented accesses besides the kernel calls (0: kernel calls only),
 * PCT's depth d (0: 3) and its bound k on the run's steps, the range its change points are drawn
 * from (0: 20000; best near the run's real step count).  DC_ERR_INVAL for an unknown policy. */
int dc_sys_set_schedule(struct dc_sys *s, const char *policy, uint64_t seed, uint32_t every,
                        uint32_t depth, uint64_t steps);
/* What the scheduler did: preemption points passed, context switches, a hash of the
 * interleaving (which context ran on which processor after which point). */
void dc_sys_schedule_stats(const struct dc_sys *s, uint64_t *points, uint64_t *switches,
                           uint64_t *trace);

#endif
