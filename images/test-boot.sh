#!/bin/sh
# Boot the built "minimal" image with plain QEMU (no hvd, no libvirt) and check
# the agent end to end with build/tests/agent-hello. TCG unless ACCEL=kvm.
#   [ACCEL=kvm] [KERNEL=minimal-vmlinux] [ROOT=debian12-root.img] [INIT=image]
#   images/test-boot.sh [BUILD_DIR]
set -u
B=$(realpath "${1:-build}")
IMG=$B/images
HELLO=$B/tests/agent-hello
ACCEL=${ACCEL:-tcg}
KERNEL=${KERNEL:-minimal-vmlinuz} # KERNEL=minimal-vmlinux: the PVH entry
ROOT=${ROOT:-minimal-root.img}    # ROOT=debian12-root.img: the Debian worker
INIT=${INIT:-vmjob}               # INIT=image: the image's own init (systemd)
W=$(mktemp -d "${TMPDIR:-/tmp}/vmjob-boot.XXXXXX")
QPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# check NAME EXPECTED_RC EXPECTED_STDOUT_PATTERN -- agent-hello args...
check() {
	name=$1 want_rc=$2 pat=$3; shift 4
	out=$("$HELLO" "$W/agent.sock" 30 "$@" 2>"$W/err"); rc=$?
	if [ "$rc" = "$want_rc" ] && printf '%s\n' "$out" | grep -Eq -- "$pat"; then
		ok "$name (rc=$rc)"
	else
		bad "$name: rc=$rc (want $want_rc), stdout: $(printf '%s' "$out" | head -c 300), stderr: $(grep -v '^agent ready\|^kernel\|^hostname' "$W/err" | head -c 300)"
	fi
}
qemu() { # qemu CMDLINE_EXTRA ARGS...
	extra=$1; shift
	qemu-system-x86_64 -machine q35 -accel "$ACCEL" -m 256 -nographic -no-reboot -net none \
		-kernel "$IMG/$KERNEL" -initrd "$IMG/minimal-initrd.img" \
		-append "console=ttyS0 quiet $extra" "$@"
}

# 1. probe: prints the marker and powers off by itself
t0=$(date +%s%N)
qemu "vmjob.probe=1" > "$W/probe.log" 2>&1 </dev/null &
ppid=$!
( sleep 120; kill $ppid 2>/dev/null ) &
wait $ppid
t1=$(date +%s%N)
if grep -aq VMJOB-PROBE-OK "$W/probe.log"; then
	ok "probe: VMJOB-PROBE-OK, qemu exited after $(( (t1 - t0) / 1000000 )) ms"
else
	bad "probe: no marker"
fi

# 2. a worker boot
qemu-img create -q -f qcow2 -F raw -b "$IMG/$ROOT" "$W/root.qcow2"
truncate -s 1G "$W/scratch.img" && mkfs.ext4 -q "$W/scratch.img"
qemu "vmjob.hostname=vmjob-test vmjob.init=$INIT" \
	-drive file="$W/root.qcow2",if=virtio -drive file="$W/scratch.img",if=virtio,format=raw \
	-device virtio-serial -chardev socket,id=agent,path="$W/agent.sock",server=on,wait=off \
	-device virtserialport,chardev=agent,name=org.vmjob.agent > "$W/console.log" 2>&1 </dev/null &
QPID=$!
if "$HELLO" "$W/agent.sock" 120 > "$W/ready"; then
	ok "$(head -n1 "$W/ready") ($(sed -n 2p "$W/ready"))"
else
	bad "agent never became ready"; tail -20 "$W/console.log"; exit 1
fi
check "uname -r is Debian 6.1" 0 '^6\.1\.0-.*-amd64$' -- --exec uname -r
check "hostname from cmdline" 0 '^vmjob-test$' -- --exec hostname
check "exit status propagates" 42 '' -- --exec sh -c 'exit 42'
check "killed by signal 9" 137 '' -- --exec sh -c 'kill -9 $$'
check "SIGNAL to the process group" 143 '' -- --signal 500:15 --exec sh -c 'sleep 30; echo not-killed'
check "uid/gid/groups switch" 0 '^uid=1000 gid=1001 groups=(1001,)?27(\(sudo\))?,100(\(users\))?$' -- --uid 1000 --gid 1001 --group 27 --group 100 --exec id
check "missing command" 127 '' -- --exec nosuchcmd
grep -q 'nosuchcmd: No such file' "$W/err" || bad "missing command: no message on stderr"
check "missing cwd falls back to /tmp" 0 '^/tmp$' -- --cwd /does/not/exist --exec pwd
grep -q 'working directory /does/not/exist does not exist in the VM; starting in /tmp' "$W/err" ||
	bad "missing cwd: no stderr line"
check "TMPDIR and scratch /tmp" 0 '^/tmp /dev/vdb 1777$' -- --exec sh -c 'echo $TMPDIR $(df /tmp | tail -1 | cut -d" " -f1) $(stat -c %a /tmp)'
check "pty" 0 '^/dev/pts/[0-9]+ 24 80 tty' -- --pty --uid 1000 --gid 1000 --exec sh -c 'echo $(tty) $(stty size) $(test -t 0 && echo tty)' </dev/null
printf '#!/bin/sh\necho "script as $(id -u) mode $(stat -c %%a "$0")"\n' > "$W/job.sh"
check "script" 0 '^script as 1000 mode 700$' -- --uid 1000 --gid 1000 --script "$W/job.sh" --exec job.sh
head -c 3000000 /dev/urandom > "$W/rnd"
want=$(md5sum < "$W/rnd" | cut -d' ' -f1)
check "stdin 3 MB" 0 "^$want" -- --exec md5sum < "$W/rnd"
want=$(seq 1 200000 | md5sum | cut -d' ' -f1)
check "stdout 1.3 MB" 0 "^$want" -- --exec sh -c 'seq 1 200000 | md5sum'
t0=$(date +%s%N)
check "8 concurrent commands" 0 'done' -- --jobs 8 --exec sh -c 'sleep 2; echo done'
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 6000 ] && ok "8 x sleep 2 took $(( (t1 - t0) / 1000000 )) ms" ||
	bad "8 x sleep 2 took $(( (t1 - t0) / 1000000 )) ms (not concurrent?)"
check "reconnect: agent answers a new host" 0 '' --
if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed; console:"; tail -20 "$W/console.log"
	exit 1
fi
echo "all checks passed"
