/* LVM backend: one linear LV per VM in scratch_vg, named vmjob_<job> and
 * tagged vmjob_job_<job> and vmjob_hvd_<this hvd>. The tags are the record:
 * a restarted hvd lists them to find every volume it made, and removal
 * checks them so an LV someone else made under that name is never touched.
 * LVM tools run by fork/exec (never a shell) with a clean environment; their
 * reports are read with --separator '|', a character that LV names, VG names
 * and tags cannot contain.
 *
 * A job may be root in its VM and read its LV raw, so a new LV must never
 * show what an earlier one held. LVM gives a new linear LV whatever extents
 * are free, with their old contents (lvcreate only wipes the first 4 KiB and
 * known signatures). Two ways out, chosen in hvd.conf:
 *   scratch_thinpool = POOL  thin volumes in VG/POOL. dm-thin maps a block
 *       only when first written and, with the pool's zeroing on (LVM's
 *       default, -Z y), zeroes whatever part of it the write does not cover;
 *       unwritten blocks read as zeroes. So a new thin volume cannot show old
 *       data whatever happened before, with no wipe at all: nothing to lose
 *       in a crash. A pool with zeroing off is refused. Thin volumes could be
 *       promised more space than the pool has; hvd does not overcommit
 *       (DESIGN.md principle 1): a job is refused unless the pool's size
 *       minus what is already promised to its thin volumes (or written, if
 *       more) covers the request.
 *   linear LVs, scratch_lvm_wipe = zero (default): the LV is zeroed before
 *       lvremove, so a job's data does not outlive it on disk, AND a new LV
 *       is zeroed before mkfs. The second is what keeps jobs apart: free
 *       extents carry no record of who last wrote them (an LV an admin
 *       removed, one an older hvd removed, a PV added with old data), so no
 *       cheap proof exists that they are clean, and hvd can be killed at any
 *       point (principle 2). The cost is the volume's size written twice,
 *       unless the device offloads WRITE ZEROES (NVMe, SCSI WRITE SAME, thin
 *       storage), where it is quick. scratch_lvm_wipe = none skips both and
 *       lets a job read its predecessors' data: only for nodes whose jobs
 *       may all see each other's files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "scratch.h"
#include "names.h"

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

static bool thin(const struct hv_config *cfg)
{
	return cfg->scratch_thinpool[0] != '\0';
}

static bool wipe(const struct hv_config *cfg)
{
	return cfg->scratch_lvm_wipe == HV_LVM_WIPE_ZERO;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Zero VG/name (hv_scratch_zero), activating it first if its device node is
 * missing (a VG that came up inactive after a reboot). Logs how long it took:
 * this is the slow step of scratch_lvm_wipe = zero (principle 5). */
static int zero_lv(const char *vg, const char *name, struct vj_err *err)
{
	char path[PATH_MAX], lv[256];
	if (hv_path(path, sizeof(path), "/dev/%s/%s", vg, name))
		return vj_err_set(err, ENAMETOOLONG, "volume path too long");
	snprintf(lv, sizeof(lv), "%s/%s", vg, name);
	uint64_t t0 = now_ms(), bytes = 0;
	int rc = hv_scratch_zero(path, &bytes, err);
	if (rc && err->code == ENOENT) {
		char *argv[] = {"lvchange", "--activate", "y", lv, NULL};
		if (hv_scratch_run(argv, NULL, 0, err))
			return vj_err_prefix(err, "cannot activate %s to zero it", lv);
		rc = hv_scratch_zero(path, &bytes, err);
	}
	if (rc)
		return -1;
	hv_info("scratch: zeroed %s (%llu MiB) in %llu ms", lv, (unsigned long long)(bytes >> 20),
		(unsigned long long)(now_ms() - t0));
	return 0;
}

