/* Device models from outside the tree: tests/devmodels/toy.c copied to a temporary directory
 * and built there with `dmacoh-cc --device-model`, as a user builds theirs, then loaded into
 * this process (registers routed, interrupt, timer, store) and into the tool, where every bad
 * model is one line and exit 2: wrong ABI, a missing ops member, resources colliding with
 * another device, a duplicate name, a file that is no device model. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dctest.h"
#include "dctool.h"
#include "hw/machine.h"
#include "kernel/sys.h"

static char dm_tmp[64];

static const char *dm_dir(void)
{
	if (!*dm_tmp) {
		snprintf(dm_tmp, sizeof(dm_tmp), "/tmp/dmacoh-devmodel-XXXXXX");
		if (!mkdtemp(dm_tmp))
			snprintf(dm_tmp, sizeof(dm_tmp), "/tmp");
	}
	return dm_tmp;
}

/* Builds DIR/<out>.so from a copy of tests/devmodels/<src>.c with extra compiler flags; the
 * path, or NULL if the build failed. */
static const char *build_model(const char *src, const char *out, const char *flags)
{
	static char so[8][PATH_MAX];
	static unsigned next;
	const char *tool = dct_tool();
	char cc[PATH_MAX], cmd[4 * PATH_MAX];
	snprintf(cc, sizeof(cc), "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(cc, '/');
	size_t at = slash ? (size_t)(slash - cc) + 1 : 0;
	snprintf(cc + at, sizeof(cc) - at, "dmacoh-cc");
	char *path = so[next++ % 8];
	snprintf(path, PATH_MAX, "%s/%s.so", dm_dir(), out);
	snprintf(cmd, sizeof(cmd),
	         "cp tests/devmodels/%s.c %s/%s.c && %s --device-model -Wall -Wextra -Werror %s -o "
	         "%s %s/%s.c",
	         src, dm_dir(), out, cc, flags, path, dm_dir(), out);
	int rc = system(cmd);
	return rc == 0 ? path : NULL;
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl && !nl[1];
}

DC_TEST(devmodel_loaded_model_routes_ports_irq_timer_store)
{
	const char *so = build_model("toy", "toy", "");
	CHECK(so);
	char err[512];
	const struct dc_device_model *m;
	CHECK_MSG(dc_sys_load_device_model(so, &m, err, sizeof(err)) == DC_OK, "%s", err);
	CHECK(m && !strcmp(m->name, "toy"));
	/* Loading the same file again is no duplicate. */
	CHECK_EQ(dc_sys_load_device_model(so, NULL, err, sizeof(err)), DC_OK);
	bool listed = false;
	for (const char *const *n = dc_sys_device_names(); *n; n++)
		listed |= !strcmp(*n, "toy");
	CHECK(listed);

	struct dc_platform p;
	struct dc_sys *s;
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	CHECK_EQ(dc_sys_create(&p, &s), DC_OK);
	struct dc_sysdev *d;
	CHECK_MSG(dc_sys_add_device(s, "toy", NULL, &d) == DC_OK, "%s", dc_sys_device_error());
	struct dc_device *dev = dc_sysdev_device(d);
	struct dc_machine *mc = dc_sys_machine(s);
	CHECK_EQ(dev->res.port_base, 0x2A0);
	CHECK_EQ(dev->res.irq, 10);
	CHECK(!strcmp(dev->ops->name, "toy") && !strcmp(dev->ops->desc, m->desc));
	/* Registers: the scratch register holds a byte; a word access is not declared. */
	dc_bus_port_write(&mc->bus, 0x2A0, 0x5A, 1);
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x2A0, 1), 0x5A);
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x2A4, 1), 0x00);
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x2A5, 1), 0x10); /* 4096 >> 8 */
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x2A0, 2), 0xFFFF);
	dc_bus_port_write(&mc->bus, 0x2A0, 0x1234, 2);
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x2A0, 1), 0x5A);
	/* GO: the interrupt comes from the model's timer, 1 us later. */
	dc_bus_port_write(&mc->bus, 0x2A1, 1, 1);
	CHECK(!dc_irq_asserted(&mc->irq, 10));
	dc_clock_run_until(&mc->clock, mc->clock.now + 999);
	CHECK(!dc_irq_asserted(&mc->irq, 10));
	dc_clock_run_until(&mc->clock, mc->clock.now + 1);
	CHECK(dc_irq_asserted(&mc->irq, 10));
	dc_bus_port_write(&mc->bus, 0x2A2, 1, 1);
	CHECK(!dc_irq_asserted(&mc->irq, 10));
	/* The store, through the ops the kernel and the workload use. */
	uint8_t b[4] = {1, 2, 3, 4}, g[4] = {0};
	CHECK_EQ(dev->ops->store_size(dev->opaque), 4096);
	CHECK_EQ(dev->ops->store_write(dev->opaque, 100, b, 4), DC_OK);
	CHECK_EQ(dev->ops->store_read(dev->opaque, 100, g, 4), DC_OK);
	CHECK(!memcmp(b, g, 4));
	/* A second toy has no room: its model declares no stride. */
	CHECK_EQ(dc_sys_add_device(s, "toy", NULL, NULL), DC_ERR_BUSY);
	dc_sys_destroy(s);
}

