/* vmexec: the program Slurm execs for each task of a --vm-image job (the
 * plugin swapped it in as argv[0]). It asks hvd to run the task's real
 * command in the job's VM and stands in for it on the host: stdio, signals,
 * window size and exit status pass through, so srun, sbatch and scancel see
 * the guest command as if it ran here. The request's common fields and the
 * relay are client/'s (hvdexec.h); what is vmexec's own is here. */
#ifndef VMEXEC_H
#define VMEXEC_H

#include <stdbool.h>

#include "err.h"
#include "hvdexec.h"
#include "kv.h"

/* request.c: the REQ_EXEC payload from this process' own state. */
struct vmexec_req {
	const char *jobid;
	const char *argv0;  /* the task's original argv[0] */
	char **args;        /* argv[1..] of vmexec = the task's own arguments */
	bool script;        /* argv0 is the batch script: ship its content */
	bool pty;
	unsigned rows, cols;
};
int vmexec_build_request(const struct vmexec_req *rq, struct vj_kvbuf *kv, struct vj_err *err);

/* exitstatus.c: leave the way the guest command did (the same exit status,
 * or death by the same signal), or with one `vmjob: error:` line and status
 * 1. Both put the terminal back first. Never return. */
__attribute__((noreturn)) void vmexec_finish(const struct vj_exec_status *st);
__attribute__((noreturn)) void vmexec_die(const struct vj_err *err);

#endif
