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
# Both parts also check that no job can read the one before it: a job fills
# its volume with a pattern, the next job's volume (for LVM: on the very same
# extents) is scanned for it; for LVM with scratch_lvm_wipe = none (to show
# the leak is real and the scan finds it), zero (the default: wipe at create
# and at remove, also when a used LV was freed without a wipe) and a thin pool
# (scratch_thinpool; a pool that does not zero is refused, so is overcommit).
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
command -v thin_check >/dev/null || need+=(thin-provisioning-tools) # lvm2 runs it on thin pools
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
# No data from one job to the next: a new file is a new sparse inode.
P=VMJOB-SCRATCH-LEAK-CANARY
"$driver" - fill "$fb/vm/2002/scratch.img" "$P" >/dev/null
"$driver" "$fb/hvd.conf" remove 2002 >/dev/null
mkdir -p "$fb/vm/2003" "$fb/vm/2004"
"$driver" "$fb/hvd.conf" create 2003 64 1 >/dev/null
r=$("$driver" - scan "$fb/vm/2003/scratch.img" "$P")
check "file: a job's new volume holds nothing of the last one's ($r)" grep -q ': 0 of ' <<<"$r"
# A file already at the path (a leftover, or planted) is never taken over.
printf '%s' "$P" > "$fb/vm/2004/scratch.img"
r=$("$driver" "$fb/hvd.conf" create 2004 64 1)
check "file: an existing file at the path is refused, not reused" \
	bash -c '[[ $0 == "error: scratch: cannot create the scratch file "*"File exists"* ]] && [ "$(cat "$1")" = "$2" ]' \
	"$r" "$fb/vm/2004/scratch.img" "$P"

