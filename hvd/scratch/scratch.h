/* Per-job scratch volumes (the guest's /tmp, $TMPDIR): one ext4 volume per
 * VM, made before the domain starts and removed at destroy. hvd.conf's
 * scratch_backend chooses how:
 *   file  a sparse file state_dir/vm/<job>/scratch.img (hosts without a VG)
 *   lvm   one LV per VM in scratch_vg, named vmjob_<job> and tagged
 *         vmjob_job_<job> + vmjob_hvd_<this hvd>, so that a restarted hvd
 *         finds every volume again from LVM alone.
 * A job may be root in its VM and read its volume raw: a new volume must
 * never show a previous job's data. A new file is sparse (holes read as
 * zeroes); an LV is either a thin volume in a zeroing pool
 * (scratch_thinpool) or zeroed (scratch_lvm_wipe), see scratch_lvm.c.
 * The volumes are the state (DESIGN.md principle 2): nothing here is kept in
 * memory, every call asks the real system. */
#ifndef HV_SCRATCH_H
#define HV_SCRATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "err.h"
#include "names.h"

#define HV_SCRATCH_LV_PREFIX "vmjob_"
#define HV_SCRATCH_TAG_JOB "vmjob_job_"
#define HV_SCRATCH_TAG_HVD "vmjob_hvd_"

/* One per-job volume. */
struct hv_scratch {
	char job[VJ_NAME_SZ];
	char path[PATH_MAX]; /* what the domain attaches: the file, or /dev/VG/LV */
	bool block;          /* a block device: the domain uses <disk type='block'> */
	uint64_t size_mb;
};

/* The size a job gets: what it asked for (asked_mb, from --vm-scratch via
 * CREATE's scratch_mb; 0 = nothing asked), else scratch_mb_per_cpu x cpus if
 * configured, else default_scratch_mb. why[whysz] (may be NULL) names the
 * source for messages, e.g. "--vm-scratch" or "scratch_mb_per_cpu 512 x 4 CPUs". */
uint64_t hv_scratch_size_mb(const struct hv_config *cfg, uint64_t asked_mb, unsigned cpus,
			    char *why, size_t whysz);

/* Make job's volume of size_mb MiB with an ext4 filesystem and describe it in
 * *out. On failure nothing is left behind. why is hv_scratch_size_mb's. A VG
 * too small fails with one line: "scratch: volume group vg0 has 512 MiB free,
 * job asks 2048 MiB (--vm-scratch)". */
int hv_scratch_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
		      const char *why, struct hv_scratch *out, struct vj_err *err);

/* Remove job's volume if it exists: 0 when removed or absent. An LV of that
 * name whose tags do not name this job and this hvd is left alone (error). */
int hv_scratch_remove(const struct hv_config *cfg, const char *job, struct vj_err *err);

/* Call cb for every per-job volume of this hvd (LVs by tag, or scratch files
 * under state_dir/vm/), e.g. to remove those of jobs that ended while hvd was
 * down. A non-zero return from cb stops the walk and is returned. The LVM
 * backend runs lvs once before the first callback, so cb may remove volumes. */
typedef int (*hv_scratch_cb)(const struct hv_scratch *s, void *ud);
int hv_scratch_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud, struct vj_err *err);

/* ---- backends (scratch_file.c, scratch_lvm.c), called through the above ---- */
int hv_scratch_file_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
			   struct hv_scratch *out, struct vj_err *err);
int hv_scratch_file_remove(const struct hv_config *cfg, const char *job, struct vj_err *err);
int hv_scratch_file_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud,
			 struct vj_err *err);
int hv_scratch_lvm_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
			  const char *why, struct hv_scratch *out, struct vj_err *err);
int hv_scratch_lvm_remove(const struct hv_config *cfg, const char *job, struct vj_err *err);
int hv_scratch_lvm_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud,
			struct vj_err *err);

/* ---- shared helpers ---- */
/* A job name as hvd accepts it ([A-Za-z0-9._-]{1,64}, no leading . or -):
 * names read back from LV tags or directory entries are checked again. */
bool hv_scratch_job_ok(const char *job);
/* Run a storage tool (lvm, mkfs) by fork/exec with a clean environment;
 * stdout into out[outsz] if out is not NULL (see hv_run_env). */
int hv_scratch_run(char *const argv[], char *out, size_t outsz, struct vj_err *err);
/* mkfs.ext4 on path, lazily initialised (the guest kernel finishes it). */
int hv_scratch_mkfs(const char *path, struct vj_err *err);
/* Write zeroes over the whole block device path (BLKZEROOUT: the kernel
 * offloads it as WRITE ZEROES where the device supports that, else writes
 * zero pages) and flush it; the device's size in *bytes. The LVM backend's
 * wipe (scratch_lvm_wipe = zero); exposed for the test driver's timing. */
int hv_scratch_zero(const char *path, uint64_t *bytes, struct vj_err *err);

/* One line of `lvs --noheadings --separator '|' -o lv_name,lv_tags,lv_size
 * --units b --nosuffix`, split in place: 0 if it has exactly three fields and
 * a decimal size (exposed for unit tests). */
int hv_lvs_parse_line(char *line, char **name, char **tags, uint64_t *size_bytes);
/* The job named by a tag list "a,b,c" that carries hvd_tag, or NULL. Writes
 * job[jobsz]. */
const char *hv_lvs_tags_job(const char *tags, const char *hvd_tag, char *job, size_t jobsz);

#endif
