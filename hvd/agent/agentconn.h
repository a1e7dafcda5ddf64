/* Connecting to a VM's agent channel (the host end of the virtio-serial port
 * org.vmjob.agent, or the VM's relay, which passes it on) and waiting for
 * the agent's HELLO. */
#ifndef HV_AGENTCONN_H
#define HV_AGENTCONN_H

#include <stdbool.h>

#include "err.h"
#include "frame.h"

/* Returns true if the wait should stop (the VM is being destroyed). */
typedef bool (*hv_abort_fn)(void *ud);

/* One attempt at the Unix socket path: the fd, or -1 with errno set (a
 * caller retries on ENOENT and ECONNREFUSED while the socket comes up). */
int hv_agent_try_connect(const char *path);

/* Connect to path and send HELLO every 500 ms until the agent answers with
 * HELLO or deadline_ms (monotonic) passes. Bytes after the HELLO stay in rd.
 * Returns the fd, or -1 with err set. */
int hv_agent_connect(const char *path, const char *job, long long deadline_ms,
		     struct vj_reader *rd, hv_abort_fn aborted, void *ud, struct vj_err *err);
/* The HELLO wait of hv_agent_connect on a connected fd (taken: closed on
 * failure). */
int hv_agent_handshake(int fd, const char *job, long long deadline_ms, struct vj_reader *rd,
		       hv_abort_fn aborted, void *ud, struct vj_err *err);

#endif
