#include "vhost_user.h"

#include <errno.h>
#include <linux/vhost_types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Request numbers (vhost-user.rst, "Front-end message types"). */
enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
};

#define VU_VERSION 0x1u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD 0x100u

#define F_PROTOCOL_FEATURES (1ull << 30)
#define F_VERSION_1 (1ull << 32)
#define F_INDIRECT_DESC (1ull << 28)
#define PF_MQ (1ull << 0)
#define PF_REPLY_ACK (1ull << 3)

/* Offered: modern virtio, indirect chains (a 1 MiB request is ~260
 * segments: one ring slot instead of 260), and the protocol features
 * below. No dirty logging (no migration), no packed rings, no event idx. */
#define OUR_FEATURES (F_VERSION_1 | F_INDIRECT_DESC | F_PROTOCOL_FEATURES)
#define OUR_PROTOCOL (PF_MQ | PF_REPLY_ACK)

struct vu_region_msg {
	uint64_t gpa, size, uva, mmap_offset;
};

void vu_init(struct vu_dev *d)
{
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		d->q[i].kick = d->q[i].call = -1;
}

static void unmap_all(struct vq_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
	m->n = 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vu_free(struct vu_dev *d)
{
	unmap_all(&d->mem);
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++) {
		close_fd(&d->q[i].kick);
		close_fd(&d->q[i].call);
	}
}

static int set_mem_table(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds,
			 struct vj_err *err)
{
	uint32_t n;
	if (m->size < 8)
		return vj_err_set(err, EPROTO, "SET_MEM_TABLE of %u bytes", m->size);
	memcpy(&n, m->p.bytes, 4);
	if (n == 0 || n > VQ_MAX_REGIONS || n != nfds || m->size < 8 + n * sizeof(struct vu_region_msg))
		return vj_err_set(err, EPROTO, "SET_MEM_TABLE with %u regions, %u fds, %u bytes", n, nfds,
			    m->size);
	struct vq_mem nm = { .n = 0, .gen = d->mem.gen + 1 };
	for (uint32_t i = 0; i < n; i++) {
		struct vu_region_msg r;
		memcpy(&r, m->p.bytes + 8 + i * sizeof(r), sizeof(r));
		if (r.size == 0 || r.gpa + r.size < r.gpa || r.uva + r.size < r.uva ||
		    r.mmap_offset + r.size < r.mmap_offset || r.mmap_offset + r.size > SIZE_MAX) {
			unmap_all(&nm);
			return vj_err_set(err, EPROTO, "SET_MEM_TABLE region %u has impossible bounds", i);
		}
		size_t len = (size_t)(r.mmap_offset + r.size);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i], 0);
		if (p == MAP_FAILED) {
			vj_err_sys(err, errno, "mapping guest memory region %u (%llu MiB)", i,
				   (unsigned long long)(r.size >> 20));
			unmap_all(&nm);
			return -1;
		}
		nm.r[nm.n++] = (struct vq_region){ .gpa = r.gpa, .size = r.size, .uva = r.uva,
						   .host = (uint8_t *)p + r.mmap_offset, .map = p,
						   .map_len = len };
	}
	unmap_all(&d->mem);
	d->mem = nm;
	/* Rings live in guest memory: re-point the queues into the new map. */
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		if (d->q[i].addr_set)
			vq_map_rings(&d->q[i], &d->mem);
	return 0;
}

/* The queue a vring message names, or NULL (err set). */
static struct vq *queue_of(struct vu_dev *d, uint32_t index, struct vj_err *err)
{
	if (index >= VU_MAX_QUEUES) {
		vj_err_set(err, EPROTO, "queue %u (we have %u)", index, VU_MAX_QUEUES);
		return NULL;
	}
	return &d->q[index];
}

static int need(const struct vu_msg *m, uint32_t size, struct vj_err *err)
{
	if (m->size < size)
		return vj_err_set(err, EPROTO, "request %u with %u bytes, needs %u", m->request, m->size, size);
	return 0;
}

