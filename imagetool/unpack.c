/* Archives into an image tree. A tarball or an OCI layer may come from
 * anywhere, and so may the tree it lands in: names with "..", absolute
 * names and symlinks planted by an earlier layer must never let a write
 * (or a whiteout's delete) touch the host. So the work is done by a child
 * that chroot()s into the tree first: every path, and every link, then
 * resolves inside it. The archive is opened before the chroot. */
#include "imagetool.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static inline void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(archive_read_freep)))

/* An entry's name as a path inside the tree: "./a/b" and "/a/b" are
 * "a/b"; a ".." component is refused. "" is the tree's root. */
static int inner_path(const char *name, char *out, size_t n, struct vj_err *err)
{
	while (*name == '/' || (name[0] == '.' && name[1] == '/'))
		name += name[0] == '/' ? 1 : 2;
	if (snprintf(out, n, "%s", name) >= (int)n)
		return vj_err_set(err, ENAMETOOLONG, "entry name too long: %.80s...", name);
	size_t l = strlen(out);
	while (l && out[l - 1] == '/')
		out[--l] = '\0';
	for (const char *p = out; *p;) {
		size_t c = strcspn(p, "/");
		if (c == 2 && p[0] == '.' && p[1] == '.')
			return vj_err_set(err, EINVAL, "entry '%.200s' climbs out with '..'", name);
		p += c + (p[c] == '/');
	}
	return 0;
}

/* rm -rf path (inside the chroot), never following a link. */
static int remove_all(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	return vi_tree_remove(path, NULL);
}

/* An opaque directory hides everything below it in the lower layers. */
static int empty_dir(const char *dir)
{
	cleanup_closedir DIR *d = opendir(*dir ? dir : ".");
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[8192];
		snprintf(p, sizeof(p), "%s%s%s", dir, *dir ? "/" : "", e->d_name);
		if (remove_all(p) < 0)
			return -1;
	}
	return 0;
}

static struct archive *open_archive(int fd, const char *path, struct vj_err *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0) {
		vj_err_sys(err, errno, "%s", path);
		return NULL;
	}
	struct archive *a = archive_read_new();
	if (!a) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		vj_err_set(err, EINVAL, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A layer's whiteouts delete what the layers below it left, before any of
 * its own files land (they may re-create a whited-out name). */
static int apply_whiteouts(int fd, const char *path, struct vj_err *err)
{
	cleanup_archive struct archive *a = open_archive(fd, path, err);
	if (!a)
		return -1;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char p[4096];
		if (inner_path(archive_entry_pathname(e), p, sizeof(p), err))
			return -1;
		char *slash = strrchr(p, '/');
		char *base = slash ? slash + 1 : p;
		if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
			continue;
		const char *dir = slash ? (*slash = '\0', p) : "";
		int rc;
		if (!strcmp(base, WH_OPAQUE)) {
			rc = empty_dir(dir);
		} else {
			char victim[8192];
			const char *name = base + strlen(WH_PREFIX);
			if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
				return vj_err_set(err, EINVAL, "bad whiteout '%s'", base);
			snprintf(victim, sizeof(victim), "%s%s%s", dir, *dir ? "/" : "", name);
			rc = remove_all(victim);
		}
		if (rc < 0)
			return vj_err_sys(err, errno, "whiteout %s in %s", base, *dir ? dir : "/");
	}
	if (r != ARCHIVE_EOF)
		return vj_err_set(err, EIO, "%s: %s", path, archive_error_string(a));
	return 0;
}

static int extract(int fd, const char *path, unsigned flags, struct vj_err *err)
{
	cleanup_archive struct archive *a = open_archive(fd, path, err);
	if (!a)
		return -1;
	struct archive *w = archive_write_disk_new();
	if (!w)
		return vj_err_set(err, ENOMEM, "out of memory");
	/* Owners, modes, times, ACLs, xattrs (file capabilities) as archived;
	 * numeric owners (no lookup: the tree's names are not the host's). */
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
					      ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL |
					      ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS |
					      ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	struct archive_entry *e;
	int r, rc = 0;
	/* ARCHIVE_WARN: a detail not kept (a name libarchive could not convert,
	 * an unknown header), not a reason to stop. */
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char p[4096];
		if (inner_path(archive_entry_pathname(e), p, sizeof(p), err)) {
			rc = -1;
			break;
		}
		const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		if ((flags & VI_WHITEOUTS) && !strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
			continue;
		if (!*p)
			continue; /* the tree's root itself: its owner and mode stay */
		archive_entry_set_pathname(e, p);
		if (archive_read_extract2(a, e, w) < ARCHIVE_WARN) {
			rc = vj_err_set(err, EIO, "%s: %s: %s", path, p, archive_error_string(w));
			break;
		}
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = vj_err_set(err, EIO, "%s: %s", path, archive_error_string(a));
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = vj_err_set(err, EIO, "%s: %s", path, archive_error_string(w));
	archive_write_free(w);
	return rc;
}

struct job {
	const char *tree, *path;
	int fd;
	unsigned flags;
};

/* In the child: into the tree, then the whiteouts and the files. */
static int unpack_here(void *arg, struct vj_err *err)
{
	const struct job *j = arg;
	umask(0);
	if (chroot(j->tree) < 0 || chdir("/") < 0)
		return vj_err_sys(err, errno, "cannot enter %s", j->tree);
	if ((j->flags & VI_WHITEOUTS) && apply_whiteouts(j->fd, j->path, err))
		return -1;
	return extract(j->fd, j->path, j->flags, err);
}

int vi_unpack(const char *tree, const char *path, unsigned flags, struct vj_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vj_err_sys(err, errno, "%s", path);
	/* Opened here, before the chroot: the child inherits it. */
	struct job j = {.tree = tree, .path = path, .fd = fd, .flags = flags};
	int st;
	if (vi_in_child(unpack_here, &j, &st, err) == 0)
		return 0;
	if (st > 0 && !err->msg[0])
		return vj_err_set(err, EIO, "the unpacking process died (status %d)", st);
	return -1;
}
