#!/bin/bash
# The reaper never destroys on doubt: with slurmctld unreachable (hvd's
# libslurm pointed at a port nobody listens on), the VM of a job that has in
# truth ended is kept and a warning says why; once slurmctld answers again
# (the real slurm.conf after a restart of hvd), the VM goes.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
job=
finish() {
	ph_cleanup
	[ -z "$job" ] || scancel "$job" 2>/dev/null
}
trap finish EXIT
ph_setup doubt "reap_interval = 2"
job=$(sbatch --parsable --hold -o /dev/null -J vjt-doubt --wrap 'sleep 600') || { echo "  not ok: sbatch"; exit 1; }
# A slurm.conf whose controller port is closed (and short timeouts).
conf=$ph_dir/slurm.conf
sed -e '/^SlurmctldPort=/d' -e '/^MessageTimeout=/d' /etc/slurm/slurm.conf > "$conf"
printf 'SlurmctldPort=%s\nMessageTimeout=2\n' $((40000 + $$ % 20000)) >> "$conf"
SLURM_CONF=$conf ph_start env || exit 1

ph_ctl create "$job" -i minimal-pvh -m 256 >/dev/null
check "VM of job $job created" grep -q running <(virsh -q -c qemu:///system domstate "vmjob-$job" 2>/dev/null)
scancel "$job"
warned=no
for _ in $(seq 60); do
	grep -q "reaper: 1 VM(s) kept: cannot ask about their jobs" "$ph_dir/hvd.log" && { warned=yes; break; }
	sleep 1
done
check "the reaper says it cannot ask slurmctld" [ "$warned" = yes ]
sleep 3
check "the VM of the (ended) job is kept while slurmctld cannot be asked" \
	grep -q running <(virsh -q -c qemu:///system domstate "vmjob-$job" 2>/dev/null)

ph_stop
ph_start || exit 1 # the real slurm.conf
gone=no
for _ in $(seq 60); do
	virsh -q -c qemu:///system domstate "vmjob-$job" >/dev/null 2>&1 || { gone=yes; break; }
	sleep 1
done
check "with slurmctld answering, the adopted VM of the ended job is reaped" [ "$gone" = yes ]
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
