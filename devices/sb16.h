/* sb16: the digital-audio side of a Sound Blaster 16 — its DSP (version 4.05) and the mixer's
 * interrupt and DMA setup registers (docs/devices/sb16.md has the register map and the rules).
 *
 * Modelled: the DSP ports at base 0x220 (reset 0x226 with the 0xAA handshake, read data 0x22A,
 * command/data 0x22C and its write-buffer status, read-buffer status 0x22E which acknowledges
 * the 8-bit interrupt, 0x22F which acknowledges the 16-bit one); the mixer's index/data pair
 * 0x224/0x225 with the IRQ select (0x80), DMA select (0x81) and interrupt status (0x82)
 * registers, the others plain storage; DSP commands for sample rates (0x40, 0x41, 0x42), 8- and
 * 16-bit single-cycle and auto-initialize transfers in both directions (0xBx/0xCx with mode
 * byte and length - 1; the legacy 8-bit 0x14/0x24/0x1C/0x2C with the 0x48 block size), pause,
 * continue and exit auto-initialize (0xD0/0xD4/0xDA, 0xD5/0xD6/0xD9), speaker, version,
 * identification and forced interrupts.  8-bit data moves on the 8-bit DMA channel (1), 16-bit
 * data on the 16-bit one (5), through the 8237's DREQ/DACK interface; the interrupt (5,
 * level) rises at every block end.  Samples are consumed and produced at the sample rate in
 * simulated time, in batches (a tick every millisecond, and one at each block end), never
 * per sample.  Playback lands in a sink, capture comes from a source: host memory, with WAV
 * (PCM RIFF) files to save and load them.
 *
 * Deliberately not modelled: the OPL FM synthesizer (0x220-0x223, 0x228-0x229 read 0xFF), MIDI
 * and the MPU-401, direct (non-DMA) DAC/ADC, ADPCM, the DSP's busy time after a byte and its
 * ~100 us reset time (the DSP is always ready; 0xAA is there at once), mixing and volumes (the
 * stream is recorded as moved), the hardware FIFO (the FIFO bit of a command is accepted and
 * ignored), 16-bit transfers over the 8-bit channel, and any analog path. */
#ifndef DC_DEVICES_SB16_H
#define DC_DEVICES_SB16_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_i8237;

#define DC_SB16_PORTS 16u
#define DC_SB16_VERSION 0x0405u /* 0xE1 answers 4, 5 */
#define DC_SB16_READY 0xAAu     /* read after a DSP reset */
#define DC_SB16_TICK_NS UINT64_C(1000000)

/* Register offsets from the base (byte-wide). */
enum dc_sb16_reg {
	DC_SB16_REG_MIXER_ADDR = 0x4, /* W: mixer register index */
	DC_SB16_REG_MIXER_DATA = 0x5, /* R/W: the indexed mixer register */
	DC_SB16_REG_RESET = 0x6,      /* W: 1 then 0 resets the DSP */
	DC_SB16_REG_READ = 0xA,       /* R: DSP read data */
	DC_SB16_REG_WRITE = 0xC,   /* W: DSP command/data; R: write-buffer status (bit 7: busy) */
	DC_SB16_REG_RSTATUS = 0xE, /* R: bit 7 = data to read; the read acknowledges 8-bit IRQ */
	DC_SB16_REG_ACK16 = 0xF,   /* R: acknowledges the 16-bit IRQ */
};
const char *dc_sb16_reg_name(enum dc_sb16_reg r);

/* Mixer registers the model gives meaning to. */
#define DC_SB16_MIX_RESET 0x00u
#define DC_SB16_MIX_IRQ 0x80u    /* bit 0 IRQ 2 (line 9), 1 IRQ 5, 2 IRQ 7, 3 IRQ 10 */
#define DC_SB16_MIX_DMA 0x81u    /* bits 0, 1, 3: 8-bit channel; bits 5, 6, 7: 16-bit channel */
#define DC_SB16_MIX_STATUS 0x82u /* R: bit 0 8-bit IRQ pending, bit 1 16-bit, bit 2 MPU (0) */
#define DC_SB16_IST_8 0x01u
#define DC_SB16_IST_16 0x02u

/* DSP commands */
#define DC_SB16_CMD_TIME_CONSTANT 0x40u
#define DC_SB16_CMD_RATE_OUT 0x41u
#define DC_SB16_CMD_RATE_IN 0x42u
#define DC_SB16_CMD_BLOCK_SIZE 0x48u
#define DC_SB16_CMD_8_SINGLE_OUT 0x14u
#define DC_SB16_CMD_8_SINGLE_IN 0x24u
#define DC_SB16_CMD_8_AUTO_OUT 0x1Cu
#define DC_SB16_CMD_8_AUTO_IN 0x2Cu
#define DC_SB16_CMD_16_BASE 0xB0u /* | IN | AUTO | FIFO, then mode, length-1 low, high */
#define DC_SB16_CMD_8_BASE 0xC0u
#define DC_SB16_CMD_IN 0x08u
#define DC_SB16_CMD_AUTO 0x04u
#define DC_SB16_CMD_FIFO 0x02u
#define DC_SB16_MODE_SIGNED 0x10u
#define DC_SB16_MODE_STEREO 0x20u
#define DC_SB16_CMD_PAUSE_8 0xD0u
#define DC_SB16_CMD_SPEAKER_ON 0xD1u
#define DC_SB16_CMD_SPEAKER_OFF 0xD3u
#define DC_SB16_CMD_CONTINUE_8 0xD4u
#define DC_SB16_CMD_PAUSE_16 0xD5u
#define DC_SB16_CMD_CONTINUE_16 0xD6u
#define DC_SB16_CMD_SPEAKER_STATUS 0xD8u
#define DC_SB16_CMD_EXIT_AUTO_16 0xD9u
#define DC_SB16_CMD_EXIT_AUTO_8 0xDAu
#define DC_SB16_CMD_IDENTIFY 0xE0u
#define DC_SB16_CMD_VERSION 0xE1u
#define DC_SB16_CMD_IRQ_8 0xF2u
#define DC_SB16_CMD_IRQ_16 0xF3u

