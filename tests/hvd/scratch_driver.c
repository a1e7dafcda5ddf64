/* Test driver for hvd's scratch backends (hvd/scratch*.c): one command per
 * process, so "after a restart" is simply the next invocation. Runs the real
 * backend code, on the host (file backend, parser self-test) and inside the
 * LVM test guest (tests/hvd/10-lvm-scratch.sh), where it is linked statically.
 *
 *   scratch-driver CONF create JOB ASKED_MB CPUS   (ASKED_MB 0 = the default)
 *   scratch-driver CONF remove JOB
 *   scratch-driver CONF list
 *   scratch-driver - selftest
 *   scratch-driver - fill PATH PATTERN   (PATTERN over all of a file or device)
 *   scratch-driver - scan PATH PATTERN   (how many 4 KiB blocks hold PATTERN)
 *   scratch-driver - zero PATH           (hv_scratch_zero, timed)
 *
 * Prints one line per result ("created ...", "removed ...", "vol ...",
 * "listed N", "filled ...", "scanned ...", "zeroed ...") or "error: MSG" and
 * exits 1 on failure. fill and scan are how the test plays one job leaving
 * data behind and the next job (root in its VM, reading its disk raw) looking
 * for it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "scratch/scratch.h"
#include "names.h"

static int print_vol(const struct hv_scratch *s, void *ud)
{
	(*(int *)ud)++;
	printf("vol %s %s %llu %s\n", s->job, s->path, (unsigned long long)s->size_mb,
	       s->block ? "block" : "file");
	return 0;
}

static int fails;
static void expect(int cond, const char *what)
{
	printf("%s: %s\n", cond ? "ok" : "FAIL", what);
	fails += !cond;
}

/* The lvs/tag parsers against odd input: they read what an admin's VG holds. */
static int selftest(void)
{
	char *name, *tags, job[VJ_NAME_SZ];
	uint64_t sz;
	char l1[] = "  vmjob_42|vmjob_hvd_/var/lib/vmjob,vmjob_job_42|67108864";
	expect(hv_lvs_parse_line(l1, &name, &tags, &sz) == 0 && !strcmp(name, "vmjob_42") &&
		       sz == 67108864 && !strcmp(tags, "vmjob_hvd_/var/lib/vmjob,vmjob_job_42"),
	       "a normal lvs row parses");
	char l2[] = "  root||1073741824";
	expect(hv_lvs_parse_line(l2, &name, &tags, &sz) == 0 && !tags[0], "a row without tags parses");
	char l3[] = "  a|b|12|13", l4[] = "  a|b", l5[] = "  a|b|12B", l6[] = "  |b|12",
	     l7[] = "  a|b|-1", l8[] = "", l9[] = "  a|b|99999999999999999999999";
	expect(hv_lvs_parse_line(l3, &name, &tags, &sz) < 0, "four fields are refused");
	expect(hv_lvs_parse_line(l4, &name, &tags, &sz) < 0, "two fields are refused");
	expect(hv_lvs_parse_line(l5, &name, &tags, &sz) < 0, "a size with a suffix is refused");
	expect(hv_lvs_parse_line(l6, &name, &tags, &sz) < 0, "an empty name is refused");
	expect(hv_lvs_parse_line(l7, &name, &tags, &sz) < 0, "a negative size is refused");
	expect(hv_lvs_parse_line(l8, &name, &tags, &sz) < 0, "an empty line is refused");
	expect(hv_lvs_parse_line(l9, &name, &tags, &sz) < 0, "an overflowing size is refused");
	const char *h = "vmjob_hvd_X";
	expect(hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_X", h, job, sizeof(job)) && !strcmp(job, "7"),
	       "job found with our hvd tag");
	expect(!hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_Y", h, job, sizeof(job)),
	       "another hvd's volume is not ours");
	expect(!hv_lvs_tags_job("vmjob_job_7,vmjob_hvd_XX", h, job, sizeof(job)),
	       "a longer hvd tag is not ours");
	expect(!hv_lvs_tags_job("vmjob_hvd_X", h, job, sizeof(job)), "no job tag, no job");
	expect(!hv_lvs_tags_job("vmjob_job_1,vmjob_job_2,vmjob_hvd_X", h, job, sizeof(job)),
	       "two job tags are refused");
	expect(!hv_lvs_tags_job("vmjob_job_..,vmjob_hvd_X", h, job, sizeof(job)),
	       "a job tag that is no job name is refused");
	expect(!hv_lvs_tags_job("", h, job, sizeof(job)), "no tags, no job");
	return fails ? 1 : 0;
}

