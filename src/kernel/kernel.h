/* Inside the kernel layer: the system object behind sys.h and what the kernel's files share.
 * Kernel objects a driver holds pointers to (IRPs, MDLs, device and driver objects, adapters,
 * interrupt objects) live in host memory, never in the cached window: the kernel is not
 * instrumented code, and a byte of the cached window may only be touched through the cache
 * model.  Memory a driver can hand to a device (pool, common buffers, I/O buffers) is in the
 * windows. */
#ifndef DC_KERNEL_KERNEL_H
#define DC_KERNEL_KERNEL_H

#include "dmacoh/observer.h"
#include "hw/bridge.h"
#include "hw/busmaster.h"
#include "hw/i8237.h"
#include "hw/pl080.h"
#include "hw/machine.h"
#include "hw/mapreg.h"
#include "registry.h"
#include "sys.h"

#define DC_SYS_MAX_DEVS 16
#define DC_SYS_MAX_DRIVERS 16
#define DC_IOSPACE_SIZE (UINT64_C(1) << 32) /* host VA reserved for MmMapIoSpace */
#define DC_IOMAP_MAX 64

/* Interrupt line l appears to drivers as vector DC_VECTOR_BASE + l at a device IRQL between 3
 * and 11 (x64: above DISPATCH_LEVEL, below CLOCK_LEVEL), a lower line at a higher IRQL as the
 * PIC prioritises ISA IRQs. */
#define DC_VECTOR_BASE 0x30u
#define DC_DIRQL(line) ((KIRQL)((line) < 8 ? 11 - (line) : 3))

struct dc_kint; /* KINTERRUPT */
struct dc_adapter;

struct dc_sysdev {
	struct dc_sys *s;
	const char *kind;
	unsigned instance;
	struct dc_device dev;
	struct dc_busmaster *bm; /* bus masters: the engine FlushAdapterBuffers drains */
	DEVICE_OBJECT *pdo;
	bool started;
};

struct dc_driver {
	struct dc_sys *s;
	char name[64];
	void *handle; /* dlopen handle, NULL for a linked-in driver */
	const struct dmacoh_driver_info *info;
	DRIVER_OBJECT *obj;
	DRIVER_EXTENSION *ext;
	bool entered;  /* DriverEntry was called */
	bool unloaded; /* nothing to unload: DriverEntry not called, failed, or unloaded */
};

/* One MmMapIoSpace mapping: host addresses [va, va + len) stand for bus addresses [pa, ...). */
struct dc_iomap {
	uint64_t off, pa, len;
	bool used;
};

struct dc_pool; /* pool.c */

/* Which processor work runs on (sched.c). */
enum dc_mp_policy {
	DC_MP_ROUND_ROBIN, /* interrupts go to each enabled processor in turn (default) */
	DC_MP_RANDOM,      /* seeded */
	DC_MP_FIRST,       /* the lowest enabled processor: the single-processor behaviour */
};
/* The seeded scheduler (--schedule): none keeps the cooperative behaviour (switches only at
 * waits, interrupts and DPCs nested where they are delivered). */
