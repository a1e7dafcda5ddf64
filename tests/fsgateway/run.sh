#!/bin/bash
# tests/fsgateway/run.sh: boot the project's guest image under QEMU (TCG)
# with three exports, serve them with vmfs-server as an ordinary user, and
# run the POSIX, consistency, security and robustness checks
# (tests/fsgateway/guest.sh inside, fixture and host-side checks here).
# TRANSPORT=virtiofs (default): vmfs-server --vhost-user behind QEMU's
# vhost-user-fs-pci devices, the guest kernel's virtiofs driver mounts them
# (vmjob.fsdev=virtiofs). TRANSPORT=serial: virtio-serial ports, the guest's
# vmfs-client forwards /dev/fuse.
# Needs root (useradd, a tmpfs, QEMU). Env: TRANSPORT, NFILES (10000),
# NOPS (2000), SEED, TIMEOUT (600 s), KEEP=1 keeps the work dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
IMG=$B/images
NFILES=${NFILES:-10000} NOPS=${NOPS:-2000} SEED=${SEED:-$RANDOM} TIMEOUT=${TIMEOUT:-600}
TRANSPORT=${TRANSPORT:-virtiofs} MEM=512
case $TRANSPORT in serial|virtiofs) ;; *) echo "run.sh: TRANSPORT=serial|virtiofs" >&2; exit 2 ;; esac
echo "--- transport $TRANSPORT"
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
pids=() kids=()
cleanup() {
	for p in "${pids[@]}" "${kids[@]}"; do kill "$p" 2>/dev/null || true; done
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

# A private copy of the root image with fscheck, and guest.sh in the agent's
# place: vmjob-init runs the guest setup (which mounts the exports with
# /usr/sbin/vmfs-client, replaced by the one just built), then "the agent".
cp "$IMG"/minimal-root.img "$W"/root.img
# The initrd loads the gateway's drivers (fuse, virtiofs) before the root.
initrd_files=$(gzip -dc "$IMG"/minimal-initrd.img | cpio -t --quiet 2>/dev/null)
if [ "$TRANSPORT" = virtiofs ] && ! grep -q '/virtiofs\.ko$' <<< "$initrd_files"; then
	echo "run.sh: $IMG/minimal-initrd.img has no virtiofs module (make images)" >&2; exit 2
fi
{
	echo "mkdir /vmfs-test"
	echo "rm /usr/sbin/vmfs-client"
	echo "write $B/fsgateway/vmfs-client /usr/sbin/vmfs-client"
	echo "sif /usr/sbin/vmfs-client mode 0100755"
	echo "write $B/fsgateway/vmfs-client /vmfs-test/vmfs-client"
	echo "write $B/tests/fsgateway/fscheck /vmfs-test/fscheck"
	echo "write tests/fsgateway/guest.sh /vmfs-test/guest.sh"
	for f in vmfs-client fscheck guest.sh; do echo "sif /vmfs-test/$f mode 0100755"; done
	echo "rm /usr/sbin/vmagent"
	echo "write tests/fsgateway/guest.sh /usr/sbin/vmagent"
	echo "sif /usr/sbin/vmagent mode 0100755"
} > "$W"/debugfs.cmd
debugfs -w -f "$W"/debugfs.cmd "$W"/root.img >/dev/null 2>&1
debugfs -R "ls -l /vmfs-test" "$W"/root.img 2>/dev/null | grep -q vmfs-client || { echo "run.sh: debugfs write failed" >&2; exit 1; }

mkdir -p "$W"/export2 && chown vmfs-a: "$W"/export2
exports=("$E" "$W"/export1 "$W"/export2)
srv=()   # per export: the server (serial) or the bridge (virtiofs)
# Started as root, like hvd does; they drop to the owner before reading.
start_server() { # start_server N ARGS...: vmfs-server for export N
	local n=$1; shift
	$B/fsgateway/vmfs-server "$@" --export "${exports[$n]}" --uid "$OWNER" --gid "$OGID" 2>"$W"/server$n.log &
	srv[$n]=$!; pids+=("$!")
}
qemu_fs=() append=
if [ "$TRANSPORT" = virtiofs ]; then
	# The backends first: a socket path appearing means ready, and QEMU
	# needs them up when it starts.
	for n in 0 1 2; do start_server $n --vhost-user "$W"/vfs$n.sock; done
	for n in 0 1 2; do
		for i in $(seq 100); do [ -S "$W"/vfs$n.sock ] && break; sleep 0.1; done
		[ -S "$W"/vfs$n.sock ] ||
			{ echo "FAIL server $n did not create its socket:"; cat "$W"/server$n.log; exit 1; }
		# no --socket-owner: root's, nobody else may connect
		m=$(stat -c %a:%u:%g "$W"/vfs$n.sock)
		case $m in [67]00:0:0) pass "socket-private $n" ;; *) fail "socket-private $n: mode:uid:gid $m" ;; esac
		qemu_fs+=(-chardev socket,id=vfs$n,path="$W"/vfs$n.sock
			-device vhost-user-fs-pci,chardev=vfs$n,tag=vmjob.fs.$n,queue-size=1024)
	done
	append=" vmjob.fsdev=virtiofs"
