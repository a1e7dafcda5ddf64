#!/bin/bash
# tests/fsgateway/run.sh: boot the project's guest image under QEMU (TCG)
# with two filesystem ports, serve them with vmfs-server as an ordinary
# user, and run the POSIX, consistency, security and robustness checks
# (tests/fsgateway/guest.sh inside, fixture and host-side checks here).
# Needs root (useradd, a tmpfs, QEMU). Env: NFILES (10000), NOPS (2000),
# SEED, TIMEOUT (600 s), KEEP=1 keeps the work dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
IMG=$B/images
NFILES=${NFILES:-10000} NOPS=${NOPS:-2000} SEED=${SEED:-$RANDOM} TIMEOUT=${TIMEOUT:-600}
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
for f in $IMG/minimal-root.img $IMG/minimal-vmlinuz $IMG/minimal-initrd.img; do
	[ -f "$f" ] || { echo "run.sh: $f missing (make images)" >&2; exit 2; }
done
make -s $B/fsgateway/vmfs-server $B/fsgateway/vmfs-client $B/tests/fsgateway/fscheck $B/tests/fsgateway/hostile

# Two unprivileged users: the job owner and somebody else.
id vmfs-a >/dev/null 2>&1 || useradd -M -u 5101 -s /usr/sbin/nologin vmfs-a
id vmfs-b >/dev/null 2>&1 || useradd -M -u 5102 -s /usr/sbin/nologin vmfs-b
OWNER=$(id -u vmfs-a) OGID=$(id -g vmfs-a)

W=$(mktemp -d /tmp/vmfs-test.XXXXXX)
chmod 755 "$W"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	umount "$W/export/small" 2>/dev/null || true
	rm -f /tmp/vmfs-outside-marker
	[ "${KEEP:-0}" = 1 ] && echo "work dir kept: $W" || rm -rf "$W"
}
trap cleanup EXIT

# Fixture: the export (owned by the job owner) with traps in it.
E=$W/export
mkdir -p "$E"/p "$E"/rand/d0/e0 "$E"/rand/d1 "$E"/small "$W"/export1 "$W"/outside "$W"/ref/d0/e0 "$W"/ref/d1
echo vmfs-host-marker > "$W"/outside/MARKER
echo vmfs-host-marker > /tmp/vmfs-outside-marker
echo SECRET > "$E"/foreign && chown vmfs-b: "$E"/foreign && chmod 600 "$E"/foreign
mkdir "$E"/foreigndir && echo in > "$E"/foreigndir/inner && chown -R vmfs-b: "$E"/foreigndir && chmod 700 "$E"/foreigndir
echo mine > "$E"/mine
ln -s "$W"/outside/MARKER "$E"/esc_abs
ln -s ../outside/MARKER "$E"/esc_rel
ln -s /etc/shadow "$E"/shadow_link
mount -t tmpfs -o size=16m,mode=755 tmpfs "$E"/small
chown -R vmfs-a: "$E"/p "$E"/rand "$E"/small "$E"/mine "$W"/export1 "$W"/ref
chown vmfs-a: "$E"

# The raw-protocol attacks first: no VM needed, a socketpair stands in.
mkdir "$W"/hostile && chown vmfs-a: "$W"/hostile
echo "--- hostile guest (raw FUSE over a socketpair)"
$B/tests/fsgateway/hostile $B/fsgateway/vmfs-server "$W"/hostile "$OWNER" "$OGID" 2>"$W"/hostile.log > "$W"/hostile.out || true
cat "$W"/hostile.out
fails=$((fails + $(grep -c '^FAIL' "$W"/hostile.out || true)))
grep -q '^PASS still-serving' "$W"/hostile.out || { fail "hostile did not complete"; cat "$W"/hostile.log; }

# A private copy of the root image with the client, fscheck and an inittab
# that runs guest.sh instead of the agent (nothing is mounted on the host).
cp "$IMG"/minimal-root.img "$W"/root.img
{
	echo "mkdir /vmfs-test"
	echo "write $B/fsgateway/vmfs-client /vmfs-test/vmfs-client"
	echo "write $B/tests/fsgateway/fscheck /vmfs-test/fscheck"
	echo "write tests/fsgateway/guest.sh /vmfs-test/guest.sh"
	for f in vmfs-client fscheck guest.sh; do echo "sif /vmfs-test/$f mode 0100755"; done
	echo "rm /etc/inittab"
	printf '::sysinit:/etc/init.d/rcS\n::sysinit:/vmfs-test/guest.sh\n' > "$W"/inittab
	echo "write $W/inittab /etc/inittab"
} > "$W"/debugfs.cmd
debugfs -w -f "$W"/debugfs.cmd "$W"/root.img >/dev/null 2>&1
debugfs -R "ls -l /vmfs-test" "$W"/root.img 2>/dev/null | grep -q vmfs-client || { echo "run.sh: debugfs write failed" >&2; exit 1; }

: > "$W"/console.log
qemu-system-x86_64 -accel tcg -m 512 -smp 1 -display none -no-reboot -net none \
	-serial file:"$W"/console.log -monitor none \
	-kernel "$IMG"/minimal-vmlinuz -initrd "$IMG"/minimal-initrd.img \
	-append "console=ttyS0 quiet vmjob.fs=0:/mnt/fs0,1:/mnt/fs1 vmfs.nfiles=$NFILES vmfs.seed=$SEED vmfs.nops=$NOPS" \
	-drive file="$W"/root.img,if=virtio,format=raw -snapshot \
	-device virtio-serial \
	-chardev socket,id=fs0,path="$W"/fs0.sock,server=on,wait=off \
	-device virtserialport,chardev=fs0,name=org.vmjob.fs.0 \
	-chardev socket,id=fs1,path="$W"/fs1.sock,server=on,wait=off \
	-device virtserialport,chardev=fs1,name=org.vmjob.fs.1 \
	-chardev socket,id=fs2,path="$W"/fs2.sock,server=on,wait=off \
	-device virtserialport,chardev=fs2,name=org.vmjob.fs.2 &
