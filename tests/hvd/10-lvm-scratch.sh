#!/bin/bash
# hvd's scratch backends (hvd/scratch*.c), tested for real:
#   1. on the host: the lvs/tag parser self-test and the file backend;
#   2. in a TCG guest booted from Debian's kernel (this host kernel has no
#      device-mapper, see /work/shared/ENVIRONMENT.md): the LVM backend on a
#      real VG. The guest is an initrd built here from Debian packages only
#      (busybox-static, lvm2 and e2fsprogs with their libraries, the kernel's
#      dm/virtio/ext4 modules) plus the static scratch-driver, which links the
#      backend code itself. It prints its results on the serial console; this
#      script judges them.
# Run as root by tests/run.sh. Exit 0 on success; "  ok:" / "  not ok:" lines.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build/lvmtest
fails=0
ok() { echo "  ok: $*"; }
notok() { echo "  not ok: $*"; fails=$((fails + 1)); }
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}
die() { echo "  not ok: $*"; exit 1; }

# ---- prerequisites: Debian packages, the images' kernel, the driver ----
need=()
command -v lvm >/dev/null || need+=(lvm2)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v modprobe >/dev/null || need+=(kmod)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1
		  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null 2>&1; } ||
		die "cannot install ${need[*]}"
fi
kdir=$top/build/images/cache/kernel
busybox=build/images/cache/busybox/bin/busybox
if [ ! -x "$busybox" ] || ! ls "$kdir"/lib/modules/*/modules.dep >/dev/null 2>&1; then
	make -s images >/dev/null || die "make images failed (the test boots the images' kernel)"
fi
kver=$(basename "$(dirname "$(ls "$kdir"/lib/modules/*/modules.dep | head -n1)")")
kernel=build/images/minimal-vmlinux # PVH entry: no in-guest decompression under TCG
[ -f "$kernel" ] || kernel=$kdir/boot/vmlinuz-$kver
make -s "$out/scratch-driver" || die "cannot build the scratch driver"
driver=$out/scratch-driver

# ---- 1. host: parser self-test, file backend ----
echo "host: lvs parser"
if sel=$("$driver" - selftest); then ok "lvs/tag parser self-test ($(grep -c '^ok' <<<"$sel") checks)"
else notok "lvs/tag parser self-test: $(grep FAIL <<<"$sel" | tr '\n' ';')"; fi

echo "host: file backend"
fb=$(mktemp -d /tmp/vmjob-scratchtest.XXXXXX)
trap 'rm -rf "$fb"' EXIT
mkdir -p "$fb/vm/2001" "$fb/vm/2002"
printf 'state_dir = %s\nscratch_mb_per_cpu = 32\n' "$fb" > "$fb/hvd.conf"
r=$("$driver" "$fb/hvd.conf" create 2001 64 1)
check "file: create with the job's size" [ "$r" = "created 2001 $fb/vm/2001/scratch.img 64 file" ]
r=$("$driver" "$fb/hvd.conf" create 2002 0 2)
check "file: create with scratch_mb_per_cpu x cpus" [ "$r" = "created 2002 $fb/vm/2002/scratch.img 64 file" ]
check "file: ext4 made" bash -c "file -b '$fb/vm/2001/scratch.img' | grep -q ext4 ||
	dumpe2fs -h '$fb/vm/2001/scratch.img' 2>/dev/null | grep -q 'Filesystem magic'"
r=$("$driver" "$fb/hvd.conf" list | sort)
check "file: list finds both" [ "$r" = "$(printf 'listed 2\nvol 2001 %s/vm/2001/scratch.img 64 file\nvol 2002 %s/vm/2002/scratch.img 64 file' "$fb" "$fb")" ]
"$driver" "$fb/hvd.conf" remove 2001 >/dev/null
r=$("$driver" "$fb/hvd.conf" list)
check "file: remove, then list finds the other" [ "$r" = "$(printf 'vol 2002 %s/vm/2002/scratch.img 64 file\nlisted 1' "$fb")" ]

# ---- 2. guest: LVM backend on a real VG ----
echo "guest: LVM backend (TCG, kernel $kver)"
root=$out/root
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,etc/lvm,etc/vmjob,lib/modules,run,tmp}
cp tests/hvd/lvmtest/init "$root/init" && chmod 0755 "$root/init"
cp "$driver" "$root/usr/local/bin/scratch-driver"
# The storage tools and every library they load, at their host paths.
for tool in /usr/sbin/lvm /usr/sbin/mke2fs; do
	cp -L "$tool" "$root$tool"
	for lib in $(ldd "$tool" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' > "$root/etc/ld.so.conf"
ldconfig -r "$root" 2>/dev/null || true
for t in lvs vgs pvs lvcreate lvremove vgcreate pvcreate vgchange; do ln -s lvm "$root/usr/sbin/$t"; done
ln -s mke2fs "$root/usr/sbin/mkfs.ext4"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list-full); do
	[ -e "$root/$app" ] || [ -L "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done
# No udev in the guest: LVM makes its own device nodes and waits for nobody.
cat > "$root/etc/lvm/lvm.conf" <<'EOF'
devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 }
backup { backup = 0 archive = 0 }
EOF
printf 'scratch_backend = lvm\nscratch_vg = vg0\nscratch_mb_per_cpu = 32\n' > "$root/etc/vmjob/hvd.conf"
# Kernel modules in load order (linear LVs need only dm-mod itself).
mods=$(for m in virtio_pci virtio_blk dm_mod crc32c_generic ext4; do
	modprobe -d "$kdir" -S "$kver" --show-depends "$m"; done |
	sed -n "s|^insmod $kdir/lib/modules/$kver/||p" | sed 's/ *$//' | awk '!seen[$0]++' |
	grep -v crc32c-intel) || die "cannot resolve the kernel modules"
