#include "agentconn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentmsg.h"
#include "cleanup.h"
#include "base/fsutil.h"
#include "kv.h"
#include "base/log.h"

#define HELLO_INTERVAL_MS 500

int hv_agent_try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return vj_steal_fd(fd);
}

static int send_hello(int fd, struct vj_err *err)
{
	cleanup_kv struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "version", "1");
	if (kv.oom)
		return vj_err_set(err, ENOMEM, "out of memory");
	/* Until the guest opens its port QEMU does not read the socket; a full
	 * buffer must not block the wait, so a HELLO that does not fit is skipped. */
	uint8_t frame[VJ_FRAME_HDR + 64];
	if (kv.len > sizeof(frame) - VJ_FRAME_HDR)
		return vj_err_set(err, EMSGSIZE, "HELLO does not fit a frame");
	vj_frame_header(frame, VJ_HELLO, 0, (uint32_t)kv.len);
	memcpy(frame + VJ_FRAME_HDR, kv.data, kv.len);
	size_t total = VJ_FRAME_HDR + kv.len;
	ssize_t w = send(fd, frame, total, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN ? 0 : vj_err_sys(err, errno, "cannot write to the agent channel");
	if ((size_t)w < total) /* rare; finish it so the stream stays framed */
		return vj_write_all(fd, frame + w, total - (size_t)w, err);
	return 0;
}

int hv_agent_connect(const char *path, const char *job, long long deadline_ms,
		     struct vj_reader *rd, hv_abort_fn aborted, void *ud, struct vj_err *err)
{
	cleanup_close int fd = -1;
	/* libvirt creates the socket as it starts QEMU; allow a moment for it. */
	while (fd < 0) {
		fd = hv_agent_try_connect(path);
		if (fd >= 0)
			break;
		if (errno != ENOENT && errno != ECONNREFUSED)
			return vj_err_sys(err, errno, "cannot connect to the agent channel %s", path);
		if (hv_now_ms() >= deadline_ms)
			return vj_err_set(err, ETIMEDOUT, "the agent channel %s never appeared", path);
		if (aborted(ud))
			return vj_err_set(err, ECANCELED, "destroyed during start-up");
		usleep(100 * 1000);
	}
	return hv_agent_handshake(vj_steal_fd(fd), job, deadline_ms, rd, aborted, ud, err);
}

int hv_agent_handshake(int fd_in, const char *job, long long deadline_ms, struct vj_reader *rd,
		       hv_abort_fn aborted, void *ud, struct vj_err *err)
{
	cleanup_close int fd = fd_in;
	long long next_hello = 0;
	for (;;) {
		long long now = hv_now_ms();
		if (aborted(ud))
			return vj_err_set(err, ECANCELED, "destroyed during start-up");
		if (now >= deadline_ms)
			return vj_err_set(err, ETIMEDOUT, "no HELLO from the guest agent");
		if (now >= next_hello) {
			if (send_hello(fd, err) < 0)
				return -1;
			next_hello = now + HELLO_INTERVAL_MS;
		}
		long long wait = next_hello - now;
		if (deadline_ms - now < wait)
			wait = deadline_ms - now;
		struct vj_frame f;
		int rc = vj_frame_read(fd, rd, &f, (int)wait, err);
		if (rc < 0 && err->code == ETIMEDOUT)
			continue;
		if (rc == 0)
			return vj_err_set(err, EPIPE, "the VM closed its agent channel (it stopped?)");
		if (rc < 0)
			return vj_err_prefix(err, "reading the agent channel");
		cleanup_free uint8_t *payload = f.payload;
		if (f.type == VJ_HELLO && f.stream == 0) {
			char kernel[128], host[128];
			char unfit[300];
			hv_agent_hello_parse(&f, kernel, sizeof(kernel), host, sizeof(host));
			if (hv_agent_hello_error(&f, unfit, sizeof(unfit)))
				return vj_err_set(err, EIO, "the VM is not fit for the job: %s", unfit);
			hv_info("job %s: agent ready (kernel %s, hostname %s)", job, kernel, host);
			return vj_steal_fd(fd);
		}
		hv_debug("job %s: ignoring %s frame before HELLO", job, vj_type_name(f.type));
	}
}
