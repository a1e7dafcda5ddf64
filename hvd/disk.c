#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"

int hv_disk_overlay(const char *base, const char *base_format, const char *overlay,
		    struct vj_err *err)
{
	char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", (char *)base_format,
			"-b", (char *)base, (char *)overlay, NULL};
	if (hv_run(argv, err))
		return vj_err_prefix(err, "cannot create the root overlay %s", overlay);
	return 0;
}

int hv_disk_scratch(const char *path, uint64_t size_mb, struct vj_err *err)
{
	/* O_EXCL: a leftover from a crashed run is an error, never silently reused. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot create the scratch file %s", path);
	/* Sparse: space is taken only as the job writes. */
	if (ftruncate(fd, (off_t)(size_mb << 20)) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return vj_err_sys(err, e, "cannot size the scratch file %s to %llu MiB", path,
				  (unsigned long long)size_mb);
	}
	close(fd);
	/* lazy init keeps mkfs fast on large files; the guest kernel finishes it. */
	char *argv[] = {"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			(char *)path, NULL};
	if (hv_run(argv, err)) {
		unlink(path);
		return vj_err_prefix(err, "cannot make the scratch filesystem");
	}
	return 0;
}
