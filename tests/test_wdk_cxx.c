/* dmacoh-cc as a drop-in compiler for drivers written against the WDK, in C and C++:
 * - the x64 WDK layout table (tests/wdk_layout.h) holds as static assertions when every
 *   public header is compiled as C11 and as C++17 by gcc, clang, g++ and clang++;
 * - a driver using five routines dmacoh does not provide is refused at build time with all
 *   five, each at the source line of its first use;
 * - `make CC=dmacoh-cc CXX=dmacoh-c++` builds a driver of C and C++ sources with its own
 *   Makefile: -c objects, -MMD dependency files, a separate link step;
 * - a C++ DriverEntry without extern "C" is refused with one line.
 * Needs the compilers on PATH (the Quick start installs them) and the built dmacoh-cc beside
 * the dmacoh binary.  Runs from the source tree's top (as make test does). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"

/* Runs cmd through the shell, stdout and stderr into out; the exit status, -1 if it did not
 * exit normally. */
static int sh(const char *cmd, char *out, size_t len)
{
	char full[8192];
	snprintf(full, sizeof(full), "(%s) 2>&1", cmd);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t n = 0;
	if (len)
		out[0] = 0;
	while (len && n + 1 < len) {
		size_t k = fread(out + n, 1, len - 1 - n, p);
		if (!k)
			break;
		n += k;
	}
	if (len)
		out[n] = 0;
	char sink[256];
	while (fread(sink, 1, sizeof(sink), p))
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The dmacoh binary, absolute (the tests cd into scratch directories). */
static const char *tool_abs(void)
{
	static char abs[PATH_MAX];
	const char *bin = dct_tool();
	return bin && realpath(bin, abs) ? abs : NULL;
}

/* build/<cc>/NAME beside the dmacoh binary, absolute. */
static bool tool_beside(const char *name, char *path, size_t len)
{
	const char *bin = tool_abs();
	if (!bin)
		return false;
	snprintf(path, len, "%s", bin);
	char *slash = strrchr(path, '/');
	if (!slash)
		return false;
	snprintf(slash + 1, len - (size_t)(slash + 1 - path), "%s", name);
	return access(path, X_OK) == 0;
}

static bool write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return (fclose(f) == 0) && ok;
}

DC_TEST(wdk_cxx_layouts_same_in_c_and_cxx_with_every_compiler)
{
	/* -Wshadow for C only: in C++ check.h's function dc_rule_info() "hides the constructor"
	 * of struct dc_rule_info, a C++-only warning about a name C keeps apart. */
	static const char *const compilers[] = {"gcc -std=c11 -Wshadow", "clang -std=c11 -Wshadow",
	                                        "g++ -x c++ -std=c++17",
	                                        "clang++ -x c++ -std=c++17"};
	for (size_t i = 0; i < sizeof(compilers) / sizeof(compilers[0]); i++) {
		char cmd[1024], out[8192];
		snprintf(cmd, sizeof(cmd),
		         "%s -fsyntax-only -fshort-wchar -Wall -Wextra -Wpedantic -Werror "
		         "-Iinclude -Iinclude/wdk tests/cxx/wdk_layout_check.c",
		         compilers[i]);
		int st = sh(cmd, out, sizeof(out));
		CHECK_MSG(st == 0, "%s: exit %d:\n%s", compilers[i], st, out);
	}
}