/* The two DMA engines of the DSP. */
enum dc_sb16_stream {
	DC_SB16_STREAM_8,  /* 8-bit samples, the 8-bit channel, the 8-bit interrupt */
	DC_SB16_STREAM_16, /* 16-bit samples, the 16-bit channel, the 16-bit interrupt */
	DC_SB16_STREAM_COUNT
};
const char *dc_sb16_stream_name(enum dc_sb16_stream s);

enum dc_sb16_run { DC_SB16_IDLE, DC_SB16_RUNNING, DC_SB16_PAUSED, DC_SB16_RUN_COUNT };
const char *dc_sb16_run_name(enum dc_sb16_run r);

struct dc_sb16_cfg {
	struct dc_i8237 *dma; /* the controller; NULL: the one on m's bus */
	uint32_t port_base;   /* 0x220: 16 ports */
	int irq;              /* 5 (2 means line 9, 7 or 10 also possible); -1: none */
	unsigned dma8;        /* 1 (0, 1 or 3) */
	unsigned dma16;       /* 5 (5, 6 or 7) */
	uint64_t tick_ns;     /* batch period, DC_SB16_TICK_NS */
};

/* Defaults: 0x220, IRQ 5, DMA 1 and 5, 1 ms ticks. */
void dc_sb16_cfg_default(struct dc_sb16_cfg *cfg);

/* Creates the card (DSP reset done, 0xAA not yet pending), claims its ports and attaches to
 * both channels.  dev->res names the 8-bit channel.  The store reads the playback stream and
 * writes the capture source.  DC_ERR_INVAL, DC_ERR_BUSY, DC_ERR_NOMEM.  Destroy with
 * dc_device_detach(dev) before the controller and the machine. */
/* The model (devices/builtin.c lists it); dc_<name>_create is dc_device_attach of it with
 * this configuration. */
extern const struct dc_device_model dc_sb16_model;

int dc_sb16_create(struct dc_machine *m, const struct dc_sb16_cfg *cfg, struct dc_device *dev);

/* The PCM format of a stream, as a WAV header describes it. */
struct dc_sb16_format {
	uint32_t rate;
	uint16_t channels, bits;
	bool is_signed;
};

/* Playback: every byte the DSP consumed, in order (both engines append to one sink).  The
 * format is the last playback command's. */
const uint8_t *dc_sb16_sink(void *sb, uint64_t *len, struct dc_sb16_format *fmt);
void dc_sb16_sink_clear(void *sb);
/* Drops the first n bytes of the sink (a consumer that has checked them), so a long run's
 * sink holds only what is not checked yet. */
void dc_sb16_sink_consume(void *sb, uint64_t n);
/* Capture: bytes the ADC produces, in order, from position 0; past the end, silence (0x80 for
 * unsigned 8-bit, 0 otherwise).  The source is copied.  DC_ERR_NOMEM. */
int dc_sb16_set_source(void *sb, const void *bytes, uint64_t len);
/* Writes the sink as a PCM WAV file (bytes as moved; see sb16.md on sign).  DC_ERR_IO,
 * DC_ERR_STATE (nothing was ever played). */
int dc_sb16_save_wav(void *sb, const char *path);
/* Sets the capture source from a PCM WAV file's data chunk (its format in *fmt if not NULL).
 * DC_ERR_IO, DC_ERR_PARSE (not RIFF/WAVE PCM), DC_ERR_NOMEM. */
int dc_sb16_load_wav(void *sb, const char *path, struct dc_sb16_format *fmt);

struct dc_sb16_stream_state {
	enum dc_sb16_run run;
	enum dc_dir dir; /* TO_DEVICE: playback */
	bool autoinit, exiting, dreq;
	struct dc_sb16_format fmt;
	uint32_t block;    /* bytes per block (interrupt) */
	uint64_t bytes;    /* moved through DMA since the command */
	uint64_t blocks;   /* block ends (interrupts) since the command */
	uint64_t position; /* bytes the sample clock has reached (what is due) */
};
struct dc_sb16_state {
	struct dc_sb16_stream_state s[DC_SB16_STREAM_COUNT];
	uint8_t irq_status; /* mixer 0x82 */
	int irq;            /* the line in use, -1: none */
	unsigned dma8, dma16;
	bool speaker;
	uint32_t rate_out, rate_in;
};
void dc_sb16_state(void *sb, struct dc_sb16_state *out);

struct dc_sb16_stats {
	uint64_t commands, unknown_commands;
	uint64_t played, captured; /* bytes */
	uint64_t irqs[DC_SB16_STREAM_COUNT];
	uint64_t underruns; /* ticks at which playback data had not all arrived */
	uint64_t lost;      /* captured bytes dropped: the DMA did not take them */
	uint64_t ticks;
};
const struct dc_sb16_stats *dc_sb16_stats(void *sb);

#endif