# ---- 2. guest: LVM backend on a real VG ----
echo "guest: LVM backend (TCG, kernel $kver)"
root=$out/root
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,etc/lvm,etc/vmjob,lib/modules,run,tmp}
cp tests/hvd/lvmtest/init "$root/init" && chmod 0755 "$root/init"
cp "$driver" "$root/usr/local/bin/scratch-driver"
# The storage tools and every library they load, at their host paths.
for tool in /usr/sbin/lvm /usr/sbin/mke2fs "$(readlink -f "$(command -v thin_check)")"; do
	cp -L "$tool" "$root$tool"
	for lib in $(ldd "$tool" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' > "$root/etc/ld.so.conf"
ldconfig -r "$root" 2>/dev/null || true
for t in lvs vgs pvs lvcreate lvremove lvchange vgcreate pvcreate vgchange; do ln -s lvm "$root/usr/sbin/$t"; done
ln -s mke2fs "$root/usr/sbin/mkfs.ext4"
# thin_check (thin-provisioning-tools' multi-call pdata_tools), where lvm2 looks.
pdata=$(readlink -f "$(command -v thin_check)")
[ "$pdata" = /usr/sbin/thin_check ] || ln -s "$pdata" "$root/usr/sbin/thin_check"
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
printf 'scratch_backend = lvm\nscratch_vg = vg0\nscratch_lvm_wipe = none\n' > "$root/etc/vmjob/hvd-nowipe.conf"
printf 'scratch_backend = lvm\nscratch_vg = vg0\nscratch_thinpool = pool\n' > "$root/etc/vmjob/hvd-thin.conf"
# Kernel modules in load order (linear LVs need only dm-mod itself, thin
# volumes dm-thin-pool and what it uses).
mods=$(for m in virtio_pci virtio_blk dm_mod dm_thin_pool crc32c_generic ext4; do
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

rm -f "$out/pv.img" "$out/nozero.img" && truncate -s 256M "$out/pv.img" && truncate -s 64M "$out/nozero.img"
log=$out/console.log
start=$(date +%s)
timeout 150 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$out/initrd.img" \
	-append 'console=ttyS0 quiet loglevel=3 panic=-1' \
	-drive "file=$out/pv.img,format=raw,if=none,id=pv" -device virtio-blk-pci,drive=pv,addr=0x8 \
	-drive "file=$out/nozero.img,format=raw,if=none,id=nz" \
	-device virtio-blk-pci,drive=nz,addr=0x9,write-zeroes=off \
	</dev/null >"$log" 2>&1
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

# ---- no data from one job to the next ----
pe() { sed -n "s/^LVMT $1|  *[^ ]*  *//p" <<<"$con"; }     # an LV's PE ranges
hits() { sed -n "s/^LVMT $1| scanned .*: \([0-9]*\) of .*/\1/p" <<<"$con"; }
same() { [ -n "$(pe "$1")" ] && [ "$(pe "$1")" = "$(pe "$2")" ]; }
zero_ms() { sed -n "s/^LVMT $1| .*zeroed .*(\([0-9]*\) MiB) in \([0-9]*\) ms$/\1 \2/p; s/^LVMT $1| zeroed .* \([0-9]*\) MiB in \([0-9]*\) ms$/\1 \2/p" <<<"$con" | head -n1; }
per_gib() { awk '{ if ($1 > 0) printf "%d ms/GiB", $2 * 1024 / $1; else print "?" }' <<<"$1"; }
check "wipe = none: job 1102's LV is on job 1101's extents ($(pe nw-pe-b))" same nw-pe-a nw-pe-b
check "wipe = none: the scan finds job 1101's data in job 1102's LV ($(hits nw-scan-b) blocks): the leak is real" \
	bash -c '[ "${0:-0}" -gt 0 ]' "$(hits nw-scan-b)"
check "wipe = zero: a new LV on those extents is zeroed at create: nothing found ($(hits zc-scan-a) blocks)" \
	bash -c '[ "$0" = 0 ]' "$(hits zc-scan-a)"
check "... on the same extents" same nw-pe-a zc-pe-a
check "wipe = zero: the wipe is timed in the log (create: $(per_gib "$(zero_ms zc-create-a)"))" [ -n "$(zero_ms zc-create-a)" ]
check "wipe = zero: removal zeroes first: an unwiped LV on the same extents holds nothing ($(hits zc-scan-probe) blocks)" \
	bash -c '[ "$0" = 0 ]' "$(hits zc-scan-probe)"
check "... on the same extents" same zc-pe-a zc-pe-probe
check "wipe = zero: extents freed with data on them (no wipe: a crash, an admin) still show nothing to the next job ($(hits zc-scan-b) blocks)" \
	bash -c '[ "$0" = 0 ]' "$(hits zc-scan-b)"
check "... on the same extents" same zc-pe-probe zc-pe-b
check "remove of a zeroed job still works" rc zc-remove-b 0
off=$(zero_ms zero-offload) noff=$(zero_ms zero-nooffload)
check "wipe speed measured: WRITE ZEROES offloaded $(per_gib "$off"), not offloaded $(per_gib "$noff")" \
	bash -c '[ -n "$0" ] && [ -n "$1" ]' "$off" "$noff"
check "thin pool made with zeroing on (LVM's default)" has pool-zero ' *pool  *zero$'
check "thin: create job 1201 in the pool" has th-create-a 'created 1201 /dev/vg0/vmjob_1201 64 block$'
check "thin: job 1201's LV is a thin volume of vg0/pool, tagged" has th-lvs ' *vmjob_1201|pool|thin|.*vmjob_job_1201'
check "thin: no overcommit: 64 MiB more is refused in one line" \
	has th-over 'error: scratch: thin pool vg0/pool has 3[12] MiB free of 96 MiB (64 MiB promised to thin volumes, [0-9]* MiB written), job asks 64 MiB (--vm-scratch)$'
check "... and leaves nothing behind" hasnt th-lvs-over ' *vmjob_1202|'
check "thin: removal needs no wipe" bash -c '! grep -q "^LVMT th-remove-a| .*zeroed" <<<"$0" && grep -q "^LVMT th-remove-a rc=0" <<<"$0"' "$con"
check "thin: the next job's volume holds nothing of job 1201's ($(hits th-scan-b) blocks)" \
	bash -c '[ "$0" = 0 ]' "$(hits th-scan-b)"
check "thin: a pool that does not zero is refused, clearly" \
	has nz-create 'error: scratch: thin pool vg0/pool does not zero new blocks, so a job could read an earlier job.s data: turn it on (lvchange -Z y vg0/pool) or unset scratch_thinpool$'
check "... and leaves nothing behind" hasnt nz-lvs ' *vmjob_1204|'
check "... rightly: in such a pool a new volume shows old data around what mkfs wrote ($(hits nz-scan) blocks)" \
	bash -c '[ "${0:-0}" -gt 0 ]' "$(hits nz-scan)"
check "thin: an LV that is no thin pool is refused" has pool-notthin 'error: scratch: vg0/pool is not a thin pool (segment type linear)$'
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0
