/* See current.h. One mutex guards the policy in force; a decision holds it
 * only while matching (never while asking slurmctld or NSS). */
#include "current.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kv.h"
#include "vm/jobcheck.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct hv_policy cur;

int hv_policy_reload(const char *path, struct vj_err *err)
{
	struct hv_policy p = {0};
	if (path[0] && hv_policy_load(&p, path, err))
		return -1;
	pthread_mutex_lock(&mu);
	hv_policy_free(&cur);
	cur = p;
	pthread_mutex_unlock(&mu);
	return 0;
}

bool hv_policy_may_require(void)
{
	pthread_mutex_lock(&mu);
	bool r = cur.any_required;
	pthread_mutex_unlock(&mu);
	return r;
}

int hv_policy_for_facts(const struct hv_job_facts *j, const char *requested, struct hv_decision *d,
			struct vj_err *err)
{
	pthread_mutex_lock(&mu);
	int rc = hv_policy_decide(&cur, j, requested, d, err);
	pthread_mutex_unlock(&mu);
	return rc;
}

static bool have_policy(void)
{
	pthread_mutex_lock(&mu);
	bool r = cur.n > 0;
	pthread_mutex_unlock(&mu);
	return r;
}

#define MAX_GROUPS 256

int hv_policy_for_job(const char *job, const char *requested, struct hv_decision *d,
		      struct vj_err *err)
{
	if (!have_policy()) {
		memset(d, 0, sizeof(*d));
		d->vm = requested[0] != '\0';
		snprintf(d->image, sizeof(d->image), "%s", requested);
		return 0;
	}
	struct hv_job_record rec;
	if (hv_job_record(job, &rec, err))
		return vj_err_prefix(err, "cannot apply the site policy to job %s", job);
	/* The owner's name and groups: the user database of this node, as
	 * for every other decision Slurm makes here. */
	char buf[16384];
	struct passwd pw, *pwp = NULL;
	if (getpwuid_r(rec.uid, &pw, buf, sizeof(buf), &pwp) || !pwp)
		return vj_err_set(err, ENOENT, "cannot apply the site policy to job %s: uid %u has no "
				  "name on this node", job, rec.uid);
	gid_t gids[MAX_GROUPS];
	int ng = MAX_GROUPS;
	if (getgrouplist(pw.pw_name, rec.gid, gids, &ng) < 0)
		ng = MAX_GROUPS; /* more than that: the first ones decide */
	char names[MAX_GROUPS][64];
	const char *groups[MAX_GROUPS];
	size_t n = 0;
	for (int i = 0; i < ng; i++) {
		char gbuf[16384];
		struct group g, *gp = NULL;
		if (getgrgid_r(gids[i], &g, gbuf, sizeof(gbuf), &gp) || !gp)
			continue;
		snprintf(names[n], sizeof(names[n]), "%s", g.gr_name);
		groups[n] = names[n];
		n++;
	}
	struct hv_job_facts f = {.user = pw.pw_name, .partition = rec.partition, .account = rec.account,
				 .qos = rec.qos, .groups = groups, .ngroups = n};
	return hv_policy_for_facts(&f, requested, d, err);
}

void hv_policy_current_records(struct vj_kvbuf *kv)
{
	pthread_mutex_lock(&mu);
	vj_kv_add_str(kv, "path", cur.path);
	char rec[8 * HV_POLICY_LIST_MAX];
	for (size_t i = 0; hv_policy_record(&cur, i, rec, sizeof(rec)); i++)
		vj_kv_add_str(kv, "rule", rec);
	pthread_mutex_unlock(&mu);
}

size_t hv_policy_current_text(char *out, size_t sz)
{
	pthread_mutex_lock(&mu);
	size_t n = hv_policy_describe(&cur, out, sz);
	pthread_mutex_unlock(&mu);
	return n;
}
