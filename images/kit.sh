#!/bin/sh
# The guest kit: everything vmjob puts into an image, laid out as it lands
# there. One list, used three ways:
#   images/kit.sh tar OUT.tar VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD
#     the kit as a tarball: the files, the systemd unit enabled, the Slurm
#     commands in /usr/local/bin, the directories a root needs (dev, proc,
#     sys, run, tmp) and an empty resolv.conf. make images and vmjob-image
#     unpack it into every image.
#   images/kit.sh tree DIR VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD
#     the same files in DIR, for the vmjob-guest package (debian/rules;
#     make deb), for images a site builds with Debian's tools (mmdebstrap
#     --include, a Dockerfile's apt-get install, dpkg --root): its
#     maintainer scripts enable the unit and make the Slurm command links.
# Runs as an ordinary user: owners are set to root in the archive.
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
	# The commands the guest's srun & co. links are made for (the tarball
	# makes them here; the .deb's postinst reads this list).
	printf '%s\n' $SLURM_COMMANDS > "$1/usr/lib/vmjob/slurm-commands"
	chmod 0644 "$1/usr/lib/vmjob/slurm-commands"
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
tree)
	# The files alone, for a package build (debian/rules: vmjob-guest); its
	# maintainer scripts make the links from /usr/lib/vmjob/slurm-commands.
	[ $# = 6 ] || die "usage: kit.sh tree DIR VMAGENT VMFS_CLIENT VMJOB_INIT VMJOB_HOSTCMD"
	t=$2; shift 2
	files "$t" "$@"
	;;
*) die "usage: kit.sh tar|tree ..." ;;
esac
