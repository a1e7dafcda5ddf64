/* Directory operations: creating and removing names, renames, links and
 * listing. Every name is one validated component relative to a directory
 * fd we hold, so nothing resolves outside the export. */
#include "fsgw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* After creating name under parent, answer with its entry. */
static void reply_new(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = fsgw_do_lookup(fsgw_of(req), parent, name, &e);
	if (r)
		fuse_reply_err(req, r);
	else if (fuse_reply_entry(req, &e) != 0)
		fsgw_inode_forget(fsgw_of(req), e.ino, 1);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)rdev;
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *dir = fsgw_dir_get(g, parent);
	if (!dir) {
		fuse_reply_err(req, errno);
		return;
	}
	int r;
	/* Device nodes and sockets are never made on the host; a FIFO is a
	 * name only (we never open one), a regular file is a plain create. */
	if (S_ISREG(mode)) {
		int fd = fsgw_open_beneath(g, parent, name, O_CREAT | O_EXCL | O_WRONLY, fsgw_mode(mode));
		r = fd < 0 ? -1 : close(fd);
	} else if (S_ISFIFO(mode)) {
		r = mkfifoat(dir->fd, name, fsgw_mode(mode));
	} else {
		r = -1;
		errno = EPERM;
	}
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		reply_new(req, parent, name);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fsgw_inode *dir = fsgw_dir_get(fsgw_of(req), parent);
	if (!dir || mkdirat(dir->fd, name, fsgw_mode(mode)) < 0)
		fuse_reply_err(req, errno);
	else
		reply_new(req, parent, name);
}

static void fs_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	/* The target is stored as text; the guest kernel follows it in the
	 * guest's own namespace, never the host's. */
	struct fsgw_inode *dir = fsgw_dir_get(fsgw_of(req), parent);
	if (!dir || symlinkat(target, dir->fd, name) < 0)
		fuse_reply_err(req, errno);
	else
		reply_new(req, parent, name);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *name)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_inode_get(g, ino);
	struct fsgw_inode *dir = in ? fsgw_dir_get(g, newparent) : NULL;
	char num[16];
	if (!dir) {
		fuse_reply_err(req, errno);
		return;
	}
	/* linkat(fd, "", AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the
	 * /proc/self/fd link names the same pinned object. The host's
	 * protected_hardlinks rules apply to the job owner as usual. */
	snprintf(num, sizeof(num), "%d", in->fd);
	if (linkat(g->proc_fd, num, dir->fd, name, AT_SYMLINK_FOLLOW) < 0)
		fuse_reply_err(req, errno);
	else
		reply_new(req, newparent, name);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct fsgw_inode *dir = fsgw_dir_get(fsgw_of(req), parent);
	fuse_reply_err(req, !dir || unlinkat(dir->fd, name, flags) < 0 ? errno : 0);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *a = fsgw_dir_get(g, parent);
	struct fsgw_inode *b = a ? fsgw_dir_get(g, newparent) : NULL;
	if (!b || renameat2(a->fd, name, b->fd, newname, flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_dir_get(g, ino);
	int fd = in ? fsgw_reopen(g, in, O_RDONLY | O_DIRECTORY) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		fuse_reply_err(req, e);
		return;
	}
	fi->fh = fsgw_fh_new(g, fd, d);
	if (!fi->fh) {
		int e = errno;
		closedir(d);
		fuse_reply_err(req, e);
		return;
	}
	if (fuse_reply_open(req, fi) != 0)
		fsgw_fh_free(g, fi->fh);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = fsgw_fh_get(fsgw_of(req), fi->fh, FH_DIR);
	if (!f) {
		fuse_reply_err(req, errno);
		return;
	}
	if (size > 1u << 20)
		size = 1u << 20;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != f->dir_off) {
		seekdir(f->dir, off);
		f->dir_off = off;
		f->pending = NULL;
	}
	size_t used = 0;
	for (;;) {
		struct dirent *d = f->pending;
		if (!d) {
			errno = 0;
			d = readdir(f->dir);
			if (!d) {
				if (errno && used == 0) {
					int e = errno;
					free(buf);
					fuse_reply_err(req, e);
					return;
				}
				break;
			}
		}
		struct stat st = { .st_ino = d->d_ino, .st_mode = (mode_t)d->d_type << 12 };
		size_t n = fuse_add_direntry(req, buf + used, size - used, d->d_name, &st, d->d_off);
		if (n > size - used) {
			f->pending = d;  /* did not fit: first entry of the next call */
			break;
		}
		f->pending = NULL;
		used += n;
		f->dir_off = d->d_off;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fsgw_fh_free(fsgw_of(req), fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = fsgw_fh_get(fsgw_of(req), fi->fh, FH_DIR);
	int r = !f ? -1 : datasync ? fdatasync(f->fd) : fsync(f->fd);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

void fsgw_ops_dir(struct fuse_lowlevel_ops *ops)
{
	ops->mknod = fs_mknod;
	ops->mkdir = fs_mkdir;
	ops->symlink = fs_symlink;
	ops->link = fs_link;
	ops->unlink = fs_unlink;
	ops->rmdir = fs_rmdir;
	ops->rename = fs_rename;
	ops->opendir = fs_opendir;
	ops->readdir = fs_readdir;
	ops->releasedir = fs_releasedir;
	ops->fsyncdir = fs_fsyncdir;
}
