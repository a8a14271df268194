/* userdma_app.c -- a Windows test application for the userdma example driver, built with
 * `dmacoh-cc --app` and run with `dmacoh run --driver userdma --app userdma_app.so`: it uses
 * each transfer method (METHOD_BUFFERED, METHOD_IN_DIRECT, METHOD_OUT_DIRECT, METHOD_NEITHER),
 * ReadFile / WriteFile, overlapped I/O with events, GetOverlappedResult, a cancelled request
 * (CancelIoEx: the driver's cancel routine, ERROR_OPERATION_ABORTED) and a synchronous handle,
 * and checks every byte it reads back.  It compiles unchanged with the Windows SDK.
 *
 * Exit status: the number of checks that failed (0: all passed). */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>
#include <winioctl.h>

#include "../drivers/userdma_ioctl.h"

static int failures;

#define CHECK(cond, what)                                                                        \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			printf("userdma_app: FAILED: %s (line %d, error %lu)\n", what, __LINE__, \
			       (unsigned long)GetLastError());                                   \
			failures++;                                                              \
		}                                                                                \
	} while (0)

/* An overlapped DeviceIoControl waited for: the common way to call a driver synchronously on
 * an overlapped handle. */
static BOOL Ioctl(HANDLE h, DWORD code, void *in, DWORD inLen, void *out, DWORD outLen,
                  DWORD *bytes)
{
	OVERLAPPED ov;
	BOOL ok;

	ZeroMemory(&ov, sizeof(ov));
	ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
	ok = DeviceIoControl(h, code, in, inLen, out, outLen, bytes, &ov);
	if (!ok && GetLastError() == ERROR_IO_PENDING)
		ok = GetOverlappedResult(h, &ov, bytes, TRUE);
	CloseHandle(ov.hEvent);
	return ok;
}

static void Fill(unsigned char *p, DWORD n, unsigned seed)
{
	for (DWORD i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 9));
}

