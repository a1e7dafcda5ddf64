# hvd (the hypervisor daemon) and hvctl (its admin CLI).
HVD_SRCS := hvd/main.c hvd/config.c hvd/log.c hvd/server.c hvd/vmtable.c hvd/vmlife.c \
	hvd/catalogue.c hvd/fetch.c hvd/sha256.c hvd/imgcache.c hvd/disk.c hvd/spawn.c \
	hvd/fsutil.c hvd/domain.c hvd/agentconn.c hvd/relay.c hvd/probe.c
# image cache: who uses which file, and the IMAGES/PULL/EVICT requests
HVD_SRCS += hvd/imguse.c hvd/req_images.c
# crash-safe state, admission and density knobs, admin requests
HVD_SRCS += hvd/admit.c hvd/drain.c hvd/cpuset.c hvd/meta.c hvd/domquery.c hvd/adopt.c \
	hvd/jobcheck.c hvd/reaper.c hvd/req_admin.c hvd/reqparse.c hvd/agentmsg.c
# per-job scratch volumes: file or LVM backend
HVD_SRCS += hvd/scratch.c hvd/scratch_file.c hvd/scratch_lvm.c
# munge: every request's credential is checked (auth.c)
HVD_SRCS += hvd/auth.c
# The filesystem gateway's per-VM servers (fsgateway/ vmfs-server).
HVD_SRCS += hvd/fsexport.c hvd/qemuuser.c
# request replies, shared by every handler
HVD_SRCS += hvd/reply.c
HVD_OBJS := $(HVD_SRCS:%.c=$(B)/%.o)
HVD_LIBS := $(shell pkg-config --libs libvirt libcurl libcrypto 2>/dev/null || echo -lvirt -lcurl -lcrypto) -lpthread
# libslurm: the reaper asks slurmctld whether a VM's job still lives.
HVD_LIBS += -lslurm -lmunge
HVCTL_SRCS := hvd/hvctl.c
# the image verbs: images, pull, evict
HVCTL_SRCS += hvd/hvctl_images.c
HVCTL_SRCS += hvd/hvctl_admin.c
HVCTL_OBJS := $(HVCTL_SRCS:%.c=$(B)/%.o)
# The plugin's hvd client: the one place clients make munge credentials.
HVCTL_OBJS += $(B)/spank-plugin/hvdclient.o

EXTRA_CFLAGS_hvd/ := $(shell pkg-config --cflags libvirt libcurl libcrypto 2>/dev/null) -pthread -Ispank-plugin

$(B)/hvd/hvd: $(HVD_OBJS) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $(HVD_OBJS) $(LIBCOMMON) $(HVD_LIBS)

$(B)/hvd/hvctl: $(HVCTL_OBJS) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $(HVCTL_OBJS) $(LIBCOMMON) $(HVDCLIENT_LIBS)

all: $(B)/hvd/hvd $(B)/hvd/hvctl

.PHONY: install-hvd
install: install-hvd
install-hvd: $(B)/hvd/hvd $(B)/hvd/hvctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/vmjob
	install -m 0755 $(B)/hvd/hvd $(DESTDIR)$(SBINDIR)/hvd
	install -m 0755 $(B)/hvd/hvctl $(DESTDIR)$(BINDIR)/hvctl
	@# The site's configuration is never overwritten.
	test -e $(DESTDIR)$(SYSCONFDIR)/vmjob/hvd.conf || \
		install -m 0644 etc/hvd.conf $(DESTDIR)$(SYSCONFDIR)/vmjob/hvd.conf

# Unit tests of the input-facing parts, with sanitizers (own objects, not $(B)/hvd/*.o).
HVD_TEST_SRCS := hvd/test_hvd.c hvd/catalogue.c hvd/fetch.c hvd/sha256.c hvd/domain.c hvd/log.c hvd/cpuset.c \
	hvd/qemuuser.c
HVD_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(B)/hvd/test_hvd: $(HVD_TEST_SRCS) $(COMMON_SRCS) $(wildcard hvd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_hvd/) $(HVD_SAN) -o $@ $(HVD_TEST_SRCS) $(COMMON_SRCS) $(HVD_LIBS)

