#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}
static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

long vj_frame_parse(const uint8_t *buf, size_t n, struct vj_frame *f, uint32_t max)
{
	if (n < VJ_FRAME_HDR)
		return 0;
	uint32_t len = get_le32(buf);
	if (len > max)
		return -1;
	if (n - VJ_FRAME_HDR < len)
		return 0;
	f->len = len;
	f->type = get_le16(buf + 4);
	f->flags = get_le16(buf + 6);
	f->stream = get_le32(buf + 8);
	f->payload = (uint8_t *)buf + VJ_FRAME_HDR;
	return (long)(VJ_FRAME_HDR + len);
}

int vj_write_all(int fd, const void *buf, size_t len, struct vj_err *err)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = {.fd = fd, .events = POLLOUT};
				poll(&pfd, 1, -1);
				continue;
			}
			return vj_err_sys(err, errno, "write");
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void vj_frame_header(uint8_t hdr[VJ_FRAME_HDR], uint16_t type, uint32_t stream, uint32_t len)
{
	put_le32(hdr, len);
	put_le16(hdr + 4, type);
	put_le16(hdr + 6, 0);
	put_le32(hdr + 8, stream);
}

int vj_frame_write(int fd, uint16_t type, uint32_t stream, const void *payload, size_t len,
		   struct vj_err *err)
{
	if (len > VJ_FRAME_MAX)
		return vj_err_set(err, EMSGSIZE, "a %s frame of %zu bytes is over the %u-byte limit",
				  vj_type_name(type), len, VJ_FRAME_MAX);
	uint8_t hdr[VJ_FRAME_HDR];
	vj_frame_header(hdr, type, stream, (uint32_t)len);
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, len}};
	int cnt = len ? 2 : 1;
	size_t total = sizeof(hdr) + len;
	ssize_t w;
	do
		w = writev(fd, iov, cnt);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno != EAGAIN)
		return vj_err_sys(err, errno, "write");
	if (w < 0)
		w = 0;
	if ((size_t)w == total)
		return 0;
	/* Short write: finish the rest piecewise. */
	size_t done = (size_t)w;
	if (done < sizeof(hdr)) {
		if (vj_write_all(fd, hdr + done, sizeof(hdr) - done, err))
			return -1;
		done = sizeof(hdr);
	}
	return vj_write_all(fd, (const uint8_t *)payload + (done - sizeof(hdr)), total - done, err);
}

void vj_reader_init(struct vj_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max ? max : VJ_FRAME_MAX;
}

void vj_reader_free(struct vj_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

long vj_reader_fill(struct vj_reader *r, int fd, struct vj_err *err)
{
	if (r->cap - r->len < 65536) {
		size_t ncap = r->cap ? r->cap * 2 : 131072;
		size_t limit = (size_t)r->max + VJ_FRAME_HDR + 65536;
		if (ncap > limit)
			ncap = limit;
		if (ncap > r->cap) {
			uint8_t *nb = realloc(r->buf, ncap);
			if (!nb)
				return vj_err_set(err, ENOMEM, "out of memory reading frames");
			r->buf = nb;
			r->cap = ncap;
		}
	}
	if (r->len == r->cap)
		return vj_err_set(err, ENOBUFS, "frame buffer full"); /* next() drains first */
	ssize_t n;
	do
		n = read(fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vj_err_sys(err, errno, "read");
	r->len += (size_t)n;
	return n;
}

int vj_reader_next(struct vj_reader *r, struct vj_frame *f)
{
	struct vj_frame tmp;
	long used = vj_frame_parse(r->buf, r->len, &tmp, r->max);
	if (used < 0)
		return -1;
	if (used == 0)
		return 0;
	uint8_t *copy = malloc(tmp.len + 1);
	if (!copy)
		return -1;
	memcpy(copy, tmp.payload, tmp.len);
	copy[tmp.len] = '\0';
	*f = tmp;
	f->payload = copy;
	memmove(r->buf, r->buf + used, r->len - (size_t)used);
	r->len -= (size_t)used;
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vj_frame_read(int fd, struct vj_reader *r, struct vj_frame *f, int timeout_ms,
		  struct vj_err *err)
{
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	for (;;) {
		int rc = vj_reader_next(r, f);
		if (rc < 0)
			return vj_err_set(err, EPROTO, "malformed frame");
		if (rc > 0)
			return 1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return vj_err_set(err, ETIMEDOUT, "no frame within %d ms", timeout_ms);
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = poll(&pfd, 1, (int)left);
			if (pr < 0 && errno != EINTR)
				return vj_err_sys(err, errno, "poll");
			if (pr <= 0)
				continue;
		}
		struct vj_err ferr;
		long n = vj_reader_fill(r, fd, &ferr);
		if (n < 0 && ferr.code == EAGAIN)
			continue;
		if (n < 0) {
			if (err)
				*err = ferr;
			return -1;
		}
		if (n == 0)
			return r->len ? vj_err_set(err, EPROTO, "the stream ended inside a frame") : 0;
	}
}

const char *vj_type_name(uint16_t type)
{
	switch (type) {
	case VJ_HELLO: return "HELLO";
	case VJ_EXEC: return "EXEC";
	case VJ_STARTED: return "STARTED";
	case VJ_STDIN: return "STDIN";
	case VJ_STDOUT: return "STDOUT";
	case VJ_STDERR: return "STDERR";
	case VJ_SIGNAL: return "SIGNAL";
	case VJ_WINSIZE: return "WINSIZE";
	case VJ_EXIT: return "EXIT";
	case VJ_ERROR: return "ERROR";
	case VJ_HOSTCMD: return "HOSTCMD";
	case VJ_FLOW: return "FLOW";
	case VJ_REQ_CREATE: return "CREATE";
	case VJ_REQ_DESTROY: return "DESTROY";
	case VJ_REQ_LIST: return "LIST";
	case VJ_REQ_EXEC: return "REQ_EXEC";
	case VJ_REQ_STATUS: return "STATUS";
	case VJ_REQ_IMAGES: return "IMAGES";
	case VJ_REQ_PULL: return "PULL";
	case VJ_REQ_EVICT: return "EVICT";
	case VJ_REQ_DRAIN: return "DRAIN";
	case VJ_REQ_RESUME: return "RESUME";
	case VJ_REQ_VMS: return "VMS";
	case VJ_REQ_CATALOGUE: return "CATALOGUE";
	case VJ_REPLY_OK: return "OK";
	case VJ_REPLY_ERR: return "ERR";
	case VJ_RELAY_EXEC: return "RELAY_EXEC";
	case VJ_RELAY_END_ALL: return "RELAY_END_ALL";
	case VJ_RELAY_ENDING: return "RELAY_ENDING";
	case VJ_RELAY_SAMPLED: return "RELAY_SAMPLED";
	default: return "UNKNOWN";
	}
}
