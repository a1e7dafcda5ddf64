# Guest image: the in-guest agent (vmagent, static: the guest has no glibc),
# the image recipe (images/build.sh) and the host-side agent test client.
AGENT_SRCS := $(call lib_srcs,images/agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(B)/%.o)
VMAGENT := $(B)/images/agent/vmagent
IMAGES_OUT := $(B)/images
# Unit tests (images/agent/test_*.c) link the agent without its main.
$(eval $(call archive,vjagent,$(filter-out images/agent/main.c,$(AGENT_SRCS))))
UNIT_LINK_images := $(B)/san/lib/libvjagent.a $(B)/san/lib/libvjcommon.a

# Guest programs are always static and never sanitized (no sanitizer runtime
# in the guest), so they link their own unsanitized copies of the common and
# client objects: build/guest/<dir>/<file>.o.
CFLAGS_images := -fno-sanitize=all -Iclient
$(B)/guest/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) -fno-sanitize=all -MMD -MP -MF $@.dep -c $< -o $@
GUEST_COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/guest/%.o)

$(VMAGENT): $(AGENT_OBJS) $(GUEST_COMMON_OBJS)
	$(CC) -static -o $@ $^

# vmjob-hostcmd: srun, sbatch, ... inside the guest (images/hostcmd/), on
# client/'s exec relay.
VMJOB_HOSTCMD := $(B)/images/hostcmd/vmjob-hostcmd
$(VMJOB_HOSTCMD): $(B)/images/hostcmd/hostcmd.o $(B)/guest/client/exec.o $(B)/guest/client/tty.o \
		$(B)/guest/client/hostcmd.o \
		$(GUEST_COMMON_OBJS)
	$(CC) -static -o $@ $^

# vmjob-init: PID 1 of a fast-booted guest (images/init/init.c), static too.
VMJOB_INIT := $(B)/images/init/vmjob-init
$(VMJOB_INIT): $(B)/images/init/init.o
	$(CC) -static -o $@ $^

all: $(VMAGENT) $(VMJOB_INIT) $(VMJOB_HOSTCMD)

# The guest kit (images/kit.sh): what goes into every image, as one tarball
# for make images and vmjob-image (the vmjob-guest package of make deb has
# the same files, for images built with Debian's own tools).
GUEST_BINS := $(VMAGENT) $(FSGW_CLIENT) $(VMJOB_INIT) $(VMJOB_HOSTCMD)
GUEST_KIT := $(B)/images/guest-kit.tar
$(GUEST_KIT): $(GUEST_BINS) images/kit.sh images/guest/setup images/guest/dhcp-lease images/guest/vmjob-agent.service
	@mkdir -p $(dir $@)
	images/kit.sh tar $@ $(GUEST_BINS)
all: $(GUEST_KIT)
programs: $(GUEST_BINS) $(GUEST_KIT)

# images/build.sh is incremental itself (download cache; each artefact is
# rebuilt only when the hash of its inputs, the guest kit included, changes),
# so it runs on every `make images`: a deleted or stale output is always
# noticed, and a no-op run takes well under a second.
images: $(GUEST_KIT) $(B)/tests/agent-hello
	images/build.sh $(GUEST_KIT) $(IMAGES_OUT)

.PHONY: install-guest-kit
install: install-guest-kit
install-guest-kit: $(GUEST_KIT)
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 $(GUEST_KIT) $(DESTDIR)$(DATADIR)/guest-kit.tar
