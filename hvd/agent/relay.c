#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agentmsg.h"
#include "cleanup.h"
#include "hostcmd.h"
#include "identity.h"
#include "server/auth.h"
#include "kv.h"
#include "base/log.h"
#include "server/reply.h"
#include "names.h"
#include "vm/vmlife.h"

#define CLIENT_STREAM 1u /* the client always uses stream 1 (docs/internals.md) */
#define MAX_GROUPS 1024

/* Send ERROR msg to the client of st and end the stream (slock held). */
static void end_stream_locked(struct hv_stream *st, const char *msg)
{
	if (st->done)
		return;
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "msg", msg);
	if (!kv.oom)
		vj_frame_write(st->client_fd, VJ_ERROR, CLIENT_STREAM, kv.data, kv.len, NULL);
	vj_kv_free(&kv);
	st->done = true;
	eventfd_write(st->done_fd, 1);
}

static struct hv_stream *stream_locked(struct hv_vm *vm, uint32_t id)
{
	struct hv_stream *st = vm->streams;
	while (st && st->id != id)
		st = st->next;
	return st;
}

/* Is stream id one of the VM's, still running? */
static bool find_live(struct hv_vm *vm, uint32_t id)
{
	pthread_mutex_lock(&vm->slock);
	struct hv_stream *st = stream_locked(vm, id);
	bool live = st && !st->done;
	pthread_mutex_unlock(&vm->slock);
	return live;
}

static void dispatch(struct hv_vm *vm, const struct vj_frame *f)
{
	enum hv_agent_action act = hv_agent_msg_action(f);
	if (act == HV_AGENT_HOST) {
		hv_hostcmd_from_agent(vm, f);
		return;
	}
	if (act == HV_AGENT_DROP) {
		if (f->type != VJ_HELLO) /* HELLO: the agent answering one of ours */
			hv_debug("job %s: agent sent unexpected %s on stream %u; dropped", vm->d.job,
				 vj_type_name(f->type), f->stream);
		return;
	}
	bool ends = act == HV_AGENT_END;
	/* A task ends: its job's accounting gets the VM's use up to now before
	 * the task's end reaches Slurm, which may end the job, and the VM. Only
	 * for a live stream: a guest's made-up ends must not drive slurmstepd. */
	if (ends && vm->job_spool && find_live(vm, f->stream))
		hv_vm_sample_job(vm);
	pthread_mutex_lock(&vm->slock);
	struct hv_stream *st = stream_locked(vm, f->stream);
	if (!st || st->done) {
		pthread_mutex_unlock(&vm->slock);
		return; /* a stream whose client left; the guest may still talk */
	}
	if (act == HV_AGENT_MALFORMED) {
		end_stream_locked(st, "the VM's agent sent a malformed reply");
		pthread_mutex_unlock(&vm->slock);
		return;
	}
	/* A failed write means the client left; its thread notices and kills. */
	vj_frame_write(st->client_fd, f->type, CLIENT_STREAM, f->payload, f->len, NULL);
	if (ends) {
		st->done = true;
		eventfd_write(st->done_fd, 1);
	}
	pthread_mutex_unlock(&vm->slock);
}

void hv_relay_end_all(struct hv_vm *vm, const char *msg)
{
	pthread_mutex_lock(&vm->slock);
	vm->agent_gone = true;
	for (struct hv_stream *st = vm->streams; st; st = st->next)
		end_stream_locked(st, msg);
	pthread_mutex_unlock(&vm->slock);
}

static void *reader_main(void *arg)
{
	struct hv_vm *vm = arg;
	const char *why = "closed";
	for (;;) {
		struct vj_frame f;
		struct vj_err err;
		int rc = vj_frame_read(vm->agent_fd, &vm->agent_rd, &f, -1, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			why = err.code == EPROTO ? "sent a malformed frame" : strerror(err.code);
			break;
		}
		dispatch(vm, &f);
		free(f.payload);
	}
	char msg[128];
	snprintf(msg, sizeof(msg), "the VM of job %s stopped", vm->d.job);
	hv_relay_end_all(vm, msg);
	if (hv_vm_mark_stopped(vm))
		hv_warn("job %s: agent channel %s; the VM is considered stopped", vm->d.job, why);
	return NULL;
}

