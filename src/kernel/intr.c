/* IoConnectInterruptEx and IoDisconnectInterruptEx over the interrupt objects of io.c:
 * CONNECT_FULLY_SPECIFIED (the caller's vector, IRQL and mode), CONNECT_LINE_BASED (the PDO's
 * assigned line: its translated vector and level, its mode and share disposition) and
 * CONNECT_MESSAGE_BASED: for a device that was given MSI (DC_IRQ_MSI: a translated
 * CM_RESOURCE_INTERRUPT_MESSAGE descriptor, MessageCount in the raw one) one latched interrupt
 * object per message, whose ISR calls the driver's KMESSAGE_SERVICE_ROUTINE with the MessageID,
 * and an IO_INTERRUPT_MESSAGE_INFO table in nonpaged pool as Windows fills it; for a device
 * without messages, FallBackServiceRoutine on the line and Version set to CONNECT_LINE_BASED.
 * Not modelled: MSI-X, per-message masking, processor groups (Group must be 0),
 * CONNECT_MESSAGE_BASED_PASSIVE (refused as Windows refuses it for a device without
 * passive-level messages). */
#include <stdlib.h>
#include <string.h>

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
	/* By pointer: PartialDescriptors is declared [1], and an index past it lets the compiler
	 * assume the loop runs once. */
	PCM_PARTIAL_RESOURCE_LIST l = &tr->List[0].PartialResourceList;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR p = l->PartialDescriptors;
	for (ULONG i = 0; i < l->Count && !found; i++, p++) {
		if (p->Type != CmResourceTypeInterrupt ||
		    (p->Flags & CM_RESOURCE_INTERRUPT_MESSAGE))
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

/* The PDO's messages: the first one's translated vector and level, and their count (0: none). */
static ULONG pdo_messages(struct dc_sys *s, PDEVICE_OBJECT pdo, ULONG *vector, KIRQL *irql)
{
	struct dc_sysdev *d = dc_io_pdo_sysdev(pdo);
	PCM_RESOURCE_LIST raw, tr;
	if (!d || dc_io_resources(s, d, &raw, &tr))
		return 0;
	ULONG n = 0;
	PCM_PARTIAL_RESOURCE_LIST lr = &raw->List[0].PartialResourceList;
	PCM_PARTIAL_RESOURCE_LIST lt = &tr->List[0].PartialResourceList;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR p = lt->PartialDescriptors, q = lr->PartialDescriptors;
	for (ULONG i = 0; i < lt->Count && i < lr->Count && !n; i++, p++, q++) {
		if (p->Type != CmResourceTypeInterrupt ||
		    !(p->Flags & CM_RESOURCE_INTERRUPT_MESSAGE))
			continue;
		*vector = p->u.MessageInterrupt.Translated.Vector;
		*irql = (KIRQL)p->u.MessageInterrupt.Translated.Level;
		n = q->u.MessageInterrupt.Raw.MessageCount;
	}
	free(raw);
	free(tr);
	return n;
}

/* One connected message: the context of the interrupt object's ISR. */
struct msi_conn {
	PKMESSAGE_SERVICE_ROUTINE fn;
	PVOID ctx;
	ULONG id;
};

/* The messages connected by one CONNECT_MESSAGE_BASED call (host side; the driver sees the
 * table in pool). */
struct dc_msi_set {
	struct dc_msi_set *next;
	PIO_INTERRUPT_MESSAGE_INFO table;
	ULONG n;
	PKINTERRUPT objs[16];
	struct msi_conn conn[16];
	KSPIN_LOCK lock; /* the messages' common spin lock when the caller gives none */
};

static BOOLEAN msi_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
	struct msi_conn *c = ServiceContext;
	return c->fn(Interrupt, c->ctx, c->id);
}

static void msi_set_free(struct dc_sys *s, struct dc_msi_set *set)
{
	for (ULONG i = 0; i < set->n; i++)
		if (set->objs[i])
			IoDisconnectInterrupt(set->objs[i]);
	if (set->table)
		dc_pool_free(s, set->table);
	free(set);
}

