# vmjob: one entry point for build, install, demo and tests.
#   make            build everything (warning-free, -Wall -Wextra -Werror)
#   make test       unit tests + a short fuzz pass: no root, no cluster (the inner loop)
#   make images     build the guest images
#   make install    install (honours PREFIX, DESTDIR, SYSCONFDIR)
#   make deb        the Debian packages (debian/), in build/deb
#   make demo       install deps, build, bring up the local cluster, run a VM job
#   make check      make test, then every test on the local cluster
# Each component keeps its rules in its own fragment (*/build.mk); outputs go
# to build/. A source's component is the first element of its path (hvd,
# client, fsgateway, ...): CFLAGS_<component> are its compile flags.

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
LOCALSTATEDIR ?= /var
RUNSTATEDIR ?= /run
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/libexec/vmjob
SPANKDIR    ?= $(PREFIX)/lib/slurm
DATADIR     ?= $(PREFIX)/share/vmjob
DESTDIR     ?=

# The release every program reports with --version and the packages carry.
VERSION     := 0.1.0

B := build
CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
SANITIZE ?=
VJ_CFLAGS := -std=gnu11 $(WARN) -fPIC -D_GNU_SOURCE -Icommon $(SANITIZE) \
	-DVJ_SYSCONFDIR='"$(SYSCONFDIR)"' -DVJ_LOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
	-DVJ_RUNSTATEDIR='"$(RUNSTATEDIR)"' -DVJ_LIBEXECDIR='"$(LIBEXECDIR)"' \
	-DVJ_DATADIR='"$(DATADIR)"' -DVJ_VERSION='"$(VERSION)"'
VJ_LDFLAGS := $(SANITIZE)
# Unit tests are built with these (the parsers they cover face hostile input).
TEST_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all programs install images demo check test clean
all:
# What ships (the packages build this, not the tests); each fragment adds its own.
programs:
all: programs

# The flags (PREFIX & co. are compiled in) are part of every object's inputs:
# `make install PREFIX=/usr` after a plain `make` rebuilds, never installs
# binaries that look for their helpers under /usr/local.
FLAGS_STAMP := $(B)/.cflags
FLAGS_NOW := $(CC) $(VJ_CFLAGS) $(CFLAGS)
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_STAMP)))
$(shell mkdir -p $(B))
$(file >$(FLAGS_STAMP),$(FLAGS_NOW))
endif

comp = $(firstword $(subst /, ,$(1)))

# Objects: build/<dir>/<file>.o from <dir>/<file>.c, with header dependencies;
# build/san/... the same, sanitized, for the unit tests.
$(B)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(CFLAGS_$(call comp,$<)) -MMD -MP -MF $@.dep -c $< -o $@
$(B)/san/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(CFLAGS_$(call comp,$<)) $(TEST_SAN) -MMD -MP -MF $@.dep -c $< -o $@

# $(call archive,NAME,SOURCES): build/lib/libNAME.a and its sanitized twin
# build/san/lib/libNAME.a. Programs and unit tests link archives, so each
# takes only the objects it uses.
define archive
$(B)/lib/lib$(1).a: $(2:%.c=$(B)/%.o)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$(B)/san/lib/lib$(1).a: $(2:%.c=$(B)/san/%.o)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef

# Sources of a component that are neither unit tests nor a program's main.
lib_srcs = $(filter-out $(2),$(foreach f,$(wildcard $(1)),$(if $(filter test_%,$(notdir $(f))),,$(f))))

include common/build.mk client/build.mk
include hvd/build.mk hvctl/build.mk spank-plugin/build.mk fsgateway/build.mk images/build.mk \
	imagetool/build.mk
include tests/build.mk etc/build.mk man/build.mk

# The Debian packages (debian/, debhelper), built in a copy of the tree under
# build/deb so the .debs land in build/deb, not beside the checkout.
DEB_OUT := $(B)/deb
.PHONY: deb
deb:
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/vmjob-$(VERSION)
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_OUT)/vmjob-$(VERSION) -xf -
	cd $(DEB_OUT)/vmjob-$(VERSION) && dpkg-buildpackage -b -uc -us --no-sign
	@ls $(DEB_OUT)/*.deb

# Header dependencies: x.o.dep beside each object (never *.d: image trees
# under build/images hold files of that name).
-include $(shell find $(B) -path $(B)/images/cache -prune -o -type f -name '*.o.dep' -print 2>/dev/null)

clean:
	rm -rf $(B)
