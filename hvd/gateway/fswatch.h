/* The gateway watch: a VM whose filesystem gateway server died can no
 * longer serve its job (the guest's mount of that export would hang): its
 * streams end with one line naming the export, so the job's tasks fail at
 * once, and the VM is marked stopped (the job's epilog or the reaper
 * removes it). Also for VMs adopted after a restart (hv_fs_find). */
#ifndef HV_FSWATCH_H
#define HV_FSWATCH_H

#include "base/config.h"

/* Every FSWATCH_TICK_MS, for as long as hvd runs. */
void hv_fswatch_start(const struct hv_config *cfg);

#endif
