/* POLICY (anyone: what the site policy decides; common/frame.h): for a job
 * of Slurm's (the SPANK plugin asks for every job without --vm-image, so a
 * partition's jobs can run in a VM with no option), for facts an admin
 * gives (hvctl policy check), or the policy itself (hvctl policy). */
#ifndef HV_REQ_POLICY_H
#define HV_REQ_POLICY_H

#include "base/config.h"
#include "frame.h"

void hv_req_policy(const struct hv_config *cfg, int fd, const struct vj_frame *f);

#endif
