/* What the PnP manager knows of a device, asked through its PDO: IoGetDeviceProperty and the
 * device's registry keys (IoOpenDeviceRegistryKey).  Each device of kind K, instance N has
 *   hardware key  \Registry\Machine\System\CurrentControlSet\Enum\DMACOH\K\N
 *                 (PLUGPLAY_REGKEY_DEVICE opens its "Device Parameters" subkey),
 *   software key  ...\Control\Class\{4d36e97d-e325-11ce-bfc1-08002be10318}\NNNN (NNNN: the
 *                 device's index on the machine; PLUGPLAY_REGKEY_DRIVER),
 * which a .reg file may fill before the run.  Bus masters are PCI devices (bus 0, device =
 * index), the others ISA.  Not modelled: hardware profiles (CURRENT_HWPROFILE opens the same
 * keys), property keys (IoGetDevicePropertyData), container IDs, install state changes. */
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "registry.h"

#define RA() __builtin_return_address(0)

#define DC_CLASS_SYSTEM "{4d36e97d-e325-11ce-bfc1-08002be10318}"

static unsigned dev_index(struct dc_sys *s, const struct dc_sysdev *d)
{
	for (unsigned i = 0; i < s->n_devs; i++)
		if (s->devs[i] == d)
			return i;
	return 0;
}

static void hw_path(struct dc_sys *s, const struct dc_sysdev *d, char *buf, size_t len)
{
	(void)s;
	snprintf(buf, len, "\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\DMACOH\\%s\\%u",
	         d->kind, d->instance);
}

static void sw_path(struct dc_sys *s, const struct dc_sysdev *d, char *buf, size_t len)
{
	snprintf(buf, len,
	         "\\Registry\\Machine\\System\\CurrentControlSet\\Control\\Class\\" DC_CLASS_SYSTEM
	         "\\%04u",
	         dev_index(s, d));
}

NTSTATUS IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType,
                                 ACCESS_MASK DesiredAccess, PHANDLE DeviceRegKey)
{
	(void)DesiredAccess;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoOpenDeviceRegistryKey", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_sysdev *d = dc_io_pdo_sysdev(DeviceObject);
	if (!d)
		return STATUS_INVALID_DEVICE_REQUEST; /* not a PDO */
	if (!DeviceRegKey)
		return STATUS_INVALID_PARAMETER;
	ULONG kind = DevInstKeyType & ~(ULONG)PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
	if (kind != PLUGPLAY_REGKEY_DEVICE && kind != PLUGPLAY_REGKEY_DRIVER)
		return STATUS_INVALID_PARAMETER;
	struct dc_reg *r = dc_reg_of(s);
	if (!r)
		return STATUS_INSUFFICIENT_RESOURCES;
	char p[256];
	if (kind == PLUGPLAY_REGKEY_DEVICE) {
		hw_path(s, d, p, sizeof(p));
		strncat(p, "\\Device Parameters", sizeof(p) - strlen(p) - 1);
	} else {
		sw_path(s, d, p, sizeof(p));
	}
	struct dc_regkey *k = dc_reg_mkpath(r, p);
	HANDLE h = k ? dc_reg_handle_open(r, k) : NULL;
	if (!h)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_ktouch(s, DeviceRegKey, sizeof(*DeviceRegKey), true);
	*DeviceRegKey = h;
	return STATUS_SUCCESS;
}

/* A property's bytes: an ASCII string (REG_SZ), multi-string or a ULONG. */
struct prop {
	uint8_t b[512];
	size_t len;
};

static void prop_sz(struct prop *p, const char *s, bool multi)
{
	size_t n = strlen(s), o = 0;
	for (size_t i = 0; i <= n && o + 2 <= sizeof(p->b) - 2; i++, o += 2) {
		WCHAR c = (WCHAR)(multi && s[i] == '\n' ? 0 : (unsigned char)s[i]);
		memcpy(p->b + o, &c, 2);
	}
	if (multi) {
		memset(p->b + o, 0, 2);
		o += 2;
	}
	p->len = o;
}

static void prop_ulong(struct prop *p, ULONG v)
{
	memcpy(p->b, &v, 4);
	p->len = 4;
}

