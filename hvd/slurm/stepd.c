#include "stepd.h"

#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

/* slurmstepd's step_msg_t (src/common/stepd_api.h), the two hvd sends. */
enum { STEPD_STEP_STAT = 17, STEPD_ADD_EXTERN_PID = 22 };
/* SLURM_22_05_PROTOCOL_VERSION: any version from slurmstepd's minimum up
 * is accepted as a hello; it answers with its own. */
#define STEPD_HELLO ((38 << 8) | 0)
#define STEPD_EXTERN_STEP "4294967292" /* SLURM_EXTERN_CONT */
#define STEPD_TIMEOUT_S 10

int hv_stepd_extern_path(const char *spool_dir, const char *job, char *path, size_t sz,
			 struct vj_err *err)
{
	/* job ends up in a glob pattern: only a Slurm job id may. */
	if (!job[0] || strspn(job, "0123456789") != strlen(job))
		return vj_err_set(err, ENOENT, "'%s' is not a Slurm job id", job);
	char pat[4200];
	snprintf(pat, sizeof(pat), "%s/*_%s." STEPD_EXTERN_STEP, spool_dir, job);
	glob_t g;
	int rc = glob(pat, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return vj_err_set(err, ENOENT,
				  "slurmd runs no extern step for job %s here (no %s/*_%s." STEPD_EXTERN_STEP
				  "; slurm.conf PrologFlags=Contain and hvd.conf slurmd_spool_dir)",
				  job, spool_dir, job);
	if (rc)
		return vj_err_set(err, EIO, "cannot list %s", spool_dir);
	if (g.gl_pathc != 1) {
		globfree(&g);
		return vj_err_set(err, EEXIST, "%zu extern step sockets for job %s in %s (several slurmd "
				  "share it: give each its own SlurmdSpoolDir and hvd.conf slurmd_spool_dir)",
				  (size_t)g.gl_pathc, job, spool_dir);
	}
	rc = (size_t)snprintf(path, sz, "%s", g.gl_pathv[0]) < sz
		     ? 0 : vj_err_set(err, ENAMETOOLONG, "path of %s too long", g.gl_pathv[0]);
	globfree(&g);
	return rc;
}

static int full_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w, n -= (size_t)w;
	}
	return 0;
}

static int full_read(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
		c += r, n -= (size_t)r;
	}
	return 0;
}

/* Connected and greeted: the fd, or -1 with err. */
static int stepd_open(const char *spool_dir, const char *job, struct vj_err *err)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (hv_stepd_extern_path(spool_dir, job, path, sizeof(path), err))
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_err_sys(err, errno, "socket");
	struct timeval tv = {.tv_sec = STEPD_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int hello = STEPD_HELLO, ver = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vj_err_sys(err, errno, "cannot reach job %s's extern step at %s", job, path);
		close(fd);
		return -1;
	}
	if (full_write(fd, &hello, sizeof(hello)) || full_read(fd, &ver, sizeof(ver))) {
		vj_err_sys(err, errno, "job %s's extern step (%s) did not answer", job, path);
		close(fd);
		return -1;
	}
	if (ver <= 0) {
		vj_err_set(err, EPROTO, "job %s's extern step (%s) refused hvd's hello", job, path);
		close(fd);
		return -1;
	}
	return fd;
}

int hv_stepd_adopt(const char *spool_dir, const char *job, pid_t pid, struct vj_err *err)
{
	cleanup_close int fd = stepd_open(spool_dir, job, err);
	if (fd < 0)
		return -1;
	int req = STEPD_ADD_EXTERN_PID, rc = -1;
	if (full_write(fd, &req, sizeof(req)) || full_write(fd, &pid, sizeof(pid)) ||
	    full_read(fd, &rc, sizeof(rc)))
		return vj_err_sys(err, errno, "job %s's extern step did not take pid %d", job, (int)pid);
	/* SLURM_SUCCESS is 0; its log says why not (not root, not the extern
	 * step, a plugin refused). */
	if (rc != 0)
		return vj_err_set(err, EPERM, "job %s's extern step refused pid %d (slurmd's log says why)",
				  job, (int)pid);
	return 0;
}

int hv_stepd_sample(const char *spool_dir, const char *job, struct vj_err *err)
{
	cleanup_close int fd = stepd_open(spool_dir, job, err);
	if (fd < 0)
		return -1;
	/* The answer (packed statistics) comes after the poll: its first int
	 * is enough to know the sample was taken. */
	int req = STEPD_STEP_STAT, len;
	if (full_write(fd, &req, sizeof(req)) || full_read(fd, &len, sizeof(len)))
		return vj_err_sys(err, errno, "job %s's extern step did not sample its accounting", job);
	return 0;
}
