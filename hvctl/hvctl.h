/* What hvctl's verb files share: the socket, the one request path, the one
 * way to fail. Every request goes through client/ (hvdclient.h); nothing
 * here opens a socket or reads a frame itself. */
#ifndef HVCTL_H
#define HVCTL_H

#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "kv.h"

/* hvd's socket: -s SOCKET, else $VMJOB_SOCKET, else VJ_DEFAULT_SOCKET
 * (common/paths.h). Set by main before any verb runs. */
extern const char *hvctl_socket;

/* How long hvctl_call waits for the reply. */
#define HVCTL_WAIT_FOREVER (-1)   /* CREATE, PULL, ...: as long as they take */
#define HVCTL_ADMIN_TIMEOUT_MS 30000 /* VMS, DRAIN, RESUME: hvd answers at once */

/* One request to hvd, one reply (vj_hvd_call). 0 with *reply the OK frame
 * (reply may be NULL; else the caller frees reply->payload), or -1 after
 * printing `hvctl: MESSAGE` (hvd's ERR line, or why it could not be asked)
 * on stderr: the caller only chooses the exit status. */
int hvctl_call(uint16_t type, const struct vj_kvbuf *kv, int timeout_ms, struct vj_frame *reply);

/* "hvctl: MESSAGE" on stderr, exit 1: a usage error or a failure with
 * nothing left to do. */
void hvctl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A verb's usage error: "hvctl VERB: MESSAGE (see 'hvctl VERB --help')",
 * exit 2 (common/cli.h). */
void hvctl_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* main.c: hvctl's usage on f; a verb's JOB argument (argv[i]) or a usage
 * error "missing JOB". */
void hvctl_usage(FILE *f);
const char *hvctl_need_job(int argc, char **argv, int i, const char *verb);

/* exec.c: `hvctl exec`; argv[0] is the verb. The exit status. */
int hvctl_exec_main(int argc, char **argv);

#endif
