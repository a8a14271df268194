/* fdc: the 82077AA driven as a PC driver drives it — DOR, the MSR handshake before every FIFO
 * byte, the 8237 channel 2 programmed through the HAL helpers (MapTransfer), the interrupt
 * awaited in simulated time, the result bytes read, the channel drained (FlushAdapterBuffers)
 * — and every byte checked against the medium. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "devices/fdc.h"
#include "hw/i8237.h"
#include "hw/machine.h"
#include "hw/rng.h"

#define BASE 0x3F0u
#define CH 2u
#define IRQ 6u
#define TRACK (18u * DC_FDC_SECTOR)
#define MS UINT64_C(1000000)
#define DOR_ON (DC_FDC_DOR_NRESET | DC_FDC_DOR_DMAGATE | DC_FDC_DOR_MOTEN(0)) /* 0x1C */

struct rig {
	struct dc_machine *m;
	struct dc_i8237 *d;
	struct dc_device dev;
	void *f;
	uint8_t *buf; /* a DMA buffer of two tracks, cached */
	uint64_t pa;
};

static void outb(struct rig *r, uint32_t port, uint32_t v)
{
	dc_bus_port_write(&r->m->bus, port, v & 0xFF, 1);
}

static uint8_t inb(struct rig *r, uint32_t port)
{
	return (uint8_t)dc_bus_port_read(&r->m->bus, port, 1);
}

static uint8_t msr(struct rig *r)
{
	return inb(r, BASE + DC_FDC_REG_MSR);
}

/* A recognisable disk: byte i of the image. */
static uint8_t pattern(uint64_t i, unsigned salt)
{
	return (uint8_t)(i * 7 + (i >> 9) * 131 + salt);
}

/* An ISA-reachable, contiguous, cached buffer that does not cross a 64 KiB DMA page. */
static uint8_t *dma_buf(struct rig *r, uint64_t pages, uint64_t *pa)
{
	for (int tries = 0; tries < 64; tries++) {
		uint8_t *p = dc_alloc_cached(r->m, pages, DC_ZONE_ISA, true);
		if (!p)
			return NULL;
		*pa = dc_va_to_pa(r->m, p);
		if ((*pa & 0xFFFF) + pages * DC_PAGE_SIZE <= 0x10000)
			return p;
	}
	return NULL;
}

static bool rig_up_cfg(struct rig *r, const char *prof, const struct dc_fdc_cfg *cfg,
                       enum dc_fdc_media media)
{
	struct dc_platform p;
	memset(r, 0, sizeof(*r));
	if (dc_platform_builtin(prof, &p) < 0 || dc_machine_create(&p, &r->m) < 0)
		return false;
	if (dc_i8237_create(r->m, NULL, &r->d) < 0)
		return false;
	if (dc_fdc_create(r->m, cfg, &r->dev) < 0)
		return false;
	r->f = r->dev.opaque;
	if (media != DC_FDC_MEDIA_NONE) {
		uint64_t size = dc_fdc_media_size(media);
		uint8_t *img = malloc(size);
		if (!img)
			return false;
		for (uint64_t i = 0; i < size; i++)
			img[i] = pattern(i, 3);
		int rc = dc_fdc_insert(r->f, 0, media, img);
		free(img);
		if (rc < 0)
			return false;
	}
	r->buf = dma_buf(r, 5, &r->pa);
	return r->buf != NULL;
}

static bool rig_up(struct rig *r, const char *prof)
{
	return rig_up_cfg(r, prof, NULL, DC_FDC_MEDIA_1440K);
}

static void rig_down(struct rig *r)
{
	if (r->dev.ops)
		dc_device_detach(&r->dev);
	dc_i8237_destroy(r->d);
	if (r->m)
		dc_machine_destroy(r->m);
}

static bool wait_irq(struct rig *r, uint64_t max_ns)
{
	struct dc_machine *m = r->m;
	uint64_t end = m->clock.now + max_ns;
	while (!dc_irq_asserted(&m->irq, IRQ)) {
		uint64_t nx = dc_clock_next(&m->clock);
		if (nx == UINT64_MAX || nx > end)
			return false;
		dc_clock_step(&m->clock);
	}
	return true;
}

/* The command phase: every byte only when MSR says RQM and host -> controller. */
static bool cmd(struct rig *r, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if ((msr(r) & (DC_FDC_MSR_RQM | DC_FDC_MSR_DIO)) != DC_FDC_MSR_RQM)
			return false;
		outb(r, BASE + DC_FDC_REG_FIFO, b[i]);
	}
	return true;
}

/* The result phase: bytes while MSR says RQM and controller -> host.  Returns how many. */
static unsigned result(struct rig *r, uint8_t *out, unsigned max)
{
	unsigned n = 0;
	while (n < max &&
	       (msr(r) & (DC_FDC_MSR_RQM | DC_FDC_MSR_DIO)) == (DC_FDC_MSR_RQM | DC_FDC_MSR_DIO))
		out[n++] = inb(r, BASE + DC_FDC_REG_FIFO);
	return n;
}

static bool sense_int(struct rig *r, uint8_t *st0, uint8_t *pcn)
{
	uint8_t c = DC_FDC_OP_SENSE_INT, res[2];
	if (!cmd(r, &c, 1) || result(r, res, 2) != 2)
		return false;
	*st0 = res[0];
	*pcn = res[1];
	return true;
}

/* What a driver's init does: reset, the four polling interrupts, data rate, SPECIFY (step
 * 3 ms, head unload 240 ms, head load 4 ms, DMA), motor on, recalibrate. */
