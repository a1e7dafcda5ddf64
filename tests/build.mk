# Tests: C unit tests (built with ASan/UBSan: the parsers they cover face
# hostile input), the end-to-end suite on the local cluster, and benchmarks.
TEST_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_TESTS := $(B)/tests/test_kv $(B)/tests/test_frame

$(B)/tests/test_%: tests/unit/test_%.c $(COMMON_SRCS) tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(TEST_SAN) -Itests/unit -o $@ $< $(COMMON_SRCS)

.PHONY: unit-tests check demo cluster-up
unit-tests: $(UNIT_TESTS)
all: $(UNIT_TESTS)

# Both entry points install their own Debian packages first (they must work
# on a fresh machine), then build with a recursive make so the headers exist.
cluster-up:
	tests/cluster/install-deps.sh
	$(MAKE) all images
	$(MAKE) install
	tests/cluster/up.sh

check: cluster-up
	tests/run.sh

demo: cluster-up
	tests/demo.sh

# Fuzzers (libFuzzer, clang). `make fuzz` runs each for FUZZ_SECONDS (a
# bounded run is part of make check); `make fuzz FUZZ_SECONDS=3600` for long runs.
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS += $(B)/fuzz/fuzz_wire

$(B)/fuzz/fuzz_wire: tests/fuzz/fuzz_wire.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Icommon $(FUZZ_FLAGS) -o $@ $^

.PHONY: fuzzers fuzz
fuzzers: $(FUZZERS)
fuzz: $(FUZZERS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)