for m in $mods; do
	mkdir -p "$root/lib/modules/$(dirname "$m")"
	cp "$kdir/lib/modules/$kver/$m" "$root/lib/modules/$m"
done
printf '%s\n' $mods > "$root/etc/modules.order"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$out/initrd.img" ||
	die "cannot pack the initrd"

rm -f "$out/pv.img" && truncate -s 256M "$out/pv.img"
log=$out/console.log
start=$(date +%s)
timeout 150 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$out/initrd.img" \
	-append 'console=ttyS0 quiet loglevel=3 panic=-1' \
	-drive "file=$out/pv.img,format=raw,if=virtio" </dev/null >"$log" 2>&1
echo "guest ran $(($(date +%s) - start)) s; console in $log"
tr -d '\r' < "$log" | grep '^LVMT' | sed 's/^/    /'

# ---- judge the console ----
con=$(tr -d '\r' < "$log" | grep '^LVMT ')
rc() { grep -qx "LVMT $1 rc=$2" <<<"$con"; }
has() { grep -q -- "^LVMT $1| $2" <<<"$con"; }
hasnt() { ! grep -q -- "^LVMT $1| $2" <<<"$con"; }
grep -qx 'LVMT end' <<<"$con" || notok "the guest ran to the end"
check "VG vg0 made on the virtio disk" rc vgcreate 0
check "create job 1001 (64 MiB asked)" has create-a 'created 1001 /dev/vg0/vmjob_1001 64 block$'
check "create job 1002 (scratch_mb_per_cpu 32 x 3 CPUs)" has create-b 'created 1002 /dev/vg0/vmjob_1002 96 block$'
for j in 1001:64 1002:96; do
	check "LV vmjob_${j%:*} tagged with its job and this hvd, ${j#*:} MiB" \
		bash -c "grep -- '^LVMT lvs1|  *vmjob_${j%:*}|' <<<\"\$0\" |
			grep -q -- 'vmjob_job_${j%:*}' && grep -- '^LVMT lvs1|  *vmjob_${j%:*}|' <<<\"\$0\" |
			grep -q -- 'vmjob_hvd_/var/lib/vmjob' && grep -q -- '^LVMT lvs1|  *vmjob_${j%:*}|.*|${j#*:}\.00$' <<<\"\$0\"" "$con"
done
check "job 1001's volume holds an ext4 the guest mounts" has mount-a 'written$'
check "job 1002's volume mounts as ext4" has mount-b '/dev/.* /mnt ext4 ro'
check "list finds both by tag" bash -c 'has() { grep -q -- "^LVMT $1| $2" <<<"$0"; }
	has list1 "vol 1001 /dev/vg0/vmjob_1001 64 block$" && has list1 "vol 1002 /dev/vg0/vmjob_1002 96 block$" &&
	has list1 "listed 2$"' "$con"
check "remove job 1001" rc remove-a 0
check "job 1001's LV is gone" hasnt lvs2 ' *vmjob_1001|'
free_before=$(sed -n 's/^LVMT free-before|  *\([0-9]*\)\..*/\1/p' <<<"$con")
check "a request larger than the VG fails with one clear line" \
	has create-big "error: scratch: volume group vg0 has ${free_before:-?} MiB free, job asks 1024 MiB (--vm-scratch)$"
check "... and leaves nothing behind" bash -c '[ -n "$1" ] && [ "$(sed -n "s/^LVMT free-after|  *//p" <<<"$0")" = "$(sed -n "s/^LVMT free-before|  *//p" <<<"$0")" ] &&
	! grep -q "^LVMT lvs3|  *vmjob_1003|" <<<"$0"' "$con" "$free_before"
check "an untagged LV under hvd's naming is left alone" has remove-foreign 'error: .*vmjob_1004 is not tagged .*left alone$'
check "after a restart a fresh process finds the remaining volume by tag (only it)" \
	bash -c 'grep -q "^LVMT restart rc=0" <<<"$0" && [ "$(sed -n "s/^LVMT list2| //p" <<<"$0")" = "$(printf "vol 1002 /dev/vg0/vmjob_1002 96 block\nlisted 1")" ]' "$con"
check "remove job 1002, list is empty" bash -c 'grep -q "^LVMT remove-b rc=0" <<<"$0" && grep -q "^LVMT list3| listed 0$" <<<"$0"' "$con"
check "the untagged LV is still there" has lvs4 ' *vmjob_1004||8\.00$'
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0
