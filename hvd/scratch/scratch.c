/* Backend choice and what both backends share; see scratch.h. */
#include "scratch.h"


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/spawn.h"
#include "cleanup.h"

static bool lvm(const struct hv_config *cfg)
{
	return cfg->scratch_backend == HV_SCRATCH_LVM;
}

uint64_t hv_scratch_size_mb(const struct hv_config *cfg, uint64_t asked_mb, unsigned cpus,
			    char *why, size_t whysz)
{
	uint64_t mb;
	char buf[96];
	if (asked_mb) {
		mb = asked_mb;
		snprintf(buf, sizeof(buf), "--vm-scratch");
	} else if (cfg->scratch_mb_per_cpu) {
		unsigned n = cpus ? cpus : 1;
		mb = cfg->scratch_mb_per_cpu * n;
		snprintf(buf, sizeof(buf), "scratch_mb_per_cpu %llu x %u CPU%s",
			 (unsigned long long)cfg->scratch_mb_per_cpu, n, n == 1 ? "" : "s");
	} else {
		mb = cfg->default_scratch_mb;
		snprintf(buf, sizeof(buf), "default_scratch_mb");
	}
	if (why && whysz)
		snprintf(why, whysz, "%s", buf);
	return mb;
}

int hv_scratch_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
		      const char *why, struct hv_scratch *out, struct vj_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!hv_scratch_job_ok(job))
		return vj_err_set(err, EINVAL, "scratch: invalid job name '%.64s'", job);
	int rc = lvm(cfg) ? hv_scratch_lvm_create(cfg, job, size_mb, why ? why : "", out, err)
			  : hv_scratch_file_create(cfg, job, size_mb, out, err);
	return rc ? vj_err_prefix(err, "scratch") : 0;
}

int hv_scratch_remove(const struct hv_config *cfg, const char *job, struct vj_err *err)
{
	if (!hv_scratch_job_ok(job))
		return vj_err_set(err, EINVAL, "scratch: invalid job name '%.64s'", job);
	int rc = lvm(cfg) ? hv_scratch_lvm_remove(cfg, job, err)
			  : hv_scratch_file_remove(cfg, job, err);
	return rc ? vj_err_prefix(err, "scratch") : 0;
}

int hv_scratch_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud, struct vj_err *err)
{
	return lvm(cfg) ? hv_scratch_lvm_list(cfg, cb, ud, err)
			: hv_scratch_file_list(cfg, cb, ud, err);
}

bool hv_scratch_job_ok(const char *job)
{
	size_t n = strnlen(job, 65);
	if (n == 0 || n > 64 || job[0] == '.' || job[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)job[i]) && job[i] != '.' && job[i] != '_' && job[i] != '-')
			return false;
	return true;
}

int hv_scratch_run(char *const argv[], char *out, size_t outsz, struct vj_err *err)
{
	/* A clean environment: nothing of hvd's (LVM_SYSTEM_DIR, MKE2FS_CONFIG,
	 * locale) changes what the tools do or how they print. LVM would warn
	 * on stderr about every inherited fd; hvd's are all close-on-exec. */
	static char *const env[] = {"PATH=" HV_TOOL_PATH, "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1",
				    NULL};
	return hv_run_env(argv, env, out, outsz, err);
}

int hv_scratch_mkfs(const char *path, struct vj_err *err)
{
	/* lazy init keeps mkfs fast on large volumes; the guest kernel finishes
	 * it. -F: no question about an old signature (stdin is /dev/null). */
	char *argv[] = {"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			(char *)path, NULL};
	if (hv_scratch_run(argv, NULL, 0, err))
		return vj_err_prefix(err, "cannot make the filesystem on %s", path);
	return 0;
}

int hv_scratch_zero(const char *path, uint64_t *bytes, struct vj_err *err)
{
	/* O_WRONLY on a block device: the wipe goes to the device itself, never
	 * through a file someone could have put at that path. */
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vj_err_sys(err, errno, "cannot open %s to zero it", path);
	struct stat st;
	uint64_t size = 0;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode))
		return vj_err_set(err, ENOTBLK, "%s is not a block device; not zeroed", path);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return vj_err_sys(err, errno, "cannot read the size of %s", path);
	/* In 1 GiB steps: a kill (hvd stopping) waits for one step, not for
	 * the whole volume. A volume half zeroed is still there with its tags
	 * and is zeroed again by whoever removes it. */
	const uint64_t step = 1ull << 30;
	for (uint64_t off = 0; off < size; off += step) {
		uint64_t range[2] = {off, size - off < step ? size - off : step};
		if (ioctl(fd, BLKZEROOUT, range) < 0)
			return vj_err_sys(err, errno, "cannot zero %s at %llu MiB", path,
					  (unsigned long long)(off >> 20));
	}
	/* Out of the device's volatile cache too, before LVM frees the extents. */
	if (fdatasync(fd) < 0)
		return vj_err_sys(err, errno, "cannot flush %s after zeroing it", path);
	if (bytes)
		*bytes = size;
	return 0;
}
