/* <wdm.h> of dmacoh's drop-in WDK include tree (dmacoh-cc puts include/wdk on the include
 * path): `#include <wdm.h>` gives a driver dmacoh's WDM surface (<dmacoh/wdm.h>: Microsoft's
 * names, values and x64 layouts), the whole SAL annotation set as empty macros, and what
 * <dc_wdk.h> adds for sources written against the real WDK: wide-string C routines on
 * 16-bit WCHAR, more Rtl string routines, structured-exception emulation (__try/__except/
 * __finally/__leave, ProbeForRead/ProbeForWrite, ExRaiseStatus) and C++ pool new/delete.
 * Written from the WDK documentation; no Microsoft header is copied.  Not provided: the parts
 * of the real wdm.h that no dmacoh kernel routine implements (dmacoh-cc names each routine a
 * driver uses that dmacoh lacks). */
#ifndef DMACOH_WDK_WDM_H
#define DMACOH_WDK_WDM_H

#include <dmacoh/wdm.h>
#include <dmacoh/sal.h>
#include <dc_wdk.h>

#endif
