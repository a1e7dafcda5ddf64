/* vmagent main: set up, then one poll loop over the port, the SIGCHLD
 * signalfd and every command's fds. Run by the guest's init, which respawns
 * it; it logs to its stderr (the console). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"

/* While the host is not connected the port cannot be polled (it reports
 * POLLHUP continuously), so it is re-checked at this interval. */
#define DISCONNECTED_POLL_MS 20

long long ag_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ag_log(const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	dprintf(2, "vmagent: %s\n", line);
}

static void reap(struct agent *ag)
{
	struct signalfd_siginfo si;
	while (read(ag->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	int st;
	pid_t pid;
	/* We are a subreaper: orphans of commands land here too; reap them all. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct session *s = session_by_pid(ag, pid);
		if (!s)
			continue;
		s->reaped = true;
		s->wstatus = st;
		s->reaped_at = ag_now_ms();
	}
}

static void read_port(struct agent *ag)
{
	struct port *p = &ag->port;
	struct vj_err err;
	long n = vj_reader_fill(&p->rd, p->fd, &err);
	if (n < 0 && (err.code == EAGAIN || err.code == EINTR))
		return;
	if (n <= 0) {
		/* 0: the host closed the socket. Keep the device; wait for the next host. */
		if (n < 0)
			ag_log("read %s: %s", p->path, err.msg);
		port_lost(p, n < 0);
		return;
	}
	struct vj_frame f;
	int rc;
	while ((rc = vj_reader_next(&p->rd, &f)) > 0) {
		dispatch_frame(ag, &f);
		free(f.payload);
		if (p->fd < 0 || !p->connected)
			return;
	}
	if (rc < 0) {
		/* A framing error cannot be resynchronised: drop the buffered bytes. */
		ag_log("malformed frame from the host; discarding its buffered input");
		port_lost(p, false);
	}
}

static void ensure_std_fds(void)
{
	/* Pipes created later must never land on 0-2 (dup2 onto itself would
	 * keep close-on-exec), so make sure 0-2 are taken. */
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int setup(struct agent *ag)
{
	ensure_std_fds();
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		ag_log("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
		return -1;
	ag->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ag->sigfd < 0) {
		ag_log("signalfd: %s", strerror(errno));
		return -1;
	}
	port_init(&ag->port);
	hostcmd_listen(ag); /* without it jobs still run, Slurm commands say why not */
	return 0;
}

/* The agent takes no options; --help and --version for an admin who finds
 * it in an image, anything else is refused before it touches the guest. */
static void command_line(int argc, char **argv)
{
	if (argc < 2)
		return;
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		vj_cli_version("vmagent");
		exit(0);
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: vmagent\n"
		       "vmjob's agent inside a job's VM: it waits for hvd on the virtio-serial\n"
		       "port org.vmjob.agent.0, runs the job's commands as the job's owner and\n"
		       "relays their stdio, and serves srun, sbatch & co. to the job's tasks.\n"
		       "Started by vmjob-init (fast boot) or vmjob-agent.service. No options.\n");
		exit(0);
	}
	if (argv[1][0] == '-')
		vj_cli_usage_error("vmagent", "unknown option '%s'", argv[1]);
	vj_cli_usage_error("vmagent", "unexpected argument '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	command_line(argc, argv);
	static struct agent ag;
	if (setup(&ag) < 0)
		return 1;
	ag_log("started");
	/* a pollfd per port, signalfd, up to 3 fds per session; then the
	 * host-command listener and connections */
	static struct pollfd pfd[2 + 3 * AG_MAX_SESSIONS + 1 + AG_MAX_HOSTCMDS];
	static struct session *owner[2 + 3 * AG_MAX_SESSIONS];
	static struct pollfd hpfd[1 + AG_MAX_HOSTCMDS];
	static struct hostconn *howner[1 + AG_MAX_HOSTCMDS];
	bool was_connected = false;

	for (;;) {
		if (!ag.port.connected && port_refresh(&ag.port)) {
			ag_log("host connected on %s", ag.port.path);
			send_hello(&ag); /* the agent's first HELLO = "agent ready" */
		}
		if (was_connected && !ag.port.connected)
			hostcmd_host_lost(&ag);
		was_connected = ag.port.connected;
		int timeout = session_finish_ready(&ag);
		if (!ag.port.connected && (timeout < 0 || timeout > DISCONNECTED_POLL_MS))
			timeout = DISCONNECTED_POLL_MS;

		size_t n = 0;
		pfd[n] = (struct pollfd){.fd = ag.sigfd, .events = POLLIN};
		owner[n++] = NULL;
		int port_idx = -1;
		if (ag.port.connected && !session_backlogged(&ag) && !hostcmd_backlogged(&ag)) {
			port_idx = (int)n;
			pfd[n] = (struct pollfd){.fd = ag.port.fd, .events = POLLIN};
			owner[n++] = NULL;
		}
		for (size_t i = 0; i < ag.nsess; i++) {
			struct session *s = ag.sess[i];
			short in_ev = (s->in >= 0 && s->inq.len) ? POLLOUT : 0;
			/* Paused by the host's FLOW: not polled at all, since a pipe's
			 * hang-up would wake the loop for output it must not read. */
			bool out_ok = !s->out_paused;
			if (s->pty && s->out >= 0) {
				if (!out_ok)
					continue;
				pfd[n] = (struct pollfd){.fd = s->out, .events = POLLIN | in_ev};
				owner[n++] = s;
				continue;
			}
			if (s->in >= 0 && !s->pty) {
				/* Polled even with nothing queued, to notice the reader going away. */
				pfd[n] = (struct pollfd){.fd = s->in, .events = in_ev};
				owner[n++] = s;
			}
			if (s->out >= 0 && out_ok) {
				pfd[n] = (struct pollfd){.fd = s->out, .events = POLLIN};
				owner[n++] = s;
			}
			if (s->err >= 0 && out_ok) {
				pfd[n] = (struct pollfd){.fd = s->err, .events = POLLIN};
				owner[n++] = s;
			}
		}

		size_t hn = hostcmd_pollfds(&ag, hpfd, howner);
		memcpy(pfd + n, hpfd, hn * sizeof(*hpfd));
		int rc = poll(pfd, n + hn, timeout);
		if (rc < 0) {
			if (errno != EINTR)
				ag_log("poll: %s", strerror(errno));
			continue;
		}
		if (pfd[0].revents)
			reap(&ag);
		for (size_t i = 0; i < hn; i++)
			hpfd[i].revents = pfd[n + i].revents;
		hostcmd_events(&ag, hpfd, howner, hn);
		/* Child output first, so it is forwarded before anything the host asks next. */
		for (size_t i = 1; i < n; i++) {
			if (!owner[i] || !pfd[i].revents)
				continue;
			session_io(&ag, owner[i], pfd[i].fd, pfd[i].revents);
		}
		if (port_idx >= 0 && pfd[port_idx].revents) {
			if (pfd[port_idx].revents & (POLLHUP | POLLERR)) {
				/* Drain what the host sent before hanging up, then wait for it. */
				if (pfd[port_idx].revents & POLLIN)
					read_port(&ag);
				if (ag.port.connected)
					port_refresh(&ag.port);
				if (!ag.port.connected)
					ag_log("host disconnected");
			} else {
				read_port(&ag);
			}
		}
	}
}
