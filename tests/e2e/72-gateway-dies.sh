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

for how in running adopted; do
	j=$(runuser -u "$ALICE" -- sbatch --parsable -D "$home" --vm-image="$IMAGE" -o "$home/$how.txt" \
		--wrap 'echo started; sleep 20; ls "$HOME" > /dev/null; echo after-the-gateway-died; sleep 100')
	if ! wait_until 240 grep -q started "$home/$how.txt"; then
		fail "$how: job $j never started ($(job_field "$j" JobState))"
		continue
	fi
	if [ "$how" = adopted ]; then # hvd restarted: the servers are no child of the new one
		pid=$(cat /run/vmjob/hvd.pid); kill "$pid"; wait_until 30 not test -e "/proc/$pid"
		/usr/local/sbin/hvd -c /etc/vmjob/hvd.conf
		wait_until 60 bash -c "hvctl vms | grep -qE '^$j +[^ ]+ +[^ ]+ +ready'"
	fi
	gw=$(server_of "$j")
	check "$how: the job's gateway server for /home runs (pid ${gw:-none})" [ -n "$gw" ]
	t0=$SECONDS
	[ -n "$gw" ] && kill -9 "$gw"
	st=$(wait_job "$j" 90)
	dt=$((SECONDS - t0))
	cp "$home/$how.txt" "$how.txt"
	show_file "$how.txt"
	check "$how: the job fails ($st) within 30 s of its gateway's death (${dt} s)" \
		bash -c "[ '$st' = FAILED ] && [ $dt -le 30 ]"
	check "... with one line naming the export" \
		grep -q "^vmjob: error: the filesystem gateway of export /home stopped, so the VM of job $j cannot go on" "$how.txt"
	check "... before its command got further" not grep -q after-the-gateway-died "$how.txt"
	check "... and its VM is reclaimed" wait_until 60 no_leftovers "$j"
done
rm -rf "$home"
finish
