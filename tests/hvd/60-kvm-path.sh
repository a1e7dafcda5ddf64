#!/bin/bash
# The KVM configuration must not rot where KVM cannot boot a guest (this
# host's KVM hangs real guests): a private hvd forced to virt_type = kvm
# starts a VM, and what libvirt generates for it is checked (domain type,
# QEMU's accelerator, CPU model and features) before the guest, which cannot
# boot here, times out. hvctl vms reports the verdict and its reason, for the
# forced type and for the probe's (virt_type = auto).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
trap ph_cleanup EXIT
job=960$((RANDOM % 100))
not_grep() { ! grep -q -- "$1" <<<"$2"; }

if [ ! -e /dev/kvm ]; then
	echo "  skip: no /dev/kvm on this host: libvirt refuses a kvm domain outright"
	exit 0
fi
ph_setup kvm "virt_type = kvm
boot_timeout = 8
log_level = debug"
ph_start || exit 1
check "hvctl vms: KVM, because hvd.conf says so" \
	bash -c "'$top/build/hvctl/hvctl' -s '$ph_dir/hvd.sock' vms | grep -qx 'virtualisation: KVM (virt_type = kvm in hvd.conf (no probe))'"
: >"/var/log/libvirt/qemu/vmjob-$job.log" 2>/dev/null
ph_ctl create "$job" -i minimal-pvh -m 256 >"$ph_dir/create.out" 2>&1
# What hvd gave libvirt (its debug log) and what libvirt made of it (the
# QEMU command line in libvirt's log for the domain, written even when QEMU
# fails at once).
xml=$(sed -n "/job $job: domain XML:/,/<\/domain>/p" "$ph_dir/hvd.log")
argv=$(tr -d '\\\n' <"/var/log/libvirt/qemu/vmjob-$job.log" 2>/dev/null | grep -oE -- '-(accel|cpu|machine) [^ ]+' | tr '\n' ' ')
echo "  QEMU: $argv"
check "hvd's domain is a kvm one" grep -q "<domain type=\"kvm\"" <<<"$xml"
check "with the host's CPU model, not migratable" \
	grep -q '<cpu mode="host-passthrough" check="none" migratable="off"/>' <<<"$xml"
check "and no TCG translation cache setting" not_grep "<tcg>" "$xml"
check "libvirt runs QEMU with -accel kvm" grep -q -- "-accel kvm" <<<"$argv"
check "and the host's CPU (-cpu host,migratable=off)" grep -q -- "-cpu host,migratable=off" <<<"$argv"
cat "$ph_dir/create.out"
# This host's KVM either hangs the guest (boot_timeout) or refuses the host
# CPU outright: either way one line, and nothing left.
check "the VM that cannot run under this KVM fails its start with one line" \
	bash -c "[ \$(wc -l <'$ph_dir/create.out') = 1 ] && grep -qE 'cannot start the VM of job $job: (the guest agent did not answer within 8 s|libvirt cannot start domain)' '$ph_dir/create.out'"
check "... and leaves no domain" bash -c "! virsh -q -c qemu:///system domstate 'vmjob-$job' >/dev/null 2>&1"
ph_stop

# virt_type = auto: the probe's verdict, with the probe's own reason.
sed -i 's/^virt_type = kvm$/virt_type = auto/' "$ph_dir/hvd.conf"
ph_start || exit 1
check "before any VM, hvctl vms says the probe has not run" \
	bash -c "'$top/build/hvctl/hvctl' -s '$ph_dir/hvd.sock' vms | grep -q 'virtualisation: not decided yet'"
ph_ctl create "$job" -i minimal-pvh -m 256 >/dev/null 2>&1
v=$("$top/build/hvctl/hvctl" -s "$ph_dir/hvd.sock" vms | grep '^virtualisation:')
echo "  $v"
check "after it, the probe's verdict and why" grep -qE '^virtualisation: (KVM|TCG) \(probe boot under KVM .+\)$' <<<"$v"
check "... also in --json" bash -c "'$top/build/hvctl/hvctl' -s '$ph_dir/hvd.sock' vms --json | python3 -c 'import json,sys; h=json.load(sys.stdin)[\"host\"]; sys.exit(not (h[\"virt\"] in (\"kvm\",\"qemu\") and h[\"virt_reason\"].startswith(\"probe boot under KVM\")))'"
ph_ctl destroy "$job" >/dev/null 2>&1
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
