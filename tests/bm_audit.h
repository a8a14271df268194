/* The kernel-event audit the bus-master driver tests share (tests/test_drv_busmaster.c,
 * test_drv_sglist.c, test_drv_ring.c). */
#ifndef DC_TESTS_BM_AUDIT_H
#define DC_TESTS_BM_AUDIT_H

#include "dctest.h"
#include "kflow.h"

/* --- What the driver did wrong, as far as the kernel's events show --------------------------
 * A stand-in for the sanitizer's API rules until it lands, so that a correct driver is held to
 * none (and a twin of an API rule is seen to break one): IRQL violations, bad accesses,
 * crashes; a MapTransfer refused; a flush that names no open MapTransfer or differs from it;
 * map registers freed with a mismatched count or a transfer still mapped; a list put back
 * twice; the adapter put with registers, lists, transfers or common buffers outstanding; a
 * device access outside what is mapped; Information non-zero with a failure, or above the
 * length. */
#define AUDIT_OPEN 80

struct audit {
	unsigned problems;
	char first[256];
	struct {
		const void *mrb, *mdl, *va;
		uint64_t len;
		enum dc_dir dir;
		bool used;
	} open[AUDIT_OPEN];
	int commons, lists, mrbs;
};

void audit_problem(struct audit *a, const struct dc_kev *e, const char *what);

int audit_open_count(const struct audit *a, const void *mrb);

void audit_kev(struct audit *a, const struct dc_kev *e);

#define AUDIT_CHECK(a, label)                                                                     \
	CHECK_MSG((a).problems == 0, "%s: %u API problems, the first: %s", (label), (a).problems, \
	          (a).first)

#endif
