#!/bin/bash
# A batch job runs in a guest: its kernel, identity and cmdline are the guest's,
# the uid is the submitter's; and the VM is gone after the job.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" --vm-image="$IMAGE" -o out.txt -e err.txt --wrap 'uname -r; id -u; cat /proc/cmdline; id -G')
# The scratch disk is the guest's /tmp, sized by --vm-scratch.
j2=$(submit "$ALICE" --vm-image="$IMAGE" --vm-scratch=300M -o df.txt -e /dev/null --wrap 'df -m /tmp | tail -1; echo "TMPDIR=$TMPDIR"')
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
wait_job "$j2" >/dev/null
show_file df.txt
size=$(awk 'NR==1 {print $2}' df.txt)
check "--vm-scratch=300M gives a /tmp of about 300 MiB (got ${size:-?})" [ "${size:-0}" -ge 250 -a "${size:-0}" -le 300 ]
check "TMPDIR is the scratch disk" grep -qx 'TMPDIR=/tmp' df.txt
check "the scratch job left nothing" wait_until 30 no_leftovers "$j2"
finish
