/* See current.h. One mutex guards the policy in force; a decision holds it
 * only while matching (never while asking slurmctld or NSS). */
#include "current.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/owner.h"
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

int hv_policy_for_job(const char *job, const char *requested, struct hv_decision *d,
		      struct vj_err *err)
{
	/* Without a policy there is nothing to look up: it decides as no rule
	 * matching would (hv_policy_decide). */
	if (!have_policy())
		return hv_policy_for_facts(&(struct hv_job_facts){0}, requested, d, err);
	struct hv_job_record rec;
	if (hv_job_record(job, &rec, err))
		return vj_err_prefix(err, "cannot apply the site policy to job %s", job);
	/* The owner's name and groups: the user database of this node, as
	 * for every other decision Slurm makes here. */
	static __thread struct hv_owner o;
	hv_owner_lookup(rec.uid, rec.gid, &o);
	if (!o.user[0])
		return vj_err_set(err, ENOENT, "cannot apply the site policy to job %s: uid %u has no "
				  "name on this node", job, rec.uid);
	const char *groups[HV_OWNER_MAX_GROUPS];
	size_t n = 0;
	for (size_t i = 0; i < o.ngids; i++)
		if (o.gnames[i][0])
			groups[n++] = o.gnames[i];
	struct hv_job_facts f = {.user = o.user, .partition = rec.partition, .account = rec.account,
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
