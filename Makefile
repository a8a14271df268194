# dmacoh — see README.md.  Knobs:
#   CC=gcc|clang          compiler (both must build everything)
#   SANITIZER=address,undefined   build and test under sanitizers (a separate build dir)
#   WERROR=1              warnings are errors (CI sets it)
#   BUILD=dir             build directory (default: build/<cc>[-san])
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
SANITIZER ?=
CCNAME := $(notdir $(firstword $(CC)))
BUILD ?= build/$(CCNAME)$(if $(SANITIZER),-san)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -Iinclude -Isrc -I. -fno-strict-aliasing
# GCC on x86-64 zeroes a fixed-size block of ~100 bytes or more (every `struct dc_kev`
# initialiser: each kernel event) with `rep stos`, about 16 ns a time on the hosts measured,
# where a call to the C library's memset costs 2.5 ns (what clang emits).  Where the compiler
# knows the option, such blocks go to the library.
STRINGOP := $(shell $(CC) -mstringop-strategy=libcall -E -x c /dev/null >/dev/null 2>&1 && \
	echo -mstringop-strategy=libcall)
CFLAGS_COMMON += $(STRINGOP)
SANFLAGS := $(if $(SANITIZER),-fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CFLAGS := $(CFLAGS_COMMON) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS)
LIBS := -linih -ljson-c -ldw -lelf -lm -ldl
# Executables that load driver modules export the whole kernel surface to them.
LINK_LIB = -rdynamic -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive

# Driver code is compiled as dmacoh-cc compiles it: TSan's instrumentation without its
# runtime (dmacoh defines the hooks), never with ASan (the two do not mix).
INSTR_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 $(WARN) -Iinclude -fsanitize=thread -fno-omit-frame-pointer
REDEFINE := --redefine-sym memcpy=__dc_memcpy --redefine-sym memmove=__dc_memmove \
	--redefine-sym memset=__dc_memset --redefine-sym exit=__dc_exit \
	--redefine-sym _exit=__dc__exit --redefine-sym _Exit=__dc__Exit \
	--redefine-sym quick_exit=__dc_quick_exit --redefine-sym abort=__dc_abort

LIB_SRC := $(sort $(wildcard src/hw/*.c devices/*.c src/kernel/*.c src/check/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libdmacoh.a

TEST_SRC := $(sort $(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_INSTR_SRC := $(sort $(wildcard tests/instrumented/*.c))
TEST_INSTR_OBJ := $(TEST_INSTR_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(BUILD)/tests/dmacoh-tests

TOOLS := $(BUILD)/dmacoh

.PHONY: all lib tools test demo format check-format clean crosscheck bench fuzz
all: lib tools $(TEST_BIN)
lib: $(LIB)
tools: $(TOOLS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/instrumented/%.o: tests/instrumented/%.c
	@mkdir -p $(dir $@)
	$(CC) $(INSTR_CFLAGS) -MMD -MP -c $< -o $@.tmp.o
	objcopy $(REDEFINE) $@.tmp.o $@
	@rm -f $@.tmp.o

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

TOOL_SRC := $(sort $(wildcard tools/dmacoh.c tools/cmd_*.c tools/demo_*.c tools/session.c \
	tools/supervise.c))
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/dmacoh: $(TOOL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(LINK_LIB) $(LIBS)

# torture's verdict (tools/torture_verdict.c) is unit-tested: tests/test_torture_verdict.c.
TEST_TOOL_OBJ := $(BUILD)/tools/torture_verdict.o $(BUILD)/tools/torture_gen.o
$(TEST_BIN): $(TEST_OBJ) $(TEST_INSTR_OBJ) $(TEST_TOOL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(TEST_INSTR_OBJ) $(TEST_TOOL_OBJ) $(LINK_LIB) $(LIBS)

# One shard per core (tests/shards.sh); DMACOH_TEST_JOBS=1 runs them in one process.
test: $(TEST_BIN) $(TOOLS)
	DMACOH_BIN=$(BUILD)/dmacoh DMACOH_DRIVER_DIR=$(BUILD)/drivers sh tests/shards.sh $(TEST_BIN)

demo: $(TOOLS) drivers
	$(BUILD)/dmacoh demo
	@sh examples/tutorial/demo.sh $(BUILD)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
check-format:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(TEST_INSTR_OBJ:.o=.d) $(TOOL_OBJ:.o=.d)
# drivers.mk first: it defines DMACOH_CC, which the others' prerequisites expand when read.
include mk/drivers.mk
include $(filter-out mk/drivers.mk,$(sort $(wildcard mk/*.mk)))
