/* The Win32 file routines a test application calls (CreateFileA/W, ReadFile, WriteFile,
 * DeviceIoControl, GetOverlappedResult(Ex), CancelIo(Ex), CloseHandle), the handle table, and
 * CreateFile's resolution of a device path through the object manager's namespace (obnames.h:
 * device names, symbolic links, device interfaces).  See win32.h.
 *
 * Requests are built by the I/O manager's code (io.c) as Windows builds them and sent on the
 * handle's FILE_OBJECT.  Not modelled: share modes, access checks, exclusive devices,
 * relative opens, file names below a device (\\.\X\sub: the rest goes nowhere). */
#include "win32.h"

#include "obnames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W32_HANDLE_BASE 0x100u
#define W32_STATUS_PENDING 0x103u
/* Simulated time a synchronous request (and CREATE, CLEANUP, CLOSE) may take before the
 * application stops waiting for it: a driver that never completes it, while its device keeps
 * the clock busy, would otherwise keep the run going forever. */
#define W32_SYNC_LIMIT_NS UINT64_C(60000000000)

enum w32_kind { W32_FREE, W32_FILE, W32_EVENT };

/* A FILE_OBJECT: the driver sees an opaque object; ours starts with the bytes it points to. */
struct w32_file {
	_Alignas(16) uint8_t fo[256];
	PDEVICE_OBJECT top;
	KEVENT done; /* signalled when a request on the file completes (waitable handle) */
	bool overlapped;
	bool closed;      /* the handle is gone; CLOSE waits for the last request */
	unsigned pending; /* requests not finished */
	uint64_t pos;     /* byte offset of synchronous reads and writes */
};

struct w32_handle {
	enum w32_kind kind;
	struct w32_file *file;
	KEVENT *event;
};

/* A request the application sent. */
struct w32_io {
	struct w32_io *next;
	struct dc_w32 *w;
	struct w32_file *f;
	PIRP irp;
	void *ov; /* the application's OVERLAPPED (NULL: synchronous) */
	KEVENT *event;
	bool done, finished;
	IO_STATUS_BLOCK iosb;
};

struct dc_w32 {
	struct dc_sys *s;
	struct w32_handle *h;
	size_t n_h;
	struct w32_io *ios;
	uint32_t last_error;
	struct dc_w32_stats st;
};

/* The OVERLAPPED fields the kernel writes (the application's layout, <dmacoh/app/windows.h>). */
struct w32_overlapped {
	ULONG_PTR Internal, InternalHigh;
	uint32_t Offset, OffsetHigh;
	HANDLE hEvent;
};

struct dc_w32 *dc_w32_get(struct dc_sys *s)
{
	if (!s->w32) {
		s->w32 = calloc(1, sizeof(*s->w32));
		if (s->w32)
			s->w32->s = s;
	}
	return s->w32;
}

struct dc_sys *dc_w32_sys(struct dc_w32 *w)
{
	return w->s;
}

void dc_w32_count_deadlock(struct dc_w32 *w)
{
	w->st.deadlocks++;
}

const struct dc_w32_stats *dc_w32_stats(struct dc_sys *s)
{
	static const struct dc_w32_stats none;
	return s->w32 ? &s->w32->st : &none;
}

void dc_w32_set_error(struct dc_w32 *w, uint32_t err)
{
	w->last_error = err;
}

uint32_t dc_w32_last_error(struct dc_w32 *w)
{
	return w->last_error;
}

void dc_w32_destroy(struct dc_sys *s)
{
	struct dc_w32 *w = s->w32;
	if (!w)
		return;
	for (size_t i = 0; i < w->n_h; i++) {
		free(w->h[i].event);
		/* A file with requests the driver still holds stays: the IRP points at it. */
		if (w->h[i].file && !w->h[i].file->pending)
			free(w->h[i].file);
	}
	for (struct w32_io *io = w->ios, *n; io; io = n) {
		n = io->next;
		free(io);
	}
	free(w->h);
	free(w);
	s->w32 = NULL;
}

