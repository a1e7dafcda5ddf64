#include "relay.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentconn.h"
#include "agentmsg.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/spawn.h"
#include "cleanup.h"
#include "gateway/fsexport.h"
#include "identity.h"
#include "server/auth.h"
#include "kv.h"
#include "base/log.h"
#include "server/reply.h"
#include "names.h"
#include "paths.h"
#include "vm/vmlife.h"

#define MAX_GROUPS 1024
#define RELAY_EXIT_MS 5000 /* a relay ends at once when QEMU goes; then SIGKILL */

static void relay_paths(const struct hv_vm *vm, char agent[PATH_MAX + 16],
			char control[PATH_MAX + 16], char log[PATH_MAX + 16])
{
	snprintf(agent, PATH_MAX + 16, "%s/agent.sock", vm->run_dir);
	snprintf(control, PATH_MAX + 16, "%s/relay.sock", vm->run_dir);
	snprintf(log, PATH_MAX + 16, "%s/relay.log", vm->run_dir);
}

int hv_relay_spawn(struct hv_vm *vm, struct vj_err *err)
{
	char agent[PATH_MAX + 16], control[PATH_MAX + 16], log[PATH_MAX + 16];
	relay_paths(vm, agent, control, log);
	char *argv[] = {(char *)VJ_VMRELAY, "--agent", agent, "--control", control, "--job",
			vm->d.job, NULL};
	pid_t pid = hv_spawn_logged(argv, log, err);
	if (pid < 0)
		return vj_err_prefix(err, "cannot start the VM's relay");
	vm->relay_pid = pid;
	vm->relay_child = true;
	hv_debug("job %s: relay pid %d", vm->d.job, (int)pid);
	return 0;
}

/* A relay we started that has exited: reaped, with how it ended. */
static bool relay_exited(struct hv_vm *vm, char *how, size_t howsz)
{
	if (!vm->relay_child || vm->relay_pid <= 0)
		return false;
	int st;
	if (waitpid(vm->relay_pid, &st, WNOHANG) != vm->relay_pid)
		return false;
	vm->relay_pid = 0;
	if (WIFEXITED(st))
		snprintf(how, howsz, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(how, howsz, "was killed by signal %d", WTERMSIG(st));
	return true;
}

static bool relay_aborted(void *ud)
{
	struct hv_vm *vm = ud;
	char how[64];
	if (relay_exited(vm, how, sizeof(how))) {
		vm->relay_failed = true;
		return true;
	}
	return hv_vm_aborted(vm);
}

int hv_relay_connect(struct hv_vm *vm, long long deadline_ms, bool adopt, struct vj_err *err)
{
	char agent[PATH_MAX + 16], control[PATH_MAX + 16], log[PATH_MAX + 16];
	relay_paths(vm, agent, control, log);
	vm->relay_failed = false;
	/* After a restart the relay that served the VM still does; if it is
	 * gone (or the VM predates relays), a new one takes the channel over. */
	int fd = -1;
	if (adopt) {
		int old = hv_agent_try_connect(control);
		if (old >= 0)
			fd = hv_agent_handshake(old, vm->d.job, deadline_ms, &vm->agent_rd,
						relay_aborted, vm, err);
		else if (errno != ENOENT && errno != ECONNREFUSED)
			return vj_err_sys(err, errno, "cannot connect to the VM's relay %s", control);
		else if (hv_relay_spawn(vm, err))
			return -1;
		else
			hv_info("job %s: its VM had no relay running; started one", vm->d.job);
	}
	if (!adopt || vm->relay_child)
		fd = hv_agent_connect(control, vm->d.job, deadline_ms, &vm->agent_rd, relay_aborted,
				      vm, err);
	if (fd < 0) {
		if (vm->relay_failed) {
			char last[256];
			hv_file_last_line(log, last, sizeof(last));
			vj_err_set(err, EPIPE, "the VM's relay ended (%s)", last[0] ? last : "no message");
		}
		return -1;
	}
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 0 &&
	    cr.pid != vm->relay_pid) {
		vm->relay_pid = cr.pid; /* an earlier hvd's: not our child */
		vm->relay_child = false;
	}
	vm->agent_fd = fd;
	return 0;
}

void hv_relay_reap(struct hv_vm *vm)
{
	if (vm->relay_pid <= 0)
		return;
	char how[64];
	for (int t = 0; t < RELAY_EXIT_MS / 50; t++) {
		if (vm->relay_child ? relay_exited(vm, how, sizeof(how)) : hv_pid_gone(vm->relay_pid)) {
			vm->relay_pid = 0;
			return;
		}
		/* It ends by itself once QEMU closes the channel; one whose QEMU
		 * never ran waits for nothing. */
		if (t == 2000 / 50)
			kill(vm->relay_pid, SIGTERM);
		usleep(50 * 1000);
	}
	hv_warn("job %s: the VM's relay (pid %d) did not end with its VM; killing it", vm->d.job,
		(int)vm->relay_pid);
	kill(vm->relay_pid, SIGKILL);
	if (vm->relay_child)
		waitpid(vm->relay_pid, NULL, 0);
	vm->relay_pid = 0;
}

/* What the relay asks: slurmstepd's sample of the VM before a task's end
 * reaches Slurm (accounting, docs/accounting.md). */
