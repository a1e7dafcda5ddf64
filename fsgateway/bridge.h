/* The virtio-fs transport: a small process between QEMU's vhost-user-fs
 * device and the FUSE server proper. It owns the vhost-user connection and
 * the guest memory mapping, takes FUSE requests off the virtqueues, and
 * passes them over a stream to the server (the same framing the serial
 * transport uses, so the server and its validator are unchanged). The
 * server runs in its own process so that when it dies the guest gets EIO
 * for every request instead of a mount that hangs: QEMU's vhost-user-fs
 * cannot reconnect, and the guest's virtiofs driver has no timeout. */
#ifndef FSGW_BRIDGE_H
#define FSGW_BRIDGE_H

#include <signal.h>
#include <sys/types.h>

/* Accept QEMU on listen_fd (only a peer running as peer_uid, or root), then
 * serve until QEMU disconnects (returns 0) or *stop is set (returns 0) or
 * the connection breaks (returns 1). srv is the stream to the server; the
 * bridge closes it before returning, which ends the server. */
int fsgw_bridge_run(int listen_fd, uid_t peer_uid, int srv, volatile sig_atomic_t *stop);

#endif