enum dc_sched_policy {
	DC_SCHED_NONE,
	DC_SCHED_RANDOM,      /* at each point, a uniformly chosen runnable context */
	DC_SCHED_ROUND_ROBIN, /* at each point, the next runnable context in creation order */
	DC_SCHED_PCT,         /* Burckhardt et al., ASPLOS 2010: priorities and change points */
};
#define DC_SCHED_MAX_DEPTH 8
/* A spin lock held (sched.c): by which context, on which processor, acquired where. */
struct dc_lockrec {
	const void *lock;
	struct dc_kthread *holder;
	uint32_t cpu;
	const void *pc;
};
/* An edge of the lock order graph: b was acquired while a was held (lockdep). */
struct dc_lockedge {
	const void *a, *b;
	const void *pc; /* where b was acquired */
};
struct dc_mp {
	enum dc_mp_policy policy;
	struct dc_rng rng;
	uint64_t next;
	uint64_t affinity[DC_IRQ_LINES]; /* ProcessorEnableMask of the line's interrupt */
	uint64_t next_thread;            /* system threads and work items, round-robin */
	/* The scheduler (thread.c decides, sched.c holds the policy). */
	enum dc_sched_policy sched;
	struct dc_rng srng;
	uint32_t every; /* a preemption point every N instrumented accesses (0: none) */
	uint32_t depth; /* PCT: d (d - 1 priority change points) */
	uint64_t pct_k; /* PCT: the change points are drawn in [1, k] */
	uint64_t change[DC_SCHED_MAX_DEPTH];
	uint64_t steps; /* preemption points passed */
	uint64_t switches;
	uint64_t trace;   /* a hash of (step, context, processor) at every switch */
	unsigned inhibit; /* > 0: no preemption (the clock is stepping, a switch is on) */
	int next_prio;
	/* Spin locks held, and the order they were taken in. */
	struct dc_lockrec *held;
	size_t n_held, cap_held;
	struct dc_lockedge *edges;
	size_t n_edges, cap_edges;
};

struct dc_sys {
	struct dc_machine *m;
	/* The driver routine whose failure ended the last dc_sys_start_device (AddDevice or the
	 * top driver's IRP_MJ_PNP dispatch), NULL if it succeeded. */
	const void *start_failed_at;
	/* IRPs IoAllocateIrp handed out and IoFreeIrp did not take back (io.c): an IRP pointer
	 * is checked against them before the kernel reads it. */
	void **live_irps;
	size_t n_live_irps, cap_live_irps;
	/* MDLs IoAllocateMdl handed out or MmBuildMdlForNonPagedPool, MmProbeAndLockPages or
	 * IoBuildPartialMdl built, until IoFreeMdl or the free of the pool block holding them
	 * (mm.c): what dc_mdl_bad accepts.  A pointer set: cap slots, a power of two. */
	void **live_mdls;
	size_t n_live_mdls, cap_live_mdls;
	struct dc_i8237 *dma;   /* NULL on a platform whose controller is not the 8237 */
	struct dc_pl080 *pl080; /* the arm-soc system DMA controller, or NULL */
	struct dc_v3soc *v3soc; /* the HAL's channels on it (dma_v3_soc.c), NULL until used */
	struct dc_bridge *br;
	KIRQL irql;
	/* Devices and drivers. */
	struct dc_sysdev *devs[DC_SYS_MAX_DEVS];
	unsigned n_devs;
	struct dc_driver *drvs[DC_SYS_MAX_DRIVERS];
	unsigned n_drvs;
	DRIVER_OBJECT *bus_driver; /* owns the PDOs */
	/* Interrupts: connected objects per line, lines that rose and are not yet serviced. */
	struct dc_kint *ints[DC_IRQ_LINES];
	struct dc_msi_set *msi_sets; /* CONNECT_MESSAGE_BASED connections (intr.c) */
	uint32_t irq_pending;
	unsigned irq_storm[DC_IRQ_LINES];
	/* DPCs queued (KDPC.DpcListEntry). */
	LIST_ENTRY dpcs;
	bool delivering;
	/* Adapters alive (for leak reports and lookup). */
	struct dc_adapter *adapters;
	uint64_t xfer_seq;
	/* Host VA reserved for MmMapIoSpace, and for the "user" addresses of MDLs built over
	 * application buffers (an alias of the cached window that is never mapped: dereferencing
	 * MmGetMdlVirtualAddress faults, as it would in the wrong process). */
	uint8_t *iospace;
	struct dc_iomap iomaps[DC_IOMAP_MAX];
	uint8_t *uva;
	struct dc_pool *pool;
	uint64_t bugchecks;
	/* Threads (thread.c): the application's first, then system threads in creation order. */
	struct dc_kthread *threads, *cur_thread, *prev_thread;
	bool first_thread_told; /* the observers were told which thread ran before any switch */
	unsigned thread_seq;
	uint64_t thread_seq_all;      /* contexts created (their order) */
	struct dc_kthread *ctx_spare; /* ended interrupt and DPC contexts, kept for their stacks */
	/* The Win32 layer (win32.c): handles, names and links, the application's requests. */
	struct dc_w32 *w32;
	struct dc_dbgprint *dbg; /* DbgPrint output captured (dbgprint.c), NULL until some */
	struct dc_reg *reg;      /* the registry (registry.c), created on first use */
	struct dc_plumb *plumb;  /* timers, error log, ... (plumb.c), created on first use */
	struct dc_obns *ob;      /* device names, links, interfaces (obnames.c), on first use */
	/* A call site whose IRQL the caller judged already (a v3 routine built on a v1/v2 one,
	 * dma_int.h): the next dc_irql_require from it is skipped. */
	const void *irql_judged;
	bool map_run;    /* dma_int.h's dc_dma_map: a further run of one MapTransferEx */
	struct dc_mp mp; /* processors (sched.c) */
	/* Device extensions (io.c): a reserved span, the bytes handed out, freed blocks. */
	uint8_t *ext_arena;
	size_t ext_used;
	struct dc_ext_free *ext_free;
	/* IRPs (io.c): DC_IRP_SLOT-byte slots after the extension arena, so the checker sees the
	 * driver's accesses to them (S02); a freed slot waits in a FIFO quarantine before reuse.
	 * irp_state[slot]: enum dc_irp_slot_state. */
	uint32_t irp_bump;
	uint32_t *irp_quar;
	uint32_t irp_q_head, irp_q_len;
	uint8_t *irp_state;
};