/* VG/name's segment type ("linear", "thin", ...) into out[outsz]. */
static int lv_segtype(const char *vg, const char *name, char *out, size_t outsz,
		      struct vj_err *err)
{
	char lv[256], buf[256];
	snprintf(lv, sizeof(lv), "%s/%s", vg, name);
	char *argv[] = {"lvs", "--noheadings", "-o", "segtype", lv, NULL};
	if (hv_scratch_run(argv, buf, sizeof(buf), err))
		return vj_err_prefix(err, "cannot read the type of %s", lv);
	char *p = buf + strspn(buf, " \t");
	size_t n = strcspn(p, " \t\r\n");
	if (!n || n >= outsz)
		return vj_err_set(err, EPROTO, "cannot read the type of %s: lvs said '%.80s'", lv,
				  buf);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

struct pool {
	uint64_t size, written, promised;
};

/* What VG/POOL is, how big, how much is written, how much is promised to
 * its thin volumes; refuses what is no thin pool or does not zero. */
static int pool_state(const struct hv_config *cfg, struct pool *p, struct vj_err *err)
{
	const char *vg = cfg->scratch_vg, *pname = cfg->scratch_thinpool;
	char lv[256], out[512];
	snprintf(lv, sizeof(lv), "%s/%s", vg, pname);
	char *argv[] = {"lvs", "--noheadings", "--nosuffix", "--units", "b", "--binary",
			"--separator", "|", "-o", "segtype,lv_size,data_percent,zero", lv, NULL};
	for (int tries = 0;; tries++) {
		if (hv_scratch_run(argv, out, sizeof(out), err))
			return vj_err_prefix(err, "cannot read thin pool %s", lv);
		char type[32], pct[32] = "", zero[16] = "";
		unsigned long long size;
		/* "  thin-pool|100663296|3.12|1"; data_percent is empty while
		 * the pool is inactive. */
		if (sscanf(out, " %31[^|]|%llu|%31[^|]|%15s", type, &size, pct, zero) != 4 &&
		    sscanf(out, " %31[^|]|%llu||%15s", type, &size, zero) != 3)
			return vj_err_set(err, EPROTO,
					  "cannot read thin pool %s: unexpected lvs output '%.80s'", lv,
					  out);
		if (strcmp(type, "thin-pool"))
			return vj_err_set(err, EINVAL, "%s is not a thin pool (segment type %s)", lv,
					  type);
		/* Zeroing off: a block a job writes in part shows the rest of
		 * what the pool held there, another job's data. */
		if (strcmp(zero, "1") && strcmp(zero, "zero"))
			return vj_err_set(err, EPERM,
					  "thin pool %s does not zero new blocks, so a job could read "
					  "an earlier job's data: turn it on (lvchange -Z y %s) or unset "
					  "scratch_thinpool",
					  lv, lv);
		if (!pct[0]) {
			if (tries)
				return vj_err_set(err, EPROTO, "thin pool %s reports no data use", lv);
			char *act[] = {"lvchange", "--activate", "y", lv, NULL};
			if (hv_scratch_run(act, NULL, 0, err))
				return vj_err_prefix(err, "cannot activate thin pool %s", lv);
			continue;
		}
		char *end;
		double used = strtod(pct, &end);
		if (end == pct || *end || used < 0 || used > 100)
			return vj_err_set(err, EPROTO, "thin pool %s: bad data_percent '%s'", lv, pct);
		p->size = size;
		p->written = (uint64_t)((double)size * used / 100.0);
		break;
	}
	/* Every thin volume of the pool, ours or not: what is promised. */
	cleanup_free char *all = malloc(LVS_OUT_MAX);
	if (!all)
		return vj_err_set(err, ENOMEM, "out of memory");
	char *largv[] = {"lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
			 "-o", "pool_lv,lv_size", (char *)vg, NULL};
	if (hv_scratch_run(largv, all, LVS_OUT_MAX, err))
		return vj_err_prefix(err, "cannot list the volumes of %s", vg);
	p->promised = 0;
	char *save = NULL;
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l += strspn(l, " \t");
		size_t n = strlen(pname);
		if (strncmp(l, pname, n) || l[n] != '|')
			continue;
		p->promised += strtoull(l + n + 1, NULL, 10);
	}
	return 0;
}

/* The one-line answer to "the pool cannot hold it", or 0 if it can.
 * already_ours: the request is already among the promised (after lvcreate). */
