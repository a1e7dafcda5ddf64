/* agent-hello: the smallest host-side peer of vmagent, for tests and as the
 * benchmark's floor (no hvd, no libvirt: just the agent channel).
 *
 *   agent-hello [options] SOCKET TIMEOUT_S [--exec CMD [ARG...]]
 *
 * Connects to the agent channel's Unix socket (retrying until it exists),
 * sends HELLO every 500 ms until the agent answers, prints
 * "agent ready after N ms" and the guest's kernel, and exits 0; on timeout it
 * says so and exits 1. With --exec it then runs CMD through EXEC, relays
 * stdin/stdout/stderr and exits with the command's status (128+N if killed by
 * signal N, 125 on an agent ERROR). With --exec the info lines go to stderr so
 * stdout carries only the command's output.
 * Options (anywhere before --exec): --uid N --gid N --group N (repeatable) --cwd DIR
 *   --env K=V (repeatable) --pty --script FILE --jobs N (run N copies at once
 *   on streams 1..N) --signal MS:SIG (send SIG to the command(s) after MS ms). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "frame.h"
#include "kv.h"

#define MAX_JOBS 64
#define MAX_REPEAT 64

struct opts {
	const char *sock;
	long timeout_ms;
	const char *uid, *gid, *cwd, *script;
	const char *groups[MAX_REPEAT], *envs[MAX_REPEAT];
	int ngroups, nenvs;
	int pty, jobs;
	long sig_after_ms;
	int sig;
	char **cmd;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: agent-hello [--uid N] [--gid N] [--group N]... [--cwd DIR] [--env K=V]...\n"
			"       [--pty] [--script FILE] [--jobs N] [--signal MS:SIG]\n"
			"       SOCKET TIMEOUT_S [--exec CMD [ARG...]]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.uid = "0", .gid = "0", .cwd = "/", .jobs = 1, .sig_after_ms = -1};
	const char *pos[2];
	int npos = 0, i = 1;
	for (; i < argc && strcmp(argv[i], "--exec"); i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strncmp(a, "--", 2)) {
			if (npos == 2)
				usage();
			pos[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--pty")) {
			o->pty = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--uid"))
			o->uid = v;
		else if (!strcmp(a, "--gid"))
			o->gid = v;
		else if (!strcmp(a, "--cwd"))
			o->cwd = v;
		else if (!strcmp(a, "--script"))
			o->script = v;
		else if (!strcmp(a, "--group") && o->ngroups < MAX_REPEAT)
			o->groups[o->ngroups++] = v;
		else if (!strcmp(a, "--env") && o->nenvs < MAX_REPEAT)
			o->envs[o->nenvs++] = v;
		else if (!strcmp(a, "--jobs") && (o->jobs = atoi(v)) >= 1 && o->jobs <= MAX_JOBS)
			;
		else if (!strcmp(a, "--signal") && sscanf(v, "%ld:%d", &o->sig_after_ms, &o->sig) == 2)
			;
		else
			usage();
	}
	if (npos != 2)
		usage();
	o->sock = pos[0];
	o->timeout_ms = (long)(atof(pos[1]) * 1000);
	if (i < argc) {
		if (i + 1 >= argc)
			usage();
		o->cmd = argv + i + 1;
	}
}

/* Connect, retrying while the socket does not exist or nobody listens yet
 * (QEMU creates it at start-up). */
static int connect_retry(const char *path, long long deadline, struct vj_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vj_err_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vj_err_sys(err, errno, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;
		close(fd);
		if (e != ENOENT && e != ECONNREFUSED)
			return vj_err_sys(err, e, "connect %s", path);
		if (now_ms() >= deadline)
			return vj_err_sys(err, e, "timed out connecting to %s", path);
		usleep(20000);
	}
}

static int send_hello(int fd, struct vj_err *err)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "version", "1");
	int rc = vj_frame_write(fd, VJ_HELLO, 0, kv.data, kv.len, err);
	vj_kv_free(&kv);
	return rc;
}

