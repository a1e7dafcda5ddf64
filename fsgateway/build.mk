# fsgateway: vmfs-server (host, libfuse3 low-level over the VM's
# virtio-serial channel) and vmfs-client (guest, static: the guest has no
# glibc), plus the fuzz target for the host-side validator.
FSGW_SRCS := $(call lib_srcs,fsgateway/*.c,fsgateway/server_main.c)
$(eval $(call archive,fsgw,$(FSGW_SRCS)))
FSGW_CLIENT_SRCS := $(wildcard fsgateway/client/*.c)
FSGW_SERVER := $(B)/fsgateway/vmfs-server
FSGW_CLIENT := $(B)/fsgateway/vmfs-client
FUSE3_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null || echo -I/usr/include/fuse3)
FUSE3_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)
CFLAGS_fsgateway := -Ifsgateway $(FUSE3_CFLAGS)
UNIT_LINK_fsgateway := $(B)/san/lib/libfsgw.a $(B)/san/lib/libvjcommon.a $(FUSE3_LIBS) -lpthread

$(FSGW_SERVER): $(B)/fsgateway/server_main.o $(B)/lib/libfsgw.a $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) -o $@ $^ $(FUSE3_LIBS) -lpthread

$(FSGW_CLIENT): $(FSGW_CLIENT_SRCS:%.c=$(B)/%.o) $(LIBCOMMON)
	$(CC) -static -pthread $(VJ_LDFLAGS) -o $@ $^

all: $(FSGW_SERVER) $(FSGW_CLIENT)
programs: $(FSGW_SERVER) $(FSGW_CLIENT)


$(FSGW_FUZZER): tests/fuzz/fuzz_fsgw.c fsgateway/validate.c fsgateway/channel_io.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Icommon -Ifsgateway $(FUSE3_CFLAGS) $(FUZZ_FLAGS) -o $@ $^

# Test helper run inside the guest and on the host (static for busybox).
FSGW_FSCHECK := $(B)/tests/fsgateway/fscheck
$(FSGW_FSCHECK): tests/fsgateway/fscheck.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 $(WARN) -o $@ $<
all: $(FSGW_FSCHECK)
FSGW_HOSTILE := $(B)/tests/fsgateway/hostile
$(FSGW_HOSTILE): tests/fsgateway/hostile.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(WARN) -o $@ $<
all: $(FSGW_HOSTILE)

# vmfs-server runs on the host (started by hvd); vmfs-client is installed
# beside it for the image build to copy into guests.
.PHONY: install-fsgateway
install: install-fsgateway
install-fsgateway: $(FSGW_SERVER) $(FSGW_CLIENT)
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(FSGW_SERVER) $(DESTDIR)$(LIBEXECDIR)/vmfs-server
	install -m 0755 $(FSGW_CLIENT) $(DESTDIR)$(LIBEXECDIR)/vmfs-client

# Benchmark tool run inside the benchmark guest (tests/fsgateway/bench.sh,
# docs/fsgateway-bench.md); static for busybox. `make fsbench` runs it.
FSBENCH_TOOL := $(B)/fsbench/fsbench
$(FSBENCH_TOOL): tests/fsgateway/fsbench.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 $(WARN) -o $@ $<
.PHONY: fsbench
fsbench: $(FSBENCH_TOOL) $(FSGW_SERVER) $(FSGW_CLIENT)
	tests/fsgateway/bench.sh
