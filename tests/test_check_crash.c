/* A driver that crashes: with the crash handler installed, a SIGSEGV or an abort in driver
 * code ends the process with the status the tool asked for, after writing every finding so
 * far and an X01 finding at the faulting line.  Each case runs in a child process. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctest.h"
#include "test_check.h"

static volatile int *guard_page;

/* "Driver code" that dereferences a pointer to an inaccessible page (a fault that neither
 * ASan nor UBSan intercepts first). */
__attribute__((noinline)) static void drv_crash(void)
{
	*guard_page = 42; /* the faulting line */
}

__attribute__((noinline)) static void drv_abort(void)
{
	abort();
}

/* Runs one crash in a child; returns its exit status (-1: killed by a signal) and the report
 * in buf. */
static int crash_child(void (*crash)(void), int bug, char *buf, size_t len)
{
	char path[] = "/tmp/dmacoh-crash-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -2;
	close(fd);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct dc_check_opts o;
		dc_check_opts_init(&o);
		strcpy(o.log_path, path);
		struct tc_env v;
		if (!tc_init(&v, "noncoherent", 1, &o))
			_exit(3);
		tc_scenario(&v, bug);
		guard_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (dc_check_install_crash_handler(v.c, 1) != DC_OK)
			_exit(4);
		crash();
		_exit(5);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	FILE *f = fopen(path, "r");
	size_t k = f ? fread(buf, 1, len - 1, f) : 0;
	if (f)
		fclose(f);
	buf[k] = 0;
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

DC_TEST(check_crash_segv_is_reported_with_its_line)
{
	static char buf[16384];
	int st = crash_child(drv_crash, DC_RULE_C01, buf, sizeof(buf));
	dct_log("%s", buf);
	CHECK_EQ(st, 1);
	/* The finding before the crash is written too, then the crash. */
	char *c01 = strstr(buf, "==dmacoh== ERROR: C01 stale-device-read:");
	char *x01 = strstr(buf, "==dmacoh== ERROR: X01 driver-crash: SIGSEGV on a host address");
	CHECK(c01 && x01 && c01 < x01);
	/* The line of the faulting store, found in this file. */
	FILE *src = fopen("tests/test_check_crash.c", "r");
	CHECK(src);
	char line[256];
	int n = 0, fault = 0;
	while (fgets(line, sizeof(line), src))
		if (++n && strstr(line, "/* the faulting line */") && !fault)
			fault = n;
	fclose(src);
	char want[96];
	snprintf(want, sizeof(want), "\n    at tests/test_check_crash.c:%d:drv_crash\n", fault);
	CHECK_MSG(strstr(x01, want), "no '%s'", want + 5);
	CHECK(strstr(buf, "SUMMARY: dmacoh: 2 findings (2 errors, 0 warnings)"));
}

DC_TEST(check_crash_abort_is_reported)
{
	static char buf[16384];
	int st = crash_child(drv_abort, -1, buf, sizeof(buf));
	dct_log("%s", buf);
	CHECK_EQ(st, 1);
	CHECK(!strncmp(buf, "==dmacoh== ERROR: X01 driver-crash: SIGABRT: the driver aborted", 63));
	CHECK(strstr(buf, "SUMMARY: dmacoh: 1 finding (1 error, 0 warnings)"));
}
