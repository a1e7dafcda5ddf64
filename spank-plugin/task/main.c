/* vmexec ARGS...: run the task's command (VMJOB_ARGV0 + ARGS) in the VM of
 * job VMJOB_JOBID through hvd at VMJOB_SOCKET. Set up by the SPANK plugin in
 * task_init; not meant to be run by hand. Any failure of ours is one
 * `vmjob: error:` line and exit status 1 (a missing command
 * exits 127 in the guest, like in a shell, and that status passes through). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "hostcmd.h"
#include "hvdexec.h"
#include "vmexec.h"

/* How long a task waits for an hvd that is not there (a restart), as the
 * plugin waits for one before the step's CREATE (remote.c). */
#define VMEXEC_HVD_WAIT_S 10

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		struct vj_err err;
		vj_err_set(&err, EINVAL, "%s is not set: vmexec runs only as a task of a --vm-image job",
			   name);
		vmexec_die(&err);
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

/* --vm-timing: how long from the job step's start (the plugin's clock, in
 * VMJOB_T0_MS) until the command runs in the guest, from the first task.
 * The relay calls it on STARTED. */
static void report_first_task_time(void *unused)
{
	(void)unused;
	const char *t0 = getenv("VMJOB_T0_MS");
	if (!t0 || !first_local_task())
		return;
	char *end;
	unsigned long long start = strtoull(t0, &end, 10);
	if (*end || !start)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned long long ms = (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
	if (ms >= start)
		dprintf(STDERR_FILENO, "vmjob: first task running in the VM after %llu ms (since the job step started)\n",
			ms - start);
}

/* Run by hand (not as a task: the plugin sets VMJOB_JOBID), vmexec answers
 * --help and --version; as a task its arguments are the user's command. */
static void by_hand(int argc, char **argv)
{
	if (getenv("VMJOB_JOBID") || argc != 2)
		return;
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		vj_cli_version("vmexec");
		exit(0);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("Usage: vmexec COMMAND [ARG]...   (as a task of a --vm-image job only)\n"
		       "The task the vmjob SPANK plugin runs in place of each task of a\n"
		       "--vm-image job step: it runs COMMAND in the job's VM through hvd and\n"
		       "relays its stdin, stdout, stderr, signals and exit status. It takes\n"
		       "what it needs from the environment the plugin sets (VMJOB_JOBID,\n"
		       "VMJOB_SOCKET, VMJOB_ARGV0). See vmjob(8).\n");
		exit(0);
	}
	if (argv[1][0] == '-')
		vj_cli_usage_error("vmexec", "unknown option '%s' (vmexec runs as a task of a "
				   "--vm-image job)", argv[1]);
}

int main(int argc, char **argv)
{
	struct vj_err err = {0};
	by_hand(argc, argv);
	report_plugin_error();

	struct vmexec_req rq = {
		.jobid = need_env("VMJOB_JOBID"),
		.argv0 = need_env("VMJOB_ARGV0"),
		.args = argv + 1,
	};
	const char *sockpath = need_env("VMJOB_SOCKET");
	const char *script = getenv("VMJOB_SCRIPT");
	rq.script = script && !strcmp(script, "1");
	rq.pty = isatty(STDIN_FILENO);
	if (rq.pty && !vj_tty_size(STDIN_FILENO, &rq.rows, &rq.cols)) {
		rq.rows = 24;
		rq.cols = 80;
	}

	/* Before anything slow: a SIGTERM from scancel must be forwarded, not
	 * kill us while the guest command starts. */
	cleanup_close int sfd = vj_exec_signals(&err);
	if (sfd < 0)
		vmexec_die(&err);

	cleanup_close int sock = -1;
	{
		cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
		if (vmexec_build_request(&rq, &kv, &err) < 0)
			vmexec_die(&err);
		/* hvd restarting between the step's CREATE and here: wait as the
		 * plugin's CREATE does for an absent hvd. */
		sock = vj_exec_start_wait(sockpath, &kv, VMEXEC_HVD_WAIT_S, &err);
		if (sock < 0)
			vmexec_die(&err);
	}

	if (rq.pty && vj_tty_raw(STDIN_FILENO, &err) < 0)
		vmexec_die(&err);

	struct vj_exec_io io = VJ_EXEC_STDIO;
	io.pty = rq.pty;
	io.started = report_first_task_time;
	io.hostcmds = vj_hostcmds_new(sock); /* NULL: none run, the guest is told why */
	struct vj_exec_status st;
	int rc = vj_exec_relay(sock, sfd, &io, &st, &err);
	vj_hostcmds_free(io.hostcmds); /* what the guest started ends with the task */
	if (rc < 0)
		vmexec_die(&err);
	vmexec_finish(&st);
}
