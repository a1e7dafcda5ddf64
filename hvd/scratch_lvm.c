/* LVM backend: one linear LV per VM in scratch_vg, named vmjob_<job> and
 * tagged vmjob_job_<job> and vmjob_hvd_<this hvd>. The tags are the record:
 * a restarted hvd lists them to find every volume it made, and removal
 * checks them so an LV someone else made under that name is never touched.
 * LVM tools run by fork/exec (never a shell) with a clean environment; their
 * reports are read with --separator '|', a character that LV names, VG names
 * and tags cannot contain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "scratch.h"

/* Room for lvs over a VG with thousands of LVs; more is an error, not a cut. */
#define LVS_OUT_MAX (4u << 20)

/* vmjob_hvd_<state_dir>: the state dir names an hvd (two hvds on one host
 * never share one). Characters LVM refuses in tags become '_'. */
static void hvd_tag(const struct hv_config *cfg, char *out, size_t outsz)
{
	snprintf(out, outsz, HV_SCRATCH_TAG_HVD "%.200s", cfg->state_dir);
	for (char *p = out + strlen(HV_SCRATCH_TAG_HVD); *p; p++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-/=:", *p))
			*p = '_';
}

int hv_lvs_parse_line(char *line, char **name, char **tags, uint64_t *size_bytes)
{
	/* lvs indents its rows; names never start with a blank. */
	while (*line == ' ' || *line == '\t')
		line++;
	char *f[3];
	f[0] = line;
	for (int i = 1; i < 3; i++) {
		char *bar = strchr(f[i - 1], '|');
		if (!bar)
			return -1;
		*bar = '\0';
		f[i] = bar + 1;
	}
	if (strchr(f[2], '|') || !f[0][0])
		return -1;
	char *end;
	errno = 0;
	unsigned long long sz = strtoull(f[2], &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (errno || end == f[2] || *end || f[2][0] == '-')
		return -1;
	*name = f[0];
	*tags = f[1];
	*size_bytes = sz;
	return 0;
}

const char *hv_lvs_tags_job(const char *tags, const char *hvd, char *job, size_t jobsz)
{
	bool ours = false;
	const char *found = NULL;
	size_t flen = 0;
	const size_t jl = strlen(HV_SCRATCH_TAG_JOB), hl = strlen(hvd);
	for (const char *t = tags; *t;) {
		size_t n = strcspn(t, ",");
		if (n == hl && !memcmp(t, hvd, n))
			ours = true;
		else if (n > jl && !memcmp(t, HV_SCRATCH_TAG_JOB, jl)) {
			if (found)
				return NULL; /* two job tags: not something hvd made */
			found = t + jl;
			flen = n - jl;
		}
		t += n + (t[n] == ',');
	}
	if (!ours || !found || flen >= jobsz)
		return NULL;
	memcpy(job, found, flen);
	job[flen] = '\0';
	return hv_scratch_job_ok(job) ? job : NULL;
}

/* The sizes that decide whether a volume fits. */
static int vg_space(const char *vg, uint64_t *free_b, uint64_t *extent_b, struct vj_err *err)
{
	char out[512];
	char *argv[] = {"vgs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
			"-o", "vg_free,vg_extent_size", (char *)vg, NULL};
	if (hv_scratch_run(argv, out, sizeof(out), err))
		return vj_err_prefix(err, "cannot read volume group %s", vg);
	unsigned long long f, e;
	char tail;
	if (sscanf(out, " %llu|%llu %c", &f, &e, &tail) != 2 || e == 0)
		return vj_err_set(err, EPROTO, "cannot read volume group %s: unexpected vgs output '%.80s'",
				  vg, out);
	*free_b = f;
	*extent_b = e;
	return 0;
}

/* The one-line answer to "does not fit", or 0 if it does. */
static int check_fits(const char *vg, uint64_t size_mb, const char *why, struct vj_err *err)
{
	uint64_t free_b, ext_b;
	if (vg_space(vg, &free_b, &ext_b, err))
		return -1;
	uint64_t need = (size_mb << 20) + ext_b - 1;
	need -= need % ext_b; /* LVM rounds up to whole extents */
	if (need <= free_b)
		return 0;
	return vj_err_set(err, ENOSPC, "volume group %s has %llu MiB free, job asks %llu MiB%s%s%s",
			  vg, (unsigned long long)(free_b >> 20), (unsigned long long)size_mb,
			  why[0] ? " (" : "", why, why[0] ? ")" : "");
}

/* Every LV of the VG, one per line, as hv_lvs_parse_line reads them. */
static char *lvs(const char *vg, struct vj_err *err)
{
	char *out = malloc(LVS_OUT_MAX);
	if (!out) {
		vj_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	char *argv[] = {"lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
			"-o", "lv_name,lv_tags,lv_size", (char *)vg, NULL};
	if (hv_scratch_run(argv, out, LVS_OUT_MAX, err)) {
		free(out);
		vj_err_prefix(err, "cannot list the volumes of %s", vg);
		return NULL;
	}
	return out;
}

/* Walk lvs output: fn(name, tags, size) per parsed row; stops on non-zero. */
static int each_lv(char *out, int (*fn)(char *, char *, uint64_t, void *), void *ud)
{
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name, *tags;
		uint64_t size;
		if (hv_lvs_parse_line(line, &name, &tags, &size)) {
			if (line[strspn(line, " \t\r")])
				hv_warn("scratch: ignoring an lvs line I cannot read: '%.120s'", line);
			continue;
		}
		int rc = fn(name, tags, size, ud);
		if (rc)
			return rc;
	}
	return 0;
}

struct find {
	const char *name;
	bool found;
	char tags[1024];
};

static int find_fn(char *name, char *tags, uint64_t size, void *ud)
{
	(void)size;
	struct find *f = ud;
	if (strcmp(name, f->name))
		return 0;
	f->found = true;
	snprintf(f->tags, sizeof(f->tags), "%s", tags);
	return 1;
}

/* Remove VG/name if it is this hvd's volume for job: 0 removed or absent. */
static int remove_lv(const struct hv_config *cfg, const char *job, struct vj_err *err)
{
	char name[128], tag[256], seen[65];
	snprintf(name, sizeof(name), HV_SCRATCH_LV_PREFIX "%s", job);
	hvd_tag(cfg, tag, sizeof(tag));
	cleanup_free char *out = lvs(cfg->scratch_vg, err);
	if (!out)
		return -1;
	struct find f = {.name = name};
	each_lv(out, find_fn, &f);
	if (!f.found)
		return 0;
	if (!hv_lvs_tags_job(f.tags, tag, seen, sizeof(seen)) || strcmp(seen, job))
		return vj_err_set(err, EPERM,
				  "%s/%s is not tagged " HV_SCRATCH_TAG_JOB "%s and %s; left alone",
				  cfg->scratch_vg, name, job, tag);
	char lv[256];
	snprintf(lv, sizeof(lv), "%s/%s", cfg->scratch_vg, name);
	char *argv[] = {"lvremove", "-f", lv, NULL};
	if (hv_scratch_run(argv, NULL, 0, err))
		return vj_err_prefix(err, "cannot remove %s", lv);
	return 0;
}

int hv_scratch_lvm_create(const struct hv_config *cfg, const char *job, uint64_t size_mb,
			  const char *why, struct hv_scratch *out, struct vj_err *err)
{
	const char *vg = cfg->scratch_vg;
	/* Ask first: the common failure gets the clear line, not lvcreate's. */
	if (check_fits(vg, size_mb, why, err))
		return -1;
	char name[128], jtag[128], htag[256], size[32], path[PATH_MAX];
	snprintf(name, sizeof(name), HV_SCRATCH_LV_PREFIX "%s", job);
	snprintf(jtag, sizeof(jtag), HV_SCRATCH_TAG_JOB "%s", job);
	hvd_tag(cfg, htag, sizeof(htag));
	snprintf(size, sizeof(size), "%llum", (unsigned long long)size_mb); /* m = MiB */
	if (hv_path(path, sizeof(path), "/dev/%s/%s", vg, name))
		return vj_err_set(err, ENAMETOOLONG, "volume path too long");
	/* Tags are written with the LV in one metadata commit: whatever exists
	 * afterwards carries them and can be found and removed by tag. */
	char *argv[] = {"lvcreate", "--yes", "--activate", "y", "--name", name, "--size", size,
			"--addtag", jtag, "--addtag", htag, (char *)vg, NULL};
	if (hv_scratch_run(argv, NULL, 0, err)) {
		struct vj_err why_err = *err, ignore;
		/* A parallel create may have taken the space since we asked. */
		if (check_fits(vg, size_mb, why, &ignore) && ignore.code == ENOSPC)
			*err = ignore;
		else
			*err = why_err;
		remove_lv(cfg, job, &ignore);
		return -1;
	}
	if (hv_scratch_mkfs(path, err)) {
		struct vj_err e2;
		if (remove_lv(cfg, job, &e2))
			hv_err("scratch: job %s: %s", job, e2.msg);
		return -1;
	}
	snprintf(out->job, sizeof(out->job), "%s", job);
	snprintf(out->path, sizeof(out->path), "%s", path);
	out->block = true;
	out->size_mb = size_mb;
	return 0;
}

int hv_scratch_lvm_remove(const struct hv_config *cfg, const char *job, struct vj_err *err)
{
	return remove_lv(cfg, job, err);
}

struct walk {
	const struct hv_config *cfg;
	char tag[256];
	hv_scratch_cb cb;
	void *ud;
};

static int walk_fn(char *name, char *tags, uint64_t size, void *ud)
{
	struct walk *w = ud;
	struct hv_scratch s = {.block = true, .size_mb = size >> 20};
	if (!hv_lvs_tags_job(tags, w->tag, s.job, sizeof(s.job)))
		return 0;
	/* Removal goes by name: report only what hv_scratch_remove can act on. */
	char want[128];
	snprintf(want, sizeof(want), HV_SCRATCH_LV_PREFIX "%s", s.job);
	if (strcmp(name, want)) {
		hv_warn("scratch: %s/%s is tagged for job %s but not named %s; left alone",
			w->cfg->scratch_vg, name, s.job, want);
		return 0;
	}
	if (hv_path(s.path, sizeof(s.path), "/dev/%s/%s", w->cfg->scratch_vg, name))
		return 0;
	return w->cb(&s, w->ud);
}

int hv_scratch_lvm_list(const struct hv_config *cfg, hv_scratch_cb cb, void *ud,
			struct vj_err *err)
{
	cleanup_free char *out = lvs(cfg->scratch_vg, err);
	if (!out)
		return -1;
	struct walk w = {.cfg = cfg, .cb = cb, .ud = ud};
	hvd_tag(cfg, w.tag, sizeof(w.tag));
	return each_lv(out, walk_fn, &w);
}
