/* fdc: an Intel 82077AA floppy disk controller as wired in a PC/AT, with up to four 3.5" drives
 * (docs/devices/fdc.md has the register map, the command set and every rule below in detail).
 *
 * Modelled: the registers at 0x3F0-0x3F5 and 0x3F7 (SRA/SRB with PS/2-mode bits, DOR, TDR,
 * MSR/DSR, FIFO, DIR/CCR); the command, execution and result phases with the MSR handshake (RQM,
 * DIO, CB, drive-busy bits); SPECIFY, SENSE DRIVE STATUS, WRITE DATA, READ DATA (MFM, multi-track),
 * RECALIBRATE, SENSE INTERRUPT STATUS, READ ID, FORMAT TRACK, DUMPREG, SEEK, VERSION and
 * CONFIGURE (implied seek included); reset through DOR or DSR with the four polling interrupts;
 * drives with motors (spin-up time), a rotating medium (sectors pass under the head at their
 * angular place, 300 rpm), head stepping at the SPECIFY step rate, head load and unload times,
 * the disk-change line (DIR bit 7), write protection, the data rate a medium needs; IRQ 6, level,
 * gated by DOR DMAGATE; data through 8237 channel 2 (DREQ/DACK) and terminal count, which ends a
 * READ or WRITE DATA with the datasheet's result bytes.  The media are host-memory images
 * (1.44 MB: 80 x 2 x 18 x 512; 720 KB: 80 x 2 x 9 x 512), loadable from and savable to files.
 *
 * Deliberately not modelled: non-DMA (PIO) execution (SPECIFY's ND bit is stored and reported,
 * transfers still use DMA), FM recording, sector sizes other than 512 bytes in the image,
 * READ TRACK, VERIFY, SCAN, READ/WRITE DELETED DATA, RELATIVE SEEK, PERPENDICULAR MODE and LOCK
 * (they are invalid commands here), the FIFO threshold (a sector's bytes are offered to the
 * channel at once when the sector has passed under the head), write precompensation, power
 * down, the index and step bits of SRA/SRB, the drive-select outputs (the command's DS bits
 * choose the drive; DOR's select only chooses whose status DIR and SRA show).  Where the chip
 * would wait forever — no medium, so no index pulse — the command ends after two revolutions
 * with the 8272's not-ready status. */
#ifndef DC_DEVICES_FDC_H
#define DC_DEVICES_FDC_H

#include "dmacoh/common.h"
#include "dmacoh/device.h"

struct dc_machine;
struct dc_i8237;

#define DC_FDC_DRIVES 4
#define DC_FDC_SECTOR 512u
#define DC_FDC_MAX_SPT 36 /* sectors a FORMAT TRACK may put on a track */
#define DC_FDC_VERSION_ID 0x90u

/* Register offsets from the base (0x3F0).  Offset 6 is not the FDC's (the hard disk's). */
enum dc_fdc_reg {
	DC_FDC_REG_SRA = 0,  /* R: status A (PS/2 mode bits) */
	DC_FDC_REG_SRB = 1,  /* R: status B (PS/2 mode bits) */
	DC_FDC_REG_DOR = 2,  /* R/W: digital output register */
	DC_FDC_REG_TDR = 3,  /* R/W: tape drive register (bits 1:0 stored) */
	DC_FDC_REG_MSR = 4,  /* R: main status; W: DSR, data-rate select */
	DC_FDC_REG_FIFO = 5, /* R/W: command, parameter and result bytes */
	DC_FDC_REG_DIR = 7,  /* R: digital input; W: CCR, configuration control */
	DC_FDC_REG_COUNT = 8
};
const char *dc_fdc_reg_name(enum dc_fdc_reg r);

/* DOR */
#define DC_FDC_DOR_SEL_MASK 0x03u
#define DC_FDC_DOR_NRESET 0x04u  /* 0: the controller is held in reset */
#define DC_FDC_DOR_DMAGATE 0x08u /* AT mode: enables the INT and DRQ outputs */
#define DC_FDC_DOR_MOTEN(d) (0x10u << (d))
/* MSR */
#define DC_FDC_MSR_BUSY(d) (1u << (d)) /* drive d is seeking */
#define DC_FDC_MSR_CB 0x10u            /* a command is in progress */
#define DC_FDC_MSR_NDMA 0x20u          /* execution phase in non-DMA mode (never set here) */
#define DC_FDC_MSR_DIO 0x40u           /* 1: controller -> host (result bytes) */
#define DC_FDC_MSR_RQM 0x80u           /* the FIFO is ready for the host */
/* DSR (write at offset 4) */
#define DC_FDC_DSR_RATE_MASK 0x03u
#define DC_FDC_DSR_PRECOMP_MASK 0x1Cu
#define DC_FDC_DSR_PDOWN 0x40u
#define DC_FDC_DSR_SWRESET 0x80u
/* DIR */
#define DC_FDC_DIR_DSKCHG 0x80u

