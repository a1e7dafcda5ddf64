/* File backend: a sparse file with ext4 in the VM's disk directory
 * (state_dir/vm/<job>/scratch.img), for hosts without a volume group. The
 * directory itself is made and removed by vmlife.c with the overlay. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "cleanup.h"
#include "scratch.h"

static int file_path(const struct hv_config *cfg, const char *job, char *out, size_t outsz,
		     struct vj_err *err)
{
	if (hv_path(out, outsz, "%s/vm/%s/scratch.img", cfg->state_dir, job))
		return vj_err_set(err, ENAMETOOLONG, "scratch path for job %s too long", job);
	return 0;
}

int hv_scratch_file_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
			   struct hv_scratch *out, struct vj_err *err)
{
	char path[PATH_MAX];
	if (file_path(cfg, job, path, sizeof(path), err))
		return -1;
	/* O_EXCL: always a new inode (a leftover from a crashed run, or anything
	 * else at the path, symlinks included, is an error, never reused). A new
	 * sparse file reads as zeroes wherever it was not written, so a job can
	 * never see what the host's disk held before (the job is root in its VM
	 * and may read the whole disk raw). */
	{
		cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return vj_err_sys(err, errno, "cannot create the scratch file %s", path);
		/* Sparse: space is taken only as the job writes. */
		if (ftruncate(fd, (off_t)(size_mb << 20)) < 0) {
			vj_err_sys(err, errno, "cannot size the scratch file %s to %llu MiB", path,
				   (unsigned long long)size_mb);
			unlink(path);
			return -1;
		}
	}
	if (hv_scratch_mkfs(path, err)) {
		unlink(path);
		return -1;
	}
	snprintf(out->job, sizeof(out->job), "%s", job);
	snprintf(out->path, sizeof(out->path), "%s", path);
	out->block = false;
	out->size_mb = size_mb;
	return 0;
}

int hv_scratch_file_remove(const struct hv_config *cfg, const char *job, struct vj_err *err)
{
	char path[PATH_MAX];
	if (file_path(cfg, job, path, sizeof(path), err))
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return vj_err_sys(err, errno, "cannot remove %s", path);
	return 0;
}

int hv_scratch_file_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud,
			 struct vj_err *err)
{
	char dir[PATH_MAX];
	if (hv_path(dir, sizeof(dir), "%s/vm", cfg->state_dir))
		return vj_err_set(err, ENAMETOOLONG, "state_dir too long");
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return vj_err_sys(err, errno, "cannot read %s", dir);
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		/* Only entries hvd could have made; a planted symlink is not followed. */
		if (!hv_scratch_job_ok(de->d_name))
			continue;
		struct hv_scratch s = {.block = false};
		struct stat st;
		if (file_path(cfg, de->d_name, s.path, sizeof(s.path), NULL) ||
		    fstatat(dirfd(d), s.path + strlen(dir) + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		snprintf(s.job, sizeof(s.job), "%.64s", de->d_name); /* checked: <= 64 */
		s.size_mb = (uint64_t)st.st_size >> 20;
		rc = cb(&s, ud);
	}
	closedir(d);
	return rc;
}