extern _Thread_local struct dc_sys *dc_sys_cur;

/* The current system; a wdm.h routine called with none is a use outside dmacoh (abort). */
struct dc_sys *dc_k(void);

/* Processors (sched.c). */
void dc_mp_init(struct dc_sys *s);
void dc_mp_set_policy(struct dc_sys *s, enum dc_mp_policy p, uint64_t seed);
uint32_t dc_mp_count(const struct dc_sys *s);
/* A processor of mask (bit n: processor n) by the policy. */
uint32_t dc_mp_pick(struct dc_sys *s, uint64_t mask);
/* Runs what follows on processor cpu; returns the one to go back to with dc_mp_enter. */
uint32_t dc_mp_enter(struct dc_sys *s, uint32_t cpu);
void dc_mp_dpc_queued(struct dc_sys *s, PRKDPC dpc);
uint32_t dc_mp_dpc_cpu(struct dc_sys *s, const KDPC *dpc);
/* The processor a new system thread or work item runs on: round-robin over mask. */
uint32_t dc_mp_thread_cpu(struct dc_sys *s, uint64_t mask);
void dc_mp_fini(struct dc_sys *s);
/* --schedule: policy, seed, a point every `every` instrumented accesses (0: kernel calls only),
 * PCT depth d and step bound k. */
void dc_sched_configure(struct dc_sys *s, enum dc_sched_policy p, uint64_t seed, uint32_t every,
                        uint32_t depth, uint64_t k);
/* A preemption point (kernel calls by driver code, every Nth access): the scheduler may run
 * another context on another processor before the caller goes on.  Costs a test when off. */
void dc_sched_point_slow(struct dc_sys *s);
static inline void dc_sched_point(struct dc_sys *s)
{
	if (DC_UNLIKELY(s->mp.sched != DC_SCHED_NONE))
		dc_sched_point_slow(s);
}
/* Spin locks (ke.c): acquire spins while another processor's context holds the lock (the
 * scheduler runs the holder), reports a self-deadlock (L01) and lock-order inversions (L02). */
