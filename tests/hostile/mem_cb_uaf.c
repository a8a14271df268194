/* A CPU read of a common buffer after FreeCommonBuffer: M02. */
#include "mem_skel.h"

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	PDMA_ADAPTER a = MemAdapter(Pdo);
	PHYSICAL_ADDRESS la;
	volatile ULONG *cb = a ? a->DmaOperations->AllocateCommonBuffer(a, 4096, &la, TRUE) : NULL;
	if (!cb)
		return;
	cb[0] = 1;
	a->DmaOperations->FreeCommonBuffer(a, 4096, la, (PVOID)cb, TRUE);
	if (cb[3] == 7) /* EXPECT: M02 */
		cb[4] = 0;
	a->DmaOperations->PutDmaAdapter(a);
}
