# Every example driver and twin built by the *other* compiler too ($(BUILD)/drivers-OTHER),
# through the same dmacoh-cc (--cc=OTHER): the test xcc_* runs both builds of each module on
# the same workload and requires the same report (a finding names a source line, whichever
# compiler built the driver).  CI has both compilers, so `make test` builds them either way.
XCC_OTHER := $(if $(findstring clang,$(CCNAME)),gcc,clang)
XCC_DIR := $(BUILD)/drivers-$(XCC_OTHER)

define xcc_rules
$(XCC_DIR)/$(call drv_name,$(1)).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h)
	@mkdir -p $(XCC_DIR)
	$(DMACOH_CC) --cc=$(XCC_OTHER) $(call drv_flags,$(1)) -o $$@ $(1)
XCC_DRIVERS += $(XCC_DIR)/$(call drv_name,$(1)).so
$(foreach b,$(call drv_bugs,$(1)),$(call xcc_bug_rule,$(1),$(b)))
endef

define xcc_bug_rule
$(XCC_DIR)/$(call drv_name,$(1))-bug-$(2).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h)
	@mkdir -p $(XCC_DIR)
	$(DMACOH_CC) --cc=$(XCC_OTHER) $(call drv_flags,$(1)) -DDMACOH_BUG_$(2) '-DDMACOH_BUG="$(2)"' -o $$@ $(1)
XCC_DRIVERS += $(XCC_DIR)/$(call drv_name,$(1))-bug-$(2).so

endef

XCC_DRIVERS :=
$(foreach s,$(DRV_SRC),$(eval $(call xcc_rules,$(s))))

.PHONY: xcc-drivers
xcc-drivers: $(XCC_DRIVERS)
test: xcc-drivers
