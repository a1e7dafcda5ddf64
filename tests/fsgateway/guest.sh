#!/bin/sh
# Runs inside the test VM in the agent's place (vmjob-init started it after
# the guest setup, which mounted the exports the kernel command line lists,
# as in every vmjob VM: images/guest/setup), runs fscheck on them,
# prints PASS/FAIL lines on the console for run.sh, then powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /mnt/fs2
T=/vmfs-test
arg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}";; esac; done; }
NFILES=$(arg vmfs.nfiles); SEED=$(arg vmfs.seed); NOPS=$(arg vmfs.nops)
FSTYPE=fuse.vmfs; [ "$(arg vmjob.fsdev)" = virtiofs ] && FSTYPE=virtiofs
# bounded [-q] SECS NAME CMD...: CMD must end within SECS, else "FAIL NAME"
# (a hang: the test goes on without it). Without -q it also prints PASS NAME,
# or FAIL NAME with CMD's exit status; -q: CMD prints its own result.
bounded() {
	q=; [ "$1" = -q ] && { q=1; shift; }
	secs=$1 name=$2; shift 2
	"$@" &
	bp=$! i=0
	while kill -0 $bp 2>/dev/null; do
		if [ $i -ge $((secs * 10)) ]; then
			echo "FAIL $name: still blocked after ${secs}s (a hang)"
			return 1
		fi
		sleep 0.1; i=$((i + 1))
	done
	wait $bp
	rc=$?
	if [ -z "$q" ]; then
		[ $rc = 0 ] && echo "PASS $name" || echo "FAIL $name: exit status $rc"
	fi
	return $rc
}
echo "VMFS-TEST-START"
if [ ! -e /run/vmjob-fs-error ] && grep -q " /mnt/fs0 $FSTYPE " /proc/mounts &&
	grep -q " /mnt/fs1 $FSTYPE " /proc/mounts; then
	echo "PASS mount"
else
	echo "FAIL mount: $(cat /run/vmjob-fs-error 2>/dev/null)"
fi
grep -E ' (fuse[^ ]*|virtiofs) ' /proc/mounts
$T/fscheck posix /mnt/fs0/p "$NFILES"
$T/fscheck sec /mnt/fs0
$T/fscheck exdev /mnt/fs0/p /mnt/fs1         # two mounts: the guest kernel says EXDEV
$T/fscheck exdev /mnt/fs0/p /mnt/fs0/small   # host mount inside the export: the host says it
$T/fscheck enospc /mnt/fs0/small
$T/fscheck random /mnt/fs0/rand "$SEED" "$NOPS"
$T/fscheck manifest /mnt/fs0/rand > /mnt/fs0/manifest.guest && echo "PASS manifest-written"
if [ $FSTYPE = fuse.vmfs ]; then
	# A killed client: the guest kernel aborts that mount (ENOTCONN, no
	# hang); on the host its server idles until the VM ends, then exits.
	$T/vmfs-client -f -w 30 org.vmjob.fs.2 /mnt/fs2 &
	cpid=$!
	i=0; while ! grep -q ' /mnt/fs2 ' /proc/mounts && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	ls /mnt/fs2 >/dev/null && echo "PASS third-mount"
	kill -9 $cpid
	$T/fscheck notconn /mnt/fs2
else
	# Guest root may unmount a virtio-fs export (the server gets DESTROY)
	# and mount it again: a new INIT on the same device and server. That
	# must not hang; whether it works is reported, not required (the
	# server may refuse a second INIT: ECONNREFUSED on the new mount).
	vfs_ls() { mount -t virtiofs -o nosuid,nodev vmjob.fs.2 /mnt/fs2 && ls /mnt/fs2 >/dev/null; }
	bounded 60 third-mount vfs_ls
	bounded 60 umount umount /mnt/fs2
	vfs_again() { vfs_ls 2>/tmp/again.err && echo "INFO mount-again: works" ||
		echo "INFO mount-again: fails ($(tail -n 1 /tmp/again.err))"; }
	bounded 60 mount-again-ends vfs_again
	# A tag QEMU does not have: one clear line, exit status 1.
	echo "vmjob.fs=7:/mnt/fs7 vmjob.fsdev=virtiofs" > /tmp/cmdline.bad
	msg=$($T/vmfs-client -w 5 --cmdline /tmp/cmdline.bad 2>&1) && echo "FAIL missing-tag: exit 0" ||
		case "$msg" in
		*"vmjob.fs.7 at /mnt/fs7: no virtio-fs device with that tag") echo "PASS missing-tag-reported" ;;
		*) echo "FAIL missing-tag-reported: $msg" ;;
		esac
fi
# Requests in flight when the server dies must end too: keep listing fs1
# until that fails.
mkdir -p /mnt/fs1/busy && touch /mnt/fs1/busy/a
(while ls /mnt/fs1/busy >/dev/null 2>&1; do :; done) &
busy=$!
# Ask run.sh to kill the second export's server (serial) or FUSE child
# (virtiofs); its mount must turn to EIO.
echo "KILL-SERVER-1"
bounded -q 90 server-killed-EIO $T/fscheck eio /mnt/fs1
i=0; while kill -0 $busy 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $busy 2>/dev/null && echo "FAIL busy-requests-ended: ls still blocked 30 s after EIO" ||
	echo "PASS busy-requests-ended"
echo "VMFS-TEST-END"
sync
poweroff -f
