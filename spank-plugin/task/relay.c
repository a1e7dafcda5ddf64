/* The relay loop: one poll over hvd's socket, our stdin and a signalfd.
 * hvd -> us: STARTED, STDOUT, STDERR, EXIT, ERROR on stream 1.
 * us -> hvd: STDIN (zero length = EOF), SIGNAL, WINSIZE on stream 1.
 * Signals are taken through a signalfd (blocked, never delivered), so
 * nothing runs asynchronously and no write is ever interrupted midway. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "frame.h"
#include "vmexec.h"

#define STREAM 1

/* What Slurm (srun, scancel, the job's own kill) may send a task; SIGWINCH
 * is ours to turn into WINSIZE. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				SIGUSR2, SIGCONT, SIGALRM};

struct relay {
	int sock, sfd;
	bool pty;
	bool stdin_open;
	bool started;
	bool out_broken, err_broken; /* our stdout/err went away: discard */
	sigset_t pending;            /* signals caught before STARTED */
	struct vmexec_outcome *out;
	bool done;
};

static void fail(struct relay *r, int status, const char *fmt, const char *msg)
{
	r->out->how = VMEXEC_FAILED;
	r->out->status = status;
	vj_err_set(&r->out->err, EIO, fmt, msg);
	r->done = true;
}

static int send_kv(struct relay *r, uint16_t type, struct vj_kvbuf *kv)
{
	int rc = vj_frame_write(r->sock, type, STREAM, kv->data, kv->len, NULL);
	vj_kv_free(kv);
	return rc;
}

static void send_signal(struct relay *r, int sig)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	if (sig == SIGWINCH) {
		unsigned rows, cols;
		if (!r->pty || !vmexec_tty_size(STDIN_FILENO, &rows, &cols))
			return;
		vj_kv_add_u64(&kv, "rows", rows);
		vj_kv_add_u64(&kv, "cols", cols);
		send_kv(r, VJ_WINSIZE, &kv);
		return;
	}
	vj_kv_add_u64(&kv, "sig", (uint64_t)sig);
	send_kv(r, VJ_SIGNAL, &kv);
}

static void on_signal(struct relay *r)
{
	struct signalfd_siginfo si;
	ssize_t n = read(r->sfd, &si, sizeof(si));
	if (n != (ssize_t)sizeof(si))
		return;
	int sig = (int)si.ssi_signo;
	if (!r->started) /* nothing to deliver to yet: keep it for STARTED */
		sigaddset(&r->pending, sig);
	else
		send_signal(r, sig);
}

static void on_stdin(struct relay *r)
{
	static char buf[VJ_IO_CHUNK];
	ssize_t n;
	do
		n = read(STDIN_FILENO, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) { /* EOF, or EIO from a hung-up tty: the same to the guest */
		r->stdin_open = false;
		n = 0;
	}
	if (vj_frame_write(r->sock, VJ_STDIN, STREAM, buf, (size_t)n, NULL) < 0)
		r->stdin_open = false; /* hvd is gone: the socket read says why */
}

static void put(int fd, bool *broken, const struct vj_frame *f)
{
	if (f->len == 0 || *broken)
		return;
	if (vj_write_all(fd, f->payload, f->len, NULL) < 0)
		*broken = true; /* e.g. EPIPE: keep running, as the command would */
}

static void on_exit_frame(struct relay *r, const struct vj_frame *f)
{
	struct vj_err kerr;
	uint64_t v = 0, core = 0;
	vj_kv_get_u64(f->payload, f->len, "core", 0, 1, true, &core, &kerr);
	if (vj_kv_get_u64(f->payload, f->len, "signal", 1, 64, false, &v, &kerr) == 0) {
		r->out->how = VMEXEC_SIGNALED;
		r->out->sig = (int)v;
		r->out->core = core != 0;
	} else if (vj_kv_get_u64(f->payload, f->len, "status", 0, 255, false, &v, &kerr) == 0) {
		r->out->how = VMEXEC_EXITED;
		r->out->status = (int)v;
	} else {
		fail(r, 1, "unreadable EXIT from the VM: %s", kerr.msg);
		return;
	}
	r->done = true;
}

