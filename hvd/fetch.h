/* Downloads through libcurl (http, https, file only; redirects may not leave
 * those protocols). Every transfer is bounded: connect and stall timeouts. */
#ifndef HV_FETCH_H
#define HV_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Call once, before any thread starts. */
int hv_fetch_global_init(struct vj_err *err);
/* Whole body into a malloc'd NUL-terminated buffer; fails beyond max bytes. */
int hv_fetch_mem(const char *url, size_t max, char **out, size_t *outlen, struct vj_err *err);
/* Body into fd, hashing as it goes: sha256 hex of what was written. */
int hv_fetch_fd(const char *url, int fd, char sha256_hex[65], uint64_t *bytes,
		struct vj_err *err);
/* Resolve ref (absolute or relative) against base, like a browser would. */
int hv_url_resolve(const char *base, const char *ref, char *out, size_t outsz, struct vj_err *err);

#endif
