/* Start-up recovery (DESIGN.md principle 2): hvd may have been killed at any
 * moment. Its view is rebuilt from libvirt (domains whose vmjob metadata
 * names this instance are adopted: table entry rebuilt, agent channel
 * reconnected) and from the disk (per-VM directories with no domain are the
 * leftovers of a create that never finished, and are removed). Whether an
 * adopted VM's job still lives is the reaper's question (reaper.h). */
#ifndef HV_ADOPT_H
#define HV_ADOPT_H

#include "base/config.h"

/* Run once, before requests are served. */
void hv_adopt_all(const struct hv_config *cfg);

#endif
