/* Inode-level operations: lookup and forget, attributes, links' targets,
 * access checks, statfs, and the INIT negotiation. */
#include "fsgw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Locks stay local to the guest kernel (we implement no getlk/setlk,
	 * so libfuse never offers them); no writeback cache, so every write
	 * reaches the host in order; no splice on a stream channel. */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_POSIX_LOCKS |
			FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_EXPORT_SUPPORT |
			FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			FUSE_CAP_SPLICE_MOVE | FUSE_CAP_POSIX_ACL);
	conn->time_gran = 1;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = fsgw_do_lookup(fsgw_of(req), parent, name, &e);
	if (r)
		fuse_reply_err(req, r);
	else if (fuse_reply_entry(req, &e) != 0)
		fsgw_inode_forget(fsgw_of(req), e.ino, 1);  /* request was interrupted */
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	fsgw_inode_forget(fsgw_of(req), ino, n);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		fsgw_inode_forget(fsgw_of(req), f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;  /* the O_PATH fd pins the same object as any open handle */
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_inode_get(g, ino);
	struct stat st;
	if (!in || fsgw_stat(in->fd, &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, g->timeout);
}

static int set_size(struct fsgw *g, struct fsgw_inode *in, struct fuse_file_info *fi, off_t size)
{
	struct fsgw_fh *f = fi ? fsgw_fh_get(g, fi->fh, FH_FILE) : NULL;
	if (f)
		return ftruncate(f->fd, size);
	if (!S_ISREG(in->type)) {
		errno = S_ISDIR(in->type) ? EISDIR : EINVAL;
		return -1;
	}
	int fd = fsgw_reopen(g, in, O_WRONLY);
	if (fd < 0)
		return -1;
	int r = ftruncate(fd, size);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_inode_get(g, ino);
	char num[16];
	if (!in)
		goto fail;
	snprintf(num, sizeof(num), "%d", in->fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (S_ISLNK(in->type)) {
			errno = EOPNOTSUPP;
			goto fail;
		}
		if (fchmodat(g->proc_fd, num, fsgw_mode(attr->st_mode), 0) < 0)
			goto fail;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		/* Ownership changes are the host kernel's call, as the owner. */
		uid_t u = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gr = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(in->fd, "", u, gr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			goto fail;
	}
	if ((valid & FUSE_SET_ATTR_SIZE) && set_size(g, in, fi, attr->st_size) < 0)
		goto fail;
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		if (utimensat(in->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			goto fail;
	}
	struct stat st;
	if (fsgw_stat(in->fd, &st) < 0)
		goto fail;
	fuse_reply_attr(req, &st, g->timeout);
	return;
fail:
	fuse_reply_err(req, errno);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fsgw_inode *in = fsgw_inode_get(fsgw_of(req), ino);
	char buf[PATH_MAX + 1];
	if (!in)
		goto fail;
	if (!S_ISLNK(in->type)) {
		errno = EINVAL;
		goto fail;
	}
	ssize_t n = readlinkat(in->fd, "", buf, sizeof(buf));
	if (n < 0)
		goto fail;
	if ((size_t)n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
	return;
fail:
	fuse_reply_err(req, errno);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fsgw_inode *in = fsgw_inode_get(fsgw_of(req), ino);
	struct statvfs sv;
	if (!in || fstatvfs(in->fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_inode_get(g, ino);
	char num[16];
	if (!in) {
		fuse_reply_err(req, errno);
		return;
	}
	if (S_ISLNK(in->type)) {
		fuse_reply_err(req, 0);  /* the guest checks the target by itself */
		return;
	}
	snprintf(num, sizeof(num), "%d", in->fd);
	fuse_reply_err(req, faccessat(g->proc_fd, num, mask & (R_OK | W_OK | X_OK), 0) < 0 ? errno : 0);
}

void fsgw_ops_entry(struct fuse_lowlevel_ops *ops)
{
	ops->init = fs_init;
	ops->lookup = fs_lookup;
	ops->forget = fs_forget;
	ops->forget_multi = fs_forget_multi;
	ops->getattr = fs_getattr;
	ops->setattr = fs_setattr;
	ops->readlink = fs_readlink;
	ops->statfs = fs_statfs;
	ops->access = fs_access;
}