/* CM_Get_Device_Interface_List(A): the \\?\ paths of the enabled interfaces of a class, each
 * NUL-terminated, then an empty string.  *len (the size call): the characters needed. */
static uint32_t iface_list(const GUID *g, char *buf, uint32_t cap, uint32_t *len)
{
	struct dc_sys *s = dc_sys_current();
	if (!g || !s)
		return 3; /* CR_INVALID_POINTER */
	uint32_t n = 0;
	char name[600];
	for (size_t i = 0; dc_ob_interface(s, g, i, name, sizeof(name)); i++) {
		uint32_t k = (uint32_t)strlen(name) + 5;
		if (buf && n + k < cap) {
			memcpy(buf + n, "\\\\?\\", 4);
			memcpy(buf + n + 4, name, k - 4);
		}
		n += k;
	}
	if (buf && n < cap)
		buf[n] = 0;
	n++;
	if (len)
		*len = n;
	return buf && n > cap ? 0x1Au /* CR_BUFFER_SMALL */ : 0;
}

uint32_t CM_Get_Device_Interface_List_SizeA(uint32_t *pulLen, GUID *InterfaceClassGuid,
                                            char *pDeviceID, uint32_t ulFlags);
uint32_t CM_Get_Device_Interface_List_SizeA(uint32_t *pulLen, GUID *InterfaceClassGuid,
                                            char *pDeviceID, uint32_t ulFlags)
{
	(void)ulFlags;
	if (!pulLen || pDeviceID)
		return 3;
	return iface_list(InterfaceClassGuid, NULL, 0, pulLen);
}

uint32_t CM_Get_Device_Interface_ListA(GUID *InterfaceClassGuid, char *pDeviceID, char *Buffer,
                                       uint32_t BufferLen, uint32_t ulFlags);
uint32_t CM_Get_Device_Interface_ListA(GUID *InterfaceClassGuid, char *pDeviceID, char *Buffer,
                                       uint32_t BufferLen, uint32_t ulFlags)
{
	(void)ulFlags;
	if (!Buffer || pDeviceID)
		return 3;
	return iface_list(InterfaceClassGuid, Buffer, BufferLen, NULL);
}

static PDEVICE_OBJECT stack_top_of(PDEVICE_OBJECT d)
{
	while (d && d->AttachedDevice)
		d = d->AttachedDevice;
	return d;
}

/* The top of the stack a path names, through the object manager's namespace (obnames.h):
 * \\.\X and \\?\X are \??\X (a symbolic link, an enabled device interface, or
 * GLOBALROOT\Device\NAME); what follows a device's name is its file name. */
static PDEVICE_OBJECT resolve(struct dc_w32 *w, const char *path, uint32_t *err)
{
	char k[600];
	if ((*err = dc_ob_win32_path(path, k, sizeof(k))) != 0)
		return NULL;
	PDEVICE_OBJECT dev = NULL;
	NTSTATUS st = dc_ob_lookup_a(w->s, k, &dev);
	if (NT_SUCCESS(st))
		return stack_top_of(dev);
	*err = st == STATUS_OBJECT_PATH_NOT_FOUND ? 3   /* ERROR_PATH_NOT_FOUND */
	       : st == STATUS_OBJECT_NAME_INVALID ? 123 /* ERROR_INVALID_NAME */
	                                          : 2;  /* ERROR_FILE_NOT_FOUND */
	return NULL;
}

/* --- Handles ------------------------------------------------------------------------------ */

/* Handles are never reused (a stale handle is then always invalid, and an event a request
 * still points at lives until the system goes). */
static HANDLE new_handle(struct dc_w32 *w, enum w32_kind kind)
{
	struct w32_handle *h = realloc(w->h, (w->n_h + 1) * sizeof(*h));
	if (!h)
		return NULL;
	w->h = h;
	size_t i = w->n_h++;
	memset(&w->h[i], 0, sizeof(w->h[i]));
	w->h[i].kind = kind;
	return (HANDLE)(uintptr_t)(W32_HANDLE_BASE + 4 * i);
}

