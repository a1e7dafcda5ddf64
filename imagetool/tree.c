/* The staging tree an image is made from, and the few programs run on it. */
#include "imagetool.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

int vi_in_child(int (*fn)(void *arg, struct vj_err *err), void *arg, int *status,
		struct vj_err *err)
{
	int p[2];
	*status = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return vj_err_sys(err, errno, "pipe");
	cleanup_close int rd = p[0];
	cleanup_close int wr = p[1];
	pid_t pid = fork();
	if (pid < 0)
		return vj_err_sys(err, errno, "fork");
	if (pid == 0) {
		struct vj_err cerr = {0};
		dup2(wr, 1);
		dup2(wr, 2);
		if (fn(arg, &cerr) < 0) {
			(void)!write(2, cerr.msg, strlen(cerr.msg));
			_exit(1);
		}
		_exit(0);
	}
	vj_close_now(&wr);
	/* Keep the tail of what it printed: the last line is the one that explains. */
	char tail[sizeof(err->msg)] = "";
	char chunk[512];
	ssize_t n;
	while ((n = read(rd, chunk, sizeof(chunk) - 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		chunk[n] = '\0';
		size_t keep = strlen(tail);
		if (keep + (size_t)n >= sizeof(tail)) {
			memmove(tail, tail + keep / 2, keep - keep / 2 + 1);
			keep = strlen(tail);
		}
		snprintf(tail + keep, sizeof(tail) - keep, "%s", chunk);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return vj_err_sys(err, errno, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return *status = 0;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	size_t l = strlen(tail);
	while (l && tail[l - 1] == '\n')
		tail[--l] = '\0';
	const char *last = strrchr(tail, '\n') ? strrchr(tail, '\n') + 1 : tail;
	return vj_err_set(err, EIO, "%s", last);
}

static int exec_argv(void *arg, struct vj_err *err)
{
	char *const *argv = arg;
	execvp(argv[0], argv);
	return vj_err_sys(err, errno, "cannot execute %s", argv[0]);
}

int vi_run(char *const argv[], struct vj_err *err)
{
	int st;
	if (vi_in_child(exec_argv, (void *)argv, &st, err) == 0)
		return 0;
	if (st < 0)
		return -1;
	char why[sizeof(err->msg)];
	snprintf(why, sizeof(why), "%s", err->msg);
	return vj_err_set(err, EIO, "%s failed (exit %d)%s%.900s", argv[0], st, why[0] ? ": " : "",
			  why);
}

int vi_tree_new(const char *out_dir, const char *name, char *tree, size_t n, struct vj_err *err)
{
	if (snprintf(tree, n, "%s/.%s.tree.XXXXXX", out_dir, name) >= (int)n)
		return vj_err_set(err, ENAMETOOLONG, "output path too long");
	if (!mkdtemp(tree))
		return vj_err_sys(err, errno, "cannot make a staging directory in %s", out_dir);
	/* The tree's root is the image's /. */
	if (chmod(tree, 0755) < 0)
		return vj_err_sys(err, errno, "chmod %s", tree);
	return 0;
}

int vi_tree_copy(const char *src, const char *tree, struct vj_err *err)
{
	char from[4096];
	if (snprintf(from, sizeof(from), "%s/.", src) >= (int)sizeof(from))
		return vj_err_set(err, ENAMETOOLONG, "source path too long");
	/* Links, owners, modes, times, xattrs as they are; hard links kept. */
	char *argv[] = {"cp", "-a", "--reflink=auto", "--", from, (char *)tree, NULL};
	if (vi_run(argv, err))
		return vj_err_prefix(err, "copying %s", src);
	return 0;
}

/* Whether path, resolved inside tree as the guest will resolve it, is an
 * executable file. Links are followed by hand, each target taken relative
 * to tree, so an absolute link stays in the image. */
static bool executable_in(const char *tree, const char *path, int depth)
{
	char p[8192];
	snprintf(p, sizeof(p), "%s%s", tree, path);
	struct stat st;
	if (depth > 16 || lstat(p, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode))
		return (st.st_mode & 0111) != 0;
	if (!S_ISLNK(st.st_mode))
		return false;
	char t[4096];
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n <= 0)
		return false;
	t[n] = '\0';
	char next[8192];
	if (t[0] == '/') {
		snprintf(next, sizeof(next), "%s", t);
	} else {
		const char *slash = strrchr(path, '/');
		snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - path), path, t);
	}
	return executable_in(tree, next, depth + 1);
}

int vi_tree_check(const char *tree, struct vj_err *err)
{
	/* The boot-time setup (and every job script run by sh) needs it. */
	if (!executable_in(tree, "/bin/sh", 0))
		return vj_err_set(err, ENOENT, "the tree has no /bin/sh: vmjob's boot-time setup is "
				  "a POSIX shell script (install dash, bash or busybox in the image)");
	return 0;
}

static uint64_t tree_total;
static int add_size(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)p, (void)type, (void)f;
	/* Blocks really used, plus an inode's worth of metadata each. */
	tree_total += (uint64_t)st->st_blocks * 512 + 256;
	return 0;
}

int vi_tree_bytes(const char *tree, uint64_t *bytes, struct vj_err *err)
{
	tree_total = 0;
	if (nftw(tree, add_size, 64, FTW_PHYS) < 0)
		return vj_err_sys(err, errno, "cannot measure %s", tree);
	*bytes = tree_total;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)f;
	if ((type == FTW_DP ? rmdir(p) : unlink(p)) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int vi_tree_remove(const char *tree, struct vj_err *err)
{
	if (nftw(tree, rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return vj_err_sys(err, errno, "cannot remove %s", tree);
	return 0;
}
