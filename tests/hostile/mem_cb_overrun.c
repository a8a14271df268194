/* A CPU store 8 KiB past the end of a 100-byte cached common buffer: M01 (before redzones: no
 * finding at all). */
#include "mem_skel.h"

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	PDMA_ADAPTER a = MemAdapter(Pdo);
	PHYSICAL_ADDRESS la;
	volatile UCHAR *cb = a ? a->DmaOperations->AllocateCommonBuffer(a, 100, &la, TRUE) : NULL;
	if (!cb)
		return;
	cb[100 + 8192] = 0x5a; /* EXPECT: M01 */
	a->DmaOperations->FreeCommonBuffer(a, 100, la, (PVOID)cb, TRUE);
	a->DmaOperations->PutDmaAdapter(a);
}
