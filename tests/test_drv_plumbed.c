/* examples/drivers/plumbed.c (busmaster's flow with registry parameters, remove locks, an
 * IoTimer, the error log and MSI) on the bmblk-msi device (and bmblk, through the line
 * fallback): every byte verified on every built-in
 * platform with and without a .reg file, the registry deciding how requests are split (service
 * Parameters, overridden by the device's own key), the start-up error-log entry carrying the
 * value in force, removal waiting on the remove lock; through `dmacoh run --registry` clean on
 * every platform, the A13 twin caught by exactly A13, and a malformed .reg refused with one
 * line and exit 2. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "dctool.h"
#include "hw/machine.h"
#include "kernel/plumb.h"
#include "kflow.h"

struct pl_count {
	unsigned maps, errlog, crash, irql, isr;
};

static void pl_kev(void *opaque, const struct dc_kev *e)
{
	struct pl_count *c = opaque;
	c->maps += e->type == DC_KEV_MAP && e->len_out;
	c->errlog += e->type == DC_KEV_ERRLOG;
	c->crash += e->type == DC_KEV_CRASH;
	c->irql += e->type == DC_KEV_IRQL;
	c->isr += e->type == DC_KEV_ISR && e->status == 1;
}
static const struct dc_observer pl_obs = {.kev = pl_kev};

/* kf_open_observed with a registry file loaded before DriverEntry. */
static int pl_open_on(struct kf *k, struct pl_count *c, const char *plat, const char *reg,
                      const char *driver, const char *device)
{
	memset(k, 0, sizeof(*k));
	memset(c, 0, sizeof(*c));
	struct dc_platform p;
	NTSTATUS st = 0;
	int err;
	if ((err = dc_platform_builtin(plat, &p)) || (err = dc_sys_create(&p, &k->s)))
		return err;
	dc_machine_add_observer(dc_sys_machine(k->s), &pl_obs, c);
	char path[PATH_MAX];
	if ((reg && (err = dc_sys_load_registry(k->s, reg, k->err, sizeof(k->err)))) ||
	    (err = dc_sys_add_device(k->s, device, NULL, &k->dev)) ||
	    (err = dc_sys_load_module(k->s, kf_driver_path(driver, path, sizeof(path)), &k->drv,
	                              &st, k->err, sizeof(k->err))) ||
	    (err = dc_sys_start_device(k->s, k->drv, k->dev, &k->top, &st))) {
		dc_sys_destroy(k->s);
		k->s = NULL;
		return err;
	}
	return 0;
}

/* The corpus driver's own device: bmblk with MSI. */
static int pl_open(struct kf *k, struct pl_count *c, const char *plat, const char *reg,
                   const char *driver)
{
	return pl_open_on(k, c, plat, reg, driver, "bmblk-msi");
}

static bool pl_roundtrip(struct kf *k, uint64_t off, ULONG len, uint32_t boff, uint64_t seed)
{
	for (int dir = 0; dir < 2; dir++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad = kf_io(k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, off, len, boff, DC_ZONE_ANY,
		                 seed + (uint64_t)dir, &st, &info, &first);
		if (bad != 0 || info != len)
			return false;
	}
	return true;
}

#define PL_REG "examples/registry/plumbed.reg"

DC_TEST(drv_plumbed_every_platform_with_and_without_registry)
{
	static const struct {
		uint64_t off;
		ULONG len;
		uint32_t boff;
	} shapes[] = {{0, 512, 0}, {4096, 3 * 4096 + 512, 700}, {65536, 40 * 4096, 2048}};
	for (const char *const *p = kf_platforms; *p; p++)
		for (int with = 0; with < 2; with++) {
			struct kf k;
			struct pl_count c;
			CHECK_MSG(pl_open(&k, &c, *p, with ? PL_REG : NULL, "plumbed") == 0,
			          "%s: %s", *p, k.err);
			for (size_t i = 0; i < DC_ARRAY_SIZE(shapes); i++)
				CHECK_MSG(pl_roundtrip(&k, shapes[i].off, shapes[i].len,
				                       shapes[i].boff, i + 1),
				          "%s %s: shape %zu", *p, with ? "with .reg" : "default",
				          i);
			/* The start-up entry carries the limit in force: 1 sector from the
			 * device's key in the .reg, else the service default of 2. */
			CHECK_EQ(c.errlog, 1);
			const char *t = dc_sys_errlog_text(k.s, 0);
			CHECK_MSG(t && strstr(t, with ? "dump 0x00000001" : "dump 0x00000002"),
			          "%s", t ? t : "(none)");
			CHECK_EQ(c.crash, 0);
			CHECK_EQ(c.irql, 0);
			/* Removal waits on the remove lock, then the device goes. */
			kf_close(&k);
		}
}

