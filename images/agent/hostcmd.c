/* Host commands: Slurm's commands inside the VM (agent.h). A guest program
 * (vmjob-hostcmd, installed as srun, sbatch, scontrol, ...) connects to
 * AG_HOST_SOCK and sends one HOSTCMD frame (arg+, env*, cwd) on stream 1,
 * then relays like any exec client: STDIN, SIGNAL, WINSIZE up; STARTED,
 * STDOUT, STDERR, EXIT or ERROR down. The agent names the job step it
 * belongs to (the EXEC session it descends from, by the kernel's process
 * tree, never by what the guest says) and forwards it to the host on a
 * stream of its own (VJ_HOST_STREAM bit set), where the task's vmexec runs
 * the real command as the job's owner. The guest holds no credential: it
 * can only ask. Nothing a guest process does here can stall the agent:
 * output to it is queued, and while one queue is over AG_STDIN_CAP the
 * port is not read (lossless back-pressure, like a child's stdin). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "kv.h"

#define CLIENT_STREAM 1u
#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_HOPS 256 /* process tree depth searched for the session */

int hostcmd_listen(struct agent *ag)
{
	ag->host_lfd = -1;
	if (mkdir(AG_HOST_DIR, 0755) < 0 && errno != EEXIST) {
		ag_log("mkdir %s: %s (no Slurm commands in this VM)", AG_HOST_DIR, strerror(errno));
		return -1;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", AG_HOST_SOCK);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(AG_HOST_SOCK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(AG_HOST_SOCK, 0666) < 0 || listen(fd, 64) < 0) {
		ag_log("%s: %s (no Slurm commands in this VM)", AG_HOST_SOCK, strerror(errno));
		return -1;
	}
	ag->host_lfd = vj_steal_fd(fd);
	return 0;
}

static struct hostconn *by_stream(struct agent *ag, uint32_t stream)
{
	for (size_t i = 0; i < ag->nhost; i++)
		if (ag->host[i]->stream == stream)
			return ag->host[i];
	return NULL;
}

/* Queue one frame for the guest program (stream 1). */
static void queue_frame(struct hostconn *c, uint16_t type, const void *p, size_t len)
{
	uint8_t hdr[VJ_FRAME_HDR];
	vj_frame_header(hdr, type, CLIENT_STREAM, (uint32_t)len);
	if (ioq_push(&c->outq, hdr, sizeof(hdr)) < 0 || (len && ioq_push(&c->outq, p, len) < 0))
		c->broken = true;
}

/* ERROR to the guest program, which then ends. */
static void refuse(struct hostconn *c, const char *msg)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	if (!kv.oom)
		queue_frame(c, VJ_ERROR, kv.data, kv.len);
	c->ended = true;
}

/* pid's parent, from /proc (0 if it cannot be read). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, even ") ". */
	char *p = strrchr(buf, ')');
	int ppid;
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* The session (EXEC) pid descends from: its job step. */
static struct session *session_of(struct agent *ag, pid_t pid)
{
	for (int hop = 0; pid > 1 && hop < MAX_HOPS; hop++) {
		struct session *s = session_by_pid(ag, pid);
		if (s && !s->reaped)
			return s;
		pid = parent_of(pid);
	}
	return NULL;
}

/* The guest program's HOSTCMD: checked, tied to its step, sent up. */
static void on_request(struct agent *ag, struct hostconn *c, const struct vj_frame *f)
{
	struct vj_err err = {0};
	long nargs = vj_kv_count(f->payload, f->len, "arg");
	long nenv = vj_kv_count(f->payload, f->len, "env");
	if (f->type != VJ_HOSTCMD || vj_kv_validate(f->payload, f->len, &err) < 0 || nargs < 1 ||
	    nargs > MAX_ARGS || nenv > MAX_ENV) {
		refuse(c, "vmjob: malformed request for a host command");
		return;
	}
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct session *s = NULL;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
		s = session_of(ag, cr.pid);
	if (!s) {
		refuse(c, "vmjob: Slurm commands work only from the job's own processes "
			  "(this one is not part of a job step)");
		return;
	}
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "parent", s->stream);
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0)
		if (vj_kv_key_is(&e, "arg") || vj_kv_key_is(&e, "env") || vj_kv_key_is(&e, "cwd")) {
			char key[8];
			snprintf(key, sizeof(key), "%.*s", (int)e.klen, e.key);
			vj_kv_add(&kv, key, e.val, e.vlen);
		}
	if (kv.oom || kv.len > VJ_FRAME_MAX) {
		refuse(c, "vmjob: the command and its environment are too large");
		return;
	}
	if (port_send(&ag->port, VJ_HOSTCMD, c->stream, kv.data, kv.len) < 0) {
		refuse(c, "vmjob: the VM has lost its host; cannot run Slurm commands now");
		return;
	}
	c->sent = true;
}

