/* Host commands for the guest (hostcmd.h): start, relay, end. Each runs as
 * a child of this process (vmexec: already the job's owner, inside the
 * step's cgroup and environment), on pipes; its exit is seen through a
 * pidfd, so the relay's one poll loop covers it and no SIGCHLD handler is
 * needed. Frames go to hvd on the command's own stream. */
#include "hostcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "kv.h"

extern char **environ;

#define MAX_ARGS 4096
#define MAX_ENV 4096
#define STDIN_CAP (1u << 20) /* guest input not yet read by the command */

/* What a batch script may ask for, as on a node. Interactive allocations
 * (salloc) and anything else are not host commands. */
static const char *const allowed[] = {"srun", "sbatch", "scontrol", "squeue", "scancel",
				      "sacct", "sinfo", "sstat", NULL};
/* Where they are looked for: the system's directories, never a PATH. */
static const char *const bindirs[] = {"/usr/bin", "/usr/local/bin", "/bin", NULL};
/* The guest's variables that may reach them: Slurm's input variables. */
static const char *const env_prefixes[] = {"SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "SQUEUE_",
					   "SCONTROL_", "SACCT_", "SINFO_", "SSTAT_", "SCANCEL_",
					   NULL};

enum role { R_PIDFD, R_IN, R_OUT, R_ERR };

struct cmd {
	uint32_t stream;
	pid_t pid;
	int pidfd, in, out, err; /* -1 once closed */
	uint8_t *inq;            /* guest input waiting for the command */
	size_t inoff, inlen;
	bool in_eof;
};

struct vj_hostcmds {
	int sock;
	struct cmd *cmds[VJ_HOSTCMD_MAX];
	size_t n;
	struct {
		struct cmd *c;
		enum role role;
	} map[VJ_HOSTCMD_MAX * 4];
};

bool vj_hostcmd_allowed(const char *name)
{
	for (const char *const *a = allowed; *a; a++)
		if (!strcmp(name, *a))
			return true;
	return false;
}