else
	qemu_fs=(-device virtio-serial)
	for n in 0 1 2; do
		qemu_fs+=(-chardev socket,id=fs$n,path="$W"/fs$n.sock,server=on,wait=off
			-device virtserialport,chardev=fs$n,name=org.vmjob.fs.$n)
	done
fi

: > "$W"/console.log
qemu-system-x86_64 -accel tcg -m $MEM -smp 1 -display none -no-reboot -net none \
	-serial file:"$W"/console.log -monitor none \
	-object memory-backend-memfd,id=mem,size=${MEM}M,share=on -numa node,memdev=mem \
	-kernel "$IMG"/minimal-vmlinuz -initrd "$IMG"/minimal-initrd.img \
	-append "console=ttyS0 quiet vmjob.fs=0:/mnt/fs0,1:/mnt/fs1$append vmfs.nfiles=$NFILES vmfs.seed=$SEED vmfs.nops=$NOPS" \
	-drive file="$W"/root.img,if=virtio,format=raw -snapshot \
	"${qemu_fs[@]}" &
qpid=$!; pids+=("$qpid")
# Serial: the servers connect to QEMU's sockets (they retry for 10 s).
if [ "$TRANSPORT" = serial ]; then
	for n in 0 1 2; do start_server $n --channel "$W"/fs$n.sock; done
fi

# The processes that serve each export: the server, or the bridge and its
# FUSE child (forked once QEMU connected; give it time).
if [ "$TRANSPORT" = virtiofs ]; then
	for n in 0 1 2; do
		for i in $(seq 300); do
			c=$(pgrep -P "${srv[$n]}" || true)
			[ -n "$c" ] && break; sleep 0.1
		done
		case "$c" in
		"") fail "bridge-has-fuse-child: bridge $n (${srv[$n]}) has no child" ;;
		*[!0-9]*) fail "bridge-has-fuse-child: bridge $n has several: $(echo $c)"; kids[$n]=${c%%$'\n'*} ;;
		*) pass "bridge-has-fuse-child $n"; kids[$n]=$c ;;
		esac
	done
fi
# Each of them is the job owner, with no capability and no way back.
as_owner() { # as_owner NAME PID
	local ids
	ids=$(awk '/^Uid:|^Gid:|^Groups:|^CapEff:|^NoNewPrivs:/ {printf "%s ", $0}' /proc/$2/status 2>/dev/null | tr -s '\t ' ' ')
	case "$ids" in
	*"Uid: $OWNER $OWNER $OWNER $OWNER Gid: $OGID $OGID $OGID $OGID "*"CapEff: 0000000000000000 NoNewPrivs: 1"*) pass "server-runs-as-owner $1" ;;
	*) fail "server-runs-as-owner $1: ${ids:-no such process}" ;;
	esac
}
sleep 1
for n in 0 1 2; do
	if [ "$TRANSPORT" = virtiofs ]; then
		as_owner "bridge$n" "${srv[$n]}"
		if [ -n "${kids[$n]:-}" ]; then as_owner "child$n" "${kids[$n]}"; fi
	else
		as_owner "server$n" "${srv[$n]}"
	fi
