/* The Win32 routines of a test application that are not file I/O: events and waits in
 * simulated time (CreateEventA/W, SetEvent, ResetEvent, WaitForSingleObject,
 * WaitForMultipleObjects, Sleep), clocks (GetTickCount(64), QueryPerformanceCounter), the last
 * error, memory the sanitizer sees (HeapAlloc, VirtualAlloc, LocalAlloc, and the malloc family
 * an application built by `dmacoh-cc --app` calls), and the device-interface list.
 *
 * Waits: the application's thread waits while the devices, interrupts, DPCs and the drivers'
 * threads run; a wait nothing can ever satisfy fails with ERROR_POSSIBLE_DEADLOCK (on Windows
 * the program would hang) and is counted.  Memory: whole pages of the simulated cached window
 * per allocation (a header in host memory keeps the size); not modelled: heaps other than the
 * process heap, page protections, reserving without committing. */
#include <stdlib.h>
#include <string.h>

#include "win32.h"

#define W32_WAIT_FAILED 0xFFFFFFFFu
#define W32_WAIT_TIMEOUT 0x102u
#define W32_INFINITE 0xFFFFFFFFu

HANDLE dc_w32_new_event(struct dc_w32 *w, bool manual, bool state); /* win32.c */

/* --- Errors ------------------------------------------------------------------------------- */

static _Thread_local uint32_t last_error_no_sys;

uint32_t GetLastError(void);
uint32_t GetLastError(void)
{
	struct dc_sys *s = dc_sys_current();
	struct dc_w32 *w = s ? dc_w32_get(s) : NULL;
	if (!w)
		return last_error_no_sys;
	return dc_w32_last_error(w);
}

void SetLastError(uint32_t dwErrCode);
void SetLastError(uint32_t dwErrCode)
{
	struct dc_sys *s = dc_sys_current();
	struct dc_w32 *w = s ? dc_w32_get(s) : NULL;
	if (w)
		dc_w32_set_error(w, dwErrCode);
	else
		last_error_no_sys = dwErrCode;
}

/* --- Events and waits ------------------------------------------------------------------------ */

HANDLE CreateEventA(void *lpEventAttributes, int bManualReset, int bInitialState,
                    const char *lpName);
HANDLE CreateEventA(void *lpEventAttributes, int bManualReset, int bInitialState,
                    const char *lpName)
{
	(void)lpEventAttributes;
	struct dc_w32 *w = dc_w32_enter();
	if (!w)
		return NULL;
	if (lpName) {
		dc_w32_set_error(w, 50); /* named events: ERROR_NOT_SUPPORTED (one process) */
		return NULL;
	}
	HANDLE h = dc_w32_new_event(w, bManualReset != 0, bInitialState != 0);
	dc_w32_set_error(w, h ? 0 : 8);
	return h;
}

HANDLE CreateEventW(void *lpEventAttributes, int bManualReset, int bInitialState,
                    const WCHAR *lpName);
HANDLE CreateEventW(void *lpEventAttributes, int bManualReset, int bInitialState,
                    const WCHAR *lpName)
{
	return CreateEventA(lpEventAttributes, bManualReset, bInitialState, lpName ? "" : NULL);
}

static PKEVENT event_of(struct dc_w32 *w, HANDLE h)
{
	PKEVENT e = dc_w32_waitable(w, h);
	if (!e)
		dc_w32_set_error(w, 6); /* ERROR_INVALID_HANDLE */
	return e;
}

int SetEvent(HANDLE hEvent);
int SetEvent(HANDLE hEvent)
{
	struct dc_w32 *w = dc_w32_enter();
	PKEVENT e = w ? event_of(w, hEvent) : NULL;
	if (!e)
		return 0;
	KeSetEvent(e, IO_NO_INCREMENT, FALSE);
	return 1;
}

int ResetEvent(HANDLE hEvent);
int ResetEvent(HANDLE hEvent)
{
	struct dc_w32 *w = dc_w32_enter();
	PKEVENT e = w ? event_of(w, hEvent) : NULL;
	if (!e)
		return 0;
	KeResetEvent(e);
	return 1;
}

static uint64_t deadline(struct dc_sys *s, uint32_t ms)
{
	return ms == W32_INFINITE ? UINT64_MAX : s->m->clock.now + (uint64_t)ms * 1000000u;
}

