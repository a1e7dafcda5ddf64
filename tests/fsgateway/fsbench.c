/* fsbench: the filesystem benchmark run inside the benchmark guest, once per
 * mounted filesystem (tests/fsgateway/bench.sh makes the table).
 *
 *   fsbench [-c CTLPORT] [-s SIZE_MB] [-t RAND_SECONDS] [-n NFILES] DIR LABEL
 *   fsbench -p [-s SIZE_MB] PORT LABEL      (raw virtio-serial port)
 *
 * Phases: sequential write of SIZE_MB (1 MiB writes, fsync before the clock
 * stops), sequential read of it, 4 KiB random preads over it for
 * RAND_SECONDS, then create (1 KiB each), stat and unlink of NFILES files.
 * Before every read-type phase the guest's caches are dropped and, through
 * the control port (a virtio-serial port whose host end answers "drop"
 * with "ok" after dropping the host's page cache), the host's too: a file
 * that fits in either cache would measure memory, not the filesystem.
 * Buffered I/O (no O_DIRECT): that is what jobs do.
 *
 * Output, one line per result, for the host to collect from the console:
 *   FSBENCH LABEL METRIC VALUE UNIT
 * and "FSBENCH LABEL error PHASE: message" when a phase fails. Static (the
 * guest is busybox), no dependencies. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

static const char *label = "?";
static const char *ctl_path;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void result(const char *metric, double v, const char *unit)
{
	printf("FSBENCH %s %s %.1f %s\n", label, metric, v, unit);
	fflush(stdout);
}

static int fail(const char *phase, const char *what)
{
	printf("FSBENCH %s error %s: %s: %s\n", label, phase, what, strerror(errno));
	fflush(stdout);
	return -1;
}

/* Cold caches on both sides. The host's answer is awaited so the next
 * phase never races its own cache drop. */
static void drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		(void)!write(fd, "3\n", 2);
		close(fd);
	}
	if (!ctl_path)
		return;
	fd = open(ctl_path, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "fsbench: control port %s: %s\n", ctl_path, strerror(errno));
		return;
	}
	char c = 0;
	if (write(fd, "drop\n", 5) == 5)
		while (read(fd, &c, 1) == 1 && c != '\n')
			;
	close(fd);
}

static int seq_write(const char *path, unsigned size_mb)
{
	char *buf = malloc(MIB);
	if (!buf)
		return fail("seqwrite", "malloc");
	/* Non-zero, non-repeating bytes: nothing on the way can shortcut them. */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < MIB; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	double t0 = now();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		free(buf);
		return fail("seqwrite", path);
	}
	for (unsigned i = 0; i < size_mb; i++) {
		buf[0] = (char)i;
		for (size_t done = 0; done < MIB;) {
			ssize_t n = write(fd, buf + done, MIB - done);
			if (n <= 0) {
				close(fd);
				free(buf);
				return fail("seqwrite", "write");
			}
			done += (size_t)n;
		}
	}
	int r = fsync(fd);
	if (close(fd) < 0 || r < 0) {
		free(buf);
		return fail("seqwrite", "fsync/close");
	}
	double dt = now() - t0;
	free(buf);
	result("seqwrite", size_mb / dt * MIB / 1e6, "MB/s");
	return 0;
}

static int seq_read(const char *path, unsigned size_mb)
{
	char *buf = malloc(MIB);
	if (!buf)
		return fail("seqread", "malloc");
	drop_caches();
	double t0 = now();
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		free(buf);
		return fail("seqread", path);
	}
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, MIB);
		if (n < 0) {
			close(fd);
			free(buf);
			return fail("seqread", "read");
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	close(fd);
	double dt = now() - t0;
	free(buf);
	if (total != (uint64_t)size_mb * MIB) {
		errno = EIO;
		return fail("seqread", "short file");
	}
	result("seqread", (double)total / dt / 1e6, "MB/s");
	return 0;
}

/* 4 KiB preads at random aligned offsets. POSIX_FADV_RANDOM turns off
 * readahead, as fio does for random jobs: otherwise every 4 KiB read would
 * pull in a readahead window and the run would measure bulk transfer. */
