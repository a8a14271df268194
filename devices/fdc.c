/* fdc, the 82077AA floppy disk controller: see fdc.h and docs/devices/fdc.md.
 *
 * Time is the medium's rotation: a track of n sectors is n equal slots of one revolution,
 * slot 0 starting at the index, and the rotation's phase is fixed by the moment the motor
 * reached full speed, so every run sees the same angles.  A sector's ID passes at the start of
 * its slot and its data field has passed at the end; a READ hands the sector to the channel
 * there, a WRITE must have received the sector from the channel by then.  One event per sector
 * (never per byte).  The interrupt, DREQ changes that are not "that was my last byte", and
 * every phase change happen in the device's own events, never inside a register access or a
 * DACK, so a kernel that runs ISRs from its interrupt sink is never re-entered from here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdc.h"

#define MS UINT64_C(1000000)
#define PHYS_CYLS 84u                /* a head can step a little past the last track */
#define RECAL_STEPS 79u              /* RECALIBRATE gives up after this many steps */
#define RESET_INT_NS UINT64_C(10000) /* reset released -> polling interrupt */
#define NO_MEDIUM_REVS 2u            /* "two index pulses" without a medium */

static const char *const reg_names[DC_FDC_REG_COUNT] = {
    [DC_FDC_REG_SRA] = "sra",     [DC_FDC_REG_SRB] = "srb",     [DC_FDC_REG_DOR] = "dor",
    [DC_FDC_REG_TDR] = "tdr",     [DC_FDC_REG_MSR] = "msr/dsr", [DC_FDC_REG_FIFO] = "fifo",
    [DC_FDC_REG_DIR] = "dir/ccr",
};
static const char *const cmd_names[DC_FDC_CMD_COUNT] = {
    "invalid",
    "specify",
    "sense-drive-status",
    "write-data",
    "read-data",
    "recalibrate",
    "sense-interrupt-status",
    "read-id",
    "format-track",
    "dumpreg",
    "seek",
    "version",
    "configure",
};
static const char *const phase_names[DC_FDC_PHASE_COUNT] = {"reset", "command", "execution",
                                                            "result"};
static const char *const rate_names[DC_FDC_RATE_COUNT] = {"500k", "300k", "250k", "1m"};
static const char *const media_names[DC_FDC_MEDIA_COUNT] = {"none", "1.44M", "720K"};
static const char *const bad_names[DC_FDC_BAD_COUNT] = {"none", "no-id", "crc"};

const char *dc_fdc_reg_name(enum dc_fdc_reg r)
{
	return (unsigned)r < DC_FDC_REG_COUNT && reg_names[r] ? reg_names[r] : "?";
}
const char *dc_fdc_cmd_name(enum dc_fdc_cmd c)
{
	return (unsigned)c < DC_FDC_CMD_COUNT ? cmd_names[c] : "?";
}
const char *dc_fdc_phase_name(enum dc_fdc_phase p)
{
	return (unsigned)p < DC_FDC_PHASE_COUNT ? phase_names[p] : "?";
}
const char *dc_fdc_rate_name(enum dc_fdc_rate r)
{
	return (unsigned)r < DC_FDC_RATE_COUNT ? rate_names[r] : "?";
}
const char *dc_fdc_media_name(enum dc_fdc_media m)
{
	return (unsigned)m < DC_FDC_MEDIA_COUNT ? media_names[m] : "?";
}
const char *dc_fdc_bad_name(enum dc_fdc_bad b)
{
	return (unsigned)b < DC_FDC_BAD_COUNT ? bad_names[b] : "?";
}

/* Bytes of each command (including the first) and of its result phase. */
static const struct {
	uint8_t op, opmask, len;
} cmd_table[DC_FDC_CMD_COUNT] = {
    [DC_FDC_CMD_INVALID] = {0, 0, 1},
    [DC_FDC_CMD_SPECIFY] = {DC_FDC_OP_SPECIFY, 0xFF, 3},
    [DC_FDC_CMD_SENSE_DRIVE] = {DC_FDC_OP_SENSE_DRIVE, 0xFF, 2},
    [DC_FDC_CMD_WRITE_DATA] = {DC_FDC_OP_WRITE_DATA, 0x3F, 9},
    [DC_FDC_CMD_READ_DATA] = {DC_FDC_OP_READ_DATA, 0x1F, 9},
    [DC_FDC_CMD_RECALIBRATE] = {DC_FDC_OP_RECALIBRATE, 0xFF, 2},
    [DC_FDC_CMD_SENSE_INT] = {DC_FDC_OP_SENSE_INT, 0xFF, 1},
    [DC_FDC_CMD_READ_ID] = {DC_FDC_OP_READ_ID, 0xBF, 2},
    [DC_FDC_CMD_FORMAT] = {DC_FDC_OP_FORMAT, 0xBF, 6},
    [DC_FDC_CMD_DUMPREG] = {DC_FDC_OP_DUMPREG, 0xFF, 1},
    [DC_FDC_CMD_SEEK] = {DC_FDC_OP_SEEK, 0xFF, 3},
    [DC_FDC_CMD_VERSION] = {DC_FDC_OP_VERSION, 0xFF, 1},
    [DC_FDC_CMD_CONFIGURE] = {DC_FDC_OP_CONFIGURE, 0xFF, 4},
};

enum dc_fdc_cmd dc_fdc_decode(uint8_t first)
{
	for (unsigned i = 1; i < DC_FDC_CMD_COUNT; i++)
		if ((first & cmd_table[i].opmask) == cmd_table[i].op)
			return (enum dc_fdc_cmd)i;
	return DC_FDC_CMD_INVALID;
}

static const struct {
	unsigned cyls, heads, spt;
	enum dc_fdc_rate rate;
} geom[DC_FDC_MEDIA_COUNT] = {
    [DC_FDC_MEDIA_NONE] = {0, 0, 0, DC_FDC_RATE_500K},
    [DC_FDC_MEDIA_1440K] = {80, 2, 18, DC_FDC_RATE_500K},
    [DC_FDC_MEDIA_720K] = {80, 2, 9, DC_FDC_RATE_250K},
};

uint64_t dc_fdc_media_size(enum dc_fdc_media m)
{
	if ((unsigned)m >= DC_FDC_MEDIA_COUNT)
		return 0;
	return (uint64_t)geom[m].cyls * geom[m].heads * geom[m].spt * DC_FDC_SECTOR;
}

static const unsigned rate_kbps[DC_FDC_RATE_COUNT] = {500, 300, 250, 1000};

/* What the medium holds on one side of one cylinder: the IDs in physical order (slot k passes
 * under the head k/n of a revolution after the index) and the damage done to each. */
struct track {
	uint8_t n;
	uint8_t id[DC_FDC_MAX_SPT][4]; /* C H R N */
	uint8_t bad[DC_FDC_MAX_SPT];   /* enum dc_fdc_bad */
};

struct fdc;

struct drive {
	struct fdc *f;
	unsigned no;
	bool present;
	enum dc_fdc_media media;
	uint8_t *img;
	struct track *trk; /* cyls * heads */
	bool wp, dskchg;
	unsigned cyl;       /* where the head really is */
	bool motor;         /* DOR's motor enable */
	uint64_t ready_at;  /* at full speed from (the rotation's phase reference) */
	uint64_t unload_at; /* the head unloads (HUT after the last command) */
	/* A SEEK or RECALIBRATE in progress */
	bool seeking;
	unsigned seek_cyl, seek_steps;
	uint8_t seek_pcn, seek_st0;
	struct dc_timer *seek_ev, *motor_ev;
};

/* What the execution phase is waiting for. */
enum xstep { XS_IDLE, XS_MOTOR, XS_GO, XS_SECTOR, XS_FMT_SLOT, XS_FINISH };

