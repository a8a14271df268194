/* The machine's side of the device-model API (include/dmacoh/device.h): what the host keeps per
 * device instance, for the layers above src/hw that need the machine's view of a device (the
 * kernel's FlushAdapterBuffers drains its bus-master engine).  Models never include this. */
#ifndef DC_DEVICE_H
#define DC_DEVICE_H

#include "dmacoh/device.h"

struct dc_busmaster;

/* The first bus-master engine of a device (the one its DMA source drains through), or NULL. */
struct dc_busmaster *dc_device_busmaster(const struct dc_device *d);
/* The device's last dc_host_log message ("" if none). */
const char *dc_device_last_log(const struct dc_device *d);

#endif
