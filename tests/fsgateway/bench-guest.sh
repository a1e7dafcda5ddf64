#!/bin/sh
# Runs inside the benchmark VM in the agent's place (after the guest setup): mounts
# each filesystem of fsbench.rows in turn, runs fsbench on it, unmounts it,
# then powers off. bench.sh reads the FSBENCH lines off the console.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
B=/fsbench
arg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}";; esac; done; }
SIZE=$(arg fsbench.size) SECS=$(arg fsbench.secs) NF=$(arg fsbench.nfiles) ROWS=$(arg fsbench.rows)
SSHFS_OPTS=$(arg fsbench.sshfs_seed)

# Ports are found by the name QEMU gave them, as vmfs-client does.
port() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && echo "/dev/${p##*/}" && return 0
	done
	return 1
}
mounted() { # wait up to 30 s for a mount point to appear
	i=0
	while ! grep -q " $1 " /proc/mounts; do
		[ $i -ge 300 ] && return 1
		sleep 0.1; i=$((i + 1))
	done
}
sshfs_mount() { # sshfs_mount PORTNAME HOSTDIR MNT [OPTIONS]
	p=$(port "$1") || return 1
	# SFTP straight over the port: -o passive speaks it on stdin/stdout
	# (one open of the port, read-write: a virtio port opens only once).
	# -f: sshfs's daemonizing would point stdin/stdout at /dev/null.
	$B/lib/ld-linux-x86-64.so.2 --library-path $B/lib $B/sshfs -f \
		-o passive,allow_other${4:+,$4} ":$2" "$3" 0<>"$p" 1>&0 &
	mounted "$3"
}

echo "FSBENCH-START"
# 9p, virtiofs (fuse is loaded by the initrd; "File exists" is harmless).
for m in $(cat $B/modules.load); do insmod "$B/mods/$m" 2>/dev/null; done
CTL=$(port org.vmjob.bench.ctl) || echo "fsbench: no control port: host cache not dropped"
echo "FSBENCH-CONFIG size_mb=$SIZE rand_s=$SECS nfiles=$NF mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo) cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r)"

# A row may repeat (ROWS=gw-base,gw,gw-base,gw: interleaved runs even out
# the host's load); each filesystem is mounted on first use and stays
# mounted until the end, so a repeat finds its server still there.
mount_row() { # mount_row ROW MNT
	case $1 in
	# the gateway over virtio-fs, mounted as vmfs-client does it
	gw) mount -t virtiofs -o nosuid,nodev benchgw "$2" ;;
	gw-base) mount -t virtiofs -o nosuid,nodev benchgwbase "$2" ;;
	gw-serial) $B/vmfs-client -w 30 org.vmjob.fs.0 "$2" ;;
	sshfs) sshfs_mount org.vmjob.sftp.0 "$(arg fsbench.sftp0)" "$2" ;;
	sshfs-seed) sshfs_mount org.vmjob.sftp.1 "$(arg fsbench.sftp1)" "$2" "$SSHFS_OPTS" ;;
	9p) mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 bench9p "$2" ;;
	virtiofs) mount -t virtiofs benchvfs "$2" ;;
	*) return 1 ;;
	esac
}
for row in $(echo "$ROWS" | tr , ' '); do
	case $row in
	chan)	# the raw port: the ceiling for gw and sshfs (once: the host
		# end sends SIZE once)
		p=$(port org.vmjob.bench.raw) && $B/fsbench -p -s "$SIZE" "$p" chan
		continue ;;
	local) m=/tmp ;;
	*) m=/mnt/$row ;;
	esac
	if [ "$m" != /tmp ] && ! grep -q " $m " /proc/mounts; then
		mkdir -p "$m"
		if ! mount_row "$row" "$m"; then
			echo "FSBENCH $row error mount: failed"
			continue
		fi
		grep " $m " /proc/mounts | sed 's/^/FSBENCH-MOUNT /'
	fi
	$B/fsbench ${CTL:+-c "$CTL"} -s "$SIZE" -t "$SECS" -n "$NF" "$m" "$row"
done
for m in $(awk '$2 ~ /^\/mnt\// {print $2}' /proc/mounts); do umount "$m" || umount -l "$m"; done
echo "FSBENCH-END"
sync
poweroff -f
