# Guest image: the in-guest agent (vmagent, static: the guest has no glibc),
# the image recipe (images/build.sh) and the host-side agent test client.
AGENT_SRCS := $(wildcard images/agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(B)/%.o)
VMAGENT := $(B)/images/agent/vmagent
IMAGES_OUT := $(B)/images

# The agent is always static and never sanitized (no sanitizer runtime in the
# guest), so it links its own unsanitized copy of the common objects.
CFLAGS_images := -fno-sanitize=all
AGENT_COMMON_OBJS := $(COMMON_SRCS:common/%.c=$(B)/images/agent/common/%.o)
$(B)/images/agent/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) -fno-sanitize=all -MMD -MP -MF $@.dep -c $< -o $@

$(VMAGENT): $(AGENT_OBJS) $(AGENT_COMMON_OBJS)
	$(CC) -static -o $@ $(AGENT_OBJS) $(AGENT_COMMON_OBJS)

# vmjob-init: PID 1 of a fast-booted guest (images/init/init.c), static too.
VMJOB_INIT := $(B)/images/init/vmjob-init
$(VMJOB_INIT): $(B)/images/init/init.o
	$(CC) -static -o $@ $^

all: $(VMAGENT) $(VMJOB_INIT)

# images/build.sh is incremental itself (download cache; each artefact is
# rebuilt only when the hash of its inputs, the agent binary included, changes),
# so it runs on every `make images`: a deleted or stale output is always
# noticed, and a no-op run takes well under a second.
images: $(VMAGENT) $(FSGW_CLIENT) $(VMJOB_INIT) $(B)/tests/agent-hello
	images/build.sh $(VMAGENT) $(FSGW_CLIENT) $(VMJOB_INIT) $(IMAGES_OUT)
