#include "imguse.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "cleanup.h"
#include "libvirt/domain.h"
#include "base/sha256.h"
#include "names.h"

#define HDR_READ 65536u    /* qemu-img writes the backing name inside the first cluster */
#define CMDLINE_MAX 131072 /* QEMU's argv under libvirt is a few KiB */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hv_qcow2_backing(const uint8_t *hdr, size_t n, char *out, size_t outsz)
{
	if (n < 20 || memcmp(hdr, "QFI\xfb", 4))
		return 0;
	uint64_t off = be64(hdr + 8);
	uint32_t len = be32(hdr + 16);
	if (off == 0 || len == 0)
		return 0;
	if (off > n || len > n - off || len >= outsz)
		return -1;
	memcpy(out, hdr + off, len);
	out[len] = '\0';
	if (memchr(out, '\0', len))
		return -1;
	return 1;
}

static int add(struct hv_uses *u, const char *sha, const char *who)
{
	for (size_t i = 0; i < u->n; i++)
		if (!strcmp(u->v[i].sha256, sha) && !strcmp(u->v[i].who, who))
			return 0;
	struct hv_use *nv = realloc(u->v, (u->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	u->v = nv;
	snprintf(u->v[u->n].sha256, sizeof(u->v[u->n].sha256), "%s", sha);
	snprintf(u->v[u->n].who, sizeof(u->v[u->n].who), "%s", who);
	u->n++;
	return 0;
}

/* The digest naming the cache file at path, if path is cache_dir/<sha256>. */
static const char *cache_name(const char *path, const char *cache_dir)
{
	size_t l = strlen(cache_dir);
	if (strncmp(path, cache_dir, l) || path[l] != '/')
		return NULL;
	return hv_sha256_valid(path + l + 1) ? path + l + 1 : NULL;
}

/* The cache file (if any) that the overlay f in directory jd is backed by. */
static void scan_overlay(DIR *jd, const char *name, const char *job, uint8_t *hdr,
			 const char *cache_dir, const char *real_cache, struct hv_uses *u,
			 bool *oom)
{
	size_t l = strlen(name);
	if (l < 6 || strcmp(name + l - 6, ".qcow2"))
		return;
	ssize_t n;
	{
		/* O_NOFOLLOW: only files hvd made there count, never a planted link. */
		cleanup_close int fd = openat(dirfd(jd), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return;
		n = pread(fd, hdr, HDR_READ, 0);
	}
	char backing[PATH_MAX], real[PATH_MAX], who[80];
	if (n <= 0 || hv_qcow2_backing(hdr, (size_t)n, backing, sizeof(backing)) != 1)
		return;
	const char *sha = cache_name(backing, cache_dir);
	if (!sha && realpath(backing, real))
		sha = cache_name(real, real_cache);
	snprintf(who, sizeof(who), "%.64s", job);
	if (sha && add(u, sha, who))
		*oom = true;
}

static int scan_overlays(const char *cache_dir, const char *real_cache, const char *state_dir,
			 struct hv_uses *u, struct vj_err *err)
{
	char vmdir[PATH_MAX];
	if (hv_path(vmdir, sizeof(vmdir), "%s/vm", state_dir))
		return vj_err_set(err, ENAMETOOLONG, "state directory path too long");
	cleanup_closedir DIR *d = opendir(vmdir);
	if (!d)
		return errno == ENOENT ? 0 : vj_err_sys(err, errno, "cannot scan the VM disks in %s", vmdir);
	cleanup_free uint8_t *hdr = malloc(HDR_READ);
	if (!hdr)
		return vj_err_set(err, ENOMEM, "out of memory");
	bool oom = false;
	struct dirent *job;
	while (!oom && (job = readdir(d))) {
		if (job->d_name[0] == '.')
			continue;
		char jdir[PATH_MAX];
		if (hv_path(jdir, sizeof(jdir), "%s/%s", vmdir, job->d_name))
			continue;
		cleanup_closedir DIR *jd = opendir(jdir);
		if (!jd)
			continue;
		struct dirent *f;
		while (!oom && (f = readdir(jd)))
			scan_overlay(jd, f->d_name, job->d_name, hdr, cache_dir, real_cache, u, &oom);
	}
	return oom ? vj_err_set(err, ENOMEM, "out of memory scanning %s", vmdir) : 0;
}

/* Every cache file named anywhere in argv (a -kernel argument, a -b, or a
 * path inside libvirt's -blockdev JSON). */
static int scan_args(const char *buf, size_t n, const char *dir, const char *who,
		     struct hv_uses *u)
{
	size_t dl = strlen(dir);
	for (size_t i = 0; i + dl + 65 <= n; i++) {
		if (memcmp(buf + i, dir, dl) || buf[i + dl] != '/')
			continue;
		char sha[VJ_SHA256_SZ];
		memcpy(sha, buf + i + dl + 1, 64);
		sha[64] = '\0';
		char after = i + dl + 65 < n ? buf[i + dl + 65] : '\0';
		if (hv_sha256_valid(sha) && !isalnum((unsigned char)after) && add(u, sha, who))
			return -1;
	}
	return 0;
}

/* /proc/<pid>/cmdline into buf (NUL-terminated); its length, or -1. */
static ssize_t read_cmdline(const char *pid, char *buf, size_t bufsz)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%.20s/cmdline", pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	ssize_t r;
	while (n < bufsz - 1 && (r = read(fd, buf + n, bufsz - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return (ssize_t)n;
}

static int scan_procs(const char *cache_dir, const char *real_cache, struct hv_uses *u,
		      struct vj_err *err)
{
	cleanup_closedir DIR *d = opendir("/proc");
	if (!d)
		return vj_err_sys(err, errno, "cannot scan /proc for users of the image cache");
	cleanup_free char *buf = malloc(CMDLINE_MAX);
	if (!buf)
		return vj_err_set(err, ENOMEM, "out of memory");
	struct dirent *p;
	while ((p = readdir(d))) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		ssize_t got = read_cmdline(p->d_name, buf, CMDLINE_MAX);
		if (got < 0)
			continue;
		size_t n = (size_t)got;
		if (!memmem(buf, n, cache_dir, strlen(cache_dir)) &&
		    !memmem(buf, n, real_cache, strlen(real_cache)))
			continue;
		/* QEMU under libvirt: -name guest=vmjob-<job>,... says whose it is. */
		char who[80];
		snprintf(who, sizeof(who), "pid:%.20s", p->d_name);
		for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
			const char *g = "guest=" HV_DOMAIN_PREFIX;
			if (!strncmp(buf + i, g, strlen(g))) {
				const char *j = buf + i + strlen(g);
				snprintf(who, sizeof(who), "%.*s", (int)strcspn(j, ","), j);
				break;
			}
		}
		if (scan_args(buf, n, cache_dir, who, u) ||
		    (strcmp(cache_dir, real_cache) && scan_args(buf, n, real_cache, who, u)))
			return vj_err_set(err, ENOMEM, "out of memory scanning /proc");
	}
	return 0;
}

int hv_uses_scan(const char *cache_dir, const char *state_dir, struct hv_uses *out,
		 struct vj_err *err)
{
	struct hv_uses u = {0};
	char real_cache[PATH_MAX];
	if (!realpath(cache_dir, real_cache))
		snprintf(real_cache, sizeof(real_cache), "%s", cache_dir);
	if (scan_overlays(cache_dir, real_cache, state_dir, &u, err) ||
	    scan_procs(cache_dir, real_cache, &u, err)) {
		hv_uses_free(&u);
		return -1;
	}
	*out = u;
	return 0;
}

void hv_uses_free(struct hv_uses *u)
{
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

size_t hv_uses_of(const struct hv_uses *u, const char *sha, char *buf, size_t bufsz)
{
	size_t count = 0, used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < u->n; i++) {
		if (strcmp(u->v[i].sha256, sha))
			continue;
		/* The same job may hold a file twice (overlay and QEMU): name it once. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(u->v[j].sha256, sha) && !strcmp(u->v[j].who, u->v[i].who);
		if (seen)
			continue;
		count++;
		int w = snprintf(buf + used, bufsz - used, "%s%s", used ? "," : "", u->v[i].who);
		if (w < 0 || (size_t)w >= bufsz - used)
			break; /* truncated list; the count stays right */
		used += (size_t)w;
	}
	return count;
}
