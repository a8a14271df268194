/* Platform profiles: the built-ins, the profile file parser, validation, and the writer whose
 * output the parser reads back.
 *
 * One table, keys[], says for every section and key where the value lives in struct
 * dc_platform, what kind of value it is and its allowed range.  The parser, the validator and
 * the writer all walk that table, so they cannot disagree about a key.
 *
 * inih splits the text into sections and key = value pairs, but it gives its handler no line
 * number, never reports a section that has no keys, and reads an indented line as the
 * continuation of the previous value.  So inih is fed through our own line reader, which
 * counts lines and classifies each one the way inih is about to: every message can then say
 * file:line, an empty but misspelt section is still an error, and an indented line is refused
 * instead of silently becoming part of a value.  The reader stops inih at the first error.
 *
 * Deliberately not supported: multi-line values, repeated sections, includes, environment
 * variables. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "dmacoh/platform.h"
#include "i8237.h"
#include "parse.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

/* A profile file larger than this is not a profile (every key fits in a few hundred bytes). */
#define DC_PROFILE_MAX_BYTES (1u << 20)

static const char *const coherency_names[] = {
    [DC_COHERENT] = "coherent",
    [DC_NONCOHERENT] = "noncoherent",
};

static const char *const repl_names[] = {
    [DC_REPL_LRU] = "lru",
    [DC_REPL_RANDOM] = "random",
};

static const char *const sysdma_ctl_names[] = {
    [DC_SYSDMA_8237] = "8237",
    [DC_SYSDMA_PL080] = "pl080",
};

const char *dc_sysdma_ctl_name(enum dc_sysdma_ctl c)
{
	return (unsigned)c < DC_ARRAY_SIZE(sysdma_ctl_names) ? sysdma_ctl_names[c] : "?";
}

const char *dc_coherency_name(enum dc_coherency c)
{
	return (unsigned)c < DC_ARRAY_SIZE(coherency_names) ? coherency_names[c] : "?";
}

const char *dc_repl_name(enum dc_repl r)
{
	return (unsigned)r < DC_ARRAY_SIZE(repl_names) ? repl_names[r] : "?";
}

/* ---- Built-ins ---------------------------------------------------------------------------- */

static void make_pc(struct dc_platform *p)
{
	*p = (struct dc_platform){
	    .name = "pc",
	    .coherency = DC_COHERENT,
	    .seed = 1,
	    .processors = 2,
	    .phys_size = 8 * GIB,
	    .va_size = 64 * GIB,
	    .line_size = 64,
	    .n_levels = 2,
	    .level = {{32 * KIB, 8, DC_REPL_LRU}, {1 * MIB, 16, DC_REPL_LRU}},
	    .sysdma_chunk = 16,
	    .sysdma_depth = 4,
	    .sysdma_wait_full = true,
	    .sysdma_addr_bits = 24,
	    .sysdma_bw = 4000000,
	    .bm_addr_bits = 32,
	    .bridge_posted = 256,
	    .map_registers = 16,
	    .bm_bw = 1000000000,
	};
}

/* A PC whose DMA does not snoop, with an adversary that makes missing maintenance show as
 * wrong data: dirty lines leave the cache right after a device wrote under them. */
static void make_noncoherent(struct dc_platform *p)
{
	make_pc(p);
	snprintf(p->name, sizeof(p->name), "noncoherent");
	p->coherency = DC_NONCOHERENT;
	p->adv.random_evict = 0.001;
	p->adv.evict_dirty_after_dma = true;
}

/* ARM-like: the cache also fetches lines nobody asked for, so a buffer invalidated before a
 * device write can hold stale lines again by the time the CPU reads it. */
static void make_noncoherent_prefetch(struct dc_platform *p)
{
	make_noncoherent(p);
	snprintf(p->name, sizeof(p->name), "noncoherent-prefetch");
	p->adv.prefetch_lines = 2;
	p->adv.speculative_fill = 0.25;
}

/* A non-coherent ARM SoC (profiles/arm-soc.ini is the same as a file): three cache levels
 * with a random-replacement last level, ARM-like speculation, and a PL080 as the system DMA
 * controller (request lines, 32-bit addresses, no ISA and no 8237). */
static void make_arm_soc(struct dc_platform *p)
{
	make_noncoherent_prefetch(p);
	snprintf(p->name, sizeof(p->name), "arm-soc");
	p->seed = 42;
	p->phys_size = 4 * GIB;
	p->va_size = 16 * GIB;
	p->n_levels = 3;
	p->level[0] = (struct dc_cache_geom){32 * KIB, 4, DC_REPL_LRU};
	p->level[1] = (struct dc_cache_geom){256 * KIB, 8, DC_REPL_LRU};
	p->level[2] = (struct dc_cache_geom){2 * MIB, 16, DC_REPL_RANDOM};
	p->adv.random_evict = 0.002;
	p->adv.prefetch_lines = 1;
	p->adv.speculative_fill = 0.1;
	p->sysdma_ctl = DC_SYSDMA_PL080;
	p->sysdma_addr_bits = 32;
	p->sysdma_bw = 100000000;
	p->bridge_posted = 128;
	p->map_registers = 32;
	p->bm_bw = 500000000;
}

