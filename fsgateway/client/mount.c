/* Mounting: mount(2) with a /dev/fuse fd, no fusermount in the guest. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int vmfs_mount(const char *mnt)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* fuse is loaded but no devtmpfs node (a bare /dev): make it. */
		if (mknod("/dev/fuse", S_IFCHR | 0666, makedev(10, 229)) == 0 || errno == EEXIST)
			fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	struct stat st = { 0 };
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? errno : ENOTDIR;
		close(fd);
		errno = e;
		return -1;
	}
	/* No default_permissions: the guest kernel does not check modes, the
	 * host does, as the job owner, so guest root has exactly the owner's
	 * rights. allow_other: every guest user reaches it (the VM is the
	 * job's alone). nosuid/nodev: nothing on the share can raise
	 * privileges inside the guest either. */
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("vmfs", mnt, "fuse.vmfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