/* ERROR (from the agent, relayed) or ERR (from hvd itself): the command
 * never ran. A missing command is not one of these: the agent runs it like
 * a shell would and it EXITs 127 with the shell's message on its stderr. */
static void on_error_frame(struct relay *r, const struct vj_frame *f)
{
	char msg[sizeof(r->out->err.msg)];
	struct vj_err kerr;
	if (vj_kv_get_str(f->payload, f->len, "msg", msg, sizeof(msg), "the VM refused the command",
			  &kerr) < 0)
		strcpy(msg, "the VM refused the command (unreadable reason)");
	fail(r, 1, "%s", msg);
}

/* --vm-timing: how long from the job step's start (the plugin's clock, in
 * VMJOB_T0_MS) until the command runs in the guest, from the first task. */
static void report_first_task_time(void)
{
	const char *t0 = getenv("VMJOB_T0_MS");
	const char *id = getenv("SLURM_LOCALID");
	if (!t0 || (id && strcmp(id, "0")))
		return;
	char *end;
	unsigned long long start = strtoull(t0, &end, 10);
	if (*end || !start)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned long long ms = (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
	if (ms >= start)
		dprintf(STDERR_FILENO, "vmjob: first task running in the VM after %llu ms (since the job step started)\n",
			ms - start);
}

static void on_frame(struct relay *r, const struct vj_frame *f)
{
	switch (f->type) {
	case VJ_STARTED:
		r->started = true;
		report_first_task_time();
		for (int s = 1; s < NSIG; s++)
			if (sigismember(&r->pending, s) == 1)
				send_signal(r, s);
		sigemptyset(&r->pending);
		break;
	case VJ_STDOUT:
		put(STDOUT_FILENO, &r->out_broken, f);
		break;
	case VJ_STDERR:
		put(STDERR_FILENO, &r->err_broken, f);
		break;
	case VJ_EXIT:
		on_exit_frame(r, f);
		break;
	case VJ_ERROR:
	case VJ_REPLY_ERR:
		on_error_frame(r, f);
		break;
	default: /* e.g. an OK acknowledging REQ_EXEC: nothing to do */
		break;
	}
}

int vmexec_signals_block(struct vj_err *err)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return vj_err_sys(err, errno, "sigprocmask");
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return vj_err_sys(err, errno, "signalfd");
	return fd;
}

void vmexec_relay(int sock, int sfd, bool pty, struct vmexec_outcome *out)
{
	struct relay r = {.sock = sock, .sfd = sfd, .pty = pty, .stdin_open = true, .out = out};
	sigemptyset(&r.pending);
	memset(out, 0, sizeof(*out));
	signal(SIGPIPE, SIG_IGN);

	struct vj_reader rd;
	vj_reader_init(&rd, VJ_FRAME_MAX);
	while (!r.done) {
		/* stdin only once the command runs: an early EOF must not
		 * reach the agent before its EXEC did. */
		bool want_in = r.started && r.stdin_open;
		struct pollfd p[3] = {
			{.fd = sock, .events = POLLIN},
			{.fd = r.sfd, .events = POLLIN},
			{.fd = want_in ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(&r, 1, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN)
			on_signal(&r);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			on_stdin(&r);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct vj_err rerr;
			long n = vj_reader_fill(&rd, sock, &rerr);
			if (n == 0 || (n < 0 && rerr.code != EAGAIN)) {
				fail(&r, 1, "%s",
				     "lost the connection to hvd before the command finished");
				break;
			}
			struct vj_frame f;
			int rc = 0;
			while (!r.done && (rc = vj_reader_next(&rd, &f)) == 1) {
				on_frame(&r, &f);
				free(f.payload);
			}
			if (!r.done && rc < 0)
				fail(&r, 1, "%s", "malformed data from hvd");
		}
	}
	vj_reader_free(&rd);
}
