#include "imgcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"

/* Digests being downloaded right now; others wanting one wait on the cond. */
struct inflight {
	char sha256[65];
	struct inflight *next;
};
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cond = PTHREAD_COND_INITIALIZER;
static struct inflight *inflight;

static struct inflight **find(const char *sha)
{
	struct inflight **p;
	for (p = &inflight; *p; p = &(*p)->next)
		if (!strcmp((*p)->sha256, sha))
			break;
	return p;
}

static int download(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, const char *path, struct vj_err *err)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/.part-%.16s-XXXXXX", cache_dir, a->sha256);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot create a file in the image cache %s", cache_dir);
	char got[65];
	uint64_t bytes = 0;
	int rc = hv_fetch_fd(a->url, fd, got, &bytes, err);
	if (rc) {
		vj_err_prefix(err, "image '%s' (%s)", image, what);
	} else if (strcmp(got, a->sha256)) {
		rc = vj_err_set(err, EBADMSG,
				"image '%s': checksum mismatch for %s %s (catalogue says sha256 %.12s..., "
				"download has %.12s...)",
				image, what, a->url, a->sha256, got);
	} else if (fsync(fd) < 0 || fchmod(fd, 0444) < 0) {
		rc = vj_err_sys(err, errno, "cannot finish %s", tmp);
	} else if (rename(tmp, path) < 0) {
		rc = vj_err_sys(err, errno, "cannot rename %s to %s", tmp, path);
	}
	close(fd);
	if (rc)
		unlink(tmp);
	else
		hv_info("image '%s': cached %s %s (%llu bytes) as %s", image, what, a->url,
			(unsigned long long)bytes, path);
	return rc;
}

int hv_cache_ensure(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, char *path, size_t pathsz, struct vj_err *err)
{
	if (snprintf(path, pathsz, "%s/%s", cache_dir, a->sha256) >= (int)pathsz)
		return vj_err_set(err, ENAMETOOLONG, "cache path too long");
	pthread_mutex_lock(&cache_lock);
	while (*find(a->sha256))
		pthread_cond_wait(&cache_cond, &cache_lock);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		pthread_mutex_unlock(&cache_lock);
		return 0;
	}
	struct inflight *me = calloc(1, sizeof(*me));
	if (!me) {
		pthread_mutex_unlock(&cache_lock);
		return vj_err_set(err, ENOMEM, "out of memory");
	}
	strcpy(me->sha256, a->sha256);
	me->next = inflight;
	inflight = me;
	pthread_mutex_unlock(&cache_lock);

	/* The download runs without the lock: other digests proceed in parallel. */
	int rc = download(cache_dir, image, what, a, path, err);

	pthread_mutex_lock(&cache_lock);
	struct inflight **p = find(a->sha256);
	if (*p) {
		struct inflight *dead = *p;
		*p = dead->next;
		free(dead);
	}
	pthread_cond_broadcast(&cache_cond);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}
