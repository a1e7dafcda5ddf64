# Tests. Unit tests live beside the code they test as test_<what>.c, use
# tests/unit/check.h, and are found by the build: each links the sanitized
# archive of its component (UNIT_LINK_<component>, in that component's
# build.mk). tests/README.md says where every other kind of test goes.
UNIT_SRCS := $(shell find common client hvd hvctl spank-plugin fsgateway images imagetool -name 'test_*.c' 2>/dev/null | sort)
UNIT_TESTS := $(UNIT_SRCS:%.c=$(B)/unit/%)
CFLAGS_tests := -Ihvd

# (A % in a pattern rule's prerequisites would be the stem: filter in a function.)
unit_archives = $(filter %.a,$(UNIT_LINK_$(call comp,$(1))))
.SECONDEXPANSION:
$(B)/unit/%: $(B)/san/%.o $$(call unit_archives,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SAN) -o $@ $< $(UNIT_LINK_$(call comp,$*))
# check.h is the one assertion helper of every unit test.
$(UNIT_SRCS:%.c=$(B)/san/%.o): CFLAGS += -Itests/unit

all: $(UNIT_TESTS)

# Fuzzers (libFuzzer, clang): tests/fuzz/fuzz_<name>.c, seeds in
# tests/fuzz/corpus/<name>/. Each line names the sources a fuzzer exercises.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -DVJ_VERSION='"$(VERSION)"' -Icommon -Ihvd -Ifsgateway -Iimagetool $(FUSE3_CFLAGS) \
	$(shell pkg-config --cflags libxml-2.0 2>/dev/null)
FUZZ_LIBS := $(shell pkg-config --libs libcurl libcrypto libxml-2.0 inih jansson 2>/dev/null || echo -lcurl -lcrypto -lxml2 -linih -ljansson)
FUZZ_SRCS_wire := $(COMMON_SRCS)
FUZZ_SRCS_hvd_req := hvd/server/reqparse.c hvd/base/vmdesc.c hvd/base/cpuset.c hvd/images/catalogue.c hvd/base/ini.c \
	hvd/images/fetch.c hvd/base/sha256.c hvd/base/log.c $(COMMON_SRCS)
FUZZ_SRCS_hvd_agent := hvd/agent/agentmsg.c $(COMMON_SRCS)
FUZZ_SRCS_hvd_catalogue := hvd/images/catalogue.c hvd/base/ini.c hvd/images/fetch.c \
	hvd/base/sha256.c hvd/base/log.c $(COMMON_SRCS)
FUZZ_SRCS_hvd_meta := hvd/libvirt/meta.c hvd/libvirt/xml.c hvd/base/vmdesc.c hvd/base/cpuset.c \
	hvd/base/sha256.c hvd/base/log.c $(COMMON_SRCS)
FUZZ_SRCS_fsgw := fsgateway/validate.c fsgateway/channel_io.c
FUZZ_SRCS_vhost := fsgateway/virtq.c fsgateway/vhost_user.c common/err.c
FUZZ_SRCS_oci := imagetool/oci.c imagetool/mkimage.c imagetool/tree.c hvd/base/sha256.c common/err.c
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZERS := $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(FUZZ_LIBS)

# `make fuzz` runs each fuzzer for FUZZ_SECONDS; `make fuzz FUZZ_SECONDS=3600`
# for long runs. make test runs each for TEST_FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
TEST_FUZZ_SECONDS ?= 5
.PHONY: fuzzers fuzz
fuzzers: $(FUZZERS)
fuzz: $(FUZZERS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# The fast inner loop: every unit test, the documents and command lines held
# to the code (tests/docs/check.sh) and a short fuzz pass, as an ordinary
# user, no root, no cluster.
test: $(UNIT_TESTS) $(FUZZERS) programs
	tests/unit/run.sh $(UNIT_TESTS)
	tests/docs/check.sh
	tests/fuzz/run.sh $(TEST_FUZZ_SECONDS) $(FUZZERS)

# The host-side agent test client (images/test-boot.sh, the benchmarks).
AGENT_HELLO := $(B)/tests/agent-hello
$(AGENT_HELLO): $(B)/tests/tools/agent-hello.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_LDFLAGS) -o $@ $^
all: $(AGENT_HELLO)

# The accounting benchmark's fixed CPU work (tests/bench/accounting.sh):
# static, to run the same binary on the host and in a guest.
BURN := $(B)/tests/burn
$(BURN): tests/tools/burn.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -pthread -o $@ $<
all: $(BURN)

# Both entry points install their own Debian packages first (they must work
# on a fresh machine), then build with a recursive make so the headers exist.
# make check runs make test (with longer fuzzing) before it brings up the
# cluster: a unit test that fails stops it within minutes.
.PHONY: check demo deps cluster-up
deps:
	tests/cluster/install-deps.sh
cluster-up: deps
	$(MAKE) all images
	$(MAKE) install
	tests/cluster/up.sh

check: deps
	$(MAKE) test TEST_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	$(MAKE) cluster-up
	tests/run.sh
CHECK_FUZZ_SECONDS ?= 20

demo: cluster-up
	tests/demo.sh
