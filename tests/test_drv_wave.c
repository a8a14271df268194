/* examples/drivers/wave.c (the Sound Blaster 16 wave driver: common-buffer auto-initialize
 * system DMA, ReadDmaCounter for the position) on every built-in platform: a WAV file played
 * and recorded through it with every sample verified (8-bit mono and 16-bit stereo); the
 * position it reads from the DMA counter in the middle of a transfer against the bytes the
 * channel moved; the auto-initialize ring wrapping many times on both channels; the requests it
 * must refuse; a transfer error it recovers from without losing a byte; a queued read
 * cancelled; the stream workload of `dmacoh run`; and the sanitizer: nothing on the correct
 * driver, exactly its rule on every twin, on three platforms and twenty seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dmacoh/check.h"
#include "dmacoh/driver.h"
#include "devices/sb16.h"
#include "hw/i8237.h"
#include "hw/machine.h"
#include "hw/rng.h"
#include "kernel/workload.h"
#include "kflow.h"

#define MS UINT64_C(1000000)
#define RING 8192u /* the driver's common buffer (two 4 KiB halves) */

struct wv {
	struct dc_sys *s;
	struct dc_sysdev *dev;
	struct dc_driver *drv;
	PDEVICE_OBJECT top;
	struct dc_check *chk;
	struct dc_machine *m;
	void *sb;
	struct dc_i8237 *dma;
	uint8_t silence;
	char err[256];
};

/* A system on a built-in platform with the sb16 and the driver started, the sanitizer watching
 * from before DriverEntry when `check`. */
static bool wv_open(struct wv *w, const char *plat, uint64_t seed, const char *driver, bool check)
{
	memset(w, 0, sizeof(*w));
	struct dc_platform p;
	NTSTATUS st = 0;
	char path[512];
	if (dc_platform_builtin(plat, &p)) {
		snprintf(w->err, sizeof(w->err), "no platform %s", plat);
		return false;
	}
	p.seed = seed;
	if (dc_sys_create(&p, &w->s)) {
		snprintf(w->err, sizeof(w->err), "dc_sys_create");
		return false;
	}
	w->m = dc_sys_machine(w->s);
	if (check) {
		struct dc_check_opts o;
		dc_check_opts_init(&o);
		o.alignment_warnings = false;
		if (dc_check_create(w->m, &o, &w->chk)) {
			snprintf(w->err, sizeof(w->err), "dc_check_create");
			goto fail;
		}
	}
	if (dc_sys_add_device(w->s, "sb16", NULL, &w->dev) ||
	    dc_sys_load_module(w->s, kf_driver_path(driver, path, sizeof(path)), &w->drv, &st,
	                       w->err, sizeof(w->err))) {
		if (!w->err[0])
			snprintf(w->err, sizeof(w->err), "cannot add the sb16");
		goto fail;
	}
	if (dc_sys_start_device(w->s, w->drv, w->dev, &w->top, &st)) {
		snprintf(w->err, sizeof(w->err), "%s: START_DEVICE 0x%08X", driver, (unsigned)st);
		goto fail;
	}
	w->sb = dc_sysdev_device(w->dev)->opaque;
	w->dma = dc_i8237_from_bus(&w->m->bus);
	return true;
fail:
	if (w->chk)
		dc_check_destroy(w->chk);
	dc_sys_destroy(w->s);
	w->s = NULL;
	return false;
}

/* Removes the device and unloads the driver; *rules (optional) gets a bit per rule the
 * sanitizer saw, removal and unload included. */
static void wv_close(struct wv *w, uint32_t *rules)
{
	if (!w->s)
		return;
	dc_sys_remove_device(w->s, w->dev, NULL);
	dc_sys_unload(w->s, w->drv);
	if (rules) {
		*rules = 0;
		for (int r = 0; r < DC_RULE_COUNT && w->chk; r++)
			if (dc_check_rule_hits(w->chk, (enum dc_rule)r))
				*rules |= 1u << r;
	}
	if (w->chk)
		dc_check_destroy(w->chk);
	dc_sys_destroy(w->s);
	w->s = NULL;
}

static NTSTATUS wv_roundtrip(struct wv *w, PIRP irp, ULONG_PTR *info)
{
	if (!irp)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_sys_send(w->s, irp);
	if (dc_sys_wait(w->s, irp, UINT64_C(30000000000)))
		return STATUS_TIMEOUT; /* the IRP stays with the driver */
	IO_STATUS_BLOCK io = dc_sys_finish(w->s, irp);
	if (info)
		*info = io.Information;
	return io.Status;
}

