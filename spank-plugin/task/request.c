/* The REQ_EXEC payload (docs/internals.md): who, where, what, with which
 * environment. hvd checks uid/gid against our SO_PEERCRED and takes the
 * supplementary groups from /proc, so sending them is informative only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"
#include "vmexec.h"

extern char **environ;

/* Whole batch script into memory; it must fit in one frame with the rest. */
static int read_script(const char *path, char **buf, size_t *len, struct vj_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot read the batch script %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vj_err_sys(err, errno, "cannot read the batch script %s", path);
	if (st.st_size > (off_t)(VJ_FRAME_MAX / 2))
		return vj_err_set(err, EFBIG, "the batch script is %lld bytes; at most %u fit",
				  (long long)st.st_size, VJ_FRAME_MAX / 2);
	size_t cap = (size_t)st.st_size, n = 0;
	cleanup_free char *p = malloc(cap + 1);
	if (!p)
		return vj_err_set(err, ENOMEM, "out of memory");
	while (n < cap) {
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vj_err_sys(err, errno, "cannot read the batch script %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = vj_steal_ptr(p);
	*len = n;
	return 0;
}

static void add_groups(struct vj_kvbuf *kv)
{
	int n = getgroups(0, NULL);
	if (n <= 0)
		return;
	cleanup_free gid_t *g = calloc((size_t)n, sizeof(*g));
	if (!g)
		return;
	n = getgroups(n, g);
	for (int i = 0; i < n; i++)
		vj_kv_add_u64(kv, "group", g[i]);
}

int vmexec_build_request(const struct vmexec_req *rq, struct vj_kvbuf *kv, struct vj_err *err)
{
	char cwd[PATH_MAX];
	/* A cwd we cannot name (deleted, too long) means nothing in the
	 * guest either; the agent then starts in /tmp and says so. */
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");

	vj_kv_add_str(kv, "job", rq->jobid);
	vj_kv_add_u64(kv, "uid", getuid());
	vj_kv_add_u64(kv, "gid", getgid());
	add_groups(kv);
	vj_kv_add_str(kv, "cwd", cwd);
	vj_kv_add_str(kv, "arg", rq->argv0);
	for (char **a = rq->args; *a; a++)
		vj_kv_add_str(kv, "arg", *a);
	/* Our own plumbing stays on the host. */
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "VMJOB_", 6) != 0)
			vj_kv_add_str(kv, "env", *e);
	vj_kv_add_u64(kv, "pty", rq->pty ? 1 : 0);
	if (rq->pty) {
		vj_kv_add_u64(kv, "rows", rq->rows);
		vj_kv_add_u64(kv, "cols", rq->cols);
	}
	if (rq->script) {
		cleanup_free char *body = NULL;
		size_t len = 0;
		if (read_script(rq->argv0, &body, &len, err) < 0)
			return -1;
		vj_kv_add(kv, "script", body, len);
	}
	if (kv->oom)
		return vj_err_set(err, ENOMEM, "building the request: out of memory");
	if (kv->len > VJ_FRAME_MAX)
		return vj_err_set(err, E2BIG,
				  "the command, environment and script take %zu bytes; at most %u fit",
				  kv->len, VJ_FRAME_MAX);
	return 0;
}