/* Open path for raw I/O: O_DIRECT where it works (so a scan reads the
 * device, not a page cache a removed volume left), plain otherwise (tmpfs).
 * Its size (file or block device) in *size. */
static int open_raw(const char *path, int flags, uint64_t *size)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL)
		fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#define RAW_BUF (1u << 20)

static int fill_or_scan(const char *path, const char *pat, bool fill)
{
	size_t pl = strlen(pat);
	if (!pl || pl > 256) {
		printf("error: pattern must be 1..256 bytes\n");
		return 1;
	}
	uint64_t size;
	int fd = open_raw(path, fill ? O_WRONLY : O_RDONLY, &size);
	if (fd < 0) {
		printf("error: %s: %s\n", path, strerror(errno));
		return 1;
	}
	char *buf;
	if (posix_memalign((void **)&buf, 4096, RAW_BUF)) {
		printf("error: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < RAW_BUF; i++)
		buf[i] = pat[i % pl];
	uint64_t blocks = 0, hits = 0;
	for (uint64_t off = 0; off < size; off += RAW_BUF) {
		size_t n = size - off < RAW_BUF ? (size_t)(size - off) : RAW_BUF;
		ssize_t r = fill ? pwrite(fd, buf, n, (off_t)off) : pread(fd, buf, n, (off_t)off);
		if (r != (ssize_t)n) {
			printf("error: %s at %llu: %s\n", path, (unsigned long long)off,
			       r < 0 ? strerror(errno) : "short");
			return 1;
		}
		if (!fill)
			for (size_t b = 0; b < n; b += 4096, blocks++)
				hits += memmem(buf + b, n - b < 4096 ? n - b : 4096, pat, pl) != NULL;
	}
	if (fill && fdatasync(fd) < 0) {
		printf("error: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	free(buf);
	if (fill)
		printf("filled %s %llu MiB\n", path, (unsigned long long)(size >> 20));
	else
		printf("scanned %s %llu MiB: %llu of %llu blocks hold the pattern\n", path,
		       (unsigned long long)(size >> 20), (unsigned long long)hits,
		       (unsigned long long)blocks);
	return 0;
}

static int zero(const char *path)
{
	struct timespec a, b;
	uint64_t bytes;
	struct vj_err err = {0};
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (hv_scratch_zero(path, &bytes, &err)) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
	printf("zeroed %s %llu MiB in %lld ms\n", path, (unsigned long long)(bytes >> 20), ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[2], "selftest"))
		return selftest();
	if (argc == 5 && (!strcmp(argv[2], "fill") || !strcmp(argv[2], "scan")))
		return fill_or_scan(argv[3], argv[4], argv[2][0] == 'f');
	if (argc == 4 && !strcmp(argv[2], "zero"))
		return zero(argv[3]);
	if (argc < 3) {
		fprintf(stderr, "usage: %s CONF create JOB ASKED_MB CPUS | remove JOB | list\n",
			argv[0]);
		return 2;
	}
	hv_log_init(true, LOG_DEBUG);
	struct hv_config cfg;
	struct vj_err err = {0};
	hv_config_defaults(&cfg);
	if (hv_config_load(&cfg, argv[1], true, &err)) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	const char *cmd = argv[2];
	if (!strcmp(cmd, "create") && argc == 6) {
		char why[96];
		uint64_t mb = hv_scratch_size_mb(&cfg, strtoull(argv[4], NULL, 10),
						 (unsigned)strtoul(argv[5], NULL, 10), why, sizeof(why));
		struct hv_scratch s;
		if (hv_scratch_create(&cfg, argv[3], mb, why, &s, &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("created %s %s %llu %s\n", s.job, s.path, (unsigned long long)s.size_mb,
		       s.block ? "block" : "file");
		return 0;
	}
	if (!strcmp(cmd, "remove") && argc == 4) {
		if (hv_scratch_remove(&cfg, argv[3], &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("removed %s\n", argv[3]);
		return 0;
	}
	if (!strcmp(cmd, "list") && argc == 3) {
		int n = 0;
		if (hv_scratch_list(&cfg, print_vol, &n, &err)) {
			printf("error: %s\n", err.msg);
			return 1;
		}
		printf("listed %d\n", n);
		return 0;
	}
	fprintf(stderr, "%s: bad command\n", argv[0]);
	return 2;
}