static NTSTATUS wv_format(struct wv *w, unsigned rate, unsigned bits, unsigned channels)
{
	DMACOH_STREAM_FORMAT f = {rate, (unsigned short)bits, (unsigned short)channels, bits == 16};
	w->silence = bits == 8 ? 0x80 : 0x00;
	return wv_roundtrip(w,
	                    dc_sys_build_ioctl(w->s, w->top, IOCTL_DMACOH_STREAM_SET_FORMAT, &f,
	                                       sizeof(f), NULL, 0),
	                    NULL);
}

static NTSTATUS wv_position(struct wv *w, DMACOH_STREAM_POSITION *pos)
{
	memset(pos, 0, sizeof(*pos));
	return wv_roundtrip(w,
	                    dc_sys_build_ioctl(w->s, w->top, IOCTL_DMACOH_STREAM_POSITION, NULL, 0,
	                                       pos, sizeof(*pos)),
	                    NULL);
}

/* A request on its own buffer, `boff` into a page: sent, not waited for. */
struct wv_req {
	PIRP irp;
	uint8_t *buf;
	ULONG len;
};

static bool wv_send(struct wv *w, struct wv_req *q, UCHAR major, const uint8_t *data, ULONG len,
                    uint32_t boff)
{
	q->len = len;
	q->buf = dc_sys_alloc_buffer(w->s, len ? len : 1, boff, DC_ZONE_ANY);
	if (!q->buf)
		return false;
	if (major == IRP_MJ_WRITE)
		dc_cpu_write(w->m, q->buf, data, len);
	else
		dc_cpu_fill(w->m, q->buf, 0xA5, len);
	q->irp = dc_sys_build_rw(w->s, w->top, major, q->buf, len, 0);
	if (!q->irp)
		return false;
	dc_sys_send(w->s, q->irp);
	return true;
}

/* Waits for it; a read's bytes go to out. */
static NTSTATUS wv_finish(struct wv *w, struct wv_req *q, uint8_t *out, ULONG_PTR *info)
{
	NTSTATUS st = STATUS_TIMEOUT;
	if (!dc_sys_wait(w->s, q->irp, UINT64_C(30000000000))) {
		IO_STATUS_BLOCK io = dc_sys_finish(w->s, q->irp);
		st = io.Status;
		if (info)
			*info = io.Information;
		if (out)
			dc_cpu_read(w->m, q->buf, out, q->len);
		dc_sys_free_buffer(w->s, q->buf);
	}
	q->irp = NULL;
	return st;
}

static NTSTATUS wv_io(struct wv *w, UCHAR major, uint8_t *data, ULONG len, uint32_t boff)
{
	struct wv_req q;
	ULONG_PTR info = 0;
	if (!wv_send(w, &q, major, data, len, boff))
		return STATUS_INSUFFICIENT_RESOURCES;
	NTSTATUS st = wv_finish(w, &q, major == IRP_MJ_READ ? data : NULL, &info);
	return NT_SUCCESS(st) && info != len ? STATUS_UNSUCCESSFUL : st;
}

/* Runs until the sink holds `bytes` and both DSP engines are idle (a DSP stopped by a transfer
 * error is idle until the driver starts it again), or they have been idle for 3 s. */
static bool wv_drain(struct wv *w, uint64_t bytes)
{
	unsigned quiet = 0;
	for (int i = 0; i < 3000; i++) {
		struct dc_sb16_state ss;
		uint64_t have;
		dc_sb16_state(w->sb, &ss);
		dc_sb16_sink(w->sb, &have, NULL);
		if (ss.s[DC_SB16_STREAM_8].run == DC_SB16_IDLE &&
		    ss.s[DC_SB16_STREAM_16].run == DC_SB16_IDLE) {
			if (have >= bytes || ++quiet > 300)
				return true;
		} else {
			quiet = 0;
		}
		dc_sys_run_for(w->s, 10 * MS);
	}
	return false;
}

/* The sink is `want` and then only silence.  Returns the offset of the first wrong byte, -1
 * when it is right. */
static long wv_sink_wrong(struct wv *w, const uint8_t *want, uint64_t n)
{
	uint64_t len;
	const uint8_t *sink = dc_sb16_sink(w->sb, &len, NULL);
	if (len < n)
		return (long)len;
	for (uint64_t i = 0; i < len; i++)
		if (sink[i] != (i < n ? want[i] : w->silence))
			return (long)i;
	return -1;
}

static void seeded(uint8_t *p, uint64_t n, uint64_t seed)
{
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)dc_rng_next(&r);
}

