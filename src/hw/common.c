/* Name tables of the shared enums and the one place the library is allowed to print: the
 * report of a broken simulator invariant, just before abort().  A driver bug never gets here;
 * it is a finding.  Nothing else in the library writes to stdout or stderr. */
#include <stdio.h>
#include <stdlib.h>

#include "dmacoh/common.h"

const char *dc_err_name(int err)
{
	/* Indexed by -err: the codes are small, dense and negative. */
	static const char *const names[] = {
	    [-DC_OK] = "ok",
	    [-DC_ERR_NOMEM] = "out of memory",
	    [-DC_ERR_INVAL] = "invalid argument",
	    [-DC_ERR_RANGE] = "out of range",
	    [-DC_ERR_IO] = "I/O error",
	    [-DC_ERR_PARSE] = "parse error",
	    [-DC_ERR_BUSY] = "busy",
	    [-DC_ERR_NOTFOUND] = "not found",
	    [-DC_ERR_STATE] = "not possible now",
	    [-DC_ERR_TIMEOUT] = "timed out",
	};
	if (err > 0 || err <= -(int)DC_ARRAY_SIZE(names) || !names[-err])
		return "unknown error";
	return names[-err];
}

const char *dc_dir_name(enum dc_dir d)
{
	static const char *const names[] = {
	    [DC_DIR_TO_DEVICE] = "to-device",
	    [DC_DIR_FROM_DEVICE] = "from-device",
	};
	return (unsigned)d < DC_ARRAY_SIZE(names) ? names[d] : "?";
}

void dc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fprintf(stderr, "dmacoh: internal error: %s at %s:%d (%s)\n", expr, file, line, func);
	fflush(stderr);
	abort();
}
