/* hvctl: admin CLI for hvd. Speaks the request protocol of docs/internals.md
 * over hvd's socket; `exec` relays a command's stdio like vmexec does. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "hvctl.h"
#include "frame.h"
#include "admin.h"
#include "images.h"
#include "hvdclient.h"
#include "kv.h"
#include "paths.h"

static const char *sock_path = VJ_DEFAULT_SOCKET;

/* The VM verbs' help, one entry each: `hvctl --help` lists them all,
 * `hvctl VERB --help` and `hvctl help VERB` print one. */
static const struct {
	const char *name, *text;
} core_verbs[] = {
	{"list", "  list                      the VMs hvd knows: job, owner, image, state, age\n"
		 "                            (root or slurm_user; see also vms)\n"},
	{"status", "  status JOB                all fields of the VM of JOB, with its phase times\n"
		   "                            (the VM's owner, root or slurm_user)\n"},
	{"create", "  create JOB -i IMAGE [-u UID] [-g GID] [-c CPUS] [-m MEM_MB]\n"
		   "         [--cores LIST] [--scratch MB]\n"
		   "                            create a VM for JOB, as the SPANK plugin does (root\n"
		   "                            or hvd.conf's slurm_user);\n"
		   "                            defaults: uid/gid of the caller, 1 cpu, 512 MiB;\n"
		   "                            --cores: host cores to pin the vCPUs to (e.g. 0-1);\n"
		   "                            refused with a reason if the host is drained, full\n"
		   "                            (max_vms) or short of memory (host_mem_reserve_mb)\n"},
	{"destroy", "  destroy JOB               destroy the VM of JOB and everything it used (root\n"
		    "                            or slurm_user)\n"},
	{"exec", "  exec [-t] [-C DIR] [-e K=V]... JOB -- CMD [ARG]...\n"
		 "                            run CMD in the VM of JOB as yourself and relay its\n"
		 "                            stdio; -t: with a pseudo-terminal; -C: working\n"
		 "                            directory (default: the current one); -e: environment.\n"
		 "                            Exit status: the command's, 128+N if killed by N.\n"},
	{"help", "  help [VERB]               this help, or one verb's\n"},
};

static const char *core_help(const char *verb)
{
	for (size_t i = 0; i < sizeof(core_verbs) / sizeof(core_verbs[0]); i++)
		if (!strcmp(verb, core_verbs[i].name))
			return core_verbs[i].text;
	return NULL;
}

/* -h/--help among a verb's own arguments (for exec, before the command). */
static bool asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvctl [-s SOCKET] COMMAND [ARGS]\n"
		"Administer the vmjob hypervisor daemon (hvd) on this node.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(core_verbs) / sizeof(core_verbs[0]); i++)
		fputs(core_verbs[i].text, f);
	hvctl_images_usage(f);
	hvctl_admin_usage(f);
	fprintf(f,
		"\nOptions:\n"
		"  -s SOCKET                 hvd's socket (default %s, or $VMJOB_SOCKET)\n"
		"  -h, --help                this help\n",
		sock_path);
}

