#!/bin/sh
# Build vmjob's worker images from Debian packages only:
#   the kernel: Debian 12's, also uncompressed (minimal-vmlinux, PVH entry,
#     faster boots), and an initrd (busybox-static + virtio/ext4 modules) that
#     both images boot with;
#   "minimal": an ext4 root image of busybox + the vmjob guest files (the fast
#     test image);
#   "debian12": Debian 12 made by mmdebstrap (bash, python3, MPICH's runtime,
#     systemd, ...) + the vmjob guest files (needs root);
#   catalogue.conf with their entries.
# The vmjob guest files, the same in every image, come as the guest kit
# (images/kit.sh: the agent, vmjob-init, the setup script, vmfs-client, srun &
# co., vmjob-agent.service), the tarball vmjob-image puts into site images too.
# The gateway's drivers (fuse, virtiofs) are in the initrd: a root image holds
# nothing of the kernel's.
# No loop mounts, no root-only tricks beyond what mkfs.ext4 -d offers; the only
# network use is apt-get download from the configured Debian mirror.
# Incremental: downloads are cached in OUT/cache, each artefact is rebuilt only
# when its inputs change (a stamp holds the hash of its inputs).
#
# usage: images/build.sh GUEST_KIT OUTDIR
#   VMJOB_IMAGES="minimal debian12" (default) chooses the root images.
set -eu

KIT=$(realpath "$1")
OUT=$(realpath -m "$2")
IMAGES=${VMJOB_IMAGES:-minimal debian12}
# What debian12 holds beyond Debian's minbase: what a worker node's jobs
# expect (a shell, python, a C/C++ runtime, MPICH's runtime for MPI jobs, the
# usual tools) and systemd for images booted with their own init.
# busybox: its udhcpc is the guest's DHCP client (hvd.conf network = bridge).
DEBIAN_PACKAGES="bash coreutils python3 procps iproute2 curl ca-certificates less libstdc++6
libmpich12 kmod systemd-sysv udev busybox"
DEBIAN_SUITE=bookworm
DEBIAN_MIRRORS="deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main"
SRC=$(cd "$(dirname "$0")" && pwd)
CACHE=$OUT/cache
ROOT_MB=${VMJOB_ROOT_MB:-48}
# Drivers the initrd loads (dependencies are added by modprobe --show-depends).
# crc32c_generic: ext4's metadata checksums; TCG CPUs lack SSE4.2 for crc32c-intel.
# fuse and virtiofs: the gateway's two transports (virtio-serial + FUSE, and
# the vhost-user-fs device), so any root boots with them.
INITRD_MODULES="virtio_pci virtio_console virtio_blk crc32c_generic ext4 fuse virtiofs virtio_net"
# Pulled in as ext4's crc32c soft dependency but needs SSE4.2, which TCG's
# default CPU lacks (insmod fails noisily); crc32c_generic does the work.
MODULES_SKIP="crc32c-intel"

say() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }
for tool in apt-get dpkg-deb depmod modprobe mkfs.ext4 cpio gzip xz sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install kmod e2fsprogs cpio apt)"
done
mkdir -p "$CACHE/deb"
# Staging trees live outside build/ (they hold etc/init.d, see extract()).
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/vmjob-images.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# ---- downloads (cached; apt is asked only when the cache lacks a package) ----
fetch() { # fetch PKG -> prints the cached .deb path
	deb=$(ls "$CACHE/deb/$1"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		say "downloading $1"
		(cd "$CACHE/deb" && apt-get download "$1" >/dev/null 2>&1) ||
			{ apt-get update >/dev/null 2>&1 || true
			  (cd "$CACHE/deb" && apt-get download "$1" >/dev/null 2>&1); } ||
			die "apt-get download $1 failed"
		deb=$(ls "$CACHE/deb/$1"_*.deb | head -n1)
	fi
	echo "$deb"
}
meta=$(fetch linux-image-amd64)
kpkg=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -n1)
[ -n "$kpkg" ] || die "cannot find the kernel package behind $meta"
kdeb=$(fetch "$kpkg")
bbdeb=$(fetch busybox-static)
KVER=${kpkg#linux-image-}

extract() { # extract DEB DIR: unpack once per .deb
	if [ "$(cat "$2.stamp" 2>/dev/null)" != "$(basename "$1")" ]; then
		rm -rf "$2" && mkdir -p "$2" && dpkg-deb -x "$1" "$2"
		basename "$1" > "$2.stamp"
	fi
}
extract "$kdeb" "$CACHE/kernel"
extract "$bbdeb" "$CACHE/busybox"
KDIR=$CACHE/kernel
BUSYBOX=$CACHE/busybox/bin/busybox
[ -x "$BUSYBOX" ] || die "busybox missing in $bbdeb"
# Debian ships no modules.dep; make one for this kernel tree.
[ -s "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"

# modules in load order, as paths relative to lib/modules/KVER
module_order() {
	for m in "$@"; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" || die "module $m not found"
	done | sed -n "s|^insmod $KDIR/lib/modules/$KVER/||p" | awk '!seen[$0]++' | sed 's/ *$//' |
		grep -v "$MODULES_SKIP"
}

inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }
uptodate() { [ -f "$1" ] && [ "$(cat "$1.inputs" 2>/dev/null)" = "$2" ]; }

# busybox tree: the binary plus a link per applet, under $1
install_busybox() {
	mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin"
	cp "$BUSYBOX" "$1/bin/busybox"
	"$BUSYBOX" --list-full | while read -r app; do
		[ -e "$1/$app" ] || ln -s /bin/busybox "$1/$app"
	done
}

# The guest kit into the tree $1 (a tree made here: plain tar will do).
install_guest() {
	rm -f "$1/etc/resolv.conf"
	tar -C "$1" -xpf "$KIT" --numeric-owner
}
GUEST_FILES="$KIT"

# mkfs.ext4 of tree $1 into image $2 of $3 MiB. A fixed label and UUID name
# the image; its checksum still changes on every rebuild (inode ctimes),
# which is why images are rebuilt only when their inputs change.
make_ext4() {
	rm -f "$2.new"
	mkfs.ext4 -q -F -L vmjob-root -U "$4" -E root_owner=0:0 -T small -m 0 \
		-d "$1" "$2.new" "$3M" >/dev/null || die "mkfs.ext4 of $2 failed"
	mv "$2.new" "$2"
}

# ---- kernel ----
cp -p "$KDIR/boot/vmlinuz-$KVER" "$OUT/minimal-vmlinuz.new" && mv "$OUT/minimal-vmlinuz.new" "$OUT/minimal-vmlinuz"

# The same kernel, decompressed: an ELF with a PVH entry (CONFIG_PVH=y) that
# QEMU boots directly. Under TCG the in-guest xz decompression of the bzImage
# costs about 4 s of the boot; the [minimal-pvh] catalogue entry skips it.
h=$(inputs_hash "$OUT/minimal-vmlinuz")
if ! uptodate "$OUT/minimal-vmlinux" "$h"; then
	say "extracting the PVH kernel"
	off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$OUT/minimal-vmlinuz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "no xz payload in $OUT/minimal-vmlinuz"
	tail -c +"$((off + 1))" "$OUT/minimal-vmlinuz" | xz -dc --single-stream > "$OUT/minimal-vmlinux.new" ||
		die "cannot decompress the kernel"
	mv "$OUT/minimal-vmlinux.new" "$OUT/minimal-vmlinux"
	echo "$h" > "$OUT/minimal-vmlinux.inputs"
fi

# ---- initrd ----
mods=$(module_order $INITRD_MODULES)
h=$(echo "$KVER $mods $(inputs_hash "$SRC/initrd/init" "$BUSYBOX" "$0")" | sha256sum | cut -d' ' -f1)
if ! uptodate "$OUT/minimal-initrd.img" "$h"; then
	say "building initrd ($KVER)"
	st=$STAGE/initrd-tree
	rm -rf "$st" && mkdir -p "$st/proc" "$st/sys" "$st/dev" "$st/etc" "$st/newroot"
	install_busybox "$st"
	for m in $mods; do
		mkdir -p "$st/lib/modules/$(dirname "$m")"
		cp "$KDIR/lib/modules/$KVER/$m" "$st/lib/modules/$m"
	done
	echo "$mods" > "$st/etc/modules.load"
	install -m 0755 "$SRC/initrd/init" "$st/init"
	# Fixed mtimes and sorted names: the same inputs give the same initrd.
	find "$st" -exec touch -h -d @0 {} +
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet) |
		gzip -n -9 > "$OUT/minimal-initrd.img.new"
	mv "$OUT/minimal-initrd.img.new" "$OUT/minimal-initrd.img"
	echo "$h" > "$OUT/minimal-initrd.img.inputs"
fi

# ---- root images ----

build_minimal() {
	rootfiles=$(cd "$SRC/rootfs" && find . -type f | LC_ALL=C sort)
	h=$(echo "$KVER $ROOT_MB $rootfiles $(cd "$SRC/rootfs" && inputs_hash $rootfiles) \
		$(inputs_hash $GUEST_FILES "$BUSYBOX" "$0")" | sha256sum | cut -d' ' -f1)
	uptodate "$OUT/minimal-root.img" "$h" && return 0
	say "building root image minimal (${ROOT_MB} MiB)"
	st=$STAGE/root-tree
	rm -rf "$st" && mkdir -p "$st"
	install_busybox "$st"
	for d in dev proc sys tmp run root etc lib/modules var/tmp home; do
		mkdir -p "$st/$d"
	done
	chmod 1777 "$st/tmp" "$st/var/tmp"
	chmod 0700 "$st/root"
	cp -R "$SRC/rootfs/." "$st/"
	install_guest "$st"
	make_ext4 "$st" "$OUT/minimal-root.img" "$ROOT_MB" 4a1e0b6e-1c7d-4d55-9a0e-766d6a6f6201
	echo "$h" > "$OUT/minimal-root.img.inputs"
}

