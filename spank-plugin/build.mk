# spank-plugin/: the SPANK plugin vmjob.so and, in task/, the task-side
# program vmexec. Both speak to hvd through client/.
SPANK_PLUGIN_SRCS := $(call lib_srcs,spank-plugin/*.c)
VMEXEC_SRCS := $(wildcard spank-plugin/task/*.c)
CFLAGS_spank-plugin := -Iclient -Ispank-plugin
$(eval $(call archive,vjspank,$(SPANK_PLUGIN_SRCS)))
UNIT_LINK_spank-plugin := $(B)/san/lib/libvjspank.a $(B)/san/lib/libvjclient.a \
	$(B)/san/lib/libvjcommon.a $(CLIENT_LIBS)

VMJOB_SO := $(B)/spank-plugin/vmjob.so
VMEXEC := $(B)/spank-plugin/vmexec

# Slurm's symbols (slurm_error, spank_*) resolve from the loading process.
$(VMJOB_SO): $(SPANK_PLUGIN_SRCS:%.c=$(B)/%.o) $(LIBCLIENT) $(LIBCOMMON) spank-plugin/vmjob.map
	$(CC) -shared $(VJ_LDFLAGS) $(LDFLAGS) -Wl,--version-script=spank-plugin/vmjob.map \
		-o $@ $(filter %.o %.a,$^) $(CLIENT_LIBS)

$(VMEXEC): $(VMEXEC_SRCS:%.c=$(B)/%.o) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

.PHONY: spank-plugin install-spank
spank-plugin: $(VMJOB_SO) $(VMEXEC)
all: spank-plugin

install: install-spank
install-spank: $(VMJOB_SO) $(VMEXEC)
	install -d $(DESTDIR)$(SPANKDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(VMJOB_SO) $(DESTDIR)$(SPANKDIR)/vmjob.so
	install -m 0755 $(VMEXEC) $(DESTDIR)$(LIBEXECDIR)/vmexec
