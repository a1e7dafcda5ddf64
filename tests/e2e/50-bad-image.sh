#!/bin/bash
# An unknown image fails the job with one clear line naming the image and the
# catalogue, and leaves nothing behind.
. "$(dirname "$0")/lib.sh"
j=$(submit "$ALICE" --vm-image=no-such-image -o out.txt --wrap 'echo should-not-run')
st=$(wait_job "$j")
show_file out.txt
check "job failed ($st)" [ "$st" = FAILED ]
check "command did not run" not grep -q should-not-run out.txt
check "exactly one line of output" [ "$(wc -l < out.txt)" = 1 ]
check "output names the image" grep -q "no-such-image" out.txt
check "output names the catalogue" grep -qi "catalogue" out.txt
check "node not drained" bash -c "! sinfo -h -o %T | grep -qiE 'drain'"
check "nothing left behind" no_leftovers "$j"
# An invalid name is refused at submission, before any node is involved.
as_alice sbatch --vm-image='../etc' --wrap true > bad.txt 2>&1
check "invalid image name refused at submit" grep -qi "vm-image" bad.txt
finish