void hvctl_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hvctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int connect_hvd(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		hvctl_die("socket path too long: %s", sock_path);
	strcpy(sa.sun_path, sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		hvctl_die("cannot connect to hvd at %s: %s (is hvd running?)", sock_path, strerror(errno));
	return fd;
}

/* One request, one reply. Prints ERR's message and exits 1 on ERR. */
static void request(int fd, uint16_t type, struct vj_kvbuf *kv, struct vj_frame *reply)
{
	struct vj_err err = {0};
	if (vj_hvd_send(fd, type, kv, &err))
		hvctl_die("%s", err.msg);
	struct vj_reader r;
	int rc;
	vj_reader_init(&r, VJ_FRAME_MAX);
	rc = vj_frame_read(fd, &r, reply, -1, &err);
	vj_reader_free(&r);
	if (rc == 0)
		hvctl_die("hvd closed the connection without replying");
	if (rc < 0)
		hvctl_die("cannot read hvd's reply: %s", err.msg);
	if (reply->type == VJ_REPLY_ERR) {
		char msg[2048];
		if (vj_kv_get_str(reply->payload, reply->len, "msg", msg, sizeof(msg), "(no message)",
				  NULL))
			strcpy(msg, "(unreadable message)");
		hvctl_die("%s", msg);
	}
	if (reply->type != VJ_REPLY_OK)
		hvctl_die("unexpected reply %s from hvd", vj_type_name(reply->type));
}

/* Print every key=value of a reply, one per line. */
static void print_kv(const struct vj_frame *f, const char *only)
{
	struct vj_kv_iter it;
	struct vj_kv_entry e;
	vj_kv_iter_init(&it, f->payload, f->len);
	while (vj_kv_next(&it, &e) > 0) {
		if (only) {
			if (vj_kv_key_is(&e, only))
				printf("%.*s\n", (int)e.vlen, (const char *)e.val);
			continue;
		}
		printf("%.*s=%.*s\n", (int)e.klen, e.key, (int)e.vlen, (const char *)e.val);
	}
}

static int cmd_simple(uint16_t type, const char *job, const char *only)
{
	int fd = connect_hvd();
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	if (job)
		vj_kv_add_str(&kv, "job", job);
	struct vj_frame reply;
	request(fd, type, &kv, &reply);
	if (type == VJ_REQ_LIST && vj_kv_count(reply.payload, reply.len, "vm") == 0)
		printf("no VMs\n");
	print_kv(&reply, only);
	free(reply.payload);
	vj_kv_free(&kv);
	close(fd);
	return 0;
}

static const char *need_job(int argc, char **argv, int i, const char *verb)
{
	if (i >= argc)
		hvctl_die("%s: missing JOB (see hvctl --help)", verb);
	return argv[i];
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, 'i'}, {"uid", required_argument, 0, 'u'},
		{"gid", required_argument, 0, 'g'},   {"cpus", required_argument, 0, 'c'},
		{"mem", required_argument, 0, 'm'},   {"cores", required_argument, 0, 'C'},
		{"scratch", required_argument, 0, 'S'}, {0, 0, 0, 0}};
	const char *image = NULL, *cores = NULL, *scratch = NULL;
	char uid[16], gid[16];
	const char *cpus = "1", *mem = "512";
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "i:u:g:c:m:", opts, NULL)) != -1) {
		switch (o) {
		case 'i': image = optarg; break;
		case 'u': snprintf(uid, sizeof(uid), "%s", optarg); break;
		case 'g': snprintf(gid, sizeof(gid), "%s", optarg); break;
		case 'c': cpus = optarg; break;
		case 'm': mem = optarg; break;
		case 'C': cores = optarg; break;
		case 'S': scratch = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	const char *job = need_job(argc, argv, optind, "create");
	if (!image)
		hvctl_die("create: -i IMAGE is required");
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "job", job);
	vj_kv_add_str(&kv, "uid", uid);
	vj_kv_add_str(&kv, "gid", gid);
	vj_kv_add_str(&kv, "cpus", cpus);
	vj_kv_add_str(&kv, "mem_mb", mem);
	vj_kv_add_str(&kv, "image", image);
	if (cores)
		vj_kv_add_str(&kv, "cores", cores);
	if (scratch)
		vj_kv_add_str(&kv, "scratch_mb", scratch);
	int fd = connect_hvd();
	struct vj_frame reply;
	request(fd, VJ_REQ_CREATE, &kv, &reply);
	print_kv(&reply, NULL);
	free(reply.payload);
	vj_kv_free(&kv);
	close(fd);
	return 0;
}

static struct termios saved_tio;
static bool raw_mode;
static void restore_tty(void)
{
	if (raw_mode)
		tcsetattr(0, TCSADRAIN, &saved_tio);
}

