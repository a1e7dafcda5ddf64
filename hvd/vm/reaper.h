/* The reaper: every reap_interval seconds, destroy the VMs whose Slurm job
 * has ended. The job epilog normally does this; the reaper covers the cases
 * where it never runs (slurmd died, the node was rebooted into hvd, an hvd
 * restart adopted a VM whose job ended meanwhile). */
#ifndef HV_REAPER_H
#define HV_REAPER_H

#include "base/config.h"

/* Starts the thread (a first pass right away) unless reap_interval is 0. */
void hv_reaper_start(const struct hv_config *cfg);

#endif
