#!/bin/sh
# Build the "minimal" vmjob worker image from Debian packages only:
#   Debian 12's kernel, an initrd (busybox-static + virtio/ext4/fuse modules),
#   and an ext4 root image (busybox userland + vmagent + the gateway client and
#   its fuse/virtiofs modules), plus catalogue.conf.
#   Also the kernel uncompressed (minimal-vmlinux, PVH entry) for faster boots.
# No loop mounts, no root-only tricks beyond what mkfs.ext4 -d offers; the only
# network use is apt-get download from the configured Debian mirror.
# Incremental: downloads are cached in OUT/cache, each artefact is rebuilt only
# when its inputs change (a stamp holds the hash of its inputs).
#
# usage: images/build.sh VMAGENT_BINARY VMFS_CLIENT_BINARY OUTDIR
set -eu

AGENT=$(realpath "$1")
FSCLIENT=$(realpath "$2")
OUT=$(realpath -m "$3")
SRC=$(cd "$(dirname "$0")" && pwd)
CACHE=$OUT/cache
ROOT_MB=${VMJOB_ROOT_MB:-48}
# Drivers the initrd loads (dependencies are added by modprobe --show-depends).
# crc32c_generic: ext4's metadata checksums; TCG CPUs lack SSE4.2 for crc32c-intel.
INITRD_MODULES="virtio_pci virtio_console virtio_blk crc32c_generic ext4 fuse"
# Loaded after boot by rcS: fuse for the gateway's serial transport, virtiofs
# (the virtio-fs driver) for its vhost-user-fs device (vmjob.fsdev=virtiofs).
ROOT_MODULES="fuse virtiofs"
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
		# The top Makefile -includes every *.d under build/ as a dependency
		# file; packaged hook folders (postinst.d, conf-hooks.d) would break it.
		find "$2" -name '*.d' -prune -exec rm -rf {} +
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

# ---- root image ----
rmods=$(module_order $ROOT_MODULES)
rootfiles=$(cd "$SRC/rootfs" && find . -type f | LC_ALL=C sort)
h=$(echo "$KVER $rmods $ROOT_MB $rootfiles $(cd "$SRC/rootfs" && inputs_hash $rootfiles) \
	$(inputs_hash "$AGENT" "$FSCLIENT" "$BUSYBOX" "$0")" | sha256sum | cut -d' ' -f1)
if ! uptodate "$OUT/minimal-root.img" "$h"; then
	say "building root image (${ROOT_MB} MiB)"
	st=$STAGE/root-tree
	rm -rf "$st" && mkdir -p "$st"
	install_busybox "$st"
	for d in dev proc sys tmp run root etc/init.d lib/modules var/tmp home; do
		mkdir -p "$st/$d"
	done
	chmod 1777 "$st/tmp" "$st/var/tmp"
	chmod 0700 "$st/root"
	cp -R "$SRC/rootfs/." "$st/"
	ln -sf /bin/busybox "$st/sbin/init"
	install -s -m 0755 "$AGENT" "$st/sbin/vmagent"
	# The filesystem gateway's guest side: rcS mounts the exports with it.
	install -s -m 0755 "$FSCLIENT" "$st/sbin/vmfs-client"
	# Modules needed after boot (the filesystem gateway's transports).
	for m in $rmods; do
		mkdir -p "$st/lib/modules/$KVER/$(dirname "$m")"
		cp "$KDIR/lib/modules/$KVER/$m" "$st/lib/modules/$KVER/$m"
	done
	cp "$KDIR/lib/modules/$KVER/modules.order" "$KDIR/lib/modules/$KVER/modules.builtin" \
		"$KDIR/lib/modules/$KVER/modules.builtin.modinfo" \
		"$st/lib/modules/$KVER/"
	depmod -b "$st" "$KVER"
	rm -f "$OUT/minimal-root.img.new"
	# A fixed label and UUID name the image; its checksum still changes on every
	# rebuild (inode ctimes), which is why it is rebuilt only when inputs change.
	mkfs.ext4 -q -F -L vmjob-root -U 4a1e0b6e-1c7d-4d55-9a0e-766d6a6f6201 \
		-E root_owner=0:0 -T small -m 0 \
		-d "$st" "$OUT/minimal-root.img.new" "${ROOT_MB}M" >/dev/null ||
		die "mkfs.ext4 failed"
	mv "$OUT/minimal-root.img.new" "$OUT/minimal-root.img"
	echo "$h" > "$OUT/minimal-root.img.inputs"
fi

# ---- catalogue ----
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check
# can misfire ("8254 timer not connected") and hang the boot; the check buys
# nothing on the virtual platforms vmjob runs on.
sha() { sha256sum "$1" | cut -d' ' -f1; }
# One catalogue entry: NAME KERNEL_FILE DESCRIPTION (same root and initrd).
entry() {
	cat <<CAT

[$1]
description = $3
root = minimal-root.img
root_sha256 = $(sha "$OUT/minimal-root.img")
root_size = $(stat -c %s "$OUT/minimal-root.img")
kernel = $2
kernel_sha256 = $(sha "$OUT/$2")
initrd = minimal-initrd.img
initrd_sha256 = $(sha "$OUT/minimal-initrd.img")
cmdline = console=ttyS0 quiet no_timer_check
min_mem_mb = 128
CAT
}
{
	echo "# vmjob image catalogue (written by images/build.sh). File names are relative"
	echo "# to the catalogue's URL."
	entry minimal minimal-vmlinuz "Debian 12 kernel, busybox userland, vmagent"
	entry minimal-pvh minimal-vmlinux \
		"as minimal, with the kernel uncompressed (PVH boot, about 4 s faster under TCG)"
} > "$OUT/catalogue.conf.new"
mv "$OUT/catalogue.conf.new" "$OUT/catalogue.conf"
say "done: $OUT/catalogue.conf (kernel $KVER)"