static bool bring_up(struct rig *r, uint8_t ccr)
{
	outb(r, BASE + DC_FDC_REG_DOR, 0);
	outb(r, BASE + DC_FDC_REG_DOR, DOR_ON);
	if (!wait_irq(r, 10 * MS))
		return false;
	for (unsigned i = 0; i < 4; i++) {
		uint8_t st0, pcn;
		if (!sense_int(r, &st0, &pcn) || st0 != (0xC0 | i) || pcn)
			return false;
	}
	if (dc_irq_asserted(&r->m->irq, IRQ))
		return false;
	outb(r, BASE + DC_FDC_REG_DIR, ccr);
	const uint8_t spec[] = {DC_FDC_OP_SPECIFY, 0xDF, 0x02};
	const uint8_t recal[] = {DC_FDC_OP_RECALIBRATE, 0};
	if (!cmd(r, spec, 3) || !cmd(r, recal, 2) || !wait_irq(r, 1000 * MS))
		return false;
	uint8_t st0, pcn;
	return sense_int(r, &st0, &pcn) && st0 == DC_FDC_ST0_SE && pcn == 0;
}

static bool seek(struct rig *r, unsigned cyl, unsigned head)
{
	const uint8_t c[] = {DC_FDC_OP_SEEK, (uint8_t)(head << 2), (uint8_t)cyl};
	uint8_t st0, pcn;
	return cmd(r, c, 3) && wait_irq(r, 1000 * MS) && sense_int(r, &st0, &pcn) &&
	       st0 == (DC_FDC_ST0_SE | head << 2) && pcn == cyl;
}

/* READ or WRITE DATA through channel 2 (single mode, as a PC's BIOS and drivers program it)
 * for `bytes`, with the command asking for sectors r..eot; the 7 result bytes in res. */
static bool xfer(struct rig *r, bool write, uint8_t mt, unsigned c, unsigned h, unsigned sec,
                 unsigned eot, uint32_t bytes, uint8_t res[7])
{
	uint8_t mode = DC_I8237_MODE_SINGLE | (write ? DC_I8237_MODE_READ : DC_I8237_MODE_WRITE);
	if (dc_i8237_hal_program(r->d, CH, mode, r->pa, bytes) < 0)
		return false;
	const uint8_t op =
	    (uint8_t)(mt | DC_FDC_MFM | (write ? DC_FDC_OP_WRITE_DATA : DC_FDC_OP_READ_DATA));
	const uint8_t b[9] = {op, (uint8_t)(h << 2), (uint8_t)c, (uint8_t)h, (uint8_t)sec,
	                      2,  (uint8_t)eot,      0x1B,       0xFF};
	if (!cmd(r, b, 9))
		return false;
	if ((msr(r) & (DC_FDC_MSR_RQM | DC_FDC_MSR_CB)) != DC_FDC_MSR_CB)
		return false; /* execution phase: busy, no RQM */
	if (!wait_irq(r, 2000 * MS) || result(r, res, 7) != 7)
		return false;
	dct_log("  %s c%u h%u r%u..%u %u bytes: %02x %02x %02x  %u %u %u %u  at %" PRIu64 " ns\n",
	        write ? "write" : "read", c, h, sec, eot, bytes, res[0], res[1], res[2], res[3],
	        res[4], res[5], res[6], r->m->clock.now);
	return !dc_irq_asserted(&r->m->irq, IRQ); /* the first result byte acknowledged it */
}

/* A whole read as a correct driver does it on any platform: KeFlushIoBuffers, MapTransfer,
 * the command, the interrupt, FlushAdapterBuffers, and (v3 wording) stale lines dropped. */
static bool read_into(struct rig *r, uint8_t mt, unsigned c, unsigned h, unsigned sec, unsigned eot,
                      uint32_t bytes, uint8_t res[7], uint8_t *out)
{
	dc_cpu_fill(r->m, r->buf, 0xEE, 2 * TRACK);
	dc_cpu_cache_range(r->m, r->buf, 2 * TRACK, DC_CACHE_CLEAN_INVAL, false);
	if (!xfer(r, false, mt, c, h, sec, eot, bytes, res))
		return false;
	if (!dc_i8237_hal_flush(r->d, CH))
		return false;
	dc_cpu_cache_range(r->m, r->buf, bytes, DC_CACHE_INVAL, false);
	dc_cpu_read(r->m, r->buf, out, bytes);
	return true;
}

static bool write_from(struct rig *r, uint8_t mt, unsigned c, unsigned h, unsigned sec,
                       unsigned eot, uint32_t bytes, uint8_t res[7], const uint8_t *data)
{
	dc_cpu_write(r->m, r->buf, data, bytes);
	dc_cpu_cache_range(r->m, r->buf, bytes, DC_CACHE_CLEAN, false);
	if (!xfer(r, true, mt, c, h, sec, eot, bytes, res))
		return false;
	return dc_i8237_hal_flush(r->d, CH);
}

static const uint8_t *image(struct rig *r)
{
	return dc_fdc_image(r->f, 0, NULL);
}

static uint64_t lba_off(unsigned c, unsigned h, unsigned s)
{
	return ((uint64_t)(c * 2 + h) * 18 + s - 1) * DC_FDC_SECTOR;
}

