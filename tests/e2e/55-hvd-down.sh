#!/bin/bash
# With hvd not running, a VM job fails with one line that says so and what to
# do; the node is not drained; hvd comes back and the next job runs.
. "$(dirname "$0")/lib.sh"
pid=$(cat /run/vmjob/hvd.pid)   # the cluster's hvd only: tests may run private ones
kill "$pid"
wait_until 20 not test -e "/proc/$pid"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o out.txt --wrap 'echo should-not-run')
st=$(wait_job "$j")
/usr/local/sbin/hvd -c /etc/vmjob/hvd.conf
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
