/* The built-in pio device, built out of tree as a loadable model under another name: proof
 * that a built-in needs nothing but <dmacoh/device.h>, and a full device for an end-to-end run
 * of a loaded model (`dmacoh run --device-model pio_oot.so --device pio-oot --driver pio`).
 * Built by tests with: dmacoh-cc --device-model -I devices tests/devmodels/pio_oot.c */
#include "pio.c"

static const struct dc_device_model pio_oot = {
    .abi = DMACOH_DEVICE_ABI,
    .size = sizeof(struct dc_device_model),
    .name = "pio-oot",
    .desc = "the pio device, loaded from a .so",
    .ops = &pio_ops,
    .res =
        {
            .port_base = 0x340,
            .port_len = DC_PIO_PORTS,
            .irq = 7,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
        },
    .port_stride = 0x20,
    .store_kind = DC_STORE_BLOCK,
    .store_unit = 1,
};

DMACOH_DEVICE_MODEL(pio_oot);
