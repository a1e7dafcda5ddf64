/* The policy hvd applies now: loaded at start from hvd.conf `policy`,
 * replaced as a whole on SIGHUP (a bad file is refused and the old policy
 * stays; running VMs are never touched), asked by every CREATE and POLICY
 * request. */
#ifndef HV_POLICY_CURRENT_H
#define HV_POLICY_CURRENT_H

#include <stddef.h>

#include "err.h"
#include "policy/policy.h"

/* (Re)load path ("" = no policy). 0, or -1 with err (FILE:LINE: why) and
 * the policy in force unchanged. */
int hv_policy_reload(const char *path, struct vj_err *err);

/* Decide for a job of Slurm's asking for requested ("" = none), from
 * slurmctld's record and the user database. Without a policy: requested.
 * -1 with err: the refusal line, or why the facts could not be had (a
 * policy is never applied on guesses). */
int hv_policy_for_job(const char *job, const char *requested, struct hv_decision *d,
		      struct vj_err *err);

/* Decide for facts given by an admin (hvctl policy check). */
int hv_policy_for_facts(const struct hv_job_facts *j, const char *requested, struct hv_decision *d,
			struct vj_err *err);

/* Does any rule make a VM required (so a job without --vm-image must ask)? */
bool hv_policy_may_require(void);

/* hv_policy_describe of the policy in force. */
size_t hv_policy_current_text(char *out, size_t sz);

/* The policy in force for machines: its file ("" = none) and one
 * hv_policy_record per rule, added to kv as `path` and repeated `rule`. */
struct vj_kvbuf;
void hv_policy_current_records(struct vj_kvbuf *kv);

#endif
