/* hostile: plays a malicious guest against vmfs-server over a socketpair,
 * speaking raw FUSE: forged node ids and handles, "..", slashes, second
 * INIT, lying lengths, refused opcodes, device nodes, setuid modes,
 * trusted.* xattrs; then a framing violation, which must end the server.
 *   hostile SERVER EXPORT UID GID   (run as root; EXPORT is scratch)
 * Prints PASS/FAIL lines; exit 1 on any failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int sock, failures;
static uint64_t uniq = 1;
static char rbuf[1 << 21];

static void result(const char *name, int ok, const char *fmt, ...)
{
	if (ok) {
		printf("PASS %s\n", name);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL %s: ", name);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

/* Send one request (header + up to three body parts), return the reply's
 * error (0 or -errno) with the body in rbuf; -1000 if the channel closed. */
static int call(uint32_t op, uint64_t nodeid, const void *a, size_t na, const void *b, size_t nb,
		const void *c, size_t nc)
{
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + na + nb + nc), .opcode = op,
				    .unique = uniq += 2, .nodeid = nodeid, .uid = 0, .gid = 0, .pid = 1 };
	char msg[1 << 16];
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), a, na);
	memcpy(msg + sizeof(h) + na, b, nb);
	memcpy(msg + sizeof(h) + na + nb, c, nc);
	if (write(sock, msg, h.len) != (ssize_t)h.len)
		return -1000;
	if (op == FUSE_FORGET)
		return 0;
	struct fuse_out_header o;
	if (recv(sock, &o, sizeof(o), MSG_WAITALL) != sizeof(o))
		return -1000;
	if (o.len > sizeof(o) && recv(sock, rbuf, o.len - sizeof(o), MSG_WAITALL) != (ssize_t)(o.len - sizeof(o)))
		return -1000;
	if (o.unique != h.unique)
		return -1001;
	return o.error;
}
#define CALL0(op, node) call(op, node, NULL, 0, NULL, 0, NULL, 0)
#define S(x) x, sizeof(x)  /* a string literal with its NUL */

static void expect(const char *name, int got, int want)
{
	result(name, got == want, "reply %d (%s), want %d (%s)", got, got < 0 && got > -1000 ? strerror(-got) : "-",
	       want, want < 0 ? strerror(-want) : "ok");
}

