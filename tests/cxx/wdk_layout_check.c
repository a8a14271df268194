/* The x64 WDK layout table (tests/wdk_layout.h) as static assertions over dmacoh's headers:
 * test_wdk_cxx compiles this one file as C11 and as C++17 with gcc, clang, g++ and clang++
 * (-fshort-wchar, as dmacoh-cc does), so a layout that differs between the languages or
 * compilers — an alignment spelled differently for C++ — fails to build. */
#include <wdm.h>
#include <ntddk.h>
#include <ntifs.h>
#include <ntstrsafe.h>
#include <ntintsafe.h>
#include <ntdddisk.h>
#include <ntddstor.h>
#include <mountdev.h>
#include <mountmgr.h>
#include <ntddser.h>
#include <dmacoh/check.h>
#include <dmacoh/driver.h>
#include <dmacoh/observer.h>
#include <dmacoh/platform.h>

#include "../wdk_layout.h"

#ifdef __cplusplus
#define DC_SA(e, m) static_assert(e, m)
#else
#define DC_SA(e, m) _Static_assert(e, m)
#endif

#define DC_CHECK_OFF(t, m, v) DC_SA(offsetof(t, m) == (v), "offset of " #t "." #m);
#define DC_CHECK_SIZE(t, v) DC_SA(sizeof(t) == (v), "size of " #t);
#define DC_CHECK_VALUE(n, v) DC_SA((unsigned long long)(ULONG)(n) == (unsigned long long)(v), #n);

DC_WDK_OFFSETS(DC_CHECK_OFF)
DC_WDK_SIZES(DC_CHECK_SIZE)
DC_WDK_VALUES(DC_CHECK_VALUE)

/* C++ drivers see the same wide-character type as the kernel's 16-bit WCHAR. */
DC_SA(sizeof(L"ab") == 3 * sizeof(WCHAR), "L\"\" is 16-bit");

int dc_wdk_layout_checked(void);
int dc_wdk_layout_checked(void)
{
	return 1;
}
