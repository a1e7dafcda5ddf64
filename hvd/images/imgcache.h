/* Content-addressed image cache: cache_dir/<sha256>, read-only (0444).
 *
 * - A download goes to cache_dir/.part-<sha256> and is renamed into place
 *   only once its sha256 matches: a partial file is never used. The partial
 *   file stays after an interrupted transfer (or a killed hvd), and the next
 *   attempt resumes from its end (HTTP Range); the final sha256 covers all.
 * - Concurrent requests for the same digest share one download: the others
 *   wait on that download's own condition, and no lock is held while it runs.
 * - A file's mtime is its last use (set whenever a VM or a pull asks for it,
 *   and whenever it is seen in use), so LRU order survives restarts.
 * - cache_size_mb bounds the cache: after each download the least recently
 *   used files no VM uses are removed. "In use" is asked of the real systems
 *   (imguse.h) plus the VMs still starting up in hvd's table.
 * A catalogue entry whose sha256 changed simply names another file: VMs on
 * the old one keep it until they end and it ages out. */
#ifndef HV_IMGCACHE_H
#define HV_IMGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "catalogue.h"
#include "base/config.h"
#include "err.h"
#include "names.h"

/* Once at start-up, before any request: where the cache, the VM disks are
 * and the size limit. */
void hv_cache_configure(const struct hv_config *cfg);

/* Make sure a's content is in the cache; its path goes to path[pathsz].
 * what ("root", "kernel", ...) and image name only shape error messages.
 * The file is protected from eviction while a VM of this image is booting
 * (after that, its overlay and QEMU process protect it). */
int hv_cache_ensure(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, char *path, size_t pathsz, struct vj_err *err);

struct hv_pull_res {
	const char *what; /* "root", "kernel", "initrd" */
	char sha256[VJ_SHA256_SZ];
	uint64_t size;
	bool fetched; /* false: it was already cached */
	long ms;
};
/* All three files of im into the cache (hvctl pull). */
int hv_cache_pull(const struct hv_image *im, struct hv_pull_res res[3], struct vj_err *err);

struct hv_cache_entry {
	char sha256[VJ_SHA256_SZ];
	bool partial;     /* an unfinished download (.part-<sha256>) */
	bool downloading; /* ... being written right now */
	uint64_t size;
	time_t last_use;
	long last_use_ns; /* sub-second part: files of one image are used within a second */
	size_t nusers;
	char users[256]; /* comma-separated jobs (or pid:N) using it */
};
/* Every file in the cache, oldest last use first. Free *out. */
int hv_cache_list(struct hv_cache_entry **out, size_t *n, struct vj_err *err);

enum hv_evict_mode {
	HV_EVICT_TRIM,   /* least recently used unused files until under cache_size_mb */
	HV_EVICT_UNUSED, /* every file no VM uses */
	HV_EVICT_THESE,  /* the given digests, unless in use */
};
struct hv_evict_res {
	char sha256[VJ_SHA256_SZ];
	bool partial, evicted;
	uint64_t size;
	char why[200]; /* when not evicted */
};
/* Free *out. keep: a digest TRIM must not remove (the file just fetched). */
int hv_cache_evict(enum hv_evict_mode mode, char *const *shas, size_t nshas, const char *keep,
		   struct hv_evict_res **out, size_t *n, struct vj_err *err);
/* Limit in bytes, 0 = none; and the bytes in the cache now. */
uint64_t hv_cache_limit(void);

#endif
