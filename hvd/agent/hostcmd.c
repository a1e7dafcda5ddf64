#include "hostcmd.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cleanup.h"
#include "gateway/fsexport.h"
#include "kv.h"
#include "relay.h"

#define MAX_ARGS 4096
#define MAX_ENV 4096

static void agent_error(struct hv_vm *vm, uint32_t stream, const char *msg)
{
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	if (!kv.oom)
		hv_agent_send(vm, VJ_ERROR, stream, kv.data, kv.len, NULL);
}

/* The stream holding host command id, and its slot (slock held). */
static struct hv_stream *owner_locked(struct hv_vm *vm, uint32_t id, unsigned *slot)
{
	for (struct hv_stream *st = vm->streams; st; st = st->next)
		for (unsigned i = 0; i < HV_MAX_HOSTCMDS; i++)
			if (st->host[i] == id) {
				*slot = i;
				return st;
			}
	return NULL;
}

/* The request for the client: arg and env as the guest sent them (the
 * client filters them), cwd only where it is shared. */
static int client_request(const struct hv_vm *vm, const struct hv_stream *st, const struct vj_frame *f,
			  struct vj_kvbuf *kv)
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
			if (st->cfg && hv_fs_shared(st->cfg, vm->d.uid, vm->d.gid, cwd))
				vj_kv_add_str(kv, "cwd", cwd);
		}
	}
	return kv->oom || kv->len > VJ_FRAME_MAX ? -1 : 0;
}

/* HOSTCMD: find its step, check, register, pass on (slock held). */
static void start_locked(struct hv_vm *vm, const struct vj_frame *f)
{
	uint64_t parent;
	unsigned slot = 0;
	if (vj_kv_validate(f->payload, f->len, NULL) < 0 ||
	    vj_kv_get_u64(f->payload, f->len, "parent", 1, VJ_HOST_STREAM - 1, false, &parent,
			  NULL) < 0) {
		agent_error(vm, f->stream, "vmjob: malformed host command request");
		return;
	}
	if (owner_locked(vm, f->stream, &slot)) {
		hv_warn("job %s: agent reused host command stream %u; refused", vm->d.job, f->stream);
		return;
	}
	struct hv_stream *st = vm->streams;
	while (st && st->id != (uint32_t)parent)
		st = st->next;
	if (!st || st->done) {
		agent_error(vm, f->stream, "vmjob: the job step of this command has ended");
		return;
	}
	if (!st->hostcmds) {
		agent_error(vm, f->stream, "vmjob: Slurm commands run only from a job's tasks "
					   "(not from 'hvctl exec')");
		return;
	}
	for (slot = 0; slot < HV_MAX_HOSTCMDS && st->host[slot]; slot++)
		;
	if (slot == HV_MAX_HOSTCMDS) {
		agent_error(vm, f->stream, "vmjob: too many Slurm commands running at once in this step");
		return;
	}
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	if (client_request(vm, st, f, &kv) < 0) {
		agent_error(vm, f->stream, "vmjob: malformed or oversized host command request");
		return;
	}
	st->host[slot] = f->stream;
	hv_debug("job %s: host command on stream %u for step stream %u", vm->d.job, f->stream, st->id);
	vj_frame_write(st->client_fd, VJ_HOSTCMD, f->stream, kv.data, kv.len, NULL);
}

void hv_hostcmd_from_agent(struct hv_vm *vm, const struct vj_frame *f)
{
	pthread_mutex_lock(&vm->slock);
	if (f->type == VJ_HOSTCMD) {
		start_locked(vm, f);
	} else if (f->type == VJ_STDIN || f->type == VJ_SIGNAL || f->type == VJ_WINSIZE) {
		unsigned slot = 0;
		struct hv_stream *st = owner_locked(vm, f->stream, &slot);
		bool ok = f->type == VJ_STDIN || vj_kv_validate(f->payload, f->len, NULL) == 0;
		if (st && !st->done && ok)
			vj_frame_write(st->client_fd, f->type, f->stream, f->payload, f->len, NULL);
	}
	pthread_mutex_unlock(&vm->slock);
}

void hv_hostcmd_from_client(struct hv_vm *vm, struct hv_stream *st, const struct vj_frame *f)
{
	bool ends = f->type == VJ_EXIT || f->type == VJ_ERROR;
	if (!ends && f->type != VJ_STARTED && f->type != VJ_STDOUT && f->type != VJ_STDERR)
		return;
	pthread_mutex_lock(&vm->slock);
	unsigned slot = 0;
	if (owner_locked(vm, f->stream, &slot) == st) {
		hv_agent_send(vm, f->type, f->stream, f->payload, f->len, NULL);
		if (ends)
			st->host[slot] = 0;
	}
	pthread_mutex_unlock(&vm->slock);
}

void hv_hostcmd_end_locked(struct hv_vm *vm, struct hv_stream *st, const char *why)
{
	for (unsigned i = 0; i < HV_MAX_HOSTCMDS; i++)
		if (st->host[i]) {
			agent_error(vm, st->host[i], why);
			st->host[i] = 0;
		}
}
