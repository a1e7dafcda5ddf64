/* slurmstepd side. init_post_opt (root, once per step, before any task is
 * forked) asks hvd for the job's VM; task_init (in each task child, as the
 * user, right before Slurm's own execve) points the task at vmexec.
 *
 * A CREATE failure is kept, not returned: an error from the stepd's early
 * callbacks can drain the node (spank(7)), while an error from task_init
 * only fails this job. So the user learns why at task_init, on the task's
 * own stderr, and the node stays up. */
#include <errno.h>
#include <inttypes.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hvdclient.h"
#include "vmjob.h"

/* A first CREATE may fetch the image and boot under TCG; a repeated one
 * for an already running VM answers at once. */
#define CREATE_TIMEOUT_MS (600 * 1000)
/* How long a job waits for hvd to come back after it went away mid-CREATE
 * (a restart: systemd restarts it within seconds; an upgrade, a minute). */
#define HVD_RESTART_WAIT_S 90
#define HVD_START_WAIT_S 10
#define DEFAULT_MEM_MB 1024
/* hvd answers POLICY after one slurmctld lookup at most. */
#define POLICY_TIMEOUT_MS (30 * 1000)

static struct {
	bool wanted;            /* this step runs in a VM */
	struct vj_err err;      /* CREATE failure, reported at task_init */
	char virt[16];
	uint64_t t_image, t_scratch, t_domain, t_agent;
	bool have_times;
	uint64_t t0_ms;         /* wall clock at step start, for --vm-timing */
} vm;

static bool step_is_extern(spank_t sp)
{
	uint32_t stepid;
	return spank_get_item(sp, S_JOB_STEPID, &stepid) == ESPANK_SUCCESS &&
	       stepid == SLURM_EXTERN_CONT;
}

static void keep_times(const struct vj_frame *ok)
{
	struct vj_err ignored;
	if (vj_kv_get_str(ok->payload, ok->len, "virt", vm.virt, sizeof(vm.virt), "?", &ignored) < 0)
		strcpy(vm.virt, "?");
	uint64_t *dst[] = {&vm.t_image, &vm.t_scratch, &vm.t_domain, &vm.t_agent};
	const char *key[] = {"t_image", "t_scratch", "t_domain", "t_agent"};
	vm.have_times = true;
	for (size_t i = 0; i < 4; i++)
		if (vj_kv_get_u64(ok->payload, ok->len, key[i], 0, UINT64_MAX, false, dst[i],
				  &ignored) < 0)
			vm.have_times = false;
}

/* CREATE, through a restart of hvd: a CREATE is idempotent per job and a
 * restarted hvd adopts the VM it was starting, so when hvd hangs up before
 * it answers (killed, restarted, upgraded), ask the next hvd, for up to
 * HVD_RESTART_WAIT_S. An hvd that is not there at all is waited for
 * HVD_START_WAIT_S (a restart's gap), then the job fails. */
