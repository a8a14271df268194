/* The sanitizer on short event sequences the example drivers showed matter: a scatter/gather
 * chain of MapTransfers flushed per piece or at once, a MapTransfer that maps only part of the
 * request (A03 and still a transfer), a common buffer whose lines the CPU and the device share
 * (C05, not C02), and a DMA engine that issues no DEVICE_ACCESS events (the 8237: judged by the
 * bus address, a bounce page included). */
#include <string.h>

#include "dctest.h"
#include "test_check.h"

static char adapter_obj, pdo_obj, mdl_obj, mrb_obj;

static void get_adapter(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER | DC_KEVF_SG});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_CHANNEL_ALLOC,
	                           .pc = tc_pc_start_io,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 4});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_CONTROL,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .mrb = &mrb_obj,
	                           .count = 4,
	                           .status = 3});
}

static struct dc_kev_piece piece(struct tc_env *v, uint8_t *va, uint64_t len)
{
	uint64_t pa = dc_va_to_pa(v->m, va);
	return (struct dc_kev_piece){va, pa, pa, len};
}

static void map(struct tc_env *v, uint64_t xfer, const struct dc_kev_piece *p, uint64_t asked,
                int status)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAP,
	                           .pc = tc_pc_start_io,
	                           .routine = "MapTransfer",
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = p->va,
	                           .len = asked,
	                           .len_out = p->len,
	                           .logical = p->logical,
	                           .dir = DC_DIR_FROM_DEVICE,
	                           .xfer = xfer,
	                           .status = status,
	                           .pieces = p,
	                           .n_pieces = 1});
}

static void device_write(struct tc_env *v, const struct dc_kev_piece *p)
{
	uint8_t buf[DC_PAGE_SIZE];
	memset(buf, 0xd0, p->len);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_DEVICE_ACCESS,
	                           .device = &pdo_obj,
	                           .adapter = &adapter_obj,
	                           .logical = p->logical,
	                           .len = p->len,
	                           .dir = DC_DIR_FROM_DEVICE,
	                           .value = v->src,
	                           .status = 1});
	dc_dma_write(v->m, v->src, p->pa, buf, p->len);
}

static void flush(struct tc_env *v, uint64_t xfer, const void *va, uint64_t len)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_FLUSH,
	                           .pc = tc_pc_dpc,
	                           .adapter = &adapter_obj,
	                           .mdl = &mdl_obj,
	                           .mrb = &mrb_obj,
	                           .va = va,
	                           .len = len,
	                           .dir = DC_DIR_FROM_DEVICE,
	                           .status = 1,
	                           .xfer = xfer});
}

static void free_regs(struct tc_env *v)
{
	tc_emit(v, (struct dc_kev){.type = DC_KEV_MAPREG_FREE,
	                           .pc = tc_pc_dpc,
	                           .adapter = &adapter_obj,
	                           .mrb = &mrb_obj,
	                           .count = 4,
	                           .status = 1});
}

static void log_findings(struct tc_env *v)
{
	static char sig[4096];
	tc_signature(v, sig, sizeof(sig));
	dct_log("%s", sig);
}

DC_TEST(check_events_sg_chain_flushed_per_piece_or_at_once)
{
	for (int at_once = 0; at_once < 2; at_once++) {
		struct tc_env v;
		CHECK(tc_init(&v, "noncoherent", 1, NULL));
		uint8_t *buf = dc_alloc_cached(v.m, 2, DC_ZONE_DMA32, false);
		get_adapter(&v);
		/* Two MapTransfers build the list: each maps one page. */
		struct dc_kev_piece p1 = piece(&v, buf, DC_PAGE_SIZE);
		struct dc_kev_piece p2 = piece(&v, buf + DC_PAGE_SIZE, DC_PAGE_SIZE);
		map(&v, 1, &p1, 2 * DC_PAGE_SIZE, DC_KMAP_SHORT);
		map(&v, 2, &p2, DC_PAGE_SIZE, DC_KMAP_OK);
		device_write(&v, &p1);
		device_write(&v, &p2);
		if (at_once) {
			flush(&v, 1, buf, 2 * DC_PAGE_SIZE);
		} else {
			flush(&v, 1, buf, DC_PAGE_SIZE);
			flush(&v, 2, buf + DC_PAGE_SIZE, DC_PAGE_SIZE);
		}
		free_regs(&v);
		size_t n = dc_check_count(v.c);
		if (n)
			log_findings(&v);
		tc_fini(&v);
		CHECK_MSG(n == 0, "%s: %zu findings", at_once ? "one flush" : "a flush per piece",
		          n);
	}
}

