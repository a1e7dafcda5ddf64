#include "jobcheck.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool usable;

static void init(void)
{
	/* libslurm exits the process when it cannot read slurm.conf: look first. */
	const char *conf = getenv("SLURM_CONF");
	if (!conf || !*conf)
		conf = "/etc/slurm/slurm.conf";
	if (access(conf, R_OK) < 0)
		return;
	slurm_init(NULL);
	usable = true;
}

/* libslurm's own job_state_string is not in its public header. */
static const char *state_name(uint32_t base)
{
	static const char *const names[] = {"PENDING", "RUNNING", "SUSPENDED", "COMPLETED",
					    "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL",
					    "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"};
	return base < sizeof(names) / sizeof(names[0]) ? names[base] : "?";
}

static bool numeric_id(const char *job, uint32_t *id)
{
	char *end;
	if (job[0] < '1' || job[0] > '9')
		return false;
	unsigned long v = strtoul(job, &end, 10);
	if (*end || v > UINT32_MAX - 1)
		return false;
	*id = (uint32_t)v;
	return true;
}

int hv_job_record(const char *job, struct hv_job_record *rec, struct vj_err *err)
{
	uint32_t id;
	memset(rec, 0, sizeof(*rec));
	if (!numeric_id(job, &id))
		return vj_err_set(err, EINVAL, "'%s' is not a Slurm job id", job);
	pthread_once(&once, init);
	if (!usable)
		return vj_err_set(err, ENOENT, "no readable slurm.conf to reach slurmctld");
	job_info_msg_t *resp = NULL;
	if (slurm_load_job(&resp, id, SHOW_ALL) != SLURM_SUCCESS) {
		int e = slurm_get_errno();
		/* slurmctld answered that it does not know the job (purged after
		 * MinJobAge): an answer, not a doubt. */
		if (e == ESLURM_INVALID_JOB_ID)
			return vj_err_set(err, ESRCH, "job %u is unknown to slurmctld", id);
		return vj_err_set(err, EIO, "slurmctld: %s", slurm_strerror(e));
	}
	int rc = vj_err_set(err, ENOENT, "slurmctld sent no record for job %u", id);
	for (uint32_t i = 0; i < resp->record_count; i++) {
		slurm_job_info_t *j = &resp->job_array[i];
		if (j->job_id != id)
			continue;
		rec->uid = j->user_id;
		rec->gid = j->group_id;
		rec->state = j->job_state & JOB_STATE_BASE;
		snprintf(rec->partition, sizeof(rec->partition), "%s", j->partition ? j->partition : "");
		snprintf(rec->account, sizeof(rec->account), "%s", j->account ? j->account : "");
		snprintf(rec->qos, sizeof(rec->qos), "%s", j->qos ? j->qos : "");
		snprintf(rec->nodes, sizeof(rec->nodes), "%s", j->nodes ? j->nodes : "");
		rec->start = j->start_time;
		rec->restarts = j->restart_cnt;
		vj_err_clear(err);
		rc = 0;
		break;
	}
	slurm_free_job_info_msg(resp);
	return rc;
}

/* Is node one of the hostlist's? -1 when the list cannot be read. */
static int on_node(const char *nodes, const char *node)
{
	hostlist_t hl = slurm_hostlist_create(nodes);
	if (!hl)
		return -1;
	int found = slurm_hostlist_find(hl, node) >= 0;
	slurm_hostlist_destroy(hl);
	return found;
}

/* A VM is made after its job started; clocks of slurmctld's host and this
 * one may differ by this much. */
#define START_SLACK_S 5

enum hv_job_fate hv_job_fate(const char *job, const char *node, time_t created, char *why,
			     size_t whysz)
{
	struct hv_job_record rec;
	struct vj_err err = {0};
	if (hv_job_record(job, &rec, &err)) {
		snprintf(why, whysz, "%s", err.msg);
		return err.code == ESRCH ? HV_JOB_ENDED : HV_JOB_UNKNOWN;
	}
	snprintf(why, whysz, "state %s", state_name(rec.state));
	if (rec.state == JOB_PENDING) {
		if (rec.restarts == 0)
			return HV_JOB_ALIVE; /* held or waiting: its VM was made by hand */
		snprintf(why, whysz, "requeued (state PENDING, %u restart(s))", rec.restarts);
		return HV_JOB_ENDED;
	}
	if (rec.state != JOB_RUNNING && rec.state != JOB_SUSPENDED)
		return HV_JOB_ENDED;
	if (node && node[0] && rec.nodes[0] && on_node(rec.nodes, node) == 0) {
		snprintf(why, whysz, "runs on %.200s, not on %.64s", rec.nodes, node);
		return HV_JOB_ENDED;
	}
	if (rec.start > created + START_SLACK_S) {
		snprintf(why, whysz, "started again (requeued) %lld s after this VM was made",
			 (long long)(rec.start - created));
		return HV_JOB_ENDED;
	}
	return HV_JOB_ALIVE;
}
