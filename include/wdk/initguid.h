/* <initguid.h> of dmacoh's WDK include tree: a translation unit that includes it before the
 * GUID headers (<wdmguid.h>, <devguid.h>, a driver's own) defines, rather than declares, each
 * DEFINE_GUID after it, as with the WDK.  C++: the definition has C linkage and is not the
 * internal-linkage const it would be by default. */
#include <wdm.h>

#undef DEFINE_GUID
#ifndef INITGUID
#define INITGUID
#endif
#ifdef __cplusplus
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
	extern "C" const GUID name = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
	const GUID name = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#endif
