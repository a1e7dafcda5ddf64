/* The relay's commands: the agent's frames to their client, the clients'
 * frames to the agent. What hvd's per-VM reader thread and per-command
 * threads did before the relay; the guest is as hostile as ever. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agentmsg.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "cleanup.h"
#include "kv.h"

#define CLIENT_STREAM 1u /* the client always uses stream 1 (docs/internals.md) */

bool rl_to_agent(struct relay *r, uint16_t type, uint32_t stream, const void *p, size_t len)
{
	if (r->agent_fd < 0)
		return false;
	return vj_frame_write(r->agent_fd, type, stream, p, len, NULL) == 0;
}

struct rl_client *rl_find(struct relay *r, uint32_t id)
{
	for (struct rl_client *c = r->clients; c; c = c->next)
		if (c->id == id && !c->closing && !c->gone)
			return c;
	return NULL;
}

static void flow_to_agent(struct relay *r, struct rl_client *c, bool stop)
{
	if (c->out_paused == stop)
		return;
	c->out_paused = stop;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "stop", stop);
	if (!kv.oom)
		rl_to_agent(r, VJ_FLOW, c->id, kv.data, kv.len);
}

static void client_free(struct relay *r, struct rl_client *c)
{
	for (struct rl_client **pp = &r->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	rl_hostcmd_end(r, c, "vmjob: the job step ended before this command did");
	flow_to_agent(r, c, false); /* a paused command must be able to end */
	if (c->fd >= 0)
		close(c->fd);
	vj_reader_free(&c->rd);
	for (unsigned i = 0; i < c->nshared; i++)
		free(c->shared[i]);
	free(c->held.payload);
	ioq_free(&c->out);
	free(c);
}

/* Write what is queued for the client, as far as it takes it now. */
void rl_client_flush(struct relay *r, struct rl_client *c)
{
	if (!c->gone && ioq_flush(&c->out, c->fd) < 0)
		c->gone = true; /* the client left */
	if (c->out_paused && c->out.len <= RL_OUT_LOW)
		flow_to_agent(r, c, false);
}

/* Queue one frame for the client. Over RL_OUT_HIGH the agent is asked to
 * stop reading this command's output (FLOW), so a client that reads slowly
 * slows its command and no other; what was in flight still fits. */
void rl_to_client(struct relay *r, struct rl_client *c, uint16_t type, uint32_t stream,
		  const void *p, size_t len)
{
	if (c->gone)
		return;
	uint8_t hdr[VJ_FRAME_HDR];
	vj_frame_header(hdr, type, stream, (uint32_t)len);
	size_t before = c->out.len;
	if (ioq_push(&c->out, hdr, sizeof(hdr)) < 0 || (len && ioq_push(&c->out, p, len) < 0)) {
		hv_err("job %s: out of memory for stream %u's output; ending it", r->job, c->id);
		c->out.len = before; /* no half frame */
		c->gone = true;
		return;
	}
	rl_client_flush(r, c);
	if (c->out.len > RL_OUT_HIGH)
		flow_to_agent(r, c, true);
}

/* The command's end goes last; the client is let go once it has it all. */
static void send_end(struct relay *r, struct rl_client *c, uint16_t type, const void *p, size_t len)
{
	rl_to_client(r, c, type, CLIENT_STREAM, p, len);
	c->holding = false;
	c->closing = true;
	c->reading = false;
}

static void error_to(struct relay *r, struct rl_client *c, const char *msg)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	if (kv.oom)
		c->gone = true;
	else
		send_end(r, c, VJ_ERROR, kv.data, kv.len);
}

void rl_end_all(struct relay *r, const char *msg)
{
	for (struct rl_client *c = r->clients; c; c = c->next)
		if (rl_client_live(c)) /* a held end is an end already */
			error_to(r, c, msg);
}

/* The client left before its command ended: the command must not outlive it. */
static void client_gone(struct relay *r, struct rl_client *c)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "sig", "9");
	if (!kv.oom)
		rl_to_agent(r, VJ_SIGNAL, c->id, kv.data, kv.len);
	hv_info("job %s: client of stream %u left before the command ended; sent SIGKILL", r->job,
		c->id);
}

