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
#include <unistd.h>

#include "validate.h"
#include "vhost_user.h"

/* Stop taking requests off the rings while this much waits for the server:
 * the guest then waits in its own queue, and our memory stays bounded. */
#define OUT_HIGH (4u << 20)
#define OUT_CAP (OUT_HIGH + FSGW_MAX_MSG)
#define IN_CAP (2u * FSGW_MAX_MSG)

/* A request the server has not answered yet. Its tag (what the server sees
 * as `unique`) is gen<<32 | (slot+1): the guest's own unique values are
 * kept here, so a guest reusing them cannot make one reply land in two
 * requests, and a late reply for a recycled slot fails the gen check. */
struct pend {
	bool busy;
	uint16_t q, head;
	uint32_t gen, mem_gen;
	uint64_t unique;
	unsigned nin;
	struct iovec *in;
};

struct bridge {
	struct vu_dev dev;
	int sock, srv;
	bool srv_dead;
	struct pend *p;
	uint32_t np, *free, nfree;
	char *out, *in;
	size_t out_off, out_len, in_len;
	bool more[VU_MAX_QUEUES];    /* requests left on the ring (we paused) */
	bool notify[VU_MAX_QUEUES];  /* pushed since the last interrupt */
	bool said_broken[VU_MAX_QUEUES];
	unsigned long long stray;    /* replies matching no request */
	struct vq_elem e;
};

static size_t out_waiting(const struct bridge *b)
{
	return b->out_len - b->out_off;
}

static void push(struct bridge *b, unsigned qi, uint16_t head, size_t len)
{
	vq_push(&b->dev.q[qi], head, (uint32_t)len);
	b->notify[qi] = true;
}

/* Answer a request ourselves with an error (header only). */
static void answer(struct bridge *b, unsigned qi, uint16_t head, const struct iovec *in,
		   unsigned nin, uint64_t unique, int err)
{
	struct fuse_out_header h = { .len = sizeof(h), .error = -err, .unique = unique };
	push(b, qi, head, vq_buf_to_iov(in, nin, &h, sizeof(h)));
}

static struct pend *slot_new(struct bridge *b, uint32_t *idx)
{
	if (b->nfree == 0) {
		/* Bounded by the rings: at most every descriptor in flight. */
		uint32_t n = b->np ? b->np * 2 : 64;
		if (n > VU_MAX_QUEUES * VQ_MAX_NUM)
			return NULL;
		struct pend *p = realloc(b->p, n * sizeof(*p));
		uint32_t *f = realloc(b->free, n * sizeof(*f));
		if (p)
			b->p = p;
		if (f)
			b->free = f;
		if (!p || !f)
			return NULL;
		for (uint32_t i = n; i > b->np; i--) {
			b->p[i - 1] = (struct pend){ 0 };
			b->free[b->nfree++] = i - 1;
		}
		b->np = n;
	}
	*idx = b->free[--b->nfree];
	return &b->p[*idx];
}

static void slot_free(struct bridge *b, uint32_t idx)
{
	struct pend *p = &b->p[idx];
	free(p->in);
	p->in = NULL;
	p->busy = false;
	p->gen++;
	b->free[b->nfree++] = idx;
}

/* Can a reply still go where this request came from? Not if QEMU stopped
 * the queue or replaced the memory map since (the iovecs would be stale). */
static bool deliverable(const struct bridge *b, const struct pend *p)
{
	return p->mem_gen == b->dev.mem.gen && b->dev.q[p->q].started;
}

static void server_gone(struct bridge *b, const char *why)
{
	if (b->srv_dead)
		return;
	b->srv_dead = true;
	fprintf(stderr, "vmfs-server: the filesystem server is gone (%s): the guest gets EIO from now on\n",
		why);
	close(b->srv);
	b->srv = -1;
	b->out_off = b->out_len = b->in_len = 0;
	for (uint32_t i = 0; i < b->np; i++) {
		struct pend *p = &b->p[i];
		if (!p->busy)
			continue;
		if (deliverable(b, p))
			answer(b, p->q, p->head, p->in, p->nin, p->unique, EIO);
		slot_free(b, i);
	}
}

