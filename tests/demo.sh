#!/bin/bash
# The main job: an ordinary user submits a batch job with --vm-image on the
# local cluster, and we print what it printed: it ran in a guest.
set -euo pipefail
user=vmjob-alice
# In the user's home: /home is exported into the VM by the filesystem gateway,
# so the job starts in this directory and its files land here.
dir=/home/$user/vmjob-demo
install -d -o "$user" -g "$user" "$dir"
rm -f "$dir"/demo-*.out "$dir"/from-the-vm.txt
cd "$dir"
cat > "$dir/job.sh" <<'JOB'
#!/bin/bash
#SBATCH --vm-image=debian12
#SBATCH --job-name=vmjob-demo
#SBATCH --ntasks=2
echo "hello from $(hostname), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "I am $(whoami) ($(id)), home $HOME, shell $SHELL"
echo "host node: $SLURMD_NODENAME, cpus: $(nproc), memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
echo "working directory: $(pwd) (shared with the host: $(df -h . | awk 'NR==2 {print $1}'))"
python3 - <<'PY'
import platform, statistics
xs = [x * x for x in range(1, 101)]
print(f"python {platform.python_version()}: mean of the first 100 squares = {statistics.mean(xs)}")
PY
echo "srun -n2 in the VM (a job step, run through the host's Slurm):"
srun -n2 bash -c 'echo "  task $SLURM_PROCID of $SLURM_NTASKS on $(hostname)"'
echo "written in the VM at $(date)" > from-the-vm.txt
JOB
chown "$user:" "$dir/job.sh"
echo "vmjob demo: sbatch --vm-image=debian12 job.sh as $user (host kernel $(uname -r))"
job=$(runuser -u "$user" -- sbatch --parsable -o "$dir/demo-%j.out" "$dir/job.sh")
echo "vmjob demo: submitted job $job, waiting for it"
for _ in $(seq 1 300); do
	st=$(scontrol show job "$job" -o | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2)
	case "$st" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
	sleep 1
done
sleep 1
echo "vmjob demo: job $job $st; its output:"
cat "$dir/demo-$job.out"
[ -e "$dir/from-the-vm.txt" ] &&
	echo "vmjob demo: on the host, $dir/from-the-vm.txt says: $(cat "$dir/from-the-vm.txt")"
[ "$st" = COMPLETED ]