# The qcow2 header reader and users list of the image cache (imguse.c).
$(B)/tests/test_imguse: hvd/test_imguse.c hvd/imguse.c hvd/sha256.c $(COMMON_SRCS) tests/unit/check.h hvd/imguse.h
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_hvd/) $(HVD_SAN) -Itests/unit -o $@ hvd/test_imguse.c hvd/imguse.c hvd/sha256.c $(COMMON_SRCS) $(HVD_LIBS)
all: $(B)/tests/test_imguse

.PHONY: check-hvd
check-hvd: $(B)/hvd/test_hvd
	$(B)/hvd/test_hvd
check: check-hvd

# 100 real create/destroy cycles of hvd under valgrind (about 10 minutes with
# TCG guests): no definitely-lost bytes, no fd growth. make check runs 5
# (tests/hvd/90-valgrind.sh).
VALGRIND_CYCLES ?= 100
.PHONY: valgrind-hvd
valgrind-hvd: $(B)/hvd/hvd $(B)/hvd/hvctl
	tests/hvd/valgrind-cycles.sh $(VALGRIND_CYCLES)

# The scratch backends' test driver (tests/hvd/10-lvm-scratch.sh runs it on
# the host and inside an LVM test guest). Static: the guest needs no
# libraries for it, only for the LVM tools it runs.
SCRATCH_DRIVER_SRCS := tests/hvd/scratch_driver.c hvd/scratch.c hvd/scratch_file.c \
	hvd/scratch_lvm.c hvd/spawn.c hvd/fsutil.c hvd/log.c hvd/config.c
$(B)/lvmtest/scratch-driver: $(SCRATCH_DRIVER_SRCS) $(COMMON_SRCS) $(wildcard hvd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) -Ihvd -static -o $@ $(SCRATCH_DRIVER_SRCS) $(COMMON_SRCS)
all: $(B)/lvmtest/scratch-driver

# Fuzzers of hvd's hostile-input parsers (run by `make fuzz`, tests/build.mk):
# requests from local users, frames from guest agents, domain metadata.
FUZZ_HVD_LIBS := $(shell pkg-config --libs libcurl libcrypto 2>/dev/null || echo -lcurl -lcrypto)
FUZZERS += $(B)/fuzz/fuzz_hvd_req $(B)/fuzz/fuzz_hvd_agent $(B)/fuzz/fuzz_hvd_meta
$(B)/fuzz/fuzz_hvd_req: tests/fuzz/fuzz_hvd_req.c hvd/reqparse.c hvd/cpuset.c hvd/catalogue.c \
		hvd/fetch.c hvd/sha256.c hvd/log.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Icommon -Ihvd $(FUZZ_FLAGS) -o $@ $^ $(FUZZ_HVD_LIBS)
$(B)/fuzz/fuzz_hvd_agent: tests/fuzz/fuzz_hvd_agent.c hvd/agentmsg.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Icommon -Ihvd $(FUZZ_FLAGS) -o $@ $^
$(B)/fuzz/fuzz_hvd_meta: tests/fuzz/fuzz_hvd_meta.c hvd/meta.c hvd/catalogue.c hvd/fetch.c \
		hvd/sha256.c hvd/log.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Icommon -Ihvd $(FUZZ_FLAGS) -o $@ $^ $(FUZZ_HVD_LIBS)

# Unit tests of the crash-safety and density parts (no VM needed), sanitized;
# tests/run.sh runs every build/tests/test_*.
HVD_STATE_TEST_SRCS := hvd/test_hvd_state.c hvd/cpuset.c hvd/meta.c hvd/domain.c hvd/reqparse.c \
	hvd/agentmsg.c hvd/config.c hvd/catalogue.c hvd/fetch.c hvd/sha256.c hvd/log.c
$(B)/tests/test_hvd_state: $(HVD_STATE_TEST_SRCS) $(COMMON_SRCS) $(wildcard hvd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_hvd/) $(HVD_SAN) -Ihvd -o $@ $(HVD_STATE_TEST_SRCS) $(COMMON_SRCS) $(HVD_LIBS)
all: $(B)/tests/test_hvd_state
