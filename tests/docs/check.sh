#!/bin/bash
# The documents and command lines a site admin meets, held to the code
# (make test: no root, no cluster). One ok/not ok line per check.
#  - every man page renders with man(1) and no groff warning;
#  - hvctl.8 has an entry for every verb hvctl --help lists, vmjob.8 for
#    every option the plugin registers (hvd.conf keys: hvd/base/test_config.c);
#  - docs/admin-guide.md's troubleshooting section has every error message
#    hvd and the plugin can print (tests/docs/messages.py);
#  - every program answers --help and --version (exit 0, on stdout) and
#    refuses a wrong option with one line that points to --help (exit 2).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${B:-build}
failures=0
ok() { echo "  ok: $*"; }
fail() { echo "  not ok: $*"; failures=$((failures + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# --- man pages
pages=(man/hvd.8 man/hvctl.8 man/hvd.conf.5 man/vmjob.8 man/vmjob-image.8)
for p in "${pages[@]}"; do
	if [ ! -s "$p" ]; then fail "$p exists"; continue; fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$p" 2>&1 >/dev/null)
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$p" 2>/dev/null | wc -l)
	check "$p renders ($out lines) without warnings${warn:+: $warn}" [ -z "$warn" ] && [ "$out" -gt 20 ]
done

# --- hvctl verbs in hvctl(8)
verbs=$("$B/hvctl/hvctl" --help | sed -n 's/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
check "hvctl --help lists its verbs ($(echo $verbs | wc -w))" [ "$(echo $verbs | wc -w)" -ge 15 ]
missing=() nohelp=()
for v in $verbs; do
	grep -qE "^\.B[IR]? \"?$v\"?( |$)" man/hvctl.8 2>/dev/null || missing+=("$v")
	"$B/hvctl/hvctl" "$v" --help > /dev/null 2>&1 || nohelp+=("$v")
done
check "man/hvctl.8 has an entry for each verb${missing:+ (not: ${missing[*]})}" [ ${#missing[@]} = 0 ]
check "hvctl VERB --help exits 0 for each verb${nohelp:+ (not: ${nohelp[*]})}" [ ${#nohelp[@]} = 0 ]

# --- the plugin's options in vmjob(8)
opts=$(sed -n 's/^[[:space:]]*{"\(vm-[a-z-]*\)".*/\1/p' spank-plugin/options.c)
check "the plugin registers options ($(echo $opts))" [ -n "$opts" ]
missing=()
for o in $opts; do
	grep -qF -- "\\-\\-${o//-/\\-}" man/vmjob.8 2>/dev/null || missing+=("--$o")
done
check "man/vmjob.8 documents each option${missing:+ (not: ${missing[*]})}" [ ${#missing[@]} = 0 ]

# --- every error line hvd and the plugin can print is in the admin guide
out=$(python3 tests/docs/messages.py --check docs/admin-guide.md 2>&1); rc=$?
[ $rc = 0 ] || sed 's/^/  | /' <<< "$out" | head -n 40
check "docs/admin-guide.md explains every error message ($(tail -n1 <<< "$out" | sed 's/^ *//'))" [ $rc = 0 ]

# --- command-line conventions
progs=("$B/hvd/hvd" "$B/hvd/vmrelay" "$B/hvctl/hvctl" "$B/fsgateway/vmfs-server" "$B/fsgateway/vmfs-client"
	"$B/spank-plugin/vmexec" "$B/imagetool/vmjob-image" "$B/images/agent/vmagent")
for p in "${progs[@]}"; do
	n=$(basename "$p")
	out=$(env -u VMJOB_JOBID "$p" --help 2>/dev/null); rc=$?
	check "$n --help: exit 0, usage on stdout" [ "$rc" = 0 ] && grep -q '^Usage: ' <<< "$out"
	out=$(env -u VMJOB_JOBID "$p" --version 2>/dev/null); rc=$?
	check "$n --version: exit 0, '$out'" [ "$rc" = 0 ] && [ "$out" = "$n (vmjob) $(sed -n 's/^VERSION *:= *//p' Makefile)" ]
	err=$(env -u VMJOB_JOBID "$p" --no-such-option 2>&1 >/dev/null); rc=$?
	check "$n --no-such-option: exit 2, one line naming it and --help" \
		[ "$rc" = 2 ] && [ "$(wc -l <<< "$err")" = 1 ] && grep -q -- "--no-such-option.*--help" <<< "$err"
done
for p in "$B/hvd/hvd" "$B/hvctl/hvctl" "$B/imagetool/vmjob-image"; do
	# a short option that takes an argument, given none
	opt=-c; [ "$(basename "$p")" = hvctl ] && opt=-s; [ "$(basename "$p")" = vmjob-image ] && opt=-n
	err=$("$p" $opt 2>&1 >/dev/null); rc=$?
	check "$(basename "$p") $opt without its argument: exit 2, one line" [ "$rc" = 2 ] && [ "$(wc -l <<< "$err")" = 1 ]
done
# verbs parse their options after the global ones (GNU permutation: JOB may
# come first); with no hvd there, they get as far as asking it
for a in "create 7 -i minimal -c 1 -m 256" "create --image=minimal 7" "exec -t -C / 7 -- true" \
	"cpu --interval=0.1" "metrics --json" "status 7 --json" "images --json"; do
	out=$("$B/hvctl/hvctl" -s /nonexistent/hvd.sock $a 2>&1 >/dev/null)
	check "hvctl $a: parsed, then hvd asked ($out)" grep -q "cannot reach hvd" <<< "$out"
done
out=$("$B/hvd/hvd" -t -c etc/hvd.conf 2>&1)
check "hvd --check-config accepts etc/hvd.conf ($out)" [ $? = 0 ]
printf 'no_such_key = 1\n' > "${TMPDIR:-/tmp}/vmjob-badconf.$$"
out=$("$B/hvd/hvd" -t -c "${TMPDIR:-/tmp}/vmjob-badconf.$$" 2>&1); rc=$?
rm -f "${TMPDIR:-/tmp}/vmjob-badconf.$$"
check "hvd --check-config refuses an unknown key with file:line (rc $rc: $out)" [ "$rc" = 1 ] && grep -q 'badconf.*:1: unknown key' <<< "$out"

[ "$failures" = 0 ] && echo "PASS docs/check" || echo "FAIL docs/check ($failures)"
[ "$failures" = 0 ]
