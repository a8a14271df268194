#include "bm_audit.h"

#include <stdio.h>
#include <string.h>

#include "dmacoh/driver.h"

void audit_problem(struct audit *a, const struct dc_kev *e, const char *what)
{
	if (a->problems++ == 0)
		snprintf(a->first, sizeof(a->first), "%s (%s, %s)", what, dc_kev_name(e->type),
		         e->routine ? e->routine : "-");
}

int audit_open_count(const struct audit *a, const void *mrb)
{
	int n = 0;
	for (size_t i = 0; i < AUDIT_OPEN; i++)
		n += a->open[i].used && (!mrb || a->open[i].mrb == mrb);
	return n;
}

void audit_kev(struct audit *a, const struct dc_kev *e)
{
	size_t i;
	switch (e->type) {
	case DC_KEV_IRQL:
		audit_problem(a, e, "wrong IRQL");
		break;
	case DC_KEV_BAD_ACCESS:
	case DC_KEV_CRASH:
		audit_problem(a, e, "bad access or crash");
		break;
	case DC_KEV_MAP:
		if (e->status != DC_KMAP_OK && e->status != DC_KMAP_SHORT) {
			audit_problem(a, e, "MapTransfer refused");
			break;
		}
		for (i = 0; i < AUDIT_OPEN && a->open[i].used; i++)
			;
		if (i == AUDIT_OPEN) {
			audit_problem(a, e, "too many MapTransfers open");
			break;
		}
		a->open[i].mrb = e->mrb;
		a->open[i].mdl = e->mdl;
		a->open[i].va = e->va;
		a->open[i].len = e->len_out;
		a->open[i].dir = e->dir;
		a->open[i].used = true;
		break;
	case DC_KEV_FLUSH:
		for (i = 0; i < AUDIT_OPEN; i++)
			if (a->open[i].used && a->open[i].mrb == e->mrb &&
			    a->open[i].mdl == e->mdl && a->open[i].va == e->va)
				break;
		if (i == AUDIT_OPEN) {
			audit_problem(a, e, "flush naming no open MapTransfer");
			break;
		}
		if (a->open[i].len != e->len || a->open[i].dir != e->dir)
			audit_problem(a, e, "flush arguments differ from the MapTransfer");
		a->open[i].used = false;
		break;
	case DC_KEV_ADAPTER_CONTROL:
		a->mrbs++;
		break;
	case DC_KEV_MAPREG_FREE:
		if (!e->status)
			audit_problem(a, e, "FreeMapRegisters count differs from the allocation");
		if (audit_open_count(a, e->mrb))
			audit_problem(a, e, "map registers freed with a transfer mapped");
		a->mrbs--;
		break;
	case DC_KEV_SG_MAP:
		a->lists += e->status == STATUS_SUCCESS;
		break;
	case DC_KEV_SG_PUT:
		if (!e->xfer)
			audit_problem(a, e, "PutScatterGatherList of no outstanding list");
		else
			a->lists--;
		break;
	case DC_KEV_COMMON_ALLOC:
		a->commons += e->va != NULL;
		break;
	case DC_KEV_COMMON_FREE:
		if (e->status)
			a->commons--;
		else
			audit_problem(a, e, "FreeCommonBuffer freed nothing");
		break;
	case DC_KEV_ADAPTER_PUT:
		if (a->commons || a->lists || a->mrbs || audit_open_count(a, NULL))
			audit_problem(a, e, "adapter put with DMA resources outstanding");
		break;
	case DC_KEV_DEVICE_ACCESS:
		if (!e->status)
			audit_problem(a, e, "device access outside what is mapped");
		break;
	case DC_KEV_IRP_COMPLETE:
		if ((e->value == IRP_MJ_READ || e->value == IRP_MJ_WRITE) &&
		    (e->status < 0 ? e->len_out != 0 : e->len_out > e->len))
			audit_problem(a, e, "Information wrong for the status");
		break;
	default:
		break;
	}
}