/* A waveform in the format: a triangle per channel with some noise. */
static void waveform(uint8_t *out, uint64_t bytes, unsigned bits, unsigned channels)
{
	unsigned frame = bits / 8 * channels;
	for (uint64_t i = 0; i < bytes; i++) {
		uint64_t smp = i / frame;
		unsigned ch = (unsigned)(i % frame) / (bits / 8);
		unsigned ph = (unsigned)((smp * (37 + 11 * ch)) % 512);
		unsigned tri = ph < 256 ? ph : 511 - ph;
		uint16_t v = (uint16_t)((tri << 8) ^ (unsigned)(smp * 2654435761u >> 26));
		out[i] = bits == 16 ? (uint8_t)(i & 1 ? (v >> 8) ^ 0x80 : v) : (uint8_t)tri;
	}
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xFFFF);
	put16(p + 2, v >> 16);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | get16(p + 2) << 16;
}

static bool write_wav(const char *path, const uint8_t *data, uint32_t n, uint32_t rate,
                      unsigned channels, unsigned bits)
{
	uint8_t h[44];
	memcpy(h, "RIFF", 4);
	put32(h + 4, 36 + n);
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	put16(h + 20, 1);
	put16(h + 22, channels);
	put32(h + 24, rate);
	put32(h + 28, rate * channels * bits / 8);
	put16(h + 32, channels * bits / 8);
	put16(h + 34, bits);
	memcpy(h + 36, "data", 4);
	put32(h + 40, n);
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(h, 1, 44, f) == 44 && fwrite(data, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/* A PCM WAV file's format and data (malloc'ed), or NULL. */
static uint8_t *read_wav(const char *path, uint32_t *n, uint32_t *rate, unsigned *channels,
                         unsigned *bits)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t h[44];
	uint8_t *data = NULL;
	if (fread(h, 1, 44, f) == 44 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVEfmt ", 8) &&
	    get16(h + 20) == 1 && !memcmp(h + 36, "data", 4)) {
		*channels = get16(h + 22);
		*rate = get32(h + 24);
		*bits = get16(h + 34);
		*n = get32(h + 40);
		data = malloc(*n ? *n : 1);
		if (data && fread(data, 1, *n, f) != *n) {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

/* Sizes of the requests a stream is cut into: whole frames, 1 frame to ~12 KiB, seeded. */
static ULONG piece(struct dc_rng *r, uint64_t left, unsigned frame)
{
	uint64_t n = (1 + dc_rng_below(r, 12000 / frame)) * frame;
	return (ULONG)(n < left ? n : left);
}

/* --- The "must show" ------------------------------------------------------------ */

DC_TEST(drv_wave_wav_played_and_recorded)
{
	static const struct {
		unsigned rate, bits, channels;
		uint32_t bytes;
	} fmts[] = {{11025, 8, 1, 20000}, {44100, 16, 2, 60000}};
	char dir[] = "/tmp/dmacoh-wave-XXXXXX";
	CHECK(mkdtemp(dir));
	char in[64], out[64];
	snprintf(in, sizeof(in), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	for (const char *const *p = kf_platforms; *p; p++) {
		for (unsigned fi = 0; fi < 2; fi++) {
			unsigned bits = fmts[fi].bits, ch = fmts[fi].channels,
			         frame = bits / 8 * ch;
			uint32_t n = fmts[fi].bytes;
			uint8_t *wave = malloc(n), *got = malloc(n);
			CHECK(wave && got);
			waveform(wave, n, bits, ch);
			CHECK(write_wav(in, wave, n, fmts[fi].rate, ch, bits));
			free(wave);
			/* The WAV file is what is played. */
			uint32_t pn, prate;
			unsigned pch, pbits;
			uint8_t *pcm = read_wav(in, &pn, &prate, &pch, &pbits);
			CHECK(pcm && pn == n && prate == fmts[fi].rate && pch == ch &&
			      pbits == bits);
			struct wv w;
			CHECK_MSG(wv_open(&w, *p, 1, "wave", true), "%s: %s", *p, w.err);
			CHECK_EQ(wv_format(&w, prate, pbits, pch), STATUS_SUCCESS);
			struct dc_rng r;
			dc_rng_seed(&r, 40 + fi);
			for (uint32_t at = 0; at < n;) {
				ULONG len = piece(&r, n - at, frame);
				NTSTATUS st = wv_io(&w, IRP_MJ_WRITE, pcm + at, len,
				                    (uint32_t)dc_rng_below(&r, 4096));
				CHECK_MSG(st == STATUS_SUCCESS, "%s: write at %u: 0x%08X", *p, at,
				          (unsigned)st);
				at += len;
			}
			CHECK_MSG(wv_drain(&w, n), "%s: the DSP never stopped", *p);
			long bad = wv_sink_wrong(&w, pcm, n);
			CHECK_MSG(bad < 0, "%s %u-bit: sink wrong at byte %ld", *p, bits, bad);
			/* What the device played, as a WAV file: the same samples in the same
			 * format. */
			CHECK_EQ(dc_sb16_save_wav(w.sb, out), DC_OK);
			uint32_t on, orate;
			unsigned och, obits;
			uint8_t *played = read_wav(out, &on, &orate, &och, &obits);
			CHECK(played && on >= n && orate == prate && och == ch && obits == bits);
			CHECK_MSG(!memcmp(played, pcm, n), "%s: out.wav differs", *p);
			free(played);
			/* ... recorded back through the driver: the recording is the WAV's
			 * samples. */
			struct dc_sb16_format f;
			CHECK_EQ(dc_sb16_load_wav(w.sb, out, &f), DC_OK);
			CHECK(f.rate == prate && f.bits == bits && f.channels == ch);
			for (uint32_t at = 0; at < n;) {
				ULONG len = piece(&r, n - at, frame);
				NTSTATUS st = wv_io(&w, IRP_MJ_READ, got + at, len,
				                    (uint32_t)dc_rng_below(&r, 4096));
				CHECK_MSG(st == STATUS_SUCCESS, "%s: read at %u: 0x%08X", *p, at,
				          (unsigned)st);
				at += len;
			}
			for (uint32_t i = 0; i < n; i++)
				CHECK_MSG(
				    got[i] == pcm[i],
				    "%s %u-bit: recorded byte %u is 0x%02x, the WAV has 0x%02x", *p,
				    bits, i, got[i], pcm[i]);
			uint32_t rules;
			wv_close(&w, &rules);
			CHECK_MSG(rules == 0, "%s: sanitizer findings 0x%x", *p, rules);
			free(pcm);
			free(got);
		}
	}
	unlink(in);
	unlink(out);
	rmdir(dir);
}

/* Bytes the channel has moved between memory and the device: for playback what the DSP took
 * and what the controller holds for it; for capture what the DSP gave. */
static uint64_t channel_moved(struct wv *w, unsigned ch, bool playback)
{
	struct dc_i8237_chan_state cs;
	dc_i8237_state(w->dma, ch, &cs);
	const struct dc_sb16_stats *st = dc_sb16_stats(w->sb);
	if (!playback)
		return st->captured;
	return st->played + (cs.buf_dir == DC_DIR_TO_DEVICE ? cs.residue : 0);
}

DC_TEST(drv_wave_position_follows_the_dma_counter)
{
	enum { N = 65536 };
	static uint8_t data[N], got[N];
	for (const char *const *p = kf_platforms; *p; p++) {
		for (int sixteen = 0; sixteen < 2; sixteen++) {
			unsigned ch = sixteen ? 5 : 1;
			struct wv w;
			CHECK_MSG(wv_open(&w, *p, 3, "wave", false), "%s: %s", *p, w.err);
			CHECK_EQ(wv_format(&w, 22050, sixteen ? 16 : 8, 2), STATUS_SUCCESS);
			seeded(data, N, 7 + (uint64_t)sixteen);
			/* Playback: one write of 8 rings, looked at every 37 ms while it plays. */
			struct wv_req q;
			CHECK(wv_send(&w, &q, IRP_MJ_WRITE, data, N, 0));
			unsigned exact = 0;
			uint64_t last = 0;
			for (int i = 0; i < 12; i++) {
				dc_sys_run_for(w.s, 37 * MS);
				DMACOH_STREAM_POSITION pos;
				uint64_t before = channel_moved(&w, ch, true);
				CHECK_EQ(wv_position(&w, &pos), STATUS_SUCCESS);
				uint64_t after = channel_moved(&w, ch, true);
				CHECK_MSG(pos.BytesPlayed >= last && pos.BytesPlayed <= N,
				          "%s: position %llu after %llu", *p,
				          (unsigned long long)pos.BytesPlayed,
				          (unsigned long long)last);
				last = pos.BytesPlayed;
				if (before != after)
					continue; /* the channel moved while the IOCTL ran */
				CHECK_MSG(pos.BytesPlayed == before,
				          "%s %s: position %llu, the channel moved %llu", *p,
				          sixteen ? "16-bit" : "8-bit",
				          (unsigned long long)pos.BytesPlayed,
				          (unsigned long long)before);
				exact++;
			}
			CHECK_MSG(exact >= 6, "%s: only %u quiet moments", *p, exact);
			CHECK(last > 0 && last < N);
			CHECK_EQ(wv_finish(&w, &q, NULL, NULL), STATUS_SUCCESS);
			CHECK(wv_drain(&w, N));
			DMACOH_STREAM_POSITION pos;
			CHECK_EQ(wv_position(&w, &pos), STATUS_SUCCESS);
			CHECK_EQ(pos.BytesPlayed, N);
			CHECK_EQ(dc_sb16_stats(w.sb)->played, N);
			/* Capture: a read of 6 rings, the same way. */
			CHECK_EQ(dc_sb16_set_source(w.sb, data, N), DC_OK);
			CHECK(wv_send(&w, &q, IRP_MJ_READ, NULL, 48 * 1024, 100));
			exact = 0;
			for (int i = 0; i < 8; i++) {
				dc_sys_run_for(w.s, 37 * MS);
				uint64_t before = channel_moved(&w, ch, false);
				CHECK_EQ(wv_position(&w, &pos), STATUS_SUCCESS);
				uint64_t after = channel_moved(&w, ch, false);
				if (before != after)
					continue;
				CHECK_MSG(pos.BytesCaptured == before,
				          "%s: captured position %llu, the channel moved %llu", *p,
				          (unsigned long long)pos.BytesCaptured,
				          (unsigned long long)before);
				exact++;
			}
			CHECK_MSG(exact >= 4, "%s: only %u quiet moments", *p, exact);
			CHECK_EQ(wv_finish(&w, &q, got, NULL), STATUS_SUCCESS);
			CHECK(!memcmp(got, data, 48 * 1024));
			CHECK(wv_drain(&w, N));
			CHECK_EQ(wv_position(&w, &pos), STATUS_SUCCESS);
			CHECK_EQ(pos.BytesCaptured, dc_sb16_stats(w.sb)->captured);
			CHECK_EQ(pos.BytesPlayed, N);
			wv_close(&w, NULL);
		}
	}
}

DC_TEST(drv_wave_autoinit_ring_wraps_on_both_channels)
{
	enum { N = 100000 };
	static uint8_t data[N], got[N];
	for (const char *const *p = kf_platforms; *p; p++) {
		for (int sixteen = 0; sixteen < 2; sixteen++) {
			unsigned ch = sixteen ? 5 : 1;
			struct wv w;
			CHECK_MSG(wv_open(&w, *p, 5, "wave", false), "%s: %s", *p, w.err);
			CHECK_EQ(wv_format(&w, 44100, sixteen ? 16 : 8, sixteen ? 2 : 1),
			         STATUS_SUCCESS);
			seeded(data, N, 11 + (uint64_t)sixteen);
			uint64_t tcs0 = dc_i8237_stats(w.dma, ch)->tcs;
			/* One write of twelve rings and a bit: one MapTransfer, the channel
			 * reloading itself at every lap. */
			CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, data, N, 3), STATUS_SUCCESS);
			CHECK(wv_drain(&w, N));
			CHECK_MSG(wv_sink_wrong(&w, data, N) < 0, "%s: sink", *p);
			uint64_t laps = dc_i8237_stats(w.dma, ch)->tcs - tcs0;
			CHECK_MSG(laps >= N / RING, "%s: %llu laps", *p, (unsigned long long)laps);
			CHECK_EQ(dc_sb16_stats(w.sb)->irqs[sixteen],
			         (N + RING / 2 - 1) / (RING / 2));
			/* Capture the same way. */
			CHECK_EQ(dc_sb16_set_source(w.sb, data, N), DC_OK);
			tcs0 = dc_i8237_stats(w.dma, ch)->tcs;
			CHECK_EQ(wv_io(&w, IRP_MJ_READ, got, N, 4000), STATUS_SUCCESS);
			CHECK_MSG(!memcmp(got, data, N), "%s: recording", *p);
			laps = dc_i8237_stats(w.dma, ch)->tcs - tcs0;
			CHECK_MSG(laps >= N / RING, "%s: %llu laps", *p, (unsigned long long)laps);
			wv_close(&w, NULL);
		}
	}
}

/* --- What it refuses, errors, cancellation ------------------------------------------------ */

DC_TEST(drv_wave_refuses_bad_requests)
{
	struct wv w;
	CHECK_MSG(wv_open(&w, "noncoherent", 2, "wave", true), "%s", w.err);
	uint8_t buf[64] = {0};
	/* Before any format. */
	CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, buf, 64, 0), STATUS_INVALID_DEVICE_STATE);
	CHECK_EQ(wv_io(&w, IRP_MJ_READ, buf, 64, 0), STATUS_INVALID_DEVICE_STATE);
	static const DMACOH_STREAM_FORMAT bad[] = {
	    {4000, 8, 1, 0}, {48000, 16, 2, 1}, {22050, 12, 1, 0}, {22050, 8, 3, 0}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(wv_roundtrip(&w,
		                      dc_sys_build_ioctl(w.s, w.top, IOCTL_DMACOH_STREAM_SET_FORMAT,
		                                         &bad[i], sizeof(bad[i]), NULL, 0),
		                      NULL),
		         STATUS_INVALID_PARAMETER);
	CHECK_EQ(wv_roundtrip(&w,
	                      dc_sys_build_ioctl(w.s, w.top, IOCTL_DMACOH_STREAM_SET_FORMAT,
	                                         &bad[0], 4, NULL, 0),
	                      NULL),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(wv_format(&w, 22050, 16, 2), STATUS_SUCCESS);
	/* Whole frames only; nothing is a success with nothing moved. */
	CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, buf, 6, 0), STATUS_INVALID_PARAMETER);
	CHECK_EQ(wv_io(&w, IRP_MJ_READ, buf, 2, 0), STATUS_INVALID_PARAMETER);
	ULONG_PTR info = 1;
	CHECK_EQ(wv_roundtrip(&w, dc_sys_build_rw(w.s, w.top, IRP_MJ_WRITE, buf, 0, 0), &info),
	         STATUS_SUCCESS);
	CHECK_EQ(info, 0);
	/* The capacity, the position's buffer, an unknown code. */
	ULONGLONG cap = 0;
	CHECK_EQ(wv_roundtrip(&w,
	                      dc_sys_build_ioctl(w.s, w.top, IOCTL_DMACOH_QUERY_CAPACITY, NULL, 0,
	                                         &cap, sizeof(cap)),
	                      &info),
	         STATUS_SUCCESS);
	CHECK_EQ(cap, 16u << 20);
	CHECK_EQ(wv_roundtrip(
	             &w,
	             dc_sys_build_ioctl(w.s, w.top, IOCTL_DMACOH_STREAM_POSITION, NULL, 0, buf, 8),
	             NULL),
	         STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(
	    wv_roundtrip(&w, dc_sys_build_ioctl(w.s, w.top, 0x00222048u, NULL, 0, NULL, 0), NULL),
	    STATUS_INVALID_DEVICE_REQUEST);
	/* A format change switches channels: 8-bit data after 16-bit data. */
	uint8_t a[4000], b[3000], both[7000];
	seeded(a, sizeof(a), 1);
	seeded(b, sizeof(b), 2);
	memcpy(both, a, sizeof(a));
	memcpy(both + sizeof(a), b, sizeof(b));
	CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, a, sizeof(a), 0), STATUS_SUCCESS);
	CHECK_EQ(wv_format(&w, 8000, 8, 1), STATUS_SUCCESS);
	CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, b, sizeof(b), 0), STATUS_SUCCESS);
	CHECK(wv_drain(&w, sizeof(both)));
	CHECK_MSG(wv_sink_wrong(&w, both, sizeof(both)) < 0, "sink after a format change");
	uint32_t rules;
	wv_close(&w, &rules);
	CHECK_EQ(rules, 0);
}

