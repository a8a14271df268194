/* The legacy hardware tree that IoQueryDeviceDescription searches: what NTDETECT reported on a
 * PC — one ISA bus (a MultifunctionAdapter), its controllers and their peripherals.  Built from
 * the system's devices on each call, by the class their model declares (dc_device_class):
 *   DC_CLASS_DISK  -> DiskController n, with FloppyDiskPeripheral 0 (a 3.5" 1.44 MB drive);
 *   DC_CLASS_AUDIO -> AudioController n;
 *   DC_CLASS_OTHER -> OtherController n.
 * A controller's Identifier is its model's `identifier` (else its name).
 * Bus masters are PCI devices, found through PnP only (as on Windows).  A controller's
 * configuration data is its raw resources as a CM_FULL_RESOURCE_DESCRIPTOR; a floppy drive's is
 * a device-specific descriptor followed by CM_FLOPPY_DEVICE_DATA (version 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define RA() __builtin_extract_return_addr(__builtin_return_address(0))

/* A KEY_VALUE_FULL_INFORMATION with its name and data (host memory, freed after the call). */
static PKEY_VALUE_FULL_INFORMATION kv_new(const char *name, ULONG type, const void *data, ULONG len)
{
	size_t nlen = strlen(name) * sizeof(WCHAR);
	size_t off = offsetof(KEY_VALUE_FULL_INFORMATION, Name) + nlen;
	off = (off + 7) & ~(size_t)7;
	PKEY_VALUE_FULL_INFORMATION kv = calloc(1, off + len);
	if (!kv)
		return NULL;
	kv->Type = type;
	kv->NameLength = (ULONG)nlen;
	for (size_t i = 0; name[i]; i++)
		kv->Name[i] = (WCHAR)(unsigned char)name[i];
	kv->DataOffset = (ULONG)off;
	kv->DataLength = len;
	memcpy((uint8_t *)kv + off, data, len);
	return kv;
}

static bool kv_set(PKEY_VALUE_FULL_INFORMATION info[3], const char *ident, ULONG cfg_type,
                   const void *cfg, ULONG cfg_len)
{
	WCHAR id[64];
	size_t n = strlen(ident);
	for (size_t i = 0; i <= n && i < DC_ARRAY_SIZE(id); i++)
		id[i] = (WCHAR)(unsigned char)ident[i];
	/* Component information: flags, version, key, affinity (all zero but the affinity). */
	ULONG comp[4] = {0, 0, 0, 1};
	info[IoQueryDeviceIdentifier] =
	    kv_new("Identifier", REG_SZ, id, (ULONG)((n + 1) * sizeof(WCHAR)));
	info[IoQueryDeviceConfigurationData] = kv_new("Configuration Data", cfg_type, cfg, cfg_len);
	info[IoQueryDeviceComponentInformation] =
	    kv_new("Component Information", REG_BINARY, comp, sizeof(comp));
	return info[0] && info[1] && info[2];
}

static void kv_free(PKEY_VALUE_FULL_INFORMATION info[3])
{
	for (int i = 0; i < 3; i++) {
		free(info[i]);
		info[i] = NULL;
	}
}

static CONFIGURATION_TYPE controller_type(const struct dc_sysdev *d)
{
	if (d->bm)
		return MaximumType; /* PCI: not in this tree */
	switch (d->dev.model->dev_class) {
	case DC_CLASS_DISK:
		return DiskController;
	case DC_CLASS_AUDIO:
		return AudioController;
	case DC_CLASS_OTHER:
		break;
	}
	return OtherController;
}

static void path(UNICODE_STRING *u, WCHAR *buf, size_t cap, CONFIGURATION_TYPE ct, ULONG cn,
                 bool periph, ULONG pn)
{
	char a[200];
	int n =
	    snprintf(a, sizeof(a),
	             "\\Registry\\Machine\\Hardware\\Description\\System\\MultifunctionAdapter\\0");
	if (ct != MaximumType)
		n += snprintf(a + n, sizeof(a) - (size_t)n, "\\%s\\%u",
		              ct == DiskController    ? "DiskController"
		              : ct == AudioController ? "AudioController"
		                                      : "OtherController",
		              (unsigned)cn);
	if (periph)
		snprintf(a + n, sizeof(a) - (size_t)n, "\\FloppyDiskPeripheral\\%u", (unsigned)pn);
	size_t len = strlen(a);
	if (len >= cap)
		len = cap - 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (WCHAR)(unsigned char)a[i];
	buf[len] = 0;
	u->Buffer = buf;
	u->Length = (USHORT)(len * sizeof(WCHAR));
	u->MaximumLength = (USHORT)((len + 1) * sizeof(WCHAR));
}

