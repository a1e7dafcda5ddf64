#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "images/catalogue.h"
#include "base/fsutil.h"
#include "cleanup.h"
#include "kv.h"
#include "base/log.h"
#include "agent/relay.h"
#include "reply.h"
#include "req_admin.h"
#include "reqparse.h"
#include "req_images.h"
#include "req_policy.h"
#include "policy/current.h"
#include "vm/vm.h"
#include "vm/startfail.h"
#include "vm/vmlife.h"
#include "names.h"

#define REQUEST_TIMEOUT_MS 60000 /* an idle connection is dropped after this */

struct client {
	const struct hv_config *cfg;
	int fd;
	struct ucred peer;
};

static int get_name(const struct vj_frame *f, const char *key, char *out, size_t outsz,
		    struct vj_err *err)
{
	if (vj_kv_get_str(f->payload, f->len, key, out, outsz, NULL, err))
		return -1;
	if (!vj_name_valid(out))
		return vj_err_set(err, EINVAL, "invalid %s '%.64s' (allowed: [A-Za-z0-9._-]{1,64})", key,
				  out);
	return 0;
}

/* SIGHUP: the site policy is read again; the rest of hvd.conf needs a
 * restart (sockets, directories and VMs depend on it). */
static void reload_policy(const struct hv_config *cfg)
{
	struct vj_err err = {0};
	if (hv_policy_reload(cfg->policy, &err))
		hv_err("SIGHUP: policy not reloaded, the old one stays: %s", err.msg);
	else
		hv_info("SIGHUP: policy %s reloaded (the rest of hvd.conf needs a restart)",
			cfg->policy[0] ? cfg->policy : "(none)");
}

static void do_create(struct client *c, const struct vj_frame *f)
{
	struct vj_err err = {0};
	struct hv_vmdesc rq;
	if (hv_req_parse_create(f->payload, f->len, &rq, &err)) {
		vj_err_prefix(&err, "bad CREATE request");
		hv_reply_err(c->fd, err.msg);
		return;
	}
	/* The site policy, before anything is made for the job. */
	struct hv_decision d;
	if (hv_policy_for_job(rq.job, rq.image, &d, &err)) {
		hv_info("CREATE %s refused: %s", rq.job, err.msg);
		hv_startfail_note(rq.job, rq.uid, err.msg);
		hv_reply_err(c->fd, err.msg);
		return;
	}
	struct hv_vmdesc res;
	char domain[80];
	if (hv_vm_create(c->cfg, &rq, &res, domain, &err)) {
		hv_startfail_note(rq.job, rq.uid, err.msg);
		hv_reply_err(c->fd, err.msg);
		return;
	}
	hv_startfail_forget(rq.job);
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "domain", domain);
	hv_vmdesc_to_kv(&res, HV_IN_RESULT, &kv);
	hv_reply(c->fd, VJ_REPLY_OK, &kv);
	vj_kv_free(&kv);
}

static void do_destroy(struct client *c, const struct vj_frame *f)
{
	struct vj_err err = {0};
	char job[VJ_NAME_SZ];
	if (get_name(f, "job", job, sizeof(job), &err)) {
		vj_err_prefix(&err, "bad DESTROY request");
		hv_reply_err(c->fd, err.msg);
		return;
	}
	if (hv_vm_destroy(c->cfg, job, &err)) {
		vj_err_prefix(&err, "cannot destroy the VM of job %s", job);
		hv_err("%s", err.msg);
		hv_reply_err(c->fd, err.msg);
		return;
	}
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	hv_reply(c->fd, VJ_REPLY_OK, &kv);
	vj_kv_free(&kv);
}

static void list_one(struct hv_vm *vm, void *ud)
{
	vj_kv_add_fmt(ud, "vm", "job=%s uid=%u image=%s state=%s virt=%s age=%lld", vm->d.job,
		      (unsigned)vm->d.uid, vm->d.image, hv_vm_state_name(vm->state), vm->d.virt,
		      (long long)(time(NULL) - vm->d.created));
}

static void do_list(struct client *c)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	hv_table_lock();
	hv_table_foreach_locked(list_one, &kv);
	hv_table_unlock();
	hv_reply(c->fd, VJ_REPLY_OK, &kv);
	vj_kv_free(&kv);
}

static void do_status(struct client *c, const struct vj_frame *f)
{
	struct vj_err err = {0};
	char job[VJ_NAME_SZ];
	if (get_name(f, "job", job, sizeof(job), &err)) {
		vj_err_prefix(&err, "bad STATUS request");
		hv_reply_err(c->fd, err.msg);
		return;
	}
	/* Before the lock: it may ask NSS for slurm_user's uid. */
	bool priv = hv_auth_privileged(c->cfg, c->peer.uid);
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	hv_table_lock();
	struct hv_vm *vm = hv_table_find_locked(job);
	char denied[128] = "";
	if (vm && !priv && vm->d.uid != c->peer.uid) { /* a user queries only their own VM */
		snprintf(denied, sizeof(denied), "permission denied: the VM of job %s belongs to uid %u",
			 job, (unsigned)vm->d.uid);
		vm = NULL;
	}
	if (vm) {
		hv_vmdesc_to_kv(&vm->d, HV_IN_STATUS, &kv);
		vj_kv_add_str(&kv, "domain", vm->domain);
		vj_kv_add_str(&kv, "state", hv_vm_state_name(vm->state));
		vj_kv_add_u64(&kv, "age", (uint64_t)(time(NULL) - vm->d.created));
		vj_kv_add_str(&kv, "run_dir", vm->run_dir);
		vj_kv_add_str(&kv, "disk_dir", vm->disk_dir);
	}
	hv_table_unlock();
	if (denied[0]) {
		hv_auth_refused(c->fd, &c->peer, VJ_REQ_STATUS, job, denied);
	} else if (vm) {
		hv_reply(c->fd, VJ_REPLY_OK, &kv);
	} else {
		char msg[700], why[600];
		if (hv_startfail_get(job, c->peer.uid, priv, why, sizeof(why)))
			snprintf(msg, sizeof(msg), "job %s has no VM on this node: %s", job, why);
		else
			snprintf(msg, sizeof(msg), "job %s has no VM on this node", job);
		hv_reply_err(c->fd, msg);
	}
	vj_kv_free(&kv);
}