/* The execution phase of the running command. */
struct exec {
	enum xstep step;
	unsigned drive, hds;
	bool mt, mfm;
	uint8_t c, h, r, n, eot;  /* the sector the command goes for next */
	uint8_t cc, ch, cr, chds; /* the sector last handed over / written */
	bool started, has_next, next_missing, crc, fault, tc, dreq;
	unsigned slot;
	uint32_t pos, limit;
	uint8_t sc, fill; /* FORMAT */
	unsigned fmt_k;
	uint64_t fmt_index;
	uint8_t st[7]; /* the result a pending XS_FINISH will show */
	uint8_t buf[DC_FDC_SECTOR];
};

struct fdc {
	struct dc_host *h;
	unsigned ch;
	int irq;
	uint32_t base;
	unsigned ndrives;
	uint64_t spinup_ns, rev_ns;
	struct drive drv[DC_FDC_DRIVES];
	/* Registers */
	uint8_t dor, tdr, dsr;
	enum dc_fdc_rate rate;
	uint8_t last_fifo;
	/* SPECIFY, CONFIGURE and what DUMPREG shows */
	uint8_t srt, hut, hlt;
	bool nodma;
	uint8_t cfg2, pretrk; /* CONFIGURE byte 2 (EIS EFIFO POLL FIFOTHR) and PRETRK */
	uint8_t sc_eot;
	uint8_t pcn[DC_FDC_DRIVES];
	bool sis_pending[DC_FDC_DRIVES];
	uint8_t sis_st0[DC_FDC_DRIVES];
	/* The command/result handshake */
	enum dc_fdc_phase phase;
	enum dc_fdc_cmd cmd;
	uint8_t cbuf[9];
	unsigned clen, cneed;
	uint8_t res[10];
	unsigned rlen, rpos;
	bool result_int; /* INT from the end of an execution phase; the first result byte clears it
	                  */
	bool dreq_out;   /* what the channel sees */
	bool fault_armed;
	struct exec x;
	struct dc_timer *exec_ev, *done_ev, *irq_ev, *reset_ev;
	struct dc_fdc_stats st;
};

/* ---- Time ----------------------------------------------------------------------------------- */

static uint64_t scale(const struct fdc *f, uint64_t ns_at_500k)
{
	return ns_at_500k * 500 / rate_kbps[f->rate];
}
static uint64_t step_ns(const struct fdc *f)
{
	return scale(f, (16u - f->srt) * MS);
}
static uint64_t hlt_ns(const struct fdc *f)
{
	return scale(f, (f->hlt ? f->hlt : 128u) * 2 * MS);
}
static uint64_t hut_ns(const struct fdc *f)
{
	return scale(f, (f->hut ? f->hut : 16u) * 16 * MS);
}

/* Earliest time >= t at which slot k of a track of n slots starts under d's head. */
static uint64_t slot_start(const struct fdc *f, const struct drive *d, unsigned n, unsigned k,
                           uint64_t t)
{
	uint64_t at = d->ready_at + f->rev_ns * k / n;
	if (t <= at)
		return at;
	uint64_t j = (t - at + f->rev_ns - 1) / f->rev_ns;
	return at + j * f->rev_ns;
}
static uint64_t slot_len(const struct fdc *f, unsigned n)
{
	return f->rev_ns / n;
}
/* The second index pulse after t: when the chip gives up looking for an ID. */
static uint64_t two_index(const struct fdc *f, const struct drive *d, uint64_t t)
{
	return slot_start(f, d, 1, 0, t) + f->rev_ns;
}

/* ---- Lines ---------------------------------------------------------------------------------- */

static bool int_level(const struct fdc *f)
{
	if (f->phase == DC_FDC_PHASE_RESET)
		return false;
	bool lvl = f->result_int;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++)
		lvl = lvl || f->sis_pending[i];
	return lvl;
}

static void set_irq(struct fdc *f, bool may_raise)
{
	if (f->irq < 0)
		return;
	bool level = int_level(f) && (f->dor & DC_FDC_DOR_DMAGATE);
	if (!level)
		dc_host_irq_lower(f->h);
	else if (may_raise)
		dc_host_irq_raise(f->h);
	else
		dc_timer_mod(f->irq_ev, dc_host_now(f->h));
}

static void irq_event(void *opaque)
{
	set_irq(opaque, true);
}

/* DREQ as the channel sees it: the device's request gated by DMAGATE.  Safe from events and
 * from DACK callbacks; register writes call it only after their state is complete. */
static void update_dreq(struct fdc *f)
{
	bool want = f->phase == DC_FDC_PHASE_EXEC && f->x.dreq && (f->dor & DC_FDC_DOR_DMAGATE) &&
	            f->x.pos < f->x.limit;
	if (want != f->dreq_out) {
		f->dreq_out = want;
		dc_host_dreq(f->h, 0, want);
	}
}

/* Brings the channel up to now, so bytes it owes the device are counted. */
static void sync_dma(struct fdc *f)
{
	dc_host_dma_sync(f->h, 0);
}

/* ---- The medium ----------------------------------------------------------------------------- */

static struct track *track_of(struct drive *d, unsigned cyl, unsigned head)
{
	if (d->media == DC_FDC_MEDIA_NONE || cyl >= geom[d->media].cyls ||
	    head >= geom[d->media].heads)
		return NULL;
	return &d->trk[cyl * geom[d->media].heads + head];
}

/* The image bytes behind a sector with ID `id` on physical track (cyl, head); NULL when the
 * image has no place for it (N other than 2, R outside 1..spt). */
static uint8_t *sector_data(struct drive *d, unsigned cyl, unsigned head, const uint8_t *id)
{
	const unsigned spt = geom[d->media].spt;
	if (!track_of(d, cyl, head) || id[3] != 2 || id[2] < 1 || id[2] > spt)
		return NULL;
	uint64_t lba = ((uint64_t)cyl * geom[d->media].heads + head) * spt + id[2] - 1;
	return d->img + lba * DC_FDC_SECTOR;
}

static void standard_tracks(struct drive *d)
{
	const unsigned heads = geom[d->media].heads, spt = geom[d->media].spt;
	for (unsigned c = 0; c < geom[d->media].cyls; c++)
		for (unsigned h = 0; h < heads; h++) {
			struct track *t = &d->trk[c * heads + h];
			memset(t, 0, sizeof(*t));
			t->n = (uint8_t)spt;
			for (unsigned s = 0; s < spt; s++) {
				t->id[s][0] = (uint8_t)c;
				t->id[s][1] = (uint8_t)h;
				t->id[s][2] = (uint8_t)(s + 1);
				t->id[s][3] = 2;
			}
		}
}

/* Where the sector (c, h, r, n) can be found from time t on.  Returns 0 and sets *slot, *when
 * (its slot start); or the ST1 bit of the failure (MA: no ID on the track at all; ND), with
 * ST2 bits in *st2. */
static uint8_t locate(struct fdc *f, struct drive *d, unsigned hds, const uint8_t want[4],
                      uint64_t t, unsigned *slot, uint64_t *when, uint8_t *st2)
{
	struct track *tr = track_of(d, d->cyl, hds);
	*st2 = 0;
	if (!tr || !tr->n)
		return DC_FDC_ST1_MA;
	uint64_t best = UINT64_MAX;
	for (unsigned k = 0; k < tr->n; k++) {
		const uint8_t *id = tr->id[k];
		if (tr->bad[k] == DC_FDC_BAD_NO_ID)
			continue;
		if (!memcmp(id, want, 4) && sector_data(d, d->cyl, hds, id)) {
			uint64_t at = slot_start(f, d, tr->n, k, t);
			if (at < best) {
				best = at;
				*slot = k;
			}
		} else if (id[2] == want[2] && id[0] != want[0]) {
			*st2 |= id[0] == 0xFF ? DC_FDC_ST2_BC : DC_FDC_ST2_WC;
		}
	}
	if (best == UINT64_MAX)
		return DC_FDC_ST1_ND;
	*st2 = 0;
	*when = best;
	return 0;
}

/* ---- Phases --------------------------------------------------------------------------------- */

