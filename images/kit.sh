#!/bin/sh
# The guest kit: everything vmjob puts into an image, laid out as it lands
# there. One list, used three ways:
#   images/kit.sh tar OUT.tar VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD
#     the kit as a tarball: the files, the systemd unit enabled, the Slurm
#     commands in /usr/local/bin, the directories a root needs (dev, proc,
#     sys, run, tmp) and an empty resolv.conf. make images and vmjob-image
#     unpack it into every image.
#   images/kit.sh deb OUTDIR VERSION VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD
#     vmjob-guest_VERSION_amd64.deb, for images a site builds with Debian's
#     tools (mmdebstrap --include, a Dockerfile's apt-get install, dpkg --root):
#     the same files; its maintainer scripts enable the unit and make the
#     Slurm command links.
# Runs as an ordinary user: owners are set to root in the archives.
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
# The Slurm commands a job may use inside its VM (run on the host for it:
# client/hostcmd.c holds the same list, which is the one that decides).
SLURM_COMMANDS="srun sbatch scontrol squeue scancel sacct sinfo sstat"
UNIT=vmjob-agent.service
die() { echo "kit: error: $*" >&2; exit 1; }

files() { # files TREE AGENT FSCLIENT INIT HOSTCMD: the programs and hooks
	mkdir -p "$1/usr/lib/vmjob" "$1/usr/sbin" "$1/usr/lib/systemd/system"
	install -m 0755 "$4" "$1/usr/lib/vmjob/init"
	install -m 0755 "$SRC/guest/setup" "$1/usr/lib/vmjob/setup"
	install -m 0755 "$SRC/guest/dhcp-lease" "$1/usr/lib/vmjob/dhcp-lease"
	install -m 0755 "$5" "$1/usr/lib/vmjob/hostcmd"
	install -m 0755 "$2" "$1/usr/sbin/vmagent"
	install -m 0755 "$3" "$1/usr/sbin/vmfs-client"
	strip "$1/usr/lib/vmjob/init" "$1/usr/lib/vmjob/hostcmd" "$1/usr/sbin/vmagent" \
		"$1/usr/sbin/vmfs-client"
	install -m 0644 "$SRC/guest/$UNIT" "$1/usr/lib/systemd/system/$UNIT"
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/vmjob-kit.XXXXXX")
trap 'rm -rf "$stage"' EXIT
case "${1:-}" in
tar)
	[ $# = 6 ] || die "usage: kit.sh tar OUT.tar VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD"
	out=$2; shift 2
	t=$stage/tree
	files "$t" "$@"
	mkdir -p "$t/dev" "$t/proc" "$t/sys" "$t/run" "$t/tmp" "$t/usr/local/bin" \
		"$t/etc/systemd/system/sysinit.target.wants"
	chmod 1777 "$t/tmp"
	for c in $SLURM_COMMANDS; do ln -s /usr/lib/vmjob/hostcmd "$t/usr/local/bin/$c"; done
	ln -s /usr/lib/systemd/system/$UNIT "$t/etc/systemd/system/sysinit.target.wants/$UNIT"
	# No resolver of the build host's: the guest's comes from hvd.conf
	# guest_dns at boot (the setup script), or there is none.
	echo "# vmjob: written at boot from hvd.conf guest_dns" > "$t/etc/resolv.conf"
	(cd "$t" && find . -mindepth 1 | LC_ALL=C sort) > "$stage/list"
	tar -C "$t" --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion \
		-cf "$out.new" -T "$stage/list"
	mv "$out.new" "$out"
	;;
deb)
	[ $# = 7 ] || die "usage: kit.sh deb OUTDIR VERSION VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD"
	outdir=$2 version=$3; shift 3
	t=$stage/deb
	files "$t" "$@"
	mkdir -p "$t/DEBIAN" "$t/usr/share/doc/vmjob-guest"
	cat > "$t/DEBIAN/control" <<CTL
Package: vmjob-guest
Version: $version
Architecture: amd64
Maintainer: vmjob developers <vmjob@localhost>
Section: admin
Priority: optional
Description: vmjob guest agent for VM worker-node images
 The agent vmjob's hypervisor daemon runs a Slurm job's tasks through,
 its boot-time setup (scratch disk, hostname, network, the site's shared
 filesystems through vmfs-client), a systemd unit for images booted with
 their own init, and srun, sbatch and the other Slurm commands, which run
 on the hypervisor for the job. All programs are static.
CTL
	cat > "$t/DEBIAN/postinst" <<POST
#!/bin/sh
set -e
r=\${DPKG_ROOT:-}
if [ "\$1" = configure ]; then
	mkdir -p "\$r/etc/systemd/system/sysinit.target.wants" "\$r/usr/local/bin"
	ln -sf /usr/lib/systemd/system/$UNIT "\$r/etc/systemd/system/sysinit.target.wants/$UNIT"
	for c in $SLURM_COMMANDS; do ln -sf /usr/lib/vmjob/hostcmd "\$r/usr/local/bin/\$c"; done
fi
POST
	cat > "$t/DEBIAN/postrm" <<POSTRM
#!/bin/sh
set -e
r=\${DPKG_ROOT:-}
if [ "\$1" = remove ] || [ "\$1" = purge ]; then
	rm -f "\$r/etc/systemd/system/sysinit.target.wants/$UNIT"
	for c in $SLURM_COMMANDS; do
		[ "\$(readlink "\$r/usr/local/bin/\$c" 2>/dev/null)" = /usr/lib/vmjob/hostcmd ] &&
			rm -f "\$r/usr/local/bin/\$c"
	done
fi
exit 0
POSTRM
	chmod 0755 "$t/DEBIAN/postinst" "$t/DEBIAN/postrm"
	printf 'vmjob guest kit. See docs/images.md in the vmjob sources.\n' \
		> "$t/usr/share/doc/vmjob-guest/README"
	mkdir -p "$outdir"
	dpkg-deb --root-owner-group -Zxz --build "$t" "$outdir/vmjob-guest_${version}_amd64.deb" >/dev/null
	echo "$outdir/vmjob-guest_${version}_amd64.deb"
	;;
*) die "usage: kit.sh tar|deb ..." ;;
esac