/* SET_VRING_KICK / CALL / ERR: u64 index | NOFD flag, plus the fd. */
static int vring_fd(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds,
		    struct vj_err *err)
{
	if (need(m, 8, err))
		return -1;
	struct vq *q = queue_of(d, (uint32_t)(m->p.u64 & VU_VRING_IDX_MASK), err);
	if (!q)
		return -1;
	bool nofd = m->p.u64 & VU_VRING_NOFD;
	if (nofd != (nfds == 0) || nfds > 1)
		return vj_err_set(err, EPROTO, "vring fd message with %u fds and NOFD=%d", nfds, nofd);
	int fd = -1;
	if (nfds) {
		fd = fds[0];
		fds[0] = -1; /* ours now: the caller must not close it */
	}
	switch (m->request) {
	case VU_SET_VRING_KICK:
		if (fd < 0)
			return vj_err_set(err, EPROTO, "queue %u without a kick fd (polling unsupported)",
				    (unsigned)(q - d->q));
		close_fd(&q->kick);
		q->kick = fd;
		q->started = true;
		/* Without protocol features a queue runs once it has a kick. */
		if (!(d->features & F_PROTOCOL_FEATURES))
			q->enabled = true;
		break;
	case VU_SET_VRING_CALL:
		close_fd(&q->call);
		q->call = fd;
		break;
	default: /* VU_SET_VRING_ERR: we never signal errors that way */
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

static int vring_msg(struct vu_dev *d, const struct vu_msg *m, struct vu_msg *reply, struct vj_err *err)
{
	if (m->request == VU_SET_VRING_ADDR) {
		struct vhost_vring_addr a;
		if (need(m, sizeof(a), err))
			return -1;
		memcpy(&a, m->p.bytes, sizeof(a));
		struct vq *q = queue_of(d, a.index, err);
		if (!q)
			return -1;
		if (!q->num)
			return vj_err_set(err, EPROTO, "SET_VRING_ADDR before SET_VRING_NUM (queue %u)", a.index);
		q->desc_uva = a.desc_user_addr;
		q->avail_uva = a.avail_user_addr;
		q->used_uva = a.used_user_addr;
		q->addr_set = true;
		q->broken = false;
		if (!vq_map_rings(q, &d->mem))
			return vj_err_set(err, EPROTO, "queue %u: %s", a.index, q->why);
		return 0;
	}
	struct vhost_vring_state s;
	if (need(m, sizeof(s), err))
		return -1;
	memcpy(&s, m->p.bytes, sizeof(s));
	struct vq *q = queue_of(d, s.index, err);
	if (!q)
		return -1;
	switch (m->request) {
	case VU_SET_VRING_NUM:
		if (s.num == 0 || s.num > VQ_MAX_NUM || (s.num & (s.num - 1)))
			return vj_err_set(err, EPROTO, "queue %u of size %u", s.index, s.num);
		q->num = (uint16_t)s.num;
		return 0;
	case VU_SET_VRING_BASE:
		q->last_avail = (uint16_t)s.num;
		return 0;
	case VU_SET_VRING_ENABLE:
		q->enabled = s.num != 0;
		return 0;
	default: /* VU_GET_VRING_BASE: stop the queue, say where it stands */
		q->started = false;
		q->enabled = false;
		close_fd(&q->kick);
		s.num = q->last_avail;
		memcpy(reply->p.bytes, &s, sizeof(s));
		reply->size = sizeof(s);
		return 1;
	}
}

static void reply_u64(struct vu_msg *reply, uint64_t v)
{
	reply->p.u64 = v;
	reply->size = 8;
}

int vu_handle(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds,
	      struct vu_msg *reply, struct vj_err *err)
{
	*reply = (struct vu_msg){ .request = m->request, .flags = VU_VERSION | VU_FLAG_REPLY };
	int rc = 0;
	switch (m->request) {
	case VU_GET_FEATURES:
		reply_u64(reply, OUR_FEATURES);
		rc = 1;
		break;
	case VU_SET_FEATURES:
		if ((rc = need(m, 8, err)) == 0) {
			d->features = m->p.u64 & OUR_FEATURES;
			for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
				d->q[i].indirect = d->features & F_INDIRECT_DESC;
		}
		break;
	case VU_GET_PROTOCOL_FEATURES:
		reply_u64(reply, OUR_PROTOCOL);
		rc = 1;
		break;
	case VU_SET_PROTOCOL_FEATURES:
		if ((rc = need(m, 8, err)) == 0)
			d->protocol = m->p.u64 & OUR_PROTOCOL;
		break;
	case VU_GET_QUEUE_NUM:
		reply_u64(reply, VU_MAX_QUEUES);
		rc = 1;
		break;
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
		break;
	case VU_SET_MEM_TABLE:
		rc = set_mem_table(d, m, fds, nfds, err);
		break;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_ADDR:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		rc = vring_msg(d, m, reply, err);
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		rc = vring_fd(d, m, fds, nfds, err);
		break;
	default:
		/* Not offered, so QEMU should not send it; a request that wants
		 * an answer we cannot give ends the connection. */
		if (m->request >= sizeof(d->unsupported) || !d->unsupported[m->request]) {
			if (m->request < sizeof(d->unsupported))
				d->unsupported[m->request] = 1;
			fprintf(stderr, "vmfs-server: ignoring vhost-user request %u\n", m->request);
		}
		break;
	}
	/* What a handler kept it took out of fds; the rest (and a memory
	 * table's fds: the mappings hold the memory) are closed here. */
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc == 0 && (m->flags & VU_FLAG_NEED_REPLY) && (d->protocol & PF_REPLY_ACK)) {
		reply_u64(reply, 0);
		rc = 1;
	}
	return rc;
}

int vu_recv(int sock, struct vu_msg *m, int *fds, unsigned *nfds, struct vj_err *err)
{
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	struct iovec iov = { m, VU_HDR };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	*nfds = 0;
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (r < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VU_MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return 0;
	if (r < 0 || (size_t)r != VU_HDR || (mh.msg_flags & MSG_CTRUNC) ||
	    (m->flags & 0x3u) != VU_VERSION || m->size > VU_MAX_PAYLOAD) {
		int e = r < 0 ? errno : 0;
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		if (e)
			return vj_err_sys(err, e, "reading a vhost-user message");
		return vj_err_set(err, EPROTO, "bad vhost-user header (%zd bytes, flags %#x, size %u)", r,
			    (unsigned)m->flags, (unsigned)m->size);
	}
	size_t got = 0;
	while (got < m->size) {
		r = read(sock, m->p.bytes + got, m->size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			for (unsigned i = 0; i < *nfds; i++)
				close(fds[i]);
			*nfds = 0;
			return vj_err_set(err, EPROTO, "vhost-user message %u cut short", m->request);
		}
		got += (size_t)r;
	}
	return 1;
}

int vu_send(int sock, const struct vu_msg *m)
{
	return vu_send_fds(sock, m, NULL, 0);
}

bool vu_forwarded(uint32_t request)
{
	/* Feature queries are the bridge's alone; everything that changes
	 * the device the server must see, in QEMU's order. */
	return request != VU_GET_FEATURES && request != VU_GET_PROTOCOL_FEATURES &&
	       request != VU_GET_QUEUE_NUM && request != VU_SET_OWNER && request != VU_RESET_OWNER;
}

bool vu_server_replies(uint32_t request)
{
	return request == VU_GET_VRING_BASE;
}

void vu_no_ack(struct vu_msg *m)
{
	m->flags &= ~VU_FLAG_NEED_REPLY;
}

int vu_send_fds(int sock, const struct vu_msg *m, const int *fds, unsigned nfds)
{
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))] = { 0 };
	struct iovec iov[2] = { { (void *)m, VU_HDR }, { (void *)m->p.bytes, m->size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (nfds > VU_MAX_FDS)
		return -1;
	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)(VU_HDR + m->size) ? 0 : -1;
}

void vu_notify(struct vq *q)
{
	if (q->call >= 0 && vq_wants_interrupt(q)) {
		uint64_t one = 1;
		if (write(q->call, &one, sizeof(one)) < 0 && errno != EAGAIN)
			fprintf(stderr, "vmfs-server: signalling the guest: %s\n", strerror(errno));
	}
}

void vu_report_broken(struct vq *q, unsigned index)
{
	if (q->broken && !q->reported)
		fprintf(stderr, "vmfs-server: queue %u disabled: the guest %s\n", index, q->why);
	q->reported = q->broken;
}
