/* vmfs-client: the guest half of the filesystem gateway. It owns nothing
 * but two fds: /dev/fuse, where the guest kernel queues FUSE requests, and
 * the virtio-serial port to the host's vmfs-server. Requests go out as they
 * are, replies come back as they are; FUSE messages carry their own length. */
#ifndef VMFS_CLIENT_H
#define VMFS_CLIENT_H

#include <stddef.h>

#include "err.h"

/* Big enough for the largest request the kernel may queue (headers + a
 * 1 MiB WRITE, the most libfuse 3.14 negotiates) and the largest reply. */
#define VMFS_BUF (1u << 20) + (64u << 10)

/* port.c: NAME (org.vmjob.fs.0) or a path (/dev/vport1p2, or a Unix
 * socket for host-side tests). Writes the device path to out. */
int vmfs_resolve_port(const char *arg, char *out, size_t n, struct vj_err *err);
/* Opens the port and waits up to wait_s seconds for the host end. */
int vmfs_open_port(const char *path, int wait_s, struct vj_err *err);

/* mount.c: opens /dev/fuse and mounts it at mnt; returns the fuse fd. */
int vmfs_mount(const char *mnt, struct vj_err *err);
/* mount.c: the virtio-fs transport (kernel cmdline vmjob.fsdev=virtiofs):
 * the guest kernel's virtiofs driver talks to the host's vhost-user-fs
 * backend itself, so there is nothing to forward. Mounts the device tagged
 * tag at mnt, then waits up to wait_s seconds for the host to answer a
 * first request; if none comes, or a bad one, it is unmounted again. */
int vmfs_mount_virtiofs(const char *tag, const char *mnt, int wait_s, struct vj_err *err);

/* forward.c: pumps requests and replies until the filesystem is unmounted.
 * If the host side goes away, every pending and later request fails with
 * EIO (never hangs) until the mount is taken down. */
int vmfs_forward(int fuse_fd, int port_fd, int nthreads, struct vj_err *err);

#endif
