/* Legacy (NT4-style) drivers hosted by `dmacoh run` (issue 15 item 4): examples/drivers/legacy.c
 * clean on every built-in platform with and without its .reg file, its A13 twin caught; no PnP
 * IRP sent to a driver without AddDevice; `--open` through the object namespace for legacy and
 * PnP drivers; the bad inputs (a driver with no device, a name that does not exist, a malformed
 * name) as one line and exit 2 with the findings kept.  The one namespace (src/kernel/obnames.c)
 * and the discovery routines (HalGetBusData, IoReportResourceUsage, IoReportDetectedDevice)
 * called directly. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dctest.h"
#include "dctool.h"
#include "dmacoh/wdm.h"
#include "devices/fdc.h"
#include "devices/sb16.h"
#include "hw/machine.h"
#include "kernel/sys.h"

#define WL "count=40,size=512-32768"
#define LEGACY_REG "examples/registry/legacy.reg"

/* $(BUILD)/legacy-test/<name>.so beside the dmacoh binary (mk/test_legacy.mk). */
static const char *test_module(const char *name)
{
	static char path[PATH_MAX];
	const char *tool = dct_tool();
	snprintf(path, sizeof(path), "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(path, '/');
	size_t at = slash ? (size_t)(slash - path) + 1 : 0;
	snprintf(path + at, sizeof(path) - at, "legacy-test/%s.so", name);
	return path;
}

/* The last line of s (without its newline). */
/* The legacy example is an ISA driver on the 8237: platforms without one (arm-soc) refuse its
 * device, which test_soc_platform.c checks; here they are skipped, saying so. */
static bool has_8237(const char *platform)
{
	struct dc_platform p;
	if (dc_platform_builtin(platform, &p) < 0 || p.sysdma_ctl == DC_SYSDMA_8237)
		return true;
	printf("(%s skipped: no 8237) ", platform);
	return false;
}

static const char *last_line(const char *s, char *buf, size_t cap)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		n--;
	size_t b = n;
	while (b && s[b - 1] != '\n')
		b--;
	snprintf(buf, cap, "%.*s", (int)(n - b), s + b);
	return buf;
}

DC_TEST(drv_legacy_clean_on_every_platform_with_and_without_registry)
{
	static struct dct_run r;
	for (const char *const *p = dc_platform_builtin_names(); *p; p++) {
		if (!has_8237(*p))
			continue;
		for (int reg = 0; reg < 2; reg++) {
			const char *args[16] = {
			    "run",        "--driver",    "legacy",          "--platform", *p,
			    "--workload", WL ",fault=7", "--deterministic", "--dbgprint"};
			size_t n = 9;
			if (reg) {
				args[n++] = "--registry";
				args[n++] = LEGACY_REG;
			}
			args[n] = NULL;
			CHECK(dct_run_tool(&r, args));
			CHECK_MSG(r.status == 0, "%s reg=%d: status %d\n%s\n%s", *p, reg, r.status,
			          r.out, r.err);
			CHECK_MSG(strstr(r.out, "every byte verified"), "%s:\n%s", *p, r.out);
			CHECK_MSG(strstr(r.out, "findings   none"), "%s:\n%s", *p, r.out);
			/* The service key's Parameters decide, or the defaults. */
			const char *want = reg ? "legacy: BufferSize 4096, DmaChannel 3"
			                       : "legacy: BufferSize 8192, DmaChannel -1";
			CHECK_MSG(strstr(r.err, want), "%s reg=%d lacks '%s':\n%s", *p, reg, want,
			          r.err);
			/* Never sent a PnP IRP, so never reported as failing one. */
			CHECK(!strstr(r.out, "IRP_MN_START_DEVICE") &&
			      !strstr(r.err, "IRP_MN_START_DEVICE"));
		}
	}
}

