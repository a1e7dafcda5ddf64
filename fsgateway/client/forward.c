/* The pump. Several threads read /dev/fuse (so one slow request never
 * holds up the others: the host answers out of order by unique id), each
 * writes its whole request to the port under a mutex; one thread reads
 * replies from the port and writes each to /dev/fuse. We remember which
 * requests are waiting for the host, so that when the host goes away they
 * can be failed with EIO instead of hanging their callers forever. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct pump {
	int fuse_fd, port_fd;
	pthread_mutex_t wlock;      /* one whole message at a time on the port */
	pthread_mutex_t lock;       /* dead + pending */
	bool dead, unmounted;
	uint64_t *pending;
	size_t npending, cap;
};

static void reply_err(struct pump *p, uint64_t unique, int err)
{
	struct fuse_out_header h = { .len = sizeof(h), .error = -err, .unique = unique };
	(void)!write(p->fuse_fd, &h, sizeof(h));  /* ENOENT: already interrupted */
}

/* Register unique as waiting for the host; false if the host is gone. */
static bool pending_add(struct pump *p, uint64_t unique)
{
	bool ok = false;
	pthread_mutex_lock(&p->lock);
	if (!p->dead) {
		if (p->npending == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			uint64_t *n = realloc(p->pending, cap * sizeof(*n));
			if (n) {
				p->pending = n;
				p->cap = cap;
			}
		}
		if (p->npending < p->cap) {
			p->pending[p->npending++] = unique;
			ok = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void pending_del(struct pump *p, uint64_t unique)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = p->npending; i-- > 0;)
		if (p->pending[i] == unique) {
			p->pending[i] = p->pending[--p->npending];
			break;
		}
	pthread_mutex_unlock(&p->lock);
}

/* The host is gone: fail everything it still owes us. */
static void go_dead(struct pump *p, const char *why)
{
	pthread_mutex_lock(&p->lock);
	if (!p->dead && !p->unmounted)
		fprintf(stderr, "vmfs-client: %s; failing requests with EIO\n", why);
	p->dead = true;
	for (size_t i = 0; i < p->npending; i++)
		reply_err(p, p->pending[i], EIO);
	p->npending = 0;
	pthread_mutex_unlock(&p->lock);
}

/* Wait until fd is ready for ev; false once the host end hung up. */
static bool wait_port(struct pump *p, short ev)
{
	for (;;) {
		struct pollfd f = { .fd = p->port_fd, .events = ev };
		int r = poll(&f, 1, 1000);
		if (r < 0 && errno != EINTR)
			return false;
		if (r > 0 && (f.revents & ev))
			return true;
		if (r > 0 && (f.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return false;
		if (__atomic_load_n(&p->dead, __ATOMIC_RELAXED))
			return false;
	}
}

/* Write first, poll only when the port is full: a poll before every write
 * doubled the syscalls per request, and syscalls are what a guest without
 * hardware virtualisation pays most for. */
static bool port_write(struct pump *p, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = write(p->port_fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!wait_port(p, POLLOUT))
				return false;
			continue;
		}
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}

/* The guest's virtio-serial driver hands out one 4 KiB receive buffer per
 * read() call, so a 128 KiB reply took 32 reads (and 32 polls). A read
 * vector of 4 KiB pieces takes every filled buffer in one readv (the
 * kernel moves to the next piece only after a full one). Returns bytes
 * read, 0 once the host end hung up. wait_first: poll before reading, when
 * the last read drained the port (one request at a time, the usual case
 * for metadata, would otherwise pay a read that fails with EAGAIN). */
#define PORT_CHUNK 4096u
#define PORT_VEC 64
static size_t port_fill(struct pump *p, char *dst, size_t room, bool wait_first)
{
	struct iovec iov[PORT_VEC];
	int n = 0;
	for (; n < PORT_VEC && room >= PORT_CHUNK; n++, room -= PORT_CHUNK)
		iov[n] = (struct iovec){ dst + (size_t)n * PORT_CHUNK, PORT_CHUNK };
	if (wait_first && !wait_port(p, POLLIN))
		return 0;
	for (;;) {
		ssize_t r = readv(p->port_fd, iov, n);
		if (r > 0)
			return (size_t)r;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && wait_port(p, POLLIN))
			continue;
		return 0;
	}
}

static bool expects_reply(uint32_t opcode)
{
	return opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET && opcode != FUSE_INTERRUPT;
}

static void *requests(void *arg)
{
	struct pump *p = arg;
	char *buf = malloc(VMFS_BUF);
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t n = read(p->fuse_fd, buf, VMFS_BUF);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			break;  /* ENODEV: unmounted */
		}
		if ((size_t)n < sizeof(struct fuse_in_header))
			continue;
		const struct fuse_in_header *h = (const void *)buf;
		bool reply = expects_reply(h->opcode);
		if (reply && !pending_add(p, h->unique)) {
			reply_err(p, h->unique, EIO);
			continue;
		}
		if (!reply && __atomic_load_n(&p->dead, __ATOMIC_RELAXED))
			continue;
		pthread_mutex_lock(&p->wlock);
		bool ok = port_write(p, buf, (size_t)n);
		pthread_mutex_unlock(&p->wlock);
		if (!ok)
			go_dead(p, "cannot write to the host channel");
	}
	pthread_mutex_lock(&p->lock);
	p->unmounted = true;
	pthread_mutex_unlock(&p->lock);
	free(buf);
	return NULL;
}

