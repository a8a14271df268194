/* Loading and running a test application (win32_app.c): a module built by `dmacoh-cc --app`
 * whose main or wmain runs as the application's thread, through the Win32 layer (win32.h). */
#ifndef DC_KERNEL_WIN32_APP_H
#define DC_KERNEL_WIN32_APP_H

#include "sys.h"

struct dc_app;
/* Is path an application module (built by dmacoh-cc --app, with main or wmain)?  Reads the
 * file only (nothing runs).  DC_ERR_INVAL with one line in err otherwise. */
int dc_app_check(const char *path, char *err, size_t errlen);
/* Loads it (its constructors run).  DC_ERR_INVAL / DC_ERR_IO with one line in err. */
int dc_app_load(const char *path, struct dc_app **out, char *err, size_t errlen);
/* Its entry point (for the symbolizer). */
const void *dc_app_entry(const struct dc_app *a);
/* Runs main(argc, argv) (or wmain) on the application's thread; at its end cancels what it
 * left pending and closes its handles.  *status: what main returned or exit() was given. */
int dc_app_run(struct dc_sys *s, struct dc_app *a, int argc, char **argv, int *status);

#endif
