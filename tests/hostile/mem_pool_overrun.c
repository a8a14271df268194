/* A loop that writes one element past a 25-element pool array: M01 at the loop's store. */
#include "mem_skel.h"

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	UNREFERENCED_PARAMETER(Pdo);
	ULONG *v = ExAllocatePoolWithTag(NonPagedPool, 25 * sizeof(ULONG), 'mHmM');
	if (!v)
		return;
	for (int i = 0; i <= 25; i++)
		v[i] = (ULONG)i; /* EXPECT: M01 */
	ExFreePoolWithTag(v, 'mHmM');
}