static void *client_main(void *arg)
{
	cleanup_free struct client *c = arg;
	cleanup_close int fd_owned = c->fd;
	struct vj_reader r;
	vj_reader_init(&r, VJ_FRAME_MAX);
	for (;;) {
		struct vj_frame f;
		struct vj_err rerr;
		int rc = vj_frame_read(c->fd, &r, &f, REQUEST_TIMEOUT_MS, &rerr);
		if (rc <= 0) {
			if (rc < 0 && rerr.code != ETIMEDOUT && rerr.code != ECONNRESET)
				hv_debug("client pid %d: %s", (int)c->peer.pid, rerr.msg);
			break;
		}
		hv_debug("request %s from uid %u pid %d", vj_type_name(f.type), (unsigned)c->peer.uid,
			 (int)c->peer.pid);
		bool last = false;
		if (f.stream != 0) {
			hv_reply_err(c->fd, "requests use stream 0");
		} else if (vj_kv_validate(f.payload, f.len, NULL)) {
			hv_reply_err(c->fd, "malformed request (bad key/value encoding)");
		} else if (hv_auth_request(c->cfg, c->fd, &c->peer, &f)) {
			/* Refused (munge credential or per-type policy), replied and
			 * logged; past this point c->peer is proven by munge too. */
			last = true;
		} else {
			switch (f.type) {
			case VJ_REQ_CREATE: do_create(c, &f); break;
			case VJ_REQ_DESTROY: do_destroy(c, &f); break;
			case VJ_REQ_LIST: do_list(c); break;
			case VJ_REQ_STATUS: do_status(c, &f); break;
			case VJ_REQ_IMAGES: hv_req_images(c->cfg, c->fd, &f); break;
			case VJ_REQ_CATALOGUE: hv_req_catalogue(c->cfg, c->fd, &f); break;
			case VJ_REQ_PULL: hv_req_pull(c->cfg, c->fd, &f); break;
			case VJ_REQ_EVICT: hv_req_evict(c->cfg, c->fd, &f); break;
			case VJ_REQ_DRAIN: hv_req_drain(c->cfg, c->fd, &f); break;
			case VJ_REQ_RESUME: hv_req_resume(c->cfg, c->fd, &f); break;
			case VJ_REQ_VMS: hv_req_vms(c->cfg, c->fd, &f); break;
			case VJ_REQ_POLICY: hv_req_policy(c->cfg, c->fd, &f); break;
			case VJ_REQ_EXEC:
				/* The connection now belongs to this one command. */
				hv_relay_exec(c->cfg, c->fd, &r, &c->peer, f.payload, f.len);
				last = true;
				break;
			default: hv_reply_err(c->fd, "unknown request"); break;
			}
		}
		free(f.payload);
		if (last)
			break;
	}
	vj_reader_free(&r);
	return NULL;
}

int hv_server_listen(const struct hv_config *cfg, struct vj_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(cfg->socket) >= sizeof(sa.sun_path))
		return vj_err_set(err, ENAMETOOLONG, "socket path too long: %s", cfg->socket);
	strcpy(sa.sun_path, cfg->socket);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", cfg->socket);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (hv_mkdir_p(dir, 0755, err))
			return -1;
	}
	/* A live hvd answers; a stale socket file from a dead one does not. */
	{
		cleanup_close int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return vj_err_sys(err, errno, "socket");
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return vj_err_set(err, EADDRINUSE, "another hvd is already serving %s",
					  cfg->socket);
	}
	unlink(cfg->socket);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_err_sys(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vj_err_sys(err, errno, "cannot bind %s", cfg->socket);
	/* Every local user may connect; each request is authorised by its munge
	 * credential and SO_PEERCRED (auth.c). */
	if (chmod(cfg->socket, 0666) < 0 || listen(fd, 128) < 0) {
		vj_err_sys(err, errno, "cannot listen on %s", cfg->socket);
		unlink(cfg->socket);
		return -1;
	}
	return vj_steal_fd(fd);
}

int hv_server_run(const struct hv_config *cfg, int lfd, int sigfd)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			hv_err("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload_policy(cfg);
					continue;
				}
				hv_info("signal %u: no longer accepting requests; VMs keep running",
					si.ssi_signo);
			}
			break;
		}
		if (!pfd[0].revents)
			continue;
		cleanup_close int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				hv_warn("accept: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE)
				usleep(100 * 1000);
			continue;
		}
		cleanup_free struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			hv_warn("cannot take a client: out of memory");
			continue;
		}
		socklen_t len = sizeof(c->peer);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len) < 0) {
			hv_warn("cannot identify a client: %s", strerror(errno));
			continue;
		}
		c->cfg = cfg;
		c->fd = fd;
		pthread_t t;
		int rc = pthread_create(&t, &attr, client_main, c);
		if (rc) {
			hv_warn("cannot start a client thread: %s", strerror(rc));
			continue;
		}
		/* The thread owns the client and its connection now. */
		vj_steal_ptr(c);
		vj_steal_fd(fd);
	}
	pthread_attr_destroy(&attr);
	close(lfd);
	unlink(cfg->socket);
	return 0;
}