static uint32_t wait_objects(uint32_t n, const HANDLE *hs, bool all, uint32_t ms)
{
	struct dc_w32 *w = dc_w32_enter();
	if (!w)
		return W32_WAIT_FAILED;
	if (!n || n > 64 || !hs) {
		dc_w32_set_error(w, 87);
		return W32_WAIT_FAILED;
	}
	PVOID objs[64];
	for (uint32_t i = 0; i < n; i++)
		if (!(objs[i] = event_of(w, hs[i])))
			return W32_WAIT_FAILED;
	struct dc_sys *s = dc_w32_sys(w);
	NTSTATUS st;
	if (!dc_ke_try_wait(s, n, objs, all, &st)) {
		if (ms == 0)
			return W32_WAIT_TIMEOUT;
		struct dc_kwait kw = {
		    .n = n, .objs = objs, .all = all, .deadline = deadline(s, ms)};
		st = dc_sched_wait(s, &kw);
	}
	dc_w32_reap(w);
	if (st == DC_STATUS_DEADLOCK) {
		dc_w32_count_deadlock(w);
		dc_w32_set_error(w, 1131); /* ERROR_POSSIBLE_DEADLOCK */
		return W32_WAIT_FAILED;
	}
	if (st == STATUS_TIMEOUT)
		return W32_WAIT_TIMEOUT;
	return all ? 0 : (uint32_t)(st - STATUS_WAIT_0);
}

uint32_t WaitForSingleObject(HANDLE hHandle, uint32_t dwMilliseconds);
uint32_t WaitForSingleObject(HANDLE hHandle, uint32_t dwMilliseconds)
{
	return wait_objects(1, &hHandle, false, dwMilliseconds);
}

uint32_t WaitForMultipleObjects(uint32_t nCount, const HANDLE *lpHandles, int bWaitAll,
                                uint32_t dwMilliseconds);
uint32_t WaitForMultipleObjects(uint32_t nCount, const HANDLE *lpHandles, int bWaitAll,
                                uint32_t dwMilliseconds)
{
	return wait_objects(nCount, lpHandles, bWaitAll != 0, dwMilliseconds);
}

void Sleep(uint32_t dwMilliseconds);
void Sleep(uint32_t dwMilliseconds)
{
	struct dc_w32 *w = dc_w32_enter();
	if (!w)
		return;
	struct dc_sys *s = dc_w32_sys(w);
	if (dwMilliseconds == W32_INFINITE) {
		/* Sleep(INFINITE) ends only with the program: nothing to wait for but a deadlock.
		 */
		dc_w32_count_deadlock(w);
		return;
	}
	struct dc_kwait kw = {.deadline = deadline(s, dwMilliseconds)};
	dc_sched_wait(s, &kw);
	dc_w32_reap(w);
}

uint64_t GetTickCount64(void);
uint64_t GetTickCount64(void)
{
	struct dc_sys *s = dc_sys_current();
	return s ? dc_sys_now(s) / 1000000u : 0;
}

uint32_t GetTickCount(void);
uint32_t GetTickCount(void)
{
	return (uint32_t)GetTickCount64();
}

int QueryPerformanceFrequency(int64_t *lpFrequency);
int QueryPerformanceFrequency(int64_t *lpFrequency)
{
	if (lpFrequency)
		*lpFrequency = 10000000; /* 100 ns ticks, as KeQueryPerformanceCounter */
	return lpFrequency != NULL;
}

int QueryPerformanceCounter(int64_t *lpPerformanceCount);
int QueryPerformanceCounter(int64_t *lpPerformanceCount)
{
	struct dc_sys *s = dc_sys_current();
	if (lpPerformanceCount)
		*lpPerformanceCount = s ? (int64_t)(dc_sys_now(s) / 100) : 0;
	return lpPerformanceCount != NULL;
}

/* --- Memory ------------------------------------------------------------------------------------
 */

/* Sizes of the application's allocations (for realloc): a small open-addressed table keyed by
 * address, in host memory. */
struct asize {
	void *p;
	size_t n;
};
static _Thread_local struct asize *sizes;
static _Thread_local size_t n_sizes, cap_sizes;

