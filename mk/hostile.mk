# Hostile drivers (tests/hostile/NAME.c, docs/hostile.md): one misbehaviour each, built with
# dmacoh-cc as a user builds a driver into $(BUILD)/hostile/NAME.so; tests/test_hostile.c runs
# every module it finds there.  tests/hostile/hostile.h is their shared correct base (the
# mem_* cases, memory safety, have their own: mem_skel.h).
HOSTILE_DIR := $(BUILD)/hostile
# Only sources with an EXPECT marker: others there (sup_hostile.c) are built by their own rules.
HOSTILE_SRC := $(sort $(shell grep -l '/\* EXPECT: ' tests/hostile/*.c 2>/dev/null))
HOSTILE := $(patsubst tests/hostile/%.c,$(HOSTILE_DIR)/%.so,$(HOSTILE_SRC))

$(HOSTILE_DIR)/%.so: tests/hostile/%.c $(wildcard tests/hostile/*.h) $(DMACOH_CC) \
		$(wildcard include/dmacoh/*.h)
	@mkdir -p $(HOSTILE_DIR)
	$(DMACOH_CC) $(DRV_FLAGS) -o $@ $<

.PHONY: hostile
hostile: $(HOSTILE)
all: hostile
test: hostile
