/* sb16: the DSP driven as a DOS or WDM audio driver drives it — reset handshake, commands
 * through the write port with its status bit, the 8237 programmed for an auto-initialize
 * buffer through the HAL helpers, an interrupt per half buffer acknowledged at 0x22E/0x22F —
 * and the bytes checked: what was played lands in the sink byte for byte, what the source
 * holds lands in memory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "devices/sb16.h"
#include "hw/i8237.h"
#include "hw/machine.h"
#include "hw/rng.h"

#define BASE 0x220u
#define MS UINT64_C(1000000)

struct rig {
	struct dc_machine *m;
	struct dc_i8237 *d;
	struct dc_device dev;
	void *sb;
	uint8_t *buf; /* DMA buffer: 4 pages, cached */
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

static bool dsp_write(struct rig *r, uint8_t v)
{
	if (inb(r, BASE + DC_SB16_REG_WRITE) & 0x80)
		return false;
	outb(r, BASE + DC_SB16_REG_WRITE, v);
	return true;
}

static bool dsp_read(struct rig *r, uint8_t *v)
{
	if (!(inb(r, BASE + DC_SB16_REG_RSTATUS) & 0x80))
		return false;
	*v = inb(r, BASE + DC_SB16_REG_READ);
	return true;
}

static uint8_t mixer(struct rig *r, uint8_t idx)
{
	outb(r, BASE + DC_SB16_REG_MIXER_ADDR, idx);
	return inb(r, BASE + DC_SB16_REG_MIXER_DATA);
}

static bool dsp_reset(struct rig *r)
{
	uint8_t v = 0;
	outb(r, BASE + DC_SB16_REG_RESET, 1);
	outb(r, BASE + DC_SB16_REG_RESET, 0);
	return dsp_read(r, &v) && v == DC_SB16_READY;
}

/* An ISA-reachable, contiguous, cached buffer inside one 64 KiB DMA page. */
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

static bool rig_up_p(struct rig *r, const struct dc_platform *p)
{
	memset(r, 0, sizeof(*r));
	if (dc_machine_create(p, &r->m) < 0 || dc_i8237_create(r->m, NULL, &r->d) < 0)
		return false;
	if (dc_sb16_create(r->m, NULL, &r->dev) < 0)
		return false;
	r->sb = r->dev.opaque;
	r->buf = dma_buf(r, 4, &r->pa);
	return r->buf && dsp_reset(r);
}

static bool rig_up(struct rig *r, const char *prof)
{
	struct dc_platform p;
	return dc_platform_builtin(prof, &p) == DC_OK && rig_up_p(r, &p);
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
	while (!dc_irq_asserted(&m->irq, 5)) {
		uint64_t nx = dc_clock_next(&m->clock);
		if (nx == UINT64_MAX || nx > end)
			return false;
		dc_clock_step(&m->clock);
	}
	return true;
}

/* The ISR: which engine interrupted (mixer 0x82), acknowledged at its port. */
static uint8_t isr(struct rig *r)
{
	uint8_t st = mixer(r, DC_SB16_MIX_STATUS);
	if (st & DC_SB16_IST_8)
		inb(r, BASE + DC_SB16_REG_RSTATUS);
	if (st & DC_SB16_IST_16)
		inb(r, BASE + DC_SB16_REG_ACK16);
	return st;
}

static bool set_rate(struct rig *r, uint8_t cmd, uint32_t rate)
{
	return dsp_write(r, cmd) && dsp_write(r, (uint8_t)(rate >> 8)) &&
	       dsp_write(r, (uint8_t)rate);
}

/* 0xBx / 0xCx: command, mode, length - 1 (samples: bytes or words). */
static bool dsp_start(struct rig *r, uint8_t cmd, uint8_t mode, uint32_t samples)
{
	return dsp_write(r, cmd) && dsp_write(r, mode) && dsp_write(r, (uint8_t)(samples - 1)) &&
	       dsp_write(r, (uint8_t)((samples - 1) >> 8));
}

/* A known waveform: a triangle per channel, different periods, little-endian 16-bit or
 * unsigned 8-bit. */
static void waveform(uint8_t *out, uint64_t bytes, unsigned bits, unsigned salt)
{
	for (uint64_t i = 0; i < bytes; i++) {
		uint64_t smp = bits == 16 ? i / 2 : i;
		unsigned ph = (unsigned)((smp * (37 + salt)) % 512);
		unsigned tri = ph < 256 ? ph : 511 - ph;
		uint16_t v = (uint16_t)((tri << 8) ^ (unsigned)(smp * 2654435761u >> 24));
		out[i] = bits == 16 ? (uint8_t)(i & 1 ? v >> 8 : v) : (uint8_t)tri;
	}
}

struct session {
	bool sixteen, capture;
	uint8_t mode;
	uint32_t rate, half; /* bytes per block = half the DMA buffer */
	unsigned blocks;
};