static const struct {
	const char *name;
	void (*make)(struct dc_platform *p);
} builtins[] = {
    {"pc", make_pc},
    {"noncoherent", make_noncoherent},
    {"noncoherent-prefetch", make_noncoherent_prefetch},
    {"arm-soc", make_arm_soc},
};

static const char *const builtin_names[] = {"pc", "noncoherent", "noncoherent-prefetch", "arm-soc",
                                            NULL};

const char *const *dc_platform_builtin_names(void)
{
	return builtin_names;
}

int dc_platform_builtin(const char *name, struct dc_platform *p)
{
	if (!name || !p)
		return DC_ERR_INVAL;
	for (size_t i = 0; i < DC_ARRAY_SIZE(builtins); i++) {
		if (!strcmp(name, builtins[i].name)) {
			builtins[i].make(p);
			return DC_OK;
		}
	}
	return DC_ERR_NOTFOUND;
}

/* ---- The key table ------------------------------------------------------------------------ */

enum sect {
	S_PLATFORM,
	S_MEMORY,
	S_CACHE,
	S_L1, /* S_L1 + i is [cache.L<i+1>] */
	S_L2,
	S_L3,
	S_ADVERSARY,
	S_SYSDMA,
	S_BUSMASTER,
	S_COUNT
};

static const char *const sect_names[S_COUNT] = {
    [S_PLATFORM] = "platform",   [S_MEMORY] = "memory", [S_CACHE] = "cache",
    [S_L1] = "cache.L1",         [S_L2] = "cache.L2",   [S_L3] = "cache.L3",
    [S_ADVERSARY] = "adversary", [S_SYSDMA] = "sysdma", [S_BUSMASTER] = "busmaster",
};

enum kind {
	K_BASE,      /* the built-in to start from; not a field */
	K_NAME,      /* char[DC_NAME_MAX] */
	K_COHERENCY, /* enum dc_coherency */
	K_REPL,      /* enum dc_repl */
	K_SYSDMA,    /* enum dc_sysdma_ctl */
	K_BOOL,      /* bool */
	K_PROB,      /* double in [0, 1] */
	K_INT,       /* a count: decimal or 0x hex */
	K_SIZE,      /* bytes: decimal with an optional binary suffix K, M, G, T */
	K_RATE,      /* bytes per simulated second: decimal suffixes, as rates are quoted */
};

/* Constraints on one value beyond its range. */
enum {
	F_POW2 = 1,  /* a power of two */
	F_PAGES = 2, /* a whole number of 4 KiB pages */
};

struct key {
	uint8_t sect;
	uint8_t kind;
	uint8_t width; /* bytes of the field for K_INT, K_SIZE, K_RATE: 4 or 8 */
	uint8_t flags;
	const char *name;
	size_t off;
	uint64_t min, max; /* inclusive, for K_INT, K_SIZE, K_RATE */
};

#define FIELD_SIZE(f) sizeof(((struct dc_platform *)0)->f)
#define KEY(s, n, k, f)                                                                 \
	{                                                                               \
		.sect = s, .kind = k, .name = n, .off = offsetof(struct dc_platform, f) \
	}
#define NUM(s, n, k, f, lo, hi, fl)                                                   \
	{                                                                             \
		.sect = s, .kind = k, .width = FIELD_SIZE(f), .flags = fl, .name = n, \
		.off = offsetof(struct dc_platform, f), .min = lo, .max = hi          \
	}
#define LEVEL_KEYS(i)                                                \
	NUM(S_L1 + i, "size", K_SIZE, level[i].size, 1, 1 * GIB, 0), \
	    NUM(S_L1 + i, "ways", K_INT, level[i].ways, 1, 256, 0),  \
	    KEY(S_L1 + i, "replacement", K_REPL, level[i].repl)

/* Ordered as a profile is written out.  Ranges are documented in docs/profiles.md. */
static const struct key keys[] = {
    {.sect = S_PLATFORM, .kind = K_BASE, .name = "base"},
    KEY(S_PLATFORM, "name", K_NAME, name),
    KEY(S_PLATFORM, "coherency", K_COHERENCY, coherency),
    NUM(S_PLATFORM, "seed", K_INT, seed, 0, UINT64_MAX, 0),
    NUM(S_PLATFORM, "processors", K_INT, processors, 1, DC_MAX_CPUS, 0),
    NUM(S_MEMORY, "phys_size", K_SIZE, phys_size, 32 * MIB, 16 * TIB - 4 * KIB, F_PAGES),
    NUM(S_MEMORY, "va_size", K_SIZE, va_size, 32 * MIB, 16 * TIB - 4 * KIB, F_PAGES),
    NUM(S_CACHE, "line_size", K_SIZE, line_size, 8, 4096, F_POW2),
    LEVEL_KEYS(0),
    LEVEL_KEYS(1),
    LEVEL_KEYS(2),
    KEY(S_ADVERSARY, "random_evict", K_PROB, adv.random_evict),
    KEY(S_ADVERSARY, "evict_dirty_after_dma", K_BOOL, adv.evict_dirty_after_dma),
    NUM(S_ADVERSARY, "prefetch_lines", K_INT, adv.prefetch_lines, 0, 511, 0),
    KEY(S_ADVERSARY, "speculative_fill", K_PROB, adv.speculative_fill),
    KEY(S_SYSDMA, "controller", K_SYSDMA, sysdma_ctl),
    NUM(S_SYSDMA, "chunk", K_SIZE, sysdma_chunk, 8, 64 * KIB, F_POW2),
    NUM(S_SYSDMA, "depth", K_INT, sysdma_depth, 1, 4096, 0),
    KEY(S_SYSDMA, "wait_full", K_BOOL, sysdma_wait_full),
    NUM(S_SYSDMA, "addr_bits", K_INT, sysdma_addr_bits, 16, 64, 0),
    NUM(S_SYSDMA, "bandwidth", K_RATE, sysdma_bw, 1, UINT64_C(1000000000000), 0),
    NUM(S_BUSMASTER, "addr_bits", K_INT, bm_addr_bits, 16, 64, 0),
    NUM(S_BUSMASTER, "bridge_posted", K_SIZE, bridge_posted, 0, 1 * MIB, 0),
    NUM(S_BUSMASTER, "map_registers", K_INT, map_registers, 1, 1u << 20, 0),
    NUM(S_BUSMASTER, "bandwidth", K_RATE, bm_bw, 1, UINT64_C(1000000000000), 0),
};

