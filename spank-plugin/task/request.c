/* The REQ_EXEC payload (docs/internals.md): who, where, what, with which
 * environment. The fields every client sends are vj_exec_request's
 * (client/); vmexec adds its environment, its groups and the batch script.
 * hvd checks uid/gid against our SO_PEERCRED and takes the supplementary
 * groups from /proc, so sending them is informative only. */
#include <errno.h>
#include <fcntl.h>
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

/* Our environment minus our own plumbing (VMJOB_*), which stays on the
 * host: pointers into environ, NULL-terminated, malloc'd (the array only). */
static char **guest_env(struct vj_err *err)
{
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = calloc(n + 1, sizeof(*env));
	if (!env) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	size_t k = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "VMJOB_", 6) != 0)
			env[k++] = *e;
	return env;
}

int vmexec_build_request(const struct vmexec_req *rq, struct vj_kvbuf *kv, struct vj_err *err)
{
	cleanup_free char **env = guest_env(err);
	if (!env)
		return -1;
	struct vj_exec_req er = {
		.job = rq->jobid,
		.argv0 = rq->argv0,
		.args = rq->args,
		.env = env,
		.pty = rq->pty,
		.rows = rq->rows,
		.cols = rq->cols,
		.hostcmds = true, /* srun & co in the VM run here, in this task's step */
	};
	if (vj_exec_request(&er, kv, err) < 0)
		return -1;
	add_groups(kv);
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