DC_TEST(drv_legacy_twin_a13_caught_on_every_platform)
{
	static struct dct_run r;
	for (const char *const *p = dc_platform_builtin_names(); *p; p++) {
		if (!has_8237(*p))
			continue;
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "legacy-bug-A13",
		                                             "--platform", *p, "--workload", WL,
		                                             "--deterministic", NULL}));
		CHECK_MSG(r.status == 1, "%s: status %d\n%s", *p, r.status, r.out);
		CHECK_MSG(strstr(r.out, "findings   A13 x"), "%s:\n%s", *p, r.out);
		CHECK_MSG(strstr(r.err, "legacy.c:"), "%s: the finding names no driver line:\n%s",
		          *p, r.err);
	}
}

DC_TEST(drv_legacy_open_by_name)
{
	static struct dct_run r;
	static const char *const names[] = {"\\\\.\\Legacy0", "\\\\.\\LEGACY0", "\\\\?\\legacy0",
	                                    "\\\\.\\GLOBALROOT\\Device\\Legacy0"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "legacy", "--open",
		                                             names[i], "--workload", WL,
		                                             "--deterministic", NULL}));
		CHECK_MSG(r.status == 0 && strstr(r.out, "every byte verified"), "%s: %d\n%s\n%s",
		          names[i], r.status, r.out, r.err);
	}
}

DC_TEST(drv_legacy_open_of_a_pnp_driver_link)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "wdksg", "--open",
	                                             "\\\\.\\WdkSg0", "--workload", WL,
	                                             "--deterministic", NULL}));
	CHECK_MSG(r.status == 0 && strstr(r.out, "every byte verified"), "%d\n%s\n%s", r.status,
	          r.out, r.err);
	/* A device interface path (IoRegisterDeviceInterface, enabled at start). */
	CHECK(dct_run_tool(
	    &r,
	    (const char *const[]){"run", "--driver", "userdma", "--open",
	                          "\\\\?\\DMACOH#bmblk#0000#{5d0c2d59-1a3b-4c4e-9a61-0d3c552e7101}",
	                          "--workload", "count=10", "--deterministic", NULL}));
	CHECK_MSG(r.status == 0 && strstr(r.out, "every byte verified"), "%d\n%s\n%s", r.status,
	          r.out, r.err);
	/* A name the PnP driver did not create: one line, exit 2; the device is still removed
	 * and the driver unloaded (no leak finding, no crash). */
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "wdksg", "--open",
	                                             "\\\\.\\WdkSg7", "--workload", WL,
	                                             "--deterministic", NULL}));
	char b[512];
	CHECK_EQ(r.status, 2);
	CHECK_MSG(!strcmp(last_line(r.err, b, sizeof(b)),
	                  "dmacoh run: --open \\\\.\\WdkSg7: no such device or symbolic link (the "
	                  "names there are: \\\\.\\WdkSg0)"),
	          "%s", r.err);
}

DC_TEST(drv_legacy_bad_names_one_line_exit_2)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "legacy", "--open",
	                                             "\\\\.\\Nope", "--deterministic", NULL}));
	CHECK_EQ(r.status, 2);
	CHECK_MSG(!strcmp(r.err, "dmacoh run: --open \\\\.\\Nope: no such device or symbolic link "
	                         "(the names there are: \\\\.\\Legacy0)\n"),
	          "%s", r.err);
	static const char *const bad[] = {"Legacy0", "\\\\.\\", "\\\\.\\a|b", "\\Device\\Legacy0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "legacy", "--open",
		                                             bad[i], NULL}));
		CHECK_EQ(r.status, 2);
		char want[256];
		snprintf(want, sizeof(want),
		         "dmacoh run: --open '%s': expected a device name \\\\.\\NAME (or "
		         "\\\\?\\NAME)\n",
		         bad[i]);
		CHECK_MSG(!strcmp(r.err, want), "%s", r.err);
	}
}

