/* The tutorial (docs/devices/writing-a-device.md) as a user runs it: examples/tutorial's
 * device model, driver and Windows test application copied to a directory outside the
 * repository, built there with dmacoh-cc (--device-model, plain, --app), and run by
 * `dmacoh run --device-model --driver --app` on every built-in platform: clean, every frame
 * back intact; the driver's C07 twin caught by C07 alone, on every platform. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/platform.h"

static char tut_dir[64];
static bool tut_built, tut_ok;

/* dmacoh-cc beside the dmacoh the tests run. */
static void tut_cc(char *cc, size_t n)
{
	const char *tool = dct_tool();
	snprintf(cc, n, "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(cc, '/');
	size_t at = slash ? (size_t)(slash - cc) + 1 : 0;
	snprintf(cc + at, n - at, "dmacoh-cc");
}

/* Copies and builds once; false if any step failed (the command is logged). */
static bool tut_build(void)
{
	if (tut_built)
		return tut_ok;
	tut_built = true;
	snprintf(tut_dir, sizeof(tut_dir), "/tmp/dmacoh-tutorial-XXXXXX");
	if (!mkdtemp(tut_dir))
		return false;
	char rel[PATH_MAX], cc[PATH_MAX], cmd[8 * PATH_MAX];
	tut_cc(rel, sizeof(rel));
	if (!realpath(rel, cc)) /* the build runs in the temporary directory */
		return false;
	snprintf(cmd, sizeof(cmd),
	         "cp examples/tutorial/echo_dev.c examples/tutorial/echo_drv.c "
	         "examples/tutorial/echo_app.c %s/ && cd %s && "
	         "%s --device-model -Wall -Wextra -Werror -o echo.so echo_dev.c && "
	         "%s -Wall -Wextra -Werror -o echo_drv.so echo_drv.c && "
	         "%s -Wall -Wextra -Werror -DDMACOH_BUG_C07 -o echo_drv-bug.so echo_drv.c && "
	         "%s --app -Wall -Wextra -Werror -o echo_app.so echo_app.c",
	         tut_dir, tut_dir, cc, cc, cc, cc);
	int rc = system(cmd);
	if (rc != 0)
		dct_log("failed (%d): %s\n", rc, cmd);
	tut_ok = rc == 0;
	return tut_ok;
}

static void tut_run(struct dct_run *r, const char *drv, const char *platform)
{
	char model[PATH_MAX], driver[PATH_MAX], app[PATH_MAX];
	snprintf(model, sizeof(model), "%s/echo.so", tut_dir);
	snprintf(driver, sizeof(driver), "%s/%s.so", tut_dir, drv);
	snprintf(app, sizeof(app), "%s/echo_app.so", tut_dir);
	if (!dct_run_tool(r, (const char *const[]){"run", "--device-model", model, "--driver",
	                                           driver, "--app", app, "--platform", platform,
	                                           "--deterministic", "--quiet", NULL}))
		r->status = -2;
	dct_log("%s on %s: status %d\n%.2000s\n%.2000s\n", drv, platform, r->status, r->err,
	        r->out);
}

DC_TEST(tutorial_out_of_tree_device_driver_app_clean_on_every_platform)
{
	if (!tut_build()) {
		CHECK_MSG(false, "building the tutorial outside the tree failed");
		return;
	}
	for (const char *const *p = dc_platform_builtin_names(); *p; p++) {
		struct dct_run r;
		tut_run(&r, "echo_drv", *p);
		CHECK_EQ(r.status, 0);
		CHECK(strstr(r.out, "echo_app: 64 frames, 0 bad"));
		CHECK(strstr(r.out, "exited with 0; 128 IRPs (0 cancelled, 0 failed), 0 hung"));
		CHECK(strstr(r.out, "findings   none"));
	}
}

DC_TEST(tutorial_twin_caught_by_c07_alone_on_every_platform)
{
	if (!tut_build()) {
		CHECK_MSG(false, "building the tutorial outside the tree failed");
		return;
	}
	for (const char *const *p = dc_platform_builtin_names(); *p; p++) {
		struct dct_run r;
		tut_run(&r, "echo_drv-bug", *p);
		CHECK_EQ(r.status, 1);
		CHECK(strstr(r.err, "C07 missing-adapter-flush"));
		/* at the driver's line, named as the user built it (a path in the temporary
		 * directory, since dmacoh runs elsewhere) */
		CHECK(strstr(r.err, "/echo_drv.c:") || strstr(r.err, "[mapped at echo_drv.c:"));
		CHECK(strstr(r.err, "EchoAdapterControl]"));
		/* C07 and nothing else in the summary's findings line. */
		const char *f = strstr(r.out, "findings   C07 x");
		CHECK(f);
		if (f) {
			const char *eol = strchr(f, '\n');
			CHECK(eol && !memchr(f + 16, ',', (size_t)(eol - f - 16)));
		}
	}
}
