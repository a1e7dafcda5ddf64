/* Start one command the way a login would: its own session and process group
 * (so SIGNAL can reach the whole group), the requested uid/gid/supplementary
 * groups, optionally a pty as controlling terminal, its own environment and
 * working directory.
 *
 * Failures that mean "the agent could not set the command up" (identity, pty)
 * travel back through a close-on-exec pipe and become an ERROR for the host.
 * A command that cannot be executed (missing, not executable) is reported the
 * way a shell does: a message on the command's own stderr and exit status
 * 127/126, so `srun nosuchcmd` in a VM looks like it does on a host. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"

extern char **environ;

enum { ST_SESSION = 1, ST_PTY, ST_GROUPS, ST_GID, ST_UID };

struct child_fail {
	int stage;
	int err;
};

static const char *stage_name(int st)
{
	switch (st) {
	case ST_SESSION: return "setsid";
	case ST_PTY: return "attaching the pty";
	case ST_GROUPS: return "setgroups";
	case ST_GID: return "setgid";
	case ST_UID: return "setuid";
	default: return "setup";
	}
}

static __attribute__((noreturn)) void child_fail(int fd, int stage)
{
	struct child_fail cf = {stage, errno};
	if (write(fd, &cf, sizeof(cf)) < 0)
		_exit(127);
	_exit(127);
}

/* exec rq->path, searching the command's own PATH for a bare name the way
 * a shell does: a directory we may not search is skipped (execvp would
 * report it as EACCES), a file found but not executable is EACCES, nothing
 * found is ENOENT. Returns the errno if nothing could be executed. */
static int exec_search(const struct spawn_req *rq)
{
	if (strchr(rq->path, '/')) {
		execv(rq->path, rq->argv);
		return errno;
	}
	const char *path = getenv("PATH");
	int found = ENOENT;
	char file[4096];
	for (const char *p = path ? path : "/usr/bin:/bin"; ; ) {
		size_t len = strcspn(p, ":");
		snprintf(file, sizeof(file), "%.*s/%s", len ? (int)len : 1, len ? p : ".", rq->path);
		struct stat st;
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
			execv(file, rq->argv);
			if (errno != ENOENT)
				found = errno; /* e.g. EACCES: keep looking, as shells do */
			if (errno == ENOEXEC)
				return errno;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	return found;
}

/* A script's interpreter ("#!/bin/bash -e" gives /bin/bash) into out. */
static bool interpreter(const char *script, char *out, size_t outsz)
{
	char line[256];
	cleanup_close int fd = open(script, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, line, sizeof(line) - 1);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	char *p = line + 2 + strspn(line + 2, " \t");
	size_t len = strcspn(p, " \t\r\n");
	if (len == 0 || len >= outsz)
		return false;
	snprintf(out, outsz, "%.*s", (int)len, p);
	return true;
}

/* Why the command did not run, on its stderr, the way a shell says it, and
 * naming the image when what is missing is something the image lacks (the
 * interpreter of a script that exists, a command). */
static void not_run(const struct spawn_req *rq, int e)
{
	const char *cmd = rq->argv[0], *image = rq->image && rq->image[0] ? rq->image : NULL;
	char interp[256];
	if (e == ENOENT && access(rq->path, F_OK) == 0 && interpreter(rq->path, interp, sizeof(interp))) {
		if (image)
			dprintf(2, "vmjob: %s not found in image %s; pick an image that has it "
				   "('hvctl catalogue' lists them, e.g. --vm-image=debian12)\n", interp, image);
		else
			dprintf(2, "vmjob: %s: %s: bad interpreter: not found in the VM\n", cmd, interp);
	} else if (e == ENOENT && !strchr(cmd, '/')) {
		dprintf(2, "vmjob: %s: command not found%s%s\n", cmd, image ? " in image " : "",
			image ? image : "");
	} else {
		dprintf(2, "vmjob: %s: %s\n", cmd, strerror(e));
	}
}

/* Runs in the forked child: never returns. */
static __attribute__((noreturn)) void child_run(const struct spawn_req *rq, int failfd,
						int in, int out, int err, const char *slave)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* The agent ignores SIGPIPE; exec keeps "ignored", so undo it for the child. */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);

	if (setsid() < 0)
		child_fail(failfd, ST_SESSION);
	if (slave) {
		int fd = open(slave, O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			child_fail(failfd, ST_PTY);
		in = out = err = fd;
	}
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		child_fail(failfd, ST_PTY);
	if (setgroups(rq->ngroups, rq->groups) < 0)
		child_fail(failfd, ST_GROUPS);
	if (setresgid(rq->gid, rq->gid, rq->gid) < 0)
		child_fail(failfd, ST_GID);
	if (setresuid(rq->uid, rq->uid, rq->uid) < 0)
		child_fail(failfd, ST_UID);

	/* As the user, so permissions are the user's. */
	if (chdir(rq->cwd) < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			dprintf(2, "vmjob: working directory %s does not exist in the VM; starting in /tmp\n",
				rq->cwd);
		else
			dprintf(2, "vmjob: cannot enter working directory %s in the VM (%s); starting in /tmp\n",
				rq->cwd, strerror(e));
		if (chdir("/tmp") < 0 && chdir("/") < 0)
			_exit(127);
	}
	umask(022);
	environ = rq->envp;
	int e = exec_search(rq);
	not_run(rq, e);
	_exit(e == ENOENT ? 127 : 126);
}

