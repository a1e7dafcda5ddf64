/* fscheck: the gateway's POSIX, consistency and security checks, built
 * static so the same binary runs in the busybox guest and on the host.
 *   fscheck posix DIR [NFILES]   POSIX behaviour a job relies on
 *   fscheck random DIR SEED N    N random operations; prints a digest of
 *                                every result (run it on the mount and on a
 *                                plain host dir: the digests must match)
 *   fscheck manifest DIR         sorted tree listing (type, mode, size,
 *                                content hash, link target)
 *   fscheck sec DIR              checks needing the host's fixture (see
 *                                tests/fsgateway/run.sh), run as guest root
 *   fscheck exdev DIR OTHER      rename DIR/x to OTHER/x gives EXDEV
 *   fscheck enospc DIR           writing until full gives ENOSPC
 *   fscheck eio DIR              requests fail with EIO (server killed)
 *   fscheck notconn DIR          requests fail with ENOTCONN (client killed)
 * Prints "PASS name" / "FAIL name: why"; exit 1 if anything failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int failures;
static char dir[4096];

static void result(const char *name, const char *fmt, ...)
{
	if (!fmt) {
		printf("PASS %s\n", name);
	} else {
		va_list ap;
		va_start(ap, fmt);
		printf("FAIL %s: ", name);
		vprintf(fmt, ap);
		printf("\n");
		va_end(ap);
		failures++;
	}
	fflush(stdout);
}

static const char *P(const char *name)
{
	static char b[4][4200];
	static int i;
	i = (i + 1) % 4;
	snprintf(b[i], sizeof(b[i]), "%s/%s", dir, name);
	return b[i];
}

static int put(const char *name, const char *s, int flags)
{
	int fd = open(P(name), O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static char *get(const char *name)
{
	static char b[65536];
	int fd = open(P(name), O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	b[n] = 0;
	return b;
}

#define CHECK(name, cond, ...) do { if (cond) result(name, NULL); else result(name, __VA_ARGS__); } while (0)
#define E strerror(errno)

static void expect_errno(const char *name, int r, int want)
{
	if (r >= 0)
		result(name, "succeeded, want %s", strerror(want));
	else if (errno != want)
		result(name, "got %s, want %s", E, strerror(want));
	else
		result(name, NULL);
}

static void posix(int nfiles)
{
	char *s = NULL;
	struct stat st = { 0 }, st2;

	CHECK("write-read", put("f", "hello\n", O_TRUNC) == 0 && (s = get("f")) && !strcmp(s, "hello\n"), "%s", E);
	int a = open(P("f"), O_WRONLY | O_APPEND), b = open(P("f"), O_WRONLY | O_APPEND);
	int ok = a >= 0 && b >= 0 && write(a, "A\n", 2) == 2 && write(b, "B\n", 2) == 2;
	close(a);
	close(b);
	CHECK("append", ok && (s = get("f")) && !strcmp(s, "hello\nA\nB\n"), "content '%s'", s ? s : E);
	expect_errno("create-excl-exists", open(P("f"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CHECK("create", put("c", "", O_EXCL) == 0 && stat(P("c"), &st) == 0 && st.st_size == 0, "%s", E);
	CHECK("unlink", unlink(P("c")) == 0 && stat(P("c"), &st) < 0 && errno == ENOENT, "%s", E);
	expect_errno("unlink-missing-ENOENT", unlink(P("c")), ENOENT);
	expect_errno("open-missing-ENOENT", open(P("nope"), O_RDONLY), ENOENT);

	put("r1", "one", O_TRUNC);
	CHECK("rename", rename(P("r1"), P("r2")) == 0 && (s = get("r2")) && !strcmp(s, "one") && access(P("r1"), F_OK) < 0, "%s", E);
	put("r3", "three", O_TRUNC);
	CHECK("rename-over-existing", rename(P("r2"), P("r3")) == 0 && (s = get("r3")) && !strcmp(s, "one"), "%s", E);
	CHECK("rename-noreplace", renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("r3"), RENAME_NOREPLACE) < 0 && errno == EEXIST,
	      "got %s", E);

	CHECK("mkdir", mkdir(P("d"), 0755) == 0 && stat(P("d"), &st) == 0 && S_ISDIR(st.st_mode), "%s", E);
	expect_errno("mkdir-exists-EEXIST", mkdir(P("d"), 0755), EEXIST);
	put("d/x", "x", 0);
	expect_errno("rmdir-nonempty-ENOTEMPTY", rmdir(P("d")), ENOTEMPTY);
	expect_errno("open-dir-for-write-EISDIR", open(P("d"), O_WRONLY), EISDIR);
	expect_errno("file-as-dir-ENOTDIR", open(P("f/x"), O_RDONLY), ENOTDIR);
	unlink(P("d/x"));
	CHECK("rmdir", rmdir(P("d")) == 0 && access(P("d"), F_OK) < 0, "%s", E);

	char t[256];
	ssize_t n;
	CHECK("symlink-readlink", symlink("target/../x", P("sl")) == 0 && (n = readlink(P("sl"), t, sizeof(t))) == 11 &&
	      !memcmp(t, "target/../x", 11) && lstat(P("sl"), &st) == 0 && S_ISLNK(st.st_mode), "%s", E);
	CHECK("symlink-follow", symlink("f", P("sl2")) == 0 && (s = get("sl2")) && !strncmp(s, "hello", 5), "%s", E);
	CHECK("hardlink", link(P("f"), P("hl")) == 0 && stat(P("f"), &st) == 0 && stat(P("hl"), &st2) == 0 &&
	      st.st_nlink == 2 && st.st_ino == st2.st_ino, "%s nlink %lu", E, (unsigned long)st.st_nlink);
	CHECK("chmod", chmod(P("f"), 0600) == 0 && stat(P("f"), &st) == 0 && (st.st_mode & 07777) == 0600,
	      "%s mode %o", E, st.st_mode & 07777);
	CHECK("chmod-setuid-stripped", chmod(P("f"), 04755) == 0 && stat(P("f"), &st) == 0 && (st.st_mode & 07777) == 0755,
	      "%s mode %o", E, st.st_mode & 07777);

	put("tr", "0123456789", O_TRUNC);
	CHECK("truncate-path", truncate(P("tr"), 4) == 0 && (s = get("tr")) && !strcmp(s, "0123"), "%s", E);
	int fd = open(P("tr"), O_RDWR);
	CHECK("ftruncate-grow", ftruncate(fd, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 100, "%s", E);
	CHECK("open-trunc", close(fd) == 0 && (fd = open(P("tr"), O_WRONLY | O_TRUNC)) >= 0 && fstat(fd, &st) == 0 &&
	      st.st_size == 0, "%s", E);
	close(fd);

	/* mmap read of three pages written through write(2) */
	fd = open(P("mm"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	char page[12288];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (char)(i * 7 + 3);
	ok = fd >= 0 && write(fd, page, sizeof(page)) == (ssize_t)sizeof(page);
	CHECK("fsync", ok && fsync(fd) == 0 && fdatasync(fd) == 0, "%s", E);
	void *m = ok ? mmap(NULL, sizeof(page), PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	CHECK("mmap-read", m != MAP_FAILED && !memcmp(m, page, sizeof(page)), "%s", m == MAP_FAILED ? E : "content differs");
	if (m != MAP_FAILED)
		munmap(m, sizeof(page));
	close(fd);

	struct timespec ts[2] = { { 1234567890, 5000 }, { 1300000000, 0 } };
	CHECK("utimens", utimensat(AT_FDCWD, P("mm"), ts, 0) == 0 && stat(P("mm"), &st) == 0 &&
	      st.st_atim.tv_sec == 1234567890 && st.st_mtim.tv_sec == 1300000000, "%s", E);

	/* > 4 GiB: a sparse file with data past the 32-bit boundary */
	const off_t big = 5LL << 30;
	fd = open(P("big"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	ok = fd >= 0 && pwrite(fd, "END", 3, big) == 3 && fstat(fd, &st) == 0 && st.st_size == big + 3 &&
	     pread(fd, t, 3, big) == 3 && !memcmp(t, "END", 3) && pread(fd, t, 3, 1LL << 32) == 3 && !memcmp(t, "\0\0\0", 3);
	CHECK("file-over-4GiB", ok, "%s size %lld", E, (long long)st.st_size);
	close(fd);
	unlink(P("big"));

	CHECK("xattr-user", setxattr(P("mm"), "user.k", "v1", 2, 0) == 0 && getxattr(P("mm"), "user.k", t, sizeof(t)) == 2 &&
	      !memcmp(t, "v1", 2), "%s", E);
	CHECK("xattr-trusted-refused", setxattr(P("mm"), "trusted.k", "v", 1, 0) < 0, "trusted.* xattr was set");
	CHECK("mkfifo", mkfifo(P("fifo"), 0644) == 0 && lstat(P("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "%s", E);
	CHECK("mknod-device-refused", mknod(P("dev"), S_IFCHR | 0666, makedev(1, 3)) < 0, "a device node was created");

	/* a directory of nfiles entries */
	CHECK("bigdir-mkdir", mkdir(P("bigdir"), 0755) == 0, "%s", E);
	char nm[64];
	int made = 0;
	for (int i = 0; i < nfiles; i++) {
		snprintf(nm, sizeof(nm), "bigdir/entry-%06d", i);
		fd = open(P(nm), O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0)
			break;
		close(fd);
		made++;
	}
	DIR *dp = opendir(P("bigdir"));
	int seen = 0;
	struct dirent *de;
	while (dp && (de = readdir(dp)))
		if (de->d_name[0] != '.')
			seen++;
	if (dp)
		closedir(dp);
	CHECK("bigdir-readdir", made == nfiles && seen == nfiles, "made %d, listed %d of %d", made, seen, nfiles);
	int gone = 0;
	for (int i = 0; i < made; i++) {
		snprintf(nm, sizeof(nm), "bigdir/entry-%06d", i);
		gone += unlink(P(nm)) == 0;
	}
	CHECK("bigdir-unlink", gone == made && rmdir(P("bigdir")) == 0, "%d of %d unlinked: %s", gone, made, E);
	for (const char *x[] = { "f", "r3", "sl", "sl2", "hl", "tr", "mm", "fifo", NULL }, **q = x; *q; q++)
		unlink(P(*q));
}

/* ---- random operations, compared against the same run on a host dir ---- */
static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t digest = 1469598103934665603ull;
static void mix(uint64_t v)
{
	digest = (digest ^ v) * 1099511628211ull;
}

static void rname(char *out, size_t n)
{
	static const char *dirs[] = { "", "d0/", "d1/", "d0/e0/" };
	snprintf(out, n, "%s%s%u", dirs[rnd() % 4], rnd() % 3 ? "f" : "d", (unsigned)(rnd() % 6));
}

static void random_ops(long nops)
{
	char a[64], b[64], buf[8192];
	for (long i = 0; i < nops; i++) {
		int op = (int)(rnd() % 12), r = 0;
		rname(a, sizeof(a));
		rname(b, sizeof(b));
		errno = 0;
		switch (op) {
		case 0: case 1: {
			int fd = open(P(a), O_WRONLY | O_CREAT, 0644);
			size_t len = rnd() % sizeof(buf);
			off_t off = (off_t)(rnd() % 20000);
			for (size_t k = 0; k < len; k++)
				buf[k] = (char)rnd();
			r = fd < 0 ? -1 : (int)pwrite(fd, buf, len, off);
			if (fd >= 0)
				close(fd);
			break;
		}
		case 2: {
			int fd = open(P(a), O_WRONLY | O_APPEND);
			r = fd < 0 ? -1 : (int)write(fd, a, strlen(a));
			if (fd >= 0)
				close(fd);
			break;
		}
		case 3: r = truncate(P(a), (off_t)(rnd() % 30000)); break;
		case 4: r = unlink(P(a)); break;
		case 5: r = rename(P(a), P(b)); break;
		case 6: r = mkdir(P(a), 0755); break;
		case 7: r = rmdir(P(a)); break;
		case 8: r = symlink(b, P(a)); break;
		case 9: r = link(P(a), P(b)); break;
		case 10: r = chmod(P(a), (rnd() % 2) ? 0700 : 0755); break;  /* dirs stay usable */
		case 11: {
			int fd = open(P(a), O_RDONLY);
			r = fd < 0 ? -1 : (int)read(fd, buf, sizeof(buf));
			if (r > 0)
				for (int k = 0; k < r; k++)
					mix((unsigned char)buf[k]);
			if (fd >= 0)
				close(fd);
			break;
		}
		}
		mix((uint64_t)op << 32 | (uint32_t)(r < 0 ? -errno : 0));
		if (getenv("FSCHECK_TRACE"))
			printf("%ld op %d %s %s -> %d %s\n", i, op, a, b, r, r < 0 ? E : "");
	}
	printf("random digest %016llx\n", (unsigned long long)digest);
}

/* ---- manifest ---- */
static int cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void manifest(const char *root, const char *rel)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *dp = opendir(path);
	if (!dp)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		char r2[4200], p2[8400];
		struct stat st;
		snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		snprintf(p2, sizeof(p2), "%s/%s", root, r2);
		if (lstat(p2, &st) < 0) {
			printf("%s ERROR %s\n", r2, E);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			printf("%s dir %o\n", r2, st.st_mode & 07777);
			manifest(root, r2);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t k = readlink(p2, t, sizeof(t) - 1);
			t[k < 0 ? 0 : k] = 0;
			printf("%s link -> %s\n", r2, t);
		} else if (S_ISREG(st.st_mode)) {
			uint64_t h = 1469598103934665603ull;
			int fd = open(p2, O_RDONLY);
			char b[8192];
			ssize_t k;
			while (fd >= 0 && (k = read(fd, b, sizeof(b))) > 0)
				for (ssize_t j = 0; j < k; j++)
					h = (h ^ (unsigned char)b[j]) * 1099511628211ull;
			if (fd >= 0)
				close(fd);
			printf("%s file %o size %lld nlink %lu hash %016llx\n", r2, st.st_mode & 07777,
			       (long long)st.st_size, (unsigned long)st.st_nlink, (unsigned long long)h);
		} else {
			printf("%s other %o\n", r2, st.st_mode);
		}
		free(names[i]);
	}
	free(names);
}

/* ---- security checks against the host fixture ---- */
static void sec(void)
{
	struct stat st = { 0 };
	expect_errno("sec-foreign-0600-unreadable", open(P("foreign"), O_RDONLY), EACCES);
	expect_errno("sec-foreign-dir-unlistable", open(P("foreigndir/inner"), O_RDONLY), EACCES);
	CHECK("sec-foreign-chmod-refused", chmod(P("foreign"), 0666) < 0, "guest root changed another user's file mode");
	CHECK("sec-foreign-chown-refused", chown(P("mine"), 0, 0) < 0, "guest root chowned a file to root on the host");
	/* Absolute and relative symlinks pointing out of the export are
	 * followed in the guest's namespace, where the host's files are not. */
	expect_errno("sec-symlink-absolute-outside", open(P("esc_abs"), O_RDONLY), ENOENT);
	expect_errno("sec-symlink-relative-outside", open(P("esc_rel"), O_RDONLY), ENOENT);
	/* shadow_link -> /etc/shadow on the host: in the guest it can only
	 * ever name the guest's own /etc/shadow (if the image has one). */
	int fd = open(P("shadow_link"), O_RDONLY), gfd = open("/etc/shadow", O_RDONLY);
	CHECK("sec-symlink-etc-shadow", fd < 0 ? errno == ENOENT && gfd < 0 : gfd >= 0,
	      "the link reached a file the guest does not have");
	if (fd >= 0)
		close(fd);
	if (gfd >= 0)
		close(gfd);
	CHECK("sec-dotdot-stays-in-guest", stat(P("../../vmfs-outside-marker"), &st) < 0 && stat(P(".."), &st) == 0,
	      "a host file was reachable through ..");
	/* linking another user's file fails on the host (protected_hardlinks)
	 * and would grant no access anyway */
	if (link(P("foreign"), P("foreign_link")) == 0) {
		expect_errno("sec-hardlink-foreign-still-unreadable", open(P("foreign_link"), O_RDONLY), EACCES);
		unlink(P("foreign_link"));
	} else {
		result("sec-hardlink-foreign-refused", NULL);
	}
	CHECK("sec-make-setuid", put("suid", "#!/bin/sh\n", O_TRUNC) == 0 && chmod(P("suid"), 06755) == 0 &&
	      stat(P("suid"), &st) == 0 && !(st.st_mode & 06000), "mode %o", st.st_mode & 07777);
	CHECK("sec-make-setgid-dir", mkdir(P("sgid"), 02775) == 0 && stat(P("sgid"), &st) == 0 && !(st.st_mode & 06000),
	      "mode %o", st.st_mode & 07777);
	CHECK("sec-mknod-char", mknod(P("null2"), S_IFCHR | 0666, makedev(1, 3)) < 0, "created a char device");
	CHECK("sec-mknod-block", mknod(P("vda2"), S_IFBLK | 0666, makedev(254, 0)) < 0, "created a block device");
	CHECK("sec-owner-is-job-owner", put("byroot", "x", O_TRUNC) == 0 && stat(P("byroot"), &st) == 0 && st.st_uid != 0,
	      "a file created by guest root is owned by uid %u", (unsigned)st.st_uid);
}

/* rename across filesystems must fail with EXDEV, whoever decides it */
static void exdev(const char *other)
{
	char to[4200];
	snprintf(to, sizeof(to), "%s/xdev", other);
	put("xdev", "x", O_TRUNC);
	expect_errno("rename-EXDEV", rename(P("xdev"), to), EXDEV);
	unlink(P("xdev"));
}

static void enospc(void)
{
	static char b[1 << 20];
	int fd = open(P("fill"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n = 1;
	for (int i = 0; fd >= 0 && i < 4096 && n > 0; i++)
		n = write(fd, b, sizeof(b));
	if (fd < 0 || n > 0)
		result("write-ENOSPC", fd < 0 ? "open: %s" : "4 GiB written without ENOSPC", E);
	else if (n == 0 || errno != ENOSPC)
		result("write-ENOSPC", "got %s", n == 0 ? "a zero write" : E);
	else
		result("write-ENOSPC", NULL);
	if (fd >= 0)
		close(fd);
	unlink(P("fill"));
}

/* After the host server is killed, requests must fail with EIO, soon
 * (want = EIO); after the guest client is killed, the kernel aborts the
 * connection (want = ENOTCONN). Never a hang. */
static void eio(int want, const char *name)
{
	char nm[64];
	for (int i = 0; i < 60; i++) {
		snprintf(nm, sizeof(nm), "probe-%d", i);  /* a new name: no cached entry */
		int fd = open(P(nm), O_RDONLY);
		if (fd < 0 && errno == want) {
			result(name, NULL);
			return;
		}
		if (fd >= 0)
			close(fd);
		sleep(1);
	}
	result(name, "no %s within 60 s (last: %s)", strerror(want), E);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fscheck posix|random|manifest|sec DIR [ARGS]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	if (!strcmp(argv[1], "posix"))
		posix(argc > 3 ? atoi(argv[3]) : 10000);
	else if (!strcmp(argv[1], "random") && argc == 5) {
		rng = strtoull(argv[3], NULL, 0) | 1;
		random_ops(atol(argv[4]));
	} else if (!strcmp(argv[1], "manifest"))
		manifest(argv[2], "");
	else if (!strcmp(argv[1], "sec"))
		sec();
	else if (!strcmp(argv[1], "exdev") && argc == 4)
		exdev(argv[3]);
	else if (!strcmp(argv[1], "enospc"))
		enospc();
	else if (!strcmp(argv[1], "eio"))
		eio(EIO, "server-killed-EIO");
	else if (!strcmp(argv[1], "notconn"))
		eio(ENOTCONN, "client-killed-ENOTCONN");
	else {
		fprintf(stderr, "fscheck: unknown mode %s\n", argv[1]);
		return 2;
	}
	return failures ? 1 : 0;
}