/* The floppy drive's configuration data: a device-specific descriptor, then the drive data. */
struct floppy_cfg {
	CM_FULL_RESOURCE_DESCRIPTOR full;
	CM_FLOPPY_DEVICE_DATA data;
};

static void floppy_cfg(struct floppy_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->full.InterfaceType = Isa;
	c->full.PartialResourceList.Version = 1;
	c->full.PartialResourceList.Revision = 1;
	c->full.PartialResourceList.Count = 1;
	PCM_PARTIAL_RESOURCE_DESCRIPTOR p = c->full.PartialResourceList.PartialDescriptors;
	p->Type = CmResourceTypeDeviceSpecific;
	p->u.DeviceSpecificData.DataSize = sizeof(c->data);
	CM_FLOPPY_DEVICE_DATA *f = &c->data;
	f->Version = 2;
	f->Revision = 0;
	memcpy(f->Size, "3.5", 4);
	f->MaxDensity = 1440;
	f->MountDensity = 0;
	f->StepRateHeadUnloadTime = 0xAF; /* SRT 6 ms, HUT 240 ms at 500 kbps (BIOS defaults) */
	f->HeadLoadTime = 0x02;
	f->MotorOffTime = 0x25;
	f->SectorLengthCode = 2; /* 512 bytes */
	f->SectorPerTrack = 18;
	f->ReadWriteGapLength = 0x1B;
	f->DataTransferLength = 0xFF;
	f->FormatGapLength = 0x6C;
	f->FormatFillCharacter = 0xF6;
	f->HeadSettleTime = 0x0F;
	f->MotorSettleTime = 8; /* 1/8 s units */
	f->MaximumTrackValue = 79;
	f->DataTransferRate = 0; /* 500 kbps (CCR code) */
}

NTSTATUS IoQueryDeviceDescription(PINTERFACE_TYPE BusType, PULONG BusNumber,
                                  PCONFIGURATION_TYPE ControllerType, PULONG ControllerNumber,
                                  PCONFIGURATION_TYPE PeripheralType, PULONG PeripheralNumber,
                                  PIO_QUERY_DEVICE_ROUTINE CalloutRoutine, PVOID Context)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoQueryDeviceDescription", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!BusType || !CalloutRoutine)
		return STATUS_INVALID_PARAMETER;
	dc_ktouch(s, BusType, sizeof(*BusType), false);
	if (*BusType != Isa || (BusNumber && *BusNumber != 0))
		return STATUS_OBJECT_NAME_NOT_FOUND;
	PKEY_VALUE_FULL_INFORMATION bus[3] = {0}, ctl[3] = {0}, per[3] = {0};
	WCHAR pbuf[200];
	UNICODE_STRING pn;
	NTSTATUS st = STATUS_OBJECT_NAME_NOT_FOUND;
	CM_FULL_RESOURCE_DESCRIPTOR busdesc = {
	    .InterfaceType = Isa, .PartialResourceList = {.Version = 1, .Revision = 1}};
	if (!kv_set(bus, "ISA", REG_FULL_RESOURCE_DESCRIPTOR, &busdesc,
	            (ULONG)offsetof(CM_FULL_RESOURCE_DESCRIPTOR,
	                            PartialResourceList.PartialDescriptors))) {
		kv_free(bus);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (!ControllerType) {
		path(&pn, pbuf, DC_ARRAY_SIZE(pbuf), MaximumType, 0, false, 0);
		st = CalloutRoutine(Context, &pn, Isa, 0, bus, MaximumType, 0, NULL, MaximumType, 0,
		                    NULL);
		kv_free(bus);
		return st;
	}
	CONFIGURATION_TYPE want = *ControllerType;
	ULONG number[MaximumType + 1] = {0};
	for (unsigned i = 0; i < s->n_devs; i++) {
		struct dc_sysdev *d = s->devs[i];
		CONFIGURATION_TYPE ct = controller_type(d);
		if (ct == MaximumType)
			continue;
		ULONG cn = number[ct]++;
		if (ct != want || (ControllerNumber && *ControllerNumber != cn))
			continue;
		PCM_RESOURCE_LIST raw, tr;
		if (dc_io_resources(s, d, &raw, &tr)) {
			st = STATUS_INSUFFICIENT_RESOURCES;
			break;
		}
		const CM_FULL_RESOURCE_DESCRIPTOR *f = &raw->List[0];
		ULONG flen =
		    (ULONG)(offsetof(CM_FULL_RESOURCE_DESCRIPTOR,
		                     PartialResourceList.PartialDescriptors) +
		            f->PartialResourceList.Count * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR));
		const char *ident = d->dev.model->identifier ? d->dev.model->identifier : d->kind;
		bool ok = kv_set(ctl, ident, REG_FULL_RESOURCE_DESCRIPTOR, f, flen);
		free(raw);
		free(tr);
		if (!ok) {
			kv_free(ctl);
			st = STATUS_INSUFFICIENT_RESOURCES;
			break;
		}
		if (!PeripheralType) {
			path(&pn, pbuf, DC_ARRAY_SIZE(pbuf), ct, cn, false, 0);
			st = CalloutRoutine(Context, &pn, Isa, 0, bus, ct, cn, ctl, MaximumType, 0,
			                    NULL);
		} else if (*PeripheralType == FloppyDiskPeripheral && ct == DiskController &&
		           (!PeripheralNumber || *PeripheralNumber == 0)) {
			struct floppy_cfg fc;
			floppy_cfg(&fc);
			if (!kv_set(per, "GENERIC FLOPPY", REG_FULL_RESOURCE_DESCRIPTOR, &fc,
			            (ULONG)sizeof(fc)))
				st = STATUS_INSUFFICIENT_RESOURCES;
			else {
				path(&pn, pbuf, DC_ARRAY_SIZE(pbuf), ct, cn, true, 0);
				st = CalloutRoutine(Context, &pn, Isa, 0, bus, ct, cn, ctl,
				                    FloppyDiskPeripheral, 0, per);
			}
			kv_free(per);
		}
		kv_free(ctl);
		if (!NT_SUCCESS(st) && st != STATUS_OBJECT_NAME_NOT_FOUND)
			break;
	}
	kv_free(bus);
	return st;
}

