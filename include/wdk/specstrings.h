/* <specstrings.h> of dmacoh's WDK include tree: the SAL annotations, empty (<dmacoh/sal.h>). */
#include <dmacoh/sal.h>
