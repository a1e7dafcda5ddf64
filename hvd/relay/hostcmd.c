/* Host commands (docs/internals.md, "Host commands"): Slurm's commands
 * inside a VM. The agent opens a stream of its own (VJ_HOST_STREAM) with
 * HOSTCMD naming the command (the job step) it came from; the relay passes it
 * to that command's client, the task's vmexec, which runs it on the host as
 * the job's owner, and relays the two directions until EXIT or ERROR.
 * Checked here: the parent command exists, its client asked for host
 * commands and is not root (hvd says so: hvctl exec never runs them), the
 * count is bounded, and the guest's working directory is passed on only if
 * it is shared (under an export hvd named: the same files on both sides). */
#include <stdio.h>
#include <string.h>

#include "relay.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "cleanup.h"
#include "kv.h"

#define MAX_ARGS 4096
#define MAX_ENV 4096

static void agent_error(struct relay *r, uint32_t stream, const char *msg)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	if (!kv.oom)
		rl_to_agent(r, VJ_ERROR, stream, kv.data, kv.len);
}

/* The command holding host command id, and its slot. */
static struct rl_client *owner(struct relay *r, uint32_t id, unsigned *slot)
{
	for (struct rl_client *c = r->clients; c; c = c->next)
		for (unsigned i = 0; i < RL_MAX_HOSTCMDS; i++)
			if (c->host[i] == id) {
				*slot = i;
				return c;
			}
	return NULL;
}

static bool shared(const struct rl_client *c, const char *cwd)
{
	if (!hv_path_plain(cwd))
		return false;
	for (unsigned i = 0; i < c->nshared; i++)
		if (hv_path_under(cwd, c->shared[i]))
			return true;
	return false;
}

/* The request for the client: arg and env as the guest sent them (the
 * client filters them), cwd only where it is shared. */
static int client_request(const struct rl_client *c, const struct vj_frame *f, struct vj_kvbuf *kv)
{
	long nargs = vj_kv_count(f->payload, f->len, "arg");
	long nenv = vj_kv_count(f->payload, f->len, "env");
	if (nargs < 1 || nargs > MAX_ARGS || nenv > MAX_ENV)
		return -1;
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0) {
		if (vj_kv_key_is(&e, "arg") || vj_kv_key_is(&e, "env")) {
			vj_kv_add(kv, vj_kv_key_is(&e, "arg") ? "arg" : "env", e.val, e.vlen);
		} else if (vj_kv_key_is(&e, "cwd") && e.vlen < 4096 && !memchr(e.val, 0, e.vlen)) {
			char cwd[4096];
			memcpy(cwd, e.val, e.vlen);
			cwd[e.vlen] = '\0';
			if (shared(c, cwd))
				vj_kv_add_str(kv, "cwd", cwd);
		}
	}
	return kv->oom || kv->len > VJ_FRAME_MAX ? -1 : 0;
}

/* HOSTCMD: find its command, check, register, pass on. */
static void start(struct relay *r, const struct vj_frame *f)
{
	uint64_t parent;
	unsigned slot = 0;
	if (vj_kv_validate(f->payload, f->len, NULL) < 0 ||
	    vj_kv_get_u64(f->payload, f->len, "parent", 1, VJ_HOST_STREAM - 1, false, &parent,
			  NULL) < 0) {
		agent_error(r, f->stream, "vmjob: malformed host command request");
		return;
	}
	if (owner(r, f->stream, &slot)) {
		hv_warn("job %s: agent reused host command stream %u; refused", r->job, f->stream);
		return;
	}
	struct rl_client *c = rl_find(r, (uint32_t)parent);
	if (!c || !rl_client_live(c)) {
		agent_error(r, f->stream, "vmjob: the job step of this command has ended");
		return;
	}
	if (!c->hostcmds) {
		agent_error(r, f->stream, "vmjob: Slurm commands run only from a job's tasks "
					  "(not from 'hvctl exec')");
		return;
	}
	for (slot = 0; slot < RL_MAX_HOSTCMDS && c->host[slot]; slot++)
		;
	if (slot == RL_MAX_HOSTCMDS) {
		agent_error(r, f->stream, "vmjob: too many Slurm commands running at once in this step");
		return;
	}
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (client_request(c, f, &kv) < 0) {
		agent_error(r, f->stream, "vmjob: malformed or oversized host command request");
		return;
	}
	c->host[slot] = f->stream;
	hv_debug("job %s: host command on stream %u for step stream %u", r->job, f->stream, c->id);
	rl_to_client(r, c, VJ_HOSTCMD, f->stream, kv.data, kv.len);
}

void rl_hostcmd_from_agent(struct relay *r, const struct vj_frame *f)
{
	if (f->type == VJ_HOSTCMD) {
		start(r, f);
	} else if (f->type == VJ_STDIN || f->type == VJ_SIGNAL || f->type == VJ_WINSIZE) {
		unsigned slot = 0;
		struct rl_client *c = owner(r, f->stream, &slot);
		bool ok = f->type == VJ_STDIN || vj_kv_validate(f->payload, f->len, NULL) == 0;
		if (c && rl_client_live(c) && ok)
			rl_to_client(r, c, f->type, f->stream, f->payload, f->len);
	}
}

void rl_hostcmd_from_client(struct relay *r, struct rl_client *c, const struct vj_frame *f)
{
	bool ends = f->type == VJ_EXIT || f->type == VJ_ERROR;
	if (!ends && f->type != VJ_STARTED && f->type != VJ_STDOUT && f->type != VJ_STDERR)
		return;
	unsigned slot = 0;
	if (owner(r, f->stream, &slot) == c) {
		rl_to_agent(r, f->type, f->stream, f->payload, f->len);
		if (ends)
			c->host[slot] = 0;
	}
}

void rl_hostcmd_end(struct relay *r, struct rl_client *c, const char *why)
{
	for (unsigned i = 0; i < RL_MAX_HOSTCMDS; i++)
		if (c->host[i]) {
			agent_error(r, c->host[i], why);
			c->host[i] = 0;
		}
}
