/* Open files: only regular files are ever opened for I/O (never FIFOs,
 * devices or sockets, which could block or reach host hardware). */
#include "fsgw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The guest's open flags, reduced to those with a meaning for a regular
 * file here. O_DIRECT is dropped: libfuse's buffers are not aligned. */
static int open_flags(int f)
{
	return f & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_NOATIME);
}

static void reply_opened(fuse_req_t req, int fd, struct fuse_file_info *fi,
			 const struct fuse_entry_param *e)
{
	struct fsgw *g = fsgw_of(req);
	fi->fh = fsgw_fh_new(g, fd, NULL);
	if (!fi->fh) {
		int err = errno;
		close(fd);
		if (e)
			fsgw_inode_forget(g, e->ino, 1);
		fuse_reply_err(req, err);
		return;
	}
	fi->direct_io = 0;
	fi->keep_cache = 0;  /* other nodes may have changed the file */
	int r = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	if (r != 0) {
		fsgw_fh_free(g, fi->fh);
		if (e)
			fsgw_inode_forget(g, e->ino, 1);
	}
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsgw *g = fsgw_of(req);
	struct fsgw_inode *in = fsgw_inode_get(g, ino);
	if (!in) {
		fuse_reply_err(req, errno);
		return;
	}
	if (!S_ISREG(in->type)) {
		fuse_reply_err(req, S_ISDIR(in->type) ? EISDIR : EPERM);
		return;
	}
	int fd = fsgw_reopen(g, in, open_flags(fi->flags));
	if (fd < 0)
		fuse_reply_err(req, errno);
	else
		reply_opened(req, fd, fi, NULL);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fsgw *g = fsgw_of(req);
	struct fuse_entry_param e;
	int fd = fsgw_open_beneath(g, parent, name, O_CREAT | (fi->flags & O_EXCL) | open_flags(fi->flags),
				   fsgw_mode(mode));
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	/* Register what we opened, not whatever the name points to by now. */
	char num[16];
	snprintf(num, sizeof(num), "%d", fd);
	int pfd = openat(g->proc_fd, num, O_PATH | O_CLOEXEC);
	memset(&e, 0, sizeof(e));
	int err = 0;
	if (pfd < 0 || fsgw_stat(pfd, &e.attr) < 0)
		err = errno;
	else if (!S_ISREG(e.attr.st_mode))
		err = EPERM;
	if (err) {
		if (pfd >= 0)
			close(pfd);
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	e.ino = fsgw_inode_ref(g, pfd, &e.attr);
	if (!e.ino) {
		err = errno;
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	e.generation = e.ino >> 32;
	e.attr_timeout = e.entry_timeout = g->timeout;
	reply_opened(req, fd, fi, &e);
}

static struct fsgw_fh *file_of(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fsgw_fh *f = fsgw_fh_get(fsgw_of(req), fi->fh, FH_FILE);
	if (!f)
		fuse_reply_err(req, errno);
	return f;
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw *g = fsgw_of(req);
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	/* One buffer for every read (libfuse's fd path would allocate and
	 * fault in a fresh one per request), and never more than a reply
	 * may carry, whatever size the guest asks for: a short read is a
	 * legal answer. */
	if (size > FSGW_MAX_READ)
		size = FSGW_MAX_READ;
	ssize_t n = pread(f->fd, g->rbuf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, g->rbuf, (size_t)n);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(f->fd, buf + done, size - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (done == 0) {
				fuse_reply_err(req, n < 0 ? errno : EIO);
				return;
			}
			break;  /* report the short write, like write(2) */
		}
		done += (size_t)n;
	}
	fuse_reply_write(req, done);
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	/* close() of a duplicate gives the host filesystem its close-to-open
	 * point (NFS/GPFS flush there) while the handle stays open. */
	int d = dup(f->fd);
	int r = d < 0 ? -1 : close(d);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fsgw_fh_free(fsgw_of(req), fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	int r = datasync ? fdatasync(f->fd) : fsync(f->fd);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	fuse_reply_err(req, fallocate(f->fd, mode, off, len) < 0 ? errno : 0);
}

static void fs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	(void)ino;
	struct fsgw_fh *f = file_of(req, fi);
	if (!f)
		return;
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);  /* the kernel does the others itself */
		return;
	}
	off_t r = lseek(f->fd, off, whence);
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

void fsgw_ops_file(struct fuse_lowlevel_ops *ops)
{
	ops->open = fs_open;
	ops->create = fs_create;
	ops->read = fs_read;
	ops->write = fs_write;
	ops->flush = fs_flush;
	ops->release = fs_release;
	ops->fsync = fs_fsync;
	ops->fallocate = fs_fallocate;
	ops->lseek = fs_lseek;
}
