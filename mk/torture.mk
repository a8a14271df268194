# dmacoh torture (docs/torture.md): the campaign's own sources beside cmd_torture.c, and
# `make torture`, a long campaign of random runs of every driver module.
#   TORTURE_SECONDS  host seconds (default 1800)   TORTURE_SEED  campaign seed (default: time)
#   TORTURE_JOBS     runs at once (default nproc)  TORTURE_ARGS  more options (--shard i/N ...)
TORTURE_SRC := $(sort $(wildcard tools/torture_*.c))
TORTURE_OBJ := $(TORTURE_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ += $(TORTURE_OBJ)
$(BUILD)/dmacoh: $(TORTURE_OBJ)
-include $(TORTURE_OBJ:.o=.d)

TORTURE_SECONDS ?= 1800
TORTURE_SEED ?= $(shell date +%s)
TORTURE_JOBS ?= $(shell nproc)
TORTURE_DIR ?= $(BUILD)/torture

.PHONY: torture
torture: $(TOOLS) drivers
	@mkdir -p $(TORTURE_DIR)
	$(BUILD)/dmacoh torture --seconds $(TORTURE_SECONDS) --seed $(TORTURE_SEED) \
		--jobs $(TORTURE_JOBS) --dir $(TORTURE_DIR) --json $(TORTURE_DIR)/result.json \
		$(TORTURE_ARGS)

# CI's bounded campaign: a fixed seed and a fixed number of runs, so every CI machine makes the
# same runs whatever its speed (a few minutes on 2 cores).
TORTURE_CI_RUNS ?= 300
.PHONY: torture-ci
torture-ci: $(TOOLS) drivers
	@mkdir -p $(BUILD)/torture-ci
	$(BUILD)/dmacoh torture --runs $(TORTURE_CI_RUNS) --seed 1 --jobs $(TORTURE_JOBS) \
		--dir $(BUILD)/torture-ci --json $(BUILD)/torture-ci/result.json