static size_t slot_of(const void *p, size_t cap)
{
	return (size_t)(((uintptr_t)p >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> 20) & (cap - 1);
}

static bool remember(void *p, size_t n)
{
	if (2 * (n_sizes + 1) > cap_sizes) {
		size_t cap = cap_sizes ? 2 * cap_sizes : 256;
		struct asize *t = calloc(cap, sizeof(*t));
		if (!t)
			return false;
		for (size_t i = 0; i < cap_sizes; i++)
			if (sizes[i].p && sizes[i].n != SIZE_MAX) {
				size_t j = slot_of(sizes[i].p, cap);
				while (t[j].p)
					j = (j + 1) & (cap - 1);
				t[j] = sizes[i];
			}
		free(sizes);
		sizes = t;
		cap_sizes = cap;
		size_t live = 0;
		for (size_t i = 0; i < cap; i++)
			live += t[i].p != NULL;
		n_sizes = live;
	}
	size_t j = slot_of(p, cap_sizes);
	while (sizes[j].p && sizes[j].n != SIZE_MAX)
		j = (j + 1) & (cap_sizes - 1);
	if (!sizes[j].p)
		n_sizes++;
	sizes[j] = (struct asize){p, n};
	return true;
}

static struct asize *lookup(const void *p)
{
	if (!cap_sizes)
		return NULL;
	for (size_t j = slot_of(p, cap_sizes); sizes[j].p; j = (j + 1) & (cap_sizes - 1))
		if (sizes[j].p == p && sizes[j].n != SIZE_MAX)
			return &sizes[j];
	return NULL;
}

static void *app_alloc(size_t n, bool zero)
{
	struct dc_sys *s = dc_sys_current();
	if (!s)
		return zero ? calloc(1, n ? n : 1) : malloc(n ? n : 1);
	/* 16-byte aligned as malloc's, at the start of its own pages. */
	void *p = dc_sys_alloc_buffer(s, n ? n : 1, 0, DC_ZONE_ANY);
	if (!p)
		return NULL;
	if (!remember(p, n)) {
		dc_sys_free_buffer(s, p);
		return NULL;
	}
	dc_cpu_fill(dc_sys_machine(s), p, zero ? 0 : 0xBE, n);
	return p;
}

static void app_free(void *p)
{
	if (!p)
		return;
	struct asize *a = lookup(p);
	struct dc_sys *s = dc_sys_current();
	if (!a || !s) {
		free(p); /* allocated before the system, in host memory */
		return;
	}
	a->n = SIZE_MAX; /* a tombstone */
	dc_sys_free_buffer(s, p);
}

static void *app_realloc(void *p, size_t n)
{
	if (!p)
		return app_alloc(n, false);
	struct asize *a = lookup(p);
	struct dc_sys *s = dc_sys_current();
	if (!a || !s)
		return realloc(p, n);
	size_t old = a->n;
	void *q = app_alloc(n, false);
	if (!q)
		return NULL;
	uint8_t tmp[256];
	for (size_t o = 0; o < DC_MIN(old, n); o += sizeof(tmp)) {
		size_t k = DC_MIN(DC_MIN(old, n) - o, sizeof(tmp));
		dc_cpu_read(dc_sys_machine(s), (uint8_t *)p + o, tmp, k);
		dc_cpu_write(dc_sys_machine(s), (uint8_t *)q + o, tmp, k);
	}
	app_free(p);
	return q;
}

/* What `dmacoh-cc --app` renames the application's malloc family to. */
void *__dc_app_malloc(size_t n);
void *__dc_app_malloc(size_t n)
{
	return app_alloc(n, false);
}
void *__dc_app_calloc(size_t k, size_t n);
void *__dc_app_calloc(size_t k, size_t n)
{
	if (n && k > SIZE_MAX / n)
		return NULL;
	return app_alloc(k * n, true);
}
void *__dc_app_realloc(void *p, size_t n);
void *__dc_app_realloc(void *p, size_t n)
{
	return app_realloc(p, n);
}
void __dc_app_free(void *p);
void __dc_app_free(void *p)
{
	app_free(p);
}

HANDLE GetProcessHeap(void);
HANDLE GetProcessHeap(void)
{
	return (HANDLE)(uintptr_t)0x10;
}

void *HeapAlloc(HANDLE hHeap, uint32_t dwFlags, size_t dwBytes);
void *HeapAlloc(HANDLE hHeap, uint32_t dwFlags, size_t dwBytes)
{
	(void)hHeap;
	return app_alloc(dwBytes, (dwFlags & 0x8u) != 0);
}

void *HeapReAlloc(HANDLE hHeap, uint32_t dwFlags, void *lpMem, size_t dwBytes);
void *HeapReAlloc(HANDLE hHeap, uint32_t dwFlags, void *lpMem, size_t dwBytes)
{
	(void)hHeap, (void)dwFlags;
	return app_realloc(lpMem, dwBytes);
}

int HeapFree(HANDLE hHeap, uint32_t dwFlags, void *lpMem);
int HeapFree(HANDLE hHeap, uint32_t dwFlags, void *lpMem)
{
	(void)hHeap, (void)dwFlags;
	app_free(lpMem);
	return 1;
}

void *VirtualAlloc(void *lpAddress, size_t dwSize, uint32_t flAllocationType, uint32_t flProtect);
void *VirtualAlloc(void *lpAddress, size_t dwSize, uint32_t flAllocationType, uint32_t flProtect)
{
	(void)flProtect;
	if (lpAddress || !(flAllocationType & 0x1000u /* MEM_COMMIT */)) {
		SetLastError(87);
		return NULL;
	}
	return app_alloc(dwSize, true); /* page-aligned, zeroed */
}

int VirtualFree(void *lpAddress, size_t dwSize, uint32_t dwFreeType);
int VirtualFree(void *lpAddress, size_t dwSize, uint32_t dwFreeType)
{
	(void)dwSize;
	if (!(dwFreeType & 0x8000u /* MEM_RELEASE */)) {
		SetLastError(87);
		return 0;
	}
	app_free(lpAddress);
	return 1;
}

void *LocalAlloc(uint32_t uFlags, size_t uBytes);
void *LocalAlloc(uint32_t uFlags, size_t uBytes)
{
	return app_alloc(uBytes, (uFlags & 0x40u) != 0);
}

void *LocalFree(void *hMem);
void *LocalFree(void *hMem)
{
	app_free(hMem);
	return NULL;
}
