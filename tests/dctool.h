/* Running the built dmacoh tool from tests: where it is, and one run with its exit status,
 * stdout and stderr captured separately (through files, so a chatty child never blocks). */
#ifndef DCTOOL_H
#define DCTOOL_H

#include <stdbool.h>
#include <stddef.h>

struct dct_run {
	int status; /* exit status, or -1 if the tool did not exit normally */
	char out[16384], err[8192];
	size_t out_len;
};

/* $DMACOH_BIN (set by make test), else the dmacoh built beside the test binary; NULL if
 * neither can be found. */
const char *dct_tool(void);

/* Runs the tool with args (NULL-terminated).  False if it could not be run. */
bool dct_run_tool(struct dct_run *r, const char *const *args);

#endif