/* The DSP stops after one block when a transfer fails: the driver's watchdog sees it, the
 * flush reports the error, and the stream restarts where the device stopped. */
DC_TEST(drv_wave_transfer_error_restarts_the_stream)
{
	enum { N = 30000 };
	static uint8_t w1[N], w2[N], src[2 * N], got[2 * N], sink[2 * N];
	for (const char *const *p = kf_platforms; *p; p++) {
		struct wv w;
		CHECK_MSG(wv_open(&w, *p, 4, "wave", true), "%s: %s", *p, w.err);
		struct dc_device *dev = dc_sysdev_device(w.dev);
		CHECK_EQ(wv_format(&w, 44100, 16, 1), STATUS_SUCCESS);
		seeded(w1, N, 21);
		seeded(w2, N, 22);
		seeded(src, 2 * N, 23);
		CHECK_EQ(dc_sb16_set_source(w.sb, src, 2 * N), DC_OK);
		memcpy(sink, w1, N);
		memcpy(sink + N, w2, N);
		uint64_t failed0 = dc_i8237_stats(w.dma, 5)->failed_drains;
		/* A playback session that fails after its first block, a read, a capture session
		 * that fails after its first block, a write. */
		dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
		CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, w1, N, 0), STATUS_SUCCESS);
		CHECK_EQ(wv_io(&w, IRP_MJ_READ, got, N, 0), STATUS_SUCCESS);
		dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
		CHECK_EQ(wv_io(&w, IRP_MJ_READ, got + N, N, 0), STATUS_SUCCESS);
		CHECK_EQ(wv_io(&w, IRP_MJ_WRITE, w2, N, 0), STATUS_SUCCESS);
		CHECK(wv_drain(&w, 2 * N));
		CHECK_MSG(dc_i8237_stats(w.dma, 5)->failed_drains - failed0 == 2,
		          "%s: the flush saw %llu errors", *p,
		          (unsigned long long)(dc_i8237_stats(w.dma, 5)->failed_drains - failed0));
		CHECK_MSG(!memcmp(got, src, 2 * N), "%s: recording", *p);
		long bad = wv_sink_wrong(&w, sink, 2 * N);
		CHECK_MSG(bad < 0, "%s: sink wrong at %ld", *p, bad);
		uint32_t rules;
		wv_close(&w, &rules);
		CHECK_MSG(rules == 0, "%s: findings 0x%x", *p, rules);
	}
}

