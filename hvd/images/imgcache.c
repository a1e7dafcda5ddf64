#include "imgcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "cleanup.h"
#include "base/fsutil.h"
#include "imguse.h"
#include "base/log.h"
#include "base/sha256.h"
#include "vm/vm.h"
#include "names.h"

#define PART_PREFIX ".part-"
#define MAX_ATTEMPTS 5 /* transfers per download, each after one that made progress */

static struct {
	char cache_dir[PATH_MAX], state_dir[PATH_MAX];
	uint64_t limit; /* bytes, 0 = none */
} conf;

/* One download in progress (or just ended, while waiters still read its
 * result). Waiters sleep on its own condition, not on a global one. */
struct flight {
	char sha256[VJ_SHA256_SZ];
	pthread_cond_t cond;
	bool done;
	int rc;
	struct vj_err err;
	int refs;
	struct flight *next;
};

/* A file handed out that no real system names yet: a VM of `image` is
 * between hv_cache_ensure and its overlay/QEMU, or a pull holds it. Pins are
 * only meaningful while this hvd lives; a restarted hvd has no VM half-built
 * by the old one to protect (those are torn down). */
struct pin {
	char sha256[VJ_SHA256_SZ], image[VJ_NAME_SZ];
	int held; /* explicit holds (pull); else valid while a VM of image is booting */
	struct pin *next;
};

/* Guards flights and pins only; never held across I/O longer than an unlink. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct flight *flights;
static struct pin *pins;

void hv_cache_configure(const struct hv_config *cfg)
{
	snprintf(conf.cache_dir, sizeof(conf.cache_dir), "%s", cfg->cache_dir);
	snprintf(conf.state_dir, sizeof(conf.state_dir), "%s", cfg->state_dir);
	conf.limit = cfg->cache_size_mb << 20;
}

uint64_t hv_cache_limit(void)
{
	return conf.limit;
}

/* ---- pins and flights (cache lock held) ---- */

struct booting_q {
	const char *image;
	bool found;
};
static void booting_one(struct hv_vm *vm, void *ud)
{
	struct booting_q *q = ud;
	if (vm->state == HV_VM_BOOTING && !strcmp(vm->d.image, q->image))
		q->found = true;
}

/* Lock order: cache lock, then the VM table lock (never the reverse). */
static bool pin_valid_locked(const struct pin *p)
{
	if (p->held > 0)
		return true;
	struct booting_q q = {.image = p->image};
	hv_table_lock();
	hv_table_foreach_locked(booting_one, &q);
	hv_table_unlock();
	return q.found;
}

static void pin_add_locked(const char *sha, const char *image, bool hold)
{
	struct pin *p;
	for (p = pins; p; p = p->next)
		if (!strcmp(p->sha256, sha) && !strcmp(p->image, image))
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			hv_warn("image cache: out of memory recording a use of %s", sha);
			return;
		}
		snprintf(p->sha256, sizeof(p->sha256), "%s", sha);
		snprintf(p->image, sizeof(p->image), "%s", image);
		p->next = pins;
		pins = p;
	}
	if (hold)
		p->held++;
}

static void pin_release(const char *sha, const char *image)
{
	pthread_mutex_lock(&lock);
	for (struct pin *p = pins; p; p = p->next)
		if (!strcmp(p->sha256, sha) && !strcmp(p->image, image) && p->held > 0) {
			p->held--;
			break;
		}
	pthread_mutex_unlock(&lock);
}

static void pins_prune_locked(void)
{
	for (struct pin **pp = &pins; *pp;) {
		if (!pin_valid_locked(*pp)) {
			struct pin *dead = *pp;
			*pp = dead->next;
			free(dead);
		} else {
			pp = &(*pp)->next;
		}
	}
}

static bool pinned_locked(const char *sha)
{
	for (struct pin *p = pins; p; p = p->next)
		if (!strcmp(p->sha256, sha) && pin_valid_locked(p))
			return true;
	return false;
}

static struct flight *flight_find_locked(const char *sha, bool active_only)
{
	for (struct flight *f = flights; f; f = f->next)
		if (!strcmp(f->sha256, sha) && (!active_only || !f->done))
			return f;
	return NULL;
}