DC_TEST(devmodel_collision_with_another_device_names_both)
{
	const char *so = build_model("toy", "toy300", "-DTOY_NAME='\"toy300\"' -DTOY_BASE=0x308");
	CHECK(so);
	char err[512];
	CHECK_MSG(dc_sys_load_device_model(so, NULL, err, sizeof(err)) == DC_OK, "%s", err);
	struct dc_platform p;
	struct dc_sys *s;
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	CHECK_EQ(dc_sys_create(&p, &s), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "sysblk", NULL, NULL), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "toy300", NULL, NULL), DC_ERR_BUSY);
	const char *e = dc_sys_device_error();
	CHECK_MSG(strstr(e, "toy300") && strstr(e, "sysblk") && strstr(e, "0x308-0x30f") &&
	              strstr(e, "toy300.so"),
	          "%s", e);
	/* Nothing of it stayed claimed: the ports after sysblk's are still free. */
	struct dc_machine *mc = dc_sys_machine(s);
	CHECK_EQ(dc_bus_port_read(&mc->bus, 0x310, 1), 0xFF);
	dc_sys_destroy(s);
}

struct bad_case {
	const char *out, *flags, *want;
};

DC_TEST(devmodel_bad_models_one_line_exit_2)
{
	static const struct bad_case cases[] = {
	    {"abi9", "-DTOY_ABI=9", "device model ABI 9, this dmacoh speaks 1"},
	    {"noread", "-DTOY_NO_READ", "device model 'toy': ops.port_read missing"},
	    {"dup", "-DTOY_NAME='\"sysblk\"'", "device model 'sysblk' exists already (built in)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *so = build_model("toy", cases[i].out, cases[i].flags);
		CHECK_MSG(so, "%s", cases[i].out);
		static struct dct_run r;
		CHECK(dct_run_tool(&r, (const char *const[]){"run", "--device-model", so,
		                                             "--driver", "sysdma", NULL}));
		char want[PATH_MAX + 128];
		snprintf(want, sizeof(want), "dmacoh: %s: %s", so, cases[i].want);
		CHECK_MSG(r.status == 2 && one_line(r.err) && strstr(r.err, want),
		          "%s: exit %d: %s", cases[i].out, r.status, r.err);
	}
	/* A shared object that is no model, and a file that is no shared object. */
	const char *so = build_model("notamodel", "notamodel", "");
	CHECK(so);
	static struct dct_run r;
	CHECK(dct_run_tool(
	    &r, (const char *const[]){"run", "--device-model", so, "--driver", "sysdma", NULL}));
	CHECK_MSG(r.status == 2 && one_line(r.err) && strstr(r.err, "not a device model (no "),
	          "exit %d: %s", r.status, r.err);
	CHECK(
	    dct_run_tool(&r, (const char *const[]){"run", "--device-model", "tests/devmodels/toy.c",
	                                           "--driver", "sysdma", NULL}));
	CHECK_MSG(r.status == 2 && one_line(r.err) &&
	              strstr(r.err, "dmacoh: tests/devmodels/toy.c: not a loadable device model"),
	          "exit %d: %s", r.status, r.err);
}

DC_TEST(devmodel_collision_at_run_one_line_exit_2)
{
	/* Ports on the DMA controller's: refused when the device is placed, with both named. */
	const char *so = build_model("toy", "onpic", "-DTOY_NAME='\"onpic\"' -DTOY_BASE=0x08");
	CHECK(so);
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--device-model", so, "--device",
	                                             "onpic", "--driver", "sysdma", NULL}));
	CHECK_MSG(r.status == 2 && one_line(r.err) &&
	              strstr(r.err, "ports 0x8-0xf collide with i8237-1"),
	          "exit %d: %s", r.status, r.err);
}

