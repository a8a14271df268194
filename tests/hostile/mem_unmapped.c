/* A store 4 GiB past a pool block, into a page of the kernel address space that maps nothing:
 * M03 (before: skipped silently). */
#include "mem_skel.h"

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	UNREFERENCED_PARAMETER(Pdo);
	volatile UCHAR *p = ExAllocatePoolWithTag(NonPagedPool, 64, 'mHmM');
	if (!p)
		return;
	p[(ULONG_PTR)1 << 32] = 3; /* EXPECT: M03 */
	ExFreePoolWithTag((PVOID)p, 'mHmM');
}
