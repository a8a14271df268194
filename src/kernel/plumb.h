/* What the WDM plumbing (plumb.c) shows the application side: the error-log entries drivers
 * wrote, in order, as one line each.  Not a driver interface (drivers use wdm_plumbing.h). */
#ifndef DC_KERNEL_PLUMB_H
#define DC_KERNEL_PLUMB_H

#include <stddef.h>

struct dc_sys;

size_t dc_sys_errlog_count(struct dc_sys *s);
/* Entry i ("error log: ErrorCode 0x... UniqueErrorValue ..."), NULL past the end. */
const char *dc_sys_errlog_text(struct dc_sys *s, size_t i);
/* Loads a .reg file into the system's registry: 0, or a negative dc_err with "file:line: what"
 * in err and the registry unchanged. */
int dc_sys_load_registry(struct dc_sys *s, const char *path, char *err, size_t errlen);

#endif
