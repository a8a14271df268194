/* sb16, the Sound Blaster 16's DSP and mixer setup registers: see sb16.h and
 * docs/devices/sb16.md.
 *
 * Each engine (8-bit, 16-bit) runs a sample clock: `position` = the bytes the DAC has played
 * (or the ADC sampled) since the command, floor((now - t0) * rate) frames, frozen while
 * paused.  A tick every tick_ns (and one exactly at each block end) turns the clock into DMA
 * requests: playback asks the channel for every byte the clock has reached, capture offers
 * every byte it has sampled.  The engine counts what really crossed the channel and raises
 * its interrupt when that count passes a block end — so a driver that keeps the channel
 * unmasked gets an interrupt per block, at block time, and one whose DMA stalls gets it late.
 * Interrupts rise in the device's events only (never inside a port access or a DACK). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb16.h"

__extension__ typedef unsigned __int128 u128;

#define NS_PER_S UINT64_C(1000000000)
#define RBUF 16u    /* DSP read-data FIFO */
#define STAGE 8192u /* capture bytes the DSP holds for the channel */
#define DEFAULT_RATE 11025u

static const char *const stream_names[DC_SB16_STREAM_COUNT] = {"8-bit", "16-bit"};
static const char *const run_names[DC_SB16_RUN_COUNT] = {"idle", "running", "paused"};

const char *dc_sb16_stream_name(enum dc_sb16_stream s)
{
	return (unsigned)s < DC_SB16_STREAM_COUNT ? stream_names[s] : "?";
}
const char *dc_sb16_run_name(enum dc_sb16_run r)
{
	return (unsigned)r < DC_SB16_RUN_COUNT ? run_names[r] : "?";
}
const char *dc_sb16_reg_name(enum dc_sb16_reg r)
{
	static const char *const names[DC_SB16_PORTS] = {
	    [DC_SB16_REG_MIXER_ADDR] = "mixer-addr", [DC_SB16_REG_MIXER_DATA] = "mixer-data",
	    [DC_SB16_REG_RESET] = "reset",           [DC_SB16_REG_READ] = "read",
	    [DC_SB16_REG_WRITE] = "write",           [DC_SB16_REG_RSTATUS] = "read-status",
	    [DC_SB16_REG_ACK16] = "ack16",
	};
	return (unsigned)r < DC_SB16_PORTS && names[r] ? names[r] : "?";
}

struct sb;

struct stream {
	struct sb *sb;
	enum dc_sb16_stream no;
	unsigned ch;
	enum dc_sb16_run run;
	enum dc_dir dir;
	bool autoinit, exiting, dreq_out, fault;
	struct dc_sb16_format fmt;
	uint32_t frame, block;
	uint64_t limit;    /* bytes at which the engine stops (UINT64_MAX: auto-initialize) */
	uint64_t t0, base; /* the sample clock: position = base + frames since t0 */
	uint64_t done;     /* bytes through the channel */
	uint64_t want;     /* playback: bytes asked for */
	uint64_t produced; /* capture: bytes sampled */
	uint64_t blocks;
	uint8_t stage[STAGE];
	uint32_t s_off, s_len;
	struct dc_timer *tick;
};

struct sb {
	struct dc_host *h;
	int irq;
	uint64_t tick_ns;
	uint64_t unit; /* the DMA controller's buffer (chunk x depth) */
	int cfg_irq;
	unsigned cfg_dma8, cfg_dma16;
	struct stream st[DC_SB16_STREAM_COUNT];
	/* Mixer */
	uint8_t mix_index;
	uint8_t mixer[256];
	/* DSP */
	bool in_reset, speaker, fault_armed;
	uint8_t rbuf[RBUF];
	unsigned r_head, r_len;
	uint8_t last_read;
	uint8_t cbuf[4];
	unsigned clen, cneed;
	uint32_t rate_out, rate_in;
	uint16_t blk48;
	uint8_t test_reg;
	uint8_t ist; /* interrupt status (mixer 0x82) */
	/* Sink and source */
	uint8_t *sink;
	uint64_t sink_len, sink_cap;
	struct dc_sb16_format sink_fmt;
	bool played_any;
	uint8_t *src;                        /* source bytes [src_base, src_len) */
	uint64_t src_base, src_len, src_pos; /* stream positions */
	struct dc_timer *irq_ev;
	struct dc_sb16_stats stats;
};

/* ---- Interrupt ------------------------------------------------------------------------------ */

static void set_irq(struct sb *s, bool may_raise)
{
	if (s->irq < 0)
		return;
	if (!s->ist)
		dc_host_irq_lower(s->h);
	else if (may_raise)
		dc_host_irq_raise(s->h);
	else
		dc_timer_mod(s->irq_ev, dc_host_now(s->h));
}

static void irq_event(void *opaque)
{
	set_irq(opaque, true);
}

static uint8_t ist_bit(const struct stream *t)
{
	return t->no == DC_SB16_STREAM_8 ? DC_SB16_IST_8 : DC_SB16_IST_16;
}

/* ---- The sample clock ----------------------------------------------------------------------- */