static uint8_t st0_of(const struct fdc *f, uint8_t ic_bits)
{
	return (uint8_t)(ic_bits | (f->x.chds << 2) | f->x.drive);
}

/* Ends the execution phase at `when` with these result bytes. */
static void finish_at(struct fdc *f, uint64_t when, uint8_t st0, uint8_t st1, uint8_t st2,
                      const uint8_t id[4])
{
	f->x.st[0] = st0;
	f->x.st[1] = st1;
	f->x.st[2] = st2;
	memcpy(f->x.st + 3, id, 4);
	f->x.step = XS_FINISH;
	if (st0 & DC_FDC_ST0_IC_MASK)
		f->st.errors++;
	dc_timer_del(f->done_ev);
	/* A later end (a sector not found) leaves the sector in hand to the channel until then. */
	if (when <= dc_host_now(f->h)) {
		f->x.dreq = false;
		update_dreq(f);
	}
	dc_timer_mod(f->exec_ev, when);
}

static void finish_now(struct fdc *f, uint8_t ic_bits, uint8_t st1, uint8_t st2,
                       const uint8_t id[4])
{
	finish_at(f, dc_host_now(f->h), st0_of(f, ic_bits), st1, st2, id);
}

static void result_phase(struct fdc *f, const uint8_t *bytes, unsigned n, bool interrupt)
{
	memcpy(f->res, bytes, n);
	f->rlen = n;
	f->rpos = 0;
	f->phase = DC_FDC_PHASE_RESULT;
	if (interrupt) {
		f->result_int = true;
		set_irq(f, true);
	}
}

static void enter_result(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	f->x.step = XS_IDLE;
	f->x.dreq = false;
	update_dreq(f);
	d->unload_at = dc_host_now(f->h) + hut_ns(f);
	result_phase(f, f->x.st, 7, true);
}

/* The ID the result phase shows after a transfer whose last sector was (cc, ch, cr)
 * (datasheet table 5-6). */
static void id_after(const struct fdc *f, uint8_t out[4])
{
	out[0] = f->x.cc;
	out[1] = f->x.ch;
	out[2] = (uint8_t)(f->x.cr + 1);
	out[3] = f->x.n;
	if (f->x.cr < f->x.eot)
		return;
	out[2] = 1;
	if (f->x.mt)
		out[1] ^= 1;
	if (!f->x.mt || f->x.chds == 1)
		out[0]++;
}

static void cur_id(const struct fdc *f, uint8_t out[4])
{
	out[0] = f->x.cc;
	out[1] = f->x.ch;
	out[2] = f->x.cr;
	out[3] = f->x.n;
}

static void want_id(const struct fdc *f, uint8_t out[4])
{
	out[0] = f->x.c;
	out[1] = f->x.h;
	out[2] = f->x.r;
	out[3] = f->x.n;
}

/* Moves the command on to the sector after the one in (c, h, r, hds).  False at the end of
 * the track (or of the cylinder, with MT). */
static bool advance(struct fdc *f)
{
	if (f->x.r < f->x.eot) {
		f->x.r++;
		return true;
	}
	if (f->x.mt && f->x.hds == 0) {
		f->x.hds = 1;
		f->x.h ^= 1;
		f->x.r = 1;
		return true;
	}
	return false;
}

/* Finds the sector the command goes for next and schedules its slot event (at the end of the
 * slot for data, at its start for a FORMAT); a sector that is not there ends the command after
 * two index pulses. */
static void seek_sector(struct fdc *f, uint64_t t)
{
	struct drive *d = &f->drv[f->x.drive];
	uint8_t want[4], st2;
	uint64_t when = 0;
	unsigned slot = 0;
	want_id(f, want);
	uint8_t st1 = locate(f, d, f->x.hds, want, t, &slot, &when, &st2);
	if (st1) {
		f->x.has_next = false;
		f->x.next_missing = true;
		f->x.chds = (uint8_t)f->x.hds;
		finish_at(f, two_index(f, d, t), st0_of(f, DC_FDC_ST0_IC_ABNORMAL), st1, st2, want);
		return;
	}
	f->x.has_next = true;
	f->x.slot = slot;
	f->x.step = XS_SECTOR;
	dc_timer_mod(f->exec_ev, when + slot_len(f, track_of(d, d->cyl, f->x.hds)->n));
}

/* Moves drive d's head by `delta` step pulses (it stops at the mechanical ends). */
static unsigned head_after(const struct drive *d, int delta)
{
	int c = (int)d->cyl + delta;
	return c < 0 ? 0u : (unsigned)c >= PHYS_CYLS ? PHYS_CYLS - 1 : (unsigned)c;
}

static bool drive_ok(const struct fdc *f, unsigned drive)
{
	return drive < f->ndrives && f->drv[drive].present;
}

/* The motor is at speed: the command starts looking at the medium. */
static void exec_go(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	uint64_t t = dc_host_now(f->h);
	enum dc_fdc_cmd cmd = f->cmd;
	uint8_t want[4];
	want_id(f, want);
	f->x.chds = (uint8_t)f->x.hds;
	bool data = cmd == DC_FDC_CMD_READ_DATA || cmd == DC_FDC_CMD_WRITE_DATA;
	/* Implied seek (CONFIGURE EIS): step to C first. */
	if (data && (f->cfg2 & 0x40) && f->pcn[f->x.drive] != f->x.c && !f->x.started) {
		int delta = (int)f->x.c - (int)f->pcn[f->x.drive];
		unsigned steps = (unsigned)(delta < 0 ? -delta : delta);
		d->cyl = head_after(d, delta);
		f->pcn[f->x.drive] = f->x.c;
		f->st.steps += steps;
		if (d->media != DC_FDC_MEDIA_NONE)
			d->dskchg = false;
		t += steps * step_ns(f);
	}
	if (t >= d->unload_at)
		t += hlt_ns(f);
	f->x.started = true;
	if (d->media == DC_FDC_MEDIA_NONE) {
		finish_at(f, t + NO_MEDIUM_REVS * f->rev_ns,
		          st0_of(f, DC_FDC_ST0_IC_ABNORMAL | DC_FDC_ST0_NR), 0, 0, want);
		return;
	}
	if ((cmd == DC_FDC_CMD_WRITE_DATA || cmd == DC_FDC_CMD_FORMAT) && d->wp) {
		finish_at(f, t, st0_of(f, DC_FDC_ST0_IC_ABNORMAL), DC_FDC_ST1_NW, 0, want);
		return;
	}
	/* The wrong data rate or FM on MFM media: no address mark is ever recognised. */
	if (cmd != DC_FDC_CMD_FORMAT && (f->rate != geom[d->media].rate || !f->x.mfm)) {
		finish_at(f, two_index(f, d, t), st0_of(f, DC_FDC_ST0_IC_ABNORMAL), DC_FDC_ST1_MA,
		          0, want);
		return;
	}
	if (cmd == DC_FDC_CMD_READ_ID) {
		struct track *tr = track_of(d, d->cyl, f->x.hds);
		uint64_t best = UINT64_MAX;
		unsigned slot = 0;
		for (unsigned k = 0; tr && k < tr->n; k++) {
			uint64_t at = slot_start(f, d, tr->n, k, t);
			if (tr->bad[k] != DC_FDC_BAD_NO_ID && at < best) {
				best = at;
				slot = k;
			}
		}
		if (best == UINT64_MAX)
			finish_at(f, two_index(f, d, t), st0_of(f, DC_FDC_ST0_IC_ABNORMAL),
			          DC_FDC_ST1_MA, 0, want);
		else
			finish_at(f, best, st0_of(f, 0), 0, 0, tr->id[slot]);
		return;
	}
	if (cmd == DC_FDC_CMD_FORMAT) {
		if (!track_of(d, d->cyl, f->x.hds) || !f->x.sc || f->x.sc > DC_FDC_MAX_SPT) {
			/* No place on this medium for that track. */
			finish_at(f, two_index(f, d, t), st0_of(f, DC_FDC_ST0_IC_ABNORMAL),
			          DC_FDC_ST1_ND, 0, want);
			return;
		}
		f->x.fmt_k = 0;
		f->x.fmt_index = slot_start(f, d, 1, 0, t);
		f->x.step = XS_FMT_SLOT;
		f->x.dreq = true;
		update_dreq(f);
		dc_timer_mod(f->exec_ev, f->x.fmt_index);
		return;
	}
	seek_sector(f, t);
	if (cmd == DC_FDC_CMD_WRITE_DATA && f->x.step == XS_SECTOR) {
		f->x.dreq = true;
		update_dreq(f);
	}
}

