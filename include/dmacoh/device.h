/* The public device-model API: how a piece of hardware is described to dmacoh and what it may
 * ask of the machine.  A device model is plain, uninstrumented C (no dmacoh-cc
 * instrumentation: the device is hardware, not driver code), built into a shared object by
 * `dmacoh-cc --device-model` and loaded with `dmacoh run --device-model FILE.so`; the
 * built-in devices (devices/) are written against this header only.  Full guide:
 * docs/devices/api.md.
 *
 * A model is three things:
 *   - a `static const struct dc_device_model` (designated initializers): its name, the
 *     resources it decodes, as data (I/O ports, an MMIO window with the access sizes it
 *     accepts, an interrupt line and its mode, system DMA channels, bus mastering), the kind
 *     of backing store the built-in workload can verify against, and its ops table;
 *   - a `static const struct dc_device_ops` table of callbacks: create/destroy/reset, register
 *     reads and writes, the 8237 client callbacks (DREQ/DACK/TC), the backing store, fault
 *     injection, and a stream device's sink;
 *   - opaque state, created by ops->create, handed back to every callback.
 * A shared object exports its model under the one symbol DMACOH_DEVICE_SYMBOL, with the ABI
 * version it was built for: DMACOH_DEVICE_MODEL(my_model) does both.
 *
 * The model talks to the machine only through its host handle (struct dc_host, opaque):
 * interrupts, timers in simulated time, system DMA requests, and bus-master memory access by
 * LOGICAL address (through the host bridge's posted-write buffer, map registers / bounce pages
 * as the driver set them up, and the sanitizer's out-of-bounds check A09) — never through host
 * pointers into simulated memory.  Everything runs on one host thread in simulated time:
 * callbacks are never concurrent, and a model must not block or read the wall clock.
 *
 * Deliberately not offered: PCI configuration space (resources are fixed when the device is
 * created), several port ranges or MMIO windows per device (one of each; holes in the port
 * range are declared with port_holes), shared interrupt lines, MSI-X (MSI only: up to 16
 * messages, a power of two), per-message masking, DMA to another device (peer-to-peer). */
#ifndef DMACOH_DEVICE_H
#define DMACOH_DEVICE_H

#include <stdarg.h>

#include "dmacoh/common.h"
#include "dmacoh/platform.h"

/* The ABI a model is built for.  Bumped when a struct below changes incompatibly; members are
 * only ever appended (a model's `size` tells the host how much of the struct it has). */
#define DMACOH_DEVICE_ABI 1
#define DMACOH_DEVICE_SYMBOL "dmacoh_device_model"

struct dc_host;  /* the machine's side of one device instance (opaque) */
struct dc_timer; /* a clock event the model schedules (opaque) */
struct dc_bm;    /* a bus-master DMA engine (opaque) */
struct dc_machine;
struct dc_bridge;

/* ---- Resources, as data --------------------------------------------------------------------- */

enum dc_irq_mode {
	DC_IRQ_NONE = 0, /* no interrupt */
	DC_IRQ_LEVEL,    /* asserted until the driver acknowledges it in the device (ISA, INTx) */
	DC_IRQ_EDGE,     /* a pulse: dc_host_irq_pulse */
	DC_IRQ_MSI,      /* message-signalled, bus masters only: msi_messages (1, 2, 4, 8, 16)
	                  * edges sent with dc_host_msi; the device has no line */
};

/* Access sizes a register window accepts (bit per size); others read all ones, writes are
 * dropped and counted, as a bus that does not decode them. */
#define DC_ACCESS_1 0x1u
#define DC_ACCESS_2 0x2u
#define DC_ACCESS_4 0x4u
#define DC_ACCESS_ANY (DC_ACCESS_1 | DC_ACCESS_2 | DC_ACCESS_4)

/* Hardware resources, raw = translated on this machine.  In a model's declaration they are
 * what instance 0 asks for; once the device exists (struct dc_device.res, dc_host_res) they are
 * what it got. */
