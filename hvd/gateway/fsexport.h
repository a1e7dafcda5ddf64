/* The site's shared trees inside each VM: one filesystem gateway server
 * (fsgateway/, vmfs-server) per export and VM, serving the job owner's
 * files. hvd.conf `export = /path` lines list the trees; each is mounted at
 * the same path in the guest (images/ rcS, vmfs-client). Two transports
 * (hvd.conf fs_transport): virtiofs, a vhost-user-fs device whose backend is
 * the server (QEMU connects to its socket while starting), or serial, FUSE
 * over a virtio-serial channel the server connects to once QEMU runs. */
#ifndef HV_FSEXPORT_H
#define HV_FSEXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct hv_config;
struct hv_vm;

/* The virtio-fs transport is in use (and there is something to export). */
bool hv_fs_virtiofs(const struct hv_config *c);

/* Socket of export i (the vhost-user or the channel socket): run_dir/fs.<i>.sock. */
void hv_fs_sock_path(const char *run_dir, unsigned i, char *out, size_t outsz);

/* Export i as the tree of a job owned by uid/gid: an export line may name
 * a per-user tree, %u standing for the owner's user name and %g for its
 * primary group's (`export = /home/%u`: a VM sees only its owner's home).
 * -1 with err if a name is unknown or could not be part of a path. */
int hv_fs_export_path(const struct hv_config *c, unsigned i, uid_t uid, gid_t gid, char *out,
		      size_t outsz, struct vj_err *err);

/* " vmjob.fs=0:/a,1:/b" (or "" without exports) for the guest cmdline of a
 * job owned by uid/gid, plus " vmjob.fsdev=virtiofs" with that transport. */
int hv_fs_cmdline(const struct hv_config *c, uid_t uid, gid_t gid, char *out, size_t outsz,
		  struct vj_err *err);

/* path (from a guest: hostile) names the same file inside the VM of a job
 * owned by uid/gid and on the host: it is absolute, has no "." or ".."
 * component, and is one of that job's exports or lies below one. */
bool hv_fs_shared(const struct hv_config *c, uid_t uid, gid_t gid, const char *path);

/* One vmfs-server per export, started as root (to make its socket or reach
 * the channel) and serving files as the VM's owner; pids kept in vm
 * (teardown stops them).
 * virtiofs: call BEFORE the domain starts; the socket is given to the user
 * QEMU runs as for domain type virt ("kvm" | "qemu"), and this returns once
 * every server listens (bounded), or fails with the server's last log line.
 * serial: call right after the domain started (QEMU makes the channels). */
int hv_fs_start(const struct hv_config *c, struct hv_vm *vm, const char *virt,
		struct vj_err *err);

/* An adopted VM's servers (started by an earlier hvd, not our children),
 * found in /proc by the socket each serves, for the gateway watch. */
void hv_fs_find(const struct hv_config *c, struct hv_vm *vm);
/* The index of a server of vm that is gone (exited, or a zombie), or -1. */
int hv_fs_dead(const struct hv_vm *vm);

/* Stop and reap the VM's servers (they also exit by themselves once QEMU
 * closes its end). Bounded: SIGTERM, then SIGKILL. */
void hv_fs_stop(struct hv_vm *vm);

#endif
