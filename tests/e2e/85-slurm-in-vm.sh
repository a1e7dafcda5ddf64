#!/bin/bash
# Slurm inside the VM: a batch script uses srun (steps whose tasks run in
# the job's VM), with stdin and exit status, scontrol on its own job, and
# sbatch of a second job, as on a node. The commands run on the host for the
# guest, as the job's owner; the guest's SLURM_CONF and LD_PRELOAD do not
# reach them; `hvctl exec` (an admin's shell in the VM) runs none.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" --vm-image="$IMAGE" -n2 -o s.out -e s.err --wrap '
echo "batch-host=$(hostname)"
echo "slurm-vars=$(env | grep -c "^SLURM_")"
srun -n2 hostname | sort | uniq -c | awk "{print \"srun=\" \$1, \$2}"
echo hello-stdin | srun -n1 cat | sed "s/^/stdin=/"
srun -n1 false; echo "srun-false-rc=$?"
srun -n1 sh -c "exit 7"; echo "srun-7-rc=$?"
scontrol show job "$SLURM_JOB_ID" | grep -o "JobId=[0-9]*" | head -n 1 | sed "s/^/scontrol=/"
SLURM_CONF=/nonexistent/slurm.conf LD_PRELOAD=/nonexistent.so srun -n1 sh -c "echo preload=\${LD_PRELOAD:-none}"
echo "conf-rc=$?"
sbatch --parsable --wrap "echo child-ran" -o /tmp/child.out | sed "s/^/child=/"
echo "srun-path=$(command -v srun)"')
st=$(wait_job "$j")
show_file s.out; show_file s.err
check "job completed ($st)" [ "$st" = COMPLETED ]
vmhost=$(sed -n 's/^batch-host=//p' s.out)
check "the batch script ran in a VM" grep -q '^batch-host=vmjob-' s.out
check "the step's SLURM_* variables are in the guest" [ "$(sed -n 's/^slurm-vars=//p' s.out)" -gt 10 ]
check "srun -n2: two tasks, both in the job's VM" grep -qx "srun=2 $vmhost" s.out
check "srun with stdin" grep -qx "stdin=hello-stdin" s.out
check "a failing srun returns its status (1)" grep -qx "srun-false-rc=1" s.out
check "srun returns the task's status (7)" grep -qx "srun-7-rc=7" s.out
check "scontrol show job \$SLURM_JOB_ID" grep -qx "scontrol=JobId=$j" s.out
check "the guest's LD_PRELOAD and SLURM_CONF do not reach the host" grep -qx "preload=none" s.out
check "... and the command still worked" grep -qx "conf-rc=0" s.out
check "srun in the VM is vmjob's relay" grep -qx "srun-path=/usr/local/bin/srun" s.out
child=$(sed -n 's/^child=//p' s.out)
check "sbatch from the VM printed a job id ($child)" [ -n "$child" ]
if [ -n "$child" ]; then
	cst=$(wait_job "$child")
	check "that job ran ($cst)" [ "$cst" = COMPLETED ]
	check "it belongs to the job's owner" [ "$(job_field "$child" UserId | cut -d'(' -f1)" = "$ALICE" ]
fi
check "nothing left behind" wait_until 30 no_leftovers "$j"

# An admin's `hvctl exec` into a VM runs no host commands.
HVCTL=$(command -v hvctl || echo /usr/local/bin/hvctl)
j=$(submit "$ALICE" --vm-image="$IMAGE" -o sleep.out --wrap 'echo up; sleep 120')
wait_until 240 grep -q up sleep.out
out=$(as_alice timeout 60 "$HVCTL" exec "$j" -- srun hostname 2>&1); rc=$?
echo "  | $out"
check "hvctl exec: srun refused (rc $rc)" [ "$rc" != 0 ]
check "it says why" grep -q "run only from a job's tasks" <<< "$out"
scancel "$j"
wait_job "$j" >/dev/null
finish
