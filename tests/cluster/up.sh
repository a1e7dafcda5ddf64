#!/bin/bash
# Bring up the built-in local cluster on this host: munge, MariaDB, slurmdbd,
# slurmctld, slurmd,
# virtlogd + libvirtd, a loopback HTTP image repository and hvd, plus two
# ordinary test users. Expects vmjob to be installed (make install) and the
# image built (make images). Safe to run twice: running daemons are kept,
# except hvd and slurmd, which are restarted so that a fresh install is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (it starts system daemons)"
PREFIX=${PREFIX:-/usr/local}

# --- users: two ordinary users; alice also in a supplementary group
getent group vmjob-lab >/dev/null || groupadd -g 5100 vmjob-lab
for u in vmjob-alice:5001 vmjob-bob:5002; do
	name=${u%%:*} uid=${u##*:}
	id "$name" >/dev/null 2>&1 || useradd -m -u "$uid" -s /bin/bash "$name"
done
id -nG vmjob-alice | grep -qw vmjob-lab || usermod -aG vmjob-lab vmjob-alice
# a grid pool account, as a compute element maps grid users to
getent group gridpool >/dev/null || groupadd -g 5200 gridpool
id grid001 >/dev/null 2>&1 || useradd -m -u 5201 -g gridpool -s /bin/bash grid001
# ... and one that is also in a supplementary group the policy names
getent group gridlab >/dev/null || groupadd -g 5202 gridlab
id grid002 >/dev/null 2>&1 || useradd -m -u 5203 -g gridpool -G gridlab -s /bin/bash grid002

# --- munge
install -d -o munge -g munge -m 0755 /run/munge
[ -s /etc/munge/munge.key ] || { mungekey -c -f -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key; }
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
	stop_daemon munged /run/munge/munged.pid
	runuser -u munge -- /usr/sbin/munged
	wait_for "munge credentials" 10 bash -c 'munge -n | unmunge >/dev/null'
fi

# --- libvirt
# We install libvirt-daemon without libvirt-daemon-system (which would pull in
# polkit, firewall and network setup this host cannot use), so create what it
# would have: the unprivileged QEMU user and libvirt's directories.
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -M -s /usr/sbin/nologin libvirt-qemu
install -d /var/log/libvirt /run/libvirt
# A root-only /dev/kvm makes libvirt distrust its QEMU capability cache and
# re-probe QEMU on every domain start (about 60 s each here).
if [ -e /dev/kvm ]; then chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; fi
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
wait_for "libvirtd" 20 virsh -c qemu:///system version

# --- image repository on loopback
[ -s "$top/build/images/catalogue.conf" ] || die "no image: run 'make images' first"
install -d /srv/vmjob/repo
# Every file the catalogue names (roots, kernels, initrds), then the
# catalogue: a file is replaced (atomically) when its content differs, not
# when it is newer (another checkout's images may be newer and not match
# this catalogue), and the catalogue last, so it never names a file that is
# not there yet.
publish() {
	local f=$1 dst=/srv/vmjob/repo/$(basename "$1")
	cmp -s "$f" "$dst" && return 0
	cp "$f" "$dst.new" && mv -f "$dst.new" "$dst"
}
for f in "$top"/build/images/*-root.img "$top"/build/images/*-vmlinu[xz] \
	"$top"/build/images/*-initrd.img "$top"/build/images/catalogue.conf; do
	publish "$f" || die "cannot publish $f in /srv/vmjob/repo"
done
if ! curl -fsS -o /dev/null http://127.0.0.1:8642/catalogue.conf 2>/dev/null; then
	busybox httpd -p 127.0.0.1:8642 -h /srv/vmjob/repo
	wait_for "image repository on 127.0.0.1:8642" 10 curl -fsS -o /dev/null http://127.0.0.1:8642/catalogue.conf
fi

# --- the site network the guests see (hvd.conf network = user): a network
# namespace standing in for the site's DNS and file server at 10.77.0.1,
# reached from this host through a veth (10.77.0.2). Its resolver knows only
# the site's own names (no upstream): nothing a guest asks leaves the machine.
if ! ip netns list | grep -qw vmjob-site; then
	ip netns add vmjob-site
	ip link add vmjob-site0 type veth peer name site0 netns vmjob-site
	ip addr add 10.77.0.2/24 dev vmjob-site0
	ip link set vmjob-site0 up
	ip -n vmjob-site addr add 10.77.0.1/24 dev site0
	ip -n vmjob-site link set site0 up
	ip -n vmjob-site link set lo up
fi
install -d /srv/vmjob/site
echo "a file on the site's server" > /srv/vmjob/site/hello.txt
if ! ip netns exec vmjob-site curl -fsS -m 2 -o /dev/null http://10.77.0.1:8080/hello.txt 2>/dev/null; then
	ip netns exec vmjob-site busybox httpd -p 10.77.0.1:8080 -h /srv/vmjob/site
fi
if [ ! -s /run/vmjob-site-dns.pid ] || ! kill -0 "$(cat /run/vmjob-site-dns.pid)" 2>/dev/null; then
	ip netns exec vmjob-site dnsmasq --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address=10.77.0.1 --bind-interfaces --address=/files.site.test/10.77.0.1 \
		--pid-file=/run/vmjob-site-dns.pid --user=nobody
fi

# --- hvd
# The shared tree hvd.conf exports next to /home (a stand-in for GPFS).
install -d -m 0755 /srv/vmjob/shared
install -d /etc/vmjob
# 'make install' puts the commented example there when none exists: that one
# we may replace; an admin's own file we never touch.
cmp -s /etc/vmjob/hvd.conf "$top/etc/hvd.conf" && rm -f /etc/vmjob/hvd.conf
put_generated "$here/hvd.conf" /etc/vmjob/hvd.conf
put_generated "$here/policy.conf" /etc/vmjob/policy.conf
stop_daemon hvd /run/vmjob/hvd.pid
"$PREFIX/sbin/hvd" -c /etc/vmjob/hvd.conf
wait_for "hvd socket" 20 test -S /run/vmjob/hvd.sock

# --- slurm
host=$(hostname -s)
nodeline=$(slurmd -C | head -1 | sed 's/ *$//')
install -d /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
sed -e "s/@HOST@/$host/g" -e "s|@NODELINE@|$nodeline|" "$here/slurm.conf.in" > /tmp/vmjob-slurm.conf.$$
put_generated /tmp/vmjob-slurm.conf.$$ /etc/slurm/slurm.conf
rm -f /tmp/vmjob-slurm.conf.$$
put_generated "$here/cgroup.conf" /etc/slurm/cgroup.conf
install -d /etc/slurm/plugstack.conf.d
[ -f /etc/slurm/plugstack.conf ] || echo 'include /etc/slurm/plugstack.conf.d/*.conf' > /etc/slurm/plugstack.conf
echo "required $PREFIX/lib/slurm/vmjob.so" > /etc/slurm/plugstack.conf.d/vmjob.conf

# --- accounting: MariaDB and slurmdbd, as a site runs them (sacct, sstat)
install -d /etc/mysql/mariadb.conf.d
dbconf=/etc/mysql/mariadb.conf.d/90-vmjob-slurm.cnf
dbconf_was=$(cat "$dbconf" 2>/dev/null || true)
put_generated "$here/mariadb.cnf" "$dbconf"
# The package's install may have started MariaDB before our settings were there.
if [ "$(cat "$dbconf")" != "$dbconf_was" ] && mysqladmin ping >/dev/null 2>&1; then
	stop_daemon slurmdbd /run/slurm/slurmdbd.pid
	/etc/init.d/mariadb restart >/dev/null
fi
if ! mysqladmin ping >/dev/null 2>&1; then
	/etc/init.d/mariadb start >/dev/null
	wait_for "MariaDB" 60 mysqladmin ping
fi
# slurmdbd's own database user, with a password made once on this host.
umask 077
[ -s /etc/slurm/vmjob-dbpass ] || head -c 18 /dev/urandom | base64 | tr -d '+/=' > /etc/slurm/vmjob-dbpass
umask 022
dbpass=$(cat /etc/slurm/vmjob-dbpass)
mysql <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$dbpass';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
sed "s|@PASS@|$dbpass|" "$here/slurmdbd.conf.in" > /tmp/vmjob-slurmdbd.conf.$$
( umask 077; put_generated /tmp/vmjob-slurmdbd.conf.$$ /etc/slurm/slurmdbd.conf )
rm -f /tmp/vmjob-slurmdbd.conf.$$
chmod 0600 /etc/slurm/slurmdbd.conf
stop_daemon slurmdbd /run/slurm/slurmdbd.pid
slurmdbd
wait_for "slurmdbd" 60 sacctmgr -n list cluster
sacctmgr -n -P list cluster format=cluster | grep -qx vmjob || sacctmgr -i add cluster vmjob >/dev/null

t=$(mktemp -d)
sed "s|@BINDIR@|$PREFIX/bin|g" "$top/etc/job_submit.lua" > "$t/job_submit.lua"
put_generated "$t/job_submit.lua" /etc/slurm/job_submit.lua
rm -rf "$t"
# Restarted, not reconfigured: a new JobSubmitPlugins needs a fresh start
# (running jobs are kept: slurmctld recovers them from its state).
stop_daemon slurmctld /run/slurm/slurmctld.pid
slurmctld
wait_for "slurmctld" 30 scontrol ping
# slurmd learns the plugin's prolog/epilog callbacks only when it starts.
stop_daemon slurmd /run/slurm/slurmd.pid
slurmd_start=$(date +%s)
slurmd
wait_for "node $host idle" 60 bash -c "sinfo -h -n '$host' -o %T | grep -qE '^(idle|mixed|allocated)'"
# A job the controller counts as running here since before this slurmd
# started, with no slurmstepd running it, is left from a run whose daemons
# were killed (a reset host, an interrupted session). Slurm requeues such a
# batch job only if slurmd happens to register late enough, so it may hold
# the node's CPUs for ever and later jobs wait for resources. End each one.
# (A job started since has no slurmstepd while its prolog runs: not stale.)
stale_jobs() {
	local j start
	squeue -h -w "$host" -t RUNNING,COMPLETING -o '%A %S' | while read -r j start; do
		[ "$(date -d "$start" +%s 2>/dev/null || echo "$slurmd_start")" -lt "$slurmd_start" ] || continue
		pgrep -f "^slurmstepd: \[$j\." >/dev/null || echo "$j"
	done
}
no_stale_jobs() { [ -z "$(stale_jobs)" ]; }
for j in $(stale_jobs); do
	echo "vmjob: ending job $j, left running on $host by an earlier run (no slurmstepd runs it)"
	scancel "$j"
done
wait_for "stale jobs on $host to end" 60 no_stale_jobs
scontrol update nodename="$host" state=resume 2>/dev/null || true
echo "vmjob: local cluster is up (node $host, hvd on /run/vmjob/hvd.sock, images at http://127.0.0.1:8642/)"
