#!/bin/bash
# A filesystem gateway server that dies while its VM runs a job fails the
# job at once with one line naming the export, instead of leaving the guest
# to hang on that mount until the time limit; the VM is reclaimed. The same
# for a VM that hvd adopted after a restart (it finds the servers an
# earlier hvd started).
. "$(dirname "$0")/lib.sh"
home=/home/$ALICE/vmjob-e2e-gw
rm -rf "$home"; install -d -o "$ALICE" -g "$ALICE" "$home"
server_of() { pgrep -f "vmfs-server --[a-z-]+ /run/vmjob/vm/$1/fs\.0\.sock" | head -1; }

j=$(runuser -u "$ALICE" -- sbatch --parsable -D "$home" --vm-image="$IMAGE" -o "$home/out.txt" \
	--wrap 'echo started; sleep 20; ls "$HOME" > /dev/null; echo after-the-gateway-died; sleep 100')
if wait_until 240 grep -q started "$home/out.txt"; then
	gw=$(server_of "$j")
	check "the job's gateway server for /home runs (pid ${gw:-none})" [ -n "$gw" ]
	t0=$SECONDS
	[ -n "$gw" ] && kill -9 "$gw"
	st=$(wait_job "$j" 90)
	dt=$((SECONDS - t0))
	cp "$home/out.txt" out.txt
	show_file out.txt
	check "the job fails ($st) within 30 s of its gateway's death (${dt} s)" \
		bash -c "[ '$st' = FAILED ] && [ $dt -le 30 ]"
	check "... with one line naming the export" \
		grep -q "^vmjob: error: the filesystem gateway of export /home stopped, so the VM of job $j cannot go on" out.txt
	check "... before its command got further" not grep -q after-the-gateway-died out.txt
	check "... and its VM is reclaimed" wait_until 60 no_leftovers "$j"
else
	fail "job $j never started ($(job_field "$j" JobState))"
fi

# A VM adopted after a restart of hvd: its servers are no child of the new
# hvd, which finds them. (A task's stream does not survive the restart yet,
# so this VM runs none: hvctl create for a job held in the queue.)
a=$(runuser -u "$ALICE" -- sbatch --parsable --hold -o /dev/null --wrap true)
hvctl create "$a" -i "$IMAGE" -m 512 -u "$(id -u "$ALICE")" -g "$(id -g "$ALICE")" >/dev/null
pid=$(cat /run/vmjob/hvd.pid); kill "$pid"; wait_until 30 not test -e "/proc/$pid"
/usr/local/sbin/hvd -c /etc/vmjob/hvd.conf
state() { hvctl status "$a" 2>/dev/null | sed -n 's/^state=//p'; }
wait_until 60 bash -c "hvctl status '$a' 2>/dev/null | grep -qx state=ready"
gw=$(server_of "$a")
check "adopted: its gateway server for /home runs (pid ${gw:-none}), and the VM is ready ($(state))" \
	bash -c "[ -n '$gw' ] && [ '$(state)' = ready ]"
[ -n "$gw" ] && kill -9 "$gw"
check "adopted: the VM is marked stopped once its gateway died" \
	wait_until 15 bash -c "hvctl status '$a' 2>/dev/null | grep -qx state=stopped"
out=$(hvctl exec "$a" -- true 2>&1)
check "... and takes no command ($out)" [ "$out" = "hvctl: the VM of job $a is stopped" ]
hvctl destroy "$a" >/dev/null
check "... and DESTROY reclaims it" wait_until 60 no_leftovers "$a"
scancel "$a"
rm -rf "$home"
finish