DC_TEST(devmodel_list_devices_shows_builtins_and_loaded)
{
	const char *so = build_model("toy", "toylist", "-DTOY_NAME='\"toylist\"'");
	CHECK(so);
	static struct dct_run r;
	CHECK(
	    dct_run_tool(&r, (const char *const[]){"list", "devices", "--device-model", so, NULL}));
	CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
	CHECK_MSG(strstr(r.out, "sysblk ") &&
	              strstr(r.out, "ports 0x300-0x30f, IRQ 5 level, DMA 3") &&
	              strstr(r.out, "fdc ") && strstr(r.out, "sb16 ") && strstr(r.out, "DMA 1+5") &&
	              strstr(r.out, "bmblk ") && strstr(r.out, "bus master") &&
	              strstr(r.out, "toylist ") && strstr(r.out, so) &&
	              strstr(r.out, "ports 0x2a0-0x2a7, IRQ 10 level, store block/1"),
	          "%s", r.out);
}

DC_TEST(devmodel_builtin_pio_built_out_of_tree_runs_clean_and_catches_twin)
{
	/* devices/pio.c needs nothing but <dmacoh/device.h>: copied out of the tree and built as
	 * a user builds a model, it runs the example pio driver end to end under the sanitizer. */
	const char *tool = dct_tool();
	char cc[PATH_MAX], cmd[4 * PATH_MAX], so[PATH_MAX];
	snprintf(cc, sizeof(cc), "%s", tool ? tool : "build/gcc/dmacoh");
	char *slash = strrchr(cc, '/');
	size_t at = slash ? (size_t)(slash - cc) + 1 : 0;
	snprintf(cc + at, sizeof(cc) - at, "dmacoh-cc");
	snprintf(so, sizeof(so), "%s/pio_oot.so", dm_dir());
	snprintf(
	    cmd, sizeof(cmd),
	    "cp devices/pio.c devices/pio.h tests/devmodels/pio_oot.c %s/ && %s --device-model "
	    "-Wall -Wextra -Werror -o %s %s/pio_oot.c",
	    dm_dir(), cc, so, dm_dir());
	CHECK_EQ(system(cmd), 0);
	static struct dct_run r;
	CHECK(dct_run_tool(&r, (const char *const[]){"run", "--device-model", so, "--device",
	                                             "pio-oot", "--driver", "pio", "--workload",
	                                             "count=20", "--deterministic", NULL}));
	CHECK_MSG(r.status == 0 && strstr(r.out, "pio on pio-oot") &&
	              strstr(r.out, "every byte verified") && strstr(r.out, "findings   none"),
	          "exit %d\n%s%s", r.status, r.out, r.err);
	CHECK(dct_run_tool(&r,
	                   (const char *const[]){"run", "--device-model", so, "--device", "pio-oot",
	                                         "--driver", "pio-bug-A07", "--workload",
	                                         "count=20", "--deterministic", NULL}));
	CHECK_MSG(r.status == 1 && strstr(r.out, "A07 x"), "exit %d\n%s%s", r.status, r.out, r.err);
}
