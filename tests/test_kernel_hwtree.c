/* IoQueryDeviceDescription: the legacy hardware tree an NT 4 floppy or sound driver searches. */
#include <string.h>

#include "dctest.h"
#include "kernel/sys.h"

struct seen {
	unsigned calls;
	CONFIGURATION_TYPE ct, pt;
	ULONG cn;
	ULONG port, irq, dma;
	ULONG max_density;
	UCHAR spt;
	char path[200];
	char ident[32];
};

static void narrow(char *out, size_t cap, const WCHAR *w, size_t bytes)
{
	size_t n = bytes / sizeof(WCHAR);
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)w[i];
	out[n] = 0;
}

static NTSTATUS callout(PVOID ctx, PUNICODE_STRING path, INTERFACE_TYPE bt, ULONG bn,
                        PKEY_VALUE_FULL_INFORMATION *bus, CONFIGURATION_TYPE ct, ULONG cn,
                        PKEY_VALUE_FULL_INFORMATION *ctl, CONFIGURATION_TYPE pt, ULONG pn,
                        PKEY_VALUE_FULL_INFORMATION *per)
{
	(void)bt, (void)bn, (void)bus, (void)pn;
	struct seen *s = ctx;
	s->calls++;
	s->ct = ct;
	s->cn = cn;
	s->pt = pt;
	narrow(s->path, sizeof(s->path), path->Buffer, path->Length);
	if (ctl) {
		PKEY_VALUE_FULL_INFORMATION id = ctl[IoQueryDeviceIdentifier];
		narrow(s->ident, sizeof(s->ident), (const WCHAR *)((uint8_t *)id + id->DataOffset),
		       id->DataLength - sizeof(WCHAR));
		PKEY_VALUE_FULL_INFORMATION cfg = ctl[IoQueryDeviceConfigurationData];
		if (cfg->Type != REG_FULL_RESOURCE_DESCRIPTOR)
			return STATUS_UNSUCCESSFUL;
		PCM_FULL_RESOURCE_DESCRIPTOR f = (void *)((uint8_t *)cfg + cfg->DataOffset);
		for (ULONG i = 0; i < f->PartialResourceList.Count; i++) {
			PCM_PARTIAL_RESOURCE_DESCRIPTOR p =
			    &f->PartialResourceList.PartialDescriptors[i];
			if (p->Type == CmResourceTypePort)
				s->port = (ULONG)p->u.Port.Start.QuadPart;
			else if (p->Type == CmResourceTypeInterrupt)
				s->irq = p->u.Interrupt.Level;
			else if (p->Type == CmResourceTypeDma)
				s->dma = p->u.Dma.Channel;
		}
	}
	if (per) {
		PKEY_VALUE_FULL_INFORMATION cfg = per[IoQueryDeviceConfigurationData];
		PCM_FULL_RESOURCE_DESCRIPTOR f = (void *)((uint8_t *)cfg + cfg->DataOffset);
		PCM_PARTIAL_RESOURCE_DESCRIPTOR p = f->PartialResourceList.PartialDescriptors;
		if (p->Type != CmResourceTypeDeviceSpecific ||
		    p->u.DeviceSpecificData.DataSize != sizeof(CM_FLOPPY_DEVICE_DATA))
			return STATUS_UNSUCCESSFUL;
		const CM_FLOPPY_DEVICE_DATA *fd = (const void *)(p + 1);
		s->max_density = fd->MaxDensity;
		s->spt = fd->SectorPerTrack;
	}
	return STATUS_SUCCESS;
}

DC_TEST(hwtree_finds_the_floppy_controller_and_drive)
{
	struct dc_platform p;
	struct dc_sys *s;
	CHECK_EQ(dc_platform_builtin("pc", &p), DC_OK);
	CHECK_EQ(dc_sys_create(&p, &s), DC_OK);
	INTERFACE_TYPE isa = Isa, pci = PCIBus;
	CONFIGURATION_TYPE disk = DiskController, floppy = FloppyDiskPeripheral,
	                   audio = AudioController;
	struct seen seen = {0};
	/* No floppy controller yet. */
	CHECK_EQ(IoQueryDeviceDescription(&isa, NULL, &disk, NULL, &floppy, NULL, callout, &seen),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(seen.calls, 0);
	CHECK_EQ(dc_sys_add_device(s, "sysblk", NULL, NULL), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "fdc", NULL, NULL), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "sb16", NULL, NULL), DC_OK);
	CHECK_EQ(dc_sys_add_device(s, "bmblk", NULL, NULL), DC_OK);
	CHECK_EQ(IoQueryDeviceDescription(&isa, NULL, &disk, NULL, &floppy, NULL, callout, &seen),
	         STATUS_SUCCESS);
	CHECK_EQ(seen.calls, 1);
	CHECK_EQ(seen.ct, DiskController);
	CHECK_EQ(seen.pt, FloppyDiskPeripheral);
	CHECK_EQ(seen.port, 0x3F0);
	CHECK_EQ(seen.irq, 6);
	CHECK_EQ(seen.dma, 2);
	CHECK_EQ(seen.max_density, 1440);
	CHECK_EQ(seen.spt, 18);
	CHECK_MSG(!strcmp(seen.ident, "82077AA"), "%s", seen.ident);
	CHECK_MSG(!strcmp(seen.path, "\\Registry\\Machine\\Hardware\\Description\\System\\"
	                             "MultifunctionAdapter\\0\\DiskController\\0\\"
	                             "FloppyDiskPeripheral\\0"),
	          "%s", seen.path);
	/* The sound card is an audio controller; the bus master is not on the ISA bus. */
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(IoQueryDeviceDescription(&isa, NULL, &audio, NULL, NULL, NULL, callout, &seen),
	         STATUS_SUCCESS);
	CHECK_EQ(seen.calls, 1);
	CHECK_EQ(seen.port, 0x220);
	CHECK_EQ(seen.dma, 5); /* the last DMA descriptor: the 16-bit channel */
	ULONG one = 1;
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(IoQueryDeviceDescription(&isa, NULL, &disk, &one, NULL, NULL, callout, &seen),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(IoQueryDeviceDescription(&pci, NULL, &disk, NULL, NULL, NULL, callout, &seen),
	         STATUS_OBJECT_NAME_NOT_FOUND);
	CHECK_EQ(IoQueryDeviceDescription(NULL, NULL, NULL, NULL, NULL, NULL, callout, &seen),
	         STATUS_INVALID_PARAMETER);
	CHECK_EQ(seen.calls, 0);
	/* The bus alone. */
	CHECK_EQ(IoQueryDeviceDescription(&isa, NULL, NULL, NULL, NULL, NULL, callout, &seen),
	         STATUS_SUCCESS);
	CHECK_EQ(seen.calls, 1);
	dc_sys_destroy(s);
}