static struct w32_handle *handle_of(struct dc_w32 *w, HANDLE h)
{
	uintptr_t v = (uintptr_t)h;
	if (v < W32_HANDLE_BASE || (v - W32_HANDLE_BASE) % 4)
		return NULL;
	size_t i = (v - W32_HANDLE_BASE) / 4;
	return i < w->n_h && w->h[i].kind != W32_FREE ? &w->h[i] : NULL;
}

HANDLE dc_w32_new_event(struct dc_w32 *w, bool manual, bool state);
HANDLE dc_w32_new_event(struct dc_w32 *w, bool manual, bool state)
{
	KEVENT *ev = calloc(1, sizeof(*ev));
	HANDLE h = ev ? new_handle(w, W32_EVENT) : NULL;
	if (!h) {
		free(ev);
		return NULL;
	}
	KeInitializeEvent(ev, manual ? NotificationEvent : SynchronizationEvent, (BOOLEAN)state);
	handle_of(w, h)->event = ev;
	return h;
}

PKEVENT dc_w32_waitable(struct dc_w32 *w, HANDLE h)
{
	struct w32_handle *e = handle_of(w, h);
	if (!e)
		return NULL;
	return e->kind == W32_EVENT ? e->event : &e->file->done;
}

void *dc_w32_file_object(struct dc_sys *s, HANDLE h)
{
	struct w32_handle *e = s->w32 ? handle_of(s->w32, h) : NULL;
	return e && e->kind == W32_FILE ? e->file->fo : NULL;
}

static bool req_done(void *opaque)
{
	return dc_sys_irp_done(opaque);
}

/* Sends a request of the file's lifetime and waits for it (the I/O manager does so
 * synchronously).  STATUS_PENDING forever: DC_STATUS_DEADLOCK. */
static NTSTATUS send_file_irp(struct dc_sys *s, struct w32_file *f, UCHAR major)
{
	PIRP irp = dc_sys_build_file(s, f->top, major);
	if (!irp)
		return STATUS_INSUFFICIENT_RESOURCES;
	dc_sys_irp_set_file(irp, f->fo);
	dc_sys_send(s, irp);
	if (!dc_sys_irp_done(irp)) {
		struct dc_kwait kw = {.deadline = s->m->clock.now + W32_SYNC_LIMIT_NS,
		                      .pred = req_done,
		                      .pred_arg = irp};
		if (dc_sched_wait(s, &kw) != STATUS_SUCCESS)
			return DC_STATUS_DEADLOCK; /* the driver keeps the IRP */
	}
	return dc_sys_finish(s, irp).Status;
}

NTSTATUS dc_w32_open(struct dc_sys *s, PDEVICE_OBJECT top, bool overlapped, HANDLE *out)
{
	struct dc_w32 *w = dc_w32_get(s);
	struct w32_file *f = w ? calloc(1, sizeof(*f)) : NULL;
	if (!f)
		return STATUS_INSUFFICIENT_RESOURCES;
	f->top = top;
	f->overlapped = overlapped;
	KeInitializeEvent(&f->done, NotificationEvent, FALSE);
	NTSTATUS st = send_file_irp(s, f, IRP_MJ_CREATE);
	HANDLE h = NT_SUCCESS(st) ? new_handle(w, W32_FILE) : NULL;
	if (!h) {
		free(f);
		return NT_SUCCESS(st) ? STATUS_INSUFFICIENT_RESOURCES : st;
	}
	handle_of(w, h)->file = f;
	*out = h;
	return STATUS_SUCCESS;
}

static void maybe_close(struct dc_sys *s, struct w32_file *f)
{
	if (!f->closed || f->pending)
		return;
	send_file_irp(s, f, IRP_MJ_CLOSE);
	free(f);
}

