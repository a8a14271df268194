# The tutorial (docs/devices/writing-a-device.md): examples/tutorial's device model, driver (and
# its C07 twin) and test application, built as a user builds them, run by `make demo` after the
# main table through examples/tutorial/demo.sh.  tests/test_tutorial.c builds its own copies
# outside the tree.
TUT_DIR := $(BUILD)/tutorial
TUTORIAL := $(TUT_DIR)/echo.so $(TUT_DIR)/echo_drv.so $(TUT_DIR)/echo_drv-bug.so \
	$(TUT_DIR)/echo_app.so

$(TUT_DIR)/echo.so: examples/tutorial/echo_dev.c include/dmacoh/device.h $(DMACOH_CC)
	@mkdir -p $(TUT_DIR)
	$(DMACOH_CC) --device-model $(WARN) -Werror -o $@ $<
$(TUT_DIR)/echo_drv.so: examples/tutorial/echo_drv.c $(DMACOH_CC) $(LIB)
	@mkdir -p $(TUT_DIR)
	$(DMACOH_CC) $(WARN) -Werror -o $@ $<
$(TUT_DIR)/echo_drv-bug.so: examples/tutorial/echo_drv.c $(DMACOH_CC) $(LIB)
	@mkdir -p $(TUT_DIR)
	$(DMACOH_CC) $(WARN) -Werror -DDMACOH_BUG_C07 -o $@ $<
$(TUT_DIR)/echo_app.so: examples/tutorial/echo_app.c $(DMACOH_CC) $(wildcard include/dmacoh/app/*.h)
	@mkdir -p $(TUT_DIR)
	$(DMACOH_CC) --app $(WARN) -Werror -o $@ $<

.PHONY: tutorial
tutorial: $(TUTORIAL)
demo: tutorial
