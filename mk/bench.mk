# make bench: builds the benchmarks and regenerates bench/RESULTS.md (bench/run.sh writes the
# machine description, bench/bench.c the figures).  Uses valgrind for the cachegrind figures.
BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/dmacoh-bench
# mk/crosscheck.mk's outputs, named here because it is read after this file.
BENCH_XC_LIB := $(BUILD)/tests/crosscheck/xc_lib.o
BENCH_XC_STREAM := $(BUILD)/tests/crosscheck/xc_stream

# bench/drv_loop.c twice: as driver code exactly like tests/instrumented/, and its plain twin
# with the same flags minus the instrumentation, so the hooks are the only difference.
$(BENCH_DIR)/drv_loop-instr.o: bench/drv_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(INSTR_CFLAGS) -DDRV_SUFFIX=_instr -c $< -o $@.tmp.o
	objcopy $(REDEFINE) $@.tmp.o $@
	@rm -f $@.tmp.o

$(BENCH_DIR)/drv_loop-plain.o: bench/drv_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize=thread,$(INSTR_CFLAGS)) -DDRV_SUFFIX=_plain -c $< -o $@

# The peers (bench/peer.c): the same loops built with a real sanitizer and linked with its
# runtime, beside the plain twin, one binary per sanitizer; dmacoh-bench runs them from its own
# directory.  Their own flags, never $(SANFLAGS): a runtime per binary.
PEER_CFLAGS := $(filter-out -fsanitize=thread,$(INSTR_CFLAGS))
BENCH_PEER_TSAN := $(BENCH_DIR)/dmacoh-bench-peer-tsan
BENCH_PEER_ASAN := $(BENCH_DIR)/dmacoh-bench-peer-asan
$(BENCH_DIR)/drv_loop-tsan.o: bench/drv_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(PEER_CFLAGS) -fsanitize=thread -DDRV_SUFFIX=_san -c $< -o $@

$(BENCH_DIR)/drv_loop-asan.o: bench/drv_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(PEER_CFLAGS) -fsanitize=address -DDRV_SUFFIX=_san -c $< -o $@

$(BENCH_DIR)/peer-main.o: bench/peer.c bench/loops.h bench/stats.h
	@mkdir -p $(dir $@)
	$(CC) $(PEER_CFLAGS) -c $< -o $@

$(BENCH_PEER_TSAN): $(BENCH_DIR)/peer-main.o $(BENCH_DIR)/drv_loop-plain.o $(BENCH_DIR)/drv_loop-tsan.o
	$(CC) -fsanitize=thread -o $@ $^ -lm

$(BENCH_PEER_ASAN): $(BENCH_DIR)/peer-main.o $(BENCH_DIR)/drv_loop-plain.o $(BENCH_DIR)/drv_loop-asan.o
	$(CC) -fsanitize=address -o $@ $^ -lm

# bench.o comes from the Makefile's generic rule.
BENCH_OBJ := $(BENCH_DIR)/bench.o $(BENCH_DIR)/drv_loop-instr.o $(BENCH_DIR)/drv_loop-plain.o \
	$(BENCH_XC_LIB)

$(BENCH_BIN): $(BENCH_OBJ) $(LIB) $(BENCH_PEER_TSAN) $(BENCH_PEER_ASAN)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJ) $(LIB) $(LIBS)

# The instrumented-access section alone, with the peers (a quick run, printed): make bench-instr
.PHONY: bench-instr
bench-instr: $(BENCH_BIN) $(BENCH_XC_STREAM)
	@mkdir -p $(BENCH_DIR)/work
	$(BENCH_BIN) $(BENCH_XC_STREAM) tests/crosscheck/xc_stream.c $(BENCH_DIR)/work instr

# DMA throughput (bench/dma.c): its own binary; run.sh splices its section into RESULTS.md.
BENCH_DMA_BIN := $(BENCH_DIR)/dmacoh-bench-dma
$(BENCH_DMA_BIN): $(BENCH_DIR)/dma.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_DIR)/dma.o $(LIB) $(LIBS)

# DMA version 3 (bench/dma_v3.c): through the kernel layer's v3 routines; run.sh appends its
# section.
BENCH_DMA_V3_BIN := $(BENCH_DIR)/dmacoh-bench-dma-v3
$(BENCH_DMA_V3_BIN): $(BENCH_DIR)/dma_v3.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_DIR)/dma_v3.o $(LIB) $(LIBS)

# Scale (bench/scale.c): IRPs through a driver module, so the binary exports the kernel surface
# to it as the dmacoh tool does; the module is examples/drivers/sglist.c built by dmacoh-cc
# (mk/drivers.mk's rule).
BENCH_SCALE_BIN := $(BENCH_DIR)/dmacoh-bench-scale
BENCH_SCALE_DRV := $(BUILD)/drivers/sglist.so
$(BENCH_SCALE_BIN): $(BENCH_DIR)/scale.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_DIR)/scale.o $(LINK_LIB) $(LIBS)

# The demo row (bench/run.sh times `make demo`'s two commands) needs what `make demo` needs.
bench: $(BENCH_BIN) $(BENCH_DMA_BIN) $(BENCH_SCALE_BIN) $(BENCH_SCALE_DRV) $(BENCH_XC_STREAM) \
	$(BENCH_DMA_V3_BIN) $(TOOLS) drivers tutorial
	@rm -rf $(BENCH_DIR)/work && mkdir -p $(BENCH_DIR)/work
	bench/run.sh "$(CC)" $(BENCH_BIN) $(BENCH_XC_STREAM) tests/crosscheck/xc_stream.c \
		$(BENCH_DIR)/work $(BENCH_DMA_BIN) $(BENCH_SCALE_BIN) $(BENCH_SCALE_DRV) \
		> $(BENCH_DIR)/RESULTS.md
	$(BENCH_DMA_V3_BIN) >> $(BENCH_DIR)/RESULTS.md
	cp $(BENCH_DIR)/RESULTS.md bench/RESULTS.md

# Every benchmark binary built and nothing run: CI builds them (WERROR=1) so that a change of an
# interface they use cannot leave `make bench` broken until the next measurement.
.PHONY: bench-build
bench-build: $(BENCH_BIN) $(BENCH_DMA_BIN) $(BENCH_SCALE_BIN) $(BENCH_SCALE_DRV) $(BENCH_XC_STREAM) \
	$(BENCH_DMA_V3_BIN)

# The v3 rows alone (a quick run, printed): make bench-v3
.PHONY: bench-v3
bench-v3: $(BENCH_DMA_V3_BIN)
	$(BENCH_DMA_V3_BIN)

-include $(BENCH_DIR)/bench.d $(BENCH_DIR)/dma.d $(BENCH_DIR)/scale.d $(BENCH_DIR)/dma_v3.d
