# Example test applications (examples/apps/NAME.c) built as a user builds theirs: with
# `dmacoh-cc --app` into $(BUILD)/apps/NAME.so, run by `dmacoh run --driver D --app FILE`.
APP_DIR := $(BUILD)/apps
APP_SRC := $(sort $(wildcard examples/apps/*.c))
APPS := $(APP_SRC:examples/apps/%.c=$(APP_DIR)/%.so)

$(APP_DIR)/%.so: examples/apps/%.c $(BUILD)/dmacoh-cc $(wildcard include/dmacoh/app/*.h) \
		$(wildcard examples/drivers/*.h)
	@mkdir -p $(APP_DIR)
	$(BUILD)/dmacoh-cc --app $(WARN) -Werror -o $@ $<

.PHONY: apps
apps: $(APPS)
all: apps
test: apps
