/* <ntddk.h> of dmacoh's WDK include tree: everything of <wdm.h> (the routines NT4-style and
 * PnP drivers share live there in dmacoh) plus the ntddk-only declarations dmacoh provides.
 * Not provided: ntddk routines dmacoh's kernel does not implement (dmacoh-cc reports any a
 * driver uses). */
#ifndef DMACOH_WDK_NTDDK_H
#define DMACOH_WDK_NTDDK_H

#include <wdm.h>

#endif
