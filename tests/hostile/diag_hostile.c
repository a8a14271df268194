/* diag_hostile.c -- drivers for the diagnostics tests (tests/test_diag.c, built by mk/test_diag.mk
 * once per case, -DDIAG_<CASE>, into $(BUILD)/diag/diag_<case>.so): the correct hostile base
 * (hostile.h) that prints with DbgPrint/DbgPrintEx and then fails or keeps one request.
 *   DIAG_FAIL   the 2nd read or write: DbgPrint why, then STATUS_INSUFFICIENT_RESOURCES
 *   DIAG_HANG   the 2nd read or write: DbgPrint, then pending forever
 *   DIAG_PRINT  every request succeeds; DbgPrintEx at every level, a line in two calls, a line
 *               longer than dmacoh keeps, 100 lines in DriverEntry (more than the ring holds)
 *   DIAG_START  IRP_MN_START_DEVICE fails after a DbgPrint
 *   DIAG_CRASH  the 2nd read or write: DbgPrint, then a store through NULL (X01)
 *   DIAG_FAILALL  every read or write: DbgPrint, then STATUS_DEVICE_DATA_ERROR
 * Not a hostile case of tests/test_hostile.c (no EXPECT marker). */
#include "hostile.h"

DMACOH_DRIVER("diag", "sysblk", "prints with DbgPrint, then fails or keeps a request");

#if defined(DIAG_FAIL) || defined(DIAG_HANG) || defined(DIAG_PRINT) || defined(DIAG_CRASH) || \
    defined(DIAG_FAILALL)
static ULONG Requests;

static NTSTATUS CaseIo(PHOSTILE_EXTENSION ext, PIRP irp)
{
	UNREFERENCED_PARAMETER(ext);
	PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
	Requests++;
	DbgPrint("diag: request %lu, major %u\n", Requests, (unsigned)stack->MajorFunction);
#ifdef DIAG_PRINT
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "diag: error level %lu\n", Requests);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL, "diag: warning level (filtered)\n");
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "diag: info level (filtered)\n");
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x3, "diag: mask with the error bit\n");
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_MASK | 0x8, "diag: mask without it (filtered)\n");
	KdPrint(("diag: first half, "));
	KdPrint(("second half\n"));
#endif
#ifdef DIAG_FAILALL
	DbgPrint("diag: request %lu: medium error\n", Requests);
	return STATUS_DEVICE_DATA_ERROR;
#endif
	if (Requests != 2)
		return STATUS_SUCCESS;
#ifdef DIAG_FAIL
	DbgPrint("diag: GetScatterGatherList: %lu map registers needed, %lu granted\n", 17UL, 16UL);
	return STATUS_INSUFFICIENT_RESOURCES;
#elif defined(DIAG_CRASH)
	DbgPrint("diag: about to use a NULL descriptor\n");
	*(volatile ULONG *)(ULONG_PTR)Requests = 1;
	return STATUS_SUCCESS;
#elif defined(DIAG_HANG)
	DbgPrint("diag: waiting for an interrupt that never comes\n");
	IoMarkIrpPending(irp);
	return STATUS_PENDING;
#else
	return STATUS_SUCCESS;
#endif
}
#endif

#ifdef DIAG_START
static NTSTATUS CaseStart(PHOSTILE_EXTENSION ext)
{
	UNREFERENCED_PARAMETER(ext);
	DbgPrint("diag: START_DEVICE: no interrupt resource\n");
	return STATUS_INSUFFICIENT_RESOURCES;
}
#endif

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNREFERENCED_PARAMETER(RegistryPath);
	HostileInit(DriverObject);
	KdPrint(("diag: DriverEntry\n"));
#ifdef DIAG_PRINT
	for (int i = 0; i < 100; i++)
		DbgPrint("diag: DriverEntry line %d\n", i);
	static char Long[400];
	for (int i = 0; i < 399; i++)
		Long[i] = (char)('a' + i % 26);
	DbgPrint("%s\n", Long);
#endif
#if defined(DIAG_FAIL) || defined(DIAG_HANG) || defined(DIAG_PRINT) || defined(DIAG_CRASH) || \
    defined(DIAG_FAILALL)
	Hostile.Io = CaseIo;
#endif
#ifdef DIAG_START
	Hostile.Start = CaseStart;
#endif
	return STATUS_SUCCESS;
}