DC_TEST(drv_legacy_no_device_one_line_exit_2_findings_kept)
{
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", test_module("legacy_nodev"),
	                                             "--deterministic", "--dbgprint", NULL}));
	CHECK_EQ(r.status, 2);
	char b[512];
	CHECK_MSG(
	    !strcmp(last_line(r.err, b, sizeof(b)),
	            "dmacoh run: legacy-nodev is a legacy driver (no AddDevice) and created no "
	            "device object in DriverEntry: nothing to open"),
	    "%s", r.err);
	/* Nothing lost: DriverEntry's A08 is reported, and DriverUnload ran. */
	CHECK_MSG(
	    strstr(r.err, "A08 wrong-irql: IoCreateSymbolicLink called at IRQL DISPATCH_LEVEL"),
	    "%s", r.err);
	CHECK_MSG(strstr(r.out, "findings   A08 x1"), "%s", r.out);
	CHECK_MSG(strstr(r.err, "legacy-nodev: unloaded"), "%s", r.err);
	CHECK(!strstr(r.err, "IRP_MN_START_DEVICE"));
}

/* --- The namespace and the discovery routines, called directly --------------------------- */

static NTSTATUS nop_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	(void)DriverObject, (void)RegistryPath;
	return STATUS_SUCCESS;
}

static UNICODE_STRING ustr(const char *a, WCHAR *buf)
{
	size_t i = 0;
	for (; a[i]; i++)
		buf[i] = (WCHAR)a[i];
	buf[i] = 0;
	UNICODE_STRING u;
	RtlInitUnicodeString(&u, buf);
	return u;
}

static struct dc_sys *ns_sys(PDRIVER_OBJECT *drv, struct dc_sysdev **fdc)
{
	struct dc_platform p;
	struct dc_sys *s;
	struct dc_driver *dr;
	if (dc_platform_builtin("pc", &p) || dc_sys_create(&p, &s))
		return NULL;
	if ((fdc && dc_sys_add_device(s, "fdc", NULL, fdc)) ||
	    dc_sys_load_entry(s, "ns", nop_entry, &dr, NULL)) {
		dc_sys_destroy(s);
		return NULL;
	}
	*drv = dc_driver_object(dr);
	return s;
}

