/* hvd's image requests (docs/internals.md): IMAGES (anyone), PULL and
 * EVICT (root; the caller checks). Each answers one frame on fd. */
#ifndef HV_REQ_IMAGES_H
#define HV_REQ_IMAGES_H

#include "base/config.h"
#include "frame.h"

/* CATALOGUE: the images one may ask for (anyone). */
void hv_req_catalogue(const struct hv_config *cfg, int fd, const struct vj_frame *f);
void hv_req_images(const struct hv_config *cfg, int fd, const struct vj_frame *f);
void hv_req_pull(const struct hv_config *cfg, int fd, const struct vj_frame *f);
void hv_req_evict(const struct hv_config *cfg, int fd, const struct vj_frame *f);

#endif