void rl_sweep(struct relay *r)
{
	for (struct rl_client *c = r->clients, *next; c; c = next) {
		next = c->next;
		if (c->gone && !c->closing && !c->holding)
			client_gone(r, c);
		if (c->gone || (c->closing && !c->out.len))
			client_free(r, c);
	}
}

void rl_drain_all(struct relay *r, int timeout_ms)
{
	long long end = hv_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd pfd[64];
		unsigned n = 0;
		for (struct rl_client *c = r->clients; c && n < 64; c = c->next) {
			rl_client_flush(r, c);
			if (c->out.len && !c->gone)
				pfd[n++] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
		}
		long long left = end - hv_now_ms();
		if (!n || left <= 0 || poll(pfd, n, (int)left) < 0)
			return;
	}
}

/* A task ends: its EXIT waits until hvd has had slurmstepd sample the VM,
 * so the job's accounting holds the VM's use before the end reaches Slurm
 * (which may end the job). Without hvd there is no one to sample. */
static void end_stream(struct relay *r, struct rl_client *c, const struct vj_frame *f)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "stream", c->id);
	if (r->hvd_fd >= 0 && !kv.oom &&
	    vj_frame_write(r->hvd_fd, VJ_RELAY_ENDING, 0, kv.data, kv.len, NULL) == 0) {
		uint8_t *copy = malloc(f->len + 1);
		if (copy) {
			memcpy(copy, f->payload, f->len);
			c->held = *f;
			c->held.payload = copy;
			c->holding = true;
			c->held_until = hv_now_ms() + RL_HOLD_MS;
			c->reading = false; /* no input for a command that ended */
			return;
		}
	}
	send_end(r, c, f->type, f->payload, f->len);
}

void rl_release(struct relay *r, uint32_t stream)
{
	for (struct rl_client *c = r->clients; c; c = c->next)
		if (c->holding && (!stream || c->id == stream))
			send_end(r, c, c->held.type, c->held.payload, c->held.len);
}

void rl_release_due(struct relay *r, long long now)
{
	for (struct rl_client *c = r->clients; c; c = c->next)
		if (c->holding && now >= c->held_until)
			send_end(r, c, c->held.type, c->held.payload, c->held.len);
}

void rl_from_agent(struct relay *r, const struct vj_frame *f)
{
	enum hv_agent_action act = hv_agent_msg_action(f);
	if (act == HV_AGENT_HOST) {
		rl_hostcmd_from_agent(r, f);
		return;
	}
	if (act == HV_AGENT_DROP) {
		/* HELLO answers and the like are hvd's, if one is there. */
		if (f->stream == 0 && r->hvd_fd >= 0)
			vj_frame_write(r->hvd_fd, f->type, 0, f->payload, f->len, NULL);
		return;
	}
	struct rl_client *c = rl_find(r, f->stream);
	if (!c || c->holding)
		return; /* a command whose client left; the guest may still talk */
	if (act == HV_AGENT_FLOW) {
		/* The command's stdin is full: stop reading its client (which
		 * then blocks writing), not the others. */
		uint64_t stop;
		if (!vj_kv_get_u64(f->payload, f->len, "stop", 0, 1, false, &stop, NULL))
			c->in_paused = stop == 1;
		return;
	}
	if (act == HV_AGENT_MALFORMED) {
		error_to(r, c, "the VM's agent sent a malformed reply");
		return;
	}
	if (act == HV_AGENT_END) {
		end_stream(r, c, f);
		return;
	}
	rl_to_client(r, c, f->type, CLIENT_STREAM, f->payload, f->len);
}

/* Forward the client's complete frames; false if it sent garbage. */
static bool forward_client(struct relay *r, struct rl_client *c)
{
	struct vj_frame f;
	int rc;
	while ((rc = vj_reader_next(&c->rd, &f)) > 0) {
		if (f.stream & VJ_HOST_STREAM)
			rl_hostcmd_from_client(r, c, &f);
		else if (f.stream == CLIENT_STREAM &&
			 (f.type == VJ_STDIN || f.type == VJ_SIGNAL || f.type == VJ_WINSIZE))
			rl_to_agent(r, f.type, c->id, f.payload, f.len);
		free(f.payload);
	}
	if (rc < 0)
		hv_warn("job %s: client of stream %u sent a malformed frame; ending its command", r->job,
			c->id);
	return rc == 0;
}