/* READ DATA: sector x has passed under the head; its bytes go to the channel. */
static void read_sector(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	sync_dma(f);
	if (f->x.tc)
		return; /* terminal count came during the sync: done_event ends the command */
	if (f->x.dreq && f->x.pos < f->x.limit) {
		/* The channel has not taken the previous sector: the FIFO overran. */
		uint8_t id[4];
		cur_id(f, id);
		f->st.overruns++;
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_OR, 0, id);
		return;
	}
	struct track *tr = track_of(d, d->cyl, f->x.hds);
	memcpy(f->x.buf, sector_data(d, d->cyl, f->x.hds, tr->id[f->x.slot]), DC_FDC_SECTOR);
	f->x.cc = f->x.c;
	f->x.ch = f->x.h;
	f->x.cr = f->x.r;
	f->x.chds = (uint8_t)f->x.hds;
	f->x.crc = tr->bad[f->x.slot] == DC_FDC_BAD_CRC;
	f->x.pos = 0;
	f->x.limit = DC_FDC_SECTOR;
	f->x.dreq = true;
	f->x.step = XS_IDLE;
	f->x.next_missing = false;
	f->st.sectors_read++;
	/* The chip stops after a sector with an error; otherwise it goes for the next one while
	 * the channel empties this one. */
	if (!f->x.crc && !f->x.fault && advance(f))
		seek_sector(f, dc_host_now(f->h));
	else
		f->x.has_next = false;
	update_dreq(f);
}

/* READ DATA: the channel took the sector's last byte, or terminal count came. */
static void done_event(void *opaque)
{
	struct fdc *f = opaque;
	if (f->phase != DC_FDC_PHASE_EXEC || f->cmd != DC_FDC_CMD_READ_DATA)
		return;
	uint8_t id[4];
	if (!f->x.tc && f->x.pos < f->x.limit)
		return;
	f->x.dreq = false;
	update_dreq(f);
	if (f->x.fault) {
		cur_id(f, id);
		dc_host_dma_error(f->h, 0);
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_OR, 0, id);
	} else if (f->x.crc) {
		cur_id(f, id);
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_DE, DC_FDC_ST2_DD, id);
	} else if (f->x.tc) {
		id_after(f, id);
		finish_now(f, 0, 0, 0, id);
	} else if (!f->x.has_next && !f->x.next_missing) {
		/* Past EOT without terminal count. */
		id_after(f, id);
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_EN, 0, id);
	}
	/* else: the next sector's event (or its not-found end) is pending. */
}

/* WRITE DATA: sector x's slot has passed; what the channel delivered is written. */
static void write_sector(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	sync_dma(f);
	uint8_t id[4];
	f->x.cc = f->x.c;
	f->x.ch = f->x.h;
	f->x.cr = f->x.r;
	f->x.chds = (uint8_t)f->x.hds;
	cur_id(f, id);
	if (f->x.pos < f->x.limit) {
		if (!f->x.tc) {
			f->st.overruns++;
			finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_OR, 0, id);
			return;
		}
		/* Terminal count inside the sector: the rest of the data field is zeros. */
		memset(f->x.buf + f->x.pos, 0, f->x.limit - f->x.pos);
	}
	struct track *tr = track_of(d, d->cyl, f->x.hds);
	memcpy(sector_data(d, d->cyl, f->x.hds, tr->id[f->x.slot]), f->x.buf, DC_FDC_SECTOR);
	if (tr->bad[f->x.slot] == DC_FDC_BAD_CRC)
		tr->bad[f->x.slot] = DC_FDC_BAD_NONE; /* a new data field, a new CRC */
	f->st.sectors_written++;
	if (f->x.fault) {
		dc_host_dma_error(f->h, 0);
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_OR, 0, id);
	} else if (f->x.tc) {
		id_after(f, id);
		finish_now(f, 0, 0, 0, id);
	} else if (!advance(f)) {
		id_after(f, id);
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_EN, 0, id);
	} else {
		f->x.pos = 0;
		f->x.limit = DC_FDC_SECTOR;
		f->x.dreq = true;
		seek_sector(f, dc_host_now(f->h));
		update_dreq(f);
	}
}

/* FORMAT TRACK: slot fmt_k starts; its ID must have come through the channel. */
static void format_slot(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	struct track *tr = track_of(d, d->cyl, f->x.hds);
	unsigned k = f->x.fmt_k;
	sync_dma(f);
	if (k == 0) {
		memset(tr, 0, sizeof(*tr)); /* the write gate is on from the index */
		f->st.tracks_formatted++;
	}
	uint8_t id[4];
	memcpy(id, k ? f->x.buf + 4 * (k - 1) : f->x.buf, 4);
	if (f->x.pos < 4 * (k + 1)) {
		/* The FIFO is empty when the ID is needed: underrun, whether or not terminal count
		 * came (the ID bytes may still sit in the DMA controller's buffer).  The track
		 * keeps the sectors formatted so far. */
		f->st.overruns++;
		finish_now(f, DC_FDC_ST0_IC_ABNORMAL, DC_FDC_ST1_OR, 0, id);
		return;
	}
	memcpy(tr->id[k], f->x.buf + 4 * k, 4);
	tr->n = (uint8_t)(k + 1);
	uint8_t *data = sector_data(d, d->cyl, f->x.hds, tr->id[k]);
	if (data)
		memset(data, f->x.fill, DC_FDC_SECTOR);
	f->x.fmt_k = ++k;
	if (k == f->x.sc)
		finish_at(f, f->x.fmt_index + f->rev_ns, st0_of(f, 0), 0, 0, tr->id[k - 1]);
	else
		dc_timer_mod(f->exec_ev, f->x.fmt_index + f->rev_ns * k / f->x.sc);
}

static void exec_event(void *opaque)
{
	struct fdc *f = opaque;
	if (f->phase != DC_FDC_PHASE_EXEC)
		return;
	switch (f->x.step) {
	case XS_GO:
		exec_go(f);
		break;
	case XS_SECTOR:
		if (f->cmd == DC_FDC_CMD_READ_DATA)
			read_sector(f);
		else
			write_sector(f);
		break;
	case XS_FMT_SLOT:
		format_slot(f);
		break;
	case XS_FINISH:
		enter_result(f);
		break;
	default:
		break;
	}
}

/* Execution starts (or resumes) once the drive's motor is at speed. */
static void exec_wait_motor(struct fdc *f)
{
	struct drive *d = &f->drv[f->x.drive];
	if (!d->motor) {
		f->x.step = XS_MOTOR;
		return;
	}
	f->x.step = XS_GO;
	dc_timer_mod(f->exec_ev, DC_MAX(dc_host_now(f->h), d->ready_at));
}

static void motor_event(void *opaque)
{
	struct drive *d = opaque;
	struct fdc *f = d->f;
	if (f->phase == DC_FDC_PHASE_EXEC && f->x.step == XS_MOTOR && f->x.drive == d->no)
		exec_wait_motor(f);
}

