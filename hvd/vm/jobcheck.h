/* Is a VM's Slurm job still alive? Asked of slurmctld (libslurm), the only
 * authority: hvd destroys a VM only when Slurm says its job ended, never
 * on doubt (controller unreachable, a job name that is no Slurm id). */
#ifndef HV_JOBCHECK_H
#define HV_JOBCHECK_H

#include <stddef.h>
#include <time.h>

#include "err.h"

enum hv_job_fate { HV_JOB_ALIVE, HV_JOB_ENDED, HV_JOB_UNKNOWN };

/* May a VM of job, made at created, stay on node (Slurm's name for this
 * host)? ALIVE while the job runs (or is suspended) here, started before
 * the VM was; or waits for its first start (held). ENDED when it is over,
 * was requeued (pending again, or started anew after the VM was made) or
 * runs on other nodes. UNKNOWN on doubt (slurmctld unreachable, no Slurm
 * id): never destroyed for that. why gets a short reason ("state
 * COMPLETED", "runs on n[2-3], not here", "slurmctld: ..."). */
enum hv_job_fate hv_job_fate(const char *job, const char *node, time_t created, char *why,
			     size_t whysz);

/* What slurmctld's record says of a job, for the site policy: never taken
 * from the job's environment, which its owner controls. */
struct hv_job_record {
	unsigned uid, gid;
	unsigned state; /* JOB_PENDING, JOB_RUNNING, ... (JOB_STATE_BASE) */
	char partition[128], account[128], qos[128];
	char nodes[1024];      /* hostlist of its nodes ("" while pending) */
	time_t start;          /* when it (last) started running */
	unsigned restarts;     /* times Slurm requeued it */
};
/* 0, or -1 with err: ESRCH "job 5 is unknown to slurmctld" (it answered:
 * the job is long over), else a doubt ("slurmctld: ...", no slurm.conf). */
int hv_job_record(const char *job, struct hv_job_record *rec, struct vj_err *err);

#endif