/* --- Bus data and resource reports ----------------------------------------------------------- */

/* The system's first device of a class (NULL: none). */
static struct dc_sysdev *first_of(struct dc_sys *s, enum dc_device_class c)
{
	for (unsigned i = 0; i < s->n_devs; i++)
		if (!s->devs[i]->bm && s->devs[i]->dev.model->dev_class == c)
			return s->devs[i];
	return NULL;
}

/* CMOS bytes as the BIOS leaves them: 0x10 the floppy drive types (drive A a 3.5" 1.44 MB,
 * type 4, when a floppy controller exists), 0x14 the equipment byte (bit 0: floppy drives
 * present); every other byte reads 0.  128 bytes. */
static UCHAR cmos_byte(struct dc_sys *s, ULONG at)
{
	bool fdc = first_of(s, DC_CLASS_DISK) != NULL;
	if (at == 0x10)
		return fdc ? 0x40 : 0x00;
	if (at == 0x14)
		return fdc ? 0x01 : 0x00;
	return 0;
}

ULONG HalGetBusDataByOffset(BUS_DATA_TYPE BusDataType, ULONG BusNumber, ULONG SlotNumber,
                            PVOID Buffer, ULONG Offset, ULONG Length)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "HalGetBusDataByOffset", PASSIVE_LEVEL, HIGH_LEVEL, RA());
	if (!Buffer || !Length)
		return 0;
	UCHAR b[256];
	ULONG have = 0;
	switch (BusDataType) {
	case Cmos:
		/* SlotNumber is the first CMOS register; bus 0 is the 128-byte RTC CMOS. */
		if (BusNumber != 0 || SlotNumber + Offset >= 128)
			return 0;
		have = DC_MIN(Length, 128 - (SlotNumber + Offset));
		for (ULONG i = 0; i < have; i++)
			b[i] = cmos_byte(s, SlotNumber + Offset + i);
		break;
	case PCIConfiguration:
		/* PCI configuration space is not modelled: bus 0 exists and every slot is empty
		 * (VendorID reads PCI_INVALID_VENDORID, 2 bytes, as the HAL answers). */
		if (BusNumber != 0)
			return 0;
		if (Offset >= 2)
			return 0;
		have = DC_MIN(Length, 2 - Offset);
		b[0] = 0xFF, b[1] = 0xFF;
		memmove(b, b + Offset, have);
		break;
	default:
		return 0; /* no such bus data on this machine */
	}
	dc_kstore(s, Buffer, b, have);
	return have;
}

