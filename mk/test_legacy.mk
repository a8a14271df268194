# The legacy-hosting tests' extra driver modules (tests/test_drv_legacy.c): tests/legacy/*.c
# built by dmacoh-cc into $(BUILD)/legacy-test/.  Named to sort after drivers.mk, which sets
# $(DMACOH_CC).
LEGACY_TEST_DIR := $(BUILD)/legacy-test
LEGACY_TEST_MODULES := $(patsubst tests/legacy/%.c,$(LEGACY_TEST_DIR)/%.so,$(wildcard tests/legacy/*.c))

$(LEGACY_TEST_DIR)/%.so: tests/legacy/%.c $(DMACOH_CC) $(wildcard include/dmacoh/*.h include/wdk/*.h)
	@mkdir -p $(LEGACY_TEST_DIR)
	$(DMACOH_CC) $(DRV_FLAGS) -o $@ $<

.PHONY: legacy-test-modules
legacy-test-modules: $(LEGACY_TEST_MODULES)
test: legacy-test-modules
all: legacy-test-modules