bool dc_w32_close(struct dc_sys *s, HANDLE h)
{
	struct dc_w32 *w = s->w32;
	struct w32_handle *e = w ? handle_of(w, h) : NULL;
	if (!e)
		return false;
	if (e->kind == W32_EVENT) {
		/* Freed with the system: a request in flight may still signal it. */
		e->kind = W32_FREE;
		return true;
	}
	struct w32_file *f = e->file;
	e->kind = W32_FREE;
	e->file = NULL;
	/* The last handle: IRP_MJ_CLEANUP now, IRP_MJ_CLOSE once no request holds the file. */
	send_file_irp(s, f, IRP_MJ_CLEANUP);
	f->closed = true;
	maybe_close(s, f);
	return true;
}

/* --- Requests ------------------------------------------------------------------------------- */

static void on_done(void *opaque, PIRP irp)
{
	struct w32_io *io = opaque;
	(void)irp;
	io->done = true;
	/* The event is set in the completion, as the I/O manager's APC sets it before the
	 * application can see anything; the buffers are finished when the application runs. */
	if (io->event)
		KeSetEvent(io->event, IO_NO_INCREMENT, FALSE);
	KeSetEvent(&io->f->done, IO_NO_INCREMENT, FALSE);
}

static void write_ov(struct dc_sys *s, void *ov, ULONG_PTR internal, ULONG_PTR high)
{
	ULONG_PTR v[2] = {internal, high};
	dc_cpu_write(s->m, ov, v, sizeof(v));
}

static void finish(struct dc_w32 *w, struct w32_io *io)
{
	struct dc_sys *s = w->s;
	io->iosb = dc_sys_finish(s, io->irp);
	io->irp = NULL;
	io->finished = true;
	if (io->iosb.Status == STATUS_CANCELLED)
		w->st.cancelled++;
	else if (!NT_SUCCESS(io->iosb.Status))
		w->st.failed++;
	if (io->ov)
		write_ov(s, io->ov, (ULONG_PTR)(uint32_t)io->iosb.Status, io->iosb.Information);
	io->f->pending--;
}

void dc_w32_reap(struct dc_w32 *w)
{
	for (struct w32_io **pp = &w->ios; *pp;) {
		struct w32_io *io = *pp;
		if (!io->done || !io->ov) {
			pp = &io->next;
			continue;
		}
		*pp = io->next;
		finish(w, io);
		struct w32_file *f = io->f;
		free(io);
		maybe_close(w->s, f);
	}
}

struct dc_w32 *dc_w32_enter(void)
{
	struct dc_sys *s = dc_k();
	struct dc_w32 *w = dc_w32_get(s);
	if (!w)
		return NULL;
	s->irql = PASSIVE_LEVEL;
	dc_w32_reap(w);
	return w;
}

static bool io_done(void *opaque)
{
	return ((struct w32_io *)opaque)->done;
}

/* Sends irp on file handle h as ReadFile / WriteFile / DeviceIoControl do; returns the BOOL
 * they return, *n the bytes. */