static void send_winsize(int fd)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		return;
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_u64(&kv, "rows", ws.ws_row);
	vj_kv_add_u64(&kv, "cols", ws.ws_col);
	if (!kv.oom)
		vj_frame_write(fd, VJ_WINSIZE, 1, kv.data, kv.len, NULL);
	vj_kv_free(&kv);
}

static int relay(int fd, bool pty)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct vj_reader r;
	vj_reader_init(&r, VJ_FRAME_MAX);
	bool stdin_open = true;
	for (;;) {
		struct pollfd pfd[3] = {{.fd = fd, .events = POLLIN},
					{.fd = stdin_open ? 0 : -1, .events = POLLIN},
					{.fd = sfd, .events = POLLIN}};
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			hvctl_die("poll: %s", strerror(errno));
		}
		if (pfd[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					send_winsize(fd);
				} else {
					struct vj_kvbuf kv;
					vj_kv_init(&kv);
					vj_kv_add_u64(&kv, "sig", si.ssi_signo);
					if (!kv.oom)
						vj_frame_write(fd, VJ_SIGNAL, 1, kv.data, kv.len, NULL);
					vj_kv_free(&kv);
				}
			}
		}
		if (pfd[1].revents) {
			char buf[VJ_IO_CHUNK];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				stdin_open = false;
				n = 0; /* zero-length STDIN = EOF */
			}
			if (vj_frame_write(fd, VJ_STDIN, 1, buf, (size_t)n, NULL))
				hvctl_die("lost the connection to hvd");
		}
		if (!pfd[0].revents)
			continue;
		struct vj_err err;
		long n = vj_reader_fill(&r, fd, &err);
		if (n == 0)
			hvctl_die("hvd closed the connection before the command ended");
		if (n < 0 && err.code != EINTR && err.code != EAGAIN)
			hvctl_die("reading from hvd: %s", err.msg);
		struct vj_frame f;
		int rc;
		while ((rc = vj_reader_next(&r, &f)) > 0) {
			char msg[2048];
			uint64_t v = 0;
			switch (f.type) {
			case VJ_STARTED:
				if (pty)
					send_winsize(fd);
				break;
			case VJ_STDOUT:
			case VJ_STDERR:
				if (f.len)
					vj_write_all(f.type == VJ_STDOUT ? 1 : 2, f.payload, f.len, NULL);
				break;
			case VJ_EXIT:
				restore_tty();
				if (vj_kv_get_u64(f.payload, f.len, "signal", 1, 64, false, &v, NULL) == 0)
					return 128 + (int)v;
				v = 255;
				vj_kv_get_u64(f.payload, f.len, "status", 0, 255, true, &v, NULL);
				return (int)v;
			case VJ_ERROR:
			case VJ_REPLY_ERR:
				restore_tty();
				if (vj_kv_get_str(f.payload, f.len, "msg", msg, sizeof(msg), "(no message)", NULL))
					strcpy(msg, "(unreadable message)");
				hvctl_die("%s", msg);
			default:
				break;
			}
			free(f.payload);
		}
		if (rc < 0)
			hvctl_die("malformed data from hvd");
	}
}

