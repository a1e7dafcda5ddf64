/* Helpers shared by the operations: resolving one name under a directory
 * without ever leaving the export, and reopening pinned objects. */
#include "fsgw.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsgw_stat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

/* openat2 confined to the directory: names are single validated components
 * already, RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS make the kernel refuse
 * anything else too (a trailing symlink with O_PATH|O_NOFOLLOW is returned
 * as itself, never followed). */
static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

int fsgw_reopen(struct fsgw *g, const struct fsgw_inode *in, int flags)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", in->fd);
	return openat(g->proc_fd, num, flags | O_CLOEXEC | O_NOCTTY);
}

int fsgw_do_lookup(struct fsgw *g, fuse_ino_t parent, const char *name,
		   struct fuse_entry_param *e)
{
	struct fsgw_inode *dir = fsgw_dir_get(g, parent);
	if (!dir)
		return errno;
	if (!fsgw_safe_name(name, strnlen(name, NAME_MAX + 1)))
		return EINVAL;
	int fd = open_beneath(dir->fd, name, O_PATH, 0);
	if (fd < 0)
		return errno;
	memset(e, 0, sizeof(*e));
	if (fsgw_stat(fd, &e->attr) < 0) {
		int r = errno;
		close(fd);
		return r;
	}
	e->ino = fsgw_inode_ref(g, fd, &e->attr);
	if (!e->ino)
		return errno;
	e->generation = e->ino >> 32;
	e->attr_timeout = e->entry_timeout = g->timeout;
	return 0;
}

int fsgw_open_beneath(struct fsgw *g, fuse_ino_t parent, const char *name,
		      int flags, mode_t mode)
{
	struct fsgw_inode *dir = fsgw_dir_get(g, parent);
	if (!dir)
		return -1;
	if (!fsgw_safe_name(name, strnlen(name, NAME_MAX + 1))) {
		errno = EINVAL;
		return -1;
	}
	return open_beneath(dir->fd, name, flags, mode);
}
