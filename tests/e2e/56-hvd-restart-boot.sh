#!/bin/bash
# hvd killed (SIGKILL) or stopped (SIGTERM) while a job's VM boots, and
# started again at once with the same command line, as systemd's
# Restart=always or a package upgrade would: the job still starts and
# completes. The plugin's CREATE, cut off, is asked again of the new hvd,
# which has adopted the booting VM (CREATE is idempotent per job).
. "$(dirname "$0")/lib.sh"

booting() { hvctl vms 2>/dev/null | grep -qE "^$1 +[^ ]+ +[^ ]+ +booting"; }

for sig in KILL TERM; do
	j=$(submit "$ALICE" --vm-image="$IMAGE" -o "boot-$sig.txt" --wrap 'echo ran-in-$(hostname)')
	if ! wait_until 120 booting "$j"; then
		fail "SIG$sig: job $j's VM was never seen booting ($(job_field "$j" JobState))"
		continue
	fi
	restart_hvd "$sig"
	st=$(wait_job "$j" 300)
	show_file "boot-$sig.txt"
	check "SIG$sig to hvd while the VM boots: the job completes ($st)" [ "$st" = COMPLETED ]
	check "... its command ran in its VM" grep -qx "ran-in-vmjob-$j" "boot-$sig.txt"
	check "... no error line" not grep -q 'vmjob: error' "boot-$sig.txt"
	check "... and it left nothing" wait_until 60 no_leftovers "$j"
done
check "hvd is up after the restarts" wait_until 20 test -S /run/vmjob/hvd.sock
finish
