# Guest image: the in-guest agent (vmagent, static: the guest has no glibc),
# the image recipe (images/build.sh) and the host-side agent test client.
AGENT_SRCS := $(wildcard images/agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(B)/%.o)
VMAGENT := $(B)/images/agent/vmagent
AGENT_HELLO := $(B)/tests/agent-hello
IMAGES_OUT := $(B)/images
IMAGE_FILES := $(IMAGES_OUT)/catalogue.conf

$(VMAGENT): $(AGENT_OBJS) $(LIBCOMMON)
	$(CC) -static $(VJ_LDFLAGS) -o $@ $(AGENT_OBJS) $(LIBCOMMON)

$(AGENT_HELLO): $(B)/tests/tools/agent-hello.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_LDFLAGS) -o $@ $< $(LIBCOMMON)

all: $(VMAGENT) $(AGENT_HELLO)

# build.sh is incremental itself (download cache, rebuilds only what changed);
# make reruns it whenever the agent, the recipe or the guest files change.
$(IMAGES_OUT)/catalogue.conf: $(VMAGENT) images/build.sh $(shell find images/rootfs images/initrd -type f)
	images/build.sh $(VMAGENT) $(IMAGES_OUT)

images: $(IMAGES_OUT)/catalogue.conf $(AGENT_HELLO)