/* One request off queue qi (in b->e) into the stream to the server. */
static void take(struct bridge *b, unsigned qi)
{
	struct vq_elem *e = &b->e;
	struct fuse_in_header h;
	if (vq_iov_to_buf(e->out, e->nout, 0, &h, sizeof(h)) < sizeof(h)) {
		push(b, qi, e->head, 0); /* not even a header to answer to */
		return;
	}
	bool no_reply = fsgw_no_reply(h.opcode);
	/* The length is the stream's framing: it must be what we send. */
	if (h.len < sizeof(h) || h.len > e->out_len || h.len > FSGW_MAX_MSG) {
		if (no_reply)
			push(b, qi, e->head, 0);
		else
			answer(b, qi, e->head, e->in, e->nin, h.unique, EINVAL);
		return;
	}
	if (b->srv_dead) {
		if (no_reply)
			push(b, qi, e->head, 0);
		else
			answer(b, qi, e->head, e->in, e->nin, h.unique, EIO);
		return;
	}
	if (!no_reply) {
		uint32_t idx = 0;
		struct pend *p = slot_new(b, &idx);
		struct iovec *in = malloc((e->nin ? e->nin : 1) * sizeof(*in));
		if (!p || !in) {
			if (p)
				b->free[b->nfree++] = idx;
			free(in);
			answer(b, qi, e->head, e->in, e->nin, h.unique, ENOMEM);
			return;
		}
		memcpy(in, e->in, e->nin * sizeof(*in));
		*p = (struct pend){ .busy = true, .q = (uint16_t)qi, .head = e->head, .gen = p->gen,
				    .mem_gen = b->dev.mem.gen, .unique = h.unique, .nin = e->nin,
				    .in = in };
		h.unique = ((uint64_t)p->gen << 32) | (idx + 1);
	}
	/* Our copy of the header (the guest may be rewriting its own), then
	 * the body straight from guest memory into the send buffer. */
	memcpy(b->out + b->out_len, &h, sizeof(h));
	b->out_len += sizeof(h);
	b->out_len += vq_iov_to_buf(e->out, e->nout, sizeof(h), b->out + b->out_len, h.len - sizeof(h));
	if (no_reply)
		push(b, qi, e->head, 0);
}

/* Take requests off queue qi until it is empty or the buffer is full. */
static void drain(struct bridge *b, unsigned qi)
{
	struct vq *q = &b->dev.q[qi];
	b->more[qi] = false;
	if (!q->started || !q->enabled)
		return;
	for (;;) {
		if (out_waiting(b) >= OUT_HIGH) {
			b->more[qi] = true;
			return;
		}
		if (b->out_off && b->out_len + FSGW_MAX_MSG > OUT_CAP) {
			memmove(b->out, b->out + b->out_off, out_waiting(b));
			b->out_len -= b->out_off;
			b->out_off = 0;
		}
		int r = vq_pop(q, &b->dev.mem, &b->e);
		if (r == 0)
			return;
		if (r < 0) {
			if (!b->said_broken[qi])
				fprintf(stderr, "vmfs-server: queue %u disabled: the guest %s\n", qi, q->why);
			b->said_broken[qi] = true;
			return;
		}
		take(b, qi);
	}
}

static void flush(struct bridge *b)
{
	while (!b->srv_dead && out_waiting(b)) {
		ssize_t r = write(b->srv, b->out + b->out_off, out_waiting(b));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				server_gone(b, strerror(errno));
			return;
		}
		b->out_off += (size_t)r;
	}
	if (b->out_off == b->out_len)
		b->out_off = b->out_len = 0;
}

/* One whole reply from the server: back to the request it answers. */
static void complete(struct bridge *b, struct fuse_out_header *h)
{
	uint64_t tag = h->unique;
	uint32_t idx = (uint32_t)tag - 1, gen = (uint32_t)(tag >> 32);
	if (tag == 0)
		return; /* a notification: no notification queue on this device */
	if ((uint32_t)tag == 0 || idx >= b->np || !b->p[idx].busy || b->p[idx].gen != gen) {
		if (b->stray++ == 0)
			fprintf(stderr, "vmfs-server: dropping a reply that matches no request\n");
		return;
	}
	struct pend *p = &b->p[idx];
	if (deliverable(b, p)) {
		h->unique = p->unique;
		push(b, p->q, p->head, vq_buf_to_iov(p->in, p->nin, h, h->len));
	}
	slot_free(b, idx);
}

static void receive(struct bridge *b)
{
	for (;;) {
		ssize_t r = read(b->srv, b->in + b->in_len, IN_CAP - b->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			server_gone(b, r == 0 ? "it closed its end" : strerror(errno));
			return;
		}
		b->in_len += (size_t)r;
		size_t off = 0;
		while (b->in_len - off >= sizeof(struct fuse_out_header)) {
			struct fuse_out_header h;
			memcpy(&h, b->in + off, sizeof(h));
			if (h.len < sizeof(h) || h.len > FSGW_MAX_MSG) {
				server_gone(b, "it sent a reply of impossible length");
				return;
			}
			if (b->in_len - off < h.len)
				break;
			complete(b, (struct fuse_out_header *)(void *)(b->in + off));
			off += h.len;
		}
		memmove(b->in, b->in + off, b->in_len - off);
		b->in_len -= off;
	}
}