NTSTATUS IoGetDeviceProperty(PDEVICE_OBJECT DeviceObject, DEVICE_REGISTRY_PROPERTY DeviceProperty,
                             ULONG BufferLength, PVOID PropertyBuffer, PULONG ResultLength)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "IoGetDeviceProperty", PASSIVE_LEVEL, PASSIVE_LEVEL, RA());
	struct dc_sysdev *d = dc_io_pdo_sysdev(DeviceObject);
	if (!d)
		return STATUS_INVALID_DEVICE_REQUEST; /* not a PDO */
	if (!ResultLength)
		return STATUS_INVALID_PARAMETER;
	struct prop p = {.len = 0};
	char t[256];
	bool pci = d->bm != NULL;
	unsigned idx = dev_index(s, d);
	switch (DeviceProperty) {
	case DevicePropertyDeviceDescription:
	case DevicePropertyFriendlyName:
		prop_sz(&p, d->dev.ops->desc, false);
		break;
	case DevicePropertyHardwareID:
		snprintf(t, sizeof(t), "DMACOH\\%s\n%s\\%s", d->kind, pci ? "PCI" : "ISAPNP",
		         d->kind);
		prop_sz(&p, t, true);
		break;
	case DevicePropertyCompatibleIDs:
		snprintf(t, sizeof(t), "DMACOH\\%s", pci ? "PCI_BUS_MASTER" : "ISA_DEVICE");
		prop_sz(&p, t, true);
		break;
	case DevicePropertyClassName:
		prop_sz(&p, "System", false);
		break;
	case DevicePropertyClassGuid:
		prop_sz(&p, DC_CLASS_SYSTEM, false);
		break;
	case DevicePropertyDriverKeyName:
		snprintf(t, sizeof(t), DC_CLASS_SYSTEM "\\%04u", idx);
		prop_sz(&p, t, false);
		break;
	case DevicePropertyManufacturer:
		prop_sz(&p, "dmacoh", false);
		break;
	case DevicePropertyLocationInformation:
		if (pci)
			snprintf(t, sizeof(t), "PCI bus 0, device %u, function 0", idx);
		else
			snprintf(t, sizeof(t), "ISA I/O 0x%X", (unsigned)d->dev.res.port_base);
		prop_sz(&p, t, false);
		break;
	case DevicePropertyPhysicalDeviceObjectName:
		snprintf(t, sizeof(t), "\\Device\\%08X", idx + 1);
		prop_sz(&p, t, false);
		break;
	case DevicePropertyEnumeratorName:
		prop_sz(&p, "DMACOH", false);
		break;
	case DevicePropertyLegacyBusType:
		prop_ulong(&p, (ULONG)(pci ? PCIBus : Isa));
		break;
	case DevicePropertyBusNumber:
		prop_ulong(&p, 0);
		break;
	case DevicePropertyAddress:
		/* PCI: (device << 16) | function; ISA devices have none. */
		if (!pci)
			return STATUS_OBJECT_NAME_NOT_FOUND;
		prop_ulong(&p, (ULONG)idx << 16);
		break;
	case DevicePropertyUINumber:
		prop_ulong(&p, idx);
		break;
	case DevicePropertyInstallState:
		prop_ulong(&p, 0); /* InstallStateInstalled */
		break;
	case DevicePropertyRemovalPolicy:
		prop_ulong(&p, 1); /* RemovalPolicyExpectNoRemoval */
		break;
	default:
		/* Boot configuration, bus type GUID, resource lists, container ID: not kept. */
		if ((unsigned)DeviceProperty > DevicePropertyContainerID)
			return STATUS_INVALID_PARAMETER_2;
		return STATUS_OBJECT_NAME_NOT_FOUND;
	}
	dc_ktouch(s, ResultLength, sizeof(*ResultLength), true);
	*ResultLength = (ULONG)p.len;
	if (BufferLength < p.len)
		return STATUS_BUFFER_TOO_SMALL;
	if (!PropertyBuffer)
		return STATUS_INVALID_PARAMETER;
	dc_kstore(s, PropertyBuffer, p.b, p.len);
	return STATUS_SUCCESS;
}
