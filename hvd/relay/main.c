/* vmrelay: the VM's agent channel and its commands' connections, held by
 * a process of their own so that hvd may stop, crash or be upgraded while
 * the job's tasks run: their bytes never pass through hvd, and the agent
 * channel (which QEMU serves to one peer, dropping what the guest writes
 * while no one is connected) stays connected. hvd starts one per VM after
 * the domain starts, and finds it again after a restart by its control
 * socket. One thread, one poll loop; it ends when QEMU closes the channel
 * (the VM stopped) or on SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay.h"
#include "agent/agentconn.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "cleanup.h"
#include "cli.h"
#include "kv.h"

#define CONTROL_MAX (3u << 20) /* a RELAY_EXEC: the EXEC plus what hvd had read */
#define MAX_CLIENTS 4096

static volatile sig_atomic_t stop_sig;

static void on_term(int sig)
{
	stop_sig = sig;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: vmrelay --agent SOCKET --control SOCKET --job JOB [--wait SECONDS] [--debug]\n"
		     "Hold a VM's agent channel and relay its commands (started by hvd).\n"
		     "  --agent SOCKET    QEMU's end of the VM's agent channel\n"
		     "  --control SOCKET  where hvd reaches this relay (created, mode 0600)\n"
		     "  --job JOB         the job the VM runs (for the log)\n"
		     "  --wait SECONDS    how long the agent socket may take to appear (10)\n"
		     "  --debug           log debug lines\n");
}

/* hvd retries a refused connection, so the gap between bind and listen
 * does no harm; a stale socket (a relay that died) is replaced. The name is
 * as long as agent.sock's, which hvd.conf's run_dir check leaves room for. */
static int listen_control(const char *path)
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
	unlink(path);
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 8) < 0)
		return -1;
	return vj_steal_fd(fd);
}

static void drop_hvd(struct relay *r, const char *why)
{
	if (r->hvd_fd < 0)
		return;
	hv_info("job %s: hvd %s", r->job, why);
	close(r->hvd_fd);
	r->hvd_fd = -1;
	vj_reader_free(&r->hvd_rd);
	while (r->nfdq)
		close(r->fdq[--r->nfdq]);
	rl_release(r, 0); /* no one left to sample: the ends go out */
}

/* Only root (hvd) may drive the relay; the run dir is QEMU's too. */
static void accept_hvd(struct relay *r)
{
	int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		hv_warn("job %s: refused a control connection from uid %d", r->job,
			len == sizeof(cr) ? (int)cr.uid : -1);
		close(fd);
		return;
	}
	/* A new hvd replaces a dead one (a live one never connects twice). */
	drop_hvd(r, "went away: a new one connected");
	struct timeval tv = {5, 0}; /* a hung hvd must not stall the VM */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r->hvd_fd = fd;
	vj_reader_init(&r->hvd_rd, CONTROL_MAX);
	hv_info("job %s: hvd (pid %d) connected", r->job, (int)cr.pid);
}

/* Read from hvd, collecting the client connections it passes. */
static long hvd_fill(struct relay *r)
{
	struct vj_reader *rd = &r->hvd_rd;
	if (rd->cap - rd->len < 65536) {
		size_t ncap = rd->cap ? rd->cap * 2 : 131072;
		if (ncap > (size_t)rd->max + VJ_FRAME_HDR + 65536)
			ncap = (size_t)rd->max + VJ_FRAME_HDR + 65536;
		if (ncap > rd->cap) {
			uint8_t *nb = realloc(rd->buf, ncap);
			if (!nb)
				return -1;
			rd->buf = nb;
			rd->cap = ncap;
		}
	}
	if (rd->len == rd->cap)
		return -1;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {rd->buf + rd->len, rd->cap - rd->len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(r->hvd_fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1; /* the control buffer holds nothing then */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];
		if (nfd > 4)
			nfd = 4; /* u.buf holds no more */
		memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			if (r->nfdq < sizeof(r->fdq) / sizeof(r->fdq[0]))
				r->fdq[r->nfdq++] = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n > 0)
		rd->len += (size_t)n;
	return n;
}

static int take_fd(struct relay *r)
{
	if (!r->nfdq)
		return -1;
	int fd = r->fdq[0];
	memmove(r->fdq, r->fdq + 1, --r->nfdq * sizeof(int));
	return fd;
}

static void from_hvd(struct relay *r, const struct vj_frame *f)
{
	switch (f->type) {
	case VJ_RELAY_EXEC:
		rl_exec(r, f, take_fd(r));
		break;
	case VJ_RELAY_SAMPLED: {
		uint64_t s = 0;
		if (!vj_kv_get_u64(f->payload, f->len, "stream", 1, UINT32_MAX, false, &s, NULL))
			rl_release(r, (uint32_t)s);
		break;
	}
	case VJ_RELAY_END_ALL:
		if (vj_kv_get_str(f->payload, f->len, "msg", r->end_msg, sizeof(r->end_msg),
				  "vmjob: the VM cannot serve its job any more", NULL))
			snprintf(r->end_msg, sizeof(r->end_msg), "vmjob: the VM cannot serve its job any more");
		r->ended = true;
		hv_info("job %s: hvd ends every command: %s", r->job, r->end_msg);
		rl_end_all(r, r->end_msg);
		break;
	default:
		/* HELLO and whatever else hvd says to the agent itself. */
		rl_to_agent(r, f->type, f->stream, f->payload, f->len);
	}
}

static void hvd_input(struct relay *r)
{
	long n = hvd_fill(r);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_hvd(r, n == 0 ? "closed its connection" : "connection failed");
		return;
	}
	struct vj_frame f;
	int rc;
	while (r->hvd_fd >= 0 && (rc = vj_reader_next(&r->hvd_rd, &f)) > 0) {
		from_hvd(r, &f);
		free(f.payload);
	}
	if (r->hvd_fd >= 0 && rc < 0)
		drop_hvd(r, "sent a malformed frame");
}

