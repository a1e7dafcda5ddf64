# hvd (the hypervisor daemon). Its rooms (hvd/*/, each with a README) make one
# archive; hvd/main.c is the program. A room includes its own headers by
# name and another room's as "room/name.h" (-Ihvd).
HVD_ROOMS := base server vm libvirt agent images scratch gateway net policy slurm
HVD_SRCS := $(foreach r,$(HVD_ROOMS),$(call lib_srcs,hvd/$(r)/*.c))
LIBHVD := $(B)/lib/libhvd.a
$(eval $(call archive,hvd,$(HVD_SRCS)))

HVD_PKGS := libvirt libcurl libcrypto inih libxml-2.0
CFLAGS_hvd := -Ihvd $(shell pkg-config --cflags $(HVD_PKGS) 2>/dev/null) -pthread
HVD_LIBS := $(shell pkg-config --libs $(HVD_PKGS) 2>/dev/null || echo -lvirt -lcurl -lcrypto -linih -lxml2) -lpthread
# libslurm: the reaper asks slurmctld whether a VM's job still lives.
HVD_LIBS += -lslurm -lmunge
UNIT_LINK_hvd := $(B)/san/lib/libhvd.a $(B)/san/lib/libvjcommon.a $(HVD_LIBS)

$(B)/hvd/hvd: $(B)/hvd/main.o $(LIBHVD) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(HVD_LIBS)

# vmrelay (hvd/relay/): one per VM, holds its agent channel and running
# commands across hvd restarts. Its own program, not a room of hvd's archive;
# it takes the pieces it shares with hvd (agent messages, paths, logging)
# from that archive.
RELAY_SRCS := $(call lib_srcs,hvd/relay/*.c)
$(B)/hvd/vmrelay: $(RELAY_SRCS:%.c=$(B)/%.o) $(LIBHVD) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^

all: $(B)/hvd/hvd $(B)/hvd/vmrelay
programs: $(B)/hvd/hvd $(B)/hvd/vmrelay

.PHONY: install-hvd
install: install-hvd
install-hvd: $(B)/hvd/hvd $(B)/hvd/vmrelay
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/vmjob $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(B)/hvd/hvd $(DESTDIR)$(SBINDIR)/hvd
	install -m 0755 $(B)/hvd/vmrelay $(DESTDIR)$(LIBEXECDIR)/vmrelay
	@# The site's configuration is never overwritten.
	test -e $(DESTDIR)$(SYSCONFDIR)/vmjob/hvd.conf || \
		install -m 0644 etc/hvd.conf $(DESTDIR)$(SYSCONFDIR)/vmjob/hvd.conf

# 100 real create/destroy cycles of hvd under valgrind (about 10 minutes with
# TCG guests): no definitely-lost bytes, no fd growth. make check runs 5
# (tests/hvd/90-valgrind.sh).
VALGRIND_CYCLES ?= 100
.PHONY: valgrind-hvd
valgrind-hvd: $(B)/hvd/hvd $(B)/hvctl/hvctl
	tests/hvd/valgrind-cycles.sh $(VALGRIND_CYCLES)

# The scratch backends' test driver (tests/hvd/10-lvm-scratch.sh runs it on
# the host and inside an LVM test guest). Static: the guest needs no
# libraries for it, only for the LVM tools it runs.
$(B)/lvmtest/scratch-driver: $(B)/tests/hvd/scratch_driver.o $(LIBHVD) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) -static -o $@ $^ -linih
all: $(B)/lvmtest/scratch-driver