void dc_spin_acquire(struct dc_sys *s, PKSPIN_LOCK l, const void *pc);
void dc_spin_release(struct dc_sys *s, PKSPIN_LOCK l, const void *pc);
/* thread.c, for the spin locks: the running context, its processor; runs other contexts until
 * the lock is free (false: nothing else can run — a deadlock). */
struct dc_kthread *dc_ctx_cur(struct dc_sys *s);
void dc_ctx_sched_init(struct dc_sys *s);
/* Under --schedule, from a thread below DISPATCH_LEVEL: runs every interrupt and DPC context
 * still alive to its end (an interrupt disconnected, a driver unloaded: as Windows waits for
 * the ISRs and DPCs in progress). */
void dc_ctx_drain(struct dc_sys *s);
uint32_t dc_ctx_cpu(const struct dc_kthread *t);
bool dc_ctx_spin(struct dc_sys *s, const volatile KSPIN_LOCK *l);
/* Under --schedule: an interrupt of line taken on processor cpu beside the running code
 * (thread.c), and the DPC queue of a processor drained there (sys.c). */
void dc_ctx_spawn_isr(struct dc_sys *s, uint32_t cpu, unsigned line);
void dc_sys_run_dpcs_of(struct dc_sys *s, uint32_t cpu);

/* Tells observers of a synchronisation or context change (observer.h, dc_sync_op). */
void dc_ksync(struct dc_sys *s, enum dc_sync_op op, const void *obj, uint64_t arg);
/* A short operation under an object's internal lock (a device queue, a list): acquire then
 * release, so the operations on obj are ordered. */
static inline void dc_ksync_locked(struct dc_sys *s, const void *obj)
{
	dc_ksync(s, DC_SYNC_ACQUIRE, obj, 0);
	dc_ksync(s, DC_SYNC_RELEASE, obj, 0);
}
/* The device-extension arena (io.c): one reserved span whose accesses reach the race
 * detector and never the cache model.  Freed at the system's end. */
void dc_io_ext_fini(struct dc_sys *s);
/* S02 (io.c): is the IRP completed (or freed) — no driver owns it; a routine the driver
 * called with such an IRP reports the touch (true) and does nothing more with it. */
bool dc_io_irp_completed(const struct dc_sys *s, const void *irp);
bool dc_io_irp_touch(struct dc_sys *s, PIRP irp, const char *routine, const void *pc);
/* Fills time and emits a kernel event to every observer. */
void dc_kev_emit(struct dc_sys *s, struct dc_kev *e);
/* The kernel touching driver-owned memory (a KDPC or KEVENT a driver embedded in pool, an
 * argument it passed): through the cache model when it lies in a window, so the kernel's own
 * accesses keep the model exact.  Costs nothing for host memory. */
static inline void dc_ktouch(struct dc_sys *s, const void *p, size_t len, bool write)
{
	dc_cpu_ref(s->m, p, len, write ? DC_ACC_WRITE : DC_ACC_READ, NULL);
}
/* The kernel storing len bytes of host memory src at p (driver-owned memory, maybe in a window):
 * dc_ktouch then memcpy, except that a store over several lines of the cached window goes line
 * by line (dc_cpu_write), each line's bytes stored while that line is present.  Referencing the
 * whole range first can push its earlier lines out before the store reaches them (always, for a
 * range larger than the caches): those bytes would land in lines that are gone and the next
 * fill would bring the old memory back. */
void dc_kstore(struct dc_sys *s, void *p, const void *src, size_t len);
/* The kernel copying len bytes from src to p, either of them maybe in a window: as dc_ktouch of
 * both then memcpy, the source read a line at a time while present as dc_kstore writes. */
void dc_kcopy(struct dc_sys *s, void *p, const void *src, size_t len);
/* What Windows would bug-check for (code, what happened, the driver's call site): reported as a
 * DC_KEV_CRASH event; the caller then does what keeps dmacoh running. */
