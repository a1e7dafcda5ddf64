/* The custom I/O libfuse reads requests through: one whole FUSE message per
 * read from the byte stream of the virtio-serial channel, checked by
 * fsgw_validate before libfuse sees it. Requests we refuse are answered
 * here. Single reader and writer (the server is single-threaded), so no
 * locking. */
#include "fsgw.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

/* Read exactly n bytes. Returns n, 0 on EOF before the first byte, or -1
 * (EIO for EOF inside a message). EINTR before the first byte is returned
 * so libfuse can notice a signal-driven exit; inside a message we carry on,
 * or the stream would lose its framing. */
static ssize_t read_exact(int fd, void *buf, size_t n, bool at_start)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0) {
			if (errno == EINTR && (got > 0 || !at_start))
				continue;
			return -1;
		}
		if (r == 0) {
			if (got == 0 && at_start)
				return 0;
			errno = EIO;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_all(int fd, struct iovec *iov, int count)
{
	while (count > 0) {
		ssize_t r = writev(fd, iov, count);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (count > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static void refuse(struct fsgw_chan *c, uint64_t unique, int err)
{
	struct fuse_out_header out = { .len = sizeof(out), .error = -err, .unique = unique };
	struct iovec iov = { &out, sizeof(out) };
	(void)write_all(c->wfd, &iov, 1);  /* a dead peer shows up as EOF on read */
}

ssize_t fsgw_chan_read(int fd, void *buf, size_t len, void *fsgw)
{
	struct fsgw_chan *c = &((struct fsgw *)fsgw)->chan;
	size_t max = len < FSGW_MAX_MSG ? len : FSGW_MAX_MSG;
	for (;;) {
		struct fuse_in_header *h = buf;
		ssize_t r = read_exact(fd, h, sizeof(*h), true);
		if (r == 0) {
			errno = ENODEV;  /* guest side closed: libfuse ends the loop cleanly */
			return -1;
		}
		if (r < 0)
			return -1;
		if (h->len < sizeof(*h) || h->len > max) {
			/* The length is all the framing there is: past this the
			 * stream cannot be trusted, so the session ends. */
			fprintf(stderr, "vmfs-server: request of %u bytes (limit %zu): closing the channel\n",
				h->len, max);
			errno = EPROTO;
			return -1;
		}
		if (read_exact(fd, h + 1, h->len - sizeof(*h), false) != (ssize_t)(h->len - sizeof(*h))) {
			if (errno == 0)
				errno = EIO;
			return -1;
		}
		int err = 0;
		enum fsgw_verdict v = fsgw_validate(&c->v, buf, h->len, &err);
		if (v == FSGW_PASS)
			return h->len;
		c->refused++;
		c->last_refused = h->opcode;
		if (v == FSGW_REPLY)
			refuse(c, h->unique, err);
	}
}

ssize_t fsgw_chan_writev(int fd, struct iovec *iov, int count, void *fsgw)
{
	(void)fsgw;
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	if (write_all(fd, iov, count) < 0)
		return -1;
	return (ssize_t)total;
}
