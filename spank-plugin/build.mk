# spank-plugin/: the SPANK plugin vmjob.so and, in task/, the task-side
# program vmexec. Both speak to hvd through client/ (vmexec's relay is
# client/'s too). Unit tests of either link both archives.
SPANK_PLUGIN_SRCS := $(call lib_srcs,spank-plugin/*.c)
VMEXEC_SRCS := $(call lib_srcs,spank-plugin/task/*.c,spank-plugin/task/main.c)
CFLAGS_spank-plugin := -Iclient -Ispank-plugin
$(eval $(call archive,vjspank,$(SPANK_PLUGIN_SRCS)))
$(eval $(call archive,vjvmexec,$(VMEXEC_SRCS)))
UNIT_LINK_spank-plugin := $(B)/san/lib/libvjspank.a $(B)/san/lib/libvjvmexec.a \
	$(B)/san/lib/libvjclient.a $(B)/san/lib/libvjcommon.a $(CLIENT_LIBS)

VMJOB_SO := $(B)/spank-plugin/vmjob.so
VMEXEC := $(B)/spank-plugin/vmexec

# Slurm's symbols (slurm_error, spank_*) resolve from the loading process.
$(VMJOB_SO): $(SPANK_PLUGIN_SRCS:%.c=$(B)/%.o) $(LIBCLIENT) $(LIBCOMMON) spank-plugin/vmjob.map
	$(CC) -shared $(VJ_LDFLAGS) $(LDFLAGS) -Wl,--version-script=spank-plugin/vmjob.map \
		-o $@ $(filter %.o %.a,$^) $(CLIENT_LIBS)

$(VMEXEC): $(B)/spank-plugin/task/main.o $(B)/lib/libvjvmexec.a $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

.PHONY: spank-plugin install-spank
spank-plugin: $(VMJOB_SO) $(VMEXEC)
all: spank-plugin
programs: spank-plugin

install: install-spank
install-spank: $(VMJOB_SO) $(VMEXEC)
	install -d $(DESTDIR)$(SPANKDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(VMJOB_SO) $(DESTDIR)$(SPANKDIR)/vmjob.so
	install -m 0755 $(VMEXEC) $(DESTDIR)$(LIBEXECDIR)/vmexec
