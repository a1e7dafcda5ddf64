#!/bin/bash
# Flow control per command: a command whose client does not read its output,
# or that does not read its own stdin, stalls no other command of the same
# VM, and the relay's memory stays bounded meanwhile (FLOW frames between the
# relay and the agent: docs/internals.md "The relay").
. "$(dirname "$0")/lib.sh"

ready() { hvctl status "$1" 2>/dev/null | grep -qx 'state=ready'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

j=$(submit "$ALICE" --vm-image="$IMAGE" -o hold.out --wrap 'sleep 600')
wait_until 180 ready "$j" || { fail "job $j's VM never became ready"; scancel "$j"; finish; }
relay=$(pgrep -f "vmrelay .*--job $j\$")

# 1. Output nobody reads for 25 s: 64 MiB from the guest into a reader that
# sleeps first. Meanwhile another command runs and answers.
( hvctl exec -C / "$j" -- head -c 67108864 /dev/zero | (sleep 25; wc -c > flood.count) ) &
flood=$!
sleep 5
out=$(timeout 12 hvctl exec -C / "$j" -- echo fast 2>&1)
check "a command runs while another's output is not read ($out)" [ "$out" = fast ]
r1=$(rss_kb "$relay")
check "the relay's memory stays bounded meanwhile (VmRSS ${r1} kB < 32768)" [ "$r1" -lt 32768 ]
wait "$flood"
check "the unread command's output arrives whole once read ($(cat flood.count 2>/dev/null) bytes)" \
	[ "$(cat flood.count 2>/dev/null)" = 67108864 ]

# 2. A command that does not read its stdin while 40 MB are written to it;
# another command runs meanwhile, and the writer waits rather than the VM.
( seq 1 5000000 | hvctl exec -C / "$j" -- sleep 25 > /dev/null 2>&1; echo "rc=$?" > stdin.rc ) &
feed=$!
sleep 8
out=$(timeout 12 hvctl exec -C / "$j" -- echo fast2 2>&1)
check "a command runs while another does not read its stdin ($out)" [ "$out" = fast2 ]
r2=$(rss_kb "$relay")
check "the relay's memory stays bounded meanwhile (VmRSS ${r2} kB < 32768)" [ "$r2" -lt 32768 ]
wait "$feed"
check "the command that did not read its stdin ends normally ($(cat stdin.rc))" grep -qx 'rc=0\|rc=141' stdin.rc
echo "  relay VmRSS: ${r1} kB (output unread), ${r2} kB (stdin unread)"

scancel "$j"
st=$(wait_job "$j" 120)
check "the job ends when cancelled ($st)" [ "$st" = CANCELLED ]
check "... and leaves nothing" wait_until 60 no_leftovers "$j"
finish
