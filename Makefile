# vmjob: one entry point for build, install, demo and tests.
#   make            build everything (warning-free, -Wall -Wextra -Werror)
#   make images     build the guest worker image (Debian kernel, busybox, vmagent)
#   make install    install (honours PREFIX, DESTDIR, SYSCONFDIR)
#   make demo       install deps, build, bring up the local cluster, run a VM job
#   make check      run every test on the local cluster
# Each component keeps its rules in its own fragment (*/build.mk); outputs go to build/.

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

B := build
CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
SANITIZE ?=
VJ_CFLAGS := -std=gnu11 $(WARN) -fPIC -D_GNU_SOURCE -Icommon $(SANITIZE) \
	-DVJ_SYSCONFDIR='"$(SYSCONFDIR)"' -DVJ_LOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
	-DVJ_RUNSTATEDIR='"$(RUNSTATEDIR)"' -DVJ_LIBEXECDIR='"$(LIBEXECDIR)"'
VJ_LDFLAGS := $(SANITIZE)

.PHONY: all install images demo check clean
all:

# The flags (PREFIX & co. are compiled in) are part of every object's inputs:
# `make install PREFIX=/usr` after a plain `make` rebuilds, never installs
# binaries that look for their helpers under /usr/local.
FLAGS_STAMP := $(B)/.cflags
FLAGS_NOW := $(CC) $(VJ_CFLAGS) $(CFLAGS)
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_STAMP)))
$(shell mkdir -p $(B))
$(file >$(FLAGS_STAMP),$(FLAGS_NOW))
endif

# Objects: build/<dir>/<file>.o from <dir>/<file>.c, with header dependencies.
$(B)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_$(dir $<)) -MMD -MP -c $< -o $@

include common/build.mk
include $(wildcard hvd/build.mk spank-plugin/build.mk fsgateway/build.mk images/build.mk tests/build.mk etc/build.mk)

-include $(shell find $(B) -type f -name '*.d' 2>/dev/null)

clean:
	rm -rf $(B)
