#!/bin/bash
# The reaper checks the node: the VM of a job that still runs here stays; the
# VM of a job Slurm runs on another node goes (a private hvd told it is
# another node, slurm_node = other); the VM of a job Slurm requeued goes.
# (slurmctld unreachable keeps VMs: 32-reaper-doubt.sh.)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
jobs=()
finish() {
	ph_cleanup
	[ ${#jobs[@]} -eq 0 ] || scancel "${jobs[@]}" 2>/dev/null
}
trap finish EXIT
state() { scontrol show job "$1" -o 2>/dev/null | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2; }
up() { virsh -q -c qemu:///system domstate "vmjob-$1" 2>/dev/null | grep -q running; }
gone() { ! virsh -q -c qemu:///system domstate "vmjob-$1" >/dev/null 2>&1; }
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 1; done; return 1; }

# Two plain jobs running on this node (one core each), the second requeueable.
here=$(sbatch --parsable -o /dev/null -J vjt-node --wrap 'sleep 600') && jobs+=("$here")
rq=$(sbatch --parsable --requeue -o /dev/null -J vjt-node --wrap 'sleep 600') && jobs+=("$rq")
wait_for 60 bash -c "[ \"\$(scontrol show job $here -o | grep -o 'JobState=RUNNING')\" ] && [ \"\$(scontrol show job $rq -o | grep -o 'JobState=RUNNING')\" ]" ||
	{ echo "  not ok: jobs $here and $rq did not start"; exit 1; }

ph_setup node "reap_interval = 2"
ph_start || exit 1
ph_ctl create "$here" -i minimal-pvh -m 256 >/dev/null & c1=$!
ph_ctl create "$rq" -i minimal-pvh -m 256 >/dev/null & c2=$!
wait $c1; r1=$?; wait $c2; r2=$?
check "VMs of running jobs $here and $rq created" [ "$r1$r2" = 00 ]
sleep 5 # two reaper passes
check "the VM of a job running here stays" up "$here"
scontrol requeue "$rq"
check "the VM of the requeued job $rq goes" wait_for 60 gone "$rq"
# Slurm kills QEMU with the job's extern step, so the domain may be gone
# before the reaper's next pass (reap_interval) reclaims the rest and says why.
check "... and the log says why" wait_for 10 grep -qE "job $rq: the job ended \\(.*requeued" "$ph_dir/hvd.log"
check "the VM of the job running here still stays" up "$here"

# The same hvd, told it is another node: job $here runs elsewhere.
ph_stop
echo "slurm_node = vjt-other-node" >> "$ph_dir/hvd.conf"
ph_start || exit 1
check "a restarted hvd on another node reaps the VM of a job running on $(hostname -s)" wait_for 60 gone "$here"
check "... and says where the job runs" grep -q "job $here: the job ended (runs on $(hostname -s), not on vjt-other-node)" "$ph_dir/hvd.log"
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