static uint64_t position(const struct stream *t, uint64_t now)
{
	uint64_t p = t->base;
	if (t->run == DC_SB16_RUNNING && now > t->t0 && t->fmt.rate) {
		uint64_t frames = (uint64_t)((u128)(now - t->t0) * t->fmt.rate / NS_PER_S);
		p += frames * t->frame;
	}
	return DC_MIN(p, t->limit);
}

/* When the clock reaches `bytes` (> base). */
static uint64_t time_of(const struct stream *t, uint64_t bytes)
{
	uint64_t frames = (bytes - t->base + t->frame - 1) / t->frame;
	u128 ns = ((u128)frames * NS_PER_S + t->fmt.rate - 1) / t->fmt.rate;
	return t->t0 + (uint64_t)ns;
}

/* ---- DREQ ----------------------------------------------------------------------------------- */

/* Asserting again restarts a channel that stalled because the device had nothing. */
static void dreq(struct stream *t, bool level)
{
	if (!level && !t->dreq_out)
		return;
	t->dreq_out = level;
	dc_host_dreq(t->sb->h, t->no, level);
}

static void stop(struct stream *t)
{
	t->run = DC_SB16_IDLE;
	t->exiting = false;
	dc_timer_del(t->tick);
	dreq(t, false);
}

/* The channel moved n more bytes: block ends, the end of a single-cycle or exiting
 * transfer. */
static void moved(struct stream *t, uint32_t n)
{
	struct sb *s = t->sb;
	uint64_t old = t->done;
	t->done += n;
	uint64_t ends = t->done / t->block - old / t->block;
	if (ends) {
		t->blocks += ends;
		s->ist |= ist_bit(t);
		s->stats.irqs[t->no] += ends;
		dc_timer_mod(s->irq_ev, dc_host_now(s->h));
		if (t->fault) {
			/* The injected failure: the engine gives up after its first block. */
			t->fault = false;
			dc_host_dma_error(s->h, t->no);
			stop(t);
			return;
		}
	}
	if (t->done >= t->limit)
		stop(t);
}

static void tick_event(void *opaque)
{
	struct stream *t = opaque;
	struct sb *s = t->sb;
	uint64_t now = dc_host_now(s->h);
	if (t->run == DC_SB16_IDLE)
		return;
	s->stats.ticks++;
	uint64_t pos = position(t, now);
	if (t->dir == DC_DIR_TO_DEVICE) {
		if (t->done < t->want)
			s->stats.underruns++;
		/* The end of a finite transfer is taken in one go once it is within the
		 * controller's buffer of the clock: the controller masks the channel at terminal
		 * count, and whole units still in its buffer then would reach the DSP only at a
		 * drain, which the driver does after the interrupt the DSP could never give. */
		uint64_t ask = pos;
		if (t->limit != UINT64_MAX && t->limit - pos <= s->unit)
			ask = t->limit;
		t->want = DC_MAX(t->want, ask);
		if (t->done < t->want)
			dreq(t, true);
	} else if (pos > t->produced) {
		/* The ADC's new samples join what the channel has not taken yet; what does not fit
		 * is lost. */
		if (t->s_off) {
			memmove(t->stage, t->stage + t->s_off, t->s_len);
			t->s_off = 0;
		}
		uint64_t n = pos - t->produced;
		uint32_t fit = (uint32_t)DC_MIN(n, (uint64_t)(STAGE - t->s_len));
		uint8_t *dst = t->stage + t->s_len;
		uint64_t from_src =
		    s->src_pos < s->src_len ? DC_MIN(fit, s->src_len - s->src_pos) : 0;
		memcpy(dst, s->src + (s->src_pos - s->src_base), from_src);
		uint8_t silence = t->fmt.bits == 8 && !t->fmt.is_signed ? 0x80 : 0;
		memset(dst + from_src, silence, fit - from_src);
		s->src_pos += DC_MIN(n, s->src_len - DC_MIN(s->src_pos, s->src_len));
		s->stats.lost += n - fit;
		t->s_len += fit;
		t->produced = pos;
		if (t->s_len)
			dreq(t, true);
	}
	if (t->run != DC_SB16_RUNNING)
		return;
	uint64_t next = now + s->tick_ns;
	uint64_t boundary = DC_MIN((pos / t->block + 1) * t->block, t->limit);
	if (boundary > pos) {
		uint64_t tb = time_of(t, boundary);
		if (tb > now && tb < next)
			next = tb;
	}
	dc_timer_mod(t->tick, next);
}

/* ---- DACK ----------------------------------------------------------------------------------- */

static uint8_t *dack_to_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	struct stream *t = &((struct sb *)opaque)->st[chan];
	struct sb *s = t->sb;
	*n = 0;
	if (t->run == DC_SB16_IDLE || t->dir != DC_DIR_TO_DEVICE || t->done >= t->want)
		return NULL;
	uint32_t room = (uint32_t)DC_MIN((uint64_t)max, t->want - t->done);
	if (s->sink_len + room > s->sink_cap) {
		uint64_t cap = DC_MAX(s->sink_cap * 2, s->sink_len + room + 65536);
		uint8_t *p = realloc(s->sink, cap);
		if (!p)
			return NULL; /* the DSP takes nothing; the channel waits */
		s->sink = p;
		s->sink_cap = cap;
	}
	/* The controller fills these bytes before it calls the device again. */
	uint8_t *dst = s->sink + s->sink_len;
	s->sink_len += room;
	s->stats.played += room;
	*n = room;
	moved(t, room);
	if (t->run != DC_SB16_IDLE && t->done >= t->want)
		dreq(t, false);
	return dst;
}

