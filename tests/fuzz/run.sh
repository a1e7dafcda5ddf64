#!/bin/bash
# run.sh SECONDS FUZZER...: run each libFuzzer target for SECONDS on a scratch
# copy of its seed corpus (tests/fuzz/corpus/<name without fuzz_>/). Any crash
# fails the run and leaves its reproducer in build/fuzz/.
set -euo pipefail
secs=$1; shift
for f in "$@"; do
	[ -x "$f" ] || { echo "fuzzer $f is not built"; exit 1; }
	name=$(basename "$f"); seeds=tests/fuzz/corpus/${name#fuzz_}
	work=build/fuzz/corpus-${name#fuzz_}
	mkdir -p "$work"; cp -n "$seeds"/* "$work"/ 2>/dev/null || true
	echo "fuzzing $name for ${secs}s"
	"$f" -max_total_time="$secs" -max_len=65536 -artifact_prefix=build/fuzz/ -print_final_stats=1 "$work" 2>&1 |
		grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true
	[ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzzer $name found a crash (see build/fuzz/)"; exit 1; }
done