static uint64_t lookup(const char *name)
{
	int r = call(FUSE_LOOKUP, 1, name, strlen(name) + 1, NULL, 0, NULL, 0);
	return r == 0 ? ((struct fuse_entry_out *)rbuf)->nodeid : 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: hostile SERVER EXPORT UID GID\n");
		return 2;
	}
	const char *exp = argv[2];
	signal(SIGPIPE, SIG_IGN);  /* a dead server must show up as FAILs */
	char path[4096];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		execl(argv[1], argv[1], "--channel-fd", "3", "--export", exp, "--uid", argv[3], "--gid", argv[4], (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	sock = sv[0];
	snprintf(path, sizeof(path), "%s/mine", exp);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	chown(path, (uid_t)atoi(argv[3]), (gid_t)atoi(argv[4]));

	struct fuse_getattr_in ga = { 0 };
	expect("request-before-init-EIO", call(FUSE_GETATTR, 1, &ga, sizeof(ga), NULL, 0, NULL, 0), -EIO);
	struct fuse_init_in old = { .major = 7, .minor = 8 };
	expect("ancient-protocol-refused", call(FUSE_INIT, 0, &old, 16, NULL, 0, NULL, 0), -EPROTO);
	struct fuse_init_in init = { .major = 7, .minor = 31, .max_readahead = 1 << 17, .flags = FUSE_ASYNC_READ };
	expect("init", call(FUSE_INIT, 0, &init, 16, NULL, 0, NULL, 0), 0);
	expect("second-init-refused", call(FUSE_INIT, 0, &init, 16, NULL, 0, NULL, 0), -EPROTO);

	expect("lookup-dotdot", call(FUSE_LOOKUP, 1, S(".."), NULL, 0, NULL, 0), -EINVAL);
	expect("lookup-dot", call(FUSE_LOOKUP, 1, S("."), NULL, 0, NULL, 0), -EINVAL);
	expect("lookup-slash", call(FUSE_LOOKUP, 1, S("../../etc/shadow"), NULL, 0, NULL, 0), -EINVAL);
	expect("lookup-absolute", call(FUSE_LOOKUP, 1, S("/etc"), NULL, 0, NULL, 0), -EINVAL);
	expect("lookup-unterminated", call(FUSE_LOOKUP, 1, "mine", 4, NULL, 0, NULL, 0), -EINVAL);
	expect("lookup-trailing-bytes", call(FUSE_LOOKUP, 1, "mine\0x", 6, NULL, 0, NULL, 0), -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	expect("lookup-name-too-long", call(FUSE_LOOKUP, 1, longname, sizeof(longname), NULL, 0, NULL, 0), -EINVAL);

	expect("forged-nodeid-pointer", call(FUSE_GETATTR, 0x00007fffdeadbeefull, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);
	expect("forged-nodeid-index", call(FUSE_GETATTR, 2, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);
	expect("forged-root-generation", call(FUSE_GETATTR, 5ull << 32 | 1, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);
	expect("nodeid-zero", call(FUSE_GETATTR, 0, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);
	expect("getattr-short-body", call(FUSE_GETATTR, 1, &ga, 4, NULL, 0, NULL, 0), -EINVAL);

	uint64_t mine = lookup("mine");
	result("lookup-mine", mine != 0, "no nodeid");
	struct fuse_forget_in fg = { .nlookup = 1000 };
	call(FUSE_FORGET, mine, &fg, sizeof(fg), NULL, 0, NULL, 0);
	expect("forgotten-nodeid-stale", call(FUSE_GETATTR, mine, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);
	uint64_t again = lookup("mine");
	result("reused-slot-new-generation", again && again != mine, "nodeid %llx reused as %llx",
	       (unsigned long long)mine, (unsigned long long)again);
	expect("old-nodeid-still-stale", call(FUSE_GETATTR, mine, &ga, sizeof(ga), NULL, 0, NULL, 0), -ESTALE);

	struct fuse_read_in rd = { .fh = 3, .size = 4096 };
	expect("forged-fh-fd-number", call(FUSE_READ, again, &rd, sizeof(rd), NULL, 0, NULL, 0), -EBADF);
	struct fuse_write_in wr = { .fh = 1ull << 32 | 1, .size = 100000 };
	expect("write-size-lies", call(FUSE_WRITE, again, &wr, sizeof(wr), "abc", 3, NULL, 0), -EINVAL);
	struct fuse_open_in op = { .flags = O_RDONLY };
	expect("open-directory-as-file", call(FUSE_OPEN, 1, &op, sizeof(op), NULL, 0, NULL, 0), -EISDIR);

	struct fuse_mknod_in mk = { .mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3 };
	expect("mknod-char-device", call(FUSE_MKNOD, 1, &mk, sizeof(mk), S("null"), NULL, 0), -EPERM);
	mk.mode = S_IFBLK | 0666;
	expect("mknod-block-device", call(FUSE_MKNOD, 1, &mk, sizeof(mk), S("blk"), NULL, 0), -EPERM);
	mk.mode = S_IFSOCK | 0666;
	expect("mknod-socket", call(FUSE_MKNOD, 1, &mk, sizeof(mk), S("sock"), NULL, 0), -EPERM);

	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = S_IFREG | 06777 };
	int r = call(FUSE_SETATTR, again, &sa, sizeof(sa), NULL, 0, NULL, 0);
	struct stat st;
	result("setattr-setuid-stripped", r == 0 && stat(path, &st) == 0 && (st.st_mode & 07777) == 0777,
	       "reply %d, host mode %o", r, st.st_mode & 07777);
	sa = (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID };
	expect("chown-to-root-refused", call(FUSE_SETATTR, again, &sa, sizeof(sa), NULL, 0, NULL, 0), -EPERM);

	struct fuse_getxattr_in gx = { .size = 100 };
	expect("getxattr-trusted-hidden", call(FUSE_GETXATTR, again, &gx, sizeof(gx), S("trusted.x"), NULL, 0), -ENODATA);
	struct fuse_setxattr_in sx = { .size = 1 };
	expect("setxattr-security-refused", call(FUSE_SETXATTR, again, &sx, 8, S("security.capability"), "x", 1), -EPERM);
	expect("setxattr-size-lies", call(FUSE_SETXATTR, again, &sx, 8, S("user.x"), "xyz", 3), -EINVAL);

	expect("ioctl-refused", call(FUSE_IOCTL, again, rbuf, 32, NULL, 0, NULL, 0), -ENOSYS);
	expect("setlk-refused", call(FUSE_SETLK, again, rbuf, sizeof(struct fuse_lk_in), NULL, 0, NULL, 0), -ENOSYS);
	expect("unknown-opcode", call(4000, 1, NULL, 0, NULL, 0, NULL, 0), -ENOSYS);

	/* A symlink to a host secret is just text; opening it never follows. */
	expect("symlink-create", call(FUSE_SYMLINK, 1, S("sl"), S("/etc/shadow"), NULL, 0), 0);
	uint64_t sl = ((struct fuse_entry_out *)rbuf)->nodeid;
	expect("open-symlink-not-followed", call(FUSE_OPEN, sl, &op, sizeof(op), NULL, 0, NULL, 0), -EPERM);
	struct fuse_link_in li = { .oldnodeid = 0x1234567800000001ull };
	expect("link-forged-nodeid", call(FUSE_LINK, 1, &li, sizeof(li), S("hl"), NULL, 0), -ESTALE);
	struct fuse_rename2_in rn = { .newdir = 1, .flags = 1u << 30 };
	expect("rename2-unknown-flag", call(FUSE_RENAME2, 1, &rn, sizeof(rn), S("mine"), S("x")), -EINVAL);
	struct fuse_rename_in rn1 = { .newdir = 1 };
	expect("rename-to-dotdot", call(FUSE_RENAME, 1, &rn1, sizeof(rn1), S("mine"), S("..")), -EINVAL);

	struct fuse_create_in cr = { .flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 04755 };
	r = call(FUSE_CREATE, 1, &cr, sizeof(cr), S("made"), NULL, 0);
	snprintf(path, sizeof(path), "%s/made", exp);
	result("create-as-owner-no-setuid", r == 0 && stat(path, &st) == 0 && st.st_uid == (uid_t)atoi(argv[3]) &&
	       !(st.st_mode & 06000), "reply %d uid %u mode %o", r, (unsigned)st.st_uid, st.st_mode & 07777);
	expect("still-serving", CALL0(FUSE_STATFS, 1), 0);

	/* Framing violation: the server must close the channel and exit. */
	struct fuse_in_header bad = { .len = 0xffffff00u, .opcode = FUSE_GETATTR, .unique = 99 };
	(void)!write(sock, &bad, sizeof(bad));
	char c;
	result("bad-length-closes-channel", read(sock, &c, 1) == 0, "channel still open");
	int status;
	waitpid(pid, &status, 0);
	result("server-exits-after-bad-frame", WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %x", status);

	/* A guest that just goes away (crash, kill): clean exit, status 0. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 2;
	if ((pid = fork()) == 0) {
		dup2(sv[1], 3);
		execl(argv[1], argv[1], "--channel-fd", "3", "--export", exp, "--uid", argv[3], "--gid", argv[4], (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	sock = sv[0];
	expect("init-2", call(FUSE_INIT, 0, &init, 16, NULL, 0, NULL, 0), 0);
	lookup("mine");
	struct fuse_write_in half = { .size = 10 };
	struct fuse_in_header hh = { .len = sizeof(hh) + sizeof(half) + 10, .opcode = FUSE_WRITE, .unique = 7, .nodeid = 1 };
	(void)!write(sock, &hh, sizeof(hh));  /* dies in the middle of a message */
	close(sock);
	waitpid(pid, &status, 0);
	result("server-exits-when-guest-vanishes", WIFEXITED(status) && WEXITSTATUS(status) <= 1, "status %x", status);
	return failures ? 1 : 0;
}