qpid=$!; pids+=("$qpid")

# Started as root, like hvd does; they drop to the owner before reading.
$B/fsgateway/vmfs-server --channel "$W"/fs0.sock --export "$E" --uid "$OWNER" --gid "$OGID" 2>"$W"/server0.log &
s0=$!; pids+=("$s0")
$B/fsgateway/vmfs-server --channel "$W"/fs1.sock --export "$W"/export1 --uid "$OWNER" --gid "$OGID" 2>"$W"/server1.log &
s1=$!; pids+=("$s1")
mkdir -p "$W"/export2 && chown vmfs-a: "$W"/export2
$B/fsgateway/vmfs-server --channel "$W"/fs2.sock --export "$W"/export2 --uid "$OWNER" --gid "$OGID" 2>"$W"/server2.log &
s2=$!; pids+=("$s2")

sleep 1
ids=$(awk '/^Uid:|^Gid:|^Groups:|^CapEff:|^NoNewPrivs:/ {printf "%s ", $0}' /proc/$s0/status | tr -s '\t ' ' ')
case "$ids" in
*"Uid: $OWNER $OWNER $OWNER $OWNER Gid: $OGID $OGID $OGID $OGID "*"CapEff: 0000000000000000 NoNewPrivs: 1"*) pass "server-runs-as-owner" ;;
*) fail "server-runs-as-owner: $ids" ;;
esac

# Follow the console: kill server 1 when asked, stop at the end or timeout.
start=$(date +%s) killed=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ $killed = 0 ] && grep -q KILL-SERVER-1 "$W"/console.log; then
		kill -9 "$s1"; wait "$s1" 2>/dev/null || true; killed=1
	fi
	if [ $(($(date +%s) - start)) -gt "$TIMEOUT" ]; then
		fail "guest did not finish within ${TIMEOUT}s"; kill -9 "$qpid"; break
	fi
	sleep 1
done
wait "$qpid" 2>/dev/null || true
echo "--- guest (seed $SEED, $(($(date +%s) - start)) s)"
grep -aE '^(PASS|FAIL|random digest|VMFS-|vmfs-client)' "$W"/console.log | tr -d '\r' || true
grep -aq VMFS-TEST-END "$W"/console.log || fail "guest test did not reach its end (see console below)"
grep -aq '^FAIL' "$W"/console.log && fails=$((fails + $(grep -ac '^FAIL' "$W"/console.log)))

echo "--- host"
# The guest is gone: its servers (also the one whose client was killed)
# must have seen EOF and exited cleanly.
for s in "$s0" "$s2"; do
	for i in $(seq 50); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$s" 2>/dev/null; then fail "server-exits-at-guest-end: $s still running"
	elif wait "$s"; then pass "server-exits-at-guest-end"
	else fail "server-exits-at-guest-end: exit status $?"; fi
done

# Consistency: the same random run on a plain host dir, as the owner.
guest_digest=$(grep -a '^random digest' "$W"/console.log | tr -d '\r' | awk '{print $3}')
ref_digest=$(su -s /bin/sh vmfs-a -c "$B/tests/fsgateway/fscheck random $W/ref $SEED $NOPS" | awk '{print $3}')
[ -n "$guest_digest" ] && [ "$guest_digest" = "$ref_digest" ] && pass "random-ops-results-match" ||
	fail "random-ops-results-match: guest $guest_digest host $ref_digest"
$B/tests/fsgateway/fscheck manifest "$W"/ref > "$W"/manifest.ref
$B/tests/fsgateway/fscheck manifest "$E"/rand > "$W"/manifest.export
diff -u "$W"/manifest.ref "$W"/manifest.export >/dev/null && pass "random-tree-host-matches-reference" ||
	fail "random-tree-host-matches-reference: $(diff "$W"/manifest.ref "$W"/manifest.export | head -5)"
diff -u "$W"/manifest.ref "$E"/manifest.guest >/dev/null && pass "random-tree-guest-view-matches-host" ||
	fail "random-tree-guest-view-matches-host: $(diff "$W"/manifest.ref "$E"/manifest.guest | head -5)"

bad=$(find "$E" "$W"/export1 "$W"/export2 \( -perm /6000 -o -type b -o -type c -o -type s \) -print)
[ -z "$bad" ] && pass "no-setuid-or-devices-on-host" || fail "no-setuid-or-devices-on-host: $bad"
bad=$(find "$E" "$W"/export1 -newer "$W"/debugfs.cmd ! -uid "$OWNER" -print)
[ -z "$bad" ] && pass "guest-creations-owned-by-job-owner" || fail "guest-creations-owned-by-job-owner: $bad"
[ "$(cat "$E"/foreign)" = SECRET ] && [ "$(stat -c %U:%a "$E"/foreign)" = vmfs-b:600 ] &&
	pass "foreign-file-untouched" || fail "foreign-file-untouched"
cat "$W"/server0.log

if [ "$fails" != 0 ]; then
	echo "--- console tail"; tail -40 "$W"/console.log | tr -d '\r'
	echo "fsgateway: $fails failure(s)"; exit 1
fi
echo "fsgateway: all passed"