/* The classic double-buffer driver: an auto-initialize channel over 2 blocks, an auto-
 * initialize DSP command with block = half of it; at each interrupt the half just played is
 * refilled (playback, cleaned for the device) or copied out (capture, invalidated first);
 * exit auto-initialize before the last block.  `wave` holds blocks * half bytes: what to play,
 * or where capture goes.  Interrupt times in irq_t. */
static bool run_session(struct rig *r, const struct session *s, uint8_t *wave, uint64_t *irq_t)
{
	unsigned ch = s->sixteen ? 5 : 1;
	uint32_t B = 2 * s->half;
	uint8_t mode = DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
	               (s->capture ? DC_I8237_MODE_WRITE : DC_I8237_MODE_READ);
	if (!s->capture) {
		dc_cpu_write(r->m, r->buf, wave, B);
		dc_cpu_cache_range(r->m, r->buf, B, DC_CACHE_CLEAN, false);
	} else {
		dc_cpu_cache_range(r->m, r->buf, B, DC_CACHE_CLEAN_INVAL, false);
	}
	if (dc_i8237_hal_program(r->d, ch, mode, r->pa, B) < 0)
		return false;
	uint8_t cmd =
	    (uint8_t)((s->sixteen ? DC_SB16_CMD_16_BASE : DC_SB16_CMD_8_BASE) | DC_SB16_CMD_AUTO |
	              DC_SB16_CMD_FIFO | (s->capture ? DC_SB16_CMD_IN : 0));
	if (!set_rate(r, s->capture ? DC_SB16_CMD_RATE_IN : DC_SB16_CMD_RATE_OUT, s->rate) ||
	    !dsp_start(r, cmd, s->mode, s->sixteen ? s->half / 2 : s->half))
		return false;
	for (unsigned k = 0; k < s->blocks; k++) {
		if (!wait_irq(r, 5000 * MS))
			return false;
		irq_t[k] = r->m->clock.now;
		uint8_t st = isr(r);
		if (st != (s->sixteen ? DC_SB16_IST_16 : DC_SB16_IST_8))
			return false;
		uint8_t *half = r->buf + (k % 2) * s->half;
		if (s->capture) {
			dc_cpu_cache_range(r->m, half, s->half, DC_CACHE_INVAL, false);
			dc_cpu_read(r->m, half, wave + (uint64_t)k * s->half, s->half);
		} else if (k + 2 < s->blocks) {
			dc_cpu_write(r->m, half, wave + (uint64_t)(k + 2) * s->half, s->half);
			dc_cpu_cache_range(r->m, half, s->half, DC_CACHE_CLEAN, false);
		}
		if (k + 2 == s->blocks &&
		    !dsp_write(r, s->sixteen ? DC_SB16_CMD_EXIT_AUTO_16 : DC_SB16_CMD_EXIT_AUTO_8))
			return false;
	}
	dc_i8237_hal_flush(r->d, ch);
	/* Stopped: no more interrupts. */
	return !wait_irq(r, 100 * MS);
}