/* HELLO every 500 ms until the agent's HELLO arrives or the deadline passes. */
static int wait_ready(int fd, struct vj_reader *rd, long long deadline, char *kernel, size_t ksz,
		      char *host, size_t hsz, struct vj_err *err)
{
	long long next_hello = 0;
	for (;;) {
		long long now = now_ms();
		if (now >= deadline)
			return vj_err_set(err, ETIMEDOUT, "timed out waiting for the agent's HELLO");
		if (now >= next_hello) {
			if (send_hello(fd, err) < 0)
				return vj_err_prefix(err, "sending HELLO");
			next_hello = now + 500;
		}
		long long wait = (next_hello < deadline ? next_hello : deadline) - now;
		struct vj_frame f;
		int rc = vj_frame_read(fd, rd, &f, (int)wait, err);
		if (rc < 0 && err->code == ETIMEDOUT)
			continue;
		if (rc == 0)
			return vj_err_set(err, EPIPE, "the agent channel closed before HELLO");
		if (rc < 0)
			return vj_err_prefix(err, "reading from the agent channel");
		cleanup_free uint8_t *payload = f.payload;
		if (f.type != VJ_HELLO)
			continue;
		if (vj_kv_get_str(payload, f.len, "kernel", kernel, ksz, "?", err) < 0 ||
		    vj_kv_get_str(payload, f.len, "hostname", host, hsz, "?", err) < 0)
			return vj_err_prefix(err, "agent HELLO");
		return 0;
	}
}

static int read_file(const char *path, struct vj_kvbuf *kv, struct vj_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return vj_err_sys(err, errno, "%s", path);
	if (st.st_size > (off_t)(VJ_FRAME_MAX / 2))
		return vj_err_set(err, EFBIG, "%s: script too large", path);
	cleanup_free char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return vj_err_set(err, ENOMEM, "out of memory");
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return vj_err_sys(err, errno, "reading %s", path);
	vj_kv_add(kv, "script", buf, (size_t)n);
	return 0;
}

static int send_exec(int fd, const struct opts *o, uint32_t stream, struct vj_err *err)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_str(&kv, "uid", o->uid);
	vj_kv_add_str(&kv, "gid", o->gid);
	for (int i = 0; i < o->ngroups; i++)
		vj_kv_add_str(&kv, "group", o->groups[i]);
	vj_kv_add_str(&kv, "cwd", o->cwd);
	for (char **a = o->cmd; *a; a++)
		vj_kv_add_str(&kv, "arg", *a);
	vj_kv_add_str(&kv, "env", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	vj_kv_add_str(&kv, "env", "HOME=/");
	if (o->pty)
		vj_kv_add_str(&kv, "env", "TERM=xterm");
	for (int i = 0; i < o->nenvs; i++)
		vj_kv_add_str(&kv, "env", o->envs[i]);
	vj_kv_add_u64(&kv, "pty", (uint64_t)o->pty);
	vj_kv_add_u64(&kv, "rows", 24);
	vj_kv_add_u64(&kv, "cols", 80);
	int rc = 0;
	if (o->script)
		rc = read_file(o->script, &kv, err);
	if (rc == 0 && kv.oom)
		rc = vj_err_set(err, ENOMEM, "EXEC request too large");
	if (rc == 0 && (rc = vj_frame_write(fd, VJ_EXEC, stream, kv.data, kv.len, err)) < 0)
		vj_err_prefix(err, "sending EXEC");
	vj_kv_free(&kv);
	return rc;
}

static void send_signal(int fd, uint32_t stream, int sig)
{
	struct vj_kvbuf kv;
	vj_kv_init(&kv);
	vj_kv_add_u64(&kv, "sig", (uint64_t)sig);
	vj_frame_write(fd, VJ_SIGNAL, stream, kv.data, kv.len, NULL);
	vj_kv_free(&kv);
}

