/* A device extension smaller than the structure the driver keeps in it (IoCreateDevice was given
 * sizeof one structure, the code uses a larger one): the store past the extension is M01, as
 * for any pool allocation, because the I/O manager allocates extensions from pool. */
#include "mem_skel.h"

typedef struct _MEM_EXT_V2 {
	PDEVICE_OBJECT Lower;
	ULONG Counters[4]; /* added later; IoCreateDevice still says sizeof(MEM_EXT) */
} MEM_EXT_V2;

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	MEM_EXT_V2 *ext = (MEM_EXT_V2 *)Pdo->AttachedDevice->DeviceExtension;
	ext->Counters[0] = 1; /* EXPECT: M01 */
}