static void start_exec(struct fdc *f)
{
	const uint8_t *p = f->cbuf;
	memset(&f->x, 0, offsetof(struct exec, buf));
	f->x.drive = p[1] & 3;
	f->x.hds = (p[1] >> 2) & 1;
	f->x.chds = (uint8_t)f->x.hds;
	f->x.mt = (p[0] & DC_FDC_MT) != 0;
	f->x.mfm = (p[0] & DC_FDC_MFM) != 0;
	f->phase = DC_FDC_PHASE_EXEC;
	switch (f->cmd) {
	case DC_FDC_CMD_READ_DATA:
	case DC_FDC_CMD_WRITE_DATA:
		f->x.c = p[2];
		f->x.h = p[3];
		f->x.r = p[4];
		f->x.n = p[5];
		f->x.eot = p[6];
		f->x.cc = p[2];
		f->x.ch = p[3];
		f->x.cr = p[4];
		f->sc_eot = p[6];
		f->x.limit = f->cmd == DC_FDC_CMD_WRITE_DATA ? DC_FDC_SECTOR : 0;
		if (f->fault_armed) {
			f->fault_armed = false;
			f->x.fault = true;
		}
		break;
	case DC_FDC_CMD_FORMAT:
		f->x.n = p[2];
		f->x.sc = p[3];
		f->x.fill = p[5];
		f->x.limit = 4u * DC_MIN(f->x.sc, DC_FDC_MAX_SPT);
		f->sc_eot = p[3];
		break;
	default:
		break;
	}
	if (!drive_ok(f, f->x.drive)) {
		/* No drive on the cable: nothing ever turns. */
		uint8_t id[4];
		want_id(f, id);
		finish_at(f, dc_host_now(f->h) + NO_MEDIUM_REVS * f->rev_ns,
		          st0_of(f, DC_FDC_ST0_IC_ABNORMAL | DC_FDC_ST0_NR), 0, 0, id);
		return;
	}
	exec_wait_motor(f);
}

/* ---- Seeks ---------------------------------------------------------------------------------- */

static void seek_event(void *opaque)
{
	struct drive *d = opaque;
	struct fdc *f = d->f;
	if (!d->seeking)
		return;
	d->seeking = false;
	d->cyl = d->seek_cyl;
	f->pcn[d->no] = d->seek_pcn;
	f->st.steps += d->seek_steps;
	if (d->seek_steps && d->media != DC_FDC_MEDIA_NONE)
		d->dskchg = false; /* a step pulse with a disk in resets the change line */
	f->sis_pending[d->no] = true;
	f->sis_st0[d->no] = d->seek_st0;
	set_irq(f, true);
}

static void start_seek(struct fdc *f, unsigned drive, unsigned hds, bool recal, uint8_t ncn)
{
	struct drive *d = &f->drv[drive];
	unsigned steps;
	uint8_t st0 = (uint8_t)(DC_FDC_ST0_SE | (hds << 2) | drive);
	if (recal) {
		unsigned from = drive_ok(f, drive) ? d->cyl : UINT32_MAX;
		steps = DC_MIN(from, RECAL_STEPS);
		d->seek_cyl = drive_ok(f, drive) ? d->cyl - steps : d->cyl;
		d->seek_pcn = 0;
		if (!drive_ok(f, drive) || d->seek_cyl != 0)
			st0 |= DC_FDC_ST0_IC_ABNORMAL | DC_FDC_ST0_EC;
	} else {
		int delta = (int)ncn - (int)f->pcn[drive];
		steps = (unsigned)(delta < 0 ? -delta : delta);
		d->seek_cyl = head_after(d, delta);
		d->seek_pcn = ncn;
	}
	d->seek_steps = steps;
	d->seek_st0 = st0;
	d->seeking = true;
	dc_timer_mod(d->seek_ev, dc_host_now(f->h) + steps * step_ns(f));
}

/* ---- Commands ------------------------------------------------------------------------------- */

static uint8_t st3_of(struct fdc *f, unsigned drive, unsigned hds)
{
	struct drive *d = &f->drv[drive];
	uint8_t v = (uint8_t)(DC_FDC_ST3_RDY | DC_FDC_ST3_TS | (hds << 2) | drive);
	if (drive_ok(f, drive)) {
		if (d->media != DC_FDC_MEDIA_NONE && d->wp)
			v |= DC_FDC_ST3_WP;
		if (d->cyl == 0)
			v |= DC_FDC_ST3_T0;
	}
	return v;
}

static void configure_defaults(struct fdc *f)
{
	f->cfg2 = 0x20; /* EIS 0, FIFO disabled, polling on, threshold 1 byte */
	f->pretrk = 0;
}

static void command(struct fdc *f)
{
	const uint8_t *p = f->cbuf;
	uint8_t r[10];
	f->st.commands++;
	switch (f->cmd) {
	case DC_FDC_CMD_SPECIFY:
		f->srt = p[1] >> 4;
		f->hut = p[1] & 0x0F;
		f->hlt = p[2] >> 1;
		f->nodma = p[2] & 1;
		f->phase = DC_FDC_PHASE_COMMAND;
		break;
	case DC_FDC_CMD_SENSE_DRIVE:
		r[0] = st3_of(f, p[1] & 3, (p[1] >> 2) & 1);
		result_phase(f, r, 1, false);
		break;
	case DC_FDC_CMD_RECALIBRATE:
	case DC_FDC_CMD_SEEK:
		start_seek(f, p[1] & 3, (p[1] >> 2) & 1, f->cmd == DC_FDC_CMD_RECALIBRATE,
		           f->cmd == DC_FDC_CMD_SEEK ? p[2] : 0);
		f->phase = DC_FDC_PHASE_COMMAND;
		break;
	case DC_FDC_CMD_SENSE_INT: {
		unsigned i = 0;
		while (i < DC_FDC_DRIVES && !f->sis_pending[i])
			i++;
		if (i == DC_FDC_DRIVES) {
			r[0] = DC_FDC_ST0_IC_INVALID;
			f->st.invalid++;
			result_phase(f, r, 1, false);
			break;
		}
		f->sis_pending[i] = false;
		r[0] = f->sis_st0[i];
		r[1] = f->pcn[i];
		result_phase(f, r, 2, false);
		set_irq(f, false);
		break;
	}
	case DC_FDC_CMD_DUMPREG:
		memcpy(r, f->pcn, 4);
		r[4] = (uint8_t)(f->srt << 4 | f->hut);
		r[5] = (uint8_t)(f->hlt << 1 | f->nodma);
		r[6] = f->sc_eot;
		r[7] = 0; /* LOCK, perpendicular mode: not modelled */
		r[8] = f->cfg2;
		r[9] = f->pretrk;
		result_phase(f, r, 10, false);
		break;
	case DC_FDC_CMD_VERSION:
		r[0] = DC_FDC_VERSION_ID;
		result_phase(f, r, 1, false);
		break;
	case DC_FDC_CMD_CONFIGURE:
		f->cfg2 = p[2] & 0x7F;
		f->pretrk = p[3];
		f->phase = DC_FDC_PHASE_COMMAND;
		break;
	case DC_FDC_CMD_READ_DATA:
	case DC_FDC_CMD_WRITE_DATA:
	case DC_FDC_CMD_READ_ID:
	case DC_FDC_CMD_FORMAT:
		start_exec(f);
		break;
	default:
		r[0] = DC_FDC_ST0_IC_INVALID;
		f->st.invalid++;
		result_phase(f, r, 1, false);
		break;
	}
	f->clen = 0;
}

/* ---- Reset ---------------------------------------------------------------------------------- */

/* What DOR bit 2 and DSR bit 7 reset: the command machine, the PCNs, the pending interrupts,
 * CONFIGURE.  Not the SPECIFY values, the data rate, the drives (their heads stay where they
 * are: a driver recalibrates). */
static void core_reset(struct fdc *f)
{
	dc_timer_del(f->exec_ev);
	dc_timer_del(f->done_ev);
	dc_timer_del(f->reset_ev);
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++) {
		dc_timer_del(f->drv[i].seek_ev);
		f->drv[i].seeking = false;
		f->sis_pending[i] = false;
		f->pcn[i] = 0;
	}
	memset(&f->x, 0, offsetof(struct exec, buf));
	f->phase = DC_FDC_PHASE_RESET;
	f->cmd = DC_FDC_CMD_INVALID;
	f->clen = f->rlen = f->rpos = 0;
	f->result_int = false;
	configure_defaults(f);
}