/* Relay until every stream has ended. Returns the exit code for the tool. */
static int run_exec(int fd, struct vj_reader *rd, const struct opts *o, struct vj_err *err)
{
	for (int j = 1; j <= o->jobs; j++) {
		if (send_exec(fd, o, (uint32_t)j, err) < 0)
			return -1;
		if (j > 1)
			vj_frame_write(fd, VJ_STDIN, (uint32_t)j, NULL, 0, NULL);
	}
	int live = o->jobs, worst = 0;
	bool stdin_open = true;
	long long t0 = now_ms(), sig_at = o->sig_after_ms >= 0 ? t0 + o->sig_after_ms : -1;
	while (live > 0) {
		struct vj_frame f;
		int rc;
		while ((rc = vj_reader_next(rd, &f)) > 0) {
			cleanup_free uint8_t *p = f.payload;
			char msg[1024];
			uint64_t v = 0;
			switch (f.type) {
			case VJ_STDOUT: vj_write_all(1, p, f.len, NULL); break;
			case VJ_STDERR: vj_write_all(2, p, f.len, NULL); break;
			case VJ_STARTED: break;
			case VJ_ERROR:
				vj_kv_get_str(p, f.len, "msg", msg, sizeof(msg), "?", NULL);
				fprintf(stderr, "agent-hello: stream %u: ERROR: %s\n", f.stream, msg);
				worst = worst > 125 ? worst : 125;
				live--;
				break;
			case VJ_EXIT: {
				int code;
				if (vj_kv_get_u64(p, f.len, "signal", 1, 64, false, &v, NULL) == 0) {
					fprintf(stderr, "agent-hello: stream %u: exit signal=%u\n", f.stream,
						(unsigned)v);
					code = 128 + (int)v;
				} else {
					vj_kv_get_u64(p, f.len, "status", 0, 255, false, &v, NULL);
					fprintf(stderr, "agent-hello: stream %u: exit status=%u\n", f.stream,
						(unsigned)v);
					code = (int)v;
				}
				worst = code > worst ? code : worst;
				live--;
				break;
			}
			default: break;
			}
		}
		if (rc < 0)
			return vj_err_set(err, EPROTO, "malformed frame from the agent");
		if (live == 0)
			break;
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		int timeout = sig_at >= 0 ? (int)(sig_at > now_ms() ? sig_at - now_ms() : 0) : -1;
		if (poll(pfd, stdin_open ? 2 : 1, timeout) < 0 && errno != EINTR)
			return vj_err_sys(err, errno, "poll");
		if (sig_at >= 0 && now_ms() >= sig_at) {
			for (int j = 1; j <= o->jobs; j++)
				send_signal(fd, (uint32_t)j, o->sig);
			sig_at = -1;
		}
		if (stdin_open && pfd[1].revents) {
			char buf[VJ_IO_CHUNK];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				stdin_open = false;
				n = 0;
			}
			vj_frame_write(fd, VJ_STDIN, 1, buf, (size_t)n, NULL);
		}
		if (pfd[0].revents) {
			long n = vj_reader_fill(rd, fd, err);
			if (n == 0)
				return vj_err_set(err, EPIPE, "the agent channel closed before EXIT");
			if (n < 0 && err->code != EAGAIN && err->code != EINTR)
				return vj_err_prefix(err, "reading from the agent channel");
		}
	}
	return worst;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_opts(argc, argv, &o);
	struct vj_err err = {0};
	long long t0 = now_ms(), deadline = t0 + o.timeout_ms;
	struct vj_reader rd;
	vj_reader_init(&rd, VJ_FRAME_MAX);
	char kernel[256], host[256];
	cleanup_close int fd = connect_retry(o.sock, deadline, &err);
	if (fd < 0 || wait_ready(fd, &rd, deadline, kernel, sizeof(kernel), host, sizeof(host), &err) < 0) {
		fprintf(stderr, "agent-hello: %s (after %lld ms)\n", err.msg, now_ms() - t0);
		return 1;
	}
	FILE *info = o.cmd ? stderr : stdout;
	fprintf(info, "agent ready after %lld ms\nkernel %s\nhostname %s\n", now_ms() - t0, kernel, host);
	fflush(info);
	if (!o.cmd)
		return 0;
	int rc = run_exec(fd, &rd, &o, &err);
	if (rc < 0) {
		fprintf(stderr, "agent-hello: %s\n", err.msg);
		return 125;
	}
	return rc;
}