/* Returns false once the channel closed (the VM stopped). */
static bool agent_input(struct relay *r)
{
	struct vj_err err;
	long n = vj_reader_fill(&r->agent_rd, r->agent_fd, &err);
	if (n < 0 && (err.code == EAGAIN || err.code == EINTR))
		return true;
	if (n <= 0) {
		hv_info("job %s: agent channel %s", r->job, n == 0 ? "closed" : err.msg);
		return false;
	}
	struct vj_frame f;
	int rc;
	while ((rc = vj_reader_next(&r->agent_rd, &f)) > 0) {
		rl_from_agent(r, &f);
		free(f.payload);
	}
	if (rc < 0) {
		hv_warn("job %s: the agent sent a malformed frame; the channel is closed", r->job);
		return false;
	}
	return true;
}

static int run(struct relay *r)
{
	struct pollfd *pfd = calloc(MAX_CLIENTS + 3, sizeof(*pfd));
	struct rl_client **who = calloc(MAX_CLIENTS + 3, sizeof(*who));
	if (!pfd || !who) {
		hv_err("job %s: out of memory", r->job);
		return 1;
	}
	bool vm_up = true;
	while (vm_up && !stop_sig) {
		unsigned n = 0;
		/* A client over RL_OUT_HARD (its guest ignores FLOW): stop reading
		 * the agent until it drains; memory stays bounded. */
		bool full = false;
		for (struct rl_client *c = r->clients; c; c = c->next)
			full |= c->out.len > RL_OUT_HARD;
		pfd[n++] = (struct pollfd){.fd = full ? -1 : r->agent_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = r->hvd_fd, .events = POLLIN};
		long long now = hv_now_ms(), next = -1;
		for (struct rl_client *c = r->clients; c && n < MAX_CLIENTS + 3; c = c->next) {
			short ev = (c->reading && !c->in_paused && rl_client_live(c)) ? POLLIN : 0;
			if (c->out.len)
				ev |= POLLOUT;
			who[n] = c;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
			if (c->holding && (next < 0 || c->held_until < next))
				next = c->held_until;
		}
		int timeout = next < 0 ? -1 : next > now ? (int)(next - now) : 0;
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			hv_err("job %s: poll: %s", r->job, strerror(errno));
			break;
		}
		/* Clients are let go only in rl_sweep, so who[] stays valid. */
		for (unsigned i = 3; i < n; i++)
			if (pfd[i].revents)
				rl_client_input(r, who[i], pfd[i].revents);
		if (pfd[2].revents && r->hvd_fd >= 0)
			hvd_input(r);
		if (pfd[1].revents)
			accept_hvd(r);
		if (pfd[0].revents)
			vm_up = agent_input(r);
		rl_release_due(r, hv_now_ms());
		rl_sweep(r);
	}
	char msg[160];
	if (stop_sig)
		snprintf(msg, sizeof(msg), "the relay of job %s's VM was stopped", r->job);
	else
		snprintf(msg, sizeof(msg), "the VM of job %s stopped", r->job);
	rl_release(r, 0);
	rl_end_all(r, msg);
	rl_drain_all(r, 3000);
	free(pfd);
	free(who);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"agent", required_argument, NULL, 'a'}, {"control", required_argument, NULL, 'c'},
		{"job", required_argument, NULL, 'j'},   {"wait", required_argument, NULL, 'w'},
		{"debug", no_argument, NULL, 'd'},       {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0}};
	const char *agent = NULL, *control = NULL, *job = NULL;
	long wait_s = 10;
	bool debug = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:c:j:w:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'c': control = optarg; break;
		case 'j': job = optarg; break;
		case 'w': {
			char *end;
			wait_s = strtol(optarg, &end, 10);
			if (*end || end == optarg || wait_s < 0 || wait_s > 3600)
				vj_cli_usage_error("vmrelay", "--wait wants 0..3600 seconds, not '%s'", optarg);
			break;
		}
		case 'd': debug = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': vj_cli_version("vmrelay"); return 0;
		default: vj_cli_bad_option("vmrelay", c, argv);
		}
	}
	if (optind != argc)
		vj_cli_usage_error("vmrelay", "unexpected argument '%s'", argv[optind]);
	if (!agent || !control || !job)
		vj_cli_usage_error("vmrelay", "--agent, --control and --job are required");
	hv_log_name("vmrelay");
	hv_log_init(true, debug ? LOG_DEBUG : LOG_INFO);
	/* Its own session: nothing aimed at hvd's process group reaches it. */
	setsid();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct relay r = {.job = job, .agent_fd = -1, .listen_fd = -1, .hvd_fd = -1};
	vj_reader_init(&r.agent_rd, VJ_FRAME_MAX);
	long long deadline = hv_now_ms() + wait_s * 1000;
	while ((r.agent_fd = hv_agent_try_connect(agent)) < 0) {
		if ((errno != ENOENT && errno != ECONNREFUSED) || hv_now_ms() >= deadline || stop_sig) {
			hv_err("job %s: cannot connect to the agent channel %s: %s", job, agent,
			       strerror(errno));
			return 1;
		}
		usleep(50 * 1000);
	}
	r.listen_fd = listen_control(control);
	if (r.listen_fd < 0) {
		hv_err("job %s: cannot listen on %s: %s", job, control, strerror(errno));
		return 1;
	}
	hv_info("job %s: relaying %s (pid %d)", job, agent, (int)getpid());
	int rc = run(&r);
	/* The socket goes with us, so a restarted hvd starts a new relay. */
	unlink(control);
	hv_info("job %s: relay ends", job);
	return rc;
}
