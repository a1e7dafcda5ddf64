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
struct hv_sha256;
/* Body from byte offset on into fd at offset (the file is cut there first),
 * fed to h as it is written; h already holds the first offset bytes. *bytes:
 * what this call wrote, also on failure (the caller resumes from there).
 * err->code is ERANGE when the server cannot resume at offset. */
int hv_fetch_append(const char *url, int fd, uint64_t offset, struct hv_sha256 *h,
		    uint64_t *bytes, struct vj_err *err);
/* Resolve ref (absolute or relative) against base, like a browser would. */
int hv_url_resolve(const char *base, const char *ref, char *out, size_t outsz, struct vj_err *err);

#endif
