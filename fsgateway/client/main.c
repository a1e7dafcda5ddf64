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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmfs-client [-f] [-w SECONDS] [-t THREADS] PORT MOUNTPOINT\n"
		"       vmfs-client [-w SECONDS] [-t THREADS] --cmdline [FILE]\n"
		"PORT is a virtio-serial port name (org.vmjob.fs.0) or a device path\n"
		"(/dev/vport1p2). The first form mounts PORT at MOUNTPOINT and, once the\n"
		"mount is up, goes to the background (-f: stay in the foreground).\n"
		"--cmdline mounts every entry of vmjob.fs=N:PATH[,N:PATH...] found in\n"
		"FILE (default /proc/cmdline): port org.vmjob.fs.N at PATH (created).\n"
		"With vmjob.fsdev=virtiofs there, each entry is instead the virtio-fs\n"
		"device tagged vmjob.fs.N, mounted by the kernel's virtiofs driver (no\n"
		"process stays behind).\n"
		"-w: how long to wait for the host end of the port, or for the first\n"
		"answer on a virtio-fs mount (default 60 s).\n"
		"Exit status 0 once every mount is up.\n");
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			if (!(*s = c))
				return 0;
		}
	}
}

/* Mount one port; returns in the parent only after the mount is up (or
 * failed), the forwarding continues in a child unless foreground. */
static int run_one(const char *port_arg, const char *mnt, int wait_s, int threads, int fg)
{
	char port[512];
	if (vmfs_resolve_port(port_arg, port, sizeof(port)) < 0) {
		fprintf(stderr, "vmfs-client: no virtio-serial port named %s: %s\n", port_arg, strerror(errno));
		return 1;
	}
	int pfd = vmfs_open_port(port, wait_s);
	if (pfd < 0) {
		fprintf(stderr, "vmfs-client: %s: %s\n", port,
			errno == ENOTCONN ? "the host end did not connect" : strerror(errno));
		return 1;
	}
	int ffd = vmfs_mount(mnt);
	if (ffd < 0) {
		fprintf(stderr, "vmfs-client: mounting %s: %s\n", mnt, strerror(errno));
		return 1;
	}
	if (!fg) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "vmfs-client: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0)
			return 0;
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
	int r = vmfs_forward(ffd, pfd, threads);
	if (!fg)
		_exit(r == 0 ? 0 : 1);
	return r == 0 ? 0 : 1;
}

/* One vmjob.fs entry over the virtio-fs transport: the device QEMU was
 * given with tag=vmjob.fs.N, mounted by the guest kernel's own driver. */
static int mount_virtiofs(unsigned long idx, const char *mnt, int wait_s)
{
	char tag[32];
	snprintf(tag, sizeof(tag), "vmjob.fs.%lu", idx);
	int r = vmfs_mount_virtiofs(tag, mnt, wait_s);
	if (r == 0) {
		fprintf(stderr, "vmfs-client: %s mounted at %s (virtiofs)\n", tag, mnt);
		return 0;
	}
	if (r == -1 && errno == ENODEV)
		fprintf(stderr, "vmfs-client: mounting %s at %s: no virtiofs in this kernel (modprobe virtiofs)\n",
			tag, mnt);
	else if (r == -1 && errno == EINVAL) /* the driver's answer to an unknown tag */
		fprintf(stderr, "vmfs-client: mounting %s at %s: no virtio-fs device with that tag\n", tag, mnt);
	else if (r == -1)
		fprintf(stderr, "vmfs-client: mounting %s at %s: %s\n", tag, mnt, strerror(errno));
	else if (errno == ETIMEDOUT)
		fprintf(stderr, "vmfs-client: %s at %s: the host did not answer within %d s\n", tag, mnt, wait_s);
	else if (errno == ECONNREFUSED) /* the kernel's answer once INIT failed */
		fprintf(stderr, "vmfs-client: %s at %s: the host's server failed the session start (INIT)\n", tag,
			mnt);
	else
		fprintf(stderr, "vmfs-client: %s at %s: the host answered %s\n", tag, mnt, strerror(errno));
	return 1;
}

/* vmjob.fs=0:/gpfs,1:/home -> one mount per entry: a forwarder process per
 * virtio-serial port, or with vmjob.fsdev=virtiofs a virtio-fs mount. */
static int run_cmdline(const char *file, int wait_s, int threads)
{
	char buf[8192];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		fprintf(stderr, "vmfs-client: reading %s: %s\n", file, strerror(errno));
		return 1;
	}
	buf[n] = '\0';
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
			if (mkdir_p(colon + 1) < 0) {
				fprintf(stderr, "vmfs-client: mkdir %s: %s\n", colon + 1, strerror(errno));
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cmdline", no_argument, 0, 'c' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int fg = 0, wait_s = 60, threads = 4, cmdline = 0, c;
	while ((c = getopt_long(argc, argv, "fw:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'w': wait_s = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'c': cmdline = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (cmdline) {
		if (argc - optind > 1) {
			usage(stderr);
			return 2;
		}
		return run_cmdline(optind < argc ? argv[optind] : "/proc/cmdline", wait_s, threads);
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	return run_one(argv[optind], argv[optind + 1], wait_s, threads, fg);
}
