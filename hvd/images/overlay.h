/* The per-VM root disk: a qcow2 overlay over the cached read-only base (the
 * guest's writes land there and vanish at destroy). Scratch: scratch.h. */
#ifndef HV_DISK_H
#define HV_DISK_H

#include "err.h"

int hv_disk_overlay(const char *base, const char *base_format, const char *overlay,
		    struct vj_err *err);

#endif
