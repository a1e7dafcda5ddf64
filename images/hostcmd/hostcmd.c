/* vmjob-hostcmd: Slurm's commands inside a vmjob VM. Installed as
 * /usr/lib/vmjob/hostcmd, with srun, sbatch, scontrol, squeue, scancel,
 * sacct, sinfo and sstat linked to it in /usr/local/bin: run as one of
 * them, it asks the agent (AG_HOST_SOCK, images/agent/hostcmd.c) to have
 * the host run that command for this job step, as the job's owner, and
 * stands in for it here: stdio both ways, signals (Ctrl-C of an interactive
 * srun), its exit status. The relay is the one every exec client uses
 * (client/exec.c). The guest holds no credential: the host decides. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"
#include "hvdexec.h"
#include "kv.h"
#include "paths.h"

extern char **environ;

static int connect_agent(const char *path, struct vj_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vj_err_sys(err, errno, "cannot reach the vmjob agent at %s (is this a vmjob VM?)",
				  path);
	return vj_steal_fd(fd);
}

/* The request: the command as it was called, our environment (the host
 * keeps only Slurm's variables of it) and where we are. */
static int request(int sock, const char *cmd, char **args, struct vj_err *err)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "arg", cmd);
	for (char **a = args; *a; a++)
		vj_kv_add_str(&kv, "arg", *a);
	for (char **e = environ; *e; e++)
		vj_kv_add_str(&kv, "env", *e);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)))
		vj_kv_add_str(&kv, "cwd", cwd);
	if (kv.oom || kv.len > VJ_FRAME_MAX)
		return vj_err_set(err, E2BIG, "the command line and environment are too large");
	return vj_frame_write(sock, VJ_HOSTCMD, 1, kv.data, kv.len, err);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", argc > 0 ? argv[0] : "vmjob-hostcmd");
	const char *cmd = basename(self);
	char **args = argv + (argc > 0);
	if (!strcmp(cmd, "hostcmd") || !strcmp(cmd, "vmjob-hostcmd")) {
		if (argc < 2 || argv[1][0] == '-') {
			fprintf(stderr, "usage: %s SLURM-COMMAND [ARG]...\n"
					"Runs SLURM-COMMAND (srun, sbatch, scontrol, ...) on the host for "
					"this job step.\n", cmd);
			return 2;
		}
		cmd = argv[1];
		args = argv + 2;
	}
	struct vj_err err = {0};
	cleanup_close int sfd = vj_exec_signals(&err);
	cleanup_close int sock = sfd < 0 ? -1 : connect_agent(VJ_GUEST_HOST_SOCK, &err);
	if (sock < 0 || request(sock, cmd, args, &err) < 0) {
		fprintf(stderr, "vmjob: %s: %s\n", cmd, err.msg);
		return 1;
	}
	struct vj_exec_io io = VJ_EXEC_STDIO;
	io.peer = "the vmjob agent";
	struct vj_exec_status st;
	if (vj_exec_relay(sock, sfd, &io, &st, &err) < 0) {
		/* The host's own lines already say "vmjob: ..." */
		if (!strncmp(err.msg, "vmjob: ", 7))
			fprintf(stderr, "%s\n", err.msg);
		else
			fprintf(stderr, "vmjob: %s: %s\n", cmd, err.msg);
		return 1;
	}
	return vj_exec_shell_status(&st);
}
