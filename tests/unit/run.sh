#!/bin/bash
# run.sh TEST...: run each unit test binary; one PASS/FAIL line each, then a
# total. Exits non-zero if any failed.
set -uo pipefail
pass=0 fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); echo "PASS unit/${t#build/unit/}"
	else fail=$((fail + 1)); echo "FAIL unit/${t#build/unit/}"; fi
done
echo "unit tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