static int create_call(uint32_t jobid, const struct vj_kvbuf *req, struct vj_frame *ok,
		       struct vj_err *err)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool waiting = false;
	for (;;) {
		vj_err_clear(err);
		if (vj_hvd_call(vmjob_conf.socket, VJ_REQ_CREATE, req, CREATE_TIMEOUT_MS, ok, err) == 0)
			return 0;
		if (err->code == VJ_HVD_HUNG_UP && !waiting) {
			waiting = true;
			clock_gettime(CLOCK_MONOTONIC, &t0); /* the wait counts from the hang-up */
			slurm_info("vmjob: job %u: hvd went away while it started the VM; asking it again "
				   "when it is back (up to %d s)", jobid, HVD_RESTART_WAIT_S);
		}
		if (!vj_hvd_gone(err))
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!waiting && now.tv_sec - t0.tv_sec >= HVD_START_WAIT_S)
			return -1; /* "cannot reach hvd at PATH (is hvd running?)" */
		if (waiting && now.tv_sec - t0.tv_sec >= HVD_RESTART_WAIT_S)
			return vj_err_set(err, VJ_HVD_UNREACHABLE,
					  "hvd went away while it started the VM and was not back within "
					  "%d s (is hvd running? see its log)", HVD_RESTART_WAIT_S);
		struct timespec pause = {0, 500 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

/* Build and send CREATE. -1 with err set on any failure. */
static int create_vm(spank_t sp, struct vj_err *err)
{
	uint32_t jobid;
	uid_t uid;
	gid_t gid;
	char *cores = NULL;
	uint64_t mem_mb = 0;

	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return vj_err_set(err, EINVAL, "cannot get the job's id, uid or gid from Slurm");
	if (spank_get_item(sp, S_JOB_ALLOC_CORES, &cores) != ESPANK_SUCCESS || !cores)
		return vj_err_set(err, EINVAL, "cannot get the job's allocated cores from Slurm");
	long cpus = vmjob_cpulist_count(cores);
	if (cpus < 1)
		return vj_err_set(err, EINVAL, "cannot understand the job's core list '%s'", cores);
	if (spank_get_item(sp, S_JOB_ALLOC_MEM, &mem_mb) != ESPANK_SUCCESS || mem_mb == 0)
		mem_mb = DEFAULT_MEM_MB; /* no memory accounting (CR_Core): a usable guest */

	struct vj_kvbuf req;
	vj_kv_init(&req);
	vj_kv_add_u64(&req, "job", jobid);
	vj_kv_add_u64(&req, "uid", uid);
	vj_kv_add_u64(&req, "gid", gid);
	vj_kv_add_u64(&req, "cpus", (uint64_t)cpus);
	vj_kv_add_u64(&req, "mem_mb", mem_mb);
	vj_kv_add_str(&req, "image", vmjob_opts.image);
	vj_kv_add_str(&req, "cores", cores);
	if (vmjob_opts.scratch_mb)
		vj_kv_add_u64(&req, "scratch_mb", vmjob_opts.scratch_mb);

	struct vj_frame ok;
	int rc = create_call(jobid, &req, &ok, err);
	vj_kv_free(&req);
	if (rc < 0)
		return -1;
	keep_times(&ok);
	free(ok.payload);
	slurm_verbose("vmjob: job %u: VM ready (%s, %ld vCPUs, %" PRIu64 " MB, cores %s)", jobid,
		      vm.virt, cpus, mem_mb, cores);
	return 0;
}

/* A job without --vm-image: the site policy may still put it in a VM (a
 * VM-only partition, a grid pool account). hvd decides from slurmctld's
 * record of the job, not from anything the job's owner set. 0 with
 * vmjob_opts.image set or left empty, -1 with err (the job then fails). */
static int ask_policy(spank_t sp, struct vj_err *err)
{
	uint32_t jobid;
	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS)
		return vj_err_set(err, EINVAL, "cannot get the job's id from Slurm");
	struct vj_kvbuf req;
	vj_kv_init(&req);
	vj_kv_add_u64(&req, "job", jobid);
	struct vj_frame ok;
	int rc = vj_hvd_call(vmjob_conf.socket, VJ_REQ_POLICY, &req, POLICY_TIMEOUT_MS, &ok, err);
	vj_kv_free(&req);
	if (rc < 0) {
		/* No hvd on this node (or one from before policies): no policy
		 * can be applied, and a node without hvd runs no VM at all. The
		 * job runs as it was asked, unless plugstack.conf says
		 * policy=strict (then it fails: see vmjob.h). */
		if (!vmjob_conf.policy_strict &&
		    (vj_hvd_gone(err) || !strcmp(err->msg, "unknown request"))) {
			slurm_debug("vmjob: job %u: no site policy applied: %s", jobid, err->msg);
			vj_err_clear(err);
			return 0;
		}
		return vj_err_prefix(err, "the site policy");
	}
	char vmflag[4] = "", image[VMJOB_IMAGE_MAX + 1] = "", rule[64] = "";
	struct vj_err ignored;
	vj_kv_get_str(ok.payload, ok.len, "vm", vmflag, sizeof(vmflag), "0", &ignored);
	vj_kv_get_str(ok.payload, ok.len, "image", image, sizeof(image), "", &ignored);
	vj_kv_get_str(ok.payload, ok.len, "rule", rule, sizeof(rule), "", &ignored);
	free(ok.payload);
	if (!strcmp(vmflag, "1")) {
		if (!vj_name_valid(image))
			return vj_err_set(err, EPROTO, "hvd's policy answer names no valid image");
		snprintf(vmjob_opts.image, sizeof(vmjob_opts.image), "%s", image);
		slurm_info("vmjob: job %u runs in image %s (site policy, rule %s)", jobid, image, rule);
	}
	return 0;
}

int vmjob_remote_init_post_opt(spank_t sp)
{
	/* The extern step (PrologFlags=contain) runs no user task. */
	if (step_is_extern(sp))
		return 0;
	if (!vmjob_opts.image[0]) {
		if (ask_policy(sp, &vm.err) < 0) {
			vm.wanted = true; /* task_init reports it and runs nothing */
			slurm_error("vmjob: %s", vm.err.msg);
			return 0;
		}
		if (!vmjob_opts.image[0])
			return 0;
	}
	vm.wanted = true;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	vm.t0_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	if (create_vm(sp, &vm.err) < 0)
		slurm_error("vmjob: %s", vm.err.msg); /* for the admin, in slurmd's log */
	return 0;
}