DC_TEST(fdc_reset_version_dumpreg_and_the_msr_handshake)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	/* Created as the BIOS leaves it after POST: out of reset, DOR 0x0C (motors off, DMA and
	 * IRQ gated on), ready for a command (MSR RQM), no interrupt pending. */
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DOR), 0x0C);
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM);
	CHECK(!dc_irq_asserted(&r.m->irq, 6));
	CHECK(bring_up(&r, 0));
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM);
	uint8_t v = DC_FDC_OP_VERSION, res[10];
	CHECK(cmd(&r, &v, 1));
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM | DC_FDC_MSR_DIO | DC_FDC_MSR_CB);
	CHECK_EQ(result(&r, res, 10), 1);
	CHECK_EQ(res[0], 0x90);
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM);
	/* A half-sent command: CB with RQM, host -> controller. */
	const uint8_t cfg[] = {DC_FDC_OP_CONFIGURE, 0, 0x57, 0x10};
	CHECK(cmd(&r, cfg, 1));
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM | DC_FDC_MSR_CB);
	CHECK(cmd(&r, cfg + 1, 3));
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM);
	v = DC_FDC_OP_DUMPREG;
	CHECK(cmd(&r, &v, 1));
	CHECK_EQ(result(&r, res, 10), 10);
	const uint8_t want[10] = {0, 0, 0, 0, 0xDF, 0x02, 0, 0, 0x57, 0x10};
	for (unsigned i = 0; i < 10; i++)
		CHECK_MSG(res[i] == want[i], "dumpreg[%u] = %02x, want %02x", i, res[i], want[i]);
	/* Invalid opcode and SENSE INTERRUPT STATUS with nothing pending: ST0 = 0x80, one byte,
	 * no interrupt. */
	v = 0x1F;
	CHECK(cmd(&r, &v, 1));
	CHECK_EQ(result(&r, res, 10), 1);
	CHECK_EQ(res[0], 0x80);
	v = DC_FDC_OP_SENSE_INT;
	CHECK(cmd(&r, &v, 1));
	CHECK_EQ(result(&r, res, 10), 1);
	CHECK_EQ(res[0], 0x80);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	/* FIFO bytes in the wrong phase are ignored. */
	inb(&r, BASE + DC_FDC_REG_FIFO);
	CHECK_EQ(dc_fdc_stats(r.f)->ignored_bytes, 1);
	/* SENSE DRIVE STATUS: ready, two-sided, track 0, head bit; WP when protected. */
	const uint8_t sds[] = {DC_FDC_OP_SENSE_DRIVE, 0x04};
	CHECK(cmd(&r, sds, 2));
	CHECK_EQ(result(&r, res, 10), 1);
	CHECK_EQ(res[0], DC_FDC_ST3_RDY | DC_FDC_ST3_TS | DC_FDC_ST3_T0 | DC_FDC_ST3_HD);
	CHECK_EQ(dc_fdc_set_write_protect(r.f, 0, true), DC_OK);
	CHECK(cmd(&r, sds, 2));
	CHECK_EQ(result(&r, res, 10), 1);
	CHECK(res[0] & DC_FDC_ST3_WP);
	/* A DSR software reset: the interrupts again; CONFIGURE back to its defaults, SPECIFY
	 * kept. */
	outb(&r, BASE + DC_FDC_REG_MSR, DC_FDC_DSR_SWRESET);
	CHECK(wait_irq(&r, MS));
	for (unsigned i = 0; i < 4; i++) {
		uint8_t st0, pcn;
		CHECK(sense_int(&r, &st0, &pcn));
		CHECK_EQ(st0, 0xC0 | i);
	}
	v = DC_FDC_OP_DUMPREG;
	CHECK(cmd(&r, &v, 1));
	CHECK_EQ(result(&r, res, 10), 10);
	CHECK_EQ(res[4], 0xDF);
	CHECK_EQ(res[8], 0x20);
	/* Name tables. */
	CHECK(!strcmp(dc_fdc_cmd_name(dc_fdc_decode(0xE6)), "read-data"));
	CHECK(!strcmp(dc_fdc_cmd_name(dc_fdc_decode(0xC5)), "write-data"));
	CHECK(!strcmp(dc_fdc_cmd_name(dc_fdc_decode(0x4D)), "format-track"));
	CHECK(!strcmp(dc_fdc_reg_name(DC_FDC_REG_DIR), "dir/ccr"));
	CHECK(!strcmp(dc_fdc_phase_name(DC_FDC_PHASE_EXEC), "execution"));
	CHECK(!strcmp(dc_fdc_media_name(DC_FDC_MEDIA_720K), "720K"));
	CHECK(!strcmp(dc_fdc_bad_name(DC_FDC_BAD_CRC), "crc"));
	CHECK(!strcmp(dc_fdc_rate_name(DC_FDC_RATE_500K), "500k"));
	CHECK(!strcmp(r.dev.ops->name, "fdc"));
	CHECK_EQ(r.dev.res.dma_channel, 2);
	CHECK_EQ(r.dev.res.irq, 6);
	rig_down(&r);
}

