/* Talking to hvd over its Unix socket: the one client of hvd's request
 * protocol, shared by the SPANK plugin (CREATE, DESTROY as root in
 * slurmstepd / the epilog), vmexec (REQ_EXEC as the job's user) and hvctl
 * (every verb). Framing and kv coding are common/'s; this only adds the
 * connect, the credential, the one-request-one-reply exchange and the error
 * wording users see. An exec stream's relay is hvdexec.h's. */
#ifndef VMJOB_HVDCLIENT_H
#define VMJOB_HVDCLIENT_H

#include <stdint.h>

#include "err.h"
#include "frame.h"
#include "kv.h"

/* err->code after a failed call, so callers can tell "hvd is not there"
 * (e.g. the epilog of a job that never had a VM) from "hvd said no". */
#define VJ_HVD_UNREACHABLE 0x10001 /* socket missing, refused, or hvd hung up */
#define VJ_HVD_REFUSED 0x10002     /* hvd answered ERR: msg is its own line */
#define VJ_HVD_NO_CRED 0x10003     /* no munge credential (munged down?) */
#define VJ_HVD_HUNG_UP 0x10004     /* hvd closed the connection before it answered */
/* hvd is not there, or went away mid-request (killed, restarted). */
#define vj_hvd_gone(e) ((e)->code == VJ_HVD_UNREACHABLE || (e)->code == VJ_HVD_HUNG_UP)

/* Send one request frame on stream 0 with a fresh munge credential appended
 * as its last kv entry (common/reqcred.h): hvd refuses requests without one.
 * The only place clients (plugin, vmexec, hvctl) make credentials (the munge
 * call itself is cred.c's). req may be NULL (no fields). 0, or -1 with err
 * set (VJ_HVD_NO_CRED: no credential). */
int vj_hvd_send(int fd, uint16_t type, const struct vj_kvbuf *req, struct vj_err *err);

/* Connect to hvd's socket (close-on-exec). fd, or -1 with err set. */
int vj_hvd_connect(const char *path, struct vj_err *err);

/* Send one request (vj_hvd_send) and wait up to timeout_ms (-1: forever) for
 * the reply. OK: 0, *reply (if not NULL) holds the frame (payload malloc'd,
 * caller frees). ERR: -1, err->code VJ_HVD_REFUSED and err->msg hvd's
 * message verbatim. hvd hung up: VJ_HVD_HUNG_UP; no reply in time:
 * ETIMEDOUT; another frame: EPROTO. */
int vj_hvd_request(int fd, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		   struct vj_frame *reply, struct vj_err *err);

/* connect + request + close. */
int vj_hvd_call(const char *path, uint16_t type, const struct vj_kvbuf *req, int timeout_ms,
		struct vj_frame *reply, struct vj_err *err);

#endif
