/* dmacoh torture: the pieces shared by the campaign (cmd_torture.c), the generator of runs
 * (torture_gen.c) and the verdicts (torture_verdict.c).  Tool-side only: nothing here is part
 * of the library, and everything is deterministic in (campaign seed, run index). */
#ifndef DC_TOOLS_TORTURE_H
#define DC_TOOLS_TORTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One driver module, as `dmacoh list drivers` describes it. */
struct tt_driver {
	char name[64];   /* module name: "sysdma", "sysdma-bug-C07" */
	char device[16]; /* device model it drives: "sysblk" */
	char rule[8];    /* the rule a twin breaks ("C07"); "" for a correct driver */
};

/* What a twin needs from its run to be caught (bits of tt_trigger.needs). */
enum {
	TT_NEED_READ = 1u << 0,    /* at least one read IRP completed into the driver */
	TT_NEED_WRITE = 1u << 1,   /* at least one write IRP */
	TT_NEED_RW = 1u << 2,      /* at least one read or write IRP */
	TT_NEED_FAULT = 1u << 3,   /* at least one injected transfer error */
	TT_NEED_LARGE = 1u << 4,   /* every request split into pieces (size_min above min_size) */
	TT_NEED_UNALIGN = 1u << 5, /* buffers that start inside a page (align not page / 0) */
	TT_NEED_MAPREG = 1u << 6,  /* requests that take fewer map registers than the adapter has */
	TT_NEVER = 1u << 7,        /* no workload dmacoh can generate triggers it (documented) */
	TT_NEED_SMALL = 1u << 8,   /* every request one piece (size_max at most min_size) */
};

/* Per twin: what its workload must contain so that its rule can fire.  Kept as data and
 * printed by `dmacoh torture --triggers` (docs/torture.md explains each row). */
struct tt_trigger {
	const char *twin;  /* module name */
	unsigned needs;    /* TT_NEED_* */
	uint32_t min_size; /* TT_NEED_LARGE: size_min must exceed this many bytes;
	                      TT_NEED_SMALL: size_max must not exceed it */
	const char *why;   /* one line: what in the bug needs that */
	/* TT_NEED_MAPREG: the most map registers the twin's adapter can get whatever the
	 * platform has (its DEVICE_DESCRIPTION's MaximumLength in pages + 1); 0: no cap. */
	uint32_t max_regs;
};
const struct tt_trigger *tt_trigger_find(const char *twin);
const struct tt_trigger *tt_triggers(size_t *n);

/* One generated run: everything needed to execute and reproduce it. */
struct tt_run {
	uint64_t index;      /* position in the campaign's sequence */
	int driver;          /* index into the campaign's driver table */
	bool profile;        /* platform is a generated profile file */
	char platform[64];   /* built-in name, or the profile's name */
	char prof_path[512]; /* the profile file (profile runs) */
	char prof_text[2048];
	bool coherent; /* the platform's DMA snoops the caches */
	unsigned map_registers;
	char workload[256];
	uint64_t seed;
	/* the workload's parameters, for the trigger table */
	uint32_t size_min, size_max;
	int align; /* -1 any, -2 line, -3 page, else the offset */
	unsigned outstanding;
	uint64_t fault;
};

/* Fills r for index k of the campaign with seed `seed` (deterministic). dir: where a
 * generated profile is written. */
void tt_generate(struct tt_run *r, uint64_t seed, uint64_t k, const struct tt_driver *drv, int ndrv,
                 const char *dir);
/* Which of n shards run k belongs to (deterministic, spread). */
unsigned tt_shard_of(uint64_t seed, uint64_t k, unsigned n);

/* What a finished run produced, and the verdict on it. */
struct tt_result {
	int exit_code;  /* exit status, -1 if killed by a signal or timed out */
	int signal;     /* the signal that ended it, 0 if none */
	bool timed_out; /* torture's host timeout killed it */
	double secs;
	bool parsed; /* the report (JSON) and summary could be read */
	char rules[256];
	uint64_t irps, reads, writes, ioctls, failed, hung, faults, false_ok;
	bool wrong_data, stopped;
	/* verdict */
	bool failure;
	const char *verdict; /* clean | caught | not-triggered | FAIL */
	const char *cls;     /* failure class, "" if none */
	char detail[512];
};

/* Failure classes, in the order the summary counts them. */
extern const char *const tt_classes[];
#define TT_NCLASSES 8

/* Parses stdout (JSON report) and stderr (human summary) of one `dmacoh run` into res. */
void tt_parse_output(struct tt_result *res, const char *out, const char *err);
/* Sets the verdict of res for run r of driver d (correct unless d->rule is set and not
 * as_correct). */
void tt_judge(struct tt_result *res, const struct tt_run *r, const struct tt_driver *d,
              bool as_correct);

#endif