static const uint8_t *dack_from_device(void *opaque, unsigned chan, uint32_t max, uint32_t *n)
{
	struct stream *t = &((struct sb *)opaque)->st[chan];
	*n = 0;
	if (t->run == DC_SB16_IDLE || t->dir != DC_DIR_FROM_DEVICE || !t->s_len)
		return NULL;
	uint32_t k = DC_MIN(max, t->s_len);
	const uint8_t *p = t->stage + t->s_off;
	t->s_off += k;
	t->s_len -= k;
	t->sb->stats.captured += k;
	*n = k;
	moved(t, k);
	if (t->run != DC_SB16_IDLE && !t->s_len)
		dreq(t, false);
	return p;
}

/* The DSP counts its own bytes: terminal count (the channel reloading) means nothing to it. */
static void on_tc(void *opaque, unsigned chan)
{
	(void)opaque, (void)chan;
}

static uint64_t pending(void *opaque, unsigned chan)
{
	struct stream *t = &((struct sb *)opaque)->st[chan];
	if (!t->dreq_out)
		return UINT64_MAX;
	return t->dir == DC_DIR_TO_DEVICE ? t->want - t->done : t->s_len;
}

/* ---- DSP commands --------------------------------------------------------------------------- */

static void push(struct sb *s, uint8_t v)
{
	if (s->r_len == RBUF)
		return;
	s->rbuf[(s->r_head + s->r_len++) % RBUF] = v;
}

static void start(struct sb *s, enum dc_sb16_stream no, enum dc_dir dir, bool autoinit,
                  uint8_t mode, uint32_t block)
{
	struct stream *t = &s->st[no];
	stop(t);
	t->run = DC_SB16_RUNNING;
	t->dir = dir;
	t->autoinit = autoinit;
	t->fmt.bits = no == DC_SB16_STREAM_16 ? 16 : 8;
	t->fmt.channels = mode & DC_SB16_MODE_STEREO ? 2 : 1;
	t->fmt.is_signed = (mode & DC_SB16_MODE_SIGNED) != 0;
	t->fmt.rate = dir == DC_DIR_TO_DEVICE ? s->rate_out : s->rate_in;
	if (!t->fmt.rate)
		t->fmt.rate = 1;
	t->frame = (uint32_t)t->fmt.bits / 8 * t->fmt.channels;
	t->block = block;
	t->limit = autoinit ? UINT64_MAX : block;
	t->t0 = dc_host_now(s->h);
	t->base = t->done = t->want = t->produced = t->blocks = 0;
	t->s_off = t->s_len = 0;
	if (s->fault_armed) {
		s->fault_armed = false;
		t->fault = true;
	}
	if (dir == DC_DIR_TO_DEVICE) {
		s->sink_fmt = t->fmt;
		s->played_any = true;
	}
	dc_timer_mod(t->tick, t->t0 + s->tick_ns);
}

static void pause(struct stream *t)
{
	if (t->run != DC_SB16_RUNNING)
		return;
	t->base = position(t, dc_host_now(t->sb->h));
	t->run = DC_SB16_PAUSED;
	/* A last tick asks for what the clock reached before it stopped. */
	dc_timer_mod(t->tick, dc_host_now(t->sb->h));
}

static void resume(struct stream *t)
{
	if (t->run != DC_SB16_PAUSED)
		return;
	t->run = DC_SB16_RUNNING;
	t->t0 = dc_host_now(t->sb->h);
	dc_timer_mod(t->tick, t->t0 + t->sb->tick_ns);
}

/* Exit auto-initialize: the engine stops at the end of the block its byte count is in (the
 * DSP counts DMA bytes, not played ones). */
static void exit_auto(struct stream *t)
{
	if (t->run == DC_SB16_IDLE || !t->autoinit || t->exiting)
		return;
	t->exiting = true;
	t->limit = (t->done / t->block + 1) * t->block;
}

static unsigned params(uint8_t op)
{
	switch (op) {
	case 0x10:
	case DC_SB16_CMD_TIME_CONSTANT:
	case DC_SB16_CMD_IDENTIFY:
	case 0xE4:
		return 1;
	case DC_SB16_CMD_8_SINGLE_OUT:
	case DC_SB16_CMD_8_SINGLE_IN:
	case DC_SB16_CMD_RATE_OUT:
	case DC_SB16_CMD_RATE_IN:
	case DC_SB16_CMD_BLOCK_SIZE:
	case 0x80:
		return 2;
	default:
		return op >= 0xB0 && op <= 0xCF ? 3 : 0;
	}
}

