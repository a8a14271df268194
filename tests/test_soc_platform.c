/* The arm-soc platform at system level: its system DMA controller is the PL080 (no 8237),
 * devices that need an 8237 channel refuse to attach with the reason, the request-line and
 * bus-master devices attach, and no v1/v2 system DMA adapter exists without an 8237. */
#include <string.h>

#include "dctest.h"
#include "hw/bridge.h"
#include "hw/machine.h"
#include "hw/pl080.h"
#include "kernel/sys.h"

static struct dc_sys *sys_on(const char *plat)
{
	struct dc_platform p;
	struct dc_sys *s = NULL;
	if (dc_platform_builtin(plat, &p) || dc_sys_create(&p, &s))
		return NULL;
	return s;
}

DC_TEST(soc_arm_soc_has_a_pl080_and_no_8237)
{
	struct dc_sys *s = sys_on("arm-soc");
	CHECK(s);
	struct dc_machine *m = dc_sys_machine(s);
	CHECK_EQ(m->plat.sysdma_ctl, DC_SYSDMA_PL080);
	struct dc_pl080 *d = dc_pl080_from_bus(&m->bus);
	CHECK(d);
	CHECK_EQ(dc_pl080_base(d), dc_mmio_window(m) + DC_PL080_MMIO_OFFSET);
	CHECK_EQ(dc_pl080_irq(d), DC_PL080_IRQ);
	CHECK_EQ(dc_bus_mmio_read(&m->bus, dc_pl080_base(d) + DC_PL080_PERIPH_ID0, 4), 0x80);
	CHECK(!dc_i8237_from_bus(&m->bus));
	CHECK(!dc_bus_port_owner(&m->bus, 0x00, 0x10)); /* no 8237 ports */
	dc_sys_destroy(s);
	/* PC platforms keep the 8237 and have no PL080. */
	s = sys_on("noncoherent");
	CHECK(s);
	m = dc_sys_machine(s);
	CHECK_EQ(m->plat.sysdma_ctl, DC_SYSDMA_8237);
	CHECK(dc_i8237_from_bus(&m->bus));
	CHECK(!dc_pl080_from_bus(&m->bus));
	dc_sys_destroy(s);
}

DC_TEST(soc_devices_needing_the_8237_refuse_with_the_reason)
{
	struct dc_sys *s = sys_on("arm-soc");
	CHECK(s);
	struct dc_sysdev *d = NULL;
	static const char *const isa[] = {"sysblk", "fdc", "sb16"};
	for (unsigned i = 0; i < 3; i++) {
		CHECK(dc_sys_add_device(s, isa[i], NULL, &d) != DC_OK);
		CHECK_MSG(strstr(dc_sys_device_error(), "(no 8237: the platform's system DMA "
		                                        "controller is pl080)"),
		          "%s: %s", isa[i], dc_sys_device_error());
	}
	CHECK_EQ(dc_sys_add_device(s, "spififo", NULL, &d), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "bmblk", NULL, &d), DC_OK);
	dc_sys_destroy(s);
}

/* Without an 8237 there is no v1/v2 system DMA adapter to program: IoGetDmaAdapter says NULL
 * (before, it handed one out whose MapTransfer programmed a controller that does not exist). */
DC_TEST(soc_no_8237_system_adapter_on_arm_soc)
{
	struct dc_sys *s = sys_on("arm-soc");
	CHECK(s);
	struct dc_sysdev *d = NULL;
	CHECK_EQ(dc_sys_add_device(s, "spififo", NULL, &d), DC_OK);
	DEVICE_DESCRIPTION dd;
	memset(&dd, 0, sizeof(dd));
	dd.Version = DEVICE_DESCRIPTION_VERSION2;
	dd.DmaChannel = 3;
	dd.DmaWidth = Width8Bits;
	dd.InterfaceType = Isa;
	dd.MaximumLength = 16384;
	ULONG n = 0;
	CHECK(!IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n));
	dd.Version = DEVICE_DESCRIPTION_VERSION;
	CHECK(!IoGetDmaAdapter(dc_sysdev_pdo(d), &dd, &n));
	dc_sys_destroy(s);
}