/* ST0 */
#define DC_FDC_ST0_IC_MASK 0xC0u
#define DC_FDC_ST0_IC_NORMAL 0x00u
#define DC_FDC_ST0_IC_ABNORMAL 0x40u
#define DC_FDC_ST0_IC_INVALID 0x80u
#define DC_FDC_ST0_IC_POLL 0xC0u /* abnormal termination by polling (after reset) */
#define DC_FDC_ST0_SE 0x20u      /* seek end */
#define DC_FDC_ST0_EC 0x10u      /* equipment check (no track 0 after 79 steps) */
#define DC_FDC_ST0_NR 0x08u      /* not ready (no medium; see the header paragraph) */
#define DC_FDC_ST0_HD 0x04u
/* ST1 */
#define DC_FDC_ST1_EN 0x80u /* end of cylinder: past EOT without terminal count */
#define DC_FDC_ST1_DE 0x20u /* CRC error */
#define DC_FDC_ST1_OR 0x10u /* overrun / underrun: the DMA did not keep up */
#define DC_FDC_ST1_ND 0x04u /* no data: sector not found */
#define DC_FDC_ST1_NW 0x02u /* not writable */
#define DC_FDC_ST1_MA 0x01u /* missing address mark */
/* ST2 */
#define DC_FDC_ST2_CM 0x40u
#define DC_FDC_ST2_DD 0x20u /* the CRC error is in the data field */
#define DC_FDC_ST2_WC 0x10u /* wrong cylinder */
#define DC_FDC_ST2_BC 0x02u /* bad cylinder (ID cylinder 0xFF) */
#define DC_FDC_ST2_MD 0x01u
/* ST3 */
#define DC_FDC_ST3_WP 0x40u
#define DC_FDC_ST3_RDY 0x20u
#define DC_FDC_ST3_T0 0x10u
#define DC_FDC_ST3_TS 0x08u
#define DC_FDC_ST3_HD 0x04u

/* First command byte: the opcode in bits 4:0 plus MT (7), MFM (6), SK (5) where they apply. */
#define DC_FDC_MT 0x80u
#define DC_FDC_MFM 0x40u
#define DC_FDC_SK 0x20u
#define DC_FDC_OP_SPECIFY 0x03u
#define DC_FDC_OP_SENSE_DRIVE 0x04u
#define DC_FDC_OP_WRITE_DATA 0x05u
#define DC_FDC_OP_READ_DATA 0x06u
#define DC_FDC_OP_RECALIBRATE 0x07u
#define DC_FDC_OP_SENSE_INT 0x08u
#define DC_FDC_OP_READ_ID 0x0Au
#define DC_FDC_OP_FORMAT 0x0Du
#define DC_FDC_OP_DUMPREG 0x0Eu
#define DC_FDC_OP_SEEK 0x0Fu
#define DC_FDC_OP_VERSION 0x10u
#define DC_FDC_OP_CONFIGURE 0x13u

enum dc_fdc_cmd {
	DC_FDC_CMD_INVALID,
	DC_FDC_CMD_SPECIFY,
	DC_FDC_CMD_SENSE_DRIVE,
	DC_FDC_CMD_WRITE_DATA,
	DC_FDC_CMD_READ_DATA,
	DC_FDC_CMD_RECALIBRATE,
	DC_FDC_CMD_SENSE_INT,
	DC_FDC_CMD_READ_ID,
	DC_FDC_CMD_FORMAT,
	DC_FDC_CMD_DUMPREG,
	DC_FDC_CMD_SEEK,
	DC_FDC_CMD_VERSION,
	DC_FDC_CMD_CONFIGURE,
	DC_FDC_CMD_COUNT
};
const char *dc_fdc_cmd_name(enum dc_fdc_cmd c);
/* The command a first byte starts (DC_FDC_CMD_INVALID if none). */
enum dc_fdc_cmd dc_fdc_decode(uint8_t first);

enum dc_fdc_phase {
	DC_FDC_PHASE_RESET,   /* held in reset by DOR */
	DC_FDC_PHASE_COMMAND, /* waiting for command or parameter bytes */
	DC_FDC_PHASE_EXEC,    /* executing (data moves by DMA) */
	DC_FDC_PHASE_RESULT,  /* result bytes to read */
	DC_FDC_PHASE_COUNT
};
const char *dc_fdc_phase_name(enum dc_fdc_phase p);

/* Data rates (DSR/CCR bits 1:0). */
enum dc_fdc_rate {
	DC_FDC_RATE_500K, /* 1.44 MB media */
	DC_FDC_RATE_300K,
	DC_FDC_RATE_250K, /* 720 KB media; the rate after a hardware reset */
	DC_FDC_RATE_1M,
	DC_FDC_RATE_COUNT
};
const char *dc_fdc_rate_name(enum dc_fdc_rate r);

enum dc_fdc_media {
	DC_FDC_MEDIA_NONE,
	DC_FDC_MEDIA_1440K, /* 80 cylinders, 2 heads, 18 sectors, 500 kbps */
	DC_FDC_MEDIA_720K,  /* 80 cylinders, 2 heads, 9 sectors, 250 kbps */
	DC_FDC_MEDIA_COUNT
};
const char *dc_fdc_media_name(enum dc_fdc_media m);
/* Image size of a medium in bytes (0 for NONE). */
uint64_t dc_fdc_media_size(enum dc_fdc_media m);

