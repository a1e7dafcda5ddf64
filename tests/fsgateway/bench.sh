#!/bin/bash
# tests/fsgateway/bench.sh: one guest, every shared-filesystem option, one
# table. Boots build/images/minimal-* under QEMU (TCG unless ACCEL=kvm) with
# all the transports attached at once, and runs tests/fsgateway/fsbench.c
# on each mount in turn (bench-guest.sh inside):
#   chan       the raw virtio-serial port (host: socat to /dev/zero and
#              /dev/null): the most any protocol over such a port can do
#   local      the guest's scratch disk (virtio-blk, ext4), the upper bound
#   gw         the gateway: the guest's virtiofs driver -> vhost-user-fs-pci
#              (tag benchgw) -> vmfs-server --vhost-user (bridge + server)
#   gw-serial  the gateway's other transport: vmfs-client -> virtio-serial
#              -> vmfs-server --channel
#   sshfs      sshfs -o passive -> virtio-serial -> socat -> sftp-server
#   sshfs-seed the same with the seed's options (SSHFS_SEED below)
#   9p         QEMU's virtio-9p (-fsdev local, security_model=none)
#   virtiofs   virtiofsd (QEMU 7.2's C one) over vhost-user-fs, cache=auto
# Both vhost-user-fs devices have queue-size=1024 (as hvd gives the gateway).
# Needs root (QEMU, cache drops, useradd). Env: SIZE_MB (1024; 256 for a
# quick run), RAND_SECS (20), NFILES (5000), ROWS (all, comma separated),
# MEM (2048 MiB), SMP (1), TIMEOUT (1800 s), KEEP=1 keeps the work dir,
# GW_BASE=DIR (a vmfs-server with --vhost-user built elsewhere, e.g. from
# an older commit) adds the row gw-base, that server over a third virtio-fs
# device (tag benchgwbase): before/after in the same guest.
# Results: the table on stdout, raw lines in build/fsbench/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
IMG=$B/images
O=$B/fsbench
SIZE_MB=${SIZE_MB:-1024} RAND_SECS=${RAND_SECS:-20} NFILES=${NFILES:-5000}
ROWS=${ROWS:-chan,local,gw,gw-serial,sshfs,sshfs-seed,9p,virtiofs}
MEM=${MEM:-2048} SMP=${SMP:-1} TIMEOUT=${TIMEOUT:-1800} ACCEL=${ACCEL:-tcg}
SSHFS_SEED=direct_io,no_readahead,sshfs_sync
SFTP_SERVER=/usr/lib/openssh/sftp-server VIRTIOFSD=/usr/lib/qemu/virtiofsd

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root" >&2; exit 2; }
for f in $IMG/minimal-root.img $IMG/minimal-vmlinuz $IMG/minimal-initrd.img; do
	[ -f "$f" ] || { echo "bench.sh: $f missing (make images)" >&2; exit 2; }
done
for f in /usr/bin/sshfs $SFTP_SERVER $VIRTIOFSD /usr/bin/socat; do
	[ -x "$f" ] || { echo "bench.sh: $f missing (apt-get install sshfs openssh-sftp-server socat qemu-system-common)" >&2; exit 2; }
done
make -s $B/fsgateway/vmfs-server $B/fsgateway/vmfs-client $O/fsbench
id vmfs-a >/dev/null 2>&1 || useradd -M -u 5101 -s /usr/sbin/nologin vmfs-a
OWNER=$(id -u vmfs-a) OGID=$(id -g vmfs-a)

W=$(mktemp -d /tmp/fsbench.XXXXXX)
chmod 755 "$W"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "work dir kept: $W" || rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W"/export/{gw,gw-serial,gw-base,sshfs,sshfs-seed,9p,virtiofs}
chown vmfs-a: "$W"/export/{gw,gw-serial,gw-base,sshfs,sshfs-seed}
if [ -n "${GW_BASE:-}" ]; then
	"$GW_BASE"/vmfs-server --help 2>&1 | grep -q -- --vhost-user ||
		{ echo "bench.sh: GW_BASE=$GW_BASE has no vmfs-server with --vhost-user" >&2; exit 2; }
	# gw-base runs before each gw unless ROWS places it already.
	case ",$ROWS," in *,gw-base,*) ;; *) ROWS=$(echo "$ROWS" | tr , '\n' | awk '$0 == "gw" {print "gw-base"} {print}' | paste -sd,) ;; esac
