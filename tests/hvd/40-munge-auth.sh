#!/bin/bash
# Every request to hvd carries a munge credential, and hvd authorises by it
# (hvd/auth.c, docs/internals.md "hvd requests"): root and slurm_user create
# and destroy; a user queries and runs commands only in their own job's VM;
# a request with no credential, a replayed one or one made for another
# request is refused; every refusal is one log line; with munged down the
# client says so in one clear line. A private hvd (own socket, dirs,
# instance) with slurm_user = slurm; users vmjob-alice and vmjob-bob.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/hvd/privhvd.sh

HVCTL=$top/build/hvctl/hvctl
VMEXEC=$top/build/spank-plugin/vmexec
MUNGE_PID=/run/munge/munged.pid
munge_stopped=0
T=$(mktemp -d /tmp/vjt-munge-out.XXXXXX)
chmod 0755 "$T"

start_munged() {
	runuser -u munge -- /usr/sbin/munged
	for _ in $(seq 100); do
		munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "munged did not come back"
	return 1
}
finish() {
	# munged is the host's: never leave it stopped.
	[ "$munge_stopped" = 0 ] || start_munged
	ph_cleanup
	rm -rf "$T"
}
trap finish EXIT

for u in vmjob-alice vmjob-bob slurm; do
	id "$u" >/dev/null 2>&1 || { echo "  not ok: no user $u (run tests/cluster/up.sh)"; exit 1; }
done
munge -n | unmunge >/dev/null 2>&1 || { echo "  not ok: munged is not running"; exit 1; }

ph_setup munge "slurm_user = slurm
reap_interval = 0"
ph_start || exit 1
sock=$ph_dir/hvd.sock
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
hv() { local u=$1; shift; as "$u" "$HVCTL" -s "$sock" "$@"; }
# The output of a command that must fail, with the reason it gave.
refused() { # FILE USER HVCTL-ARGS...
	local out=$1 u=$2; shift 2
	if hv "$u" "$@" >"$T/$out" 2>&1; then echo "(it succeeded)" >>"$T/$out"; return 1; fi
	return 0
}
says() { grep -q -- "$2" "$T/$1" || { echo "    $1: $(cat "$T/$1")"; return 1; }; }

# --- root and slurm_user create (two VMs booting at once), alice owns both
ja=vjtmunge-$$-a jb=vjtmunge-$$-b
hv root create "$ja" -i minimal-pvh -m 256 -u 5001 -g 5001 >"$T/create-root" 2>&1 & c1=$!
hv slurm create "$jb" -i minimal-pvh -m 256 -u 5001 -g 5001 >"$T/create-slurm" 2>&1 & c2=$!
wait $c1; r1=$?; wait $c2; r2=$?
check "root creates the VM of $ja for alice" [ "$r1" = 0 ]
check "slurm_user (slurm) creates the VM of $jb for alice" [ "$r2" = 0 ]
[ "$r1$r2" = 00 ] || { cat "$T/create-root" "$T/create-slurm"; tail -20 "$ph_dir/hvd.log"; }

# --- the owner queries and runs commands
check "alice runs a command in her VM" \
	[ "$(hv vmjob-alice exec -C /tmp "$ja" -- id -u 2>/dev/null)" = 5001 ]
check "alice sees the status of her VM" \
	bash -c "runuser -u vmjob-alice -- '$HVCTL' -s '$sock' status '$ja' | grep -qx 'uid=5001'"

# --- another user may not
check "bob is refused exec in alice's VM" refused bob-exec vmjob-bob exec -C /tmp "$ja" -- id
check "  with the reason" says bob-exec "permission denied: the VM of job $ja belongs to uid 5001"
check "bob is refused the status of alice's VM" refused bob-status vmjob-bob status "$ja"
check "  with the reason" says bob-status "permission denied: the VM of job $ja belongs to uid 5001"
check "bob is refused the list of every VM" refused bob-list vmjob-bob list
check "  with the reason" says bob-list "LIST is for root and the SlurmUser (slurm) only"

# --- only root and slurm_user create and destroy
for u in vmjob-alice vmjob-bob; do
	check "$u is refused create" refused "$u-create" "$u" create "vjtmunge-$$-x" -i minimal-pvh
	check "  with the reason" says "$u-create" "permission denied: CREATE is for root and the SlurmUser (slurm) only"
	check "$u is refused destroy" refused "$u-destroy" "$u" destroy "$ja"
	check "  with the reason" says "$u-destroy" "permission denied: DESTROY is for root and the SlurmUser (slurm) only"
done
check "alice's VM still runs after the refused destroys" \
	[ "$(hv vmjob-alice exec -C /tmp "$ja" -- echo alive 2>/dev/null)" = alive ]

# --- raw requests: no credential, a replayed one, one made for another request
cat >"$T/raw.py" <<'PY'
# raw.py SOCK JOB MODE: STATUS frames written by hand (common/frame.h, kv.h).
import hashlib, socket, struct, subprocess, sys
sock, job, mode = sys.argv[1:4]
STATUS = 36
def kv(k, v):
    return struct.pack("<HI", len(k), len(v)) + k + v