static void command(struct sb *s)
{
	const uint8_t *p = s->cbuf;
	uint8_t op = p[0];
	uint16_t le = (uint16_t)(p[1] | p[2] << 8);
	s->stats.commands++;
	if (op >= 0xB0 && op <= 0xCF) {
		enum dc_sb16_stream no = op < 0xC0 ? DC_SB16_STREAM_16 : DC_SB16_STREAM_8;
		uint32_t len = (uint32_t)(p[2] | p[3] << 8) + 1;
		start(s, no, op & DC_SB16_CMD_IN ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE,
		      (op & DC_SB16_CMD_AUTO) != 0, p[1], no == DC_SB16_STREAM_16 ? 2 * len : len);
		return;
	}
	switch (op) {
	case DC_SB16_CMD_8_SINGLE_OUT:
	case DC_SB16_CMD_8_SINGLE_IN:
		start(s, DC_SB16_STREAM_8,
		      op == DC_SB16_CMD_8_SINGLE_IN ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE, false,
		      0, (uint32_t)le + 1);
		break;
	case DC_SB16_CMD_8_AUTO_OUT:
	case DC_SB16_CMD_8_AUTO_IN:
		start(s, DC_SB16_STREAM_8,
		      op == DC_SB16_CMD_8_AUTO_IN ? DC_DIR_FROM_DEVICE : DC_DIR_TO_DEVICE, true, 0,
		      (uint32_t)s->blk48 + 1);
		break;
	case DC_SB16_CMD_TIME_CONSTANT:
		s->rate_out = s->rate_in = 1000000u / (256u - p[1]);
		break;
	case DC_SB16_CMD_RATE_OUT:
	case DC_SB16_CMD_RATE_IN: {
		uint32_t rate = (uint32_t)(p[1] << 8 | p[2]); /* high byte first */
		if (op == DC_SB16_CMD_RATE_OUT)
			s->rate_out = rate;
		else
			s->rate_in = rate;
		break;
	}
	case DC_SB16_CMD_BLOCK_SIZE:
		s->blk48 = le;
		break;
	case DC_SB16_CMD_PAUSE_8:
		pause(&s->st[DC_SB16_STREAM_8]);
		break;
	case DC_SB16_CMD_CONTINUE_8:
		resume(&s->st[DC_SB16_STREAM_8]);
		break;
	case DC_SB16_CMD_EXIT_AUTO_8:
		exit_auto(&s->st[DC_SB16_STREAM_8]);
		break;
	case DC_SB16_CMD_PAUSE_16:
		pause(&s->st[DC_SB16_STREAM_16]);
		break;
	case DC_SB16_CMD_CONTINUE_16:
		resume(&s->st[DC_SB16_STREAM_16]);
		break;
	case DC_SB16_CMD_EXIT_AUTO_16:
		exit_auto(&s->st[DC_SB16_STREAM_16]);
		break;
	case DC_SB16_CMD_SPEAKER_ON:
	case DC_SB16_CMD_SPEAKER_OFF:
		s->speaker = op == DC_SB16_CMD_SPEAKER_ON;
		break;
	case DC_SB16_CMD_SPEAKER_STATUS:
		push(s, s->speaker ? 0xFF : 0x00);
		break;
	case DC_SB16_CMD_IDENTIFY:
		push(s, (uint8_t)~p[1]);
		break;
	case DC_SB16_CMD_VERSION:
		push(s, DC_SB16_VERSION >> 8);
		push(s, DC_SB16_VERSION & 0xFF);
		break;
	case 0xE4:
		s->test_reg = p[1];
		break;
	case 0xE8:
		push(s, s->test_reg);
		break;
	case DC_SB16_CMD_IRQ_8:
	case DC_SB16_CMD_IRQ_16:
		s->ist |= op == DC_SB16_CMD_IRQ_8 ? DC_SB16_IST_8 : DC_SB16_IST_16;
		set_irq(s, false);
		break;
	default:
		s->stats.unknown_commands++;
		break;
	}
}

static void dsp_reset(struct sb *s)
{
	for (unsigned i = 0; i < DC_SB16_STREAM_COUNT; i++)
		stop(&s->st[i]);
	s->ist = 0;
	dc_timer_del(s->irq_ev);
	set_irq(s, false);
	s->r_head = s->r_len = 0;
	s->clen = 0;
	s->speaker = false;
	s->rate_out = s->rate_in = DEFAULT_RATE;
	s->blk48 = 0x7FF;
	s->test_reg = 0;
}

/* ---- Mixer ---------------------------------------------------------------------------------- */

static const int irq_lines[4] = {9, 5, 7, 10};
static const unsigned dma8_chs[3] = {0, 1, 3}, dma8_bits[3] = {0x01, 0x02, 0x08};
static const unsigned dma16_chs[3] = {5, 6, 7}, dma16_bits[3] = {0x20, 0x40, 0x80};

static uint8_t irq_sel(const struct sb *s)
{
	for (unsigned i = 0; i < 4; i++)
		if (irq_lines[i] == s->irq)
			return (uint8_t)(1u << i);
	return 0;
}

