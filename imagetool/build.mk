# vmjob-image: site root filesystems (directory, tarball, OCI layout) as
# vmjob images, with the guest kit (images/kit.sh) put in. Host program;
# hashes with hvd's SHA-256 helper (hvd/base/sha256.c, libcrypto).
IMAGETOOL_SRCS := $(call lib_srcs,imagetool/*.c,imagetool/main.c)
$(eval $(call archive,imagetool,$(IMAGETOOL_SRCS) hvd/base/sha256.c))
IMAGETOOL_PKGS := libarchive jansson libcrypto
CFLAGS_imagetool := -Ihvd $(shell pkg-config --cflags $(IMAGETOOL_PKGS) 2>/dev/null)
IMAGETOOL_LIBS := $(shell pkg-config --libs $(IMAGETOOL_PKGS) 2>/dev/null || echo -larchive -ljansson -lcrypto)
UNIT_LINK_imagetool := $(B)/san/lib/libimagetool.a $(B)/san/lib/libvjcommon.a $(IMAGETOOL_LIBS)
VMJOB_IMAGE := $(B)/imagetool/vmjob-image

$(VMJOB_IMAGE): $(B)/imagetool/main.o $(B)/lib/libimagetool.a $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(IMAGETOOL_LIBS)

all: $(VMJOB_IMAGE)
programs: $(VMJOB_IMAGE)

.PHONY: install-imagetool
install: install-imagetool
install-imagetool: $(VMJOB_IMAGE)
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(VMJOB_IMAGE) $(DESTDIR)$(SBINDIR)/vmjob-image