static NTSTATUS connect_messages(struct dc_sys *s, IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS *m,
                                 ULONG vector, KIRQL irql, ULONG n)
{
	if (n > 16)
		return STATUS_INVALID_PARAMETER;
	struct dc_msi_set *set = calloc(1, sizeof(*set));
	size_t tsize = FIELD_OFFSET(IO_INTERRUPT_MESSAGE_INFO, MessageInfo) +
	               n * sizeof(IO_INTERRUPT_MESSAGE_INFO_ENTRY);
	PIO_INTERRUPT_MESSAGE_INFO t = malloc(tsize);
	if (set)
		set->table = dc_pool_alloc(s, tsize, true, 'tnIo');
	if (!set || !t || !set->table) {
		if (set && set->table)
			dc_pool_free(s, set->table);
		free(set);
		free(t);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	/* Every message runs its ISR with one spin lock at one IRQL: the highest message's, or
	 * the caller's SynchronizeIrql with its own lock. */
	KIRQL unified = irql;
	for (ULONG i = 0; i < n; i++) {
		KIRQL l = DC_DIRQL(vector + i - DC_VECTOR_BASE);
		unified = l > unified ? l : unified;
	}
	if (m->SpinLock && m->SynchronizeIrql > unified)
		unified = m->SynchronizeIrql;
	memset(t, 0, tsize);
	t->UnifiedIrql = unified;
	t->MessageCount = n;
	NTSTATUS st = STATUS_SUCCESS;
	for (ULONG i = 0; i < n && NT_SUCCESS(st); i++) {
		KIRQL l = DC_DIRQL(vector + i - DC_VECTOR_BASE);
		set->conn[i] = (struct msi_conn){m->MessageServiceRoutine, m->ServiceContext, i};
		st = IoConnectInterrupt(&set->objs[i], msi_isr, &set->conn[i],
		                        m->SpinLock ? m->SpinLock : &set->lock, vector + i, l,
		                        unified, Latched, FALSE, 1, m->FloatingSave);
		set->n = i + 1;
		if (!NT_SUCCESS(st)) {
			set->objs[i] = NULL;
			break;
		}
		IO_INTERRUPT_MESSAGE_INFO_ENTRY *e = &t->MessageInfo[i];
		e->MessageAddress.QuadPart = 0xFEE00000; /* the local APIC's message window */
		e->TargetProcessorSet = 1;
		e->InterruptObject = set->objs[i];
		e->MessageData = vector + i; /* x86: the data carries the vector, edge */
		e->Vector = vector + i;
		e->Irql = l;
		e->Mode = Latched;
		e->Polarity = InterruptRisingEdge;
	}
	if (!NT_SUCCESS(st)) {
		free(t);
		msi_set_free(s, set);
		return st;
	}
	dc_cpu_write(s->m, set->table, t, tsize);
	free(t);
	set->next = s->msi_sets;
	s->msi_sets = set;
	dc_ktouch(s, m->ConnectionContext.InterruptMessageTable,
	          sizeof(*m->ConnectionContext.InterruptMessageTable), true);
	*m->ConnectionContext.InterruptMessageTable = set->table;
	return STATUS_SUCCESS;
}

void dc_intr_fini(struct dc_sys *s)
{
	while (s->msi_sets) {
		struct dc_msi_set *set = s->msi_sets;
		s->msi_sets = set->next;
		msi_set_free(s, set);
	}
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
		ULONG vector;
		KIRQL irql;
		ULONG n = pdo_messages(s, m->PhysicalDeviceObject, &vector, &irql);
		if (n)
			return connect_messages(s, m, vector, irql, n);
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
	if (Parameters->Version == CONNECT_MESSAGE_BASED) {
		for (struct dc_msi_set **pp = &s->msi_sets; *pp; pp = &(*pp)->next) {
			if ((*pp)->table == Parameters->ConnectionContext.InterruptMessageTable) {
				struct dc_msi_set *set = *pp;
				*pp = set->next;
				msi_set_free(s, set);
				return;
			}
		}
		dc_kbugcheck(s, 0x1E,
		             "IoDisconnectInterruptEx of a message table that is not connected",
		             RA());
		return;
	}
	IoDisconnectInterrupt(Parameters->ConnectionContext.InterruptObject);
}
