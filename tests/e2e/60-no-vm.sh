#!/bin/bash
# A job without --vm-image runs on the host exactly as before.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" -o out.txt --wrap 'uname -r; cat /proc/sys/kernel/random/boot_id; echo "$0"')
st=$(wait_job "$j" 60)
show_file out.txt
check "job completed ($st)" [ "$st" = COMPLETED ]
check "ran on the host kernel" [ "$(sed -n 1p out.txt)" = "$(uname -r)" ]
check "ran on the host (boot id)" [ "$(sed -n 2p out.txt)" = "$(cat /proc/sys/kernel/random/boot_id)" ]
check "no VM was made" no_leftovers "$j"
finish