DC_TEST(fdc_seek_and_recalibrate_take_step_time_and_report_through_sense_interrupt)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	CHECK(bring_up(&r, 0));
	/* SRT 0xD at 500 kbps: 3 ms per step.  40 steps. */
	uint64_t t0 = r.m->clock.now;
	const uint8_t c[] = {DC_FDC_OP_SEEK, 0x04, 40};
	CHECK(cmd(&r, c, 3));
	/* No result phase: RQM again at once, drive 0 busy until the seek ends. */
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM | DC_FDC_MSR_BUSY(0));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK_EQ(r.m->clock.now - t0, 40 * 3 * MS);
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM);
	uint8_t st0, pcn;
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_SE | DC_FDC_ST0_HD);
	CHECK_EQ(pcn, 40);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	struct dc_fdc_state s;
	dc_fdc_state(r.f, &s);
	CHECK_EQ(s.head[0], 40);
	/* Recalibrate from 40: 40 steps back, track 0. */
	t0 = r.m->clock.now;
	const uint8_t rc[] = {DC_FDC_OP_RECALIBRATE, 0};
	CHECK(cmd(&r, rc, 2));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK_EQ(r.m->clock.now - t0, 40 * 3 * MS);
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_SE);
	CHECK_EQ(pcn, 0);
	/* A reset forgets where the head is (PCN 0), the drive does not: a seek to 10 now moves
	 * the head to 50, and READ DATA for cylinder 10 finds cylinder 50's IDs (wrong cylinder).
	 */
	CHECK(seek(&r, 40, 0));
	outb(&r, BASE + DC_FDC_REG_DOR, 0);
	outb(&r, BASE + DC_FDC_REG_DOR, DOR_ON);
	CHECK(wait_irq(&r, MS));
	for (unsigned i = 0; i < 4; i++)
		CHECK(sense_int(&r, &st0, &pcn));
	outb(&r, BASE + DC_FDC_REG_DIR, 0);
	CHECK(seek(&r, 10, 0));
	dc_fdc_state(r.f, &s);
	CHECK_EQ(s.pcn[0], 10);
	CHECK_EQ(s.head[0], 50);
	uint8_t res[7];
	CHECK(xfer(&r, false, 0, 10, 0, 1, 1, 512, res));
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_ND);
	CHECK_EQ(res[2], DC_FDC_ST2_WC);
	/* Recalibrate cures it. */
	CHECK(cmd(&r, rc, 2));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_SE);
	dc_fdc_state(r.f, &s);
	CHECK_EQ(s.head[0], 0);
	/* RECALIBRATE of a drive that is not on the cable: 79 steps, no track 0: EC. */
	const uint8_t rc1[] = {DC_FDC_OP_RECALIBRATE, 1};
	CHECK(cmd(&r, rc1, 2));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_IC_ABNORMAL | DC_FDC_ST0_SE | DC_FDC_ST0_EC | 1);
	/* Two seeks in parallel on two drives: two interrupts' worth of status. */
	rig_down(&r);
	struct dc_fdc_cfg cfg;
	dc_fdc_cfg_default(&cfg);
	cfg.drives = 2;
	CHECK(rig_up_cfg(&r, "pc", &cfg, DC_FDC_MEDIA_1440K));
	CHECK(bring_up(&r, 0));
	const uint8_t s0[] = {DC_FDC_OP_SEEK, 0, 5}, s1[] = {DC_FDC_OP_SEEK, 1, 9};
	CHECK(cmd(&r, s0, 3));
	CHECK(cmd(&r, s1, 3));
	CHECK_EQ(msr(&r), DC_FDC_MSR_RQM | DC_FDC_MSR_BUSY(0) | DC_FDC_MSR_BUSY(1));
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 100 * MS);
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_SE | 0);
	CHECK_EQ(pcn, 5);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ)); /* drive 1's status still pending */
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(st0, DC_FDC_ST0_SE | 1);
	CHECK_EQ(pcn, 9);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	rig_down(&r);
}

DC_TEST(fdc_read_data_phases_result_bytes_and_data)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	CHECK(bring_up(&r, 0));
	CHECK(seek(&r, 7, 1));
	static uint8_t got[2 * TRACK];
	uint8_t res[7];
	/* A whole track, the channel programmed for exactly that: TC with the last byte of
	 * sector EOT, normal termination, and (MT = 0) the ID after it is C + 1, R = 1. */
	CHECK(read_into(&r, 0, 7, 1, 1, 18, TRACK, res, got));
	const uint8_t want[7] = {DC_FDC_ST0_HD, 0, 0, 8, 1, 1, 2};
	CHECK(!memcmp(res, want, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(7, 1, 1), TRACK));
	/* Sectors 5..9 with EOT 18: TC after sector 9, R = 10. */
	CHECK(read_into(&r, 0, 7, 1, 5, 18, 5 * 512, res, got));
	const uint8_t want2[7] = {DC_FDC_ST0_HD, 0, 0, 7, 1, 10, 2};
	CHECK(!memcmp(res, want2, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(7, 1, 5), 5 * 512));
	/* READ ID: the first ID under the head. */
	const uint8_t rid[] = {DC_FDC_MFM | DC_FDC_OP_READ_ID, 0x04};
	CHECK(cmd(&r, rid, 2));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK_EQ(res[0], DC_FDC_ST0_HD);
	CHECK_EQ(res[3], 7);
	CHECK_EQ(res[4], 1);
	CHECK(res[5] >= 1 && res[5] <= 18);
	CHECK_EQ(res[6], 2);
	CHECK_EQ(dc_fdc_stats(r.f)->sectors_read, 23);
	/* CONFIGURE with EIS: READ DATA seeks to C itself (implied seek), no SENSE INTERRUPT. */
	const uint8_t cfg[] = {DC_FDC_OP_CONFIGURE, 0, 0x60, 0};
	CHECK(cmd(&r, cfg, 4));
	uint64_t t0 = r.m->clock.now;
	CHECK(read_into(&r, 0, 25, 0, 3, 18, 512, res, got));
	CHECK(r.m->clock.now - t0 >= 18 * 3 * MS);
	const uint8_t want3[7] = {0, 0, 0, 25, 0, 4, 2};
	CHECK(!memcmp(res, want3, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(25, 0, 3), 512));
	struct dc_fdc_state s;
	dc_fdc_state(r.f, &s);
	CHECK_EQ(s.pcn[0], 25);
	CHECK_EQ(s.head[0], 25);
	CHECK(!dc_irq_asserted(&r.m->irq, IRQ));
	rig_down(&r);
}

