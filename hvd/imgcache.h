/* Content-addressed image cache: cache_dir/<sha256>, read-only (0444).
 * Concurrent requests for the same file share one download. */
#ifndef HV_IMGCACHE_H
#define HV_IMGCACHE_H

#include <stddef.h>

#include "catalogue.h"
#include "err.h"

/* Make sure a's content is in the cache; its path goes to path[pathsz].
 * what ("root", "kernel", ...) and image name only shape error messages. */
int hv_cache_ensure(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, char *path, size_t pathsz, struct vj_err *err);

#endif