DC_TEST(sb16_reset_version_identify_and_mixer_setup)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	uint8_t v = 0, w = 0;
	CHECK(!dsp_read(&r, &v)); /* the 0xAA was consumed */
	CHECK(dsp_write(&r, DC_SB16_CMD_VERSION));
	CHECK(dsp_read(&r, &v));
	CHECK(dsp_read(&r, &w));
	CHECK_EQ(v, 4);
	CHECK_EQ(w, 5);
	CHECK(dsp_write(&r, DC_SB16_CMD_IDENTIFY) && dsp_write(&r, 0x5A));
	CHECK(dsp_read(&r, &v));
	CHECK_EQ(v, 0xA5);
	CHECK(dsp_write(&r, DC_SB16_CMD_SPEAKER_ON) && dsp_write(&r, DC_SB16_CMD_SPEAKER_STATUS));
	CHECK(dsp_read(&r, &v));
	CHECK_EQ(v, 0xFF);
	/* Held in reset, the DSP takes no bytes (write status busy). */
	outb(&r, BASE + DC_SB16_REG_RESET, 1);
	CHECK(inb(&r, BASE + DC_SB16_REG_WRITE) & 0x80);
	outb(&r, BASE + DC_SB16_REG_RESET, 0);
	CHECK(dsp_read(&r, &v));
	CHECK_EQ(v, 0xAA);
	/* The mixer: IRQ 5, DMA 1 and 5; the status register follows the interrupts. */
	CHECK_EQ(mixer(&r, DC_SB16_MIX_IRQ), 0x02);
	CHECK_EQ(mixer(&r, DC_SB16_MIX_DMA), 0x22);
	CHECK_EQ(mixer(&r, DC_SB16_MIX_STATUS), 0);
	CHECK(dsp_write(&r, DC_SB16_CMD_IRQ_8));
	CHECK(!dc_irq_asserted(&r.m->irq, 5)); /* raised in an event, not inside the access */
	CHECK(wait_irq(&r, MS));
	CHECK_EQ(mixer(&r, DC_SB16_MIX_STATUS), DC_SB16_IST_8);
	CHECK(dsp_write(&r, DC_SB16_CMD_IRQ_16));
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1);
	CHECK_EQ(mixer(&r, DC_SB16_MIX_STATUS), DC_SB16_IST_8 | DC_SB16_IST_16);
	inb(&r, BASE + DC_SB16_REG_RSTATUS);
	CHECK_EQ(mixer(&r, DC_SB16_MIX_STATUS), DC_SB16_IST_16);
	CHECK(dc_irq_asserted(&r.m->irq, 5));
	inb(&r, BASE + DC_SB16_REG_ACK16);
	CHECK(!dc_irq_asserted(&r.m->irq, 5));
	/* Jumperless setup: IRQ 7, DMA 3 and 6. */
	outb(&r, BASE + DC_SB16_REG_MIXER_ADDR, DC_SB16_MIX_IRQ);
	outb(&r, BASE + DC_SB16_REG_MIXER_DATA, 0x04);
	outb(&r, BASE + DC_SB16_REG_MIXER_ADDR, DC_SB16_MIX_DMA);
	outb(&r, BASE + DC_SB16_REG_MIXER_DATA, 0x48);
	struct dc_sb16_state s;
	dc_sb16_state(r.sb, &s);
	CHECK_EQ(s.irq, 7);
	CHECK_EQ(s.dma8, 3);
	CHECK_EQ(s.dma16, 6);
	CHECK_EQ(mixer(&r, DC_SB16_MIX_DMA), 0x48);
	CHECK(dsp_write(&r, DC_SB16_CMD_IRQ_8));
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 1);
	CHECK(dc_irq_asserted(&r.m->irq, 7));
	inb(&r, BASE + DC_SB16_REG_RSTATUS);
	CHECK(!dc_irq_asserted(&r.m->irq, 7));
	/* Other mixer registers are storage; the FM ports answer nothing. */
	outb(&r, BASE + DC_SB16_REG_MIXER_ADDR, 0x30);
	outb(&r, BASE + DC_SB16_REG_MIXER_DATA, 0xC8);
	CHECK_EQ(mixer(&r, 0x30), 0xC8);
	CHECK_EQ(inb(&r, BASE + 0x8), 0xFF);
	/* The RESET pin puts the configuration back. */
	r.dev.ops->reset(r.dev.opaque);
	dc_sb16_state(r.sb, &s);
	CHECK_EQ(s.irq, 5);
	CHECK_EQ(s.dma8, 1);
	CHECK_EQ(s.dma16, 5);
	CHECK(!strcmp(dc_sb16_stream_name(DC_SB16_STREAM_16), "16-bit"));
	CHECK(!strcmp(dc_sb16_run_name(DC_SB16_PAUSED), "paused"));
	CHECK(!strcmp(dc_sb16_reg_name(DC_SB16_REG_ACK16), "ack16"));
	CHECK(!strcmp(r.dev.ops->name, "sb16"));
	rig_down(&r);
}

DC_TEST(sb16_autoinit_buffer_wraps_with_an_interrupt_per_block)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	/* 8-bit mono at 22050 Hz, 4 KiB buffer, 2 KiB blocks, 6 blocks. */
	struct session s = {false, false, 0x00, 22050, 2048, 6};
	static uint8_t wave[6 * 2048];
	waveform(wave, sizeof(wave), 8, 1);
	uint64_t t0 = r.m->clock.now, irq_t[6];
	CHECK(run_session(&r, &s, wave, irq_t));
	/* Interrupt k at the moment block k's last sample is due: (k+1) * 2048 / 22050 s,
	 * plus the DMA's own delay (well under a tick) — except the last, after the exit: a
	 * finite transfer's last controller unit (64 bytes here, 2.9 ms) is taken early. */
	for (unsigned k = 0; k < 6; k++) {
		uint64_t due = t0 + ((uint64_t)(k + 1) * 2048 * 1000000000u + 22049) / 22050;
		uint64_t early = k == 5 ? (64 * UINT64_C(1000000000) + 22049) / 22050 + MS : 0;
		dct_log("  irq %u at %" PRIu64 " ns (block end %" PRIu64 ")\n", k, irq_t[k], due);
		CHECK(irq_t[k] + early >= due && irq_t[k] < due + MS);
	}
	/* The data went on from the buffer's start after each wrap: the sink is the waveform. */
	uint64_t len;
	struct dc_sb16_format f;
	const uint8_t *sink = dc_sb16_sink(r.sb, &len, &f);
	CHECK_EQ(len, sizeof(wave));
	CHECK(!memcmp(sink, wave, sizeof(wave)));
	CHECK_EQ(f.rate, 22050);
	CHECK_EQ(f.bits, 8);
	CHECK_EQ(f.channels, 1);
	struct dc_sb16_state st;
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].run, DC_SB16_IDLE);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].blocks, 6);
	CHECK_EQ(dc_sb16_stats(r.sb)->irqs[DC_SB16_STREAM_8], 6);
	CHECK_EQ(dc_sb16_stats(r.sb)->underruns, 0);
	/* The store is the playback stream. */
	CHECK_EQ(r.dev.ops->store_size(r.dev.opaque), sizeof(wave));
	uint8_t b[16];
	CHECK_EQ(r.dev.ops->store_read(r.dev.opaque, 5000, b, 16), DC_OK);
	CHECK(!memcmp(b, wave + 5000, 16));
	rig_down(&r);
}