static uint8_t dma_sel(const struct sb *s)
{
	uint8_t v = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (s->st[DC_SB16_STREAM_8].ch == dma8_chs[i])
			v |= (uint8_t)dma8_bits[i];
		if (s->st[DC_SB16_STREAM_16].ch == dma16_chs[i])
			v |= (uint8_t)dma16_bits[i];
	}
	return v;
}

static void select_irq(struct sb *s, uint8_t v)
{
	for (unsigned i = 0; i < 4; i++)
		if (v & (1u << i)) {
			dc_host_irq_move(s->h, irq_lines[i]);
			s->irq = irq_lines[i];
			set_irq(s, false);
			return;
		}
}

/* Moves an engine to another channel (the jumperless card's DMA select). */
static void move_channel(struct sb *s, struct stream *t, unsigned ch)
{
	if (ch == t->ch)
		return;
	stop(t);
	if (dc_host_dma_move(s->h, t->no, ch) == DC_OK)
		t->ch = ch;
}

static void select_dma(struct sb *s, uint8_t v)
{
	for (unsigned i = 0; i < 3; i++)
		if (v & dma8_bits[i]) {
			move_channel(s, &s->st[DC_SB16_STREAM_8], dma8_chs[i]);
			break;
		}
	for (unsigned i = 0; i < 3; i++)
		if (v & dma16_bits[i]) {
			move_channel(s, &s->st[DC_SB16_STREAM_16], dma16_chs[i]);
			break;
		}
}

/* The CT1745 mixer's power-on (and mixer-reset) values, from Creative's SB16 hardware
 * programming guide: master, voice and MIDI at 24 of 31 (0xC0; the SBPro registers 0x22,
 * 0x04, 0x26 at 0xCC), CD, line, mic and PC speaker off, output switches 0x1F (line, CD, mic
 * on), input switches left 0x15 / right 0x0B, gains 0, AGC off, treble and bass 8 of 15
 * (0x80).  docs/devices/sb16.md lists them. */
static void mixer_defaults(struct sb *s)
{
	static const uint8_t def[][2] = {{0x04, 0xCC}, {0x22, 0xCC}, {0x26, 0xCC}, {0x30, 0xC0},
	                                 {0x31, 0xC0}, {0x32, 0xC0}, {0x33, 0xC0}, {0x34, 0xC0},
	                                 {0x35, 0xC0}, {0x3C, 0x1F}, {0x3D, 0x15}, {0x3E, 0x0B},
	                                 {0x44, 0x80}, {0x45, 0x80}, {0x46, 0x80}, {0x47, 0x80}};
	memset(s->mixer, 0, sizeof(s->mixer));
	for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		s->mixer[def[i][0]] = def[i][1];
}

static uint8_t mixer_read(struct sb *s)
{
	switch (s->mix_index) {
	case DC_SB16_MIX_IRQ:
		return irq_sel(s);
	case DC_SB16_MIX_DMA:
		return dma_sel(s);
	case DC_SB16_MIX_STATUS:
		return s->ist;
	default:
		return s->mixer[s->mix_index];
	}
}

static void mixer_write(struct sb *s, uint8_t v)
{
	switch (s->mix_index) {
	case DC_SB16_MIX_RESET:
		mixer_defaults(s);
		break;
	case DC_SB16_MIX_IRQ:
		select_irq(s, v);
		break;
	case DC_SB16_MIX_DMA:
		select_dma(s, v);
		break;
	case DC_SB16_MIX_STATUS:
		break; /* read-only */
	default:
		s->mixer[s->mix_index] = v;
		break;
	}
}

/* ---- Ports ---------------------------------------------------------------------------------- */

static uint8_t reg_read(struct sb *s, unsigned off)
{
	switch (off) {
	case DC_SB16_REG_MIXER_ADDR:
		return s->mix_index;
	case DC_SB16_REG_MIXER_DATA:
		return mixer_read(s);
	case DC_SB16_REG_READ:
		if (s->r_len) {
			s->last_read = s->rbuf[s->r_head];
			s->r_head = (s->r_head + 1) % RBUF;
			s->r_len--;
		}
		return s->last_read;
	case DC_SB16_REG_WRITE:
		return s->in_reset ? 0xFF : 0x7F; /* bit 7 clear: ready for a byte */
	case DC_SB16_REG_RSTATUS:
		if (s->ist & DC_SB16_IST_8) {
			s->ist &= (uint8_t)~DC_SB16_IST_8;
			set_irq(s, false);
		}
		return s->r_len ? 0xFF : 0x7F;
	case DC_SB16_REG_ACK16:
		if (s->ist & DC_SB16_IST_16) {
			s->ist &= (uint8_t)~DC_SB16_IST_16;
			set_irq(s, false);
		}
		return 0xFF;
	default:
		return 0xFF; /* FM synthesizer and unused ports */
	}
}

