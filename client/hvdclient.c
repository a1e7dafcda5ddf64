/* Connect, credential, one request and its reply (hvdclient.h). */
#include "hvdclient.h"
#include "hvdexec.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "cred.h"
#include "names.h"
#include "reqcred.h"

int vj_hvd_connect(const char *path, struct vj_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vj_err_set(err, ENAMETOOLONG, "hvd socket path too long: %s", path);
	strcpy(sa.sun_path, path);

	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_err_sys(err, errno, "socket");
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int e = errno;
		/* The one failure every user will meet when the daemon is down:
		 * say what to check rather than just the errno. */
		if (e == ENOENT || e == ECONNREFUSED)
			return vj_err_set(err, VJ_HVD_UNREACHABLE,
					  "cannot reach hvd at %s (is hvd running?)", path);
		return vj_err_sys(err, e, "cannot reach hvd at %s", path);
	}
	return vj_steal_fd(fd);
}

/* "what the credential vouches for" (VJ_CRED_FMT) for this type and payload. */
static int cred_payload(uint16_t type, const void *p, size_t len, char *out, size_t outsz,
			struct vj_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(p ? p : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return vj_err_set(err, EIO, "cannot hash the %s request (libcrypto)",
				  vj_type_name(type));
	char hex[VJ_SHA256_SZ];
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, outsz, VJ_CRED_FMT, (unsigned)type, hex);
	return 0;
}

int vj_hvd_send(int fd, uint16_t type, const struct vj_kvbuf *req, struct vj_err *err)
{
	if (req && req->oom)
		return vj_err_set(err, ENOMEM, "building the %s request: out of memory",
				  vj_type_name(type));
	const uint8_t *body = req ? req->data : NULL;
	size_t blen = req ? req->len : 0;
	char what[160];
	if (cred_payload(type, body, blen, what, sizeof(what), err))
		return -1;
	cleanup_free char *cred = vj_hvd_cred(what, err);
	if (!cred)
		return -1;
	/* kv payloads are concatenated entries: the request's, then the cred. */
	cleanup_kv struct vj_kvbuf tail = VJ_KV_INIT;
	vj_kv_add_str(&tail, VJ_CRED_KEY, cred);
	cleanup_free uint8_t *frame = tail.oom ? NULL : malloc(blen + tail.len);
	if (!frame)
		return vj_err_set(err, ENOMEM, "building the %s request: out of memory",
				  vj_type_name(type));
	if (blen)
		memcpy(frame, body, blen);
	memcpy(frame + blen, tail.data, tail.len);
	if (vj_frame_write(fd, type, 0, frame, blen + tail.len, err) < 0)
		return vj_err_prefix(err, "sending %s to hvd", vj_type_name(type));
	return 0;
}

int vj_hvd_request(int fd, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		   struct vj_frame *reply, struct vj_err *err)
{
	if (vj_hvd_send(fd, type, req, err))
		return -1;

	struct vj_reader r;
	vj_reader_init(&r, VJ_FRAME_MAX);
	struct vj_frame f;
	struct vj_err rerr;
	int rc = vj_frame_read(fd, &r, &f, timeout_ms, &rerr);
	vj_reader_free(&r);
	if (rc == 0)
		return vj_err_set(err, VJ_HVD_HUNG_UP, "hvd closed the connection during %s",
				  vj_type_name(type));
	if (rc < 0 && rerr.code == ETIMEDOUT)
		return vj_err_set(err, ETIMEDOUT, "no answer from hvd to %s after %d s",
				  vj_type_name(type), timeout_ms / 1000);
	if (rc < 0) {
		if (err)
			*err = rerr;
		return vj_err_prefix(err, "reading hvd's answer to %s", vj_type_name(type));
	}
	cleanup_free uint8_t *payload = f.payload;

	if (f.type == VJ_REPLY_OK) {
		if (reply) {
			*reply = f;
			reply->payload = vj_steal_ptr(payload);
		}
		return 0;
	}
	if (f.type == VJ_REPLY_ERR || f.type == VJ_ERROR) {
		char msg[sizeof(err->msg)];
		if (vj_kv_get_str(f.payload, f.len, "msg", msg, sizeof(msg), "hvd refused the request",
				  NULL) < 0)
			strcpy(msg, "hvd refused the request (unreadable reason)");
		return vj_err_set(err, VJ_HVD_REFUSED, "%s", msg);
	}
	return vj_err_set(err, EPROTO, "unexpected %s frame from hvd in reply to %s",
			  vj_type_name(f.type), vj_type_name(type));
}

int vj_hvd_call(const char *path, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		struct vj_frame *reply, struct vj_err *err)
{
	cleanup_close int fd = vj_hvd_connect(path, err);
	if (fd < 0)
		return -1;
	return vj_hvd_request(fd, type, req, timeout_ms, reply, err);
}

/* hvdexec.h; here, not in exec.c, so that the relay links without munge
 * (the guest's vmjob-hostcmd uses it). */
int vj_exec_start(const char *path, const struct vj_kvbuf *kv, struct vj_err *err)
{
	cleanup_close int sock = vj_hvd_connect(path, err);
	if (sock < 0)
		return -1;
	if (vj_hvd_send(sock, VJ_REQ_EXEC, kv, err) < 0)
		return -1;
	return vj_steal_fd(sock);
}

int vj_exec_start_wait(const char *path, const struct vj_kvbuf *kv, unsigned wait_s,
		       struct vj_err *err)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		vj_err_clear(err);
		int sock = vj_exec_start(path, kv, err);
		if (sock >= 0 || !vj_hvd_gone(err))
			return sock;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)wait_s)
			return -1;
		struct timespec pause = {0, 250 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}
