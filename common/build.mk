# common/: the wire protocol and the basics every part links (the statically
# linked guest agent and the SPANK plugin too, hence -fPIC everywhere).
COMMON_SRCS := $(call lib_srcs,common/*.c)
LIBCOMMON := $(B)/lib/libvjcommon.a
$(eval $(call archive,vjcommon,$(COMMON_SRCS)))
UNIT_LINK_common := $(B)/san/lib/libvjcommon.a

all: $(LIBCOMMON)
