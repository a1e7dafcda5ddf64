# Manual pages (roff, written by hand): make install and the Debian packages
# put each in its section's directory. tests/docs/check.sh renders every one
# and checks them against the code (hvd.conf keys, hvctl verbs, options).
MANDIR ?= $(PREFIX)/share/man
MAN_PAGES := $(wildcard man/*.[1-8])

.PHONY: install-man
install: install-man
install-man:
	@for p in $(MAN_PAGES); do s=$${p##*.}; \
		echo "install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; \
		install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/} || exit 1; done