/* ReadDmaCounter mid-transfer: the bytes the channel has taken from memory are the bytes the
 * DAC's clock has reached by the last tick, plus at most the controller's read-ahead. */
DC_TEST(sb16_dma_counter_matches_the_bytes_moved)
{
	struct dc_platform p;
	CHECK_EQ(dc_platform_builtin("noncoherent", &p), DC_OK);
	for (unsigned variant = 0; variant < 2; variant++) {
		if (variant) { /* a controller with a small buffer reads ahead by at most 8 bytes */
			p.sysdma_chunk = 8;
			p.sysdma_depth = 1;
			p.sysdma_wait_full = false;
		}
		uint32_t lead = p.sysdma_chunk * p.sysdma_depth;
		struct rig r;
		CHECK(rig_up_p(&r, &p));
		const uint32_t B = 4096, rate = 8000;
		CHECK_EQ(dc_i8237_hal_program(r.d, 1,
		                              DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
		                                  DC_I8237_MODE_READ,
		                              r.pa, B),
		         DC_OK);
		CHECK(set_rate(&r, DC_SB16_CMD_RATE_OUT, rate));
		uint64_t t0 = r.m->clock.now;
		CHECK(dsp_start(&r, 0xC6, 0x00, B / 2));
		struct dc_rng g;
		dc_rng_seed(&g, 99 + variant);
		uint64_t t = t0;
		for (int i = 0; i < 40; i++) {
			t += dc_rng_below(&g, 25 * MS);
			dc_clock_run_until(&r.m->clock, t);
			if (dc_irq_asserted(&r.m->irq, 5))
				isr(&r);
			uint32_t left = dc_i8237_hal_read_counter(r.d, 1);
			struct dc_sb16_state st;
			dc_sb16_state(r.sb, &st);
			uint64_t bytes = st.s[DC_SB16_STREAM_8].bytes;
			/* The last tick: t0 + whole milliseconds (block ends are whole too here).
			 */
			uint64_t tick = t0 + (t - t0) / MS * MS;
			uint64_t want = (tick - t0) * rate / 1000000000u;
			uint64_t taken = (B - left) % B; /* position inside the buffer */
			dct_log("  %" PRIu64 " us: counter %u left, DSP %" PRIu64
			        " bytes, clock %" PRIu64 "\n",
			        (t - t0) / 1000, left, bytes, st.s[DC_SB16_STREAM_8].position);
			CHECK_EQ(bytes, want);
			CHECK_EQ(st.s[DC_SB16_STREAM_8].position, (t - t0) * rate / 1000000000u);
			/* Exactly: what the DSP took plus what the controller holds for it. */
			struct dc_i8237_chan_state cs;
			dc_i8237_state(r.d, 1, &cs);
			CHECK_EQ(taken, (bytes + cs.residue) % B);
			CHECK_MSG((taken + B - bytes % B) % B <= lead,
			          "read-ahead %" PRIu64 " > %u", (taken + B - bytes % B) % B, lead);
		}
		rig_down(&r);
	}
}

/* Playback of a known waveform, 8- and 16-bit, mono and stereo, on every built-in platform;
 * the WAV file written from the sink holds the same bytes. */
