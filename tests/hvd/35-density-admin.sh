#!/bin/bash
# Density knobs and the admin verbs on a private hvd: vCPU pinning, NUMA and
# disk cache in the domain XML; max_vms, the memory reserve and drain refuse
# a CREATE with one clear line (drain survives a restart); hvctl vms, cpu,
# metrics (Prometheus text, written atomically) and each verb's --help.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
trap ph_cleanup EXIT
ph_setup dens "max_vms = 1"
ph_start || exit 1
has() { grep -q -- "$1" "$2"; }

ph_ctl create d1 -i minimal-pvh -c 2 -m 256 --cores 0-1 > "$ph_dir/d1.out" 2>&1
check "VM d1 created with 2 vCPUs on cores 0-1" has '^t_agent=' "$ph_dir/d1.out"
virsh -c qemu:///system dumpxml vmjob-d1 > "$ph_dir/d1.xml" 2>/dev/null
check "vCPU 0 pinned to core 0" has "<vcpupin vcpu='0' cpuset='0'/>" "$ph_dir/d1.xml"
check "vCPU 1 pinned to core 1" has "<vcpupin vcpu='1' cpuset='1'/>" "$ph_dir/d1.xml"
check "QEMU's threads on the job's cores" has "<emulatorpin cpuset='0-1'/>" "$ph_dir/d1.xml"
check "memory preferred on NUMA node 0" has "<memory mode='preferred' nodeset='0'/>" "$ph_dir/d1.xml"
check "disks with cache=unsafe io=threads" has "cache='unsafe' io='threads'" "$ph_dir/d1.xml"

out=$(ph_ctl create d2 -i minimal-pvh -m 256 2>&1); rc=$?
check "max_vms=1 refuses a second VM: '$out'" [ $rc = 1 -a "$out" = "hvctl: host full: 1 of max_vms=1 VMs running" ]

ph_ctl vms > "$ph_dir/vms.out"
check "hvctl vms lists d1 ready, with its phase times" grep -Eq '^d1 +root +minimal-pvh +ready +qemu .* [0-9]+\.[0-9] +[0-9]+\.[0-9]$' "$ph_dir/vms.out"
# --json: one document each, with the fields docs/hvctl-json.md promises.
json() { ph_ctl "$@" > "$ph_dir/json.out" 2>&1 && python3 "$top/tests/hvd/jsoncheck.py" "$1" < "$ph_dir/json.out"; }
for v in vms status images catalogue metrics; do
	args=(); [ "$v" = status ] && args=(d1)
	check "hvctl $v --json: valid, with its schema's fields" json "$v" "${args[@]}" --json
done
check "vms --json: d1 ready with 2 vCPUs, its agent phase timed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = [x for x in d["vms"] if x["job"] == "d1"][0]
sys.exit(not (v["state"] == "ready" and v["cpus"] == 2 and v["phases_s"]["agent"] > 0 and d["host"]["max_vms"] == 1))' \
	<(ph_ctl vms --json)
ph_ctl exec -C / d1 -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done' &
busy=$!
ph_ctl cpu --interval 2 > "$ph_dir/cpu.out"
wait $busy
check "hvctl cpu samples d1's CPU use" grep -Eq '^d1 .* [0-9]+\.[0-9]{2} +[0-9]+%$' "$ph_dir/cpu.out"
cat "$ph_dir/cpu.out" | sed 's/^/    /'
ph_ctl metrics --output "$ph_dir/vmjob.prom"
check "metrics file written" [ -s "$ph_dir/vmjob.prom" ]
check "metrics: no temporary file left" [ -z "$(ls "$ph_dir" | grep 'vmjob.prom.tmp')" ]
check "metrics: vmjob_vms{state=\"ready\"} 1" has '^vmjob_vms{state="ready"} 1$' "$ph_dir/vmjob.prom"
check "metrics: d1's CPU seconds counter" grep -Eq '^vmjob_vm_cpu_seconds_total\{job="d1",user="root",image="minimal-pvh"\} [0-9.]+$' "$ph_dir/vmjob.prom"
check "metrics: d1's agent phase" grep -Eq '^vmjob_vm_phase_seconds\{job="d1",.*,phase="agent"\} [0-9.]+$' "$ph_dir/vmjob.prom"
check "metrics: host not drained" has '^vmjob_host_drained 0$' "$ph_dir/vmjob.prom"
check "metrics: every sample has HELP and TYPE" \
	awk '/^# TYPE/ { t[$3] = 1 } !/^#/ { n = $1; sub(/\{.*/, "", n); if (!(n in t)) bad = 1 } END { exit bad }' "$ph_dir/vmjob.prom"

ph_ctl drain disk replacement >/dev/null
ph_ctl destroy d1 >/dev/null
out=$(ph_ctl create d3 -i minimal-pvh -m 256 2>&1)
check "a drained host refuses: '$out'" [ "$out" = "hvctl: host drained: no new VMs (disk replacement)" ]
ph_stop
ph_start || exit 1
out=$(ph_ctl create d3 -i minimal-pvh -m 256 2>&1)
check "the drain survives a restart of hvd" [ "$out" = "hvctl: host drained: no new VMs (disk replacement)" ]
check "hvctl vms shows the drain" grep -q 'DRAINED: disk replacement' <(ph_ctl vms)
ph_ctl resume >/dev/null
check "metrics after resume: not drained" grep -q '^vmjob_host_drained 0$' <(ph_ctl metrics)

# Memory admission: a reserve that leaves less than the job asks.
ph_stop
total=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
echo "host_mem_reserve_mb = $((total - 200))" >> "$ph_dir/hvd.conf"
ph_start || exit 1
out=$(ph_ctl create d4 -i minimal-pvh -m 256 2>&1)
check "memory admission refuses: '$out'" \
	[ "${out%% (*}" = "hvctl: not enough memory: job asks 256 MiB, 200 MiB free after the $((total - 200)) MiB host reserve" ]
check "no domain was started for refused jobs" [ -z "$(ph_domains)" ]

for v in vms drain resume cpu metrics; do
	check "hvctl $v --help" grep -q "^Usage: hvctl \[-s SOCKET\] $v" <(ph_ctl "$v" --help)
done
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
