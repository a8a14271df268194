# The mem_* hostile drivers (tests/hostile/mem_*.c, memory safety: M01-M03 and wild stores),
# built with dmacoh-cc as a user builds a driver, into $(BUILD)/hostile-mem/ for
# tests/test_memsafe.c.  (tests/hostile/ as a whole is run by its own harness.)
MEM_HOSTILE_SRC := $(sort $(wildcard tests/hostile/mem_*.c))
MEM_HOSTILE := $(patsubst tests/hostile/%.c,$(BUILD)/hostile-mem/%.so,$(MEM_HOSTILE_SRC))

$(BUILD)/hostile-mem/%.so: tests/hostile/%.c tests/hostile/mem_skel.h $(DMACOH_CC) \
		$(wildcard include/dmacoh/*.h)
	@mkdir -p $(dir $@)
	$(DMACOH_CC) $(WARN) -Werror -o $@ $<

.PHONY: mem-hostile
mem-hostile: $(MEM_HOSTILE)
all: mem-hostile
test: mem-hostile
