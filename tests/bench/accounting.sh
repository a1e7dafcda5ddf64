#!/bin/bash
# Accounting benchmark (issue "Slurm sees the VM"; docs/accounting.md):
#  1. a CPU-bound VM job (2 vCPUs busy for 20 s): what Slurm accounts
#     (sacct TotalCPU of JOB.extern, where hvd puts QEMU) next to the guest's
#     own /proc/stat and QEMU's CPU time on the host;
#  2. the CPU cost of a fixed amount of work (build/tests/burn, 2 threads) in a
#     VM job against the same binary in a job without a VM, and against an
#     empty VM job (what the boot and shutdown cost).
# Prints numbers; asserts nothing. Needs the local cluster (make cluster-up).
#   [VMJOB_BENCH_IMAGE=minimal] tests/bench/accounting.sh [MILLION-ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
image=${VMJOB_BENCH_IMAGE:-minimal}
rounds=${1:-4000}
user=vmjob-alice
# Under the user's home: exported into the VM, so the guest runs the same burn.
work=/home/$user/vmjob-bench-acct
rm -rf "$work"; install -d -o "$user" "$work"; cd "$work"
install -m 0755 -o "$user" "$top/build/tests/burn" "$work/burn"
HZ=$(getconf CLK_TCK)

secs() {
	awk -v t="$1" 'BEGIN { d = 0; if (index(t, "-")) { split(t, a, "-"); d = a[1]; t = a[2] }
		n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print d * 86400 + s }'
}
field() { sacct -n -P -j "$1" -o JobID,"$2" | awk -F'|' -v s="$1${3:+.$3}" '$1 == s { print $2 }'; }
state() { scontrol show job "$1" -o | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2; }
# run_job ARGS...: submit, follow QEMU's CPU time while it runs; sets $j, $qcpu
run_job() {
	j=$(runuser -u "$user" -- sbatch --parsable -D "$work" "$@")
	qcpu=-
	local p="" q
	for _ in $(seq 1 1200); do
		case $(state "$j") in COMPLETED | FAILED | CANCELLED | TIMEOUT) break ;; esac
		[ -n "$p" ] || p=$(cat "/run/libvirt/qemu/vmjob-$j.pid" 2>/dev/null || true)
		if [ -n "$p" ] && q=$(awk -v hz="$HZ" '{ print ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null); then qcpu=$q; fi
		sleep 0.5
	done
	sleep 3 # slurmdbd has the job's end
}

echo "vmjob accounting benchmark (image '$image')"
run_job -c2 --vm-image="$image" -o cpu.out --wrap '
busy() { awk "/^cpu / { print \$2 + \$3 + \$4 }" /proc/stat; }
s0=$(busy)
( while :; do :; done ) & a=$!
( while :; do :; done ) & b=$!
sleep 20; kill $a $b; wait
echo "guest-busy-s $(( $(busy) - s0 ))"'
gb=$(awk '/^guest-busy-s/ { printf "%.2f", $2 / 100 }' cpu.out)
ext=$(secs "$(field "$j" TotalCPU extern)")
tot=$(secs "$(field "$j" TotalCPU)")
printf '\n1. CPU-bound VM job %s (2 vCPUs busy 20 s)\n' "$j"
printf '   %-44s %10s\n' "guest /proc/stat busy (user+nice+system)" "${gb} s" \
	"QEMU on the host (utime+stime, last seen)" "${qcpu} s" \
	"sacct $j.extern TotalCPU (Slurm's view)" "${ext} s" \
	"sacct $j TotalCPU (job, all steps)" "${tot} s"
awk -v a="$ext" -v q="$qcpu" -v g="$gb" 'BEGIN {
	if (q > 0) printf "   accounted / QEMU host time       %.3f\n", a / q
	if (g > 0) printf "   accounted / guest busy time      %.3f (the rest: boot, idle vCPUs, emulation)\n", a / g }'

run_job -c2 --vm-image="$image" -o empty.out --wrap true
jempty=$j emptycpu=$(secs "$(field "$j" TotalCPU)")
run_job -c2 --vm-image="$image" -o vm.out --wrap "./burn $rounds 2"
jvm=$j vmwall=$(awk '/^burn-wall-s/ { print $2 }' vm.out) vmcpu=$(secs "$(field "$j" TotalCPU)")
vmel=$(field "$j" ElapsedRaw)
run_job -c2 -o host.out --wrap "./burn $rounds 2"
jh=$j hwall=$(awk '/^burn-wall-s/ { print $2 }' host.out) hcpu=$(secs "$(field "$j" TotalCPU)")
hel=$(field "$j" ElapsedRaw)
printf '\n2. The same work (burn %s million rounds x 2 threads) with and without a VM\n' "$rounds"
printf '   %-24s %12s %14s %12s\n' "" "burn wall" "job TotalCPU" "job elapsed"
printf '   %-24s %12s %14s %12s\n' "VM job $jvm" "${vmwall:-?} s" "${vmcpu} s" "${vmel} s" \
	"host job $jh" "${hwall:-?} s" "${hcpu} s" "${hel} s" \
	"empty VM job $jempty" "-" "${emptycpu} s" "-"
awk -v vw="$vmwall" -v hw="$hwall" -v vc="$vmcpu" -v hc="$hcpu" -v ec="$emptycpu" 'BEGIN {
	if (hw > 0) printf "   wall time ratio VM/host          %.2fx\n", vw / hw
	if (hc > 0) printf "   accounted CPU ratio VM/host      %.2fx (the VM job with its boot and shutdown)\n", vc / hc
	if (hc > 0) printf "   ... less an empty VM job         %.2fx (the work alone: (%.1f - %.1f) / %.1f s)\n", (vc - ec) / hc, vc, ec, hc }'
echo "   (this host runs guests under TCG, software emulation: the ratio is TCG's, not KVM's)"
rm -rf "$work"