static int submit(struct dc_w32 *w, struct w32_file *f, PIRP irp, void *ov, uint32_t *n)
{
	struct dc_sys *s = w->s;
	struct w32_io *io = calloc(1, sizeof(*io));
	if (!io) {
		dc_sys_finish(s, irp);
		dc_w32_set_error(w, 8);
		return 0;
	}
	io->w = w;
	io->f = f;
	io->irp = irp;
	io->ov = ov;
	if (ov) {
		struct w32_overlapped o;
		dc_cpu_read(s->m, ov, &o, sizeof(o));
		io->event = dc_w32_waitable(w, o.hEvent);
		if (io->event)
			KeResetEvent(io->event);
		write_ov(s, ov, W32_STATUS_PENDING, 0);
	}
	KeResetEvent(&f->done);
	dc_sys_irp_set_file(irp, f->fo);
	dc_sys_irp_on_done(irp, on_done, io);
	io->next = w->ios;
	w->ios = io;
	f->pending++;
	w->st.irps++;
	NTSTATUS st = dc_sys_send(s, irp);
	if (n)
		*n = 0;
	if (f->overlapped && ov) {
		if (st == STATUS_PENDING || !io->done) {
			dc_w32_set_error(w, 997); /* ERROR_IO_PENDING */
			return 0;
		}
		/* Completed in the dispatch routine: the result now (and the event is set). */
		IO_STATUS_BLOCK iosb = io->irp->IoStatus;
		dc_w32_reap(w);
		if (n)
			*n = (uint32_t)iosb.Information;
		if (!NT_SUCCESS(iosb.Status)) {
			dc_w32_set_error(w, RtlNtStatusToDosError(iosb.Status));
			return 0;
		}
		return 1;
	}
	/* Synchronous: the application's thread waits for the completion. */
	if (!io->done) {
		struct dc_kwait kw = {.deadline = s->m->clock.now + W32_SYNC_LIMIT_NS,
		                      .pred = io_done,
		                      .pred_arg = io};
		if (dc_sched_wait(s, &kw) != STATUS_SUCCESS) {
			/* Nothing will ever complete it: the driver keeps the IRP. */
			w->st.deadlocks++;
			io->ov = NULL;
			dc_w32_set_error(w, 1131); /* ERROR_POSSIBLE_DEADLOCK */
			return 0;
		}
	}
	for (struct w32_io **pp = &w->ios; *pp; pp = &(*pp)->next)
		if (*pp == io) {
			*pp = io->next;
			break;
		}
	finish(w, io);
	IO_STATUS_BLOCK iosb = io->iosb;
	free(io);
	if (n)
		*n = (uint32_t)iosb.Information;
	if (!NT_SUCCESS(iosb.Status)) {
		dc_w32_set_error(w, RtlNtStatusToDosError(iosb.Status));
		return 0;
	}
	if (!ov)
		f->pos += iosb.Information;
	return 1;
}

static struct w32_file *file_of(struct dc_w32 *w, HANDLE h)
{
	struct w32_handle *e = handle_of(w, h);
	if (!e || e->kind != W32_FILE) {
		dc_w32_set_error(w, 6); /* ERROR_INVALID_HANDLE */
		return NULL;
	}
	return e->file;
}

/* CreateFileA/W after the name is in ASCII (NULL: no name given). */
static HANDLE create_file(const char *name, uint32_t disposition, uint32_t flags)
{
	struct dc_w32 *w = dc_w32_enter();
	if (!w)
		return (HANDLE)(intptr_t)-1;
	if (!name || disposition != 3 /* OPEN_EXISTING */) {
		dc_w32_set_error(w, name ? 87 : 3);
		return (HANDLE)(intptr_t)-1;
	}
	uint32_t err;
	PDEVICE_OBJECT top = resolve(w, name, &err);
	if (!top) {
		dc_w32_set_error(w, err);
		return (HANDLE)(intptr_t)-1;
	}
	HANDLE h = NULL;
	NTSTATUS st = dc_w32_open(w->s, top, (flags & 0x40000000u) != 0, &h);
	if (!NT_SUCCESS(st)) {
		dc_w32_set_error(w, RtlNtStatusToDosError(st));
		return (HANDLE)(intptr_t)-1;
	}
	dc_w32_set_error(w, 0);
	return h;
}

HANDLE CreateFileA(const char *lpFileName, uint32_t dwDesiredAccess, uint32_t dwShareMode,
                   void *lpSecurityAttributes, uint32_t dwCreationDisposition,
                   uint32_t dwFlagsAndAttributes, HANDLE hTemplateFile);
HANDLE CreateFileA(const char *lpFileName, uint32_t dwDesiredAccess, uint32_t dwShareMode,
                   void *lpSecurityAttributes, uint32_t dwCreationDisposition,
                   uint32_t dwFlagsAndAttributes, HANDLE hTemplateFile)
{
	(void)dwDesiredAccess, (void)dwShareMode, (void)lpSecurityAttributes, (void)hTemplateFile;
	char name[512];
	size_t n = 0;
	for (; lpFileName && lpFileName[n] && n < sizeof(name) - 1; n++)
		name[n] = lpFileName[n];
	name[n] = 0;
	return create_file(lpFileName ? name : NULL, dwCreationDisposition, dwFlagsAndAttributes);
}