static void from_relay(struct hv_vm *vm, const struct vj_frame *f)
{
	uint64_t stream = 0;
	if (f->type != VJ_RELAY_ENDING ||
	    vj_kv_get_u64(f->payload, f->len, "stream", 1, UINT32_MAX, false, &stream, NULL)) {
		if (f->type != VJ_HELLO) /* HELLO: the agent answering one of ours */
			hv_debug("job %s: relay sent unexpected %s; dropped", vm->d.job,
				 vj_type_name(f->type));
		return;
	}
	if (vm->job_spool)
		hv_vm_sample_job(vm);
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "stream", stream);
	if (!kv.oom)
		hv_agent_send(vm, VJ_RELAY_SAMPLED, 0, kv.data, kv.len, NULL);
}

void hv_relay_end_all(struct hv_vm *vm, const char *msg)
{
	pthread_mutex_lock(&vm->slock);
	bool was = vm->agent_gone;
	vm->agent_gone = true;
	pthread_mutex_unlock(&vm->slock);
	if (was)
		return;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "msg", msg);
	if (!kv.oom)
		hv_agent_send(vm, VJ_RELAY_END_ALL, 0, kv.data, kv.len, NULL);
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
		from_relay(vm, &f);
		free(f.payload);
	}
	pthread_mutex_lock(&vm->slock);
	vm->agent_gone = true;
	pthread_mutex_unlock(&vm->slock);
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

/* One frame to the relay with fd attached to its first byte. */
static int send_with_fd(struct hv_vm *vm, uint16_t type, const struct vj_kvbuf *kv, int fd,
			struct vj_err *err)
{
	uint8_t hdr[VJ_FRAME_HDR];
	vj_frame_header(hdr, type, 0, (uint32_t)kv->len);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {hdr, sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	pthread_mutex_lock(&vm->agent_wlock);
	ssize_t w;
	do
		w = sendmsg(vm->agent_fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	int rc = 0;
	if (w < 0)
		rc = vj_err_sys(err, errno, "cannot pass the command to the VM's relay");
	else if ((size_t)w < sizeof(hdr))
		rc = vj_write_all(vm->agent_fd, hdr + w, sizeof(hdr) - (size_t)w, err);
	if (!rc)
		rc = vj_write_all(vm->agent_fd, kv->data, kv->len, err);
	pthread_mutex_unlock(&vm->agent_wlock);
	return rc;
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

/* A fresh stream id, unique per VM for its lifetime; 0 is the connection. */
static int stream_id(struct hv_vm *vm, uint32_t *id, struct vj_err *err)
{
	pthread_mutex_lock(&vm->slock);
	bool gone = vm->agent_gone;
	*id = vm->next_stream++;
	if (vm->next_stream == 0 || (vm->next_stream & VJ_HOST_STREAM))
		vm->next_stream = 1; /* the guest's own streams have that bit */
	pthread_mutex_unlock(&vm->slock);
	return gone ? vj_err_set(err, EPIPE, "the VM of job %s stopped", vm->d.job) : 0;
}

/* Pass the client and its command to the VM's relay, which runs it and
 * relays it to its end (hvd/relay/): from here on the client's bytes never
 * pass through hvd, so hvd may restart while the command runs. */
static int exec_stream(const struct hv_config *cfg, struct hv_vm *vm, int cfd,
		       struct vj_reader *rd, const struct ucred *peer, const void *p, size_t len,
		       struct vj_err *err)
{
	cleanup_kv struct vj_kvbuf exec = VJ_KV_INIT;
	if (agent_request(vm, peer, p, len, &exec, err) < 0)
		return -1;
	/* Host commands for a task's vmexec only: a root client (hvctl exec
	 * by an admin) would run the guest's commands as root. */
	uint64_t hostcmd = 0;
	vj_kv_get_u64(p, len, "hostcmd", 0, 1, true, &hostcmd, NULL);
	uint32_t id;
	if (stream_id(vm, &id, err))
		return -1;
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_u64(&kv, "stream", id);
	vj_kv_add_u64(&kv, "hostcmds", hostcmd == 1 && peer->uid != 0);
	vj_kv_add(&kv, "exec", exec.data, exec.len);
	/* Where the guest's working directory is the host's too (host commands). */
	for (unsigned i = 0; i < cfg->nexports; i++) {
		char e[PATH_MAX];
		struct vj_err ignored;
		if (!hv_fs_export_path(cfg, i, vm->d.uid, vm->d.gid, e, sizeof(e), &ignored))
			vj_kv_add_str(&kv, "shared", e);
	}
	if (rd->len)
		vj_kv_add(&kv, "pending", rd->buf, rd->len);
	if (kv.oom || kv.len > (3u << 20) - VJ_FRAME_HDR)
		return vj_err_set(err, E2BIG, "exec request too large");
	struct vj_err serr;
	if (send_with_fd(vm, VJ_RELAY_EXEC, &kv, cfd, &serr))
		return vj_err_set(err, EPIPE, "cannot reach the agent of job %s: %s", vm->d.job,
				  serr.msg);
	rd->len = 0; /* the relay has it */
	hv_info("job %s: exec stream %u for uid %u (pid %d)", vm->d.job, id, (unsigned)peer->uid,
		(int)peer->pid);
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