static void reg_write(struct sb *s, unsigned off, uint8_t v)
{
	switch (off) {
	case DC_SB16_REG_MIXER_ADDR:
		s->mix_index = v;
		break;
	case DC_SB16_REG_MIXER_DATA:
		mixer_write(s, v);
		break;
	case DC_SB16_REG_RESET:
		if (v & 1) {
			if (!s->in_reset)
				dsp_reset(s);
			s->in_reset = true;
		} else if (s->in_reset) {
			s->in_reset = false;
			push(s, DC_SB16_READY);
		}
		break;
	case DC_SB16_REG_WRITE:
		if (s->in_reset)
			break;
		if (!s->clen)
			s->cneed = 1 + params(v);
		s->cbuf[s->clen++] = v;
		if (s->clen == s->cneed) {
			s->clen = 0;
			command(s);
		}
		break;
	default:
		break;
	}
}

static uint32_t port_read(void *opaque, uint64_t off, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)reg_read(opaque, (unsigned)off + i) << (8 * i);
	return v;
}

static void port_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		reg_write(opaque, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

/* ---- Sink, source, WAV ---------------------------------------------------------------------- */

const uint8_t *dc_sb16_sink(void *sb, uint64_t *len, struct dc_sb16_format *fmt)
{
	struct sb *s = sb;
	/* Bring the channels up to now so every byte they owe the DSP is in. */
	for (unsigned i = 0; i < DC_SB16_STREAM_COUNT; i++)
		dc_host_dma_sync(s->h, i);
	if (len)
		*len = s->sink_len;
	if (fmt)
		*fmt = s->sink_fmt;
	return s->sink;
}

void dc_sb16_sink_clear(void *sb)
{
	struct sb *s = sb;
	s->sink_len = 0;
}

int dc_sb16_set_source(void *sb, const void *bytes, uint64_t len)
{
	struct sb *s = sb;
	uint8_t *p = NULL;
	if (len) {
		p = malloc(len);
		if (!p)
			return DC_ERR_NOMEM;
		memcpy(p, bytes, len);
	}
	free(s->src);
	s->src = p;
	s->src_len = len;
	s->src_pos = 0;
	s->src_base = 0;
	return DC_OK;
}

void dc_sb16_sink_consume(void *sb, uint64_t n)
{
	struct sb *s = sb;
	n = DC_MIN(n, s->sink_len);
	if (!n)
		return;
	memmove(s->sink, s->sink + n, s->sink_len - n);
	s->sink_len -= n;
}

static void le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xFFFF);
	le16(p + 2, v >> 16);
}
static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

int dc_sb16_save_wav(void *sb, const char *path)
{
	struct sb *s = sb;
	uint64_t len;
	struct dc_sb16_format f;
	const uint8_t *data = dc_sb16_sink(s, &len, &f);
	if (!s->played_any)
		return DC_ERR_STATE;
	if (len > UINT32_MAX - 36)
		return DC_ERR_RANGE;
	uint8_t h[44];
	uint32_t align = (uint32_t)f.channels * f.bits / 8;
	memcpy(h, "RIFF", 4);
	le32(h + 4, (uint32_t)(36 + len));
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 16);
	le16(h + 20, 1); /* PCM */
	le16(h + 22, f.channels);
	le32(h + 24, f.rate);
	le32(h + 28, f.rate * align);
	le16(h + 32, align);
	le16(h + 34, f.bits);
	memcpy(h + 36, "data", 4);
	le32(h + 40, (uint32_t)len);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return DC_ERR_IO;
	bool ok = fwrite(h, 1, sizeof(h), fp) == sizeof(h) && fwrite(data, 1, len, fp) == len;
	ok = fclose(fp) == 0 && ok;
	return ok ? DC_OK : DC_ERR_IO;
}

int dc_sb16_load_wav(void *sb, const char *path, struct dc_sb16_format *fmt)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return DC_ERR_IO;
	uint8_t *buf = NULL;
	long sz = -1;
	if (fseek(fp, 0, SEEK_END) == 0)
		sz = ftell(fp);
	if (sz >= 0 && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)sz + 1)) &&
	    fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
		free(buf);
		buf = NULL;
		sz = -1;
	}
	fclose(fp);
	if (sz < 0 || !buf) {
		free(buf);
		return sz < 0 ? DC_ERR_IO : DC_ERR_NOMEM;
	}
	int rc = DC_ERR_PARSE;
	struct dc_sb16_format f = {0, 0, 0, false};
	bool have_fmt = false;
	size_t n = (size_t)sz;
	if (n >= 12 && !memcmp(buf, "RIFF", 4) && !memcmp(buf + 8, "WAVE", 4)) {
		size_t off = 12;
		while (off + 8 <= n) {
			uint32_t clen = rd32(buf + off + 4);
			const uint8_t *c = buf + off + 8;
			if (clen > n - off - 8)
				break;
			if (!memcmp(buf + off, "fmt ", 4) && clen >= 16) {
				f.channels = (uint16_t)rd16(c + 2);
				f.rate = rd32(c + 4);
				f.bits = (uint16_t)rd16(c + 14);
				f.is_signed = f.bits == 16;
				have_fmt = rd16(c) == 1 && (f.bits == 8 || f.bits == 16) &&
				           (f.channels == 1 || f.channels == 2);
			} else if (!memcmp(buf + off, "data", 4) && have_fmt) {
				rc = dc_sb16_set_source(sb, c, clen);
				break;
			}
			off += 8 + clen + (clen & 1);
		}
	}
	free(buf);
	if (rc == DC_OK && fmt)
		*fmt = f;
	return rc;
}

