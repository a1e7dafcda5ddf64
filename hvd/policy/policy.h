/* The site policy (policy.conf, hvd.conf `policy = PATH`): which jobs run in
 * which images. An INI file of `[rule NAME]` sections, read top to bottom;
 * the FIRST rule whose conditions all match the job decides (first match
 * wins, as in a firewall: put the narrow rules first). A job no rule
 * matches is decided as without a policy: the image it asks for, or none.
 *
 * Conditions (each a comma list; a rule without it matches any job):
 *   partition, account, qos   Slurm's record of the job (slurmctld)
 *   user, group               the job's owner and any of its groups (NSS)
 * Decisions:
 *   vm = optional | required | never    (default optional)
 *     optional: a VM only if the job asks for an image
 *     required: always a VM; without --vm-image, default_image
 *     never:    no VM; a job asking for one is refused
 *   images = NAME, NAME... | *          what the job may ask for (default *)
 *   default_image = NAME                required with vm = required
 *
 * The facts come from Slurm's record, never from the job's environment
 * (the caller fills hv_job_facts from slurmctld: vm/jobcheck.h). */
#ifndef HV_POLICY_H
#define HV_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "names.h"

enum hv_vm_need { HV_VM_OPTIONAL, HV_VM_REQUIRED, HV_VM_NEVER };
extern const char *const HV_VM_NEED_WORDS[];

#define HV_POLICY_LIST_MAX 1024 /* bytes of one list, ",a,b," */

struct hv_rule {
	char name[64];
	unsigned line; /* of its [rule NAME] header */
	/* ",a,b," (so ",a," finds a whole item); "" = any */
	char partition[HV_POLICY_LIST_MAX], account[HV_POLICY_LIST_MAX], qos[HV_POLICY_LIST_MAX],
		user[HV_POLICY_LIST_MAX], group[HV_POLICY_LIST_MAX];
	char images[HV_POLICY_LIST_MAX]; /* "" = * (any image) */
	char default_image[VJ_NAME_SZ];
	enum hv_vm_need vm;
};

struct hv_policy {
	char path[PATH_MAX];
	struct hv_rule *rules;
	size_t n;
	bool any_required; /* some rule says vm = required */
};

/* What decides, from Slurm's record of the job and the user database. */
struct hv_job_facts {
	const char *user, *partition, *account, *qos;
	const char *const *groups; /* names */
	size_t ngroups;
};

struct hv_decision {
	bool vm;                   /* run the job in a VM */
	char image[VJ_NAME_SZ];    /* which ("" with vm false) */
	char rule[64];             /* the rule that decided; "" = none matched */
	char where[PATH_MAX + 16]; /* FILE:LINE of that rule */
};

/* Read and check path (max 1 MiB). 0, or -1 with err = "FILE:LINE: why";
 * p is untouched on error (the old policy stays). */
int hv_policy_load(struct hv_policy *p, const char *path, struct vj_err *err);
void hv_policy_free(struct hv_policy *p);

/* Decide for a job asking for image requested ("" = none). 0 with d set,
 * or -1 with err = the one line the user sees: the image, the rule that
 * refuses it (FILE:LINE) and the images the job may use. */
int hv_policy_decide(const struct hv_policy *p, const struct hv_job_facts *j, const char *requested,
		     struct hv_decision *d, struct vj_err *err);

/* The policy as readable text (hvctl policy): one line per rule. Returns
 * the bytes written (snprintf rules: may exceed sz). */
size_t hv_policy_describe(const struct hv_policy *p, char *out, size_t sz);

/* Rule i as one record for machines (hvctl policy --json): tab-separated
 * name, line, vm, default_image, images, partition, account, qos, user,
 * group; each list as ",a,b," ("" = any). No field holds a tab (list items
 * and names have no white space). false past the last rule. */
bool hv_policy_record(const struct hv_policy *p, size_t i, char *out, size_t sz);

#endif
