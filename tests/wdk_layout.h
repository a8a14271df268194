/* The x64 WDK's sizes, offsets and values of what drivers share with the kernel and with each
 * other, as an X-macro table: tests/test_wdk_layout.c checks them at run time (C, the build's
 * compiler) and tests/cxx/wdk_layout_check.c as static assertions, compiled by test_wdk_cxx
 * as C and as C++ with gcc, clang, g++ and clang++.  The numbers are the real WDK's (from
 * Microsoft's headers and the kernel's symbols: x64, MSVC layout), never computed from
 * dmacoh's headers.  dmacoh's IRP and DEVICE_OBJECT carry reserved room after the WDK's
 * members, so their sizes are not listed (the members' offsets are). */
#ifndef DC_WDK_LAYOUT_H
#define DC_WDK_LAYOUT_H

// clang-format off
/* O(type, member, offset) */
#define DC_WDK_OFFSETS(O) \
	O(IO_STACK_LOCATION, MajorFunction, 0) \
	O(IO_STACK_LOCATION, Control, 3) \
	O(IO_STACK_LOCATION, Parameters, 8) \
	O(IO_STACK_LOCATION, Parameters.Create.FileAttributes, 24) \
	O(IO_STACK_LOCATION, Parameters.Create.EaLength, 32) \
	O(IO_STACK_LOCATION, Parameters.Read.Length, 8) \
	O(IO_STACK_LOCATION, Parameters.Read.Key, 16) \
	O(IO_STACK_LOCATION, Parameters.Read.ByteOffset, 24) \
	O(IO_STACK_LOCATION, Parameters.Write.Key, 16) \
	O(IO_STACK_LOCATION, Parameters.DeviceIoControl.OutputBufferLength, 8) \
	O(IO_STACK_LOCATION, Parameters.DeviceIoControl.InputBufferLength, 16) \
	O(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode, 24) \
	O(IO_STACK_LOCATION, Parameters.DeviceIoControl.Type3InputBuffer, 32) \
	O(IO_STACK_LOCATION, Parameters.Power.Type, 16) \
	O(IO_STACK_LOCATION, Parameters.Power.State, 24) \
	O(IO_STACK_LOCATION, Parameters.Power.ShutdownType, 32) \
	O(IO_STACK_LOCATION, DeviceObject, 40) \
	O(IO_STACK_LOCATION, FileObject, 48) \
	O(IO_STACK_LOCATION, CompletionRoutine, 56) \
	O(IO_STACK_LOCATION, Context, 64) \
	O(IRP, MdlAddress, 8) \
	O(IRP, Flags, 16) \
	O(IRP, AssociatedIrp.SystemBuffer, 24) \
	O(IRP, IoStatus, 48) \
	O(IRP, IoStatus.Information, 56) \
	O(IRP, RequestorMode, 64) \
	O(IRP, Cancel, 68) \
	O(IRP, CancelIrql, 69) \
	O(IRP, UserIosb, 72) \
	O(IRP, CancelRoutine, 104) \
	O(IRP, UserBuffer, 112) \
	O(IRP, Tail.Overlay.DriverContext, 120) \
	O(IRP, Tail.Overlay.Thread, 152) \
	O(IRP, Tail.Overlay.ListEntry, 168) \
	O(IRP, Tail.Overlay.CurrentStackLocation, 184) \
	O(IRP, Tail.Overlay.OriginalFileObject, 192) \
	O(MDL, Size, 8) \
	O(MDL, MdlFlags, 10) \
	O(MDL, MappedSystemVa, 24) \
	O(MDL, StartVa, 32) \
	O(MDL, ByteCount, 40) \
	O(MDL, ByteOffset, 44) \
	O(DEVICE_OBJECT, DriverObject, 8) \
	O(DEVICE_OBJECT, CurrentIrp, 32) \
	O(DEVICE_OBJECT, Flags, 48) \
	O(DEVICE_OBJECT, Characteristics, 52) \
	O(DEVICE_OBJECT, Vpb, 56) \
	O(DEVICE_OBJECT, DeviceExtension, 64) \
	O(DEVICE_OBJECT, DeviceType, 72) \
	O(DEVICE_OBJECT, StackSize, 76) \
	O(DEVICE_OBJECT, AlignmentRequirement, 152) \
	O(DEVICE_OBJECT, DeviceQueue, 160) \
	O(DEVICE_OBJECT, Dpc, 200) \
	O(DEVICE_OBJECT, DeviceLock, 280) \
	O(DEVICE_OBJECT, SectorSize, 304) \
	O(DEVICE_OBJECT, DeviceObjectExtension, 312) \
	O(DRIVER_OBJECT, DriverExtension, 48) \
	O(DRIVER_OBJECT, DriverName, 56) \
	O(DRIVER_OBJECT, DriverInit, 88) \
	O(DRIVER_OBJECT, DriverUnload, 104) \
	O(DRIVER_OBJECT, MajorFunction, 112) \
	O(KDPC, DeferredRoutine, 24) \
	O(KDPC, SystemArgument2, 48) \
	O(DMA_ADAPTER, DmaOperations, 8) \
	O(DMA_OPERATIONS, AllocateAdapterChannel, 32) \
	O(DMA_OPERATIONS, FlushAdapterBuffers, 40) \
	O(DMA_OPERATIONS, MapTransfer, 64) \
	O(DMA_OPERATIONS, GetScatterGatherList, 88) \
	O(DMA_OPERATIONS, BuildMdlFromScatterGatherList, 120) \
	O(DEVICE_DESCRIPTION, Dma64BitAddresses, 11) \
	O(DEVICE_DESCRIPTION, DmaChannel, 16) \
	O(DEVICE_DESCRIPTION, InterfaceType, 20) \
	O(DEVICE_DESCRIPTION, MaximumLength, 32) \
	O(SCATTER_GATHER_LIST, Elements, 16) \
	O(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Port.Length, 12) \
	O(CM_PARTIAL_RESOURCE_DESCRIPTOR, u.Interrupt.Affinity, 12) \
	O(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList, 8) \
	O(UNICODE_STRING, Buffer, 8) \
	O(DISK_GEOMETRY, MediaType, 8) \
	O(DISK_GEOMETRY, TracksPerCylinder, 12) \
	O(DISK_GEOMETRY, BytesPerSector, 20) \
	O(DISK_GEOMETRY_EX, DiskSize, 24) \
	O(DISK_GEOMETRY_EX, Data, 32) \
	O(PARTITION_INFORMATION, HiddenSectors, 16) \
	O(PARTITION_INFORMATION, PartitionType, 24) \
	O(PARTITION_INFORMATION, RewritePartition, 27) \
	O(VERIFY_INFORMATION, Length, 8) \
	O(FORMAT_PARAMETERS, EndHeadNumber, 16) \
	O(STORAGE_DEVICE_NUMBER, PartitionNumber, 8) \
	O(STORAGE_HOTPLUG_INFO, WriteCacheEnableOverride, 7) \
	O(MOUNTDEV_NAME, Name, 2) \
	O(MOUNTDEV_UNIQUE_ID, UniqueId, 2) \
	O(MOUNTDEV_SUGGESTED_LINK_NAME, NameLength, 2) \
	O(MOUNTDEV_SUGGESTED_LINK_NAME, Name, 4) \
	O(MOUNTMGR_CREATE_POINT_INPUT, DeviceNameLength, 6) \
	O(MOUNTMGR_MOUNT_POINT, UniqueIdOffset, 8) \
	O(MOUNTMGR_MOUNT_POINT, DeviceNameOffset, 16) \
	O(SERIAL_TIMEOUTS, WriteTotalTimeoutConstant, 16) \
	O(SERIAL_HANDFLOW, XoffLimit, 12) \
	O(SERIAL_STATUS, EofReceived, 16) \
	O(SERIAL_STATUS, WaitForImmediate, 17)