bool vj_hostcmd_env_allowed(const char *entry)
{
	size_t klen = strcspn(entry, "=");
	if (!entry[klen] || klen == 0 || strspn(entry, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != klen)
		return false;
	if (klen == strlen("SLURM_CONF") && !strncmp(entry, "SLURM_CONF", klen))
		return false; /* which cluster to talk to is the host's */
	for (const char *const *p = env_prefixes; *p; p++)
		if (!strncmp(entry, *p, strlen(*p)) && klen > strlen(*p))
			return true;
	return false;
}

struct vj_hostcmds *vj_hostcmds_new(int sock)
{
	struct vj_hostcmds *hc = calloc(1, sizeof(*hc));
	if (hc)
		hc->sock = sock;
	return hc;
}

static void send_kv(struct vj_hostcmds *hc, uint16_t type, uint32_t stream, struct vj_kvbuf *kv)
{
	if (!kv->oom) /* a failed write: hvd is gone, the relay's read says so */
		vj_frame_write(hc->sock, type, stream, kv->data, kv->len, NULL);
}

static void send_error(struct vj_hostcmds *hc, uint32_t stream, const char *msg)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	send_kv(hc, VJ_ERROR, stream, &kv);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void cmd_free(struct cmd *c)
{
	close_fd(&c->pidfd);
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
	free(c->inq);
	free(c);
}

/* The step's environment with the guest's allowed variables on top. The
 * strings are borrowed from environ and the request. */
static char **merge_env(char **guest)
{
	size_t n = 0, g = 0;
	while (environ[n])
		n++;
	while (guest[g])
		g++;
	char **env = calloc(n + g + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		bool overridden = false;
		for (size_t k = 0; k < g && !overridden; k++)
			overridden = vj_hostcmd_env_allowed(guest[k]) &&
				     !strncmp(guest[k], environ[i], klen + 1);
		if (!overridden)
			env[j++] = environ[i];
	}
	for (size_t k = 0; k < g; k++)
		if (vj_hostcmd_env_allowed(guest[k]))
			env[j++] = guest[k];
	env[j] = NULL;
	return env;
}

/* Runs in the child: never returns. */
static __attribute__((noreturn)) void child(const char *path, char **argv, char **env,
					    const char *cwd, int in, int out, int err)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the relay blocks what it forwards */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (cwd && chdir(cwd) < 0)
		dprintf(2, "vmjob: %s: cannot enter %s on the host (%s); running in %s\n", argv[0],
			cwd, strerror(errno), getcwd(NULL, 0) ?: "?");
	execve(path, argv, env);
	dprintf(2, "vmjob: %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int find_command(const char *name, char *path, size_t pathsz)
{
	for (const char *const *d = bindirs; *d; d++) {
		snprintf(path, pathsz, "%s/%s", *d, name);
		if (access(path, X_OK) == 0)
			return 0;
	}
	return -1;
}

static void close_pipes(int (*p)[6])
{
	for (int i = 0; i < 6; i++)
		close_fd(&(*p)[i]);
}

/* The command on three pipes (its ends closed here once it has them). */
static int spawn(struct cmd *c, const char *path, char **argv, char **env, const char *cwd,
		 struct vj_err *err)
{
	/* stdin r/w, stdout r/w, stderr r/w, all close-on-exec */
	__attribute__((cleanup(close_pipes))) int p[6] = {-1, -1, -1, -1, -1, -1};
	for (int i = 0; i < 3; i++)
		if (pipe2(p + 2 * i, O_CLOEXEC) < 0)
			return vj_err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork");
	if (pid == 0)
		child(path, argv, env, cwd, p[0], p[3], p[5]);
	c->pid = pid;
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return vj_err_sys(err, e, "pidfd_open");
	}
	c->in = vj_steal_fd(p[1]);
	c->out = vj_steal_fd(p[2]);
	c->err = vj_steal_fd(p[4]);
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	return 0;
}

static void start(struct vj_hostcmds *hc, const struct vj_frame *f)
{
	const void *p = f->payload;
	size_t n = f->len;
	struct vj_err err = {0};
	cleanup_strv char **argv = NULL, **genv = NULL;
	char cwd[4096], path[256];
	if (vj_kv_validate(p, n, &err) < 0 || vj_kv_get_strv(p, n, "arg", MAX_ARGS, &argv, &err) < 0 ||
	    vj_kv_get_strv(p, n, "env", MAX_ENV, &genv, &err) < 0 ||
	    vj_kv_get_str(p, n, "cwd", cwd, sizeof(cwd), "", &err) < 0 || !argv[0]) {
		send_error(hc, f->stream, "vmjob: malformed host command request");
		return;
	}
	if (strchr(argv[0], '/') || !vj_hostcmd_allowed(argv[0])) {
		char msg[512];
		snprintf(msg, sizeof(msg), "vmjob: %.64s cannot run on the host from a VM (allowed: "
			 "srun, sbatch, scontrol, squeue, scancel, sacct, sinfo, sstat)", argv[0]);
		send_error(hc, f->stream, msg);
		return;
	}
	if (find_command(argv[0], path, sizeof(path)) < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "vmjob: %s is not installed on the host", argv[0]);
		send_error(hc, f->stream, msg);
		return;
	}
	cleanup_free char **env = merge_env(genv);
	struct cmd *c = hc->n < VJ_HOSTCMD_MAX ? calloc(1, sizeof(*c)) : NULL;
	if (!env || !c) {
		free(c);
		send_error(hc, f->stream, "vmjob: too many host commands at once, or out of memory");
		return;
	}
	*c = (struct cmd){.stream = f->stream, .pidfd = -1, .in = -1, .out = -1, .err = -1};
	if (spawn(c, path, argv, env, cwd[0] ? cwd : NULL, &err) < 0) {
		char msg[sizeof(err.msg) + 128];
		snprintf(msg, sizeof(msg), "vmjob: cannot start %.64s on the host: %s", argv[0], err.msg);
		send_error(hc, f->stream, msg);
		cmd_free(c);
		return;
	}
	hc->cmds[hc->n++] = c;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "pid", (uint64_t)c->pid);
	send_kv(hc, VJ_STARTED, c->stream, &kv);
}

static struct cmd *find(struct vj_hostcmds *hc, uint32_t stream)
{
	for (size_t i = 0; i < hc->n; i++)
		if (hc->cmds[i]->stream == stream)
			return hc->cmds[i];
	return NULL;
}

static void queue_stdin(struct cmd *c, const uint8_t *data, size_t n)
{
	if (n == 0) {
		c->in_eof = true;
		if (!c->inlen)
			close_fd(&c->in);
		return;
	}
	if (c->in < 0 || c->inlen + n > STDIN_CAP)
		return; /* the command closed its stdin, or reads none of it */
	if (c->inoff) {
		memmove(c->inq, c->inq + c->inoff, c->inlen);
		c->inoff = 0;
	}
	uint8_t *q = realloc(c->inq, c->inlen + n);
	if (!q)
		return;
	memcpy(q + c->inlen, data, n);
	c->inq = q;
	c->inlen += n;
}

