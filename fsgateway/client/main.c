/* vmfs-client: mount one exported tree from the host (or all of them, as
 * listed on the kernel command line) and forward FUSE traffic for it; or,
 * over the virtio-fs transport, just mount them (the kernel forwards). */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmfs-client [-f] [-w SECONDS] [-t THREADS] PORT MOUNTPOINT\n"
		"       vmfs-client [-w SECONDS] [-t THREADS] --cmdline [FILE]\n"
		"PORT is a virtio-serial port name (org.vmjob.fs.0) or a device path\n"
		"(/dev/vport1p2). The first form mounts PORT at MOUNTPOINT and, once the\n"
		"mount is up, goes to the background (-f: stay in the foreground).\n"
		"--cmdline mounts every entry of vmjob.fs=N:PATH[,N:PATH...] found in\n"
		"FILE (default /proc/cmdline): port org.vmjob.fs.N at PATH (created).\n"
		"With vmjob.fsdev=virtiofs there, each entry is instead the virtio-fs\n"
		"device tagged vmjob.fs.N, mounted by the kernel's virtiofs driver (no\n"
		"process stays behind).\n"
		"-w, --wait=SECONDS: how long to wait for the host end of the port, or for\n"
		"the first answer on a virtio-fs mount (default 60 s); -t, --threads=N:\n"
		"FUSE worker threads (default 4); -f, --foreground.\n"
		"Exit status 0 once every mount is up. -h, --help; -V, --version.\n");
}

static int mkdir_p(const char *path, struct vj_err *err)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return vj_err_set(err, ENAMETOOLONG, "mkdir %s: path too long", path);
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return vj_err_sys(err, errno, "mkdir %s", buf);
			if (!(*s = c))
				return 0;
		}
	}
}

static void report(const struct vj_err *err)
{
	fprintf(stderr, "vmfs-client: %s\n", err->msg);
}

/* Mount one port; returns in the parent only after the mount is up (or
 * failed), the forwarding continues in a child unless foreground. */
static int run_one(const char *port_arg, const char *mnt, int wait_s, int threads, int fg)
{
	struct vj_err err = { 0 };
	char port[512];
	if (vmfs_resolve_port(port_arg, port, sizeof(port), &err) < 0) {
		report(&err);
		return 1;
	}
	cleanup_close int pfd = vmfs_open_port(port, wait_s, &err);
	if (pfd < 0) {
		report(&err);
		return 1;
	}
	cleanup_close int ffd = vmfs_mount(mnt, &err);
	if (ffd < 0) {
		report(&err);
		return 1;
	}
	if (!fg) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "vmfs-client: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0)
			return 0; /* the child serves the mount; our copies close */
		setsid();
		if (chdir("/") < 0)
			_exit(1);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			close(nul);
		}
	}
	int r = vmfs_forward(ffd, pfd, threads, &err);
	if (r < 0)
		report(&err);
	if (!fg)
		_exit(r == 0 ? 0 : 1);
	return r == 0 ? 0 : 1;
}

/* One vmjob.fs entry over the virtio-fs transport: the device QEMU was
 * given with tag=vmjob.fs.N, mounted by the guest kernel's own driver. */
static int mount_virtiofs(unsigned long idx, const char *mnt, int wait_s)
{
	struct vj_err err = { 0 };
	char tag[32];
	snprintf(tag, sizeof(tag), "vmjob.fs.%lu", idx);
	if (vmfs_mount_virtiofs(tag, mnt, wait_s, &err) < 0) {
		report(&err);
		return 1;
	}
	fprintf(stderr, "vmfs-client: %s mounted at %s (virtiofs)\n", tag, mnt);
	return 0;
}

/* The kernel command line (or what a test gives instead), NUL-terminated. */
static int read_cmdline(const char *file, char *buf, size_t n, struct vj_err *err)
{
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : read(fd, buf, n - 1);
	if (got < 0)
		return vj_err_sys(err, errno, "reading %s", file);
	buf[got] = '\0';
	return 0;
}

