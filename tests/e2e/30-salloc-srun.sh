#!/bin/bash
# salloc --vm-image then srun -n2: both tasks run in the same VM; srun --pty
# gives a working interactive shell in the VM.
. "$(dirname "$0")/lib.sh"
host_boot=$(cat /proc/sys/kernel/random/boot_id)
as_alice timeout 300 salloc --vm-image="$IMAGE" -n2 srun -n2 sh -c 'echo "$(hostname) $(cat /proc/sys/kernel/random/boot_id) $SLURM_PROCID"' > salloc.txt 2> salloc.err
show_file salloc.txt; show_file salloc.err
check "two tasks ran" [ "$(wc -l < salloc.txt)" = 2 ]
check "both tasks in one VM (same boot id)" [ "$(awk '{print $2}' salloc.txt | sort -u | wc -l)" = 1 ]
check "that VM is not the host" not grep -q "$host_boot" salloc.txt
check "hostname is the VM's" grep -q '^vmjob-' salloc.txt
check "task ranks 0 and 1" [ "$(awk '{print $3}' salloc.txt | sort | xargs)" = "0 1" ]

# Interactive: a scripted terminal drives srun --pty.
as_alice timeout 300 python3 "$E2E/pty-drive.py" srun --vm-image="$IMAGE" --pty /bin/sh > pty.txt 2>&1
show_file pty.txt
check "shell answered through the pty" grep -q 'ANSWER=42' pty.txt
check "stdin is a terminal in the VM" grep -q 'TTY=/dev/pts/' pty.txt
check "shell ran in the VM" grep -q 'HOST=vmjob-' pty.txt
finish
