/* Test applications (`dmacoh-cc --app`, `dmacoh run --app`): the userdma example driver and its
 * application on every built-in platform (clean; the twin caught at the application's line),
 * the application's exit status in dmacoh's, bad application modules refused with one line,
 * and RtlNtStatusToDosError's documented mapping. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/wdm.h"

/* A file beside the dmacoh binary (its build directory): "apps/userdma_app.so", "dmacoh-cc". */
static const char *beside_tool(const char *name, char *buf, size_t len)
{
	const char *tool = dct_tool();
	if (!tool)
		return NULL;
	const char *slash = strrchr(tool, '/');
	int dir = slash ? (int)(slash - tool) : 1;
	snprintf(buf, len, "%.*s/%s", dir, slash ? tool : ".", name);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl && !nl[1];
}

DC_TEST(app_userdma_clean_on_every_platform)
{
	static const char *const plats[] = {"pc", "noncoherent", "noncoherent-prefetch"};
	char app[PATH_MAX];
	CHECK(beside_tool("apps/userdma_app.so", app, sizeof(app)));
	for (size_t i = 0; i < sizeof(plats) / sizeof(plats[0]); i++) {
		static struct dct_run r;
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app",
		                                             app, "--platform", plats[i],
		                                             "--deterministic", NULL}));
		dct_log("%s:\n%s\n%s\n", plats[i], r.out, r.err);
		CHECK_EQ(r.status, 0);
		CHECK(strstr(r.out, "userdma_app: 0 checks failed"));
		CHECK(strstr(r.out, "exited with 0; 14 IRPs (1 cancelled, 2 failed), 0 hung"));
		CHECK(strstr(r.out, "findings   none"));
	}
}

DC_TEST(app_userdma_twin_caught_at_the_apps_line)
{
	static const char *const plats[] = {"pc", "noncoherent", "noncoherent-prefetch"};
	char app[PATH_MAX];
	CHECK(beside_tool("apps/userdma_app.so", app, sizeof(app)));
	for (size_t i = 0; i < sizeof(plats) / sizeof(plats[0]); i++) {
		static struct dct_run r;
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma-bug-C01",
		                                             "--app", app, "--platform", plats[i],
		                                             "--deterministic", NULL}));
		dct_log("%s:\n%s\n%s\n", plats[i], r.out, r.err);
		CHECK_EQ(r.status, 1);
		/* Written by the application (its Fill), read stale by the device in the
		 * driver's transfer. */
		CHECK(strstr(r.err, "C01 stale-device-read"));
		CHECK(strstr(r.err, "[last written by the CPU at examples/apps/userdma_app.c:"));
		CHECK(strstr(r.err, "[mapped at examples/drivers/userdma.c:"));
		CHECK(strstr(r.out, "findings   C01 x"));
	}
}

/* Builds a one-file application (or, with driver, a driver module) with dmacoh-cc into dir. */
static bool build_module(const char *dir, const char *name, const char *src, bool app)
{
	char cc[PATH_MAX], path[PATH_MAX + 64], cmd[4 * PATH_MAX];
	if (!beside_tool("dmacoh-cc", cc, sizeof(cc)))
		return false;
	snprintf(path, sizeof(path), "%s/%s.c", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	fputs(src, f);
	fclose(f);
	/* The examples' headers, from the source tree the tests run in. */
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return false;
	snprintf(cmd, sizeof(cmd), "%s %s -I%s/examples/drivers -o %s/%s.so %s", cc,
	         app ? "--app" : "", cwd, dir, name, path);
	return system(cmd) == 0;
}

DC_TEST(app_exit_status_goes_into_dmacohs)
{
	char dir[] = "/tmp/dmacoh-app-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(build_module(dir, "ret3", "#include <windows.h>\nint main(void) { return 3; }\n",
	                   true));
	CHECK(build_module(dir, "exit4",
	                   "#include <stdlib.h>\n#include <windows.h>\n"
	                   "static void Quit(void) { exit(4); }\n"
	                   "int main(void) { Quit(); return 0; }\n",
	                   true));
	CHECK(
	    build_module(dir, "args",
	                 "#include <string.h>\n#include <windows.h>\n"
	                 "int wmain(int argc, wchar_t **argv) {\n"
	                 "  return argc == 3 && argv[2][0] == L'z' && sizeof(WCHAR) == 2 ? 0 : 5;\n"
	                 "}\n",
	                 true));
	static struct dct_run r;
	char app[PATH_MAX];
	snprintf(app, sizeof(app), "%s/ret3.so", dir);
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app", app,
	                                             "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.out, "exited with 3; 0 IRPs"));
	CHECK(strstr(r.out, "findings   none"));
	snprintf(app, sizeof(app), "%s/exit4.so", dir);
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app", app,
	                                             "--deterministic", NULL}));
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.out, "exited with 4;"));
	snprintf(app, sizeof(app), "%s/args.so", dir);
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app", app,
	                                             "--deterministic", "--", "y", "z", NULL}));
	dct_log("%s\n%s\n", r.out, r.err);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "exited with 0;"));
	/* With --workload too: the workload first, then the application. */
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--workload",
	                                             "count=8", "--app", app, "--deterministic",
	                                             "--", "y", "z", NULL}));
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "  IRPs       8 ("));
	CHECK(strstr(r.out, "exited with 0;"));
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

