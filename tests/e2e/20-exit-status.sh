#!/bin/bash
# Exit codes and signals inside the VM reach Slurm as if the job ran on the
# host; -o and -e get stdout and stderr separately.
. "$(dirname "$0")/lib.sh"
j1=$(submit "$ALICE" --vm-image="$IMAGE" -o o1.txt --wrap 'echo before; exit 3')
j2=$(submit "$ALICE" --vm-image="$IMAGE" -o o2.txt --wrap 'kill -9 $$')
j3=$(submit "$ALICE" --vm-image="$IMAGE" -o o3.txt -e e3.txt --wrap 'echo to-stdout; echo to-stderr >&2')
wait_job "$j1" >/dev/null; wait_job "$j2" >/dev/null; wait_job "$j3" >/dev/null
check "exit 3 gives ExitCode=3:0 (got $(job_field "$j1" ExitCode))" [ "$(job_field "$j1" ExitCode)" = 3:0 ]
check "output before exit kept" grep -qx before o1.txt
check "kill -9 gives ExitCode=0:9 (got $(job_field "$j2" ExitCode))" [ "$(job_field "$j2" ExitCode)" = 0:9 ]
show_file o3.txt; show_file e3.txt
check "stdout file has stdout only" [ "$(cat o3.txt)" = to-stdout ]
check "stderr file has stderr only" [ "$(grep -v '^vmjob: working directory' e3.txt)" = to-stderr ]
check "ExitCode=0:0 for the clean job" [ "$(job_field "$j3" ExitCode)" = 0:0 ]
for j in $j1 $j2 $j3; do check "job $j left nothing" wait_until 30 no_leftovers "$j"; done
finish