struct dc_device_res {
	uint32_t port_base, port_len; /* I/O ports; len 0: none */
	uint64_t mmio_base, mmio_len; /* memory-mapped registers; len 0: none.  Declared base: an
	                               * offset into the machine's device window (above memory) */
	int irq;                      /* interrupt line, -1: none (declared: preferred line, -1:
	                               * any free one when irq_mode is not DC_IRQ_NONE) */
	int dma_channel;              /* 8237 channel, -1: none */
	uint32_t dma_width;           /* 8 or 16 (system DMA; set by the host from the channel) */
	bool has_dma2;                /* a second 8237 channel (a sound card's 16-bit one) */
	int dma_channel2;
	uint32_t dma_width2;
	bool bus_master, scatter_gather;
	uint32_t addr_bits; /* bits of memory address the device can drive (0: the platform's) */
	uint32_t max_sg;    /* scatter/gather elements per transfer (bus masters) */
	/* Appended in ABI 1 (after the fields the kernel's resource lists use): */
	enum dc_irq_mode irq_mode;
	uint32_t msi_messages; /* DC_IRQ_MSI: messages wanted (granted: all of them; irq is
	                        * then the first of msi_messages consecutive vectors' lines) */
	uint32_t port_holes;   /* bit i: port_base + i is not decoded (i < 32) */
	uint8_t port_access;   /* DC_ACCESS_* the ports accept; 0: any */
	uint8_t mmio_access;   /* DC_ACCESS_* the MMIO window accepts; 0: any */
	bool map_registers;    /* bus master whose transfers go through map registers (the
	                        * driver's DMA adapter decides; informational) */
};

/* ---- What the built-in workload can verify ----------------------------------------------------
 */

enum dc_store_kind {
	DC_STORE_NONE = 0, /* no backing store: the built-in workload refuses the device */
	DC_STORE_BLOCK,    /* random-access store of store_unit-byte sectors (reads and writes
	                    * at any unit-aligned offset; store_unit 1: byte-addressed) */
	DC_STORE_FRAME,    /* a NIC: each written frame comes back (loopback) as a read; the
	                    * store is the wire log, frames of at most store_unit bytes */
	DC_STORE_STREAM,   /* a sound card: writes are played into ops->stream_sink in order,
	                    * reads record a capture source */
};
const char *dc_store_kind_name(enum dc_store_kind k);

/* Where the hardware tree (IoQueryDeviceDescription) lists an ISA device. */
enum dc_device_class {
	DC_CLASS_OTHER = 0, /* OtherController */
	DC_CLASS_DISK,      /* DiskController with a FloppyDiskPeripheral */
	DC_CLASS_AUDIO,     /* AudioController */
};

enum dc_fault {
	DC_FAULT_NONE,
	DC_FAULT_TRANSFER_ERROR, /* the next transfer fails; the drain reports failure */
};
const char *dc_fault_name(enum dc_fault f);

/* ---- Creation parameters ------------------------------------------------------------------- */

/* What the user (or a test) asked for; zero means the model's default.  `priv`, when set, is a
 * model-specific configuration (a built-in's dc_<name>_cfg) that wins over the fields. */
struct dc_device_cfg {
	unsigned instance;   /* 0 for the first device of this model */
	uint64_t capacity;   /* backing store bytes */
	uint64_t latency_ns; /* command latency */
	uint64_t bw;         /* bytes per simulated second (bus masters; 0: the platform's) */
	const void *priv;
};

/* ---- The ops table ------------------------------------------------------------------------- */

struct dc_device_ops {
	/* Leave these out: in the table the host hands out (struct dc_device.ops) they are the
	 * model's name and desc. */
	const char *name, *desc;
	/* Creates the state.  h stays valid until destroy; dc_host_res(h) holds the resources the
	 * device got.  Returns DC_OK or a negative dc_err (DC_ERR_INVAL for a configuration it
	 * cannot be; dc_host_log says why). */
	int (*create)(struct dc_host *h, const struct dc_device_cfg *cfg, void **opaque);
	void (*destroy)(void *opaque);
	void (*reset)(void *opaque); /* optional: power-on state */