static void flight_put_locked(struct flight *f)
{
	if (--f->refs > 0)
		return;
	for (struct flight **pp = &flights; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_cond_destroy(&f->cond);
	free(f);
}

/* ---- one download ---- */

static void touch(const char *path)
{
	/* mtime = last use: kept by the filesystem, so LRU survives restarts.
	 * The files are immutable, so mtime carries no other meaning here. */
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
		hv_warn("image cache: cannot record the last use of %s: %s", path, strerror(errno));
}

/* Feed the first len bytes of fd (what an earlier attempt left) to h. */
static int hash_prefix(int fd, uint64_t len, struct hv_sha256 *h)
{
	char buf[1 << 16];
	uint64_t off = 0;
	while (off < len) {
		size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		hv_sha256_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

/* Transfer into fd (the partial file, `have` bytes already in it and hashed
 * into *h), resuming after every interruption that made progress. */
static int transfer(const char *image, const char *what, const struct hv_artifact *a, int fd,
		    uint64_t have, struct hv_sha256 **h, uint64_t *total, struct vj_err *err)
{
	bool restarted = false;
	for (int attempt = 1;; attempt++) {
		if (have)
			hv_info("image '%s': resuming the %s download of %s at byte %llu", image, what,
				a->url, (unsigned long long)have);
		uint64_t n = 0;
		int rc = hv_fetch_append(a->url, fd, have, *h, &n, err);
		have += n;
		*total = have;
		if (rc == 0)
			return 0;
		if (err->code == ERANGE && !restarted) {
			/* The server cannot serve the rest: start over from byte 0. */
			hv_warn("image '%s': %s; downloading %s from the start", image, err->msg, what);
			restarted = true;
			hv_sha256_free(*h);
			if (!(*h = hv_sha256_new()))
				return vj_err_set(err, ENOMEM, "cannot initialise sha256");
			have = 0;
			continue;
		}
		if (n == 0 || attempt >= MAX_ATTEMPTS)
			return -1;
		hv_warn("image '%s': %s download interrupted after %llu bytes (%s); resuming", image,
			what, (unsigned long long)have, err->msg);
	}
}

/* Hash what an earlier attempt left in fd into a new *h; *have = its length
 * (0 if it cannot be read back, so the download starts over). */
static int resume_hash(int fd, struct hv_sha256 **h, uint64_t *have, struct vj_err *err)
{
	struct stat st;
	*have = 0;
	if (!(*h = hv_sha256_new()))
		return vj_err_set(err, ENOMEM, "cannot initialise sha256");
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return 0;
	if (hash_prefix(fd, (uint64_t)st.st_size, *h) == 0) {
		*have = (uint64_t)st.st_size;
		return 0;
	}
	hv_sha256_free(*h);
	if (!(*h = hv_sha256_new()))
		return vj_err_set(err, ENOMEM, "cannot initialise sha256");
	return 0;
}

/* Make the verified part file the cached artifact at path, durably. */
static int publish(int fd, const char *part, const char *path, const char *cache_dir,
		   struct vj_err *err)
{
	if (fsync(fd) < 0 || fchmod(fd, 0444) < 0)
		return vj_err_sys(err, errno, "cannot finish %s", part);
	if (rename(part, path) < 0)
		return vj_err_sys(err, errno, "cannot rename %s to %s", part, path);
	cleanup_close int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd); /* the rename itself survives a crash */
	return 0;
}

static int download(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, const char *path, struct vj_err *err)
{
	char part[PATH_MAX], got[VJ_SHA256_SZ];
	if (hv_path(part, sizeof(part), "%s/" PART_PREFIX "%s", cache_dir, a->sha256))
		return vj_err_set(err, ENAMETOOLONG, "cache path too long");
	/* A fixed name, not a random one: a later attempt (or a restarted hvd)
	 * finds what an interrupted one fetched and resumes from its end. */
	cleanup_close int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot create a file in the image cache %s", cache_dir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return vj_err_set(err, EBUSY, "image '%s': another process is writing %s", image, part);
	cleanup_sha256 struct hv_sha256 *h = NULL;
	uint64_t have = 0;
	if (resume_hash(fd, &h, &have, err))
		return -1;
	/* A previous life may have fetched everything and died before the rename. */
	struct hv_sha256 *peek = have ? hv_sha256_dup(h) : NULL;
	if (peek)
		hv_sha256_final(peek, got); /* frees peek */
	if (peek && !strcmp(got, a->sha256)) {
		hv_info("image '%s': %s already complete in %s", image, what, part);
	} else {
		if (transfer(image, what, a, fd, have, &h, &have, err)) {
			vj_err_prefix(err, "image '%s' (%s)", image, what);
			if (have == 0)
				unlink(part); /* nothing worth resuming */
			return -1; /* else the partial file stays: the next attempt resumes it */
		}
		hv_sha256_final(vj_steal_ptr(h), got);
		if (strcmp(got, a->sha256)) {
			unlink(part); /* never resumed from, never used */
			return vj_err_set(err, EBADMSG,
					  "image '%s': checksum mismatch for %s %s (catalogue says "
					  "sha256 %.12s..., download has %.12s...)",
					  image, what, a->url, a->sha256, got);
		}
	}
	if (publish(fd, part, path, cache_dir, err))
		return -1;
	hv_info("image '%s': cached %s %s (%llu bytes) as %s", image, what, a->url,
		(unsigned long long)have, path);
	return 0;
}

static void trim_after(const char *keep)
{
	struct vj_err err = {0};
	struct hv_evict_res *res = NULL;
	size_t n = 0;
	if (hv_cache_evict(HV_EVICT_TRIM, NULL, 0, keep, &res, &n, &err)) {
		hv_warn("image cache: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (res[i].evicted)
			hv_info("image cache: evicted %s%s (%llu bytes, least recently used)",
				res[i].partial ? PART_PREFIX : "", res[i].sha256,
				(unsigned long long)res[i].size);
	free(res);
}

static int ensure_one(const char *cache_dir, const char *image, const char *what,
		      const struct hv_artifact *a, bool hold, char *path, size_t pathsz,
		      bool *fetched, struct vj_err *err)
{
	*fetched = false;
	if (!hv_sha256_valid(a->sha256))
		return vj_err_set(err, EINVAL, "image '%s': bad sha256 for %s", image, what);
	if (hv_path(path, pathsz, "%s/%s", cache_dir, a->sha256))
		return vj_err_set(err, ENAMETOOLONG, "cache path too long");
	pthread_mutex_lock(&lock);
	struct flight *f = flight_find_locked(a->sha256, true);
	if (f) {
		/* Someone is downloading it: wait for that one transfer's outcome. */
		f->refs++;
		while (!f->done)
			pthread_cond_wait(&f->cond, &lock);
		int rc = f->rc;
		if (rc)
			*err = f->err;
		else
			pin_add_locked(a->sha256, image, hold);
		flight_put_locked(f);
		pthread_mutex_unlock(&lock);
		if (!rc)
			touch(path);
		return rc;
	}
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		/* Pinned under the lock: an eviction cannot slip in before our use. */
		pin_add_locked(a->sha256, image, hold);
		pthread_mutex_unlock(&lock);
		touch(path);
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		pthread_mutex_unlock(&lock);
		return vj_err_set(err, ENOMEM, "out of memory");
	}
	snprintf(f->sha256, sizeof(f->sha256), "%s", a->sha256);
	pthread_cond_init(&f->cond, NULL);
	f->refs = 1;
	f->next = flights;
	flights = f;
	pthread_mutex_unlock(&lock);

	/* No lock held: other digests download in parallel, and waiters for
	 * this one sleep on f->cond. */
	int rc = download(cache_dir, image, what, a, path, err);

	pthread_mutex_lock(&lock);
	f->done = true;
	f->rc = rc;
	if (rc)
		f->err = *err;
	else
		pin_add_locked(a->sha256, image, hold);
	pthread_cond_broadcast(&f->cond);
	flight_put_locked(f);
	pthread_mutex_unlock(&lock);
	if (!rc) {
		*fetched = true;
		trim_after(a->sha256);
	}
	return rc;
}

int hv_cache_ensure(const char *cache_dir, const char *image, const char *what,
		    const struct hv_artifact *a, char *path, size_t pathsz, struct vj_err *err)
{
	bool fetched;
	return ensure_one(cache_dir, image, what, a, false, path, pathsz, &fetched, err);
}

int hv_cache_pull(const struct hv_image *im, struct hv_pull_res res[3], struct vj_err *err)
{
	const struct hv_artifact *arts[3] = {&im->root, &im->kernel, &im->initrd};
	const char *whats[3] = {"root", "kernel", "initrd"};
	int rc = 0, held = 0;
	for (; held < 3 && !rc; held++) {
		char path[PATH_MAX];
		long long t0 = hv_now_ms();
		memset(&res[held], 0, sizeof(res[held]));
		res[held].what = whats[held];
		snprintf(res[held].sha256, sizeof(res[held].sha256), "%s", arts[held]->sha256);
		rc = ensure_one(conf.cache_dir, im->name, whats[held], arts[held], true, path,
				sizeof(path), &res[held].fetched, err);
		struct stat st;
		if (!rc && stat(path, &st) == 0)
			res[held].size = (uint64_t)st.st_size;
		res[held].ms = (long)(hv_now_ms() - t0);
		if (rc)
			held--; /* failed: nothing held for this one */
	}
	for (int i = 0; i < held; i++)
		pin_release(arts[i]->sha256, im->name);
	return rc;
}

/* ---- listing and eviction ---- */

static int scan_dir(struct hv_cache_entry **out, size_t *n, struct vj_err *err)
{
	DIR *d = opendir(conf.cache_dir);
	if (!d)
		return vj_err_sys(err, errno, "cannot read the image cache %s", conf.cache_dir);
	struct hv_cache_entry *v = NULL;
	size_t c = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		bool partial = !strncmp(name, PART_PREFIX, strlen(PART_PREFIX));
		const char *sha = partial ? name + strlen(PART_PREFIX) : name;
		struct stat st;
		if (!hv_sha256_valid(sha) || fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		struct hv_cache_entry *nv = realloc(v, (c + 1) * sizeof(*nv));
		if (!nv) {
			free(v);
			closedir(d);
			return vj_err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		memset(&v[c], 0, sizeof(v[c]));
		snprintf(v[c].sha256, sizeof(v[c].sha256), "%.64s", sha);
		v[c].partial = partial;
		v[c].size = (uint64_t)st.st_size;
		v[c].last_use = st.st_mtim.tv_sec;
		v[c].last_use_ns = st.st_mtim.tv_nsec;
		c++;
	}
	closedir(d);
	*out = v;
	*n = c;
	return 0;
}

static int by_last_use(const void *a, const void *b)
{
	const struct hv_cache_entry *x = a, *y = b;
	if (x->last_use != y->last_use)
		return x->last_use < y->last_use ? -1 : 1;
	if (x->last_use_ns != y->last_use_ns)
		return x->last_use_ns < y->last_use_ns ? -1 : 1;
	/* Same instant: the larger file first, so fewer files go. */
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->sha256, y->sha256);
}

/* Who uses what: pins first (taken before the scan, so a VM that turns from
 * booting to running in between is seen by one or the other), then the
 * real systems. In-use files get their last use refreshed. */
static int snapshot(struct hv_cache_entry **ents, size_t *n, struct hv_uses *u,
		    struct vj_err *err)
{
	struct hv_uses pinned = {0};
	pthread_mutex_lock(&lock);
	pins_prune_locked();
	size_t npins = 0;
	for (struct pin *p = pins; p; p = p->next)
		npins++;
	pinned.v = calloc(npins ? npins : 1, sizeof(*pinned.v));
	for (struct pin *p = pins; p && pinned.v; p = p->next, pinned.n++) {
		snprintf(pinned.v[pinned.n].sha256, sizeof(pinned.v[0].sha256), "%s", p->sha256);
		snprintf(pinned.v[pinned.n].who, sizeof(pinned.v[0].who), "%s:%s",
			 p->held ? "pull" : "booting", p->image);
	}
	pthread_mutex_unlock(&lock);
	if (!pinned.v)
		return vj_err_set(err, ENOMEM, "out of memory");
	struct hv_uses real = {0};
	if (hv_uses_scan(conf.cache_dir, conf.state_dir, &real, err)) {
		hv_uses_free(&pinned);
		return -1;
	}
	struct hv_use *all = realloc(pinned.v, (pinned.n + real.n + 1) * sizeof(*all));
	if (!all) {
		hv_uses_free(&pinned);
		hv_uses_free(&real);
		return vj_err_set(err, ENOMEM, "out of memory");
	}
	if (real.n)
		memcpy(all + pinned.n, real.v, real.n * sizeof(*all));
	u->v = all;
	u->n = pinned.n + real.n;
	hv_uses_free(&real);
	if (scan_dir(ents, n, err)) {
		hv_uses_free(u);
		return -1;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < *n; i++) {
		struct hv_cache_entry *e = &(*ents)[i];
		if (e->partial)
			continue;
		e->nusers = hv_uses_of(u, e->sha256, e->users, sizeof(e->users));
		if (e->nusers) {
			char path[PATH_MAX];
			if (!hv_path(path, sizeof(path), "%s/%s", conf.cache_dir, e->sha256))
				touch(path);
			e->last_use = now.tv_sec;
			e->last_use_ns = now.tv_nsec;
		}
	}
	qsort(*ents, *n, sizeof(**ents), by_last_use);
	return 0;
}

int hv_cache_list(struct hv_cache_entry **out, size_t *n, struct vj_err *err)
{
	struct hv_uses u;
	if (snapshot(out, n, &u, err))
		return -1;
	hv_uses_free(&u);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i].partial)
			(*out)[i].downloading = flight_find_locked((*out)[i].sha256, true) != NULL;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Remove one entry unless something started using it since the snapshot. */
static void evict_one(const struct hv_cache_entry *e, struct hv_evict_res *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->sha256, sizeof(r->sha256), "%s", e->sha256);
	r->partial = e->partial;
	r->size = e->size;
	if (e->nusers) {
		snprintf(r->why, sizeof(r->why), "in use by %.180s", e->users);
		return;
	}
	char path[PATH_MAX];
	if (hv_path(path, sizeof(path), "%s/%s%s", conf.cache_dir, e->partial ? PART_PREFIX : "",
		    e->sha256)) {
		snprintf(r->why, sizeof(r->why), "path too long");
		return;
	}
	pthread_mutex_lock(&lock);
	if (flight_find_locked(e->sha256, false))
		snprintf(r->why, sizeof(r->why), "being downloaded");
	else if (!e->partial && pinned_locked(e->sha256))
		snprintf(r->why, sizeof(r->why), "in use by a VM starting up");
	else if (unlink(path) < 0 && errno != ENOENT)
		snprintf(r->why, sizeof(r->why), "cannot remove: %s", strerror(errno));
	else
		r->evicted = true;
	pthread_mutex_unlock(&lock);
}

int hv_cache_evict(enum hv_evict_mode mode, char *const *shas, size_t nshas, const char *keep,
		   struct hv_evict_res **out, size_t *nout, struct vj_err *err)
{
	struct hv_cache_entry *ents = NULL;
	size_t n = 0;
	struct hv_uses u;
	*out = NULL;
	*nout = 0;
	if (mode == HV_EVICT_TRIM && conf.limit == 0)
		return 0;
	if (snapshot(&ents, &n, &u, err))
		return -1;
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += ents[i].size;
	struct hv_evict_res *res = calloc(n + nshas + 1, sizeof(*res));
	if (!res) {
		free(ents);
		hv_uses_free(&u);
		return vj_err_set(err, ENOMEM, "out of memory");
	}
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hv_cache_entry *e = &ents[i];
		if (mode == HV_EVICT_TRIM) {
			if (total <= conf.limit)
				break;
			if (e->nusers || (keep && !strcmp(keep, e->sha256)))
				continue; /* in use: not a candidate, nothing to report */
		} else if (mode == HV_EVICT_THESE) {
			bool want = false;
			for (size_t k = 0; k < nshas && !want; k++)
				want = !strcmp(shas[k], e->sha256);
			if (!want)
				continue;
		}
		evict_one(e, &res[nr]);
		if (res[nr].evicted)
			total -= e->size;
		nr++;
	}
	if (mode == HV_EVICT_THESE)
		for (size_t k = 0; k < nshas; k++) {
			bool seen = false;
			for (size_t i = 0; i < n && !seen; i++)
				seen = !strcmp(shas[k], ents[i].sha256);
			if (seen)
				continue;
			snprintf(res[nr].sha256, sizeof(res[nr].sha256), "%.64s", shas[k]);
			snprintf(res[nr].why, sizeof(res[nr].why), "not in the cache");
			nr++;
		}
	if (mode == HV_EVICT_TRIM && total > conf.limit)
		hv_warn("image cache: %llu MiB, over cache_size_mb = %llu: the rest is in use",
			(unsigned long long)(total >> 20), (unsigned long long)(conf.limit >> 20));
	free(ents);
	hv_uses_free(&u);
	*out = res;
	*nout = nr;
	return 0;
}