DC_TEST(drv_wave_cancels_a_queued_read)
{
	enum { N = 20000 };
	static uint8_t src[3 * N], a[N], c[N];
	struct wv w;
	CHECK_MSG(wv_open(&w, "noncoherent-prefetch", 6, "wave", true), "%s", w.err);
	CHECK_EQ(wv_format(&w, 22050, 8, 1), STATUS_SUCCESS);
	seeded(src, sizeof(src), 31);
	CHECK_EQ(dc_sb16_set_source(w.sb, src, sizeof(src)), DC_OK);
	struct wv_req q1, q2, q3;
	CHECK(wv_send(&w, &q1, IRP_MJ_READ, NULL, N, 0));
	CHECK(wv_send(&w, &q2, IRP_MJ_READ, NULL, N, 0));
	CHECK(wv_send(&w, &q3, IRP_MJ_READ, NULL, N, 0));
	/* The second waits in the queue: cancelled, it gets nothing and the third gets what
	 * follows the first. */
	CHECK(dc_sys_cancel(w.s, q2.irp));
	ULONG_PTR info = 1;
	CHECK_EQ(wv_finish(&w, &q2, NULL, &info), STATUS_CANCELLED);
	CHECK_EQ(info, 0);
	CHECK_EQ(wv_finish(&w, &q1, a, NULL), STATUS_SUCCESS);
	CHECK_EQ(wv_finish(&w, &q3, c, NULL), STATUS_SUCCESS);
	CHECK(!memcmp(a, src, N));
	CHECK(!memcmp(c, src + N, N));
	uint32_t rules;
	wv_close(&w, &rules);
	CHECK_EQ(rules, 0);
}

