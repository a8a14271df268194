/* The built-in device models: the device-model API's first users (include/dmacoh/device.h).
 * dmacoh knows a device only as an entry of this table or of a loaded .so. */
#ifndef DC_DEVICES_BUILTIN_H
#define DC_DEVICES_BUILTIN_H

#include "dmacoh/device.h"

/* NULL-terminated, in the order `dmacoh list devices` shows them. */
extern const struct dc_device_model *const dc_builtin_models[];

#endif
