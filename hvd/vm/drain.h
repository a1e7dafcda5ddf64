/* Drain: the host refuses new VMs (running ones stay) until resumed. The
 * flag is a file, state_dir/drained holding the reason, so it survives a
 * restart of hvd (DESIGN.md principle 2). */
#ifndef HV_DRAIN_H
#define HV_DRAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "err.h"

/* Read the flag from state_dir at start-up. */
void hv_drain_load(const struct hv_config *cfg);
int hv_drain_set(const struct hv_config *cfg, const char *reason, struct vj_err *err);
int hv_drain_clear(const struct hv_config *cfg, struct vj_err *err);
/* true if drained; the reason goes to reason[sz]. */
bool hv_drained(char *reason, size_t sz);

#endif