static int pool_fits(const struct hv_config *cfg, uint64_t size_mb, const char *why,
		     bool already_ours, struct vj_err *err)
{
	struct pool p;
	if (pool_state(cfg, &p, err))
		return -1;
	uint64_t need = size_mb << 20;
	uint64_t promised = p.promised - (already_ours && p.promised >= need ? need : 0);
	uint64_t taken = promised > p.written ? promised : p.written;
	uint64_t free_b = p.size > taken ? p.size - taken : 0;
	if (need <= free_b)
		return 0;
	return vj_err_set(err, ENOSPC,
			  "thin pool %s/%s has %llu MiB free of %llu MiB (%llu MiB promised to "
			  "thin volumes, %llu MiB written), job asks %llu MiB%s%s%s",
			  cfg->scratch_vg, cfg->scratch_thinpool,
			  (unsigned long long)(free_b >> 20), (unsigned long long)(p.size >> 20),
			  (unsigned long long)(promised >> 20), (unsigned long long)(p.written >> 20),
			  (unsigned long long)size_mb, why[0] ? " (" : "", why, why[0] ? ")" : "");
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

/* Remove VG/name if it is this hvd's volume for job: 0 removed or absent.
 * used: a guest may have written it, so a linear LV is zeroed first
 * (scratch_lvm_wipe = zero); false only where create undoes its own LV. */
static int remove_lv(const struct hv_config *cfg, const char *job, bool used, struct vj_err *err)
{
	char name[128], tag[256], seen[VJ_NAME_SZ];
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
	/* Asked of LVM, not of today's hvd.conf: the LV may predate a switch
	 * to or from scratch_thinpool. A thin volume needs no wipe (its blocks
	 * go back to a pool that zeroes them on reuse) and zeroing one would
	 * only make the pool map all of it. */
	if (used && wipe(cfg)) {
		char type[32];
		if (lv_segtype(cfg->scratch_vg, name, type, sizeof(type), err))
			return -1;
		/* A failed wipe keeps the LV, tags and all: it is zeroed and
		 * removed at the next try, never freed with the data on it. */
		if (strcmp(type, "thin") && zero_lv(cfg->scratch_vg, name, err))
			return vj_err_prefix(err, "%s not removed", lv);
	}
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
	if (thin(cfg) ? pool_fits(cfg, size_mb, why, false, err) : check_fits(vg, size_mb, why, err))
		return -1;
	char name[128], jtag[128], htag[256], size[32], path[PATH_MAX], pool[256];
	snprintf(name, sizeof(name), HV_SCRATCH_LV_PREFIX "%s", job);
	snprintf(jtag, sizeof(jtag), HV_SCRATCH_TAG_JOB "%s", job);
	hvd_tag(cfg, htag, sizeof(htag));
	snprintf(size, sizeof(size), "%llum", (unsigned long long)size_mb); /* m = MiB */
	snprintf(pool, sizeof(pool), "%s/%s", vg, cfg->scratch_thinpool);
	if (hv_path(path, sizeof(path), "/dev/%s/%s", vg, name))
		return vj_err_set(err, ENAMETOOLONG, "volume path too long");
	/* Tags are written with the LV in one metadata commit: whatever exists
	 * afterwards carries them and can be found and removed by tag. */
	char *lin[] = {"lvcreate", "--yes", "--activate", "y", "--name", name, "--size", size,
		       "--addtag", jtag, "--addtag", htag, (char *)vg, NULL};
	char *thn[] = {"lvcreate", "--yes", "--activate", "y", "--name", name, "--virtualsize", size,
		       "--thinpool", pool, "--addtag", jtag, "--addtag", htag, NULL};
	if (hv_scratch_run(thin(cfg) ? thn : lin, NULL, 0, err)) {
		struct vj_err why_err = *err, ignore;
		/* A parallel create may have taken the space since we asked. */
		if ((thin(cfg) ? pool_fits(cfg, size_mb, why, false, &ignore)
			       : check_fits(vg, size_mb, why, &ignore)) &&
		    ignore.code == ENOSPC)
			*err = ignore;
		else
			*err = why_err;
		/* An LV of that name may already exist (a job started again
		 * after a crash): a guest may have written it, so wipe. */
		remove_lv(cfg, job, true, &ignore);
		return -1;
	}
	int rc = 0;
	if (thin(cfg)) {
		/* lvcreate only warns when thin volumes are promised more than
		 * the pool holds: a parallel create may have got in between.
		 * Then this one steps back (both may; neither overcommits). */
		rc = pool_fits(cfg, size_mb, why, true, err);
	} else if (wipe(cfg)) {
		rc = zero_lv(vg, name, err);
		if (rc)
			vj_err_prefix(err, "cannot wipe the new volume %s/%s", vg, name);
	}
	if (!rc)
		rc = hv_scratch_mkfs(path, err);
	if (rc) {
		struct vj_err e2;
		if (remove_lv(cfg, job, false, &e2))
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
	return remove_lv(cfg, job, true, err);
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