/* --- dmacoh run's stream workload -------------------------------------------------------- */

static bool wv_workload(const char *plat, const char *driver, const char *spec,
                        struct dc_run_stats *rs, uint32_t *rules)
{
	struct wv w;
	if (!wv_open(&w, plat, 1, driver, true)) {
		dct_fail(__FILE__, __LINE__, "%s: %s", plat, w.err);
		return false;
	}
	struct dc_workload wl;
	char err[256];
	dc_workload_default(&wl);
	int rc = dc_workload_parse(spec, &wl, err, sizeof(err));
	if (!rc)
		rc = dc_run_workload(w.s, w.dev, w.top, &wl, rs, NULL, NULL, err, sizeof(err));
	wv_close(&w, rules);
	if (rc)
		dct_fail(__FILE__, __LINE__, "%s %s: %s", plat, spec, err);
	return rc == 0;
}

DC_TEST(drv_wave_stream_workload)
{
	static const char *const specs[] = {"count=40,fault=7", "count=60,outstanding=4",
	                                    "count=30,size=1-3000,align=line,seed=9"};
	for (const char *const *p = kf_platforms; *p; p++) {
		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
			struct dc_run_stats rs;
			uint32_t rules;
			if (!wv_workload(*p, "wave", specs[i], &rs, &rules))
				return;
			CHECK_MSG(
			    rs.irps == rs.reads + rs.writes + rs.ioctls && rs.reads && rs.writes &&
			        !rs.mismatched && !rs.failed && !rs.hung && !rules,
			    "%s %s: %llu IRPs, %llu mismatched, %llu failed, %llu hung, rules "
			    "0x%x",
			    *p, specs[i], (unsigned long long)rs.irps,
			    (unsigned long long)rs.mismatched, (unsigned long long)rs.failed,
			    (unsigned long long)rs.hung, rules);
		}
	}
	/* The workload sees a driver that plays stale samples, and one that reads them. */
	struct dc_run_stats rs;
	uint32_t rules;
	CHECK(wv_workload("noncoherent", "wave-bug-C01", "count=20,read=0", &rs, &rules));
	CHECK_MSG(rs.mismatched && rs.first_kind && !strcmp(rs.first_kind, "write"),
	          "C01: %llu mismatched", (unsigned long long)rs.mismatched);
	CHECK(wv_workload("noncoherent-prefetch", "wave-bug-C04", "count=20,write=0", &rs, &rules));
	CHECK_MSG(rs.mismatched && rs.first_kind && !strcmp(rs.first_kind, "read"),
	          "C04: %llu mismatched", (unsigned long long)rs.mismatched);
}