DC_TEST(app_end_cancels_what_is_left_and_a_deadlock_is_reported)
{
	char dir[] = "/tmp/dmacoh-app-XXXXXX";
	CHECK(mkdtemp(dir));
	/* Leaves a cancellable request pending and its handle open: cancelled at the end, as
	 * at process exit; not hung. */
	CHECK(build_module(dir, "leave",
	                   "#include <windows.h>\n#include \"userdma_ioctl.h\"\n"
	                   "static OVERLAPPED ov;\nstatic USERDMA_INFO info;\n"
	                   "int main(void) {\n"
	                   "  HANDLE h = CreateFileA(USERDMA_DOS_NAME, GENERIC_READ, 0, NULL,\n"
	                   "                         OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);\n"
	                   "  if (h == INVALID_HANDLE_VALUE) return 10;\n"
	                   "  if (DeviceIoControl(h, IOCTL_USERDMA_WAIT, NULL, 0, &info,\n"
	                   "                      sizeof(info), NULL, &ov)) return 11;\n"
	                   "  return GetLastError() == ERROR_IO_PENDING ? 0 : 12;\n"
	                   "}\n",
	                   true));
	/* Waits for an event nobody sets: the wait fails instead of hanging. */
	CHECK(build_module(dir, "deadlock",
	                   "#include <windows.h>\n"
	                   "int main(void) {\n"
	                   "  HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);\n"
	                   "  if (WaitForSingleObject(e, 50) != WAIT_TIMEOUT) return 20;\n"
	                   "  if (WaitForSingleObject(e, INFINITE) != WAIT_FAILED) return 21;\n"
	                   "  return GetLastError() == ERROR_POSSIBLE_DEADLOCK ? 0 : 22;\n"
	                   "}\n",
	                   true));
	static struct dct_run r;
	char app[PATH_MAX];
	snprintf(app, sizeof(app), "%s/leave.so", dir);
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app", app,
	                                             "--deterministic", NULL}));
	dct_log("%s\n%s\n", r.out, r.err);
	CHECK_EQ(r.status, 0);
	CHECK(strstr(r.out, "exited with 0; 1 IRPs (1 cancelled, 0 failed), 0 hung, 0 deadlocked"));
	snprintf(app, sizeof(app), "%s/deadlock.so", dir);
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app", app,
	                                             "--deterministic", NULL}));
	dct_log("%s\n%s\n", r.out, r.err);
	CHECK_EQ(r.status, 1);
	CHECK(strstr(r.out, "exited with 0; 0 IRPs (0 cancelled, 0 failed), 0 hung, 1 deadlocked"));
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

DC_TEST(app_bad_modules_one_line_exit_2)
{
	char dir[] = "/tmp/dmacoh-app-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(build_module(dir, "nomain", "#include <windows.h>\nint NotMain(void) { return 0; }\n",
	                   true));
	char nomain[PATH_MAX], text[PATH_MAX], drv[PATH_MAX];
	snprintf(nomain, sizeof(nomain), "%s/nomain.so", dir);
	snprintf(text, sizeof(text), "%s/nomain.c", dir);
	CHECK(beside_tool("drivers/userdma.so", drv, sizeof(drv)));
	static const struct {
		const char *app, *says;
	} cases[] = {
	    {NULL, "defines no main or wmain"},
	    {NULL, "not a shared object"},
	    {NULL, "it is a driver: give it with --driver"},
	    {"/nonexistent/app.so", "no such application module"},
	};
	const char *apps[] = {nomain, text, drv, cases[3].app};
	for (size_t i = 0; i < 4; i++) {
		static struct dct_run r;
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "userdma", "--app",
		                                             apps[i], NULL}));
		dct_log("%s: %s\n", apps[i], r.err);
		CHECK_EQ(r.status, 2);
		CHECK(strstr(r.err, cases[i].says));
		CHECK(one_line(r.err));
	}
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

DC_TEST(app_ntstatus_to_win32_error)
{
	static const struct {
		NTSTATUS st;
		ULONG err;
	} map[] = {
	    {STATUS_SUCCESS, 0},
	    {STATUS_PENDING, 997},                 /* ERROR_IO_PENDING */
	    {STATUS_CANCELLED, 995},               /* ERROR_OPERATION_ABORTED */
	    {STATUS_INVALID_DEVICE_REQUEST, 1},    /* ERROR_INVALID_FUNCTION */
	    {STATUS_INVALID_PARAMETER, 87},        /* ERROR_INVALID_PARAMETER */
	    {STATUS_BUFFER_TOO_SMALL, 122},        /* ERROR_INSUFFICIENT_BUFFER */
	    {STATUS_BUFFER_OVERFLOW, 234},         /* ERROR_MORE_DATA */
	    {STATUS_INSUFFICIENT_RESOURCES, 1450}, /* ERROR_NO_SYSTEM_RESOURCES */
	    {STATUS_DEVICE_NOT_READY, 21},         /* ERROR_NOT_READY */
	    {STATUS_IO_DEVICE_ERROR, 1117},        /* ERROR_IO_DEVICE */
	    {STATUS_DEVICE_DATA_ERROR, 23},        /* ERROR_CRC */
	    {STATUS_ACCESS_DENIED, 5},
	    {STATUS_OBJECT_NAME_NOT_FOUND, 2},
	    {STATUS_DEVICE_REMOVED, 1617},
	    {STATUS_NOT_SUPPORTED, 50},
	    {STATUS_TIMEOUT, 1460},
	    {(NTSTATUS)0xC0070020L, 32},  /* FACILITY_NTWIN32: the Win32 code it carries */
	    {(NTSTATUS)0xC0001234L, 317}, /* unknown: ERROR_MR_MID_NOT_FOUND */
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		CHECK_MSG(RtlNtStatusToDosError(map[i].st) == map[i].err, "0x%08X -> %u, want %u",
		          (unsigned)map[i].st, (unsigned)RtlNtStatusToDosError(map[i].st),
		          (unsigned)map[i].err);
}