DC_TEST(sb16_playback_lands_in_the_sink_byte_exact)
{
	static const struct session sessions[] = {
	    {false, false, 0x00, 11025, 1024, 5},
	    {false, false, DC_SB16_MODE_STEREO, 44100, 4096, 4},
	    {true, false, DC_SB16_MODE_SIGNED, 22050, 2048, 5},
	    {true, false, DC_SB16_MODE_SIGNED | DC_SB16_MODE_STEREO, 44100, 4096, 6},
	};
	const char *const *names = dc_platform_builtin_names();
	for (unsigned pi = 0; names[pi]; pi++) {
		for (unsigned si = 0; si < DC_ARRAY_SIZE(sessions); si++) {
			const struct session *s = &sessions[si];
			struct rig r;
			CHECK(rig_up(&r, names[pi]));
			uint64_t n = (uint64_t)s->half * s->blocks, irq_t[8];
			uint8_t *wave = malloc(n);
			CHECK(wave);
			waveform(wave, n, s->sixteen ? 16 : 8, si);
			bool ok = run_session(&r, s, wave, irq_t);
			uint64_t len;
			struct dc_sb16_format f;
			const uint8_t *sink = dc_sb16_sink(r.sb, &len, &f);
			ok = ok && len == n && !memcmp(sink, wave, n);
			ok = ok && f.rate == s->rate && f.bits == (s->sixteen ? 16 : 8) &&
			     f.channels == (s->mode & DC_SB16_MODE_STEREO ? 2 : 1);
			/* The WAV file: a 44-byte PCM header, then the bytes. */
			char path[] = "/tmp/dmacoh-sb16-XXXXXX";
			int fd = mkstemp(path);
			ok = ok && fd >= 0 && dc_sb16_save_wav(r.sb, path) == DC_OK;
			uint8_t *file = malloc(n + 44);
			FILE *fp = fd >= 0 ? fopen(path, "rb") : NULL;
			ok = ok && file && fp && fread(file, 1, n + 44, fp) == n + 44;
			ok = ok && !memcmp(file, "RIFF", 4) && !memcmp(file + 8, "WAVEfmt ", 8) &&
			     file[22] == f.channels && file[34] == f.bits &&
			     (uint32_t)(file[24] | file[25] << 8 | file[26] << 16) == s->rate &&
			     !memcmp(file + 44, wave, n);
			if (fp)
				fclose(fp);
			if (fd >= 0) {
				close(fd);
				unlink(path);
			}
			free(file);
			free(wave);
			rig_down(&r);
			CHECK_MSG(ok, "%s, session %u", names[pi], si);
		}
	}
}

static bool write_wav(const char *path, const uint8_t *data, uint32_t n, uint32_t rate, uint16_t ch,
                      uint16_t bits)
{
	uint8_t h[44] = "RIFF....WAVEfmt ";
	uint32_t align = ch * bits / 8u, v[] = {36 + n, 16, rate, rate * align, n};
	memcpy(h + 4, &v[0], 4);
	memcpy(h + 16, &v[1], 4);
	h[20] = 1;
	h[21] = 0;
	h[22] = (uint8_t)ch;
	h[23] = 0;
	memcpy(h + 24, &v[2], 4);
	memcpy(h + 28, &v[3], 4);
	h[32] = (uint8_t)align;
	h[33] = 0;
	h[34] = (uint8_t)bits;
	h[35] = 0;
	memcpy(h + 36, "data", 4);
	memcpy(h + 40, &v[4], 4);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return false;
	bool ok = fwrite(h, 1, 44, fp) == 44 && fwrite(data, 1, n, fp) == n;
	return fclose(fp) == 0 && ok;
}

DC_TEST(sb16_capture_from_a_wav_source_lands_in_memory)
{
	const char *const *names = dc_platform_builtin_names();
	for (unsigned pi = 0; names[pi]; pi++) {
		struct rig r;
		CHECK(rig_up(&r, names[pi]));
		/* 16-bit mono at 22050 Hz from a WAV file, 1 KiB blocks. */
		enum { N = 6 * 1024 };
		static uint8_t src[N], got[N];
		waveform(src, N, 16, 9);
		char path[] = "/tmp/dmacoh-sb16-XXXXXX";
		int fd = mkstemp(path);
		CHECK(fd >= 0);
		close(fd);
		CHECK(write_wav(path, src, N, 22050, 1, 16));
		struct dc_sb16_format f;
		CHECK_EQ(dc_sb16_load_wav(r.sb, path, &f), DC_OK);
		unlink(path);
		CHECK_EQ(f.rate, 22050);
		CHECK_EQ(f.bits, 16);
		struct session s = {true, true, DC_SB16_MODE_SIGNED, 22050, 1024, 6};
		uint64_t irq_t[6];
		CHECK(run_session(&r, &s, got, irq_t));
		CHECK_MSG(!memcmp(got, src, N), "%s", names[pi]);
		CHECK_EQ(dc_sb16_stats(r.sb)->captured, N);
		CHECK_EQ(dc_sb16_stats(r.sb)->lost, 0);
		/* 8-bit capture, legacy 0x2C with the 0x48 block size; the source is the store.
		 * Past its end the ADC hears silence (0x80). */
		uint8_t src8[1536];
		for (unsigned i = 0; i < sizeof(src8); i++)
			src8[i] = (uint8_t)(i * 3 + 1);
		CHECK_EQ(r.dev.ops->store_write(r.dev.opaque, 0, src8, sizeof(src8)), DC_OK);
		dc_sb16_set_source(r.sb, src8, sizeof(src8));
		CHECK_EQ(dc_i8237_hal_program(r.d, 1,
		                              DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
		                                  DC_I8237_MODE_WRITE,
		                              r.pa, 2048),
		         DC_OK);
		dc_cpu_cache_range(r.m, r.buf, 2048, DC_CACHE_CLEAN_INVAL, false);
		CHECK(dsp_write(&r, DC_SB16_CMD_TIME_CONSTANT) &&
		      dsp_write(&r, 256 - 125)); /* 8 kHz */
		CHECK(dsp_write(&r, DC_SB16_CMD_BLOCK_SIZE) && dsp_write(&r, 0xFF) &&
		      dsp_write(&r, 0x03));
		CHECK(dsp_write(&r, DC_SB16_CMD_8_AUTO_IN));
		uint8_t cap[2048];
		for (unsigned k = 0; k < 2; k++) {
			CHECK(wait_irq(&r, 1000 * MS));
			CHECK_EQ(isr(&r), DC_SB16_IST_8);
			dc_cpu_cache_range(r.m, r.buf + k * 1024, 1024, DC_CACHE_INVAL, false);
			dc_cpu_read(r.m, r.buf + k * 1024, cap + k * 1024, 1024);
		}
		CHECK(dsp_write(&r, DC_SB16_CMD_EXIT_AUTO_8));
		CHECK(!memcmp(cap, src8, sizeof(src8)));
		for (unsigned i = sizeof(src8); i < 2048; i++)
			CHECK_EQ(cap[i], 0x80);
		CHECK(wait_irq(&r, 1000 * MS)); /* the block it exits after */
		isr(&r);
		CHECK(!wait_irq(&r, 500 * MS));
		dc_i8237_hal_flush(r.d, 1);
		rig_down(&r);
	}
}

