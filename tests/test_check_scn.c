/* The scenario the sanitizer's rule tests play (test_check.h).  The kernel's part is played
 * here: each DC_KEV_* event is emitted after the work a kernel would do (cache maintenance
 * for KeFlushIoBuffers and FlushAdapterBuffers, the device's memory accesses). */
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "test_check.h"

#define IRP_MJ_READ 3
#define IRP_MJ_WRITE 4
#define STATUS_SUCCESS 0
#define STATUS_DEVICE_DATA_ERROR 0xC000009Cu
#define STATUS_INSUFFICIENT_RESOURCES 0xC000009Au
#define KEEP_REGISTERS 3

/* Distinct bodies, so that no two are folded into one. */
#define DRV_FN(name, k)                                        \
	__attribute__((noinline, used)) static int name(int x) \
	{                                                      \
		volatile int y = x * (k) + (k);                \
		return y + (k);                                \
	}
DRV_FN(drv_start_io, 11)
DRV_FN(drv_dpc, 13)
DRV_FN(drv_copy, 17)
DRV_FN(drv_complete, 19)
DRV_FN(drv_ring, 23)
DRV_FN(drv_pio, 29)
DRV_FN(drv_teardown, 31)

/* Return addresses inside each function (lookups use pc - 1). */
#define PC_OF(fn) ((const void *)((const char *)(uintptr_t)(fn) + 4))
const void *tc_pc_start_io, *tc_pc_dpc, *tc_pc_copy, *tc_pc_complete;

/* Kernel objects the events name: only their addresses matter. */
static char adapter_obj, pdo_obj, irp_w, irp_r, irp_p, mdl_w, mdl_r, mdl_p, mdl_ring, mrb_obj;

bool tc_init(struct tc_env *v, const char *platform, uint64_t seed, const struct dc_check_opts *o)
{
	memset(v, 0, sizeof(*v));
	tc_pc_start_io = PC_OF(drv_start_io);
	tc_pc_dpc = PC_OF(drv_dpc);
	tc_pc_copy = PC_OF(drv_copy);
	tc_pc_complete = PC_OF(drv_complete);
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0)
		return false;
	p.seed = seed;
	if (dc_machine_create(&p, &v->m) < 0)
		return false;
	struct dc_check_opts def;
	dc_check_opts_init(&def);
	if (dc_check_create(v->m, o ? o : &def, &v->c) < 0) {
		dc_machine_destroy(v->m);
		return false;
	}
	v->src = dc_machine_dma_source(v->m, "test-bm");
	return true;
}

void tc_fini(struct tc_env *v)
{
	dc_check_destroy(v->c);
	dc_machine_destroy(v->m);
	v->c = NULL;
	v->m = NULL;
}

void tc_emit(struct tc_env *v, struct dc_kev e)
{
	e.time = v->m->clock.now;
	struct dc_machine *m = v->m;
	for (unsigned i = 0; i < m->n_obs; i++)
		if (m->obs[i]->kev)
			m->obs[i]->kev(m->obs_opaque[i], &e);
	m->clock.now += 100; /* every call takes a little simulated time */
}

static uint32_t pieces_of(struct tc_env *v, void *va, uint64_t len, struct dc_kev_piece *out,
                          uint32_t max)
{
	uint32_t n = 0;
	uint8_t *p = va;
	while (len && n < max) {
		uint64_t k = DC_MIN(len, DC_PAGE_SIZE - ((uintptr_t)p & DC_PAGE_MASK));
		uint64_t pa = dc_va_to_pa(v->m, p);
		out[n++] = (struct dc_kev_piece){p, pa, pa, k};
		p += k, len -= k;
	}
	return n;
}

/* KeFlushIoBuffers as the kernel does it: the maintenance, then the event. */
static void ke_flush(struct tc_env *v, const void *mdl, void *va, uint64_t len, bool read, bool dma,
                     const void *pc)
{
	struct dc_kev_piece pc_[4];
	uint32_t n = pieces_of(v, va, len, pc_, 4);
	dc_cpu_cache_range(v->m, va, len, DC_CACHE_CLEAN_INVAL, false);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_KE_FLUSH,
	                           .pc = pc,
	                           .routine = "KeFlushIoBuffers",
	                           .mdl = mdl,
	                           .flags = (read ? DC_KEVF_READ : 0) | (dma ? DC_KEVF_DMA : 0),
	                           .pieces = pc_,
	                           .n_pieces = n});
}

