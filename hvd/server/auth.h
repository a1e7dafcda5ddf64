/* Who may ask hvd what. Every request carries a munge credential
 * (common/reqcred.h); this decodes it, checks it against the kernel's view
 * of the peer, applies the per-request-type policy, and logs each refusal
 * as one line: who, what, why. The policy on one VM (the owner may query and
 * run commands in it) is applied where the VM is looked up, through
 * hv_auth_privileged() and hv_auth_refused(). */
#ifndef HV_AUTH_H
#define HV_AUTH_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/config.h"
#include "frame.h"

/* Authenticate and authorise request f from peer (SO_PEERCRED of the
 * connection). 0: go on, and peer->uid/gid are proven by munge too. -1: ERR
 * already sent to fd and the refusal logged; the caller drops the connection. */
int hv_auth_request(const struct hv_config *cfg, int fd, const struct ucred *peer,
		    const struct vj_frame *f);

/* Root or the configured slurm_user: may create, destroy and see every VM. */
bool hv_auth_privileged(const struct hv_config *cfg, uid_t uid);

/* Log a refusal decided elsewhere (one line) and, if fd >= 0, reply ERR why. */
void hv_auth_refused(int fd, const struct ucred *peer, uint16_t type, const char *job,
		     const char *why);

#endif
