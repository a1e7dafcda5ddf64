#!/bin/bash
# Parallel start-up benchmark (DESIGN.md principles 4 and 5): start 1, 2, 4
# and 8 VMs at once (hvctl create in parallel against a private hvd), print
# the makespan of each batch and every VM's phase times, destroy them.
# Prints numbers; asserts nothing. Guests are small (256 MiB, 1 vCPU); the
# image is fetched once by a warm-up VM first, so the batches measure VM
# start-up, not the download.
#   tests/bench/parallel.sh [IMAGE] [COUNTS...]     (default minimal-pvh 1 2 4 8)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
image=${1:-minimal-pvh}; shift || true
counts=${*:-1 2 4 8}
trap ph_cleanup EXIT
ph_setup bench
ph_start || exit 1
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

ph_ctl create warmup -i "$image" -m 256 >/dev/null || { echo "warm-up VM failed"; exit 1; }
ph_ctl destroy warmup >/dev/null
virt=$(grep -oE 'ready \((qemu|kvm)\)' "$ph_dir/hvd.log" | head -1 | grep -oE 'qemu|kvm')
echo "parallel start-up: image $image, 256 MiB, 1 vCPU, virt $virt, $(nproc) host CPUs"
echo "phase times: seconds from the CREATE's arrival until the image (overlay), scratch,"
echo "domain (libvirt started QEMU) and agent (guest agent answered) were ready"
printf '\n%-3s %-8s %-8s %8s %8s %8s %8s %8s\n' N VM RESULT IMAGE SCRATCH DOMAIN AGENT WALL
for n in $counts; do
	t0=$(now)
	pids=()
	for i in $(seq 1 "$n"); do
		( s=$(now); out=$(ph_ctl create "p$n-$i" -i "$image" -m 256 2>&1); rc=$?
		  e=$(now); printf '%s\n' "$out" > "$ph_dir/p$n-$i.out"
		  echo "rc=$rc wall=$(sub "$e" "$s")" >> "$ph_dir/p$n-$i.out" ) &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(now)
	for i in $(seq 1 "$n"); do
		f=$ph_dir/p$n-$i.out
		get() { sed -n "s/^$1=//p" "$f" | head -1; }
		sec() { local v; v=$(get "$1"); [ -n "$v" ] && awk -v v="$v" 'BEGIN { printf "%.1f", v / 1000 }' || echo -; }
		rc=$(sed -n 's/^rc=\([0-9]*\).*/\1/p' "$f")
		printf '%-3s %-8s %-8s %8s %8s %8s %8s %8.1f\n' "$n" "p$n-$i" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" \
			"$(sec t_image)" "$(sec t_scratch)" "$(sec t_domain)" "$(sec t_agent)" \
			"$(sed -n 's/.*wall=//p' "$f")"
		[ "$rc" = 0 ] || sed -n '1p' "$f" | sed 's/^/      /'
	done
	printf '%-3s makespan %.1f s\n\n' "$n" "$(sub "$t1" "$t0")"
	pids=()
	for i in $(seq 1 "$n"); do ph_ctl destroy "p$n-$i" >/dev/null & pids+=($!); done
	wait "${pids[@]}"
done