DC_TEST(wdk_cc_reports_every_missing_import_with_its_line)
{
	char cc[PATH_MAX];
	CHECK_MSG(tool_beside("dmacoh-cc", cc, sizeof(cc)), "no dmacoh-cc beside dmacoh");
	char dir[] = "/tmp/dmacoh-wdkcc-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(write_file(dir, "mydrv.c",
	                 "#include <ntddk.h>\n"                                        /* 1 */
	                 "#include <dmacoh/driver.h>\n"                                /* 2 */
	                 "VOID MmFrobPagesFromMdl(PMDL MemoryDescriptorList);\n"       /* 3 */
	                 "VOID IoFrobnicate(ULONG);\n"                                 /* 4 */
	                 "NTSTATUS ZwFrobKey(HANDLE);\n"                               /* 5 */
	                 "VOID KeFrobDpcs(VOID);\n"                                    /* 6 */
	                 "VOID HalFrobBus(PVOID);\n"                                   /* 7 */
	                 "static VOID Unload(PDRIVER_OBJECT d) { (void)d; }\n"         /* 8 */
	                 "NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n" /* 9 */
	                 "{\n"                                                         /* 10 */
	                 "\tUNREFERENCED_PARAMETER(r);\n"                              /* 11 */
	                 "\td->DriverUnload = Unload;\n"                               /* 12 */
	                 "\tIoFrobnicate(1);\n"                                        /* 13 */
	                 "\tKeFrobDpcs();\n"                                           /* 14 */
	                 "\tif (ZwFrobKey(NULL) == 0)\n"                               /* 15 */
	                 "\t\tHalFrobBus(d);\n"                                        /* 16 */
	                 "\tMmFrobPagesFromMdl(NULL);\n"                               /* 17 */
	                 "\tIoFrobnicate(2);\n"                                        /* 18 */
	                 "\tKeStallExecutionProcessor(1);\n"                           /* 19 */
	                 "\treturn STATUS_SUCCESS;\n"                                  /* 20 */
	                 "}\n"));
	char cmd[PATH_MAX * 2 + 64], out[8192];
	snprintf(cmd, sizeof(cmd), "cd %s && '%s' -o mydrv.so mydrv.c", dir, cc);
	int st = sh(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd, NULL, 0);
	CHECK_MSG(st == 1, "exit %d, not 1:\n%s", st, out);
	static const char *const want[] = {
	    "mydrv.c:13: IoFrobnicate is not provided by dmacoh\n",
	    "mydrv.c:14: KeFrobDpcs is not provided by dmacoh\n",
	    "mydrv.c:15: ZwFrobKey is not provided by dmacoh\n",
	    "mydrv.c:16: HalFrobBus is not provided by dmacoh\n",
	    "mydrv.c:17: MmFrobPagesFromMdl is not provided by dmacoh\n",
	};
	const char *at = out;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *hit = strstr(at, want[i]);
		CHECK_MSG(hit, "missing or out of order: %s in:\n%s", want[i], out);
		at = hit + strlen(want[i]);
	}
	CHECK_MSG(strstr(out, "5 kernel routine(s) not provided") != NULL, "%s", out);
	CHECK_MSG(strstr(out, "KeStallExecutionProcessor") == NULL, "%s", out);
}

