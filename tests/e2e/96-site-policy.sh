#!/bin/bash
# The site policy (tests/cluster/policy.conf): a grid pool account's plain
# job in the grid partition runs in the partition's default image with no
# option (sbatch, srun, salloc), and a member of a group the policy names its
# rule's image; an allowed other image is used; an image
# the rule does not allow is refused with one line naming it, the rule and
# the images allowed, at submission (job_submit/lua) and again at start,
# and nothing is made; what decides is slurmctld's
# record, not the job's environment; a broken policy file on SIGHUP is
# refused and the old policy stays.
. "$(dirname "$0")/lib.sh"
GRID=grid001
G=$WORK/grid
install -d -o "$GRID" -g gridpool "$G"
as_grid() { (cd "$G" && runuser -u "$GRID" -- "$@"); }
gsubmit() { as_grid sbatch --parsable -D "$G" "$@"; }
HVCTL=$(command -v hvctl || echo /usr/local/bin/hvctl)
host=$(hostname)
# where the rule is (up.sh puts a marker line on top of policy.conf)
at=/etc/vmjob/policy.conf:$(grep -n '^\[rule grid\]' /etc/vmjob/policy.conf | cut -d: -f1)

# --- a pool account, a plain script, the grid partition
j=$(gsubmit -p grid -o plain.out --wrap 'echo "host=$(hostname) user=$(id -un)"')
st=$(wait_job "$j")
show_file "$G/plain.out"
check "a plain grid job completed ($st)" [ "$st" = COMPLETED ]
check "... in a VM (no --vm-image given)" grep -q "^host=vmjob-$j user=$GRID" "$G/plain.out"
check "... left nothing" wait_until 30 no_leftovers "$j"

# --- a rule by (supplementary) group, from the user database: first match
G2=$WORK/grid2
install -d -o grid002 -g gridpool "$G2"
j=$(cd "$G2" && runuser -u grid002 -- sbatch --parsable -D "$G2" -p grid -o g2.out --wrap 'echo up; sleep 60')
check "a gridlab member's plain grid job runs" wait_until 240 grep -q up "$G2/g2.out"
check "... in the gridlab rule's image" grep -qx 'image=minimal-pvh' <("$HVCTL" status "$j")
scancel "$j"; wait_job "$j" > /dev/null

# --- srun and salloc, no option
out=$(as_grid timeout 300 srun -p grid hostname 2>&1)
check "srun -p grid runs in a VM ($out)" grep -q '^vmjob-' <<< "$out"
out=$(as_grid timeout 300 salloc -p grid srun hostname 2>&1 | grep -v '^salloc:')
check "salloc -p grid + srun runs in a VM ($out)" grep -q '^vmjob-' <<< "$out"

# --- an allowed image that is not the default
j=$(gsubmit -p grid --vm-image=minimal-pvh -o pvh.out --wrap 'echo up; sleep 60')
check "an allowed non-default image runs" wait_until 240 grep -q up "$G/pvh.out"
check "... in that image" grep -qx 'image=minimal-pvh' <("$HVCTL" status "$j")
scancel "$j"; wait_job "$j" > /dev/null

# --- an image the rule does not allow: refused at submission (job_submit/lua)
out=$(gsubmit -p grid --vm-image=debian12 --wrap 'echo ran' 2>&1); rc=$?
echo "  | $out"
check "sbatch refuses a forbidden image at submission (rc $rc)" [ "$rc" != 0 ]
check "... in one line naming the image, the rule and the images allowed" \
	grep -q "image 'debian12' refused by rule 'grid' ($at): this job may use minimal, minimal-pvh" <<< "$out"
out=$(as_grid timeout 60 srun -p grid --vm-image=debian12 true 2>&1); rc=$?
check "srun too (rc $rc)" [ "$rc" != 0 ] && grep -q "refused by rule 'grid'" <<< "$out"
# ... and at start, should a job get past submission (moved there afterwards)
j=$(gsubmit -H -p debug --vm-image=debian12 -o bad.out -e bad.err --wrap 'echo ran')
scontrol update jobid="$j" partition=grid && scontrol release "$j"
st=$(wait_job "$j")
show_file "$G/bad.err"
check "a forbidden image fails the job ($st)" [ "$st" = FAILED ]
check "... with one line naming the image, the rule and the images allowed" \
	grep -q "vmjob: error: .*image 'debian12' refused by rule 'grid' ($at): this job may use minimal, minimal-pvh" "$G/bad.err"
