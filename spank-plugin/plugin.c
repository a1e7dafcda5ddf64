/* SPANK entry points. Each callback only works out which context it runs in
 * and hands over to the file for that side; nothing here touches a job. */
#include "vmjob.h"

SPANK_PLUGIN(vmjob, 1);

struct vmjob_conf vmjob_conf;

/* Every callback receives the plugstack arguments; parse them where a
 * context starts. The job_script context (prolog/epilog) never calls
 * slurm_spank_init, so job_epilog parses them itself. */
static int load_conf(int ac, char **av)
{
	struct vj_err err = {0};
	if (vmjob_args_parse(ac, av, &vmjob_conf, &err) < 0) {
		slurm_error("vmjob: %s", err.msg);
		return -1;
	}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	struct vj_err err = {0};

	if (load_conf(ac, av) < 0)
		return -1;
	switch (spank_context()) {
	case S_CTX_ALLOCATOR:
	case S_CTX_LOCAL:
	case S_CTX_REMOTE:
		/* Remote too: slurmstepd hands the forwarded option values to
		 * the callbacks of registered options only. */
		if (vmjob_options_register(sp, &err) < 0) {
			slurm_error("vmjob: %s", err.msg);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

int slurm_spank_init_post_opt(spank_t sp, int ac __attribute__((unused)),
			      char **av __attribute__((unused)))
{
	switch (spank_context()) {
	case S_CTX_ALLOCATOR:
	case S_CTX_LOCAL:
		return vmjob_local_init_post_opt(sp);
	case S_CTX_REMOTE:
		return vmjob_remote_init_post_opt(sp);
	default:
		return 0;
	}
}

int slurm_spank_task_init(spank_t sp, int ac __attribute__((unused)),
			  char **av __attribute__((unused)))
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return vmjob_remote_task_init(sp);
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	if (spank_context() != S_CTX_JOB_SCRIPT)
		return 0;
	/* A bad plugstack line must not drain every node at every job's end:
	 * it already fails every job at submission. */
	if (load_conf(ac, av) < 0)
		return 0;
	return vmjob_job_epilog(sp);
}
