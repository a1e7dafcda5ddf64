#include "hvdclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

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

int vj_hvd_request(int fd, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		   struct vj_frame *reply, struct vj_err *err)
{
	if (req && req->oom)
		return vj_err_set(err, ENOMEM, "building the %s request: out of memory",
				  vj_type_name(type));
	int rc = vj_frame_write(fd, type, 0, req ? req->data : NULL, req ? req->len : 0);
	if (rc < 0)
		return vj_err_sys(err, -rc, "sending %s to hvd", vj_type_name(type));

	struct vj_reader r;
	vj_reader_init(&r, VJ_FRAME_MAX);
	struct vj_frame f;
	rc = vj_frame_read(fd, &r, &f, timeout_ms);
	vj_reader_free(&r);
	if (rc == 0) {
		vj_err_set(err, VJ_HVD_UNREACHABLE, "hvd closed the connection during %s",
			   vj_type_name(type));
		return -1;
	}
	if (rc == -ETIMEDOUT)
		return vj_err_set(err, ETIMEDOUT, "no answer from hvd to %s after %d s",
				  vj_type_name(type), timeout_ms / 1000);
	if (rc < 0)
		return vj_err_sys(err, -rc, "reading hvd's answer to %s", vj_type_name(type));

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