DC_TEST(fdc_terminal_count_ends_read_data_early)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent"));
	CHECK(bring_up(&r, 0));
	CHECK(seek(&r, 3, 0));
	static uint8_t got[TRACK];
	uint8_t res[7];
	/* The command asks for 1..18, the channel for three sectors: the command ends at TC after
	 * sector 3 — normal termination, R = 4 — and nothing past those bytes is written. */
	CHECK(read_into(&r, 0, 3, 0, 1, 18, 3 * 512, res, got));
	const uint8_t want[7] = {0, 0, 0, 3, 0, 4, 2};
	CHECK(!memcmp(res, want, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(3, 0, 1), 3 * 512));
	uint8_t after[512];
	dc_cpu_cache_range(r.m, r.buf, TRACK, DC_CACHE_INVAL, false);
	dc_cpu_read(r.m, r.buf + 3 * 512, after, 512);
	for (unsigned i = 0; i < 512; i++)
		CHECK_EQ(after[i], 0xEE);
	CHECK_EQ(dc_fdc_stats(r.f)->sectors_read, 3);
	CHECK_EQ(dc_fdc_stats(r.f)->tcs, 1);
	/* TC in the middle of sector 2 (700 bytes): the chip finishes the sector without
	 * handing over the rest; the last sector transferred is 2, so R = 3. */
	CHECK(read_into(&r, 0, 3, 0, 1, 18, 700, res, got));
	const uint8_t want2[7] = {0, 0, 0, 3, 0, 3, 2};
	CHECK(!memcmp(res, want2, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(3, 0, 1), 700));
	dc_cpu_read(r.m, r.buf + 700, after, 4);
	CHECK_EQ(after[0], 0xEE);
	CHECK_EQ(after[3], 0xEE);
	/* No TC at all (the channel would take more than EOT): past sector EOT the chip ends
	 * with end of cylinder, abnormal termination. */
	CHECK(read_into(&r, 0, 3, 0, 17, 18, 4 * 512, res, got));
	const uint8_t want3[7] = {DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_EN, 0, 4, 0, 1, 2};
	CHECK(!memcmp(res, want3, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(3, 0, 17), 2 * 512));
	rig_down(&r);
}

DC_TEST(fdc_multi_track_reads_both_sides_of_a_cylinder)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent-prefetch"));
	CHECK(bring_up(&r, 0));
	CHECK(seek(&r, 12, 0));
	static uint8_t got[2 * TRACK];
	uint8_t res[7];
	/* MT from head 0 sector 1: both sides; TC at the end of side 1: C + 1, H complemented
	 * (back to 0), R = 1, and ST0 names head 1, where the transfer ended. */
	CHECK(read_into(&r, DC_FDC_MT, 12, 0, 1, 18, 2 * TRACK, res, got));
	const uint8_t want[7] = {DC_FDC_ST0_HD, 0, 0, 13, 0, 1, 2};
	CHECK(!memcmp(res, want, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(12, 0, 1), 2 * TRACK));
	/* TC at the end of side 0 with MT: C unchanged, H complemented, R = 1. */
	CHECK(read_into(&r, DC_FDC_MT, 12, 0, 10, 18, 9 * 512, res, got));
	const uint8_t want2[7] = {0, 0, 0, 12, 1, 1, 2};
	CHECK(!memcmp(res, want2, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(12, 0, 10), 9 * 512));
	/* Across the side boundary: sectors 17, 18 of side 0 and 1, 2 of side 1. */
	CHECK(read_into(&r, DC_FDC_MT, 12, 0, 17, 18, 4 * 512, res, got));
	const uint8_t want3[7] = {DC_FDC_ST0_HD, 0, 0, 12, 1, 3, 2};
	CHECK(!memcmp(res, want3, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(12, 0, 17), 4 * 512));
	/* MT writes too. */
	static uint8_t data[4 * 512];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 5 + 1);
	CHECK(write_from(&r, DC_FDC_MT, 12, 0, 17, 18, sizeof(data), res, data));
	CHECK(!memcmp(res, want3, 7));
	CHECK(!memcmp(image(&r) + lba_off(12, 0, 17), data, sizeof(data)));
	rig_down(&r);
}

DC_TEST(fdc_write_data_format_track_and_write_protect)
{
	struct rig r;
	CHECK(rig_up(&r, "noncoherent"));
	CHECK(bring_up(&r, 0));
	CHECK(seek(&r, 20, 1));
	uint8_t res[7];
	static uint8_t data[3 * 512];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5A);
	CHECK(write_from(&r, 0, 20, 1, 4, 18, sizeof(data), res, data));
	const uint8_t want[7] = {DC_FDC_ST0_HD, 0, 0, 20, 1, 7, 2};
	CHECK(!memcmp(res, want, 7));
	CHECK(!memcmp(image(&r) + lba_off(20, 1, 4), data, sizeof(data)));
	CHECK(r.dev.ops->store_size(r.dev.opaque) == 1474560);
	uint8_t s[512];
	CHECK_EQ(r.dev.ops->store_read(r.dev.opaque, lba_off(20, 1, 5), s, 512), DC_OK);
	CHECK(!memcmp(s, data + 512, 512));
	/* TC in the middle of a sector: the rest of its data field is written as zeros.  (640
	 * bytes: a multiple of the controller's 64-byte unit, or its tail would still be in the
	 * controller when the sector passes — see docs/devices/fdc.md.) */
	CHECK(write_from(&r, 0, 20, 1, 1, 18, 640, res, data));
	const uint8_t want2[7] = {DC_FDC_ST0_HD, 0, 0, 20, 1, 3, 2};
	CHECK(!memcmp(res, want2, 7));
	CHECK(!memcmp(image(&r) + lba_off(20, 1, 1), data, 640));
	for (unsigned i = 640; i < 1024; i++)
		CHECK_EQ(image(&r)[lba_off(20, 1, 1) + i], 0);
	/* FORMAT TRACK with a 2:1 interleave, fill byte 0xF6: IDs come through the channel. */
	CHECK(seek(&r, 30, 0));
	uint8_t ids[18 * 4];
	for (unsigned k = 0; k < 18; k++) {
		unsigned sec = k % 2 ? 10 + k / 2 : 1 + k / 2;
		ids[4 * k] = 30;
		ids[4 * k + 1] = 0;
		ids[4 * k + 2] = (uint8_t)sec;
		ids[4 * k + 3] = 2;
	}
	dc_cpu_write(r.m, r.buf, ids, sizeof(ids));
	dc_cpu_cache_range(r.m, r.buf, 128, DC_CACHE_CLEAN, false);
	/* 72 bytes of IDs: the controller hands the device whole 64-byte units only, so the last
	 * two IDs are still in it when their slots pass — underrun, 16 sectors formatted. */
	CHECK_EQ(dc_i8237_hal_program(r.d, CH, DC_I8237_MODE_SINGLE | DC_I8237_MODE_READ, r.pa,
	                              sizeof(ids)),
	         DC_OK);
	const uint8_t fmt[] = {DC_FDC_MFM | DC_FDC_OP_FORMAT, 0, 2, 18, 0x54, 0xF6};
	CHECK(cmd(&r, fmt, 6));
	CHECK(wait_irq(&r, 2000 * MS));
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK(dc_i8237_hal_flush(r.d, CH));
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_OR);
	CHECK_EQ(image(&r)[lba_off(30, 0, 8)], 0xF6);
	CHECK(image(&r)[lba_off(30, 0, 9)] != 0xF6);
	/* Padded to two units, as a driver for this machine must: all 18 IDs arrive. */
	CHECK_EQ(
	    dc_i8237_hal_program(r.d, CH, DC_I8237_MODE_SINGLE | DC_I8237_MODE_READ, r.pa, 128),
	    DC_OK);
	CHECK(cmd(&r, fmt, 6));
	CHECK(wait_irq(&r, 2000 * MS));
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK(dc_i8237_hal_flush(r.d, CH));
	CHECK_EQ(res[0], 0);
	CHECK_EQ(res[1], 0);
	for (unsigned i = 0; i < TRACK; i++)
		CHECK_EQ(image(&r)[lba_off(30, 0, 1) + i], 0xF6);
	CHECK_EQ(dc_fdc_stats(r.f)->tracks_formatted, 2);
	/* The track still reads in logical order. */
	static uint8_t got[TRACK];
	CHECK(read_into(&r, 0, 30, 0, 1, 18, TRACK, res, got));
	CHECK_EQ(res[0], 0);
	CHECK(!memcmp(got, image(&r) + lba_off(30, 0, 1), TRACK));
	/* Write protect: WRITE DATA and FORMAT end at once with NW; nothing changes. */
	CHECK_EQ(dc_fdc_set_write_protect(r.f, 0, true), DC_OK);
	uint8_t before[512];
	memcpy(before, image(&r) + lba_off(30, 0, 1), 512);
	CHECK(write_from(&r, 0, 30, 0, 1, 18, 512, res, data));
	const uint8_t want3[7] = {DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_NW, 0, 30, 0, 1, 2};
	CHECK(!memcmp(res, want3, 7));
	CHECK(!memcmp(before, image(&r) + lba_off(30, 0, 1), 512));
	CHECK(cmd(&r, fmt, 6));
	CHECK(wait_irq(&r, 2000 * MS));
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_NW);
	CHECK(dc_i8237_hal_flush(r.d, CH));
	rig_down(&r);
}