static void reset_event(void *opaque)
{
	struct fdc *f = opaque;
	if (f->phase == DC_FDC_PHASE_RESET)
		return;
	/* Polling after reset finds every drive's ready line changed: four interrupts. */
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++) {
		f->sis_pending[i] = true;
		f->sis_st0[i] = (uint8_t)(DC_FDC_ST0_IC_POLL | i);
	}
	set_irq(f, true);
}

static void release_reset(struct fdc *f)
{
	f->phase = DC_FDC_PHASE_COMMAND;
	dc_timer_mod(f->reset_ev, dc_host_now(f->h) + RESET_INT_NS);
}

static void motor(struct fdc *f, unsigned i, bool on)
{
	struct drive *d = &f->drv[i];
	if (on == d->motor)
		return;
	d->motor = on;
	if (on) {
		d->ready_at = dc_host_now(f->h) + f->spinup_ns;
		dc_timer_mod(d->motor_ev, d->ready_at);
		return;
	}
	dc_timer_del(d->motor_ev);
	/* The disk stops turning under a running command: it waits, as the chip waits for
	 * index pulses, and looks for its sector again once the motor is back at speed. */
	if (f->phase == DC_FDC_PHASE_EXEC && f->x.drive == i &&
	    (f->x.step == XS_GO || f->x.step == XS_SECTOR || f->x.step == XS_FMT_SLOT)) {
		dc_timer_del(f->exec_ev);
		f->x.started = f->x.step != XS_GO;
		if (f->x.step == XS_FMT_SLOT)
			f->x.pos = 0;
		f->x.step = XS_MOTOR;
	}
}

static void dor_write(struct fdc *f, uint8_t v)
{
	f->dor = v;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++)
		motor(f, i, (v & DC_FDC_DOR_MOTEN(i)) != 0);
	if (!(v & DC_FDC_DOR_NRESET)) {
		if (f->phase != DC_FDC_PHASE_RESET)
			core_reset(f);
	} else if (f->phase == DC_FDC_PHASE_RESET) {
		release_reset(f);
	}
	update_dreq(f);
	set_irq(f, false);
}

/* ---- Registers ------------------------------------------------------------------------------ */

static uint8_t msr(const struct fdc *f)
{
	uint8_t v = 0;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++)
		if (f->drv[i].seeking)
			v |= (uint8_t)DC_FDC_MSR_BUSY(i);
	switch (f->phase) {
	case DC_FDC_PHASE_COMMAND:
		v |= DC_FDC_MSR_RQM;
		if (f->clen)
			v |= DC_FDC_MSR_CB;
		break;
	case DC_FDC_PHASE_EXEC:
		v |= DC_FDC_MSR_CB;
		break;
	case DC_FDC_PHASE_RESULT:
		v |= DC_FDC_MSR_RQM | DC_FDC_MSR_DIO | DC_FDC_MSR_CB;
		break;
	default:
		v = 0;
		break;
	}
	return v;
}

static uint8_t reg_read(struct fdc *f, unsigned off)
{
	const struct drive *sel = &f->drv[f->dor & DC_FDC_DOR_SEL_MASK];
	bool sel_ok = drive_ok(f, f->dor & DC_FDC_DOR_SEL_MASK);
	uint8_t v;
	switch (off) {
	case DC_FDC_REG_SRA:
		v = 0x04; /* /INDEX inactive; STEP, DIR 0 */
		if (int_level(f))
			v |= 0x80;
		if (!drive_ok(f, 1))
			v |= 0x40;
		if (!(sel_ok && sel->cyl == 0))
			v |= 0x10;
		if (f->x.chds)
			v |= 0x08;
		if (!(sel_ok && sel->media != DC_FDC_MEDIA_NONE && sel->wp))
			v |= 0x02;
		return v;
	case DC_FDC_REG_SRB:
		return (uint8_t)(0xC0 | (f->dor & 1) << 5 | (f->dor >> 4 & 3));
	case DC_FDC_REG_DOR:
		return f->dor;
	case DC_FDC_REG_TDR:
		return f->tdr;
	case DC_FDC_REG_MSR:
		return msr(f);
	case DC_FDC_REG_FIFO:
		if (f->phase != DC_FDC_PHASE_RESULT) {
			f->st.ignored_bytes++;
			return f->last_fifo;
		}
		v = f->res[f->rpos++];
		f->last_fifo = v;
		if (f->rpos == 1 && f->result_int) {
			f->result_int = false;
			set_irq(f, false);
		}
		if (f->rpos == f->rlen) {
			f->phase = DC_FDC_PHASE_COMMAND;
			f->rlen = f->rpos = 0;
		}
		return v;
	case DC_FDC_REG_DIR:
		return sel_ok && sel->dskchg ? DC_FDC_DIR_DSKCHG : 0;
	default:
		return 0xFF;
	}
}

static void fifo_write(struct fdc *f, uint8_t v)
{
	if (f->phase != DC_FDC_PHASE_COMMAND) {
		f->st.ignored_bytes++;
		return;
	}
	f->last_fifo = v;
	if (!f->clen) {
		f->cmd = dc_fdc_decode(v);
		f->cneed = cmd_table[f->cmd].len;
	}
	f->cbuf[f->clen++] = v;
	if (f->clen == f->cneed)
		command(f);
}

static void reg_write(struct fdc *f, unsigned off, uint8_t v)
{
	switch (off) {
	case DC_FDC_REG_DOR:
		dor_write(f, v);
		break;
	case DC_FDC_REG_TDR:
		f->tdr = v & 3;
		break;
	case DC_FDC_REG_MSR: /* DSR */
		f->dsr = v & 0x7F;
		f->rate = (enum dc_fdc_rate)(v & DC_FDC_DSR_RATE_MASK);
		if (v & DC_FDC_DSR_SWRESET && f->phase != DC_FDC_PHASE_RESET) {
			/* Self-clearing: reset, then out of it at once (unless DOR holds it). */
			core_reset(f);
			release_reset(f);
			update_dreq(f);
			set_irq(f, false);
		}
		break;
	case DC_FDC_REG_FIFO:
		fifo_write(f, v);
		break;
	case DC_FDC_REG_DIR: /* CCR */
		f->rate = (enum dc_fdc_rate)(v & DC_FDC_DSR_RATE_MASK);
		break;
	default:
		break; /* read-only */
	}
}

static uint32_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct fdc *f = opaque;
	if (f->phase == DC_FDC_PHASE_EXEC)
		sync_dma(f);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)reg_read(f, (unsigned)off + i) << (8 * i);
	return v;
}

static void port_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		reg_write(opaque, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

/* DIR/CCR sit at base + 7, apart from the rest (base + 6 is the hard disk's). */
static uint32_t port7_read(void *opaque, uint64_t off, unsigned size)
{
	(void)off;
	uint32_t v = port_read(opaque, DC_FDC_REG_DIR, 1);
	uint32_t ones = size >= 4 ? UINT32_MAX : (UINT32_C(1) << (8 * size)) - 1;
	return v | (ones & ~UINT32_C(0xFF)); /* nothing answers above base + 7 */
}

static void port7_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	(void)off;
	(void)size;
	reg_write(opaque, DC_FDC_REG_DIR, (uint8_t)val);
}

/* The declared port range is base..base+7 with a hole at base + 6. */
static uint32_t ports_read(void *opaque, uint64_t off, unsigned size)
{
	return off == DC_FDC_REG_DIR ? port7_read(opaque, 0, size) : port_read(opaque, off, size);
}

static void ports_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	if (off == DC_FDC_REG_DIR)
		port7_write(opaque, 0, val, size);
	else
		port_write(opaque, off, val, size);
}

/* ---- DACK ----------------------------------------------------------------------------------- */

