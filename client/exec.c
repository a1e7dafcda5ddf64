/* An exec stream (hvdexec.h): the REQ_EXEC request and the relay loop, one
 * poll over hvd's socket, the command's stdin here and a signalfd.
 * hvd -> us: STARTED, STDOUT, STDERR, EXIT, ERROR (or ERR) on stream 1.
 * us -> hvd: STDIN (zero length = EOF), SIGNAL, WINSIZE on stream 1.
 * Signals are taken through the signalfd (blocked, never delivered), so
 * nothing runs asynchronously and no write is ever interrupted midway. */
#include "hvdexec.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"
#include "hostcmd.h"
#include "hvdclient.h"

#define STREAM 1

/* What Slurm (srun, scancel, the job's own kill) or a user's terminal may
 * send; SIGWINCH is ours to turn into WINSIZE. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				SIGUSR2, SIGCONT, SIGALRM};

int vj_exec_request(const struct vj_exec_req *rq, struct vj_kvbuf *kv, struct vj_err *err)
{
	if (!rq->argv0 && !(rq->args && rq->args[0]))
		return vj_err_set(err, EINVAL, "no command to run");
	char here[PATH_MAX];
	const char *cwd = rq->cwd;
	/* A cwd we cannot name (deleted, too long) means nothing in the
	 * guest either; the agent then starts in /tmp and says so. */
	if (!cwd)
		cwd = getcwd(here, sizeof(here)) ? here : "/";

	vj_kv_add_str(kv, "job", rq->job);
	vj_kv_add_u64(kv, "uid", getuid());
	vj_kv_add_u64(kv, "gid", getgid());
	vj_kv_add_str(kv, "cwd", cwd);
	if (rq->argv0)
		vj_kv_add_str(kv, "arg", rq->argv0);
	for (char *const *a = rq->args; a && *a; a++)
		vj_kv_add_str(kv, "arg", *a);
	for (char *const *e = rq->env; e && *e; e++)
		vj_kv_add_str(kv, "env", *e);
	vj_kv_add_u64(kv, "pty", rq->pty ? 1 : 0);
	if (rq->hostcmds)
		vj_kv_add_u64(kv, "hostcmd", 1);
	if (rq->pty) {
		vj_kv_add_u64(kv, "rows", rq->rows);
		vj_kv_add_u64(kv, "cols", rq->cols);
	}
	if (kv->oom)
		return vj_err_set(err, ENOMEM, "building the request: out of memory");
	return 0;
}

int vj_exec_signals(struct vj_err *err)
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

int vj_exec_shell_status(const struct vj_exec_status *st)
{
	return st->signaled ? 128 + st->sig : st->status;
}

/* One relay's state; lives on vj_exec_relay's stack. */
struct relay {
	int sock, sfd;
	const struct vj_exec_io *io;
	bool stdin_open;
	bool started;
	bool out_broken, err_broken; /* our stdout/err went away: discard */
	sigset_t pending;            /* signals caught before STARTED */
	struct vj_exec_status *st;
	struct vj_err *err;
	bool done;
	int rc; /* once done: 0 (EXIT) or -1 (err set) */
	char buf[VJ_IO_CHUNK];
};

static void finish(struct relay *r, int rc)
{
	r->rc = rc;
	r->done = true;
}

static void send_kv(struct relay *r, uint16_t type, struct vj_kvbuf *kv)
{
	/* A failed write means hvd is gone: the socket read says so. */
	if (!kv->oom)
		vj_frame_write(r->sock, type, STREAM, kv->data, kv->len, NULL);
}

static void send_signal(struct relay *r, int sig)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (sig == SIGWINCH) {
		unsigned rows, cols;
		if (!r->io->pty || !vj_tty_size(r->io->in, &rows, &cols))
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
	ssize_t n;
	do
		n = read(r->io->in, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) { /* EOF, or EIO from a hung-up tty: the same to the guest */
		r->stdin_open = false;
		n = 0;
	}
	if (vj_frame_write(r->sock, VJ_STDIN, STREAM, r->buf, (size_t)n, NULL) < 0)
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
	vj_kv_get_u64(f->payload, f->len, "core", 0, 1, true, &core, NULL);
	if (vj_kv_get_u64(f->payload, f->len, "signal", 1, 64, false, &v, &kerr) == 0) {
		*r->st = (struct vj_exec_status){.signaled = true, .sig = (int)v, .core = core != 0};
	} else if (vj_kv_get_u64(f->payload, f->len, "status", 0, 255, false, &v, &kerr) == 0) {
		*r->st = (struct vj_exec_status){.status = (int)v};
	} else {
		finish(r, vj_err_set(r->err, EPROTO, "unreadable EXIT from the VM: %s", kerr.msg));
		return;
	}
	uint64_t oom = 0, mem = 0;
	vj_kv_get_u64(f->payload, f->len, "oom_kills", 1, UINT32_MAX, true, &oom, NULL);
	vj_kv_get_u64(f->payload, f->len, "mem_mb", 0, UINT32_MAX, true, &mem, NULL);
	r->st->oom_kills = (unsigned)oom, r->st->mem_mb = (unsigned)mem;
	finish(r, 0);
}

