/* Job epilog (root, `slurmstepd spank epilog`): destroy the job's VM. Runs
 * for every job on the node, VM or not, since a job may have got its VM from
 * an inner `srun --vm-image` that the job-control environment never saw.
 * An error from here drains the node, so it is returned only when hvd
 * answered and could not destroy a VM the job is known to have had: that VM
 * would hold cores Slurm is about to give to the next job. If hvd is not
 * running at all, nothing is lost by going on: hvd destroys the VMs of ended
 * jobs when it starts again (it rebuilds its view from libvirt), and until
 * then no new VM can start here anyway. */
#include <stdlib.h>

#include "hvdclient.h"
#include "vmjob.h"

#define DESTROY_TIMEOUT_MS (120 * 1000)

int vmjob_job_epilog(spank_t sp)
{
	uint32_t jobid;
	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS) {
		slurm_error("vmjob: epilog: cannot get the job id");
		return 0;
	}
	const char *image = getenv("SPANK_VMJOB_IMAGE");
	bool had_vm = image && image[0];

	struct vj_kvbuf req;
	vj_kv_init(&req);
	vj_kv_add_u64(&req, "job", jobid);
	struct vj_err err = {0};
	int rc = vj_hvd_call(vmjob_conf.socket, VJ_REQ_DESTROY, &req, DESTROY_TIMEOUT_MS, NULL,
			     &err);
	vj_kv_free(&req);
	if (rc == 0)
		return 0;
	if (!had_vm || vj_hvd_gone(&err)) {
		if (had_vm)
			slurm_error("vmjob: job %u: %s; hvd will destroy its VM when it starts",
				    jobid, err.msg);
		else
			slurm_debug("vmjob: epilog of job %u (no --vm-image): %s", jobid, err.msg);
		return 0;
	}
	slurm_error("vmjob: job %u: cannot destroy its VM: %s", jobid, err.msg);
	return -1;
}