DC_TEST(sb16_single_cycle_pause_continue_and_a_stalled_channel)
{
	struct rig r;
	CHECK(rig_up(&r, "pc"));
	/* Single-cycle 8-bit (0x14, 4 kHz by time constant): one block, one interrupt, idle.  The
	 * DSP takes the last controller unit (64 bytes) as soon as the clock is within it, so the
	 * interrupt comes at 16 ms, not 32. */
	dc_cpu_fill(r.m, r.buf, 0x33, 4096);
	CHECK_EQ(dc_i8237_hal_program(r.d, 1, DC_I8237_MODE_SINGLE | DC_I8237_MODE_READ, r.pa, 128),
	         DC_OK);
	CHECK(dsp_write(&r, DC_SB16_CMD_TIME_CONSTANT) && dsp_write(&r, 256 - 250));
	uint64_t t0 = r.m->clock.now;
	CHECK(dsp_write(&r, DC_SB16_CMD_8_SINGLE_OUT) && dsp_write(&r, 127) && dsp_write(&r, 0));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK(r.m->clock.now - t0 >= 16 * MS && r.m->clock.now - t0 < 17 * MS);
	CHECK_EQ(isr(&r), DC_SB16_IST_8);
	CHECK(!wait_irq(&r, 200 * MS));
	struct dc_sb16_state st;
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].run, DC_SB16_IDLE);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].bytes, 128);
	CHECK(dc_i8237_hal_flush(r.d, 1));
	/* 100 bytes: the controller hands the DSP whole 64-byte units only, so the last 36 wait
	 * in it — no interrupt — until a drain (FlushAdapterBuffers) pushes them. */
	CHECK_EQ(dc_i8237_hal_program(r.d, 1, DC_I8237_MODE_SINGLE | DC_I8237_MODE_READ, r.pa, 100),
	         DC_OK);
	CHECK(dsp_write(&r, DC_SB16_CMD_8_SINGLE_OUT) && dsp_write(&r, 99) && dsp_write(&r, 0));
	CHECK(!wait_irq(&r, 500 * MS));
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].bytes, 64);
	CHECK(dc_i8237_hal_flush(r.d, 1));
	CHECK(wait_irq(&r, MS));
	CHECK_EQ(isr(&r), DC_SB16_IST_8);
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_8].bytes, 100);
	/* 16-bit auto-init, paused half-way through a block for 300 ms: the clock stops, the
	 * interrupt comes that much later. */
	dc_sb16_sink_clear(r.sb);
	CHECK_EQ(dc_i8237_hal_program(
	             r.d, 5, DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT | DC_I8237_MODE_READ,
	             r.pa, 4000),
	         DC_OK);
	CHECK(set_rate(&r, DC_SB16_CMD_RATE_OUT, 10000));
	t0 = r.m->clock.now;
	CHECK(dsp_start(&r, 0xB6, DC_SB16_MODE_SIGNED, 1000)); /* 2000 bytes = 100 ms */
	dc_clock_run_until(&r.m->clock, t0 + 50 * MS);
	CHECK(dsp_write(&r, DC_SB16_CMD_PAUSE_16));
	dc_clock_run_until(&r.m->clock, t0 + 350 * MS);
	CHECK(!dc_irq_asserted(&r.m->irq, 5));
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_16].run, DC_SB16_PAUSED);
	CHECK_EQ(st.s[DC_SB16_STREAM_16].position, 1000);
	CHECK_EQ(st.s[DC_SB16_STREAM_16].bytes, 1000);
	CHECK(dsp_write(&r, DC_SB16_CMD_CONTINUE_16));
	CHECK(wait_irq(&r, 1000 * MS));
	CHECK_EQ(r.m->clock.now - t0 - 400 * MS < MS, 1);
	CHECK_EQ(isr(&r), DC_SB16_IST_16);
	/* The channel masked by the driver: the DSP asks on, nothing comes (underruns); unmasked,
	 * the bytes it missed arrive and nothing is skipped. */
	dc_i8237_hal_mask(r.d, 5, true);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 20 * MS);
	uint64_t under = dc_sb16_stats(r.sb)->underruns;
	CHECK(under >= 15);
	dc_i8237_hal_mask(r.d, 5, false);
	dc_clock_run_until(&r.m->clock, r.m->clock.now + 2 * MS);
	dc_sb16_state(r.sb, &st);
	CHECK(st.s[DC_SB16_STREAM_16].position - st.s[DC_SB16_STREAM_16].bytes <= 40);
	CHECK(dsp_write(&r, DC_SB16_CMD_EXIT_AUTO_16));
	CHECK(wait_irq(&r, 1000 * MS));
	isr(&r);
	dc_sb16_state(r.sb, &st);
	CHECK_EQ(st.s[DC_SB16_STREAM_16].run, DC_SB16_IDLE);
	CHECK_EQ(st.s[DC_SB16_STREAM_16].bytes % 2000, 0);
	uint64_t len;
	dc_sb16_sink(r.sb, &len, NULL);
	CHECK_EQ(len, st.s[DC_SB16_STREAM_16].bytes);
	dc_i8237_hal_flush(r.d, 5);
	/* An injected transfer error: the next command stops after its first block; the drain
	 * fails. */
	r.dev.ops->inject_fault(r.dev.opaque, DC_FAULT_TRANSFER_ERROR);
	CHECK_EQ(dc_i8237_hal_program(
	             r.d, 1, DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT | DC_I8237_MODE_READ,
	             r.pa, 512),
	         DC_OK);
	CHECK(dsp_start(&r, 0xC6, 0, 256));
	CHECK(wait_irq(&r, 1000 * MS));
	isr(&r);
	CHECK(!wait_irq(&r, 500 * MS));
	CHECK(!dc_i8237_hal_flush(r.d, 1));
	rig_down(&r);
}

