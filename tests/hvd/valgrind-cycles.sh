#!/bin/bash
# hvd under valgrind for N real create/destroy cycles (each boots a guest):
# no definitely-lost bytes, no growth in hvd's open fds. Prints the numbers.
#   tests/hvd/valgrind-cycles.sh [N]    (default 100; `make valgrind-hvd`;
#                                        make check runs 5 via 90-valgrind.sh)
# A private hvd; job names are not Slurm ids, so the reaper never asks
# slurmctld and keeps every VM (what is measured is hvd's own create and
# destroy paths). The first cycle is a warm-up (image download, KVM probe
# verdict, libvirt's first connection); fds are counted after it.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh
n=${1:-100}
command -v valgrind >/dev/null || { echo "  not ok: valgrind is not installed"; exit 1; }
trap ph_cleanup EXIT
ph_setup vg
vglog=$ph_dir/valgrind.log
ph_start valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--num-callers=30 --log-file="$vglog" || exit 1
pid=$ph_hvd_pid
fds() { ls "/proc/$pid/fd" | wc -l; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }

cycle() {
	ph_ctl create "vg$1" -i minimal-pvh -m 256 >/dev/null 2>"$ph_dir/cycle.err" &&
		ph_ctl exec -C / "vg$1" -- true 2>>"$ph_dir/cycle.err" &&
		ph_ctl destroy "vg$1" >/dev/null 2>>"$ph_dir/cycle.err"
}
cycle 0 || { echo "  not ok: warm-up cycle failed: $(cat "$ph_dir/cycle.err")"; exit 1; }
fd0=$(fds) rss0=$(rss) failed=0 t0=$SECONDS
for i in $(seq 1 "$n"); do
	if ! cycle "$i"; then
		failed=$((failed + 1))
		echo "  cycle $i failed: $(tr "\n" " " < "$ph_dir/cycle.err")"
		ph_ctl destroy "vg$i" >/dev/null 2>&1
	fi
	[ $((i % 10)) = 0 ] && echo "  ... $i cycles, $(fds) fds, VmRSS $(rss) KiB, $((SECONDS - t0)) s"
done
fd1=$(fds) rss1=$(rss)
ls -l "/proc/$pid/fd" > "$ph_dir/fds.txt"
ph_stop # SIGTERM: hvd exits, valgrind writes its leak summary
summary=no
grep -q 'LEAK SUMMARY\|no leaks are possible' "$vglog" && summary=yes
lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p' "$vglog" | tail -1)
[ -n "$lost" ] || lost="0 0" # "no leaks are possible": nothing was lost
reach=$(sed -n 's/.*still reachable: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tail -1)
possibly=$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tail -1)
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$vglog" | tail -1)
echo "hvd under valgrind, $n create/exec/destroy cycles ($failed failed), $((SECONDS - t0)) s:"
echo "  definitely lost: ${lost% *} bytes in ${lost#* } blocks; valgrind errors: ${errs:-?}"
echo "  (possibly lost: ${possibly:-0} bytes, thread stacks and libraries; still reachable at exit: ${reach:-0} bytes)"
echo "  open fds after the warm-up: $fd0, after $n cycles: $fd1"
echo "  VmRSS after the warm-up: $rss0 KiB, after $n cycles: $rss1 KiB"
check "all $n cycles created, ran a command in and destroyed their VM" [ "$failed" = 0 ]
check "valgrind wrote its leak summary" [ "$summary" = yes ]
check "no definitely-lost bytes" [ "${lost% *}" = 0 ]
check "no valgrind errors" [ "${errs:-1}" = 0 ]
check "no fd growth ($fd0 -> $fd1)" [ "$fd1" -le "$fd0" ]
if [ "$ph_bad" != 0 ]; then
	echo "valgrind's report:"; grep -A25 'definitely lost in\|Invalid\|uninitialised' "$vglog" | head -80
fi
[ "$ph_bad" = 0 ]
