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

# Ctrl-C of an interactive srun inside the VM: srun runs on the host for the
# guest; the terminal's two Ctrl-C reach it and abort the step, as on a node.
as_alice env PTY_SCENARIO=ctrl-c timeout 300 python3 "$E2E/pty-drive.py" srun --vm-image="$IMAGE" --pty /bin/sh > ctrlc.txt 2>&1
show_file ctrlc.txt
check "the step started" grep -q 'step up True' ctrlc.txt
check "two Ctrl-C ended srun (not its 300 s sleep)" grep -q 'srun ended True' ctrlc.txt
rc=$(sed -n 's/.*SRUN-RC=\([0-9]*\).*/\1/p' ctrlc.txt | head -n1)
check "srun reports the interrupted step (rc ${rc:-none})" [ "${rc:-0}" != 0 ]
check "the step's task is gone from the VM" grep -q 'LEFT=0' ctrlc.txt
finish