check "... and ran nothing" not grep -q ran "$G/bad.out"
check "... and made nothing" no_leftovers "$j"

# --- the job's environment decides nothing
j=$(SLURM_JOB_PARTITION=grid SLURM_PARTITION=grid submit "$ALICE" -p debug -o env.out \
	--export=ALL,SLURM_JOB_PARTITION=grid --wrap 'echo "host=$(hostname)"')
st=$(wait_job "$j")
check "a debug job claiming to be a grid one ran ($st)" [ "$st" = COMPLETED ]
check "... on the host, untouched (Slurm's record says debug)" grep -qx "host=$host" env.out

# --- hvctl policy / policy check
out=$("$HVCTL" policy)
echo "$out" | sed 's/^/  | /'
check "hvctl policy shows the rule" grep -q "rule grid (line ${at##*:}): when partition in {grid}: vm required" <<< "$out"
out=$("$HVCTL" policy check --user "$GRID" --partition grid)
check "policy check: a grid job ($out)" [ "$out" = "runs in a VM of image minimal: rule grid ($at)" ]
out=$("$HVCTL" policy check --user "$ALICE" --partition debug --image minimal)
check "policy check: elsewhere ($out)" [ "$out" = "runs in a VM of image minimal: no rule matches (as without a policy)" ]
out=$("$HVCTL" policy check --user "$GRID" --partition grid --image debian12 2>&1); rc=$?
check "policy check: a refusal, exit 1 ($out)" [ $rc = 1 ] && grep -q "refused by rule 'grid'" <<< "$out"
check "policy --json: the rules, in order, with their conditions" python3 -c '
import json, sys
d = json.load(sys.stdin)
r = {x["name"]: x for x in d["rules"]}
g = r["grid"]
sys.exit(not (d["path"] == "/etc/vmjob/policy.conf" and [x["name"] for x in d["rules"]] == ["gridlab", "grid"]
              and g["vm"] == "required" and g["default_image"] == "minimal" and g["images"] == ["minimal", "minimal-pvh"]
              and g["when"]["partition"] == ["grid"] and g["when"]["user"] is None and r["gridlab"]["when"]["group"] == ["gridlab"]))' \
	< <("$HVCTL" policy --json)
check "policy check --json" python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["vm"] and d["image"]=="minimal" and d["rule"]=="grid"))' \
	< <("$HVCTL" policy check --user "$GRID" --partition grid --json)

# --- a broken file on SIGHUP: refused, the old policy stays
cp /etc/vmjob/policy.conf "$WORK/policy.good"
trap 'cp "$WORK/policy.good" /etc/vmjob/policy.conf; kill -HUP "$(cat /run/vmjob/hvd.pid)"' EXIT
printf '[rule grid]\npartition = grid\nvm = sometimes\n' > /etc/vmjob/policy.conf
kill -HUP "$(cat /run/vmjob/hvd.pid)"; sleep 1
check "after a broken reload the old rule stands" grep -q "rule grid (line ${at##*:})" <("$HVCTL" policy)
# (and a good new one takes effect: the grid partition without VMs)
printf '[rule grid]\npartition = grid\nvm = never\n' > /etc/vmjob/policy.conf
kill -HUP "$(cat /run/vmjob/hvd.pid)"; sleep 1
out=$("$HVCTL" policy check --user "$GRID" --partition grid)
check "a good reload takes effect ($out)" grep -q "runs on the host (no VM): rule grid" <<< "$out"
cp "$WORK/policy.good" /etc/vmjob/policy.conf; kill -HUP "$(cat /run/vmjob/hvd.pid)"; sleep 1
trap - EXIT
check "... and back" grep -q 'vm required' <("$HVCTL" policy)
finish
