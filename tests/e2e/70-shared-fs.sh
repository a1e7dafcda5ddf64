#!/bin/bash
# The site's shared trees (hvd.conf export: /home and /srv/vmjob/shared here)
# are inside the VM at the same paths, through the filesystem gateway: a job
# submitted from a shared directory starts there, reads its inputs and
# writes its outputs there, as its owner; other users' private files stay
# private; the VM's gateways go away with it.
. "$(dirname "$0")/lib.sh"
proj=/home/$ALICE/vmjob-e2e-proj
rm -rf "$proj"
install -d -o "$ALICE" -g "$ALICE" "$proj"
seq 1 1000 > "$proj/input.txt"
chown "$ALICE:" "$proj/input.txt"
secret=/srv/vmjob/shared/bob-secret.txt
echo "bob's secret" > "$secret"; chown "$BOB:" "$secret"; chmod 0600 "$secret"

cd "$proj"
j=$(runuser -u "$ALICE" -- sbatch --parsable --vm-image="$IMAGE" -o job.out -e job.err --wrap '
pwd
awk "{s += \$1} END {print s}" input.txt > sum.txt
mkdir -p out && echo written-in-vm > out/result.txt
cat /srv/vmjob/shared/bob-secret.txt > leaked.txt 2>/dev/null; echo "cat-rc=$?"
awk "\$2 == \"/srv/vmjob/shared\" {print \"fstype=\" \$3}" /proc/mounts
uname -r')
st=$(wait_job "$j")
show_file job.out; show_file job.err
check "job completed ($st)" [ "$st" = COMPLETED ]
check "started in the submit directory, not /tmp" [ "$(sed -n 1p job.out)" = "$proj" ]
check "no working-directory warning" not grep -q 'does not exist in the VM' job.err
check "ran in the guest" [ "$(tail -1 job.out)" != "$(uname -r)" ]
check "output written through the gateway is on the host" [ "$(cat sum.txt 2>/dev/null)" = 500500 ]
check "a new directory and file from the guest" grep -qx written-in-vm out/result.txt
check "files belong to the job owner on the host" [ "$(stat -c %U sum.txt out out/result.txt | sort -u)" = "$ALICE" ]
check "another user's 0600 file stays unreadable" grep -q 'cat-rc=1' job.out
check "nothing of it leaked" [ ! -s leaked.txt ]
# hvd.conf fs_transport (default virtiofs) picks how the exports reach the guest.
fstype=virtiofs
grep -Eq '^[[:space:]]*fs_transport[[:space:]]*=[[:space:]]*serial' /etc/vmjob/hvd.conf && fstype=fuse.vmfs
check "the exports come over hvd.conf's transport ($fstype)" grep -qx "fstype=$fstype" job.out
check "no gateway server left for the job" not pgrep -f "vmfs-server.*vm/$j/"
check "nothing else left behind" wait_until 30 no_leftovers "$j"
cd / && rm -rf "$proj" "$secret"
finish