#define N_KEYS DC_ARRAY_SIZE(keys)

static int key_index(enum sect s, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].sect == s && !strcmp(keys[i].name, name))
			return (int)i;
	return -1;
}

static int sect_index(const char *name, size_t len)
{
	for (int i = 0; i < S_COUNT; i++)
		if (strlen(sect_names[i]) == len && !memcmp(sect_names[i], name, len))
			return i;
	return -1;
}

static bool is_level_sect(int s)
{
	return s >= S_L1 && s <= S_L3;
}

static uint64_t get_uint(const struct dc_platform *p, const struct key *k)
{
	const char *f = (const char *)p + k->off;
	if (k->width == 4) {
		uint32_t v;
		memcpy(&v, f, sizeof(v));
		return v;
	}
	uint64_t v;
	memcpy(&v, f, sizeof(v));
	return v;
}

static void set_uint(struct dc_platform *p, const struct key *k, uint64_t v)
{
	char *f = (char *)p + k->off;
	if (k->width == 4) {
		uint32_t v32 = (uint32_t)v;
		memcpy(f, &v32, sizeof(v32));
	} else {
		memcpy(f, &v, sizeof(v));
	}
}

#define FIELD(p, k, type) ((type *)((char *)(p) + (k)->off))
#define CFIELD(p, k, type) ((const type *)((const char *)(p) + (k)->off))

/* ---- Small text helpers ------------------------------------------------------------------ */

/* A growing output string that, like snprintf, counts what it could not store. */
struct out {
	char *buf;
	size_t len, n;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->n < o->len ? o->len - o->n : 0;
	int k = vsnprintf(room ? o->buf + o->n : NULL, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static bool ascii_lower_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		if (x != *b)
			return false;
	}
	return *a == *b;
}

/* Largest unit that divides v exactly, so the text is short and still exact. */
static void fmt_scaled(char *buf, size_t len, uint64_t v, bool binary)
{
	static const char units[] = "KMGT";
	uint64_t step = binary ? 1024 : 1000, scale = 1;
	int u = -1;
	for (int i = 0; i < 4; i++) {
		if (v == 0 || v % (scale * step))
			break;
		scale *= step;
		u = i;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v / scale, units[u]);
}

