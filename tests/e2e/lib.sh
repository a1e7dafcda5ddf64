# Helpers for the end-to-end tests (sourced). Tests run as root and submit
# jobs as the ordinary users of the local cluster (tests/cluster/up.sh).
set -uo pipefail
IMAGE=${VMJOB_TEST_IMAGE:-minimal}
ALICE=vmjob-alice
BOB=vmjob-bob
NAME=$(basename "$0" .sh)
E2E=$(cd "$(dirname "$0")" && pwd)
WORK=/tmp/vmjob-e2e/$NAME
rm -rf "$WORK"
install -d -o "$ALICE" -g "$ALICE" "$WORK"
cd "$WORK" || exit 1
failures=0

fail() { echo "  not ok: $*"; failures=$((failures + 1)); }
ok() { echo "  ok: $*"; }
# check DESCRIPTION CMD...: one assertion
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# not CMD...: succeeds when CMD fails (for check, which runs a command, not a pipeline)
not() { ! "$@"; }
finish() { exit $((failures > 0)); }

as_alice() { runuser -u "$ALICE" -- "$@"; }
as_bob() { runuser -u "$BOB" -- "$@"; }

# submit USER SBATCH-ARGS...: prints the job id.
submit() { local u=$1; shift; runuser -u "$u" -- sbatch --parsable -D "$WORK" "$@"; }

job_field() { scontrol show job "$1" -o 2>/dev/null | grep -oE "(^| )$2=[^ ]*" | head -1 | cut -d= -f2-; }

# wait_job JOB [SECONDS]: until the job reaches a final state; prints it.
wait_job() {
	local j=$1 end=$((SECONDS + ${2:-240})) st
	while :; do
		st=$(job_field "$j" JobState)
		case "$st" in
		COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;;
		esac
		if [ $SECONDS -ge $end ]; then echo "TIMEOUT-WAITING($st)"; return 1; fi
		sleep 1
	done
	sleep 1 # let slurmstepd close the output files
	echo "$st"
}

# wait_until SECONDS CMD...: poll until CMD succeeds.
wait_until() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 1
	done
}

# leftovers JOB: prints anything of the job's VM still on the host.
leftovers() {
	local j=$1
	virsh -c qemu:///system list --all --name 2>/dev/null | grep -x "vmjob-$j"
	ls -d "/var/lib/vmjob/vm/$j" "/run/vmjob/vm/$j" 2>/dev/null
	pgrep -af "vmrelay .*--job $j\$"
	true
}
no_leftovers() { [ -z "$(leftovers "$1")" ]; }

# restart_hvd SIGNAL: stop the cluster's hvd with it and start it again at
# once with the same command line, as systemd's Restart= or an upgrade would.
restart_hvd() { # SIGNAL: stop the cluster's hvd with it and start it again
	local pid
	pid=$(cat /run/vmjob/hvd.pid)
	kill "-$1" "$pid"
	wait_until 30 not test -e "/proc/$pid"
	/usr/local/sbin/hvd -c /etc/vmjob/hvd.conf
}

show_file() { echo "  --- $1:"; sed 's/^/  | /' "$1" 2>/dev/null | head -40; }
