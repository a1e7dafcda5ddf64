/* Mounting: mount(2) with a /dev/fuse fd, no fusermount in the guest. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* FUSE asks for at most 128 KiB of readahead (the default window), yet the
 * host negotiates 1 MiB requests (max_pages 256). Each request costs a
 * round trip through two processes and the port, so a sequential reader
 * gets far more per trip with a window as big as a request. Readahead
 * stays within an open file, whose cached pages the kernel drops at the
 * next open anyway (keep_cache is off): consistency is unchanged. Best
 * effort: a kernel without the knob just keeps its default. */
static void set_readahead(const char *mnt)
{
	/* The device number comes from mountinfo: a stat() of the mount
	 * point would wait for a host reply nobody forwards yet. The last
	 * entry for the path is the mount we just made. */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], path[96] = "";
	unsigned maj, min;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mp[4096];
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mp) == 3 && strcmp(mp, mnt) == 0)
			snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj, min);
	}
	fclose(f);
	int fd = path[0] ? open(path, O_WRONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return;
	(void)!write(fd, VMFS_READAHEAD_KB, sizeof(VMFS_READAHEAD_KB) - 1);
	close(fd);
}

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
	char opts[128], real[PATH_MAX] = "";
	if (!realpath(mnt, real))  /* mountinfo names it absolute and resolved */
		real[0] = '\0';
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("vmfs", mnt, "fuse.vmfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	set_readahead(real[0] ? real : mnt);
	return fd;
}
