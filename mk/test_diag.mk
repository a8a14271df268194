# The diagnostics tests' driver modules (tests/test_diag.c): tests/hostile/diag_hostile.c built
# by dmacoh-cc once per case (-DDIAG_<CASE>) into $(BUILD)/diag/diag_<case>.so.  Named to sort
# after drivers.mk, which sets $(DMACOH_CC) (prerequisites expand as the file is read).
DIAG_DIR := $(BUILD)/diag
DIAG_CASES := fail hang print start crash failall
DIAG_MODULES := $(DIAG_CASES:%=$(DIAG_DIR)/diag_%.so)

$(DIAG_DIR)/diag_%.so: tests/hostile/diag_hostile.c tests/hostile/hostile.h $(DMACOH_CC) \
		$(wildcard include/dmacoh/*.h)
	@mkdir -p $(DIAG_DIR)
	$(DMACOH_CC) $(DRV_FLAGS) -DDIAG_$(shell echo $* | tr a-z A-Z) -o $@ $<

.PHONY: diag-modules
diag-modules: $(DIAG_MODULES)
test: diag-modules
all: diag-modules
