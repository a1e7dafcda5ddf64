# Shared wire protocol and helpers, linked into every component (also the
# statically linked guest agent and the SPANK plugin, hence -fPIC everywhere).
COMMON_SRCS := common/err.c common/kv.c common/frame.c
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/%.o)
LIBCOMMON := $(B)/libvjcommon.a

$(LIBCOMMON): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

all: $(LIBCOMMON)
