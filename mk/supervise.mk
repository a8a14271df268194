# The supervised run's test modules: tests/hostile/sup_hostile.c built by dmacoh-cc once per
# misbehaviour (-DSUP_<CASE>) into $(BUILD)/sup/sup_<case>.so, and once by the plain compiler
# (no instrumentation, no marker) to check that `dmacoh run` refuses such a module.
SUP_DIR := $(BUILD)/sup
SUP_CASES := crash_entry crash_ctor crash_libc exit_entry entry_fail loop_entry loop_entry_mem \
	loop_dispatch loop_dispatch_mem abort_dispatch bugcheck_dispatch hang_irp start_fail helper_dpc slow_dispatch close_fds
SUP_MODULES := $(SUP_CASES:%=$(SUP_DIR)/sup_%.so) $(SUP_DIR)/sup_plain.so

sup_defs = $(if $(findstring _mem,$(1)),-DSUP_LOOP_MEM -DSUP_$(shell echo $(subst _mem,,$(1)) | tr a-z A-Z),-DSUP_$(shell echo $(1) | tr a-z A-Z))

$(SUP_DIR)/sup_%.so: tests/hostile/sup_hostile.c $(DMACOH_CC) $(wildcard include/dmacoh/*.h)
	@mkdir -p $(SUP_DIR)
	$(DMACOH_CC) -Wno-unreachable-code $(call sup_defs,$*) -o $@ $<

$(SUP_DIR)/sup_plain.so: tests/hostile/sup_hostile.c $(wildcard include/dmacoh/*.h)
	@mkdir -p $(SUP_DIR)
	$(CC) -std=c11 -g -O2 -fPIC -shared -Iinclude -o $@ $<

.PHONY: sup-modules
sup-modules: $(SUP_MODULES)
test: sup-modules
all: sup-modules