DC_TEST(drv_plumbed_registry_decides_the_split)
{
	/* One 16 KiB write: one sector per operation (the device's key) maps at least 32
	 * times, the default two sectors at least 16, a 64-sector limit a handful. */
	char big[] = "/tmp/dmacoh-plumbed-XXXXXX";
	int fd = mkstemp(big);
	CHECK(fd >= 0);
	static const char text[] =
	    "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\plumbed\\"
	    "Parameters]\n\"MaxTransferSectors\"=dword:00000040\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	const char *regs[] = {PL_REG, NULL, big};
	unsigned maps[3];
	for (int i = 0; i < 3; i++) {
		struct kf k;
		struct pl_count c;
		CHECK_MSG(pl_open(&k, &c, "noncoherent", regs[i], "plumbed") == 0, "%s", k.err);
		unsigned before = c.maps;
		NTSTATUS st;
		ULONG_PTR info;
		long first;
		CHECK_EQ(kf_io(&k, IRP_MJ_WRITE, 0, 16384, 0, DC_ZONE_DMA32, 9, &st, &info, &first),
		         0);
		maps[i] = c.maps - before;
		kf_close(&k);
	}
	unlink(big);
	CHECK_MSG(maps[0] >= 32 && maps[1] >= 16 && maps[1] < maps[0] && maps[2] < maps[1],
	          "maps: %u (1 sector), %u (2), %u (64)", maps[0], maps[1], maps[2]);
}

DC_TEST(drv_plumbed_cli_clean_twin_caught_bad_reg_refused)
{
	if (!dct_tool())
		return;
	static struct dct_run r;
	for (const char *const *p = kf_platforms; *p; p++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "plumbed",
		                                             "--platform", *p, "--registry", PL_REG,
		                                             "--quiet", NULL}));
		CHECK_MSG(r.status == 0, "%s: exit %d: %s", *p, r.status, r.err);
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "plumbed-bug-A13",
		                                             "--platform", *p, "--registry", PL_REG,
		                                             "--quiet", NULL}));
		CHECK_MSG(r.status == 1, "%s: exit %d", *p, r.status);
		CHECK_MSG(strstr(r.out, "findings   A13 x"), "%s: %s", *p, r.out);
		/* Exactly A13 (R01, the damaged data, is the workload's verdict). */
		const char *f = strstr(r.out, "findings   ");
		char line[128];
		CHECK(f && sscanf(f, "findings   %127[^\n]", line) == 1);
		for (char *t = strtok(line, ","); t; t = strtok(NULL, ","))
			CHECK_MSG(strstr(t, "A13") || strstr(t, "R01"), "%s: %s", *p, t);
	}
	/* A malformed file: one line naming it and its line, exit 2, nothing run. */
	char bad[] = "/tmp/dmacoh-badreg-XXXXXX";
	int fd = mkstemp(bad);
	CHECK(fd >= 0);
	static const char text[] = "Windows Registry Editor Version 5.00\n\n[HKLM\\SYSTEM\\x]\n"
	                           "\"MaxTransferSectors\"=dword:1g\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	CHECK(dct_run_tool(
	    &r, (const char *const[]){"run", "--driver", "plumbed", "--registry", bad, NULL}));
	unlink(bad);
	CHECK_EQ(r.status, 2);
	CHECK_EQ(r.out_len, 0);
	char want[128];
	snprintf(want, sizeof(want), "dmacoh run: %s:4: dword: needs 1 to 8 hex digits\n", bad);
	CHECK_MSG(!strcmp(r.err, want), "%s", r.err);
}

DC_TEST(drv_plumbed_messages_on_bmblk_msi_line_fallback_on_bmblk)
{
	/* The same driver on both devices: every byte verified, interrupts taken (messages on
	 * vectors above the ISA lines, or bmblk's line), nothing reported. */
	static const char *const devs[] = {"bmblk-msi", "bmblk"};
	for (const char *const *p = kf_platforms; *p; p++)
		for (int i = 0; i < 2; i++) {
			struct kf k;
			struct pl_count c;
			CHECK_MSG(pl_open_on(&k, &c, *p, NULL, "plumbed", devs[i]) == 0, "%s: %s",
			          *p, k.err);
			const struct dc_device_res *r = &dc_sysdev_device(k.dev)->res;
			CHECK_EQ(r->irq_mode == DC_IRQ_MSI, i == 0);
			CHECK(i == 0 ? r->irq >= 16 : r->irq < 16);
			CHECK_MSG(pl_roundtrip(&k, 4096, 5 * 4096 + 512, 300, 7), "%s on %s", *p,
			          devs[i]);
			CHECK_MSG(c.isr > 0, "%s on %s: no interrupt", *p, devs[i]);
			CHECK_EQ(c.crash, 0);
			CHECK_EQ(c.irql, 0);
			/* Removal disconnects (IoDisconnectInterruptEx with the Version it got). */
			kf_close(&k);
		}
}

DC_TEST(drv_plumbed_c03_twin_trusting_msi_ordering_caught)
{
	if (!dct_tool())
		return;
	static struct dct_run r;
	for (const char *const *p = kf_platforms; *p; p++) {
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "plumbed-bug-C03",
		                                             "--platform", *p, "--quiet", NULL}));
		CHECK_MSG(r.status == 1, "%s: exit %d", *p, r.status);
		const char *f = strstr(r.out, "findings   ");
		char line[128];
		CHECK_MSG(f && sscanf(f, "findings   %127[^\n]", line) == 1, "%s: %s", *p, r.out);
		CHECK_MSG(strstr(line, "C03 x"), "%s: %s", *p, line);
		for (char *t = strtok(line, ","); t; t = strtok(NULL, ","))
			CHECK_MSG(strstr(t, "C03") || strstr(t, "C04") || strstr(t, "R01"),
			          "%s: %s", *p, t);
		/* On bmblk (no messages) the twin's peek never runs: clean. */
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--driver", "plumbed-bug-C03",
		                                             "--device", "bmblk", "--platform", *p,
		                                             "--quiet", NULL}));
		CHECK_MSG(r.status == 0, "%s on bmblk: exit %d: %s", *p, r.status, r.out);
	}
}