DC_TEST(wdk_cc_builds_a_c_and_cxx_driver_with_its_own_makefile)
{
	char cc[PATH_MAX], cxx[PATH_MAX];
	CHECK_MSG(tool_beside("dmacoh-cc", cc, sizeof(cc)), "no dmacoh-cc beside dmacoh");
	CHECK_MSG(tool_beside("dmacoh-c++", cxx, sizeof(cxx)), "no dmacoh-c++ beside dmacoh");
	char dir[] = "/tmp/dmacoh-wdkmk-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(write_file(dir, "Makefile",
	                 "OBJS = entry.o channel.o\n"
	                 "CFLAGS = -Wall -Wextra -Werror -MMD -MP\n"
	                 "CXXFLAGS = -Wall -Wextra -Werror -MMD -MP\n"
	                 "mydrv.so: $(OBJS)\n"
	                 "\t$(CC) -o $@ $(OBJS)\n"
	                 "-include $(OBJS:.o=.d)\n"));
	CHECK(write_file(dir, "channel.h",
	                 "#include <wdm.h>\n"
	                 "EXTERN_C ULONG ChannelSelfTest(VOID);\n"));
	CHECK(
	    write_file(dir, "entry.c",
	               "#include <ntddk.h>\n"
	               "#include <dmacoh/driver.h>\n"
	               "#include \"channel.h\"\n"
	               "DMACOH_DRIVER(\"mydrv\", \"pio\", \"a Makefile-built driver\");\n"
	               "DRIVER_INITIALIZE DriverEntry;\n"
	               "_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT d, "
	               "PUNICODE_STRING r)\n"
	               "{\n"
	               "\tUNREFERENCED_PARAMETER(d);\n"
	               "\tUNREFERENCED_PARAMETER(r);\n"
	               "\treturn ChannelSelfTest() == 42 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;\n"
	               "}\n"));
	CHECK(write_file(dir, "channel.cpp",
	                 "#include \"channel.h\"\n"
	                 "struct IChannel {\n"
	                 "\tvirtual ULONG Value() = 0;\n"
	                 "\tvirtual ~IChannel() {}\n"
	                 "};\n"
	                 "class CChannel : public IChannel {\n"
	                 "public:\n"
	                 "\tULONG Value() override { return 42; }\n"
	                 "};\n"
	                 "EXTERN_C ULONG ChannelSelfTest(VOID)\n"
	                 "{\n"
	                 "\tIChannel *c = new (NonPagedPool, 'nhCT') CChannel;\n"
	                 "\tULONG v = c ? c->Value() : 0;\n"
	                 "\tdelete c;\n"
	                 "\treturn v;\n"
	                 "}\n"));
	char cmd[PATH_MAX * 4], out[16384];
	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s CC='%s' CXX='%s' && "
	    "test -f entry.d && grep -q 'wdm.h' entry.d && test -f channel.d && "
	    "nm -D --defined-only mydrv.so | grep -q ' DriverEntry$' && "
	    "nm -D --defined-only mydrv.so | grep -q ' __dmacoh_module$' && "
	    "nm -D --defined-only mydrv.so | grep -q ' dmacoh_driver_info$' && "
	    "! nm -D --undefined-only mydrv.so | grep -q '_Znwm\\|_ZdlPv\\|__cxa_pure_virtual'",
	    dir, cc, cxx);
	int st = sh(cmd, out, sizeof(out));
	/* Touching the header rebuilds both objects (the -MMD files are used). */
	char cmd2[PATH_MAX * 4], out2[4096];
	snprintf(cmd2, sizeof(cmd2),
	         "cd %s && sleep 1 && touch channel.h && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
	         "make CC='%s' CXX='%s'",
	         dir, cc, cxx);
	int st2 = st == 0 ? sh(cmd2, out2, sizeof(out2)) : -1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd, NULL, 0);
	CHECK_MSG(st == 0, "the Makefile build failed (%d):\n%s", st, out);
	CHECK_MSG(st2 == 0 && strstr(out2, "entry.c") && strstr(out2, "channel.cpp"),
	          "not rebuilt after the header changed:\n%s", out2);
}

DC_TEST(wdk_cc_refuses_a_cxx_driver_entry_without_c_linkage)
{
	char cc[PATH_MAX];
	CHECK_MSG(tool_beside("dmacoh-cc", cc, sizeof(cc)), "no dmacoh-cc beside dmacoh");
	char dir[] = "/tmp/dmacoh-wdkce-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(write_file(dir, "drv.cpp",
	                 "#include <wdm.h>\n"
	                 "NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n"
	                 "{\n"
	                 "\tUNREFERENCED_PARAMETER(d);\n"
	                 "\tUNREFERENCED_PARAMETER(r);\n"
	                 "\treturn STATUS_SUCCESS;\n"
	                 "}\n"));
	char cmd[PATH_MAX * 2 + 64], out[4096];
	snprintf(cmd, sizeof(cmd), "cd %s && '%s' -o drv.so drv.cpp; echo \"exit $?\"; ls", dir,
	         cc);
	sh(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd, NULL, 0);
	CHECK_MSG(strstr(out, "DriverEntry has C++ linkage: declare it extern \"C\"") &&
	              strstr(out, "exit 1") && !strstr(out, "drv.so\n"),
	          "%s", out);
}

