/* The control codes of the userdma example driver (examples/drivers/userdma.c), shared with its
 * test application (examples/apps/userdma_app.c): it compiles against <dmacoh/wdm.h> in the
 * driver and against <windows.h> / <winioctl.h> in the application, as a WDK sample's public
 * header does. */
#ifndef USERDMA_IOCTL_H
#define USERDMA_IOCTL_H

/* The device's symbolic link: CreateFile("\\\\.\\UserDma", ...). */
#define USERDMA_DOS_NAME "\\\\.\\UserDma"

/* Its device interface class (IoRegisterDeviceInterface; CM_Get_Device_Interface_List finds
 * it): {5d0c2d59-1a3b-4c4e-9a61-0d3c552e7101}. */
#define USERDMA_INTERFACE_GUID                                         \
	{                                                              \
		0x5d0c2d59, 0x1a3b, 0x4c4e,                            \
		{                                                      \
			0x9a, 0x61, 0x0d, 0x3c, 0x55, 0x2e, 0x71, 0x01 \
		}                                                      \
	}

/* DMA from the caller's buffer to the device: input USERDMA_REQUEST (where on the disk),
 * output buffer = the bytes to write (whole 512-byte sectors), locked for IoReadAccess. */
#define IOCTL_USERDMA_WRITE \
	CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_IN_DIRECT, FILE_WRITE_ACCESS)
/* DMA from the device into the caller's buffer: input USERDMA_REQUEST, output buffer locked for
 * IoWriteAccess. */
#define IOCTL_USERDMA_READ CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_OUT_DIRECT, FILE_READ_ACCESS)
/* What the device is: output USERDMA_INFO (buffered). */
#define IOCTL_USERDMA_QUERY CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Transfers done, raw: Type3InputBuffer an unsigned int (non-zero: reset the count after
 * reading it), UserBuffer an unsigned long long. */
#define IOCTL_USERDMA_COUNT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Pends until the next transfer completes (output: USERDMA_INFO at that moment); cancellable.
 * One at a time: a second one fails with STATUS_DEVICE_BUSY. */
#define IOCTL_USERDMA_WAIT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x904, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _USERDMA_REQUEST {
	unsigned long long Offset; /* byte offset on the disk, a multiple of 512 */
} USERDMA_REQUEST;

typedef struct _USERDMA_INFO {
	unsigned long long Capacity;  /* bytes */
	unsigned long long Transfers; /* requests completed with success */
	unsigned int SectorSize;
	unsigned int MaxTransfer; /* the largest request, bytes */
} USERDMA_INFO;

#endif
