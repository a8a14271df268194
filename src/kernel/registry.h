/* The simulated registry inside the kernel layer: a tree of keys under \Registry with typed
 * values, the handles drivers hold on keys, and the .reg loader (regfile.c).  Names compare
 * case-insensitively in the ASCII range (Windows folds all of Unicode; drivers' names are
 * ASCII).  Not modelled: hives, security, volatile vs non-volatile keys (nothing persists past
 * a run), REG_LINK keys, change notifications. */
#ifndef DC_KERNEL_REGISTRY_H
#define DC_KERNEL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmacoh/wdm.h"

struct dc_sys;
struct dc_reg;
struct dc_regkey;

struct dc_reg *dc_reg_create(void);
void dc_reg_destroy(struct dc_reg *r);
/* The system's registry, created on first use. */
struct dc_reg *dc_reg_of(struct dc_sys *s);
struct dc_regkey *dc_reg_root(struct dc_reg *r);

/* Walks path (WCHAR components separated by '\', n characters) from `from` (NULL: an absolute
 * path that starts with \Registry).  With create, makes missing keys (all of them with
 * create_all, else only the last); *created tells whether the last one is new.  NULL if a
 * key is missing, or *bad is set when the path is malformed. */
struct dc_regkey *dc_reg_walk(struct dc_reg *r, struct dc_regkey *from, const WCHAR *path, size_t n,
                              bool create, bool create_all, bool *created, bool *bad);
/* The same with an ASCII path ("\Registry\Machine\System"), creating every missing key. */
struct dc_regkey *dc_reg_mkpath(struct dc_reg *r, const char *path);

/* Values (name of n characters; n == 0 is the default value).  dc_reg_set copies data. */
int dc_reg_set(struct dc_regkey *k, const WCHAR *name, size_t n, ULONG type, const void *data,
               size_t len);
int dc_reg_set_ascii(struct dc_regkey *k, const char *name, ULONG type, const void *data,
                     size_t len);
/* REG_SZ / REG_MULTI_SZ from ASCII (multi: strings separated by '\n'). */
int dc_reg_set_sz(struct dc_regkey *k, const char *name, const char *value, bool multi);
bool dc_reg_delete_value(struct dc_regkey *k, const WCHAR *name, size_t n);
/* Unlinks k and its subtree (the root cannot be deleted); open handles see STATUS_KEY_DELETED. */
void dc_reg_delete_key(struct dc_reg *r, struct dc_regkey *k);
bool dc_reg_key_deleted(const struct dc_regkey *k);

struct dc_regval_view {
	const WCHAR *name;
	size_t nlen;
	ULONG type;
	const uint8_t *data;
	size_t len;
};
bool dc_reg_get(const struct dc_regkey *k, const WCHAR *name, size_t n, struct dc_regval_view *v);
bool dc_reg_get_ascii(const struct dc_regkey *k, const char *name, struct dc_regval_view *v);
bool dc_reg_value_at(const struct dc_regkey *k, size_t i, struct dc_regval_view *v);
size_t dc_reg_n_values(const struct dc_regkey *k);
size_t dc_reg_n_subkeys(const struct dc_regkey *k);
struct dc_regkey *dc_reg_subkey_at(const struct dc_regkey *k, size_t i);
const WCHAR *dc_reg_key_name(const struct dc_regkey *k, size_t *n);
/* The full path (\REGISTRY\...) as ASCII, for messages and tests. */
void dc_reg_key_path(const struct dc_regkey *k, char *buf, size_t len);

/* Key handles (HANDLE values no other kind of handle uses). */
HANDLE dc_reg_handle_open(struct dc_reg *r, struct dc_regkey *k);
bool dc_reg_is_handle(HANDLE h);
/* The key of an open handle, NULL if it is none. */
struct dc_regkey *dc_reg_handle_key(struct dc_reg *r, HANDLE h);
NTSTATUS dc_reg_handle_close(struct dc_reg *r, HANDLE h);
size_t dc_reg_open_handles(const struct dc_reg *r);

/* The driver's service key (Services\<name> with Parameters) and the RegistryPath string
 * DriverEntry receives: buf holds the NUL-terminated path. */
void dc_reg_driver_key(struct dc_sys *s, const char *name, WCHAR *buf, size_t cap,
                       UNICODE_STRING *path);

/* Loads a regedit export (REGEDIT4 or "Windows Registry Editor Version 5.00", UTF-8/ANSI or
 * UTF-16LE with a BOM) into r.  On error: a negative dc_err and "file:line: what" in err; r is
 * left unchanged (the file is applied only once it parsed whole). */
int dc_regfile_parse(struct dc_reg *r, const char *file, const uint8_t *buf, size_t len, char *err,
                     size_t errlen);
int dc_regfile_load(struct dc_reg *r, const char *path, char *err, size_t errlen);

/* Upcases an ASCII character of a WCHAR (the comparisons' folding). */
static inline WCHAR dc_wup(WCHAR c)
{
	return c >= 'a' && c <= 'z' ? (WCHAR)(c - 32) : c;
}

#endif