/* What the guest program sends after its request: its input and signals. */
static void on_client_frame(struct agent *ag, struct hostconn *c, const struct vj_frame *f)
{
	if (!c->sent) {
		on_request(ag, c, f);
		return;
	}
	if (f->stream != CLIENT_STREAM ||
	    (f->type != VJ_STDIN && f->type != VJ_SIGNAL && f->type != VJ_WINSIZE))
		return;
	if (f->type != VJ_STDIN && vj_kv_validate(f->payload, f->len, NULL) < 0)
		return;
	port_send(&ag->port, f->type, c->stream, f->payload, f->len);
}

/* The guest program went away before its command ended: end it too. */
static void abandon(struct agent *ag, struct hostconn *c)
{
	if (!c->sent || c->ended)
		return;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "sig", "9");
	port_send(&ag->port, VJ_SIGNAL, c->stream, kv.data, kv.len);
	c->ended = true;
}

static void conn_read(struct agent *ag, struct hostconn *c)
{
	struct vj_err err;
	long n = vj_reader_fill(&c->rd, c->fd, &err);
	if (n < 0 && (err.code == EAGAIN || err.code == EINTR))
		return;
	if (n <= 0) {
		abandon(ag, c);
		c->broken = true;
		return;
	}
	struct vj_frame f;
	int rc;
	while (!c->ended && (rc = vj_reader_next(&c->rd, &f)) > 0) {
		on_client_frame(ag, c, &f);
		free(f.payload);
	}
	if (!c->ended && rc < 0) {
		abandon(ag, c);
		c->broken = true;
	}
}

static void conn_free(struct hostconn *c)
{
	close(c->fd);
	vj_reader_free(&c->rd);
	ioq_free(&c->outq);
	free(c);
}

static void accept_one(struct agent *ag)
{
	int fd = accept4(ag->host_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct hostconn *c = ag->nhost < AG_MAX_HOSTCMDS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd); /* the program sees EOF and says it could not ask */
		return;
	}
	c->fd = fd;
	vj_reader_init(&c->rd, VJ_FRAME_MAX);
	/* A stream id of our own, never one of the host's nor a live one. */
	do
		ag->next_host = (ag->next_host + 1) & ~VJ_HOST_STREAM;
	while (ag->next_host == 0 || by_stream(ag, ag->next_host | VJ_HOST_STREAM));
	c->stream = ag->next_host | VJ_HOST_STREAM;
	ag->host[ag->nhost++] = c;
}

size_t hostcmd_pollfds(struct agent *ag, struct pollfd *p, struct hostconn **owner)
{
	size_t n = 0;
	if (ag->host_lfd >= 0) {
		p[n] = (struct pollfd){.fd = ag->host_lfd, .events = POLLIN};
		owner[n++] = NULL;
	}
	for (size_t i = 0; i < ag->nhost; i++) {
		struct hostconn *c = ag->host[i];
		short ev = (c->ended ? 0 : POLLIN) | (c->outq.len ? POLLOUT : 0);
		p[n] = (struct pollfd){.fd = c->fd, .events = ev};
		owner[n++] = c;
	}
	return n;
}

void hostcmd_events(struct agent *ag, const struct pollfd *p, struct hostconn **owner, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		struct hostconn *c = owner[i];
		if (!c) {
			accept_one(ag);
			continue;
		}
		if (p[i].revents & POLLOUT && ioq_flush(&c->outq, c->fd) < 0) {
			abandon(ag, c);
			c->broken = true;
		}
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR) && !c->ended)
			conn_read(ag, c);
	}
	/* Drop what is over: broken, or ended with everything delivered. */
	size_t j = 0;
	for (size_t i = 0; i < ag->nhost; i++) {
		struct hostconn *c = ag->host[i];
		if (c->broken || (c->ended && !c->outq.len))
			conn_free(c);
		else
			ag->host[j++] = c;
	}
	ag->nhost = j;
}

void hostcmd_from_host(struct agent *ag, const struct vj_frame *f)
{
	struct hostconn *c = by_stream(ag, f->stream);
	if (!c || c->ended)
		return; /* its program left; the host's frames have nowhere to go */
	switch (f->type) {
	case VJ_STARTED:
	case VJ_STDOUT:
	case VJ_STDERR:
		queue_frame(c, f->type, f->payload, f->len);
		break;
	case VJ_EXIT:
	case VJ_ERROR:
		queue_frame(c, f->type, f->payload, f->len);
		c->ended = true;
		break;
	default:
		break;
	}
}

void hostcmd_host_lost(struct agent *ag)
{
	for (size_t i = 0; i < ag->nhost; i++)
		if (ag->host[i]->sent && !ag->host[i]->ended)
			refuse(ag->host[i], "vmjob: lost the connection to the host while the command ran");
}

bool hostcmd_backlogged(const struct agent *ag)
{
	for (size_t i = 0; i < ag->nhost; i++)
		if (ag->host[i]->outq.len > AG_STDIN_CAP)
			return true;
	return false;
}
