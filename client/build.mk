# client/: the one client of hvd's protocol (connect, munge credential,
# request and reply, an exec stream's relay), linked by vmjob.so, vmexec and
# hvctl. A munge credential on every request (libmunge) over a SHA-256 of
# the request (libcrypto).
CLIENT_SRCS := $(call lib_srcs,client/*.c)
LIBCLIENT := $(B)/lib/libvjclient.a
CLIENT_LIBS := -lmunge $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
$(eval $(call archive,vjclient,$(CLIENT_SRCS)))
UNIT_LINK_client := $(B)/san/lib/libvjclient.a $(B)/san/lib/libvjcommon.a $(CLIENT_LIBS)

all: $(LIBCLIENT)
