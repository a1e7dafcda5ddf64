#!/bin/bash
# scancel of a running VM job: within 30 s no domain, overlay, scratch file or
# channel socket of it remains.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o out.txt --wrap 'echo started; sleep 600')
check "job started in its VM" wait_until 240 grep -q started out.txt
check "domain vmjob-$j exists while running" bash -c "virsh -c qemu:///system list --name | grep -qx vmjob-$j"
scancel "$j"
t0=$SECONDS
check "everything of the VM gone within 30 s" wait_until 30 no_leftovers "$j"
echo "  (gone after $((SECONDS - t0)) s)"
leftovers "$j"
check "job recorded as CANCELLED" [ "$(wait_job "$j" 60)" = CANCELLED ]
finish
