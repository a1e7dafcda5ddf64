/* vmfs-server: serve one exported tree to one VM over its filesystem
 * channel. Started as root by hvd; everything root is needed for (opening
 * the channel, raising the fd limit, setting groups) happens before the
 * first guest byte is read, and then the process is the job owner. */
#include "fsgw.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "vqserve.h"

struct opts {
	int chan_fd;
	const char *chan_path;
	const char *vhost_path;   /* virtio-fs transport: our listening socket */
	uid_t sock_uid;           /* who may connect to it (QEMU's user) */
	gid_t sock_gid;
	const char *export;
	struct fsgw_ident id;
	gid_t groups[NGROUPS_MAX];
	unsigned long max_fds;
	double timeout;
	bool debug;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmfs-server (--vhost-user SOCKET [--socket-owner UID:GID] |\n"
		"                    --channel-fd N | --channel SOCKET) --export DIR\n"
		"                   --uid UID --gid GID [--groups G1,G2,...]\n"
		"                   [--max-fds N] [--cache-timeout SECONDS] [--debug]\n"
		"Serves DIR to a guest as UID, over one of two transports:\n"
		"  --vhost-user SOCKET  the VM's virtio-fs device (QEMU vhost-user-fs):\n"
		"      creates SOCKET (mode 0600, owned by --socket-owner, default 0:0;\n"
		"      it appears once we listen), accepts QEMU there, and serves until\n"
		"      QEMU disconnects. The guest mounts it with mount -t virtiofs.\n"
		"  --channel-fd N | --channel SOCKET  a virtio-serial port (a connected\n"
		"      stream fd, or the Unix socket QEMU made for the port) that the\n"
		"      guest's vmfs-client forwards /dev/fuse over; exits 0 at its EOF.\n"
		"Without --groups the supplementary groups come from the user database.\n"
		"hvd starts it, one per export and VM. --help: this help; --version.\n");
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_groups(struct opts *o, const char *s, struct vj_err *err)
{
	cleanup_free char *copy = strdup(s);
	char *save = NULL;
	o->id.groups = o->groups;
	o->id.ngroups = 0;
	if (!copy)
		return vj_err_sys(err, ENOMEM, "--groups");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long v;
		if (o->id.ngroups >= NGROUPS_MAX || parse_ulong(t, UINT_MAX - 1, &v) < 0)
			return vj_err_set(err, EINVAL, "--groups: bad group list '%s'", s);
		o->groups[o->id.ngroups++] = (gid_t)v;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o, struct vj_err *err)
{
	static const struct option lo[] = {
		{ "channel-fd", required_argument, 0, 'f' }, { "channel", required_argument, 0, 'c' },
		{ "export", required_argument, 0, 'e' },     { "uid", required_argument, 0, 'u' },
		{ "gid", required_argument, 0, 'g' },        { "groups", required_argument, 0, 'G' },
		{ "max-fds", required_argument, 0, 'n' },    { "cache-timeout", required_argument, 0, 't' },
		{ "debug", no_argument, 0, 'd' },            { "help", no_argument, 0, 'h' },
		{ "vhost-user", required_argument, 0, 'V' }, { "socket-owner", required_argument, 0, 'O' },
		{ "version", no_argument, 0, 'v' },          { 0, 0, 0, 0 },
	};
	bool have_uid = false, have_gid = false;
	unsigned long v;
	int c;
	*o = (struct opts){ .chan_fd = -1, .max_fds = 65536, .timeout = 1.0, .id.ngroups = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_ulong(optarg, INT_MAX, &v) < 0)
				return vj_err_set(err, EINVAL, "--channel-fd: not an fd number: %s", optarg);
			o->chan_fd = (int)v;
			break;
		case 'c': o->chan_path = optarg; break;
		case 'V': o->vhost_path = optarg; break;
		case 'O': {
			unsigned long u, g;
			char *colon = strchr(optarg, ':');
			if (!colon)
				return vj_err_set(err, EINVAL, "--socket-owner: want UID:GID: %s", optarg);
			*colon = '\0';
			if (parse_ulong(optarg, UINT_MAX - 1, &u) < 0 || parse_ulong(colon + 1, UINT_MAX - 1, &g) < 0)
				return vj_err_set(err, EINVAL, "--socket-owner: want UID:GID: %s:%s", optarg, colon + 1);
			o->sock_uid = (uid_t)u;
			o->sock_gid = (gid_t)g;
			break;
		}
		case 'e': o->export = optarg; break;
		case 'u':
			if (parse_ulong(optarg, UINT_MAX - 1, &v) < 0)
				return vj_err_set(err, EINVAL, "--uid: not a number: %s", optarg);
			o->id.uid = (uid_t)v;
			have_uid = true;
			break;
		case 'g':
			if (parse_ulong(optarg, UINT_MAX - 1, &v) < 0)
				return vj_err_set(err, EINVAL, "--gid: not a number: %s", optarg);
			o->id.gid = (gid_t)v;
			have_gid = true;
			break;
		case 'G':
			if (parse_groups(o, optarg, err) < 0)
				return -1;
			break;
		case 'n':
			if (parse_ulong(optarg, 1u << 20, &v) < 0 || v < 64)
				return vj_err_set(err, EINVAL, "--max-fds: want 64..1048576: %s", optarg);
			o->max_fds = v;
			break;
		case 't': {
			char *end;
			o->timeout = strtod(optarg, &end);
			if (*end || end == optarg || !(o->timeout >= 0 && o->timeout <= 3600))
				return vj_err_set(err, EINVAL, "--cache-timeout: want 0..3600 seconds: %s", optarg);
			break;
		}
		case 'd': o->debug = true; break;
		case 'h': usage(stdout); exit(0);
		case 'v': vj_cli_version("vmfs-server"); exit(0);
		default: vj_cli_bad_option("vmfs-server", c, argv);
		}
	}
	int transports = (o->chan_fd >= 0) + !!o->chan_path + !!o->vhost_path;
	if (optind != argc)
		vj_cli_usage_error("vmfs-server", "unexpected argument '%s'", argv[optind]);
	if (transports != 1)
		vj_cli_usage_error("vmfs-server", "give one of --vhost-user, --channel, --channel-fd");
	if (!o->export || !have_uid || !have_gid)
		vj_cli_usage_error("vmfs-server", "--export, --uid and --gid are required");
	return 0;
}