/* A module built without the check (here: dmacoh-cc with no export list, as an older
 * dmacoh-cc or another build would make it): `dmacoh run` names every missing import on one
 * line, exit 2, where the loader names only the first. */
DC_TEST(wdk_run_names_every_missing_import_of_a_module)
{
	char cc[PATH_MAX];
	CHECK_MSG(tool_beside("dmacoh-cc", cc, sizeof(cc)), "no dmacoh-cc beside dmacoh");
	const char *bin = tool_abs();
	CHECK(bin);
	char dir[] = "/tmp/dmacoh-wdkrun-XXXXXX";
	CHECK(mkdtemp(dir));
	CHECK(write_file(dir, "drv.c",
	                 "#include <ntddk.h>\n"
	                 "#include <dmacoh/driver.h>\n"
	                 "DMACOH_DRIVER(\"drv\", \"pio\", \"imports routines dmacoh lacks\");\n"
	                 "VOID IoFrobA(VOID);\n"
	                 "VOID KeFrobB(VOID);\n"
	                 "VOID MmFrobC(VOID);\n"
	                 "NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n"
	                 "{\n"
	                 "\tUNREFERENCED_PARAMETER(d);\n"
	                 "\tUNREFERENCED_PARAMETER(r);\n"
	                 "\tIoFrobA();\n"
	                 "\tKeFrobB();\n"
	                 "\tMmFrobC();\n"
	                 "\treturn STATUS_SUCCESS;\n"
	                 "}\n"));
	char cmd[PATH_MAX * 3], out[4096];
	snprintf(cmd, sizeof(cmd),
	         "cd %s && DMACOH_EXPORTS=/nonexistent '%s' -o drv.so drv.c && "
	         "'%s' run --driver ./drv.so --device pio 2>&1 >/dev/null; echo \"exit $?\"",
	         dir, cc, bin);
	sh(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd, NULL, 0);
	CHECK_MSG(strstr(out, "3 imported routines not provided by dmacoh") &&
	              strstr(out, "IoFrobA") && strstr(out, "KeFrobB") && strstr(out, "MmFrobC") &&
	              strstr(out, "exit 2"),
	          "%s", out);
	int lines = 0;
	for (const char *c = out; *c; c++)
		lines += *c == '\n';
	CHECK_MSG(lines == 2, "not one line (and the exit status):\n%s", out);
}

/* `dmacoh list exports`: the kernel's routines from dmacoh's own symbols, sorted, with the
 * routed C routines under their C names and none of dmacoh's internals. */
DC_TEST(wdk_list_exports_names_the_kernel_surface)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"list", "exports", NULL}));
	CHECK_EQ(r.status, 0);
	static const char *const want[] = {"\nIofCallDriver\n", "\nKeFlushIoBuffers\n",
	                                   "\nProbeForWrite\n", "\nRtlCopyUnicodeString\n",
	                                   "\nmemcpy\n",        "\nwcslen\n",
	                                   "\n_snwprintf\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_MSG(strstr(r.out, want[i]), "no%s", want[i]);
	CHECK(!strstr(r.out, "dc_") && !strstr(r.out, "__tsan") && !strstr(r.out, "\nexit\n") &&
	      !strstr(r.out, "\nmain\n"));
	char prev[128] = "", cur[128];
	int lines = 0;
	for (const char *p = r.out, *q; (q = strchr(p, '\n')); p = q + 1, lines++) {
		snprintf(cur, sizeof(cur), "%.*s", (int)(q - p), p);
		CHECK_MSG(strcmp(prev, cur) < 0, "not sorted or repeated: %s after %s", cur, prev);
		memcpy(prev, cur, sizeof(prev));
	}
	CHECK(lines > 100);
}