/* Regressions: CreateFile's and IoGetDeviceObjectPointer's tables used to differ. */
DC_TEST(drv_legacy_one_namespace)
{
	PDRIVER_OBJECT drv;
	struct dc_sys *s = ns_sys(&drv, NULL);
	CHECK(s);
	WCHAR b1[64], b2[64], b3[64], b4[64], b5[64];
	UNICODE_STRING dev = ustr("\\Device\\Nm0", b1);
	PDEVICE_OBJECT d, d2, top;
	PFILE_OBJECT fo;
	CHECK_EQ(IoCreateDevice(drv, 0, &dev, FILE_DEVICE_UNKNOWN, 0, FALSE, &d), STATUS_SUCCESS);
	/* A second device of the same name (any case) is refused, as the object manager does;
	 * the Win32 table used to take it. */
	UNICODE_STRING dup = ustr("\\DEVICE\\NM0", b2);
	CHECK_EQ(IoCreateDevice(drv, 0, &dup, FILE_DEVICE_UNKNOWN, 0, FALSE, &d2),
	         STATUS_OBJECT_NAME_COLLISION);
	UNICODE_STRING nodir = ustr("\\NoSuchDir\\X", b5);
	CHECK_EQ(IoCreateDevice(drv, 0, &nodir, FILE_DEVICE_UNKNOWN, 0, FALSE, &d2),
	         STATUS_OBJECT_PATH_NOT_FOUND);
	/* A link in \GLOBAL?? is the same directory as \DosDevices and \??. */
	UNICODE_STRING link = ustr("\\GLOBAL??\\Nm", b3);
	CHECK_EQ(IoCreateSymbolicLink(&link, &dev), STATUS_SUCCESS);
	UNICODE_STRING link2 = ustr("\\DosDevices\\NM", b4);
	CHECK_EQ(IoCreateSymbolicLink(&link2, &dev), STATUS_OBJECT_NAME_COLLISION);
	/* IoGetDeviceObjectPointer follows the link (it used to know \Device names only). */
	CHECK_EQ(IoGetDeviceObjectPointer(&link2, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
	CHECK(top == d && fo != NULL);
	UNICODE_STRING q = ustr("\\??\\nm", b4);
	CHECK_EQ(IoGetDeviceObjectPointer(&q, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
	CHECK(top == d);
	UNICODE_STRING gr = ustr("\\??\\GLOBALROOT\\Device\\Nm0", b4);
	CHECK_EQ(IoGetDeviceObjectPointer(&gr, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
	CHECK(top == d);
	/* A link to a link. */
	UNICODE_STRING l3 = ustr("\\DosDevices\\Alias", b4);
	CHECK_EQ(IoCreateSymbolicLink(&l3, &link), STATUS_SUCCESS);
	CHECK_EQ(IoGetDeviceObjectPointer(&l3, FILE_READ_DATA, &fo, &top), STATUS_SUCCESS);
	CHECK(top == d);
	/* Deleting the device leaves the links dangling: not found, not a stale pointer. */
	IoDeleteDevice(d);
	CHECK_EQ(IoGetDeviceObjectPointer(&l3, FILE_READ_DATA, &fo, &top),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(IoDeleteSymbolicLink(&l3), STATUS_SUCCESS);
	CHECK_EQ(IoDeleteSymbolicLink(&l3), STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(IoDeleteSymbolicLink(&link), STATUS_SUCCESS);
	/* The name is free again. */
	CHECK_EQ(IoCreateDevice(drv, 0, &dup, FILE_DEVICE_UNKNOWN, 0, FALSE, &d2), STATUS_SUCCESS);
	IoDeleteDevice(d2);
	dc_sys_destroy(s);
}

DC_TEST(drv_legacy_bus_data_and_resource_reports)
{
	PDRIVER_OBJECT drv;
	struct dc_sysdev *fdc;
	struct dc_sys *s = ns_sys(&drv, &fdc);
	CHECK(s);
	/* CMOS as the BIOS left it: drive A a 1.44 MB 3.5" (type 4), floppies installed. */
	UCHAR cmos[0x20];
	CHECK_EQ(HalGetBusData(Cmos, 0, 0, cmos, sizeof(cmos)), sizeof(cmos));
	CHECK_EQ(cmos[0x10], 0x40);
	CHECK_EQ(cmos[0x14] & 1, 1);
	UCHAR one;
	CHECK_EQ(HalGetBusDataByOffset(Cmos, 0, 0x10, &one, 0, 1), 1);
	CHECK_EQ(one, 0x40);
	CHECK_EQ(HalGetBusDataByOffset(Cmos, 0, 0x7F, cmos, 0, 4), 1); /* the end of CMOS */
	/* PCI configuration space is not modelled: every slot empty. */
	USHORT vendor = 0;
	CHECK_EQ(HalGetBusData(PCIConfiguration, 0, 0, &vendor, sizeof(vendor)), 2);
	CHECK_EQ(vendor, 0xFFFF);
	CHECK_EQ(HalGetBusData(EisaConfiguration, 0, 0, cmos, 4), 0);
	/* The floppy controller's resources: reported without conflict; the detected device is
	 * the model's PDO. */
	const struct dc_device_res *res = &dc_sysdev_device(fdc)->res;
	UCHAR buf[sizeof(CM_RESOURCE_LIST) + sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR)];
	memset(buf, 0, sizeof(buf));
	PCM_RESOURCE_LIST l = (PCM_RESOURCE_LIST)buf;
	l->Count = 1;
	l->List[0].InterfaceType = Isa;
	l->List[0].PartialResourceList.Count = 1;
	l->List[0].PartialResourceList.PartialDescriptors[0].Type = CmResourceTypePort;
	l->List[0].PartialResourceList.PartialDescriptors[0].u.Port.Start.QuadPart =
	    (LONGLONG)res->port_base;
	l->List[0].PartialResourceList.PartialDescriptors[0].u.Port.Length = res->port_len;
	BOOLEAN conflict = TRUE;
	CHECK_EQ(IoReportResourceUsage(NULL, drv, l, sizeof(buf), NULL, NULL, 0, FALSE, &conflict),
	         STATUS_SUCCESS);
	CHECK(!conflict);
	CHECK_EQ(IoReportResourceUsage(NULL, drv, NULL, 0, NULL, NULL, 0, FALSE, &conflict),
	         STATUS_INVALID_PARAMETER);
	PDEVICE_OBJECT pdo = NULL;
	CHECK_EQ(IoReportDetectedDevice(drv, Isa, 0, 0, l, NULL, FALSE, &pdo), STATUS_SUCCESS);
	CHECK(pdo == dc_sysdev_pdo(fdc));
	l->List[0].PartialResourceList.PartialDescriptors[0].u.Port.Start.QuadPart = 0x1234;
	CHECK_EQ(IoReportDetectedDevice(drv, Isa, 0, 0, l, NULL, FALSE, &pdo),
	         STATUS_NO_SUCH_DEVICE);
	/* IoGetDmaAdapter without a PDO (optional: a legacy driver's) finds the device on the
	 * channel as HalGetAdapter does; it used to refuse. */
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION;
	dd.InterfaceType = Isa;
	dd.DmaChannel = (ULONG)dc_sysdev_device(fdc)->res.dma_channel;
	dd.DmaWidth = Width8Bits;
	dd.MaximumLength = 0x4800;
	ULONG nmr = 0;
	PDMA_ADAPTER a = IoGetDmaAdapter(NULL, &dd, &nmr);
	CHECK(a != NULL && nmr > 0);
	a->DmaOperations->PutDmaAdapter(a);
	dd.DmaChannel = 7; /* nothing on it */
	CHECK(IoGetDmaAdapter(NULL, &dd, &nmr) == NULL);
	dc_sys_destroy(s);
}

/* ISA devices are created as a PC BIOS leaves them after POST (docs/devices/fdc.md, sb16.md):
 * what a legacy driver meets in DriverEntry if it does not reset the hardware itself. */
DC_TEST(drv_legacy_isa_devices_start_as_the_bios_leaves_them)
{
	PDRIVER_OBJECT drv;
	struct dc_sysdev *fdc, *sb;
	struct dc_sys *s = ns_sys(&drv, &fdc);
	CHECK(s);
	CHECK_EQ(dc_sys_add_device(s, "sb16", NULL, &sb), DC_OK);
	PUCHAR f = (PUCHAR)(ULONG_PTR)dc_sysdev_device(fdc)->res.port_base;
	/* The floppy controller out of reset: motors off, DMA and IRQ enabled, ready for a
	 * command, no interrupt pending (its line not asserted). */
	CHECK_EQ(READ_PORT_UCHAR(f + DC_FDC_REG_DOR), 0x0C);
	CHECK_EQ(READ_PORT_UCHAR(f + DC_FDC_REG_MSR), 0x80);
	CHECK(!dc_irq_asserted(&dc_sys_machine(s)->irq, 6));
	/* The SB16: the DSP reset done (nothing waiting to be read), the mixer at power-on. */
	PUCHAR b = (PUCHAR)(ULONG_PTR)dc_sysdev_device(sb)->res.port_base;
	CHECK_EQ(READ_PORT_UCHAR(b + DC_SB16_REG_RSTATUS) & 0x80, 0);
	static const UCHAR reg[] = {0x22, 0x30, 0x32, 0x36, 0x3C, 0x3D, 0x3E, 0x44, 0x47};
	static const UCHAR want[] = {0xCC, 0xC0, 0xC0, 0x00, 0x1F, 0x15, 0x0B, 0x80, 0x80};
	for (size_t i = 0; i < sizeof(reg); i++) {
		WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_ADDR, reg[i]);
		CHECK_MSG(READ_PORT_UCHAR(b + DC_SB16_REG_MIXER_DATA) == want[i], "mixer 0x%02x",
		          reg[i]);
	}
	/* A mixer reset restores those values (it used to zero every register). */
	WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_ADDR, 0x30);
	WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_DATA, 0x08);
	WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_ADDR, 0x00);
	WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_DATA, 0x00);
	WRITE_PORT_UCHAR(b + DC_SB16_REG_MIXER_ADDR, 0x30);
	CHECK_EQ(READ_PORT_UCHAR(b + DC_SB16_REG_MIXER_DATA), 0xC0);
	dc_sys_destroy(s);
}