/* hvd may start us a moment before QEMU made the socket: retry for 10 s. */
static int connect_channel(const char *path, struct vj_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return vj_err_set(err, ENAMETOOLONG, "channel socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (int i = 0;; i++) {
		cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vj_err_sys(err, errno, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return vj_steal_fd(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || i >= 100)
			return vj_err_sys(err, errno, "connecting to the channel %s", path);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
}

static int setup(struct opts *o, struct fsgw *g, struct vj_err *err)
{
	int fd = o->chan_fd;
	if (o->chan_path && (fd = connect_channel(o->chan_path, err)) < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vj_err_sys(err, errno, "channel fd %d", fd);
	if (!S_ISSOCK(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
		return vj_err_set(err, EINVAL, "channel fd %d is not a socket or character device", fd);
	if (fsgw_keep_fds(fd, -1, err) < 0 || fsgw_set_fd_limit(o->max_fds, err) < 0)
		return -1;
	if (fsgw_drop_privileges(&o->id, err) < 0)
		return vj_err_prefix(err, "dropping privileges to uid %u", (unsigned)o->id.uid);
	umask(0);  /* the guest kernel already applied the guest's umask */
	/* Opened as the owner: an export the owner cannot reach stays shut. */
	cleanup_close int root = open(o->export, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return vj_err_sys(err, errno, "opening the export %s as uid %u", o->export, (unsigned)o->id.uid);
	g->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g->proc_fd < 0)
		return vj_err_sys(err, errno, "opening /proc/self/fd");
	g->uid = o->id.uid;
	g->gid = o->id.gid;
	g->timeout = o->timeout;
	g->chan.wfd = fd;
	g->chan.v.uid = o->id.uid;
	g->chan.v.gid = o->id.gid;
	if (!(g->rbuf = malloc(FSGW_MAX_READ)))
		return vj_err_sys(err, ENOMEM, "read buffer");
	if (fsgw_tables_init(g, vj_steal_fd(root), err) < 0)
		return vj_err_prefix(err, "export %s", o->export);
	return fd;
}

int main(int argc, char **argv)
{
	struct vj_err err = { 0 };
	struct opts o;
	struct fsgw g = { .proc_fd = -1 };
	if (parse_args(argc, argv, &o, &err) < 0) {
		fprintf(stderr, "vmfs-server: %s\n", err.msg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);  /* a vanished peer is an EOF, not a death */
	if (o.vhost_path) {
		struct fsgw_vhost v = { o.vhost_path, o.sock_uid, o.sock_gid };
		g.chan.vq = fsgw_vhost_start(&v, &o.id, &err);
		if (!g.chan.vq) {
			fprintf(stderr, "vmfs-server: %s\n", err.msg);
			return 1;
		}
		o.chan_fd = g.chan.vq->ctl;
	}
	int fd = setup(&o, &g, &err);
	if (fd < 0) {
		fprintf(stderr, "vmfs-server: %s\n", err.msg);
		fsgw_tables_free(&g);
		return 1;
	}

	struct fuse_lowlevel_ops ops = { 0 };
	fsgw_ops_entry(&ops);
	fsgw_ops_dir(&ops);
	fsgw_ops_file(&ops);
	fsgw_ops_xattr(&ops);
	char *fargv[] = { argv[0], o.debug ? "-odebug" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(o.debug ? 2 : 1, fargv);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), &g);
	const struct fuse_custom_io io = g.chan.vq ?
		(struct fuse_custom_io){ .read = fsgw_vq_read, .writev = fsgw_vq_writev } :
		(struct fuse_custom_io){ .read = fsgw_chan_read, .writev = fsgw_chan_writev };
	int rc = 1;
	if (!se) {
		fprintf(stderr, "vmfs-server: fuse_session_new failed\n");
		close(fd);
	} else if (fuse_session_custom_io(se, &io, fd) != 0) {
		fprintf(stderr, "vmfs-server: fuse_session_custom_io failed\n");
		close(fd);
	} else if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "vmfs-server: cannot install signal handlers\n");
	} else if (g.chan.vq && fsgw_vq_ready(g.chan.vq) < 0) {
		fprintf(stderr, "vmfs-server: the bridge is gone before the start\n");
	} else {
		int r = fuse_session_loop(se);
		fuse_remove_signal_handlers(se);
		/* ENODEV at EOF is the normal end; libfuse reports it as 0, a
		 * stop by SIGTERM/SIGINT/SIGHUP as the signal number. */
		rc = r >= 0 ? 0 : 1;
		if (r > 0)
			fprintf(stderr, "vmfs-server: stopped by signal %d\n", r);
		else if (r < 0)
			fprintf(stderr, "vmfs-server: channel closed on error: %s\n", strerror(-r));
		if (g.chan.refused)
			fprintf(stderr, "vmfs-server: %llu guest requests answered without the filesystem "
				"(unsupported or malformed; the last: opcode %u)\n",
				(unsigned long long)g.chan.refused, g.chan.last_refused);
	}
	if (se)
		fuse_session_destroy(se);  /* closes the channel fd */
	fuse_opt_free_args(&args);
	if (g.chan.vq) {
		vu_free(&g.chan.vq->dev); /* guest memory maps, eventfds */
		free(g.chan.vq);
	}
	fsgw_tables_free(&g);
	free(g.rbuf);
	if (g.proc_fd >= 0)
		close(g.proc_fd);
	return rc;
}
