# spank-plugin/: the SPANK plugin vmjob.so and the task-side program vmexec.
# task/ holds vmexec's sources (built as build/spank-plugin/vmexec).
# hvdclient.c (connect + one request/one reply to hvd) is linked into both.

SPANK_PLUGIN_SRCS := $(addprefix spank-plugin/,plugin.c options.c args.c local.c remote.c \
	epilog.c cpulist.c imagename.c size.c multiprog.c hvdclient.c)
SPANK_PLUGIN_OBJS := $(SPANK_PLUGIN_SRCS:%.c=$(B)/%.o)
VMEXEC_SRCS := $(addprefix spank-plugin/task/,main.c request.c relay.c tty.c exitstatus.c) \
	spank-plugin/hvdclient.c
VMEXEC_OBJS := $(VMEXEC_SRCS:%.c=$(B)/%.o)

# hvdclient.c puts a munge credential on every request (libmunge) over a
# SHA-256 of the request (libcrypto).
HVDCLIENT_LIBS := -lmunge $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

VMJOB_SO := $(B)/spank-plugin/vmjob.so
VMEXEC := $(B)/spank-plugin/vmexec

EXTRA_CFLAGS_spank-plugin/task/ := -Ispank-plugin

# Slurm's symbols (slurm_error, spank_*) resolve from the loading process.
$(VMJOB_SO): $(SPANK_PLUGIN_OBJS) $(LIBCOMMON) spank-plugin/vmjob.map
	$(CC) -shared $(VJ_LDFLAGS) $(LDFLAGS) -Wl,--version-script=spank-plugin/vmjob.map \
		-o $@ $(SPANK_PLUGIN_OBJS) $(LIBCOMMON) $(HVDCLIENT_LIBS)

$(VMEXEC): $(VMEXEC_OBJS) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $(VMEXEC_OBJS) $(LIBCOMMON) $(HVDCLIENT_LIBS)

.PHONY: spank-plugin install-spank
spank-plugin: $(VMJOB_SO) $(VMEXEC)
all: spank-plugin

install: install-spank
install-spank: $(VMJOB_SO) $(VMEXEC)
	install -d $(DESTDIR)$(SPANKDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(VMJOB_SO) $(DESTDIR)$(SPANKDIR)/vmjob.so
	install -m 0755 $(VMEXEC) $(DESTDIR)$(LIBEXECDIR)/vmexec

# Unit tests of the Slurm-free parts; named like tests/'s so tests/run.sh runs it.
SPANK_UNIT_SRCS := spank-plugin/test_units.c spank-plugin/args.c spank-plugin/cpulist.c \
	spank-plugin/imagename.c spank-plugin/size.c spank-plugin/multiprog.c
$(B)/tests/test_spank: $(SPANK_UNIT_SRCS) spank-plugin/vmjob.h $(COMMON_SRCS) tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(VJ_CFLAGS) $(CFLAGS) $(TEST_SAN) -Itests/unit -o $@ $(SPANK_UNIT_SRCS) $(COMMON_SRCS)
unit-tests: $(B)/tests/test_spank
all: $(B)/tests/test_spank
