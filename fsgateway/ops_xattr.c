/* Extended attributes: only the user.* namespace crosses. trusted.* and
 * security.* carry host policy (and system.* ACLs would name host ids the
 * guest kernel does not enforce), so they are neither listed nor settable. */
#include "fsgw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define XATTR_MAX_VALUE (64u * 1024u)

static bool user_ns(const char *name)
{
	return strncmp(name, "user.", 5) == 0 && name[5] != '\0';
}

/* xattr calls need a path: the /proc/self/fd link of the pinned object.
 * Symlinks carry no user.* attributes on Linux, so they are refused. */
static struct fsgw_inode *xattr_target(fuse_req_t req, fuse_ino_t ino, char *path, size_t n)
{
	struct fsgw_inode *in = fsgw_inode_get(fsgw_of(req), ino);
	if (!in) {
		fuse_reply_err(req, errno);
		return NULL;
	}
	if (!S_ISREG(in->type) && !S_ISDIR(in->type)) {
		fuse_reply_err(req, ENOTSUP);
		return NULL;
	}
	snprintf(path, n, "/proc/self/fd/%d", in->fd);
	return in;
}

static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[64];
	if (!user_ns(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (!xattr_target(req, ino, path, sizeof(path)))
		return;
	if (size == 0) {
		ssize_t n = getxattr(path, name, NULL, 0);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_xattr(req, (size_t)n);
		return;
	}
	if (size > XATTR_MAX_VALUE)
		size = XATTR_MAX_VALUE;
	char *buf = malloc(size);
	ssize_t n = buf ? getxattr(path, name, buf, size) : (errno = ENOMEM, -1);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[64];
	if (!xattr_target(req, ino, path, sizeof(path)))
		return;
	ssize_t n = listxattr(path, NULL, 0);
	char *all = n > 0 ? malloc((size_t)n) : NULL;
	if (n > 0 && (!all || (n = listxattr(path, all, (size_t)n)) < 0)) {
		fuse_reply_err(req, all ? errno : ENOMEM);
		free(all);
		return;
	}
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	/* Keep the user.* names, packed in place. */
	size_t out = 0;
	for (ssize_t i = 0; i < n;) {
		size_t len = strnlen(all + i, (size_t)(n - i)) + 1;
		if (user_ns(all + i)) {
			memmove(all + out, all + i, len);
			out += len;
		}
		i += (ssize_t)len;
	}
	if (size == 0)
		fuse_reply_xattr(req, out);
	else if (out > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, all, out);
	free(all);
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	char path[64];
	if (!user_ns(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!xattr_target(req, ino, path, sizeof(path)))
		return;
	int r = setxattr(path, name, value, size, flags & (XATTR_CREATE | XATTR_REPLACE));
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[64];
	if (!user_ns(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!xattr_target(req, ino, path, sizeof(path)))
		return;
	fuse_reply_err(req, removexattr(path, name) < 0 ? errno : 0);
}

void fsgw_ops_xattr(struct fuse_lowlevel_ops *ops)
{
	ops->getxattr = fs_getxattr;
	ops->listxattr = fs_listxattr;
	ops->setxattr = fs_setxattr;
	ops->removexattr = fs_removexattr;
}