/* --- The sanitizer ------------------------------------------------------------------------ */

/* Writes and reads in both directions, a write of a few frames, a transfer error in either
 * direction on some seeds; the data is checked when `verify`. */
static bool wv_script(struct wv *w, uint64_t seed, bool verify, char *why, size_t whylen)
{
	static const struct {
		UCHAR major;
		ULONG len;
	} ops[] = {{IRP_MJ_WRITE, 6000}, {IRP_MJ_READ, 5000}, {IRP_MJ_WRITE, 9000},
	           {IRP_MJ_WRITE, 400},  {IRP_MJ_READ, 9000}, {IRP_MJ_WRITE, 3000}};
	static uint8_t src[65536], sink[32768], got[16384];
	bool sixteen = seed & 1;
	struct dc_device *dev = dc_sysdev_device(w->dev);
	if (wv_format(w, 44100, sixteen ? 16 : 8, sixteen ? 2 : 1) != STATUS_SUCCESS) {
		snprintf(why, whylen, "format refused");
		return false;
	}
	seeded(src, sizeof(src), seed * 3);
	dc_sb16_set_source(w->sb, src, sizeof(src));
	uint64_t played = 0, recorded = 0;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if ((seed % 3 == 0 && i == 2) || (seed % 3 == 1 && i == 4))
			dev->ops->inject_fault(dev->opaque, DC_FAULT_TRANSFER_ERROR);
		uint8_t *buf = ops[i].major == IRP_MJ_WRITE ? sink + played : got;
		if (ops[i].major == IRP_MJ_WRITE)
			seeded(buf, ops[i].len, seed * 100 + i);
		NTSTATUS st = wv_io(w, ops[i].major, buf, ops[i].len, (uint32_t)(seed * 97 % 4096));
		if (st != STATUS_SUCCESS) {
			snprintf(why, whylen, "request %zu: 0x%08X", i, (unsigned)st);
			return false;
		}
		if (ops[i].major == IRP_MJ_WRITE) {
			played += ops[i].len;
		} else {
			if (verify && memcmp(got, src + recorded, ops[i].len)) {
				snprintf(why, whylen, "read %zu: wrong data", i);
				return false;
			}
			recorded += ops[i].len;
		}
	}
	if (!wv_drain(w, played)) {
		snprintf(why, whylen, "the DSP never stopped");
		return false;
	}
	long bad = verify ? wv_sink_wrong(w, sink, played) : -1;
	if (bad >= 0) {
		snprintf(why, whylen, "sink wrong at byte %ld", bad);
		return false;
	}
	return true;
}

