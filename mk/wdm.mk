# check-wdm: every WDK-style driver in tests/wdm/ must compile (not link) against
# include/dmacoh/wdm.h with the project's warning flags, warnings as errors.
WDM_DRIVERS := $(sort $(wildcard tests/wdm/*.c))

.PHONY: check-wdm
check-wdm:
	@set -e; for f in $(WDM_DRIVERS); do \
		echo "  WDM     $$f"; \
		$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Werror -Iinclude -fsyntax-only $$f; \
	done

test: check-wdm
