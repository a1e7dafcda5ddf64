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
# A typo names the close match; any user can list the images.
j=$(submit "$ALICE" --vm-image=debain12 -o typo.txt --wrap 'echo should-not-run')
wait_job "$j" >/dev/null
show_file typo.txt
check "a typo gets the close match" grep -q "unknown image 'debain12' (did you mean debian12?)" typo.txt
as_alice hvctl catalogue > cat.txt 2>&1
show_file cat.txt
check "hvctl catalogue for an ordinary user" grep -qE '^debian12 +vmjob +(yes|no) +Debian 12 worker' cat.txt
check "it says how each boots" grep -qE '^debian12-systemd +image ' cat.txt
# An invalid name is refused at submission, before any node is involved.
as_alice sbatch --vm-image='../etc' --wrap true > bad.txt 2>&1
check "invalid image name refused at submit" grep -qi "vm-image" bad.txt
finish
