#!/bin/bash
# hvd killed (SIGKILL) and stopped (SIGTERM) while a job's task runs and
# streams, and started again at once with the same command line: the task
# keeps running, no byte of its stdout, stderr or stdin is lost, and its
# exit status still reaches Slurm. The task's connection belongs to the VM's
# relay (vmrelay), not to hvd, so hvd may go and come back; the new hvd
# finds the relay by its socket.
. "$(dirname "$0")/lib.sh"

ready() { hvctl status "$1" 2>/dev/null | grep -qx 'state=ready'; }

# What the task writes: 60 numbered blocks over about 30 s, on stdout and
# stderr, then exit 7. The same script run here gives the bytes expected.
cat > stream.sh <<'SH'
#!/bin/sh
i=1
while [ $i -le 60 ]; do
	echo "out-$i"; seq $((i * 500)) | tail -n 3
	echo "err-$i" >&2
	i=$((i + 1)); sleep 0.5
done
exit 7
SH
chmod 755 stream.sh
sh stream.sh > want.out 2> want.err

j=$(submit "$ALICE" --vm-image="$IMAGE" -o task.out -e task.err --wrap "$(cat stream.sh)")
wait_until 180 grep -q '^out-3$' task.out || fail "job $j's task never printed (state $(job_field "$j" JobState))"
restart_hvd KILL
check "after SIGKILL the new hvd adopts the VM" wait_until 60 ready "$j"
wait_until 30 grep -q '^out-30$' task.out
restart_hvd TERM
check "after SIGTERM the new hvd adopts the VM" wait_until 60 ready "$j"
st=$(wait_job "$j" 300)
check "the job's task ran through two hvd restarts ($st, exit $(job_field "$j" ExitCode))" \
	[ "$st" = FAILED ] && [ "$(job_field "$j" ExitCode)" = 7:0 ]
check "... its stdout is whole ($(wc -c < task.out) of $(wc -c < want.out) bytes)" cmp -s want.out task.out
check "... its stderr is whole ($(grep -v '^vmjob:' task.err | wc -c) of $(wc -c < want.err) bytes)" \
	cmp -s want.err <(grep -v '^vmjob:' task.err)
check "... and no 'lost the connection' line" not grep -q 'lost the connection' task.err
cmp -s want.out task.out || show_file task.out
check "... and it left nothing" wait_until 60 no_leftovers "$j"

# stdin: a slow writer on the host feeds a command in a VM (hvctl exec)
# while hvd is killed; the command sees every byte.
j=$(submit "$ALICE" --vm-image="$IMAGE" -o hold.out --wrap 'sleep 300')
if wait_until 180 ready "$j"; then
	feed() { for i in $(seq 1 20); do seq $((i * 1000)); sleep 0.3; done; }
	want=$(feed | md5sum | cut -d' ' -f1)
	feed | hvctl exec -C / "$j" -- md5sum > stdin.out 2> stdin.err &
	ex=$!
	sleep 2
	restart_hvd KILL
	wait "$ex"; rc=$?
	got=$(cut -d' ' -f1 stdin.out)
	check "a command's stdin crosses an hvd SIGKILL whole (rc $rc, md5 $got, want $want)" \
		[ "$rc" = 0 ] && [ "$got" = "$want" ]
	[ -s stdin.err ] && show_file stdin.err
else
	fail "job $j's VM never became ready"
fi
scancel "$j"
st=$(wait_job "$j" 120)
check "the holding job ends when cancelled ($st)" [ "$st" = CANCELLED ]
check "... and leaves nothing" wait_until 60 no_leftovers "$j"

# The relay itself killed: its task ends with one line, the VM is marked
# stopped (nothing more can run in it) and the job's end reclaims it all.
j=$(submit "$ALICE" --vm-image="$IMAGE" -o relay.out -e relay.err --wrap 'echo started; sleep 300')
if wait_until 180 grep -q '^started$' relay.out; then
	pkill -KILL -f "vmrelay .*--job $j\$"
	st=$(wait_job "$j" 120)
	check "a job whose VM's relay was killed fails ($st)" [ "$st" = FAILED ]
	check "... with one error line" [ "$(grep -c 'vmjob: error' relay.err)" = 1 ]
	check "... and leaves nothing" wait_until 60 no_leftovers "$j"
	show_file relay.err
else
	fail "job $j's task never printed"
fi
check "hvd is up after the restarts" wait_until 20 test -S /run/vmjob/hvd.sock
finish