/* S(type, size) */
#define DC_WDK_SIZES(S) \
	S(IO_STACK_LOCATION, 72) \
	S(MDL, 48) \
	S(DRIVER_OBJECT, 336) \
	S(KDPC, 64) \
	S(KEVENT, 24) \
	S(KTIMER, 64) \
	S(KSPIN_LOCK, 8) \
	S(KDEVICE_QUEUE, 40) \
	S(IO_STATUS_BLOCK, 16) \
	S(DMA_ADAPTER, 16) \
	S(DEVICE_DESCRIPTION, 64) \
	S(SCATTER_GATHER_ELEMENT, 24) \
	S(CM_PARTIAL_RESOURCE_DESCRIPTOR, 20) \
	S(CM_FULL_RESOURCE_DESCRIPTOR, 36) \
	S(CM_RESOURCE_LIST, 40) \
	S(UNICODE_STRING, 16) \
	S(ANSI_STRING, 16) \
	S(GUID, 16) \
	S(LARGE_INTEGER, 8) \
	S(WCHAR, 2) \
	S(ULONG, 4) \
	S(DISK_GEOMETRY, 24) \
	S(DISK_GEOMETRY_EX, 40) \
	S(GET_LENGTH_INFORMATION, 8) \
	S(PARTITION_INFORMATION, 32) \
	S(VERIFY_INFORMATION, 16) \
	S(FORMAT_PARAMETERS, 20) \
	S(STORAGE_DEVICE_NUMBER, 12) \
	S(STORAGE_HOTPLUG_INFO, 8) \
	S(MOUNTDEV_NAME, 4) \
	S(MOUNTDEV_UNIQUE_ID, 4) \
	S(MOUNTDEV_SUGGESTED_LINK_NAME, 6) \
	S(MOUNTMGR_CREATE_POINT_INPUT, 8) \
	S(MOUNTMGR_MOUNT_POINT, 24) \
	S(SERIAL_BAUD_RATE, 4) \
	S(SERIAL_LINE_CONTROL, 3) \
	S(SERIAL_TIMEOUTS, 20) \
	S(SERIAL_CHARS, 6) \
	S(SERIAL_HANDFLOW, 16) \
	S(SERIAL_STATUS, 20)