void vj_hostcmds_frame(struct vj_hostcmds *hc, const struct vj_frame *f)
{
	if (f->type == VJ_HOSTCMD) {
		if (find(hc, f->stream))
			return; /* hvd never reuses a live stream */
		start(hc, f);
		return;
	}
	struct cmd *c = find(hc, f->stream);
	if (!c)
		return;
	uint64_t sig;
	if (f->type == VJ_STDIN)
		queue_stdin(c, f->payload, f->len);
	else if (f->type == VJ_SIGNAL &&
		 vj_kv_get_u64(f->payload, f->len, "sig", 1, 64, false, &sig, NULL) == 0 &&
		 c->pidfd >= 0)
		kill(c->pid, (int)sig); /* the pid is ours and unreaped while pidfd is open */
}

size_t vj_hostcmds_pollfds(struct vj_hostcmds *hc, struct pollfd *p)
{
	size_t n = 0;
	for (size_t i = 0; i < hc->n; i++) {
		struct cmd *c = hc->cmds[i];
		int fds[4] = {c->pidfd, c->inlen ? c->in : -1, c->out, c->err};
		short ev[4] = {POLLIN, POLLOUT, POLLIN, POLLIN};
		for (int r = 0; r < 4; r++) {
			if (fds[r] < 0)
				continue;
			p[n] = (struct pollfd){.fd = fds[r], .events = ev[r]};
			hc->map[n].c = c;
			hc->map[n++].role = (enum role)r;
		}
	}
	return n;
}

/* Output of the command to hvd; EOF closes the pipe. */
static void pump_out(struct vj_hostcmds *hc, struct cmd *c, int *fd, uint16_t type)
{
	char buf[VJ_IO_CHUNK];
	for (;;) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(fd);
			return;
		}
		vj_frame_write(hc->sock, type, c->stream, buf, (size_t)n, NULL);
		if ((size_t)n < sizeof(buf))
			return;
	}
}

static void pump_in(struct cmd *c)
{
	ssize_t n = write(c->in, c->inq + c->inoff, c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) { /* EPIPE: it closed its stdin; drop the rest */
		c->inlen = 0;
		close_fd(&c->in);
		return;
	}
	c->inoff += (size_t)n;
	c->inlen -= (size_t)n;
	if (!c->inlen && c->in_eof)
		close_fd(&c->in);
}

/* The command exited: what it wrote before is in the pipes; send it, then
 * EXIT. A background process still holding the pipes does not hold this. */
static void finish(struct vj_hostcmds *hc, struct cmd *c)
{
	int st = 0;
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	close_fd(&c->pidfd);
	if (c->out >= 0)
		pump_out(hc, c, &c->out, VJ_STDOUT);
	if (c->err >= 0)
		pump_out(hc, c, &c->err, VJ_STDERR);
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (WIFSIGNALED(st)) {
		vj_kv_add_u64(&kv, "signal", (uint64_t)WTERMSIG(st));
		vj_kv_add_u64(&kv, "core", WCOREDUMP(st) ? 1 : 0);
	} else {
		vj_kv_add_u64(&kv, "status", (uint64_t)WEXITSTATUS(st));
	}
	send_kv(hc, VJ_EXIT, c->stream, &kv);
}

void vj_hostcmds_events(struct vj_hostcmds *hc, const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cmd *c = hc->map[i].c;
		if (!p[i].revents || p[i].fd < 0)
			continue;
		switch (hc->map[i].role) {
		case R_IN: if (c->in >= 0) pump_in(c); break;
		case R_OUT: if (c->out >= 0) pump_out(hc, c, &c->out, VJ_STDOUT); break;
		case R_ERR: if (c->err >= 0) pump_out(hc, c, &c->err, VJ_STDERR); break;
		case R_PIDFD: if (c->pidfd >= 0) finish(hc, c); break;
		}
	}
	size_t j = 0;
	for (size_t i = 0; i < hc->n; i++) {
		if (hc->cmds[i]->pidfd < 0)
			cmd_free(hc->cmds[i]);
		else
			hc->cmds[j++] = hc->cmds[i];
	}
	hc->n = j;
}

void vj_hostcmds_free(struct vj_hostcmds *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; i < hc->n; i++) {
		struct cmd *c = hc->cmds[i];
		if (c->pidfd >= 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
		cmd_free(c);
	}
	free(hc);
}
