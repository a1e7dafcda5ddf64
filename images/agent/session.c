/* The running commands, one per stream: relay their output to the host,
 * queue host input for them, and report EXIT once a command is reaped and its
 * output has drained (or AG_EXIT_GRACE_MS later, if a background process
 * still holds stdout/stderr open). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "kv.h"

struct session *session_find(struct agent *ag, uint32_t stream)
{
	for (size_t i = 0; i < ag->nsess; i++)
		if (ag->sess[i]->stream == stream)
			return ag->sess[i];
	return NULL;
}

struct session *session_by_pid(struct agent *ag, pid_t pid)
{
	for (size_t i = 0; i < ag->nsess; i++)
		if (!ag->sess[i]->reaped && ag->sess[i]->pid == pid)
			return ag->sess[i];
	return NULL;
}

int session_add(struct agent *ag, struct session *s, struct vj_err *err)
{
	if (ag->nsess >= AG_MAX_SESSIONS)
		return vj_err_set(err, EAGAIN, "too many commands");
	ag->sess[ag->nsess++] = s;
	return 0;
}

bool session_backlogged(const struct agent *ag)
{
	for (size_t i = 0; i < ag->nsess; i++)
		if (ag->sess[i]->inq.len > AG_STDIN_HARD)
			return true;
	return false;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Tell the host to stop (or go on) sending this command's stdin: per
 * stream, so a command that does not read its input stalls no other. */
static void input_flow(struct agent *ag, struct session *s, bool stop)
{
	if (s->in_stopped == stop)
		return;
	s->in_stopped = stop;
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_u64(&kv, "stop", stop);
	if (!kv.oom)
		port_send(&ag->port, VJ_FLOW, s->stream, kv.data, kv.len);
	vj_kv_free(&kv);
}

/* The child's stdin side is done (EOF delivered, or the child closed it). */
static void close_input(struct agent *ag, struct session *s)
{
	input_flow(ag, s, false); /* what the host still sends is dropped */
	ioq_free(&s->inq);
	if (s->pty)
		s->in = -1; /* shared with out: the master stays open for output */
	else
		close_fd(&s->in);
}

/* Read one chunk from a child's stdout/stderr and forward it; EOF (or, for a
 * pty master, EIO once every slave fd is gone) sends a zero-length frame. */
static void pump_output(struct agent *ag, struct session *s, int *fd, uint16_t type)
{
	static uint8_t buf[VJ_IO_CHUNK];
	ssize_t n;
	do
		n = read(*fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0) {
		port_send(&ag->port, type, s->stream, buf, (size_t)n);
		return;
	}
	port_send(&ag->port, type, s->stream, NULL, 0);
	if (s->pty && fd == &s->out)
		s->in = -1;
	close_fd(fd);
}

void session_io(struct agent *ag, struct session *s, int fd, short revents)
{
	if (fd == s->in && s->in >= 0) {
		if (revents & POLLOUT) {
			int rc = ioq_flush(&s->inq, s->in);
			/* EPIPE: the child closed its stdin; the rest is dropped. */
			if (!s->pty && (rc < 0 || (s->in_eof && s->inq.len == 0)))
				close_input(ag, s);
			else if (s->inq.len <= AG_STDIN_CAP / 4)
				input_flow(ag, s, false);
		} else if (!s->pty && (revents & (POLLERR | POLLHUP))) {
			close_input(ag, s);
		}
	}
	if (fd == s->out && s->out >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
		pump_output(ag, s, &s->out, VJ_STDOUT);
	else if (fd == s->err && s->err >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
		pump_output(ag, s, &s->err, VJ_STDERR);
}

void session_stdin(struct agent *ag, struct session *s, const uint8_t *data, size_t n)
{
	if (s->in < 0)
		return; /* input closed or the child is gone: like writing to a closed pipe */
	if (n == 0) {
		if (s->pty)
			return; /* a pty has no EOF to deliver (the user types ^D) */
		s->in_eof = true;
		if (s->inq.len == 0)
			close_input(ag, s);
		return;
	}
	if (ioq_push(&s->inq, data, n) < 0) {
		ag_log("stream %u: out of memory queueing stdin; dropping it", s->stream);
		close_input(ag, s);
		return;
	}
	if (s->inq.len > AG_STDIN_CAP)
		input_flow(ag, s, true);
}

static void session_free(struct session *s)
{
	if (s->pty) {
		if (s->out >= 0)
			close(s->out);
	} else {
		close_fd(&s->in);
		close_fd(&s->out);
		close_fd(&s->err);
	}
	ioq_free(&s->inq);
	if (s->script[0])
		unlink(s->script);
	free(s);
}

unsigned long long session_oom_kills(void)
{
	FILE *f = fopen("/proc/vmstat", "re");
	char line[128];
	unsigned long long n = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "oom_kill %llu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* MemTotal of the guest, MiB (0 if unknown). */
static unsigned long long mem_total_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	if (f) {
		if (fscanf(f, "MemTotal: %llu kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb / 1024;
}

static void send_exit(struct agent *ag, struct session *s)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	/* The guest's OOM killer struck while this command ran (a victim of
	 * it, or of another command of the job: the guest is the job's): the
	 * host says so, since the job's output would only show a SIGKILL. */
	unsigned long long oom = session_oom_kills();
	if (oom > s->oom_kills) {
		vj_kv_add_u64(&kv, "oom_kills", oom - s->oom_kills);
		vj_kv_add_u64(&kv, "mem_mb", mem_total_mb());
	}
	if (WIFSIGNALED(s->wstatus)) {
		vj_kv_add_u64(&kv, "signal", (uint64_t)WTERMSIG(s->wstatus));
		vj_kv_add_u64(&kv, "core", WCOREDUMP(s->wstatus) ? 1 : 0);
	} else {
		vj_kv_add_u64(&kv, "status", (uint64_t)WEXITSTATUS(s->wstatus));
		vj_kv_add_u64(&kv, "core", 0);
	}
	port_send(&ag->port, VJ_EXIT, s->stream, kv.data, kv.len);
	vj_kv_free(&kv);
}

int session_finish_ready(struct agent *ag)
{
	long long now = ag_now_ms();
	int timeout = -1;
	for (size_t i = 0; i < ag->nsess;) {
		struct session *s = ag->sess[i];
		if (!s->reaped) {
			i++;
			continue;
		}
		bool drained = s->out < 0 && s->err < 0;
		/* The grace is for a background process holding the output open,
		 * not for a client that reads slowly: its output is all sent. */
		if (!drained && s->out_paused)
			s->reaped_at = now;
		long long left = s->reaped_at + AG_EXIT_GRACE_MS - now;
		if (!drained && left > 0) {
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
			i++;
			continue;
		}
		send_exit(ag, s);
		session_free(s);
		ag->sess[i] = ag->sess[--ag->nsess];
	}
	return timeout;
}