	/* Register access: off is relative to the port base / MMIO base, size 1, 2 or 4 (only
	 * the sizes declared in port_access / mmio_access arrive).  Optional when the device has
	 * no such window. */
	uint32_t (*port_read)(void *opaque, uint64_t off, unsigned size);
	void (*port_write)(void *opaque, uint64_t off, uint32_t val, unsigned size);
	uint32_t (*mmio_read)(void *opaque, uint64_t off, unsigned size);
	void (*mmio_write)(void *opaque, uint64_t off, uint32_t val, unsigned size);

	/* System DMA client (required with a DMA channel); chan is 0 (dma_channel) or 1
	 * (dma_channel2).  Device -> memory: hand over up to `max` bytes of the outgoing stream
	 * (return them, set *n; valid until the next call into the device).  Memory -> device:
	 * offer room for up to `max` bytes (set *n); the controller fills exactly *n bytes before
	 * it calls again.  tc: terminal count (EOP) on the channel.  pending (optional): bytes the
	 * device will still move before it drops DREQ (UINT64_MAX: unknown). */
	const uint8_t *(*dack_from_device)(void *opaque, unsigned chan, uint32_t max, uint32_t *n);
	uint8_t *(*dack_to_device)(void *opaque, unsigned chan, uint32_t max, uint32_t *n);
	void (*tc)(void *opaque, unsigned chan);
	uint64_t (*pending)(void *opaque, unsigned chan);

	/* The backing store (a disk's sectors, a NIC's wire log): byte-addressed.  Required
	 * unless store_kind is DC_STORE_NONE. */
	uint64_t (*store_size)(void *opaque);
	int (*store_read)(void *opaque, uint64_t off, void *buf, uint64_t len);
	int (*store_write)(void *opaque, uint64_t off, const void *buf, uint64_t len);
	/* Optional: arms a fault for the next transfer. */
	void (*inject_fault)(void *opaque, enum dc_fault f);

	/* DC_STORE_STREAM only: what the device has played so far (*len bytes), dropping the
	 * first n, and whether it is idle (no transfer running). */
	const uint8_t *(*stream_sink)(void *opaque, uint64_t *len);
	void (*stream_consume)(void *opaque, uint64_t n);
	bool (*stream_idle)(void *opaque);
};

/* ---- The model ----------------------------------------------------------------------------- */

struct dc_device_model {
	uint32_t abi;     /* DMACOH_DEVICE_ABI */
	uint32_t size;    /* sizeof(struct dc_device_model) */
	const char *name; /* short, as on the command line ([a-z0-9_-], at most 31 characters) */
	const char *desc; /* one line (DevicePropertyDeviceDescription) */
	const struct dc_device_ops *ops;
	struct dc_device_res res; /* instance 0 */
	/* Further instances: more[i - 1] for instance i while i <= n_more, then the last one
	 * with its ports moved by port_stride and its window by mmio_stride per instance.
	 * max_instances 0: as many as the strides allow (a stride of 0 allows no more). */
	const struct dc_device_res *more;
	unsigned n_more;
	uint32_t port_stride;
	uint64_t mmio_stride;
	unsigned max_instances;
	/* The built-in workload's view. */
	enum dc_store_kind store_kind;
	uint32_t store_unit; /* BLOCK: sector bytes; FRAME: largest frame; STREAM: 1 */
	uint64_t store_bps;  /* slowest data rate (bytes/s) for hang timeouts; 0: the platform's
	                      * rate for its kind of DMA */
	bool no_fault;       /* the workload's fault=N cannot be honoured (e.g. a lost frame has
	                      * no request to fail) */
	enum dc_device_class dev_class;
	const char *identifier; /* hardware-tree Identifier; NULL: the name */
	/* Appended (DMACOH_DEVICE_REQUEST_LINES, see the request-line block at the end): the
	 * peripheral request line of the platform's request-line DMA controller this device
	 * drives (arm-soc's PL080: 0-15), instead of an 8237 channel.  A model built before this
	 * addition has a smaller `size` and no request line. */
	bool has_request_line;
	uint8_t request_line;
};