void dc_sb16_state(void *sb, struct dc_sb16_state *out)
{
	struct sb *s = sb;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < DC_SB16_STREAM_COUNT; i++) {
		struct stream *t = &s->st[i];
		dc_host_dma_sync(s->h, i);
		struct dc_sb16_stream_state *o = &out->s[i];
		o->run = t->run;
		o->dir = t->dir;
		o->autoinit = t->autoinit;
		o->exiting = t->exiting;
		o->dreq = t->dreq_out;
		o->fmt = t->fmt;
		o->block = t->block;
		o->bytes = t->done;
		o->blocks = t->blocks;
		o->position = t->run == DC_SB16_IDLE ? t->done : position(t, dc_host_now(s->h));
	}
	out->irq_status = s->ist;
	out->irq = s->irq;
	out->dma8 = s->st[DC_SB16_STREAM_8].ch;
	out->dma16 = s->st[DC_SB16_STREAM_16].ch;
	out->speaker = s->speaker;
	out->rate_out = s->rate_out;
	out->rate_in = s->rate_in;
}

const struct dc_sb16_stats *dc_sb16_stats(void *sb)
{
	return &((struct sb *)sb)->stats;
}

/* ---- dc_device_ops -------------------------------------------------------------------------- */

static void sb_reset(void *opaque)
{
	struct sb *s = opaque;
	dsp_reset(s);
	s->in_reset = false;
	s->fault_armed = false;
	s->last_read = 0;
	s->mix_index = 0;
	mixer_defaults(s);
	for (unsigned i = 0; i < 4; i++)
		if (irq_lines[i] == s->cfg_irq)
			select_irq(s, (uint8_t)(1u << i));
	move_channel(s, &s->st[DC_SB16_STREAM_8], s->cfg_dma8);
	move_channel(s, &s->st[DC_SB16_STREAM_16], s->cfg_dma16);
}

static void sb_destroy(void *opaque)
{
	struct sb *s = opaque;
	if (!s)
		return;
	dsp_reset(s);
	free(s->sink);
	free(s->src);
	free(s);
}

static uint64_t sb_store_size(void *opaque)
{
	return ((struct sb *)opaque)->sink_len;
}

static int sb_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	uint64_t n;
	const uint8_t *p = dc_sb16_sink(opaque, &n, NULL);
	if (off > n || len > n - off)
		return DC_ERR_RANGE;
	if (len)
		memcpy(buf, p + off, len);
	return DC_OK;
}

/* Writes the capture source (growing it, zero-filled).  Bytes the ADC has consumed are dropped
 * once they are a megabyte, so a source fed as capture goes on holds only what is ahead of
 * the ADC; writing below what was dropped is DC_ERR_RANGE. */
#define SRC_KEEP (UINT64_C(1) << 20)
static int sb_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct sb *s = opaque;
	if (off > UINT64_MAX - len)
		return DC_ERR_RANGE;
	uint64_t drop = s->src_pos - s->src_base;
	if (drop >= SRC_KEEP && off >= s->src_pos) {
		memmove(s->src, s->src + drop, s->src_len - s->src_pos);
		s->src_base = s->src_pos;
	}
	if (off < s->src_base)
		return DC_ERR_RANGE;
	if (off + len > s->src_len) {
		uint8_t *p = realloc(s->src, off + len - s->src_base);
		if (!p)
			return DC_ERR_NOMEM;
		memset(p + (s->src_len - s->src_base), 0, off + len - s->src_len);
		s->src = p;
		s->src_len = off + len;
	}
	if (len)
		memcpy(s->src + (off - s->src_base), buf, len);
	return DC_OK;
}

static void sb_inject_fault(void *opaque, enum dc_fault f)
{
	if (f == DC_FAULT_TRANSFER_ERROR)
		((struct sb *)opaque)->fault_armed = true;
}

static int sb_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque);

static const uint8_t *sb_stream_sink(void *opaque, uint64_t *len)
{
	return dc_sb16_sink(opaque, len, NULL);
}

static bool sb_stream_idle(void *opaque)
{
	struct dc_sb16_state ss;
	dc_sb16_state(opaque, &ss);
	return ss.s[DC_SB16_STREAM_8].run == DC_SB16_IDLE &&
	       ss.s[DC_SB16_STREAM_16].run == DC_SB16_IDLE;
}

static const struct dc_device_ops sb_ops = {
    .create = sb_create,
    .port_read = port_read,
    .port_write = port_write,
    .dack_from_device = dack_from_device,
    .dack_to_device = dack_to_device,
    .tc = on_tc,
    .pending = pending,
    .stream_sink = sb_stream_sink,
    .stream_consume = dc_sb16_sink_consume,
    .stream_idle = sb_stream_idle,
    .reset = sb_reset,
    .destroy = sb_destroy,
    .store_size = sb_store_size,
    .store_read = sb_store_read,
    .store_write = sb_store_write,
    .inject_fault = sb_inject_fault,
};