void rl_client_input(struct relay *r, struct rl_client *c, short revents)
{
	if (revents & POLLOUT)
		rl_client_flush(r, c);
	/* After a half-close (no more input) only POLLHUP says the client left. */
	if (!c->reading || c->in_paused) {
		if ((revents & (POLLHUP | POLLERR)) && !c->closing)
			c->gone = true;
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	struct vj_err err;
	long n = vj_reader_fill(&c->rd, c->fd, &err);
	if (n < 0 && (err.code == EAGAIN || err.code == EINTR))
		return;
	if (n < 0 || (n == 0 && (revents & (POLLHUP | POLLERR)))) {
		c->gone = true;
		return;
	}
	if (n == 0) {
		c->reading = false;
		return;
	}
	if (!forward_client(r, c))
		c->gone = true;
}

void rl_exec(struct relay *r, const struct vj_frame *f, int fd)
{
	uint64_t id = 0, hostcmds = 0;
	if (fd < 0 || vj_kv_validate(f->payload, f->len, NULL) ||
	    vj_kv_get_u64(f->payload, f->len, "stream", 1, VJ_HOST_STREAM - 1, false, &id, NULL) ||
	    vj_kv_get_u64(f->payload, f->len, "hostcmds", 0, 1, true, &hostcmds, NULL)) {
		hv_err("job %s: hvd sent a RELAY_EXEC without a stream or a connection; ignored",
		       r->job);
		if (fd >= 0)
			close(fd);
		return;
	}
	struct rl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->id = (uint32_t)id;
	c->fd = fd;
	c->reading = true;
	c->hostcmds = hostcmds == 1;
	vj_reader_init(&c->rd, VJ_FRAME_MAX);
	/* Writes to the client are queued and non-blocking (to_client). */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	bool ok = true;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0) {
		if (vj_kv_key_is(&e, "shared") && c->nshared < RL_MAX_SHARED && e.vlen < 4096 &&
		    !memchr(e.val, 0, e.vlen)) {
			c->shared[c->nshared] = strndup((const char *)e.val, e.vlen);
			if (c->shared[c->nshared])
				c->nshared++;
		} else if (vj_kv_key_is(&e, "pending") && e.vlen) {
			/* What hvd had read of the client after its request. */
			if (c->rd.cap < e.vlen) {
				uint8_t *b = malloc(e.vlen + 65536);
				if (!b) {
					ok = false;
					break;
				}
				free(c->rd.buf);
				c->rd.buf = b;
				c->rd.cap = e.vlen + 65536;
			}
			memcpy(c->rd.buf, e.val, e.vlen);
			c->rd.len = e.vlen;
		}
	}
	c->next = r->clients;
	r->clients = c;
	if (!ok) {
		error_to(r, c, "vmjob: out of memory in the VM's relay");
		return;
	}
	for (struct rl_client *o = c->next; o; o = o->next)
		if (o->id == c->id && !o->gone && !o->closing) {
			hv_err("job %s: hvd reused stream %u; refused", r->job, c->id);
			error_to(r, c, "vmjob: the VM's relay refused a reused stream id; try again");
			return;
		}
	if (r->ended) {
		error_to(r, c, r->end_msg);
		return;
	}
	struct vj_kv_entry ex;
	bool have_exec = false;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (!have_exec && vj_kv_next(&it, &ex) > 0)
		have_exec = vj_kv_key_is(&ex, "exec");
	if (!have_exec) {
		error_to(r, c, "vmjob: hvd sent the VM's relay no command");
		return;
	}
	/* The command first, then any input that came with the request. */
	if (!rl_to_agent(r, VJ_EXEC, c->id, ex.val, ex.vlen)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "cannot reach the agent of job %s (its channel failed)",
			 r->job);
		error_to(r, c, msg);
		return;
	}
	hv_info("job %s: stream %u relayed here", r->job, c->id);
	if (!forward_client(r, c))
		c->gone = true;
}