/* Exports `model` (a struct dc_device_model) from a shared object under the well-known symbol. */
#define DMACOH_DEVICE_MODEL(model)             \
	__attribute__((visibility("default"))) \
	const struct dc_device_model *const dmacoh_device_model = &(model)

/* ---- Calls a model makes: the host handle ------------------------------------------------------
 */

/* The resources this instance got, its model, its configuration. */
const struct dc_device_res *dc_host_res(const struct dc_host *h);
const struct dc_platform *dc_host_platform(const struct dc_host *h);
/* Simulated time, ns. */
uint64_t dc_host_now(const struct dc_host *h);
/* Reports a model error (a configuration it refuses, an impossible state): kept as the
 * device's last message, shown by dmacoh with the device's name.  Never prints. */
void dc_host_log(struct dc_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Interrupts on the declared line (nothing when the device has none). */
void dc_host_irq_raise(struct dc_host *h);
void dc_host_irq_lower(struct dc_host *h);
bool dc_host_irq_asserted(const struct dc_host *h);
void dc_host_irq_pulse(struct dc_host *h); /* edge: raise then lower */
/* Re-routes the device's interrupt to another line (a jumperless card's IRQ select): lowers
 * the old one.  The kernel keeps reporting the line the device started with. */
void dc_host_irq_move(struct dc_host *h, int line);

/* Timers: events in simulated time, run in (time, scheduling order) order.  A timer belongs
 * to the device and is freed with it.  NULL when memory runs out. */
typedef void (*dc_timer_fn)(void *opaque);
struct dc_timer *dc_timer_new(struct dc_host *h, const char *name, dc_timer_fn fn, void *opaque);
/* Schedules at absolute time `when` (clamped to now); moves a pending timer. */
int dc_timer_mod(struct dc_timer *t, uint64_t when);
void dc_timer_del(struct dc_timer *t);
bool dc_timer_pending(const struct dc_timer *t);

/* System DMA (chan 0 or 1 as above): DREQ on/off, a failed transfer (the driver's
 * FlushAdapterBuffers then returns FALSE), EOP from the device, and bringing the channel up to
 * now (so bytes it owes the device have arrived).  dc_host_dma_move re-attaches the device to
 * another channel (a sound card's mixer selects its channels): DC_ERR_BUSY if taken. */
void dc_host_dreq(struct dc_host *h, unsigned chan, bool level);
void dc_host_dma_error(struct dc_host *h, unsigned chan);
void dc_host_dma_eop(struct dc_host *h, unsigned chan);
void dc_host_dma_sync(struct dc_host *h, unsigned chan);
int dc_host_dma_move(struct dc_host *h, unsigned chan, unsigned channel);
unsigned dc_host_dma_channel(const struct dc_host *h, unsigned chan);

/* Bus mastering (res.bus_master).  All of a device's engines are one DMA source behind the
 * host bridge.  Untimed single accesses by logical address (descriptor fetch and write-back):
 * a read is ordered behind the device's posted writes; a write is posted.  dc_host_mem_read
 * returns DC_ERR_RANGE for a master abort (outside memory). */
int dc_host_mem_read(struct dc_host *h, uint64_t addr, void *dst, uint64_t len);
void dc_host_mem_write(struct dc_host *h, uint64_t addr, const void *src, uint64_t len);
/* Lands the device's posted writes (PCI: a read of its registers does), and reports a failed
 * transfer (the next drain says so). */
void dc_host_bm_flush(struct dc_host *h);
void dc_host_bm_error(struct dc_host *h);

/* A timed scatter/gather engine: moves a list of (logical address, length) segments between
 * memory and a flat device-side buffer at `bw` bytes per simulated second (0: the platform's),
 * starting latency_ns after dc_bm_start, in runs of at most 64 KiB, then calls done from a
 * clock event.  Freed with the device. */
struct dc_bm_seg {
	uint64_t addr; /* logical */
	uint32_t len;
};
typedef void (*dc_bm_done)(void *opaque, int status, uint64_t bytes);
struct dc_bm *dc_bm_new(struct dc_host *h, uint64_t bw, uint64_t latency_ns);
/* DC_ERR_BUSY while a transfer runs; the segments are copied, dev must stay valid. */
int dc_bm_start(struct dc_bm *bm, const struct dc_bm_seg *segs, uint32_t n, enum dc_dir dir,
                void *dev, dc_bm_done done, void *opaque);
uint64_t dc_bm_abort(struct dc_bm *bm); /* no callback; bytes moved */
bool dc_bm_busy(const struct dc_bm *bm);
/* Fault injection: the next transfer stops with DC_ERR_IO after `bytes` bytes. */
void dc_bm_fail_next(struct dc_bm *bm, uint64_t bytes);
uint64_t dc_bm_ns(const struct dc_bm *bm, uint64_t n); /* time for n bytes */
int dc_bm_read_now(struct dc_bm *bm, uint64_t addr, void *dst, uint64_t len);
void dc_bm_write_now(struct dc_bm *bm, uint64_t addr, const void *src, uint64_t len);

/* Message-signalled interrupts (res.irq_mode DC_IRQ_MSI).  Sends message `msg` (0 ..
 * msi_messages - 1): a posted memory write to the interrupt controller, so it is ordered
 * behind the device's earlier posted DMA writes: the host bridge lands them first (PCI
 * ordering), then the message's vector gets one edge.  Two sends before the CPU takes the first
 * are one interrupt (the vector is pending once).  A msg out of range is dropped and logged. */
void dc_host_msi(struct dc_host *h, unsigned msg);

/* ---- Request lines (an addition to ABI 1: DMACOH_DEVICE_REQUEST_LINES) --------------------
 * A model with has_request_line is a peripheral of a request-line DMA controller (a SoC's
 * DMAC; arm-soc's PL080): the driver's v3 adapter names the line (DmaRequestLine) and the
 * device's data register (DeviceAddress), the HAL binds a controller channel to the line.
 * The device moves data with the system DMA client ops above, always with chan 0:
 * dack_from_device hands over bytes for memory, dack_to_device offers room for bytes from
 * memory, tc (optional for a request line) is the controller's DMACTC at the end of the
 * transfer.  Attaching fails on a platform without such a controller. */
#define DMACOH_DEVICE_REQUEST_LINES 1
/* The device asserts (true) or drops its request; asserting again restarts a channel that
 * stalled because the device gave or took nothing. */
void dc_host_request(struct dc_host *h, bool level);
/* The device answers the controller with an error: the channel stops and raises its error
 * interrupt (the HAL's DMA_COMPLETION_STATUS then says DmaError). */
void dc_host_request_error(struct dc_host *h);
/* The line this instance drives, -1: none. */
int dc_host_request_line(const struct dc_host *h);

/* ---- The host's side (dmacoh, tests, embedders; not for models) --------------------------- */

/* A model bound to a machine. */
struct dc_device {
	const struct dc_device_ops *ops; /* the model's, with name and desc filled in */
	void *opaque;
	struct dc_device_res res;
	const struct dc_device_model *model;
	struct dc_host *host;
};

/* Checks a model's declaration: DC_OK, or DC_ERR_INVAL with one line in err (wrong ABI,
 * missing ops member, impossible resources). */
int dc_device_model_check(const struct dc_device_model *m, char *err, size_t errlen);

/* Binds a model to machine m with resources res (final: ports, channels, line; a mmio_base of
 * 0 means the device window + the model's declared offset), bus masters behind bridge br.
 * Claims the resources (DC_ERR_BUSY, with the other claimant named in err, if any is taken),
 * then calls ops->create.  err may be NULL. */
int dc_device_attach(struct dc_machine *m, struct dc_bridge *br,
                     const struct dc_device_model *model, const struct dc_device_res *res,
                     const struct dc_device_cfg *cfg, struct dc_device *out, char *err,
                     size_t errlen);
/* Destroys the state and gives the resources back. */
void dc_device_detach(struct dc_device *d);
/* The machine's engine behind a model's dc_bm (tests, the kernel's FlushAdapterBuffers). */
struct dc_busmaster;
struct dc_busmaster *dc_bm_busmaster(struct dc_bm *bm);

#endif