def ask(payload):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(struct.pack("<IHHI", len(payload), STATUS, 0, 0) + payload)
    hdr = b""
    while len(hdr) < 12:
        b = s.recv(12 - len(hdr))
        if not b: return "closed"
        hdr += b
    n, t = struct.unpack("<IH", hdr[:6]); body = b""
    while len(body) < n: body += s.recv(n - len(body))
    s.close()
    i, out = 0, {}
    while i < len(body):
        kl, vl = struct.unpack("<HI", body[i:i+6]); i += 6
        out[body[i:i+kl].decode()] = body[i+kl:i+kl+vl].decode(); i += kl + vl
    return ("OK " if t == 48 else "ERR ") + out.get("msg", "")
def cred(for_payload):
    what = "vmjob-hvd-request/1 type=%d sha256=%s" % (STATUS, hashlib.sha256(for_payload).hexdigest())
    return subprocess.run(["munge", "-s", what], capture_output=True, check=True).stdout.strip()
body = kv(b"job", job.encode())
if mode == "none":
    print(ask(body))
elif mode == "replay":
    frame = body + kv(b"cred", cred(body))
    print(ask(frame)); print(ask(frame))
elif mode == "other":
    print(ask(kv(b"job", b"someone-elses-job") + kv(b"cred", cred(body))))
PY
grep -q "VJ_REPLY_OK = 48" common/frame.h || echo "  (raw.py assumes VJ_REPLY_OK = 48; check common/frame.h)"
as vmjob-alice python3 "$T/raw.py" "$sock" "$ja" none >"$T/raw-none" 2>&1
check "a request without a credential is refused" \
	says raw-none "^ERR request refused: no valid munge credential (the request carries none)"
as vmjob-alice python3 "$T/raw.py" "$sock" "$ja" replay >"$T/raw-replay" 2>&1
check "a hand-made credential works once" bash -c "head -1 '$T/raw-replay' | grep -q '^OK'"
check "the same credential again is refused as a replay" \
	bash -c "sed -n 2p '$T/raw-replay' | grep -q '^ERR request refused: no valid munge credential (.*replayed)'"
[ "$ph_bad" = 0 ] || cat "$T/raw-replay"
as vmjob-alice python3 "$T/raw.py" "$sock" "$ja" other >"$T/raw-other" 2>&1
check "a credential made for another request is refused" \
	says raw-other "^ERR request refused: no valid munge credential (the credential was made for another request)"

# --- one log line per refusal: who, what, why
log=$ph_dir/hvd.log
logged() { grep -q -- "$1" "$log" || { echo "    not in the log: $1"; return 1; }; }
check "log: bob's exec" logged "refused REQ_EXEC of job $ja from uid 5002 (vmjob-bob) pid [0-9]*: permission denied"
check "log: bob's status" logged "refused STATUS of job $ja from uid 5002 (vmjob-bob) pid [0-9]*: permission denied"
check "log: alice's create" logged "refused CREATE of job vjtmunge-$$-x from uid 5001 (vmjob-alice) pid [0-9]*: permission denied"
check "log: the missing credential" logged "refused STATUS of job $ja from uid 5001 (vmjob-alice) pid [0-9]*: request refused: no valid munge credential (the request carries none)"
check "log: the replay" logged "refused STATUS of job $ja from uid 5001 .*replayed"
n=$(grep -c "refused [A-Z_]* .*from uid" "$log")
check "log: one line per refusal (10 refusals, $n lines)" [ "$n" = 10 ]
grep "refused [A-Z_]* .*from uid" "$log" | sed 's/^/    /' | head -3

# --- munged down: the clients say so in one clear line. munged is the
# host's (Slurm uses it too): stopped by its pidfile, restarted at once.
if [ -s "$MUNGE_PID" ] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null; then
	mpid=$(cat "$MUNGE_PID")
	munge_stopped=1
	kill "$mpid"
	for _ in $(seq 50); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
	hv vmjob-alice status "$ja" >"$T/nomunge-hvctl" 2>&1
	as vmjob-alice env VMJOB_JOBID="$ja" VMJOB_ARGV0=true VMJOB_SOCKET="$sock" "$VMEXEC" \
		>"$T/nomunge-vmexec" 2>&1
	vrc=$?
	start_munged && munge_stopped=0
	sed "s/^/    /" "$T/nomunge-vmexec"
	check "munged down: hvctl says so" \
		says nomunge-hvctl "^hvctl: cannot get a munge credential (is munged running?): "
	check "munged down: vmexec says so in one line, exit 1" \
		bash -c "[ $vrc = 1 ] && [ \$(wc -l <'$T/nomunge-vmexec') = 1 ] &&
			grep -q '^vmjob: error: cannot get a munge credential (is munged running?): ' '$T/nomunge-vmexec'"
	[ "$ph_bad" = 0 ] || cat "$T/nomunge-vmexec"
	check "munged is back" bash -c 'munge -n | unmunge >/dev/null'
else
	notok "munged has no pidfile at $MUNGE_PID: cannot test munged down"
fi

# --- slurm_user and root destroy
check "slurm_user destroys the VM of $jb" hv slurm destroy "$jb"
check "root destroys the VM of $ja" hv root destroy "$ja"
check "no VMs left" bash -c "[ \"\$('$HVCTL' -s '$sock' list)\" = 'no VMs' ]"

echo "40-munge-auth: $ph_ok ok, $ph_bad not ok"
[ "$ph_bad" = 0 ]