/* How a wave driver ends a stream on a half boundary without playing a byte of silence or
 * losing a sample: during an auto-initialize transfer, a single-cycle command replaces it and
 * plays exactly its length from where the channel is (the channel runs on, auto-initialize,
 * never masked); exit auto-initialize during capture stops at the end of the block, and the
 * next capture command goes on from the source's next byte. */
DC_TEST(sb16_a_stream_ends_exactly_and_capture_loses_nothing)
{
	static const char *const plats[] = {"pc", "noncoherent"};
	for (int pi = 0; pi < 2; pi++) {
		struct rig r;
		CHECK(rig_up(&r, plats[pi]));
		uint8_t ring[2048];
		for (unsigned i = 0; i < sizeof(ring); i++)
			ring[i] = (uint8_t)(i * 7 + 3);
		dc_cpu_write(r.m, r.buf, ring, sizeof(ring));
		dc_cpu_cache_range(r.m, r.buf, sizeof(ring), DC_CACHE_CLEAN, false);
		CHECK_EQ(dc_i8237_hal_program(r.d, 1,
		                              DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
		                                  DC_I8237_MODE_READ,
		                              r.pa, 2048),
		         DC_OK);
		CHECK(set_rate(&r, DC_SB16_CMD_RATE_OUT, 22050));
		CHECK(dsp_start(&r, 0xC6, 0, 1024));
		CHECK(wait_irq(&r, 1000 * MS));
		CHECK_EQ(isr(&r), DC_SB16_IST_8);
		/* The second half holds 300 bytes of data: play them and stop. */
		CHECK(dsp_start(&r, 0xC2, 0, 300));
		CHECK(wait_irq(&r, 1000 * MS));
		CHECK_EQ(isr(&r), DC_SB16_IST_8);
		CHECK(!wait_irq(&r, 200 * MS));
		struct dc_sb16_state st;
		dc_sb16_state(r.sb, &st);
		CHECK_EQ(st.s[DC_SB16_STREAM_8].run, DC_SB16_IDLE);
		uint64_t len;
		const uint8_t *sink = dc_sb16_sink(r.sb, &len, NULL);
		CHECK_EQ(len, 1324);
		CHECK(!memcmp(sink, ring, 1324));
		CHECK(dc_i8237_hal_flush(r.d, 1));
		/* Capture 16-bit: exit auto-initialize in the first block's interrupt, the
		 * second block still comes, then nothing; a new command records on from byte
		 * 2048 of the source. */
		uint8_t src[4096], got[3072];
		for (unsigned i = 0; i < sizeof(src); i++)
			src[i] = (uint8_t)(i * 13 + 5);
		CHECK_EQ(dc_sb16_set_source(r.sb, src, sizeof(src)), DC_OK);
		dc_cpu_cache_range(r.m, r.buf, 2048, DC_CACHE_CLEAN_INVAL, false);
		CHECK_EQ(dc_i8237_hal_program(r.d, 5,
		                              DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
		                                  DC_I8237_MODE_WRITE,
		                              r.pa, 2048),
		         DC_OK);
		CHECK(set_rate(&r, DC_SB16_CMD_RATE_IN, 44100));
		CHECK(dsp_start(&r, 0xBE, DC_SB16_MODE_SIGNED, 512));
		CHECK(wait_irq(&r, 1000 * MS));
		CHECK_EQ(isr(&r), DC_SB16_IST_16);
		CHECK(dsp_write(&r, DC_SB16_CMD_EXIT_AUTO_16));
		CHECK(wait_irq(&r, 1000 * MS));
		CHECK_EQ(isr(&r), DC_SB16_IST_16);
		CHECK(!wait_irq(&r, 200 * MS));
		CHECK(dc_i8237_hal_flush(r.d, 5));
		dc_cpu_cache_range(r.m, r.buf, 2048, DC_CACHE_INVAL, false);
		dc_cpu_read(r.m, r.buf, got, 2048);
		CHECK_EQ(dc_sb16_stats(r.sb)->captured, 2048);
		CHECK_EQ(dc_sb16_stats(r.sb)->lost, 0);
		CHECK_EQ(dc_i8237_hal_program(r.d, 5,
		                              DC_I8237_MODE_SINGLE | DC_I8237_MODE_AUTOINIT |
		                                  DC_I8237_MODE_WRITE,
		                              r.pa, 2048),
		         DC_OK);
		CHECK(dsp_start(&r, 0xBE, DC_SB16_MODE_SIGNED, 512));
		CHECK(dsp_write(&r, DC_SB16_CMD_EXIT_AUTO_16));
		CHECK(wait_irq(&r, 1000 * MS));
		CHECK_EQ(isr(&r), DC_SB16_IST_16);
		CHECK(!wait_irq(&r, 200 * MS));
		CHECK(dc_i8237_hal_flush(r.d, 5));
		dc_cpu_cache_range(r.m, r.buf, 1024, DC_CACHE_INVAL, false);
		dc_cpu_read(r.m, r.buf, got + 2048, 1024);
		CHECK_MSG(!memcmp(got, src, sizeof(got)), "%s", plats[pi]);
		rig_down(&r);
	}
}

