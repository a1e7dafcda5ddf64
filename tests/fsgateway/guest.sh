#!/bin/sh
# Runs inside the test VM (from the image copy's inittab, after rcS, which
# mounted the exports the kernel command line lists, as in every vmjob VM:
# images/rootfs/etc/init.d/rcS), runs fscheck on them,
# prints PASS/FAIL lines on the console for run.sh, then powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /mnt/fs2
T=/vmfs-test
arg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}";; esac; done; }
NFILES=$(arg vmfs.nfiles); SEED=$(arg vmfs.seed); NOPS=$(arg vmfs.nops)
echo "VMFS-TEST-START"
if [ ! -e /run/vmjob-fs-error ] && grep -q ' /mnt/fs0 fuse' /proc/mounts &&
	grep -q ' /mnt/fs1 fuse' /proc/mounts; then
	echo "PASS mount"
else
	echo "FAIL mount: $(cat /run/vmjob-fs-error 2>/dev/null)"
fi
grep fuse /proc/mounts
$T/fscheck posix /mnt/fs0/p "$NFILES"
$T/fscheck sec /mnt/fs0
$T/fscheck exdev /mnt/fs0/p /mnt/fs1         # two mounts: the guest kernel says EXDEV
$T/fscheck exdev /mnt/fs0/p /mnt/fs0/small   # host mount inside the export: the host says it
$T/fscheck enospc /mnt/fs0/small
$T/fscheck random /mnt/fs0/rand "$SEED" "$NOPS"
$T/fscheck manifest /mnt/fs0/rand > /mnt/fs0/manifest.guest && echo "PASS manifest-written"
# A killed client: the guest kernel aborts that mount (ENOTCONN, no
# hang); on the host its server idles until the VM ends, then exits.
$T/vmfs-client -f -w 30 org.vmjob.fs.2 /mnt/fs2 &
cpid=$!
i=0; while ! grep -q ' /mnt/fs2 ' /proc/mounts && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ls /mnt/fs2 >/dev/null && echo "PASS third-mount"
kill -9 $cpid
$T/fscheck notconn /mnt/fs2
# Ask run.sh to kill the second export's server; its mount must turn to EIO.
echo "KILL-SERVER-1"
$T/fscheck eio /mnt/fs1
echo "VMFS-TEST-END"
sync
poweroff -f
