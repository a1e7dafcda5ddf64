#!/bin/bash
# A batch job runs in a guest: its kernel, identity and cmdline are the guest's,
# the uid is the submitter's; and the VM is gone after the job.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o out.txt -e err.txt --wrap 'uname -r; id -u; cat /proc/cmdline; id -G')
st=$(wait_job "$j")
show_file out.txt; show_file err.txt
check "job $j completed ($st)" [ "$st" = COMPLETED ]
guest_kernel=$(sed -n 1p out.txt)
check "kernel ($guest_kernel) differs from the host's ($(uname -r))" [ -n "$guest_kernel" -a "$guest_kernel" != "$(uname -r)" ]
check "uid is the submitter's ($(id -u $ALICE))" [ "$(sed -n 2p out.txt)" = "$(id -u $ALICE)" ]
check "cmdline is the guest's" grep -q "vmjob.hostname=" <(sed -n 3p out.txt)
check "cmdline is not the host's" [ "$(sed -n 3p out.txt)" != "$(cat /proc/cmdline)" ]
check "supplementary groups carried ($(id -G $ALICE))" [ "$(sed -n 4p out.txt | tr ' ' '\n' | sort | xargs)" = "$(id -G $ALICE | tr ' ' '\n' | sort | xargs)" ]
check "no domain, overlay, scratch or socket left" wait_until 30 no_leftovers "$j"
finish
