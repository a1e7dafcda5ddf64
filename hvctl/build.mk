# hvctl: hvd's admin CLI. Speaks to hvd only through client/.
HVCTL_SRCS := $(wildcard hvctl/*.c)
# policy check --file decides with hvd's own policy parser (hvd/policy/).
HVCTL_HVD_OBJS := $(B)/hvd/policy/policy.o $(B)/hvd/base/ini.o $(B)/hvd/base/owner.o
CFLAGS_hvctl := -Iclient -Ihvd
$(B)/hvctl/hvctl: $(HVCTL_SRCS:%.c=$(B)/%.o) $(HVCTL_HVD_OBJS) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS) -ljansson -linih

all: $(B)/hvctl/hvctl
programs: $(B)/hvctl/hvctl

.PHONY: install-hvctl
install: install-hvctl
install-hvctl: $(B)/hvctl/hvctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/hvctl/hvctl $(DESTDIR)$(BINDIR)/hvctl