HANDLE CreateFileW(const WCHAR *lpFileName, uint32_t dwDesiredAccess, uint32_t dwShareMode,
                   void *lpSecurityAttributes, uint32_t dwCreationDisposition,
                   uint32_t dwFlagsAndAttributes, HANDLE hTemplateFile);
HANDLE CreateFileW(const WCHAR *lpFileName, uint32_t dwDesiredAccess, uint32_t dwShareMode,
                   void *lpSecurityAttributes, uint32_t dwCreationDisposition,
                   uint32_t dwFlagsAndAttributes, HANDLE hTemplateFile)
{
	(void)dwDesiredAccess, (void)dwShareMode, (void)lpSecurityAttributes, (void)hTemplateFile;
	char name[512];
	size_t n = 0;
	for (; lpFileName && lpFileName[n] && n < sizeof(name) - 1; n++)
		name[n] = lpFileName[n] < 128 ? (char)lpFileName[n] : '?';
	name[n] = 0;
	return create_file(lpFileName ? name : NULL, dwCreationDisposition, dwFlagsAndAttributes);
}

static uint64_t ov_offset(struct dc_sys *s, void *ov, struct w32_file *f)
{
	if (!ov)
		return f->pos;
	struct w32_overlapped o;
	dc_cpu_read(s->m, ov, &o, sizeof(o));
	return (uint64_t)o.OffsetHigh << 32 | o.Offset;
}

static int read_write(HANDLE h, UCHAR major, void *buf, uint32_t len, uint32_t *n, void *ov)
{
	struct dc_w32 *w = dc_w32_enter();
	struct w32_file *f = w ? file_of(w, h) : NULL;
	if (!f)
		return 0;
	if (f->overlapped && !ov) {
		dc_w32_set_error(w, 87); /* Windows: an overlapped handle needs an OVERLAPPED */
		return 0;
	}
	PIRP irp = dc_sys_build_rw(w->s, f->top, major, buf, len, ov_offset(w->s, ov, f));
	if (!irp) {
		dc_w32_set_error(w, 8);
		return 0;
	}
	return submit(w, f, irp, ov, n);
}

int ReadFile(HANDLE hFile, void *lpBuffer, uint32_t nNumberOfBytesToRead,
             uint32_t *lpNumberOfBytesRead, void *lpOverlapped);
int ReadFile(HANDLE hFile, void *lpBuffer, uint32_t nNumberOfBytesToRead,
             uint32_t *lpNumberOfBytesRead, void *lpOverlapped)
{
	uint32_t n = 0;
	int r = read_write(hFile, IRP_MJ_READ, lpBuffer, nNumberOfBytesToRead, &n, lpOverlapped);
	if (lpNumberOfBytesRead)
		*lpNumberOfBytesRead = n;
	return r;
}

int WriteFile(HANDLE hFile, const void *lpBuffer, uint32_t nNumberOfBytesToWrite,
              uint32_t *lpNumberOfBytesWritten, void *lpOverlapped);
int WriteFile(HANDLE hFile, const void *lpBuffer, uint32_t nNumberOfBytesToWrite,
              uint32_t *lpNumberOfBytesWritten, void *lpOverlapped)
{
	uint32_t n = 0;
	int r = read_write(hFile, IRP_MJ_WRITE, (void *)(uintptr_t)lpBuffer, nNumberOfBytesToWrite,
	                   &n, lpOverlapped);
	if (lpNumberOfBytesWritten)
		*lpNumberOfBytesWritten = n;
	return r;
}

int DeviceIoControl(HANDLE hDevice, uint32_t dwIoControlCode, void *lpInBuffer,
                    uint32_t nInBufferSize, void *lpOutBuffer, uint32_t nOutBufferSize,
                    uint32_t *lpBytesReturned, void *lpOverlapped);
