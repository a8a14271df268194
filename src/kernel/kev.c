/* Names of the kernel events and map statuses (observer.h), for reports and test messages. */
#include "dmacoh/observer.h"

const char *dc_kev_name(enum dc_kev_type t)
{
	static const char *const names[] = {
	    [DC_KEV_NONE] = "none",
	    [DC_KEV_ADAPTER_GET] = "adapter-get",
	    [DC_KEV_ADAPTER_PUT] = "adapter-put",
	    [DC_KEV_COMMON_ALLOC] = "common-alloc",
	    [DC_KEV_COMMON_FREE] = "common-free",
	    [DC_KEV_CHANNEL_ALLOC] = "channel-alloc",
	    [DC_KEV_ADAPTER_CONTROL] = "adapter-control",
	    [DC_KEV_CHANNEL_FREE] = "channel-free",
	    [DC_KEV_MAPREG_FREE] = "mapreg-free",
	    [DC_KEV_MAP] = "map",
	    [DC_KEV_FLUSH] = "flush",
	    [DC_KEV_SG_MAP] = "sg-map",
	    [DC_KEV_SG_PUT] = "sg-put",
	    [DC_KEV_KE_FLUSH] = "ke-flush",
	    [DC_KEV_IRP_SEND] = "irp-send",
	    [DC_KEV_IRP_COMPLETE] = "irp-complete",
	    [DC_KEV_IRQL] = "irql",
	    [DC_KEV_DEVICE_ACCESS] = "device-access",
	    [DC_KEV_MDL_MAP] = "mdl-map",
	    [DC_KEV_BAD_ACCESS] = "bad-access",
	    [DC_KEV_REMOVE] = "remove",
	    [DC_KEV_UNLOAD] = "unload",
	    [DC_KEV_CRASH] = "crash",
	    [DC_KEV_ISR] = "isr",
	    [DC_KEV_DPC] = "dpc",
	    [DC_KEV_POOL_ALLOC] = "pool-alloc",
	    [DC_KEV_POOL_FREE] = "pool-free",
	    [DC_KEV_ERRLOG] = "errlog",
	    [DC_KEV_MAP_EX] = "map-ex",
	    [DC_KEV_DMA_COMPLETION] = "dma-completion",
	    [DC_KEV_LOCK] = "lock",
	    [DC_KEV_IRP_LIFE] = "irp-life",
	};
	return (unsigned)t < DC_ARRAY_SIZE(names) && names[t] ? names[t] : "?";
}

const char *dc_kmap_status_name(enum dc_kmap_status s)
{
	static const char *const names[] = {
	    [DC_KMAP_OK] = "ok",
	    [DC_KMAP_SHORT] = "short",
	    [DC_KMAP_NO_ADAPTER] = "no-adapter",
	    [DC_KMAP_NO_CHANNEL] = "no-channel",
	    [DC_KMAP_BAD_MDL] = "bad-mdl",
	    [DC_KMAP_OUTSIDE_MDL] = "outside-mdl",
	    [DC_KMAP_ZERO_LENGTH] = "zero-length",
	    [DC_KMAP_TOO_MANY_REGS] = "too-many-registers",
	    [DC_KMAP_BUSY] = "busy",
	    [DC_KMAP_HW_REFUSED] = "hardware-refused",
	    [DC_KMAP_GARBAGE_MDL] = "garbage-mdl",
	};
	return (unsigned)s < DC_ARRAY_SIZE(names) && names[s] ? names[s] : "?";
}
