/* The virtio-fs transport's bridge: the process that holds QEMU's
 * vhost-user connection, while the FUSE server (a child) serves the
 * virtqueues (vqserve.h). Two processes, so that when the server dies the
 * guest gets EIO for every request instead of a mount that hangs: QEMU's
 * vhost-user-fs cannot reconnect to a new backend, and the guest's virtiofs
 * driver has no timeout. */
#ifndef FSGW_BRIDGE_H
#define FSGW_BRIDGE_H

#include <signal.h>
#include <sys/types.h>

struct vq_shared;

/* Accept QEMU on listen_fd (bound at path; only a peer running as peer_uid,
 * or root; we give up if path disappears first), then
 * relay its control messages to the server over ctl until QEMU disconnects
 * (returns 0) or *stop is set (returns 0) or the connection breaks (1).
 * server is the server's pid (reaped here if it dies), sh the page it
 * shares. Closing ctl before returning ends the server. */
int fsgw_bridge_run(int listen_fd, const char *path, uid_t peer_uid, int ctl, pid_t server,
		    struct vq_shared *sh, volatile sig_atomic_t *stop);

#endif