int DeviceIoControl(HANDLE hDevice, uint32_t dwIoControlCode, void *lpInBuffer,
                    uint32_t nInBufferSize, void *lpOutBuffer, uint32_t nOutBufferSize,
                    uint32_t *lpBytesReturned, void *lpOverlapped)
{
	struct dc_w32 *w = dc_w32_enter();
	struct w32_file *f = w ? file_of(w, hDevice) : NULL;
	if (!f)
		return 0;
	if (f->overlapped && !lpOverlapped) {
		dc_w32_set_error(w, 87);
		return 0;
	}
	if ((!lpInBuffer && nInBufferSize) || (!lpOutBuffer && nOutBufferSize)) {
		dc_w32_set_error(w, 998); /* ERROR_NOACCESS: the probe fails */
		return 0;
	}
	PIRP irp = dc_sys_build_ioctl(w->s, f->top, dwIoControlCode, lpInBuffer, nInBufferSize,
	                              lpOutBuffer, nOutBufferSize);
	if (!irp) {
		dc_w32_set_error(w, 8);
		return 0;
	}
	uint32_t n = 0;
	int r = submit(w, f, irp, lpOverlapped, &n);
	if (lpBytesReturned)
		*lpBytesReturned = n;
	return r;
}

static struct w32_io *pending_io(struct dc_w32 *w, struct w32_file *f, void *ov)
{
	for (struct w32_io *io = w->ios; io; io = io->next)
		if (io->f == f && io->ov == ov)
			return io;
	return NULL;
}

int GetOverlappedResultEx(HANDLE hFile, void *lpOverlapped, uint32_t *lpNumberOfBytesTransferred,
                          uint32_t dwMilliseconds, int bAlertable);
int GetOverlappedResultEx(HANDLE hFile, void *lpOverlapped, uint32_t *lpNumberOfBytesTransferred,
                          uint32_t dwMilliseconds, int bAlertable)
{
	(void)bAlertable;
	struct dc_w32 *w = dc_w32_enter();
	struct w32_file *f = w ? file_of(w, hFile) : NULL;
	if (!f)
		return 0;
	if (!lpOverlapped) {
		dc_w32_set_error(w, 87);
		return 0;
	}
	struct dc_sys *s = w->s;
	struct w32_io *io = pending_io(w, f, lpOverlapped);
	if (io && !io->done && dwMilliseconds) {
		uint64_t now = s->m->clock.now;
		uint64_t dl = dwMilliseconds == 0xFFFFFFFFu
		                  ? UINT64_MAX
		                  : now + (uint64_t)dwMilliseconds * 1000000u;
		struct dc_kwait kw = {.deadline = dl, .pred = io_done, .pred_arg = io};
		NTSTATUS st = dc_sched_wait(s, &kw);
		if (st == DC_STATUS_DEADLOCK) {
			w->st.deadlocks++;
			dc_w32_set_error(w, 1131);
			return 0;
		}
	}
	dc_w32_reap(w);
	if (pending_io(w, f, lpOverlapped)) {
		dc_w32_set_error(w,
		                 dwMilliseconds ? 258 /* WAIT_TIMEOUT */ : 996 /* IO_INCOMPLETE */);
		return 0;
	}
	struct w32_overlapped o;
	dc_cpu_read(s->m, lpOverlapped, &o, sizeof(o));
	if (lpNumberOfBytesTransferred)
		*lpNumberOfBytesTransferred = (uint32_t)o.InternalHigh;
	NTSTATUS st = (NTSTATUS)(uint32_t)o.Internal;
	if (!NT_SUCCESS(st)) {
		dc_w32_set_error(w, RtlNtStatusToDosError(st));
		return 0;
	}
	return 1;
}

int GetOverlappedResult(HANDLE hFile, void *lpOverlapped, uint32_t *lpNumberOfBytesTransferred,
                        int bWait);
