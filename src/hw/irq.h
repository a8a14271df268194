/* Interrupt lines between devices and the kernel layer.  Lines are level-triggered, as ISA and
 * PCI INTx are seen by a driver: a device asserts its line until the ISR acknowledges it in the
 * device's registers.  The kernel layer installs one sink that is told about every rising
 * edge; masking, IRQL and running ISRs are its business. */
#ifndef DC_IRQ_H
#define DC_IRQ_H

#include "dmacoh/common.h"

#define DC_IRQ_LINES 32

typedef void (*dc_irq_sink_fn)(void *opaque, unsigned line);

struct dc_irq {
	uint32_t level; /* bit per line: asserted */
	uint64_t raised[DC_IRQ_LINES];
	dc_irq_sink_fn sink;
	void *sink_opaque;
};

void dc_irq_init(struct dc_irq *q);
void dc_irq_set_sink(struct dc_irq *q, dc_irq_sink_fn fn, void *opaque);
/* Asserts / deasserts a line; asserting an asserted line does nothing. */
void dc_irq_raise(struct dc_irq *q, unsigned line);
void dc_irq_lower(struct dc_irq *q, unsigned line);
static inline bool dc_irq_asserted(const struct dc_irq *q, unsigned line)
{
	return line < DC_IRQ_LINES && (q->level >> line) & 1;
}

#endif
