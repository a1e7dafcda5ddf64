/* Bytes waiting for a slow reader (ioq.h). The fd is non-blocking, so a
 * reader that never reads costs memory (capped by the caller) and never a
 * stalled writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioq.h"

int ioq_push(struct ioq *q, const void *data, size_t n)
{
	if (q->off && q->off + q->len + n > q->cap) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	if (q->len + n > q->cap) {
		size_t ncap = q->cap ? q->cap : 4096;
		while (ncap < q->len + n)
			ncap *= 2;
		uint8_t *nb = realloc(q->buf, ncap);
		if (!nb)
			return -1;
		q->buf = nb;
		q->cap = ncap;
	}
	memcpy(q->buf + q->off + q->len, data, n);
	q->len += n;
	return 0;
}

int ioq_flush(struct ioq *q, int fd)
{
	while (q->len) {
		ssize_t w = write(fd, q->buf + q->off, q->len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1; /* the reader is gone (EPIPE): the caller drops the queue */
		}
		q->off += (size_t)w;
		q->len -= (size_t)w;
	}
	q->off = 0;
	return 0;
}

void ioq_free(struct ioq *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}