void dc_kbugcheck(struct dc_sys *s, ULONG code, const char *what, const void *pc);
/* Checks the IRQL a routine requires; emits DC_KEV_IRQL when it is not met. */
void dc_irql_require(struct dc_sys *s, const char *routine, KIRQL lo, KIRQL hi, const void *pc);

/* Time passes by ns while the CPU is busy in a driver (port access, stall): devices run,
 * interrupts and DPCs are delivered as the IRQL allows. */
void dc_sys_advance(struct dc_sys *s, uint64_t ns);
/* Delivers pending interrupts and DPCs that the current IRQL allows. */
void dc_sys_deliver(struct dc_sys *s);
KIRQL dc_irql_raise(struct dc_sys *s, KIRQL to);
void dc_irql_lower(struct dc_sys *s, KIRQL to);

/* Memory: pool in the cached window (pool.c). */
int dc_pool_create(struct dc_sys *s);
void dc_pool_destroy(struct dc_sys *s);
/* Slots of the pool's table of live blocks (for tests: bounded by the blocks live, not by the
 * blocks ever allocated). */
size_t dc_pool_table_slots(const struct dc_sys *s);
void *dc_pool_alloc(struct dc_sys *s, uint64_t bytes, bool zero, uint32_t tag);
/* Disconnects and frees the message-based interrupt connections left (intr.c). */
void dc_intr_fini(struct dc_sys *s);
/* Frees the interrupt objects a driver left connected (io.c): the system is going away. */
void dc_io_ints_fini(struct dc_sys *s);
bool dc_pool_free(struct dc_sys *s, void *p);
/* FreeCommonBuffer's memory: poisoned and held in the pool's quarantine before it is freed. */
void dc_quarantine_common(struct dc_sys *s, void *va, uint64_t pages, bool cached);

/* MDL helpers (mm.c). */
/* The system virtual address of byte `off` of the MDL (cached or uncached window). */
void *dc_mdl_sysva(struct dc_sys *s, PMDL mdl, uint64_t off);
/* Why mdl cannot be read as an MDL (NULL: it can): not one the kernel allocated or built (a
 * wild pointer, pool bytes), or its header contradicts its size.  Never reads an unknown
 * pointer. */
const char *dc_mdl_bad(struct dc_sys *s, const void *mdl);
/* Splits [off, off + len) of the MDL into page pieces (system va, pa).  Returns the count or a
 * negative dc_err (DC_ERR_RANGE: more than max, DC_ERR_INVAL: outside the MDL). */
int dc_mdl_pieces(struct dc_sys *s, PMDL mdl, uint64_t off, uint64_t len,
                  struct dc_mapreg_piece *out, uint32_t max);
/* The "user" alias of a cached-window address. */
void *dc_uva_of(struct dc_sys *s, const void *sysva);
bool dc_is_uva(struct dc_sys *s, const void *p);
/* Fills e->pieces for the whole MDL (pieces allocated with malloc; free with free). */
struct dc_kev_piece *dc_mdl_kev_pieces(struct dc_sys *s, PMDL mdl, uint64_t off, uint64_t len,
                                       uint32_t *n);

/* I/O manager (io.c). */
int dc_io_create_bus(struct dc_sys *s);
void dc_io_destroy_bus(struct dc_sys *s);
PDEVICE_OBJECT dc_io_create_pdo(struct dc_sys *s, struct dc_sysdev *d);
void dc_io_delete_pdo(struct dc_sys *s, struct dc_sysdev *d);
void dc_irq_sink(void *opaque, unsigned line);
void dc_io_run_isrs(struct dc_sys *s, unsigned line);
/* Builds the resource lists of a device for IRP_MN_START_DEVICE (malloc'ed). */
int dc_io_resources(struct dc_sys *s, struct dc_sysdev *d, PCM_RESOURCE_LIST *raw,
                    PCM_RESOURCE_LIST *translated);