static void fmt_uint(char *buf, size_t len, const struct key *k, uint64_t v)
{
	if (k->kind == K_SIZE || k->kind == K_RATE)
		fmt_scaled(buf, len, v, k->kind == K_SIZE);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

/* The shortest decimal text that reads back as exactly d. */
static void fmt_double(char *buf, size_t len, double d)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* User text quoted in a message: cut short, control and non-ASCII bytes shown as '?', so a
 * binary file cannot garble the terminal. */
static void quote(char *buf, size_t len, const char *s, size_t n)
{
	size_t max = 40, j = 0;
	bool cut = n > max;
	if (cut)
		n = max;
	for (size_t i = 0; i < n && j + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (cut && j + 4 < len) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	if (len)
		buf[j < len ? j : len - 1] = 0;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= DC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static void key_label(char *buf, size_t len, const struct key *k)
{
	snprintf(buf, len, "[%s] %s", sect_names[k->sect], k->name);
}

/* ---- Validation --------------------------------------------------------------------------- */

/* Checks one numeric value against its key's range and flags.  `shown` is the value as the
 * user wrote it (or NULL to format v).  Returns false with the reason in msg. */
static bool check_uint(const struct key *k, uint64_t v, const char *shown, char *msg, size_t len)
{
	char lo[32], hi[32], val[64], label[64];
	key_label(label, sizeof(label), k);
	if (shown)
		snprintf(val, sizeof(val), "%s", shown);
	else
		fmt_uint(val, sizeof(val), k, v);
	if (v < k->min || v > k->max) {
		fmt_uint(lo, sizeof(lo), k, k->min);
		fmt_uint(hi, sizeof(hi), k, k->max);
		snprintf(msg, len, "%s: %s is out of range (%s..%s)", label, val, lo, hi);
		return false;
	}
	if ((k->flags & F_POW2) && !is_pow2(v)) {
		snprintf(msg, len, "%s: %s is not a power of two", label, val);
		return false;
	}
	if ((k->flags & F_PAGES) && (v & DC_PAGE_MASK)) {
		snprintf(msg, len, "%s: %s is not a multiple of 4K (the page size)", label, val);
		return false;
	}
	return true;
}

static bool check_prob(const struct key *k, double d, const char *shown, char *msg, size_t len)
{
	char label[64], val[64];
	if (d >= 0 && d <= 1)
		return true;
	key_label(label, sizeof(label), k);
	if (shown)
		snprintf(val, sizeof(val), "%s", shown);
	else
		fmt_double(val, sizeof(val), d);
	snprintf(msg, len, "%s: %s is out of range (0..1)", label, val);
	return false;
}

/* Checks every invariant.  Returns the index of the key to blame (or -1 when the fault is in
 * no key, e.g. n_levels), or -2 when all is well.  key_line, when not NULL, says which keys a
 * file set: a fault that involves several keys is pinned on one the user actually wrote. */
static int check(const struct dc_platform *p, const int *key_line, char *msg, size_t len)
{
	char label[64];
	/* n_levels says which level keys mean anything, so it comes first. */
	if (p->n_levels < 1 || p->n_levels > DC_MAX_CACHE_LEVELS) {
		snprintf(msg, len, "n_levels: %u is out of range (1..%d)", p->n_levels,
		         DC_MAX_CACHE_LEVELS);
		return -1;
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (is_level_sect(k->sect) && (uint32_t)(k->sect - S_L1) >= p->n_levels)
			continue;
		key_label(label, sizeof(label), k);
		switch (k->kind) {
		case K_BASE:
			break;
		case K_NAME: {
			const char *end = memchr(p->name, 0, sizeof(p->name));
			if (!end || !valid_name(p->name, (size_t)(end - p->name))) {
				snprintf(msg, len,
				         "%s: must be 1 to %d characters from A-Z a-z 0-9 . _ + -",
				         label, DC_NAME_MAX - 1);
				return (int)i;
			}
			break;
		}
		case K_COHERENCY:
			if ((unsigned)*CFIELD(p, k, enum dc_coherency) >=
			    DC_ARRAY_SIZE(coherency_names)) {
				snprintf(msg, len, "%s: not a coherency mode", label);
				return (int)i;
			}
			break;
		case K_REPL:
			if ((unsigned)*CFIELD(p, k, enum dc_repl) >= DC_ARRAY_SIZE(repl_names)) {
				snprintf(msg, len, "%s: not a replacement policy", label);
				return (int)i;
			}
			break;
		case K_SYSDMA:
			if ((unsigned)*CFIELD(p, k, enum dc_sysdma_ctl) >=
			    DC_ARRAY_SIZE(sysdma_ctl_names)) {
				snprintf(msg, len, "%s: not a system DMA controller", label);
				return (int)i;
			}
			break;
		case K_BOOL:
			break;
		case K_PROB:
			if (!check_prob(k, *CFIELD(p, k, double), NULL, msg, len))
				return (int)i;
			break;
		case K_INT:
		case K_SIZE:
		case K_RATE:
			if (!check_uint(k, get_uint(p, k), NULL, msg, len))
				return (int)i;
			break;
		}
	}
	/* Cache geometry: the cache model indexes sets with a mask. */
	for (uint32_t l = 0; l < p->n_levels; l++) {
		const struct dc_cache_geom *g = &p->level[l];
		uint64_t per_set = (uint64_t)p->line_size * g->ways;
		if (g->size % per_set == 0 && is_pow2(g->size / per_set))
			continue;
		int cand[3] = {key_index(S_L1 + (int)l, "size"), key_index(S_L1 + (int)l, "ways"),
		               key_index(S_CACHE, "line_size")};
		int blame = cand[0];
		for (int c = 0; key_line && c < 3; c++) {
			if (key_line[cand[c]]) {
				blame = cand[c];
				break;
			}
		}
		char sz[32];
		fmt_scaled(sz, sizeof(sz), g->size, true);
		key_label(label, sizeof(label), &keys[blame]);
		snprintf(msg, len,
		         "%s: L%u of %s with %u ways of %u-byte lines: size / (line_size x ways) "
		         "must be a power of two",
		         label, l + 1, sz, g->ways, p->line_size);
		return blame;
	}
	/* The 8237 model refuses a larger internal buffer; refuse it here, on the key's line,
	 * rather than let a valid-looking profile fail when the controller is built. */
	if ((uint64_t)p->sysdma_chunk * p->sysdma_depth > DC_I8237_BUF_MAX) {
		int cand[2] = {key_index(S_SYSDMA, "depth"), key_index(S_SYSDMA, "chunk")};
		int blame = key_line && !key_line[cand[0]] && key_line[cand[1]] ? cand[1] : cand[0];
		key_label(label, sizeof(label), &keys[blame]);
		snprintf(msg, len,
		         "%s: an internal buffer of %u chunks of %u bytes is larger than the "
		         "controller's %u MiB",
		         label, p->sysdma_depth, p->sysdma_chunk, DC_I8237_BUF_MAX >> 20);
		return blame;
	}
	/* The bus-master devices have 32- or 64-bit address registers, and DEVICE_DESCRIPTION
	 * v1/v2 can say only Dma32BitAddresses or Dma64BitAddresses: other widths would pass
	 * here and be refused when the device is built. */
	if (p->bm_addr_bits != 32 && p->bm_addr_bits != 64) {
		int ki = key_index(S_BUSMASTER, "addr_bits");
		key_label(label, sizeof(label), &keys[ki]);
		snprintf(msg, len, "%s: %u: bus masters address 32 or 64 bits", label,
		         p->bm_addr_bits);
		return ki;
	}
	return -2;
}

int dc_platform_validate(const struct dc_platform *p, char *err, size_t errlen)
{
	char msg[256];
	if (!p) {
		if (err && errlen)
			snprintf(err, errlen, "no platform");
		return DC_ERR_INVAL;
	}
	if (check(p, NULL, msg, sizeof(msg)) == -2)
		return DC_OK;
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return DC_ERR_INVAL;
}

/* ---- Writer ------------------------------------------------------------------------------- */

int dc_platform_format(const struct dc_platform *p, char *buf, size_t len)
{
	struct out o = {buf, buf ? len : 0, 0};
	char val[64];
	int sect = -1;
	if (o.len)
		o.buf[0] = 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (k->kind == K_BASE)
			continue;
		if (is_level_sect(k->sect) && (uint32_t)(k->sect - S_L1) >= p->n_levels)
			continue;
		if (k->sect != sect) {
			out_printf(&o, "%s[%s]\n", sect < 0 ? "" : "\n", sect_names[k->sect]);
			sect = k->sect;
		}
		switch (k->kind) {
		case K_BASE:
			break;
		case K_NAME:
			snprintf(val, sizeof(val), "%.*s", DC_NAME_MAX - 1, p->name);
			break;
		case K_COHERENCY:
			snprintf(val, sizeof(val), "%s",
			         dc_coherency_name(*CFIELD(p, k, enum dc_coherency)));
			break;
		case K_REPL:
			snprintf(val, sizeof(val), "%s", dc_repl_name(*CFIELD(p, k, enum dc_repl)));
			break;
		case K_SYSDMA:
			snprintf(val, sizeof(val), "%s",
			         dc_sysdma_ctl_name(*CFIELD(p, k, enum dc_sysdma_ctl)));
			break;
		case K_BOOL:
			snprintf(val, sizeof(val), "%s", *CFIELD(p, k, bool) ? "yes" : "no");
			break;
		case K_PROB:
			fmt_double(val, sizeof(val), *CFIELD(p, k, double));
			break;
		case K_INT:
		case K_SIZE:
		case K_RATE:
			fmt_uint(val, sizeof(val), k, get_uint(p, k));
			break;
		}
		out_printf(&o, "%s = %s\n", k->name, val);
	}
	return o.n > INT32_MAX ? INT32_MAX : (int)o.n;
}

/* ---- Value parsers ------------------------------------------------------------------------ */

/* Digits (or 0x and hex digits for a plain count), then for sizes and rates an optional unit
 * (the shared strict parser, hw/parse.h).  *overflow tells a number too large for 64 bits
 * from one that is not a number. */
static bool parse_uint(const char *s, enum kind kind, uint64_t *out, bool *overflow)
{
	unsigned fl = kind == K_INT    ? DC_NUM_HEX
	              : kind == K_SIZE ? DC_NUM_SIZE
	              : kind == K_RATE ? DC_NUM_RATE
	                               : 0;
	int r = dc_parse_u64(s, fl, UINT64_MAX, out);
	*overflow = r == DC_ERR_RANGE;
	if (*overflow)
		*out = UINT64_MAX;
	return r != DC_ERR_PARSE;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < DC_ARRAY_SIZE(yes); i++) {
		if (ascii_lower_eq(s, yes[i])) {
			*out = true;
			return true;
		}
		if (ascii_lower_eq(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* A plain decimal number: strtod alone would also take hex floats, "nan" and "infinity".
 * Like fmt_double, this assumes the C locale's '.' (the tools never call setlocale). */
static bool parse_prob(const char *s, double *out)
{
	if (!*s || strspn(s, "0123456789.eE+-") != strlen(s) || !strpbrk(s, "0123456789"))
		return false;
	char *end;
	double d = strtod(s, &end);
	if (*end || isnan(d))
		return false;
	*out = d + 0.0; /* -0 reads as 0, so the profile writes back as it was read */
	return true;
}

static int enum_lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower_eq(s, names[i]))
			return (int)i;
	return -1;
}

/* ---- The parser --------------------------------------------------------------------------- */

struct parse {
	const char *file;
	const char *text;
	size_t len, pos;
	int line;               /* lines handed to inih so far: the line being handled */
	bool prev_key;          /* inih would read an indented line as a continuation */
	int sect_line[S_COUNT]; /* line of each section's header, 0: absent */
	int key_line[N_KEYS];   /* line where each key was set, 0: not set */
	int n_set;
	uint32_t base_levels;
	bool name_set;
	struct dc_platform w;
	int err_line; /* first error (0: none; -1: an error not tied to a line) */
	char msg[320];
};

__attribute__((format(printf, 3, 4))) static void perr(struct parse *ps, int line, const char *fmt,
                                                       ...)
{
	if (ps->err_line)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
	va_end(ap);
	ps->err_line = line ? line : -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Where inih stops looking for one of `chars` in s[0..n): at one of them, at an inline
 * comment (';' after whitespace), or at the end. */
static size_t scan_chars(const char *s, size_t n, const char *chars)
{
	bool was_space = false;
	size_t i;
	for (i = 0; i < n; i++) {
		if (strchr(chars, s[i]) || (was_space && s[i] == ';'))
			break;
		was_space = is_space(s[i]);
	}
	return i;
}

static void list_sections(char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	for (int i = 0; i < S_COUNT; i++)
		out_printf(&o, "%s[%s]", i ? ", " : "", sect_names[i]);
}

static void list_keys(enum sect s, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].sect == s)
			out_printf(&o, "%s%s", o.n ? ", " : "", keys[i].name);
}

static void section_header(struct parse *ps, const char *b, size_t n)
{
	char q[64], list[256];
	size_t close = 1 + scan_chars(b + 1, n - 1, "]");
	if (close >= n || b[close] != ']') {
		quote(q, sizeof(q), b, n);
		perr(ps, ps->line, "unterminated section header '%s'", q);
		return;
	}
	size_t rest = close + 1;
	while (rest < n && is_space(b[rest]))
		rest++;
	if (rest < n && b[rest] != ';' && b[rest] != '#') {
		quote(q, sizeof(q), b + rest, n - rest);
		perr(ps, ps->line, "unexpected text after the section header: '%s'", q);
		return;
	}
	int s = sect_index(b + 1, close - 1);
	if (s < 0) {
		quote(q, sizeof(q), b + 1, close - 1);
		list_sections(list, sizeof(list));
		perr(ps, ps->line, "unknown section [%s] (expected one of %s)", q, list);
		return;
	}
	if (ps->sect_line[s]) {
		perr(ps, ps->line, "duplicate section [%s] (first at line %d)", sect_names[s],
		     ps->sect_line[s]);
		return;
	}
	ps->sect_line[s] = ps->line;
}

/* Sees each line just before inih does and does what inih cannot (see the top of the file). */
static void classify(struct parse *ps, const char *raw, size_t n)
{
	char q[64];
	const char *b = raw;
	if (ps->line == 1 && n >= 3 && !memcmp(raw, "\xEF\xBB\xBF", 3)) {
		b += 3;
		n -= 3;
	}
	while (n && is_space(*b)) {
		b++;
		n--;
	}
	while (n && is_space(b[n - 1]))
		n--;
	if (!n || *b == ';' || *b == '#')
		return;
	if (ps->prev_key && b > raw) {
		perr(ps, ps->line,
		     "indented line: inih would read it as the continuation of the previous value; "
		     "multi-line values are not supported, remove the indentation");
		return;
	}
	if (*b == '[') {
		section_header(ps, b, n);
		ps->prev_key = false;
		return;
	}
	size_t sep = scan_chars(b, n, "=:");
	if (sep >= n || (b[sep] != '=' && b[sep] != ':')) {
		quote(q, sizeof(q), b, n);
		perr(ps, ps->line, "expected '[section]' or 'key = value', got '%s'", q);
		return;
	}
	ps->prev_key = true;
}

/* inih's line source: one line per call, as fgets would give it, counted. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	if (ps->err_line || ps->pos >= ps->len || num < 4)
		return NULL;
	const char *s = ps->text + ps->pos;
	size_t rest = ps->len - ps->pos;
	const char *nl = memchr(s, '\n', rest);
	size_t n = nl ? (size_t)(nl - s) : rest;
	ps->line++;
	ps->pos += nl ? n + 1 : n;
	/* inih needs room for "\r\n" and the terminator besides the text. */
	if (n > (size_t)num - 3) {
		perr(ps, ps->line, "line too long (more than %d characters)", num - 3);
		return NULL;
	}
	if (memchr(s, 0, n)) {
		perr(ps, ps->line, "NUL byte in the line (not a text file?)");
		return NULL;
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = 0;
	classify(ps, s, n);
	return ps->err_line ? NULL : str;
}

/* What each kind of value looks like, in the words of "expected ..., got '...'".  Integers say
 * "positive" or "non-negative" from their key's range. */
static const char *const kind_expect[] = {
    [K_BASE] = "a built-in profile",
    [K_NAME] = "1 to 63 characters from A-Z a-z 0-9 . _ + -",
    [K_COHERENCY] = "coherent or noncoherent",
    [K_REPL] = "lru or random",
    [K_SYSDMA] = "8237 or pl080",
    [K_BOOL] = "yes or no (or true/false, on/off, 1/0)",
    [K_PROB] = "a probability from 0 to 1",
    [K_INT] = "an integer",
    [K_SIZE] = "a size in bytes (suffix K, M, G or T)",
    [K_RATE] = "bytes per second (suffix K, M or G: x1000)",
};

/* Parses value into the profile being built; false (with the error recorded) if it is not a
 * value of the key's kind or is out of its range. */
static bool apply(struct parse *ps, const struct key *k, const char *value)
{
	char label[64], q[64];
	key_label(label, sizeof(label), k);
	quote(q, sizeof(q), value, strlen(value));
	bool ok = false;
	switch (k->kind) {
	case K_BASE:
		for (size_t i = 0; i < DC_ARRAY_SIZE(builtins) && !ok; i++) {
			if (!strcmp(value, builtins[i].name)) {
				builtins[i].make(&ps->w);
				ps->base_levels = ps->w.n_levels;
				ok = true;
			}
		}
		if (!ok) {
			char list[128];
			struct out o = {list, sizeof(list), 0};
			for (size_t i = 0; i < DC_ARRAY_SIZE(builtins); i++)
				out_printf(&o, "%s%s", i ? ", " : "", builtins[i].name);
			perr(ps, ps->line, "%s: unknown built-in profile '%s' (expected one of %s)",
			     label, q, list);
			return false;
		}
		return true;
	case K_NAME:
		ok = valid_name(value, strlen(value));
		if (ok) {
			snprintf(ps->w.name, sizeof(ps->w.name), "%s", value);
			ps->name_set = true;
		}
		break;
	case K_COHERENCY: {
		int v = enum_lookup(value, coherency_names, DC_ARRAY_SIZE(coherency_names));
		ok = v >= 0;
		if (ok)
			*FIELD(&ps->w, k, enum dc_coherency) = (enum dc_coherency)v;
		break;
	}
	case K_REPL: {
		int v = enum_lookup(value, repl_names, DC_ARRAY_SIZE(repl_names));
		ok = v >= 0;
		if (ok)
			*FIELD(&ps->w, k, enum dc_repl) = (enum dc_repl)v;
		break;
	}
	case K_SYSDMA: {
		int v = enum_lookup(value, sysdma_ctl_names, DC_ARRAY_SIZE(sysdma_ctl_names));
		ok = v >= 0;
		if (ok)
			*FIELD(&ps->w, k, enum dc_sysdma_ctl) = (enum dc_sysdma_ctl)v;
		break;
	}
	case K_BOOL:
		ok = parse_bool(value, FIELD(&ps->w, k, bool));
		break;
	case K_PROB: {
		double d;
		ok = parse_prob(value, &d);
		if (!ok)
			break;
		if (!check_prob(k, d, q, ps->msg, sizeof(ps->msg))) {
			ps->err_line = ps->line;
			return false;
		}
		*FIELD(&ps->w, k, double) = d;
		break;
	}
	case K_INT:
	case K_SIZE:
	case K_RATE: {
		uint64_t v;
		bool overflow;
		ok = parse_uint(value, (enum kind)k->kind, &v, &overflow);
		if (!ok)
			break;
		if (overflow) {
			char lo[32], hi[32];
			fmt_uint(lo, sizeof(lo), k, k->min);
			fmt_uint(hi, sizeof(hi), k, k->max);
			perr(ps, ps->line, "%s: %s is out of range (%s..%s)", label, q, lo, hi);
			return false;
		}
		if (!check_uint(k, v, q, ps->msg, sizeof(ps->msg))) {
			ps->err_line = ps->line;
			return false;
		}
		set_uint(&ps->w, k, v);
		break;
	}
	}
	if (!ok) {
		const char *what =
		    k->kind < DC_ARRAY_SIZE(kind_expect) ? kind_expect[k->kind] : "?";
		if (k->kind == K_INT)
			what = k->min >= 1 ? "a positive integer" : "a non-negative integer";
		perr(ps, ps->line, "%s: expected %s, got '%s'", label, what, q);
	}
	return ok;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	char q[64], list[128];
	if (ps->err_line)
		return 0;
	if (!*section) {
		quote(q, sizeof(q), name, strlen(name));
		perr(ps, ps->line, "key '%s' outside any section (put it under [platform], ...)",
		     q);
		return 0;
	}
	int s = sect_index(section, strlen(section));
	if (s < 0) { /* the reader refuses unknown sections; this is inih disagreeing */
		perr(ps, ps->line, "unknown section");
		return 0;
	}
	int ki = key_index((enum sect)s, name);
	if (ki < 0) {
		quote(q, sizeof(q), name, strlen(name));
		list_keys((enum sect)s, list, sizeof(list));
		perr(ps, ps->line, "[%s] unknown key '%s' (expected one of %s)", sect_names[s], q,
		     list);
		return 0;
	}
	const struct key *k = &keys[ki];
	if (ps->key_line[ki]) {
		perr(ps, ps->line, "[%s] %s: duplicate key (first set at line %d)", sect_names[s],
		     k->name, ps->key_line[ki]);
		return 0;
	}
	if (k->kind == K_BASE && ps->n_set) {
		perr(ps, ps->line,
		     "[platform] base: must be the first key of the file, it replaces every value "
		     "set before it");
		return 0;
	}
	ps->key_line[ki] = ps->line;
	ps->n_set++;
	return apply(ps, k, value);
}

/* The highest [cache.Ln] present sets the number of levels; a level the base lacks must be
 * described in full. */
static void resolve_levels(struct parse *ps)
{
	int top = 0;
	for (int i = 0; i < DC_MAX_CACHE_LEVELS; i++)
		if (ps->sect_line[S_L1 + i])
			top = i + 1;
	for (int i = 0; i < top; i++) {
		if (ps->sect_line[S_L1 + i])
			continue;
		int above = i + 1;
		while (!ps->sect_line[S_L1 + above])
			above++;
		perr(ps, ps->sect_line[S_L1 + above],
		     "section [%s] without [%s]: the [cache.Ln] sections describe every level, "
		     "from L1 without gaps (an empty [%s] keeps the base's)",
		     sect_names[S_L1 + above], sect_names[S_L1 + i], sect_names[S_L1 + i]);
		return;
	}
	for (int i = (int)ps->base_levels; i < top; i++) {
		static const char *const must[] = {"size", "ways"};
		for (size_t m = 0; m < DC_ARRAY_SIZE(must); m++) {
			if (!ps->key_line[key_index(S_L1 + i, must[m])]) {
				perr(ps, ps->sect_line[S_L1 + i],
				     "[%s] %s: missing (the base profile has %u cache levels, so a "
				     "new "
				     "level needs size and ways)",
				     sect_names[S_L1 + i], must[m], ps->base_levels);
				return;
			}
		}
	}
	if (top)
		ps->w.n_levels = (uint32_t)top;
	for (uint32_t i = ps->w.n_levels; i < DC_MAX_CACHE_LEVELS; i++)
		ps->w.level[i] = (struct dc_cache_geom){0};
}

/* A file that names no profile is called after itself: "boards/my-soc.ini" is "my-soc". */
static void default_name(struct parse *ps)
{
	if (ps->name_set || !ps->file)
		return;
	const char *b = strrchr(ps->file, '/');
	b = b ? b + 1 : ps->file;
	size_t n = strlen(b);
	if (n > 4 && !strcmp(b + n - 4, ".ini"))
		n -= 4;
	if (valid_name(b, n))
		snprintf(ps->w.name, sizeof(ps->w.name), "%.*s", (int)n, b);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int dc_platform_parse(const char *text, size_t len, const char *name, struct dc_platform *p,
                      char *err, size_t errlen)
{
	const char *file = name ? name : "<profile>";
	if (!p || (!text && len)) {
		set_err(err, errlen, "%s: no input", file);
		return DC_ERR_INVAL;
	}
	/* Also keeps line numbers far from int overflow. */
	if (len > DC_PROFILE_MAX_BYTES) {
		set_err(err, errlen, "%s: too large for a profile (more than %u bytes)", file,
		        DC_PROFILE_MAX_BYTES);
		return DC_ERR_PARSE;
	}
	struct parse *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		set_err(err, errlen, "%s: out of memory", file);
		return DC_ERR_NOMEM;
	}
	ps->file = name;
	ps->text = text;
	ps->len = len;
	make_pc(&ps->w);
	ps->base_levels = ps->w.n_levels;

	int r = ini_parse_stream(reader, ps, handler, ps);
	if (r < 0) {
		free(ps);
		set_err(err, errlen, "%s: out of memory", file);
		return DC_ERR_NOMEM;
	}
	/* inih found a line it could not read before any we refused (should not happen: the
	 * reader refuses the same lines, with a better message). */
	if (r > 0 && (ps->err_line <= 0 || r < ps->err_line)) {
		ps->err_line = 0;
		perr(ps, r, "syntax error");
	}
	/* A profile with no section and no key describes nothing: a run on it would test the
	 * default machine while its author believes it tests theirs. */
	bool any_section = false;
	for (int i = 0; i < S_COUNT; i++)
		any_section |= ps->sect_line[i] != 0;
	if (!ps->err_line && !ps->n_set && !any_section)
		perr(ps, 0,
		     "empty profile: no section and no key (a profile names what differs from its "
		     "base, e.g. [platform] base = noncoherent)");
	if (!ps->err_line)
		resolve_levels(ps);
	if (!ps->err_line) {
		default_name(ps);
		char msg[256];
		int ki = check(&ps->w, ps->key_line, msg, sizeof(msg));
		if (ki != -2) {
			int line = 0;
			if (ki >= 0) {
				line = ps->key_line[ki];
				if (!line && is_level_sect(keys[ki].sect))
					line = ps->sect_line[keys[ki].sect];
			}
			perr(ps, line, "%s", msg);
		}
	}
	int ret = DC_OK;
	if (ps->err_line > 0) {
		set_err(err, errlen, "%s:%d: %s", file, ps->err_line, ps->msg);
		ret = DC_ERR_PARSE;
	} else if (ps->err_line < 0) {
		set_err(err, errlen, "%s: %s", file, ps->msg);
		ret = DC_ERR_PARSE;
	} else {
		*p = ps->w;
	}
	free(ps);
	return ret;
}

int dc_platform_load(const char *path, struct dc_platform *p, char *err, size_t errlen)
{
	if (!path || !p) {
		set_err(err, errlen, "no file");
		return DC_ERR_INVAL;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return DC_ERR_IO;
	}
	char *buf = malloc(DC_PROFILE_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		set_err(err, errlen, "%s: out of memory", path);
		return DC_ERR_NOMEM;
	}
	size_t n = fread(buf, 1, DC_PROFILE_MAX_BYTES + 1, f);
	int ret;
	if (ferror(f)) {
		set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		ret = DC_ERR_IO;
	} else {
		ret = dc_platform_parse(buf, n, path, p, err, errlen);
	}
	free(buf);
	fclose(f);
	return ret;
}