# The Debian tree itself, cached as a tarball: remade only when the package
# list changes (delete build/images/cache/debian12-tree.tar for a fresh one).
debian_tree() {
	tarball=$CACHE/debian12-tree.tar
	h=$(echo "$DEBIAN_SUITE $DEBIAN_PACKAGES $DEBIAN_MIRRORS" | sha256sum | cut -d' ' -f1)
	uptodate "$tarball" "$h" && return 0
	command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
	say "building the Debian 12 tree with mmdebstrap (a few minutes)"
	pkgs=$(echo $DEBIAN_PACKAGES | tr ' ' ',')
	mmdebstrap --mode=root --variant=minbase --include="$pkgs" \
		--aptopt='Acquire::Retries "3"' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--customize-hook='rm -f "$1"/etc/hostname "$1"/etc/machine-id; : > "$1"/etc/machine-id' \
		"$DEBIAN_SUITE" "$tarball.new.tar" "$DEBIAN_MIRRORS" > "$CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $CACHE/mmdebstrap.log)"; }
	mv "$tarball.new.tar" "$tarball"
	echo "$h" > "$tarball.inputs"
}

build_debian12() {
	if [ "$(id -u)" != 0 ]; then
		say "skipping debian12: mmdebstrap and the tree's file owners need root"
		return 0
	fi
	debian_tree
	h=$(echo "$KVER $(cat "$CACHE/debian12-tree.tar.inputs") $(inputs_hash $GUEST_FILES "$0")" |
		sha256sum | cut -d' ' -f1)
	uptodate "$OUT/debian12-root.img" "$h" && return 0
	st=$STAGE/debian12-tree
	rm -rf "$st" && mkdir -p "$st"
	tar -C "$st" -xf "$CACHE/debian12-tree.tar"
	install_guest "$st"
	# Room for the job's writes to the root (they land in the VM's overlay, but
	# the filesystem must have space for them): a quarter more, at least 256 MiB.
	mb=$(du -sm "$st" | cut -f1)
	extra=$((mb / 4)); [ "$extra" -lt 256 ] && extra=256
	say "building root image debian12 ($((mb + extra)) MiB)"
	make_ext4 "$st" "$OUT/debian12-root.img" "$((mb + extra))" 4a1e0b6e-1c7d-4d55-9a0e-766d6a6f6212
	echo "$h" > "$OUT/debian12-root.img.inputs"
	rm -rf "$st"
}

for image in $IMAGES; do
	case $image in
	minimal) build_minimal ;;
	debian12) build_debian12 ;;
	*) die "unknown image '$image' (VMJOB_IMAGES: minimal, debian12)" ;;
	esac
done

# ---- catalogue ----
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check
# can misfire ("8254 timer not connected") and hang the boot; the check buys
# nothing on the virtual platforms vmjob runs on.
sha() { sha256sum "$1" | cut -d' ' -f1; }
# One catalogue entry: NAME ROOT KERNEL_FILE INIT DESCRIPTION (one initrd).
entry() {
	cat <<CAT

[$1]
description = $5
root = $2
root_sha256 = $(sha "$OUT/$2")
root_size = $(stat -c %s "$OUT/$2")
kernel = $3
kernel_sha256 = $(sha "$OUT/$3")
initrd = minimal-initrd.img
initrd_sha256 = $(sha "$OUT/minimal-initrd.img")
cmdline = console=ttyS0 quiet no_timer_check
init = $4
min_mem_mb = 128
CAT
}
{
	echo "# vmjob image catalogue (written by images/build.sh). File names are relative"
	echo "# to the catalogue's URL."
	entry minimal minimal-root.img minimal-vmlinuz vmjob "Debian 12 kernel, busybox userland, vmagent"
	entry minimal-pvh minimal-root.img minimal-vmlinux vmjob \
		"as minimal, with the kernel uncompressed (PVH boot, about 4 s faster under TCG)"
	if [ -s "$OUT/debian12-root.img" ]; then
		entry debian12 debian12-root.img minimal-vmlinux vmjob \
			"Debian 12 worker: bash, python3, MPICH runtime, the usual tools; the agent starts at once"
		entry debian12-systemd debian12-root.img minimal-vmlinux image \
			"as debian12, booted by its own systemd (for jobs that need services)"
	fi
} > "$OUT/catalogue.conf.new"
mv "$OUT/catalogue.conf.new" "$OUT/catalogue.conf"
say "done: $OUT/catalogue.conf (kernel $KVER)"