DC_TEST(drv_wave_sanitizer_clean_and_exact_on_every_twin)
{
	static const struct {
		const char *driver;
		int rule;
	} drivers[] = {
	    {"wave", -1},
	    {"wave-bug-C01", DC_RULE_C01},
	    {"wave-bug-C04", DC_RULE_C04},
	    {"wave-bug-C06", DC_RULE_C06},
	    {"wave-bug-C07", DC_RULE_C07},
	    {"wave-bug-A01", DC_RULE_A01},
	    {"wave-bug-A05", DC_RULE_A05},
	    {"wave-bug-A11", DC_RULE_A11},
	};
	for (size_t d = 0; d < sizeof(drivers) / sizeof(drivers[0]); d++) {
		uint32_t want = drivers[d].rule < 0 ? 0 : 1u << drivers[d].rule;
		for (const char *const *p = kf_platforms; *p; p++) {
			for (uint64_t seed = 1; seed <= 20; seed++) {
				struct wv w;
				char why[128] = "";
				CHECK_MSG(wv_open(&w, *p, seed, drivers[d].driver, true), "%s: %s",
				          drivers[d].driver, w.err);
				bool ok =
				    wv_script(&w, seed, drivers[d].rule < 0, why, sizeof(why));
				uint32_t rules;
				wv_close(&w, &rules);
				CHECK_MSG(ok, "%s on %s, seed %llu: %s", drivers[d].driver, *p,
				          (unsigned long long)seed, why);
				CHECK_MSG(rules == want,
				          "%s on %s, seed %llu: rules 0x%x, want exactly 0x%x",
				          drivers[d].driver, *p, (unsigned long long)seed, rules,
				          want);
			}
		}
	}
}
