#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "validate.h"
#include "vqserve.h"

struct bridge {
	struct vu_dev dev;   /* the same device state the server has */
	int sock;            /* QEMU */
	int ctl;             /* to the server; -1 once it is gone */
	pid_t server;
	struct vq_shared *sh;
	struct vq_elem e;
};

/* Answer the request in b->e with EIO (or nothing, for FORGET-likes). */
static void fail_request(struct bridge *b, struct vq *q)
{
	struct fuse_in_header in;
	size_t len = 0;
	if (vq_iov_to_buf(b->e.out, b->e.nout, 0, &in, sizeof(in)) == sizeof(in) &&
	    !fsgw_no_reply(in.opcode))
		len = fsgw_vq_error_reply(&b->e, in.unique, EIO);
	vq_push(q, b->e.head, (uint32_t)len);
}

/* With the server gone: every request on queue qi gets EIO. */
static void fail_queue(struct bridge *b, unsigned qi)
{
	struct vq *q = &b->dev.q[qi];
	if (!q->started || !q->enabled)
		return;
	int r, n = 0;
	while ((r = vq_pop(q, &b->dev.mem, &b->e)) > 0) {
		fail_request(b, q);
		n++;
	}
	if (r < 0)
		vu_report_broken(q, qi);
	if (n)
		vu_notify(q);
}

static void describe_exit(pid_t pid, char *out, size_t outsz)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		snprintf(out, outsz, "gone");
	else if (WIFSIGNALED(st))
		snprintf(out, outsz, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(out, outsz, "exited with status %d", WEXITSTATUS(st));
}

/* The server died: take its queues over where it left them (vqserve.h),
 * finish the request it was serving, answer everything else with EIO. */
static void take_over(struct bridge *b)
{
	if (b->ctl < 0)
		return;
	close(b->ctl);
	b->ctl = -1;
	char how[64];
	describe_exit(b->server, how, sizeof(how));
	b->server = -1;
	fprintf(stderr, "vmfs-server: the filesystem server %s: the guest gets EIO from now on\n", how);
	for (unsigned qi = 0; qi < VU_MAX_QUEUES; qi++) {
		struct vq *q = &b->dev.q[qi];
		if (!q->used || q->broken)
			continue;
		q->last_avail = __atomic_load_n(&b->sh->q[qi].last_avail, __ATOMIC_ACQUIRE);
		q->used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
		int32_t head = __atomic_load_n(&b->sh->q[qi].inflight_head, __ATOMIC_ACQUIRE);
		uint16_t used_then = __atomic_load_n(&b->sh->q[qi].inflight_used, __ATOMIC_RELAXED);
		/* Unless its reply was published (used index moved on since it
		 * took the request), the request is still the guest's to wait on. */
		if (head >= 0 && q->used_idx == used_then && vq_walk(q, &b->dev.mem, (uint16_t)head, &b->e) > 0) {
			fail_request(b, q);
			vu_notify(q);
		}
		fail_queue(b, qi);
	}
}

/* Forward a message to the server; fds are duplicated, ours stay ours. */
static void forward(struct bridge *b, const struct vu_msg *m, const int *fds, unsigned nfds)
{
	int dup_fds[VU_MAX_FDS];
	unsigned n = 0;
	for (; n < nfds; n++)
		if ((dup_fds[n] = fcntl(fds[n], F_DUPFD_CLOEXEC, 0)) < 0)
			break;
	struct vu_msg fwd = *m;
	vu_no_ack(&fwd);
	int r = n == nfds ? vu_send_fds(b->ctl, &fwd, dup_fds, n) : -1;
	for (unsigned i = 0; i < n; i++)
		close(dup_fds[i]);
	if (r < 0)
		take_over(b);
}