DC_TEST(fdc_errors_no_media_bad_sectors_wrong_rate_overrun)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	CHECK(bring_up(&r, 0));
	static uint8_t got[TRACK];
	uint8_t res[7];
	/* A sector whose ID cannot be read: ND after two index pulses. */
	CHECK_EQ(dc_fdc_inject_bad_sector(r.f, 0, 0, 0, 5, DC_FDC_BAD_NO_ID), DC_OK);
	CHECK(xfer(&r, false, 0, 0, 0, 5, 5, 512, res));
	const uint8_t nd[7] = {DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_ND, 0, 0, 0, 5, 2};
	CHECK(!memcmp(res, nd, 7));
	dc_i8237_hal_flush(r.d, CH);
	/* Reading 3..8 stops at it: sectors 3, 4 moved, then ND for 5. */
	CHECK(read_into(&r, 0, 0, 0, 3, 8, 6 * 512, res, got));
	CHECK(!memcmp(res, nd, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(0, 0, 3), 2 * 512));
	/* A data CRC error: the sector's data moves, then DE + DD with its ID. */
	CHECK_EQ(dc_fdc_inject_bad_sector(r.f, 0, 0, 0, 7, DC_FDC_BAD_CRC), DC_OK);
	CHECK(read_into(&r, 0, 0, 0, 6, 9, 4 * 512, res, got));
	const uint8_t de[7] = {DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_DE, DC_FDC_ST2_DD, 0, 0, 7, 2};
	CHECK(!memcmp(res, de, 7));
	CHECK(!memcmp(got, image(&r) + lba_off(0, 0, 6), 2 * 512));
	/* Writing the sector gives it a good CRC again. */
	CHECK(write_from(&r, 0, 0, 0, 7, 7, 512, res, got));
	CHECK_EQ(res[0], 0);
	CHECK(read_into(&r, 0, 0, 0, 7, 7, 512, res, got));
	CHECK_EQ(res[0], 0);
	CHECK_EQ(dc_fdc_inject_bad_sector(r.f, 0, 0, 0, 40, DC_FDC_BAD_CRC), DC_ERR_NOTFOUND);
	/* A sector that is not on the track at all. */
	CHECK(read_into(&r, 0, 0, 0, 19, 19, 512, res, got));
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_ND);
	/* 250 kbps on 1.44 MB media: no address mark is ever recognised. */
	outb(&r, BASE + DC_FDC_REG_DIR, DC_FDC_RATE_250K);
	CHECK(read_into(&r, 0, 0, 0, 1, 1, 512, res, got));
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_MA);
	outb(&r, BASE + DC_FDC_REG_DIR, DC_FDC_RATE_500K);
	/* The channel masked by mistake: the second sector arrives before the first has gone:
	 * overrun. */
	CHECK_EQ(
	    dc_i8237_hal_program(r.d, CH, DC_I8237_MODE_SINGLE | DC_I8237_MODE_WRITE, r.pa, TRACK),
	    DC_OK);
	dc_i8237_hal_mask(r.d, CH, true);
	const uint8_t rd[9] = {DC_FDC_MFM | DC_FDC_OP_READ_DATA, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF};
	CHECK(cmd(&r, rd, 9));
	CHECK(wait_irq(&r, 2000 * MS));
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL);
	CHECK_EQ(res[1], DC_FDC_ST1_OR);
	CHECK_EQ(res[5], 1);
	CHECK_EQ(dc_fdc_stats(r.f)->overruns, 1);
	dc_i8237_hal_flush(r.d, CH);
	/* An injected transfer error: the first sector moves, OR, and the drain fails. */
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	dc_cpu_cache_range(r.m, r.buf, 1024, DC_CACHE_CLEAN_INVAL, false);
	CHECK(xfer(&r, false, 0, 0, 0, 1, 2, 1024, res));
	CHECK_EQ(res[1], DC_FDC_ST1_OR);
	CHECK(!dc_i8237_hal_flush(r.d, CH));
	/* No medium: not ready, abnormal termination, after two revolutions' worth of time. */
	dc_fdc_eject(r.f, 0);
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 0);
	uint64_t t0 = r.m->clock.now;
	CHECK(xfer(&r, false, 0, 0, 0, 1, 1, 512, res));
	CHECK_EQ(res[0], DC_FDC_ST0_IC_ABNORMAL | DC_FDC_ST0_NR);
	CHECK(r.m->clock.now - t0 >= 400 * MS);
	dc_i8237_hal_flush(r.d, CH);
	CHECK(dc_fdc_stats(r.f)->errors >= 8);
	rig_down(&r);
}

