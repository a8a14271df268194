# Example drivers (examples/drivers/NAME.c) built as a user builds theirs: with dmacoh-cc into
# modules $(BUILD)/drivers/NAME.so.  Each DMACOH_BUG_<RULE> a source mentions gives a buggy
# twin NAME-bug-<RULE>.so built from the same source with that one mistake switched on.
DMACOH_CC := $(BUILD)/dmacoh-cc
DRV_DIR := $(BUILD)/drivers
DRV_SRC := $(sort $(wildcard examples/drivers/*.c))
DRV_FLAGS := $(WARN) -Werror

$(DMACOH_CC): tools/dmacoh-cc.in
	@mkdir -p $(dir $@)
	sed -e 's|@CC@|$(CC)|' -e 's|@INCLUDE@|$(abspath include)|' $< > $@.tmp
	chmod +x $@.tmp
	mv $@.tmp $@

drv_name = $(basename $(notdir $(1)))
drv_bugs = $(sort $(patsubst DMACOH_BUG_%,%,$(shell grep -o 'DMACOH_BUG_[ACV][0-9][0-9]' $(1))))

define drv_rules
$(DRV_DIR)/$(call drv_name,$(1)).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h)
	@mkdir -p $(DRV_DIR)
	$(DMACOH_CC) $(DRV_FLAGS) -o $$@ $(1)
DRIVERS += $(DRV_DIR)/$(call drv_name,$(1)).so
$(foreach b,$(call drv_bugs,$(1)),$(call drv_bug_rule,$(1),$(b)))
endef

define drv_bug_rule
$(DRV_DIR)/$(call drv_name,$(1))-bug-$(2).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h)
	@mkdir -p $(DRV_DIR)
	$(DMACOH_CC) $(DRV_FLAGS) -DDMACOH_BUG_$(2) '-DDMACOH_BUG="$(2)"' -o $$@ $(1)
DRIVERS += $(DRV_DIR)/$(call drv_name,$(1))-bug-$(2).so

endef

DRIVERS :=
$(foreach s,$(DRV_SRC),$(eval $(call drv_rules,$(s))))

.PHONY: drivers
drivers: $(DRIVERS) $(DMACOH_CC)
all: drivers
test: drivers