DC_TEST(check_events_partial_map_is_a03_and_a_transfer)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	uint8_t *buf = dc_alloc_cached(v.m, 2, DC_ZONE_DMA32, false);
	get_adapter(&v);
	struct dc_kev_piece p1 = piece(&v, buf, DC_PAGE_SIZE);
	map(&v, 1, &p1, 9 * DC_PAGE_SIZE, DC_KMAP_TOO_MANY_REGS);
	/* The part that was mapped is a transfer: touching it is C03. */
	dc_cpu_ref(v.m, buf + 8, 4, DC_ACC_WRITE, tc_pc_copy);
	device_write(&v, &p1);
	flush(&v, 1, buf, DC_PAGE_SIZE);
	free_regs(&v);
	bool a03 = dc_check_rule_hits(v.c, DC_RULE_A03) == 1;
	bool c03 = dc_check_rule_hits(v.c, DC_RULE_C03) == 1;
	size_t n = dc_check_count(v.c);
	log_findings(&v);
	tc_fini(&v);
	CHECK(a03 && c03 && n == 2);
}

/* A cache-enabled common buffer: the CPU writes [cpu, cpu + ncpu) and does not flush, the
 * device then writes [dev, dev + ndev). */
static void common_case(struct tc_env *v, uint32_t cpu, uint32_t ncpu, uint32_t dev, uint32_t ndev)
{
	uint8_t *cb = dc_alloc_cached(v->m, 1, DC_ZONE_DMA32, true);
	struct dc_kev_piece p = piece(v, cb, DC_PAGE_SIZE);
	tc_emit(v, (struct dc_kev){.type = DC_KEV_ADAPTER_GET,
	                           .adapter = &adapter_obj,
	                           .device = &pdo_obj,
	                           .count = 16,
	                           .flags = DC_KEVF_MASTER});
	tc_emit(v, (struct dc_kev){.type = DC_KEV_COMMON_ALLOC,
	                           .adapter = &adapter_obj,
	                           .va = cb,
	                           .len = DC_PAGE_SIZE,
	                           .logical = p.logical,
	                           .flags = DC_KEVF_CACHED,
	                           .pieces = &p,
	                           .n_pieces = 1});
	dc_cpu_fill_pc(v->m, cb + cpu, 0x11, ncpu, tc_pc_copy);
	struct dc_kev_piece d = {cb + dev, p.pa + dev, p.logical + dev, ndev};
	device_write(v, &d);
}

DC_TEST(check_events_common_buffer_line_sharing_is_c05)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	common_case(&v, 0, 16, 16, 48); /* header beside the device's bytes, one line */
	bool c05 = dc_check_count(v.c) == 1 && dc_check_finding(v.c, 0)->rule == DC_RULE_C05 &&
	           dc_check_finding(v.c, 0)->bytes == 48 &&
	           dc_check_finding(v.c, 0)->pc == tc_pc_copy;
	/* The dirty header line was written back over the device's bytes right after. */
	bool manifested = c05 && dc_check_finding(v.c, 0)->manifested;
	log_findings(&v);
	tc_fini(&v);
	CHECK(c05);
	CHECK(manifested);
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	common_case(&v, 16, 16, 16, 48); /* over the bytes the CPU wrote */
	bool c02 = dc_check_count(v.c) == 1 && dc_check_finding(v.c, 0)->rule == DC_RULE_C02;
	log_findings(&v);
	tc_fini(&v);
	CHECK(c02);
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	common_case(&v, 0, 16, 64, 64); /* the next line: nothing shared */
	size_t n = dc_check_count(v.c);
	tc_fini(&v);
	CHECK_EQ(n, 0);
}

DC_TEST(check_events_engine_without_device_access_events)
{
	for (int bounced = 0; bounced < 2; bounced++) {
		struct tc_env v;
		CHECK(tc_init(&v, "noncoherent", 1, NULL));
		int src = dc_machine_dma_source(v.m, "i8237");
		uint8_t *buf = dc_alloc_cached(v.m, 1, DC_ZONE_DMA32, false);
		uint8_t *bounce = dc_alloc_uncached(v.m, 1, DC_ZONE_ISA);
		dc_cpu_fill_pc(v.m, buf, 0x42, 512, tc_pc_copy); /* never flushed: C01 */
		get_adapter(&v);
		struct dc_kev_piece p = piece(&v, buf, 512);
		if (bounced)
			p.logical = dc_va_to_pa(v.m, bounce);
		tc_emit(&v, (struct dc_kev){.type = DC_KEV_MAP,
		                            .pc = tc_pc_start_io,
		                            .adapter = &adapter_obj,
		                            .mdl = &mdl_obj,
		                            .mrb = &mrb_obj,
		                            .va = buf,
		                            .len = 512,
		                            .len_out = 512,
		                            .logical = p.logical,
		                            .dir = DC_DIR_TO_DEVICE,
		                            .xfer = 1,
		                            .pieces = &p,
		                            .n_pieces = 1});
		uint8_t out[512];
		dc_dma_read(v.m, src, p.logical, out,
		            512); /* the controller reads the bus address */
		bool c01 =
		    dc_check_count(v.c) == 1 && dc_check_finding(v.c, 0)->rule == DC_RULE_C01;
		/* Through a bounce page the HAL's copy read the cache: the device got the data. */
		bool manifested = c01 && dc_check_finding(v.c, 0)->manifested;
		log_findings(&v);
		tc_fini(&v);
		CHECK_MSG(c01, "bounced %d: no C01", bounced);
		CHECK_MSG(manifested == !bounced, "bounced %d: manifested %d", bounced, manifested);
	}
}