/* The device moves the transfer's bytes (and says so first, as the bridge does). */
static void device_xfer(struct tc_env *v, const struct dc_kev_piece *p, uint32_t n, enum dc_dir d,
                        uint8_t pattern)
{
	uint8_t buf[DC_PAGE_SIZE];
	for (uint32_t i = 0; i < n; i++) {
		tc_emit(v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
		                           .device = &pdo_obj,
		                           .adapter = &adapter_obj,
		                           .logical = p[i].logical,
		                           .len = p[i].len,
		                           .dir = d,
		                           .value = v->src,
		                           .status = 1});
		if (d == DC_DIR_TO_DEVICE) {
			dc_dma_read(v->m, v->src, p[i].pa, buf, p[i].len);
		} else {
			memset(buf, pattern, p[i].len);
			dc_dma_write(v->m, v->src, p[i].pa, buf, p[i].len);
		}
	}
}

static void drv_fill(struct tc_env *v, void *va, int byte, uint64_t len, const void *pc)
{
	dc_cpu_fill_pc(v->m, va, byte, len, pc);
}

static void drv_read(struct tc_env *v, const void *va, uint64_t len, const void *pc)
{
	dc_cpu_ref(v->m, va, len, DC_ACC_READ, pc);
}

static bool all(const uint8_t *b, uint8_t x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != x)
			return false;
	return true;
}

/* One packet-based bus-master IRP of len bytes at `buf` in direction d. */
static void packet_irp(struct tc_env *v, int bug, enum dc_dir d, uint8_t *buf, uint64_t len,
                       uint64_t xfer)
{
	const void *irp = d == DC_DIR_TO_DEVICE ? &irp_w : &irp_r;
	const void *mdl = d == DC_DIR_TO_DEVICE ? &mdl_w : &mdl_r;
	struct dc_kev_piece p[4];
	uint32_t n = pieces_of(v, buf, len, p, 4);
	uint8_t chk[2 * DC_PAGE_SIZE];

	/* The application fills the buffer (a write's data, a read's old contents). */
	memset(chk, d == DC_DIR_TO_DEVICE ? 0x5a : 0xee, len);
	dc_cpu_write(v->m, buf, chk, len);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_SEND,
	                           .irp = irp,
	                           .device = &pdo_obj,
	                           .mdl = mdl,
	                           .value = d == DC_DIR_TO_DEVICE ? IRP_MJ_WRITE : IRP_MJ_READ,
	                           .len = len,
	                           .pieces = p,
	                           .n_pieces = n});
	/* StartIo: the driver stamps a header into a write's data, then G1. */
	if (d == DC_DIR_TO_DEVICE)
		drv_fill(v, buf, 0xa5, 16, tc_pc_copy);
	bool skip_ke = (d == DC_DIR_TO_DEVICE && bug == DC_RULE_C01) ||
	               (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_C02);
	if (!skip_ke)
		ke_flush(v, mdl, buf, len, d == DC_DIR_FROM_DEVICE, true, tc_pc_start_io);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .routine = "AllocateAdapterChannel",
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = n,
	                           .status = STATUS_SUCCESS});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .irp = irp,
	                           .mrb = &mrb_obj,
	                           .count = n,
	                           .status = KEEP_REGISTERS});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = tc_pc_start_io,
	                           .routine = "MapTransfer",
	                           .adapter = &adapter_obj,
	                           .mdl = mdl,
	                           .mrb = &mrb_obj,
	                           .va = buf,
	                           .len = len,
	                           .len_out = len,
	                           .logical = p[0].logical,
	                           .dir = d,
	                           .xfer = xfer,
	                           .status = DC_KMAP_OK,
	                           .pieces = p,
	                           .n_pieces = n,
	                           .value = 0});
	if (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_C05) /* a field next to the buffer */
		drv_fill(v, buf - 16, 0x77, 16, tc_pc_copy);
	device_xfer(v, p, n, d, 0xd0);
	if (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_C03) /* peeks before the flush */
		drv_read(v, buf + 64, 8, tc_pc_copy);
	if (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A09) /* one line past the mapping */
		tc_emit(v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
		                           .device = &pdo_obj,
		                           .adapter = &adapter_obj,
		                           .logical = p[n - 1].logical + p[n - 1].len,
		                           .len = 64,
		                           .dir = DC_DIR_FROM_DEVICE,
		                           .value = v->src,
		                           .status = 0});
	/* DPC: FlushAdapterBuffers (the HAL invalidates a read's lines first). */
	bool flush_ok = !(d == DC_DIR_FROM_DEVICE && bug == DC_RULE_C08);
	if (!(d == DC_DIR_FROM_DEVICE && bug == DC_RULE_C07)) {
		if (d == DC_DIR_FROM_DEVICE)
			dc_cpu_cache_range(v->m, buf, len, DC_CACHE_CLEAN_INVAL, false);
		uint64_t flen = d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A01 ? len - 512 : len;
		for (int k = 0; k < (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A02 ? 2 : 1); k++)
			tc_emit(v, (struct dc_kev){.type = DC_KEV_FLUSH,
			                           .pc = tc_pc_dpc,
			                           .routine = "FlushAdapterBuffers",
			                           .adapter = &adapter_obj,
			                           .mdl = mdl,
			                           .mrb = &mrb_obj,
			                           .va = buf,
			                           .len = flen,
			                           .dir = d,
			                           .status = flush_ok,
			                           .xfer = k ? 0 : xfer});
	}
	if (!(d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A05)) {
		for (int k = 0; k < (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A04 ? 2 : 1); k++)
			tc_emit(v, (struct dc_kev){.type = DC_KEV_MAPREG_FREE,
			                           .pc = tc_pc_dpc,
			                           .routine = "FreeMapRegisters",
			                           .adapter = &adapter_obj,
			                           .mrb = &mrb_obj,
			                           .count = n,
			                           .status = k == 0});
	}
	/* Completion: G6 (a failed flush fails the IRP, Information 0). */
	int64_t st = flush_ok || bug == DC_RULE_C08 ? STATUS_SUCCESS : STATUS_DEVICE_DATA_ERROR;
	uint64_t info = st == STATUS_SUCCESS ? len : 0;
	if (d == DC_DIR_FROM_DEVICE && bug == DC_RULE_A10) {
		st = STATUS_DEVICE_DATA_ERROR;
		info = len;
	}
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                           .pc = tc_pc_complete,
	                           .routine = "IoCompleteRequest",
	                           .irp = irp,
	                           .device = &pdo_obj,
	                           .mdl = mdl,
	                           .status = st,
	                           .len_out = info,
	                           .len = len,
	                           .value = d == DC_DIR_TO_DEVICE ? IRP_MJ_WRITE : IRP_MJ_READ});
	/* The application checks a read's data. */
	if (d == DC_DIR_FROM_DEVICE && bug < 0) {
		dc_cpu_read(v->m, buf, chk, len);
		v->data_ok = all(chk, 0xd0, len);
	}
}

