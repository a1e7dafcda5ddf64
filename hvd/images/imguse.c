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

static int scan_overlays(const char *cache_dir, const char *real_cache, const char *state_dir,
			 struct hv_uses *u)
{
	char vmdir[PATH_MAX];
	snprintf(vmdir, sizeof(vmdir), "%s/vm", state_dir);
	DIR *d = opendir(vmdir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	uint8_t *hdr = malloc(HDR_READ);
	if (!hdr) {
		closedir(d);
		return -ENOMEM;
	}
	struct dirent *job;
	while ((job = readdir(d))) {
		if (job->d_name[0] == '.')
			continue;
		char jdir[PATH_MAX];
		if (snprintf(jdir, sizeof(jdir), "%s/%s", vmdir, job->d_name) >= (int)sizeof(jdir))
			continue;
		DIR *jd = opendir(jdir);
		if (!jd)
			continue;
		struct dirent *f;
		while ((f = readdir(jd))) {
			size_t l = strlen(f->d_name);
			if (l < 6 || strcmp(f->d_name + l - 6, ".qcow2"))
				continue;
			/* O_NOFOLLOW: only files hvd made there count, never a planted link. */
			int fd = openat(dirfd(jd), f->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0)
				continue;
			ssize_t n = pread(fd, hdr, HDR_READ, 0);
			close(fd);
			char backing[PATH_MAX], real[PATH_MAX], who[80];
			if (n <= 0 || hv_qcow2_backing(hdr, (size_t)n, backing, sizeof(backing)) != 1)
				continue;
			const char *sha = cache_name(backing, cache_dir);
			if (!sha && realpath(backing, real))
				sha = cache_name(real, real_cache);
			snprintf(who, sizeof(who), "%.64s", job->d_name);
			if (sha && add(u, sha, who)) {
				closedir(jd);
				closedir(d);
				free(hdr);
				return -ENOMEM;
			}
		}
		closedir(jd);
	}
	closedir(d);
	free(hdr);
	return 0;
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
			return -ENOMEM;
	}
	return 0;
}

static int scan_procs(const char *cache_dir, const char *real_cache, struct hv_uses *u)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	char *buf = malloc(CMDLINE_MAX);
	if (!buf) {
		closedir(d);
		return -ENOMEM;
	}
	int rc = 0;
	struct dirent *p;
	while (!rc && (p = readdir(d))) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%.20s/cmdline", p->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		size_t n = 0;
		ssize_t r;
		while (n < CMDLINE_MAX - 1 && (r = read(fd, buf + n, CMDLINE_MAX - 1 - n)) > 0)
			n += (size_t)r;
		close(fd);
		buf[n] = '\0';
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
		rc = scan_args(buf, n, cache_dir, who, u);
		if (!rc && strcmp(cache_dir, real_cache))
			rc = scan_args(buf, n, real_cache, who, u);
	}
	closedir(d);
	free(buf);
	return rc;
}

int hv_uses_scan(const char *cache_dir, const char *state_dir, struct hv_uses *out,
		 struct vj_err *err)
{
	struct hv_uses u = {0};
	char real_cache[PATH_MAX];
	if (!realpath(cache_dir, real_cache))
		snprintf(real_cache, sizeof(real_cache), "%s", cache_dir);
	int rc = scan_overlays(cache_dir, real_cache, state_dir, &u);
	if (rc) {
		hv_uses_free(&u);
		return vj_err_sys(err, -rc, "cannot scan the VM disks in %s/vm", state_dir);
	}
	rc = scan_procs(cache_dir, real_cache, &u);
	if (rc) {
		hv_uses_free(&u);
		return vj_err_sys(err, -rc, "cannot scan /proc for users of the image cache");
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