/* vmjob.fs=0:/gpfs,1:/home -> one mount per entry: a forwarder process per
 * virtio-serial port, or with vmjob.fsdev=virtiofs a virtio-fs mount. */
static int run_cmdline(const char *file, int wait_s, int threads)
{
	struct vj_err err = { 0 };
	char buf[8192];
	if (read_cmdline(file, buf, sizeof(buf), &err)) {
		report(&err);
		return 1;
	}
	char *words[256];
	int nw = 0, virtiofs = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t\n", &save); w && nw < 256; w = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(w, "vmjob.fsdev=", 12) == 0) {
			if (strcmp(w + 12, "virtiofs") == 0)
				virtiofs = 1;
			else if (strcmp(w + 12, "serial") == 0)
				virtiofs = 0;
			else {
				fprintf(stderr, "vmfs-client: unknown %s (want virtiofs or serial)\n", w);
				return 1;
			}
		} else if (strncmp(w, "vmjob.fs=", 9) == 0) {
			words[nw++] = w + 9;
		}
	}
	int failed = 0, found = 0;
	for (int i = 0; i < nw; i++) {
		char *s2 = NULL;
		for (char *e = strtok_r(words[i], ",", &s2); e; e = strtok_r(NULL, ",", &s2)) {
			char *colon = strchr(e, ':');
			char *end;
			unsigned long idx = strtoul(e, &end, 10);
			if (!colon || end != colon || colon == e || colon[1] != '/' || idx > 999) {
				fprintf(stderr, "vmfs-client: bad vmjob.fs entry '%s' (want N:/path)\n", e);
				failed++;
				continue;
			}
			found++;
			if (mkdir_p(colon + 1, &err) < 0) {
				report(&err);
				failed++;
				continue;
			}
			if (virtiofs) {
				failed += mount_virtiofs(idx, colon + 1, wait_s);
				continue;
			}
			char port[32];
			snprintf(port, sizeof(port), "org.vmjob.fs.%lu", idx);
			if (run_one(port, colon + 1, wait_s, threads, 0) != 0)
				failed++;
			else
				fprintf(stderr, "vmfs-client: %s mounted at %s\n", port, colon + 1);
		}
	}
	if (!found)
		fprintf(stderr, "vmfs-client: no vmjob.fs= on the kernel command line: nothing to mount\n");
	return failed ? 1 : 0;
}

/* A number option in [lo, hi], or a usage error. */
static int count_arg(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < lo || n > hi)
		vj_cli_usage_error("vmfs-client", "%s wants a number in [%ld, %ld], not '%s'", opt, lo, hi, v);
	return (int)n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cmdline", no_argument, 0, 'c' },  { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },  { "foreground", no_argument, 0, 'f' },
		{ "wait", required_argument, 0, 'w' }, { "threads", required_argument, 0, 't' },
		{ 0, 0, 0, 0 },
	};
	int fg = 0, wait_s = 60, threads = 4, cmdline = 0, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fw:t:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'w': wait_s = count_arg("--wait", optarg, 0, 3600); break;
		case 't': threads = count_arg("--threads", optarg, 1, 64); break;
		case 'c': cmdline = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': vj_cli_version("vmfs-client"); return 0;
		default: vj_cli_bad_option("vmfs-client", c, argv);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (cmdline) {
		if (argc - optind > 1)
			vj_cli_usage_error("vmfs-client", "--cmdline takes at most one FILE");
		return run_cmdline(optind < argc ? argv[optind] : "/proc/cmdline", wait_s, threads);
	}
	if (argc - optind != 2)
		vj_cli_usage_error("vmfs-client", "want PORT MOUNTPOINT (or --cmdline)");
	return run_one(argv[optind], argv[optind + 1], wait_s, threads, fg);
}
