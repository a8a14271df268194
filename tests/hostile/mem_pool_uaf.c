/* A store into pool after ExFreePoolWithTag: M02. */
#include "mem_skel.h"

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	UNREFERENCED_PARAMETER(Pdo);
	volatile UCHAR *p = ExAllocatePoolWithTag(NonPagedPool, 64, 'mHmM');
	if (!p)
		return;
	p[0] = 1;
	ExFreePoolWithTag((PVOID)p, 'mHmM');
	p[16] = 2; /* EXPECT: M02 */
}