fi

# ---- the benchmark image: a copy of the minimal root, grown, with the
# tool, sshfs and its libraries, the 9p/virtiofs modules and our init.
KDIR=$(realpath $IMG/cache/kernel)
KVER=$(ls "$KDIR"/lib/modules | head -n1)
[ -s "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"
mods=$(for m in 9pnet_virtio 9p virtiofs; do modprobe -d "$KDIR" -S "$KVER" --show-depends $m; done |
	sed -n "s|^insmod $KDIR/lib/modules/$KVER/||p" | sed 's/ *$//' | awk '!seen[$0]++')
echo "$mods" | xargs -n1 basename > "$W"/modules.load
cp "$IMG"/minimal-root.img "$O"/root.img
truncate -s 256M "$O"/root.img
e2fsck -fy "$O"/root.img >/dev/null 2>&1 || true
resize2fs "$O"/root.img >/dev/null 2>&1
{
	echo "mkdir /fsbench"; echo "mkdir /fsbench/lib"; echo "mkdir /fsbench/mods"
	echo "write $O/fsbench /fsbench/fsbench"
	echo "write $B/fsgateway/vmfs-client /fsbench/vmfs-client"
	echo "write tests/fsgateway/bench-guest.sh /fsbench/bench-guest.sh"
	echo "write /usr/bin/sshfs /fsbench/sshfs"
	for f in fsbench vmfs-client bench-guest.sh sshfs; do echo "sif /fsbench/$f mode 0100755"; done
	# sshfs is dynamic: its libraries (and the loader) under their sonames.
	ldd /usr/bin/sshfs | awk '/=> \// {print $1, $3} /^\t\/lib64/ {print "ld-linux-x86-64.so.2", $1}' |
		cat - <(echo libgcc_s.so.1 /lib/x86_64-linux-gnu/libgcc_s.so.1) |
		while read -r so path; do echo "write $path /fsbench/lib/$so"; done
	echo "sif /fsbench/lib/ld-linux-x86-64.so.2 mode 0100755"
	for m in $mods; do echo "write $KDIR/lib/modules/$KVER/$m /fsbench/mods/$(basename "$m")"; done
	echo "write $W/modules.load /fsbench/modules.load"
	# vmjob-init runs the guest setup, then this in the agent's place
	echo "rm /usr/sbin/vmagent"
	echo "write tests/fsgateway/bench-guest.sh /usr/sbin/vmagent"
	echo "sif /usr/sbin/vmagent mode 0100755"
} > "$W"/debugfs.cmd
debugfs -w -f "$W"/debugfs.cmd "$O"/root.img >"$W"/debugfs.log 2>&1
debugfs -R "ls /fsbench/lib" "$O"/root.img 2>/dev/null | grep -q ld-linux ||
	{ echo "bench.sh: debugfs write failed" >&2; cat "$W"/debugfs.log >&2; exit 1; }
# The scratch disk, fresh every run (the initrd mounts vdb at /tmp).
rm -f "$O"/scratch.img
truncate -s $((SIZE_MB * 2 + 1024))M "$O"/scratch.img
mkfs.ext4 -q -F -L scratch "$O"/scratch.img

# ---- host ends. The vhost-user servers start first (QEMU connects to
# them at start): virtiofsd, and the gateway as hvd starts it (root; the
# bridge and its FUSE child drop to the owner before reading the guest).
$VIRTIOFSD --socket-path="$W"/vfs.sock -o source="$W"/export/virtiofs -o cache=auto \
	>"$W"/virtiofsd.log 2>&1 &
pids+=($!)
$B/fsgateway/vmfs-server --vhost-user "$W"/gw.sock --export "$W"/export/gw \
	--uid "$OWNER" --gid "$OGID" 2>"$W"/server.log &
pids+=($!)
vhost_sockets="vfs gw"
if [ -n "${GW_BASE:-}" ]; then
	"$GW_BASE"/vmfs-server --vhost-user "$W"/gwbase.sock --export "$W"/export/gw-base \
		--uid "$OWNER" --gid "$OGID" 2>"$W"/server-base.log &
	pids+=($!)
	vhost_sockets="$vhost_sockets gwbase"
fi
qemu_gwbase=()
for s in $vhost_sockets; do
	for i in $(seq 100); do [ -S "$W/$s.sock" ] && break; sleep 0.1; done
	[ -S "$W/$s.sock" ] || { echo "bench.sh: $W/$s.sock did not appear" >&2; cat "$W"/*.log >&2; exit 1; }
done
[ -n "${GW_BASE:-}" ] && qemu_gwbase=(-chardev socket,id=gwbase,path="$W"/gwbase.sock
	-device vhost-user-fs-pci,chardev=gwbase,tag=benchgwbase,queue-size=1024)

: > "$W"/console.log
qemu-system-x86_64 -accel "$ACCEL" -m "$MEM" -smp "$SMP" -display none -no-reboot -net none \
	-serial file:"$W"/console.log -monitor none \
	-object memory-backend-memfd,id=mem,size="$MEM"M,share=on,prealloc=on -numa node,memdev=mem \
	-kernel "$IMG"/minimal-vmlinuz -initrd "$IMG"/minimal-initrd.img \
	-append "console=ttyS0 quiet fsbench.size=$SIZE_MB fsbench.secs=$RAND_SECS fsbench.nfiles=$NFILES fsbench.rows=$ROWS fsbench.sftp0=$W/export/sshfs fsbench.sftp1=$W/export/sshfs-seed fsbench.sshfs_seed=$SSHFS_SEED" \
	-drive file="$O"/root.img,if=virtio,format=raw \
	-drive file="$O"/scratch.img,if=virtio,format=raw \
	-device virtio-serial \
	-chardev socket,id=ctl,path="$W"/ctl.sock,server=on,wait=off \
	-device virtserialport,chardev=ctl,name=org.vmjob.bench.ctl \
	-chardev socket,id=raw,path="$W"/raw.sock,server=on,wait=off \
	-device virtserialport,chardev=raw,name=org.vmjob.bench.raw \
	-chardev socket,id=fs0,path="$W"/fs0.sock,server=on,wait=off \
	-device virtserialport,chardev=fs0,name=org.vmjob.fs.0 \
	-chardev socket,id=sf0,path="$W"/sf0.sock,server=on,wait=off \
	-device virtserialport,chardev=sf0,name=org.vmjob.sftp.0 \
	-chardev socket,id=sf1,path="$W"/sf1.sock,server=on,wait=off \
	-device virtserialport,chardev=sf1,name=org.vmjob.sftp.1 \
	-fsdev local,id=p9,path="$W"/export/9p,security_model=none \
	-device virtio-9p-pci,fsdev=p9,mount_tag=bench9p \
	-chardev socket,id=vfs,path="$W"/vfs.sock \
	-device vhost-user-fs-pci,chardev=vfs,tag=benchvfs,queue-size=1024 \
	-chardev socket,id=gw,path="$W"/gw.sock \
	-device vhost-user-fs-pci,chardev=gw,tag=benchgw,queue-size=1024 \
	"${qemu_gwbase[@]}" &
qpid=$!; pids+=("$qpid")
for s in ctl raw fs0 sf0 sf1; do
	for i in $(seq 100); do [ -S "$W/$s.sock" ] && break; sleep 0.1; done
done
# The serial gateway as hvd starts it (root, drops to the owner before reading).
$B/fsgateway/vmfs-server --channel "$W"/fs0.sock --export "$W"/export/gw-serial \
	--uid "$OWNER" --gid "$OGID" 2>"$W"/server-serial.log &
pids+=($!)
# sftp-server as the ordinary user, its SFTP stream straight on the port.
for n in 0 1; do
	d=$W/export/sshfs; [ $n = 1 ] && d=$W/export/sshfs-seed
	socat UNIX-CONNECT:"$W"/sf$n.sock EXEC:"$SFTP_SERVER -d $d",su=vmfs-a 2>"$W"/socat$n.log &
	pids+=($!)
done
# Control port: "drop" -> flush and drop the host's page cache -> "ok".
cat > "$W"/ctl.sh <<'EOF'
#!/bin/bash
while read -r line; do sync; echo 3 > /proc/sys/vm/drop_caches; echo ok; done
EOF
chmod 755 "$W"/ctl.sh
socat UNIX-CONNECT:"$W"/ctl.sock EXEC:"$W"/ctl.sh 2>"$W"/ctl.log &
pids+=($!)

# Raw port: SIZE_MB of zeros to the guest, then swallow what it sends back.
socat UNIX-CONNECT:"$W"/raw.sock SYSTEM:"head -c ${SIZE_MB}M /dev/zero; cat >/dev/null" 2>"$W"/raw.log &
pids+=($!)

start=$(date +%s)
while kill -0 "$qpid" 2>/dev/null; do
	if [ $(($(date +%s) - start)) -gt "$TIMEOUT" ]; then
		echo "bench.sh: guest did not finish within ${TIMEOUT}s" >&2; kill -9 "$qpid"; break
	fi
	sleep 1
done
wait "$qpid" 2>/dev/null || true
elapsed=$(($(date +%s) - start))
tr -d '\r' < "$W"/console.log > "$O"/console.log
grep -a '^FSBENCH' "$O"/console.log > "$O"/results.txt || true
grep -a ' error ' "$O"/results.txt >&2 || true
grep -aq FSBENCH-END "$O"/console.log || { echo "bench.sh: guest did not reach the end" >&2; tail -30 "$O"/console.log >&2; }

# ---- the table
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r) host $(nproc) cpus; qemu -accel $ACCEL -m $MEM -smp $SMP; ${elapsed}s"
	grep -a '^FSBENCH-CONFIG' "$O"/results.txt | sed 's/^FSBENCH-CONFIG/# guest:/'
} | tee "$O"/table.txt
awk -v rows="$ROWS" '
# Repeated rows: the median of their runs (the count is in results.txt).
$1 == "FSBENCH" && $3 != "error" { k = $2 SUBSEP $3; c[k]++; all[k, c[k]] = $4 }
END {
	for (k in c) {
		for (i = 1; i <= c[k]; i++) srt[i] = all[k, i]
		for (i = 2; i <= c[k]; i++) for (j = i; j > 1 && srt[j - 1] > srt[j]; j--) { t = srt[j]; srt[j] = srt[j - 1]; srt[j - 1] = t }
		v[k] = c[k] % 2 ? srt[(c[k] + 1) / 2] : (srt[c[k] / 2] + srt[c[k] / 2 + 1]) / 2
	}
	nr = split(rows, rr, ","); n = 0
	for (i = 1; i <= nr; i++) if (!(rr[i] in seen)) { seen[rr[i]] = 1; r[++n] = rr[i] }
	split("seqwrite seqread randread randread_bw create stat unlink", m, " ")
	printf "%-11s %10s %10s %10s %10s %9s %9s %9s\n", "row", "write MB/s", "read MB/s", "4K IOPS", "4K MB/s", "create/s", "stat/s", "unlink/s"
	for (i = 1; i <= n; i++) {
		printf "%-11s", r[i]
		for (j = 1; j <= 7; j++) {
			x = ((r[i], m[j]) in v) ? sprintf(v[r[i], m[j]] >= 1000 ? "%.0f" : "%.1f", v[r[i], m[j]]) : "-"
			printf (j <= 4 ? " %10s" : " %9s"), x
		}
		printf "\n"
	}
	# The targets: the gateway beats both sshfs rows everywhere and has
	# at least 80% of virtiofs on the throughput columns (gw-serial: the
	# same figures for the virtio-serial transport).
	split("gw gw-serial", gws, " ")
	for (k = 1; k <= 2; k++) for (j = 1; j <= 7; j++) {
		g = v[gws[k], m[j]]; s1 = v["sshfs", m[j]]; s2 = v["sshfs-seed", m[j]]; f = v["virtiofs", m[j]]
		if (g == "") continue
		line = sprintf("%s/%s: ", gws[k], m[j])
		if (s1 != "") line = line sprintf("x%.2f sshfs ", g / s1)
		if (s2 != "") line = line sprintf("x%.2f sshfs-seed ", g / s2)
		if (f != "") line = line sprintf("%.0f%% of virtiofs", 100 * g / f)
		print "# " line
	}
}' "$O"/results.txt | tee -a "$O"/table.txt
