#!/bin/bash
# Run every test that needs the local cluster (make check runs make test,
# the unit tests and fuzzing, before it): the gateway, hvd's own tests, then the end-to-end suite on the
# cluster (tests/e2e/*.sh, each run as ordinary users). Prints one result line
# per test and a final "N passed, N failed" line; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"
pass=0 fail=0 failed=()
record() { # NAME RC
	if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS $1"; else fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1"; fi
}
# Jobs of the test users and the tests' held jobs, left by an earlier run
# that was interrupted, would compete with these tests for the node.
for u in vmjob-alice vmjob-bob; do scancel -u "$u" 2>/dev/null; done
for n in vjt-crash vjt-doubt; do scancel -n "$n" 2>/dev/null; done
# The filesystem gateway in a guest booted by plain QEMU (no Slurm needed).
if [ -z "${VMJOB_TESTS:-}" ] || [[ " $VMJOB_TESTS " == *" fsgateway "* ]]; then
	echo "--- fsgateway"
	tests/fsgateway/run.sh; record fsgateway/virtiofs $?
	TRANSPORT=serial NFILES=2000 NOPS=1000 tests/fsgateway/run.sh; record fsgateway/serial $?
fi
only=${VMJOB_TESTS:-}
# hvd's own tests (a private hvd on a test socket, libvirt, the image repo).
for t in tests/hvd/[0-9]*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	[ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
	echo "--- hvd/$name"
	timeout 1200 bash "$t"; record "hvd/$name" $?
done
for t in tests/e2e/[0-9]*.sh; do
	name=$(basename "$t" .sh)
	[ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
	echo "--- $name"
	timeout 600 bash "$t"; record "e2e/$name" $?
done
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
