/* Admission: hvd admits or refuses what Slurm asks, with one clear line,
 * and never overcommits silently (DESIGN.md principle 1). */
#ifndef HV_ADMIT_H
#define HV_ADMIT_H

#include <stdint.h>

#include "base/config.h"
#include "err.h"

/* Host memory in MiB (MemTotal), read once. */
uint64_t hv_host_mem_mb(void);
/* May a new VM of mem_mb (the job's: guest and QEMU) start now? Call with the table lock held, and add
 * the VM to the table before dropping it, so two creates cannot both take
 * the last slot. 0, or -1 with the reason in err. */
int hv_admit_locked(const struct hv_config *cfg, unsigned mem_mb, struct vj_err *err);
/* The guest's RAM for a job granted job_mb: what QEMU itself needs
 * (vm_memory_overhead_mb) comes out of the job's memory, so the whole VM
 * stays within Slurm's grant (and its cgroup limit). 0, or -1 with err when
 * too little is left for a guest (HV_GUEST_MIN_MB). */
#define HV_GUEST_MIN_MB 64
int hv_guest_mem(const struct hv_config *cfg, unsigned job_mb, unsigned *guest_mb,
		 struct vj_err *err);
/* Sum of the memory of the VMs in the table, and their count (lock held). */
void hv_usage_locked(uint64_t *mem_mb, unsigned *vms);

#endif
