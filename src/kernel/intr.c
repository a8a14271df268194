/* IoConnectInterruptEx and IoDisconnectInterruptEx over the interrupt objects of io.c:
 * CONNECT_FULLY_SPECIFIED (the caller's vector, IRQL and mode), CONNECT_LINE_BASED (the PDO's
 * assigned interrupt: its translated vector and level, its mode and share disposition) and
 * CONNECT_MESSAGE_BASED, which falls back to the line with FallBackServiceRoutine and says so in
 * Version, because no device here has message-signaled interrupts.  Not modelled: MSI/MSI-X
 * themselves, processor groups (Group must be 0), CONNECT_MESSAGE_BASED_PASSIVE (refused as
 * Windows refuses it for a device without messages). */
#include <stdlib.h>

#include "kernel.h"

#define RA() __builtin_return_address(0)

/* The PDO's interrupt as IRP_MN_START_DEVICE's translated resources give it. */
static bool pdo_interrupt(struct dc_sys *s, PDEVICE_OBJECT pdo, ULONG *vector, KIRQL *irql,
                          KINTERRUPT_MODE *mode, BOOLEAN *shared)
{
	struct dc_sysdev *d = dc_io_pdo_sysdev(pdo);
	PCM_RESOURCE_LIST raw, tr;
	if (!d || dc_io_resources(s, d, &raw, &tr))
		return false;
	bool found = false;
	PCM_PARTIAL_RESOURCE_LIST l = &tr->List[0].PartialResourceList;
	for (ULONG i = 0; i < l->Count && !found; i++) {
		PCM_PARTIAL_RESOURCE_DESCRIPTOR p = &l->PartialDescriptors[i];
		if (p->Type != CmResourceTypeInterrupt)
			continue;
		*vector = p->u.Interrupt.Vector;
		*irql = (KIRQL)p->u.Interrupt.Level;
		*mode = (p->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? Latched : LevelSensitive;
		*shared = p->ShareDisposition == CmResourceShareShared;
		found = true;
	}
	free(raw);
	free(tr);
	return found;
}

static NTSTATUS connect_line(struct dc_sys *s, PDEVICE_OBJECT pdo, PKINTERRUPT *obj,
                             PKSERVICE_ROUTINE isr, PVOID ctx, PKSPIN_LOCK lock, KIRQL sync)
{
	ULONG vector;
	KIRQL irql;
	KINTERRUPT_MODE mode;
	BOOLEAN shared;
	if (!dc_io_pdo_sysdev(pdo))
		return STATUS_INVALID_PARAMETER;
	if (!pdo_interrupt(s, pdo, &vector, &irql, &mode, &shared))
		return STATUS_NOT_FOUND; /* the device was assigned no interrupt */
	return IoConnectInterrupt(obj, isr, ctx, lock, vector, irql, sync > irql ? sync : irql,
	                          mode, shared, (KAFFINITY)((UINT64_C(1) << dc_mp_count(s)) - 1),
	                          FALSE);
}

NTSTATUS IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoConnectInterruptEx", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!Parameters)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, Parameters, sizeof(*Parameters), true);
	switch (Parameters->Version) {
	case CONNECT_FULLY_SPECIFIED:
	case CONNECT_FULLY_SPECIFIED_GROUP: {
		IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS *f = &Parameters->FullySpecified;
		if (!f->PhysicalDeviceObject ||
		    (Parameters->Version == CONNECT_FULLY_SPECIFIED_GROUP && f->Group != 0))
			return STATUS_INVALID_PARAMETER;
		return IoConnectInterrupt(f->InterruptObject, f->ServiceRoutine, f->ServiceContext,
		                          f->SpinLock, f->Vector, f->Irql, f->SynchronizeIrql,
		                          f->InterruptMode, f->ShareVector, f->ProcessorEnableMask,
		                          f->FloatingSave);
	}
	case CONNECT_LINE_BASED: {
		IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS *l = &Parameters->LineBased;
		if (!l->InterruptObject || !l->ServiceRoutine)
			return STATUS_INVALID_PARAMETER;
		return connect_line(s, l->PhysicalDeviceObject, l->InterruptObject,
		                    l->ServiceRoutine, l->ServiceContext, l->SpinLock,
		                    l->SynchronizeIrql);
	}
	case CONNECT_MESSAGE_BASED: {
		IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS *m = &Parameters->MessageBased;
		if (!m->ConnectionContext.Generic || !m->MessageServiceRoutine)
			return STATUS_INVALID_PARAMETER;
		/* No messages: the line, if the caller gave a routine for it. */
		if (!m->FallBackServiceRoutine)
			return STATUS_NOT_SUPPORTED;
		NTSTATUS st = connect_line(
		    s, m->PhysicalDeviceObject, m->ConnectionContext.InterruptObject,
		    m->FallBackServiceRoutine, m->ServiceContext, m->SpinLock, m->SynchronizeIrql);
		if (NT_SUCCESS(st))
			Parameters->Version = CONNECT_LINE_BASED;
		return st;
	}
	case CONNECT_MESSAGE_BASED_PASSIVE:
		return STATUS_NOT_SUPPORTED;
	default:
		return STATUS_INVALID_PARAMETER;
	}
}

VOID IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoDisconnectInterruptEx", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!Parameters) {
		dc_kbugcheck(s, 0x1E, "IoDisconnectInterruptEx with NULL parameters", RA());
		return;
	}
	dc_ktouch(s, Parameters, sizeof(*Parameters), false);
	IoDisconnectInterrupt(Parameters->ConnectionContext.InterruptObject);
}
