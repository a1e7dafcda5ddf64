/* KVM or TCG. KVM can be present but unusable (e.g. a paravirtual KVM that
 * hangs real guests), so with virt_type=auto hvd boots the image's kernel and
 * initrd once under -accel kvm with vmjob.probe=1 and uses KVM only if the
 * guest prints VMJOB-PROBE-OK in time. The verdict is cached in state_dir,
 * keyed by host kernel and QEMU version. */
#ifndef HV_PROBE_H
#define HV_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "err.h"

/* virt gets "kvm" or "qemu". */
int hv_probe_virt(const struct hv_config *cfg, const char *kernel, const char *initrd,
		  const char *cmdline, char virt[8], struct vj_err *err);

/* What hvd uses and why (hvctl vms): false while not yet decided (the
 * probe runs at the first CREATE). */
bool hv_probe_verdict(const struct hv_config *cfg, char virt[8], char *why, size_t whysz);

#endif
