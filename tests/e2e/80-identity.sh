#!/bin/bash
# In the VM the job owner is who they are on the host (from the host's NSS):
# name, primary and supplementary groups with their names, home, shell and
# the login variables; nothing of another user is in the guest. A script or
# command the image cannot run says so in one line naming the image.
. "$(dirname "$0")/lib.sh"
DEB=${VMJOB_TEST_DEBIAN_IMAGE:-debian12}
home=$(getent passwd "$ALICE" | cut -d: -f6)
shell=$(getent passwd "$ALICE" | cut -d: -f7)

j=$(submit "$ALICE" --vm-image="$DEB" -o id.out -e id.err --wrap '
echo "whoami=$(whoami)"
echo "groups=$(id -Gn)"
echo "primary=$(id -gn)"
echo "vars=$USER $LOGNAME $HOME $SHELL"
touch /tmp/owned && echo "ls=$(ls -l /tmp/owned | awk "{print \$3, \$4}")"
echo "bob=$(getent passwd vmjob-bob | wc -l)"
echo "home-dir=$(stat -c %U "$HOME")"
echo "users=$(grep -c "^vmjob-" /etc/passwd)"')
st=$(wait_job "$j")
show_file id.out; show_file id.err
check "job completed ($st)" [ "$st" = COMPLETED ]
check "whoami names the owner" grep -qx "whoami=$ALICE" id.out
check "primary group by name" grep -qx "primary=$(id -gn "$ALICE")" id.out
check "supplementary groups by name, as on the host" \
	[ "$(sed -n 's/^groups=//p' id.out | tr ' ' '\n' | sort | xargs)" = "$(id -Gn "$ALICE" | tr ' ' '\n' | sort | xargs)" ]
check "USER LOGNAME HOME SHELL" grep -qx "vars=$ALICE $ALICE $home $shell" id.out
check "ls -l shows names" grep -qx "ls=$ALICE $(id -gn "$ALICE")" id.out
check "the home directory is the owner's" grep -qx "home-dir=$ALICE" id.out
check "no other user in the guest" grep -qx "bob=0" id.out
check "exactly one host user in the guest's passwd" grep -qx "users=1" id.out

# The same image booted by its own init (catalogue init = image): systemd is
# PID 1 and started the agent as a unit; the owner is the same.
j=$(submit "$ALICE" --vm-image=debian12-systemd -o sd.out --wrap 'echo "pid1=$(cat /proc/1/comm) whoami=$(whoami)"')
st=$(wait_job "$j")
show_file sd.out
check "debian12-systemd: completed ($st)" [ "$st" = COMPLETED ]
check "systemd is PID 1, the owner is who they are" grep -qx "pid1=systemd whoami=$ALICE" sd.out

# A bash script on the busybox image: one line naming the interpreter and image.
# (From the owner's home, a shared directory: no working-directory line.)
printf '#!/bin/bash\necho ran\n' > bash.sh && chown "$ALICE:" bash.sh
j=$(runuser -u "$ALICE" -- sbatch --parsable -D "$home" --vm-image=minimal -o "$WORK/bash.out" \
	-e "$WORK/bash.err" "$WORK/bash.sh")
st=$(wait_job "$j")
show_file bash.out; show_file bash.err
check "job failed ($st)" [ "$st" = FAILED ]
check "the script did not run" not grep -q ran bash.out
check "one line" [ "$(cat bash.out bash.err | wc -l)" = 1 ]
check "it names the interpreter and the image" grep -q '/bin/bash not found in image minimal' bash.out bash.err
check "it says what to do" grep -q 'pick an image that has it' bash.out bash.err

# A command the image does not have, through srun.
as_alice timeout 300 srun -D "$home" --vm-image=minimal -N1 no-such-command-xyz > nf.out 2> nf.err
rc=$?
show_file nf.out; show_file nf.err
check "exit status 127 like a shell (got $rc)" [ "$rc" = 127 ]
check "says command not found in image minimal" grep -q 'no-such-command-xyz: command not found in image minimal' nf.err
finish
