# hvctl: hvd's admin CLI. Speaks to hvd only through client/.
HVCTL_SRCS := $(wildcard hvctl/*.c)
CFLAGS_hvctl := -Iclient
$(B)/hvctl/hvctl: $(HVCTL_SRCS:%.c=$(B)/%.o) $(LIBCLIENT) $(LIBCOMMON)
	$(CC) $(VJ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS) -ljansson

all: $(B)/hvctl/hvctl
programs: $(B)/hvctl/hvctl

.PHONY: install-hvctl
install: install-hvctl
install-hvctl: $(B)/hvctl/hvctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/hvctl/hvctl $(DESTDIR)$(BINDIR)/hvctl
