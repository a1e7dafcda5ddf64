#!/bin/bash
# The Debian packages (make deb): lintian finds no error in them; installed
# on this machine in place of `make install`'s files (hidden meanwhile) they
# run a VM job from the installed files; an admin's edited hvd.conf survives
# a reinstall; the guest package installs into an image tree with dpkg
# --root; purging leaves no file of theirs. The local cluster is put back as
# up.sh makes it, whatever happens.
. "$(dirname "$0")/lib.sh"
top=$(cd "$E2E/../.." && pwd)
. "$top/tests/cluster/lib.sh"
PKGS="vmjob-hypervisor vmjob-slurm-plugin vmjob-image-tools"
LOCAL=(/usr/local/sbin/hvd /usr/local/lib/slurm/vmjob.so /usr/local/libexec/vmjob)
saved=$(mktemp -d /var/tmp/vmjob-debtest.XXXXXX)

restore() {
	stop_daemon hvd /run/vmjob/hvd.pid
	dpkg --purge $PKGS > "$saved/purge.log" 2>&1
	for f in "${LOCAL[@]}"; do [ -e "$f.debtest" ] && mv "$f.debtest" "$f"; done
	[ -e /etc/vmjob/hvd.conf ] || install -D -m 0644 "$saved/hvd.conf" /etc/vmjob/hvd.conf
	"$top/tests/cluster/up.sh" > "$saved/up.log" 2>&1 || sed 's/^/  | /' "$saved/up.log"
	rm -rf "$saved"
}
trap restore EXIT

# --- build, and lintian
make -s -C "$top" deb > deb.log 2>&1; rc=$?
[ $rc = 0 ] || tail -n 20 deb.log | sed 's/^/  | /'
check "make deb builds the packages (rc $rc)" [ $rc = 0 ]
D=$top/build/deb
for p in $PKGS vmjob-guest; do
	check "... $p" [ -s "$(ls "$D/${p}"_*_amd64.deb 2>/dev/null | head -n1)" ]
done
lintian --tag-display-limit 0 "$D"/*.changes > lintian.txt 2>&1
sed 's/^/  | /' lintian.txt | head -n 30
check "lintian: no error ($(grep -c '^E:' lintian.txt) E:, $(grep -c '^W:' lintian.txt) W: lines)" \
	not grep -q '^E:' lintian.txt
check "hvd.conf is a conffile" grep -qx /etc/vmjob/hvd.conf <(dpkg-deb --ctrl-tarfile "$D"/vmjob-hypervisor_*.deb | tar -xO ./conffiles)

# --- install in place of make install's files
cp /etc/vmjob/hvd.conf "$saved/hvd.conf"
stop_daemon hvd /run/vmjob/hvd.pid
for f in "${LOCAL[@]}"; do [ -e "$f" ] && mv "$f" "$f.debtest"; done
# The cluster's own files at the packages' conffile paths go, so dpkg
# installs its own (an admin's edit comes back below).
rm -f /etc/vmjob/hvd.conf /etc/slurm/plugstack.conf.d/vmjob.conf
debs=()
for p in $PKGS; do debs+=("$(ls "$D/${p}"_*_amd64.deb | head -n1)"); done
dpkg -i "${debs[@]}" > dpkg.log 2>&1; rc=$?
[ $rc = 0 ] || sed 's/^/  | /' dpkg.log
check "dpkg -i installs them (rc $rc)" [ $rc = 0 ]
check "hvd is /usr/sbin/hvd" [ -x /usr/sbin/hvd ]
check "the plugin is in Slurm's plugin directory" ls /usr/lib/*/slurm-wlm/vmjob.so
check "plugstack.conf.d names the installed plugin" grep -q '^required /usr/lib/.*/slurm-wlm/vmjob.so$' /etc/slurm/plugstack.conf.d/vmjob.conf
check "the man pages are installed" [ -s /usr/share/man/man8/hvd.8.gz ] && [ -s /usr/share/man/man5/hvd.conf.5.gz ]
check "man hvd.conf shows the page" bash -c 'man 5 hvd.conf 2>/dev/null | grep -q max_vms'
check "hvd --version (installed)" [ "$(/usr/sbin/hvd --version)" = "hvd (vmjob) $(sed -n 's/^VERSION *:= *//p' "$top/Makefile")" ]
# An admin's edit (the local cluster's configuration), then a reinstall.
cp "$saved/hvd.conf" /etc/vmjob/hvd.conf
dpkg -i --force-confold "${debs[@]}" > dpkg2.log 2>&1
check "a reinstall keeps the admin's hvd.conf" cmp -s "$saved/hvd.conf" /etc/vmjob/hvd.conf

# --- a VM job on the installed files
/usr/sbin/hvd -c /etc/vmjob/hvd.conf
wait_for "installed hvd" 20 test -S /run/vmjob/hvd.sock
check "the running hvd is /usr/sbin/hvd" [ "$(readlink /proc/"$(cat /run/vmjob/hvd.pid)"/exe)" = /usr/sbin/hvd ]
stop_daemon slurmd /run/slurm/slurmd.pid
slurmd
wait_for "slurmd" 60 bash -c "sinfo -h -n '$(hostname -s)' -o %T | grep -qE '^(idle|mixed)'"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o pkg.out -e pkg.err --wrap 'echo "host=$(hostname) user=$(id -un)"')
st=$(wait_job "$j")
show_file pkg.out; show_file pkg.err
check "the job ran in a VM from the packages ($st)" [ "$st" = COMPLETED ] && grep -q "^host=vmjob-$j user=$ALICE" pkg.out
check "... and left nothing" wait_until 30 no_leftovers "$j"

# --- the guest package into an image tree
tree=$saved/tree
mkdir -p "$tree/var/lib/dpkg/info" "$tree/var/lib/dpkg/updates" "$tree/bin"
touch "$tree/var/lib/dpkg/status"
ln -s /bin/sh "$tree/bin/sh" 2>/dev/null
dpkg --root="$tree" --force-depends --force-script-chrootless -i "$(ls "$D"/vmjob-guest_*_amd64.deb | head -n1)" > guest.log 2>&1 ||
	sed 's/^/  | /' guest.log
check "vmjob-guest installs into a tree" [ -x "$tree/usr/sbin/vmagent" ]
check "... enables the agent's unit" [ -L "$tree/etc/systemd/system/sysinit.target.wants/vmjob-agent.service" ]
check "... and links srun" [ "$(readlink "$tree/usr/local/bin/srun")" = /usr/lib/vmjob/hostcmd ]
check "its programs are static" bash -c "! readelf -l '$tree/usr/sbin/vmagent' | grep -q 'program interpreter'"
dpkg --root="$tree" --force-script-chrootless --purge vmjob-guest > guest2.log 2>&1
check "... and its removal takes the links away" [ ! -e "$tree/usr/local/bin/srun" ] && [ ! -e "$tree/usr/sbin/vmagent" ]

# --- purge
stop_daemon hvd /run/vmjob/hvd.pid
dpkg --purge $PKGS > purge.log 2>&1
check "purge removes them" [ -z "$(dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -v not-installed)" ]
check "... and their files" [ ! -e /usr/sbin/hvd ] && [ ! -e /etc/vmjob/hvd.conf ] && [ ! -e /etc/slurm/plugstack.conf.d/vmjob.conf ]
finish