/* ERROR (from the agent, relayed) or ERR (from hvd itself): the command
 * never ran. A missing command is not one of these: the agent runs it like
 * a shell would and it EXITs 127 with the shell's message on its stderr. */
static void on_error_frame(struct relay *r, const struct vj_frame *f)
{
	char msg[sizeof(r->err->msg)];
	if (vj_kv_get_str(f->payload, f->len, "msg", msg, sizeof(msg), "the VM refused the command",
			  NULL) < 0)
		strcpy(msg, "the VM refused the command (unreadable reason)");
	finish(r, vj_err_set(r->err, VJ_HVD_REFUSED, "%s", msg));
}

static void on_started(struct relay *r)
{
	if (r->started)
		return;
	r->started = true;
	if (r->io->started)
		r->io->started(r->io->arg);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&r->pending, s) == 1)
			send_signal(r, s);
	sigemptyset(&r->pending);
}

static void on_frame(struct relay *r, const struct vj_frame *f)
{
	if (f->stream & VJ_HOST_STREAM) { /* the guest asks for srun & co */
		if (r->io->hostcmds)
			vj_hostcmds_frame(r->io->hostcmds, f);
		return;
	}
	if (f->stream != STREAM && f->type != VJ_REPLY_ERR)
		return;
	switch (f->type) {
	case VJ_STARTED:
		on_started(r);
		break;
	case VJ_STDOUT:
		put(r->io->out, &r->out_broken, f);
		break;
	case VJ_STDERR:
		put(r->io->err, &r->err_broken, f);
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

/* Everything hvd sent that is there to read. */
static void on_sock(struct relay *r, struct vj_reader *rd)
{
	struct vj_err rerr;
	long n = vj_reader_fill(rd, r->sock, &rerr);
	if (n < 0 && rerr.code == EAGAIN)
		return;
	if (n <= 0) {
		finish(r, vj_err_set(r->err, VJ_HVD_UNREACHABLE,
				     "lost the connection to %s before the command finished",
				     r->io->peer ? r->io->peer : "hvd"));
		return;
	}
	struct vj_frame f;
	int rc = 0;
	while (!r->done && (rc = vj_reader_next(rd, &f)) == 1) {
		cleanup_free uint8_t *payload = f.payload;
		on_frame(r, &f);
	}
	if (!r->done && rc < 0)
		finish(r, vj_err_set(r->err, EPROTO, "malformed data from %s",
				     r->io->peer ? r->io->peer : "hvd"));
}

static void reader_freep(struct vj_reader *rd)
{
	vj_reader_free(rd);
}

int vj_exec_relay(int sock, int sfd, const struct vj_exec_io *io, struct vj_exec_status *st,
		  struct vj_err *err)
{
	cleanup_free struct relay *r = calloc(1, sizeof(*r));
	if (!r)
		return vj_err_set(err, ENOMEM, "out of memory");
	*r = (struct relay){.sock = sock, .sfd = sfd, .io = io, .stdin_open = true, .st = st,
			    .err = err};
	sigemptyset(&r->pending);
	memset(st, 0, sizeof(*st));
	signal(SIGPIPE, SIG_IGN);

	__attribute__((cleanup(reader_freep))) struct vj_reader rd;
	vj_reader_init(&rd, VJ_FRAME_MAX);
	while (!r->done) {
		/* stdin only once the command runs: an early EOF must not
		 * reach the agent before its EXEC did. */
		bool want_in = r->started && r->stdin_open;
		struct pollfd p[3 + VJ_HOSTCMD_MAX * 4] = {
			{.fd = sock, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = want_in ? io->in : -1, .events = POLLIN},
		};
		size_t nh = io->hostcmds ? vj_hostcmds_pollfds(io->hostcmds, p + 3) : 0;
		if (poll(p, 3 + nh, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vj_err_sys(err, errno, "poll");
		}
		if (p[1].revents & POLLIN)
			on_signal(r);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			on_stdin(r);
		if (nh)
			vj_hostcmds_events(io->hostcmds, p + 3, nh);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			on_sock(r, &rd);
	}
	return r->rc;
}