struct dc_sysdev *dc_io_pdo_sysdev(PDEVICE_OBJECT pdo);
/* Does the device's driver have its own routine for `major` (not the I/O manager's default)? */
bool dc_io_handles(PDEVICE_OBJECT dev, UCHAR major);

/* Threads (thread.c).  What a thread waits for: dispatcher objects (any or all), a deadline
 * (UINT64_MAX: none), or, for the application's thread, a condition. */
struct dc_kthread;
struct dc_kwait {
	ULONG n;
	PVOID *objs;
	bool all;
	uint64_t deadline;
	bool (*pred)(void *opaque);
	void *pred_arg;
};
/* What a wait of the application's thread returns when nothing can ever satisfy it. */
#define DC_STATUS_DEADLOCK ((NTSTATUS)0xE0DC0001L)
int dc_threads_init(struct dc_sys *s);
/* A function's address as data (dladdr, reports), without ISO C's forbidden cast. */
static inline void *dc_fn_addr(void (*fn)(void))
{
	union {
		void (*fn)(void);
		void *p;
	} u = {.fn = fn};
	return u.p;
}
void dc_threads_fini(struct dc_sys *s);
/* Blocks the current thread until its wait is satisfied (objects acquired), its deadline
 * passes (STATUS_TIMEOUT) or, for the application's thread, nothing can ever happen
 * (DC_STATUS_DEADLOCK); runs other threads and simulated time meanwhile.  Returns
 * STATUS_WAIT_0 + i (any), STATUS_SUCCESS (all, or the condition). */
NTSTATUS dc_sched_wait(struct dc_sys *s, const struct dc_kwait *w);
/* Threads of the module at module_base never run again (it is being unloaded); each one
 * still alive is reported as Windows' bug check 0xCE. */
void dc_threads_unload(struct dc_sys *s, void *module_base, const char *name);
/* Is the wait on n objects satisfied now?  If so acquires them and sets *st (ke.c). */
bool dc_ke_try_wait(struct dc_sys *s, ULONG n, PVOID *objs, bool all, NTSTATUS *st);
/* Timers of a system (ke.c). */
void dc_ke_timers_fini(struct dc_sys *s);

/* WDM plumbing (plumb.c and friends): IoTimers, the error log, VPBs; created on first use. */
struct dc_plumb;
void dc_plumb_fini(struct dc_sys *s);
/* IoCreateDevice made dev / IoDeleteDevice is deleting it (its timer and VPB go with it). */
void dc_plumb_device_new(struct dc_sys *s, PDEVICE_OBJECT dev, PUNICODE_STRING name);
void dc_plumb_device_gone(struct dc_sys *s, PDEVICE_OBJECT dev);
/* Its VPB, for the device types that get one (iosvc.c). */
void dc_iosvc_vpb_new(PDEVICE_OBJECT dev);
void dc_iosvc_vpb_gone(PDEVICE_OBJECT dev);
/* Driver-built IRPs (irpbuild.c). */
void dc_irpbuild_complete(struct dc_sys *s, PIRP irp);
void dc_irpbuild_fini(struct dc_sys *s);
/* Pages MmAllocatePagesForMdl handed out (mdlpages.c), forgotten with the system. */
void dc_mdlpages_fini(struct dc_sys *s);

/* DMA (dma.c). */
void dc_dma_destroy_all(struct dc_sys *s);
/* A device's bridge accesses (A09 facts). */
void dc_dma_bridge_check(void *opaque, int source, uint64_t logical, uint64_t len, enum dc_dir dir);

/* io.c, for pnp.c: the top of a device's stack, and a PnP IRP sent down it at PASSIVE (time
 * runs until it completes). */
PDEVICE_OBJECT dc_io_stack_top(PDEVICE_OBJECT pdo);
NTSTATUS dc_io_send_pnp(struct dc_sys *s, struct dc_sysdev *d, UCHAR minor, PCM_RESOURCE_LIST raw,
                        PCM_RESOURCE_LIST translated);

#endif
