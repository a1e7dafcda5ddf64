/* The site's shared trees inside each VM: one filesystem gateway server
 * (fsgateway/, vmfs-server) per export and VM, serving its own virtio-serial
 * channel as the job owner. hvd.conf `export = /path` lines list the trees;
 * each is mounted at the same path in the guest (images/ rcS, vmfs-client). */
#ifndef HV_FSEXPORT_H
#define HV_FSEXPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct hv_config;
struct hv_vm;

/* Channel socket of export i: run_dir/fs.<i>.sock. */
void hv_fs_sock_path(const char *run_dir, unsigned i, char *out, size_t outsz);

/* " vmjob.fs=0:/a,1:/b" (or "" without exports) for the guest cmdline. */
int hv_fs_cmdline(const struct hv_config *c, char *out, size_t outsz, struct vj_err *err);

/* After the domain started: one vmfs-server per export, as root only until it
 * has connected its channel, then as the VM's owner. pids kept in vm. */
int hv_fs_start(const struct hv_config *c, struct hv_vm *vm, struct vj_err *err);

/* Stop and reap the VM's servers (they also exit by themselves once the
 * guest's end of the channel closes). Bounded: SIGTERM, then SIGKILL. */
void hv_fs_stop(struct hv_vm *vm);

#endif