static const uint8_t *dack_from_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	(void)chan;
	struct fdc *f = opaque;
	*n = 0;
	if (f->phase != DC_FDC_PHASE_EXEC || f->cmd != DC_FDC_CMD_READ_DATA || !f->x.dreq ||
	    f->x.tc || f->x.pos >= f->x.limit)
		return NULL;
	uint32_t k = DC_MIN(max, f->x.limit - f->x.pos);
	const uint8_t *p = f->x.buf + f->x.pos;
	f->x.pos += k;
	*n = k;
	if (f->x.pos == f->x.limit) {
		f->dreq_out = false;
		dc_host_dreq(f->h, 0, false);
		dc_timer_mod(f->done_ev, dc_host_now(f->h));
	}
	return p;
}

static uint8_t *dack_to_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	(void)chan;
	struct fdc *f = opaque;
	*n = 0;
	if (f->phase != DC_FDC_PHASE_EXEC ||
	    (f->cmd != DC_FDC_CMD_WRITE_DATA && f->cmd != DC_FDC_CMD_FORMAT) ||
	    f->x.pos >= f->x.limit)
		return NULL;
	uint32_t k = DC_MIN(max, f->x.limit - f->x.pos);
	uint8_t *p = f->x.buf + f->x.pos;
	f->x.pos += k;
	*n = k;
	if (f->x.pos == f->x.limit && f->dreq_out) {
		f->dreq_out = false;
		dc_host_dreq(f->h, 0, false);
	}
	return p;
}

static void on_tc(void *opaque, unsigned chan)
{
	(void)chan;
	struct fdc *f = opaque;
	if (f->phase != DC_FDC_PHASE_EXEC || f->x.tc)
		return;
	if (f->cmd != DC_FDC_CMD_READ_DATA && f->cmd != DC_FDC_CMD_WRITE_DATA &&
	    f->cmd != DC_FDC_CMD_FORMAT)
		return;
	f->x.tc = true;
	f->st.tcs++;
	if (f->cmd == DC_FDC_CMD_READ_DATA)
		dc_timer_mod(f->done_ev, dc_host_now(f->h));
}

static uint64_t pending(void *opaque, unsigned chan)
{
	(void)chan;
	struct fdc *f = opaque;
	return f->dreq_out ? f->x.limit - f->x.pos : UINT64_MAX;
}

/* ---- Media ---------------------------------------------------------------------------------- */

static struct drive *drive_of(void *opaque, unsigned i)
{
	struct fdc *f = opaque;
	return i < f->ndrives ? &f->drv[i] : NULL;
}

int dc_fdc_insert(void *fdc, unsigned drive, enum dc_fdc_media media, const void *image)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d || media == DC_FDC_MEDIA_NONE || (unsigned)media >= DC_FDC_MEDIA_COUNT)
		return DC_ERR_INVAL;
	if (d->media != DC_FDC_MEDIA_NONE)
		return DC_ERR_BUSY;
	uint64_t size = dc_fdc_media_size(media);
	uint8_t *img = malloc(size);
	struct track *trk = calloc((size_t)geom[media].cyls * geom[media].heads, sizeof(*trk));
	if (!img || !trk) {
		free(img);
		free(trk);
		return DC_ERR_NOMEM;
	}
	if (image)
		memcpy(img, image, size);
	else
		memset(img, 0, size);
	d->img = img;
	d->trk = trk;
	d->media = media;
	d->wp = false;
	d->dskchg = true;
	standard_tracks(d);
	return DC_OK;
}

void dc_fdc_eject(void *fdc, unsigned drive)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d)
		return;
	free(d->img);
	free(d->trk);
	d->img = NULL;
	d->trk = NULL;
	d->media = DC_FDC_MEDIA_NONE;
	d->wp = false;
	d->dskchg = true;
}

int dc_fdc_load_image(void *fdc, unsigned drive, const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return DC_ERR_IO;
	int rc = DC_ERR_IO;
	uint8_t *buf = NULL;
	if (fseek(fp, 0, SEEK_END) == 0) {
		long sz = ftell(fp);
		enum dc_fdc_media media = DC_FDC_MEDIA_NONE;
		for (unsigned i = 1; i < DC_FDC_MEDIA_COUNT; i++)
			if (sz >= 0 && (uint64_t)sz == dc_fdc_media_size((enum dc_fdc_media)i))
				media = (enum dc_fdc_media)i;
		if (sz < 0) {
			rc = DC_ERR_IO;
		} else if (media == DC_FDC_MEDIA_NONE) {
			rc = DC_ERR_PARSE;
		} else if (!(buf = malloc((size_t)sz))) {
			rc = DC_ERR_NOMEM;
		} else if (fseek(fp, 0, SEEK_SET) == 0 &&
		           fread(buf, 1, (size_t)sz, fp) == (size_t)sz) {
			rc = dc_fdc_insert(fdc, drive, media, buf);
		}
	}
	free(buf);
	fclose(fp);
	return rc;
}

int dc_fdc_save_image(void *fdc, unsigned drive, const char *path)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d || d->media == DC_FDC_MEDIA_NONE)
		return DC_ERR_STATE;
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return DC_ERR_IO;
	uint64_t size = dc_fdc_media_size(d->media);
	bool ok = fwrite(d->img, 1, (size_t)size, fp) == size;
	ok = fclose(fp) == 0 && ok;
	return ok ? DC_OK : DC_ERR_IO;
}

enum dc_fdc_media dc_fdc_media(void *fdc, unsigned drive)
{
	struct drive *d = drive_of(fdc, drive);
	return d ? d->media : DC_FDC_MEDIA_NONE;
}

uint8_t *dc_fdc_image(void *fdc, unsigned drive, uint64_t *size)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d || d->media == DC_FDC_MEDIA_NONE) {
		if (size)
			*size = 0;
		return NULL;
	}
	if (size)
		*size = dc_fdc_media_size(d->media);
	return d->img;
}

int dc_fdc_set_write_protect(void *fdc, unsigned drive, bool on)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d)
		return DC_ERR_INVAL;
	if (d->media == DC_FDC_MEDIA_NONE)
		return DC_ERR_STATE;
	d->wp = on;
	return DC_OK;
}

int dc_fdc_inject_bad_sector(void *fdc, unsigned drive, unsigned c, unsigned h, unsigned r,
                             enum dc_fdc_bad kind)
{
	struct drive *d = drive_of(fdc, drive);
	if (!d || (unsigned)kind >= DC_FDC_BAD_COUNT)
		return DC_ERR_INVAL;
	if (d->media == DC_FDC_MEDIA_NONE)
		return DC_ERR_STATE;
	struct track *t = track_of(d, c, h);
	if (!t)
		return DC_ERR_INVAL;
	for (unsigned k = 0; k < t->n; k++)
		if (t->id[k][2] == r) {
			t->bad[k] = (uint8_t)kind;
			return DC_OK;
		}
	return DC_ERR_NOTFOUND;
}

void dc_fdc_state(void *fdc, struct dc_fdc_state *out)
{
	struct fdc *f = fdc;
	if (f->phase == DC_FDC_PHASE_EXEC)
		sync_dma(f);
	memset(out, 0, sizeof(*out));
	out->phase = f->phase;
	out->cmd = f->cmd;
	out->dor = f->dor;
	out->msr = msr(f);
	out->rate = f->rate;
	out->irq = f->irq >= 0 && dc_host_irq_asserted(f->h);
	out->dreq = f->dreq_out;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++) {
		out->pcn[i] = f->pcn[i];
		out->head[i] = (uint8_t)f->drv[i].cyl;
		out->spinning[i] = f->drv[i].motor && dc_host_now(f->h) >= f->drv[i].ready_at;
	}
}

const struct dc_fdc_stats *dc_fdc_stats(void *fdc)
{
	return &((struct fdc *)fdc)->st;
}

/* ---- dc_device_ops -------------------------------------------------------------------------- */

