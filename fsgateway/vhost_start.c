/* Start-up of the virtio-fs transport (--vhost-user): make the socket QEMU
 * connects to, then split into the bridge (this process, see bridge.h) and
 * the FUSE server (a child, which returns from here and carries on as in
 * the serial transport, with vq_io.c as its I/O). */
#include "fsgw.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "cleanup.h"
#include "vqserve.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void tmp_name(const char *path, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s.new", path);
}

/* Listening socket at path's temporary name, connectable only by uid:gid
 * (and root). It is renamed to path once the server has opened the export
 * (see run_bridge): the path appearing is the "ready" signal hvd and the
 * tests wait for, and a server that cannot start never looks ready. */
static int listen_at(const char *path, uid_t uid, gid_t gid, struct vj_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) + 4 >= sizeof(sa.sun_path))
		return vj_err_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	tmp_name(path, sa.sun_path, sizeof(sa.sun_path));
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_err_sys(err, errno, "socket");
	unlink(sa.sun_path);
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chown(sa.sun_path, uid, gid) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		vj_err_sys(err, errno, "listening on %s", path);
		unlink(sa.sun_path);
		return -1;
	}
	return vj_steal_fd(fd);
}

/* The server ends at EOF on its control socket; give it a moment, then
 * insist. (Already reaped if it died first: then waitpid fails at once.) */
static void reap(pid_t child)
{
	int st;
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child || (r < 0 && errno != EINTR))
			return;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "vmfs-server: the filesystem server did not exit; killing it\n");
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
}

/* Owns ctl: closing it (at any return) is what ends the server. */
static int run_bridge(int lfd, int ctl_fd, pid_t child, struct vq_shared *sh,
		      const struct fsgw_vhost *v, const struct fsgw_ident *id)
{
	cleanup_close int ctl = ctl_fd;
	struct vj_err err = { 0 };
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Ready when the server says so (export open, session made); if it
	 * fails instead, its own message is in the log and we never look
	 * ready. Renaming needs root (hvd's run dir), so before the drop. */
	char tmp[PATH_MAX], c;
	tmp_name(v->path, tmp, sizeof(tmp));
	ssize_t r;
	do
		r = read(ctl, &c, 1);
	while (r < 0 && errno == EINTR && !stop);
	if (r != 1 || rename(tmp, v->path) < 0) {
		if (r == 1)
			fprintf(stderr, "vmfs-server: renaming %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		vj_close_now(&ctl);
		reap(child);
		return 1;
	}
	/* The bridge touches no files: a few fds (QEMU, the server, eventfds)
	 * and the guest's memory, as the job owner like the server. */
	if (fsgw_keep_fds(lfd, ctl, &err) < 0 || fsgw_drop_privileges(id, &err) < 0) {
		fprintf(stderr, "vmfs-server: bridge: %s\n", err.msg);
		vj_close_now(&ctl);
		reap(child);
		return 1;
	}
	/* Few fds needed: a low limit is defence in depth, not a condition
	 * to run (valgrind, for one, refuses to have it changed). */
	if (fsgw_set_fd_limit(64, &err) < 0)
		fprintf(stderr, "vmfs-server: bridge: %s (going on)\n", err.msg);
	int rc = fsgw_bridge_run(lfd, v->path, v->sock_uid, vj_steal_fd(ctl), child, sh, &stop);
	reap(child);
	return rc;
}

struct fsgw_vqio *fsgw_vhost_start(const struct fsgw_vhost *v, const struct fsgw_ident *id,
				   struct vj_err *err)
{
	cleanup_free struct fsgw_vqio *x = calloc(1, sizeof(*x));
	if (!x) {
		vj_err_sys(err, ENOMEM, "vhost-user state");
		return NULL;
	}
	struct vq_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		vj_err_sys(err, errno, "shared page");
		return NULL;
	}
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		sh->q[i].inflight_head = -1;
	int sp[2] = { -1, -1 };
	cleanup_close int lfd = listen_at(v->path, v->sock_uid, v->sock_gid, err);
	if (lfd >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		vj_err_sys(err, errno, "socketpair");
	cleanup_close int bridge_end = sp[0];
	cleanup_close int server_end = sp[1];
	pid_t child = server_end < 0 ? -1 : fork();
	if (child < 0) {
		if (server_end >= 0)
			vj_err_sys(err, errno, "fork");
		munmap(sh, sizeof(*sh));
		return NULL;
	}
	if (child == 0) {
		/* The server. When the bridge goes, however it goes, the
		 * kernel closes its end and the server ends at that EOF;
		 * the listening socket and the bridge's end close here. */
		vu_init(&x->dev);
		x->ctl = vj_steal_fd(server_end);
		x->sh = sh;
		x->cur = -1;
		return vj_steal_ptr(x);
	}
	vj_close_now(&server_end);
	free(vj_steal_ptr(x));
	exit(run_bridge(vj_steal_fd(lfd), vj_steal_fd(bridge_end), child, sh, v, id));
}
