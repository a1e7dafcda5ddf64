/* The job's extern step, through slurmstepd's own Unix socket: how hvd puts
 * a VM's QEMU into its job, as pam_slurm_adopt puts an ssh session there.
 * The extern step (slurm.conf PrologFlags=Contain) is the job's container
 * on this node: what it holds is tracked by Slurm's proctrack plugin,
 * confined by its task plugin (the job's cores and memory under
 * task/cgroup), accounted by jobacct_gather (sacct's JOB.extern line, and
 * the job's TotalCPU) and killed when the job ends.
 *
 * The wire is slurmstepd's (src/common/stepd_api.c, stable since Slurm
 * 20.11): native ints; a hello carrying a protocol version (stepd answers
 * its own), then requests. slurmstepd takes these from root or SlurmUser
 * only, by the socket's peer credentials. */
#ifndef HV_STEPD_H
#define HV_STEPD_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* The extern step's socket of job in spool_dir (SlurmdSpoolDir, with no
 * %n/%h: hvd.conf slurmd_spool_dir): NODENAME_JOB.4294967292, the only such
 * file there. 0, or -1 with err (ENOENT: none, the job has no extern step
 * on this node). */
int hv_stepd_extern_path(const char *spool_dir, const char *job, char *path, size_t sz,
			 struct vj_err *err);

/* Add pid (a process not started by Slurm) to the job's extern step:
 * REQUEST_ADD_EXTERN_PID. Slurm moves the whole process into the step's
 * cgroups and accounts it from then on. */
int hv_stepd_adopt(const char *spool_dir, const char *job, pid_t pid, struct vj_err *err);

/* Make the extern step sample its processes now (REQUEST_STEP_STAT polls
 * jobacct_gather), so what a VM used up to this moment is in the job's
 * accounting before hvd ends the VM: between two of Slurm's samples
 * (JobAcctGatherFrequency) a process that dies takes its last seconds with
 * it. The statistics themselves are not read. */
int hv_stepd_sample(const char *spool_dir, const char *job, struct vj_err *err);

#endif
