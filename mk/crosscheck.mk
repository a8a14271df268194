# make crosscheck: dmacoh's cache model against cachegrind on the same address streams and
# geometries (tests/crosscheck/xc_check.c says what is compared).  Needs valgrind.
XC_DIR := $(BUILD)/tests/crosscheck
XC_STREAM := $(XC_DIR)/xc_stream
XC_CHECK := $(XC_DIR)/xc_check
XC_LIB_OBJ := $(XC_DIR)/xc_lib.o

# The stream program runs under valgrind, so never with the sanitizers, and with fixed flags
# so that its loops stay the ones xc_stream.c was checked for (a stack protector's canary
# would add references).
$(XC_STREAM): tests/crosscheck/xc_stream.c tests/crosscheck/xc_stream.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -fno-stack-protector -o $@ $<

$(XC_CHECK): $(XC_DIR)/xc_check.o $(XC_LIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(XC_DIR)/xc_check.o $(XC_LIB_OBJ) $(LIB) $(LIBS)

crosscheck: $(XC_STREAM) $(XC_CHECK)
	@rm -rf $(XC_DIR)/work && mkdir -p $(XC_DIR)/work
	$(XC_CHECK) $(XC_STREAM) tests/crosscheck/xc_stream.c $(XC_DIR)/work

-include $(XC_DIR)/xc_check.d $(XC_DIR)/xc_lib.d