static void interrupt_guest(struct bridge *b)
{
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++) {
		struct vq *q = &b->dev.q[i];
		if (!b->notify[i])
			continue;
		b->notify[i] = false;
		if (q->call >= 0 && vq_wants_interrupt(q)) {
			uint64_t one = 1;
			if (write(q->call, &one, sizeof(one)) < 0 && errno != EAGAIN)
				fprintf(stderr, "vmfs-server: signalling queue %u: %s\n", i, strerror(errno));
		}
	}
}

/* One control message from QEMU. 0 = go on, 1 = QEMU left, -1 = error. */
static int control(struct bridge *b)
{
	struct vu_msg m, reply;
	int fds[VU_MAX_FDS];
	unsigned nfds;
	char why[200];
	int r = vu_recv(b->sock, &m, fds, &nfds, why, sizeof(why));
	if (r == 0)
		return 1;
	if (r > 0)
		r = vu_handle(&b->dev, &m, fds, nfds, &reply, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "vmfs-server: vhost-user: %s\n", why);
		return -1;
	}
	if (r > 0 && vu_send(b->sock, &reply) < 0) {
		fprintf(stderr, "vmfs-server: vhost-user: replying: %s\n", strerror(errno));
		return -1;
	}
	/* A queue may just have started with requests already on it. */
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		if (b->dev.q[i].started && b->dev.q[i].enabled)
			b->more[i] = true;
	return 0;
}

static int accept_qemu(int listen_fd, uid_t peer_uid, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "vmfs-server: accept: %s\n", strerror(errno));
			return -1;
		}
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
		    (cr.uid == peer_uid || cr.uid == 0))
			return c;
		fprintf(stderr, "vmfs-server: refusing a connection from uid %u pid %d (QEMU runs as %u)\n",
			(unsigned)cr.uid, (int)cr.pid, (unsigned)peer_uid);
		close(c);
	}
	return -1;
}

static int loop(struct bridge *b, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		struct pollfd pf[2 + VU_MAX_QUEUES];
		unsigned qof[2 + VU_MAX_QUEUES];
		nfds_t n = 0;
		bool room = out_waiting(b) < OUT_HIGH, more = false;
		pf[n++] = (struct pollfd){ b->sock, POLLIN, 0 };
		pf[n++] = (struct pollfd){ b->srv, (short)(POLLIN | (out_waiting(b) ? POLLOUT : 0)), 0 };
		for (unsigned i = 0; i < VU_MAX_QUEUES; i++) {
			const struct vq *q = &b->dev.q[i];
			more |= b->more[i];
			if (room && q->started && q->enabled && q->kick >= 0 && !q->broken) {
				qof[n] = i;
				pf[n++] = (struct pollfd){ q->kick, POLLIN, 0 };
			}
		}
		if (poll(pf, n, room && more ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmfs-server: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pf[0].revents) {
			/* It may have closed or replaced the kick fds polled
			 * above: skip them this round (it marked the queues). */
			int r = control(b);
			if (r)
				return r > 0 ? 0 : 1;
			n = 2;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR))
			receive(b);
		for (nfds_t k = 2; k < n; k++) {
			uint64_t v;
			if (pf[k].revents && read(pf[k].fd, &v, sizeof(v)) >= 0)
				b->more[qof[k]] = true;
		}
		for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
			if (b->more[i] && out_waiting(b) < OUT_HIGH)
				drain(b, i);
		flush(b);
		interrupt_guest(b);
	}
	return 0;
}

int fsgw_bridge_run(int listen_fd, uid_t peer_uid, int srv, volatile sig_atomic_t *stop)
{
	struct bridge *b = calloc(1, sizeof(*b));
	int rc = 1;
	if (b) {
		vu_init(&b->dev);
		b->srv = srv;
		srv = -1;
	}
	if (!b || !(b->out = malloc(OUT_CAP)) || !(b->in = malloc(IN_CAP))) {
		fprintf(stderr, "vmfs-server: out of memory\n");
		goto out;
	}
	if (fcntl(b->srv, F_SETFL, O_NONBLOCK) < 0) {
		fprintf(stderr, "vmfs-server: fcntl: %s\n", strerror(errno));
		goto out;
	}
	b->sock = accept_qemu(listen_fd, peer_uid, stop);
	close(listen_fd);
	if (b->sock < 0) {
		rc = *stop ? 0 : 1;
		goto out;
	}
	rc = loop(b, stop);
	close(b->sock);
	if (b->stray)
		fprintf(stderr, "vmfs-server: %llu replies matched no request\n", b->stray);
out:
	if (b) {
		if (b->srv >= 0)
			close(b->srv);
		for (uint32_t i = 0; i < b->np; i++)
			free(b->p[i].in);
		free(b->p);
		free(b->free);
		free(b->out);
		free(b->in);
		vu_free(&b->dev);
		free(b);
	}
	if (srv >= 0)
		close(srv);
	return rc;
}
