#!/bin/bash
# A per-user export (hvd.conf `export = /srv/.../%u`): the VM of alice's job
# mounts her own tree and nothing of bob's, through a gateway running as her.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
trap 'ph_cleanup; rm -rf "$pu"' EXIT
pu=/srv/vmjob/pu-test.$$
for u in vmjob-alice vmjob-bob; do
	install -d -o "$u" -g "$u" -m 0700 "$pu/$u"
	echo "$u's own file" > "$pu/$u/hello"
	chown "$u:$u" "$pu/$u/hello"
done
ph_setup uexp "export = $pu/%u"
ph_start || exit 1
ph_ctl create 9001 -i minimal-pvh -u 5001 -g 5001 -m 256 > "$ph_dir/create.out" 2>&1
check "a VM for alice's job" grep -q '^t_agent=' "$ph_dir/create.out" || sed 's/^/    /' "$ph_dir/create.out"
as_alice() { runuser -u vmjob-alice -- "$top/build/hvctl/hvctl" -s "$ph_dir/hvd.sock" exec -C /tmp 9001 -- "$@"; }
out=$(as_alice cat "$pu/vmjob-alice/hello" 2>&1)
check "her own tree is there, at the same path ($out)" [ "$out" = "vmjob-alice's own file" ]
out=$(as_alice ls "$pu" 2>&1)
check "only hers: $pu holds just her directory ($out)" [ "$out" = vmjob-alice ]
not_in_vm() { ! as_alice "$@" >/dev/null 2>&1; }
check "bob's file is not in her VM" not_in_vm cat "$pu/vmjob-bob/hello"
check "the guest was told the expanded path" \
	bash -c "virsh -c qemu:///system dumpxml vmjob-9001 | grep -q 'vmjob.fs=0:$pu/vmjob-alice'"
ph_ctl destroy 9001 >/dev/null
echo "  ($ph_ok ok, $ph_bad not ok)"
[ "$ph_bad" = 0 ]
