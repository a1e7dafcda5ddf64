#include "auth.h"

#include <errno.h>
#include <munge.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalogue.h"
#include "kv.h"
#include "base/log.h"
#include "reply.h"
#include "reqcred.h"
#include "base/sha256.h"
#include "names.h"

/* uid of a user name, or -1 if there is no such user. */
static long uid_of(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res)
		return -1;
	return (long)res->pw_uid;
}

bool hv_auth_privileged(const struct hv_config *cfg, uid_t uid)
{
	if (uid == 0)
		return true;
	/* Looked up per request: the account may be created after hvd starts. */
	long su = cfg->slurm_user[0] ? uid_of(cfg->slurm_user) : -1;
	return su >= 0 && (uid_t)su == uid;
}

void hv_auth_refused(int fd, const struct ucred *peer, uint16_t type, const char *job,
		     const char *why)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *name = getpwuid_r(peer->uid, &pw, buf, sizeof(buf), &res) == 0 && res
				   ? res->pw_name
				   : "?";
	hv_warn("refused %s%s%s from uid %u (%s) pid %d: %s", vj_type_name(type),
		job && job[0] ? " of job " : "", job ? job : "", (unsigned)peer->uid, name,
		(int)peer->pid, why);
	if (fd >= 0)
		hv_reply_err(fd, why);
}

/* The request's credential: the last kv entry, and the only one named
 * VJ_CRED_KEY. *signed_len = bytes of the payload before it. */
static int find_cred(const struct vj_frame *f, char *cred, size_t credsz, size_t *signed_len,
		     struct vj_err *err)
{
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	const uint8_t *start = it.p;
	bool found = false;
	for (;;) {
		const uint8_t *before = it.p;
		int rc = vj_kv_next(&it, &e);
		if (rc < 0)
			return vj_err_set(err, EPROTO, "malformed request");
		if (rc == 0)
			break;
		if (found)
			return vj_err_set(err, EPROTO, "the credential is not the request's last field");
		if (!vj_kv_key_is(&e, VJ_CRED_KEY))
			continue;
		if (e.vlen == 0 || e.vlen >= credsz || memchr(e.val, '\0', e.vlen))
			return vj_err_set(err, EPROTO, "the credential field is empty or too long");
		memcpy(cred, e.val, e.vlen);
		cred[e.vlen] = '\0';
		*signed_len = (size_t)(before - start);
		found = true;
	}
	if (!found)
		return vj_err_set(err, EACCES, "the request carries none");
	return 0;
}

/* Both identities, and why both:
 * - munge says who made the credential, bound to this request (type and
 *   payload hash), for a few minutes and for one use; it is the identity
 *   Slurm itself trusts, and it would still hold if requests ever arrived
 *   over a forwarded or remote socket, where SO_PEERCRED means nothing.
 * - SO_PEERCRED says who is at the other end of this connection. A
 *   credential is a bearer token: demanding that the two agree makes one
 *   that leaked (a log, a core dump, a compromised client) worthless to
 *   anyone but its owner; and the peer's pid is where supplementary groups
 *   are read from for EXEC, so it must be the credential's owner. */
static int identify(const struct ucred *peer, const struct vj_frame *f, struct vj_err *err)
{
	char cred[VJ_CRED_MAX + 1];
	size_t signed_len = 0;
	if (find_cred(f, cred, sizeof(cred), &signed_len, err))
		return -1;
	munge_ctx_t ctx = munge_ctx_create();
	if (!ctx)
		return vj_err_set(err, ENOMEM, "out of memory");
	void *what = NULL;
	int wlen = 0;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	munge_err_t e = munge_decode(cred, ctx, &what, &wlen, &uid, &gid);
	int rc = 0;
	if (e == EMUNGE_CRED_REPLAYED) {
		rc = vj_err_set(err, EACCES, "the credential was already used (replayed)");
	} else if (e != EMUNGE_SUCCESS) {
		const char *why = munge_ctx_strerror(ctx);
		rc = vj_err_set(err, EACCES, "%s", why ? why : munge_strerror(e));
	} else {
		struct hv_sha256 *h = hv_sha256_new();
		char hex[VJ_SHA256_SZ], want[160];
		if (!h) {
			rc = vj_err_set(err, ENOMEM, "out of memory");
		} else {
			hv_sha256_update(h, f->payload ? f->payload : (const void *)"", signed_len);
			hv_sha256_final(h, hex);
			int n = snprintf(want, sizeof(want), VJ_CRED_FMT, (unsigned)f->type, hex);
			if (wlen != n || memcmp(what, want, (size_t)n))
				rc = vj_err_set(err, EACCES, "the credential was made for another request");
		}
	}
	free(what);
	munge_ctx_destroy(ctx);
	if (rc)
		return rc;
	if (uid != peer->uid || gid != peer->gid)
		return vj_err_set(err, EACCES,
				  "the credential is uid/gid %u/%u's but the connection is %u/%u's",
				  (unsigned)uid, (unsigned)gid, (unsigned)peer->uid,
				  (unsigned)peer->gid);
	return 0;
}

/* The per-type policy; NULL if peer may send this type at all. */
static const char *type_policy(const struct hv_config *cfg, uid_t uid, uint16_t type, char *buf,
			       size_t bufsz)
{
	switch (type) {
	case VJ_REQ_CREATE:
	case VJ_REQ_DESTROY:
	case VJ_REQ_LIST: /* every job's VM: an ordinary user may see only their own */
	case VJ_REQ_VMS:
		if (hv_auth_privileged(cfg, uid))
			return NULL;
		snprintf(buf, bufsz,
			 "permission denied: %s is for root and the SlurmUser (%s) only%s",
			 vj_type_name(type), cfg->slurm_user[0] ? cfg->slurm_user : "root",
			 type == VJ_REQ_LIST || type == VJ_REQ_VMS
				 ? "; see your own job's VM with `hvctl status JOB`"
				 : "");
		return buf;
	case VJ_REQ_PULL:
	case VJ_REQ_EVICT:
	case VJ_REQ_DRAIN:
	case VJ_REQ_RESUME:
		if (uid == 0)
			return NULL;
		snprintf(buf, bufsz, "permission denied: %s are for root only",
			 type == VJ_REQ_PULL || type == VJ_REQ_EVICT ? "PULL and EVICT" : "DRAIN and RESUME");
		return buf;
	default:
		return NULL; /* STATUS, EXEC: decided on the VM; IMAGES, CATALOGUE: anyone */
	}
}

int hv_auth_request(const struct hv_config *cfg, int fd, const struct ucred *peer,
		    const struct vj_frame *f)
{
	char job[VJ_NAME_SZ] = "";
	if (vj_kv_get_str(f->payload, f->len, "job", job, sizeof(job), "", NULL) ||
	    (job[0] && !vj_name_valid(job)))
		job[0] = '\0'; /* only for the log line; never log what we cannot vouch for */
	struct vj_err err = {0};
	if (identify(peer, f, &err)) {
		char msg[sizeof(err.msg) + 64];
		snprintf(msg, sizeof(msg), "request refused: no valid munge credential (%s)", err.msg);
		hv_auth_refused(fd, peer, f->type, job, msg);
		return -1;
	}
	char buf[256];
	const char *why = type_policy(cfg, peer->uid, f->type, buf, sizeof(buf));
	if (why) {
		hv_auth_refused(fd, peer, f->type, job, why);
		return -1;
	}
	return 0;
}