/* Replies arrive as one byte stream; each FUSE reply carries its length.
 * We read as much as the port holds into a buffer with room for the
 * largest reply plus a read vector, and hand every complete reply to the
 * kernel straight from it. */
#define RBUF_SIZE (VMFS_BUF + PORT_VEC * PORT_CHUNK)
static void *replies(void *arg)
{
	struct pump *p = arg;
	char *buf = malloc(RBUF_SIZE);
	size_t start = 0, end = 0;  /* unconsumed bytes: buf[start, end) */
	bool drained = true;
	while (buf) {
		/* A partial reply at the tail moves to the front when the rest
		 * might not fit behind it. */
		if (start > 0 && RBUF_SIZE - end < VMFS_BUF) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		size_t room = RBUF_SIZE - end;
		size_t got = port_fill(p, buf + end, room, drained);
		if (!got)
			break;
		/* Less than a full vector: the port was empty when we stopped. */
		drained = got < (room / PORT_CHUNK < PORT_VEC ? room / PORT_CHUNK : PORT_VEC) * PORT_CHUNK;
		end += got;
		bool bad = false;
		while (end - start >= sizeof(struct fuse_out_header)) {
			struct fuse_out_header h;
			memcpy(&h, buf + start, sizeof(h));
			if (h.len < sizeof(h) || h.len > VMFS_BUF) {
				fprintf(stderr, "vmfs-client: bad reply length %u from the host\n", h.len);
				bad = true;
				break;
			}
			if (end - start < h.len)
				break;
			if (h.unique)
				pending_del(p, h.unique);
			/* Errors here (ENOENT: the caller was interrupted) are
			 * the kernel's business; the stream stays in step. */
			(void)!write(p->fuse_fd, buf + start, h.len);
			start += h.len;
		}
		if (bad)
			break;
		if (start == end)
			start = end = 0;
	}
	free(buf);
	go_dead(p, "the host closed the filesystem channel");
	return NULL;
}

int vmfs_forward(int fuse_fd, int port_fd, int nthreads, struct vj_err *err)
{
	struct pump p = { .fuse_fd = fuse_fd, .port_fd = port_fd };
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_init(&p.wlock, NULL);
	/* Non-blocking port: a write to a port whose host end is gone would
	 * block forever; with poll we notice the hang-up and fail instead. */
	fcntl(port_fd, F_SETFL, fcntl(port_fd, F_GETFL) | O_NONBLOCK);
	pthread_t rt, wt[16];
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 16)
		nthreads = 16;
	int rc = pthread_create(&rt, NULL, replies, &p);
	if (rc)
		return vj_err_sys(err, rc, "cannot start the reply thread");
	int started = 0;
	for (int i = 0; i < nthreads; i++)
		if ((rc = pthread_create(&wt[i], NULL, requests, &p)) == 0)
			started++;
	if (!started)
		return vj_err_sys(err, rc, "cannot start a request thread");
	/* Any request thread returning means the mount is gone. */
	for (int i = 0; i < started; i++)
		pthread_join(wt[i], NULL);
	return 0;
}
