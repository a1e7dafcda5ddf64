# Example configuration: installed for reference under $(DATADIR)/examples, and
# the systemd unit where systemd looks for locally installed units (its paths
# follow SBINDIR/SYSCONFDIR). hvd.conf itself is installed by hvd/build.mk,
# only when absent: an admin's file is never overwritten.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
ETC_EXAMPLES := etc/hvd.conf etc/policy.conf etc/plugstack.conf etc/hvd.service etc/slurm.conf.snippet

.PHONY: install-etc
install: install-etc
install-etc:
	install -d $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(SYSTEMDDIR)
	install -m 0644 $(ETC_EXAMPLES) $(DESTDIR)$(DATADIR)/examples/
	sed 's|@BINDIR@|$(BINDIR)|g' etc/job_submit.lua > $(DESTDIR)$(DATADIR)/examples/job_submit.lua
	chmod 0644 $(DESTDIR)$(DATADIR)/examples/job_submit.lua
	sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/etc/vmjob|$(SYSCONFDIR)/vmjob|g' etc/hvd.service \
		> $(DESTDIR)$(SYSTEMDDIR)/hvd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/hvd.service
