/* Per-VM disks: a qcow2 overlay over the cached read-only base (the guest's
 * writes land there and vanish at destroy) and a scratch file with ext4. */
#ifndef HV_DISK_H
#define HV_DISK_H

#include <stdint.h>

#include "err.h"

int hv_disk_overlay(const char *base, const char *base_format, const char *overlay,
		    struct vj_err *err);
int hv_disk_scratch(const char *path, uint64_t size_mb, struct vj_err *err);

#endif
