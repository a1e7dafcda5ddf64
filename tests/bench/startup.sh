#!/bin/bash
# Start-up benchmark: for one VM job, the time from job start to the first task
# running in the guest, split into phases (image, scratch, domain, agent),
# next to the same image booted by plain qemu-system-x86_64 (the floor).
# Prints numbers; asserts nothing. Needs the local cluster (make cluster-up).
#   [VMJOB_BENCH_IMAGE=debian12|debian12-systemd|minimal] tests/bench/startup.sh [RUNS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-3}
image=${VMJOB_BENCH_IMAGE:-minimal}
user=vmjob-alice
img=$top/build/images
work=/tmp/vmjob-bench
rm -rf "$work"; install -d -o "$user" "$work"; cd "$work"

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "-")}'; }
declare -A col

echo "vmjob start-up benchmark: $runs run(s) of each, image '$image', 1 vCPU, 512 MiB"
for i in $(seq 1 "$runs"); do
	j=$(runuser -u "$user" -- sbatch --parsable -D "$work" -n1 --mem=512 --vm-image="$image" --vm-timing -o "job$i.out" --wrap true)
	for _ in $(seq 1 300); do
		st=$(scontrol show job "$j" -o | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2)
		case $st in COMPLETED | FAILED | CANCELLED) break ;; esac
		sleep 0.5
	done
	sleep 1
	line=$(grep 'VM of job' "job$i.out" || true)
	first=$(grep -oE 'first task running in the VM after [0-9]+ ms' "job$i.out" | grep -oE '[0-9]+' || true)
	[ -n "$line" ] || { echo "run $i: job $j ($st) printed no timing:"; cat "job$i.out"; exit 1; }
	virt=$(sed -E 's/.*ready \(([a-z]+)\).*/\1/' <<<"$line")
	for ph in image scratch domain agent; do
		col[$ph]+="$(grep -oE "$ph [0-9]+ ms" <<<"$line" | grep -oE '[0-9]+') "
	done
	col[first]+="${first:--} "
done

# The floor: the same kernel, initrd and root image, booted by plain QEMU with
# the same devices, timed until the agent answers HELLO.
accel=tcg
[ "$virt" = kvm ] && accel=kvm
# The image's files and cmdline, from its catalogue section.
field() { awk -F' = ' -v sec="[$image]" -v key="$1" '$0 == sec {on = 1; next} /^\[/ {on = 0} on && $1 == key {print $2; exit}' "$img/catalogue.conf"; }
cmdline=$(field cmdline)
kernel=$img/$(field kernel)
root=$img/$(field root)
initrd=$img/$(field initrd)
# init = image: the image's own init (systemd), as hvd boots it.
[ "$(field init)" = image ] && cmdline="$cmdline vmjob.init=image"
for i in $(seq 1 "$runs"); do
	rm -f ov.qcow2 scratch.img agent.sock
	qemu-img create -q -f qcow2 -F raw -b "$root" ov.qcow2
	truncate -s 1G scratch.img && mkfs.ext4 -q -F scratch.img
	t0=$(date +%s%3N)
	qemu-system-x86_64 -machine q35 -accel $accel -m 512 -smp 1 -display none -no-reboot -net none \
		-serial file:floor-console.log -kernel "$kernel" -initrd "$initrd" \
		-append "$cmdline vmjob.hostname=floor" \
		-drive file=ov.qcow2,if=virtio,format=qcow2 -drive file=scratch.img,if=virtio,format=raw \
		-device virtio-serial -chardev socket,id=a,path=agent.sock,server=on,wait=off \
		-device virtserialport,chardev=a,name=org.vmjob.agent 2>floor-qemu.err &
	qpid=$!
	"$top/build/tests/agent-hello" agent.sock 120 --exec /bin/true >/dev/null 2>floor.err || { cat floor.err; kill $qpid; exit 1; }
	t1=$(date +%s%3N)
	kill $qpid; wait $qpid 2>/dev/null || true
	col[floor_agent]+="$(grep -oE 'after [0-9]+ ms' floor.err | grep -oE '[0-9]+') "
	col[floor_first]+="$((t1 - t0)) "
done

printf '\n%-46s %s\n' "phase (ms; virt=$virt)" "median   [runs]"
row() { printf '%-46s %-8s [%s]\n' "$1" "$(tr ' ' '\n' <<<"${col[$2]}" | grep -E '^[0-9]+$' | median)" "${col[$2]% }"; }
row "vmjob: image ready (since CREATE)" image
row "vmjob: scratch ready (since CREATE)" scratch
row "vmjob: domain started (since CREATE)" domain
row "vmjob: agent ready (since CREATE)" agent
row "vmjob: job step start -> first task in guest" first
row "floor: qemu start -> agent ready" floor_agent
row "floor: qemu start -> first command done" floor_first
