#include "hvdclient.h"

#include <errno.h>
#include <munge.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "reqcred.h"
#include "names.h"

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

/* A munge credential for this request, malloc'd (munge's), or NULL + err. */
static char *make_cred(uint16_t type, const void *p, size_t len, struct vj_err *err)
{
	char what[160];
	if (cred_payload(type, p, len, what, sizeof(what), err))
		return NULL;
	munge_ctx_t ctx = munge_ctx_create();
	if (!ctx) {
		vj_err_set(err, ENOMEM, "cannot get a munge credential: out of memory");
		return NULL;
	}
	/* Only root (hvd) may decode it: no other local service can be handed a
	 * credential meant for hvd and take it for its own. */
	munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, (uid_t)0);
	char *cred = NULL;
	munge_err_t e = munge_encode(&cred, ctx, what, (int)strlen(what));
	if (e != EMUNGE_SUCCESS) {
		const char *why = munge_ctx_strerror(ctx);
		vj_err_set(err, VJ_HVD_NO_CRED, "cannot get a munge credential (is munged running?): %s",
			   why ? why : munge_strerror(e));
		free(cred);
		cred = NULL;
	}
	munge_ctx_destroy(ctx);
	return cred;
}

int vj_hvd_send(int fd, uint16_t type, const struct vj_kvbuf *req, struct vj_err *err)
{
	if (req && req->oom)
		return vj_err_set(err, ENOMEM, "building the %s request: out of memory",
				  vj_type_name(type));
	const uint8_t *body = req ? req->data : NULL;
	size_t blen = req ? req->len : 0;
	cleanup_free char *cred = make_cred(type, body, blen, err);
	if (!cred)
		return -1;
	/* kv payloads are concatenated entries: the request's, then the cred. */
	struct vj_kvbuf tail;
	vj_kv_init(&tail);
	vj_kv_add_str(&tail, VJ_CRED_KEY, cred);
	cleanup_free uint8_t *frame = tail.oom ? NULL : malloc(blen + tail.len);
	if (!frame) {
		vj_kv_free(&tail);
		return vj_err_set(err, ENOMEM, "building the %s request: out of memory",
				  vj_type_name(type));
	}
	if (blen)
		memcpy(frame, body, blen);
	memcpy(frame + blen, tail.data, tail.len);
	size_t flen = blen + tail.len;
	vj_kv_free(&tail);
	if (vj_frame_write(fd, type, 0, frame, flen, err) < 0)
		return vj_err_prefix(err, "sending %s to hvd", vj_type_name(type));
	return 0;
}

int vj_hvd_request(int fd, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		   struct vj_frame *reply, struct vj_err *err)
{
	if (vj_hvd_send(fd, type, req, err))
		return -1;

	struct vj_reader r;
	int rc;
	vj_reader_init(&r, VJ_FRAME_MAX);
	struct vj_frame f;
	rc = vj_frame_read(fd, &r, &f, timeout_ms, err);
	vj_reader_free(&r);
	if (rc == 0) {
		vj_err_set(err, VJ_HVD_UNREACHABLE, "hvd closed the connection during %s",
			   vj_type_name(type));
		return -1;
	}
	if (rc < 0 && err->code == ETIMEDOUT)
		return vj_err_set(err, ETIMEDOUT, "no answer from hvd to %s after %d s",
				  vj_type_name(type), timeout_ms / 1000);
	if (rc < 0)
		return vj_err_prefix(err, "reading hvd's answer to %s", vj_type_name(type));

	if (f.type == VJ_REPLY_OK) {
		if (reply)
			*reply = f;
		else
			free(f.payload);
		return 0;
	}
	if (f.type == VJ_REPLY_ERR || f.type == VJ_ERROR) {
		char msg[sizeof(err->msg)];
		struct vj_err kerr;
		if (vj_kv_get_str(f.payload, f.len, "msg", msg, sizeof(msg), "hvd refused the request",
				  &kerr) < 0)
			strcpy(msg, "hvd refused the request (unreadable reason)");
		free(f.payload);
		return vj_err_set(err, VJ_HVD_REFUSED, "%s", msg);
	}
	uint16_t got = f.type;
	free(f.payload);
	return vj_err_set(err, EPROTO, "unexpected %s frame from hvd in reply to %s",
			  vj_type_name(got), vj_type_name(type));
}

int vj_hvd_call(const char *path, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		struct vj_frame *reply, struct vj_err *err)
{
	cleanup_close int fd = vj_hvd_connect(path, err);
	if (fd < 0)
		return -1;
	return vj_hvd_request(fd, type, req, timeout_ms, reply, err);
}