static int Same(const unsigned char *a, const unsigned char *b, DWORD n)
{
	for (DWORD i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static unsigned char globalBuffer[1024]; /* not heap memory: the I/O manager bounces it */

int main(int argc, char **argv)
{
	HANDLE h, hs;
	USERDMA_INFO info;
	USERDMA_REQUEST req;
	DWORD n = 0, len = 64 * 1024;
	unsigned char *wbuf, *rbuf;
	OVERLAPPED ovw, ovr, ovWait;
	HANDLE events[2];
	unsigned int reset = 0;
	unsigned long long count = 0;
	DWORD t0 = GetTickCount();

	(void)argc, (void)argv;
	h = CreateFileA(USERDMA_DOS_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
	                FILE_FLAG_OVERLAPPED, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		printf("userdma_app: cannot open %s: error %lu\n", USERDMA_DOS_NAME,
		       (unsigned long)GetLastError());
		return 100;
	}
	CHECK(CreateFileA("\\\\.\\NoSuchDevice", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) ==
	              INVALID_HANDLE_VALUE &&
	          GetLastError() == ERROR_FILE_NOT_FOUND,
	      "opening a device that does not exist fails with ERROR_FILE_NOT_FOUND");

	/* METHOD_BUFFERED. */
	CHECK(Ioctl(h, IOCTL_USERDMA_QUERY, NULL, 0, &info, sizeof(info), &n) &&
	          n == sizeof(info) && info.SectorSize == 512 && info.Capacity >= 1024 * 1024,
	      "IOCTL_USERDMA_QUERY (METHOD_BUFFERED)");

	/* METHOD_IN_DIRECT: DMA from this heap buffer to the disk. */
	wbuf = (unsigned char *)malloc(len);
	rbuf = (unsigned char *)VirtualAlloc(NULL, len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
	CHECK(wbuf != NULL && rbuf != NULL, "malloc and VirtualAlloc");
	if (!wbuf || !rbuf)
		return 100;
	Fill(wbuf, len, 1);
	req.Offset = 4096;
	CHECK(Ioctl(h, IOCTL_USERDMA_WRITE, &req, sizeof(req), wbuf, len, &n) && n == len,
	      "IOCTL_USERDMA_WRITE (METHOD_IN_DIRECT)");

	/* METHOD_OUT_DIRECT: DMA from the disk into this buffer. */
	FillMemory(rbuf, len, 0xA5);
	CHECK(Ioctl(h, IOCTL_USERDMA_READ, &req, sizeof(req), rbuf, len, &n) && n == len,
	      "IOCTL_USERDMA_READ (METHOD_OUT_DIRECT)");
	CHECK(Same(wbuf, rbuf, len), "the bytes read back are the bytes written");

	/* OUT_DIRECT into a global array (the I/O manager locks a bounce of it). */
	CHECK(Ioctl(h, IOCTL_USERDMA_READ, &req, sizeof(req), globalBuffer, sizeof(globalBuffer),
	            &n) &&
	          n == sizeof(globalBuffer) && Same(wbuf, globalBuffer, sizeof(globalBuffer)),
	      "IOCTL_USERDMA_READ into a global buffer");

	/* ReadFile and WriteFile, overlapped, both in flight at once. */
	ZeroMemory(&ovw, sizeof(ovw));
	ZeroMemory(&ovr, sizeof(ovr));
	ovw.Offset = 256 * 1024;
	ovr.Offset = 4096;
	ovw.hEvent = events[0] = CreateEventA(NULL, TRUE, FALSE, NULL);
	ovr.hEvent = events[1] = CreateEventA(NULL, TRUE, FALSE, NULL);
	Fill(wbuf, len, 2);
	if (!WriteFile(h, wbuf, len, NULL, &ovw))
		CHECK(GetLastError() == ERROR_IO_PENDING, "WriteFile overlapped pends");
	FillMemory(rbuf, len, 0xA5);
	if (!ReadFile(h, rbuf, len, NULL, &ovr))
		CHECK(GetLastError() == ERROR_IO_PENDING, "ReadFile overlapped pends");
	CHECK(WaitForMultipleObjects(2, events, TRUE, INFINITE) == WAIT_OBJECT_0,
	      "WaitForMultipleObjects(bWaitAll) on both requests");
	CHECK(HasOverlappedIoCompleted(&ovw) && HasOverlappedIoCompleted(&ovr),
	      "HasOverlappedIoCompleted");
	CHECK(GetOverlappedResult(h, &ovw, &n, FALSE) && n == len, "WriteFile's result");
	CHECK(GetOverlappedResult(h, &ovr, &n, FALSE) && n == len, "ReadFile's result");
	Fill(wbuf, len, 1);
	CHECK(Same(wbuf, rbuf, len), "ReadFile read what IOCTL_USERDMA_WRITE wrote");

	/* METHOD_NEITHER: the driver writes the raw user buffer. */
	CHECK(Ioctl(h, IOCTL_USERDMA_COUNT, &reset, sizeof(reset), &count, sizeof(count), &n) &&
	          n == sizeof(count) && count == 5,
	      "IOCTL_USERDMA_COUNT (METHOD_NEITHER) counts 5 transfers");

	/* A request that pends until it is cancelled. */
	ZeroMemory(&ovWait, sizeof(ovWait));
	ovWait.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
	CHECK(
	    !DeviceIoControl(h, IOCTL_USERDMA_WAIT, NULL, 0, &info, sizeof(info), NULL, &ovWait) &&
	        GetLastError() == ERROR_IO_PENDING,
	    "IOCTL_USERDMA_WAIT pends");
	CHECK(WaitForSingleObject(ovWait.hEvent, 5) == WAIT_TIMEOUT,
	      "nothing completes it within 5 ms");
	CHECK(!GetOverlappedResult(h, &ovWait, &n, FALSE) && GetLastError() == ERROR_IO_INCOMPLETE,
	      "GetOverlappedResult(bWait=FALSE) says ERROR_IO_INCOMPLETE");
	CHECK(CancelIoEx(h, &ovWait), "CancelIoEx finds the request");
	CHECK(!GetOverlappedResult(h, &ovWait, &n, TRUE) &&
	          GetLastError() == ERROR_OPERATION_ABORTED,
	      "the cancelled request ends with ERROR_OPERATION_ABORTED");
	CHECK(!CancelIoEx(h, &ovWait) && GetLastError() == ERROR_NOT_FOUND,
	      "CancelIoEx of a finished request: ERROR_NOT_FOUND");

	/* A wait that a transfer satisfies. */
	ResetEvent(ovWait.hEvent);
	CHECK(
	    !DeviceIoControl(h, IOCTL_USERDMA_WAIT, NULL, 0, &info, sizeof(info), NULL, &ovWait) &&
	        GetLastError() == ERROR_IO_PENDING,
	    "IOCTL_USERDMA_WAIT pends again");
	req.Offset = 512 * 1024;
	CHECK(Ioctl(h, IOCTL_USERDMA_WRITE, &req, sizeof(req), wbuf, 8192, &n) && n == 8192,
	      "a write while the wait pends");
	CHECK(GetOverlappedResult(h, &ovWait, &n, TRUE) && n == sizeof(info) && info.Transfers == 6,
	      "the write completed the wait");

	/* Errors map as Windows maps them. */
	CHECK(!Ioctl(h, CTL_CODE(FILE_DEVICE_UNKNOWN, 0x9FF, METHOD_BUFFERED, FILE_ANY_ACCESS),
	             NULL, 0, NULL, 0, &n) &&
	          GetLastError() == ERROR_INVALID_FUNCTION,
	      "an unknown control code: ERROR_INVALID_FUNCTION");
	req.Offset = 100; /* not a sector */
	CHECK(!Ioctl(h, IOCTL_USERDMA_READ, &req, sizeof(req), rbuf, 512, &n) &&
	          GetLastError() == ERROR_INVALID_PARAMETER,
	      "a misaligned offset: ERROR_INVALID_PARAMETER");

	/* A synchronous handle, by the device interface: the calls wait. */
	{
		static const GUID guid = USERDMA_INTERFACE_GUID;
		ULONG need = 0;
		char *list;
		CHECK(CM_Get_Device_Interface_List_SizeA(&need, (LPGUID)&guid, NULL,
		                                         CM_GET_DEVICE_INTERFACE_LIST_PRESENT) ==
		              CR_SUCCESS &&
		          need > 2,
		      "CM_Get_Device_Interface_List_Size finds the interface");
		list = (char *)malloc(need ? need : 1);
		CHECK(list && CM_Get_Device_Interface_ListA((LPGUID)&guid, NULL, list, need,
		                                            CM_GET_DEVICE_INTERFACE_LIST_PRESENT) ==
		                  CR_SUCCESS,
		      "CM_Get_Device_Interface_List");
		hs = list ? CreateFileA(list, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL)
		          : INVALID_HANDLE_VALUE;
		free(list);
	}
	CHECK(hs != INVALID_HANDLE_VALUE, "CreateFileA opens the interface's path, synchronous");
	CHECK(CreateFileW(L"\\\\.\\UserDma", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) !=
	          INVALID_HANDLE_VALUE,
	      "CreateFileW opens the link (the handle is closed at the end)");
	if (hs != INVALID_HANDLE_VALUE) {
		FillMemory(rbuf, 4096, 0);
		CHECK(ReadFile(hs, rbuf, 4096, &n, NULL) && n == 4096, "synchronous ReadFile");
		CHECK(DeviceIoControl(hs, IOCTL_USERDMA_QUERY, NULL, 0, &info, sizeof(info), &n,
		                      NULL) &&
		          info.Transfers == 7,
		      "synchronous DeviceIoControl");
		CHECK(CloseHandle(hs), "CloseHandle");
	}
	CHECK(!CloseHandle(hs), "a closed handle is invalid");

	Sleep(20);
	CHECK(GetTickCount() - t0 >= 20, "Sleep(20) lets 20 ms of simulated time pass");

	CloseHandle(events[0]);
	CloseHandle(events[1]);
	CloseHandle(ovWait.hEvent);
	CloseHandle(h);
	free(wbuf);
	VirtualFree(rbuf, 0, MEM_RELEASE);
	printf("userdma_app: %d check%s failed\n", failures, failures == 1 ? "" : "s");
	return failures;
}
