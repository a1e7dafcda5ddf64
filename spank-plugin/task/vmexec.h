/* vmexec: the program Slurm execs for each task of a --vm-image job (the
 * plugin swapped it in as argv[0]). It asks hvd to run the task's real
 * command in the job's VM and stands in for it on the host: stdio, signals,
 * window size and exit status pass through, so srun, sbatch and scancel see
 * the guest command as if it ran here. */
#ifndef VMEXEC_H
#define VMEXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
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

/* How the guest command ended. */
struct vmexec_outcome {
	enum { VMEXEC_EXITED, VMEXEC_SIGNALED, VMEXEC_FAILED } how;
	int status;  /* EXITED: exit status; FAILED: our exit status (1 or 127) */
	int sig;     /* SIGNALED */
	bool core;
	struct vj_err err; /* FAILED */
};

/* relay.c: block the forwarded signals (and SIGWINCH) and return a signalfd
 * for them, so none is lost or fatal between start-up and the relay. */
int vmexec_signals_block(struct vj_err *err);
/* After REQ_EXEC was sent on sock, pump stdio and signals until the command
 * ends. Always fills *out. */
void vmexec_relay(int sock, int sfd, bool pty, struct vmexec_outcome *out);

/* tty.c */
bool vmexec_tty_size(int fd, unsigned *rows, unsigned *cols);
int vmexec_tty_raw(int fd, struct vj_err *err); /* restored by vmexec_tty_restore */
void vmexec_tty_restore(void);

/* exitstatus.c: leave the way the guest command did. Never returns. */
__attribute__((noreturn)) void vmexec_finish(const struct vmexec_outcome *out);

#endif