static void print_times(spank_t sp)
{
	uint32_t jobid = 0;
	spank_get_item(sp, S_JOB_ID, &jobid);
	if (!vm.have_times) {
		dprintf(STDERR_FILENO, "vmjob: VM of job %u ready (%s); hvd sent no phase times\n",
			jobid, vm.virt);
		return;
	}
	dprintf(STDERR_FILENO,
		"vmjob: VM of job %u ready (%s): image %" PRIu64 " ms, scratch %" PRIu64
		" ms, domain %" PRIu64 " ms, agent %" PRIu64 " ms (since the request)\n",
		jobid, vm.virt, vm.t_image, vm.t_scratch, vm.t_domain, vm.t_agent);
}

/* Point the task at vmexec by swapping argv[0] in place. 22.05 has no API
 * for this (spank_prepend_task_argv came in 23.11), but S_JOB_ARGV returns
 * the very array this task child passes to execve(), so Slurm's own exec
 * path (TaskProlog, TMPDIR, rlimits) stays intact. */
static int swap_argv0(char **argv, struct vj_err *err)
{
	if (access(vmjob_conf.vmexec, X_OK) < 0)
		return vj_err_sys(err, errno, "cannot run %s", vmjob_conf.vmexec);
	char *exe = strdup(vmjob_conf.vmexec);
	if (!exe)
		return vj_err_set(err, ENOMEM, "out of memory");
	argv[0] = exe; /* the task child execs and never frees: no leak to mind */
	return 0;
}

static int task_argv(spank_t sp, char ***argv, struct vj_err *err)
{
	int argc = 0;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, argv) != ESPANK_SUCCESS || argc < 1 || !*argv ||
	    !(*argv)[0])
		return vj_err_set(err, EINVAL, "cannot get the task's command from Slurm");
	return argc;
}

/* A failed CREATE: the task must not run on the host, and the user should
 * see exactly one line saying why. Returning -1 from task_init makes Slurm
 * add two generic lines of its own, so vmexec reports it instead (from the
 * node's first task) and exits 1. -1 if even that cannot be arranged. */
static int redirect_to_error(spank_t sp, const struct vj_err *why)
{
	struct vj_err err = {0};
	char **argv = NULL;
	if (task_argv(sp, &argv, &err) < 0 ||
	    spank_setenv(sp, "VMJOB_ERROR", why->msg, 1) != ESPANK_SUCCESS ||
	    swap_argv0(argv, &err) < 0)
		return -1;
	return 0;
}

static int redirect_task(spank_t sp, struct vj_err *err)
{
	char **argv = NULL;
	uint32_t jobid, stepid;
	char buf[32];

	int argc = task_argv(sp, &argv, err);
	if (argc < 0)
		return -1;
	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
		return vj_err_set(err, EINVAL, "cannot get the job and step ids from Slurm");
	if (vmjob_looks_multiprog(argc, argv))
		return vj_err_set(err, ENOTSUP,
				  "srun --multi-prog cannot run in a VM yet (its tasks would run "
				  "on the host); run one program per srun step instead");
	snprintf(buf, sizeof(buf), "%" PRIu32, jobid);
	if (spank_setenv(sp, "VMJOB_ARGV0", argv[0], 1) != ESPANK_SUCCESS ||
	    spank_setenv(sp, "VMJOB_JOBID", buf, 1) != ESPANK_SUCCESS ||
	    spank_setenv(sp, "VMJOB_SOCKET", vmjob_conf.socket, 1) != ESPANK_SUCCESS)
		return vj_err_set(err, ENOMEM, "cannot set the task's VMJOB_* environment");
	/* The batch script sits in slurmd's spool, which the guest cannot
	 * see: vmexec ships its content instead. */
	if (stepid == SLURM_BATCH_SCRIPT)
		spank_setenv(sp, "VMJOB_SCRIPT", "1", 1);
	else
		spank_unsetenv(sp, "VMJOB_SCRIPT");
	if (vmjob_opts.timing) {
		snprintf(buf, sizeof(buf), "%" PRIu64, vm.t0_ms);
		spank_setenv(sp, "VMJOB_T0_MS", buf, 1);
	}
	return swap_argv0(argv, err);
}

int vmjob_remote_task_init(spank_t sp)
{
	if (!vm.wanted)
		return 0;
	int taskid = -1;
	spank_get_item(sp, S_TASK_ID, &taskid);

	if (vm.err.code) {
		if (redirect_to_error(sp, &vm.err) == 0)
			return 0;
		/* One line per node, from its first task: every task fails. */
		if (taskid == 0)
			dprintf(STDERR_FILENO, "vmjob: error: %s\n", vm.err.msg);
		return -1;
	}
	if (vmjob_opts.timing && taskid == 0)
		print_times(sp);

	struct vj_err err = {0};
	if (redirect_task(sp, &err) < 0) {
		dprintf(STDERR_FILENO, "vmjob: error: %s\n", err.msg);
		return -1;
	}
	return 0;
}
