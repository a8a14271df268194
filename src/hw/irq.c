/* Level-triggered interrupt lines; the kernel layer's sink hears each rising edge. */
#include "irq.h"

void dc_irq_init(struct dc_irq *q)
{
	*q = (struct dc_irq){0};
}

void dc_irq_set_sink(struct dc_irq *q, dc_irq_sink_fn fn, void *opaque)
{
	q->sink = fn;
	q->sink_opaque = opaque;
}

void dc_irq_raise(struct dc_irq *q, unsigned line)
{
	DC_ASSERT(line < DC_IRQ_LINES);
	if (q->level & (1u << line))
		return;
	q->level |= 1u << line;
	q->raised[line]++;
	if (q->sink)
		q->sink(q->sink_opaque, line);
}

void dc_irq_lower(struct dc_irq *q, unsigned line)
{
	DC_ASSERT(line < DC_IRQ_LINES);
	q->level &= ~(1u << line);
}
