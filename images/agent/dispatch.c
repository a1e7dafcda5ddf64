/* One frame from the host -> the action it asks for. Unknown types and
 * frames for streams that are not running are ignored (they may be late
 * frames for a command that just ended). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "kv.h"

/* rcS leaves the last line of a failed gateway mount here (see
 * images/rootfs/etc/init.d/rcS): the VM is then not fit to run jobs. */
#define FS_ERROR_FILE "/run/vmjob-fs-error"

static void add_fs_error(struct vj_kvbuf *kv)
{
	char buf[512];
	int fd = open(FS_ERROR_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	vj_kv_add_fmt(kv, "error", "filesystem gateway: %s", buf);
}

void send_hello(struct agent *ag)
{
	struct utsname u;
	char host[256] = "";
	if (uname(&u) < 0)
		strcpy(u.release, "unknown");
	gethostname(host, sizeof(host) - 1);
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "version", "1");
	vj_kv_add_str(&kv, "kernel", u.release);
	vj_kv_add_str(&kv, "hostname", host);
	add_fs_error(&kv);
	port_send(&ag->port, VJ_HELLO, 0, kv.data, kv.len);
	vj_kv_free(&kv);
}

void send_error(struct agent *ag, uint32_t stream, const char *msg)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "msg", msg);
	port_send(&ag->port, VJ_ERROR, stream, kv.data, kv.len);
	vj_kv_free(&kv);
}

static void do_signal(struct session *s, const struct vj_frame *f)
{
	uint64_t sig;
	struct vj_err err = {0};
	if (vj_kv_get_u64(f->payload, f->len, "sig", 1, 64, false, &sig, &err) < 0) {
		ag_log("stream %u: bad SIGNAL: %s", s->stream, err.msg);
		return;
	}
	if (s->reaped)
		return; /* the group leader is gone; its pid may be reused */
	if (kill(-s->pid, (int)sig) < 0 && errno != ESRCH)
		ag_log("stream %u: kill(-%d, %d): %s", s->stream, (int)s->pid, (int)sig,
		       strerror(errno));
}

static void do_winsize(struct session *s, const struct vj_frame *f)
{
	uint64_t rows, cols;
	struct vj_err err = {0};
	if (vj_kv_get_u64(f->payload, f->len, "rows", 0, 65535, false, &rows, &err) < 0 ||
	    vj_kv_get_u64(f->payload, f->len, "cols", 0, 65535, false, &cols, &err) < 0) {
		ag_log("stream %u: bad WINSIZE: %s", s->stream, err.msg);
		return;
	}
	if (!s->pty || s->out < 0)
		return;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	ioctl(s->out, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the fg group */
}

/* The host's client of this command takes no more output for now: stop
 * reading the command's stdout and stderr, so it blocks on a full pipe, and
 * only it (the other commands' output goes on). */
static void do_flow(struct session *s, const struct vj_frame *f)
{
	uint64_t stop;
	if (vj_kv_get_u64(f->payload, f->len, "stop", 0, 1, false, &stop, NULL) == 0)
		s->out_paused = stop == 1;
}

void dispatch_frame(struct agent *ag, const struct vj_frame *f)
{
	if (f->type == VJ_HELLO) {
		send_hello(ag); /* answer every HELLO: a restarted hvd reconnects this way */
		return;
	}
	if (f->stream & VJ_HOST_STREAM) {
		hostcmd_from_host(ag, f);
		return;
	}
	if (f->type == VJ_EXEC) {
		exec_start(ag, f);
		return;
	}
	struct session *s = session_find(ag, f->stream);
	if (!s)
		return;
	switch (f->type) {
	case VJ_STDIN: session_stdin(ag, s, f->payload, f->len); break;
	case VJ_FLOW: do_flow(s, f); break;
	case VJ_SIGNAL: do_signal(s, f); break;
	case VJ_WINSIZE: do_winsize(s, f); break;
	default: ag_log("stream %u: ignoring %s", f->stream, vj_type_name(f->type)); break;
	}
}