void dc_sb16_cfg_default(struct dc_sb16_cfg *cfg)
{
	*cfg = (struct dc_sb16_cfg){
	    .dma = NULL,
	    .port_base = 0x220,
	    .irq = 5,
	    .dma8 = 1,
	    .dma16 = 5,
	    .tick_ns = DC_SB16_TICK_NS,
	};
}

static int sb_create(struct dc_host *h, const struct dc_device_cfg *dcfg, void **opaque)
{
	const struct dc_device_res *r = dc_host_res(h);
	struct dc_sb16_cfg c;
	if (dcfg->priv)
		c = *(const struct dc_sb16_cfg *)dcfg->priv;
	else
		dc_sb16_cfg_default(&c);
	c.irq = r->irq;
	c.dma8 = (unsigned)r->dma_channel;
	c.dma16 = (unsigned)r->dma_channel2;
	bool irq_ok = c.irq < 0 || c.irq == 5 || c.irq == 7 || c.irq == 9 || c.irq == 10;
	bool dma_ok = r->has_dma2 && (c.dma8 == 0 || c.dma8 == 1 || c.dma8 == 3) && c.dma16 >= 5 &&
	              c.dma16 <= 7;
	if (!irq_ok || !dma_ok || !c.tick_ns) {
		dc_host_log(h, "IRQ %d (5, 7, 9, 10), DMA %u (0, 1, 3) and %u (5-7)", c.irq, c.dma8,
		            c.dma16);
		return DC_ERR_INVAL;
	}
	struct sb *s = calloc(1, sizeof(*s));
	if (!s)
		return DC_ERR_NOMEM;
	s->h = h;
	s->irq = c.irq < 0 ? -1 : c.irq;
	s->cfg_irq = s->irq;
	s->cfg_dma8 = c.dma8;
	s->cfg_dma16 = c.dma16;
	s->tick_ns = c.tick_ns;
	const struct dc_platform *p = dc_host_platform(h);
	s->unit = (uint64_t)p->sysdma_chunk * p->sysdma_depth;
	s->sink_fmt = (struct dc_sb16_format){DEFAULT_RATE, 1, 8, false};
	s->irq_ev = dc_timer_new(h, "sb16-irq", irq_event, s);
	bool ok = s->irq_ev;
	for (unsigned i = 0; i < DC_SB16_STREAM_COUNT; i++) {
		struct stream *t = &s->st[i];
		t->sb = s;
		t->no = (enum dc_sb16_stream)i;
		t->ch = i == DC_SB16_STREAM_8 ? c.dma8 : c.dma16;
		t->block = 1;
		t->tick = dc_timer_new(h, i ? "sb16-tick16" : "sb16-tick8", tick_event, t);
		ok = ok && t->tick;
	}
	if (!ok) {
		free(s);
		return DC_ERR_NOMEM;
	}
	/* As a PC BIOS (or the boot-time init of a PnP BIOS) leaves the card: the DSP reset and
	 * out of reset (no 0xAA pending: the reset's answer was read), the speaker off, the mixer
	 * at its power-on values. */
	dsp_reset(s);
	mixer_defaults(s);
	*opaque = s;
	return DC_OK;
}

/* A second card: 0x240 on channels 3 and 6. */
static const struct dc_device_res sb16_second = {
    .port_base = 0x240,
    .port_len = DC_SB16_PORTS,
    .irq = 5,
    .irq_mode = DC_IRQ_LEVEL,
    .dma_channel = 3,
    .has_dma2 = true,
    .dma_channel2 = 6,
};

const struct dc_device_model dc_sb16_model = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "sb16",
    .desc = "Sound Blaster 16 DSP 4.05: 8/16-bit auto-initialize DMA playback and capture",
    .ops = &sb_ops,
    .res =
        {
            .port_base = 0x220,
            .port_len = DC_SB16_PORTS,
            .irq = 5,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = 1,
            .has_dma2 = true,
            .dma_channel2 = 5,
        },
    .more = &sb16_second,
    .n_more = 1,
    .max_instances = 2,
    .store_kind = DC_STORE_STREAM,
    .store_unit = 1,
    .dev_class = DC_CLASS_AUDIO,
    .identifier = "SB16",
};

int dc_sb16_create(struct dc_machine *m, const struct dc_sb16_cfg *cfg, struct dc_device *dev)
{
	struct dc_sb16_cfg c;
	if (cfg)
		c = *cfg;
	else
		dc_sb16_cfg_default(&c);
	if (c.irq == 2)
		c.irq = 9;
	struct dc_device_res r = dc_sb16_model.res;
	r.port_base = c.port_base;
	r.irq = c.irq < 0 ? -1 : c.irq;
	r.irq_mode = c.irq < 0 ? DC_IRQ_NONE : DC_IRQ_LEVEL;
	r.dma_channel = (int)c.dma8;
	r.dma_channel2 = (int)c.dma16;
	const struct dc_device_cfg dc = {.priv = &c};
	return dc_device_attach(m, NULL, &dc_sb16_model, &r, &dc, dev, NULL, 0);
}
