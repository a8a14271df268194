# Example drivers (examples/drivers/NAME.c or NAME.cpp) built as a user builds theirs: with
# dmacoh-cc into modules $(BUILD)/drivers/NAME.so.  Each DMACOH_BUG_<RULE> a source mentions
# gives a buggy twin NAME-bug-<RULE>.so built from the same source with that one mistake on.
DMACOH_CC := $(BUILD)/dmacoh-cc
DMACOH_CXX := $(BUILD)/dmacoh-c++
# What the kernel provides, generated from the dmacoh binary (every routine any source file
# defines appears by itself): dmacoh-cc reports each import that is not in it.
DMACOH_EXPORTS := $(BUILD)/dmacoh-exports.txt
DRV_DIR := $(BUILD)/drivers
DRV_SRC := $(sort $(wildcard examples/drivers/*.c examples/drivers/*.cpp))
DRV_FLAGS := $(WARN) -Werror
# C++ sources: the C-only warnings removed.
drv_flags = $(if $(filter %.cpp,$(1)),$(filter-out -Wstrict-prototypes -Wmissing-prototypes,$(DRV_FLAGS)),$(DRV_FLAGS))

# Rewritten only when the list changes, so relinking dmacoh does not rebuild every module.
$(DMACOH_EXPORTS): $(BUILD)/dmacoh
	nm -D --defined-only $< | awk 'NF == 3 { print $$3 }' | sort -u > $@.tmp
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(DMACOH_CC): tools/dmacoh-cc.in $(DMACOH_EXPORTS)
	@mkdir -p $(dir $@)
	sed -e 's|@CC@|$(CC)|' -e 's|@INCLUDE@|$(abspath include)|' \
		-e 's|@EXPORTS@|$(abspath $(DMACOH_EXPORTS))|' $< > $@.tmp
	chmod +x $@.tmp
	mv $@.tmp $@

$(DMACOH_CXX): $(DMACOH_CC)
	cp $< $@

drv_name = $(basename $(notdir $(1)))
drv_bugs = $(sort $(patsubst DMACOH_BUG_%,%,$(shell grep -o 'DMACOH_BUG_[ACSV][0-9][0-9]' $(1))))

define drv_rules
$(DRV_DIR)/$(call drv_name,$(1)).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h include/wdk/*.h)
	@mkdir -p $(DRV_DIR)
	$(DMACOH_CC) $(call drv_flags,$(1)) -o $$@ $(1)
DRIVERS += $(DRV_DIR)/$(call drv_name,$(1)).so
$(foreach b,$(call drv_bugs,$(1)),$(call drv_bug_rule,$(1),$(b)))
endef

define drv_bug_rule
$(DRV_DIR)/$(call drv_name,$(1))-bug-$(2).so: $(1) $(DMACOH_CC) $(wildcard include/dmacoh/*.h include/wdk/*.h)
	@mkdir -p $(DRV_DIR)
	$(DMACOH_CC) $(call drv_flags,$(1)) -DDMACOH_BUG_$(2) '-DDMACOH_BUG="$(2)"' -o $$@ $(1)
DRIVERS += $(DRV_DIR)/$(call drv_name,$(1))-bug-$(2).so

endef

DRIVERS :=
$(foreach s,$(DRV_SRC),$(eval $(call drv_rules,$(s))))

.PHONY: drivers
drivers: $(DRIVERS) $(DMACOH_CC) $(DMACOH_CXX)
all: drivers
test: drivers

# Tests of the WDK include tree compile as dmacoh-cc compiles a driver: <wdm.h> from
# include/wdk, 16-bit wchar_t.
$(BUILD)/tests/test_wdk_layout.o: CFLAGS += -Iinclude/wdk -Itests -fshort-wchar