/* The RESET pin: everything a software reset does, and DOR, the data rate, SPECIFY. */
static void fdc_reset(void *opaque)
{
	struct fdc *f = opaque;
	core_reset(f);
	dc_timer_del(f->irq_ev);
	f->fault_armed = false;
	f->dor = 0;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++)
		motor(f, i, false);
	f->tdr = 0;
	f->dsr = DC_FDC_RATE_250K;
	f->rate = DC_FDC_RATE_250K;
	f->srt = f->hut = f->hlt = 0;
	f->nodma = false;
	f->sc_eot = 0;
	f->last_fifo = 0;
	update_dreq(f);
	set_irq(f, false);
}

static void fdc_destroy(void *opaque)
{
	struct fdc *f = opaque;
	if (!f)
		return;
	fdc_reset(f);
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++) {
		dc_fdc_eject(f, i);
		dc_timer_del(f->drv[i].motor_ev);
	}
	free(f);
}

static uint64_t fdc_store_size(void *opaque)
{
	return dc_fdc_media_size(dc_fdc_media(opaque, 0));
}

static int fdc_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	uint64_t size;
	uint8_t *img = dc_fdc_image(opaque, 0, &size);
	if (!img || off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(buf, img + off, len);
	return DC_OK;
}

static int fdc_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	uint64_t size;
	uint8_t *img = dc_fdc_image(opaque, 0, &size);
	if (!img || off > size || len > size - off)
		return DC_ERR_RANGE;
	memcpy(img + off, buf, len);
	return DC_OK;
}

static void fdc_inject_fault(void *opaque, enum dc_fault f)
{
	if (f == DC_FAULT_TRANSFER_ERROR)
		((struct fdc *)opaque)->fault_armed = true;
}

static int fdc_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const struct dc_device_ops fdc_ops = {
    .create = fdc_create,
    .port_read = ports_read,
    .port_write = ports_write,
    .dack_from_device = dack_from_device,
    .dack_to_device = dack_to_device,
    .tc = on_tc,
    .pending = pending,
    .reset = fdc_reset,
    .destroy = fdc_destroy,
    .store_size = fdc_store_size,
    .store_read = fdc_store_read,
    .store_write = fdc_store_write,
    .inject_fault = fdc_inject_fault,
};

void dc_fdc_cfg_default(struct dc_fdc_cfg *cfg)
{
	*cfg = (struct dc_fdc_cfg){
	    .dma = NULL,
	    .port_base = 0x3F0,
	    .dma_channel = 2,
	    .irq = 6,
	    .drives = 1,
	    .spinup_ns = 500 * MS,
	    .rpm = 300,
	};
}

static int fdc_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	const struct dc_device_res *r = dc_host_res(h);
	struct dc_fdc_cfg c;
	enum dc_fdc_media media = DC_FDC_MEDIA_NONE;
	if (dcfg->priv) {
		c = *(const struct dc_fdc_cfg *)dcfg->priv;
	} else {
		/* Drive 0 holds a formatted 1.44 MB disk (capacity 737280: a 720 KB one). */
		dc_fdc_cfg_default(&c);
		media = dcfg->capacity == dc_fdc_media_size(DC_FDC_MEDIA_720K) ? DC_FDC_MEDIA_720K
		        : !dcfg->capacity || dcfg->capacity == dc_fdc_media_size(DC_FDC_MEDIA_1440K)
		            ? DC_FDC_MEDIA_1440K
		            : DC_FDC_MEDIA_NONE;
		if (media == DC_FDC_MEDIA_NONE) {
			dc_host_log(h, "capacity %llu: a 3.5\" disk holds 1474560 or 737280 bytes",
			            (unsigned long long)dcfg->capacity);
			return DC_ERR_INVAL;
		}
	}
	if (!c.drives || c.drives > DC_FDC_DRIVES || !c.rpm) {
		dc_host_log(h, "%u drives (1-%u), %u rpm", c.drives, DC_FDC_DRIVES, c.rpm);
		return DC_ERR_INVAL;
	}
	struct fdc *f = calloc(1, sizeof(*f));
	if (!f)
		return DC_ERR_NOMEM;
	f->h = h;
	f->ch = dc_host_dma_channel(h, 0);
	f->irq = r->irq;
	f->base = r->port_base;
	f->ndrives = c.drives;
	f->spinup_ns = c.spinup_ns;
	f->rev_ns = UINT64_C(60000000000) / c.rpm;
	bool ok = true;
	for (unsigned i = 0; i < DC_FDC_DRIVES; i++) {
		struct drive *d = &f->drv[i];
		d->f = f;
		d->no = i;
		d->present = i < c.drives;
		d->dskchg = true; /* power-on: the line is active until the first step */
		d->seek_ev = dc_timer_new(h, "fdc-seek", seek_event, d);
		d->motor_ev = dc_timer_new(h, "fdc-motor", motor_event, d);
		ok = ok && d->seek_ev && d->motor_ev;
	}
	f->exec_ev = dc_timer_new(h, "fdc-exec", exec_event, f);
	f->done_ev = dc_timer_new(h, "fdc-done", done_event, f);
	f->irq_ev = dc_timer_new(h, "fdc-irq", irq_event, f);
	f->reset_ev = dc_timer_new(h, "fdc-reset", reset_event, f);
	if (!ok || !f->exec_ev || !f->done_ev || !f->irq_ev || !f->reset_ev) {
		free(f);
		return DC_ERR_NOMEM;
	}
	/* As a PC BIOS leaves the controller after POST (docs/devices/fdc.md): out of reset with
	 * DOR = 0x0C (drive 0 selected, motors off, DMA and IRQ gated on), the four polling
	 * interrupts of its own reset already sensed, the data rate and SPECIFY (SRT 6 ms, HUT
	 * 240 ms, HLT 4 ms at 500 kbps: the BIOS's 0xAF 0x02) of a 1.44 MB drive.  A driver
	 * resets it itself (DOR 0, then 0x0C) before relying on anything else. */
	configure_defaults(f);
	f->phase = DC_FDC_PHASE_COMMAND;
	f->dor = DC_FDC_DOR_NRESET | DC_FDC_DOR_DMAGATE;
	f->rate = DC_FDC_RATE_500K;
	f->dsr = DC_FDC_RATE_500K;
	f->srt = 0xA;
	f->hut = 0xF;
	f->hlt = 0x1;
	if (media != DC_FDC_MEDIA_NONE) {
		int rc = dc_fdc_insert(f, 0, media, NULL);
		if (rc) {
			free(f);
			return rc;
		}
	}
	*opaque = f;
	return DC_OK;
}

/* A second controller at 0x370, on any free line. */
static const struct dc_device_res fdc_second = {
    .port_base = 0x370,
    .port_len = DC_FDC_REG_COUNT,
    .port_holes = 1u << 6,
    .irq = -1,
    .irq_mode = DC_IRQ_LEVEL,
    .dma_channel = 2,
};

const struct dc_device_model dc_fdc_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "fdc",
    .desc = "Intel 82077AA floppy disk controller, 3.5\" drives, system DMA channel 2",
    .ops = &fdc_ops,
    .res =
        {
            .port_base = 0x3F0,
            .port_len = DC_FDC_REG_COUNT,
            .port_holes = 1u << 6,
            .irq = 6,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = 2,
        },
    .more = &fdc_second,
    .n_more = 1,
    .max_instances = 2,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = DC_FDC_SECTOR,
    .store_bps = 250000 / 8 / 4, /* 250 kbit/s media; seeks and missed revolutions: / 4 */
    .dev_class = DC_CLASS_DISK,
    .identifier = "82077AA",
};

int dc_fdc_create(struct dc_machine *m, const struct dc_fdc_cfg *cfg, struct dc_device *dev)
{
	struct dc_fdc_cfg c;
	if (cfg)
		c = *cfg;
	else
		dc_fdc_cfg_default(&c);
	struct dc_device_res r = dc_fdc_model.res;
	r.port_base = c.port_base;
	r.dma_channel = (int)c.dma_channel;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : DC_IRQ_LEVEL;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, NULL, &dc_fdc_model, &r, &dc, dev, NULL, 0);
}
