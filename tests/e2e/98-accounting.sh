#!/bin/bash
# Slurm sees the VM (docs/accounting.md): hvd puts each VM's QEMU into its
# job's extern step, so sacct and sstat account the VM's CPU time and memory
# to the job (slurmdbd, jobacct_gather/linux), the job's cores and memory
# bound it (task/cgroup), its time limit ends it, and sacct's State and
# ExitCode are what users expect of VM jobs that complete, fail, are
# cancelled, time out, run out of memory in the guest or cannot start.
. "$(dirname "$0")/lib.sh"
HZ=$(getconf CLK_TCK)

# sacct times ([DD-][HH:]MM:SS[.mmm]) in seconds
secs() {
	awk -v t="$1" 'BEGIN { d = 0; if (index(t, "-")) { split(t, a, "-"); d = a[1]; t = a[2] }
		n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print d * 86400 + s }'
}
# sacct sizes (123K, 45.5M, 1.2G) in MiB
mib() {
	awk -v v="$1" 'BEGIN { u = substr(v, length(v)); n = v + 0
		if (u == "K") n /= 1024; else if (u == "G") n *= 1024; else if (u != "M") n /= 1048576; printf "%.0f", n }'
}
acct() { sacct -n -P -X -j "$1" -o "$2" 2>/dev/null | head -1; }         # the job's own line
# step JOB FIELD [STEP]: the field of JOB.STEP, or of the job with all its steps
step() { sacct -n -P -j "$1" -o JobID,"$2" 2>/dev/null | awk -F'|' -v s="$1${3:+.$3}" '$1 == s { print $2 }'; }
qemu_pid() { cat "/run/libvirt/qemu/vmjob-$1.pid" 2>/dev/null; }
# QEMU in the job: started paused, moved, pinned again, then resumed
adopted() { local p; p=$(qemu_pid "$1") && grep -q ":memory:.*/job_$1/step_extern\$" "/proc/$p/cgroup"; }
running() { [ "$(job_field "$1" JobState)" = RUNNING ]; }
# leq A B: A <= B (floats)
leq() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# --- jobs on one core first: a time limit, a guest out of memory, a cancel,
# one that cannot start
jt=$(submit "$ALICE" --vm-image="$IMAGE" -t 1 -o timeout.txt --wrap 'sleep 600')
joom=$(submit "$ALICE" --vm-image=debian12 -o oom.txt --wrap \
	'python3 -c "
l = []
while True: l.append(bytearray(b\"x\") * (16 << 20))"')
jc=$(submit "$ALICE" --vm-image="$IMAGE" -o cancel.txt --wrap 'echo started; sleep 600')
jf=$(submit "$ALICE" --vm-image="$IMAGE" --mem=150 -o nostart.txt --wrap 'echo never')
wait_until 240 grep -q started cancel.txt
scancel "$jc"
for j in $joom $jc $jf; do wait_job "$j" 300 >/dev/null; done
wait_job "$jt" 300 >/dev/null

sleep 2 # slurmdbd has the jobs' ends
check "a VM job past its time limit: sacct State TIMEOUT (got $(acct "$jt" State))" [ "$(acct "$jt" State)" = TIMEOUT ]
check "... and its VM is gone" wait_until 60 no_leftovers "$jt"
show_file oom.txt
check "a guest out of memory: sacct State FAILED (got $(acct "$joom" State))" [ "$(acct "$joom" State)" = FAILED ]
check "... and one line says the VM ran out of memory, with its size" \
	grep -qE '^vmjob: the VM ran out of memory: its kernel killed [0-9]+ process(es)? of the job \(the guest has [0-9]+ MiB' oom.txt
check "cancelled: sacct State CANCELLED (got $(acct "$jc" State))" bash -c "[[ '$(acct "$jc" State)' == CANCELLED* ]]"
check "... and its VM is gone" wait_until 60 no_leftovers "$jc"
show_file nostart.txt
check "a VM that cannot start: sacct State FAILED (got $(acct "$jf" State))" [ "$(acct "$jf" State)" = FAILED ]
check "... with the reason in the job's output" grep -q "leave too little for a VM: QEMU needs 128 MiB" nostart.txt
check "... and in hvctl status" bash -c "hvctl status '$jf' 2>&1 | grep -q 'leave too little for a VM'"

# --- CPU: 2 vCPUs busy for 20 s in the guest, against QEMU's CPU time on the
# host and the guest's own /proc/stat
jcpu=$(submit "$ALICE" -c2 --vm-image="$IMAGE" -o cpu.txt --wrap '
busy() { awk "/^cpu / { print \$2 + \$3 + \$4 }" /proc/stat; }
s0=$(busy)
( while :; do :; done ) & a=$!
( while :; do :; done ) & b=$!
sleep 20; kill $a $b; wait
echo "guest-busy-ticks $(( $(busy) - s0 ))"
sleep 2')
wait_until 240 adopted "$jcpu"
pid=$(qemu_pid "$jcpu")
check "QEMU of the CPU job is in the job's extern step (freezer, cpuset, memory)" \
	bash -c "[ \$(grep -cE ':(freezer|cpuset|memory):/slurm[^/]*/uid_[0-9]+/job_$jcpu/step_extern\$' /proc/$pid/cgroup) = 3 ]"
qcpu=0 sst=""
while running "$jcpu" && [ -e "/proc/$pid" ]; do
	q=$(awk -v hz="$HZ" '{ print ($14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null) && [ -n "$q" ] && qcpu=$q
	[ -n "$sst" ] || { s=$(sstat -n -P -j "$jcpu.extern" -o AveCPU 2>/dev/null | head -1); [ -n "$s" ] && leq 5 "$(secs "$s")" && sst=$s; }
	sleep 0.5
done
wait_job "$jcpu" >/dev/null
sleep 2
show_file cpu.txt
gbusy=$(awk '/^guest-busy-ticks/ { print $2 / 100 }' cpu.txt)
acpu=$(secs "$(step "$jcpu" TotalCPU extern)")
aucpu=$(secs "$(step "$jcpu" UserCPU extern)")
jobcpu=$(secs "$(step "$jcpu" TotalCPU)")
echo "  guest busy ${gbusy}s; QEMU on the host ${qcpu}s (last seen); sacct $jcpu.extern TotalCPU ${acpu}s (UserCPU ${aucpu}s), job TotalCPU ${jobcpu}s; sstat while running: ${sst:-none}"
check "CPU job COMPLETED 0:0 in sacct" [ "$(acct "$jcpu" State) $(acct "$jcpu" ExitCode)" = "COMPLETED 0:0" ]
check "the guest was busy about 40 s (2 vCPUs x 20 s)" leq 36 "${gbusy:-0}"
check "sacct's extern TotalCPU is within 5% of QEMU's host CPU time" \
	bash -c "leq() { awk -v a=\"\$1\" -v b=\"\$2\" 'BEGIN { exit !(a <= b) }'; }; leq \$(awk 'BEGIN { print $qcpu * 0.95 }') $acpu && leq $acpu \$(awk 'BEGIN { print $qcpu * 1.05 + 1 }')"
check "... and holds at least the guest's busy time" leq "${gbusy:-99}" "$acpu"
check "... mostly user time (TCG)" leq "$(awk "BEGIN { print $acpu / 2 }")" "$aucpu"
check "the job's TotalCPU includes it" leq "$acpu" "$jobcpu"
check "sstat showed the VM's CPU time while the job ran" [ -n "$sst" ]
check "the CPU job left nothing" wait_until 60 no_leftovers "$jcpu"

# --- memory and limits: the guest touches 400 MiB of a 1024 MiB job
jmem=$(submit "$ALICE" -c2 --mem=1024 --vm-image=debian12 -o mem.txt --wrap '
head -1 /proc/meminfo
python3 -c "b = bytearray(b\"x\") * (400 << 20); import time; time.sleep(4)"
echo touched')
wait_until 240 adopted "$jmem"
sleep 2
pid=$(qemu_pid "$jmem")
memcg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
jobcg=/sys/fs/cgroup/memory${memcg%/step_extern}
limit=$(cat "$jobcg/memory.limit_in_bytes" 2>/dev/null)
cpucg=$(awk -F: '$2 == "cpuset" { print $3 }' "/proc/$pid/cgroup")
jobcores=$(cat "/sys/fs/cgroup/cpuset${cpucg%/step_extern}/cpuset.cpus" 2>/dev/null)
vcpus=$(for t in /proc/$pid/task/*; do grep -q '^CPU [0-9]*/' "$t/comm" && awk '/Cpus_allowed_list/ { print $2 }' "$t/status"; done | sort | tr '\n' ' ')
echo "  QEMU memory cgroup $memcg, job limit $limit bytes; job cores $jobcores, vCPU threads on: $vcpus"
check "QEMU is bounded by the job's memory limit (1024 MiB)" [ "$limit" = $((1024 << 20)) ]
check "each vCPU stays pinned to one of the job's cores ($jobcores)" \
	bash -c "[ -n '$vcpus' ] && for c in $vcpus; do case \$c in *[-,]*) exit 1;; esac; done"
wait_job "$jmem" 300 >/dev/null
sleep 2
show_file mem.txt
guestmb=$(awk '/MemTotal/ { print int($2 / 1024) }' mem.txt)
rss=$(mib "$(step "$jmem" MaxRSS extern)")
echo "  guest MemTotal ${guestmb} MiB; sacct $jmem.extern MaxRSS ${rss} MiB"
check "memory job COMPLETED" [ "$(acct "$jmem" State)" = COMPLETED ] && grep -q touched mem.txt
check "the guest gets the job's memory less QEMU's 128 MiB (MemTotal $guestmb MiB <= 896)" leq "${guestmb:-9999}" 896
check "sacct's MaxRSS holds the 400 MiB the guest touched" leq 400 "${rss:-0}"
check "... and stays within the job's 1024 MiB" leq "${rss:-9999}" 1024
finish