static int cmd_exec(int argc, char **argv)
{
	bool pty = false;
	const char *cwd = NULL;
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	const char *envs[256];
	size_t nenv = 0;
	int o;
	optind = 1;
	while ((o = getopt(argc, argv, "+tC:e:")) != -1) {
		switch (o) {
		case 't': pty = true; break;
		case 'C': cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				hvctl_die("exec: -e wants K=V, not '%s'", optarg);
			if (nenv == sizeof(envs) / sizeof(envs[0]))
				hvctl_die("exec: too many -e options");
			envs[nenv++] = optarg;
			break;
		default: usage(stderr); return 2;
		}
	}
	const char *job = need_job(argc, argv, optind, "exec");
	int i = optind + 1;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		hvctl_die("exec: missing the command (hvctl exec JOB -- CMD ...)");
	char here[4096];
	if (!cwd)
		cwd = getcwd(here, sizeof(here)) ? here : "/";
	vj_kv_add_str(&kv, "job", job);
	vj_kv_add_u64(&kv, "uid", getuid());
	vj_kv_add_u64(&kv, "gid", getgid());
	vj_kv_add_str(&kv, "cwd", cwd);
	for (; i < argc; i++)
		vj_kv_add_str(&kv, "arg", argv[i]);
	for (size_t k = 0; k < nenv; k++)
		vj_kv_add_str(&kv, "env", envs[k]);
	const char *term = getenv("TERM");
	if (pty && term) {
		char t[256];
		snprintf(t, sizeof(t), "TERM=%s", term);
		vj_kv_add_str(&kv, "env", t);
	}
	vj_kv_add_str(&kv, "pty", pty ? "1" : "0");
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	if (pty)
		ioctl(0, TIOCGWINSZ, &ws);
	vj_kv_add_u64(&kv, "rows", ws.ws_row);
	vj_kv_add_u64(&kv, "cols", ws.ws_col);
	if (kv.oom)
		hvctl_die("out of memory");
	int fd = connect_hvd();
	struct vj_err err = {0};
	if (vj_hvd_send(fd, VJ_REQ_EXEC, &kv, &err))
		hvctl_die("%s", err.msg);
	vj_kv_free(&kv);
	if (pty && isatty(0) && tcgetattr(0, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		if (tcsetattr(0, TCSADRAIN, &raw) == 0)
			raw_mode = true;
		atexit(restore_tty);
	}
	return relay(fd, pty);
}

int main(int argc, char **argv)
{
	const char *env_sock = getenv("VMJOB_SOCKET");
	if (env_sock && *env_sock)
		sock_path = env_sock;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			sock_path = argv[++i];
			continue;
		}
		usage(stderr);
		return 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	const char *verb = argv[i];
	int vargc = argc - i;
	char **vargv = argv + i;
	const char *one = core_help(verb);
	if (one && (asks_help(vargc, vargv) || (!strcmp(verb, "help") && vargc > 1))) {
		const char *which = verb;
		if (!strcmp(verb, "help") && strcmp(vargv[1], "-h") && strcmp(vargv[1], "--help"))
			which = vargv[1];
		if (!core_help(which)) {
			/* The image and host verbs print their own help. */
			char *hv[] = {(char *)which, "--help", NULL};
			if (hvctl_images_verb(which))
				return hvctl_images_main(sock_path, 2, hv);
			if (hvctl_admin_verb(which))
				return hvctl_admin_main(sock_path, 2, hv);
			fprintf(stderr, "hvctl: unknown command '%s'\n", which);
			return 2;
		}
		printf("Usage: hvctl [-s SOCKET] %s\n%s", which, core_help(which));
		return 0;
	}
	if (!strcmp(verb, "list"))
		return cmd_simple(VJ_REQ_LIST, NULL, "vm");
	if (!strcmp(verb, "status"))
		return cmd_simple(VJ_REQ_STATUS, need_job(vargc, vargv, 1, verb), NULL);
	if (!strcmp(verb, "destroy")) {
		cmd_simple(VJ_REQ_DESTROY, need_job(vargc, vargv, 1, verb), NULL);
		return 0;
	}
	if (!strcmp(verb, "create"))
		return cmd_create(vargc, vargv);
	if (!strcmp(verb, "exec"))
		return cmd_exec(vargc, vargv);
	if (hvctl_images_verb(verb))
		return hvctl_images_main(sock_path, vargc, vargv);
	if (hvctl_admin_verb(verb))
		return hvctl_admin_main(sock_path, vargc, vargv);
	if (!strcmp(verb, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hvctl: unknown command '%s'\n", verb);
	usage(stderr);
	return 2;
}
