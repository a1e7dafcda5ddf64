/* The uid:gid QEMU runs as under libvirt. The virtio-fs transport of the
 * filesystem gateway hands QEMU a Unix socket (mode 0600) that only QEMU may
 * connect to, so hvd must know whom to give it to: libvirt's DAC security
 * driver says so in its capabilities (<secmodel><model>dac</model>
 * <baselabel type='kvm'>+UID:+GID</baselabel>); no DAC driver = root. */
#ifndef HV_QEMUUSER_H
#define HV_QEMUUSER_H

#include <sys/types.h>

#include "err.h"

/* From a capabilities document: the base label of domain type virt ("kvm" |
 * "qemu"), else the other type's. 0:0 when there is no dac secmodel. */
int hv_qemu_user_parse(const char *caps, const char *virt, uid_t *uid, gid_t *gid,
		       struct vj_err *err);

/* The same, asking libvirt (virConnectGetCapabilities) on the shared connection. */
int hv_qemu_user(const char *virt, uid_t *uid, gid_t *gid, struct vj_err *err);

#endif
