/* Admin requests: DRAIN, RESUME (root) and VMS (anyone: what `hvctl vms`,
 * `cpu` and `metrics` show). Each replies OK or ERR itself. */
#ifndef HV_REQ_ADMIN_H
#define HV_REQ_ADMIN_H

#include "base/config.h"
#include "frame.h"

void hv_req_drain(const struct hv_config *cfg, int fd, const struct vj_frame *f);
void hv_req_resume(const struct hv_config *cfg, int fd, const struct vj_frame *f);
void hv_req_vms(const struct hv_config *cfg, int fd, const struct vj_frame *f);

#endif