int hv_relay_start(struct hv_vm *vm, struct vj_err *err)
{
	int rc = pthread_create(&vm->reader, NULL, reader_main, vm);
	if (rc)
		return vj_err_sys(err, rc, "cannot start the agent reader thread");
	vm->reader_running = true;
	return 0;
}

void hv_relay_stop(struct hv_vm *vm)
{
	if (vm->agent_fd >= 0)
		shutdown(vm->agent_fd, SHUT_RDWR);
	if (vm->reader_running) {
		pthread_join(vm->reader, NULL);
		vm->reader_running = false;
	}
}

/* Supplementary groups of the peer process, from the kernel's view of it,
 * never from the request: up to MAX_GROUPS into groups, their count in *n. */
static int peer_groups(pid_t pid, gid_t *groups, size_t *n, struct vj_err *err)
{
	char path[64], line[8192];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return vj_err_sys(err, errno, "cannot read the caller's groups (%s)", path);
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Groups:", 7))
			continue;
		char *save = NULL;
		for (char *tok = strtok_r(line + 7, " \t\n", &save); tok && *n < MAX_GROUPS;
		     tok = strtok_r(NULL, " \t\n", &save))
			groups[(*n)++] = (gid_t)strtoul(tok, NULL, 10);
		return 0;
	}
	return vj_err_set(err, EIO, "no Groups line in %s", path);
}

static bool passthrough_key(const struct vj_kv_entry *e)
{
	static const char *keys[] = {"cwd", "arg", "env", "pty", "rows", "cols", "script", "tmpdir"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vj_kv_key_is(e, keys[i]))
			return true;
	return false;
}

/* The agent's EXEC request: who runs it (the kernel's view of the caller,
 * named by NSS: identity.h), the image (for the guest's "not found in image"
 * lines) and the fields of the client's request the agent reads. */
static int agent_request(const struct hv_vm *vm, const struct ucred *peer, const void *p,
			 size_t len, struct vj_kvbuf *kv, struct vj_err *err)
{
	gid_t groups[MAX_GROUPS];
	size_t n;
	if (peer_groups(peer->pid, groups, &n, err) < 0)
		return -1;
	vj_kv_add_u64(kv, "uid", peer->uid);
	vj_kv_add_u64(kv, "gid", peer->gid);
	for (size_t i = 0; i < n; i++)
		vj_kv_add_u64(kv, "group", groups[i]);
	hv_identity_add(kv, peer->uid, peer->gid, groups, n);
	vj_kv_add_str(kv, "image", vm->d.image);
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, p, len);
	while (vj_kv_next(&it, &e) > 0)
		if (passthrough_key(&e)) {
			char key[16];
			memcpy(key, e.key, e.klen);
			key[e.klen] = '\0';
			vj_kv_add(kv, key, e.val, e.vlen);
		}
	if (kv->oom || kv->len > VJ_FRAME_MAX)
		return vj_err_set(err, E2BIG, "exec request too large");
	return 0;
}

int hv_agent_send(struct hv_vm *vm, uint16_t type, uint32_t stream, const void *p, size_t len,
		      struct vj_err *err)
{
	pthread_mutex_lock(&vm->agent_wlock);
	int rc = vj_frame_write(vm->agent_fd, type, stream, p, len, err);
	pthread_mutex_unlock(&vm->agent_wlock);
	return rc;
}

/* Forward the client's complete frames in r; -1 if it sent garbage. */
static int forward_client(struct hv_vm *vm, struct hv_stream *st, struct vj_reader *r)
{
	struct vj_frame f;
	int rc;
	while ((rc = vj_reader_next(r, &f)) > 0) {
		if (f.stream & VJ_HOST_STREAM)
			hv_hostcmd_from_client(vm, st, &f);
		else if (f.stream == CLIENT_STREAM &&
		    (f.type == VJ_STDIN || f.type == VJ_SIGNAL || f.type == VJ_WINSIZE))
			hv_agent_send(vm, f.type, st->id, f.payload, f.len, NULL);
		free(f.payload);
	}
	if (rc < 0)
		hv_warn("job %s: client sent a malformed frame; ending its command", vm->d.job);
	return rc;
}

