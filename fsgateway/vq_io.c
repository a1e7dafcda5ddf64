/* The FUSE server's custom I/O on the virtio-fs transport: libfuse's read
 * takes the next request off a virtqueue (copied out of guest memory, then
 * checked by fsgw_validate exactly as on the serial transport), and its
 * writev puts the reply into that request's writable buffers. One request
 * at a time: libfuse's single-threaded loop answers (or, for FORGET, does
 * not answer) each before it reads the next. While the rings are empty we
 * wait on their kick eventfds and on the bridge's forwarded vhost-user
 * messages. */
#include "fsgw.h"

#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vqserve.h"

static void mark_taken(struct fsgw_vqio *x, unsigned qi)
{
	struct vq *q = &x->dev.q[qi];
	/* For the bridge, should we die before finishing: see vqserve.h. */
	__atomic_store_n(&x->sh->q[qi].inflight_used, q->used_idx, __ATOMIC_RELAXED);
	__atomic_store_n(&x->sh->q[qi].inflight_head, (int32_t)x->e.head, __ATOMIC_RELAXED);
	__atomic_store_n(&x->sh->q[qi].last_avail, q->last_avail, __ATOMIC_RELEASE);
	x->cur = (int)qi;
}

/* The current request is done: len bytes of reply are in its buffers. */
static void finish(struct fsgw_vqio *x, size_t len)
{
	struct vq *q = &x->dev.q[x->cur];
	if (q->started)
		vq_push(q, x->e.head, (uint32_t)len);
	__atomic_store_n(&x->sh->q[x->cur].inflight_head, -1, __ATOMIC_RELEASE);
	vu_notify(q);
	x->cur = -1;
}

size_t fsgw_vq_error_reply(const struct vq_elem *e, uint64_t unique, int err)
{
	struct fuse_out_header h = { .len = sizeof(h), .error = -err, .unique = unique };
	return vq_buf_to_iov(e->in, e->nin, &h, sizeof(h));
}

/* The request just taken: into buf for libfuse (returns its length), or
 * answered here (returns 0). */
static size_t request(struct fsgw *g, struct fsgw_vqio *x, void *buf, size_t max)
{
	size_t n = vq_iov_to_buf(x->e.out, x->e.nout, 0, buf, max);
	struct fuse_in_header *h = buf;
	int err = 0;
	if (n < sizeof(*h)) {
		finish(x, 0); /* nothing to answer to */
		return 0;
	}
	/* h is our copy now: what the guest does to its buffer no longer
	 * matters. The length must be what we copied, no more. */
	enum fsgw_verdict v;
	if (h->len < sizeof(*h) || h->len > n) {
		v = fsgw_no_reply(h->opcode) ? FSGW_DROP : FSGW_REPLY;
		err = EINVAL;
	} else {
		v = fsgw_validate(&g->chan.v, buf, h->len, &err);
		if (v == FSGW_PASS)
			return h->len;
	}
	g->chan.refused++;
	g->chan.last_refused = h->opcode;
	if (v == FSGW_REPLY)
		finish(x, fsgw_vq_error_reply(&x->e, h->unique, err));
	else
		finish(x, 0);
	return 0;
}

/* A message the bridge forwarded. 0 = bridge gone, -1 = protocol error. */
static int control(struct fsgw_vqio *x)
{
	struct vu_msg m, reply;
	int fds[VU_MAX_FDS];
	unsigned nfds;
	struct vj_err err = { 0 };
	int r = vu_recv(x->ctl, &m, fds, &nfds, &err);
	if (r == 0)
		return 0;
	if (r > 0)
		r = vu_handle(&x->dev, &m, fds, nfds, &reply, &err);
	if (r < 0) {
		fprintf(stderr, "vmfs-server: vhost-user (from the bridge): %s\n", err.msg);
		return -1;
	}
	if (r > 0 && vu_server_replies(m.request) && vu_send(x->ctl, &reply) < 0)
		return 0;
	return 1;
}

/* Sleep until a kick or a forwarded message. Returns -1 with errno set when
 * libfuse's loop should look up (EINTR) or end (ENODEV, EPROTO). */
static int wait_work(struct fsgw_vqio *x)
{
	struct pollfd pf[1 + VU_MAX_QUEUES];
	nfds_t n = 0;
	pf[n++] = (struct pollfd){ x->ctl, POLLIN, 0 };
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++) {
		const struct vq *q = &x->dev.q[i];
		if (q->started && q->enabled && q->kick >= 0 && !q->broken)
			pf[n++] = (struct pollfd){ q->kick, POLLIN, 0 };
	}
	if (poll(pf, n, -1) < 0)
		return -1; /* EINTR: a signal, libfuse checks whether to exit */
	if (pf[0].revents) {
		int r = control(x);
		if (r <= 0) {
			errno = r == 0 ? ENODEV : EPROTO; /* ENODEV: a clean end */
			return -1;
		}
		return 0; /* kick fds may have changed: poll afresh */
	}
	for (nfds_t k = 1; k < n; k++) {
		uint64_t v;
		if (pf[k].revents && read(pf[k].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			fprintf(stderr, "vmfs-server: reading a kick: %s\n", strerror(errno));
	}
	return 0;
}

ssize_t fsgw_vq_read(int fd, void *buf, size_t len, void *fsgw)
{
	(void)fd;
	struct fsgw *g = fsgw;
	struct fsgw_vqio *x = g->chan.vq;
	size_t max = len < FSGW_MAX_MSG ? len : FSGW_MAX_MSG;
	if (x->cur >= 0)
		finish(x, 0); /* FORGET and friends: libfuse sent nothing */
	for (;;) {
		for (unsigned k = 0; k < VU_MAX_QUEUES; k++) {
			unsigned qi = (x->next + k) % VU_MAX_QUEUES;
			struct vq *q = &x->dev.q[qi];
			if (!q->started || !q->enabled)
				continue;
			int r = vq_pop(q, &x->dev.mem, &x->e);
			if (r < 0)
				vu_report_broken(q, qi);
			if (r <= 0)
				continue;
			x->next = qi + 1; /* the other queues first next time */
			mark_taken(x, qi);
			size_t n = request(g, x, buf, max);
			if (n)
				return (ssize_t)n;
		}
		if (wait_work(x) < 0)
			return -1;
	}
}

ssize_t fsgw_vq_writev(int fd, struct iovec *iov, int count, void *fsgw)
{
	(void)fd;
	struct fsgw_vqio *x = ((struct fsgw *)fsgw)->chan.vq;
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	/* Notifications (unique 0) have no queue on this device: dropped. */
	const struct fuse_out_header *h = count > 0 && iov[0].iov_len >= sizeof(*h) ? iov[0].iov_base : NULL;
	if (x->cur < 0 || !h || h->unique == 0)
		return (ssize_t)total;
	finish(x, vq_iov_to_iov(x->e.in, x->e.nin, iov, (unsigned)count));
	return (ssize_t)total;
}

int fsgw_vq_ready(struct fsgw_vqio *x)
{
	char c = 'R';
	return write(x->ctl, &c, 1) == 1 ? 0 : -1;
}
