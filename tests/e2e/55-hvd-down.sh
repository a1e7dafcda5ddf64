#!/bin/bash
# With hvd not running, a VM job fails with one line that says so and what to
# do; the node is not drained; hvd comes back and the next job runs.
. "$(dirname "$0")/lib.sh"
pid=$(cat /run/vmjob/hvd.pid)   # the cluster's hvd only: tests may run private ones
kill "$pid"
wait_until 20 not test -e "/proc/$pid"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o out.txt --wrap 'echo should-not-run')
st=$(wait_job "$j")
# A job without --vm-image: the site policy cannot be asked. plugstack.conf's
# policy=strict fails it (a VM-only partition's job must not run on the
# host); lenient, the default, runs it as asked. slurmstepd reads the
# plugstack line for every job, so no restart is needed.
ps=/etc/slurm/plugstack.conf.d/vmjob.conf
cp "$ps" plugstack.saved
sed -i 's/$/ policy=strict/' "$ps"
install -d -o grid001 -g gridpool grid
js=$(cd grid && runuser -u grid001 -- sbatch --parsable -D "$WORK/grid" -p grid -o strict.txt --wrap 'echo ran-on-the-host')
sst=$(wait_job "$js")
cp plugstack.saved "$ps"
jl=$(submit "$ALICE" -o lenient.txt --wrap 'echo ran-on-the-host')
lst=$(wait_job "$jl")
/usr/local/sbin/hvd -c /etc/vmjob/hvd.conf
show_file grid/strict.txt
check "policy=strict: a grid job without an image fails ($sst)" [ "$sst" = FAILED ]
check "... saying the policy could not be asked, in one line" \
	bash -c "[ \$(wc -l < grid/strict.txt) = 1 ] && grep -q 'vmjob: error: the site policy: cannot reach hvd' grid/strict.txt"
check "lenient: a plain job runs as asked ($lst)" grep -qx ran-on-the-host lenient.txt
show_file out.txt
check "job failed ($st)" [ "$st" = FAILED ]
check "one line" [ "$(wc -l < out.txt)" = 1 ]
check "it says hvd cannot be reached" grep -q "cannot reach hvd" out.txt
check "command did not run" not grep -q should-not-run out.txt
check "node not drained" bash -c "! sinfo -h -o %T | grep -qiE 'drain'"
check "hvd back" wait_until 20 test -S /run/vmjob/hvd.sock
j2=$(submit "$ALICE" --vm-image="$IMAGE" -o out2.txt --wrap 'echo ran-in-vm')
check "next job runs ($(wait_job "$j2"))" grep -q ran-in-vm out2.txt
finish