static int open_pty(const struct spawn_req *rq, int *master, char *slave, size_t slavesz,
		    struct vj_err *err)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return vj_err_sys(err, errno, "posix_openpt");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, slavesz) != 0) {
		int e = errno;
		close(m);
		return vj_err_sys(err, e, "preparing the pty");
	}
	/* Like login(1): the user owns their terminal. */
	if (chown(slave, rq->uid, rq->gid) < 0 || chmod(slave, 0620) < 0)
		ag_log("chown %s: %s", slave, strerror(errno));
	struct winsize ws = {.ws_row = (unsigned short)rq->rows, .ws_col = (unsigned short)rq->cols};
	if (ioctl(m, TIOCSWINSZ, &ws) < 0)
		ag_log("TIOCSWINSZ: %s", strerror(errno));
	*master = m;
	return 0;
}

int spawn_command(const struct spawn_req *rq, struct spawn_res *rs, struct vj_err *err)
{
	/* fds[0..5]: stdin r/w, stdout r/w, stderr r/w (pipes mode only) */
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	int master = -1, failp[2] = {-1, -1};
	char slave[64] = "";
	pid_t pid = -1;
	int rc = -1;

	if (rq->pty) {
		if (open_pty(rq, &master, slave, sizeof(slave), err) < 0)
			return -1;
	} else {
		for (int i = 0; i < 3; i++)
			if (pipe2(fds + 2 * i, O_CLOEXEC) < 0) {
				vj_err_sys(err, errno, "pipe");
				goto out;
			}
	}
	if (pipe2(failp, O_CLOEXEC) < 0) {
		vj_err_sys(err, errno, "pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		vj_err_sys(err, errno, "fork");
		goto out;
	}
	if (pid == 0)
		child_run(rq, failp[1], fds[0], fds[3], fds[5], rq->pty ? slave : NULL);

	close(failp[1]);
	failp[1] = -1;
	/* Wait for exec (EOF) or a setup failure: microseconds, not a child's run. */
	struct child_fail cf;
	ssize_t n;
	do
		n = read(failp[0], &cf, sizeof(cf));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(cf)) {
		/* The child exits 127 by itself; the SIGCHLD path reaps it. */
		vj_err_sys(err, cf.err, "%s for uid %u gid %u", stage_name(cf.stage),
			   (unsigned)rq->uid, (unsigned)rq->gid);
		goto out;
	}
	if (rq->pty) {
		rs->in = rs->out = master;
		rs->err = -1;
		master = -1;
	} else {
		rs->in = fds[1];
		rs->out = fds[2];
		rs->err = fds[4];
		fds[1] = fds[2] = fds[4] = -1;
		fcntl(rs->out, F_SETFL, O_NONBLOCK);
		fcntl(rs->err, F_SETFL, O_NONBLOCK);
	}
	/* Never let a slow reader block the loop (the pty master is in and out). */
	fcntl(rs->in, F_SETFL, O_NONBLOCK);
	rs->pid = pid;
	rc = 0;
out:
	for (int i = 0; i < 6; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (master >= 0)
		close(master);
	if (failp[0] >= 0)
		close(failp[0]);
	if (failp[1] >= 0)
		close(failp[1]);
	return rc;
}
