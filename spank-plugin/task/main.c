/* vmexec ARGS...: run the task's command (VMJOB_ARGV0 + ARGS) in the VM of
 * job VMJOB_JOBID through hvd at VMJOB_SOCKET. Set up by the SPANK plugin in
 * task_init; not meant to be run by hand. Any failure of ours is one
 * `vmjob: error:` line and exit status 1 (a missing command
 * exits 127 in the guest, like in a shell, and that status passes through). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"
#include "hvdclient.h"
#include "vmexec.h"

static __attribute__((noreturn)) void die(const struct vj_err *err)
{
	struct vmexec_outcome out = {.how = VMEXEC_FAILED, .status = 1, .err = *err};
	vmexec_finish(&out);
}

static const char *need_env(const char *name, struct vj_err *err)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		vj_err_set(err, EINVAL, "%s is not set: vmexec runs only as a task of a --vm-image job",
			   name);
		die(err);
	}
	return v;
}

/* The node's first task speaks for all of them (one line per job, not per task). */
static bool first_local_task(void)
{
	const char *id = getenv("SLURM_LOCALID");
	return !id || !strcmp(id, "0");
}

/* The plugin could not start the VM: say why once, run nothing. */
static void report_plugin_error(void)
{
	const char *why = getenv("VMJOB_ERROR");
	if (!why)
		return;
	if (first_local_task())
		dprintf(STDERR_FILENO, "vmjob: error: %s\n", why);
	exit(1);
}

int main(int argc, char **argv)
{
	struct vj_err err = {0};
	(void)argc;
	report_plugin_error();

	struct vmexec_req rq = {
		.jobid = need_env("VMJOB_JOBID", &err),
		.argv0 = need_env("VMJOB_ARGV0", &err),
		.args = argv + 1,
	};
	const char *sockpath = need_env("VMJOB_SOCKET", &err);
	const char *script = getenv("VMJOB_SCRIPT");
	rq.script = script && !strcmp(script, "1");
	rq.pty = isatty(STDIN_FILENO);
	if (rq.pty && !vmexec_tty_size(STDIN_FILENO, &rq.rows, &rq.cols)) {
		rq.rows = 24;
		rq.cols = 80;
	}

	/* Before anything slow: a SIGTERM from scancel must be forwarded, not
	 * kill us while the guest command starts. */
	cleanup_close int sfd = vmexec_signals_block(&err);
	if (sfd < 0)
		die(&err);

	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	if (vmexec_build_request(&rq, &kv, &err) < 0)
		die(&err);

	cleanup_close int sock = vj_hvd_connect(sockpath, &err);
	if (sock < 0)
		die(&err);
	int rc = vj_hvd_send(sock, VJ_REQ_EXEC, &kv, &err);
	vj_kv_free(&kv);
	if (rc < 0)
		die(&err);

	if (rq.pty && vmexec_tty_raw(STDIN_FILENO, &err) < 0)
		die(&err);

	struct vmexec_outcome out;
	vmexec_relay(sock, sfd, rq.pty, &out);
	vmexec_finish(&out);
}