DC_TEST(fdc_media_change_line_and_motor_spin_up)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	/* Power on: the change line is active (DIR bit 7) for the selected drive. */
	CHECK(bring_up(&r, 0));
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DIR) & DC_FDC_DIR_DSKCHG, DC_FDC_DIR_DSKCHG);
	/* RECALIBRATE at track 0 gives no step pulse; a SEEK does, and clears it. */
	CHECK(seek(&r, 1, 0));
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DIR), 0);
	/* The disk is swapped: the line is active again, and the new disk's data is read. */
	uint64_t size;
	const uint8_t *old = dc_fdc_image(r.f, 0, &size);
	CHECK(old && size == 1474560);
	dc_fdc_eject(r.f, 0);
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DIR), DC_FDC_DIR_DSKCHG);
	CHECK_EQ(dc_fdc_insert(r.f, 0, DC_FDC_MEDIA_1440K, NULL), DC_OK);
	CHECK_EQ(dc_fdc_insert(r.f, 0, DC_FDC_MEDIA_1440K, NULL), DC_ERR_BUSY);
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DIR), DC_FDC_DIR_DSKCHG);
	CHECK(seek(&r, 0, 0));
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_DIR), 0);
	static uint8_t got[TRACK];
	uint8_t res[7];
	CHECK(read_into(&r, 0, 0, 0, 1, 1, 512, res, got));
	CHECK_EQ(res[0], 0);
	for (unsigned i = 0; i < 512; i++)
		CHECK_EQ(got[i], 0);
	/* Motor off: a READ DATA waits in its execution phase; the motor on starts it after the
	 * spin-up time (500 ms) — no earlier. */
	outb(&r, BASE + DC_FDC_REG_DOR, DC_FDC_DOR_NRESET | DC_FDC_DOR_DMAGATE);
	CHECK_EQ(
	    dc_i8237_hal_program(r.d, CH, DC_I8237_MODE_SINGLE | DC_I8237_MODE_WRITE, r.pa, 512),
	    DC_OK);
	const uint8_t rd[9] = {DC_FDC_MFM | DC_FDC_OP_READ_DATA, 0, 0, 0, 1, 2, 1, 0x1B, 0xFF};
	CHECK(cmd(&r, rd, 9));
	CHECK(!wait_irq(&r, 5000 * MS));
	CHECK_EQ(msr(&r), DC_FDC_MSR_CB);
	uint64_t t_on = r.m->clock.now;
	outb(&r, BASE + DC_FDC_REG_DOR, DOR_ON);
	struct dc_fdc_state s;
	dc_fdc_state(r.f, &s);
	CHECK(!s.spinning[0]);
	CHECK(wait_irq(&r, 2000 * MS));
	CHECK(r.m->clock.now - t_on >= 500 * MS);
	CHECK(r.m->clock.now - t_on < 500 * MS + 2 * 200 * MS + 10 * MS);
	CHECK_EQ(result(&r, res, 7), 7);
	CHECK_EQ(res[0], 0);
	CHECK(dc_i8237_hal_flush(r.d, CH));
	/* DMAGATE off: neither the interrupt nor DREQ reaches the system. */
	outb(&r, BASE + DC_FDC_REG_DOR, DC_FDC_DOR_NRESET | DC_FDC_DOR_MOTEN(0));
	const uint8_t sk[] = {DC_FDC_OP_SEEK, 0, 2};
	CHECK(cmd(&r, sk, 3));
	CHECK(!wait_irq(&r, 100 * MS));
	CHECK(inb(&r, BASE + DC_FDC_REG_SRA) & 0x80); /* pending inside the chip */
	outb(&r, BASE + DC_FDC_REG_DOR, DOR_ON);
	CHECK(dc_irq_asserted(&r.m->irq, IRQ) || wait_irq(&r, MS));
	uint8_t st0, pcn;
	CHECK(sense_int(&r, &st0, &pcn));
	CHECK_EQ(pcn, 2);
	CHECK_EQ(inb(&r, BASE + DC_FDC_REG_SRB), 0xC1); /* motor 0 on, drive 0 selected */
	rig_down(&r);
}

static bool tmp_path(char *path)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