void tc_scenario(struct tc_env *v, int bug)
{
	struct dc_machine *m = v->m;
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .routine = "IoGetDmaAdapter",
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER | DC_KEVF_SG | DC_KEVF_DMA32,
	                           .len = 65536,
	                           .status = 2});
	/* A cache-enabled common buffer holding a descriptor ring. */
	uint8_t *ring = dc_alloc_cached(m, 1, DC_ZONE_DMA32, true);
	struct dc_kev_piece rp[1];
	pieces_of(v, ring, DC_PAGE_SIZE, rp, 1);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_COMMON_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .routine = "AllocateCommonBuffer",
	                           .adapter = &adapter_obj,
	                           .va = ring,
	                           .len = DC_PAGE_SIZE,
	                           .logical = rp[0].logical,
	                           .flags = DC_KEVF_CACHED,
	                           .pieces = rp,
	                           .n_pieces = 1});

	/* A write IRP and a read IRP. */
	uint8_t *wbuf = dc_alloc_cached(m, 2, DC_ZONE_DMA32, false);
	uint8_t *rbuf = dc_alloc_cached(m, 3, DC_ZONE_DMA32, false);
	packet_irp(v, bug, DC_DIR_TO_DEVICE, wbuf, 2 * DC_PAGE_SIZE, 1);
	packet_irp(v, bug, DC_DIR_FROM_DEVICE,
	           rbuf + (bug == DC_RULE_C05 || bug == TC_UNALIGNED ? 16 : 0), 2 * DC_PAGE_SIZE,
	           2);

	/* The ring: the driver writes a descriptor and flushes it (G2), the device reads it and
	 * writes its status word; the driver polls the status before and after. */
	drv_fill(v, ring, 0x11, 32, PC_OF(drv_ring));
	ke_flush(v, &mdl_ring, ring, DC_PAGE_SIZE, false, true, PC_OF(drv_ring));
	drv_read(v, ring + 32, 4, PC_OF(drv_ring)); /* not done yet */
	uint8_t desc[32], status[4] = {1, 0, 0, 0};
	tc_emit(v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
	                           .device = &pdo_obj,
	                           .adapter = &adapter_obj,
	                           .logical = rp[0].logical,
	                           .len = 32,
	                           .dir = DC_DIR_TO_DEVICE,
	                           .value = v->src,
	                           .status = 1});
	dc_dma_read(m, v->src, rp[0].pa, desc, 32);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
	                           .device = &pdo_obj,
	                           .adapter = &adapter_obj,
	                           .logical = rp[0].logical + 32,
	                           .len = 4,
	                           .dir = DC_DIR_FROM_DEVICE,
	                           .value = v->src,
	                           .status = 1});
	dc_dma_write(m, v->src, rp[0].pa + 32, status, 4);
	if (bug != DC_RULE_C04)
		ke_flush(v, &mdl_ring, ring, DC_PAGE_SIZE, true, true, PC_OF(drv_ring));
	drv_read(v, ring + 32, 4, tc_pc_copy);

	/* A PIO read: the driver copies device registers into the IRP's buffer (P1). */
	uint8_t *pbuf = dc_alloc_cached(m, 1, DC_ZONE_DMA32, false);
	struct dc_kev_piece pp[1];
	pieces_of(v, pbuf, 512, pp, 1);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_SEND,
	                           .irp = &irp_p,
	                           .device = &pdo_obj,
	                           .mdl = &mdl_p,
	                           .value = IRP_MJ_READ,
	                           .len = 512,
	                           .pieces = pp,
	                           .n_pieces = 1});
	drv_fill(v, pbuf, 0x3c, 512, PC_OF(drv_pio));
	if (bug != DC_RULE_C06)
		ke_flush(v, &mdl_p, pbuf, 512, true, false, PC_OF(drv_pio));
	tc_emit(v, (struct dc_kev){.type = DC_KEV_IRP_COMPLETE,
	                           .pc = PC_OF(drv_pio),
	                           .irp = &irp_p,
	                           .device = &pdo_obj,
	                           .mdl = &mdl_p,
	                           .status = STATUS_SUCCESS,
	                           .len_out = 512,
	                           .len = 512,
	                           .value = IRP_MJ_READ});

	/* Mistakes that are single calls. */
	if (bug == DC_RULE_A03)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
		                           .pc = tc_pc_start_io,
		                           .routine = "AllocateAdapterChannel",
		                           .adapter = &adapter_obj,
		                           .device = &pdo_obj,
		                           .count = 17,
		                           .status = (int32_t)STATUS_INSUFFICIENT_RESOURCES});
	if (bug == DC_RULE_A06)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
		                           .pc = tc_pc_start_io,
		                           .routine = "MapTransfer",
		                           .mdl = &mdl_w,
		                           .va = wbuf,
		                           .len = 512,
		                           .status = DC_KMAP_NO_ADAPTER});
	if (bug == DC_RULE_A07)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_BAD_ACCESS,
		                           .pc = tc_pc_copy,
		                           .va = wbuf,
		                           .routine = "MmGetMdlVirtualAddress(Mdl)"});
	if (bug == DC_RULE_A08)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_IRQL,
		                           .pc = tc_pc_dpc,
		                           .routine = "FreeMapRegisters",
		                           .irql = 0,
		                           .irql_min = 2,
		                           .irql_max = 2});
	if (bug == DC_RULE_X01)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_CRASH,
		                           .pc = tc_pc_copy,
		                           .status = 0xE6,
		                           .routine = "DRIVER_VERIFIER_DMA_VIOLATION"});

	/* Teardown (G14). */
	if (bug == DC_RULE_A11)
		tc_emit(v, (struct dc_kev){.type = DC_KEV_COMMON_FREE,
		                           .pc = PC_OF(drv_teardown),
		                           .adapter = &adapter_obj,
		                           .va = ring,
		                           .len = DC_PAGE_SIZE / 2,
		                           .logical = rp[0].logical,
		                           .flags = DC_KEVF_CACHED,
		                           .status = 0});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_COMMON_FREE,
	                           .pc = PC_OF(drv_teardown),
	                           .adapter = &adapter_obj,
	                           .va = ring,
	                           .len = DC_PAGE_SIZE,
	                           .logical = rp[0].logical,
	                           .flags = DC_KEVF_CACHED,
	                           .status = 1});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_PUT,
	                           .pc = PC_OF(drv_teardown),
	                           .routine = "PutDmaAdapter",
	                           .adapter = &adapter_obj});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_UNLOAD});
	(void)drv_start_io, (void)drv_dpc, (void)drv_copy, (void)drv_complete;
}

size_t tc_signature(struct tc_env *v, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < dc_check_count(v->c); i++) {
		const struct dc_finding *f = dc_check_finding(v->c, i);
		char loc[256];
		dc_check_symbolize(v->c, f->pc, f->exact_pc, loc, sizeof(loc));
		int k =
		    snprintf(buf + n, n < len ? len - n : 0,
		             "%s %s at %s xfer %llu bytes %llu x%llu\n", dc_rule_info(f->rule)->id,
		             dc_severity_name(f->severity), loc, (unsigned long long)f->xfer,
		             (unsigned long long)f->bytes, (unsigned long long)f->count);
		if (k > 0)
			n += (size_t)k;
	}
	return n;
}
