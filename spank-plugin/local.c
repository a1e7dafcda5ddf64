/* sbatch, salloc and srun: the options are validated by their callbacks;
 * here we only record the image in the job-control environment, the one
 * channel that reaches the job's prolog and epilog (as SPANK_VMJOB_IMAGE). */
#include "vmjob.h"

int vmjob_local_init_post_opt(spank_t sp)
{
	if (!vmjob_opts.image[0])
		return 0;
	spank_err_t rc = spank_job_control_setenv(sp, "VMJOB_IMAGE", vmjob_opts.image, 1);
	/* An srun inside an existing allocation cannot change the job's
	 * control environment; the epilog destroys the VM regardless. */
	if (rc != ESPANK_SUCCESS)
		slurm_debug("vmjob: cannot record the image for the epilog: %s",
			    spank_strerror(rc));
	return 0;
}
