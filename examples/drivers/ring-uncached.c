/* ring-uncached.c -- the ring driver (ring.c) with its common buffer allocated uncached
 * (AllocateCommonBuffer(..., CacheEnabled=FALSE)): every CPU access to the rings and packet
 * buffers is a memory access, so none of the G2 KeFlushIoBuffers calls is needed.  The source is
 * ring.c; only RING_CACHED differs. */
#define RING_CACHED 0
#include "ring.c"