int GetOverlappedResult(HANDLE hFile, void *lpOverlapped, uint32_t *lpNumberOfBytesTransferred,
                        int bWait)
{
	int r = GetOverlappedResultEx(hFile, lpOverlapped, lpNumberOfBytesTransferred,
	                              bWait ? 0xFFFFFFFFu : 0, 0);
	struct dc_w32 *w = dc_k()->w32;
	if (!r && !bWait && w && w->last_error == 258)
		w->last_error = 996;
	return r;
}

int CancelIoEx(HANDLE hFile, void *lpOverlapped);
int CancelIoEx(HANDLE hFile, void *lpOverlapped)
{
	struct dc_w32 *w = dc_w32_enter();
	struct w32_file *f = w ? file_of(w, hFile) : NULL;
	if (!f)
		return 0;
	unsigned n = 0;
	/* IoCancelIrp on each: its cancel routine may complete it (and the list change). */
	for (bool again = true; again;) {
		again = false;
		for (struct w32_io *io = w->ios; io; io = io->next) {
			if (io->f != f || io->done || (lpOverlapped && io->ov != lpOverlapped) ||
			    io->irp->Cancel)
				continue;
			dc_sys_cancel(w->s, io->irp);
			n++;
			again = true;
			break;
		}
	}
	dc_sys_deliver(w->s);
	if (!n) {
		dc_w32_set_error(w, 1168); /* ERROR_NOT_FOUND */
		return 0;
	}
	return 1;
}

int CancelIo(HANDLE hFile);
int CancelIo(HANDLE hFile)
{
	int r = CancelIoEx(hFile, NULL);
	struct dc_w32 *w = dc_k()->w32;
	if (!r && w && w->last_error == 1168)
		return 1; /* nothing to cancel is no error for CancelIo */
	return r;
}

int CloseHandle(HANDLE hObject);
int CloseHandle(HANDLE hObject)
{
	struct dc_w32 *w = dc_w32_enter();
	if (!w)
		return 0;
	if (!dc_w32_close(w->s, hObject)) {
		dc_w32_set_error(w, 6);
		return 0;
	}
	return 1;
}

void dc_w32_app_end(struct dc_sys *s, uint64_t timeout_ns)
{
	struct dc_w32 *w = s->w32;
	if (!w)
		return;
	s->irql = PASSIVE_LEVEL;
	/* The application's OVERLAPPEDs are gone with it (its stack, its heap): never written
	 * again. */
	for (struct w32_io *io = w->ios; io; io = io->next)
		io->ov = NULL;
	/* As Windows does at process exit: cancel each thread's requests, close every handle. */
	for (struct w32_io *io = w->ios; io; io = io->next)
		if (!io->done && !io->irp->Cancel)
			dc_sys_cancel(s, io->irp);
	for (size_t i = 0; i < w->n_h; i++)
		if (w->h[i].kind == W32_FILE) {
			w->st.handles++;
			dc_w32_close(s, (HANDLE)(uintptr_t)(W32_HANDLE_BASE + 4 * i));
		} else if (w->h[i].kind == W32_EVENT) {
			w->st.handles++;
			w->h[i].kind = W32_FREE;
		}
	uint64_t dl = s->m->clock.now + timeout_ns;
	for (struct w32_io *io = w->ios; io; io = io->next) {
		if (io->done)
			continue;
		struct dc_kwait kw = {.deadline = dl, .pred = io_done, .pred_arg = io};
		dc_sched_wait(s, &kw);
	}
	for (struct w32_io *io = w->ios; io; io = io->next)
		if (!io->done)
			w->st.hung++;
	/* The rest completed: finished. */
	for (struct w32_io **pp = &w->ios; *pp;) {
		struct w32_io *io = *pp;
		if (!io->done) {
			pp = &io->next;
			continue;
		}
		*pp = io->next;
		io->ov = NULL;
		finish(w, io);
		struct w32_file *f = io->f;
		free(io);
		maybe_close(s, f);
	}
}