ULONG HalGetBusData(BUS_DATA_TYPE BusDataType, ULONG BusNumber, ULONG SlotNumber, PVOID Buffer,
                    ULONG Length)
{
	return HalGetBusDataByOffset(BusDataType, BusNumber, SlotNumber, Buffer, 0,
	                             DC_MIN(Length, 256u));
}

/* The device whose raw resources the list names (its first port or memory range), or NULL. */
static struct dc_sysdev *device_of(struct dc_sys *s, const CM_RESOURCE_LIST *l, ULONG size)
{
	ULONG fixed =
	    (ULONG)offsetof(CM_RESOURCE_LIST, List[0].PartialResourceList.PartialDescriptors);
	if (!l || size < fixed)
		return NULL;
	dc_ktouch(s, l, fixed, false);
	if (l->Count < 1)
		return NULL;
	const CM_PARTIAL_RESOURCE_LIST *pl = &l->List[0].PartialResourceList;
	for (ULONG i = 0;
	     i < pl->Count && fixed + (i + 1) * sizeof(pl->PartialDescriptors[0]) <= size; i++) {
		const CM_PARTIAL_RESOURCE_DESCRIPTOR *p = &pl->PartialDescriptors[i];
		dc_ktouch(s, p, sizeof(*p), false);
		for (unsigned k = 0; k < s->n_devs; k++) {
			const struct dc_device_res *r = &s->devs[k]->dev.res;
			if ((p->Type == CmResourceTypePort && r->port_len &&
			     (uint64_t)p->u.Port.Start.QuadPart == r->port_base) ||
			    (p->Type == CmResourceTypeMemory && r->mmio_len &&
			     (uint64_t)p->u.Memory.Start.QuadPart == r->mmio_base))
				return s->devs[k];
		}
	}
	return NULL;
}

NTSTATUS IoReportResourceUsage(PUNICODE_STRING DriverClassName, PDRIVER_OBJECT DriverObject,
                               PCM_RESOURCE_LIST DriverList, ULONG DriverListSize,
                               PDEVICE_OBJECT DeviceObject, PCM_RESOURCE_LIST DeviceList,
                               ULONG DeviceListSize, BOOLEAN OverrideConflict,
                               PBOOLEAN ConflictDetected)
{
	(void)DriverClassName, (void)DeviceObject, (void)OverrideConflict;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoReportResourceUsage", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DriverObject || !ConflictDetected || (!DriverList && !DeviceList) ||
	    (DriverList && !DriverListSize) || (DeviceList && !DeviceListSize))
		return STATUS_INVALID_PARAMETER;
	/* One driver per system: the resources it reports are the hardware's own, so there is
	 * nothing to conflict with; a list that names no device on this machine is still
	 * accepted, as Windows accepts a report for hardware it does not know. */
	(void)device_of(s, DriverList ? DriverList : DeviceList,
	                DriverList ? DriverListSize : DeviceListSize);
	dc_ktouch(s, ConflictDetected, sizeof(*ConflictDetected), true);
	*ConflictDetected = FALSE;
	return STATUS_SUCCESS;
}

NTSTATUS IoReportDetectedDevice(PDRIVER_OBJECT DriverObject, INTERFACE_TYPE LegacyBusType,
                                ULONG BusNumber, ULONG SlotNumber, PCM_RESOURCE_LIST ResourceList,
                                PIO_RESOURCE_REQUIREMENTS_LIST ResourceRequirements,
                                BOOLEAN ResourceAssigned, PDEVICE_OBJECT *DeviceObject)
{
	(void)BusNumber, (void)SlotNumber, (void)ResourceRequirements, (void)ResourceAssigned;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoReportDetectedDevice", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	if (!DriverObject || !DeviceObject || !ResourceList)
		return STATUS_INVALID_PARAMETER;
	/* The PDO of the device model the resources belong to: what the PnP manager makes for a
	 * detected device is a root-enumerated PDO; here the device's own PDO stands for it. */
	struct dc_sysdev *d = device_of(
	    s, ResourceList,
	    (ULONG)(sizeof(CM_RESOURCE_LIST) + 8 * sizeof(CM_PARTIAL_RESOURCE_DESCRIPTOR)));
	if (!d || (LegacyBusType != Isa && LegacyBusType != InterfaceTypeUndefined))
		return STATUS_NO_SUCH_DEVICE;
	dc_ktouch(s, DeviceObject, sizeof(*DeviceObject), true);
	*DeviceObject = d->pdo;
	return STATUS_SUCCESS;
}
