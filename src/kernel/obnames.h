/* The object manager's namespace, as far as device I/O needs it: the one table of names every
 * path to a device goes through.  IoCreateDevice/IoDeleteDevice name and unname device objects
 * (\Device\X), IoCreateSymbolicLink/IoDeleteSymbolicLink make links (\DosDevices\X, \??\X and
 * \GLOBAL??\X are one directory, as on Windows since XP), IoRegisterDeviceInterface and
 * IoSetDeviceInterfaceState make the interface links (\??\DMACOH#kind#NNNN#{guid}[\ref]);
 * IoGetDeviceObjectPointer, the Win32 layer's CreateFile and `dmacoh run --open` resolve a name
 * through them.  Names compare case-insensitively (ASCII folding, as dc_wup).
 *
 * Resolution is the object manager's parse: the longest name that is the path or a prefix of it
 * at a '\' wins; a link's prefix is replaced by its target and parsing starts again (at most
 * 32 times: a loop is STATUS_REPARSE_POINT_NOT_RESOLVED-like, answered as not found); a
 * device takes the rest of the path as its file name; \??\GLOBALROOT is the root.  A link may
 * name a target that does not exist (it fails when opened), as on Windows.
 *
 * Deliberately not modelled: object directories a driver creates (ZwCreateDirectoryObject),
 * security descriptors, per-session \?? directories, permanent/temporary objects (a device
 * name goes with its device object, a link with IoDeleteSymbolicLink). */
#ifndef DC_KERNEL_OBNAMES_H
#define DC_KERNEL_OBNAMES_H

#include "kernel.h"

enum dc_ob_kind { DC_OB_DEVICE, DC_OB_LINK, DC_OB_IFACE };

/* Names the device object (IoCreateDevice).  STATUS_OBJECT_NAME_COLLISION if the name exists,
 * STATUS_OBJECT_NAME_INVALID / STATUS_OBJECT_PATH_SYNTAX_BAD for a malformed name,
 * STATUS_OBJECT_PATH_NOT_FOUND when its directory does not exist. */
NTSTATUS dc_ob_name_device(struct dc_sys *s, PCUNICODE_STRING name, PDEVICE_OBJECT dev);
/* Drops the device's name and the interfaces registered on it (IoDeleteDevice); links to it
 * stay, dangling. */
void dc_ob_forget_device(struct dc_sys *s, PDEVICE_OBJECT dev);
NTSTATUS dc_ob_link(struct dc_sys *s, PCUNICODE_STRING link, PCUNICODE_STRING target);
NTSTATUS dc_ob_unlink(struct dc_sys *s, PCUNICODE_STRING link);
/* IoRegisterDeviceInterface: the link \??\DMACOH#<kind>#<instance>#{guid}[\ref] (in pool, for
 * the caller to RtlFreeUnicodeString), disabled until dc_ob_interface_state enables it. */
NTSTATUS dc_ob_register_interface(struct dc_sys *s, PDEVICE_OBJECT pdo, const GUID *guid,
                                  PCUNICODE_STRING ref, PUNICODE_STRING link);
NTSTATUS dc_ob_interface_state(struct dc_sys *s, PCUNICODE_STRING link, bool enable);

/* The device object a kernel path (UTF-16, n characters) names, following links (not the top
 * of its stack).  STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND (no such name in an existing
 * directory, a dangling link, a disabled interface), STATUS_OBJECT_PATH_NOT_FOUND (no such
 * directory), STATUS_OBJECT_NAME_INVALID (empty or not starting with '\'). */
NTSTATUS dc_ob_lookup(struct dc_sys *s, const WCHAR *name, size_t n, PDEVICE_OBJECT *dev);
/* The same for an ASCII kernel path. */
NTSTATUS dc_ob_lookup_a(struct dc_sys *s, const char *name, PDEVICE_OBJECT *dev);
/* A Win32 device path (\\.\X or \\?\X) as the kernel path CreateFile opens (\??\X) in out.
 * Returns 0, or the Win32 error: 3 (ERROR_PATH_NOT_FOUND: not a device path), 123
 * (ERROR_INVALID_NAME: empty name, a character Win32 refuses, or too long). */
uint32_t dc_ob_win32_path(const char *path, char *out, size_t cap);

/* The i-th name (creation order) as ASCII in buf, its kind and object (a link: the device it
 * resolves to now, NULL if none).  false past the end. */
bool dc_ob_entry(struct dc_sys *s, size_t i, enum dc_ob_kind *kind, PDEVICE_OBJECT *dev, char *buf,
                 size_t cap);
/* The enabled interfaces of class g, in creation order: the i-th name (without \??\), false
 * past the end. */
bool dc_ob_interface(struct dc_sys *s, const GUID *g, size_t i, char *buf, size_t cap);

/* What IoGetDeviceObjectPointer returns as the FILE_OBJECT: a token (FILE_OBJECT is opaque). */
void *dc_ob_file_token(struct dc_sys *s);
/* Frees the namespace (dc_sys_destroy). */
void dc_ob_destroy(struct dc_sys *s);

#endif