/* V(name, value) */
#define DC_WDK_VALUES(V) \
	V(IOCTL_DISK_GET_DRIVE_GEOMETRY, 0x00070000u) \
	V(IOCTL_DISK_GET_PARTITION_INFO, 0x00074004u) \
	V(IOCTL_DISK_VERIFY, 0x00070014u) \
	V(IOCTL_DISK_FORMAT_TRACKS, 0x0007c018u) \
	V(IOCTL_DISK_IS_WRITABLE, 0x00070024u) \
	V(IOCTL_DISK_GET_PARTITION_INFO_EX, 0x00070048u) \
	V(IOCTL_DISK_GET_LENGTH_INFO, 0x0007405cu) \
	V(IOCTL_DISK_GET_DRIVE_GEOMETRY_EX, 0x000700a0u) \
	V(IOCTL_DISK_CHECK_VERIFY, 0x00074800u) \
	V(IOCTL_DISK_MEDIA_REMOVAL, 0x00074804u) \
	V(IOCTL_DISK_GET_MEDIA_TYPES, 0x00070c00u) \
	V(IOCTL_STORAGE_CHECK_VERIFY, 0x002d4800u) \
	V(IOCTL_STORAGE_GET_MEDIA_TYPES, 0x002d0c00u) \
	V(IOCTL_STORAGE_GET_HOTPLUG_INFO, 0x002d0c14u) \
	V(IOCTL_STORAGE_GET_DEVICE_NUMBER, 0x002d1080u) \
	V(IOCTL_MOUNTDEV_QUERY_UNIQUE_ID, 0x004d0000u) \
	V(IOCTL_MOUNTDEV_QUERY_DEVICE_NAME, 0x004d0008u) \
	V(IOCTL_MOUNTDEV_QUERY_SUGGESTED_LINK_NAME, 0x004d000cu) \
	V(IOCTL_MOUNTMGR_CREATE_POINT, 0x006dc000u) \
	V(IOCTL_MOUNTMGR_QUERY_POINTS, 0x006d0008u) \
	V(IOCTL_MOUNTMGR_VOLUME_ARRIVAL_NOTIFICATION, 0x006d402cu) \
	V(IOCTL_SERIAL_SET_BAUD_RATE, 0x001b0004u) \
	V(IOCTL_SERIAL_WAIT_ON_MASK, 0x001b0048u) \
	V(IOCTL_SERIAL_GET_BAUD_RATE, 0x001b0050u) \
	V(IOCTL_SERIAL_GET_COMMSTATUS, 0x001b006cu) \
	V(IOCTL_SERIAL_SET_FIFO_CONTROL, 0x001b009cu) \
	V(F3_1Pt44_512, 2) \
	V(RemovableMedia, 11) \
	V(FixedMedia, 12) \
	V(F3_32M_512, 25) \
	V(STATUS_ACCESS_VIOLATION, 0xC0000005u) \
	V(STATUS_DATATYPE_MISALIGNMENT, 0x80000002u) \
	V(STATUS_INTEGER_OVERFLOW, 0xC0000095u) \
	V(EXCEPTION_EXECUTE_HANDLER, 1) \
	V(SERIAL_EV_RXCHAR, 0x0001) \
	V(SERIAL_EV_EVENT2, 0x1000) \
	V(NTSTRSAFE_MAX_CCH, 2147483647)
// clang-format on

#endif