done

# Follow the console: kill export 1's server (serial) or its FUSE child,
# not the bridge (virtiofs) when asked; stop at the end or timeout.
start=$(date +%s) killed=0 ended=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ $killed = 0 ] && grep -q KILL-SERVER-1 "$W"/console.log; then
		if [ "$TRANSPORT" = virtiofs ]; then
			if [ -n "${kids[1]:-}" ]; then kill -9 "${kids[1]}"; fi
		else
			kill -9 "${srv[1]}"; wait "${srv[1]}" 2>/dev/null || true
		fi
		killed=1
	fi
	if [ $(($(date +%s) - start)) -gt "$TIMEOUT" ]; then
		fail "guest did not finish within ${TIMEOUT}s"; kill -9 "$qpid"; break
	fi
	# The end reached but no power-off (a sync stuck on a dead mount?)
	if grep -aq VMFS-TEST-END "$W"/console.log; then
		: $((ended += 1))
		[ $ended -gt 30 ] && { fail "guest did not power off within 30 s of its end"; kill -9 "$qpid"; break; }
	fi
	sleep 1
done
wait "$qpid" 2>/dev/null || true
echo "--- guest (seed $SEED, $(($(date +%s) - start)) s)"
grep -aE '^(PASS|FAIL|INFO|random digest|VMFS-|vmfs-client)' "$W"/console.log | tr -d '\r' || true
grep -aq VMFS-TEST-END "$W"/console.log || fail "guest test did not reach its end (see console below)"
grep -aq '^FAIL' "$W"/console.log && fails=$((fails + $(grep -ac '^FAIL' "$W"/console.log)))

echo "--- host"
# The guest is gone: every server must have seen EOF and exited, cleanly
# where its guest side ended normally (also export 2's, whose guest client
# was killed (serial) or which the guest unmounted and mounted again
# (virtiofs)). Export 1's bridge, whose child was killed, must exit too.
gone() { # gone PID: wait up to 5 s for a process that is not our child
	for i in $(seq 50); do
		[ -d /proc/$1 ] && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ] || return 0
		sleep 0.1
	done
	return 1
}
what=server; [ "$TRANSPORT" = virtiofs ] && what=bridge
for n in 0 1 2; do
	s=${srv[$n]}
	[ "$TRANSPORT" = serial ] && [ $n = 1 ] && continue   # killed, reaped above
	for i in $(seq 50); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$s" 2>/dev/null; then
		fail "$what-exits-at-guest-end $n: $s still running"
	else
		rc=0; wait "$s" || rc=$?
		if [ $rc = 0 ]; then pass "$what-exits-at-guest-end $n"
		elif [ $n = 1 ]; then pass "$what-exits-at-guest-end $n (its child was killed; exit status $rc)"
		else fail "$what-exits-at-guest-end $n: exit status $rc"; fi
	fi
	if [ "$TRANSPORT" = virtiofs ] && [ -n "${kids[$n]:-}" ]; then
		gone "${kids[$n]}" && pass "child-exits-at-guest-end $n" || fail "child-exits-at-guest-end $n: ${kids[$n]} still running"
	fi
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
bad=$(find "$E" "$W"/export1 "$W"/export2 -newer "$W"/debugfs.cmd ! -uid "$OWNER" -print)
[ -z "$bad" ] && pass "guest-creations-owned-by-job-owner" || fail "guest-creations-owned-by-job-owner: $bad"
[ "$(cat "$E"/foreign)" = SECRET ] && [ "$(stat -c %U:%a "$E"/foreign)" = vmfs-b:600 ] &&
	pass "foreign-file-untouched" || fail "foreign-file-untouched"
for n in 0 1 2; do
	if [ -s "$W"/server$n.log ]; then echo "--- server $n log"; cat "$W"/server$n.log; fi
done

if [ "$fails" != 0 ]; then
	echo "--- console tail"; tail -40 "$W"/console.log | tr -d '\r'
	echo "fsgateway ($TRANSPORT): $fails failure(s)"; exit 1
fi
echo "fsgateway ($TRANSPORT): all passed"