/* Damage a sector can be given (dc_fdc_inject_bad_sector). */
enum dc_fdc_bad {
	DC_FDC_BAD_NONE,
	DC_FDC_BAD_NO_ID, /* the ID field cannot be read: READ DATA ends with ST1 ND */
	DC_FDC_BAD_CRC,   /* the data field's CRC is wrong: the data moves, then ST1 DE, ST2 DD */
	DC_FDC_BAD_COUNT
};
const char *dc_fdc_bad_name(enum dc_fdc_bad b);

struct dc_fdc_cfg {
	struct dc_i8237 *dma; /* the controller; NULL: the one on m's bus */
	uint32_t port_base;   /* 0x3F0: claims base..base+5 and base+7 */
	unsigned dma_channel; /* 2 */
	int irq;              /* 6; -1: none */
	unsigned drives;      /* drives on the cable, 1..4 (3.5" high density) */
	uint64_t spinup_ns;   /* motor on to full speed */
	uint32_t rpm;         /* 300 */
};

/* Defaults: 0x3F0, channel 2, IRQ 6, one drive, 500 ms spin-up, 300 rpm. */
void dc_fdc_cfg_default(struct dc_fdc_cfg *cfg);

/* Creates the controller in its hardware-reset state (DOR = 0: held in reset, motors off,
 * 250 kbps), claims its ports and attaches it to its channel.  The drives are empty with their
 * disk-change line active.  dev gets ops, opaque, res; its store is drive 0's medium.
 * DC_ERR_INVAL, DC_ERR_BUSY, DC_ERR_NOMEM.  Destroy with dc_device_detach(dev) before the
 * controller and the machine. */
/* The model (devices/builtin.c lists it); dc_<name>_create is dc_device_attach of it with
 * this configuration. */
extern const struct dc_device_model dc_fdc_model;

int dc_fdc_create(struct dc_machine *m, const struct dc_fdc_cfg *cfg, struct dc_device *dev);

/* Inserts a new medium (the drive must be empty: DC_ERR_BUSY).  image: its bytes in LBA order
 * ((c * heads + h) * spt + s - 1) * 512, or NULL for a formatted, zero-filled disk.  The
 * disk-change line goes active (the door was opened).  DC_ERR_INVAL, DC_ERR_NOMEM. */
int dc_fdc_insert(void *fdc, unsigned drive, enum dc_fdc_media media, const void *image);
/* Removes the medium (its bytes are gone); the disk-change line goes active. */
void dc_fdc_eject(void *fdc, unsigned drive);
/* Inserts the image in a file; its size chooses the medium.  DC_ERR_IO, DC_ERR_PARSE (a size
 * that is no known medium), DC_ERR_BUSY, DC_ERR_NOMEM. */
int dc_fdc_load_image(void *fdc, unsigned drive, const char *path);
/* Writes the medium's bytes to a file.  DC_ERR_STATE (no medium), DC_ERR_IO. */
int dc_fdc_save_image(void *fdc, unsigned drive, const char *path);
enum dc_fdc_media dc_fdc_media(void *fdc, unsigned drive);
/* The medium's bytes (the host's view, for tests and tools), NULL when empty. */
uint8_t *dc_fdc_image(void *fdc, unsigned drive, uint64_t *size);

/* Fault injection.  Write protection (the tab): WRITE DATA and FORMAT end with ST1 NW. */
int dc_fdc_set_write_protect(void *fdc, unsigned drive, bool on);
/* Damages the sector whose ID is (c, h, r) on physical track (c, h) (DC_FDC_BAD_NONE repairs
 * it); a WRITE DATA or FORMAT of it repairs a CRC error.  DC_ERR_INVAL, DC_ERR_NOTFOUND (no such
 * sector), DC_ERR_STATE (no medium). */
int dc_fdc_inject_bad_sector(void *fdc, unsigned drive, unsigned c, unsigned h, unsigned r,
                             enum dc_fdc_bad kind);

/* A snapshot for tests and tools. */
struct dc_fdc_state {
	enum dc_fdc_phase phase;
	enum dc_fdc_cmd cmd;
	uint8_t dor, msr;
	enum dc_fdc_rate rate;
	bool irq, dreq;
	uint8_t pcn[DC_FDC_DRIVES];  /* the controller's present cylinder numbers */
	uint8_t head[DC_FDC_DRIVES]; /* where each drive's head really is */
	bool spinning[DC_FDC_DRIVES];
};
void dc_fdc_state(void *fdc, struct dc_fdc_state *out);

struct dc_fdc_stats {
	uint64_t commands, invalid;
	uint64_t sectors_read, sectors_written, tracks_formatted;
	uint64_t steps, errors, overruns, tcs;
	uint64_t ignored_bytes; /* FIFO bytes written or read in the wrong phase */
};
const struct dc_fdc_stats *dc_fdc_stats(void *fdc);

#endif
