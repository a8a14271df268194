/* The table of built-in device models.  Adding a device to dmacoh is adding its model here (or
 * loading it from a .so with --device-model): nothing else names it. */
#include "builtin.h"

#include "bmblk.h"
#include "fdc.h"
#include "pio.h"
#include "ring.h"
#include "sb16.h"
#include "spififo.h"
#include "sysblk.h"

const struct dc_device_model *const dc_builtin_models[] = {
    &dc_sysblk_model, &dc_bmblk_model, &dc_bmblk_msi_model, &dc_ring_model, &dc_pio_model,
    &dc_fdc_model,    &dc_sb16_model,  &dc_spififo_model,   NULL,
};