/* Same seed => same interrupt times, same bytes. */
static uint64_t seeded(uint64_t seed)
{
	struct rig r;
	if (!rig_up(&r, "noncoherent-prefetch"))
		return 0;
	struct dc_rng g;
	dc_rng_seed(&g, seed);
	uint64_t h = 1469598103934665603ull;
	static const uint32_t rates[] = {8000, 11025, 22050, 44100};
	for (int i = 0; i < 4; i++) {
		struct session s = {dc_rng_below(&g, 2) != 0,
		                    false,
		                    (uint8_t)(dc_rng_below(&g, 2) ? DC_SB16_MODE_STEREO : 0),
		                    rates[dc_rng_below(&g, 4)],
		                    (uint32_t)(256 << dc_rng_below(&g, 4)),
		                    3 + (unsigned)dc_rng_below(&g, 3)};
		uint64_t n = (uint64_t)s.half * s.blocks, irq_t[8];
		uint8_t *wave = malloc(n);
		if (!wave)
			return 0;
		for (uint64_t k = 0; k < n; k++)
			wave[k] = (uint8_t)dc_rng_next(&g);
		bool ok = run_session(&r, &s, wave, irq_t);
		free(wave);
		if (!ok)
			return 0;
		for (unsigned k = 0; k < s.blocks; k++)
			h = (h ^ irq_t[k]) * 1099511628211ull;
	}
	uint64_t len;
	const uint8_t *sink = dc_sb16_sink(r.sb, &len, NULL);
	for (uint64_t i = 0; i < len; i++)
		h = (h ^ sink[i]) * 1099511628211ull;
	rig_down(&r);
	return h;
}

DC_TEST(sb16_same_seed_same_run)
{
	uint64_t a = seeded(5), b = seeded(5), c = seeded(6);
	CHECK(a != 0);
	CHECK_EQ(a, b);
	CHECK(a != c);
}
