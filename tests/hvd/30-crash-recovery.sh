#!/bin/bash
# hvd is crash-safe (DESIGN.md principle 2): kill -9 it while VMs run and
# while one boots, start it again, and check what it rebuilt from libvirt
# and the disk: VMs of live Slurm jobs adopted and still running commands,
# the VM of a job that ended meanwhile destroyed by the reaper, half-made
# per-VM files without a domain removed. A private hvd (own socket, dirs,
# instance) on real Slurm jobs held in the queue; only its VMs are touched.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh

jobs=()
finish() {
	ph_cleanup
	[ ${#jobs[@]} -eq 0 ] || scancel "${jobs[@]}" 2>/dev/null
}
trap finish EXIT

hold() { # a live job: held in the queue, never runs
	sbatch --parsable --hold -o /dev/null -J vjt-crash --wrap 'sleep 600'
}

ph_setup crash "reap_interval = 2"
# (each id is added to jobs here: $(hold) runs in a subshell)
live1=$(hold) && jobs+=("$live1") && live2=$(hold) && jobs+=("$live2") &&
	ended=$(hold) && jobs+=("$ended") || { echo "  not ok: sbatch --hold failed"; exit 1; }
echo "live jobs $live1 $live2, job to end $ended"
ph_start || exit 1

# Two VMs running.
ph_ctl create "$live1" -i minimal-pvh -m 256 >/dev/null & c1=$!
ph_ctl create "$ended" -i minimal-pvh -m 256 >/dev/null & c2=$!
wait $c1; r1=$?; wait $c2; r2=$?
check "two VMs created ($live1, $ended)" [ "$r1$r2" = 00 ]
check "exec in $live1 before the crash" [ "$(ph_ctl exec "$live1" -- echo before 2>/dev/null)" = before ]

ph_kill9
echo "killed hvd (-9) with 2 VMs running"
scancel "$ended"
# A create that never got its domain (hvd killed between disk and libvirt work).
mkdir -p "$ph_dir/state/vm/4242424242" "$ph_dir/run/vm/4242424242"
: > "$ph_dir/state/vm/4242424242/root.qcow2"
: > "$ph_dir/state/vm/4242424242/scratch.img"

# Second life: killed while the VM of live2 boots.
ph_start || exit 1
ph_ctl create "$live2" -i minimal-pvh -m 256 >/dev/null 2>&1 & c3=$!
for _ in $(seq 200); do
	virsh -q -c qemu:///system domstate "vmjob-$live2" 2>/dev/null | grep -q running && break
	sleep 0.1
done
sleep 1
ph_kill9
wait $c3 2>/dev/null
echo "killed hvd (-9) while vmjob-$live2 was booting"

# Third life: rebuild, adopt, reap, sweep.
ph_start || exit 1
for _ in $(seq 120); do
	s1=$(ph_ctl status "$live1" 2>/dev/null | sed -n 's/^state=//p')
	s2=$(ph_ctl status "$live2" 2>/dev/null | sed -n 's/^state=//p')
	gone=$(virsh -q -c qemu:///system domstate "vmjob-$ended" >/dev/null 2>&1 || echo yes)
	[ "$s1" = ready ] && [ "$s2" = ready ] && [ "$gone" = yes ] && break
	sleep 1
done
check "VM of live job $live1 adopted (state ready)" [ "$s1" = ready ]
check "exec in $live1 after the restart" [ "$(ph_ctl exec "$live1" -- echo after 2>/dev/null)" = after ]
check "VM of job $live2, killed mid-boot, adopted once its agent answered" [ "$s2" = ready ]
check "exec in $live2 after the restart" [ "$(ph_ctl exec "$live2" -- echo booted 2>/dev/null)" = booted ]
has_times() { ph_ctl status "$1" | grep -q '^t_agent=[1-9]'; }
check "phase times of $live1 survived the restart (from libvirt metadata)" has_times "$live1"
check "VM of ended job $ended destroyed by the reaper" [ "$gone" = yes ]
check "files of ended job $ended removed" [ ! -e "$ph_dir/state/vm/$ended" -a ! -e "$ph_dir/run/vm/$ended" ]
check "half-made overlay and scratch of a domain-less create removed" \
	[ ! -e "$ph_dir/state/vm/4242424242" -a ! -e "$ph_dir/run/vm/4242424242" ]
check "the log says why $ended went" grep -q "job $ended: the job ended (state CANCELLED)" "$ph_dir/hvd.log"
check "other vmjob domains (not this instance's) left alone" grep -q "other vmjob domain(s) left alone" "$ph_dir/hvd.log"

# A second hvd on the same host (another instance) neither adopts nor
# destroys these VMs.
b=$ph_dir/b
mkdir -p "$b"
sed -e "s#^socket = .*#socket = $b/hvd.sock#" -e "s#^run_dir = .*#run_dir = $b/run#" \
	-e "s#^state_dir = .*#state_dir = $b/state#" -e "s#^pidfile = .*#pidfile = $b/hvd.pid#" \
	"$ph_dir/hvd.conf" > "$b/hvd.conf"
build/hvd/hvd -f -c "$b/hvd.conf" > "$b/hvd.log" 2>&1 & bpid=$!
for _ in $(seq 100); do build/hvctl/hvctl -s "$b/hvd.sock" vms >/dev/null 2>&1 && break; sleep 0.1; done
check "a second hvd instance adopts none of them" grep -q '^no VMs' <(build/hvctl/hvctl -s "$b/hvd.sock" vms)
build/hvctl/hvctl -s "$b/hvd.sock" destroy "$live1" >/dev/null 2>&1
check "its DESTROY leaves the other instance's domain running" \
	grep -q running <(virsh -q -c qemu:///system domstate "vmjob-$live1")
kill "$bpid"; wait "$bpid" 2>/dev/null
check "exec in $live1 still works" [ "$(ph_ctl exec "$live1" -- echo still 2>/dev/null)" = still ]

# Destroy still works on adopted VMs.
ph_ctl destroy "$live1" >/dev/null && ph_ctl destroy "$live2" >/dev/null
check "adopted VMs destroyed by DESTROY" [ -z "$(ph_domains)" ]
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