DC_TEST(fdc_image_files_and_720k_media)
{
	struct rig r;
	CHECK(rig_up_cfg(&r, "pc", NULL, DC_FDC_MEDIA_720K));
	CHECK_EQ(dc_fdc_media(r.f, 0), DC_FDC_MEDIA_720K);
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), 737280);
	CHECK(bring_up(&r, DC_FDC_RATE_250K));
	CHECK(seek(&r, 79, 1));
	static uint8_t got[9 * 512];
	uint8_t res[7];
	const uint8_t *img = image(&r);
	/* 9 sectors per track at 250 kbps; the last track of the disk. */
	CHECK(read_into(&r, 0, 79, 1, 1, 9, sizeof(got), res, got));
	const uint8_t want[7] = {DC_FDC_ST0_HD, 0, 0, 80, 1, 1, 2};
	CHECK(!memcmp(res, want, 7));
	CHECK(!memcmp(got, img + ((79 * 2 + 1) * 9) * 512, sizeof(got)));
	/* Save, change the disk, load back. */
	char path[] = "/tmp/dmacoh-fdc-XXXXXX";
	CHECK(tmp_path(path));
	CHECK_EQ(dc_fdc_save_image(r.f, 0, path), DC_OK);
	uint8_t *copy = malloc(737280);
	CHECK(copy);
	memcpy(copy, img, 737280);
	dc_fdc_eject(r.f, 0);
	CHECK_EQ(dc_fdc_save_image(r.f, 0, path + 0), DC_ERR_STATE);
	CHECK_EQ(dc_fdc_load_image(r.f, 0, path), DC_OK);
	unlink(path);
	bool same = !memcmp(copy, image(&r), 737280);
	free(copy);
	CHECK(same);
	CHECK_EQ(dc_fdc_media(r.f, 0), DC_FDC_MEDIA_720K);
	/* A file of no known size is refused; a missing one is an I/O error. */
	char bad[] = "/tmp/dmacoh-fdc-XXXXXX";
	CHECK(tmp_path(bad));
	dc_fdc_eject(r.f, 0);
	CHECK_EQ(dc_fdc_load_image(r.f, 0, bad), DC_ERR_PARSE);
	unlink(bad);
	CHECK_EQ(dc_fdc_load_image(r.f, 0, bad), DC_ERR_IO);
	rig_down(&r);
}

/* The whole 1.44 MB disk written and read back track by track through the 8237, as a driver
 * that follows the rules does it, on every built-in platform. */
static bool whole_disk(const char *prof, uint64_t *hash)
{
	struct rig r;
	bool ok = rig_up(&r, prof) && bring_up(&r, 0);
	static uint8_t data[TRACK], got[TRACK];
	uint8_t res[7];
	uint64_t h = 1469598103934665603ull;
	for (unsigned t = 0; ok && t < 160; t++) {
		unsigned c = t / 2, hd = t % 2;
		for (unsigned i = 0; i < TRACK; i++)
			data[i] = pattern((uint64_t)t * TRACK + i, 77);
		ok = (hd || seek(&r, c, 0)) && write_from(&r, 0, c, hd, 1, 18, TRACK, res, data) &&
		     res[0] == (hd << 2) && res[3] == c + 1;
	}
	const uint8_t *img = image(&r);
	for (uint64_t i = 0; ok && i < 1474560; i++)
		ok = img[i] == pattern(i, 77);
	for (unsigned t = 0; ok && t < 160; t++) {
		unsigned c = t / 2, hd = t % 2;
		ok = (hd || seek(&r, c, 0)) && read_into(&r, 0, c, hd, 1, 18, TRACK, res, got) &&
		     res[0] == (hd << 2) && !memcmp(got, img + (uint64_t)t * TRACK, TRACK);
		h = (h ^ r.m->clock.now) * 1099511628211ull;
	}
	if (!ok)
		dct_log("  %s: failed at %" PRIu64 " ns\n", prof, r.m ? r.m->clock.now : 0);
	else
		dct_log("  %s: 1.44 MB written and read back, %.1f s simulated\n", prof,
		        (double)r.m->clock.now / 1e9);
	*hash = h;
	rig_down(&r);
	return ok;
}

DC_TEST(fdc_whole_disk_track_by_track_on_every_platform)
{
	const char *const *names = dc_platform_builtin_names();
	unsigned n = 0;
	for (; names[n]; n++) {
		uint64_t h;
		CHECK_MSG(whole_disk(names[n], &h), "platform %s", names[n]);
	}
	CHECK(n >= 3);
}

/* Same seed => same interrupt times, same result bytes, same disk. */
static uint64_t seeded(uint64_t seed)
{
	struct rig r;
	if (!rig_up(&r, "noncoherent") || !bring_up(&r, 0))
		return 0;
	struct dc_rng g;
	dc_rng_seed(&g, seed);
	uint64_t h = 1469598103934665603ull;
	static uint8_t buf[TRACK];
	for (int i = 0; i < 24; i++) {
		unsigned c = (unsigned)dc_rng_below(&g, 80), hd = (unsigned)dc_rng_below(&g, 2);
		unsigned s = 1 + (unsigned)dc_rng_below(&g, 18);
		unsigned cnt = 1 + (unsigned)dc_rng_below(&g, 19 - s);
		uint8_t res[7];
		if (!seek(&r, c, hd))
			return 0;
		if (dc_rng_below(&g, 2)) {
			for (unsigned k = 0; k < cnt * 512; k++)
				buf[k] = (uint8_t)dc_rng_next(&g);
			if (!write_from(&r, 0, c, hd, s, 18, cnt * 512, res, buf))
				return 0;
		} else if (!read_into(&r, 0, c, hd, s, 18, cnt * 512, res, buf)) {
			return 0;
		}
		for (unsigned k = 0; k < 7; k++)
			h = (h ^ res[k]) * 1099511628211ull;
		h = (h ^ r.m->clock.now) * 1099511628211ull;
	}
	const uint8_t *img = image(&r);
	for (uint64_t i = 0; i < 1474560; i++)
		h = (h ^ img[i]) * 1099511628211ull;
	rig_down(&r);
	return h;
}

DC_TEST(fdc_same_seed_same_run)
{
	uint64_t a = seeded(7), b = seeded(7), c = seeded(8);
	CHECK(a != 0);
	CHECK_EQ(a, b);
	CHECK(a != c);
}
