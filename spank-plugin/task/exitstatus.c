/* Make Slurm see what the guest command did: the same exit status, or death
 * by the same signal (so sacct and srun report e.g. "Killed by signal 9"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmexec.h"

static bool dumps_core(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS:
	case SIGFPE: case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
		return true;
	default:
		return false;
	}
}

void vmexec_die(const struct vj_err *err)
{
	vj_tty_restore();
	dprintf(STDERR_FILENO, "vmjob: error: %s\n", err->msg);
	exit(1);
}

void vmexec_finish(const struct vj_exec_status *st)
{
	vj_tty_restore();
	if (st->oom_kills)
		fprintf(stderr, "vmjob: the VM ran out of memory: its kernel killed %u process%s of the "
			"job (the guest has %u MiB of the job's memory; ask for more with --mem)\n",
			st->oom_kills, st->oom_kills == 1 ? "" : "es", st->mem_mb);
	if (!st->signaled)
		exit(st->status);
	int sig = st->sig;
	if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
		if (sig == SIGKILL)
			raise(SIGKILL);
		exit(128 + (sig > 0 ? sig : 0));
	}
	/* The guest already dumped its core where it ran; a host core of
	 * vmexec would only mislead. */
	if (dumps_core(sig)) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
	}
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* Signals whose default is to be ignored (SIGCHLD, SIGWINCH, ...)
	 * return here: fall back to the shell's convention. */
	exit(128 + sig);
}