static int rand_read(const char *path, unsigned size_mb, double seconds)
{
	char buf[4096];
	drop_caches();
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("randread", path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	uint64_t blocks = (uint64_t)size_mb * (MIB / 4096), ops = 0, x = 88172645463325252ull;
	double t0 = now(), t = t0;
	while (t - t0 < seconds) {
		for (int i = 0; i < 64; i++, ops++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (pread(fd, buf, sizeof(buf), (off_t)(x % blocks) * 4096) != (ssize_t)sizeof(buf)) {
				close(fd);
				return fail("randread", "pread");
			}
		}
		t = now();
	}
	close(fd);
	result("randread", (double)ops / (t - t0), "IOPS");
	result("randread_bw", (double)ops * 4096 / (t - t0) / 1e6, "MB/s");
	return 0;
}

/* The channel's own ceiling: SIZE_MB from the port (the host end sends
 * zeros), then SIZE_MB to it (the host end discards). Reads take a vector
 * of 4 KiB pieces because the guest driver hands out one 4 KiB receive
 * buffer per read() call; writes go 32 KiB at a time, the driver's limit. */
static int channel(const char *port, unsigned size_mb)
{
	static char buf[MIB];
	struct iovec iov[64];
	for (int i = 0; i < 64; i++)
		iov[i] = (struct iovec){ buf + i * 4096, 4096 };
	int fd = open(port, O_RDWR | O_NOCTTY);
	if (fd < 0)
		return fail("chanread", port);
	uint64_t want = (uint64_t)size_mb * MIB, got = 0;
	double t0 = now();
	while (got < want) {
		ssize_t n = readv(fd, iov, 64);
		if (n <= 0) {
			close(fd);
			return fail("chanread", "readv");
		}
		got += (uint64_t)n;
	}
	result("seqread", (double)got / (now() - t0) / 1e6, "MB/s");
	t0 = now();
	for (uint64_t put = 0; put < want;) {
		ssize_t n = write(fd, buf, 32768);
		if (n <= 0) {
			close(fd);
			return fail("chanwrite", "write");
		}
		put += (uint64_t)n;
	}
	result("seqwrite", (double)want / (now() - t0) / 1e6, "MB/s");
	close(fd);
	return 0;
}

static int meta(const char *dir, unsigned nfiles)
{
	char path[4096], data[1024];
	memset(data, 'm', sizeof(data));
	snprintf(path, sizeof(path), "%s/fsbench.meta", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return fail("create", path);
	double t0 = now();
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/fsbench.meta/f%06u", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, data, sizeof(data)) != (ssize_t)sizeof(data) || close(fd) < 0)
			return fail("create", path);
	}
	result("create", nfiles / (now() - t0), "ops/s");
	/* Cold: the guest must ask the filesystem, not its dentry cache. */
	drop_caches();
	t0 = now();
	for (unsigned i = 0; i < nfiles; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/fsbench.meta/f%06u", dir, i);
		if (stat(path, &st) < 0 || st.st_size != (off_t)sizeof(data))
			return fail("stat", path);
	}
	result("stat", nfiles / (now() - t0), "ops/s");
	t0 = now();
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/fsbench.meta/f%06u", dir, i);
		if (unlink(path) < 0)
			return fail("unlink", path);
	}
	result("unlink", nfiles / (now() - t0), "ops/s");
	snprintf(path, sizeof(path), "%s/fsbench.meta", dir);
	rmdir(path);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned size_mb = 1024, nfiles = 5000;
	double seconds = 20;
	int c;
	bool chan = false;
	while ((c = getopt(argc, argv, "c:s:t:n:p")) != -1) {
		switch (c) {
		case 'p': chan = true; break;
		case 'c': ctl_path = optarg; break;
		case 's': size_mb = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'n': nfiles = (unsigned)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || size_mb == 0 || nfiles == 0 || !(seconds > 0))
		goto usage;
	const char *dir = argv[optind];
	label = argv[optind + 1];
	if (chan)
		return channel(dir, size_mb) < 0;
	char file[4096];
	snprintf(file, sizeof(file), "%s/fsbench.data", dir);
	double t0 = now();
	int bad = 0;
	if (seq_write(file, size_mb) == 0) {
		bad |= seq_read(file, size_mb) < 0;
		bad |= rand_read(file, size_mb, seconds) < 0;
	} else {
		bad = 1;
	}
	unlink(file);
	bad |= meta(dir, nfiles) < 0;
	result("elapsed", now() - t0, "s");
	return bad;
usage:
	fprintf(stderr, "usage: fsbench [-c CTLPORT] [-s SIZE_MB] [-t RAND_SECONDS] [-n NFILES] DIR LABEL\n"
		"       fsbench -p [-s SIZE_MB] PORT LABEL\n");
	return 2;
}
