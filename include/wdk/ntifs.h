/* <ntifs.h> of dmacoh's WDK include tree: the subset device drivers use (<ntddk.h> and the
 * file-information classes of IRP_MJ_QUERY_INFORMATION that disk-like drivers answer).  Not
 * provided: the file-system driver interfaces (FsRtl*, Cc*, oplocks). */
#ifndef DMACOH_WDK_NTIFS_H
#define DMACOH_WDK_NTIFS_H

#include <ntddk.h>

#endif