static void relay_loop(struct hv_vm *vm, struct hv_stream *st, int cfd, struct vj_reader *r)
{
	bool reading = true, gone = false;
	/* Frames that arrived together with the request are already buffered. */
	if (forward_client(vm, st, r) < 0)
		gone = true;
	while (!gone) {
		/* After a half-close (no more input) only POLLHUP says the client left. */
		struct pollfd pfd[2] = {{.fd = cfd, .events = reading ? POLLIN : 0},
					{.fd = st->done_fd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (!reading && (pfd[0].revents & (POLLHUP | POLLERR)))
			gone = true;
		if (!reading || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		struct vj_err rerr;
		long n = vj_reader_fill(r, cfd, &rerr);
		if (n < 0 && (rerr.code == EAGAIN || rerr.code == EINTR))
			continue;
		if (n < 0 || (n == 0 && (pfd[0].revents & (POLLHUP | POLLERR)))) {
			gone = true;
			break;
		}
		if (n == 0) {
			reading = false;
			continue;
		}
		if (forward_client(vm, st, r) < 0)
			gone = true;
	}
	pthread_mutex_lock(&vm->slock);
	bool done = st->done;
	st->done = true; /* no more frames to this client */
	pthread_mutex_unlock(&vm->slock);
	if (!done) {
		/* The client left before EXIT: the command must not outlive it. */
		struct vj_kvbuf kv;
		vj_kv_init(&kv);
		vj_kv_add_str(&kv, "sig", "9");
		if (!kv.oom)
			hv_agent_send(vm, VJ_SIGNAL, st->id, kv.data, kv.len, NULL);
		vj_kv_free(&kv);
		hv_info("job %s: client of stream %u left before the command ended; sent SIGKILL",
			vm->d.job, st->id);
	}
}

/* The VM of job, referenced, if it is ready and the peer may use it; else
 * NULL with err set (EACCES for a refusal, which the caller logs as one). */
static struct hv_vm *exec_target(const char *job, const struct ucred *peer, struct vj_err *err)
{
	hv_table_lock();
	struct hv_vm *vm = hv_table_find_locked(job);
	if (!vm)
		vj_err_set(err, ENOENT, "job %s has no VM on this node", job);
	else if (vm->state != HV_VM_READY)
		vj_err_set(err, EAGAIN, "the VM of job %s is %s", job, hv_vm_state_name(vm->state));
	else if (peer->uid != 0 && peer->uid != vm->d.uid)
		vj_err_set(err, EACCES, "permission denied: the VM of job %s belongs to uid %u", job,
			   (unsigned)vm->d.uid);
	else
		hv_vm_ref_locked(vm);
	bool ok = !err->code;
	hv_table_unlock();
	return ok ? vm : NULL;
}

/* Enter st into the VM's streams under a fresh id. */
static int stream_attach(struct hv_vm *vm, struct hv_stream *st, struct vj_err *err)
{
	pthread_mutex_lock(&vm->slock);
	if (vm->agent_gone) {
		pthread_mutex_unlock(&vm->slock);
		return vj_err_set(err, EPIPE, "the VM of job %s stopped", vm->d.job);
	}
	/* Stream ids are unique per VM for its lifetime; 0 is the connection. */
	st->id = vm->next_stream++;
	if (vm->next_stream == 0 || (vm->next_stream & VJ_HOST_STREAM))
		vm->next_stream = 1; /* the guest's own streams have that bit */
	st->next = vm->streams;
	vm->streams = st;
	pthread_mutex_unlock(&vm->slock);
	return 0;
}

static void stream_detach(struct hv_vm *vm, struct hv_stream *st)
{
	pthread_mutex_lock(&vm->slock);
	hv_hostcmd_end_locked(vm, st, "vmjob: the job step ended before this command did");
	for (struct hv_stream **pp = &vm->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&vm->slock);
}

/* Run the request's command in vm and relay it to cfd until it ends. -1 with
 * err only before the stream starts; once it runs, its end (EXIT or ERROR)
 * is the reply. */
static int exec_stream(const struct hv_config *cfg, struct hv_vm *vm, int cfd,
		       struct vj_reader *rd, const struct ucred *peer, const void *p, size_t len,
		       struct vj_err *err)
{
	cleanup_kv struct vj_kvbuf kv;
	vj_kv_init(&kv);
	if (agent_request(vm, peer, p, len, &kv, err) < 0)
		return -1;
	cleanup_close int done_fd = eventfd(0, EFD_CLOEXEC);
	if (done_fd < 0)
		return vj_err_sys(err, errno, "eventfd");
	/* Host commands for a task's vmexec only: a root client (hvctl exec
	 * by an admin) would run the guest's commands as root. */
	uint64_t hostcmd = 0;
	vj_kv_get_u64(p, len, "hostcmd", 0, 1, true, &hostcmd, NULL);
	struct hv_stream st = {.client_fd = cfd, .done_fd = done_fd, .cfg = cfg,
			       .hostcmds = hostcmd == 1 && peer->uid != 0};
	if (stream_attach(vm, &st, err))
		return -1;
	hv_info("job %s: exec stream %u for uid %u (pid %d)", vm->d.job, st.id,
		(unsigned)peer->uid, (int)peer->pid);
	struct vj_err serr;
	if (hv_agent_send(vm, VJ_EXEC, st.id, kv.data, kv.len, &serr) < 0) {
		char msg[1200];
		snprintf(msg, sizeof(msg), "cannot reach the agent of job %s: %s", vm->d.job, serr.msg);
		pthread_mutex_lock(&vm->slock);
		end_stream_locked(&st, msg);
		pthread_mutex_unlock(&vm->slock);
	} else {
		relay_loop(vm, &st, cfd, rd);
	}
	stream_detach(vm, &st);
	return 0;
}

void hv_relay_exec(const struct hv_config *cfg, int cfd, struct vj_reader *rd,
		   const struct ucred *peer, const void *p, size_t len)
{
	struct vj_err err = {0};
	char job[VJ_NAME_SZ];
	uint64_t uid, gid;
	if (vj_kv_validate(p, len, &err) ||
	    vj_kv_get_str(p, len, "job", job, sizeof(job), NULL, &err) ||
	    vj_kv_get_u64(p, len, "uid", 0, UINT32_MAX - 1, false, &uid, &err) ||
	    vj_kv_get_u64(p, len, "gid", 0, UINT32_MAX - 1, false, &gid, &err) ||
	    vj_kv_count(p, len, "arg") < 1) {
		char msg[1200];
		snprintf(msg, sizeof(msg), "bad exec request: %s",
			 err.code ? err.msg : "missing field 'arg'");
		hv_reply_err(cfd, msg);
		return;
	}
	if (uid != peer->uid || gid != peer->gid) {
		vj_err_set(&err, EACCES,
			   "permission denied: uid/gid %llu/%llu in the request are not the caller's %u/%u",
			   (unsigned long long)uid, (unsigned long long)gid, (unsigned)peer->uid,
			   (unsigned)peer->gid);
		hv_auth_refused(cfd, peer, VJ_REQ_EXEC, job, err.msg);
		return;
	}
	struct hv_vm *vm = exec_target(job, peer, &err);
	if (!vm) {
		if (err.code == EACCES)
			hv_auth_refused(cfd, peer, VJ_REQ_EXEC, job, err.msg);
		else
			hv_reply_err(cfd, err.msg);
		return;
	}
	if (exec_stream(cfg, vm, cfd, rd, peer, p, len, &err))
		hv_reply_err(cfd, err.msg);
	hv_vm_unref(vm);
}
