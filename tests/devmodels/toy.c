/* toy: the smallest useful device model, built by tests as a user builds theirs
 * (dmacoh-cc --device-model).  Eight byte-wide ports: 0 a scratch register, 1 "go" (raises
 * the interrupt GO_NS later), 2 acknowledge (lowers it), 4-7 the store size.  A 4 KiB
 * byte-addressed store.  -DTOY_BASE=0x... moves the ports (a colliding twin), -DTOY_NAME a
 * duplicate name, -DTOY_ABI a wrong ABI, -DTOY_NO_READ a missing ops member. */
#include <stdlib.h>
#include <string.h>

#include <dmacoh/device.h>

#ifndef TOY_BASE
#define TOY_BASE 0x2A0
#endif
#ifndef TOY_NAME
#define TOY_NAME "toy"
#endif
#ifndef TOY_ABI
#define TOY_ABI DMACOH_DEVICE_ABI
#endif
#define GO_NS 1000
#define STORE 4096

struct toy {
	struct dc_host *h;
	struct dc_timer *go;
	uint8_t scratch;
	uint8_t store[STORE];
};

static void go_event(void *opaque)
{
	struct toy *t = opaque;
	dc_host_irq_raise(t->h);
}

__attribute__((unused)) static uint32_t toy_read(void *opaque, uint64_t off, unsigned size)
{
	struct toy *t = opaque;
	(void)size;
	if (off == 0)
		return t->scratch;
	if (off >= 4 && off < 8)
		return (STORE >> (8 * (off - 4))) & 0xFF;
	return 0;
}

static void toy_write(void *opaque, uint64_t off, uint32_t val, unsigned size)
{
	struct toy *t = opaque;
	(void)size;
	if (off == 0)
		t->scratch = (uint8_t)val;
	else if (off == 1)
		dc_timer_mod(t->go, dc_host_now(t->h) + GO_NS);
	else if (off == 2)
		dc_host_irq_lower(t->h);
}

static int toy_create(struct dc_host *h, const struct dc_device_cfg *cfg, void **opaque)
{
	(void)cfg;
	struct toy *t = calloc(1, sizeof(*t));
	if (!t)
		return DC_ERR_NOMEM;
	t->h = h;
	t->go = dc_timer_new(h, "toy-go", go_event, t);
	if (!t->go) {
		free(t);
		return DC_ERR_NOMEM;
	}
	*opaque = t;
	return DC_OK;
}

static void toy_destroy(void *opaque)
{
	free(opaque);
}

static uint64_t toy_store_size(void *opaque)
{
	(void)opaque;
	return STORE;
}

static int toy_store_read(void *opaque, uint64_t off, void *buf, uint64_t len)
{
	struct toy *t = opaque;
	if (off > STORE || len > STORE - off)
		return DC_ERR_RANGE;
	memcpy(buf, t->store + off, len);
	return DC_OK;
}

static int toy_store_write(void *opaque, uint64_t off, const void *buf, uint64_t len)
{
	struct toy *t = opaque;
	if (off > STORE || len > STORE - off)
		return DC_ERR_RANGE;
	memcpy(t->store + off, buf, len);
	return DC_OK;
}

static const struct dc_device_ops toy_ops = {
    .create = toy_create,
    .destroy = toy_destroy,
#ifndef TOY_NO_READ
    .port_read = toy_read,
#endif
    .port_write = toy_write,
    .store_size = toy_store_size,
    .store_read = toy_store_read,
    .store_write = toy_store_write,
};

static const struct dc_device_model toy = {
    .abi = TOY_ABI,
    .size = sizeof(struct dc_device_model),
    .name = TOY_NAME,
    .desc = "a toy device from tests/devmodels",
    .ops = &toy_ops,
    .res =
        {
            .port_base = TOY_BASE,
            .port_len = 8,
            .port_access = DC_ACCESS_1,
            .irq = 10,
            .irq_mode = DC_IRQ_LEVEL,
            .dma_channel = -1,
        },
    .store_kind = DC_STORE_BLOCK,
    .store_unit = 1,
};

DMACOH_DEVICE_MODEL(toy);
