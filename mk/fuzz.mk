# Fuzzing with libFuzzer (clang only): `make fuzz FUZZ_SECONDS=60` builds every harness
# fuzz/fuzz_<name>.c and runs each for FUZZ_SECONDS.  New inputs go to build/fuzz/corpus/<name>;
# the seed corpus fuzz/corpus/<name> (in git) is only read.  A crash leaves its input in
# build/fuzz/ and fails the target.  A harness names the library sources it needs in
# FUZZ_SRC_<name>, so a half-built library elsewhere in the tree does not stop it.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))

FUZZ_SRC_profile := src/hw/platform.c src/hw/parse.c src/hw/common.c
FUZZ_LIBS_profile := -linih -lm
FUZZ_ARGS_profile := -dict=$(CURDIR)/fuzz/profile.dict -max_len=4096

FUZZ_SRC_regfile := src/kernel/regfile.c src/kernel/registry.c
FUZZ_ARGS_regfile := -dict=$(CURDIR)/fuzz/regfile.dict -max_len=4096

define FUZZ_template
$(FUZZ_BUILD)/fuzz_$(1): fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1))
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $$< $(FUZZ_SRC_$(1)) -o $$@ $(FUZZ_LIBS_$(1))

.PHONY: fuzz-$(1)
fuzz-$(1): $(FUZZ_BUILD)/fuzz_$(1)
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1)
	cd $(FUZZ_BUILD) && ./fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_ARGS_$(1)) \
		corpus/$(1) $(CURDIR)/fuzz/corpus/$(1)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_template,$(n))))

fuzz: $(FUZZ_NAMES:%=fuzz-%)