/* One control message from QEMU. 0 = go on, 1 = QEMU left, -1 = error. */
static int control(struct bridge *b)
{
	struct vu_msg m, reply, sreply;
	int fds[VU_MAX_FDS];
	unsigned nfds;
	struct vj_err err = { 0 };
	int r = vu_recv(b->sock, &m, fds, &nfds, &err);
	if (r == 0)
		return 1;
	bool asked = false;
	if (r > 0 && b->ctl >= 0 && vu_forwarded(m.request)) {
		forward(b, &m, fds, nfds);
		asked = b->ctl >= 0 && vu_server_replies(m.request);
	}
	if (r > 0)
		r = vu_handle(&b->dev, &m, fds, nfds, &reply, &err);
	if (r < 0) {
		fprintf(stderr, "vmfs-server: vhost-user: %s\n", err.msg);
		return -1;
	}
	if (asked) {
		/* Where a queue stands is the server's to say (it took the
		 * requests); if it dies meanwhile, take_over made ours true. */
		int fds2[VU_MAX_FDS];
		unsigned n2;
		int s = vu_recv(b->ctl, &sreply, fds2, &n2, &err);
		for (unsigned i = 0; i < (s > 0 ? n2 : 0); i++)
			close(fds2[i]);
		if (s > 0 && sreply.request == m.request && sreply.size == reply.size) {
			reply = sreply;
		} else {
			take_over(b);
			(void)vu_handle(&b->dev, &m, NULL, 0, &reply, NULL);
		}
	}
	if (r > 0 && vu_send(b->sock, &reply) < 0) {
		fprintf(stderr, "vmfs-server: vhost-user: replying: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait for QEMU. Should it never come (hvd died between starting us and
 * starting the domain), we end once the socket is gone: hvd's clean-up of
 * the VM's run dir, now or after its restart, removes it. */
static int accept_qemu(int listen_fd, const char *path, uid_t peer_uid, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		struct pollfd pf = { listen_fd, POLLIN, 0 };
		int p = poll(&pf, 1, 1000);
		struct stat st;
		if (p == 0 && lstat(path, &st) < 0 && errno == ENOENT) {
			fprintf(stderr, "vmfs-server: %s was removed before QEMU connected\n", path);
			return -1;
		}
		if (p <= 0)
			continue;
		cleanup_close int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			fprintf(stderr, "vmfs-server: accept: %s\n", strerror(errno));
			return -1;
		}
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
		    (cr.uid == peer_uid || cr.uid == 0) && fcntl(c, F_SETFL, 0) == 0)
			return vj_steal_fd(c);
		fprintf(stderr, "vmfs-server: refusing a connection from uid %u pid %d (QEMU runs as %u)\n",
			(unsigned)cr.uid, (int)cr.pid, (unsigned)peer_uid);
	}
	return -1;
}

static int loop(struct bridge *b, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		struct pollfd pf[2 + VU_MAX_QUEUES];
		unsigned qof[2 + VU_MAX_QUEUES];
		nfds_t n = 0;
		pf[n++] = (struct pollfd){ b->sock, POLLIN, 0 };
		/* The server never writes unprompted: readable = it is gone. */
		pf[n++] = (struct pollfd){ b->ctl, POLLIN, 0 };
		for (unsigned i = 0; b->ctl < 0 && i < VU_MAX_QUEUES; i++) {
			const struct vq *q = &b->dev.q[i];
			if (q->started && q->enabled && q->kick >= 0 && !q->broken) {
				qof[n] = i;
				pf[n++] = (struct pollfd){ q->kick, POLLIN, 0 };
			}
		}
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmfs-server: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pf[1].revents)
			take_over(b);
		if (pf[0].revents) {
			int r = control(b);
			if (r)
				return r > 0 ? 0 : 1;
			if (b->ctl < 0)
				for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
					fail_queue(b, i); /* a queue may just have started */
			continue; /* kick fds may have changed: poll afresh */
		}
		for (nfds_t k = 2; k < n; k++) {
			uint64_t v;
			if (pf[k].revents && read(pf[k].fd, &v, sizeof(v)) >= 0)
				fail_queue(b, qof[k]);
		}
	}
	return 0;
}

int fsgw_bridge_run(int listen_fd, const char *path, uid_t peer_uid, int ctl, pid_t server,
		    struct vq_shared *sh, volatile sig_atomic_t *stop)
{
	struct bridge *b = calloc(1, sizeof(*b));
	if (!b) {
		fprintf(stderr, "vmfs-server: out of memory\n");
		close(ctl);
		return 1;
	}
	vu_init(&b->dev);
	b->ctl = ctl;
	b->server = server;
	b->sh = sh;
	int rc;
	b->sock = accept_qemu(listen_fd, path, peer_uid, stop);
	close(listen_fd);
	if (b->sock < 0) {
		rc = *stop ? 0 : 1;
	} else {
		rc = loop(b, stop);
		close(b->sock);
	}
	if (b->ctl >= 0)
		close(b->ctl); /* the server ends at this EOF */
	vu_free(&b->dev);
	free(b);
	return rc;
}
